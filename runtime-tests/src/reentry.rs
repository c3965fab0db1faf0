//! Bodies that call back into their own coordinator.

use std::sync::{Arc, OnceLock, Weak};

/// The coordinator a body may call back into (set once the coordinator is built).
pub type Own<C> = Arc<OnceLock<Weak<C>>>;

/// The coordinator in `slot`, from one of its own bodies.
///
/// # Panics
///
/// If the slot was never set or the coordinator is gone: a body runs only while its
/// coordinator is alive, after the test has set the slot.
pub fn own<C>(slot: &Own<C>) -> Arc<C> {
    slot.get()
        .and_then(Weak::upgrade)
        .expect("the coordinator is alive while its bodies run")
}
