//! The `verify` checks make their helper with a raw fork of a possibly
//! multi-threaded caller, so the helper must not allocate: another thread
//! may have held the allocator's lock at the fork, and the helper would
//! wait for it until its deadline. Here the global allocator ends any
//! process other than the test process that calls it (a forked helper or
//! child) with a code of its own, so that an allocation after the fork
//! turns the check into a failure.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI32, Ordering};

use clonekit::raw;
use clonekit_verify::{self as verify, Outcome};

// The main crate's test support, shared rather than copied.
#[macro_use]
#[path = "../../tests/support/mod.rs"]
mod support;

/// The test process's pid; 0 until the first check runs.
static TEST_PROCESS: AtomicI32 = AtomicI32::new(0);

/// What a forked process that allocates exits with.
const ALLOCATED_AFTER_FORK: i32 = 97;

struct ForkedMustNotAllocate;

fn in_forked_process() -> bool {
    let test_process = TEST_PROCESS.load(Ordering::Relaxed);
    test_process != 0 && raw::getpid().as_raw() != test_process
}

fn refuse_after_fork() {
    if in_forked_process() {
        // SAFETY: ends this forked copy at once; nothing of it is needed.
        unsafe { raw::exit_group(ALLOCATED_AFTER_FORK) }
    }
}

// SAFETY: forwards to the system allocator, or ends a forked process.
unsafe impl GlobalAlloc for ForkedMustNotAllocate {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        refuse_after_fork();
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        refuse_after_fork();
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        refuse_after_fork();
        // SAFETY: forwarded from the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: ForkedMustNotAllocate = ForkedMustNotAllocate;

/// Every check, the set_tid ones first among them (they once built their
/// builder, which read /proc, inside the helper).
#[test]
fn helpers_allocate_nothing() {
    TEST_PROCESS.store(raw::getpid().as_raw(), Ordering::Relaxed);
    let mut failed = Vec::new();
    for spec in verify::all() {
        let check = spec.run();
        match check.outcome {
            Outcome::Pass => {}
            Outcome::Skip(reason) => skip_part!(check.id, "{reason}"),
            Outcome::Fail => failed.push(format!(
                "{}: expected {}, observed {}",
                check.id, check.expected, check.observed
            )),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
