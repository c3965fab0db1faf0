//! Completions in finishing order on every coordinator (IMPLEMENTATION.md, "Observing
//! completions"): each finished operation once, after the window shows it terminal,
//! with its state, cause and label; a bounded queue that tells a lagging consumer how
//! many it missed; the end once the coordinator is completed and the last was yielded.

use std::fmt::Write as _;
use std::io;
use std::sync::{Arc, Mutex};

use ephemeral::{
    CancelCause, Completion, Finished, KeyedWorkCoordinator, Label, Lane, OpContext, OperationId,
    Options, Outcome, PriorityWorkCoordinator, ResultCoordinator, State, WorkCoordinator,
};
use futures_lite::StreamExt;
use runtime_tests::{Executor, LIMIT, gate, on_every_executor, until, within};

/// The finished facts of a stream, failing on a `Lagged` one.
fn finished(items: Vec<Completion>) -> Vec<Finished> {
    items
        .into_iter()
        .map(|item| match item {
            Completion::Finished(done) => done,
            Completion::Lagged(n) => panic!("lagged {n} with room for all"),
        })
        .collect()
}

/// A success, an `io::Error` (read through `with`), a panic and a cancellation by
/// request come out in the order they finished (not enqueued), each with its state,
/// cause and label, in the order `on_finalized` saw them; then the stream ends.
fn completions_come_in_finishing_order_with_each_state_and_cause<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = gate();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let coordinator = WorkCoordinator::builder(rt, Options::default().max_concurrency(1))
            .completions(16)
            .describe(|n: &u32, label: &mut Label| {
                let _ = write!(label, "item {n}");
            })
            .on_finalized(move |snapshot| log.lock().unwrap().push(snapshot.id))
            .build(move |n: u32, _: OpContext| {
                let wait = wait.clone();
                async move {
                    match n {
                        1 => Err(io::Error::new(io::ErrorKind::NotFound, "no item 1")),
                        2 => panic!("item 2 panicked"),
                        3 => {
                            let _ = wait.recv().await;
                            Ok(())
                        }
                        _ => Ok(()),
                    }
                }
            })
            .unwrap();
        let ids: Vec<OperationId> = within(LIMIT, async {
            let mut ids = Vec::new();
            for n in 0..5 {
                ids.push(coordinator.enqueue(n).await.unwrap());
            }
            ids
        })
        .await;
        // 0, 1, 2 end; 3 holds the only permit, so 4 waits and is cancelled first.
        within(
            LIMIT,
            until(|| {
                let totals = coordinator.totals();
                totals.completed == 1 && totals.failed == 2 && coordinator.active_count() == 1
            }),
        )
        .await;
        coordinator.cancel_operation(ids[4]).unwrap();
        release.close();
        coordinator.complete();
        let done = finished(within(LIMIT, coordinator.finished_stream().collect()).await);
        let order: Vec<OperationId> = done.iter().map(|d| d.id).collect();
        assert_eq!(
            order,
            [ids[0], ids[1], ids[2], ids[4], ids[3]],
            "{}",
            E::NAME
        );
        assert_eq!(
            order,
            *seen.lock().unwrap(),
            "{}: on_finalized's order",
            E::NAME
        );
        let states: Vec<(State, Option<CancelCause>)> =
            done.iter().map(|d| (d.state, d.cause)).collect();
        assert_eq!(
            states,
            [
                (State::Completed, None),
                (State::Faulted, None),
                (State::Faulted, None),
                (State::Cancelled, Some(CancelCause::Requested)),
                (State::Completed, None),
            ],
            "{}",
            E::NAME
        );
        for (d, n) in done.iter().zip([0, 1, 2, 4, 3]) {
            assert_eq!(d.label, Label::new(&format!("item {n}")), "{}", E::NAME);
        }
        let error = coordinator.with(ids[1], |s| match s.outcome {
            Some(Outcome::Error(e)) => Some((e.kind(), e.to_string())),
            _ => None,
        });
        assert_eq!(
            error,
            Some(Some((io::ErrorKind::NotFound, "no item 1".to_string()))),
            "{}",
            E::NAME
        );
        let panicked = coordinator.with(ids[2], |s| match s.outcome {
            Some(Outcome::Panic(message)) => message.as_str() == "item 2 panicked",
            _ => false,
        });
        assert_eq!(panicked, Some(true), "{}", E::NAME);
        assert_eq!(within(LIMIT, coordinator.next_finished()).await, None);
    });
}

/// A consumer waiting before anything was enqueued is woken by each finish and by the
/// end: it sees every operation once, and its stream ends only after complete and the
/// last completion.
fn a_waiting_consumer_sees_every_completion_and_then_the_end<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = WorkCoordinator::builder(rt, Options::default().max_concurrency(3))
            .completions(100)
            .build(|n: u32, _: OpContext| async move {
                for _ in 0..(n % 7) {
                    futures_lite::future::yield_now().await;
                }
                Ok::<_, ()>(())
            })
            .unwrap();
        let consume = async {
            let done = finished(coordinator.finished_stream().collect().await);
            (done, coordinator.is_completed())
        };
        let produce = async {
            for n in 0..100 {
                coordinator.enqueue(n).await.unwrap();
            }
            coordinator.complete();
        };
        let ((done, completed), ()) =
            within(LIMIT, futures_lite::future::zip(consume, produce)).await;
        assert!(completed, "{}: ended only after complete", E::NAME);
        assert_eq!(done.len(), 100, "{}", E::NAME);
        let mut ids: Vec<OperationId> = done.iter().map(|d| d.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 100, "{}: each once", E::NAME);
        assert!(done.iter().all(|d| d.state == State::Completed));
    });
}

/// A consumer that reads nothing while 20 operations finish into a queue of 4 is told
/// first that it missed 16, then gets the last four in finishing order, then the end.
fn a_lagging_consumer_is_told_how_many_it_missed<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        // One worker, so the order `on_finalized` sees is the order pushed.
        let coordinator = WorkCoordinator::builder(rt, Options::default().max_concurrency(1))
            .completions(4)
            .on_finalized(move |snapshot| log.lock().unwrap().push(snapshot.id))
            .build(|_: u32, _: OpContext| async { Ok::<_, ()>(()) })
            .unwrap();
        within(LIMIT, async {
            for n in 0..20 {
                coordinator.enqueue(n).await.unwrap();
            }
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        let items: Vec<Completion> = within(LIMIT, coordinator.finished_stream().collect()).await;
        assert_eq!(items[0], Completion::Lagged(16), "{}", E::NAME);
        let last: Vec<OperationId> = finished(items[1..].to_vec()).iter().map(|d| d.id).collect();
        assert_eq!(last, seen.lock().unwrap()[16..], "{}", E::NAME);
        assert_eq!(
            coordinator.totals().completed,
            20,
            "{}: nothing lost but the facts",
            E::NAME
        );
    });
}

/// A stream dropped after two items leaves the coordinator running every item, and a
/// later stream goes on with the rest.
fn dropping_the_stream_midway_leaves_the_coordinator_working<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = WorkCoordinator::builder(rt, Options::default().max_concurrency(2))
            .completions(64)
            .build(|_: u32, _: OpContext| async { Ok::<_, ()>(()) })
            .unwrap();
        within(LIMIT, async {
            for n in 0..10 {
                coordinator.enqueue(n).await.unwrap();
            }
        })
        .await;
        let first: Vec<Completion> =
            within(LIMIT, coordinator.finished_stream().take(2).collect()).await;
        assert_eq!(first.len(), 2, "{}", E::NAME);
        within(LIMIT, async {
            for n in 10..20 {
                coordinator.enqueue(n).await.unwrap();
            }
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert_eq!(coordinator.totals().completed, 20, "{}", E::NAME);
        let rest = finished(within(LIMIT, coordinator.finished_stream().collect()).await);
        assert_eq!(rest.len(), 18, "{}", E::NAME);
    });
}

/// The keyed, priority and result coordinators report their completions the same way,
/// and a coordinator built without the option has an empty stream.
fn every_coordinator_reports_its_completions<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let keyed = KeyedWorkCoordinator::builder(rt.clone(), |n: &u32| n % 3, Options::default())
            .completions(8)
            .build(|_: u32, _: OpContext| async { Ok::<_, ()>(()) })
            .unwrap();
        let priority =
            PriorityWorkCoordinator::builder(rt.clone(), [Lane::new("high")], Options::default())
                .completions(8)
                .build(|_: u32, _: OpContext| async { Ok::<_, ()>(()) })
                .unwrap();
        let results = ResultCoordinator::builder(rt.clone(), Options::default())
            .completions(8)
            .build(|n: u32, _: OpContext| async move { Ok::<_, ()>(n) })
            .unwrap();
        let plain = WorkCoordinator::new(rt, Options::default(), |_: u32, _: OpContext| async {
            Ok::<_, ()>(())
        })
        .unwrap();
        let high = priority.lane("high").unwrap();
        within(LIMIT, async {
            for n in 0..6 {
                keyed.enqueue(n).await.unwrap();
                priority.enqueue(n, high).await.unwrap();
                results.enqueue(n).await.unwrap();
                plain.enqueue(n).await.unwrap();
            }
        })
        .await;
        keyed.complete();
        priority.complete();
        results.complete();
        plain.complete();
        let counts = within(LIMIT, async {
            [
                finished(keyed.finished_stream().collect().await).len(),
                finished(priority.finished_stream().collect().await).len(),
                finished(results.finished_stream().collect().await).len(),
                plain.finished_stream().count().await,
            ]
        })
        .await;
        assert_eq!(counts, [6, 6, 6, 0], "{}", E::NAME);
        // Results are still there to take: the facts take nothing.
        assert_eq!(within(LIMIT, results.result_stream().count()).await, 6);
    });
}

/// `cancel` reports every operation it ends, running or queued, with
/// `CancelCause::Coordinator`, and an `on_finalized` that panics on each loses none.
fn cancel_reports_each_operation_with_its_cause_despite_a_panicking_callback<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = WorkCoordinator::builder(rt, Options::default().max_concurrency(2))
            .completions(16)
            .on_finalized(|_| panic!("the callback panics"))
            // Never ends by itself (awaiting `ctx.cancelled()` would let a body return,
            // and complete, before the worker drops it).
            .build(|_: u32, _: OpContext| async move {
                futures_lite::future::pending::<()>().await;
                Ok::<_, ()>(())
            })
            .unwrap();
        within(LIMIT, async {
            for n in 0..6 {
                coordinator.enqueue(n).await.unwrap();
            }
        })
        .await;
        within(LIMIT, until(|| coordinator.active_count() == 2)).await;
        coordinator.cancel();
        let done = finished(within(LIMIT, coordinator.finished_stream().collect()).await);
        assert_eq!(done.len(), 6, "{}", E::NAME);
        assert!(
            done.iter()
                .all(|d| d.state == State::Cancelled && d.cause == Some(CancelCause::Coordinator)),
            "{}: {done:?}",
            E::NAME
        );
        assert_eq!(coordinator.totals().contained_panics, 6, "{}", E::NAME);
    });
}

/// A body asking for its own coordinator's next completion is answered at once (a
/// finished one, or `None`), never left waiting for itself.
fn a_body_asking_for_completions_is_answered_at_once<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = WorkCoordinator::builder(rt, Options::default().max_concurrency(1))
            .completions(4)
            .build_with(|own| {
                move |_: u32, _: OpContext| {
                    let own = own.clone();
                    async move {
                        if let Some(coordinator) = own.upgrade() {
                            coordinator.complete();
                            let _ = coordinator.next_finished().await;
                        }
                        Ok::<_, ()>(())
                    }
                }
            })
            .unwrap();
        within(LIMIT, coordinator.enqueue(1)).await.unwrap();
        let done = finished(within(LIMIT, coordinator.finished_stream().collect()).await);
        assert_eq!(done.len(), 1, "{}", E::NAME);
        assert_eq!(done[0].state, State::Completed, "{}", E::NAME);
    });
}

on_every_executor!(
    completions_come_in_finishing_order_with_each_state_and_cause,
    a_waiting_consumer_sees_every_completion_and_then_the_end,
    a_lagging_consumer_is_told_how_many_it_missed,
    dropping_the_stream_midway_leaves_the_coordinator_working,
    every_coordinator_reports_its_completions,
    cancel_reports_each_operation_with_its_cause_despite_a_panicking_callback,
    a_body_asking_for_completions_is_answered_at_once,
);
