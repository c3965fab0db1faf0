//! Coordinators: bounded, observable executors built on one shared core.
//!
//! `core/` holds the machinery every coordinator shares (intake, permits, admission by
//! signals, workers, lifecycle); each coordinator is a thin type over it that picks a
//! queue and what to record: [`WorkCoordinator`] (FIFO), [`KeyedWorkCoordinator`]
//! (per-key order), [`PriorityWorkCoordinator`] (lanes) and [`ResultCoordinator`]
//! (values kept until taken).

mod context;
mod core;
mod error;
mod keyed;
mod lane_id;
mod outcome;
mod priority;
mod result;
mod store;
mod work;

pub(crate) use self::core::Control;
pub use self::core::admission::Gate;
#[cfg(not(loom))]
pub(crate) use self::core::admission::Signals;
pub use self::core::builder::{CoordinatorBuilder, CoordinatorKind};
pub(crate) use self::core::guard::Guarded;
pub use self::core::handle::WeakCoordinator;
pub use self::core::{Completion, Finished, Totals};
pub use context::OpContext;
pub use error::{ConcurrencyError, EnqueueError, LaneError, ResultError, WaitError};
pub use keyed::{KeyName, KeyedWorkCoordinator};
pub use lane_id::LaneId;
pub use outcome::{
    Body, BodyOutput, CancelCause, InResults, Outcome, PANIC_MESSAGE_CAPACITY, PanicMessage,
};
pub use priority::{Lane, PriorityWorkCoordinator};
pub use result::ResultCoordinator;
pub use work::WorkCoordinator;

#[cfg(loom)]
pub use self::core::{
    admission::Admission, admission::Signals, dispatch::Dispatch, intake::Intake, intake::Next,
    permits::Permits, schedule::Schedule,
};
#[cfg(loom)]
pub use keyed::{KeyGate, KeyLimits, Keys};
#[cfg(loom)]
pub use priority::Lanes;
#[cfg(loom)]
pub use store::Store;
