//! The slab's free list under two threads allocating and releasing, while a third
//! reads whatever the slots hold.
//!
//! Checks that no slot is handed out twice, generations only grow, the free list holds
//! every slot exactly once when quiescent, and a reader sees one operation whole (its
//! enqueue time and outcome belong together) however slots are retired and reused around
//! it.
//!
//! Mutation caught (`scripts/mutants/slab-retire-ignores-readers.mutant`): `Word::retired`
//! freeing a slot whatever its reader count, so a slot is reclaimed (its outcome taken
//! and dropped) and reused while a reader is inside: loom reports the concurrent access
//! to the outcome cell.
#![cfg(loom)]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use ephemeral::OperationId;
use ephemeral::loom_api::{Phase, Slab, unreported};
use loom::sync::Arc;
use loom::thread;
use loom_tests::{Outcomes, explore};

/// Test-side bookkeeping (plain std atomics: loom runs one thread at a time, so they
/// add no interleavings of their own).
struct Ledger {
    held: [AtomicBool; 2],
    last_generation: [AtomicU32; 2],
}

impl Ledger {
    fn took(&self, id: OperationId) {
        let slot = (id.as_u128() as u32) as usize;
        let generation = (id.as_u128() >> 32) as u32;
        assert!(
            !self.held[slot].swap(true, SeqCst),
            "slot {slot} handed out twice"
        );
        let before = self.last_generation[slot].swap(generation, SeqCst);
        assert!(
            generation > before,
            "slot {slot}: generation {generation} after {before}"
        );
    }

    fn gave_back(&self, id: OperationId) {
        self.held[(id.as_u128() as u32) as usize].store(false, SeqCst);
    }
}

/// Operations record their input as the outcome and as the enqueue time (in
/// nanoseconds), so a reader can tell whether what it sees belongs to one operation.
fn insert(slab: &Slab<u8, u8>, value: u8) -> Result<OperationId, u8> {
    slab.insert(value, Duration::from_nanos(u64::from(value)))
}

fn release(slab: &Slab<u8, u8>, ledger: &Ledger, id: OperationId, seen: &Outcomes) {
    ledger.gave_back(id);
    let (claim, value) = slab.claim(id).unwrap();
    slab.finish(
        claim.into(),
        Phase::Completed,
        value,
        Duration::ZERO,
        0,
        unreported(),
    );
    let (_, retired) = slab.transition(id, |w| Ok(w.retired())).unwrap();
    if retired.phase() == Phase::Evicted {
        seen.saw("retired under the reader");
    }
}

/// Reads both slots; whatever is seen must be one operation.
fn read_both(slab: &Slab<u8, u8>, seen: &Outcomes) {
    for index in 0..2 {
        slab.read(index, None, |v| {
            if let Some(&outcome) = v.outcome {
                seen.saw("the reader saw an outcome");
                assert_eq!(v.enqueued_at, Duration::from_nanos(u64::from(outcome)));
            }
        });
    }
}

#[test]
fn two_threads_allocating_and_releasing_never_share_a_slot_and_a_reader_sees_one_operation() {
    let expected = ["the reader saw an outcome", "retired under the reader"];
    explore(&expected, |seen| {
        let slab = Arc::new(Slab::<u8, u8>::new(2));
        let ledger = Arc::new(Ledger {
            held: [AtomicBool::new(false), AtomicBool::new(false)],
            last_generation: [AtomicU32::new(0), AtomicU32::new(0)],
        });

        let t1 = {
            let (slab, ledger, seen) = (slab.clone(), ledger.clone(), seen.clone());
            thread::spawn(move || {
                if let Ok(id) = insert(&slab, 1) {
                    ledger.took(id);
                    release(&slab, &ledger, id, &seen);
                }
            })
        };
        let reader = {
            let (slab, seen) = (slab.clone(), seen.clone());
            thread::spawn(move || read_both(&slab, &seen))
        };
        // Two pops and a push while t1 may sit between reading the head and its CAS:
        // the shape of the classic ABA interleaving.
        let mut mine = Vec::new();
        for n in 0..2 {
            if let Ok(id) = insert(&slab, 10 + n) {
                ledger.took(id);
                mine.push(id);
            }
        }
        if let Some(id) = mine.first().copied() {
            release(&slab, &ledger, id, seen);
        }
        t1.join().unwrap();
        reader.join().unwrap();
        for id in mine.into_iter().skip(1) {
            release(&slab, &ledger, id, seen);
        }

        // Quiescent: the free list must hold exactly the two slots, once each.
        let a = insert(&slab, 20).expect("first slot");
        ledger.took(a);
        let b = insert(&slab, 21).expect("second slot");
        ledger.took(b);
        assert!(insert(&slab, 22).is_err(), "a third slot appeared");
    });
}
