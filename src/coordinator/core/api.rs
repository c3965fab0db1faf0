//! The methods every long-lived coordinator offers, written once: each coordinator's
//! `impl` block expands [`shared_api!`] over its `core` field, so lifecycle, queries,
//! pins and signal questions behave (and are documented) the same everywhere.

/// Expands to the shared methods inside an `impl` whose type has a `core:
/// Arc<Core<..>>` field; `$error` is the body's error type.
macro_rules! shared_api {
    ($error:ty) => {
        /// Stops accepting items; queued and running ones still run. Idempotent.
        pub fn complete(&self) {
            self.core.complete();
        }

        /// Whether `complete` (or `cancel`) has been called.
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
        pub async fn drain(&self) {
            self.core.drain().await;
        }

        /// Completes the coordinator, cancels every waiting item and drops running bodies
        /// at their next poll. Each becomes a `Cancelled` operation. (If the executor
        /// drops every worker, the same happens by itself, with
        /// [`CancelCause::Stopped`]($crate::CancelCause::Stopped).)
        pub fn cancel(&self) {
            self.core.cancel();
        }

        /// Starts no new body until `resume`, not even one whose item a worker has
        /// already taken; running bodies go on.
        pub fn pause(&self) {
            self.core.pause();
        }

        /// Lets bodies start again after `pause`.
        pub fn resume(&self) {
            self.core.resume();
        }

        /// Whether the coordinator is paused.
        pub fn is_paused(&self) -> bool {
            self.core.is_paused()
        }

        /// Changes how many bodies may run at once, between 1 and the concurrency
        /// ceiling. Lowering takes effect at once: no new body starts while `n` or more
        /// run.
        pub fn set_max_concurrency(&self, n: usize) -> Result<(), $crate::ConcurrencyError> {
            self.core.set_max_concurrency(n)
        }

        /// The concurrency limit in force.
        pub fn max_concurrency(&self) -> usize {
            self.core.max_concurrency()
        }

        /// Accepted items whose bodies have not started (queued, or held by a worker:
        /// deferred, paused, or waiting for a permit). An item a caller has seen finish
        /// is never counted.
        pub fn pending_count(&self) -> usize {
            self.core.pending_count()
        }

        /// Accepted items held back right now by a `defer_on` signal (they count as
        /// pending too).
        pub fn deferred_count(&self) -> usize {
            self.core.deferred_count()
        }

        /// Bodies running now (an item a caller has seen finish is never counted).
        pub fn active_count(&self) -> usize {
            self.core.active_count()
        }

        /// Counts since construction.
        pub fn totals(&self) -> $crate::Totals {
            self.core.totals()
        }

        /// Snapshots of the running operations.
        pub fn running(&self) -> alloc::vec::Vec<$crate::Snapshot<$crate::Outcome<$error>>>
        where
            $error: Clone,
        {
            self.core.collect(|_, s| s.state == $crate::State::Running)
        }

        /// Snapshots of the window's successful operations, oldest first.
        pub fn completed(&self) -> alloc::vec::Vec<$crate::Snapshot<$crate::Outcome<$error>>>
        where
            $error: Clone,
        {
            self.core
                .collect(|_, s| s.state == $crate::State::Completed)
        }

        /// Snapshots of the window's failed operations (error or panic), oldest first.
        pub fn failed(&self) -> alloc::vec::Vec<$crate::Snapshot<$crate::Outcome<$error>>>
        where
            $error: Clone,
        {
            self.core.collect(|_, s| s.state == $crate::State::Faulted)
        }

        /// Snapshots of every tracked operation: pending, running, then finished oldest
        /// first.
        pub fn snapshot(&self) -> alloc::vec::Vec<$crate::Snapshot<$crate::Outcome<$error>>>
        where
            $error: Clone,
        {
            self.core.collect(|_, _| true)
        }

        /// Calls `f` with each tracked operation's snapshot, without allocating.
        pub fn visit(&self, f: impl FnMut($crate::Snapshot<&$crate::Outcome<$error>>)) {
            self.core.visit(f);
        }

        /// One operation's snapshot, or `None` once it has left the window.
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
        pub fn pin(&self, id: $crate::OperationId) -> Result<(), $crate::WindowError> {
            self.core.pin(id)
        }

        /// Releases a pin.
        pub fn unpin(&self, id: $crate::OperationId) -> Result<(), $crate::WindowError> {
            self.core.unpin(id)
        }

        /// Removes a finished operation from the window now.
        pub fn evict(&self, id: $crate::OperationId) -> Result<(), $crate::WindowError> {
            self.core.evict(id)
        }

        /// The sink this coordinator raises into and gates on (`Options::signals`, or
        /// its own).
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
        pub fn has_signal(&self, name: &str) -> bool {
            self.core.has_signal(name)
        }

        /// How many operations in the window raised `name` (see `has_signal`).
        pub fn count_signals(&self, name: &str) -> usize {
            self.core.count_signals(name)
        }

        /// Every signal matching `patterns` (globs, comma-separated) raised by an
        /// operation in the window, with that operation's id (see `has_signal`).
        pub fn signals_matching(
            &self,
            patterns: &str,
        ) -> alloc::vec::Vec<($crate::OperationId, $crate::signal::Signal)> {
            self.core.signals_matching(patterns)
        }
    };
}

pub(crate) use shared_api;
