//! The invariants the suite checks, named after the contract lines they come from
//! (IMPLEMENTATION.md, "Contract"), so a failure says which promise broke.

use core::fmt;

/// One checked promise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Invariant {
    /// C1: never more bodies at once than the highest limit ever set.
    Bounded,
    /// C1: never more bodies of one key at once than `max_concurrency_per_key`.
    BoundedPerKey,
    /// C1: `active_count()` never exceeds the highest limit ever set.
    ActiveWithinLimit,
    /// C2: `drain` returns within its bound after `complete` or `cancel`.
    DrainReturns,
    /// C2: once every body is finite, `enqueue` finds room again.
    RoomComesBack,
    /// C2: `enqueued == completed + failed + cancelled` (and never less mid-run).
    TotalsAddUp,
    /// C2: after `drain`, every accepted id is terminal or gone from the window.
    AcceptedAreTerminal,
    /// C2: after `drain`, nothing is pending or running.
    NothingPendingAfterDrain,
    /// C2: `enqueue` refuses an item only when closed (`try_enqueue` also when full).
    RefusedOnlyWhenClosed,
    /// C3: one key's items start in enqueue order.
    KeyOrder,
    /// C3 (keyed docs): a key is forgotten when its last item finishes.
    KeysForgotten,
    /// C4: a listing shows each operation once.
    ListedOnce,
    /// C4: the window holds at most `max_tracked` finished operations besides pinned ones.
    WindowBound,
    /// C4: `running()`, `completed()` and `failed()` hold only their state.
    ListsHoldTheirState,
    /// C7: enqueue after `complete` is refused as `Closed`.
    ClosedAfterComplete,
    /// C7: dropping a coordinator (or its runtime) does not panic.
    DropDoesNotPanic,
    /// C7: a dropped coordinator lets go of every user object and closure.
    DropReleases,
    /// C7: the heap is back to its baseline after the coordinator and runtime are gone.
    NoLeak,
    /// C10: bad input is an error, good input is not refused.
    BadInputIsAnError,
    /// C11: a panic in user code is contained (never reaches a caller whose code it is
    /// not, never kills a coordinator task).
    PanicsContained,
    /// C13: an answer is about the id asked.
    AnswersForTheId,
    /// Defect 3: `on_finalized` reports each terminal operation exactly once.
    FinalizedOnce,
    /// `on_finalized` reports only terminal operations.
    FinalizedTerminal,
    /// The library itself never panics (overflow, `unreachable!`, `expect`).
    LibraryDoesNotPanic,
}

impl Invariant {
    /// The name failures are reported under.
    pub fn label(self) -> &'static str {
        match self {
            Invariant::Bounded => "C1 bounded concurrency",
            Invariant::BoundedPerKey => "C1 bounded concurrency per key",
            Invariant::ActiveWithinLimit => "C1 active_count within the limit",
            Invariant::DrainReturns => "C2 drain returns",
            Invariant::RoomComesBack => "C2 room comes back",
            Invariant::TotalsAddUp => "C2 totals add up",
            Invariant::AcceptedAreTerminal => "C2 accepted ids are terminal",
            Invariant::NothingPendingAfterDrain => "C2 nothing pending after drain",
            Invariant::RefusedOnlyWhenClosed => "C2 enqueue refuses only when closed",
            Invariant::KeyOrder => "C3 per-key order",
            Invariant::KeysForgotten => "C3 keys forgotten after drain",
            Invariant::ListedOnce => "C4 snapshot lists each operation once",
            Invariant::WindowBound => "C4 window holds at most max_tracked unpinned",
            Invariant::ListsHoldTheirState => "C4 lists hold their state",
            Invariant::ClosedAfterComplete => "C7 enqueue after complete is Closed",
            Invariant::DropDoesNotPanic => "C7 drop does not panic",
            Invariant::DropReleases => "C7 drop releases user objects",
            Invariant::NoLeak => "C7 no leak after drop",
            Invariant::BadInputIsAnError => "C10 bad input is an error",
            Invariant::PanicsContained => "C11 panics are contained",
            Invariant::AnswersForTheId => "C13 answers are for the id asked",
            Invariant::FinalizedOnce => "on_finalized reports each operation once",
            Invariant::FinalizedTerminal => "on_finalized reports terminal operations",
            Invariant::LibraryDoesNotPanic => "the library does not panic",
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
