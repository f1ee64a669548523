//! Architectures without a tested trampoline: the new-stack paths report
//! `ENOSYS`, which the layers above turn into `Error::Unsupported`. Writing
//! this asm blind would be worse than not having it.

// Unsafe is denied crate-wide; this file holds some: the system calls where no trampoline exists.
#![allow(unsafe_code)]

use core::ffi::c_void;

use super::ChildEntry;

const ENOSYS: isize = -(libc::ENOSYS as isize);

/// Not available on this architecture: returns `-ENOSYS`.
///
/// # Safety
///
/// Always safe to call; `unsafe` only to match the supported architectures.
pub(crate) unsafe fn clone_on_stack(
    _flags: u64,
    _stack_top: *mut u8,
    _parent_tid: *mut i32,
    _child_tid: *mut i32,
    _tls: u64,
    _entry: ChildEntry,
    _arg: *mut c_void,
) -> isize {
    ENOSYS
}

/// Not available on this architecture: returns `-ENOSYS`.
///
/// # Safety
///
/// Always safe to call.
pub(crate) unsafe fn clone3_on_stack(
    _args: *const c_void,
    _size: usize,
    _entry: ChildEntry,
    _arg: *mut c_void,
) -> isize {
    ENOSYS
}

/// Not available on this architecture: returns `-ENOSYS`.
///
/// # Safety
///
/// Always safe to call.
pub(crate) unsafe fn vfork_on_stack(_stack_top: *mut u8, _entry: ChildEntry, _arg: *mut c_void) -> isize {
    ENOSYS
}

// System calls without the trampolines. Only x86_64 runs the vfork paths
// (whose child shares the parent thread's TLS, where `errno` lives); here the
// only child that uses these is a fork-like one with its own memory, so going
// through libc's `syscall()` and reading `errno` back is sound.

/// libc's `-1 and errno` turned back into the kernel's `-errno`.
fn raw_result(ret: libc::c_long) -> isize {
    if ret == -1 {
        // SAFETY: errno is this thread's; reading it has no precondition.
        -(unsafe { *libc::__errno_location() } as isize)
    } else {
        ret as isize
    }
}

/// A system call with no arguments; returns the raw result or `-errno`.
///
/// # Safety
///
/// The call `nr` must be sound to make with no arguments.
pub(crate) unsafe fn syscall0(nr: i64) -> isize {
    // SAFETY: forwarded from the caller.
    raw_result(unsafe { libc::syscall(nr as libc::c_long) })
}

/// A system call with one argument; returns the raw result or `-errno`.
///
/// # Safety
///
/// The call must be sound with this argument.
pub(crate) unsafe fn syscall1(nr: i64, a0: usize) -> isize {
    // SAFETY: forwarded from the caller.
    raw_result(unsafe { libc::syscall(nr as libc::c_long, a0) })
}

/// A system call with two arguments; returns the raw result or `-errno`.
///
/// # Safety
///
/// As for [`syscall1`].
pub(crate) unsafe fn syscall2(nr: i64, a0: usize, a1: usize) -> isize {
    // SAFETY: forwarded from the caller.
    raw_result(unsafe { libc::syscall(nr as libc::c_long, a0, a1) })
}

/// A system call with three arguments; returns the raw result or `-errno`.
///
/// # Safety
///
/// As for [`syscall1`].
pub(crate) unsafe fn syscall3(nr: i64, a0: usize, a1: usize, a2: usize) -> isize {
    // SAFETY: forwarded from the caller.
    raw_result(unsafe { libc::syscall(nr as libc::c_long, a0, a1, a2) })
}

/// A system call with four arguments; returns the raw result or `-errno`.
///
/// # Safety
///
/// As for [`syscall1`].
pub(crate) unsafe fn syscall4(nr: i64, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    // SAFETY: forwarded from the caller.
    raw_result(unsafe { libc::syscall(nr as libc::c_long, a0, a1, a2, a3) })
}

/// A system call with five arguments; returns the raw result or `-errno`.
///
/// # Safety
///
/// As for [`syscall1`].
pub(crate) unsafe fn syscall5(nr: i64, a0: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    // SAFETY: forwarded from the caller.
    raw_result(unsafe { libc::syscall(nr as libc::c_long, a0, a1, a2, a3, a4) })
}
