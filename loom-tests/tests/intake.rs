//! The coordinator's intake: a producer and a worker racing `close` + `drain`.
//!
//! `Intake::push_with` counts an item in flight before queuing it, so a `drain` that sees
//! nothing in flight after `close` has nothing left to wait for; a worker stops only on
//! the queue's own `Closed` (closed and empty in one step), never on `is_closed` after an
//! empty pop, which could strand an item pushed in between. The checks: `drain` returns
//! only once every accepted item is settled, and every accepted item is handed out (a
//! worker asleep with an item queued never returns, and loom reports the deadlock).
//!
//! The producer pushes two items one after the other (two producers and a closer run
//! for over 8 minutes at the suite's bound of 3 preemptions).
//!
//! Mutations caught:
//! * `scripts/mutants/intake-counts-after-queuing.mutant`: `push_with` raising the
//!   in-flight count only after the item is queued, so a worker can take and settle it
//!   first and `drain` return with an accepted item not yet settled.
//! * `scripts/mutants/intake-stops-on-is-closed.mutant`: `poll` answering an empty pop
//!   with "closed" when `is_closed` holds afterwards, so an item pushed in between is
//!   stranded and `drain` never returns (loom reports the deadlock).
#![cfg(loom)]

use ephemeral::loom_api::Intake;
use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use loom_tests::explore;

#[test]
fn drain_after_close_waits_for_every_accepted_item_and_no_worker_sleeps_on_work() {
    let expected = ["both accepted", "one accepted", "none accepted"];
    explore(&expected, |seen| {
        let intake = Arc::new(Intake::fifo(2));
        let done = Arc::new(AtomicUsize::new(0));

        let worker = {
            let (intake, done) = (intake.clone(), done.clone());
            thread::spawn(move || {
                // If this slept with an item queued, it would never return and loom
                // would report the deadlock.
                while block_on(intake.next(|| false)).is_some() {
                    done.fetch_add(1, Ordering::SeqCst);
                    intake.settle();
                }
            })
        };
        let producer = {
            let intake = intake.clone();
            thread::spawn(move || {
                (1..=2)
                    .filter(|&item| intake.push_with(|queue| queue.push(item)).is_ok())
                    .count()
            })
        };
        intake.close();
        block_on(intake.drain());
        let finished_at_drain = done.load(Ordering::SeqCst);

        let accepted = producer.join().unwrap();
        seen.saw(["none accepted", "one accepted", "both accepted"][accepted]);
        assert_eq!(
            finished_at_drain, accepted,
            "drain returned before every accepted item was settled"
        );
        worker.join().unwrap();
        assert_eq!(
            done.load(Ordering::SeqCst),
            accepted,
            "an accepted item was never handed out"
        );
    });
}
