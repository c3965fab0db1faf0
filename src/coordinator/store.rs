//! The results store of a [`ResultCoordinator`](crate::ResultCoordinator): each finished
//! operation's result (its value, or why there is none) is owned here from the moment
//! the operation ends until a caller takes it, whatever the window evicts meanwhile.
//!
//! Storage is fixed at construction, so keeping and taking never allocate: `capacity`
//! entries, an open-addressed index from id to entry (linear probing, deletion by
//! backward shift, so no tombstones accumulate), and a list threaded through the entries
//! of the results not yet taken, in the order their operations finished. All of it sits
//! under one [`Lock`], held for a few loads and stores per call.
//!
//! Room is reserved before an item is accepted (`reserved` counts items in flight plus
//! results held), so a finished operation always finds an entry: fullness is
//! backpressure on `enqueue`, never a dropped result.

// `ResultError::Panicked` carries the panic message inline (see `result.rs`).
#![allow(clippy::result_large_err)]
// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::ResultError;
use crate::operation::OperationId;
use crate::sync::{AtomicUsize, Lock, Ordering, contain};
use crate::wakeup::Wakeup;

/// A finished operation's answer: its value, or why there is none.
pub(crate) type Answer<V, E> = Result<V, ResultError<E>>;

/// The most results a store holds: its index has twice as many 32-bit places.
pub(crate) const MAX_RESULTS: usize = 1 << 30;

/// No entry (in the index, and at the ends of the lists).
const NONE: u32 = u32::MAX;

/// Results owned until taken, with their room reserved at enqueue.
pub struct Store<V, E> {
    table: Lock<Table<V, E>>,
    capacity: usize,
    /// Items accepted and not yet taken (in flight, or finished and held); at most
    /// `capacity`. Raised by `reserve` before an item is accepted, lowered by a take or
    /// by `release` for an item that was refused after all.
    reserved: AtomicUsize,
    /// A reserved place was given back.
    room: Wakeup,
    /// A result was listed for `pop`.
    listed: Wakeup,
}

struct Entry<V, E> {
    id: Option<OperationId>,
    answer: Option<Answer<V, E>>,
    /// In the finishing-order list (the operation is published terminal).
    listed: bool,
    prev: u32,
    /// The next listed entry, or the next free one while free.
    next: u32,
}

struct Table<V, E> {
    entries: Box<[Entry<V, E>]>,
    /// Entry index per bucket, or `NONE`; a power of two, at least twice the entries.
    index: Box<[u32]>,
    free: u32,
    /// The oldest and newest listed entries.
    head: u32,
    tail: u32,
}

impl<V, E> Store<V, E> {
    /// A store holding at most `capacity` results (1 to [`MAX_RESULTS`], which the
    /// builder checks).
    pub fn new(capacity: usize) -> Self {
        Self {
            table: Lock::new(Table::new(capacity)),
            capacity,
            reserved: AtomicUsize::new(0),
            room: Wakeup::new(),
            listed: Wakeup::new(),
        }
    }

    /// How many results it holds at most, items in flight included.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Results held and items in flight, which together never exceed the capacity.
    pub fn reserved(&self) -> usize {
        self.reserved.load(Ordering::Acquire)
    }

    /// Reserves the place of one more accepted item's result; `false` when full.
    pub fn reserve(&self) -> bool {
        self.reserved
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives a reserved place back and wakes one enqueuer waiting for it.
    pub fn release(&self) {
        self.reserved.fetch_sub(1, Ordering::AcqRel);
        self.room.notify(1);
    }

    /// What enqueuers waiting for a place listen on.
    pub fn room(&self) -> &Wakeup {
        &self.room
    }

    /// What callers of `pop` listen on.
    pub fn listed(&self) -> &Wakeup {
        &self.listed
    }

    /// Keeps `answer` for `id` (not yet listed). Its place was reserved when the item was
    /// accepted, so there is always a free entry; were there none, the answer is dropped
    /// (contained) rather than the table grown.
    pub fn keep(&self, id: OperationId, answer: Answer<V, E>) {
        if let Err(answer) = self.table.with(|t| t.insert(id, answer)) {
            let _ = contain(move || drop(answer));
        }
    }

    /// Lists `id`'s kept result last in finishing order (its operation is now published
    /// terminal), and wakes callers of `pop`. Nothing when it was taken meanwhile.
    pub fn list(&self, id: OperationId) {
        if self.table.with(|t| t.list(id)) {
            self.listed.notify(usize::MAX);
        }
    }

    /// Moves `id`'s result out, freeing its place.
    pub fn take(&self, id: OperationId) -> Option<Answer<V, E>> {
        let answer = self.table.with(|t| t.remove(id))?;
        self.release();
        Some(answer)
    }

    /// Moves the result of the operation that finished first among those held out.
    pub fn pop(&self) -> Option<(OperationId, Answer<V, E>)> {
        let popped = self.table.with(|t| {
            let id = t.entries.get(t.head as usize)?.id?;
            t.remove(id).map(|answer| (id, answer))
        })?;
        self.release();
        Some(popped)
    }

    /// `f` of `id`'s result, which stays. `f` runs under the store's lock (it only
    /// reads): it must not call back into this coordinator's results.
    pub fn with<X>(&self, id: OperationId, f: impl FnOnce(&Answer<V, E>) -> X) -> Option<X> {
        self.table.with(|t| t.get(id).map(f))
    }

    /// What `pick` takes from each listed result, oldest first (under the lock, as `with`).
    pub fn collect<X>(
        &self,
        mut pick: impl FnMut(OperationId, &Answer<V, E>) -> Option<X>,
    ) -> Vec<X> {
        self.table.with(|t| {
            let mut out = Vec::new();
            let mut at = t.head;
            while let Some(entry) = t.entries.get(at as usize) {
                if let (Some(id), Some(answer)) = (entry.id, &entry.answer) {
                    out.extend(pick(id, answer));
                }
                at = entry.next;
            }
            out
        })
    }
}

impl<V, E> Drop for Store<V, E> {
    fn drop(&mut self) {
        // Values and errors are user types: a panicking `Drop` must not escape.
        let entries = self.table.with(|t| core::mem::take(&mut t.entries));
        for entry in entries.into_vec() {
            let _ = contain(move || drop(entry));
        }
    }
}

impl<V, E> Table<V, E> {
    fn new(capacity: usize) -> Self {
        let entries = (0..capacity)
            .map(|i| Entry {
                id: None,
                answer: None,
                listed: false,
                prev: NONE,
                // The free list runs through the entries in order.
                next: if i + 1 < capacity { i as u32 + 1 } else { NONE },
            })
            .collect();
        let buckets = (capacity * 2).next_power_of_two().max(2);
        Self {
            entries,
            index: (0..buckets).map(|_| NONE).collect(),
            free: if capacity > 0 { 0 } else { NONE },
            head: NONE,
            tail: NONE,
        }
    }

    /// The bucket an id's search starts at (Fibonacci hashing of its packed parts).
    fn home(&self, id: OperationId) -> usize {
        let bits = self.index.len().trailing_zeros();
        let mixed = (id.raw() ^ id.origin().rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> (64 - bits)) as usize
    }

    /// The bucket and entry holding `id`.
    fn find(&self, id: OperationId) -> Option<(usize, u32)> {
        let mask = self.index.len() - 1;
        let mut bucket = self.home(id);
        loop {
            let entry = self.index[bucket];
            if entry == NONE {
                return None;
            }
            if self.entries[entry as usize].id == Some(id) {
                return Some((bucket, entry));
            }
            bucket = (bucket + 1) & mask;
        }
    }

    fn get(&self, id: OperationId) -> Option<&Answer<V, E>> {
        let (_, entry) = self.find(id)?;
        self.entries[entry as usize].answer.as_ref()
    }

    fn insert(&mut self, id: OperationId, answer: Answer<V, E>) -> Result<(), Answer<V, E>> {
        let free = self.free;
        let Some(entry) = self.entries.get_mut(free as usize) else {
            return Err(answer);
        };
        self.free = entry.next;
        *entry = Entry {
            id: Some(id),
            answer: Some(answer),
            listed: false,
            prev: NONE,
            next: NONE,
        };
        // At most half the buckets are used, so an empty one is always found.
        let mask = self.index.len() - 1;
        let mut bucket = self.home(id);
        while self.index[bucket] != NONE {
            bucket = (bucket + 1) & mask;
        }
        self.index[bucket] = free;
        Ok(())
    }

    /// Links `id`'s entry at the tail of the finishing-order list; `false` if absent.
    fn list(&mut self, id: OperationId) -> bool {
        let Some((_, at)) = self.find(id) else {
            return false;
        };
        let tail = self.tail;
        let entry = &mut self.entries[at as usize];
        if entry.listed {
            return false;
        }
        entry.listed = true;
        entry.prev = tail;
        entry.next = NONE;
        match self.entries.get_mut(tail as usize) {
            Some(last) => last.next = at,
            None => self.head = at,
        }
        self.tail = at;
        true
    }

    fn remove(&mut self, id: OperationId) -> Option<Answer<V, E>> {
        let (bucket, at) = self.find(id)?;
        self.unindex(bucket);
        let entry = &mut self.entries[at as usize];
        let (listed, prev, next) = (entry.listed, entry.prev, entry.next);
        let answer = entry.answer.take();
        entry.id = None;
        entry.listed = false;
        entry.prev = NONE;
        entry.next = self.free;
        self.free = at;
        if listed {
            match self.entries.get_mut(prev as usize) {
                Some(before) => before.next = next,
                None => self.head = next,
            }
            match self.entries.get_mut(next as usize) {
                Some(after) => after.prev = prev,
                None => self.tail = prev,
            }
        }
        answer
    }

    /// Empties `bucket`, shifting back the entries after it that probed past it, so
    /// every remaining id is still found from its home bucket.
    fn unindex(&mut self, bucket: usize) {
        let mask = self.index.len() - 1;
        let mut hole = bucket;
        let mut at = bucket;
        loop {
            at = (at + 1) & mask;
            let entry = self.index[at];
            if entry == NONE {
                break;
            }
            let Some(id) = self.entries[entry as usize].id else {
                break;
            };
            let home = self.home(id);
            // The entry may fill the hole if the hole lies on its probe path.
            if at.wrapping_sub(hole) & mask <= at.wrapping_sub(home) & mask {
                self.index[hole] = entry;
                hole = at;
            }
        }
        self.index[hole] = NONE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(index: u32, generation: u32) -> OperationId {
        OperationId::new(7, index, generation)
    }

    #[test]
    fn results_come_out_in_finishing_order_and_each_once() {
        let store: Store<u32, ()> = Store::new(4);
        for _ in 0..4 {
            assert!(store.reserve());
        }
        assert!(!store.reserve(), "four places reserved of four");
        for n in [3, 1, 2, 0] {
            store.keep(id(n, 1), Ok(n));
            store.list(id(n, 1));
        }
        assert_eq!(store.take(id(2, 1)), Some(Ok(2)));
        assert_eq!(store.take(id(2, 1)), None);
        assert!(store.reserve(), "a take gives its place back");
        let order: Vec<_> = core::iter::from_fn(|| store.pop()).collect();
        assert_eq!(
            order,
            [(id(3, 1), Ok(3)), (id(1, 1), Ok(1)), (id(0, 1), Ok(0))]
        );
    }

    #[test]
    fn a_kept_result_not_yet_listed_is_found_but_not_popped() {
        let store: Store<u32, ()> = Store::new(2);
        store.keep(id(0, 1), Ok(5));
        assert_eq!(store.pop(), None);
        assert_eq!(store.with(id(0, 1), |a| a.clone()), Some(Ok(5)));
        store.list(id(0, 1));
        store.list(id(0, 1));
        assert_eq!(store.pop(), Some((id(0, 1), Ok(5))));
        assert_eq!(store.pop(), None);
    }

    #[test]
    fn ids_of_one_slot_from_different_generations_are_kept_apart() {
        let store: Store<u32, ()> = Store::new(8);
        for generation in 1..=8 {
            store.keep(id(0, generation), Ok(generation));
        }
        assert_eq!(store.take(id(0, 9)), None);
        for generation in (1..=8).rev() {
            assert_eq!(store.take(id(0, generation)), Some(Ok(generation)));
        }
    }

    #[test]
    fn churn_through_a_full_table_keeps_every_remaining_id_reachable() {
        // Removal shifts probed entries back; a wrong shift would strand some id.
        let store: Store<u64, ()> = Store::new(16);
        let mut held = alloc::collections::VecDeque::new();
        let mut next = 0u32;
        for round in 0..2_000u32 {
            if held.len() == 16 || (round % 3 == 0 && !held.is_empty()) {
                let old: OperationId = held.pop_front().unwrap();
                assert_eq!(store.take(old), Some(Ok(u64::from(old.index()))));
            } else {
                let fresh = id(next % 40, next / 40 + 1);
                next += 1;
                store.keep(fresh, Ok(u64::from(fresh.index())));
                held.push_back(fresh);
            }
            for kept in &held {
                assert!(
                    store.with(*kept, |_| ()).is_some(),
                    "round {round}: {kept:?} lost"
                );
            }
        }
    }

    #[test]
    fn a_full_table_hands_the_answer_back_rather_than_growing() {
        let mut table: Table<u8, ()> = Table::new(1);
        assert!(table.insert(id(0, 1), Ok(1)).is_ok());
        assert_eq!(table.insert(id(1, 1), Ok(2)), Err(Ok(2)));
    }

    #[cfg(feature = "std")]
    #[test]
    fn a_panicking_drop_of_a_held_value_is_contained_when_the_store_goes() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("boom");
            }
        }
        let store: Store<Bomb, ()> = Store::new(2);
        store.keep(id(0, 1), Ok(Bomb));
        store.keep(id(1, 1), Ok(Bomb));
        drop(store);
    }
}
