//! A pattern set compiled to a bitmask over a sink's table, so that asking "is any
//! signal this set names present?" is a few atomic loads instead of glob matching.
//! Coordinators gate every item with these (`cancel_on`, `defer_on`, `resume_on`).
//!
//! Names are interned over time, and a slot may be given to a new name once its old one
//! is idle, so the mask is refreshed lazily by birth: `seen` is the table's `births`
//! count the mask has matched up to. A check that finds the table's count higher matches
//! the names born since (reading each slot consistently), pins each one that matches and
//! ORs in its bit. Refreshers may race: the one whose `fetch_or` set a bit keeps its pin,
//! the others drop theirs. A bit is set (Release) before the `seen` that covers it is
//! raised (`fetch_max`, AcqRel), so whoever sees `seen` (Acquire) sees every bit it
//! covers.
//!
//! **Each set bit pins its name** in the table, so a name a mask in use matches is never
//! reclaimed and the bit never comes to mean another name; the pins go when the mask is
//! dropped. (A wildcard mask over per-key names therefore keeps all of them: gate per key
//! with a literal lookup instead.)
//!
//! A raise interns its name (publishing `births`) before it sets the presence bit, so a
//! check that starts after the raise sees a count covering it, refreshes, and cannot miss
//! it (IMPLEMENTATION.md, C5).

use alloc::boxed::Box;

use super::{PatternSet, Signal, SignalSink, SignalTable};
use crate::sync::{Arc, AtomicU64, Ordering};

/// A set of glob patterns compiled against one sink's names: checking whether any
/// signal it names is raised costs a few atomic loads per 64 names, with no matching
/// and no allocation. Names interned after compilation are matched on the next check.
/// While the mask lives, the names it matches are kept in the table (never reclaimed).
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
    table: Arc<SignalTable>,
    /// Bit `i % 64` of word `i / 64`: slot `i`'s name matches, and the mask holds a pin
    /// on it. Only gains bits (set by whichever refresher pinned first) until the drop.
    bits: Box<[AtomicU64]>,
    /// The table's `births` the mask has matched up to; raised with `fetch_max`.
    seen: AtomicU64,
}

impl SignalMask {
    /// A mask for `patterns` over `table`.
    pub(crate) fn new(patterns: PatternSet, table: Arc<SignalTable>) -> Self {
        // An empty set matches nothing, so it needs no words at all.
        let words = if patterns.is_empty() {
            0
        } else {
            table.capacity().div_ceil(64)
        };
        Self {
            patterns,
            table,
            bits: (0..words).map(|_| AtomicU64::new(0)).collect(),
            seen: AtomicU64::new(0),
        }
    }

    /// The first raised signal the mask names (lowest slot first), honouring the
    /// sink's `max_age`: an expired signal is skipped. `None` with a sink other than the
    /// one that compiled it (or a clone of it).
    ///
    /// ```
    /// use core::time::Duration;
    /// use ephemeral::{runtime::ManualClock, signal::SignalSink};
    ///
    /// let clock = ManualClock::new();
    /// let sink = SignalSink::builder()
    ///     .max_age(Duration::from_secs(5))
    ///     .clock(clock.clone())
    ///     .build();
    /// let stop = sink.mask("circuit-open, backpressure.*");
    /// let db = sink.raise("backpressure.db").unwrap();
    /// clock.advance(Duration::from_secs(6));
    /// assert_eq!(stop.first_raised(&sink), None, "expired");
    /// let open = sink.raise("circuit-open").unwrap();
    /// assert_eq!(stop.first_raised(&sink), Some(open));
    /// sink.raise(db).unwrap();
    /// assert_eq!(stop.first_raised(&sink), Some(db), "the lower slot comes first");
    /// assert_eq!(stop.first_raised(&sink.clone()), Some(db));
    ///
    /// let other = SignalSink::new();
    /// other.raise("circuit-open").unwrap();
    /// assert_eq!(stop.first_raised(&other), None, "compiled for another sink");
    /// ```
    #[inline]
    pub fn first_raised(&self, sink: &SignalSink) -> Option<Signal> {
        if !core::ptr::eq(&*self.table, sink.table()) {
            return None;
        }
        self.find_present(|s| sink.is_fresh(s).then_some(s))
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
        core::ptr::eq(&*self.table, sink.table()) && self.contains(signal)
    }

    /// Whether the set names nothing (the mask never hits).
    ///
    /// ```
    /// assert!(ephemeral::signal::SignalSink::new().mask(" ").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// Matches (and pins) the names born since the last refresh.
    fn refresh(&self) {
        let table = &*self.table;
        let births = table.births();
        let seen = self.seen.load(Ordering::Acquire);
        if seen >= births {
            return;
        }
        for i in 0..table.len().min(self.bits.len() * 64) {
            let (word, bit) = (&self.bits[i / 64], 1u64 << (i % 64));
            if word.load(Ordering::Acquire) & bit != 0 {
                // Pinned by us: still the name we matched.
                continue;
            }
            // Cheap skip of names matched before; the consistent read checks again.
            if table.born(i) <= seen {
                continue;
            }
            let Some(read) = table.read_name(i) else {
                continue;
            };
            if read.born > seen && self.patterns.matches(&read.found) && table.pin(read.signal) {
                // Release: the bit before the `seen` covering it. A racing refresher that
                // set it first holds the pin already.
                if word.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
                    table.unpin(read.signal);
                }
            }
        }
        self.seen.fetch_max(births, Ordering::AcqRel);
    }

    /// Whether `signal` is one the set names.
    pub(crate) fn contains(&self, signal: Signal) -> bool {
        let i = signal.index();
        if self.is_empty() {
            return false;
        }
        self.refresh();
        // `get`: a signal of a larger table is simply not named. A set bit pins its
        // name, so the slot's handle is stable while we compare.
        self.bits
            .get(i / 64)
            .is_some_and(|word| word.load(Ordering::Acquire) & (1 << (i % 64)) != 0)
            && self.table.handle_at(i) == signal
    }

    /// Calls `hit` with each present signal the set names, lowest slot first, until it
    /// returns `Some`.
    pub(crate) fn find_present<R>(&self, mut hit: impl FnMut(Signal) -> Option<R>) -> Option<R> {
        if self.is_empty() {
            return None;
        }
        self.refresh();
        let table = &*self.table;
        for w in 0..table.len().div_ceil(64).min(self.bits.len()) {
            let mut both = table.presence(w) & self.bits[w].load(Ordering::Acquire);
            while both != 0 {
                let i = w * 64 + both.trailing_zeros() as usize;
                if let Some(found) = hit(table.handle_at(i)) {
                    return Some(found);
                }
                both &= both - 1;
            }
        }
        None
    }
}

impl Drop for SignalMask {
    fn drop(&mut self) {
        for (w, word) in self.bits.iter().enumerate() {
            let mut bits = word.load(Ordering::Acquire);
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                self.table.unpin(self.table.handle_at(i));
                bits &= bits - 1;
            }
        }
    }
}

impl Clone for SignalMask {
    /// A mask for the same patterns and table; it matches names on first use.
    fn clone(&self) -> Self {
        Self::new(self.patterns.clone(), self.table.clone())
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
        let table = Arc::new(SignalTable::new(100));
        let mask = SignalMask::new(PatternSet::parse("error.*, circuit-open"), table.clone());
        for i in 0..70 {
            table.intern(&alloc::format!("noise.{i}")).unwrap();
        }
        assert!(mask.find_present(Some).is_none());
        let late = table.intern("error.timeout.db").unwrap();
        assert!(
            late.index() >= 64,
            "the test wants a name in the second word"
        );
        assert!(mask.find_present(Some).is_none(), "not raised yet");
        table.raise(late, Duration::ZERO);
        table.raise(table.lookup("noise.3").unwrap(), Duration::ZERO);
        assert_eq!(mask.find_present(Some), Some(late));
        assert!(mask.contains(late));
        table.retract(late);
        assert!(mask.find_present(Some).is_none());
    }

    #[test]
    fn an_empty_set_never_hits() {
        let table = Arc::new(SignalTable::new(4));
        let s = table.intern("anything").unwrap();
        table.raise(s, Duration::ZERO);
        let mask = SignalMask::new(PatternSet::parse(""), table.clone());
        assert!(mask.is_empty());
        assert!(mask.find_present(Some).is_none());
        assert!(!mask.contains(s));
    }

    #[test]
    fn a_mask_keeps_its_names_and_a_reused_slot_is_matched_anew() {
        let table = Arc::new(SignalTable::new(2));
        let mask = SignalMask::new(PatternSet::parse("gate.*"), table.clone());
        let gate = table.intern("gate.a").unwrap();
        let idle = table.intern("other").unwrap();
        assert!(!mask.contains(idle), "refreshes and pins gate.a");
        let late = table.intern("gate.b").unwrap();
        assert_eq!(
            late.index(),
            idle.index(),
            "only the unmatched name was free"
        );
        assert_eq!(table.name(gate).unwrap(), "gate.a");
        table.raise(late, Duration::ZERO);
        assert_eq!(
            mask.find_present(Some),
            Some(late),
            "the reused slot was matched"
        );
        table.retract(late);
        assert_eq!(
            table.intern("x"),
            Err(crate::signal::TableError::Full { capacity: 2 })
        );
        drop(mask);
        assert!(table.intern("x").is_ok(), "the mask's pins went with it");
    }
}
