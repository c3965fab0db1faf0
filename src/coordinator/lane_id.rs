//! `LaneId`: a lane of one priority coordinator, as its callers address it.

use core::fmt;

/// One lane of one [`PriorityWorkCoordinator`](crate::PriorityWorkCoordinator), handed
/// out by that coordinator ([`lane`](crate::PriorityWorkCoordinator::lane) by name,
/// [`lanes`](crate::PriorityWorkCoordinator::lanes) all in priority order). Only a
/// coordinator makes them, so a lane that does not exist cannot be named; one of
/// another coordinator is refused with [`LaneError::UnknownLane`](crate::LaneError).
/// Copy it into whatever enqueues.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
///
/// let coordinator = PriorityWorkCoordinator::new(Smol, [Lane::new("high"), Lane::new("low")], Options::default(), |_: u8, _: OpContext| async {}).unwrap();
/// let [high, low] = [coordinator.lane("high").unwrap(), coordinator.lane("low").unwrap()];
/// assert_eq!((high.index(), low.index()), (0, 1));
/// assert_eq!(coordinator.lanes().collect::<Vec<_>>(), [high, low]);
/// coordinator.try_enqueue(7, low).unwrap();
/// assert_eq!(coordinator.pending_counts(), [0, 1]);
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LaneId {
    /// The lanes' origin (unique in the process), so another coordinator's id is refused.
    origin: u64,
    index: usize,
}

impl LaneId {
    pub(crate) fn new(origin: u64, index: usize) -> Self {
        Self { origin, index }
    }

    pub(crate) fn origin(self) -> u64 {
        self.origin
    }

    /// The lane's place in priority order: 0 is the highest.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// # use ephemeral::{Lane, OpContext, Options, PriorityWorkCoordinator, runtime::Smol};
    /// let coordinator = PriorityWorkCoordinator::new(Smol, [Lane::new("a"), Lane::new("b")], Options::default(), |_: u8, _: OpContext| async {}).unwrap();
    /// assert_eq!(coordinator.lane("b").unwrap().index(), 1);
    /// # }
    /// ```
    pub fn index(self) -> usize {
        self.index
    }
}

impl fmt::Debug for LaneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lane#{}.{}", self.origin, self.index)
    }
}

/// Shows the lane's index.
impl fmt::Display for LaneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.index)
    }
}
