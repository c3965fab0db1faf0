//! The four executors the suite runs on.

use core::future::Future;
use core::time::Duration;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

use ephemeral::runtime::{AsyncStd, IoSleep, Smol, Spawner, Timer, Tokio};

use crate::Executor;

/// smol's global executor (its threads plus the blocking caller).
pub struct SmolExec;

impl Executor for SmolExec {
    type Rt = Smol;
    const NAME: &'static str = "smol";
    fn rt(&self) -> Smol {
        Smol
    }
    fn block_on<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        smol::block_on(smol::spawn(future));
    }
}

/// A tokio multi-thread runtime with two workers.
pub struct TokioExec {
    runtime: tokio::runtime::Runtime,
}

impl TokioExec {
    /// Builds the runtime.
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .expect("tokio runtime");
        Self { runtime }
    }
}

impl Default for TokioExec {
    fn default() -> Self {
        Self::new()
    }
}

impl Executor for TokioExec {
    type Rt = Tokio;
    const NAME: &'static str = "tokio";
    fn rt(&self) -> Tokio {
        Tokio::new(self.runtime.handle().clone())
    }
    fn block_on<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        self.runtime
            .block_on(self.runtime.spawn(future))
            .expect("test task panicked");
    }
}

/// async-std's global executor.
pub struct AsyncStdExec;

impl Executor for AsyncStdExec {
    type Rt = AsyncStd;
    const NAME: &'static str = "async-std";
    fn rt(&self) -> AsyncStd {
        AsyncStd
    }
    fn block_on<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        async_std::task::block_on(async_std::task::spawn(future));
    }
}

/// One `async_executor::Executor` driven by the calling thread alone: every spawned
/// task and the test itself interleave on one thread.
#[derive(Clone)]
pub struct SingleThread {
    executor: Arc<smol::Executor<'static>>,
}

impl Spawner for SingleThread {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.executor.spawn(future).detach();
    }
}

impl Timer for SingleThread {
    type Sleep = IoSleep;
    fn sleep(&self, duration: Duration) -> IoSleep {
        Smol.sleep(duration)
    }
    fn now(&self) -> Duration {
        Smol.now()
    }
}

/// The single-threaded executor.
pub struct SingleThreadExec {
    rt: SingleThread,
}

impl SingleThreadExec {
    /// A fresh executor.
    pub fn new() -> Self {
        Self {
            rt: SingleThread {
                executor: Arc::new(smol::Executor::new()),
            },
        }
    }
}

impl Default for SingleThreadExec {
    fn default() -> Self {
        Self::new()
    }
}

impl Executor for SingleThreadExec {
    type Rt = SingleThread;
    const NAME: &'static str = "single-thread";
    fn rt(&self) -> SingleThread {
        self.rt.clone()
    }
    fn block_on<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        let task = self.rt.executor.spawn(future);
        futures_lite::future::block_on(self.rt.executor.run(task));
    }
}

/// A private smol executor (`async_executor`, with async-io's reactor for timers) run by
/// two threads of its own. Unlike [`SmolExec`] it can be shut down, as a tokio runtime
/// can: dropping it stops and joins its threads, then drops every task still on it. A
/// test that builds one per case can therefore tell "the code under test let go of its
/// tasks" (checked while the pool runs) from "the executor still holds them".
pub struct SmolPool {
    executor: Arc<smol::Executor<'static>>,
    stop: Option<smol::channel::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    escaped: Arc<AtomicUsize>,
}

/// The [`SmolPool`]'s spawner and timer. It holds the executor weakly, so handles kept
/// by the code under test never keep a dropped pool's tasks alive; a spawn after the
/// pool is gone drops the future unpolled.
#[derive(Clone)]
pub struct SmolPoolHandle {
    executor: Weak<smol::Executor<'static>>,
}

impl Spawner for SmolPoolHandle {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        if let Some(executor) = self.executor.upgrade() {
            executor.spawn(future).detach();
        }
    }
}

impl Timer for SmolPoolHandle {
    type Sleep = IoSleep;
    fn sleep(&self, duration: Duration) -> IoSleep {
        Smol.sleep(duration)
    }
    fn now(&self) -> Duration {
        Smol.now()
    }
}

impl SmolPool {
    /// A pool with two threads.
    pub fn new() -> Self {
        let executor = Arc::new(smol::Executor::new());
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let escaped = Arc::new(AtomicUsize::new(0));
        let threads = (0..2)
            .map(|_| {
                let (executor, stopped, escaped) =
                    (executor.clone(), stopped.clone(), escaped.clone());
                std::thread::spawn(move || {
                    // A task that panics unwinds out of `run`; count it and run on, as
                    // smol's global executor does.
                    while catch_unwind(AssertUnwindSafe(|| {
                        smol::block_on(executor.run(stopped.recv()))
                    }))
                    .is_err()
                    {
                        escaped.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        Self {
            executor,
            stop: Some(stop),
            threads,
            escaped,
        }
    }

    /// How many panics escaped a task on this pool (a task that panics dies there).
    pub fn escaped_panics(&self) -> usize {
        self.escaped.load(Ordering::SeqCst)
    }
}

impl Default for SmolPool {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SmolPool {
    fn drop(&mut self) {
        // Closing the channel ends every thread's `run`; then the last strong handle
        // goes, and the executor's own `Drop` drops the tasks left on it.
        self.stop = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Executor for SmolPool {
    type Rt = SmolPoolHandle;
    const NAME: &'static str = "smol";
    fn rt(&self) -> SmolPoolHandle {
        SmolPoolHandle {
            executor: Arc::downgrade(&self.executor),
        }
    }
    fn block_on<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        smol::block_on(self.executor.spawn(future));
    }
}
