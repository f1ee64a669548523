//! Waiting for children: wait4 (with or without the resource usage) and
//! waitid, by pid or by pidfd.

// Unsafe is denied crate-wide; this file holds some: the wait calls fill kernel structures through pointers.
#![allow(unsafe_code)]

use core::ffi::c_int;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::unistd::Pid;

use super::libc_result;

/// `wait4(pid, &status, options, NULL)`—waits for a child to change state.
/// Returns `Ok(None)` when `WNOHANG` is given and nothing changed, else the
/// raw wait status.
///
/// # Caution
///
/// Reaping a pid that another
/// part of the program owns makes that part fail or, if the pid is reused,
/// wait for a stranger.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use clonekit::raw;
/// // SAFETY: the child only calls exit_group, which is async-signal-safe.
/// match unsafe { raw::fork()? } {
///     // SAFETY: the forked child has its own memory and only exits.
///     None => unsafe { raw::exit_group(7) },
///     Some(pid) => {
///         // WNOHANG: None while the child runs.
///         let status = loop {
///             if let Some(status) = raw::wait4(pid, libc::WNOHANG)? {
///                 break status;
///             }
///             std::thread::sleep(Duration::from_millis(1));
///         };
///         assert!(libc::WIFEXITED(status));
///         assert_eq!(libc::WEXITSTATUS(status), 7);
///     }
/// }
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [wait4(2)](https://man7.org/linux/man-pages/man2/wait4.2.html)
pub fn wait4(pid: Pid, options: c_int) -> Result<Option<c_int>, Errno> {
    let mut status: c_int = 0;
    // SAFETY: status is a live int; rusage is NULL.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_wait4,
            pid.as_raw(),
            &mut status as *mut c_int,
            options,
            0usize,
        )
    };
    libc_result(ret).map(|got| (got != 0).then_some(status))
}

/// `wait4(pid, &status, options, &rusage)`—as [`wait4`], and also returns
/// the resource usage of the child the kernel reaped (its own, and that of
/// its reaped descendants): zero-filled when nothing was reaped.
///
/// # Caution
///
/// As for [`wait4`].
///
/// # Examples
///
/// ```
/// use clonekit::{fork, raw, Forked};
/// // SAFETY: the child only calls exit_group, which is async-signal-safe.
/// if let Forked::Parent(child) = unsafe { fork()? } {
///     let (status, usage) = raw::wait4_rusage(child.pid(), 0)?.expect("no WNOHANG");
///     assert_eq!(status, 0); // exit code 0
///     assert!(usage.ru_maxrss > 0); // in KiB
/// } else {
///     // SAFETY: the forked child has its own memory and only exits.
///     unsafe { raw::exit_group(0) }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// - [wait4(2)](https://man7.org/linux/man-pages/man2/wait4.2.html),
///   [getrusage(2)](https://man7.org/linux/man-pages/man2/getrusage.2.html)
pub fn wait4_rusage(pid: Pid, options: c_int) -> Result<Option<(c_int, libc::rusage)>, Errno> {
    let mut status: c_int = 0;
    // SAFETY: rusage is plain old data; all-zero is valid.
    let mut usage: libc::rusage = unsafe { core::mem::zeroed() };
    // SAFETY: status and usage are live and of the types the kernel writes.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_wait4,
            pid.as_raw(),
            &mut status as *mut c_int,
            options,
            &mut usage as *mut libc::rusage,
        )
    };
    libc_result(ret).map(|got| (got != 0).then_some((status, usage)))
}

/// What [`waitid`] found: the child and the `si_code`/`si_status` pair of
/// its `siginfo_t`.
///
/// # Examples
///
/// ```
/// use clonekit::{raw, Signal};
/// // SAFETY: the child only makes raw system calls.
/// match unsafe { raw::fork()? } {
///     None => loop {
///         // SAFETY: pause has no preconditions.
///         unsafe { libc::pause() };
///     },
///     Some(pid) => {
///         raw::kill(pid, Signal::SIGKILL)?;
///         let info = raw::waitid(pid, libc::WEXITED)?.expect("no WNOHANG");
///         assert_eq!(info, raw::WaitInfo { pid, code: libc::CLD_KILLED, status: libc::SIGKILL });
///     }
/// }
/// # Ok::<(), clonekit::Errno>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitInfo {
    /// The child that changed state.
    pub pid: Pid,
    /// `CLD_EXITED`, `CLD_KILLED`, `CLD_DUMPED` (final), or `CLD_STOPPED`,
    /// `CLD_TRAPPED` (a ptrace stop), `CLD_CONTINUED`.
    pub code: c_int,
    /// The exit code (`CLD_EXITED`) or the signal (every other code).
    pub status: c_int,
}

impl WaitInfo {
    /// Whether the child has ended (exited, or was killed): the only states
    /// after which it can be reaped (wait(2)).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{raw, Signal};
    /// // SAFETY: the child only makes raw system calls.
    /// match unsafe { raw::fork()? } {
    ///     None => {
    ///         // Stop, and once continued, exit.
    ///         let _ = raw::kill(raw::getpid(), Signal::SIGSTOP);
    ///         // SAFETY: the forked child has its own memory and only exits.
    ///         unsafe { raw::exit_group(0) }
    ///     }
    ///     Some(pid) => {
    ///         let stop = raw::waitid(pid, libc::WSTOPPED)?.expect("no WNOHANG");
    ///         assert!(!stop.is_final()); // stopped: it will go on
    ///         raw::kill(pid, Signal::SIGCONT)?;
    ///         let end = raw::waitid(pid, libc::WEXITED)?.expect("no WNOHANG");
    ///         assert!(end.is_final());
    ///     }
    /// }
    /// # Ok::<(), clonekit::Errno>(())
    /// ```
    pub fn is_final(&self) -> bool {
        matches!(self.code, libc::CLD_EXITED | libc::CLD_KILLED | libc::CLD_DUMPED)
    }

    /// The wait status `wait4` would have given for this report
    /// (`WIFEXITED`, `WIFSIGNALED` with `WCOREDUMP`, `WIFSTOPPED`), as
    /// `ExitStatus::from_raw` takes it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use std::process::ExitStatus;
    /// use clonekit::raw::WaitInfo;
    /// use clonekit::Pid;
    /// let info = WaitInfo { pid: Pid::from_raw(1), code: libc::CLD_EXITED, status: 3 };
    /// assert_eq!(ExitStatus::from_raw(info.wait_status()).code(), Some(3));
    /// let info = WaitInfo { pid: Pid::from_raw(1), code: libc::CLD_KILLED, status: libc::SIGKILL };
    /// assert_eq!(ExitStatus::from_raw(info.wait_status()).signal(), Some(libc::SIGKILL));
    /// ```
    pub fn wait_status(&self) -> c_int {
        match self.code {
            libc::CLD_EXITED => (self.status & 0xff) << 8,
            libc::CLD_KILLED => self.status & 0x7f,
            libc::CLD_DUMPED => (self.status & 0x7f) | 0x80,
            // A stop (CLD_STOPPED, CLD_TRAPPED: ptrace's event bits are
            // not in siginfo) or CLD_CONTINUED.
            libc::CLD_CONTINUED => 0xffff,
            _ => ((self.status & 0xff) << 8) | 0x7f,
        }
    }
}

/// `waitid(P_PID, pid, &info, options, NULL)`—waits for a child to change
/// state. With `WNOWAIT` the child is left as it is (a zombie stays
/// unreaped, a stop stays reported to a tracer). Returns `Ok(None)` when
/// `WNOHANG` is given and nothing changed.
///
/// Unlike [`wait4`], its options say which changes are wanted (`WEXITED`,
/// `WSTOPPED`, `WCONTINUED`), but a ptrace stop is reported to the tracer
/// whatever they say (kernel/exit.c `wait_task_stopped`).
///
/// # Caution
///
/// As for [`wait4`].
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// // SAFETY: the child only calls exit_group, which is async-signal-safe.
/// match unsafe { raw::fork()? } {
///     // SAFETY: the forked child has its own memory and only exits.
///     None => unsafe { raw::exit_group(0) },
///     Some(pid) => {
///         // See that it ended, and leave it unreaped (WNOWAIT): the pid stays ours.
///         let info = raw::waitid(pid, libc::WEXITED | libc::WNOWAIT)?.expect("no WNOHANG");
///         assert_eq!((info.code, info.status), (libc::CLD_EXITED, 0));
///         raw::wait4(pid, 0)?; // now reap it
///     }
/// }
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [waitid(2)](https://man7.org/linux/man-pages/man2/waitid.2.html)
pub fn waitid(pid: Pid, options: c_int) -> Result<Option<WaitInfo>, Errno> {
    waitid_on(libc::P_PID, pid.as_raw(), options)
}

/// `waitid(P_PIDFD, pidfd, &info, options, NULL)`—as [`waitid`], for the
/// child that `pidfd` refers to (Linux 5.4; `EINVAL` before). A pidfd names
/// one process for good: once that child is reaped the call fails with
/// `ECHILD`, and it never reaches a process that reused the pid.
///
/// # Caution
///
/// As for [`wait4`].
///
/// # Examples
///
/// ```
/// use clonekit::{raw, Exec};
/// let mut child = Exec::new("true").pidfd(true).spawn()?;
/// let pidfd = child.take_pidfd().expect("asked for");
/// let options = libc::WEXITED | libc::__WALL;
/// let info = raw::waitid_pidfd(std::os::fd::AsFd::as_fd(&pidfd), options)?.expect("no WNOHANG");
/// assert_eq!((info.code, info.status), (libc::CLD_EXITED, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// - [waitid(2)](https://man7.org/linux/man-pages/man2/waitid.2.html),
///   [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
pub fn waitid_pidfd(pidfd: BorrowedFd<'_>, options: c_int) -> Result<Option<WaitInfo>, Errno> {
    waitid_on(libc::P_PIDFD, pidfd.as_raw_fd(), options)
}

/// `waitid(P_PIDFD, pidfd, &info, options, &rusage)`—as [`waitid_pidfd`],
/// with what the child used when the call reaped it (the kernel fills the
/// rusage only then: all zero for a `WNOWAIT` or a stop report).
///
/// # Caution
///
/// As for [`wait4`].
///
/// # Examples
///
/// ```
/// use clonekit::{raw, Exec};
/// let mut child = Exec::new("true").pidfd(true).spawn()?;
/// let pidfd = child.take_pidfd().expect("asked for");
/// let options = libc::WEXITED | libc::__WALL;
/// let (info, usage) = raw::waitid_pidfd_rusage(std::os::fd::AsFd::as_fd(&pidfd), options)?.expect("no WNOHANG");
/// assert_eq!((info.code, info.status), (libc::CLD_EXITED, 0));
/// assert!(usage.ru_maxrss > 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// - [waitid(2)](https://man7.org/linux/man-pages/man2/waitid.2.html),
///   [getrusage(2)](https://man7.org/linux/man-pages/man2/getrusage.2.html)
pub fn waitid_pidfd_rusage(
    pidfd: BorrowedFd<'_>,
    options: c_int,
) -> Result<Option<(WaitInfo, libc::rusage)>, Errno> {
    // SAFETY: rusage is plain old data; all-zero is valid.
    let mut usage: libc::rusage = unsafe { core::mem::zeroed() };
    let info = waitid_into(libc::P_PIDFD, pidfd.as_raw_fd(), options, &mut usage)?;
    Ok(info.map(|info| (info, usage)))
}

/// The `waitid` system call on `(idtype, id)`.
fn waitid_on(idtype: libc::idtype_t, id: c_int, options: c_int) -> Result<Option<WaitInfo>, Errno> {
    waitid_into(idtype, id, options, core::ptr::null_mut())
}

/// The `waitid` system call on `(idtype, id)`, the rusage written to
/// `usage` unless it is NULL.
fn waitid_into(
    idtype: libc::idtype_t,
    id: c_int,
    options: c_int,
    usage: *mut libc::rusage,
) -> Result<Option<WaitInfo>, Errno> {
    // SAFETY: siginfo_t is plain old data; all-zero is valid and makes
    // si_pid 0 when WNOHANG finds nothing.
    let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
    // SAFETY: info is a live siginfo_t; usage is NULL or a live rusage
    // (both callers in this file pass one of these).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_waitid,
            idtype,
            id,
            &mut info as *mut libc::siginfo_t,
            options,
            usage,
        )
    };
    libc_result(ret)?;
    // SAFETY: the kernel filled a SIGCHLD siginfo (or left it zeroed).
    let (child, status) = unsafe { (info.si_pid(), info.si_status()) };
    Ok((child != 0).then(|| WaitInfo {
        pid: Pid::from_raw(child),
        code: info.si_code,
        status,
    }))
}
