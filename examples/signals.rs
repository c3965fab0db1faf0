//! The README's Signals section, compiled and run by CI.

use std::time::Duration;

use ephemeral::runtime::Smol;
use ephemeral::signal::SignalSink;
use ephemeral::{CancelCause, OpContext, Options, Outcome, WorkCoordinator};

// --- signals ---
async fn fetch(page: u32, ctx: OpContext) -> Result<(), String> {
    if page.is_multiple_of(7) {
        ctx.signal("http.throttled").unwrap(); // recorded on this operation, raised into the sink
        return Err(format!("page {page}: 429"));
    }
    Ok(())
}

async fn signals() {
    // One sink, shared: what any coordinator raises, every coordinator sees.
    let sink = SignalSink::new();
    let crawler = WorkCoordinator::builder(
        Smol,
        Options::default()
            .max_concurrency(4)
            .signals(sink.clone())
            .defer_on("backpressure.*") // hold new work while present...
            .cancel_on("circuit-open") // ...or refuse it outright
            .drain_on("shutdown"), // and finish up when this is raised
    )
    .on_signal({
        let sink = sink.clone();
        move |event| {
            println!(
                "{} from {:?}",
                sink.name(event.signal).unwrap(),
                event.operation_id
            )
        }
    })
    .on_signal_async(|event| async move {
        // Runs on the spawner, at most 4 at a time, never blocking the raiser.
        let _ = event; // e.g. forward to an alerting service
    })
    .build(fetch)
    .unwrap();

    // Backpressure: downstream says "slow down"; new work waits, woken by the retract.
    sink.raise("backpressure.downstream").unwrap();
    crawler.enqueue_many(1..=20).await.unwrap();
    smol::Timer::after(Duration::from_millis(20)).await;
    assert_eq!(crawler.totals().completed + crawler.totals().failed, 0);
    sink.retract("backpressure.downstream");
    crawler.drain().await;

    // What the window says: which operations were throttled, and how often.
    assert_eq!(crawler.count_signals("http.throttled"), 2); // pages 7 and 14
    assert_eq!(sink.count_matching("http.*"), 2);

    // A circuit breaker: while "circuit-open" is present, items are cancelled unstarted.
    sink.raise("circuit-open").unwrap();
    let id = crawler.enqueue(21).await.unwrap();
    crawler.drain().await;
    let open = sink.signal("circuit-open").unwrap();
    assert_eq!(
        crawler.get(id).unwrap().outcome,
        Some(Outcome::Cancelled(CancelCause::Signal(open)))
    );

    // Shutdown from anywhere that holds the sink.
    sink.raise("shutdown").unwrap();
    assert!(crawler.is_completed());
    crawler.drain().await;
    println!("{:?}", crawler.totals());
}
// --- end ---

fn main() {
    smol::block_on(signals());
}
