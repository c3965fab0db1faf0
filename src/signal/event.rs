//! One raise of a signal, as the history keeps it and handlers receive it.

use core::time::Duration;

use super::Signal;
use crate::operation::OperationId;

/// A raise: which signal, from which operation and key (if any), and when.
///
/// `at` is a reading of the sink's clock. A `key` is the caller's own number for what
/// the raise concerns, given to [`SignalSink::raise_with`](super::SignalSink::raise_with);
/// it lets history queries tell keys apart without storing strings. Raises from bodies
/// (`OpContext::signal`) carry the operation's id and no key, in keyed coordinators too.
///
/// A `signal` handle stays in the event after its name is reclaimed for another name
/// (see [`Signal`]): it then names nothing, and pattern queries skip the event.
///
/// ```
/// use core::time::Duration;
/// use ephemeral::signal::SignalSink;
///
/// let sink = SignalSink::new();
/// sink.raise_with("rate-limited", None, Some(42)).unwrap();
/// let events = sink.events_matching("rate-*");
/// assert_eq!(events[0].key, Some(42));
/// assert_eq!(sink.name(events[0].signal).unwrap(), "rate-limited");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalEvent {
    /// The signal raised.
    pub signal: Signal,
    /// The operation that raised it, if an operation did.
    pub operation_id: Option<OperationId>,
    /// The key the raise concerns, if any.
    pub key: Option<u64>,
    /// When it was raised, on the sink's clock.
    pub at: Duration,
}
