//! The async handler queue (`Dispatch`): `close` racing `offer`, and overflow. An event
//! offered before `close` is handled or counted as dropped, one racing it is handled,
//! dropped or refused, `idle` returns once the handlers are done (a refused offer leaves
//! nothing counted in flight), and overflow drops the oldest event, never the newest.
//!
//! Mutation caught (`scripts/mutants.sh`): the intake's `force_push` not settling an
//! offer refused because the queue closed: `idle` then waits forever (loom reports the
//! deadlock).
#![cfg(loom)]

use ephemeral::loom_api::Dispatch;
use ephemeral::signal::{SignalEvent, SignalTable};
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;

fn event(key: u64) -> SignalEvent {
    SignalEvent {
        signal: SignalTable::new(1).intern("e").unwrap(),
        operation_id: None,
        key: Some(key),
        at: core::time::Duration::ZERO,
    }
}

/// Handles what is queued until the dispatch is closed and empty.
fn handle_all(dispatch: &Dispatch) -> Vec<u64> {
    let mut got = Vec::new();
    while let Some(event) = block_on(dispatch.next()) {
        got.push(event.key.unwrap());
        dispatch.handled();
    }
    got
}

#[test]
fn an_offer_racing_close_is_handled_or_refused_and_idle_returns() {
    loom::model(|| {
        let dispatch = Arc::new(Dispatch::new(2));
        let offerer = {
            let dispatch = dispatch.clone();
            thread::spawn(move || dispatch.offer(event(2)))
        };
        dispatch.offer(event(1));
        dispatch.close();
        let got = handle_all(&dispatch);
        // A leaked in-flight count leaves this waiting forever.
        block_on(dispatch.idle());
        offerer.join().unwrap();
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
    loom::model(|| {
        let dispatch = Arc::new(Dispatch::new(1));
        let handler = {
            let dispatch = dispatch.clone();
            thread::spawn(move || handle_all(&dispatch))
        };
        for key in 1..=3 {
            dispatch.offer(event(key));
        }
        dispatch.close();
        let got = handler.join().unwrap();
        assert_eq!(
            got.len() as u64 + dispatch.dropped(),
            3,
            "an event was lost or duplicated"
        );
        assert_eq!(got.last(), Some(&3), "the newest event was dropped");
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "handled out of order: {got:?}"
        );
    });
}
