//! The README's priority quick start, compiled and run by CI: lanes, a held lane that
//! stalls nothing, and a per-lane cancel signal.

use ephemeral::runtime::Smol;
use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator};

// --- priority ---
async fn priority() {
    let lanes = [
        Lane::new("interactive").max_depth(100),
        Lane::new("batch")
            .defer_on("db.busy") // held while the database is busy; other lanes run on
            .cancel_on("shutdown") // dropped, not run, once shutting down
            .promote_after(50), // aging: never starved by a busy interactive lane
    ];
    let coordinator = PriorityWorkCoordinator::new(
        Smol,
        lanes,
        Options::default().max_concurrency(2),
        |job: u32, _ctx: OpContext| async move {
            let _ = job;
        },
    )
    .unwrap();
    let (interactive, batch) = (
        coordinator.lane("interactive").unwrap(),
        coordinator.lane("batch").unwrap(),
    );

    coordinator.signals().raise("db.busy").unwrap();
    for job in 0..10 {
        coordinator.enqueue(job, batch).await.unwrap();
        coordinator.enqueue(100 + job, interactive).await.unwrap();
    }
    while coordinator.totals().completed < 10 {
        smol::future::yield_now().await; // interactive work finishes meanwhile
    }
    println!("waiting per lane: {:?}", coordinator.pending_counts()); // [0, 10]

    coordinator.signals().retract("db.busy"); // wakes the workers: batch runs now
    coordinator.complete();
    coordinator.drain().await;
    assert_eq!(coordinator.totals().completed, 20);
}
// --- end ---

fn main() {
    smol::block_on(priority());
}
