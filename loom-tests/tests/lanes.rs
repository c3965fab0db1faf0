//! The priority coordinator's lanes behind the intake: closing racing a push into a
//! lane and a worker taking from the lanes (`Core::work` with one worker).
//!
//! Each lane is its own bounded queue, so "closed and empty" cannot be one atomic step
//! as it is for a single queue. `Lanes::close` closes every lane's queue *before* it
//! raises `closed`, so a pop that sees `closed` and then every lane empty has seen the
//! last item: a push after that is refused by its lane. The check: every accepted item
//! is taken before the worker stops. (`drain` is left out: the intake model covers it,
//! and here it would triple the time; so would a second lane, which the scan passes in
//! the same way.)
//!
//! Mutation caught (`scripts/mutants/lanes-closed-before-lanes.mutant`): `close` raising
//! `closed` before closing the lanes' queues, so a worker can see the lanes closed and
//! empty, stop, and a push lands in a lane afterwards.
#![cfg(loom)]

use std::sync::Mutex;
use std::time::Duration;

use ephemeral::loom_api::{Intake, Lanes, Schedule, Slab};
use ephemeral::{Lane, OperationId, Options};
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

const ONLY: usize = 0;

#[test]
fn a_worker_stops_only_after_every_item_pushed_before_close_is_taken() {
    let expected = ["accepted", "refused"];
    explore(&expected, |seen| {
        let options = Options::default().queue_capacity(1);
        let lanes = Lanes::new(&[Lane::new("only")], &options).unwrap();
        let intake = Arc::new(Intake::new(lanes));
        // Ids come from a slab, as in the coordinator.
        let slab = Slab::<u8, ()>::new(1);
        let id = slab.insert(1, Duration::ZERO).unwrap();
        let taken = Arc::new(Mutex::new(Vec::new()));

        let worker = {
            let (intake, taken) = (intake.clone(), taken.clone());
            thread::spawn(move || {
                while let Some(ticket) = block_on(intake.next(|| false)) {
                    taken.lock().unwrap().push(Lanes::id(&ticket));
                    intake.settle();
                }
            })
        };
        let producer = {
            let intake = intake.clone();
            thread::spawn(move || {
                intake
                    .push_with(|lanes| lanes.push(id, Some(&ONLY)))
                    .is_ok()
            })
        };
        intake.close();

        let accepted = producer.join().unwrap();
        seen.saw(if accepted { "accepted" } else { "refused" });
        worker.join().unwrap();
        let expected: &[OperationId] = if accepted { &[id] } else { &[] };
        assert_eq!(
            *taken.lock().unwrap(),
            expected,
            "an accepted item was stranded"
        );
    });
}
