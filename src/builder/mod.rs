//! [`CloneBuilder`]: every argument of clone(2)/clone3(2), checked, then
//! issued through the system call that can carry it.

// Unsafe is denied crate-wide; this file holds some: `fork`/`spawn`/`tls` are unsafe to call, and call the engine.
#![allow(unsafe_code)]

mod spawn_stack;

use std::ffi::c_void;
use std::fmt;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::{self, NonNull};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use self::spawn_stack::{place_frame, run_closure, take_closure, ChildSignals};
use crate::child::{Child, Forked};
use crate::engine::{self, signals, Call, Request, Start};
use crate::error::{Error, Result};
use crate::flags::CloneFlags;
use crate::raw;
use crate::rules::{self, pid_ns_depth, Arguments, Conflict, Rule};
use crate::stack::Stack;
use crate::tid::TidSlot;
use crate::userns::{self, IdMap, IdMaps, MapSync, Setgroups};

/// Which system call a [`CloneBuilder`] issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Syscall {
    /// Legacy `clone`, unless something only `clone3` can carry is asked for
    /// (CLEAR_SIGHAND, INTO_CGROUP, NEWTIME, set_tid, or a pidfd together with
    /// a parent TID slot); then `clone3`, or [`Error::Unsupported`] where this
    /// host has none.
    #[default]
    Auto,
    /// Legacy `clone` always; asking for a clone3-only feature is a
    /// [`Conflict`] ([`Rule::Clone3Only`]).
    Clone,
    /// `clone3` always; [`Error::Unsupported`] where this host has none.
    Clone3,
}

/// A builder for one `clone`/`clone3` call: flags, exit signal, pidfd, TID
/// slots, TLS, stack, cgroup and set_tid, checked against the rules of
/// clone(2) before anything is called.
///
/// [`fork`](CloneBuilder::fork) continues in the child like fork(2) does;
/// [`spawn`](CloneBuilder::spawn) runs a closure in the child on its own
/// [`Stack`]. Both are `unsafe`: after a raw clone the child may only do
/// async-signal-safe work, and the flags decide what it shares with the
/// caller (see each method's `# Safety`).
///
/// # Examples
///
/// A child in its own UTS namespace would be `flags(CloneFlags::NEWUTS)`;
/// here, a plain child that reports through its exit code:
///
/// ```
/// use clonekit::{CloneBuilder, CloneFlags};
/// // SAFETY: no CLONE_VM, and the closure only returns 7: no allocation, no locks, no panic.
/// let mut child = unsafe { CloneBuilder::new().pidfd(true).spawn(|| 7)? };
/// assert!(child.pidfd().is_some());
/// assert_eq!(child.wait()?.code(), Some(7));
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html) (clone3 is there too)
#[doc(alias = "clone")]
#[doc(alias = "clone3")]
pub struct CloneBuilder<'a> {
    flags: CloneFlags,
    exit_signal: Option<Signal>,
    pidfd: bool,
    parent_tid: Option<&'a TidSlot>,
    child_tid: Option<&'a TidSlot>,
    clear_child_tid: Option<&'a TidSlot>,
    tls: Option<*mut c_void>,
    stack: Option<Stack>,
    cgroup: Option<BorrowedFd<'a>>,
    set_tid: Option<&'a [Pid]>,
    /// The PID namespace depth `set_tid` read when it was called (see
    /// [`pid_ns_depth`]), so that checking it reads nothing.
    set_tid_depth: Option<usize>,
    id_maps: IdMaps<'a>,
    syscall: Syscall,
}

/// What a checked builder resolves to: the flags the kernel will get and
/// whether clone3 carries them.
#[derive(Clone, Copy)]
struct Resolved {
    flags: CloneFlags,
    clone3: bool,
}

impl Default for CloneBuilder<'_> {
    fn default() -> Self {
        CloneBuilder::new()
    }
}

impl<'a> CloneBuilder<'a> {
    /// A builder with no flags, exit signal `SIGCHLD`, no pidfd, no TID
    /// slots, no TLS, no stack (spawn maps one of [`Stack::DEFAULT_SIZE`]) and
    /// [`Syscall::Auto`]: a plain fork-like child.
    pub fn new() -> Self {
        CloneBuilder {
            flags: CloneFlags::empty(),
            exit_signal: Some(Signal::SIGCHLD),
            pidfd: false,
            parent_tid: None,
            child_tid: None,
            clear_child_tid: None,
            tls: None,
            stack: None,
            cgroup: None,
            set_tid: None,
            set_tid_depth: None,
            id_maps: IdMaps::default(),
            syscall: Syscall::Auto,
        }
    }

    /// Sets the `CLONE_*` flags (replacing earlier ones). The flags that take
    /// an argument are better set through their method ([`pidfd`](Self::pidfd),
    /// [`parent_tid`](Self::parent_tid), ...), which sets the flag too;
    /// `CloneFlags::PIDFD` here is the same as `pidfd(true)`.
    pub fn flags(&mut self, flags: CloneFlags) -> &mut Self {
        self.flags = flags;
        self
    }

    /// The signal the parent gets when the child terminates (default
    /// `SIGCHLD`; `None` for none, as `CLONE_THREAD` and `CLONE_PARENT` need).
    pub fn exit_signal(&mut self, sig: Option<Signal>) -> &mut Self {
        self.exit_signal = sig;
        self
    }

    /// `CLONE_PIDFD`: the child's [`Child::pidfd`] is `Some`, an `O_CLOEXEC`
    /// pidfd made atomically with the child.
    pub fn pidfd(&mut self, on: bool) -> &mut Self {
        self.pidfd = on;
        self
    }

    /// `CLONE_PARENT_SETTID`: the kernel stores the child's TID in `slot`
    /// before the call returns.
    pub fn parent_tid(&mut self, slot: &'a TidSlot) -> &mut Self {
        self.parent_tid = Some(slot);
        self
    }

    /// `CLONE_CHILD_SETTID`: the kernel stores the child's TID in `slot`, in
    /// the child's memory, as the child starts.
    pub fn child_tid(&mut self, slot: &'a TidSlot) -> &mut Self {
        self.child_tid = Some(slot);
        self
    }

    /// `CLONE_CHILD_CLEARTID`: the kernel clears `slot` in the child's memory
    /// and wakes its futex when the child exits or execs. With `CLONE_VM` the
    /// parent sees it: [`TidSlot::wait_cleared`] joins the child. The builder
    /// marks the slot pending (non-zero) before the call, so a wait cannot
    /// return before the child has run; with `CLONE_VM` a slot serves one
    /// running child at a time ([`Rule::TidSlotInUse`] otherwise).
    pub fn clear_child_tid(&mut self, slot: &'a TidSlot) -> &mut Self {
        self.clear_child_tid = Some(slot);
        self
    }

    /// `CLONE_SETTLS`: the child's thread pointer (`fs` base on x86_64).
    ///
    /// # Safety
    ///
    /// `tls` must point to a thread control block that is valid for the
    /// child's whole life in the layout this platform's libc and Rust expect
    /// (on x86_64, its first word points to itself), or the child must never
    /// touch thread-local storage.
    pub unsafe fn tls(&mut self, tls: *mut c_void) -> &mut Self {
        self.tls = Some(tls);
        self
    }

    /// The stack [`spawn`](Self::spawn) runs the child on (default: a new
    /// [`Stack`] of [`Stack::DEFAULT_SIZE`]). The child's [`Child`] owns it
    /// afterwards; [`Child::into_stack`] gives it back for reuse.
    pub fn stack(&mut self, stack: Stack) -> &mut Self {
        self.stack = Some(stack);
        self
    }

    /// `CLONE_INTO_CGROUP` (clone3, Linux 5.7): the child starts in the cgroup
    /// v2 directory open as `dir` (an `O_RDONLY` or `O_PATH` descriptor of
    /// the directory; a `BorrowedFd` is never -1, so no bad number reaches
    /// the kernel).
    ///
    /// # Errors
    ///
    /// When the kernel refuses the placement, [`fork`](Self::fork) and
    /// [`spawn`](Self::spawn) return [`Error::Sys`] (`call: "clone3"`) whose `detail` says why,
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
    ///   [`Error::Unsupported`].
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
    /// level + 1, one more with `CLONE_NEWPID`) — [`Rule::SetTidTooDeep`];
    /// every PID at least 1 — [`Rule::SetTidNotPositive`]; with
    /// `CLONE_NEWPID`, `tids[0] == 1` — [`Rule::SetTidNewpidNotOne`]. A PID
    /// already in use is `EEXIST` from the kernel.
    ///
    /// The level is read here, when `set_tid` is called (`NSpid` in
    /// `/proc/thread-self/status`: this reads /proc and allocates);
    /// [`check`](Self::check), [`fork`](Self::fork) and
    /// [`spawn`](Self::spawn) then read nothing and allocate nothing, so a
    /// builder prepared before a raw fork can be used in the forked child of
    /// a multi-threaded process. The level is the calling thread's at that
    /// moment: after an `unshare` or `setns` of the PID namespace for
    /// children, call `set_tid` again. When /proc cannot tell (it is missing,
    /// or the PID namespace for children is not the thread's own), only the
    /// kernel checks the depth.
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
        self.set_tid_depth = pid_ns_depth();
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
    /// [`Rule::IdMapsWithoutNewuser`], [`Rule::IdMapsWithVm`],
    /// [`Rule::IdMapsWithFiles`], [`Rule::IdMapsWithVfork`] before the call; when a map cannot be
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
    /// # References
    /// - [user_namespaces(7)](https://man7.org/linux/man-pages/man7/user_namespaces.7.html)
    pub fn gid_map(&mut self, maps: &'a [IdMap]) -> &mut Self {
        self.id_maps.gid = Some(maps);
        self
    }

    /// What to write to the child's `/proc/<pid>/setgroups` before its
    /// `gid_map` (default [`Setgroups::Auto`]: `deny` only when the kernel
    /// refuses the `gid_map` without it, i.e. the caller lacks `CAP_SETGID`).
    ///
    /// # References
    /// - [user_namespaces(7)](https://man7.org/linux/man-pages/man7/user_namespaces.7.html)
    pub fn setgroups(&mut self, setgroups: Setgroups) -> &mut Self {
        self.id_maps.setgroups = setgroups;
        self
    }

    /// Which system call to issue (default [`Syscall::Auto`]).
    pub fn syscall(&mut self, which: Syscall) -> &mut Self {
        self.syscall = which;
        self
    }

    /// Checks every argument rule that can be checked before the call, and
    /// whether the system call that can carry the arguments exists here.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] naming the broken [`Rule`]; [`Error::Unsupported`]
    /// when clone3 is needed and absent, or for `CLONE_PIDFD` with
    /// `CLONE_THREAD` before Linux 6.9 (which answers a bare EINVAL).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneBuilder, CloneFlags};
    /// let err = CloneBuilder::new().flags(CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM)
    ///     .check().unwrap_err();
    /// assert!(err.to_string().contains("exit signal"));
    /// ```
    pub fn check(&self) -> Result<()> {
        self.resolve().map(drop)
    }

    /// The flags the kernel gets: the ones given plus the ones the argument
    /// methods imply.
    fn effective_flags(&self) -> CloneFlags {
        let mut flags = self.flags;
        flags.set(
            CloneFlags::PIDFD,
            self.pidfd || self.flags.contains(CloneFlags::PIDFD),
        );
        flags |= implied(self.parent_tid.is_some(), CloneFlags::PARENT_SETTID)
            | implied(self.child_tid.is_some(), CloneFlags::CHILD_SETTID)
            | implied(self.clear_child_tid.is_some(), CloneFlags::CHILD_CLEARTID)
            | implied(self.tls.is_some(), CloneFlags::SETTLS)
            | implied(self.cgroup.is_some(), CloneFlags::INTO_CGROUP);
        flags
    }

    fn resolve(&self) -> Result<Resolved> {
        let flags = self.effective_flags();
        flags.check()?;
        self.check_arguments(flags)?;
        if flags.contains(CloneFlags::PIDFD | CloneFlags::THREAD) {
            if let Err(errno) = engine::thread_pidfd_works() {
                return Err(Error::Unsupported {
                    feature: "CLONE_PIDFD with CLONE_THREAD (Linux 6.9)",
                    errno,
                });
            }
        }
        let clone3_feature = self.clone3_feature(flags);
        let clone3 = match (self.syscall, clone3_feature) {
            (Syscall::Clone3, _) => true,
            (Syscall::Auto, None) => false,
            (Syscall::Clone, None) => false,
            (Syscall::Clone, Some(_)) => {
                let rule = if self.set_tid.is_none() && !flags.intersects(CloneFlags::CLONE3_ONLY) {
                    Rule::PidfdWithParentSettid
                } else {
                    Rule::Clone3Only
                };
                return Err(Conflict::new(rule, flags).into());
            }
            (Syscall::Auto, Some(feature)) => {
                if let Err(errno) = engine::clone3_works() {
                    return Err(Error::Unsupported { feature, errno });
                }
                true
            }
        };
        Ok(Resolved { flags, clone3 })
    }

    /// The rules between flags and the arguments that go with them.
    fn check_arguments(&self, flags: CloneFlags) -> std::result::Result<(), Conflict> {
        let given = Arguments {
            parent_tid: self.parent_tid.is_some(),
            child_tid: self.child_tid,
            clear_child_tid: self.clear_child_tid,
            tls: self.tls.is_some(),
            cgroup: self.cgroup.is_some(),
            exit_signal: self.exit_signal.is_some(),
            id_maps: self.id_maps.any(),
            set_tid: self.set_tid.map(|tids| (tids, self.set_tid_depth)),
        };
        rules::check_arguments(flags, &given)
    }

    /// The first thing asked for that only clone3 can carry, if any.
    fn clone3_feature(&self, flags: CloneFlags) -> Option<&'static str> {
        let features = [
            (flags.contains(CloneFlags::CLEAR_SIGHAND), "CLONE_CLEAR_SIGHAND"),
            (flags.contains(CloneFlags::INTO_CGROUP), "CLONE_INTO_CGROUP"),
            (flags.contains(CloneFlags::NEWTIME), "CLONE_NEWTIME"),
            (self.set_tid.is_some(), "set_tid"),
            (
                flags.contains(CloneFlags::PIDFD | CloneFlags::PARENT_SETTID),
                "CLONE_PIDFD with CLONE_PARENT_SETTID",
            ),
        ];
        features.iter().find(|(asked, _)| *asked).map(|&(_, name)| name)
    }

    /// The engine's request for these arguments, with the flags and call
    /// `resolved` settled on and the child_tid word `child_tid` (or NULL).
    fn request(&self, resolved: Resolved, child_tid: *mut i32) -> Request<'a> {
        Request {
            flags: resolved.flags,
            best_effort: CloneFlags::empty(),
            exit_signal: self.exit_signal,
            parent_tid: self.parent_tid.map_or(ptr::null_mut(), TidSlot::as_ptr),
            child_tid,
            tls: self.tls.unwrap_or(ptr::null_mut()),
            set_tid: self.set_tid,
            cgroup: self.cgroup.map(|fd| fd.as_raw_fd()),
            call: if resolved.clone3 {
                Call::Clone3
            } else {
                Call::Clone
            },
            clone3_feature: self.clone3_feature(resolved.flags),
        }
    }

    /// Whether to take a pidfd the caller did not ask for, for the
    /// [`Child`]'s own use: a `CLONE_PARENT` child is reaped by our parent,
    /// so its pid may be reused at any time, and only a pidfd lets
    /// [`Child::kill`] reach it safely. Taken where the call can carry one
    /// (not with `CLONE_THREAD`, nor beside a parent TID slot on legacy clone).
    fn takes_private_pidfd(&self, resolved: Resolved) -> bool {
        let flags = resolved.flags;
        flags.contains(CloneFlags::PARENT)
            && !flags.intersects(CloneFlags::PIDFD | CloneFlags::THREAD)
            && (resolved.clone3 || !flags.contains(CloneFlags::PARENT_SETTID))
    }

    /// The child_tid pointer: one slot serves CHILD_SETTID and CHILD_CLEARTID.
    fn child_tid_slot(&self) -> Option<&'a TidSlot> {
        self.clear_child_tid.or(self.child_tid)
    }

    /// Creates a child that continues from this call like fork(2): with a
    /// copy of the caller's stack and memory (no `CLONE_VM`: that needs
    /// [`spawn`](Self::spawn)).
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] for a broken rule, including [`Rule::ForkWithVm`]
    /// and [`Rule::ForkWithStack`]; [`Error::Unsupported`] when clone3 is
    /// needed and absent; [`Error::Sys`] when the kernel refuses.
    ///
    /// # Safety
    ///
    /// The child keeps [the child's contract](crate#the-childs-contract)
    /// (clauses 1, 2 and 4): in [`Forked::Child`], async-signal-safe work
    /// only, then `execve` or [`raw::exit_group`].
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneBuilder, CloneFlags, Forked, raw};
    /// let mut builder = CloneBuilder::new();
    /// builder.flags(CloneFlags::NEWUTS);
    /// # builder.flags(CloneFlags::empty()); // the doctest may run without privileges
    /// // SAFETY: no shared flags, no tls; the child only calls exit_group (async-signal-safe).
    /// match unsafe { builder.fork()? } {
    ///     // SAFETY: the forked child has its own memory: nothing left undropped is needed by anyone.
    ///     Forked::Child => unsafe { raw::exit_group(3) },
    ///     Forked::Parent(mut child) => assert_eq!(child.wait()?.code(), Some(3)),
    /// }
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub unsafe fn fork(&mut self) -> Result<Forked<'a>> {
        let mut resolved = self.resolve()?;
        if self.takes_private_pidfd(resolved) {
            resolved.flags |= CloneFlags::PIDFD;
        }
        let flags = resolved.flags;
        if flags.contains(CloneFlags::VM) {
            return Err(Conflict::new(Rule::ForkWithVm, flags).into());
        }
        if self.stack.is_some() {
            return Err(Conflict::new(Rule::ForkWithStack, flags).into());
        }
        let sync = self.id_maps.any().then(MapSync::new).transpose()?;
        let child_tid = self.child_tid_slot().map_or(ptr::null_mut(), TidSlot::as_ptr);
        let request = self.request(resolved, child_tid);
        // SAFETY: no CLONE_VM (checked above); every pointer in the request
        // is a live slot (for 'a); the caller keeps the child's contract.
        let created = unsafe { engine::clone_child(&request, Start::Here, &mut |_| {}) }?;
        match created.pid {
            None => {
                // Async-signal-safe: close and read on our own copies.
                if sync.is_some_and(|sync| !sync.child_wait()) {
                    // SAFETY: the parent could not write our maps; nothing
                    // of ours is borrowed by anyone.
                    unsafe { raw::exit_group(userns::MAPS_FAILED) }
                }
                Ok(Forked::Child)
            }
            Some(pid) => {
                let mut child = Child::of_process(pid, flags, created.pidfd);
                if !self.pidfd && !self.flags.contains(CloneFlags::PIDFD) {
                    child = child.keep_pidfd_private();
                }
                write_maps_or_discard(sync, &self.id_maps, child).map(Forked::Parent)
            }
        }
    }

    /// Creates a child that runs `f` on its own [`Stack`] and exits with the
    /// value `f` returns (the `exit` system call: a `CLONE_THREAD` child ends
    /// alone, its thread group goes on).
    ///
    /// The closure is moved onto the top of the child's stack, so it lives as
    /// long as the stack, which the returned [`Child`] owns. With `CLONE_VM`
    /// the child consumes it there and the caller never touches it again;
    /// the builder also makes the kernel clear a word when the child exits
    /// or execs (`CLONE_CHILD_CLEARTID`: the `clear_child_tid` or `child_tid`
    /// slot, or one of its own on the stack), and the `Child` waits for that
    /// word before it lets go of the stack or of `'a`. Without `CLONE_VM` the
    /// child has a copy; the caller's copy of the closure is dropped after the
    /// call, unless `CLONE_FILES` shares the descriptors it may hold, in
    /// which case it is forgotten.
    ///
    /// # Signals
    ///
    /// Every signal is blocked in the caller across the clone (as glibc's
    /// `pthread_create` and `posix_spawn` do), so the child starts with all
    /// of them blocked and no handler of the program can run in it before
    /// it has settled them, before the closure runs:
    ///
    /// - without `CLONE_VM`, or with `CLONE_SETTLS` (its own TLS), or with
    ///   `CLONE_CLEAR_SIGHAND` (no handlers left): the caller's mask is
    ///   restored, and handlers run in the child as after fork(2);
    /// - with `CLONE_VM` (sharing the caller's TLS and `errno`) and its own
    ///   handler table (no `CLONE_SIGHAND`): every handled signal is reset
    ///   to `SIG_DFL` (ignored ones stay ignored), then the caller's mask is
    ///   restored: a signal can end the child, never run a handler in it;
    /// - with `CLONE_VM` and `CLONE_SIGHAND` (a shared handler table that it
    ///   cannot reset) and no `CLONE_SETTLS`: every signal stays blocked for
    ///   the child's whole life (only `SIGKILL` and `SIGSTOP` act on it; a
    ///   process-directed signal goes to another thread of a `CLONE_THREAD`
    ///   child's group).
    ///
    /// The caller's mask is restored in the caller when the call returns.
    ///
    /// A `CLONE_VM` child that dies by a signal whose default action dumps
    /// core (`SIGSEGV` from a stack overflow into the guard page, `SIGBUS`,
    /// `SIGABRT`, ...) dies alone from Linux 5.16 on. Before 5.16 the
    /// kernel's core-dump path first killed every process sharing the
    /// memory, the caller included, whatever `RLIMIT_CORE` said, unless the
    /// memory was not dumpable (fs/coredump.c `zap_threads`, until
    /// "coredump: Limit coredumps to a single thread group"). No setting of
    /// the child's can prevent it soundly there (dumpability belongs to the
    /// shared memory): give such a child a stack it cannot overflow.
    ///
    /// # Errors
    ///
    /// As for [`fork`](Self::fork) (without the fork-only rules), plus
    /// [`Error::StackTooSmall`] and the errors of [`Stack::new`].
    ///
    /// # Safety
    ///
    /// `f` keeps [the child's contract](crate#the-childs-contract), all of
    /// it: async-signal-safe work and no panic (a panic is caught and ends
    /// the child with 101, but the panic machinery itself is not
    /// async-signal-safe); with `CLONE_VM` no thread-local storage unless
    /// `CLONE_SETTLS`; captures that are trivially dropped; and with
    /// `CLONE_VM` the returned `Child` is not leaked.
    ///
    /// # Examples
    ///
    /// A thread-like child, joined through its TID slot:
    ///
    /// ```
    /// use clonekit::{CloneBuilder, CloneFlags, Stack, TidSlot};
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// let seen = AtomicU32::new(0);
    /// let slot = TidSlot::new();
    /// // SAFETY: the closure only stores to an atomic (no TLS, no allocation, no
    /// // panic), and `child` is dropped, not forgotten.
    /// let child = unsafe {
    ///     CloneBuilder::new()
    ///         .flags(CloneFlags::VM | CloneFlags::FS | CloneFlags::FILES | CloneFlags::SIGHAND
    ///             | CloneFlags::THREAD | CloneFlags::SYSVSEM)
    ///         .exit_signal(None)
    ///         .clear_child_tid(&slot)
    ///         .stack(Stack::new(64 * 1024)?)
    ///         .spawn(|| { seen.store(42, Ordering::SeqCst); 0 })?
    /// };
    /// assert!(slot.wait_cleared(None));
    /// assert_eq!(seen.load(Ordering::SeqCst), 42);
    /// drop(child);
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub unsafe fn spawn<F: FnOnce() -> i32 + Send + 'a>(&mut self, f: F) -> Result<Child<'a>> {
        let mut resolved = self.resolve()?;
        if !raw::HAS_TRAMPOLINES {
            return Err(Error::Unsupported {
                feature: "a child on its own stack on this architecture",
                errno: Errno::ENOSYS,
            });
        }
        let shares_memory = resolved.flags.contains(CloneFlags::VM);
        let mut stack = match self.stack.take() {
            Some(stack) => stack,
            None => Stack::new(Stack::DEFAULT_SIZE)?,
        };
        let sync = self.id_maps.any().then(MapSync::new).transpose()?;
        let maps_sync = sync.as_ref().map_or((-1, -1), MapSync::raw);
        let frame = place_frame(&mut stack, f, maps_sync, ChildSignals::for_flags(resolved.flags))?;
        // SAFETY: place_frame returned a pointer to an initialised SpawnFrame
        // inside `stack`, which is alive and not otherwise referenced.
        let own_slot: &TidSlot = unsafe { &(*frame.as_ptr()).done_word };
        let child_top = (frame.as_ptr() as usize & !15) as *mut u8;

        // The slot the kernel clears when a CLONE_VM child is done with us.
        let child_tid: Option<&TidSlot> = match self.child_tid_slot() {
            Some(slot) => Some(slot),
            None if shares_memory => Some(own_slot),
            None => None,
        };
        let done_word = child_tid.filter(|_| shares_memory);
        if let Some(slot) = done_word {
            if !slot.claim_pending() {
                // SAFETY: no child was created, so the closure is still ours.
                drop(unsafe { take_closure(frame) });
                return Err(Conflict::new(Rule::TidSlotInUse, resolved.flags).into());
            }
            resolved.flags |= CloneFlags::CHILD_CLEARTID;
        }
        let child_tid_ptr = child_tid.map_or(ptr::null_mut(), TidSlot::as_ptr);
        if self.takes_private_pidfd(resolved) {
            resolved.flags |= CloneFlags::PIDFD;
        }
        let flags = resolved.flags;
        let request = self.request(resolved, child_tid_ptr);
        let start = Start::OnStack {
            base: stack.base(),
            top: child_top,
            entry: run_closure::<F>,
            arg: frame.as_ptr().cast::<c_void>(),
        };
        // Every signal is blocked across the clone, so the child starts with
        // all of them blocked and settles them itself (see ChildSignals).
        let result = match signals::block_all() {
            Err(errno) => Err(Error::Sys {
                call: "rt_sigprocmask",
                errno,
                detail: None,
            }),
            Ok(old_mask) => {
                // SAFETY: the frame is ours until the clone; the child only
                // reads it after.
                unsafe { (*frame.as_ptr()).mask = old_mask };
                // SAFETY: the stack is ours, mapped and 16-byte aligned at
                // child_top, below the frame, which the entry consumes;
                // the request's pointers are live slots (for 'a) or lie in
                // the stack; the caller keeps the closure's contract.
                let created = unsafe { engine::clone_child(&request, start, &mut |_| {}) };
                let _ = signals::set_mask(&old_mask);
                created
            }
        };

        let created = match result {
            Ok(created) => created,
            Err(err) => {
                // No child will clear the slot: take the pending mark back,
                // or a later wait on it would never return.
                if let Some(slot) = done_word {
                    slot.clear();
                }
                // SAFETY: no child was created, so the closure is still ours.
                drop(unsafe { take_closure(frame) });
                return Err(err);
            }
        };
        if !shares_memory && !flags.contains(CloneFlags::FILES) {
            // SAFETY: the child has its own copy of memory and descriptors;
            // this copy of the closure is the parent's alone.
            drop(unsafe { take_closure(frame) });
        }
        let pid = created.pid.expect("a child on its own stack never returns here");
        let pidfd = created.pidfd;
        let done_word = done_word.map(NonNull::from);
        // SAFETY: `done_word` is a slot borrowed for 'a or lies in `stack`,
        // and the kernel clears it (CLONE_CHILD_CLEARTID with CLONE_VM).
        let mut child = unsafe { Child::new(pid, flags, pidfd, Some(stack), done_word) };
        if !self.pidfd && !self.flags.contains(CloneFlags::PIDFD) {
            child = child.keep_pidfd_private();
        }
        write_maps_or_discard(sync, &self.id_maps, child)
    }
}

fn implied(asked: bool, flag: CloneFlags) -> CloneFlags {
    if asked {
        flag
    } else {
        CloneFlags::empty()
    }
}

/// After a successful clone: writes a `CLONE_NEWUSER` child's maps, or
/// kills and reaps it when they cannot be written.
fn write_maps_or_discard<'a>(
    sync: Option<MapSync>,
    maps: &IdMaps<'_>,
    child: Child<'a>,
) -> Result<Child<'a>> {
    let Some(sync) = sync else {
        return Ok(child);
    };
    match sync.release(child.pid(), maps) {
        Ok(()) => Ok(child),
        Err(err) => {
            child.discard();
            Err(err)
        }
    }
}

impl fmt::Debug for CloneBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloneBuilder")
            .field("flags", &self.effective_flags())
            .field("exit_signal", &self.exit_signal)
            .field("stack", &self.stack.as_ref().map(Stack::size))
            .field("set_tid", &self.set_tid)
            .field("id_maps", &self.id_maps)
            .field("syscall", &self.syscall)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A spawn the kernel refuses leaves the CLEARTID slot as it found it
    /// (0), not marked pending forever: waiting on it must not hang.
    #[test]
    fn a_refused_spawn_leaves_the_slot_clear() {
        let slot = TidSlot::new();
        // PID 1 is taken in this PID namespace (EEXIST), or set_tid is not
        // allowed here (EPERM); either way the kernel refuses.
        let taken = [Pid::from_raw(1)];
        // SAFETY: the child, if one were made, does nothing.
        let result = unsafe {
            CloneBuilder::new()
                .flags(CloneFlags::VM)
                .clear_child_tid(&slot)
                .set_tid(&taken)
                .spawn(|| 0)
        };
        match result {
            Err(Error::Unsupported { .. }) => println!("skipped: clone3 is not available here"),
            Err(_) => assert!(slot.wait_cleared(Some(Duration::from_millis(100)))),
            Ok(_) => panic!("the kernel accepted set_tid [1]"),
        }
    }
}
