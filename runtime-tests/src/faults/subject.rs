//! The coordinator under test, whichever kind a case builds, behind one enum; the body
//! and callbacks every case installs; and the counters they share with the suite.

use core::time::Duration;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, PoisonError};

use ephemeral::runtime::{Spawner, Timer};
use ephemeral::signal::{SignalEvent, SignalSink};
use ephemeral::{
    ConcurrencyError, CoordinatorBuilder, CoordinatorKind, EnqueueError, KeyedWorkCoordinator,
    Lane, LaneError, OpContext, OperationId, Options, OptionsError, Outcome,
    PriorityWorkCoordinator, ResultCoordinator, Snapshot, State, Totals, WindowError,
    WorkCoordinator,
};

use super::case::{BodyKind, Case, ItemSpec, KEYS, Kind, Lifetime, SIGNALS};
use super::invariant::Invariant;
use super::log::Log;
use super::plan::{Fault, Tracked, maybe_panic, record};
use super::values::{FaultError, FaultItem, FaultKey, FaultValue, Probe};

/// A `WorkCoordinator` of fault items.
pub type Work<R> = WorkCoordinator<FaultItem, R, FaultError>;
/// A `KeyedWorkCoordinator` of fault items and keys.
pub type Keyed<R> = KeyedWorkCoordinator<FaultItem, FaultKey, R, FaultError>;
/// A `ResultCoordinator` of fault items and values.
pub type Results<R> = ResultCoordinator<FaultItem, FaultValue, R, FaultError>;
/// A `PriorityWorkCoordinator` of fault items.
pub type Priority<R> = PriorityWorkCoordinator<FaultItem, R, FaultError>;

/// An id an enqueue returned, with what its item was.
#[derive(Clone, Copy, Debug)]
pub struct Accepted {
    /// The id.
    pub id: OperationId,
    /// The item's number.
    pub n: u32,
    /// The item.
    pub spec: ItemSpec,
}

/// What the bodies and callbacks of a case count, shared with the suite.
pub struct Shared {
    /// The case's log (bodies record C1 and C3 breaks in it; see IMPLEMENTATION.md).
    pub log: Arc<Log>,
    /// The highest concurrency limit ever in force: the initial one, raised by the
    /// suite before each `set_max_concurrency` that raises it. C1 allows no more.
    pub limit: AtomicUsize,
    running: AtomicUsize,
    /// The most bodies seen running at once.
    pub high: AtomicUsize,
    keyed: bool,
    per_key: usize,
    key_running: [AtomicUsize; KEYS],
    /// Per key, one more than the `seq` of the last item started (C3, per-key limit 1).
    key_started: Option<[AtomicU32; KEYS]>,
    finalized: Mutex<HashMap<OperationId, u32>>,
    finalized_calls: AtomicUsize,
    /// Every id an enqueue returned.
    pub accepted: Mutex<Vec<Accepted>>,
}

impl Shared {
    /// The counters for `case`, reporting into `log`.
    pub fn new(case: &Case, log: Arc<Log>) -> Arc<Self> {
        let keyed = case.kind == Kind::Keyed;
        Arc::new(Self {
            log,
            limit: AtomicUsize::new(case.options.max_concurrency),
            running: AtomicUsize::new(0),
            high: AtomicUsize::new(0),
            keyed,
            per_key: case.options.per_key,
            key_running: Default::default(),
            // With two of a key at once, two workers may start them in either order.
            key_started: (keyed && case.options.per_key == 1).then(Default::default),
            finalized: Mutex::new(HashMap::new()),
            finalized_calls: AtomicUsize::new(0),
            accepted: Mutex::new(Vec::new()),
        })
    }

    /// Counts a body in, checking C1 (and per key, C1 and C3); the guard counts it out
    /// when the body's future ends or is dropped.
    fn start(&self, item: &FaultItem) -> Running<'_> {
        let now = self.running.fetch_add(1, SeqCst) + 1;
        self.high.fetch_max(now, SeqCst);
        let limit = self.limit.load(SeqCst);
        if now > limit {
            self.log.fail(
                Invariant::Bounded,
                format_args!("{now} bodies ran at once; the highest limit ever set was {limit}"),
            );
        }
        let key = usize::from(item.spec.key) % KEYS;
        if self.keyed {
            let mine = self.key_running[key].fetch_add(1, SeqCst) + 1;
            if mine > self.per_key {
                self.log.fail(
                    Invariant::BoundedPerKey,
                    format_args!(
                        "{mine} bodies of key {key} ran at once; max_concurrency_per_key is {}",
                        self.per_key
                    ),
                );
            }
            if let Some(started) = &self.key_started {
                let before = started[key].fetch_max(item.seq + 1, SeqCst);
                if before > item.seq + 1 {
                    self.log.fail(
                        Invariant::KeyOrder,
                        format_args!(
                            "item {} (the #{} of key {key}) started after the #{} of that key",
                            item.n,
                            item.seq,
                            before - 1
                        ),
                    );
                }
            }
        }
        Running { shared: self, key }
    }

    /// Counts an `on_finalized` call.
    fn finalized(&self, id: OperationId, state: State) {
        self.finalized_calls.fetch_add(1, SeqCst);
        *self
            .finalized
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id)
            .or_default() += 1;
        if !state.is_finished() {
            self.log.fail(
                Invariant::FinalizedTerminal,
                format_args!("{id:?} was reported in state {state:?}"),
            );
        }
    }

    /// How many times `on_finalized` reported `id`.
    pub fn reports_of(&self, id: OperationId) -> u32 {
        let reports = self
            .finalized
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        reports.get(&id).copied().unwrap_or(0)
    }

    /// How many times `on_finalized` was called.
    pub fn reports(&self) -> usize {
        self.finalized_calls.load(SeqCst)
    }

    /// The ids accepted so far.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A running body, counted until dropped.
struct Running<'a> {
    shared: &'a Shared,
    key: usize,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.shared.running.fetch_sub(1, SeqCst);
        if self.shared.keyed {
            self.shared.key_running[self.key].fetch_sub(1, SeqCst);
        }
    }
}

/// Every case's body: counts itself in, raises its signal, then does what its item
/// says. The item stays alive until the body ends, so a cancelled body's item is
/// dropped by the library.
async fn run_body<R: Timer, V>(
    item: FaultItem,
    ctx: OpContext,
    shared: Arc<Shared>,
    timer: R,
    value: fn(u32) -> V,
) -> Result<V, FaultError> {
    let _running = shared.start(&item);
    if let Some(signal) = item.spec.signal {
        let _ = ctx.signal(SIGNALS[usize::from(signal)]);
    }
    let failed = match item.spec.body {
        BodyKind::Ok => false,
        BodyKind::Err => true,
        BodyKind::Panic => {
            record(Fault::Body);
            std::panic::panic_any(Fault::Body.message());
        }
        BodyKind::Slow(ms) => {
            timer.sleep(Duration::from_millis(u64::from(ms))).await;
            false
        }
        BodyKind::YieldLoop(n) => {
            for _ in 0..n {
                futures_lite::future::yield_now().await;
            }
            false
        }
        BodyKind::Never => futures_lite::future::pending().await,
    };
    // The item goes before the value or error is made: a panic in its `Drop` after the
    // return value exists would leak that value (rust-lang/rust#47949), which is the
    // compiler's doing, not the library's.
    let n = item.n;
    drop(item);
    if failed {
        Err(FaultError::new(n))
    } else {
        Ok(value(n))
    }
}

fn unit(_: u32) {}

/// Why an enqueue refused an item (the item itself was dropped on the way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `Full`.
    Full,
    /// `Closed`.
    Closed,
    /// `UnknownLane`.
    UnknownLane,
    /// A variant added after this suite was written.
    Other,
}

fn refusal<T>(refused: EnqueueError<T>) -> Refusal {
    match refused {
        EnqueueError::Full(_) => Refusal::Full,
        EnqueueError::Closed(_) => Refusal::Closed,
        _ => Refusal::Other,
    }
}

fn lane_refusal<T>(refused: LaneError<T>) -> Refusal {
    match refused {
        LaneError::Full(_) => Refusal::Full,
        LaneError::Closed(_) => Refusal::Closed,
        LaneError::UnknownLane(..) => Refusal::UnknownLane,
        _ => Refusal::Other,
    }
}

/// The coordinator a case drives.
pub enum Subject<R: Spawner + Timer> {
    /// A work coordinator.
    Work(Work<R>),
    /// A keyed coordinator.
    Keyed(Keyed<R>),
    /// A result coordinator.
    Results(Results<R>),
    /// A priority coordinator.
    Priority(Priority<R>),
}

/// Runs the same expression on whichever coordinator `subject` holds.
macro_rules! on_any {
    ($subject:expr, $c:ident => $e:expr) => {
        match $subject {
            Subject::Work($c) => $e,
            Subject::Keyed($c) => $e,
            Subject::Results($c) => $e,
            Subject::Priority($c) => $e,
        }
    };
}

impl<R: Spawner + Timer + Clone> Subject<R> {
    /// `enqueue` (into the item's lane, for the priority coordinator).
    pub async fn enqueue(&self, item: FaultItem) -> Result<OperationId, Refusal> {
        match self {
            Subject::Work(c) => c.enqueue(item).await.map_err(refusal),
            Subject::Keyed(c) => c.enqueue(item).await.map_err(refusal),
            Subject::Results(c) => c.enqueue(item).await.map_err(refusal),
            Subject::Priority(c) => {
                // A lane past the last has no id: it is refused as unknown.
                let Some(lane) = c.lane_at(usize::from(item.spec.lane)) else {
                    return Err(Refusal::UnknownLane);
                };
                c.enqueue(item, lane).await.map_err(lane_refusal)
            }
        }
    }

    /// `try_enqueue`.
    pub fn try_enqueue(&self, item: FaultItem) -> Result<OperationId, Refusal> {
        match self {
            Subject::Work(c) => c.try_enqueue(item).map_err(refusal),
            Subject::Keyed(c) => c.try_enqueue(item).map_err(refusal),
            Subject::Results(c) => c.try_enqueue(item).map_err(refusal),
            Subject::Priority(c) => {
                let Some(lane) = c.lane_at(usize::from(item.spec.lane)) else {
                    return Err(Refusal::UnknownLane);
                };
                c.try_enqueue(item, lane).map_err(lane_refusal)
            }
        }
    }

    /// `complete()`.
    pub fn complete(&self) {
        on_any!(self, c => c.complete())
    }

    /// `cancel()`.
    pub fn cancel(&self) {
        on_any!(self, c => c.cancel())
    }

    /// `pause()`.
    pub fn pause(&self) {
        on_any!(self, c => c.pause())
    }

    /// `resume()`.
    pub fn resume(&self) {
        on_any!(self, c => c.resume())
    }

    /// `is_completed()`.
    pub fn is_completed(&self) -> bool {
        on_any!(self, c => c.is_completed())
    }

    /// `drain()`.
    pub async fn drain(&self) {
        on_any!(self, c => c.drain().await)
    }

    /// `pin(id)`.
    pub fn pin(&self, id: OperationId) -> Result<(), WindowError> {
        on_any!(self, c => c.pin(id))
    }

    /// `unpin(id)`.
    pub fn unpin(&self, id: OperationId) -> Result<(), WindowError> {
        on_any!(self, c => c.unpin(id))
    }

    /// `evict(id)`.
    pub fn evict(&self, id: OperationId) -> Result<(), WindowError> {
        on_any!(self, c => c.evict(id))
    }

    /// `set_max_concurrency(n)`.
    pub fn set_max_concurrency(&self, n: usize) -> Result<(), ConcurrencyError> {
        on_any!(self, c => c.set_max_concurrency(n))
    }

    /// `(pending_count, active_count, deferred_count, max_concurrency)`.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        on_any!(self, c => (c.pending_count(), c.active_count(), c.deferred_count(), c.max_concurrency()))
    }

    /// `totals()`.
    pub fn totals(&self) -> Totals {
        on_any!(self, c => c.totals())
    }

    /// `snapshot()`, reduced to id, state and pinned flag (the clones it made of errors
    /// are dropped here).
    pub fn snapshot(&self) -> Vec<(OperationId, State, bool)> {
        // Each list is dropped before returning: if a clone's `Drop` panics after the
        // return value exists, the compiler leaks that value (rust-lang/rust#47949); as a
        // local it is dropped while unwinding. (A result coordinator's window holds no
        // errors, so its list clones none.)
        on_any!(self, c => {
            let list = c.snapshot();
            let reduced = list.iter().map(|s| (s.id, s.state, s.pinned)).collect();
            drop(list);
            reduced
        })
    }

    /// `visit`, passing each operation's id and state to `f`.
    pub fn visit(&self, mut f: impl FnMut(OperationId, State)) {
        on_any!(self, c => c.visit(|s| f(s.id, s.state)))
    }

    /// `get(id)`, reduced to the id it answered for and its state.
    pub fn get(&self, id: OperationId) -> Option<(OperationId, State)> {
        on_any!(self, c => c.get(id).map(|s| (s.id, s.state)))
    }

    /// The lists by state (`running`, `completed`, `failed`), each with the state its
    /// entries must have.
    pub fn by_state(&self, which: u8) -> (State, Vec<State>) {
        let want = [State::Running, State::Completed, State::Faulted][usize::from(which % 3)];
        let states = on_any!(self, c => {
            let list = match which % 3 {
                0 => c.running(),
                1 => c.completed(),
                _ => c.failed(),
            };
            let states = list.iter().map(|s| s.state).collect();
            // Dropped before returning, as in `snapshot`.
            drop(list);
            states
        });
        (want, states)
    }
}

/// The options a case asks for, gating on `sink`.
pub fn options(case: &Case, sink: &SignalSink) -> Options {
    let o = &case.options;
    let mut options = Options::default()
        .max_concurrency(o.max_concurrency)
        .queue_capacity(o.queue_capacity)
        .max_tracked(o.max_tracked)
        .max_operation_lifetime(match o.lifetime {
            Lifetime::Default => Options::default().max_operation_lifetime,
            Lifetime::Millis(ms) => Duration::from_millis(ms),
            Lifetime::Max => Duration::MAX,
        })
        .signals(sink.clone())
        .max_defer(Duration::from_millis(o.max_defer_ms))
        .max_concurrent_signal_handlers(o.handlers)
        .max_queued_signals(o.queued_signals);
    if let Some(ceiling) = o.ceiling {
        options = options.concurrency_ceiling(ceiling);
    }
    if let Some(pins) = o.pin_budget {
        options = options.pin_budget(pins);
    }
    if !o.defer_on.is_empty() {
        options = options.defer_on(o.defer_on);
    }
    if !o.cancel_on.is_empty() {
        options = options.cancel_on(o.cancel_on);
    }
    if !o.resume_on.is_empty() {
        options = options.resume_on(o.resume_on);
    }
    if !o.drain_on.is_empty() {
        options = options.drain_on(o.drain_on);
    }
    options
}

/// The sink a case gates on (the suite keeps a clone to raise and retract).
pub fn sink(case: &Case) -> SignalSink {
    match case.options.sink_max_age_ms {
        Some(ms) => SignalSink::builder()
            .max_age(Duration::from_millis(ms))
            .build(),
        None => SignalSink::new(),
    }
}

/// Adds the callbacks a case asks for to a builder of any kind; each may panic by the
/// plan.
fn hooks<C>(
    mut builder: CoordinatorBuilder<C>,
    case: &Case,
    shared: &Arc<Shared>,
) -> CoordinatorBuilder<C>
where
    C: CoordinatorKind<Error = FaultError>,
    C::Runtime: Spawner,
{
    if case.hooks.finalized {
        let (shared, probe) = (shared.clone(), Probe::new(Tracked::Finalized));
        builder = builder.on_finalized(move |s: &Snapshot<&Outcome<FaultError>>| {
            let _ = &probe;
            shared.finalized(s.id, s.state);
            maybe_panic(Fault::OnFinalized);
        });
    }
    if case.hooks.signal {
        let probe = Probe::new(Tracked::SignalCallback);
        builder = builder.on_signal(move |_: &SignalEvent| {
            let _ = &probe;
            maybe_panic(Fault::OnSignal);
        });
    }
    if case.hooks.handler {
        let probe = Probe::new(Tracked::SignalHandler);
        builder = builder.on_signal_async(move |_: SignalEvent| {
            let _ = &probe;
            // Either the call or its future panics.
            maybe_panic(Fault::SignalHandler);
            async {
                futures_lite::future::yield_now().await;
                maybe_panic(Fault::SignalHandler);
            }
        });
    }
    builder
}

/// Builds the body closure for a coordinator whose bodies return `value(n)`.
macro_rules! body {
    ($shared:expr, $rt:expr, $value:expr) => {{
        let (shared, timer, probe) = ($shared.clone(), $rt.clone(), Probe::new(Tracked::Body));
        move |item: FaultItem, ctx: OpContext| {
            let _ = &probe;
            run_body(item, ctx, shared.clone(), timer.clone(), $value)
        }
    }};
}

/// Builds the coordinator `case` asks for on `rt`.
pub fn build<R: Spawner + Timer + Clone>(
    rt: &R,
    case: &Case,
    shared: &Arc<Shared>,
    sink: &SignalSink,
) -> Result<Subject<R>, OptionsError> {
    let options = options(case, sink);
    Ok(match case.kind {
        Kind::Work => {
            let builder = hooks(Work::<R>::builder(rt.clone(), options), case, shared);
            Subject::Work(builder.build(body!(shared, rt, unit))?)
        }
        Kind::Keyed => {
            let probe = Probe::new(Tracked::KeySelector);
            let key_of = move |item: &FaultItem| {
                let _ = &probe;
                maybe_panic(Fault::KeyOf);
                FaultKey::new(item.spec.key)
            };
            let builder = Keyed::<R>::builder(rt.clone(), key_of, options)
                .max_concurrency_per_key(case.options.per_key)
                .fair_scheduling_threshold(case.options.fairness);
            Subject::Keyed(hooks(builder, case, shared).build(body!(shared, rt, unit))?)
        }
        Kind::Results => {
            let builder = hooks(Results::<R>::builder(rt.clone(), options), case, shared);
            Subject::Results(builder.build(body!(shared, rt, FaultValue::new))?)
        }
        Kind::Priority => {
            let lanes = case.options.lanes.iter().enumerate().map(|(i, spec)| {
                let mut lane = Lane::new(format!("lane{i}"));
                if let Some(depth) = spec.depth {
                    lane = lane.max_depth(depth);
                }
                if spec.defer {
                    lane = lane.defer_on("defer.*");
                }
                if spec.cancel {
                    lane = lane.cancel_on("cancel.*");
                }
                if let Some(after) = spec.promote_after {
                    lane = lane.promote_after(after);
                }
                lane
            });
            let builder = hooks(
                Priority::<R>::builder(rt.clone(), lanes, options),
                case,
                shared,
            );
            Subject::Priority(builder.build(body!(shared, rt, unit))?)
        }
    })
}
