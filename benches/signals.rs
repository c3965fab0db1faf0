//! Signal primitives, per call. So far: glob matching (`error.*` against
//! `error.timeout.db`, the case the original publishes 5.6 ns for), beside a plain
//! `str::starts_with` as the floor a prefix pattern could reach.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ephemeral::signal::{Pattern, PatternSet};

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

criterion_group!(benches, glob);
criterion_main!(benches);
