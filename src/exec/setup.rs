//! How [`Exec`](crate::Exec) sets the child up before `execve`: placed fds, session and
//! process group, signal mask and dispositions, the death signal, the fds
//! closed, namespaces, cgroup, pidfd, and the strategy that creates it.

use std::os::fd::{OwnedFd, RawFd};

use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;

use super::plan::STDIO_SLOTS;
use super::{Exec, Stdio, Strategy};
use crate::flags::CloneFlags;

impl Exec {
    /// Places `fd` at number `child_fd` in the child, without `FD_CLOEXEC`
    /// (`dup3` in the child, or clearing the flag if the numbers are equal).
    /// Mappings may cross (3->4 and 4->3 at once). `child_fd` 0, 1 or 2 is
    /// the same as [`Stdio::Fd`](crate::Stdio::Fd) for that stream; a second `fd` for the same
    /// number replaces the first. The `Exec` keeps `fd` for every spawn.
    ///
    /// # Errors
    ///
    /// At spawn: `Sys { call: "dup3", errno: EBADF }` for a negative
    /// `child_fd`, `Exec { stage: Fds, .. }` if the kernel refuses the number.
    /// With [`exec`](Exec::exec): `Unsupported` with
    /// [`FD_TARGET_OPEN`](crate::FD_TARGET_OPEN) if `child_fd` (above 2) is
    /// open in this process and is not one of this `Exec`'s own fds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use clonekit::Exec;
    /// let (reader, writer) = clonekit::raw::pipe2(libc::O_CLOEXEC)?;
    /// let mut reader = std::fs::File::from(reader);
    /// let mut child = Exec::new("sh").args(["-c", "echo via 5 >&5"]).fd(5, writer).spawn()?;
    /// child.wait()?;
    /// drop(child); // nothing else holds the write end: read to the end
    /// let mut got = String::new();
    /// reader.read_to_string(&mut got)?;
    /// assert_eq!(got, "via 5\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # References
    /// - [dup3(2)](https://man7.org/linux/man-pages/man2/dup3.2.html)
    pub fn fd(&mut self, child_fd: RawFd, fd: OwnedFd) -> &mut Self {
        if (0..STDIO_SLOTS as RawFd).contains(&child_fd) {
            self.stdio[child_fd as usize] = Some(Stdio::Fd(fd));
            return self;
        }
        let fds = &mut self.settings().fds;
        fds.retain(|(dst, _)| *dst != child_fd);
        fds.push((child_fd, fd));
        self
    }

    /// Makes the child the leader of a new session (`setsid` in the child).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(clonekit::Exec::new("true").setsid(true).status()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [setsid(2)](https://man7.org/linux/man-pages/man2/setsid.2.html)
    pub fn setsid(&mut self, on: bool) -> &mut Self {
        self.settings().setsid = on;
        self
    }

    /// Moves the child into process group `group` (`setpgid(0, group)` in the
    /// child); `Pid::from_raw(0)` makes a new group led by the child.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Pid};
    /// assert!(Exec::new("true").process_group(Pid::from_raw(0)).status()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [setpgid(2)](https://man7.org/linux/man-pages/man2/setpgid.2.html)
    pub fn process_group(&mut self, group: Pid) -> &mut Self {
        self.settings().process_group = Some(group);
        self
    }

    /// Sets the child's signal mask (which execve keeps). Without it the
    /// child gets the mask the spawning thread had.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Signal};
    /// use clonekit::SigSet;
    /// let mut mask = SigSet::empty();
    /// mask.add(Signal::SIGUSR1);
    /// assert!(Exec::new("true").sigmask(mask).status()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [sigprocmask(2)](https://man7.org/linux/man-pages/man2/sigprocmask.2.html)
    pub fn sigmask(&mut self, mask: SigSet) -> &mut Self {
        self.settings().sigmask = Some(mask);
        self
    }

    /// Whether the child gets `SIGPIPE` back at its default action (`SIG_DFL`,
    /// which ends a program that writes to a pipe nobody reads): `true` by
    /// default, as with `std::process::Command`.
    ///
    /// The Rust runtime ignores `SIGPIPE`, so that a write to a closed pipe
    /// fails with `EPIPE` instead, and execve keeps an ignored signal
    /// ignored; most programs expect the default (`yes | head -1` counts on
    /// `yes` dying of it quietly). With `false` the child keeps the
    /// parent's disposition of `SIGPIPE`. Other ignored signals stay ignored
    /// either way.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::Exec;
    /// let out = Exec::new("sh").args(["-c", "yes | head -1"]).output()?;
    /// assert_eq!((out.stdout.as_slice(), out.stderr.as_slice()), (&b"y\n"[..], &b""[..]));
    ///
    /// // Kept ignored (as this Rust program has it): SIGPIPE, signal 13, is
    /// // in the child's mask of ignored signals.
    /// let out = Exec::new("grep").args(["SigIgn", "/proc/self/status"]).reset_sigpipe(false).output()?;
    /// let mask = String::from_utf8_lossy(&out.stdout).split_whitespace().nth(1).unwrap().to_owned();
    /// assert_ne!(u64::from_str_radix(&mask, 16)? & 1 << (libc::SIGPIPE - 1), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # References
    /// - [signal(7)](https://man7.org/linux/man-pages/man7/signal.7.html),
    ///   [pipe(7)](https://man7.org/linux/man-pages/man7/pipe.7.html)
    pub fn reset_sigpipe(&mut self, on: bool) -> &mut Self {
        self.settings().keep_sigpipe = !on;
        self
    }

    /// Sends `sig` to the child when the thread that spawned it exits
    /// (`prctl(PR_SET_PDEATHSIG)`; note: the *thread*, not the process). If
    /// the parent is already gone when the child sets it, the child signals
    /// itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Signal};
    /// assert!(Exec::new("true").death_signal(Signal::SIGKILL).status()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [PR_SET_PDEATHSIG(2const)](https://man7.org/linux/man-pages/man2/PR_SET_PDEATHSIG.2const.html)
    pub fn death_signal(&mut self, sig: Signal) -> &mut Self {
        self.settings().death_signal = Some(sig);
        self
    }

    /// Closes every fd in the child except 0, 1, 2 and the placed ones
    /// (`close_range`, or a close loop before Linux 5.9). With
    /// [`exec`](Exec::exec), which runs in this process, they are marked
    /// close-on-exec instead, so that a failed exec closes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = clonekit::Exec::new("ls").arg("/proc/self/fd").close_other_fds(true).output()?;
    /// // 0, 1, 2, and the directory ls reads.
    /// assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [close_range(2)](https://man7.org/linux/man-pages/man2/close_range.2.html)
    pub fn close_other_fds(&mut self, on: bool) -> &mut Self {
        self.settings().close_other_fds = on;
        self
    }

    /// Creates the child in new namespaces: the `CLONE_NEW*` flags in
    /// `namespaces` are passed straight into the clone flags. Most need
    /// `CAP_SYS_ADMIN`; `NEWTIME` needs clone3.
    ///
    /// # Errors
    ///
    /// At spawn, before anything is created: `Conflict` with
    /// [`Rule::NotANamespace`](crate::Rule::NotANamespace) for any flag that
    /// is not a `CLONE_NEW*` namespace (sharing flags such as `CLONE_VM`
    /// belong to [`CloneBuilder`](crate::CloneBuilder): the child `Exec`
    /// makes is its own). Then `Unsupported` with [`Strategy::Vfork`](crate::Strategy::Vfork) (vfork takes no
    /// flags) or, for `NEWTIME`, where clone3 is missing; `Sys { call:
    /// "clone3" | "clone" | "fork" }` with the kernel's answer (`EPERM`
    /// without privilege, with a `detail` that names the flag).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneFlags, Exec};
    /// match Exec::new("true").namespaces(CloneFlags::NEWUTS).status() {
    ///     Ok(status) => assert!(status.success()),
    ///     Err(err) => assert_eq!(err.errno(), Some(clonekit::Errno::EPERM)), // not root
    /// }
    /// ```
    ///
    /// # References
    /// - [namespaces(7)](https://man7.org/linux/man-pages/man7/namespaces.7.html),
    ///   [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html)
    pub fn namespaces(&mut self, namespaces: CloneFlags) -> &mut Self {
        // Kept as given: spawn refuses what is not a namespace (`check_options`).
        self.namespaces = namespaces;
        self
    }

    /// Starts the child in the cgroup (v2) whose directory `dir` is
    /// (`CLONE_INTO_CGROUP`, clone3 only).
    ///
    /// # Errors
    ///
    /// At spawn: `Unsupported` with [`Strategy::Vfork`](crate::Strategy::Vfork) or where clone3 is
    /// missing; `Sys` whose `detail` says why the kernel refused otherwise
    /// (`EBUSY`, `EOPNOTSUPP`, `EACCES`, `EBADF` each have their reason).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use clonekit::Exec;
    /// let dir = std::fs::File::open("/sys/fs/cgroup/my-group")?;
    /// Exec::new("true").cgroup(dir.into()).status()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # References
    /// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html) (`CLONE_INTO_CGROUP`),
    ///   [cgroups(7)](https://man7.org/linux/man-pages/man7/cgroups.7.html)
    pub fn cgroup(&mut self, dir: OwnedFd) -> &mut Self {
        self.cgroup = Some(dir);
        self
    }

    /// Asks for a pidfd for the child ([`Child::pidfd`](crate::Child::pidfd)), made atomically
    /// with it by `CLONE_PIDFD` in every strategy (never by `pidfd_open`
    /// afterwards, which could name a process that reused the pid of a child
    /// the kernel reaped at once because `SIGCHLD` is ignored). With a pidfd,
    /// [`Child::kill`](crate::Child::kill) can never reach another process.
    ///
    /// # Errors
    ///
    /// At spawn: `Unsupported` on a kernel before 5.2, which ignores
    /// `CLONE_PIDFD` (the child is killed and reaped).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = clonekit::Exec::new("true").pidfd(true).spawn()?;
    /// assert!(child.pidfd().is_some());
    /// child.wait()?;
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
    pub fn pidfd(&mut self, on: bool) -> &mut Self {
        self.pidfd = on;
        self
    }

    /// Lets the kernel reap the child when it ends (`CLONE_AUTOREAP`, Linux
    /// 7.1): it never becomes a zombie, even when its handle is dropped or
    /// leaked unwaited, and it sends no `SIGCHLD`. The handle still knows it
    /// through its pidfd: [`wait`](crate::ExecChild::wait) returns when it
    /// ends, with its exit status from the pidfd (`PIDFD_INFO_EXIT`).
    ///
    /// # Errors
    ///
    /// At spawn: `Unsupported` naming Linux 7.1 on a kernel without it, and
    /// with [`Strategy::Vfork`](crate::Strategy::Vfork) (the vfork call
    /// takes no flags).
    ///
    /// # Examples
    ///
    /// ```
    /// match clonekit::Exec::new("true").autoreap(true).spawn() {
    ///     Ok(child) => drop(child), // no zombie is left behind
    ///     Err(clonekit::Error::Unsupported { feature, .. }) => println!("{feature}: not here"),
    ///     Err(err) => return Err(err),
    /// }
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html)
    pub fn autoreap(&mut self, on: bool) -> &mut Self {
        self.lifetime.set(CloneFlags::AUTOREAP, on);
        if !on {
            self.lifetime.remove(CloneFlags::PIDFD_AUTOKILL);
        }
        self
    }

    /// Ties the child to its handle (`CLONE_PIDFD_AUTOKILL`, Linux 7.1): the
    /// kernel kills it with `SIGKILL` when the pidfd made with it is closed
    /// for the last time: when the [`ExecChild`](crate::ExecChild) is
    /// dropped, and when this process dies however it dies (`SIGKILL`, an
    /// abort, `exit` without unwinding), whichever thread spawned it.
    /// Implies [`autoreap`](Exec::autoreap), which the kernel requires.
    ///
    /// How it differs from the others:
    /// - [`death_signal`](Exec::death_signal) fires when the *thread* that
    ///   spawned the child ends, not the process (a child spawned from a
    ///   short-lived thread dies with it), and is cleared when the child
    ///   runs a set-user-ID program;
    /// - [`kill_on_drop`](Exec::kill_on_drop) needs the handle's `Drop` to
    ///   run: not after `SIGKILL`, an abort, `mem::forget` or `exit`.
    ///
    /// The pidfd is the handle's own: [`take_pidfd`](crate::ExecChild::take_pidfd)
    /// hands the child's life over with it, and a copy of it (`dup`, or a
    /// fork of this process before it execs) keeps the child alive as long
    /// as it is open.
    ///
    /// # Errors
    ///
    /// At spawn: `Unsupported` naming Linux 7.1 on a kernel without it, and
    /// with [`Strategy::Vfork`](crate::Strategy::Vfork); `Sys { errno:
    /// EPERM }` with a detail that says so for a caller without
    /// `CAP_SYS_ADMIN`, unless [`no_new_privs`](Exec::no_new_privs) is set
    /// too (the kernel's rule: the child could otherwise gain privileges);
    /// `EMFILE` when no fd is free for the pidfd.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut exec = clonekit::Exec::new("sleep");
    /// exec.arg("100").autokill(true).no_new_privs(true);
    /// match exec.spawn() {
    ///     Ok(child) => drop(child), // the kernel kills sleep now
    ///     Err(clonekit::Error::Unsupported { feature, .. }) => println!("{feature}: not here"),
    ///     Err(err) => return Err(err),
    /// }
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html)
    pub fn autokill(&mut self, on: bool) -> &mut Self {
        self.lifetime.set(CloneFlags::PIDFD_AUTOKILL, on);
        if on {
            self.lifetime.insert(CloneFlags::AUTOREAP);
        }
        self
    }

    /// Chooses how the child is created (default [`Strategy::CloneVfork`](crate::Strategy::CloneVfork)).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Strategy};
    /// assert!(Exec::new("true").strategy(Strategy::Fork).status()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn strategy(&mut self, strategy: Strategy) -> &mut Self {
        self.strategy = strategy;
        self
    }
}
