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
//! # Marks pin their names
//!
//! A name marked on an operation in the window is not reclaimed by the signal table:
//! each cell holding a signal holds one pin on it (`table.rs`, Pins). Whoever moves a
//! cell off a signal releases that pin: `remove`'s CAS, an `add` overwriting a stale
//! mark, and [`Marks::release`], which the slab calls when it frees the slot (the
//! operation has left the window). A cell stores only the slot index; while it pins the
//! name the slot's generation cannot move, so `get` reads it from the table and checks
//! the cell did not change meanwhile.
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
use crate::signal::{Signal, SignalTable};
use crate::sync::{Arc, AtomicU64, Ordering};

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

/// The table slot of the signal a mark holds, if any.
fn slot_of(mark: u64) -> Option<usize> {
    match SIGNAL.get(mark) {
        0 => None,
        n => Some(n as usize - 1),
    }
}

/// The signals each operation has raised: [`OPERATION_SIGNALS`] marks per window slot,
/// each tagged with the generation of the operation that wrote it.
pub struct Marks {
    /// `OPERATION_SIGNALS` marks per slot; any holder of the slot's operation writes.
    /// Each cell holding a signal holds a pin on it in `table`.
    marks: Box<[AtomicU64]>,
    table: Arc<SignalTable>,
}

impl Marks {
    /// Marks for a window of `slots` slots, all empty, naming signals of `table`.
    pub fn new(slots: usize, table: Arc<SignalTable>) -> Self {
        Self {
            marks: (0..slots * OPERATION_SIGNALS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            table,
        }
    }

    /// The table whose names the marks pin.
    pub(crate) fn table(&self) -> &Arc<SignalTable> {
        &self.table
    }

    /// Releases the pin of a cell that held `mark` and no longer does.
    fn released(&self, mark: u64) {
        if let Some(i) = slot_of(mark) {
            self.table.unpin_slot(i);
        }
    }

    fn of(&self, id: OperationId) -> &[AtomicU64] {
        let start = id.index() as usize * OPERATION_SIGNALS;
        self.marks
            .get(start..start + OPERATION_SIGNALS)
            .unwrap_or_default()
    }

    /// Records `signal` on `id`. Returns false when its record is full or `signal`'s
    /// name was reclaimed.
    pub fn add(&self, id: OperationId, signal: Signal) -> bool {
        if self.has(id, signal) {
            return true;
        }
        // The cell's pin, taken before the cell names the signal.
        if !self.table.pin(signal) {
            return false;
        }
        let placed = self.place(id, signal);
        if placed != Some(true) {
            // Not written: already there (a racing add), or no room.
            self.table.unpin(signal);
        }
        placed.is_some()
    }

    /// Writes `signal`'s mark into a free or stale cell of `id`: `Some(true)` written,
    /// `Some(false)` already there, `None` no room.
    fn place(&self, id: OperationId, signal: Signal) -> Option<bool> {
        let wanted = mark(id, signal);
        for cell in self.of(id) {
            let mut current = cell.load(Ordering::Acquire);
            loop {
                if current == wanted {
                    return Some(false);
                }
                let generation = generation_of(current);
                let taken = generation == id.generation() && slot_of(current).is_some();
                // A newer generation's mark means this id is stale (a context kept past its
                // operation's eviction): it must not erase the newcomer's marks.
                let newer = (generation.wrapping_sub(id.generation()) as i32) > 0;
                if taken || newer {
                    break;
                }
                match cell.compare_exchange(current, wanted, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => {
                        // A stale operation's mark gives its pin back.
                        self.released(current);
                        return Some(true);
                    }
                    Err(seen) => current = seen,
                }
            }
        }
        None
    }

    /// Removes `signal` from `id`'s record (every cell holding it, see the module docs);
    /// returns whether it was there.
    pub fn remove(&self, id: OperationId, signal: Signal) -> bool {
        // Pinned, the slot keeps `signal`'s name while we compare cells by slot index.
        if !self.table.pin(signal) {
            return false;
        }
        let wanted = mark(id, signal);
        let empty = empty(id);
        let mut found = false;
        for cell in self.of(id) {
            if cell
                .compare_exchange(wanted, empty, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                self.released(wanted);
                found = true;
            }
        }
        self.table.unpin(signal);
        found
    }

    /// Whether `id` has `signal` recorded.
    pub fn has(&self, id: OperationId, signal: Signal) -> bool {
        let wanted = mark(id, signal);
        // A cell with `signal`'s slot pins the name there now: it is `signal`'s only if
        // the handle is current.
        self.of(id)
            .iter()
            .any(|cell| cell.load(Ordering::Acquire) == wanted)
            && self.table.is_current(signal)
    }

    /// Empties every cell of window slot `index` (its operation has left the window),
    /// giving back their pins.
    pub(crate) fn release(&self, index: u32) {
        let start = index as usize * OPERATION_SIGNALS;
        for cell in self
            .marks
            .get(start..start + OPERATION_SIGNALS)
            .unwrap_or_default()
        {
            self.released(cell.swap(0, Ordering::AcqRel));
        }
    }

    /// The signals recorded on `id`.
    pub fn get(&self, id: OperationId) -> OperationSignals {
        let mut found = heapless::Vec::new();
        for cell in self.of(id) {
            let m = cell.load(Ordering::Acquire);
            let Some(i) = slot_of(m).filter(|_| generation_of(m) == id.generation()) else {
                continue;
            };
            let signal = self.table.handle_at(i);
            // Unchanged around the read: the cell's pin held the slot's name throughout.
            if cell.load(Ordering::Acquire) == m {
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

impl Drop for Marks {
    fn drop(&mut self) {
        // The window is gone: its operations no longer keep names in a shared table.
        for cell in self.marks.iter() {
            self.released(cell.swap(0, Ordering::Relaxed));
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    use alloc::vec::Vec;

    /// A table with `n` names interned, and their handles.
    fn table(n: usize) -> (Arc<SignalTable>, Vec<Signal>) {
        let table = Arc::new(SignalTable::new(n + 1));
        let signals = (0..n)
            .map(|i| table.intern(&alloc::format!("s{i}")).unwrap())
            .collect();
        (table, signals)
    }

    #[test]
    fn marks_belong_to_one_generation_and_a_full_record_says_so() {
        let (table, signals) = table(100);
        let marks = Marks::new(2, table);
        let old = OperationId::new(0, 1, 1);
        let s = |i: u32| signals[i as usize];
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
        let (table, signals) = table(6);
        let marks = Marks::new(1, table.clone());
        let id = OperationId::new(0, 0, 1);
        let s = signals[5];
        let cells = marks.of(id);
        for cell in [0, 3] {
            assert!(table.pin(s), "each cell holds a pin");
            cells[cell].store(mark(id, s), Ordering::Relaxed);
        }
        assert_eq!(&*marks.get(id), &[s], "listed once");
        assert!(marks.remove(id, s));
        assert!(!marks.has(id, s), "still present after its retract");
        assert!(marks.get(id).is_empty());
    }
}

#[cfg(all(test, not(loom)))]
mod pins {
    use super::*;

    #[test]
    fn a_marked_name_is_kept_until_its_operation_leaves_the_window() {
        let table = Arc::new(SignalTable::new(1));
        let marks = Marks::new(1, table.clone());
        let id = OperationId::new(0, 0, 1);
        let host = table.intern("host-1").unwrap();
        assert!(marks.add(id, host));
        assert!(
            table.intern("host-2").is_err(),
            "a marked name was reclaimed"
        );
        marks.release(id.index());
        assert!(marks.get(id).is_empty());
        let next = table.intern("host-2").unwrap();
        assert!(!marks.has(id, host) && !marks.has(id, next));
        assert!(!marks.add(id, host), "a stale handle cannot be marked");
        assert!(marks.add(id, next) && marks.remove(id, next));
        assert!(
            table.intern("host-3").is_ok(),
            "a removed mark gave its pin back"
        );
    }

    #[test]
    fn a_stale_operations_mark_gives_its_pin_back_when_overwritten() {
        let table = Arc::new(SignalTable::new(2));
        let marks = Marks::new(1, table.clone());
        let (old, new) = (OperationId::new(0, 0, 1), OperationId::new(0, 0, 2));
        let a = table.intern("a").unwrap();
        let b = table.intern("b").unwrap();
        assert!(marks.add(old, a));
        assert!(marks.add(new, b), "overwrites the stale mark of a");
        assert_eq!(table.intern("c").map(|c| c.index()), Ok(a.index()));
    }
}
