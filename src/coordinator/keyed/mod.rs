//! `KeyedWorkCoordinator`: per-key ordering without head-of-line blocking.

mod scheduler;

#[cfg(not(loom))]
pub(crate) use scheduler::KeyLimits;
#[cfg(loom)]
pub use scheduler::{KeyLimits, Keys};

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::convert::Infallible;
use core::fmt;
use core::hash::Hash;

use super::core::api::shared_api;
use super::core::builder::{CoordinatorBuilder, coordinator_kind};
use super::core::{Core, Owner};
use super::{Body, EnqueueError, Outcome};
use crate::operation::OperationId;
use crate::options::{Options, OptionsError};
use crate::runtime::{Spawner, Timer};
use crate::window::Snapshot;
#[cfg(not(loom))]
use scheduler::Keys;

type Selector<T, K> = Box<dyn Fn(&T) -> K + Send + Sync>;

/// The core of a keyed coordinator: its queue is the key scheduler, its window keeps
/// each operation's key.
type KeyedCore<T, K, R, E> = Core<T, R, Keys<K>, Outcome<E>, K>;

/// A work coordinator that files each item under a key: one key's items start in
/// enqueue order, at most `max_concurrency_per_key` of them at once (default 1: one
/// after another; set on the [`builder`](Self::builder)), while other keys' items run
/// beside them.
///
/// * **No head-of-line blocking.** Workers only take items whose key has room, so a key
///   stuck in a slow body holds nobody but its own later items.
/// * **Fair scheduling.** Keys with items ready to start take turns in the order they
///   became ready. A key keeps its turn for at most `fair_scheduling_threshold`
///   consecutive starts while others wait. So an item of a cold key that becomes ready
///   behind `r` ready keys starts within `r x fair_scheduling_threshold` starts, plus
///   the at most `concurrency ceiling` items workers took before it was enqueued.
///   With the default per-key limit of 1 every key starts one item per turn.
/// * **Bounded memory for any number of keys.** A key is remembered while it has a
///   waiting or running item and forgotten (its key dropped) when its last item
///   finishes; a finished operation keeps its key in the window until evicted. The
///   key table is allocated once, for `queue_capacity + concurrency ceiling` keys.
/// * **No allocation per item.** The scheduler stores a clone of a key when the key
///   becomes active; with keys whose `Clone` does not allocate (integers, `Arc<str>`)
///   enqueue, run and finish allocate nothing.
///
/// The scheduler's tables sit behind one short lock (a few loads and stores per push,
/// start and finish); see `keyed/scheduler.rs`.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
///
/// #[derive(Debug)]
/// struct Order { customer: u32, n: u32 }
///
/// smol::block_on(async {
///     let coordinator = KeyedWorkCoordinator::new(
///         Smol,
///         |order: &Order| order.customer,
///         Options::default().max_concurrency(8),
///         |order: Order, _ctx: OpContext| async move { let _ = order.n; },
///     )
///     .unwrap();
///     for n in 0..30 {
///         coordinator.enqueue(Order { customer: n % 3, n }).await.unwrap();
///     }
///     coordinator.complete();
///     coordinator.drain().await;
///     assert_eq!(coordinator.totals().completed, 30);
///     assert_eq!(coordinator.snapshot_for_key(&1).len(), 10);
///     assert_eq!(coordinator.pending_count_for_key(&1), 0);
/// });
/// # }
/// ```
pub struct KeyedWorkCoordinator<T, K, R, E = Infallible> {
    core: Owner<KeyedCore<T, K, R, E>>,
    key_of: Selector<T, K>,
}

coordinator_kind!([T, K, R, E] KeyedWorkCoordinator<T, K, R, E>, KeyedParts<T, K>);

/// What a keyed builder holds besides the options and callbacks.
pub struct KeyedParts<T, K> {
    key_of: Selector<T, K>,
    limits: KeyLimits,
}

/// Shows the limits; the key selector is a closure.
impl<T, K> fmt::Debug for KeyedParts<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedParts")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The limits only a keyed coordinator has. A bad value is an [`OptionsError`] from
/// [`build`](Self::build).
impl<T, K, R, E> CoordinatorBuilder<KeyedWorkCoordinator<T, K, R, E>> {
    /// How many bodies of one key may run at once. Default 1: each key's items run one
    /// after another, in enqueue order.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, OptionsError, runtime::Smol};
    ///
    /// let bad = KeyedWorkCoordinator::builder(Smol, |n: &u32| *n, Options::default())
    ///     .max_concurrency_per_key(0)
    ///     .build(|_: u32, _: OpContext| async {});
    /// assert_eq!(bad.err(), Some(OptionsError::ZeroConcurrencyPerKey));
    /// # }
    /// ```
    pub fn max_concurrency_per_key(mut self, n: usize) -> Self {
        self.parts.limits.max_concurrency_per_key = n;
        self
    }

    /// After this many consecutive starts for one key, other keys that are ready go
    /// first (see [`KeyedWorkCoordinator`] for the bound it gives). Only matters when
    /// `max_concurrency_per_key` is above 1. Default 8.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// let coordinator = KeyedWorkCoordinator::builder(Smol, |n: &u32| n % 4, Options::default())
    ///     .max_concurrency_per_key(4)
    ///     .fair_scheduling_threshold(2)
    ///     .build(|_: u32, _: OpContext| async {})
    ///     .unwrap();
    /// # drop(coordinator);
    /// # }
    /// ```
    pub fn fair_scheduling_threshold(mut self, n: usize) -> Self {
        self.parts.limits.fair_scheduling_threshold = n;
        self
    }

    /// How many items of one key may wait in the queue at once, so that a key whose
    /// bodies are stuck cannot fill the queue and hold up other keys at intake (an
    /// enqueue of that key waits for its own items to start instead). Default: half of
    /// `queue_capacity`, rounded up.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// let coordinator = KeyedWorkCoordinator::builder(Smol, |n: &u32| n % 2, Options::default().queue_capacity(10))
    ///     .max_queued_per_key(2)
    ///     .build(|_: u32, _: OpContext| async {})
    ///     .unwrap();
    /// coordinator.pause();
    /// for n in [0, 2] { coordinator.try_enqueue(n).unwrap(); }
    /// assert!(coordinator.try_enqueue(4).is_err()); // key 0 has its two waiting
    /// assert!(coordinator.try_enqueue(1).is_ok()); // key 1 still has room
    /// # }
    /// ```
    pub fn max_queued_per_key(mut self, n: usize) -> Self {
        self.parts.limits.max_queued_per_key = Some(n);
        self
    }
}

impl<T, K, R, E> CoordinatorBuilder<KeyedWorkCoordinator<T, K, R, E>>
where
    T: Send + 'static,
    K: Hash + Eq + Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    /// Validates the options and the keyed limits, builds the coordinator running `body`
    /// and spawns its workers.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// let coordinator = KeyedWorkCoordinator::builder(Smol, |item: &(u8, u8)| item.0, Options::default())
    ///     .on_finalized(|snapshot| assert!(snapshot.state.is_finished()))
    ///     .build(|_: (u8, u8), _: OpContext| async {})
    ///     .unwrap();
    /// assert_eq!(coordinator.pending_count_for_key(&1), 0);
    /// # }
    /// ```
    pub fn build<B: Body<T, (), E>>(
        self,
        body: B,
    ) -> Result<KeyedWorkCoordinator<T, K, R, E>, OptionsError> {
        let KeyedParts { key_of, limits } = self.parts;
        self.options.validate()?;
        limits.validate()?;
        let keys = Keys::new(&self.options, &limits, self.options.slot_capacity()?);
        let core = Core::start(self.rt, &self.options, self.hooks, keys, None, body)?;
        Ok(KeyedWorkCoordinator { core, key_of })
    }
}

impl<T, K, R, E> KeyedWorkCoordinator<T, K, R, E>
where
    T: Send + 'static,
    K: Hash + Eq + Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    /// Builds a coordinator running `body` on `rt`, filing items under `key_of(&item)`,
    /// with the default keyed limits (see [`builder`](Self::builder) for others).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, OptionsError, runtime::Smol};
    ///
    /// let bad = KeyedWorkCoordinator::new(
    ///     Smol,
    ///     |n: &u32| *n,
    ///     Options::default().queue_capacity(0),
    ///     |_: u32, _: OpContext| async {},
    /// );
    /// assert_eq!(bad.err(), Some(OptionsError::ZeroQueue));
    /// # }
    /// ```
    pub fn new<B>(
        rt: R,
        key_of: impl Fn(&T) -> K + Send + Sync + 'static,
        options: Options,
        body: B,
    ) -> Result<Self, OptionsError>
    where
        B: Body<T, (), E>,
    {
        Self::builder(rt, key_of, options).build(body)
    }

    /// A builder taking `new`'s arguments but the body, for the keyed limits
    /// ([`max_concurrency_per_key`](CoordinatorBuilder::max_concurrency_per_key) and
    /// the others) and the callbacks; it builds only a `KeyedWorkCoordinator`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = KeyedWorkCoordinator::builder(Smol, |n: &u32| n % 2, Options::default())
    ///         .max_concurrency_per_key(2)
    ///         .build(|_: u32, _: OpContext| async {})
    ///         .unwrap();
    ///     coordinator.enqueue_many(0..10).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 10);
    /// });
    /// # }
    /// ```
    pub fn builder(
        rt: R,
        key_of: impl Fn(&T) -> K + Send + Sync + 'static,
        options: Options,
    ) -> CoordinatorBuilder<Self> {
        let parts = KeyedParts {
            key_of: Box::new(key_of),
            limits: KeyLimits::default(),
        };
        CoordinatorBuilder::new(rt, options, parts)
    }

    /// Accepts `item`, waiting while the coordinator is full. Refused only when closed.
    pub async fn enqueue(&self, item: T) -> Result<OperationId, EnqueueError<T>> {
        self.core.enqueue(item, &*self.key_of).await
    }

    /// Accepts `item` now, or hands it back in `Full` or `Closed`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// let coordinator = KeyedWorkCoordinator::new(Smol, |n: &u8| *n % 2, Options::default(), |_: u8, _: OpContext| async {}).unwrap();
    /// coordinator.complete();
    /// assert_eq!(coordinator.try_enqueue(5).unwrap_err().into_inner(), 5);
    /// # }
    /// ```
    pub fn try_enqueue(&self, item: T) -> Result<OperationId, EnqueueError<T>> {
        let key = (self.key_of)(&item);
        self.core.try_enqueue(item, key)
    }

    /// Enqueues every item in turn, waiting while full. Returns how many were accepted;
    /// an error hands back the first refused item (the ones before it were accepted).
    pub async fn enqueue_many(
        &self,
        items: impl IntoIterator<Item = T>,
    ) -> Result<usize, EnqueueError<T>> {
        self.core.enqueue_many(items, &*self.key_of).await
    }

    /// How many of `key`'s items wait to start (not counting ones a worker has taken).
    pub fn pending_count_for_key(&self, key: &K) -> usize {
        self.core.queue().counts(key).0
    }

    /// How many of `key`'s items workers hold: running, or about to start.
    pub fn active_count_for_key(&self, key: &K) -> usize {
        self.core.queue().counts(key).1
    }

    /// How many keys have a waiting or running item (the keys the scheduler remembers).
    pub fn active_keys(&self) -> usize {
        self.core.queue().active_keys()
    }

    /// Snapshots of `key`'s tracked operations: pending, running, then finished oldest
    /// first.
    pub fn snapshot_for_key(&self, key: &K) -> Vec<Snapshot<Outcome<E>>>
    where
        E: Clone,
    {
        self.core.collect(|k, _| k == Some(key))
    }

    /// Calls `f` with each tracked operation's key and snapshot, without allocating.
    pub fn visit_keyed(&self, f: impl FnMut(Option<&K>, Snapshot<&Outcome<E>>)) {
        self.core.visit_keyed(f);
    }

    shared_api!(E);
}

impl<T, K, R, E> fmt::Debug for KeyedWorkCoordinator<T, K, R, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    R: Timer,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core
            .describe(f, "KeyedWorkCoordinator")
            .field("active_keys", &self.core.queue().active_keys())
            .finish_non_exhaustive()
    }
}
