//! `SignalSink`: the shared place where signals are raised, retracted, remembered and
//! listened to.
//!
//! A sink combines the [`SignalTable`] (names, presence bits, last raise times), a
//! bounded [`History`] of raises, and a fixed set of synchronous listeners. Clones share
//! one sink, so several coordinators given the same sink see each other's signals.
//!
//! Time comes from the sink's clock: the process's monotonic clock under `std` unless
//! [`SinkBuilder::clock`] gives another [`Timer`]. Without `std` and without a clock,
//! every reading is zero, so `max_age` and `count_since` need a clock there.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use super::changes::{SignalChange, SignalChanges, Tap};
use super::history::History;
use super::listeners::{Listener, Listeners};
use super::{Name, PatternSet, Signal, SignalEvent, SignalMask, SignalTable, TableError};
use crate::operation::OperationId;
use crate::runtime::Timer;
use crate::sync::{Arc, Ordering, fence};
use crate::wakeup::Wakeup;

/// Something that names a signal: a name (anything `AsRef<str>`: `&str`, `String`, ...)
/// or a [`Signal`] handle.
///
/// Raising by name interns the name on first use; asking about a name never interns it.
///
/// ```
/// use ephemeral::signal::SignalSink;
///
/// let sink = SignalSink::new();
/// let handle = sink.raise("cache.cold").unwrap();
/// assert!(sink.is_raised("cache.cold") && sink.is_raised(handle));
/// ```
pub trait SignalName {
    /// The handle, interning the name if needed.
    fn intern(&self, table: &SignalTable) -> Result<Signal, TableError>;
    /// The handle, if the name is interned.
    fn lookup(&self, table: &SignalTable) -> Option<Signal>;
}

impl<S: AsRef<str>> SignalName for S {
    fn intern(&self, table: &SignalTable) -> Result<Signal, TableError> {
        table.intern(self.as_ref())
    }
    fn lookup(&self, table: &SignalTable) -> Option<Signal> {
        table.lookup(self.as_ref())
    }
}

impl SignalName for Signal {
    fn intern(&self, table: &SignalTable) -> Result<Signal, TableError> {
        // Only a handle to a name the table holds now may be raised: its bit then means
        // its name, never a successor's.
        table
            .is_current(*self)
            .then_some(*self)
            .ok_or(TableError::UnknownHandle)
    }
    fn lookup(&self, table: &SignalTable) -> Option<Signal> {
        // A handle past the table (from a larger one) names nothing here; a stale one is
        // refused by every use (raise, retract and presence check its generation).
        (self.index() < table.capacity()).then_some(*self)
    }
}

/// The sink's source of time, type-erased once at construction.
trait Clock: Send + Sync {
    fn now(&self) -> Duration;
}

impl<T: Timer> Clock for T {
    fn now(&self) -> Duration {
        Timer::now(self)
    }
}

/// The default clock: the process's monotonic clock, or zero without `std`.
struct DefaultClock;

impl Clock for DefaultClock {
    fn now(&self) -> Duration {
        #[cfg(feature = "std")]
        return crate::runtime::monotonic::now();
        #[cfg(not(feature = "std"))]
        return Duration::ZERO;
    }
}

struct Inner {
    history: History,
    listeners: Listeners,
    /// Called with each retract that made a signal absent (the changes streams' taps).
    retracts: Listeners,
    max_age: Option<Duration>,
    clock: Box<dyn Clock>,
    /// Notified after every raise, retract and clear: what deferred work waits on.
    changed: Wakeup,
}

/// A shared set of signals: presence (raise, retract, `is_raised`), a bounded history
/// of raises with pattern queries, and listeners. Cheap to clone; clones share one sink.
///
/// ```
/// use ephemeral::signal::SignalSink;
///
/// let sink = SignalSink::new();
/// sink.raise("error.timeout.db").unwrap();
/// sink.raise("error.refused").unwrap();
/// sink.raise("ok").unwrap();
/// assert_eq!(sink.count_matching("error.*"), 2);
/// assert!(sink.retract("error.refused"));
/// assert!(!sink.is_raised("error.refused"));
/// assert_eq!(sink.count("error.refused"), 1, "history remembers the raise");
/// ```
#[derive(Clone)]
pub struct SignalSink {
    /// Held beside `inner` rather than in it: presence checks then reach the bits in one
    /// hop fewer. Shared with coordinators' `drain_on` listeners, which must not hold the
    /// sink itself (the sink holds them).
    table: Arc<SignalTable>,
    inner: Arc<Inner>,
}

/// Sizes and clock of a [`SignalSink`].
///
/// ```
/// use core::time::Duration;
/// use ephemeral::{runtime::ManualClock, signal::SignalSink};
///
/// let clock = ManualClock::new();
/// let sink = SignalSink::builder()
///     .names(64)
///     .history(2)
///     .max_age(Duration::from_secs(10))
///     .clock(clock.clone())
///     .build();
/// sink.raise("a").unwrap();
/// clock.advance(Duration::from_secs(11));
/// assert!(!sink.is_raised("a"), "older than max_age");
/// ```
#[must_use]
pub struct SinkBuilder {
    names: usize,
    name_bytes: usize,
    table: Option<Arc<SignalTable>>,
    history: usize,
    listeners: usize,
    max_age: Option<Duration>,
    clock: Box<dyn Clock>,
}

impl SinkBuilder {
    /// How many names the sink's table holds at once (at most
    /// [`MAX_NAMES`](super::MAX_NAMES); more is clamped). Default 256. Once it is full, a
    /// new name takes the slot of the oldest name nobody uses (see [`Signal`]); when every
    /// name is in use, raising a new one is refused with [`TableError::Full`] and counted
    /// ([`SignalSink::full_refusals`]). A raised name stays in use until it is retracted,
    /// even once [`max_age`](Self::max_age) has expired it.
    ///
    /// ```
    /// use ephemeral::signal::{SignalSink, TableError};
    ///
    /// let sink = SignalSink::builder().names(2).build();
    /// sink.raise("circuit-open").unwrap();
    /// let warm = sink.signal("cache.warm").unwrap(); // interned, never raised: idle
    /// // The table is full; the idle name's slot goes to the new one.
    /// sink.raise("backpressure").unwrap();
    /// assert_eq!(sink.name(warm), None, "the old handle names nothing now");
    /// // Both names are raised (in use): a third is refused, and counted.
    /// assert_eq!(sink.raise("shutting-down"), Err(TableError::Full { capacity: 2 }));
    /// assert_eq!(sink.full_refusals(), 1);
    /// sink.retract("circuit-open");
    /// assert!(sink.raise("shutting-down").is_ok(), "a retracted name is idle again");
    /// ```
    pub fn names(mut self, n: usize) -> Self {
        self.names = n;
        self
    }

    /// The longest name the sink stores, in bytes (clamped to 1 to
    /// [`MAX_NAME_BYTES`](super::MAX_NAME_BYTES)). Default 64. Longer names are refused
    /// with [`TableError::NameTooLong`]. Each name slot reserves this much.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::builder().name_bytes(128).build();
    /// assert!(sink.raise("x".repeat(128)).is_ok());
    /// assert!(sink.raise("x".repeat(129)).is_err());
    /// ```
    pub fn name_bytes(mut self, n: usize) -> Self {
        self.name_bytes = n;
        self
    }

    /// Builds the sink around an existing table (a coordinator's own sink shares the
    /// table its window's marks pin names in).
    pub(crate) fn table(mut self, table: Arc<SignalTable>) -> Self {
        self.table = Some(table);
        self
    }

    /// How many raises the history keeps (at least 1; 0 is taken as 1). Default 1000.
    /// Once full, each raise displaces the oldest one kept. The bound is on what the
    /// history queries ([`count`](SignalSink::count),
    /// [`count_matching`](SignalSink::count_matching),
    /// [`events_matching`](SignalSink::events_matching), ...) can see, not on presence:
    /// a signal stays raised however many raises came after it. (The original's
    /// `MaxQueuedSignals`, also 1000 there, is not this bound: it limits the queue of
    /// events waiting for async handlers, which is
    /// [`Options::max_queued_signals`](crate::Options::max_queued_signals) here.)
    ///
    /// ```
    /// use ephemeral::signal::SignalSink;
    ///
    /// let sink = SignalSink::builder().history(2).build();
    /// for name in ["a", "b", "c"] {
    ///     sink.raise(name).unwrap();
    /// }
    /// let kept: Vec<_> = sink
    ///     .events_matching("*")
    ///     .iter()
    ///     .map(|e| sink.name(e.signal).unwrap().to_string())
    ///     .collect();
    /// assert_eq!(kept, ["b", "c"], "the oldest raise was displaced");
    /// assert_eq!(sink.count("a"), 0);
    /// assert!(sink.is_raised("a"), "presence does not depend on the history");
    /// ```
    pub fn history(mut self, n: usize) -> Self {
        self.history = n.max(1);
        self
    }

    /// How many listeners may be subscribed at once. Default 16. Besides
    /// [`subscribe`](SignalSink::subscribe), each [`changes`](SignalSink::changes) stream
    /// and each coordinator given the sink with a `drain_on` set takes one place while it
    /// lives. A dropped [`Subscription`] gives its place back.
    ///
    /// ```
    /// use ephemeral::signal::{SignalSink, SubscribeError};
    ///
    /// let sink = SignalSink::builder().listeners(1).build();
    /// let first = sink.subscribe(|_| {}).unwrap();
    /// assert!(matches!(sink.subscribe(|_| {}), Err(SubscribeError::Full(_))));
    /// assert!(matches!(sink.changes(8), Err(SubscribeError::NoPlaceForChanges)));
    /// drop(first);
    /// assert!(sink.changes(8).is_ok(), "the place was given back");
    /// ```
    pub fn listeners(mut self, n: usize) -> Self {
        self.listeners = n;
        self
    }

    /// Signals raised longer ago than this no longer count as present, and raises
    /// older than this leave the history's answers. A raise exactly `max_age` old still
    /// counts. Default: no limit.
    ///
    /// Expiry changes answers, not the table: an expired signal keeps its name in use
    /// (see [`names`](Self::names)) until it is retracted, and raising it again makes it
    /// present again.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ephemeral::{runtime::ManualClock, signal::SignalSink};
    ///
    /// let clock = ManualClock::new();
    /// let sink = SignalSink::builder()
    ///     .names(1)
    ///     .max_age(Duration::from_secs(10))
    ///     .clock(clock.clone())
    ///     .build();
    /// sink.raise("backpressure").unwrap();
    /// clock.advance(Duration::from_secs(10));
    /// assert!(sink.is_raised("backpressure"), "exactly max_age old still counts");
    /// clock.advance(Duration::from_nanos(1));
    /// assert!(!sink.is_raised("backpressure"));
    /// assert_eq!(sink.count("backpressure"), 0, "the raise left the history's answers");
    /// assert!(sink.raise("other").is_err(), "the expired name still holds its slot");
    /// sink.raise("backpressure").unwrap();
    /// assert!(sink.is_raised("backpressure"), "a new raise makes it present again");
    /// ```
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Reads time from `timer` (a runtime adapter, or a `ManualClock` in tests): raise
    /// times ([`SignalEvent::at`]), [`max_age`](Self::max_age) and
    /// [`count_since`](SignalSink::count_since) all use it. Default: the process's
    /// monotonic clock under `std`; without `std`, a clock that always reads zero.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ephemeral::{runtime::ManualClock, signal::SignalSink};
    ///
    /// let clock = ManualClock::new();
    /// let sink = SignalSink::builder().clock(clock.clone()).build();
    /// clock.advance(Duration::from_secs(3));
    /// assert_eq!(sink.now(), Duration::from_secs(3));
    /// sink.raise("tick").unwrap();
    /// assert_eq!(sink.events_matching("tick")[0].at, Duration::from_secs(3));
    /// ```
    pub fn clock(mut self, timer: impl Timer) -> Self {
        self.clock = Box::new(timer);
        self
    }

    /// Allocates every structure of the sink; nothing it does later allocates (raising,
    /// retracting and checking presence included, a new name too), except subscribing
    /// and making changes streams, compiling masks, and the queries and clears that take
    /// patterns as text (they parse them; [`events_matching`](SignalSink::events_matching)
    /// also fills a `Vec`).
    ///
    /// ```
    /// use ephemeral::signal::SignalSink;
    ///
    /// let sink = SignalSink::builder().names(32).name_bytes(16).build();
    /// assert_eq!(sink.table().capacity(), 32);
    /// assert_eq!(sink.table().name_bytes(), 16);
    /// let shared = sink.clone();
    /// shared.raise("ready").unwrap();
    /// assert!(sink.is_raised("ready"), "clones share the sink built once");
    /// ```
    pub fn build(self) -> SignalSink {
        let (names, name_bytes) = (self.names, self.name_bytes);
        SignalSink {
            table: self
                .table
                .unwrap_or_else(|| Arc::new(SignalTable::with_name_bytes(names, name_bytes))),
            inner: Arc::new(Inner {
                history: History::new(self.history),
                listeners: Listeners::new(self.listeners),
                retracts: Listeners::new(self.listeners),
                max_age: self.max_age,
                clock: self.clock,
                changed: Wakeup::new(),
            }),
        }
    }
}

impl fmt::Debug for SinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkBuilder")
            .field("names", &self.names)
            .field("name_bytes", &self.name_bytes)
            .field("history", &self.history)
            .field("listeners", &self.listeners)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// Keeps a listener subscribed; dropping it unsubscribes and gives its listener place
/// back.
///
/// The drop does not wait: after it, no raise that starts later calls the listener, but
/// one already calling it (on another thread, or the listener dropping its own
/// subscription) may finish that call. The listener, with what it captured, is dropped by
/// whichever leaves last: the subscription's drop, or that call. A subscription keeps
/// its sink alive.
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
/// use ephemeral::signal::SignalSink;
///
/// let sink = SignalSink::builder().listeners(1).build();
/// let heard = Arc::new(AtomicUsize::new(0));
/// let counter = heard.clone();
/// let subscription = sink
///     .subscribe(move |_| { counter.fetch_add(1, Ordering::SeqCst); })
///     .unwrap();
/// sink.raise("a").unwrap();
/// drop(subscription);
/// sink.raise("a").unwrap();
/// assert_eq!(heard.load(Ordering::SeqCst), 1, "not called after the drop");
/// assert_eq!(Arc::strong_count(&heard), 1, "the listener was dropped with it");
/// assert!(sink.subscribe(|_| {}).is_ok(), "its one place is free again");
/// ```
#[must_use = "dropping the subscription unsubscribes at once"]
pub struct Subscription {
    sink: SignalSink,
    slot: usize,
    /// In the retract listeners (a changes stream's second tap) rather than the raise ones.
    retracts: bool,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let inner = &self.sink.inner;
        let set = if self.retracts {
            &inner.retracts
        } else {
            &inner.listeners
        };
        set.remove(self.slot);
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("slot", &self.slot)
            .finish()
    }
}

/// Why [`SignalSink::subscribe`] refused a listener; the listener comes back inside.
///
/// ```
/// use ephemeral::signal::{SignalSink, SubscribeError};
///
/// let sink = SignalSink::builder().listeners(0).build();
/// let refused = sink.subscribe(|_| {}).unwrap_err();
/// assert!(matches!(refused, SubscribeError::Full(_)));
/// ```
#[non_exhaustive]
pub enum SubscribeError {
    /// Every listener place is taken; build the sink with more (`SinkBuilder::listeners`).
    Full(Listener),
    /// Every listener place is taken, so no changes stream could be made (each stream
    /// takes one; `SinkBuilder::listeners`).
    NoPlaceForChanges,
}

impl fmt::Debug for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::NoPlaceForChanges => f.write_str("NoPlaceForChanges"),
        }
    }
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("every listener place of the sink is taken")
    }
}

impl core::error::Error for SubscribeError {}

impl Default for SignalSink {
    fn default() -> Self {
        Self::new()
    }
}

impl SignalSink {
    /// A sink with the default sizes and clock (see [`SinkBuilder`]): 256 names of up
    /// to 64 bytes, a history of 1000 raises, 16 listener places, no `max_age`.
    ///
    /// ```
    /// use ephemeral::signal::{DEFAULT_NAME_BYTES, SignalSink};
    ///
    /// let sink = SignalSink::new();
    /// assert_eq!(sink.table().capacity(), 256);
    /// assert_eq!(sink.table().name_bytes(), DEFAULT_NAME_BYTES);
    /// assert_eq!(sink.max_age(), None);
    /// for _ in 0..1001 {
    ///     sink.raise("tick").unwrap();
    /// }
    /// assert_eq!(sink.count("tick"), 1000, "the history keeps 1000 raises");
    /// let _held: Vec<_> = (0..16).map(|_| sink.subscribe(|_| {}).unwrap()).collect();
    /// assert!(sink.subscribe(|_| {}).is_err(), "16 listener places");
    /// ```
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for sizes, `max_age` and the clock, starting from the defaults of
    /// [`new`](Self::new).
    ///
    /// ```
    /// use core::time::Duration;
    /// use ephemeral::signal::SignalSink;
    ///
    /// let sink = SignalSink::builder()
    ///     .names(1024)
    ///     .max_age(Duration::from_secs(30))
    ///     .build();
    /// assert_eq!(sink.table().capacity(), 1024);
    /// assert_eq!(sink.max_age(), Some(Duration::from_secs(30)));
    /// assert_eq!(sink.table().name_bytes(), 64, "what was not set keeps its default");
    /// ```
    pub fn builder() -> SinkBuilder {
        SinkBuilder {
            names: 256,
            name_bytes: super::DEFAULT_NAME_BYTES,
            table: None,
            history: 1000,
            listeners: 16,
            max_age: None,
            clock: Box::new(DefaultClock),
        }
    }

    /// The reading of the sink's clock.
    ///
    /// ```
    /// use ephemeral::{runtime::ManualClock, signal::SignalSink};
    /// let sink = SignalSink::builder().clock(ManualClock::new()).build();
    /// assert_eq!(sink.now(), core::time::Duration::ZERO);
    /// ```
    pub fn now(&self) -> Duration {
        self.inner.clock.now()
    }

    /// The sink's name table.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// sink.raise("a").unwrap();
    /// assert_eq!(sink.table().len(), 1);
    /// ```
    pub fn table(&self) -> &SignalTable {
        &self.table
    }

    /// The sink's table, shared: for what must hold the names without holding the sink
    /// (a listener the sink itself holds, a window's marks).
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// let table = sink.shared_table();
    /// sink.raise("a").unwrap();
    /// assert!(table.lookup("a").is_some());
    /// ```
    pub fn shared_table(&self) -> Arc<SignalTable> {
        self.table.clone()
    }

    /// Compiles `patterns` (globs, comma-separated) into a mask over this sink's names,
    /// for cheap repeated "is any of these raised?" checks.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// let mask = sink.mask("a.*");
    /// sink.raise("a.b").unwrap();
    /// assert!(mask.first_raised(&sink).is_some());
    /// ```
    pub fn mask(&self, patterns: &str) -> SignalMask {
        SignalMask::new(PatternSet::parse(patterns), self.table.clone())
    }

    /// The handle of `name`, interning it if needed (to raise by handle later). Once the
    /// table is full, a handle to a name nobody uses may be reclaimed before it is
    /// raised (see [`Signal`]); raising by name never is.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// let s = sink.signal("backpressure").unwrap();
    /// sink.raise(s).unwrap();
    /// assert!(sink.is_raised("backpressure"));
    /// ```
    pub fn signal(&self, name: &str) -> Result<Signal, TableError> {
        self.table.intern(name)
    }

    /// A copy of the name behind a handle; `None` for a handle of another sink or whose
    /// name was reclaimed (history events of a reclaimed name answer `None` here).
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// let s = sink.raise("x").unwrap();
    /// assert_eq!(sink.name(s).unwrap(), "x");
    /// ```
    pub fn name(&self, signal: Signal) -> Option<Name> {
        self.table.name(signal)
    }

    /// How many raises of a new name were refused because every name of the table was in
    /// use (each such raise returned [`TableError::Full`]).
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::builder().names(1).build();
    /// sink.raise("a").unwrap();
    /// assert!(sink.raise("b").is_err(), "a is raised, so its slot is in use");
    /// assert_eq!(sink.full_refusals(), 1);
    /// ```
    pub fn full_refusals(&self) -> u64 {
        self.table.full_refusals()
    }

    /// How long signals stay present after their last raise, if limited.
    ///
    /// ```
    /// assert_eq!(ephemeral::signal::SignalSink::new().max_age(), None);
    /// ```
    pub fn max_age(&self) -> Option<Duration> {
        self.inner.max_age
    }

    /// Raises `name`: marks it present, records the raise in the history and calls the
    /// listeners. Refused when a new name does not fit the table (every name in use, or
    /// too long), or for a handle whose name was reclaimed.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::builder().names(1).build();
    /// sink.raise("a").unwrap();
    /// assert!(sink.raise("b").is_err());
    /// ```
    pub fn raise(&self, name: impl SignalName) -> Result<Signal, TableError> {
        self.raise_with(name, None, None)
    }

    /// [`raise`](Self::raise), saying which operation raised it and which key it concerns.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// sink.raise_with("slow", None, Some(7)).unwrap();
    /// assert_eq!(sink.events_matching("slow")[0].key, Some(7));
    /// ```
    pub fn raise_with(
        &self,
        name: impl SignalName,
        operation_id: Option<OperationId>,
        key: Option<u64>,
    ) -> Result<Signal, TableError> {
        let signal = self.pin(&name)?;
        self.raise_event(signal, operation_id, key);
        self.table.unpin(signal);
        Ok(signal)
    }

    /// The handle of `name`, pinned (the caller unpins it).
    pub(crate) fn pin(&self, name: &impl SignalName) -> Result<Signal, TableError> {
        loop {
            let signal = name.intern(&self.table)?;
            // A name nobody used may be reclaimed between the two: intern it again.
            if self.table.pin(signal) {
                return Ok(signal);
            }
        }
    }

    /// Raises a signal the caller holds pinned and returns the event recorded.
    pub(crate) fn raise_event(
        &self,
        signal: Signal,
        operation_id: Option<OperationId>,
        key: Option<u64>,
    ) -> SignalEvent {
        let inner = &*self.inner;
        let at = self.now();
        let previous = self.table.raised_at(signal);
        let was_present = self.table.set(signal, at);
        // An expired signal keeps its bit, so "absent before" includes "expired before".
        let appeared = !was_present
            || self
                .inner
                .max_age
                .is_some_and(|age| previous.is_none_or(|p| at.saturating_sub(p) > age));
        let event = SignalEvent {
            signal,
            operation_id,
            key,
            at,
        };
        inner.history.push(event);
        if appeared {
            // A `resume_on` or `cancel_on` signal appearing changes what deferred work
            // waits for; a re-raise of a present one does not. Before the listeners, so a
            // listener whose panic cannot be caught (without `std`) cannot skip it.
            inner.changed.notify(usize::MAX);
        }
        if appeared || inner.max_age.is_some() {
            // Dekker with `subscribe`: we wrote presence (the bit, or a time that keeps it
            // fresh), fence, then read the listeners; a subscriber publishes its listener,
            // fences, then reads presence. With both fences `SeqCst`, one of the two sees
            // the other's write. A re-raise of a present signal without `max_age` changes
            // no presence, so it skips the fence: the raise that set the bit fenced.
            fence(Ordering::SeqCst);
        }
        inner.listeners.call(&event);
        event
    }

    /// Panics caught in synchronous listeners (their calls and their drops) and in
    /// coordinators' `on_signal` callbacks for raises into this sink. A panicking
    /// listener loses only its own call: the other listeners of that raise still run, and
    /// the raise completes. Always 0 without `std`, where a panic cannot be caught.
    ///
    /// ```
    /// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
    /// use ephemeral::signal::SignalSink;
    ///
    /// let sink = SignalSink::new();
    /// let _bad = sink.subscribe(|_| panic!("a buggy listener")).unwrap();
    /// let heard = Arc::new(AtomicUsize::new(0));
    /// let counter = heard.clone();
    /// let _good = sink.subscribe(move |_| { counter.fetch_add(1, Ordering::SeqCst); }).unwrap();
    /// sink.raise("a").unwrap();
    /// assert_eq!(heard.load(Ordering::SeqCst), 1, "the later listener still ran");
    /// assert_eq!(sink.listener_panics(), 1);
    /// ```
    pub fn listener_panics(&self) -> u64 {
        self.inner.listeners.panics()
    }

    /// Counts a panic caught in a callback run for a raise into this sink (a
    /// coordinator's `on_signal`).
    pub(crate) fn count_listener_panic(&self) {
        self.inner.listeners.count_panic();
    }

    /// Marks `name` absent and wakes work deferred on it. Returns whether it was present.
    /// The history keeps its past raises.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// assert!(!sink.retract("never-raised"));
    /// sink.raise("busy").unwrap();
    /// assert!(sink.retract("busy"));
    /// ```
    pub fn retract(&self, name: impl SignalName) -> bool {
        let Some(signal) = name.lookup(&self.table) else {
            return false;
        };
        self.retract_signal(signal)
    }

    /// Retracts a signal, waking deferred work and telling the changes streams if it was
    /// set; returns whether it was present.
    fn retract_signal(&self, signal: Signal) -> bool {
        if !self.table.pin(signal) {
            return false;
        }
        let was = self.is_raised(signal);
        if self.table.clear(signal) {
            // Deferred work may wait for exactly this.
            self.inner.changed.notify(usize::MAX);
            let retracts = &self.inner.retracts;
            if !retracts.is_idle() {
                retracts.call(&SignalEvent {
                    signal,
                    operation_id: None,
                    key: None,
                    at: self.now(),
                });
            }
        }
        self.table.unpin(signal);
        was
    }

    /// Whether `name` is present: raised, not retracted since, and (with a `max_age`)
    /// raised no longer ago than `max_age`.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// assert!(!sink.is_raised("a"));
    /// ```
    #[inline]
    pub fn is_raised(&self, name: impl SignalName) -> bool {
        name.lookup(&self.table)
            .is_some_and(|signal| self.is_present(signal))
    }

    /// Presence of an interned signal, honouring `max_age`.
    pub(crate) fn is_present(&self, signal: Signal) -> bool {
        let table = &self.table;
        table.is_raised(signal) && self.is_fresh(signal)
    }

    /// Whether `signal`'s last raise is within `max_age` (always, without one).
    pub(crate) fn is_fresh(&self, signal: Signal) -> bool {
        let Some(age) = self.inner.max_age else {
            return true;
        };
        self.table
            .raised_at(signal)
            .is_some_and(|at| self.now().saturating_sub(at) <= age)
    }

    /// When a present `signal` stops counting because of `max_age`, if it will.
    pub(crate) fn expires_at(&self, signal: Signal) -> Option<Duration> {
        let at = self.table.raised_at(signal)?;
        at.checked_add(self.inner.max_age?)?
            .checked_add(Duration::from_nanos(1))
    }

    /// What deferred work waits on: notified after every raise, retract and clear.
    pub(crate) fn changed(&self) -> &Wakeup {
        &self.inner.changed
    }

    /// Visits the raises the history holds, oldest first, that are within `max_age`.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// sink.raise("a").unwrap();
    /// let mut seen = 0;
    /// sink.visit_events(|event| { assert_eq!(sink.name(event.signal).unwrap(), "a"); seen += 1 });
    /// assert_eq!(seen, 1);
    /// ```
    pub fn visit_events(&self, mut f: impl FnMut(&SignalEvent)) {
        let oldest = self.oldest_counted();
        self.inner.history.visit(|event| {
            if oldest.is_none_or(|oldest| event.at >= oldest) {
                f(event)
            }
        });
    }

    /// The earliest raise time `max_age` still counts, if it limits anything.
    fn oldest_counted(&self) -> Option<Duration> {
        let age = self.inner.max_age?;
        self.now().checked_sub(age)
    }

    /// How many raises of exactly `name` the history holds (within `max_age`).
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// sink.raise("a").unwrap();
    /// sink.raise("a").unwrap();
    /// assert_eq!(sink.count("a"), 2);
    /// assert_eq!(sink.count("b"), 0);
    /// ```
    pub fn count(&self, name: impl SignalName) -> usize {
        let Some(signal) = name.lookup(&self.table) else {
            return 0;
        };
        let mut n = 0;
        self.visit_events(|event| n += usize::from(event.signal == signal));
        n
    }

    /// How many raises the history holds of signals matching `patterns` (a glob or a
    /// comma-separated list of them).
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// for name in ["error.a", "error.b", "warn.c"] { sink.raise(name).unwrap(); }
    /// assert_eq!(sink.count_matching("error.*"), 2);
    /// assert_eq!(sink.count_matching("error.*, warn.*"), 3);
    /// ```
    pub fn count_matching(&self, patterns: &str) -> usize {
        self.count_matching_since(&PatternSet::parse(patterns), None)
    }

    /// [`count_matching`](Self::count_matching), counting only raises in the last `within`.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ephemeral::{runtime::ManualClock, signal::SignalSink};
    ///
    /// let clock = ManualClock::new();
    /// let sink = SignalSink::builder().clock(clock.clone()).build();
    /// sink.raise("api.failure").unwrap();
    /// clock.advance(Duration::from_secs(30));
    /// sink.raise("api.failure").unwrap();
    /// assert_eq!(sink.count_since("api.*", Duration::from_secs(10)), 1);
    /// assert_eq!(sink.count_since("api.*", Duration::from_secs(60)), 2);
    /// ```
    pub fn count_since(&self, patterns: &str, within: Duration) -> usize {
        let since = self.now().checked_sub(within);
        self.count_matching_since(&PatternSet::parse(patterns), since)
    }

    fn count_matching_since(&self, patterns: &PatternSet, since: Option<Duration>) -> usize {
        let mut n = 0;
        self.visit_matching(patterns, |event| {
            n += usize::from(since.is_none_or(|since| event.at >= since));
        });
        n
    }

    fn visit_matching(&self, patterns: &PatternSet, mut f: impl FnMut(&SignalEvent)) {
        let table = &self.table;
        self.visit_events(|event| {
            if table
                .name(event.signal)
                .is_some_and(|n| patterns.matches(&n))
            {
                f(event)
            }
        });
    }

    /// The raises the history holds of signals matching `patterns`, oldest first.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// sink.raise("db.slow").unwrap();
    /// sink.raise("http.slow").unwrap();
    /// let events = sink.events_matching("*.slow");
    /// assert_eq!(events.len(), 2);
    /// assert_eq!(sink.name(events[0].signal).unwrap(), "db.slow");
    /// ```
    pub fn events_matching(&self, patterns: &str) -> Vec<SignalEvent> {
        let mut events = Vec::new();
        self.visit_matching(&PatternSet::parse(patterns), |event| events.push(*event));
        events
    }

    /// Calls `listener` with every raise from now on, on the raising thread, until the
    /// returned guard is dropped. Keep it short; it may raise or retract signals itself.
    /// Under `std` a panic in it is caught and counted ([`listener_panics`]) and loses only
    /// that call.
    ///
    /// Subscribing and then checking presence misses nothing: a raise racing `subscribe`
    /// either calls the listener, or is visible to presence checks (`is_raised`, masks)
    /// made after `subscribe` returns (or both).
    ///
    /// [`listener_panics`]: Self::listener_panics
    ///
    /// ```
    /// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
    /// use ephemeral::signal::SignalSink;
    ///
    /// let sink = SignalSink::new();
    /// let heard = Arc::new(AtomicUsize::new(0));
    /// let counter = heard.clone();
    /// let subscription = sink.subscribe(move |_| { counter.fetch_add(1, Ordering::SeqCst); }).unwrap();
    /// sink.raise("a").unwrap();
    /// drop(subscription);
    /// sink.raise("a").unwrap();
    /// assert_eq!(heard.load(Ordering::SeqCst), 1);
    /// ```
    pub fn subscribe(
        &self,
        listener: impl Fn(&SignalEvent) + Send + Sync + 'static,
    ) -> Result<Subscription, SubscribeError> {
        match self.inner.listeners.add(Box::new(listener)) {
            Ok(slot) => {
                // Dekker with `raise_event`: the listener is published, fence, then the
                // caller reads presence.
                fence(Ordering::SeqCst);
                Ok(Subscription {
                    sink: self.clone(),
                    slot,
                    retracts: false,
                })
            }
            Err(listener) => Err(SubscribeError::Full(listener)),
        }
    }

    /// A stream of every raise and every retract that makes a signal absent, from now
    /// on, buffering at most `capacity` (at least 1) changes for a slow consumer (see
    /// [`SignalChanges`] for what it does when the consumer lags). Takes one listener
    /// place until dropped.
    ///
    /// ```
    /// use ephemeral::signal::{SignalChange, SignalSink};
    /// use futures_lite::StreamExt;
    ///
    /// let sink = SignalSink::new();
    /// let mut changes = sink.changes(16).unwrap();
    /// sink.raise("a").unwrap();
    /// assert!(matches!(futures_lite::future::block_on(changes.next()), Some(SignalChange::Raised(_))));
    /// ```
    pub fn changes(&self, capacity: usize) -> Result<SignalChanges, SubscribeError> {
        self.tap(Tap::new(capacity, None))
    }

    /// [`changes`](Self::changes) of the signals matching `patterns` only. The names the
    /// patterns match are kept in the table while the stream lives (never reclaimed).
    ///
    /// ```
    /// use ephemeral::signal::{SignalChange, SignalSink};
    /// use futures_lite::StreamExt;
    ///
    /// let sink = SignalSink::new();
    /// let mut errors = sink.changes_matching("error.*", 16).unwrap();
    /// sink.raise("ok").unwrap();
    /// let e = sink.raise("error.io").unwrap();
    /// let next = futures_lite::future::block_on(errors.next());
    /// assert!(matches!(next, Some(SignalChange::Raised(event)) if event.signal == e));
    /// ```
    pub fn changes_matching(
        &self,
        patterns: &str,
        capacity: usize,
    ) -> Result<SignalChanges, SubscribeError> {
        self.tap(Tap::new(capacity, Some(self.mask(patterns))))
    }

    fn tap(&self, tap: Tap) -> Result<SignalChanges, SubscribeError> {
        let tap = Arc::new(tap);
        let on_raise = tap.clone();
        let raises = self
            .subscribe(move |event| on_raise.offer(event.signal, SignalChange::Raised(*event)))
            .map_err(|_| SubscribeError::NoPlaceForChanges)?;
        let on_retract = tap.clone();
        let slot = self
            .inner
            .retracts
            .add(Box::new(move |event: &SignalEvent| {
                let change = SignalChange::Retracted {
                    signal: event.signal,
                    at: event.at,
                };
                on_retract.offer(event.signal, change);
            }))
            .map_err(|_| SubscribeError::NoPlaceForChanges)?;
        let retracts = Subscription {
            sink: self.clone(),
            slot,
            retracts: true,
        };
        Ok(SignalChanges::new(tap, raises, retracts))
    }

    /// Retracts every signal and empties the history.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// sink.raise("a").unwrap();
    /// sink.clear();
    /// assert!(!sink.is_raised("a"));
    /// assert_eq!(sink.count("a"), 0);
    /// ```
    pub fn clear(&self) {
        let table = &self.table;
        for i in 0..table.len() {
            self.retract_signal(table.handle_at(i));
        }
        self.inner.history.retain(|_| false);
        self.inner.changed.notify(usize::MAX);
    }

    /// Retracts the signals matching `patterns` and removes their raises from the history.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// sink.raise("error.a").unwrap();
    /// sink.raise("ok").unwrap();
    /// sink.clear_matching("error.*");
    /// assert!(!sink.is_raised("error.a") && sink.is_raised("ok"));
    /// assert_eq!((sink.count("error.a"), sink.count("ok")), (0, 1));
    /// ```
    pub fn clear_matching(&self, patterns: &str) {
        let patterns = PatternSet::parse(patterns);
        let table = &self.table;
        let matches = |signal: Signal| table.name(signal).is_some_and(|n| patterns.matches(&n));
        for i in 0..table.len() {
            if let Some(read) = table.read_name(i)
                && patterns.matches(&read.found)
            {
                self.retract_signal(read.signal);
            }
        }
        self.inner.history.retain(|event| !matches(event.signal));
        self.inner.changed.notify(usize::MAX);
    }
}

/// Two sinks are equal when they are the same sink (clones of one another).
impl PartialEq for SignalSink {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for SignalSink {}

impl fmt::Debug for SignalSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalSink")
            .field("names", &self.table.len())
            .field("history", &self.inner.history.capacity())
            .field("max_age", &self.inner.max_age)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::ManualClock;

    fn sink_on(clock: &ManualClock, history: usize) -> SignalSink {
        SignalSink::builder()
            .history(history)
            .max_age(Duration::from_secs(10))
            .clock(clock.clone())
            .build()
    }

    #[test]
    fn max_age_hides_presence_and_history_exactly_at_the_boundary() {
        let clock = ManualClock::new();
        let sink = sink_on(&clock, 8);
        sink.raise("a").unwrap();
        clock.advance(Duration::from_secs(10));
        assert!(sink.is_raised("a"), "exactly max_age old still counts");
        assert_eq!(sink.count("a"), 1);
        clock.advance(Duration::from_nanos(1));
        assert!(!sink.is_raised("a"));
        assert_eq!(sink.count("a"), 0);
        sink.raise("a").unwrap();
        assert!(sink.is_raised("a"), "a new raise refreshes presence");
        assert_eq!(sink.count("a"), 1);
    }

    #[test]
    fn an_unbounded_max_age_never_expires_and_never_overflows() {
        let clock = ManualClock::new();
        let sink = SignalSink::builder()
            .max_age(Duration::MAX)
            .clock(clock.clone())
            .build();
        let s = sink.raise("forever").unwrap();
        clock.advance(Duration::from_secs(1 << 40));
        assert!(sink.is_raised(s));
        assert_eq!(sink.expires_at(s), None);
    }

    #[test]
    fn history_keeps_only_the_newest_raises_up_to_its_capacity() {
        let clock = ManualClock::new();
        let sink = sink_on(&clock, 3);
        for i in 0..5u64 {
            sink.raise_with("tick", None, Some(i)).unwrap();
        }
        let keys: Vec<_> = sink.events_matching("*").iter().map(|e| e.key).collect();
        assert_eq!(keys, [Some(2), Some(3), Some(4)]);
    }

    #[test]
    fn a_listener_may_raise_and_retract_from_inside_a_raise() {
        let sink = SignalSink::new();
        let inner = sink.clone();
        let _echo = sink
            .subscribe(move |event| {
                if inner.name(event.signal).is_some_and(|n| n == "ping") {
                    inner.raise("pong").unwrap();
                    inner.retract("ping");
                }
            })
            .unwrap();
        sink.raise("ping").unwrap();
        assert!(sink.is_raised("pong") && !sink.is_raised("ping"));
    }

    #[test]
    #[cfg(feature = "std")]
    fn a_panicking_listener_does_not_skip_later_listeners_or_the_rest_of_the_raise() {
        use crate::sync::{AtomicUsize, Ordering};
        let sink = SignalSink::new();
        let _bad = sink.subscribe(|_| panic!("listener bug")).unwrap();
        let heard = Arc::new(AtomicUsize::new(0));
        let counter = heard.clone();
        let _good = sink
            .subscribe(move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        let s = sink.raise("a").unwrap();
        assert_eq!(heard.load(Ordering::SeqCst), 1, "the later listener ran");
        assert!(sink.is_raised(s));
        assert_eq!(sink.count(s), 1);
        sink.raise("a").unwrap();
        assert_eq!(heard.load(Ordering::SeqCst), 2);
        assert_eq!(sink.listener_panics(), 2);
    }

    #[test]
    fn a_foreign_handle_is_refused_not_raised() {
        let big = SignalSink::new();
        for i in 0..5 {
            big.raise(alloc::format!("s{i}").as_str()).unwrap();
        }
        let small = SignalSink::builder().names(2).build();
        let foreign = big.signal("s4").unwrap();
        assert!(small.raise(foreign).is_err());
        assert!(!small.is_raised(foreign));
        assert!(!small.retract(foreign));
    }
}
