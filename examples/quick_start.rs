//! The README's quick start, compiled and run by CI.

use ephemeral::runtime::Smol;
use ephemeral::{ForEachExt, OpContext, Options, WorkCoordinator};

// --- quick start ---
async fn process(order: u32, _ctx: OpContext) -> Result<(), String> {
    if order.is_multiple_of(10) {
        Err(format!("order {order}: card declined"))
    } else {
        Ok(())
    }
}

async fn quick_start() {
    // One-shot: at most 8 in flight, inside this task, no allocation per item.
    let summary = (1..=100u32)
        .ephemeral_for_each(&Options::default().max_concurrency(8), process)
        .await
        .unwrap();
    assert_eq!((summary.completed, summary.failed), (90, 10));

    // Long-lived: workers on smol, a window of the last 200 operations.
    let coordinator =
        WorkCoordinator::new(Smol, Options::default().max_concurrency(8), process).unwrap();
    for order in 1..=100 {
        coordinator.enqueue(order).await.unwrap(); // waits while full
    }
    let _running = coordinator.running(); // what is executing now
    let _pending = coordinator.pending_count(); // what waits in the queue
    coordinator.complete(); // no more items
    coordinator.drain().await; // every accepted item is terminal
    let failed = coordinator.failed(); // recent failures, errors kept on the operation
    assert_eq!(failed.len(), 10);
    println!("{}", failed[0].outcome.as_ref().unwrap().error().unwrap());
}
// --- end ---

fn main() {
    smol::block_on(quick_start());
}
