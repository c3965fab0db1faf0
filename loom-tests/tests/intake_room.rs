//! Room wake-ups: an enqueuer that found the intake full waits on `Intake::room` (as
//! `Core::enqueue` does for `Shortage::Queue`) while a worker takes items.
//!
//! A worker's take makes a place, and `Intake::poll` notifies `room` after every take
//! (`Q::WAKES_ON_TAKE` more waiters each time). The checks: a waiting enqueuer is woken
//! and its item taken in turn (a lost wake-up leaves it blocked while the worker waits
//! for its item, and loom reports the deadlock); and two takes in a row wake two waiting
//! enqueuers, even when the first one woken has not run yet. The second model polls its
//! two enqueues by hand on the main thread (as threads, they run for two minutes at the
//! suite's bound).
//!
//! Mutations caught:
//! * `scripts/mutants/intake-take-no-room-notify.mutant`: `poll` taking an item without
//!   notifying `room`, so enqueuers waiting for a place are never woken.
//! * `scripts/mutants/wakeup-room-notify-not-additional.mutant`: `Wakeup::notify(n)` asking
//!   for `n` notified waiters in all rather than `n` more, so a take that follows another
//!   before the first woken waiter ran wakes no one.
#![cfg(loom)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

use ephemeral::loom_api::Intake;
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;
use loom_tests::{Woken, explore};

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

#[test]
fn two_takes_in_a_row_wake_two_waiting_enqueuers() {
    explore(&["both woken", "room before the second listened"], |seen| {
        let intake = Arc::new(Intake::fifo(2));
        for item in [1, 2] {
            intake.push_with(|queue| queue.push(item)).unwrap();
        }
        let mut first = pin!(
            intake
                .room()
                .until(|| intake.push_with(|queue| queue.push(3)).ok())
        );
        let mut second = pin!(
            intake
                .room()
                .until(|| intake.push_with(|queue| queue.push(4)).ok())
        );
        let flags = [
            std::sync::Arc::new(Woken::default()),
            std::sync::Arc::new(Woken::default()),
        ];
        let wakers = flags.clone().map(Waker::from);
        assert!(
            first
                .as_mut()
                .poll(&mut Context::from_waker(&wakers[0]))
                .is_pending()
        );

        let worker = {
            let intake = intake.clone();
            thread::spawn(move || {
                for expected in [1, 2] {
                    assert_eq!(block_on(intake.next(|| false)), Some(expected));
                    intake.settle();
                }
            })
        };
        let polled = second.as_mut().poll(&mut Context::from_waker(&wakers[1]));
        worker.join().unwrap();

        // Neither waiter has run since it was woken: both were woken all the same.
        assert!(
            flags[0].was_woken(),
            "the first waiting enqueuer was not woken"
        );
        if polled.is_ready() {
            seen.saw("room before the second listened");
        } else {
            assert!(
                flags[1].was_woken(),
                "the second waiting enqueuer was not woken"
            );
            seen.saw("both woken");
            assert!(
                second
                    .as_mut()
                    .poll(&mut Context::from_waker(&wakers[1]))
                    .is_ready()
            );
        }
        assert!(
            first
                .as_mut()
                .poll(&mut Context::from_waker(&wakers[0]))
                .is_ready()
        );
    });
}
