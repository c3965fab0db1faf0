//! One behaviour suite for `ephemeral`, written once and run on every executor.
//!
//! Each test in `tests/` takes an [`Executor`] and runs the same scenario on smol, tokio
//! (multi-thread), async-std and a single-threaded executor. What the scenarios share is
//! here: bounds and ways to wait ([`LIMIT`], [`within`], [`until`], [`settle`]), gates
//! that hold bodies ([`gate`], [`OneAtATime`]), a body's handle on its own coordinator
//! ([`Own`]), checks ([`assert_totals_add_up`]) and a seeded generator ([`SplitMix`]).
//!
//! `tests/faults.rs` is the fault-injection suite: seeded random cases of operations and
//! panicking user code, checked against the contract on smol ([`SmolPool`]) and tokio.
//! Its generator, fault plan and checks are in [`faults`]; its leak check uses the
//! counting allocator in [`heap`].
#![cfg(not(loom))]

use core::future::Future;

/// A way to drive the suite's futures: a spawner/timer pair and a `block_on`.
pub trait Executor {
    /// Spawner and timer handed to the code under test.
    type Rt: ephemeral::runtime::Spawner + ephemeral::runtime::Timer + Clone;
    /// The executor's name, for failure messages.
    const NAME: &'static str;
    /// The runtime handle.
    fn rt(&self) -> Self::Rt;
    /// Runs `future` to completion on this executor.
    fn block_on<F: Future<Output = ()> + Send + 'static>(&self, future: F);
}

mod checks;
mod executors;
mod gate;
mod reentry;
mod rng;
mod wait;
pub use checks::assert_totals_add_up;
pub use executors::{
    AsyncStdExec, SingleThread, SingleThreadExec, SmolExec, SmolPool, SmolPoolHandle, TokioExec,
};
pub use gate::{OneAtATime, gate};
pub use reentry::{Own, own};
pub use rng::SplitMix;
pub use wait::{LIMIT, finishes_within, nap, settle, until, within};

pub mod faults;
pub mod heap;

/// Turns each scenario `fn name<E: Executor>(exec: E)` in the calling test file into
/// one `#[test]` per executor, in modules `on_smol`, `on_tokio`, `on_async_std` and
/// `on_single_thread`.
#[macro_export]
macro_rules! on_every_executor {
    ($($scenario:ident),* $(,)?) => {
        mod on_smol {
            $(#[test] fn $scenario() { super::$scenario($crate::SmolExec) })*
        }
        mod on_tokio {
            $(#[test] fn $scenario() { super::$scenario($crate::TokioExec::new()) })*
        }
        mod on_async_std {
            $(#[test] fn $scenario() { super::$scenario($crate::AsyncStdExec) })*
        }
        mod on_single_thread {
            $(#[test] fn $scenario() { super::$scenario($crate::SingleThreadExec::new()) })*
        }
    };
}
