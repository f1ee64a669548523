//! The rule table: every argument rule of clone(2)/clone3(2) that the
//! kernel enforces (or silently gets wrong) and that can be checked before
//! the call, as a [`Rule`] with the man page's words and the errno the kernel
//! gives — the flag rules, the rules between flags and their arguments, the
//! set_tid rules and the id-map rules, in one place.
//!
//! The table follows the running kernel, not the man page: `tests/rules.rs`
//! sends every rule raw to the kernel and checks the errno named here.

use std::fmt;
use std::ptr;

use nix::unistd::Pid;

use crate::caller::{Caller, PidForChildren};
use crate::flags::CloneFlags;
use crate::tid::TidSlot;

/// Checks the rules that depend on the flags alone (see [`CloneFlags::check`]).
pub(crate) fn check_flags(flags: CloneFlags) -> Result<(), Conflict> {
    if !flags.unknown().is_empty() {
        return Err(Conflict::new(Rule::UnknownBits, flags));
    }
    FLAG_RULES
        .iter()
        .find(|(_, broken)| broken(flags))
        .map_or(Ok(()), |&(rule, _)| Err(Conflict::new(rule, flags)))
}

/// Says whether a set of flags breaks one rule.
type Broken = fn(CloneFlags) -> bool;

/// The flag-only rules, in the order the kernel's `copy_process` tests them.
const FLAG_RULES: &[(Rule, Broken)] = &[
    // CLONE_EMPTY_MNTNS implies CLONE_NEWNS (kernel_clone sets it first).
    (Rule::FsWithNewns, |f| {
        f.contains(CloneFlags::FS) && f.intersects(CloneFlags::NEWNS | CloneFlags::EMPTY_MNTNS)
    }),
    (Rule::FsWithNewuser, |f| {
        f.contains(CloneFlags::NEWUSER | CloneFlags::FS)
    }),
    (Rule::ThreadWithoutSighand, |f| {
        f.contains(CloneFlags::THREAD) && !f.contains(CloneFlags::SIGHAND)
    }),
    (Rule::SighandWithoutVm, |f| {
        f.contains(CloneFlags::SIGHAND) && !f.contains(CloneFlags::VM)
    }),
    (Rule::ClearSighandWithSighand, |f| {
        f.contains(CloneFlags::CLEAR_SIGHAND | CloneFlags::SIGHAND)
    }),
    (Rule::NewuserWithThread, |f| {
        f.contains(CloneFlags::NEWUSER | CloneFlags::THREAD)
    }),
    (Rule::NewpidWithThread, |f| {
        f.contains(CloneFlags::NEWPID | CloneFlags::THREAD)
    }),
    (Rule::NewipcWithSysvsem, |f| {
        f.contains(CloneFlags::NEWIPC | CloneFlags::SYSVSEM)
    }),
    (Rule::AutoreapWithThread, |f| {
        f.contains(CloneFlags::AUTOREAP | CloneFlags::THREAD)
    }),
    (Rule::AutoreapWithParent, |f| {
        f.contains(CloneFlags::AUTOREAP | CloneFlags::PARENT)
    }),
    (Rule::NnpWithThread, |f| {
        f.contains(CloneFlags::NNP | CloneFlags::THREAD)
    }),
    (Rule::AutokillWithoutPidfd, |f| {
        f.contains(CloneFlags::PIDFD_AUTOKILL) && !f.contains(CloneFlags::PIDFD)
    }),
    (Rule::AutokillWithoutAutoreap, |f| {
        f.contains(CloneFlags::PIDFD_AUTOKILL) && !f.contains(CloneFlags::AUTOREAP)
    }),
];

/// One argument rule of clone(2)/clone3(2). `Display` gives the rule in words
/// with where it comes from and what the kernel answers when it is broken.
///
/// # Examples
///
/// ```
/// use clonekit::{CloneBuilder, CloneFlags, Error, Rule};
/// match CloneBuilder::new().flags(CloneFlags::FS | CloneFlags::NEWNS).check() {
///     Err(Error::Conflict(conflict)) => assert_eq!(conflict.rule(), Rule::FsWithNewns),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// A bit that is none of the named [`CloneFlags`]: legacy clone would
    /// read one in the low byte as the exit signal (a C-style
    /// `CLONE_VM | SIGCHLD`; one above 64 is refused since upstream commit
    /// 09e7827e7857, kernel/fork.c `kernel_clone`, and ignored before),
    /// clone3 refuses unknown bits (EINVAL), and the bits above 31 are
    /// ignored by legacy clone. The exit signal is set with
    /// `CloneBuilder::exit_signal`.
    UnknownBits,
    /// `CLONE_SIGHAND` requires `CLONE_VM` (EINVAL).
    SighandWithoutVm,
    /// `CLONE_THREAD` requires `CLONE_SIGHAND` (EINVAL).
    ThreadWithoutSighand,
    /// `CLONE_FS` cannot be combined with `CLONE_NEWNS`, nor with
    /// `CLONE_EMPTY_MNTNS`, which implies it (EINVAL).
    FsWithNewns,
    /// `CLONE_FS` cannot be combined with `CLONE_NEWUSER` (EINVAL).
    FsWithNewuser,
    /// `CLONE_SYSVSEM` cannot be combined with `CLONE_NEWIPC` (EINVAL).
    NewipcWithSysvsem,
    /// `CLONE_THREAD` cannot be combined with `CLONE_NEWPID` (EINVAL).
    NewpidWithThread,
    /// `CLONE_THREAD` cannot be combined with `CLONE_NEWUSER` (EINVAL).
    NewuserWithThread,
    /// `CLONE_CLEAR_SIGHAND` cannot be combined with `CLONE_SIGHAND` (EINVAL).
    ClearSighandWithSighand,
    /// `CLONE_AUTOREAP` cannot be combined with `CLONE_THREAD`: a thread is
    /// never reaped on its own (kernel/fork.c `copy_process`: EINVAL).
    AutoreapWithThread,
    /// `CLONE_AUTOREAP` cannot be combined with `CLONE_PARENT`: the child
    /// would be our parent's to reap (kernel/fork.c `copy_process`: EINVAL).
    AutoreapWithParent,
    /// A `CLONE_AUTOREAP` child sends no exit signal: nobody waits for it.
    /// Use `CloneBuilder::exit_signal(None)` (kernel/fork.c `copy_process`: EINVAL).
    ExitSignalWithAutoreap,
    /// `CLONE_NNP` cannot be combined with `CLONE_THREAD`: a thread shares
    /// its group's credentials (kernel/fork.c `copy_process`: EINVAL).
    NnpWithThread,
    /// `CLONE_PIDFD_AUTOKILL` acts on the pidfd made with the child, so it
    /// needs `CLONE_PIDFD` (kernel/fork.c `copy_process`: EINVAL).
    AutokillWithoutPidfd,
    /// `CLONE_PIDFD_AUTOKILL` needs `CLONE_AUTOREAP`: a child killed when
    /// its last pidfd closes has nobody left to reap it
    /// (kernel/fork.c `copy_process`: EINVAL). So it cannot be a thread
    /// either (`CLONE_AUTOREAP` refuses `CLONE_THREAD`).
    AutokillWithoutAutoreap,

    /// A `CLONE_THREAD` child sends no exit signal: clone3 refuses one
    /// (EINVAL) and legacy clone ignores it.
    ExitSignalWithThread,
    /// A `CLONE_PARENT` child's exit signal is the caller's: clone3 refuses
    /// one (EINVAL) and legacy clone ignores it.
    ExitSignalWithParent,
    /// Legacy clone writes the pidfd where `CLONE_PARENT_SETTID` writes the
    /// TID, so it refuses both (EINVAL); clone3 has a field for each.
    PidfdWithParentSettid,
    /// A flag or argument that legacy clone cannot carry (CLEAR_SIGHAND,
    /// INTO_CGROUP, NEWTIME, set_tid) was asked for with `Syscall::Clone`:
    /// the kernel would ignore it or misread it, silently. `CLONE_NEWTIME`
    /// (0x80) lies in legacy clone's exit-signal byte, so it makes the
    /// signal 128 or more: kernels before upstream commit 09e7827e7857
    /// (kernel/fork.c `kernel_clone`, 2026, backported to stable 6.12)
    /// take that invalid signal and ignore the namespace; since, they answer
    /// EINVAL (`valid_signal`), as Linux 7.3 does.
    Clone3Only,
    /// `set_tid` holds more PIDs than there can be nested PID namespaces (EINVAL).
    SetTidTooLong,
    /// `set_tid` is empty (clone3: EINVAL for a pointer with size 0).
    SetTidEmpty,
    /// `CLONE_PARENT_SETTID` is set but no slot was given: use `parent_tid()`.
    ParentSettidWithoutSlot,
    /// `CLONE_CHILD_SETTID` is set but no slot was given: use `child_tid()`.
    ChildSettidWithoutSlot,
    /// `CLONE_CHILD_CLEARTID` is set but no slot was given: use `clear_child_tid()`.
    ChildCleartidWithoutSlot,
    /// `child_tid()` and `clear_child_tid()` name different slots, but the
    /// kernel has one `child_tid` pointer for both.
    ChildTidSlotsDiffer,
    /// `CLONE_SETTLS` is set but no thread pointer was given: use `tls()`.
    SettlsWithoutTls,
    /// `CLONE_INTO_CGROUP` is set but no cgroup was given: use `cgroup()`.
    IntoCgroupWithoutFd,
    /// `CloneBuilder::fork` with `CLONE_VM`: the child would run on the
    /// caller's own stack beside it; use `spawn`, which gives it a `Stack`.
    ForkWithVm,
    /// `CloneBuilder::fork` with a `Stack`: a fork-like child continues on a
    /// copy of the caller's stack; a `Stack` is for `spawn`.
    ForkWithStack,
    /// uid/gid maps were given without `CLONE_NEWUSER`: there is no new user
    /// namespace to write them for.
    IdMapsWithoutNewuser,
    /// uid/gid maps with `CLONE_VM`: the child waits for its maps on a socket
    /// with its own memory (and `errno`); a child sharing ours cannot.
    IdMapsWithVm,
    /// uid/gid maps with `CLONE_FILES`: the child must close its own copy of
    /// the sync socket's parent end to notice a parent that died.
    IdMapsWithFiles,
    /// uid/gid maps with `CLONE_VFORK`: the parent would stay suspended in
    /// the call until the child execs or exits, while the child waits for
    /// the parent to write its maps — neither would ever go on.
    IdMapsWithVfork,
    /// `set_tid` names more PIDs than the child will have: one per PID
    /// namespace from the caller's (or, with `CLONE_NEWPID`, the new one) up
    /// to the initial one (kernel/pid.c `alloc_pid`: EINVAL).
    SetTidTooDeep,
    /// A PID in `set_tid` is below 1 (kernel/pid.c `alloc_pid`: EINVAL).
    SetTidNotPositive,
    /// With `CLONE_NEWPID`, the child is the new namespace's first process,
    /// so `set_tid[0]` must be 1 (kernel/pid.c `alloc_pid`: EINVAL).
    SetTidNewpidNotOne,
    /// `Exec::hostname` without `CLONE_NEWUTS` in its namespaces: the child
    /// would rename the host itself, not a namespace of its own.
    HostnameWithoutNewuts,
    /// A PID in `set_tid` is not below the PID namespace's `pid_max`
    /// (kernel/pid.c `alloc_pid`: EINVAL). The limit is
    /// `/proc/sys/kernel/pid_max` as the builder read it: global before
    /// Linux 6.14, the caller's PID namespace's since (a new namespace
    /// starts with its parent's).
    SetTidAbovePidMax,
    /// The PID namespace for children was made by `unshare(CLONE_NEWPID)`
    /// and has no init yet: the child becomes its PID 1, so `set_tid[0]`
    /// must be 1 (kernel/pid.c `alloc_pid`: EINVAL).
    SetTidNoInitNotOne,
    /// `CLONE_PARENT` from PID 1 of a PID namespace (or the global init):
    /// the child would be a sibling of the init, with no one in the
    /// namespace to reap it (kernel/fork.c `copy_process`: EINVAL for a
    /// `SIGNAL_UNKILLABLE` caller).
    ParentFromInit,
    /// `CLONE_THREAD` after `unshare(CLONE_NEWPID)` (or a `setns`): a thread
    /// must be in its thread group's PID namespace, but new tasks go to the
    /// one for children (kernel/fork.c `copy_process`: EINVAL).
    ThreadAfterPidUnshare,
    /// `CLONE_NEWPID` after `unshare(CLONE_NEWPID)` (or a `setns`): a new PID
    /// namespace can only be made below the caller's own
    /// (kernel/pid_namespace.c `copy_pid_ns`: EINVAL).
    NewpidAfterPidUnshare,
    /// Before Linux 6.2, `CLONE_VM` (so `CLONE_THREAD` too), with or
    /// without `CLONE_VFORK`, after `unshare(CLONE_NEWTIME)`: the child
    /// would enter another time namespace with the caller's memory, whose
    /// vvar page is the caller's (kernel/fork.c `copy_process`, since the
    /// time namespace came in Linux 5.6: `clone_flags & (CLONE_THREAD |
    /// CLONE_VM)`, EINVAL). A `CLONE_VFORK` exception (commit 133e2d3e81de)
    /// was reverted before Linux 6.0 was released, so 6.0 and 6.1 refuse it
    /// too (Debian's 6.1.176 does, tested); commit 2b5f9dad32ed ("fs/exec:
    /// switch timens when a task gets a new mm", Linux 6.2) removed the
    /// check (6.12 accepts, tested): such a child stays in the caller's time
    /// namespace until it execs.
    VmAfterTimeUnshare,
    /// `Exec::namespaces` with a flag that is not a `CLONE_NEW*` namespace:
    /// the child `Exec` makes shares nothing with the caller; sharing flags
    /// are for `CloneBuilder`.
    NotANamespace,
    /// `Exec::hostname` longer than the kernel's 64 bytes (`__NEW_UTS_LEN`;
    /// sethostname(2): EINVAL).
    HostnameTooLong,
    /// `Exec::rlimit` with a soft limit above the hard one (prlimit(2):
    /// EINVAL); an unlimited hard limit (`u64::MAX`) allows any soft one.
    RlimitSoftAboveHard,
    /// `spawn` with `CLONE_VM` joins the child through its CLEARTID slot, so
    /// the slot must be free (0) when the child is made: a slot that is not
    /// may be the release word of another child that still runs.
    TidSlotInUse,
}

// The check lives with the rules it applies, so that the flags need not
// know the rule table (the rules sit above the flags).
impl CloneFlags {
    /// Checks the rules that depend on the flags alone: no bit outside the
    /// named flags ([`Rule::UnknownBits`](crate::Rule::UnknownBits)), then the flag pairs of clone(2)'s
    /// ERRORS. The rules that also depend on the exit signal, the
    /// pointers or the system call are checked by
    /// [`CloneBuilder::check`](crate::CloneBuilder::check).
    ///
    /// # Errors
    ///
    /// The first broken rule, as a [`Conflict`].
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneFlags, Rule};
    /// let err = (CloneFlags::FS | CloneFlags::NEWNS).check().unwrap_err();
    /// assert_eq!(err.rule(), Rule::FsWithNewns);
    /// ```
    ///
    /// # References
    /// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html), ERRORS
    pub fn check(self) -> Result<(), Conflict> {
        check_flags(self)
    }
}

impl Rule {
    /// The rule in words, with its source and the kernel's answer.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::Rule;
    /// assert_eq!(
    ///     Rule::SighandWithoutVm.describe(),
    ///     "CLONE_SIGHAND requires CLONE_VM (clone(2): EINVAL)"
    /// );
    /// ```
    pub fn describe(self) -> &'static str {
        match self {
            Rule::UnknownBits => {
                "bits outside the named CLONE_* flags are refused: legacy clone reads the low byte as the \
                 exit signal (set it with exit_signal()) and clone3 answers EINVAL"
            }
            Rule::SighandWithoutVm => "CLONE_SIGHAND requires CLONE_VM (clone(2): EINVAL)",
            Rule::ThreadWithoutSighand => "CLONE_THREAD requires CLONE_SIGHAND (clone(2): EINVAL)",
            Rule::FsWithNewns => "CLONE_FS cannot be combined with CLONE_NEWNS (clone(2): EINVAL)",
            Rule::FsWithNewuser => "CLONE_FS cannot be combined with CLONE_NEWUSER (clone(2): EINVAL)",
            Rule::NewipcWithSysvsem => "CLONE_SYSVSEM cannot be combined with CLONE_NEWIPC (clone(2): EINVAL)",
            Rule::NewpidWithThread => "CLONE_THREAD cannot be combined with CLONE_NEWPID (clone(2): EINVAL)",
            Rule::NewuserWithThread => "CLONE_THREAD cannot be combined with CLONE_NEWUSER (clone(2): EINVAL)",
            Rule::ClearSighandWithSighand => {
                "CLONE_CLEAR_SIGHAND cannot be combined with CLONE_SIGHAND (clone3(2): EINVAL)"
            }
            Rule::ExitSignalWithThread => {
                "a CLONE_THREAD child cannot have an exit signal; set exit_signal(None) (clone3(2): EINVAL)"
            }
            Rule::ExitSignalWithParent => {
                "a CLONE_PARENT child cannot have its own exit signal; set exit_signal(None) (clone3(2): EINVAL)"
            }
            Rule::PidfdWithParentSettid => {
                "legacy clone cannot combine CLONE_PIDFD with CLONE_PARENT_SETTID; use clone3 (clone(2): EINVAL)"
            }
            Rule::Clone3Only => {
                "CLONE_CLEAR_SIGHAND, CLONE_INTO_CGROUP, CLONE_NEWTIME and set_tid need clone3; \
                 legacy clone ignores or misreads them"
            }
            Rule::SetTidTooLong => "set_tid can name at most 32 PIDs, one per nested PID namespace (clone3(2): EINVAL)",
            Rule::SetTidEmpty => "set_tid must name at least one PID (clone3(2): EINVAL)",
            Rule::ParentSettidWithoutSlot => "CLONE_PARENT_SETTID needs a slot; use parent_tid()",
            Rule::ChildSettidWithoutSlot => "CLONE_CHILD_SETTID needs a slot; use child_tid()",
            Rule::ChildCleartidWithoutSlot => "CLONE_CHILD_CLEARTID needs a slot; use clear_child_tid()",
            Rule::ChildTidSlotsDiffer => {
                "CLONE_CHILD_SETTID and CLONE_CHILD_CLEARTID share one pointer; give both the same TidSlot"
            }
            Rule::SettlsWithoutTls => "CLONE_SETTLS needs a thread pointer; use tls()",
            Rule::IntoCgroupWithoutFd => "CLONE_INTO_CGROUP needs a cgroup directory; use cgroup()",
            Rule::ForkWithVm => {
                "fork() with CLONE_VM would run the child on the caller's own stack; use spawn() with a Stack"
            }
            Rule::ForkWithStack => "fork() continues on a copy of the caller's stack; a Stack is only for spawn()",
            Rule::IdMapsWithoutNewuser => "uid/gid maps need CLONE_NEWUSER: there is no new user namespace to map",
            Rule::IdMapsWithVm => {
                "uid/gid maps cannot be combined with CLONE_VM: the child waits for its maps with its own memory"
            }
            Rule::IdMapsWithFiles => {
                "uid/gid maps cannot be combined with CLONE_FILES: the child must close its copy of the sync socket"
            }
            Rule::IdMapsWithVfork => {
                "uid/gid maps cannot be combined with CLONE_VFORK: the suspended parent could never write them"
            }
            Rule::HostnameWithoutNewuts => {
                "a host name needs CLONE_NEWUTS: without a new UTS namespace it would rename the host"
            }
            Rule::TidSlotInUse => {
                "the clear_child_tid (or child_tid) slot is not 0: it may belong to a running CLONE_VM child; \
                 give each child its own TidSlot"
            }
            Rule::SetTidTooDeep => {
                "set_tid names more PIDs than the child's PID namespace depth (current level + 1, \
                 +1 with CLONE_NEWPID) (kernel alloc_pid: EINVAL)"
            }
            Rule::SetTidNotPositive => "every PID in set_tid must be at least 1 (kernel alloc_pid: EINVAL)",
            Rule::SetTidNewpidNotOne => {
                "with CLONE_NEWPID the child is the new namespace's init: set_tid[0] must be 1 (kernel alloc_pid: EINVAL)"
            }
            Rule::AutoreapWithThread => {
                "CLONE_AUTOREAP cannot be combined with CLONE_THREAD (kernel copy_process: EINVAL)"
            }
            Rule::AutoreapWithParent => {
                "CLONE_AUTOREAP cannot be combined with CLONE_PARENT (kernel copy_process: EINVAL)"
            }
            Rule::ExitSignalWithAutoreap => {
                "a CLONE_AUTOREAP child sends no exit signal: use exit_signal(None) (kernel copy_process: EINVAL)"
            }
            Rule::NnpWithThread => "CLONE_NNP cannot be combined with CLONE_THREAD (kernel copy_process: EINVAL)",
            Rule::AutokillWithoutPidfd => {
                "CLONE_PIDFD_AUTOKILL requires CLONE_PIDFD (kernel copy_process: EINVAL)"
            }
            Rule::AutokillWithoutAutoreap => {
                "CLONE_PIDFD_AUTOKILL requires CLONE_AUTOREAP (kernel copy_process: EINVAL)"
            }
            Rule::SetTidAbovePidMax => {
                "every PID in set_tid must be below the PID namespace's pid_max (kernel alloc_pid: EINVAL)"
            }
            Rule::SetTidNoInitNotOne => {
                "after unshare(CLONE_NEWPID) the next child is the new namespace's init: set_tid[0] must be 1 \
                 (kernel alloc_pid: EINVAL)"
            }
            Rule::ParentFromInit => {
                "CLONE_PARENT cannot be used by the init (PID 1) of a PID namespace (kernel copy_process: EINVAL)"
            }
            Rule::ThreadAfterPidUnshare => {
                "CLONE_THREAD cannot be used once the PID namespace for children is not the caller's own \
                 (unshare(CLONE_NEWPID) or setns) (kernel copy_process: EINVAL)"
            }
            Rule::NewpidAfterPidUnshare => {
                "CLONE_NEWPID cannot be used once the PID namespace for children is not the caller's own \
                 (unshare(CLONE_NEWPID) or setns) (kernel copy_pid_ns: EINVAL)"
            }
            Rule::VmAfterTimeUnshare => {
                "before Linux 6.2, CLONE_VM (even with CLONE_VFORK) cannot be used after unshare(CLONE_NEWTIME) \
                 (kernel copy_process: EINVAL)"
            }
            Rule::NotANamespace => {
                "Exec::namespaces takes only CLONE_NEW* flags: the other flags belong to CloneBuilder"
            }
            Rule::HostnameTooLong => "a host name has at most 64 bytes (sethostname(2): EINVAL)",
            Rule::RlimitSoftAboveHard => {
                "a soft resource limit cannot be above its hard limit (prlimit(2): EINVAL)"
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A broken argument rule: which [`Rule`], and the flags it was found in.
/// Nothing was called when a `Conflict` is returned.
///
/// # Examples
///
/// ```
/// use clonekit::{CloneFlags, Rule};
/// let conflict = (CloneFlags::THREAD | CloneFlags::VM).check().unwrap_err();
/// assert_eq!(conflict.rule(), Rule::ThreadWithoutSighand);
/// println!("refused: {conflict}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conflict {
    rule: Rule,
    flags: CloneFlags,
}

impl Conflict {
    pub(crate) fn new(rule: Rule, flags: CloneFlags) -> Conflict {
        Conflict { rule, flags }
    }

    /// The rule that was broken.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneFlags, Rule};
    /// let conflict = CloneFlags::SIGHAND.check().unwrap_err();
    /// assert_eq!(conflict.rule(), Rule::SighandWithoutVm);
    /// ```
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// The flags that were checked.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneFlags;
    /// let flags = CloneFlags::SIGHAND | CloneFlags::FILES;
    /// assert_eq!(flags.check().unwrap_err().flags(), flags);
    /// ```
    pub fn flags(&self) -> CloneFlags {
        self.flags
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rule.describe())?;
        match self.rule {
            Rule::UnknownBits => write!(f, " (unknown bits: {:#x})", self.flags.unknown().bits())?,
            Rule::NotANamespace => {
                let others = self.flags - CloneFlags::NAMESPACES;
                write!(f, " (not namespaces: {:#x}, {others:?})", others.bits())?
            }
            _ => {}
        }
        Ok(())
    }
}

impl std::error::Error for Conflict {}

/// Which arguments a builder was given besides its flags: what the argument
/// rules look at.
pub(crate) struct Arguments<'s> {
    pub(crate) parent_tid: bool,
    pub(crate) child_tid: Option<&'s TidSlot>,
    pub(crate) clear_child_tid: Option<&'s TidSlot>,
    pub(crate) tls: bool,
    pub(crate) cgroup: bool,
    pub(crate) exit_signal: bool,
    pub(crate) id_maps: bool,
    pub(crate) set_tid: Option<&'s [Pid]>,
    /// The caller as the builder captured it, for the context rules.
    pub(crate) caller: &'s Caller,
}

/// Checks the rules between `flags` and the arguments `given`, then the
/// set_tid rules. Reads nothing and allocates nothing.
pub(crate) fn check_arguments(flags: CloneFlags, given: &Arguments<'_>) -> Result<(), Conflict> {
    let missing = [
        (
            CloneFlags::PARENT_SETTID,
            !given.parent_tid,
            Rule::ParentSettidWithoutSlot,
        ),
        (
            CloneFlags::CHILD_SETTID,
            given.child_tid.is_none() && given.clear_child_tid.is_none(),
            Rule::ChildSettidWithoutSlot,
        ),
        (
            CloneFlags::CHILD_CLEARTID,
            given.clear_child_tid.is_none() && given.child_tid.is_none(),
            Rule::ChildCleartidWithoutSlot,
        ),
        (CloneFlags::SETTLS, !given.tls, Rule::SettlsWithoutTls),
        (CloneFlags::INTO_CGROUP, !given.cgroup, Rule::IntoCgroupWithoutFd),
    ];
    let broken = |rule| Err(Conflict::new(rule, flags));
    if let Some(&(_, _, rule)) = missing
        .iter()
        .find(|(flag, absent, _)| flags.contains(*flag) && *absent)
    {
        return broken(rule);
    }
    if let (Some(a), Some(b)) = (given.child_tid, given.clear_child_tid) {
        if !ptr::eq(a, b) {
            return broken(Rule::ChildTidSlotsDiffer);
        }
    }
    if given.exit_signal && flags.contains(CloneFlags::THREAD) {
        return broken(Rule::ExitSignalWithThread);
    }
    if given.exit_signal && flags.contains(CloneFlags::PARENT) {
        return broken(Rule::ExitSignalWithParent);
    }
    if given.exit_signal && flags.contains(CloneFlags::AUTOREAP) {
        return broken(Rule::ExitSignalWithAutoreap);
    }
    if given.id_maps {
        let rule = [
            (!flags.contains(CloneFlags::NEWUSER), Rule::IdMapsWithoutNewuser),
            (flags.contains(CloneFlags::VM), Rule::IdMapsWithVm),
            (flags.contains(CloneFlags::FILES), Rule::IdMapsWithFiles),
            (flags.contains(CloneFlags::VFORK), Rule::IdMapsWithVfork),
        ]
        .into_iter()
        .find_map(|(broken, rule)| broken.then_some(rule));
        if let Some(rule) = rule {
            return broken(rule);
        }
    }
    check_context(flags, given.caller)?;
    match given.set_tid {
        Some(tids) => check_set_tid(tids, given.caller, flags),
        None => Ok(()),
    }
}

/// The rules between the flags and the caller's context (its PID and time
/// namespaces for children, whether it is an init), in `copy_process`'s
/// order. Reads nothing: `caller` was captured by the builder.
fn check_context(flags: CloneFlags, caller: &Caller) -> Result<(), Conflict> {
    // kernel/fork.c copy_process, Linux 5.6 to 6.1: `if (clone_flags &
    // (CLONE_THREAD | CLONE_VM))` and a time namespace for children that is
    // not the caller's: EINVAL. 6.0-rc1's CLONE_VFORK exception (133e2d3e81de)
    // was reverted in 6.0-rc6; 6.2's 2b5f9dad32ed removed the check.
    let vm_in_other_time =
        flags.contains(CloneFlags::VM) && caller.time_for_children_differs && caller.kernel_before(6, 2);
    let rule = [
        (
            flags.contains(CloneFlags::PARENT) && caller.pid_ns_init,
            Rule::ParentFromInit,
        ),
        (
            flags.contains(CloneFlags::THREAD) && caller.pid_for_children_differs(),
            Rule::ThreadAfterPidUnshare,
        ),
        (vm_in_other_time, Rule::VmAfterTimeUnshare),
        (
            flags.contains(CloneFlags::NEWPID) && caller.pid_for_children_differs(),
            Rule::NewpidAfterPidUnshare,
        ),
    ]
    .into_iter()
    .find_map(|(broken, rule)| broken.then_some(rule));
    rule.map_or(Ok(()), |rule| Err(Conflict::new(rule, flags)))
}

/// The deepest PID namespace nesting (`MAX_PID_NS_LEVEL`), so the most PIDs
/// `set_tid` can hold.
const MAX_PID_NS_LEVEL: usize = 32;

/// The `set_tid` rules of clone3 and `alloc_pid`, in the kernel's order,
/// against the caller as the builder captured it. Reads nothing and
/// allocates nothing.
fn check_set_tid(tids: &[Pid], caller: &Caller, flags: CloneFlags) -> Result<(), Conflict> {
    let newpid = flags.contains(CloneFlags::NEWPID);
    let depth = caller.child_pid_levels().map(|depth| depth + usize::from(newpid));
    let above_max = |tid: &Pid| caller.pid_max.is_some_and(|max| tid.as_raw() >= max);
    let no_init = caller.pid_for_children == PidForChildren::Unshared;
    let rule = if tids.is_empty() {
        Some(Rule::SetTidEmpty)
    } else if tids.len() > MAX_PID_NS_LEVEL {
        Some(Rule::SetTidTooLong)
    } else if depth.is_some_and(|depth| tids.len() > depth) {
        Some(Rule::SetTidTooDeep)
    } else if tids.iter().any(|tid| tid.as_raw() < 1) {
        Some(Rule::SetTidNotPositive)
    } else if tids.iter().any(above_max) {
        Some(Rule::SetTidAbovePidMax)
    } else if newpid && tids[0].as_raw() != 1 {
        Some(Rule::SetTidNewpidNotOne)
    } else if no_init && !newpid && tids[0].as_raw() != 1 {
        Some(Rule::SetTidNoInitNotOne)
    } else {
        None
    };
    rule.map_or(Ok(()), |rule| Err(Conflict::new(rule, flags)))
}
