//! Signal primitives, per call, each beside a peer measured in the same run:
//!
//! * `raise` of an interned signal (presence bit, last-raise time, history event),
//!   with no subscriber and with one, on the default clock and on a `ManualClock`
//!   (which separates the OS clock read from the sink's own work); peer: a
//!   `Mutex<HashSet<String>>` insert, what a plain shared set of names costs, and one
//!   uncontended `fetch_add`, the floor any shared counter pays on this machine.
//! * `is_raised` by handle; peer: the same question of an `RwLock<HashSet<String>>`.
//! * the gate check a coordinator makes per item: a 3-pattern mask against the
//!   presence bits (nothing raised, the common case), beside matching the 3 globs
//!   against the 10 interned names directly.
//! * glob matching (`error.*` against `error.timeout.db`, the case the original
//!   publishes 5.6 ns for), beside a plain `str::starts_with`, the floor a prefix
//!   pattern could reach.
//!
//! That none of these allocates is asserted by `tests/alloc_signals.rs`, not here.

use std::collections::HashSet;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use criterion::{Criterion, criterion_group, criterion_main};
use ephemeral::runtime::ManualClock;
use ephemeral::signal::{Pattern, PatternSet, SignalSink};

fn names(sink: &SignalSink) {
    for i in 0..9 {
        sink.raise(format!("noise.{i}").as_str()).unwrap();
        sink.retract(format!("noise.{i}").as_str());
    }
}

fn raise(c: &mut Criterion) {
    let mut group = c.benchmark_group("signals");
    let sink = SignalSink::new();
    names(&sink);
    let s = sink.signal("backpressure.downstream").unwrap();
    group.bench_function("raise, no subscriber", |b| {
        b.iter(|| sink.raise(black_box(s)))
    });
    let manual = SignalSink::builder().clock(ManualClock::new()).build();
    let m = manual.signal("backpressure.downstream").unwrap();
    group.bench_function("raise, no subscriber, manual clock", |b| {
        b.iter(|| manual.raise(black_box(m)))
    });
    let _subscription = sink
        .subscribe(|event| {
            black_box(event);
        })
        .unwrap();
    group.bench_function("raise, one subscriber", |b| {
        b.iter(|| sink.raise(black_box(s)))
    });
    let counter = AtomicU64::new(0);
    group.bench_function("floor: one AtomicU64::fetch_add", |b| {
        b.iter(|| black_box(&counter).fetch_add(1, Ordering::AcqRel))
    });
    let set = Mutex::new(HashSet::<String>::new());
    group.bench_function("peer: Mutex<HashSet<String>> insert", |b| {
        b.iter(|| {
            let mut set = set.lock().unwrap();
            if !set.contains(black_box("backpressure.downstream")) {
                set.insert("backpressure.downstream".to_owned());
            }
        })
    });
    group.finish();
}

fn query(c: &mut Criterion) {
    let mut group = c.benchmark_group("signals");
    let sink = SignalSink::new();
    names(&sink);
    let s = sink.raise("backpressure.downstream").unwrap();
    group.bench_function("is_raised by handle", |b| {
        b.iter(|| sink.is_raised(black_box(s)))
    });
    let set = RwLock::new(HashSet::from(["backpressure.downstream".to_owned()]));
    group.bench_function("peer: RwLock<HashSet<String>> contains", |b| {
        b.iter(|| {
            set.read()
                .unwrap()
                .contains(black_box("backpressure.downstream"))
        })
    });
    sink.retract(s);

    let gate = sink.mask("circuit-open, shutting-down, backpressure.*");
    assert_eq!(gate.first_raised(&sink), None);
    group.bench_function("gate check, 3-pattern mask", |b| {
        b.iter(|| black_box(&gate).first_raised(black_box(&sink)))
    });
    let patterns = PatternSet::parse("circuit-open, shutting-down, backpressure.*");
    let interned: Vec<String> = (0..9)
        .map(|i| format!("noise.{i}"))
        .chain(["backpressure.downstream".to_owned()])
        .collect();
    group.bench_function("peer: 3 globs against 10 names", |b| {
        b.iter(|| {
            interned
                .iter()
                .any(|n| black_box(&patterns).matches(n) && sink.is_raised(n))
        })
    });
    group.finish();
}

fn glob(c: &mut Criterion) {
    let mut group = c.benchmark_group("signals");
    let pattern = Pattern::new("error.*");
    let set = PatternSet::parse("circuit-open, backpressure.*, error.*");
    group.bench_function("glob error.* vs error.timeout.db", |b| {
        b.iter(|| black_box(&pattern).matches(black_box("error.timeout.db")))
    });
    group.bench_function("glob set of 3 vs error.timeout.db", |b| {
        b.iter(|| black_box(&set).matches(black_box("error.timeout.db")))
    });
    group.bench_function("peer: starts_with(\"error.\")", |b| {
        b.iter(|| black_box("error.timeout.db").starts_with(black_box("error.")))
    });
    group.finish();
}

criterion_group!(benches, raise, query, glob);
criterion_main!(benches);
