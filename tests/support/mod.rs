//! What the test programs share, one copy of each: the deadline every child
//! is held to, the lock that serialises the forking tests of a program, the
//! skip macros, and by concern in the submodules:
//!
//! - [`fork`]: forked helpers and children, with bounded waits;
//! - [`shared_page`]: memory a forked child writes and the test reads;
//! - [`pipe_child`]: a forked child that talks to the test over pipes;
//! - [`rerun`]: this test program run again as a helper process;
//! - [`procfs`]: what /proc says about this process;
//! - [`seccomp`]: a filter that refuses one system call;
//! - [`alloc_count`]: a global allocator that counts;
//! - [`clone_case`]: one clone request asked of `check()` and of the raw
//!   call, in a helper made in a caller context.
//!
//! Each test program declares it with `#[macro_use] mod support;`, which
//! brings the macros along. A test that cannot run here says so with
//! [`skip!`] (or [`require_root!`], [`require_clone3!`], [`skip_on_err!`]):
//! it prints `SKIP <test>: <reason>` to stderr, past the harness's capture,
//! and returns, so that a skip never counts as a pass without its reason
//! being shown (`cargo test 2>&1 | grep SKIP` lists them).

// Every test program compiles all of this and uses a part of it.
#![allow(dead_code, unused_macros)]

use std::fmt::Display;
use std::io::Write as _;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use clonekit::{raw, CloneFlags, Errno};

/// Prints `SKIP <test>: <reason>` and returns from the calling function,
/// which returns `()`. The reason is written as for `format!`.
macro_rules! skip {
    ($($reason:tt)+) => {{
        // Its type name is the path of the function that skips: the test's
        // name where the harness gives none.
        fn here() {}
        $crate::support::report_skip(
            &$crate::support::test_name(::std::any::type_name_of_val(&here)),
            format_args!($($reason)+),
        );
        return;
    }};
}

/// Prints `SKIP <test> (<part>): <reason>` for a part of a test that cannot
/// run here; the test goes on with the other parts.
macro_rules! skip_part {
    ($part:expr, $($reason:tt)+) => {{
        fn here() {}
        let test = $crate::support::test_name(::std::any::type_name_of_val(&here));
        $crate::support::report_skip(&format!("{test} ({})", $part), format_args!($($reason)+));
    }};
}

/// Skips the test unless it runs as root: "needs root", or the reason given.
macro_rules! require_root {
    () => {
        require_root!("needs root")
    };
    ($($reason:tt)+) => {
        if !$crate::support::is_root() {
            skip!($($reason)+);
        }
    };
}

/// Skips the test unless this process may call clone3.
macro_rules! require_clone3 {
    () => {
        if !$crate::support::has_clone3() {
            skip!("no clone3");
        }
    };
}

/// The value in `Ok`; on `Err(why)`, skips the test with `why` as the reason.
macro_rules! skip_on_err {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(why) => skip!("{why}"),
        }
    };
}

pub mod alloc_count;
pub mod clone_case;
pub mod exec;
pub mod fork;
pub mod pipe_child;
pub mod procfs;
pub mod rerun;
pub mod seccomp;
pub mod shared_page;

/// How long any child of a test may take before it is killed, and how long
/// any awaited event may take before the test gives up on it.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The variable that divides the iteration counts of the stress tests: set
/// where the machine is much slower than a host (an emulated kernel in the
/// kernel matrix), unset elsewhere.
pub const STRESS_SCALE_ENV: &str = "CLONEKIT_STRESS_SCALE";

/// How many times a stress test repeats what it would repeat `count` times
/// on a host: `count` divided by [`STRESS_SCALE_ENV`] (1 when unset), at
/// least once.
pub fn stress_count(count: usize) -> usize {
    let scale = match std::env::var(STRESS_SCALE_ENV) {
        Ok(text) => match text.parse::<usize>() {
            Ok(scale) if scale > 0 => scale,
            _ => panic!("{STRESS_SCALE_ENV}={text:?}: expected a divisor, a whole number from 1"),
        },
        Err(_) => 1,
    };
    (count / scale).max(1)
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Serialises the tests of one program that take it: they fork, create
/// descriptors (which a concurrent fork would copy), change process-wide
/// state such as signal dispositions, or count the process's fds and
/// children. A test that panicked does not poison it for the others.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether this process runs as root (many kernel features need it).
pub fn is_root() -> bool {
    // SAFETY: no arguments.
    unsafe { libc::geteuid() == 0 }
}

/// Whether this process may call clone3: it exists, and no filter refuses it.
pub fn has_clone3() -> bool {
    !matches!(raw::clone3_probe(), Errno::ENOSYS | Errno::EPERM)
}

/// Calls `poll` every few milliseconds until it gives a value, for at most
/// `limit`; `None` if it gave none by then.
pub fn poll_until<T>(limit: Duration, mut poll: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = poll() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Whether `done` holds within `limit` (checked every few milliseconds).
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    poll_until(limit, || done().then_some(())).is_some()
}

/// The flags of a thread-like child: what `pthread_create` shares.
pub const THREAD: CloneFlags = CloneFlags::VM
    .union(CloneFlags::FS)
    .union(CloneFlags::FILES)
    .union(CloneFlags::SIGHAND)
    .union(CloneFlags::THREAD)
    .union(CloneFlags::SYSVSEM);

/// The test a skip belongs to: the name the harness gave the test's thread,
/// or, in a program without the harness, `here`, the path of the function
/// that skips.
pub fn test_name(here: &str) -> String {
    match thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => here.trim_end_matches("::here").replace("::{{closure}}", ""),
    }
}

/// Prints the line that says `test` did not run here, and why:
/// `SKIP <test>: <reason>`.
///
/// The line goes straight to the process's stderr, not through `println!`:
/// the harness captures only the print macros (and shows what they printed
/// for failed tests only), so a skip written this way is seen in plain
/// `cargo test` output, where it would otherwise pass for a pass. One write
/// of the whole line, so that tests skipping at once do not mix their lines.
pub fn report_skip(test: &str, reason: impl Display) {
    let line = format!("SKIP {test}: {reason}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
