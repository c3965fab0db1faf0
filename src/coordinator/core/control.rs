//! The type-free half of a coordinator: the concurrency permits, cancellation, per-worker
//! seats and the counters `totals` reads. Bodies reach it through their `OpContext`.

use alloc::boxed::Box;

use atomic_waker::AtomicWaker;

use super::admission::Signals;
use super::permits::Permits;
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Ordering, contain};
use crate::wakeup::Wakeup;

/// A seat's phases (see the module docs).
pub(super) const IDLE: usize = 0;
pub(super) const ACTIVE: usize = 1;
pub(super) const SETTLING: usize = 2;

/// One worker's place: the waker of the body it runs (woken by `cancel`) and its phase.
/// Aligned so that no two workers write one cache line.
#[repr(align(128))]
pub(super) struct Seat {
    pub(super) waker: AtomicWaker,
    /// `IDLE`, `ACTIVE` or `SETTLING`; stored by its worker only (Release), loaded by
    /// count queries (Acquire).
    pub(super) phase: AtomicUsize,
    /// The raw id of the operation its worker starts or runs (0: none yet); stored by
    /// its worker (Release) before it claims the operation, so a `cancel_operation`
    /// whose claim lost to that worker finds it here.
    pub(super) running: AtomicU64,
    /// The raw id of an operation `cancel_operation` asked this worker to drop; the
    /// guarded body compares it with its own at each poll.
    pub(super) abort: AtomicU64,
}

/// The type-free half of a coordinator: permits, cancellation, counters. Bodies see it
/// through their [`OpContext`].
pub(crate) struct Control {
    pub(crate) permits: Permits,
    /// Set once by `cancel`; running bodies are dropped, waiting items cancelled.
    pub(crate) cancelled: AtomicBool,
    /// `cancel` happened (for `OpContext::cancelled`).
    pub(crate) cancel: Wakeup,
    pub(super) seats: Box<[Seat]>,
    /// Indexed by `ENQUEUED`..`CANCELLED`. `ENQUEUED` is raised before an item is queued
    /// (and lowered again if queuing is refused); the others after an operation is
    /// terminal, all with Release, so a reader that loads the terminal counts first
    /// never sees more finished than enqueued.
    pub(super) totals: [AtomicU64; 4],
    /// Items `cancel` or `cancel_operation` (not a worker) is settling right now; see the
    /// module docs.
    pub(super) settling: AtomicUsize,
    /// Worker futures not yet dropped; the last to go stops the coordinator.
    pub(super) live: AtomicUsize,
    /// Panics contained in user code other than bodies (see the module docs).
    pub(super) panics: AtomicU64,
    /// Raising from bodies, and the permits before they start.
    pub(crate) signals: Signals,
}

pub(super) const ENQUEUED: usize = 0;
pub(super) const COMPLETED: usize = 1;
pub(super) const FAILED: usize = 2;
pub(super) const CANCELLED: usize = 3;

impl Control {
    pub(crate) fn new(limit: usize, workers: usize, signals: Signals) -> Self {
        Self {
            // Options validation keeps both under u32::MAX (slot indices are u32).
            permits: Permits::new(limit as u32),
            cancelled: AtomicBool::new(false),
            cancel: Wakeup::new(),
            seats: (0..workers)
                .map(|_| Seat {
                    waker: AtomicWaker::new(),
                    phase: AtomicUsize::new(IDLE),
                    running: AtomicU64::new(0),
                    abort: AtomicU64::new(0),
                })
                .collect(),
            totals: core::array::from_fn(|_| AtomicU64::new(0)),
            settling: AtomicUsize::new(0),
            live: AtomicUsize::new(workers),
            panics: AtomicU64::new(0),
            signals,
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    pub(super) fn count(&self, which: usize) {
        self.totals[which].fetch_add(1, Ordering::Release);
    }

    pub(super) fn total(&self, which: usize) -> u64 {
        self.totals[which].load(Ordering::Acquire)
    }

    pub(super) fn seat(&self, worker: usize, phase: usize) {
        self.seats[worker].phase.store(phase, Ordering::Release);
    }

    /// Runs user code that is not a body; a panic in it is counted, not propagated.
    pub(crate) fn contain<R>(&self, user: impl FnOnce() -> R) -> Option<R> {
        let done = contain(user);
        if done.is_none() {
            self.panics.fetch_add(1, Ordering::Relaxed);
        }
        done
    }

    /// The mark bodies of this coordinator run under (see [`in_scope`]).
    pub(crate) fn scope(&self) -> usize {
        self as *const Self as usize
    }
}

/// Counts since a coordinator was built. Every accepted item is counted once as
/// enqueued and, once terminal, once as completed, failed or cancelled.
///
/// ```
/// let totals = ephemeral::Totals::default();
/// assert_eq!(totals.enqueued, totals.completed + totals.failed + totals.cancelled);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Totals {
    /// Items accepted.
    pub enqueued: u64,
    /// Operations whose body succeeded.
    pub completed: u64,
    /// Operations whose body returned an error or panicked.
    pub failed: u64,
    /// Operations cancelled before or while running (by the coordinator, a signal, or
    /// because its workers' executor stopped).
    pub cancelled: u64,
    /// Operations that were deferred by a `defer_on` signal before they ran.
    pub deferred: u64,
    /// Signal events dropped from the async handlers' full queue (oldest first).
    pub dropped_signals: u64,
    /// Panics caught (under `std`) in user code other than bodies: `on_finalized`,
    /// `on_signal`, and the `Drop`, `Clone` and `Hash` of items, keys, values and errors
    /// run by the coordinator. Each was contained; the coordinator went on.
    pub contained_panics: u64,
}
