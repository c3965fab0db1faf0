//! Waiting for a free slot: an enqueuer that found every slot taken waits on the slab's
//! `freed` wake-up (as `Core::enqueue` does for `Shortage::Slots`) while another thread
//! evicts the finished operation holding the only slot and a third reads it.
//!
//! Whoever frees the slot notifies `freed`: the evictor when no reader is inside, or else
//! the last reader out of the evicted slot (`Slab::leave`). Either way the waiter must
//! wake and get the slot; a lost wake-up leaves it blocked, and loom reports the
//! deadlock.
//!
//! Mutation caught (`scripts/mutants/slab-reclaim-no-notify.mutant`): `Slab::reclaim`
//! putting the slot back on the free list without notifying `freed`, so an enqueuer that
//! went to sleep on a full slab is never woken: loom reports the deadlock.
#![cfg(loom)]

use std::time::Duration;

use ephemeral::loom_api::{Phase, Slab, unreported};
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

#[test]
fn a_slot_freed_by_an_evictor_or_the_last_reader_wakes_a_waiting_inserter() {
    let expected = [
        "freed by the evictor",
        "freed by the last reader",
        "the inserter was woken",
    ];
    explore(&expected, |seen| {
        let slab = Arc::new(Slab::<u8, u32>::new(1));
        let old = slab.insert(1, Duration::ZERO).unwrap();
        let (claim, _) = slab.claim(old).unwrap();
        slab.finish(
            claim.into(),
            Phase::Completed,
            7,
            Duration::ZERO,
            0,
            unreported(),
        );

        let evictor = {
            let slab = slab.clone();
            let seen = seen.clone();
            thread::spawn(move || {
                let (_, new) = slab.transition(old, |w| Ok(w.retired())).unwrap();
                seen.saw(if new.phase() == Phase::Evicted {
                    "freed by the last reader"
                } else {
                    "freed by the evictor"
                });
            })
        };
        let reader = {
            let slab = slab.clone();
            thread::spawn(move || {
                slab.read_id(old, |v| assert_eq!(v.outcome, Some(&7)));
            })
        };
        // Checks: one before listening, one after; a third follows a wake-up.
        let mut checks = 0;
        let new = block_on(slab.freed().until(|| {
            checks += 1;
            slab.insert(2, Duration::ZERO).ok()
        }));
        if checks > 2 {
            seen.saw("the inserter was woken");
        }
        assert_ne!(new, old, "a reused slot answers to a new id");
        evictor.join().unwrap();
        reader.join().unwrap();
    });
}
