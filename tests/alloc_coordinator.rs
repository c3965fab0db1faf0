//! IMPLEMENTATION.md C9: after warm-up, items through `WorkCoordinator`,
//! `KeyedWorkCoordinator` (keys already seen, and new keys whose clone does not
//! allocate), `ResultCoordinator` and `for_each` allocate nothing, nor do their
//! completions consumed as they happen.
//!
//! The coordinator runs on a deliberately trivial executor that polls every spawned task
//! in turn with a no-op waker: it never allocates after spawning, so every allocation
//! counted during the measured stretch is the library's. (Real executors allocate on
//! their own: smol's run queue allocates a block every 31 wake-ups, for instance.)

mod counting;

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::sync::{Arc, Mutex};

use ephemeral::runtime::{ManualClock, Spawner, Timer};
use ephemeral::{
    Completion, KeyedWorkCoordinator, OpContext, Options, ResultCoordinator, WorkCoordinator,
    for_each,
};
use futures_lite::future;

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Spawned tasks, polled round-robin by [`PollAll::block_on`].
#[derive(Clone, Default)]
struct PollAll {
    tasks: Arc<Mutex<Vec<Task>>>,
    clock: ManualClock,
}

impl PollAll {
    /// Polls `main` and every spawned task until `main` finishes.
    fn block_on<T>(&self, main: impl Future<Output = T>) -> T {
        let mut main = core::pin::pin!(main);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = main.as_mut().poll(&mut cx) {
                return out;
            }
            let mut tasks = self.tasks.lock().unwrap();
            tasks.retain_mut(|task| task.as_mut().poll(&mut cx).is_pending());
        }
    }
}

impl Spawner for PollAll {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.lock().unwrap().push(Box::pin(future));
    }
}

impl Timer for PollAll {
    type Sleep = <ManualClock as Timer>::Sleep;
    fn sleep(&self, duration: Duration) -> Self::Sleep {
        self.clock.sleep(duration)
    }
    fn now(&self) -> Duration {
        self.clock.now()
    }
}

const ITEMS: u64 = 100_000;

/// Runs items 0..10,000 through `run` to warm up, then counts the allocations of
/// `ITEMS` more.
fn allocations_after_warm_up<F: Future<Output = ()>>(
    executor: &PollAll,
    run: impl Fn(core::ops::Range<u64>) -> F,
) -> usize {
    executor.block_on(run(0..10_000));
    counting::allocations_during(|| executor.block_on(run(10_000..10_000 + ITEMS)))
}

/// The run for any coordinator: enqueue each item of the range, then drain.
macro_rules! enqueue_all {
    ($coordinator:expr) => {
        |range: core::ops::Range<u64>| {
            let coordinator = &$coordinator;
            async move {
                for n in range {
                    coordinator.enqueue(n).await.unwrap();
                }
                coordinator.drain().await;
            }
        }
    };
}

#[test]
fn work_coordinator_items_allocate_nothing_after_warm_up() {
    let executor = PollAll::default();
    let coordinator = WorkCoordinator::new(
        executor.clone(),
        Options::default()
            .max_concurrency(8)
            .queue_capacity(64)
            .max_tracked(100),
        |n: u64, _: OpContext| async move {
            if n.is_multiple_of(2) {
                future::yield_now().await;
            }
            if n.is_multiple_of(10) { Err(n) } else { Ok(()) }
        },
    )
    .unwrap();
    let allocated = allocations_after_warm_up(&executor, enqueue_all!(coordinator));
    assert_eq!(allocated, 0, "allocations for {ITEMS} items");
    assert_eq!(coordinator.totals().enqueued, 10_000 + ITEMS);
    assert_eq!(coordinator.totals().failed, (10_000 + ITEMS) / 10);
}

#[test]
fn completions_consumed_as_they_happen_allocate_nothing_after_warm_up() {
    let executor = PollAll::default();
    let coordinator = WorkCoordinator::builder(
        executor.clone(),
        Options::default()
            .max_concurrency(8)
            .queue_capacity(64)
            .max_tracked(100),
    )
    .completions(256)
    .build(|n: u64, _: OpContext| async move {
        if n.is_multiple_of(2) {
            future::yield_now().await;
        }
        if n.is_multiple_of(10) { Err(n) } else { Ok(()) }
    })
    .unwrap();
    let run = |range: core::ops::Range<u64>| {
        let coordinator = &coordinator;
        let count = range.end - range.start;
        async move {
            let consume = async {
                let mut seen = 0;
                while seen < count {
                    match coordinator.next_finished().await {
                        Some(Completion::Finished(_)) => seen += 1,
                        Some(Completion::Lagged(missed)) => seen += missed,
                        None => break,
                    }
                }
                seen
            };
            let produce = async {
                for n in range {
                    coordinator.enqueue(n).await.unwrap();
                }
            };
            let (seen, ()) = future::zip(consume, produce).await;
            assert_eq!(seen, count);
            coordinator.drain().await;
        }
    };
    let allocated = allocations_after_warm_up(&executor, run);
    assert_eq!(
        allocated, 0,
        "allocations for {ITEMS} items and their completions"
    );
    assert_eq!(coordinator.totals().enqueued, 10_000 + ITEMS);
}

#[test]
fn for_each_items_allocate_only_its_fixed_setup() {
    let options = Options::default().max_concurrency(8).max_tracked(100);
    let run = |items: u64| {
        future::block_on(for_each(
            0..items,
            &options,
            |n: u64, _: OpContext| async move {
                if n.is_multiple_of(2) {
                    future::yield_now().await;
                }
            },
        ))
        .unwrap()
    };
    run(1_000);
    // A run allocates its window, in-flight array and summary once, whatever its length:
    // the count for 100 items and for 100,000 items must be the same.
    let small = counting::allocations_during(|| assert_eq!(run(100).completed, 100));
    let large = counting::allocations_during(|| assert_eq!(run(ITEMS).completed, ITEMS));
    assert_eq!(large, small, "per-item allocations in for_each");
}

/// C9 with signals on: every item passes the signal gate (three patterns compiled to
/// masks), and every body raises a signal, recorded on its operation and reported to a
/// sync callback and to async handlers.
#[test]
fn items_raising_signals_through_a_gated_coordinator_allocate_nothing() {
    let executor = PollAll::default();
    let options = Options::default()
        .max_concurrency(8)
        .queue_capacity(64)
        .max_tracked(100)
        .cancel_on("circuit-open")
        .defer_on("backpressure.*")
        .resume_on("override");
    let coordinator = WorkCoordinator::<u64, _>::builder(executor.clone(), options)
        .on_signal(|event| {
            std::hint::black_box(event);
        })
        .on_signal_async(|event| async move {
            std::hint::black_box(event);
        })
        .build(|n: u64, ctx: OpContext| async move {
            ctx.signal(if n.is_multiple_of(3) { "fizz" } else { "seen" })
                .unwrap();
            future::yield_now().await;
        })
        .unwrap();
    let allocated = allocations_after_warm_up(&executor, enqueue_all!(coordinator));
    assert_eq!(allocated, 0, "allocations for {ITEMS} signalling items");
    assert_eq!(coordinator.totals().completed, 10_000 + ITEMS);
    assert_eq!(
        coordinator.count_signals("seen") + coordinator.count_signals("fizz"),
        100
    );
}

/// 1,000 keys in rotation through a queue of 64: keys keep going idle (their entries
/// freed) and coming back (entries taken again), and none of it allocates.
#[test]
fn keyed_items_allocate_nothing_after_warm_up() {
    let executor = PollAll::default();
    let coordinator = KeyedWorkCoordinator::builder(
        executor.clone(),
        |n: &u64| n % 1_000,
        Options::default()
            .max_concurrency(8)
            .queue_capacity(64)
            .max_tracked(100),
    )
    .max_concurrency_per_key(2)
    .build(|n: u64, _: OpContext| async move {
        if n.is_multiple_of(2) {
            future::yield_now().await;
        }
    })
    .unwrap();
    let allocated = allocations_after_warm_up(&executor, enqueue_all!(coordinator));
    assert_eq!(allocated, 0, "allocations for {ITEMS} keyed items");
    assert_eq!(coordinator.totals().completed, 10_000 + ITEMS);
    assert_eq!(coordinator.active_keys(), 0);
}

/// Per-key gates cost no allocation per item either: each item's name is written into
/// a buffer on the stack and looked up, and a key whose signal is present (deferred,
/// then run at once: a zero bound) takes the gate's locked path.
#[test]
fn gated_keyed_items_allocate_nothing_after_warm_up() {
    let executor = PollAll::default();
    let sink = ephemeral::signal::SignalSink::new();
    sink.raise("open.5").unwrap();
    let coordinator = KeyedWorkCoordinator::builder(
        executor.clone(),
        |n: &u64| n % 1_000,
        Options::default()
            .max_concurrency(8)
            .queue_capacity(64)
            .max_tracked(100)
            .max_defer(Duration::ZERO)
            .signals(sink.clone()),
    )
    .defer_on_key("open.{key}", |key, name| {
        core::fmt::Write::write_fmt(name, format_args!("{key}"))
    })
    .build(|_: u64, _: OpContext| async {})
    .unwrap();
    let allocated = allocations_after_warm_up(&executor, enqueue_all!(coordinator));
    assert_eq!(allocated, 0, "allocations for {ITEMS} gated keyed items");
    assert_eq!(coordinator.totals().completed, 10_000 + ITEMS);
    assert_eq!(sink.table().len(), 1, "checks intern no name");
}

/// Results consumed in finishing order while items are submitted, joined by id, or
/// waited on and then taken: once each wake-up has been listened on, nothing allocates
/// (the results store was allocated at build and is only moved within).
#[test]
fn result_items_allocate_nothing_after_warm_up_consumed_joined_or_waited_on() {
    let executor = PollAll::default();
    let coordinator = ResultCoordinator::new(
        executor.clone(),
        Options::default()
            .max_concurrency(8)
            .queue_capacity(64)
            .max_tracked(100),
        |n: u64, _: OpContext| async move {
            future::yield_now().await;
            if n.is_multiple_of(10) {
                Err(n)
            } else {
                Ok(n * 2)
            }
        },
    )
    .unwrap();
    let consumed = allocations_after_warm_up(&executor, |range| {
        let coordinator = &coordinator;
        async move {
            let items = range.end - range.start;
            let submit = async {
                for n in range {
                    coordinator.enqueue(n).await.unwrap();
                }
            };
            let consume = async {
                for _ in 0..items {
                    let (_, result) = coordinator.next_result().await.unwrap();
                    let _ = result;
                }
            };
            future::zip(submit, consume).await;
        }
    });
    assert_eq!(
        consumed, 0,
        "allocations for {ITEMS} result items, consumed in finishing order"
    );
    let joined = allocations_after_warm_up(&executor, |range| {
        let coordinator = &coordinator;
        async move {
            for n in range {
                let id = coordinator.enqueue(n).await.unwrap();
                let result = coordinator.join(id).await;
                assert_eq!(result.is_ok(), !n.is_multiple_of(10));
            }
        }
    });
    assert_eq!(
        joined, 0,
        "allocations for {ITEMS} result items, each joined"
    );
    let watched = allocations_after_warm_up(&executor, |range| {
        let coordinator = &coordinator;
        async move {
            for n in range {
                let id = coordinator.enqueue(n).await.unwrap();
                let result = coordinator.wait_for_result(id).await;
                assert_eq!(result.is_ok(), !n.is_multiple_of(10));
                assert_eq!(coordinator.take_result(id), result);
            }
        }
    });
    assert_eq!(
        watched, 0,
        "allocations for {ITEMS} result items, each waited on"
    );
    assert_eq!(coordinator.results_reserved(), 0);
}

/// C9 through a `Sink`: items sent through a coordinator's sink (waiting in it while the
/// queue is full) allocate nothing either: the enqueue it drives lives inside the sink.
#[cfg(feature = "sink")]
#[test]
fn items_sent_through_a_sink_allocate_nothing_after_warm_up() {
    use futures::SinkExt;

    let executor = PollAll::default();
    let coordinator = WorkCoordinator::new(
        executor.clone(),
        Options::default()
            .max_concurrency(8)
            .queue_capacity(64)
            .max_tracked(100),
        |n: u64, _: OpContext| async move {
            if n.is_multiple_of(2) {
                future::yield_now().await;
            }
        },
    )
    .unwrap();
    let run = |range: core::ops::Range<u64>| {
        let coordinator = &coordinator;
        async move {
            let mut sink = core::pin::pin!(coordinator.sink());
            for n in range {
                sink.send(n).await.unwrap();
            }
            coordinator.drain().await;
        }
    };
    let allocated = allocations_after_warm_up(&executor, run);
    assert_eq!(allocated, 0, "allocations for {ITEMS} items");
    assert_eq!(coordinator.totals().completed, 10_000 + ITEMS);
}
