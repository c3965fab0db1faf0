//! Waiting for one operation or for the end of all work, and cancelling one operation.

use super::*;
use crate::bits::Field;
use crate::coordinator::WaitError;
use crate::sync::AtomicU64;

/// What the last operation to end in one slot leaves behind, for its waiters: a wake-up,
/// and how it ended, so a waiter that looks only after the operation left the window
/// still learns its state (unless the slot has since been reused and ended again).
pub(super) struct Ending {
    pub(super) wakeup: Wakeup,
    /// `GENERATION` of the last operation that ended in the slot, and its `STATE` (0:
    /// none yet). Stored by whoever settles it (Release) before waking the waiters.
    last: AtomicU64,
}

/// `Ending::last`'s fields.
const STATE: Field<u64> = Field::new(0, 8);
const GENERATION: Field<u64> = Field::new(8, 32);

impl Ending {
    pub(super) fn new() -> Self {
        Self {
            wakeup: Wakeup::new(),
            last: AtomicU64::new(0),
        }
    }

    /// Operation `id`, of this slot, ended in `state`: noted, then its waiters woken.
    pub(super) fn ended(&self, id: OperationId, state: State) {
        let code = match state {
            State::Completed => 1,
            State::Faulted => 2,
            _ => 3,
        };
        let last = GENERATION.set(STATE.place(code), u64::from(id.generation()));
        self.last.store(last, Ordering::Release);
        self.wakeup.notify(usize::MAX);
    }

    /// How `id` ended, if it was the last operation to end in this slot.
    fn state_of(&self, id: OperationId) -> Option<State> {
        let last = self.last.load(Ordering::Acquire);
        if GENERATION.get(last) != u64::from(id.generation()) {
            return None;
        }
        match STATE.get(last) {
            1 => Some(State::Completed),
            2 => Some(State::Faulted),
            3 => Some(State::Cancelled),
            _ => None,
        }
    }
}

impl<T, R, S, O, K> Core<T, R, S, O, K>
where
    R: Timer,
    S: Schedule<Key = K>,
    O: Record,
{
    /// Whether the coordinator is closed and every accepted item settled (terminal,
    /// counted, and for results listed).
    pub(crate) fn ended(&self) -> bool {
        self.intake.is_closed() && self.intake.in_flight() == 0
    }

    /// Notified when the last item in flight settles, and when the coordinator closes.
    pub(crate) fn idle(&self) -> &Wakeup {
        self.intake.idle()
    }

    /// Resolves with operation `id`'s terminal state once it has one (at once if it has).
    pub(crate) async fn wait(&self, id: OperationId) -> Result<State, WaitError> {
        let Some(ending) = self
            .finished
            .get(id.index() as usize)
            .filter(|_| self.window.issued(id))
        else {
            return Err(WaitError::Unknown(id));
        };
        let look = || match self.read(id, |s| s.state) {
            Some(state) if state.is_finished() => Some(Ok(state)),
            Some(_) => None,
            // Gone from the window: its slot remembers how it ended, unless reused.
            None => Some(ending.state_of(id).ok_or(WaitError::Unknown(id))),
        };
        if self.called_from_body() {
            return look().unwrap_or(Err(WaitError::WouldDeadlock(id)));
        }
        ending.wakeup.until(look).await
    }

    /// Cancels operation `id` alone: a pending one now (its body never runs), a running
    /// one at its body's next poll. Refused for an operation that has ended (its state)
    /// or is unknown.
    pub(crate) fn cancel_operation(&self, id: OperationId) -> Result<(), WindowError> {
        // Counted as settling meanwhile, as `stop` does, so that no one who sees it
        // cancelled counts it pending.
        let settling = &self.control.settling;
        settling.fetch_add(1, Ordering::AcqRel);
        let cancelled = self.cancel_pending(id, CancelCause::Requested);
        if let Some(ended) = cancelled {
            // Its ticket stays queued; the worker that takes it finds it claimed and
            // only retires the ticket, so it is settled here, once.
            self.settle(id, ended);
        }
        settling.fetch_sub(1, Ordering::AcqRel);
        if cancelled.is_some() {
            return Ok(());
        }
        // Not pending: a worker claimed it, and named it in its seat before claiming.
        let raw = id.raw();
        for seat in self.control.seats.iter() {
            if seat.running.load(Ordering::Acquire) == raw {
                seat.abort.store(raw, Ordering::Release);
                seat.waker.wake();
                return self.running_or_ended(id);
            }
        }
        match self.read(id, |s| s.state) {
            None => Err(WindowError::Unknown(id)),
            Some(state) => Err(WindowError::WrongState { id, state }),
        }
    }

    /// `Ok` while `id` has not ended; once it has, why cancelling it was refused.
    fn running_or_ended(&self, id: OperationId) -> Result<(), WindowError> {
        match self.read(id, |s| s.state) {
            Some(state) if !state.is_finished() => Ok(()),
            Some(state) => Err(WindowError::WrongState { id, state }),
            None => Err(WindowError::Unknown(id)),
        }
    }

    /// Waits until the coordinator was completed (or cancelled) and then drained: every
    /// accepted item terminal and the async signal handlers done.
    ///
    /// # Panics
    ///
    /// As [`drain`](Self::drain), from one of this coordinator's own bodies.
    pub(crate) async fn wait_closed(&self) {
        assert!(
            !self.called_from_body(),
            "wait_closed called from one of the coordinator's own bodies would never return"
        );
        self.intake
            .idle()
            .until(|| self.intake.is_closed().then_some(()))
            .await;
        self.drain().await;
    }
}
