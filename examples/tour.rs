//! A tour of `ephemeral` on smol: a `WorkCoordinator` runs 300 jobs, at most 8 at a
//! time; some return errors (and raise a signal) and some panic. Halfway through, a
//! `backpressure.downstream` signal holds new work until it is retracted. While it
//! works, the tour prints what is pending, running and failed; at the end it prints the
//! window the coordinator kept, with each operation's signals, including a pinned
//! failure that outlived count eviction.
//!
//! Run it with `cargo run --example tour`.

use core::time::Duration;

use ephemeral::runtime::{Smol, Timer};
use ephemeral::{OpContext, Options, Outcome, State, WorkCoordinator};

#[derive(Debug, Clone)]
enum JobError {
    UpstreamTimedOut,
}

async fn job(n: u32, ctx: OpContext) -> Result<(), JobError> {
    // Jobs take 1 to 7 ms.
    Smol.sleep(Duration::from_millis(u64::from(1 + n % 7)))
        .await;
    if n.is_multiple_of(29) {
        panic!("job {n}: corrupt record");
    }
    if n.is_multiple_of(17) {
        ctx.signal("upstream.timeout").expect("the sink has room");
        return Err(JobError::UpstreamTimedOut);
    }
    Ok(())
}

fn main() {
    // Job panics are caught and recorded on their operations; keep the default hook from
    // also printing each one (any other panic is still reported).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map_or("", String::as_str);
        if !message.ends_with("corrupt record") {
            default_hook(info);
        }
    }));

    smol::block_on(async {
        let options = Options::default()
            .max_concurrency(8)
            .queue_capacity(64)
            .max_tracked(12)
            .pin_budget(2)
            .defer_on("backpressure.*");
        let coordinator = WorkCoordinator::new(Smol, options, job).expect("valid options");
        let sink = coordinator.signals().clone();

        for n in 1..=300 {
            let id = coordinator.enqueue(n).await.expect("open");
            if n == 17 {
                // Job 17 will fail; pin it now so the post-mortem outlives count eviction.
                coordinator.pin(id).expect("within the pin budget");
            }
            if n % 40 == 0 {
                report(&coordinator);
            }
            if n == 150 {
                // Downstream asks for a pause: jobs about to start wait (none polls);
                // the retract 30 ms later wakes them.
                sink.raise("backpressure.downstream").expect("room");
                println!("-- raised backpressure.downstream");
                let sink = sink.clone();
                smol::spawn(async move {
                    Smol.sleep(Duration::from_millis(30)).await;
                    sink.retract("backpressure.downstream");
                    println!("-- retracted backpressure.downstream");
                })
                .detach();
                for _ in 0..2 {
                    Smol.sleep(Duration::from_millis(10)).await;
                    report(&coordinator);
                }
            }
        }
        coordinator.complete();
        while coordinator.pending_count() + coordinator.active_count() > 0 {
            Smol.sleep(Duration::from_millis(10)).await;
            report(&coordinator);
        }
        coordinator.drain().await;

        let totals = coordinator.totals();
        println!(
            "\ndone: {} enqueued = {} completed + {} failed + {} cancelled",
            totals.enqueued, totals.completed, totals.failed, totals.cancelled
        );
        println!(
            "signals: {} operations in the window raised upstream.timeout; the sink remembers {} raises; {} jobs were deferred",
            coordinator.count_signals("upstream.timeout"),
            sink.count("upstream.timeout"),
            totals.deferred
        );
        println!("\nthe window (the last 12 finished, plus the pinned failure):");
        for snap in coordinator.snapshot() {
            let what = match &snap.outcome {
                Some(Outcome::Success) => "ok".to_string(),
                Some(Outcome::Error(e)) => format!("error: {e:?}"),
                Some(Outcome::Panic(message)) => format!("panic: {message}"),
                Some(other) => format!("{other:?}"),
                None => String::new(),
            };
            let signals: Vec<String> = snap
                .signals
                .iter()
                .filter_map(|s| sink.name(*s).map(|n| n.to_string()))
                .collect();
            println!(
                "  {:<9} {:<10} {:>8.2?} {:<7} {what:<28} {}",
                snap.id.to_string(),
                format!("{:?}", snap.state),
                snap.duration().unwrap_or_default(),
                if snap.pinned { "pinned" } else { "" },
                signals.join(","),
            );
        }
        let failed = coordinator.failed();
        let panics = failed
            .iter()
            .filter(|s| matches!(s.outcome, Some(Outcome::Panic(_))))
            .count();
        println!(
            "\nfailures in the window: {} ({panics} panics)",
            failed.len()
        );
        assert!(
            coordinator
                .snapshot()
                .iter()
                .all(|s| s.state != State::Running)
        );
    });
}

fn report<R: ephemeral::runtime::Spawner + Timer>(coordinator: &WorkCoordinator<u32, R, JobError>) {
    let failed = coordinator.failed().len();
    println!(
        "pending {:3}  running {}  failed in window {failed:2}  (done so far: {})",
        coordinator.pending_count(),
        coordinator.active_count(),
        coordinator.totals().completed + coordinator.totals().failed,
    );
}
