//! What this kernel can do that the engine must know before a call, probed
//! once with arguments that cannot create a process, and cached:
//!
//! - whether clone3 works (probed again when a call fails in a way that may
//!   mean it went away: a seccomp filter installed since);
//! - whether a `CLONE_THREAD` child can have a pidfd (Linux 6.9, which also
//!   brought `pidfd_open(PIDFD_THREAD)`; before, clone answers a bare EINVAL);
//! - whether clone3 knows Linux 7.1's flags (`CLONE_AUTOREAP`, `CLONE_NNP`,
//!   `CLONE_PIDFD_AUTOKILL`, `CLONE_EMPTY_MNTNS`).

use std::sync::atomic::{AtomicU8, Ordering};

use nix::errno::Errno;

use crate::flags::CloneFlags;
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

/// One probed answer, cached: 0 not yet probed, 1 yes, else the errno that
/// says no, plus 1.
struct Probed(AtomicU8);

impl Probed {
    const fn new() -> Probed {
        Probed(AtomicU8::new(0))
    }

    /// The cached answer, or `probe`'s, cached.
    fn get(&self, probe: impl FnOnce() -> Result<(), Errno>) -> Result<(), Errno> {
        match self.0.load(Ordering::Relaxed) {
            1 => return Ok(()),
            0 => {}
            absent => return Err(Errno::from_raw(i32::from(absent) - 1)),
        }
        let answer = probe();
        let code = match answer {
            Ok(()) => 1,
            Err(errno) => (errno as i32).clamp(0, 254) as u8 + 1,
        };
        self.0.store(code, Ordering::Relaxed);
        answer
    }
}

/// Whether `CLONE_PIDFD | CLONE_THREAD` works here.
static THREAD_PIDFD: Probed = Probed::new();

/// Whether a `CLONE_THREAD` child can have a pidfd (Linux 6.9), probed once
/// with `pidfd_open(getpid(), PIDFD_THREAD)`, which came in the same
/// release: `EINVAL` before it (an unknown flag), `ENOSYS` before 5.3.
pub(crate) fn thread_pidfd_works() -> Result<(), Errno> {
    THREAD_PIDFD.get(|| raw::pidfd_open(raw::getpid(), raw::PIDFD_THREAD).map(drop))
}

/// Whether clone3 knows `CLONE_AUTOREAP`, `CLONE_NNP` and
/// `CLONE_PIDFD_AUTOKILL`, and `CLONE_EMPTY_MNTNS`.
static LINUX_7_1: Probed = Probed::new();
static EMPTY_MNTNS: Probed = Probed::new();

/// Whether this kernel knows each of Linux 7.1's clone3 flags in `flags`,
/// probed once without creating a process ([`raw::clone3_flags_probe`]):
/// `EINVAL` (unknown bits) where it does not. `CLONE_EMPTY_MNTNS` needs
/// privilege to get as far as the probe's answer; where it does not
/// (`EPERM`), the other three's answer, of the same release, stands for it.
pub(crate) fn linux_7_1_flags_work(flags: CloneFlags) -> Result<(), Errno> {
    let known = |answer: Errno| match answer {
        Errno::EBADF => Ok(()),
        errno => Err(errno),
    };
    let three = CloneFlags::AUTOREAP | CloneFlags::NNP | CloneFlags::PIDFD | CloneFlags::PIDFD_AUTOKILL;
    let others = || LINUX_7_1.get(|| known(raw::clone3_flags_probe(three)));
    if flags.intersects(three - CloneFlags::PIDFD) {
        others()?;
    }
    if flags.contains(CloneFlags::EMPTY_MNTNS) {
        EMPTY_MNTNS.get(|| match raw::clone3_flags_probe(CloneFlags::EMPTY_MNTNS) {
            Errno::EPERM => others(),
            answer => known(answer),
        })?;
    }
    Ok(())
}
