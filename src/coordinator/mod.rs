//! Coordinators: bounded, observable executors built on one shared core.

mod api;
mod builder;
mod core;
mod for_each;
mod gate;
mod guard;
mod intake;
mod keyed;
mod keys;
mod lanes;
mod outcome;
mod priority;
mod result;
mod schedule;
mod signals;
mod work;

pub(crate) use self::core::Control;
pub use self::core::{ConcurrencyError, Totals};
pub use builder::CoordinatorBuilder;
pub use for_each::{ForEachExt, Summary, for_each, for_each_spawned, for_each_stream};
#[cfg(loom)]
pub use gate::Gate;
pub(crate) use guard::Guarded;
#[cfg(loom)]
pub use intake::Intake;
#[cfg(not(loom))]
pub(crate) use intake::Intake;
pub use keyed::KeyedWorkCoordinator;
#[cfg(loom)]
pub use keys::Keys;
#[cfg(loom)]
pub use lanes::Lanes;
pub use outcome::{BodyOutput, CancelCause, Outcome, PANIC_MESSAGE_CAPACITY, PanicMessage};
pub use priority::{Lane, LaneError, PriorityWorkCoordinator};
pub use result::{ResultCoordinator, ResultError};
#[cfg(loom)]
pub use schedule::Schedule;
#[cfg(loom)]
pub use signals::{Admission, Signals};
pub use work::WorkCoordinator;

/// Why an item was not accepted; the item comes back inside.
///
/// ```
/// use ephemeral::EnqueueError;
///
/// let err = EnqueueError::Full("job");
/// assert_eq!(err.to_string(), "the coordinator is full");
/// assert_eq!(err.into_inner(), "job");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnqueueError<T> {
    /// No room now (`try_enqueue` only; `enqueue` waits instead).
    Full(T),
    /// The coordinator was completed or cancelled; it takes nothing more.
    Closed(T),
    /// The coordinator is full and the caller is one of its own bodies: waiting for room
    /// that only its workers make could deadlock it (every worker waiting on itself), so
    /// the wait is refused. Use `try_enqueue` and handle `Full`, or enqueue from outside.
    /// (Detected under `std`; without it such a wait is the caller's to avoid.)
    WouldDeadlock(T),
}

impl<T> EnqueueError<T> {
    /// The refused item.
    ///
    /// ```
    /// assert_eq!(ephemeral::EnqueueError::Closed(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(item) | Self::Closed(item) | Self::WouldDeadlock(item) => item,
        }
    }
}

impl<T> ::core::fmt::Debug for EnqueueError<T> {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str(match self {
            Self::Full(_) => "Full(..)",
            Self::Closed(_) => "Closed(..)",
            Self::WouldDeadlock(_) => "WouldDeadlock(..)",
        })
    }
}

impl<T> ::core::fmt::Display for EnqueueError<T> {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str(match self {
            Self::Full(_) => "the coordinator is full",
            Self::Closed(_) => "the coordinator is closed",
            Self::WouldDeadlock(_) => {
                "the coordinator is full and waiting from one of its own bodies could deadlock it"
            }
        })
    }
}

impl<T> ::core::error::Error for EnqueueError<T> {}
