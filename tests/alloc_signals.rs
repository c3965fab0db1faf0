//! Signals allocate nothing per raise, retract, presence check, gate check or glob
//! match once a name is interned (IMPLEMENTATION.md, C9).

mod counting;

use ephemeral::runtime::ManualClock;
use ephemeral::signal::{Pattern, SignalSink};

#[test]
fn raising_retracting_and_checking_signals_allocates_nothing() {
    let sink = SignalSink::builder()
        .history(64)
        .clock(ManualClock::new())
        .build();
    let _subscription = sink
        .subscribe(|event| {
            std::hint::black_box(event);
        })
        .unwrap();
    // A changes stream nobody reads: its queue overflows on every change, dropping the
    // oldest (counted) rather than growing.
    let changes = sink.changes(4).unwrap();
    let busy = sink.raise("backpressure.downstream").unwrap();
    let gate = sink.mask("circuit-open, shutting-down, backpressure.*");
    let glob = Pattern::new("error.*");
    let mut hits = 0;
    let allocations = counting::allocations_during(|| {
        for i in 0..10_000u64 {
            sink.raise_with(busy, None, Some(i)).unwrap();
            hits += usize::from(sink.is_raised(busy));
            hits += usize::from(gate.first_raised(&sink).is_some());
            hits += usize::from(glob.matches("error.timeout.db"));
            sink.retract(busy);
            hits += usize::from(gate.first_raised(&sink).is_none());
        }
    });
    assert_eq!(hits, 40_000);
    assert!(changes.lagged() > 0);
    assert_eq!(allocations, 0, "allocations in 10,000 rounds");
}
