//! The keyed scheduler's queue: per-key FIFO lists, a per-key running limit, and a
//! round-robin ring of keys that may start something.
//!
//! Everything is fixed at construction, so nothing allocates per item:
//! * each key's waiting operations form a list threaded through `next`, one link per
//!   window slot (an operation is in at most one list);
//! * keys live in `entries`, found through an open-addressing index (linear probing,
//!   backward-shift deletion: Knuth, TAOCP vol. 3, 6.4, Algorithm R), so the index never
//!   fills with tombstones;
//! * `ready` holds the keys that have waiting items and room under their limit, each at
//!   most once.
//!
//! A key's entry exists while the key has a waiting or running item, and is freed (its
//! key dropped) when the last one finishes. Entries needed at once are bounded by the
//! waiting items (`queue_capacity`) plus the items workers hold (`concurrency
//! ceiling`), which is the table's size: an unbounded key space costs bounded memory.
//!
//! All of it sits behind one [`Lock`], held for a few loads and stores per push, pop
//! and finish; the alternative, a lock-free multi-list scheduler, would need a
//! multi-word commit for the same steps.
//!
//! Keys are user types, so their code is kept out of the lock where it can be: a key
//! is hashed before the lock is taken, cloned (for a new entry) between two takes of
//! it, and dropped (when its entry is freed) after it is released. Only `Eq` runs under
//! the lock, in lookups that change nothing before they finish: if it panics, the lock
//! is released by its guard and the tables are as they were. (A key's `Eq` must not
//! call back into its coordinator: the lock is not re-entrant.)
//!
//! Each key may have at most `max_queued_per_key` items waiting, so a key whose bodies
//! are stuck cannot fill the queue: other keys' items are still accepted.
//!
//! A key its gate defers is *held* (`hold.rs`): out of `ready`, its items wait in its
//! list and hold no worker, until its signal goes or its deferral bound passes.

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use concurrent_queue::{PopError, PushError};

use super::gate::KeyGate;
use crate::coordinator::core::admission::Gate;
use crate::coordinator::core::intake::Queue;
use crate::coordinator::core::schedule::Schedule;
use crate::operation::OperationId;
use crate::options::{Options, OptionsError};
use crate::runtime::Timer;
use crate::signal::{Signal, SignalSink};
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Lock, Ordering};
use hold::Gating;

mod hold;

/// An empty index place, and the end of a list.
const NONE: u32 = u32::MAX;

/// What a worker holds for a keyed item: the operation and its key's entry.
#[derive(Clone, Copy, Debug)]
pub struct KeyTicket {
    id: OperationId,
    entry: u32,
}

struct Entry<K> {
    /// `None` while the entry is free.
    key: Option<K>,
    hash: u64,
    /// The key's oldest and newest waiting operation (`None`: no list).
    head: Option<OperationId>,
    tail: Option<OperationId>,
    waiting: usize,
    running: usize,
    /// Starts in a row while at the front of `ready`.
    streak: usize,
    in_ready: bool,
    /// The signal the key is held for while it is held (then it is in `parked`, not in
    /// `ready`).
    parked: Option<Signal>,
    /// Sink-clock time its gate first deferred it, since it last said run: the start of
    /// the deferral bound.
    held_since: Option<Duration>,
}

impl<K> Entry<K> {
    const FREE: Self = Self {
        key: None,
        hash: 0,
        head: None,
        tail: None,
        waiting: 0,
        running: 0,
        streak: 0,
        in_ready: false,
        parked: None,
        held_since: None,
    };
}

struct Table<K> {
    entries: Box<[Entry<K>]>,
    /// Free entries, as a stack of indices.
    free: alloc::vec::Vec<u32>,
    /// Hash index: entry indices, `NONE` where empty; a power of two, at least twice
    /// the entries, so probes stay short.
    index: Box<[u32]>,
    /// Per window slot: the next operation in the same key's list.
    next: Box<[Option<OperationId>]>,
    ready: VecDeque<u32>,
    /// Held keys' entries, each at most once (allocated for every entry).
    parked: alloc::vec::Vec<u32>,
}

/// The limits only a keyed coordinator has, set on its builder
/// ([`KeyedWorkCoordinator::builder`](crate::KeyedWorkCoordinator::builder)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyLimits {
    /// How many bodies of one key may run at once. Default 1 (each key's items run one
    /// after another, in enqueue order).
    pub max_concurrency_per_key: usize,
    /// After this many consecutive starts for one key, other keys that are ready go
    /// first. Only matters when `max_concurrency_per_key` is above 1. Default 8.
    pub fair_scheduling_threshold: usize,
    /// How many items of one key may wait in the queue at once. `None` means half of
    /// `queue_capacity`, rounded up.
    pub max_queued_per_key: Option<usize>,
}

impl Default for KeyLimits {
    fn default() -> Self {
        Self {
            max_concurrency_per_key: 1,
            fair_scheduling_threshold: 8,
            max_queued_per_key: None,
        }
    }
}

impl KeyLimits {
    /// Checks every value; the keyed coordinator's build calls this.
    pub fn validate(&self) -> Result<(), OptionsError> {
        if self.max_concurrency_per_key == 0 {
            return Err(OptionsError::ZeroConcurrencyPerKey);
        }
        if self.fair_scheduling_threshold == 0 {
            return Err(OptionsError::ZeroFairnessThreshold);
        }
        if self.max_queued_per_key == Some(0) {
            return Err(OptionsError::ZeroQueuedPerKey);
        }
        Ok(())
    }

    /// The per-key queue share in force for a queue of `queue_capacity`: the one set,
    /// or half the queue (rounded up).
    pub fn queued_share(&self, queue_capacity: usize) -> usize {
        self.max_queued_per_key
            .unwrap_or(queue_capacity.div_ceil(2))
    }
}

/// The keyed queue: per-key FIFO lists of waiting operations, each key's running count
/// under its limit, and the ring of keys that may start something, behind one lock.
pub struct Keys<K> {
    table: Lock<Table<K>>,
    /// Items waiting in all lists: written under the lock only, read without it for the
    /// cheap checks (`is_full`, an empty `pop`).
    waiting: AtomicUsize,
    closed: AtomicBool,
    capacity: usize,
    /// How many of one key's items may wait (`max_queued_per_key`).
    share: usize,
    per_key: usize,
    threshold: usize,
    hasher: KeyHasher,
    /// The per-key gate, if one was given.
    gating: Option<Gating<K>>,
    max_defer: Duration,
    /// Entries with `held_since` set: the gate takes the lock to end a hold only then.
    holding: AtomicUsize,
    /// Items waiting in a held key when it was released.
    released: AtomicU64,
}

/// Hashes keys: randomly seeded under `std` (so keys chosen by an adversary cannot
/// force long probes), a fixed FNV-1a without it.
#[cfg(feature = "std")]
type KeyHasher = std::hash::RandomState;
#[cfg(not(feature = "std"))]
type KeyHasher = core::hash::BuildHasherDefault<Fnv>;

/// FNV-1a (Fowler, Noll, Vo), for `no_std` builds without a source of randomness.
#[cfg(not(feature = "std"))]
#[derive(Default)]
pub(crate) struct Fnv(u64);

#[cfg(not(feature = "std"))]
impl core::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        if self.0 == 0 {
            self.0 = 0xcbf2_9ce4_8422_2325;
        }
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl<K: Hash + Eq> Keys<K> {
    /// A scheduler for `options` and `limits`, whose window has `slots` slots.
    pub fn new(options: &Options, limits: &KeyLimits, slots: usize) -> Self {
        let capacity = options.queue_capacity;
        let entries = capacity.saturating_add(options.effective_concurrency_ceiling());
        let index = entries.saturating_mul(2).next_power_of_two();
        Self {
            table: Lock::new(Table {
                entries: (0..entries).map(|_| Entry::FREE).collect(),
                // Entry counts fit in u32: options validation bounds them by the slab.
                free: (0..entries as u32).rev().collect(),
                index: (0..index).map(|_| NONE).collect(),
                next: (0..slots).map(|_| None).collect(),
                ready: VecDeque::with_capacity(entries),
                parked: alloc::vec::Vec::with_capacity(entries),
            }),
            waiting: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            capacity,
            share: limits.queued_share(options.queue_capacity),
            per_key: limits.max_concurrency_per_key,
            threshold: limits.fair_scheduling_threshold,
            hasher: KeyHasher::default(),
            gating: None,
            max_defer: options.max_defer,
            holding: AtomicUsize::new(0),
            released: AtomicU64::new(0),
        }
    }

    /// Gates each taken item by `gate` over the signals of `sink` (the coordinator's).
    pub fn gated(mut self, gate: KeyGate<K>, sink: SignalSink) -> Self {
        if !gate.is_empty() {
            self.gating = Some(Gating::new(gate, sink));
        }
        self
    }

    /// How many of `key`'s items wait, and how many are taken (running, or about to).
    pub(crate) fn counts(&self, key: &K) -> (usize, usize) {
        // User code (`Hash`) outside the lock.
        let hash = self.hasher.hash_one(key);
        self.table.with(|t| match t.find(hash, key) {
            Ok(place) => {
                let entry = &t.entries[t.index[place] as usize];
                (entry.waiting, entry.running)
            }
            Err(_) => (0, 0),
        })
    }

    /// Keys with a waiting or running item.
    pub(crate) fn active_keys(&self) -> usize {
        self.table.with(|t| t.entries.len() - t.free.len())
    }
}

impl<K: Hash + Eq> Table<K> {
    /// `Ok(place)` of `key` in the index, or `Err(place)` of the empty place ending its
    /// probe sequence.
    fn find(&self, hash: u64, key: &K) -> Result<usize, usize> {
        let mask = self.index.len() - 1;
        let mut place = hash as usize & mask;
        loop {
            match self.index[place] {
                NONE => return Err(place),
                entry => {
                    let e = &self.entries[entry as usize];
                    if e.hash == hash && e.key.as_ref() == Some(key) {
                        return Ok(place);
                    }
                }
            }
            place = (place + 1) & mask;
        }
    }

    /// The index place holding `entry`, whose key hashes to `hash`.
    fn place_of(&self, hash: u64, entry: u32) -> Option<usize> {
        let mask = self.index.len() - 1;
        let mut place = hash as usize & mask;
        loop {
            match self.index[place] {
                NONE => return None,
                found if found == entry => return Some(place),
                _ => place = (place + 1) & mask,
            }
        }
    }

    /// Empties index place `hole`, shifting later members of its probe run back so
    /// every remaining key is still found (Algorithm R).
    fn unindex(&mut self, mut hole: usize) {
        let mask = self.index.len() - 1;
        self.index[hole] = NONE;
        let mut place = (hole + 1) & mask;
        while self.index[place] != NONE {
            let home = self.entries[self.index[place] as usize].hash as usize & mask;
            // Move it into the hole unless its home lies cyclically in (hole, place].
            if place.wrapping_sub(home) & mask >= place.wrapping_sub(hole) & mask {
                self.index[hole] = self.index[place];
                self.index[place] = NONE;
                hole = place;
            }
            place = (place + 1) & mask;
        }
    }

    fn make_ready(&mut self, entry: u32) {
        let e = &mut self.entries[entry as usize];
        e.in_ready = true;
        e.streak = 0;
        self.ready.push_back(entry);
    }
}

impl<K: Hash + Eq> Keys<K> {
    /// Files `id` under `key` (whose hash is `hash`); `fresh` is a clone of the key for
    /// a new entry, made by the caller outside the lock when this asked for one.
    fn push_locked(
        &self,
        t: &mut Table<K>,
        id: OperationId,
        key: &K,
        hash: u64,
        fresh: &mut Option<K>,
    ) -> Pushed {
        if self.closed.load(Ordering::Relaxed) {
            return Pushed::Refused(PushError::Closed(id));
        }
        let waiting = self.waiting.load(Ordering::Relaxed);
        if waiting >= self.capacity {
            return Pushed::Refused(PushError::Full(id));
        }
        let entry = match t.find(hash, key) {
            Ok(place) => t.index[place],
            Err(place) => {
                // Waiting plus taken items bound the live keys by the table's size.
                let Some(&entry) = t.free.last() else {
                    return Pushed::Refused(PushError::Full(id));
                };
                let Some(clone) = fresh.take() else {
                    return Pushed::NeedsKey;
                };
                t.free.pop();
                t.index[place] = entry;
                let e = &mut t.entries[entry as usize];
                *e = Entry::FREE;
                e.key = Some(clone);
                e.hash = hash;
                entry
            }
        };
        if t.entries[entry as usize].waiting >= self.share {
            return Pushed::Refused(PushError::Full(id));
        }
        match t.entries[entry as usize].tail {
            Some(tail) => t.next[tail.index() as usize] = Some(id),
            None => t.entries[entry as usize].head = Some(id),
        }
        t.next[id.index() as usize] = None;
        let e = &mut t.entries[entry as usize];
        e.tail = Some(id);
        e.waiting += 1;
        if !e.in_ready && e.parked.is_none() && e.running < self.per_key {
            t.make_ready(entry);
        }
        self.waiting.store(waiting + 1, Ordering::Relaxed);
        Pushed::Queued
    }

    fn pop_locked(&self, t: &mut Table<K>) -> Result<KeyTicket, PopError> {
        let Some(&entry) = t.ready.front() else {
            let waiting = self.waiting.load(Ordering::Relaxed);
            return Err(if self.closed.load(Ordering::Relaxed) && waiting == 0 {
                PopError::Closed
            } else {
                PopError::Empty
            });
        };
        let e = &mut t.entries[entry as usize];
        let Some(id) = e.head else {
            unreachable!("a ready key has a waiting item")
        };
        e.head = t.next[id.index() as usize].take();
        if e.head.is_none() {
            e.tail = None;
        }
        e.waiting -= 1;
        e.running += 1;
        e.streak += 1;
        let stays = e.waiting > 0 && e.running < self.per_key;
        let yields = e.streak >= self.threshold;
        if !stays || yields {
            t.ready.pop_front();
            let e = &mut t.entries[entry as usize];
            e.in_ready = false;
            e.streak = 0;
            if stays {
                // Fair scheduling: its turn is over; other ready keys go first.
                t.make_ready(entry);
            }
        }
        // Under the lock, so a plain load and store cannot lose a concurrent change.
        let waiting = self.waiting.load(Ordering::Relaxed);
        self.waiting.store(waiting - 1, Ordering::Relaxed);
        Ok(KeyTicket { id, entry })
    }

    /// Ends `ticket`'s run. Returns whether that made one of the key's items takeable,
    /// and the key itself when its entry was freed (for the caller to drop unlocked).
    fn done_locked(&self, t: &mut Table<K>, ticket: KeyTicket) -> (bool, Option<K>) {
        let e = &mut t.entries[ticket.entry as usize];
        e.running -= 1;
        if e.waiting == 0 && e.running == 0 {
            // Idle: unindex the entry and free it; its key leaves with the caller.
            let key = e.key.take();
            let hash = e.hash;
            if e.held_since.take().is_some() {
                self.holding.fetch_sub(1, Ordering::Relaxed);
            }
            if e.parked.take().is_some() {
                // Cancelled while held: its items were taken by `take_any`.
                t.parked.retain(|&held| held != ticket.entry);
            }
            if let Some(place) = t.place_of(hash, ticket.entry) {
                t.unindex(place);
            }
            t.free.push(ticket.entry);
            return (false, key);
        }
        if e.waiting > 0 && !e.in_ready && e.parked.is_none() && e.running < self.per_key {
            t.make_ready(ticket.entry);
            return (true, None);
        }
        (false, None)
    }
}

/// What one attempt to file an item under its key came to.
enum Pushed {
    Queued,
    Refused(PushError<OperationId>),
    /// The key has no entry yet: take the lock again with a clone of it.
    NeedsKey,
}

impl<K: Hash + Eq> Queue for Keys<K> {
    type Taken = KeyTicket;
    // Enqueuers wait for room in the queue or in their key's share, on one wake-up: a
    // take wakes them all, since the one woken might be waiting on another key.
    const WAKES_ON_TAKE: usize = usize::MAX;

    fn pop(&self) -> Result<KeyTicket, PopError> {
        if self.waiting.load(Ordering::Relaxed) == 0 && !self.closed.load(Ordering::Relaxed) {
            // Nothing waits: skip the lock (a racing push notifies after it unlocks).
            return Err(PopError::Empty);
        }
        // The clock outside the lock: a sink's clock may be a user's `Timer`.
        let now = self.gating.as_ref().map(|gating| gating.now());
        self.table.with(|t| {
            if let Some(now) = now {
                self.release_held(t, now);
            }
            self.pop_locked(t)
        })
    }

    fn take_any(&self) -> Option<KeyTicket> {
        self.table.with(|t| {
            if let Ok(ticket) = self.pop_locked(t) {
                return Some(ticket);
            }
            // What `pop` holds back: the oldest waiting item of a key at its limit.
            // Taken as if started, so `done` settles the key as for any other item.
            let entry = t.entries.iter().position(|e| e.waiting > 0)?;
            let e = &mut t.entries[entry];
            let id = e.head?;
            e.head = t.next[id.index() as usize].take();
            if e.head.is_none() {
                e.tail = None;
            }
            e.waiting -= 1;
            e.running += 1;
            let waiting = self.waiting.load(Ordering::Relaxed);
            self.waiting.store(waiting - 1, Ordering::Relaxed);
            Some(KeyTicket {
                id,
                entry: entry as u32,
            })
        })
    }

    fn close(&self) -> bool {
        // Under the lock, so a push either lands before the close or is refused by it.
        self.table
            .with(|_| !self.closed.swap(true, Ordering::Relaxed))
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn is_full(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) >= self.capacity
    }
}

impl<K> Schedule for Keys<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    type Key = K;
    const READS_KEY: bool = true;
    // Held keys are released by a retract (the sink's `changed`) or a timer.
    const HOLDS: bool = true;

    fn holds(&self) -> bool {
        // Only a gate holds keys: without one, idle workers wait on pushes alone.
        self.gating.is_some()
    }

    fn push(&self, id: OperationId, key: Option<&K>) -> Result<(), PushError<OperationId>> {
        let Some(key) = key else {
            unreachable!("the core passes the key of a keyed operation")
        };
        // User code (`Hash`, `Clone`) outside the lock; see the module docs.
        let hash = self.hasher.hash_one(key);
        let mut fresh = None;
        loop {
            match self
                .table
                .with(|t| self.push_locked(t, id, key, hash, &mut fresh))
            {
                Pushed::Queued => return Ok(()),
                Pushed::Refused(refused) => return Err(refused),
                Pushed::NeedsKey => fresh = Some(key.clone()),
            }
        }
    }

    fn free_for(&self, key: &K) -> usize {
        let room = self
            .capacity
            .saturating_sub(self.waiting.load(Ordering::Relaxed));
        let (waiting, _) = self.counts(key);
        room.min(self.share.saturating_sub(waiting))
    }

    fn id(taken: &KeyTicket) -> OperationId {
        taken.id
    }

    fn done(&self, taken: KeyTicket) -> bool {
        let (takeable, freed) = self.table.with(|t| self.done_locked(t, taken));
        // A freed key is dropped here, unlocked (user code; a panic in it is the
        // caller's to contain).
        drop(freed);
        takeable
    }

    fn gates(&self) -> bool {
        self.gating.is_some()
    }

    fn gate(&self, taken: &KeyTicket, key: &K) -> Gate {
        self.gate_ticket(taken, key)
    }

    fn hold(&self, taken: KeyTicket, signal: Signal) -> Result<(), KeyTicket> {
        self.hold_ticket(taken, signal)
    }

    async fn release_due<Tm: Timer>(&self, timer: &Tm) {
        let Some(gating) = &self.gating else {
            return core::future::pending().await;
        };
        let at = gating.held.until(|| self.next_release()).await;
        timer.sleep(at.saturating_sub(gating.now())).await;
    }

    fn held(&self) -> usize {
        self.held_items()
    }

    fn released(&self) -> u64 {
        self.released.load(Ordering::Relaxed)
    }
}

// Not under miri: hundreds of random sequences exercise no unsafe code the unit tests
// below do not already reach.
#[cfg(all(test, not(loom), not(miri), feature = "std"))]
mod proptests;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn id(n: u32) -> OperationId {
        OperationId::new(0, n, 1)
    }

    fn keys(per_key: usize, threshold: usize) -> Keys<u32> {
        let options = Options::default().queue_capacity(16).max_concurrency(4);
        let limits = KeyLimits {
            max_concurrency_per_key: per_key,
            fair_scheduling_threshold: threshold,
            ..KeyLimits::default()
        };
        Keys::new(&options, &limits, 32)
    }

    fn push(k: &Keys<u32>, n: u32, key: u32) {
        Schedule::push(k, id(n), Some(&key)).unwrap();
    }

    #[test]
    fn each_bad_limit_is_named_by_its_own_error_and_the_share_defaults_to_half() {
        let base = KeyLimits::default();
        assert_eq!(base.validate(), Ok(()));
        let refused = |limits: KeyLimits| limits.validate().unwrap_err();
        assert_eq!(
            refused(KeyLimits {
                max_concurrency_per_key: 0,
                ..base
            }),
            OptionsError::ZeroConcurrencyPerKey
        );
        assert_eq!(
            refused(KeyLimits {
                fair_scheduling_threshold: 0,
                ..base
            }),
            OptionsError::ZeroFairnessThreshold
        );
        assert_eq!(
            refused(KeyLimits {
                max_queued_per_key: Some(0),
                ..base
            }),
            OptionsError::ZeroQueuedPerKey
        );
        assert_eq!(base.queued_share(9), 5);
        let set = KeyLimits {
            max_queued_per_key: Some(2),
            ..base
        };
        assert_eq!(set.queued_share(9), 2);
    }

    #[test]
    fn one_keys_items_start_in_order_one_at_a_time_at_limit_one() {
        let k = keys(1, 8);
        for n in 0..3 {
            push(&k, n, 7);
        }
        let first = k.pop().unwrap();
        assert_eq!(first.id, id(0));
        assert!(k.pop().is_err(), "the key is at its limit");
        assert!(k.done(first), "finishing makes the next item takeable");
        assert_eq!(k.pop().unwrap().id, id(1));
    }

    #[test]
    fn a_busy_key_does_not_block_another_key() {
        let k = keys(1, 8);
        push(&k, 0, 1);
        push(&k, 1, 1);
        push(&k, 2, 2);
        assert_eq!(k.pop().unwrap().id, id(0));
        assert_eq!(
            k.pop().unwrap().id,
            id(2),
            "key 2 is not behind key 1's second item"
        );
    }

    #[test]
    fn a_hot_key_yields_to_a_ready_key_after_the_threshold() {
        let k = keys(8, 3);
        for n in 0..6 {
            push(&k, n, 1);
        }
        push(&k, 6, 2);
        let order: Vec<u32> = (0..5).map(|_| k.pop().unwrap().id.index()).collect();
        assert_eq!(order, [0, 1, 2, 6, 3]);
    }

    #[test]
    fn idle_keys_are_freed_and_their_places_reused() {
        let k = keys(1, 8);
        for round in 0..100 {
            push(&k, round % 30, round);
            let ticket = k.pop().unwrap();
            assert_eq!(k.counts(&round), (0, 1));
            k.done(ticket);
            assert_eq!(k.counts(&round), (0, 0));
            assert_eq!(k.active_keys(), 0);
        }
    }

    #[test]
    fn removing_keys_keeps_every_other_key_findable() {
        // Many keys in a small index collide; freeing some in the middle of probe runs
        // must not hide the rest (the backward shift).
        let k = keys(1, 8);
        for n in 0..16 {
            push(&k, n, n * 64);
        }
        let tickets: Vec<_> = (0..16).map(|_| k.pop().unwrap()).collect();
        for ticket in tickets.iter().step_by(2) {
            k.done(*ticket);
        }
        for n in (1..16).step_by(2) {
            assert_eq!(k.counts(&(n * 64)), (0, 1), "key {n} lost");
        }
        for n in (0..16).step_by(2) {
            assert_eq!(k.counts(&(n * 64)), (0, 0));
        }
    }

    #[test]
    fn close_refuses_pushes_and_reports_closed_only_once_nothing_waits() {
        let k = keys(1, 8);
        push(&k, 0, 1);
        push(&k, 1, 1);
        let first = k.pop().unwrap();
        assert!(k.close());
        assert!(matches!(
            Schedule::push(&k, id(5), Some(&3)),
            Err(PushError::Closed(_))
        ));
        assert_eq!(
            k.pop().unwrap_err(),
            PopError::Empty,
            "key 1's second item still waits"
        );
        k.done(first);
        assert_eq!(k.pop().unwrap().id, id(1));
        assert_eq!(k.pop().unwrap_err(), PopError::Closed);
    }

    #[test]
    fn cancelling_takes_items_held_back_by_their_keys_limit_too() {
        let k = keys(1, 8);
        push(&k, 0, 7);
        push(&k, 1, 7);
        let running = k.pop().unwrap();
        assert!(k.pop().is_err(), "item 1 waits behind its key's limit");
        let held_back = k.take_any().unwrap();
        assert_eq!(held_back.id, id(1));
        assert!(k.take_any().is_none());
        k.done(held_back);
        k.done(running);
        assert_eq!((k.counts(&7), k.active_keys()), ((0, 0), 0));
    }

    #[test]
    fn a_full_queue_hands_the_id_back() {
        let k = keys(1, 8);
        for n in 0..16 {
            push(&k, n, n);
        }
        assert!(k.is_full());
        assert!(matches!(
            Schedule::push(&k, id(20), Some(&1)),
            Err(PushError::Full(_))
        ));
    }
}
