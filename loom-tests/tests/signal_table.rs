//! The signal table's interning: publication of a name by `len` racing readers, and two
//! threads interning one new name, which must get one handle (with two, a retract
//! through one would leave the name raised through the other).
//!
//! The models check both orders of two interns of different names and a reader that
//! found the other's name and one that did not; and, for one new name, interns that
//! overlapped (both may miss the name in their lock-free lookup, the case the lock's
//! second lookup is for) and interns one after the other.
//!
//! Mutation caught (`scripts/mutants/intern-no-relookup.mutant`): `SignalTable::intern`
//! not looking the name up again under the interning lock: both threads miss it in their
//! lock-free lookup and each appends it.
#![cfg(loom)]

use ephemeral::signal::SignalTable;
use loom::sync::Arc;
use loom::thread;
use loom_tests::{Flag, explore};

#[test]
fn two_interners_and_a_reader_never_see_a_torn_or_duplicated_name() {
    let sides = [
        "a interned first",
        "b interned first",
        "the reader found b",
        "b not yet published to the reader",
    ];
    explore(&sides, move |seen| {
        let table = Arc::new(SignalTable::new(2));
        let other = {
            let table = table.clone();
            thread::spawn(move || table.intern("b").unwrap())
        };
        let a = table.intern("a").unwrap();
        // Whatever is published is whole: a reader finds "b" under its own handle or not at all.
        match table.lookup("b") {
            Some(b) => {
                assert_eq!(table.name(b).unwrap(), "b");
                seen.saw(sides[2]);
            }
            None => seen.saw(sides[3]),
        }
        let b = other.join().unwrap();
        assert_ne!(a, b);
        seen.saw(sides[a.index()]);
        assert!(table.name(a).unwrap() == "a" && table.name(b).unwrap() == "b");
        assert_eq!(table.intern("a").unwrap(), a, "interned twice");
    });
}

#[test]
fn two_threads_interning_one_new_name_get_one_handle() {
    // Overlapping interns are the ones that can both miss the name in their lock-free
    // lookup and must find it again under the lock.
    let sides = [
        "the interns overlapped",
        "one intern began after the other returned",
    ];
    explore(&sides, move |seen| {
        let table = Arc::new(SignalTable::new(2));
        // Set once an intern returned.
        let returned = Flag::default();
        let intern = {
            let (table, returned) = (table.clone(), returned.clone());
            move || {
                let after = returned.is_set();
                let handle = table.intern("a").unwrap();
                returned.set();
                (handle, after)
            }
        };
        let other = thread::spawn(intern.clone());
        let (mine, i_came_after) = intern();
        let (theirs, they_came_after) = other.join().unwrap();
        assert_eq!(theirs, mine, "two handles for one name");
        assert_eq!(table.len(), 1);
        seen.saw(sides[usize::from(i_came_after || they_came_after)]);
    });
}
