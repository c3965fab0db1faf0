//! `KeyedWorkCoordinator`: per-key ordering without head-of-line blocking.

mod scheduler;

#[cfg(loom)]
pub use scheduler::Keys;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::convert::Infallible;
use core::fmt;
use core::future::Future;
use core::hash::Hash;

use super::core::api::shared_api;
use super::core::builder::CoordinatorBuilder;
use super::core::{Core, Owner};
use super::{BodyOutput, EnqueueError, Outcome};
use crate::coordinator::OpContext;
use crate::operation::OperationId;
use crate::options::{Options, OptionsError};
use crate::runtime::{Spawner, Timer};
use crate::window::Snapshot;
#[cfg(not(loom))]
use scheduler::Keys;

type Selector<T, K> = Box<dyn Fn(&T) -> K + Send + Sync>;

/// A work coordinator that files each item under a key: one key's items start in
/// enqueue order, at most `max_concurrency_per_key` of them at once (default 1: one
/// after another), while other keys' items run beside them.
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
///         |order: Order, _ctx: OpContext| async move { let _ = order.n; },
///         Options::default().max_concurrency(8),
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
pub struct KeyedWorkCoordinator<T, K, R, E = Infallible>
where
    T: Send + 'static,
    K: Hash + Eq + Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    core: Owner<T, R, Keys<K>, Outcome<E>>,
    key_of: Selector<T, K>,
}

impl<E: Send + Sync + 'static, R: Spawner + Timer> CoordinatorBuilder<E, R> {
    /// Builds a [`KeyedWorkCoordinator`] filing items under `key_of(&item)`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// let coordinator = KeyedWorkCoordinator::<(u8, u8), u8, Smol>::builder(Smol, Options::default())
    ///     .on_finalized(|snapshot| assert!(snapshot.state.is_finished()))
    ///     .build_keyed(|item: &(u8, u8)| item.0, |_: (u8, u8), _: OpContext| async {})
    ///     .unwrap();
    /// assert_eq!(coordinator.pending_count_for_key(&1), 0);
    /// # }
    /// ```
    pub fn build_keyed<T, K, B, Fut>(
        self,
        key_of: impl Fn(&T) -> K + Send + Sync + 'static,
        body: B,
    ) -> Result<KeyedWorkCoordinator<T, K, R, E>, OptionsError>
    where
        T: Send + 'static,
        K: Hash + Eq + Clone + Send + Sync + 'static,
        B: Fn(T, OpContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send,
        Fut::Output: BodyOutput<Value = (), Error = E>,
    {
        self.options.validate()?;
        let keys = Keys::new(&self.options, self.options.slot_capacity()?);
        let core = Core::start(self.rt, &self.options, self.hooks, keys, false, body)?;
        Ok(KeyedWorkCoordinator {
            core,
            key_of: Box::new(key_of),
        })
    }
}

impl<T, K, R, E> KeyedWorkCoordinator<T, K, R, E>
where
    T: Send + 'static,
    K: Hash + Eq + Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    /// Builds a coordinator running `body` on `rt`, filing items under `key_of(&item)`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, OptionsError, runtime::Smol};
    ///
    /// let bad = KeyedWorkCoordinator::new(
    ///     Smol,
    ///     |n: &u32| *n,
    ///     |_: u32, _: OpContext| async {},
    ///     Options::default().max_concurrency_per_key(0),
    /// );
    /// assert_eq!(bad.err(), Some(OptionsError::ZeroConcurrencyPerKey));
    /// # }
    /// ```
    pub fn new<B, Fut>(
        rt: R,
        key_of: impl Fn(&T) -> K + Send + Sync + 'static,
        body: B,
        options: Options,
    ) -> Result<Self, OptionsError>
    where
        B: Fn(T, OpContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send,
        Fut::Output: BodyOutput<Value = (), Error = E>,
    {
        Self::builder(rt, options).build_keyed(key_of, body)
    }

    /// A builder, for options that are callbacks; finish it with
    /// [`build_keyed`](CoordinatorBuilder::build_keyed).
    pub fn builder(rt: R, options: Options) -> CoordinatorBuilder<E, R> {
        CoordinatorBuilder::new(rt, options)
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
    /// let coordinator = KeyedWorkCoordinator::new(Smol, |n: &u8| *n % 2, |_: u8, _: OpContext| async {}, Options::default()).unwrap();
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
        let mut accepted = 0;
        for item in items {
            self.enqueue(item).await?;
            accepted += 1;
        }
        Ok(accepted)
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
    T: Send + 'static,
    K: Hash + Eq + Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core
            .describe(f, "KeyedWorkCoordinator")
            .field("active_keys", &self.active_keys())
            .finish_non_exhaustive()
    }
}
