//! [`Child`], the parent's handle on a child it created, and [`Forked`],
//! what a fork-like call returns on each side.

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::ptr::NonNull;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::flags::CloneFlags;
use crate::raw;
use crate::stack::Stack;
use crate::tid::TidSlot;

/// What a fork-like call returns: [`Forked::Child`] in the new process,
/// [`Forked::Parent`] with the child's handle in the caller.
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
    stack: Option<Stack>,
    /// For a `CLONE_VM` child: the word the kernel clears once the child no
    /// longer uses our memory. It points into a `&'a TidSlot` or into `stack`.
    release: Option<NonNull<TidSlot>>,
    status: Option<ExitStatus>,
    _borrows: PhantomData<&'a TidSlot>,
}

// SAFETY: `release` points to a TidSlot (atomic, so Sync) that lives for 'a
// or inside the owned stack mapping; nothing else in Child is thread-bound.
unsafe impl Send for Child<'_> {}
// SAFETY: as above; &Child only reads the pid, the pidfd and the atomic.
unsafe impl Sync for Child<'_> {}

impl<'a> Child<'a> {
    /// A handle on `pid`, created with `flags`.
    ///
    /// # Safety
    ///
    /// `release`, if given, points to a TidSlot that lives for `'a` or inside
    /// `stack`, and the kernel clears it when the child stops using our memory.
    pub(crate) unsafe fn new(
        pid: Pid,
        flags: CloneFlags,
        pidfd: Option<OwnedFd>,
        stack: Option<Stack>,
        release: Option<NonNull<TidSlot>>,
    ) -> Child<'a> {
        Child {
            pid,
            flags,
            pidfd,
            stack,
            release,
            status: None,
            _borrows: PhantomData,
        }
    }

    /// The child's PID (its TID, for a `CLONE_THREAD` child), as seen from the
    /// caller's PID namespace.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The pidfd the kernel returned with `CLONE_PIDFD` (`O_CLOEXEC`, readable
    /// once the child has exited), if one was asked for.
    ///
    /// # References
    /// - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(AsFd::as_fd)
    }

    /// Takes the pidfd out of the handle, so that it outlives it.
    pub fn take_pidfd(&mut self) -> Option<OwnedFd> {
        self.pidfd.take()
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

    /// Waits for the child to exit and reaps it (`wait4` with `__WALL`, so
    /// that children with an exit signal other than `SIGCHLD`, or none, are
    /// found too). Once reaped, the status is remembered.
    ///
    /// # Errors
    ///
    /// `Unsupported` (`ECHILD`) for a `CLONE_THREAD` or `CLONE_PARENT` child;
    /// `Sys { call: "wait4" }` if the child was reaped elsewhere.
    ///
    /// # References
    /// - [wait4(2)](https://man7.org/linux/man-pages/man2/wait4.2.html)
    pub fn wait(&mut self) -> Result<ExitStatus> {
        self.reap(libc::__WALL)
            .map(|status| status.expect("wait4 without WNOHANG returns a status"))
    }

    /// Reaps the child if it has exited, without blocking.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Child::wait).
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.reap(libc::__WALL | libc::WNOHANG)
    }

    fn reap(&mut self, options: libc::c_int) -> Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        self.waitable()?;
        loop {
            // SAFETY: the pid is our own unreaped child.
            match unsafe { raw::wait4(self.pid, options) } {
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(Error::Sys { call: "wait4", errno }),
                Ok(None) => return Ok(None),
                Ok(Some(raw_status)) => {
                    let status = ExitStatus::from_raw(raw_status);
                    self.status = Some(status);
                    // A reaped child uses nothing of ours any more.
                    self.release = None;
                    return Ok(Some(status));
                }
            }
        }
    }

    /// Sends `sig` to the child: through its pidfd when it has one (no risk
    /// of hitting a recycled PID), with `tgkill` for a `CLONE_THREAD` child,
    /// else with `kill`. Does nothing once the child has been reaped.
    ///
    /// # Errors
    ///
    /// `Sys` with the failing call.
    pub fn kill(&mut self, sig: Signal) -> Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        if let Some(pidfd) = &self.pidfd {
            // SAFETY: the pidfd is ours and open.
            return unsafe { raw::pidfd_send_signal(pidfd.as_fd(), sig) }
                .map_err(Error::sys("pidfd_send_signal"));
        }
        if self.flags.contains(CloneFlags::THREAD) {
            // SAFETY: plain system call on a thread of our own group.
            return unsafe { raw::tgkill(raw::getpid(), self.pid, sig) }.map_err(Error::sys("tgkill"));
        }
        // SAFETY: plain system call on our own unreaped child.
        unsafe { raw::kill(self.pid, sig) }.map_err(Error::sys("kill"))
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
    pub fn into_stack(mut self) -> Option<Stack> {
        self.wait_released();
        self.stack.take()
    }

    /// Blocks until the release word is cleared, if there is one.
    fn wait_released(&mut self) {
        if let Some(release) = self.release.take() {
            // SAFETY: `release` lives for 'a or inside `self.stack` (see `new`).
            let slot = unsafe { release.as_ref() };
            slot.wait_cleared(None);
        }
    }

    /// Whether a `CLONE_VM` child may still be using the caller's memory.
    pub(crate) fn may_use_memory(&self) -> bool {
        // SAFETY: as in `wait_released`.
        self.release
            .is_some_and(|release| !unsafe { release.as_ref() }.is_cleared())
    }
}

impl Drop for Child<'_> {
    fn drop(&mut self) {
        // The stack, the closure and the slots the child borrows must outlive
        // its use of them; see "Dropping" above.
        self.wait_released();
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
            .finish()
    }
}
