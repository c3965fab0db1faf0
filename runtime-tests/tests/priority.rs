//! The PriorityWorkCoordinator suite (IMPLEMENTATION.md C2, C5 per lane, C10 for lanes,
//! and the lane docs: priority order, held lanes, aging), run on smol, tokio
//! (multi-thread), async-std and a single thread.

use core::time::Duration;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use ephemeral::runtime::{Spawner, Timer};
use ephemeral::{
    CancelCause, Lane, LaneError, LaneId, OpContext, Options, Outcome, PriorityWorkCoordinator,
    State,
};
use runtime_tests::{Executor, LIMIT, OneAtATime, gate, on_every_executor, until, within};

/// A hold that outlasts every test: only a retract ends it.
fn long_hold(options: Options) -> Options {
    options.max_defer(Duration::from_secs(100))
}

/// An item: its lane and its place among that lane's items.
type Job = (usize, u32);

/// A body that logs each item's start; `blocking` items then wait on `wait`.
fn logging_body(
    log: &Arc<Mutex<Vec<Job>>>,
    wait: smol::channel::Receiver<()>,
    blocking: impl Fn(Job) -> bool + Send + Sync + 'static,
) -> impl Fn(Job, OpContext) -> futures_lite::future::Boxed<()> + Send + Sync + 'static {
    let log = log.clone();
    move |job, _| {
        let (log, wait, blocks) = (log.clone(), wait.clone(), blocking(job));
        Box::pin(async move {
            log.lock().unwrap().push(job);
            if blocks {
                let _ = wait.recv().await;
            }
        })
    }
}

/// Priority order: while the only worker is busy, items go into lanes high, mid and
/// low in mixed order; once it is free they start all high, then all mid, then all
/// low, each lane first in, first out.
fn higher_lanes_start_first_fifo_within_a_lane<E: Executor>(exec: E) {
    const FIRST: Job = (2, u32::MAX);
    let rt = exec.rt();
    exec.block_on(async move {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (release, wait) = gate();
        let coordinator = PriorityWorkCoordinator::new(
            rt,
            [Lane::new("high"), Lane::new("mid"), Lane::new("low")],
            Options::default().max_concurrency(1),
            logging_body(&log, wait, |job| job == FIRST),
        )
        .unwrap();
        let (high, mid, low) = (
            coordinator.lane("high").unwrap(),
            coordinator.lane("mid").unwrap(),
            coordinator.lane("low").unwrap(),
        );
        assert_eq!((high.index(), mid.index(), low.index()), (0, 1, 2));
        let lanes = [
            low, mid, high, high, low, mid, low, low, high, mid, high, low, mid, high, low,
        ];
        let mut next = [0u32; 3];
        within(LIMIT, async {
            coordinator.enqueue(FIRST, low).await.unwrap();
            until(|| coordinator.active_count() == 1).await;
            for &lane in &lanes {
                let index = lane.index();
                coordinator
                    .enqueue((index, next[index]), lane)
                    .await
                    .unwrap();
                next[index] += 1;
            }
            assert_eq!(coordinator.pending_counts(), [5, 4, 6]);
            release.close();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        let expected: Vec<Job> = [high, mid, low]
            .into_iter()
            .map(LaneId::index)
            .flat_map(|lane| (0..next[lane]).map(move |n| (lane, n)))
            .collect();
        let log = log.lock().unwrap().clone();
        assert_eq!(log[0], FIRST);
        assert_eq!(log[1..], expected[..], "{}", E::NAME);
        assert_eq!(coordinator.totals().completed, 16);
    });
}

/// C10 for lanes: a lane name or index the coordinator lacks gives no `LaneId`, and
/// another coordinator's lane is `UnknownLane` with the item back (from `enqueue` and
/// `try_enqueue`); a lane at its `max_depth` gives `Full(item)` to `try_enqueue` while
/// other lanes still accept, and `enqueue` waits for room in it; after `complete`,
/// `Closed(item)`.
fn unknown_lanes_and_full_lanes_hand_the_item_back<E: Executor>(exec: E) {
    let (rt, other_rt) = (exec.rt(), exec.rt());
    exec.block_on(async move {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (release, wait) = gate();
        let coordinator = PriorityWorkCoordinator::new(
            rt,
            [Lane::new("high"), Lane::new("small").max_depth(2)],
            Options::default().max_concurrency(1),
            logging_body(&log, wait, |_| true),
        )
        .unwrap();
        assert_eq!(coordinator.lane("small").map(LaneId::index), Some(1));
        assert_eq!(coordinator.lane("missing"), None);
        assert_eq!(coordinator.lane_at(2), None);
        // A lane of another coordinator, even at an index this one has, is unknown here.
        let other = PriorityWorkCoordinator::new(
            other_rt,
            [Lane::new("high"), Lane::new("small")],
            Options::default(),
            |_: Job, _: OpContext| async {},
        )
        .unwrap();
        let foreign = other.lane("small").unwrap();
        within(LIMIT, async {
            assert!(matches!(
                coordinator.try_enqueue((9, 0), foreign),
                Err(LaneError::UnknownLane(lane, (9, 0))) if lane == foreign
            ));
            assert!(matches!(
                coordinator.enqueue((9, 1), foreign).await,
                Err(LaneError::UnknownLane(lane, (9, 1))) if lane == foreign
            ));
            coordinator
                .enqueue((0, 0), coordinator.lane_at(0).unwrap())
                .await
                .unwrap();
            until(|| coordinator.active_count() == 1).await;
            coordinator
                .try_enqueue((1, 0), coordinator.lane_at(1).unwrap())
                .unwrap();
            coordinator
                .try_enqueue((1, 1), coordinator.lane_at(1).unwrap())
                .unwrap();
            match coordinator.try_enqueue((1, 2), coordinator.lane_at(1).unwrap()) {
                Err(LaneError::Full(item)) => assert_eq!(item, (1, 2), "{}", E::NAME),
                other => panic!("{}: expected Full, got {other:?}", E::NAME),
            }
            coordinator
                .try_enqueue((0, 1), coordinator.lane_at(0).unwrap())
                .unwrap();
            assert_eq!(coordinator.pending_counts(), [1, 2]);
            let mut waiting =
                std::pin::pin!(coordinator.enqueue((1, 2), coordinator.lane_at(1).unwrap()));
            assert!(
                futures_lite::future::poll_once(waiting.as_mut())
                    .await
                    .is_none(),
                "{}: enqueue waits while its lane is full",
                E::NAME
            );
            // The freed worker takes (0, 1) from the higher lane: "small" stays full.
            release.send(()).await.unwrap();
            until(|| log.lock().unwrap().len() == 2).await;
            assert!(
                futures_lite::future::poll_once(waiting.as_mut())
                    .await
                    .is_none()
            );
            // Now it takes (1, 0), making room.
            release.send(()).await.unwrap();
            waiting.await.unwrap();
            release.close();
            coordinator.complete();
            assert!(matches!(
                coordinator.try_enqueue((0, 9), coordinator.lane_at(0).unwrap()),
                Err(LaneError::Closed((0, 9)))
            ));
            assert!(matches!(
                coordinator
                    .enqueue((1, 9), coordinator.lane_at(1).unwrap())
                    .await,
                Err(LaneError::Closed((1, 9)))
            ));
            coordinator.drain().await;
        })
        .await;
        assert_eq!(coordinator.totals().completed, 5, "{}", E::NAME);
        assert_eq!(
            log.lock().unwrap().clone(),
            [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]
        );
    });
}

/// A held lane stalls nothing: with lane "low" held by its `defer_on` signal, every high
/// item runs while the low ones wait in their lane (counted as pending and deferred, not
/// on a worker); the retract releases them and `drain` completes everything.
fn a_held_lane_waits_while_other_lanes_run<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (_release, wait) = gate();
        let coordinator = PriorityWorkCoordinator::new(
            rt,
            [Lane::new("high"), Lane::new("low").defer_on("hold")],
            long_hold(Options::default().max_concurrency(2)),
            logging_body(&log, wait, |_| false),
        )
        .unwrap();
        coordinator.signals().raise("hold").unwrap();
        within(LIMIT, async {
            for n in 0..5 {
                coordinator
                    .enqueue((1, n), coordinator.lane_at(1).unwrap())
                    .await
                    .unwrap();
                coordinator
                    .enqueue((0, n), coordinator.lane_at(0).unwrap())
                    .await
                    .unwrap();
            }
            until(|| coordinator.totals().completed == 5 && coordinator.deferred_count() == 5)
                .await;
        })
        .await;
        assert_eq!(coordinator.pending_counts(), [0, 5], "{}", E::NAME);
        assert_eq!(coordinator.pending_count(), 5);
        assert_eq!(coordinator.active_count(), 0, "no worker holds a held item");
        assert!(
            log.lock().unwrap().iter().all(|&(lane, _)| lane == 0),
            "{}: a held item ran",
            E::NAME
        );
        assert!(coordinator.signals().retract("hold"));
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        let totals = coordinator.totals();
        assert_eq!(totals.completed, 10, "{}", E::NAME);
        assert_eq!(totals.deferred, 5, "{}: the held items", E::NAME);
        assert_eq!(coordinator.deferred_count(), 0);
        let low: Vec<u32> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|(lane, _)| *lane == 1)
            .map(|(_, n)| *n)
            .collect();
        // Each held item ran once. (Their start order is not asserted: two workers take
        // them first-in first-out, but a worker the OS pauses between taking an item and
        // starting it lets the other start several later ones first. FIFO within a lane
        // is asserted with one worker in `higher_lanes_start_first_fifo_within_a_lane`.)
        let mut sorted = low;
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            [0, 1, 2, 3, 4],
            "{}: each held item ran once",
            E::NAME
        );
    });
}

/// A hold is bounded: the `defer_on` signal is never retracted, yet after
/// `Options::max_defer` (here 20 ms) the held items start, so `drain` finishes
/// with every item completed and the held ones counted in `totals().deferred`.
fn a_never_retracted_hold_ends_at_the_defer_bound<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (_release, wait) = gate();
        let coordinator = PriorityWorkCoordinator::new(
            rt,
            [Lane::new("high"), Lane::new("low").defer_on("hold")],
            Options::default()
                .max_concurrency(2)
                .max_defer(Duration::from_millis(20)),
            logging_body(&log, wait, |_| false),
        )
        .unwrap();
        coordinator.signals().raise("hold").unwrap();
        within(LIMIT, async {
            for n in 0..5 {
                coordinator
                    .enqueue((1, n), coordinator.lane_at(1).unwrap())
                    .await
                    .unwrap();
                coordinator
                    .enqueue((0, n), coordinator.lane_at(0).unwrap())
                    .await
                    .unwrap();
            }
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert!(coordinator.signals().is_raised("hold"));
        let totals = coordinator.totals();
        assert_eq!(totals.completed, 10, "{}", E::NAME);
        assert_eq!(totals.deferred, 5, "{}: each low item was held", E::NAME);
        assert_eq!(coordinator.pending_counts(), [0, 0]);
        assert_eq!(coordinator.deferred_count(), 0);
    });
}

/// C5 per lane: while a lane's `cancel_on` signal is present its items are cancelled
/// before they start, naming the signal, while the other lane's items run; after the
/// retract the lane runs again.
fn a_lanes_cancel_signal_cancels_only_that_lane<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (_release, wait) = gate();
        let coordinator = PriorityWorkCoordinator::new(
            rt,
            [Lane::new("high"), Lane::new("low").cancel_on("shed")],
            Options::default().max_concurrency(2),
            logging_body(&log, wait, |_| false),
        )
        .unwrap();
        let shed = coordinator.signals().raise("shed").unwrap();
        let (lows, highs) = within(LIMIT, async {
            let (mut lows, mut highs) = (Vec::new(), Vec::new());
            for n in 0..4 {
                lows.push(
                    coordinator
                        .enqueue((1, n), coordinator.lane_at(1).unwrap())
                        .await
                        .unwrap(),
                );
                highs.push(
                    coordinator
                        .enqueue((0, n), coordinator.lane_at(0).unwrap())
                        .await
                        .unwrap(),
                );
            }
            coordinator.drain().await;
            (lows, highs)
        })
        .await;
        for id in lows {
            let snap = coordinator.get(id).unwrap();
            assert_eq!(snap.state, State::Cancelled, "{}", E::NAME);
            assert_eq!(snap.started_at, None, "its body never started");
            assert_eq!(
                snap.outcome,
                Some(Outcome::Cancelled(CancelCause::Signal(shed)))
            );
        }
        for id in highs {
            assert_eq!(coordinator.get(id).unwrap().state, State::Completed);
        }
        let totals = coordinator.totals();
        assert_eq!((totals.completed, totals.cancelled), (4, 4), "{}", E::NAME);

        assert!(coordinator.signals().retract("shed"));
        let again = within(LIMIT, async {
            let id = coordinator
                .enqueue((1, 4), coordinator.lane_at(1).unwrap())
                .await
                .unwrap();
            coordinator.complete();
            coordinator.drain().await;
            id
        })
        .await;
        assert_eq!(coordinator.get(again).unwrap().state, State::Completed);
        let ran_low: Vec<Job> = log
            .lock()
            .unwrap()
            .iter()
            .copied()
            .filter(|(lane, _)| *lane == 1)
            .collect();
        assert_eq!(ran_low, [(1, 4)], "{}", E::NAME);
    });
}

/// Aging: with `promote_after(3)` on the low lane and the high lane never empty, each
/// low item starts within `3 + concurrency` high starts (and not before 3: priority
/// holds until then). Bodies of high items block until the test frees one at a time,
/// so exactly one worker is free at each step and the log is the start order. Prints
/// the measured gaps.
fn aging_lets_a_low_item_through_a_steady_high_stream<E: Executor>(exec: E) {
    const PROMOTE: usize = 3;
    const CONCURRENCY: usize = 2;
    let rt = exec.rt();
    exec.block_on(async move {
        let mut gaps = Vec::new();
        for warm_up in 0..3 {
            gaps.extend(aging_gaps(rt.clone(), PROMOTE, CONCURRENCY, warm_up).await);
        }
        for &gap in &gaps {
            assert!(
                (PROMOTE..=PROMOTE + CONCURRENCY).contains(&gap),
                "{}: {gap} high starts before a low one (promote_after {PROMOTE}, \
                 concurrency {CONCURRENCY}): {gaps:?}",
                E::NAME
            );
        }
        println!(
            "aging on {}: promote_after {PROMOTE}, concurrency {CONCURRENCY}: high starts \
             before each low start {gaps:?} (bound {})",
            E::NAME,
            PROMOTE + CONCURRENCY
        );
    });
}

/// Marks where the test enqueued the low items.
const MARK: Job = (usize::MAX, 0);

/// One aging run: the high starts before the first of three low items (counted from
/// their enqueue) and between consecutive ones.
async fn aging_gaps<R: Spawner + Timer + Clone>(
    rt: R,
    promote: usize,
    concurrency: usize,
    warm_up: usize,
) -> Vec<usize> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let blocked = Arc::new(AtomicUsize::new(0));
    let (release, wait) = gate();
    let body = {
        let (log, blocked) = (log.clone(), blocked.clone());
        move |job: Job, _: OpContext| {
            let (log, blocked, wait) = (log.clone(), blocked.clone(), wait.clone());
            async move {
                log.lock().unwrap().push(job);
                if job.0 == 0 {
                    blocked.fetch_add(1, SeqCst);
                    let _ = wait.recv().await;
                }
            }
        }
    };
    let coordinator = PriorityWorkCoordinator::new(
        rt,
        [Lane::new("high"), Lane::new("low").promote_after(promote)],
        Options::default().max_concurrency(concurrency),
        body,
    )
    .unwrap();
    let gaps = within(LIMIT, async {
        let mut high = 0;
        for _ in 0..50 {
            coordinator
                .enqueue((0, high), coordinator.lane_at(0).unwrap())
                .await
                .unwrap();
            high += 1;
        }
        let mut steps = OneAtATime::at_rest(&release, &blocked, concurrency).await;
        for _ in 0..warm_up {
            steps.free_one().await;
        }
        // Every worker is blocked, so nothing starts between the mark and the enqueue.
        log.lock().unwrap().push(MARK);
        for n in 0..3 {
            coordinator
                .try_enqueue((1, n), coordinator.lane_at(1).unwrap())
                .unwrap();
        }
        while log.lock().unwrap().iter().filter(|job| job.0 == 1).count() < 3 {
            assert!(steps.freed() < 1000, "the low items never started");
            // A steady stream: the high lane never runs dry.
            coordinator
                .try_enqueue((0, high), coordinator.lane_at(0).unwrap())
                .unwrap();
            high += 1;
            steps.free_one().await;
        }
        let log = log.lock().unwrap().clone();
        let mark = log.iter().position(|&job| job == MARK).unwrap();
        let mut gaps = Vec::new();
        let mut run = 0;
        for job in &log[mark + 1..] {
            if job.0 == 1 {
                gaps.push(run);
                run = 0;
            } else {
                run += 1;
            }
        }
        assert_eq!(gaps.len(), 3);
        release.close();
        coordinator.complete();
        coordinator.drain().await;
        gaps
    })
    .await;
    assert_eq!(coordinator.pending_counts(), [0, 0]);
    gaps
}

/// A waiting `enqueue` is woken when its own lane has room, whatever other lanes'
/// waiters do: here one enqueue waits for the held (and full) low lane and, after it,
/// one for the full high lane; a high item is taken, so the high lane has room.
///
/// Every lane shares the intake's one `room` wake-up; a take must wake all its waiters
/// (`Queue::WAKES_ON_TAKE`), or the first (for the low lane, still full) would take the
/// only notification and the high lane's waiter would sleep until the hold ended.
fn a_waiting_enqueue_is_woken_when_its_lane_has_room<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (release, wait) = gate();
        let coordinator = PriorityWorkCoordinator::new(
            rt,
            [
                Lane::new("high").max_depth(1),
                Lane::new("low").max_depth(1).defer_on("hold"),
            ],
            long_hold(Options::default().max_concurrency(1)),
            logging_body(&log, wait, |_| true),
        )
        .unwrap();
        coordinator.signals().raise("hold").unwrap();
        within(LIMIT, async {
            coordinator
                .try_enqueue((0, 0), coordinator.lane_at(0).unwrap())
                .unwrap();
            until(|| coordinator.active_count() == 1).await;
            coordinator
                .try_enqueue((1, 0), coordinator.lane_at(1).unwrap())
                .unwrap();
            coordinator
                .try_enqueue((0, 1), coordinator.lane_at(0).unwrap())
                .unwrap();
            let mut low =
                std::pin::pin!(coordinator.enqueue((1, 1), coordinator.lane_at(1).unwrap()));
            let mut high =
                std::pin::pin!(coordinator.enqueue((0, 2), coordinator.lane_at(0).unwrap()));
            assert!(
                futures_lite::future::poll_once(low.as_mut())
                    .await
                    .is_none()
            );
            assert!(
                futures_lite::future::poll_once(high.as_mut())
                    .await
                    .is_none()
            );
            // The worker finishes (0, 0) and takes (0, 1): the high lane has room.
            release.send(()).await.unwrap();
            until(|| log.lock().unwrap().len() == 2).await;
            let high_in = futures_lite::future::or(
                async {
                    high.await.unwrap();
                    true
                },
                async {
                    low.await.unwrap();
                    false
                },
            );
            assert!(high_in.await, "{}", E::NAME);
        })
        .await;
        coordinator.signals().retract("hold");
        release.close();
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
    });
}

on_every_executor!(
    higher_lanes_start_first_fifo_within_a_lane,
    unknown_lanes_and_full_lanes_hand_the_item_back,
    a_held_lane_waits_while_other_lanes_run,
    a_never_retracted_hold_ends_at_the_defer_bound,
    a_lanes_cancel_signal_cancels_only_that_lane,
    aging_lets_a_low_item_through_a_steady_high_stream,
    a_waiting_enqueue_is_woken_when_its_lane_has_room,
);
