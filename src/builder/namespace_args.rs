//! The builder's namespace and cgroup arguments: `CLONE_INTO_CGROUP`,
//! `set_tid`, and the uid/gid maps of a new user namespace.

use std::os::fd::BorrowedFd;

use nix::unistd::Pid;

use super::CloneBuilder;
use crate::caller::Caller;
use crate::userns::{IdMap, Setgroups};

impl<'a> CloneBuilder<'a> {
    /// `CLONE_INTO_CGROUP` (clone3, Linux 5.7): the child starts in the cgroup
    /// v2 directory open as `dir` (an `O_RDONLY` or `O_PATH` descriptor of
    /// the directory; a `BorrowedFd` is never -1, so no bad number reaches
    /// the kernel).
    ///
    /// # Errors
    ///
    /// When the kernel refuses the placement, [`fork`](Self::fork) and
    /// [`spawn`](Self::spawn) return [`Error::Sys`](crate::Error::Sys) (`call: "clone3"`) whose `detail` says why,
    /// never a child placed elsewhere:
    ///
    /// - `EBUSY`: the cgroup has a domain controller enabled in its
    ///   `cgroup.subtree_control` (the "no internal processes" rule);
    /// - `EOPNOTSUPP`: the cgroup is in the "domain invalid" state (a
    ///   threaded subtree's non-threaded member);
    /// - `EACCES`: the caller may not move a process there (cgroups(7)
    ///   delegation: `cgroup.procs` of the target and of the common ancestor
    ///   must be writable);
    /// - `EBADF`: `dir` is not a cgroup v2 directory; `ENODEV`: the cgroup
    ///   was removed;
    /// - `ENOSYS` (no clone3) and `E2BIG` (clone3 older than Linux 5.7) are
    ///   [`Error::Unsupported`](crate::Error::Unsupported).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::os::fd::AsFd;
    /// use clonekit::{CloneBuilder, Forked, raw};
    /// let dir = std::fs::File::open("/sys/fs/cgroup/my-group")?;
    /// // SAFETY: no shared flags, no tls; the child below only calls exit_group (async-signal-safe).
    /// match unsafe { CloneBuilder::new().cgroup(dir.as_fd()).fork()? } {
    ///     // SAFETY: the forked child has its own memory: nothing left undropped is needed by anyone.
    ///     Forked::Child => unsafe { raw::exit_group(0) },
    ///     Forked::Parent(mut child) => { child.wait()?; }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # References
    /// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html) (`CLONE_INTO_CGROUP`),
    ///   [cgroups(7)](https://man7.org/linux/man-pages/man7/cgroups.7.html)
    pub fn cgroup(&mut self, dir: BorrowedFd<'a>) -> &mut Self {
        self.cgroup = Some(dir);
        self
    }

    /// The child's PID in each PID namespace, innermost first (clone3, Linux
    /// 5.5; needs `CAP_CHECKPOINT_RESTORE` or `CAP_SYS_ADMIN` in each).
    ///
    /// Checked before the call, as the kernel's `alloc_pid` would: at most
    /// one PID per level the child will have (the caller's PID namespace
    /// level + 1, one more with `CLONE_NEWPID`) — [`Rule::SetTidTooDeep`](crate::Rule::SetTidTooDeep);
    /// every PID at least 1 — [`Rule::SetTidNotPositive`](crate::Rule::SetTidNotPositive); with
    /// `CLONE_NEWPID`, `tids[0] == 1` — [`Rule::SetTidNewpidNotOne`](crate::Rule::SetTidNewpidNotOne);
    /// every PID below `pid_max` — [`Rule::SetTidAbovePidMax`](crate::Rule::SetTidAbovePidMax); after
    /// `unshare(CLONE_NEWPID)`, before the new namespace has its init,
    /// `tids[0] == 1` — [`Rule::SetTidNoInitNotOne`](crate::Rule::SetTidNoInitNotOne). A PID
    /// already in use is `EEXIST` from the kernel.
    ///
    /// The caller's context (its level from `NSpid` in
    /// `/proc/thread-self/status`, `pid_max`, its PID namespace for
    /// children) is read again here, as by [`new`](Self::new) (no
    /// allocation); [`check`](Self::check), [`fork`](Self::fork) and
    /// [`spawn`](Self::spawn) then read nothing and allocate nothing, so a
    /// builder prepared before a raw fork can be used in the forked child of
    /// a multi-threaded process. The context is the calling thread's at that
    /// moment: after an `unshare` or `setns` of the PID namespace for
    /// children, call `set_tid` again. When /proc cannot tell the level (it
    /// is missing, or a `setns` or an `unshare` whose namespace has its init
    /// already changed the PID namespace for children), only the kernel
    /// checks the depth.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneBuilder, CloneFlags, Pid, Rule, Error};
    /// let tids = [Pid::from_raw(1); 40];
    /// let err = CloneBuilder::new().set_tid(&tids).check().unwrap_err();
    /// assert!(matches!(err, Error::Conflict(c) if c.rule() == Rule::SetTidTooLong));
    /// ```
    ///
    /// # References
    /// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html) (`set_tid`)
    pub fn set_tid(&mut self, tids: &'a [Pid]) -> &mut Self {
        self.set_tid = Some(tids);
        self.caller = Caller::capture();
        self
    }

    /// The `uid_map` of the child's new user namespace (needs
    /// `CLONE_NEWUSER`), written by the caller to `/proc/<pid>/uid_map`
    /// before the child goes on: the child blocks on a socket until the maps
    /// are written, in [`fork`](Self::fork) before `Forked::Child` is
    /// returned, in [`spawn`](Self::spawn) before the closure runs.
    ///
    /// A map does not change the child's credentials: the child still has
    /// the caller's ids, seen inside through the map (`nobody` where they
    /// are unmapped); a child that should be root inside either maps 0 to
    /// the caller's own id, or calls `setresuid(0, 0, 0)` inside, where it
    /// has every capability. An unprivileged caller may map only its own
    /// uid, with one line (user_namespaces(7)). A caller that changed its
    /// ids is not dumpable, so its children's `/proc` files are root's and
    /// the maps fail with `EACCES` until it calls
    /// `prctl(PR_SET_DUMPABLE, 1)`. Writing the maps allocates nothing and takes no
    /// lock, so a forked child of a multi-threaded program may use this too.
    ///
    /// # Errors
    ///
    /// [`Rule::IdMapsWithoutNewuser`](crate::Rule::IdMapsWithoutNewuser), [`Rule::IdMapsWithVm`](crate::Rule::IdMapsWithVm),
    /// [`Rule::IdMapsWithFiles`](crate::Rule::IdMapsWithFiles), [`Rule::IdMapsWithVfork`](crate::Rule::IdMapsWithVfork) before the call; when a map cannot be
    /// written, `Error::Sys { call: "write", detail: Some("/proc/<pid>/uid_map"), .. }`
    /// (or `gid_map`, `setgroups`) after the child has been killed and reaped.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneBuilder, CloneFlags, Forked, IdMap, raw};
    /// // SAFETY: geteuid has no preconditions and cannot fail.
    /// let uid = [IdMap::single(0, unsafe { libc::geteuid() })];
    /// // SAFETY: getegid has no preconditions and cannot fail.
    /// let gid = [IdMap::single(0, unsafe { libc::getegid() })];
    /// let mut builder = CloneBuilder::new();
    /// builder.flags(CloneFlags::NEWUSER).uid_map(&uid).gid_map(&gid);
    /// // SAFETY: no tls; the child only calls geteuid and exit_group, both async-signal-safe.
    /// match unsafe { builder.fork() } {
    ///     // root inside: exit 0
    ///     // SAFETY: the forked child has its own memory: nothing left undropped is needed by anyone.
    ///     Ok(Forked::Child) => unsafe { raw::exit_group(libc::geteuid() as i32) },
    ///     Ok(Forked::Parent(mut child)) => assert_eq!(child.wait()?.code(), Some(0)),
    ///     Err(e) => println!("user namespaces are not allowed here: {e}"),
    /// }
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [user_namespaces(7)](https://man7.org/linux/man-pages/man7/user_namespaces.7.html)
    pub fn uid_map(&mut self, maps: &'a [IdMap]) -> &mut Self {
        self.id_maps.uid = Some(maps);
        self
    }

    /// The `gid_map` of the child's new user namespace, written like
    /// [`uid_map`](Self::uid_map), after `setgroups` (see
    /// [`setgroups`](Self::setgroups)).
    ///
    /// # Errors
    ///
    /// As for [`uid_map`](Self::uid_map).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneBuilder, CloneFlags, IdMap};
    /// // SAFETY: geteuid and getegid have no preconditions and cannot fail.
    /// let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    /// let (uids, gids) = ([IdMap::single(0, uid)], [IdMap::single(0, gid)]);
    /// let mut builder = CloneBuilder::new();
    /// builder.flags(CloneFlags::NEWUSER).uid_map(&uids).gid_map(&gids);
    /// // SAFETY: no CLONE_VM; getegid is async-signal-safe and cannot fail.
    /// match unsafe { builder.spawn(|| libc::getegid() as i32) } {
    ///     Ok(mut child) => assert_eq!(child.wait()?.code(), Some(0)), // group 0 inside
    ///     Err(e) => println!("user namespaces are not allowed here: {e}"),
    /// }
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [user_namespaces(7)](https://man7.org/linux/man-pages/man7/user_namespaces.7.html)
    pub fn gid_map(&mut self, maps: &'a [IdMap]) -> &mut Self {
        self.id_maps.gid = Some(maps);
        self
    }

    /// What to write to the child's `/proc/<pid>/setgroups` before its
    /// `gid_map` (default [`Setgroups::Auto`](crate::Setgroups::Auto): `deny` only when the kernel
    /// refuses the `gid_map` without it, i.e. the caller lacks `CAP_SETGID`).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{raw, CloneBuilder, CloneFlags, IdMap, Setgroups};
    /// // SAFETY: geteuid and getegid have no preconditions and cannot fail.
    /// let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    /// let (uids, gids) = ([IdMap::single(0, uid)], [IdMap::single(0, gid)]);
    /// let mut builder = CloneBuilder::new();
    /// builder
    ///     .flags(CloneFlags::NEWUSER)
    ///     .uid_map(&uids)
    ///     .gid_map(&gids)
    ///     .setgroups(Setgroups::Deny);
    /// // SAFETY: no CLONE_VM; the closure makes one system call.
    /// match unsafe { builder.spawn(|| raw::setgroups(&[]).map_or_else(|e| e as i32, |()| 0)) } {
    ///     // Even root inside may not drop its supplementary groups.
    ///     Ok(mut child) => assert_eq!(child.wait()?.code(), Some(libc::EPERM)),
    ///     Err(e) => println!("user namespaces are not allowed here: {e}"),
    /// }
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [user_namespaces(7)](https://man7.org/linux/man-pages/man7/user_namespaces.7.html)
    pub fn setgroups(&mut self, setgroups: Setgroups) -> &mut Self {
        self.id_maps.setgroups = setgroups;
        self
    }
}
