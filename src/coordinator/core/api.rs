//! The methods every long-lived coordinator offers, written once: each coordinator's
//! `impl` block expands [`shared_api!`] over its `core` field, so lifecycle, queries,
//! pins and signal questions behave (and are documented) the same everywhere.

/// Expands to the shared methods inside an `impl` whose type has a `core:
/// Arc<Core<..>>` field; `$error` is the body's error type.
macro_rules! shared_api {
    ($error:ty) => {
        $crate::coordinator::core::api::observe_api!($error);

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
