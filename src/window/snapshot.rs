//! What readers of the window get: a copy of one operation's record.

use core::fmt;
use core::ops::Deref;
use core::time::Duration;

use crate::operation::{OperationId, State};
use crate::signal::Signal;

use super::Label;

/// How many distinct signals one operation's record keeps. Raises beyond this still
/// reach the sink; only the operation's own record is full. Raising a recorded signal
/// again takes no more room, and retracting one frees its place.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{OPERATION_SIGNALS, OpContext, Options, WorkCoordinator, runtime::Smol};
///
/// smol::block_on(async {
///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, ctx: OpContext| async move {
///         for i in 0..OPERATION_SIGNALS + 2 {
///             ctx.signal(&format!("step.{i}")).unwrap();
///         }
///         ctx.signal("step.0").unwrap(); // recorded already: no new place
///     }).unwrap();
///     let id = coordinator.enqueue(1).await.unwrap();
///     coordinator.complete();
///     coordinator.drain().await;
///     let sink = coordinator.signals();
///     let recorded: Vec<_> = coordinator.get(id).unwrap().signals.iter()
///         .map(|s| sink.name(*s).unwrap().to_string())
///         .collect();
///     assert_eq!(recorded.len(), OPERATION_SIGNALS);
///     assert_eq!(recorded[0], "step.0");
///     assert!(!recorded.contains(&format!("step.{}", OPERATION_SIGNALS)));
///     assert!(sink.is_raised(format!("step.{}", OPERATION_SIGNALS + 1)), "the sink has them all");
/// });
/// # }
/// ```
pub const OPERATION_SIGNALS: usize = 8;

/// The signals an operation has raised and not retracted (up to [`OPERATION_SIGNALS`]),
/// in the order first raised, except that a signal raised after a retract may take the
/// place the retracted one left.
///
/// ```
/// use ephemeral::OperationSignals;
///
/// let none = OperationSignals::default();
/// assert!(none.is_empty());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct OperationSignals(pub(super) heapless::Vec<Signal, OPERATION_SIGNALS>);

impl Deref for OperationSignals {
    type Target = [Signal];
    fn deref(&self) -> &[Signal] {
        &self.0
    }
}

impl fmt::Debug for OperationSignals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

/// A copy of one operation's record, taken without blocking the operation's writers.
///
/// Every field comes from the same operation: a snapshot never mixes the data of an
/// evicted operation with that of the one reusing its slot. Times are the clock's
/// monotonic readings (see [`Timer::now`](crate::runtime::Timer::now)); [`age`](Self::age),
/// [`queued_for`](Self::queued_for) and [`ran_for`](Self::ran_for) turn them into spans
/// against a `now` of the same clock (a coordinator's `now()`).
///
/// ```
/// use core::time::Duration;
/// use ephemeral::{Options, State, Window};
///
/// let window: Window<&str, &str> = Window::new(&Options::default()).unwrap();
/// let id = window.insert("job", Duration::from_millis(1)).unwrap();
/// window.start(id, Duration::from_millis(2)).unwrap();
/// window.finish(id, State::Faulted, "disk full", Duration::from_millis(5)).unwrap();
///
/// let snap = window.get(id, Duration::from_millis(6)).unwrap();
/// assert_eq!(snap.state, State::Faulted);
/// assert_eq!(snap.outcome, Some("disk full"));
/// assert_eq!(snap.duration(), Some(Duration::from_millis(3)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot<O> {
    /// The operation's id.
    pub id: OperationId,
    /// Its state when the snapshot was taken.
    pub state: State,
    /// Whether it is pinned against eviction.
    pub pinned: bool,
    /// When it was accepted.
    pub enqueued_at: Duration,
    /// When its body started, if it did.
    pub started_at: Option<Duration>,
    /// When it reached its terminal state, if it has.
    pub finished_at: Option<Duration>,
    /// What it is about: the label given at enqueue (empty if none).
    pub label: Label,
    /// The signals its body raised and did not retract (up to
    /// [`OPERATION_SIGNALS`](OPERATION_SIGNALS)); handles of the coordinator's sink.
    pub signals: OperationSignals,
    /// What the operation recorded when it finished, if it has.
    pub outcome: Option<O>,
}

impl<O> Snapshot<O> {
    /// The same snapshot with its outcome mapped through `f`.
    pub(crate) fn map<P>(self, f: impl FnOnce(O) -> P) -> Snapshot<P> {
        Snapshot {
            id: self.id,
            state: self.state,
            pinned: self.pinned,
            enqueued_at: self.enqueued_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            label: self.label,
            signals: self.signals,
            outcome: self.outcome.map(f),
        }
    }

    /// How long the body ran: from start to finish, if both happened.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, State, Window};
    /// # let window: Window<(), ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert((), Duration::ZERO).unwrap();
    /// assert_eq!(window.get(id, Duration::ZERO).unwrap().duration(), None);
    /// ```
    pub fn duration(&self) -> Option<Duration> {
        Some(self.finished_at?.saturating_sub(self.started_at?))
    }

    /// How long ago it was accepted, at `now` (a reading of the same clock, e.g. a
    /// coordinator's `now()`); zero if `now` is earlier.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, Window};
    /// # let window: Window<(), ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert((), Duration::from_secs(2)).unwrap();
    /// let snap = window.get(id, Duration::from_secs(5)).unwrap();
    /// assert_eq!(snap.age(Duration::from_secs(5)), Duration::from_secs(3));
    /// ```
    pub fn age(&self, now: Duration) -> Duration {
        now.saturating_sub(self.enqueued_at)
    }

    /// How long it waited to start: from acceptance to its start, or to `now` while it
    /// still waits (to its cancellation if it never started).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, Window};
    /// # let window: Window<(), ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert((), Duration::from_secs(1)).unwrap();
    /// assert_eq!(window.get(id, Duration::ZERO).unwrap().queued_for(Duration::from_secs(4)), Duration::from_secs(3));
    /// window.start(id, Duration::from_secs(2)).unwrap();
    /// assert_eq!(window.get(id, Duration::ZERO).unwrap().queued_for(Duration::from_secs(4)), Duration::from_secs(1));
    /// ```
    pub fn queued_for(&self, now: Duration) -> Duration {
        self.started_at
            .or(self.finished_at)
            .unwrap_or(now)
            .saturating_sub(self.enqueued_at)
    }

    /// How long its body ran: from start to finish, or to `now` while it runs; `None` if
    /// it never started.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, Window};
    /// # let window: Window<(), ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert((), Duration::ZERO).unwrap();
    /// assert_eq!(window.get(id, Duration::ZERO).unwrap().ran_for(Duration::from_secs(9)), None);
    /// window.start(id, Duration::from_secs(1)).unwrap();
    /// let running = window.get(id, Duration::ZERO).unwrap();
    /// assert_eq!(running.ran_for(Duration::from_secs(9)), Some(Duration::from_secs(8)));
    /// ```
    pub fn ran_for(&self, now: Duration) -> Option<Duration> {
        Some(
            self.finished_at
                .unwrap_or(now)
                .saturating_sub(self.started_at?),
        )
    }
}
