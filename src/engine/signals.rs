//! The signal state around a clone: the parent blocks every signal across
//! the call, so that no handler of the program can run in a child before the
//! child has decided what it may run; the child then restores the mask, or
//! first resets its handlers, or keeps everything blocked.
//!
//! Everything here is raw system calls on the caller's stack: a child that
//! shares the caller's memory and TLS may call it.

// Unsafe is denied crate-wide; this file holds some: setting masks and handlers around a clone.
#![allow(unsafe_code)]

use nix::errno::Errno;

use crate::raw;

/// Blocks every signal in the calling thread; returns the mask it had.
pub(crate) fn block_all() -> Result<libc::sigset_t, Errno> {
    let all = raw::full_sigset();
    let mut old = raw::full_sigset();
    // SAFETY: both pointers are live sigset_t's.
    unsafe { raw::rt_sigprocmask(libc::SIG_SETMASK, &all, &mut old) }?;
    Ok(old)
}

/// Sets the calling thread's mask to `mask`.
pub(crate) fn set_mask(mask: &libc::sigset_t) -> Result<(), Errno> {
    // SAFETY: `mask` is a live sigset_t; the old mask is not read.
    unsafe { raw::rt_sigprocmask(libc::SIG_SETMASK, mask, std::ptr::null_mut()) }
}

/// Sets every handled signal back to `SIG_DFL`, leaving `SIG_IGN` as it is
/// (execve keeps ignored signals ignored, and so do we). One call per signal
/// (set `SIG_DFL`, read the old one), plus one to put back each ignored one.
///
/// Only for a task with its own copy of the handler table (no
/// `CLONE_SIGHAND`): with a shared one this would reset the caller's.
pub(crate) fn reset_handlers() -> Result<(), Errno> {
    let default = raw::KernelSigaction::default();
    let mut sig = 1;
    while sig <= raw::NSIG {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            let mut old = raw::KernelSigaction::default();
            // SAFETY: both pointers are live; SIG_DFL needs no restorer.
            unsafe { raw::rt_sigaction(sig, &default, &mut old) }?;
            if old.handler == libc::SIG_IGN {
                // SAFETY: puts back exactly what the kernel gave us.
                unsafe { raw::rt_sigaction(sig, &old, std::ptr::null_mut()) }?;
            }
        }
        sig += 1;
    }
    Ok(())
}
