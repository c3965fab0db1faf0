//! The methods every long-lived coordinator offers, written once: each coordinator's
//! `impl` block expands [`shared_api!`] over its `core` field, so lifecycle, queries,
//! pins and signal questions behave (and are documented) the same everywhere.

/// Expands to the shared methods inside an `impl` whose type has a `core:
/// Arc<Core<..>>` field; `$error` is the body's error type. `$setup` opens each method's
/// example: hidden lines, inside `smol::block_on(async {` left open, that build this
/// kind of coordinator over `u32` items with a body that fails on multiples of ten
/// (raising `tens`) and runs item 1 until cancelled, `defer_on("hold")`, a concurrency of
/// 4 under a ceiling of 8 and a window of 4, and define `submit!(n)`, which enqueues `n`
/// and gives its id.
macro_rules! shared_api {
    ($error:ty, $setup:literal) => {
        $crate::coordinator::core::api::observe_api!($error);

        /// Stops accepting items; queued and running ones still run. Idempotent.
        ///
        /// ```
        #[doc = $setup]
        /// submit!(2);
        /// coordinator.complete(); // later enqueues are refused with `Closed`
        /// coordinator.drain().await;
        /// assert_eq!(coordinator.totals().completed, 1);
        /// # });
        /// ```
        pub fn complete(&self) {
            self.core.complete();
        }

        /// Whether `complete` (or `cancel`) has been called.
        ///
        /// ```
        #[doc = $setup]
        /// assert!(!coordinator.is_completed());
        /// coordinator.complete();
        /// assert!(coordinator.is_completed());
        /// # });
        /// ```
        pub fn is_completed(&self) -> bool {
            self.core.is_completed()
        }

        /// Waits until every accepted item is terminal (and the async signal handlers
        /// have handled what those items raised). Does not close the coordinator; call
        /// `complete` first to wait for the end of all work.
        ///
        /// # Panics
        ///
        /// When awaited from one of this coordinator's own bodies (detected under
        /// `std`): the body is itself in flight, so the wait could never end. The
        /// panic is the body's, so it is recorded as that operation's fault.
        ///
        /// ```
        #[doc = $setup]
        /// for n in 2..10 {
        ///     submit!(n);
        /// }
        /// coordinator.drain().await;
        /// assert_eq!(coordinator.pending_count() + coordinator.active_count(), 0);
        /// assert_eq!(coordinator.totals().completed, 8);
        /// # });
        /// ```
        pub async fn drain(&self) {
            self.core.drain().await;
        }

        /// The next operation to finish, in finishing order, as a small `Copy`
        /// [`Completion`]($crate::Completion) (read its error with `with` while the
        /// window keeps it), sleeping until one finishes; a
        /// [`Lagged`]($crate::Completion::Lagged) count first if the consumer fell
        /// more than the queue's capacity behind. `None` once the coordinator is
        /// completed and every accepted item's completion has been yielded, and at
        /// once if the builder did not ask for
        /// [`completions`]($crate::CoordinatorBuilder::completions) (as here; see its
        /// example). From one of the coordinator's own bodies it answers at once.
        /// Allocates nothing.
        ///
        /// ```
        #[doc = $setup]
        /// submit!(2);
        /// assert_eq!(coordinator.next_finished().await, None); // built without a queue
        /// # });
        /// ```
        pub async fn next_finished(&self) -> Option<$crate::Completion> {
            self.core.next_finished().await
        }

        /// The operations in the order they finish, as a [`Stream`](futures_lite::Stream)
        /// of [`next_finished`](Self::next_finished)'s items; it ends once the
        /// coordinator is completed and every accepted item's completion has been
        /// yielded. Dropping it midway leaves the coordinator working; a later stream
        /// goes on where it stopped. Polling it allocates nothing.
        ///
        /// ```
        #[doc = $setup]
        /// use futures_lite::StreamExt;
        /// coordinator.complete();
        /// assert_eq!(coordinator.finished_stream().count().await, 0); // built without a queue
        /// # });
        /// ```
        pub fn finished_stream(
            &self,
        ) -> impl futures_lite::Stream<Item = $crate::Completion> + Send + '_ {
            futures_lite::stream::unfold(self, |coordinator| async move {
                let next = coordinator.next_finished().await?;
                Some((next, coordinator))
            })
        }

        /// Completes the coordinator, cancels every waiting item and drops running bodies
        /// at their next poll. Each becomes a `Cancelled` operation. (If the executor
        /// drops every worker, the same happens by itself, with
        /// [`CancelCause::Stopped`]($crate::CancelCause::Stopped).)
        ///
        /// ```
        #[doc = $setup]
        /// submit!(1); // runs until cancelled
        /// submit!(2);
        /// coordinator.cancel();
        /// coordinator.drain().await;
        /// // Each ended: cancelled, or finished before the cancel reached it.
        /// assert_eq!(coordinator.totals().cancelled + coordinator.totals().completed, 2);
        /// # });
        /// ```
        pub fn cancel(&self) {
            self.core.cancel();
        }

        /// Starts no new body until `resume`, not even one whose item a worker has
        /// already taken; running bodies go on.
        ///
        /// ```
        #[doc = $setup]
        /// coordinator.pause();
        /// submit!(2);
        /// smol::Timer::after(core::time::Duration::from_millis(10)).await;
        /// assert_eq!(coordinator.totals().completed, 0); // accepted, not started
        /// coordinator.resume();
        /// coordinator.drain().await;
        /// assert_eq!(coordinator.totals().completed, 1);
        /// # });
        /// ```
        pub fn pause(&self) {
            self.core.pause();
        }

        /// Lets bodies start again after `pause`.
        ///
        /// ```
        #[doc = $setup]
        /// coordinator.pause();
        /// submit!(2);
        /// coordinator.resume();
        /// coordinator.drain().await;
        /// assert_eq!(coordinator.totals().completed, 1);
        /// # });
        /// ```
        pub fn resume(&self) {
            self.core.resume();
        }

        /// Whether the coordinator is paused.
        ///
        /// ```
        #[doc = $setup]
        /// coordinator.pause();
        /// assert!(coordinator.is_paused());
        /// coordinator.resume();
        /// assert!(!coordinator.is_paused());
        /// # });
        /// ```
        pub fn is_paused(&self) -> bool {
            self.core.is_paused()
        }

        /// Changes how many bodies may run at once, between 1 and the concurrency
        /// ceiling. Lowering takes effect at once: no new body starts while `n` or more
        /// run.
        ///
        /// ```
        #[doc = $setup]
        /// coordinator.set_max_concurrency(2).unwrap();
        /// assert_eq!(coordinator.max_concurrency(), 2);
        /// assert_eq!(coordinator.set_max_concurrency(0), Err(ConcurrencyError::Zero));
        /// assert_eq!(
        ///     coordinator.set_max_concurrency(9),
        ///     Err(ConcurrencyError::AboveCeiling { requested: 9, ceiling: 8 })
        /// );
        /// # });
        /// ```
        pub fn set_max_concurrency(&self, n: usize) -> Result<(), $crate::ConcurrencyError> {
            self.core.set_max_concurrency(n)
        }

        /// The concurrency limit in force.
        ///
        /// ```
        #[doc = $setup]
        /// assert_eq!(coordinator.max_concurrency(), 4);
        /// # });
        /// ```
        pub fn max_concurrency(&self) -> usize {
            self.core.max_concurrency()
        }

        /// Accepted items whose bodies have not started (queued, or held by a worker:
        /// deferred, paused, or waiting for a permit). An item a caller has seen finish
        /// is never counted.
        ///
        /// ```
        #[doc = $setup]
        /// coordinator.pause();
        /// submit!(2);
        /// submit!(3);
        /// assert_eq!(coordinator.pending_count(), 2);
        /// assert_eq!(coordinator.active_count(), 0);
        /// # });
        /// ```
        pub fn pending_count(&self) -> usize {
            self.core.pending_count()
        }

        /// Accepted items held back right now by a `defer_on` signal (they count as
        /// pending too).
        ///
        /// ```
        #[doc = $setup]
        /// coordinator.signals().raise("hold").unwrap(); // the setup's `defer_on`
        /// submit!(2);
        /// while coordinator.deferred_count() == 0 {
        ///     smol::future::yield_now().await;
        /// }
        /// coordinator.signals().retract("hold");
        /// coordinator.drain().await;
        /// assert_eq!(coordinator.deferred_count(), 0);
        /// assert_eq!(coordinator.totals().deferred, 1);
        /// # });
        /// ```
        pub fn deferred_count(&self) -> usize {
            self.core.deferred_count()
        }

        /// Bodies running now (an item a caller has seen finish is never counted).
        ///
        /// ```
        #[doc = $setup]
        /// submit!(1); // runs until cancelled
        /// while coordinator.active_count() == 0 {
        ///     smol::future::yield_now().await;
        /// }
        /// assert_eq!(coordinator.active_count(), 1);
        /// # });
        /// ```
        pub fn active_count(&self) -> usize {
            self.core.active_count()
        }

        /// Counts since construction.
        ///
        /// ```
        #[doc = $setup]
        /// submit!(10); // fails
        /// submit!(2);
        /// coordinator.complete();
        /// coordinator.drain().await;
        /// let totals = coordinator.totals();
        /// assert_eq!((totals.enqueued, totals.completed, totals.failed), (2, 1, 1));
        /// # });
        /// ```
        pub fn totals(&self) -> $crate::Totals {
            self.core.totals()
        }

        /// Snapshots of the running operations.
        ///
        /// ```
        #[doc = $setup]
        /// let id = submit!(1); // runs until cancelled
        /// while coordinator.get(id).unwrap().state != State::Running {
        ///     smol::future::yield_now().await;
        /// }
        /// let running = coordinator.running();
        /// assert_eq!(running.len(), 1);
        /// assert_eq!((running[0].id, running[0].state), (id, State::Running));
        /// # });
        /// ```
        pub fn running(&self) -> alloc::vec::Vec<$crate::Snapshot<$crate::Outcome<$error>>>
        where
            $error: Clone,
        {
            self.core.collect(|_, s| s.state == $crate::State::Running)
        }

        /// Snapshots of the window's successful operations, oldest first.
        ///
        /// ```
        #[doc = $setup]
        /// submit!(2);
        /// submit!(10); // fails
        /// coordinator.drain().await;
        /// assert_eq!(coordinator.completed().len(), 1);
        /// # });
        /// ```
        pub fn completed(&self) -> alloc::vec::Vec<$crate::Snapshot<$crate::Outcome<$error>>>
        where
            $error: Clone,
        {
            self.core
                .collect(|_, s| s.state == $crate::State::Completed)
        }

        /// Snapshots of the window's failed operations (error or panic), oldest first.
        ///
        /// ```
        #[doc = $setup]
        /// submit!(2);
        /// submit!(10);
        /// coordinator.drain().await;
        /// let failed = coordinator.failed();
        /// assert_eq!(failed.len(), 1);
        /// assert!(matches!(failed[0].outcome, Some(Outcome::Error(_))));
        /// # });
        /// ```
        pub fn failed(&self) -> alloc::vec::Vec<$crate::Snapshot<$crate::Outcome<$error>>>
        where
            $error: Clone,
        {
            self.core.collect(|_, s| s.state == $crate::State::Faulted)
        }

        /// Snapshots of every tracked operation: pending, running, then finished oldest
        /// first.
        ///
        /// ```
        #[doc = $setup]
        /// submit!(2);
        /// submit!(10);
        /// coordinator.drain().await;
        /// let all = coordinator.snapshot();
        /// assert_eq!(all.len(), 2);
        /// assert!(all.iter().all(|s| s.state.is_finished()));
        /// # });
        /// ```
        pub fn snapshot(&self) -> alloc::vec::Vec<$crate::Snapshot<$crate::Outcome<$error>>>
        where
            $error: Clone,
        {
            self.core.collect(|_, _| true)
        }

        /// Calls `f` with each tracked operation's snapshot, without allocating.
        ///
        /// ```
        #[doc = $setup]
        /// submit!(10);
        /// submit!(20);
        /// submit!(3);
        /// coordinator.drain().await;
        /// let mut failures = 0;
        /// coordinator.visit(|s| failures += usize::from(s.state == State::Faulted));
        /// assert_eq!(failures, 2);
        /// # });
        /// ```
        pub fn visit(&self, f: impl FnMut($crate::Snapshot<&$crate::Outcome<$error>>)) {
            self.core.visit(f);
        }

        /// One operation's snapshot, or `None` once it has left the window.
        ///
        /// ```
        #[doc = $setup]
        /// let id = submit!(10);
        /// coordinator.drain().await;
        /// let snapshot = coordinator.get(id).unwrap();
        /// assert_eq!(snapshot.state, State::Faulted);
        /// assert!(snapshot.duration().is_some());
        /// # });
        /// ```
        pub fn get(
            &self,
            id: $crate::OperationId,
        ) -> Option<$crate::Snapshot<$crate::Outcome<$error>>>
        where
            $error: Clone,
        {
            self.core.get(id)
        }

        /// Keeps an operation past count and age eviction (within the pin budget).
        ///
        /// ```
        #[doc = $setup]
        /// let failure = submit!(10);
        /// coordinator.pin(failure).unwrap(); // outlives the window's count of 4
        /// for n in 2..10 {
        ///     submit!(n);
        /// }
        /// coordinator.drain().await;
        /// assert!(coordinator.get(failure).unwrap().pinned);
        /// # });
        /// ```
        pub fn pin(&self, id: $crate::OperationId) -> Result<(), $crate::WindowError> {
            self.core.pin(id)
        }

        /// Releases a pin.
        ///
        /// ```
        #[doc = $setup]
        /// let id = submit!(10);
        /// coordinator.pin(id).unwrap();
        /// coordinator.unpin(id).unwrap();
        /// coordinator.drain().await;
        /// assert!(!coordinator.get(id).unwrap().pinned);
        /// # });
        /// ```
        pub fn unpin(&self, id: $crate::OperationId) -> Result<(), $crate::WindowError> {
            self.core.unpin(id)
        }

        /// Removes a finished operation from the window now.
        ///
        /// ```
        #[doc = $setup]
        /// let id = submit!(2);
        /// coordinator.drain().await;
        /// coordinator.evict(id).unwrap();
        /// assert!(coordinator.get(id).is_none());
        /// assert_eq!(coordinator.evict(id), Err(WindowError::Unknown(id)));
        /// # });
        /// ```
        pub fn evict(&self, id: $crate::OperationId) -> Result<(), $crate::WindowError> {
            self.core.evict(id)
        }

        /// The sink this coordinator raises into and gates on (`Options::signals`, or
        /// its own).
        ///
        /// ```
        #[doc = $setup]
        /// let sink = coordinator.signals().clone(); // shares one sink
        /// sink.raise("maintenance").unwrap();
        /// assert!(coordinator.signals().is_raised("maintenance"));
        /// # });
        /// ```
        pub fn signals(&self) -> &$crate::signal::SignalSink {
            self.core.control.signals.sink()
        }

        /// Resolves with operation `id`'s terminal state (`Completed`, `Faulted` or
        /// `Cancelled`) once it has one, at once if it ended already, like awaiting a
        /// task's handle. An operation that ended and left the window still answers,
        /// unless its slot has since been reused by another operation that ended too.
        /// [`WaitError::Unknown`]($crate::WaitError::Unknown) for an id this
        /// coordinator never accepted (or one long gone); from one of this coordinator's
        /// own bodies, an operation that has not ended answers
        /// [`WaitError::WouldDeadlock`]($crate::WaitError::WouldDeadlock) instead of
        /// waiting.
        ///
        /// ```
        /// # #[cfg(feature = "smol")] {
        /// use ephemeral::{OpContext, Options, State, WorkCoordinator, runtime::Smol};
        ///
        /// smol::block_on(async {
        ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |n: u8, _: OpContext| async move {
        ///         if n == 0 { Err("zero") } else { Ok(()) }
        ///     })
        ///     .unwrap();
        ///     let good = coordinator.enqueue(1).await.unwrap();
        ///     let bad = coordinator.enqueue(0).await.unwrap();
        ///     assert_eq!(coordinator.wait(good).await, Ok(State::Completed));
        ///     assert_eq!(coordinator.wait(bad).await, Ok(State::Faulted));
        /// });
        /// # }
        /// ```
        pub async fn wait(
            &self,
            id: $crate::OperationId,
        ) -> Result<$crate::State, $crate::WaitError> {
            self.core.wait(id).await
        }

        /// Cancels one operation, as an abort handle does: a pending one at once (its body
        /// never runs), a running one at its body's next poll (the body is dropped). It
        /// ends `Cancelled` with [`CancelCause::Requested`]($crate::CancelCause::Requested)
        /// (a running body that finishes before its next poll ends as it finished).
        /// Refused with the operation's state if it has ended already, or
        /// [`WindowError::Unknown`]($crate::WindowError::Unknown) for an id this
        /// coordinator does not track.
        ///
        /// ```
        /// # #[cfg(feature = "smol")] {
        /// use ephemeral::{CancelCause, OpContext, Options, Outcome, State, WorkCoordinator, runtime::Smol};
        ///
        /// smol::block_on(async {
        ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, _: OpContext| {
        ///         core::future::pending::<()>()
        ///     })
        ///     .unwrap();
        ///     let stuck = coordinator.enqueue(1).await.unwrap();
        ///     coordinator.cancel_operation(stuck).unwrap();
        ///     assert_eq!(coordinator.wait(stuck).await, Ok(State::Cancelled));
        ///     let outcome = coordinator.get(stuck).unwrap().outcome;
        ///     assert_eq!(outcome, Some(Outcome::Cancelled(CancelCause::Requested)));
        ///     assert!(coordinator.cancel_operation(stuck).is_err(), "it has ended");
        /// });
        /// # }
        /// ```
        pub fn cancel_operation(&self, id: $crate::OperationId) -> Result<(), $crate::WindowError> {
            self.core.cancel_operation(id)
        }

        /// Waits until the coordinator is closed (`complete` or `cancel` was called) and
        /// every accepted item is terminal, with the async signal handlers done: the end
        /// of all its work, like `TaskTracker::wait`. Unlike `drain`, it keeps waiting
        /// while the coordinator is open, however idle.
        ///
        /// # Panics
        ///
        /// When awaited from one of this coordinator's own bodies (detected under
        /// `std`), as `drain`.
        ///
        /// ```
        /// # #[cfg(feature = "smol")] {
        /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
        ///
        /// smol::block_on(async {
        ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, _: OpContext| async {}).unwrap();
        ///     coordinator.enqueue(1).await.unwrap();
        ///     let closed = coordinator.wait_closed();
        ///     coordinator.complete();
        ///     closed.await;
        ///     assert_eq!(coordinator.totals().completed, 1);
        /// });
        /// # }
        /// ```
        pub async fn wait_closed(&self) {
            self.core.wait_closed().await;
        }

        /// Whether an operation still in the window raised `name` (and did not retract
        /// it). Answers follow the window: an evicted operation's signals no longer count.
        ///
        /// ```
        #[doc = $setup]
        /// submit!(10); // raises "tens"
        /// coordinator.drain().await;
        /// assert!(coordinator.has_signal("tens"));
        /// assert!(!coordinator.has_signal("elevens"));
        /// # });
        /// ```
        pub fn has_signal(&self, name: &str) -> bool {
            self.core.has_signal(name)
        }

        /// How many operations in the window raised `name` (see `has_signal`).
        ///
        /// ```
        #[doc = $setup]
        /// submit!(10);
        /// submit!(20);
        /// submit!(3);
        /// coordinator.drain().await;
        /// assert_eq!(coordinator.count_signals("tens"), 2);
        /// # });
        /// ```
        pub fn count_signals(&self, name: &str) -> usize {
            self.core.count_signals(name)
        }

        /// Every signal matching `patterns` (globs, comma-separated) raised by an
        /// operation in the window, with that operation's id (see `has_signal`).
        ///
        /// ```
        #[doc = $setup]
        /// let id = submit!(10);
        /// coordinator.drain().await;
        /// let found = coordinator.signals_matching("ten*");
        /// assert_eq!(found.len(), 1);
        /// assert_eq!(found[0].0, id);
        /// assert_eq!(coordinator.signals().name(found[0].1).unwrap(), "tens");
        /// # });
        /// ```
        pub fn signals_matching(
            &self,
            patterns: &str,
        ) -> alloc::vec::Vec<($crate::OperationId, $crate::signal::Signal)> {
            self.core.signals_matching(patterns)
        }
    };
}

pub(crate) use shared_api;

/// The queries that lend each snapshot to a closure instead of cloning it out (they ask
/// nothing of the body's error type: `std::io::Error`, `anyhow::Error` and most client
/// errors are not `Clone`; and allocate nothing), and the clock snapshots are read
/// against. Part of [`shared_api!`].
macro_rules! observe_api {
    ($error:ty) => {
        /// The coordinator's clock now (its runtime's [`Timer::now`](crate::runtime::Timer::now)):
        /// the reading a snapshot's times are comparable with, e.g. in
        /// [`Snapshot::age`](crate::Snapshot::age).
        ///
        /// ```
        /// # #[cfg(feature = "smol")] {
        /// use core::time::Duration;
        /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
        ///
        /// smol::block_on(async {
        ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, _: OpContext| async {}).unwrap();
        ///     let id = coordinator.enqueue(1).await.unwrap();
        ///     coordinator.drain().await;
        ///     let now = coordinator.now();
        ///     let age = coordinator.with(id, |s| s.age(now)).unwrap();
        ///     assert!(age < Duration::from_secs(60));
        /// });
        /// # }
        /// ```
        pub fn now(&self) -> core::time::Duration {
            self.core.now()
        }

        /// Calls `f` with operation `id`'s snapshot, borrowed where it lies, and returns
        /// what `f` returns; `None` once the operation has left the window. Unlike
        /// `get`, the error need not be `Clone`, and nothing is allocated.
        ///
        /// ```
        /// # #[cfg(feature = "smol")] {
        /// use std::io;
        /// use ephemeral::{OpContext, Options, Outcome, WorkCoordinator, runtime::Smol};
        ///
        /// smol::block_on(async {
        ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |path: &'static str, _: OpContext| async move {
        ///         Err::<(), _>(io::Error::new(io::ErrorKind::NotFound, path))
        ///     })
        ///     .unwrap();
        ///     let id = coordinator.enqueue("/etc/missing").await.unwrap();
        ///     coordinator.drain().await;
        ///     let kind = coordinator.with(id, |s| match s.outcome {
        ///         Some(Outcome::Error(e)) => Some((e.kind(), e.to_string())),
        ///         _ => None,
        ///     });
        ///     assert_eq!(kind, Some(Some((io::ErrorKind::NotFound, "/etc/missing".to_string()))));
        /// });
        /// # }
        /// ```
        pub fn with<X>(
            &self,
            id: $crate::OperationId,
            f: impl FnOnce($crate::Snapshot<&$crate::Outcome<$error>>) -> X,
        ) -> Option<X> {
            self.core.with(id, f)
        }

        /// Calls `f` with each running operation's snapshot, borrowed (in slot order;
        /// `running` returns them owned, for a `Clone` error). Allocates nothing.
        ///
        /// ```
        /// # #[cfg(feature = "smol")] {
        /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
        ///
        /// let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, _: OpContext| async {}).unwrap();
        /// let mut running = 0;
        /// coordinator.visit_running(|_| running += 1);
        /// assert_eq!(running, 0);
        /// # }
        /// ```
        pub fn visit_running(&self, f: impl FnMut($crate::Snapshot<&$crate::Outcome<$error>>)) {
            self.core.visit_in($crate::State::Running, f);
        }

        /// Calls `f` with each of the window's successful operations, borrowed (in slot
        /// order; `completed` returns them owned and oldest first). Allocates nothing.
        ///
        /// ```
        /// # #[cfg(feature = "smol")] {
        /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
        ///
        /// smol::block_on(async {
        ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, _: OpContext| async {}).unwrap();
        ///     coordinator.enqueue(1).await.unwrap();
        ///     coordinator.drain().await;
        ///     let mut done = 0;
        ///     coordinator.visit_completed(|s| done += usize::from(s.outcome.is_some()));
        ///     assert_eq!(done, 1);
        /// });
        /// # }
        /// ```
        pub fn visit_completed(&self, f: impl FnMut($crate::Snapshot<&$crate::Outcome<$error>>)) {
            self.core.visit_in($crate::State::Completed, f);
        }

        /// Calls `f` with each of the window's failed operations (error or panic),
        /// borrowed (in slot order; `failed` returns them owned and oldest first, for a
        /// `Clone` error). Allocates nothing: a dead-letter pass over a window of
        /// `std::io::Error`s reads each error, and the operation's label, in place.
        ///
        /// ```
        /// # #[cfg(feature = "smol")] {
        /// use std::io;
        /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
        ///
        /// smol::block_on(async {
        ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |n: u8, _: OpContext| async move {
        ///         if n % 2 == 0 { Ok(()) } else { Err(io::Error::other(format!("item {n}"))) }
        ///     })
        ///     .unwrap();
        ///     for n in 0..4 { coordinator.enqueue(n).await.unwrap(); }
        ///     coordinator.drain().await;
        ///     let mut messages = Vec::new();
        ///     coordinator.visit_failed(|s| messages.extend(s.outcome.and_then(|o| o.error()).map(|e| e.to_string())));
        ///     messages.sort();
        ///     assert_eq!(messages, ["item 1", "item 3"]);
        /// });
        /// # }
        /// ```
        pub fn visit_failed(&self, f: impl FnMut($crate::Snapshot<&$crate::Outcome<$error>>)) {
            self.core.visit_in($crate::State::Faulted, f);
        }
    };
}

pub(crate) use observe_api;
