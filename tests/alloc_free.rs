//! C9 for the foundation: after construction, insert/start/finish/evict cycles allocate
//! nothing. A counting global allocator sees every allocation in this test binary.

use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::alloc::{GlobalAlloc, Layout, System};

use ephemeral::{Options, State, Window};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn insert_start_finish_evict_cycles_allocate_nothing_after_construction() {
    let options = Options::default()
        .max_tracked(64)
        .pin_budget(4)
        .max_operation_lifetime(Duration::from_millis(500));
    let window: Window<[u64; 4], Result<u64, &'static str>> = Window::new(&options).unwrap();
    let cycle = |n: u64| {
        let at = Duration::from_micros(n);
        let id = window.insert([n; 4], at).unwrap();
        let input = window.start(id, at).unwrap();
        let (state, outcome) = if n.is_multiple_of(7) {
            (State::Faulted, Err("seven"))
        } else {
            (State::Completed, Ok(input[0]))
        };
        window.finish(id, state, outcome, at).unwrap();
        if n.is_multiple_of(5) {
            let _ = window.evict(id);
        }
        if n.is_multiple_of(11) {
            let _ = window.pin(id);
        }
        if n.is_multiple_of(13) {
            let _ = window.unpin(id);
        }
        if n.is_multiple_of(17) {
            let _ = window.get(id, at);
        }
        id
    };
    // The counter works: a real allocation registers.
    let probe_before = ALLOCATIONS.load(Ordering::Relaxed);
    drop(std::hint::black_box(Vec::<u8>::with_capacity(8)));
    assert!(ALLOCATIONS.load(Ordering::Relaxed) > probe_before);

    // Warm-up: fill the window and the pins once.
    for n in 0..1_000 {
        cycle(n);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    // Count eviction, age eviction (micros advance past 500 ms), pins and reads.
    for n in 1_000..1_000_000 {
        cycle(n);
    }
    let mut visited = 0;
    window.visit(Duration::from_secs(1), |_| visited += 1);
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(after - before, 0, "allocations during 999,000 cycles");
    assert!(visited > 0);
}
