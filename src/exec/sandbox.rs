//! Who the child of an [`Exec`] becomes and what confines it: std's
//! `CommandExt` ids (`uid`, `gid`, `groups`) and `pre_exec`, and beyond std
//! the uid/gid maps of a new user namespace, the host name of a new UTS
//! namespace, resource limits, the umask, a new root and `no_new_privs`.
//!
//! Every step but the maps runs in the child from the plan, with raw system
//! calls; the maps are written by the parent while the child waits.

// Unsafe is denied crate-wide; this file holds some: `pre_exec`, an unsafe fn whose contract the caller keeps.
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::steps::StepSettings;
use super::Exec;
use crate::error::{Error, Result};
use crate::flags::CloneFlags;
use crate::raw::Resource;
use crate::rules::{Conflict, Rule};
use crate::userns::IdMap;

/// The longest host name the kernel takes (`__NEW_UTS_LEN`): sethostname
/// answers EINVAL past it.
const HOST_NAME_MAX: usize = 64;

impl Exec {
    /// Sets the child's user id (`setuid` in the child, after the groups
    /// and the gid; see [`groups`](Self::groups)), as
    /// `std::os::unix::process::CommandExt::uid`. Without an explicit
    /// [`groups`](Self::groups) list, the supplementary groups are dropped
    /// first (`setgroups(0)`, an `EPERM` ignored), as std does, so that a
    /// child of root keeps none of root's groups.
    ///
    /// With [`uid`](Self::uid), [`gid`](Self::gid) or
    /// [`groups`](Self::groups), the child is created fork-like (its own
    /// copy of memory) whatever the [`Strategy`](crate::Strategy) says, as
    /// std stops using `posix_spawn` for them: the kernel marks the memory of
    /// a process whose ids change as not dumpable, and a vfork-like child
    /// shares the parent's, which would leave the parent without core dumps
    /// and with root-owned `/proc` files.
    ///
    /// # Errors
    ///
    /// At spawn: `Exec { stage: Credentials, errno: EPERM }` without
    /// `CAP_SETUID` (unless `id` is the caller's real or saved uid).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, ExecStage, Errno, Error};
    /// // SAFETY: getuid has no preconditions and cannot fail.
    /// let me = unsafe { libc::getuid() };
    /// let out = Exec::new("id").arg("-u").uid(me).output()?;
    /// assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), me.to_string());
    /// if me != 0 {
    ///     let err = Exec::new("true").uid(0).spawn().unwrap_err();
    ///     assert!(matches!(err, Error::Exec { stage: ExecStage::Credentials, errno: Errno::EPERM, .. }));
    /// }
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [setuid(2)](https://man7.org/linux/man-pages/man2/setuid.2.html)
    pub fn uid(&mut self, id: u32) -> &mut Self {
        self.settings().uid = Some(id);
        self
    }

    /// Sets the child's group id (`setgid` in the child, after the groups,
    /// before the uid), as `CommandExt::gid`; the supplementary groups are
    /// dropped first unless [`groups`](Self::groups) set them.
    ///
    /// # Errors
    ///
    /// At spawn: `Exec { stage: Credentials, errno: EPERM }` without
    /// `CAP_SETGID` (unless `id` is the caller's real or saved gid).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::Exec;
    /// // SAFETY: getgid has no preconditions and cannot fail.
    /// let me = unsafe { libc::getgid() };
    /// let out = Exec::new("id").arg("-g").gid(me).output()?;
    /// assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), me.to_string());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [setgid(2)](https://man7.org/linux/man-pages/man2/setgid.2.html)
    pub fn gid(&mut self, id: u32) -> &mut Self {
        self.settings().gid = Some(id);
        self
    }

    /// Sets the child's supplementary groups (`setgroups` in the child,
    /// first of the three id steps: groups, gid, uid, in std's order), as
    /// std's unstable `CommandExt::groups`. An empty slice drops them all.
    ///
    /// # Errors
    ///
    /// At spawn: `Exec { stage: Groups, errno: EPERM }` without
    /// `CAP_SETGID`, or in a user namespace whose `setgroups` is `deny`
    /// (an unprivileged [`gid_map`](Self::gid_map) needs that).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, ExecStage};
    /// match Exec::new("id").arg("-G").groups(&[0, 1, 2]).output() {
    ///     Ok(out) => assert_eq!(out.stdout, b"0 1 2\n"), // as root
    ///     Err(err) => assert!(matches!(err, clonekit::Error::Exec { stage: ExecStage::Groups, .. })),
    /// }
    /// ```
    ///
    /// # References
    /// - [setgroups(2)](https://man7.org/linux/man-pages/man2/setgroups.2.html)
    pub fn groups(&mut self, groups: &[u32]) -> &mut Self {
        self.settings().groups = Some(groups.to_vec());
        self
    }

    /// Schedules a closure to run in the child just before `execve`, after
    /// every step of the crate's own (fds, ids, working directory, limits,
    /// signal mask), as `CommandExt::pre_exec`. Several hooks run in the
    /// order they were added; the first that fails stops the spawn.
    ///
    /// With a hook, the child is always created fork-like, with its own copy
    /// of memory, whatever the [`Strategy`](crate::Strategy) says (as std
    /// does when a hook is set): a vfork-like child shares the parent's
    /// memory and may not allocate nor take a lock, which arbitrary code
    /// cannot promise.
    ///
    /// # Safety
    ///
    /// As for std's `pre_exec`: the closure runs in a forked copy of a
    /// possibly multi-threaded process, where only async-signal-safe work is
    /// sound: no allocation, no lock (another thread may have held it when
    /// the process forked, and will never release it here), no access to
    /// anything another thread was changing. It must not rely on thread-local
    /// state being sound beyond its own thread, and what it changes (fds,
    /// memory) is the child's, not the parent's. It must not close or replace
    /// fds the crate placed. A panic in the hook is caught and ends the
    /// child (`PreExec`, `EINVAL`), but the panic machinery runs first and
    /// allocates and takes std's locks (the panic hook's backtrace lock):
    /// if another thread held one when the child was forked, the child, and
    /// the spawn waiting for it, block forever (std's child aborts before
    /// its panic hook, through the unstable `panic::always_abort`). Do not
    /// panic.
    ///
    /// # Errors
    ///
    /// At spawn: `Exec { stage: PreExec, errno }` when the hook returns an
    /// error: its `raw_os_error()`, or `EINVAL` when it has none (an error
    /// built from a kind or a message), or when the hook panicked. The error
    /// value is not dropped in the child (leaked: freeing it could take the
    /// allocator's lock).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use clonekit::{Errno, Error, Exec, ExecStage};
    /// let mut exec = Exec::new("true");
    /// // SAFETY: the hook only returns a value: async-signal-safe.
    /// unsafe { exec.pre_exec(|| Err(io::Error::from_raw_os_error(libc::EPERM))) };
    /// let err = exec.spawn().unwrap_err();
    /// assert!(matches!(err, Error::Exec { stage: ExecStage::PreExec, errno: Errno::EPERM, .. }));
    /// ```
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Self
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        self.hooks.push(Box::new(f));
        self
    }

    /// The `uid_map` of the child's new user namespace (needs
    /// [`CloneFlags::NEWUSER`] in [`namespaces`](Self::namespaces)), written
    /// by the parent to `/proc/<pid>/uid_map` while the child waits, as
    /// [`CloneBuilder::uid_map`](crate::CloneBuilder::uid_map) does, before
    /// any other step of the child.
    ///
    /// The child cannot wait for its parent while the parent is suspended in
    /// a `CLONE_VFORK` clone, so with maps the child is created fork-like
    /// (its own copy of memory, no `CLONE_VFORK`) whatever the
    /// [`Strategy`](crate::Strategy) says: it blocks on a socket until the
    /// parent has written the maps, and reports a later failure through the
    /// error pipe as [`Strategy::Fork`](crate::Strategy::Fork) does.
    ///
    /// A map does not change the child's ids: mapping 0 to the caller's own
    /// uid makes the child root inside. An unprivileged caller may map only
    /// its own uid, in one line; its `gid_map` is accepted only once
    /// `/proc/<pid>/setgroups` is `deny`, which is then written (as
    /// [`Setgroups::Auto`](crate::Setgroups::Auto) does), and
    /// [`groups`](Self::groups) fails in the child.
    ///
    /// # Errors
    ///
    /// At spawn: `Conflict` with [`Rule::IdMapsWithoutNewuser`] without
    /// `NEWUSER`, nothing created; `Exec { stage: IdMaps, errno }` when the
    /// kernel refuses a map (`EPERM` for an id the caller may not map,
    /// `EINVAL` for overlapping lines); the child has been killed and reaped.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneFlags, Exec, IdMap};
    /// // SAFETY: getuid and getgid have no preconditions and cannot fail.
    /// let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    /// let mut exec = Exec::new("id");
    /// exec.args(["-u"]).namespaces(CloneFlags::NEWUSER);
    /// exec.uid_map(&[IdMap::single(0, uid)]).gid_map(&[IdMap::single(0, gid)]);
    /// match exec.output() {
    ///     Ok(out) => assert_eq!(out.stdout, b"0\n"),
    ///     Err(err) => println!("user namespaces are not allowed here: {err}"),
    /// }
    /// ```
    ///
    /// # References
    /// - [user_namespaces(7)](https://man7.org/linux/man-pages/man7/user_namespaces.7.html)
    pub fn uid_map(&mut self, maps: &[IdMap]) -> &mut Self {
        self.settings().uid_map = Some(maps.to_vec());
        self
    }

    /// The `gid_map` of the child's new user namespace, written like
    /// [`uid_map`](Self::uid_map) (after `setgroups` when needed).
    ///
    /// # Errors
    ///
    /// As for [`uid_map`](Self::uid_map).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneFlags, Exec, IdMap};
    /// // SAFETY: getgid has no preconditions and cannot fail.
    /// let gid = unsafe { libc::getgid() };
    /// let mut exec = Exec::new("id");
    /// exec.arg("-g").namespaces(CloneFlags::NEWUSER).gid_map(&[IdMap::single(0, gid)]);
    /// match exec.output() {
    ///     Ok(out) => assert_eq!(out.stdout, b"0\n"),
    ///     Err(err) => println!("user namespaces are not allowed here: {err}"),
    /// }
    /// ```
    ///
    /// # References
    /// - [user_namespaces(7)](https://man7.org/linux/man-pages/man7/user_namespaces.7.html)
    pub fn gid_map(&mut self, maps: &[IdMap]) -> &mut Self {
        self.settings().gid_map = Some(maps.to_vec());
        self
    }

    /// Sets the host name of the child's new UTS namespace (needs
    /// [`CloneFlags::NEWUTS`] in [`namespaces`](Self::namespaces);
    /// `sethostname` in the child, before its ids change).
    ///
    /// # Errors
    ///
    /// At spawn, before anything is created: `Conflict` with
    /// [`Rule::HostnameWithoutNewuts`] without `NEWUTS` (it would rename the
    /// host), with [`Rule::HostnameTooLong`] for a name longer than the
    /// kernel's 64 bytes; [`Error::Nul`] for a name with a NUL byte (the
    /// kernel would keep only what comes before it).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneFlags, Exec};
    /// let mut exec = Exec::new("cat");
    /// exec.arg("/proc/sys/kernel/hostname").namespaces(CloneFlags::NEWUTS).hostname("box");
    /// match exec.output() {
    ///     Ok(out) => assert_eq!(out.stdout, b"box\n"),
    ///     Err(err) => assert_eq!(err.errno(), Some(clonekit::Errno::EPERM)), // not root
    /// }
    /// ```
    ///
    /// # References
    /// - [sethostname(2)](https://man7.org/linux/man-pages/man2/sethostname.2.html),
    ///   [uts_namespaces(7)](https://man7.org/linux/man-pages/man7/uts_namespaces.7.html)
    pub fn hostname(&mut self, name: impl AsRef<OsStr>) -> &mut Self {
        self.settings().hostname = Some(name.as_ref().to_owned());
        self
    }

    /// Sets one resource limit of the child (`prlimit` in the child, before
    /// its ids change, so that a privileged caller may raise a hard limit);
    /// `u64::MAX` is unlimited. Setting the same resource again replaces it.
    ///
    /// # Errors
    ///
    /// At spawn: `Conflict` with [`Rule::RlimitSoftAboveHard`] when `soft >
    /// hard`, before anything is created (`u64::MAX`, unlimited, as `hard`
    /// allows any `soft`); `Exec { stage: Rlimit, errno: EPERM }` when
    /// `hard` is above the current hard limit without `CAP_SYS_RESOURCE`.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Error, Exec, Resource, Rule};
    /// let out = Exec::new("sh").args(["-c", "ulimit -n"]).rlimit(Resource::NoFile, 32, 32).output()?;
    /// assert_eq!(out.stdout, b"32\n");
    /// let err = Exec::new("true").rlimit(Resource::NoFile, 2, 1).spawn().unwrap_err();
    /// assert!(matches!(err, Error::Conflict(c) if c.rule() == Rule::RlimitSoftAboveHard));
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [prlimit(2)](https://man7.org/linux/man-pages/man2/prlimit.2.html)
    pub fn rlimit(&mut self, resource: Resource, soft: u64, hard: u64) -> &mut Self {
        let rlimits = &mut self.settings().rlimits;
        rlimits.retain(|&(set, _, _)| set != resource);
        rlimits.push((resource, soft, hard));
        self
    }

    /// Sets the child's file mode creation mask (`umask` in the child, which
    /// cannot fail; only the low nine bits count).
    ///
    /// # Examples
    ///
    /// ```
    /// let out = clonekit::Exec::new("sh").args(["-c", "umask"]).umask(0o077).output()?;
    /// assert_eq!(out.stdout, b"0077\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [umask(2)](https://man7.org/linux/man-pages/man2/umask.2.html)
    pub fn umask(&mut self, mask: u32) -> &mut Self {
        self.settings().umask = Some(mask);
        self
    }

    /// Sets `no_new_privs` in the child (`prctl(PR_SET_NO_NEW_PRIVS)`): its
    /// program and their children gain no privilege by `execve`
    /// (set-user-ID bits and file capabilities are ignored); needed to
    /// install a seccomp filter without `CAP_SYS_ADMIN`. Where the child is
    /// made by clone3 on Linux 7.1 or later, the clone sets it
    /// (`CLONE_NNP`), at creation; elsewhere the child sets it, after its
    /// ids and before the `pre_exec` hooks.
    ///
    /// # Errors
    ///
    /// At spawn: `Exec { stage: NoNewPrivs, errno }` (`EINVAL` before Linux 3.5).
    /// With [`exec`](Exec::exec): `Unsupported` with
    /// [`NO_NEW_PRIVS_THREADS`](crate::NO_NEW_PRIVS_THREADS) in a process
    /// with other threads (the `prctl` would set it for one thread only).
    ///
    /// # Examples
    ///
    /// ```
    /// let out = clonekit::Exec::new("grep").args(["NoNewPrivs", "/proc/self/status"]).no_new_privs(true).output()?;
    /// assert_eq!(out.stdout, b"NoNewPrivs:\t1\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [PR_SET_NO_NEW_PRIVS(2const)](https://man7.org/linux/man-pages/man2/PR_SET_NO_NEW_PRIVS.2const.html)
    pub fn no_new_privs(&mut self, on: bool) -> &mut Self {
        self.settings().no_new_privs = on;
        self
    }

    /// Makes `dir` the child's root directory (`chroot`, then `chdir("/")`
    /// so that the old root cannot be reached through the working
    /// directory; needs `CAP_SYS_CHROOT`, before the ids change). The
    /// working directory of [`current_dir`](Self::current_dir) and the
    /// program's path are then looked up inside the new root.
    ///
    /// # Errors
    ///
    /// At spawn: `Exec { stage: Root, errno }`: `ENOENT` for a missing
    /// directory, `EPERM` without the privilege.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Errno, Error, Exec, ExecStage};
    /// let err = Exec::new("/bin/true").chroot("/nonexistent").spawn().unwrap_err();
    /// assert!(matches!(err, Error::Exec { stage: ExecStage::Root, errno: Errno::ENOENT | Errno::EPERM, .. }));
    /// ```
    ///
    /// # References
    /// - [chroot(2)](https://man7.org/linux/man-pages/man2/chroot.2.html)
    pub fn chroot(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.settings().root = Some(dir.as_ref().to_owned());
        self
    }

    /// Refuses, before anything is created, an option the kernel would
    /// refuse in the child or get silently wrong: flags that are not
    /// namespaces, an option that needs a namespace which was not asked
    /// for, a host name with a NUL or too long, a soft limit above its hard one.
    pub(super) fn check_options(&self) -> Result<()> {
        let settings = &self.settings;
        let hostname = settings.hostname.as_ref().map(|name| name.as_bytes());
        if hostname.is_some_and(|name| name.contains(&0)) {
            return Err(Error::Nul);
        }
        let has = |flag| self.namespaces.contains(flag);
        let maps = settings.uid_map.is_some() || settings.gid_map.is_some();
        let rule = [
            (
                !(self.namespaces - CloneFlags::NAMESPACES).is_empty(),
                Rule::NotANamespace,
            ),
            (maps && !has(CloneFlags::NEWUSER), Rule::IdMapsWithoutNewuser),
            (
                hostname.is_some() && !has(CloneFlags::NEWUTS),
                Rule::HostnameWithoutNewuts,
            ),
            (
                hostname.is_some_and(|name| name.len() > HOST_NAME_MAX),
                Rule::HostnameTooLong,
            ),
            (
                settings.rlimits.iter().any(|&(_, soft, hard)| soft > hard),
                Rule::RlimitSoftAboveHard,
            ),
        ]
        .into_iter()
        .find_map(|(broken, rule)| broken.then_some(rule));
        match rule {
            Some(rule) => Err(Error::Conflict(Conflict::new(rule, self.namespaces))),
            None => StepSettings::check(settings, self.namespaces),
        }
    }

    /// Whether the child must have its own copy of memory: it waits for its
    /// maps, runs user code (see [`pre_exec`](Self::pre_exec)), or changes
    /// its ids (see [`uid`](Self::uid)).
    pub(super) fn needs_fork(&self) -> bool {
        let settings = &self.settings;
        let ids = settings.uid.is_some() || settings.gid.is_some() || settings.groups.is_some();
        let maps = settings.uid_map.is_some() || settings.gid_map.is_some();
        ids || maps || !self.hooks.is_empty() || settings.steps.needs_fork()
    }
}
