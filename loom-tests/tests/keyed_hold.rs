//! A key held by its gate ([`Keys::hold`](ephemeral::loom_api::Schedule::hold)) racing
//! the retract that releases it: the worker gates the key's item (user code, outside the
//! scheduler's lock), hands it back to be held, then waits as an idle worker of a holding
//! queue does (on pushes and on the sink's `changed`) for its next item. The retract
//! must never be lost between the gate, the hold and the wait: the worker gets the item
//! back whatever the interleaving, or loom reports the deadlock.
//!
//! The sides: the gate saw the retract (the item runs at once); the gate deferred but
//! the hold saw the retract (the ticket is handed back and gated again); the key was
//! held and the worker's first look found it released; the key was held and the
//! worker slept until the retract woke it.
//!
//! Mutation caught (`scripts/mutants/keys-release-ignores-retract.mutant`): a held key
//! released only at its bound, not when its signal goes.
#![cfg(loom)]

use core::fmt::Write;
use std::time::Duration;

use ephemeral::loom_api::{Intake, KeyGate, KeyLimits, Keys, Next, Schedule, Slab};
use ephemeral::runtime::ManualClock;
use ephemeral::signal::SignalSink;
use ephemeral::{Gate, Options};
use loom::sync::Arc;
use loom::thread;
use loom_tests::{block_on_waited, explore};

const KEY: u32 = 7;

#[test]
fn a_retract_racing_a_hold_always_releases_the_held_key() {
    let sides = [
        "the gate saw the retract",
        "the hold saw the retract",
        "held, then found released",
        "held, then woken by the retract",
    ];
    explore(&sides, |seen| {
        let sink = SignalSink::builder()
            .names(1)
            .history(1)
            .listeners(1)
            .clock(ManualClock::new())
            .build();
        let options = Options::default()
            .queue_capacity(1)
            .max_concurrency(1)
            .max_defer(Duration::MAX)
            .signals(sink.clone());
        let mut gate = KeyGate::default();
        gate.add_named("open.{key}", false, |key: &u32, name| write!(name, "{key}"));
        let keys = Keys::new(&options, &KeyLimits::default(), 1).gated(gate, sink.clone());
        let intake = Arc::new(Intake::new(keys));
        let slab = Slab::<u8, ()>::new(1);
        let id = slab.insert(1, Duration::ZERO).unwrap();
        intake
            .push_with(|queue| queue.push(id, Some(&KEY)))
            .unwrap();
        sink.raise("open.7").unwrap();

        let retracter = {
            let sink = sink.clone();
            thread::spawn(move || {
                sink.retract("open.7");
            })
        };
        // Let the retracter go first: loom then finds this thread's loads racing its
        // clear and tries them before it as well (the other way round, the retract's own
        // load before its clear hides the race; see `loom_tests`).
        thread::yield_now();
        let keys = intake.queue();
        let mut taken = loom::future::block_on(intake.next(|| false)).expect("queued");
        let mut handed_back = false;
        let side = loop {
            match keys.gate(&taken, &KEY) {
                Gate::Run if handed_back => break "the hold saw the retract",
                Gate::Run => break "the gate saw the retract",
                Gate::Cancel(_) => unreachable!("no cancel gate"),
                Gate::Defer(signal) => match keys.hold(taken, signal) {
                    Ok(()) => {
                        let changed = keys.released_by().expect("gated");
                        let (next, waited) =
                            block_on_waited(intake.next_or_when(|| false, || true, changed));
                        let next = match next {
                            Next::Item(item) => item,
                            _ => unreachable!("the item is still queued"),
                        };
                        assert_eq!(<Keys<u32> as Schedule>::id(&next), id);
                        assert_eq!(keys.gate(&next, &KEY), Gate::Run);
                        break if waited {
                            "held, then woken by the retract"
                        } else {
                            "held, then found released"
                        };
                    }
                    Err(back) => {
                        taken = back;
                        handed_back = true;
                    }
                },
            }
        };
        seen.saw(side);
        retracter.join().unwrap();
    });
}
