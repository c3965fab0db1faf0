//! What an operation is to an observer: its id, its state, and a snapshot of its record.

use core::fmt;
use core::num::NonZeroU32;

use crate::bits::Field;

/// Names one operation for as long as it is tracked, and never another one afterwards.
///
/// An id carries the window it was issued by (its *origin*, unique in the process), the
/// slot that holds the operation and that slot's generation. Lookup is O(1); when the
/// operation is evicted and its slot reused, the generation differs, so the old id
/// answers "unknown" instead of naming the newcomer, and an id issued by another window
/// or coordinator answers "unknown" too, however its slot and generation compare.
///
/// Generations are 32 bits and skip zero: an id could only name a newer operation after
/// its slot has been reused 2^32 times while the id was kept, which at one reuse every
/// 100 ns of a single slot takes seven minutes of continuous traffic through a
/// one-slot window; larger windows spread reuse over their slots.
///
/// ```
/// use ephemeral::{Options, Window};
///
/// let window: Window<&str, ()> = Window::new(&Options::default()).unwrap();
/// let id = window.insert("job", core::time::Duration::ZERO).unwrap();
/// assert_eq!(window.get(id, core::time::Duration::ZERO).unwrap().id, id);
///
/// let other: Window<&str, ()> = Window::new(&Options::default()).unwrap();
/// assert!(other.get(id, core::time::Duration::ZERO).is_none(), "an id answers only where it was issued");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperationId {
    origin: u64,
    generation: NonZeroU32,
    index: u32,
}

impl OperationId {
    pub(crate) fn new(origin: u64, index: u32, generation: u32) -> Self {
        match NonZeroU32::new(generation) {
            Some(generation) => Self {
                origin,
                generation,
                index,
            },
            // Generations skip zero (see `slab::next_generation`), so this arm is dead.
            None => unreachable!("operation generation is never zero"),
        }
    }

    /// The id packed by [`raw`](Self::raw) under `origin`; `None` for 0 (no id).
    pub(crate) fn from_raw(origin: u64, raw: u64) -> Option<Self> {
        let generation = NonZeroU32::new(RAW_GENERATION.get(raw) as u32)?;
        Some(Self {
            origin,
            generation,
            index: RAW_INDEX.get(raw) as u32,
        })
    }

    /// Slot and generation in one word ([`RAW_GENERATION`] above [`RAW_INDEX`], never
    /// 0): what a window stores where its own origin is implied.
    pub(crate) fn raw(self) -> u64 {
        RAW_GENERATION.set(
            RAW_INDEX.place(u64::from(self.index)),
            u64::from(self.generation.get()),
        )
    }

    pub(crate) fn origin(self) -> u64 {
        self.origin
    }

    pub(crate) fn index(self) -> u32 {
        self.index
    }

    pub(crate) fn generation(self) -> u32 {
        self.generation.get()
    }

    /// The id as one number, unique among every id of this process (origin in the high
    /// 64 bits, then generation, then slot): useful as a log or map key.
    ///
    /// ```
    /// # use ephemeral::{Options, Window};
    /// # let window: Window<u8, ()> = Window::new(&Options::default()).unwrap();
    /// let id = window.insert(1, core::time::Duration::ZERO).unwrap();
    /// assert_ne!(id.as_u128(), 0);
    /// ```
    pub fn as_u128(self) -> u128 {
        WIDE_ORIGIN.set(u128::from(self.raw()), u128::from(self.origin))
    }
}

/// The slot of an id's [raw](OperationId::raw) form.
const RAW_INDEX: Field<u64> = Field::new(0, 32);
/// The generation of an id's raw form.
const RAW_GENERATION: Field<u64> = RAW_INDEX.above(32);
/// The origin in [`OperationId::as_u128`], above the raw form.
const WIDE_ORIGIN: Field<u128> = Field::top(64);

/// Hands out window origins: one per window built in this process, never reused.
pub(crate) fn next_origin() -> u64 {
    // Not a modelled protocol, so a plain atomic even under loom; 64 bits never wrap.
    static ORIGINS: portable_atomic::AtomicU64 = portable_atomic::AtomicU64::new(1);
    ORIGINS.fetch_add(1, portable_atomic::Ordering::Relaxed)
}

impl fmt::Debug for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op#{}.{}.{}", self.origin, self.index, self.generation)
    }
}

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Where an operation is in its life: `Pending -> Running -> Completed | Faulted | Cancelled`.
///
/// A pending operation may also be cancelled before it starts.
///
/// ```
/// use ephemeral::State;
///
/// assert!(State::Faulted.is_finished());
/// assert!(!State::Running.is_finished());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Accepted and waiting for a worker.
    Pending,
    /// Its body is running.
    Running,
    /// Its body returned success.
    Completed,
    /// Its body returned an error or panicked.
    Faulted,
    /// It was cancelled, before or while running.
    Cancelled,
}

impl State {
    /// Whether the operation has reached one of its terminal states.
    ///
    /// ```
    /// assert!(ephemeral::State::Cancelled.is_finished());
    /// ```
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Faulted | Self::Cancelled)
    }
}

/// The most operations one window can track at once: an id's slot index is a `u32`, and
/// the slab keeps `u32::MAX` as its end-of-list mark.
pub(crate) const MAX_SLOTS: usize = u32::MAX as usize;
