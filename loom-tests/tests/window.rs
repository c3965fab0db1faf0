//! The window's eviction racing pins, readers and other finishers, one model each.
//!
//! Mutations caught:
//! * `scripts/mutants/window-place-evicts-pinned.mutant`, by
//!   `a_pinned_operation_is_never_evicted_and_an_evicted_one_never_pinned`: `place`
//!   evicting the operation it pushes out of the ring even when pinned, so a successful
//!   pin is lost.
//! * `scripts/mutants/slab-read-ignores-generation.mutant`, by
//!   `a_snapshot_sees_the_old_operation_whole_or_not_at_all`: `Slab::read` joining a
//!   slot without comparing generations, so a stale id answers with the operation that
//!   reused its slot.
#![cfg(loom)]

use std::time::Duration;

use ephemeral::{OperationId, Options, State, Window, WindowError};
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

const T: Duration = Duration::from_millis(1);

fn window(max_concurrency: usize, pins: usize) -> Arc<Window<u32, u32>> {
    let options = Options::default()
        .queue_capacity(1)
        .max_concurrency(max_concurrency)
        .max_tracked(1)
        .signal_names(1)
        .pin_budget(pins);
    Arc::new(Window::new(&options).unwrap())
}

fn started(w: &Window<u32, u32>, n: u32) -> OperationId {
    let id = w.insert(n, Duration::from_millis(u64::from(n))).unwrap();
    assert_eq!(w.start(id, T), Ok(n));
    id
}

fn finished(w: &Window<u32, u32>, n: u32) -> OperationId {
    let id = started(w, n);
    w.finish(id, State::Completed, n, T).unwrap();
    id
}

/// A finish that pushes `old` out of a window of 1 races `pin(old)`.
#[test]
fn a_pinned_operation_is_never_evicted_and_an_evicted_one_never_pinned() {
    explore(&["pinned", "refused"], |seen| {
        let w = window(1, 1);
        let old = finished(&w, 1);
        let newer = started(&w, 2);

        let finisher = {
            let w = w.clone();
            thread::spawn(move || w.finish(newer, State::Completed, 2, T).unwrap())
        };
        let pinned = w.pin(old);
        finisher.join().unwrap();

        match pinned {
            Ok(()) => {
                seen.saw("pinned");
                let snap = w.get(old, T).expect("a pinned operation was evicted");
                assert!(snap.pinned);
                assert_eq!(w.pinned_count(), 1);
            }
            Err(e) => {
                seen.saw("refused");
                assert_eq!(e, WindowError::Unknown(old));
                assert!(w.get(old, T).is_none());
                assert_eq!(w.pinned_count(), 0, "a refused pin kept its budget");
            }
        }
        // Either way, from here an evicted `old` cannot be pinned.
        if w.get(old, T).is_none() {
            assert_eq!(w.pin(old), Err(WindowError::Unknown(old)));
        }
    });
}

/// A reader of `old` races its eviction and the reuse of its slot by a new operation.
#[test]
fn a_snapshot_sees_the_old_operation_whole_or_not_at_all() {
    explore(&["seen", "gone"], |seen| {
        let w = window(1, 0);
        let old = finished(&w, 1);
        let next = started(&w, 2);

        let writer = {
            let w = w.clone();
            thread::spawn(move || {
                // Pushes `old` out of the window, then reuses its slot (the free list is
                // LIFO) for operation 3, which also finishes.
                w.finish(next, State::Completed, 2, T).unwrap();
                if let Ok(reuse) = w.insert(3, Duration::from_millis(3)) {
                    w.start(reuse, T).unwrap();
                    w.finish(reuse, State::Faulted, 3, T).unwrap();
                }
            })
        };
        let snap = w.get(old, T);
        seen.saw(if snap.is_some() { "seen" } else { "gone" });
        if let Some(snap) = snap {
            assert_eq!(snap.id, old);
            assert_eq!(snap.state, State::Completed);
            assert_eq!(snap.outcome, Some(1));
            assert_eq!(snap.enqueued_at, Duration::from_millis(1));
        }
        writer.join().unwrap();
        assert!(w.get(old, T).is_none());
    });
}

/// Two threads finish into a window of 1 at once.
#[test]
fn two_finishers_never_leave_more_than_the_window_holds() {
    explore(&["the first kept", "the second kept"], |seen| {
        let w = window(2, 0);
        let a = started(&w, 1);
        let b = started(&w, 2);

        let other = {
            let w = w.clone();
            thread::spawn(move || {
                w.finish(b, State::Completed, 2, T).unwrap();
                assert!(w.completed(T).len() <= 1);
            })
        };
        w.finish(a, State::Completed, 1, T).unwrap();
        assert!(w.completed(T).len() <= 1);
        other.join().unwrap();

        let alive: Vec<_> = [a, b].iter().map(|&id| w.get(id, T).is_some()).collect();
        seen.saw(match alive[..] {
            [true, false] => "the first kept",
            [false, true] => "the second kept",
            _ => panic!("exactly one finished operation is left, not {alive:?}"),
        });
        assert_eq!(w.completed(T).len(), 1);
        // Every other slot was given back: a full set of inserts fits, one more does not.
        for n in 0..w.capacity() - 1 {
            w.insert(10 + n as u32, T).expect("a slot leaked");
        }
        assert!(w.insert(99, T).is_err());
    });
}
