//! Per-key gating of the KeyedWorkCoordinator (IMPLEMENTATION.md, "Per-key gates"): a
//! key's own signal defers or cancels that key's items only, a held key holds no
//! worker (C3: no head-of-line blocking), and its items run once the signal goes, by a
//! retract, by expiring, or at the deferral bound. Run on smol, tokio (multi-thread),
//! async-std and a single thread.

use core::fmt::Write;
use core::time::Duration;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use ephemeral::signal::SignalSink;
use ephemeral::{
    CancelCause, Gate, KeyedWorkCoordinator, OpContext, Options, Outcome, State, runtime::Timer,
};
use runtime_tests::{Executor, LIMIT, assert_totals_add_up, on_every_executor, until, within};

const HOSTS: usize = 4;
const PER_HOST: usize = 10;
/// The host whose breaker opens.
const BAD: usize = 2;

/// A fetch of page `page` from host `host`.
#[derive(Clone, Copy, Debug)]
struct Fetch {
    host: usize,
    page: usize,
}

fn fetches() -> impl Iterator<Item = Fetch> {
    (0..PER_HOST).flat_map(|page| (0..HOSTS).map(move |host| Fetch { host, page }))
}

fn options(sink: &SignalSink) -> Options {
    // One worker: if a deferred item held it, no other host could run at all.
    Options::default()
        .max_concurrency(1)
        .queue_capacity(64)
        .max_defer(Duration::from_secs(600))
        .signals(sink.clone())
}

/// Logs each body's (host, page) and yields.
fn logging_body(
    log: &Arc<Mutex<Vec<(usize, usize)>>>,
) -> impl Fn(Fetch, OpContext) -> core::future::Ready<()> + Send + Sync + 'static {
    let log = log.clone();
    move |fetch: Fetch, _: OpContext| {
        log.lock().unwrap().push((fetch.host, fetch.page));
        core::future::ready(())
    }
}

fn breaker(host: &usize, name: &mut ephemeral::KeyName) -> core::fmt::Result {
    write!(name, "host-{host}")
}

/// A host's breaker signal defers that host's items only: with one worker and all ten
/// of its items queued, the other three hosts' thirty items all complete; the held
/// items wait in their key (counted as deferred). After the retract they run, in order.
fn a_hosts_breaker_defers_only_its_items_while_the_other_hosts_complete<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let sink = SignalSink::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let coordinator = KeyedWorkCoordinator::builder(rt, |f: &Fetch| f.host, options(&sink))
            .defer_on_key("circuit.open.{key}", breaker)
            .build(logging_body(&log))
            .unwrap();
        sink.raise(format!("circuit.open.host-{BAD}")).unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(fetches()).await.unwrap();
            until(|| coordinator.totals().completed == ((HOSTS - 1) * PER_HOST) as u64).await;
        })
        .await;
        assert!(log.lock().unwrap().iter().all(|(host, _)| *host != BAD));
        assert_eq!(coordinator.pending_count_for_key(&BAD), PER_HOST);
        assert_eq!(coordinator.deferred_count(), PER_HOST, "{}", E::NAME);
        assert_eq!(coordinator.totals().cancelled, 0);

        sink.retract(format!("circuit.open.host-{BAD}"));
        coordinator.complete();
        within(LIMIT, coordinator.drain()).await;
        let totals = coordinator.totals();
        assert_eq!(totals.completed, (HOSTS * PER_HOST) as u64, "{}", E::NAME);
        assert_eq!((totals.cancelled, totals.failed), (0, 0));
        assert_eq!(
            totals.deferred, PER_HOST as u64,
            "the released items are counted"
        );
        assert_totals_add_up(&totals, E::NAME);
        let bad: Vec<usize> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|(host, _)| *host == BAD)
            .map(|(_, page)| *page)
            .collect();
        assert_eq!(bad, (0..PER_HOST).collect::<Vec<_>>(), "in enqueue order");
    });
}

/// With `cancel_on_key` the same breaker cancels its host's items, each carrying the
/// signal, and no other host's item.
fn a_hosts_cancel_signal_cancels_only_its_items<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let sink = SignalSink::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let coordinator = KeyedWorkCoordinator::builder(rt, |f: &Fetch| f.host, options(&sink))
            .cancel_on_key("circuit.open.{key}", breaker)
            .build(logging_body(&log))
            .unwrap();
        let open = sink.raise(format!("circuit.open.host-{BAD}")).unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(fetches()).await.unwrap();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        let totals = coordinator.totals();
        assert_eq!(
            totals.completed,
            ((HOSTS - 1) * PER_HOST) as u64,
            "{}",
            E::NAME
        );
        assert_eq!(totals.cancelled, PER_HOST as u64);
        for snapshot in coordinator.snapshot_for_key(&BAD) {
            assert_eq!(snapshot.state, State::Cancelled);
            assert_eq!(
                snapshot.outcome,
                Some(Outcome::Cancelled(CancelCause::Signal(open)))
            );
        }
        for host in (0..HOSTS).filter(|h| *h != BAD) {
            let snapshots = coordinator.snapshot_for_key(&host);
            assert!(snapshots.iter().all(|s| s.state == State::Completed));
        }
    });
}

/// A held key's items start once `max_defer` has passed since its first deferral, with
/// the signal still present: deferral is bounded, nothing waits forever.
fn a_held_key_runs_at_its_deferral_bound<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let sink = SignalSink::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let coordinator = KeyedWorkCoordinator::builder(
            rt.clone(),
            |f: &Fetch| f.host,
            options(&sink).max_defer(Duration::from_millis(30)),
        )
        .defer_on_key("circuit.open.{key}", breaker)
        .build(logging_body(&log))
        .unwrap();
        sink.raise(format!("circuit.open.host-{BAD}")).unwrap();
        let start = rt.now();
        within(LIMIT, async {
            coordinator.enqueue_many(fetches()).await.unwrap();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert!(rt.now() - start >= Duration::from_millis(30));
        let totals = coordinator.totals();
        assert_eq!(totals.completed, (HOSTS * PER_HOST) as u64, "{}", E::NAME);
        assert!(totals.deferred >= 1);
        assert!(sink.is_raised(format!("circuit.open.host-{BAD}").as_str()));
    });
}

/// A held key is released when its signal expires by the sink's `max_age`, which no
/// retract announces: a worker times it.
fn a_held_key_runs_when_its_signal_expires<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let sink = SignalSink::builder()
            .max_age(Duration::from_millis(30))
            .build();
        let log = Arc::new(Mutex::new(Vec::new()));
        let coordinator = KeyedWorkCoordinator::builder(rt, |f: &Fetch| f.host, options(&sink))
            .defer_on_key("circuit.open.{key}", breaker)
            .build(logging_body(&log))
            .unwrap();
        sink.raise(format!("circuit.open.host-{BAD}")).unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(fetches()).await.unwrap();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        assert_eq!(
            coordinator.totals().completed,
            (HOSTS * PER_HOST) as u64,
            "{}",
            E::NAME
        );
    });
}

/// `cancel` ends a held key's items too, and dropping a coordinator with a held key
/// neither hangs nor leaves the key behind.
fn cancel_ends_a_held_keys_items<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let sink = SignalSink::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let coordinator = KeyedWorkCoordinator::builder(rt, |f: &Fetch| f.host, options(&sink))
            .defer_on_key("circuit.open.{key}", breaker)
            .build(logging_body(&log))
            .unwrap();
        sink.raise(format!("circuit.open.host-{BAD}")).unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(fetches()).await.unwrap();
            until(|| coordinator.totals().completed == ((HOSTS - 1) * PER_HOST) as u64).await;
            coordinator.cancel();
            coordinator.drain().await;
        })
        .await;
        let totals = coordinator.totals();
        assert_eq!(totals.cancelled, PER_HOST as u64, "{}", E::NAME);
        assert_eq!(coordinator.active_keys(), 0);
        assert_eq!(coordinator.deferred_count(), 0);
        assert_totals_add_up(&totals, E::NAME);
    });
}

/// A gate predicate is given each item's key; one that panics is contained and
/// counted, and the item runs.
fn a_gate_predicate_sees_the_key_and_its_panic_is_contained<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let sink = SignalSink::new();
        let stop = sink.signal("stop").unwrap();
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = asked.clone();
        let coordinator = KeyedWorkCoordinator::builder(rt, |n: &usize| *n % 3, options(&sink))
            .gate(move |key, _| {
                counter.fetch_add(1, SeqCst);
                match key {
                    0 => panic!("a gate bug"),
                    1 => Gate::Cancel(stop),
                    _ => Gate::Run,
                }
            })
            .build(|_: usize, _: OpContext| async {})
            .unwrap();
        within(LIMIT, async {
            coordinator.enqueue_many(0..9).await.unwrap();
            coordinator.complete();
            coordinator.drain().await;
        })
        .await;
        let totals = coordinator.totals();
        assert_eq!((totals.completed, totals.cancelled), (6, 3), "{}", E::NAME);
        assert_eq!(totals.contained_panics, 3);
        assert_eq!(asked.load(SeqCst), 9);
    });
}

on_every_executor!(
    a_hosts_breaker_defers_only_its_items_while_the_other_hosts_complete,
    a_hosts_cancel_signal_cancels_only_its_items,
    a_held_key_runs_at_its_deferral_bound,
    a_held_key_runs_when_its_signal_expires,
    cancel_ends_a_held_keys_items,
    a_gate_predicate_sees_the_key_and_its_panic_is_contained,
);
