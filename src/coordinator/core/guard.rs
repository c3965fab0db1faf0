//! Runs a body's future so that a panic becomes a fault, cancellation drops it, and
//! dropping it (finished, cancelled, or with the worker itself) cannot unwind into the
//! crate.
//!
//! It also marks the thread while a body is being polled (under `std`), so that a
//! coordinator can tell a call from one of its own bodies ([`in_scope`]) and refuse a
//! wait that only its own workers could end.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use atomic_waker::AtomicWaker;
use pin_project_lite::pin_project;

use crate::coordinator::{BodyOutput, CancelCause, Outcome, PanicMessage};
use crate::operation::State;
use crate::sync::{AtomicBool, AtomicU64, Ordering, contain};

/// How a guarded body ended.
pub(crate) enum Ran<V, E> {
    Done(Result<V, E>),
    // Only `std` can catch a panic.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Panicked(PanicMessage),
    Cancelled(CancelCause),
}

impl<V, E> Ran<V, E> {
    /// The terminal state and outcome this ending records, with the value on success.
    pub(crate) fn settle(self) -> (State, Outcome<E>, Option<V>) {
        match self {
            Ran::Done(Ok(value)) => (State::Completed, Outcome::Success, Some(value)),
            Ran::Done(Err(error)) => (State::Faulted, Outcome::Error(error), None),
            Ran::Panicked(message) => (State::Faulted, Outcome::Panic(message), None),
            Ran::Cancelled(cause) => (State::Cancelled, Outcome::Cancelled(cause), None),
        }
    }
}

/// Where a guarded body learns of cancellation: the coordinator's flag, the word naming
/// the one operation `cancel_operation` asked to drop, and the waker slot either
/// canceller wakes.
pub(crate) struct Cancel<'a> {
    pub(crate) flag: &'a AtomicBool,
    pub(crate) waker: &'a AtomicWaker,
    /// The raw id of an operation to drop (its worker's seat word).
    pub(crate) abort: &'a AtomicU64,
    /// The raw id of the guarded body's operation.
    pub(crate) id: u64,
}

impl Cancel<'_> {
    /// Why the body is to be dropped, if it is.
    fn cause(&self) -> Option<CancelCause> {
        if self.flag.load(Ordering::Acquire) {
            Some(CancelCause::Coordinator)
        } else if self.abort.load(Ordering::Acquire) == self.id {
            Some(CancelCause::Requested)
        } else {
            None
        }
    }
}

pin_project! {
    /// Polls `body` until it finishes, panics (caught under `std`) or is cancelled. When
    /// the body is pending its waker is left in the cancel slot, which the canceller
    /// wakes, so a body parked forever is still dropped promptly on cancellation.
    ///
    /// The body is dropped in place as soon as it ends, inside [`contain`]: a `Drop` of
    /// its captures (the item, say) that panics is caught too. Dropping the guard drops
    /// an unfinished body the same way.
    pub(crate) struct Guarded<'a, F> {
        #[pin]
        body: Option<F>,
        cancel: Option<Cancel<'a>>,
        // Marks the thread while the body is polled (0: no mark).
        scope: usize,
    }

    impl<'a, F> PinnedDrop for Guarded<'a, F> {
        fn drop(this: Pin<&mut Self>) {
            let mut body = this.project().body;
            let _ = contain(|| body.set(None));
        }
    }
}

impl<'a, F> Guarded<'a, F> {
    /// Guards `body`; while it is polled, [`in_scope`]`(scope)` holds on this thread.
    pub(crate) fn new(body: F, cancel: Option<Cancel<'a>>, scope: usize) -> Self {
        Self {
            body: Some(body),
            cancel,
            scope,
        }
    }
}

/// How a guarded `F` ends: with its output's value or error.
type RanOf<F> =
    Ran<<<F as Future>::Output as BodyOutput>::Value, <<F as Future>::Output as BodyOutput>::Error>;

impl<F> Future for Guarded<'_, F>
where
    F: Future,
    F::Output: BodyOutput,
{
    type Output = RanOf<F>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut slot = this.body;
        let ended = if let Some(cause) = this.cancel.as_ref().and_then(Cancel::cause) {
            Ran::Cancelled(cause)
        } else {
            let Some(body) = slot.as_mut().as_pin_mut() else {
                // Polled again after it ended: it stays ended.
                return Poll::Ready(Ran::Cancelled(CancelCause::Coordinator));
            };
            let polled = {
                // Only coordinators mark the thread; one-shot runs and handlers skip it.
                let _scope = (*this.scope != 0).then(|| Scope::enter(*this.scope));
                poll_catching(body, cx)
            };
            match polled {
                Poll::Ready(ran) => ran,
                Poll::Pending => match this.cancel {
                    Some(cancel) => {
                        cancel.waker.register(cx.waker());
                        // A cancel between the first check and the registration woke no
                        // one; seeing the flag here closes that gap.
                        match cancel.cause() {
                            Some(cause) => Ran::Cancelled(cause),
                            None => return Poll::Pending,
                        }
                    }
                    None => return Poll::Pending,
                },
            }
        };
        // Drop what the body still holds now, where a panicking `Drop` is contained; a
        // body that succeeded and then panicked while being dropped did not succeed.
        let dropped = contain(|| slot.set(None)).is_some();
        Poll::Ready(match ended {
            Ran::Done(_) if !dropped => Ran::Panicked(PanicMessage::new(DROP_PANIC)),
            ended => ended,
        })
    }
}

/// Recorded when a body's future panicked while being dropped after it finished.
const DROP_PANIC: &str = "the body's future panicked while being dropped";

/// Polls `body` once; under `std` a panic becomes `Ran::Panicked` instead of unwinding.
#[cfg(feature = "std")]
fn poll_catching<F>(body: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<RanOf<F>>
where
    F: Future,
    F::Output: BodyOutput,
{
    // The body is never polled again after a panic (it is dropped), so observing its
    // broken state afterwards is impossible: asserting unwind safety is sound.
    // `into_result` is user code too (`BodyOutput` is a public trait), so it runs inside.
    let polled = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
        body.poll(cx).map(BodyOutput::into_result)
    }));
    match polled {
        Ok(polled) => polled.map(Ran::Done),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| {
                    payload
                        .downcast_ref::<alloc::string::String>()
                        .map(|s| s.as_str())
                })
                .map_or_else(
                    || PanicMessage::new("panic with a non-string payload"),
                    PanicMessage::new,
                );
            // The payload is user data: its own `Drop` may panic.
            let _ = contain(move || drop(payload));
            Poll::Ready(Ran::Panicked(message))
        }
    }
}

/// Polls `body` once; without `std` a panic is not caught.
#[cfg(not(feature = "std"))]
fn poll_catching<F>(body: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<RanOf<F>>
where
    F: Future,
    F::Output: BodyOutput,
{
    body.poll(cx).map(|out| Ran::Done(out.into_result()))
}

#[cfg(feature = "std")]
std::thread_local! {
    /// The scope of the body this thread is polling now (0: none).
    static SCOPE: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

/// Marks the thread with a scope while alive; restores the previous mark on drop (also
/// when the body unwinds), so nested scopes (a body polling another coordinator's
/// one-shot run) unwind correctly.
struct Scope {
    #[cfg(feature = "std")]
    previous: usize,
}

impl Scope {
    fn enter(scope: usize) -> Self {
        #[cfg(feature = "std")]
        {
            Self {
                previous: SCOPE.with(|current| current.replace(scope)),
            }
        }
        #[cfg(not(feature = "std"))]
        {
            let _ = scope;
            Self {}
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        #[cfg(feature = "std")]
        SCOPE.with(|current| current.set(self.previous));
    }
}

/// Whether this thread is polling a body guarded with `scope` right now. Always false
/// without `std`, which has no thread-local storage to keep the mark in.
pub(crate) fn in_scope(scope: usize) -> bool {
    #[cfg(feature = "std")]
    {
        scope != 0 && SCOPE.with(|current| current.get() == scope)
    }
    #[cfg(not(feature = "std"))]
    {
        let _ = scope;
        false
    }
}
