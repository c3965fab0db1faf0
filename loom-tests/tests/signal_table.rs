//! The signal table's interning: publication of a name by `len` racing readers.
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
