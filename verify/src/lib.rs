//! Proof on the running host of what each clone flag really shares.
//!
//! Every check creates a child with and without one flag, through legacy
//! `clone` and through `clone3` where both apply, lets the child change
//! something, and compares what the caller then observes with what clone(2)
//! promises. The result is a [`Check`] row; [`run_all`] runs them all, and
//! this crate's `clonekit-verify` binary prints the table.
//!
//! Each check runs inside a forked helper process, so a child that shares
//! memory, crashes or hangs cannot take the caller down. The helper reports
//! through shared memory and its exit status only, and everything waits
//! with a deadline, after which the child is killed. The helper changes
//! only its own process-wide state (cwd, umask, handlers, signal mask), so
//! checks may run concurrently from threads of one process.
//!
//! Adding checks: write a file of `fn(Via, bool) -> Verdict` probes with a
//! `pub(crate) const SPECS: &[Spec]`, and append it to the list in [`all`].
//!
//! # Examples
//!
//! ```
//! use clonekit_verify::{self as verify, Outcome};
//! let spec = verify::find("vm/clone3/with").expect("a known check");
//! let check = spec.run();
//! assert!(matches!(check.outcome, Outcome::Pass | Outcome::Skip(_)), "{check:?}");
//! ```
//!
//! # References
//! - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html)
//! - [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)

#![deny(unsafe_op_in_unsafe_fn, missing_docs, missing_debug_implementations)]
#![cfg(target_os = "linux")]

use std::fmt;
use std::sync::OnceLock;

use clonekit::{CloneBuilder, CloneFlags, Forked, HostSupport, Syscall};

mod files;
mod fs;
mod helper;
mod memory;
mod namespaces;
mod pidfd;
mod signals;
mod threads;
mod tids;

/// The system call a check creates its child with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Legacy `clone` ([`Syscall::Clone`]).
    Clone,
    /// `clone3` ([`Syscall::Clone3`]); skipped where the host has none.
    Clone3,
    /// `fork` ([`clonekit::fork()`]).
    Fork,
}

impl Via {
    /// The system call's name: `"clone"`, `"clone3"` or `"fork"`.
    pub fn name(self) -> &'static str {
        match self {
            Via::Clone => "clone",
            Via::Clone3 => "clone3",
            Via::Fork => "fork",
        }
    }

    /// The builder setting that forces this path.
    pub(crate) fn syscall(self) -> Syscall {
        match self {
            Via::Clone3 => Syscall::Clone3,
            Via::Clone | Via::Fork => Syscall::Clone,
        }
    }

    /// A builder forced onto this path's system call, with `flags`.
    pub(crate) fn builder<'a>(self, flags: CloneFlags) -> CloneBuilder<'a> {
        let mut builder = CloneBuilder::new();
        builder.syscall(self.syscall()).flags(flags);
        builder
    }

    /// A fork-like child with no flags through this path's system call.
    ///
    /// # Safety
    ///
    /// As for [`clonekit::fork()`].
    pub(crate) unsafe fn fork(self) -> clonekit::Result<Forked<'static>> {
        match self {
            // SAFETY: forwarded from the caller.
            Via::Fork => unsafe { clonekit::fork() },
            // SAFETY: forwarded from the caller.
            _ => unsafe { self.builder(CloneFlags::empty()).fork() },
        }
    }
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// What was observed is what clone(2) promises.
    Pass,
    /// It is not (or the check could not be carried out); see
    /// [`Check::observed`].
    Fail,
    /// The host lacks what the check needs (e.g. clone3); the reason.
    Skip(String),
}

/// One row of the table: a flag, the resource it governs, the system call
/// used, what clone(2) promises the caller observes, and what it did observe.
#[derive(Debug, Clone)]
pub struct Check {
    /// The check's unique name, `concern/syscall/case` (see [`find`]).
    pub id: &'static str,
    /// The flag (or flag set) under test; `-FLAG` for the row without it.
    pub flag: &'static str,
    /// What the flag governs: memory, fd table, cwd, ...
    pub resource: &'static str,
    /// `"clone"`, `"clone3"` or `"fork"`.
    pub syscall: &'static str,
    /// What the caller should observe.
    pub expected: String,
    /// What it did observe (for a skip, empty; for a check that could not be
    /// carried out, why).
    pub observed: String,
    /// The verdict.
    pub outcome: Outcome,
}

/// A check that has not run yet: its row's fixed columns and the probe that
/// fills the rest.
#[derive(Clone, Copy)]
pub struct Spec {
    /// The check's unique name, `concern/syscall/case`.
    pub id: &'static str,
    /// The flag under test, as in [`Check::flag`].
    pub flag: &'static str,
    /// What it governs, as in [`Check::resource`].
    pub resource: &'static str,
    /// The system call the child is created with.
    pub via: Via,
    /// Whether the flag is given (`false`: the row that shows its absence).
    pub with: bool,
    probe: fn(Via, bool) -> Verdict,
}

impl Spec {
    /// Runs the check on this host: forks a helper, creates the child in
    /// it, and compares what is observed with what is expected.
    pub fn run(&self) -> Check {
        let verdict = match self.via {
            Via::Clone3 if !host().clone3 => Verdict {
                expected: String::new(),
                observed: Err(helper::Stopped::Skip(format!(
                    "clone3 is not available here ({})",
                    host().reason("clone3").unwrap_or("not probed")
                ))),
            },
            _ => (self.probe)(self.via, self.with),
        };
        let (observed, outcome) = match verdict.observed {
            Ok(observed) if observed == verdict.expected => (observed, Outcome::Pass),
            Ok(observed) => (observed, Outcome::Fail),
            Err(helper::Stopped::Skip(reason)) => (String::new(), Outcome::Skip(reason)),
            Err(helper::Stopped::Fail(why)) => (format!("could not check: {why}"), Outcome::Fail),
        };
        Check {
            id: self.id,
            flag: self.flag,
            resource: self.resource,
            syscall: self.via.name(),
            expected: verdict.expected,
            observed,
            outcome,
        }
    }
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spec")
            .field("id", &self.id)
            .field("flag", &self.flag)
            .field("resource", &self.resource)
            .field("via", &self.via)
            .field("with", &self.with)
            .finish_non_exhaustive()
    }
}

/// What this host allows, found once by [`clonekit::probe()`] and kept: which
/// checks can run (clone3) and where cgroup v2 is mounted.
pub(crate) fn host() -> &'static HostSupport {
    static HOST: OnceLock<HostSupport> = OnceLock::new();
    HOST.get_or_init(clonekit::probe)
}

/// What a probe found: the promise, and the observation in the same words
/// (the check passes when the two are equal) or why there is none.
pub(crate) struct Verdict {
    expected: String,
    observed: Result<String, helper::Stopped>,
}

/// Builds a [`Verdict`] from the promise and a function that observes.
pub(crate) fn observe(
    expected: impl Into<String>,
    observe: impl FnOnce() -> Result<String, helper::Stopped>,
) -> Verdict {
    Verdict {
        expected: expected.into(),
        observed: observe(),
    }
}

/// Shorthand for a [`Spec`] row in the per-concern lists.
macro_rules! spec {
    ($id:literal, $flag:literal, $resource:literal, $via:ident, $with:literal, $probe:path) => {
        $crate::Spec::new($id, $flag, $resource, $crate::Via::$via, $with, $probe)
    };
}
pub(crate) use spec;

impl Spec {
    pub(crate) const fn new(
        id: &'static str,
        flag: &'static str,
        resource: &'static str,
        via: Via,
        with: bool,
        probe: fn(Via, bool) -> Verdict,
    ) -> Spec {
        Spec {
            id,
            flag,
            resource,
            via,
            with,
            probe,
        }
    }
}

/// Every check, in table order. To add a concern, append its list here.
pub fn all() -> Vec<Spec> {
    [
        memory::SPECS,
        files::SPECS,
        fs::SPECS,
        signals::SPECS,
        threads::SPECS,
        tids::SPECS,
        pidfd::SPECS,
        namespaces::SPECS,
    ]
    .concat()
}

/// The check named `id` (see [`Check::id`]), if there is one.
pub fn find(id: &str) -> Option<Spec> {
    all().into_iter().find(|spec| spec.id == id)
}

/// Runs every check of [`all`] in turn.
pub fn run_all() -> Vec<Check> {
    all().iter().map(Spec::run).collect()
}

#[cfg(test)]
mod tests {
    //! The verdict machinery itself: a check that observes something else,
    //! or whose helper dies, stops or lacks a feature, must not pass.

    use clonekit::{raw, Error};
    use nix::errno::Errno;
    use nix::sys::signal::Signal;

    use super::helper::{in_helper, Stop};
    use super::*;

    fn run(probe: fn(Via, bool) -> Verdict) -> Check {
        Spec::new("test/fork", "-", "-", Via::Fork, true, probe).run()
    }

    #[test]
    fn a_different_observation_fails() {
        let check = run(|_, _| observe("a", || Ok("b".into())));
        assert_eq!(check.outcome, Outcome::Fail);
        assert_eq!((check.expected.as_str(), check.observed.as_str()), ("a", "b"));
    }

    #[test]
    fn the_same_observation_passes() {
        assert_eq!(run(|_, _| observe("a", || Ok("a".into()))).outcome, Outcome::Pass);
    }

    #[test]
    fn a_helper_killed_by_a_signal_fails() {
        let check = run(|_, _| {
            observe("a", || {
                in_helper(|_| {
                    let _ = raw::kill(raw::getpid(), Signal::SIGKILL);
                    Ok(())
                })?;
                Ok("a".into())
            })
        });
        assert_eq!(check.outcome, Outcome::Fail);
        assert!(
            check.observed.contains("killed by signal 9"),
            "{}",
            check.observed
        );
    }

    #[test]
    fn a_panicking_helper_fails_and_does_not_unwind_into_the_caller() {
        let check = run(|_, _| {
            observe("a", || {
                in_helper(|board| {
                    let words = [0usize; 1];
                    // An index the optimiser cannot see through: a panic.
                    let _ = words[board.get(0) as usize + 1];
                    Ok(())
                })?;
                Ok("a".into())
            })
        });
        assert_eq!(check.outcome, Outcome::Fail);
        assert!(check.observed.contains("panicked"), "{}", check.observed);
    }

    #[test]
    fn a_broken_fact_fails_with_its_words() {
        let check = run(|_, _| {
            observe("a", || {
                in_helper(|_| Err(Stop::Broken("the fact did not hold")))?;
                Ok("a".into())
            })
        });
        assert_eq!(check.outcome, Outcome::Fail);
        assert!(
            check.observed.contains("the fact did not hold"),
            "{}",
            check.observed
        );
    }

    #[test]
    fn an_unsupported_feature_skips_with_its_reason() {
        let check = run(|_, _| {
            observe("a", || {
                in_helper(|_| {
                    let err = Error::Unsupported {
                        feature: "a feature",
                        errno: Errno::ENOSYS,
                    };
                    Err(Stop::Error("spawn", err))
                })?;
                Ok("a".into())
            })
        });
        match check.outcome {
            Outcome::Skip(reason) => assert!(reason.contains("a feature"), "{reason}"),
            other => panic!("expected a skip, got {other:?}"),
        }
    }
}
