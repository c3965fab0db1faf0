//! Runs a body's future so that a panic becomes a fault and cancellation drops it.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use atomic_waker::AtomicWaker;
use pin_project_lite::pin_project;

use super::{BodyOutput, CancelCause, Outcome, PanicMessage};
use crate::operation::State;
use crate::sync::{AtomicBool, Ordering};

/// How a guarded body ended.
pub(crate) enum Ran<T> {
    Done(T),
    // Only  can catch a panic.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Panicked(PanicMessage),
    Cancelled,
}

impl<T: BodyOutput> Ran<T> {
    /// The terminal state and outcome this ending records, with the value on success.
    pub(crate) fn settle(self) -> (State, Outcome<T::Error>, Option<T::Value>) {
        match self {
            Ran::Done(out) => match out.into_result() {
                Ok(value) => (State::Completed, Outcome::Success, Some(value)),
                Err(error) => (State::Faulted, Outcome::Error(error), None),
            },
            Ran::Panicked(message) => (State::Faulted, Outcome::Panic(message), None),
            Ran::Cancelled => (
                State::Cancelled,
                Outcome::Cancelled(CancelCause::Coordinator),
                None,
            ),
        }
    }
}

/// Where a guarded body learns of cancellation: the flag, and the waker slot the
/// canceller wakes.
pub(crate) struct Cancel<'a> {
    pub(crate) flag: &'a AtomicBool,
    pub(crate) waker: &'a AtomicWaker,
}

pin_project! {
    /// Polls `body` until it finishes, panics (caught under `std`) or is cancelled. When
    /// the body is pending its waker is left in the cancel slot, which the canceller
    /// wakes, so a body parked forever is still dropped promptly on cancellation.
    pub(crate) struct Guarded<'a, F> {
        #[pin]
        body: F,
        cancel: Option<Cancel<'a>>,
    }
}

impl<'a, F> Guarded<'a, F> {
    pub(crate) fn new(body: F, cancel: Option<Cancel<'a>>) -> Self {
        Self { body, cancel }
    }
}

impl<F: Future> Future for Guarded<'_, F> {
    type Output = Ran<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let cancelled = |cancel: &Cancel<'_>| cancel.flag.load(Ordering::Acquire);
        if this.cancel.as_ref().is_some_and(cancelled) {
            return Poll::Ready(Ran::Cancelled);
        }
        match poll_catching(this.body, cx) {
            Poll::Ready(ran) => Poll::Ready(ran),
            Poll::Pending => match this.cancel {
                Some(cancel) => {
                    cancel.waker.register(cx.waker());
                    // A cancel between the first check and the registration woke no
                    // one; seeing the flag here closes that gap.
                    if cancelled(cancel) {
                        Poll::Ready(Ran::Cancelled)
                    } else {
                        Poll::Pending
                    }
                }
                None => Poll::Pending,
            },
        }
    }
}

/// Polls `body` once; under `std` a panic becomes `Ran::Panicked` instead of unwinding.
#[cfg(feature = "std")]
fn poll_catching<F: Future>(body: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<Ran<F::Output>> {
    // The body is never polled again after a panic (we return Ready), so observing its
    // broken state afterwards is impossible: asserting unwind safety is sound.
    match std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| body.poll(cx))) {
        Ok(polled) => polled.map(Ran::Done),
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| {
                    payload
                        .downcast_ref::<alloc::string::String>()
                        .map(|s| s.as_str())
                })
                .unwrap_or("panic with a non-string payload");
            Poll::Ready(Ran::Panicked(PanicMessage::new(text)))
        }
    }
}

/// Polls `body` once; without `std` a panic is not caught.
#[cfg(not(feature = "std"))]
fn poll_catching<F: Future>(body: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<Ran<F::Output>> {
    body.poll(cx).map(Ran::Done)
}
