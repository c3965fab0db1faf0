//! A case: a coordinator, its options and callbacks, the faults armed, a list of
//! operations and how the case ends, all generated from one seed.

use core::fmt;

use super::plan::Fault;
use crate::rng::SplitMix;

/// How many distinct keys items use (keyed coordinator).
pub const KEYS: usize = 4;

/// The signal names operations raise and retract: two defer, one cancel, one resume,
/// two that gate nothing, and one that drains (only when `drain_on` is set).
pub const SIGNALS: [&str; 7] = [
    "defer.a",
    "defer.b",
    "cancel.a",
    "resume",
    "note.x",
    "note.y",
    "drain.now",
];

/// Which coordinator a case builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `WorkCoordinator`.
    Work,
    /// `KeyedWorkCoordinator`.
    Keyed,
    /// `ResultCoordinator`.
    Results,
    /// `PriorityWorkCoordinator`.
    Priority,
}

/// Which panics a run injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanicMode {
    /// None at all: only the non-panicking paths.
    Off,
    /// Panicking bodies only (the library has caught these from the start).
    BodiesOnly,
    /// Bodies and every other fault point.
    All,
}

/// What an item's body does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// Returns `Ok`.
    Ok,
    /// Returns `Err`.
    Err,
    /// Panics.
    Panic,
    /// Sleeps this many milliseconds, then returns `Ok`.
    Slow(u8),
    /// Yields this many times, then returns `Ok`.
    YieldLoop(u16),
    /// Never finishes (only in cases that end by `cancel` or drop).
    Never,
}

/// One item: its body, key, lane (a lane past the last is unknown on purpose) and an
/// optional signal its body raises first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemSpec {
    /// What the body does.
    pub body: BodyKind,
    /// Key, below [`KEYS`].
    pub key: u8,
    /// Lane index (priority coordinator).
    pub lane: u8,
    /// Index into [`SIGNALS`] the body raises before anything else.
    pub signal: Option<u8>,
}

/// One step of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `enqueue`, given up after a short wait (dropping the future and the item).
    Enqueue(ItemSpec),
    /// `try_enqueue`.
    TryEnqueue(ItemSpec),
    /// `cancel()`.
    Cancel,
    /// `complete()`.
    Complete,
    /// `pause()`.
    Pause,
    /// `resume()`.
    Resume,
    /// `pin` of an accepted id (index modulo how many there are).
    Pin(u8),
    /// `unpin` of an accepted id.
    Unpin(u8),
    /// `evict` of an accepted id.
    Evict(u8),
    /// Raise `SIGNALS[i]` on the sink.
    Raise(u8),
    /// Retract `SIGNALS[i]`.
    Retract(u8),
    /// `snapshot()`, checked for duplicates and window bounds.
    Snapshot,
    /// `visit` with a closure that may panic.
    Visit,
    /// `get` of an accepted id, checked to answer for that id.
    Get(u8),
    /// The counts: pending, active, deferred, totals.
    Counts,
    /// A query only this kind of coordinator has (results, keys, lanes, state lists).
    KindQuery(u8),
    /// `set_max_concurrency(n)`, checked to refuse exactly 0 and above the ceiling.
    SetMaxConcurrency(u8),
    /// Sleep this many milliseconds on the runtime's timer.
    Sleep(u8),
    /// Yield to the executor.
    Yield,
}

/// How a case ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `complete()`, then `drain`.
    Complete,
    /// `cancel()`, then `drain`.
    Cancel,
    /// Drop the coordinator with whatever is pending or running.
    Drop,
}

/// `max_operation_lifetime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    /// The default (5 minutes).
    Default,
    /// This many milliseconds (age eviction during the case).
    Millis(u64),
    /// `Duration::MAX` (valid; time arithmetic must saturate).
    Max,
}

/// A priority lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneSpec {
    /// `max_depth`, if set.
    pub depth: Option<usize>,
    /// `defer_on("defer.*")`.
    pub defer: bool,
    /// `cancel_on("cancel.*")`.
    pub cancel: bool,
    /// `promote_after`, if set.
    pub promote_after: Option<usize>,
}

/// The options a case builds its coordinator with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseOptions {
    /// `max_concurrency`.
    pub max_concurrency: usize,
    /// `concurrency_ceiling`.
    pub ceiling: Option<usize>,
    /// `queue_capacity`.
    pub queue_capacity: usize,
    /// `max_tracked`.
    pub max_tracked: usize,
    /// `pin_budget`.
    pub pin_budget: Option<usize>,
    /// `max_operation_lifetime`.
    pub lifetime: Lifetime,
    /// `defer_on` patterns ("" for none).
    pub defer_on: &'static str,
    /// `cancel_on` patterns.
    pub cancel_on: &'static str,
    /// `resume_on` patterns.
    pub resume_on: &'static str,
    /// `drain_on` patterns.
    pub drain_on: &'static str,
    /// `max_defer` in milliseconds.
    pub max_defer_ms: u64,
    /// `max_concurrency_per_key` (keyed builder).
    pub per_key: usize,
    /// `fair_scheduling_threshold` (keyed builder).
    pub fairness: usize,
    /// `max_concurrent_signal_handlers`.
    pub handlers: usize,
    /// `max_queued_signals`.
    pub queued_signals: usize,
    /// The sink's `max_age` in milliseconds, if any.
    pub sink_max_age_ms: Option<u64>,
    /// Lanes (priority coordinator).
    pub lanes: Vec<LaneSpec>,
}

impl CaseOptions {
    /// The concurrency ceiling in force.
    pub fn effective_ceiling(&self) -> usize {
        self.ceiling.unwrap_or(self.max_concurrency)
    }

    /// How many operation slots the coordinator has (queue + ceiling + window + pins).
    pub fn slots(&self) -> usize {
        self.queue_capacity
            + self.effective_ceiling()
            + self.max_tracked
            + self.pin_budget.unwrap_or(self.max_tracked / 4)
    }
}

/// Which callbacks a case installs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hooks {
    /// `on_finalized`.
    pub finalized: bool,
    /// `on_signal`.
    pub signal: bool,
    /// `on_signal_async`.
    pub handler: bool,
}

/// Everything a case does, generated from its seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// The seed it was generated from.
    pub seed: u64,
    /// The coordinator.
    pub kind: Kind,
    /// Its options.
    pub options: CaseOptions,
    /// Its callbacks.
    pub hooks: Hooks,
    /// Per fault point (indexed like [`Fault::ALL`]): 0 never, n about one call in n.
    pub rates: [u32; Fault::ALL.len()],
    /// The operations, in order.
    pub ops: Vec<Op>,
    /// How it ends.
    pub ending: Ending,
}

impl Case {
    /// The case of `seed`, injecting the panics `mode` allows.
    pub fn generate(seed: u64, mode: PanicMode) -> Self {
        let mut rng = SplitMix::new(seed);
        let kind = [Kind::Work, Kind::Keyed, Kind::Results, Kind::Priority][rng.below(4) as usize];
        let max_concurrency = rng.between(1, 4) as usize;
        let max_tracked = rng.between(1, 8) as usize;
        let options = CaseOptions {
            max_concurrency,
            ceiling: rng
                .chance(1, 2)
                .then(|| max_concurrency + rng.between(0, 3) as usize),
            queue_capacity: rng.between(1, 8) as usize,
            max_tracked,
            pin_budget: rng
                .chance(1, 2)
                .then(|| rng.between(0, max_tracked as u64) as usize),
            lifetime: match rng.weighted(&[16, 3, 1]) {
                0 => Lifetime::Default,
                1 => Lifetime::Millis(rng.between(5, 50)),
                _ => Lifetime::Max,
            },
            defer_on: ["", "defer.*", "defer.a"][rng.weighted(&[2, 2, 1])],
            cancel_on: ["", "cancel.*"][rng.weighted(&[2, 1])],
            resume_on: ["", "resume"][rng.weighted(&[3, 1])],
            drain_on: ["", "drain.*"][rng.weighted(&[5, 1])],
            // Two draws, as when the bound was an interval times a number of checks, so
            // a seed still makes the case it made then.
            max_defer_ms: rng.between(1, 3) * rng.between(2, 10),
            per_key: rng.between(1, 2) as usize,
            fairness: rng.between(1, 3) as usize,
            handlers: rng.between(1, 3) as usize,
            queued_signals: rng.between(1, 8) as usize,
            sink_max_age_ms: rng.chance(1, 5).then(|| rng.between(10, 60)),
            lanes: (0..rng.between(1, 3))
                .map(|_| LaneSpec {
                    depth: rng.chance(1, 2).then(|| rng.between(1, 4) as usize),
                    defer: rng.chance(1, 4),
                    cancel: rng.chance(1, 5),
                    promote_after: rng.chance(1, 4).then(|| rng.between(1, 4) as usize),
                })
                .collect(),
        };
        let hooks = Hooks {
            finalized: rng.chance(1, 2),
            signal: rng.chance(1, 2),
            handler: rng.chance(1, 2),
        };
        let mut rates = [0; Fault::ALL.len()];
        if mode == PanicMode::All {
            for (fault, rate) in Fault::ALL.iter().zip(rates.iter_mut()) {
                if *fault != Fault::Body && rng.chance(1, 3) {
                    *rate = [2, 4, 16][rng.below(3) as usize];
                }
            }
        }
        let ending = [Ending::Complete, Ending::Cancel, Ending::Drop][rng.weighted(&[11, 4, 5])];
        let never = if ending == Ending::Complete { 0 } else { 4 };
        let panics = if mode == PanicMode::Off { 0 } else { 8 };
        let lanes = options.lanes.len() as u64;
        let item = |rng: &mut SplitMix| ItemSpec {
            body: match rng.weighted(&[30, 10, panics, 15, 10, never]) {
                0 => BodyKind::Ok,
                1 => BodyKind::Err,
                2 => BodyKind::Panic,
                3 => BodyKind::Slow(rng.between(1, 5) as u8),
                4 => BodyKind::YieldLoop(rng.between(1, 200) as u16),
                _ => BodyKind::Never,
            },
            key: rng.below(KEYS as u64) as u8,
            // One in eight names the lane past the last, which must be refused.
            lane: if rng.chance(1, 8) {
                lanes as u8
            } else {
                rng.below(lanes) as u8
            },
            signal: rng
                .chance(3, 10)
                .then(|| rng.below(SIGNALS.len() as u64) as u8),
        };
        let ceiling = options.effective_ceiling() as u64;
        let signals = SIGNALS.len() as u64;
        let ops = (0..rng.between(4, 30))
            .map(|_| {
                let weights = [22, 14, 1, 1, 3, 4, 4, 3, 3, 5, 5, 4, 5, 4, 3, 5, 3, 6, 3];
                match rng.weighted(&weights) {
                    0 => Op::Enqueue(item(&mut rng)),
                    1 => Op::TryEnqueue(item(&mut rng)),
                    2 => Op::Cancel,
                    3 => Op::Complete,
                    4 => Op::Pause,
                    5 => Op::Resume,
                    6 => Op::Pin(rng.below(256) as u8),
                    7 => Op::Unpin(rng.below(256) as u8),
                    8 => Op::Evict(rng.below(256) as u8),
                    9 => Op::Raise(rng.below(signals) as u8),
                    10 => Op::Retract(rng.below(signals) as u8),
                    11 => Op::Snapshot,
                    12 => Op::Visit,
                    13 => Op::Get(rng.below(256) as u8),
                    14 => Op::Counts,
                    15 => Op::KindQuery(rng.below(256) as u8),
                    16 => Op::SetMaxConcurrency(rng.between(0, ceiling + 1) as u8),
                    17 => Op::Sleep(rng.between(0, 4) as u8),
                    _ => Op::Yield,
                }
            })
            .collect();
        Self {
            seed,
            kind,
            options,
            hooks,
            rates,
            ops,
            ending,
        }
    }

    /// Whether some body never finishes (the case then ends by `cancel` or drop).
    pub fn has_never_ending_bodies(&self) -> bool {
        self.ops.iter().any(|op| {
            matches!(
                op,
                Op::Enqueue(ItemSpec {
                    body: BodyKind::Never,
                    ..
                }) | Op::TryEnqueue(ItemSpec {
                    body: BodyKind::Never,
                    ..
                })
            )
        })
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "case seed {:#018x}: {:?} coordinator",
            self.seed, self.kind
        )?;
        writeln!(f, "  options: {:?}", self.options)?;
        writeln!(f, "  callbacks: {:?}", self.hooks)?;
        f.write_str("  faults armed (one call in n panics):")?;
        let mut any = false;
        for (fault, rate) in Fault::ALL.iter().zip(self.rates) {
            if rate > 0 {
                write!(f, " {} 1/{rate};", fault.name())?;
                any = true;
            }
        }
        if !any {
            f.write_str(" none besides panicking bodies")?;
        }
        writeln!(f)?;
        writeln!(f, "  ending: {:?}", self.ending)?;
        for (i, op) in self.ops.iter().enumerate() {
            writeln!(f, "  op {i:2}: {op:?}")?;
        }
        Ok(())
    }
}
