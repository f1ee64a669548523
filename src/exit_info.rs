//! A child's exit status read from its pidfd, for when `waitid` has none to
//! give (`ECHILD`): the kernel reaped the child itself (`CLONE_AUTOREAP`, or
//! `SIGCHLD` ignored) or another waiter did. Since Linux 6.15 the kernel
//! keeps the exit of a process that has a pidfd and hands it out through
//! `PIDFD_GET_INFO` with `PIDFD_INFO_EXIT`; it records it when it releases
//! the process, a moment after the pidfd turned readable (the call says
//! `ESRCH` in between, once the pid is released).

use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use nix::errno::Errno;

use crate::raw;

/// What the pidfd says of a child that `waitid` could not reap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PidfdExit {
    /// The raw wait status the kernel kept.
    Exited(libc::c_int),
    /// No exit recorded yet: the process still runs, or the kernel is
    /// releasing it right now.
    NotYet,
    /// None will come: a kernel before 6.15 (or without pidfd ioctls), or
    /// a process gone without one.
    Lost,
}

/// Asks the kernel once for the exit of the process `pidfd` names.
fn pidfd_exit(pidfd: BorrowedFd<'_>) -> PidfdExit {
    match raw::pidfd_get_info(pidfd, raw::PIDFD_INFO_EXIT) {
        Ok(info) if info.mask & raw::PIDFD_INFO_EXIT != 0 => PidfdExit::Exited(info.exit_code),
        Ok(_) => PidfdExit::NotYet,
        Err(Errno::EINTR) => PidfdExit::NotYet,
        // Reaped, the exit not recorded: on a kernel that keeps exits, the
        // moment between the pid's release and the record; before, for good.
        Err(Errno::ESRCH) if keeps_exits() => PidfdExit::NotYet,
        // ESRCH before 6.15; ENOTTY, EINVAL: no such ioctl.
        Err(_) => PidfdExit::Lost,
    }
}

/// [`pidfd_exit`], asked again 1 ms apart while the pidfd is readable and
/// the exit not recorded yet: the kernel records it as it releases the
/// process, right after it notified the pidfd, so this blocks a moment at
/// most. `NotYet` only for a process that still runs. The bound
/// ([`RELEASE_TRIES`]) keeps a process that is never released (a zombie
/// another process traces) from holding the caller: `Lost` then.
pub(crate) fn pidfd_exit_released(pidfd: BorrowedFd<'_>) -> PidfdExit {
    for _ in 0..RELEASE_TRIES {
        let answer = pidfd_exit(pidfd);
        if answer != PidfdExit::NotYet || !readable(pidfd) {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    PidfdExit::Lost
}

/// Whether this kernel keeps the exit of a reaped process on its pidfd
/// (`PIDFD_INFO_EXIT`, Linux 6.15).
fn keeps_exits() -> bool {
    crate::caller::kernel_version().is_some_and(|version| version >= (6, 15))
}

/// How many times [`pidfd_exit_released`] asks.
const RELEASE_TRIES: u32 = 200;

/// Whether the pidfd is readable now (its process ended).
fn readable(pidfd: BorrowedFd<'_>) -> bool {
    let mut fds = [libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    matches!(raw::poll(&mut fds, Some(Duration::ZERO)), Ok(ready) if ready > 0)
}
