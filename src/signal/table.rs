//! The signal table: names interned into fixed-capacity slots, presence as an atomic
//! bitset, and each signal's last raise time. A slot whose name nobody uses any more is
//! given to a new name when the table is full; handles carry the slot's generation, so a
//! handle to a reclaimed name answers nothing rather than the new name.
//!
//! Interning is rare (the first use of a name) and takes a short spin lock; everything
//! else (lookup, raise, retract, presence checks) is lock-free and allocation-free.
//!
//! # Slots
//!
//! Each slot has a `meta` word (`GENERATION | PINS | LIVE`), a `head` (length and hash of
//! the name), the name's bytes in atomic words, `born` (the intern count that placed the
//! name) and `raised_at`. Only the interning-lock holder writes a slot's name, and only
//! while the slot is not `LIVE`.
//!
//! * **Names** are read as a seqlock over `meta` (all-atomic, as the history's cells):
//!   load `meta` (must be `LIVE`), the head and words, `meta` again; accept only if the
//!   generation is the same and still `LIVE`. A reclaim changes the generation before
//!   the words are rewritten, so a copy that saw a new word fails the re-check.
//! * **Pins** keep a name from reclaim. A pin is `fetch_add(PIN)` that checks the word
//!   it replaced had the handle's generation and `LIVE` (otherwise `fetch_sub` and the
//!   handle is stale). Whoever uses a name holds pins: a raise or retract for its
//!   duration, a raised name one for as long as its presence bit is set (taken by the
//!   raise that sets the bit, dropped by the retract that clears it, so "raised" implies
//!   "pinned"), each window mark one ([`Marks`](crate::window::Marks)), each mask bit one
//!   ([`SignalMask`](super::SignalMask)).
//! * **Reclaim** (interning lock held, table full): pick the idle slot (`LIVE`, no pins)
//!   born first, and CAS its `meta` from exactly that value to the next generation with
//!   `LIVE` clear. A pin taken before the CAS makes it fail (look again); one taken after
//!   sees the new generation and backs out. Then the new name is written and published
//!   by `fetch_or(LIVE)` (keeping the counts of backing-out pinners).
//!
//! Generations are 32 bits per slot: a handle kept while its slot is reclaimed 2^32
//! times would name the slot's name again.

use alloc::boxed::Box;
use core::fmt;
use core::time::Duration;

use super::name::{self, Name};
use crate::bits::Field;
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Ordering, spin_hint};
use crate::time::{from_nanos_plus_one, to_nanos_plus_one};

/// `meta` flag: the slot holds a published name.
const LIVE: Field<u64> = Field::flag(0);
/// `meta` field: pins held on the slot's name (or being backed out of).
const PINS: Field<u64> = Field::new(1, 31);
/// `meta` field: the slot's generation, bumped by each reclaim.
const GENERATION: Field<u64> = Field::top(32);
/// One pin.
const PIN: u64 = PINS.unit();

/// The most names a table can hold (handles pack the index into 24 bits beside their
/// generation in the history's words). A larger capacity asked of
/// [`SignalTable::new`] or [`SinkBuilder::names`](super::SinkBuilder::names) is clamped
/// to it, so every handle's [`index`](Signal::index) is below it.
///
/// ```
/// use ephemeral::signal::MAX_NAMES;
///
/// assert_eq!(MAX_NAMES, 16_777_215);
/// assert!(MAX_NAMES < 1 << 24, "an index fits 24 bits");
/// ```
pub const MAX_NAMES: usize = (1 << 24) - 1;

/// The default longest name, in bytes: of [`SignalTable::new`] and of a sink unless
/// [`SinkBuilder::name_bytes`](super::SinkBuilder::name_bytes) says otherwise. Every
/// name slot reserves this much, so a longer default would cost every table.
///
/// ```
/// use ephemeral::signal::{DEFAULT_NAME_BYTES, SignalSink, TableError};
///
/// let sink = SignalSink::new();
/// assert!(sink.raise("x".repeat(DEFAULT_NAME_BYTES)).is_ok());
/// assert_eq!(
///     sink.raise("x".repeat(DEFAULT_NAME_BYTES + 1)),
///     Err(TableError::NameTooLong { max: DEFAULT_NAME_BYTES })
/// );
/// ```
pub const DEFAULT_NAME_BYTES: usize = 64;

/// A signal's handle in its table: a small `Copy` value (slot index and generation),
/// compared and raised without touching its name.
///
/// Once the table is full, a name nobody uses (not raised, not marked on an operation in
/// a window, not named by a mask in use) may be reclaimed for a new name. Its old handles
/// then answer nothing: no name, never raised, refused with
/// [`TableError::UnknownHandle`] when raised. They never answer for the new name.
///
/// ```
/// use ephemeral::signal::SignalTable;
///
/// let table = SignalTable::new(8);
/// let a = table.intern("backpressure.downstream").unwrap();
/// assert_eq!(table.intern("backpressure.downstream").unwrap(), a);
/// assert_eq!(table.name(a).unwrap(), "backpressure.downstream");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal {
    index: u32,
    generation: u32,
}

impl Signal {
    /// The handle's slot in its table.
    ///
    /// ```
    /// let table = ephemeral::signal::SignalTable::new(4);
    /// assert_eq!(table.intern("a").unwrap().index(), 0);
    /// ```
    pub fn index(self) -> usize {
        self.index as usize
    }

    /// How many times the slot had been given to a new name when this handle was made.
    ///
    /// ```
    /// let table = ephemeral::signal::SignalTable::new(1);
    /// let a = table.intern("a").unwrap();
    /// let b = table.intern("b").unwrap(); // "a" is unused: its slot goes to "b"
    /// assert_eq!((a.index(), a.generation()), (0, 0));
    /// assert_eq!((b.index(), b.generation()), (0, 1));
    /// assert_eq!(table.name(a), None);
    /// ```
    pub fn generation(self) -> u32 {
        self.generation
    }

    /// The handle for slot `index` at `generation` (for storage that packs handles).
    pub(crate) fn new(index: u32, generation: u32) -> Self {
        Self { index, generation }
    }
}

/// Why a name could not be interned or a handle raised.
///
/// ```
/// use ephemeral::signal::{SignalTable, TableError};
///
/// let table = SignalTable::new(1);
/// let a = table.intern("a").unwrap();
/// table.raise(a, core::time::Duration::ZERO); // a raised name is kept
/// assert_eq!(table.intern("b"), Err(TableError::Full { capacity: 1 }));
/// assert_eq!(table.intern(""), Err(TableError::EmptyName));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableError {
    /// Every slot holds a name in use; build the table (or sink) with a larger capacity.
    Full {
        /// The table's capacity.
        capacity: usize,
    },
    /// Signal names cannot be empty.
    EmptyName,
    /// The name is longer than the table stores (see `SinkBuilder::name_bytes`).
    NameTooLong {
        /// The longest name the table stores, in bytes.
        max: usize,
    },
    /// A [`Signal`] handle from another table, or whose name was reclaimed.
    UnknownHandle,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { capacity } => {
                write!(f, "the signal table is full ({capacity} names in use)")
            }
            Self::EmptyName => f.write_str("a signal name cannot be empty"),
            Self::NameTooLong { max } => write!(f, "a signal name is longer than {max} bytes"),
            Self::UnknownHandle => {
                f.write_str("the signal handle belongs to another table or its name was reclaimed")
            }
        }
    }
}

impl core::error::Error for TableError {}

/// What a consistent read of a slot found.
pub(crate) struct Read<R> {
    pub(crate) signal: Signal,
    pub(crate) born: u64,
    pub(crate) found: R,
}

/// Signal names interned into fixed-capacity slots, with their presence as an atomic
/// bitset and each signal's last raise time. When the table is full, interning a new
/// name reclaims the slot of the oldest name nobody uses (see [`Signal`]).
///
/// Interning a new name takes a short spin lock; lookups, raises, retracts and presence
/// checks are lock-free and allocate nothing.
///
/// A table knows only names, presence and raise times. A [`SignalSink`](super::SignalSink)
/// adds the clock, `max_age`, the history, listeners and the wakeups of deferred work;
/// raise and retract through the sink when there is one.
///
/// ```
/// use core::time::Duration;
/// use ephemeral::signal::SignalTable;
///
/// let table = SignalTable::new(2);
/// let open = table.intern("circuit-open").unwrap();
/// table.raise(open, Duration::from_secs(1));
/// let idle = table.intern("warming").unwrap();
/// assert!(table.is_raised(open) && !table.is_raised(idle));
///
/// // Full: the idle name's slot goes to the new name; the raised one is kept.
/// let late = table.intern("draining").unwrap();
/// assert_eq!(late.index(), idle.index());
/// assert_eq!(table.name(idle), None);
/// assert_eq!(table.name(open).unwrap(), "circuit-open");
/// assert_eq!(table.reclaimed(), 1);
/// ```
pub struct SignalTable {
    /// Per slot `GENERATION | PINS | LIVE` (module docs); pins by anyone, the rest by
    /// the interning-lock holder.
    meta: Box<[AtomicU64]>,
    /// Per slot the name's length (bits 0-7) and hash (above); lock holder, before `LIVE`.
    heads: Box<[AtomicU64]>,
    /// Per slot the value of `births` that placed its name; lock holder, before `LIVE`.
    born: Box<[AtomicU64]>,
    /// `stride` words of name bytes per slot; lock holder, while the slot is not `LIVE`.
    words: Box<[AtomicU64]>,
    stride: usize,
    name_bytes: usize,
    /// Slots ever used (a prefix); stored with Release by the lock holder only.
    high: AtomicUsize,
    /// Names placed so far; stored with Release by the lock holder after each placement
    /// (masks compare it with what they have matched).
    births: AtomicU64,
    /// Held while interning a new name.
    interning: AtomicBool,
    /// Bit `i % 64` of word `i / 64`: slot `i`'s name is raised. Set and cleared only by
    /// holders of a pin on the name.
    present: Box<[AtomicU64]>,
    /// Nanoseconds plus one of slot `i`'s last raise (0: never); raisers holding a pin,
    /// and the lock holder (reset) before `LIVE`.
    raised_at: Box<[AtomicU64]>,
    /// Interns refused for want of an idle slot; any refused interner.
    full: AtomicU64,
    /// Names reclaimed for new ones; the lock holder.
    reclaimed: AtomicU64,
}

impl SignalTable {
    /// A table for up to `capacity` names of up to 64 bytes (all storage is allocated
    /// now; at most [`MAX_NAMES`]).
    ///
    /// ```
    /// assert_eq!(ephemeral::signal::SignalTable::new(16).capacity(), 16);
    /// ```
    pub fn new(capacity: usize) -> Self {
        Self::with_name_bytes(capacity, DEFAULT_NAME_BYTES)
    }

    /// A table for up to `capacity` names (at most [`MAX_NAMES`]) of up to `name_bytes`
    /// bytes each (clamped to 1..=[`MAX_NAME_BYTES`](super::MAX_NAME_BYTES)). All storage
    /// is allocated now: per name, `name_bytes` rounded up to a multiple of 8, plus 32
    /// bytes of bookkeeping and a presence bit.
    ///
    /// ```
    /// use ephemeral::signal::{SignalTable, TableError};
    /// let table = SignalTable::with_name_bytes(4, 8);
    /// assert!(table.intern("12345678").is_ok());
    /// assert_eq!(table.intern("123456789"), Err(TableError::NameTooLong { max: 8 }));
    /// ```
    pub fn with_name_bytes(capacity: usize, name_bytes: usize) -> Self {
        let capacity = capacity.min(MAX_NAMES);
        let name_bytes = name_bytes.clamp(1, name::MAX_NAME_BYTES);
        let stride = name::words_for(name_bytes);
        let atomics = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect::<Box<[_]>>();
        Self {
            meta: atomics(capacity),
            heads: atomics(capacity),
            born: atomics(capacity),
            words: atomics(capacity * stride),
            stride,
            name_bytes,
            high: AtomicUsize::new(0),
            births: AtomicU64::new(0),
            interning: AtomicBool::new(false),
            present: atomics(capacity.div_ceil(64)),
            raised_at: atomics(capacity),
            full: AtomicU64::new(0),
            reclaimed: AtomicU64::new(0),
        }
    }

    /// How many names the table can hold at once: the capacity it was made with, up to
    /// [`MAX_NAMES`]. Once that many are interned, a new name must take an idle name's
    /// slot, or is refused.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ephemeral::signal::{SignalTable, TableError};
    ///
    /// let table = SignalTable::new(2);
    /// assert_eq!(table.capacity(), 2);
    /// for name in ["a", "b"] {
    ///     table.raise(table.intern(name).unwrap(), Duration::ZERO);
    /// }
    /// assert_eq!(table.len(), table.capacity());
    /// assert_eq!(table.intern("c"), Err(TableError::Full { capacity: 2 }));
    /// ```
    pub fn capacity(&self) -> usize {
        self.meta.len()
    }

    /// The longest name the table stores, in bytes.
    ///
    /// ```
    /// assert_eq!(ephemeral::signal::SignalTable::new(1).name_bytes(), 64);
    /// ```
    pub fn name_bytes(&self) -> usize {
        self.name_bytes
    }

    /// How many names are interned (a reclaimed name's slot holds its successor, so
    /// this never shrinks).
    ///
    /// ```
    /// let table = ephemeral::signal::SignalTable::new(16);
    /// table.intern("a").unwrap();
    /// assert_eq!(table.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.high.load(Ordering::Acquire)
    }

    /// Whether no name is interned.
    ///
    /// ```
    /// assert!(ephemeral::signal::SignalTable::new(1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many interns were refused because every slot held a name in use.
    ///
    /// ```
    /// let table = ephemeral::signal::SignalTable::new(1);
    /// table.raise(table.intern("a").unwrap(), core::time::Duration::ZERO);
    /// assert!(table.intern("b").is_err());
    /// assert_eq!(table.full_refusals(), 1);
    /// ```
    pub fn full_refusals(&self) -> u64 {
        self.full.load(Ordering::Relaxed)
    }

    /// How many names were reclaimed for new ones.
    ///
    /// ```
    /// let table = ephemeral::signal::SignalTable::new(1);
    /// table.intern("a").unwrap();
    /// table.intern("b").unwrap();
    /// assert_eq!(table.reclaimed(), 1);
    /// ```
    pub fn reclaimed(&self) -> u64 {
        self.reclaimed.load(Ordering::Relaxed)
    }

    /// Names placed so far (masks match the names born after what they have seen).
    pub(crate) fn births(&self) -> u64 {
        self.births.load(Ordering::Acquire)
    }

    /// The `births` value that placed slot `i`'s name (a hint: read it again in
    /// [`read`](Self::read) for a consistent answer).
    pub(crate) fn born(&self, i: usize) -> u64 {
        self.born[i].load(Ordering::Relaxed)
    }

    fn words_of(&self, i: usize) -> &[AtomicU64] {
        &self.words[i * self.stride..(i + 1) * self.stride]
    }

    /// Reads slot `i` consistently: `f` gets the head and the name's words, and its
    /// answer is kept only if the slot held one name throughout (module docs, Names).
    pub(crate) fn read<R>(
        &self,
        i: usize,
        f: impl FnOnce(u64, &[AtomicU64]) -> R,
    ) -> Option<Read<R>> {
        let meta = self.meta.get(i)?;
        let m1 = meta.load(Ordering::Acquire);
        if !LIVE.is_set(m1) {
            return None;
        }
        let head = self.heads[i].load(Ordering::Acquire);
        let born = self.born[i].load(Ordering::Acquire);
        let found = f(head, self.words_of(i));
        // Acquire loads above: a value stored after a reclaim synchronises with its
        // writer, whose generation bump then precedes this load, which sees it.
        let m2 = meta.load(Ordering::Acquire);
        let generation = GENERATION.get(m1);
        (LIVE.is_set(m2) && GENERATION.get(m2) == generation).then(|| Read {
            signal: Signal::new(i as u32, generation as u32),
            born,
            found,
        })
    }

    /// A copy of slot `i`'s name and its handle, if it holds one.
    pub(crate) fn read_name(&self, i: usize) -> Option<Read<Name>> {
        self.read(i, |head, words| name::load(words, (head & 0xff) as usize))
            .filter(|read| name::is_whole(&read.found))
    }

    /// The handle of `name`, if it is interned.
    ///
    /// ```
    /// let table = ephemeral::signal::SignalTable::new(4);
    /// assert!(table.lookup("a").is_none());
    /// let a = table.intern("a").unwrap();
    /// assert_eq!(table.lookup("a"), Some(a));
    /// ```
    pub fn lookup(&self, name: &str) -> Option<Signal> {
        if name.is_empty() || name.len() > self.name_bytes {
            return None;
        }
        let head = name::head(name);
        (0..self.len()).find_map(|i| {
            if self.heads[i].load(Ordering::Acquire) != head {
                return None;
            }
            self.read(i, |h, words| h == head && name::equals(words, name))
                .filter(|read| read.found)
                .map(|read| read.signal)
        })
    }

    fn check(&self, name: &str) -> Result<(), TableError> {
        if name.is_empty() {
            return Err(TableError::EmptyName);
        }
        if name.len() > self.name_bytes {
            return Err(TableError::NameTooLong {
                max: self.name_bytes,
            });
        }
        Ok(())
    }

    /// The handle of `name`, interning it first if needed.
    ///
    /// When the table is full, the slot of the oldest name nobody uses is given to
    /// `name` (see [`Signal`]); [`TableError::Full`] (counted in
    /// [`full_refusals`](Self::full_refusals)) only when every name is in use.
    ///
    /// Interning a new name takes a spin lock. Without an OS (`no_std`), an interrupt
    /// handler that interns a new name while the code it interrupted holds that lock on
    /// the same core spins forever: intern the names a handler uses before enabling it
    /// (a known name is found without the lock).
    ///
    /// ```
    /// use core::time::Duration;
    /// use ephemeral::signal::{SignalTable, TableError};
    ///
    /// let table = SignalTable::with_name_bytes(1, 16);
    /// let a = table.intern("cache.cold").unwrap();
    /// assert_eq!(table.intern("cache.cold"), Ok(a), "a known name keeps its handle");
    /// assert_eq!(table.intern(""), Err(TableError::EmptyName));
    /// assert_eq!(
    ///     table.intern("a-name-over-16-bytes"),
    ///     Err(TableError::NameTooLong { max: 16 })
    /// );
    /// table.raise(a, Duration::ZERO);
    /// assert_eq!(table.intern("b"), Err(TableError::Full { capacity: 1 }));
    /// table.retract(a);
    /// let b = table.intern("b").unwrap();
    /// assert_eq!((b.index(), b.generation()), (0, 1), "a's slot, a new generation");
    /// ```
    pub fn intern(&self, name: &str) -> Result<Signal, TableError> {
        let signal = self.acquire(name)?;
        self.unpin(signal);
        Ok(signal)
    }

    /// [`intern`](Self::intern), returning the handle pinned: the caller must
    /// [`unpin`](Self::unpin) it.
    pub(crate) fn acquire(&self, name: &str) -> Result<Signal, TableError> {
        self.check(name)?;
        if let Some(found) = self.lookup(name)
            && self.pin(found)
        {
            return Ok(found);
        }
        while self
            .interning
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spin_hint();
        }
        // Another interner may have added it while we waited. Under the lock nothing is
        // reclaimed, so a name found now can be pinned.
        let result = match self.lookup(name) {
            Some(found) if self.pin(found) => Ok(found),
            _ => self.place(name),
        };
        self.interning.store(false, Ordering::Release);
        if let Err(TableError::Full { .. }) = result {
            self.full.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Writes `name` into a fresh or reclaimed slot and publishes it pinned (lock held).
    fn place(&self, name: &str) -> Result<Signal, TableError> {
        let high = self.high.load(Ordering::Relaxed);
        let (i, generation) = if high < self.capacity() {
            let m = self.meta[high].load(Ordering::Relaxed);
            (high, GENERATION.get(m))
        } else {
            self.reclaim()?
        };
        self.heads[i].store(name::head(name), Ordering::Release);
        name::store(self.words_of(i), name);
        self.raised_at[i].store(0, Ordering::Release);
        let births = self.births.load(Ordering::Relaxed) + 1;
        self.born[i].store(births, Ordering::Release);
        // Publish pinned for the caller; keeps the counts of pinners backing out.
        self.meta[i].fetch_add(LIVE.mask() + PIN, Ordering::Release);
        if i == high {
            self.high.store(high + 1, Ordering::Release);
        }
        self.births.store(births, Ordering::Release);
        Ok(Signal::new(i as u32, generation as u32))
    }

    /// Takes the idle slot born first for a new name (lock held): its generation moves
    /// on and it is no longer `LIVE`.
    fn reclaim(&self) -> Result<(usize, u64), TableError> {
        loop {
            let idle = (0..self.capacity())
                .filter_map(|i| {
                    let m = self.meta[i].load(Ordering::Acquire);
                    (LIVE.is_set(m) && PINS.get(m) == 0)
                        .then(|| (self.born[i].load(Ordering::Relaxed), i, m))
                })
                .min();
            let Some((_, i, m)) = idle else {
                return Err(TableError::Full {
                    capacity: self.capacity(),
                });
            };
            let generation = (GENERATION.get(m) as u32).wrapping_add(1);
            let next = GENERATION.place(u64::from(generation));
            // Acquire: every pin released before (raises, retracts) happened before, so
            // the presence bit is clear ("raised" holds a pin).
            if self.meta[i]
                .compare_exchange(m, next, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                debug_assert_eq!(
                    self.present[i / 64].load(Ordering::Relaxed) & (1 << (i % 64)),
                    0
                );
                self.reclaimed.fetch_add(1, Ordering::Relaxed);
                return Ok((i, u64::from(generation)));
            }
            // A pin came in: look again.
        }
    }

    /// Pins `signal`'s name against reclaim; false (nothing held) for a stale or foreign
    /// handle.
    pub(crate) fn pin(&self, signal: Signal) -> bool {
        let Some(meta) = self.meta.get(signal.index()) else {
            return false;
        };
        let old = meta.fetch_add(PIN, Ordering::Acquire);
        if LIVE.is_set(old) && GENERATION.get(old) == u64::from(signal.generation) {
            return true;
        }
        meta.fetch_sub(PIN, Ordering::Release);
        false
    }

    /// Releases a pin taken by [`pin`](Self::pin) (or a successful
    /// [`acquire`](Self::acquire)).
    pub(crate) fn unpin(&self, signal: Signal) {
        self.unpin_slot(signal.index());
    }

    /// Releases a pin on slot `i` (whose holder knows only the slot).
    pub(crate) fn unpin_slot(&self, i: usize) {
        if let Some(meta) = self.meta.get(i) {
            // Release: what the holder did happens before a reclaim that sees it gone.
            meta.fetch_sub(PIN, Ordering::Release);
        }
    }

    /// Whether `signal` names the name its slot holds now.
    pub(crate) fn is_current(&self, signal: Signal) -> bool {
        self.meta.get(signal.index()).is_some_and(|meta| {
            let m = meta.load(Ordering::Acquire);
            LIVE.is_set(m) && GENERATION.get(m) == u64::from(signal.generation)
        })
    }

    /// The handle of the name slot `i` holds now (stable while the caller holds a pin on
    /// it, as a mask does for its bits).
    pub(crate) fn handle_at(&self, i: usize) -> Signal {
        let m = self.meta[i].load(Ordering::Acquire);
        Signal::new(i as u32, GENERATION.get(m) as u32)
    }

    /// A copy of the name behind `signal`, or `None` for a handle from another table or
    /// whose name was reclaimed.
    ///
    /// ```
    /// let table = ephemeral::signal::SignalTable::new(2);
    /// let s = table.intern("db.slow").unwrap();
    /// assert_eq!(table.name(s).unwrap(), "db.slow");
    /// ```
    pub fn name(&self, signal: Signal) -> Option<Name> {
        self.read_name(signal.index())
            .filter(|read| read.signal == signal)
            .map(|read| read.found)
    }

    fn bit(&self, signal: Signal) -> Option<(&AtomicU64, u64)> {
        let i = signal.index();
        (i < self.capacity()).then(|| (&self.present[i / 64], 1u64 << (i % 64)))
    }

    /// Marks `signal` present and records `now` as its last raise; a stale handle is
    /// ignored. Only the table changes: no history, no listener, no wakeup (a sink's
    /// [`raise`](super::SignalSink::raise) does those).
    ///
    /// ```
    /// use core::time::Duration;
    /// let table = ephemeral::signal::SignalTable::new(4);
    /// let s = table.intern("circuit-open").unwrap();
    /// table.raise(s, Duration::from_secs(2));
    /// assert!(table.is_raised(s));
    /// assert_eq!(table.raised_at(s), Some(Duration::from_secs(2)));
    /// table.retract(s);
    /// assert!(!table.is_raised(s));
    /// ```
    pub fn raise(&self, signal: Signal, now: Duration) {
        if self.pin(signal) {
            self.set(signal, now);
            self.unpin(signal);
        }
    }

    /// [`raise`](Self::raise) of a pinned `signal`, saying whether its bit was already set.
    pub(crate) fn set(&self, signal: Signal, now: Duration) -> bool {
        let Some((word, bit)) = self.bit(signal) else {
            return true;
        };
        // Time first, so a reader that sees the bit also sees a time at least as new.
        self.raised_at[signal.index()].store(to_nanos_plus_one(now), Ordering::Release);
        // Raising what is already raised changes nothing: skip the read-modify-write (a
        // retract racing in between is ordered after this raise).
        if word.load(Ordering::Acquire) & bit != 0
            || word.fetch_or(bit, Ordering::AcqRel) & bit != 0
        {
            return true;
        }
        // The bit's own pin, taken while the caller's is held (module docs, Pins).
        self.meta[signal.index()].fetch_add(PIN, Ordering::Relaxed);
        false
    }

    /// Marks `signal` absent; a stale handle is ignored. Its last raise time is kept
    /// ([`raised_at`](Self::raised_at)), and a name no longer raised may be reclaimed
    /// once the table is full. Only the table changes: no wakeup (a sink's
    /// [`retract`](super::SignalSink::retract) wakes work deferred on it).
    ///
    /// ```
    /// use core::time::Duration;
    /// use ephemeral::signal::SignalTable;
    ///
    /// let table = SignalTable::new(1);
    /// let busy = table.intern("busy").unwrap();
    /// table.raise(busy, Duration::from_secs(4));
    /// table.retract(busy);
    /// assert!(!table.is_raised(busy));
    /// assert_eq!(table.raised_at(busy), Some(Duration::from_secs(4)));
    /// let next = table.intern("next").unwrap(); // busy's slot is free to reclaim
    /// table.raise(next, Duration::ZERO);
    /// table.retract(busy); // stale: ignored
    /// assert!(table.is_raised(next), "a stale handle never touches the new name");
    /// ```
    pub fn retract(&self, signal: Signal) {
        if self.pin(signal) {
            self.clear(signal);
            self.unpin(signal);
        }
    }

    /// [`retract`](Self::retract) of a pinned `signal`, saying whether its bit was set.
    pub(crate) fn clear(&self, signal: Signal) -> bool {
        let was = self
            .bit(signal)
            .is_some_and(|(word, bit)| word.fetch_and(!bit, Ordering::AcqRel) & bit != 0);
        if was {
            // The bit's pin; the caller still holds its own.
            self.unpin(signal);
        }
        was
    }

    /// Whether `signal` is present: raised and not retracted since. `false` for a
    /// handle whose name was reclaimed or from another table. The table has no clock:
    /// a sink's `max_age` is not applied here (use
    /// [`SignalSink::is_raised`](super::SignalSink::is_raised) for that).
    ///
    /// ```
    /// use core::time::Duration;
    /// use ephemeral::{runtime::ManualClock, signal::SignalSink};
    ///
    /// let clock = ManualClock::new();
    /// let sink = SignalSink::builder()
    ///     .max_age(Duration::from_secs(1))
    ///     .clock(clock.clone())
    ///     .build();
    /// let s = sink.raise("heartbeat").unwrap();
    /// clock.advance(Duration::from_secs(2));
    /// assert!(!sink.is_raised(s), "expired for the sink");
    /// assert!(sink.table().is_raised(s), "still set in the table");
    /// ```
    #[inline]
    pub fn is_raised(&self, signal: Signal) -> bool {
        // Bit first: a raised name is pinned, so a generation read after a set bit that
        // still matches is the generation the bit was set for.
        self.bit(signal)
            .is_some_and(|(word, bit)| word.load(Ordering::Acquire) & bit != 0)
            && self.is_current(signal)
    }

    /// Word `w` of the presence bitset (bit `i % 64` of word `i / 64` is slot `i`).
    pub(crate) fn presence(&self, w: usize) -> u64 {
        self.present[w].load(Ordering::Acquire)
    }

    /// When `signal` was last raised, if ever (and if its name was not reclaimed), as the
    /// raiser's `now`; a retract keeps it.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ephemeral::signal::SignalTable;
    ///
    /// let table = SignalTable::new(1);
    /// let s = table.intern("sync").unwrap();
    /// assert_eq!(table.raised_at(s), None, "never raised");
    /// table.raise(s, Duration::from_secs(1));
    /// table.raise(s, Duration::from_secs(3));
    /// assert_eq!(table.raised_at(s), Some(Duration::from_secs(3)), "the latest raise");
    /// table.retract(s);
    /// table.intern("other").unwrap(); // reclaims the idle slot
    /// assert_eq!(table.raised_at(s), None, "the name was reclaimed");
    /// ```
    pub fn raised_at(&self, signal: Signal) -> Option<Duration> {
        let raw = self.raised_at.get(signal.index())?.load(Ordering::Acquire);
        // Acquire: a reset by a newer name's placement is followed by a generation the
        // check below rejects.
        if !self.is_current(signal) {
            return None;
        }
        from_nanos_plus_one(raw)
    }
}

impl fmt::Debug for SignalTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalTable")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("reclaimed", &self.reclaimed())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
