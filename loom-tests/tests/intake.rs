//! The coordinator's intake: two producers and one worker racing `complete` + `drain`.
#![cfg(loom)]

use std::future::Future;
use std::time::Duration;

use ephemeral::runtime::{ManualClock, Spawner, Timer};
use ephemeral::{OpContext, Options, WorkCoordinator};
use loom::sync::Arc;
use loom::thread;

/// Spawns each future on its own loom thread, driven by loom's `block_on`.
#[derive(Clone, Default)]
struct LoomRuntime(ManualClock);

impl Spawner for LoomRuntime {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        thread::spawn(move || loom::future::block_on(future));
    }
}

impl Timer for LoomRuntime {
    type Sleep = <ManualClock as Timer>::Sleep;
    fn sleep(&self, duration: Duration) -> Self::Sleep {
        self.0.sleep(duration)
    }
    fn now(&self) -> Duration {
        self.0.now()
    }
}

#[test]
fn drain_after_complete_waits_for_every_accepted_item_and_no_worker_sleeps_on_work() {
    loom::model(|| {
        let options = Options::default()
            .max_concurrency(1)
            .queue_capacity(2)
            .max_tracked(2);
        let coordinator = Arc::new(
            WorkCoordinator::new(
                LoomRuntime::default(),
                |_: u32, _: OpContext| async {},
                options,
            )
            .unwrap(),
        );
        let producers: Vec<_> = (0..2)
            .map(|n| {
                let coordinator = coordinator.clone();
                thread::spawn(move || coordinator.try_enqueue(n).is_ok())
            })
            .collect();
        coordinator.complete();
        // If the worker slept with an item queued, this would block forever and loom
        // would report the deadlock.
        loom::future::block_on(coordinator.drain());
        let accepted: u64 = producers
            .into_iter()
            .map(|p| u64::from(p.join().unwrap()))
            .sum();
        let totals = coordinator.totals();
        assert_eq!(totals.enqueued, accepted);
        // drain returned after complete: nothing accepted may still be in flight.
        assert_eq!(
            totals.completed, totals.enqueued,
            "drain returned before an item was terminal"
        );
    });
}
