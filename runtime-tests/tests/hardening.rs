//! Hardening regressions for the coordinators (IMPLEMENTATION.md C2, C3, C5, C7, C11,
//! C12, C13): user code that panics, calls back in or goes away never wedges a
//! coordinator; pause, limits and room are honoured in order; ids and counts answer
//! truthfully. Each scenario failed (or hung) before its fix; hangs are bounded by a
//! timeout, and the scenarios whose failure left work a drop would panic on avoid that,
//! so a failure is reported rather than aborting the run.

use core::time::Duration;
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use ephemeral::runtime::{Smol, Spawner, Timer, Tokio};
use ephemeral::signal::SignalSink;
use ephemeral::{
    KeyedWorkCoordinator, Lane, OpContext, OperationId, Options, PriorityWorkCoordinator,
    ResultCoordinator, ResultError, State, WorkCoordinator, for_each,
};
use futures_lite::future::{block_on, yield_now};
use runtime_tests::{
    Executor, LIMIT, Own, assert_totals_add_up, finishes_within, gate, nap, on_every_executor, own,
    within,
};

/// For what used to hang (`LIMIT` is for what must finish in any case): long enough for
/// any healthy run, short enough to fail fast.
const PROMPT: Duration = Duration::from_secs(3);

/// Waits until `done()` holds, looking every millisecond (the caller bounds the wait).
/// Unlike the suite's shared `runtime_tests::until`, which yields between looks, this
/// sleeps.
async fn until(done: impl Fn() -> bool) {
    while !done() {
        nap(Duration::from_millis(1)).await;
    }
}

/// Time is added with saturation: with `max_operation_lifetime(Duration::MAX)` (which
/// validates) a queued item is cancelled on drop without a panic, and items finish and
/// `drain` returns. `now + lifetime` used to panic: inside `Drop`, and on the worker
/// after it published the outcome, so `drain` never returned.
fn the_longest_lifetime_neither_kills_a_worker_nor_panics_on_drop<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let options = Options::default()
            .max_concurrency(1)
            .queue_capacity(4)
            .max_operation_lifetime(Duration::MAX);
        // Paused, so the item stays queued and the drop cancels it.
        let queued =
            WorkCoordinator::new(rt.clone(), options.clone(), |_: u32, _: OpContext| async {})
                .unwrap();
        queued.pause();
        queued.try_enqueue(1).unwrap();
        let dropped = catch_unwind(AssertUnwindSafe(|| drop(queued))).is_ok();

        let coordinator = WorkCoordinator::new(rt, options, |_: u32, _: OpContext| async {
            yield_now().await
        })
        .unwrap();
        coordinator.try_enqueue(1).unwrap();
        coordinator.complete();
        let drained = finishes_within(PROMPT, coordinator.drain()).await.is_some();
        assert!(
            dropped,
            "{}: dropping a coordinator with a queued item panicked",
            E::NAME
        );
        assert!(drained, "{}: drain did not return", E::NAME);
        assert_eq!(coordinator.totals().completed, 1, "{}", E::NAME);
    });
}

/// Every terminal operation is reported to `on_finalized` exactly once, with its
/// snapshot, even when the window is tiny and operations expire at once. The report
/// used to look the operation up after placing it, when it could already be gone.
fn every_finished_operation_is_reported_once<E: Executor>(exec: E) {
    const ITEMS: u32 = 2_000;
    let rt = exec.rt();
    exec.block_on(async move {
        let reports: Arc<Mutex<Vec<(OperationId, State)>>> = Arc::default();
        let log = reports.clone();
        let coordinator = WorkCoordinator::<u32, _, u32>::builder(
            rt,
            Options::default()
                .max_concurrency(4)
                .queue_capacity(16)
                .max_tracked(1)
                .max_operation_lifetime(Duration::from_nanos(1)),
        )
        .on_finalized(move |snapshot| log.lock().unwrap().push((snapshot.id, snapshot.state)))
        .build(|n: u32, _: OpContext| async move {
            yield_now().await;
            if n.is_multiple_of(3) { Err(n) } else { Ok(()) }
        })
        .unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(0..ITEMS).await.unwrap();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        let reports = reports.lock().unwrap();
        let distinct: HashSet<OperationId> = reports.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            reports.len(),
            ITEMS as usize,
            "{}: on_finalized calls for {ITEMS} operations",
            E::NAME
        );
        assert_eq!(
            distinct.len(),
            reports.len(),
            "{}: an operation reported twice",
            E::NAME
        );
        assert!(reports.iter().all(|(_, state)| state.is_finished()));
    });
}

/// A visitor that panics leaves no reader behind: the operations it was reading still
/// leave the window and their slots are reused. Each panic used to pin its slot for
/// good, until `enqueue` waited forever for a slot.
fn a_panicking_visitor_does_not_keep_its_slot<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        // 1 queued + 1 running + 1 in the window + 0 pins = 3 slots.
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default()
                .max_concurrency(1)
                .queue_capacity(1)
                .max_tracked(1)
                .pin_budget(0),
            |_: u32, _: OpContext| async {},
        )
        .unwrap();
        let mut panics = 0;
        for n in 0..3 {
            within(LIMIT, async {
                coordinator.enqueue(n).await.unwrap();
                until(|| coordinator.totals().completed == u64::from(n) + 1).await;
            })
            .await;
            // Whether the panic comes back out does not matter; that the visit ran does.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                coordinator.visit(|_| {
                    panics += 1;
                    panic!("a visitor panicked");
                });
            }));
        }
        assert_eq!(
            panics,
            3,
            "{}: the visitor saw the finished operation",
            E::NAME
        );
        let went_on = finishes_within(PROMPT, async {
            for n in 3..6 {
                coordinator.enqueue(n).await.unwrap();
            }
            coordinator.complete();
            coordinator.drain().await;
        })
        .await
        .is_some();
        assert!(
            went_on,
            "{}: after three panicking visits no slot was ever free again",
            E::NAME
        );
        assert_eq!(coordinator.totals().completed, 6);
    });
}

/// A panicking `on_finalized` is contained: the worker lives on, the next item runs
/// and `drain` returns. The panic used to kill the worker between releasing its permit
/// and settling the item, so with one worker nothing ran again and `drain` hung.
fn a_panicking_on_finalized_does_not_wedge_the_coordinator<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let first = Arc::new(AtomicBool::new(true));
        let coordinator = WorkCoordinator::<u32, _>::builder(
            rt,
            Options::default().max_concurrency(1).queue_capacity(4),
        )
        .on_finalized(move |snapshot| {
            // Only the first to complete: a cancel on drop must not panic again.
            if snapshot.state == State::Completed && first.swap(false, SeqCst) {
                panic!("on_finalized panicked");
            }
        })
        .build(|_: u32, _: OpContext| async { yield_now().await })
        .unwrap();
        coordinator.enqueue(0).await.unwrap();
        coordinator.enqueue(1).await.unwrap();
        coordinator.complete();
        let drained = finishes_within(PROMPT, coordinator.drain()).await.is_some();
        assert!(
            drained,
            "{}: drain hung after on_finalized panicked",
            E::NAME
        );
        assert_eq!(
            coordinator.totals().completed,
            2,
            "{}: the item after the panic ran",
            E::NAME
        );
    });
}

/// An item key whose `Clone` panics for key 13.
#[derive(PartialEq, Eq, Hash, Debug)]
struct Touchy(u32);

impl Clone for Touchy {
    fn clone(&self) -> Self {
        assert!(self.0 != 13, "key 13 refuses to be cloned");
        Touchy(self.0)
    }
}

/// A key whose `Clone` panics leaks nothing in the keyed coordinator: no in-flight
/// count, pending slot or key entry stays behind, so `drain` returns and the counts
/// add up. The panic used to unwind from under the scheduler's lock, leaving all three.
fn a_key_that_panics_when_cloned_leaks_nothing<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = KeyedWorkCoordinator::new(
            rt,
            |n: &u32| Touchy(*n),
            Options::default().max_concurrency(2).queue_capacity(8),
            |_: u32, _: OpContext| async { yield_now().await },
        )
        .unwrap();
        within(LIMIT, coordinator.enqueue(1)).await.unwrap();
        // Refused or accepted, it may panic: only what it leaves behind matters.
        let _ = catch_unwind(AssertUnwindSafe(|| coordinator.try_enqueue(13)));
        within(LIMIT, coordinator.enqueue(2)).await.unwrap();
        coordinator.complete();
        let drained = finishes_within(PROMPT, coordinator.drain()).await.is_some();
        let totals = coordinator.totals();
        assert!(
            drained,
            "{}: drain hung after a key's Clone panicked",
            E::NAME
        );
        assert_totals_add_up(&totals, E::NAME);
        assert_eq!(coordinator.pending_count(), 0, "{}", E::NAME);
        assert_eq!(
            coordinator.active_keys(),
            0,
            "{}: a key entry leaked",
            E::NAME
        );
    });
}

/// A body awaiting `enqueue` into its own full coordinator (one worker, queue of one)
/// gets an error back promptly, and `drain` then returns. It used to wait for room only
/// its own worker could make.
fn a_body_enqueueing_into_its_own_full_coordinator_is_refused<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let slot: Own<WorkCoordinator<u32, E::Rt>> = Arc::default();
        let (go, wait) = gate();
        let (answer_tx, answer) = smol::channel::unbounded::<bool>();
        let body_slot = slot.clone();
        let coordinator = Arc::new(
            WorkCoordinator::new(
                rt,
                Options::default().max_concurrency(1).queue_capacity(1),
                move |n: u32, _: OpContext| {
                    let (slot, wait, answer) = (body_slot.clone(), wait.clone(), answer_tx.clone());
                    async move {
                        if n == 0 {
                            let _ = wait.recv().await;
                            let refused = own(&slot).enqueue(100).await.is_err();
                            let _ = answer.send(refused).await;
                        }
                    }
                },
            )
            .unwrap(),
        );
        let _ = slot.set(Arc::downgrade(&coordinator));
        within(LIMIT, async {
            coordinator.enqueue(0).await.unwrap();
            until(|| coordinator.active_count() == 1).await;
            // The queue is full now: only the busy worker could make room.
            coordinator.enqueue(1).await.unwrap();
        })
        .await;
        go.send(()).await.unwrap();
        let refused = finishes_within(PROMPT, answer.recv()).await;
        assert_eq!(
            refused,
            Some(Ok(true)),
            "{}: the body's enqueue into its own full coordinator did not come back with an error",
            E::NAME
        );
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
    });
}

/// A body awaiting its own coordinator's `drain` does not hang the coordinator: the
/// body may fail, but `drain` from outside returns. It used to wait for itself.
fn a_body_draining_its_own_coordinator_does_not_hang_it<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let slot: Own<WorkCoordinator<u32, E::Rt>> = Arc::default();
        let body_slot = slot.clone();
        let coordinator = Arc::new(
            WorkCoordinator::new(
                rt,
                Options::default().max_concurrency(1).queue_capacity(4),
                move |_: u32, _: OpContext| {
                    let slot = body_slot.clone();
                    async move { own(&slot).drain().await }
                },
            )
            .unwrap(),
        );
        let _ = slot.set(Arc::downgrade(&coordinator));
        coordinator.enqueue(0).await.unwrap();
        coordinator.complete();
        let drained = finishes_within(PROMPT, coordinator.drain()).await.is_some();
        assert!(
            drained,
            "{}: a body draining its own coordinator hung it",
            E::NAME
        );
        let totals = coordinator.totals();
        assert_eq!(
            totals.completed + totals.failed + totals.cancelled,
            1,
            "{}",
            E::NAME
        );
    });
}

/// A sync listener that panics loses only its own call: a coordinator's `drain_on`
/// listener subscribed after it still closes the coordinator, and a body's raise still
/// reaches `on_signal`. The panic used to skip every later listener and callback.
fn a_panicking_listener_does_not_skip_the_others<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let sink = SignalSink::new();
        let _bad = sink.subscribe(|_| panic!("a listener panicked")).unwrap();
        let reported = Arc::new(AtomicUsize::new(0));
        let count = reported.clone();
        let coordinator = WorkCoordinator::<u32, _>::builder(
            rt,
            Options::default().signals(sink.clone()).drain_on("stop"),
        )
        .on_signal(move |_| {
            count.fetch_add(1, SeqCst);
        })
        .build(|_: u32, ctx: OpContext| async move {
            let _ = ctx.signal("note");
        })
        .unwrap();
        coordinator.enqueue(1).await.unwrap();
        within(
            LIMIT,
            until(|| {
                let t = coordinator.totals();
                t.completed + t.failed == 1
            }),
        )
        .await;
        let _ = catch_unwind(AssertUnwindSafe(|| sink.raise("stop")));
        let closed = coordinator.is_completed();
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert!(
            closed,
            "{}: the drain_on listener after a panicking one was skipped",
            E::NAME
        );
        assert_eq!(
            reported.load(SeqCst),
            1,
            "{}: on_signal missed the body's raise",
            E::NAME
        );
    });
}

/// Dropping a coordinator fed by a stream that never yields frees it: the feeder ends
/// too. The feeder used to hold the coordinator across a `next()` that never returned.
fn dropping_a_stream_fed_coordinator_frees_it<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let token = Arc::new(());
        let coordinator = WorkCoordinator::from_stream(
            rt,
            futures_lite::stream::pending::<Arc<()>>(),
            Options::default(),
            |token: Arc<()>, _: OpContext| async move { Err::<(), _>(token) },
        )
        .unwrap();
        // The failed operation keeps its error, a clone of the token, in the window.
        coordinator.try_enqueue(token.clone()).unwrap();
        within(LIMIT, until(|| coordinator.totals().failed == 1)).await;
        assert_eq!(Arc::strong_count(&token), 2, "{}", E::NAME);
        drop(coordinator);
        let freed = finishes_within(PROMPT, until(|| Arc::strong_count(&token) == 1))
            .await
            .is_some();
        assert!(
            freed,
            "{}: the dropped coordinator (and its window) was never freed",
            E::NAME
        );
    });
}

/// `pause` holds an item a worker already took and a `defer_on` signal deferred: once
/// the signal is retracted it still waits for `resume`. It used to start while paused.
fn pause_holds_an_item_deferred_by_a_signal<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let started = Arc::new(AtomicUsize::new(0));
        let count = started.clone();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default()
                .max_concurrency(1)
                .defer_on("busy")
                .max_defer(Duration::from_secs(100)),
            move |_: u32, _: OpContext| {
                count.fetch_add(1, SeqCst);
                async {}
            },
        )
        .unwrap();
        coordinator.signals().raise("busy").unwrap();
        coordinator.enqueue(1).await.unwrap();
        within(LIMIT, until(|| coordinator.deferred_count() == 1)).await;
        coordinator.pause();
        coordinator.signals().retract("busy");
        nap(Duration::from_millis(300)).await;
        let while_paused = started.load(SeqCst);
        coordinator.resume();
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert_eq!(while_paused, 0, "{}: a body started while paused", E::NAME);
        assert_eq!(started.load(SeqCst), 1, "{}", E::NAME);
    });
}

/// `pause` holds an item a worker already took while it waited for a concurrency
/// permit: the permit freeing up does not start it. It used to start while paused.
fn pause_holds_an_item_waiting_for_a_permit<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let started = Arc::new(AtomicUsize::new(0));
        let count = started.clone();
        let (release, wait) = gate();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default()
                .max_concurrency(1)
                .concurrency_ceiling(2)
                .queue_capacity(4),
            move |n: u32, _: OpContext| {
                count.fetch_add(1, SeqCst);
                let wait = wait.clone();
                async move {
                    if n == 0 {
                        let _ = wait.recv().await;
                    }
                }
            },
        )
        .unwrap();
        within(LIMIT, async {
            coordinator.enqueue(0).await.unwrap();
            until(|| started.load(SeqCst) == 1).await;
            coordinator.enqueue(1).await.unwrap();
        })
        .await;
        // The idle worker takes item 1 and waits for the permit item 0 holds.
        nap(Duration::from_millis(100)).await;
        coordinator.pause();
        release.close();
        within(LIMIT, until(|| coordinator.totals().completed >= 1)).await;
        nap(Duration::from_millis(300)).await;
        let while_paused = started.load(SeqCst);
        coordinator.resume();
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert_eq!(while_paused, 1, "{}: a body started while paused", E::NAME);
        assert_eq!(started.load(SeqCst), 2, "{}", E::NAME);
    });
}

/// A lane held by a `defer_on` signal is released when the signal expires by the
/// sink's `max_age`, not only at `max_defer`. Nothing used to wake the held lane.
fn a_lane_is_released_when_its_defer_signal_expires<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let sink = SignalSink::builder()
            .max_age(Duration::from_millis(200))
            .build();
        let coordinator = PriorityWorkCoordinator::new(
            rt,
            [Lane::new("high"), Lane::new("low").defer_on("hold")],
            Options::default()
                .max_concurrency(1)
                .signals(sink)
                .max_defer(Duration::from_secs(100)),
            |_: u32, _: OpContext| async {},
        )
        .unwrap();
        coordinator.signals().raise("hold").unwrap();
        let low = coordinator.lane("low").unwrap();
        coordinator.enqueue(1, low).await.unwrap();
        coordinator.complete();
        let drained = finishes_within(PROMPT, coordinator.drain()).await.is_some();
        assert!(
            drained,
            "{}: the lane stayed held after its signal expired",
            E::NAME
        );
        assert!(!coordinator.signals().is_raised("hold"));
        assert_eq!(coordinator.totals().completed, 1, "{}", E::NAME);
    });
}

/// A busy key never holds up another key at intake: when one key's body hangs and its
/// backlog was pushed until refused, another key's `enqueue` is accepted at once. The
/// queue's room used to be shared, so the stuck key's backlog shut every key out.
fn a_stuck_keys_backlog_does_not_shut_out_other_keys<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = gate();
        let coordinator = KeyedWorkCoordinator::new(
            rt,
            |item: &(u32, u32)| item.0,
            Options::default().max_concurrency(2).queue_capacity(4),
            move |(key, _): (u32, u32), _: OpContext| {
                let wait = wait.clone();
                async move {
                    if key == 0 {
                        let _ = wait.recv().await;
                    }
                }
            },
        )
        .unwrap();
        within(LIMIT, async {
            coordinator.enqueue((0, 0)).await.unwrap();
            until(|| coordinator.active_count_for_key(&0) == 1).await;
        })
        .await;
        let mut backlog = 0;
        while coordinator.try_enqueue((0, backlog + 1)).is_ok() {
            backlog += 1;
            assert!(backlog < 1_000, "try_enqueue never refused");
        }
        let accepted = finishes_within(PROMPT, coordinator.enqueue((1, 0))).await;
        let ran = accepted.is_some()
            && finishes_within(PROMPT, until(|| coordinator.totals().completed == 1))
                .await
                .is_some();
        release.close();
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert!(
            matches!(accepted, Some(Ok(_))),
            "{}: key 1 waited behind key 0's backlog of {backlog}",
            E::NAME
        );
        assert!(ran, "{}: key 1's item did not run", E::NAME);
    });
}

/// An id issued by one coordinator, asked of another of the same shape, answers
/// "unknown". It used to name whatever the other held under the same slot and
/// generation.
fn a_foreign_id_is_unknown<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let build = |factor: u32| {
            ResultCoordinator::new(
                rt.clone(),
                Options::default(),
                move |n: u32, _: OpContext| async move { Ok::<u32, ()>(n * factor) },
            )
            .unwrap()
        };
        let (a, b) = (build(10), build(100));
        let (from_a, from_b) = within(LIMIT, async {
            let from_a = a.enqueue(1).await.unwrap();
            let from_b = b.enqueue(1).await.unwrap();
            assert_eq!(a.wait_for_result(from_a).await, Ok(10));
            assert_eq!(b.wait_for_result(from_b).await, Ok(100));
            (from_a, from_b)
        })
        .await;
        let got = b.get(from_a).map(|s| s.id);
        let waited = within(LIMIT, b.wait_for_result(from_a)).await;
        let taken = b.take_result(from_a);
        assert_eq!(
            got,
            None,
            "{}: get answered for another coordinator's id",
            E::NAME
        );
        assert!(
            matches!(waited, Err(ResultError::Unknown(_))),
            "{}: wait_for_result of a foreign id answered {waited:?}",
            E::NAME
        );
        assert!(
            matches!(taken, Err(ResultError::Unknown(_))),
            "{}: take_result of a foreign id answered {taken:?}",
            E::NAME
        );
        assert_eq!(b.take_result(from_b), Ok(100), "{}: b's own value", E::NAME);
    });
}

/// The order in which `items` bodies started on a coordinator with `ceiling` workers
/// and a limit lowered to `limit`.
async fn start_order<R: Spawner + Timer + Clone>(
    rt: R,
    ceiling: usize,
    limit: usize,
    items: u32,
) -> Vec<u32> {
    let log: Arc<Mutex<Vec<u32>>> = Arc::default();
    let record = log.clone();
    let coordinator = WorkCoordinator::new(
        rt,
        Options::default()
            .max_concurrency(ceiling)
            .concurrency_ceiling(ceiling)
            .queue_capacity(16),
        move |n: u32, _: OpContext| {
            record.lock().unwrap().push(n);
            // Long enough that a worker the OS pauses between taking and starting an
            // item is overtaken by a few items at most, not by a run of them.
            nap(Duration::from_millis(1))
        },
    )
    .unwrap();
    coordinator.set_max_concurrency(limit).unwrap();
    within(LIMIT, async {
        coordinator.enqueue_many(0..items).await.unwrap();
        coordinator.complete();
        coordinator.drain().await;
    })
    .await;
    log.lock().unwrap().clone()
}

/// For each item, how many later items started before it; the largest.
fn most_overtaken(order: &[u32]) -> usize {
    order
        .iter()
        .enumerate()
        .map(|(at, &n)| order[..at].iter().filter(|&&m| m > n).count())
        .max()
        .unwrap_or(0)
}

/// With the limit below the worker count (ceiling 4, limit 1) items start in enqueue
/// order. Workers used to take items before holding a permit, and the worker that just
/// released one won it back for a newer item, starving the items others held.
fn items_start_in_order_at_limit_one_of_four_workers<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let order = start_order(rt, 4, 1, 200).await;
        let expected: Vec<u32> = (0..200).collect();
        let out_of_place = order.iter().zip(&expected).filter(|(a, b)| a != b).count();
        assert!(
            order == expected,
            "{}: {out_of_place} of 200 items started out of order; an item was overtaken by {} later ones",
            E::NAME,
            most_overtaken(&order)
        );
    });
}

/// With the limit below the worker count (ceiling 8, limit 2) no item is overtaken by
/// more later items than there are workers. Items held by waiting workers used to wait
/// until the queue ran dry.
fn items_are_not_starved_at_limit_two_of_eight_workers<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let order = start_order(rt, 8, 2, 200).await;
        assert_eq!(order.len(), 200);
        let worst = most_overtaken(&order);
        assert!(
            worst <= 8,
            "{}: an item was overtaken by {worst} later ones",
            E::NAME
        );
    });
}

/// An item for the room test: one that blocks until released, one that probes for room
/// from inside the coordinator, and a plain one.
enum Job {
    Block(smol::channel::Receiver<()>),
    Probe,
    Plain,
}

/// Freed queue room goes to an `enqueue` already waiting for it, not to a `try_enqueue`
/// that comes after. The newcomer used to take it and the waiter waited on.
fn freed_room_goes_to_a_waiting_enqueue_first<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let slot: Own<WorkCoordinator<Job, E::Rt>> = Arc::default();
        let (probed_tx, probed) = smol::channel::unbounded::<bool>();
        let body_slot = slot.clone();
        let coordinator = Arc::new(
            WorkCoordinator::new(
                rt.clone(),
                Options::default().max_concurrency(1).queue_capacity(1),
                move |job: Job, _: OpContext| {
                    // The probe runs on the worker right after it took the probe item
                    // out of the queue, which made room.
                    let newcomer_got_in = matches!(job, Job::Probe)
                        && own(&body_slot).try_enqueue(Job::Plain).is_ok();
                    let probed = probed_tx.clone();
                    async move {
                        match job {
                            Job::Block(wait) => {
                                let _ = wait.recv().await;
                            }
                            Job::Probe => {
                                let _ = probed.send(newcomer_got_in).await;
                            }
                            Job::Plain => {}
                        }
                    }
                },
            )
            .unwrap(),
        );
        let _ = slot.set(Arc::downgrade(&coordinator));
        let (release, wait) = gate();
        within(LIMIT, async {
            coordinator.enqueue(Job::Block(wait)).await.ok().unwrap();
            until(|| coordinator.active_count() == 1).await;
            coordinator.enqueue(Job::Probe).await.ok().unwrap();
        })
        .await;
        assert!(
            coordinator.try_enqueue(Job::Plain).is_err(),
            "the queue is full"
        );
        let (waited_tx, waited) = smol::channel::unbounded::<bool>();
        let producer = coordinator.clone();
        rt.spawn(async move {
            let accepted = producer.enqueue(Job::Plain).await.is_ok();
            let _ = waited_tx.send(accepted).await;
        });
        // Let the producer start waiting for room.
        nap(Duration::from_millis(200)).await;
        release.close();
        let newcomer_got_in = within(LIMIT, probed.recv()).await.unwrap();
        let waiter_got_in = finishes_within(PROMPT, waited.recv()).await;
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert!(
            !newcomer_got_in,
            "{}: a try_enqueue took the room a waiting enqueue was woken for",
            E::NAME
        );
        assert_eq!(waiter_got_in, Some(Ok(true)), "{}", E::NAME);
    });
}

/// `pending_count` does not count a stream feeder as an item: a coordinator fed by a
/// stream with nothing in it has nothing pending.
fn pending_count_does_not_count_the_stream_feeder<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = WorkCoordinator::from_stream(
            rt,
            futures_lite::stream::pending::<u32>(),
            Options::default(),
            |_: u32, _: OpContext| async {},
        )
        .unwrap();
        nap(Duration::from_millis(50)).await;
        let idle = coordinator.pending_count();
        coordinator.try_enqueue(1).unwrap();
        within(LIMIT, until(|| coordinator.totals().completed == 1)).await;
        let after = coordinator.pending_count();
        assert_eq!(idle, 0, "{}: pending with nothing enqueued", E::NAME);
        assert_eq!(after, 0, "{}: pending once the only item finished", E::NAME);
    });
}

on_every_executor!(
    the_longest_lifetime_neither_kills_a_worker_nor_panics_on_drop,
    every_finished_operation_is_reported_once,
    a_panicking_visitor_does_not_keep_its_slot,
    a_panicking_on_finalized_does_not_wedge_the_coordinator,
    a_key_that_panics_when_cloned_leaks_nothing,
    a_body_enqueueing_into_its_own_full_coordinator_is_refused,
    a_body_draining_its_own_coordinator_does_not_hang_it,
    a_panicking_listener_does_not_skip_the_others,
    dropping_a_stream_fed_coordinator_frees_it,
    pause_holds_an_item_deferred_by_a_signal,
    pause_holds_an_item_waiting_for_a_permit,
    a_lane_is_released_when_its_defer_signal_expires,
    a_stuck_keys_backlog_does_not_shut_out_other_keys,
    a_foreign_id_is_unknown,
    items_start_in_order_at_limit_one_of_four_workers,
    items_are_not_starved_at_limit_two_of_eight_workers,
    freed_room_goes_to_a_waiting_enqueue_first,
    pending_count_does_not_count_the_stream_feeder,
);

/// `for_each` treats a body that panics before returning its future like the
/// coordinators do: a fault, counted, and the other items run. The panic used to
/// escape `for_each`.
#[test]
fn for_each_counts_a_body_panicking_before_its_future_as_a_fault() {
    let run = catch_unwind(AssertUnwindSafe(|| {
        block_on(for_each(
            0..5u32,
            &Options::default().max_concurrency(2),
            |n, _: OpContext| {
                assert!(n != 2, "item two panicked before its future");
                async {}
            },
        ))
    }));
    let summary = run
        .expect("the body's panic escaped for_each")
        .expect("valid options");
    assert_eq!((summary.completed, summary.failed), (4, 1));
}

/// A tokio runtime built for one test, with one worker thread.
fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .expect("tokio runtime")
}

/// A coordinator on `runtime` whose item 0 never finishes.
fn stuck_on(runtime: &tokio::runtime::Runtime) -> ResultCoordinator<u32, u32, Tokio> {
    ResultCoordinator::new(
        Tokio::new(runtime.handle().clone()),
        Options::default().max_concurrency(1).queue_capacity(4),
        |n: u32, _: OpContext| async move {
            if n == 0 {
                futures_lite::future::pending::<()>().await;
            }
            Ok(n)
        },
    )
    .unwrap()
}

/// Dropping the executor under a running operation settles it as cancelled, so
/// `wait_for_result` and `drain` (awaited elsewhere) return. The operation used to stay
/// `Running` and both waited forever.
#[test]
fn dropping_the_runtime_cancels_a_running_operation() {
    let runtime = tokio_runtime();
    let coordinator = stuck_on(&runtime);
    let id = block_on(coordinator.enqueue(0)).unwrap();
    block_on(within(LIMIT, until(|| coordinator.active_count() == 1)));
    drop(runtime);
    let answer = block_on(finishes_within(PROMPT, coordinator.wait_for_result(id)));
    let drained = block_on(finishes_within(PROMPT, coordinator.drain())).is_some();
    assert!(
        matches!(answer, Some(Err(ResultError::Cancelled(_)))),
        "wait_for_result after the runtime went away: {answer:?}"
    );
    assert!(drained, "drain after the runtime went away did not return");
    assert_eq!(coordinator.get(id).map(|s| s.state), Some(State::Cancelled));
}

/// Dropping the executor with an operation still queued settles it as cancelled, so
/// `drain` (awaited elsewhere) returns. It used to stay queued with no worker left.
#[test]
fn dropping_the_runtime_cancels_a_queued_operation() {
    let runtime = tokio_runtime();
    let coordinator = stuck_on(&runtime);
    block_on(coordinator.enqueue(0)).unwrap();
    block_on(within(LIMIT, until(|| coordinator.active_count() == 1)));
    let queued = block_on(coordinator.enqueue(1)).unwrap();
    drop(runtime);
    let drained = block_on(finishes_within(PROMPT, coordinator.drain())).is_some();
    let answer = block_on(finishes_within(PROMPT, coordinator.wait_for_result(queued)));
    assert!(drained, "drain after the runtime went away did not return");
    assert!(
        matches!(answer, Some(Err(ResultError::Cancelled(_)))),
        "the queued operation after the runtime went away: {answer:?}"
    );
}

/// Counts read after an item's result is in count it as finished: `pending_count` is 0
/// once `join` returned for the only item (joined, so the results store keeps room). The permit used to be released
/// before the in-flight count was settled, so a caller could still see its finished
/// item pending. (`on_finalized` takes a moment here and the caller asks as soon as the
/// operation has finished, so that moment is hit on every join, not only when the
/// scheduler happens to run the caller first.)
#[test]
fn a_finished_item_is_not_pending_once_its_result_is_in() {
    const JOINS: u32 = 2_000;
    smol::block_on(async {
        let coordinator = ResultCoordinator::<u32, u32, Smol, ()>::builder(
            Smol,
            Options::default().max_concurrency(2),
        )
        .on_finalized(|_| std::thread::sleep(Duration::from_micros(300)))
        .build(|n: u32, _: OpContext| async move { Ok::<u32, ()>(n) })
        .unwrap();
        let mut stale = 0;
        for n in 0..JOINS {
            let id = coordinator.enqueue(n).await.unwrap();
            within(LIMIT, async {
                while !coordinator.get(id).is_some_and(|s| s.state.is_finished()) {
                    yield_now().await;
                }
            })
            .await;
            assert_eq!(within(LIMIT, coordinator.join(id)).await, Ok(n));
            stale += usize::from(coordinator.pending_count() != 0);
        }
        assert_eq!(
            stale, 0,
            "{stale} of {JOINS} joins still saw their finished item pending"
        );
    });
}
