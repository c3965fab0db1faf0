//! `Marks`, the signals an operation raised: two raises of one signal (two clones of one
//! `OpContext`) racing the retract of another. The racing adds may write the signal into
//! two cells; a retract that follows must still leave it absent, and the record lists it
//! once. The model checks that both happen: the signal written into one cell, and into
//! two (counted by filling the cells left free).
//!
//! Mutation caught (`scripts/mutants/marks-remove-first-match-only.mutant`): `remove`
//! stopping at the first cell holding the mark: the second copy keeps the signal present
//! after its retract.
#![cfg(loom)]

use core::time::Duration;

use ephemeral::loom_api::Marks;
use ephemeral::signal::SignalTable;
use ephemeral::{OPERATION_SIGNALS, Options, Window};
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore_with;

#[test]
fn a_retract_after_racing_adds_leaves_the_signal_absent() {
    // Two cells is the side the retract must clear twice.
    let sides = ["kept written into one cell", "kept written into two cells"];
    // Interning the fillers and pinning each mark's name are many steps, none racing.
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 10_000;
    explore_with(builder, &sides, move |seen| {
        let table = Arc::new(SignalTable::new(2 + OPERATION_SIGNALS));
        let (kept, other) = (
            table.intern("kept").unwrap(),
            table.intern("other").unwrap(),
        );
        // Fillers, to count the cells the racing adds left free.
        let fillers: Vec<_> = (0..OPERATION_SIGNALS)
            .map(|i| table.intern(&format!("filler {i}")).unwrap())
            .collect();
        // A window of 3 slots (queue, concurrency and window of 1) gives the id; the
        // marks have as many slots.
        let options = Options::default()
            .queue_capacity(1)
            .max_concurrency(1)
            .max_tracked(1)
            .signal_names(1);
        let window: Window<(), ()> = Window::new(&options).unwrap();
        let id = window.insert((), Duration::ZERO).unwrap();
        let marks = Arc::new(Marks::new(3, table.clone()));
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

        // Every cell not holding `kept` is empty now: the fillers that fit count them.
        let fitted = fillers.iter().take_while(|&&f| marks.add(id, f)).count();
        let copies = OPERATION_SIGNALS - fitted;
        assert!(
            (1..=2).contains(&copies),
            "kept written into {copies} cells"
        );
        seen.saw(sides[copies - 1]);

        assert!(marks.remove(id, kept));
        assert!(!marks.has(id, kept), "present after its retract");
        assert_eq!(&*marks.get(id), &fillers[..fitted]);
    });
}
