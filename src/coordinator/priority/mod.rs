//! `PriorityWorkCoordinator`: lanes in priority order over the shared core.

use alloc::vec::Vec;
use core::convert::Infallible;
use core::fmt;

use super::core::api::shared_api;
use super::core::builder::{CoordinatorBuilder, coordinator_kind};
use super::core::{Core, Owner};
mod lanes;

use super::{Body, LaneError, Outcome};
use crate::operation::OperationId;
use crate::options::{Options, OptionsError};
use crate::runtime::{Spawner, Timer};
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
/// at the latest, after [`Options::max_defer`]. Lanes are addressed by index, 0 the
/// highest; [`lane`](Self::lane) finds one by name.
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
///     let low = coordinator.lane("low").unwrap();
///     coordinator.signals().raise("db.busy").unwrap();
///     coordinator.enqueue("report", low).await.unwrap();
///     coordinator.enqueue("click", 0).await.unwrap();
///     assert!(coordinator.enqueue("x", 7).await.is_err());
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
pub struct PriorityWorkCoordinator<T, R, E = Infallible> {
    core: Owner<Core<T, R, Lanes, Outcome<E>, usize>>,
}

coordinator_kind!([T, R, E] PriorityWorkCoordinator<T, R, E>, Vec<Lane>);

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
        let mut options = self.options;
        // The lanes' gates and the core must read one sink.
        options.signals.get_or_insert_with(Default::default);
        let lanes = Lanes::new(&self.parts, &options)?;
        let core = Core::start(self.rt, &options, self.hooks, lanes, None, body)?;
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
    ///     coordinator.enqueue(1, 1).await.unwrap();
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

    /// The index of the lane called `name`.
    pub fn lane(&self, name: &str) -> Option<usize> {
        self.core.queue().lane(name)
    }

    /// Accepts `item` into `lane`, waiting while that lane is full. Refused for an
    /// unknown lane, or when closed.
    pub async fn enqueue(&self, item: T, lane: usize) -> Result<OperationId, LaneError<T>> {
        if lane >= self.core.queue().count() {
            return Err(LaneError::UnknownLane(lane, item));
        }
        Ok(self.core.enqueue(item, |_| lane).await?)
    }

    /// Accepts `item` into `lane` now, or hands it back.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Lane, LaneError, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    ///
    /// let coordinator = PriorityWorkCoordinator::new(Smol, [Lane::new("only")], Options::default(), |_: u8, _: OpContext| async {}).unwrap();
    /// assert!(matches!(coordinator.try_enqueue(1, 1), Err(LaneError::UnknownLane(1, 1))));
    /// coordinator.complete();
    /// assert!(matches!(coordinator.try_enqueue(2, 0), Err(LaneError::Closed(2))));
    /// # }
    /// ```
    pub fn try_enqueue(&self, item: T, lane: usize) -> Result<OperationId, LaneError<T>> {
        if lane >= self.core.queue().count() {
            return Err(LaneError::UnknownLane(lane, item));
        }
        Ok(self.core.try_enqueue(item, lane)?)
    }

    /// Items waiting in each lane, highest first (held lanes included).
    pub fn pending_counts(&self) -> Vec<usize> {
        self.core.queue().depths().collect()
    }

    shared_api!(E);
}

impl<T, R: Timer, E: Send + Sync + 'static> fmt::Debug for PriorityWorkCoordinator<T, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core
            .describe(f, "PriorityWorkCoordinator")
            .field("lanes", &self.core.queue().depths().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
