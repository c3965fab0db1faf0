//! The signal gate: raises and retracts racing the check an item passes before it
//! starts. A check that starts after a raise returned defers the item
//! (IMPLEMENTATION.md, C5), and a retract always wakes a worker deferred by the signal
//! (loom reports a lost wake-up as a deadlock).
//!
//! The models check every side: a check after the raise, and checks racing it that
//! admitted and that deferred; a worker admitted at once (the retract came first), one
//! deferred that saw the retract before sleeping, and one woken by it.
#![cfg(loom)]

use std::cell::Cell;

use ephemeral::Options;
use ephemeral::loom_api::{Admission, Marks, Signals, Wakeup};
use ephemeral::runtime::ManualClock;
use ephemeral::signal::SignalSink;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use loom_tests::{block_on_waited, explore};

fn gate(defer_on: &str) -> (Arc<Signals>, SignalSink, ManualClock) {
    let clock = ManualClock::new();
    let sink = SignalSink::builder()
        .names(2)
        .history(1)
        .listeners(1)
        .clock(clock.clone())
        .build();
    let options = Options::default().signals(sink.clone()).defer_on(defer_on);
    let signals = Signals::new(
        &options,
        Arc::new(Marks::new(1, sink.shared_table())),
        None,
        None,
    );
    (Arc::new(signals), sink, clock)
}

#[test]
fn a_raise_that_happens_before_a_gate_check_is_seen_by_it() {
    let sides = [
        "checked after the raise: deferred",
        "checked racing the raise: admitted",
        "checked racing the raise: deferred",
    ];
    explore(&sides, move |seen| {
        let (signals, sink, clock) = gate("busy");
        let raised = Arc::new(AtomicBool::new(false));
        let raiser = {
            let raised = raised.clone();
            thread::spawn(move || {
                // Interns a new name (the mask must be refreshed) and sets its bit.
                sink.raise("busy").unwrap();
                raised.store(true, Ordering::Release);
            })
        };
        let after = raised.load(Ordering::Acquire);
        // The clock never moves, so a deferral can only end by a retract; there is none,
        // so the check says "defer" without waiting: poll it once.
        let stop = Wakeup::new();
        let mut deferral = None;
        let admit = signals.admit(&clock, &stop, || false, &mut deferral);
        let polled = futures_lite::future::block_on(futures_lite::future::poll_once(admit));
        match (after, polled) {
            (true, None) => seen.saw(sides[0]),
            (true, Some(_)) => panic!("a raise that happened before the check was missed"),
            (false, Some(admitted)) => {
                assert_eq!(admitted, Admission::Run);
                seen.saw(sides[1]);
            }
            (false, None) => seen.saw(sides[2]),
        }
        raiser.join().unwrap();
    });
}

#[test]
fn a_retract_always_wakes_a_deferred_worker() {
    let sides = [
        "admitted at once",
        "deferred, then saw the retract before sleeping",
        "deferred and woken by the retract",
    ];
    explore(&sides, move |seen| {
        let (signals, sink, clock) = gate("busy");
        sink.raise("busy").unwrap();
        let worker = {
            let signals = signals.clone();
            thread::spawn(move || {
                let stop = Wakeup::new();
                // Asked only once a check said defer (and by the wait on `stop`): a call
                // means the worker was deferred.
                let deferred = Cell::new(false);
                let stopped = || {
                    deferred.set(true);
                    false
                };
                // The clock never moves: only the retract can end this wait. A lost
                // wake-up leaves the thread blocked and loom reports a deadlock.
                let (admitted, waited) =
                    block_on_waited(signals.admit(&clock, &stop, stopped, &mut None));
                let side = match (deferred.get(), waited) {
                    (false, _) => 0,
                    (true, false) => 1,
                    (true, true) => 2,
                };
                (admitted, side)
            })
        };
        assert!(sink.retract("busy"));
        let (admitted, side) = worker.join().unwrap();
        assert_eq!(admitted, Admission::Run);
        seen.saw(sides[side]);
    });
}
