//! Why the window refused a call; what was refused comes back inside.

use core::fmt;

use crate::operation::{OperationId, State};

/// Why [`Window::insert`](super::Window::insert) refused an item; the item comes back inside.
///
/// ```
/// use core::time::Duration;
/// use ephemeral::{InsertError, Options, Window};
///
/// // 1 queued + 1 running + 1 in the window + 0 pins = 3 slots.
/// let options = Options::default().queue_capacity(1).max_concurrency(1).max_tracked(1);
/// let window: Window<u32, ()> = Window::new(&options).unwrap();
/// for item in 0..3 {
///     window.insert(item, Duration::ZERO).unwrap();
/// }
/// assert_eq!(window.insert(3, Duration::ZERO), Err(InsertError::Full(3)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError<I> {
    /// Every slot holds a live operation: wait for some to finish and leave the window.
    Full(I),
}

impl<I> InsertError<I> {
    /// The refused item.
    ///
    /// ```
    /// assert_eq!(ephemeral::InsertError::Full(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> I {
        match self {
            Self::Full(item) => item,
        }
    }
}

/// Why an operation-id call on a [`Window`](super::Window) was refused.
///
/// ```
/// use core::time::Duration;
/// use ephemeral::{Options, State, Window, WindowError};
///
/// let window: Window<(), ()> = Window::new(&Options::default()).unwrap();
/// let id = window.insert((), Duration::ZERO).unwrap();
/// assert_eq!(window.evict(id), Err(WindowError::WrongState { id, state: State::Pending }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WindowError {
    /// No operation with this id is tracked: it was evicted, or never existed here.
    Unknown(OperationId),
    /// The operation exists but its state does not allow the call (for example, evicting
    /// a running operation, or starting one twice).
    WrongState {
        /// The operation.
        id: OperationId,
        /// Its state when the call was refused.
        state: State,
    },
    /// Every pin in the budget is taken; unpin something first.
    PinBudgetExhausted {
        /// The window's pin budget.
        budget: usize,
    },
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(id) => write!(f, "operation {id} is unknown (evicted or never tracked)"),
            Self::WrongState { id, state } => {
                write!(f, "operation {id} is {state:?}, which does not allow this")
            }
            Self::PinBudgetExhausted { budget } => {
                write!(f, "all {budget} pins are taken")
            }
        }
    }
}

impl core::error::Error for WindowError {}

/// Why [`Window::finish`](super::Window::finish) refused; the outcome comes back inside.
///
/// ```
/// use core::time::Duration;
/// use ephemeral::{FinishError, Options, State, Window};
///
/// let window: Window<(), &str> = Window::new(&Options::default()).unwrap();
/// let id = window.insert((), Duration::ZERO).unwrap();
/// let err = window.finish(id, State::Completed, "early", Duration::ZERO).unwrap_err();
/// assert!(matches!(err, FinishError::Refused { outcome: "early", .. }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishError<O> {
    /// The state passed is not terminal (`Pending` or `Running`).
    NotTerminal {
        /// The state passed.
        state: State,
        /// The outcome, handed back.
        outcome: O,
    },
    /// The operation is unknown, or was not started.
    Refused {
        /// Why.
        error: WindowError,
        /// The outcome, handed back.
        outcome: O,
    },
}
