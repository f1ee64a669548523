//! Forked helpers and children, each waited for at most [`DEADLINE`].
//!
//! A helper is forked from the multi-threaded test harness, so the closure it
//! runs may only do async-signal-safe work: raw system calls, no allocation,
//! no locks, no assertions. It reports through its exit code and a
//! [`SharedPage`](super::shared_page::SharedPage) only.

use std::ffi::c_void;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use clonekit::{raw, Child, Errno, Forked, Pid, Signal};

use super::{poll_until, DEADLINE};

/// Runs `f` in a forked helper process, which exits with what `f` returns;
/// waits for it at most [`DEADLINE`], then kills it.
///
/// `f` runs in a child of a multi-threaded process: async-signal-safe work only.
pub fn in_helper(f: impl FnOnce() -> i32) -> ExitStatus {
    // SAFETY: the child only runs `f`, which the caller keeps async-signal-safe,
    // then exits without returning into the harness.
    match unsafe { clonekit::fork() }.expect("fork a helper") {
        Forked::Child => {
            let code = f();
            // SAFETY: the helper ends here; nothing of it is needed afterwards.
            unsafe { raw::exit_group(code) }
        }
        Forked::Parent(mut child) => wait_bounded(&mut child),
    }
}

/// The exit code of a helper that must have exited normally.
pub fn code_of(status: ExitStatus) -> i32 {
    match status.code() {
        Some(code) => code,
        None => panic!("the helper did not exit normally: {status:?}"),
    }
}

/// Waits for `child` at most [`DEADLINE`]; if it is not done by then, kills
/// it with SIGKILL, reaps it and fails the test.
pub fn wait_bounded(child: &mut Child<'_>) -> ExitStatus {
    if let Some(status) = poll_until(DEADLINE, || child.try_wait().expect("try_wait")) {
        return status;
    }
    child
        .kill(Signal::SIGKILL)
        .expect("kill a child past its deadline");
    let status = child.wait().expect("wait for a killed child");
    panic!("child {} did not finish in {DEADLINE:?}: {status:?}", child.pid());
}

/// Reaps `pid`, a child of this process created by someone else (a helper's
/// `CLONE_PARENT` sibling), at most [`DEADLINE`]; `options` are wait4's
/// (`__WALL` finds it whatever its exit signal). `Err(ECHILD)` if `options`
/// do not match it. Past the deadline, kills and reaps it and fails the test.
pub fn reap_bounded(pid: Pid, options: libc::c_int) -> Result<ExitStatus, Errno> {
    let reaped = poll_until(DEADLINE, || match raw::wait4(pid, options | libc::WNOHANG) {
        Ok(Some(status)) => Some(Ok(ExitStatus::from_raw(status))),
        Ok(None) | Err(Errno::EINTR) => None,
        Err(errno) => Some(Err(errno)),
    });
    if let Some(result) = reaped {
        return result;
    }
    let _ = raw::kill(pid, Signal::SIGKILL);
    let _ = raw::wait4(pid, libc::__WALL);
    panic!("child {pid} did not finish in {DEADLINE:?}");
}

/// A child entry that ends the new task at once (`exit`, not `exit_group`:
/// a `CLONE_THREAD` child must not take its helper down with it).
pub extern "C" fn exit_at_once(_: *mut c_void) -> ! {
    // SAFETY: the new task holds nothing anyone borrows.
    unsafe { raw::exit(0) }
}
