//! What a pidfd can be asked beyond signals and waits: `PIDFD_GET_INFO`
//! (`struct pidfd_info`, laid out as in the kernel's uapi `linux/pidfd.h`),
//! the `PIDFD_GET_*_NAMESPACE` ioctls, and `pidfd_send_signal` with flags.

// Unsafe is denied crate-wide; this file holds some: ioctls that write a kernel structure or return an fd.
#![allow(unsafe_code)]

use core::ffi::{c_int, c_uint, c_ulong};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::signal::Signal;

use super::libc_result;

/// `PIDFD_INFO_PID`: `pid`, `tgid` and `ppid` are filled (always, while the
/// process is not reaped).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// let want = raw::PIDFD_INFO_EXIT | raw::PIDFD_INFO_COREDUMP;
/// assert_eq!(want & raw::PIDFD_INFO_PID, 0); // returned unasked
/// ```
pub const PIDFD_INFO_PID: u64 = 1 << 0;
/// `PIDFD_INFO_CREDS`: the uids and gids are filled (always, while the
/// process is not reaped).
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_INFO_CREDS, 2);
/// ```
pub const PIDFD_INFO_CREDS: u64 = 1 << 1;
/// `PIDFD_INFO_CGROUPID`: `cgroupid` is filled (always, where cgroups exist).
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_INFO_CGROUPID, 4);
/// ```
pub const PIDFD_INFO_CGROUPID: u64 = 1 << 2;
/// `PIDFD_INFO_EXIT`: `exit_code` is filled, only on request, once the
/// process has exited (Linux 6.15).
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_INFO_EXIT, 8);
/// ```
pub const PIDFD_INFO_EXIT: u64 = 1 << 3;
/// `PIDFD_INFO_COREDUMP`: `coredump_mask` is filled, only on request, on
/// kernels that report it.
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_INFO_COREDUMP, 16);
/// ```
pub const PIDFD_INFO_COREDUMP: u64 = 1 << 4;
/// `PIDFD_INFO_SUPPORTED_MASK`: `supported_mask` is filled with every bit
/// this kernel knows, on request, on kernels that report it.
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_INFO_SUPPORTED_MASK, 32);
/// ```
pub const PIDFD_INFO_SUPPORTED_MASK: u64 = 1 << 5;
/// `PIDFD_INFO_COREDUMP_SIGNAL`: `coredump_signal` is filled (with
/// `PIDFD_INFO_COREDUMP`, when a dump took place).
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_INFO_COREDUMP_SIGNAL, 64);
/// ```
pub const PIDFD_INFO_COREDUMP_SIGNAL: u64 = 1 << 6;
/// `PIDFD_INFO_COREDUMP_CODE`: `coredump_code` is filled (with
/// `PIDFD_INFO_COREDUMP`, when a dump took place).
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_INFO_COREDUMP_CODE, 128);
/// ```
pub const PIDFD_INFO_COREDUMP_CODE: u64 = 1 << 7;

/// `PIDFD_COREDUMPED` in `coredump_mask`: the process crashed and dumped core.
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// let mask = raw::PIDFD_COREDUMPED | raw::PIDFD_COREDUMP_USER;
/// assert_ne!(mask & raw::PIDFD_COREDUMPED, 0);
/// ```
pub const PIDFD_COREDUMPED: u32 = 1 << 0;
/// `PIDFD_COREDUMP_SKIP` in `coredump_mask`: no core would be (or was) written.
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_COREDUMP_SKIP, 2);
/// ```
pub const PIDFD_COREDUMP_SKIP: u32 = 1 << 1;
/// `PIDFD_COREDUMP_USER` in `coredump_mask`: the dump is (or was) written as the user.
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_COREDUMP_USER, 4);
/// ```
pub const PIDFD_COREDUMP_USER: u32 = 1 << 2;
/// `PIDFD_COREDUMP_ROOT` in `coredump_mask`: the dump is (or was) written as
/// root, and is to be treated as sensitive.
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_COREDUMP_ROOT, 8);
/// ```
pub const PIDFD_COREDUMP_ROOT: u32 = 1 << 3;

/// `sizeof` the first published `struct pidfd_info` (Linux 6.13).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// assert!(raw::PIDFD_INFO_SIZE_VER0 < raw::PIDFD_INFO_SIZE_VER3);
/// ```
pub const PIDFD_INFO_SIZE_VER0: usize = 64;
/// `sizeof` the second published `struct pidfd_info` (`coredump_mask`).
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_INFO_SIZE_VER1, 72);
/// ```
pub const PIDFD_INFO_SIZE_VER1: usize = 72;
/// `sizeof` the third published `struct pidfd_info`.
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_INFO_SIZE_VER2, 80);
/// ```
pub const PIDFD_INFO_SIZE_VER2: usize = 80;
/// `sizeof` the fourth published `struct pidfd_info`, the largest this crate
/// knows: what [`pidfd_get_info`] passes.
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// assert_eq!(std::mem::size_of::<raw::PidfdInfoRaw>(), raw::PIDFD_INFO_SIZE_VER3);
/// ```
pub const PIDFD_INFO_SIZE_VER3: usize = 88;

/// `struct pidfd_info`, field for field. Only the fields whose bit is in
/// `mask` after the call hold what the kernel says; the rest are zero.
///
/// # Examples
///
/// ```
/// use clonekit::raw::PidfdInfoRaw;
/// let info = PidfdInfoRaw { mask: clonekit::raw::PIDFD_INFO_EXIT, ..Default::default() };
/// assert_eq!(info.exit_code, 0);
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PidfdInfoRaw {
    /// In: the `PIDFD_INFO_*` bits asked for. Out: the bits filled.
    pub mask: u64,
    /// The cgroup v2 id (`PIDFD_INFO_CGROUPID`).
    pub cgroupid: u64,
    /// The pid, as seen from the caller's PID namespace (`PIDFD_INFO_PID`).
    pub pid: u32,
    /// The thread group id, likewise.
    pub tgid: u32,
    /// The parent's pid, likewise (0 when the parent is outside it).
    pub ppid: u32,
    /// The real uid, as seen from the caller's user namespace (`PIDFD_INFO_CREDS`).
    pub ruid: u32,
    /// The real gid.
    pub rgid: u32,
    /// The effective uid.
    pub euid: u32,
    /// The effective gid.
    pub egid: u32,
    /// The saved uid.
    pub suid: u32,
    /// The saved gid.
    pub sgid: u32,
    /// The filesystem uid.
    pub fsuid: u32,
    /// The filesystem gid.
    pub fsgid: u32,
    /// The wait status (`WIFEXITED`, `WIFSIGNALED`, ...), `PIDFD_INFO_EXIT`.
    pub exit_code: i32,
    /// `PIDFD_COREDUMP*` bits (`PIDFD_INFO_COREDUMP`).
    pub coredump_mask: u32,
    /// The signal that caused the dump (`PIDFD_INFO_COREDUMP_SIGNAL`).
    pub coredump_signal: u32,
    /// Its `si_code` (`PIDFD_INFO_COREDUMP_CODE`).
    pub coredump_code: u32,
    /// Padding, so that `supported_mask` is 8-byte aligned.
    pub coredump_pad: u32,
    /// Every `PIDFD_INFO_*` bit this kernel knows (`PIDFD_INFO_SUPPORTED_MASK`).
    pub supported_mask: u64,
}

const _: () = assert!(core::mem::size_of::<PidfdInfoRaw>() == PIDFD_INFO_SIZE_VER3);

/// The pidfs ioctls' type (`PIDFS_IOCTL_MAGIC`).
const PIDFS_IOCTL_MAGIC: c_ulong = 0xFF;

/// `_IOWR(PIDFS_IOCTL_MAGIC, 11, struct pidfd_info)`, with the size of the
/// struct this crate knows: the kernel reads that size and copies back what
/// both know.
const PIDFD_GET_INFO: c_ulong =
    (3 << 30) | ((PIDFD_INFO_SIZE_VER3 as c_ulong) << 16) | (PIDFS_IOCTL_MAGIC << 8) | 11;

/// `ioctl(pidfd, PIDFD_GET_INFO, &info)` with `info.mask = request` (Linux
/// 6.13): what the kernel knows of the process the pidfd names. The returned
/// `mask` says which fields it filled; use no other field.
///
/// While the process is not reaped, pid and credentials are always filled.
/// Once it is reaped, the call fails with `ESRCH` unless `request` holds
/// [`PIDFD_INFO_EXIT`] and the kernel recorded the exit (Linux 6.15): then
/// only the exit (and the cgroup id) are filled.
///
/// Errors: `ENOTTY` before Linux 6.11 (no pidfd ioctls at all), `EINVAL`
/// on 6.11 and 6.12 (ioctls, but not this one), `ESRCH` (reaped, no exit
/// info), `EREMOTE` (outside the caller's PID namespace).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use clonekit::{raw, Errno};
/// let pidfd = raw::pidfd_open(raw::getpid(), 0)?;
/// match raw::pidfd_get_info(pidfd.as_fd(), 0) {
///     Ok(info) => {
///         assert_ne!(info.mask & raw::PIDFD_INFO_PID, 0);
///         assert_eq!(info.pid as i32, raw::getpid().as_raw());
///     }
///     Err(errno) => assert!(matches!(errno, Errno::ENOTTY | Errno::EINVAL)), // before 6.13
/// }
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html),
///   the kernel's `include/uapi/linux/pidfd.h`
pub fn pidfd_get_info(pidfd: BorrowedFd<'_>, request: u64) -> Result<PidfdInfoRaw, Errno> {
    let mut info = PidfdInfoRaw {
        mask: request,
        ..PidfdInfoRaw::default()
    };
    // SAFETY: info is a live struct of exactly the size encoded in the
    // request number, which is all the kernel reads and writes.
    let ret = unsafe {
        libc::ioctl(
            pidfd.as_raw_fd(),
            PIDFD_GET_INFO as _,
            &mut info as *mut PidfdInfoRaw,
        )
    };
    libc_result(ret.into()).map(|_| info)
}

/// `PIDFD_SIGNAL_THREAD`: the signal goes to the thread the pidfd names
/// (Linux 6.9).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// assert_eq!(raw::PIDFD_SIGNAL_THREAD | raw::PIDFD_SIGNAL_THREAD_GROUP, 3);
/// ```
pub const PIDFD_SIGNAL_THREAD: c_uint = 1 << 0;
/// `PIDFD_SIGNAL_THREAD_GROUP`: to its thread group (Linux 6.9).
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_SIGNAL_THREAD_GROUP, 2);
/// ```
pub const PIDFD_SIGNAL_THREAD_GROUP: c_uint = 1 << 1;
/// `PIDFD_SIGNAL_PROCESS_GROUP`: to the process group whose id is the
/// process's pid, i.e. the group it leads (Linux 6.9). A process that leads
/// no group gets `ESRCH`: it is not the group it is merely in
/// (kernel/signal.c, `kill_pgrp_info` on the pidfd's own pid).
///
/// # Examples
///
/// ```
/// assert_eq!(clonekit::raw::PIDFD_SIGNAL_PROCESS_GROUP, 4);
/// ```
pub const PIDFD_SIGNAL_PROCESS_GROUP: c_uint = 1 << 2;

/// `pidfd_send_signal(pidfd, sig, NULL, flags)`: as
/// [`pidfd_send_signal`](super::pidfd_send_signal), to whom `flags` says
/// (one of the `PIDFD_SIGNAL_*`; 0 is the pidfd's own default). Kernels
/// before 6.9 take no flags: `EINVAL`.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use clonekit::{raw, Errno, Signal};
/// // SIGURG is ignored unless handled: sending it to ourselves is harmless.
/// let pidfd = raw::pidfd_open(raw::getpid(), 0)?;
/// match raw::pidfd_send_signal_flags(pidfd.as_fd(), Signal::SIGURG, raw::PIDFD_SIGNAL_THREAD_GROUP) {
///     Ok(()) => {}
///     Err(errno) => assert_eq!(errno, Errno::EINVAL), // before 6.9
/// }
/// // The group flag reaches the group the process leads; unless this test
/// // process leads its group, there is none (ESRCH), or no flags (EINVAL).
/// // SAFETY: getpgrp has no preconditions.
/// let leader = raw::getpid().as_raw() == unsafe { libc::getpgrp() };
/// match raw::pidfd_send_signal_flags(pidfd.as_fd(), Signal::SIGURG, raw::PIDFD_SIGNAL_PROCESS_GROUP) {
///     Ok(()) => assert!(leader),
///     Err(errno) => assert!(errno == Errno::EINVAL || (errno == Errno::ESRCH && !leader)),
/// }
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
pub fn pidfd_send_signal_flags(pidfd: BorrowedFd<'_>, sig: Signal, flags: c_uint) -> Result<(), Errno> {
    send_signal(pidfd, sig as c_int, flags)
}

/// `pidfd_send_signal(pidfd, sig, NULL, flags)`, `sig` 0 included.
fn send_signal(pidfd: BorrowedFd<'_>, sig: c_int, flags: c_uint) -> Result<(), Errno> {
    // SAFETY: info is NULL; the signal and the flags are plain numbers the
    // kernel checks.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), sig, 0usize, flags) };
    libc_result(ret).map(drop)
}

/// A namespace a pidfd can open (`PIDFD_GET_*_NAMESPACE`, Linux 6.11).
///
/// # Examples
///
/// ```
/// use clonekit::raw::PidfdNamespace;
/// assert_eq!(PidfdNamespace::Net.proc_name(), "net");
/// assert_eq!(PidfdNamespace::PidForChildren.proc_name(), "pid_for_children");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PidfdNamespace {
    /// `cgroup`
    Cgroup,
    /// `ipc`
    Ipc,
    /// `mnt`
    Mount,
    /// `net`
    Net,
    /// `pid`: the one the process is in.
    Pid,
    /// `pid_for_children`: the one its next children will be in.
    PidForChildren,
    /// `time`
    Time,
    /// `time_for_children`
    TimeForChildren,
    /// `user`
    User,
    /// `uts`
    Uts,
}

impl PidfdNamespace {
    /// Every kind, in the order of the ioctl numbers.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(clonekit::raw::PidfdNamespace::ALL.len(), 10);
    /// ```
    pub const ALL: [PidfdNamespace; 10] = [
        PidfdNamespace::Cgroup,
        PidfdNamespace::Ipc,
        PidfdNamespace::Mount,
        PidfdNamespace::Net,
        PidfdNamespace::Pid,
        PidfdNamespace::PidForChildren,
        PidfdNamespace::Time,
        PidfdNamespace::TimeForChildren,
        PidfdNamespace::User,
        PidfdNamespace::Uts,
    ];

    /// The name of its link in `/proc/<pid>/ns/`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(clonekit::raw::PidfdNamespace::Mount.proc_name(), "mnt");
    /// ```
    pub fn proc_name(self) -> &'static str {
        match self {
            PidfdNamespace::Cgroup => "cgroup",
            PidfdNamespace::Ipc => "ipc",
            PidfdNamespace::Mount => "mnt",
            PidfdNamespace::Net => "net",
            PidfdNamespace::Pid => "pid",
            PidfdNamespace::PidForChildren => "pid_for_children",
            PidfdNamespace::Time => "time",
            PidfdNamespace::TimeForChildren => "time_for_children",
            PidfdNamespace::User => "user",
            PidfdNamespace::Uts => "uts",
        }
    }

    /// `_IO(PIDFS_IOCTL_MAGIC, n)`.
    fn request(self) -> c_ulong {
        let nr = match self {
            PidfdNamespace::Cgroup => 1,
            PidfdNamespace::Ipc => 2,
            PidfdNamespace::Mount => 3,
            PidfdNamespace::Net => 4,
            PidfdNamespace::Pid => 5,
            PidfdNamespace::PidForChildren => 6,
            PidfdNamespace::Time => 7,
            PidfdNamespace::TimeForChildren => 8,
            PidfdNamespace::User => 9,
            PidfdNamespace::Uts => 10,
        };
        (PIDFS_IOCTL_MAGIC << 8) | nr
    }
}

/// `ioctl(pidfd, PIDFD_GET_<kind>_NAMESPACE, 0)` (Linux 6.11): an fd
/// (`O_CLOEXEC`) for that namespace of the process, as opening
/// `/proc/<pid>/ns/<kind>` gives, for `setns` or `fstat`.
///
/// Errors: `ENOTTY` before 6.11; `ESRCH` once the process has exited;
/// `EACCES` without ptrace read access to it; `EOPNOTSUPP` where the kernel
/// is built without that namespace.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use clonekit::{raw, Errno};
/// use raw::PidfdNamespace;
/// let pidfd = raw::pidfd_open(raw::getpid(), 0)?;
/// match raw::pidfd_get_namespace(pidfd.as_fd(), PidfdNamespace::Net) {
///     Ok(ns) => {
///         let ours = std::fs::metadata("/proc/self/ns/net")?;
///         let got = std::fs::File::from(ns).metadata()?;
///         assert_eq!(std::os::unix::fs::MetadataExt::ino(&got), std::os::unix::fs::MetadataExt::ino(&ours));
///     }
///     Err(errno) => assert_eq!(errno, Errno::ENOTTY), // before 6.11
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// - [setns(2)](https://man7.org/linux/man-pages/man2/setns.2.html)
pub fn pidfd_get_namespace(pidfd: BorrowedFd<'_>, kind: PidfdNamespace) -> Result<OwnedFd, Errno> {
    // SAFETY: the request takes no argument (0); on success it returns a new fd.
    let ret = unsafe { libc::ioctl(pidfd.as_raw_fd(), kind.request() as _, 0usize) };
    let fd = libc_result(ret.into())?;
    // SAFETY: a new descriptor the kernel just opened for us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as c_int) })
}

/// `pidfd_send_signal(pidfd, 0, NULL, 0)` (Linux 5.1): whether the process
/// the pidfd names still exists (a zombie does), so that its pid is not
/// free for another. `ESRCH` once it is reaped.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use clonekit::raw;
/// let pidfd = raw::pidfd_open(raw::getpid(), 0)?;
/// raw::pidfd_check_alive(pidfd.as_fd())?;
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
pub fn pidfd_check_alive(pidfd: BorrowedFd<'_>) -> Result<(), Errno> {
    // Signal 0 sends nothing: only the checks run.
    send_signal(pidfd, 0, 0)
}
