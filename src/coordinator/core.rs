//! The machinery every coordinator shares, written once: intake, gate, workers,
//! lifecycle, counters and the finalisation callback.
//!
//! An item's path: `try_enqueue` writes it into a free window slot (`Pending`) and
//! pushes the slot's id onto the [`Intake`], which wakes one worker. A worker takes the
//! id, takes a gate permit, starts the operation, runs the body future inline (no task
//! per item), and records the outcome, which places the operation in the window. No step
//! allocates; waits use stack listeners.
//!
//! Coordinators differ only in their queue (a [`Schedule`]: FIFO, keyed, lanes) and in
//! what they record (a [`Record`]: the outcome, or the outcome and a value); the core is
//! generic over both.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::Future;
use core::time::Duration;

use atomic_waker::AtomicWaker;
use concurrent_queue::PushError;
use futures_lite::future::or;

use super::gate::Gate;
use super::guard::{Cancel, Guarded};
use super::intake::Intake;
use super::outcome::Record;
use super::schedule::Schedule;
use super::signals::{Admission, OnSignal, Signals};
use super::{BodyOutput, CancelCause, EnqueueError, Outcome};
use crate::operation::{OpContext, OperationId, Snapshot, State};
use crate::options::{Options, OptionsError};
use crate::runtime::{Spawner, Timer};
use crate::signal::dispatch::Dispatch;
use crate::signal::{Signal, SignalEvent, Subscription};
use crate::sync::{Arc, AtomicBool, AtomicU64, Ordering};
use crate::wakeup::Wakeup;
use crate::window::{Window, WindowError};

/// The type-free half of a coordinator: gate, cancellation, counters. Bodies see it
/// through their [`OpContext`].
pub(crate) struct Control {
    pub(crate) gate: Gate,
    /// Set once by `cancel`; running bodies are dropped, waiting items cancelled.
    pub(crate) cancelled: AtomicBool,
    /// `cancel` happened (for `OpContext::cancelled`).
    pub(crate) cancel: Wakeup,
    /// One per worker: the waker of the body it is running, woken by `cancel`.
    running: Box<[AtomicWaker]>,
    /// Indexed by `ENQUEUED`..`CANCELLED`; only ever incremented.
    totals: [AtomicU64; 4],
    /// Raising from bodies, and the gate before they start.
    pub(crate) signals: Signals,
}

const ENQUEUED: usize = 0;
const COMPLETED: usize = 1;
const FAILED: usize = 2;
const CANCELLED: usize = 3;

impl Control {
    pub(crate) fn new(limit: usize, workers: usize, signals: Signals) -> Self {
        Self {
            // Options validation keeps both under u32::MAX (slot indices are u32).
            gate: Gate::new(limit as u32),
            cancelled: AtomicBool::new(false),
            cancel: Wakeup::new(),
            running: (0..workers).map(|_| AtomicWaker::new()).collect(),
            totals: core::array::from_fn(|_| AtomicU64::new(0)),
            signals,
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    fn count(&self, which: usize) {
        self.totals[which].fetch_add(1, Ordering::Relaxed);
    }

    fn total(&self, which: usize) -> u64 {
        self.totals[which].load(Ordering::Relaxed)
    }
}

/// A coordinator's handle on its core, made by [`Core::start`]: dropping it cancels the
/// core (C7), so no coordinator needs a `Drop` of its own.
pub(crate) struct Owner<T, R, S, O>(Arc<Core<T, R, S, O>>)
where
    T: Send + 'static,
    R: Spawner + Timer,
    S: Schedule,
    O: Record;

impl<T, R, S, O> core::ops::Deref for Owner<T, R, S, O>
where
    T: Send + 'static,
    R: Spawner + Timer,
    S: Schedule,
    O: Record,
{
    type Target = Arc<Core<T, R, S, O>>;
    fn deref(&self) -> &Arc<Core<T, R, S, O>> {
        &self.0
    }
}

impl<T, R, S, O> Drop for Owner<T, R, S, O>
where
    T: Send + 'static,
    R: Spawner + Timer,
    S: Schedule,
    O: Record,
{
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Counts as one thing in flight while alive, so `drain` waits for it; see [`Core::hold`].
/// Dereferences to the core it holds.
pub(crate) struct Hold<T, R, S: Schedule, O: Record>(Arc<Core<T, R, S, O>>);

impl<T, R, S: Schedule, O: Record> core::ops::Deref for Hold<T, R, S, O> {
    type Target = Core<T, R, S, O>;
    fn deref(&self) -> &Core<T, R, S, O> {
        &self.0
    }
}

impl<T, R, S: Schedule, O: Record> Drop for Hold<T, R, S, O> {
    fn drop(&mut self) {
        self.0.intake.settle();
    }
}

/// What a full coordinator ran out of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shortage {
    /// Places in the intake queue (freed when a worker takes an item).
    Queue,
    /// Window slots (freed when an operation is evicted and no reader holds it).
    Slots,
}

/// Counts since a coordinator was built. Every accepted item is counted once as
/// enqueued and, once terminal, once as completed, failed or cancelled.
///
/// ```
/// let totals = ephemeral::Totals::default();
/// assert_eq!(totals.enqueued, totals.completed + totals.failed + totals.cancelled);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Items accepted.
    pub enqueued: u64,
    /// Operations whose body succeeded.
    pub completed: u64,
    /// Operations whose body returned an error or panicked.
    pub failed: u64,
    /// Operations cancelled before or while running (by the coordinator or a signal).
    pub cancelled: u64,
    /// Operations that were deferred by a `defer_on` signal before they ran.
    pub deferred: u64,
    /// Signal events dropped from the async handlers' full queue (oldest first).
    pub dropped_signals: u64,
}

/// Called with each operation's snapshot as it becomes terminal.
pub(crate) type Finalized<E> = Box<dyn Fn(&Snapshot<&Outcome<E>>) + Send + Sync>;

/// The callbacks a coordinator builder collects, the same for every coordinator.
pub(crate) struct Hooks<E> {
    on_finalized: Option<Finalized<E>>,
    on_signal: Option<OnSignal>,
    /// Present once async handlers were spawned for it.
    dispatch: Option<Arc<Dispatch>>,
}

impl<E> Default for Hooks<E> {
    fn default() -> Self {
        Self {
            on_finalized: None,
            on_signal: None,
            dispatch: None,
        }
    }
}

impl<E> Hooks<E> {
    pub(crate) fn on_finalized(
        &mut self,
        report: impl Fn(&Snapshot<&Outcome<E>>) + Send + Sync + 'static,
    ) {
        self.on_finalized = Some(Box::new(report));
    }

    pub(crate) fn on_signal(&mut self, report: impl Fn(&SignalEvent) + Send + Sync + 'static) {
        self.on_signal = Some(Box::new(report));
    }

    /// Spawns `options.max_concurrent_signal_handlers` tasks running `handler`.
    pub(crate) fn on_signal_async<S, H, Fut>(&mut self, spawner: &S, options: &Options, handler: H)
    where
        S: Spawner,
        H: Fn(SignalEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send,
    {
        if let Some(old) = self.dispatch.take() {
            old.close();
        }
        if options.validate().is_err() {
            // `build` refuses these options with the error; spawn nothing for them.
            return;
        }
        let dispatch = Arc::new(Dispatch::new(options.max_queued_signals));
        Dispatch::spawn_handlers(
            &dispatch,
            spawner,
            options.max_concurrent_signal_handlers,
            handler,
        );
        self.dispatch = Some(dispatch);
    }
}

impl<E> Drop for Hooks<E> {
    fn drop(&mut self) {
        // Still here: the build failed, so no coordinator will close the handlers.
        if let Some(dispatch) = &self.dispatch {
            dispatch.close();
        }
    }
}

/// Everything a coordinator shares with its workers: `T` items run on `R`, ordered by
/// the queue `S`, finished operations recorded as `O`.
pub(crate) struct Core<T, R, S: Schedule, O: Record> {
    pub(crate) control: Arc<Control>,
    pub(crate) window: Window<T, O, S::Key>,
    /// Shared with the `drain_on` listener, which closes it.
    intake: Arc<Intake<S>>,
    pub(crate) rt: R,
    ceiling: usize,
    on_finalized: Option<Finalized<O::Error>>,
    /// One per slot, notified when that slot's operation becomes terminal; only for
    /// coordinators whose callers wait on single operations (results).
    finished: Option<Box<[Wakeup]>>,
    /// Keeps the `drain_on` listener subscribed while the coordinator lives.
    _drain_on: Option<Subscription>,
}

impl<T, R, S, O> Core<T, R, S, O>
where
    T: Send + 'static,
    R: Spawner + Timer,
    S: Schedule,
    O: Record,
{
    /// A core ordering items with `queue`; `per_operation_wakeups` keeps one wake-up per
    /// slot for [`finished`](Self::finished).
    fn new(
        rt: R,
        options: &Options,
        mut hooks: Hooks<O::Error>,
        queue: S,
        per_operation_wakeups: bool,
    ) -> Result<Self, OptionsError> {
        let window = Window::new(options)?;
        let ceiling = options.effective_concurrency_ceiling();
        let signals = Signals::new(
            options,
            window.marks().clone(),
            hooks.on_signal.take(),
            hooks.dispatch.take(),
        );
        let finished =
            per_operation_wakeups.then(|| (0..window.capacity()).map(|_| Wakeup::new()).collect());
        let intake = Arc::new(Intake::new(queue));
        let closer = intake.clone();
        let drain_on = signals.drain_on(options, move || {
            closer.close();
        })?;
        Ok(Self {
            control: Arc::new(Control::new(options.max_concurrency, ceiling, signals)),
            window,
            intake,
            rt,
            ceiling,
            on_finalized: hooks.on_finalized.take(),
            finished,
            _drain_on: drain_on,
        })
    }

    pub(crate) fn now(&self) -> Duration {
        self.rt.now()
    }

    /// Builds a core (see [`new`](Self::new)) and spawns one worker per unit of the
    /// concurrency ceiling running `body`; the gate decides how many run bodies at once.
    pub(crate) fn start<B, Fut>(
        rt: R,
        options: &Options,
        hooks: Hooks<O::Error>,
        queue: S,
        per_operation_wakeups: bool,
        body: B,
    ) -> Result<Owner<T, R, S, O>, OptionsError>
    where
        B: Fn(T, OpContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send,
        Fut::Output: BodyOutput<Value = O::Value, Error = O::Error>,
        S::Taken: Send + Sync,
    {
        let core = Arc::new(Self::new(rt, options, hooks, queue, per_operation_wakeups)?);
        let body = Arc::new(body);
        for worker in 0..core.ceiling {
            let (shared, body) = (core.clone(), body.clone());
            core.rt
                .spawn(async move { shared.work(worker, &*body).await });
        }
        Ok(Owner(core))
    }

    /// The start of every coordinator's `Debug`: its name and live counts.
    pub(crate) fn describe<'a, 'b>(
        &self,
        f: &'a mut core::fmt::Formatter<'b>,
        name: &str,
    ) -> core::fmt::DebugStruct<'a, 'b> {
        let mut out = f.debug_struct(name);
        out.field("max_concurrency", &self.max_concurrency())
            .field("active", &self.active_count())
            .field("pending", &self.pending_count())
            .field("totals", &self.totals());
        out
    }

    async fn work<B, Fut>(&self, worker: usize, body: &B)
    where
        B: Fn(T, OpContext) -> Fut,
        Fut: Future,
        Fut::Output: BodyOutput<Value = O::Value, Error = O::Error>,
    {
        let control = &*self.control;
        let stopped = || control.is_cancelled();
        while let Some(taken) = self.next(stopped).await {
            let id = S::id(&taken);
            let cancels = || self.intake.queue().cancels(&taken);
            let state = match self.admit(stopped, cancels).await {
                Ok(()) => {
                    let state = self.run(id, worker, body).await;
                    control.gate.release();
                    state
                }
                Err(cause) => self.cancel_pending(id, cause),
            };
            // The queue learns first, so the key's next item may start; then `drain`.
            if self.intake.queue().done(taken) {
                self.intake.wake_one();
            }
            if let Some(state) = state {
                self.settle(id, state);
            }
        }
    }

    /// The next ticket, waiting for a push, or (for queues that hold items back) for a
    /// signal change or a held item's release.
    async fn next(&self, stopped: impl Fn() -> bool + Copy) -> Option<S::Taken> {
        if !S::HOLDS {
            return self.intake.next(stopped).await;
        }
        let changed = self.control.signals.sink().changed();
        loop {
            let taken = async { Some(self.intake.next_or(stopped, changed).await) };
            let due = async {
                self.intake.queue().release_due(&self.rt).await;
                None
            };
            if let Some(taken) = or(taken, due).await {
                return taken;
            }
        }
    }

    /// Takes an item through the signal gate and a concurrency permit. `Ok`: it may run
    /// and holds a permit. The gate is checked again once the permit is held (waiting
    /// for it may take long): a signal raised meanwhile still cancels or defers the item
    /// before its body starts, and a deferred item waits without holding a permit.
    ///
    /// `cancels` is the queue's own cancel check for this item, asked at the same two
    /// points.
    async fn admit(
        &self,
        stopped: impl Fn() -> bool + Copy,
        cancels: impl Fn() -> Option<Signal>,
    ) -> Result<(), CancelCause> {
        let control = &*self.control;
        let signals = &control.signals;
        let mut deferral = None;
        loop {
            if let Some(signal) = cancels() {
                return Err(CancelCause::Signal(signal));
            }
            let admission = signals.admit(&self.rt, &control.cancel, stopped, &mut deferral);
            if let Admission::Cancel(signal) = admission.await {
                return Err(CancelCause::Signal(signal));
            }
            if !control.gate.acquire(stopped).await {
                return Err(CancelCause::Coordinator);
            }
            if let Some(signal) = cancels() {
                control.gate.release();
                return Err(CancelCause::Signal(signal));
            }
            match signals.recheck(&self.rt, deferral) {
                Some(Admission::Run) => {
                    if deferral.is_some() {
                        signals.count_deferred();
                    }
                    return Ok(());
                }
                Some(Admission::Cancel(signal)) => {
                    control.gate.release();
                    return Err(CancelCause::Signal(signal));
                }
                None => control.gate.release(),
            }
        }
    }

    /// Runs the operation's body; its terminal state, or `None` if it was not ours.
    async fn run<B, Fut>(&self, id: OperationId, worker: usize, body: &B) -> Option<State>
    where
        B: Fn(T, OpContext) -> Fut,
        Fut: Future,
        Fut::Output: BodyOutput<Value = O::Value, Error = O::Error>,
    {
        let Ok(input) = self.window.start(id, self.now()) else {
            // Only this worker holds the popped id, so start cannot be refused; if it
            // ever were, the operation is not ours to settle.
            return None;
        };
        let control = &*self.control;
        let context = OpContext::new(id, self.control.clone());
        let cancel = Cancel {
            flag: &control.cancelled,
            waker: &control.running[worker],
        };
        // The body is called inside the guarded future, so a body that panics before
        // returning its future is recorded as a fault like any other panic.
        let guarded = Guarded::new(async { body(input, context).await }, Some(cancel));
        let (state, outcome, value) = guarded.await.settle();
        // We started it, so finishing cannot be refused.
        let _ = self
            .window
            .finish(id, state, O::record(outcome, value), self.now());
        Some(state)
    }

    /// Counts a terminal operation, reports it, and wakes whoever waits on room or idleness.
    fn settle(&self, id: OperationId, state: State) {
        let control = &*self.control;
        control.count(match state {
            State::Completed => COMPLETED,
            State::Cancelled => CANCELLED,
            _ => FAILED,
        });
        if let Some(report) = &self.on_finalized {
            self.window
                .inspect(id, self.now(), |snapshot| report(&snapshot.map(O::outcome)));
        }
        if let Some(finished) = &self.finished {
            finished[id.index() as usize].notify(usize::MAX);
        }
        self.intake.settle();
    }

    /// Cancels a taken item before its body starts; `Cancelled` unless it was not ours.
    fn cancel_pending(&self, id: OperationId, cause: CancelCause) -> Option<State> {
        let cancelled = O::record(Outcome::Cancelled(cause), None);
        self.window
            .cancel(id, cancelled, self.now())
            .ok()
            .map(|_| State::Cancelled)
    }

    /// Notified when operation `id`'s slot becomes terminal (see `Core::new`).
    pub(crate) fn finished(&self, id: OperationId) -> Option<&Wakeup> {
        self.finished.as_ref()?.get(id.index() as usize)
    }

    pub(crate) fn try_enqueue(&self, item: T, key: S::Key) -> Result<OperationId, EnqueueError<T>> {
        self.offer(item, key).map_err(|(refused, _)| refused)
    }

    /// `try_enqueue`, also saying what a `Full` ran out of, so `enqueue` waits on the
    /// right wake-up. A refused key is dropped (it is the caller's to compute again).
    fn offer(&self, item: T, key: S::Key) -> Result<OperationId, (EnqueueError<T>, Shortage)> {
        if self.intake.is_closed() {
            return Err((EnqueueError::Closed(item), Shortage::Queue));
        }
        if self.intake.is_full() {
            return Err((EnqueueError::Full(item), Shortage::Queue));
        }
        let id = match self.window.insert_keyed(item, key, self.now()) {
            Ok(id) => id,
            // Slots run short only while snapshot readers hold evicted slots a moment.
            Err((item, _)) => return Err((EnqueueError::Full(item), Shortage::Slots)),
        };
        let pushed = self.intake.push_with(|queue| {
            if S::READS_KEY {
                // The operation is pending and only we know its id, so it is tracked.
                self.window
                    .with_key(id, |key| queue.push(id, Some(key)))
                    .unwrap_or(Err(PushError::Closed(id)))
            } else {
                queue.push(id, None)
            }
        });
        match pushed {
            Ok(()) => {
                self.control.count(ENQUEUED);
                Ok(id)
            }
            Err(refused) => {
                // Lost a race for the last place, or with `complete`: take the item back
                // out of the window without recording an operation.
                let Some(item) = self.window.withdraw(id) else {
                    unreachable!("an id that was never pushed is still pending")
                };
                Err(match refused {
                    PushError::Full(_) => (EnqueueError::Full(item), Shortage::Queue),
                    PushError::Closed(_) => (EnqueueError::Closed(item), Shortage::Queue),
                })
            }
        }
    }

    /// Accepts `item`, waiting while full; `key` computes its key for each attempt.
    pub(crate) async fn enqueue(
        &self,
        mut item: T,
        key: impl Fn(&T) -> S::Key,
    ) -> Result<OperationId, EnqueueError<T>> {
        let mut short = Shortage::Queue;
        loop {
            // Retry while full of the same thing, waking on whatever frees that thing.
            let wakeup = match short {
                Shortage::Queue => self.intake.room(),
                Shortage::Slots => self.window.freed(),
            };
            let mut pending = Some(item);
            let outcome = wakeup
                .until(|| {
                    match pending.take().map(|item| {
                        let k = key(&item);
                        self.offer(item, k)
                    })? {
                        Err((EnqueueError::Full(back), again)) if again == short => {
                            pending = Some(back);
                            None
                        }
                        other => Some(other),
                    }
                })
                .await;
            match outcome {
                Err((EnqueueError::Full(back), other)) => (item, short) = (back, other),
                done => return done.map_err(|(refused, _)| refused),
            }
        }
    }

    pub(crate) fn complete(&self) {
        self.intake.close();
    }

    pub(crate) fn cancel(&self) {
        self.complete();
        let control = &*self.control;
        if control.cancelled.swap(true, Ordering::AcqRel) {
            return;
        }
        control.cancel.notify(usize::MAX);
        control.gate.open_all();
        self.intake.wake_workers();
        for waker in control.running.iter() {
            waker.wake();
        }
        while let Some(taken) = self.intake.take() {
            let id = S::id(&taken);
            let state = self.cancel_pending(id, CancelCause::Coordinator);
            if self.intake.queue().done(taken) {
                self.intake.wake_one();
            }
            if let Some(state) = state {
                self.settle(id, state);
            }
        }
        control.signals.close();
    }

    /// Waits until every accepted item is terminal and the async signal handlers have
    /// handled what those items raised.
    pub(crate) async fn drain(&self) {
        self.intake.drain().await;
        self.control.signals.handled().await;
    }

    /// Keeps `drain` waiting until the returned guard is dropped (a feeder still running).
    pub(crate) fn hold(core: &Arc<Self>) -> Hold<T, R, S, O> {
        core.intake.hold();
        Hold(core.clone())
    }

    pub(crate) fn pause(&self) {
        self.intake.pause();
    }

    pub(crate) fn resume(&self) {
        self.intake.resume();
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.intake.is_paused()
    }

    pub(crate) fn is_completed(&self) -> bool {
        self.intake.is_closed()
    }

    pub(crate) fn set_max_concurrency(&self, n: usize) -> Result<(), ConcurrencyError> {
        if n == 0 {
            return Err(ConcurrencyError::Zero);
        }
        if n > self.ceiling {
            return Err(ConcurrencyError::AboveCeiling {
                requested: n,
                ceiling: self.ceiling,
            });
        }
        // n <= ceiling, which validation keeps within u32.
        self.control.gate.set_limit(n as u32);
        Ok(())
    }

    pub(crate) fn max_concurrency(&self) -> usize {
        self.control.gate.limit()
    }

    pub(crate) fn active_count(&self) -> usize {
        self.control.gate.running()
    }

    pub(crate) fn deferred_count(&self) -> usize {
        self.control.signals.deferring() + self.intake.queue().held()
    }

    /// The queue, for what only one kind of queue answers.
    pub(crate) fn queue(&self) -> &S {
        self.intake.queue()
    }

    pub(crate) fn pending_count(&self) -> usize {
        self.intake.in_flight().saturating_sub(self.active_count())
    }

    pub(crate) fn totals(&self) -> Totals {
        let c = &*self.control;
        Totals {
            enqueued: c.total(ENQUEUED),
            completed: c.total(COMPLETED),
            failed: c.total(FAILED),
            cancelled: c.total(CANCELLED),
            deferred: c.signals.deferred() + self.intake.queue().released(),
            dropped_signals: c.signals.dropped(),
        }
    }

    /// Calls `f` with each tracked operation's key and snapshot, without allocating.
    pub(crate) fn visit_keyed(
        &self,
        mut f: impl FnMut(Option<&S::Key>, Snapshot<&Outcome<O::Error>>),
    ) {
        self.window
            .visit_keyed(self.now(), |key, s| f(key, s.map(O::outcome)));
    }

    /// Calls `f` with each tracked operation's snapshot, without allocating.
    pub(crate) fn visit(&self, mut f: impl FnMut(Snapshot<&Outcome<O::Error>>)) {
        self.visit_keyed(|_, s| f(s));
    }

    /// Owned snapshots of the tracked operations `keep` accepts, in visit order.
    pub(crate) fn collect(
        &self,
        keep: impl Fn(Option<&S::Key>, &Snapshot<&Outcome<O::Error>>) -> bool,
    ) -> Vec<Snapshot<Outcome<O::Error>>>
    where
        O::Error: Clone,
    {
        let mut out = Vec::new();
        self.visit_keyed(|key, s| {
            if keep(key, &s) {
                out.push(s.map(Clone::clone));
            }
        });
        out
    }

    /// Calls `f` with each tracked operation's snapshot and full record.
    pub(crate) fn visit_records(&self, f: impl FnMut(Snapshot<&O>)) {
        self.window.visit(self.now(), f);
    }

    /// `f` of operation `id`'s snapshot and full record, or `None` once it has left.
    pub(crate) fn read<X>(&self, id: OperationId, f: impl FnOnce(Snapshot<&O>) -> X) -> Option<X> {
        let mut out = None;
        self.window.inspect(id, self.now(), |s| out = Some(f(s)));
        out
    }

    /// One operation's snapshot, or `None` once it has left the window.
    pub(crate) fn get(&self, id: OperationId) -> Option<Snapshot<Outcome<O::Error>>>
    where
        O::Error: Clone,
    {
        self.read(id, |s| s.map(|o| o.outcome().clone()))
    }

    pub(crate) fn pin(&self, id: OperationId) -> Result<(), WindowError> {
        self.window.pin(id)
    }

    pub(crate) fn unpin(&self, id: OperationId) -> Result<(), WindowError> {
        self.window.unpin(id)
    }

    pub(crate) fn evict(&self, id: OperationId) -> Result<(), WindowError> {
        self.window.evict(id)
    }

    /// Whether an operation in the window raised `name` and has not retracted it.
    pub(crate) fn has_signal(&self, name: &str) -> bool {
        self.count_signals(name) > 0
    }

    /// How many operations in the window raised `name` and have not retracted it.
    pub(crate) fn count_signals(&self, name: &str) -> usize {
        let Some(signal) = self.control.signals.sink().table().lookup(name) else {
            return 0;
        };
        let mut n = 0;
        self.window.visit(self.now(), |s| {
            n += usize::from(s.signals.contains(&signal))
        });
        n
    }

    /// Each signal raised by an operation in the window that matches `patterns`, with
    /// the operation, in window order.
    pub(crate) fn signals_matching(&self, patterns: &str) -> Vec<(OperationId, Signal)> {
        let patterns = crate::signal::PatternSet::parse(patterns);
        let sink = self.control.signals.sink();
        let mut found = Vec::new();
        self.window.visit(self.now(), |s| {
            for signal in s.signals.iter() {
                if sink.name(*signal).is_some_and(|n| patterns.matches(n)) {
                    found.push((s.id, *signal));
                }
            }
        });
        found
    }
}

/// Why [`set_max_concurrency`](crate::WorkCoordinator::set_max_concurrency) was refused.
///
/// ```
/// use ephemeral::ConcurrencyError;
///
/// let err = ConcurrencyError::AboveCeiling { requested: 9, ceiling: 8 };
/// assert_eq!(err.to_string(), "max concurrency 9 is above the ceiling of 8 set at construction");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConcurrencyError {
    /// Zero would stop all work; use `pause` for that.
    Zero,
    /// Workers are spawned once, up to `Options::concurrency_ceiling`.
    AboveCeiling {
        /// The value asked for.
        requested: usize,
        /// The ceiling.
        ceiling: usize,
    },
}

impl core::fmt::Display for ConcurrencyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Zero => {
                f.write_str("max concurrency must be at least 1 (use pause to stop starts)")
            }
            Self::AboveCeiling { requested, ceiling } => write!(
                f,
                "max concurrency {requested} is above the ceiling of {ceiling} set at construction"
            ),
        }
    }
}

impl core::error::Error for ConcurrencyError {}
