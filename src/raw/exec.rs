//! Errno-free system calls for the child of a vfork-like clone, which runs on
//! the parent's memory and the parent thread's TLS until it execs.
//!
//! libc's wrappers (and `libc::syscall`) store `errno`, a thread-local, when a
//! call fails; in a `CLONE_VM` child that would write the *parent thread's*
//! `errno` behind its back. Every function here issues the `syscall`
//! instruction itself (on x86_64; see `arch/`) and hands back the kernel's
//! answer as `Result<_, Errno>` without touching any memory but its arguments.
//! None of them allocates, locks, or panics.
//!
//! # Safety
//!
//! All are `unsafe` like the rest of [`raw`](crate::raw): pointers must be
//! valid for what the kernel reads or writes through them, and file
//! descriptors passed by number are not owned by anything the call would
//! invalidate (closing or replacing an fd an `OwnedFd` holds breaks I/O
//! safety).

use core::ffi::{c_char, c_int, c_uint};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::unistd::Pid;

use super::arch::{syscall0, syscall1, syscall2, syscall3, syscall4};
use super::kernel_result;

/// Signal numbers go from 1 to this (`_NSIG` on x86_64 and most ports).
pub const NSIG: c_int = 64;

/// The size of the kernel's signal set (`_NSIG / 8` bytes), what
/// `rt_sigprocmask` and `rt_sigaction` expect as `sigsetsize`. The first
/// bytes of a `libc::sigset_t` are the kernel's set.
const KERNEL_SIGSET_SIZE: usize = (NSIG / 8) as usize;

fn unit(ret: isize) -> Result<(), Errno> {
    kernel_result(ret).map(drop)
}

fn fd_result(ret: isize) -> Result<RawFd, Errno> {
    kernel_result(ret).map(|fd| fd as RawFd)
}

/// `execve(path, argv, envp)`—replaces the program of the calling process.
/// Returns only on failure, with the errno.
///
/// # Safety
///
/// `path` is a NUL-terminated string; `argv` and `envp` are NULL-terminated
/// arrays of NUL-terminated strings, all alive for the call.
///
/// # References
/// - [execve(2)](https://man7.org/linux/man-pages/man2/execve.2.html)
pub unsafe fn execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> Errno {
    // SAFETY: the caller guarantees the three pointers.
    let ret = unsafe { syscall3(libc::SYS_execve, path as usize, argv as usize, envp as usize) };
    match kernel_result(ret) {
        Err(errno) => errno,
        Ok(_) => Errno::UnknownErrno,
    }
}

/// `dup3(old, new, flags)`—makes `new` a copy of `old` (closing what `new` was),
/// with `O_CLOEXEC` in `flags` or not. `old == new` is `EINVAL`.
///
/// # Safety
///
/// `new` must not be an fd that something else owns and still uses.
///
/// # References
/// - [dup3(2)](https://man7.org/linux/man-pages/man2/dup3.2.html)
pub unsafe fn dup3(old: RawFd, new: RawFd, flags: c_int) -> Result<RawFd, Errno> {
    // SAFETY: plain integers; the caller answers for `new`.
    fd_result(unsafe { syscall3(libc::SYS_dup3, old as usize, new as usize, flags as usize) })
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, min)`—a close-on-exec copy of `fd` at the
/// lowest free number not below `min`.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module. The new fd is the caller's
/// to close.
///
/// # References
/// - [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html)
pub unsafe fn dup_above(fd: RawFd, min: RawFd) -> Result<RawFd, Errno> {
    // SAFETY: plain integers.
    fd_result(unsafe {
        syscall3(
            libc::SYS_fcntl,
            fd as usize,
            libc::F_DUPFD_CLOEXEC as usize,
            min as usize,
        )
    })
}

/// `fcntl(fd, F_GETFD)`—the fd's flags (`FD_CLOEXEC`).
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html)
pub unsafe fn fcntl_getfd(fd: RawFd) -> Result<c_int, Errno> {
    // SAFETY: plain integers.
    kernel_result(unsafe { syscall2(libc::SYS_fcntl, fd as usize, libc::F_GETFD as usize) })
        .map(|f| f as c_int)
}

/// `fcntl(fd, F_SETFD, flags)`—sets the fd's flags; `0` clears `FD_CLOEXEC`.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html)
pub unsafe fn fcntl_setfd(fd: RawFd, flags: c_int) -> Result<(), Errno> {
    // SAFETY: plain integers.
    unit(unsafe {
        syscall3(
            libc::SYS_fcntl,
            fd as usize,
            libc::F_SETFD as usize,
            flags as usize,
        )
    })
}

/// `close(fd)`.
///
/// # Safety
///
/// `fd` must not be owned by anything that still uses it.
///
/// # References
/// - [close(2)](https://man7.org/linux/man-pages/man2/close.2.html)
pub unsafe fn close(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: the caller answers for the fd.
    unit(unsafe { syscall1(libc::SYS_close, fd as usize) })
}

/// `close_range(first, last, flags)`—closes (or with `CLOSE_RANGE_CLOEXEC`,
/// marks) every fd from `first` to `last` inclusive. `ENOSYS` before Linux 5.9.
///
/// # Safety
///
/// None of the fds in the range may be owned by anything that still uses it.
///
/// # References
/// - [close_range(2)](https://man7.org/linux/man-pages/man2/close_range.2.html)
pub unsafe fn close_range(first: c_uint, last: c_uint, flags: c_uint) -> Result<(), Errno> {
    // SAFETY: the caller answers for the fds.
    unit(unsafe {
        syscall3(
            libc::SYS_close_range,
            first as usize,
            last as usize,
            flags as usize,
        )
    })
}

/// `chdir(path)`.
///
/// # Safety
///
/// `path` is a NUL-terminated string alive for the call. Changes the working
/// directory of every thread that shares it (`CLONE_FS`).
///
/// # References
/// - [chdir(2)](https://man7.org/linux/man-pages/man2/chdir.2.html)
pub unsafe fn chdir(path: *const c_char) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the string.
    unit(unsafe { syscall1(libc::SYS_chdir, path as usize) })
}

/// `setsid()`—makes the caller the leader of a new session and process group.
/// Returns the new session ID.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [setsid(2)](https://man7.org/linux/man-pages/man2/setsid.2.html)
pub unsafe fn setsid() -> Result<Pid, Errno> {
    // SAFETY: no arguments.
    kernel_result(unsafe { syscall0(libc::SYS_setsid) }).map(|sid| Pid::from_raw(sid as libc::pid_t))
}

/// `setpgid(pid, pgid)`—moves process `pid` (0: the caller) into process
/// group `pgid` (0: a new group led by it).
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [setpgid(2)](https://man7.org/linux/man-pages/man2/setpgid.2.html)
pub unsafe fn setpgid(pid: Pid, pgid: Pid) -> Result<(), Errno> {
    // SAFETY: plain integers.
    unit(unsafe { syscall2(libc::SYS_setpgid, pid.as_raw() as usize, pgid.as_raw() as usize) })
}

/// `prctl(PR_SET_PDEATHSIG, sig)`—the signal the caller gets when the
/// *thread* that created it exits (0: none).
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [PR_SET_PDEATHSIG(2const)](https://man7.org/linux/man-pages/man2/PR_SET_PDEATHSIG.2const.html)
pub unsafe fn set_pdeathsig(sig: c_int) -> Result<(), Errno> {
    // SAFETY: plain integers; the unused arguments are 0 as prctl wants.
    unit(unsafe { syscall2(libc::SYS_prctl, libc::PR_SET_PDEATHSIG as usize, sig as usize) })
}

/// `rt_sigprocmask(how, set, old)`—changes the calling thread's signal mask
/// (`SIG_BLOCK`, `SIG_UNBLOCK`, `SIG_SETMASK`); `set` may be NULL to only read
/// it, `old` NULL to not.
///
/// # Safety
///
/// `set` and `old` are NULL or valid for a `sigset_t`.
///
/// # References
/// - [sigprocmask(2)](https://man7.org/linux/man-pages/man2/sigprocmask.2.html)
pub unsafe fn rt_sigprocmask(
    how: c_int,
    set: *const libc::sigset_t,
    old: *mut libc::sigset_t,
) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the pointers; the kernel touches only
    // the first KERNEL_SIGSET_SIZE bytes of each.
    unit(unsafe {
        syscall4(
            libc::SYS_rt_sigprocmask,
            how as usize,
            set as usize,
            old as usize,
            KERNEL_SIGSET_SIZE,
        )
    })
}

/// A signal set with every signal in it (the kernel ignores `SIGKILL` and
/// `SIGSTOP` in a mask). Unlike glibc's `sigfillset`, it keeps the signals
/// glibc reserves for itself, so blocking it blocks everything.
pub fn full_sigset() -> libc::sigset_t {
    let mut set = core::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: every bit pattern is a valid sigset_t (an array of integers).
    unsafe {
        core::ptr::write_bytes(set.as_mut_ptr(), 0xff, 1);
        set.assume_init()
    }
}

/// The kernel's `struct sigaction` for `rt_sigaction` on x86_64 (and
/// aarch64): handler, flags, restorer, mask. It is not libc's `sigaction`,
/// whose mask is 128 bytes and whose field order differs.
///
/// x86_64 requires `SA_RESTORER` with a restorer that calls `rt_sigreturn`
/// for a *handler* to be able to return; setting `SIG_DFL` or `SIG_IGN`, the
/// only uses here, needs none. An all-zero value is `SIG_DFL` with no flags.
///
/// # References
/// - [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html),
///   "C library/kernel differences"
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KernelSigaction {
    /// `SIG_DFL` (0), `SIG_IGN` (1) or the handler's address.
    pub handler: usize,
    /// `SA_*` flags.
    pub flags: u64,
    /// The signal trampoline, with `SA_RESTORER`.
    pub restorer: usize,
    /// Signals blocked while the handler runs.
    pub mask: u64,
}

/// `rt_sigaction(sig, act, old)`—sets (`act` not NULL) and/or reads (`old`
/// not NULL) the disposition of `sig`.
///
/// # Safety
///
/// `act` and `old` are NULL or valid; a handler in `act` must be sound to run
/// (with a restorer, see [`KernelSigaction`]). The disposition is shared by
/// every task that shares the handler table (`CLONE_SIGHAND`).
///
/// # References
/// - [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html)
pub unsafe fn rt_sigaction(
    sig: c_int,
    act: *const KernelSigaction,
    old: *mut KernelSigaction,
) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the pointers.
    unit(unsafe {
        syscall4(
            libc::SYS_rt_sigaction,
            sig as usize,
            act as usize,
            old as usize,
            KERNEL_SIGSET_SIZE,
        )
    })
}

/// `read(fd, buf, len)`—returns how many bytes were read (0 at end of file).
///
/// # Safety
///
/// `buf` is valid for `len` bytes of writes.
///
/// # References
/// - [read(2)](https://man7.org/linux/man-pages/man2/read.2.html)
pub unsafe fn read(fd: RawFd, buf: *mut u8, len: usize) -> Result<usize, Errno> {
    // SAFETY: the caller guarantees the buffer.
    kernel_result(unsafe { syscall3(libc::SYS_read, fd as usize, buf as usize, len) }).map(|n| n as usize)
}

/// `write(fd, buf, len)`—returns how many bytes were written.
///
/// # Safety
///
/// `buf` is valid for `len` bytes of reads.
///
/// # References
/// - [write(2)](https://man7.org/linux/man-pages/man2/write.2.html)
pub unsafe fn write(fd: RawFd, buf: *const u8, len: usize) -> Result<usize, Errno> {
    // SAFETY: the caller guarantees the buffer.
    kernel_result(unsafe { syscall3(libc::SYS_write, fd as usize, buf as usize, len) }).map(|n| n as usize)
}

/// `pipe2(flags)`—a new pipe: `(read end, write end)`.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [pipe2(2)](https://man7.org/linux/man-pages/man2/pipe2.2.html)
pub unsafe fn pipe2(flags: c_int) -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds: [c_int; 2] = [-1, -1];
    // SAFETY: fds is a live array of two ints.
    kernel_result(unsafe { syscall2(libc::SYS_pipe2, fds.as_mut_ptr() as usize, flags as usize) })?;
    // SAFETY: the kernel just opened both; nobody else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `pidfd_open(pid, flags)`—a pidfd (`O_CLOEXEC`) for process `pid`. Race-free
/// only for a child of ours that is not yet reaped (its pid cannot be reused).
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
pub unsafe fn pidfd_open(pid: Pid, flags: c_uint) -> Result<OwnedFd, Errno> {
    // SAFETY: plain integers.
    let fd = fd_result(unsafe { syscall2(libc::SYS_pidfd_open, pid.as_raw() as usize, flags as usize) })?;
    // SAFETY: the kernel just opened it; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `tkill(tid, sig)`—sends `sig` to one thread, without touching `errno`.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [tkill(2)](https://man7.org/linux/man-pages/man2/tkill.2.html)
pub unsafe fn tkill(tid: Pid, sig: c_int) -> Result<(), Errno> {
    // SAFETY: plain integers.
    unit(unsafe { syscall2(libc::SYS_tkill, tid.as_raw() as usize, sig as usize) })
}

/// `getppid()` and `gettid()` without libc: neither can fail, but this pair
/// is what the child of a vfork-like clone uses, so it goes through the same
/// errno-free path as the rest. Returns `(parent pid, own tid)`.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # References
/// - [getppid(2)](https://man7.org/linux/man-pages/man2/getppid.2.html),
///   [gettid(2)](https://man7.org/linux/man-pages/man2/gettid.2.html)
pub unsafe fn parent_and_self() -> (Pid, Pid) {
    // SAFETY: no arguments.
    let (ppid, tid) = unsafe { (syscall0(libc::SYS_getppid), syscall0(libc::SYS_gettid)) };
    (
        Pid::from_raw(ppid as libc::pid_t),
        Pid::from_raw(tid as libc::pid_t),
    )
}
