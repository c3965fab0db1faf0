//! The signal table's interning: publication of a name by `len` racing readers, and two
//! threads interning one new name, which must get one handle (with two, a retract
//! through one would leave the name raised through the other).
//!
//! Mutation caught (`scripts/mutants.sh`): `SignalTable::intern` not looking the name up
//! again under the interning lock: both threads miss it in their lock-free lookup and
//! each appends it.
#![cfg(loom)]

use ephemeral::signal::SignalTable;
use loom::sync::Arc;
use loom::thread;

#[test]
fn two_interners_and_a_reader_never_see_a_torn_or_duplicated_name() {
    loom::model(|| {
        let table = Arc::new(SignalTable::new(2));
        let other = {
            let table = table.clone();
            thread::spawn(move || table.intern("b").unwrap())
        };
        let a = table.intern("a").unwrap();
        // Whatever is published is whole: a reader finds "b" under its own handle or not at all.
        if let Some(b) = table.lookup("b") {
            assert_eq!(table.name(b), Some("b"));
        }
        let b = other.join().unwrap();
        assert_ne!(a, b);
        assert_eq!((table.name(a), table.name(b)), (Some("a"), Some("b")));
        assert_eq!(table.intern("a").unwrap(), a, "interned twice");
    });
}

#[test]
fn two_threads_interning_one_new_name_get_one_handle() {
    loom::model(|| {
        let table = Arc::new(SignalTable::new(2));
        let other = {
            let table = table.clone();
            thread::spawn(move || table.intern("a").unwrap())
        };
        let mine = table.intern("a").unwrap();
        assert_eq!(other.join().unwrap(), mine, "two handles for one name");
        assert_eq!(table.len(), 1);
    });
}
