//! `Marks`, the signals an operation raised: two raises of one signal (two clones of one
//! `OpContext`) racing the retract of another. The racing adds may write the signal into
//! two cells; a retract that follows must still leave it absent, and the record lists it
//! once.
//!
//! Mutation caught (`scripts/mutants.sh`): `remove` stopping at the first cell holding
//! the mark: the second copy keeps the signal present after its retract.
#![cfg(loom)]

use core::time::Duration;

use ephemeral::loom_api::Marks;
use ephemeral::signal::SignalTable;
use ephemeral::{Options, Window};
use loom::sync::Arc;
use loom::thread;

#[test]
fn a_retract_after_racing_adds_leaves_the_signal_absent() {
    loom::model(|| {
        let table = SignalTable::new(2);
        let (kept, other) = (
            table.intern("kept").unwrap(),
            table.intern("other").unwrap(),
        );
        // A window of 3 slots (queue, concurrency and window of 1) gives the id; the
        // marks have as many slots.
        let options = Options::default()
            .queue_capacity(1)
            .max_concurrency(1)
            .max_tracked(1);
        let window: Window<(), ()> = Window::new(&options).unwrap();
        let id = window.insert((), Duration::ZERO).unwrap();
        let marks = Arc::new(Marks::new(3));
        // `other` takes the first cell, so one add of `kept` may pass it while the other
        // thread's retract empties it for the second add.
        assert!(marks.add(id, other));
        let adder = {
            let marks = marks.clone();
            thread::spawn(move || assert!(marks.add(id, kept)))
        };
        assert!(marks.remove(id, other));
        assert!(marks.add(id, kept));
        adder.join().unwrap();
        assert_eq!(&*marks.get(id), &[kept], "listed other than once");
        assert!(marks.remove(id, kept));
        assert!(!marks.has(id, kept), "present after its retract");
        assert!(marks.get(id).is_empty());
    });
}
