//! A bounded, lock-free ring of the most recent [`SignalEvent`]s.
//!
//! The algorithm is a seqlock per cell (Lamport's version counter as analysed by Boehm,
//! "Can seqlocks get along with programming language memory models?", MSPC 2012) in its
//! all-atomic variant: every field of a cell, the event's words included, is an atomic,
//! so a reader that races a writer reads stale or mixed values but never has a data
//! race, and the sequence re-check throws the mixed ones away. No `unsafe` is involved.
//!
//! # Layout
//!
//! A push takes a *ticket* `t` from one counter (`fetch_add`) and writes cell
//! `t % capacity`. Each cell is a sequence word plus five event words:
//!
//! ```text
//! seq   = (ticket + 1) << 2 | CLEARED | WRITING      0 = never written
//! word0 = signal index (bits 0..24) | HAS_OP (bit 24) | HAS_KEY (bit 25) | signal generation (bits 32..64)
//! word1 = operation id's slot and generation (0 when absent)
//! word2 = key (0 when absent)
//! word3 = `at` in nanoseconds (saturating at `u64::MAX`, about 584 years)
//! word4 = operation id's origin (its window)
//! ```
//!
//! # Protocol
//!
//! * **Push** (ticket `t`): load `seq`. If the cell already holds a ticket `>= t` (a push
//!   that lapped this one, finished or in progress), return: that newer event replaces
//!   ours, exactly as if ours had been written first. If `WRITING` is set (by an older
//!   ticket), spin. Otherwise CAS `seq` to `(t + 1) << 2 | WRITING` (acquire-release:
//!   the acquire orders our word stores after the previous writer's), store the words
//!   (release) and publish `seq = (t + 1) << 2` (release). Writers of one cell are thus
//!   serialised by the `WRITING` bit, and a cell's ticket only ever grows.
//! * **Read**: `s1 = seq` (acquire); skip the cell if it is empty, `WRITING` or
//!   `CLEARED`; load the words (acquire); `s2 = seq`; accept only if `s1 == s2`. A value
//!   `(t + 1) << 2` is stored at most once per cell (only ticket `t` publishes it), so if
//!   a word load saw a later writer's store, that load synchronises with it, the later
//!   writer's `WRITING` CAS happens before the `s2` load, and `s2 != s1`: an accepted
//!   event is never torn. A cell that keeps changing is skipped: it is being replaced by
//!   a newer event.
//! * **Retain**: read a cell consistently and, if the event is not kept, CAS `seq` from
//!   `s1` to `s1 | CLEARED`; if the CAS fails the cell changed, so it is read again. The
//!   ticket stays in `seq`, so clearing never lets an older push overwrite a newer one.
//!
//! Pushes never wait for readers or for `retain`. A push waits (spins) only for an
//! *older* push still writing the same cell, which happens only when `capacity` pushes
//! start while that one is mid-write.

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

use super::{Signal, SignalEvent};
use crate::bits::Field;
use crate::operation::OperationId;
use crate::sync::{AtomicU64, Ordering, spin_hint};
use crate::time::to_nanos;

/// `seq` flag: a push owns the cell and is storing its words.
const WRITING: Field<u64> = Field::flag(0);
/// `seq` flag: the cell's event was removed by [`History::retain`].
const CLEARED: Field<u64> = WRITING.above(1);
/// `seq` field: the cell's ticket plus one (so 0 means never written).
const TICKET: Field<u64> = Field::top(2);
/// `word0` field: the signal's slot index (tables hold at most 2^24 - 1 names).
const SIGNAL: Field<u64> = Field::new(0, 24);
/// `word0` flag: `word1` holds an operation id.
const HAS_OP: Field<u64> = SIGNAL.above(1);
/// `word0` flag: `word2` holds a key.
const HAS_KEY: Field<u64> = HAS_OP.above(1);
/// `word0` field: the signal's generation (events of a reclaimed name keep their old
/// handle, which names nothing any more).
const GENERATION: Field<u64> = Field::top(32);
/// How many times a reader re-reads a cell that changed under it before skipping it.
const READ_ATTEMPTS: usize = 4;
/// Words per packed event.
const WORDS: usize = 5;

/// One slot of the ring: a seqlock over five event words.
struct Cell {
    /// `(ticket + 1) << 2 | CLEARED | WRITING`, or 0 if never written. Written by
    /// pushers (CAS to `WRITING`, then a release store of the bare ticket) and by
    /// `retain` (CAS adding `CLEARED`). A cell's ticket never decreases.
    seq: AtomicU64,
    /// The event, packed as in the module docs: `[signal | HAS_OP | HAS_KEY, operation id,
    /// key, at nanos, operation origin]`. Written (release) only by the push holding
    /// `WRITING` in `seq`.
    words: [AtomicU64; WORDS],
}

impl Cell {
    fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            words: core::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// A consistent `(seq, event)` snapshot of the cell, or `None` if it is empty,
    /// cleared, being written, or kept changing for [`READ_ATTEMPTS`] reads.
    fn read(&self) -> Option<(u64, SignalEvent)> {
        for _ in 0..READ_ATTEMPTS {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 == 0 || WRITING.is_set(s1) || CLEARED.is_set(s1) {
                return None;
            }
            // Acquire: a word written by a later push synchronises with that push, whose
            // `WRITING` CAS then happens before the re-check below, which therefore fails.
            // (It also keeps the re-check from being reordered before these loads.)
            let words: [u64; WORDS] =
                core::array::from_fn(|i| self.words[i].load(Ordering::Acquire));
            let s2 = self.seq.load(Ordering::Acquire);
            if s1 == s2 {
                return Some((s1, unpack(words)));
            }
            spin_hint();
        }
        None
    }
}

/// The ticket a non-zero `seq` value carries.
fn ticket_of(seq: u64) -> u64 {
    TICKET.get(seq) - 1
}

fn pack(event: &SignalEvent) -> [u64; WORDS] {
    let mut word0 = SIGNAL.place(event.signal.index() as u64 & SIGNAL.max());
    word0 = GENERATION.set(word0, u64::from(event.signal.generation()));
    word0 = HAS_OP.set(word0, u64::from(event.operation_id.is_some()));
    word0 = HAS_KEY.set(word0, u64::from(event.key.is_some()));
    [
        word0,
        event.operation_id.map_or(0, OperationId::raw),
        event.key.unwrap_or(0),
        to_nanos(event.at),
        event.operation_id.map_or(0, OperationId::origin),
    ]
}

fn unpack(words: [u64; WORDS]) -> SignalEvent {
    SignalEvent {
        signal: Signal::new(SIGNAL.get(words[0]) as u32, GENERATION.get(words[0]) as u32),
        operation_id: if HAS_OP.is_set(words[0]) {
            OperationId::from_raw(words[4], words[1])
        } else {
            None
        },
        key: HAS_KEY.is_set(words[0]).then_some(words[2]),
        at: Duration::from_nanos(words[3]),
    }
}

/// A bounded, lock-free history of the newest `capacity` raises.
///
/// All storage is allocated by [`History::new`]; pushes, visits and `retain` never
/// allocate. See the module docs for the protocol.
pub struct History {
    /// The next push's ticket: the number of pushes ever started. Written only by
    /// `push` (`fetch_add`). Relaxed: it only hands out distinct tickets; what a reader
    /// may read is ordered by each cell's `seq`.
    tickets: AtomicU64,
    /// `capacity` cells; ticket `t` goes to `cells[t % capacity]`.
    cells: Box<[Cell]>,
}

impl History {
    /// A history of `capacity` events (a capacity of 0 is treated as 1).
    pub fn new(capacity: usize) -> Self {
        let cells: Vec<Cell> = (0..capacity.max(1)).map(|_| Cell::new()).collect();
        Self {
            tickets: AtomicU64::new(0),
            cells: cells.into_boxed_slice(),
        }
    }

    /// How many events the history keeps.
    pub fn capacity(&self) -> usize {
        self.cells.len()
    }

    fn cell(&self, ticket: u64) -> &Cell {
        &self.cells[(ticket % self.cells.len() as u64) as usize]
    }

    /// Records `event`, displacing the oldest once `capacity` events are held.
    ///
    /// Lock-free with respect to readers and `retain`; never allocates. A push may wait
    /// only for an older push still writing the same cell.
    pub fn push(&self, event: SignalEvent) {
        self.push_ticketed(event);
    }

    /// [`push`](Self::push), returning the push's ticket: its position in push order,
    /// which [`visit`](Self::visit) follows (the loom models check order with it).
    pub fn push_ticketed(&self, event: SignalEvent) -> u64 {
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        // 2^62 pushes (146 years at a billion a second) before the shift overflows.
        debug_assert!(ticket < TICKET.max() - 1, "history ticket overflow");
        let cell = self.cell(ticket);
        let published = TICKET.place(ticket + 1);
        let words = pack(&event);
        let mut seq = cell.seq.load(Ordering::Acquire);
        loop {
            if seq != 0 && ticket_of(seq) >= ticket {
                // A newer push took the cell: our event is already displaced, in order.
                return ticket;
            }
            if WRITING.is_set(seq) {
                // An older push is mid-write; it will publish shortly.
                spin_hint();
                seq = cell.seq.load(Ordering::Acquire);
                continue;
            }
            // Acquire: the previous writer's word stores happen before ours, so ours are
            // later in each word's modification order.
            match cell.seq.compare_exchange_weak(
                seq,
                WRITING.set(published, 1),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(current) => seq = current,
            }
        }
        for (word, value) in cell.words.iter().zip(words) {
            // Release: a reader that sees this value also sees our `WRITING` CAS, so its
            // re-check of `seq` fails (module docs, Read).
            word.store(value, Ordering::Release);
        }
        cell.seq.store(published, Ordering::Release);
        ticket
    }

    /// Calls `f` with each event held, oldest first.
    ///
    /// Let `T` be the number of pushes started when the visit starts. The visit yields,
    /// in strictly increasing ticket order, events whose tickets lie in
    /// `[T - capacity, T)`: so at most `capacity` events, none twice, none torn. Every
    /// such event whose push finished before the visit started is yielded unless it is
    /// removed by `retain` or displaced by a newer push during the visit. An event whose
    /// push is still writing is skipped, as is one whose cell is being overwritten.
    /// Pushes that start after the visit starts are not yielded.
    pub fn visit(&self, mut f: impl FnMut(&SignalEvent)) {
        let end = self.tickets.load(Ordering::Relaxed);
        let start = end.saturating_sub(self.cells.len() as u64);
        for ticket in start..end {
            // Only the exact ticket: an older one in the cell has been displaced by a
            // push still writing, a newer one was pushed after the visit started (and
            // yielding either would break the order).
            if let Some((seq, event)) = self.cell(ticket).read()
                && ticket_of(seq) == ticket
            {
                f(&event);
            }
        }
    }

    /// Removes every held event for which `keep` returns false.
    ///
    /// Every event held throughout the call is offered to `keep` once (a cell that
    /// changes between the read and the removal is read again). Events pushed
    /// concurrently with the call may be kept without being offered.
    pub fn retain(&self, keep: impl Fn(&SignalEvent) -> bool) {
        for cell in self.cells.iter() {
            while let Some((seq, event)) = cell.read() {
                if keep(&event) {
                    break;
                }
                // The ticket stays, so an older push still cannot overwrite the cell.
                if cell
                    .seq
                    .compare_exchange(
                        seq,
                        CLEARED.set(seq, 1),
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    break;
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    extern crate std;

    use alloc::vec::Vec;
    use core::time::Duration;

    use super::*;

    /// A self-checking event: every field derives from `n`, so a torn read shows.
    fn event(n: u64) -> SignalEvent {
        SignalEvent {
            signal: Signal::new((n % 7) as u32, n as u32),
            operation_id: OperationId::from_raw(n, (1 << 32) | n),
            key: if n.is_multiple_of(3) { None } else { Some(n) },
            at: Duration::from_nanos(n),
        }
    }

    fn whole(event: &SignalEvent) -> bool {
        let n = event.at.as_nanos() as u64;
        *event == self::event(n)
    }

    fn held(history: &History) -> Vec<SignalEvent> {
        let mut out = Vec::new();
        history.visit(|event| out.push(*event));
        out
    }

    fn ns(events: &[SignalEvent]) -> Vec<u64> {
        events.iter().map(|e| e.at.as_nanos() as u64).collect()
    }

    #[test]
    fn round_trips_every_field() {
        let history = History::new(4);
        let full = SignalEvent {
            signal: Signal::new((1 << 24) - 1, u32::MAX),
            operation_id: OperationId::from_raw(u64::MAX, u64::MAX),
            key: Some(0),
            at: Duration::from_nanos(u64::MAX),
        };
        let bare = SignalEvent {
            signal: Signal::new(0, 0),
            operation_id: None,
            key: None,
            at: Duration::ZERO,
        };
        history.push(full);
        history.push(bare);
        assert_eq!(held(&history), [full, bare]);
    }

    #[test]
    fn holds_exactly_its_capacity_oldest_first() {
        let history = History::new(3);
        assert_eq!(history.capacity(), 3);
        assert!(held(&history).is_empty());
        for n in 0..3 {
            history.push(event(n));
        }
        assert_eq!(ns(&held(&history)), [0, 1, 2]);
    }

    #[test]
    fn wrapping_keeps_the_newest_capacity_in_order() {
        let history = History::new(3);
        for n in 0..11 {
            history.push(event(n));
            let expected: Vec<u64> = (n.saturating_sub(2)..=n).collect();
            assert_eq!(ns(&held(&history)), expected);
        }
        let one = History::new(1);
        for n in 0..5 {
            one.push(event(n));
        }
        assert_eq!(ns(&held(&one)), [4]);
    }

    #[test]
    fn retain_removes_exactly_the_rejected_events() {
        let history = History::new(5);
        for n in 0..8 {
            history.push(event(n));
        }
        history.retain(|e| e.at.as_nanos() % 2 == 0);
        assert_eq!(ns(&held(&history)), [4, 6]);
        // Cleared cells are refilled in order by later pushes.
        history.push(event(8));
        history.push(event(9));
        assert_eq!(ns(&held(&history)), [6, 8, 9]);
        history.retain(|_| false);
        assert!(held(&history).is_empty());
        history.push(event(10));
        assert_eq!(ns(&held(&history)), [10]);
    }

    #[test]
    fn a_lapped_push_does_not_overwrite_a_newer_one() {
        let history = History::new(2);
        // Simulate ticket 0 arriving after ticket 2 has been written to the same cell.
        history.tickets.store(2, Ordering::Relaxed);
        history.push(event(2));
        let cell = history.cell(0);
        assert_eq!(ticket_of(cell.seq.load(Ordering::Relaxed)), 2);
        history.tickets.store(0, Ordering::Relaxed);
        history.push(event(0));
        assert_eq!(ticket_of(cell.seq.load(Ordering::Relaxed)), 2);
        assert_eq!(cell.read().map(|(_, e)| e), Some(event(2)));
    }

    #[test]
    fn concurrent_pushes_and_visits_never_tear_or_overfill() {
        use alloc::sync::Arc;
        use std::thread;

        let per_thread: u64 = if cfg!(miri) { 60 } else { 2000 };
        let history = Arc::new(History::new(4));
        let pushers: Vec<_> = (0..2u64)
            .map(|t| {
                let history = history.clone();
                thread::spawn(move || {
                    for i in 0..per_thread {
                        history.push(event(t * 1_000_000 + i));
                    }
                })
            })
            .collect();
        let reader = {
            let history = history.clone();
            thread::spawn(move || {
                for _ in 0..per_thread / 2 {
                    let mut count = 0;
                    let mut last_per_thread = [None::<u64>; 2];
                    history.visit(|e| {
                        count += 1;
                        assert!(whole(e), "torn event {e:?}");
                        // Each pusher's own events appear in its push order.
                        let n = e.at.as_nanos() as u64;
                        let t = (n / 1_000_000) as usize;
                        assert!(last_per_thread[t] < Some(n), "out of order: {e:?}");
                        last_per_thread[t] = Some(n);
                    });
                    assert!(count <= 4, "{count} events in a ring of 4");
                }
            })
        };
        for p in pushers {
            p.join().unwrap();
        }
        reader.join().unwrap();
        let last = held(&history);
        assert_eq!(last.len(), 4, "quiescent ring is full");
        assert!(last.iter().all(whole));
        let finals = [per_thread - 1, 1_000_000 + per_thread - 1];
        assert!(ns(&last).iter().any(|n| finals.contains(n)));
    }
}
