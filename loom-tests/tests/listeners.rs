//! The listener set: calls racing `remove` (and `add` into a slot being freed). Each
//! listener's box is dropped exactly once, never used after its drop (loom's `UnsafeCell`
//! tracking checks the cell; the listener also checks its own drop flag), a call that
//! starts after `remove` returned does not invoke it, one that starts after `add`
//! returned does, and `add` reports `Full` only while a call is inside the removed
//! listener (never because of a call that came in as it was removed and calls nothing).
//!
//! The models check both sides of who drops a removed listener (`remove`, or the last
//! call out), calls that invoked it and calls that came too late to, and, for the re-add,
//! an add refused while a call was inside the listener, one into the slot the racing
//! call freed, and one made while the racing call, which invoked nothing, had not
//! returned (the add that must look again rather than report `Full`).
//!
//! Mutations caught (both: a spurious `Full` after `remove` returned):
//! * `scripts/mutants/listeners-add-no-rescan.mutant`: `add` not looking again at a slot
//!   held only by leaving calls.
//! * `scripts/mutants/listeners-remove-leaves-free-to-late-call.mutant`: `remove` leaving
//!   a slot it could free at once to a call that came in after it.
#![cfg(loom)]

use core::time::Duration;
use std::sync::Mutex;

use ephemeral::loom_api::Listeners;
use ephemeral::signal::{Listener, SignalEvent, SignalTable};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread::{self, ThreadId};
use loom_tests::{Flag, explore};

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

/// What a listener records: calls per key, drops, and the thread that dropped it.
#[derive(Default)]
struct Probe {
    racing: AtomicUsize,
    after_remove: AtomicUsize,
    after_add: AtomicUsize,
    drops: AtomicUsize,
    /// Outside loom's model: only says which side of the race the execution took.
    dropped_on: Mutex<Option<ThreadId>>,
}

impl Probe {
    fn dropped_on(&self) -> Option<ThreadId> {
        *self.dropped_on.lock().unwrap()
    }
}

struct DropGuard(Arc<Probe>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.drops.fetch_add(1, Ordering::SeqCst);
        *self.0.dropped_on.lock().unwrap() = Some(thread::current().id());
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
    let sides = [
        "the racing call invoked the listener",
        "the racing call invoked nothing",
        "dropped by remove",
        "dropped by the racing call, last out",
        "refused while the racing call was inside the listener",
        "re-added into the slot the racing call freed",
        // A call that came in as the listener was removed holds the slot a moment
        // without calling it; `add` must look again rather than report `Full`.
        "re-added before the racing call, which invoked nothing, returned",
    ];
    explore(&sides, move |seen| {
        // A bystander in slot 1 keeps the set non-empty, so calls after the remove visit
        // slot 0 rather than returning at the empty-set check.
        let listeners = Arc::new(Listeners::new(2));
        let (first, second) = (Arc::new(Probe::default()), Arc::new(Probe::default()));
        let slot = listeners.add(listener(&first)).ok().unwrap();
        listeners.add(Box::new(|_| {})).ok().unwrap();
        // Set once the racing call returned.
        let returned = Flag::default();
        let caller = {
            let (listeners, returned) = (listeners.clone(), returned.clone());
            thread::spawn(move || {
                listeners.call(&event(RACING));
                returned.set();
            })
        };
        listeners.remove(slot);
        listeners.call(&event(AFTER_REMOVE));
        // Slot 0 may still be held by the racing call (refused) or already free.
        let re_added = listeners.add(listener(&second)).ok();
        let added_before_it_returned = re_added.is_some() && !returned.is_set();
        listeners.call(&event(AFTER_ADD));
        caller.join().unwrap();

        assert_eq!(
            first.after_remove.load(Ordering::SeqCst),
            0,
            "called after remove"
        );
        let racing = first.racing.load(Ordering::SeqCst);
        assert!(racing <= 1);
        seen.saw(sides[if racing == 1 { 0 } else { 1 }]);
        assert_eq!(first.drops.load(Ordering::SeqCst), 1, "dropped once");
        // Only the racing call can be the last one out: calls after `remove` skip the
        // unpublished slot without entering it.
        let dropped_here = first.dropped_on() == Some(thread::current().id());
        seen.saw(sides[if dropped_here { 2 } else { 3 }]);
        if re_added.is_some() && !dropped_here {
            seen.saw(sides[5]);
        }
        if added_before_it_returned && racing == 0 {
            seen.saw(sides[6]);
        }
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
                    racing, 1,
                    "refused while no call was inside the removed listener"
                );
                seen.saw(sides[4]);
            }
        }
        assert_eq!(second.after_remove.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn two_calls_racing_remove_leave_the_drop_to_the_last_one_out() {
    let sides = [
        "dropped by remove",
        "dropped by a call, last out",
        "invoked by neither call",
        "invoked by one call",
        "invoked by both calls",
    ];
    explore(&sides, move |seen| {
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
        let calls = probe.racing.load(Ordering::SeqCst);
        assert!(calls <= 2);
        seen.saw(sides[2 + calls]);
        assert_eq!(probe.drops.load(Ordering::SeqCst), 1, "dropped once");
        let by_remove = probe.dropped_on() == Some(thread::current().id());
        seen.saw(sides[if by_remove { 0 } else { 1 }]);
        // Every reader has left: the slot is free again.
        let other = Arc::new(Probe::default());
        assert_eq!(listeners.add(listener(&other)).ok(), Some(slot));
    });
}

#[test]
fn a_listener_removing_itself_while_another_thread_calls_is_dropped_once() {
    let sides = [
        "invoked once: the other call came after the removal",
        "invoked by both calls",
        "dropped on this thread",
        "dropped on the other thread",
    ];
    explore(&sides, move |seen| {
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
        seen.saw(sides[calls - 1]);
        assert_eq!(probe.drops.load(Ordering::SeqCst), 1, "dropped once");
        let here = probe.dropped_on() == Some(thread::current().id());
        seen.saw(sides[if here { 2 } else { 3 }]);
    });
}
