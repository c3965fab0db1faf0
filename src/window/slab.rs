//! A lock-free, fixed-capacity slab of operation slots.
//!
//! Every operation lives in one slot from `insert` to eviction. The slab never grows:
//! all slots are allocated by [`Slab::new`], so steady-state traffic allocates nothing.
//!
//! # The state word
//!
//! Each slot has one `AtomicU64` that every transition goes through (its fields are the
//! [`Field`]s `PHASE`, [`PINNED`], [`DISPLACED`], `READERS` and `GENERATION` below):
//!
//! ```text
//!  63            32 31        16 15     6   5         4        3..0
//! +----------------+------------+--------+---------+--------+-------+
//! |   generation   |  readers   |  zero  | DISPLCD | PINNED | phase |
//! +----------------+------------+--------+---------+--------+-------+
//! ```
//!
//! * `phase`: a [`Phase`]: `FREE`, `PENDING`, `CLAIMED` (taken by a worker or a
//!   canceller, reads as pending), `RUNNING`, `FINISHING` (a finisher won the right to
//!   record the outcome; reads as running), `COMPLETED`, `FAULTED`, `CANCELLED`, or
//!   `EVICTED` (gone, but a reader still holds the slot; the last reader out frees it).
//!   The docs and comments write phases in capitals: `PENDING` is [`Phase::Pending`].
//! * `PINNED`: exempt from count and age eviction. `DISPLACED`: pinned and pushed out of
//!   the window's ring (the window decides what these mean; the slab only stores them).
//! * `readers`: snapshot readers inside the slot. While non-zero the slot cannot be
//!   reused, so a reader sees one operation whole or not at all.
//! * `generation`: bumped on every reuse (skipping 0); an [`OperationId`] carries the
//!   generation it was issued with, so a stale id never matches a reused slot. An id
//!   also carries the slab's *origin*, so an id issued by another slab matches nothing.
//!
//! # Who may touch the cells
//!
//! Every writer first wins a transition that no one else can win, then writes, then
//! publishes with a `Release` transition; readers touch a cell only in phases published
//! after its last write.
//!
//! * `input`: the inserter until it publishes `PENDING`; then whoever wins the CAS
//!   `PENDING -> CLAIMED` (the [`Claim`] token proves it).
//! * `started_at`: the claimant, before it publishes `RUNNING`.
//! * `key`, `label`: written by the inserter before it publishes `PENDING`; after that
//!   only read (by readers who hold a reader count, and by the slot's owner) until the
//!   slot is reused. The label is plain bytes, so it is overwritten, never dropped.
//! * `outcome`, `finished_at`: the claimant of a `CLAIMED` operation (cancelling it), or
//!   whoever wins `RUNNING -> FINISHING`; both publish a terminal phase afterwards. From
//!   then on they are only read (by readers who hold a reader count) until the slot is
//!   freed, and freeing requires the reader count to be zero.
//!
//! Because the exclusive transition comes first, two finishers of one operation (or a
//! finisher racing a canceller) never write a cell together: the loser is refused
//! before it writes anything.
//!
//! # Free list
//!
//! Free slots form a Treiber stack (R. K. Treiber, "Systems Programming: Coping with
//! Parallelism", IBM RJ 5118, 1986) threaded through the slots' `next_free` links. The
//! head word packs a 32-bit modification tag above the 32-bit slot index; every push and
//! pop bumps the tag, so a pop that read a stale head cannot succeed after the head was
//! popped and pushed back meanwhile (the ABA problem; the tag is the "version counter"
//! of IBM System/370's compare-double-and-swap idiom).
//!
//! # User code
//!
//! Values the slab owns (inputs, outcomes, keys) are user types whose `Drop` may panic.
//! Freeing a slot first takes them out and puts the slot back on the free list, then
//! drops them inside [`contain`]: a panicking `Drop` is counted and the slab stays whole.
//! A reader's closure may panic too: its reader count is released by a guard.

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use alloc::boxed::Box;
use core::time::Duration;

use super::Marks;
use crate::bits::Field;
use crate::operation::{MAX_SLOTS, OperationId, State};
use crate::sync::{Arc, AtomicU32, AtomicU64, Ordering, UnsafeCell, contain, spin_hint};
use crate::wakeup::Wakeup;

use super::Label;

/// Where an operation is in the slab's protocol (a finer division than [`State`]: the
/// phases that only one thread may leave, and the end of a slot's life, are phases too).
///
/// Stored in the low bits of the [state word](self#the-state-word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// On the free list (or about to be).
    Free = 0,
    /// Inserted, waiting for a claimant.
    Pending = 1,
    /// Claimed by a worker or canceller (reads as pending).
    Claimed = 2,
    /// Its body runs.
    Running = 3,
    /// Finished, successfully.
    Completed = 4,
    /// Finished with an error or a panic.
    Faulted = 5,
    /// Finished by cancellation.
    Cancelled = 6,
    /// Evicted while readers were inside; the last one out frees it.
    Evicted = 7,
    /// A finisher is recording the outcome (reads as running).
    Finishing = 8,
}

impl Phase {
    /// The phase stored as `bits`; only values [`bits`](Self::bits) returned are ever
    /// stored.
    pub fn from_bits(bits: u64) -> Self {
        match bits {
            0 => Self::Free,
            1 => Self::Pending,
            2 => Self::Claimed,
            3 => Self::Running,
            4 => Self::Completed,
            5 => Self::Faulted,
            6 => Self::Cancelled,
            7 => Self::Evicted,
            8 => Self::Finishing,
            _ => unreachable!("no phase is stored as {bits}"),
        }
    }

    /// The bits that store the phase.
    pub const fn bits(self) -> u64 {
        self as u64
    }

    /// The phase that stores a terminal `state`; `None` for states that are not terminal.
    pub fn terminal(state: State) -> Option<Self> {
        match state {
            State::Completed => Some(Self::Completed),
            State::Faulted => Some(Self::Faulted),
            State::Cancelled => Some(Self::Cancelled),
            State::Pending | State::Running => None,
        }
    }

    /// A terminal phase: the operation finished and its outcome is recorded.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Faulted | Self::Cancelled)
    }
}

// The state word's fields, low bits first (module docs).
/// The operation's [`Phase`].
const PHASE: Field<u64> = Field::new(0, 4);
/// Flag: exempt from count and age eviction.
pub(crate) const PINNED: Field<u64> = PHASE.above(1);
/// Flag: pinned and pushed out of the window's ring.
pub(crate) const DISPLACED: Field<u64> = PINNED.above(1);
/// Snapshot readers inside the slot (bits 6..16 stay zero).
const READERS: Field<u64> = Field::new(16, 16);
/// Bumped on every reuse of the slot.
const GENERATION: Field<u64> = READERS.above(32);

// The free-list head's fields.
/// The slot on top of the free list (`NIL` when empty).
const HEAD_INDEX: Field<u64> = Field::new(0, 32);
/// Bumped by every push and pop (module docs, Free list).
const HEAD_TAG: Field<u64> = HEAD_INDEX.above(32);

/// Marks the end of the free list.
const NIL: u32 = MAX_SLOTS as u32;

/// The free-list head word with `tag` above slot `index`.
fn free_head(tag: u32, index: u32) -> u64 {
    HEAD_TAG.set(HEAD_INDEX.place(u64::from(index)), u64::from(tag))
}

/// A decoded state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word(pub u64);

impl Word {
    fn new(generation: u32, phase: Phase) -> Self {
        Self(GENERATION.set(PHASE.place(phase.bits()), u64::from(generation)))
    }
    /// The operation's phase.
    pub fn phase(self) -> Phase {
        Phase::from_bits(PHASE.get(self.0))
    }
    /// The slot's generation.
    pub fn generation(self) -> u32 {
        GENERATION.get(self.0) as u32
    }
    /// Readers inside the slot.
    pub fn readers(self) -> u64 {
        READERS.get(self.0)
    }
    /// Whether `flag` ([`PINNED`], [`DISPLACED`]) is set.
    pub(crate) fn has(self, flag: Field<u64>) -> bool {
        flag.is_set(self.0)
    }
    /// The same word in `phase`.
    pub fn with_phase(self, phase: Phase) -> Self {
        Self(PHASE.set(self.0, phase.bits()))
    }
    /// The same word with `flag` set or cleared.
    pub(crate) fn with(self, flag: Field<u64>, on: bool) -> Self {
        Self(flag.set(self.0, u64::from(on)))
    }
    /// The word that ends this operation's life: `Free` when no reader is inside,
    /// otherwise `Evicted`, whose last reader frees the slot. Flags are cleared.
    pub fn retired(self) -> Self {
        let cleared = self.with(PINNED, false).with(DISPLACED, false);
        if self.readers() == 0 {
            cleared.with_phase(Phase::Free)
        } else {
            cleared.with_phase(Phase::Evicted)
        }
    }
    /// A live operation: between insert and eviction.
    pub fn is_live(self) -> bool {
        !matches!(self.phase(), Phase::Free | Phase::Evicted)
    }
    /// In a terminal phase.
    pub fn is_finished(self) -> bool {
        self.phase().is_finished()
    }
    /// The state an observer sees, for a live word.
    pub fn state(self) -> Option<State> {
        Some(match self.phase() {
            Phase::Pending | Phase::Claimed => State::Pending,
            Phase::Running | Phase::Finishing => State::Running,
            Phase::Completed => State::Completed,
            Phase::Faulted => State::Faulted,
            Phase::Cancelled => State::Cancelled,
            Phase::Free | Phase::Evicted => return None,
        })
    }
}

fn next_generation(generation: u32) -> u32 {
    match generation.wrapping_add(1) {
        0 => 1,
        next => next,
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
    /// Written by the finisher before it publishes a terminal phase.
    finished_at: UnsafeCell<Duration>,
    /// The finisher's completion order (the window's ticket), stored (Release) before it
    /// publishes a terminal phase; an atomic so that a placer can compare the order of
    /// an operation it does not hold (see [`Slab::order_of`]).
    order: AtomicU64,
    input: UnsafeCell<Option<I>>,
    outcome: UnsafeCell<Option<O>>,
    /// What the operation was enqueued under (keyed coordinators; `()` elsewhere).
    key: UnsafeCell<Option<K>>,
    /// What the operation is about; written by the inserter before it publishes `PENDING`.
    label: UnsafeCell<Label>,
}

/// What a reader sees of one live operation while it holds the slot.
pub struct View<'a, O, K = ()> {
    pub id: OperationId,
    pub key: Option<&'a K>,
    /// A copy: plain bytes, read where the protocol allows (so loom sees the read).
    pub label: Label,
    pub word: Word,
    pub enqueued_at: Duration,
    pub started_at: Option<Duration>,
    pub finished_at: Option<Duration>,
    /// The completion order of a finished operation.
    pub order: Option<u64>,
    pub outcome: Option<&'a O>,
}

/// Why a transition on an id was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The id names no live operation: never issued here, or evicted (its slot may be
    /// reused).
    Unknown,
    /// The operation is live but not in a phase the transition starts from.
    Phase(Word),
}

/// Proof of winning `PENDING -> CLAIMED`: the holder alone may start the operation,
/// finish it as cancelled, or withdraw it. Neither `Copy` nor `Clone`, so one claim is
/// used once.
#[derive(Debug)]
pub struct Claim(OperationId);

/// The fixed-capacity, lock-free slab. See the module docs for the protocol.
pub struct Slab<I, O, K = ()> {
    slots: Box<[Slot<I, O, K>]>,
    /// Which slab issued an id (see [`OperationId`]); fixed at construction.
    origin: u64,
    /// Treiber stack head: [`HEAD_TAG`] above [`HEAD_INDEX`] (index `NIL` when empty).
    free_head: AtomicU64,
    /// Notified each time a slot goes back on the free list, by whoever freed it (an
    /// evictor, or the last reader out of an evicted slot).
    freed: Wakeup,
    /// Panics contained in the `Drop` of values freed with their slots; any freer.
    drop_panics: AtomicU64,
    /// The signals each slot's operation raised: released when the slot is freed, so a
    /// name stays pinned exactly while an operation in the window carries it.
    marks: Option<Arc<Marks>>,
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
        self.insert_keyed(input, (), Label::EMPTY, now)
            .map_err(|(input, ())| input)
    }
}

/// Releases a reader's count when dropped, also when the reader's closure unwinds.
struct Leave<'a, I, O, K> {
    slab: &'a Slab<I, O, K>,
    index: u32,
}

impl<I, O, K> Drop for Leave<'_, I, O, K> {
    fn drop(&mut self) {
        self.slab.leave(self.index);
    }
}

impl<I, O, K> Slab<I, O, K> {
    /// Allocates `capacity` free slots; the only allocation the slab ever makes.
    #[cfg(any(test, loom))]
    pub fn new(capacity: usize) -> Self {
        Self::with_marks(capacity, None)
    }

    /// [`new`](Self::new), releasing a slot's `marks` whenever the slot is freed.
    pub(crate) fn with_marks(capacity: usize, marks: Option<Arc<Marks>>) -> Self {
        debug_assert!(capacity <= MAX_SLOTS);
        let slots = (0..capacity)
            .map(|i| Slot {
                state: AtomicU64::new(Word::new(0, Phase::Free).0),
                next_free: AtomicU32::new(if i + 1 < capacity { i as u32 + 1 } else { NIL }),
                enqueued_at: UnsafeCell::new(Duration::ZERO),
                started_at: UnsafeCell::new(None),
                finished_at: UnsafeCell::new(Duration::ZERO),
                order: AtomicU64::new(0),
                input: UnsafeCell::new(None),
                outcome: UnsafeCell::new(None),
                key: UnsafeCell::new(None),
                label: UnsafeCell::new(Label::EMPTY),
            })
            .collect();
        let head = if capacity == 0 { NIL } else { 0 };
        Self {
            slots,
            origin: crate::operation::next_origin(),
            free_head: AtomicU64::new(free_head(0, head)),
            freed: Wakeup::new(),
            drop_panics: AtomicU64::new(0),
            marks,
        }
    }

    /// How many slots the slab holds.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The slot `id` names, if `id` was issued by this slab (its generation is checked
    /// against the state word by each caller).
    fn slot_of(&self, id: OperationId) -> Option<&Slot<I, O, K>> {
        if id.origin() != self.origin {
            return None;
        }
        self.slots.get(id.index() as usize)
    }

    /// The id of this slab's slot `index` at `generation`.
    pub fn id(&self, index: u32, generation: u32) -> OperationId {
        OperationId::new(self.origin, index, generation)
    }

    /// The id packed by [`OperationId::raw`] for this slab; `None` for 0.
    pub fn id_from_raw(&self, raw: u64) -> Option<OperationId> {
        OperationId::from_raw(self.origin, raw)
    }

    /// The current state word of the slot at `index` (for scans).
    pub fn word_at(&self, index: usize) -> Word {
        Word(self.slots[index].state.load(Ordering::Acquire))
    }

    /// Panics contained so far in the `Drop` of values freed with their slots.
    pub fn drop_panics(&self) -> u64 {
        self.drop_panics.load(Ordering::Relaxed)
    }

    fn pop_free(&self) -> Option<u32> {
        let mut head = self.free_head.load(Ordering::Acquire);
        loop {
            let (tag, index) = (HEAD_TAG.get(head) as u32, HEAD_INDEX.get(head) as u32);
            let slot = self.slots.get(index as usize)?;
            let next = slot.next_free.load(Ordering::Relaxed);
            let new = free_head(tag.wrapping_add(1), next);
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
            let (tag, top) = (HEAD_TAG.get(head) as u32, HEAD_INDEX.get(head) as u32);
            slot.next_free.store(top, Ordering::Relaxed);
            let new = free_head(tag.wrapping_add(1), index);
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

    /// Takes a free slot for a new pending operation filed under `key` and described by
    /// `label`, or hands input and key back when none is free.
    pub fn insert_keyed(
        &self,
        input: I,
        key: K,
        label: Label,
        now: Duration,
    ) -> Result<OperationId, (I, K)> {
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
            slot.label.with_mut(|cell| *cell = label);
            slot.enqueued_at.with_mut(|cell| *cell = now);
            slot.started_at.with_mut(|cell| *cell = None);
        }
        slot.state
            .store(Word::new(generation, Phase::Pending).0, Ordering::Release);
        Ok(self.id(index, generation))
    }

    /// Runs a CAS loop on `id`'s state word: `step` maps the current word to the next one
    /// or refuses. Returns `(old, new)` on success. A step that retires the operation
    /// (see [`Word::retired`]) with no reader inside frees the slot before returning.
    pub fn transition(
        &self,
        id: OperationId,
        mut step: impl FnMut(Word) -> Result<Word, Refused>,
    ) -> Result<(Word, Word), Refused> {
        let slot = self.slot_of(id).ok_or(Refused::Unknown)?;
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
                    if next.phase() == Phase::Free {
                        // We retired it with no reader inside: the slot is ours to free.
                        self.reclaim(id.index());
                    }
                    return Ok((current, next));
                }
                Err(seen) => current = Word(seen),
            }
        }
    }

    /// Moves a phase this thread alone may leave (`CLAIMED` held by a [`Claim`], or
    /// `FINISHING` won by [`begin_finish`](Self::begin_finish)) to `to`; only readers and
    /// flags change the word meanwhile, so the change cannot be refused.
    fn advance(&self, id: OperationId, from: Phase, to: Phase) -> Word {
        let slot = &self.slots[id.index() as usize];
        // One read-modify-write replaces the phase bits and keeps everything else.
        let old = Word(
            slot.state
                .fetch_xor(from.bits() ^ to.bits(), Ordering::AcqRel),
        );
        debug_assert_eq!(old.phase(), from, "only the owner of a phase leaves it");
        old.with_phase(to)
    }

    /// Wins `PENDING -> CLAIMED` and takes the input out; the caller now owns the
    /// operation, and the returned [`Claim`] is the proof.
    pub fn claim(&self, id: OperationId) -> Result<(Claim, I), Refused> {
        self.transition(id, |w| match w.phase() {
            Phase::Pending => Ok(w.with_phase(Phase::Claimed)),
            _ => Err(Refused::Phase(w)),
        })?;
        let slot = &self.slots[id.index() as usize];
        // SAFETY: winning PENDING -> CLAIMED makes this thread the input's only owner;
        // the inserter's writes happen-before via its Release store and our AcqRel CAS.
        let input = slot.input.with_mut(|cell| unsafe { (*cell).take() });
        match input {
            Some(input) => Ok((Claim(id), input)),
            // The inserter always stores `Some`, and only a claimant takes it.
            None => unreachable!("a pending operation holds its input"),
        }
    }

    /// Publishes `CLAIMED -> RUNNING` with the start time.
    pub fn mark_running(&self, claim: Claim, now: Duration) {
        let slot = &self.slots[claim.0.index() as usize];
        // SAFETY: the claim proves this thread holds CLAIMED, so it owns `started_at`;
        // readers of a CLAIMED slot do not read it, and RUNNING is published below
        // (AcqRel), after this write.
        slot.started_at
            .with_mut(|cell| unsafe { *cell = Some(now) });
        self.advance(claim.0, Phase::Claimed, Phase::Running);
    }

    /// Wins `RUNNING -> FINISHING`: the caller alone may now record the outcome with
    /// [`finish`](Self::finish). Refused unless the operation is running.
    pub fn begin_finish(&self, id: OperationId) -> Result<Finishing, Refused> {
        self.transition(id, |w| match w.phase() {
            Phase::Running => Ok(w.with_phase(Phase::Finishing)),
            _ => Err(Refused::Phase(w)),
        })?;
        Ok(Finishing(id))
    }

    /// Records `outcome` for an operation this thread owns (a [`Claim`] of a pending one,
    /// which it cancels, or a [`Finishing`] of a running one) with its completion `order`
    /// (kept for readers to sort by), calls `report` (if any) with the finished operation
    /// while it still owns it, then publishes the terminal `phase`.
    /// `report` runs before anyone else can see the operation finished, so it sees every
    /// operation exactly once, and cannot lose it to an eviction.
    pub fn finish<R>(
        &self,
        owner: Owned,
        phase: Phase,
        outcome: O,
        now: Duration,
        order: u64,
        report: Option<impl FnOnce(View<'_, O, K>) -> R>,
    ) -> (Word, Option<R>) {
        debug_assert!(phase.is_finished());
        let (id, from) = (owner.id, owner.phase);
        let slot = &self.slots[id.index() as usize];
        // SAFETY: `owner` proves this thread holds CLAIMED or FINISHING for `id`, which no
        // one else can leave, and readers touch these cells only once a terminal phase is
        // published (below, AcqRel).
        unsafe {
            slot.outcome.with_mut(|cell| *cell = Some(outcome));
            slot.finished_at.with_mut(|cell| *cell = now);
        }
        slot.order.store(order, Ordering::Release);
        let report = report.map(|report| {
            let word = Word(slot.state.load(Ordering::Acquire)).with_phase(phase);
            // SAFETY: as above: we still own the slot's cells and write none of them while
            // the view borrows them; the key, label and times were written before phases
            // this thread has since acquired (PENDING, then CLAIMED or RUNNING by its own
            // transitions).
            let view = unsafe {
                View {
                    id,
                    key: slot.key.with(|cell| (*cell).as_ref()),
                    label: slot.label.with(|cell| *cell),
                    word,
                    enqueued_at: slot.enqueued_at.with(|cell| *cell),
                    started_at: slot.started_at.with(|cell| *cell),
                    finished_at: Some(now),
                    order: Some(order),
                    outcome: slot.outcome.with(|cell| (*cell).as_ref()),
                }
            };
            report(view)
        });
        (self.advance(id, from, phase), report)
    }

    /// Takes a claimed operation back out without recording it: its slot is free again
    /// (once no reader holds it) and its id unknown. Returns the word it had.
    pub fn withdraw(&self, claim: Claim) -> Word {
        // Only readers and flags change a claimed word; the claim keeps the phase, and
        // `transition` frees the slot if no reader is inside.
        match self.transition(claim.0, |word| Ok(word.retired())) {
            Ok((was, _)) => was,
            Err(_) => unreachable!("a claim keeps its operation live"),
        }
    }

    /// Takes what the slot still owns out, puts it back on the free list, then drops
    /// those values (contained: a panicking `Drop` is counted, the slot is already free).
    fn reclaim(&self, index: u32) {
        let slot = &self.slots[index as usize];
        // SAFETY: the caller moved the word to FREE with no readers inside, and a FREE
        // slot that is not on the free list is reachable by no one else.
        let owned = unsafe {
            (
                slot.input.with_mut(|cell| (*cell).take()),
                slot.outcome.with_mut(|cell| (*cell).take()),
                slot.key.with_mut(|cell| (*cell).take()),
            )
        };
        if let Some(marks) = &self.marks {
            // Before the slot can be reused; no reader is inside to list them.
            marks.release(index);
        }
        self.push_free(index);
        self.freed.notify(1);
        if contain(move || drop(owned)).is_none() {
            self.drop_panics.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// What waits for a free slot listens on.
    pub fn freed(&self) -> &Wakeup {
        &self.freed
    }

    /// Reads the operation in slot `index` (of generation `expected`, if given) without
    /// blocking its writers: `f` sees one operation whole, or `read` returns `None`.
    /// A panic in `f` propagates after the slot is released.
    pub fn read<R>(
        &self,
        index: u32,
        expected: Option<u32>,
        f: impl FnOnce(View<'_, O, K>) -> R,
    ) -> Option<R> {
        let slot = self.slots.get(index as usize)?;
        let mut current = Word(slot.state.load(Ordering::Acquire));
        loop {
            if !current.is_live() || expected.is_some_and(|g| g != current.generation()) {
                return None;
            }
            if current.readers() == READERS.max() {
                // 65,535 readers inside one slot: wait for one to leave rather than overflow.
                spin_hint();
                current = Word(slot.state.load(Ordering::Acquire));
                continue;
            }
            match slot.state.compare_exchange_weak(
                current.0,
                current.0 + READERS.unit(),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(seen) => current = Word(seen),
            }
        }
        let _leave = Leave { slab: self, index };
        let id = self.id(index, current.generation());
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
        let (enqueued_at, started_at, finished_at, order) = unsafe {
            let started = !matches!(current.phase(), Phase::Pending | Phase::Claimed);
            let finished = current.is_finished();
            (
                slot.enqueued_at.with(|cell| *cell),
                if started {
                    slot.started_at.with(|cell| *cell)
                } else {
                    None
                },
                finished.then(|| slot.finished_at.with(|cell| *cell)),
                finished.then(|| slot.order.load(Ordering::Acquire)),
            )
        };
        // SAFETY: the key and label were written before PENDING was published (our
        // Acquire CAS sees them) and are not written again or dropped until the slot is
        // freed and reused, which our reader count prevents.
        let (key, label) = unsafe {
            (
                slot.key.with(|cell| (*cell).as_ref()),
                slot.label.with(|cell| *cell),
            )
        };
        Some(f(View {
            id,
            key,
            label,
            word: current,
            enqueued_at,
            started_at,
            finished_at,
            order,
            outcome,
        }))
    }

    /// The completion order of the finished operation `id`, read without entering its
    /// slot: `None` if `id` is not (or no longer) a finished operation. The order is
    /// accepted only if the word shows the same finished operation after it was loaded;
    /// an order stored by a later operation in the slot synchronises with the store of
    /// that operation's generation, so the re-check would see it.
    pub fn order_of(&self, id: OperationId) -> Option<u64> {
        let slot = self.slot_of(id)?;
        let same = |w: Word| w.generation() == id.generation() && w.is_finished();
        if !same(Word(slot.state.load(Ordering::Acquire))) {
            return None;
        }
        let order = slot.order.load(Ordering::Acquire);
        same(Word(slot.state.load(Ordering::Acquire))).then_some(order)
    }

    /// [`read`](Self::read) of the operation `id` names, if this slab issued it.
    pub fn read_id<R>(&self, id: OperationId, f: impl FnOnce(View<'_, O, K>) -> R) -> Option<R> {
        self.slot_of(id)?;
        self.read(id.index(), Some(id.generation()), f)
    }

    fn leave(&self, index: u32) {
        let slot = &self.slots[index as usize];
        let before = Word(slot.state.fetch_sub(READERS.unit(), Ordering::AcqRel));
        if before.phase() == Phase::Evicted && before.readers() == 1 {
            // The operation was evicted while we read it and we were the last reader:
            // no one else can reach the slot now, so freeing it falls to us.
            slot.state.store(
                before.with_phase(Phase::Free).0 - READERS.unit(),
                Ordering::Relaxed,
            );
            self.reclaim(index);
        }
    }
}

impl<I, O, K> Drop for Slab<I, O, K> {
    fn drop(&mut self) {
        for slot in self.slots.iter() {
            // SAFETY: `&mut self`: no reader, claimant or finisher can hold a slot now.
            let owned = unsafe {
                (
                    slot.input.with_mut(|cell| (*cell).take()),
                    slot.outcome.with_mut(|cell| (*cell).take()),
                    slot.key.with_mut(|cell| (*cell).take()),
                )
            };
            // A panicking user `Drop` must not stop the others from being dropped, nor
            // unwind out of whatever dropped the slab (a worker, a coordinator's owner).
            let _ = contain(move || drop(owned));
        }
    }
}

/// No report for [`Slab::finish`]: the finished operation is not viewed (for the unit
/// tests and models; the window passes its own optional report).
#[cfg(any(test, loom))]
pub fn unreported<O, K>() -> Option<fn(View<'_, O, K>)> {
    None
}

/// Proof of winning `RUNNING -> FINISHING` ([`Slab::begin_finish`]).
#[derive(Debug)]
pub struct Finishing(OperationId);

/// An operation this thread owns, ready to be finished: a [`Claim`] or a [`Finishing`].
pub struct Owned {
    id: OperationId,
    phase: Phase,
}

impl Owned {
    pub fn id(&self) -> OperationId {
        self.id
    }
}

impl From<Claim> for Owned {
    fn from(claim: Claim) -> Self {
        Self {
            id: claim.0,
            phase: Phase::Claimed,
        }
    }
}

impl From<Finishing> for Owned {
    fn from(finishing: Finishing) -> Self {
        Self {
            id: finishing.0,
            phase: Phase::Finishing,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    const T0: Duration = Duration::ZERO;

    /// Starts `id` and finishes it with `outcome` in `phase`.
    fn finish<I, O, K>(slab: &Slab<I, O, K>, id: OperationId, phase: Phase, outcome: O) {
        let (claim, _) = slab.claim(id).unwrap();
        slab.mark_running(claim, T0);
        let finishing = slab.begin_finish(id).unwrap();
        slab.finish(finishing.into(), phase, outcome, T0, 0, unreported());
    }

    fn run_to(slab: &Slab<String, String>, id: OperationId, state: State) {
        finish(
            slab,
            id,
            Phase::terminal(state).unwrap(),
            String::from("done"),
        );
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
        assert!(matches!(slab.claim(old), Err(Refused::Unknown)));
        assert_eq!(slab.claim(new).unwrap().1, "b");
    }

    #[test]
    fn claim_is_won_once() {
        let slab: Slab<u8, ()> = Slab::new(1);
        let id = slab.insert(7, T0).unwrap();
        assert_eq!(slab.claim(id).unwrap().1, 7);
        assert!(matches!(slab.claim(id), Err(Refused::Phase(_))));
    }

    #[test]
    fn finishing_is_won_once_and_only_from_running() {
        let slab: Slab<u8, String> = Slab::new(1);
        let id = slab.insert(7, T0).unwrap();
        assert!(matches!(slab.begin_finish(id), Err(Refused::Phase(_))));
        let (claim, _) = slab.claim(id).unwrap();
        assert!(
            matches!(slab.begin_finish(id), Err(Refused::Phase(_))),
            "a claimed operation is its claimant's"
        );
        slab.mark_running(claim, T0);
        let finishing = slab.begin_finish(id).unwrap();
        assert!(
            matches!(slab.begin_finish(id), Err(Refused::Phase(w)) if w.state() == Some(State::Running)),
            "a second finisher is refused before it writes anything"
        );
        slab.finish(
            finishing.into(),
            Phase::Completed,
            String::from("x"),
            T0,
            0,
            unreported(),
        );
        assert!(matches!(slab.begin_finish(id), Err(Refused::Phase(_))));
    }

    /// Under miri this checks that the loser of the finishing race touches no cell.
    #[test]
    fn two_threads_finishing_one_operation_never_both_record() {
        extern crate std;
        let rounds = if cfg!(miri) { 10 } else { 2_000 };
        for _ in 0..rounds {
            let slab: alloc::sync::Arc<Slab<u8, u64>> = alloc::sync::Arc::new(Slab::new(1));
            let id = slab.insert(1, T0).unwrap();
            let (claim, _) = slab.claim(id).unwrap();
            slab.mark_running(claim, T0);
            let finishers: Vec<_> = (0..2u64)
                .map(|n| {
                    let slab = slab.clone();
                    std::thread::spawn(move || match slab.begin_finish(id) {
                        Ok(finishing) => {
                            slab.finish(finishing.into(), Phase::Completed, n, T0, n, unreported());
                            true
                        }
                        Err(_) => false,
                    })
                })
                .collect();
            let won = finishers
                .into_iter()
                .map(|f| f.join().unwrap())
                .filter(|&won| won)
                .count();
            assert_eq!(won, 1);
            assert!(slab.word_at(0).is_finished());
        }
    }

    #[test]
    fn eviction_while_read_is_completed_by_the_last_reader() {
        let slab: Slab<String, String> = Slab::new(1);
        let id = slab.insert(String::from("a"), T0).unwrap();
        run_to(&slab, id, State::Faulted);
        let seen = slab.read(id.index(), Some(id.generation()), |view| {
            // Evict from inside the read: the slot must stay intact until we leave.
            slab.transition(id, |w| Ok(w.retired())).unwrap();
            assert_eq!(slab.word_at(0).phase(), Phase::Evicted);
            assert!(slab.insert(String::from("b"), T0).is_err());
            view.outcome.cloned()
        });
        assert_eq!(seen, Some(Some(String::from("done"))));
        assert_eq!(slab.word_at(0).phase(), Phase::Free);
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
        let (claim, _) = slab.claim(id).unwrap();
        slab.mark_running(claim, Duration::from_secs(2));
        let finishing = slab.begin_finish(id).unwrap();
        slab.finish(
            finishing.into(),
            Phase::Completed,
            9,
            Duration::from_secs(3),
            0,
            unreported(),
        );
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
                        let (claim, input) = slab.claim(id).unwrap();
                        assert_eq!(input, value);
                        slab.mark_running(claim, T0);
                        let finishing = slab.begin_finish(id).unwrap();
                        slab.finish(
                            finishing.into(),
                            Phase::Completed,
                            value,
                            T0,
                            0,
                            unreported(),
                        );
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
        let (claim, _) = slab.claim(id).unwrap();
        slab.finish(
            claim.into(),
            Phase::Cancelled,
            marker.clone(),
            T0,
            0,
            unreported(),
        );
        assert_eq!(alloc::sync::Arc::strong_count(&marker), 3);
        drop(slab);
        assert_eq!(alloc::sync::Arc::strong_count(&marker), 1);
    }

    #[test]
    fn a_key_is_readable_while_live_and_dropped_when_the_slot_is_freed_or_dropped() {
        let key = alloc::sync::Arc::new(String::from("customer-7"));
        let slab: Slab<u8, (), alloc::sync::Arc<String>> = Slab::new(2);
        let id = slab.insert_keyed(1, key.clone(), Label::EMPTY, T0).unwrap();
        let kept = slab.insert_keyed(2, key.clone(), Label::EMPTY, T0).unwrap();
        let read = slab.read(id.index(), Some(id.generation()), |v| {
            v.key.map(|k| k.len())
        });
        assert_eq!(read, Some(Some(10)));
        let (claim, _) = slab.claim(id).unwrap();
        slab.finish(claim.into(), Phase::Completed, (), T0, 0, unreported());
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

    /// A reader whose closure panics still leaves the slot, so the slot can be freed and
    /// reused; a leaked reader count used to pin it for good.
    #[test]
    #[cfg(feature = "std")]
    fn a_panicking_reader_releases_its_slot() {
        extern crate std;
        let slab: Slab<String, String> = Slab::new(1);
        let id = slab.insert(String::from("a"), T0).unwrap();
        run_to(&slab, id, State::Completed);
        let caught = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
            slab.read_id(id, |_| panic!("visitor bug"));
        }));
        assert!(caught.is_err());
        assert_eq!(slab.word_at(0).readers(), 0);
        slab.transition(id, |w| Ok(w.retired())).unwrap();
        assert_eq!(slab.word_at(0).phase(), Phase::Free);
        assert!(slab.insert(String::from("b"), T0).is_ok());
    }

    /// A value whose `Drop` panics is dropped after its slot is back on the free list:
    /// the panic is counted and the slot is reusable.
    #[test]
    #[cfg(feature = "std")]
    fn a_panicking_drop_of_a_freed_value_is_contained_and_the_slot_reused() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("drop bomb");
            }
        }
        let slab: Slab<u8, Bomb> = Slab::new(1);
        let id = slab.insert(1, T0).unwrap();
        finish(&slab, id, Phase::Faulted, Bomb);
        slab.transition(id, |w| Ok(w.retired())).unwrap();
        assert_eq!(slab.drop_panics(), 1);
        assert!(slab.insert(2, T0).is_ok());
    }

    #[test]
    fn an_id_from_another_slab_names_nothing_here() {
        let a: Slab<u8, ()> = Slab::new(1);
        let b: Slab<u8, ()> = Slab::new(1);
        let id_a = a.insert(1, T0).unwrap();
        let id_b = b.insert(2, T0).unwrap();
        assert_eq!(
            (id_a.index(), id_a.generation()),
            (id_b.index(), id_b.generation())
        );
        assert!(b.read_id(id_a, |_| ()).is_none());
        assert!(matches!(b.claim(id_a), Err(Refused::Unknown)));
        assert!(matches!(b.begin_finish(id_a), Err(Refused::Unknown)));
        assert_eq!(b.claim(id_b).unwrap().1, 2);
    }

    #[test]
    fn finish_reports_the_operation_before_publishing_it() {
        let slab: Slab<u8, u8, u32> = Slab::new(1);
        let id = slab
            .insert_keyed(1, 77, Label::EMPTY, Duration::from_secs(1))
            .unwrap();
        let (claim, _) = slab.claim(id).unwrap();
        slab.mark_running(claim, Duration::from_secs(2));
        let finishing = slab.begin_finish(id).unwrap();
        let (word, seen) = slab.finish(
            finishing.into(),
            Phase::Completed,
            5,
            Duration::from_secs(3),
            9,
            Some(|v: View<'_, u8, u32>| {
                assert_eq!(
                    slab.word_at(0).phase(),
                    Phase::Finishing,
                    "nobody else sees it finished yet"
                );
                (
                    v.key.copied(),
                    v.outcome.copied(),
                    v.started_at,
                    v.finished_at,
                    v.order,
                    v.word.state(),
                )
            }),
        );
        assert_eq!(
            seen.unwrap(),
            (
                Some(77),
                Some(5),
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(3)),
                Some(9),
                Some(State::Completed)
            )
        );
        assert_eq!(word.phase(), Phase::Completed);
        assert_eq!(slab.word_at(0).phase(), Phase::Completed);
    }
}
