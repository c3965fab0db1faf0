//! The async handler queue (`Dispatch`): `close` racing `offer`, and overflow. An event
//! offered before `close` is handled or counted as dropped, one racing it is handled,
//! dropped or refused, `idle` returns once the handlers are done (a refused offer leaves
//! nothing counted in flight), and overflow drops the oldest event, never the newest.
//!
//! The models check every side: the racing offer handled, and refused with `idle`
//! waiting for it to settle; overflow dropping none, one and two events, and the handler
//! waiting for an offer.
//!
//! Mutation caught (`scripts/mutants/dispatch-refused-offer-unsettled.mutant`): the
//! intake's `force_push` not settling an offer refused because the queue closed: `idle`
//! then waits forever (loom reports the deadlock).
#![cfg(loom)]

use ephemeral::loom_api::Dispatch;
use ephemeral::signal::{SignalEvent, SignalTable};
use loom::sync::Arc;
use loom::thread;
use loom_tests::{block_on_waited, explore};

fn event(key: u64) -> SignalEvent {
    SignalEvent {
        signal: SignalTable::new(1).intern("e").unwrap(),
        operation_id: None,
        key: Some(key),
        at: core::time::Duration::ZERO,
    }
}

/// Handles what is queued until the dispatch is closed and empty; also says whether it
/// ever waited for an event.
fn handle_all(dispatch: &Dispatch) -> (Vec<u64>, bool) {
    let (mut got, mut waited) = (Vec::new(), false);
    loop {
        let (next, this_waited) = block_on_waited(dispatch.next());
        waited |= this_waited;
        let Some(event) = next else {
            return (got, waited);
        };
        got.push(event.key.unwrap());
        dispatch.handled();
    }
}

#[test]
fn an_offer_racing_close_is_handled_or_refused_and_idle_returns() {
    // A refused offer's unsettled count hangs `idle` only on the last side.
    let sides = [
        "the racing offer was handled",
        "the racing offer was refused",
        "idle waited for a refused offer to settle",
    ];
    explore(&sides, move |seen| {
        let dispatch = Arc::new(Dispatch::new(2));
        let offerer = {
            let dispatch = dispatch.clone();
            thread::spawn(move || dispatch.offer(event(2)))
        };
        dispatch.offer(event(1));
        dispatch.close();
        let (got, _) = handle_all(&dispatch);
        // A leaked in-flight count leaves this waiting forever.
        let ((), waited) = block_on_waited(dispatch.idle());
        offerer.join().unwrap();
        seen.saw(sides[if got.contains(&2) { 0 } else { 1 }]);
        if waited {
            // `handle_all` returned closed and empty: only a refused offer was in flight.
            assert!(!got.contains(&2));
            seen.saw(sides[2]);
        }
        assert_eq!(dispatch.dropped(), 0, "room for both");
        assert!(
            got.contains(&1),
            "an event offered before close was lost: {got:?}"
        );
        assert!(got.len() <= 2);
    });
}

#[test]
fn handler_overflow_drops_the_oldest_and_delivers_the_newest() {
    let sides = [
        "none dropped",
        "one dropped",
        "two dropped",
        "the handler waited for an offer",
    ];
    explore(&sides, move |seen| {
        let dispatch = Arc::new(Dispatch::new(1));
        let handler = {
            let dispatch = dispatch.clone();
            thread::spawn(move || handle_all(&dispatch))
        };
        for key in 1..=3 {
            dispatch.offer(event(key));
        }
        dispatch.close();
        let (got, waited) = handler.join().unwrap();
        if waited {
            seen.saw(sides[3]);
        }
        assert_eq!(
            got.len() as u64 + dispatch.dropped(),
            3,
            "an event was lost or duplicated"
        );
        assert_eq!(got.last(), Some(&3), "the newest event was dropped");
        seen.saw(sides[dispatch.dropped() as usize]);
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "handled out of order: {got:?}"
        );
    });
}
