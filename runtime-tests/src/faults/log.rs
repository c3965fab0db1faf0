//! What a case records while it runs: each operation's outcome and each broken
//! invariant, in buffers allocated before the case's heap baseline is taken.

use core::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, PoisonError};

use super::invariant::Invariant;
use super::plan::{Fault, fired};
use super::report::Report;

/// What one operation of a case came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Ran (a query, a lifecycle call, a signal).
    Done,
    /// An enqueue was accepted.
    Accepted,
    /// Refused: full.
    Full,
    /// Refused: closed.
    Closed,
    /// Refused: no such lane.
    UnknownLane,
    /// Refused for a reason this suite does not know (a new `EnqueueError` variant).
    Refused,
    /// A waiting call was given up after its bound (its future dropped).
    GaveUp,
    /// The call returned an error (pin budget, unknown id, ...).
    Err,
    /// Nothing to do (no accepted id yet).
    Skipped,
    /// An injected panic came out of the call.
    Panicked(Fault),
    /// A panic that is not an injected fault came out of the call.
    LibraryPanic,
}

/// A case's outcomes and failures.
pub struct Log {
    report: Mutex<Report>,
    broken: Mutex<Vec<Invariant>>,
    steps: Mutex<Vec<Step>>,
}

/// More than every invariant, so the list never grows during a case.
const MAX_BROKEN: usize = 64;

impl Log {
    /// A log for a case of `ops` operations, allocated now.
    pub fn new(ops: usize) -> Arc<Self> {
        Arc::new(Self {
            report: Mutex::new(Report::with_capacity(32 * 1024)),
            broken: Mutex::new(Vec::with_capacity(MAX_BROKEN)),
            steps: Mutex::new(Vec::with_capacity(ops)),
        })
    }

    /// Records that `invariant` broke, once per invariant per case (the first detail is
    /// the one worth reading), with the faults fired so far.
    pub fn fail(&self, invariant: Invariant, detail: fmt::Arguments<'_>) {
        let mut broken = self.broken.lock().unwrap_or_else(PoisonError::into_inner);
        if broken.contains(&invariant) || broken.len() == MAX_BROKEN {
            return;
        }
        broken.push(invariant);
        let mut report = self.report.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = writeln!(
            report,
            "  - {invariant}: {detail} [faults fired so far: {}]",
            fired()
        );
    }

    /// Records the outcome of the next operation.
    pub fn step(&self, step: Step) {
        let mut steps = self.steps.lock().unwrap_or_else(PoisonError::into_inner);
        if steps.len() < steps.capacity() {
            steps.push(step);
        }
    }

    /// Whether any invariant broke.
    pub fn failed(&self) -> bool {
        !self.broken().is_empty()
    }

    /// The invariants that broke, in order.
    pub fn broken(&self) -> Vec<Invariant> {
        self.broken
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The operations' outcomes, in order.
    pub fn steps(&self) -> Vec<Step> {
        self.steps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The failures' text.
    pub fn text(&self) -> String {
        let report = self.report.lock().unwrap_or_else(PoisonError::into_inner);
        let mut text = report.as_str().to_owned();
        if report.truncated() {
            text.push_str("  (report truncated)\n");
        }
        text
    }
}
