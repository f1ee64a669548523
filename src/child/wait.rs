//! Waiting for a child: `wait`, `try_wait`, `wait_timeout`, through its
//! pidfd (`waitid(P_PIDFD)`) or by pid, the status and resource usage kept,
//! and the exit the kernel kept on the pidfd when someone else reaped it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::Child;
use crate::error::{Error, Result};
use crate::exit_info::{pidfd_exit_released, PidfdExit};
use crate::flags::CloneFlags;
use crate::raw;
use crate::rusage::ResourceUsage;

impl Child<'_> {
    /// Whether the child is ours to wait for: a `CLONE_THREAD` child is a
    /// thread of this process and a `CLONE_PARENT` child is our sibling.
    fn waitable(&self) -> Result<()> {
        if self.flags.intersects(CloneFlags::THREAD | CloneFlags::PARENT) {
            return Err(Error::Unsupported {
                feature: "waiting for a CLONE_THREAD or CLONE_PARENT child (not ours to reap; \
                          join it through its clear_child_tid slot)",
                errno: Errno::ECHILD,
            });
        }
        Ok(())
    }

    /// Waits for the child to end and reaps it (`waitid(P_PIDFD)` through its pidfd, else `wait4`; with `__WALL`, so
    /// that children with an exit signal other than `SIGCHLD`, or none, are
    /// found too). Once reaped, the status is remembered.
    ///
    /// Only an exit or a death by signal ends the wait: a ptrace stop that
    /// the kernel reports to a caller tracing the child (it does, whatever
    /// the options) is consumed and waited past. A tracer that wants its
    /// stops runs its own `waitpid` loop, and uses [`try_wait`](Self::try_wait),
    /// which leaves them.
    ///
    /// # Errors
    ///
    /// - `Unsupported` (`ECHILD`) for a `CLONE_THREAD` or `CLONE_PARENT` child;
    /// - `Sys { call: "waitid", errno: ECHILD }` (`"wait4"` for a handle
    ///   without a pidfd, or on a kernel before 5.4) when the child was reaped
    ///   by someone else and its status is lost: by the kernel, when the
    ///   caller ignores `SIGCHLD` (`SIG_IGN` or `SA_NOCLDWAIT`) and the
    ///   child's exit signal is `SIGCHLD`, or by a `SIGCHLD` handler that
    ///   calls `waitpid(-1, ..)`. The handle then remembers that the pid is
    ///   no longer ours: every later `wait`, `try_wait` or `kill` fails
    ///   without touching that pid.
    ///
    /// Since Linux 6.15 the kernel keeps the exit of a process that has a
    /// pidfd (`PIDFD_INFO_EXIT`): a handle with one (every `Exec` child's,
    /// a `CLONE_AUTOREAP` child's) then gets the status all the same, once
    /// the child has ended, with no [`rusage`](Self::rusage).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneBuilder;
    /// // SAFETY: no CLONE_VM; the closure only returns 3.
    /// let mut child = unsafe { CloneBuilder::new().spawn(|| 3)? };
    /// let status = child.wait()?;
    /// assert_eq!(status.code(), Some(3));
    /// assert_eq!(child.wait()?, status); // remembered: the pid is not waited for twice
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [wait4(2)](https://man7.org/linux/man-pages/man2/wait4.2.html)
    pub fn wait(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.reaped()? {
            return Ok(status);
        }
        loop {
            match self.reap_call(libc::__WALL) {
                Err((_, Errno::EINTR)) => continue,
                Err((call, Errno::ECHILD)) => return self.wait_kept_exit(call),
                Err((call, errno)) => return Err(self.lost(call, errno)),
                Ok(None) => continue,
                Ok(Some((raw_status, usage))) => {
                    if let Some(status) = self.record(raw_status, &usage) {
                        return Ok(status);
                    }
                }
            }
        }
    }

    /// Reaps the child if it has ended, without blocking: `Ok(None)` while
    /// it runs or is stopped. A ptrace stop is looked at without being
    /// consumed (`waitid` with `WNOWAIT`), so a tracer still sees it.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Child::wait), with `call: "waitid"` when the child
    /// was reaped by someone else.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use clonekit::CloneBuilder;
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { CloneBuilder::new().spawn(|| 0)? };
    /// let status = loop {
    ///     if let Some(status) = child.try_wait()? {
    ///         break status;
    ///     }
    ///     std::thread::sleep(Duration::from_millis(1)); // other work goes here
    /// };
    /// assert!(status.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        if let Some(status) = self.reaped()? {
            return Ok(Some(status));
        }
        match self.peek() {
            Err(Errno::ECHILD) => self.try_kept_exit(self.reap_call_name()),
            Err(errno) => Err(self.lost("waitid", errno)),
            Ok(Some(info)) if info.is_final() => match self.reap_call(libc::__WALL | libc::WNOHANG) {
                Ok(Some((raw_status, usage))) => Ok(self.record(raw_status, &usage)),
                Ok(None) => Ok(None),
                Err((call, Errno::ECHILD)) => self.try_kept_exit(call),
                Err((call, errno)) => Err(self.lost(call, errno)),
            },
            Ok(_) => Ok(None),
        }
    }

    /// The remembered status, or the error for a child that cannot be
    /// waited for (not ours, or already reaped by someone else).
    fn reaped(&self) -> Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        self.waitable()?;
        if self.gone {
            return Err(Error::Sys {
                call: self.reap_call_name(),
                errno: Errno::ECHILD,
                detail: None,
            });
        }
        Ok(None)
    }

    /// What `waitid` would report for the child right now, leaving it as it
    /// is (`WNOWAIT`): `None` while it runs.
    pub(super) fn peek(&self) -> std::result::Result<Option<raw::WaitInfo>, Errno> {
        let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL;
        loop {
            let got = match self.wait_pidfd() {
                Some(pidfd) => match raw::waitid_pidfd(pidfd, options) {
                    Err(Errno::EINVAL) => {
                        no_pidfd_wait();
                        continue;
                    }
                    other => other,
                },
                None => raw::waitid(self.pid, options),
            };
            match got {
                Err(Errno::EINTR) => continue,
                other => return other,
            }
        }
    }

    /// The pidfd to wait through: the handle's, where the kernel has
    /// `waitid(P_PIDFD)` (Linux 5.4). It names this child for good, so a
    /// wait never reaches another child that reused the pid.
    fn wait_pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd
            .as_ref()
            .filter(|_| PIDFD_WAIT.load(Ordering::Relaxed))
            .map(AsFd::as_fd)
    }

    /// One reaping call for the child with `options` (`__WALL`, and
    /// `WNOHANG` or not): `waitid(P_PIDFD)` through its pidfd, else `wait4`
    /// by pid. The raw wait status and the rusage, or the call and errno.
    fn reap_call(
        &self,
        options: libc::c_int,
    ) -> std::result::Result<Option<(libc::c_int, libc::rusage)>, (&'static str, Errno)> {
        if let Some(pidfd) = self.wait_pidfd() {
            match raw::waitid_pidfd_rusage(pidfd, libc::WEXITED | options) {
                Err(Errno::EINVAL) => no_pidfd_wait(),
                got => {
                    let reaped = |(info, usage): (raw::WaitInfo, libc::rusage)| (info.wait_status(), usage);
                    return got.map(|got| got.map(reaped)).map_err(|errno| ("waitid", errno));
                }
            }
        }
        raw::wait4_rusage(self.pid, options).map_err(|errno| ("wait4", errno))
    }

    /// The call [`reap_call`](Self::reap_call) issues, named in its errors.
    fn reap_call_name(&self) -> &'static str {
        match self.wait_pidfd() {
            Some(_) => "waitid",
            None => "wait4",
        }
    }

    /// [`try_wait`](Self::try_wait)'s answer once `call` said `ECHILD`:
    /// the exit the kernel kept on the pidfd (Linux 6.15), `Ok(None)` while
    /// the child still runs, else the child is lost.
    fn try_kept_exit(&mut self, call: &'static str) -> Result<Option<ExitStatus>> {
        let kept = self
            .pidfd
            .as_ref()
            .map(|pidfd| pidfd_exit_released(pidfd.as_fd()));
        match kept {
            Some(PidfdExit::Exited(raw_status)) => match self.record_status(raw_status) {
                Some(status) => Ok(Some(status)),
                None => Err(self.lost(call, Errno::ECHILD)),
            },
            Some(PidfdExit::NotYet) => Ok(None),
            Some(PidfdExit::Lost) | None => Err(self.lost(call, Errno::ECHILD)),
        }
    }

    /// [`wait`](Self::wait)'s answer once `call` said `ECHILD`: the exit the
    /// kernel keeps on the pidfd (Linux 6.15), once the pidfd turns
    /// readable (the child ended); else the child is lost.
    fn wait_kept_exit(&mut self, call: &'static str) -> Result<ExitStatus> {
        loop {
            if let Some(status) = self.try_kept_exit(call)? {
                return Ok(status);
            }
            if let Some(pidfd) = self.pidfd.as_ref() {
                // Still running: sleep until it ends.
                poll_readable(pidfd.as_fd(), Duration::MAX)?;
            }
        }
    }

    /// Keeps a raw wait status and the resource usage if the status is
    /// final (exited or killed); a stop or continue report changes nothing
    /// (wait(2)).
    fn record(&mut self, raw_status: libc::c_int, usage: &libc::rusage) -> Option<ExitStatus> {
        let status = self.record_status(raw_status)?;
        self.rusage = Some(ResourceUsage::from_raw(usage));
        Some(status)
    }

    /// Keeps a final raw wait status and lets go of what a reaped child no
    /// longer needs; alone (a status kept on the pidfd), it leaves
    /// [`rusage`](Self::rusage) `None`.
    fn record_status(&mut self, raw_status: libc::c_int) -> Option<ExitStatus> {
        let status = ExitStatus::from_raw(raw_status);
        if status.code().is_none() && status.signal().is_none() {
            return None;
        }
        self.status = Some(status);
        // A reaped child uses nothing of ours any more.
        self.done_word = None;
        // A pidfd taken for our own use has no use left: give its fd back.
        if self.pidfd_private {
            self.pidfd = None;
        }
        Some(status)
    }

    /// What the child used (CPU time, memory, faults, context switches),
    /// once [`wait`](Self::wait) or [`try_wait`](Self::try_wait) has reaped
    /// it; `None` before, and for a status read from the pidfd after the
    /// kernel reaped the child (see [`wait`](Self::wait)'s errors).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneBuilder;
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { CloneBuilder::new().spawn(|| 0)? };
    /// assert_eq!(child.rusage(), None);
    /// child.wait()?;
    /// assert!(child.rusage().unwrap().max_rss_kib > 0);
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [wait4(2)](https://man7.org/linux/man-pages/man2/wait4.2.html)
    pub fn rusage(&self) -> Option<ResourceUsage> {
        self.rusage
    }

    /// Waits at most `timeout` for the child to end, and reaps it if it
    /// did: `Ok(None)` if it still runs when the time is up.
    ///
    /// With a pidfd (asked for, or taken for this handle's own use), this
    /// is `poll` on the pidfd, which becomes readable when the child exits:
    /// the call returns as soon as it does. Without one (a kernel before
    /// 5.2, or a child created without `CLONE_PIDFD`), it polls
    /// [`try_wait`](Self::try_wait), sleeping between tries from 1 ms up
    /// to 50 ms, never past the deadline: the exit is seen at most 50 ms late.
    ///
    /// A ptrace stop does not end the wait (see [`try_wait`](Self::try_wait)).
    ///
    /// # Errors
    ///
    /// As for [`try_wait`](Self::try_wait), and `Sys { call: "poll" }`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use clonekit::{CloneBuilder, Signal};
    /// // SAFETY: no CLONE_VM; the closure only loops on a system call.
    /// let mut child = unsafe {
    ///     CloneBuilder::new().pidfd(true).spawn(|| loop {
    ///         // SAFETY: pause has no preconditions.
    ///         unsafe { libc::pause() };
    ///     })?
    /// };
    /// assert_eq!(child.wait_timeout(Duration::from_millis(10))?, None);
    /// child.kill(Signal::SIGKILL)?;
    /// assert!(child.wait_timeout(Duration::from_secs(60))?.is_some());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html) (polling a pidfd),
    ///   [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        // Past any real deadline: a timeout too large to add waits without one.
        let deadline = Instant::now().checked_add(timeout);
        let mut nap = Duration::from_millis(1);
        // A pidfd that polls readable while try_wait reaps nothing names a
        // child that ended but is not ours to reap yet (a zombie another
        // process traces): polling it again would spin. Sleep instead.
        let mut poll_pidfd = true;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            let left = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if left.is_zero() {
                return Ok(None);
            }
            match self.pidfd.as_ref().filter(|_| poll_pidfd) {
                Some(pidfd) => poll_pidfd = !poll_readable(pidfd.as_fd(), left)?,
                None => {
                    std::thread::sleep(nap.min(left));
                    nap = (nap * 2).min(Duration::from_millis(50));
                }
            }
        }
    }

    /// Whether the child has been reaped through this handle.
    pub(crate) fn is_reaped(&self) -> bool {
        self.status.is_some()
    }

    /// The error for a failed wait; `ECHILD` means the child was reaped
    /// elsewhere and its pid must not be used again.
    fn lost(&mut self, call: &'static str, errno: Errno) -> Error {
        if errno == Errno::ECHILD {
            self.gone = true;
        }
        Error::sys(call)(errno)
    }
}

/// Waits at most `timeout` (or, for a huge one, without limit) until `fd`
/// is readable, and says whether it is; a signal ends the wait early (not
/// readable), which the caller's loop absorbs.
fn poll_readable(fd: BorrowedFd<'_>, timeout: Duration) -> Result<bool> {
    let mut fds = [libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    let timeout = (timeout != Duration::MAX).then_some(timeout);
    match raw::poll(&mut fds, timeout) {
        Ok(ready) => Ok(ready > 0),
        Err(Errno::EINTR) => Ok(false),
        Err(errno) => Err(Error::sys("poll")(errno)),
    }
}

/// Whether `waitid(P_PIDFD)` works here: cleared by the first `EINVAL`
/// (a kernel before 5.4), after which children are waited for by pid.
static PIDFD_WAIT: AtomicBool = AtomicBool::new(true);

/// Remembers that this kernel has no `waitid(P_PIDFD)`.
fn no_pidfd_wait() {
    PIDFD_WAIT.store(false, Ordering::Relaxed);
}
