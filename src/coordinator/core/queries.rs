//! What callers may ask of a running coordinator: counts, totals, snapshots, pins and
//! the signals its operations raised.

use super::*;

impl<T, R, S, O, K> Core<T, R, S, O, K>
where
    R: Timer,
    S: Schedule<Key = K>,
    O: Record,
{
    pub(crate) fn active_count(&self) -> usize {
        self.seats_in(|phase| phase == ACTIVE)
    }

    fn seats_in(&self, phase: impl Fn(usize) -> bool) -> usize {
        self.control
            .seats
            .iter()
            .filter(|seat| phase(seat.phase.load(Ordering::Acquire)))
            .count()
    }

    pub(crate) fn deferred_count(&self) -> usize {
        self.control.signals.deferring() + self.intake.queue().held()
    }

    /// The queue, for what only one kind of queue answers.
    pub(crate) fn queue(&self) -> &S {
        self.intake.queue()
    }

    pub(crate) fn pending_count(&self) -> usize {
        // Seats first: a seat that shows an operation's end was moved after its count
        // was settled out of `in_flight` (module docs).
        let started =
            self.seats_in(|phase| phase != IDLE) + self.control.settling.load(Ordering::Acquire);
        self.intake.in_flight().saturating_sub(started)
    }

    pub(crate) fn totals(&self) -> Totals {
        let c = &*self.control;
        // Terminal counts first (see `Control::totals`).
        let (completed, failed, cancelled) =
            (c.total(COMPLETED), c.total(FAILED), c.total(CANCELLED));
        Totals {
            enqueued: c.total(ENQUEUED),
            completed,
            failed,
            cancelled,
            deferred: c.signals.deferred() + self.intake.queue().released(),
            dropped_signals: c.signals.dropped(),
            contained_panics: c.panics.load(Ordering::Relaxed) + self.window.drop_panics(),
        }
    }

    /// Calls `f` with each tracked operation's key and snapshot, without allocating.
    pub(crate) fn visit_keyed(&self, mut f: impl FnMut(Option<&K>, Snapshot<&Outcome<O::Shown>>)) {
        self.window
            .visit_keyed(self.now(), |key, s| f(key, s.map(O::outcome)));
    }

    /// Calls `f` with each tracked operation's snapshot, without allocating.
    pub(crate) fn visit(&self, mut f: impl FnMut(Snapshot<&Outcome<O::Shown>>)) {
        self.visit_keyed(|_, s| f(s));
    }

    /// Owned snapshots of the tracked operations `keep` accepts: pending and running
    /// ones first, then finished ones oldest first.
    pub(crate) fn collect(
        &self,
        keep: impl Fn(Option<&K>, &Snapshot<&Outcome<O::Shown>>) -> bool,
    ) -> Vec<Snapshot<Outcome<O::Shown>>>
    where
        O::Shown: Clone,
    {
        self.window.collect_sorted(self.now(), |key, s| {
            let s = s.map(O::outcome);
            keep(key, &s).then(|| s.map(Clone::clone))
        })
    }

    /// `f` of operation `id`'s snapshot and full record, or `None` once it has left.
    pub(crate) fn read<X>(&self, id: OperationId, f: impl FnOnce(Snapshot<&O>) -> X) -> Option<X> {
        let mut out = None;
        self.window.inspect(id, self.now(), |s| out = Some(f(s)));
        out
    }

    /// One operation's snapshot, or `None` once it has left the window.
    pub(crate) fn get(&self, id: OperationId) -> Option<Snapshot<Outcome<O::Shown>>>
    where
        O::Shown: Clone,
    {
        self.read(id, |s| s.map(|o| o.outcome().clone()))
    }

    pub(crate) fn pin(&self, id: OperationId) -> Result<(), WindowError> {
        self.window.pin(id)
    }

    pub(crate) fn unpin(&self, id: OperationId) -> Result<(), WindowError> {
        self.window.unpin(id)
    }

    pub(crate) fn evict(&self, id: OperationId) -> Result<(), WindowError> {
        self.window.evict(id)
    }

    /// Whether an operation in the window raised `name` and has not retracted it.
    pub(crate) fn has_signal(&self, name: &str) -> bool {
        self.count_signals(name) > 0
    }

    /// How many operations in the window raised `name` and have not retracted it.
    pub(crate) fn count_signals(&self, name: &str) -> usize {
        let Some(signal) = self.control.signals.sink().table().lookup(name) else {
            return 0;
        };
        let mut n = 0;
        self.window.visit(self.now(), |s| {
            n += usize::from(s.signals.contains(&signal))
        });
        n
    }

    /// Each signal raised by an operation in the window that matches `patterns`, with
    /// the operation: pending and running operations first, then finished ones oldest
    /// first.
    pub(crate) fn signals_matching(&self, patterns: &str) -> Vec<(OperationId, Signal)> {
        let patterns = crate::signal::PatternSet::parse(patterns);
        let sink = self.control.signals.sink();
        let found = self.window.collect_sorted(self.now(), |_, s| {
            let hits: heapless::Vec<Signal, { crate::OPERATION_SIGNALS }> = s
                .signals
                .iter()
                .copied()
                .filter(|signal| sink.name(*signal).is_some_and(|n| patterns.matches(&n)))
                .collect();
            (!hits.is_empty()).then_some((s.id, hits))
        });
        found
            .into_iter()
            .flat_map(|(id, hits)| hits.into_iter().map(move |signal| (id, signal)))
            .collect()
    }
}

/// Queries that lend: the caller's closure borrows each snapshot where it lies, so the
/// body's error needs no `Clone` (an `std::io::Error` is observed whole) and nothing is
/// allocated.
impl<T, R, S, O, K> Core<T, R, S, O, K>
where
    R: Timer,
    S: Schedule<Key = K>,
    O: Record,
{
    /// `f` of operation `id`'s borrowed snapshot, or `None` once it has left the window.
    pub(crate) fn with<X>(
        &self,
        id: OperationId,
        f: impl FnOnce(Snapshot<&Outcome<O::Shown>>) -> X,
    ) -> Option<X> {
        self.read(id, |s| f(s.map(O::outcome)))
    }

    /// Calls `f` with each tracked operation in `state`, in slot order.
    pub(crate) fn visit_in(&self, state: State, mut f: impl FnMut(Snapshot<&Outcome<O::Shown>>)) {
        self.visit(|s| {
            if s.state == state {
                f(s);
            }
        });
    }
}
