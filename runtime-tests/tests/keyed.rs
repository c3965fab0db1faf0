//! The KeyedWorkCoordinator suite (IMPLEMENTATION.md C1 per key, C2, C3, C7 and the
//! fairness bound in `KeyedWorkCoordinator`'s docs), run on smol, tokio (multi-thread),
//! async-std and a single thread.

use core::time::Duration;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use ephemeral::runtime::{Spawner, Timer};
use ephemeral::{
    CancelCause, EnqueueError, KeyedWorkCoordinator, OpContext, Options, Outcome, State,
};
use runtime_tests::{
    Executor, LIMIT, OneAtATime, SplitMix, gate, on_every_executor, settle, until, within,
};

/// One item of the ordering scenario: its key, its place among its key's items, and how
/// long its body sleeps.
#[derive(Clone, Copy, Debug)]
struct Job {
    key: usize,
    seq: usize,
    delay_us: u64,
}

/// C3 (order) and C1 per key: at the default per-key limit of 1, each key's items start
/// in enqueue order and never overlap, whatever the bodies' pseudo-random durations
/// (0-2 ms), over 20 seeds with 5-8 keys, 2-6 workers and a small queue that makes
/// enqueue wait.
fn per_key_order_holds_under_random_delays<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        for seed in 0..20u64 {
            let mut rng = SplitMix::new(seed);
            let keys = 5 + rng.below(4) as usize;
            let concurrency = 2 + rng.below(5) as usize;
            let mut counts = vec![0usize; keys];
            let jobs: Vec<Job> = (0..200)
                .map(|_| {
                    let key = rng.below(keys as u64) as usize;
                    counts[key] += 1;
                    Job {
                        key,
                        seq: counts[key] - 1,
                        // Half yield only, half sleep up to 2 ms: short runs and
                        // long ones, at a modest total time.
                        delay_us: rng.below(2) * rng.below(2001),
                    }
                })
                .collect();

            let log = Arc::new(Mutex::new(Vec::new()));
            let running: Arc<Vec<AtomicUsize>> =
                Arc::new((0..keys).map(|_| AtomicUsize::new(0)).collect());
            let key_high: Arc<Vec<AtomicUsize>> =
                Arc::new((0..keys).map(|_| AtomicUsize::new(0)).collect());
            let (all, all_high) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
            let body = {
                let (log, running, key_high, all, all_high, timer) = (
                    log.clone(),
                    running.clone(),
                    key_high.clone(),
                    all.clone(),
                    all_high.clone(),
                    rt.clone(),
                );
                move |job: Job, _: OpContext| {
                    let (log, running, key_high, all, all_high, timer) = (
                        log.clone(),
                        running.clone(),
                        key_high.clone(),
                        all.clone(),
                        all_high.clone(),
                        timer.clone(),
                    );
                    async move {
                        key_high[job.key]
                            .fetch_max(running[job.key].fetch_add(1, SeqCst) + 1, SeqCst);
                        all_high.fetch_max(all.fetch_add(1, SeqCst) + 1, SeqCst);
                        log.lock().unwrap().push((job.key, job.seq));
                        if job.delay_us == 0 {
                            futures_lite::future::yield_now().await;
                        } else {
                            timer.sleep(Duration::from_micros(job.delay_us)).await;
                        }
                        all.fetch_sub(1, SeqCst);
                        running[job.key].fetch_sub(1, SeqCst);
                    }
                }
            };
            let coordinator = KeyedWorkCoordinator::new(
                rt.clone(),
                |job: &Job| job.key,
                Options::default()
                    .max_concurrency(concurrency)
                    .queue_capacity(32),
                body,
            )
            .unwrap();
            within(LIMIT, async {
                coordinator.enqueue_many(jobs).await.unwrap();
                coordinator.complete();
                coordinator.drain().await;
            })
            .await;

            let log = log.lock().unwrap().clone();
            assert_eq!(log.len(), 200, "{} seed {seed}", E::NAME);
            for (key, &count) in counts.iter().enumerate() {
                let order: Vec<usize> = log
                    .iter()
                    .filter(|(k, _)| *k == key)
                    .map(|(_, seq)| *seq)
                    .collect();
                assert_eq!(
                    order,
                    (0..count).collect::<Vec<_>>(),
                    "{} seed {seed}: key {key} started out of enqueue order",
                    E::NAME
                );
                assert!(
                    key_high[key].load(SeqCst) <= 1,
                    "{} seed {seed}: two bodies of key {key} overlapped",
                    E::NAME
                );
            }
            assert!(
                all_high.load(SeqCst) <= concurrency,
                "{} seed {seed}: {} bodies ran at once, limit {concurrency}",
                E::NAME,
                all_high.load(SeqCst)
            );
            assert_eq!(coordinator.totals().completed, 200);
            assert_eq!(coordinator.active_keys(), 0);
        }
    });
}

/// C1 per key and globally: with `max_concurrency_per_key(2)` and `max_concurrency(6)`
/// over four busy keys, no key ever runs more than 2 bodies and no more than 6 run in
/// all; both limits are reached. The first bodies wait until the test has seen both
/// limits reached, so the high-water marks do not depend on timing.
fn per_key_and_global_limits_both_hold<E: Executor>(exec: E) {
    const KEYS: usize = 4;
    const PER_KEY: usize = 2;
    const CONCURRENCY: usize = 6;
    const ITEMS: usize = 40;
    let rt = exec.rt();
    exec.block_on(async move {
        let running: Arc<Vec<AtomicUsize>> =
            Arc::new((0..KEYS).map(|_| AtomicUsize::new(0)).collect());
        let key_high: Arc<Vec<AtomicUsize>> =
            Arc::new((0..KEYS).map(|_| AtomicUsize::new(0)).collect());
        let (all, all_high) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let started = Arc::new(AtomicUsize::new(0));
        let (release, wait) = gate();
        let body = {
            let (running, key_high, all, all_high, started) = (
                running.clone(),
                key_high.clone(),
                all.clone(),
                all_high.clone(),
                started.clone(),
            );
            move |(key, _n): (usize, usize), _: OpContext| {
                let (running, key_high, all, all_high, started, wait) = (
                    running.clone(),
                    key_high.clone(),
                    all.clone(),
                    all_high.clone(),
                    started.clone(),
                    wait.clone(),
                );
                async move {
                    key_high[key].fetch_max(running[key].fetch_add(1, SeqCst) + 1, SeqCst);
                    all_high.fetch_max(all.fetch_add(1, SeqCst) + 1, SeqCst);
                    started.fetch_add(1, SeqCst);
                    let _ = wait.recv().await;
                    all.fetch_sub(1, SeqCst);
                    running[key].fetch_sub(1, SeqCst);
                }
            }
        };
        let coordinator = KeyedWorkCoordinator::builder(
            rt,
            |item: &(usize, usize)| item.0,
            Options::default().max_concurrency(CONCURRENCY),
        )
        .max_concurrency_per_key(PER_KEY)
        .build(body)
        .unwrap();
        within(LIMIT, async {
            coordinator
                .enqueue_many((0..ITEMS).map(|n| (n % KEYS, n)))
                .await
                .unwrap();
            until(|| started.load(SeqCst) == CONCURRENCY).await;
            settle().await;
            assert_eq!(
                started.load(SeqCst),
                CONCURRENCY,
                "{}: a body started past the global limit",
                E::NAME
            );
            let taken: Vec<usize> = (0..KEYS)
                .map(|k| coordinator.active_count_for_key(&k))
                .collect();
            assert_eq!(taken.iter().sum::<usize>(), CONCURRENCY, "{taken:?}");
            assert!(taken.iter().all(|&t| t <= PER_KEY), "{taken:?}");
            // The rest run freely; the high-water marks keep watching.
            release.close();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert_eq!(all_high.load(SeqCst), CONCURRENCY, "{}: global", E::NAME);
        for key in 0..KEYS {
            assert!(
                key_high[key].load(SeqCst) <= PER_KEY,
                "{}: key {key} ran {} at once",
                E::NAME,
                key_high[key].load(SeqCst)
            );
        }
        assert_eq!(
            key_high.iter().map(|h| h.load(SeqCst)).max(),
            Some(PER_KEY),
            "{}: the per-key limit is reached",
            E::NAME
        );
        assert_eq!(coordinator.totals().completed, ITEMS as u64);
    });
}

/// C3 (no head-of-line blocking): key A's first body blocks; A's second item waits
/// behind it, while every item of key B, enqueued after it, runs to completion.
fn a_blocked_key_does_not_hold_up_other_keys<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (release, wait) = gate();
        let body = {
            let log = log.clone();
            move |item: (char, u32), _: OpContext| {
                let (log, wait) = (log.clone(), wait.clone());
                async move {
                    log.lock().unwrap().push(item);
                    if item == ('A', 0) {
                        let _ = wait.recv().await;
                    }
                }
            }
        };
        let coordinator = KeyedWorkCoordinator::new(
            rt,
            |item: &(char, u32)| item.0,
            Options::default().max_concurrency(2),
            body,
        )
        .unwrap();
        let (a0, a1) = within(LIMIT, async {
            let a0 = coordinator.enqueue(('A', 0)).await.unwrap();
            let a1 = coordinator.enqueue(('A', 1)).await.unwrap();
            coordinator
                .enqueue_many((0..10).map(|n| ('B', n)))
                .await
                .unwrap();
            // A0's worker may be descheduled between taking it and starting it; either
            // way A1 cannot start, so wait for both.
            until(|| {
                coordinator.totals().completed == 10 && log.lock().unwrap().contains(&('A', 0))
            })
            .await;
            (a0, a1)
        })
        .await;
        // Every B finished while A's first body is still blocked.
        assert_eq!(
            coordinator.get(a0).unwrap().state,
            State::Running,
            "{}",
            E::NAME
        );
        assert_eq!(coordinator.get(a1).unwrap().state, State::Pending);
        assert_eq!(coordinator.pending_count_for_key(&'A'), 1);
        assert_eq!(coordinator.active_count_for_key(&'A'), 1);
        assert_eq!(coordinator.pending_count_for_key(&'B'), 0);
        assert_eq!(coordinator.active_count_for_key(&'B'), 0);
        assert_eq!(
            coordinator.active_keys(),
            1,
            "B was forgotten, A is remembered"
        );
        assert!(!log.lock().unwrap().contains(&('A', 1)));
        release.close();
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        let log = log.lock().unwrap().clone();
        let a: Vec<_> = log.iter().filter(|(k, _)| *k == 'A').collect();
        let b: Vec<u32> = log
            .iter()
            .filter(|(k, _)| *k == 'B')
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(a, [&('A', 0), &('A', 1)], "{}", E::NAME);
        assert_eq!(b, (0..10).collect::<Vec<_>>());
        assert_eq!(coordinator.totals().completed, 12);
        assert_eq!(coordinator.active_keys(), 0);
    });
}

/// Where a fairness run's bodies log a start: hot keys are `0..hot_keys`.
const COLD: u32 = 1_000;
/// The test's own entry: the cold item is enqueued right after it.
const MARK: u32 = u32::MAX;

/// One fairness run: `hot_keys` keys with 200 items each, whose bodies block until the
/// test frees them one at a time, so exactly one worker is free at each step and the
/// log is the scheduler's start order. After `warm_up` steps a cold key's item is
/// enqueued; returns how many hot starts came between it and the cold start.
async fn hot_starts_before_cold<R: Spawner + Timer + Clone>(
    rt: R,
    concurrency: usize,
    per_key: usize,
    threshold: usize,
    hot_keys: u32,
    warm_up: usize,
) -> usize {
    const HOT_ITEMS: u32 = 200;
    let log = Arc::new(Mutex::new(Vec::new()));
    let blocked = Arc::new(AtomicUsize::new(0));
    let (release, wait) = gate();
    let body = {
        let (log, blocked) = (log.clone(), blocked.clone());
        move |key: u32, _: OpContext| {
            let (log, blocked, wait) = (log.clone(), blocked.clone(), wait.clone());
            async move {
                log.lock().unwrap().push(key);
                if key != COLD {
                    blocked.fetch_add(1, SeqCst);
                    let _ = wait.recv().await;
                }
            }
        }
    };
    let coordinator = KeyedWorkCoordinator::builder(
        rt,
        |key: &u32| *key,
        Options::default()
            .max_concurrency(concurrency)
            .queue_capacity(1024),
    )
    .max_concurrency_per_key(per_key)
    .fair_scheduling_threshold(threshold)
    .build(body)
    .unwrap();
    let measured = within(LIMIT, async {
        for _ in 0..HOT_ITEMS {
            for key in 0..hot_keys {
                coordinator.enqueue(key).await.unwrap();
            }
        }
        // At rest: every worker is blocked in a hot body.
        let mut steps = OneAtATime::at_rest(&release, &blocked, concurrency).await;
        for _ in 0..warm_up {
            steps.free_one().await;
        }
        // Every worker is blocked, so nothing starts between the mark and the enqueue.
        log.lock().unwrap().push(MARK);
        coordinator.try_enqueue(COLD).unwrap();
        while !log.lock().unwrap().contains(&COLD) {
            assert!(steps.freed() < 1000, "the cold item never started");
            steps.free_one().await;
        }
        let log = log.lock().unwrap().clone();
        let mark = log.iter().position(|&k| k == MARK).unwrap();
        let cold = log.iter().position(|&k| k == COLD).unwrap();
        release.close();
        coordinator.complete();
        coordinator.drain().await;
        cold - mark - 1
    })
    .await;
    assert_eq!(
        coordinator.totals().completed,
        u64::from(HOT_ITEMS * hot_keys) + 1
    );
    measured
}

/// Fair scheduling: a cold key's item starts within the bound the docs state despite
/// hot keys' backlogs. For `max_concurrency_per_key(2)` with `max_concurrency(2)` (the
/// hot key leaves the ready ring whenever both workers hold it) and for a per-key limit
/// of 8 (so only `fair_scheduling_threshold(3)` makes a hot key yield), with 1 and 3 hot
/// keys, after 0-5 warm-up starts. Prints the measured numbers.
fn a_cold_key_starts_within_the_fairness_bound<E: Executor>(exec: E) {
    const CONCURRENCY: usize = 2;
    const THRESHOLD: usize = 3;
    let rt = exec.rt();
    exec.block_on(async move {
        for (per_key, hot_keys) in [(2, 1), (8, 1), (8, 3)] {
            // The docs' bound: an item that becomes ready behind `r` ready keys starts
            // within `r x fair_scheduling_threshold` starts, plus the at most
            // `concurrency ceiling` items workers took before it was enqueued. At most
            // every hot key is ready ahead of it, so r <= hot_keys.
            let bound = hot_keys as usize * THRESHOLD + CONCURRENCY;
            let mut measured = Vec::new();
            for warm_up in 0..6 {
                let hot = hot_starts_before_cold(
                    rt.clone(),
                    CONCURRENCY,
                    per_key,
                    THRESHOLD,
                    hot_keys,
                    warm_up,
                )
                .await;
                assert!(
                    hot <= bound,
                    "{}: per_key {per_key}, {hot_keys} hot keys, warm-up {warm_up}: \
                     {hot} hot starts before the cold one, bound {bound}",
                    E::NAME
                );
                measured.push(hot);
            }
            println!(
                "fairness on {}: concurrency {CONCURRENCY}, per-key {per_key}, threshold \
                 {THRESHOLD}, {hot_keys} hot key(s): max {} hot starts between the cold \
                 enqueue and the cold start (bound {bound}); per warm-up {measured:?}",
                E::NAME,
                measured.iter().max().unwrap()
            );
        }
    });
}

/// Bounded memory for any number of keys: 5,000 distinct keys pass through a
/// coordinator whose key table holds `queue_capacity + concurrency` = 68 keys; idle keys
/// are forgotten as they finish (else enqueue would wait forever for a free entry), the
/// table never holds more than its size, and nothing is remembered after `drain`. A
/// finished key's operations stay visible through `snapshot_for_key` while in the window.
fn idle_keys_are_reclaimed<E: Executor>(exec: E) {
    const CAPACITY: usize = 64;
    const CONCURRENCY: usize = 4;
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = KeyedWorkCoordinator::new(
            rt,
            |item: &(u32, u32)| item.0,
            Options::default()
                .max_concurrency(CONCURRENCY)
                .queue_capacity(CAPACITY)
                .max_tracked(200),
            |_: (u32, u32), _: OpContext| futures_lite::future::yield_now(),
        )
        .unwrap();
        let mut most_keys = 0;
        let last = within(LIMIT, async {
            for key in 0..5_000 {
                coordinator.enqueue((key, 0)).await.unwrap();
                most_keys = most_keys.max(coordinator.active_keys());
            }
            let mut last = Vec::new();
            for n in 0..3 {
                last.push(coordinator.enqueue((5_000, n)).await.unwrap());
            }
            coordinator.complete();
            coordinator.drain().await;
            last
        })
        .await;
        assert!(
            most_keys <= CAPACITY + CONCURRENCY,
            "{}: {most_keys} keys remembered at once",
            E::NAME
        );
        assert_eq!(coordinator.active_keys(), 0, "{}", E::NAME);
        assert_eq!(coordinator.totals().completed, 5_003);
        let snaps = coordinator.snapshot_for_key(&5_000);
        assert_eq!(
            snaps.iter().map(|s| s.id).collect::<Vec<_>>(),
            last,
            "{}: the finished key's operations, oldest first",
            E::NAME
        );
        assert!(snaps.iter().all(|s| s.state == State::Completed));
        assert_eq!(coordinator.snapshot_for_key(&4_999).len(), 1);
        assert!(
            coordinator.snapshot_for_key(&0).is_empty(),
            "evicted from the window of 200"
        );
        assert_eq!(coordinator.pending_count_for_key(&5_000), 0);
        assert_eq!(coordinator.active_count_for_key(&5_000), 0);
        let mut keyed = 0;
        coordinator.visit_keyed(|key, _| {
            assert!(key.is_some());
            keyed += 1;
        });
        assert_eq!(keyed, 200, "the window holds 200 finished operations");
    });
}

/// C7 for keys: `cancel` while each of two keys has a running (blocked) body and queued
/// items cancels them all; the totals add up, `drain` returns, and the keys are
/// forgotten.
fn cancel_ends_every_keys_running_and_queued_items<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = KeyedWorkCoordinator::new(
            rt,
            |item: &(char, u32)| item.0,
            Options::default().max_concurrency(2),
            |_: (char, u32), _: OpContext| futures_lite::future::pending::<()>(),
        )
        .unwrap();
        let ids = within(LIMIT, async {
            let mut ids = Vec::new();
            for n in 0..5 {
                ids.push(coordinator.enqueue(('A', n)).await.unwrap());
                ids.push(coordinator.enqueue(('B', n)).await.unwrap());
            }
            until(|| coordinator.active_count() == 2).await;
            ids
        })
        .await;
        assert_eq!(coordinator.pending_count_for_key(&'A'), 4, "{}", E::NAME);
        assert_eq!(coordinator.active_count_for_key(&'A'), 1);
        assert_eq!(coordinator.pending_count_for_key(&'B'), 4);
        assert_eq!(coordinator.active_count_for_key(&'B'), 1);
        coordinator.cancel();
        within(LIMIT, coordinator.drain()).await;
        let totals = coordinator.totals();
        assert_eq!(
            (
                totals.enqueued,
                totals.cancelled,
                totals.completed,
                totals.failed
            ),
            (10, 10, 0, 0),
            "{}",
            E::NAME
        );
        let started: Vec<bool> = ids
            .iter()
            .map(|&id| coordinator.get(id).unwrap().started_at.is_some())
            .collect();
        assert_eq!(
            started,
            [
                true, true, false, false, false, false, false, false, false, false
            ],
            "{}: only each key's first item ran",
            E::NAME
        );
        for id in ids {
            let snap = coordinator.get(id).unwrap();
            assert_eq!(snap.state, State::Cancelled);
            assert_eq!(
                snap.outcome,
                Some(Outcome::Cancelled(CancelCause::Coordinator))
            );
        }
        assert_eq!(coordinator.active_keys(), 0);
        assert_eq!(coordinator.pending_count_for_key(&'A'), 0);
        assert!(matches!(
            coordinator.try_enqueue(('A', 9)),
            Err(EnqueueError::Closed(('A', 9)))
        ));
    });
}

on_every_executor!(
    per_key_order_holds_under_random_delays,
    per_key_and_global_limits_both_hold,
    a_blocked_key_does_not_hold_up_other_keys,
    a_cold_key_starts_within_the_fairness_bound,
    idle_keys_are_reclaimed,
    cancel_ends_every_keys_running_and_queued_items,
);
