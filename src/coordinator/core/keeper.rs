//! What keeps results beside the window: the result coordinator's store, seen by the
//! core only through this trait, so the core needs to know nothing of values.

use super::*;

/// Keeps what the window does not own of a finished operation (a result coordinator's
/// value or error) from its end until a caller takes it, and reserves room for it
/// before its item is accepted.
///
/// The order is what makes waiting safe: [`keep`](Self::keep) runs on the finishing
/// thread before the window publishes the operation terminal, so whoever sees it
/// finished in the window finds its result kept; [`published`](Self::published) runs
/// after, once it is counted and before `drain` can see it settled, so whoever consumes
/// results in finishing order sees it after the window does and before the end.
pub(crate) trait Keeper<O>: Send + Sync {
    /// Takes what it keeps out of the finished operation's record; user code it runs
    /// (callbacks) runs inside `control`'s containment.
    fn keep(&self, finished: Snapshot<&O>, control: &Control);
    /// The operation `id` is terminal in the window and counted.
    fn published(&self, id: OperationId);
    /// Reserves room for one more accepted item's result; `false` when there is none.
    fn reserve(&self) -> bool;
    /// Gives back room reserved for an item that was not accepted after all.
    fn release(&self);
    /// Notified when room is given back.
    fn room(&self) -> &Wakeup;
}
