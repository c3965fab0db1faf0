//! Publication of a new operation: one thread inserts into two slots while two others
//! read both slots and one of them also claims the first operation.
//!
//! `Slab::insert_keyed` writes the input, key, label and enqueue time into a slot it alone
//! owns, then publishes `PENDING` (Release). A reader joins a slot with an Acquire CAS and
//! a claimant wins `PENDING -> CLAIMED` with an AcqRel CAS; either must see every write
//! the inserter made before publishing, on any thread and for any slot. The checks: a
//! reader that sees an operation sees its own key, label and enqueue time (and no start), and
//! the claimant takes the operation's own input.
//!
//! Mutation caught (`scripts/mutants/slab-insert-publishes-relaxed.mutant`):
//! `insert_keyed` publishing `PENDING` with `Relaxed`, so nothing orders the cell writes
//! before a reader's or claimant's access on another thread: loom reports the concurrent
//! access to the key (or input) cell.
#![cfg(loom)]

use std::time::Duration;

use ephemeral::Label;
use ephemeral::loom_api::Slab;
use ephemeral::{OperationId, State};
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

/// Input, key and enqueue time (ns) of the operation inserted first (slot 0) and second
/// (slot 1): the free list hands out slot 0 first.
const OPS: [(u32, u32, u64); 2] = [(10, 100, 1), (20, 200, 2)];

type Keyed = Slab<u32, (), u32>;

/// The label each operation is inserted with: derived from its key, so a reader can
/// tell a label of the wrong operation (or a torn one) from the right one.
fn label_of(key: u32) -> Label {
    use core::fmt::Write;
    let mut label = Label::EMPTY;
    let _ = write!(label, "operation {key}");
    label
}

/// Reads slot `index`; if it shows an operation, it must be the one inserted there.
/// Returns whether it showed one.
fn read(slab: &Keyed, index: u32) -> bool {
    let (_, key, nanos) = OPS[index as usize];
    slab.read(index, None, |v| {
        assert_eq!(v.key, Some(&key), "slot {index} seen without its key");
        assert_eq!(
            v.label,
            label_of(key),
            "slot {index} seen without its label"
        );
        assert_eq!(v.enqueued_at, Duration::from_nanos(nanos));
        assert_eq!(v.started_at, None);
        assert_eq!(v.word.state(), Some(State::Pending));
    })
    .is_some()
}

#[test]
fn readers_and_a_claimant_on_other_threads_see_an_inserted_operation_whole() {
    let expected = [
        "the other reader saw slot 1",
        "this reader saw slot 0",
        "claimed",
    ];
    explore(&expected, |seen| {
        let slab = Arc::new(Keyed::new(2));
        // The ids the inserts will get: slots 0 and 1 at their first generation.
        let first: OperationId = slab.id(0, 1);

        let inserter = {
            let slab = slab.clone();
            thread::spawn(move || {
                for (input, key, nanos) in OPS {
                    slab.insert_keyed(input, key, label_of(key), Duration::from_nanos(nanos))
                        .unwrap();
                }
            })
        };
        let reader = {
            let slab = slab.clone();
            let seen = seen.clone();
            thread::spawn(move || {
                if read(&slab, 1) {
                    seen.saw("the other reader saw slot 1");
                }
                read(&slab, 0);
            })
        };
        // The inserter first: this thread's reads then race its writes and loom tries
        // them earlier too (the other way round the inserter's own loads hide the race).
        thread::yield_now();
        if read(&slab, 0) {
            seen.saw("this reader saw slot 0");
        }
        if let Ok((_claim, input)) = slab.claim(first) {
            seen.saw("claimed");
            assert_eq!(input, OPS[0].0, "claimed without its input");
        }
        read(&slab, 1);
        inserter.join().unwrap();
        reader.join().unwrap();
    });
}
