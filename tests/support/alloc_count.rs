//! A counting global allocator for the test binaries that prove a path
//! allocates nothing. Each such binary installs it itself:
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: support::alloc_count::Counting = support::alloc_count::Counting;
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Forwards to the system allocator and counts, per thread, the
/// allocations made inside [`allocations_in`].
pub struct Counting;

thread_local! {
    /// Allocations made by this thread while it counts (`None`: not
    /// counting), so that the harness and the other tests, which run on
    /// other threads, do not blur the count.
    static ALLOCATIONS: Cell<Option<usize>> = const { Cell::new(None) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get().map(|n| n + 1)));
}

/// Allocations made on this thread while running `f`.
pub fn allocations_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
    ALLOCATIONS.with(|n| n.set(Some(0)));
    let value = f();
    (value, ALLOCATIONS.with(|n| n.take()).unwrap_or(0))
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded from the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
