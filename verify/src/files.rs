//! The descriptor table: `CLONE_FILES` (shared or copied) and the open file
//! descriptions a forked child shares with its parent (file offsets).

use clonekit::{raw, CloneFlags, Forked, Syscall};
use nix::errno::Errno;

use super::helper::{in_helper, reap, spawn_and_reap, step, sys, Abort, ReportPage, NOT_RUN};
use super::{clone_builder, fork_via, observe, spec, Spec, Verdict};

#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    spec!("files/clone/open/with", "FILES", "fd opened by the child", Clone, true, opened),
    spec!("files/clone/open/without", "-FILES", "fd opened by the child", Clone, false, opened),
    spec!("files/clone3/open/with", "FILES", "fd opened by the child", Clone3, true, opened),
    spec!("files/clone3/open/without", "-FILES", "fd opened by the child", Clone3, false, opened),
    spec!("files/clone/close/with", "FILES", "fd closed by the child", Clone, true, closed),
    spec!("files/clone/close/without", "-FILES", "fd closed by the child", Clone, false, closed),
    spec!("files/clone3/close/with", "FILES", "fd closed by the child", Clone3, true, closed),
    spec!("files/clone3/close/without", "-FILES", "fd closed by the child", Clone3, false, closed),
    spec!("offset/fork", "fork()", "file offset", Fork, true, offset_fork),
    spec!("offset/clone", "(no flags)", "file offset", Clone, true, offset),
    spec!("offset/clone3", "(no flags)", "file offset", Clone3, true, offset),
];

/// Words of the report page.
const FD: usize = 0;
const OPEN: usize = 1;
const RAN: usize = 2;

fn files_flags(with: bool) -> CloneFlags {
    if with {
        CloneFlags::FILES
    } else {
        CloneFlags::empty()
    }
}

/// Whether `fd` is open in this process (`fcntl(F_GETFD)`).
fn is_open(fd: libc::c_int) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

fn open_dev_null() -> libc::c_int {
    // SAFETY: a NUL-terminated path and valid flags.
    unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) }
}

fn open_in_parent(open: bool) -> &'static str {
    if open {
        "open in the parent"
    } else {
        "not open in the parent"
    }
}

fn report(page: &ReportPage) -> String {
    match page.get(RAN) {
        0 => NOT_RUN.into(),
        _ => open_in_parent(page.get(OPEN) == 1).into(),
    }
}

fn opened(via: Syscall, with: bool) -> Verdict {
    observe(open_in_parent(with), || {
        let page = in_helper(|page| {
            let work = || {
                page.set(FD, i64::from(open_dev_null()));
                page.set(RAN, 1);
                0
            };
            // SAFETY: the child makes raw calls and stores to atomics only.
            unsafe { spawn_and_reap(&mut clone_builder(via, files_flags(with)), work) }?;
            if page.get(FD) < 0 {
                return Err(Abort::Broken("the child could not open /dev/null"));
            }
            page.set(OPEN, i64::from(is_open(page.get(FD) as libc::c_int)));
            Ok(())
        })?;
        Ok(report(&page))
    })
}

fn closed(via: Syscall, with: bool) -> Verdict {
    observe(open_in_parent(!with), || {
        let page = in_helper(|page| {
            let fd = sys("open", Errno::result(open_dev_null()))?;
            let work = || {
                // SAFETY: `fd` is open in the child's table.
                unsafe { libc::close(fd) };
                page.set(RAN, 1);
                0
            };
            // SAFETY: as in `opened`; with CLONE_FILES the close is meant
            // to reach the helper, which no longer uses `fd`.
            unsafe { spawn_and_reap(&mut clone_builder(via, files_flags(with)), work) }?;
            page.set(OPEN, i64::from(is_open(fd)));
            Ok(())
        })?;
        Ok(report(&page))
    })
}

/// What the child writes to the shared file.
const WRITTEN: &[u8] = b"clonekit";

fn offset(via: Syscall, _: bool) -> Verdict {
    offset_via(Some(via))
}

fn offset_fork() -> Verdict {
    offset_via(None)
}

/// A child from [`fork_via`] writes to a file it shares with the parent;
/// the parent's offset must move.
fn offset_via(via: Option<Syscall>) -> Verdict {
    let moved = |at: i64| format!("the child's write moved the parent's offset to {at}");
    observe(moved(WRITTEN.len() as i64), || {
        let page = in_helper(|page| {
            // SAFETY: a NUL-terminated name and valid flags.
            let fd = unsafe { libc::memfd_create(c"clonekit-offset".as_ptr(), libc::MFD_CLOEXEC) };
            let fd = sys("memfd_create", Errno::result(fd))?;
            // SAFETY: the child makes raw calls only, then exits.
            let forked = unsafe { fork_via(via) };
            match step("fork", forked)? {
                Forked::Child => {
                    // SAFETY: a live buffer of its length.
                    unsafe { libc::write(fd, WRITTEN.as_ptr().cast(), WRITTEN.len()) };
                    page.set(RAN, 1);
                    // SAFETY: the child's work is done.
                    unsafe { raw::exit_group(0) }
                }
                Forked::Parent(mut child) => {
                    step("wait", reap(&mut child))?;
                }
            }
            // SAFETY: lseek on our own descriptor.
            let at = unsafe { libc::lseek(fd, 0, libc::SEEK_CUR) };
            page.set(FD, sys("lseek", Errno::result(at))?);
            Ok(())
        })?;
        Ok(match page.get(RAN) {
            0 => NOT_RUN.into(),
            _ => moved(page.get(FD)),
        })
    })
}
