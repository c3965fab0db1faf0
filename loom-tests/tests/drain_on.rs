//! `drain_on`: a coordinator subscribes a listener, then checks whether a `drain_on`
//! signal is already present, while another thread raises one. The raise sets presence
//! and then reads the listener set; the subscriber publishes its listener and then reads
//! presence: store buffering, so both sides fence (`SeqCst`) between their write and
//! their read, and whatever the interleaving one of them sees the other (`close` runs).
//!
//! Mutations caught (`scripts/mutants.sh`): the fence in `SignalSink::subscribe` removed
//! (first model), and the fence in `SignalSink::raise_event` removed (second model: a
//! re-raise that only refreshes a `max_age` signal's time, where no wake-up fences
//! either). Either way neither the listener nor the check sees the raise.
#![cfg(loom)]

use core::time::Duration;

use ephemeral::Options;
use ephemeral::loom_api::{Marks, Signals};
use ephemeral::runtime::ManualClock;
use ephemeral::signal::SignalSink;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

const MAX_AGE: Duration = Duration::from_secs(10);

fn sink(clock: &ManualClock, max_age: Option<Duration>) -> SignalSink {
    let builder = SignalSink::builder()
        .names(1)
        .history(1)
        .listeners(1)
        .clock(clock.clone());
    match max_age {
        Some(age) => builder.max_age(age),
        None => builder,
    }
    .build()
}

/// Runs `drain_on("shutdown")` on this thread while `raise` runs on another; returns how
/// many times `close` ran.
fn drain_on_racing(sink: SignalSink, before_subscribing: impl FnOnce()) -> usize {
    // Interned up front: the mask's refresh racing interns has its own model.
    let shutdown = sink.signal("shutdown").unwrap();
    let options = Options::default()
        .signals(sink.clone())
        .drain_on("shutdown");
    let signals = Signals::new(&options, Arc::new(Marks::new(1)), None, None);
    let raiser = thread::spawn(move || {
        sink.raise(shutdown).unwrap();
    });
    let closed = Arc::new(AtomicUsize::new(0));
    let counter = closed.clone();
    before_subscribing();
    let subscription = signals
        .drain_on(&options, move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    raiser.join().unwrap();
    drop(subscription);
    closed.load(Ordering::SeqCst)
}

#[test]
fn a_raise_racing_drain_on_is_seen_by_the_listener_or_by_the_check() {
    loom::model(|| {
        let clock = ManualClock::new();
        let closed = drain_on_racing(sink(&clock, None), || {});
        assert!(
            closed >= 1,
            "neither the listener nor the check saw the raise"
        );
    });
}

#[test]
fn a_re_raise_refreshing_an_aging_signal_racing_drain_on_is_seen() {
    loom::model(|| {
        let clock = ManualClock::new();
        let sink = sink(&clock, Some(MAX_AGE));
        // Present, and exactly `MAX_AGE` old: a re-raise now does not make it appear
        // (no wake-up, no fence there), it only refreshes its time.
        sink.raise("shutdown").unwrap();
        clock.advance(MAX_AGE);
        let subscriber_clock = clock.clone();
        let closed = drain_on_racing(sink, move || {
            // From here the first raise alone has expired; the re-raise (at `MAX_AGE`,
            // or later, when it then appears and fences) keeps it present.
            subscriber_clock.advance(Duration::from_nanos(1));
        });
        assert!(
            closed >= 1,
            "neither the listener nor the check saw the re-raise"
        );
    });
}
