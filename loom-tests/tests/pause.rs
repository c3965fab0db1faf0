//! Pause and resume racing a worker, over the real intake; the worker plays the steps of
//! `Core::work` that pausing touches.
//!
//! While paused, `Intake::poll` hands out nothing, and an item a worker took before the
//! pause waits in admission (`Core::admit` re-checks `is_paused` last, then waits on
//! `Intake::resumed`). `resume` clears the flag, then wakes the workers. The checks: an
//! item pushed after `pause` returned does not start before `resume` is called; after
//! `resume` every item starts (a lost wake-up leaves the worker asleep and `drain`
//! waiting, and loom reports the deadlock).
//!
//! Mutation caught (`scripts/mutants/intake-resume-wakes-first.mutant`): `resume` waking
//! the workers before clearing the flag, so a woken worker re-checks, still finds the
//! intake paused and sleeps again, and nothing wakes it after the flag clears.
#![cfg(loom)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use ephemeral::loom_api::Intake;
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

/// Test-side record of what the main thread has done (plain std: written before the
/// intake calls it describes, read by the worker only to check its own starts).
#[derive(Default)]
struct Script {
    paused: AtomicBool,
    resuming: AtomicBool,
    started: Mutex<Vec<u32>>,
}

#[test]
fn no_item_pushed_while_paused_starts_before_resume_and_resume_wakes_the_worker() {
    let expected = [
        "the first item started before the pause",
        "the first item started after the resume",
        "a taken item waited for the resume",
    ];
    explore(&expected, |seen| {
        let intake = Arc::new(Intake::fifo(2));
        let script = Arc::new(Script::default());

        let worker = {
            let (intake, script, seen) = (intake.clone(), script.clone(), seen.clone());
            thread::spawn(move || {
                while let Some(item) = block_on(intake.next(|| false)) {
                    // `Core::admit`: the pause is checked last before the start.
                    while intake.is_paused() {
                        seen.saw("a taken item waited for the resume");
                        block_on(intake.resumed(|| false));
                    }
                    if item == 2 {
                        assert!(
                            script.resuming.load(SeqCst),
                            "an item pushed while paused started before resume"
                        );
                    } else if !script.paused.load(SeqCst) {
                        seen.saw("the first item started before the pause");
                    } else if script.resuming.load(SeqCst) {
                        seen.saw("the first item started after the resume");
                    }
                    script.started.lock().unwrap().push(item);
                    intake.settle();
                }
            })
        };

        intake.push_with(|queue| queue.push(1)).unwrap();
        intake.pause();
        script.paused.store(true, SeqCst);
        intake.push_with(|queue| queue.push(2)).unwrap();
        script.resuming.store(true, SeqCst);
        intake.resume();
        // Drain before closing: closing wakes every worker too, which would hide a
        // resume that did not.
        block_on(intake.drain());
        intake.close();
        worker.join().unwrap();
        assert_eq!(*script.started.lock().unwrap(), [1, 2]);
    });
}
