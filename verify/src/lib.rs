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
//! Adding checks: write a file of `fn(Syscall, bool) -> Verdict` probes with
//! a `pub(crate) const SPECS: &[Spec]`, and append it to the list in [`all`].
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
mod linux_7_1;
mod memory;
mod namespaces;
mod pidfd;
mod signals;
mod threads;
mod tids;

/// A builder forced onto `via` (legacy `clone` or `clone3`), with `flags`.
pub(crate) fn clone_builder<'a>(via: Syscall, flags: CloneFlags) -> CloneBuilder<'a> {
    let mut builder = CloneBuilder::new();
    builder.syscall(via).flags(flags);
    builder
}

/// A fork-like child with no flags: through the builder forced onto `via`,
/// or through [`clonekit::fork()`] for `None` (the rows that check fork).
///
/// # Safety
///
/// As for [`clonekit::fork()`].
pub(crate) unsafe fn fork_via(via: Option<Syscall>) -> clonekit::Result<Forked<'static>> {
    match via {
        // SAFETY: forwarded from the caller.
        Some(via) => unsafe { clone_builder(via, CloneFlags::empty()).fork() },
        // SAFETY: forwarded from the caller.
        None => unsafe { clonekit::fork() },
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
    /// Whether the flag is given (`false`: the row that shows its absence).
    pub with: bool,
    probe: Probe,
}

/// How a check creates its child, and the probe that does it.
#[derive(Clone, Copy)]
enum Probe {
    /// Through the builder forced onto this system call (legacy `clone` or
    /// `clone3`).
    Builder(Syscall, fn(Syscall, bool) -> Verdict),
    /// Through [`clonekit::fork()`].
    Fork(fn() -> Verdict),
}

impl Spec {
    /// Runs the check on this host: forks a helper, creates the child in
    /// it, and compares what is observed with what is expected.
    pub fn run(&self) -> Check {
        let verdict = match self.probe {
            Probe::Builder(Syscall::Clone3, _) if !host().clone3 => Verdict {
                expected: String::new(),
                observed: Err(helper::NoVerdict::Skip(format!(
                    "clone3 is not available here ({})",
                    host().reason("clone3").unwrap_or("not probed")
                ))),
            },
            Probe::Builder(via, probe) => probe(via, self.with),
            Probe::Fork(probe) => probe(),
        };
        let (observed, outcome) = match verdict.observed {
            Ok(observed) if observed == verdict.expected => (observed, Outcome::Pass),
            Ok(observed) => (observed, Outcome::Fail),
            Err(helper::NoVerdict::Skip(reason)) => (String::new(), Outcome::Skip(reason)),
            Err(helper::NoVerdict::Fail(why)) => (format!("could not check: {why}"), Outcome::Fail),
        };
        Check {
            id: self.id,
            flag: self.flag,
            resource: self.resource,
            syscall: self.syscall_name(),
            expected: verdict.expected,
            observed,
            outcome,
        }
    }

    /// The system call the child is created with through the builder
    /// (legacy `clone` or `clone3`); `None` for a child created by
    /// [`clonekit::fork()`].
    pub fn via(&self) -> Option<Syscall> {
        match self.probe {
            Probe::Builder(via, _) => Some(via),
            Probe::Fork(_) => None,
        }
    }

    /// The system call's name, as the table prints it.
    fn syscall_name(&self) -> &'static str {
        match self.via() {
            None => "fork",
            Some(Syscall::Clone) => "clone",
            Some(Syscall::Clone3) => "clone3",
            Some(Syscall::Auto) => "clone or clone3",
        }
    }
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spec")
            .field("id", &self.id)
            .field("flag", &self.flag)
            .field("resource", &self.resource)
            .field("via", &self.via())
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
    observed: Result<String, helper::NoVerdict>,
}

/// Builds a [`Verdict`] from the promise and a function that observes.
pub(crate) fn observe(
    expected: impl Into<String>,
    observe: impl FnOnce() -> Result<String, helper::NoVerdict>,
) -> Verdict {
    Verdict {
        expected: expected.into(),
        observed: observe(),
    }
}

/// Shorthand for a [`Spec`] row in the per-concern lists: `Clone` or
/// `Clone3` (a [`Syscall`] the builder is forced onto), or `Fork` (a probe
/// that calls [`clonekit::fork()`]).
macro_rules! spec {
    ($id:literal, $flag:literal, $resource:literal, Fork, $with:literal, $probe:path) => {
        $crate::Spec::fork($id, $flag, $resource, $with, $probe)
    };
    ($id:literal, $flag:literal, $resource:literal, $via:ident, $with:literal, $probe:path) => {
        $crate::Spec::new($id, $flag, $resource, ::clonekit::Syscall::$via, $with, $probe)
    };
}
pub(crate) use spec;

impl Spec {
    /// A row whose probe creates its child through the builder forced onto `via`.
    pub(crate) const fn new(
        id: &'static str,
        flag: &'static str,
        resource: &'static str,
        via: Syscall,
        with: bool,
        probe: fn(Syscall, bool) -> Verdict,
    ) -> Spec {
        Spec {
            id,
            flag,
            resource,
            with,
            probe: Probe::Builder(via, probe),
        }
    }

    /// A row whose probe creates its child with [`clonekit::fork()`].
    pub(crate) const fn fork(
        id: &'static str,
        flag: &'static str,
        resource: &'static str,
        with: bool,
        probe: fn() -> Verdict,
    ) -> Spec {
        Spec {
            id,
            flag,
            resource,
            with,
            probe: Probe::Fork(probe),
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
        linux_7_1::SPECS,
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

    use super::helper::{in_helper, Abort};
    use super::*;

    fn run(probe: fn(Syscall, bool) -> Verdict) -> Check {
        Spec::new("test/clone", "-", "-", Syscall::Clone, true, probe).run()
    }

    #[test]
    fn every_id_names_the_system_call_its_row_uses() {
        for spec in all() {
            let named = spec.id.split('/').nth(1);
            assert_eq!(named, Some(spec.syscall_name()), "{spec:?}");
        }
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
                in_helper(|page| {
                    let words = [0usize; 1];
                    // An index the optimiser cannot see through: a panic.
                    let _ = words[page.get(0) as usize + 1];
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
                in_helper(|_| Err(Abort::Broken("the fact did not hold")))?;
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
                    Err(Abort::Error("spawn", err))
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
