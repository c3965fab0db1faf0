//! Streams and sinks into coordinators (C2 for items fed by a stream or sent to a
//! sink): every coordinator is fed by a stream with `drain` waiting for it, and its
//! `Sink` waits for room without polling, hands refused items back, and allocates
//! nothing per item (`tests/alloc_coordinator.rs`).

use core::pin::Pin;
use core::task::{Context, Waker};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::Wake;

use ephemeral::{
    EnqueueError, KeyedWorkCoordinator, Lane, OpContext, Options, PriorityWorkCoordinator,
    ResultCoordinator, WorkCoordinator,
};
use futures::{Sink, SinkExt, StreamExt};
use runtime_tests::{Executor, LIMIT, gate, nap, on_every_executor, settle, until, within};

on_every_executor!(
    every_coordinator_is_fed_by_streams_and_drain_waits_for_them,
    a_sink_waits_for_room_without_being_woken_until_there_is_some,
    a_sink_hands_back_an_item_sent_while_another_is_in_flight,
    a_sink_into_a_completed_coordinator_hands_the_item_back,
    a_foreign_lane_hands_the_stream_back_unread,
    every_coordinator_enqueues_many,
);

/// `from_stream` completes the coordinator at the stream's end; `feed` does not, and
/// several feeds may run at once; `drain` returns only once every stream has ended and
/// every item it gave is terminal.
fn every_coordinator_is_fed_by_streams_and_drain_waits_for_them<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let options = || Options::default().queue_capacity(2).max_concurrency(2);
        let slow = |n: u32| {
            futures::stream::iter(0..n).then(|n| async move {
                nap(core::time::Duration::from_micros(50)).await;
                n
            })
        };
        let work =
            WorkCoordinator::new(rt.clone(), options(), |_: u32, _: OpContext| async {}).unwrap();
        work.feed(slow(20));
        work.feed(slow(10));
        within(LIMIT, work.drain()).await;
        assert_eq!(work.totals().completed, 30, "{}", E::NAME);
        assert!(!work.is_completed(), "{}: feed leaves it open", E::NAME);

        let results = ResultCoordinator::from_stream(
            rt.clone(),
            slow(12),
            options(),
            |n: u32, _: OpContext| async move { Ok::<_, ()>(n) },
        )
        .unwrap();
        within(LIMIT, results.drain()).await;
        assert!(results.is_completed(), "{}", E::NAME);
        assert_eq!(results.successful().len(), 12, "{}", E::NAME);

        let keyed = KeyedWorkCoordinator::from_stream(
            rt.clone(),
            |n: &u32| n % 3,
            slow(15),
            options(),
            |_: u32, _: OpContext| async {},
        )
        .unwrap();
        keyed.feed(slow(3));
        within(LIMIT, keyed.drain()).await;
        assert_eq!(keyed.totals().completed, 18, "{}", E::NAME);
        assert_eq!(keyed.snapshot_for_key(&0).len(), 6, "{}", E::NAME);

        let priority = PriorityWorkCoordinator::new(
            rt,
            [Lane::new("high"), Lane::new("low")],
            options(),
            |_: u32, _: OpContext| async {},
        )
        .unwrap();
        let low = priority.lane("low").unwrap();
        assert!(priority.feed(slow(8), low).is_ok());
        within(LIMIT, priority.drain()).await;
        assert_eq!(priority.totals().completed, 8, "{}", E::NAME);
    });
}

/// Counts the wake-ups it is given.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Backpressure: with the only worker busy and the queue full, the sink holds the
/// next item and answers `Pending`, and is not woken again while nothing changes (the
/// enqueue inside sleeps on the coordinator's room, never polling); once the worker
/// moves on it is woken, and the item is accepted.
fn a_sink_waits_for_room_without_being_woken_until_there_is_some<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = gate();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().queue_capacity(1).max_concurrency(1),
            move |_: u32, _: OpContext| {
                let wait = wait.clone();
                async move {
                    let _ = wait.recv().await;
                }
            },
        )
        .unwrap();
        let mut sink = core::pin::pin!(coordinator.sink());
        within(LIMIT, sink.send(0)).await.unwrap();
        within(LIMIT, until(|| coordinator.active_count() == 1)).await;
        // Item 0 runs and waits; item 1 fills the queue of one.
        within(LIMIT, sink.send(1)).await.unwrap();
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(counter.clone());
        {
            let mut cx = Context::from_waker(&waker);
            assert!(sink.as_mut().poll_ready(&mut cx).is_ready());
            sink.as_mut().start_send(2).unwrap();
            let flushed = sink.as_mut().poll_flush(&mut cx);
            assert!(flushed.is_pending(), "{}", E::NAME);
        }
        settle().await;
        nap(core::time::Duration::from_millis(20)).await;
        let wakes = counter.0.load(SeqCst);
        assert_eq!(wakes, 0, "{}: woken while nothing changed", E::NAME);
        release.close();
        within(LIMIT, until(|| counter.0.load(SeqCst) > 0)).await;
        within(
            LIMIT,
            futures::future::poll_fn(|cx| sink.as_mut().poll_flush(cx)),
        )
        .await
        .unwrap();
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert_eq!(coordinator.totals().completed, 3, "{}", E::NAME);
    });
}

/// `start_send` without `poll_ready` while an item is still being sent hands the new
/// item back as `Full` and keeps the one in flight: nothing is dropped.
fn a_sink_hands_back_an_item_sent_while_another_is_in_flight<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator =
            WorkCoordinator::new(rt, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
        let mut sink = core::pin::pin!(coordinator.sink());
        sink.as_mut().start_send(1).unwrap();
        match sink.as_mut().start_send(2) {
            Err(EnqueueError::Full(2)) => {}
            other => panic!("{}: expected Full(2), got {other:?}", E::NAME),
        }
        within(
            LIMIT,
            futures::future::poll_fn(|cx| Pin::as_mut(&mut sink).poll_close(cx)),
        )
        .await
        .unwrap();
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        assert_eq!(coordinator.totals().enqueued, 1, "{}", E::NAME);
    });
}

/// A sink into a completed coordinator answers `Closed` with the item.
fn a_sink_into_a_completed_coordinator_hands_the_item_back<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = KeyedWorkCoordinator::new(
            rt,
            |n: &u32| *n,
            Options::default(),
            |_: u32, _: OpContext| async {},
        )
        .unwrap();
        coordinator.complete();
        let mut sink = core::pin::pin!(coordinator.sink());
        match within(LIMIT, sink.send(5)).await {
            Err(EnqueueError::Closed(5)) => {}
            other => panic!("{}: expected Closed(5), got {other:?}", E::NAME),
        }
    });
}

/// Feeding a priority coordinator into another coordinator's lane hands the stream
/// back unread.
fn a_foreign_lane_hands_the_stream_back_unread<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let lanes = || [Lane::new("only")];
        let body = |_: u32, _: OpContext| async {};
        let one =
            PriorityWorkCoordinator::new(rt.clone(), lanes(), Options::default(), body).unwrap();
        let other = PriorityWorkCoordinator::new(rt, lanes(), Options::default(), body).unwrap();
        let foreign = other.lane("only").unwrap();
        let back = one.feed(futures::stream::iter(0..3), foreign).unwrap_err();
        assert_eq!(back.collect::<Vec<_>>().await, [0, 1, 2], "{}", E::NAME);
        within(LIMIT, one.drain()).await;
        assert_eq!(one.totals().enqueued, 0, "{}", E::NAME);
    });
}

/// `enqueue_many` on every coordinator accepts every item in turn, waiting while full.
fn every_coordinator_enqueues_many<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let options = || Options::default().queue_capacity(2);
        let results =
            ResultCoordinator::new(rt.clone(), options(), |n: u32, _: OpContext| async move {
                Ok::<_, ()>(n)
            })
            .unwrap();
        assert_eq!(
            within(LIMIT, results.enqueue_many(0..10)).await.unwrap(),
            10
        );
        let priority = PriorityWorkCoordinator::new(
            rt,
            [Lane::new("a"), Lane::new("b")],
            options(),
            |_: u32, _: OpContext| async {},
        )
        .unwrap();
        let b = priority.lane("b").unwrap();
        assert_eq!(
            within(LIMIT, priority.enqueue_many(0..10, b))
                .await
                .unwrap(),
            10
        );
        assert_eq!(
            within(LIMIT, priority.enqueue_many(Vec::new(), b))
                .await
                .unwrap(),
            0
        );
        priority.complete();
        match within(LIMIT, priority.enqueue_many([7], b)).await {
            Err(ephemeral::LaneError::Closed(7)) => {}
            other => panic!("{}: expected Closed(7), got {other:?}", E::NAME),
        }
        results.complete();
        within(LIMIT, results.drain()).await;
        within(LIMIT, priority.drain()).await;
        assert_eq!(results.successful().len(), 10, "{}", E::NAME);
        assert_eq!(priority.totals().completed, 10, "{}", E::NAME);
    });
}
