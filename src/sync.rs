//! The one place the crate takes its atomics, `UnsafeCell` and `Arc` from.
//!
//! Under `cfg(loom)` every primitive is loom's, so the models in `loom-tests` explore
//! every interleaving of the real code. Otherwise atomics come from `core` (64-bit ones
//! from `portable-atomic` on targets without native 64-bit atomics, such as
//! `thumbv7em-none-eabihf`) and `Arc` from `alloc`.
//!
//! [`UnsafeCell`] offers loom's `with`/`with_mut` shape in both builds so call sites
//! read the same under loom and in production.

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};

#[cfg(not(loom))]
pub(crate) use alloc::sync::Arc;
#[cfg(all(not(loom), target_has_atomic = "64"))]
pub(crate) use core::sync::atomic::AtomicU64;
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering, fence};
#[cfg(all(not(loom), not(target_has_atomic = "64")))]
pub(crate) use portable_atomic::AtomicU64;

/// Counts one participant in a counter while alive, and uncounts it when dropped, also
/// when a future holding it is dropped mid-await (waiters on a wake-up, deferred items).
pub(crate) struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    /// Raises `count` (Release: what the participant did before entering, such as
    /// registering a listener, is visible to whoever reads the count with Acquire).
    pub(crate) fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Release);
        Self(count)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Tells the scheduler a compare-and-swap loop is about to retry.
///
/// Under loom this yields, so a model that spins on another thread's progress stays finite.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    core::hint::spin_loop();
}

/// `core::cell::UnsafeCell` with loom's closure-based access, so that loom can check
/// every access for races while production code pays nothing for the wrapper.
#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a shared raw pointer; the caller's protocol must exclude writers.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a unique raw pointer; the caller's protocol must exclude all others.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
