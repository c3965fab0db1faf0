//! `WorkCoordinator`: a long-lived, bounded, observable work queue.

use core::convert::Infallible;
use core::fmt;

use futures_lite::future::or;
use futures_lite::{Stream, StreamExt};

use super::core::api::shared_api;
use super::core::builder::{CoordinatorBuilder, coordinator_kind};
use super::core::schedule::Fifo;
use super::core::{Core, Owner};
use super::{Body, EnqueueError, Outcome};
use crate::operation::OperationId;
use crate::options::{Options, OptionsError};
use crate::runtime::{Spawner, Timer};

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
///         Options::default().max_concurrency(8),
///         |n: u32, _ctx: OpContext| async move {
///             if n % 10 == 0 { Err("multiple of ten") } else { Ok(()) }
///         },
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
///
/// Signals raised by bodies stay on their operations while those are in the window,
/// and a `defer_on` signal holds items back until it is retracted:
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
///
/// smol::block_on(async {
///     let options = Options::default().max_concurrency(2).max_tracked(10).defer_on("busy");
///     let coordinator = WorkCoordinator::new(Smol, options, |n: u32, ctx: OpContext| async move {
///         if n % 2 == 0 { ctx.signal("even").unwrap(); }
///     }).unwrap();
///     coordinator.signals().raise("busy").unwrap();
///     coordinator.enqueue_many(0..10).await.unwrap();
///     while coordinator.deferred_count() < 2 {
///         smol::future::yield_now().await;
///     }
///     coordinator.signals().retract("busy");
///     coordinator.complete();
///     coordinator.drain().await;
///     assert_eq!(coordinator.deferred_count(), 0);
///     assert_eq!(coordinator.totals().deferred, 2);
///     assert!(coordinator.has_signal("even"));
///     assert_eq!(coordinator.count_signals("even"), 5);
///     assert_eq!(coordinator.signals_matching("ev*").len(), 5);
/// });
/// # }
/// ```
pub struct WorkCoordinator<T, R, E = Infallible> {
    core: Owner<Core<T, R, Fifo, Outcome<E>>>,
}

coordinator_kind!([T, R, E] WorkCoordinator<T, R, E>, ());

impl<T: Send + 'static, R: Spawner + Timer, E: Send + Sync + 'static>
    CoordinatorBuilder<WorkCoordinator<T, R, E>>
{
    /// Validates the options, builds the coordinator running `body` and spawns its
    /// workers.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, OptionsError, WorkCoordinator, runtime::Smol};
    ///
    /// let bad = WorkCoordinator::builder(Smol, Options::default().max_tracked(0))
    ///     .on_signal(|_| {})
    ///     .build(|_: u8, _: OpContext| async {});
    /// assert_eq!(bad.err(), Some(OptionsError::ZeroWindow));
    /// # }
    /// ```
    pub fn build<B: Body<T, (), E>>(
        self,
        body: B,
    ) -> Result<WorkCoordinator<T, R, E>, OptionsError> {
        let queue = Fifo::bounded(self.options.queue_capacity);
        let core = Core::start(self.rt, &self.options, self.hooks, queue, None, body)?;
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
    /// let bad = WorkCoordinator::new(Smol, Options::default().max_concurrency(0), |_: u8, _: OpContext| async {});
    /// assert_eq!(bad.err().map(|e| e), Some(OptionsError::ZeroConcurrency));
    /// # }
    /// ```
    pub fn new<B: Body<T, (), E>>(rt: R, options: Options, body: B) -> Result<Self, OptionsError> {
        Self::builder(rt, options).build(body)
    }

    /// A builder taking `new`'s arguments but the body, for the callbacks; it builds
    /// only a `WorkCoordinator` (see [`CoordinatorBuilder`]).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::builder(Smol, Options::default())
    ///         .on_finalized(|snapshot| println!("{:?} {:?}", snapshot.id, snapshot.state))
    ///         .build(|n: u32, _: OpContext| async move { if n == 3 { Err("three") } else { Ok(()) } })
    ///         .unwrap();
    ///     coordinator.enqueue_many(0..5).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().failed, 1);
    /// });
    /// # }
    /// ```
    pub fn builder(rt: R, options: Options) -> CoordinatorBuilder<Self> {
        CoordinatorBuilder::new(rt, options, ())
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
    ///     let coordinator = WorkCoordinator::from_stream(Smol, items, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     coordinator.drain().await;
    ///     assert!(coordinator.is_completed());
    ///     assert_eq!(coordinator.totals().completed, 50);
    /// });
    /// # }
    /// ```
    pub fn from_stream<S, B>(
        rt: R,
        stream: S,
        options: Options,
        body: B,
    ) -> Result<Self, OptionsError>
    where
        S: Stream<Item = T> + Send + 'static,
        B: Body<T, (), E>,
    {
        let coordinator = Self::new(rt, options, body)?;
        // The feeder is held until the stream ends, so `drain` waits for it (it is not
        // an item, so no count includes it). It also ends when the coordinator is
        // cancelled or dropped, even while the stream has nothing to give.
        let core = Core::hold(&coordinator.core);
        coordinator.core.rt.spawn(async move {
            let mut stream = core::pin::pin!(stream);
            loop {
                let next = or(stream.next(), async {
                    core.cancelled().await;
                    None
                });
                let Some(item) = next.await else {
                    break;
                };
                if core.enqueue(item, |_| ()).await.is_err() {
                    break;
                }
            }
            core.complete();
        });
        Ok(coordinator)
    }

    /// Accepts `item`, waiting while the coordinator is full. Refused only when closed.
    pub async fn enqueue(&self, item: T) -> Result<OperationId, EnqueueError<T>> {
        self.core.enqueue(item, |_| ()).await
    }

    /// Accepts `item` now, or hands it back in `Full` or `Closed`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{EnqueueError, OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, _: OpContext| async {}).unwrap();
    /// coordinator.complete();
    /// assert_eq!(coordinator.try_enqueue(5).unwrap_err().into_inner(), 5);
    /// # }
    /// ```
    pub fn try_enqueue(&self, item: T) -> Result<OperationId, EnqueueError<T>> {
        self.core.try_enqueue(item, ())
    }

    /// Enqueues every item in turn, waiting while full. Returns how many were accepted;
    /// an error hands back the first refused item (the ones before it were accepted).
    pub async fn enqueue_many(
        &self,
        items: impl IntoIterator<Item = T>,
    ) -> Result<usize, EnqueueError<T>> {
        self.core.enqueue_many(items, |_| ()).await
    }

    shared_api!(E);
}

impl<T, R: Timer, E: Send + Sync + 'static> fmt::Debug for WorkCoordinator<T, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core
            .describe(f, "WorkCoordinator")
            .finish_non_exhaustive()
    }
}
