//! The callbacks a coordinator builder collects, the same for every coordinator.

use super::*;
use crate::window::Label;

/// Called with each operation's snapshot as it becomes terminal.
pub(crate) type Finalized<E> = Box<dyn Fn(&Snapshot<&Outcome<E>>) + Send + Sync>;

/// [`Finalized`] as the core calls it: with the snapshot of the full record `O`.
pub(super) type Report<O> = Box<dyn Fn(Snapshot<&O>) + Send + Sync>;

/// Writes the label of an item enqueued without one.
pub(crate) type Describe<T> = Box<dyn Fn(&T, &mut Label) + Send + Sync>;

/// The callbacks a coordinator builder collects, the same for every coordinator: `E` is
/// its bodies' error, `T` its items.
pub(crate) struct Hooks<E, T> {
    pub(super) on_finalized: Option<Finalized<E>>,
    pub(super) describe: Option<Describe<T>>,
    pub(super) on_signal: Option<OnSignal>,
    /// Present once async handlers were spawned for it.
    pub(super) dispatch: Option<Arc<Dispatch>>,
    /// The capacity of the completions queue, if one is kept.
    pub(super) completions: Option<usize>,
}

impl<E, T> Default for Hooks<E, T> {
    fn default() -> Self {
        Self {
            on_finalized: None,
            describe: None,
            on_signal: None,
            dispatch: None,
            completions: None,
        }
    }
}

impl<E, T> Hooks<E, T> {
    pub(crate) fn describe(&mut self, describe: impl Fn(&T, &mut Label) + Send + Sync + 'static) {
        self.describe = Some(Box::new(describe));
    }

    pub(crate) fn on_finalized(
        &mut self,
        report: impl Fn(&Snapshot<&Outcome<E>>) + Send + Sync + 'static,
    ) {
        self.on_finalized = Some(Box::new(report));
    }

    /// Takes `on_finalized` out and hands the other hooks over for a core whose window
    /// shows errors as `F` (a result coordinator reports its operations itself, with the
    /// error and value its window does not keep).
    pub(crate) fn take_finalized<F>(mut self) -> (Option<Finalized<E>>, Hooks<F, T>) {
        let finalized = self.on_finalized.take();
        let rest = Hooks {
            on_finalized: None,
            describe: self.describe.take(),
            on_signal: self.on_signal.take(),
            dispatch: self.dispatch.take(),
            completions: self.completions,
        };
        (finalized, rest)
    }

    pub(crate) fn on_signal(&mut self, report: impl Fn(&SignalEvent) + Send + Sync + 'static) {
        self.on_signal = Some(Box::new(report));
    }

    /// Spawns `options.max_concurrent_signal_handlers` tasks running `handler`.
    pub(crate) fn on_signal_async<S, H, Fut>(&mut self, spawner: &S, options: &Options, handler: H)
    where
        S: Spawner,
        H: Fn(SignalEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send,
    {
        if let Some(old) = self.dispatch.take() {
            old.close();
        }
        if options.validate().is_err() {
            // `build` refuses these options with the error; spawn nothing for them.
            return;
        }
        let dispatch = Arc::new(Dispatch::new(options.max_queued_signals));
        Dispatch::spawn_handlers(
            &dispatch,
            spawner,
            options.max_concurrent_signal_handlers,
            handler,
        );
        self.dispatch = Some(dispatch);
    }
}

impl<E, T> Drop for Hooks<E, T> {
    fn drop(&mut self) {
        // Still here: the build failed, so no coordinator will close the handlers.
        if let Some(dispatch) = &self.dispatch {
            dispatch.close();
        }
    }
}
