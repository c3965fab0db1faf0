//! Coordinators as handles: clones share one coordinator, the last handle's drop
//! cancels it, and a body reaches its own coordinator through a weak handle that
//! neither keeps it alive nor escapes the re-entrancy rules (C7, C12).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use ephemeral::runtime::BoxedRuntime;
use ephemeral::{
    CancelCause, EnqueueError, KeyedWorkCoordinator, Lane, OpContext, Options, Outcome,
    PriorityWorkCoordinator, ResultCoordinator, WorkCoordinator,
};
use runtime_tests::{
    Executor, LIMIT, assert_totals_add_up, gate, on_every_executor, until, within,
};

on_every_executor!(
    a_clone_keeps_the_coordinator_running_after_the_original_is_dropped,
    dropping_the_last_handle_cancels_the_queued_work,
    a_weak_handle_does_not_upgrade_after_the_last_handle_is_dropped,
    a_body_holding_its_upgraded_handle_does_not_keep_the_coordinator_alive,
    a_body_enqueueing_through_its_weak_handle_into_its_full_coordinator_is_refused,
    every_coordinator_clones_and_reaches_itself_from_a_body,
    a_coordinator_on_a_boxed_runtime_spawns_and_sleeps_on_the_erased_one,
);

/// Dropping one handle while a clone lives changes nothing: the clone enqueues, and the
/// work it accepted (and what was queued before) all completes.
fn a_clone_keeps_the_coordinator_running_after_the_original_is_dropped<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let original =
            WorkCoordinator::new(rt, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
        original.enqueue_many(0..5).await.unwrap();
        let clone = original.clone();
        drop(original);
        clone.enqueue_many(5..10).await.unwrap();
        clone.complete();
        within(LIMIT, clone.drain()).await;
        assert_eq!(clone.totals().completed, 10, "{}", E::NAME);
        assert_totals_add_up(&clone.totals(), E::NAME);
    });
}

/// The last handle's drop is `cancel`: every item still queued becomes `Cancelled` by
/// the coordinator, reported to `on_finalized`; dropping an earlier clone cancels
/// nothing.
fn dropping_the_last_handle_cancels_the_queued_work<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let cancelled = Arc::new(AtomicUsize::new(0));
        let seen = cancelled.clone();
        let coordinator = WorkCoordinator::builder(rt, Options::default())
            .on_finalized(move |s| {
                if matches!(
                    s.outcome,
                    Some(Outcome::Cancelled(CancelCause::Coordinator))
                ) {
                    seen.fetch_add(1, SeqCst);
                }
            })
            .build(|_: u32, _: OpContext| async {})
            .unwrap();
        coordinator.pause();
        coordinator.enqueue_many(0..6).await.unwrap();
        let last = coordinator.clone();
        drop(coordinator);
        assert_eq!(last.pending_count(), 6, "{}", E::NAME);
        assert_eq!(cancelled.load(SeqCst), 0, "{}", E::NAME);
        drop(last);
        within(LIMIT, until(|| cancelled.load(SeqCst) == 6)).await;
    });
}

/// A weak handle upgrades while any handle lives, and not once the last is gone.
fn a_weak_handle_does_not_upgrade_after_the_last_handle_is_dropped<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator =
            WorkCoordinator::new(rt, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
        let weak = coordinator.downgrade();
        let upgraded = weak.upgrade().expect("a handle lives");
        drop(coordinator);
        assert!(
            !upgraded.is_completed(),
            "{}: the upgraded handle keeps it",
            E::NAME
        );
        drop(upgraded);
        assert!(weak.upgrade().is_none(), "{}", E::NAME);
        assert!(weak.clone().upgrade().is_none(), "{}", E::NAME);
    });
}

/// A body that upgrades its weak handle and holds the coordinator across an await
/// keeps it only while it runs: once the user's handles are gone and the body ends,
/// the body's drop of the last handle cancels what was queued, the workers end, and the
/// body (with everything it captured) is dropped. The body itself completes.
fn a_body_holding_its_upgraded_handle_does_not_keep_the_coordinator_alive<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let captured = Arc::new(());
        let (go, wait) = gate();
        let (upgraded, holding) = gate();
        let outcomes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = outcomes.clone();
        let in_body = captured.clone();
        let coordinator = WorkCoordinator::builder(rt, Options::default().max_concurrency(1))
            .on_finalized(move |s| record.lock().unwrap().push(s.outcome.cloned()))
            .build_with(move |me| {
                move |_: u32, _: OpContext| {
                    let (me, wait, upgraded) = (me.clone(), wait.clone(), upgraded.clone());
                    let _captured = in_body.clone();
                    async move {
                        let me = me.upgrade().expect("a body runs while a handle lives");
                        upgraded.send(()).await.unwrap();
                        let _ = wait.recv().await;
                        assert!(!me.is_completed());
                    }
                }
            })
            .unwrap();
        coordinator.enqueue_many(0..3).await.unwrap();
        // The body holds its upgraded handle before the test lets go of its own.
        within(LIMIT, holding.recv()).await.unwrap();
        let weak = coordinator.downgrade();
        drop(coordinator);
        assert!(
            weak.upgrade().is_some(),
            "{}: the running body holds it",
            E::NAME
        );
        go.send(()).await.unwrap();
        // Workers hold the body; they end once the coordinator is cancelled.
        within(LIMIT, until(|| Arc::strong_count(&captured) == 1)).await;
        assert!(weak.upgrade().is_none(), "{}", E::NAME);
        let outcomes = outcomes.lock().unwrap();
        assert_eq!(outcomes.len(), 3, "{}: {outcomes:?}", E::NAME);
        // The queued two are cancelled as the body lets go, before its own end is
        // recorded.
        let count = |outcome: Outcome<_>| {
            outcomes
                .iter()
                .filter(|o| **o == Some(outcome.clone()))
                .count()
        };
        assert_eq!(count(Outcome::Success), 1, "{}: {outcomes:?}", E::NAME);
        assert_eq!(
            count(Outcome::Cancelled(CancelCause::Coordinator)),
            2,
            "{}: {outcomes:?}",
            E::NAME
        );
    });
}

/// Through its weak handle, a body's `enqueue` into its own full coordinator is refused
/// with `WouldDeadlock` (C12), as through any other handle.
fn a_body_enqueueing_through_its_weak_handle_into_its_full_coordinator_is_refused<E: Executor>(
    exec: E,
) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (go, wait) = gate();
        let (answer_tx, answer) = smol::channel::unbounded();
        let coordinator =
            WorkCoordinator::builder(rt, Options::default().max_concurrency(1).queue_capacity(1))
                .build_with(move |me| {
                    move |n: u32, _: OpContext| {
                        let (me, wait, answer) = (me.clone(), wait.clone(), answer_tx.clone());
                        async move {
                            if n == 0 {
                                let _ = wait.recv().await;
                                let me = me.upgrade().unwrap();
                                let refused = me.enqueue(100).await;
                                let _ = answer
                                    .send(matches!(refused, Err(EnqueueError::WouldDeadlock(100))))
                                    .await;
                            }
                        }
                    }
                })
                .unwrap();
        within(LIMIT, async {
            coordinator.enqueue(0).await.unwrap();
            until(|| coordinator.active_count() == 1).await;
            coordinator.enqueue(1).await.unwrap();
        })
        .await;
        go.send(()).await.unwrap();
        assert_eq!(within(LIMIT, answer.recv()).await, Ok(true), "{}", E::NAME);
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert_eq!(coordinator.totals().completed, 2, "{}", E::NAME);
    });
}

/// Each coordinator type is a handle: it clones, and `build_with` gives its body a weak
/// handle of its own type.
fn every_coordinator_clones_and_reaches_itself_from_a_body<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let results = ResultCoordinator::builder(rt.clone(), Options::default())
            .build_with(|me| {
                move |n: u32, _: OpContext| {
                    let me = me.clone();
                    async move {
                        me.upgrade()
                            .map(|me| n + me.active_count() as u32)
                            .ok_or(())
                    }
                }
            })
            .unwrap();
        let id = results.clone().enqueue(1).await.unwrap();
        assert_eq!(within(LIMIT, results.wait_for_result(id)).await, Ok(2));

        let keyed = KeyedWorkCoordinator::builder(rt.clone(), |n: &u32| n % 2, Options::default())
            .build_with(|me| {
                move |n: u32, _: OpContext| {
                    let me = me.clone();
                    async move {
                        if n < 4 {
                            me.upgrade().unwrap().try_enqueue(n + 4).unwrap();
                        }
                    }
                }
            })
            .unwrap();
        keyed.clone().enqueue_many(0..4).await.unwrap();
        within(LIMIT, until(|| keyed.totals().completed == 8)).await;

        let lanes = [Lane::new("high"), Lane::new("low")];
        let priority = PriorityWorkCoordinator::builder(rt, lanes, Options::default())
            .build_with(|me| {
                move |n: u32, _: OpContext| {
                    let me = me.clone();
                    async move {
                        if n == 0 {
                            let me = me.upgrade().unwrap();
                            me.try_enqueue(1, me.lane("low").unwrap()).unwrap();
                        }
                    }
                }
            })
            .unwrap();
        let high = priority.lane("high").unwrap();
        priority.clone().enqueue(0, high).await.unwrap();
        within(LIMIT, until(|| priority.totals().completed == 2)).await;
    });
}

/// Held in a struct without naming its executor: the coordinators' default runtime.
struct Service {
    work: WorkCoordinator<u32>,
}

/// A coordinator on a `BoxedRuntime` runs its workers on the erased executor and
/// sleeps on its timer: items deferred by a signal are released at `max_defer` (a
/// sleep), and the rest run.
fn a_coordinator_on_a_boxed_runtime_spawns_and_sleeps_on_the_erased_one<E: Executor>(exec: E) {
    let rt = BoxedRuntime::new(exec.rt());
    exec.block_on(async move {
        let options = Options::default()
            .defer_on("hold")
            .max_defer(core::time::Duration::from_millis(5));
        let service = Service {
            work: WorkCoordinator::new(rt, options, |_: u32, _: OpContext| async {}).unwrap(),
        };
        service.work.signals().raise("hold").unwrap();
        service.work.enqueue_many(0..4).await.unwrap();
        service.work.complete();
        within(LIMIT, service.work.drain()).await;
        let totals = service.work.totals();
        assert_eq!(totals.completed, 4, "{}", E::NAME);
        assert!(totals.deferred > 0, "{}: {totals:?}", E::NAME);
    });
}
