//! Bounds on how long a scenario waits, and the ways it waits.

use core::future::Future;
use core::time::Duration;

use ephemeral::runtime::{Smol, Timer};

/// How long anything a scenario waits for may take before the test fails: far beyond
/// any healthy run, so only a hang reaches it.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Sleeps on smol's timer, which works on every executor (and outside any).
pub async fn nap(duration: Duration) {
    Timer::sleep(&Smol, duration).await;
}

/// `future`'s output, or `None` if it did not finish within `limit` of real time. Unlike
/// [`within`] it does not panic, so a scenario can first put the coordinator somewhere
/// safe to drop.
pub async fn finishes_within<T>(limit: Duration, future: impl Future<Output = T>) -> Option<T> {
    futures_lite::future::or(async { Some(future.await) }, async {
        nap(limit).await;
        None
    })
    .await
}

/// Fails the calling test if `future` does not finish within `limit` of real time.
pub async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    finishes_within(limit, future)
        .await
        .unwrap_or_else(|| panic!("did not finish within {limit:?}"))
}

/// Lets other tasks run a while (on any executor, including a single thread).
pub async fn settle() {
    for _ in 0..50 {
        futures_lite::future::yield_now().await;
    }
}

/// Yields until `done()` holds (the caller bounds the wait, with [`within`]).
pub async fn until(done: impl Fn() -> bool) {
    while !done() {
        futures_lite::future::yield_now().await;
    }
}
