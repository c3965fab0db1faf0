//! `SignalMask`'s lazy refresh: gate checkers matching newly interned names into the
//! mask's bits while others check, and a raise interning its name racing them. A raise
//! that happened before a check is seen by it (IMPLEMENTATION.md, C5), whichever
//! checker did the refresh: `decided` is published with `Release` after the bits it
//! covers, and read with `Acquire` by a checker that then trusts the bits without
//! matching again.
//!
//! The models check two checkers that overlapped and two one after the other (the later
//! finds `decided` raised by the earlier); and checks after the raise and racing it,
//! seeing it or not.
//!
//! Mutation caught (`scripts/mutants/mask-decided-relaxed.mutant`): the `decided` refresh
//! (`fetch_max`) weakened to `Relaxed`: a second checker sees `decided` cover the name but
//! not the bit set before it, and misses a raise that happened before its check.
#![cfg(loom)]

use ephemeral::signal::SignalSink;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use loom_tests::{Flag, explore};

fn sink() -> SignalSink {
    SignalSink::builder()
        .names(2)
        .history(1)
        .listeners(0)
        .build()
}

#[test]
fn two_checkers_both_see_a_raise_that_happened_before_them() {
    // A check that begins after the other returned finds `decided` raised by it and, if
    // it reads that, trusts the bits without matching again: the side the weakened
    // `decided` fails on.
    let sides = [
        "the checks overlapped",
        "one check began after the other returned",
    ];
    explore(&sides, move |seen| {
        let sink = sink();
        let mask = Arc::new(sink.mask("busy"));
        // Interns the name after the mask was compiled: the first check refreshes.
        let busy = sink.raise("busy").unwrap();
        // Set once a check returned.
        let returned = Flag::default();
        let check = {
            let (sink, mask, returned) = (sink.clone(), mask.clone(), returned.clone());
            move || {
                let after = returned.is_set();
                let found = mask.first_raised(&sink);
                returned.set();
                (found, after)
            }
        };
        let other = thread::spawn(check.clone());
        let (mine, i_came_after) = check();
        assert_eq!(mine, Some(busy), "missed an earlier raise");
        let (theirs, they_came_after) = other.join().unwrap();
        assert_eq!(theirs, Some(busy), "missed an earlier raise");
        seen.saw(sides[usize::from(i_came_after || they_came_after)]);
    });
}

#[test]
fn checkers_racing_a_raise_of_a_new_name_see_it_once_it_happened() {
    let sides = [
        "checked after the raise: seen",
        "checked racing the raise: seen",
        "checked racing the raise: not seen",
    ];
    explore(&sides, move |seen| {
        let sink = sink();
        let mask = Arc::new(sink.mask("busy"));
        let raised = Arc::new(AtomicBool::new(false));
        let raiser = {
            let (sink, raised) = (sink.clone(), raised.clone());
            thread::spawn(move || {
                sink.raise("busy").unwrap();
                raised.store(true, Ordering::Release);
            })
        };
        let check = {
            let (sink, mask, raised, seen) =
                (sink.clone(), mask.clone(), raised.clone(), seen.clone());
            move || {
                let after = raised.load(Ordering::Acquire);
                let found = mask.first_raised(&sink).is_some();
                assert!(!after || found, "missed a raise");
                seen.saw(match (after, found) {
                    (true, _) => sides[0],
                    (false, true) => sides[1],
                    (false, false) => sides[2],
                });
            }
        };
        let checker = thread::spawn(check.clone());
        check();
        raiser.join().unwrap();
        checker.join().unwrap();
        assert!(mask.first_raised(&sink).is_some());
    });
}
