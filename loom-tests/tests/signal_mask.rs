//! `SignalMask`'s lazy refresh: gate checkers matching newly interned names into the
//! mask's bits while others check, and a raise interning its name racing them. A raise
//! that happened before a check is seen by it (contract C5), whichever checker did the
//! refresh: `decided` is published with `Release` after the bits it covers, and read with
//! `Acquire` by a checker that then trusts the bits without matching again.
//!
//! Mutation caught (`scripts/mutants.sh`): the `decided` refresh (`fetch_max`) weakened to
//! `Relaxed`: a second checker sees `decided` cover the name but not the bit set before
//! it, and misses a raise that happened before its check.
#![cfg(loom)]

use ephemeral::signal::SignalSink;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

fn sink() -> SignalSink {
    SignalSink::builder()
        .names(2)
        .history(1)
        .listeners(0)
        .build()
}

#[test]
fn two_checkers_both_see_a_raise_that_happened_before_them() {
    loom::model(|| {
        let sink = sink();
        let mask = Arc::new(sink.mask("busy"));
        // Interns the name after the mask was compiled: the first check refreshes.
        let busy = sink.raise("busy").unwrap();
        let other = {
            let (sink, mask) = (sink.clone(), mask.clone());
            thread::spawn(move || mask.first_raised(&sink))
        };
        assert_eq!(
            mask.first_raised(&sink),
            Some(busy),
            "missed an earlier raise"
        );
        assert_eq!(other.join().unwrap(), Some(busy), "missed an earlier raise");
    });
}

#[test]
fn checkers_racing_a_raise_of_a_new_name_see_it_once_it_happened() {
    loom::model(|| {
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
        let checker = {
            let (sink, mask, raised) = (sink.clone(), mask.clone(), raised.clone());
            thread::spawn(move || {
                let after = raised.load(Ordering::Acquire);
                assert!(
                    !after || mask.first_raised(&sink).is_some(),
                    "missed a raise"
                );
            })
        };
        let after = raised.load(Ordering::Acquire);
        assert!(
            !after || mask.first_raised(&sink).is_some(),
            "missed a raise"
        );
        raiser.join().unwrap();
        checker.join().unwrap();
        assert!(mask.first_raised(&sink).is_some());
    });
}
