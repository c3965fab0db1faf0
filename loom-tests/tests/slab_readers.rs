//! Readers leaving an operation evicted under them: two threads read a finished
//! operation's outcome while a third evicts it.
//!
//! With a reader inside, eviction only marks the slot `EVICTED`; the last reader out
//! (`Slab::leave`) frees it, which takes and drops the outcome. That reader must be
//! ordered after every other reader's access to the outcome: its decrement acquires
//! theirs (AcqRel), since each reader releases its reads with its own decrement. The
//! checks: a reader sees the outcome whole, and afterwards the slot is free exactly once
//! (one insert fits, a second does not).
//!
//! Mutation caught (`scripts/mutants/slab-leave-release-only.mutant`): the reader's
//! decrement in `leave` with `Release` instead of `AcqRel`, so the last reader frees the
//! slot unordered with the other reader's read: loom reports the concurrent access to
//! the outcome cell.
#![cfg(loom)]

use std::time::Duration;

use ephemeral::loom_api::{Phase, Slab, unreported};
use ephemeral::{OperationId, State};
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

/// Reads the operation; whether it was still there.
fn read(slab: &Slab<u8, u32>, id: OperationId) -> bool {
    slab.read_id(id, |v| {
        assert_eq!(
            v.outcome,
            Some(&7),
            "a finished operation read without its outcome"
        );
    })
    .is_some()
}

#[test]
fn the_last_reader_out_of_an_evicted_slot_frees_it_after_every_other_read() {
    let expected = [
        "evicted under two readers",
        "evicted under one reader",
        "evicted with no reader inside",
        "a reader came too late",
    ];
    explore(&expected, |seen| {
        let slab = Arc::new(Slab::<u8, u32>::new(1));
        let id = slab.insert(1, Duration::ZERO).unwrap();
        let (claim, _) = slab.claim(id).unwrap();
        slab.finish(
            claim.into(),
            Phase::Completed,
            7,
            Duration::ZERO,
            0,
            unreported(),
        );

        let readers: Vec<_> = (0..2)
            .map(|_| {
                let slab = slab.clone();
                let seen = seen.clone();
                thread::spawn(move || {
                    if !read(&slab, id) {
                        seen.saw("a reader came too late");
                    }
                })
            })
            .collect();
        let (old, new) = slab.transition(id, |w| Ok(w.retired())).unwrap();
        assert_eq!(old.state(), Some(State::Completed));
        seen.saw(match (new.phase(), new.readers()) {
            (Phase::Evicted, 2) => "evicted under two readers",
            (Phase::Evicted, _) => "evicted under one reader",
            _ => "evicted with no reader inside",
        });
        for reader in readers {
            reader.join().unwrap();
        }

        let word = slab.word_at(0);
        assert_eq!((word.phase(), word.readers()), (Phase::Free, 0));
        assert!(slab.read_id(id, |_| ()).is_none(), "an evicted id answered");
        slab.insert(2, Duration::ZERO)
            .expect("the slot was never freed");
        assert!(
            slab.insert(3, Duration::ZERO).is_err(),
            "the slot was freed twice"
        );
    });
}
