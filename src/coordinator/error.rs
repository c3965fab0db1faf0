//! Every way a coordinator refuses a call, in one place. Where an item or an error was
//! refused, it comes back inside.

use core::fmt;

use super::{CancelCause, LaneId, PanicMessage};
use crate::operation::OperationId;

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

impl<T> fmt::Debug for EnqueueError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full(_) => "Full(..)",
            Self::Closed(_) => "Closed(..)",
            Self::WouldDeadlock(_) => "WouldDeadlock(..)",
        })
    }
}

impl<T> fmt::Display for EnqueueError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full(_) => "the coordinator is full",
            Self::Closed(_) => "the coordinator is closed",
            Self::WouldDeadlock(_) => {
                "the coordinator is full and waiting from one of its own bodies could deadlock it"
            }
        })
    }
}

impl<T> core::error::Error for EnqueueError<T> {}

/// Why an item was not accepted into a lane; the item comes back inside.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{Lane, LaneError, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
///
/// let one = PriorityWorkCoordinator::new(Smol, [Lane::new("a")], Options::default(), |_: &str, _: OpContext| async {}).unwrap();
/// let other = PriorityWorkCoordinator::new(Smol, [Lane::new("a")], Options::default(), |_: &str, _: OpContext| async {}).unwrap();
/// let err = one.try_enqueue("job", other.lane("a").unwrap()).unwrap_err();
/// assert_eq!(err.to_string(), "lane 0 is another coordinator's");
/// assert_eq!(err.into_inner(), "job");
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LaneError<T> {
    /// The lane is another coordinator's.
    UnknownLane(LaneId, T),
    /// The lane is at its `max_depth` (`try_enqueue` only; `enqueue` waits instead).
    Full(T),
    /// The coordinator was completed or cancelled.
    Closed(T),
    /// The lane is full and the caller is one of the coordinator's own bodies (see
    /// [`EnqueueError::WouldDeadlock`]).
    WouldDeadlock(T),
}

impl<T> LaneError<T> {
    /// The refused item.
    ///
    /// ```
    /// assert_eq!(ephemeral::LaneError::Full(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::UnknownLane(_, item)
            | Self::Full(item)
            | Self::Closed(item)
            | Self::WouldDeadlock(item) => item,
        }
    }
}

impl<T> From<EnqueueError<T>> for LaneError<T> {
    fn from(refused: EnqueueError<T>) -> Self {
        match refused {
            EnqueueError::Full(item) => Self::Full(item),
            EnqueueError::Closed(item) => Self::Closed(item),
            EnqueueError::WouldDeadlock(item) => Self::WouldDeadlock(item),
        }
    }
}

impl<T> fmt::Debug for LaneError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownLane(lane, _) => write!(f, "UnknownLane({lane:?}, ..)"),
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
            Self::WouldDeadlock(_) => f.write_str("WouldDeadlock(..)"),
        }
    }
}

impl<T> fmt::Display for LaneError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownLane(lane, _) => write!(f, "lane {lane} is another coordinator's"),
            Self::Full(_) => f.write_str("the lane is full"),
            Self::Closed(_) => f.write_str("the coordinator is closed"),
            Self::WouldDeadlock(_) => f.write_str(
                "the lane is full and waiting from one of the coordinator's own bodies could deadlock it",
            ),
        }
    }
}

impl<T> core::error::Error for LaneError<T> {}

/// Why a result could not be had; a failed operation's error comes back inside.
///
/// ```
/// use ephemeral::ResultError;
///
/// let err: ResultError<&str> = ResultError::Failed("timeout");
/// assert_eq!(err.to_string(), "the operation failed");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResultError<E> {
    /// No such operation: never accepted by this coordinator (issued by another, or
    /// never issued), or its result was taken and the operation has since left the
    /// window. A result not yet taken is never unknown, whatever the window evicted.
    Unknown(OperationId),
    /// `take_result` or `with_result` on an operation that has not finished.
    NotFinished(OperationId),
    /// The result was taken already (by `join`, `take_result`, `next_result` or the
    /// result stream).
    Taken(OperationId),
    /// The body returned this error.
    Failed(E),
    /// The body panicked.
    Panicked(PanicMessage),
    /// The operation was cancelled.
    Cancelled(CancelCause),
    /// `join` or `wait_for_result` from one of this coordinator's own bodies, for an operation
    /// that has not finished: only the coordinator's workers can finish it, and the
    /// caller holds one of them, so the wait is refused rather than risk a deadlock.
    /// (Detected under `std`.)
    WouldDeadlock(OperationId),
}

impl<E> fmt::Display for ResultError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(id) => write!(f, "operation {id} is unknown"),
            Self::NotFinished(id) => write!(f, "operation {id} has not finished"),
            Self::Taken(id) => write!(f, "the result of operation {id} was taken already"),
            Self::Failed(_) => f.write_str("the operation failed"),
            Self::Panicked(message) => write!(f, "the operation panicked: {message}"),
            Self::Cancelled(_) => f.write_str("the operation was cancelled"),
            Self::WouldDeadlock(id) => write!(
                f,
                "waiting for operation {id} from one of the coordinator's own bodies could deadlock it"
            ),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for ResultError<E> {}

/// Why [`wait`](crate::WorkCoordinator::wait) could not tell how an operation ended.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{OpContext, Options, WaitError, WorkCoordinator, runtime::Smol};
///
/// smol::block_on(async {
///     let a = WorkCoordinator::new(Smol, Options::default(), |_: u8, _: OpContext| async {}).unwrap();
///     let b = WorkCoordinator::new(Smol, Options::default(), |_: u8, _: OpContext| async {}).unwrap();
///     let id = a.enqueue(1).await.unwrap();
///     assert_eq!(b.wait(id).await, Err(WaitError::Unknown(id)));
/// });
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitError {
    /// No such operation: never accepted by this coordinator, or it ended and left the
    /// window before the call (and its slot was reused since).
    Unknown(OperationId),
    /// The wait was made from one of this coordinator's own bodies for an operation that
    /// has not ended: only its workers can end it, so the wait is refused rather than
    /// risk a deadlock. (Detected under `std`.)
    WouldDeadlock(OperationId),
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(id) => write!(f, "operation {id} is unknown"),
            Self::WouldDeadlock(id) => write!(
                f,
                "waiting for operation {id} from one of the coordinator's own bodies could deadlock it"
            ),
        }
    }
}

impl core::error::Error for WaitError {}

/// Why [`set_max_concurrency`](crate::WorkCoordinator::set_max_concurrency) was refused.
///
/// ```
/// use ephemeral::ConcurrencyError;
///
/// let err = ConcurrencyError::AboveCeiling { requested: 9, ceiling: 8 };
/// assert_eq!(err.to_string(), "max concurrency 9 is above the ceiling of 8 set at construction");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConcurrencyError {
    /// Zero would stop all work; use `pause` for that.
    Zero,
    /// Workers are spawned once, up to `Options::concurrency_ceiling`.
    AboveCeiling {
        /// The value asked for.
        requested: usize,
        /// The ceiling.
        ceiling: usize,
    },
}

impl fmt::Display for ConcurrencyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zero => {
                f.write_str("max concurrency must be at least 1 (use pause to stop starts)")
            }
            Self::AboveCeiling { requested, ceiling } => write!(
                f,
                "max concurrency {requested} is above the ceiling of {ceiling} set at construction"
            ),
        }
    }
}

impl core::error::Error for ConcurrencyError {}
