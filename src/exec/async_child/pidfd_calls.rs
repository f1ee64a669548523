//! What an async handle asks of its child through the pidfd, until the
//! reap: its info, a signal to the group it leads, its namespaces.

use std::os::fd::{BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{AsyncExecChild, State};
use crate::error::{Error, Result};
use crate::pidfd_info::{self, PidfdInfo};
use crate::raw::PidfdNamespace;

impl AsyncExecChild {
    /// The pidfd while the child is not reaped, for the calls below.
    fn running_pidfd(&self, call: &'static str) -> Result<BorrowedFd<'_>> {
        match &self.state {
            State::Running(pidfd) => Ok(pidfd.fd()),
            _ => Err(Error::Sys {
                call,
                errno: Errno::ESRCH,
                detail: Some("the child is reaped: its pidfd is closed"),
            }),
        }
    }

    /// What the kernel knows of the child, through its pidfd, until it is
    /// reaped: see [`Child::info`](crate::Child::info).
    ///
    /// # Errors
    ///
    /// As for [`Child::info`](crate::Child::info); `ESRCH` once reaped.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = clonekit::Exec::new("sleep").arg("100").spawn_async()?;
    /// if let Ok(info) = child.info() {
    ///     assert_eq!(info.pid.map(|p| p.as_raw() as u32), child.id()); // Linux 6.13
    /// }
    /// child.kill().await?;
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn info(&self) -> Result<PidfdInfo> {
        pidfd_info::info(self.running_pidfd("ioctl")?)
    }

    /// Sends `sig` to the process group the child leads, through its pidfd:
    /// see [`Child::signal_group`](crate::Child::signal_group).
    ///
    /// # Errors
    ///
    /// As for [`Child::signal_group`](crate::Child::signal_group); `ESRCH`
    /// once reaped.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Error, Signal};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = clonekit::Exec::new("sleep").arg("100").setsid(true).spawn_async()?;
    /// match child.signal_group(Signal::SIGKILL) {
    ///     Ok(()) => {}
    ///     Err(Error::Unsupported { .. }) => child.start_kill()?, // before Linux 6.9
    ///     Err(err) => return Err(err),
    /// }
    /// assert!(!child.wait().await?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn signal_group(&self, sig: Signal) -> Result<()> {
        pidfd_info::signal_group(self.running_pidfd("pidfd_send_signal")?, sig)
    }

    /// An fd for one of the child's namespaces: see
    /// [`Child::namespace`](crate::Child::namespace).
    ///
    /// # Errors
    ///
    /// As for [`Child::namespace`](crate::Child::namespace); `ESRCH` once
    /// reaped.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::PidfdNamespace;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = clonekit::Exec::new("sleep").arg("100").spawn_async()?;
    /// let uts = child.namespace(PidfdNamespace::Uts)?;
    /// drop(uts);
    /// child.kill().await?;
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn namespace(&self, kind: PidfdNamespace) -> Result<OwnedFd> {
        pidfd_info::namespace(self.running_pidfd("ioctl")?, Pid::from_raw(self.pid as i32), kind)
    }
}
