//! Per-item cost of bounded concurrent processing: `ephemeral` against its peers.
//!
//! Every contender processes `N` items with at most 8 bodies in flight and waits until all
//! `N` were processed (the count is asserted on every pass). A body either does nothing
//! (`noop/…`) or yields once to its executor (`yield/…`), so what is measured is the
//! machinery: queueing, admission, wake-ups and bookkeeping. Divide a reported time by `N`
//! for the cost per item. All contenders are in one group, so their numbers compare.
//!
//! On 2 threads (a smol executor driven by 2 threads, a tokio runtime with 2 workers), the
//! producer running in a task:
//! - `work_coordinator_smol`, `work_coordinator_tokio`: an `ephemeral::WorkCoordinator`
//!   (concurrency 8, queue 1024); the producer enqueues every item, then completes and drains.
//! - `keyed_coordinator_tokio`: an `ephemeral::KeyedWorkCoordinator` over 1,000 keys
//!   (`item % 1000`, one body per key at a time), otherwise as the work coordinator.
//! - `result_coordinator_tokio`: an `ephemeral::ResultCoordinator` keeping each body's
//!   value (`item * 2`) in the window; nobody waits on results.
//! - `tokio_semaphore_spawn`: a tokio `Semaphore` of 8 permits, one `tokio::spawn` per item.
//! - `tokio_mpsc_workers`: a bounded tokio mpsc channel (1024) whose receiver, behind a tokio
//!   `Mutex`, is shared by 8 worker tasks.
//! - `async_channel_smol_workers`: a bounded async-channel (1024) read by 8 smol tasks.
//!
//! Inside one task on the calling thread (`block_on`):
//! - `ephemeral_for_each`: `ephemeral::for_each` with concurrency 8.
//! - `futures_for_each_concurrent`: `StreamExt::for_each_concurrent(8, body)`.
//! - `futures_buffer_unordered`: `.map(body).buffer_unordered(8).for_each(…)`.
//!
//! A counting global allocator measures each contender on one extra, untimed pass after a
//! warm-up pass and prints its allocations per item to stderr (`allocs/item`). The count
//! covers everything in the pass: one-off setup (amortised over `N`) and the executor's
//! own allocations as well as the contender's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use ephemeral::runtime::{IoSleep, Smol, Spawner, Timer, Tokio};
use ephemeral::{KeyedWorkCoordinator, OpContext, Options, ResultCoordinator, WorkCoordinator};
use futures::StreamExt;
use futures_lite::future;
use smol::Executor;
use tokio::runtime::Runtime;
use tokio::sync::{Mutex, Semaphore, mpsc};

/// Items per pass.
const N: u64 = 1_000_000;
/// Bodies in flight at once.
const CONCURRENCY: usize = 8;
/// Capacity of every bounded queue.
const QUEUE: usize = 1024;
/// Threads of each multi-threaded executor.
const THREADS: usize = 2;

/// Counts allocations and reallocations while [`COUNTING`] is set, so the timed passes
/// pay only a relaxed load per allocation.
struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

impl CountingAllocator {
    fn count() {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::count();
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// The body every contender runs on each item: nothing, or one yield to the executor.
async fn body<const YIELD: bool>(item: u64) {
    if YIELD {
        future::yield_now().await;
    }
    black_box(item);
}

/// A multi-threaded executor that runs a producer task and blocks until it finishes.
trait Pool {
    /// `ephemeral`'s seam to this executor.
    type Runtime: Spawner + Timer;

    fn runtime(&self) -> Self::Runtime;

    fn run<T: Send + 'static>(&self, task: impl Future<Output = T> + Send + 'static) -> T;
}

/// A smol executor driven by [`THREADS`] threads, stopped and joined on drop.
struct SmolPool {
    executor: Arc<Executor<'static>>,
    stop: async_channel::Sender<()>,
    threads: Vec<JoinHandle<()>>,
}

impl SmolPool {
    fn new() -> Self {
        let executor = Arc::new(Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let threads = (0..THREADS)
            .map(|_| {
                let (executor, stopped) = (executor.clone(), stopped.clone());
                std::thread::spawn(move || {
                    let _ = future::block_on(executor.run(stopped.recv()));
                })
            })
            .collect();
        Self {
            executor,
            stop,
            threads,
        }
    }
}

impl Drop for SmolPool {
    fn drop(&mut self) {
        self.stop.close();
        for thread in self.threads.drain(..) {
            thread.join().expect("an executor thread panicked");
        }
    }
}

impl Pool for SmolPool {
    type Runtime = SmolRuntime;

    fn runtime(&self) -> SmolRuntime {
        SmolRuntime(self.executor.clone())
    }

    fn run<T: Send + 'static>(&self, task: impl Future<Output = T> + Send + 'static) -> T {
        future::block_on(self.executor.spawn(task))
    }
}

/// Spawns on a [`SmolPool`]'s executor; time comes from `ephemeral`'s smol adapter.
struct SmolRuntime(Arc<Executor<'static>>);

impl Spawner for SmolRuntime {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.spawn(future).detach();
    }
}

impl Timer for SmolRuntime {
    type Sleep = IoSleep;

    fn sleep(&self, duration: Duration) -> IoSleep {
        Smol.sleep(duration)
    }

    fn now(&self) -> Duration {
        Smol.now()
    }
}

impl Pool for Runtime {
    type Runtime = Tokio;

    fn runtime(&self) -> Tokio {
        Tokio::new(self.handle().clone())
    }

    fn run<T: Send + 'static>(&self, task: impl Future<Output = T> + Send + 'static) -> T {
        self.block_on(self.spawn(task))
            .expect("the producer task panicked")
    }
}

fn options() -> Options {
    Options::default()
        .max_concurrency(CONCURRENCY)
        .queue_capacity(QUEUE)
}

/// Enqueues every item into a coordinator, completes and drains it: the producer each
/// `ephemeral` coordinator contender runs. Returns how many items completed.
macro_rules! feed {
    ($coordinator:expr) => {{
        for item in 0..N {
            $coordinator
                .enqueue(item)
                .await
                .expect("open until completed");
        }
        $coordinator.complete();
        $coordinator.drain().await;
        $coordinator.totals().completed
    }};
}

fn work_coordinator<const YIELD: bool>(pool: &impl Pool) -> u64 {
    let runtime = pool.runtime();
    pool.run(async move {
        let coordinator = WorkCoordinator::new(runtime, options(), |item: u64, _: OpContext| {
            body::<YIELD>(item)
        })
        .expect("valid options");
        feed!(coordinator)
    })
}

/// Keys in rotation for the keyed contender.
const KEYS: u64 = 1_000;

fn keyed_coordinator<const YIELD: bool>(pool: &impl Pool) -> u64 {
    let runtime = pool.runtime();
    pool.run(async move {
        let coordinator = KeyedWorkCoordinator::new(
            runtime,
            |item: &u64| item % KEYS,
            options(),
            |item: u64, _: OpContext| body::<YIELD>(item),
        )
        .expect("valid options");
        feed!(coordinator)
    })
}

fn result_coordinator<const YIELD: bool>(pool: &impl Pool) -> u64 {
    let runtime = pool.runtime();
    pool.run(async move {
        let coordinator =
            ResultCoordinator::new(runtime, options(), |item: u64, _: OpContext| async move {
                body::<YIELD>(item).await;
                Ok::<_, ()>(item * 2)
            })
            .expect("valid options");
        // Results are kept until taken, and untaken ones hold the producer back: take
        // them in finishing order as they come, as a JoinSet's user would.
        let consume = async {
            let mut taken = 0;
            while coordinator.next_result().await.is_some() {
                taken += 1;
            }
            taken
        };
        let (completed, taken) =
            futures_lite::future::zip(async { feed!(coordinator) }, consume).await;
        assert_eq!(taken, N);
        completed
    })
}

fn tokio_semaphore_spawn<const YIELD: bool>(runtime: &Runtime) -> u64 {
    runtime.run(async {
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        let processed = Arc::new(AtomicU64::new(0));
        for item in 0..N {
            let permit = permits.clone().acquire_owned().await.expect("never closed");
            let processed = processed.clone();
            tokio::spawn(async move {
                body::<YIELD>(item).await;
                processed.fetch_add(1, Ordering::Relaxed);
                drop(permit);
            });
        }
        // Every permit back means every spawned body has finished.
        let _all = permits
            .acquire_many(CONCURRENCY as u32)
            .await
            .expect("never closed");
        processed.load(Ordering::Relaxed)
    })
}

fn tokio_mpsc_workers<const YIELD: bool>(runtime: &Runtime) -> u64 {
    runtime.run(async {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        let workers: Vec<_> = (0..CONCURRENCY)
            .map(|_| {
                let receiver = receiver.clone();
                tokio::spawn(async move {
                    let mut processed = 0;
                    loop {
                        // A statement of its own, so the lock is released before the body runs.
                        let next = receiver.lock().await.recv().await;
                        let Some(item) = next else {
                            return processed;
                        };
                        body::<YIELD>(item).await;
                        processed += 1;
                    }
                })
            })
            .collect();
        for item in 0..N {
            sender.send(item).await.expect("workers outlive the sender");
        }
        drop(sender);
        let mut processed = 0;
        for worker in workers {
            processed += worker.await.expect("a worker panicked");
        }
        processed
    })
}

fn async_channel_smol_workers<const YIELD: bool>(pool: &SmolPool) -> u64 {
    let executor = pool.executor.clone();
    pool.run(async move {
        let (sender, receiver) = async_channel::bounded(QUEUE);
        let workers: Vec<_> = (0..CONCURRENCY)
            .map(|_| {
                let receiver = receiver.clone();
                executor.spawn(async move {
                    let mut processed = 0;
                    while let Ok(item) = receiver.recv().await {
                        body::<YIELD>(item).await;
                        processed += 1;
                    }
                    processed
                })
            })
            .collect();
        for item in 0..N {
            sender.send(item).await.expect("workers outlive the sender");
        }
        drop(sender);
        let mut processed = 0;
        for worker in workers {
            processed += worker.await;
        }
        processed
    })
}

fn ephemeral_for_each<const YIELD: bool>() -> u64 {
    let body = |item, _: OpContext| body::<YIELD>(item);
    let summary = future::block_on(ephemeral::for_each(0..N, &options(), body));
    summary.expect("valid options").completed
}

fn futures_for_each_concurrent<const YIELD: bool>() -> u64 {
    let processed = &Cell::new(0);
    future::block_on(futures::stream::iter(0..N).for_each_concurrent(
        CONCURRENCY,
        |item| async move {
            body::<YIELD>(item).await;
            processed.set(processed.get() + 1);
        },
    ));
    processed.get()
}

fn futures_buffer_unordered<const YIELD: bool>() -> u64 {
    let mut processed = 0;
    future::block_on(
        futures::stream::iter(0..N)
            .map(body::<YIELD>)
            .buffer_unordered(CONCURRENCY)
            .for_each(|()| {
                processed += 1;
                future::ready(())
            }),
    );
    processed
}

/// Benchmarks `run`; before the first measurement, prints how much one untimed pass
/// (after a warm-up pass) allocates.
fn contender(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, run: impl Fn() -> u64) {
    let mut counted = false;
    group.bench_function(name, |b| {
        if !counted {
            report_allocations(name, &run);
            counted = true;
        }
        b.iter(|| assert_eq!(run(), N));
    });
}

fn report_allocations(name: &str, run: impl Fn() -> u64) {
    assert_eq!(run(), N, "{name}: every item processed");
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
    let processed = run();
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(processed, N, "{name}: every item processed");
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    eprintln!(
        "{name}: {allocations} allocations in one pass, {:.6} allocs/item",
        allocations as f64 / N as f64
    );
}

/// Registers every contender, with the body that yields once if `YIELD`, else the no-op body.
fn contenders<const YIELD: bool>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    smol: &SmolPool,
    tokio: &Runtime,
) {
    let kind = if YIELD { "yield" } else { "noop" };
    let name = |contender: &str| format!("{kind}/{contender}");
    contender(group, &name("work_coordinator_smol"), || {
        work_coordinator::<YIELD>(smol)
    });
    contender(group, &name("work_coordinator_tokio"), || {
        work_coordinator::<YIELD>(tokio)
    });
    contender(group, &name("keyed_coordinator_tokio"), || {
        keyed_coordinator::<YIELD>(tokio)
    });
    contender(group, &name("result_coordinator_tokio"), || {
        result_coordinator::<YIELD>(tokio)
    });
    contender(group, &name("tokio_semaphore_spawn"), || {
        tokio_semaphore_spawn::<YIELD>(tokio)
    });
    contender(group, &name("tokio_mpsc_workers"), || {
        tokio_mpsc_workers::<YIELD>(tokio)
    });
    contender(group, &name("async_channel_smol_workers"), || {
        async_channel_smol_workers::<YIELD>(smol)
    });
    contender(
        group,
        &name("ephemeral_for_each"),
        ephemeral_for_each::<YIELD>,
    );
    contender(
        group,
        &name("futures_for_each_concurrent"),
        futures_for_each_concurrent::<YIELD>,
    );
    contender(
        group,
        &name("futures_buffer_unordered"),
        futures_buffer_unordered::<YIELD>,
    );
}

fn coordinator(c: &mut Criterion) {
    let smol = SmolPool::new();
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(THREADS)
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let mut group = c.benchmark_group("coordinator");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(N));
    contenders::<false>(&mut group, &smol, &tokio);
    contenders::<true>(&mut group, &smol, &tokio);
    group.finish();
}

criterion_group!(benches, coordinator);
criterion_main!(benches);
