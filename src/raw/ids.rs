//! Who a process is: its ids, credentials, session and group, the
//! namespaces it unshares, and the signal it gets when its parent dies.

// Unsafe is denied crate-wide; this file holds some: the system calls themselves.
#![allow(unsafe_code)]

use core::ffi::{c_int, c_long};

use nix::errno::Errno;
use nix::unistd::Pid;

use super::arch::{syscall0, syscall1, syscall2, syscall5};
use super::{kernel_result, libc_result, unit};
use crate::CloneFlags;

/// `gettid()`—the caller's thread ID, straight from the kernel (glibc's
/// cached value is stale after a raw clone).
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// assert_eq!(raw::gettid(), raw::getpid()); // the main thread's TID is the PID
/// let other = std::thread::spawn(raw::gettid).join().unwrap();
/// assert_ne!(other, raw::gettid());
/// ```
///
/// # References
/// - [gettid(2)](https://man7.org/linux/man-pages/man2/gettid.2.html)
pub fn gettid() -> Pid {
    // SAFETY: no arguments.
    Pid::from_raw(unsafe { libc::syscall(libc::SYS_gettid) } as libc::pid_t)
}

/// `getpid()`—the caller's thread group ID, straight from the kernel.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// assert_eq!(raw::getpid().as_raw() as u32, std::process::id());
/// ```
///
/// # References
/// - [getpid(2)](https://man7.org/linux/man-pages/man2/getpid.2.html)
pub fn getpid() -> Pid {
    // SAFETY: no arguments.
    Pid::from_raw(unsafe { libc::syscall(libc::SYS_getpid) } as libc::pid_t)
}

/// `getppid()`—the caller's parent process ID.
///
/// # Examples
///
/// ```
/// use clonekit::{raw, CloneBuilder};
/// // SAFETY: no CLONE_VM; the closure makes one system call and compares.
/// let mut child = unsafe { CloneBuilder::new().spawn(|| i32::from(raw::getppid() == raw::getpid()))? };
/// // The child's parent is us; its copy of getpid's answer would be stale.
/// assert_eq!(child.wait()?.code(), Some(0));
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [getppid(2)](https://man7.org/linux/man-pages/man2/getppid.2.html)
pub fn getppid() -> Pid {
    // SAFETY: no arguments.
    Pid::from_raw(unsafe { libc::syscall(libc::SYS_getppid) } as libc::pid_t)
}

/// `getppid()` and `gettid()` without libc: neither can fail, but this pair
/// is what the child of a vfork-like clone uses, so it goes through the same
/// errno-free path as the rest. Returns `(parent pid, own tid)`.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// let (parent, me) = raw::parent_and_self();
/// assert_eq!(parent.as_raw() as u32, std::os::unix::process::parent_id());
/// assert!(me.as_raw() > 0);
/// ```
///
/// # References
/// - [getppid(2)](https://man7.org/linux/man-pages/man2/getppid.2.html),
///   [gettid(2)](https://man7.org/linux/man-pages/man2/gettid.2.html)
pub fn parent_and_self() -> (Pid, Pid) {
    // SAFETY: no arguments.
    let (ppid, tid) = unsafe { (syscall0(libc::SYS_getppid), syscall0(libc::SYS_gettid)) };
    (
        Pid::from_raw(ppid as libc::pid_t),
        Pid::from_raw(tid as libc::pid_t),
    )
}

/// `setresuid(ruid, euid, suid)`—the raw system call, for this thread only
/// (glibc's wrapper signals every thread it knows of, which after a raw
/// fork are threads of the parent). Leaving uid 0 for a non-zero uid clears
/// the permitted and effective capability sets.
///
/// # Caution
///
/// In a multi-threaded
/// process only the calling thread changes identity.
///
/// # Examples
///
/// ```
/// use clonekit::{raw, CloneBuilder};
/// // SAFETY: geteuid has no preconditions and cannot fail.
/// let root = unsafe { libc::geteuid() } == 0;
/// // Become nobody for good (real, effective and saved), in a child.
/// // SAFETY: no CLONE_VM; the closure makes one system call.
/// let mut child = unsafe {
///     CloneBuilder::new().spawn(|| raw::setresuid(65534, 65534, 65534).map_or_else(|e| e as i32, |()| 0))?
/// };
/// match child.wait()?.code() {
///     Some(0) => {} // it ran as nobody
///     Some(errno) => assert!(!root && errno == libc::EPERM), // no CAP_SETUID
///     None => unreachable!("the child was not killed"),
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [setresuid(2)](https://man7.org/linux/man-pages/man2/setresuid.2.html)
pub fn setresuid(ruid: u32, euid: u32, suid: u32) -> Result<(), Errno> {
    // SAFETY: plain integers.
    let ret = unsafe { libc::syscall(libc::SYS_setresuid, ruid, euid, suid) };
    libc_result(ret).map(drop)
}

/// `setresgid(rgid, egid, sgid)`—the raw system call, for this thread only
/// (see [`setresuid`]).
///
/// # Caution
///
/// As for [`setresuid`].
///
/// # Examples
///
/// ```
/// use clonekit::{raw, CloneBuilder};
/// // SAFETY: geteuid has no preconditions and cannot fail.
/// let root = unsafe { libc::geteuid() } == 0;
/// // Groups first, while we may still change them; then the user.
/// // SAFETY: no CLONE_VM; the closure makes raw system calls only.
/// let mut child = unsafe {
///     CloneBuilder::new().spawn(|| {
///         let dropped = raw::setgroups(&[])
///             .and_then(|()| raw::setresgid(65534, 65534, 65534))
///             .and_then(|()| raw::setresuid(65534, 65534, 65534));
///         dropped.map_or_else(|e| e as i32, |()| 0)
///     })?
/// };
/// match child.wait()?.code() {
///     Some(0) => {} // it ran as nobody, in group nobody, with no other group
///     Some(errno) => assert!(!root && errno == libc::EPERM), // no CAP_SETGID
///     None => unreachable!("the child was not killed"),
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [setresgid(2)](https://man7.org/linux/man-pages/man2/setresgid.2.html)
pub fn setresgid(rgid: u32, egid: u32, sgid: u32) -> Result<(), Errno> {
    // SAFETY: plain integers.
    let ret = unsafe { libc::syscall(libc::SYS_setresgid, rgid, egid, sgid) };
    libc_result(ret).map(drop)
}

/// `setuid(uid)`—the raw system call: with `CAP_SETUID` it sets the real,
/// effective and saved uid (and leaving uid 0 clears the capabilities),
/// without it only the effective uid, to the real or saved one. For this
/// thread only, like [`setresuid`].
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// // SAFETY: geteuid has no preconditions and cannot fail.
/// let me = unsafe { libc::geteuid() };
/// assert_eq!(raw::setuid(me), Ok(())); // becoming who we are is allowed
/// ```
///
/// # References
/// - [setuid(2)](https://man7.org/linux/man-pages/man2/setuid.2.html)
pub fn setuid(uid: u32) -> Result<(), Errno> {
    // SAFETY: one integer.
    unit(unsafe { syscall1(libc::SYS_setuid, uid as usize) })
}

/// `setgid(gid)`—the raw system call, the group counterpart of [`setuid`].
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// // SAFETY: getegid has no preconditions and cannot fail.
/// let me = unsafe { libc::getegid() };
/// assert_eq!(raw::setgid(me), Ok(()));
/// ```
///
/// # References
/// - [setgid(2)](https://man7.org/linux/man-pages/man2/setgid.2.html)
pub fn setgid(gid: u32) -> Result<(), Errno> {
    // SAFETY: one integer.
    unit(unsafe { syscall1(libc::SYS_setgid, gid as usize) })
}

/// `setgroups(len, list)`—replaces the supplementary group IDs (needs
/// `CAP_SETGID`; refused in a user namespace whose `setgroups` file says
/// `deny`). An empty slice drops them all.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use clonekit::{fork, raw, Forked};
/// // SAFETY: the child only calls setgroups and exit_group, raw syscalls that are async-signal-safe.
/// match unsafe { fork()? } {
///     // SAFETY: the forked child has its own memory: nothing left undropped is needed by anyone.
///     Forked::Child => unsafe { raw::exit_group(raw::setgroups(&[]).is_ok() as i32) },
///     // 1 as root, 0 (EPERM) otherwise
///     Forked::Parent(mut child) => assert!(child.wait()?.code().is_some()),
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [setgroups(2)](https://man7.org/linux/man-pages/man2/setgroups.2.html)
pub fn setgroups(groups: &[u32]) -> Result<(), Errno> {
    // SAFETY: the kernel reads `len` gid_t's (u32 on Linux) from a live slice.
    unit(unsafe { syscall2(libc::SYS_setgroups, groups.len(), groups.as_ptr() as usize) })
}

/// `sethostname(name, len)`—the host name of the caller's UTS namespace
/// (needs `CAP_SYS_ADMIN` in the user namespace that owns it; at most 64
/// bytes, else `EINVAL`).
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use clonekit::{raw, Errno};
/// // Longer than the kernel's 64 bytes: refused whoever asks.
/// assert!(matches!(raw::sethostname(&[b'x'; 65]), Err(Errno::EINVAL | Errno::EPERM)));
/// ```
///
/// # References
/// - [sethostname(2)](https://man7.org/linux/man-pages/man2/sethostname.2.html)
pub fn sethostname(name: &[u8]) -> Result<(), Errno> {
    // SAFETY: the kernel reads `len` bytes from a live slice.
    unit(unsafe { syscall2(libc::SYS_sethostname, name.as_ptr() as usize, name.len()) })
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)`—from now on `execve` grants no
/// privilege (set-user-ID bits and file capabilities are ignored); kept
/// across fork and execve, and cannot be unset.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use clonekit::{fork, raw, Forked};
/// // SAFETY: the child only calls set_no_new_privs and exit_group, raw syscalls that are async-signal-safe.
/// match unsafe { fork()? } {
///     // SAFETY: the forked child has its own memory: nothing left undropped is needed by anyone.
///     Forked::Child => unsafe { raw::exit_group(raw::set_no_new_privs().is_ok() as i32) },
///     Forked::Parent(mut child) => assert_eq!(child.wait()?.code(), Some(1)),
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [PR_SET_NO_NEW_PRIVS(2const)](https://man7.org/linux/man-pages/man2/PR_SET_NO_NEW_PRIVS.2const.html)
pub fn set_no_new_privs() -> Result<(), Errno> {
    // SAFETY: plain integers; the kernel wants the unused arguments 0.
    unit(unsafe { syscall5(libc::SYS_prctl, libc::PR_SET_NO_NEW_PRIVS as usize, 1, 0, 0, 0) })
}

/// `setsid()`—makes the caller the leader of a new session and process group.
/// Returns the new session ID.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
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
pub fn setsid() -> Result<Pid, Errno> {
    // SAFETY: no arguments.
    kernel_result(unsafe { syscall0(libc::SYS_setsid) }).map(|sid| Pid::from_raw(sid as libc::pid_t))
}

/// `setpgid(pid, pgid)`—moves process `pid` (0: the caller) into process
/// group `pgid` (0: a new group led by it).
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
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
pub fn setpgid(pid: Pid, pgid: Pid) -> Result<(), Errno> {
    // SAFETY: plain integers.
    unit(unsafe { syscall2(libc::SYS_setpgid, pid.as_raw() as usize, pgid.as_raw() as usize) })
}

/// `prctl(PR_SET_PDEATHSIG, sig)`—the signal the caller gets when the
/// *thread* that created it exits (0: none).
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
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
pub fn set_pdeathsig(sig: c_int) -> Result<(), Errno> {
    // SAFETY: plain integers; the unused arguments are 0 as prctl wants.
    unit(unsafe { syscall2(libc::SYS_prctl, libc::PR_SET_PDEATHSIG as usize, sig as usize) })
}

/// `unshare(flags)`—moves the calling thread into new namespaces (or
/// unshares its fs/files); `CLONE_NEWPID` and `CLONE_NEWTIME` apply to the
/// children it creates afterwards.
///
/// # Caution
///
/// Unsharing namespaces in
/// a multi-threaded process fails for `CLONE_NEWUSER` (EINVAL).
///
/// # Examples
///
/// ```
/// use clonekit::{raw, CloneBuilder, CloneFlags, Errno};
/// // A child that gives itself its own hostname, without root: a new user
/// // namespace makes it root there, and the UTS namespace it owns is its own.
/// // SAFETY: no CLONE_VM; the closure makes raw system calls only.
/// let mut child = unsafe {
///     CloneBuilder::new().spawn(|| {
///         let renamed = raw::unshare(CloneFlags::NEWUSER | CloneFlags::NEWUTS)
///             .and_then(|()| raw::sethostname(b"sandbox"));
///         renamed.map_or_else(|e| e as i32, |()| 0)
///     })?
/// };
/// match child.wait()?.code() {
///     Some(0) => {}
///     Some(errno) => println!("no namespaces here: {}", Errno::from_raw(errno)),
///     None => unreachable!("the child was not killed"),
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [unshare(2)](https://man7.org/linux/man-pages/man2/unshare.2.html)
pub fn unshare(flags: CloneFlags) -> Result<(), Errno> {
    // SAFETY: one integer argument.
    let ret = unsafe { libc::syscall(libc::SYS_unshare, flags.bits() as c_long) };
    libc_result(ret).map(drop)
}

/// `NS_GET_TGID_FROM_PIDNS` (`_IOR(0xb7, 0x7, int)`, linux/nsfs.h, Linux
/// 6.10): the process `pid` of the PID namespace `ns` is, as this process
/// sees it. `ESRCH`: there is none (PID 1: the namespace has no init yet);
/// `ENOTTY` or `EINVAL`: the kernel cannot tell.
pub(crate) fn pid_ns_translate(ns: std::os::fd::BorrowedFd<'_>, pid: c_int) -> Result<Pid, Errno> {
    const NS_GET_TGID_FROM_PIDNS: libc::c_ulong = (2 << 30) | (4 << 16) | (0xb7 << 8) | 0x7;
    use std::os::fd::AsRawFd;
    // SAFETY: an ioctl on a descriptor we borrow, with an integer argument
    // (the kernel reads no memory of ours).
    let ret = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_TGID_FROM_PIDNS as _, pid as libc::c_ulong) };
    libc_result(ret as c_long).map(|tgid| Pid::from_raw(tgid as i32))
}
