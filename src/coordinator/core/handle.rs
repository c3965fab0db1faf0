//! Handles on a coordinator: every clone of a coordinator shares one [`Owner`], whose
//! drop (the last handle's) cancels the core; a [`WeakCoordinator`] reaches it without
//! keeping it alive, which is how a body gets back to its own coordinator.
//!
//! Handles are counted by `alloc`'s `Arc` even under loom: loom's has no `Weak`, and no
//! model shares handles (the count is `Arc`'s own protocol, not the crate's).

use core::fmt;
use core::marker::PhantomData;

use crate::sync::{Arc, Handle, WeakHandle};

/// What every handle of one coordinator shares, made by `Core::start`: the core, and
/// what the coordinator adds to it (`parts`: a keyed coordinator's key selector).
/// Dropping it (with the last handle) cancels the core (IMPLEMENTATION.md, C7), so no
/// coordinator needs a `Drop` of its own. The cancel is a function chosen by `start`,
/// so this type (and the coordinators holding it) need no bounds.
pub(crate) struct Owner<C, X = ()> {
    pub(super) core: Arc<C>,
    pub(super) stop: fn(&C),
    pub(crate) parts: X,
}

impl<C, X> core::ops::Deref for Owner<C, X> {
    type Target = Arc<C>;
    fn deref(&self) -> &Arc<C> {
        &self.core
    }
}

impl<C, X> Drop for Owner<C, X> {
    fn drop(&mut self) {
        (self.stop)(&self.core);
    }
}

/// A coordinator type as a handle on a shared [`Owner`]: implemented by
/// [`coordinator_kind!`](super::builder::coordinator_kind) for each coordinator, whose
/// only field is `core`.
pub(crate) trait Shares {
    /// The owner every handle of this coordinator shares.
    type Owner;
    /// A handle on `owner`.
    fn from_owner(owner: Handle<Self::Owner>) -> Self;
}

/// Makes a `C` handle from its shared owner, for [`WeakCoordinator`] (which holds the
/// owner behind this trait, so it names no core type).
pub(crate) trait Upgrade<C>: Send + Sync {
    fn upgrade(self: Handle<Self>) -> C;
}

impl<C: Shares<Owner = O>, O: Send + Sync> Upgrade<C> for O {
    fn upgrade(self: Handle<Self>) -> C {
        C::from_owner(self)
    }
}

/// A handle on a coordinator that does not keep it alive: [`upgrade`](Self::upgrade)
/// gives a coordinator handle while any other handle lives, `None` once the last one is
/// gone (the coordinator was cancelled by that drop).
///
/// A body reaches its own coordinator through one: the builder's `build_with` hands it
/// to the function that makes the body (see
/// [`CoordinatorBuilder::build_with`](crate::CoordinatorBuilder)), and a coordinator's
/// `downgrade` makes one from any handle. A body that upgrades holds a strong handle
/// only while it keeps it, so the coordinator still ends when its other handles are
/// dropped, and the calls it makes through it follow the re-entrancy rules (C12): an
/// `enqueue` that would wait is refused with `WouldDeadlock`, a `drain` panics.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
///
/// smol::block_on(async {
///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, _: OpContext| async {}).unwrap();
///     let weak = coordinator.downgrade();
///     assert!(weak.upgrade().is_some());
///     drop(coordinator); // the last handle: cancels the coordinator
///     assert!(weak.upgrade().is_none());
/// });
/// # }
/// ```
pub struct WeakCoordinator<C> {
    owner: WeakHandle<dyn Upgrade<C>>,
    _c: PhantomData<fn() -> C>,
}

impl<C> WeakCoordinator<C> {
    /// A weak handle on `owner`.
    pub(crate) fn new<O: Upgrade<C> + 'static>(owner: WeakHandle<O>) -> Self {
        Self {
            owner,
            _c: PhantomData,
        }
    }

    /// A handle on the coordinator, or `None` once its last handle has been dropped.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, _: OpContext| async {}).unwrap();
    /// let weak = coordinator.downgrade();
    /// assert!(weak.upgrade().is_some());
    /// drop(coordinator); // the last handle: the coordinator is cancelled and gone
    /// assert!(weak.upgrade().is_none());
    /// # }
    /// ```
    pub fn upgrade(&self) -> Option<C> {
        self.owner.upgrade().map(|owner| owner.upgrade())
    }
}

impl<C> Clone for WeakCoordinator<C> {
    fn clone(&self) -> Self {
        Self {
            owner: self.owner.clone(),
            _c: PhantomData,
        }
    }
}

/// Shows whether the coordinator is still alive.
impl<C> fmt::Debug for WeakCoordinator<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakCoordinator")
            .field("alive", &(self.owner.strong_count() > 0))
            .finish()
    }
}

/// Expands to `downgrade` inside a coordinator's `impl` block (whose bounds make its
/// owner `Send + Sync + 'static`).
macro_rules! handle_api {
    () => {
        /// A handle that does not keep the coordinator alive (see
        /// [`WeakCoordinator`]($crate::WeakCoordinator)).
        ///
        /// ```
        /// # #[cfg(feature = "smol")] {
        /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
        ///
        /// let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, _: OpContext| async {}).unwrap();
        /// let other = coordinator.downgrade().upgrade().unwrap();
        /// drop(coordinator);
        /// assert!(!other.is_completed()); // `other` still holds it
        /// # }
        /// ```
        pub fn downgrade(&self) -> $crate::WeakCoordinator<Self> {
            $crate::WeakCoordinator::new($crate::sync::Handle::downgrade(&self.core))
        }
    };
}

pub(crate) use handle_api;
