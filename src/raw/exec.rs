//! Starting a program, and what a child sets up before it: execve, chdir,
//! chroot, umask, resource limits.

// Unsafe is denied crate-wide; this file holds some: calls that take C strings by pointer, and errno-free system calls.
#![allow(unsafe_code)]

use core::ffi::{c_char, c_uint};

use nix::errno::Errno;

use super::arch::{syscall1, syscall3, syscall4};
use super::{kernel_result, unit};

/// `execve(path, argv, envp)`—replaces the program of the calling process.
/// Returns only on failure, with the errno.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
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

/// `chdir(path)`.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
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

/// `chroot(path)`—makes `path` the root directory of the caller (needs
/// `CAP_SYS_CHROOT`). The working directory is not changed: it may lie
/// outside the new root until the caller changes it (to `/`, say).
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// `path` is a NUL-terminated string alive for the call. Changes the root of
/// every thread that shares it (`CLONE_FS`).
///
/// # Examples
///
/// ```
/// use clonekit::{raw, Errno};
/// // SAFETY: a C-string literal: NUL-terminated and static. It does not exist, so nothing changes.
/// let err = unsafe { raw::chroot(c"/nonexistent/dir".as_ptr()) }.unwrap_err();
/// assert!(matches!(err, Errno::ENOENT | Errno::EPERM));
/// ```
///
/// # References
/// - [chroot(2)](https://man7.org/linux/man-pages/man2/chroot.2.html)
pub unsafe fn chroot(path: *const c_char) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the string.
    unit(unsafe { syscall1(libc::SYS_chroot, path as usize) })
}

/// `umask(mask)`—sets the caller's file mode creation mask (only its low
/// nine bits count) and returns the previous one; it cannot fail. The mask
/// is shared with every thread and `CLONE_FS` child.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// let old = raw::umask(0o022);
/// assert_eq!(raw::umask(old), 0o022);
/// ```
///
/// # References
/// - [umask(2)](https://man7.org/linux/man-pages/man2/umask.2.html)
pub fn umask(mask: u32) -> u32 {
    // SAFETY: one integer; umask always succeeds.
    unsafe { syscall1(libc::SYS_umask, mask as usize) as u32 }
}

/// A resource whose use the kernel limits per process (getrlimit(2)'s
/// `RLIMIT_*`), for [`setrlimit`] and [`Exec::rlimit`](crate::Exec::rlimit).
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Resource};
/// let out = Exec::new("sh").args(["-c", "ulimit -n"]).rlimit(Resource::NoFile, 64, 64).output()?;
/// assert_eq!(out.stdout, b"64\n");
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [getrlimit(2)](https://man7.org/linux/man-pages/man2/getrlimit.2.html)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource {
    /// `RLIMIT_AS`: the size of the virtual address space, in bytes.
    AddressSpace,
    /// `RLIMIT_CORE`: the largest core dump, in bytes.
    Core,
    /// `RLIMIT_CPU`: CPU time, in seconds.
    Cpu,
    /// `RLIMIT_DATA`: the data segment and heap, in bytes.
    Data,
    /// `RLIMIT_FSIZE`: the largest file the process may write, in bytes.
    FileSize,
    /// `RLIMIT_LOCKS`: flock and fcntl leases (unused since Linux 2.4.25 for locks).
    Locks,
    /// `RLIMIT_MEMLOCK`: memory locked in RAM, in bytes.
    MemLock,
    /// `RLIMIT_MSGQUEUE`: bytes in POSIX message queues of the real user.
    MsgQueue,
    /// `RLIMIT_NICE`: the ceiling of the nice value, as `20 - nice`.
    Nice,
    /// `RLIMIT_NOFILE`: one more than the highest fd number that can be opened.
    NoFile,
    /// `RLIMIT_NPROC`: processes (threads) of the real user.
    NProc,
    /// `RLIMIT_RSS`: the resident set (no effect since Linux 2.6).
    Rss,
    /// `RLIMIT_RTPRIO`: the ceiling of the real-time priority.
    RtPrio,
    /// `RLIMIT_RTTIME`: CPU time under a real-time policy without a blocking call, in microseconds.
    RtTime,
    /// `RLIMIT_SIGPENDING`: signals queued for the real user.
    SigPending,
    /// `RLIMIT_STACK`: the main thread's stack, in bytes.
    Stack,
}

impl Resource {
    /// The kernel's `RLIMIT_*` number.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(clonekit::Resource::NoFile.number(), libc::RLIMIT_NOFILE as u32);
    /// ```
    pub fn number(self) -> c_uint {
        let number = match self {
            Resource::AddressSpace => libc::RLIMIT_AS,
            Resource::Core => libc::RLIMIT_CORE,
            Resource::Cpu => libc::RLIMIT_CPU,
            Resource::Data => libc::RLIMIT_DATA,
            Resource::FileSize => libc::RLIMIT_FSIZE,
            Resource::Locks => libc::RLIMIT_LOCKS,
            Resource::MemLock => libc::RLIMIT_MEMLOCK,
            Resource::MsgQueue => libc::RLIMIT_MSGQUEUE,
            Resource::Nice => libc::RLIMIT_NICE,
            Resource::NoFile => libc::RLIMIT_NOFILE,
            Resource::NProc => libc::RLIMIT_NPROC,
            Resource::Rss => libc::RLIMIT_RSS,
            Resource::RtPrio => libc::RLIMIT_RTPRIO,
            Resource::RtTime => libc::RLIMIT_RTTIME,
            Resource::SigPending => libc::RLIMIT_SIGPENDING,
            Resource::Stack => libc::RLIMIT_STACK,
        };
        // glibc types them `c_uint`, musl `c_int`; all are small.
        #[allow(clippy::unnecessary_cast)]
        let number = number as c_uint;
        number
    }
}

/// `prlimit64(0, resource, {soft, hard}, NULL)`—sets one resource limit of
/// the caller (`RLIMIT_*`; `u64::MAX` is `RLIM_INFINITY`). `EINVAL` when
/// `soft > hard` or for an unknown resource; `EPERM` when the hard limit is
/// raised without `CAP_SYS_RESOURCE`.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use clonekit::{raw, Errno, Resource};
/// // A soft limit above the hard one is refused, and nothing changes.
/// assert_eq!(raw::setrlimit(Resource::NoFile, 2, 1), Err(Errno::EINVAL));
/// ```
///
/// # References
/// - [prlimit(2)](https://man7.org/linux/man-pages/man2/prlimit.2.html)
pub fn setrlimit(resource: Resource, soft: u64, hard: u64) -> Result<(), Errno> {
    let limit = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    let new = std::ptr::addr_of!(limit) as usize;
    // SAFETY: the kernel reads one live rlimit64; the old limit is not asked for (NULL).
    unit(unsafe { syscall4(libc::SYS_prlimit64, 0, resource.number() as usize, new, 0) })
}
