//! A thread made by hand: a `CLONE_THREAD` child on its own [`Stack`],
//! joined through a [`TidSlot`] (`CLONE_CHILD_CLEARTID`), whose stack is
//! then reused for a second thread.
//!
//! The child shares everything a thread shares (memory, cwd, fd table,
//! signal handlers, SysV semaphore undo, thread group) and sends no exit
//! signal. It runs on the caller's thread-local storage (no `CLONE_SETTLS`),
//! so it only computes and stores to atomics: no allocation, no printing.
//!
//! Run with `cargo run --example threads`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use clonekit::{raw, CloneBuilder, CloneFlags, Stack, TidSlot};

/// What a thread reports back, in memory it shares with us.
#[derive(Default)]
struct Report {
    tgid: AtomicI32,
    tid: AtomicI32,
    primes: AtomicU64,
}

/// Counts the primes below `limit` by trial division: plain arithmetic, the
/// kind of work such a thread may do.
fn count_primes(limit: u64) -> u64 {
    (2..limit)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count() as u64
}

/// Runs one thread on `stack`, joins it, and gives the stack back.
fn run_thread(stack: Stack, limit: u64) -> Result<(Report, Stack), String> {
    let report = Report::default();
    let slot = TidSlot::new();
    let work = || {
        report.tgid.store(raw::getpid().as_raw(), Ordering::SeqCst);
        report.tid.store(raw::gettid().as_raw(), Ordering::SeqCst);
        report.primes.store(count_primes(limit), Ordering::SeqCst);
        0
    };
    // SAFETY: the thread only computes and stores to atomics (no TLS, no
    // allocation), and its handle is dropped normally, never leaked.
    let child = unsafe {
        CloneBuilder::new()
            .flags(
                CloneFlags::VM
                    | CloneFlags::FS
                    | CloneFlags::FILES
                    | CloneFlags::SIGHAND
                    | CloneFlags::THREAD
                    | CloneFlags::SYSVSEM,
            )
            .exit_signal(None)
            .clear_child_tid(&slot)
            .stack(stack)
            .spawn(work)
    }
    .map_err(|e| format!("clone: {e}"))?;
    // The kernel clears the slot and wakes us when the thread exits.
    if !slot.wait_cleared(Some(Duration::from_secs(10))) {
        return Err(format!("thread {} did not finish in 10 s", child.pid()));
    }
    let stack = child.into_stack().ok_or("the child had no stack")?;
    Ok((report, stack))
}

fn show(name: &str, report: &Report, limit: u64) {
    let (pid, tid) = (raw::getpid().as_raw(), raw::gettid().as_raw());
    let (tgid, ttid) = (
        report.tgid.load(Ordering::SeqCst),
        report.tid.load(Ordering::SeqCst),
    );
    println!(
        "{name}: tgid {tgid} (main: {pid}, {}), tid {ttid} (main: {tid}, {})",
        if tgid == pid { "same" } else { "DIFFERENT" },
        if ttid != tid { "differs" } else { "SAME" },
    );
    println!(
        "  work: {} primes below {limit}",
        report.primes.load(Ordering::SeqCst)
    );
}

fn main() -> ExitCode {
    let run = || -> Result<bool, String> {
        let stack = Stack::new(64 * 1024).map_err(|e| format!("stack: {e}"))?;
        println!("stack: {} usable bytes", stack.size());
        let (first, stack) = run_thread(stack, 10_000)?;
        show("thread 1", &first, 10_000);
        println!("joined through CLONE_CHILD_CLEARTID; stack handed back for reuse");
        let (second, stack) = run_thread(stack, 20_000)?;
        show("thread 2 (same stack)", &second, 20_000);
        println!("stack: {} usable bytes, ready for a third", stack.size());
        let pid = raw::getpid().as_raw();
        Ok([&first, &second]
            .iter()
            .all(|r| r.tgid.load(Ordering::SeqCst) == pid)
            && first.tid.load(Ordering::SeqCst) != pid
            && second.tid.load(Ordering::SeqCst) != pid)
    };
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("a thread was not in our thread group");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
