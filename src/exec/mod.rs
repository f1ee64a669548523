//! [`Exec`]: the guarded vfork-then-exec helper, as safe as
//! `std::process::Command` and as cheap as `posix_spawn`.
//!
//! - `plan.rs` builds, in the parent, everything the child needs, and caches it;
//! - `child.rs` is the child's program, raw system calls only;
//! - `output.rs` reads a child's stdout and stderr at once, on one thread;
//! - this file holds the builder users see, the three ways of creating the
//!   child ([`Strategy`]), the stack cache and the stdio plumbing.

mod child;
mod output;
mod plan;

use std::ffi::{c_int, c_void, OsStr};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::process::{Command, ExitStatus, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;

use self::plan::{Plan, Settings, STDIO_SLOTS};
use crate::builder::{clone3_error, clone_error, take_pidfd};
use crate::child::Child;
use crate::error::{Error, ExecStage, Result};
use crate::flags::CloneFlags;
use crate::stack::Stack;
use crate::{probe, raw};

/// What a child's stdin, stdout or stderr is connected to.
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Stdio};
/// let out = Exec::new("echo").arg("hi").stdout(Stdio::Piped).output()?;
/// assert_eq!(out.stdout, b"hi\n");
/// # Ok::<(), clonekit::Error>(())
/// ```
#[derive(Debug)]
pub enum Stdio {
    /// The parent's own fd of that number (the default for
    /// [`spawn`](Exec::spawn) and [`status`](Exec::status)).
    Inherit,
    /// `/dev/null`, opened for each spawn (read-only for stdin, write-only
    /// for stdout and stderr).
    Null,
    /// A new pipe for each spawn; the parent's end is in [`ExecChild`].
    Piped,
    /// This fd (kept by the `Exec`, so usable for every spawn).
    Fd(OwnedFd),
}

impl From<OwnedFd> for Stdio {
    fn from(fd: OwnedFd) -> Stdio {
        Stdio::Fd(fd)
    }
}

impl From<File> for Stdio {
    fn from(file: File) -> Stdio {
        Stdio::Fd(file.into())
    }
}

/// How [`Exec`] creates the child. All three run the same child program and
/// pass the same tests; they differ in cost and in what the kernel must offer.
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Strategy};
/// for strategy in [Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork] {
///     assert!(Exec::new("true").strategy(strategy).status()?.success());
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html),
///   [vfork(2)](https://man7.org/linux/man-pages/man2/vfork.2.html),
///   [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// `clone3(CLONE_VM | CLONE_VFORK | CLONE_CLEAR_SIGHAND [| CLONE_PIDFD]
    /// [| CLONE_INTO_CGROUP] [| namespaces])` on a cached stack: no page
    /// tables are copied and the kernel resets the handlers. Falls back to
    /// legacy `clone` (resetting handlers by hand) where clone3 is absent or
    /// refused by a seccomp filter.
    #[default]
    CloneVfork,
    /// The `vfork` system call, the child moved to a cached stack at once.
    /// Takes no flags: namespaces and a cgroup are refused. With a pidfd, or
    /// where vfork is refused (a seccomp filter), the same child is made by
    /// `clone(CLONE_VM | CLONE_VFORK [| CLONE_PIDFD])`.
    Vfork,
    /// The `fork` system call (`clone` or `clone3` with namespaces, a cgroup
    /// or a pidfd): the child has a copy of memory, so it reports a failure over
    /// an `O_CLOEXEC` pipe. Slowest (page tables are copied), but needs
    /// nothing from the kernel that fork does not.
    Fork,
}

/// A program to run, built like `std::process::Command` and spawned with a
/// vfork-like clone whose child runs only raw system calls prepared here.
///
/// Everything the child needs (argv, envp, the PATH candidates, the fd
/// moves, the signal mask) is built when [`spawn`](Exec::spawn) first runs
/// and kept: spawning an unchanged `Exec` again allocates nothing. So the
/// parent's PATH (for the program search), and its environment when this
/// `Exec` changes it, are read when that plan is built; an unchanged
/// environment is passed as it is at each spawn.
///
/// Defaults: the parent's environment and working directory, stdio
/// inherited, no fds placed (fds without `FD_CLOEXEC` are inherited as
/// usual), no new session or group, the parent's signal mask, handlers
/// reset and ignored signals left ignored except `SIGPIPE`, which is back at
/// its default action as with `std::process::Command` (see
/// [`reset_sigpipe`](Exec::reset_sigpipe)), no death signal, no namespaces,
/// no pidfd, [`Strategy::CloneVfork`].
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Stdio};
/// let mut exec = Exec::new("sh");
/// exec.args(["-c", "echo $GREETING from $PWD"]).env("GREETING", "hello").current_dir("/");
/// let out = exec.output()?;
/// assert_eq!(out.stdout, b"hello from /\n");
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [execve(2)](https://man7.org/linux/man-pages/man2/execve.2.html),
///   [posix_spawn(3)](https://man7.org/linux/man-pages/man3/posix_spawn.3.html)
pub struct Exec {
    settings: Settings,
    stdio: [Option<Stdio>; STDIO_SLOTS],
    namespaces: CloneFlags,
    cgroup: Option<OwnedFd>,
    pidfd: bool,
    strategy: Strategy,
    /// The cached plan; `None` when a setter changed what it holds.
    plan: Option<Plan>,
}

impl Exec {
    /// A new `Exec` for `program`: a path if it holds a `/`, else a name
    /// looked up in PATH. It is also the child's `argv[0]`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(clonekit::Exec::new("true").status()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn new(program: impl AsRef<OsStr>) -> Exec {
        Exec {
            settings: Settings {
                program: program.as_ref().to_owned(),
                ..Settings::default()
            },
            stdio: [None, None, None],
            namespaces: CloneFlags::empty(),
            cgroup: None,
            pidfd: false,
            strategy: Strategy::default(),
            plan: None,
        }
    }

    /// The settings the plan is built from; the plan is rebuilt at the next spawn.
    fn settings(&mut self) -> &mut Settings {
        self.plan = None;
        &mut self.settings
    }

    /// Adds an argument.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = clonekit::Exec::new("echo").arg("a b").output()?;
    /// assert_eq!(out.stdout, b"a b\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.settings().args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = clonekit::Exec::new("echo").args(["a", "b"]).output()?;
    /// assert_eq!(out.stdout, b"a b\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let settings = self.settings();
        settings
            .args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = clonekit::Exec::new("sh").args(["-c", "echo $X"]).env("X", "1").output()?;
    /// assert_eq!(out.stdout, b"1\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        let (key, value) = (key.as_ref().to_owned(), value.as_ref().to_owned());
        self.settings().env.vars.insert(key, Some(value));
        self
    }

    /// Sets several environment variables for the child.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = clonekit::Exec::new("sh").args(["-c", "echo $X$Y"]).envs([("X", "1"), ("Y", "2")]).output()?;
    /// assert_eq!(out.stdout, b"12\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (key, value) in vars {
            self.env(key, value);
        }
        self
    }

    /// Removes an environment variable from the child's environment.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = clonekit::Exec::new("sh").args(["-c", "echo ${HOME-unset}"]).env_remove("HOME").output()?;
    /// assert_eq!(out.stdout, b"unset\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        self.settings().env.vars.insert(key.as_ref().to_owned(), None);
        self
    }

    /// Starts the child's environment empty (variables set afterwards are kept).
    ///
    /// # Examples
    ///
    /// ```
    /// let out = clonekit::Exec::new("/usr/bin/env").env_clear().env("ONLY", "me").output()?;
    /// assert_eq!(out.stdout, b"ONLY=me\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn env_clear(&mut self) -> &mut Self {
        let env = &mut self.settings().env;
        env.clear = true;
        env.vars.clear();
        self
    }

    /// Sets the child's working directory (`chdir` in the child, after the fds
    /// are placed). A relative program path is resolved after it, as by execve.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = clonekit::Exec::new("pwd").current_dir("/tmp").output()?;
    /// assert_eq!(out.stdout, b"/tmp\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [chdir(2)](https://man7.org/linux/man-pages/man2/chdir.2.html)
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.settings().cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Sets the child's stdin.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use clonekit::{Exec, Stdio};
    /// let mut child = Exec::new("cat").stdin(Stdio::Piped).stdout(Stdio::Piped).spawn()?;
    /// child.stdin.take().unwrap().write_all(b"through")?;
    /// let out = child.wait_with_output()?;
    /// assert_eq!(out.stdout, b"through");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stdin(&mut self, stdio: impl Into<Stdio>) -> &mut Self {
        self.stdio[0] = Some(stdio.into());
        self
    }

    /// Sets the child's stdout.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Stdio};
    /// assert!(Exec::new("echo").stdout(Stdio::Null).status()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn stdout(&mut self, stdio: impl Into<Stdio>) -> &mut Self {
        self.stdio[1] = Some(stdio.into());
        self
    }

    /// Sets the child's stderr.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Stdio};
    /// let out = Exec::new("sh").args(["-c", "echo oops >&2"]).stderr(Stdio::Piped).output()?;
    /// assert_eq!(out.stderr, b"oops\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn stderr(&mut self, stdio: impl Into<Stdio>) -> &mut Self {
        self.stdio[2] = Some(stdio.into());
        self
    }

    /// Places `fd` at number `child_fd` in the child, without `FD_CLOEXEC`
    /// (`dup3` in the child, or clearing the flag if the numbers are equal).
    /// Mappings may cross (3->4 and 4->3 at once). `child_fd` 0, 1 or 2 is
    /// the same as [`Stdio::Fd`] for that stream; a second `fd` for the same
    /// number replaces the first. The `Exec` keeps `fd` for every spawn.
    ///
    /// # Errors
    ///
    /// At spawn: `Sys { call: "dup3", errno: EBADF }` for a negative
    /// `child_fd`, `Exec { stage: Fds, .. }` if the kernel refuses the number.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use clonekit::Exec;
    /// // SAFETY: pipe2 has no preconditions; both new ends come back as our own OwnedFds.
    /// let (reader, writer) = unsafe { clonekit::raw::pipe2(libc::O_CLOEXEC)? };
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
    /// use nix::sys::signal::SigSet;
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
    /// (`close_range`, or a close loop before Linux 5.9).
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
    /// `namespaces` are passed straight into the clone flags (other flags are
    /// ignored). Most need `CAP_SYS_ADMIN`; `NEWTIME` needs clone3.
    ///
    /// # Errors
    ///
    /// At spawn: `Unsupported` with [`Strategy::Vfork`] (vfork takes no
    /// flags) or, for `NEWTIME`, where clone3 is missing; `Sys { call:
    /// "clone3" | "clone" | "fork" }` with the kernel's answer (`EPERM`
    /// without privilege).
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
        self.namespaces = namespaces & CloneFlags::NAMESPACES;
        self
    }

    /// Starts the child in the cgroup (v2) whose directory `dir` is
    /// (`CLONE_INTO_CGROUP`, clone3 only).
    ///
    /// # Errors
    ///
    /// At spawn: `Unsupported` with [`Strategy::Vfork`] or where clone3 is
    /// missing; `Sys` whose `call` says why the kernel refused otherwise
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

    /// Asks for a pidfd for the child ([`Child::pidfd`]), made atomically
    /// with it by `CLONE_PIDFD` in every strategy (never by `pidfd_open`
    /// afterwards, which could name a process that reused the pid of a child
    /// the kernel reaped at once because `SIGCHLD` is ignored). With a pidfd,
    /// [`Child::kill`] can never reach another process.
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
    /// assert!(child.child.pidfd().is_some());
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

    /// Chooses how the child is created (default [`Strategy::CloneVfork`]).
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

    /// Starts the child. Stdio not set is inherited.
    ///
    /// When this returns `Ok`, the child has exec'd its program (a failure
    /// before or at `execve` is reported here, not as an exit code 127).
    ///
    /// # Errors
    ///
    /// - `Nul`: an interior NUL byte; nothing was spawned;
    /// - `Exec { stage, errno }`: the child failed at `stage` (e.g. `Exec`
    ///   with `ENOENT`, `EACCES`, `ENOEXEC` or `E2BIG`; `Chdir`; `Fds`); it
    ///   has been reaped;
    /// - `Unsupported`: what was asked for cannot be done with this strategy
    ///   or on this host;
    /// - `Sys`: a system call in the parent failed (`clone3`, `pipe2`, ...);
    ///   a child created before the failure has been killed and reaped.
    ///
    /// # The environment
    ///
    /// Without `env`/`env_clear`/`env_remove`, the child gets the process
    /// environment as libc holds it (`environ`), read at spawn time, as
    /// `posix_spawn` and `getenv` read it. `std::env::set_var` or
    /// `remove_var` on another thread at the same time is then a data race,
    /// which is why those functions are `unsafe` in edition 2024: set the
    /// child's variables with [`env`](Self::env) instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Error, ExecStage, Errno, Exec};
    /// let mut child = Exec::new("true").spawn()?;
    /// assert!(child.wait()?.success());
    ///
    /// let err = Exec::new("/no/such/program").spawn().unwrap_err();
    /// assert_eq!(err, Error::Exec { stage: ExecStage::Exec, errno: Errno::ENOENT });
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn spawn(&mut self) -> Result<ExecChild> {
        self.spawn_with([StdioDefault::Inherit; STDIO_SLOTS])
    }

    /// Runs the child to completion with stdio inherited (unless set) and
    /// returns its exit status.
    ///
    /// # Errors
    ///
    /// As for [`spawn`](Exec::spawn), and `Sys { call: "wait4" }`: with
    /// `errno: ECHILD` when the caller ignores `SIGCHLD` (`SIG_IGN` or
    /// `SA_NOCLDWAIT`), since the kernel then reaps the child itself and its
    /// status is lost (as for `std::process::Command::status`); see
    /// [`Child::wait`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(clonekit::Exec::new("false").status()?.code(), Some(1));
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn status(&mut self) -> Result<ExitStatus> {
        self.spawn()?.wait()
    }

    /// Runs the child to completion and collects its stdout and stderr
    /// (piped unless set; stdin is `/dev/null` unless set), reading both at
    /// once, on this thread, so that neither pipe can fill up and block the
    /// child (see [`ExecChild::wait_with_output`]).
    ///
    /// # Errors
    ///
    /// As for [`spawn`](Exec::spawn) and
    /// [`wait_with_output`](ExecChild::wait_with_output): after a failed
    /// read the child has been killed and reaped.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = clonekit::Exec::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]).output()?;
    /// assert_eq!((out.stdout.as_slice(), out.stderr.as_slice()), (&b"out\n"[..], &b"err\n"[..]));
    /// assert_eq!(out.status.code(), Some(3));
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn output(&mut self) -> Result<Output> {
        self.spawn_with([StdioDefault::Null, StdioDefault::Piped, StdioDefault::Piped])?
            .wait_with_output()
    }

    fn spawn_with(&mut self, defaults: [StdioDefault; STDIO_SLOTS]) -> Result<ExecChild> {
        let launch = Launch {
            strategy: self.strategy,
            namespaces: self.namespaces,
            cgroup: self.cgroup.as_ref().map(AsRawFd::as_raw_fd),
            pidfd: self.pidfd,
        };
        launch.check()?;
        let plan = match &mut self.plan {
            Some(plan) => plan,
            empty => empty.insert(Plan::new(&self.settings)?),
        };
        let mut ends = StdioEnds::open(&self.stdio, defaults)?;
        let report = match launch.strategy {
            Strategy::Fork => {
                // SAFETY: plain system call.
                Some(unsafe { raw::pipe2(libc::O_CLOEXEC) }.map_err(Error::sys("pipe2"))?)
            }
            _ => None,
        };
        // What getppid() must say in the child; only a death signal asks.
        let parent = if plan.death_signal == 0 || launch.namespaces.contains(CloneFlags::NEWPID) {
            Pid::from_raw(0)
        } else {
            // SAFETY: no arguments.
            unsafe { raw::getpid() }
        };
        let report_fd = report.as_ref().map_or(-1, |(_, write)| write.as_raw_fd());
        plan.prepare(ends.child_sources(), parent, report_fd);

        let launched = launch.run(plan);
        // The child has its copies (or the launch failed): close ours.
        ends.child = [None, None, None];
        let (pid, pidfd) = launched?;
        let mut child = {
            // SAFETY: no release word: the child has exec'd or exited
            // (vfork-like) or has its own memory (fork), and holds no stack.
            unsafe { Child::new(pid, CloneFlags::empty(), pidfd, None, None) }
        };
        let failure = match report {
            Some((read, write)) => {
                drop(write);
                read_report(&read)
            }
            None => plan.failure(),
        };
        if let Some((stage, errno)) = failure {
            // The child's own error is the answer. The reap may find nothing
            // (ECHILD) when the kernel reaped it already (SIGCHLD ignored)
            // or a SIGCHLD handler did: glibc's posix_spawn ignores it too.
            let _ = child.wait();
            return Err(Error::Exec { stage, errno });
        }
        let [stdin, stdout, stderr] = ends.parent;
        Ok(ExecChild {
            child,
            stdin,
            stdout,
            stderr,
        })
    }
}

/// What a stdio slot that was not set becomes.
#[derive(Debug, Clone, Copy)]
enum StdioDefault {
    Inherit,
    Null,
    Piped,
}

/// The fds of one spawn's stdio: the parent's ends of pipes, and what the
/// child gets (closed in the parent once the child has its copies).
struct StdioEnds {
    parent: [Option<File>; STDIO_SLOTS],
    child: [Option<OwnedFd>; STDIO_SLOTS],
    sources: [RawFd; STDIO_SLOTS],
}

impl StdioEnds {
    fn open(
        stdio: &[Option<Stdio>; STDIO_SLOTS],
        defaults: [StdioDefault; STDIO_SLOTS],
    ) -> Result<StdioEnds> {
        let mut ends = StdioEnds {
            parent: [None, None, None],
            child: [None, None, None],
            sources: [-1; STDIO_SLOTS],
        };
        for (slot, (set, default)) in stdio.iter().zip(defaults).enumerate() {
            let reading = slot == 0;
            let source = match (set, default) {
                (Some(Stdio::Fd(fd)), _) => fd.as_raw_fd(),
                (Some(Stdio::Inherit), _) | (None, StdioDefault::Inherit) => -1,
                (Some(Stdio::Null), _) | (None, StdioDefault::Null) => {
                    let null = OpenOptions::new()
                        .read(reading)
                        .write(!reading)
                        .open("/dev/null")
                        .map_err(|e| Error::Sys {
                            call: "open",
                            errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
                        })?;
                    ends.keep_child(slot, null.into())
                }
                (Some(Stdio::Piped), _) | (None, StdioDefault::Piped) => {
                    // SAFETY: plain system call.
                    let (read, write) =
                        unsafe { raw::pipe2(libc::O_CLOEXEC) }.map_err(Error::sys("pipe2"))?;
                    let (ours, theirs) = if reading { (write, read) } else { (read, write) };
                    ends.parent[slot] = Some(ours.into());
                    ends.keep_child(slot, theirs)
                }
            };
            ends.sources[slot] = source;
        }
        Ok(ends)
    }

    fn keep_child(&mut self, slot: usize, fd: OwnedFd) -> RawFd {
        let raw = fd.as_raw_fd();
        self.child[slot] = Some(fd);
        raw
    }

    fn child_sources(&self) -> [RawFd; STDIO_SLOTS] {
        self.sources
    }
}

/// Reads the (stage, errno) pair a fork child writes before it exits; end
/// of file (the pipe closed by a successful exec) means success.
fn read_report(read: &OwnedFd) -> Option<(ExecStage, Errno)> {
    let mut words = [0i32; 2];
    let size = std::mem::size_of_val(&words);
    let mut got = 0;
    while got < size {
        // SAFETY: the buffer is live and has `size - got` bytes left at `got`.
        let n = unsafe {
            raw::read(
                read.as_raw_fd(),
                words.as_mut_ptr().cast::<u8>().add(got),
                size - got,
            )
        };
        match n {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    if got < size {
        return None;
    }
    plan::stage_from_code(words[0]).map(|stage| (stage, Errno::from_raw(words[1])))
}

/// How one spawn creates its child.
#[derive(Debug, Clone, Copy)]
struct Launch {
    strategy: Strategy,
    namespaces: CloneFlags,
    cgroup: Option<RawFd>,
    pidfd: bool,
}

/// Whether clone3 refused `CLONE_CLEAR_SIGHAND` (Linux 5.3 and 5.4): then
/// the child resets handlers itself.
static NO_CLEAR_SIGHAND: AtomicBool = AtomicBool::new(false);

/// Whether the vfork system call was refused (a seccomp filter answering
/// ENOSYS or EPERM): then `Strategy::Vfork` uses `clone(CLONE_VM | CLONE_VFORK)`.
static NO_VFORK: AtomicBool = AtomicBool::new(false);

impl Launch {
    /// What only clone3 can carry.
    fn clone3_feature(&self) -> Option<&'static str> {
        if self.cgroup.is_some() {
            Some("a cgroup (CLONE_INTO_CGROUP)")
        } else if self.namespaces.contains(CloneFlags::NEWTIME) {
            Some("a time namespace (CLONE_NEWTIME)")
        } else {
            None
        }
    }

    /// Refuses what this strategy cannot do on this host, before anything
    /// is created.
    fn check(&self) -> Result<()> {
        let vfork_like = matches!(self.strategy, Strategy::CloneVfork | Strategy::Vfork);
        if vfork_like && !raw::HAS_TRAMPOLINES {
            return Err(Error::Unsupported {
                feature: "a vfork-like spawn on this architecture (use Strategy::Fork)",
                errno: Errno::ENOSYS,
            });
        }
        if self.strategy == Strategy::Vfork && (!self.namespaces.is_empty() || self.cgroup.is_some()) {
            return Err(Error::Unsupported {
                feature: "namespaces or a cgroup with Strategy::Vfork (vfork takes no flags; \
                          use CloneVfork or Fork)",
                errno: Errno::EINVAL,
            });
        }
        if let (Some(feature), Err(errno)) = (self.clone3_feature(), probe::clone3_works()) {
            return Err(Error::Unsupported { feature, errno });
        }
        Ok(())
    }

    fn flags(&self) -> CloneFlags {
        let mut flags = self.namespaces;
        if self.cgroup.is_some() {
            flags |= CloneFlags::INTO_CGROUP;
        }
        flags
    }

    /// Blocks every signal, creates the child, restores the mask. The child
    /// has exec'd or failed when this returns (for `Fork`, the error pipe
    /// tells which).
    fn run(&self, plan: &mut Plan) -> Result<(Pid, Option<OwnedFd>)> {
        let all = raw::full_sigset();
        // SAFETY: both pointers are live sigset_t's.
        unsafe { raw::rt_sigprocmask(libc::SIG_SETMASK, &all, &mut plan.spawn.old_mask) }
            .map_err(Error::sys("rt_sigprocmask"))?;
        let created = match self.strategy {
            Strategy::CloneVfork => self.clone_vfork(plan),
            Strategy::Vfork => self.vfork(plan),
            Strategy::Fork => self.fork(plan),
        };
        // SAFETY: as above.
        let restored =
            unsafe { raw::rt_sigprocmask(libc::SIG_SETMASK, &plan.spawn.old_mask, std::ptr::null_mut()) };
        let (pid, pidfd) = created?;
        let finished = restored.map_err(Error::sys("rt_sigprocmask")).and_then(|()| {
            // The pidfd is made with the child or not at all: one opened
            // afterwards could name a process that reused the pid of a child
            // the kernel reaped already (SIGCHLD ignored).
            match self.pidfd && pidfd.is_none() {
                true => Err(Error::Unsupported {
                    feature: "a pidfd (CLONE_PIDFD, Linux 5.2)",
                    errno: Errno::ENOSYS,
                }),
                false => Ok(()),
            }
        });
        if let Err(err) = finished {
            // The child runs, but spawn fails: it must not outlive the error
            // unseen, nor stay a zombie.
            // SAFETY: our own child, not yet reaped; no release word.
            unsafe { Child::new(pid, CloneFlags::empty(), pidfd, None, None) }.discard();
            return Err(err);
        }
        Ok((pid, pidfd))
    }

    /// `clone3(CLONE_VM | CLONE_VFORK | ...)` on a cached stack, or legacy
    /// `clone` where clone3 is absent.
    fn clone_vfork(&self, plan: &mut Plan) -> Result<(Pid, Option<OwnedFd>)> {
        let mut stack = take_stack()?;
        let (base, top) = (stack.base(), stack.top());
        let mut flags = CloneFlags::VM | CloneFlags::VFORK | self.flags();
        if self.pidfd {
            flags |= CloneFlags::PIDFD;
        }
        let mut pidfd: c_int = -1;
        let mut clone3 = probe::clone3_works().is_ok();
        let mut clear = !NO_CLEAR_SIGHAND.load(Ordering::Relaxed);
        let result = loop {
            if !clone3 {
                break legacy_clone_vfork(plan, flags, top, &mut pidfd);
            }
            plan.spawn.reset_handlers = !clear;
            let mut asked = flags;
            if clear {
                asked |= CloneFlags::CLEAR_SIGHAND;
            }
            let args = raw::CloneArgs {
                flags: asked.bits(),
                pidfd: &mut pidfd as *mut c_int as u64,
                exit_signal: libc::SIGCHLD as u64,
                stack: base as u64,
                stack_size: (top as usize - base as usize) as u64,
                cgroup: self.cgroup.map_or(0, |fd| fd as u64),
                ..raw::CloneArgs::default()
            };
            let arg = child_arg(plan);
            // SAFETY: as above; every pointer in `args` is a live local.
            match unsafe { raw::clone3_on_stack(&args, child::entry, arg) } {
                Err(Errno::EINVAL) if clear => clear = false,
                Err(errno @ (Errno::ENOSYS | Errno::EPERM)) => match probe::clone3_recheck() {
                    Err(absent) => match self.clone3_feature() {
                        Some(feature) => {
                            break Err(Error::Unsupported {
                                feature,
                                errno: absent,
                            })
                        }
                        None => clone3 = false,
                    },
                    // clone3 works: a real EPERM (a namespace needs privilege).
                    Ok(()) => break Err(clone3_error(errno, asked, false, None)),
                },
                Err(errno) => break Err(clone3_error(errno, asked, false, None)),
                Ok(pid) => {
                    if !clear {
                        NO_CLEAR_SIGHAND.store(true, Ordering::Relaxed);
                    }
                    break Ok(pid);
                }
            }
        };
        // The child has exec'd or exited: the stack is free again.
        give_back(stack);
        let pid = result?;
        // SAFETY: right after the successful clone with `flags`.
        Ok((pid, unsafe { take_pidfd(flags, pidfd) }))
    }

    /// `vfork`, the child moved to a cached stack before it runs any code.
    /// `clone(CLONE_VM | CLONE_VFORK)` does the same where a pidfd is asked
    /// for (vfork cannot carry `CLONE_PIDFD`) or where vfork is refused (a
    /// seccomp filter answering ENOSYS or EPERM; remembered).
    fn vfork(&self, plan: &mut Plan) -> Result<(Pid, Option<OwnedFd>)> {
        let mut stack = take_stack()?;
        let top = stack.top();
        let mut pidfd: c_int = -1;
        let flags = if self.pidfd {
            CloneFlags::PIDFD
        } else {
            CloneFlags::empty()
        };
        let vforked = if self.pidfd || NO_VFORK.load(Ordering::Relaxed) {
            None
        } else {
            plan.spawn.reset_handlers = true;
            let arg = child_arg(plan);
            // SAFETY: as in `clone_vfork`: the stack is ours until the child
            // execs or exits, which vfork waits for.
            match unsafe { raw::vfork_on_stack(top, child::entry, arg) } {
                Err(Errno::ENOSYS | Errno::EPERM) => {
                    NO_VFORK.store(true, Ordering::Relaxed);
                    None
                }
                other => Some(other.map_err(Error::sys("vfork"))),
            }
        };
        let created = match vforked {
            Some(created) => created,
            None => legacy_clone_vfork(plan, flags, top, &mut pidfd),
        };
        give_back(stack);
        // SAFETY: right after the successful clone with `flags` (or a vfork,
        // with no pidfd asked for).
        Ok((created?, unsafe { take_pidfd(flags, pidfd) }))
    }

    /// `fork`, or `clone`/`clone3` without a stack when there are flags; the
    /// child runs the plan on its copy of memory.
    fn fork(&self, plan: &mut Plan) -> Result<(Pid, Option<OwnedFd>)> {
        plan.spawn.reset_handlers = true;
        let mut flags = self.flags();
        let mut pidfd: c_int = -1;
        let created = if flags.is_empty() && !self.pidfd {
            // SAFETY: the child runs only the plan (raw system calls).
            unsafe { raw::fork() }.map_err(Error::sys("fork"))
        } else {
            // The pidfd comes from the clone itself (CLONE_PIDFD).
            if self.pidfd {
                flags |= CloneFlags::PIDFD;
            }
            if self.clone3_feature().is_some() {
                let args = raw::CloneArgs {
                    flags: flags.bits(),
                    pidfd: &mut pidfd as *mut c_int as u64,
                    exit_signal: libc::SIGCHLD as u64,
                    cgroup: self.cgroup.map_or(0, |fd| fd as u64),
                    ..raw::CloneArgs::default()
                };
                // SAFETY: as above; no CLONE_VM, pointers are live locals.
                unsafe { raw::clone3(&args) }.map_err(|errno| clone3_error(errno, flags, false, None))
            } else {
                // Legacy clone writes the pidfd where the parent TID would go.
                let parent_tid = if self.pidfd {
                    &mut pidfd as *mut c_int
                } else {
                    std::ptr::null_mut()
                };
                let (no_child_tid, no_tls) = (std::ptr::null_mut(), std::ptr::null_mut());
                // SAFETY: as above; no CLONE_VM.
                unsafe { raw::clone(flags, Some(Signal::SIGCHLD), parent_tid, no_child_tid, no_tls) }
                    .map_err(|errno| clone_error("clone", errno, flags, false))
            }
        };
        match created? {
            // SAFETY: a fresh fork-like child of ours, every signal blocked.
            None => unsafe { child::run(plan) },
            Some(pid) => {
                // SAFETY: right after the successful clone with `flags`.
                Ok((pid, unsafe { take_pidfd(flags, pidfd) }))
            }
        }
    }
}

/// Legacy `clone(CLONE_VM | CLONE_VFORK | flags)` with the child on the
/// stack whose top is `top`; with `CLONE_PIDFD` in `flags` the kernel
/// writes the pidfd to `pidfd` (legacy clone's parent TID pointer). The
/// child resets its handlers itself.
fn legacy_clone_vfork(plan: &mut Plan, flags: CloneFlags, top: *mut u8, pidfd: &mut c_int) -> Result<Pid> {
    plan.spawn.reset_handlers = true;
    let flags = flags | CloneFlags::VM | CloneFlags::VFORK;
    let parent_tid = if flags.contains(CloneFlags::PIDFD) {
        pidfd as *mut c_int
    } else {
        std::ptr::null_mut()
    };
    let arg = child_arg(plan);
    // SAFETY: the stack is ours and unused until the child has exec'd or
    // exited (CLONE_VFORK suspends us until then); the entry runs only the
    // plan, which we do not touch meanwhile.
    let created = unsafe {
        raw::clone_on_stack(
            flags,
            Some(Signal::SIGCHLD),
            top,
            parent_tid,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            child::entry,
            arg,
        )
    };
    created.map_err(|errno| clone_error("clone", errno, flags, false))
}

/// The argument of [`child::entry`]: taken from `plan` right before the
/// clone, after the parent's last write, and not used once it returns.
fn child_arg(plan: &mut Plan) -> *mut c_void {
    (plan as *mut Plan).cast::<c_void>()
}

/// The child's stack size: the child program needs a few KiB.
const CHILD_STACK_SIZE: usize = 64 * 1024;
/// How many idle stacks are kept for later spawns.
const STACKS_KEPT: usize = 16;
/// Idle stacks, so that a spawn maps none. A vfork-like child is done with
/// its stack when the clone returns, so a stack is only out of the cache
/// during one clone.
static STACKS: Mutex<Vec<Stack>> = Mutex::new(Vec::new());

fn take_stack() -> Result<Stack> {
    let cached = STACKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .pop();
    match cached {
        Some(stack) => Ok(stack),
        None => Stack::new(CHILD_STACK_SIZE),
    }
}

fn give_back(stack: Stack) {
    let mut stacks = STACKS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Reserved once, so that later spawns never grow it (they allocate nothing).
    let missing = STACKS_KEPT.saturating_sub(stacks.len());
    stacks.reserve_exact(missing);
    if stacks.len() < STACKS_KEPT {
        stacks.push(stack);
    }
}

// An `Exec` can be built on one thread and spawned on another, like `Command`.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Exec>();
    send_sync::<ExecChild>();
};

impl fmt::Debug for Exec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exec")
            .field("program", &self.settings.program)
            .field("args", &self.settings.args)
            .field("env", &self.settings.env)
            .field("cwd", &self.settings.cwd)
            .field("stdio", &self.stdio)
            .field("fds", &self.settings.fds)
            .field("setsid", &self.settings.setsid)
            .field("process_group", &self.settings.process_group)
            .field("reset_sigpipe", &!self.settings.keep_sigpipe)
            .field("death_signal", &self.settings.death_signal)
            .field("close_other_fds", &self.settings.close_other_fds)
            .field("namespaces", &self.namespaces)
            .field("cgroup", &self.cgroup)
            .field("pidfd", &self.pidfd)
            .field("strategy", &self.strategy)
            .field("planned", &self.plan.is_some())
            .finish_non_exhaustive()
    }
}

impl From<&Command> for Exec {
    /// Takes the program, the arguments, the environment changes and the
    /// working directory (`std` does not show whether `env_clear` was called,
    /// nor its stdio, so neither is carried over).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut cmd = std::process::Command::new("sh");
    /// cmd.args(["-c", "echo $X"]).env("X", "from std");
    /// let out = clonekit::Exec::from(&cmd).output()?;
    /// assert_eq!(out.stdout, b"from std\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    fn from(cmd: &Command) -> Exec {
        let mut exec = Exec::new(cmd.get_program());
        exec.args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => exec.env(key, value),
                None => exec.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            exec.current_dir(dir);
        }
        exec
    }
}

/// A child started by [`Exec::spawn`]: its [`Child`] handle and the parent's
/// ends of its piped stdio.
///
/// Dropping it neither kills nor reaps the child (like
/// `std::process::Child`).
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use clonekit::{Exec, Stdio};
/// let mut child = Exec::new("echo").arg("hi").stdout(Stdio::Piped).spawn()?;
/// let mut out = String::new();
/// child.stdout.take().unwrap().read_to_string(&mut out)?;
/// assert!(child.wait()?.success());
/// assert_eq!(out, "hi\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ExecChild {
    /// The child: pid, pidfd, wait, kill.
    pub child: Child<'static>,
    /// The write end of the child's stdin, with [`Stdio::Piped`].
    pub stdin: Option<File>,
    /// The read end of the child's stdout, with [`Stdio::Piped`].
    pub stdout: Option<File>,
    /// The read end of the child's stderr, with [`Stdio::Piped`].
    pub stderr: Option<File>,
}

impl ExecChild {
    /// The child's pid.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = clonekit::Exec::new("true").spawn()?;
    /// assert!(child.pid().as_raw() > 0);
    /// child.wait()?;
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn pid(&self) -> Pid {
        self.child.pid()
    }

    /// Closes the child's stdin (so that it sees end of file), then waits
    /// for it to exit and reaps it.
    ///
    /// # Errors
    ///
    /// `Sys { call: "wait4" }`.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Stdio};
    /// let mut child = Exec::new("cat").stdin(Stdio::Piped).spawn()?;
    /// assert!(child.wait()?.success()); // cat sees EOF at once
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [wait4(2)](https://man7.org/linux/man-pages/man2/wait4.2.html)
    pub fn wait(&mut self) -> Result<ExitStatus> {
        drop(self.stdin.take());
        self.child.wait()
    }

    /// Closes stdin, reads stdout and stderr to their ends at once (on this
    /// thread: `poll` says which pipe has data, so that neither fills up and
    /// blocks the child), then waits for the child and reaps it.
    ///
    /// # Errors
    ///
    /// `Sys { call: "read" | "poll" | "ioctl" }`: the child has been killed
    /// with `SIGKILL` and reaped (this handle is gone, so nothing else could
    /// wait for it); `Sys { call: "wait4" }`.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Stdio};
    /// let child = Exec::new("echo").arg("x").stdout(Stdio::Piped).spawn()?;
    /// assert_eq!(child.wait_with_output()?.stdout, b"x\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
    pub fn wait_with_output(mut self) -> Result<Output> {
        drop(self.stdin.take());
        let (stdout, stderr) = match output::read_both(self.stdout.take(), self.stderr.take()) {
            Ok(both) => both,
            Err(err) => {
                // Neither a zombie nor a child running on unseen.
                self.child.discard();
                return Err(err);
            }
        };
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}
