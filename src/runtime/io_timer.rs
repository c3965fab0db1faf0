//! The sleep future shared by the smol and async-std adapters (both drive async-io's
//! reactor, whose timers they use themselves).

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// `async_io::Timer` with its `Instant` output dropped, as [`Timer::Sleep`](super::Timer::Sleep) needs.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use core::time::Duration;
/// use ephemeral::runtime::{Smol, Timer};
///
/// smol::block_on(Smol.sleep(Duration::from_millis(1)));
/// # }
/// ```
#[derive(Debug)]
#[cfg_attr(docsrs, doc(cfg(any(feature = "smol", feature = "async-std"))))]
pub struct IoSleep(pub(super) async_io::Timer);

impl Future for IoSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}
