//! What an operation is to an observer: its id, its state, and a snapshot of its record.

use core::fmt;
use core::num::NonZeroU32;
use core::time::Duration;

use crate::signal::{Signal, SignalSink, TableError};

/// Names one operation for as long as it is tracked, and never another one afterwards.
///
/// An id carries the window it was issued by (its *origin*, unique in the process), the
/// slot that holds the operation and that slot's generation. Lookup is O(1); when the
/// operation is evicted and its slot reused, the generation differs, so the old id
/// answers "unknown" instead of naming the newcomer, and an id issued by another window
/// or coordinator answers "unknown" too, however its slot and generation compare.
///
/// Generations are 32 bits and skip zero: an id could only name a newer operation after
/// its slot has been reused 2^32 times while the id was kept, which at one reuse every
/// 100 ns of a single slot takes seven minutes of continuous traffic through a
/// one-slot window; larger windows spread reuse over their slots.
///
/// ```
/// use ephemeral::{Options, Window};
///
/// let window: Window<&str, ()> = Window::new(&Options::default()).unwrap();
/// let id = window.insert("job", core::time::Duration::ZERO).unwrap();
/// assert_eq!(window.get(id, core::time::Duration::ZERO).unwrap().id, id);
///
/// let other: Window<&str, ()> = Window::new(&Options::default()).unwrap();
/// assert!(other.get(id, core::time::Duration::ZERO).is_none(), "an id answers only where it was issued");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperationId {
    origin: u64,
    generation: NonZeroU32,
    index: u32,
}

impl OperationId {
    pub(crate) fn new(origin: u64, index: u32, generation: u32) -> Self {
        match NonZeroU32::new(generation) {
            Some(generation) => Self {
                origin,
                generation,
                index,
            },
            // Generations skip zero (see `slab::next_generation`), so this arm is dead.
            None => unreachable!("operation generation is never zero"),
        }
    }

    /// The id packed by [`raw`](Self::raw) under `origin`; `None` for 0 (no id).
    pub(crate) fn from_raw(origin: u64, raw: u64) -> Option<Self> {
        let generation = NonZeroU32::new((raw >> 32) as u32)?;
        Some(Self {
            origin,
            generation,
            index: raw as u32,
        })
    }

    /// Slot and generation in one word (`generation << 32 | index`, never 0): what a
    /// window stores where its own origin is implied.
    pub(crate) fn raw(self) -> u64 {
        (u64::from(self.generation.get()) << 32) | u64::from(self.index)
    }

    pub(crate) fn origin(self) -> u64 {
        self.origin
    }

    pub(crate) fn index(self) -> u32 {
        self.index
    }

    pub(crate) fn generation(self) -> u32 {
        self.generation.get()
    }

    /// The id as one number, unique among every id of this process (origin in the high
    /// 64 bits, then generation, then slot): useful as a log or map key.
    ///
    /// ```
    /// # use ephemeral::{Options, Window};
    /// # let window: Window<u8, ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert(1, core::time::Duration::ZERO).unwrap();
    /// assert_ne!(id.as_u128(), 0);
    /// ```
    pub fn as_u128(self) -> u128 {
        (u128::from(self.origin) << 64) | u128::from(self.raw())
    }
}

/// Hands out window origins: one per window built in this process, never reused.
pub(crate) fn next_origin() -> u64 {
    // Not a modelled protocol, so a plain atomic even under loom; 64 bits never wrap.
    static ORIGINS: portable_atomic::AtomicU64 = portable_atomic::AtomicU64::new(1);
    ORIGINS.fetch_add(1, portable_atomic::Ordering::Relaxed)
}

impl fmt::Debug for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op#{}.{}.{}", self.origin, self.index, self.generation)
    }
}

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Where an operation is in its life: `Pending -> Running -> Completed | Faulted | Cancelled`.
///
/// A pending operation may also be cancelled before it starts.
///
/// ```
/// use ephemeral::State;
///
/// assert!(State::Faulted.is_finished());
/// assert!(!State::Running.is_finished());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Accepted and waiting for a worker.
    Pending,
    /// Its body is running.
    Running,
    /// Its body returned success.
    Completed,
    /// Its body returned an error or panicked.
    Faulted,
    /// It was cancelled, before or while running.
    Cancelled,
}

impl State {
    /// Whether the operation has reached one of its terminal states.
    ///
    /// ```
    /// assert!(ephemeral::State::Cancelled.is_finished());
    /// ```
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Faulted | Self::Cancelled)
    }
}

/// A copy of one operation's record, taken without blocking the operation's writers.
///
/// Every field comes from the same operation: a snapshot never mixes the data of an
/// evicted operation with that of the one reusing its slot. Times are the clock's
/// monotonic readings (see [`Timer::now`](crate::runtime::Timer::now)).
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
    /// The signals its body raised and did not retract (up to
    /// [`OPERATION_SIGNALS`](crate::OPERATION_SIGNALS)); handles of the coordinator's sink.
    pub signals: crate::OperationSignals,
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
}

/// What a body gets besides its item: its operation's id and cooperative cancellation.
///
/// Cheap to clone (one reference count) and `'static`, so a body may move it into
/// whatever it awaits.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
///
/// smol::block_on(async {
///     let coordinator = WorkCoordinator::new(Smol, |n: u32, ctx: OpContext| async move {
///         assert!(!ctx.is_cancelled());
///         let _ = (n, ctx.id());
///     }, Options::default()).unwrap();
///     coordinator.enqueue(1).await.unwrap();
///     coordinator.complete();
///     coordinator.drain().await;
/// });
/// # }
/// ```
#[derive(Clone)]
pub struct OpContext {
    id: OperationId,
    control: crate::sync::Arc<crate::coordinator::Control>,
}

impl OpContext {
    pub(crate) fn new(
        id: OperationId,
        control: crate::sync::Arc<crate::coordinator::Control>,
    ) -> Self {
        Self { id, control }
    }

    /// The id of the operation this body runs as.
    pub fn id(&self) -> OperationId {
        self.id
    }

    /// Whether the coordinator has been cancelled. The body will be dropped at its next
    /// `.await` anyway; checking lets long synchronous stretches stop early.
    pub fn is_cancelled(&self) -> bool {
        self.control.is_cancelled()
    }

    /// Raises `name` as this operation: it is recorded on the operation (its snapshot's
    /// `signals`), raised into the coordinator's sink with this operation's id, and
    /// reported to the coordinator's `on_signal` and async handlers. Refused only when a
    /// new name does not fit the sink's table.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, |_: u8, ctx: OpContext| async move {
    ///         ctx.signal("cache.miss").unwrap();
    ///         assert!(ctx.has_signal("cache.miss"));
    ///         ctx.signal("warming").unwrap();
    ///         assert!(ctx.retract("warming"));
    ///         assert!(!ctx.has_signal("warming"));
    ///     }, Options::default()).unwrap();
    ///     let id = coordinator.enqueue(1).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     let snapshot = coordinator.get(id).unwrap();
    ///     let names: Vec<_> = snapshot.signals.iter().map(|s| coordinator.signals().name(*s).unwrap()).collect();
    ///     assert_eq!(names, ["cache.miss"]);
    ///     assert!(coordinator.signals().is_raised("cache.miss"));
    /// });
    /// # }
    /// ```
    pub fn signal(&self, name: &str) -> Result<Signal, TableError> {
        self.control.signals.raise_from(self.id, name)
    }

    /// Retracts `name` from the sink and from this operation's record (see
    /// [`signal`](Self::signal)). Returns whether it was present in either.
    pub fn retract(&self, name: &str) -> bool {
        self.control.signals.retract_from(self.id, name)
    }

    /// Whether this operation raised `name` and has not retracted it (see
    /// [`signal`](Self::signal)).
    pub fn has_signal(&self, name: &str) -> bool {
        self.control.signals.has(self.id, name)
    }

    /// The coordinator's sink, to query or raise signals not tied to this operation.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, |_: u8, ctx: OpContext| async move {
    ///         assert!(ctx.sink().is_raised("maintenance"));
    ///     }, Options::default()).unwrap();
    ///     coordinator.signals().raise("maintenance").unwrap();
    ///     coordinator.enqueue(1).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 1);
    /// });
    /// # }
    /// ```
    pub fn sink(&self) -> &SignalSink {
        self.control.signals.sink()
    }

    /// Completes once the coordinator is cancelled; for racing against in a `select`.
    pub async fn cancelled(&self) {
        self.control
            .cancel
            .until(|| self.is_cancelled().then_some(()))
            .await;
    }
}

impl fmt::Debug for OpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpContext")
            .field("id", &self.id)
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
