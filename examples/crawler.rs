//! A crawler over simulated hosts (no network: a fetch sleeps, and one host fails its
//! first fetches), compiled and run by CI. Pages are keyed by host: each host is
//! fetched one page at a time, in order, while hosts run beside each other. A per-host
//! circuit breaker raises `circuit.open.<host>` after three failures in a row, and the
//! coordinator's per-key gate defers only that host's pages: they wait in the
//! scheduler, holding no worker, while the healthy hosts finish. When the host
//! recovers the breaker is retracted and its pages run. It checks that no healthy
//! host's page was cancelled, failed or lost.

use core::fmt::Write;
use core::time::Duration;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use ephemeral::runtime::{Smol, Timer};
use ephemeral::signal::SignalSink;
use ephemeral::{KeyedWorkCoordinator, OpContext, Options, Outcome, State};

const HOSTS: [&str; 4] = [
    "alpha.example",
    "beta.example",
    "gamma.example",
    "bad.example",
];
const BAD: &str = "bad.example";
const PAGES: u32 = 8;
/// Failures in a row that open a host's circuit.
const TRIP_AFTER: u32 = 3;

#[derive(Clone, Copy, Debug)]
struct Page {
    host: &'static str,
    path: u32,
}

#[derive(Clone, Debug)]
enum FetchError {
    Unreachable(&'static str),
}

/// Consecutive failures per host.
#[derive(Default)]
struct Breaker {
    failures: Mutex<HashMap<&'static str, u32>>,
}

impl Breaker {
    /// Records a fetch; returns whether this failure trips the host's circuit.
    fn record(&self, host: &'static str, ok: bool) -> bool {
        let mut failures = self.failures.lock().unwrap();
        let count = failures.entry(host).or_insert(0);
        *count = if ok { 0 } else { *count + 1 };
        *count == TRIP_AFTER
    }
}

/// The simulated network: a fetch takes 1-4 ms; the bad host refuses its first
/// `TRIP_AFTER` fetches, then serves (it came back up).
async fn fetch(page: Page, bad_attempts: &AtomicU32) -> Result<usize, FetchError> {
    Smol.sleep(Duration::from_millis(1 + u64::from(page.path % 4)))
        .await;
    if page.host == BAD && bad_attempts.fetch_add(1, Ordering::SeqCst) < TRIP_AFTER {
        return Err(FetchError::Unreachable(page.host));
    }
    Ok(page.host.len() * 100 + page.path as usize)
}

fn main() {
    smol::block_on(async {
        let sink = SignalSink::new();
        let breaker = std::sync::Arc::new(Breaker::default());
        let bad_attempts = std::sync::Arc::new(AtomicU32::new(0));
        let crawler = KeyedWorkCoordinator::builder(
            Smol,
            |page: &Page| page.host,
            Options::default()
                .max_concurrency(2) // the window: two fetches at once overall
                .max_defer(Duration::from_secs(10))
                .signals(sink.clone()),
        )
        // Only the host whose circuit is open waits; the others go on.
        .defer_on_key("circuit.open.{key}", |host, name| write!(name, "{host}"))
        .build(move |page: Page, ctx: OpContext| {
            let (breaker, bad_attempts) = (breaker.clone(), bad_attempts.clone());
            async move {
                let fetched = fetch(page, &bad_attempts).await;
                if breaker.record(page.host, fetched.is_ok()) {
                    // Recorded on this operation and raised into the sink.
                    ctx.signal(&format!("circuit.open.{}", page.host)).unwrap();
                }
                fetched.map(|_bytes| ())
            }
        })
        .unwrap();

        for path in 0..PAGES {
            for host in HOSTS {
                crawler.enqueue(Page { host, path }).await.unwrap();
            }
        }

        // The healthy hosts finish while the bad host's circuit is open.
        let healthy = u64::from(PAGES) * (HOSTS.len() as u64 - 1);
        while crawler.totals().completed < healthy {
            Smol.sleep(Duration::from_millis(1)).await;
        }
        let open = format!("circuit.open.{BAD}");
        assert!(
            sink.is_raised(open.as_str()),
            "the bad host tripped its circuit"
        );
        println!(
            "{open} raised: {} of {BAD}'s pages held ({} waiting for it), {} pages done",
            crawler.deferred_count(),
            crawler.pending_count_for_key(&BAD),
            crawler.totals().completed,
        );
        assert_eq!(
            crawler.deferred_count(),
            (PAGES - TRIP_AFTER) as usize,
            "the held pages wait in the scheduler"
        );

        // The host is back: close its circuit, and its held pages run.
        sink.retract(open.as_str());
        crawler.complete();
        crawler.drain().await;

        let totals = crawler.totals();
        println!(
            "crawled: {} completed, {} failed, {} cancelled, {} held back and then run",
            totals.completed, totals.failed, totals.cancelled, totals.deferred
        );
        for host in HOSTS {
            let pages = crawler.snapshot_for_key(&host);
            let done = pages.iter().filter(|p| p.state == State::Completed).count();
            let failed = pages.iter().filter(|p| p.state == State::Faulted).count();
            println!("  {host:<14} {done} fetched, {failed} failed");
            for page in pages.iter().filter(|p| p.state == State::Faulted) {
                if let Some(Outcome::Error(FetchError::Unreachable(at))) = &page.outcome {
                    println!("    {} failed: {at} unreachable", page.id);
                }
            }
            let expected = if host == BAD {
                (PAGES - TRIP_AFTER, TRIP_AFTER)
            } else {
                (PAGES, 0)
            };
            assert_eq!((done as u32, failed as u32), expected, "{host}");
        }
        assert_eq!(totals.cancelled, 0, "no page was cancelled");
        assert_eq!(
            totals.completed + totals.failed,
            u64::from(PAGES) * HOSTS.len() as u64,
            "no page was lost"
        );
        let tripped = crawler.signals_matching("circuit.open.*");
        println!("circuit signals raised by fetches: {}", tripped.len());
        assert_eq!(tripped.len(), 1);
        assert_eq!(totals.deferred, u64::from(PAGES - TRIP_AFTER));
    });
}
