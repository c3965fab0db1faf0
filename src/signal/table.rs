//! The signal table: names interned once into fixed-capacity storage, presence as an
//! atomic bitset, and each signal's last raise time.
//!
//! Interning is rare (the first use of a name) and takes a short spin lock; everything
//! else (lookup, raise, retract, presence checks) is lock-free. A name is written into
//! slot `len` while the lock is held and published by the `Release` store of `len + 1`;
//! readers only look at slots below an `Acquire` load of `len`, and a published name is
//! never written again, so readers may borrow it for the table's lifetime.

use alloc::boxed::Box;
use core::fmt;
use core::time::Duration;

use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Ordering, UnsafeCell, spin_hint};
use crate::time::{from_nanos_plus_one, to_nanos_plus_one};

/// A signal's handle in its table: a small `Copy` index, compared and raised without
/// touching its name.
///
/// ```
/// use ephemeral::signal::SignalTable;
///
/// let table = SignalTable::new(8);
/// let a = table.intern("backpressure.downstream").unwrap();
/// assert_eq!(table.intern("backpressure.downstream").unwrap(), a);
/// assert_eq!(table.name(a), Some("backpressure.downstream"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(u32);

impl Signal {
    /// The handle's index in its table.
    ///
    /// ```
    /// let table = ephemeral::signal::SignalTable::new(4);
    /// assert_eq!(table.intern("a").unwrap().index(), 0);
    /// ```
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The handle at `index` (for storage that packs handles into words).
    pub(crate) fn from_index(index: u32) -> Self {
        Self(index)
    }
}

/// Why a name could not be interned.
///
/// ```
/// use ephemeral::signal::{SignalTable, TableError};
///
/// let table = SignalTable::new(1);
/// table.intern("a").unwrap();
/// assert_eq!(table.intern("b"), Err(TableError::Full { capacity: 1 }));
/// assert_eq!(table.intern(""), Err(TableError::EmptyName));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableError {
    /// Every slot holds a name; build the table (or sink) with a larger capacity.
    Full {
        /// The table's capacity.
        capacity: usize,
    },
    /// Signal names cannot be empty.
    EmptyName,
    /// A [`Signal`] handle from another, larger table.
    UnknownHandle,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { capacity } => write!(f, "the signal table is full ({capacity} names)"),
            Self::EmptyName => f.write_str("a signal name cannot be empty"),
            Self::UnknownHandle => f.write_str("the signal handle belongs to another table"),
        }
    }
}

impl core::error::Error for TableError {}

/// Signal names interned once into fixed-capacity storage, with their presence as an
/// atomic bitset and each signal's last raise time.
///
/// Interning a new name takes a short spin lock; lookups, raises, retracts and presence
/// checks are lock-free.
pub struct SignalTable {
    /// Slot `i < len` holds a published name; slots at or past `len` belong to the
    /// lock holder.
    names: Box<[UnsafeCell<Option<Box<str>>>]>,
    /// Published names; stored with Release by the lock holder only.
    len: AtomicUsize,
    /// Held while interning a new name.
    interning: AtomicBool,
    /// Bit `i % 64` of word `i / 64`: signal `i` is raised. `fetch_or` raises,
    /// `fetch_and` retracts; any thread.
    present: Box<[AtomicU64]>,
    /// Nanoseconds plus one of signal `i`'s last raise (0: never); any raiser.
    raised_at: Box<[AtomicU64]>,
}

// SAFETY: names are written only by the interning-lock holder into unpublished slots and
// never again after publication; all other state is atomic.
unsafe impl Sync for SignalTable {}
// SAFETY: the table owns its names (`Box<str>` is `Send`) and atomics.
unsafe impl Send for SignalTable {}

impl SignalTable {
    /// A table for up to `capacity` names (all storage is allocated now).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.min(u32::MAX as usize);
        Self {
            names: (0..capacity).map(|_| UnsafeCell::new(None)).collect(),
            len: AtomicUsize::new(0),
            interning: AtomicBool::new(false),
            present: (0..capacity.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            raised_at: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// How many names the table can hold.
    ///
    /// ```
    /// assert_eq!(ephemeral::signal::SignalTable::new(16).capacity(), 16);
    /// ```
    pub fn capacity(&self) -> usize {
        self.names.len()
    }

    /// How many names are interned.
    ///
    /// ```
    /// let table = ephemeral::signal::SignalTable::new(16);
    /// table.intern("a").unwrap();
    /// assert_eq!(table.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Whether no name is interned.
    ///
    /// ```
    /// assert!(ephemeral::signal::SignalTable::new(1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The published name in slot `i` (`i` below a `len` we loaded).
    fn published(&self, i: usize) -> &str {
        // SAFETY: slot `i` was published by a Release store of `len > i` that our Acquire
        // load of `len` saw, and a published name is never written again until the table
        // is dropped, which `&self` rules out.
        let name = self.names[i].with(|cell| unsafe { (*cell).as_deref() });
        name.unwrap_or_default()
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
        (0..self.len())
            .find(|&i| self.published(i) == name)
            .map(|i| Signal(i as u32))
    }

    /// The handle of `name`, interning it first if needed.
    ///
    /// Interning a new name takes a spin lock. Without an OS (`no_std`), an interrupt
    /// handler that interns a new name while the code it interrupted holds that lock on
    /// the same core spins forever: intern the names a handler uses before enabling it
    /// (a known name is found without the lock).
    pub fn intern(&self, name: &str) -> Result<Signal, TableError> {
        if name.is_empty() {
            return Err(TableError::EmptyName);
        }
        if let Some(found) = self.lookup(name) {
            return Ok(found);
        }
        while self
            .interning
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spin_hint();
        }
        // Another interner may have added it while we waited.
        let result = match self.lookup(name) {
            Some(found) => Ok(found),
            None => {
                let i = self.len.load(Ordering::Relaxed);
                if i == self.capacity() {
                    Err(TableError::Full {
                        capacity: self.capacity(),
                    })
                } else {
                    // SAFETY: slot `i == len` is unpublished and we hold the interning
                    // lock, so no one else reads or writes it.
                    self.names[i].with_mut(|cell| unsafe { *cell = Some(name.into()) });
                    self.len.store(i + 1, Ordering::Release);
                    Ok(Signal(i as u32))
                }
            }
        };
        self.interning.store(false, Ordering::Release);
        result
    }

    /// The name behind `signal`, or `None` for a handle from another table.
    pub fn name(&self, signal: Signal) -> Option<&str> {
        (signal.index() < self.len()).then(|| self.published(signal.index()))
    }

    fn bit(&self, signal: Signal) -> Option<(&AtomicU64, u64)> {
        let i = signal.index();
        (i < self.capacity()).then(|| (&self.present[i / 64], 1u64 << (i % 64)))
    }

    /// Marks `signal` present and records `now` as its last raise.
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
        self.set(signal, now);
    }

    /// [`raise`](Self::raise), saying whether the signal's bit was already set.
    pub(crate) fn set(&self, signal: Signal, now: Duration) -> bool {
        let Some((word, bit)) = self.bit(signal) else {
            return true;
        };
        // Time first, so a reader that sees the bit also sees a time at least as new.
        self.raised_at[signal.index()].store(to_nanos_plus_one(now), Ordering::Release);
        // Raising what is already raised changes nothing: skip the read-modify-write (a
        // retract racing in between is ordered after this raise).
        word.load(Ordering::Acquire) & bit != 0 || word.fetch_or(bit, Ordering::AcqRel) & bit != 0
    }

    /// Marks `signal` absent.
    pub fn retract(&self, signal: Signal) {
        self.clear(signal);
    }

    /// [`retract`](Self::retract), saying whether the signal's bit was set before.
    pub(crate) fn clear(&self, signal: Signal) -> bool {
        self.bit(signal)
            .is_some_and(|(word, bit)| word.fetch_and(!bit, Ordering::AcqRel) & bit != 0)
    }

    /// Whether `signal` is present.
    pub fn is_raised(&self, signal: Signal) -> bool {
        self.bit(signal)
            .is_some_and(|(word, bit)| word.load(Ordering::Acquire) & bit != 0)
    }

    /// Word `w` of the presence bitset (bit `i % 64` of word `i / 64` is signal `i`).
    pub(crate) fn presence(&self, w: usize) -> u64 {
        self.present[w].load(Ordering::Acquire)
    }

    /// When `signal` was last raised, if ever.
    pub fn raised_at(&self, signal: Signal) -> Option<Duration> {
        let raw = self.raised_at.get(signal.index())?.load(Ordering::Acquire);
        from_nanos_plus_one(raw)
    }
}

impl fmt::Debug for SignalTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalTable")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn presence_bits_are_independent_across_words() {
        let table = SignalTable::new(130);
        let signals: alloc::vec::Vec<_> = (0..130)
            .map(|i| table.intern(&alloc::format!("s{i}")).unwrap())
            .collect();
        for s in signals.iter().step_by(3) {
            table.raise(*s, Duration::ZERO);
        }
        for (i, s) in signals.iter().enumerate() {
            assert_eq!(table.is_raised(*s), i % 3 == 0, "signal {i}");
        }
        table.retract(signals[129]);
        assert!(!table.is_raised(signals[129]) && table.is_raised(signals[126]));
    }

    #[test]
    fn a_handle_from_a_bigger_table_is_ignored_not_a_panic() {
        let big = SignalTable::new(10);
        for i in 0..10 {
            big.intern(&alloc::format!("n{i}")).unwrap();
        }
        let foreign = big.lookup("n9").unwrap();
        let small = SignalTable::new(2);
        small.raise(foreign, Duration::ZERO);
        assert!(!small.is_raised(foreign));
        assert_eq!(small.name(foreign), None);
        assert_eq!(small.raised_at(foreign), None);
    }

    /// Under miri this checks the publication protocol on real threads.
    #[test]
    fn concurrent_interning_gives_one_handle_per_name() {
        extern crate std;
        let table = alloc::sync::Arc::new(SignalTable::new(8));
        let threads: alloc::vec::Vec<_> = (0..2)
            .map(|_| {
                let table = table.clone();
                std::thread::spawn(move || {
                    ["a", "b", "c", "a"].map(|name| table.intern(name).unwrap())
                })
            })
            .collect();
        let seen: alloc::vec::Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(seen[0], seen[1]);
        assert_eq!(table.len(), 3);
        for name in ["a", "b", "c"] {
            let s = table.lookup(name).unwrap();
            assert_eq!(table.name(s), Some(name));
        }
    }
}
