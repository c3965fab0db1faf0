//! How items get in: a window slot first, then a place in the intake queue; waiting
//! for room, newcomers after those already waiting, and refusals that hand the item back.

use super::*;
use crate::window::Label;

/// What a full coordinator ran out of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shortage {
    /// Places in the intake queue (freed when a worker takes an item).
    Queue,
    /// Window slots (freed when an operation is evicted and no reader holds it).
    Slots,
    /// Room for results (given back when a result is taken).
    Results,
}

impl<T, R, S, O, K> Core<T, R, S, O, K>
where
    R: Timer,
    S: Schedule<Key = K>,
    O: Record,
{
    /// Whether the caller is one of this coordinator's own bodies (under `std`), which
    /// must not wait for what only the coordinator's workers can bring about.
    pub(crate) fn called_from_body(&self) -> bool {
        in_scope(self.control.scope())
    }

    pub(crate) fn try_enqueue(&self, item: T, key: K) -> Result<OperationId, EnqueueError<T>> {
        self.try_enqueue_labelled(item, key, None)
    }

    /// `try_enqueue`, describing the operation by `label` (by the builder's `describe`
    /// if `None`).
    pub(crate) fn try_enqueue_labelled(
        &self,
        item: T,
        key: K,
        label: Option<Label>,
    ) -> Result<OperationId, EnqueueError<T>> {
        let label = self.label(&item, label);
        self.offer(item, key, label, true)
            .map_err(|(refused, _)| refused)
    }

    /// The label given, or the one the builder's `describe` writes for `item` (contained:
    /// a panic leaves what was written), or none.
    fn label(&self, item: &T, given: Option<Label>) -> Label {
        match (given, &self.describe) {
            (Some(label), _) => label,
            (None, Some(describe)) => {
                let mut label = Label::EMPTY;
                self.control.contain(|| describe(item, &mut label));
                label
            }
            (None, None) => Label::EMPTY,
        }
    }

    /// `try_enqueue`, also saying what a `Full` ran out of, so `enqueue` waits on the
    /// right wake-up. A `newcomer` (not yet refused once) leaves the room there is to
    /// enqueuers already waiting for it. A refused key is dropped (it is the caller's to
    /// compute again).
    fn offer(
        &self,
        item: T,
        key: K,
        label: Label,
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
        // An item is accepted only with room for its result: taken back by `withdraw`
        // below if it is refused after all.
        if self.keeper.as_ref().is_some_and(|keeper| !keeper.reserve()) {
            drop(key);
            return Err((EnqueueError::Full(item), Shortage::Results));
        }
        let id = match self.window.insert_keyed(item, key, label, self.now()) {
            Ok(id) => id,
            // Slots run short only while snapshot readers hold evicted slots a moment.
            Err((item, key)) => {
                if let Some(keeper) = &self.keeper {
                    keeper.release();
                }
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
        self.enqueue_labelled(item, key, None).await
    }

    /// `enqueue`, describing the operation by `label` (by the builder's `describe` if
    /// `None`; it runs once, however long the wait).
    pub(crate) async fn enqueue_labelled(
        &self,
        item: T,
        key: impl Fn(&T) -> K,
        label: Option<Label>,
    ) -> Result<OperationId, EnqueueError<T>> {
        let label = self.label(&item, label);
        let first = key(&item);
        let (mut item, mut short) = match self.offer(item, first, label, true) {
            Err((EnqueueError::Full(back), short)) => (back, short),
            done => return done.map_err(|(refused, _)| refused),
        };
        if self.called_from_body() {
            return Err(EnqueueError::WouldDeadlock(item));
        }
        loop {
            // Retry while full of the same thing, waking on whatever frees that thing.
            let wakeup = match (short, &self.keeper) {
                (Shortage::Results, Some(keeper)) => keeper.room(),
                (Shortage::Queue | Shortage::Results, _) => self.intake.room(),
                (Shortage::Slots, _) => self.window.freed(),
            };
            let mut pending = Some(item);
            let outcome = wakeup
                .until(|| {
                    match pending.take().map(|item| {
                        let k = key(&item);
                        self.offer(item, k, label, false)
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
}

/// What needs no bounds: the drop path of [`Withdraw`].
impl<T, R, S, O, K> Core<T, R, S, O, K> {
    /// Takes an item that was never queued back out of the window, uncounted, and gives
    /// its result's room back.
    fn withdraw(&self, id: OperationId) -> T {
        self.control.totals[ENQUEUED].fetch_sub(1, Ordering::Relaxed);
        if let Some(keeper) = &self.keeper {
            keeper.release();
        }
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
