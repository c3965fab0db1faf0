//! The signals each operation has raised, kept per window slot so a snapshot can show
//! them and coordinator queries can answer from the window.
//!
//! Each slot has [`OPERATION_SIGNALS`] mark words. A mark packs the generation of the
//! operation that wrote it (high 32 bits) and the signal's index plus one (low 32 bits;
//! zero means "no signal"). A mark counts only for the operation whose id carries that
//! generation, so a reused slot needs no reset: marks of an evicted operation are stale
//! the moment the slot's generation moves on, and are overwritten as if empty. Writers
//! CAS a mark, so two clones of one `OpContext` on different threads cannot lose one
//! another's marks.
//!
//! Two adds of one signal racing a remove of another can write the signal into two
//! cells (one add passes a cell while it holds the other signal, the remove empties it,
//! the second add takes it, the first writes further on). So `remove` clears every cell
//! holding the mark, and `get` lists a signal once however many cells hold it: a retract
//! that follows the adds leaves the signal absent (the `marks` loom model).
//!
//! # Generations wrap
//!
//! Generations are 32 bits and compared modulo 2^32: a cell's generation is "newer" than
//! an id's when it is ahead by less than 2^31. A context kept past its operation's
//! eviction is refused while its slot has been reused fewer than 2^31 times since; past
//! that it may overwrite a later operation's mark (that operation loses one recorded
//! signal), and once the generation has gone all the way round (2^32 - 1 reuses, as
//! generations skip 0) its id is the current operation's id again, a limit the window's
//! ids share. Either takes one slot reused 2^31 times while one context is kept: never a
//! memory-safety matter, only a wrong signal record.

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use alloc::boxed::Box;

use super::snapshot::{OPERATION_SIGNALS, OperationSignals};
use crate::bits::Field;
use crate::operation::OperationId;
use crate::signal::Signal;
use crate::sync::{AtomicU64, Ordering};

/// A mark's signal index plus one; zero means "no signal".
const SIGNAL: Field<u64> = Field::new(0, 32);
/// The generation of the operation that wrote a mark.
const GENERATION: Field<u64> = SIGNAL.above(32);

/// The mark of `signal` on `id`.
fn mark(id: OperationId, signal: Signal) -> u64 {
    GENERATION.set(
        SIGNAL.place(signal.index() as u64 + 1),
        u64::from(id.generation()),
    )
}

/// The mark of no signal on `id`: an emptied cell.
fn empty(id: OperationId) -> u64 {
    GENERATION.place(u64::from(id.generation()))
}

/// The generation a mark was written under.
fn generation_of(mark: u64) -> u32 {
    GENERATION.get(mark) as u32
}

/// The signal a mark holds, if any.
fn signal_of(mark: u64) -> Option<Signal> {
    match SIGNAL.get(mark) {
        0 => None,
        n => Some(Signal::from_index(n as u32 - 1)),
    }
}

/// The signals each operation has raised: [`OPERATION_SIGNALS`] marks per window slot,
/// each tagged with the generation of the operation that wrote it.
pub struct Marks {
    /// `OPERATION_SIGNALS` marks per slot; any holder of the slot's operation writes.
    marks: Box<[AtomicU64]>,
}

impl Marks {
    /// Marks for a window of `slots` slots, all empty.
    pub fn new(slots: usize) -> Self {
        Self {
            marks: (0..slots * OPERATION_SIGNALS)
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    fn of(&self, id: OperationId) -> &[AtomicU64] {
        let start = id.index() as usize * OPERATION_SIGNALS;
        self.marks
            .get(start..start + OPERATION_SIGNALS)
            .unwrap_or_default()
    }

    /// Records `signal` on `id`. Returns false when its record is full.
    pub fn add(&self, id: OperationId, signal: Signal) -> bool {
        if self.has(id, signal) {
            return true;
        }
        let wanted = mark(id, signal);
        for cell in self.of(id) {
            let mut current = cell.load(Ordering::Acquire);
            loop {
                if current == wanted {
                    return true;
                }
                let generation = generation_of(current);
                let taken = generation == id.generation() && signal_of(current).is_some();
                // A newer generation's mark means this id is stale (a context kept past its
                // operation's eviction): it must not erase the newcomer's marks.
                let newer = (generation.wrapping_sub(id.generation()) as i32) > 0;
                if taken || newer {
                    break;
                }
                match cell.compare_exchange(current, wanted, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => return true,
                    Err(seen) => current = seen,
                }
            }
        }
        false
    }

    /// Removes `signal` from `id`'s record (every cell holding it, see the module docs);
    /// returns whether it was there.
    pub fn remove(&self, id: OperationId, signal: Signal) -> bool {
        let wanted = mark(id, signal);
        let empty = empty(id);
        let mut found = false;
        for cell in self.of(id) {
            found |= cell
                .compare_exchange(wanted, empty, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok();
        }
        found
    }

    /// Whether `id` has `signal` recorded.
    pub fn has(&self, id: OperationId, signal: Signal) -> bool {
        let wanted = mark(id, signal);
        self.of(id)
            .iter()
            .any(|cell| cell.load(Ordering::Acquire) == wanted)
    }

    /// The signals recorded on `id`.
    pub fn get(&self, id: OperationId) -> OperationSignals {
        let mut found = heapless::Vec::new();
        for cell in self.of(id) {
            let m = cell.load(Ordering::Acquire);
            if generation_of(m) == id.generation()
                && let Some(signal) = signal_of(m)
            {
                // Once, even if racing adds wrote it twice; at most OPERATION_SIGNALS
                // cells, so it always fits.
                if !found.contains(&signal) {
                    let _ = found.push(signal);
                }
            }
        }
        OperationSignals(found)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn marks_belong_to_one_generation_and_a_full_record_says_so() {
        let marks = Marks::new(2);
        let old = OperationId::new(0, 1, 1);
        let s = |i| Signal::from_index(i);
        assert!(marks.add(old, s(3)) && marks.add(old, s(3)));
        assert_eq!(&*marks.get(old), &[s(3)]);
        let reused = OperationId::new(0, 1, 2);
        assert!(
            marks.get(reused).is_empty(),
            "stale marks do not leak into a reused slot"
        );
        for i in 0..OPERATION_SIGNALS as u32 {
            assert!(marks.add(reused, s(i)));
        }
        assert!(!marks.add(reused, s(99)));
        assert!(marks.remove(reused, s(4)) && !marks.has(reused, s(4)));
        assert!(marks.add(reused, s(99)), "a retracted mark frees its place");
        assert!(!marks.has(old, s(3)));
        assert!(marks.get(OperationId::new(0, 0, 1)).is_empty());
    }

    #[test]
    fn a_signal_written_into_two_cells_is_listed_once_and_retracted_from_both() {
        // What two racing adds can leave behind (see the module docs).
        let marks = Marks::new(1);
        let id = OperationId::new(0, 0, 1);
        let s = Signal::from_index(5);
        let cells = marks.of(id);
        cells[0].store(mark(id, s), Ordering::Relaxed);
        cells[3].store(mark(id, s), Ordering::Relaxed);
        assert_eq!(&*marks.get(id), &[s], "listed once");
        assert!(marks.remove(id, s));
        assert!(!marks.has(id, s), "still present after its retract");
        assert!(marks.get(id).is_empty());
    }
}
