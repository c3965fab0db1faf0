//! A counting global allocator for the allocation tests. Each test binary that declares
//! `mod counting;` gets it as its global allocator.
//!
//! Counts are per thread: the test harness allocates on its own threads (reporting
//! results) while a test runs, and those allocations are not the test's. The tests run
//! everything they measure on their own thread.

use core::cell::Cell;
use std::alloc::{GlobalAlloc, Layout, System};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread being torn down has no counter left, and is not measured.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations this thread made while `f` ran (checking first that the counter counts).
pub fn allocations_during(f: impl FnOnce()) -> usize {
    let now = || ALLOCATIONS.with(Cell::get);
    let probe = now();
    drop(std::hint::black_box(Vec::<u8>::with_capacity(8)));
    assert!(now() > probe, "the counting allocator is not installed");
    let before = now();
    f();
    now() - before
}
