//! The ResultCoordinator suite (IMPLEMENTATION.md C2, C4 and C10 for values: waiting,
//! taking and listing results), run on smol, tokio (multi-thread), async-std and a
//! single thread.

use core::future::Future;
use core::pin::Pin;
use core::task::Poll;
use core::time::Duration;
use std::sync::Arc;

use ephemeral::runtime::Spawner;
use ephemeral::{CancelCause, OpContext, OperationId, Options, ResultCoordinator, ResultError};
use runtime_tests::{Executor, LIMIT, gate, on_every_executor, settle, until, within};

/// Polls every future in one task until all are done; their outputs, in order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    core::future::poll_fn(move |cx| {
        let mut done = true;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => done = false,
                }
            }
        }
        if done {
            Poll::Ready(outputs.iter_mut().map(|o| o.take().unwrap()).collect())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// An id's slot index and generation, as `OperationId` documents its packing.
fn parts(id: OperationId) -> (u32, u32) {
    (id.as_u128() as u32, (id.as_u128() >> 32) as u32)
}

/// A waiter that calls `wait_for_result` before the body has finished sleeps until it
/// does and resolves with the value: one waiter in another task, one in the test's own.
fn waiting_before_completion_resolves_with_the_value<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = gate();
        let coordinator = Arc::new(
            ResultCoordinator::new(
                rt.clone(),
                Options::default().max_concurrency(1),
                move |n: u64, _: OpContext| {
                    let wait = wait.clone();
                    async move {
                        let _ = wait.recv().await;
                        Ok::<_, ()>(n * 7)
                    }
                },
            )
            .unwrap(),
        );
        let id = within(LIMIT, coordinator.enqueue(6)).await.unwrap();
        let (tx, rx) = smol::channel::bounded(1);
        let waiter = coordinator.clone();
        rt.spawn(async move {
            let _ = tx.send(waiter.wait_for_result(id).await).await;
        });
        let mut here = std::pin::pin!(coordinator.wait_for_result(id));
        assert!(
            futures_lite::future::poll_once(here.as_mut())
                .await
                .is_none(),
            "{}: the body has not finished",
            E::NAME
        );
        within(LIMIT, until(|| coordinator.active_count() == 1)).await;
        settle().await;
        assert!(
            rx.is_empty(),
            "{}: the other task's wait resolved early",
            E::NAME
        );
        assert_eq!(
            coordinator.take_result(id),
            Err(ResultError::NotFinished(id))
        );
        release.send(()).await.unwrap();
        assert_eq!(within(LIMIT, here).await, Ok(42), "{}", E::NAME);
        assert_eq!(
            within(LIMIT, rx.recv()).await.unwrap(),
            Ok(42),
            "{}",
            E::NAME
        );
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
    });
}

/// After completion, `wait_for_result` answers at once: the value, the body's error as
/// `Failed(e)`, a panic as `Panicked` with its message, and a cancelled operation as
/// `Cancelled` with its cause (a `cancel_on` signal, or the coordinator's `cancel`).
fn waiting_after_completion_answers_at_once<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = ResultCoordinator::new(
            rt.clone(),
            Options::default().max_concurrency(2).cancel_on("stop"),
            |n: i64, _: OpContext| async move {
                if n == 13 {
                    panic!("unlucky {n}");
                }
                if n < 0 {
                    Err(format!("negative {n}"))
                } else {
                    Ok(n * 2)
                }
            },
        )
        .unwrap();
        let (ok, err, panicked) = within(LIMIT, async {
            let ok = coordinator.enqueue(21).await.unwrap();
            let err = coordinator.enqueue(-1).await.unwrap();
            let panicked = coordinator.enqueue(13).await.unwrap();
            coordinator.drain().await;
            (ok, err, panicked)
        })
        .await;
        // Finished: each answer is ready on the first poll.
        let now = |id| futures_lite::future::poll_once(coordinator.wait_for_result(id));
        assert_eq!(now(ok).await, Some(Ok(42)), "{}", E::NAME);
        assert_eq!(
            now(ok).await,
            Some(Ok(42)),
            "waiting leaves the value in place"
        );
        assert_eq!(
            now(err).await,
            Some(Err(ResultError::Failed("negative -1".to_string())))
        );
        match now(panicked).await {
            Some(Err(ResultError::Panicked(message))) => {
                assert_eq!(message.as_str(), "unlucky 13", "{}", E::NAME)
            }
            other => panic!("{}: expected Panicked, got {other:?}", E::NAME),
        }

        let stop = coordinator.signals().raise("stop").unwrap();
        let shed = within(LIMIT, async {
            let shed = coordinator.enqueue(5).await.unwrap();
            coordinator.drain().await;
            shed
        })
        .await;
        assert_eq!(
            now(shed).await,
            Some(Err(ResultError::Cancelled(CancelCause::Signal(stop)))),
            "{}",
            E::NAME
        );
        assert_eq!(
            coordinator.take_result(shed),
            Err(ResultError::Cancelled(CancelCause::Signal(stop)))
        );
        let totals = coordinator.totals();
        assert_eq!(
            (totals.completed, totals.failed, totals.cancelled),
            (1, 2, 1)
        );

        // A coordinator cancelled with a body running and one queued.
        let blocked = ResultCoordinator::new(
            rt,
            Options::default().max_concurrency(1),
            |_: u8, _: OpContext| futures_lite::future::pending::<Result<u8, ()>>(),
        )
        .unwrap();
        let (running, queued) = within(LIMIT, async {
            let running = blocked.enqueue(1).await.unwrap();
            let queued = blocked.enqueue(2).await.unwrap();
            until(|| blocked.active_count() == 1).await;
            (running, queued)
        })
        .await;
        let mut waiting = std::pin::pin!(blocked.wait_for_result(running));
        assert!(
            futures_lite::future::poll_once(waiting.as_mut())
                .await
                .is_none()
        );
        blocked.cancel();
        assert_eq!(
            within(LIMIT, waiting).await,
            Err(ResultError::Cancelled(CancelCause::Coordinator)),
            "{}",
            E::NAME
        );
        within(LIMIT, blocked.drain()).await;
        assert_eq!(
            within(LIMIT, blocked.wait_for_result(queued)).await,
            Err(ResultError::Cancelled(CancelCause::Coordinator))
        );
    });
}

/// C10 and C13 for results: `take_result` moves the value out once (then `Taken`), answers
/// `NotFinished` before completion; a result not taken is kept after its operation left
/// the window; `Unknown` answers for an id taken and then evicted, and for ids this
/// coordinator never issued (another coordinator's, with a slot index beyond this window
/// or a generation this slot does not have); `wait_for_result` answers `Unknown` for
/// those at once instead of waiting.
fn take_result_moves_the_value_out_once<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let options = Options::default()
            .max_concurrency(1)
            .queue_capacity(4)
            .max_tracked(2);
        let (release, wait) = gate();
        let coordinator =
            ResultCoordinator::new(rt.clone(), options.clone(), move |n: u32, _: OpContext| {
                let wait = wait.clone();
                async move {
                    if n == 0 {
                        let _ = wait.recv().await;
                    }
                    Ok::<_, ()>(format!("value {n}"))
                }
            })
            .unwrap();
        let first = within(LIMIT, coordinator.enqueue(0)).await.unwrap();
        assert_eq!(
            coordinator.take_result(first),
            Err(ResultError::NotFinished(first)),
            "{}",
            E::NAME
        );
        release.close();
        assert_eq!(
            within(LIMIT, coordinator.wait_for_result(first)).await,
            Ok("value 0".to_string())
        );
        assert_eq!(coordinator.take_result(first), Ok("value 0".to_string()));
        assert_eq!(
            coordinator.take_result(first),
            Err(ResultError::Taken(first))
        );
        assert_eq!(
            within(LIMIT, coordinator.wait_for_result(first)).await,
            Err(ResultError::Taken(first)),
            "{}",
            E::NAME
        );

        // Evicted from the window of 2 by later completions: a taken result is unknown
        // then, and results not taken are still kept.
        let mut later = Vec::new();
        within(LIMIT, async {
            for n in 1..=4 {
                let id = coordinator.enqueue(n).await.unwrap();
                coordinator.wait_for_result(id).await.unwrap();
                later.push(id);
            }
        })
        .await;
        assert_eq!(
            coordinator.take_result(first),
            Err(ResultError::Unknown(first))
        );
        assert!(
            coordinator.get(later[0]).is_none(),
            "evicted from the window"
        );
        assert_eq!(coordinator.take_result(later[0]), Ok("value 1".to_string()));
        assert_eq!(
            within(LIMIT, coordinator.wait_for_result(later[1])).await,
            Ok("value 2".to_string()),
            "{}",
            E::NAME
        );
        assert_eq!(coordinator.take_result(later[3]), Ok("value 4".to_string()));

        // Never issued here: an id from a larger coordinator, beyond this window's slots.
        let slots = options.slot_capacity().unwrap() as u32;
        let (hold, held) = gate();
        let large = ResultCoordinator::new(
            rt.clone(),
            Options::default().max_concurrency(1),
            move |n: u32, _: OpContext| {
                let held = held.clone();
                async move {
                    let _ = held.recv().await;
                    Ok::<_, ()>(format!("other {n}"))
                }
            },
        )
        .unwrap();
        let foreign = within(LIMIT, async {
            let mut id = large.enqueue(0).await.unwrap();
            for n in 1..=slots {
                id = large.enqueue(n).await.unwrap();
            }
            id
        })
        .await;
        assert!(parts(foreign).0 >= slots, "{:?} is out of range", foreign);
        assert_eq!(
            coordinator.take_result(foreign),
            Err(ResultError::Unknown(foreign))
        );
        assert_eq!(
            within(LIMIT, coordinator.wait_for_result(foreign)).await,
            Err(ResultError::Unknown(foreign)),
            "{}",
            E::NAME
        );
        hold.close();
        large.complete();
        within(LIMIT, large.drain()).await;

        // Never issued here: another coordinator's id naming a slot this window holds a
        // live operation in, under a different generation.
        let live: Vec<(u32, u32)> = coordinator
            .results()
            .iter()
            .map(|(id, _)| parts(*id))
            .collect();
        assert!(!live.is_empty());
        let twin = ResultCoordinator::new(rt, options, |n: u32, _: OpContext| async move {
            Ok::<_, ()>(format!("twin {n}"))
        })
        .unwrap();
        let stranger = within(LIMIT, async {
            for n in 0..1000 {
                let id = twin.enqueue(n).await.unwrap();
                twin.join(id).await.unwrap();
                let (index, generation) = parts(id);
                if live.iter().any(|&(i, g)| i == index && g != generation) {
                    return id;
                }
            }
            panic!("no id sharing a live slot index under another generation")
        })
        .await;
        assert_eq!(
            coordinator.take_result(stranger),
            Err(ResultError::Unknown(stranger)),
            "{}",
            E::NAME
        );
        assert_eq!(
            within(LIMIT, coordinator.wait_for_result(stranger)).await,
            Err(ResultError::Unknown(stranger))
        );
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
    });
}

/// Many waiters on many ids: 200 operations, each awaited by one future joined in the
/// test's task and one waiter task, all registered before any body finishes; every
/// wait resolves with its own operation's value.
fn many_waiters_on_many_ids_all_resolve<E: Executor>(exec: E) {
    const ITEMS: u64 = 200;
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = gate();
        let timer = rt.clone();
        let coordinator = Arc::new(
            ResultCoordinator::new(
                rt.clone(),
                Options::default().max_concurrency(4).max_tracked(256),
                move |n: u64, _: OpContext| {
                    let (wait, timer) = (wait.clone(), timer.clone());
                    async move {
                        let _ = wait.recv().await;
                        if n.is_multiple_of(3) {
                            ephemeral::runtime::Timer::sleep(&timer, Duration::from_micros(n * 5))
                                .await;
                        }
                        Ok::<_, ()>(n * 3 + 1)
                    }
                },
            )
            .unwrap(),
        );
        let ids = within(LIMIT, async {
            let mut ids = Vec::new();
            for n in 0..ITEMS {
                ids.push(coordinator.enqueue(n).await.unwrap());
            }
            ids
        })
        .await;
        let (tx, rx) = smol::channel::unbounded();
        for (n, &id) in ids.iter().enumerate() {
            let (waiter, tx) = (coordinator.clone(), tx.clone());
            rt.spawn(async move {
                let _ = tx.send((n as u64, waiter.wait_for_result(id).await)).await;
            });
        }
        drop(tx);
        let mut joined = std::pin::pin!(join_all(
            ids.iter()
                .map(|&id| coordinator.wait_for_result(id))
                .collect()
        ));
        assert!(
            futures_lite::future::poll_once(joined.as_mut())
                .await
                .is_none(),
            "{}: nothing has finished",
            E::NAME
        );
        release.close();
        let values = within(LIMIT, joined).await;
        assert_eq!(values.len(), ITEMS as usize);
        for (n, value) in values.into_iter().enumerate() {
            assert_eq!(
                value,
                Ok(n as u64 * 3 + 1),
                "{}: joined waiter {n}",
                E::NAME
            );
        }
        let from_tasks = within(LIMIT, async {
            let mut seen = Vec::new();
            while let Ok(answer) = rx.recv().await {
                seen.push(answer);
            }
            seen
        })
        .await;
        assert_eq!(from_tasks.len(), ITEMS as usize, "{}", E::NAME);
        for (n, answer) in from_tasks {
            assert_eq!(answer, Ok(n * 3 + 1), "{}: waiter task {n}", E::NAME);
        }
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert_eq!(coordinator.totals().completed, ITEMS);
    });
}

/// `results()` lists every result held with its value or error, and `successful()` the
/// values, both in finishing order; operations evicted from the window keep their
/// results there, and a taken result leaves both.
fn results_and_successful_list_held_results_in_finishing_order<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = ResultCoordinator::new(
            rt,
            // One at a time, so finishing order is enqueue order.
            Options::default().max_concurrency(1).max_tracked(6),
            |n: u32, _: OpContext| async move {
                futures_lite::future::yield_now().await;
                if n % 3 == 2 { Err(n) } else { Ok(n * 10) }
            },
        )
        .unwrap();
        let ids = within(LIMIT, async {
            let mut ids = Vec::new();
            for n in 0..10 {
                ids.push(coordinator.enqueue(n).await.unwrap());
            }
            coordinator.complete();
            coordinator.drain().await;
            ids
        })
        .await;
        assert!(
            coordinator.get(ids[0]).is_none(),
            "evicted from the window of 6"
        );
        let expected: Vec<(OperationId, Result<u32, ResultError<u32>>)> = (0..10)
            .map(|n| {
                let answer = if n % 3 == 2 {
                    Err(ResultError::Failed(n))
                } else {
                    Ok(n * 10)
                };
                (ids[n as usize], answer)
            })
            .collect();
        assert_eq!(coordinator.results(), expected, "{}", E::NAME);
        let values = |taken: Option<u32>| -> Vec<(OperationId, u32)> {
            (0..10)
                .filter(|n| n % 3 != 2 && Some(*n) != taken)
                .map(|n| (ids[n as usize], n * 10))
                .collect()
        };
        assert_eq!(coordinator.successful(), values(None), "{}", E::NAME);

        assert_eq!(coordinator.take_result(ids[6]), Ok(60));
        assert_eq!(coordinator.successful(), values(Some(6)), "{}", E::NAME);
        let results = coordinator.results();
        assert!(results.iter().all(|(id, _)| *id != ids[6]));
        assert_eq!(results.len(), 9);
    });
}

on_every_executor!(
    waiting_before_completion_resolves_with_the_value,
    waiting_after_completion_answers_at_once,
    take_result_moves_the_value_out_once,
    many_waiters_on_many_ids_all_resolve,
    results_and_successful_list_held_results_in_finishing_order,
);
