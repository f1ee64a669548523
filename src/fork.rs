//! [`fork()`]: the raw `fork` system call.

// Unsafe is denied crate-wide; this file holds some: `fork` is unsafe to call.
#![allow(unsafe_code)]

use crate::child::{Child, Forked};
use crate::error::{Error, Result};
use crate::flags::CloneFlags;
use crate::raw;

/// `fork()`—creates a child process with a copy of the caller's memory,
/// through the raw `fork` system call (`clone(SIGCHLD)` on architectures
/// without one), not glibc's wrapper.
///
/// Unlike glibc's `fork()`, no `pthread_atfork` handlers run and no libc
/// state is reset in the child: that is what makes it cheap, and what makes
/// it `unsafe`.
///
/// # Errors
///
/// `Sys { call: "fork" }` with `EAGAIN` (a process limit) or `ENOMEM`.
///
/// # Safety
///
/// The child keeps [the child's contract](crate#the-childs-contract): in
/// [`Forked::Child`], async-signal-safe work only, then `execve` or
/// [`raw::exit_group`].
///
/// # Examples
///
/// ```
/// use clonekit::{fork, raw, Forked};
/// // SAFETY: the child only calls exit_group, which is async-signal-safe.
/// match unsafe { fork()? } {
///     // SAFETY: the forked child has its own memory: nothing left undropped is needed by anyone.
///     Forked::Child => unsafe { raw::exit_group(5) },
///     Forked::Parent(mut child) => assert_eq!(child.wait()?.code(), Some(5)),
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
pub unsafe fn fork() -> Result<Forked<'static>> {
    // SAFETY: the caller keeps the child's contract.
    match unsafe { raw::fork() } {
        Ok(None) => Ok(Forked::Child),
        Ok(Some(pid)) => Ok(Forked::Parent(Child::of_process(pid, CloneFlags::empty(), None))),
        Err(errno) => Err(Error::sys("fork")(errno)),
    }
}
