//! Bounded, observable, self-cleaning async execution with signal-based coordination.
//!
//! *Fire... and don't quite forget.* `ephemeral` is the Rust edition of the .NET library
//! Mostlylucid.Ephemeral. It runs your async body over items with at most N in flight,
//! keeps a bounded, queryable record of what ran, and lets named signals steer intake.
//! Four pieces:
//!
//! - **Coordinators** run a body on items over time, on workers spawned once through a
//!   [`runtime::Spawner`]: [`WorkCoordinator`] (FIFO), [`KeyedWorkCoordinator`] (per-key
//!   order without head-of-line blocking), [`ResultCoordinator`] (keeps each body's value
//!   until you take it) and [`PriorityWorkCoordinator`] (lanes in priority order). Each
//!   is built by `new` or a `builder`, accepts items with `enqueue` (waits while full) or
//!   `try_enqueue` (hands the item back), and ends with `complete` + `drain`.
//! - **`for_each`** runs a one-shot job inside the calling task, no spawner needed:
//!   [`for_each`], [`for_each_stream`] and the [`ForEachExt`] extension on iterators.
//! - **The window** ([`Window`]) is the record every coordinator keeps: a fixed-capacity,
//!   lock-free set of operations, pending, running and recently finished with their
//!   errors and panics, evicted by count and by age, pinnable within a budget, and
//!   queried ([`Snapshot`]s) without blocking the workers or allocating per operation.
//! - **Signals** ([`signal::SignalSink`]) are named, atomic flags with a bounded history.
//!   Bodies raise them ([`OpContext::signal`]), and a coordinator's [`Options`] turn them
//!   into intake decisions: `defer_on` holds new work, `cancel_on` refuses it,
//!   `drain_on` closes the coordinator.
//!
//! Everything that needs an executor goes through [`runtime::Spawner`] and
//! [`runtime::Timer`], with adapters for smol, tokio and async-std behind features.
//! Without the default `std` feature the crate is `no_std + alloc`; nothing is allocated
//! per item after start-up.
//!
//! # Example
//!
//! A coordinator whose bodies raise a signal on failure; a `defer_on` signal holds new
//! work while "downstream" is busy; the window says what failed and why.
//!
//! ```
//! # #[cfg(feature = "smol")] {
//! use ephemeral::runtime::Smol;
//! use ephemeral::{ForEachExt, OpContext, Options, WorkCoordinator};
//!
//! async fn charge(order: u32, ctx: OpContext) -> Result<(), String> {
//!     if order % 10 == 0 {
//!         ctx.signal("payment.declined").unwrap(); // recorded on this operation
//!         return Err(format!("order {order}: card declined"));
//!     }
//!     Ok(())
//! }
//!
//! smol::block_on(async {
//!     // One-shot, in this task: at most 8 in flight.
//!     let summary = (1..=50u32)
//!         .ephemeral_for_each(&Options::default().max_concurrency(8), charge)
//!         .await
//!         .unwrap();
//!     assert_eq!((summary.completed, summary.failed), (45, 5));
//!
//!     // Long-lived, on smol's workers, gated by a signal.
//!     let options = Options::default().max_concurrency(8).defer_on("downstream.busy");
//!     let coordinator = WorkCoordinator::new(Smol, options, charge).unwrap();
//!     let sink = coordinator.signals().clone();
//!     sink.raise("downstream.busy").unwrap(); // new work waits...
//!     coordinator.enqueue_many(1..=50).await.unwrap();
//!     assert_eq!(coordinator.totals().completed, 0);
//!     sink.retract("downstream.busy"); // ...until this wakes it
//!
//!     coordinator.complete();
//!     coordinator.drain().await;
//!     let failed = coordinator.failed(); // the window: recent failures with their errors
//!     assert_eq!(failed.len(), 5);
//!     assert_eq!(coordinator.count_signals("payment.declined"), 5);
//!     println!("{:?}", failed[0].outcome);
//! });
//! # }
//! ```
//!
//! The window also works on its own, with time passed in, so it is deterministic:
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
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `std` (default) | panics in bodies caught and recorded; the OS monotonic clock |
//! | `smol` | `runtime::Smol`, on smol's executor |
//! | `tokio` | `runtime::Tokio`, on a tokio runtime handle |
//! | `async-std` | `runtime::AsyncStd` |
//! | `full` | all of the above |
//!
//! The contract every coordinator keeps (bounds, ordering, what cancellation and
//! eviction mean) is stated in the repository's `IMPLEMENTATION.md`.
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
    Body, BodyOutput, CancelCause, Completion, ConcurrencyError, CoordinatorBuilder,
    CoordinatorKind, EnqueueError, Finished, Gate, InResults, KeyName, KeyedWorkCoordinator, Lane,
    LaneError, LaneId, OpContext, Outcome, PANIC_MESSAGE_CAPACITY, PanicMessage,
    PriorityWorkCoordinator, ResultCoordinator, ResultError, Totals, WaitError, WeakCoordinator,
    WorkCoordinator,
};
pub use for_each::{
    ForEachExt, Mapped, Summary, for_each, for_each_spawned, for_each_stream, map, map_stream,
};
pub use operation::{OperationId, State};
pub use options::{MAX_QUEUED_SIGNALS, MAX_SIGNAL_HANDLERS, Options, OptionsError};
pub use window::{
    FinishError, InsertError, LABEL_CAPACITY, Label, OPERATION_SIGNALS, OperationSignals, Snapshot,
    Window, WindowError,
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
        Admission, Dispatch, Intake, KeyGate, KeyLimits, Keys, Lanes, Next, Permits, Schedule,
        Signals, Store,
    };
    pub use crate::signal::history::History;
    pub use crate::signal::listeners::Listeners;
    pub use crate::wakeup::Wakeup;
    pub use crate::window::Marks;
    pub use crate::window::slab::{Finishing, Phase, Refused, Slab, Word, unreported};
}
