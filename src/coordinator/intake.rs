//! The intake: accepted items waiting for a worker, and the count that `drain` waits on.
//!
//! Items wait in a bounded queue (Vyukov's bounded MPMC array queue, as implemented by
//! `concurrent-queue`); waiters park on [`Wakeup`]s, so neither side allocates or polls,
//! and a notify with nobody waiting costs a fence and a load.
//!
//! Invariants (checked by the `intake` loom model):
//! * `in_flight` counts every accepted item until it is settled, and is raised *before*
//!   the item is queued, so a `drain` that sees zero after `close` has nothing left.
//! * A worker stops only on the queue's own `Closed` answer, which means closed *and*
//!   empty in one atomic step; asking `is_closed` after an `Empty` pop could miss an
//!   item pushed in between and leave it queued forever.

use concurrent_queue::{ConcurrentQueue, PopError, PushError};

use crate::sync::{AtomicBool, AtomicUsize, Ordering};
use crate::wakeup::Wakeup;

/// See the module docs.
pub struct Intake<T> {
    queue: ConcurrentQueue<T>,
    /// Set by `pause`, cleared by `resume`; workers take nothing while set.
    paused: AtomicBool,
    /// Accepted items not yet settled (plus holds, see `hold`).
    in_flight: AtomicUsize,
    /// An item was queued, the intake closed, or it resumed.
    work: Wakeup,
    /// A place in the queue appeared (an item was taken), or the intake closed.
    room: Wakeup,
    /// `in_flight` reached zero.
    idle: Wakeup,
}

impl<T> Intake<T> {
    /// An intake holding at most `capacity` waiting items.
    pub fn new(capacity: usize) -> Self {
        Self {
            queue: ConcurrentQueue::bounded(capacity),
            paused: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            work: Wakeup::new(),
            room: Wakeup::new(),
            idle: Wakeup::new(),
        }
    }

    /// Whether the queue has no room now (a cheap check before doing work to enqueue).
    pub fn is_full(&self) -> bool {
        self.queue.is_full()
    }

    /// Whether `close` has been called.
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// Accepted items not yet settled.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Accepts `item`: counts it in flight, queues it and wakes a worker. On refusal
    /// (full, or closed) the count is undone and the item handed back.
    pub fn push(&self, item: T) -> Result<(), PushError<T>> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        match self.queue.push(item) {
            Ok(()) => {
                self.work.notify(1);
                Ok(())
            }
            Err(refused) => {
                self.settle();
                Err(refused)
            }
        }
    }

    /// Accepts `item` even when full by dropping the oldest waiting item, which is
    /// settled and handed back. Refused (and handed back) only when closed.
    pub fn force_push(&self, item: T) -> Result<Option<T>, T> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        match self.queue.force_push(item) {
            Ok(displaced) => {
                if displaced.is_some() {
                    self.settle();
                }
                self.work.notify(1);
                Ok(displaced)
            }
            Err(refused) => {
                self.settle();
                Err(refused.into_inner())
            }
        }
    }

    /// The next item, waiting while the queue is empty or paused (`stop_pausing()` true
    /// overrides a pause); `None` once the intake is closed and empty.
    pub async fn next(&self, stop_pausing: impl Fn() -> bool) -> Option<T> {
        self.work.until(|| self.poll(&stop_pausing)).await
    }

    /// `Some(Some(item))`: work; `Some(None)`: closed and empty; `None`: wait.
    fn poll(&self, stop_pausing: &impl Fn() -> bool) -> Option<Option<T>> {
        if self.paused.load(Ordering::Acquire) && !stop_pausing() {
            return None;
        }
        match self.queue.pop() {
            Ok(item) => {
                self.room.notify(1);
                Some(Some(item))
            }
            Err(PopError::Closed) => Some(None),
            Err(PopError::Empty) => None,
        }
    }

    /// Takes a waiting item without waiting (to cancel what is queued).
    pub fn take(&self) -> Option<T> {
        self.queue.pop().ok()
    }

    /// What waits for a place in the queue listens on.
    pub fn room(&self) -> &Wakeup {
        &self.room
    }

    /// Refuses all further items; queued ones are still handed out. Returns whether this
    /// call was the one that closed it.
    pub fn close(&self) -> bool {
        let first = self.queue.close();
        if first {
            self.work.notify(usize::MAX);
            self.room.notify(usize::MAX);
        }
        first
    }

    /// Wakes every waiting worker to look again (after a resume or a cancel).
    pub fn wake_workers(&self) {
        self.work.notify(usize::MAX);
    }

    /// One accepted item reached its end.
    pub fn settle(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify(usize::MAX);
        }
    }

    /// Counts one more thing in flight that is not an item (a feeder still running);
    /// `settle` it when done.
    pub fn hold(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// Waits until nothing is in flight.
    pub async fn drain(&self) {
        self.idle
            .until(|| (self.in_flight() == 0).then_some(()))
            .await;
    }

    /// Stops handing out items until `resume`.
    pub fn pause(&self) {
        self.paused.store(true, Ordering::Release);
    }

    /// Hands out items again.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::Release);
        self.wake_workers();
    }

    /// Whether paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }
}
