//! The keyed scheduler ([`Keys`]) behind the coordinator's intake: two workers running
//! the core's work loop (take through `Intake::next`, run, `done` and `wake_one` when that
//! made the key's next item takeable, `settle`) against a producer pushing two items of
//! one key at a per-key limit of 1, then closing and draining.
#![cfg(loom)]

use std::sync::Mutex;
use std::time::Duration;

use ephemeral::loom_api::{Intake, Keys, Schedule, Slab};
use ephemeral::{OperationId, Options};
use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

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

/// The core's work loop (`Core::work`), with the body replaced by the bookkeeping.
fn work(intake: &Intake<Keys<u32>>, ledger: &Ledger) {
    // If this slept while an item of the key was takeable, it would never return and
    // loom would report the deadlock.
    while let Some(taken) = block_on(intake.next(|| false)) {
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
    }
}

#[test]
fn two_workers_never_run_two_items_of_one_key_together_and_keep_their_order() {
    // Three threads through event-listener's and the scheduler lock's modelled
    // internals: at the suite's bound of 3 preemptions this runs for over 6 minutes, so
    // it is explored exhaustively up to 2 (about 10 s).
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(2);
    model.check(|| {
        let options = Options::default()
            .queue_capacity(2)
            .max_concurrency(2)
            .max_concurrency_per_key(1);
        // Ids come from a slab as in the coordinator, so they name real slots.
        let slab = Slab::<u8, ()>::new(2);
        let first = slab.insert(1, Duration::ZERO).unwrap();
        let second = slab.insert(2, Duration::ZERO).unwrap();

        let intake = Arc::new(Intake::new(Keys::<u32>::new(&options, 2)));
        let push = |id: OperationId| {
            intake
                .push_with(|keys| Schedule::push(keys, id, Some(&KEY)))
                .expect("room for two items")
        };
        // The first item is queued before the workers start, the second races them.
        push(first);
        let ledger = Arc::new(Ledger {
            running: AtomicUsize::new(0),
            started: Mutex::new(Vec::new()),
        });
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (intake, ledger) = (intake.clone(), ledger.clone());
                thread::spawn(move || work(&intake, &ledger))
            })
            .collect();

        push(second);
        intake.close();
        block_on(intake.drain());
        assert_eq!(
            ledger.started.lock().unwrap().len(),
            2,
            "drain returned before both items were settled"
        );
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(
            *ledger.started.lock().unwrap(),
            [first, second],
            "each item runs exactly once, in push order"
        );
    });
}
