//! A closed keyed queue still holding an item held back by its key's limit, while one
//! worker looks for work and `cancel` (`Core::stop`) takes the held-back item with
//! `Intake::take`. The worker may find the queue closed but not empty (the held-back
//! item is not takeable), sleep, and then see nothing change but the take that empties
//! it: that take must wake it, or it sleeps forever with the coordinator alive (loom
//! reports the deadlock).
//!
//! Mutation caught (`scripts/mutants/intake-take-wakes-nobody.mutant`): `Intake::take`
//! not waking the workers after a take from a closed queue.
#![cfg(loom)]

use std::time::Duration;

use ephemeral::loom_api::{Intake, KeyLimits, Keys, Schedule, Slab};
use ephemeral::{OperationId, Options};
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

const KEY: u32 = 7;

#[test]
fn a_worker_sleeping_on_a_closed_queue_wakes_when_cancel_takes_its_last_item() {
    let expected = [
        "the worker slept before the take",
        "the worker looked after the take",
    ];
    explore(&expected, |seen| {
        let options = Options::default().queue_capacity(2).max_concurrency(1);
        let limits = KeyLimits {
            max_concurrency_per_key: 1,
            max_queued_per_key: Some(2),
            ..KeyLimits::default()
        };
        let slab = Slab::<u8, ()>::new(2);
        let ids: Vec<OperationId> = (1..=2)
            .map(|n| slab.insert(n, Duration::ZERO).unwrap())
            .collect();
        let intake = Arc::new(Intake::new(Keys::<u32>::new(&options, &limits, 2)));
        for id in &ids {
            intake
                .push_with(|keys| keys.push(*id, Some(&KEY)))
                .expect("room for two items");
        }
        // The first item runs (taken, not done), so the second is held back; then the
        // coordinator is cancelled: closed first, as `stop` does.
        let running = block_on(intake.next(|| false)).expect("the first item");
        intake.close();
        let worker = {
            let intake = intake.clone();
            thread::spawn(move || {
                // Nothing is takeable, so it ends only by seeing the queue closed and
                // empty.
                let waited = loom_tests::block_on_waited(intake.next(|| false));
                assert!(waited.0.is_none(), "the held-back item was handed out");
                waited.1
            })
        };
        let held_back = intake.take().expect("the held-back item");
        assert_eq!(<Keys<u32> as Schedule>::id(&held_back), ids[1]);
        intake.queue().done(held_back);
        intake.queue().done(running);
        let slept = worker.join().unwrap();
        seen.saw(if slept {
            "the worker slept before the take"
        } else {
            "the worker looked after the take"
        });
    });
}
