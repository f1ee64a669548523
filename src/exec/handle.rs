//! [`ExecChild`]: the parent's handle on a spawned program, with the
//! parent's ends of its piped stdio, and the methods of
//! `std::process::Child` under the same names.

use std::fs::File;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout, ExitStatus, Output};
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::output;
use crate::child::Child;
use crate::error::Result;
use crate::pidfd_info::PidfdInfo;
use crate::raw::PidfdNamespace;
use crate::rusage::ResourceUsage;

/// A child started by [`Exec::spawn`](super::Exec::spawn): the methods of
/// `std::process::Child` under the same names ([`id`](Self::id),
/// [`kill`](Self::kill), [`wait`](Self::wait), [`try_wait`](Self::try_wait),
/// [`wait_with_output`](Self::wait_with_output)), the parent's ends of its
/// piped stdio as std's own types, and what std lacks:
/// [`signal`](Self::signal), [`wait_timeout`](Self::wait_timeout),
/// [`rusage`](Self::rusage), [`pidfd`](Self::pidfd).
///
/// Errors are [`clonekit::Error`](crate::Error), which `?` turns into an
/// `io::Error` where code written for std expects one.
///
/// # Dropping
///
/// Dropping it neither kills nor reaps the child (like
/// `std::process::Child`), unless [`Exec::kill_on_drop`](super::Exec::kill_on_drop)
/// was set: then a child not yet reaped is sent `SIGKILL` and reaped.
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use clonekit::{Exec, Stdio};
/// let mut child = Exec::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
/// let mut out = String::new();
/// child.stdout.take().unwrap().read_to_string(&mut out)?;
/// assert!(child.wait()?.success());
/// assert_eq!(out, "hi\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ExecChild {
    child: Child<'static>,
    /// The write end of the child's stdin, with [`Stdio::piped`](super::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The read end of the child's stdout, with [`Stdio::piped`](super::Stdio::piped).
    pub stdout: Option<ChildStdout>,
    /// The read end of the child's stderr, with [`Stdio::piped`](super::Stdio::piped).
    pub stderr: Option<ChildStderr>,
    /// Kill and reap the child when the handle is dropped.
    kill_on_drop: bool,
}

impl ExecChild {
    /// The handle on `child`, with the parent's ends of its pipes.
    pub(super) fn new(child: Child<'static>, pipes: [Option<File>; 3], kill_on_drop: bool) -> ExecChild {
        let [stdin, stdout, stderr] = pipes.map(|pipe| pipe.map(OwnedFd::from));
        ExecChild {
            child,
            stdin: stdin.map(ChildStdin::from),
            stdout: stdout.map(ChildStdout::from),
            stderr: stderr.map(ChildStderr::from),
            kill_on_drop,
        }
    }

    /// The child's process id, as `std::process::Child::id` gives it.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = clonekit::Exec::new("true").spawn()?;
    /// assert_eq!(child.id(), child.pid().as_raw() as u32);
    /// child.wait()?;
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn id(&self) -> u32 {
        self.child.pid().as_raw().unsigned_abs()
    }

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

    /// The child's pidfd, with [`Exec::pidfd`](super::Exec::pidfd) (see
    /// [`Child::pidfd`]). Without it the handle may still hold one for its
    /// own use, which is not shown.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = clonekit::Exec::new("true").pidfd(true).spawn()?;
    /// assert!(child.pidfd().is_some());
    /// child.wait()?;
    /// assert!(clonekit::Exec::new("true").spawn()?.pidfd().is_none());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.child.pidfd()
    }

    /// Takes the pidfd (asked for with [`Exec::pidfd`](super::Exec::pidfd))
    /// out of the handle, so that it outlives it (see [`Child::take_pidfd`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = clonekit::Exec::new("true").pidfd(true).spawn()?;
    /// let pidfd = child.take_pidfd().expect("asked for");
    /// child.wait()?;
    /// drop(pidfd);
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn take_pidfd(&mut self) -> Option<OwnedFd> {
        self.child.take_pidfd()
    }

    /// What the kernel knows of the child, through the pidfd the handle
    /// holds (shown or private): see [`Child::info`].
    ///
    /// # Errors
    ///
    /// As for [`Child::info`].
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Error, Exec};
    /// let mut child = Exec::new("sleep").arg("100").spawn()?;
    /// match child.info() {
    ///     Ok(info) => assert_eq!(info.ppid.map(|p| p.as_raw() as u32), Some(std::process::id())),
    ///     Err(Error::Unsupported { .. }) => {} // before Linux 6.13
    ///     Err(err) => return Err(err),
    /// }
    /// child.kill()?;
    /// child.wait()?;
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn info(&self) -> Result<PidfdInfo> {
        self.child.info()
    }

    /// Sends `sig` to the process group the child leads, through its pidfd:
    /// see [`Child::signal_group`].
    ///
    /// # Errors
    ///
    /// As for [`Child::signal_group`].
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Error, Exec, Signal};
    /// let mut child = Exec::new("sleep").arg("100").setsid(true).spawn()?;
    /// match child.signal_group(Signal::SIGTERM) {
    ///     Ok(()) => {}
    ///     Err(Error::Unsupported { .. }) => child.kill()?, // before Linux 6.9
    ///     Err(err) => return Err(err),
    /// }
    /// assert!(!child.wait()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn signal_group(&self, sig: Signal) -> Result<()> {
        self.child.signal_group(sig)
    }

    /// An fd for one of the child's namespaces: see [`Child::namespace`].
    ///
    /// # Errors
    ///
    /// As for [`Child::namespace`].
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, PidfdNamespace};
    /// let mut child = Exec::new("sleep").arg("100").spawn()?;
    /// let mnt = child.namespace(PidfdNamespace::Mount)?; // for setns, or to compare
    /// drop(mnt);
    /// child.kill()?;
    /// child.wait()?;
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn namespace(&self, kind: PidfdNamespace) -> Result<OwnedFd> {
        self.child.namespace(kind)
    }

    /// Forces the child to exit with `SIGKILL`, as `std::process::Child::kill`:
    /// `Ok(())` if it has exited already, reaped or not (an unreaped child
    /// still takes the signal, which does nothing).
    ///
    /// # Errors
    ///
    /// As for [`signal`](Self::signal): `ESRCH` only when the child was
    /// reaped behind this handle's back (`SIGCHLD` ignored); `EPERM` when it
    /// runs a set-user-ID program as another user.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// let mut child = clonekit::Exec::new("sleep").arg("10").spawn()?;
    /// child.kill()?;
    /// assert_eq!(child.wait()?.signal(), Some(libc::SIGKILL));
    /// child.kill()?; // reaped: nothing to do
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn kill(&mut self) -> Result<()> {
        self.signal(Signal::SIGKILL)
    }

    /// Sends `sig` to the child, never to a process that reused its pid
    /// (see [`Child::kill`]): through its pidfd when it has one, else after
    /// checking that it is still our unreaped child. Does nothing once the
    /// child has been reaped through this handle.
    ///
    /// # Errors
    ///
    /// As for [`Child::kill`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use clonekit::{Exec, Signal};
    /// let mut child = Exec::new("sleep").arg("10").spawn()?;
    /// child.signal(Signal::SIGTERM)?;
    /// assert_eq!(child.wait()?.signal(), Some(libc::SIGTERM));
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn signal(&mut self, sig: Signal) -> Result<()> {
        self.child.kill(sig)
    }

    /// Reaps the child if it has exited, without blocking: `Ok(None)` while
    /// it runs (see [`Child::try_wait`]).
    ///
    /// # Errors
    ///
    /// As for [`Child::try_wait`].
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = clonekit::Exec::new("sleep").arg("10").spawn()?;
    /// assert_eq!(child.try_wait()?, None);
    /// child.kill()?;
    /// child.wait()?;
    /// assert!(child.try_wait()?.is_some()); // the status is remembered
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Closes the child's stdin (so that it sees end of file), then waits
    /// for it to exit and reaps it.
    ///
    /// # Errors
    ///
    /// `Sys { call: "waitid" | "wait4" }` (see [`Child::wait`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Stdio};
    /// let mut child = Exec::new("cat").stdin(Stdio::piped()).spawn()?;
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

    /// Waits at most `timeout` for the child to exit and reaps it if it
    /// did: `Ok(None)` if it still runs. Unlike [`wait`](Self::wait), it
    /// leaves stdin open, so that a caller can wait a while, write more, and
    /// wait again (drop [`stdin`](Self::stdin) first if the child waits for
    /// its end).
    ///
    /// The handle holds a pidfd, made with the child, with
    /// [`Strategy::CloneVfork`](crate::Strategy::CloneVfork) (the default)
    /// on Linux 5.2 or later, or wherever [`Exec::pidfd`](super::Exec::pidfd)
    /// asks for one: the wait is then `poll` on it and ends as soon as the
    /// child exits. Without one, [`try_wait`](Self::try_wait) is polled
    /// with sleeps of 1 ms growing to 50 ms, never past the deadline (see
    /// [`Child::wait_timeout`]).
    ///
    /// # Errors
    ///
    /// As for [`try_wait`](Self::try_wait), and `Sys { call: "poll" }`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut child = clonekit::Exec::new("sleep").arg("10").spawn()?;
    /// assert_eq!(child.wait_timeout(Duration::from_millis(10))?, None);
    /// child.kill()?;
    /// assert!(child.wait_timeout(Duration::from_secs(60))?.is_some());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        self.child.wait_timeout(timeout)
    }

    /// What the child used (CPU time, memory, faults, context switches),
    /// once it has been reaped by a wait; `None` before.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = clonekit::Exec::new("true").spawn()?;
    /// assert_eq!(child.rusage(), None);
    /// child.wait()?;
    /// assert!(child.rusage().unwrap().max_rss_kib > 0);
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn rusage(&self) -> Option<ResourceUsage> {
        self.child.rusage()
    }

    /// As [`wait`](Self::wait), and returns what the child used too.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = clonekit::Exec::new("true").spawn()?;
    /// let (status, usage) = child.wait_with_rusage()?;
    /// assert!(status.success() && usage.max_rss_kib > 0);
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn wait_with_rusage(&mut self) -> Result<(ExitStatus, ResourceUsage)> {
        let status = self.wait()?;
        // Set by every reap that gave a status.
        let usage = self.child.rusage().unwrap_or_default();
        Ok((status, usage))
    }

    /// Closes stdin, reads stdout and stderr to their ends at once (on this
    /// thread: `poll` says which pipe has data, so that neither fills up and
    /// blocks the child), then waits for the child and reaps it.
    ///
    /// # Errors
    ///
    /// `Sys { call: "read" | "poll" | "ioctl" }`: the child has been killed
    /// with `SIGKILL` and reaped (this handle is gone, so nothing else could
    /// wait for it); `Sys { call: "waitid" | "wait4" }`.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Stdio};
    /// let child = Exec::new("echo").arg("x").stdout(Stdio::piped()).spawn()?;
    /// assert_eq!(child.wait_with_output()?.stdout, b"x\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
    pub fn wait_with_output(mut self) -> Result<Output> {
        drop(self.stdin.take());
        let as_file = |fd: OwnedFd| File::from(fd);
        let stdout = self.stdout.take().map(OwnedFd::from).map(as_file);
        let stderr = self.stderr.take().map(OwnedFd::from).map(as_file);
        let (stdout, stderr) = match output::read_both(stdout, stderr) {
            Ok(both) => both,
            Err(err) => {
                // Neither a zombie nor a child running on unseen.
                self.kill_and_reap();
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

    /// Sends `SIGKILL` and reaps the child; a child the signal cannot reach
    /// (`EPERM`: a set-user-ID program) is left running rather than waited
    /// for forever.
    fn kill_and_reap(&mut self) {
        if self.child.kill(Signal::SIGKILL).is_ok() {
            let _ = self.child.wait();
        }
    }

    /// Hands the child over to another handle: returns the `kill_on_drop`
    /// setting, turned off here so that dropping this handle leaves the
    /// child alone.
    #[cfg(feature = "tokio")]
    pub(super) fn hand_over(&mut self) -> bool {
        std::mem::replace(&mut self.kill_on_drop, false)
    }

    /// Kills and reaps the child now: for a handle that could not take it
    /// over.
    #[cfg(feature = "tokio")]
    pub(super) fn discard(mut self) {
        self.kill_and_reap();
    }
}

impl Drop for ExecChild {
    fn drop(&mut self) {
        if self.kill_on_drop && !self.child.is_reaped() {
            self.kill_and_reap();
        }
    }
}
