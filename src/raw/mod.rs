//! The raw layer: one `unsafe` function per system call, typed, with no policy.
//!
//! This is the only module that names system call numbers, holds `asm!`, or
//! casts pointers to kernel structures. Everything here does exactly one
//! system call (or, for the `*_on_stack` trampolines, one system call plus a
//! jump in the child) and reports the kernel's answer as `Result<_, Errno>`.
//! No argument is checked: that is what [`CloneFlags::check`] and
//! [`CloneBuilder`](crate::CloneBuilder) are for, and why every function here
//! is `unsafe`.
//!
//! Legacy `clone` takes its arguments in an order that differs by
//! architecture; build.rs sets `clonekit_clone_order` and [`clone`] follows it.
//!
//! # Safety
//!
//! The callers of this module promise what each function's `# Safety` says.
//! The common part: a child created here keeps
//! [the child's contract](crate#the-childs-contract).

use core::ffi::{c_int, c_long, c_void};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::AtomicI32;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::CloneFlags;

mod clone_args;
pub use clone_args::{CloneArgs, CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1, CLONE_ARGS_SIZE_VER2};

mod exec;
pub use exec::{
    chdir, close, close_range, dup3, dup_above, execve, fcntl_getfd, fcntl_setfd, full_sigset,
    parent_and_self, pidfd_open, pipe2, read, rt_sigaction, rt_sigprocmask, set_pdeathsig, setpgid, setsid,
    tkill, write, KernelSigaction, NSIG,
};

#[cfg_attr(target_arch = "x86_64", path = "arch/x86_64.rs")]
#[cfg_attr(not(target_arch = "x86_64"), path = "arch/unsupported.rs")]
mod arch;

/// Whether this architecture has the new-stack trampolines
/// ([`clone_on_stack`], [`clone3_on_stack`], [`vfork_on_stack`]).
pub const HAS_TRAMPOLINES: bool = cfg!(target_arch = "x86_64");

/// The function a child created on a new stack jumps to. It receives the
/// `arg` given to the trampoline and must never return: it ends with
/// [`exit`], [`exit_group`] or `execve`.
pub type ChildEntry = unsafe extern "C" fn(arg: *mut c_void) -> !;

/// Turns a `-errno` style return into a `Result`.
fn kernel_result(ret: isize) -> Result<isize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw(-ret as i32))
    } else {
        Ok(ret)
    }
}

/// Turns libc's `-1 and errno` style return into a `Result`.
fn libc_result(ret: c_long) -> Result<c_long, Errno> {
    Errno::result(ret)
}

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
/// # Safety
///
/// As for [`clone_on_stack`], with the stack given by `args.stack` and
/// `args.stack_size` (base + size must be 16-byte aligned).
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
/// # Safety
///
/// Safe in itself (no process can be created); `unsafe` like the whole module.
/// A seccomp filter that kills on unknown system calls would still kill.
pub unsafe fn clone3_probe() -> Errno {
    // SAFETY: size 0 is refused before the kernel reads the pointer.
    let ret = unsafe { libc::syscall(libc::SYS_clone3, core::ptr::null::<CloneArgs>(), 0usize) };
    match libc_result(ret) {
        Ok(_) => Errno::UnknownErrno,
        Err(errno) => errno,
    }
}

/// `vfork()` with the child moved to `stack_top` before it runs any code, so
/// that it never writes the parent's stack. The parent is suspended until
/// the child calls execve or exits.
///
/// # Safety
///
/// As for [`clone_on_stack`] with `CLONE_VM | CLONE_VFORK`: the child shares
/// all memory, including the caller's TLS, and must not touch it.
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
/// # Safety
///
/// Nothing on this thread's stack is dropped: data on it that others borrow
/// must not be needed by them afterwards.
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
/// # Safety
///
/// As for [`exit`], for every thread of the process.
///
/// # References
/// - [exit_group(2)](https://man7.org/linux/man-pages/man2/exit_group.2.html)
pub unsafe fn exit_group(code: c_int) -> ! {
    loop {
        // SAFETY: exit_group does not return.
        unsafe { libc::syscall(libc::SYS_exit_group, code) };
    }
}

/// `futex(FUTEX_WAIT)`—sleeps while `*word == expected`, at most `timeout`.
/// Not private: the kernel's CLEARTID wake-up is a shared futex wake.
///
/// Returns `Ok(())` when woken, `EAGAIN` when the word already differed,
/// `ETIMEDOUT`, or `EINTR`.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [futex(2)](https://man7.org/linux/man-pages/man2/futex.2.html)
pub unsafe fn futex_wait(word: &AtomicI32, expected: i32, timeout: Option<Duration>) -> Result<(), Errno> {
    let ts = timeout.map(timespec);
    let ts_ptr = ts.as_ref().map_or(core::ptr::null(), core::ptr::from_ref);
    // SAFETY: word is a live aligned i32; ts_ptr is NULL or a live timespec.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            ts_ptr,
            0usize,
            0u32,
        )
    };
    libc_result(ret).map(drop)
}

/// `t` as the kernel's `timespec`, the seconds capped at what it can hold.
fn timespec(t: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    }
}

/// `futex(FUTEX_WAKE)`—wakes up to `count` waiters on `word`.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [futex(2)](https://man7.org/linux/man-pages/man2/futex.2.html)
pub unsafe fn futex_wake(word: &AtomicI32, count: i32) -> Result<usize, Errno> {
    // SAFETY: word is a live aligned i32.
    let ret = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, count) };
    libc_result(ret).map(|n| n as usize)
}

/// `wait4(pid, &status, options, NULL)`—waits for a child to change state.
/// Returns `Ok(None)` when `WNOHANG` is given and nothing changed, else the
/// raw wait status.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module. Reaping a pid that another
/// part of the program owns makes that part fail or, if the pid is reused,
/// wait for a stranger.
///
/// # References
/// - [wait4(2)](https://man7.org/linux/man-pages/man2/wait4.2.html)
pub unsafe fn wait4(pid: Pid, options: c_int) -> Result<Option<c_int>, Errno> {
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

/// What [`waitid`] found: the child and the `si_code`/`si_status` pair of
/// its `siginfo_t`.
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
    pub fn is_final(&self) -> bool {
        matches!(self.code, libc::CLD_EXITED | libc::CLD_KILLED | libc::CLD_DUMPED)
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
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module (see [`wait4`]).
///
/// # References
/// - [waitid(2)](https://man7.org/linux/man-pages/man2/waitid.2.html)
pub unsafe fn waitid(pid: Pid, options: c_int) -> Result<Option<WaitInfo>, Errno> {
    // SAFETY: siginfo_t is plain old data; all-zero is valid and makes
    // si_pid 0 when WNOHANG finds nothing.
    let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
    // SAFETY: info is a live siginfo_t; rusage is NULL.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_waitid,
            libc::P_PID,
            pid.as_raw(),
            &mut info as *mut libc::siginfo_t,
            options,
            0usize,
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

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`—sends `sig` to the process the
/// pidfd refers to; unlike `kill`, a recycled pid cannot be hit.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
pub unsafe fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: Signal) -> Result<(), Errno> {
    // SAFETY: info is NULL, flags 0.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig as c_int,
            0usize,
            0u32,
        )
    };
    libc_result(ret).map(drop)
}

/// `poll(fds, timeout)`—waits until at least one of `fds` is ready, or
/// `timeout` has passed (`None`: no limit), and returns how many entries
/// have `revents` set (0 on timeout). An entry whose `fd` is negative is
/// skipped. Issued as `ppoll` with no signal mask, the form every
/// architecture has.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use clonekit::raw;
/// // SAFETY: pipe2 has no preconditions; both new ends come back as our own OwnedFds.
/// let (read, write) = unsafe { raw::pipe2(libc::O_CLOEXEC)? };
/// drop(write); // no writer left: the read end reports a hang-up
/// let mut fds = [libc::pollfd { fd: read.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
/// // SAFETY: poll only reads and writes the entries of `fds`.
/// assert_eq!(unsafe { raw::poll(&mut fds, None)? }, 1);
/// assert_ne!(fds[0].revents & libc::POLLHUP, 0);
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
pub unsafe fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> Result<usize, Errno> {
    let ts = timeout.map(timespec);
    let ts_ptr = ts.as_ref().map_or(core::ptr::null(), core::ptr::from_ref);
    // SAFETY: fds is a live slice of pollfd, its length given with it;
    // ts_ptr is NULL or a live timespec; no signal mask (so no size).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_ppoll,
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            ts_ptr,
            core::ptr::null::<libc::sigset_t>(),
            0usize,
        )
    };
    libc_result(ret).map(|ready| ready as usize)
}

/// `ioctl(fd, FIONBIO, &on)`—sets or clears `O_NONBLOCK` on the open file
/// description `fd` refers to, leaving its other status flags as they are
/// (one call, where `fcntl` needs `F_GETFL` then `F_SETFL`).
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module. The flag belongs to the
/// open file description: every fd duplicated from it, in this process or
/// another, sees the change.
///
/// # Examples
///
/// ```
/// use std::os::fd::{AsFd, AsRawFd};
/// use clonekit::{raw, Errno};
/// // SAFETY: pipe2 has no preconditions; both new ends come back as our own OwnedFds.
/// let (read, _write) = unsafe { raw::pipe2(libc::O_CLOEXEC)? };
/// // SAFETY: the pipe is ours alone.
/// unsafe { raw::set_nonblocking(read.as_fd(), true)? };
/// let mut buf = [0u8; 1];
/// // An empty pipe with a writer: no data yet, and no waiting for it.
/// // SAFETY: `buf` is valid for 1 byte of writes; the fd is ours and open.
/// assert_eq!(unsafe { raw::read(read.as_raw_fd(), buf.as_mut_ptr(), 1) }, Err(Errno::EAGAIN));
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [ioctl(2)](https://man7.org/linux/man-pages/man2/ioctl.2.html),
///   [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html) (`O_NONBLOCK`)
pub unsafe fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> Result<(), Errno> {
    let on = c_int::from(on);
    // SAFETY: FIONBIO reads one int through the pointer, a live local.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_ioctl,
            fd.as_raw_fd(),
            libc::FIONBIO,
            &on as *const c_int,
        )
    };
    libc_result(ret).map(drop)
}

/// `kill(pid, sig)`.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [kill(2)](https://man7.org/linux/man-pages/man2/kill.2.html)
pub unsafe fn kill(pid: Pid, sig: Signal) -> Result<(), Errno> {
    // SAFETY: plain integers.
    let ret = unsafe { libc::syscall(libc::SYS_kill, pid.as_raw(), sig as c_int) };
    libc_result(ret).map(drop)
}

/// `gettid()`—the caller's thread ID, straight from the kernel (glibc's
/// cached value is stale after a raw clone).
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [gettid(2)](https://man7.org/linux/man-pages/man2/gettid.2.html)
pub unsafe fn gettid() -> Pid {
    // SAFETY: no arguments.
    Pid::from_raw(unsafe { libc::syscall(libc::SYS_gettid) } as libc::pid_t)
}

/// `getpid()`—the caller's thread group ID, straight from the kernel.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [getpid(2)](https://man7.org/linux/man-pages/man2/getpid.2.html)
pub unsafe fn getpid() -> Pid {
    // SAFETY: no arguments.
    Pid::from_raw(unsafe { libc::syscall(libc::SYS_getpid) } as libc::pid_t)
}

/// `getppid()`—the caller's parent process ID.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [getppid(2)](https://man7.org/linux/man-pages/man2/getppid.2.html)
pub unsafe fn getppid() -> Pid {
    // SAFETY: no arguments.
    Pid::from_raw(unsafe { libc::syscall(libc::SYS_getppid) } as libc::pid_t)
}

/// `tgkill(tgid, tid, sig)`—sends `sig` to one thread of a thread group.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [tgkill(2)](https://man7.org/linux/man-pages/man2/tgkill.2.html)
pub unsafe fn tgkill(tgid: Pid, tid: Pid, sig: Signal) -> Result<(), Errno> {
    // SAFETY: plain integers.
    let ret = unsafe { libc::syscall(libc::SYS_tgkill, tgid.as_raw(), tid.as_raw(), sig as c_int) };
    libc_result(ret).map(drop)
}

/// `setresuid(ruid, euid, suid)`—the raw system call, for this thread only
/// (glibc's wrapper signals every thread it knows of, which after a raw
/// fork are threads of the parent). Leaving uid 0 for a non-zero uid clears
/// the permitted and effective capability sets.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module. In a multi-threaded
/// process only the calling thread changes identity.
///
/// # References
/// - [setresuid(2)](https://man7.org/linux/man-pages/man2/setresuid.2.html)
pub unsafe fn setresuid(ruid: u32, euid: u32, suid: u32) -> Result<(), Errno> {
    // SAFETY: plain integers.
    let ret = unsafe { libc::syscall(libc::SYS_setresuid, ruid, euid, suid) };
    libc_result(ret).map(drop)
}

/// `setresgid(rgid, egid, sgid)`—the raw system call, for this thread only
/// (see [`setresuid`]).
///
/// # Safety
///
/// As for [`setresuid`].
///
/// # References
/// - [setresgid(2)](https://man7.org/linux/man-pages/man2/setresgid.2.html)
pub unsafe fn setresgid(rgid: u32, egid: u32, sgid: u32) -> Result<(), Errno> {
    // SAFETY: plain integers.
    let ret = unsafe { libc::syscall(libc::SYS_setresgid, rgid, egid, sgid) };
    libc_result(ret).map(drop)
}

/// `unshare(flags)`—moves the calling thread into new namespaces (or
/// unshares its fs/files); `CLONE_NEWPID` and `CLONE_NEWTIME` apply to the
/// children it creates afterwards.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module. Unsharing namespaces in
/// a multi-threaded process fails for `CLONE_NEWUSER` (EINVAL).
///
/// # References
/// - [unshare(2)](https://man7.org/linux/man-pages/man2/unshare.2.html)
pub unsafe fn unshare(flags: CloneFlags) -> Result<(), Errno> {
    // SAFETY: one integer argument.
    let ret = unsafe { libc::syscall(libc::SYS_unshare, flags.bits() as c_long) };
    libc_result(ret).map(drop)
}
