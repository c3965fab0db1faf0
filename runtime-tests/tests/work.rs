//! The WorkCoordinator behaviour suite (IMPLEMENTATION.md C1, C2, C4, C6, C7 and
//! backpressure), written once and run on smol, tokio (multi-thread), async-std and a
//! single thread.

use core::time::Duration;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use ephemeral::runtime::{ManualClock, Runtime, Timer};
use ephemeral::{EnqueueError, OpContext, Options, Outcome, State, WorkCoordinator};
use runtime_tests::{Executor, LIMIT, gate, on_every_executor, settle, until, within};

/// C1: never more than `max_concurrency` bodies at once; the bound is reached.
fn bound_is_never_exceeded<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let running = Arc::new(AtomicUsize::new(0));
        let high = Arc::new(AtomicUsize::new(0));
        let (r, h, timer) = (running.clone(), high.clone(), rt.clone());
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().max_concurrency(4).queue_capacity(16),
            move |_: u32, _: OpContext| {
                let (r, h, timer) = (r.clone(), h.clone(), timer.clone());
                async move {
                    h.fetch_max(r.fetch_add(1, SeqCst) + 1, SeqCst);
                    timer.sleep(Duration::from_millis(1)).await;
                    r.fetch_sub(1, SeqCst);
                }
            },
        )
        .unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(0..200).await.unwrap();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert_eq!(high.load(SeqCst), 4, "{}: high-water mark", E::NAME);
        assert_eq!(coordinator.totals().completed, 200);
    });
}

/// C2: every accepted item reaches exactly one terminal state, counted and visible.
fn nothing_is_lost<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default()
                .max_concurrency(3)
                .queue_capacity(8)
                .max_tracked(1000),
            |n: u32, _: OpContext| async move {
                futures_lite::future::yield_now().await;
                if n.is_multiple_of(11) {
                    panic!("item {n} panicked");
                }
                if n.is_multiple_of(7) { Err(n) } else { Ok(()) }
            },
        )
        .unwrap();
        let mut ids = Vec::new();
        within(LIMIT, async {
            for n in 0..500 {
                ids.push(coordinator.enqueue(n).await.unwrap());
            }
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        let totals = coordinator.totals();
        assert_eq!(totals.enqueued, 500);
        assert_eq!(
            totals.enqueued,
            totals.completed + totals.failed + totals.cancelled
        );
        let panics = (0..500).filter(|n| n % 11 == 0).count() as u64;
        let errors = (0..500).filter(|n| n % 7 == 0 && n % 11 != 0).count() as u64;
        assert_eq!(totals.failed, panics + errors, "{}", E::NAME);
        for (n, id) in ids.into_iter().enumerate() {
            let snap = coordinator.get(id).expect("the window holds all 500");
            assert!(snap.state.is_finished());
            match snap.outcome.unwrap() {
                Outcome::Panic(message) => {
                    assert_eq!(message.as_str(), format!("item {n} panicked"))
                }
                Outcome::Error(e) => assert_eq!(e as usize, n),
                Outcome::Success => assert!(n % 7 != 0 && n % 11 != 0),
                other => panic!("unexpected outcome {other:?}"),
            }
        }
    });
}

/// C4: the window keeps `max_tracked` finished operations and drops them by age,
/// measured on a manual clock.
fn window_bounds_and_age<E: Executor>(exec: E) {
    let clock = ManualClock::new();
    let rt = Runtime {
        spawner: exec.rt(),
        timer: clock.clone(),
    };
    exec.block_on(async move {
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default()
                .max_concurrency(2)
                .max_tracked(5)
                .max_operation_lifetime(Duration::from_secs(10)),
            |_: u32, _: OpContext| async {},
        )
        .unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(0..20).await.unwrap();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert_eq!(coordinator.completed().len(), 5, "{}", E::NAME);
        clock.advance(Duration::from_secs(9));
        assert_eq!(coordinator.completed().len(), 5);
        clock.advance(Duration::from_secs(1));
        assert!(
            coordinator.completed().is_empty(),
            "{}: aged out at 10 s",
            E::NAME
        );
        assert_eq!(coordinator.totals().completed, 20);
    });
}

/// C6: after `set_max_concurrency(1)`, no body starts while one or more run.
fn shrinking_takes_effect<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let running = Arc::new(AtomicUsize::new(0));
        let starts = Arc::new(AtomicUsize::new(0));
        let high_after = Arc::new(AtomicUsize::new(0));
        let (release, wait) = gate();
        let (r, s, h) = (running.clone(), starts.clone(), high_after.clone());
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().max_concurrency(4).queue_capacity(32),
            move |_: u32, _: OpContext| {
                let (r, s, h, wait) = (r.clone(), s.clone(), h.clone(), wait.clone());
                async move {
                    let now = r.fetch_add(1, SeqCst) + 1;
                    // The first four start before the shrink and block until released
                    // after it, so every later start happens after the shrink.
                    if s.fetch_add(1, SeqCst) >= 4 {
                        h.fetch_max(now, SeqCst);
                    }
                    let _ = wait.recv().await;
                    r.fetch_sub(1, SeqCst);
                }
            },
        )
        .unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(0..12).await.unwrap();
            until(|| starts.load(SeqCst) >= 4).await;
            coordinator.set_max_concurrency(1).unwrap();
            release.close();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert_eq!(
            high_after.load(SeqCst),
            1,
            "{}: a body started beside another after shrinking",
            E::NAME
        );
        assert_eq!(coordinator.totals().completed, 12);
    });
}

/// C7: `complete` is idempotent and enqueue after it hands the item back.
fn complete_is_idempotent_and_closes_intake<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator =
            WorkCoordinator::new(rt, Options::default(), |_: String, _: OpContext| async {})
                .unwrap();
        coordinator.enqueue("before".to_string()).await.unwrap();
        coordinator.complete();
        coordinator.complete();
        match coordinator.enqueue("after".to_string()).await {
            Err(EnqueueError::Closed(item)) => assert_eq!(item, "after"),
            other => panic!("{}: expected Closed, got {other:?}", E::NAME),
        }
        assert!(matches!(
            coordinator.try_enqueue("late".to_string()),
            Err(EnqueueError::Closed(_))
        ));
        within(LIMIT, coordinator.drain()).await;
        assert_eq!(coordinator.totals().completed, 1);
    });
}

/// C7: `cancel` drops running bodies and cancels pending items; each is `Cancelled`.
fn cancel_ends_running_and_pending<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().max_concurrency(2).queue_capacity(16),
            |_: u32, _: OpContext| futures_lite::future::pending::<()>(),
        )
        .unwrap();
        let ids: Vec<_> = within(LIMIT, async {
            let mut ids = Vec::new();
            for n in 0..10 {
                ids.push(coordinator.enqueue(n).await.unwrap());
            }
            until(|| coordinator.active_count() >= 2).await;
            ids
        })
        .await;
        coordinator.cancel();
        within(LIMIT, coordinator.drain()).await;
        let totals = coordinator.totals();
        assert_eq!(
            (totals.cancelled, totals.completed, totals.failed),
            (10, 0, 0),
            "{}",
            E::NAME
        );
        let started = ids
            .iter()
            .filter(|&&id| coordinator.get(id).unwrap().started_at.is_some())
            .count();
        assert_eq!(started, 2, "two were running, eight pending");
        for id in ids {
            assert_eq!(coordinator.get(id).unwrap().state, State::Cancelled);
        }
    });
}

/// C7: dropping a busy coordinator returns at once, and its workers, items and bodies
/// are all released.
fn dropping_a_busy_coordinator_neither_hangs_nor_leaks<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let token = Arc::new(());
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().max_concurrency(2).queue_capacity(16),
            |held: Arc<()>, _: OpContext| async move {
                futures_lite::future::pending::<()>().await;
                drop(held);
            },
        )
        .unwrap();
        within(LIMIT, async {
            for _ in 0..10 {
                coordinator.enqueue(token.clone()).await.unwrap();
            }
            until(|| coordinator.active_count() >= 2).await;
        })
        .await;
        drop(coordinator);
        within(LIMIT, until(|| Arc::strong_count(&token) <= 1)).await;
    });
}

/// Backpressure: `try_enqueue` hands back `Full(item)` and `enqueue` waits for room.
fn backpressure_waits_and_refuses_when_full<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = gate();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().max_concurrency(1).queue_capacity(2),
            move |_: u32, _: OpContext| {
                let wait = wait.clone();
                async move {
                    let _ = wait.recv().await;
                }
            },
        )
        .unwrap();
        within(LIMIT, async {
            coordinator.enqueue(0).await.unwrap();
            until(|| coordinator.active_count() >= 1).await;
            coordinator.enqueue(1).await.unwrap();
            coordinator.enqueue(2).await.unwrap();
            assert!(
                matches!(coordinator.try_enqueue(3), Err(EnqueueError::Full(3))),
                "{}",
                E::NAME
            );
            let mut waiting = std::pin::pin!(coordinator.enqueue(4));
            assert!(
                futures_lite::future::poll_once(waiting.as_mut())
                    .await
                    .is_none(),
                "enqueue must wait"
            );
            release.send(()).await.unwrap();
            waiting.await.unwrap();
            release.close();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert_eq!(coordinator.totals().completed, 4);
    });
}

/// Items queued in a burst (no await between them) wake one worker each, so they run
/// in parallel rather than one at a time on the first worker woken.
fn a_burst_of_items_wakes_a_worker_for_each<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = gate();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().max_concurrency(4),
            move |_: u32, _: OpContext| {
                let wait = wait.clone();
                async move {
                    let _ = wait.recv().await;
                }
            },
        )
        .unwrap();
        // Let every worker go to sleep on the empty intake first.
        settle().await;
        for n in 0..4 {
            coordinator.try_enqueue(n).unwrap();
        }
        within(LIMIT, until(|| coordinator.active_count() >= 4)).await;
        release.close();
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert_eq!(coordinator.totals().completed, 4, "{}", E::NAME);
    });
}

/// A body closure that panics before returning its future is a fault like any other
/// panic; the worker lives on.
fn a_body_panicking_before_its_future_is_a_fault<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().max_concurrency(1),
            |n: u32, _: OpContext| {
                if n == 1 {
                    panic!("no future for item 1");
                }
                async {}
            },
        )
        .unwrap();
        let ids = within(LIMIT, async {
            let mut ids = Vec::new();
            for n in 0..3 {
                ids.push(coordinator.enqueue(n).await.unwrap());
            }
            coordinator.complete();
            coordinator.drain().await;
            ids
        })
        .await;
        assert_eq!(coordinator.totals().completed, 2, "{}", E::NAME);
        match coordinator.get(ids[1]).unwrap().outcome {
            Some(Outcome::Panic(message)) => assert_eq!(message.as_str(), "no future for item 1"),
            other => panic!("{}: unexpected outcome {other:?}", E::NAME),
        }
    });
}

on_every_executor!(
    bound_is_never_exceeded,
    nothing_is_lost,
    window_bounds_and_age,
    shrinking_takes_effect,
    complete_is_idempotent_and_closes_intake,
    cancel_ends_running_and_pending,
    dropping_a_busy_coordinator_neither_hangs_nor_leaks,
    backpressure_waits_and_refuses_when_full,
    a_burst_of_items_wakes_a_worker_for_each,
    a_body_panicking_before_its_future_is_a_fault,
);
