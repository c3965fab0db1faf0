//! The user types a case hands the library: each counts itself alive while it exists
//! and panics in `Clone`, `Hash`, `Eq` or `Drop` when the fault plan says so.

use core::fmt;
use core::hash::{Hash, Hasher};

use super::case::ItemSpec;
use super::plan::{Fault, Tracked, count, maybe_panic};

/// An item: what its body does, which key and lane it goes to, and its place in its
/// key's enqueue order.
pub struct FaultItem {
    /// Unique within a case (names it in reports and tags its value and error).
    pub n: u32,
    /// The body and routing.
    pub spec: ItemSpec,
    /// How many items of the same key were made before it.
    pub seq: u32,
}

impl FaultItem {
    /// A new live item.
    pub fn new(n: u32, spec: ItemSpec, seq: u32) -> Self {
        count(Tracked::Item, 1);
        Self { n, spec, seq }
    }
}

impl Drop for FaultItem {
    fn drop(&mut self) {
        count(Tracked::Item, -1);
        maybe_panic(Fault::ItemDrop);
    }
}

impl fmt::Debug for FaultItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "item {} ({:?})", self.n, self.spec)
    }
}

/// A keyed coordinator's key.
pub struct FaultKey(pub u8);

impl FaultKey {
    /// A new live key.
    pub fn new(key: u8) -> Self {
        count(Tracked::Key, 1);
        Self(key)
    }
}

impl Clone for FaultKey {
    fn clone(&self) -> Self {
        maybe_panic(Fault::KeyClone);
        Self::new(self.0)
    }
}

impl Hash for FaultKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        maybe_panic(Fault::KeyHash);
        self.0.hash(state);
    }
}

impl PartialEq for FaultKey {
    fn eq(&self, other: &Self) -> bool {
        maybe_panic(Fault::KeyEq);
        self.0 == other.0
    }
}

impl Eq for FaultKey {}

impl Drop for FaultKey {
    fn drop(&mut self) {
        count(Tracked::Key, -1);
        maybe_panic(Fault::KeyDrop);
    }
}

impl fmt::Debug for FaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {}", self.0)
    }
}

/// A result coordinator's value: the number of the item that produced it.
pub struct FaultValue(pub u32);

impl FaultValue {
    /// A new live value.
    pub fn new(n: u32) -> Self {
        count(Tracked::Value, 1);
        Self(n)
    }
}

impl Clone for FaultValue {
    fn clone(&self) -> Self {
        maybe_panic(Fault::ValueClone);
        Self::new(self.0)
    }
}

impl Drop for FaultValue {
    fn drop(&mut self) {
        count(Tracked::Value, -1);
        maybe_panic(Fault::ValueDrop);
    }
}

impl fmt::Debug for FaultValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "value of item {}", self.0)
    }
}

/// A body's error: the number of the item that failed.
pub struct FaultError(pub u32);

impl FaultError {
    /// A new live error.
    pub fn new(n: u32) -> Self {
        count(Tracked::Error, 1);
        Self(n)
    }
}

impl Clone for FaultError {
    fn clone(&self) -> Self {
        maybe_panic(Fault::ErrorClone);
        Self::new(self.0)
    }
}

impl Drop for FaultError {
    fn drop(&mut self) {
        count(Tracked::Error, -1);
        maybe_panic(Fault::ErrorDrop);
    }
}

impl fmt::Debug for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error of item {}", self.0)
    }
}

/// Captured by each closure handed to a coordinator, so the suite sees when the
/// coordinator (or its tasks) let go of it.
pub struct Probe(Tracked);

impl Probe {
    /// A live probe of kind `what`.
    pub fn new(what: Tracked) -> Self {
        count(what, 1);
        Self(what)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        count(self.0, -1);
    }
}
