//! Bounded, observable, self-cleaning async execution with signal-based coordination.
//!
//! *Fire... and don't quite forget.* `ephemeral` is the Rust edition of the .NET library
//! Mostlylucid.Ephemeral. Its foundation is the [`Window`]: a fixed-capacity, lock-free
//! record of operations, pending, running and recently finished, that evicts by count and
//! by age, can pin what matters, and answers snapshot queries without blocking writers
//! and without allocating per operation.
//!
//! The crate is runtime-agnostic: everything that needs an executor goes through the
//! [`runtime::Spawner`] and [`runtime::Timer`] traits, with adapters for smol, tokio and
//! async-std behind features. Without the default `std` feature it is `no_std + alloc`.
//!
//! ```
//! use core::time::Duration;
//! use ephemeral::{Options, State, Window};
//!
//! let window: Window<u32, &str> = Window::new(&Options::default().max_tracked(100)).unwrap();
//! let id = window.insert(7, Duration::ZERO).unwrap();
//! let item = window.start(id, Duration::from_millis(1)).unwrap();
//! let state = if item % 2 == 0 { State::Completed } else { State::Faulted };
//! window.finish(id, state, "odd input", Duration::from_millis(3)).unwrap();
//! assert_eq!(window.failed(Duration::from_millis(4)).len(), 1);
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(
    missing_docs,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]
// `loom_api` makes internals public to the loom models, which need neither `Debug` nor
// `Default` of them.
#![cfg_attr(not(loom), warn(missing_debug_implementations))]
#![cfg_attr(loom, allow(clippy::new_without_default))]

extern crate alloc;

// The layers, lowest first: bits, sync, time, wakeup, runtime, operation, signal,
// options, window, coordinator, for_each. Each uses only those before it
// (tests/layers.rs).
mod bits;
mod coordinator;
mod for_each;
mod operation;
mod options;
pub mod runtime;
pub mod signal;
mod sync;
mod time;
mod wakeup;
mod window;

pub use coordinator::{
    Body, BodyOutput, CancelCause, ConcurrencyError, CoordinatorBuilder, CoordinatorKind,
    EnqueueError, InResults, KeyedWorkCoordinator, Lane, LaneError, OpContext, Outcome,
    PANIC_MESSAGE_CAPACITY, PanicMessage, PriorityWorkCoordinator, ResultCoordinator, ResultError,
    Totals, WaitError, WorkCoordinator,
};
pub use for_each::{ForEachExt, Summary, for_each, for_each_spawned, for_each_stream};
pub use operation::{OperationId, State};
pub use options::{MAX_QUEUED_SIGNALS, MAX_SIGNAL_HANDLERS, Options, OptionsError};
pub use window::{
    FinishError, InsertError, OPERATION_SIGNALS, OperationSignals, Snapshot, Window, WindowError,
};

/// Compiles and runs the README's Rust examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Internals exposed only to the loom models in `loom-tests` (built with `--cfg loom`).
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_api {
    pub use crate::coordinator::{
        Admission, Dispatch, Intake, KeyLimits, Keys, Lanes, Permits, Schedule, Signals, Store,
    };
    pub use crate::signal::history::History;
    pub use crate::signal::listeners::Listeners;
    pub use crate::wakeup::Wakeup;
    pub use crate::window::Marks;
    pub use crate::window::slab::{Finishing, Phase, Refused, Slab, Word, unreported};
}
