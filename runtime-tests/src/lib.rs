//! One behaviour suite for `ephemeral`, written once and run on every executor.
//!
//! Each test in `tests/` takes an [`Executor`] and runs the same scenario on smol, tokio
//! (multi-thread), async-std and a single-threaded executor.
//!
//! `tests/faults.rs` is the fault-injection suite: seeded random cases of operations and
//! panicking user code, checked against the contract on smol ([`SmolPool`]) and tokio.
//! Its generator, fault plan and checks are in [`faults`]; its leak check uses the
//! counting allocator in [`heap`].
#![cfg(not(loom))]

use core::future::Future;
use core::time::Duration;

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

/// Fails the calling test if `future` does not finish within `limit` of real time.
pub async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    futures_lite::future::or(async { Some(future.await) }, async {
        async_io_sleep(limit).await;
        None
    })
    .await
    .unwrap_or_else(|| panic!("did not finish within {limit:?}"))
}

async fn async_io_sleep(limit: Duration) {
    ephemeral::runtime::Timer::sleep(&ephemeral::runtime::Smol, limit).await;
}

mod executors;
pub use executors::{
    AsyncStdExec, SingleThread, SingleThreadExec, SmolExec, SmolPool, SmolPoolHandle, TokioExec,
};

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
