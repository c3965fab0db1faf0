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
mod completions;
mod control;
pub(crate) mod dispatch;
mod enqueue;
mod feed;
pub(crate) mod guard;
pub(crate) mod handle;
mod hooks;
pub(crate) mod intake;
mod keeper;
pub(crate) mod permits;
mod queries;
pub(crate) mod schedule;
mod waits;
mod worker;

pub use completions::{Completion, Finished};
pub(crate) use control::Control;
pub use control::Totals;
#[cfg(feature = "sink")]
pub(crate) use feed::EnqueueSink;
pub(crate) use handle::Owner;
use hooks::{Describe, Report};
pub(crate) use hooks::{Finalized, Hooks};
pub(crate) use keeper::Keeper;
use waits::Ending;
use worker::Live;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::Future;
use core::time::Duration;

use concurrent_queue::PushError;
use futures_lite::future::or;

use admission::{Admission, OnSignal, Signals};
use completions::Completions;
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
use crate::sync::{Arc, Handle, Ordering, WeakHandle};
use crate::wakeup::Wakeup;
use crate::window::{Snapshot, Window, WindowError};

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
    /// Labels items enqueued without a label (the builder's `describe`).
    describe: Option<Describe<T>>,
    /// One per slot, notified when that slot's operation becomes terminal, for callers
    /// waiting on one operation (`wait`, a result). Every kind has them: a wake-up is two
    /// words per slot, and notifying one nobody waits on costs a fence and a load.
    finished: Box<[Ending]>,
    /// Keeps results beside the window (result coordinators only).
    keeper: Option<Box<dyn Keeper<O>>>,
    /// Finished operations in finishing order, if the builder asked for them; boxed, so
    /// a core without them stays one word larger (the queue is cache-padded).
    completions: Option<Box<Completions>>,
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
    /// concurrency ceiling running the body `make` returns; the permits decide how many
    /// run bodies at once. `make` gets a weak handle on the owner being built (with
    /// `parts`), so a body can reach its own coordinator without keeping it alive.
    pub(crate) fn start<X, M, B, Fut>(
        rt: R,
        options: &Options,
        hooks: Hooks<O::Shown, T>,
        queue: S,
        keeper: Option<Box<dyn Keeper<O>>>,
        parts: X,
        make: M,
    ) -> Result<Handle<Owner<Self, X>>, OptionsError>
    where
        M: FnOnce(WeakHandle<Owner<Self, X>>) -> B,
        B: Fn(T, OpContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send,
        Fut::Output: BodyOutput<Value = O::Value, Error = O::Error>,
        S::Taken: Send + Sync,
    {
        let core = Arc::new(Self::new(rt, options, hooks, queue, keeper)?);
        // The weak handle cannot be upgraded until this returns; no body runs before,
        // since nobody can enqueue yet.
        Ok(Handle::new_cyclic(|owner| {
            let body = Arc::new(make(owner.clone()));
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
            Owner {
                core,
                stop: |core| core.stop(CancelCause::Coordinator),
                parts,
            }
        }))
    }
}

impl<T, R, S, O, K> Core<T, R, S, O, K>
where
    R: Timer,
    S: Schedule<Key = K>,
    O: Record,
{
    /// A core ordering items with `queue`, results kept by `keeper` if any.
    fn new(
        rt: R,
        options: &Options,
        mut hooks: Hooks<O::Shown, T>,
        queue: S,
        keeper: Option<Box<dyn Keeper<O>>>,
    ) -> Result<Self, OptionsError> {
        let window = Window::new(options)?;
        let ceiling = options.effective_concurrency_ceiling();
        let signals = Signals::new(
            options,
            window.marks().clone(),
            hooks.on_signal.take(),
            hooks.dispatch.take(),
        );
        let finished = (0..window.capacity()).map(|_| Ending::new()).collect();
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
            describe: hooks.describe.take(),
            finished,
            keeper,
            completions: hooks
                .completions
                .map(|capacity| Box::new(Completions::new(capacity))),
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

    /// Notified when operation `id`'s slot becomes terminal (see `Core::new`).
    pub(crate) fn finished(&self, id: OperationId) -> Option<&Wakeup> {
        self.finished
            .get(id.index() as usize)
            .map(|ending| &ending.wakeup)
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
            let ended = self.cancel_pending(id, cause);
            self.done(taken);
            // `None`: `cancel_operation` claimed it first, and settled it.
            if let Some(ended) = ended {
                self.settle(id, ended);
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
}

/// What needs no bounds: the drop path of [`Hold`].
impl<T, R, S, O, K> Core<T, R, S, O, K> {
    /// Keeps `drain` waiting until the returned guard is dropped (a feeder still running).
    pub(crate) fn hold(core: &Arc<Self>) -> Hold<T, R, S, O, K> {
        core.intake.hold();
        Hold(core.clone())
    }
}
