//! The four executors the suite runs on.

use core::future::Future;
use core::time::Duration;
use std::sync::Arc;

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
