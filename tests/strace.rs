//! Which system call is really issued: `clonekit::fork()` is the `fork`
//! system call (glibc's `fork()` is `clone`), and `CloneBuilder` issues
//! `clone` or `clone3` as `Syscall` chooses.
//!
//! Each test re-runs this test binary, for itself alone, under
//! `strace -f`; in that run (the environment variable `MODE` names the test)
//! it does its calls between two marker writes to fd -1, which strace shows
//! with EBADF, and the driver reads the process-creating calls between them.

use std::process::Command;

use clonekit::{raw, CloneBuilder, CloneFlags, Forked, Syscall};

#[macro_use]
mod support;

use support::fork::wait_bounded;
use support::rerun::run_bounded;
use support::DEADLINE;

/// Set to a test's name in the traced run of that test.
const MODE: &str = "CLONEKIT_STRACE_CHILD";
const BEGIN: &str = "clonekit-mark-begin";
const END: &str = "clonekit-mark-end";
const CREATING: [&str; 4] = ["fork", "vfork", "clone", "clone3"];

/// A write strace shows and nobody reads (fd -1: EBADF).
fn mark(text: &str) {
    // SAFETY: write to an invalid fd reads the buffer at most.
    unsafe { libc::write(-1, text.as_ptr().cast(), text.len()) };
}

/// In the traced run: does `calls` between markers. Otherwise: runs this
/// test under strace and checks that exactly `expected` process-creating
/// calls were made between the markers.
fn traced(name: &str, calls: fn(), expected: &[&str]) {
    if std::env::var(MODE).as_deref() == Ok(name) {
        // The probe of clone3 (itself a clone3 call) is cached: do it now.
        let _ = CloneBuilder::new().flags(CloneFlags::CLEAR_SIGHAND).check();
        mark(BEGIN);
        calls();
        mark(END);
        return;
    }
    if Command::new("strace").arg("-V").output().is_err() {
        skip!("strace is not installed");
    }
    let log = std::env::temp_dir().join(format!("clonekit-strace-{}-{name}.log", std::process::id()));
    let exe = std::env::current_exe().expect("current_exe");
    let mut strace = Command::new("strace");
    strace
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=fork,vfork,clone,clone3,write",
            "-e",
            "signal=none",
            "-o",
        ])
        .arg(&log)
        .arg(&exe)
        .args(["--exact", name, "--test-threads=1", "--nocapture"])
        .env(MODE, name);
    let (output, status) = run_bounded(&mut strace, DEADLINE);
    let trace = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    let Some(status) = status else {
        panic!("the traced run of {name} did not finish in {DEADLINE:?}");
    };
    if !trace.contains(BEGIN) && output.contains("ptrace") {
        skip!("strace cannot trace here: {}", output.trim());
    }
    assert!(status.success(), "the traced run failed: {status}\n{output}");
    assert_eq!(
        creating_calls(&trace),
        expected,
        "between the markers of:\n{trace}"
    );
}

/// The process-creating calls strace saw between the markers, in order.
fn creating_calls(trace: &str) -> Vec<String> {
    let mut inside = None;
    for line in trace.lines() {
        // "PID call(...)" with -f and -o; "[pid PID] call(...)" without -o.
        let call = line
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ')
            .trim_start_matches("[pid ")
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == ']' || c == ' ');
        if call.starts_with(&format!("write(-1, \"{BEGIN}\"")) {
            inside = Some(Vec::new());
        } else if call.starts_with(&format!("write(-1, \"{END}\"")) {
            return inside.expect("the end marker came before the begin marker");
        } else if let Some(calls) = inside.as_mut() {
            // "<... clone resumed>" continues a call already counted.
            let name = call.split('(').next().unwrap_or("");
            if CREATING.contains(&name) {
                calls.push(name.to_owned());
            }
        }
    }
    panic!("the markers are missing")
}

/// Spawns a child with `builder` that exits at once, and reaps it.
fn spawn_and_reap(builder: &mut CloneBuilder<'_>) {
    // SAFETY: the child only returns.
    let mut child = unsafe { builder.spawn(|| 0) }.expect("spawn");
    wait_bounded(&mut child);
}

/// Forks with `builder`; the child exits at once and is reaped.
fn fork_and_reap(builder: &mut CloneBuilder<'_>) {
    // SAFETY (both blocks): the child only exits.
    match unsafe { builder.fork() }.expect("fork") {
        Forked::Child => unsafe { raw::exit_group(0) },
        Forked::Parent(mut child) => {
            wait_bounded(&mut child);
        }
    }
}

#[test]
fn fork_is_the_fork_syscall() {
    traced(
        "fork_is_the_fork_syscall",
        || {
            // SAFETY (both blocks): the child only exits.
            match unsafe { clonekit::fork() }.expect("fork") {
                Forked::Child => unsafe { raw::exit_group(0) },
                Forked::Parent(mut child) => {
                    wait_bounded(&mut child);
                }
            }
        },
        FORK_SYSCALL,
    );
}

/// What `clonekit::fork()` issues: the `fork` system call where the
/// architecture has one, `clone(SIGCHLD)` where it does not (aarch64).
#[cfg(clonekit_sys_fork)]
const FORK_SYSCALL: &[&str] = &["fork"];
#[cfg(not(clonekit_sys_fork))]
const FORK_SYSCALL: &[&str] = &["clone"];

#[test]
fn spawn_with_clone() {
    traced(
        "spawn_with_clone",
        || spawn_and_reap(CloneBuilder::new().syscall(Syscall::Clone)),
        &["clone"],
    );
}

#[test]
fn spawn_with_clone3() {
    traced(
        "spawn_with_clone3",
        || spawn_and_reap(CloneBuilder::new().syscall(Syscall::Clone3)),
        &["clone3"],
    );
}

#[test]
fn spawn_auto_plain_is_clone() {
    traced(
        "spawn_auto_plain_is_clone",
        || spawn_and_reap(&mut CloneBuilder::new()),
        &["clone"],
    );
}

#[test]
fn spawn_auto_clear_sighand_is_clone3() {
    traced(
        "spawn_auto_clear_sighand_is_clone3",
        || spawn_and_reap(CloneBuilder::new().flags(CloneFlags::CLEAR_SIGHAND)),
        &["clone3"],
    );
}

#[test]
fn fork_with_clone() {
    traced(
        "fork_with_clone",
        || fork_and_reap(CloneBuilder::new().syscall(Syscall::Clone)),
        &["clone"],
    );
}

#[test]
fn fork_with_clone3() {
    traced(
        "fork_with_clone3",
        || fork_and_reap(CloneBuilder::new().syscall(Syscall::Clone3)),
        &["clone3"],
    );
}

#[test]
fn fork_auto_plain_is_clone() {
    traced(
        "fork_auto_plain_is_clone",
        || fork_and_reap(&mut CloneBuilder::new()),
        &["clone"],
    );
}

#[test]
fn fork_auto_clear_sighand_is_clone3() {
    traced(
        "fork_auto_clear_sighand_is_clone3",
        || fork_and_reap(CloneBuilder::new().flags(CloneFlags::CLEAR_SIGHAND)),
        &["clone3"],
    );
}

/// The driver itself: markers and resumed lines are read right.
#[test]
fn creating_calls_reads_strace_output() {
    let trace = "\
100 clone3({flags=0, exit_signal=SIGCHLD}, 88) = 101
100 write(-1, \"clonekit-mark-begin\", 19) = -1 EBADF (Bad file descriptor)
100 clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>
101 write(1, \"x\", 1) = 1
100 <... clone resumed>)                = 102
[pid 100] fork()                        = 103
100 write(-1, \"clonekit-mark-end\", 17) = -1 EBADF (Bad file descriptor)
100 vfork()                             = 104
";
    assert_eq!(creating_calls(trace), ["clone", "fork"]);
}

/// The contrast that shows the trace can tell: glibc's `fork()` is `clone`.
#[test]
fn glibc_fork_is_clone() {
    traced(
        "glibc_fork_is_clone",
        || {
            // SAFETY (both blocks): the child only exits; the parent reaps
            // it (the driver bounds the whole traced run in time).
            match unsafe { libc::fork() } {
                0 => unsafe { libc::_exit(0) },
                pid if pid > 0 => unsafe {
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                },
                _ => panic!("glibc fork failed: {}", std::io::Error::last_os_error()),
            }
        },
        &["clone"],
    );
}
