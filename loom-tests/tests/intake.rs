//! The coordinator's intake: two producers and one worker racing `close` + `drain`.
#![cfg(loom)]

use ephemeral::loom_api::Intake;
use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

#[test]
fn drain_after_close_waits_for_every_accepted_item_and_no_worker_sleeps_on_work() {
    // Four threads through concurrent-queue's and event-listener's modelled internals:
    // at the suite's bound of 3 preemptions this runs for over 8 minutes, so it is
    // explored exhaustively up to 2, which still finds the lost-item race it guards.
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(2);
    model.check(|| {
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
            thread::spawn(move || intake.push_with(|queue| queue.push(2)).is_ok())
        };
        // This thread is the other producer, then completes and drains.
        let mine = intake.push_with(|queue| queue.push(1)).is_ok();
        intake.close();
        block_on(intake.drain());
        let finished_at_drain = done.load(Ordering::SeqCst);

        let accepted = usize::from(mine) + usize::from(producer.join().unwrap());
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
