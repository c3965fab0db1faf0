//! A fixed-capacity set of synchronous listeners, called on every raise.
//!
//! Lock-free and allocation-free after [`Listeners::new`]: each slot is a state word plus
//! a cell holding the listener's box, and the slot's *readers* (calls in progress) are
//! counted in the word, so removal never waits: the last one out of a slot that has been
//! removed drops the listener. A listener may raise again (re-entrant [`call`]), add
//! listeners and remove any listener, itself included, because no lock is held while a
//! listener runs. The protocol is a reference-counted slot (in the spirit of split
//! reference counts / hazard counting, e.g. Folly's `ReadMostlySharedPtr`), written for
//! this crate.
//!
//! # State word
//!
//! `state = readers * READER | BUSY | CLAIMED | ACTIVE`
//!
//! * `CLAIMED`: the slot is owned. From the `add` that claims it until the free that
//!   ends it, the cell is not `None`-and-available: `add` is writing it, a listener is in
//!   it, or a freer is taking it out.
//! * `BUSY`: one thread has exclusive access to the cell: the adder writing the box (set
//!   by `add`'s claim, cleared when it publishes `ACTIVE`) or the freer taking it out.
//! * `ACTIVE`: the listener is published; set only by the adder (together with clearing
//!   `BUSY`, in one `fetch_xor`), cleared by `remove`.
//! * `readers`: calls currently between their `fetch_add(READER)` and `fetch_sub(READER)`
//!   on this slot, whatever they saw.
//!
//! The states a slot moves through (any number of readers may be added to each):
//!
//! ```text
//! free 0 --add CAS--> CLAIMED|BUSY --add xor--> CLAIMED|ACTIVE --remove, calls inside--> CLAIMED (dying)
//!   ^                                               |                                       |
//!   |                                    remove, nobody inside                 last call out: CAS
//!   |                                               v                          (exactly CLAIMED)
//!   +--- free fetch_sub(CLAIMED|BUSY) <-------- CLAIMED|BUSY <-----------------------------+
//! ```
//!
//! # Invariants
//!
//! 1. Only a CAS from exactly `0` claims a slot (`add`), so a slot is never claimed while
//!    any reader, even one that saw nothing, is still inside it, and never twice.
//! 2. `BUSY` is held by at most one thread, and while it is held `ACTIVE` is clear, so no
//!    reader touches the cell: readers dereference the cell only if their own
//!    `fetch_add(READER)` returned a word with `ACTIVE` set.
//! 3. A reader that saw `ACTIVE` keeps its `READER` in the word until it has finished
//!    calling, so the word is never *exactly* `CLAIMED` during its call, and freeing
//!    (a CAS from exactly `CLAIMED`) cannot start. `add` cannot start either (1).
//! 4. "Exactly `CLAIMED`" means *dying with nobody inside*: it is never an adder's state
//!    (that is `CLAIMED|BUSY`, which is why `add` claims with `BUSY` rather than plain
//!    `CLAIMED`). `remove` never produces it: when no reader is inside, it clears `ACTIVE`
//!    and sets `BUSY` in one CAS and frees the slot itself, so a call that comes in just
//!    after (it saw `ACTIVE` in its cheap pre-check) cannot hold the slot against a later
//!    `add`. Otherwise the last reader's `fetch_sub` produces exactly `CLAIMED` and then
//!    tries the free CAS once (strong, so it never fails spuriously). It fails only if the
//!    word changed: either another thread won the free, or a reader came in, and that
//!    reader's own `fetch_sub` produces exactly `CLAIMED` again and tries. So the listener
//!    of a removed slot is dropped exactly once, by the last thread out.
//! 5. The freer ends with `fetch_sub(CLAIMED|BUSY)`, never `store(0)`: readers may have
//!    added themselves meanwhile (they saw no `ACTIVE` and leave without touching the
//!    cell), and their counts must survive so that (1) keeps the slot unclaimed until they
//!    have left.
//! 6. A slot that is not `CLAIMED` but has readers is held only by calls that saw
//!    nothing and are leaving (a reader that saw `ACTIVE` keeps the slot `CLAIMED`
//!    until it leaves, 3), with no user code between their two `READER` updates. `add`
//!    therefore looks again while it met such a slot rather than report `Full`: the wait
//!    is a few instructions of another thread, never a listener's call.
//!
//! Orderings: the adder's claim is `Acquire` (it follows the previous free's `Release`,
//! so the old box was taken before the new one is written) and its publication is
//! `Release`; readers' `fetch_add` is `Acquire` (they see the box written); readers'
//! `fetch_sub` is `AcqRel`, and the frees' CASes (`remove`'s and the last reader's)
//! `Acquire`; every access to the word is a read-modify-write, so each freer's CAS
//! follows every earlier reader's `fetch_sub` via the release sequence, and every call
//! of the listener happens before its drop.
//!
//! # Panics in listeners
//!
//! Under `std` a listener's panic is caught (and counted, [`panics`]) where it is called,
//! so it loses only its own call: later listeners of the same raise still run, and so
//! does whatever the raiser does after calling them. A panic in a listener's `Drop` is
//! caught and counted the same way. Without `std` nothing can be caught.
//!
//! # What `remove` guarantees
//!
//! After [`remove`] returns, no [`call`] that *starts* later invokes the listener. A call
//! already in progress may still invoke it (once) and finish; the listener is dropped
//! when the last such call leaves, on that call's thread, or by `remove` itself when no
//! call was in it. Likewise a call that starts after [`add`] returned invokes the new
//! listener. [`add`] reports `Full` only when every slot holds a listener, or a removed
//! one that a call is still inside. A listener whose panic cannot be caught (without
//! `std`) still leaves its slot correctly: the reader count is released by a drop guard.
//!
//! `remove` takes a slot index, not a token: each index returned by `add` must be removed
//! at most once. A stale index removes whichever listener holds the slot now (a logic
//! error, never a memory-safety one).
//!
//! [`call`]: Listeners::call
//! [`add`]: Listeners::add
//! [`remove`]: Listeners::remove
//! [`panics`]: Listeners::panics

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use super::SignalEvent;
use crate::bits::Field;
use crate::sync::{AtomicU64, AtomicUsize, Ordering, UnsafeCell, contain, spin_hint};

/// A synchronous listener: called on the raising thread with every raise of a sink.
///
/// ```
/// use ephemeral::signal::{Listener, SignalSink};
///
/// let sink = SignalSink::builder().listeners(0).build();
/// let listener: Listener = Box::new(|_event| {});
/// assert!(sink.subscribe(listener).is_err(), "no listener places");
/// ```
pub type Listener = Box<dyn Fn(&SignalEvent) + Send + Sync>;

// The slot word, low bits first: three flags, then the count of calls inside. The flags
// are used as masks, since the protocol sets and compares several at once.
/// The listener is published: calls that see it invoke it.
const ACTIVE: usize = Field::<usize>::flag(0).mask();
/// The slot is owned (a box is present, being written or being taken out).
const CLAIMED: usize = Field::<usize>::flag(1).mask();
/// One thread has exclusive access to the cell (the adder writing it, the freer emptying it).
const BUSY: usize = Field::<usize>::flag(2).mask();
/// The calls in progress on the slot: the bits above the flags.
const READERS: Field<usize> = Field::top(3);
/// One call in progress on the slot.
const READER: usize = READERS.unit();

/// One place for a listener.
struct Slot {
    /// `readers * READER | BUSY | CLAIMED | ACTIVE`, see the module docs. Written by
    /// `add` (claim CAS, publishing `fetch_xor`), `remove` (`fetch_and(!ACTIVE)`), calls
    /// (`fetch_add`/`fetch_sub(READER)`) and the freer (CAS to `BUSY`, `fetch_sub`).
    state: AtomicUsize,
    /// `Some` from the adder's write until the freer's take; written only under `BUSY`,
    /// read only by readers that saw `ACTIVE`.
    listener: UnsafeCell<Option<Listener>>,
}

/// A fixed-capacity, lock-free set of synchronous listeners, called on the raising thread
/// with every raise.
pub struct Listeners {
    slots: Box<[Slot]>,
    /// Listeners added and not yet removed (counting adds in progress); written by `add`
    /// (`fetch_add` before publishing) and `remove` (`fetch_sub` after unpublishing). A
    /// call that reads 0 has nothing to call and returns.
    active: AtomicUsize,
    /// One past the highest slot index ever claimed; only grows (`fetch_max` by `add`,
    /// before publishing). Calls visit the slots below it.
    high: AtomicUsize,
    /// Panics caught in listeners' calls and drops (under `std`); incremented by
    /// whichever thread caught one, and by [`count_panic`](Self::count_panic).
    panics: AtomicU64,
}

// Cell accesses follow the slot protocol (module docs): the box is written and taken only
// by the single thread holding `BUSY`, and shared references to it are made only by
// readers that saw `ACTIVE`, which excludes `BUSY` until they leave.
// SAFETY: the only non-`Send`/`Sync` parts are the cells holding `Listener`s, which are
// `Send + Sync`: other threads get `&Listener` or drop boxes made elsewhere (protocol above).
unsafe impl Send for Listeners {}
// SAFETY: as for `Send` above.
unsafe impl Sync for Listeners {}

impl Listeners {
    /// A set with `capacity` places, all allocated here.
    pub fn new(capacity: usize) -> Self {
        let slots: Vec<Slot> = (0..capacity)
            .map(|_| Slot {
                state: AtomicUsize::new(0),
                listener: UnsafeCell::new(None),
            })
            .collect();
        Self {
            slots: slots.into_boxed_slice(),
            active: AtomicUsize::new(0),
            high: AtomicUsize::new(0),
            panics: AtomicU64::new(0),
        }
    }

    /// How many listeners fit at once.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Adds `listener` and returns its slot, or hands it back when every slot is taken
    /// (a removed listener's slot is taken until the last call inside it has left).
    pub fn add(&self, listener: Listener) -> Result<usize, Listener> {
        loop {
            // Whether a slot was held only by calls leaving it (invariant 6).
            let mut leaving = false;
            for (index, slot) in self.slots.iter().enumerate() {
                if let Err(seen) = slot.state.compare_exchange(
                    0,
                    CLAIMED | BUSY,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    leaving |= seen & CLAIMED == 0;
                    continue;
                }
                // SAFETY: our CAS from 0 set `BUSY`, so no other thread accesses the cell
                // (invariant 2): readers that come in see no `ACTIVE`, frees need exactly
                // `CLAIMED`. The `Acquire` follows the previous freer's release, so its
                // take happened before this write. The cell holds `None` (the freer took
                // the box).
                slot.listener
                    .with_mut(|cell| unsafe { *cell = Some(listener) });
                self.active.fetch_add(1, Ordering::Relaxed);
                self.high.fetch_max(index + 1, Ordering::Relaxed);
                // Publish: clear `BUSY` and set `ACTIVE` at once, keeping any reader counts.
                slot.state.fetch_xor(ACTIVE | BUSY, Ordering::Release);
                return Ok(index);
            }
            if !leaving {
                return Err(listener);
            }
            spin_hint();
        }
    }

    /// Removes the listener in `slot`, without waiting: if a call is inside it, the last
    /// call to leave drops the listener; otherwise it is dropped here. Removing a slot
    /// that holds no published listener (or is out of range) does nothing.
    pub fn remove(&self, slot: usize) {
        let Some(s) = self.slots.get(slot) else {
            return;
        };
        let mut old = s.state.load(Ordering::Relaxed);
        let freeing = loop {
            if old & ACTIVE == 0 {
                return;
            }
            // Nobody inside: take the slot for freeing in the same step that unpublishes
            // it (invariant 4). Otherwise the last call out frees it.
            let freeing = old & !ACTIVE == CLAIMED;
            let new = if freeing {
                CLAIMED | BUSY
            } else {
                old & !ACTIVE
            };
            match s
                .state
                .compare_exchange(old, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break freeing,
                Err(seen) => old = seen,
            }
        };
        // Our `Acquire` read the adder's `Release` publication, so its increment of
        // `active` comes before this decrement in `active`'s modification order.
        self.active.fetch_sub(1, Ordering::Relaxed);
        if freeing {
            self.free(s);
        }
    }

    /// Whether no listener is added (a caller may skip building an event for nobody).
    pub fn is_idle(&self) -> bool {
        self.active.load(Ordering::Relaxed) == 0
    }

    /// Panics caught in listeners (their calls and their drops) so far; always 0 without
    /// `std`, where a panic cannot be caught.
    pub fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// Counts a panic caught in a callback that stands beside the listeners (a
    /// coordinator's `on_signal`).
    pub fn count_panic(&self) {
        self.panics.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs user code of a listener (its call or its drop), counting a caught panic.
    fn contained(&self, f: impl FnOnce()) {
        if contain(f).is_none() {
            self.count_panic();
        }
    }

    /// Calls every published listener with `event`, in slot order, on this thread. With
    /// no listeners this is one atomic load.
    pub fn call(&self, event: &SignalEvent) {
        // A call that starts after an `add` returned reads its increment or a later value
        // (coherence), and every decrement follows its own increment (see `remove`), so
        // 0 means no listener needs calling.
        if self.active.load(Ordering::Relaxed) == 0 {
            return;
        }
        let high = self.high.load(Ordering::Relaxed).min(self.slots.len());
        for slot in &self.slots[..high] {
            // Cheap skip of unpublished slots; the `fetch_add` below decides.
            if slot.state.load(Ordering::Relaxed) & ACTIVE == 0 {
                continue;
            }
            let reading = Reading::enter(self, slot);
            if reading.saw & ACTIVE == 0 {
                continue;
            }
            // The call runs inside `with` so that loom checks the whole shared access.
            slot.listener.with(|cell| {
                // Our `fetch_add` returned `ACTIVE` (Acquire, after the adder's Release),
                // so the box is written; our `READER` keeps the word from being exactly
                // `CLAIMED` or 0 until `reading` drops (invariants 1 and 3).
                // SAFETY: so no free or add writes the cell meanwhile, and only shared
                // references are made, which concurrent and re-entrant readers may share.
                if let Some(listener) = unsafe { (*cell).as_ref() } {
                    // Caught here, so one bad listener loses only its own call.
                    self.contained(|| listener(event));
                }
            });
            drop(reading);
        }
    }

    /// Takes the listener out of `slot`, whose `BUSY` the caller set with no reader that
    /// saw `ACTIVE` inside, releases the slot, then drops the listener.
    fn free(&self, slot: &Slot) {
        // SAFETY: the caller's CAS set `BUSY` while `ACTIVE` was clear (or cleared it in
        // the same step) and no reader that saw `ACTIVE` was inside; readers arriving now
        // see no `ACTIVE` and do not touch the cell, and no add claims before the word
        // returns to 0 (invariants 1 and 2). That CAS was `Acquire` and followed every
        // earlier reader's `Release` `fetch_sub` (release sequence), so their calls
        // happened before this take.
        let listener = slot.listener.with_mut(|cell| unsafe { (*cell).take() });
        // Not `store(0)`: keep the counts of readers that came in meanwhile (invariant 5).
        slot.state.fetch_sub(CLAIMED | BUSY, Ordering::Release);
        // Dropped after the slot is released, so a panicking drop cannot wedge it.
        self.contained(|| drop(listener));
    }
}

impl Slot {
    /// Takes the slot for freeing if it is dying with nobody inside (exactly `CLAIMED`).
    /// At most one thread wins; the others (and a reader that came in) leave it to the
    /// winner or to the last reader out.
    fn claim_dying(&self) -> bool {
        self.state
            .compare_exchange(
                CLAIMED,
                CLAIMED | BUSY,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_ok()
    }
}

/// One call's presence in a slot: `READER` added on entry, removed on drop (also when a
/// listener unwinds, where its panic cannot be caught), freeing the slot if this was the
/// last one out of a removed listener.
struct Reading<'a> {
    set: &'a Listeners,
    slot: &'a Slot,
    /// The word before our `fetch_add`.
    saw: usize,
}

impl<'a> Reading<'a> {
    fn enter(set: &'a Listeners, slot: &'a Slot) -> Self {
        let saw = slot.state.fetch_add(READER, Ordering::Acquire);
        Self { set, slot, saw }
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        let old = self.slot.state.fetch_sub(READER, Ordering::AcqRel);
        if old - READER == CLAIMED && self.slot.claim_dying() {
            self.set.free(self.slot);
        }
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        // `&mut self`: no call, add or remove is in progress, so every box left is ours.
        for slot in &*self.slots {
            // SAFETY: exclusive access to the whole set (see above).
            let listener = slot.listener.with_mut(|cell| unsafe { (*cell).take() });
            // One listener's panicking drop neither leaks the others nor escapes.
            self.contained(|| drop(listener));
        }
    }
}

impl fmt::Debug for Listeners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listeners")
            .field("capacity", &self.capacity())
            .field("active", &self.active.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::signal::SignalTable;
    use crate::sync::{Arc, AtomicBool};
    use core::time::Duration;

    fn event() -> SignalEvent {
        let table = SignalTable::new(1);
        SignalEvent {
            signal: table.intern("s").unwrap(),
            operation_id: None,
            key: None,
            at: Duration::ZERO,
        }
    }

    /// Counts its drops into the shared counter.
    struct DropCount(Arc<AtomicUsize>);

    impl Drop for DropCount {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A listener counting its calls into `calls` and its drops into `drops`.
    fn counting(calls: &Arc<AtomicUsize>, drops: &Arc<AtomicUsize>) -> Listener {
        let calls = calls.clone();
        let guard = DropCount(drops.clone());
        Box::new(move |_| {
            let _ = &guard;
            calls.fetch_add(1, Ordering::SeqCst);
        })
    }

    fn counters() -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)))
    }

    #[test]
    fn add_call_remove() {
        let listeners = Listeners::new(2);
        let (calls, drops) = counters();
        listeners.call(&event());
        let slot = listeners.add(counting(&calls, &drops)).ok().unwrap();
        listeners.call(&event());
        listeners.call(&event());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        listeners.remove(slot);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "no call inside: remove drops it"
        );
        listeners.call(&event());
        assert_eq!(calls.load(Ordering::SeqCst), 2, "not called after remove");
        listeners.remove(slot);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "a second remove does nothing"
        );
        listeners.remove(7);
    }

    #[test]
    fn full_hands_the_listener_back_and_a_removed_slot_is_reused() {
        let listeners = Listeners::new(2);
        let (calls, drops) = counters();
        let a = listeners.add(counting(&calls, &drops)).ok().unwrap();
        let b = listeners.add(counting(&calls, &drops)).ok().unwrap();
        assert_ne!(a, b);
        let refused = listeners.add(counting(&calls, &drops)).err().unwrap();
        refused(&event());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "handed back whole and callable"
        );
        drop(refused);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        listeners.remove(a);
        assert_eq!(listeners.add(counting(&calls, &drops)).ok(), Some(a));
        drop(listeners);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            4,
            "each listener dropped once"
        );
    }

    #[test]
    fn capacity_zero_refuses_everything() {
        let listeners = Listeners::new(0);
        assert_eq!(listeners.capacity(), 0);
        assert!(listeners.add(Box::new(|_| {})).is_err());
        listeners.call(&event());
        listeners.remove(0);
    }

    #[test]
    fn a_listener_removing_itself_is_dropped_once_after_its_call() {
        let listeners = Arc::new(Listeners::new(2));
        let (calls, drops) = counters();
        let slot = Arc::new(AtomicUsize::new(usize::MAX));
        let listener: Listener = {
            let (listeners, slot, calls) = (listeners.clone(), slot.clone(), calls.clone());
            let drops_seen = drops.clone();
            let guard = DropCount(drops.clone());
            Box::new(move |_| {
                let _ = &guard;
                listeners.remove(slot.load(Ordering::SeqCst));
                assert_eq!(
                    drops_seen.load(Ordering::SeqCst),
                    0,
                    "dropped during its call"
                );
                calls.fetch_add(1, Ordering::SeqCst);
            })
        };
        slot.store(listeners.add(listener).ok().unwrap(), Ordering::SeqCst);
        listeners.call(&event());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the caller, last out, dropped it"
        );
        listeners.call(&event());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        // The listener held an `Arc` of the set: it is gone, so this is the last one.
        assert_eq!(Arc::strong_count(&listeners), 1);
    }

    #[test]
    fn a_listener_may_raise_add_and_remove_re_entrantly() {
        let listeners = Arc::new(Listeners::new(3));
        let (calls, drops) = counters();
        let depth = Arc::new(AtomicUsize::new(0));
        let other = listeners.add(counting(&calls, &drops)).ok().unwrap();
        let reentrant: Listener = {
            let (listeners, calls, drops, depth) = (
                listeners.clone(),
                calls.clone(),
                drops.clone(),
                depth.clone(),
            );
            Box::new(move |event| {
                if depth.fetch_add(1, Ordering::SeqCst) == 0 {
                    listeners.call(event);
                    listeners.remove(other);
                    let added = listeners.add(counting(&calls, &drops)).ok().unwrap();
                    assert_eq!(added, other, "the removed slot was free again");
                }
            })
        };
        let slot = listeners.add(reentrant).ok().unwrap();
        listeners.call(&event());
        // The outer call reached `other` (slot 0), then the re-entrant listener (slot 1),
        // whose nested call reached `other` again; the outer call had left slot 0, so
        // `remove` dropped `other` at once and the re-add took its slot.
        assert_eq!(depth.load(Ordering::SeqCst), 2);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "outer and nested call of `other`"
        );
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the removed `other` was dropped"
        );
        listeners.remove(slot);
        listeners.call(&event());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "only the re-added listener"
        );
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the set still holds the re-added one"
        );
        drop(listeners);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_listener_removed_during_a_call_is_dropped_once_by_the_last_caller() {
        let listeners = Arc::new(Listeners::new(1));
        let (calls, drops) = counters();
        let slot = listeners.add(counting(&calls, &drops)).ok().unwrap();
        // A listener in slot 0 that removes slot 0 while an outer call is inside it: the
        // nested call goes through the same slot.
        let nested: Listener = {
            let listeners = listeners.clone();
            let guard = DropCount(drops.clone());
            let depth = AtomicUsize::new(0);
            Box::new(move |event| {
                let _ = &guard;
                if depth.fetch_add(1, Ordering::SeqCst) == 0 {
                    listeners.call(event); // second reader in the slot
                    listeners.remove(0);
                    listeners.call(event); // does not reach us: removed
                }
            })
        };
        listeners.remove(slot);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(listeners.add(nested).ok(), Some(0));
        listeners.call(&event());
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "dropped once, when the outer call left"
        );
        assert_eq!(
            listeners.add(Box::new(|_| {})).ok(),
            Some(0),
            "slot free again"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn dropping_the_set_drops_each_remaining_listener_once() {
        let (calls, drops) = counters();
        let listeners = Listeners::new(4);
        let slots: Vec<usize> = (0..3)
            .map(|_| listeners.add(counting(&calls, &drops)).ok().unwrap())
            .collect();
        listeners.remove(slots[1]);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        drop(listeners);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    }

    #[test]
    #[cfg(feature = "std")]
    fn a_panicking_listener_loses_only_its_own_call_and_is_counted() {
        let listeners = Listeners::new(3);
        let (calls, drops) = counters();
        let bad = listeners
            .add(Box::new(|_| panic!("listener bug")))
            .ok()
            .unwrap();
        listeners.add(counting(&calls, &drops)).ok().unwrap();
        listeners.call(&event());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the later listener ran");
        assert_eq!(listeners.panics(), 1);
        listeners.call(&event());
        assert_eq!((calls.load(Ordering::SeqCst), listeners.panics()), (2, 2));
        // Its slot was left correctly: removable, then free for the next listener.
        listeners.remove(bad);
        assert_eq!(listeners.add(Box::new(|_| {})).ok(), Some(bad));
    }

    /// Panics when dropped.
    #[cfg(feature = "std")]
    struct PanicOnDrop;

    #[cfg(feature = "std")]
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("listener drop bug");
        }
    }

    #[test]
    #[cfg(feature = "std")]
    fn a_listener_whose_drop_panics_is_contained_on_every_drop_path() {
        let listeners = Arc::new(Listeners::new(3));
        let (calls, drops) = counters();
        let guard = PanicOnDrop;
        let removed_by_remove = listeners
            .add(Box::new(move |_| {
                let _ = &guard;
            }))
            .ok()
            .unwrap();
        // Dropped by the last call out: it removes itself during its call.
        let set = listeners.clone();
        let guard = PanicOnDrop;
        let dropped_by_the_call: Listener = Box::new(move |_| {
            let _ = &guard;
            set.remove(1);
        });
        assert_eq!(listeners.add(dropped_by_the_call).ok(), Some(1));
        listeners.add(counting(&calls, &drops)).ok().unwrap();

        listeners.remove(removed_by_remove);
        assert_eq!(listeners.panics(), 1, "remove dropped it");
        listeners.call(&event());
        assert_eq!(listeners.panics(), 2, "the call that left last dropped it");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the later listener ran");

        let guard = PanicOnDrop;
        listeners
            .add(Box::new(move |_| {
                let _ = &guard;
            }))
            .ok()
            .unwrap();
        let listeners = Arc::try_unwrap(listeners).ok().unwrap();
        drop(listeners);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the others were dropped too"
        );
    }

    #[test]
    fn add_takes_a_slot_that_only_a_leaving_call_holds() {
        extern crate std;
        let listeners = Listeners::new(1);
        // A call that saw the slot published in its pre-check, then found it removed: it
        // holds a reader count but will call nothing.
        let slot = &listeners.slots[0];
        let leaving = Reading::enter(&listeners, slot);
        assert_eq!(leaving.saw & ACTIVE, 0);
        let released = std::thread::scope(|scope| {
            let adder = scope.spawn(|| listeners.add(Box::new(|_| {})).ok());
            std::thread::sleep(core::time::Duration::from_millis(20));
            drop(leaving);
            adder.join().unwrap()
        });
        assert_eq!(
            released,
            Some(0),
            "refused while only a leaving call held it"
        );
    }

    #[test]
    fn two_threads_calling_adding_and_removing() {
        extern crate std;
        let rounds = if cfg!(miri) { 20 } else { 2_000 };
        let listeners = Arc::new(Listeners::new(2));
        let (calls, drops) = counters();
        let done = Arc::new(AtomicBool::new(false));
        let caller = {
            let (listeners, done) = (listeners.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    listeners.call(&event());
                }
            })
        };
        let mut added = 0;
        for _ in 0..rounds {
            if let Ok(slot) = listeners.add(counting(&calls, &drops)) {
                added += 1;
                listeners.remove(slot);
            }
        }
        done.store(true, Ordering::SeqCst);
        caller.join().unwrap();
        // Every added listener was removed; the caller is gone, so each was dropped once
        // (refused ones were handed back and dropped here too).
        assert_eq!(drops.load(Ordering::SeqCst), rounds);
        assert!(added > 0);
        let after = calls.load(Ordering::SeqCst);
        listeners.call(&event());
        assert_eq!(calls.load(Ordering::SeqCst), after);
    }
}
