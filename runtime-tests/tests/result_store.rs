//! The results store of the ResultCoordinator (IMPLEMENTATION.md C2 and C13: results are
//! owned until taken, never lost to the window's eviction; fullness is backpressure):
//! joining by id, consuming in finishing order, lending, on every executor.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ephemeral::{
    CancelCause, EnqueueError, InResults, OpContext, OperationId, Options, Outcome,
    ResultCoordinator, ResultError, State,
};
use futures_lite::StreamExt;
use runtime_tests::{Executor, LIMIT, Own, gate, on_every_executor, own, settle, until, within};

/// A value that is neither `Clone` nor `Copy`.
#[derive(Debug, PartialEq)]
struct Page(String);

/// An error that is neither `Clone` nor `Copy`.
#[derive(Debug, PartialEq)]
struct Broken(u32);

/// 1,000 results submitted before any is taken, through a window of 20, all come back:
/// the window evicts its operations, the store keeps their results.
fn a_result_is_kept_until_taken_even_after_the_window_evicts_it<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator =
            ResultCoordinator::builder(rt, Options::default().max_concurrency(4).max_tracked(20))
                .results_capacity(1_000)
                .build(|n: u64, _: OpContext| async move { Ok::<_, ()>(n * 3) })
                .unwrap();
        let ids = within(LIMIT, async {
            let mut ids = Vec::new();
            for n in 0..1_000 {
                ids.push(coordinator.enqueue(n).await.unwrap());
            }
            ids
        })
        .await;
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert!(
            coordinator.get(ids[0]).is_none(),
            "{}: evicted from the window",
            E::NAME
        );
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(
                within(LIMIT, coordinator.join(*id)).await,
                Ok(n as u64 * 3),
                "{}: result {n}",
                E::NAME
            );
        }
        assert_eq!(coordinator.results_reserved(), 0, "{}", E::NAME);
        assert_eq!(
            coordinator.take_result(ids[0]),
            Err(ResultError::Unknown(ids[0]))
        );
        let last = ids[999];
        assert_eq!(coordinator.take_result(last), Err(ResultError::Taken(last)));
    });
}

/// With room for two results, a third item is refused by `try_enqueue` (handed back)
/// and waited for by `enqueue`, which proceeds once a result is taken; nothing is ever
/// dropped to make room.
fn a_full_results_store_holds_enqueue_back_until_a_result_is_taken<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = Arc::new(
            ResultCoordinator::builder(rt, Options::default())
                .results_capacity(2)
                .build(|n: u32, _: OpContext| async move { Ok::<_, ()>(n) })
                .unwrap(),
        );
        let a = within(LIMIT, coordinator.enqueue(1)).await.unwrap();
        let b = within(LIMIT, coordinator.enqueue(2)).await.unwrap();
        within(LIMIT, until(|| coordinator.totals().completed == 2)).await;
        assert!(
            matches!(coordinator.try_enqueue(3), Err(EnqueueError::Full(3))),
            "{}",
            E::NAME
        );
        let mut third = std::pin::pin!(coordinator.enqueue(3));
        assert!(
            futures_lite::future::poll_once(third.as_mut())
                .await
                .is_none()
        );
        settle().await;
        assert!(
            futures_lite::future::poll_once(third.as_mut())
                .await
                .is_none()
        );
        assert_eq!(coordinator.take_result(b), Ok(2), "{}", E::NAME);
        let c = within(LIMIT, third).await.unwrap();
        assert_eq!(within(LIMIT, coordinator.join(c)).await, Ok(3));
        assert_eq!(within(LIMIT, coordinator.join(a)).await, Ok(1));
        assert_eq!(coordinator.totals().enqueued, 3, "{}", E::NAME);
    });
}

/// `join` and `take_result` need no `Clone` of the value or the error; a body's error,
/// a panic and a cancellation each come back with their cause; the window shows a
/// failure without its error; `with_result` lends a result without taking it.
fn results_need_no_clone_and_carry_every_cause<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = gate();
        let coordinator = ResultCoordinator::new(
            rt.clone(),
            Options::default().max_concurrency(1),
            move |n: u32, _: OpContext| {
                let wait = wait.clone();
                async move {
                    match n {
                        0 => {
                            let _ = wait.recv().await;
                            Ok(Page("first".into()))
                        }
                        1 => Err(Broken(1)),
                        2 => panic!("page {n} panicked"),
                        _ => Ok(Page(format!("page {n}"))),
                    }
                }
            },
        )
        .unwrap();
        let ids: Vec<OperationId> = within(LIMIT, async {
            let mut ids = Vec::new();
            for n in 0..4 {
                ids.push(coordinator.enqueue(n).await.unwrap());
            }
            ids
        })
        .await;
        coordinator.cancel();
        release.close();
        within(LIMIT, coordinator.drain()).await;
        let cancelled = coordinator.join(ids[0]).await;
        assert_eq!(
            cancelled,
            Err(ResultError::Cancelled(CancelCause::Coordinator)),
            "{}",
            E::NAME
        );
        for id in &ids[1..] {
            assert_eq!(
                coordinator.take_result(*id),
                Err(ResultError::Cancelled(CancelCause::Coordinator)),
                "{}: queued behind the first",
                E::NAME
            );
        }
        drop(coordinator);

        // Run to the end this time.
        let coordinator = ResultCoordinator::new(
            rt,
            Options::default().max_concurrency(1),
            |n: u32, _: OpContext| async move {
                match n {
                    1 => Err(Broken(1)),
                    2 => panic!("page {n} panicked"),
                    _ => Ok(Page(format!("page {n}"))),
                }
            },
        )
        .unwrap();
        let ids: Vec<OperationId> = within(LIMIT, async {
            let mut ids = Vec::new();
            for n in 0..4 {
                ids.push(coordinator.enqueue(n).await.unwrap());
            }
            coordinator.complete();
            coordinator.drain().await;
            ids
        })
        .await;
        let shown = coordinator.get(ids[1]).unwrap();
        assert_eq!(shown.state, State::Faulted);
        assert_eq!(
            shown.outcome,
            Some(Outcome::Error(InResults)),
            "{}",
            E::NAME
        );
        assert_eq!(
            coordinator.with_result(ids[1], |r| matches!(r, Err(ResultError::Failed(Broken(1))))),
            Ok(true),
            "{}: lent, not taken",
            E::NAME
        );
        assert_eq!(
            coordinator.join(ids[1]).await,
            Err(ResultError::Failed(Broken(1)))
        );
        assert!(matches!(
            coordinator.with_result(ids[1], |_| ()),
            Err(ResultError::Taken(id)) if id == ids[1]
        ));
        match coordinator.take_result(ids[2]) {
            Err(ResultError::Panicked(message)) => {
                assert_eq!(message.as_str(), "page 2 panicked", "{}", E::NAME)
            }
            other => panic!("{}: {other:?}", E::NAME),
        }
        assert_eq!(coordinator.join(ids[3]).await, Ok(Page("page 3".into())));
        assert_eq!(coordinator.join(ids[0]).await, Ok(Page("page 0".into())));
    });
}

/// `next_result` and `result_stream` yield every result once, in the order the
/// operations finished (not the order they were enqueued), skip results taken by id,
/// and end once the coordinator is completed and the last result was yielded.
fn results_come_out_in_finishing_order_and_the_stream_ends_after_the_last<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let finished = Arc::new(Mutex::new(Vec::new()));
        let log = finished.clone();
        let coordinator = ResultCoordinator::builder(rt, Options::default().max_concurrency(4))
            .on_result(move |snapshot, _| log.lock().unwrap().push(snapshot.id))
            .build(|n: u64, _: OpContext| async move {
                // Later items finish sooner.
                for _ in 0..(40 - n) {
                    futures_lite::future::yield_now().await;
                }
                Ok::<_, ()>(n)
            })
            .unwrap();
        let ids: Vec<OperationId> = within(LIMIT, async {
            let mut ids = Vec::new();
            for n in 0..40 {
                ids.push(coordinator.enqueue(n).await.unwrap());
            }
            ids
        })
        .await;
        within(LIMIT, until(|| coordinator.totals().completed == 40)).await;
        assert_eq!(coordinator.take_result(ids[7]), Ok(7));
        let first = within(LIMIT, coordinator.next_result()).await.unwrap();
        coordinator.complete();
        let rest: Vec<(OperationId, Result<u64, ResultError<()>>)> =
            within(LIMIT, coordinator.result_stream().collect()).await;
        let order: Vec<OperationId> = std::iter::once(first.0)
            .chain(rest.iter().map(|(id, _)| *id))
            .collect();
        let expected: Vec<OperationId> = finished
            .lock()
            .unwrap()
            .iter()
            .copied()
            .filter(|id| *id != ids[7])
            .collect();
        // Two results finishing at once on two workers may be listed in the other order
        // than their callbacks ran: compare what came out, each once, with what finished.
        let (mut sorted_order, mut sorted_expected) = (order.clone(), expected.clone());
        sorted_order.sort();
        sorted_expected.sort();
        assert_eq!(
            sorted_order,
            sorted_expected,
            "{}: each result once",
            E::NAME
        );
        for (id, result) in std::iter::once(first).chain(rest) {
            let n = ids.iter().position(|i| *i == id).unwrap() as u64;
            assert_eq!(result, Ok(n), "{}", E::NAME);
        }
        assert_eq!(
            within(LIMIT, coordinator.next_result()).await,
            None,
            "{}",
            E::NAME
        );
    });
}

/// A consumer waiting in `next_result` before anything finished is woken by each result,
/// and by the end: it sees every result of a coordinator completed while it waits,
/// without a drain in between.
fn a_waiting_consumer_sees_every_result_and_then_the_end<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = Arc::new(
            ResultCoordinator::builder(rt.clone(), Options::default().max_concurrency(2))
                .results_capacity(8)
                .build(|n: u64, _: OpContext| async move {
                    futures_lite::future::yield_now().await;
                    Ok::<_, ()>(n)
                })
                .unwrap(),
        );
        let sum = Arc::new(AtomicU64::new(0));
        let (done_tx, done_rx) = smol::channel::bounded(1);
        let consumer = coordinator.clone();
        let total = sum.clone();
        ephemeral::runtime::Spawner::spawn(&rt, async move {
            let mut seen = 0;
            while let Some((_, result)) = consumer.next_result().await {
                total.fetch_add(result.unwrap(), Ordering::Relaxed);
                seen += 1;
            }
            let _ = done_tx.send(seen).await;
        });
        settle().await;
        within(LIMIT, async {
            // More than the capacity of 8: the consumer makes the room.
            for n in 1..=100 {
                coordinator.enqueue(n).await.unwrap();
            }
        })
        .await;
        coordinator.complete();
        assert_eq!(within(LIMIT, done_rx.recv()).await, Ok(100), "{}", E::NAME);
        assert_eq!(sum.load(Ordering::Relaxed), 5050, "{}", E::NAME);
    });
}

/// A body joining or consuming its own coordinator's unfinished results is refused
/// rather than left hanging: `join` answers `WouldDeadlock`, `next_result` answers at
/// once.
fn a_body_joining_its_own_unfinished_result_is_refused<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let slot: Own<ResultCoordinator<u32, u32, E::Rt, ()>> = Arc::default();
        let body_slot = slot.clone();
        let coordinator = Arc::new(
            ResultCoordinator::new(rt, Options::default().max_concurrency(1), move |n: u32, _: OpContext| {
                let slot = body_slot.clone();
                async move {
                    let me = own(&slot);
                    if n == 1 {
                        let later = me.try_enqueue(2).unwrap();
                        let answer = me.join(later).await;
                        assert!(
                            matches!(answer, Err(ResultError::WouldDeadlock(id)) if id == later),
                            "{answer:?}"
                        );
                        assert!(me.next_result().await.is_none());
                    }
                    Ok::<_, ()>(n * 10)
                }
            })
            .unwrap(),
        );
        slot.set(Arc::downgrade(&coordinator)).unwrap();
        let first = within(LIMIT, coordinator.enqueue(1)).await.unwrap();
        assert_eq!(within(LIMIT, coordinator.join(first)).await, Ok(10), "{}", E::NAME);
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert_eq!(coordinator.totals().completed, 2, "{}", E::NAME);
    });
}

on_every_executor!(
    a_result_is_kept_until_taken_even_after_the_window_evicts_it,
    a_full_results_store_holds_enqueue_back_until_a_result_is_taken,
    results_need_no_clone_and_carry_every_cause,
    results_come_out_in_finishing_order_and_the_stream_ends_after_the_last,
    a_waiting_consumer_sees_every_result_and_then_the_end,
    a_body_joining_its_own_unfinished_result_is_refused,
);
