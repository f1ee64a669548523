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
/// # Examples
///
/// ```
/// use clonekit::{raw, Errno};
/// let argv = [c"/nonexistent".as_ptr(), std::ptr::null()];
/// let envp = [std::ptr::null()];
/// // Returns only on failure.
/// // SAFETY: argv and envp are NULL-terminated arrays of C-string literals, alive for the call.
/// assert_eq!(unsafe { raw::execve(argv[0], argv.as_ptr(), envp.as_ptr()) }, Errno::ENOENT);
/// ```
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
/// # Examples
///
/// ```
/// use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
/// use clonekit::raw;
/// // SAFETY: pipe2 has no preconditions; both new ends come back as our own OwnedFds.
/// let (read, _write) = unsafe { raw::pipe2(libc::O_CLOEXEC)? };
/// // SAFETY: only duplicates our `read`; the new fd is ours and owned just below.
/// let high = unsafe { raw::dup_above(read.as_raw_fd(), 100)? };
/// // SAFETY: `high` is a fresh open fd that nothing else owns.
/// let _high = unsafe { OwnedFd::from_raw_fd(high) };
/// // Replace the copy with another copy of `read`, this time without O_CLOEXEC.
/// // SAFETY: `high` is ours (held by `_high`), so replacing it breaks nobody's fd.
/// assert_eq!(unsafe { raw::dup3(read.as_raw_fd(), high, 0)? }, high);
/// // SAFETY: F_GETFD only reads the flags of our own open fd.
/// assert_eq!(unsafe { raw::fcntl_getfd(high)? } & libc::FD_CLOEXEC, 0);
/// # Ok::<(), clonekit::Errno>(())
/// ```
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
/// # Examples
///
/// ```
/// use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
/// use clonekit::raw;
/// // SAFETY: pipe2 has no preconditions; both new ends come back as our own OwnedFds.
/// let (read, _write) = unsafe { raw::pipe2(0)? };
/// // SAFETY: only duplicates our `read`; the copy is ours and closed below.
/// let copy = unsafe { raw::dup_above(read.as_raw_fd(), 100)? };
/// assert!(copy >= 100);
/// // SAFETY: `copy` is a fresh open fd that nothing else owns.
/// drop(unsafe { OwnedFd::from_raw_fd(copy) });
/// # Ok::<(), clonekit::Errno>(())
/// ```
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
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use clonekit::raw;
/// // SAFETY: pipe2 has no preconditions; both new ends come back as our own OwnedFds.
/// let (read, _write) = unsafe { raw::pipe2(libc::O_CLOEXEC)? };
/// // SAFETY: F_GETFD only reads the flags of our own open fd.
/// assert_eq!(unsafe { raw::fcntl_getfd(read.as_raw_fd())? }, libc::FD_CLOEXEC);
/// # Ok::<(), clonekit::Errno>(())
/// ```
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
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use clonekit::raw;
/// // SAFETY: pipe2 has no preconditions; both new ends come back as our own OwnedFds.
/// let (read, _write) = unsafe { raw::pipe2(libc::O_CLOEXEC)? };
/// // SAFETY: only clears FD_CLOEXEC on our own open fd.
/// unsafe { raw::fcntl_setfd(read.as_raw_fd(), 0)? };
/// // SAFETY: F_GETFD only reads the flags of our own open fd.
/// assert_eq!(unsafe { raw::fcntl_getfd(read.as_raw_fd())? }, 0);
/// # Ok::<(), clonekit::Errno>(())
/// ```
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
/// # Examples
///
/// ```
/// use std::os::fd::IntoRawFd;
/// use clonekit::{raw, Errno};
/// // SAFETY: pipe2 has no preconditions; both new ends come back as our own OwnedFds.
/// let (read, _write) = unsafe { raw::pipe2(0)? };
/// let fd = read.into_raw_fd();
/// // SAFETY: `fd` was released by into_raw_fd, so nothing else owns it.
/// unsafe { raw::close(fd)? };
/// // SAFETY: no other thread here can have reopened `fd`: this closes nothing of anyone's.
/// assert_eq!(unsafe { raw::close(fd) }, Err(Errno::EBADF));
/// # Ok::<(), clonekit::Errno>(())
/// ```
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
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use clonekit::raw;
/// // SAFETY: pipe2 has no preconditions; both new ends come back as our own OwnedFds.
/// let (read, _write) = unsafe { raw::pipe2(0)? };
/// let fd = read.as_raw_fd() as u32;
/// // Mark it close-on-exec rather than closing it (Linux 5.11).
/// // SAFETY: only marks our own `read` close-on-exec; nothing is closed.
/// match unsafe { raw::close_range(fd, fd, libc::CLOSE_RANGE_CLOEXEC) } {
///     // SAFETY: F_GETFD only reads the flags of our own open fd.
///     Ok(()) => assert_eq!(unsafe { raw::fcntl_getfd(fd as i32)? }, libc::FD_CLOEXEC),
///     Err(errno) => println!("close_range: {errno} on this kernel"),
/// }
/// # Ok::<(), clonekit::Errno>(())
/// ```
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
/// # Examples
///
/// ```
/// use clonekit::{raw, Errno};
/// // SAFETY: a C-string literal: NUL-terminated and static.
/// assert_eq!(unsafe { raw::chdir(c"/nonexistent/dir".as_ptr()) }, Err(Errno::ENOENT));
/// ```
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
/// # Examples
///
/// ```
/// use clonekit::{fork, raw, Forked};
/// // A fresh child leads no process group, so it may start a session.
/// // SAFETY: the child only calls setsid and exit_group, raw syscalls that are async-signal-safe.
/// match unsafe { fork()? } {
///     // SAFETY: setsid has no preconditions; the forked child has its own
///     // memory: nothing left undropped is needed by anyone.
///     Forked::Child => unsafe { raw::exit_group(raw::setsid().is_ok() as i32) },
///     Forked::Parent(mut child) => assert_eq!(child.wait()?.code(), Some(1)),
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
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
/// # Examples
///
/// ```
/// use clonekit::{fork, raw, Forked, Pid};
/// // SAFETY: the child only calls setpgid and exit_group, raw syscalls that are async-signal-safe.
/// match unsafe { fork()? } {
///     // SAFETY: setpgid has no preconditions; the forked child has its own
///     // memory: nothing left undropped is needed by anyone.
///     Forked::Child => unsafe {
///         let zero = Pid::from_raw(0);
///         raw::exit_group(raw::setpgid(zero, zero).is_ok() as i32)
///     },
///     Forked::Parent(mut child) => assert_eq!(child.wait()?.code(), Some(1)),
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
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
/// # Examples
///
/// ```
/// use clonekit::{fork, raw, Forked};
/// // SAFETY: the child only calls set_pdeathsig and exit_group, raw syscalls that are async-signal-safe.
/// match unsafe { fork()? } {
///     // SAFETY: set_pdeathsig has no preconditions; the forked child has its own
///     // memory: nothing left undropped is needed by anyone.
///     Forked::Child => unsafe { raw::exit_group(raw::set_pdeathsig(libc::SIGTERM).is_ok() as i32) },
///     Forked::Parent(mut child) => assert_eq!(child.wait()?.code(), Some(1)),
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
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
/// # Examples
///
/// ```
/// use clonekit::raw;
/// let mut mask = raw::full_sigset();
/// // Read the calling thread's mask without changing it.
/// // SAFETY: `set` is NULL and `old` points to a live sigset_t.
/// unsafe { raw::rt_sigprocmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask)? };
/// # Ok::<(), clonekit::Errno>(())
/// ```
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
///
/// # Examples
///
/// ```
/// let all = clonekit::raw::full_sigset();
/// // SAFETY: `all` is a valid, initialized sigset_t.
/// assert_eq!(unsafe { libc::sigismember(&all, libc::SIGUSR1) }, 1);
/// ```
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
/// # Examples
///
/// ```
/// use clonekit::raw::KernelSigaction;
/// assert_eq!(KernelSigaction::default().handler, libc::SIG_DFL);
/// ```
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
/// # Examples
///
/// ```
/// use clonekit::raw::{self, KernelSigaction};
/// let mut old = KernelSigaction::default();
/// // Read SIGCHLD's disposition without changing it.
/// // SAFETY: `act` is NULL (nothing changes) and `old` points to a live KernelSigaction.
/// unsafe { raw::rt_sigaction(libc::SIGCHLD, std::ptr::null(), &mut old)? };
/// # Ok::<(), clonekit::Errno>(())
/// ```
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
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use clonekit::raw;
/// // SAFETY: pipe2 has no preconditions; both new ends come back as our own OwnedFds.
/// let (read, write) = unsafe { raw::pipe2(0)? };
/// // SAFETY: the literal is valid for 2 bytes of reads; the fd is ours and open.
/// assert_eq!(unsafe { raw::write(write.as_raw_fd(), b"hi".as_ptr(), 2)? }, 2);
/// let mut buf = [0u8; 8];
/// // SAFETY: `buf` is valid for `buf.len()` bytes of writes; the fd is ours and open.
/// assert_eq!(unsafe { raw::read(read.as_raw_fd(), buf.as_mut_ptr(), buf.len())? }, 2);
/// assert_eq!(&buf[..2], b"hi");
/// # Ok::<(), clonekit::Errno>(())
/// ```
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
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use clonekit::{raw, Errno};
/// // SAFETY: pipe2 has no preconditions; both new ends come back as our own OwnedFds.
/// let (read, write) = unsafe { raw::pipe2(0)? };
/// drop(read);
/// // No reader left: EPIPE (SIGPIPE is ignored by Rust programs).
/// // SAFETY: the literal is valid for 1 byte of reads; the fd is ours and open.
/// assert_eq!(unsafe { raw::write(write.as_raw_fd(), b"x".as_ptr(), 1) }, Err(Errno::EPIPE));
/// # Ok::<(), clonekit::Errno>(())
/// ```
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
/// # Examples
///
/// ```
/// // SAFETY: pipe2 has no preconditions; both new ends come back as our own OwnedFds.
/// let (read, write) = unsafe { clonekit::raw::pipe2(libc::O_CLOEXEC)? };
/// # let _ = (read, write);
/// # Ok::<(), clonekit::Errno>(())
/// ```
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
/// only for a child of ours that is known not to be reaped yet (its pid cannot
/// be reused). A caller that ignores `SIGCHLD` cannot know that: the kernel
/// reaps a child the moment it exits. `CLONE_PIDFD`, which makes the pidfd
/// with the child, is race-free always.
///
/// # Safety
///
/// Safe in itself; `unsafe` like the whole module.
///
/// # Examples
///
/// ```
/// use clonekit::{fork, raw, Forked};
/// // SAFETY: the child only calls exit_group, which is async-signal-safe.
/// if let Forked::Parent(mut child) = unsafe { fork()? } {
///     // SAFETY: pidfd_open has no preconditions; the new fd comes back owned.
///     let pidfd = unsafe { raw::pidfd_open(child.pid(), 0) }.map_err(|errno| clonekit::Error::Sys { call: "pidfd_open", errno, detail: None })?;
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
/// # Examples
///
/// ```
/// use clonekit::raw;
/// // Signal 0: only checks that the thread exists.
/// // SAFETY: getppid and gettid have no preconditions.
/// let (_, me) = unsafe { raw::parent_and_self() };
/// // SAFETY: signal 0 sends nothing; it only checks that `me` exists.
/// unsafe { raw::tkill(me, 0)? };
/// # Ok::<(), clonekit::Errno>(())
/// ```
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
/// # Examples
///
/// ```
/// use clonekit::raw;
/// // SAFETY: getppid and gettid have no preconditions.
/// let (parent, me) = unsafe { raw::parent_and_self() };
/// assert_eq!(parent.as_raw() as u32, std::os::unix::process::parent_id());
/// assert!(me.as_raw() > 0);
/// ```
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
