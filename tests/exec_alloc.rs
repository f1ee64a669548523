//! Spawning an unchanged `Exec` again allocates nothing: a counting global
//! allocator, in its own test binary, counts allocations around `spawn()`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs::File;

use clonekit::{Exec, Pid, Signal, Stdio, Strategy};
use nix::sys::signal::SigSet;
use rstest::rstest;

struct Counting;

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
fn allocations_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
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

#[global_allocator]
static GLOBAL: Counting = Counting;

#[rstest]
#[case::plain(false)]
#[case::every_option(true)]
fn respawn_allocates_nothing(#[case] every_option: bool) {
    for strategy in [Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork] {
        let mut exec = Exec::new("true");
        exec.args(["a", "b"]).strategy(strategy);
        if every_option {
            let mut mask = SigSet::empty();
            mask.add(Signal::SIGUSR1);
            exec.env("CLONEKIT", "1")
                .current_dir("/")
                .stdin(Stdio::Null)
                .stdout(Stdio::Piped)
                .stderr(Stdio::Fd(File::open("/dev/null").unwrap().into()))
                .fd(7, File::open("/dev/null").unwrap().into())
                .process_group(Pid::from_raw(0))
                .sigmask(mask)
                .death_signal(Signal::SIGKILL)
                .close_other_fds(true)
                .pidfd(true);
        }
        // The first spawn builds the plan and warms the stack cache.
        exec.spawn().unwrap().wait().unwrap();
        let mut counts = Vec::with_capacity(20);
        // Control: the counter sees what this thread allocates.
        assert_eq!(allocations_in(|| drop(std::hint::black_box(vec![1u8]))).1, 1);
        for _ in 0..20 {
            let (child, allocations) = allocations_in(|| exec.spawn());
            counts.push(allocations);
            assert!(child.unwrap().wait().unwrap().success());
        }
        assert!(
            counts.iter().all(|&n| n == 0),
            "{strategy:?}: allocations per spawn {counts:?}"
        );
    }
}
