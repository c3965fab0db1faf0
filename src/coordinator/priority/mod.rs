//! `PriorityWorkCoordinator`: lanes in priority order over the shared core.

use alloc::vec::Vec;
use core::convert::Infallible;
use core::fmt;

use futures_lite::Stream;

#[cfg(feature = "sink")]
use super::core::EnqueueSink;
use super::core::api::shared_api;
use super::core::builder::{CoordinatorBuilder, coordinator_kind};
use super::core::handle::handle_api;
use super::core::{Core, Owner};
use crate::WeakCoordinator;
use crate::sync::Handle;
mod lanes;

use super::{Body, LaneError, LaneId, Outcome};
use crate::operation::OperationId;
use crate::options::{Options, OptionsError};
use crate::runtime::{BoxedRuntime, Spawner, Timer};
use crate::signal::SignalSink;
pub use lanes::Lane;
#[cfg(loom)]
pub use lanes::Lanes;
#[cfg(not(loom))]
use lanes::Lanes;

/// A work coordinator with priority lanes: a worker always takes the waiting item of
/// the highest lane that is not held, so a higher lane's waiting item starts before a
/// lower lane's.
///
/// Each [`Lane`] has its own depth, `cancel_on` and `defer_on`, and optional aging
/// ([`Lane::promote_after`]). A lane whose `defer_on` signal is present is *held*: its
/// items wait in the lane, not on a worker, so the other lanes and `drain` carry on,
/// and the hold ends when the signal is retracted (workers are woken, not polling) or,
/// at the latest, after [`Options::max_defer`]. Items are enqueued into a [`LaneId`],
/// which only the coordinator hands out ([`lane`](Self::lane) by name,
/// [`lanes`](Self::lanes) in priority order), so no call can name a lane that does not
/// exist.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
///
/// smol::block_on(async {
///     let coordinator = PriorityWorkCoordinator::new(
///         Smol,
///         [Lane::new("high"), Lane::new("low").defer_on("db.busy")],
///         Options::default().max_concurrency(2),
///         |job: &'static str, _ctx: OpContext| async move { let _ = job; },
///     )
///     .unwrap();
///     let [high, low] = [coordinator.lane("high").unwrap(), coordinator.lane("low").unwrap()];
///     coordinator.signals().raise("db.busy").unwrap();
///     coordinator.enqueue("report", low).await.unwrap();
///     coordinator.enqueue("click", high).await.unwrap();
///     while coordinator.totals().completed < 1 {
///         smol::future::yield_now().await;
///     }
///     assert_eq!(coordinator.pending_counts(), [0, 1]); // "report" waits; "click" ran
///     coordinator.signals().retract("db.busy");
///     coordinator.complete();
///     coordinator.drain().await;
///     assert_eq!(coordinator.totals().completed, 2);
/// });
/// # }
/// ```
///
/// A handle like [`WorkCoordinator`](crate::WorkCoordinator): clones share it, and
/// dropping the last one cancels it.
#[must_use = "dropping the last handle on a coordinator cancels its work: keep it, and call `complete` and `drain` to finish"]
pub struct PriorityWorkCoordinator<T, R = BoxedRuntime, E = Infallible> {
    core: Handle<PriorityOwner<T, R, E>>,
}

type PriorityOwner<T, R, E> = Owner<Core<T, R, Lanes, Outcome<E>, usize>>;

coordinator_kind!([T, R, E] PriorityWorkCoordinator<T, R, E>, Vec<Lane>, PriorityOwner<T, R, E>);

impl<T: Send + 'static, R: Spawner + Timer, E: Send + Sync + 'static>
    CoordinatorBuilder<PriorityWorkCoordinator<T, R, E>>
{
    /// Validates the options and the lanes, builds the coordinator running `body` and
    /// spawns its workers.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, OptionsError, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// let none = PriorityWorkCoordinator::builder(Smol, [], Options::default())
    ///     .on_finalized(|snapshot| assert!(snapshot.state.is_finished()))
    ///     .build(|_: u8, _: OpContext| async {});
    /// assert_eq!(none.err(), Some(OptionsError::NoLanes));
    /// # }
    /// ```
    pub fn build<B: Body<T, (), E>>(
        self,
        body: B,
    ) -> Result<PriorityWorkCoordinator<T, R, E>, OptionsError> {
        self.build_with(|_| body)
    }

    /// [`build`](Self::build) with a body that can reach its own coordinator (see
    /// [`WeakCoordinator`]): `make` gets a weak handle and returns the body.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     // An item of the high lane follows up in the low one.
    ///     let coordinator = PriorityWorkCoordinator::builder(Smol, [Lane::new("high"), Lane::new("low")], Options::default())
    ///         .build_with(|me| move |n: u8, _: OpContext| {
    ///             let me = me.clone();
    ///             async move {
    ///                 if let (Some(me), 0) = (me.upgrade(), n) {
    ///                     me.try_enqueue(1, me.lane("low").unwrap()).unwrap();
    ///                 }
    ///             }
    ///         })
    ///         .unwrap();
    ///     coordinator.enqueue(0, coordinator.lane("high").unwrap()).await.unwrap();
    ///     while coordinator.totals().completed < 2 {
    ///         smol::future::yield_now().await;
    ///     }
    /// });
    /// # }
    /// ```
    pub fn build_with<B: Body<T, (), E>>(
        self,
        make: impl FnOnce(WeakCoordinator<PriorityWorkCoordinator<T, R, E>>) -> B,
    ) -> Result<PriorityWorkCoordinator<T, R, E>, OptionsError> {
        let mut options = self.options;
        // The lanes' gates and the core must read one sink.
        let names = options.signal_names;
        options
            .signals
            .get_or_insert_with(|| SignalSink::builder().names(names).build());
        let lanes = Lanes::new(&self.parts, &options)?;
        let core = Core::start(self.rt, &options, self.hooks, lanes, None, (), |owner| {
            make(WeakCoordinator::new(owner))
        })?;
        Ok(PriorityWorkCoordinator { core })
    }
}

impl<T, R, E> PriorityWorkCoordinator<T, R, E>
where
    T: Send + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    /// Builds a coordinator running `body` on `rt` with `lanes`, highest first.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Lane, OpContext, Options, OptionsError, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// let bad = PriorityWorkCoordinator::new(Smol, [Lane::new("a").max_depth(0)], Options::default(), |_: u8, _: OpContext| async {});
    /// assert_eq!(bad.err(), Some(OptionsError::ZeroLaneDepth));
    /// # }
    /// ```
    pub fn new<B: Body<T, (), E>>(
        rt: R,
        lanes: impl IntoIterator<Item = Lane>,
        options: Options,
        body: B,
    ) -> Result<Self, OptionsError> {
        Self::builder(rt, lanes, options).build(body)
    }

    /// A builder taking `new`'s arguments but the body, for the callbacks; it builds
    /// only a `PriorityWorkCoordinator` (see [`CoordinatorBuilder`]).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = PriorityWorkCoordinator::builder(Smol, [Lane::new("high"), Lane::new("low")], Options::default())
    ///         .on_signal(|event| println!("{event:?}"))
    ///         .build(|_: u8, ctx: OpContext| async move { ctx.signal("ran").unwrap(); })
    ///         .unwrap();
    ///     coordinator.enqueue(1, coordinator.lane("low").unwrap()).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.count_signals("ran"), 1);
    /// });
    /// # }
    /// ```
    pub fn builder(
        rt: R,
        lanes: impl IntoIterator<Item = Lane>,
        options: Options,
    ) -> CoordinatorBuilder<Self> {
        CoordinatorBuilder::new(rt, options, lanes.into_iter().collect())
    }

    /// The lane called `name`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let lanes = [Lane::new("urgent"), Lane::new("bulk")];
    ///     let coordinator = PriorityWorkCoordinator::new(Smol, lanes, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     let urgent = coordinator.lane("urgent").unwrap();
    ///     assert_eq!(urgent.index(), 0); // highest first
    ///     assert_eq!(coordinator.lane("missing"), None);
    ///     coordinator.enqueue(1, urgent).await.unwrap();
    /// });
    /// # }
    /// ```
    pub fn lane(&self, name: &str) -> Option<LaneId> {
        let lanes = self.core.queue();
        lanes
            .lane(name)
            .map(|index| LaneId::new(lanes.origin(), index))
    }

    /// The lane at `index` in priority order (0 the highest), if there are that many.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// let coordinator = PriorityWorkCoordinator::new(Smol, [Lane::new("only")], Options::default(), |_: u8, _: OpContext| async {}).unwrap();
    /// assert_eq!(coordinator.lane_at(0), coordinator.lane("only"));
    /// assert_eq!(coordinator.lane_at(1), None);
    /// # }
    /// ```
    pub fn lane_at(&self, index: usize) -> Option<LaneId> {
        let lanes = self.core.queue();
        (index < lanes.count()).then(|| LaneId::new(lanes.origin(), index))
    }

    /// Every lane, highest first.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let lanes = [Lane::new("urgent"), Lane::new("bulk")];
    ///     let coordinator = PriorityWorkCoordinator::new(Smol, lanes, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     let indices: Vec<usize> = coordinator.lanes().map(|lane| lane.index()).collect();
    ///     assert_eq!(indices, [0, 1]);
    ///     for lane in coordinator.lanes() {
    ///         coordinator.enqueue(7, lane).await.unwrap();
    ///     }
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 2);
    /// });
    /// # }
    /// ```
    pub fn lanes(&self) -> impl ExactSizeIterator<Item = LaneId> + '_ {
        let lanes = self.core.queue();
        (0..lanes.count()).map(|index| LaneId::new(lanes.origin(), index))
    }

    /// `lane`'s index, or the item back if the lane is another coordinator's.
    fn index_of(&self, item: T, lane: LaneId) -> Result<(T, usize), LaneError<T>> {
        if lane.origin() == self.core.queue().origin() {
            Ok((item, lane.index()))
        } else {
            Err(LaneError::UnknownLane(lane, item))
        }
    }

    /// Accepts `item` into `lane`, waiting while that lane is full. Refused when closed,
    /// or for a lane of another coordinator.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let lanes = [Lane::new("urgent"), Lane::new("bulk")];
    ///     let coordinator = PriorityWorkCoordinator::new(Smol, lanes, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     let bulk = coordinator.lane("bulk").unwrap();
    ///     let id = coordinator.enqueue(1, bulk).await.unwrap();
    ///     coordinator.drain().await;
    ///     assert!(coordinator.get(id).unwrap().state.is_finished());
    ///
    ///     // A lane of another coordinator is refused, the item handed back.
    ///     let other = PriorityWorkCoordinator::new(Smol, [Lane::new("urgent")], Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     let foreign = other.lane("urgent").unwrap();
    ///     assert_eq!(coordinator.enqueue(2, foreign).await.unwrap_err().into_inner(), 2);
    /// });
    /// # }
    /// ```
    pub async fn enqueue(&self, item: T, lane: LaneId) -> Result<OperationId, LaneError<T>> {
        let (item, lane) = self.index_of(item, lane)?;
        Ok(self.core.enqueue(item, |_| lane).await?)
    }

    /// Accepts `item` into `lane` now, or hands it back.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Lane, LaneError, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// let coordinator = PriorityWorkCoordinator::new(Smol, [Lane::new("only")], Options::default(), |_: u8, _: OpContext| async {}).unwrap();
    /// let other = PriorityWorkCoordinator::new(Smol, [Lane::new("only")], Options::default(), |_: u8, _: OpContext| async {}).unwrap();
    /// let foreign = other.lane("only").unwrap();
    /// assert!(matches!(coordinator.try_enqueue(1, foreign), Err(LaneError::UnknownLane(lane, 1)) if lane == foreign));
    /// let only = coordinator.lane("only").unwrap();
    /// coordinator.complete();
    /// assert!(matches!(coordinator.try_enqueue(2, only), Err(LaneError::Closed(2))));
    /// # }
    /// ```
    pub fn try_enqueue(&self, item: T, lane: LaneId) -> Result<OperationId, LaneError<T>> {
        let (item, lane) = self.index_of(item, lane)?;
        Ok(self.core.try_enqueue(item, lane)?)
    }

    /// Enqueues every item into `lane` in turn, waiting while it is full. Returns how
    /// many were accepted; an error hands back the first refused item (the ones before
    /// it were accepted).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = PriorityWorkCoordinator::new(Smol, [Lane::new("high"), Lane::new("low")], Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     let low = coordinator.lane("low").unwrap();
    ///     assert_eq!(coordinator.enqueue_many(0..5, low).await.unwrap(), 5);
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 5);
    /// });
    /// # }
    /// ```
    pub async fn enqueue_many(
        &self,
        items: impl IntoIterator<Item = T>,
        lane: LaneId,
    ) -> Result<usize, LaneError<T>> {
        let mut items = items.into_iter();
        let Some(first) = items.next() else {
            return Ok(0);
        };
        let (first, index) = self.index_of(first, lane)?;
        let items = core::iter::once(first).chain(items);
        Ok(self.core.enqueue_many(items, |_| index).await?)
    }

    /// Enqueues every item of `stream` into `lane` from a task on the coordinator's
    /// runtime (see [`WorkCoordinator::feed`](crate::WorkCoordinator::feed)); a stream
    /// per lane feeds several. A lane of another coordinator hands the stream back
    /// unread. (There is no `from_stream`: a [`LaneId`] exists only once the
    /// coordinator does.)
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = PriorityWorkCoordinator::new(Smol, [Lane::new("high"), Lane::new("low")], Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     let (high, low) = (coordinator.lane("high").unwrap(), coordinator.lane("low").unwrap());
    ///     coordinator.feed(futures_lite::stream::iter(0..5), low).unwrap();
    ///     coordinator.feed(futures_lite::stream::iter(5..7), high).unwrap();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 7);
    /// });
    /// # }
    /// ```
    pub fn feed<S>(&self, stream: S, lane: LaneId) -> Result<(), S>
    where
        S: Stream<Item = T> + Send + 'static,
    {
        if lane.origin() != self.core.queue().origin() {
            // Every item would be refused: hand the stream back untouched.
            return Err(stream);
        }
        let index = lane.index();
        Core::feed(&self.core, stream, move |_| index, false);
        Ok(())
    }

    /// A [`Sink`](futures_sink::Sink) enqueuing what is sent to it into `lane` (see
    /// [`WorkCoordinator::sink`](crate::WorkCoordinator::sink)).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use futures::StreamExt;
    /// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = PriorityWorkCoordinator::new(Smol, [Lane::new("only")], Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     let only = coordinator.lane("only").unwrap();
    ///     futures::stream::iter(0..4).map(Ok).forward(coordinator.sink(only)).await.unwrap();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 4);
    /// });
    /// # }
    /// ```
    #[cfg(feature = "sink")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sink")))]
    pub fn sink(&self, lane: LaneId) -> impl futures_sink::Sink<T, Error = LaneError<T>> + '_ {
        EnqueueSink::new(move |item| self.enqueue(item, lane), LaneError::Full)
    }

    /// Items waiting in each lane, highest first (held lanes included).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let lanes = [Lane::new("urgent"), Lane::new("bulk")];
    ///     let coordinator = PriorityWorkCoordinator::new(Smol, lanes, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     coordinator.pause();
    ///     let (urgent, bulk) = (coordinator.lane("urgent").unwrap(), coordinator.lane("bulk").unwrap());
    ///     coordinator.enqueue_many(0..3, bulk).await.unwrap();
    ///     coordinator.enqueue(9, urgent).await.unwrap();
    ///     while coordinator.pending_counts().iter().sum::<usize>() < 3 {
    ///         smol::future::yield_now().await; // a paused worker may hold one item
    ///     }
    ///     assert!(coordinator.pending_counts()[1] >= 2);
    ///     coordinator.resume();
    /// });
    /// # }
    /// ```
    pub fn pending_counts(&self) -> Vec<usize> {
        self.core.queue().depths().collect()
    }

    shared_api!(
        E,
        "# #[cfg(feature = \"smol\")] smol::block_on(async {\n\
        # use ephemeral::{runtime::Smol, *};\n\
        # let options = Options::default().max_concurrency(4).concurrency_ceiling(8).max_tracked(4).defer_on(\"hold\");\n\
        # let lanes = [Lane::new(\"high\"), Lane::new(\"low\")];\n\
        # let coordinator = PriorityWorkCoordinator::new(Smol, lanes, options, |n: u32, ctx: OpContext| async move {\n\
        #     if n == 1 { ctx.cancelled().await; }\n\
        #     if n % 10 == 0 { ctx.signal(\"tens\").unwrap(); return Err(\"a ten\"); }\n\
        #     Ok(())\n\
        # }).unwrap();\n\
        # macro_rules! submit { ($n:expr) => { coordinator.enqueue($n, coordinator.lane(\"low\").unwrap()).await.unwrap() } }"
    );
    handle_api!();
}

impl<T, R: Timer, E: Send + Sync + 'static> fmt::Debug for PriorityWorkCoordinator<T, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core
            .describe(f, "PriorityWorkCoordinator")
            .field("lanes", &self.core.queue().depths().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
