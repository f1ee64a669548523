//! Turning a refused clone into an error that says why: clone3 absent (a
//! seccomp filter or an old kernel), a namespace flag without privilege, a
//! cgroup placement refused.

use nix::errno::Errno;

use super::features::clone3_recheck;
use crate::error::Error;
use crate::flags::CloneFlags;

/// Turns a clone3 failure into an error that says whether clone3 is absent,
/// and why a cgroup placement was refused. EPERM is ambiguous (a seccomp
/// filter, or a namespace without privilege), so the harmless probe decides.
pub(crate) fn clone3_error(
    errno: Errno,
    flags: CloneFlags,
    set_tid: bool,
    feature: Option<&'static str>,
) -> Error {
    if matches!(errno, Errno::ENOSYS | Errno::EPERM) {
        if let Err(absent) = clone3_recheck() {
            return Error::Unsupported {
                feature: feature.unwrap_or("clone3"),
                errno: absent,
            };
        }
    }
    if flags.contains(CloneFlags::INTO_CGROUP) {
        if let Some(error) = cgroup_error(errno) {
            return error;
        }
    }
    clone_error("clone3", errno, flags, set_tid)
}

/// A failed clone or clone3; `EPERM` with a `NEW*` flag names the flag
/// that needs privilege (clone(2), ERRORS), unless `set_tid`, which needs
/// privilege too, makes it ambiguous.
pub(crate) fn clone_error(call: &'static str, errno: Errno, flags: CloneFlags, set_tid: bool) -> Error {
    let detail = match errno {
        Errno::EPERM if !set_tid => namespace_eperm(flags),
        _ => None,
    };
    Error::Sys { call, errno, detail }
}

/// Why each `NEW*` flag may be refused with `EPERM`, in the order they are
/// looked for.
const NAMESPACE_EPERM: [(CloneFlags, &str); 9] = [
    (
        CloneFlags::NEWUSER,
        "CLONE_NEWUSER: refused for this caller by a sysctl, an LSM, a seccomp filter or a chroot; see probe()",
    ),
    (CloneFlags::NEWNS, "CLONE_NEWNS needs CAP_SYS_ADMIN in the caller's user namespace"),
    (
        CloneFlags::EMPTY_MNTNS,
        "CLONE_EMPTY_MNTNS needs CAP_SYS_ADMIN in the caller's user namespace",
    ),
    (CloneFlags::NEWUTS, "CLONE_NEWUTS needs CAP_SYS_ADMIN in the caller's user namespace"),
    (CloneFlags::NEWIPC, "CLONE_NEWIPC needs CAP_SYS_ADMIN in the caller's user namespace"),
    (CloneFlags::NEWPID, "CLONE_NEWPID needs CAP_SYS_ADMIN in the caller's user namespace"),
    (CloneFlags::NEWNET, "CLONE_NEWNET needs CAP_SYS_ADMIN in the caller's user namespace"),
    (CloneFlags::NEWCGROUP, "CLONE_NEWCGROUP needs CAP_SYS_ADMIN in the caller's user namespace"),
    (CloneFlags::NEWTIME, "CLONE_NEWTIME needs CAP_SYS_ADMIN in the caller's user namespace"),
];

/// Why `CLONE_PIDFD_AUTOKILL` without `CLONE_NNP` is refused with `EPERM`:
/// checked by `copy_process` before any namespace is made.
const AUTOKILL_EPERM: &str =
    "CLONE_PIDFD_AUTOKILL without CLONE_NNP needs CAP_SYS_ADMIN in the caller's user namespace";

/// The `detail` for an `EPERM` caused by a `NEW*` flag (or by
/// `CLONE_PIDFD_AUTOKILL` without `CLONE_NNP`): with
/// `CLONE_NEWUSER` the new user namespace grants the other flags their
/// privilege, so only its own creation can have been refused.
fn namespace_eperm(flags: CloneFlags) -> Option<&'static str> {
    if flags.contains(CloneFlags::PIDFD_AUTOKILL) && !flags.contains(CloneFlags::NNP) {
        return Some(AUTOKILL_EPERM);
    }
    NAMESPACE_EPERM
        .iter()
        .find(|(flag, _)| flags.contains(*flag))
        .map(|&(_, detail)| detail)
}

/// Why clone3 refused `CLONE_INTO_CGROUP`, for the errnos that only the
/// cgroup placement gives (clone(2), ERRORS; kernel/cgroup `cgroup_css_set_fork`).
pub(crate) fn cgroup_error(errno: Errno) -> Option<Error> {
    let detail = match errno {
        Errno::EBUSY => {
            "CLONE_INTO_CGROUP: the cgroup has a domain controller enabled in cgroup.subtree_control, \
             so it may not hold processes"
        }
        Errno::EOPNOTSUPP => "CLONE_INTO_CGROUP: the cgroup is in the \"domain invalid\" state",
        Errno::EACCES => {
            "CLONE_INTO_CGROUP: the caller may not move a process into this cgroup: \
             cgroup.procs of the target and of the common ancestor must be writable"
        }
        Errno::EBADF => "CLONE_INTO_CGROUP: the descriptor is not a cgroup v2 directory",
        Errno::ENODEV => "CLONE_INTO_CGROUP: the cgroup has been removed",
        Errno::E2BIG => {
            return Some(Error::Unsupported {
                feature: "CLONE_INTO_CGROUP (Linux 5.7)",
                errno,
            })
        }
        _ => return None,
    };
    Some(Error::Sys {
        call: "clone3",
        errno,
        detail: Some(detail),
    })
}
