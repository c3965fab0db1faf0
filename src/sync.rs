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

/// What handles no loom model shares are counted with (coordinator handles, the boxed
/// runtime): `alloc`'s `Arc` in every build, loom's included (loom's `Arc` has no
/// `Weak` and no unsizing).
pub(crate) use alloc::sync::{Arc as Handle, Weak as WeakHandle};
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

/// Runs user code (a callback, a user type's `Drop`, `Clone`, `Hash` or `Eq`) where the
/// crate must go on whatever it does: under `std` a panic is caught and `None` returned,
/// so the caller can count it and restore its invariants; without `std` nothing can be
/// caught and a panic unwinds (or aborts) as usual.
#[cfg(feature = "std")]
pub(crate) fn contain<R>(f: impl FnOnce() -> R) -> Option<R> {
    match std::panic::catch_unwind(core::panic::AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(payload) => {
            // The payload is user data too: a panic in its `Drop` must not escape either.
            if let Err(again) = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
                drop(payload);
            })) {
                core::mem::forget(again);
            }
            None
        }
    }
}

/// Without `std` a panic cannot be caught: `f` runs as is.
#[cfg(not(feature = "std"))]
pub(crate) fn contain<R>(f: impl FnOnce() -> R) -> Option<R> {
    Some(f())
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

/// A mutual-exclusion lock for the few places where several words must change together
/// (the keyed scheduler's tables, a result's take-once value). Sections under it are a
/// handful of loads and stores and never await or call user code that may block.
///
/// Under `std` it is `std::sync::Mutex` (futex-backed; poisoning is ignored because a
/// section either completes or unwinds before changing anything, see `coordinator/keyed/scheduler.rs`);
/// without `std` it spins on one flag; under loom it is loom's mutex.
///
/// Without `std` the spin lock has no way to mask interrupts, and the crate never
/// enables `critical-section`: code running in an interrupt handler must not call into
/// a coordinator whose lock the interrupted code may hold (a keyed coordinator's
/// enqueue, start or finish, or a result coordinator's take). It would spin forever on a
/// single core. Hand work to a coordinator from thread (task) context instead, for
/// example through a lock-free channel the handler pushes to.
pub(crate) struct Lock<T> {
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
    #[cfg(all(not(loom), feature = "std"))]
    inner: std::sync::Mutex<T>,
    #[cfg(all(not(loom), not(feature = "std")))]
    inner: spin::SpinLock<T>,
}

impl<T> Lock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            #[cfg(loom)]
            inner: loom::sync::Mutex::new(value),
            #[cfg(all(not(loom), feature = "std"))]
            inner: std::sync::Mutex::new(value),
            #[cfg(all(not(loom), not(feature = "std")))]
            inner: spin::SpinLock::new(value),
        }
    }

    /// Runs `f` with the value, excluding every other `with` on this lock.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        #[cfg(loom)]
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        #[cfg(all(not(loom), feature = "std"))]
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        #[cfg(all(not(loom), not(feature = "std")))]
        let mut guard = self.inner.lock();
        f(&mut guard)
    }
}

// Built for `no_std`, and for the unit tests (so miri checks it on a `std` host).
#[cfg(all(not(loom), any(not(feature = "std"), test)))]
mod spin {
    //! A test-and-test-and-set spin lock, for `no_std` targets without an OS to park on.

    use core::cell::UnsafeCell;
    use core::ops::{Deref, DerefMut};
    use core::sync::atomic::{AtomicBool, Ordering};

    pub(crate) struct SpinLock<T> {
        /// Whether a guard exists; set by `lock`, cleared by the guard's drop.
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the flag hands `value` to one thread at a time, so sharing the lock only
    // ever moves `&mut T` between threads, which `T: Send` allows.
    unsafe impl<T: Send> Sync for SpinLock<T> {}

    impl<T> SpinLock<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        pub(crate) fn lock(&self) -> Guard<'_, T> {
            while self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                while self.locked.load(Ordering::Relaxed) {
                    core::hint::spin_loop();
                }
            }
            Guard(self)
        }
    }

    pub(crate) struct Guard<'a, T>(&'a SpinLock<T>);

    impl<T> Deref for Guard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: the guard exists only while `locked` is held by this thread.
            unsafe { &*self.0.value.get() }
        }
    }

    impl<T> DerefMut for Guard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: as in `deref`, and `&mut self` makes this the only borrow.
            unsafe { &mut *self.0.value.get() }
        }
    }

    impl<T> Drop for Guard<'_, T> {
        fn drop(&mut self) {
            self.0.locked.store(false, Ordering::Release);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    extern crate std;

    use super::spin::SpinLock;
    use alloc::sync::Arc;

    #[test]
    fn the_spin_lock_excludes_concurrent_writers() {
        let lock = Arc::new(SpinLock::new(0u64));
        let threads: alloc::vec::Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let mut guard = lock.lock();
                        let seen = *guard;
                        std::thread::yield_now();
                        *guard = seen + 1;
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(*lock.lock(), 800);
    }
}
