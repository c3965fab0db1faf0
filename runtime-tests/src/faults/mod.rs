//! The fault-injection suite's parts: a seeded generator of cases ([`Case`]), the plan
//! of which user code panics ([`Fault`]), the user types that obey it and count
//! themselves alive ([`FaultItem`], [`FaultKey`], [`FaultValue`], [`FaultError`]), the
//! coordinator under test behind one enum ([`Subject`]), the driver that runs a case
//! and checks it ([`drive`]), the invariants it reports ([`Invariant`]) into a log that
//! does not allocate while a case runs ([`Log`]), and the process-wide panic hook and
//! watchdog. `tests/faults.rs` runs them.
//!
//! A case is a pure function of its seed ([`Case::generate`]), so a failing seed replays
//! the same coordinator, options, faults and operations; which call a fault hits depends
//! on the interleaving, so a replay may need a few runs (`FAULT_CASES` repeats a seed).

mod case;
mod driver;
mod invariant;
mod log;
mod plan;
mod process;
mod report;
mod subject;
mod values;

pub use case::{
    BodyKind, Case, CaseOptions, Ending, Hooks, ItemSpec, KEYS, Kind, LaneSpec, Lifetime, Op,
    PanicMode, SIGNALS,
};
pub use driver::{
    DRAIN_BOUND, ENQUEUE_WAIT, RESULT_WAIT, ROOM_BOUND, check_reports, drive, message,
};
pub use invariant::Invariant;
pub use log::{Log, Step};
pub use plan::{
    Fault, Fired, Live, Tracked, arm, count, disarm, fired, injected, maybe_panic, record,
};
pub use process::{
    install_panic_hook, library_panics_report, library_panics_reset, start_watchdog, watch,
};
pub use report::Report;
pub use subject::{
    Accepted, Keyed, Priority, Refusal, Results, Shared, Subject, Work, build, options, sink,
};
pub use values::{FaultError, FaultItem, FaultKey, FaultValue, Probe};
