//! The machinery every coordinator shares, written once: intake, permits, workers,
//! lifecycle, counters and the finalisation callback.
//!
//! An item's path: `try_enqueue` writes it into a free window slot (`Pending`) and
//! pushes the slot's id onto the [`Intake`], which wakes one worker. A worker holds a
//! concurrency permit *before* it takes an item (and keeps it across items), so items
//! start in the order they are taken whatever the limit: a worker without a permit
//! takes nothing, and one holding a permit takes nothing while the permits says it may not
//! (over a lowered limit, or while a worker holding an item waits for a permit: that
//! one goes first). It passes the item through the signal permits (a deferred item gives
//! its permit back while it waits, and waits first for one afterwards), checks the
//! limit and `pause` once more, starts the operation, runs the body future inline (no
//! task per item), and records the outcome, which places the operation in the window.
//! No step allocates; waits use stack listeners.
//!
//! Coordinators differ only in their queue (a [`Schedule`]: FIFO, keyed, lanes) and in
//! what they record (a [`Record`]: the outcome, or the outcome and a value); the core is
//! generic over both.
//!
//! # User code on the workers
//!
//! Bodies run inside [`Guarded`] (a panic is a fault). Everything else a user supplies
//! that runs on a worker or in a drop path (`on_finalized`, the `Drop` of items, keys,
//! values and errors, a key's `Clone`/`Hash`) runs inside [`contain`]: a panic there is
//! caught under `std`, counted in [`Totals::contained_panics`], and the worker goes on
//! with every count and wake-up it owes. A worker future that is dropped (its executor
//! shut down) settles the item it held as `Cancelled` with [`CancelCause::Stopped`];
//! the last one to go cancels what is still queued the same way, so `drain` and
//! `wait_for_result` never wait for workers that are gone.
//!
//! # Counts
//!
//! Each worker has a seat, a cache-line-aligned word only it writes: idle (or holding
//! an item that has not started), active (its body runs) or settling (its operation is
//! being finished). `active_count` counts active seats; `pending_count` is the items in
//! flight minus the seats that are active or settling (and minus items `cancel` is
//! settling). A worker moves its seat *before* the window shows the operation's new
//! state, so a caller who saw an operation finish never counts it as pending or active.

pub(crate) mod admission;
pub(crate) mod api;
pub(crate) mod builder;
mod control;
pub(crate) mod dispatch;
pub(crate) mod guard;
pub(crate) mod intake;
pub(crate) mod permits;
pub(crate) mod schedule;

pub(crate) use control::Control;
pub use control::Totals;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::Future;
use core::time::Duration;

use concurrent_queue::PushError;
use futures_lite::future::or;

use admission::{Admission, OnSignal, Signals};
use control::{ACTIVE, CANCELLED, COMPLETED, ENQUEUED, FAILED, IDLE, SETTLING};
use dispatch::Dispatch;
use guard::{Cancel, Guarded, in_scope};
use intake::{Intake, Next};
use permits::Permits;
use schedule::Schedule;

use super::outcome::Record;
use super::{BodyOutput, CancelCause, ConcurrencyError, EnqueueError, OpContext, Outcome};
use crate::operation::{OperationId, State};
use crate::options::{Options, OptionsError};
use crate::runtime::{Spawner, Timer};
use crate::signal::{Signal, SignalEvent, Subscription};
use crate::sync::{Arc, Ordering};
use crate::wakeup::Wakeup;
use crate::window::{Snapshot, Window, WindowError};

/// A coordinator's handle on its core, made by [`Core::start`]: dropping it cancels the
/// core (IMPLEMENTATION.md, C7), so no coordinator needs a `Drop` of its own. The
/// cancel is a function chosen by `start`, so this type (and the coordinators holding
/// it) need no bounds.
pub(crate) struct Owner<C> {
    core: Arc<C>,
    stop: fn(&C),
}

impl<C> core::ops::Deref for Owner<C> {
    type Target = Arc<C>;
    fn deref(&self) -> &Arc<C> {
        &self.core
    }
}

impl<C> Drop for Owner<C> {
    fn drop(&mut self) {
        (self.stop)(&self.core);
    }
}

/// Keeps `drain` waiting while alive; see [`Core::hold`]. Dereferences to the core.
pub(crate) struct Hold<T, R, S, O, K>(Arc<Core<T, R, S, O, K>>);

impl<T, R, S, O, K> core::ops::Deref for Hold<T, R, S, O, K> {
    type Target = Core<T, R, S, O, K>;
    fn deref(&self) -> &Core<T, R, S, O, K> {
        &self.0
    }
}

impl<T, R, S, O, K> Drop for Hold<T, R, S, O, K> {
    fn drop(&mut self) {
        self.0.intake.release();
    }
}

/// Counts one worker future alive; the last one dropped while work remains (its
/// executor shut down) stops the coordinator so nothing waits for it. Its bounds are
/// those of [`Core::stop`], which its `Drop` calls.
struct Live<T, R, S, O, K>(Arc<Core<T, R, S, O, K>>)
where
    R: Timer,
    S: Schedule<Key = K>,
    O: Record;

impl<T, R, S, O, K> Drop for Live<T, R, S, O, K>
where
    R: Timer,
    S: Schedule<Key = K>,
    O: Record,
{
    fn drop(&mut self) {
        let core = &self.0;
        let last = core.control.live.fetch_sub(1, Ordering::AcqRel) == 1;
        // Workers also end normally, once the coordinator is complete and empty.
        if last && (!core.intake.is_closed() || core.intake.in_flight() > 0) {
            core.stop(CancelCause::Stopped);
        }
    }
}

/// A concurrency permit a worker holds across items; given back when dropped.
struct Permit<'a> {
    permits: &'a Permits,
    held: bool,
}

impl Permit<'_> {
    /// Holds a permit, waiting for one; `false` once `stopped()` holds.
    async fn take(&mut self, stopped: impl Fn() -> bool) -> bool {
        if !self.held {
            self.held = self.permits.acquire(stopped).await;
        }
        self.held
    }

    /// [`take`](Self::take) for a worker that holds an item: ahead of those that do not,
    /// which `yielding` wakes so that idle holders give their permits back.
    async fn take_first(&mut self, stopped: impl Fn() -> bool, yielding: impl FnOnce()) -> bool {
        if !self.held {
            self.held = self.permits.acquire_first(stopped, yielding).await;
        }
        self.held
    }

    fn give_back(&mut self) {
        if core::mem::take(&mut self.held) {
            self.permits.release();
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.give_back();
    }
}

/// An item a worker has taken and not yet settled. If the worker future is dropped (or
/// unwinds) while holding it, the drop settles it as stopped; its bounds are what that
/// needs (a cancelled record, the clock, and the queue told the item is done).
struct Holding<'a, T, R, S, O, K>
where
    R: Timer,
    S: Schedule<Key = K>,
    O: Record,
{
    core: &'a Core<T, R, S, O, K>,
    worker: usize,
    id: OperationId,
    taken: Option<S::Taken>,
    /// Its body started (the operation is running).
    started: bool,
}

impl<T, R, S, O, K> Drop for Holding<'_, T, R, S, O, K>
where
    R: Timer,
    S: Schedule<Key = K>,
    O: Record,
{
    fn drop(&mut self) {
        if self.taken.is_none() {
            return;
        }
        let core = self.core;
        let cancelled = O::record(Outcome::Cancelled(CancelCause::Stopped), None);
        core.control.seat(self.worker, SETTLING);
        let now = core.now();
        let state = if self.started {
            core.window
                .finish_reporting(self.id, State::Cancelled, cancelled, now, core.reporter())
                .is_ok()
        } else {
            match core
                .window
                .cancel_reporting(self.id, cancelled, now, core.reporter())
            {
                Ok(input) => {
                    core.control.contain(move || drop(input));
                    true
                }
                Err(_) => false,
            }
        };
        core.retire(
            self.worker,
            self.taken.take(),
            self.id,
            state.then_some(State::Cancelled),
        );
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

/// Called with each operation's snapshot as it becomes terminal.
pub(crate) type Finalized<E> = Box<dyn Fn(&Snapshot<&Outcome<E>>) + Send + Sync>;

/// [`Finalized`] as the core calls it: with the snapshot of the full record `O`.
type Report<O> = Box<dyn Fn(Snapshot<&O>) + Send + Sync>;

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
/// the queue `S`, finished operations recorded as `O` and filed under keys `K` (`S`'s
/// key: `()` for a plain FIFO). The struct takes no bounds; its `impl` blocks state
/// what they need.
pub(crate) struct Core<T, R, S, O, K = ()> {
    pub(crate) control: Arc<Control>,
    pub(crate) window: Window<T, O, K>,
    /// Shared with the `drain_on` listener, which closes it.
    intake: Arc<Intake<S>>,
    pub(crate) rt: R,
    ceiling: usize,
    on_finalized: Option<Report<O>>,
    /// One per slot, notified when that slot's operation becomes terminal; only for
    /// coordinators whose callers wait on single operations (results).
    finished: Option<Box<[Wakeup]>>,
    /// Keeps the `drain_on` listener subscribed while the coordinator lives.
    _drain_on: Option<Subscription>,
}

impl<T, R, S, O, K> Core<T, R, S, O, K>
where
    T: Send + 'static,
    R: Spawner + Timer,
    S: Schedule<Key = K>,
    O: Record,
    // `S::Key`'s own bounds, which the compiler does not carry over to `K` here.
    K: Send + Sync + 'static,
{
    /// Builds a core (see [`new`](Self::new)) and spawns one worker per unit of the
    /// concurrency ceiling running `body`; the permits decides how many run bodies at once.
    pub(crate) fn start<B, Fut>(
        rt: R,
        options: &Options,
        hooks: Hooks<O::Error>,
        queue: S,
        per_operation_wakeups: bool,
        body: B,
    ) -> Result<Owner<Self>, OptionsError>
    where
        B: Fn(T, OpContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send,
        Fut::Output: BodyOutput<Value = O::Value, Error = O::Error>,
        S::Taken: Send + Sync,
    {
        let core = Arc::new(Self::new(rt, options, hooks, queue, per_operation_wakeups)?);
        let body = Arc::new(body);
        for worker in 0..core.ceiling {
            // Made outside the future, so it is counted down even if the future is
            // dropped before its first poll.
            let live = Live(core.clone());
            let body = body.clone();
            core.rt.spawn(async move {
                let core = &live.0;
                core.work(worker, &*body).await;
                drop(live);
            });
        }
        Ok(Owner {
            core,
            stop: |core| core.stop(CancelCause::Coordinator),
        })
    }
}

impl<T, R, S, O, K> Core<T, R, S, O, K>
where
    R: Timer,
    S: Schedule<Key = K>,
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
        let on_finalized = hooks.on_finalized.take().map(|report| -> Report<O> {
            Box::new(move |snapshot: Snapshot<&O>| report(&snapshot.map(O::outcome)))
        });
        Ok(Self {
            control: Arc::new(Control::new(options.max_concurrency, ceiling, signals)),
            window,
            intake,
            rt,
            ceiling,
            on_finalized,
            finished,
            _drain_on: drain_on,
        })
    }

    pub(crate) fn now(&self) -> Duration {
        self.rt.now()
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
        let mut permit = Permit {
            permits: &control.permits,
            held: false,
        };
        let may_take = || control.permits.may_take();
        loop {
            if !permit.take(stopped).await {
                return;
            }
            let taken = match self.next(stopped, may_take).await {
                Next::Item(taken) => taken,
                Next::Closed => return,
                Next::Yield => {
                    // Above a lowered limit, or a worker holding an item waits for a
                    // permit: give this one back, and let another idle holder look.
                    permit.give_back();
                    self.intake.wake_one();
                    continue;
                }
            };
            let mut holding = Holding {
                core: self,
                worker,
                id: S::id(&taken),
                taken: Some(taken),
                started: false,
            };
            let admitted = {
                let taken = holding.taken.as_ref();
                let cancels = || taken.and_then(|taken| self.intake.queue().cancels(taken));
                self.admit(&mut permit, stopped, cancels).await
            };
            match admitted {
                Ok(()) => self.run(&mut holding, body).await,
                Err(cause) => self.cancel_taken(&mut holding, cause),
            }
        }
    }

    /// The next ticket, waiting for a push, or (for queues that hold items back) for a
    /// signal change or a held item's release.
    async fn next(
        &self,
        stopped: impl Fn() -> bool + Copy,
        may_take: impl Fn() -> bool + Copy,
    ) -> Next<S::Taken> {
        if !S::HOLDS {
            return self.intake.next_when(stopped, may_take).await;
        }
        let changed = self.control.signals.sink().changed();
        loop {
            let taken = async { Some(self.intake.next_or_when(stopped, may_take, changed).await) };
            let due = async {
                self.intake.queue().release_due(&self.rt).await;
                None
            };
            if let Some(taken) = or(taken, due).await {
                return taken;
            }
        }
    }

    /// Takes a taken item through the signal permits, the concurrency limit and `pause`.
    /// `Ok`: it may start now, and `permit` is held. A deferred item gives its permit
    /// back while it waits; every check is made again after any wait, so a signal raised,
    /// a limit lowered or a pause made meanwhile still holds the item back.
    ///
    /// `cancels` is the queue's own cancel check for this item (a lane's `cancel_on`).
    async fn admit(
        &self,
        permit: &mut Permit<'_>,
        stopped: impl Fn() -> bool + Copy,
        cancels: impl Fn() -> Option<Signal>,
    ) -> Result<(), CancelCause> {
        let control = &*self.control;
        let signals = &control.signals;
        let mut deferral = None;
        loop {
            if stopped() {
                return Err(CancelCause::Coordinator);
            }
            if let Some(signal) = cancels() {
                return Err(CancelCause::Signal(signal));
            }
            match signals.recheck(&self.rt, deferral) {
                Some(Admission::Cancel(signal)) => return Err(CancelCause::Signal(signal)),
                Some(Admission::Run) => {}
                None => {
                    // Deferred: wait without a permit, so others run meanwhile.
                    permit.give_back();
                    let admission =
                        signals.admit(&self.rt, &control.cancel, stopped, &mut deferral);
                    if let Admission::Cancel(signal) = admission.await {
                        return Err(CancelCause::Signal(signal));
                    }
                    continue;
                }
            }
            if !permit.held {
                if !permit
                    .take_first(stopped, || self.intake.wake_workers())
                    .await
                {
                    return Err(CancelCause::Coordinator);
                }
                continue;
            }
            if !control.permits.within_limit() {
                permit.give_back();
                continue;
            }
            if self.intake.is_paused() {
                self.intake.resumed(stopped).await;
                continue;
            }
            if deferral.is_some() {
                signals.count_deferred();
            }
            return Ok(());
        }
    }

    /// Runs a taken item's body and settles its operation.
    async fn run<B, Fut>(&self, holding: &mut Holding<'_, T, R, S, O, K>, body: &B)
    where
        B: Fn(T, OpContext) -> Fut,
        Fut: Future,
        Fut::Output: BodyOutput<Value = O::Value, Error = O::Error>,
    {
        let control = &*self.control;
        let (worker, id) = (holding.worker, holding.id);
        control.seat(worker, ACTIVE);
        let Ok(input) = self.window.start(id, self.now()) else {
            // Only this worker holds the taken id, so start cannot be refused; if it
            // ever were, the operation is not ours to finish.
            control.seat(worker, SETTLING);
            self.retire(worker, holding.taken.take(), id, None);
            return;
        };
        holding.started = true;
        let context = OpContext::new(id, self.control.clone());
        let cancel = Cancel {
            flag: &control.cancelled,
            waker: &control.seats[worker].waker,
        };
        // The body is called inside the guarded future, so a body that panics before
        // returning its future is recorded as a fault like any other panic.
        let guarded = Guarded::new(
            async { body(input, context).await },
            Some(cancel),
            control.scope(),
        );
        let (state, outcome, value) = guarded.await.settle();
        control.seat(worker, SETTLING);
        // We started it, so finishing cannot be refused.
        let finished = self.window.finish_reporting(
            id,
            state,
            O::record(outcome, value),
            self.now(),
            self.reporter(),
        );
        self.retire(
            worker,
            holding.taken.take(),
            id,
            finished.is_ok().then_some(state),
        );
    }

    /// Cancels a taken item before its body starts.
    fn cancel_taken(&self, holding: &mut Holding<'_, T, R, S, O, K>, cause: CancelCause) {
        let (worker, id) = (holding.worker, holding.id);
        self.control.seat(worker, SETTLING);
        let state = self.cancel_pending(id, cause);
        self.retire(worker, holding.taken.take(), id, state);
    }

    /// Cancels a pending operation taken from the queue; `Cancelled` unless it was not
    /// ours. Its input is dropped here (contained).
    fn cancel_pending(&self, id: OperationId, cause: CancelCause) -> Option<State> {
        let cancelled = O::record(Outcome::Cancelled(cause), None);
        let input = self
            .window
            .cancel_reporting(id, cancelled, self.now(), self.reporter())
            .ok()?;
        self.control.contain(move || drop(input));
        Some(State::Cancelled)
    }

    /// What reports a finished operation to `on_finalized` (contained), if there is one;
    /// without it the window makes no snapshot.
    fn reporter(&self) -> Option<impl FnOnce(Option<&K>, Snapshot<&O>) + '_> {
        let report = self.on_finalized.as_ref()?;
        Some(move |_: Option<&K>, snapshot: Snapshot<&O>| {
            self.control.contain(|| report(snapshot));
        })
    }

    /// After a taken item's operation is terminal (`state`, or `None` if it was not
    /// ours): tells the queue (the key's next item may start), counts it, wakes whoever
    /// waits on it or on idleness, and frees the worker's seat.
    fn retire(
        &self,
        worker: usize,
        taken: Option<S::Taken>,
        id: OperationId,
        state: Option<State>,
    ) {
        if let Some(taken) = taken {
            self.done(taken);
        }
        if let Some(state) = state {
            self.settle(id, state);
        } else {
            self.intake.settle();
        }
        self.control.seat(worker, IDLE);
    }

    /// Tells the queue a taken item is terminal; wakes a worker if that made another
    /// takeable. The queue may drop a key here: contained.
    fn done(&self, taken: S::Taken) {
        if self.control.contain(|| self.intake.queue().done(taken)) == Some(true) {
            self.intake.wake_one();
        }
    }

    /// Counts a terminal operation and wakes whoever waits on it or on idleness.
    fn settle(&self, id: OperationId, state: State) {
        self.control.count(match state {
            State::Completed => COMPLETED,
            State::Cancelled => CANCELLED,
            _ => FAILED,
        });
        if let Some(finished) = &self.finished {
            finished[id.index() as usize].notify(usize::MAX);
        }
        self.intake.settle();
    }

    /// Notified when operation `id`'s slot becomes terminal (see `Core::new`).
    pub(crate) fn finished(&self, id: OperationId) -> Option<&Wakeup> {
        self.finished.as_ref()?.get(id.index() as usize)
    }

    /// Whether the caller is one of this coordinator's own bodies (under `std`), which
    /// must not wait for what only the coordinator's workers can bring about.
    pub(crate) fn called_from_body(&self) -> bool {
        in_scope(self.control.scope())
    }

    pub(crate) fn try_enqueue(&self, item: T, key: K) -> Result<OperationId, EnqueueError<T>> {
        self.offer(item, key, true).map_err(|(refused, _)| refused)
    }

    /// `try_enqueue`, also saying what a `Full` ran out of, so `enqueue` waits on the
    /// right wake-up. A `newcomer` (not yet refused once) leaves the room there is to
    /// enqueuers already waiting for it. A refused key is dropped (it is the caller's to
    /// compute again).
    fn offer(
        &self,
        item: T,
        key: K,
        newcomer: bool,
    ) -> Result<OperationId, (EnqueueError<T>, Shortage)> {
        let refused = if self.intake.is_closed() {
            Some(EnqueueError::Closed as fn(T) -> EnqueueError<T>)
        } else if self.intake.is_full() || (newcomer && !self.room_for_newcomer(&key)) {
            Some(EnqueueError::Full as fn(T) -> EnqueueError<T>)
        } else {
            None
        };
        if let Some(refuse) = refused {
            // Dropped before the answer is built: a key whose `Drop` panics then unwinds
            // past `item` while it is still a local, which drops it (a value already
            // moved into a return value would leak instead).
            drop(key);
            return Err((refuse(item), Shortage::Queue));
        }
        let id = match self.window.insert_keyed(item, key, self.now()) {
            Ok(id) => id,
            // Slots run short only while snapshot readers hold evicted slots a moment.
            Err((item, key)) => {
                drop(key);
                return Err((EnqueueError::Full(item), Shortage::Slots));
            }
        };
        // Counted before it is queued, so no reader sees it finished before enqueued.
        self.control.count(ENQUEUED);
        // Queuing runs user code (a key's `Hash`, `Eq`, `Clone`): if it unwinds, the
        // item leaves the window again and is not counted.
        let undo = Withdraw { core: self, id };
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
        core::mem::forget(undo);
        match pushed {
            Ok(()) => Ok(id),
            Err(refused) => {
                // Lost a race for the last place, or with `complete`: take the item back
                // out of the window without recording an operation.
                let item = self.withdraw(id);
                Err(match refused {
                    PushError::Full(_) => (EnqueueError::Full(item), Shortage::Queue),
                    PushError::Closed(_) => (EnqueueError::Closed(item), Shortage::Queue),
                })
            }
        }
    }

    /// Whether an enqueuer not yet refused may take a place for `key`: only while there
    /// is more room than enqueuers already waiting for it.
    fn room_for_newcomer(&self, key: &K) -> bool {
        let waiting = self.intake.room().waiters();
        waiting == 0 || self.intake.queue().free_for(key) > waiting
    }

    /// Accepts `item`, waiting while full; `key` computes its key for each attempt.
    /// From one of this coordinator's own bodies a wait is refused instead
    /// ([`EnqueueError::WouldDeadlock`]): only its workers make room.
    /// Enqueues every item in turn, waiting while full; how many were accepted, or the
    /// first refused item (those before it were accepted).
    pub(crate) async fn enqueue_many(
        &self,
        items: impl IntoIterator<Item = T>,
        key: impl Fn(&T) -> K,
    ) -> Result<usize, EnqueueError<T>> {
        let mut accepted = 0;
        for item in items {
            self.enqueue(item, &key).await?;
            accepted += 1;
        }
        Ok(accepted)
    }

    pub(crate) async fn enqueue(
        &self,
        item: T,
        key: impl Fn(&T) -> K,
    ) -> Result<OperationId, EnqueueError<T>> {
        let first = key(&item);
        let (mut item, mut short) = match self.offer(item, first, true) {
            Err((EnqueueError::Full(back), short)) => (back, short),
            done => return done.map_err(|(refused, _)| refused),
        };
        if self.called_from_body() {
            return Err(EnqueueError::WouldDeadlock(item));
        }
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
                        self.offer(item, k, false)
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

    /// Stops accepting items, and wakes every enqueuer waiting for room or a slot so it
    /// sees the coordinator closed.
    pub(crate) fn complete(&self) {
        if self.intake.close() {
            self.window.freed().notify(usize::MAX);
        }
    }

    pub(crate) fn cancel(&self) {
        self.stop(CancelCause::Coordinator);
    }

    /// Closes the coordinator, drops running bodies at their next poll and cancels what
    /// waits, recording `cause` on each: `cancel` and the owner's drop (`Coordinator`),
    /// or the last worker future dropped while work remained (`Stopped`).
    fn stop(&self, cause: CancelCause) {
        self.complete();
        let control = &*self.control;
        if control.cancelled.swap(true, Ordering::AcqRel) {
            return;
        }
        control.cancel.notify(usize::MAX);
        control.permits.open_all();
        self.intake.wake_workers();
        for seat in control.seats.iter() {
            seat.waker.wake();
        }
        while let Some(taken) = self.intake.take() {
            let id = S::id(&taken);
            control.settling.fetch_add(1, Ordering::AcqRel);
            let state = self.cancel_pending(id, cause);
            self.done(taken);
            match state {
                Some(state) => self.settle(id, state),
                None => self.intake.settle(),
            }
            control.settling.fetch_sub(1, Ordering::AcqRel);
        }
        control.signals.close();
    }

    /// Waits until every accepted item is terminal and the async signal handlers have
    /// handled what those items raised.
    ///
    /// # Panics
    ///
    /// When called from one of this coordinator's own bodies (under `std`): that body is
    /// itself in flight, so the wait could never end. The panic is the body's, so it is
    /// recorded as that operation's fault.
    pub(crate) async fn drain(&self) {
        assert!(
            !self.called_from_body(),
            "drain called from one of the coordinator's own bodies would never return"
        );
        self.intake.drain().await;
        self.control.signals.handled().await;
    }

    /// Resolves once the coordinator is cancelled (or stopped).
    pub(crate) async fn cancelled(&self) {
        let control = &*self.control;
        control
            .cancel
            .until(|| control.is_cancelled().then_some(()))
            .await;
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
        self.control.permits.set_limit(n as u32);
        Ok(())
    }

    pub(crate) fn max_concurrency(&self) -> usize {
        self.control.permits.limit()
    }

    pub(crate) fn active_count(&self) -> usize {
        self.seats_in(|phase| phase == ACTIVE)
    }

    fn seats_in(&self, phase: impl Fn(usize) -> bool) -> usize {
        self.control
            .seats
            .iter()
            .filter(|seat| phase(seat.phase.load(Ordering::Acquire)))
            .count()
    }

    pub(crate) fn deferred_count(&self) -> usize {
        self.control.signals.deferring() + self.intake.queue().held()
    }

    /// The queue, for what only one kind of queue answers.
    pub(crate) fn queue(&self) -> &S {
        self.intake.queue()
    }

    pub(crate) fn pending_count(&self) -> usize {
        // Seats first: a seat that shows an operation's end was moved after its count
        // was settled out of `in_flight` (module docs).
        let started =
            self.seats_in(|phase| phase != IDLE) + self.control.settling.load(Ordering::Acquire);
        self.intake.in_flight().saturating_sub(started)
    }

    pub(crate) fn totals(&self) -> Totals {
        let c = &*self.control;
        // Terminal counts first (see `Control::totals`).
        let (completed, failed, cancelled) =
            (c.total(COMPLETED), c.total(FAILED), c.total(CANCELLED));
        Totals {
            enqueued: c.total(ENQUEUED),
            completed,
            failed,
            cancelled,
            deferred: c.signals.deferred() + self.intake.queue().released(),
            dropped_signals: c.signals.dropped(),
            contained_panics: c.panics.load(Ordering::Relaxed) + self.window.drop_panics(),
        }
    }

    /// Calls `f` with each tracked operation's key and snapshot, without allocating.
    pub(crate) fn visit_keyed(&self, mut f: impl FnMut(Option<&K>, Snapshot<&Outcome<O::Error>>)) {
        self.window
            .visit_keyed(self.now(), |key, s| f(key, s.map(O::outcome)));
    }

    /// Calls `f` with each tracked operation's snapshot, without allocating.
    pub(crate) fn visit(&self, mut f: impl FnMut(Snapshot<&Outcome<O::Error>>)) {
        self.visit_keyed(|_, s| f(s));
    }

    /// Owned snapshots of the tracked operations `keep` accepts: pending and running
    /// ones first, then finished ones oldest first.
    pub(crate) fn collect(
        &self,
        keep: impl Fn(Option<&K>, &Snapshot<&Outcome<O::Error>>) -> bool,
    ) -> Vec<Snapshot<Outcome<O::Error>>>
    where
        O::Error: Clone,
    {
        self.window.collect_sorted(self.now(), |key, s| {
            let s = s.map(O::outcome);
            keep(key, &s).then(|| s.map(Clone::clone))
        })
    }

    /// What `pick` takes from each tracked operation's snapshot and full record, finished
    /// ones oldest first.
    pub(crate) fn collect_records<X>(
        &self,
        mut pick: impl FnMut(Snapshot<&O>) -> Option<X>,
    ) -> Vec<X> {
        self.window.collect_sorted(self.now(), |_, s| pick(s))
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
    /// the operation: pending and running operations first, then finished ones oldest
    /// first.
    pub(crate) fn signals_matching(&self, patterns: &str) -> Vec<(OperationId, Signal)> {
        let patterns = crate::signal::PatternSet::parse(patterns);
        let sink = self.control.signals.sink();
        let found = self.window.collect_sorted(self.now(), |_, s| {
            let hits: heapless::Vec<Signal, { crate::OPERATION_SIGNALS }> = s
                .signals
                .iter()
                .copied()
                .filter(|signal| sink.name(*signal).is_some_and(|n| patterns.matches(n)))
                .collect();
            (!hits.is_empty()).then_some((s.id, hits))
        });
        found
            .into_iter()
            .flat_map(|(id, hits)| hits.into_iter().map(move |signal| (id, signal)))
            .collect()
    }
}

/// What needs no bounds: the drop paths of [`Hold`] and [`Withdraw`].
impl<T, R, S, O, K> Core<T, R, S, O, K> {
    /// Keeps `drain` waiting until the returned guard is dropped (a feeder still running).
    pub(crate) fn hold(core: &Arc<Self>) -> Hold<T, R, S, O, K> {
        core.intake.hold();
        Hold(core.clone())
    }

    /// Takes an item that was never queued back out of the window, uncounted.
    fn withdraw(&self, id: OperationId) -> T {
        self.control.totals[ENQUEUED].fetch_sub(1, Ordering::Relaxed);
        match self.window.withdraw(id) {
            Some(item) => item,
            None => unreachable!("an id that was never queued is still pending"),
        }
    }
}

/// Withdraws an offered item from the window if queuing it unwinds; forgotten otherwise.
struct Withdraw<'a, T, R, S, O, K> {
    core: &'a Core<T, R, S, O, K>,
    id: OperationId,
}

impl<T, R, S, O, K> Drop for Withdraw<'_, T, R, S, O, K> {
    fn drop(&mut self) {
        let item = self.core.withdraw(self.id);
        self.core.control.contain(move || drop(item));
    }
}
