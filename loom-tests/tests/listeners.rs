//! The listener set: calls racing `remove` (and `add` into a slot being freed). Each
//! listener's box is dropped exactly once, never used after its drop (loom's `UnsafeCell`
//! tracking checks the cell; the listener also checks its own drop flag), a call that
//! starts after `remove` returned does not invoke it, one that starts after `add`
//! returned does, and `add` reports `Full` only while a call is inside the removed
//! listener (never because of a call that came in as it was removed and calls nothing).
//!
//! Mutations caught (`scripts/mutants.sh`): `add` not looking again at a slot held only
//! by leaving calls, and `remove` leaving a slot it could free at once to a call that
//! came in after it (both: a spurious `Full` after `remove` returned).
#![cfg(loom)]

use core::time::Duration;

use ephemeral::loom_api::Listeners;
use ephemeral::signal::{Listener, SignalEvent, SignalTable};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

/// Keys telling calls apart: who raised, and when.
const RACING: u64 = 1;
const AFTER_REMOVE: u64 = 2;
const AFTER_ADD: u64 = 3;

fn event(key: u64) -> SignalEvent {
    let table = SignalTable::new(1);
    SignalEvent {
        signal: table.intern("s").unwrap(),
        operation_id: None,
        key: Some(key),
        at: Duration::ZERO,
    }
}

/// What a listener records: calls per key and drops.
#[derive(Default)]
struct Probe {
    racing: AtomicUsize,
    after_remove: AtomicUsize,
    after_add: AtomicUsize,
    drops: AtomicUsize,
}

struct DropGuard(Arc<Probe>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn listener(probe: &Arc<Probe>) -> Listener {
    let guard = DropGuard(probe.clone());
    Box::new(move |event| {
        let probe = &guard.0;
        assert_eq!(
            probe.drops.load(Ordering::SeqCst),
            0,
            "called after its drop"
        );
        match event.key {
            Some(RACING) => &probe.racing,
            Some(AFTER_REMOVE) => &probe.after_remove,
            _ => &probe.after_add,
        }
        .fetch_add(1, Ordering::SeqCst);
    })
}

#[test]
fn a_call_racing_remove_and_a_re_add_drops_each_listener_once() {
    loom::model(|| {
        // A bystander in slot 1 keeps the set non-empty, so calls after the remove visit
        // slot 0 rather than returning at the empty-set check.
        let listeners = Arc::new(Listeners::new(2));
        let (first, second) = (Arc::new(Probe::default()), Arc::new(Probe::default()));
        let slot = listeners.add(listener(&first)).ok().unwrap();
        listeners.add(Box::new(|_| {})).ok().unwrap();
        let caller = {
            let listeners = listeners.clone();
            thread::spawn(move || listeners.call(&event(RACING)))
        };
        listeners.remove(slot);
        listeners.call(&event(AFTER_REMOVE));
        // Slot 0 may still be held by the racing call (refused) or already free.
        let re_added = listeners.add(listener(&second)).ok();
        listeners.call(&event(AFTER_ADD));
        caller.join().unwrap();

        assert_eq!(
            first.after_remove.load(Ordering::SeqCst),
            0,
            "called after remove"
        );
        assert!(first.racing.load(Ordering::SeqCst) <= 1);
        assert_eq!(first.drops.load(Ordering::SeqCst), 1, "dropped once");
        match re_added {
            Some(slot) => {
                assert_eq!(
                    second.after_add.load(Ordering::SeqCst),
                    1,
                    "missed after add"
                );
                assert_eq!(second.drops.load(Ordering::SeqCst), 0);
                listeners.remove(slot);
                assert_eq!(second.drops.load(Ordering::SeqCst), 1);
            }
            // Refused: handed back and dropped at once, never called. Only a call inside
            // the removed listener may hold its slot past `remove`: a call that came in
            // as it was removed and calls nothing must not make `add` report `Full`.
            None => {
                assert_eq!(second.drops.load(Ordering::SeqCst), 1);
                assert_eq!(
                    first.racing.load(Ordering::SeqCst),
                    1,
                    "refused while no call was inside the removed listener"
                );
            }
        }
        assert_eq!(second.after_remove.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn two_calls_racing_remove_leave_the_drop_to_the_last_one_out() {
    loom::model(|| {
        let listeners = Arc::new(Listeners::new(1));
        let probe = Arc::new(Probe::default());
        let slot = listeners.add(listener(&probe)).ok().unwrap();
        let callers: Vec<_> = (0..2)
            .map(|_| {
                let listeners = listeners.clone();
                thread::spawn(move || listeners.call(&event(RACING)))
            })
            .collect();
        listeners.remove(slot);
        for caller in callers {
            caller.join().unwrap();
        }
        assert!(probe.racing.load(Ordering::SeqCst) <= 2);
        assert_eq!(probe.drops.load(Ordering::SeqCst), 1, "dropped once");
        // Every reader has left: the slot is free again.
        let other = Arc::new(Probe::default());
        assert_eq!(listeners.add(listener(&other)).ok(), Some(slot));
    });
}

#[test]
fn a_listener_removing_itself_while_another_thread_calls_is_dropped_once() {
    loom::model(|| {
        let listeners = Arc::new(Listeners::new(1));
        let probe = Arc::new(Probe::default());
        let guard = DropGuard(probe.clone());
        // A cycle (the listener holds the set) that its self-removal breaks.
        let own = listeners.clone();
        let suicidal: Listener = Box::new(move |_| {
            let probe = &guard.0;
            assert_eq!(
                probe.drops.load(Ordering::SeqCst),
                0,
                "called after its drop"
            );
            probe.racing.fetch_add(1, Ordering::SeqCst);
            own.remove(0);
        });
        assert_eq!(listeners.add(suicidal).ok(), Some(0));
        let caller = {
            let listeners = listeners.clone();
            thread::spawn(move || listeners.call(&event(RACING)))
        };
        listeners.call(&event(RACING));
        caller.join().unwrap();
        let calls = probe.racing.load(Ordering::SeqCst);
        assert!((1..=2).contains(&calls), "{calls} calls");
        assert_eq!(probe.drops.load(Ordering::SeqCst), 1, "dropped once");
    });
}
