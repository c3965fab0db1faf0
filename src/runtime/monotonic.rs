//! One process-wide origin for the std adapters' `now`, so their readings compare.

use core::time::Duration;
use std::sync::OnceLock;
use std::time::Instant;

/// Time since the first call in this process, from the OS's monotonic clock.
pub(crate) fn now() -> Duration {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed()
}
