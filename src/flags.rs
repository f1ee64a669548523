//! [`CloneFlags`], the `CLONE_*` bits of clone(2)/clone3(2). The rules they
//! must keep are in `rules.rs`.

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
        /// `CLONE_AUTOREAP` (clone3 only, Linux 7.1): the kernel reaps the
        /// child when it ends, so it never becomes a zombie and `wait4`
        /// answers `ECHILD`; its pidfd still reports the end (and, from
        /// Linux 6.15, the exit status: see [`Child::wait`](crate::Child::wait)).
        /// Needs an exit signal of none, and refuses `CLONE_THREAD` and
        /// `CLONE_PARENT`.
        const AUTOREAP = 1 << 34;
        /// `CLONE_NNP` (clone3 only, Linux 7.1): the child starts with
        /// `no_new_privs` set, at creation, whatever it runs first. Refuses
        /// `CLONE_THREAD` (a thread shares the caller's credentials).
        const NNP = 1 << 35;
        /// `CLONE_PIDFD_AUTOKILL` (clone3 only, Linux 7.1): the kernel kills
        /// the child with `SIGKILL` when the pidfd made with it is closed for
        /// the last time, which the death of the whole parent process does
        /// too. Needs `CLONE_PIDFD` and `CLONE_AUTOREAP`, refuses
        /// `CLONE_THREAD`, and needs `CAP_SYS_ADMIN` unless `CLONE_NNP` is
        /// set (the child could otherwise gain privileges the caller lacks).
        const PIDFD_AUTOKILL = 1 << 36;
        /// `CLONE_EMPTY_MNTNS` (clone3 only, Linux 7.1): a new mount
        /// namespace holding only a copy of the caller's namespace's root
        /// mount, none of the mounts below it; the child's root and working
        /// directory are that mount's root. Implies `CLONE_NEWNS` (and its
        /// rules and privilege).
        const EMPTY_MNTNS = 1 << 37;
    }
}

impl CloneFlags {
    /// The flags legacy `clone` cannot carry: CLEAR_SIGHAND, INTO_CGROUP and
    /// Linux 7.1's flags do not fit in its 32 bits and are ignored, NEWTIME is
    /// read as exit signal.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneFlags;
    /// let wanted = CloneFlags::NEWPID | CloneFlags::INTO_CGROUP;
    /// assert!(wanted.intersects(CloneFlags::CLONE3_ONLY)); // only clone3 can carry this
    /// assert!(!CloneFlags::NEWPID.intersects(CloneFlags::CLONE3_ONLY));
    /// ```
    pub const CLONE3_ONLY: CloneFlags = CloneFlags::CLEAR_SIGHAND
        .union(CloneFlags::INTO_CGROUP)
        .union(CloneFlags::NEWTIME)
        .union(CloneFlags::LINUX_7_1);

    /// The flags Linux 7.1 added to clone3: `AUTOREAP`, `NNP`,
    /// `PIDFD_AUTOKILL` and `EMPTY_MNTNS`. An older kernel refuses them as
    /// unknown bits (EINVAL): a spawn with one says
    /// [`Error::Unsupported`](crate::Error::Unsupported) there instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneFlags;
    /// assert!(CloneFlags::LINUX_7_1.contains(CloneFlags::AUTOREAP | CloneFlags::NNP));
    /// assert!(CloneFlags::LINUX_7_1.bits().trailing_zeros() == 34);
    /// ```
    pub const LINUX_7_1: CloneFlags = CloneFlags::AUTOREAP
        .union(CloneFlags::NNP)
        .union(CloneFlags::PIDFD_AUTOKILL)
        .union(CloneFlags::EMPTY_MNTNS);

    /// The `NEW*` flags, and `EMPTY_MNTNS`: each makes a new namespace of
    /// one kind.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneFlags;
    /// let flags = CloneFlags::NEWUSER | CloneFlags::NEWPID | CloneFlags::FILES;
    /// assert_eq!(flags & CloneFlags::NAMESPACES, CloneFlags::NEWUSER | CloneFlags::NEWPID);
    /// ```
    pub const NAMESPACES: CloneFlags = CloneFlags::NEWNS
        .union(CloneFlags::NEWCGROUP)
        .union(CloneFlags::NEWUTS)
        .union(CloneFlags::NEWIPC)
        .union(CloneFlags::NEWUSER)
        .union(CloneFlags::NEWPID)
        .union(CloneFlags::NEWNET)
        .union(CloneFlags::NEWTIME)
        .union(CloneFlags::EMPTY_MNTNS);

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
}

/// The first of Linux 7.1's clone3 flags in `flags`, named with the release
/// that brought it, for [`Error::Unsupported`] on a kernel without it.
pub(crate) fn linux_7_1_feature(flags: CloneFlags) -> Option<&'static str> {
    [
        (CloneFlags::PIDFD_AUTOKILL, "CLONE_PIDFD_AUTOKILL (Linux 7.1)"),
        (CloneFlags::AUTOREAP, "CLONE_AUTOREAP (Linux 7.1)"),
        (CloneFlags::NNP, "CLONE_NNP (Linux 7.1)"),
        (CloneFlags::EMPTY_MNTNS, "CLONE_EMPTY_MNTNS (Linux 7.1)"),
    ]
    .into_iter()
    .find_map(|(flag, feature)| flags.contains(flag).then_some(feature))
}
