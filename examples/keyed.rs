//! The README's keyed quick start, compiled and run by CI: per-customer order, no
//! head-of-line blocking, idle customers forgotten.

use core::time::Duration;

use ephemeral::runtime::{Smol, Timer};
use ephemeral::{KeyedWorkCoordinator, OpContext, Options};

// --- keyed ---
struct Order {
    customer: u32,
    seq: u32,
}

async fn keyed() {
    let coordinator = KeyedWorkCoordinator::builder(
        Smol,
        |order: &Order| order.customer,        // the key
        Options::default().max_concurrency(4), // four bodies at once overall
    )
    .max_concurrency_per_key(1) // one at a time per customer, in enqueue order
    .build(|order: Order, _ctx: OpContext| async move {
        // Customer 0's orders are slow; nobody else waits behind them.
        let pause = if order.customer == 0 { 20 } else { 1 };
        Smol.sleep(Duration::from_millis(pause)).await;
        let _ = order.seq;
    })
    .unwrap();
    for seq in 0..40 {
        let customer = seq % 4;
        coordinator.enqueue(Order { customer, seq }).await.unwrap();
    }
    println!(
        "customer 0 waiting: {}",
        coordinator.pending_count_for_key(&0)
    );
    coordinator.complete();
    coordinator.drain().await;

    // Each customer's orders ran one after another, in the order they came.
    let customer_two = coordinator.snapshot_for_key(&2);
    assert_eq!(customer_two.len(), 10);
    assert!(
        customer_two
            .windows(2)
            .all(|w| w[0].finished_at <= w[1].started_at)
    );
    // Customers with nothing waiting or running are forgotten: memory stays bounded.
    assert_eq!(coordinator.active_keys(), 0);
}
// --- end ---

fn main() {
    smol::block_on(keyed());
}
