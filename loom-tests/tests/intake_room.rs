//! Room wake-ups: an enqueuer that found the intake full waits on `Intake::room` (as
//! `Core::enqueue` does for `Shortage::Queue`) while a worker takes items.
//!
//! A worker's take makes a place, and `Intake::poll` notifies `room` after every take
//! (`Q::WAKES_ON_TAKE` waiters). The check: the waiting enqueuer is woken and its item is
//! taken in turn; a lost wake-up leaves it blocked while the worker waits for its item,
//! and loom reports the deadlock. (One enqueuer: with two, the model runs for two
//! minutes at the suite's bound.)
//!
//! Mutation caught (`scripts/mutants/intake-take-no-room-notify.mutant`): `poll` taking
//! an item without notifying `room`, so enqueuers waiting for a place are never woken.
#![cfg(loom)]

use ephemeral::loom_api::Intake;
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

#[test]
fn a_take_wakes_an_enqueuer_waiting_for_room() {
    explore(&["the enqueuer was woken"], |seen| {
        let intake = Arc::new(Intake::fifo(1));
        intake.push_with(|queue| queue.push(1)).unwrap();

        let enqueuer = {
            let (intake, seen) = (intake.clone(), seen.clone());
            thread::spawn(move || {
                // `until` checks once before listening and once after; a third check
                // follows a wake-up.
                let mut checks = 0;
                block_on(intake.room().until(|| {
                    checks += 1;
                    intake.push_with(|queue| queue.push(2)).ok()
                }));
                if checks > 2 {
                    seen.saw("the enqueuer was woken");
                }
            })
        };
        // The worker: both items, in order.
        for expected in [1, 2] {
            assert_eq!(block_on(intake.next(|| false)), Some(expected));
            intake.settle();
        }
        enqueuer.join().unwrap();
        assert_eq!(intake.in_flight(), 0);
    });
}
