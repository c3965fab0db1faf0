//! The finished operations of a coordinator in finishing order, for a consumer that
//! takes completions as they happen (like `JoinSet::join_next`) instead of polling the
//! window. Opt-in ([`CoordinatorBuilder::completions`](super::builder::CoordinatorBuilder::completions)):
//! without it the core keeps no queue and pays one branch per finish.
//!
//! Each finish pushes a small `Copy` fact ([`Finished`]) into a bounded queue
//! (`concurrent-queue`, allocated once at build) and wakes the consumer; the error
//! itself stays in the window, lent by `with`. A full queue drops its oldest fact and
//! counts it, and the consumer is told how many it missed by [`Completion::Lagged`]
//! before its next fact, as [`SignalChange::Lagged`](crate::signal::SignalChange::Lagged)
//! does. Backpressure is not offered: the push runs on a worker, in a cancel or in a
//! dropped worker's drop path, none of which may wait on a consumer that may never come.

use concurrent_queue::ConcurrentQueue;
use futures_lite::future::or;

use super::schedule::Schedule;
use super::{CancelCause, Core, Outcome, Record};
use crate::operation::{OperationId, State};
use crate::runtime::Timer;
use crate::sync::{AtomicU64, Ordering};
use crate::wakeup::Wakeup;
use crate::window::{Label, Snapshot};

/// A finished operation as a completions stream reports it: what is `Copy` of its end.
/// Read its error with the coordinator's `with(id, ..)` while the window keeps it.
///
/// ```
/// use ephemeral::{CancelCause, Finished, Label, State};
///
/// fn describe(done: &Finished) -> &'static str {
///     match (done.state, done.cause) {
///         (State::Completed, _) => "done",
///         (State::Cancelled, Some(CancelCause::Requested)) => "cancelled by request",
///         (State::Cancelled, _) => "cancelled",
///         _ => "failed",
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finished {
    /// The operation.
    pub id: OperationId,
    /// How it ended: `Completed`, `Faulted` (error or panic) or `Cancelled`.
    pub state: State,
    /// Why it was cancelled, if it was.
    pub cause: Option<CancelCause>,
    /// Its label (empty if it had none).
    pub label: Label,
}

impl Finished {
    /// What a finished operation's snapshot says of its end.
    pub(crate) fn of<O: Record>(snapshot: &Snapshot<&O>) -> Self {
        let cause = match snapshot.outcome.map(O::outcome) {
            Some(Outcome::Cancelled(cause)) => Some(*cause),
            _ => None,
        };
        Self {
            id: snapshot.id,
            state: snapshot.state,
            cause,
            label: snapshot.label,
        }
    }
}

/// One item of a coordinator's completions stream.
///
/// ```
/// use ephemeral::Completion;
///
/// let missed = Completion::Lagged(3);
/// assert!(matches!(missed, Completion::Lagged(3)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// An operation finished.
    Finished(Finished),
    /// The consumer fell behind: this many finishes were dropped (the oldest first)
    /// since its last item.
    Lagged(u64),
}

/// The core's queue of finished operations, filled by `settle`.
pub(crate) struct Completions {
    queue: ConcurrentQueue<Finished>,
    /// Facts dropped since the consumer last heard; pushers add, the consumer swaps.
    lagged: AtomicU64,
    /// Notified after each push.
    pub(crate) pushed: Wakeup,
}

impl Completions {
    /// Room for `capacity` facts (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            queue: ConcurrentQueue::bounded(capacity.max(1)),
            lagged: AtomicU64::new(0),
            pushed: Wakeup::new(),
        }
    }

    /// Adds a fact, dropping the oldest if full; never waits, never allocates.
    pub(crate) fn push(&self, finished: Finished) {
        // The queue is never closed, so the push cannot fail.
        if let Ok(Some(_oldest)) = self.queue.force_push(finished) {
            self.lagged.fetch_add(1, Ordering::AcqRel);
        }
        self.pushed.notify(usize::MAX);
    }

    /// The next item: the count missed, if any, before the next fact.
    pub(crate) fn pop(&self) -> Option<Completion> {
        match self.lagged.swap(0, Ordering::AcqRel) {
            0 => self.queue.pop().ok().map(Completion::Finished),
            missed => Some(Completion::Lagged(missed)),
        }
    }
}

impl<T, R, S, O, K> Core<T, R, S, O, K>
where
    R: Timer,
    S: Schedule<Key = K>,
    O: Record,
{
    /// The next finished operation (or the count missed), sleeping until one is pushed;
    /// `None` once the coordinator has ended and everything pushed was taken, or at once
    /// without a queue. From one of the coordinator's own bodies it answers at once.
    pub(crate) async fn next_finished(&self) -> Option<Completion> {
        let completions = self.completions.as_ref()?;
        let next = || match completions.pop() {
            Some(popped) => Some(Some(popped)),
            // Ended: every settle pushed before it counted down, so one more look
            // takes what was pushed meanwhile.
            None if self.ended() => Some(completions.pop()),
            None => None,
        };
        if self.called_from_body() {
            return next().flatten();
        }
        or(completions.pushed.until(next), self.idle().until(next)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(n: u32) -> Finished {
        Finished {
            id: OperationId::new(1, n, 1),
            state: State::Completed,
            cause: None,
            label: Label::default(),
        }
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_reports_the_count_before_what_it_holds() {
        let completions = Completions::new(2);
        for n in 0..5 {
            completions.push(fact(n));
        }
        assert_eq!(completions.pop(), Some(Completion::Lagged(3)));
        assert_eq!(completions.pop(), Some(Completion::Finished(fact(3))));
        assert_eq!(completions.pop(), Some(Completion::Finished(fact(4))));
        assert_eq!(completions.pop(), None);
    }

    #[test]
    fn a_capacity_of_zero_holds_one() {
        let completions = Completions::new(0);
        completions.push(fact(0));
        assert_eq!(completions.pop(), Some(Completion::Finished(fact(0))));
        completions.push(fact(1));
        completions.push(fact(2));
        assert_eq!(completions.pop(), Some(Completion::Lagged(1)));
        assert_eq!(completions.pop(), Some(Completion::Finished(fact(2))));
    }
}
