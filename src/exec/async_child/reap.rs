//! Reaping an async handle's child through its pidfd: at once if it has
//! ended, else when the reactor says the pidfd is readable; the exit kept
//! on the pidfd when the kernel reaped it first.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use tokio::io::unix::AsyncFd;

use crate::exit_info::{pidfd_exit_released, PidfdExit};
use crate::raw;

/// Whether a reactor error says the runtime it belongs to is shutting down
/// or gone (tokio's "being shutdown" error, which has no errno).
pub(super) fn is_shutdown(err: &io::Error) -> bool {
    err.raw_os_error().is_none()
}

/// Why [`reap_when_ready`] gave up.
pub(super) enum WaitError {
    /// The reactor failed (the runtime is shutting down).
    Reactor(io::Error),
    /// `waitid` failed (`ECHILD`: reaped elsewhere).
    Waitid(Errno),
}

/// Reaps the child at once if it has ended already (a short program often
/// has by the time it is awaited: no trip through the reactor then), else
/// waits until the pidfd is readable (the child has ended) and reaps it.
/// Cancel-safe: readiness is cleared only when `waitid` found the child
/// still running.
pub(super) async fn reap_when_ready(pidfd: &AsyncFd<OwnedFd>) -> std::result::Result<ExitStatus, WaitError> {
    if let Some(status) = reap(pidfd.get_ref().as_fd()).map_err(WaitError::Waitid)? {
        return Ok(status);
    }
    loop {
        let mut ready = pidfd.readable().await.map_err(WaitError::Reactor)?;
        match reap(pidfd.get_ref().as_fd()) {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => ready.clear_ready(),
            Err(errno) => return Err(WaitError::Waitid(errno)),
        }
    }
}

/// Reaps the child of `pidfd` if it has ended (`waitid(P_PIDFD)`, `WNOHANG`).
/// A ptrace stop reported to a tracing caller is passed over, as
/// [`Child::wait`](crate::Child::wait) does.
pub(super) fn reap(pidfd: BorrowedFd<'_>) -> std::result::Result<Option<ExitStatus>, Errno> {
    loop {
        match raw::waitid_pidfd(pidfd, libc::WEXITED | libc::WNOHANG | libc::__WALL) {
            Err(Errno::EINTR) => continue,
            // Reaped by the kernel or another waiter: the exit it kept, if
            // any (Linux 6.15), is the status; still running, not yet.
            Err(Errno::ECHILD) => {
                return match pidfd_exit_released(pidfd) {
                    PidfdExit::Exited(raw_status) => Ok(Some(ExitStatus::from_raw(raw_status))),
                    PidfdExit::NotYet => Ok(None),
                    PidfdExit::Lost => Err(Errno::ECHILD),
                }
            }
            Err(errno) => return Err(errno),
            Ok(Some(info)) if info.is_final() => return Ok(Some(ExitStatus::from_raw(info.wait_status()))),
            Ok(Some(_)) => continue,
            Ok(None) => return Ok(None),
        }
    }
}

/// Kills and reaps a child whose handle could not be made (blocking: it
/// dies at once).
pub(super) fn discard(pidfd: BorrowedFd<'_>) {
    let _ = raw::pidfd_send_signal(pidfd, Signal::SIGKILL);
    let _ = raw::waitid_pidfd(pidfd, libc::WEXITED | libc::__WALL);
}
