//! The keyed scheduler ([`Keys`]) behind the coordinator's intake: two workers, each
//! running one pass of the core's work loop (take through `Intake::next`, run, `done` and
//! `wake_one` when that made the key's next item takeable, `settle`), over two items of
//! one key at a per-key limit of 1; the second item is pushed while the spawned worker
//! starts.
//!
//! The second item becomes takeable only when the first is done, so a worker that found
//! the key at its limit sleeps, and the `done` that makes the next item takeable must
//! wake it. The checks: two items of the key never run together, they start in push
//! order, each runs once, and `drain` returns (a lost wake-up leaves one worker asleep
//! with the item it waits for queued, and loom reports the deadlock).
//!
//! The main thread is the second worker (two spawned workers and a draining main thread
//! run for over 10 minutes at the suite's bound of 3 preemptions), and it drains before
//! it closes: closing wakes every worker, which would hide a lost wake-up.
//!
//! Mutation caught (`scripts/mutants/keys-done-hides-next.mutant`): `Keys::done` making
//! the key's next item ready without reporting it takeable, so no worker is woken for it.
#![cfg(loom)]

use std::sync::Mutex;
use std::time::Duration;

use ephemeral::loom_api::{Intake, KeyLimits, Keys, Schedule, Slab};
use ephemeral::{OperationId, Options};
use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use loom_tests::explore;

const KEY: u32 = 7;

/// What the workers saw.
struct Ledger {
    /// Items of `KEY` between being taken and `done` (a loom atomic, so a second worker
    /// taking an item can be scheduled between the first one's take and its `done`).
    running: AtomicUsize,
    /// The order the items started in (test-side bookkeeping: written inside the
    /// exclusive section the assertion guards, so plain std is enough).
    started: Mutex<Vec<OperationId>>,
}

/// One pass of the core's work loop (`Core::work`), with the body replaced by the
/// bookkeeping: takes one item (waiting while the key is at its limit), runs it, tells
/// the queue, settles. Returns the item it ran.
fn work_once(intake: &Intake<Keys<u32>>, ledger: &Ledger) -> OperationId {
    let taken = block_on(intake.next(|| false)).expect("not closed yet");
    let id = <Keys<u32> as Schedule>::id(&taken);
    let before = ledger.running.fetch_add(1, Ordering::SeqCst);
    assert_eq!(before, 0, "two items of one key ran together at limit 1");
    ledger.started.lock().unwrap().push(id);
    ledger.running.fetch_sub(1, Ordering::SeqCst);
    // The queue learns first, so the key's next item may start; then `drain`.
    if intake.queue().done(taken) {
        intake.wake_one();
    }
    intake.settle();
    id
}

#[test]
fn two_workers_never_run_two_items_of_one_key_together_and_keep_their_order() {
    let expected = [
        "the spawned worker ran the first",
        "the main thread ran the first",
    ];
    explore(&expected, |seen| {
        let options = Options::default().queue_capacity(2).max_concurrency(2);
        let limits = KeyLimits {
            max_concurrency_per_key: 1,
            max_queued_per_key: Some(2),
            ..KeyLimits::default()
        };
        // Ids come from a slab as in the coordinator, so they name real slots.
        let slab = Slab::<u8, ()>::new(2);
        let first = slab.insert(1, Duration::ZERO).unwrap();
        let second = slab.insert(2, Duration::ZERO).unwrap();

        let intake = Arc::new(Intake::new(Keys::<u32>::new(&options, &limits, 2)));
        let push = |id: OperationId| {
            intake
                .push_with(|keys| keys.push(id, Some(&KEY)))
                .expect("room for two items")
        };
        let ledger = Arc::new(Ledger {
            running: AtomicUsize::new(0),
            started: Mutex::new(Vec::new()),
        });
        // The first item is queued before the worker starts, the second races it.
        push(first);
        let worker = {
            let (intake, ledger) = (intake.clone(), ledger.clone());
            thread::spawn(move || work_once(&intake, &ledger))
        };
        push(second);
        // This thread is the second worker.
        let mine = work_once(&intake, &ledger);
        seen.saw(if mine == first {
            "the main thread ran the first"
        } else {
            "the spawned worker ran the first"
        });
        block_on(intake.drain());
        intake.close();
        let theirs = worker.join().unwrap();
        assert_ne!(mine, theirs, "an item ran twice");
        assert_eq!(
            *ledger.started.lock().unwrap(),
            [first, second],
            "the key's items start in push order"
        );
    });
}
