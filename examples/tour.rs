//! A tour of the observable window: four worker threads run 300 jobs through one
//! `Window`; some fail, one failure is pinned, and the main thread watches the counts
//! while they work, then prints what the window kept.
//!
//! Run it with `cargo run --example tour`.

use core::time::Duration;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use ephemeral::{Options, State, Window};

fn main() {
    let options = Options::default()
        .max_concurrency(4)
        .queue_capacity(300)
        .max_tracked(10)
        .pin_budget(2)
        .max_operation_lifetime(Duration::from_secs(60));
    let window: Arc<Window<u32, String>> = Arc::new(Window::new(&options).expect("valid options"));
    let origin = Instant::now();
    let now = move || origin.elapsed();

    // Accept every job up front; they wait as pending operations.
    let ids: Vec<_> = (1..=300)
        .map(|job| window.insert(job, now()).expect("room for every job"))
        .collect();
    let first_failure = ids[12]; // job 13 fails (13 % 13 == 0)

    let workers: Vec<_> = ids
        .chunks(75)
        .map(|chunk| {
            let (window, chunk) = (window.clone(), chunk.to_vec());
            thread::spawn(move || {
                for id in chunk {
                    let job = window.start(id, now()).expect("each job is started once");
                    thread::sleep(Duration::from_micros(300));
                    let (state, outcome) = if job % 13 == 0 {
                        (State::Faulted, format!("job {job}: upstream timed out"))
                    } else {
                        (State::Completed, format!("job {job}: ok"))
                    };
                    window
                        .finish(id, state, outcome, now())
                        .expect("we started it");
                }
            })
        })
        .collect();

    // Keep the first failure for the post-mortem, however many jobs finish after it.
    while window
        .get(first_failure, now())
        .is_some_and(|s| !s.state.is_finished())
    {
        thread::yield_now();
    }
    window.pin(first_failure).expect("pin budget has room");

    while !workers.iter().all(|w| w.is_finished()) {
        let (mut pending, mut running, mut failed) = (0, 0, 0);
        window.visit(now(), |s| match s.state {
            State::Pending => pending += 1,
            State::Running => running += 1,
            State::Faulted => failed += 1,
            _ => {}
        });
        println!("pending {pending:3}  running {running}  failed in window {failed}");
        thread::sleep(Duration::from_millis(5));
    }
    for w in workers {
        w.join().expect("worker finished");
    }

    println!("\nThe window now (the last 10 finished jobs, plus the pinned failure):");
    for snap in window.snapshot(now()) {
        let pin = if snap.pinned { "pinned" } else { "" };
        println!(
            "  {:<10} {:<9} {:>8.2?} {:6} {}",
            snap.id.to_string(),
            format!("{:?}", snap.state),
            snap.duration().unwrap_or_default(),
            pin,
            snap.outcome.unwrap_or_default()
        );
    }
    println!("\nfailures kept: {}", window.failed(now()).len());
}
