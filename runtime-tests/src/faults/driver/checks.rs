//! The checks a case makes against a live coordinator: listings, counts and answers
//! while it runs, and everything `drain` promises once it has returned.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering::SeqCst;

use ephemeral::runtime::{Spawner, Timer};
use ephemeral::{OperationId, State};

use super::{Answer, Driver, Own};
use crate::faults::invariant::Invariant;
use crate::faults::log::Log;
use crate::faults::subject::{Shared, Subject};

impl<R: Spawner + Timer + Clone> Driver<R> {
    /// A result coordinator's answer for `id`, if it names an item (by its value or its
    /// error), names the item `id` was given for.
    pub(super) fn check_answer(&self, id: OperationId, answer: Answer) {
        let accepted = self.shared.accepted();
        let Some(mine) = accepted.iter().find(|a| a.id == id) else {
            // An id whose enqueue panicked after it was accepted: nothing to compare.
            return;
        };
        let named = match answer {
            Answer::Value(n) | Answer::Failed(n) => n,
            Answer::Other => return,
        };
        if named != mine.n {
            self.log().fail(
                Invariant::AnswersForTheId,
                format_args!("the result of {id:?} (item {}) answered {answer:?}", mine.n),
            );
        }
    }

    /// A listing (snapshot or visit) shows each operation once and keeps the window
    /// bound: at most `max_tracked` finished operations besides pinned ones.
    pub(super) fn check_listing(&self, what: &str, listing: &[(OperationId, State, bool)]) {
        let mut ids: Vec<OperationId> = listing.iter().map(|(id, _, _)| *id).collect();
        ids.sort_unstable();
        if let Some(twice) = ids.windows(2).find(|w| w[0] == w[1]) {
            let states: Vec<State> = listing
                .iter()
                .filter(|(id, _, _)| *id == twice[0])
                .map(|(_, s, _)| *s)
                .collect();
            self.log().fail(
                Invariant::ListedOnce,
                format_args!(
                    "{what} listed {:?} {} times, as {states:?}",
                    twice[0],
                    states.len()
                ),
            );
        }
        if what == "snapshot" {
            let finished = listing.iter().filter(|(_, s, _)| s.is_finished()).count();
            let pinned = listing
                .iter()
                .filter(|(_, s, pinned)| s.is_finished() && *pinned)
                .count();
            let max = self.case.options.max_tracked;
            if finished > max + pinned {
                self.log().fail(
                    Invariant::WindowBound,
                    format_args!("snapshot held {finished} finished operations, {pinned} of them pinned, with max_tracked {max}"),
                );
            }
        }
    }

    /// Counts never claim more running than allowed, nor more finished than enqueued.
    pub(super) fn check_counts(&self, subject: &Subject<R>) {
        let (_, active, _, _) = subject.counts();
        let limit = self.shared.limit.load(SeqCst);
        if active > limit {
            self.log().fail(
                Invariant::ActiveWithinLimit,
                format_args!("active_count() was {active}; the highest limit ever set was {limit}"),
            );
        }
        let t = subject.totals();
        if t.completed + t.failed + t.cancelled > t.enqueued {
            self.log().fail(
                Invariant::TotalsAddUp,
                format_args!("mid-run, totals() counted more terminal than enqueued: {t:?}"),
            );
        }
    }

    /// After `drain`: totals add up, every accepted id is terminal or gone, nothing is
    /// pending or running, keys are forgotten, the window is within bounds.
    pub(super) fn check_drained(&mut self, subject: &Subject<R>) {
        let checks = catch_unwind(AssertUnwindSafe(|| {
            let t = subject.totals();
            if t.enqueued != t.completed + t.failed + t.cancelled {
                self.log().fail(
                    Invariant::TotalsAddUp,
                    format_args!("after drain enqueued != completed + failed + cancelled: {t:?}"),
                );
            }
            let accepted = self.shared.accepted();
            if !self.enqueue_panicked && t.enqueued != accepted.len() as u64 {
                self.log().fail(
                    Invariant::TotalsAddUp,
                    format_args!(
                        "{} enqueues returned an id, totals() counted {:?}",
                        accepted.len(),
                        t
                    ),
                );
            }
            for a in &accepted {
                match subject.get(a.id) {
                    Some((id, state)) if id != a.id || !state.is_finished() => self.log().fail(
                        Invariant::AcceptedAreTerminal,
                        format_args!("after drain get({:?}) (item {}, {:?}) answered {id:?} in state {state:?}", a.id, a.n, a.spec.body),
                    ),
                    _ => {}
                }
            }
            let (pending, active, _, _) = subject.counts();
            if pending != 0 || active != 0 {
                self.log().fail(
                    Invariant::NothingPendingAfterDrain,
                    format_args!("after drain pending_count() {pending}, active_count() {active}"),
                );
            }
            let listing = subject.snapshot();
            self.check_listing("snapshot", &listing);
            if let Some((id, state, _)) = listing.iter().find(|(_, s, _)| !s.is_finished()) {
                self.log().fail(
                    Invariant::AcceptedAreTerminal,
                    format_args!("after drain the snapshot still lists {id:?} as {state:?}"),
                );
            }
            if let Subject::Keyed(c) = subject
                && c.active_keys() != 0
            {
                self.log().fail(
                    Invariant::KeysForgotten,
                    format_args!("after drain active_keys() is {}", c.active_keys()),
                );
            }
            if self.case.hooks.finalized {
                let reports = self.shared.reports() as u64;
                let terminal = t.completed + t.failed + t.cancelled;
                if reports != terminal {
                    self.log().fail(
                        Invariant::FinalizedOnce,
                        format_args!(
                            "{reports} reports for {terminal} terminal operations ({t:?})"
                        ),
                    );
                }
            }
        }));
        if let Err(payload) = checks {
            let _ = self.caught("a query after drain", payload, Own::Read);
        }
    }
}

/// Each accepted operation was reported by `on_finalized` exactly once.
pub fn check_reports(shared: &Shared, log: &Log) {
    for accepted in shared.accepted() {
        let reports = shared.reports_of(accepted.id);
        if reports != 1 {
            log.fail(
                Invariant::FinalizedOnce,
                format_args!(
                    "{:?} (item {}, {:?}) was reported {reports} times",
                    accepted.id, accepted.n, accepted.spec.body
                ),
            );
        }
    }
}
