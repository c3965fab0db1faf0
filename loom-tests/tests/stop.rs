//! Stopping a coordinator (`Core::stop`, behind `cancel` and the owner's drop) racing an
//! enqueue and a worker, over the real slab and intake; the steps of the core that the
//! model plays are named where they are played.
//!
//! `stop` closes the intake, sets the cancelled flag, wakes the workers and then cancels
//! every item still queued (`Intake::take`, then a claim and a `Cancelled` finish). An
//! enqueue (`Core::offer`) inserts its operation and queues it; if the queue refuses it
//! (closed meanwhile) it withdraws the operation again (`Slab::withdraw`). A worker takes
//! items until the intake is closed and empty, and cancels instead of running what it
//! takes once the flag is set. The checks: every accepted item reaches exactly one
//! terminal state, `drain` returns only once all of them are settled, the worker stops,
//! and the slot of a refused item is free again.
//!
//! Explored to 2 preemptions: with two threads taking from the queue (the worker and
//! `stop`), concurrent-queue's `pop` can spin on a relaxed re-load of the head that loom
//! keeps answering with the old value, and at 3 an execution outgrows any branch limit.
//!
//! Mutation caught (`scripts/mutants/slab-withdraw-leaks-slot.mutant`): `withdraw`
//! retiring the operation without putting its slot back on the free list, so every
//! enqueue that loses the race with `stop` leaks a slot: the slots do not all come back.
#![cfg(loom)]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use ephemeral::OperationId;
use ephemeral::loom_api::{Intake, Phase, Schedule, Slab, unreported};
use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use loom_tests::{Outcomes, explore_with};

const T: Duration = Duration::ZERO;

/// The parts of `Core` that stopping touches, generic over the queue as `Core` is (the
/// model uses the work coordinator's FIFO).
struct Core<S> {
    slab: Slab<u32, ()>,
    intake: Intake<S>,
    /// `Control::cancelled`.
    cancelled: AtomicBool,
    /// Terminal operations recorded (test-side: written after the exclusive claim).
    terminal: AtomicUsize,
}

impl<S: Schedule<Key = ()>> Core<S> {
    /// `Core::offer`: the operation into the window, then its id into the intake; taken
    /// back out if the intake refuses it.
    fn offer(&self, item: u32, seen: &Outcomes) -> Option<OperationId> {
        if self.intake.is_closed() {
            return None;
        }
        let id = self.slab.insert(item, T).ok()?;
        match self.intake.push_with(|queue| queue.push(id, None)) {
            Ok(()) => Some(id),
            Err(_) => {
                let (claim, _) = self.slab.claim(id).unwrap();
                self.slab.withdraw(claim);
                seen.saw("withdrawn");
                None
            }
        }
    }

    /// `Core::cancel_pending`: the taken operation becomes `Cancelled`.
    fn cancel(&self, id: OperationId) {
        let (claim, _) = self.slab.claim(id).unwrap();
        self.slab
            .finish(claim.into(), Phase::Cancelled, (), T, 0, unreported());
        self.terminal.fetch_add(1, SeqCst);
    }

    /// `Core::run` with a body that returns at once.
    fn run(&self, id: OperationId) {
        let (claim, _) = self.slab.claim(id).unwrap();
        self.slab.mark_running(claim, T);
        let finishing = self.slab.begin_finish(id).unwrap();
        self.slab
            .finish(finishing.into(), Phase::Completed, (), T, 0, unreported());
        self.terminal.fetch_add(1, SeqCst);
    }

    /// `Core::work` with one worker: admission cancels once stopped.
    fn work(&self, seen: &Outcomes) {
        while let Some(taken) = block_on(self.intake.next(|| false)) {
            let id = S::id(&taken);
            if self.cancelled.load(Ordering::Acquire) {
                self.cancel(id);
                seen.saw("cancelled by the worker");
            } else {
                self.run(id);
                seen.saw("completed");
            }
            self.intake.settle();
        }
    }

    /// `Core::stop`: close, flag, wake, then cancel whatever is still queued.
    fn stop(&self, seen: &Outcomes) {
        self.intake.close();
        self.cancelled.store(true, Ordering::Release);
        self.intake.wake_workers();
        while let Some(taken) = self.intake.take() {
            self.cancel(S::id(&taken));
            seen.saw("cancelled by stop");
            self.intake.settle();
        }
    }
}

#[test]
fn stop_racing_an_enqueue_and_a_worker_settles_every_accepted_item_once() {
    let expected = [
        "completed",
        "cancelled by the worker",
        "cancelled by stop",
        "withdrawn",
    ];
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(2);
    explore_with(model, &expected, |seen| {
        let core = Arc::new(Core {
            slab: Slab::new(2),
            intake: Intake::fifo(2),
            cancelled: AtomicBool::new(false),
            terminal: AtomicUsize::new(0),
        });
        let first = core.offer(1, seen).expect("open and empty");

        let worker = {
            let (core, seen) = (core.clone(), seen.clone());
            thread::spawn(move || core.work(&seen))
        };
        let enqueuer = {
            let (core, seen) = (core.clone(), seen.clone());
            thread::spawn(move || core.offer(2, &seen))
        };
        core.stop(seen);
        block_on(core.intake.drain());
        let terminal_at_drain = core.terminal.load(SeqCst);

        let second = enqueuer.join().unwrap();
        worker.join().unwrap();
        let accepted: Vec<_> = [Some(first), second].into_iter().flatten().collect();
        assert_eq!(
            terminal_at_drain,
            accepted.len(),
            "drain returned before every accepted item was terminal"
        );
        for id in &accepted {
            let state = core.slab.read_id(*id, |v| v.word.state()).flatten();
            assert!(
                state.is_some_and(|s| s.is_finished()),
                "{id:?} left {state:?}"
            );
            core.slab.transition(*id, |w| Ok(w.retired())).unwrap();
        }
        // Accepted operations evicted, the refused one withdrawn: every slot is free.
        for n in 0..2 {
            core.slab.insert(10 + n, T).expect("a slot leaked");
        }
    });
}
