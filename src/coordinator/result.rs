//! `ResultCoordinator`: a work coordinator that keeps each body's value, to wait for or
//! take.

// `ResultError::Panicked` carries the panic message inline (128 bytes) rather than
// boxing it, so answering never allocates; the size only matters on the error path.
#![allow(clippy::result_large_err)]

use alloc::vec::Vec;
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
use super::outcome::Record;
use super::{Body, EnqueueError, Outcome, ResultError};
use crate::WeakCoordinator;
use crate::operation::OperationId;
use crate::options::{Options, OptionsError};
use crate::runtime::{BoxedRuntime, Spawner, Timer};
use crate::sync::Handle;
use crate::sync::Lock;

/// A finished operation's record: how it ended, and its value until taken. The value
/// sits behind a lock because [`ResultCoordinator::take_result`] moves it out while
/// readers may be cloning it; the lock is taken once per item when nobody asks. `V`'s
/// `Clone` runs under it (a clone that panics leaves the value in place, the lock is
/// released by its guard); it must not call back into the coordinator.
pub(crate) struct Resulted<V, E> {
    outcome: Outcome<E>,
    value: Lock<Option<V>>,
}

impl<V: Send + 'static, E: Send + Sync + 'static> Record for Resulted<V, E> {
    type Error = E;
    type Value = V;
    fn record(outcome: Outcome<E>, value: Option<V>) -> Self {
        Self {
            outcome,
            value: Lock::new(value),
        }
    }
    fn outcome(&self) -> &Outcome<E> {
        &self.outcome
    }
}

impl<V, E: Clone> Resulted<V, E> {
    /// The value (through `get`, which clones or takes it) or why there is none.
    fn answer(
        &self,
        id: OperationId,
        get: impl FnOnce(&mut Option<V>) -> Option<V>,
    ) -> Result<V, ResultError<E>> {
        match &self.outcome {
            Outcome::Success => self.value.with(get).ok_or(ResultError::Taken(id)),
            Outcome::Error(error) => Err(ResultError::Failed(error.clone())),
            Outcome::Panic(message) => Err(ResultError::Panicked(message.clone())),
            Outcome::Cancelled(cause) => Err(ResultError::Cancelled(*cause)),
        }
    }
}

/// A work coordinator whose bodies return values: `enqueue` hands back the operation's
/// id, and [`wait_for_result`](Self::wait_for_result) resolves with its value (or why
/// there is none), whether the operation finished before or after the call.
///
/// Values stay in the window with their operations (and leave with them, by count or
/// age, like everything in the window); [`take_result`](Self::take_result) moves one
/// out. Waiting is by wake-up: each window slot has its own, notified when its
/// operation ends, so a waiter sleeps until then and an operation nobody waits for
/// costs a fence and a load. Nothing allocates per item until someone waits.
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
///     assert_eq!(coordinator.wait_for_result(zero).await, Err(ResultError::Failed("zero")));
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

type ResultOwner<I, V, R, E> = Owner<Core<I, R, Fifo, Resulted<V, E>>>;

coordinator_kind!([I, V, R, E] ResultCoordinator<I, V, R, E>, (), ResultOwner<I, V, R, E>);

impl<I, V, R, E> CoordinatorBuilder<ResultCoordinator<I, V, R, E>>
where
    I: Send + 'static,
    V: Send + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    /// Validates the options, builds the coordinator running `body` and spawns its
    /// workers.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, ResultCoordinator, runtime::Smol};
    ///
    /// let coordinator = ResultCoordinator::builder(Smol, Options::default())
    ///     .on_finalized(|snapshot| assert!(snapshot.state.is_finished()))
    ///     .build(|n: u8, _: OpContext| async move { Ok::<_, ()>(n + 1) })
    ///     .unwrap();
    /// # drop(coordinator);
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
        let queue = Fifo::bounded(self.options.queue_capacity);
        let core = Core::start(
            self.rt,
            &self.options,
            self.hooks,
            queue,
            true,
            (),
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

    /// A builder taking `new`'s arguments but the body, for the callbacks; it builds
    /// only a `ResultCoordinator` (see [`CoordinatorBuilder`]).
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
        CoordinatorBuilder::new(rt, options, ())
    }

    /// Accepts `item`, waiting while the coordinator is full; the id names its result.
    pub async fn enqueue(&self, item: I) -> Result<OperationId, EnqueueError<I>> {
        self.core.enqueue(item, |_| ()).await
    }

    /// Accepts `item` now, or hands it back in `Full` or `Closed`.
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

    /// Resolves with operation `id`'s value once it has finished (at once if it has),
    /// or with why there is none. The value stays for other callers (it is cloned).
    ///
    /// An operation that leaves the window before the waiter looks answers
    /// [`ResultError::Unknown`]: that takes `max_tracked` later completions (or its age
    /// limit) between its end and the waiter's wake-up; pin it to rule that out.
    pub async fn wait_for_result(&self, id: OperationId) -> Result<V, ResultError<E>>
    where
        V: Clone,
        E: Clone,
    {
        let Some(finished) = self.core.finished(id) else {
            return Err(ResultError::Unknown(id));
        };
        if self.core.called_from_body() {
            return self
                .answer(id, |value| value.clone())
                .unwrap_or(Err(ResultError::WouldDeadlock(id)));
        }
        finished
            .until(|| self.answer(id, |value| value.clone()))
            .await
    }

    /// Moves operation `id`'s value out; later calls answer [`ResultError::Taken`].
    pub fn take_result(&self, id: OperationId) -> Result<V, ResultError<E>>
    where
        E: Clone,
    {
        self.answer(id, Option::take)
            .unwrap_or(Err(ResultError::NotFinished(id)))
    }

    /// The answer for `id`, the value read through `get`; `None` while it has not
    /// finished.
    fn answer(
        &self,
        id: OperationId,
        get: impl FnOnce(&mut Option<V>) -> Option<V>,
    ) -> Option<Result<V, ResultError<E>>>
    where
        E: Clone,
    {
        match self.core.read(id, |s| s.outcome.map(|r| r.answer(id, get))) {
            None => Some(Err(ResultError::Unknown(id))),
            Some(answer) => answer,
        }
    }

    /// Every finished operation in the window with its value (cloned) or why there is
    /// none, oldest first.
    pub fn results(&self) -> Vec<(OperationId, Result<V, ResultError<E>>)>
    where
        V: Clone,
        E: Clone,
    {
        self.core.collect_records(|s| {
            let answer = s.outcome?.answer(s.id, |value| value.clone());
            Some((s.id, answer))
        })
    }

    /// The values of the window's successful operations not yet taken, oldest first.
    pub fn successful(&self) -> Vec<(OperationId, V)>
    where
        V: Clone,
        E: Clone,
    {
        self.core.collect_records(|s| {
            let value = s.outcome?.answer(s.id, |value| value.clone()).ok()?;
            Some((s.id, value))
        })
    }

    shared_api!(
        E,
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
            .finish_non_exhaustive()
    }
}
