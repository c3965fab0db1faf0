//! The intake: accepted items waiting for a worker, and the count that `drain` waits on.
//!
//! Items wait in a bounded queue (Vyukov's bounded MPMC array queue, as implemented by
//! `concurrent-queue`); waiters park on [`Wakeup`]s, so neither side allocates or polls,
//! and a notify with nobody waiting costs a fence and a load.
//!
//! Invariants (checked by the `intake` loom model):
//! * `in_flight` counts every accepted item until it is settled, and is raised *before*
//!   the item is queued, so a `drain` that sees zero after `close` has nothing left.
//!   `holds` counts what is not an item but must finish before `drain` returns (a
//!   stream feeding the coordinator), so counts of items never include it.
//! * A worker stops only on the queue's own `Closed` answer, which means closed *and*
//!   empty in one atomic step; asking `is_closed` after an `Empty` pop could miss an
//!   item pushed in between and leave it queued forever.

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use concurrent_queue::{ConcurrentQueue, PopError, PushError};

use crate::sync::{AtomicBool, AtomicUsize, Ordering};
use crate::wakeup::Wakeup;

/// Where accepted items wait for a worker: a plain FIFO, the keyed scheduler, or the
/// priority lanes. Implementations only order items; the [`Intake`] around them counts,
/// pauses and wakes.
///
/// Pushing is not part of the trait: each queue takes different things (an item, an id
/// and its key, an id and its lane), through [`Intake::push_with`].
pub trait Queue {
    /// What a worker takes out.
    type Taken;
    /// How many enqueuers waiting for room one taken item wakes: one when the room is
    /// shared by all, every one when each waits for its own part (a lane).
    const WAKES_ON_TAKE: usize = 1;
    /// The next item a worker may take. `Closed` only once closed *and* nothing is left,
    /// decided in one step (see the module docs).
    fn pop(&self) -> Result<Self::Taken, PopError>;
    /// Any waiting item, whatever would hold it back from `pop` (for cancellation).
    fn take_any(&self) -> Option<Self::Taken> {
        self.pop().ok()
    }
    /// Refuses further pushes; returns whether this call closed it.
    fn close(&self) -> bool;
    /// Whether `close` has been called.
    fn is_closed(&self) -> bool;
    /// Whether a push would be refused for lack of room now.
    fn is_full(&self) -> bool;
}

impl<T> Queue for ConcurrentQueue<T> {
    type Taken = T;
    fn pop(&self) -> Result<T, PopError> {
        ConcurrentQueue::pop(self)
    }
    fn close(&self) -> bool {
        ConcurrentQueue::close(self)
    }
    fn is_closed(&self) -> bool {
        ConcurrentQueue::is_closed(self)
    }
    fn is_full(&self) -> bool {
        ConcurrentQueue::is_full(self)
    }
}

/// What a worker asking for its next item gets.
pub enum Next<T> {
    /// An item to run.
    Item(T),
    /// The intake is closed and empty: the worker is done.
    Closed,
    /// The worker may not take an item now (its permit is no longer good): it should
    /// give the permit back.
    Yield,
}

/// Accepted items waiting in the queue `Q` for a worker, the count of unsettled items
/// that `drain` waits on, and the wake-ups of workers, enqueuers and drainers.
pub struct Intake<Q> {
    queue: Q,
    /// Set by `pause`, cleared by `resume`; workers take nothing while set.
    paused: AtomicBool,
    /// Accepted items not yet settled.
    in_flight: AtomicUsize,
    /// Feeders still running (see `hold`); `drain` waits for them too.
    holds: AtomicUsize,
    /// An item was queued, the intake closed, or it resumed.
    work: Wakeup,
    /// A place in the queue appeared (an item was taken), or the intake closed.
    room: Wakeup,
    /// `in_flight` reached zero, or the intake closed.
    idle: Wakeup,
}

impl<T> Intake<ConcurrentQueue<T>> {
    /// A first-in first-out intake holding at most `capacity` waiting items.
    pub fn fifo(capacity: usize) -> Self {
        Self::new(ConcurrentQueue::bounded(capacity))
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
}

/// What does not touch the queue, and so needs no bounds.
impl<Q> Intake<Q> {
    /// An intake around `queue`.
    pub fn new(queue: Q) -> Self {
        Self {
            queue,
            paused: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            holds: AtomicUsize::new(0),
            work: Wakeup::new(),
            room: Wakeup::new(),
            idle: Wakeup::new(),
        }
    }

    /// Accepted items not yet settled.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// The queue inside (for what only one kind of queue offers).
    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// What waits for a place in the queue listens on.
    pub fn room(&self) -> &Wakeup {
        &self.room
    }

    /// What waits for the intake to empty (or close) listens on.
    pub fn idle(&self) -> &Wakeup {
        &self.idle
    }

    /// Wakes every waiting worker to look again (after a resume or a cancel).
    pub fn wake_workers(&self) {
        self.work.notify(usize::MAX);
    }

    /// Wakes one waiting worker (an item became takeable without a push).
    pub fn wake_one(&self) {
        self.work.notify(1);
    }

    /// One accepted item reached its end.
    pub fn settle(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify(usize::MAX);
        }
    }

    /// Counts one more thing `drain` waits for that is not an item (a feeder still
    /// running); [`release`](Self::release) it when done.
    pub fn hold(&self) {
        self.holds.fetch_add(1, Ordering::AcqRel);
    }

    /// A [`hold`](Self::hold) ended.
    pub fn release(&self) {
        if self.holds.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify(usize::MAX);
        }
    }

    /// Waits until no item is in flight and no hold remains.
    pub async fn drain(&self) {
        self.idle
            .until(|| {
                (self.in_flight() == 0 && self.holds.load(Ordering::Acquire) == 0).then_some(())
            })
            .await;
    }

    /// Waits until the intake is not paused, or `stopped()` holds (whoever makes it hold
    /// wakes the workers).
    pub async fn resumed(&self, stopped: impl Fn() -> bool) {
        self.work
            .until(|| (!self.is_paused() || stopped()).then_some(()))
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

impl<Q: Queue> Intake<Q> {
    /// Whether the queue has no room now (a cheap check before doing work to enqueue).
    pub fn is_full(&self) -> bool {
        self.queue.is_full()
    }

    /// Whether `close` has been called.
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// Counts an item in flight, queues it through `push` and wakes a worker. On refusal
    /// (full, or closed) the count is undone and `push`'s refusal returned.
    pub fn push_with<X>(
        &self,
        push: impl FnOnce(&Q) -> Result<(), PushError<X>>,
    ) -> Result<(), PushError<X>> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        // `push` may run user code (a key's `Hash`, `Eq`, `Clone`): if it unwinds, the
        // item was not queued, so it must not stay counted.
        let uncount = Settle(self);
        let pushed = push(&self.queue);
        core::mem::forget(uncount);
        match pushed {
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

    /// The next item, waiting while the queue is empty or paused (`stop_pausing()` true
    /// overrides a pause); `None` once the intake is closed and empty.
    pub async fn next(&self, stop_pausing: impl Fn() -> bool) -> Option<Q::Taken> {
        match self.next_when(stop_pausing, || true).await {
            Next::Item(item) => Some(item),
            Next::Closed | Next::Yield => None,
        }
    }

    /// [`next`](Self::next) for a worker that may take an item only while `may_take()`
    /// holds (its concurrency permit is still good): `Yield` when it does not.
    pub async fn next_when(
        &self,
        stop_pausing: impl Fn() -> bool,
        may_take: impl Fn() -> bool,
    ) -> Next<Q::Taken> {
        self.work
            .until(|| self.poll(&stop_pausing, &may_take))
            .await
    }

    /// [`next_when`](Self::next_when), also looking again whenever `also` is notified
    /// (for queues whose items can become takeable without a push, such as lanes held by
    /// a signal).
    pub async fn next_or_when(
        &self,
        stop_pausing: impl Fn() -> bool,
        may_take: impl Fn() -> bool,
        also: &Wakeup,
    ) -> Next<Q::Taken> {
        let pushed = self.work.until(|| self.poll(&stop_pausing, &may_take));
        let changed = also.until(|| self.poll(&stop_pausing, &may_take));
        futures_lite::future::or(pushed, changed).await
    }

    /// What a worker does next, or `None` to wait.
    pub fn poll(
        &self,
        stop_pausing: &impl Fn() -> bool,
        may_take: &impl Fn() -> bool,
    ) -> Option<Next<Q::Taken>> {
        if self.paused.load(Ordering::Acquire) && !stop_pausing() {
            return None;
        }
        if !may_take() {
            return Some(Next::Yield);
        }
        match self.queue.pop() {
            Ok(item) => {
                self.room.notify(Q::WAKES_ON_TAKE);
                self.took_from_closed();
                Some(Next::Item(item))
            }
            Err(PopError::Closed) => Some(Next::Closed),
            Err(PopError::Empty) => None,
        }
    }

    /// Takes a waiting item without waiting (to cancel what is queued).
    pub fn take(&self) -> Option<Q::Taken> {
        let taken = self.queue.take_any()?;
        self.took_from_closed();
        Some(taken)
    }

    /// After a take: a closed queue may hold items no worker can take yet (a key at its
    /// limit), and workers that found nothing sleep until a take like this one may have
    /// left it closed *and* empty, which they must see to end. So a take from a closed
    /// queue wakes them all (only after `close`, so it costs nothing before).
    fn took_from_closed(&self) {
        if self.queue.is_closed() {
            self.work.notify(usize::MAX);
        }
    }

    /// Refuses all further items; queued ones are still handed out. Returns whether this
    /// call was the one that closed it.
    pub fn close(&self) -> bool {
        let first = self.queue.close();
        if first {
            self.work.notify(usize::MAX);
            self.room.notify(usize::MAX);
            // Waiters for "closed and empty" may find it empty already.
            self.idle.notify(usize::MAX);
        }
        first
    }
}

/// Settles one item when dropped (unless forgotten): undoes a count whose item was
/// never queued because queuing unwound.
struct Settle<'a, Q>(&'a Intake<Q>);

impl<Q> Drop for Settle<'_, Q> {
    fn drop(&mut self) {
        self.0.settle();
    }
}
