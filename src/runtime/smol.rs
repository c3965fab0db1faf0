//! The smol adapter.

use core::future::Future;
use core::time::Duration;

use super::{IoSleep, Spawner, Timer, monotonic};

/// Spawns on smol's global executor and sleeps on its reactor.
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
