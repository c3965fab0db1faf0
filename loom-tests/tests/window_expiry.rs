//! The window's age expiry and ring placement racing pins and unpins.
//!
//! `Window::expire` reads each ring entry, and retires those past their lifetime with a
//! CAS that re-checks the pin: a pin that lands between the read and the retire keeps
//! the operation. `place` pushes the oldest operation out of the ring: evicted, or
//! *displaced* if pinned, and an unpin of a displaced operation evicts it. The checks: a
//! pinned operation is visible until unpinned whatever expires or is placed meanwhile;
//! once unpinned, the operation leaves (by age or displacement); the pin budget returns
//! to zero; and every slot comes back.
//!
//! Mutations caught:
//! * `scripts/mutants/window-expire-ignores-pin.mutant`: `expire` retiring on what its
//!   read saw, without re-checking the pin in the CAS, so a pin that lands in between is
//!   lost with its operation: the pinned operation is gone while pinned.
//! * `scripts/mutants/window-unpin-keeps-displaced.mutant`: `unpin` clearing the pin of
//!   a displaced operation without evicting it, so it stays outside the ring for good:
//!   the operation is still there after its unpin.
#![cfg(loom)]

use std::time::Duration;

use ephemeral::{OperationId, Options, State, Window, WindowError};
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

/// Lifetime 10 ms: an operation finished at `EARLY` has expired at `LATE`.
const EARLY: Duration = Duration::from_millis(1);
const LATE: Duration = Duration::from_millis(20);

fn window() -> Arc<Window<u32, u32>> {
    let options = Options::default()
        .queue_capacity(1)
        .max_concurrency(1)
        .max_tracked(1)
        .signal_names(1)
        .pin_budget(1)
        .max_operation_lifetime(Duration::from_millis(10));
    Arc::new(Window::new(&options).unwrap())
}

fn started(w: &Window<u32, u32>, n: u32) -> OperationId {
    let id = w.insert(n, EARLY).unwrap();
    w.start(id, EARLY).unwrap();
    id
}

fn finished(w: &Window<u32, u32>, n: u32) -> OperationId {
    let id = started(w, n);
    w.finish(id, State::Completed, n, EARLY).unwrap();
    id
}

/// Pins `id`, checks that it stays visible at `now` while pinned, and unpins it; whether
/// the pin was taken (`Unknown` otherwise: it was already gone).
fn pin_look_unpin(w: &Window<u32, u32>, id: OperationId, now: Duration) -> bool {
    match w.pin(id) {
        Ok(()) => {
            let snap = w.get(id, now).expect("a pinned operation left the window");
            assert!(snap.pinned);
            w.unpin(id)
                .expect("a pinned operation left the window before its unpin");
            true
        }
        Err(refused) => {
            assert_eq!(refused, WindowError::Unknown(id));
            false
        }
    }
}

/// Every slot but `kept` can be taken again: nothing leaked.
fn all_slots_back(w: &Window<u32, u32>, kept: usize) {
    for n in 0..w.capacity() - kept {
        w.insert(100 + n as u32, LATE).expect("a slot leaked");
    }
    assert!(w.insert(99, LATE).is_err());
}

#[test]
fn age_expiry_never_removes_a_pinned_operation() {
    explore(&["pinned", "expired before the pin"], |seen| {
        let w = window();
        let old = finished(&w, 1);

        let pinner = {
            let w = w.clone();
            thread::spawn(move || pin_look_unpin(&w, old, LATE))
        };
        w.expire(LATE);
        let pinned = pinner.join().unwrap();
        seen.saw(if pinned {
            "pinned"
        } else {
            "expired before the pin"
        });

        assert!(
            w.get(old, LATE).is_none(),
            "expired and unpinned, yet visible"
        );
        assert_eq!(w.pinned_count(), 0);
        all_slots_back(&w, 0);
    });
}

#[test]
fn an_operation_pushed_out_while_pinned_leaves_when_unpinned() {
    explore(&["pinned", "evicted before the pin"], |seen| {
        let w = window();
        let old = finished(&w, 1);
        let newer = started(&w, 2);

        // Finishing `newer` at `LATE` places it, pushing `old` out of the ring of one
        // (displaced if pinned), and runs the age expiry that has come due.
        let finisher = {
            let w = w.clone();
            thread::spawn(move || w.finish(newer, State::Completed, 2, LATE).unwrap())
        };
        let pinned = pin_look_unpin(&w, old, EARLY);
        finisher.join().unwrap();
        seen.saw(if pinned {
            "pinned"
        } else {
            "evicted before the pin"
        });

        // Read at `EARLY`, where age hides nothing: `old` must really be gone.
        assert!(
            w.get(old, EARLY).is_none(),
            "pushed out and unpinned, yet kept"
        );
        assert!(w.get(newer, EARLY).is_some());
        assert_eq!(w.pinned_count(), 0);
        all_slots_back(&w, 1);
    });
}
