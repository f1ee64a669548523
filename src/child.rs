//! [`Child`], the parent's handle on a child it created, and [`Forked`],
//! what a fork-like call returns on each side.

// Unsafe is denied crate-wide; this file holds some: the done word borrowed across threads, and Send/Sync.
#![allow(unsafe_code)]

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::exit_info::{pidfd_exit_released, PidfdExit};
use crate::flags::CloneFlags;
use crate::pidfd_info::{self, PidfdInfo};
use crate::raw;
use crate::raw::PidfdNamespace;
use crate::rusage::ResourceUsage;
use crate::stack::Stack;
use crate::tid::TidSlot;

/// What a fork-like call returns: [`Forked::Child`] in the new process,
/// [`Forked::Parent`] with the child's handle in the caller.
///
/// # Examples
///
/// ```
/// use clonekit::{fork, raw, Forked};
/// // SAFETY: the child only calls exit_group, which is async-signal-safe.
/// match unsafe { fork()? } {
///     // SAFETY: the forked child has its own memory and only exits.
///     Forked::Child => unsafe { raw::exit_group(5) },
///     Forked::Parent(mut child) => assert_eq!(child.wait()?.code(), Some(5)),
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
#[derive(Debug)]
pub enum Forked<'a> {
    /// This is the child. It may only do async-signal-safe work, then exec or
    /// exit (see [`fork`](crate::fork())).
    Child,
    /// This is the parent; here is the child.
    Parent(Child<'a>),
}

/// A child created by this crate: its PID, its pidfd if one was asked for,
/// and the [`Stack`] it runs on, if any.
///
/// The lifetime `'a` is that of what the child may still use in the
/// caller's memory: the [`TidSlot`]s the kernel writes and, with `CLONE_VM`,
/// whatever the child's closure borrows.
///
/// # Examples
///
/// ```
/// use clonekit::{CloneBuilder, Signal};
/// // SAFETY: no CLONE_VM; the closure only loops on a system call.
/// let mut child = unsafe {
///     CloneBuilder::new().pidfd(true).spawn(|| loop {
///         // SAFETY: pause has no preconditions.
///         unsafe { libc::pause() };
///     })?
/// };
/// assert_eq!(child.try_wait()?, None); // still running
/// child.kill(Signal::SIGTERM)?; // through its pidfd: never another process
/// let status = child.wait()?;
/// assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGTERM));
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # Dropping
///
/// Dropping a `Child` neither kills nor reaps it (like
/// `std::process::Child`): call [`wait`](Child::wait) to avoid a zombie. A
/// child that shares the caller's memory (`CLONE_VM`) may still be running
/// on the `Stack` and reading what it borrowed; dropping its handle first
/// waits until the kernel says the child has exited or exec'd (through the
/// `CLONE_CHILD_CLEARTID` word), exactly as a scoped thread is joined.
///
/// # References
/// - [wait4(2)](https://man7.org/linux/man-pages/man2/wait4.2.html),
///   [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
pub struct Child<'a> {
    pid: Pid,
    flags: CloneFlags,
    pidfd: Option<OwnedFd>,
    /// The pidfd was taken for this handle's own use (to signal a
    /// `CLONE_PARENT` child safely), not asked for: it is not handed out.
    pidfd_private: bool,
    stack: Option<Stack>,
    /// For a `CLONE_VM` child: the word the kernel clears once the child no
    /// longer uses our memory. It points into a `&'a TidSlot` or into `stack`.
    done_word: Option<NonNull<TidSlot>>,
    /// How the child ended, once reaped.
    status: Option<ExitStatus>,
    /// What it used, once reaped.
    rusage: Option<ResourceUsage>,
    /// The child was reaped by someone else (the kernel, when `SIGCHLD` is
    /// ignored): its pid may already belong to another process.
    gone: bool,
    _borrows: PhantomData<&'a TidSlot>,
}

// SAFETY: `done_word` points to a TidSlot (atomic, so Sync) that lives for 'a
// or inside the owned stack mapping; nothing else in Child is thread-bound.
unsafe impl Send for Child<'_> {}
// SAFETY: as above; &Child only reads the pid, the pidfd and the atomic.
unsafe impl Sync for Child<'_> {}

impl<'a> Child<'a> {
    /// A handle on `pid`, created with `flags`.
    ///
    /// # Safety
    ///
    /// `done_word`, if given, points to a TidSlot that lives for `'a` or inside
    /// `stack`, and the kernel clears it when the child stops using our memory.
    pub(crate) unsafe fn new(
        pid: Pid,
        flags: CloneFlags,
        pidfd: Option<OwnedFd>,
        stack: Option<Stack>,
        done_word: Option<NonNull<TidSlot>>,
    ) -> Child<'a> {
        Child {
            pid,
            flags,
            pidfd,
            pidfd_private: false,
            stack,
            done_word,
            status: None,
            rusage: None,
            gone: false,
            _borrows: PhantomData,
        }
    }

    /// A handle on `pid`, a child with its own memory (no stack of ours,
    /// no done word to wait for).
    pub(crate) fn of_process(pid: Pid, flags: CloneFlags, pidfd: Option<OwnedFd>) -> Child<'static> {
        // SAFETY: no done word, so nothing is borrowed for any lifetime.
        unsafe { Child::new(pid, flags, pidfd, None, None) }
    }

    /// Marks the pidfd as taken for this handle's own use: [`pidfd`](Self::pidfd)
    /// and [`take_pidfd`](Self::take_pidfd) do not show it.
    pub(crate) fn keep_pidfd_private(mut self) -> Child<'a> {
        self.pidfd_private = self.pidfd.is_some();
        self
    }

    /// The child's PID (its TID, for a `CLONE_THREAD` child), as seen from the
    /// caller's PID namespace.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneBuilder;
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { CloneBuilder::new().spawn(|| 0)? };
    /// // Until it is reaped, the child's pid is its own.
    /// assert!(std::path::Path::new(&format!("/proc/{}", child.pid())).exists());
    /// child.wait()?;
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The pidfd the kernel returned with `CLONE_PIDFD` (`O_CLOEXEC`, readable
    /// once the child has exited), if one was asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::time::Duration;
    /// use clonekit::{raw, CloneBuilder};
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { CloneBuilder::new().pidfd(true).spawn(|| 0)? };
    /// let pidfd = child.pidfd().expect("asked for");
    /// // An event loop polls the pidfd: it becomes readable when the child exits.
    /// let mut fds = [libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
    /// assert_eq!(raw::poll(&mut fds, Some(Duration::from_secs(60)))?, 1);
    /// assert!(child.wait()?.success());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # References
    /// - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        match self.pidfd_private {
            true => None,
            false => self.pidfd.as_ref().map(AsFd::as_fd),
        }
    }

    /// Takes the pidfd out of the handle, so that it outlives it.
    /// [`kill`](Self::kill) then works as without a pidfd.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneBuilder;
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { CloneBuilder::new().pidfd(true).spawn(|| 0)? };
    /// let pidfd: std::os::fd::OwnedFd = child.take_pidfd().expect("asked for");
    /// assert!(child.pidfd().is_none()); // the handle no longer has it
    /// child.wait()?;
    /// drop(child);
    /// drop(pidfd); // it lived as long as its new owner wanted
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn take_pidfd(&mut self) -> Option<OwnedFd> {
        match self.pidfd_private {
            true => None,
            false => self.pidfd.take(),
        }
    }

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
    fn peek(&self) -> std::result::Result<Option<raw::WaitInfo>, Errno> {
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
            Some(PidfdExit::Exited(raw_status)) => match self.record_kept(raw_status) {
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

    /// Keeps a status the kernel kept on the pidfd: no resource usage
    /// comes with it.
    fn record_kept(&mut self, raw_status: libc::c_int) -> Option<ExitStatus> {
        let status = self.record_status(raw_status)?;
        self.rusage = None;
        Some(status)
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
    /// longer needs.
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

    /// Sends `sig` to the child, never to a process that reused its pid:
    ///
    /// - through its pidfd when it has one;
    /// - a `CLONE_THREAD` child with `tgkill`, only while its CLEARTID word
    ///   is set (the kernel frees the TID when the thread exits, right after
    ///   clearing the word: a cleared word is `ESRCH`, as glibc's
    ///   `pthread_kill` answers for an exited thread);
    /// - a `CLONE_PARENT` child has no pid we hold (our parent reaps it):
    ///   without a pidfd only while it still shares our memory (its CLEARTID
    ///   word is set), else `ESRCH`; the builder takes a pidfd for such a
    ///   child where the call can carry one;
    /// - any other child with `kill`, after `waitid` (`WNOWAIT`) has
    ///   confirmed that its pid still names an unreaped child of ours
    ///   (`ESRCH` once the kernel reaped it, e.g. with `SIGCHLD` ignored).
    ///   Without a pidfd that is not enough: once the kernel reaped the
    ///   child, at any time before the check, another child of ours can
    ///   have its pid, and the check confirms that one. [`Exec`](crate::Exec)
    ///   takes a pidfd for its handles in every strategy (Linux 5.2), and
    ///   waits through it (5.4); a [`CloneBuilder`](crate::CloneBuilder)
    ///   child has one when asked. Only where there is none (an older kernel,
    ///   no fd free) does this window exist.
    ///
    /// Does nothing once the child has been reaped by [`wait`](Self::wait)
    /// or [`try_wait`](Self::try_wait).
    ///
    /// # Errors
    ///
    /// `Sys` with the failing call; `errno: ESRCH` for a child that is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use clonekit::{CloneBuilder, Signal};
    /// // SAFETY: no CLONE_VM; the closure only loops on a system call.
    /// let mut child = unsafe {
    ///     CloneBuilder::new().spawn(|| loop {
    ///         // SAFETY: pause has no preconditions.
    ///         unsafe { libc::pause() };
    ///     })?
    /// };
    /// child.kill(Signal::SIGKILL)?;
    /// assert_eq!(child.wait()?.signal(), Some(libc::SIGKILL));
    /// child.kill(Signal::SIGKILL)?; // reaped: does nothing, never hits a reused pid
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn kill(&mut self, sig: Signal) -> Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        let gone = |call| {
            Err(Error::Sys {
                call,
                errno: Errno::ESRCH,
                detail: None,
            })
        };
        if self.gone {
            // Reaped by the kernel: for a moment it may still take signals,
            // but it has ended, and its pid is not ours.
            return gone("kill");
        }
        if let Some(pidfd) = &self.pidfd {
            return raw::pidfd_send_signal(pidfd.as_fd(), sig).map_err(Error::sys("pidfd_send_signal"));
        }
        if self.flags.contains(CloneFlags::THREAD) {
            if !self.may_use_memory() {
                return gone("tgkill");
            }
            return raw::tgkill(raw::getpid(), self.pid, sig).map_err(Error::sys("tgkill"));
        }
        if self.flags.contains(CloneFlags::PARENT) {
            if !self.may_use_memory() {
                return gone("kill");
            }
        } else if matches!(self.peek(), Err(Errno::ECHILD)) {
            self.gone = true;
            return gone("kill");
        }
        raw::kill(self.pid, sig).map_err(Error::sys("kill"))
    }

    /// Kills the child with `SIGKILL` and reaps it: for a caller that
    /// created it but fails before handing it out.
    pub(crate) fn discard(mut self) {
        let _ = self.kill(Signal::SIGKILL);
        let _ = self.wait();
    }

    /// Waits until a `CLONE_VM` child no longer uses the caller's memory (it
    /// has exited or exec'd), then gives its stack back for another child.
    /// For a child without `CLONE_VM` the stack is free at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneBuilder, Stack};
    /// // One mapping for every child, one child at a time.
    /// let mut stack = Some(Stack::new(64 * 1024)?);
    /// for code in 0..3 {
    ///     let mut builder = CloneBuilder::new();
    ///     builder.stack(stack.take().expect("given back"));
    ///     // SAFETY: no CLONE_VM; the closure only returns `code`.
    ///     let mut child = unsafe { builder.spawn(move || code)? };
    ///     assert_eq!(child.wait()?.code(), Some(code));
    ///     stack = child.into_stack();
    /// }
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn into_stack(mut self) -> Option<Stack> {
        self.wait_done_with_memory();
        self.stack.take()
    }

    /// Blocks until the done word is cleared, if there is one.
    fn wait_done_with_memory(&mut self) {
        if let Some(word) = self.done_word.take() {
            // SAFETY: the word lives for 'a or inside `self.stack` (see `new`).
            let slot = unsafe { word.as_ref() };
            slot.wait_cleared(None);
        }
    }

    /// Whether a `CLONE_VM` child may still be using the caller's memory.
    pub(crate) fn may_use_memory(&self) -> bool {
        // SAFETY: as in `wait_done_with_memory`.
        self.done_word
            .is_some_and(|word| !unsafe { word.as_ref() }.is_cleared())
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

impl Drop for Child<'_> {
    fn drop(&mut self) {
        // The stack, the closure and the slots the child borrows must outlive
        // its use of them; see "Dropping" above.
        self.wait_done_with_memory();
    }
}

impl fmt::Debug for Child<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.pid)
            .field("flags", &self.flags)
            .field("pidfd", &self.pidfd)
            .field("stack", &self.stack.as_ref().map(Stack::size))
            .field("shares_memory", &self.may_use_memory())
            .field("status", &self.status)
            .field("gone", &self.gone)
            .finish()
    }
}
