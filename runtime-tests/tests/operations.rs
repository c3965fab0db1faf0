//! One operation at a time, on every coordinator (IMPLEMENTATION.md C2, C7 and C13):
//! waiting for one operation's end, cancelling one operation, and waiting for the end of
//! all work, on every executor.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ephemeral::{
    CancelCause, KeyedWorkCoordinator, OpContext, Options, Outcome, ResultCoordinator, ResultError,
    State, WaitError, WindowError, WorkCoordinator,
};
use runtime_tests::{
    Executor, LIMIT, Own, assert_totals_add_up, gate, on_every_executor, own, settle, until, within,
};

/// `wait` resolves with each operation's terminal state, whether it ended before the
/// call or after; an operation that left the window still answers while its slot was
/// not reused, and never with another operation's state; an id from another
/// coordinator is unknown at once.
fn wait_answers_with_the_terminal_state_before_and_after_the_end<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = gate();
        let coordinator = Arc::new(
            WorkCoordinator::new(
                rt.clone(),
                Options::default().max_concurrency(2).max_tracked(2),
                move |n: u32, _: OpContext| {
                    let wait = wait.clone();
                    async move {
                        if n == 0 {
                            let _ = wait.recv().await;
                        }
                        if n == 1 { Err("one") } else { Ok(()) }
                    }
                },
            )
            .unwrap(),
        );
        let held = within(LIMIT, coordinator.enqueue(0)).await.unwrap();
        let failed = within(LIMIT, coordinator.enqueue(1)).await.unwrap();
        assert_eq!(
            within(LIMIT, coordinator.wait(failed)).await,
            Ok(State::Faulted)
        );
        let mut early = std::pin::pin!(coordinator.wait(held));
        assert!(
            futures_lite::future::poll_once(early.as_mut())
                .await
                .is_none()
        );
        settle().await;
        assert!(
            futures_lite::future::poll_once(early.as_mut())
                .await
                .is_none()
        );
        release.close();
        assert_eq!(
            within(LIMIT, early).await,
            Ok(State::Completed),
            "{}",
            E::NAME
        );
        // Gone from the window, its slot not yet reused: the slot remembers how it ended.
        coordinator.evict(failed).unwrap();
        assert!(coordinator.get(failed).is_none(), "{}: evicted", E::NAME);
        assert_eq!(
            within(LIMIT, coordinator.wait(failed)).await,
            Ok(State::Faulted),
            "{}",
            E::NAME
        );
        // Once later operations reuse the slot, it answers unknown, never their state.
        for n in 2..8 {
            let id = within(LIMIT, coordinator.enqueue(n)).await.unwrap();
            assert_eq!(
                within(LIMIT, coordinator.wait(id)).await,
                Ok(State::Completed)
            );
        }
        let answer = within(LIMIT, coordinator.wait(failed)).await;
        assert!(
            matches!(answer, Ok(State::Faulted) | Err(WaitError::Unknown(_))),
            "{}: {answer:?}",
            E::NAME
        );

        let other =
            WorkCoordinator::new(rt, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
        assert_eq!(
            within(LIMIT, other.wait(held)).await,
            Err(WaitError::Unknown(held)),
            "{}",
            E::NAME
        );
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
    });
}

/// `cancel_operation` cancels a queued operation at once (its body never runs) and a
/// running one at its next poll, both with `CancelCause::Requested`; the others run on;
/// an ended operation is refused with its state; totals add up and `drain` returns.
fn cancel_operation_cancels_one_pending_or_running_operation<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let ran_queued = Arc::new(AtomicBool::new(false));
        let ran = ran_queued.clone();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().max_concurrency(1),
            move |n: u32, _: OpContext| {
                let ran = ran.clone();
                async move {
                    match n {
                        0 => core::future::pending::<()>().await,
                        1 => ran.store(true, Ordering::SeqCst),
                        _ => {}
                    }
                }
            },
        )
        .unwrap();
        let stuck = within(LIMIT, coordinator.enqueue(0)).await.unwrap();
        let queued = within(LIMIT, coordinator.enqueue(1)).await.unwrap();
        let after = within(LIMIT, coordinator.enqueue(2)).await.unwrap();
        within(LIMIT, until(|| coordinator.active_count() == 1)).await;
        assert_eq!(coordinator.cancel_operation(queued), Ok(()), "{}", E::NAME);
        assert_eq!(
            coordinator.get(queued).map(|s| (s.state, s.outcome)),
            Some((
                State::Cancelled,
                Some(Outcome::Cancelled(CancelCause::Requested))
            )),
            "{}: cancelled at once, while still queued",
            E::NAME
        );
        assert_eq!(coordinator.cancel_operation(stuck), Ok(()), "{}", E::NAME);
        assert_eq!(
            within(LIMIT, coordinator.wait(stuck)).await,
            Ok(State::Cancelled)
        );
        assert_eq!(
            coordinator.get(stuck).and_then(|s| s.outcome),
            Some(Outcome::Cancelled(CancelCause::Requested)),
            "{}",
            E::NAME
        );
        assert_eq!(
            within(LIMIT, coordinator.wait(after)).await,
            Ok(State::Completed)
        );
        assert!(
            !ran_queued.load(Ordering::SeqCst),
            "{}: a cancelled body never runs",
            E::NAME
        );
        assert_eq!(
            coordinator.cancel_operation(after),
            Err(WindowError::WrongState {
                id: after,
                state: State::Completed
            })
        );
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        let totals = coordinator.totals();
        assert_totals_add_up(&totals, E::NAME);
        assert_eq!((totals.cancelled, totals.completed), (2, 1), "{}", E::NAME);
        assert_eq!(coordinator.pending_count(), 0, "{}", E::NAME);
    });
}

/// Cancelling one keyed operation that waits behind its key lets the key's next item
/// run in order, and the result coordinator hands the cancellation back as the result.
fn a_cancelled_operation_keeps_key_order_and_has_its_result<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = log.clone();
        let (release, wait) = gate();
        let keyed = KeyedWorkCoordinator::new(
            rt.clone(),
            |n: &u32| n / 10,
            Options::default().max_concurrency(2),
            move |n: u32, _: OpContext| {
                let (seen, wait) = (seen.clone(), wait.clone());
                async move {
                    if n == 10 {
                        let _ = wait.recv().await;
                    }
                    seen.lock().unwrap().push(n);
                }
            },
        )
        .unwrap();
        let ids: Vec<_> = within(LIMIT, async {
            let mut ids = Vec::new();
            for n in [10, 11, 12, 13] {
                ids.push(keyed.enqueue(n).await.unwrap());
            }
            ids
        })
        .await;
        assert_eq!(keyed.cancel_operation(ids[2]), Ok(()), "{}", E::NAME);
        release.close();
        keyed.complete();
        within(LIMIT, keyed.drain()).await;
        assert_eq!(*log.lock().unwrap(), [10, 11, 13], "{}", E::NAME);
        assert_totals_add_up(&keyed.totals(), E::NAME);

        let results = ResultCoordinator::new(
            rt,
            Options::default().max_concurrency(1),
            |n: u32, _: OpContext| async move {
                if n == 0 {
                    core::future::pending::<()>().await;
                }
                Ok::<_, ()>(n)
            },
        )
        .unwrap();
        let stuck = within(LIMIT, results.enqueue(0)).await.unwrap();
        let queued = within(LIMIT, results.enqueue(1)).await.unwrap();
        results.cancel_operation(queued).unwrap();
        results.cancel_operation(stuck).unwrap();
        let cancelled = Err(ResultError::Cancelled(CancelCause::Requested));
        assert_eq!(
            within(LIMIT, results.join(queued)).await,
            cancelled,
            "{}",
            E::NAME
        );
        assert_eq!(
            within(LIMIT, results.join(stuck)).await,
            cancelled,
            "{}",
            E::NAME
        );
        results.complete();
        assert_eq!(
            within(LIMIT, results.next_result()).await,
            None,
            "{}",
            E::NAME
        );
    });
}

/// `wait_closed` keeps waiting while the coordinator is open, even idle (where `drain`
/// returns at once), and resolves once it is completed and its last item ended.
fn wait_closed_waits_for_complete_and_for_every_item<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = gate();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().max_concurrency(2),
            move |_: u32, _: OpContext| {
                let wait = wait.clone();
                async move {
                    let _ = wait.recv().await;
                }
            },
        )
        .unwrap();
        within(LIMIT, coordinator.drain()).await;
        let mut closed = std::pin::pin!(coordinator.wait_closed());
        assert!(
            futures_lite::future::poll_once(closed.as_mut())
                .await
                .is_none()
        );
        within(LIMIT, coordinator.enqueue(1)).await.unwrap();
        coordinator.complete();
        settle().await;
        assert!(
            futures_lite::future::poll_once(closed.as_mut())
                .await
                .is_none(),
            "{}: an item still runs",
            E::NAME
        );
        release.close();
        within(LIMIT, closed).await;
        assert_eq!(coordinator.totals().completed, 1, "{}", E::NAME);
    });
}

/// A body waiting for a later operation of its own coordinator is refused with
/// `WouldDeadlock` rather than hang; one cancelling itself is dropped at its next poll.
fn a_body_waiting_on_its_own_coordinator_is_refused<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let slot: Own<WorkCoordinator<u32, E::Rt>> = Arc::default();
        let body_slot = slot.clone();
        let coordinator = Arc::new(
            WorkCoordinator::new(
                rt,
                Options::default().max_concurrency(1),
                move |n: u32, ctx: OpContext| {
                    let slot = body_slot.clone();
                    async move {
                        let me = own(&slot);
                        if n == 1 {
                            let later = me.try_enqueue(2).unwrap();
                            assert_eq!(me.wait(later).await, Err(WaitError::WouldDeadlock(later)));
                        }
                        if n == 2 {
                            me.cancel_operation(ctx.id()).unwrap();
                            futures_lite::future::yield_now().await;
                            unreachable!("dropped at its next poll");
                        }
                    }
                },
            )
            .unwrap(),
        );
        slot.set(Arc::downgrade(&coordinator)).unwrap();
        let first = within(LIMIT, coordinator.enqueue(1)).await.unwrap();
        assert_eq!(
            within(LIMIT, coordinator.wait(first)).await,
            Ok(State::Completed)
        );
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        let totals = coordinator.totals();
        assert_eq!((totals.completed, totals.cancelled), (1, 1), "{}", E::NAME);
    });
}

on_every_executor!(
    wait_answers_with_the_terminal_state_before_and_after_the_end,
    cancel_operation_cancels_one_pending_or_running_operation,
    a_cancelled_operation_keeps_key_order_and_has_its_result,
    wait_closed_waits_for_complete_and_for_every_item,
    a_body_waiting_on_its_own_coordinator_is_refused,
);
