//! What this kernel can do that the engine must know before a call, probed
//! once with arguments that cannot create a process, and cached:
//!
//! - whether clone3 works (probed again when a call fails in a way that may
//!   mean it went away: a seccomp filter installed since);
//! - whether a `CLONE_THREAD` child can have a pidfd (Linux 6.9, which also
//!   brought `pidfd_open(PIDFD_THREAD)`; before, clone answers a bare EINVAL).

use std::sync::atomic::{AtomicU8, Ordering};

use nix::errno::Errno;

use crate::raw;

/// Whether clone3 works here: 0 not yet probed, 1 yes, else the errno that
/// says it is absent (ENOSYS, or EPERM from a seccomp filter), plus 1.
static CLONE3: AtomicU8 = AtomicU8::new(0);

/// Whether clone3 works here, probed once and cached: `Err` with the errno
/// that says it does not.
pub(crate) fn clone3_works() -> Result<(), Errno> {
    match CLONE3.load(Ordering::Relaxed) {
        0 => clone3_recheck(),
        1 => Ok(()),
        absent => Err(Errno::from_raw(i32::from(absent) - 1)),
    }
}

/// Probes clone3 again (after it failed in a way that may mean it is gone,
/// e.g. a seccomp filter installed since the last probe) and caches the answer.
pub(crate) fn clone3_recheck() -> Result<(), Errno> {
    let answer = match raw::clone3_probe() {
        Errno::ENOSYS => Err(Errno::ENOSYS),
        Errno::EPERM => Err(Errno::EPERM),
        // EINVAL (size 0 refused) or anything else: the call exists.
        _ => Ok(()),
    };
    let code = match answer {
        Ok(()) => 1,
        Err(errno) => errno as u8 + 1,
    };
    CLONE3.store(code, Ordering::Relaxed);
    answer
}

/// Whether `CLONE_PIDFD | CLONE_THREAD` works here: 0 not yet probed, 1
/// yes, else the errno that says it does not, plus 1.
static THREAD_PIDFD: AtomicU8 = AtomicU8::new(0);

/// Whether a `CLONE_THREAD` child can have a pidfd (Linux 6.9), probed once
/// with `pidfd_open(getpid(), PIDFD_THREAD)`, which came in the same
/// release: `EINVAL` before it (an unknown flag), `ENOSYS` before 5.3.
pub(crate) fn thread_pidfd_works() -> Result<(), Errno> {
    match THREAD_PIDFD.load(Ordering::Relaxed) {
        1 => return Ok(()),
        0 => {}
        absent => return Err(Errno::from_raw(i32::from(absent) - 1)),
    }
    let answer = raw::pidfd_open(raw::getpid(), raw::PIDFD_THREAD).map(drop);
    let code = match answer {
        Ok(()) => 1,
        Err(errno) => (errno as i32).clamp(0, 254) as u8 + 1,
    };
    THREAD_PIDFD.store(code, Ordering::Relaxed);
    answer
}
