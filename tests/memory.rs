//! IMPLEMENTATION.md, Memory: what each option costs in heap bytes, measured (the live
//! heap a structure holds once built, counted by a global allocator), so the tables in
//! the `Options` docs and IMPLEMENTATION.md stay true. The numbers asserted are those of
//! 64-bit targets with `std`; `Options::small` is held to its stated bound everywhere.

use core::cell::Cell;
use core::future::Future;
use core::pin::Pin;
use core::time::Duration;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;

use ephemeral::runtime::{ManualClock, Spawner, Timer};
use ephemeral::{OpContext, Options, Outcome, Window, WorkCoordinator};

struct Live;

thread_local! {
    /// Bytes this thread allocated and has not freed.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    // `try_with`: a thread being torn down has no counter left, and is not measured.
    let _ = LIVE.try_with(|n| n.set(n.get() + bytes));
}

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

/// The heap bytes `build`'s value holds (allocated while it was built, not yet freed).
fn held<T>(build: impl FnOnce() -> T) -> usize {
    let before = LIVE.with(Cell::get);
    let value = build();
    let after = LIVE.with(Cell::get);
    drop(value);
    usize::try_from(after - before).unwrap()
}

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A spawner that keeps every task (boxed) on the test thread, so a worker's task is
/// counted; the tasks are never polled.
#[derive(Clone, Default)]
struct Keep {
    tasks: std::sync::Arc<Mutex<Vec<Task>>>,
    clock: ManualClock,
}

impl Spawner for Keep {
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        self.tasks.lock().unwrap().push(Box::pin(future));
    }
}

impl Timer for Keep {
    type Sleep = <ManualClock as Timer>::Sleep;
    fn sleep(&self, duration: Duration) -> Self::Sleep {
        self.clock.sleep(duration)
    }
    fn now(&self) -> Duration {
        self.clock.now()
    }
}

fn coordinator(options: Options) -> (WorkCoordinator<u32, Keep>, Keep) {
    let keep = Keep::default();
    // Room for every task up front, so the task list's growth is not counted.
    keep.tasks.lock().unwrap().reserve(64);
    let built = WorkCoordinator::new(keep.clone(), options, |_: u32, _: OpContext| async {});
    (built.unwrap(), keep)
}

/// The numbers of a 64-bit target with `std` (which keeps panic messages in each slot).
#[cfg(all(target_pointer_width = "64", feature = "std"))]
mod measured {
    use super::*;
    use ephemeral::signal::SignalSink;
    use ephemeral::{Label, OPERATION_SIGNALS};

    /// What one more unit of an option costs: the held bytes at `n + step` minus those at
    /// `n`, per unit.
    fn per_unit<T>(n: usize, step: usize, build: impl Fn(usize) -> T) -> usize {
        (held(|| build(n + step)) - held(|| build(n))) / step
    }

    /// A coordinator with async signal handlers, whose queue `max_queued_signals` sizes.
    fn with_handlers(options: Options) -> (WorkCoordinator<u32, Keep>, Keep) {
        let keep = Keep::default();
        keep.tasks.lock().unwrap().reserve(64);
        let built = WorkCoordinator::builder(keep.clone(), options)
            .on_signal_async(|_| async {})
            .build(|_: u32, _: OpContext| async {});
        (built.unwrap(), keep)
    }

    /// Small sizes of everything, so that one option at a time can grow.
    fn base() -> Options {
        Options::default()
            .max_concurrency(1)
            .queue_capacity(64)
            .max_tracked(64)
            .pin_budget(0)
            .signals(sink(64, 64, 4))
    }

    fn sink(names: usize, history: usize, listeners: usize) -> SignalSink {
        SignalSink::builder()
            .names(names)
            .history(history)
            .listeners(listeners)
            .build()
    }

    /// A window slot of a `Window<(), ()>`, and of a `WorkCoordinator<u32, _, ()>`.
    const SLOT: usize = 168;
    const COORDINATOR_SLOT: usize = 312;
    /// What a coordinator keeps beside each window slot: a wake-up and an ending word.
    const ENDING: usize = 24;

    #[test]
    fn each_option_costs_what_the_options_docs_say() {
        let slot = per_unit(64, 64, |n| {
            Window::<(), ()>::new(&base().queue_capacity(n)).unwrap()
        });
        assert_eq!(slot, SLOT, "a window slot");
        assert_eq!(
            slot - OPERATION_SIGNALS * 8 - core::mem::size_of::<Label>(),
            72,
            "state and times of a slot"
        );
        let coordinator_slot = per_unit(64, 64, |n| {
            Window::<u32, Outcome<()>>::new(&base().queue_capacity(n)).unwrap()
        });
        assert_eq!(
            coordinator_slot, COORDINATOR_SLOT,
            "a coordinator's window slot"
        );

        // Beside each window slot a coordinator keeps a wake-up and the last ending of
        // the slot's operation, for `wait` and results.
        let s = COORDINATOR_SLOT + ENDING;
        assert_eq!(
            per_unit(64, 64, |n| coordinator(base().queue_capacity(n))),
            s + 24,
            "queue_capacity"
        );
        assert_eq!(
            per_unit(64, 64, |n| coordinator(base().max_tracked(n))),
            s + 8,
            "max_tracked"
        );
        assert_eq!(
            per_unit(8, 8, |n| coordinator(base().pin_budget(n))),
            s,
            "pin_budget"
        );
        let task = per_unit(1, 1, |n| coordinator(base().max_concurrency(n))) - s - 128;
        assert!(
            task < 1024,
            "a worker's task for an empty body: {task} bytes"
        );
        assert_eq!(
            per_unit(64, 64, |n| with_handlers(base().max_queued_signals(n))),
            64,
            "max_queued_signals"
        );

        assert_eq!(per_unit(64, 64, |n| sink(n, 64, 4)), 96, "a sink name");
        assert_eq!(per_unit(64, 64, |n| sink(64, n, 4)), 48, "a history event");
        assert_eq!(per_unit(64, 64, |n| sink(64, 64, n)), 48, "a listener");
    }

    #[test]
    fn the_defaults_need_hundreds_of_kib_as_the_options_docs_say() {
        let window = held(|| {
            Window::<u32, Outcome<()>>::new(&Options::default().max_concurrency(1)).unwrap()
        });
        let whole = held(|| coordinator(Options::default().max_concurrency(1)));
        assert!(
            (405 << 10..425 << 10).contains(&window),
            "default window: {window} bytes"
        );
        assert!(
            (510 << 10..530 << 10).contains(&whole),
            "default coordinator: {whole} bytes"
        );
        let default_sink = held(SignalSink::new);
        assert!(
            (65 << 10..80 << 10).contains(&default_sink),
            "default sink: {default_sink} bytes"
        );
    }
}

/// `Options::small`: the window under 8 KiB and the whole coordinator (sink, queue,
/// window, one worker's seat and task) under 13 KiB, as its docs state.
#[test]
fn the_small_preset_fits_a_microcontroller() {
    let window = held(|| Window::<u32, Outcome<()>>::new(&Options::small()).unwrap());
    assert!(window < 8 << 10, "small window: {window} bytes");
    let whole = held(|| coordinator(Options::small()));
    assert!(whole < 13 << 10, "small coordinator: {whole} bytes");
    println!("Options::small(): window {window} bytes, coordinator {whole} bytes");
}
