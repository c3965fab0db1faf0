//! The tokio adapter.

use core::fmt;
use core::future::Future;
use core::time::Duration;

use super::{Spawner, Timer, monotonic};

/// Spawns onto a tokio runtime through its [`Handle`](tokio::runtime::Handle) and
/// sleeps with `tokio::time` (the runtime needs its time driver: `enable_time()`).
///
/// ```
/// use core::time::Duration;
/// use ephemeral::runtime::{Spawner, Timer, Tokio};
///
/// let rt = tokio::runtime::Builder::new_multi_thread().enable_time().build().unwrap();
/// let tokio = Tokio::new(rt.handle().clone());
/// let (tx, rx) = std::sync::mpsc::channel();
/// let timer = tokio.clone();
/// tokio.spawn(async move {
///     timer.sleep(Duration::from_millis(1)).await;
///     tx.send(()).unwrap();
/// });
/// rx.recv_timeout(Duration::from_secs(5)).unwrap();
/// ```
///
/// A [`Handle`](tokio::runtime::Handle) converts: `Tokio::from(handle)`, or pass
/// `handle.into()` where a runtime is expected.
///
/// ```
/// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Tokio};
///
/// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// let coordinator = WorkCoordinator::new(
///     Tokio::from(rt.handle().clone()),
///     Options::default(),
///     |_: u32, _: OpContext| async {},
/// )
/// .unwrap();
/// rt.block_on(async {
///     coordinator.enqueue(1).await.unwrap();
///     coordinator.complete();
///     coordinator.drain().await;
/// });
/// assert_eq!(coordinator.totals().completed, 1);
/// ```
#[derive(Clone, Debug)]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub struct Tokio {
    handle: tokio::runtime::Handle,
}

impl Tokio {
    /// An adapter for the runtime behind `handle`.
    ///
    /// ```
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    /// let _tokio = ephemeral::runtime::Tokio::new(rt.handle().clone());
    /// ```
    pub fn new(handle: tokio::runtime::Handle) -> Self {
        Self { handle }
    }

    /// An adapter for the runtime this thread is running in, or an error outside one.
    ///
    /// ```
    /// use ephemeral::runtime::Tokio;
    ///
    /// assert!(Tokio::try_current().is_err());
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    /// rt.block_on(async { assert!(Tokio::try_current().is_ok()) });
    /// ```
    pub fn try_current() -> Result<Self, NoTokioRuntime> {
        tokio::runtime::Handle::try_current()
            .map(Self::new)
            .map_err(|_| NoTokioRuntime)
    }
}

/// Same as [`Tokio::new`].
impl From<tokio::runtime::Handle> for Tokio {
    fn from(handle: tokio::runtime::Handle) -> Self {
        Self::new(handle)
    }
}

/// [`Tokio::try_current`] was called outside a tokio runtime.
///
/// ```
/// let err = ephemeral::runtime::Tokio::try_current().unwrap_err();
/// assert_eq!(err.to_string(), "not inside a tokio runtime");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub struct NoTokioRuntime;

impl fmt::Display for NoTokioRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not inside a tokio runtime")
    }
}

impl core::error::Error for NoTokioRuntime {}

impl Spawner for Tokio {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // Dropping the JoinHandle detaches the task.
        drop(self.handle.spawn(future));
    }
}

impl Timer for Tokio {
    type Sleep = tokio::time::Sleep;

    fn sleep(&self, duration: Duration) -> tokio::time::Sleep {
        // Entering the handle lets a sleep be created on threads outside the runtime.
        let _guard = self.handle.enter();
        tokio::time::sleep(duration)
    }

    fn now(&self) -> Duration {
        monotonic::now()
    }
}
