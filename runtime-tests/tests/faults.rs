//! Fault injection: seeded random cases of operations, bodies and panicking user code,
//! each checked against the contract (IMPLEMENTATION.md C1, C2, C3, C4, C7, C10, C11,
//! C13) on smol and on tokio (multi-thread).
//!
//! A case builds one coordinator (work, keyed, result or priority, with random options,
//! callbacks and gating signals), runs a random list of operations against it with
//! bodies that succeed, fail, panic, sleep, spin on yields or never end, while user code
//! (`on_finalized`, `on_signal`, async handlers, visit closures, and `Clone`/`Hash`/`Eq`/
//! `Drop` of items, keys, values and errors) panics by a per-case plan; then it ends the
//! coordinator (complete and drain, cancel and drain, or drop it mid-way) and checks:
//!
//! * `drain` returns within `DRAIN_BOUND` (5 s); `enqueue` finds room again within
//!   `ROOM_BOUND` (5 s) once every body is finite, and (work and result coordinators)
//!   a paused coordinator with a full window, every pin taken and every worker busy
//!   still takes a full queue, so no operation slot was lost to a fault (C2, C11);
//! * `totals().enqueued == completed + failed + cancelled`, and every accepted id is
//!   terminal or gone from the window (C2); `on_finalized` reported each once;
//! * no more bodies ran at once than the highest limit ever set, per key too, and one
//!   key's items started in enqueue order (C1, C3);
//! * snapshots list each operation once, within the window bound, and `get` answers
//!   only for the id asked (C4, C13); bad input is an error, not a panic (C10);
//! * after the coordinator is dropped every user object and closure it held is dropped
//!   while the runtime still runs, and once the runtime is dropped too, the live heap is
//!   back to what it was before the case (C7).
//!
//! The heap check needs the process to itself, so this file runs without libtest's
//! harness (`harness = false`): `main` runs the cases one after another on this thread
//! and no other test shares the counting allocator. Each case gets a fresh runtime
//! (a tokio runtime, or a smol executor with threads of its own), dropped before the
//! final measurement, so executor caches that outlive one case cannot pass for leaks;
//! whether the coordinator let go of its tasks is checked before that drop, through the
//! user objects and closures it must have dropped by then. Before its cases, each
//! executor runs a warm-up (globals built on first use: the async-io reactor, this
//! thread's thread-locals, stdout's buffer) and a self-test: a heap block leaked by a
//! task, and an item a task holds, must each be reported, or the run stops, since a
//! blind check would pass every case.
//!
//! Run it with `cargo test -p runtime-tests --test faults`. A failure prints its seed, a
//! command that reruns it, the faults that fired, and the case's operations with what
//! each came to.
//!
//! Environment: `FAULT_CASES` (cases per executor), `FAULT_SEED` (run that one case;
//! with `FAULT_CASES`, that many times), `FAULT_BASE_SEED` (where the derived seeds
//! start), `FAULT_EXECUTOR` (`smol` or `tokio`), `FAULT_PANICS` (`0`: none, `bodies`:
//! panicking bodies only, default: every fault point), `FAULT_MAX_FAILURES` (stop an
//! executor's run after that many failing cases, default 3), `FAULT_VERBOSE=1` (a line
//! per case with its time), `FAULT_SHRINK=1` (look for a smaller failing case: fewer
//! operations and callbacks; slow, best with `FAULT_SEED`).

use core::fmt::Write as _;
use core::time::Duration;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use ephemeral::runtime::Spawner;
use futures_lite::FutureExt as _;
use runtime_tests::faults::{
    BodyKind, Case, Ending, FaultItem, Fired, Hooks, Invariant, ItemSpec, Kind, Lifetime, Live,
    Log, Op, PanicMode, Shared, arm, check_reports, disarm, drive, fired, install_panic_hook,
    library_panics_report, library_panics_reset, message, start_watchdog, watch,
};
use runtime_tests::heap::{CountingAllocator, Heap};
use runtime_tests::{Executor, SmolPool, SplitMix, TokioExec};

#[global_allocator]
static HEAP: CountingAllocator = CountingAllocator;

/// Cases per executor when `FAULT_CASES` is not set: sized so the whole file runs in
/// well under a minute in a debug build on two busy cores when every case passes.
const DEFAULT_CASES: usize = 250;
/// Where derived seeds start unless `FAULT_BASE_SEED` says otherwise.
const DEFAULT_BASE_SEED: u64 = 0x00ef_fec7_5eed;
/// How long a dropped coordinator may take to let go of every user object and closure.
const RELEASE_BOUND: Duration = Duration::from_secs(3);
/// How long the heap may take to come back to its baseline once the runtime is gone.
const HEAP_BOUND: Duration = Duration::from_secs(3);
/// A case running longer than this is hung in a synchronous call (a drop or a lock):
/// the watchdog prints it and ends the process.
const WATCHDOG: Duration = Duration::from_secs(120);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    const NAME: &str = "random_fault_cases_keep_the_contract";
    if args.iter().any(|a| a == "--list") {
        println!("{NAME}: test");
        return;
    }
    // Behave like a libtest binary given a filter that names some other test.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|f| NAME.contains(f.as_str())) {
        return;
    }
    let config = Config::from_env();
    install_panic_hook();
    start_watchdog(WATCHDOG);
    println!(
        "fault suite: {} case(s) per executor on {:?}, panics {:?}, {}",
        config.cases,
        config.executors,
        config.panics,
        match config.seed {
            Some(seed) => format!("seed {seed:#x}"),
            None => format!("base seed {:#x}", config.base),
        }
    );
    let started = Instant::now();
    let mut summary = Summary::default();
    for executor in &config.executors {
        match *executor {
            "smol" => run_all(&config, &mut summary, SmolPool::new),
            _ => run_all(&config, &mut summary, TokioExec::new),
        }
    }
    println!(
        "fault suite: {} case(s) in {:.1?}, {} failed",
        summary.cases,
        started.elapsed(),
        summary.failed
    );
    if summary.failed > 0 {
        println!("broken invariants (failing cases each):");
        for (invariant, n) in &summary.broken {
            println!("  {n:4}  {invariant}");
        }
        std::process::exit(1);
    }
}

/// What the environment asks for.
struct Config {
    cases: usize,
    seed: Option<u64>,
    base: u64,
    panics: PanicMode,
    executors: Vec<&'static str>,
    max_failures: usize,
    verbose: bool,
    shrink: bool,
}

impl Config {
    fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let number = |name: &str| {
            var(name).map(|v| {
                let parsed = match v.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => v.parse(),
                };
                parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number"))
            })
        };
        let seed = number("FAULT_SEED");
        Self {
            cases: number("FAULT_CASES")
                .map_or(if seed.is_some() { 1 } else { DEFAULT_CASES }, |n| {
                    n as usize
                }),
            seed,
            base: number("FAULT_BASE_SEED").unwrap_or(DEFAULT_BASE_SEED),
            panics: match var("FAULT_PANICS").as_deref() {
                Some("0" | "off" | "none") => PanicMode::Off,
                Some("bodies") => PanicMode::BodiesOnly,
                _ => PanicMode::All,
            },
            executors: match var("FAULT_EXECUTOR").as_deref() {
                Some("smol") => vec!["smol"],
                Some("tokio") => vec!["tokio"],
                _ => vec!["smol", "tokio"],
            },
            max_failures: number("FAULT_MAX_FAILURES").map_or(3, |n| n as usize),
            verbose: var("FAULT_VERBOSE").is_some_and(|v| v != "0"),
            shrink: var("FAULT_SHRINK").is_some_and(|v| v != "0"),
        }
    }

    /// The seed of case `i`.
    fn seed(&self, i: usize) -> u64 {
        self.seed
            .unwrap_or_else(|| SplitMix::new(self.base ^ (i as u64)).next_u64())
    }
}

#[derive(Default)]
struct Summary {
    cases: usize,
    failed: usize,
    broken: Vec<(Invariant, usize)>,
}

/// The executors a case can run on: a fresh one per case, dropped before the final
/// heap measurement.
trait CaseRuntime: Executor {
    /// Panics that escaped a task to the executor, where the executor can tell.
    fn escaped_panics(&self) -> Option<usize>;
}

impl CaseRuntime for SmolPool {
    fn escaped_panics(&self) -> Option<usize> {
        Some(SmolPool::escaped_panics(self))
    }
}

impl CaseRuntime for TokioExec {
    fn escaped_panics(&self) -> Option<usize> {
        None
    }
}

fn run_all<E: CaseRuntime>(config: &Config, summary: &mut Summary, make: fn() -> E) {
    // Warm-up: lazily built globals (the async-io reactor, tokio's and std's
    // thread-locals on this thread, stdout's buffer) are built here, not inside the
    // first measured case.
    for kind in [Kind::Work, Kind::Keyed, Kind::Results, Kind::Priority] {
        // The first cases leave those globals behind, so their heap check would wait in
        // vain: they are not checked.
        let warm_up = Checks {
            heap: Duration::ZERO,
            ..REAL
        };
        let _ = run_case(&benign_case(kind), PanicMode::Off, make, warm_up);
    }
    leak_checks_see_planted_leaks(make);
    let mut failures = 0;
    for i in 0..config.cases {
        let seed = config.seed(i);
        let case = Case::generate(seed, config.panics);
        let started = Instant::now();
        let outcome = run_case(&case, config.panics, make, REAL);
        summary.cases += 1;
        if config.verbose {
            println!(
                "{} case {i} seed {seed:#018x}: {:?} ending {:?}, {} ops, {:.0?}: {}",
                E::NAME,
                case.kind,
                case.ending,
                case.ops.len(),
                started.elapsed(),
                if outcome.is_some() { "FAILED" } else { "ok" }
            );
        }
        if let Some(failure) = outcome {
            failures += 1;
            summary.failed += 1;
            println!(
                "\nFAILED: case {i} on {}, seed {seed:#018x}\n  rerun: FAULT_SEED={seed:#x} FAULT_EXECUTOR={} FAULT_PANICS={} cargo test -p runtime-tests --test faults\n{}",
                E::NAME,
                E::NAME,
                match config.panics {
                    PanicMode::Off => "0",
                    PanicMode::BodiesOnly => "bodies",
                    PanicMode::All => "1",
                },
                failure.text
            );
            for invariant in failure.broken {
                match summary.broken.iter_mut().find(|(i, _)| *i == invariant) {
                    Some((_, n)) => *n += 1,
                    None => summary.broken.push((invariant, 1)),
                }
            }
            if config.shrink {
                shrink(&case, config.panics, make);
            }
            if failures >= config.max_failures {
                println!(
                    "{}: stopping after {failures} failing case(s) (FAULT_MAX_FAILURES)",
                    E::NAME
                );
                break;
            }
        }
    }
}

/// Looks for a smaller case that still breaks the first invariant `case` broke:
/// drops operations one at a time, then callbacks, keeping each removal after which the
/// case still fails that way (twice in a row, since interleavings vary). Slow (each
/// attempt reruns a failing case), so only with `FAULT_SHRINK=1`.
fn shrink<E: CaseRuntime>(case: &Case, mode: PanicMode, make: fn() -> E) {
    let Some(target) = run_case(case, mode, make, REAL).map(|failure| failure.broken[0]) else {
        println!("shrink: the case passed when rerun; nothing to shrink");
        return;
    };
    let still_fails = |candidate: &Case| {
        (0..2).all(|_| {
            run_case(candidate, mode, make, REAL)
                .is_some_and(|failure| failure.broken.contains(&target))
        })
    };
    let mut smallest = case.clone();
    for i in (0..smallest.ops.len()).rev() {
        let mut candidate = smallest.clone();
        candidate.ops.remove(i);
        if still_fails(&candidate) {
            smallest = candidate;
        }
    }
    for hook in 0..3 {
        let mut candidate = smallest.clone();
        let flag = match hook {
            0 => &mut candidate.hooks.finalized,
            1 => &mut candidate.hooks.signal,
            _ => &mut candidate.hooks.handler,
        };
        if *flag {
            *flag = false;
            if still_fails(&candidate) {
                smallest = candidate;
            }
        }
    }
    println!("shrink: a smaller case that still breaks \"{target}\":\n{smallest}");
}

/// A case of `kind` that should pass on any correct coordinator: every callback, a few
/// quick bodies, a snapshot, then complete and drain.
fn benign_case(kind: Kind) -> Case {
    let mut case = Case::generate(0, PanicMode::Off);
    case.kind = kind;
    case.options.lifetime = Lifetime::Default;
    case.hooks = Hooks {
        finalized: true,
        signal: true,
        handler: true,
    };
    case.ending = Ending::Complete;
    let spec = |signal| ItemSpec {
        body: BodyKind::Slow(1),
        key: 0,
        lane: 0,
        signal,
    };
    case.ops = vec![
        Op::Enqueue(spec(Some(4))),
        Op::Enqueue(spec(None)),
        Op::Snapshot,
    ];
    case
}

/// A leak planted on purpose, to show the leak checks see one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plant {
    /// Nothing planted: a real case.
    Nothing,
    /// A task on the runtime leaks a heap block.
    HeapBlock,
    /// A task on the runtime holds an item forever (until the runtime is dropped).
    HeldItem,
}

/// How a case is run: what is planted in it, and how long the drop checks wait.
#[derive(Clone, Copy)]
struct Checks {
    plant: Plant,
    release: Duration,
    heap: Duration,
}

const REAL: Checks = Checks {
    plant: Plant::Nothing,
    release: RELEASE_BOUND,
    heap: HEAP_BOUND,
};

/// Shows that each drop check reports what it is there to report, on this executor: a
/// heap block leaked by a task, and an item a task holds until the runtime goes. A
/// check that cannot see a planted leak would pass every case, so the run stops.
fn leak_checks_see_planted_leaks<E: CaseRuntime>(make: fn() -> E) {
    let mut case = benign_case(Kind::Work);
    case.ops.clear();
    for (plant, invariant) in [
        (Plant::HeapBlock, Invariant::NoLeak),
        (Plant::HeldItem, Invariant::DropReleases),
    ] {
        let checks = Checks {
            plant,
            release: Duration::from_millis(200),
            heap: Duration::from_millis(200),
        };
        let failure = run_case(&case, PanicMode::Off, make, checks);
        let found = failure
            .as_ref()
            .map(|f| f.broken.clone())
            .unwrap_or_default();
        if found != [invariant] {
            println!(
                "the leak checks on {} are blind or noisy: planted {plant:?}, expected only \
                 \"{invariant}\", got {found:?}\n{}",
                E::NAME,
                failure.map(|f| f.text).unwrap_or_default()
            );
            std::process::exit(1);
        }
    }
}

/// What a failing case broke, and its report.
struct Failure {
    broken: Vec<Invariant>,
    text: String,
}

/// Runs one case on a fresh executor from `make`; what it broke, if anything.
fn run_case<E: CaseRuntime>(
    case: &Case,
    mode: PanicMode,
    make: fn() -> E,
    checks: Checks,
) -> Option<Failure> {
    // Everything the case writes into is allocated before the baseline.
    let case = Arc::new(case.clone());
    let log = Log::new(case.ops.len());
    watch(Some((case.seed, E::NAME, mode)));
    library_panics_reset();
    let heap_base = Heap::now();
    let live_base = Live::now();
    arm(case.seed, &case.rates);

    let exec = make();
    match checks.plant {
        Plant::Nothing => {}
        Plant::HeapBlock => exec.rt().spawn(async {
            Box::leak(Box::new([0u8; 48]));
        }),
        Plant::HeldItem => {
            let spec = ItemSpec {
                body: BodyKind::Never,
                key: 0,
                lane: 0,
                signal: None,
            };
            let item = FaultItem::new(u32::MAX, spec, 0);
            exec.rt().spawn(async move {
                futures_lite::future::pending::<()>().await;
                drop(item);
            })
        }
    }
    let shared = Shared::new(&case, log.clone());
    let driven = drive(exec.rt(), case.clone(), shared.clone());
    let driver_log = log.clone();
    exec.block_on(async move {
        // The driver catches every call into the library; a panic here escaped all of
        // them (a user `Drop` run where the driver does not expect one, say).
        if let Err(payload) = AssertUnwindSafe(driven).catch_unwind().await {
            driver_log.fail(
                Invariant::PanicsContained,
                format_args!("a panic escaped the case's driver: {}", message(&*payload)),
            );
        }
    });

    // Stage one, runtime still running: the dropped coordinator lets go of every user
    // object and closure (its workers and handler tasks end).
    let released = wait_until(checks.release, || Live::now().since(live_base).is_zero());
    disarm();
    if !released {
        log.fail(
            Invariant::DropReleases,
            format_args!(
                "{:?} after the coordinator was dropped, with its runtime still running, \
                 still alive: {}",
                checks.release,
                Live::now().since(live_base)
            ),
        );
    } else if case.hooks.finalized {
        check_reports(&shared, &log);
    }
    if let Some(escaped) = exec.escaped_panics().filter(|n| *n > 0) {
        log.fail(
            Invariant::PanicsContained,
            format_args!("{escaped} panic(s) escaped a coordinator task to the executor"),
        );
    }
    library_panics_report(&log);
    drop(shared);

    // Stage two: with the runtime gone, the heap is back to its baseline.
    if catch_unwind(AssertUnwindSafe(|| drop(exec))).is_err() {
        log.fail(
            Invariant::DropDoesNotPanic,
            format_args!("dropping the runtime (and the tasks left on it) panicked"),
        );
    }
    let back = wait_until(checks.heap, || {
        // A dropped async-io timer leaves its waker in the reactor until the reactor next
        // runs; a timer of our own makes it run.
        smol::block_on(smol::Timer::after(Duration::from_millis(1)));
        Heap::now() == heap_base
    });
    if !back {
        let (bytes, blocks) = Heap::now().since(heap_base);
        log.fail(
            Invariant::NoLeak,
            format_args!(
                "{bytes} bytes in {blocks} blocks still allocated {:?} after the coordinator \
                 and its runtime were dropped",
                checks.heap
            ),
        );
    }
    watch(None);
    log.failed().then(|| Failure {
        broken: log.broken(),
        text: render(&case, &log, fired()),
    })
}

/// The failure report of a case: failures, faults fired, the case and each step.
fn render(case: &Case, log: &Log, fired: Fired) -> String {
    let mut text = log.text();
    let _ = writeln!(text, "  faults fired in the case: {fired}");
    let steps = log.steps();
    let mut listing = String::new();
    let _ = write!(listing, "{case}");
    for line in listing.lines() {
        let mut line = line.to_owned();
        if let Some(i) = line
            .strip_prefix("  op ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|i| i.trim().parse::<usize>().ok())
        {
            let step = steps
                .get(i)
                .map_or("not reached".to_owned(), |s| format!("{s:?}"));
            let _ = write!(line, "  -> {step}");
        }
        let _ = writeln!(text, "  {line}");
    }
    text
}

/// Polls `done` until it holds or `bound` passes.
fn wait_until(bound: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + bound;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
