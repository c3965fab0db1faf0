//! The README's result-coordinator quick start, compiled and run by CI.

use ephemeral::runtime::Smol;
use ephemeral::{OpContext, Options, ResultCoordinator, ResultError};

// --- results ---
async fn fetch(url: &'static str, _ctx: OpContext) -> Result<usize, String> {
    match url.strip_prefix("https://") {
        Some(host) => Ok(host.len()), // stands in for a response
        None => Err(format!("{url}: not https")),
    }
}

async fn results() {
    let coordinator =
        ResultCoordinator::new(Smol, Options::default().max_concurrency(4), fetch).unwrap();
    let ok = coordinator.enqueue("https://example.com").await.unwrap();
    let bad = coordinator.enqueue("ftp://example.com").await.unwrap();

    // Waits by wake-up until the operation ends (or answers at once if it has).
    assert_eq!(coordinator.wait_for_result(ok).await, Ok(11));
    let refused = coordinator.wait_for_result(bad).await;
    assert_eq!(
        refused,
        Err(ResultError::Failed("ftp://example.com: not https".into()))
    );

    // Results stay in the coordinator's store until taken, whatever the window evicts.
    assert_eq!(coordinator.successful(), [(ok, 11)]);
    assert_eq!(coordinator.take_result(ok), Ok(11));
    assert_eq!(coordinator.take_result(ok), Err(ResultError::Taken(ok)));
    println!("{} result held", coordinator.results().len());
}
// --- end ---

fn main() {
    smol::block_on(results());
}
