//! The seam between this crate and an executor: [`Spawner`] and [`Timer`].
//!
//! Coordinators are generic over these two traits and name no runtime. Adapters for
//! smol, tokio and async-std live behind the features of the same names (listed below);
//! [`ManualClock`] makes time deterministic in tests. Any other executor (an embedded
//! one, a custom pool) plugs in by implementing the traits.
//!
//! # Your own executor
//!
//! [`Spawner::spawn`] takes a `Send + 'static` future and runs it in the background;
//! [`Timer`] sleeps and reads a monotonic clock. A coordinator spawns its workers once
//! (one per unit of its concurrency ceiling) and each async signal handler's task, and
//! sleeps only to bound deferrals and lane holds, so the spawner may allocate per spawn
//! and the timer may be coarse. The futures are `Send` because other executors poll
//! them from any thread; a single-threaded executor stores them as `Send` futures too,
//! and runs them on its one thread. `examples/local_executor.rs` is a complete
//! executor written by hand (a run queue, a timer list and a `block_on`) driving a
//! coordinator, in about a hundred lines; [`SmolExecutor`](self#adapters) runs on an
//! `async-executor` you own (its `LocalExecutor` cannot be used: it takes no `Send`
//! bound, so it is itself not `Send`). [`BoxedRuntime`] erases whichever runtime it is,
//! for code that stores a coordinator without naming its executor.
//!
//! # Adapters
//!
//! Each is a [`Spawner`] and a [`Timer`], built with its feature:
//!
#![cfg_attr(
    feature = "smol",
    doc = "* `smol`: [`Smol`] (the global executor), [`SmolExecutor`] (one of yours)"
)]
#![cfg_attr(not(feature = "smol"), doc = "* `smol`: `Smol` (not in this build)")]
#![cfg_attr(feature = "tokio", doc = "* `tokio`: [`Tokio`]")]
#![cfg_attr(not(feature = "tokio"), doc = "* `tokio`: `Tokio` (not in this build)")]
#![cfg_attr(feature = "async-std", doc = "* `async-std`: [`AsyncStd`]")]
#![cfg_attr(
    not(feature = "async-std"),
    doc = "* `async-std`: `AsyncStd` (not in this build)"
)]

use core::future::Future;
use core::time::Duration;

mod boxed;
mod manual;
pub use boxed::{BoxedRuntime, BoxedSleep};
pub use manual::{ManualClock, ManualSleep};

#[cfg(feature = "std")]
pub(crate) mod monotonic;

#[cfg(any(feature = "smol", feature = "async-std"))]
mod io_timer;
#[cfg(any(feature = "smol", feature = "async-std"))]
pub use io_timer::IoSleep;

#[cfg(feature = "smol")]
mod smol;
#[cfg(feature = "smol")]
pub use self::smol::{Smol, SmolExecutor};

#[cfg(feature = "tokio")]
mod tokio;
#[cfg(feature = "tokio")]
pub use self::tokio::{NoTokioRuntime, Tokio};

#[cfg(feature = "async-std")]
mod async_std;
#[cfg(feature = "async-std")]
pub use self::async_std::AsyncStd;

/// Runs futures in the background. A coordinator spawns its workers through this once,
/// at construction; it never spawns a task per item.
///
/// ```
/// use core::future::Future;
/// use ephemeral::runtime::Spawner;
///
/// /// Runs each future to completion on a fresh thread (fine for a demo).
/// struct ThreadPerTask;
///
/// impl Spawner for ThreadPerTask {
///     fn spawn<F>(&self, future: F)
///     where
///         F: Future<Output = ()> + Send + 'static,
///     {
///         std::thread::spawn(move || futures_lite::future::block_on(future));
///     }
/// }
///
/// let (tx, rx) = std::sync::mpsc::channel();
/// ThreadPerTask.spawn(async move { tx.send(42).unwrap() });
/// assert_eq!(rx.recv().unwrap(), 42);
/// ```
pub trait Spawner: Send + Sync + 'static {
    /// Starts `future` in the background; its output is discarded and it is never joined.
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;
}

/// A monotonic clock that can also sleep.
///
/// `now` is a `Duration` from an origin of the timer's choosing; only differences
/// between readings of one timer mean anything.
///
/// ```
/// use core::time::Duration;
/// use ephemeral::runtime::{ManualClock, Timer};
///
/// let clock = ManualClock::new();
/// let before = clock.now();
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now() - before, Duration::from_secs(2));
/// ```
pub trait Timer: Send + Sync + 'static {
    /// The future [`sleep`](Self::sleep) returns.
    type Sleep: Future<Output = ()> + Send;

    /// A future that completes once `duration` has passed on this timer.
    fn sleep(&self, duration: Duration) -> Self::Sleep;

    /// The current reading: monotonic, never decreasing.
    fn now(&self) -> Duration;
}

/// A spawner and a timer from different places, used as one runtime; for example a real
/// executor with a [`ManualClock`] in tests.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use core::time::Duration;
/// use ephemeral::runtime::{ManualClock, Runtime, Smol, Timer};
///
/// let clock = ManualClock::new();
/// let rt = Runtime { spawner: Smol, timer: clock.clone() };
/// clock.advance(Duration::from_secs(3));
/// assert_eq!(rt.now(), Duration::from_secs(3));
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Runtime<S, T> {
    /// Where futures are spawned.
    pub spawner: S,
    /// Where time is read and slept on.
    pub timer: T,
}

impl<S: Spawner, T: Send + Sync + 'static> Spawner for Runtime<S, T> {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawner.spawn(future);
    }
}

impl<S: Send + Sync + 'static, T: Timer> Timer for Runtime<S, T> {
    type Sleep = T::Sleep;

    fn sleep(&self, duration: Duration) -> T::Sleep {
        self.timer.sleep(duration)
    }

    fn now(&self) -> Duration {
        self.timer.now()
    }
}
