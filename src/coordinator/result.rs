//! `ResultCoordinator`: a work coordinator that keeps each body's result, to wait for,
//! take, or consume in finishing order.

// `ResultError::Panicked` carries the panic message inline (128 bytes) rather than
// boxing it, so answering never allocates; the size only matters on the error path.
#![allow(clippy::result_large_err)]

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::convert::Infallible;
use core::fmt;

use futures_lite::Stream;
use futures_lite::future::or;

#[cfg(feature = "sink")]
use super::core::EnqueueSink;
use super::core::api::shared_api;
use super::core::builder::{CoordinatorBuilder, coordinator_kind};
use super::core::handle::handle_api;
use super::core::schedule::Fifo;
use super::core::{Control, Core, Finalized, Keeper, Owner};
use super::outcome::{InResults, Record};
use super::store::{Answer, MAX_RESULTS, Store};
use super::{Body, EnqueueError, Outcome, ResultError};
use crate::WeakCoordinator;
use crate::operation::OperationId;
use crate::options::{Options, OptionsError};
use crate::runtime::{BoxedRuntime, Spawner, Timer};
use crate::sync::{Arc, Handle, Lock};
use crate::wakeup::Wakeup;
use crate::window::Snapshot;

/// A finished operation's record in the window: how it ended, without the error (see
/// [`InResults`]). The body's outcome and value wait in `parts` from the moment it is
/// recorded until the keeper moves them to the store, which happens before the window
/// publishes the operation terminal; the lock is taken once per item, by that move.
pub(crate) struct Resulted<V, E> {
    shown: Outcome<InResults>,
    parts: Lock<Option<(Outcome<E>, Option<V>)>>,
}

impl<V: Send + 'static, E: Send + Sync + 'static> Record for Resulted<V, E> {
    type Error = E;
    type Value = V;
    type Shown = InResults;
    fn record(outcome: Outcome<E>, value: Option<V>) -> Self {
        let shown = match &outcome {
            Outcome::Success => Outcome::Success,
            Outcome::Error(_) => Outcome::Error(InResults),
            Outcome::Panic(message) => Outcome::Panic(message.clone()),
            Outcome::Cancelled(cause) => Outcome::Cancelled(*cause),
        };
        Self {
            shown,
            parts: Lock::new(Some((outcome, value))),
        }
    }
    fn outcome(&self) -> &Outcome<InResults> {
        &self.shown
    }
}

/// What a finished operation answers: its value, or why there is none.
fn answer<V, E>(id: OperationId, outcome: Outcome<E>, value: Option<V>) -> Answer<V, E> {
    match outcome {
        // A body's success always carries its value; `Taken` stands in if it ever did not.
        Outcome::Success => value.ok_or(ResultError::Taken(id)),
        Outcome::Error(error) => Err(ResultError::Failed(error)),
        Outcome::Panic(message) => Err(ResultError::Panicked(message)),
        Outcome::Cancelled(cause) => Err(ResultError::Cancelled(cause)),
    }
}

/// Called with each finished operation's snapshot (its full outcome) and value.
type OnResult<V, E> = Box<dyn Fn(&Snapshot<&Outcome<E>>, Option<&V>) + Send + Sync>;

/// What a result coordinator's builder holds besides the options and hooks.
#[doc(hidden)]
pub struct ResultParts<V, E> {
    capacity: Option<usize>,
    on_result: Option<OnResult<V, E>>,
}

impl<V, E> fmt::Debug for ResultParts<V, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResultParts")
            .field("capacity", &self.capacity)
            .field("on_result", &self.on_result.is_some())
            .finish()
    }
}

/// The core's keeper for results: reports each finished operation to the callbacks,
/// lending them its error and value, then hands both to the store.
struct Keeping<V, E> {
    store: Arc<Store<V, E>>,
    on_finalized: Option<Finalized<E>>,
    on_result: Option<OnResult<V, E>>,
}

impl<V: Send + 'static, E: Send + Sync + 'static> Keeper<Resulted<V, E>> for Keeping<V, E> {
    fn keep(&self, finished: Snapshot<&Resulted<V, E>>, control: &Control) {
        let id = finished.id;
        let Some((outcome, value)) = finished.outcome.and_then(|r| r.parts.with(Option::take))
        else {
            return;
        };
        if self.on_finalized.is_some() || self.on_result.is_some() {
            let lent = finished.map(|_| &outcome);
            if let Some(report) = &self.on_finalized {
                control.contain(|| report(&lent));
            }
            if let Some(report) = &self.on_result {
                control.contain(|| report(&lent, value.as_ref()));
            }
        }
        self.store.keep(id, answer(id, outcome, value));
    }

    fn published(&self, id: OperationId) {
        self.store.list(id);
    }

    fn reserve(&self) -> bool {
        self.store.reserve()
    }

    fn release(&self) {
        self.store.release();
    }

    fn room(&self) -> &Wakeup {
        self.store.room()
    }
}

/// A work coordinator whose bodies return values: `enqueue` hands back the operation's
/// id, and its result (the value, or why there is none: the body's error, a panic, a
/// cancellation) is kept until a caller takes it: by id ([`join`](Self::join),
/// [`take_result`](Self::take_result)) or in the order operations finish
/// ([`next_result`](Self::next_result), [`result_stream`](Self::result_stream), like
/// tokio's `JoinSet::join_next`).
///
/// **Results are owned, not observed.** The window shows operations and evicts them by
/// count and age; results live apart from it, in a store of `results_capacity` places
/// allocated at build (default: the window's slot capacity, see
/// [`CoordinatorBuilder::results_capacity`]). An item is accepted only with a place
/// reserved for its result, so items in flight plus results not yet taken never exceed
/// the capacity: when it is full, `enqueue` waits for a take and `try_enqueue` hands the
/// item back in [`EnqueueError::Full`]. No result is ever dropped to make room. Submit
/// more items than the capacity only while something takes results as they finish.
///
/// The window's record of a failed operation says only that it failed
/// ([`Outcome::Error`]`(`[`InResults`]`)`): the error belongs to the store with the
/// values, so taking needs no `Clone` of either, and
/// [`with_result`](Self::with_result) lends it. [`on_finalized`](CoordinatorBuilder::on_finalized)
/// and [`on_result`](CoordinatorBuilder::on_result) see the error (and value) on the
/// worker, before the store takes them.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{OpContext, Options, ResultCoordinator, ResultError, runtime::Smol};
///
/// smol::block_on(async {
///     let coordinator = ResultCoordinator::new(
///         Smol,
///         Options::default(),
///         |n: u64, _ctx: OpContext| async move {
///             if n == 0 { Err("zero") } else { Ok(n * n) }
///         },
///     )
///     .unwrap();
///     let nine = coordinator.enqueue(3).await.unwrap();
///     let zero = coordinator.enqueue(0).await.unwrap();
///     assert_eq!(coordinator.wait_for_result(nine).await, Ok(9));
///     assert_eq!(coordinator.join(zero).await, Err(ResultError::Failed("zero")));
///     assert_eq!(coordinator.take_result(nine), Ok(9));
///     assert_eq!(coordinator.take_result(nine), Err(ResultError::Taken(nine)));
/// });
/// # }
/// ```
///
/// A handle like [`WorkCoordinator`](crate::WorkCoordinator): clones share it, and
/// dropping the last one cancels it.
#[must_use = "dropping the last handle on a coordinator cancels its work: keep it, and call `complete` and `drain` to finish"]
pub struct ResultCoordinator<I, V, R = BoxedRuntime, E = Infallible> {
    core: Handle<ResultOwner<I, V, R, E>>,
}

/// What the handles share: the core, and the results store its keeper fills.
type ResultOwner<I, V, R, E> = Owner<Core<I, R, Fifo, Resulted<V, E>>, Arc<Store<V, E>>>;

coordinator_kind!(
    [I, V, R, E] ResultCoordinator<I, V, R, E>,
    ResultParts<V, E>,
    ResultOwner<I, V, R, E>
);

impl<I, V, R, E> CoordinatorBuilder<ResultCoordinator<I, V, R, E>>
where
    I: Send + 'static,
    V: Send + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    /// How many results the coordinator holds at most, counting items in flight (each
    /// has its place reserved when accepted) and results finished but not yet taken.
    /// When full, `enqueue` waits until a result is taken and `try_enqueue` answers
    /// `Full`. Allocated once, at build. The default is the window's slot capacity
    /// ([`Options::slot_capacity`]); 0 is refused by `build`
    /// ([`OptionsError::ZeroResults`]), as is more than 2^30.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{EnqueueError, OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::builder(Smol, Options::default())
    ///         .results_capacity(2)
    ///         .build(|n: u8, _: OpContext| async move { Ok::<_, ()>(n) })
    ///         .unwrap();
    ///     let first = coordinator.enqueue(1).await.unwrap();
    ///     coordinator.enqueue(2).await.unwrap();
    ///     // Two results are in flight or held: a third item waits for a take.
    ///     assert!(matches!(coordinator.try_enqueue(3), Err(EnqueueError::Full(3))));
    ///     assert_eq!(coordinator.join(first).await, Ok(1));
    ///     coordinator.enqueue(3).await.unwrap();
    /// });
    /// # }
    /// ```
    pub fn results_capacity(mut self, capacity: usize) -> Self {
        self.parts.capacity = Some(capacity);
        self
    }

    /// Calls `report` with each operation's snapshot (its full outcome, the body's error
    /// included) and its value, on the worker that finished it, before the result is
    /// stored: a look at every result, including those a caller will take later.
    /// Keep it short.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use ephemeral::{OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// let sum = Arc::new(AtomicU64::new(0));
    /// let total = sum.clone();
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::builder(Smol, Options::default())
    ///         .on_result(move |_snapshot, value: Option<&u64>| {
    ///             total.fetch_add(value.copied().unwrap_or(0), Ordering::Relaxed);
    ///         })
    ///         .build(|n: u64, _: OpContext| async move { Ok::<_, ()>(n) })
    ///         .unwrap();
    ///     for n in 1..=3 { coordinator.enqueue(n).await.unwrap(); }
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    /// });
    /// assert_eq!(sum.load(Ordering::Relaxed), 6);
    /// # }
    /// ```
    pub fn on_result(
        mut self,
        report: impl Fn(&Snapshot<&Outcome<E>>, Option<&V>) + Send + Sync + 'static,
    ) -> Self {
        self.parts.on_result = Some(Box::new(report));
        self
    }

    /// Validates the options, builds the coordinator running `body` and spawns its
    /// workers.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, OptionsError, ResultCoordinator, runtime::Smol};
    ///
    /// let coordinator = ResultCoordinator::builder(Smol, Options::default())
    ///     .on_finalized(|snapshot| assert!(snapshot.state.is_finished()))
    ///     .build(|n: u8, _: OpContext| async move { Ok::<_, ()>(n + 1) })
    ///     .unwrap();
    /// # drop(coordinator);
    /// let none = ResultCoordinator::builder(Smol, Options::default())
    ///     .results_capacity(0)
    ///     .build(|n: u8, _: OpContext| async move { Ok::<_, ()>(n) });
    /// assert_eq!(none.err(), Some(OptionsError::ZeroResults));
    /// # }
    /// ```
    pub fn build<B>(self, body: B) -> Result<ResultCoordinator<I, V, R, E>, OptionsError>
    where
        B: Body<I, V, E>,
    {
        self.build_with(|_| body)
    }

    /// [`build`](Self::build) with a body that can reach its own coordinator (see
    /// [`WeakCoordinator`]): `make` gets a weak handle and returns the body. A body
    /// waiting for a result its own coordinator has not finished is refused with
    /// [`ResultError::WouldDeadlock`].
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     // Each item reports how many operations its coordinator had accepted.
    ///     let coordinator = ResultCoordinator::builder(Smol, Options::default())
    ///         .build_with(|me| move |_: u8, _: OpContext| {
    ///             let me = me.clone();
    ///             async move { me.upgrade().map(|me| me.totals().enqueued).ok_or(()) }
    ///         })
    ///         .unwrap();
    ///     let id = coordinator.enqueue(1).await.unwrap();
    ///     assert_eq!(coordinator.wait_for_result(id).await, Ok(1));
    /// });
    /// # }
    /// ```
    pub fn build_with<B>(
        self,
        make: impl FnOnce(WeakCoordinator<ResultCoordinator<I, V, R, E>>) -> B,
    ) -> Result<ResultCoordinator<I, V, R, E>, OptionsError>
    where
        B: Body<I, V, E>,
    {
        let capacity = match self.parts.capacity {
            Some(capacity) => capacity,
            None => self.options.slot_capacity()?,
        };
        if capacity == 0 {
            return Err(OptionsError::ZeroResults);
        }
        if capacity > MAX_RESULTS {
            return Err(OptionsError::TooManyResults { max: MAX_RESULTS });
        }
        // Checked before the store is allocated.
        self.options.validate()?;
        let store = Arc::new(Store::new(capacity));
        let (on_finalized, hooks) = self.hooks.take_finalized();
        let keeper = Keeping {
            store: store.clone(),
            on_finalized,
            on_result: self.parts.on_result,
        };
        let queue = Fifo::bounded(self.options.queue_capacity);
        let core = Core::start(
            self.rt,
            &self.options,
            hooks,
            queue,
            Some(Box::new(keeper)),
            store,
            |owner| make(WeakCoordinator::new(owner)),
        )?;
        Ok(ResultCoordinator { core })
    }
}

impl<I, V, R, E> ResultCoordinator<I, V, R, E>
where
    I: Send + 'static,
    V: Send + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    /// Builds a coordinator running `body` on `rt`; a body returns `Result<V, E>`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, OptionsError, ResultCoordinator, runtime::Smol};
    ///
    /// let bad = ResultCoordinator::new(Smol, Options::default().max_tracked(0), |n: u8, _: OpContext| async move { Ok::<_, ()>(n) });
    /// assert_eq!(bad.err(), Some(OptionsError::ZeroWindow));
    /// # }
    /// ```
    pub fn new<B>(rt: R, options: Options, body: B) -> Result<Self, OptionsError>
    where
        B: Body<I, V, E>,
    {
        Self::builder(rt, options).build(body)
    }

    /// A builder taking `new`'s arguments but the body, for the callbacks and the
    /// results capacity; it builds only a `ResultCoordinator` (see [`CoordinatorBuilder`]).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use ephemeral::{OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// let finished = Arc::new(AtomicU64::new(0));
    /// let count = finished.clone();
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::builder(Smol, Options::default())
    ///         .on_finalized(move |_| { count.fetch_add(1, Ordering::Relaxed); })
    ///         .build(|n: u64, _: OpContext| async move { Ok::<_, ()>(n * 2) })
    ///         .unwrap();
    ///     let id = coordinator.enqueue(21).await.unwrap();
    ///     assert_eq!(coordinator.wait_for_result(id).await, Ok(42));
    /// });
    /// assert_eq!(finished.load(Ordering::Relaxed), 1);
    /// # }
    /// ```
    pub fn builder(rt: R, options: Options) -> CoordinatorBuilder<Self> {
        let parts = ResultParts {
            capacity: None,
            on_result: None,
        };
        CoordinatorBuilder::new(rt, options, parts)
    }

    /// Accepts `item`, waiting while the coordinator is full (its queue, or its results:
    /// see [`results_capacity`](CoordinatorBuilder::results_capacity)); the id names its
    /// result.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, ResultError, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u32, _: OpContext| async move {
    ///         if n == 0 { Err("zero") } else { Ok(100 / n) }
    ///     })
    ///     .unwrap();
    ///     let id = coordinator.enqueue(4).await.unwrap(); // the id names the result
    ///     assert_eq!(coordinator.join(id).await, Ok(25));
    /// });
    /// # }
    /// ```
    pub async fn enqueue(&self, item: I) -> Result<OperationId, EnqueueError<I>> {
        self.core.enqueue(item, |_| ()).await
    }

    /// Accepts `item` now, or hands it back in `Full` or `Closed`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{EnqueueError, OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     // Room for one result: the second item waits until the first result is taken.
    ///     let coordinator = ResultCoordinator::builder(Smol, Options::default())
    ///         .results_capacity(1)
    ///         .build(|n: u32, _: OpContext| async move { Ok::<_, ()>(n) })
    ///         .unwrap();
    ///     let first = coordinator.try_enqueue(1).unwrap();
    ///     assert!(matches!(coordinator.try_enqueue(2), Err(EnqueueError::Full(2))));
    ///     assert_eq!(coordinator.join(first).await, Ok(1));
    ///     assert!(coordinator.try_enqueue(2).is_ok());
    /// });
    /// # }
    /// ```
    pub fn try_enqueue(&self, item: I) -> Result<OperationId, EnqueueError<I>> {
        self.core.try_enqueue(item, ())
    }

    /// Enqueues every item in turn, waiting while full. Returns how many were accepted;
    /// an error hands back the first refused item (the ones before it were accepted).
    /// The values are found with [`results`](Self::results) or by the ids `enqueue`
    /// returns.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u32, _: OpContext| async move { Ok::<_, ()>(n * 2) }).unwrap();
    ///     assert_eq!(coordinator.enqueue_many(1..=3).await.unwrap(), 3);
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     let mut values: Vec<_> = coordinator.successful().into_iter().map(|(_, v)| v).collect();
    ///     values.sort();
    ///     assert_eq!(values, [2, 4, 6]);
    /// });
    /// # }
    /// ```
    pub async fn enqueue_many(
        &self,
        items: impl IntoIterator<Item = I>,
    ) -> Result<usize, EnqueueError<I>> {
        self.core.enqueue_many(items, |_| ()).await
    }

    /// Builds a coordinator fed by `stream`: a task on `rt` enqueues each item (waiting
    /// while full) and completes the coordinator when the stream ends.
    /// [`drain`](Self::drain) waits for the stream's end as well as for the work.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let items = futures_lite::stream::iter(1..=4u32);
    ///     let coordinator = ResultCoordinator::from_stream(Smol, items, Options::default(), |n: u32, _: OpContext| async move { Ok::<_, ()>(n) }).unwrap();
    ///     coordinator.drain().await;
    ///     assert!(coordinator.is_completed());
    ///     assert_eq!(coordinator.successful().iter().map(|(_, v)| v).sum::<u32>(), 10);
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
        S: Stream<Item = I> + Send + 'static,
        B: Body<I, V, E>,
    {
        let coordinator = Self::new(rt, options, body)?;
        Core::feed(&coordinator.core, stream, |_| (), true);
        Ok(coordinator)
    }

    /// Enqueues every item of `stream` from a task on the coordinator's runtime (see
    /// [`WorkCoordinator::feed`](crate::WorkCoordinator::feed)).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u32, _: OpContext| async move { Ok::<_, ()>(n) }).unwrap();
    ///     coordinator.feed(futures_lite::stream::iter(0..5));
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.successful().len(), 5);
    /// });
    /// # }
    /// ```
    pub fn feed(&self, stream: impl Stream<Item = I> + Send + 'static) {
        Core::feed(&self.core, stream, |_| (), false);
    }

    /// A [`Sink`](futures_sink::Sink) enqueuing what is sent to it (see
    /// [`WorkCoordinator::sink`](crate::WorkCoordinator::sink)).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use futures::StreamExt;
    /// use ephemeral::{OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u32, _: OpContext| async move { Ok::<_, ()>(n) }).unwrap();
    ///     futures::stream::iter(0..3).map(Ok).forward(coordinator.sink()).await.unwrap();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.successful().len(), 3);
    /// });
    /// # }
    /// ```
    #[cfg(feature = "sink")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sink")))]
    pub fn sink(&self) -> impl futures_sink::Sink<I, Error = EnqueueError<I>> + '_ {
        EnqueueSink::new(move |item| self.enqueue(item), EnqueueError::Full)
    }

    /// Resolves with operation `id`'s result once it has finished (at once if it has),
    /// moving it out of the store: the value, or why there is none. Needs no `Clone`.
    /// Later calls answer [`ResultError::Taken`] (or `Unknown`, once the operation has
    /// also left the window). `Unknown` at once for an id this coordinator never
    /// accepted.
    ///
    /// From one of this coordinator's own bodies, an operation that has not finished
    /// answers [`ResultError::WouldDeadlock`] rather than wait.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, ResultError, runtime::Smol};
    ///
    /// struct Report(String); // neither Clone nor Copy
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u32, _: OpContext| async move {
    ///         Ok::<_, ()>(Report(format!("item {n}")))
    ///     })
    ///     .unwrap();
    ///     let id = coordinator.enqueue(7).await.unwrap();
    ///     assert_eq!(coordinator.join(id).await.unwrap().0, "item 7");
    ///     assert!(matches!(coordinator.join(id).await, Err(ResultError::Taken(_))));
    /// });
    /// # }
    /// ```
    pub async fn join(&self, id: OperationId) -> Result<V, ResultError<E>> {
        self.wait_then(id, |store| store.take(id)).await
    }

    /// Resolves with operation `id`'s result once it has finished (at once if it has),
    /// cloning it: the result stays for other callers. Otherwise as [`join`](Self::join).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, ResultError, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u32, _: OpContext| async move {
    ///         if n == 0 { Err("zero") } else { Ok(100 / n) }
    ///     })
    ///     .unwrap();
    ///     let id = coordinator.enqueue(5).await.unwrap();
    ///     assert_eq!(coordinator.wait_for_result(id).await, Ok(20));
    ///     assert_eq!(coordinator.wait_for_result(id).await, Ok(20)); // still there
    ///     let zero = coordinator.enqueue(0).await.unwrap();
    ///     assert_eq!(coordinator.wait_for_result(zero).await, Err(ResultError::Failed("zero")));
    /// });
    /// # }
    /// ```
    pub async fn wait_for_result(&self, id: OperationId) -> Result<V, ResultError<E>>
    where
        V: Clone,
        E: Clone,
    {
        self.wait_then(id, |store| store.with(id, Clone::clone))
            .await
    }

    /// Waits until `id` has finished, then answers with what `get` finds in the store.
    async fn wait_then(
        &self,
        id: OperationId,
        get: impl Fn(&Store<V, E>) -> Option<Answer<V, E>>,
    ) -> Result<V, ResultError<E>> {
        let Some(finished) = self.core.finished(id) else {
            return Err(ResultError::Unknown(id));
        };
        if self.core.called_from_body() {
            return self
                .settled(id, &get)
                .unwrap_or(Err(ResultError::WouldDeadlock(id)));
        }
        finished.until(|| self.settled(id, &get)).await
    }

    /// The answer for `id` once it has finished, read through `get`; `None` while it
    /// has not. The window is asked first: a result is kept before its operation shows
    /// finished there, so an operation seen finished (or gone) has its result in the
    /// store unless it was taken.
    fn settled(
        &self,
        id: OperationId,
        get: impl FnOnce(&Store<V, E>) -> Option<Answer<V, E>>,
    ) -> Option<Result<V, ResultError<E>>> {
        let state = self.core.read(id, |s| s.state);
        if state.is_some_and(|state| !state.is_finished()) {
            return None;
        }
        Some(get(&self.core.parts).unwrap_or(Err(match state {
            Some(_) => ResultError::Taken(id),
            None => ResultError::Unknown(id),
        })))
    }

    /// Moves operation `id`'s result out now: the value, or why there is none
    /// ([`NotFinished`](ResultError::NotFinished) while it runs). Needs no `Clone`;
    /// later calls answer [`ResultError::Taken`].
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, ResultError, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u32, _: OpContext| async move {
    ///         if n == 0 { Err("zero") } else { Ok(100 / n) }
    ///     })
    ///     .unwrap();
    ///     let id = coordinator.enqueue(10).await.unwrap();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.take_result(id), Ok(10));
    ///     assert_eq!(coordinator.take_result(id), Err(ResultError::Taken(id)));
    /// });
    /// # }
    /// ```
    pub fn take_result(&self, id: OperationId) -> Result<V, ResultError<E>> {
        self.settled(id, |store| store.take(id))
            .unwrap_or(Err(ResultError::NotFinished(id)))
    }

    /// Lends operation `id`'s result to `f` without taking it: `Ok(f(&result))` once it
    /// has finished, where `result` is its value or why there is none (the body's
    /// error, a panic, a cancellation); otherwise `Err` saying why there is nothing to
    /// lend (`NotFinished`, `Taken` or `Unknown`). `f` runs under the store's lock: it
    /// must not call this coordinator's result methods.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, ResultError, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u32, _: OpContext| async move {
    ///         if n > 9 { Err(format!("{n} is too big")) } else { Ok(n) }
    ///     })
    ///     .unwrap();
    ///     let id = coordinator.enqueue(12).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     let len = coordinator.with_result(id, |result| match result {
    ///         Err(ResultError::Failed(message)) => message.len(),
    ///         _ => 0,
    ///     });
    ///     assert_eq!(len, Ok(13));
    /// });
    /// # }
    /// ```
    pub fn with_result<X>(
        &self,
        id: OperationId,
        f: impl FnOnce(&Result<V, ResultError<E>>) -> X,
    ) -> Result<X, ResultError<E>> {
        let mut f = Some(f);
        let mut lent = None;
        let answer = self.settled(id, |store| {
            store.with(id, |result| lent = f.take().map(|f| f(result)))?;
            // Nothing is taken: the answer only says the lend happened.
            None
        });
        match (lent, answer) {
            (Some(lent), _) => Ok(lent),
            (None, Some(Err(why))) => Err(why),
            (None, _) => Err(ResultError::NotFinished(id)),
        }
    }

    /// Resolves with the next result in the order operations finished, moved out of the
    /// store (like tokio's `JoinSet::join_next`): `Some((id, result))`, or `None` once the
    /// coordinator is completed (or cancelled) and every accepted item's result has
    /// been handed out. Results taken by id meanwhile are skipped. From one of the
    /// coordinator's own bodies it answers at once (`None` if nothing has finished)
    /// rather than wait for its own workers.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u64, _: OpContext| async move {
    ///         Ok::<_, ()>(n * 10)
    ///     })
    ///     .unwrap();
    ///     for n in 0..5 { coordinator.enqueue(n).await.unwrap(); }
    ///     coordinator.complete();
    ///     let mut sum = 0;
    ///     while let Some((_id, result)) = coordinator.next_result().await {
    ///         sum += result.unwrap();
    ///     }
    ///     assert_eq!(sum, 100);
    /// });
    /// # }
    /// ```
    pub async fn next_result(&self) -> Option<(OperationId, Result<V, ResultError<E>>)> {
        let next = || match self.core.parts.pop() {
            Some(popped) => Some(Some(popped)),
            // Ended: settled counts fall after results are listed, so nothing is left
            // to list once it has; one more look takes a result listed meanwhile.
            None if self.core.ended() => Some(self.core.parts.pop()),
            None => None,
        };
        if self.core.called_from_body() {
            return next().flatten();
        }
        or(
            self.core.parts.listed().until(next),
            self.core.idle().until(next),
        )
        .await
    }

    /// The results in the order operations finish, as a [`Stream`] of `(id, result)`
    /// (see [`next_result`](Self::next_result)); it ends once the coordinator is
    /// completed and every accepted item's result has been yielded. Polling it
    /// allocates nothing.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use futures_lite::StreamExt;
    /// use ephemeral::{OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u64, _: OpContext| async move {
    ///         Ok::<_, ()>(n)
    ///     })
    ///     .unwrap();
    ///     for n in 0..4 { coordinator.enqueue(n).await.unwrap(); }
    ///     coordinator.complete();
    ///     let values: Vec<u64> = coordinator.result_stream().map(|(_, r)| r.unwrap()).collect().await;
    ///     assert_eq!(values.len(), 4);
    /// });
    /// # }
    /// ```
    pub fn result_stream(
        &self,
    ) -> impl Stream<Item = (OperationId, Result<V, ResultError<E>>)> + Send + '_ {
        futures_lite::stream::unfold(self, |coordinator| async move {
            let next = coordinator.next_result().await?;
            Some((next, coordinator))
        })
    }

    /// Every result held (finished and not yet taken), cloned, in the order the
    /// operations finished.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, ResultError, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u32, _: OpContext| async move {
    ///         if n == 0 { Err("zero") } else { Ok(100 / n) }
    ///     })
    ///     .unwrap();
    ///     let ok = coordinator.enqueue(2).await.unwrap();
    ///     coordinator.drain().await;
    ///     let zero = coordinator.enqueue(0).await.unwrap();
    ///     coordinator.drain().await;
    ///     assert_eq!(
    ///         coordinator.results(),
    ///         [(ok, Ok(50)), (zero, Err(ResultError::Failed("zero")))]
    ///     );
    ///     assert_eq!(coordinator.results().len(), 2); // cloned, not taken
    /// });
    /// # }
    /// ```
    pub fn results(&self) -> Vec<(OperationId, Result<V, ResultError<E>>)>
    where
        V: Clone,
        E: Clone,
    {
        self.core
            .parts
            .collect(|id, answer| Some((id, answer.clone())))
    }

    /// The values held (successful operations' results not yet taken), cloned, in the
    /// order the operations finished.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, ResultError, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u32, _: OpContext| async move {
    ///         if n == 0 { Err("zero") } else { Ok(100 / n) }
    ///     })
    ///     .unwrap();
    ///     let ids = [coordinator.enqueue(1).await.unwrap(), coordinator.enqueue(0).await.unwrap()];
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.successful(), [(ids[0], 100)]); // the failure is left out
    /// });
    /// # }
    /// ```
    pub fn successful(&self) -> Vec<(OperationId, V)>
    where
        V: Clone,
    {
        self.core
            .parts
            .collect(|id, answer| answer.as_ref().ok().map(|value| (id, value.clone())))
    }

    /// How many results the coordinator holds at most, items in flight included (see
    /// [`results_capacity`](CoordinatorBuilder::results_capacity)).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// let coordinator = ResultCoordinator::builder(Smol, Options::default())
    ///     .results_capacity(500)
    ///     .build(|n: u32, _: OpContext| async move { Ok::<_, ()>(n) })
    ///     .unwrap();
    /// assert_eq!(coordinator.results_capacity(), 500);
    /// # }
    /// ```
    pub fn results_capacity(&self) -> usize {
        self.core.parts.capacity()
    }

    /// Items accepted whose results have not been taken yet (in flight, or finished and
    /// held); accepting waits while this is at the capacity.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, ResultError, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = ResultCoordinator::new(Smol, Options::default(), |n: u32, _: OpContext| async move {
    ///         if n == 0 { Err("zero") } else { Ok(100 / n) }
    ///     })
    ///     .unwrap();
    ///     let id = coordinator.enqueue(1).await.unwrap();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.results_reserved(), 1); // finished, held until taken
    ///     coordinator.take_result(id).unwrap();
    ///     assert_eq!(coordinator.results_reserved(), 0);
    /// });
    /// # }
    /// ```
    pub fn results_reserved(&self) -> usize {
        self.core.parts.reserved()
    }

    shared_api!(
        InResults,
        "# #[cfg(feature = \"smol\")] smol::block_on(async {\n\
        # use ephemeral::{runtime::Smol, *};\n\
        # let options = Options::default().max_concurrency(4).concurrency_ceiling(8).max_tracked(4).defer_on(\"hold\");\n\
        # let coordinator = ResultCoordinator::new(Smol, options, |n: u32, ctx: OpContext| async move {\n\
        #     if n == 1 { ctx.cancelled().await; }\n\
        #     if n % 10 == 0 { ctx.signal(\"tens\").unwrap(); return Err(\"a ten\"); }\n\
        #     Ok(n)\n\
        # }).unwrap();\n\
        # macro_rules! submit { ($n:expr) => { coordinator.enqueue($n).await.unwrap() } }"
    );
    handle_api!();
}

impl<I, V, R, E> fmt::Debug for ResultCoordinator<I, V, R, E>
where
    V: Send + 'static,
    E: Send + Sync + 'static,
    R: Timer,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core
            .describe(f, "ResultCoordinator")
            .field("results_capacity", &self.core.parts.capacity())
            .field("results_reserved", &self.core.parts.reserved())
            .finish_non_exhaustive()
    }
}
