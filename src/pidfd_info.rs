//! What a handle asks of its child through the pidfd, never by pid: what
//! the kernel knows of it (`PIDFD_GET_INFO`, Linux 6.13), a signal to the
//! process group it leads (`PIDFD_SIGNAL_PROCESS_GROUP`, Linux 6.9), its
//! namespaces as fds (`PIDFD_GET_*_NAMESPACE`, Linux 6.11, or
//! `/proc/<pid>/ns/` checked against the pidfd before).

use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::error::{errno_of, Error, Result};
use crate::raw::{self, PidfdNamespace};

/// What the kernel knows of a child, read through its pidfd
/// ([`Child::info`](crate::Child::info)). A field is `None` where the
/// kernel did not fill it: once the child is reaped only `exit`,
/// `cgroup_id` and `coredump` can be there.
///
/// # Examples
///
/// ```
/// use clonekit::{Error, Exec};
/// let mut child = Exec::new("true").pidfd(true).spawn()?;
/// child.wait()?;
/// match child.info() {
///     // Reaped: only what the kernel kept is there (Linux 6.15).
///     Ok(info) => assert!(info.pid.is_none() && info.exit.is_some_and(|s| s.success())),
///     Err(Error::Unsupported { .. }) => {}         // before Linux 6.13
///     Err(err) => assert!(err.errno() == Some(clonekit::Errno::ESRCH), "{err:?}"), // 6.13, 6.14
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PidfdInfo {
    /// Its pid, as seen from the caller's PID namespace.
    pub pid: Option<Pid>,
    /// Its thread group id, likewise.
    pub tgid: Option<Pid>,
    /// Its parent's pid, likewise (0 where the parent is outside it).
    pub ppid: Option<Pid>,
    /// Its credentials, as seen from the caller's user namespace.
    pub credentials: Option<Credentials>,
    /// The id of its cgroup v2 directory (the inode number of that
    /// directory, as `name_to_handle_at` gives it).
    pub cgroup_id: Option<u64>,
    /// Its exit status, kept by the kernel once it is reaped, whoever
    /// reaped it (Linux 6.15).
    pub exit: Option<ExitStatus>,
    /// What became of its core dump, once it is reaped (Linux 6.16).
    pub coredump: Option<Coredump>,
}

/// A process's user and group ids (`PIDFD_INFO_CREDS`).
///
/// # Examples
///
/// ```
/// use clonekit::{Error, Exec};
/// let mut child = Exec::new("sleep").arg("100").spawn()?;
/// if let Ok(info) = child.info() {
///     let creds = info.credentials.expect("filled while it runs");
///     // SAFETY: getuid cannot fail.
///     assert_eq!(creds.ruid, unsafe { libc::getuid() });
/// }
/// child.kill()?;
/// child.wait()?;
/// # Ok::<(), clonekit::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Credentials {
    /// Real user id.
    pub ruid: u32,
    /// Real group id.
    pub rgid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Saved user id.
    pub suid: u32,
    /// Saved group id.
    pub sgid: u32,
    /// Filesystem user id.
    pub fsuid: u32,
    /// Filesystem group id.
    pub fsgid: u32,
}

/// What became of a process's core dump (`PIDFD_INFO_COREDUMP`).
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Resource};
/// // No core may be written (RLIMIT_CORE 0): a SIGABRT leaves none.
/// let mut child = Exec::new("sh")
///     .args(["-c", "kill -ABRT $$"])
///     .rlimit(Resource::Core, 0, 0)
///     .pidfd(true)
///     .spawn()?;
/// child.wait()?;
/// if let Some(dump) = child.info().ok().and_then(|info| info.coredump) {
///     assert!(!dump.dumped); // Linux 6.16 reports it
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Coredump {
    /// A core was written (`PIDFD_COREDUMPED`).
    pub dumped: bool,
    /// The dump was skipped (`PIDFD_COREDUMP_SKIP`: not dumpable, or a
    /// limit of 0).
    pub skipped: bool,
    /// It was written with the process's credentials (`PIDFD_COREDUMP_USER`).
    pub as_user: bool,
    /// It was written as root (`PIDFD_COREDUMP_ROOT`).
    pub as_root: bool,
}

/// Everything [`PidfdInfo`] holds, asked for at once.
const ASKED: u64 = raw::PIDFD_INFO_PID
    | raw::PIDFD_INFO_CREDS
    | raw::PIDFD_INFO_CGROUPID
    | raw::PIDFD_INFO_EXIT
    | raw::PIDFD_INFO_COREDUMP;

/// The info of the process `pidfd` names.
pub(crate) fn info(pidfd: BorrowedFd<'_>) -> Result<PidfdInfo> {
    let got = raw::pidfd_get_info(pidfd, ASKED).map_err(|errno| match errno {
        // ENOTTY: no pidfd ioctls (before 6.11); EINVAL: not this one (6.11, 6.12).
        Errno::ENOTTY | Errno::EINVAL => Error::Unsupported {
            feature: "PIDFD_GET_INFO (Linux 6.13)",
            errno,
        },
        errno => Error::sys_detailed("ioctl", "PIDFD_GET_INFO")(errno),
    })?;
    Ok(from_raw(&got))
}

/// The typed view of what the kernel filled.
fn from_raw(got: &raw::PidfdInfoRaw) -> PidfdInfo {
    let has = |bit: u64| got.mask & bit != 0;
    let pid = |nr: u32| has(raw::PIDFD_INFO_PID).then(|| Pid::from_raw(nr as i32));
    PidfdInfo {
        pid: pid(got.pid),
        tgid: pid(got.tgid),
        ppid: pid(got.ppid),
        credentials: has(raw::PIDFD_INFO_CREDS).then_some(Credentials {
            ruid: got.ruid,
            rgid: got.rgid,
            euid: got.euid,
            egid: got.egid,
            suid: got.suid,
            sgid: got.sgid,
            fsuid: got.fsuid,
            fsgid: got.fsgid,
        }),
        cgroup_id: has(raw::PIDFD_INFO_CGROUPID).then_some(got.cgroupid),
        exit: has(raw::PIDFD_INFO_EXIT).then(|| ExitStatus::from_raw(got.exit_code)),
        coredump: has(raw::PIDFD_INFO_COREDUMP).then_some(Coredump {
            dumped: got.coredump_mask & raw::PIDFD_COREDUMPED != 0,
            skipped: got.coredump_mask & raw::PIDFD_COREDUMP_SKIP != 0,
            as_user: got.coredump_mask & raw::PIDFD_COREDUMP_USER != 0,
            as_root: got.coredump_mask & raw::PIDFD_COREDUMP_ROOT != 0,
        }),
    }
}

/// `sig` to every process of the group whose id is the pid `pidfd` names.
pub(crate) fn signal_group(pidfd: BorrowedFd<'_>, sig: Signal) -> Result<()> {
    raw::pidfd_send_signal_flags(pidfd, sig, raw::PIDFD_SIGNAL_PROCESS_GROUP).map_err(|errno| match errno {
        // The flags came in 6.9: before, any flag is EINVAL.
        Errno::EINVAL => Error::Unsupported {
            feature: "PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9)",
            errno,
        },
        errno => Error::sys("pidfd_send_signal")(errno),
    })
}

/// An fd for the `kind` namespace of the process `pidfd` names (its pid is
/// `pid`): the pidfd's ioctl (Linux 6.11), else `/proc/<pid>/ns/<kind>`,
/// kept only if the pidfd says the process still runs after the open (so
/// the pid named it, not a process that reused it).
pub(crate) fn namespace(pidfd: BorrowedFd<'_>, pid: Pid, kind: PidfdNamespace) -> Result<OwnedFd> {
    match raw::pidfd_get_namespace(pidfd, kind) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOTTY) => {}
        Err(errno) => return Err(Error::sys("ioctl")(errno)),
    }
    let path = format!("/proc/{pid}/ns/{}", kind.proc_name());
    let fd = std::fs::File::open(&path)
        .map_err(|err| Error::sys_detailed("open", "/proc/<pid>/ns/<kind>")(errno_of(&err)))?;
    // Signal 0 through the pidfd: ESRCH once the process has exited, and
    // while it has not, its pid is not free for another.
    raw::pidfd_check_alive(pidfd).map_err(Error::sys("pidfd_send_signal"))?;
    Ok(OwnedFd::from(fd))
}
