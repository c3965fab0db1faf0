//! Room wake-ups per lane: enqueuers waiting on `Intake::room` for different lanes of the
//! priority coordinator while a worker takes from one of them.
//!
//! All enqueuers wait on the one `room` wake-up, but each waits for its own lane, so a
//! take must wake every waiter (`Lanes::WAKES_ON_TAKE`): woken one at a time, the first
//! waiter in line may be one whose lane is still full, and the one whose lane has room
//! sleeps on. Two enqueues are polled by hand on the main thread (a waiter for the low
//! lane first, then one for the high lane) while a worker takes the high lane's item.
//! The check: if the high-lane enqueuer went to sleep, the take woke it and its item is
//! then accepted.
//!
//! Mutation caught (`scripts/mutants/lanes-take-wakes-one.mutant`): the lanes waking one
//! waiter per take, as a shared queue does, so the take's one wake-up goes to the
//! low-lane waiter and the high-lane waiter is never woken.
#![cfg(loom)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::Duration;

use ephemeral::loom_api::{Intake, Lanes, Schedule, Slab};
use ephemeral::{Lane, OperationId, Options};
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;
use loom_tests::{Woken, explore};

const HIGH: usize = 0;
const LOW: usize = 1;

/// Queues `id` in `lane`, as `Core::offer` does for a lane.
fn push(intake: &Intake<Lanes>, id: OperationId, lane: usize) -> Option<()> {
    intake.push_with(|lanes| lanes.push(id, Some(&lane))).ok()
}

#[test]
fn a_take_wakes_the_enqueuer_waiting_for_that_lane() {
    let expected = ["woken by the take", "room before it listened"];
    explore(&expected, |seen| {
        let options = Options::default().queue_capacity(1);
        let lanes = Lanes::new(&[Lane::new("high"), Lane::new("low")], &options).unwrap();
        let intake = Arc::new(Intake::new(lanes));
        // Ids come from a slab, as in the coordinator.
        let slab = Slab::<u8, ()>::new(4);
        let ids: Vec<_> = (0..4)
            .map(|n| slab.insert(n, Duration::ZERO).unwrap())
            .collect();
        // Both lanes full.
        push(&intake, ids[0], HIGH).unwrap();
        push(&intake, ids[1], LOW).unwrap();

        let mut low = pin!(intake.room().until(|| push(&intake, ids[2], LOW)));
        let mut high = pin!(intake.room().until(|| push(&intake, ids[3], HIGH)));
        let (low_flag, high_flag) = (
            std::sync::Arc::new(Woken::default()),
            std::sync::Arc::new(Woken::default()),
        );
        let low_waker = Waker::from(low_flag.clone());
        let high_waker = Waker::from(high_flag.clone());
        // The low-lane waiter is first in line.
        assert!(
            low.as_mut()
                .poll(&mut Context::from_waker(&low_waker))
                .is_pending()
        );

        let worker = {
            let (intake, first) = (intake.clone(), ids[0]);
            thread::spawn(move || {
                // Lanes are taken highest first: this makes room in the high lane.
                let ticket = block_on(intake.next(|| false)).unwrap();
                assert_eq!(Lanes::id(&ticket), first);
                intake.settle();
            })
        };
        let polled = high.as_mut().poll(&mut Context::from_waker(&high_waker));
        worker.join().unwrap();

        if polled.is_ready() {
            seen.saw("room before it listened");
        } else {
            assert!(
                high_flag.was_woken(),
                "the enqueuer waiting for the lane the take made room in was not woken"
            );
            seen.saw("woken by the take");
            assert!(
                high.as_mut()
                    .poll(&mut Context::from_waker(&high_waker))
                    .is_ready()
            );
        }
        assert!(
            low.as_mut()
                .poll(&mut Context::from_waker(&low_waker))
                .is_pending()
        );
    });
}
