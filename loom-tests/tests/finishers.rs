//! Exclusive finishing: `Window::finish`, `start` and `cancel` are public and ids are
//! `Copy`, so any thread may call them on any operation at any time.
//!
//! Each writer of an operation's cells first wins a transition no one else can win
//! (`PENDING -> CLAIMED` for start and cancel, `RUNNING -> FINISHING` for finish), then
//! writes, then publishes. The checks: of two finishers of one running operation exactly
//! one records its outcome and the other gets its outcome back; a finish racing the
//! start either is refused or sees the start complete (its time recorded); a cancel
//! racing a start has one winner, which alone gets the input. Loom also checks that no
//! two of them touch a cell concurrently.
//!
//! Mutations caught:
//! * `scripts/mutants/slab-begin-finish-twice.mutant`: `begin_finish` admitting an
//!   operation that is already `FINISHING`, so two finishers write the outcome together
//!   (the defect the exclusive phase fixed): loom reports the concurrent write.
//! * `scripts/mutants/slab-running-before-start-time.mutant`: `mark_running` publishing
//!   `RUNNING` before writing the start time, so a finisher on another thread reads the
//!   start time while it is written: loom reports the concurrent access.
//! * `scripts/mutants/slab-claim-twice.mutant`: `claim` admitting an operation that is
//!   already `CLAIMED`, so a canceller and a starter both take the input.
#![cfg(loom)]

use std::time::Duration;

use ephemeral::{FinishError, OperationId, Options, State, Window, WindowError};
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

const STARTED: Duration = Duration::from_millis(2);
const FINISHED: Duration = Duration::from_millis(3);

fn window() -> Arc<Window<u32, u32>> {
    let options = Options::default()
        .queue_capacity(1)
        .max_concurrency(2)
        .max_tracked(1)
        .signal_names(1)
        .pin_budget(0);
    Arc::new(Window::new(&options).unwrap())
}

/// Finishes `id` with `outcome`; `true` if this call recorded it.
fn finish(w: &Window<u32, u32>, id: OperationId, state: State, outcome: u32) -> bool {
    match w.finish(id, state, outcome, FINISHED) {
        Ok(()) => true,
        Err(FinishError::Refused { outcome: back, .. }) => {
            assert_eq!(back, outcome, "a refused finish keeps its outcome");
            false
        }
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn two_finishers_of_one_running_operation_never_both_record() {
    explore(&["main thread recorded", "other thread recorded"], |seen| {
        let w = window();
        let id = w.insert(1, Duration::ZERO).unwrap();
        w.start(id, STARTED).unwrap();

        let other = {
            let w = w.clone();
            thread::spawn(move || finish(&w, id, State::Faulted, 20))
        };
        let mine = finish(&w, id, State::Completed, 10);
        let theirs = other.join().unwrap();
        assert!(mine != theirs, "exactly one finisher records (mine {mine})");

        let snap = w
            .get(id, FINISHED)
            .expect("the finished operation is in the window");
        let expected = if mine {
            seen.saw("main thread recorded");
            (State::Completed, 10)
        } else {
            seen.saw("other thread recorded");
            (State::Faulted, 20)
        };
        assert_eq!((snap.state, snap.outcome), (expected.0, Some(expected.1)));
        assert_eq!(w.completed(FINISHED).len() + w.failed(FINISHED).len(), 1);
    });
}

#[test]
fn a_finish_racing_the_start_is_refused_or_sees_the_start_recorded() {
    explore(&["refused", "finished"], |seen| {
        let w = window();
        let id = w.insert(1, Duration::ZERO).unwrap();

        let starter = {
            let w = w.clone();
            thread::spawn(move || assert_eq!(w.start(id, STARTED), Ok(1)))
        };
        // Let the starter go first: loom then finds this thread's load racing the start
        // and tries it before as well (started the other way round, the starter's own
        // load before its claim hides the race; see `loom_tests`).
        thread::yield_now();
        // An id is `Copy`: anyone holding it may try to finish the operation.
        let finished = match w.finish(id, State::Completed, 5, FINISHED) {
            Ok(()) => {
                // Read while the starter may still be running: a finish that won the
                // race sees the start it raced recorded in full.
                assert_eq!(w.get(id, FINISHED).unwrap().started_at, Some(STARTED));
                true
            }
            Err(FinishError::Refused { error, .. }) => {
                assert_eq!(
                    error,
                    WindowError::WrongState {
                        id,
                        state: State::Pending
                    }
                );
                false
            }
            Err(other) => panic!("unexpected {other:?}"),
        };
        starter.join().unwrap();

        let snap = w.get(id, FINISHED).unwrap();
        assert_eq!(snap.started_at, Some(STARTED));
        if finished {
            seen.saw("finished");
            assert_eq!((snap.state, snap.outcome), (State::Completed, Some(5)));
        } else {
            seen.saw("refused");
            assert_eq!(snap.state, State::Running);
        }
    });
}

#[test]
fn a_cancel_racing_the_start_has_one_winner_which_alone_takes_the_input() {
    explore(&["cancelled", "started"], |seen| {
        let w = window();
        let id = w.insert(1, Duration::ZERO).unwrap();

        let starter = {
            let w = w.clone();
            thread::spawn(move || w.start(id, STARTED).ok())
        };
        let cancelled = w.cancel(id, 9, FINISHED).ok();
        let started = starter.join().unwrap();

        let snap = w.get(id, FINISHED).unwrap();
        match (cancelled, started) {
            (Some(1), None) => {
                seen.saw("cancelled");
                assert_eq!((snap.state, snap.outcome), (State::Cancelled, Some(9)));
                assert_eq!(snap.started_at, None);
            }
            (None, Some(1)) => {
                seen.saw("started");
                assert_eq!(snap.state, State::Running);
            }
            both => panic!("the input went to {both:?}"),
        }
    });
}
