//! Waiting for one operation or for the end of all work.

use super::*;

impl<T, R, S, O, K> Core<T, R, S, O, K>
where
    R: Timer,
    S: Schedule<Key = K>,
    O: Record,
{
    /// Whether the coordinator is closed and every accepted item settled (terminal,
    /// counted, and for results listed).
    pub(crate) fn ended(&self) -> bool {
        self.intake.is_closed() && self.intake.in_flight() == 0
    }

    /// Notified when the last item in flight settles, and when the coordinator closes.
    pub(crate) fn idle(&self) -> &Wakeup {
        self.intake.idle()
    }
}
