//! [`Child`], the parent's handle on a child it created, and [`Forked`],
//! what a fork-like call returns on each side.

// Unsafe is denied crate-wide; this file holds some: the done word borrowed across threads, and Send/Sync.
#![allow(unsafe_code)]

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::process::ExitStatus;
use std::ptr::NonNull;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::flags::CloneFlags;
use crate::raw;
use crate::rusage::ResourceUsage;
use crate::stack::Stack;
use crate::tid::TidSlot;

mod pidfd_calls;
mod wait;

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
