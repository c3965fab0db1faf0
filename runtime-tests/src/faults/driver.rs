//! Drives one case against its coordinator: builds it, runs the operations, ends it
//! (complete or cancel and drain, or a drop mid-way), and checks what can be checked
//! while it lives. Every call into the library runs under `catch_unwind`, so a panic is
//! a finding, not the end of the case.

use core::time::Duration;
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, PoisonError};

use ephemeral::runtime::{Spawner, Timer};
use ephemeral::signal::SignalSink;
use ephemeral::{OperationId, ResultError};
use futures_lite::FutureExt as _;
use futures_lite::future::or;

use super::case::{Case, Ending, ItemSpec, KEYS, Kind, Op, SIGNALS};
use super::invariant::Invariant;
use super::log::{Log, Step};
use super::plan::{Fault, disarm, injected, maybe_panic};
use super::subject::{Accepted, Refusal, Shared, Subject, build, sink};
use super::values::{FaultError, FaultItem, FaultKey, FaultValue};

mod checks;
mod probes;
pub use checks::check_reports;

/// How long `drain` may take after `complete` or `cancel` (bodies are a few ms at most,
/// deferral a few tens of ms).
pub const DRAIN_BOUND: Duration = Duration::from_secs(5);
/// How long the room probe may wait for all its items to be accepted.
pub const ROOM_BOUND: Duration = Duration::from_secs(5);
/// How long an operation's `enqueue` waits before giving up (a case may hold the queue
/// full on purpose: paused, deferred or never-ending bodies).
pub const ENQUEUE_WAIT: Duration = Duration::from_millis(20);
/// How long a `wait_for_result` query waits before giving up.
pub const RESULT_WAIT: Duration = Duration::from_millis(20);

/// Runs `case` on `rt`, recording into `shared` (and its log); returns once the
/// coordinator is dropped.
pub async fn drive<R: Spawner + Timer + Clone>(rt: R, case: Arc<Case>, shared: Arc<Shared>) {
    Driver::new(rt, case, shared).run().await;
}

/// A panic payload as text.
pub fn message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<not a string>")
}

/// Drives one case: its operations, then its ending and the checks after `drain`.
struct Driver<R: Spawner + Timer + Clone> {
    rt: R,
    case: Arc<Case>,
    shared: Arc<Shared>,
    next_n: u32,
    key_seq: [u32; KEYS],
    /// `complete` or `cancel` was called (so refusals are `Closed`).
    closed: bool,
    /// An enqueue panicked, so `totals().enqueued` may count an item with no id.
    enqueue_panicked: bool,
}

impl<R: Spawner + Timer + Clone> Driver<R> {
    fn new(rt: R, case: Arc<Case>, shared: Arc<Shared>) -> Self {
        Self {
            rt,
            case,
            shared,
            next_n: 0,
            key_seq: [0; KEYS],
            closed: false,
            enqueue_panicked: false,
        }
    }

    fn log(&self) -> &Log {
        &self.shared.log
    }

    async fn run(mut self) {
        let sink = sink(&self.case);
        let built = catch_unwind(AssertUnwindSafe(|| {
            build(&self.rt, &self.case, &self.shared, &sink)
        }));
        let subject = match built {
            Ok(Ok(subject)) => subject,
            Ok(Err(refused)) => {
                self.log().fail(
                    Invariant::BadInputIsAnError,
                    format_args!("valid options were refused: {refused}"),
                );
                return;
            }
            Err(payload) => {
                self.log().fail(
                    Invariant::PanicsContained,
                    format_args!("building the coordinator panicked: {}", message(&*payload)),
                );
                return;
            }
        };
        let case = self.case.clone();
        for op in &case.ops {
            let step = self.step(&subject, &sink, *op).await;
            self.log().step(step);
        }
        match case.ending {
            Ending::Drop => self.drop_subject(subject, "mid-way"),
            Ending::Complete | Ending::Cancel => self.finish(subject, &sink).await,
        }
    }

    /// A new item of `spec`, numbered and placed in its key's order.
    fn item(&mut self, spec: ItemSpec) -> FaultItem {
        let key = usize::from(spec.key) % KEYS;
        let item = FaultItem::new(self.next_n, spec, self.key_seq[key]);
        self.next_n += 1;
        self.key_seq[key] += 1;
        item
    }

    fn unknown_lane(&self, spec: ItemSpec) -> bool {
        self.case.kind == Kind::Priority && usize::from(spec.lane) >= self.case.options.lanes.len()
    }

    /// Records an enqueue's answer: the id, or a refusal checked against C7 and C10
    /// (IMPLEMENTATION.md).
    fn enqueued(
        &mut self,
        spec: ItemSpec,
        n: u32,
        answer: Result<OperationId, Refusal>,
        waited: bool,
    ) -> Step {
        let unknown = self.unknown_lane(spec);
        let step = match answer {
            Ok(id) => {
                self.shared
                    .accepted
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Accepted { id, n, spec });
                if self.closed {
                    self.log().fail(
                        Invariant::ClosedAfterComplete,
                        format_args!("item {n} was accepted as {id:?} after complete/cancel"),
                    );
                }
                Step::Accepted
            }
            Err(Refusal::Full) => {
                if waited {
                    self.log().fail(
                        Invariant::RefusedOnlyWhenClosed,
                        format_args!("enqueue (which waits for room) refused item {n} as Full"),
                    );
                }
                Step::Full
            }
            Err(Refusal::Closed) => {
                if !self.closed && self.case.options.drain_on.is_empty() {
                    self.log().fail(
                        Invariant::RefusedOnlyWhenClosed,
                        format_args!(
                            "item {n} was refused as Closed, yet nothing closed the coordinator"
                        ),
                    );
                }
                Step::Closed
            }
            Err(Refusal::UnknownLane) => Step::UnknownLane,
            Err(Refusal::Other) => Step::Refused,
        };
        if unknown != (step == Step::UnknownLane) {
            self.log().fail(
                Invariant::BadInputIsAnError,
                format_args!(
                    "item {n} for lane {} of {} lanes came back as {step:?}",
                    spec.lane,
                    self.case.options.lanes.len()
                ),
            );
        }
        step
    }

    /// A panic out of a call. An injected panic from user code the call runs for its
    /// own caller (the caller's item and key on enqueue, clones it asked for, its visit
    /// closure) may reach the caller, and the invariants decide whether it did harm; one
    /// from any other user code (callbacks, other operations' items, keys, values and
    /// errors) escaped containment. A panic that is not injected is the library's own,
    /// reported by the panic hook with its location.
    fn caught(&mut self, what: &str, payload: Box<dyn Any + Send>, own: Own) -> Step {
        let text = message(&*payload);
        let Some(fault) = injected(text) else {
            return Step::LibraryPanic;
        };
        self.enqueue_panicked |= own == Own::Enqueue;
        if !own.allows(fault) {
            self.log().fail(
                Invariant::PanicsContained,
                format_args!("an injected panic ({}) escaped {what}", fault.name()),
            );
        }
        Step::Panicked(fault)
    }

    /// The id an operation names: accepted id number `i` (modulo how many there are).
    fn pick(&self, i: u8) -> Option<Accepted> {
        let accepted = self
            .shared
            .accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (!accepted.is_empty()).then(|| accepted[usize::from(i) % accepted.len()])
    }

    async fn step(&mut self, subject: &Subject<R>, sink: &SignalSink, op: Op) -> Step {
        let sync = |f: &mut dyn FnMut()| catch_unwind(AssertUnwindSafe(f));
        let outcome = match op {
            Op::Enqueue(spec) => return self.enqueue(subject, spec, ENQUEUE_WAIT).await.0,
            Op::TryEnqueue(spec) => {
                let item = self.item(spec);
                let n = item.n;
                return match catch_unwind(AssertUnwindSafe(|| subject.try_enqueue(item))) {
                    Ok(answer) => self.enqueued(spec, n, answer, false),
                    Err(payload) => self.caught("try_enqueue", payload, Own::Enqueue),
                };
            }
            Op::Cancel => {
                self.closed = true;
                sync(&mut || subject.cancel())
            }
            Op::Complete => {
                self.closed = true;
                sync(&mut || subject.complete())
            }
            Op::Pause => sync(&mut || subject.pause()),
            Op::Resume => sync(&mut || subject.resume()),
            Op::Pin(i) | Op::Unpin(i) | Op::Evict(i) => {
                let Some(accepted) = self.pick(i) else {
                    return Step::Skipped;
                };
                let id = accepted.id;
                let answer = catch_unwind(AssertUnwindSafe(|| match op {
                    Op::Pin(_) => subject.pin(id),
                    Op::Unpin(_) => subject.unpin(id),
                    _ => subject.evict(id),
                }));
                return match answer {
                    Ok(Ok(())) => Step::Done,
                    Ok(Err(_)) => Step::Err,
                    Err(payload) => self.caught("pin/unpin/evict", payload, Own::Nothing),
                };
            }
            Op::Raise(i) => sync(&mut || {
                let _ = sink.raise(SIGNALS[usize::from(i)]);
            }),
            Op::Retract(i) => sync(&mut || {
                sink.retract(SIGNALS[usize::from(i)]);
            }),
            Op::Snapshot => sync(&mut || {
                let listing = subject.snapshot();
                self.check_listing("snapshot", &listing);
            }),
            Op::Visit => sync(&mut || {
                let mut listing = Vec::new();
                subject.visit(|id, state| {
                    listing.push((id, state, false));
                    maybe_panic(Fault::Visit);
                });
                self.check_listing("visit", &listing);
            }),
            Op::Get(i) => {
                let Some(accepted) = self.pick(i) else {
                    return Step::Skipped;
                };
                sync(&mut || {
                    if let Some((answered, state)) = subject.get(accepted.id)
                        && answered != accepted.id
                    {
                        self.log().fail(
                            Invariant::AnswersForTheId,
                            format_args!(
                                "get({:?}) answered for {answered:?} ({state:?})",
                                accepted.id
                            ),
                        );
                    }
                })
            }
            Op::Counts => sync(&mut || self.check_counts(subject)),
            Op::KindQuery(q) => return self.kind_query(subject, q).await,
            Op::SetMaxConcurrency(n) => {
                let n = usize::from(n);
                let ceiling = self.case.options.effective_ceiling();
                let valid = (1..=ceiling).contains(&n);
                if valid {
                    self.shared.limit.fetch_max(n, SeqCst);
                }
                return match catch_unwind(AssertUnwindSafe(|| subject.set_max_concurrency(n))) {
                    Ok(answer) => {
                        if answer.is_ok() != valid {
                            self.log().fail(
                                Invariant::BadInputIsAnError,
                                format_args!("set_max_concurrency({n}) with ceiling {ceiling} answered {answer:?}"),
                            );
                        }
                        if answer.is_ok() {
                            Step::Done
                        } else {
                            Step::Err
                        }
                    }
                    Err(payload) => self.caught("set_max_concurrency", payload, Own::Nothing),
                };
            }
            Op::Sleep(ms) => {
                self.rt.sleep(Duration::from_millis(u64::from(ms))).await;
                Ok(())
            }
            Op::Yield => {
                futures_lite::future::yield_now().await;
                Ok(())
            }
        };
        match outcome {
            Ok(()) => Step::Done,
            Err(payload) => {
                let own = match op {
                    Op::Snapshot | Op::Visit | Op::Get(_) => Own::Read,
                    _ => Own::Nothing,
                };
                self.caught(&format!("{op:?}"), payload, own)
            }
        }
    }

    /// `enqueue`, given up after `wait`; also says whether it gave up.
    async fn enqueue(
        &mut self,
        subject: &Subject<R>,
        spec: ItemSpec,
        wait: Duration,
    ) -> (Step, bool) {
        let item = self.item(spec);
        let n = item.n;
        let timer = self.rt.clone();
        // The race runs inside the caught future, so giving up (dropping the enqueue and
        // its item, whose `Drop` may panic) is caught too.
        let raced = AssertUnwindSafe(async move {
            let attempt = async { Some(subject.enqueue(item).await) };
            let give_up = async move {
                timer.sleep(wait).await;
                None
            };
            or(attempt, give_up).await
        })
        .catch_unwind()
        .await;
        match raced {
            Ok(None) => (Step::GaveUp, true),
            Ok(Some(answer)) => (self.enqueued(spec, n, answer, true), false),
            Err(payload) => (self.caught("enqueue", payload, Own::Enqueue), false),
        }
    }

    /// Queries only one kind of coordinator has.
    async fn kind_query(&mut self, subject: &Subject<R>, q: u8) -> Step {
        let outcome = match subject {
            Subject::Work(_) => catch_unwind(AssertUnwindSafe(|| {
                let (want, states) = subject.by_state(q);
                if let Some(wrong) = states.iter().find(|s| **s != want) {
                    self.log().fail(
                        Invariant::ListsHoldTheirState,
                        format_args!("the {want:?} list held a {wrong:?} operation"),
                    );
                }
            })),
            Subject::Keyed(c) => catch_unwind(AssertUnwindSafe(|| {
                let key = FaultKey::new(q % KEYS as u8);
                match q % 4 {
                    0 => drop(c.snapshot_for_key(&key)),
                    1 => c.visit_keyed(|_, _| maybe_panic(Fault::Visit)),
                    2 => {
                        let _ = (c.pending_count_for_key(&key), c.active_count_for_key(&key));
                    }
                    _ => {
                        let _ = c.active_keys();
                    }
                }
            })),
            Subject::Results(c) => {
                let Some(accepted) = self.pick(q) else {
                    return Step::Skipped;
                };
                let id = accepted.id;
                match q % 6 {
                    0 => {
                        let timer = self.rt.clone();
                        let raced = AssertUnwindSafe(async move {
                            let wait = async { Some(c.wait_for_result(id).await) };
                            let give_up = async move {
                                timer.sleep(RESULT_WAIT).await;
                                None
                            };
                            or(wait, give_up).await.map(Answer::of)
                        })
                        .catch_unwind()
                        .await;
                        match raced {
                            Ok(None) => return Step::GaveUp,
                            Ok(Some(answer)) => {
                                self.check_answer(id, answer);
                                Ok(())
                            }
                            Err(payload) => Err(payload),
                        }
                    }
                    1 => catch_unwind(AssertUnwindSafe(|| {
                        self.check_answer(id, Answer::of(c.take_result(id)));
                    })),
                    2 => catch_unwind(AssertUnwindSafe(|| {
                        for (id, answer) in c.results() {
                            self.check_answer(id, Answer::of(answer));
                        }
                    })),
                    3 => catch_unwind(AssertUnwindSafe(|| {
                        for (id, value) in c.successful() {
                            self.check_answer(id, Answer::Value(value.0));
                        }
                    })),
                    4 => {
                        let timer = self.rt.clone();
                        let raced = AssertUnwindSafe(async move {
                            let join = async { Some(c.join(id).await) };
                            let give_up = async move {
                                timer.sleep(RESULT_WAIT).await;
                                None
                            };
                            or(join, give_up).await.map(Answer::of)
                        })
                        .catch_unwind()
                        .await;
                        match raced {
                            Ok(None) => return Step::GaveUp,
                            Ok(Some(answer)) => {
                                self.check_answer(id, answer);
                                Ok(())
                            }
                            Err(payload) => Err(payload),
                        }
                    }
                    _ => catch_unwind(AssertUnwindSafe(|| {
                        let lent = c.with_result(id, |r| Answer::of(r.clone()));
                        if let Ok(answer) = lent {
                            self.check_answer(id, answer);
                        }
                    })),
                }
            }
            Subject::Priority(c) => catch_unwind(AssertUnwindSafe(|| {
                let lanes = self.case.options.lanes.len();
                let depths = c.pending_counts();
                let lane = usize::from(q) % lanes;
                if depths.len() != lanes
                    || c.lane(&format!("lane{lane}")).map(|l| l.index()) != Some(lane)
                {
                    self.log().fail(
                        Invariant::BadInputIsAnError,
                        format_args!(
                            "{lanes} lanes answered depths {depths:?} and lane{lane} as {:?}",
                            c.lane(&format!("lane{lane}"))
                        ),
                    );
                }
            })),
        };
        match outcome {
            Ok(()) => Step::Done,
            Err(payload) => self.caught("a kind-specific query", payload, Own::Read),
        }
    }

    /// Drops the coordinator; a panic out of its `Drop` is a failure (while unwinding it
    /// would abort the process).
    fn drop_subject(&mut self, subject: Subject<R>, when: &str) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(subject))) {
            self.log().fail(
                Invariant::DropDoesNotPanic,
                format_args!(
                    "dropping the coordinator {when} panicked: {}",
                    message(&*payload)
                ),
            );
        }
    }

    /// Ends by `complete` or `cancel`, drains within the bound, then checks.
    async fn finish(&mut self, subject: Subject<R>, sink: &SignalSink) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| subject.resume())) {
            let _ = self.caught("resume", payload, Own::Nothing);
        }
        // Half the cases leave gating signals up: deferral must still end (max_defer).
        if self.case.seed & 1 == 0 {
            for name in SIGNALS {
                let _ = catch_unwind(AssertUnwindSafe(|| sink.retract(name)));
            }
        }
        let complete = self.case.ending == Ending::Complete;
        if complete && !self.closed && !subject_closed(&subject) {
            self.room_probe(&subject).await;
            if matches!(self.case.kind, Kind::Work | Kind::Results) {
                self.slot_probe(&subject).await;
            }
        }
        let what = if complete { "complete" } else { "cancel" };
        let ended = catch_unwind(AssertUnwindSafe(|| {
            if complete {
                subject.complete()
            } else {
                subject.cancel()
            }
        }));
        if let Err(payload) = ended {
            let _ = self.caught(what, payload, Own::Nothing);
        }
        self.closed = true;
        let timer = self.rt.clone();
        let drained = AssertUnwindSafe(async {
            let drain = async {
                subject.drain().await;
                true
            };
            let give_up = async move {
                timer.sleep(DRAIN_BOUND).await;
                false
            };
            or(drain, give_up).await
        })
        .catch_unwind()
        .await;
        disarm();
        match drained {
            Ok(true) => self.check_drained(&subject),
            Ok(false) => {
                let (pending, active, deferred, _) = subject.counts();
                self.log().fail(
                    Invariant::DrainReturns,
                    format_args!(
                        "drain did not return within {DRAIN_BOUND:?} after {what}: pending {pending}, \
                         active {active}, deferred {deferred}, {:?}",
                        subject.totals()
                    ),
                );
            }
            Err(payload) => {
                let _ = self.caught("drain", payload, Own::Nothing);
            }
        }
        self.drop_subject(subject, &format!("after {what} and drain"));
    }
}

/// What a result coordinator answered about an operation, reduced to the item it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// A value, made by this item's body.
    Value(u32),
    /// `Failed` with this item's error.
    Failed(u32),
    /// Anything else (unknown, not finished, taken, panicked, cancelled, ...).
    Other,
}

impl Answer {
    fn of(answer: Result<FaultValue, ResultError<FaultError>>) -> Self {
        match answer {
            Ok(value) => Answer::Value(value.0),
            Err(ResultError::Failed(error)) => Answer::Failed(error.0),
            Err(_) => Answer::Other,
        }
    }
}

/// The user code a call runs on its caller's behalf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Own {
    /// None: the call runs no user code for its caller.
    Nothing,
    /// `enqueue`: the caller's item (dropped when refused) and its key.
    Enqueue,
    /// A read: clones of values and errors it returns (and their drops), key
    /// comparisons for a key the caller passed, the caller's visit closure.
    Read,
}

impl Own {
    fn allows(self, fault: Fault) -> bool {
        use Fault::*;
        match self {
            Own::Nothing => false,
            Own::Enqueue => matches!(
                fault,
                ItemDrop | KeyOf | KeyClone | KeyHash | KeyEq | KeyDrop
            ),
            Own::Read => matches!(
                fault,
                ErrorClone
                    | ErrorDrop
                    | ValueClone
                    | ValueDrop
                    | Visit
                    | KeyClone
                    | KeyHash
                    | KeyEq
                    | KeyDrop
            ),
        }
    }
}

/// Whether the coordinator is closed already (by `drain_on`, say).
fn subject_closed<R: Spawner + Timer + Clone>(subject: &Subject<R>) -> bool {
    catch_unwind(AssertUnwindSafe(|| subject.is_completed())).unwrap_or(true)
}
