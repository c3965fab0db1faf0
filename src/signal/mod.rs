//! Signals: named, observable facts that operations raise and coordinators react to.
//!
//! This module so far holds the [`SignalTable`] (interned names, presence bits, last
//! raise times) and the glob [`Pattern`]s that select signals by name; the sink, its
//! history and handler dispatch follow.

mod pattern;
mod table;

pub use pattern::{Pattern, PatternSet};
pub use table::{Signal, SignalTable, TableError};
