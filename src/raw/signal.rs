//! Signals: sending them (kill, tgkill, tkill, pidfd_send_signal), masks
//! and dispositions.

// Unsafe is denied crate-wide; this file holds some: system calls that install handlers and masks.
#![allow(unsafe_code)]

use core::ffi::c_int;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::arch::{syscall2, syscall4};
use super::{libc_result, unit};

/// Signal numbers go from 1 to this (`_NSIG` on x86_64 and most ports).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// // Signal numbers run from 1 to NSIG: the real-time ones fill the end.
/// assert_eq!(libc::SIGRTMAX(), raw::NSIG);
/// let standard = (1..=raw::NSIG).filter(|&sig| sig < libc::SIGRTMIN()).count();
/// assert!(standard >= 31);
/// ```
pub const NSIG: c_int = 64;

/// The size of the kernel's signal set (`_NSIG / 8` bytes), what
/// `rt_sigprocmask` and `rt_sigaction` expect as `sigsetsize`. The first
/// bytes of a `libc::sigset_t` are the kernel's set.
const KERNEL_SIGSET_SIZE: usize = (NSIG / 8) as usize;

/// `kill(pid, sig)`.
///
/// # Examples
///
/// ```
/// use clonekit::{raw, Signal};
/// // SAFETY: the child only makes raw system calls.
/// match unsafe { raw::fork()? } {
///     None => loop {
///         // SAFETY: pause has no preconditions.
///         unsafe { libc::pause() };
///     },
///     Some(pid) => {
///         raw::kill(pid, Signal::SIGTERM)?;
///         let status = raw::wait4(pid, 0)?.expect("no WNOHANG");
///         assert_eq!(libc::WTERMSIG(status), libc::SIGTERM);
///     }
/// }
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [kill(2)](https://man7.org/linux/man-pages/man2/kill.2.html)
pub fn kill(pid: Pid, sig: Signal) -> Result<(), Errno> {
    // SAFETY: plain integers.
    let ret = unsafe { libc::syscall(libc::SYS_kill, pid.as_raw(), sig as c_int) };
    libc_result(ret).map(drop)
}

/// `tgkill(tgid, tid, sig)`—sends `sig` to one thread of a thread group.
///
/// # Examples
///
/// ```
/// use clonekit::{raw, Signal};
/// // SIGURG is ignored unless handled: sending it to this thread is harmless.
/// raw::tgkill(raw::getpid(), raw::gettid(), Signal::SIGURG)?;
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [tgkill(2)](https://man7.org/linux/man-pages/man2/tgkill.2.html)
pub fn tgkill(tgid: Pid, tid: Pid, sig: Signal) -> Result<(), Errno> {
    // SAFETY: plain integers.
    let ret = unsafe { libc::syscall(libc::SYS_tgkill, tgid.as_raw(), tid.as_raw(), sig as c_int) };
    libc_result(ret).map(drop)
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`—sends `sig` to the process the
/// pidfd refers to; unlike `kill`, a recycled pid cannot be hit.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use clonekit::{raw, CloneBuilder, Errno, Signal};
/// // SAFETY: no CLONE_VM; the closure only loops on a system call.
/// let mut child = unsafe {
///     CloneBuilder::new().pidfd(true).spawn(|| loop {
///         // SAFETY: pause has no preconditions.
///         unsafe { libc::pause() };
///     })?
/// };
/// let pidfd = child.take_pidfd().expect("asked for");
/// raw::pidfd_send_signal(pidfd.as_fd(), Signal::SIGKILL)?;
/// child.wait()?;
/// // Reaped: the pidfd still names that process, and no other.
/// assert_eq!(raw::pidfd_send_signal(pidfd.as_fd(), Signal::SIGKILL), Err(Errno::ESRCH));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// - [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: Signal) -> Result<(), Errno> {
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

/// `tkill(tid, sig)`—sends `sig` to one thread, without touching `errno`.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// // Signal 0: only checks that the thread exists.
/// let (_, me) = raw::parent_and_self();
/// raw::tkill(me, 0)?;
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [tkill(2)](https://man7.org/linux/man-pages/man2/tkill.2.html)
pub fn tkill(tid: Pid, sig: c_int) -> Result<(), Errno> {
    // SAFETY: plain integers.
    unit(unsafe { syscall2(libc::SYS_tkill, tid.as_raw() as usize, sig as usize) })
}

/// `rt_sigprocmask(how, set, old)`—changes the calling thread's signal mask
/// (`SIG_BLOCK`, `SIG_UNBLOCK`, `SIG_SETMASK`); `set` may be NULL to only read
/// it, `old` NULL to not.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
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
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
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
