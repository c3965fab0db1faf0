//! The smol adapter.

use crate::sync::Handle;
use core::fmt;
use core::future::Future;
use core::time::Duration;

use super::{IoSleep, Spawner, Timer, monotonic};

/// Spawns on smol's global executor and sleeps on its reactor. To spawn on an
/// executor of your own instead, use [`SmolExecutor`].
///
/// ```
/// use core::time::Duration;
/// use ephemeral::runtime::{Smol, Spawner, Timer};
///
/// let (tx, rx) = async_channel_stub();
/// Smol.spawn(async move {
///     Smol.sleep(Duration::from_millis(1)).await;
///     tx.send(()).unwrap();
/// });
/// rx.recv_timeout(Duration::from_secs(5)).unwrap();
/// # fn async_channel_stub() -> (std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>) {
/// #     std::sync::mpsc::channel()
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
pub struct Smol;

impl Spawner for Smol {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        smol::spawn(future).detach();
    }
}

impl Timer for Smol {
    type Sleep = IoSleep;

    fn sleep(&self, duration: Duration) -> IoSleep {
        IoSleep(smol::Timer::after(duration))
    }

    fn now(&self) -> Duration {
        monotonic::now()
    }
}

/// Spawns on a smol (`async-executor`) executor of your own and sleeps on smol's
/// reactor: for an application that runs its own `smol::Executor` (a pool of its own
/// threads, or one it drives with `run`) rather than the global one [`Smol`] uses.
///
/// ```
/// use std::sync::Arc;
/// use ephemeral::runtime::SmolExecutor;
/// use ephemeral::{OpContext, Options, WorkCoordinator};
///
/// let executor = Arc::new(smol::Executor::new());
/// let coordinator = WorkCoordinator::new(
///     SmolExecutor::from(executor.clone()),
///     Options::default().max_concurrency(2),
///     |n: u32, _: OpContext| async move { let _ = n; },
/// )
/// .unwrap();
/// // The workers run only while something runs this executor.
/// smol::block_on(executor.run(async {
///     coordinator.enqueue_many(0..10).await.unwrap();
///     coordinator.complete();
///     coordinator.drain().await;
/// }));
/// assert_eq!(coordinator.totals().completed, 10);
/// ```
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
pub struct SmolExecutor {
    executor: Handle<smol::Executor<'static>>,
}

impl SmolExecutor {
    /// An adapter spawning on `executor`.
    ///
    /// ```
    /// let _rt = ephemeral::runtime::SmolExecutor::new(std::sync::Arc::new(smol::Executor::new()));
    /// ```
    pub fn new(executor: Handle<smol::Executor<'static>>) -> Self {
        Self { executor }
    }
}

/// Same as [`SmolExecutor::new`].
impl From<Handle<smol::Executor<'static>>> for SmolExecutor {
    fn from(executor: Handle<smol::Executor<'static>>) -> Self {
        Self::new(executor)
    }
}

impl fmt::Debug for SmolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmolExecutor").finish_non_exhaustive()
    }
}

impl Spawner for SmolExecutor {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.executor.spawn(future).detach();
    }
}

impl Timer for SmolExecutor {
    type Sleep = IoSleep;

    fn sleep(&self, duration: Duration) -> IoSleep {
        Smol.sleep(duration)
    }

    fn now(&self) -> Duration {
        monotonic::now()
    }
}
