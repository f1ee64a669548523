//! Linux 7.1's clone3 flags: `CLONE_AUTOREAP` (the kernel reaps the child:
//! no zombie, `wait4` answers `ECHILD`, the pidfd still reports the end),
//! `CLONE_NNP` (`no_new_privs` set in the child at creation),
//! `CLONE_PIDFD_AUTOKILL` (the child dies when its pidfd is closed for the
//! last time, which the parent's own death does too) and `CLONE_EMPTY_MNTNS`
//! (a mount namespace holding nothing but its root).
//!
//! On a kernel without them each row is a skip whose reason names the
//! flag and Linux 7.1 (the builder's `Unsupported`).

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use clonekit::{raw, CloneBuilder, CloneFlags, Error, Forked, Syscall};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::helper::{in_helper, reap, reap_pid, step, sys, Abort, HoldPipe, NoVerdict, ReportPage, DEADLINE};
use super::namespaces::spawn_privileged;
use super::{clone_builder, observe, spec, Spec, Verdict};

#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    spec!("autoreap/clone3/with", "AUTOREAP", "zombie, wait4, pidfd", Clone3, true, autoreap),
    spec!("autoreap/clone3/without", "-AUTOREAP", "zombie, wait4, pidfd", Clone3, false, autoreap),
    spec!("nnp/clone3/with", "NNP", "no_new_privs", Clone3, true, nnp),
    spec!("nnp/clone3/without", "-NNP", "no_new_privs", Clone3, false, nnp),
    spec!("pidfd_autokill/clone3/close", "PIDFD_AUTOKILL", "the child, its pidfd closed", Clone3, true, autokill_close),
    spec!("pidfd_autokill/clone3/kept", "-PIDFD_AUTOKILL", "the child, its pidfd closed", Clone3, false, autokill_close),
    spec!("pidfd_autokill/clone3/parent_death", "PIDFD_AUTOKILL", "the child, its parent SIGKILLed", Clone3, true, autokill_parent_death),
    spec!("empty_mntns/clone3/with", "EMPTY_MNTNS", "mount table", Clone3, true, empty_mntns),
    spec!("empty_mntns/clone3/without", "NEWNS", "mount table", Clone3, false, empty_mntns),
];

/// Words of the report page.
const READABLE: usize = 0;
const GONE: usize = 1;
const WAIT4: usize = 2;
const CHILD_NNP: usize = 3;
const PARENT_NNP: usize = 4;
const GRANDCHILD: usize = 5;
const MOUNTS: usize = 6;
const OWN_MOUNTS: usize = 7;

/// Skips the row unless this kernel takes `builder`'s flags: its check
/// says `Unsupported` (with the flag and its release) where it does not.
fn supported(builder: &CloneBuilder<'_>) -> Result<(), NoVerdict> {
    match builder.check() {
        Err(err @ Error::Unsupported { .. }) => Err(NoVerdict::Skip(err.to_string())),
        Err(err) => Err(NoVerdict::Fail(format!("check: {err}"))),
        Ok(()) => Ok(()),
    }
}

/// A builder on clone3 with `flags`, a pidfd and no exit signal.
fn builder<'a>(flags: CloneFlags) -> CloneBuilder<'a> {
    let mut builder = clone_builder(Syscall::Clone3, flags);
    builder.pidfd(true).exit_signal(None);
    builder
}

/// Whether `pid` names no process, polled every millisecond up to `limit`.
fn gone_within(pid: Pid, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        // SAFETY: signal 0 only checks that the pid exists.
        if unsafe { libc::kill(pid.as_raw(), 0) } != 0 {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether `fd` polls readable within [`DEADLINE`].
fn readable(fd: BorrowedFd<'_>) -> bool {
    let mut pollfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = DEADLINE.as_millis() as libc::c_int;
    // SAFETY: one live pollfd.
    unsafe { libc::poll(&mut pollfd, 1, millis) == 1 }
}

fn autoreap_words(page: &ReportPage) -> String {
    let readable = if page.get(READABLE) == 2 {
        "readable"
    } else {
        "not readable"
    };
    let zombie = if page.get(GONE) == 2 {
        "no zombie"
    } else {
        "a zombie"
    };
    let wait4 = match page.get(WAIT4) {
        -1 => "ECHILD".to_string(),
        code => format!("exit {code}"),
    };
    format!("pidfd {readable} at exit; {zombie}; wait4: {wait4}")
}

fn autoreap(_: Syscall, with: bool) -> Verdict {
    let expected = match with {
        true => "pidfd readable at exit; no zombie; wait4: ECHILD",
        false => "pidfd readable at exit; a zombie; wait4: exit 3",
    };
    observe(expected, || {
        let flags = if with {
            CloneFlags::AUTOREAP
        } else {
            CloneFlags::empty()
        };
        supported(&builder(flags))?;
        let page = in_helper(|page| {
            // SAFETY: the child only returns.
            let child = step("spawn", unsafe { builder(flags).spawn(|| 3) })?;
            let pid = child.pid();
            let pidfd = child.pidfd().ok_or(Abort::Broken("no pidfd"))?;
            page.set(READABLE, super::helper::yes_no(readable(pidfd)));
            // The kernel releases an autoreaped child right after the pidfd
            // wakes; a zombie stays until it is reaped.
            page.set(
                GONE,
                super::helper::yes_no(gone_within(pid, Duration::from_secs(1))),
            );
            let waited = match reap_pid(pid) {
                Ok(status) if libc::WIFEXITED(status) => libc::WEXITSTATUS(status).into(),
                Ok(_) => -2,
                Err(Errno::ECHILD) => -1,
                Err(errno) => return sys("wait4", Err(errno)),
            };
            page.set(WAIT4, waited);
            Ok(())
        })?;
        Ok(autoreap_words(&page))
    })
}

/// The calling thread's `no_new_privs` (0 or 1; -1 if unreadable).
fn no_new_privs() -> i64 {
    // SAFETY: PR_GET_NO_NEW_PRIVS reads one flag of the calling thread.
    i64::from(unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) })
}

fn nnp(_: Syscall, with: bool) -> Verdict {
    let expected = format!("no_new_privs: child {}, parent 0", i32::from(with));
    observe(expected, || {
        if no_new_privs() != 0 {
            return Err(NoVerdict::Skip("this process has no_new_privs already".into()));
        }
        let flags = if with {
            CloneFlags::NNP
        } else {
            CloneFlags::empty()
        };
        supported(&builder(flags))?;
        let page = in_helper(|page| {
            // SAFETY: the child makes one prctl and returns its answer.
            let spawned = unsafe { builder(flags).spawn(|| no_new_privs() as i32) };
            let mut child = step("spawn", spawned)?;
            let status = step("wait", reap(&mut child))?;
            page.set(CHILD_NNP, status.code().map_or(-1, i64::from));
            page.set(PARENT_NNP, no_new_privs());
            Ok(())
        })?;
        Ok(format!(
            "no_new_privs: child {}, parent {}",
            page.get(CHILD_NNP),
            page.get(PARENT_NNP)
        ))
    })
}

/// The flags of a child that dies with its pidfd: `CLONE_NNP` too, so that
/// no privilege is needed.
fn autokill_flags() -> CloneFlags {
    CloneFlags::AUTOREAP | CloneFlags::PIDFD_AUTOKILL | CloneFlags::NNP
}

fn autokill_close(_: Syscall, with: bool) -> Verdict {
    let expected = match with {
        true => "killed when its pidfd was closed",
        false => "still running after its pidfd was closed",
    };
    observe(expected, || {
        let flags = if with {
            autokill_flags()
        } else {
            CloneFlags::AUTOREAP
        };
        supported(&builder(flags))?;
        let page = in_helper(|page| {
            let gate = HoldPipe::new()?;
            let work = || {
                gate.pass();
                0
            };
            // SAFETY: the child waits at the gate (at most DEADLINE), then exits.
            let mut child = step("spawn", unsafe { builder(flags).spawn(work) })?;
            let pid = child.pid();
            drop(child.take_pidfd());
            // Killed within a second, long before the gate's own deadline.
            page.set(
                GONE,
                super::helper::yes_no(gone_within(pid, Duration::from_secs(1))),
            );
            gate.open();
            Ok(())
        })?;
        Ok(match page.get(GONE) {
            2 => "killed when its pidfd was closed".into(),
            _ => "still running after its pidfd was closed".into(),
        })
    })
}

fn autokill_parent_death(_: Syscall, _: bool) -> Verdict {
    observe("killed when its parent was SIGKILLed", || {
        supported(&builder(autokill_flags()))?;
        let page = in_helper(|page| {
            let gate = HoldPipe::new()?;
            // SAFETY: the middle process spawns one child and waits to be killed.
            let middle = match step("fork", unsafe { clonekit::fork() })? {
                Forked::Child => {
                    let work = || {
                        gate.pass();
                        0
                    };
                    // SAFETY: the grandchild waits at the gate, then exits.
                    let pid = match unsafe { builder(autokill_flags()).spawn(work) } {
                        Ok(child) => {
                            let pid = child.pid().as_raw();
                            // Keep the pidfd open until this process dies.
                            std::mem::forget(child);
                            pid
                        }
                        Err(_) => -1,
                    };
                    page.set(GRANDCHILD, pid.into());
                    gate.pass();
                    // SAFETY: this process's work is done.
                    unsafe { raw::exit_group(0) }
                }
                Forked::Parent(middle) => middle,
            };
            let grandchild = page.await_set(GRANDCHILD);
            let _ = raw::kill(middle.pid(), Signal::SIGKILL);
            let _ = reap_pid(middle.pid());
            if grandchild <= 0 {
                return Err(Abort::Broken("the middle process could not spawn its child"));
            }
            let pid = Pid::from_raw(grandchild as i32);
            page.set(
                GONE,
                super::helper::yes_no(gone_within(pid, Duration::from_secs(1))),
            );
            gate.open();
            Ok(())
        })?;
        Ok(match page.get(GONE) {
            2 => "killed when its parent was SIGKILLed".into(),
            _ => "outlived its parent".into(),
        })
    })
}

/// The number of lines of `path`, read into a stack buffer (the helper may
/// not allocate); -1 if it cannot be read.
fn count_lines(path: &CStr) -> i64 {
    // SAFETY: a NUL-terminated path; the fd is closed below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return -1;
    }
    let mut buf = [0u8; 4096];
    let mut lines = 0;
    loop {
        // SAFETY: a live buffer of its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        lines += buf[..n as usize].iter().filter(|&&b| b == b'\n').count() as i64;
    }
    // SAFETY: our own fd.
    unsafe { libc::close(fd) };
    lines
}

/// `/proc/<pid>/mountinfo` as a C string in `buf`, written without allocating.
fn mountinfo_path(pid: Pid, buf: &mut [u8; 48]) -> &CStr {
    let mut digits = [0u8; 12];
    let mut n = pid.as_raw().unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut at = 0;
    for &b in b"/proc/"
        .iter()
        .chain(digits[..len].iter().rev())
        .chain(b"/mountinfo\0")
    {
        buf[at] = b;
        at += 1;
    }
    CStr::from_bytes_until_nul(&buf[..at]).unwrap_or(c"/proc/self/mountinfo")
}

fn empty_mntns(_: Syscall, with: bool) -> Verdict {
    let expected = match with {
        true => "1 mount: its root",
        false => "the caller's mounts",
    };
    observe(expected, || {
        let flags = if with {
            CloneFlags::EMPTY_MNTNS
        } else {
            CloneFlags::NEWNS
        };
        supported(&builder(flags))?;
        let page = in_helper(|page| {
            let gate = HoldPipe::new()?;
            let work = || {
                gate.pass();
                0
            };
            // SAFETY: the child waits at the gate, then exits.
            let mut child = unsafe { spawn_privileged(&mut builder(flags), work) }?;
            let mut path = [0u8; 48];
            page.set(MOUNTS, count_lines(mountinfo_path(child.pid(), &mut path)));
            page.set(OWN_MOUNTS, count_lines(c"/proc/self/mountinfo"));
            gate.open();
            step("wait", reap(&mut child))?;
            Ok(())
        })?;
        let (mounts, own) = (page.get(MOUNTS), page.get(OWN_MOUNTS));
        Ok(match (mounts, own) {
            (1, _) => "1 mount: its root".into(),
            (m, o) if m == o => "the caller's mounts".into(),
            (m, o) => format!("{m} mounts (the caller has {o})"),
        })
    })
}
