//! x86_64 trampolines: a system call that creates a task, after which the child
//! runs on a new stack and jumps to an entry that never returns.
//!
//! The child must never return into Rust frames of the parent: with `CLONE_VM`
//! those frames are live memory the parent still uses, and without a return
//! address there is nothing sound to return to anyway. So each block below, in
//! the child, clears the frame pointer (the end of the frame chain for
//! debuggers and unwinders), pushes a zero return address, and jumps to `entry`
//! with `arg` in `rdi`, exactly as if `entry(arg)` had been called from a frame
//! that does not exist.
//!
//! The `syscall` instruction clobbers `rcx` and `r11` and returns in `rax`;
//! every other register is the same in parent and child. The kernel's x86_64
//! `clone` argument order is flags, stack, parent_tid, child_tid, tls
//! (`clonekit_clone_order = "tls_last"`).
//!
//! # Safety
//!
//! Every function here is `unsafe`: the caller guarantees that `stack_top` (or
//! the clone3 stack) is mapped, writable, 16-byte aligned and not used by
//! anyone else, and that `entry` is sound to run there with `arg`.

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
#[cfg(clonekit_clone_order = "tls_last")]
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
            "syscall",              // clone(flags, stack_top, parent_tid, child_tid, tls)
            "test rax, rax",        // 0 in the child, TID or -errno in the parent
            "jnz 2f",               // parent: leave
            "xor ebp, ebp",         // child: no caller frame
            "mov rdi, r9",          // entry's only argument
            "push rax",             // return address 0; rsp is now 8 mod 16, as after a call
            "jmp r12",              // entry(arg), which never returns
            "2:",
            inlateout("rax") libc::SYS_clone as isize => ret,
            in("rdi") flags,
            in("rsi") stack_top,
            in("rdx") parent_tid,
            in("r10") child_tid,
            in("r8") tls,
            in("r9") arg,
            in("r12") entry,
            lateout("rcx") _,
            lateout("r11") _,
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
    // SAFETY: as in `clone_on_stack`; the kernel sets the child's rsp to
    // stack + stack_size.
    unsafe {
        asm!(
            "syscall",              // clone3(args, size)
            "test rax, rax",        // 0 in the child
            "jnz 2f",               // parent: leave
            "xor ebp, ebp",         // child: no caller frame
            "mov rdi, r9",          // entry's only argument
            "push rax",             // return address 0
            "jmp r12",              // entry(arg), which never returns
            "2:",
            inlateout("rax") libc::SYS_clone3 as isize => ret,
            in("rdi") args,
            in("rsi") size,
            in("r9") arg,
            in("r12") entry,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// `vfork`, after which the child switches to `stack_top` before it runs any
/// code: it never touches the parent's stack, which is what makes calling
/// vfork from Rust sound. Returns the raw result in the parent, which the
/// kernel resumes only once the child has called execve or exited.
///
/// # Safety
///
/// See the module documentation.
pub(crate) unsafe fn vfork_on_stack(stack_top: *mut u8, entry: ChildEntry, arg: *mut c_void) -> isize {
    let ret: isize;
    // SAFETY: as in `clone_on_stack`. The syscall instruction writes no memory;
    // the child's first instruction after it leaves the parent's stack.
    unsafe {
        asm!(
            "syscall",              // vfork()
            "test rax, rax",        // 0 in the child
            "jnz 2f",               // parent: leave
            "mov rsp, rdx",         // child: onto its own stack at once
            "xor ebp, ebp",         // no caller frame
            "mov rdi, r9",          // entry's only argument
            "push rax",             // return address 0
            "jmp r12",              // entry(arg), which never returns
            "2:",
            inlateout("rax") libc::SYS_vfork as isize => ret,
            in("rdx") stack_top,
            in("r9") arg,
            in("r12") entry,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

// Errno-free system calls, for code that must not touch thread-local storage:
// the child of a `CLONE_VM` clone shares the parent thread's TLS, and libc's
// `syscall()` writes `errno` (a thread-local) on failure. These return the
// kernel's raw answer (the result, or `-errno`) in `rax`.
//
// x86_64 system call convention: number in rax; arguments in rdi, rsi, rdx,
// r10 (then r8, r9, unused here); the `syscall` instruction clobbers rcx
// (return address) and r11 (saved rflags, restored on return, so the flags
// are preserved).

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
            "syscall",              // the kernel runs call `rax`
            inlateout("rax") nr as isize => ret,
            lateout("rcx") _,
            lateout("r11") _,
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
            "syscall",              // call `rax` with (rdi)
            inlateout("rax") nr as isize => ret,
            in("rdi") a0,
            lateout("rcx") _,
            lateout("r11") _,
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
            "syscall",              // call `rax` with (rdi, rsi)
            inlateout("rax") nr as isize => ret,
            in("rdi") a0,
            in("rsi") a1,
            lateout("rcx") _,
            lateout("r11") _,
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
            "syscall",              // call `rax` with (rdi, rsi, rdx)
            inlateout("rax") nr as isize => ret,
            in("rdi") a0,
            in("rsi") a1,
            in("rdx") a2,
            lateout("rcx") _,
            lateout("r11") _,
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
            "syscall",              // call `rax` with (rdi, rsi, rdx, r10)
            inlateout("rax") nr as isize => ret,
            in("rdi") a0,
            in("rsi") a1,
            in("rdx") a2,
            in("r10") a3,           // the fourth argument is r10, not rcx as in C calls
            lateout("rcx") _,
            lateout("r11") _,
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
            "syscall",              // call `rax` with (rdi, rsi, rdx, r10, r8)
            inlateout("rax") nr as isize => ret,
            in("rdi") a0,
            in("rsi") a1,
            in("rdx") a2,
            in("r10") a3,
            in("r8") a4,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack, preserves_flags)
        );
    }
    ret
}
