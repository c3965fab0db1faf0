//! A keyed coordinator's per-key gate: signals whose names carry the key
//! (`defer_on_key("circuit.open.{key}", ..)`) and predicates over the key and the sink
//! (`gate(|key, sink| ..)`), asked before each of the key's items starts.
//!
//! Names are made per check in a fixed-size [`KeyName`] on the stack and looked up in the
//! sink's table, never interned: checking a key that no one raised a signal for adds
//! nothing to the table, and nothing is allocated per item. What the gate decides is
//! acted on by the scheduler (`scheduler/hold.rs`): a deferred key is held there, so it
//! holds no worker.

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::KeyedWorkCoordinator;
use crate::coordinator::CoordinatorBuilder;
use crate::coordinator::core::admission::Gate;
use crate::options::OptionsError;
use crate::signal::SignalSink;

/// What writes a key into a signal name.
type Render<K> = Box<dyn Fn(&K, &mut KeyName) -> fmt::Result + Send + Sync>;
/// A user's gate over a key and the sink.
type Predicate<K> = Box<dyn Fn(&K, &SignalSink) -> Gate + Send + Sync>;

/// The placeholder a per-key signal name puts the key in.
const PLACEHOLDER: &str = "{key}";

/// A signal name made for one key, in a fixed buffer of [`KeyName::CAPACITY`] bytes: a
/// key's render function writes the key into it (it is a [`fmt::Write`]). A name that
/// does not fit is not made, so it gates nothing.
///
/// ```
/// use core::fmt::Write;
/// use ephemeral::KeyName;
///
/// let mut name = KeyName::new();
/// write!(name, "circuit.open.{}", "example.org").unwrap();
/// assert_eq!(name.as_str(), "circuit.open.example.org");
/// assert!(write!(name, "{}", "x".repeat(KeyName::CAPACITY)).is_err());
/// ```
#[derive(Clone)]
pub struct KeyName {
    bytes: [u8; KeyName::CAPACITY],
    len: usize,
}

impl KeyName {
    /// The longest name, in bytes.
    pub const CAPACITY: usize = 128;

    /// An empty name.
    ///
    /// ```
    /// assert_eq!(ephemeral::KeyName::new().as_str(), "");
    /// ```
    pub const fn new() -> Self {
        Self {
            bytes: [0; Self::CAPACITY],
            len: 0,
        }
    }

    /// The name written so far.
    ///
    /// ```
    /// use core::fmt::Write;
    /// let mut name = ephemeral::KeyName::new();
    /// name.write_str("a.b").unwrap();
    /// assert_eq!(name.as_str(), "a.b");
    /// ```
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are ever appended, so the bytes are UTF-8; an empty name is
        // what a broken invariant would give, never a panic.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl Default for KeyName {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for KeyName {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let place = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        place.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl fmt::Debug for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeyName").field(&self.as_str()).finish()
    }
}

/// One `{key}` name: the text around the placeholder, what it does, how a key is written.
struct Named<K> {
    prefix: String,
    suffix: String,
    cancels: bool,
    render: Render<K>,
}

impl<K> Named<K> {
    /// The name for `key`, or `None` if it does not fit (or the render function failed).
    fn name(&self, key: &K) -> Option<KeyName> {
        use fmt::Write;
        let mut name = KeyName::new();
        name.write_str(&self.prefix).ok()?;
        (self.render)(key, &mut name).ok()?;
        name.write_str(&self.suffix).ok()?;
        Some(name)
    }
}

/// Every per-key gate a keyed builder was given.
pub struct KeyGate<K> {
    named: Vec<Named<K>>,
    predicates: Vec<Predicate<K>>,
    /// The first pattern refused, reported by `build`.
    refused: Option<OptionsError>,
}

impl<K> Default for KeyGate<K> {
    fn default() -> Self {
        Self {
            named: Vec::new(),
            predicates: Vec::new(),
            refused: None,
        }
    }
}

impl<K> KeyGate<K> {
    /// Whether any gate was given.
    pub(crate) fn is_empty(&self) -> bool {
        self.named.is_empty() && self.predicates.is_empty()
    }

    /// The first bad pattern given, if any.
    pub(crate) fn validate(&self) -> Result<(), OptionsError> {
        self.refused.map_or(Ok(()), Err)
    }

    /// Adds a `{key}` name that defers (or `cancels`) a key's items while present.
    pub fn add_named(
        &mut self,
        pattern: &str,
        cancels: bool,
        render: impl Fn(&K, &mut KeyName) -> fmt::Result + Send + Sync + 'static,
    ) {
        match pattern.split_once(PLACEHOLDER) {
            Some((prefix, suffix)) if !suffix.contains(PLACEHOLDER) => {
                self.named.push(Named {
                    prefix: prefix.into(),
                    suffix: suffix.into(),
                    cancels,
                    render: Box::new(render),
                });
            }
            _ => {
                self.refused.get_or_insert(OptionsError::KeyPlaceholder);
            }
        }
    }

    /// What the gates decide for `key`: cancel if any cancels, else defer if any
    /// defers, else run. Runs user code (the render functions and predicates): the
    /// caller contains it.
    pub(crate) fn decide(&self, key: &K, sink: &SignalSink) -> Gate {
        let mut deferring = None;
        for named in &self.named {
            let Some(name) = named.name(key) else {
                continue;
            };
            let Some(signal) = sink.table().lookup(name.as_str()) else {
                // Never interned, so never raised: nothing to look at.
                continue;
            };
            if !sink.is_raised(signal) {
                continue;
            }
            if named.cancels {
                return Gate::Cancel(signal);
            }
            deferring.get_or_insert(signal);
        }
        for predicate in &self.predicates {
            match predicate(key, sink) {
                Gate::Run => {}
                Gate::Cancel(signal) => return Gate::Cancel(signal),
                Gate::Defer(signal) => {
                    deferring.get_or_insert(signal);
                }
            }
        }
        deferring.map_or(Gate::Run, Gate::Defer)
    }
}

/// Per-key signal gates, asked before each keyed item starts (after its key's turn
/// comes, before the coordinator's own `cancel_on`/`defer_on`). A deferred key is held
/// in the scheduler: its items wait in its queue, holding no worker, while other keys'
/// items run on; it is looked at again when the signal deferring it is retracted or
/// expires (the sink's `max_age`), and after `Options::max_defer` its items start as if
/// no signal were present, until the signal goes. A cancelled item ends `Cancelled`
/// with [`CancelCause::Signal`](crate::CancelCause::Signal). The coordinator needs the
/// sink these signals are raised into: give it with `Options::signals` (or raise them
/// into [`signals()`](KeyedWorkCoordinator::signals)).
///
/// With `max_concurrency_per_key` above 1, items of one key that workers took together
/// and that were deferred together may start again in another order.
impl<T, K, R, E> CoordinatorBuilder<KeyedWorkCoordinator<T, K, R, E>> {
    /// Defers a key's items while the signal named `pattern`, with `{key}` replaced by
    /// what `render` writes for the key, is present. `pattern` holds `{key}` exactly once
    /// (else `build` refuses it with [`OptionsError::KeyPlaceholder`]); the name is
    /// looked up as it is, not as a pattern, and a name longer than
    /// [`KeyName::CAPACITY`] never defers.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use core::fmt::Write;
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol, signal::SignalSink};
    ///
    /// smol::block_on(async {
    ///     let sink = SignalSink::new();
    ///     let coordinator = KeyedWorkCoordinator::builder(Smol, |url: &(&str, u32)| url.0, Options::default().signals(sink.clone()))
    ///         .defer_on_key("circuit.open.{key}", |host, name| write!(name, "{host}"))
    ///         .build(|_: (&str, u32), _: OpContext| async {})
    ///         .unwrap();
    ///     sink.raise("circuit.open.b.example").unwrap();
    ///     coordinator.enqueue(("a.example", 1)).await.unwrap();
    ///     coordinator.enqueue(("b.example", 1)).await.unwrap();
    ///     coordinator.enqueue(("a.example", 2)).await.unwrap();
    ///     while coordinator.totals().completed < 2 { smol::Timer::after(std::time::Duration::from_millis(1)).await; }
    ///     assert_eq!(coordinator.pending_count_for_key(&"b.example"), 1, "b is held");
    ///     sink.retract("circuit.open.b.example");
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 3);
    /// });
    /// # }
    /// ```
    pub fn defer_on_key(
        mut self,
        pattern: &str,
        render: impl Fn(&K, &mut KeyName) -> fmt::Result + Send + Sync + 'static,
    ) -> Self {
        self.parts.gate.add_named(pattern, false, render);
        self
    }

    /// Cancels a key's items while the signal named `pattern` (with `{key}` replaced as
    /// for [`defer_on_key`](Self::defer_on_key)) is present.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use core::fmt::Write;
    /// use ephemeral::{KeyedWorkCoordinator, OpContext, Options, runtime::Smol, signal::SignalSink};
    ///
    /// smol::block_on(async {
    ///     let sink = SignalSink::new();
    ///     let coordinator = KeyedWorkCoordinator::builder(Smol, |n: &u32| n % 2, Options::default().signals(sink.clone()))
    ///         .cancel_on_key("gone.{key}", |key, name| write!(name, "{key}"))
    ///         .build(|_: u32, _: OpContext| async {})
    ///         .unwrap();
    ///     sink.raise("gone.1").unwrap();
    ///     coordinator.enqueue_many(0..10).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     let totals = coordinator.totals();
    ///     assert_eq!((totals.completed, totals.cancelled), (5, 5));
    /// });
    /// # }
    /// ```
    pub fn cancel_on_key(
        mut self,
        pattern: &str,
        render: impl Fn(&K, &mut KeyName) -> fmt::Result + Send + Sync + 'static,
    ) -> Self {
        self.parts.gate.add_named(pattern, true, render);
        self
    }

    /// A gate of your own: `decide` is given an item's key and the coordinator's sink
    /// and says whether the item runs, is deferred (its key held while the signal it
    /// names is present) or is cancelled. It runs on a worker before each keyed item
    /// starts, so keep it to a few loads; a panic in it is contained and counted, and
    /// the item runs.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{Gate, KeyedWorkCoordinator, OpContext, Options, runtime::Smol, signal::SignalSink};
    ///
    /// smol::block_on(async {
    ///     let sink = SignalSink::new();
    ///     let quiet = sink.signal("quiet-hours").unwrap();
    ///     let coordinator = KeyedWorkCoordinator::builder(Smol, |n: &u32| *n, Options::default().signals(sink.clone()))
    ///         .gate(move |key, sink| match sink.is_raised(quiet) && *key >= 100 {
    ///             true => Gate::Cancel(quiet),
    ///             false => Gate::Run,
    ///         })
    ///         .build(|_: u32, _: OpContext| async {})
    ///         .unwrap();
    ///     sink.raise(quiet).unwrap();
    ///     coordinator.enqueue_many([1, 200]).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().cancelled, 1);
    /// });
    /// # }
    /// ```
    pub fn gate(
        mut self,
        decide: impl Fn(&K, &SignalSink) -> Gate + Send + Sync + 'static,
    ) -> Self {
        self.parts.gate.predicates.push(Box::new(decide));
        self
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::format;

    fn gate() -> KeyGate<u32> {
        let mut gate = KeyGate::default();
        gate.add_named("open.{key}", false, |key, name| {
            fmt::Write::write_fmt(name, format_args!("{key}"))
        });
        gate.add_named("{key}.gone", true, |key, name| {
            fmt::Write::write_fmt(name, format_args!("{key}"))
        });
        gate
    }

    #[test]
    fn a_keys_own_signal_defers_or_cancels_it_and_no_other_key() {
        let sink = SignalSink::new();
        let gate = gate();
        assert_eq!(gate.decide(&1, &sink), Gate::Run);
        let open = sink.raise("open.1").unwrap();
        assert_eq!(gate.decide(&1, &sink), Gate::Defer(open));
        assert_eq!(gate.decide(&2, &sink), Gate::Run);
        let gone = sink.raise("1.gone").unwrap();
        assert_eq!(gate.decide(&1, &sink), Gate::Cancel(gone), "cancel wins");
        sink.retract("open.1");
        sink.retract("1.gone");
        assert_eq!(gate.decide(&1, &sink), Gate::Run);
    }

    #[test]
    fn checking_a_key_interns_no_name() {
        let sink = SignalSink::new();
        let gate = gate();
        for key in 0..1000 {
            assert_eq!(gate.decide(&key, &sink), Gate::Run);
        }
        assert_eq!(sink.table().len(), 0);
    }

    #[test]
    fn a_pattern_without_exactly_one_placeholder_is_refused() {
        let render = |_: &u32, _: &mut KeyName| Ok(());
        for bad in ["open", "{key}.{key}", "{ key }"] {
            let mut gate = KeyGate::default();
            gate.add_named(bad, false, render);
            assert_eq!(gate.validate(), Err(OptionsError::KeyPlaceholder), "{bad}");
        }
    }

    #[test]
    fn a_name_too_long_for_the_buffer_gates_nothing() {
        // A sink whose names may be longer than any key name.
        let sink = SignalSink::builder()
            .name_bytes(crate::signal::MAX_NAME_BYTES)
            .build();
        let long = "k".repeat(KeyName::CAPACITY);
        sink.raise(format!("open.{long}")).unwrap();
        let mut gate: KeyGate<String> = KeyGate::default();
        gate.add_named("open.{key}", false, |key, name| {
            fmt::Write::write_str(name, key)
        });
        assert_eq!(gate.decide(&long, &sink), Gate::Run);
    }

    #[test]
    fn predicates_are_asked_with_the_key_and_cancel_beats_defer() {
        let sink = SignalSink::new();
        let busy = sink.raise("busy").unwrap();
        let stop = sink.raise("stop").unwrap();
        let mut gate: KeyGate<u32> = KeyGate::default();
        gate.predicates.push(Box::new(move |key, _| match key {
            0 => Gate::Run,
            _ => Gate::Defer(busy),
        }));
        gate.predicates.push(Box::new(move |key, _| match key {
            2 => Gate::Cancel(stop),
            _ => Gate::Run,
        }));
        assert_eq!(gate.decide(&0, &sink), Gate::Run);
        assert_eq!(gate.decide(&1, &sink), Gate::Defer(busy));
        assert_eq!(gate.decide(&2, &sink), Gate::Cancel(stop));
    }
}
