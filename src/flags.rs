//! [`CloneFlags`], the `CLONE_*` bits of clone(2)/clone3(2), and the rule
//! table: every argument rule the kernel enforces (or silently gets wrong)
//! that can be checked before the call, as a [`Rule`] with the man page's
//! words and the errno the kernel gives.
//!
//! The table follows the running kernel, not the man page: `tests/rules.rs`
//! sends every rule raw to the kernel and checks the errno named here.

use std::fmt;

use bitflags::bitflags;

bitflags! {
    /// The `CLONE_*` flags of clone(2) and clone3(2), with the kernel's uapi
    /// values (`include/uapi/linux/sched.h`). The exit signal is not a flag:
    /// it is set with [`CloneBuilder::exit_signal`](crate::CloneBuilder::exit_signal).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneFlags;
    /// let thread = CloneFlags::VM | CloneFlags::FS | CloneFlags::FILES
    ///     | CloneFlags::SIGHAND | CloneFlags::THREAD | CloneFlags::SYSVSEM;
    /// assert!(thread.check().is_ok());
    /// let err = (CloneFlags::THREAD | CloneFlags::VM).check().unwrap_err();
    /// assert_eq!(err.to_string(), "CLONE_THREAD requires CLONE_SIGHAND (clone(2): EINVAL)");
    /// ```
    ///
    /// # References
    /// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html)
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct CloneFlags: u64 {
        /// `CLONE_VM`: share the address space.
        const VM = 0x0000_0100;
        /// `CLONE_FS`: share root, cwd and umask.
        const FS = 0x0000_0200;
        /// `CLONE_FILES`: share the file descriptor table.
        const FILES = 0x0000_0400;
        /// `CLONE_SIGHAND`: share the signal handler table (requires `VM`).
        const SIGHAND = 0x0000_0800;
        /// `CLONE_PIDFD`: return a pidfd for the child (see `CloneBuilder::pidfd`).
        const PIDFD = 0x0000_1000;
        /// `CLONE_PTRACE`: if the caller is traced, trace the child too.
        const PTRACE = 0x0000_2000;
        /// `CLONE_VFORK`: suspend the caller until the child execs or exits.
        const VFORK = 0x0000_4000;
        /// `CLONE_PARENT`: the child's parent is the caller's parent.
        const PARENT = 0x0000_8000;
        /// `CLONE_THREAD`: the child joins the caller's thread group.
        const THREAD = 0x0001_0000;
        /// `CLONE_NEWNS`: new mount namespace.
        const NEWNS = 0x0002_0000;
        /// `CLONE_SYSVSEM`: share System V semaphore undo values.
        const SYSVSEM = 0x0004_0000;
        /// `CLONE_SETTLS`: set the child's thread pointer (see `CloneBuilder::tls`).
        const SETTLS = 0x0008_0000;
        /// `CLONE_PARENT_SETTID`: store the child's TID in the parent's memory.
        const PARENT_SETTID = 0x0010_0000;
        /// `CLONE_CHILD_CLEARTID`: clear the TID word and wake its futex when the child exits.
        const CHILD_CLEARTID = 0x0020_0000;
        /// `CLONE_UNTRACED`: a tracer cannot force `CLONE_PTRACE` on the child.
        const UNTRACED = 0x0080_0000;
        /// `CLONE_CHILD_SETTID`: store the child's TID in the child's memory.
        const CHILD_SETTID = 0x0100_0000;
        /// `CLONE_NEWCGROUP`: new cgroup namespace.
        const NEWCGROUP = 0x0200_0000;
        /// `CLONE_NEWUTS`: new UTS (hostname) namespace.
        const NEWUTS = 0x0400_0000;
        /// `CLONE_NEWIPC`: new IPC namespace.
        const NEWIPC = 0x0800_0000;
        /// `CLONE_NEWUSER`: new user namespace.
        const NEWUSER = 0x1000_0000;
        /// `CLONE_NEWPID`: new PID namespace.
        const NEWPID = 0x2000_0000;
        /// `CLONE_NEWNET`: new network namespace.
        const NEWNET = 0x4000_0000;
        /// `CLONE_IO`: share the I/O context.
        const IO = 0x8000_0000;
        /// `CLONE_CLEAR_SIGHAND`: reset every handled signal to its default (clone3 only).
        const CLEAR_SIGHAND = 0x1_0000_0000;
        /// `CLONE_INTO_CGROUP`: start the child in the cgroup given by fd (clone3 only).
        const INTO_CGROUP = 0x2_0000_0000;
        /// `CLONE_NEWTIME`: new time namespace (clone3 only: on legacy clone its
        /// bit is read as part of the exit signal). The child itself is in the
        /// new namespace (tested: its `/proc/self/ns/time` differs from the
        /// caller's), unlike `unshare(CLONE_NEWTIME)`, which moves only the
        /// caller's later children. Its clock offsets can be set only before
        /// a process is in it, so a child that wants offsets unshares again.
        const NEWTIME = 0x0000_0080;
    }
}

impl CloneFlags {
    /// The flags legacy `clone` cannot carry: CLEAR_SIGHAND and INTO_CGROUP do
    /// not fit in its 32 bits and are ignored, NEWTIME is read as exit signal.
    pub const CLONE3_ONLY: CloneFlags = CloneFlags::CLEAR_SIGHAND
        .union(CloneFlags::INTO_CGROUP)
        .union(CloneFlags::NEWTIME);

    /// The `NEW*` flags: each makes a new namespace of one kind.
    pub const NAMESPACES: CloneFlags = CloneFlags::NEWNS
        .union(CloneFlags::NEWCGROUP)
        .union(CloneFlags::NEWUTS)
        .union(CloneFlags::NEWIPC)
        .union(CloneFlags::NEWUSER)
        .union(CloneFlags::NEWPID)
        .union(CloneFlags::NEWNET)
        .union(CloneFlags::NEWTIME);

    /// The bits set here that are none of the named flags (kept by
    /// [`from_bits_retain`](Self::from_bits_retain) or a C-style
    /// `CLONE_VM | SIGCHLD`). Legacy clone reads the low byte as the exit
    /// signal, so such a bit would make the caller receive, say, SIGSTOP.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneFlags;
    /// let c_style = CloneFlags::from_bits_retain(CloneFlags::VM.bits() | libc::SIGCHLD as u64);
    /// assert_eq!(c_style.unknown().bits(), libc::SIGCHLD as u64);
    /// ```
    pub const fn unknown(self) -> CloneFlags {
        CloneFlags::from_bits_retain(self.bits() & !CloneFlags::all().bits())
    }

    /// Checks the rules that depend on the flags alone: no bit outside the
    /// named flags ([`Rule::UnknownBits`]), then the flag pairs of clone(2)'s
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
        if !self.unknown().is_empty() {
            return Err(Conflict::new(Rule::UnknownBits, self));
        }
        FLAG_RULES
            .iter()
            .find(|(_, broken)| broken(self))
            .map_or(Ok(()), |&(rule, _)| Err(Conflict::new(rule, self)))
    }
}

/// Says whether a set of flags breaks one rule.
type Broken = fn(CloneFlags) -> bool;

/// The flag-only rules, in the order the kernel's `copy_process` tests them.
const FLAG_RULES: &[(Rule, Broken)] = &[
    (Rule::FsWithNewns, |f| {
        f.contains(CloneFlags::NEWNS | CloneFlags::FS)
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
];

/// One argument rule of clone(2)/clone3(2). `Display` gives the rule in words
/// with where it comes from and what the kernel answers when it is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// A bit that is none of the named [`CloneFlags`]: legacy clone would
    /// read one in the low byte as the exit signal (a C-style
    /// `CLONE_VM | SIGCHLD`), clone3 refuses unknown bits (EINVAL), and the
    /// bits above 31 are ignored by legacy clone. The exit signal is set with
    /// `CloneBuilder::exit_signal`.
    UnknownBits,
    /// `CLONE_SIGHAND` requires `CLONE_VM` (EINVAL).
    SighandWithoutVm,
    /// `CLONE_THREAD` requires `CLONE_SIGHAND` (EINVAL).
    ThreadWithoutSighand,
    /// `CLONE_FS` cannot be combined with `CLONE_NEWNS` (EINVAL).
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
    /// the kernel would ignore it or misread it, silently.
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
    /// `spawn` with `CLONE_VM` joins the child through its CLEARTID slot, so
    /// the slot must be free (0) when the child is made: a slot that is not
    /// may be the release word of another child that still runs.
    TidSlotInUse,
}

impl Rule {
    /// The rule in words, with its source and the kernel's answer.
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
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// The flags that were checked.
    pub fn flags(&self) -> CloneFlags {
        self.flags
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rule.describe())?;
        if self.rule == Rule::UnknownBits {
            write!(f, " (unknown bits: {:#x})", self.flags.unknown().bits())?;
        }
        Ok(())
    }
}

impl std::error::Error for Conflict {}
