//! Reclaiming an idle name's slot for a new name (IMPLEMENTATION.md, Signal table): a
//! raise through the old handle racing the reclaim either lands on the old name (which
//! then holds the slot, so the intern finds the table full, or the raiser's retract came
//! first) or is refused as stale; it never sets the new name's presence bit, and a name
//! read through the old handle is the old name or nothing, never the new one. Every pin
//! comes back: a later intern reclaims again.
//!
//! Mutation caught (`scripts/mutants/reclaim-ignores-pins.mutant`): the reclaim not
//! requiring the slot to be unpinned, so a raise holding its pin sets the bit of the
//! name that took the slot.
#![cfg(loom)]

use core::time::Duration;

use ephemeral::signal::{SignalTable, TableError};
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

#[test]
fn a_raise_through_an_old_handle_racing_a_reclaim_never_raises_the_new_name() {
    let sides = [
        "the old raise landed and the new name took the slot after its retract",
        "the old raise landed while the new name wanted the slot: full",
        "the old handle was stale when raised",
    ];
    explore(&sides, move |seen| {
        let table = Arc::new(SignalTable::with_name_bytes(1, 8));
        let old = table.intern("a").unwrap();
        let raiser = {
            let table = table.clone();
            thread::spawn(move || {
                table.raise(old, Duration::ZERO);
                let landed = table.is_raised(old);
                if let Some(name) = table.name(old) {
                    assert_eq!(name, "a", "the old handle read another name");
                }
                table.retract(old);
                landed
            })
        };
        let new = table.intern("b");
        let landed = raiser.join().unwrap();
        match new {
            Ok(b) => {
                assert_ne!(b, old);
                assert!(!table.is_raised(b), "the old handle raised the new name");
                assert_eq!(table.name(b).unwrap(), "b");
                assert_eq!(table.name(old), None);
                seen.saw(sides[if landed { 0 } else { 2 }]);
            }
            Err(TableError::Full { .. }) => {
                assert!(landed, "full while the old name was idle");
                seen.saw(sides[1]);
            }
            Err(other) => panic!("{other:?}"),
        }
        // Every pin came back: the idle name's slot can be taken again.
        let c = table.intern("c").unwrap();
        assert!(!table.is_raised(c));
    });
}
