//! Signals: named, observable facts that operations raise and coordinators react to.
//!
//! This module so far holds the glob [`Pattern`]s that select signals by name; the
//! signal table, sink and dispatch follow.

mod pattern;

pub use pattern::{Pattern, PatternSet};
