//! Configuration shared by every structure in the crate, validated when a structure is built.

use core::fmt;
use core::time::Duration;

use crate::operation::MAX_SLOTS;
use crate::signal::{PatternSet, SignalSink};

/// The most async signal handlers a coordinator may run at once (each is a task
/// spawned at construction).
///
/// ```
/// use ephemeral::{MAX_SIGNAL_HANDLERS, Options, OptionsError};
///
/// let too_many = Options::default().max_concurrent_signal_handlers(MAX_SIGNAL_HANDLERS + 1);
/// assert!(matches!(too_many.validate(), Err(OptionsError::TooManySignalHandlers { .. })));
/// ```
pub const MAX_SIGNAL_HANDLERS: usize = 1024;

/// The longest async signal handler queue (it is allocated at construction).
///
/// ```
/// use ephemeral::{MAX_QUEUED_SIGNALS, Options};
///
/// assert!(Options::default().max_queued_signals(MAX_QUEUED_SIGNALS).validate().is_ok());
/// assert!(Options::default().max_queued_signals(MAX_QUEUED_SIGNALS + 1).validate().is_err());
/// ```
pub const MAX_QUEUED_SIGNALS: usize = 1 << 20;

/// How a coordinator or [`Window`](crate::Window) is sized and how long it remembers.
///
/// Every field means the same for every structure that reads it. What only one kind of
/// coordinator has is set on that kind's builder: a keyed coordinator's per-key limits
/// on [`KeyedWorkCoordinator::builder`](crate::KeyedWorkCoordinator::builder), a
/// priority coordinator's lanes as [`Lane`](crate::Lane) values.
///
/// Build it from [`Options::default`] with the builder methods; values are checked by
/// [`Options::validate`] when a structure is built, so a bad value is an
/// [`OptionsError`] at construction, never a panic later.
///
/// # Memory
///
/// Everything is allocated when a structure is built; nothing grows afterwards. What one
/// more unit of each option costs in heap bytes on a 64-bit target (measured by
/// `tests/memory.rs`, which fails when this table is wrong; 32-bit targets need a little
/// less, as pointers and lengths halve):
///
/// | option | each unit allocates | bytes |
/// | --- | --- | --- |
/// | [`queue_capacity`](Self::queue_capacity) | a window slot and a place in the intake queue | S + 24 |
/// | [`max_tracked`](Self::max_tracked) | a window slot and a ring cell | S + 8 |
/// | [`pin_budget`](Self::pin_budget) | a window slot | S |
/// | [`concurrency_ceiling`](Self::concurrency_ceiling) (or `max_concurrency`) | a window slot, a worker seat (128, one cache line pair) and the worker's task | S + 128 + task |
/// | [`max_queued_signals`](Self::max_queued_signals) | a place in the async handler queue (only with `on_signal_async`) | 64 |
/// | sink names (`SinkBuilder::names`) | a name slot, its text inline (64 bytes by default, `SinkBuilder::name_bytes`) | 96 |
/// | sink history (`SinkBuilder::history`) | one remembered raise | 48 |
/// | sink listeners (`SinkBuilder::listeners`) | one listener place (also taken by a changes stream) | 48 |
///
/// S, a window slot, is 168 bytes for a `Window<(), ()>`: 72 of state and times, the
/// operation's [`Label`](crate::Label) (32), and its signal marks (64,
/// [`OPERATION_SIGNALS`](crate::OPERATION_SIGNALS) × 8); plus the input, outcome and key
/// a slot holds. A `WorkCoordinator<u32, _, ()>`'s slot is 312 bytes, as its
/// [`Outcome`](crate::Outcome) keeps up to
/// [`PANIC_MESSAGE_CAPACITY`](crate::PANIC_MESSAGE_CAPACITY) bytes of a panic message
/// (192 without `std`, which catches no panic and keeps no message).
/// A coordinator also keeps, beside each slot, a wake-up and the slot's last ending (24
/// bytes, for `wait` and results): count S + 24 for a coordinator.
/// The slot count is [`slot_capacity`](Self::slot_capacity). A coordinator without
/// [`signals`](Self::signals) builds a default sink (256 names, 1000 history events,
/// 16 listeners: about 72 KiB); the task of a worker holds its body's future.
///
/// With the defaults (1024 queued, 200 tracked, 50 pins) a `WorkCoordinator<u32, _,
/// ()>` with one worker holds about 520 KiB, its window about 415 KiB: too much for a
/// microcontroller. [`Options::small`] holds under 13 KiB (under 11 KiB without `std`).
///
/// ```
/// use core::time::Duration;
/// use ephemeral::Options;
///
/// let options = Options::default()
///     .max_concurrency(8)
///     .max_tracked(200)
///     .max_operation_lifetime(Duration::from_secs(300));
/// assert!(options.validate().is_ok());
/// assert_eq!(options.max_concurrency, 8);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// How many bodies may run at once. Default: the machine's available parallelism
    /// under `std`, 1 without it.
    pub max_concurrency: usize,
    /// The most `set_max_concurrency` may raise concurrency to at run time; workers are
    /// spawned for it once, at construction. `None` means `max_concurrency`.
    pub concurrency_ceiling: Option<usize>,
    /// How many accepted items may wait for a worker before `enqueue` waits. Default 1024.
    pub queue_capacity: usize,
    /// How many finished operations the window keeps (count eviction). Default 200, as in
    /// the original's `MaxTrackedOperations`.
    pub max_tracked: usize,
    /// How long a finished operation stays visible after it finished (age eviction).
    /// Default 5 minutes.
    pub max_operation_lifetime: Duration,
    /// How many operations may be pinned at once; `None` means a quarter of `max_tracked`.
    pub pin_budget: Option<usize>,
    /// The sink the coordinator raises into and gates on; share one between
    /// coordinators to let them see each other's signals. `None`: a sink of its own.
    pub signals: Option<SignalSink>,
    /// How many names the coordinator's own sink holds at once (used only when
    /// [`signals`](Self::signals) is `None`; a shared sink has its own, see
    /// `SinkBuilder::names`). Default 256. Names nobody uses any more are reclaimed for new
    /// ones, so this bounds the names in use, not the names ever raised.
    pub signal_names: usize,
    /// While a signal matching these is present, items about to start are cancelled
    /// instead (their outcome names the signal).
    pub cancel_on: PatternSet,
    /// While a signal matching these is present (and none matching `resume_on`), items
    /// about to start wait, for at most [`max_defer`](Self::max_defer) each.
    pub defer_on: PatternSet,
    /// A present signal matching these overrides `defer_on`.
    pub resume_on: PatternSet,
    /// Raising a signal matching these completes the coordinator (as `complete()`).
    pub drain_on: PatternSet,
    /// How long one item may be held back by `defer_on` at most, from its first
    /// deferral; then it starts even though the signal is still present (for a
    /// priority coordinator: how long a lane may stay held at a stretch). Deferred items
    /// are woken by retracts, not by polling. `Duration::MAX` means no bound. Default
    /// 5 s (the original's 50 checks 100 ms apart).
    pub max_defer: Duration,
    /// How many async signal handlers run at once. Default 4.
    pub max_concurrent_signal_handlers: usize,
    /// How many signal events may wait for an async handler; beyond it the oldest is
    /// dropped and counted. Default 1000.
    pub max_queued_signals: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_concurrency: default_concurrency(),
            concurrency_ceiling: None,
            queue_capacity: 1024,
            max_tracked: 200,
            max_operation_lifetime: Duration::from_secs(5 * 60),
            pin_budget: None,
            signals: None,
            signal_names: 256,
            cancel_on: PatternSet::default(),
            defer_on: PatternSet::default(),
            resume_on: PatternSet::default(),
            drain_on: PatternSet::default(),
            max_defer: Duration::from_secs(5),
            max_concurrent_signal_handlers: 4,
            max_queued_signals: 1000,
        }
    }
}

#[cfg(feature = "std")]
fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(not(feature = "std"))]
fn default_concurrency() -> usize {
    1
}

impl Options {
    /// A preset for small targets (microcontrollers, tight containers): one worker, a
    /// queue and a window of 8, 2 pins, one async signal handler with a queue of 8, and a
    /// signal sink of its own sized to match (16 names, 16 history events, 2
    /// listeners). A `WorkCoordinator<u32, _, ()>` built from it holds under 13 KiB of
    /// heap on a 64-bit target with `std` (under 11 KiB without; the default options:
    /// about 520 KiB), its worker's task included; its window, under 8 KiB (see [Memory](Self#memory) for what each option costs). Raise what
    /// you need from here.
    ///
    /// The sink is built here, so clones of these options share it (as with
    /// [`signals`](Self::signals)): call `small()` once per coordinator that should
    /// have a sink of its own.
    ///
    /// ```
    /// use ephemeral::Options;
    ///
    /// let options = Options::small();
    /// assert_eq!(options.slot_capacity(), Ok(19));
    /// assert!(options.validate().is_ok());
    /// let more = Options::small().queue_capacity(32);
    /// assert_eq!(more.slot_capacity(), Ok(43));
    /// ```
    pub fn small() -> Self {
        let sink = SignalSink::builder()
            .names(16)
            .history(16)
            .listeners(2)
            .build();
        Self {
            max_concurrency: 1,
            queue_capacity: 8,
            max_tracked: 8,
            pin_budget: Some(2),
            max_concurrent_signal_handlers: 1,
            max_queued_signals: 8,
            ..Self::default()
        }
        .signals(sink)
    }

    /// Sets [`max_concurrency`](Self::max_concurrency).
    ///
    /// ```
    /// let options = ephemeral::Options::default().max_concurrency(4);
    /// assert_eq!(options.max_concurrency, 4);
    /// ```
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n;
        self
    }

    /// Sets [`concurrency_ceiling`](Self::concurrency_ceiling).
    ///
    /// ```
    /// let options = ephemeral::Options::default().max_concurrency(2).concurrency_ceiling(16);
    /// assert_eq!(options.effective_concurrency_ceiling(), 16);
    /// ```
    pub fn concurrency_ceiling(mut self, n: usize) -> Self {
        self.concurrency_ceiling = Some(n);
        self
    }

    /// The ceiling in force: the one set, or `max_concurrency`.
    ///
    /// ```
    /// let options = ephemeral::Options::default().max_concurrency(3);
    /// assert_eq!(options.effective_concurrency_ceiling(), 3);
    /// ```
    pub fn effective_concurrency_ceiling(&self) -> usize {
        self.concurrency_ceiling.unwrap_or(self.max_concurrency)
    }

    /// Sets [`queue_capacity`](Self::queue_capacity).
    ///
    /// ```
    /// let options = ephemeral::Options::default().queue_capacity(64);
    /// assert_eq!(options.queue_capacity, 64);
    /// ```
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n;
        self
    }

    /// Sets [`max_tracked`](Self::max_tracked), the window size.
    ///
    /// ```
    /// let options = ephemeral::Options::default().max_tracked(50);
    /// assert_eq!(options.max_tracked, 50);
    /// ```
    pub fn max_tracked(mut self, n: usize) -> Self {
        self.max_tracked = n;
        self
    }

    /// Sets [`max_operation_lifetime`](Self::max_operation_lifetime).
    ///
    /// ```
    /// use core::time::Duration;
    /// let options = ephemeral::Options::default().max_operation_lifetime(Duration::from_secs(1));
    /// assert_eq!(options.max_operation_lifetime, Duration::from_secs(1));
    /// ```
    pub fn max_operation_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_operation_lifetime = lifetime;
        self
    }

    /// Sets [`pin_budget`](Self::pin_budget).
    ///
    /// ```
    /// let options = ephemeral::Options::default().pin_budget(8);
    /// assert_eq!(options.effective_pin_budget(), 8);
    /// ```
    pub fn pin_budget(mut self, n: usize) -> Self {
        self.pin_budget = Some(n);
        self
    }

    /// Sets [`signals`](Self::signals), the sink to share.
    ///
    /// ```
    /// use ephemeral::{Options, signal::SignalSink};
    /// let sink = SignalSink::new();
    /// let options = Options::default().signals(sink.clone());
    /// assert_eq!(options.signals, Some(sink));
    /// ```
    pub fn signals(mut self, sink: SignalSink) -> Self {
        self.signals = Some(sink);
        self
    }

    /// Sets [`signal_names`](Self::signal_names), the name capacity of the
    /// coordinator's own sink.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// let options = Options::default().signal_names(1024);
    /// let coordinator = WorkCoordinator::new(Smol, options, |_: u8, _: OpContext| async {}).unwrap();
    /// assert_eq!(coordinator.signals().table().capacity(), 1024);
    /// # }
    /// ```
    pub fn signal_names(mut self, n: usize) -> Self {
        self.signal_names = n;
        self
    }

    crate::signal::pattern_setters! {
        /// Sets [`cancel_on`](Self::cancel_on) from a comma-separated list of globs.
        ///
        /// ```
        /// let options = ephemeral::Options::default().cancel_on("circuit-open, shutting-down");
        /// assert!(options.cancel_on.matches("shutting-down"));
        /// ```
        cancel_on;
        /// Sets [`defer_on`](Self::defer_on) from a comma-separated list of globs.
        ///
        /// ```
        /// let options = ephemeral::Options::default().defer_on("backpressure.*");
        /// assert!(options.defer_on.matches("backpressure.downstream"));
        /// ```
        defer_on;
        /// Sets [`resume_on`](Self::resume_on) from a comma-separated list of globs.
        ///
        /// ```
        /// let options = ephemeral::Options::default().resume_on("priority.override");
        /// assert!(options.resume_on.matches("priority.override"));
        /// ```
        resume_on;
        /// Sets [`drain_on`](Self::drain_on) from a comma-separated list of globs.
        ///
        /// ```
        /// let options = ephemeral::Options::default().drain_on("shutdown");
        /// assert!(options.drain_on.matches("shutdown"));
        /// ```
        ///
        /// `drain_on` subscribes to the sink; a sink with no listener place left is refused
        /// when the coordinator is built:
        ///
        /// ```
        /// # #[cfg(feature = "smol")] {
        /// use ephemeral::{OpContext, Options, OptionsError, WorkCoordinator, runtime::Smol, signal::SignalSink};
        ///
        /// let sink = SignalSink::builder().listeners(0).build();
        /// let options = Options::default().signals(sink).drain_on("shutdown");
        /// let built = WorkCoordinator::new(Smol, options, |_: u8, _: OpContext| async {});
        /// assert_eq!(built.err(), Some(OptionsError::SinkListenersFull));
        /// # }
        /// ```
        drain_on;
    }

    /// Sets [`max_defer`](Self::max_defer).
    ///
    /// ```
    /// use core::time::Duration;
    /// let options = ephemeral::Options::default().max_defer(Duration::from_millis(500));
    /// assert_eq!(options.max_defer, Duration::from_millis(500));
    /// assert_eq!(ephemeral::Options::default().max_defer, Duration::from_secs(5));
    /// ```
    pub fn max_defer(mut self, bound: Duration) -> Self {
        self.max_defer = bound;
        self
    }

    /// Sets [`max_concurrent_signal_handlers`](Self::max_concurrent_signal_handlers).
    ///
    /// ```
    /// let options = ephemeral::Options::default().max_concurrent_signal_handlers(2);
    /// assert_eq!(options.max_concurrent_signal_handlers, 2);
    /// ```
    pub fn max_concurrent_signal_handlers(mut self, n: usize) -> Self {
        self.max_concurrent_signal_handlers = n;
        self
    }

    /// Sets [`max_queued_signals`](Self::max_queued_signals).
    ///
    /// ```
    /// let options = ephemeral::Options::default().max_queued_signals(10);
    /// assert_eq!(options.max_queued_signals, 10);
    /// ```
    pub fn max_queued_signals(mut self, n: usize) -> Self {
        self.max_queued_signals = n;
        self
    }

    /// The pin budget in force: the one set, or a quarter of the window.
    ///
    /// ```
    /// let options = ephemeral::Options::default().max_tracked(200);
    /// assert_eq!(options.effective_pin_budget(), 50);
    /// ```
    pub fn effective_pin_budget(&self) -> usize {
        self.pin_budget.unwrap_or(self.max_tracked / 4)
    }

    /// How many operation slots a structure built from these options holds: room for a
    /// full queue, every worker's operation (up to the concurrency ceiling), a full window
    /// and every pin, so steady-state work never needs more.
    ///
    /// ```
    /// let options = ephemeral::Options::default()
    ///     .queue_capacity(10).max_concurrency(2).max_tracked(20).pin_budget(5);
    /// assert_eq!(options.slot_capacity(), Ok(37));
    /// ```
    pub fn slot_capacity(&self) -> Result<usize, OptionsError> {
        let total = [
            self.effective_concurrency_ceiling(),
            self.max_tracked,
            self.effective_pin_budget(),
        ]
        .into_iter()
        .try_fold(self.queue_capacity, usize::checked_add);
        match total {
            Some(total) if total <= MAX_SLOTS => Ok(total),
            _ => Err(OptionsError::TooManySlots { max: MAX_SLOTS }),
        }
    }

    /// Checks every value; structures call this when they are built.
    ///
    /// ```
    /// use ephemeral::{Options, OptionsError};
    ///
    /// let bad = Options::default().max_concurrency(0);
    /// assert_eq!(bad.validate(), Err(OptionsError::ZeroConcurrency));
    /// ```
    pub fn validate(&self) -> Result<(), OptionsError> {
        if self.max_concurrency == 0 {
            return Err(OptionsError::ZeroConcurrency);
        }
        if self.effective_concurrency_ceiling() < self.max_concurrency {
            return Err(OptionsError::CeilingBelowConcurrency {
                ceiling: self.effective_concurrency_ceiling(),
                max_concurrency: self.max_concurrency,
            });
        }
        if self.queue_capacity == 0 {
            return Err(OptionsError::ZeroQueue);
        }
        if self.max_tracked == 0 {
            return Err(OptionsError::ZeroWindow);
        }
        if self.max_operation_lifetime.is_zero() {
            return Err(OptionsError::ZeroLifetime);
        }
        if self.max_concurrent_signal_handlers == 0 {
            return Err(OptionsError::ZeroSignalHandlers);
        }
        if self.max_concurrent_signal_handlers > MAX_SIGNAL_HANDLERS {
            return Err(OptionsError::TooManySignalHandlers {
                max: MAX_SIGNAL_HANDLERS,
            });
        }
        if self.max_queued_signals == 0 {
            return Err(OptionsError::ZeroSignalQueue);
        }
        if self.max_queued_signals > MAX_QUEUED_SIGNALS {
            return Err(OptionsError::SignalQueueTooLarge {
                max: MAX_QUEUED_SIGNALS,
            });
        }
        let pin_budget = self.effective_pin_budget();
        if pin_budget > self.max_tracked {
            return Err(OptionsError::PinBudgetExceedsWindow {
                pin_budget,
                max_tracked: self.max_tracked,
            });
        }
        self.slot_capacity().map(drop)
    }
}

/// Why a set of [`Options`] was refused.
///
/// ```
/// use ephemeral::{Options, OptionsError};
///
/// let err = Options::default().max_tracked(4).pin_budget(5).validate().unwrap_err();
/// assert_eq!(err, OptionsError::PinBudgetExceedsWindow { pin_budget: 5, max_tracked: 4 });
/// assert_eq!(err.to_string(), "pin budget 5 is larger than the window (max_tracked 4)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionsError {
    /// `max_concurrency` is 0: nothing could ever run.
    ZeroConcurrency,
    /// `concurrency_ceiling` is below `max_concurrency`.
    CeilingBelowConcurrency {
        /// The ceiling asked for.
        ceiling: usize,
        /// The starting concurrency.
        max_concurrency: usize,
    },
    /// `queue_capacity` is 0: nothing could ever be accepted.
    ZeroQueue,
    /// `max_tracked` is 0: the window could show nothing.
    ZeroWindow,
    /// `max_operation_lifetime` is zero: finished operations would vanish at once.
    ZeroLifetime,
    /// More pins than the window holds.
    PinBudgetExceedsWindow {
        /// The pin budget asked for.
        pin_budget: usize,
        /// The window size.
        max_tracked: usize,
    },
    /// A keyed builder's `max_concurrency_per_key` is 0: no keyed item could ever run.
    ZeroConcurrencyPerKey,
    /// A keyed builder's `fair_scheduling_threshold` is 0: no key could start anything.
    ZeroFairnessThreshold,
    /// A keyed builder's `max_queued_per_key` is 0: no keyed item could ever be accepted.
    ZeroQueuedPerKey,
    /// A priority coordinator was given no lanes.
    NoLanes,
    /// A lane's `max_depth` is 0: it could never take an item.
    ZeroLaneDepth,
    /// A lane's `promote_after` is 0: it would always go first.
    ZeroAging,
    /// `max_concurrent_signal_handlers` is 0: async handlers could never run.
    ZeroSignalHandlers,
    /// `max_queued_signals` is 0: no event could reach an async handler.
    ZeroSignalQueue,
    /// More async signal handlers than [`MAX_SIGNAL_HANDLERS`] (each is a task).
    TooManySignalHandlers {
        /// The most allowed.
        max: usize,
    },
    /// A handler queue longer than [`MAX_QUEUED_SIGNALS`] (it is allocated up front).
    SignalQueueTooLarge {
        /// The most allowed.
        max: usize,
    },
    /// `drain_on` needs a listener on the sink, and every listener place of the sink
    /// given in `signals` is taken (see `SinkBuilder::listeners`).
    SinkListenersFull,
    /// `defer_on` given to `for_each` or `for_each_stream`, which have no timer to bound
    /// a deferral by: use `for_each_spawned`, which honours it.
    DeferWithoutTimer,
    /// A keyed builder's `defer_on_key` or `cancel_on_key` name does not hold the
    /// placeholder `{key}` exactly once.
    KeyPlaceholder,
    /// Queue, concurrency, window and pins add up to more slots than an id can index.
    TooManySlots {
        /// The most slots a structure can hold.
        max: usize,
    },
    /// A result coordinator's `results_capacity` is 0: no item could ever be accepted.
    ZeroResults,
    /// A result coordinator's `results_capacity` is above 2^30 (its store is allocated
    /// up front and indexed by 32-bit places).
    TooManyResults {
        /// The most allowed.
        max: usize,
    },
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroConcurrency => f.write_str("max_concurrency must be at least 1"),
            Self::CeilingBelowConcurrency {
                ceiling,
                max_concurrency,
            } => write!(
                f,
                "concurrency_ceiling {ceiling} is below max_concurrency {max_concurrency}"
            ),
            Self::ZeroQueue => f.write_str("queue_capacity must be at least 1"),
            Self::ZeroResults => f.write_str("results_capacity must be at least 1"),
            Self::TooManyResults { max } => write!(f, "results_capacity is above {max}"),
            Self::NoLanes => f.write_str("a priority coordinator needs at least one lane"),
            Self::ZeroLaneDepth => f.write_str("a lane's max_depth must be at least 1"),
            Self::ZeroAging => f.write_str("a lane's promote_after must be at least 1"),
            Self::ZeroConcurrencyPerKey => {
                f.write_str("max_concurrency_per_key must be at least 1")
            }
            Self::ZeroQueuedPerKey => f.write_str("max_queued_per_key must be at least 1"),
            Self::ZeroFairnessThreshold => {
                f.write_str("fair_scheduling_threshold must be at least 1")
            }
            Self::ZeroWindow => f.write_str("max_tracked (the window size) must be at least 1"),
            Self::ZeroLifetime => f.write_str("max_operation_lifetime must be longer than zero"),
            Self::PinBudgetExceedsWindow {
                pin_budget,
                max_tracked,
            } => write!(
                f,
                "pin budget {pin_budget} is larger than the window (max_tracked {max_tracked})"
            ),
            Self::ZeroSignalHandlers => {
                f.write_str("max_concurrent_signal_handlers must be at least 1")
            }
            Self::ZeroSignalQueue => f.write_str("max_queued_signals must be at least 1"),
            Self::TooManySignalHandlers { max } => {
                write!(f, "max_concurrent_signal_handlers is above {max}")
            }
            Self::SignalQueueTooLarge { max } => write!(f, "max_queued_signals is above {max}"),
            Self::SinkListenersFull => {
                f.write_str("drain_on needs a listener, and the signal sink has no place left")
            }
            Self::DeferWithoutTimer => f.write_str(
                "defer_on needs a timer to bound deferral: for_each_spawned honours it, for_each does not",
            ),
            Self::KeyPlaceholder => {
                f.write_str("a per-key signal name must hold {key} exactly once")
            }
            Self::TooManySlots { max } => write!(
                f,
                "queue_capacity + max_concurrency + max_tracked + pin budget exceeds {max} slots"
            ),
        }
    }
}

impl core::error::Error for OptionsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_original() {
        let options = Options::default();
        assert_eq!(options.validate(), Ok(()));
        assert_eq!(options.max_tracked, 200);
        assert_eq!(options.max_operation_lifetime, Duration::from_secs(300));
        // The original's 50 deferral checks 100 ms apart.
        assert_eq!(options.max_defer, Duration::from_millis(100) * 50);
        assert!(options.max_concurrency >= 1);
    }

    #[test]
    fn each_bad_value_is_named_by_its_own_error() {
        let base = Options::default;
        assert_eq!(
            base().max_concurrency(0).validate(),
            Err(OptionsError::ZeroConcurrency)
        );
        assert_eq!(
            base().queue_capacity(0).validate(),
            Err(OptionsError::ZeroQueue)
        );
        assert_eq!(
            base().max_tracked(0).validate(),
            Err(OptionsError::ZeroWindow)
        );
        assert_eq!(
            base().max_operation_lifetime(Duration::ZERO).validate(),
            Err(OptionsError::ZeroLifetime)
        );
        assert_eq!(
            base().max_concurrent_signal_handlers(0).validate(),
            Err(OptionsError::ZeroSignalHandlers)
        );
        assert_eq!(
            base().max_queued_signals(0).validate(),
            Err(OptionsError::ZeroSignalQueue)
        );
        assert_eq!(
            base().max_queued_signals(usize::MAX).validate(),
            Err(OptionsError::SignalQueueTooLarge {
                max: MAX_QUEUED_SIGNALS
            })
        );
        assert_eq!(
            base().max_concurrent_signal_handlers(usize::MAX).validate(),
            Err(OptionsError::TooManySignalHandlers {
                max: MAX_SIGNAL_HANDLERS
            })
        );
        assert_eq!(
            base().queue_capacity(usize::MAX).validate(),
            Err(OptionsError::TooManySlots { max: MAX_SLOTS })
        );
    }

    #[test]
    fn default_pin_budget_follows_the_window() {
        let options = Options::default().max_tracked(1);
        assert_eq!(options.effective_pin_budget(), 0);
        assert_eq!(options.validate(), Ok(()));
    }
}
