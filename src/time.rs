//! Time as the crate stores it: saturating conversions between `Duration` and the
//! nanosecond counts kept in atomic words.
//!
//! Every reading is a monotonic `Duration` from some origin (see
//! [`Timer::now`](crate::runtime::Timer::now)); `u64` nanoseconds cover about 584 years
//! of it. Conversions and additions saturate instead of overflowing, so a limit such as
//! `Duration::MAX` means "never" rather than a panic on the first addition.

use core::time::Duration;

/// `at` in nanoseconds, saturating at `u64::MAX`.
pub(crate) fn to_nanos(at: Duration) -> u64 {
    u64::try_from(at.as_nanos()).unwrap_or(u64::MAX)
}

/// `at` in nanoseconds plus one, so that 0 can mean "never" in a word; saturates at
/// `u64::MAX` (a reading 584 years in is indistinguishable from one a nanosecond later).
pub(crate) fn to_nanos_plus_one(at: Duration) -> u64 {
    to_nanos(at).saturating_add(1)
}

/// The inverse of [`to_nanos_plus_one`]: `None` for 0.
pub(crate) fn from_nanos_plus_one(raw: u64) -> Option<Duration> {
    raw.checked_sub(1).map(Duration::from_nanos)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn conversions_saturate_instead_of_overflowing() {
        assert_eq!(to_nanos(Duration::MAX), u64::MAX);
        assert_eq!(to_nanos_plus_one(Duration::MAX), u64::MAX);
        assert_eq!(to_nanos_plus_one(Duration::ZERO), 1);
        assert_eq!(from_nanos_plus_one(0), None);
        assert_eq!(
            from_nanos_plus_one(to_nanos_plus_one(Duration::from_nanos(7))),
            Some(Duration::from_nanos(7))
        );
    }
}
