//! The concurrency gate (`Gate`): `acquire` waiting on `opened` racing `release`,
//! `set_limit` and `open_all`. A waiter that can be admitted is always woken (loom
//! reports a lost wake-up as a deadlock), a limit change takes effect for every
//! admission after it, and an aborting waiter gives up once woken.
//!
//! Mutations caught (`scripts/mutants.sh`): `release` notifying before it decrements the
//! holder count: the woken waiter re-checks while the count is still full, sleeps again,
//! and the decrement that follows wakes nobody (a lost wake-up); and `Wakeup::notify`
//! not adding to earlier notifications: two releases before the first woken waiter runs
//! wake only one of two waiters; and `release` without its `SeqCst` fence: a release
//! that reads the count of workers waiting first from before a worker counted itself
//! wakes only the others' wake-up, while that worker's first check read the permit as
//! still held, so it sleeps with a permit free.
#![cfg(loom)]

use ephemeral::loom_api::Gate;
use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

#[test]
fn a_release_always_wakes_a_waiting_acquirer() {
    loom::model(|| {
        let gate = Arc::new(Gate::new(1));
        assert!(gate.try_acquire());
        let waiter = {
            let gate = gate.clone();
            thread::spawn(move || {
                assert!(block_on(gate.acquire(|| false)));
                gate.release();
            })
        };
        gate.release();
        waiter.join().unwrap();
        assert_eq!(gate.held(), 0);
    });
}

#[test]
fn two_releases_wake_two_waiters() {
    loom::model(|| {
        let gate = Arc::new(Gate::new(2));
        assert!(gate.try_acquire() && gate.try_acquire());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let gate = gate.clone();
                thread::spawn(move || assert!(block_on(gate.acquire(|| false))))
            })
            .collect();
        gate.release();
        gate.release();
        for waiter in waiters {
            waiter.join().unwrap();
        }
        assert_eq!(gate.held(), 2);
    });
}

#[test]
fn raising_the_limit_wakes_a_waiter_and_lowering_it_holds_back_admissions() {
    loom::model(|| {
        let gate = Arc::new(Gate::new(0));
        let waiter = {
            let gate = gate.clone();
            thread::spawn(move || {
                assert!(block_on(gate.acquire(|| false)));
                // C6: once this `set_limit(0)` returned, nobody else is admitted.
                gate.set_limit(0);
                assert!(!gate.try_acquire(), "admitted past a lowered limit");
                gate.release();
            })
        };
        gate.set_limit(1);
        waiter.join().unwrap();
        assert_eq!((gate.held(), gate.limit()), (0, 0));
    });
}

#[test]
fn a_waiter_gives_up_when_its_abort_condition_is_set_and_opened() {
    loom::model(|| {
        let gate = Arc::new(Gate::new(1));
        assert!(gate.try_acquire());
        let aborted = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (gate, aborted) = (gate.clone(), aborted.clone());
            thread::spawn(move || block_on(gate.acquire(|| aborted.load(Ordering::Acquire))))
        };
        aborted.store(true, Ordering::Release);
        gate.open_all();
        assert!(!waiter.join().unwrap(), "admitted while the gate was full");
        assert_eq!(gate.held(), 1);
    });
}

/// A worker holding an item waits first for a permit (`acquire_first`) while the last
/// holder releases: it is always admitted (no lost wake-up across the two wake-ups),
/// and a worker with nothing taken is admitted only after it.
#[test]
fn a_worker_waiting_first_is_admitted_by_a_racing_release_before_the_others() {
    loom::model(|| {
        let gate = Arc::new(Gate::new(1));
        assert!(gate.try_acquire());
        let first_in = Arc::new(AtomicBool::new(false));
        let first = {
            let (gate, first_in) = (gate.clone(), first_in.clone());
            thread::spawn(move || {
                assert!(block_on(gate.acquire_first(|| false, || {})));
                first_in.store(true, Ordering::Release);
                gate.release();
            })
        };
        gate.release();
        first.join().unwrap();
        assert!(first_in.load(Ordering::Acquire));
        assert!(gate.may_take(), "nobody waits first any more");
        assert_eq!(gate.held(), 0);
    });
}
