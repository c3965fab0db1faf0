//! The signal gate: raises and retracts racing the check an item passes before it
//! starts.
#![cfg(loom)]

use ephemeral::Options;
use ephemeral::loom_api::{Admission, Marks, Signals, Wakeup};
use ephemeral::runtime::ManualClock;
use ephemeral::signal::SignalSink;
use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

fn gate(defer_on: &str) -> (Arc<Signals>, SignalSink, ManualClock) {
    let clock = ManualClock::new();
    let sink = SignalSink::builder()
        .names(2)
        .history(1)
        .listeners(1)
        .clock(clock.clone())
        .build();
    let options = Options::default().signals(sink.clone()).defer_on(defer_on);
    let signals = Signals::new(&options, Arc::new(Marks::new(1)), None, None);
    (Arc::new(signals), sink, clock)
}

#[test]
fn a_raise_that_happens_before_a_gate_check_is_seen_by_it() {
    loom::model(|| {
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
        if raised.load(Ordering::Acquire) {
            // The clock never moves, so a deferral can only end by a retract; there is
            // none, so the check must say "defer" without waiting: poll it once.
            let stop = Wakeup::new();
            let mut deferral = None;
            let admit = signals.admit(&clock, &stop, || false, &mut deferral);
            let polled = futures_lite::future::block_on(futures_lite::future::poll_once(admit));
            assert_eq!(
                polled, None,
                "a raise that happened before the check was missed"
            );
        }
        raiser.join().unwrap();
    });
}

#[test]
fn a_retract_always_wakes_a_deferred_worker() {
    loom::model(|| {
        let (signals, sink, clock) = gate("busy");
        sink.raise("busy").unwrap();
        let worker = {
            let signals = signals.clone();
            thread::spawn(move || {
                let stop = Wakeup::new();
                // The clock never moves: only the retract can end this wait. A lost
                // wake-up leaves the thread blocked and loom reports a deadlock.
                block_on(signals.admit(&clock, &stop, || false, &mut None))
            })
        };
        assert!(sink.retract("busy"));
        let admitted = worker.join().unwrap();
        assert_eq!(admitted, Admission::Run);
    });
}
