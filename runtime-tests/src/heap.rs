//! A counting global allocator: live heap bytes and blocks, for leak checks.
//!
//! A test binary installs it with
//! `#[global_allocator] static HEAP: CountingAllocator = CountingAllocator;` and reads
//! [`Heap::now`] before and after the code it checks. Only allocations made through the
//! Rust global allocator are counted (thread stacks and the C library's own buffers are
//! not), which is what a leak in Rust code looks like.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Counts every allocation, reallocation and free, then defers to [`System`].
pub struct CountingAllocator;

static BYTES: AtomicUsize = AtomicUsize::new(0);
static BLOCKS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees are ours; the counters are plain atomics beside it.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let block = unsafe { System.alloc(layout) };
        if !block.is_null() {
            BYTES.fetch_add(layout.size(), Relaxed);
            BLOCKS.fetch_add(1, Relaxed);
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        let block = unsafe { System.alloc_zeroed(layout) };
        if !block.is_null() {
            BYTES.fetch_add(layout.size(), Relaxed);
            BLOCKS.fetch_add(1, Relaxed);
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `block` came from this allocator with `layout`.
        unsafe { System.dealloc(block, layout) };
        BYTES.fetch_sub(layout.size(), Relaxed);
        BLOCKS.fetch_sub(1, Relaxed);
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        let moved = unsafe { System.realloc(block, layout, new_size) };
        if !moved.is_null() {
            // One block either way; only its size changed.
            BYTES.fetch_add(new_size, Relaxed);
            BYTES.fetch_sub(layout.size(), Relaxed);
        }
        moved
    }
}

/// Live heap: bytes and blocks allocated and not yet freed, process-wide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heap {
    /// Bytes requested by live allocations.
    pub bytes: usize,
    /// Live allocations.
    pub blocks: usize,
}

impl Heap {
    /// The live heap now (all zeros unless [`CountingAllocator`] is the global allocator).
    pub fn now() -> Self {
        Self {
            bytes: BYTES.load(Relaxed),
            blocks: BLOCKS.load(Relaxed),
        }
    }

    /// How much more is live now than in `baseline` (negative: less).
    pub fn since(self, baseline: Heap) -> (isize, isize) {
        (
            self.bytes.wrapping_sub(baseline.bytes) as isize,
            self.blocks.wrapping_sub(baseline.blocks) as isize,
        )
    }
}
