//! What each worker does: hold a permit, take the next item, pass it through admission,
//! run its body inline and record how it ended; and the guards that settle what a
//! dropped worker held.

use super::*;
use admission::Gate;
use core::cell::Cell;

/// How a settled operation ended, and what the completions queue reports of it (noted
/// while the window finished it, if a queue is kept).
pub(super) type Ended = (State, Option<Finished>);

/// Counts one worker future alive; the last one dropped while work remains (its
/// executor shut down) stops the coordinator so nothing waits for it. Its bounds are
/// those of [`Core::stop`], which its `Drop` calls.
pub(super) struct Live<T, R, S, O, K>(pub(super) Arc<Core<T, R, S, O, K>>)
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
        let noted = Cell::new(None);
        let state = if self.started {
            core.window
                .finish_reporting(
                    self.id,
                    State::Cancelled,
                    cancelled,
                    now,
                    core.reporter(&noted),
                )
                .is_ok()
        } else {
            match core
                .window
                .cancel_reporting(self.id, cancelled, now, core.reporter(&noted))
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
            state.then(|| (State::Cancelled, noted.get())),
        );
    }
}

impl<T, R, S, O, K> Core<T, R, S, O, K>
where
    R: Timer,
    S: Schedule<Key = K>,
    O: Record,
{
    pub(super) async fn work<B, Fut>(&self, worker: usize, body: &B)
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
            let Some((taken, gated)) = self.queue_gate(taken) else {
                // Held by its queue (its key is deferred): it waits there, not here.
                continue;
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
                let cancels =
                    || gated.or_else(|| taken.and_then(|taken| self.intake.queue().cancels(taken)));
                self.admit(&mut permit, stopped, cancels).await
            };
            match admitted {
                Ok(()) => self.run(&mut holding, body).await,
                Err(cause) => self.cancel_taken(&mut holding, cause),
            }
        }
    }

    /// Passes a taken item through its queue's own gate ([`Schedule::gate`]): the item
    /// and the signal cancelling it, if one does, or `None` when the queue took it back
    /// to hold. A panic in the gate is contained and counted, and the item goes on.
    fn queue_gate(&self, mut taken: S::Taken) -> Option<(S::Taken, Option<Signal>)> {
        let queue = self.intake.queue();
        if !queue.gates() {
            return Some((taken, None));
        }
        loop {
            let gate = self
                .window
                .with_key(S::id(&taken), |key| {
                    self.control.contain(|| queue.gate(&taken, key))
                })
                .flatten();
            match gate {
                Some(Gate::Defer(signal)) => match queue.hold(taken, signal) {
                    Ok(()) => return None,
                    // The signal went meanwhile: ask again.
                    Err(back) => taken = back,
                },
                Some(Gate::Cancel(signal)) => return Some((taken, Some(signal))),
                Some(Gate::Run) | None => return Some((taken, None)),
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
        if !self.intake.queue().holds() {
            return self.intake.next_when(stopped, may_take).await;
        }
        let changed = self.control.signals.sink().changed();
        loop {
            let taken = async { Some(self.intake.next_or_when(stopped, may_take, changed).await) };
            let due = async {
                self.intake.queue().release_due(&self.rt).await;
                // What was released may be more than this worker takes.
                self.intake.wake_workers();
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
        let seat = &control.seats[worker];
        seat.running.store(id.raw(), Ordering::Release);
        let Ok(input) = self.window.start(id, self.now()) else {
            // `cancel_operation` claimed it first and settled it: only the queue's
            // ticket is left to retire.
            control.seat(worker, SETTLING);
            self.retire(worker, holding.taken.take(), id, None);
            return;
        };
        holding.started = true;
        let context = OpContext::new(id, self.control.clone());
        let cancel = Cancel {
            flag: &control.cancelled,
            waker: &seat.waker,
            abort: &seat.abort,
            id: id.raw(),
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
        let noted = Cell::new(None);
        let finished = self.window.finish_reporting(
            id,
            state,
            O::record(outcome, value),
            self.now(),
            self.reporter(&noted),
        );
        self.retire(
            worker,
            holding.taken.take(),
            id,
            finished.is_ok().then(|| (state, noted.get())),
        );
    }

    /// Cancels a taken item before its body starts.
    fn cancel_taken(&self, holding: &mut Holding<'_, T, R, S, O, K>, cause: CancelCause) {
        let (worker, id) = (holding.worker, holding.id);
        self.control.seat(worker, SETTLING);
        let state = self.cancel_pending(id, cause);
        self.retire(worker, holding.taken.take(), id, state);
    }

    /// Cancels a pending operation (taken from the queue, or asked for by
    /// `cancel_operation`); `Cancelled` unless another canceller claimed it first. Its
    /// input is dropped here (contained). With it comes what the completions queue
    /// reports of it, if one is kept.
    pub(super) fn cancel_pending(&self, id: OperationId, cause: CancelCause) -> Option<Ended> {
        let cancelled = O::record(Outcome::Cancelled(cause), None);
        let noted = Cell::new(None);
        let input = self
            .window
            .cancel_reporting(id, cancelled, self.now(), self.reporter(&noted))
            .ok()?;
        self.control.contain(move || drop(input));
        Some((State::Cancelled, noted.get()))
    }

    /// What reports a finished operation to `on_finalized` (contained), if there is one;
    /// without it the window makes no snapshot.
    /// It also hands the operation to the keeper, if any, before it is published, and
    /// notes what the completions queue reports of it in `noted`, for `settle`.
    fn reporter<'a>(
        &'a self,
        noted: &'a Cell<Option<Finished>>,
    ) -> Option<impl FnOnce(Option<&K>, Snapshot<&O>) + 'a> {
        if self.on_finalized.is_none() && self.keeper.is_none() && self.completions.is_none() {
            return None;
        }
        Some(move |_: Option<&K>, snapshot: Snapshot<&O>| {
            if self.completions.is_some() {
                noted.set(Some(Finished::of(&snapshot)));
            }
            let snapshot = match (&self.on_finalized, &self.keeper) {
                (Some(report), None) => {
                    self.control.contain(|| report(snapshot));
                    return;
                }
                (Some(report), Some(_)) => {
                    let copy = snapshot.clone();
                    self.control.contain(|| report(copy));
                    snapshot
                }
                (None, _) => snapshot,
            };
            if let Some(keeper) = &self.keeper {
                keeper.keep(snapshot, &self.control);
            }
        })
    }

    /// After a taken item's operation is terminal (`ended`, or `None` if
    /// `cancel_operation` claimed it first, which settled it): tells the queue (the
    /// key's next item may start), counts it, wakes whoever waits on it or on idleness,
    /// and frees the worker's seat.
    fn retire(
        &self,
        worker: usize,
        taken: Option<S::Taken>,
        id: OperationId,
        ended: Option<Ended>,
    ) {
        if let Some(taken) = taken {
            self.done(taken);
        }
        if let Some(ended) = ended {
            self.settle(id, ended);
        }
        self.control.seat(worker, IDLE);
    }

    /// Tells the queue a taken item is terminal; wakes a worker if that made another
    /// takeable. The queue may drop a key here: contained.
    pub(super) fn done(&self, taken: S::Taken) {
        if self.control.contain(|| self.intake.queue().done(taken)) == Some(true) {
            self.intake.wake_one();
        }
    }

    /// Counts a terminal operation, reports it to the completions queue if one is kept
    /// (after the window shows it terminal, so `with` lends its end, and before it is
    /// counted settled, so the stream cannot end before it) and wakes whoever waits on
    /// it or on idleness.
    pub(super) fn settle(&self, id: OperationId, (state, noted): Ended) {
        self.control.count(match state {
            State::Completed => COMPLETED,
            State::Cancelled => CANCELLED,
            _ => FAILED,
        });
        if let Some(keeper) = &self.keeper {
            keeper.published(id);
        }
        if let Some(ending) = self.finished.get(id.index() as usize) {
            ending.ended(id, state);
        }
        if let (Some(completions), Some(finished)) = (&self.completions, noted) {
            completions.push(finished);
        }
        self.intake.settle();
    }
}
