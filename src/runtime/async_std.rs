//! The async-std adapter. async-std is discontinued upstream (RUSTSEC-2025-0052); this
//! adapter stays optional for code that still runs on it.

use core::future::Future;
use core::time::Duration;

use super::{IoSleep, Spawner, Timer, monotonic};

/// Spawns with `async_std::task::spawn` and sleeps on async-io's reactor, the one
/// async-std drives.
///
/// ```
/// use core::time::Duration;
/// use ephemeral::runtime::{AsyncStd, Spawner, Timer};
///
/// let (tx, rx) = std::sync::mpsc::channel();
/// AsyncStd.spawn(async move {
///     AsyncStd.sleep(Duration::from_millis(1)).await;
///     tx.send(()).unwrap();
/// });
/// rx.recv_timeout(Duration::from_secs(5)).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(docsrs, doc(cfg(feature = "async-std")))]
pub struct AsyncStd;

impl Spawner for AsyncStd {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // Dropping async-std's JoinHandle detaches the task.
        drop(async_std::task::spawn(future));
    }
}

impl Timer for AsyncStd {
    type Sleep = IoSleep;

    fn sleep(&self, duration: Duration) -> IoSleep {
        IoSleep(async_io::Timer::after(duration))
    }

    fn now(&self) -> Duration {
        monotonic::now()
    }
}
