//! [`ExecChild`]: the parent's handle on a spawned program, with the
//! parent's ends of its piped stdio.

use std::fs::File;
use std::os::fd::BorrowedFd;
use std::process::{ExitStatus, Output};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::output;
use crate::child::Child;
use crate::error::Result;

/// A child started by [`Exec::spawn`](super::Exec::spawn): its [`Child`] handle and the parent's
/// ends of its piped stdio.
///
/// Dropping it neither kills nor reaps the child (like
/// `std::process::Child`).
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use clonekit::{Exec, Stdio};
/// let mut child = Exec::new("echo").arg("hi").stdout(Stdio::Piped).spawn()?;
/// let mut out = String::new();
/// child.stdout.take().unwrap().read_to_string(&mut out)?;
/// assert!(child.wait()?.success());
/// assert_eq!(out, "hi\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ExecChild {
    /// The child: pid, pidfd, wait, kill.
    pub child: Child<'static>,
    /// The write end of the child's stdin, with [`Stdio::Piped`](super::Stdio::Piped).
    pub stdin: Option<File>,
    /// The read end of the child's stdout, with [`Stdio::Piped`](super::Stdio::Piped).
    pub stdout: Option<File>,
    /// The read end of the child's stderr, with [`Stdio::Piped`](super::Stdio::Piped).
    pub stderr: Option<File>,
}

impl ExecChild {
    /// The child's pid.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = clonekit::Exec::new("true").spawn()?;
    /// assert!(child.pid().as_raw() > 0);
    /// child.wait()?;
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn pid(&self) -> Pid {
        self.child.pid()
    }

    /// The child's pidfd, with [`Exec::pidfd`](super::Exec::pidfd) (see [`Child::pidfd`]).
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.child.pidfd()
    }

    /// Sends `sig` to the child, never to a process that reused its pid
    /// (see [`Child::kill`]).
    ///
    /// # Errors
    ///
    /// As for [`Child::kill`].
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Signal};
    /// let mut child = Exec::new("sleep").arg("10").pidfd(true).spawn()?;
    /// child.kill(Signal::SIGKILL)?;
    /// assert!(!child.wait()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn kill(&mut self, sig: Signal) -> Result<()> {
        self.child.kill(sig)
    }

    /// Reaps the child if it has exited, without blocking (see
    /// [`Child::try_wait`]).
    ///
    /// # Errors
    ///
    /// As for [`Child::try_wait`].
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Closes the child's stdin (so that it sees end of file), then waits
    /// for it to exit and reaps it.
    ///
    /// # Errors
    ///
    /// `Sys { call: "wait4" }`.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Stdio};
    /// let mut child = Exec::new("cat").stdin(Stdio::Piped).spawn()?;
    /// assert!(child.wait()?.success()); // cat sees EOF at once
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [wait4(2)](https://man7.org/linux/man-pages/man2/wait4.2.html)
    pub fn wait(&mut self) -> Result<ExitStatus> {
        drop(self.stdin.take());
        self.child.wait()
    }

    /// Closes stdin, reads stdout and stderr to their ends at once (on this
    /// thread: `poll` says which pipe has data, so that neither fills up and
    /// blocks the child), then waits for the child and reaps it.
    ///
    /// # Errors
    ///
    /// `Sys { call: "read" | "poll" | "ioctl" }`: the child has been killed
    /// with `SIGKILL` and reaped (this handle is gone, so nothing else could
    /// wait for it); `Sys { call: "wait4" }`.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Stdio};
    /// let child = Exec::new("echo").arg("x").stdout(Stdio::Piped).spawn()?;
    /// assert_eq!(child.wait_with_output()?.stdout, b"x\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
    pub fn wait_with_output(mut self) -> Result<Output> {
        drop(self.stdin.take());
        let (stdout, stderr) = match output::read_both(self.stdout.take(), self.stderr.take()) {
            Ok(both) => both,
            Err(err) => {
                // Neither a zombie nor a child running on unseen.
                self.child.discard();
                return Err(err);
            }
        };
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}
