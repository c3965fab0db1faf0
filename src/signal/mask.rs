//! A pattern set compiled to a bitmask over a sink's table, so that asking "is any
//! signal this set names present?" is a few atomic loads instead of glob matching.
//! Coordinators gate every item with these (`cancel_on`, `defer_on`, `resume_on`).
//!
//! Names are interned over time, so the mask is refreshed lazily: `decided` is how many
//! of the table's names the mask has been matched against. A check that sees the table
//! longer than that matches the new names, ORs their bits in and raises `decided` with
//! `fetch_max`. Refreshers may race; each computes the same bits, and a bit is set
//! (Release) before the `decided` that covers it is published, so whoever sees
//! `decided >= i + 1` (Acquire) also sees bit `i`.
//!
//! A raise interns its name (publishing the table's `len`) before it sets the presence
//! bit, so a check that sees the bit also sees a `len` covering it, refreshes, and
//! cannot miss a raise that happened before it (IMPLEMENTATION.md, C5).

use alloc::boxed::Box;

use super::{PatternSet, Signal, SignalSink, SignalTable};
use crate::sync::{AtomicU64, AtomicUsize, Ordering};

/// A set of glob patterns compiled against one sink's names: checking whether any
/// signal it names is raised costs a few atomic loads per 64 names, with no matching
/// and no allocation. Names interned after compilation are matched on the next check.
///
/// ```
/// use ephemeral::signal::SignalSink;
///
/// let sink = SignalSink::new();
/// let stop = sink.mask("circuit-open, shutting-down, backpressure.*");
/// assert_eq!(stop.first_raised(&sink), None);
/// let s = sink.raise("backpressure.db").unwrap();
/// assert_eq!(stop.first_raised(&sink), Some(s));
/// ```
pub struct SignalMask {
    patterns: PatternSet,
    /// Bit `i % 64` of word `i / 64`: name `i` matches. Only ever gains bits, set by
    /// whichever checker refreshes.
    bits: Box<[AtomicU64]>,
    /// Names `0..decided` have been matched; raised by refreshers with `fetch_max`.
    decided: AtomicUsize,
}

impl SignalMask {
    /// A mask for `patterns` over a table of `capacity` names.
    pub(crate) fn new(patterns: PatternSet, capacity: usize) -> Self {
        // An empty set matches nothing, so it needs no words at all.
        let words = if patterns.is_empty() {
            0
        } else {
            capacity.div_ceil(64)
        };
        Self {
            patterns,
            bits: (0..words).map(|_| AtomicU64::new(0)).collect(),
            decided: AtomicUsize::new(0),
        }
    }

    /// The first raised signal the mask names (lowest handle first), honouring the
    /// sink's `max_age`. Use it with the sink that compiled it.
    #[inline]
    pub fn first_raised(&self, sink: &SignalSink) -> Option<Signal> {
        self.find_present(sink.table(), |s| sink.is_fresh(s).then_some(s))
    }

    /// Whether the mask names `signal`.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// let errors = sink.mask("error.*");
    /// assert!(errors.names(&sink, sink.signal("error.io").unwrap()));
    /// assert!(!errors.names(&sink, sink.signal("ok").unwrap()));
    /// ```
    pub fn names(&self, sink: &SignalSink, signal: Signal) -> bool {
        self.contains(sink.table(), signal)
    }

    /// Whether the set names nothing (the mask never hits).
    ///
    /// ```
    /// assert!(ephemeral::signal::SignalSink::new().mask(" ").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// Matches names interned since the last refresh; returns the table's length.
    fn refresh(&self, table: &SignalTable) -> usize {
        let len = table.len();
        let decided = self.decided.load(Ordering::Acquire);
        if decided < len {
            for i in decided..len.min(self.bits.len() * 64) {
                let signal = Signal::from_index(i as u32);
                if table.name(signal).is_some_and(|n| self.patterns.matches(n)) {
                    self.bits[i / 64].fetch_or(1 << (i % 64), Ordering::Release);
                }
            }
            self.decided.fetch_max(len, Ordering::AcqRel);
        }
        len
    }

    /// Whether `signal` is one the set names.
    pub(crate) fn contains(&self, table: &SignalTable, signal: Signal) -> bool {
        let i = signal.index();
        if self.is_empty() || i >= self.refresh(table) {
            return false;
        }
        // `get`: a signal of a larger table than the one compiled for is simply not named.
        self.bits
            .get(i / 64)
            .is_some_and(|word| word.load(Ordering::Acquire) & (1 << (i % 64)) != 0)
    }

    /// Calls `hit` with each present signal the set names, lowest index first, until it
    /// returns `Some`.
    pub(crate) fn find_present<R>(
        &self,
        table: &SignalTable,
        mut hit: impl FnMut(Signal) -> Option<R>,
    ) -> Option<R> {
        if self.is_empty() {
            return None;
        }
        let len = self.refresh(table);
        // A table larger than the one compiled for (a misuse) is only partly checked.
        for w in 0..len.div_ceil(64).min(self.bits.len()) {
            let mut both = table.presence(w) & self.bits[w].load(Ordering::Acquire);
            while both != 0 {
                let i = w * 64 + both.trailing_zeros() as usize;
                if let Some(found) = hit(Signal::from_index(i as u32)) {
                    return Some(found);
                }
                both &= both - 1;
            }
        }
        None
    }
}

impl Clone for SignalMask {
    /// A mask for the same patterns and table size; it re-matches names on first use.
    fn clone(&self) -> Self {
        Self::new(self.patterns.clone(), self.bits.len() * 64)
    }
}

impl core::fmt::Debug for SignalMask {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("SignalMask").field(&self.patterns).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn names_interned_after_compilation_are_matched_on_the_next_check() {
        let table = SignalTable::new(100);
        let mask = SignalMask::new(PatternSet::parse("error.*, circuit-open"), table.capacity());
        for i in 0..70 {
            table.intern(&alloc::format!("noise.{i}")).unwrap();
        }
        assert!(mask.find_present(&table, Some).is_none());
        let late = table.intern("error.timeout.db").unwrap();
        assert!(
            late.index() >= 64,
            "the test wants a name in the second word"
        );
        assert!(mask.find_present(&table, Some).is_none(), "not raised yet");
        table.raise(late, Duration::ZERO);
        table.raise(table.lookup("noise.3").unwrap(), Duration::ZERO);
        assert_eq!(mask.find_present(&table, Some), Some(late));
        assert!(mask.contains(&table, late));
        table.retract(late);
        assert!(mask.find_present(&table, Some).is_none());
    }

    #[test]
    fn an_empty_set_never_hits() {
        let table = SignalTable::new(4);
        let s = table.intern("anything").unwrap();
        table.raise(s, Duration::ZERO);
        let mask = SignalMask::new(PatternSet::parse(""), table.capacity());
        assert!(mask.is_empty());
        assert!(mask.find_present(&table, Some).is_none());
        assert!(!mask.contains(&table, s));
    }
}
