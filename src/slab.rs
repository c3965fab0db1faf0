//! A lock-free, fixed-capacity slab of operation slots.
//!
//! Every operation lives in one slot from `insert` to eviction. The slab never grows:
//! all slots are allocated by [`Slab::new`], so steady-state traffic allocates nothing.
//!
//! # The state word
//!
//! Each slot has one `AtomicU64` that every transition goes through:
//!
//! ```text
//!  63            32 31        16 15     5   4         3        2..0
//! +----------------+------------+--------+---------+--------+-------+
//! |   generation   |  readers   |  zero  | DISPLCD | PINNED | phase |
//! +----------------+------------+--------+---------+--------+-------+
//! ```
//!
//! * `phase`: `FREE`, `PENDING`, `CLAIMED` (taken by a worker or a canceller, reads as
//!   pending), `RUNNING`, `COMPLETED`, `FAULTED`, `CANCELLED`, or `EVICTED` (gone, but
//!   a reader still holds the slot; the last reader out frees it).
//! * `PINNED`: exempt from count and age eviction. `DISPLACED`: pinned and pushed out of
//!   the window's ring (the window decides what these mean; the slab only stores them).
//! * `readers`: snapshot readers inside the slot. While non-zero the slot cannot be
//!   reused, so a reader sees one operation whole or not at all.
//! * `generation`: bumped on every reuse (skipping 0); an [`OperationId`] carries the
//!   generation it was issued with, so a stale id never matches a reused slot.
//!
//! # Who may touch the cells
//!
//! * `input`: the inserter until it publishes `PENDING`; then whoever wins the CAS
//!   `PENDING -> CLAIMED`.
//! * `key`: written by the inserter before it publishes `PENDING`; after that only read
//!   (by readers who hold a reader count) until the slot is freed.
//! * `outcome`: the claimant until it publishes a terminal phase; after that it is only
//!   read (by readers who hold a reader count) until the slot is freed, and freeing
//!   requires the reader count to be zero.
//!
//! # Free list
//!
//! Free slots form a Treiber stack (R. K. Treiber, "Systems Programming: Coping with
//! Parallelism", IBM RJ 5118, 1986) threaded through the slots' `next_free` links. The
//! head word packs a 32-bit modification tag above the 32-bit slot index; every push and
//! pop bumps the tag, so a pop that read a stale head cannot succeed after the head was
//! popped and pushed back meanwhile (the ABA problem; the tag is the "version counter"
//! of IBM System/370's compare-double-and-swap idiom).

use alloc::boxed::Box;
use core::time::Duration;

use crate::operation::{OperationId, State};
use crate::sync::{AtomicU32, AtomicU64, Ordering, UnsafeCell, spin_hint};
use crate::wakeup::Wakeup;

pub const FREE: u64 = 0;
pub const PENDING: u64 = 1;
pub const CLAIMED: u64 = 2;
pub const RUNNING: u64 = 3;
pub const COMPLETED: u64 = 4;
pub const FAULTED: u64 = 5;
pub const CANCELLED: u64 = 6;
pub const EVICTED: u64 = 7;

const PHASE_MASK: u64 = 0b111;
pub const PINNED: u64 = 1 << 3;
pub const DISPLACED: u64 = 1 << 4;
const READER_ONE: u64 = 1 << 16;
const READER_MASK: u64 = 0xFFFF << 16;
const GEN_SHIFT: u32 = 32;

/// Marks the end of the free list.
const NIL: u32 = u32::MAX;

/// The largest number of slots a slab can hold (one index is reserved for `NIL`).
pub const MAX_SLOTS: usize = NIL as usize;

/// A decoded state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word(pub u64);

impl Word {
    fn new(generation: u32, phase: u64) -> Self {
        Self((u64::from(generation) << GEN_SHIFT) | phase)
    }
    pub fn phase(self) -> u64 {
        self.0 & PHASE_MASK
    }
    pub fn generation(self) -> u32 {
        (self.0 >> GEN_SHIFT) as u32
    }
    pub fn readers(self) -> u64 {
        (self.0 & READER_MASK) >> 16
    }
    pub fn has(self, flag: u64) -> bool {
        self.0 & flag != 0
    }
    pub fn with_phase(self, phase: u64) -> Self {
        Self((self.0 & !PHASE_MASK) | phase)
    }
    pub fn with(self, flag: u64, on: bool) -> Self {
        if on {
            Self(self.0 | flag)
        } else {
            Self(self.0 & !flag)
        }
    }
    /// The word that ends this operation's life: `FREE` when no reader is inside,
    /// otherwise `EVICTED`, whose last reader frees the slot. Flags are cleared.
    pub fn retired(self) -> Self {
        let cleared = self.with(PINNED, false).with(DISPLACED, false);
        if self.readers() == 0 {
            cleared.with_phase(FREE)
        } else {
            cleared.with_phase(EVICTED)
        }
    }
    /// A live operation: between insert and eviction.
    pub fn is_live(self) -> bool {
        !matches!(self.phase(), FREE | EVICTED)
    }
    pub fn is_finished(self) -> bool {
        matches!(self.phase(), COMPLETED | FAULTED | CANCELLED)
    }
    pub fn state(self) -> Option<State> {
        Some(match self.phase() {
            PENDING | CLAIMED => State::Pending,
            RUNNING => State::Running,
            COMPLETED => State::Completed,
            FAULTED => State::Faulted,
            CANCELLED => State::Cancelled,
            _ => return None,
        })
    }
}

fn next_generation(generation: u32) -> u32 {
    match generation.wrapping_add(1) {
        0 => 1,
        next => next,
    }
}

/// The phase that stores a terminal `state`; `None` for states that are not terminal.
pub fn terminal_phase(state: State) -> Option<u64> {
    match state {
        State::Completed => Some(COMPLETED),
        State::Faulted => Some(FAULTED),
        State::Cancelled => Some(CANCELLED),
        State::Pending | State::Running => None,
    }
}

struct Slot<I, O, K> {
    /// The state word described in the module docs; every transition CASes it.
    state: AtomicU64,
    /// Next free slot while this one is on the free list; written by the pusher only.
    next_free: AtomicU32,
    /// Written by the inserter before it publishes `PENDING`.
    enqueued_at: UnsafeCell<Duration>,
    /// Reset by the inserter; set by the claimant before it publishes `RUNNING`.
    started_at: UnsafeCell<Option<Duration>>,
    /// Written by the claimant before it publishes a terminal phase.
    finished_at: UnsafeCell<Duration>,
    input: UnsafeCell<Option<I>>,
    outcome: UnsafeCell<Option<O>>,
    /// What the operation was enqueued under (keyed coordinators; `()` elsewhere).
    key: UnsafeCell<Option<K>>,
}

/// What a reader sees of one live operation while it holds the slot.
pub struct View<'a, O, K = ()> {
    pub id: OperationId,
    pub key: Option<&'a K>,
    pub word: Word,
    pub enqueued_at: Duration,
    pub started_at: Option<Duration>,
    pub finished_at: Option<Duration>,
    pub outcome: Option<&'a O>,
}

/// Why a transition on an id was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The id names no live operation: never issued, or evicted (its slot may be reused).
    Unknown,
    /// The operation is live but not in a phase the transition starts from.
    Phase(Word),
}

/// The fixed-capacity, lock-free slab. See the module docs for the protocol.
pub struct Slab<I, O, K = ()> {
    slots: Box<[Slot<I, O, K>]>,
    /// Treiber stack head: `tag << 32 | index` (index `NIL` when empty).
    free_head: AtomicU64,
    /// Notified each time a slot goes back on the free list, by whoever freed it (an
    /// evictor, or the last reader out of an evicted slot).
    freed: Wakeup,
}

// SAFETY: the slab hands `I` values from the inserting thread to the claiming thread and
// drops `O` and `K` values on whichever thread frees a slot, so all must be `Send`.
// Shared access to `O` and `K` (snapshot readers) happens from many threads, hence
// `Sync`. Every cell access is serialised by the state-word protocol in the module docs.
unsafe impl<I: Send, O: Send + Sync, K: Send + Sync> Sync for Slab<I, O, K> {}
// SAFETY: moving the slab moves the `I`, `O` and `K` values it owns; they are `Send`.
unsafe impl<I: Send, O: Send, K: Send> Send for Slab<I, O, K> {}

impl<I, O> Slab<I, O> {
    /// [`insert_keyed`](Self::insert_keyed) for slabs whose operations carry no key.
    pub fn insert(&self, input: I, now: Duration) -> Result<OperationId, I> {
        self.insert_keyed(input, (), now)
            .map_err(|(input, ())| input)
    }
}

impl<I, O, K> Slab<I, O, K> {
    /// Allocates `capacity` free slots; the only allocation the slab ever makes.
    pub fn new(capacity: usize) -> Self {
        debug_assert!(capacity <= MAX_SLOTS);
        let slots = (0..capacity)
            .map(|i| Slot {
                state: AtomicU64::new(Word::new(0, FREE).0),
                next_free: AtomicU32::new(if i + 1 < capacity { i as u32 + 1 } else { NIL }),
                enqueued_at: UnsafeCell::new(Duration::ZERO),
                started_at: UnsafeCell::new(None),
                finished_at: UnsafeCell::new(Duration::ZERO),
                input: UnsafeCell::new(None),
                outcome: UnsafeCell::new(None),
                key: UnsafeCell::new(None),
            })
            .collect();
        let head = if capacity == 0 { NIL } else { 0 };
        Self {
            slots,
            free_head: AtomicU64::new(u64::from(head)),
            freed: Wakeup::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn slot(&self, index: u32) -> Option<&Slot<I, O, K>> {
        self.slots.get(index as usize)
    }

    /// The current state word of the slot at `index` (for scans).
    pub fn word_at(&self, index: usize) -> Word {
        Word(self.slots[index].state.load(Ordering::Acquire))
    }

    fn pop_free(&self) -> Option<u32> {
        let mut head = self.free_head.load(Ordering::Acquire);
        loop {
            let index = head as u32;
            let slot = self.slot(index)?;
            let next = slot.next_free.load(Ordering::Relaxed);
            let tag = (head >> 32).wrapping_add(1);
            let new = (tag << 32) | u64::from(next);
            match self.free_head.compare_exchange_weak(
                head,
                new,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(index),
                Err(seen) => head = seen,
            }
        }
    }

    fn push_free(&self, index: u32) {
        let slot = &self.slots[index as usize];
        let mut head = self.free_head.load(Ordering::Relaxed);
        loop {
            slot.next_free.store(head as u32, Ordering::Relaxed);
            let tag = (head >> 32).wrapping_add(1);
            let new = (tag << 32) | u64::from(index);
            match self.free_head.compare_exchange_weak(
                head,
                new,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(seen) => head = seen,
            }
        }
    }

    /// Takes a free slot for a new pending operation filed under `key`, or hands both
    /// back when none is free.
    pub fn insert_keyed(&self, input: I, key: K, now: Duration) -> Result<OperationId, (I, K)> {
        let Some(index) = self.pop_free() else {
            return Err((input, key));
        };
        let slot = &self.slots[index as usize];
        // A free slot's word is only ever stored by its (single) freer, before the push
        // that the pop above synchronised with.
        let generation = next_generation(Word(slot.state.load(Ordering::Relaxed)).generation());
        // SAFETY: the slot came off the free list, so this thread owns it exclusively: its
        // phase is FREE, readers refuse FREE slots, and no one else holds its index.
        unsafe {
            slot.input.with_mut(|cell| *cell = Some(input));
            slot.key.with_mut(|cell| *cell = Some(key));
            slot.enqueued_at.with_mut(|cell| *cell = now);
            slot.started_at.with_mut(|cell| *cell = None);
        }
        slot.state
            .store(Word::new(generation, PENDING).0, Ordering::Release);
        Ok(OperationId::new(index, generation))
    }

    /// Runs a CAS loop on `id`'s state word: `step` maps the current word to the next one
    /// or refuses. Returns `(old, new)` on success. A step that retires the operation
    /// (see [`Word::retired`]) with no reader inside frees the slot before returning.
    pub fn transition(
        &self,
        id: OperationId,
        mut step: impl FnMut(Word) -> Result<Word, Refused>,
    ) -> Result<(Word, Word), Refused> {
        let slot = self.slot(id.index()).ok_or(Refused::Unknown)?;
        let mut current = Word(slot.state.load(Ordering::Acquire));
        loop {
            if current.generation() != id.generation() || !current.is_live() {
                return Err(Refused::Unknown);
            }
            let next = step(current)?;
            match slot.state.compare_exchange_weak(
                current.0,
                next.0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if next.phase() == FREE {
                        // We retired it with no reader inside: the slot is ours to free.
                        self.reclaim(id.index());
                    }
                    return Ok((current, next));
                }
                Err(seen) => current = Word(seen),
            }
        }
    }

    /// Wins `PENDING -> CLAIMED` and takes the input out; the caller now owns the operation.
    pub fn claim(&self, id: OperationId) -> Result<I, Refused> {
        self.transition(id, |w| match w.phase() {
            PENDING => Ok(w.with_phase(CLAIMED)),
            _ => Err(Refused::Phase(w)),
        })?;
        let slot = &self.slots[id.index() as usize];
        // SAFETY: winning PENDING -> CLAIMED makes this thread the input's only owner;
        // the inserter's writes happen-before via its Release store and our AcqRel CAS.
        let input = slot.input.with_mut(|cell| unsafe { (*cell).take() });
        // The inserter always stores `Some`, and only a claimant takes it.
        input.ok_or(Refused::Unknown)
    }

    /// Publishes `CLAIMED -> RUNNING` with the start time.
    pub fn mark_running(&self, id: OperationId, now: Duration) -> Result<(), Refused> {
        let slot = self.slot(id.index()).ok_or(Refused::Unknown)?;
        let current = Word(slot.state.load(Ordering::Acquire));
        if current.generation() != id.generation() || current.phase() != CLAIMED {
            return Err(Refused::Phase(current));
        }
        // SAFETY: the phase is CLAIMED, so the caller (the claimant: `mark_running` is
        // crate-internal) owns `started_at`; readers of a CLAIMED slot do not read it, and
        // RUNNING is published below with Release, after this write.
        slot.started_at
            .with_mut(|cell| unsafe { *cell = Some(now) });
        self.transition(id, |w| match w.phase() {
            CLAIMED => Ok(w.with_phase(RUNNING)),
            _ => Err(Refused::Phase(w)),
        })
        .map(drop)
    }

    /// Records `outcome` and publishes the terminal `phase` for an operation the caller
    /// claimed (`CLAIMED` or `RUNNING`). On refusal the outcome is handed back.
    pub fn finish(
        &self,
        id: OperationId,
        phase: u64,
        outcome: O,
        now: Duration,
    ) -> Result<Word, (Refused, O)> {
        debug_assert!(matches!(phase, COMPLETED | FAULTED | CANCELLED));
        let Some(slot) = self.slot(id.index()) else {
            return Err((Refused::Unknown, outcome));
        };
        let current = Word(slot.state.load(Ordering::Acquire));
        if current.generation() != id.generation() || !current.is_live() {
            return Err((Refused::Unknown, outcome));
        }
        if !matches!(current.phase(), CLAIMED | RUNNING) {
            return Err((Refused::Phase(current), outcome));
        }
        // SAFETY: the phase is CLAIMED or RUNNING for this generation, and only the
        // claimant calls `finish` (crate-internal), so these cells are ours. Readers
        // touch them only after seeing a terminal phase, published below with Release.
        unsafe {
            slot.outcome.with_mut(|cell| *cell = Some(outcome));
            slot.finished_at.with_mut(|cell| *cell = now);
        }
        match self.transition(id, |w| Ok(w.with_phase(phase))) {
            Ok((_, new)) => Ok(new),
            // Only readers and pins race with a claimant on its word and neither changes
            // the generation, so this arm is defensive: the phase was not published.
            Err(refused) => {
                // SAFETY: the terminal phase was never published, so the cell is still ours.
                let outcome = slot.outcome.with_mut(|cell| unsafe { (*cell).take() });
                match outcome {
                    Some(outcome) => Err((refused, outcome)),
                    None => unreachable!("the outcome was stored above"),
                }
            }
        }
    }

    /// Drops what the slot still owns and puts it back on the free list.
    fn reclaim(&self, index: u32) {
        let slot = &self.slots[index as usize];
        // SAFETY: the caller moved the word to FREE with no readers inside, and a FREE
        // slot that is not on the free list is reachable by no one else.
        let (input, outcome) = slot.outcome.with_mut(|outcome| {
            slot.input
                .with_mut(|input| unsafe { ((*input).take(), (*outcome).take()) })
        });
        // SAFETY: as above.
        let key = slot.key.with_mut(|key| unsafe { (*key).take() });
        drop((input, outcome, key));
        self.push_free(index);
        self.freed.notify(1);
    }

    /// What waits for a free slot listens on.
    pub fn freed(&self) -> &Wakeup {
        &self.freed
    }

    /// Reads the operation in slot `index` (of generation `expected`, if given) without
    /// blocking its writers: `f` sees one operation whole, or `read` returns `None`.
    pub fn read<R>(
        &self,
        index: u32,
        expected: Option<u32>,
        f: impl FnOnce(View<'_, O, K>) -> R,
    ) -> Option<R> {
        let slot = self.slot(index)?;
        let mut current = Word(slot.state.load(Ordering::Acquire));
        loop {
            if !current.is_live() || expected.is_some_and(|g| g != current.generation()) {
                return None;
            }
            if current.readers() == READER_MASK >> 16 {
                // 65,535 readers inside one slot: wait for one to leave rather than overflow.
                spin_hint();
                current = Word(slot.state.load(Ordering::Acquire));
                continue;
            }
            match slot.state.compare_exchange_weak(
                current.0,
                current.0 + READER_ONE,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(seen) => current = Word(seen),
            }
        }
        let id = OperationId::new(index, current.generation());
        let outcome = if current.is_finished() {
            // SAFETY: the phase we joined is terminal, so the outcome was written before
            // it was published (our Acquire CAS sees that write), and it is not written
            // again or dropped until the slot is freed, which our reader count prevents.
            slot.outcome.with(|cell| unsafe { (*cell).as_ref() })
        } else {
            None
        };
        // SAFETY: each time is read only in phases published after it was written (module
        // docs): `enqueued_at` from PENDING on, `started_at` from RUNNING on (or a
        // terminal phase, where it stays `None` if the operation never ran),
        // `finished_at` in terminal phases. Our reader count keeps the slot from reuse.
        let (enqueued_at, started_at, finished_at) = unsafe {
            let started = !matches!(current.phase(), PENDING | CLAIMED);
            (
                slot.enqueued_at.with(|cell| *cell),
                if started {
                    slot.started_at.with(|cell| *cell)
                } else {
                    None
                },
                if current.is_finished() {
                    Some(slot.finished_at.with(|cell| *cell))
                } else {
                    None
                },
            )
        };
        // SAFETY: the key was written before PENDING was published (our Acquire CAS sees
        // it) and is not written again or dropped until the slot is freed, which our
        // reader count prevents.
        let key = slot.key.with(|cell| unsafe { (*cell).as_ref() });
        let view = View {
            id,
            key,
            word: current,
            enqueued_at,
            started_at,
            finished_at,
            outcome,
        };
        let result = f(view);
        self.leave(index);
        Some(result)
    }

    fn leave(&self, index: u32) {
        let slot = &self.slots[index as usize];
        let before = Word(slot.state.fetch_sub(READER_ONE, Ordering::AcqRel));
        if before.phase() == EVICTED && before.readers() == 1 {
            // The operation was evicted while we read it and we were the last reader:
            // no one else can reach the slot now, so freeing it falls to us.
            slot.state
                .store(before.with_phase(FREE).0 - READER_ONE, Ordering::Relaxed);
            self.reclaim(index);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    const T0: Duration = Duration::ZERO;

    fn run_to(slab: &Slab<String, String>, id: OperationId, state: State) {
        slab.claim(id).unwrap();
        slab.mark_running(id, T0).unwrap();
        slab.finish(id, terminal_phase(state).unwrap(), String::from("done"), T0)
            .unwrap();
    }

    #[test]
    fn insert_hands_the_input_back_when_every_slot_is_taken() {
        let slab: Slab<u32, ()> = Slab::new(2);
        slab.insert(1, T0).unwrap();
        slab.insert(2, T0).unwrap();
        assert_eq!(slab.insert(3, T0), Err(3));
    }

    #[test]
    fn a_reused_slot_never_answers_for_the_old_id() {
        let slab: Slab<String, String> = Slab::new(1);
        let old = slab.insert(String::from("a"), T0).unwrap();
        run_to(&slab, old, State::Completed);
        slab.transition(old, |w| Ok(w.retired())).unwrap();
        let new = slab.insert(String::from("b"), T0).unwrap();
        assert_eq!(old.index(), new.index());
        assert!(new.generation() > old.generation());
        assert!(
            slab.read(old.index(), Some(old.generation()), |_| ())
                .is_none()
        );
        assert_eq!(slab.claim(old), Err(Refused::Unknown));
        assert_eq!(slab.claim(new).unwrap(), "b");
    }

    #[test]
    fn claim_is_won_once() {
        let slab: Slab<u8, ()> = Slab::new(1);
        let id = slab.insert(7, T0).unwrap();
        assert_eq!(slab.claim(id), Ok(7));
        assert!(matches!(slab.claim(id), Err(Refused::Phase(_))));
    }

    #[test]
    fn finish_refuses_an_operation_nobody_claimed_and_returns_the_outcome() {
        let slab: Slab<u8, String> = Slab::new(1);
        let id = slab.insert(7, T0).unwrap();
        let (refused, outcome) = slab
            .finish(id, COMPLETED, String::from("x"), T0)
            .unwrap_err();
        assert!(matches!(refused, Refused::Phase(_)));
        assert_eq!(outcome, "x");
    }

    #[test]
    fn eviction_while_read_is_completed_by_the_last_reader() {
        let slab: Slab<String, String> = Slab::new(1);
        let id = slab.insert(String::from("a"), T0).unwrap();
        run_to(&slab, id, State::Faulted);
        let seen = slab.read(id.index(), Some(id.generation()), |view| {
            // Evict from inside the read: the slot must stay intact until we leave.
            slab.transition(id, |w| Ok(w.retired())).unwrap();
            assert_eq!(slab.word_at(0).phase(), EVICTED);
            assert!(slab.insert(String::from("b"), T0).is_err());
            view.outcome.cloned()
        });
        assert_eq!(seen, Some(Some(String::from("done"))));
        assert_eq!(slab.word_at(0).phase(), FREE);
        assert_eq!(slab.word_at(0).readers(), 0);
        assert!(slab.insert(String::from("b"), T0).is_ok());
    }

    /// The last reader out of an evicted slot frees it and wakes whoever waits for a slot.
    #[test]
    fn a_slot_freed_by_its_last_reader_wakes_a_waiting_inserter() {
        use alloc::task::Wake;
        use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        use core::task::{Context, Poll, Waker};

        struct CountWakes(AtomicUsize);
        impl Wake for CountWakes {
            fn wake(self: alloc::sync::Arc<Self>) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let wakes = alloc::sync::Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);

        let slab: Slab<String, String> = Slab::new(1);
        let id = slab.insert(String::from("a"), T0).unwrap();
        run_to(&slab, id, State::Completed);
        let mut waiting = core::pin::pin!(
            slab.freed()
                .until(|| slab.insert(String::from("b"), T0).ok())
        );
        slab.read(id.index(), Some(id.generation()), |_| {
            slab.transition(id, |w| Ok(w.retired())).unwrap();
            assert!(
                waiting.as_mut().poll(&mut cx).is_pending(),
                "the reader still holds the slot"
            );
            assert_eq!(wakes.0.load(SeqCst), 0);
        });
        assert_eq!(
            wakes.0.load(SeqCst),
            1,
            "leaving the evicted slot must wake the inserter"
        );
        assert!(matches!(waiting.as_mut().poll(&mut cx), Poll::Ready(_)));
    }

    #[test]
    fn view_shows_only_the_times_its_phase_has_published() {
        let slab: Slab<u8, u8> = Slab::new(1);
        let id = slab.insert(1, Duration::from_secs(1)).unwrap();
        let pending = slab
            .read(id.index(), None, |v| {
                (v.enqueued_at, v.started_at, v.finished_at, v.word.state())
            })
            .unwrap();
        assert_eq!(
            pending,
            (Duration::from_secs(1), None, None, Some(State::Pending))
        );
        slab.claim(id).unwrap();
        slab.mark_running(id, Duration::from_secs(2)).unwrap();
        slab.finish(id, COMPLETED, 9, Duration::from_secs(3))
            .unwrap();
        let done = slab
            .read(id.index(), None, |v| {
                (v.started_at, v.finished_at, v.outcome.copied())
            })
            .unwrap();
        assert_eq!(
            done,
            (
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(3)),
                Some(9)
            )
        );
    }

    #[test]
    fn free_list_hands_out_every_slot_exactly_once() {
        let slab: Slab<usize, ()> = Slab::new(8);
        let mut ids: Vec<OperationId> = (0..8).map(|i| slab.insert(i, T0).unwrap()).collect();
        ids.sort_by_key(|id| id.index());
        ids.dedup_by_key(|id| id.index());
        assert_eq!(ids.len(), 8);
        assert!(slab.insert(99, T0).is_err());
    }

    /// Under miri this checks the protocol for data races on real threads.
    #[test]
    fn threads_reusing_slots_under_readers_never_race() {
        extern crate std;
        let slab: alloc::sync::Arc<Slab<u64, u64>> = alloc::sync::Arc::new(Slab::new(2));
        let rounds = if cfg!(miri) { 20 } else { 2_000 };
        let workers: Vec<_> = (0..2u64)
            .map(|t| {
                let slab = slab.clone();
                std::thread::spawn(move || {
                    for n in 0..rounds {
                        let value = t * 1_000_000 + n;
                        let Ok(id) = slab.insert(value, Duration::from_nanos(value)) else {
                            continue;
                        };
                        assert_eq!(slab.claim(id), Ok(value));
                        slab.mark_running(id, T0).unwrap();
                        slab.finish(id, COMPLETED, value, T0).unwrap();
                        slab.transition(id, |w| Ok(w.retired())).unwrap();
                    }
                })
            })
            .collect();
        for _ in 0..rounds {
            for index in 0..2 {
                // Whatever we see must be one operation: its outcome was written by the
                // operation whose enqueue time we read.
                slab.read(index, None, |v| {
                    if let Some(&outcome) = v.outcome {
                        assert_eq!(v.enqueued_at, Duration::from_nanos(outcome));
                    }
                });
            }
        }
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(slab.word_at(0).readers() + slab.word_at(1).readers(), 0);
    }

    #[test]
    fn dropping_the_slab_drops_inputs_and_outcomes_it_still_holds() {
        let marker = alloc::sync::Arc::new(());
        let slab: Slab<alloc::sync::Arc<()>, alloc::sync::Arc<()>> = Slab::new(2);
        slab.insert(marker.clone(), T0).unwrap();
        let id = slab.insert(marker.clone(), T0).unwrap();
        slab.claim(id).unwrap();
        slab.finish(id, CANCELLED, marker.clone(), T0).unwrap();
        assert_eq!(alloc::sync::Arc::strong_count(&marker), 3);
        drop(slab);
        assert_eq!(alloc::sync::Arc::strong_count(&marker), 1);
    }

    #[test]
    fn a_key_is_readable_while_live_and_dropped_when_the_slot_is_freed_or_dropped() {
        let key = alloc::sync::Arc::new(String::from("customer-7"));
        let slab: Slab<u8, (), alloc::sync::Arc<String>> = Slab::new(2);
        let id = slab.insert_keyed(1, key.clone(), T0).unwrap();
        let kept = slab.insert_keyed(2, key.clone(), T0).unwrap();
        let read = slab.read(id.index(), Some(id.generation()), |v| {
            v.key.map(|k| k.len())
        });
        assert_eq!(read, Some(Some(10)));
        slab.claim(id).unwrap();
        slab.finish(id, COMPLETED, (), T0).unwrap();
        slab.transition(id, |w| Ok(w.retired())).unwrap();
        assert_eq!(
            alloc::sync::Arc::strong_count(&key),
            2,
            "the freed slot dropped its key"
        );
        let _ = kept;
        drop(slab);
        assert_eq!(alloc::sync::Arc::strong_count(&key), 1);
    }
}
