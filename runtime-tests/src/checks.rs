//! Checks that many scenarios end with.

use ephemeral::Totals;

/// Every enqueued item was counted in exactly one terminal total: completed, failed or
/// cancelled (IMPLEMENTATION.md C2). `executor` names the executor in the failure
/// message.
#[track_caller]
pub fn assert_totals_add_up(totals: &Totals, executor: &str) {
    assert_eq!(
        totals.enqueued,
        totals.completed + totals.failed + totals.cancelled,
        "{executor}: {totals:?}"
    );
}
