//! `WorkCoordinator`: a long-lived, bounded, observable work queue.

use core::convert::Infallible;
use core::fmt;

use futures_lite::Stream;

#[cfg(feature = "sink")]
use super::core::EnqueueSink;
use super::core::api::shared_api;
use super::core::builder::{CoordinatorBuilder, coordinator_kind};
use super::core::handle::handle_api;
use super::core::schedule::Fifo;
use super::core::{Core, Owner};
use super::{Body, EnqueueError, Outcome};
use crate::WeakCoordinator;
use crate::operation::OperationId;
use crate::options::{Options, OptionsError};
use crate::runtime::{BoxedRuntime, Spawner, Timer};
use crate::sync::Handle;
use crate::window::Label;

/// A long-lived coordinator: accepts items over time and runs `body` on each, at most
/// `max_concurrency` at once, keeping a window of recent operations.
///
/// Workers are spawned once, at construction, through `R`'s [`Spawner`]; enqueue, run,
/// finish and eviction allocate nothing. A body returns `()` or `Result<(), E>`; its
/// error (or panic, under `std`) is kept on the operation in the window, never thrown at
/// whoever enqueued it.
///
/// A coordinator is a handle: clones share it, and dropping the **last** handle
/// cancels it (its queued items become `Cancelled`, running bodies are dropped at
/// their next poll). Call [`complete`](Self::complete) and [`drain`](Self::drain) before
/// the last handle goes out of scope to finish the work. A drop cannot wait for the
/// work (that would block, or hang on a paused coordinator or an endless body), and
/// work left running with no handle could be neither observed nor stopped; so the drop
/// cancels, and the type is `#[must_use]` so a coordinator built and not kept is a
/// warning rather than work silently cancelled:
///
/// ```compile_fail
/// # #![deny(unused_must_use)]
/// # use ephemeral::{CoordinatorBuilder, OpContext, WorkCoordinator, runtime::{Spawner, Timer}};
/// fn start<R: Spawner + Timer>(builder: CoordinatorBuilder<WorkCoordinator<u8, R>>) {
///     builder.build(|_: u8, _: OpContext| async {}).unwrap(); // built, and cancelled at once
/// }
/// ```
///
/// The runtime parameter `R` defaults to [`BoxedRuntime`], so a struct can hold a
/// `WorkCoordinator<Job>` without naming its executor.
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
#[must_use = "dropping the last handle on a coordinator cancels its work: keep it, and call `complete` and `drain` to finish"]
pub struct WorkCoordinator<T, R = BoxedRuntime, E = Infallible> {
    core: Handle<WorkOwner<T, R, E>>,
}

type WorkOwner<T, R, E> = Owner<Core<T, R, Fifo, Outcome<E>>>;

coordinator_kind!([T, R, E] WorkCoordinator<T, R, E>, (), WorkOwner<T, R, E>);

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
        self.build_with(|_| body)
    }

    /// [`build`](Self::build) with a body that can reach its own coordinator: `make`
    /// gets a [`WeakCoordinator`] on the coordinator being built and returns the body.
    /// The weak handle does not keep the coordinator alive, and calls through it follow
    /// the re-entrancy rules (an `enqueue` that would wait is refused with
    /// [`EnqueueError::WouldDeadlock`]).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     // Counts down: each item enqueues the next smaller one.
    ///     let coordinator = WorkCoordinator::builder(Smol, Options::default())
    ///         .build_with(|me| move |n: u32, _: OpContext| {
    ///             let me = me.clone();
    ///             async move {
    ///                 if let (Some(me), true) = (me.upgrade(), n > 0) {
    ///                     me.try_enqueue(n - 1).unwrap();
    ///                 }
    ///             }
    ///         })
    ///         .unwrap();
    ///     coordinator.enqueue(9).await.unwrap();
    ///     while coordinator.totals().completed < 10 {
    ///         smol::future::yield_now().await;
    ///     }
    ///     assert_eq!(coordinator.totals().enqueued, 10);
    /// });
    /// # }
    /// ```
    pub fn build_with<B: Body<T, (), E>>(
        self,
        make: impl FnOnce(WeakCoordinator<WorkCoordinator<T, R, E>>) -> B,
    ) -> Result<WorkCoordinator<T, R, E>, OptionsError> {
        let queue = Fifo::bounded(self.options.queue_capacity);
        let core = Core::start(
            self.rt,
            &self.options,
            self.hooks,
            queue,
            None,
            (),
            |owner| make(WeakCoordinator::new(owner)),
        )?;
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
        Core::feed(&coordinator.core, stream, |_| (), true);
        Ok(coordinator)
    }

    /// Enqueues every item of `stream` from a task on the coordinator's runtime,
    /// waiting while full. [`drain`](Self::drain) waits for the stream's end as well;
    /// the coordinator stays open (several streams may feed it). The task ends with the
    /// stream, at the first item refused (the coordinator was completed; that item is
    /// dropped), or when the coordinator is cancelled or its last handle dropped.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     coordinator.feed(futures_lite::stream::iter(0..10));
    ///     coordinator.feed(futures_lite::stream::iter(10..20));
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 20);
    ///     assert!(!coordinator.is_completed());
    /// });
    /// # }
    /// ```
    pub fn feed(&self, stream: impl Stream<Item = T> + Send + 'static) {
        Core::feed(&self.core, stream, |_| (), false);
    }

    /// A [`Sink`](futures_sink::Sink) enqueuing what is sent to it: sending waits while
    /// the coordinator is full (at most one item waits inside the sink, and nothing is
    /// allocated), and a refused item comes back in the error. Closing the sink flushes
    /// it; it does not complete the coordinator. Pin it (`core::pin::pin!`) to use
    /// `SinkExt`'s methods.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use futures::{SinkExt, StreamExt};
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, Options::default().queue_capacity(2), |_: u32, _: OpContext| async {}).unwrap();
    ///     futures::stream::iter(0..10).map(Ok).forward(coordinator.sink()).await.unwrap();
    ///     let mut sink = core::pin::pin!(coordinator.sink());
    ///     sink.send(10).await.unwrap();
    ///     coordinator.complete();
    ///     assert_eq!(sink.send(11).await.unwrap_err().into_inner(), 11);
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 11);
    /// });
    /// # }
    /// ```
    #[cfg(feature = "sink")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sink")))]
    pub fn sink(&self) -> impl futures_sink::Sink<T, Error = EnqueueError<T>> + '_ {
        EnqueueSink::new(move |item| self.enqueue(item), EnqueueError::Full)
    }

    /// Accepts `item`, waiting while the coordinator is full. Refused only when closed.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{EnqueueError, OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, Options::default().queue_capacity(2), |_: u8, _: OpContext| async {}).unwrap();
    ///     for n in 0..10 {
    ///         coordinator.enqueue(n).await.unwrap(); // waits while the queue is full
    ///     }
    ///     coordinator.complete();
    ///     assert!(matches!(coordinator.enqueue(10).await, Err(EnqueueError::Closed(10))));
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 10);
    /// });
    /// # }
    /// ```
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
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     assert_eq!(coordinator.enqueue_many(0..100).await.unwrap(), 100);
    ///     coordinator.complete();
    ///     let refused = coordinator.enqueue_many([100, 101]).await.unwrap_err();
    ///     assert_eq!(refused.into_inner(), 100); // the first refused item, handed back
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 100);
    /// });
    /// # }
    /// ```
    pub async fn enqueue_many(
        &self,
        items: impl IntoIterator<Item = T>,
    ) -> Result<usize, EnqueueError<T>> {
        self.core.enqueue_many(items, |_| ()).await
    }

    /// [`enqueue`](Self::enqueue), describing the operation by `label`: every snapshot
    /// of it shows the label, so what ran (or failed) can be listed without putting it
    /// into the error type. Labelling allocates nothing. The label is used instead of
    /// what the builder's [`describe`](CoordinatorBuilder::describe) would write.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use std::io;
    /// use ephemeral::{Label, OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let fetch = WorkCoordinator::new(Smol, Options::default(), |url: &'static str, _: OpContext| async move {
    ///         if url.ends_with("/down") { Err(io::Error::other("refused")) } else { Ok(()) }
    ///     })
    ///     .unwrap();
    ///     for url in ["https://a.example/up", "https://b.example/down"] {
    ///         fetch.enqueue_labelled(url, Label::new(url)).await.unwrap();
    ///     }
    ///     fetch.drain().await;
    ///     let mut dead_letters = Vec::new();
    ///     fetch.visit_failed(|s| dead_letters.push(s.label));
    ///     assert_eq!(dead_letters, [Label::new("https://b.example/down")]);
    /// });
    /// # }
    /// ```
    pub async fn enqueue_labelled(
        &self,
        item: T,
        label: Label,
    ) -> Result<OperationId, EnqueueError<T>> {
        self.core.enqueue_labelled(item, |_| (), Some(label)).await
    }

    /// [`try_enqueue`](Self::try_enqueue), describing the operation by `label`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Label, OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, _: OpContext| async {}).unwrap();
    /// coordinator.pause();
    /// let id = coordinator.try_enqueue_labelled(7, Label::new("seven")).unwrap();
    /// assert_eq!(coordinator.with(id, |s| s.label), Some(Label::new("seven")));
    /// # }
    /// ```
    pub fn try_enqueue_labelled(
        &self,
        item: T,
        label: Label,
    ) -> Result<OperationId, EnqueueError<T>> {
        self.core.try_enqueue_labelled(item, (), Some(label))
    }

    shared_api!(
        E,
        "# #[cfg(feature = \"smol\")] smol::block_on(async {\n\
        # use ephemeral::{runtime::Smol, *};\n\
        # let options = Options::default().max_concurrency(4).concurrency_ceiling(8).max_tracked(4).defer_on(\"hold\");\n\
        # let coordinator = WorkCoordinator::new(Smol, options, |n: u32, ctx: OpContext| async move {\n\
        #     if n == 1 { ctx.cancelled().await; }\n\
        #     if n % 10 == 0 { ctx.signal(\"tens\").unwrap(); return Err(\"a ten\"); }\n\
        #     Ok(())\n\
        # }).unwrap();\n\
        # macro_rules! submit { ($n:expr) => { coordinator.enqueue($n).await.unwrap() } }"
    );
    handle_api!();
}

impl<T, R: Timer, E: Send + Sync + 'static> fmt::Debug for WorkCoordinator<T, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core
            .describe(f, "WorkCoordinator")
            .finish_non_exhaustive()
    }
}
