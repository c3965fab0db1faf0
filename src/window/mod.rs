//! The observable window: every tracked operation, and the last `max_tracked` finished ones.
//!
//! Finished operations enter a ring of `max_tracked` cells in completion order: the
//! finisher takes a completion ticket `t` (one `fetch_add`, while it still owns the
//! operation) and puts its id into cell `t % max_tracked`, pushing out the operation
//! that finished `max_tracked` completions earlier, which is the oldest in the window.
//! The push-out evicts it, unless it is pinned: then it is *displaced* (kept outside
//! the ring, counted against the pin budget) until it is unpinned or evicted. Placing
//! is lock-free (a compare-and-swap that retries only when another placer changed the
//! cell) and the bound is physical: the ring has `max_tracked` cells, so the window
//! never holds more finished operations than that, plus the pinned ones (and, for a
//! moment, those being placed).
//!
//! Age eviction runs when a finish or a read finds that the earliest known expiry has
//! passed (one atomic load otherwise); reads also hide anything already expired, so what
//! a reader sees is exact even before memory is reclaimed. Times are added saturating:
//! a lifetime of `Duration::MAX` means "never by age".
//!
//! Readers walk the slots once, so a walk shows each operation at most once, whatever
//! finishes or is evicted meanwhile. Which finished operations it shows is decided by
//! completion ticket against the ticket count when the walk began: the last
//! `max_tracked` completions then (whether or not they have reached their ring cell
//! yet), plus pinned ones. Queries that return a `Vec` sort what they saw: pending and
//! running operations first, then finished ones in completion order.
//!
//! Pending and running operations are never evicted: they are not in the ring, and the
//! slab refuses to retire them.
//!
//! Completion order is the order of tickets. A finisher preempted between taking its
//! ticket and placing for longer than `max_tracked` other completions finds a newer
//! ticket in its cell; it compares tickets and pushes itself out, so the ring keeps the
//! newest completions and the bound holds.

mod error;
mod label;
mod marks;
pub(crate) mod slab;
mod snapshot;

pub use error::{FinishError, InsertError, WindowError};
pub use label::{LABEL_CAPACITY, Label};
#[cfg(loom)]
pub use marks::Marks;
#[cfg(not(loom))]
pub(crate) use marks::Marks;
pub use snapshot::{OPERATION_SIGNALS, OperationSignals, Snapshot};

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use crate::operation::{OperationId, State};
use crate::options::{Options, OptionsError};
use crate::signal::{SignalSink, SignalTable};

use crate::sync::{Arc, AtomicU64, AtomicUsize, Ordering};
use crate::time::to_nanos;
use slab::{DISPLACED, Owned, PINNED, Phase, Refused, Slab, View, Word};

/// A bounded, self-cleaning record of operations: pending, running, and recently finished.
///
/// `I` is what an operation carries in (handed back by [`start`](Self::start)); `O` is
/// what it records when it finishes (an error, a result, a reason). The window allocates
/// all its slots when it is built and never again; [`insert`](Self::insert),
/// [`start`](Self::start), [`finish`](Self::finish) and eviction allocate nothing. No
/// method blocks: every transition is a compare-and-swap on the operation's state word.
///
/// The window holds no clock: every call that depends on time takes `now`, the caller's
/// monotonic reading (a coordinator passes its [`Timer`](crate::runtime::Timer)'s).
///
/// ```
/// use core::time::Duration;
/// use ephemeral::{Options, State, Window};
///
/// let window: Window<&str, &str> = Window::new(&Options::default().max_tracked(2)).unwrap();
/// let t = Duration::from_millis;
/// for (n, name) in ["a", "b", "c"].into_iter().enumerate() {
///     let id = window.insert(name, t(n as u64)).unwrap();
///     let input = window.start(id, t(n as u64)).unwrap();
///     window.finish(id, State::Completed, input, t(n as u64 + 1)).unwrap();
/// }
/// // A window of 2 keeps the two most recent completions; "a" was evicted.
/// let kept: Vec<_> = window.completed(t(10)).into_iter().map(|s| s.outcome.unwrap()).collect();
/// assert_eq!(kept, ["b", "c"]);
/// ```
pub struct Window<I, O, K = ()> {
    /// `K` is the key a keyed coordinator files each operation under (kept until the
    /// operation is evicted); `()` everywhere else.
    slab: Slab<I, O, K>,
    /// The signals each slot's operation raised; shared with the coordinator's bodies.
    marks: Arc<Marks>,
    /// The ring: cell `t % len` holds the raw id of the operation given completion
    /// ticket `t`, or 0. Written only by `swap` in `place`; read by queries and sweeps.
    cells: Box<[AtomicU64]>,
    /// Completion tickets handed out so far; `fetch_add` by finishers only.
    tickets: AtomicU64,
    /// Pins currently held; reserved before the PINNED bit is set, released when it clears.
    pins: AtomicUsize,
    pin_budget: usize,
    lifetime: Duration,
    /// Nanoseconds at which the earliest unpinned finished operation may expire
    /// (`u64::MAX`: none known). Lowered by finishers and unpins, reset by sweeps.
    next_expiry: AtomicU64,
}

impl<I, O> Window<I, O> {
    /// Starts tracking a pending operation that carries `input`.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, State, Window};
    /// let window: Window<&str, ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert("job", Duration::ZERO).unwrap();
    /// assert_eq!(window.get(id, Duration::ZERO).unwrap().state, State::Pending);
    /// ```
    pub fn insert(&self, input: I, now: Duration) -> Result<OperationId, InsertError<I>> {
        self.slab.insert(input, now).map_err(InsertError::Full)
    }

    /// [`insert`](Self::insert), describing the operation by `label` (shown on its
    /// snapshots).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Label, Options, Window};
    /// let window: Window<&str, ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert_labelled("job", Label::new("nightly report"), Duration::ZERO).unwrap();
    /// assert_eq!(window.get(id, Duration::ZERO).unwrap().label.as_str(), "nightly report");
    /// ```
    pub fn insert_labelled(
        &self,
        input: I,
        label: Label,
        now: Duration,
    ) -> Result<OperationId, InsertError<I>> {
        self.slab
            .insert_keyed(input, (), label, now)
            .map_err(|(input, ())| InsertError::Full(input))
    }
}

impl<I, O, K> Window<I, O, K> {
    /// Builds a window sized by `options`: `options.slot_capacity()` slots, a ring of
    /// `max_tracked`, `effective_pin_budget()` pins, `max_operation_lifetime`.
    ///
    /// ```
    /// use ephemeral::{Options, OptionsError, Window};
    ///
    /// assert!(Window::<(), ()>::new(&Options::default()).is_ok());
    /// let err = Window::<(), ()>::new(&Options::default().max_tracked(0)).err();
    /// assert_eq!(err, Some(OptionsError::ZeroWindow));
    /// ```
    pub fn new(options: &Options) -> Result<Self, OptionsError> {
        options.validate()?;
        let slots = options.slot_capacity()?;
        // The marks pin names in the sink's table; a coordinator without a shared sink
        // builds its own around this table (`Signals::new`).
        let table = options.signals.as_ref().map_or_else(
            || Arc::new(SignalTable::new(options.signal_names)),
            SignalSink::shared_table,
        );
        let marks = Arc::new(Marks::new(slots, table));
        Ok(Self {
            slab: Slab::with_marks(slots, Some(marks.clone())),
            marks,
            cells: (0..options.max_tracked)
                .map(|_| AtomicU64::new(0))
                .collect(),
            tickets: AtomicU64::new(0),
            pins: AtomicUsize::new(0),
            pin_budget: options.effective_pin_budget(),
            lifetime: options.max_operation_lifetime,
            next_expiry: AtomicU64::new(u64::MAX),
        })
    }

    /// How many operations the window can track at once (all states together).
    ///
    /// ```
    /// # use ephemeral::{Options, Window};
    /// let options = Options::default();
    /// let window: Window<(), ()> = Window::new(&options).unwrap();
    /// assert_eq!(Ok(window.capacity()), options.slot_capacity());
    /// ```
    pub fn capacity(&self) -> usize {
        self.slab.capacity()
    }

    /// Starts tracking a pending operation filed under `key` and described by `label`;
    /// input and key come back when full.
    pub(crate) fn insert_keyed(
        &self,
        input: I,
        key: K,
        label: Label,
        now: Duration,
    ) -> Result<OperationId, (I, K)> {
        self.slab.insert_keyed(input, key, label, now)
    }

    /// Whether `id` was issued by this window (whatever has become of it since).
    pub(crate) fn issued(&self, id: OperationId) -> bool {
        (id.index() as usize) < self.capacity() && self.slab.id(id.index(), id.generation()) == id
    }

    /// Calls `f` with the key of a tracked operation (`None` once it has left).
    pub(crate) fn with_key<R>(&self, id: OperationId, f: impl FnOnce(&K) -> R) -> Option<R> {
        self.slab.read_id(id, |v| v.key.map(f)).flatten()
    }

    /// Moves a pending operation to `Running` and hands its input to the caller, who now
    /// owns the operation until [`finish`](Self::finish).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, Window, WindowError, State};
    /// let window: Window<&str, ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert("job", Duration::ZERO).unwrap();
    /// assert_eq!(window.start(id, Duration::ZERO), Ok("job"));
    /// assert_eq!(window.start(id, Duration::ZERO), Err(WindowError::WrongState { id, state: State::Running }));
    /// ```
    pub fn start(&self, id: OperationId, now: Duration) -> Result<I, WindowError> {
        let (claim, input) = self.slab.claim(id).map_err(|r| self.explain(id, r))?;
        self.slab.mark_running(claim, now);
        Ok(input)
    }

    /// Records `outcome` for a running operation, moves it to the terminal `state`, and
    /// places it in the window (evicting the oldest unpinned finished operation if the
    /// window is full).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, State, Window};
    /// let window: Window<(), &str> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert((), Duration::ZERO).unwrap();
    /// window.start(id, Duration::ZERO).unwrap();
    /// window.finish(id, State::Faulted, "timeout", Duration::from_secs(1)).unwrap();
    /// assert_eq!(window.failed(Duration::from_secs(1)).len(), 1);
    /// ```
    pub fn finish(
        &self,
        id: OperationId,
        state: State,
        outcome: O,
        now: Duration,
    ) -> Result<(), FinishError<O>> {
        self.finish_reporting(id, state, outcome, now, no_report())
    }

    /// [`finish`](Self::finish), calling `report` (if any) with the finished operation's
    /// key and snapshot before anyone else can see it finished: each finished operation
    /// is reported exactly once, however small the window. Without a `report` no
    /// snapshot is made.
    pub(crate) fn finish_reporting(
        &self,
        id: OperationId,
        state: State,
        outcome: O,
        now: Duration,
        report: Option<impl FnOnce(Option<&K>, Snapshot<&O>)>,
    ) -> Result<(), FinishError<O>> {
        let Some(phase) = Phase::terminal(state) else {
            return Err(FinishError::NotTerminal { state, outcome });
        };
        match self.slab.begin_finish(id) {
            Ok(finishing) => {
                self.record(finishing.into(), phase, outcome, now, report);
                Ok(())
            }
            Err(refused) => Err(FinishError::Refused {
                error: self.explain(id, refused),
                outcome,
            }),
        }
    }

    /// Records the outcome of an operation this thread owns, reports it, publishes it
    /// and places it in the ring.
    fn record(
        &self,
        owner: Owned,
        phase: Phase,
        outcome: O,
        now: Duration,
        report: Option<impl FnOnce(Option<&K>, Snapshot<&O>)>,
    ) {
        let id = owner.id();
        // The ticket is taken while we own the operation, so its completion order is
        // known to every reader that sees it finished.
        let ticket = self.tickets.fetch_add(1, Ordering::AcqRel);
        let report =
            report.map(|report| move |v: View<'_, O, K>| report(v.key, self.snapshot_of(v)));
        self.slab.finish(owner, phase, outcome, now, ticket, report);
        self.place(id, ticket, now);
    }

    /// Cancels a pending operation before it starts: it becomes `Cancelled` with
    /// `outcome` recorded, enters the window, and its input is handed back.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, State, Window};
    /// let window: Window<&str, &str> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert("job", Duration::ZERO).unwrap();
    /// assert_eq!(window.cancel(id, "shutting down", Duration::ZERO), Ok("job"));
    /// assert_eq!(window.get(id, Duration::ZERO).unwrap().state, State::Cancelled);
    /// ```
    pub fn cancel(&self, id: OperationId, outcome: O, now: Duration) -> Result<I, WindowError> {
        self.cancel_reporting(id, outcome, now, no_report())
    }

    /// [`cancel`](Self::cancel), reporting the cancelled operation as
    /// [`finish_reporting`](Self::finish_reporting) does.
    pub(crate) fn cancel_reporting(
        &self,
        id: OperationId,
        outcome: O,
        now: Duration,
        report: Option<impl FnOnce(Option<&K>, Snapshot<&O>)>,
    ) -> Result<I, WindowError> {
        let (claim, input) = self.slab.claim(id).map_err(|r| self.explain(id, r))?;
        self.record(claim.into(), Phase::Cancelled, outcome, now, report);
        Ok(input)
    }

    /// What waits for a free slot listens on: notified whenever a slot is freed.
    pub(crate) fn freed(&self) -> &crate::wakeup::Wakeup {
        self.slab.freed()
    }

    /// Takes a pending operation back out without recording it (an enqueue that lost a
    /// race for the intake); its slot is free again and its id unknown.
    pub(crate) fn withdraw(&self, id: OperationId) -> Option<I> {
        let (claim, input) = self.slab.claim(id).ok()?;
        if self.slab.withdraw(claim).has(PINNED) {
            // Someone pinned it while it waited (ids can be guessed): return the pin.
            self.pins.fetch_sub(1, Ordering::Relaxed);
        }
        Some(input)
    }

    /// Calls `f` with a borrowed snapshot of `id`, if it is tracked.
    pub(crate) fn inspect(&self, id: OperationId, now: Duration, f: impl FnOnce(Snapshot<&O>)) {
        self.slab.read_id(id, |v| {
            if !self.expired(&v, now) {
                f(self.snapshot_of(v));
            }
        });
    }

    /// Panics contained in the `Drop` of inputs, outcomes and keys freed with their
    /// operations (each was caught, under `std`, and the window went on).
    pub(crate) fn drop_panics(&self) -> u64 {
        self.slab.drop_panics()
    }

    /// Pins an operation: neither count nor age eviction will remove it until
    /// [`unpin`](Self::unpin) or [`evict`](Self::evict). Pinning a pinned operation is a
    /// no-op. Pins are limited to the budget, so they cannot grow memory.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, State, Window, WindowError};
    /// let window: Window<(), ()> = Window::new(&Options::default().pin_budget(1)).unwrap();
    /// let a = window.insert((), Duration::ZERO).unwrap();
    /// let b = window.insert((), Duration::ZERO).unwrap();
    /// window.pin(a).unwrap();
    /// assert_eq!(window.pin(b), Err(WindowError::PinBudgetExhausted { budget: 1 }));
    /// ```
    pub fn pin(&self, id: OperationId) -> Result<(), WindowError> {
        if self.peek(id)?.has(PINNED) {
            return Ok(());
        }
        let mut held = self.pins.load(Ordering::Relaxed);
        loop {
            if held >= self.pin_budget {
                return Err(WindowError::PinBudgetExhausted {
                    budget: self.pin_budget,
                });
            }
            match self.pins.compare_exchange_weak(
                held,
                held + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(seen) => held = seen,
            }
        }
        let pinned = self.slab.transition(id, |w| {
            if w.has(PINNED) {
                Err(Refused::Phase(w))
            } else {
                Ok(w.with(PINNED, true))
            }
        });
        match pinned {
            Ok(_) => Ok(()),
            Err(refused) => {
                self.pins.fetch_sub(1, Ordering::Relaxed);
                match refused {
                    // Someone else pinned it meanwhile: it is pinned, as asked.
                    Refused::Phase(_) => Ok(()),
                    Refused::Unknown => Err(WindowError::Unknown(id)),
                }
            }
        }
    }

    /// Unpins an operation. If it was pushed out of the window while pinned, it is
    /// evicted now: only the pin was keeping it. Unpinning an unpinned operation is a no-op.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, State, Window};
    /// let window: Window<(), ()> = Window::new(&Options::default().max_tracked(1).pin_budget(1)).unwrap();
    /// let t = Duration::ZERO;
    /// let old = window.insert((), t).unwrap();
    /// window.start(old, t).unwrap();
    /// window.finish(old, State::Completed, (), t).unwrap();
    /// window.pin(old).unwrap();
    /// let new = window.insert((), t).unwrap();
    /// window.start(new, t).unwrap();
    /// window.finish(new, State::Completed, (), t).unwrap(); // pushes `old` out; the pin keeps it
    /// assert!(window.get(old, t).is_some());
    /// window.unpin(old).unwrap();
    /// assert!(window.get(old, t).is_none());
    /// ```
    pub fn unpin(&self, id: OperationId) -> Result<(), WindowError> {
        let unpinned = self.slab.transition(id, |w| {
            if !w.has(PINNED) {
                Err(Refused::Phase(w))
            } else if w.has(DISPLACED) {
                Ok(w.retired())
            } else {
                Ok(w.with(PINNED, false))
            }
        });
        match unpinned {
            Ok((_, new)) => {
                self.pins.fetch_sub(1, Ordering::Relaxed);
                if new.is_finished() {
                    // It may already be past its lifetime; let the next finish or read check.
                    self.next_expiry.fetch_min(0, Ordering::Release);
                }
                Ok(())
            }
            Err(Refused::Phase(_)) => Ok(()),
            Err(Refused::Unknown) => Err(WindowError::Unknown(id)),
        }
    }

    /// Evicts a finished operation now, pinned or not (its pin is released). Pending and
    /// running operations are never evicted.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, State, Window, WindowError};
    /// let window: Window<(), ()> = Window::new(&Options::default()).unwrap();
    /// let t = Duration::ZERO;
    /// let id = window.insert((), t).unwrap();
    /// window.start(id, t).unwrap();
    /// window.finish(id, State::Completed, (), t).unwrap();
    /// window.evict(id).unwrap();
    /// assert_eq!(window.evict(id), Err(WindowError::Unknown(id)));
    /// ```
    pub fn evict(&self, id: OperationId) -> Result<(), WindowError> {
        let evicted = self.slab.transition(id, |w| {
            if w.is_finished() {
                Ok(w.retired())
            } else {
                Err(Refused::Phase(w))
            }
        });
        match evicted {
            Ok((old, _)) => {
                if old.has(PINNED) {
                    self.pins.fetch_sub(1, Ordering::Relaxed);
                }
                Ok(())
            }
            Err(refused) => Err(self.explain(id, refused)),
        }
    }

    /// How many pins are held now.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, Window};
    /// let window: Window<(), ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert((), Duration::ZERO).unwrap();
    /// window.pin(id).unwrap();
    /// assert_eq!(window.pinned_count(), 1);
    /// ```
    pub fn pinned_count(&self) -> usize {
        self.pins.load(Ordering::Relaxed)
    }

    /// Evicts every unpinned finished operation whose lifetime has passed at `now`.
    /// Finishes and reads already do this when it is due; call it to reclaim memory
    /// during a quiet spell.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, State, Window};
    /// let options = Options::default().max_operation_lifetime(Duration::from_secs(1));
    /// let window: Window<(), ()> = Window::new(&options).unwrap();
    /// let id = window.insert((), Duration::ZERO).unwrap();
    /// window.start(id, Duration::ZERO).unwrap();
    /// window.finish(id, State::Completed, (), Duration::ZERO).unwrap();
    /// window.expire(Duration::from_secs(1));
    /// assert!(window.get(id, Duration::from_secs(1)).is_none());
    /// ```
    pub fn expire(&self, now: Duration) {
        self.next_expiry.swap(u64::MAX, Ordering::Acquire);
        let mut earliest = u64::MAX;
        for cell in self.cells.iter() {
            let Some(id) = self.slab.id_from_raw(cell.load(Ordering::Acquire)) else {
                continue;
            };
            let expiry = self.slab.read_id(id, |v| {
                (!v.word.has(PINNED)).then(|| v.finished_at.and_then(|at| self.expiry(at)))
            });
            match expiry.flatten().flatten() {
                Some(expiry) if expiry <= now => {
                    // Refused if it got pinned meanwhile; then it stays.
                    let _ = self.slab.transition(id, |w| {
                        if w.has(PINNED) || !w.is_finished() {
                            Err(Refused::Phase(w))
                        } else {
                            Ok(w.retired())
                        }
                    });
                }
                Some(expiry) => earliest = earliest.min(to_nanos(expiry)),
                None => {}
            }
        }
        self.next_expiry.fetch_min(earliest, Ordering::Release);
    }

    /// Calls `f` with a snapshot of every tracked operation, without allocating, in
    /// slot order: each operation at most once, even one that finishes or is evicted
    /// while the walk runs, and never more finished ones than the window holds plus the
    /// pinned ones. (The `Vec` queries sort what a walk saw: pending and running
    /// operations first, then finished ones oldest first.)
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, Window};
    /// let window: Window<u8, ()> = Window::new(&Options::default()).unwrap();
    /// window.insert(1, Duration::ZERO).unwrap();
    /// let mut pending = 0;
    /// window.visit(Duration::ZERO, |s| pending += usize::from(s.state == ephemeral::State::Pending));
    /// assert_eq!(pending, 1);
    /// ```
    pub fn visit(&self, now: Duration, mut f: impl FnMut(Snapshot<&O>)) {
        self.walk(now, |v| f(self.snapshot_of(v)));
    }

    /// [`visit`](Self::visit), with each operation's key.
    pub(crate) fn visit_keyed(&self, now: Duration, mut f: impl FnMut(Option<&K>, Snapshot<&O>)) {
        self.walk(now, |v| f(v.key, self.snapshot_of(v)));
    }

    /// What `pick` takes from each tracked operation, pending and running ones first (in
    /// slot order), then finished ones in completion order.
    pub(crate) fn collect_sorted<X>(
        &self,
        now: Duration,
        mut pick: impl FnMut(Option<&K>, Snapshot<&O>) -> Option<X>,
    ) -> Vec<X> {
        let mut found = Vec::new();
        self.walk(now, |v| {
            // Unfinished first (0), then by completion ticket.
            let order = v.order.map_or(0, |ticket| ticket.saturating_add(1));
            if let Some(x) = pick(v.key, self.snapshot_of(v)) {
                found.push((order, x));
            }
        });
        // Stable, so unfinished operations keep their slot order.
        found.sort_by_key(|(order, _)| *order);
        found.into_iter().map(|(_, x)| x).collect()
    }

    /// Calls `f` with a view of each operation in the window at the moment the walk
    /// begins, visiting each slot once: every pending or running operation, and the
    /// finished ones among the last `max_tracked` completions then (by ticket) or pinned.
    /// An operation that finishes during the walk is shown as it was (running) if the
    /// walk reached it first, and not at all otherwise: so a walk never shows more
    /// finished operations than the window holds, and never one twice.
    fn walk(&self, now: Duration, mut f: impl FnMut(View<'_, O, K>)) {
        self.expire_if_due(now);
        let end = self.tickets.load(Ordering::Acquire);
        let window = end.saturating_sub(self.cells.len() as u64)..end;
        for index in 0..self.slab.capacity() {
            let word = self.slab.word_at(index);
            if !word.is_live() {
                continue;
            }
            // Slot indices fit in u32: the slab is built with at most MAX_SLOTS slots.
            self.slab.read(index as u32, Some(word.generation()), |v| {
                let in_window = match v.order {
                    Some(ticket) => v.word.has(PINNED) || window.contains(&ticket),
                    None => true,
                };
                if in_window && !self.expired(&v, now) {
                    f(v);
                }
            });
        }
    }

    /// A snapshot of one operation, or `None` if it is unknown (evicted, expired, or
    /// never tracked). An evicted id never answers with the operation reusing its slot.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, Window};
    /// let window: Window<u8, ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert(1, Duration::from_secs(3)).unwrap();
    /// assert_eq!(window.get(id, Duration::from_secs(4)).unwrap().enqueued_at, Duration::from_secs(3));
    /// ```
    pub fn get(&self, id: OperationId, now: Duration) -> Option<Snapshot<O>>
    where
        O: Clone,
    {
        self.expire_if_due(now);
        self.slab
            .read_id(id, |v| {
                (!self.expired(&v, now)).then(|| owned(self.snapshot_of(v)))
            })
            .flatten()
    }

    /// Snapshots of every tracked operation, in [`visit`](Self::visit) order.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, Window};
    /// let window: Window<u8, ()> = Window::new(&Options::default()).unwrap();
    /// window.insert(1, Duration::ZERO).unwrap();
    /// assert_eq!(window.snapshot(Duration::ZERO).len(), 1);
    /// ```
    pub fn snapshot(&self, now: Duration) -> Vec<Snapshot<O>>
    where
        O: Clone,
    {
        self.collect(now, |_| true)
    }

    /// Snapshots of the operations whose bodies are running now.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, Window};
    /// let window: Window<u8, ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert(1, Duration::ZERO).unwrap();
    /// window.start(id, Duration::ZERO).unwrap();
    /// assert_eq!(window.running(Duration::ZERO)[0].id, id);
    /// ```
    pub fn running(&self, now: Duration) -> Vec<Snapshot<O>>
    where
        O: Clone,
    {
        self.collect(now, |s| s.state == State::Running)
    }

    /// Snapshots of the operations waiting to start.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, Window};
    /// let window: Window<u8, ()> = Window::new(&Options::default()).unwrap();
    /// window.insert(1, Duration::ZERO).unwrap();
    /// assert_eq!(window.pending(Duration::ZERO).len(), 1);
    /// ```
    pub fn pending(&self, now: Duration) -> Vec<Snapshot<O>>
    where
        O: Clone,
    {
        self.collect(now, |s| s.state == State::Pending)
    }

    /// Snapshots of the window's successfully completed operations, oldest first.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, State, Window};
    /// let window: Window<u8, ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert(1, Duration::ZERO).unwrap();
    /// window.start(id, Duration::ZERO).unwrap();
    /// window.finish(id, State::Completed, (), Duration::ZERO).unwrap();
    /// assert_eq!(window.completed(Duration::ZERO).len(), 1);
    /// ```
    pub fn completed(&self, now: Duration) -> Vec<Snapshot<O>>
    where
        O: Clone,
    {
        self.collect(now, |s| s.state == State::Completed)
    }

    /// Snapshots of the window's faulted operations, oldest first.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use ephemeral::{Options, State, Window};
    /// let window: Window<u8, &str> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert(1, Duration::ZERO).unwrap();
    /// window.start(id, Duration::ZERO).unwrap();
    /// window.finish(id, State::Faulted, "boom", Duration::ZERO).unwrap();
    /// assert_eq!(window.failed(Duration::ZERO)[0].outcome, Some("boom"));
    /// ```
    pub fn failed(&self, now: Duration) -> Vec<Snapshot<O>>
    where
        O: Clone,
    {
        self.collect(now, |s| s.state == State::Faulted)
    }

    fn collect(&self, now: Duration, keep: impl Fn(&Snapshot<&O>) -> bool) -> Vec<Snapshot<O>>
    where
        O: Clone,
    {
        self.collect_sorted(now, |_, s| keep(&s).then(|| owned(s)))
    }

    /// Puts a just-finished operation into the ring cell of its completion `ticket` and
    /// pushes out the occupant, the operation `max_tracked` tickets older. A placer so
    /// late that a newer ticket already holds its cell pushes itself out instead, so the
    /// ring always keeps the newest completions.
    fn place(&self, id: OperationId, ticket: u64, now: Duration) {
        let cell = &self.cells[(ticket % self.cells.len() as u64) as usize];
        let mut occupant = cell.load(Ordering::Acquire);
        let pushed_out = loop {
            let old = self.slab.id_from_raw(occupant);
            if old.and_then(|old| self.slab.order_of(old)) > Some(ticket) {
                break Some(id);
            }
            match cell.compare_exchange(occupant, id.raw(), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break old,
                Err(seen) => occupant = seen,
            }
        };
        if let Some(old) = pushed_out {
            // Evict it, or mark it displaced if pinned. `Unknown`: already evicted by
            // id or by age, so nothing is left to do.
            let _ = self.slab.transition(old, |w| {
                if !w.is_finished() {
                    Err(Refused::Phase(w))
                } else if w.has(PINNED) {
                    Ok(w.with(DISPLACED, true))
                } else {
                    Ok(w.retired())
                }
            });
        }
        if let Some(expiry) = self.expiry(now) {
            self.next_expiry
                .fetch_min(to_nanos(expiry), Ordering::Release);
        }
        self.expire_if_due(now);
    }

    /// When an operation finished at `at` expires; `None` (never) past the end of time,
    /// as with a lifetime of `Duration::MAX`.
    fn expiry(&self, at: Duration) -> Option<Duration> {
        at.checked_add(self.lifetime)
    }

    fn expire_if_due(&self, now: Duration) {
        if to_nanos(now) >= self.next_expiry.load(Ordering::Acquire) {
            self.expire(now);
        }
    }

    fn expired(&self, view: &View<'_, O, K>, now: Duration) -> bool {
        !view.word.has(PINNED)
            && view
                .finished_at
                .and_then(|at| self.expiry(at))
                .is_some_and(|expiry| expiry <= now)
    }

    fn snapshot_of<'a>(&self, v: View<'a, O, K>) -> Snapshot<&'a O> {
        Snapshot {
            id: v.id,
            // `read` only admits live words, whose state is always defined.
            state: v.word.state().unwrap_or(State::Pending),
            pinned: v.word.has(PINNED),
            enqueued_at: v.enqueued_at,
            started_at: v.started_at,
            finished_at: v.finished_at,
            label: v.label,
            signals: self.marks.get(v.id),
            outcome: v.outcome,
        }
    }

    /// Where bodies record the signals their operations raise.
    pub(crate) fn marks(&self) -> &Arc<Marks> {
        &self.marks
    }

    fn peek(&self, id: OperationId) -> Result<Word, WindowError> {
        self.slab
            .read_id(id, |v| v.word)
            .ok_or(WindowError::Unknown(id))
    }

    fn explain(&self, id: OperationId, refused: Refused) -> WindowError {
        match refused {
            Refused::Phase(word) => match word.state() {
                Some(state) => WindowError::WrongState { id, state },
                None => WindowError::Unknown(id),
            },
            Refused::Unknown => WindowError::Unknown(id),
        }
    }
}

/// A report of a finished operation: its key and snapshot.
type Report<K, O> = fn(Option<&K>, Snapshot<&O>);

/// No report for [`Window::finish_reporting`] and [`Window::cancel_reporting`].
pub(crate) fn no_report<K, O>() -> Option<Report<K, O>> {
    None
}

fn owned<O: Clone>(s: Snapshot<&O>) -> Snapshot<O> {
    Snapshot {
        id: s.id,
        state: s.state,
        pinned: s.pinned,
        enqueued_at: s.enqueued_at,
        started_at: s.started_at,
        finished_at: s.finished_at,
        label: s.label,
        signals: s.signals,
        outcome: s.outcome.cloned(),
    }
}

impl<I, O, K> fmt::Debug for Window<I, O, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Window")
            .field("capacity", &self.slab.capacity())
            .field("max_tracked", &self.cells.len())
            .field("pins", &self.pinned_count())
            .field("pin_budget", &self.pin_budget)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn window(max_tracked: usize, pins: usize) -> Window<u32, String> {
        let options = Options::default()
            .queue_capacity(4)
            .max_concurrency(2)
            .max_tracked(max_tracked)
            .pin_budget(pins)
            .max_operation_lifetime(ms(100));
        Window::new(&options).unwrap()
    }

    /// Inserts, starts and finishes one operation at `at`.
    fn run(w: &Window<u32, String>, n: u32, state: State, at: Duration) -> OperationId {
        let id = w.insert(n, at).unwrap();
        assert_eq!(w.start(id, at), Ok(n));
        w.finish(id, state, alloc::format!("op{n}"), at).unwrap();
        id
    }

    fn outcomes(list: Vec<Snapshot<String>>) -> Vec<String> {
        list.into_iter().filter_map(|s| s.outcome).collect()
    }

    #[test]
    fn count_eviction_keeps_the_newest_in_completion_order() {
        let w = window(3, 0);
        let ids: Vec<_> = (0..5)
            .map(|n| run(&w, n, State::Completed, ms(1)))
            .collect();
        assert_eq!(outcomes(w.completed(ms(1))), ["op2", "op3", "op4"]);
        assert!(w.get(ids[0], ms(1)).is_none());
        assert!(w.get(ids[1], ms(1)).is_none());
    }

    #[test]
    fn evicted_slots_are_reused_and_old_ids_stay_unknown() {
        let w = window(1, 0);
        let first = run(&w, 0, State::Completed, ms(1));
        // Far more operations than slots: every slot is reused many times.
        let mut last = first;
        for n in 1..100 {
            last = run(&w, n, State::Completed, ms(1));
        }
        assert!(w.get(first, ms(1)).is_none());
        assert_eq!(w.evict(first), Err(WindowError::Unknown(first)));
        assert_eq!(w.pin(first), Err(WindowError::Unknown(first)));
        assert_eq!(w.get(last, ms(1)).unwrap().outcome.as_deref(), Some("op99"));
    }

    #[test]
    fn pending_and_running_operations_are_never_evicted() {
        let w = window(1, 0);
        let pending = w.insert(100, ms(0)).unwrap();
        let running = w.insert(101, ms(0)).unwrap();
        w.start(running, ms(0)).unwrap();
        for n in 0..10 {
            run(&w, n, State::Faulted, ms(0));
        }
        // Long past the lifetime, too.
        let late = ms(10_000);
        w.expire(late);
        assert_eq!(w.get(pending, late).unwrap().state, State::Pending);
        assert_eq!(w.get(running, late).unwrap().state, State::Running);
        assert_eq!(
            w.evict(running),
            Err(WindowError::WrongState {
                id: running,
                state: State::Running
            })
        );
        assert_eq!(w.pending(late).len(), 1);
        assert_eq!(w.running(late).len(), 1);
    }

    #[test]
    fn age_eviction_counts_from_completion_and_is_exact_on_reads() {
        let w = window(10, 0);
        let id = w.insert(1, ms(0)).unwrap();
        w.start(id, ms(0)).unwrap();
        w.finish(id, State::Completed, String::from("x"), ms(50))
            .unwrap();
        assert!(
            w.get(id, ms(149)).is_some(),
            "lifetime runs from completion, not enqueue"
        );
        assert!(
            w.get(id, ms(150)).is_none(),
            "gone the moment its lifetime has passed"
        );
        assert!(w.completed(ms(150)).is_empty());
    }

    #[test]
    fn age_eviction_reclaims_slots_when_a_later_finish_finds_it_due() {
        let w = window(10, 0);
        let old = run(&w, 1, State::Completed, ms(0));
        run(&w, 2, State::Completed, ms(200));
        // The finish at 200 ms swept `old` out; its slot is free again.
        assert!(w.get(old, ms(200)).is_none());
        let free = (0..w.capacity()).filter(|&i| w.slab.word_at(i).phase() == Phase::Free);
        assert_eq!(free.count(), w.capacity() - 1);
    }

    #[test]
    fn a_pinned_operation_survives_count_and_age_eviction_until_unpinned() {
        let w = window(2, 1);
        let pinned = run(&w, 0, State::Faulted, ms(0));
        w.pin(pinned).unwrap();
        for n in 1..6 {
            run(&w, n, State::Completed, ms(0));
        }
        w.expire(ms(1_000));
        let snap = w.get(pinned, ms(1_000)).unwrap();
        assert!(snap.pinned);
        assert_eq!(snap.outcome.as_deref(), Some("op0"));
        // The window holds at most max_tracked finished operations plus the pinned one.
        assert!(w.snapshot(ms(1)).len() <= 3);
        w.unpin(pinned).unwrap();
        assert!(
            w.get(pinned, ms(1)).is_none(),
            "it was displaced, so unpinning evicts it"
        );
        assert_eq!(w.pinned_count(), 0);
    }

    #[test]
    fn unpinning_inside_the_window_returns_it_to_age_eviction() {
        let w = window(4, 1);
        let id = run(&w, 0, State::Completed, ms(0));
        w.pin(id).unwrap();
        assert!(w.get(id, ms(500)).is_some());
        w.unpin(id).unwrap();
        assert!(w.get(id, ms(500)).is_none());
    }

    #[test]
    fn the_pin_budget_is_a_clear_error_and_pins_are_returned_on_evict() {
        let w = window(4, 2);
        let a = run(&w, 0, State::Completed, ms(0));
        let b = run(&w, 1, State::Completed, ms(0));
        let c = run(&w, 2, State::Completed, ms(0));
        w.pin(a).unwrap();
        w.pin(a).unwrap();
        w.pin(b).unwrap();
        assert_eq!(w.pin(c), Err(WindowError::PinBudgetExhausted { budget: 2 }));
        w.evict(b).unwrap();
        assert_eq!(w.pinned_count(), 1);
        w.pin(c).unwrap();
    }

    #[test]
    fn cancel_hands_the_input_back_and_records_a_cancelled_operation() {
        let w = window(4, 0);
        let id = w.insert(9, ms(0)).unwrap();
        assert_eq!(w.cancel(id, String::from("stop"), ms(1)), Ok(9));
        let snap = w.get(id, ms(1)).unwrap();
        assert_eq!((snap.state, snap.started_at), (State::Cancelled, None));
        assert_eq!(
            w.cancel(id, String::from("again"), ms(1)),
            Err(WindowError::WrongState {
                id,
                state: State::Cancelled
            })
        );
    }

    #[test]
    fn finish_refuses_non_terminal_states_and_unstarted_operations() {
        let w = window(4, 0);
        let id = w.insert(1, ms(0)).unwrap();
        let err = w
            .finish(id, State::Completed, String::from("a"), ms(0))
            .unwrap_err();
        assert_eq!(
            err,
            FinishError::Refused {
                error: WindowError::WrongState {
                    id,
                    state: State::Pending
                },
                outcome: String::from("a")
            }
        );
        w.start(id, ms(0)).unwrap();
        let err = w
            .finish(id, State::Running, String::from("b"), ms(0))
            .unwrap_err();
        assert_eq!(
            err,
            FinishError::NotTerminal {
                state: State::Running,
                outcome: String::from("b")
            }
        );
    }

    #[test]
    fn snapshot_lists_live_work_first_then_finished_oldest_first() {
        let w = window(4, 0);
        run(&w, 0, State::Completed, ms(0));
        run(&w, 1, State::Faulted, ms(0));
        let running = w.insert(2, ms(0)).unwrap();
        w.start(running, ms(0)).unwrap();
        let states: Vec<_> = w.snapshot(ms(0)).into_iter().map(|s| s.state).collect();
        assert_eq!(
            states,
            vec![State::Running, State::Completed, State::Faulted]
        );
        assert_eq!(outcomes(w.failed(ms(0))), ["op1"]);
    }

    #[test]
    fn a_full_window_refuses_insert_with_the_item() {
        let w = window(1, 0);
        let capacity = w.capacity();
        for n in 0..capacity as u32 {
            w.insert(n, ms(0)).unwrap();
        }
        assert_eq!(w.insert(77, ms(0)), Err(InsertError::Full(77)));
    }

    /// A lifetime of `Duration::MAX` means "never by age"; adding it to a completion
    /// time used to overflow and panic in `finish`.
    #[test]
    fn an_unbounded_lifetime_never_overflows() {
        let options = Options::default().max_operation_lifetime(Duration::MAX);
        let w: Window<u32, String> = Window::new(&options).unwrap();
        let id = run(&w, 1, State::Completed, Duration::MAX);
        assert!(w.get(id, Duration::MAX).is_some());
        w.expire(Duration::MAX);
        assert_eq!(w.completed(Duration::MAX).len(), 1);
    }

    /// Each finished operation is reported exactly once with its own snapshot, even in a
    /// window of one where the next finish evicts it at once.
    #[test]
    fn every_finish_is_reported_once_however_small_the_window() {
        let w = window(1, 0);
        let mut reported = Vec::new();
        for n in 0..50 {
            let id = w.insert(n, ms(0)).unwrap();
            w.start(id, ms(0)).unwrap();
            w.finish_reporting(
                id,
                State::Completed,
                alloc::format!("op{n}"),
                ms(1),
                Some(|_: Option<&()>, s: Snapshot<&String>| {
                    assert_eq!((s.id, s.state), (id, State::Completed));
                    reported.push(s.outcome.cloned().unwrap());
                }),
            )
            .unwrap();
        }
        let expected: Vec<String> = (0..50).map(|n| alloc::format!("op{n}")).collect();
        assert_eq!(reported, expected);
    }

    /// Withdrawing an operation someone pinned while it waited gives the pin back.
    #[test]
    fn withdrawing_a_pinned_pending_operation_returns_its_pin() {
        let w = window(4, 1);
        let id = w.insert(1, ms(0)).unwrap();
        w.pin(id).unwrap();
        assert_eq!(w.withdraw(id), Some(1));
        assert_eq!(w.pinned_count(), 0);
        let other = w.insert(2, ms(0)).unwrap();
        w.pin(other).unwrap();
    }
}
