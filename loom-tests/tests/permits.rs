//! The concurrency permits (`Permits`): `acquire` waiting on `opened` racing `release`,
//! `set_limit` and `open_all`. A waiter that can be admitted is always woken (loom
//! reports a lost wake-up as a deadlock), a limit change takes effect for every
//! admission after it, and an aborting waiter gives up once woken.
//!
//! Each model checks that its waiter ended on every side of the race with the change it
//! waits for: at its first check (the change came first), on its re-check after
//! listening, and woken by the change; the two-waiter model, that both waiters were
//! woken by releases made before either checked again.
//!
//! Mutations caught:
//! * `scripts/mutants/permits-release-notifies-first.mutant`: `release` notifying before it
//!   decrements the holder count: the woken waiter re-checks while the count is still
//!   full, sleeps again, and the decrement that follows wakes nobody (a lost wake-up).
//! * `scripts/mutants/wakeup-notify-not-additional.mutant`: `Wakeup::notify` not adding
//!   to earlier notifications: two releases before the first woken waiter runs wake only
//!   one of two waiters.
//! * `scripts/mutants/permits-release-no-fence.mutant`: `release` without its `SeqCst`
//!   fence: a release that reads the count of workers waiting first from before a worker
//!   counted itself wakes only the others' wake-up, while that worker's first check read
//!   the permit as still held, so it sleeps with a permit free.
#![cfg(loom)]

use std::cell::Cell;

use ephemeral::loom_api::Permits;
use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use loom_tests::{Flag, explore};

/// `Permits::acquire` on this thread: whether it was admitted, and how many checks it made
/// (`abort` is evaluated first in each check, so its calls count them).
fn acquire(permits: &Permits, abort: impl Fn() -> bool) -> (bool, usize) {
    let checks = Cell::new(0);
    let admitted = block_on(permits.acquire(|| {
        checks.set(checks.get() + 1);
        abort()
    }));
    (admitted, checks.get())
}

/// Which side of the race a wait ended on, from its checks: `until` checks once before
/// listening and once after, so a third check follows a wake-up.
fn side(checks: usize, sides: [&'static str; 3]) -> &'static str {
    sides[checks.min(3) - 1]
}

/// The sides of a wait for a permit that one release ends.
const WOKEN_BY_A_RELEASE: [&str; 3] = [
    "admitted at its first check",
    "admitted on its re-check",
    "woken by the release",
];

/// Permits with a limit of one, held.
fn one_held() -> Arc<Permits> {
    let permits = Arc::new(Permits::new(1));
    assert!(permits.try_acquire());
    permits
}

#[test]
fn a_release_always_wakes_a_waiting_acquirer() {
    let sides = WOKEN_BY_A_RELEASE;
    explore(&sides, move |seen| {
        let permits = one_held();
        let waiter = {
            let permits = permits.clone();
            thread::spawn(move || {
                let (admitted, checks) = acquire(&permits, || false);
                assert!(admitted);
                permits.release();
                checks
            })
        };
        permits.release();
        seen.saw(side(waiter.join().unwrap(), sides));
        assert_eq!(permits.held(), 0);
    });
}

#[test]
fn two_releases_wake_two_waiters() {
    // A notify that does not add to earlier ones loses the second wake-up only on the
    // last side: both waiters asleep, and the second release before the first woken
    // waiter has checked again (its notification still pending).
    let sides = [
        "neither woken",
        "one woken",
        "both woken",
        "both woken, by releases before either re-checked",
    ];
    explore(&sides, move |seen| {
        let permits = Arc::new(Permits::new(2));
        assert!(permits.try_acquire() && permits.try_acquire());
        // Set once both releases were made.
        let released = Flag::default();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let (permits, released) = (permits.clone(), released.clone());
                thread::spawn(move || {
                    // Whether the first check after a wake-up (the third) came after
                    // both releases.
                    let (checks, late) = (Cell::new(0), Cell::new(false));
                    let (admitted, _) = acquire(&permits, || {
                        checks.set(checks.get() + 1);
                        if checks.get() == 3 {
                            late.set(released.is_set());
                        }
                        false
                    });
                    assert!(admitted);
                    (checks.get() > 2, late.get())
                })
            })
            .collect();
        permits.release();
        permits.release();
        released.set();
        let (mut woken, mut both_released) = (0, false);
        for waiter in waiters {
            let (was_woken, late) = waiter.join().unwrap();
            woken += usize::from(was_woken);
            both_released |= late;
        }
        assert_eq!(permits.held(), 2);
        seen.saw(sides[woken]);
        if woken == 2 && both_released {
            seen.saw(sides[3]);
        }
    });
}

#[test]
fn raising_the_limit_wakes_a_waiter_and_lowering_it_holds_back_admissions() {
    let sides = [
        "admitted at its first check",
        "admitted on its re-check",
        "woken by the raise",
    ];
    explore(&sides, move |seen| {
        let permits = Arc::new(Permits::new(0));
        let waiter = {
            let permits = permits.clone();
            thread::spawn(move || {
                let (admitted, checks) = acquire(&permits, || false);
                assert!(admitted);
                // IMPLEMENTATION.md, C6: once this `set_limit(0)` returned, nobody
                // else is admitted.
                permits.set_limit(0);
                assert!(!permits.try_acquire(), "admitted past a lowered limit");
                permits.release();
                checks
            })
        };
        permits.set_limit(1);
        seen.saw(side(waiter.join().unwrap(), sides));
        assert_eq!((permits.held(), permits.limit()), (0, 0));
    });
}

#[test]
fn a_waiter_gives_up_when_its_abort_condition_is_set_and_opened() {
    let sides = [
        "gave up at its first check",
        "gave up on its re-check",
        "woken to give up",
    ];
    explore(&sides, move |seen| {
        let permits = one_held();
        let aborted = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (permits, aborted) = (permits.clone(), aborted.clone());
            thread::spawn(move || acquire(&permits, || aborted.load(Ordering::Acquire)))
        };
        aborted.store(true, Ordering::Release);
        permits.open_all();
        let (admitted, checks) = waiter.join().unwrap();
        assert!(!admitted, "admitted while the permits was full");
        seen.saw(side(checks, sides));
        assert_eq!(permits.held(), 1);
    });
}

/// A worker holding an item waits first for a permit (`acquire_first`) while the last
/// holder releases: it is always admitted (no lost wake-up across the two wake-ups),
/// and a worker with nothing taken is admitted only after it.
#[test]
fn a_worker_waiting_first_is_admitted_by_a_racing_release_before_the_others() {
    // The fenceless release loses its wake-up only on the last side.
    let sides = WOKEN_BY_A_RELEASE;
    explore(&sides, move |seen| {
        let permits = one_held();
        let first_in = Arc::new(AtomicBool::new(false));
        let first = {
            let (permits, first_in) = (permits.clone(), first_in.clone());
            thread::spawn(move || {
                let checks = Cell::new(0);
                let admitted = block_on(permits.acquire_first(
                    || {
                        checks.set(checks.get() + 1);
                        false
                    },
                    || {},
                ));
                assert!(admitted);
                first_in.store(true, Ordering::Release);
                permits.release();
                checks.get()
            })
        };
        permits.release();
        seen.saw(side(first.join().unwrap(), sides));
        assert!(first_in.load(Ordering::Acquire));
        assert!(permits.may_take(), "nobody waits first any more");
        assert_eq!(permits.held(), 0);
    });
}
