//! What an operation ends with, and what a body may return.

use core::convert::Infallible;
use core::fmt;
use core::future::Future;

use super::OpContext;

/// The longest panic message an operation keeps, in bytes; longer ones are cut at a
/// character boundary, so a slot never allocates for a panic. Every window slot of a
/// coordinator holds room for one. Without `std` no panic is caught (a body that panics
/// is not recorded as an operation's fault), so the capacity is 0 there and the bytes
/// are not spent.
///
/// ```
/// use ephemeral::{PANIC_MESSAGE_CAPACITY, PanicMessage};
///
/// let long = "x".repeat(PANIC_MESSAGE_CAPACITY + 10);
/// assert_eq!(PanicMessage::new(&long).as_str().len(), PANIC_MESSAGE_CAPACITY);
/// ```
#[cfg(feature = "std")]
pub const PANIC_MESSAGE_CAPACITY: usize = 120;
/// The longest panic message an operation keeps, in bytes: none without `std`, where no
/// panic is caught.
#[cfg(not(feature = "std"))]
pub const PANIC_MESSAGE_CAPACITY: usize = 0;

/// How an operation ended; kept on the operation while it is in the window.
///
/// ```
/// use ephemeral::Outcome;
///
/// let outcome: Outcome<&str> = Outcome::Error("timeout");
/// assert_eq!(outcome.error(), Some(&"timeout"));
/// assert!(!outcome.is_success());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<E> {
    /// The body returned success.
    Success,
    /// The body returned this error.
    Error(E),
    /// The body panicked (caught under `std`); the worker lived on.
    Panic(PanicMessage),
    /// The operation was cancelled before or while running.
    Cancelled(CancelCause),
}

impl<E> Outcome<E> {
    /// Whether the body succeeded.
    ///
    /// ```
    /// assert!(ephemeral::Outcome::<()>::Success.is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success)
    }

    /// The body's error, if it returned one.
    ///
    /// ```
    /// assert_eq!(ephemeral::Outcome::Error(3).error(), Some(&3));
    /// ```
    pub fn error(&self) -> Option<&E> {
        match self {
            Self::Error(e) => Some(e),
            _ => None,
        }
    }
}

/// Why an operation was cancelled.
///
/// ```
/// use ephemeral::{CancelCause, Outcome};
///
/// let outcome: Outcome<()> = Outcome::Cancelled(CancelCause::Coordinator);
/// assert!(matches!(outcome, Outcome::Cancelled(CancelCause::Coordinator)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CancelCause {
    /// The coordinator was cancelled (or dropped).
    Coordinator,
    /// A signal matching the coordinator's `cancel_on` was present when the item was
    /// about to start; its body never ran.
    Signal(crate::signal::Signal),
    /// The coordinator's workers were dropped by their executor (it shut down) while
    /// this operation was queued or running.
    Stopped,
    /// The operation alone was cancelled by `cancel_operation`: before its body started
    /// (the body never ran), or while it ran (the body was dropped at its next poll).
    Requested,
}

/// A panic's message, truncated to [`PANIC_MESSAGE_CAPACITY`] bytes.
///
/// ```
/// use ephemeral::PanicMessage;
///
/// let message = PanicMessage::new("index out of bounds");
/// assert_eq!(message.as_str(), "index out of bounds");
/// assert_eq!(PanicMessage::new(&"é".repeat(100)).as_str().len(), 120);
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PanicMessage(heapless::String<PANIC_MESSAGE_CAPACITY>);

impl PanicMessage {
    /// Keeps as much of `text` as fits, cut at a character boundary.
    ///
    /// ```
    /// use ephemeral::PanicMessage;
    ///
    /// assert_eq!(PanicMessage::new("boom").as_str(), "boom");
    /// // Four-byte characters are never split.
    /// assert_eq!(PanicMessage::new(&"🦀".repeat(40)).as_str().len(), 120);
    /// ```
    pub fn new(text: &str) -> Self {
        let mut kept = heapless::String::<PANIC_MESSAGE_CAPACITY>::new();
        let mut end = text.len().min(kept.capacity());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        // `end` bytes fit by construction.
        let _ = kept.push_str(&text[..end]);
        Self(kept)
    }

    /// The kept text.
    ///
    /// ```
    /// assert_eq!(ephemeral::PanicMessage::new("boom").as_str(), "boom");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PanicMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for PanicMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a coordinator runs for each item: any `Fn(T, OpContext) -> impl Future` whose
/// output is a [`BodyOutput`] with value `V` and error `E`, shareable by its workers.
/// Implemented for every such closure or function; constructors take it in place of
/// spelling out those bounds.
///
/// ```
/// use core::convert::Infallible;
/// use ephemeral::{Body, OpContext};
///
/// fn fallible<B: Body<u32, (), &'static str>>(_: B) {}
/// fallible(|n, _ctx: OpContext| async move { if n == 0 { Err("zero") } else { Ok(()) } });
///
/// // A body returning `()` never fails: its error type is `Infallible`.
/// fn infallible<B: Body<u32, (), Infallible>>(_: B) {}
/// infallible(|_, _| async {});
/// ```
pub trait Body<T, V, E>: Fn(T, OpContext) -> Self::Future + Send + Sync + 'static {
    /// The body's future for one item.
    type Future: Future<Output: BodyOutput<Value = V, Error = E>> + Send;
}

impl<T, V, E, B, F> Body<T, V, E> for B
where
    B: Fn(T, OpContext) -> F + Send + Sync + 'static,
    F: Future + Send,
    F::Output: BodyOutput<Value = V, Error = E>,
{
    type Future = F;
}

/// What a body's future may resolve to: `()` (never fails) or `Result<V, E>`. Work
/// coordinators take `V = ()`; a [`ResultCoordinator`](crate::ResultCoordinator) keeps `V`.
///
/// ```
/// use ephemeral::BodyOutput;
///
/// assert_eq!(().into_result(), Ok(()));
/// assert_eq!(Err::<(), _>("bad").into_result(), Err("bad"));
/// assert_eq!(Ok::<_, ()>(7).into_result(), Ok(7));
/// ```
pub trait BodyOutput {
    /// What a successful body produced.
    type Value;
    /// The error type recorded on a faulted operation.
    type Error;
    /// The value or the error.
    fn into_result(self) -> Result<Self::Value, Self::Error>;
}

impl BodyOutput for () {
    type Value = ();
    type Error = Infallible;
    fn into_result(self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl<V, E> BodyOutput for Result<V, E> {
    type Value = V;
    type Error = E;
    fn into_result(self) -> Result<V, E> {
        self
    }
}

/// What a coordinator keeps in the window for a finished operation: its [`Outcome`]
/// (for the result coordinator, only how it ended: the value and the error go to its
/// results store, see [`InResults`]).
pub(crate) trait Record: Send + Sync + 'static {
    /// The body's error type.
    type Error: Send + Sync + 'static;
    /// The body's success value (`()` for work coordinators, which drop it).
    type Value;
    /// The error type of the outcome the window shows: the body's own, or [`InResults`].
    type Shown: Send + Sync + 'static;
    /// The record of an operation that ended with `outcome` (and `value` on success).
    fn record(outcome: Outcome<Self::Error>, value: Option<Self::Value>) -> Self;
    /// How it ended, as the window shows it.
    fn outcome(&self) -> &Outcome<Self::Shown>;
}

impl<E: Send + Sync + 'static> Record for Outcome<E> {
    type Error = E;
    type Value = ();
    type Shown = E;
    fn record(outcome: Outcome<E>, _: Option<()>) -> Self {
        outcome
    }
    fn outcome(&self) -> &Outcome<E> {
        self
    }
}

/// Stands for the body's error in the window of a
/// [`ResultCoordinator`](crate::ResultCoordinator): the error itself is owned by the
/// coordinator's results store with the values, until taken (see
/// [`ResultCoordinator::with_result`](crate::ResultCoordinator::with_result)). The window
/// observes and evicts; it never owns what a caller will take, so it records only that
/// the body failed.
///
/// ```
/// use ephemeral::{InResults, Outcome};
///
/// let outcome: Outcome<InResults> = Outcome::Error(InResults);
/// assert!(outcome.error().is_some());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct InResults;
