//! The builder every coordinator shares, for options that are callbacks.

use core::fmt;
use core::future::Future;

use super::Hooks;
use crate::coordinator::Outcome;
use crate::options::Options;
use crate::runtime::{Spawner, Timer};
use crate::signal::SignalEvent;
use crate::window::Snapshot;
#[cfg(doc)]
use crate::{KeyedWorkCoordinator, PriorityWorkCoordinator, ResultCoordinator, WorkCoordinator};

impl<E, R> CoordinatorBuilder<E, R> {
    /// A builder with no callbacks.
    pub(crate) fn new(rt: R, options: Options) -> Self {
        Self {
            rt,
            options,
            hooks: Hooks::default(),
        }
    }
}

/// Collects the callbacks of any coordinator (`on_finalized`, `on_signal`,
/// `on_signal_async`); each coordinator's `builder` returns one, and its own `build*`
/// method finishes it: [`build`](Self::build) for a [`WorkCoordinator`],
/// [`build_keyed`](Self::build_keyed), [`build_results`](Self::build_results) and
/// [`build_priority`](Self::build_priority) for the others.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
///
/// let seen = Arc::new(AtomicUsize::new(0));
/// let counter = seen.clone();
/// smol::block_on(async {
///     let coordinator = WorkCoordinator::<u8, Smol>::builder(Smol, Options::default())
///         .on_finalized(move |snapshot| {
///             assert!(snapshot.state.is_finished());
///             counter.fetch_add(1, Ordering::SeqCst);
///         })
///         .build(|_: u8, _: OpContext| async {})
///         .unwrap();
///     coordinator.enqueue(1).await.unwrap();
///     coordinator.complete();
///     coordinator.drain().await;
/// });
/// assert_eq!(seen.load(Ordering::SeqCst), 1);
/// # }
/// ```
pub struct CoordinatorBuilder<E, R> {
    pub(crate) rt: R,
    pub(crate) options: Options,
    pub(crate) hooks: Hooks<E>,
}

/// Shows the options and which hooks are set; needs no `Debug` of `E` or the runtime.
impl<E, R> fmt::Debug for CoordinatorBuilder<E, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoordinatorBuilder")
            .field("options", &self.options)
            .field("on_finalized", &self.hooks.on_finalized.is_some())
            .field("on_signal", &self.hooks.on_signal.is_some())
            .field("on_signal_async", &self.hooks.dispatch.is_some())
            .finish_non_exhaustive()
    }
}

impl<E: Send + Sync + 'static, R: Spawner + Timer> CoordinatorBuilder<E, R> {
    /// Calls `report` with each operation's snapshot as it becomes terminal, on the
    /// worker that finished it. Keep it short: it runs on the hot path.
    pub fn on_finalized(
        mut self,
        report: impl Fn(&Snapshot<&Outcome<E>>) + Send + Sync + 'static,
    ) -> Self {
        self.hooks.on_finalized(report);
        self
    }

    /// Calls `report` with every signal this coordinator's operations raise, on the
    /// raising body's thread, before the raise returns. Keep it short.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use std::sync::{Arc, Mutex};
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// let heard = Arc::new(Mutex::new(Vec::new()));
    /// let log = heard.clone();
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::<u8, Smol>::builder(Smol, Options::default())
    ///         .on_signal(move |event| log.lock().unwrap().push(event.operation_id))
    ///         .build(|_: u8, ctx: OpContext| async move { ctx.signal("seen").unwrap(); })
    ///         .unwrap();
    ///     let id = coordinator.enqueue(1).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(*heard.lock().unwrap(), [Some(id)]);
    /// });
    /// # }
    /// ```
    pub fn on_signal(mut self, report: impl Fn(&SignalEvent) + Send + Sync + 'static) -> Self {
        self.hooks.on_signal(report);
        self
    }

    /// Runs `handler` on every signal this coordinator's operations raise, as tasks on
    /// the coordinator's spawner: at most `max_concurrent_signal_handlers` at once, from
    /// a queue of `max_queued_signals` where overflow drops the oldest event (counted in
    /// [`Totals::dropped_signals`](crate::Totals::dropped_signals)). The raise never waits for it; `drain` does.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// let handled = Arc::new(AtomicUsize::new(0));
    /// let count = handled.clone();
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::<u8, Smol>::builder(Smol, Options::default())
    ///         .on_signal_async(move |_event| {
    ///             let count = count.clone();
    ///             async move { count.fetch_add(1, Ordering::SeqCst); }
    ///         })
    ///         .build(|_: u8, ctx: OpContext| async move { ctx.signal("audit").unwrap(); })
    ///         .unwrap();
    ///     for n in 0..10 { coordinator.enqueue(n).await.unwrap(); }
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    /// });
    /// assert_eq!(handled.load(Ordering::SeqCst), 10);
    /// # }
    /// ```
    pub fn on_signal_async<H, Fut>(mut self, handler: H) -> Self
    where
        H: Fn(SignalEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send,
    {
        self.hooks.on_signal_async(&self.rt, &self.options, handler);
        self
    }
}
