//! The signal suite (IMPLEMENTATION.md C5, C8): deferral and resumption,
//! cancel-on-signal, a shared sink, the async handler bound and drain-on-signal, run on
//! every executor.

use core::time::Duration;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use ephemeral::runtime::{ManualClock, Runtime, Timer};
use ephemeral::signal::SignalSink;
use ephemeral::{
    CancelCause, EnqueueError, Lane, OpContext, Options, Outcome, PriorityWorkCoordinator, State,
    WorkCoordinator,
};
use runtime_tests::{Executor, LIMIT, on_every_executor, settle, until, within};

/// A body that counts how many times it started, in `ran`.
fn counting_body(
    ran: &Arc<AtomicUsize>,
) -> impl Fn(u32, OpContext) -> core::future::Ready<()> + Send + Sync + 'static {
    let ran = ran.clone();
    move |_, _| {
        ran.fetch_add(1, SeqCst);
        core::future::ready(())
    }
}

/// The README's backpressure scenario. Time is a `ManualClock` that never moves, so the
/// deferral bound never passes and no timer fires: if the retract did not wake the
/// deferred workers, this would hang until `within` fails it.
fn backpressure_defers_new_work_until_retracted<E: Executor>(exec: E) {
    let rt = Runtime {
        spawner: exec.rt(),
        timer: ManualClock::new(),
    };
    exec.block_on(async move {
        let sink = SignalSink::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default()
                .max_concurrency(2)
                .signals(sink.clone())
                .defer_on("backpressure.*"),
            counting_body(&ran),
        )
        .unwrap();
        sink.raise("backpressure.downstream").unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(0..6).await.unwrap();
            // Both workers hold an item back; the other four wait in the queue.
            until(|| coordinator.deferred_count() >= 2).await;
            settle().await;
            assert_eq!(ran.load(SeqCst), 0, "{}: deferred work ran", E::NAME);
            assert_eq!(coordinator.deferred_count(), 2);
            assert!(sink.retract("backpressure.downstream"));
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        let totals = coordinator.totals();
        assert_eq!((ran.load(SeqCst), totals.completed), (6, 6), "{}", E::NAME);
        assert_eq!(
            totals.deferred,
            2,
            "{}: each of the two workers deferred its own item; the rest were not held",
            E::NAME
        );
        assert_eq!(coordinator.deferred_count(), 0);
    });
}

/// `max_defer(Duration::MAX)` means no bound: a deferred item (on a worker) and a held
/// lane's item (in the lane) wait, their workers asleep on a timer as long as the
/// runtime allows, until the signal is retracted. Nothing overflows computing the
/// deadlines, and the retract still wakes both.
fn an_unbounded_deferral_ends_at_the_retract<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let sink = SignalSink::new();
        let options = Options::default()
            .max_concurrency(1)
            .signals(sink.clone())
            .max_defer(Duration::MAX);
        let ran = Arc::new(AtomicUsize::new(0));
        let work = WorkCoordinator::new(
            rt.clone(),
            options.clone().defer_on("busy"),
            counting_body(&ran),
        )
        .unwrap();
        let lanes = PriorityWorkCoordinator::new(
            rt.clone(),
            [Lane::new("held").defer_on("busy")],
            options,
            counting_body(&ran),
        )
        .unwrap();
        sink.raise("busy").unwrap();
        within(LIMIT, async {
            work.enqueue(1).await.unwrap();
            lanes.enqueue(2, lanes.lane_at(0).unwrap()).await.unwrap();
            until(|| work.deferred_count() == 1 && lanes.deferred_count() == 1).await;
            // Long enough for both workers to go to sleep on their timers.
            rt.sleep(Duration::from_millis(50)).await;
            assert_eq!(ran.load(SeqCst), 0, "{}: held work ran", E::NAME);
            assert!(sink.retract("busy"));
            work.complete();
            lanes.complete();
            work.drain().await;
            lanes.drain().await;
        })
        .await;
        assert_eq!(ran.load(SeqCst), 2, "{}", E::NAME);
        assert_eq!(work.totals().deferred, 1, "{}", E::NAME);
        assert_eq!(lanes.totals().deferred, 1, "{}", E::NAME);
    });
}

/// C5: a present `cancel_on` signal cancels items before their bodies start, and the
/// cancelled operation names the signal.
fn circuit_open_cancels_new_work_with_the_signal<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let ran = Arc::new(AtomicUsize::new(0));
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default()
                .max_concurrency(2)
                .cancel_on("circuit-open, shutting-down"),
            counting_body(&ran),
        )
        .unwrap();
        let open = coordinator.signals().raise("circuit-open").unwrap();
        let mut ids = Vec::new();
        within(LIMIT, async {
            for n in 0..4 {
                ids.push(coordinator.enqueue(n).await.unwrap());
            }
            coordinator.drain().await;
            coordinator.signals().retract("circuit-open");
            ids.push(coordinator.enqueue(4).await.unwrap());
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert_eq!(
            ran.load(SeqCst),
            1,
            "{}: only the item after the retract ran",
            E::NAME
        );
        for id in &ids[..4] {
            let snap = coordinator.get(*id).unwrap();
            assert_eq!(snap.state, State::Cancelled);
            assert_eq!(snap.started_at, None, "its body never started");
            assert_eq!(
                snap.outcome,
                Some(Outcome::Cancelled(CancelCause::Signal(open)))
            );
        }
        assert_eq!(coordinator.get(ids[4]).unwrap().state, State::Completed);
        assert_eq!(coordinator.totals().cancelled, 4);
    });
}

/// One sink, two coordinators: what the first one's bodies raise steers the second.
fn one_sink_steers_two_coordinators<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let sink = SignalSink::new();
        let upstream = WorkCoordinator::new(
            rt.clone(),
            Options::default().max_concurrency(2).signals(sink.clone()),
            |n: u32, ctx: OpContext| async move {
                ctx.signal(if n == 3 {
                    "quota.exhausted"
                } else {
                    "upstream.ok"
                })
                .unwrap();
            },
        )
        .unwrap();
        let downstream = WorkCoordinator::new(
            rt,
            Options::default()
                .max_concurrency(2)
                .signals(sink.clone())
                .cancel_on("quota.*"),
            |_: u32, _: OpContext| async {},
        )
        .unwrap();
        within(LIMIT, async {
            upstream.enqueue_many(0..5).await.unwrap();
            upstream.complete();
            upstream.drain().await;
            downstream.enqueue_many(0..3).await.unwrap();
            downstream.complete();
            downstream.drain().await;
        })
        .await;
        assert_eq!(upstream.signals(), downstream.signals());
        assert_eq!(sink.count("upstream.ok"), 4);
        assert_eq!(upstream.count_signals("quota.exhausted"), 1);
        assert_eq!(
            downstream.count_signals("quota.exhausted"),
            0,
            "its own window"
        );
        assert_eq!(downstream.totals().cancelled, 3, "{}", E::NAME);
        let events = sink.events_matching("quota.*");
        assert_eq!(events.len(), 1);
        let raiser = events[0].operation_id.unwrap();
        assert_eq!(
            upstream.signals_matching("quota.*"),
            [(raiser, events[0].signal)]
        );
    });
}

/// C8: async handlers run on the spawner, never more than
/// `max_concurrent_signal_handlers` at once, and `drain` waits for them.
fn async_handlers_are_bounded_and_drained<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (running, high, handled) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let (r, h, d, timer) = (running.clone(), high.clone(), handled.clone(), rt.clone());
        let coordinator = WorkCoordinator::<u32, _>::builder(
            rt,
            Options::default()
                .max_concurrency(4)
                .max_concurrent_signal_handlers(2)
                .max_queued_signals(100),
        )
        .on_signal_async(move |_event| {
            let (r, h, d, timer) = (r.clone(), h.clone(), d.clone(), timer.clone());
            async move {
                h.fetch_max(r.fetch_add(1, SeqCst) + 1, SeqCst);
                timer.sleep(Duration::from_millis(2)).await;
                r.fetch_sub(1, SeqCst);
                d.fetch_add(1, SeqCst);
            }
        })
        .build(|_: u32, ctx: OpContext| async move {
            ctx.signal("audit").unwrap();
        })
        .unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(0..20).await.unwrap();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert_eq!(
            handled.load(SeqCst),
            20,
            "{}: drain waits for handlers",
            E::NAME
        );
        assert_eq!(high.load(SeqCst), 2, "{}: handler high-water mark", E::NAME);
        assert_eq!(coordinator.totals().dropped_signals, 0);
    });
}

/// C8: when handlers cannot keep up, the queue drops its oldest events and counts them;
/// the newest are always handled.
fn a_full_handler_queue_drops_the_oldest<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = smol::channel::unbounded::<()>();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let sink = SignalSink::new();
        let names = sink.clone();
        let coordinator = WorkCoordinator::<u32, _>::builder(
            rt,
            Options::default()
                .signals(sink.clone())
                .max_concurrent_signal_handlers(1)
                .max_queued_signals(3),
        )
        .on_signal_async(move |event| {
            let (wait, log, names) = (wait.clone(), log.clone(), names.clone());
            async move {
                // Blocks until the test closes the channel.
                let _ = wait.recv().await;
                log.lock()
                    .unwrap()
                    .push(names.name(event.signal).unwrap().to_string());
            }
        })
        .build(|_: u32, ctx: OpContext| async move {
            for i in 0..10 {
                ctx.signal(&format!("burst.{i}")).unwrap();
            }
        })
        .unwrap();
        within(LIMIT, async {
            coordinator.enqueue(0).await.unwrap();
            until(|| coordinator.totals().completed > 0).await;
            release.close();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        let handled = seen.lock().unwrap().clone();
        let dropped = coordinator.totals().dropped_signals;
        assert_eq!(
            handled.len() as u64 + dropped,
            10,
            "{}: {handled:?}",
            E::NAME
        );
        assert!(
            dropped >= 6,
            "{}: at most 1 running + 3 queued survive",
            E::NAME
        );
        assert!(
            handled.ends_with(&["burst.7".into(), "burst.8".into(), "burst.9".into()]),
            "{}: the newest are kept: {handled:?}",
            E::NAME
        );
    });
}

/// `drain_on`: raising the signal (from anywhere) completes the coordinator; accepted
/// work still finishes and new work is refused.
fn drain_on_signal_completes_the_coordinator<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let sink = SignalSink::new();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default()
                .max_concurrency(2)
                .signals(sink.clone())
                .drain_on("shutdown"),
            |_: u32, _: OpContext| async { futures_lite::future::yield_now().await },
        )
        .unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(0..10).await.unwrap();
            assert!(!coordinator.is_completed());
            sink.raise("shutdown").unwrap();
            assert!(coordinator.is_completed(), "{}", E::NAME);
            assert!(matches!(
                coordinator.try_enqueue(99),
                Err(EnqueueError::Closed(99))
            ));
            coordinator.drain().await;
        })
        .await;
        assert_eq!(coordinator.totals().completed, 10);
    });
}

/// C5 after a wait for a permit: an item that passed the gate and then waited for a
/// concurrency permit is checked again once it has one, so a `cancel_on` signal raised
/// meanwhile still cancels it before its body starts.
fn a_signal_raised_while_waiting_for_a_permit_still_cancels<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (release, wait) = smol::channel::unbounded::<()>();
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = ran.clone();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default()
                .max_concurrency(1)
                .concurrency_ceiling(2)
                .cancel_on("circuit-open"),
            move |_: u32, _: OpContext| {
                let (wait, counter) = (wait.clone(), counter.clone());
                async move {
                    counter.fetch_add(1, SeqCst);
                    let _ = wait.recv().await;
                }
            },
        )
        .unwrap();
        let (first, second) = within(LIMIT, async {
            let first = coordinator.enqueue(0).await.unwrap();
            until(|| coordinator.active_count() >= 1).await;
            // The second worker takes this one, passes the gate and waits for the permit.
            let second = coordinator.enqueue(1).await.unwrap();
            settle().await;
            coordinator.signals().raise("circuit-open").unwrap();
            release.close();
            coordinator.complete();
            coordinator.drain().await;
            (first, second)
        })
        .await;
        assert_eq!(
            ran.load(SeqCst),
            1,
            "{}: the second body must not start",
            E::NAME
        );
        assert_eq!(coordinator.get(first).unwrap().state, State::Completed);
        let open = coordinator.signals().signal("circuit-open").unwrap();
        assert_eq!(
            coordinator.get(second).unwrap().outcome,
            Some(Outcome::Cancelled(CancelCause::Signal(open)))
        );
    });
}

/// With `max_age`, re-raising an expired `resume_on` signal is a change deferred work
/// waits for: it wakes at once (the clock never moves again, so only that raise can).
fn re_raising_an_expired_signal_wakes_deferred_work<E: Executor>(exec: E) {
    let clock = ManualClock::new();
    let rt = Runtime {
        spawner: exec.rt(),
        timer: clock.clone(),
    };
    exec.block_on(async move {
        let sink = SignalSink::builder()
            .max_age(Duration::from_secs(10))
            .clock(clock.clone())
            .build();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default()
                .max_concurrency(1)
                .signals(sink.clone())
                .defer_on("busy")
                .resume_on("override"),
            |_: u32, _: OpContext| async {},
        )
        .unwrap();
        sink.raise("override").unwrap();
        clock.advance(Duration::from_secs(11));
        sink.raise("busy").unwrap();
        within(LIMIT, async {
            coordinator.enqueue(0).await.unwrap();
            until(|| coordinator.deferred_count() >= 1).await;
            sink.raise("override").unwrap();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert_eq!(coordinator.totals().completed, 1);
        assert_eq!(coordinator.totals().deferred, 1);
    });
}

/// A handler that panics, even before returning its future, loses only its own event:
/// the others are handled and `drain` returns.
fn a_panicking_handler_loses_only_its_own_event<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let handled = Arc::new(AtomicUsize::new(0));
        let count = handled.clone();
        let sink = SignalSink::new();
        let names = sink.clone();
        let coordinator = WorkCoordinator::<u32, _>::builder(
            rt,
            Options::default()
                .signals(sink)
                .max_concurrent_signal_handlers(1),
        )
        .on_signal_async(move |event| {
            if names.name(event.signal).is_some_and(|n| n == "boom") {
                panic!("handler refused its event");
            }
            let count = count.clone();
            async move {
                count.fetch_add(1, SeqCst);
            }
        })
        .build(|n: u32, ctx: OpContext| async move {
            ctx.signal(if n == 2 { "boom" } else { "fine" }).unwrap();
        })
        .unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(0..5).await.unwrap();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert_eq!(handled.load(SeqCst), 4, "{}", E::NAME);
    });
}

on_every_executor!(
    backpressure_defers_new_work_until_retracted,
    circuit_open_cancels_new_work_with_the_signal,
    one_sink_steers_two_coordinators,
    async_handlers_are_bounded_and_drained,
    a_full_handler_queue_drops_the_oldest,
    drain_on_signal_completes_the_coordinator,
    a_signal_raised_while_waiting_for_a_permit_still_cancels,
    re_raising_an_expired_signal_wakes_deferred_work,
    a_panicking_handler_loses_only_its_own_event,
    an_unbounded_deferral_ends_at_the_retract,
);
