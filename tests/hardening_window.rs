//! Hardening regressions for the window under real threads (IMPLEMENTATION.md C4,
//! C11): ids are `Copy` and `finish` is public, so safe code may race transitions on one
//! operation; readers must see each operation once; time arithmetic must not overflow.

use core::time::Duration;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Instant;

use ephemeral::{OperationId, Options, State, Window};

/// A big outcome, so recording it takes long enough for a second finisher to come in
/// while the first is still writing. Plain data: a racing write cannot crash the test.
type Big = [u64; 4096];

/// Two finishers of one running operation: at most one may succeed. They used to both
/// pass the phase check, both write the outcome cell, and both publish and place the
/// operation (which then listed twice).
#[test]
fn two_finishers_of_one_operation_never_both_succeed() {
    const BATCH: usize = 64;
    // Rounds run until a double finish is seen or the time is up.
    let budget = Instant::now() + Duration::from_secs(3);
    let options = Options::default()
        .queue_capacity(BATCH)
        .max_concurrency(BATCH)
        .max_tracked(BATCH)
        .pin_budget(0);
    let window: Arc<Window<(), Big>> = Arc::new(Window::new(&options).unwrap());
    // Both finishers announce they hold the batch, then start together.
    let ready = Arc::new(AtomicU64::new(0));
    let (wins_tx, wins_rx) = mpsc::channel::<(usize, Vec<bool>)>();

    let mut batches = Vec::new();
    let finishers: Vec<_> = (0..2)
        .map(|me| {
            let (window, ready, wins) = (window.clone(), ready.clone(), wins_tx.clone());
            let (batch_tx, batch_rx) = mpsc::channel::<Vec<OperationId>>();
            batches.push(batch_tx);
            thread::spawn(move || {
                let mut round = 0;
                while let Ok(ids) = batch_rx.recv() {
                    round += 1;
                    ready.fetch_add(1, Ordering::AcqRel);
                    let start = Instant::now();
                    while ready.load(Ordering::Acquire) < 2 * round
                        && start.elapsed() < Duration::from_secs(1)
                    {
                        std::hint::spin_loop();
                    }
                    let won: Vec<bool> = ids
                        .iter()
                        .map(|&id| {
                            window
                                .finish(id, State::Completed, [me as u64; 4096], Duration::ZERO)
                                .is_ok()
                        })
                        .collect();
                    if wins.send((me, won)).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(wins_tx);

    let (mut double, mut listed_twice, mut rounds) = (0, 0, 0);
    while double == 0 && Instant::now() < budget {
        rounds += 1;
        let ids: Vec<OperationId> = (0..BATCH)
            .map(|_| {
                let id = window
                    .insert((), Duration::ZERO)
                    .expect("every slot of the window is taken");
                window.start(id, Duration::ZERO).unwrap();
                id
            })
            .collect();
        for batch in &batches {
            batch.send(ids.clone()).unwrap();
        }
        let mut won = [Vec::new(), Vec::new()];
        for _ in 0..2 {
            let (me, list) = wins_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("a finisher thread died or hung");
            won[me] = list;
        }
        double += (0..BATCH).filter(|&i| won[0][i] && won[1][i]).count();
        let mut seen = HashSet::new();
        window.visit(Duration::ZERO, |s| {
            if !seen.insert(s.id) {
                listed_twice += 1;
            }
        });
        for id in ids {
            let _ = window.evict(id);
        }
    }
    drop(batches);
    for f in finishers {
        f.join().expect("a finisher thread panicked");
    }
    assert_eq!(
        double,
        0,
        "{double} of {} operations were finished twice ({listed_twice} listed twice)",
        BATCH * rounds
    );
}

/// One snapshot shows each operation at most once. An operation that finished while a
/// reader walked the window used to be listed both as running and as finished.
#[test]
fn a_snapshot_lists_each_operation_at_most_once() {
    const RUNNING: usize = 128;
    let options = Options::default()
        .queue_capacity(RUNNING)
        .max_concurrency(RUNNING)
        .max_tracked(4 * RUNNING)
        .pin_budget(0);
    let window: Arc<Window<(), u64>> = Arc::new(Window::new(&options).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicU64::new(0));

    // Keeps RUNNING operations running and finishes the oldest as it starts a new one.
    let writer = {
        let (window, stop, finished) = (window.clone(), stop.clone(), finished.clone());
        thread::spawn(move || {
            let mut running = std::collections::VecDeque::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if running.len() < RUNNING {
                    let id = window.insert((), Duration::ZERO).unwrap();
                    window.start(id, Duration::ZERO).unwrap();
                    running.push_back(id);
                    continue;
                }
                let id = running.pop_front().unwrap();
                window
                    .finish(id, State::Completed, n, Duration::ZERO)
                    .unwrap();
                n += 1;
                finished.store(n, Ordering::Relaxed);
            }
        })
    };

    let deadline = Instant::now() + Duration::from_secs(3);
    let (mut snapshots, mut with_duplicates, mut example) = (0u64, 0u64, None);
    while Instant::now() < deadline && with_duplicates < 10 {
        let list = window.snapshot(Duration::ZERO);
        let mut seen = HashSet::new();
        for s in &list {
            if !seen.insert(s.id) {
                with_duplicates += 1;
                let states: Vec<State> = list
                    .iter()
                    .filter(|o| o.id == s.id)
                    .map(|o| o.state)
                    .collect();
                example.get_or_insert((s.id, states));
                break;
            }
        }
        snapshots += 1;
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("the writer thread panicked");
    assert!(
        finished.load(Ordering::Relaxed) > 0,
        "the writer made no progress"
    );
    assert_eq!(
        with_duplicates, 0,
        "{with_duplicates} of {snapshots} snapshots listed an operation twice, e.g. {example:?}"
    );
}

/// Time is added with saturation: a window whose operations live "forever"
/// (`Duration::MAX`, which validates) finishes and reads operations. `now + lifetime`
/// used to overflow and panic in `finish`.
#[test]
fn the_longest_lifetime_finishes_and_reads_without_overflow() {
    let options = Options::default().max_operation_lifetime(Duration::MAX);
    let window: Window<u8, &str> = Window::new(&options).unwrap();
    let now = Duration::from_secs(5);
    let id = window.insert(1, now).unwrap();
    window.start(id, now).unwrap();
    let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        window.finish(id, State::Completed, "done", now)
    }));
    assert!(
        matches!(finished, Ok(Ok(()))),
        "finishing with the longest lifetime panicked or was refused"
    );
    let later = Duration::from_secs(3600);
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        window.get(id, later).map(|s| s.state)
    }));
    assert!(
        matches!(read, Ok(Some(State::Completed))),
        "reading it back panicked or lost it"
    );
}
