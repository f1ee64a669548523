//! aarch64 trampolines: a system call that creates a task, after which the
//! child runs on a new stack and branches to an entry that never returns.
//!
//! The child must never return into Rust frames of the parent: with `CLONE_VM`
//! those frames are live memory the parent still uses. So each block below,
//! in the child, clears the frame pointer `x29` (the end of the frame chain
//! for debuggers and unwinders) and the link register `x30` (no return
//! address), and branches to `entry` with `arg` in `x0`, exactly as if
//! `entry(arg)` had been called from a frame that does not exist.
//!
//! System call convention: number in `x8`, arguments in `x0`–`x5`, `svc #0`,
//! result in `x0`. The kernel preserves every other register, in the parent
//! and in the child, and sets the child's `sp` to the new stack. The legacy
//! `clone` argument order is flags, stack, parent_tid, tls, child_tid
//! (`clonekit_clone_order = "tls_before_child_tid"`). There is no `fork` or
//! `vfork` system call: the raw layer uses `clone` instead (build.rs).
//!
//! The branch to `entry` is `br x16`. With branch target identification
//! (BTI) enforced, an indirect branch may land on a function's `bti c`
//! landing pad only as a call (`blr`) or as a `br` through `x16`/`x17`; `br`
//! through any other register would fault there. Pointer authentication
//! needs nothing: `entry` never returns, so the return address it may sign
//! (0) is never authenticated.
//!
//! # Safety
//!
//! Every function here is `unsafe`: the caller guarantees that `stack_top` (or
//! the clone3 stack) is mapped, writable, 16-byte aligned (the architecture
//! faults on a misaligned `sp`) and not used by anyone else, and that `entry`
//! is sound to run there with `arg`.

// Unsafe is denied crate-wide; this file holds some: the asm trampolines and system call instructions.
#![allow(unsafe_code)]

use core::arch::asm;
use core::ffi::c_void;

use super::ChildEntry;

/// Legacy `clone` with the child on `stack_top`. Returns the raw result in the
/// parent (the child's TID, or `-errno`).
///
/// # Safety
///
/// See the module documentation; `parent_tid`, `child_tid` and `tls` must be
/// what the flags require.
#[cfg(clonekit_clone_order = "tls_before_child_tid")]
pub(crate) unsafe fn clone_on_stack(
    flags: u64,
    stack_top: *mut u8,
    parent_tid: *mut i32,
    child_tid: *mut i32,
    tls: u64,
    entry: ChildEntry,
    arg: *mut c_void,
) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the stack and pointers (module docs). In the
    // parent the block only issues the system call; in the child it never
    // falls through, so no Rust code of this frame runs there.
    unsafe {
        asm!(
            "svc #0",               // clone(flags, stack_top, parent_tid, tls, child_tid)
            "cbnz x0, 2f",          // 0 in the child; TID or -errno in the parent: leave
            "mov x29, xzr",         // child: no caller frame
            "mov x30, xzr",         // no return address
            "mov x0, x9",           // entry's only argument
            "br x16",               // entry(arg), which never returns
            "2:",
            inlateout("x0") flags => ret,
            in("x1") stack_top,
            in("x2") parent_tid,
            in("x3") tls,
            in("x4") child_tid,
            in("x8") libc::SYS_clone,
            in("x9") arg,
            in("x16") entry,
            options(nostack)
        );
    }
    ret
}

/// `clone3` with the child on the stack described in `args` (base and size).
/// Returns the raw result in the parent.
///
/// # Safety
///
/// See the module documentation; `args` must point to `size` readable bytes
/// of a valid `struct clone_args` whose stack is set.
pub(crate) unsafe fn clone3_on_stack(
    args: *const c_void,
    size: usize,
    entry: ChildEntry,
    arg: *mut c_void,
) -> isize {
    let ret: isize;
    // SAFETY: as in `clone_on_stack`; the kernel sets the child's sp to
    // stack + stack_size.
    unsafe {
        asm!(
            "svc #0",               // clone3(args, size)
            "cbnz x0, 2f",          // 0 in the child; the parent leaves
            "mov x29, xzr",         // child: no caller frame
            "mov x30, xzr",         // no return address
            "mov x0, x9",           // entry's only argument
            "br x16",               // entry(arg), which never returns
            "2:",
            inlateout("x0") args => ret,
            in("x1") size,
            in("x8") libc::SYS_clone3,
            in("x9") arg,
            in("x16") entry,
            options(nostack)
        );
    }
    ret
}

// Errno-free system calls, for code that must not touch thread-local storage:
// the child of a `CLONE_VM` clone shares the parent thread's TLS, and libc's
// `syscall()` writes `errno` (a thread-local) on failure. These return the
// kernel's raw answer (the result, or `-errno`) in `x0`. `svc` changes no
// other register and restores the condition flags.

/// A system call with no arguments; returns the raw result or `-errno`.
///
/// # Safety
///
/// The call `nr` must be sound to make with no arguments.
#[inline]
pub(crate) unsafe fn syscall0(nr: i64) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the call; no memory is passed.
    unsafe {
        asm!(
            "svc #0",               // the kernel runs call `x8`
            in("x8") nr,
            lateout("x0") ret,
            options(nostack, preserves_flags)
        );
    }
    ret
}

/// A system call with one argument; returns the raw result or `-errno`.
///
/// # Safety
///
/// The call `nr` must be sound with this argument (pointers valid for what
/// the kernel reads or writes through them).
#[inline]
pub(crate) unsafe fn syscall1(nr: i64, a0: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the call and its argument.
    unsafe {
        asm!(
            "svc #0",               // call `x8` with (x0)
            in("x8") nr,
            inlateout("x0") a0 => ret,
            options(nostack, preserves_flags)
        );
    }
    ret
}

/// A system call with two arguments; returns the raw result or `-errno`.
///
/// # Safety
///
/// As for [`syscall1`].
#[inline]
pub(crate) unsafe fn syscall2(nr: i64, a0: usize, a1: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the call and its arguments.
    unsafe {
        asm!(
            "svc #0",               // call `x8` with (x0, x1)
            in("x8") nr,
            inlateout("x0") a0 => ret,
            in("x1") a1,
            options(nostack, preserves_flags)
        );
    }
    ret
}

/// A system call with three arguments; returns the raw result or `-errno`.
///
/// # Safety
///
/// As for [`syscall1`].
#[inline]
pub(crate) unsafe fn syscall3(nr: i64, a0: usize, a1: usize, a2: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the call and its arguments.
    unsafe {
        asm!(
            "svc #0",               // call `x8` with (x0, x1, x2)
            in("x8") nr,
            inlateout("x0") a0 => ret,
            in("x1") a1,
            in("x2") a2,
            options(nostack, preserves_flags)
        );
    }
    ret
}

/// A system call with four arguments; returns the raw result or `-errno`.
///
/// # Safety
///
/// As for [`syscall1`].
#[inline]
pub(crate) unsafe fn syscall4(nr: i64, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the call and its arguments.
    unsafe {
        asm!(
            "svc #0",               // call `x8` with (x0, x1, x2, x3)
            in("x8") nr,
            inlateout("x0") a0 => ret,
            in("x1") a1,
            in("x2") a2,
            in("x3") a3,
            options(nostack, preserves_flags)
        );
    }
    ret
}

/// A system call with five arguments; returns the raw result or `-errno`.
///
/// # Safety
///
/// As for [`syscall1`].
#[inline]
pub(crate) unsafe fn syscall5(nr: i64, a0: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the call and its arguments.
    unsafe {
        asm!(
            "svc #0",               // call `x8` with (x0, x1, x2, x3, x4)
            in("x8") nr,
            inlateout("x0") a0 => ret,
            in("x1") a1,
            in("x2") a2,
            in("x3") a3,
            in("x4") a4,
            options(nostack, preserves_flags)
        );
    }
    ret
}
