//! Which user code panics, and what user objects are alive.
//!
//! The plan is process-wide (the suite runs one case at a time): [`arm`] installs a
//! case's rates, [`maybe_panic`] is called at every fault point, [`disarm`] stops all
//! faults while the suite checks invariants (its own queries must not be sabotaged).
//! Whether the n-th call at a point panics is a hash of the case seed, the point and n,
//! so a single-threaded replay of a seed hits the same calls.

use core::fmt;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU32, AtomicU64, Ordering::SeqCst};

use crate::rng::mix;

/// A place where user code may panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// A body panics (chosen per item, not by rate).
    Body,
    /// `Drop` of an item.
    ItemDrop,
    /// The keyed coordinator's key selector.
    KeyOf,
    /// `Clone` of a key.
    KeyClone,
    /// `Hash` of a key.
    KeyHash,
    /// `PartialEq` of a key.
    KeyEq,
    /// `Drop` of a key.
    KeyDrop,
    /// `Clone` of a result value.
    ValueClone,
    /// `Drop` of a result value.
    ValueDrop,
    /// `Clone` of a body's error.
    ErrorClone,
    /// `Drop` of a body's error.
    ErrorDrop,
    /// The `on_finalized` callback.
    OnFinalized,
    /// The `on_signal` callback.
    OnSignal,
    /// An `on_signal_async` handler (when called, or inside its future).
    SignalHandler,
    /// A closure passed to `visit`.
    Visit,
}

impl Fault {
    /// Every fault point, in a fixed order (indexes the plan's tables).
    pub const ALL: [Fault; 15] = [
        Fault::Body,
        Fault::ItemDrop,
        Fault::KeyOf,
        Fault::KeyClone,
        Fault::KeyHash,
        Fault::KeyEq,
        Fault::KeyDrop,
        Fault::ValueClone,
        Fault::ValueDrop,
        Fault::ErrorClone,
        Fault::ErrorDrop,
        Fault::OnFinalized,
        Fault::OnSignal,
        Fault::SignalHandler,
        Fault::Visit,
    ];

    fn index(self) -> usize {
        Self::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }

    /// The panic message; a literal, so the payload is a `&'static str` and the suite
    /// (and its panic hook) can tell an injected panic from the library's own.
    pub fn message(self) -> &'static str {
        match self {
            Fault::Body => "injected fault: body panicked",
            Fault::ItemDrop => "injected fault: item Drop panicked",
            Fault::KeyOf => "injected fault: key selector panicked",
            Fault::KeyClone => "injected fault: key Clone panicked",
            Fault::KeyHash => "injected fault: key Hash panicked",
            Fault::KeyEq => "injected fault: key Eq panicked",
            Fault::KeyDrop => "injected fault: key Drop panicked",
            Fault::ValueClone => "injected fault: value Clone panicked",
            Fault::ValueDrop => "injected fault: value Drop panicked",
            Fault::ErrorClone => "injected fault: error Clone panicked",
            Fault::ErrorDrop => "injected fault: error Drop panicked",
            Fault::OnFinalized => "injected fault: on_finalized panicked",
            Fault::OnSignal => "injected fault: on_signal panicked",
            Fault::SignalHandler => "injected fault: async signal handler panicked",
            Fault::Visit => "injected fault: visit closure panicked",
        }
    }

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Body => "body",
            Fault::ItemDrop => "item Drop",
            Fault::KeyOf => "key selector",
            Fault::KeyClone => "key Clone",
            Fault::KeyHash => "key Hash",
            Fault::KeyEq => "key Eq",
            Fault::KeyDrop => "key Drop",
            Fault::ValueClone => "value Clone",
            Fault::ValueDrop => "value Drop",
            Fault::ErrorClone => "error Clone",
            Fault::ErrorDrop => "error Drop",
            Fault::OnFinalized => "on_finalized",
            Fault::OnSignal => "on_signal",
            Fault::SignalHandler => "async signal handler",
            Fault::Visit => "visit closure",
        }
    }
}

/// The injected fault a panic message names, if it is one.
pub fn injected(message: &str) -> Option<Fault> {
    Fault::ALL.into_iter().find(|f| f.message() == message)
}

const POINTS: usize = Fault::ALL.len();

static ARMED: AtomicBool = AtomicBool::new(false);
static SEED: AtomicU64 = AtomicU64::new(0);
/// Per point: 0 = never, n = one call in n (on average) panics.
static RATES: [AtomicU32; POINTS] = [const { AtomicU32::new(0) }; POINTS];
static CALLS: [AtomicU64; POINTS] = [const { AtomicU64::new(0) }; POINTS];
static FIRED: [AtomicU64; POINTS] = [const { AtomicU64::new(0) }; POINTS];

/// Installs a case's rates (indexed like [`Fault::ALL`]) and starts injecting.
pub fn arm(seed: u64, rates: &[u32; POINTS]) {
    SEED.store(seed, SeqCst);
    for i in 0..POINTS {
        RATES[i].store(rates[i], SeqCst);
        CALLS[i].store(0, SeqCst);
        FIRED[i].store(0, SeqCst);
    }
    ARMED.store(true, SeqCst);
}

/// Stops injecting (counts of what fired are kept).
pub fn disarm() {
    ARMED.store(false, SeqCst);
}

/// Panics if the plan says this call at `fault` does. Never while the thread is already
/// panicking: a second panic aborts the process, which tests nothing.
pub fn maybe_panic(fault: Fault) {
    if !ARMED.load(SeqCst) || std::thread::panicking() {
        return;
    }
    let i = fault.index();
    let rate = RATES[i].load(SeqCst);
    if rate == 0 {
        return;
    }
    let call = CALLS[i].fetch_add(1, SeqCst);
    let roll = mix(SEED.load(SeqCst) ^ mix(((i as u64) << 48) ^ call));
    if roll.is_multiple_of(u64::from(rate)) {
        record(fault);
        std::panic::panic_any(fault.message());
    }
}

/// Counts a fault that fired (body panics are decided per item, then counted here).
pub fn record(fault: Fault) {
    FIRED[fault.index()].fetch_add(1, SeqCst);
}

/// How many times each fault fired in the current case.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Fired([u64; POINTS]);

/// The faults fired since the last [`arm`].
pub fn fired() -> Fired {
    Fired(core::array::from_fn(|i| FIRED[i].load(SeqCst)))
}

impl Fired {
    /// Whether any fault fired.
    pub fn any(&self) -> bool {
        self.0.iter().any(|n| *n > 0)
    }
}

impl fmt::Display for Fired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (fault, n) in Fault::ALL.iter().zip(self.0) {
            if n > 0 {
                let sep = if first { "" } else { ", " };
                write!(f, "{sep}{} x{n}", fault.name())?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// A kind of user object the suite hands the library and expects back (dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tracked {
    /// Items.
    Item,
    /// Keys (keyed coordinator).
    Key,
    /// Result values.
    Value,
    /// Body errors.
    Error,
    /// The body closure (held by every worker).
    Body,
    /// The key selector.
    KeySelector,
    /// The `on_finalized` callback.
    Finalized,
    /// The `on_signal` callback.
    SignalCallback,
    /// The `on_signal_async` handler (held by the handler tasks).
    SignalHandler,
}

impl Tracked {
    /// Every kind, in a fixed order.
    pub const ALL: [Tracked; 9] = [
        Tracked::Item,
        Tracked::Key,
        Tracked::Value,
        Tracked::Error,
        Tracked::Body,
        Tracked::KeySelector,
        Tracked::Finalized,
        Tracked::SignalCallback,
        Tracked::SignalHandler,
    ];

    fn index(self) -> usize {
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    fn name(self) -> &'static str {
        match self {
            Tracked::Item => "items",
            Tracked::Key => "keys",
            Tracked::Value => "values",
            Tracked::Error => "errors",
            Tracked::Body => "body closure (held by workers)",
            Tracked::KeySelector => "key selector",
            Tracked::Finalized => "on_finalized callback",
            Tracked::SignalCallback => "on_signal callback",
            Tracked::SignalHandler => "async signal handler (held by handler tasks)",
        }
    }
}

static LIVE: [AtomicIsize; Tracked::ALL.len()] = [const { AtomicIsize::new(0) }; 9];

/// Counts one more (or, with -1, one fewer) live object of kind `what`.
pub fn count(what: Tracked, delta: isize) {
    LIVE[what.index()].fetch_add(delta, SeqCst);
}

/// How many user objects of each kind are alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Live([isize; Tracked::ALL.len()]);

impl Live {
    /// The counts now.
    pub fn now() -> Self {
        Self(core::array::from_fn(|i| LIVE[i].load(SeqCst)))
    }

    /// The objects alive now that were not in `baseline`.
    pub fn since(self, baseline: Live) -> Live {
        Self(core::array::from_fn(|i| self.0[i] - baseline.0[i]))
    }

    /// Whether nothing is counted.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|n| *n == 0)
    }
}

impl fmt::Display for Live {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (what, n) in Tracked::ALL.iter().zip(self.0) {
            if n != 0 {
                let sep = if first { "" } else { ", " };
                write!(f, "{sep}{} {n}", what.name())?;
                first = false;
            }
        }
        if first {
            f.write_str("nothing")?;
        }
        Ok(())
    }
}
