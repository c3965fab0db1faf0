//! `drain_on`: a coordinator subscribes a listener, then checks whether a `drain_on`
//! signal is already present, while another thread raises one. The raise sets presence
//! and then reads the listener set; the subscriber publishes its listener and then reads
//! presence: store buffering, so both sides fence (`SeqCst`) between their write and
//! their read, and whatever the interleaving one of them sees the other (`close` runs).
//!
//! The models check every side: the raise seen by the listener alone, by the check
//! alone, and by both; the second, for a re-raise that only refreshed the signal's time
//! (and for one made after the first raise expired).
//!
//! Mutations caught (either way neither the listener nor the check sees the raise):
//! * `scripts/mutants/subscribe-no-fence.mutant`: the fence in `SignalSink::subscribe`
//!   removed (first model).
//! * `scripts/mutants/raise-no-fence.mutant`: the fence in `SignalSink::raise_event`
//!   removed (second model: a re-raise that only refreshes a `max_age` signal's time,
//!   where no wake-up fences either).
#![cfg(loom)]

use core::time::Duration;
use std::sync::Mutex;

use ephemeral::Options;
use ephemeral::loom_api::{Marks, Signals};
use ephemeral::runtime::ManualClock;
use ephemeral::signal::SignalSink;
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

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

/// Who ran `close`: the listener (on the raiser's thread) and the check after
/// subscribing (on the subscriber's).
#[derive(Default, Clone, Copy)]
struct Closed {
    by_listener: usize,
    by_check: usize,
}

impl Closed {
    /// The side of the race this execution took: 0 the listener saw the raise, 1 the
    /// check, 2 both.
    fn side(self) -> usize {
        match (self.by_listener, self.by_check) {
            (0, 0) => panic!("neither the listener nor the check saw the raise"),
            (_, 0) => 0,
            (0, _) => 1,
            _ => 2,
        }
    }
}

/// Runs `drain_on("shutdown")` on this thread while `raise` runs on another; returns who
/// ran `close`.
fn drain_on_racing(sink: SignalSink, before_subscribing: impl FnOnce()) -> Closed {
    // Interned up front: the mask's refresh racing interns has its own model.
    let shutdown = sink.signal("shutdown").unwrap();
    let options = Options::default()
        .signals(sink.clone())
        .drain_on("shutdown");
    let signals = Signals::new(
        &options,
        Arc::new(Marks::new(1, sink.shared_table())),
        None,
        None,
    );
    let raiser = thread::spawn(move || {
        sink.raise(shutdown).unwrap();
    });
    // Outside loom's model: only says which side of the race the execution took.
    let closed = std::sync::Arc::new(Mutex::new(Closed::default()));
    let (counter, subscriber) = (closed.clone(), thread::current().id());
    before_subscribing();
    let subscription = signals
        .drain_on(&options, move || {
            let mut closed = counter.lock().unwrap();
            if thread::current().id() == subscriber {
                closed.by_check += 1;
            } else {
                closed.by_listener += 1;
            }
        })
        .unwrap();
    raiser.join().unwrap();
    drop(subscription);
    *closed.lock().unwrap()
}

#[test]
fn a_raise_racing_drain_on_is_seen_by_the_listener_or_by_the_check() {
    let sides = ["seen by the listener", "seen by the check", "seen by both"];
    explore(&sides, move |seen| {
        let clock = ManualClock::new();
        let closed = drain_on_racing(sink(&clock, None), || {});
        seen.saw(sides[closed.side()]);
    });
}

#[test]
fn a_re_raise_refreshing_an_aging_signal_racing_drain_on_is_seen() {
    // The fenceless raise can be missed only when the re-raise merely refreshes the time.
    let sides = [
        "a refresh seen by the listener",
        "a refresh seen by the check",
        "a refresh seen by both",
        "a re-raise after the expiry",
    ];
    explore(&sides, move |seen| {
        let clock = ManualClock::new();
        let sink = sink(&clock, Some(MAX_AGE));
        // Present, and exactly `MAX_AGE` old: a re-raise now does not make it appear
        // (no wake-up, no fence there), it only refreshes its time.
        let shutdown = sink.raise("shutdown").unwrap();
        clock.advance(MAX_AGE);
        let subscriber_clock = clock.clone();
        let closed = drain_on_racing(sink.clone(), move || {
            // From here the first raise alone has expired; the re-raise (at `MAX_AGE`,
            // or later, when it then appears and fences) keeps it present.
            subscriber_clock.advance(Duration::from_nanos(1));
        });
        let side = closed.side();
        if sink.table().raised_at(shutdown) == Some(MAX_AGE) {
            seen.saw(sides[side]);
        } else {
            seen.saw(sides[3]);
        }
    });
}
