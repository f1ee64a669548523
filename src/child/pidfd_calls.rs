//! What a handle asks of its child through the pidfd it holds: its info,
//! a signal to the group it leads, its namespaces (see `crate::pidfd_info`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::signal::Signal;

use super::Child;
use crate::error::{Error, Result};
use crate::pidfd_info::{self, PidfdInfo};
use crate::raw::PidfdNamespace;

impl Child<'_> {
    /// The pidfd the handle holds, shown or private, for the calls that
    /// name the child only through it.
    fn own_pidfd(&self, call: &'static str) -> Result<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(AsFd::as_fd).ok_or(Error::Sys {
            call,
            errno: Errno::EBADF,
            detail: Some(
                "the handle holds no pidfd: ask for one (CloneBuilder::pidfd), and keep it (take_pidfd)",
            ),
        })
    }

    /// What the kernel knows of the child, read through its pidfd
    /// (`PIDFD_GET_INFO`, Linux 6.13): its pid, parent and credentials as
    /// seen from here, its cgroup, and once it is reaped by anyone its exit
    /// status (Linux 6.15) and core dump report (Linux 6.16). Never by pid:
    /// it cannot describe another process that reused the pid.
    ///
    /// # Errors
    ///
    /// `Unsupported` before Linux 6.13; `Sys { call: "ioctl", errno: ESRCH }`
    /// once the child is reaped on a kernel that keeps no exit (before
    /// 6.15); `Sys { errno: EBADF }` for a handle without a pidfd (one that
    /// was not asked for, taken out, or, kept privately, let go once the
    /// child was reaped).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneBuilder, Error};
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { CloneBuilder::new().pidfd(true).spawn(|| 0)? };
    /// match child.info() {
    ///     Ok(info) => assert_eq!(info.pid, Some(child.pid())),
    ///     Err(Error::Unsupported { .. }) => {} // before Linux 6.13
    ///     Err(err) => return Err(err),
    /// }
    /// child.wait()?;
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html),
    ///   the kernel's `include/uapi/linux/pidfd.h`
    pub fn info(&self) -> Result<PidfdInfo> {
        pidfd_info::info(self.own_pidfd("ioctl")?)
    }

    /// Sends `sig` to every process of the process group the child leads
    /// (its pgid is its pid: made with
    /// [`Exec::process_group(0)`](crate::Exec::process_group) or
    /// [`Exec::setsid`](crate::Exec::setsid)), through its pidfd
    /// (`PIDFD_SIGNAL_PROCESS_GROUP`, Linux 6.9): the group is named by the
    /// child, not by a number another group could take.
    ///
    /// # Errors
    ///
    /// `Unsupported` before Linux 6.9; `Sys { call: "pidfd_send_signal",
    /// errno: ESRCH }` when no process is in that group (the child leads
    /// none, or every member has exited); `EBADF` as for
    /// [`info`](Self::info).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Error, Exec, Pid, Signal};
    /// let mut child = Exec::new("sleep").arg("100").process_group(Pid::from_raw(0)).spawn()?;
    /// match child.signal_group(Signal::SIGKILL) {
    ///     Ok(()) => {}
    ///     Err(Error::Unsupported { .. }) => child.kill()?, // before Linux 6.9
    ///     Err(err) => return Err(err),
    /// }
    /// assert!(!child.wait()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
    pub fn signal_group(&self, sig: Signal) -> Result<()> {
        pidfd_info::signal_group(self.own_pidfd("pidfd_send_signal")?, sig)
    }

    /// An fd (close-on-exec) for one of the child's namespaces, for
    /// `setns` or to compare with another (`fstat`'s inode): through its
    /// pidfd (`PIDFD_GET_*_NAMESPACE`, Linux 6.11), else by opening
    /// `/proc/<pid>/ns/<kind>` and then asking the pidfd whether the child
    /// still exists, so that the fd is never another process's.
    ///
    /// # Errors
    ///
    /// `Sys { call: "ioctl" }` or `Sys { call: "open" }` (`ESRCH` or
    /// `ENOENT` once it has exited, `EACCES` without ptrace read access,
    /// `EOPNOTSUPP` for a namespace the kernel is built without);
    /// `Sys { call: "pidfd_send_signal", errno: ESRCH }` when it ended
    /// during the open; `EBADF` as for [`info`](Self::info).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::fs::MetadataExt;
    /// use clonekit::{Exec, PidfdNamespace};
    /// let mut child = Exec::new("sleep").arg("100").spawn()?;
    /// let net = std::fs::File::from(child.namespace(PidfdNamespace::Net)?);
    /// // Not asked for a new one: it shares ours.
    /// assert_eq!(net.metadata()?.ino(), std::fs::metadata("/proc/self/ns/net")?.ino());
    /// child.kill()?;
    /// child.wait()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # References
    /// - [setns(2)](https://man7.org/linux/man-pages/man2/setns.2.html),
    ///   [namespaces(7)](https://man7.org/linux/man-pages/man7/namespaces.7.html)
    pub fn namespace(&self, kind: PidfdNamespace) -> Result<OwnedFd> {
        pidfd_info::namespace(self.own_pidfd("ioctl")?, self.pid, kind)
    }
}
