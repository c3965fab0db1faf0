//! `KeyedWorkCoordinator`: per-key ordering without head-of-line blocking.

mod gate;
mod scheduler;

pub use gate::KeyName;

#[cfg(loom)]
pub use gate::KeyGate;
#[cfg(not(loom))]
pub(crate) use scheduler::KeyLimits;
#[cfg(loom)]
pub use scheduler::{KeyLimits, Keys};

use alloc::vec::Vec;
use core::convert::Infallible;
use core::fmt;
use core::hash::Hash;

use futures_lite::Stream;

#[cfg(feature = "sink")]
use super::core::EnqueueSink;
use super::core::api::shared_api;
use super::core::builder::{CoordinatorBuilder, coordinator_kind};
use super::core::handle::handle_api;
use super::core::{Core, Owner};
use super::{Body, EnqueueError, Outcome};
use crate::WeakCoordinator;
use crate::operation::OperationId;
use crate::options::{Options, OptionsError};
use crate::runtime::{BoxedRuntime, Spawner, Timer};
use crate::signal::SignalSink;
use crate::sync::Handle;
use crate::window::Snapshot;
#[cfg(not(loom))]
use scheduler::Keys;

#[cfg(not(loom))]
use gate::KeyGate;

/// Shared by the coordinator's handles and its stream feeders.
type Selector<T, K> = Handle<dyn Fn(&T) -> K + Send + Sync>;

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
///
/// A handle like [`WorkCoordinator`](crate::WorkCoordinator): clones share it (and its
/// key selector), and dropping the last one cancels it.
#[must_use = "dropping the last handle on a coordinator cancels its work: keep it, and call `complete` and `drain` to finish"]
pub struct KeyedWorkCoordinator<T, K, R = BoxedRuntime, E = Infallible> {
    core: Handle<KeyedOwner<T, K, R, E>>,
}

/// What a keyed coordinator's handles share: the core, and the key selector.
type KeyedOwner<T, K, R, E> = Owner<KeyedCore<T, K, R, E>, Selector<T, K>>;

coordinator_kind!(
    [T, K, R, E] KeyedWorkCoordinator<T, K, R, E>,
    KeyedParts<T, K>,
    KeyedOwner<T, K, R, E>
);

/// What a keyed builder holds besides the options and callbacks.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{CoordinatorBuilder, KeyedWorkCoordinator, Options, runtime::Smol};
///
/// // The builder of a keyed coordinator holds these; name the builder's type to pass it on.
/// fn per_customer(
///     builder: CoordinatorBuilder<KeyedWorkCoordinator<(u32, u32), u32, Smol>>,
/// ) -> CoordinatorBuilder<KeyedWorkCoordinator<(u32, u32), u32, Smol>> {
///     builder.max_concurrency_per_key(1)
/// }
/// let builder = per_customer(KeyedWorkCoordinator::builder(Smol, |order: &(u32, u32)| order.0, Options::default()));
/// # drop(builder);
/// # }
/// ```
pub struct KeyedParts<T, K> {
    key_of: Selector<T, K>,
    limits: KeyLimits,
    gate: KeyGate<K>,
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
        self.build_with(|_| body)
    }

    /// [`build`](Self::build) with a body that can reach its own coordinator (see
    /// [`WeakCoordinator`]): `make` gets a weak handle and returns the body.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     // A body asks how many items of its own key still wait.
    ///     let coordinator = KeyedWorkCoordinator::builder(Smol, |n: &u32| n % 2, Options::default())
    ///         .build_with(|me| move |n: u32, _: OpContext| {
    ///             let me = me.clone();
    ///             async move { let _waiting = me.upgrade().map(|me| me.pending_count_for_key(&(n % 2))); }
    ///         })
    ///         .unwrap();
    ///     coordinator.enqueue_many(0..4).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 4);
    /// });
    /// # }
    /// ```
    pub fn build_with<B: Body<T, (), E>>(
        self,
        make: impl FnOnce(WeakCoordinator<KeyedWorkCoordinator<T, K, R, E>>) -> B,
    ) -> Result<KeyedWorkCoordinator<T, K, R, E>, OptionsError> {
        let KeyedParts {
            key_of,
            limits,
            gate,
        } = self.parts;
        let mut options = self.options;
        options.validate()?;
        limits.validate()?;
        gate.validate()?;
        // The gate and the core look at one sink.
        let names = options.signal_names;
        let sink = options
            .signals
            .get_or_insert_with(|| SignalSink::builder().names(names).build())
            .clone();
        let keys = Keys::new(&options, &limits, options.slot_capacity()?).gated(gate, sink);
        let core = Core::start(self.rt, &options, self.hooks, keys, None, key_of, |owner| {
            make(WeakCoordinator::new(owner))
        })?;
        Ok(KeyedWorkCoordinator { core })
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
            key_of: Handle::new(key_of),
            limits: KeyLimits::default(),
            gate: KeyGate::default(),
        };
        CoordinatorBuilder::new(rt, options, parts)
    }

    /// Accepts `item`, waiting while the coordinator is full. Refused only when closed.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     // Orders filed by customer, one at a time per customer.
    ///     let coordinator = KeyedWorkCoordinator::builder(Smol, |order: &(char, u32)| order.0, Options::default())
    ///         .max_concurrency_per_key(1)
    ///         .build(|_: (char, u32), ctx: OpContext| async move { ctx.cancelled().await })
    ///         .unwrap();
    ///     coordinator.enqueue(('a', 1)).await.unwrap();
    ///     coordinator.enqueue(('a', 2)).await.unwrap(); // starts after ('a', 1)
    ///     while coordinator.active_count_for_key(&'a') == 0 {
    ///         smol::future::yield_now().await;
    ///     }
    ///     assert_eq!(coordinator.pending_count_for_key(&'a'), 1);
    /// });
    /// # }
    /// ```
    pub async fn enqueue(&self, item: T) -> Result<OperationId, EnqueueError<T>> {
        self.core.enqueue(item, &*self.core.parts).await
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
        let key = (self.core.parts)(&item);
        self.core.try_enqueue(item, key)
    }

    /// Enqueues every item in turn, waiting while full. Returns how many were accepted;
    /// an error hands back the first refused item (the ones before it were accepted).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     // Orders filed by customer, one at a time per customer.
    ///     let coordinator = KeyedWorkCoordinator::builder(Smol, |order: &(char, u32)| order.0, Options::default())
    ///         .max_concurrency_per_key(1)
    ///         .build(|_: (char, u32), ctx: OpContext| async move { ctx.cancelled().await })
    ///         .unwrap();
    ///     let accepted = coordinator.enqueue_many([('a', 1), ('b', 1), ('a', 2)]).await.unwrap();
    ///     assert_eq!(accepted, 3);
    ///     coordinator.complete();
    ///     assert!(coordinator.enqueue_many([('c', 1)]).await.is_err()); // handed back
    /// });
    /// # }
    /// ```
    pub async fn enqueue_many(
        &self,
        items: impl IntoIterator<Item = T>,
    ) -> Result<usize, EnqueueError<T>> {
        self.core.enqueue_many(items, &*self.core.parts).await
    }

    /// Builds a coordinator fed by `stream`, filing items under `key_of(&item)`: a task
    /// on `rt` enqueues each item (waiting while full) and completes the coordinator
    /// when the stream ends. [`drain`](Self::drain) waits for the stream's end as well
    /// as for the work.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let items = futures_lite::stream::iter(0..30u32);
    ///     let coordinator = KeyedWorkCoordinator::from_stream(Smol, |n: &u32| n % 3, items, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     coordinator.drain().await;
    ///     assert!(coordinator.is_completed());
    ///     assert_eq!(coordinator.snapshot_for_key(&2).len(), 10);
    /// });
    /// # }
    /// ```
    pub fn from_stream<S, B>(
        rt: R,
        key_of: impl Fn(&T) -> K + Send + Sync + 'static,
        stream: S,
        options: Options,
        body: B,
    ) -> Result<Self, OptionsError>
    where
        S: Stream<Item = T> + Send + 'static,
        B: Body<T, (), E>,
    {
        let coordinator = Self::new(rt, key_of, options, body)?;
        coordinator.feed_until(stream, true);
        Ok(coordinator)
    }

    /// Enqueues every item of `stream` from a task on the coordinator's runtime, each
    /// under its key (see [`WorkCoordinator::feed`](crate::WorkCoordinator::feed)).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = KeyedWorkCoordinator::new(Smol, |n: &u32| n % 2, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     coordinator.feed(futures_lite::stream::iter(0..10));
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.snapshot_for_key(&0).len(), 5);
    /// });
    /// # }
    /// ```
    pub fn feed(&self, stream: impl Stream<Item = T> + Send + 'static) {
        self.feed_until(stream, false);
    }

    fn feed_until(&self, stream: impl Stream<Item = T> + Send + 'static, complete_at_end: bool) {
        let key_of = self.core.parts.clone();
        Core::feed(
            &self.core,
            stream,
            move |item| key_of(item),
            complete_at_end,
        );
    }

    /// A [`Sink`](futures_sink::Sink) enqueuing what is sent to it, each item under its
    /// key (see [`WorkCoordinator::sink`](crate::WorkCoordinator::sink)).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use futures::StreamExt;
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = KeyedWorkCoordinator::new(Smol, |n: &u32| n % 2, Options::default(), |_: u32, _: OpContext| async {}).unwrap();
    ///     futures::stream::iter(0..6).map(Ok).forward(coordinator.sink()).await.unwrap();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.snapshot_for_key(&1).len(), 3);
    /// });
    /// # }
    /// ```
    #[cfg(feature = "sink")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sink")))]
    pub fn sink(&self) -> impl futures_sink::Sink<T, Error = EnqueueError<T>> + '_ {
        EnqueueSink::new(move |item| self.enqueue(item), EnqueueError::Full)
    }

    /// How many of `key`'s items wait to start (not counting ones a worker has taken).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     // Orders filed by customer, one at a time per customer.
    ///     let coordinator = KeyedWorkCoordinator::builder(Smol, |order: &(char, u32)| order.0, Options::default())
    ///         .max_concurrency_per_key(1)
    ///         .build(|_: (char, u32), ctx: OpContext| async move { ctx.cancelled().await })
    ///         .unwrap();
    ///     coordinator.enqueue_many([('a', 1), ('a', 2), ('a', 3), ('b', 1)]).await.unwrap();
    ///     while coordinator.active_count() < 2 {
    ///         smol::future::yield_now().await;
    ///     }
    ///     assert_eq!(coordinator.pending_count_for_key(&'a'), 2); // behind ('a', 1)
    ///     assert_eq!(coordinator.pending_count_for_key(&'b'), 0);
    /// });
    /// # }
    /// ```
    pub fn pending_count_for_key(&self, key: &K) -> usize {
        self.core.queue().counts(key).0
    }

    /// How many of `key`'s items workers hold: running, or about to start.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     // Orders filed by customer, one at a time per customer.
    ///     let coordinator = KeyedWorkCoordinator::builder(Smol, |order: &(char, u32)| order.0, Options::default())
    ///         .max_concurrency_per_key(1)
    ///         .build(|_: (char, u32), ctx: OpContext| async move { ctx.cancelled().await })
    ///         .unwrap();
    ///     coordinator.enqueue_many([('a', 1), ('a', 2), ('b', 1)]).await.unwrap();
    ///     while coordinator.active_count() < 2 {
    ///         smol::future::yield_now().await;
    ///     }
    ///     assert_eq!(coordinator.active_count_for_key(&'a'), 1); // its limit
    ///     assert_eq!(coordinator.active_count_for_key(&'c'), 0);
    /// });
    /// # }
    /// ```
    pub fn active_count_for_key(&self, key: &K) -> usize {
        self.core.queue().counts(key).1
    }

    /// How many keys have a waiting or running item (the keys the scheduler remembers).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     // Orders filed by customer, one at a time per customer.
    ///     let coordinator = KeyedWorkCoordinator::builder(Smol, |order: &(char, u32)| order.0, Options::default())
    ///         .max_concurrency_per_key(1)
    ///         .build(|_: (char, u32), ctx: OpContext| async move { ctx.cancelled().await })
    ///         .unwrap();
    ///     assert_eq!(coordinator.active_keys(), 0);
    ///     coordinator.enqueue_many([('a', 1), ('a', 2), ('b', 1)]).await.unwrap();
    ///     assert_eq!(coordinator.active_keys(), 2);
    /// });
    /// # }
    /// ```
    pub fn active_keys(&self) -> usize {
        self.core.queue().active_keys()
    }

    /// Snapshots of `key`'s tracked operations: pending, running, then finished oldest
    /// first.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, State, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = KeyedWorkCoordinator::new(Smol, |n: &u32| n % 2, Options::default(), |n: u32, _: OpContext| async move {
    ///         if n == 3 { Err("three") } else { Ok(()) }
    ///     })
    ///     .unwrap();
    ///     coordinator.enqueue_many(0..6).await.unwrap();
    ///     coordinator.drain().await;
    ///     let odd = coordinator.snapshot_for_key(&1);
    ///     assert_eq!(odd.len(), 3);
    ///     assert_eq!(odd.iter().filter(|s| s.state == State::Faulted).count(), 1);
    /// });
    /// # }
    /// ```
    pub fn snapshot_for_key(&self, key: &K) -> Vec<Snapshot<Outcome<E>>>
    where
        E: Clone,
    {
        self.core.collect(|k, _| k == Some(key))
    }

    /// Calls `f` with each tracked operation's key and snapshot, without allocating.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use std::collections::HashMap;
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, State, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = KeyedWorkCoordinator::new(Smol, |host: &&str| *host, Options::default(), |host: &str, _: OpContext| async move {
    ///         if host == "down.example" { Err(std::io::Error::other("refused")) } else { Ok(()) }
    ///     })
    ///     .unwrap();
    ///     coordinator.enqueue_many(["a.example", "down.example", "down.example"]).await.unwrap();
    ///     coordinator.drain().await;
    ///     // Failures per host, without cloning an io::Error.
    ///     let mut failures: HashMap<&str, usize> = HashMap::new();
    ///     coordinator.visit_keyed(|host, s| {
    ///         if s.state == State::Faulted {
    ///             *failures.entry(*host.unwrap()).or_default() += 1;
    ///         }
    ///     });
    ///     assert_eq!(failures, HashMap::from([("down.example", 2)]));
    /// });
    /// # }
    /// ```
    pub fn visit_keyed(&self, f: impl FnMut(Option<&K>, Snapshot<&Outcome<E>>)) {
        self.core.visit_keyed(f);
    }

    shared_api!(
        E,
        "# #[cfg(feature = \"smol\")] smol::block_on(async {\n\
        # use ephemeral::{runtime::Smol, *};\n\
        # let options = Options::default().max_concurrency(4).concurrency_ceiling(8).max_tracked(4).defer_on(\"hold\");\n\
        # let coordinator = KeyedWorkCoordinator::new(Smol, |n: &u32| n % 3, options, |n: u32, ctx: OpContext| async move {\n\
        #     if n == 1 { ctx.cancelled().await; }\n\
        #     if n % 10 == 0 { ctx.signal(\"tens\").unwrap(); return Err(\"a ten\"); }\n\
        #     Ok(())\n\
        # }).unwrap();\n\
        # macro_rules! submit { ($n:expr) => { coordinator.enqueue($n).await.unwrap() } }"
    );
    handle_api!();
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
