//! `WorkCoordinator`: a long-lived, bounded, observable work queue.

use alloc::vec::Vec;
use core::convert::Infallible;
use core::fmt;
use core::future::Future;

use futures_lite::{Stream, StreamExt};

use super::core::{ConcurrencyError, Core, Hooks, Totals};
use super::{BodyOutput, EnqueueError, Outcome};
use crate::operation::{OpContext, OperationId, Snapshot};
use crate::options::{Options, OptionsError};
use crate::runtime::{Spawner, Timer};
use crate::signal::{Signal, SignalEvent, SignalSink};
use crate::sync::Arc;
use crate::window::WindowError;

/// A long-lived coordinator: accepts items over time and runs `body` on each, at most
/// `max_concurrency` at once, keeping a window of recent operations.
///
/// Workers are spawned once, at construction, through `R`'s [`Spawner`]; enqueue, run,
/// finish and eviction allocate nothing. A body returns `()` or `Result<(), E>`; its
/// error (or panic, under `std`) is kept on the operation in the window, never thrown at
/// whoever enqueued it. Dropping the coordinator cancels it: call
/// [`complete`](Self::complete) and [`drain`](Self::drain) first to finish the work.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
///
/// smol::block_on(async {
///     let coordinator = WorkCoordinator::new(
///         Smol,
///         |n: u32, _ctx: OpContext| async move {
///             if n % 10 == 0 { Err("multiple of ten") } else { Ok(()) }
///         },
///         Options::default().max_concurrency(8),
///     )
///     .unwrap();
///     for n in 1..=100 {
///         coordinator.enqueue(n).await.unwrap();
///     }
///     coordinator.complete();
///     coordinator.drain().await;
///     assert_eq!(coordinator.totals().failed, 10);
///     assert_eq!(coordinator.failed()[0].outcome.as_ref().unwrap().error(), Some(&"multiple of ten"));
/// });
/// # }
/// ```
pub struct WorkCoordinator<T, R, E = Infallible>
where
    T: Send + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    core: Arc<Core<T, E, R>>,
}

/// Builds a [`WorkCoordinator`] with an `on_finalized` callback.
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
pub struct WorkCoordinatorBuilder<E, R> {
    rt: R,
    options: Options,
    hooks: Hooks<E>,
}

impl<E: Send + Sync + 'static, R: Spawner + Timer> WorkCoordinatorBuilder<E, R> {
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
    /// [`Totals::dropped_signals`]). The raise never waits for it; `drain` does.
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

    /// Validates the options, builds the coordinator and spawns its workers.
    pub fn build<T, B, Fut>(self, body: B) -> Result<WorkCoordinator<T, R, E>, OptionsError>
    where
        T: Send + 'static,
        B: Fn(T, OpContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send,
        Fut::Output: BodyOutput<Error = E>,
    {
        let core = Arc::new(Core::new(self.rt, &self.options, self.hooks)?);
        Core::spawn_workers(&core, body);
        Ok(WorkCoordinator { core })
    }
}

impl<T, R, E> WorkCoordinator<T, R, E>
where
    T: Send + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    /// Builds a coordinator running `body` on `rt`, sized by `options`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, OptionsError, WorkCoordinator, runtime::Smol};
    ///
    /// let bad = WorkCoordinator::new(Smol, |_: u8, _: OpContext| async {}, Options::default().max_concurrency(0));
    /// assert_eq!(bad.err().map(|e| e), Some(OptionsError::ZeroConcurrency));
    /// # }
    /// ```
    pub fn new<B, Fut>(rt: R, body: B, options: Options) -> Result<Self, OptionsError>
    where
        B: Fn(T, OpContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send,
        Fut::Output: BodyOutput<Error = E>,
    {
        Self::builder(rt, options).build(body)
    }

    /// A builder, for options that are not plain values (callbacks).
    pub fn builder(rt: R, options: Options) -> WorkCoordinatorBuilder<E, R> {
        WorkCoordinatorBuilder {
            rt,
            options,
            hooks: Hooks::default(),
        }
    }

    /// Builds a coordinator fed by `stream`: a task on `rt` enqueues each item (waiting
    /// while full) and completes the coordinator when the stream ends. [`drain`](Self::drain)
    /// waits for the stream's end as well as for the work.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let items = futures_lite::stream::iter(0..50u32);
    ///     let coordinator = WorkCoordinator::from_stream(Smol, items, |_: u32, _: OpContext| async {}, Options::default()).unwrap();
    ///     coordinator.drain().await;
    ///     assert!(coordinator.is_completed());
    ///     assert_eq!(coordinator.totals().completed, 50);
    /// });
    /// # }
    /// ```
    pub fn from_stream<S, B, Fut>(
        rt: R,
        stream: S,
        body: B,
        options: Options,
    ) -> Result<Self, OptionsError>
    where
        S: Stream<Item = T> + Send + 'static,
        B: Fn(T, OpContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send,
        Fut::Output: BodyOutput<Error = E>,
    {
        let coordinator = Self::new(rt, body, options)?;
        // The feeder counts as in flight until the stream ends, so `drain` waits for it.
        let core = Core::hold(&coordinator.core);
        coordinator.core.rt.spawn(async move {
            let mut stream = core::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                if core.enqueue(item).await.is_err() {
                    break;
                }
            }
            core.complete();
        });
        Ok(coordinator)
    }

    /// Accepts `item`, waiting while the coordinator is full. Refused only when closed.
    pub async fn enqueue(&self, item: T) -> Result<OperationId, EnqueueError<T>> {
        self.core.enqueue(item).await
    }

    /// Accepts `item` now, or hands it back in `Full` or `Closed`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{EnqueueError, OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// let coordinator = WorkCoordinator::new(Smol, |_: u8, _: OpContext| async {}, Options::default()).unwrap();
    /// coordinator.complete();
    /// assert_eq!(coordinator.try_enqueue(5).unwrap_err().into_inner(), 5);
    /// # }
    /// ```
    pub fn try_enqueue(&self, item: T) -> Result<OperationId, EnqueueError<T>> {
        self.core.try_enqueue(item)
    }

    /// Enqueues every item in turn, waiting while full. Returns how many were accepted;
    /// an error hands back the first refused item (the ones before it were accepted).
    pub async fn enqueue_many(
        &self,
        items: impl IntoIterator<Item = T>,
    ) -> Result<usize, EnqueueError<T>> {
        let mut accepted = 0;
        for item in items {
            self.core.enqueue(item).await?;
            accepted += 1;
        }
        Ok(accepted)
    }

    /// Stops accepting items; queued and running ones still run. Idempotent.
    pub fn complete(&self) {
        self.core.complete();
    }

    /// Whether [`complete`](Self::complete) (or [`cancel`](Self::cancel)) has been called.
    pub fn is_completed(&self) -> bool {
        self.core.is_completed()
    }

    /// Waits until every accepted item is terminal. Does not close the coordinator; call
    /// [`complete`](Self::complete) first to wait for the end of all work.
    pub async fn drain(&self) {
        self.core.drain().await;
    }

    /// Completes the coordinator, cancels every waiting item and drops running bodies at
    /// their next poll. Each becomes a `Cancelled` operation.
    pub fn cancel(&self) {
        self.core.cancel();
    }

    /// Starts no new body until [`resume`](Self::resume); running bodies go on.
    pub fn pause(&self) {
        self.core.pause();
    }

    /// Lets bodies start again after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.core.resume();
    }

    /// Whether the coordinator is paused.
    pub fn is_paused(&self) -> bool {
        self.core.is_paused()
    }

    /// Changes how many bodies may run at once, between 1 and the concurrency ceiling.
    /// Lowering takes effect at once: no new body starts while `n` or more run.
    pub fn set_max_concurrency(&self, n: usize) -> Result<(), ConcurrencyError> {
        self.core.set_max_concurrency(n)
    }

    /// The concurrency limit in force.
    pub fn max_concurrency(&self) -> usize {
        self.core.max_concurrency()
    }

    /// Accepted items whose bodies have not started.
    pub fn pending_count(&self) -> usize {
        self.core.pending_count()
    }

    /// Accepted items held back right now by a `defer_on` signal (they count as pending
    /// too); each waits on its own worker until a retract, or its deferral bound.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let options = Options::default().max_concurrency(2).defer_on("busy");
    ///     let coordinator = WorkCoordinator::new(Smol, |_: u8, _: OpContext| async {}, options).unwrap();
    ///     coordinator.signals().raise("busy").unwrap();
    ///     coordinator.enqueue_many(0..5).await.unwrap();
    ///     while coordinator.deferred_count() < 2 {
    ///         smol::future::yield_now().await;
    ///     }
    ///     coordinator.signals().retract("busy");
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.deferred_count(), 0);
    ///     assert_eq!(coordinator.totals().deferred, 2);
    /// });
    /// # }
    /// ```
    pub fn deferred_count(&self) -> usize {
        self.core.deferred_count()
    }

    /// Bodies running now.
    pub fn active_count(&self) -> usize {
        self.core.active_count()
    }

    /// Counts since construction.
    pub fn totals(&self) -> Totals {
        self.core.totals()
    }

    /// Snapshots of the running operations.
    pub fn running(&self) -> Vec<Snapshot<Outcome<E>>>
    where
        E: Clone,
    {
        self.core.window.running(self.core.now())
    }

    /// Snapshots of the window's successful operations, oldest first.
    pub fn completed(&self) -> Vec<Snapshot<Outcome<E>>>
    where
        E: Clone,
    {
        self.core.window.completed(self.core.now())
    }

    /// Snapshots of the window's failed operations (error or panic), oldest first.
    pub fn failed(&self) -> Vec<Snapshot<Outcome<E>>>
    where
        E: Clone,
    {
        self.core.window.failed(self.core.now())
    }

    /// Snapshots of every tracked operation: pending, running, then finished oldest first.
    pub fn snapshot(&self) -> Vec<Snapshot<Outcome<E>>>
    where
        E: Clone,
    {
        self.core.window.snapshot(self.core.now())
    }

    /// Calls `f` with each tracked operation's snapshot, without allocating.
    pub fn visit(&self, f: impl FnMut(Snapshot<&Outcome<E>>)) {
        self.core.window.visit(self.core.now(), f);
    }

    /// One operation's snapshot, or `None` once it has left the window.
    pub fn get(&self, id: OperationId) -> Option<Snapshot<Outcome<E>>>
    where
        E: Clone,
    {
        self.core.window.get(id, self.core.now())
    }

    /// Keeps an operation past count and age eviction (within the pin budget).
    pub fn pin(&self, id: OperationId) -> Result<(), WindowError> {
        self.core.window.pin(id)
    }

    /// Releases a pin.
    pub fn unpin(&self, id: OperationId) -> Result<(), WindowError> {
        self.core.window.unpin(id)
    }

    /// Removes a finished operation from the window now.
    pub fn evict(&self, id: OperationId) -> Result<(), WindowError> {
        self.core.window.evict(id)
    }

    /// The sink this coordinator raises into and gates on (`Options::signals`, or its own).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol, signal::SignalSink};
    ///
    /// let sink = SignalSink::new();
    /// let coordinator = WorkCoordinator::new(Smol, |_: u8, _: OpContext| async {}, Options::default().signals(sink.clone())).unwrap();
    /// assert_eq!(coordinator.signals(), &sink);
    /// # }
    /// ```
    pub fn signals(&self) -> &SignalSink {
        self.core.control.signals.sink()
    }

    /// Whether an operation still in the window raised `name` (and did not retract it).
    /// Answers follow the window: an evicted operation's signals no longer count.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, |n: u32, ctx: OpContext| async move {
    ///         if n % 2 == 0 { ctx.signal("even").unwrap(); }
    ///     }, Options::default().max_tracked(10)).unwrap();
    ///     for n in 0..10 { coordinator.enqueue(n).await.unwrap(); }
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert!(coordinator.has_signal("even"));
    ///     assert_eq!(coordinator.count_signals("even"), 5);
    ///     assert_eq!(coordinator.signals_matching("ev*").len(), 5);
    ///     assert!(!coordinator.has_signal("odd"));
    /// });
    /// # }
    /// ```
    pub fn has_signal(&self, name: &str) -> bool {
        self.core.has_signal(name)
    }

    /// How many operations in the window raised `name` (see [`has_signal`](Self::has_signal)).
    pub fn count_signals(&self, name: &str) -> usize {
        self.core.count_signals(name)
    }

    /// Every signal matching `patterns` (globs, comma-separated) raised by an operation
    /// in the window, with that operation's id (see [`has_signal`](Self::has_signal)).
    pub fn signals_matching(&self, patterns: &str) -> Vec<(OperationId, Signal)> {
        self.core.signals_matching(patterns)
    }
}

impl<T, R, E> Drop for WorkCoordinator<T, R, E>
where
    T: Send + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    fn drop(&mut self) {
        self.core.cancel();
    }
}

impl<T, R, E> fmt::Debug for WorkCoordinator<T, R, E>
where
    T: Send + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkCoordinator")
            .field("max_concurrency", &self.max_concurrency())
            .field("active", &self.active_count())
            .field("pending", &self.pending_count())
            .field("totals", &self.totals())
            .finish_non_exhaustive()
    }
}
