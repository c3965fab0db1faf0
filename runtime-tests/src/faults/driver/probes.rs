//! The probes a case ending in `complete` runs before it completes: does `enqueue` still
//! find room, and are all operation slots still there? A slot or queue place lost to a
//! fault shows here, long before the coordinator runs out for good.

use core::time::Duration;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use ephemeral::WindowError;
use ephemeral::runtime::{Spawner, Timer};

use super::{Driver, ROOM_BOUND};
use crate::faults::case::{BodyKind, ItemSpec, KEYS};
use crate::faults::invariant::Invariant;
use crate::faults::log::Step;
use crate::faults::subject::Subject;

/// A body that keeps a worker busy while the slot probe fills the queue.
const HOLD: BodyKind = BodyKind::Slow(40);

impl<R: Spawner + Timer + Clone> Driver<R> {
    /// Before `complete`: `enqueue` finds room for more items than the coordinator has
    /// slots, so no slot or queue place was lost to a fault (every body is finite here).
    /// A result coordinator's room includes its results: they are taken as the probe
    /// goes, as a caller consuming results would.
    pub(super) async fn room_probe(&mut self, subject: &Subject<R>) {
        let items = self.case.options.slots() + 2;
        let deadline = Instant::now() + ROOM_BOUND;
        for k in 0..items {
            self.take_results(subject);
            let spec = ItemSpec {
                body: BodyKind::Ok,
                key: (k % KEYS) as u8,
                lane: 0,
                signal: None,
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let (step, gave_up) = self.enqueue(subject, spec, left).await;
            if gave_up {
                let (pending, active, deferred, _) = subject.counts();
                self.log().fail(
                    Invariant::RoomComesBack,
                    format_args!(
                        "enqueue found no room within {ROOM_BOUND:?} (item {k} of {items} probe items) \
                         though every body is finite and nothing is paused: pending {pending}, \
                         active {active}, deferred {deferred}, {:?}",
                        subject.totals()
                    ),
                );
                return;
            }
            if step == Step::Closed {
                return;
            }
        }
    }

    /// Counts the operation slots left, which the room probe cannot: a slot lost to a
    /// fault (a read that panicked and never let go, say) only shows once every other
    /// slot is in use. So: fill the window with finished operations, take every pin,
    /// keep `max_concurrency` bodies running, pause, and `try_enqueue` until refused. The
    /// slab has room for exactly that plus a full queue (queue + concurrency + window +
    /// pins), so fewer than `queue_capacity` accepted means slots were lost. Only for the
    /// work and result coordinators, whose queue is the only limit on waiting items (keys
    /// and lanes have their own); skipped (not failed) when a precondition cannot be
    /// reached, which other checks report.
    pub(super) async fn slot_probe(&mut self, subject: &Subject<R>) {
        let o = self.case.options.clone();
        let quick = ItemSpec {
            body: BodyKind::Ok,
            key: 0,
            lane: 0,
            signal: None,
        };
        let Ok(Ok(())) = catch_unwind(AssertUnwindSafe(|| {
            subject.set_max_concurrency(o.max_concurrency)
        })) else {
            return;
        };
        self.take_results(subject);
        for _ in 0..o.max_tracked {
            self.enqueue(subject, quick, ROOM_BOUND).await;
        }
        if !self.until_idle(subject).await {
            return;
        }
        let mut pins = 0;
        for accepted in self.shared.accepted().iter().rev() {
            match catch_unwind(AssertUnwindSafe(|| subject.pin(accepted.id))) {
                Ok(Ok(())) => pins += 1,
                Ok(Err(WindowError::PinBudgetExhausted { .. })) => break,
                _ => {}
            }
        }
        // Pinned operations stop counting against the window: refill it.
        self.take_results(subject);
        for _ in 0..o.max_tracked {
            self.enqueue(subject, quick, ROOM_BOUND).await;
        }
        if !self.until_idle(subject).await {
            return;
        }
        let hold = ItemSpec {
            body: HOLD,
            ..quick
        };
        self.take_results(subject);
        for _ in 0..o.max_concurrency {
            self.enqueue(subject, hold, ROOM_BOUND).await;
        }
        let busy = self.until(subject, |pending, active| {
            pending == 0 && active == o.max_concurrency
        });
        if !busy.await {
            return;
        }
        // Results a caller may still take are no slot leak: take them all, so the
        // results store holds nothing for a caller.
        self.take_results(subject);
        let _ = catch_unwind(AssertUnwindSafe(|| subject.pause()));
        let mut fitted = 0;
        while fitted <= o.queue_capacity {
            let item = self.item(quick);
            let n = item.n;
            match catch_unwind(AssertUnwindSafe(|| subject.try_enqueue(item))) {
                Ok(Ok(id)) => {
                    self.enqueued(quick, n, Ok(id), false);
                    fitted += 1;
                }
                _ => break,
            }
        }
        let (_, active, _, _) = subject.counts();
        let _ = catch_unwind(AssertUnwindSafe(|| subject.resume()));
        // The hold bodies must still have been running for the count to mean anything.
        if fitted < o.queue_capacity && active == o.max_concurrency {
            self.log().fail(
                Invariant::RoomComesBack,
                format_args!(
                    "operation slots were lost: with the window full, {pins} pin(s) taken \
                     (budget {}) and {} bodies running, a paused coordinator took only \
                     {fitted} of queue_capacity {} items",
                    o.pin_budget.unwrap_or(o.max_tracked / 4),
                    o.max_concurrency,
                    o.queue_capacity
                ),
            );
        }
    }

    /// Takes every finished result a result coordinator holds (its room for more items).
    fn take_results(&self, subject: &Subject<R>) {
        if let Subject::Results(c) = subject {
            for accepted in self.shared.accepted() {
                let _ = catch_unwind(AssertUnwindSafe(|| drop(c.take_result(accepted.id))));
            }
        }
    }

    /// Waits (up to [`ROOM_BOUND`]) until nothing is pending or running.
    async fn until_idle(&self, subject: &Subject<R>) -> bool {
        self.until(subject, |pending, active| pending == 0 && active == 0)
            .await
    }

    /// Waits (up to [`ROOM_BOUND`]) until `done(pending_count, active_count)`.
    async fn until(&self, subject: &Subject<R>, done: impl Fn(usize, usize) -> bool) -> bool {
        let deadline = Instant::now() + ROOM_BOUND;
        while Instant::now() < deadline {
            match catch_unwind(AssertUnwindSafe(|| subject.counts())) {
                Ok((pending, active, _, _)) if done(pending, active) => return true,
                Ok(_) => self.rt.sleep(Duration::from_millis(1)).await,
                Err(_) => return false,
            }
        }
        false
    }
}
