//! A runtime behind a pointer, so a coordinator's type need not name its executor.

use alloc::boxed::Box;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use super::{Spawner, Timer};
use crate::sync::Handle;

/// A future boxed for an object-safe call.
type Boxed = Pin<Box<dyn Future<Output = ()> + Send>>;

/// [`Spawner`] and [`Timer`] in a form that can sit behind `dyn`.
trait Erased: Send + Sync {
    fn spawn_boxed(&self, future: Boxed);
    fn sleep_boxed(&self, duration: Duration) -> Boxed;
    fn now(&self) -> Duration;
}

impl<R: Spawner + Timer> Erased for R {
    fn spawn_boxed(&self, future: Boxed) {
        self.spawn(future);
    }

    fn sleep_boxed(&self, duration: Duration) -> Boxed {
        Box::pin(self.sleep(duration))
    }

    fn now(&self) -> Duration {
        Timer::now(self)
    }
}

/// Any runtime, erased: a [`Spawner`] and [`Timer`] that forwards to the one it was
/// made from. It is the default runtime parameter of every coordinator, so a struct can
/// hold a coordinator without naming (or being generic over) its executor:
/// `WorkCoordinator<Job>` is a `WorkCoordinator<Job, BoxedRuntime>`.
///
/// Each spawn boxes its future and each sleep boxes its timer: coordinators spawn their
/// workers once, so items still cost no allocation, except that an item deferred by a
/// signal allocates for the sleeps bounding its wait.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::runtime::{BoxedRuntime, Smol};
/// use ephemeral::{OpContext, Options, WorkCoordinator};
///
/// /// A service holding its queue, whatever executor runs it.
/// struct Mailer {
///     outbox: WorkCoordinator<String>,
/// }
///
/// smol::block_on(async {
///     let outbox = WorkCoordinator::new(BoxedRuntime::new(Smol), Options::default(), |_: String, _: OpContext| async {}).unwrap();
///     let mailer = Mailer { outbox };
///     mailer.outbox.enqueue("hello".into()).await.unwrap();
///     mailer.outbox.complete();
///     mailer.outbox.drain().await;
///     assert_eq!(mailer.outbox.totals().completed, 1);
/// });
/// # }
/// ```
#[derive(Clone)]
pub struct BoxedRuntime(Handle<dyn Erased>);

impl BoxedRuntime {
    /// Erases `runtime`'s type.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ephemeral::runtime::{BoxedRuntime, ManualClock, Runtime, Spawner, Timer};
    ///
    /// /// Runs each future to completion on a fresh thread.
    /// struct Threads;
    /// impl Spawner for Threads {
    ///     fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
    ///         std::thread::spawn(move || futures_lite::future::block_on(future));
    ///     }
    /// }
    ///
    /// let clock = ManualClock::new();
    /// let rt = BoxedRuntime::new(Runtime { spawner: Threads, timer: clock.clone() });
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(rt.now(), Duration::from_secs(1));
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// rt.spawn(async move { tx.send(7).unwrap() });
    /// assert_eq!(rx.recv().unwrap(), 7);
    /// ```
    pub fn new(runtime: impl Spawner + Timer) -> Self {
        Self(Handle::new(runtime))
    }
}

impl fmt::Debug for BoxedRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxedRuntime").finish_non_exhaustive()
    }
}

impl Spawner for BoxedRuntime {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.spawn_boxed(Box::pin(future));
    }
}

impl Timer for BoxedRuntime {
    type Sleep = BoxedSleep;

    fn sleep(&self, duration: Duration) -> BoxedSleep {
        BoxedSleep(self.0.sleep_boxed(duration))
    }

    fn now(&self) -> Duration {
        self.0.now()
    }
}

/// The sleep of a [`BoxedRuntime`]: the erased runtime's own sleep, boxed.
///
/// ```
/// use core::time::Duration;
/// use ephemeral::runtime::{BoxedRuntime, ManualClock, Runtime, Timer};
///
/// # struct Never;
/// # impl ephemeral::runtime::Spawner for Never {
/// #     fn spawn<F: Future<Output = ()> + Send + 'static>(&self, _: F) {}
/// # }
/// let rt = BoxedRuntime::new(Runtime { spawner: Never, timer: ManualClock::new() });
/// futures_lite::future::block_on(rt.sleep(Duration::ZERO));
/// ```
pub struct BoxedSleep(Boxed);

impl fmt::Debug for BoxedSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxedSleep").finish_non_exhaustive()
    }
}

impl Future for BoxedSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}
