//! User code that panics or calls back in, beyond the regressions in `hardening.rs`:
//! what is caught is counted in `Totals::contained_panics`, what belongs to the caller
//! reaches the caller, and the coordinator's counts and wake-ups stay whole either way.

use core::hash::{Hash, Hasher};
use core::time::Duration;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use ephemeral::{
    CancelCause, KeyedWorkCoordinator, OpContext, Options, Outcome, ResultCoordinator, ResultError,
    State, WorkCoordinator,
};
use futures_lite::future::yield_now;
use runtime_tests::{
    Executor, LIMIT, Own, assert_totals_add_up, nap, on_every_executor, own, until, within,
};

/// A key whose `Hash` panics for 13 and whose `Eq` panics when comparing 7 with 7.
#[derive(Clone, Debug)]
struct Wild(u32);

impl Hash for Wild {
    fn hash<H: Hasher>(&self, state: &mut H) {
        assert!(self.0 != 13, "key 13 refuses to be hashed");
        self.0.hash(state);
    }
}

impl PartialEq for Wild {
    fn eq(&self, other: &Self) -> bool {
        assert!(
            !(self.0 == 7 && other.0 == 7),
            "key 7 refuses to be compared"
        );
        self.0 == other.0
    }
}

impl Eq for Wild {}

/// A key's `Hash` and `Eq` are the enqueuer's code: their panics reach the enqueuer,
/// and leave no in-flight count, slot or key entry behind, so `drain` returns and the
/// totals add up.
fn a_panicking_key_hash_or_eq_reaches_the_enqueuer_and_leaks_nothing<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = KeyedWorkCoordinator::new(
            rt,
            |n: &u32| Wild(*n),
            Options::default().max_concurrency(2).queue_capacity(8),
            |_: u32, _: OpContext| async { yield_now().await },
        )
        .unwrap();
        within(LIMIT, coordinator.enqueue(7)).await.unwrap();
        let hashed = catch_unwind(AssertUnwindSafe(|| coordinator.try_enqueue(13)));
        assert!(hashed.is_err(), "{}: Hash's panic is the caller's", E::NAME);
        // Key 7 may have left already; a second 7 then finds nothing to compare with.
        let _ = catch_unwind(AssertUnwindSafe(|| coordinator.try_enqueue(7)));
        within(LIMIT, coordinator.enqueue(8)).await.unwrap();
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        let totals = coordinator.totals();
        assert_totals_add_up(&totals, E::NAME);
        assert_eq!(coordinator.pending_count(), 0, "{}", E::NAME);
        assert_eq!(coordinator.active_keys(), 0, "{}", E::NAME);
    });
}

/// An error whose `Drop` panics, dropped when its operation leaves the window.
#[derive(Clone, Debug)]
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("an error that panics when dropped");
        }
    }
}

/// Panics in `on_finalized` and in the `Drop` of errors the window evicts are caught,
/// counted in `contained_panics`, and change nothing else: every item is counted and
/// `drain` returns.
fn panics_in_callbacks_and_drops_are_counted<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = WorkCoordinator::<u32, _, Bomb>::builder(
            rt,
            Options::default().max_concurrency(2).max_tracked(1),
        )
        .on_finalized(|s| {
            assert!(
                s.state != State::Completed,
                "on_finalized refuses successes"
            )
        })
        .build(|n: u32, _: OpContext| async move {
            if n.is_multiple_of(2) {
                Ok(())
            } else {
                Err(Bomb)
            }
        })
        .unwrap();
        within(LIMIT, coordinator.enqueue_many(0..10))
            .await
            .unwrap();
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        let totals = coordinator.totals();
        assert_eq!((totals.completed, totals.failed), (5, 5), "{}", E::NAME);
        // Five `on_finalized` panics, and four errors evicted by later finishes (the
        // last one may still be in the window of one).
        assert!(totals.contained_panics >= 9, "{}: {totals:?}", E::NAME);
    });
}

/// A body waiting for the result of a later item of its own coordinator (one worker:
/// the later item could only run after this body) is refused with `WouldDeadlock`
/// instead of waiting forever; waiting for one that already finished answers at once.
fn a_body_waiting_for_a_later_result_of_its_own_coordinator_is_refused<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let slot: Own<ResultCoordinator<u32, u32, E::Rt, ()>> = Arc::default();
        let body_slot = slot.clone();
        let coordinator = Arc::new(
            ResultCoordinator::new(
                rt,
                Options::default().max_concurrency(1),
                move |n: u32, _: OpContext| {
                    let slot = body_slot.clone();
                    async move {
                        let me = own(&slot);
                        if n == 1 {
                            // Item 2 is queued behind this body on the only worker.
                            let later = me.try_enqueue(2).unwrap();
                            let answer = me.wait_for_result(later).await;
                            assert!(
                                matches!(answer, Err(ResultError::WouldDeadlock(id)) if id == later),
                                "{answer:?}"
                            );
                        }
                        Ok::<_, ()>(n * 10)
                    }
                },
            )
            .unwrap(),
        );
        slot.set(Arc::downgrade(&coordinator)).unwrap();
        let first = within(LIMIT, coordinator.enqueue(1)).await.unwrap();
        assert_eq!(within(LIMIT, coordinator.wait_for_result(first)).await, Ok(10), "{}", E::NAME);
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert_eq!(coordinator.totals().completed, 2, "{}", E::NAME);
    });
}

/// An item whose `Drop` panics, for items cancelled before they start.
struct Fragile(u32);

impl Drop for Fragile {
    fn drop(&mut self) {
        if self.0 == 3 && !std::thread::panicking() {
            panic!("item 3 panics when dropped");
        }
    }
}

/// Cancelling drops the items that never started; one whose `Drop` panics is counted,
/// and every other item is still cancelled with the coordinator as the cause.
fn a_panicking_item_drop_on_cancel_is_contained<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = smol::channel::unbounded::<()>();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().max_concurrency(1).queue_capacity(8),
            move |item: Fragile, _: OpContext| {
                let wait = wait.clone();
                async move {
                    if item.0 == 0 {
                        let _ = wait.recv().await;
                    }
                    core::mem::forget(item);
                }
            },
        )
        .unwrap();
        let ids: Vec<_> = (0..5)
            .map(|n| coordinator.try_enqueue(Fragile(n)).unwrap())
            .collect();
        coordinator.cancel();
        drop(release);
        within(LIMIT, coordinator.drain()).await;
        let totals = coordinator.totals();
        assert_eq!(totals.cancelled, 5, "{}: {totals:?}", E::NAME);
        assert_eq!(totals.contained_panics, 1, "{}: {totals:?}", E::NAME);
        for id in ids {
            let outcome = coordinator.get(id).and_then(|s| s.outcome);
            assert!(
                matches!(outcome, Some(Outcome::Cancelled(CancelCause::Coordinator))),
                "{}: {outcome:?}",
                E::NAME
            );
        }
    });
}

/// Cancelling a keyed coordinator while one key's body never ends and another item of
/// that key waits behind it lets every worker end: the body closure is freed. A worker
/// that found the closed queue holding only that waiting item slept, and the take that
/// later emptied the queue (another worker's, or `cancel`'s own) woke nobody, so it slept
/// forever with the coordinator alive.
fn every_worker_ends_after_a_keyed_cancel_with_an_item_waiting_behind_its_key<E: Executor>(
    exec: E,
) {
    let rt = exec.rt();
    exec.block_on(async move {
        for _ in 0..20 {
            let token = Arc::new(());
            let held = token.clone();
            let coordinator = KeyedWorkCoordinator::new(
                rt.clone(),
                |n: &u32| *n / 10,
                Options::default().max_concurrency(4).queue_capacity(8),
                move |n: u32, _: OpContext| {
                    let _held = held.clone();
                    async move {
                        if n == 10 {
                            core::future::pending::<()>().await;
                        }
                    }
                },
            )
            .unwrap();
            for n in [10, 11, 1, 2] {
                within(LIMIT, coordinator.enqueue(n)).await.unwrap();
            }
            yield_now().await;
            coordinator.cancel();
            within(LIMIT, coordinator.drain()).await;
            drop(coordinator);
            within(LIMIT, async {
                while Arc::strong_count(&token) > 1 {
                    futures_lite::future::yield_now().await;
                    nap(Duration::from_millis(1)).await;
                }
            })
            .await;
        }
    });
}

/// `cancel` cancels every waiting item at once, also one a keyed coordinator holds back
/// behind its key's running item: it is `Cancelled` when `cancel` returns, and `drain`
/// returns. Such an item used to stay queued, and if every worker had ended by the time
/// its key freed up, nobody settled it and `drain` never returned.
fn cancel_settles_an_item_held_back_by_its_keys_limit_at_once<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = KeyedWorkCoordinator::new(
            rt,
            |_: &u32| 0u8,
            Options::default().max_concurrency(2).queue_capacity(4),
            |n: u32, _: OpContext| async move {
                if n == 0 {
                    core::future::pending::<()>().await;
                }
            },
        )
        .unwrap();
        within(LIMIT, coordinator.enqueue(0)).await.unwrap();
        let held_back = within(LIMIT, coordinator.enqueue(1)).await.unwrap();
        within(LIMIT, until(|| coordinator.active_count() > 0)).await;
        coordinator.cancel();
        let outcome = coordinator.get(held_back).and_then(|s| s.outcome);
        assert!(
            matches!(outcome, Some(Outcome::Cancelled(CancelCause::Coordinator))),
            "{}: {outcome:?}",
            E::NAME
        );
        within(LIMIT, coordinator.drain()).await;
        assert_eq!(coordinator.totals().cancelled, 2, "{}", E::NAME);
    });
}

on_every_executor!(
    cancel_settles_an_item_held_back_by_its_keys_limit_at_once,
    every_worker_ends_after_a_keyed_cancel_with_an_item_waiting_behind_its_key,
    a_panicking_key_hash_or_eq_reaches_the_enqueuer_and_leaks_nothing,
    panics_in_callbacks_and_drops_are_counted,
    a_body_waiting_for_a_later_result_of_its_own_coordinator_is_refused,
    a_panicking_item_drop_on_cancel_is_contained,
);
