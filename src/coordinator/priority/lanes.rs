//! The priority coordinator's queue: one bounded lock-free FIFO per lane, scanned from
//! the highest lane down, with per-lane signal gates and count-based aging.
//!
//! A lane whose `defer_on` signal is present is *held*: the scan passes over it, so
//! its items wait in the lane, not on a worker, and the other lanes run on. A hold
//! lasts at most `max_defer` (measured on the sink's clock from when a scan first
//! found the lane held with items); after that the lane's items start as if no signal
//! were present, until the lane runs dry (the next item starts a new hold) or the
//! signal goes, by a retract or by expiring (the sink's `max_age`). Workers that find only held items sleep until a signal changes, an
//! item arrives, or the earliest hold runs out, so `drain` finishes too.
//!
//! Closing closes every lane's queue before raising `closed`, so a pop that sees
//! `closed` and every lane empty has seen the last item: no push can land after.

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use alloc::boxed::Box;
use alloc::string::String;
use core::time::Duration;

use concurrent_queue::{ConcurrentQueue, PopError, PushError};

use crate::coordinator::core::intake::Queue;
use crate::coordinator::core::schedule::Schedule;
use crate::operation::OperationId;
use crate::options::{Options, OptionsError};
use crate::runtime::Timer;
use crate::signal::{PatternSet, Signal, SignalMask, SignalSink};
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::time::{from_nanos_plus_one, to_nanos, to_nanos_plus_one};
use crate::wakeup::Wakeup;

/// One priority lane, declared in priority order (the first is the highest).
///
/// ```
/// use ephemeral::Lane;
///
/// let lanes = [
///     Lane::new("interactive").max_depth(64),
///     Lane::new("batch").defer_on("db.busy").cancel_on("shutdown").promote_after(100),
/// ];
/// assert_eq!(lanes[1].name(), "batch");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    name: String,
    max_depth: Option<usize>,
    cancel_on: PatternSet,
    defer_on: PatternSet,
    promote_after: Option<usize>,
}

impl Lane {
    /// A lane called `name`, as deep as the coordinator's `queue_capacity`, with no
    /// gate and no aging.
    ///
    /// ```
    /// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator};
    ///
    /// let lanes = [Lane::new("interactive"), Lane::new("batch").max_depth(100)];
    /// # #[cfg(feature = "smol")] {
    /// let coordinator = PriorityWorkCoordinator::new(ephemeral::runtime::Smol, lanes, Options::default(), |_: u8, _: OpContext| async {});
    /// assert!(coordinator.is_ok());
    /// # }
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            max_depth: None,
            cancel_on: PatternSet::default(),
            defer_on: PatternSet::default(),
            promote_after: None,
        }
    }

    /// The lane's name.
    ///
    /// ```
    /// assert_eq!(ephemeral::Lane::new("high").name(), "high");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// At most `n` items wait in this lane; more are refused with `Full` (or waited
    /// for by `enqueue`). Zero is refused when the coordinator is built.
    ///
    /// ```
    /// let lane = ephemeral::Lane::new("low").max_depth(10);
    /// # let _ = lane;
    /// ```
    pub fn max_depth(mut self, n: usize) -> Self {
        self.max_depth = Some(n);
        self
    }

    crate::signal::pattern_setters! {
        /// While a signal matching `patterns` is present, this lane's items are cancelled
        /// instead of started (checked before each starts).
        ///
        /// ```
        /// let lane = ephemeral::Lane::new("low").cancel_on("shutdown,overload.*");
        /// # let _ = lane;
        /// ```
        cancel_on;
        /// While a signal matching `patterns` is present, this lane is held: its items wait
        /// in the lane (for at most `Options::max_defer` at a stretch) and other lanes
        /// run on.
        ///
        /// ```
        /// let lane = ephemeral::Lane::new("low").defer_on("db.busy");
        /// # let _ = lane;
        /// ```
        defer_on;
    }

    /// Aging: once higher lanes have started `n` items while this lane had items
    /// waiting, this lane's next item goes first; then the count starts again. Without
    /// it a busy higher lane can starve this one.
    ///
    /// ```
    /// let lane = ephemeral::Lane::new("low").promote_after(50);
    /// # let _ = lane;
    /// ```
    pub fn promote_after(mut self, n: usize) -> Self {
        self.promote_after = Some(n);
        self
    }
}

/// What a worker holds for a prioritised item: the operation and its lane.
#[derive(Clone, Copy, Debug)]
pub struct LaneTicket {
    id: OperationId,
    lane: usize,
}

struct LaneQueue {
    /// Waiting operations, each with the number of holds the lane had begun when it
    /// arrived (one less if a hold was on), so a take can tell whether it was held.
    queue: ConcurrentQueue<(OperationId, u64)>,
    cancel_on: SignalMask,
    defer_on: SignalMask,
    promote_after: Option<usize>,
    /// Starts from higher lanes while this one had items; reset when it starts one.
    passed_over: AtomicUsize,
    /// Sink-clock nanoseconds + 1 at which a scan first found the lane held; 0 when it
    /// is not held. Set and cleared by scanning workers.
    held_since: AtomicU64,
    /// Holds begun so far; raised by the scan that starts one.
    holds: AtomicU64,
}

/// The priority queue: one bounded lock-free FIFO per lane, popped from the highest lane
/// down, with each lane's signal gates, holds and aging.
pub struct Lanes {
    /// Unique in the process: the [`LaneId`](crate::LaneId)s of these lanes carry it.
    origin: u64,
    lanes: Box<[LaneQueue]>,
    names: Box<[String]>,
    closed: AtomicBool,
    sink: SignalSink,
    max_defer: Duration,
    /// Notified when a lane becomes held, so a worker starts timing its release.
    held: Wakeup,
    /// Items that waited in a held lane and were then released.
    released: AtomicU64,
}

impl Lanes {
    /// Lanes gating on `options.signals` (which the caller fills, so the core shares it).
    pub fn new(lanes: &[Lane], options: &Options) -> Result<Self, OptionsError> {
        if lanes.is_empty() {
            return Err(OptionsError::NoLanes);
        }
        if lanes.iter().any(|l| l.max_depth == Some(0)) {
            return Err(OptionsError::ZeroLaneDepth);
        }
        if lanes.iter().any(|l| l.promote_after == Some(0)) {
            return Err(OptionsError::ZeroAging);
        }
        let sink = options.signals.clone().unwrap_or_default();
        let table = sink.shared_table();
        let queues = lanes.iter().map(|lane| LaneQueue {
            queue: ConcurrentQueue::bounded(lane.max_depth.unwrap_or(options.queue_capacity)),
            cancel_on: SignalMask::new(lane.cancel_on.clone(), table.clone()),
            defer_on: SignalMask::new(lane.defer_on.clone(), table.clone()),
            promote_after: lane.promote_after,
            passed_over: AtomicUsize::new(0),
            held_since: AtomicU64::new(0),
            holds: AtomicU64::new(0),
        });
        Ok(Self {
            origin: crate::operation::next_origin(),
            lanes: queues.collect(),
            names: lanes.iter().map(|l| l.name.clone()).collect(),
            closed: AtomicBool::new(false),
            sink,
            max_defer: options.max_defer,
            held: Wakeup::new(),
            released: AtomicU64::new(0),
        })
    }

    pub(crate) fn origin(&self) -> u64 {
        self.origin
    }

    pub(crate) fn lane(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub(crate) fn count(&self) -> usize {
        self.lanes.len()
    }

    /// Items waiting in each lane, highest first.
    pub(crate) fn depths(&self) -> impl Iterator<Item = usize> + '_ {
        self.lanes.iter().map(|l| l.queue.len())
    }

    /// Queues `id` in `lane` (which the caller checked exists).
    pub(crate) fn push_to(
        &self,
        lane: usize,
        id: OperationId,
    ) -> Result<(), PushError<OperationId>> {
        let lane = &self.lanes[lane];
        let holds = lane.holds.load(Ordering::Acquire);
        let during_hold = lane.held_since.load(Ordering::Acquire) != 0;
        lane.queue
            .push((id, holds - u64::from(during_hold && holds > 0)))
            .map_err(|refused| match refused {
                PushError::Full((id, _)) => PushError::Full(id),
                PushError::Closed((id, _)) => PushError::Closed(id),
            })
    }

    /// Whether `lane` (which has items) must be passed over now; records when a hold
    /// starts and ends, and tells a worker timing releases.
    fn is_held(&self, lane: &LaneQueue) -> bool {
        if lane.defer_on.is_empty() {
            return false;
        }
        let since = lane.held_since.load(Ordering::Acquire);
        if lane.defer_on.first_raised(&self.sink).is_none() {
            if since != 0 {
                lane.held_since.store(0, Ordering::Release);
            }
            return false;
        }
        let now = to_nanos_plus_one(self.sink.now());
        let held = match since {
            0 => {
                // A lost race means another scan started the hold just now.
                if lane
                    .held_since
                    .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    lane.holds.fetch_add(1, Ordering::AcqRel);
                }
                true
            }
            since => now.saturating_sub(since) < to_nanos(self.max_defer),
        };
        if held {
            self.held.notify(usize::MAX);
        }
        held
    }

    /// The earliest sink-clock time still to come at which a held lane with items is
    /// released: by its bound, or because the signal holding it expires by the sink's
    /// `max_age` (nothing else would tell a sleeping worker). A release already due is
    /// not returned: that lane is takeable now, and returning it would only make an idle
    /// or paused worker spin.
    fn next_release(&self) -> Option<Duration> {
        let now = self.sink.now();
        self.lanes
            .iter()
            .filter(|l| !l.queue.is_empty())
            .filter_map(|l| {
                let since = from_nanos_plus_one(l.held_since.load(Ordering::Acquire))?;
                let bound = since.saturating_add(self.max_defer);
                let expiry = l
                    .defer_on
                    .first_raised(&self.sink)
                    .and_then(|signal| self.sink.expires_at(signal));
                Some(expiry.map_or(bound, |expiry| expiry.min(bound)))
            })
            .filter(|at| *at > now)
            .min()
    }

    fn take(&self, index: usize) -> Option<LaneTicket> {
        let lane = &self.lanes[index];
        let (id, holds_before) = lane.queue.pop().ok()?;
        lane.passed_over.store(0, Ordering::Relaxed);
        if lane.holds.load(Ordering::Acquire) > holds_before {
            // A hold began after it arrived (or was on when it did): it was held back.
            self.released.fetch_add(1, Ordering::Relaxed);
        }
        if lane.held_since.load(Ordering::Acquire) != 0 && lane.queue.is_empty() {
            // Run dry while held past the bound: the next item starts a new hold.
            lane.held_since.store(0, Ordering::Release);
        }
        // Everything waiting below was passed over once more.
        for lower in &self.lanes[index + 1..] {
            if !lower.queue.is_empty() {
                lower.passed_over.fetch_add(1, Ordering::Relaxed);
            }
        }
        Some(LaneTicket { id, lane: index })
    }
}

impl Queue for Lanes {
    type Taken = LaneTicket;
    // Each waiting enqueuer waits for its own lane's room.
    const WAKES_ON_TAKE: usize = usize::MAX;

    fn pop(&self) -> Result<LaneTicket, PopError> {
        // Aging first: a lane passed over often enough goes ahead of higher ones.
        let due = self.lanes.iter().position(|l| {
            l.promote_after
                .is_some_and(|n| l.passed_over.load(Ordering::Relaxed) >= n)
                && !l.queue.is_empty()
        });
        if let Some(ticket) = due
            .filter(|index| !self.is_held(&self.lanes[*index]))
            .and_then(|index| self.take(index))
        {
            return Ok(ticket);
        }
        for index in 0..self.lanes.len() {
            let lane = &self.lanes[index];
            if lane.queue.is_empty() || self.is_held(lane) {
                continue;
            }
            if let Some(ticket) = self.take(index) {
                return Ok(ticket);
            }
        }
        // Closed and empty in one step per lane: a push after `closed` is refused, so
        // lanes seen empty after seeing `closed` stay empty.
        if self.closed.load(Ordering::Acquire) && self.lanes.iter().all(|l| l.queue.is_empty()) {
            return Err(PopError::Closed);
        }
        Err(PopError::Empty)
    }

    fn take_any(&self) -> Option<LaneTicket> {
        (0..self.lanes.len()).find_map(|index| self.take(index))
    }

    fn close(&self) -> bool {
        for lane in self.lanes.iter() {
            lane.queue.close();
        }
        !self.closed.swap(true, Ordering::AcqRel)
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn is_full(&self) -> bool {
        // Depth is per lane; `push_to` answers it.
        false
    }
}

impl Schedule for Lanes {
    type Key = usize;
    const READS_KEY: bool = true;
    const HOLDS: bool = true;

    fn push(&self, id: OperationId, lane: Option<&usize>) -> Result<(), PushError<OperationId>> {
        match lane {
            Some(&lane) if lane < self.lanes.len() => self.push_to(lane, id),
            // The coordinator checks the lane before inserting.
            _ => Err(PushError::Closed(id)),
        }
    }

    fn free_for(&self, lane: &usize) -> usize {
        self.lanes.get(*lane).map_or(0, |l| {
            l.queue
                .capacity()
                .unwrap_or(usize::MAX)
                .saturating_sub(l.queue.len())
        })
    }

    fn id(taken: &LaneTicket) -> OperationId {
        taken.id
    }

    fn cancels(&self, taken: &LaneTicket) -> Option<Signal> {
        self.lanes[taken.lane].cancel_on.first_raised(&self.sink)
    }

    async fn release_due<Tm: Timer>(&self, timer: &Tm) {
        let at = self.held.until(|| self.next_release()).await;
        timer.sleep(at.saturating_sub(self.sink.now())).await;
    }

    fn held(&self) -> usize {
        self.lanes
            .iter()
            .filter(|l| l.held_since.load(Ordering::Relaxed) != 0)
            .map(|l| l.queue.len())
            .sum()
    }

    fn released(&self) -> u64 {
        self.released.load(Ordering::Relaxed)
    }
}
