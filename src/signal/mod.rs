//! Signals: named, observable facts that operations raise and coordinators react to.
//!
//! A [`SignalSink`] holds them: names interned into a [`SignalTable`], presence as an
//! atomic bitset (raise sets, retract clears, `max_age` expires), a bounded history of
//! [`SignalEvent`]s with glob [`Pattern`] queries, and listeners. Coordinators raise into a
//! sink from their bodies ([`OpContext::signal`](crate::OpContext::signal)) and gate
//! intake on it (`cancel_on`, `defer_on`, `resume_on`, `drain_on` in
//! [`Options`](crate::Options)).

mod changes;
mod event;
pub(crate) mod history;
pub(crate) mod listeners;
mod mask;
mod name;
mod pattern;
pub(crate) use pattern::pattern_setters;
mod sink;
mod table;

pub use changes::{SignalChange, SignalChanges};
pub use event::SignalEvent;
pub use listeners::Listener;
pub use mask::SignalMask;
pub use name::{MAX_NAME_BYTES, Name};
pub use pattern::{Pattern, PatternSet};
pub use sink::{SignalName, SignalSink, SinkBuilder, SubscribeError, Subscription};
pub use table::{DEFAULT_NAME_BYTES, MAX_NAMES, Signal, SignalTable, TableError};
