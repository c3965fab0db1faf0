//! A coordinator's side of signals, shared by every coordinator: raising from bodies
//! (recorded on the operation, reported to `on_signal` and the async dispatch), and
//! the gate an item passes before its body starts (`cancel_on`, `defer_on`,
//! `resume_on`).
//!
//! The gate is a few loads per item: each option set is a [`SignalMask`] over the sink's
//! table, and "is any named signal present" is `presence & mask` per 64 names. A
//! deferred item waits on the sink's `changed` wake-up (notified by every retract and
//! raise), on cancellation, and on a timer for whichever comes first of its deferral
//! bound and the `max_age` expiry of the signal deferring it; nothing polls, and each
//! worker defers only its own item.

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use alloc::boxed::Box;
use core::time::Duration;

use futures_lite::future::or;

use super::dispatch::Dispatch;
use crate::operation::OperationId;
use crate::options::{Options, OptionsError};
use crate::runtime::Timer;
use crate::signal::{Signal, SignalEvent, SignalMask, SignalSink, Subscription, TableError};
use crate::sync::{Arc, AtomicU64, AtomicUsize, Counted, Ordering, contain};
use crate::wakeup::Wakeup;
use crate::window::Marks;

/// The synchronous `on_signal` callback.
pub(crate) type OnSignal = Box<dyn Fn(&SignalEvent) + Send + Sync>;

/// What the gate decided for an item about to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Run it now.
    Run,
    /// Cancel it: this `cancel_on` signal is present.
    Cancel(Signal),
}

/// What a signal gate decides for an item about to start: the coordinator's own gate
/// (`cancel_on`, `defer_on`, `resume_on`) and a keyed coordinator's per-key gate
/// ([`CoordinatorBuilder::gate`](crate::CoordinatorBuilder::gate)) both answer with it.
///
/// ```
/// use ephemeral::Gate;
/// use ephemeral::signal::SignalSink;
///
/// let sink = SignalSink::new();
/// let open = sink.raise("circuit.open.b").unwrap();
/// let gate = |host: &str| match sink.table().lookup(&format!("circuit.open.{host}")) {
///     Some(signal) if sink.is_raised(signal) => Gate::Defer(signal),
///     _ => Gate::Run,
/// };
/// assert_eq!(gate("a"), Gate::Run);
/// assert_eq!(gate("b"), Gate::Defer(open));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Start it now.
    Run,
    /// Hold it back while this signal is present (for at most `max_defer` at a stretch).
    Defer(Signal),
    /// Cancel it: it ends `Cancelled`, carrying this signal.
    Cancel(Signal),
}

/// A coordinator's side of signals: raises from bodies (recorded on the operation,
/// reported, dispatched) and the `cancel_on`/`defer_on`/`resume_on` gate before a body.
pub struct Signals {
    sink: SignalSink,
    marks: Arc<Marks>,
    cancel_on: SignalMask,
    defer_on: SignalMask,
    resume_on: SignalMask,
    /// Whether `cancel_on` or `defer_on` names anything (otherwise the gate is skipped).
    gated: bool,
    max_defer: Duration,
    on_signal: Option<OnSignal>,
    dispatch: Option<Arc<Dispatch>>,
    /// Items that were deferred before they ran; incremented by workers.
    deferred: AtomicU64,
    /// Items being deferred right now; raised and lowered by the deferring workers.
    deferring: AtomicUsize,
}

impl Signals {
    /// The signal side of a coordinator built from `options`, recording raises into
    /// `marks` (its window's).
    pub fn new(
        options: &Options,
        marks: Arc<Marks>,
        on_signal: Option<OnSignal>,
        dispatch: Option<Arc<Dispatch>>,
    ) -> Self {
        // A sink of its own shares the table its window's marks pin names in.
        let sink = options
            .signals
            .clone()
            .unwrap_or_else(|| SignalSink::builder().table(marks.table().clone()).build());
        let table = sink.shared_table();
        let mask = |set: &crate::signal::PatternSet| SignalMask::new(set.clone(), table.clone());
        let (cancel_on, defer_on) = (mask(&options.cancel_on), mask(&options.defer_on));
        Self {
            gated: !cancel_on.is_empty() || !defer_on.is_empty(),
            resume_on: mask(&options.resume_on),
            cancel_on,
            defer_on,
            max_defer: options.max_defer,
            marks,
            on_signal,
            dispatch,
            deferred: AtomicU64::new(0),
            deferring: AtomicUsize::new(0),
            sink,
        }
    }

    pub(crate) fn sink(&self) -> &SignalSink {
        &self.sink
    }

    /// Subscribes `close` to raises of signals matching `options.drain_on`; `close` also
    /// runs at once if one is already present. `None` when `drain_on` is empty; an error
    /// when the sink has no listener place left.
    pub fn drain_on(
        &self,
        options: &Options,
        close: impl Fn() + Send + Sync + 'static,
    ) -> Result<Option<Subscription>, OptionsError> {
        let mask = SignalMask::new(options.drain_on.clone(), self.sink.shared_table());
        if mask.is_empty() {
            return Ok(None);
        }
        // Subscribe first, then look: a raise in between is caught by one or the other
        // (`subscribe` fences after publishing the listener, and a raise fences after
        // setting presence, so they cannot both miss each other).
        let close = Arc::new(close);
        let (closer, check) = (close.clone(), mask.clone());
        let listener = move |event: &SignalEvent| {
            if mask.contains(event.signal) {
                closer();
            }
        };
        let subscription = self
            .sink
            .subscribe(listener)
            .map_err(|_| OptionsError::SinkListenersFull)?;
        if check.first_raised(&self.sink).is_some() {
            close();
        }
        Ok(Some(subscription))
    }

    /// Raises `name` for operation `id`: records it on the operation, raises it into the
    /// sink, and reports it to `on_signal` and the async handlers. A panic in `on_signal`
    /// is caught (under `std`) and counted in the sink's
    /// [`listener_panics`](SignalSink::listener_panics); the handlers still get the event.
    pub(crate) fn raise_from(&self, id: OperationId, name: &str) -> Result<Signal, TableError> {
        // Pinned until reported, so `on_signal` can always read the name.
        let signal = self.sink.pin(&name)?;
        self.marks.add(id, signal);
        let event = self.sink.raise_event(signal, Some(id), None);
        if let Some(report) = &self.on_signal
            && contain(|| report(&event)).is_none()
        {
            self.sink.count_listener_panic();
        }
        if let Some(dispatch) = &self.dispatch {
            dispatch.offer(event);
        }
        self.sink.table().unpin(signal);
        Ok(signal)
    }

    /// Retracts `name` from the sink and from operation `id`'s record.
    pub(crate) fn retract_from(&self, id: OperationId, name: &str) -> bool {
        let Some(signal) = self.sink.table().lookup(name) else {
            return false;
        };
        let recorded = self.marks.remove(id, signal);
        self.sink.retract(signal) || recorded
    }

    /// Whether operation `id` raised `name` and has not retracted it.
    pub(crate) fn has(&self, id: OperationId, name: &str) -> bool {
        self.sink
            .table()
            .lookup(name)
            .is_some_and(|signal| self.marks.has(id, signal))
    }

    pub(crate) fn deferred(&self) -> u64 {
        self.deferred.load(Ordering::Relaxed)
    }

    /// Items held back by a `defer_on` signal right now.
    pub(crate) fn deferring(&self) -> usize {
        self.deferring.load(Ordering::Relaxed)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dispatch.as_ref().map_or(0, |d| d.dropped())
    }

    /// Stops the async handlers once they have handled what is queued.
    pub(crate) fn close(&self) {
        if let Some(dispatch) = &self.dispatch {
            dispatch.close();
        }
    }

    /// Waits until the async handlers have handled every queued event.
    pub(crate) async fn handled(&self) {
        if let Some(dispatch) = &self.dispatch {
            dispatch.idle().await;
        }
    }

    fn present(&self, mask: &SignalMask) -> Option<Signal> {
        mask.first_raised(&self.sink)
    }

    fn decide(&self) -> Gate {
        if let Some(signal) = self.present(&self.cancel_on) {
            return Gate::Cancel(signal);
        }
        match self.present(&self.defer_on) {
            Some(signal) if self.present(&self.resume_on).is_none() => Gate::Defer(signal),
            _ => Gate::Run,
        }
    }

    /// Decides whether an item about to start runs or is cancelled, waiting while it
    /// must be deferred. The wait ends when the deferring signal is retracted or
    /// expires, a `resume_on` or `cancel_on` signal appears, `stopped()` turns true
    /// (woken through `stop`), or the item's deferral bound passes. `deferral` is the
    /// item's deadline, set at its first deferral and kept across calls, so an item
    /// deferred again (see [`recheck`](Self::recheck)) is not given a new bound.
    pub async fn admit<Tm: Timer>(
        &self,
        timer: &Tm,
        stop: &Wakeup,
        stopped: impl Fn() -> bool,
        deferral: &mut Option<Duration>,
    ) -> Admission {
        if !self.gated {
            return Admission::Run;
        }
        let mut counted = None;
        loop {
            let signal = match self.decide() {
                Gate::Run => return Admission::Run,
                Gate::Cancel(signal) => return Admission::Cancel(signal),
                Gate::Defer(signal) => signal,
            };
            let now = timer.now();
            let deadline = *deferral.get_or_insert(now.saturating_add(self.max_defer));
            if stopped() || now >= deadline {
                // Stopped: the worker's gate refuses the item next and cancels it.
                return Admission::Run;
            }
            counted.get_or_insert_with(|| Counted::enter(&self.deferring));
            let mut nap = deadline - now;
            if let Some(expiry) = self.sink.expires_at(signal) {
                nap = nap.min(expiry.saturating_sub(self.sink.now()));
            }
            let changed = self
                .sink
                .changed()
                .until(|| (self.decide() != Gate::Defer(signal)).then_some(()));
            let stopping = stop.until(|| stopped().then_some(()));
            or(changed, or(stopping, timer.sleep(nap))).await;
        }
    }

    /// The gate again, without waiting, once the item holds a concurrency permit (which
    /// it may have waited for): `None` means a deferring signal appeared meanwhile, so
    /// the permit should be given back and [`admit`](Self::admit) called again.
    pub fn recheck<Tm: Timer>(&self, timer: &Tm, deferral: Option<Duration>) -> Option<Admission> {
        if !self.gated {
            return Some(Admission::Run);
        }
        match self.decide() {
            Gate::Run => Some(Admission::Run),
            Gate::Cancel(signal) => Some(Admission::Cancel(signal)),
            Gate::Defer(_) => deferral
                .is_some_and(|deadline| timer.now() >= deadline)
                .then_some(Admission::Run),
        }
    }

    /// The gate's decision now, without waiting (for a caller with no timer to time a
    /// deferral, such as `for_each`, which refuses `defer_on`).
    pub(crate) fn decide_now(&self) -> Gate {
        if !self.gated {
            return Gate::Run;
        }
        self.decide()
    }

    /// Counts an item that ran after being deferred.
    pub(crate) fn count_deferred(&self) {
        self.deferred.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        // The coordinator is gone (or was never built): its handler tasks may end.
        self.close();
    }
}

// Its one test needs `std`: without it a panic cannot be caught.
#[cfg(all(test, not(loom), feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_on_signal_still_reaches_the_async_handlers_and_is_counted() {
        let sink = SignalSink::new();
        let options = Options::default().signals(sink.clone());
        let dispatch = Arc::new(Dispatch::new(4));
        let on_signal: OnSignal = Box::new(|_| panic!("on_signal bug"));
        let signals = Signals::new(
            &options,
            Arc::new(Marks::new(1, sink.shared_table())),
            Some(on_signal),
            Some(dispatch.clone()),
        );
        let id = OperationId::new(0, 0, 1);
        let signal = signals.raise_from(id, "flushed").unwrap();
        assert_eq!(sink.listener_panics(), 1);
        assert!(sink.is_raised(signal) && signals.has(id, "flushed"));
        dispatch.close();
        let event = futures_lite::future::block_on(dispatch.next());
        assert_eq!(
            event.map(|e| e.signal),
            Some(signal),
            "the handlers lost it"
        );
    }
}
