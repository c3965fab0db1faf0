//! Model (a): the slab's free list under two threads allocating and releasing.
#![cfg(loom)]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use ephemeral::OperationId;
use ephemeral::loom_api::{COMPLETED, Slab};
use loom::sync::Arc;
use loom::thread;

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

fn release(slab: &Slab<u8, ()>, ledger: &Ledger, id: OperationId) {
    ledger.gave_back(id);
    slab.claim(id).unwrap();
    slab.finish(id, COMPLETED, (), Duration::ZERO).unwrap();
    slab.transition(id, |w| Ok(w.retired())).unwrap();
}

#[test]
fn two_threads_allocating_and_releasing_never_share_a_slot() {
    loom::model(|| {
        let slab = Arc::new(Slab::<u8, ()>::new(2));
        let ledger = Arc::new(Ledger {
            held: [AtomicBool::new(false), AtomicBool::new(false)],
            last_generation: [AtomicU32::new(0), AtomicU32::new(0)],
        });

        let t1 = {
            let (slab, ledger) = (slab.clone(), ledger.clone());
            thread::spawn(move || {
                if let Ok(id) = slab.insert(1, Duration::ZERO) {
                    ledger.took(id);
                    release(&slab, &ledger, id);
                }
            })
        };
        // Two pops and a push while t1 may sit between reading the head and its CAS:
        // the shape of the classic ABA interleaving.
        let mut mine = Vec::new();
        for n in 0..2 {
            if let Ok(id) = slab.insert(10 + n, Duration::ZERO) {
                ledger.took(id);
                mine.push(id);
            }
        }
        if let Some(id) = mine.first().copied() {
            release(&slab, &ledger, id);
        }
        t1.join().unwrap();
        for id in mine.into_iter().skip(1) {
            release(&slab, &ledger, id);
        }

        // Quiescent: the free list must hold exactly the two slots, once each.
        let a = slab.insert(20, Duration::ZERO).expect("first slot");
        ledger.took(a);
        let b = slab.insert(21, Duration::ZERO).expect("second slot");
        ledger.took(b);
        assert!(
            slab.insert(22, Duration::ZERO).is_err(),
            "a third slot appeared"
        );
    });
}
