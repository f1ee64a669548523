//! `CLONE_PIDFD`: a close-on-exec pidfd that becomes readable when the child
//! exits and signals exactly that child; legacy clone returns it through the
//! `parent_tid` pointer.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::process::ExitStatusExt;

use clonekit::{raw, CloneFlags, Syscall};
use nix::sys::signal::Signal;

use super::helper::{in_helper, reap, reap_pid, step, sys, yes_no, Abort, HoldPipe, ReportPage, DEADLINE};
use super::tids::raw_fork;
use super::{clone_builder, observe, spec, Spec, Verdict};

#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    spec!("pidfd/clone/exit", "PIDFD", "pidfd", Clone, true, exit),
    spec!("pidfd/clone/kill", "PIDFD", "pidfd", Clone, true, kill),
    spec!("pidfd/clone/without", "-PIDFD", "pidfd", Clone, false, exit),
    spec!("pidfd/clone/raw_slot", "PIDFD (raw)", "pidfd via parent_tid", Clone, true, raw_slot),
    spec!("pidfd/clone3/exit", "PIDFD", "pidfd", Clone3, true, exit),
    spec!("pidfd/clone3/kill", "PIDFD", "pidfd", Clone3, true, kill),
    spec!("pidfd/clone3/without", "-PIDFD", "pidfd", Clone3, false, exit),
    spec!("pidfd/clone3/raw_field", "PIDFD (raw)", "pidfd via clone_args.pidfd", Clone3, true, raw_slot),
];

/// Words of the report page. each holds 1 for no, 2 for yes (0: not reached).
const HAS_PIDFD: usize = 0;
const CLOEXEC: usize = 1;
const READABLE_EARLY: usize = 2;
const READABLE_AT_EXIT: usize = 3;
const SIGNAL: usize = 4;

fn is_cloexec(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
    flags >= 0 && flags & libc::FD_CLOEXEC != 0
}

/// Whether `fd` polls readable within `millis`.
fn readable(fd: BorrowedFd<'_>, millis: libc::c_int) -> bool {
    let mut pollfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one live pollfd.
    unsafe { libc::poll(&mut pollfd, 1, millis) == 1 && pollfd.revents & libc::POLLIN != 0 }
}

fn exit_words(page: &ReportPage) -> String {
    match page.get(HAS_PIDFD) {
        0 => "the child was not created".into(),
        1 => "no pidfd".into(),
        _ => format!(
            "pidfd {}; {} while running; {} at exit",
            if page.get(CLOEXEC) == 2 {
                "O_CLOEXEC"
            } else {
                "without O_CLOEXEC"
            },
            if page.get(READABLE_EARLY) == 2 {
                "readable"
            } else {
                "not readable"
            },
            if page.get(READABLE_AT_EXIT) == 2 {
                "readable"
            } else {
                "not readable"
            },
        ),
    }
}

fn exit(via: Syscall, with: bool) -> Verdict {
    let expected = if with {
        "pidfd O_CLOEXEC; not readable while running; readable at exit"
    } else {
        "no pidfd"
    };
    observe(expected, || {
        let page = in_helper(|page| {
            let gate = HoldPipe::new()?;
            let work = || {
                gate.pass();
                0
            };
            // SAFETY: the child polls and reads a pipe, then exits.
            let spawned = unsafe { clone_builder(via, CloneFlags::empty()).pidfd(with).spawn(work) };
            let mut child = step("spawn", spawned)?;
            page.set(HAS_PIDFD, yes_no(child.pidfd().is_some()));
            if let Some(pidfd) = child.pidfd() {
                page.set(CLOEXEC, yes_no(is_cloexec(pidfd)));
                page.set(READABLE_EARLY, yes_no(readable(pidfd, 0)));
                gate.open();
                let millis = DEADLINE.as_millis() as libc::c_int;
                page.set(READABLE_AT_EXIT, yes_no(readable(pidfd, millis)));
            }
            gate.open();
            step("wait", reap(&mut child))?;
            Ok(())
        })?;
        Ok(exit_words(&page))
    })
}

fn killed_words(signal: i64) -> String {
    match signal {
        0 => "the child was not killed".into(),
        sig => format!("killed through the pidfd: the child ended by signal {sig}"),
    }
}

fn kill(via: Syscall, _: bool) -> Verdict {
    observe(killed_words(libc::SIGKILL.into()), || {
        let page = in_helper(|page| {
            let gate = HoldPipe::new()?;
            let work = || {
                gate.pass();
                0
            };
            // SAFETY: the child polls and reads a pipe, then exits.
            let spawned = unsafe { clone_builder(via, CloneFlags::empty()).pidfd(true).spawn(work) };
            let mut child = step("spawn", spawned)?;
            if child.pidfd().is_none() {
                return Err(Abort::Broken("no pidfd"));
            }
            step("kill", child.kill(Signal::SIGKILL))?;
            let status = step("wait", reap(&mut child))?;
            page.set(SIGNAL, status.signal().map_or(0, i64::from));
            Ok(())
        })?;
        Ok(killed_words(page.get(SIGNAL)))
    })
}

fn raw_slot(via: Syscall, _: bool) -> Verdict {
    observe(killed_words(libc::SIGKILL.into()), || {
        let page = in_helper(|page| {
            let gate = HoldPipe::new()?;
            let mut slot: libc::c_int = -1;
            // SAFETY: no VM; the slot is a live int; the child waits at the gate.
            let forked = unsafe { raw_fork(via, CloneFlags::PIDFD, &mut slot, std::ptr::null_mut()) };
            let pid = match sys("clone", forked)? {
                None => {
                    gate.pass();
                    // SAFETY: the child's work is done.
                    unsafe { raw::exit_group(0) }
                }
                Some(pid) => pid,
            };
            if slot < 0 {
                let _ = raw::kill(pid, Signal::SIGKILL);
                let _ = reap_pid(pid);
                return Err(Abort::Broken("the kernel wrote no pidfd"));
            }
            // SAFETY: the kernel just made this descriptor; it stays open
            // for the rest of the helper's life.
            let pidfd = unsafe { BorrowedFd::borrow_raw(slot) };
            sys("pidfd_send_signal", {
                raw::pidfd_send_signal(pidfd, Signal::SIGKILL)
            })?;
            let status = sys("wait4", reap_pid(pid))?;
            let signal = if libc::WIFSIGNALED(status) {
                libc::WTERMSIG(status)
            } else {
                0
            };
            page.set(SIGNAL, signal.into());
            Ok(())
        })?;
        Ok(killed_words(page.get(SIGNAL)))
    })
}
