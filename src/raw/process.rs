//! Creating, ending and naming processes: fork, clone, clone3, vfork, exit,
//! pidfd_open.

// Unsafe is denied crate-wide; this file holds some: the process-creating system calls.
#![allow(unsafe_code)]

use core::ffi::{c_int, c_long, c_uint, c_void};
use std::os::fd::{FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::arch::{self, syscall2};
use super::{fd_result, kernel_result, libc_result, ChildEntry, CloneArgs};
use crate::CloneFlags;

fn fork_like(ret: c_long) -> Result<Option<Pid>, Errno> {
    libc_result(ret).map(|tid| (tid != 0).then(|| Pid::from_raw(tid as libc::pid_t)))
}

fn exit_signal_bits(exit_signal: Option<Signal>) -> u64 {
    exit_signal.map_or(0, |sig| sig as i32 as u64)
}

/// `fork()`—creates a child process with a copy of the caller's memory, by
/// the raw `fork` system call (not glibc's wrapper: no atfork handlers run,
/// no libc state is reset).
///
/// Returns `Ok(None)` in the child and `Ok(Some(pid))` in the parent.
///
/// # Safety
///
/// The child keeps [the child's contract](crate#the-childs-contract).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// // SAFETY: the child only calls exit_group, which is async-signal-safe.
/// match unsafe { raw::fork()? } {
///     // SAFETY: the forked child has its own memory and only exits.
///     None => unsafe { raw::exit_group(6) },
///     Some(pid) => {
///         let status = raw::wait4(pid, 0)?.expect("no WNOHANG");
///         assert_eq!(libc::WEXITSTATUS(status), 6);
///     }
/// }
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
#[doc(alias = "SYS_fork")]
pub unsafe fn fork() -> Result<Option<Pid>, Errno> {
    #[cfg(clonekit_sys_fork)]
    // SAFETY: fork takes no arguments; the caller keeps the child's promise.
    let ret = unsafe { libc::syscall(libc::SYS_fork) };
    #[cfg(not(clonekit_sys_fork))]
    // SAFETY: clone(SIGCHLD) with no stack is fork on ports without SYS_fork.
    let ret = unsafe { clone_syscall(libc::SIGCHLD as u64, 0, 0, 0, 0) };
    fork_like(ret)
}

/// Legacy `clone` in the argument order of this architecture.
///
/// # Safety
///
/// As for [`clone`].
unsafe fn clone_syscall(flags: u64, stack: usize, ptid: usize, ctid: usize, tls: usize) -> c_long {
    #[cfg(clonekit_clone_order = "tls_last")]
    // SAFETY: forwarded from the caller.
    let ret = unsafe { libc::syscall(libc::SYS_clone, flags, stack, ptid, ctid, tls) };
    #[cfg(clonekit_clone_order = "tls_before_child_tid")]
    // SAFETY: forwarded from the caller.
    let ret = unsafe { libc::syscall(libc::SYS_clone, flags, stack, ptid, tls, ctid) };
    #[cfg(clonekit_clone_order = "stack_first")]
    // SAFETY: forwarded from the caller.
    let ret = unsafe { libc::syscall(libc::SYS_clone, stack, flags, ptid, ctid, tls) };
    ret
}

/// `clone()` with no new stack: the child continues from this call on a copy
/// of the caller's stack, like fork. The exit signal is OR'ed into the low
/// byte of the flags, as the legacy call wants, so any other bit there
/// changes the signal the parent gets; flags above bit 31 are passed as they
/// are and ignored by the kernel. The checked layer refuses both before it
/// gets here: every bit outside the named flags
/// ([`Rule::UnknownBits`](crate::Rule::UnknownBits)), and the named flags
/// legacy clone cannot carry ([`Rule::Clone3Only`](crate::Rule::Clone3Only)).
///
/// Returns `Ok(None)` in the child and `Ok(Some(tid))` in the parent. With
/// `CLONE_PIDFD`, the pidfd is written to `parent_tid`.
///
/// # Safety
///
/// - `flags` must not contain `CLONE_VM` (the child would run on the caller's
///   own stack, beside it) — use [`clone_on_stack`];
/// - `flags` should hold no bit in the low byte (`CSIGNAL`): it would be
///   read as part of the exit signal;
/// - each pointer must be valid for what its flag makes the kernel write;
/// - `tls` must be a valid thread pointer if `CLONE_SETTLS` is set;
/// - the child keeps [the child's contract](crate#the-childs-contract).
///
/// # Examples
///
/// ```
/// use clonekit::{raw, CloneFlags, Signal};
/// use std::ptr::null_mut;
/// // SAFETY: no CLONE_VM, no pointers; the child only calls exit_group.
/// match unsafe { raw::clone(CloneFlags::empty(), Some(Signal::SIGCHLD), null_mut(), null_mut(), null_mut())? } {
///     // SAFETY: the forked child has its own memory and only exits.
///     None => unsafe { raw::exit_group(4) },
///     Some(pid) => {
///         let status = raw::wait4(pid, 0)?.expect("wait4 without WNOHANG reports");
///         assert_eq!(libc::WEXITSTATUS(status), 4);
///     }
/// }
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html)
#[doc(alias = "SYS_clone")]
pub unsafe fn clone(
    flags: CloneFlags,
    exit_signal: Option<Signal>,
    parent_tid: *mut c_int,
    child_tid: *mut c_int,
    tls: *mut c_void,
) -> Result<Option<Pid>, Errno> {
    let bits = flags.bits() | exit_signal_bits(exit_signal);
    // SAFETY: the caller guarantees the flags and pointers.
    let ret = unsafe { clone_syscall(bits, 0, parent_tid as usize, child_tid as usize, tls as usize) };
    fork_like(ret)
}

/// `clone()` with the child on a new stack: the child starts by calling
/// `entry(arg)`, which never returns; the parent gets the child's TID.
///
/// On architectures without a trampoline this returns `ENOSYS`.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// - `stack_top` is the 16-byte aligned top of a mapped, writable region that
///   stays mapped, and is used by nobody else, until the child has exited or
///   called execve;
/// - `entry` is sound to run on that stack with `arg`, in a task that shares
///   with the caller what `flags` says it shares (with `CLONE_VM` and no
///   `CLONE_SETTLS`, that includes the caller's thread-local storage, which
///   the child must not touch);
/// - pointers, `tls` and the child's restrictions as for [`clone`].
///
/// # Examples
///
/// ```
/// use std::ffi::c_void;
/// use std::ptr::null_mut;
/// use clonekit::{raw, CloneFlags, Signal, Stack};
///
/// /// The child's first and last Rust code: exits with `arg` as its code.
/// unsafe extern "C" fn child_main(arg: *mut c_void) -> ! {
///     // SAFETY: nothing on this stack is needed by anyone.
///     unsafe { raw::exit(arg as usize as i32) }
/// }
///
/// let mut stack = Stack::new(64 * 1024)?;
/// // SAFETY: the stack is ours and outlives the child (reaped below); no CLONE_VM;
/// // child_main only exits.
/// let pid = unsafe {
///     raw::clone_on_stack(
///         CloneFlags::empty(),
///         Some(Signal::SIGCHLD),
///         stack.top(),
///         null_mut(),
///         null_mut(),
///         null_mut(),
///         child_main,
///         9 as *mut c_void,
///     )?
/// };
/// let status = raw::wait4(pid, 0)?.expect("no WNOHANG");
/// assert_eq!(libc::WEXITSTATUS(status), 9);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html)
#[allow(clippy::too_many_arguments)] // one per kernel argument, plus the entry and its argument
pub unsafe fn clone_on_stack(
    flags: CloneFlags,
    exit_signal: Option<Signal>,
    stack_top: *mut u8,
    parent_tid: *mut c_int,
    child_tid: *mut c_int,
    tls: *mut c_void,
    entry: ChildEntry,
    arg: *mut c_void,
) -> Result<Pid, Errno> {
    let bits = flags.bits() | exit_signal_bits(exit_signal);
    // SAFETY: the caller guarantees the stack, entry and pointers.
    let ret = unsafe { arch::clone_on_stack(bits, stack_top, parent_tid, child_tid, tls as u64, entry, arg) };
    kernel_result(ret).map(|tid| Pid::from_raw(tid as libc::pid_t))
}

/// `clone3()` with `args.stack == 0`: the child continues from this call on a
/// copy of the caller's stack. Returns `Ok(None)` in the child.
///
/// # Safety
///
/// As for [`clone`]; `args` must not contain `CLONE_VM`, and every pointer in
/// it must be valid for what the kernel reads or writes there.
///
/// # Examples
///
/// ```
/// use clonekit::{raw, raw::CloneArgs, CloneFlags};
/// let mut pidfd: libc::c_int = -1;
/// let args = CloneArgs {
///     flags: CloneFlags::PIDFD.bits(),
///     pidfd: &mut pidfd as *mut libc::c_int as u64,
///     exit_signal: libc::SIGCHLD as u64,
///     ..CloneArgs::default()
/// };
/// // SAFETY: no CLONE_VM; `pidfd` is a live int; the child only calls exit_group.
/// match unsafe { raw::clone3(&args) } {
///     // SAFETY: the forked child has its own memory and only exits.
///     Ok(None) => unsafe { raw::exit_group(0) },
///     Ok(Some(pid)) => {
///         assert!(pidfd >= 0);
///         raw::wait4(pid, 0)?;
///         // SAFETY: the kernel stored a new fd that nobody else owns.
///         drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(pidfd) });
///     }
///     Err(errno) => println!("no clone3 here: {errno}"),
/// }
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [clone3(2)](https://man7.org/linux/man-pages/man2/clone3.2.html)
#[doc(alias = "SYS_clone3")]
pub unsafe fn clone3(args: &CloneArgs) -> Result<Option<Pid>, Errno> {
    // SAFETY: the caller guarantees the arguments.
    let ret = unsafe { libc::syscall(libc::SYS_clone3, args as *const CloneArgs, args.size()) };
    fork_like(ret)
}

/// `clone3()` with the child on the stack in `args` (`stack` is the lowest
/// byte, `stack_size` its size): the child starts by calling `entry(arg)`.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// As for [`clone_on_stack`], with the stack given by `args.stack` and
/// `args.stack_size` (base + size must be 16-byte aligned).
///
/// # Examples
///
/// ```
/// use std::ffi::c_void;
/// use clonekit::{raw, raw::CloneArgs, Stack};
///
/// /// The child's first and last Rust code: exits with `arg` as its code.
/// unsafe extern "C" fn child_main(arg: *mut c_void) -> ! {
///     // SAFETY: nothing on this stack is needed by anyone.
///     unsafe { raw::exit(arg as usize as i32) }
/// }
///
/// let mut stack = Stack::new(64 * 1024)?;
/// let args = CloneArgs {
///     exit_signal: libc::SIGCHLD as u64,
///     stack: stack.base() as u64,
///     stack_size: stack.size() as u64,
///     ..CloneArgs::default()
/// };
/// // SAFETY: the stack is ours and outlives the child (reaped below); no CLONE_VM;
/// // child_main only exits.
/// match unsafe { raw::clone3_on_stack(&args, child_main, 8 as *mut c_void) } {
///     Ok(pid) => {
///         let status = raw::wait4(pid, 0)?.expect("no WNOHANG");
///         assert_eq!(libc::WEXITSTATUS(status), 8);
///     }
///     Err(errno) => println!("no clone3 here: {errno}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// - [clone3(2)](https://man7.org/linux/man-pages/man2/clone3.2.html)
pub unsafe fn clone3_on_stack(args: &CloneArgs, entry: ChildEntry, arg: *mut c_void) -> Result<Pid, Errno> {
    let ptr = args as *const CloneArgs as *const c_void;
    // SAFETY: the caller guarantees the arguments, stack and entry.
    let ret = unsafe { arch::clone3_on_stack(ptr, args.size(), entry, arg) };
    kernel_result(ret).map(|tid| Pid::from_raw(tid as libc::pid_t))
}

/// Asks whether `clone3` exists here, with arguments that cannot create a
/// process (a NULL argument block of size 0): `EINVAL` means it exists;
/// `ENOSYS`, or `EPERM` from a seccomp filter, means it does not.
///
/// # Caution
///
/// No process can be created, but a seccomp filter that kills on unknown system calls would still kill.
///
///
/// # Examples
///
/// ```
/// use clonekit::{raw, Errno};
/// match raw::clone3_probe() {
///     Errno::EINVAL => println!("clone3 is here"),
///     errno => println!("no clone3 ({errno}): legacy clone it is"),
/// }
/// ```
pub fn clone3_probe() -> Errno {
    // SAFETY: size 0 is refused before the kernel reads the pointer.
    let ret = unsafe { libc::syscall(libc::SYS_clone3, core::ptr::null::<CloneArgs>(), 0usize) };
    match libc_result(ret) {
        Ok(_) => Errno::UnknownErrno,
        Err(errno) => errno,
    }
}

/// `clone3` with `flags` and `CLONE_INTO_CGROUP` naming an fd that is not
/// open (`INT_MAX`), to learn whether the kernel knows `flags` without
/// creating a process: a kernel that does not refuses them as unknown bits
/// (`EINVAL`) before anything else; one that does gets as far as the cgroup
/// placement, which fails with `EBADF` before the child could ever run.
/// `CLONE_PIDFD` in `flags` is given a pidfd slot (the kernel may open the
/// pidfd before the cgroup fails, and closes it again). Returns the errno.
///
/// # Examples
///
/// ```
/// use clonekit::{raw, CloneFlags, Errno};
/// match raw::clone3_flags_probe(CloneFlags::AUTOREAP) {
///     Errno::EBADF => println!("this kernel knows CLONE_AUTOREAP"),
///     errno => println!("not here ({errno})"),
/// }
/// ```
pub fn clone3_flags_probe(flags: CloneFlags) -> Errno {
    let mut pidfd: c_int = -1;
    let args = CloneArgs {
        flags: (flags | CloneFlags::INTO_CGROUP).bits(),
        pidfd: &mut pidfd as *mut c_int as u64,
        cgroup: c_int::MAX as u64,
        ..CloneArgs::default()
    };
    // SAFETY: `args` and the pidfd slot are live for the call; the cgroup
    // fd is not open, so the kernel refuses the call before a child exists
    // (exit signal 0: none would be sent anyway).
    let ret = unsafe { libc::syscall(libc::SYS_clone3, &args as *const CloneArgs, args.size()) };
    match libc_result(ret) {
        // Cannot happen (the cgroup fd is not open). Should a child exist all
        // the same, it ends here at once, before running any of our code.
        // SAFETY: a fork-like child's own copy of memory; nothing to keep.
        Ok(0) => unsafe { exit_group(0) },
        Ok(_) => Errno::UnknownErrno,
        Err(errno) => errno,
    }
}

/// `vfork()` with the child moved to `stack_top` before it runs any code, so
/// that it never writes the parent's stack. The parent is suspended until
/// the child calls execve or exits.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// As for [`clone_on_stack`] with `CLONE_VM | CLONE_VFORK`: the child shares
/// all memory, including the caller's TLS, and must not touch it.
///
/// # Examples
///
/// ```
/// use std::ffi::c_void;
/// use clonekit::{raw, Stack};
///
/// /// The child's first and last Rust code: exits with `arg` as its code.
/// unsafe extern "C" fn child_main(arg: *mut c_void) -> ! {
///     // SAFETY: nothing on this stack is needed by anyone.
///     unsafe { raw::exit(arg as usize as i32) }
/// }
///
/// let mut stack = Stack::new(64 * 1024)?;
/// // SAFETY: the stack is ours and stays mapped until the child has exited (we
/// // are suspended until then); child_main touches no memory and no TLS.
/// match unsafe { raw::vfork_on_stack(stack.top(), child_main, 3 as *mut c_void) } {
///     Ok(pid) => {
///         let status = raw::wait4(pid, 0)?.expect("no WNOHANG");
///         assert_eq!(libc::WEXITSTATUS(status), 3);
///     }
///     Err(errno) => println!("no vfork here: {errno}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// - [vfork(2)](https://man7.org/linux/man-pages/man2/vfork.2.html)
#[doc(alias = "SYS_vfork")]
pub unsafe fn vfork_on_stack(stack_top: *mut u8, entry: ChildEntry, arg: *mut c_void) -> Result<Pid, Errno> {
    #[cfg(clonekit_sys_vfork)]
    // SAFETY: the caller guarantees the stack and entry.
    let ret = unsafe { arch::vfork_on_stack(stack_top, entry, arg) };
    #[cfg(not(clonekit_sys_vfork))]
    let ret = {
        let _ = (stack_top, entry, arg);
        -(libc::ENOSYS as isize)
    };
    kernel_result(ret).map(|tid| Pid::from_raw(tid as libc::pid_t))
}

/// `_exit()` of this thread only (the `exit` system call, not `exit_group`):
/// ends the calling task with `code`, running no destructors and no atexit
/// handlers. In a thread-like child (`CLONE_THREAD`) the rest of the thread
/// group goes on.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// Nothing on this thread's stack is dropped: data on it that others borrow
/// must not be needed by them afterwards.
///
/// # Examples
///
/// ```
/// use clonekit::{fork, raw, Forked};
/// // SAFETY: the child only calls exit, which is async-signal-safe.
/// match unsafe { fork()? } {
///     // SAFETY: the forked child has its own memory, and one thread: exit ends it.
///     Forked::Child => unsafe { raw::exit(3) },
///     Forked::Parent(mut child) => assert_eq!(child.wait()?.code(), Some(3)),
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [exit(2)](https://man7.org/linux/man-pages/man2/exit.2.html)
pub unsafe fn exit(code: c_int) -> ! {
    loop {
        // SAFETY: exit does not return; the caller accepts that nothing is dropped.
        unsafe { libc::syscall(libc::SYS_exit, code) };
    }
}

/// `exit_group()`—ends every thread of the calling process with `code`.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// As for [`exit`], for every thread of the process.
///
/// # Examples
///
/// ```
/// use clonekit::{fork, raw, Forked};
/// // SAFETY: the child only calls exit_group, which is async-signal-safe.
/// match unsafe { fork()? } {
///     // No destructor runs and no buffer is flushed: the parent's copy of
///     // stdout's buffer is not written twice.
///     // SAFETY: the forked child has its own memory and only exits.
///     Forked::Child => unsafe { raw::exit_group(0) },
///     Forked::Parent(mut child) => assert!(child.wait()?.success()),
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [exit_group(2)](https://man7.org/linux/man-pages/man2/exit_group.2.html)
pub unsafe fn exit_group(code: c_int) -> ! {
    loop {
        // SAFETY: exit_group does not return.
        unsafe { libc::syscall(libc::SYS_exit_group, code) };
    }
}

/// The `pidfd_open` flag for a pidfd of a thread rather than of a thread
/// group (`O_EXCL`; Linux 6.9).
///
/// # Examples
///
/// ```
/// use clonekit::{raw, Errno};
/// // A pidfd for this very thread (Linux 6.9; older kernels answer EINVAL).
/// match raw::pidfd_open(raw::gettid(), raw::PIDFD_THREAD) {
///     Ok(pidfd) => drop(pidfd),
///     Err(errno) => assert!(matches!(errno, Errno::EINVAL | Errno::ENOSYS)),
/// }
/// ```
pub const PIDFD_THREAD: c_uint = libc::O_EXCL as c_uint;

/// `pidfd_open(pid, flags)`—a pidfd (`O_CLOEXEC`) for process `pid`. Race-free
/// only for a child of ours that is known not to be reaped yet (its pid cannot
/// be reused). A caller that ignores `SIGCHLD` cannot know that: the kernel
/// reaps a child the moment it exits. `CLONE_PIDFD`, which makes the pidfd
/// with the child, is race-free always.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use clonekit::{fork, raw, Forked};
/// // SAFETY: the child only calls exit_group, which is async-signal-safe.
/// if let Forked::Parent(mut child) = unsafe { fork()? } {
///     let pidfd = raw::pidfd_open(child.pid(), 0).map_err(|errno| clonekit::Error::Sys { call: "pidfd_open", errno, detail: None })?;
///     # let _ = pidfd;
///     child.wait()?;
/// } else {
///     // SAFETY: the forked child has its own memory: nothing left undropped is needed by anyone.
///     unsafe { raw::exit_group(0) }
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
pub fn pidfd_open(pid: Pid, flags: c_uint) -> Result<OwnedFd, Errno> {
    // SAFETY: plain integers.
    let fd = fd_result(unsafe { syscall2(libc::SYS_pidfd_open, pid.as_raw() as usize, flags as usize) })?;
    // SAFETY: the kernel just opened it; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
