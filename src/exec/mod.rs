//! [`Exec`]: the guarded vfork-then-exec helper, as safe as
//! `std::process::Command` and as cheap as `posix_spawn`.
//!
//! - this file: the [`Exec`] model users build (program, arguments,
//!   environment, stdio) and `spawn`/`status`/`output`;
//! - `setup.rs`: how the child is set up before `execve` (fds, session,
//!   signals, namespaces, cgroup, pidfd, strategy);
//! - `sandbox.rs`: who the child becomes and what confines it (ids,
//!   `pre_exec`, uid/gid maps, host name, limits, umask, root,
//!   `no_new_privs`);
//! - `plan.rs` builds, in the parent, everything the child needs, and caches it;
//! - `stdio.rs`: [`Stdio`] and the fds one spawn opens for it;
//! - `inspect.rs`: the getters, `Debug` as a command line, `From<&Command>`;
//! - `launch.rs`: the three ways of creating the child ([`Strategy`]) and
//!   their fallbacks; `stack_pool.rs`: the stacks they run the child on;
//! - `in_child.rs`: the program that runs in the child, raw system calls only;
//! - `replace.rs`: [`Exec::exec`], the same steps in the calling process;
//! - `handle.rs`: [`ExecChild`], the parent's handle; `output.rs` reads a
//!   child's stdout and stderr at once, on one thread;
//! - `async_child/` (feature `tokio`): `spawn_async` and its handle,
//!   awaited in tokio through the child's pidfd.

#[cfg(feature = "tokio")]
mod async_child;
mod handle;
mod in_child;
mod inspect;
mod launch;
mod output;
mod plan;
mod replace;
mod sandbox;
mod setup;
mod stack_pool;
mod stdio;
pub(crate) mod steps;

#[cfg(feature = "tokio")]
pub use async_child::AsyncExecChild;
pub use handle::ExecChild;
pub use launch::Strategy;
pub use replace::{FD_TARGET_OPEN, NO_NEW_PRIVS_THREADS};
pub use stdio::Stdio;

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::process::{ExitStatus, Output};
use std::ptr;

use nix::errno::Errno;
use nix::unistd::Pid;

use self::launch::{read_report, Report, SpawnMethod};
use self::plan::{Extra, Hook, Plan, Settings, STDIO_SLOTS};
use self::stdio::{StdioDefault, StdioEnds};
use crate::child::Child;
use crate::error::{Error, ExecStage, Result};
use crate::flags::CloneFlags;
use crate::raw;
use crate::userns::{IdMaps, MapSync, Setgroups};

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
/// no pidfd, [`Strategy::CloneVfork`]; `argv[0]` is the program; the
/// parent's ids, groups, umask, resource limits and root; `no_new_privs`
/// as the parent has it; no uid/gid maps, no host name, no `pre_exec` hook.
/// A hook, a uid/gid map or new ids make the child fork-like whatever the
/// strategy (see [`pre_exec`](Exec::pre_exec), [`uid_map`](Exec::uid_map),
/// [`uid`](Exec::uid)).
///
/// `{:?}` prints the command line as `std::process::Command` does (`cd
/// "/dir" && env -u REMOVED SET="v" "program" "arg"`); `{:#?}` every field.
///
/// # Porting from `std::process`
///
/// Renaming `Command` to `Exec`, `Child` to [`ExecChild`] and `Stdio` to
/// [`Stdio`] is the whole port for most code: the same methods with the same
/// signatures, and std's own `ChildStdin`, `ChildStdout`, `ChildStderr`,
/// `ExitStatus` and `Output`. What differs: results are
/// [`clonekit::Result`](crate::Result) (`?` turns the error into an
/// `io::Error`, and [`Error::kind`] answers as `io::Error::kind`);
/// `CommandExt`'s methods are inherent; [`process_group`](Self::process_group)
/// takes a [`Pid`](crate::Pid); `CommandExt::exec` is [`exec`](Self::exec), the deprecated `before_exec` has no counterpart;
/// `{:#?}` shows this type's fields. The README's section "Porting from
/// std::process::Command" goes through it row by row, and
/// `tests/std_process.rs` runs std's own process tests so ported.
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
    /// `CLONE_AUTOREAP`, with `CLONE_PIDFD_AUTOKILL` or not (see `autoreap`, `autokill`).
    lifetime: CloneFlags,
    strategy: Strategy,
    /// The `pre_exec` hooks, in order.
    hooks: Vec<Hook>,
    /// Whether the handle kills and reaps the child when dropped.
    kill_on_drop: bool,
    /// The cached plan; `None` when a setter changed what it holds.
    plan: Option<Plan>,
}

impl Exec {
    /// A new `Exec` for `program`: a path if it holds a `/`, else a name
    /// looked up in the child's PATH, as std does: the PATH set with
    /// [`env`](Exec::env), else the parent's; with none (after
    /// [`env_remove("PATH")`](Exec::env_remove) or
    /// [`env_clear`](Exec::env_clear)), `execvp`'s default `/bin:/usr/bin`.
    /// It is also the child's `argv[0]`.
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
            lifetime: CloneFlags::empty(),
            strategy: Strategy::default(),
            hooks: Vec::new(),
            kill_on_drop: false,
            plan: None,
        }
    }

    /// The settings the plan is built from; the plan is rebuilt at the next spawn.
    fn settings(&mut self) -> &mut Settings {
        self.plan = None;
        &mut self.settings
    }

    /// Sets the child's `argv[0]` (the program is still what
    /// [`new`](Self::new) was given), as `CommandExt::arg0`.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = clonekit::Exec::new("sh").arg0("renamed").args(["-c", "echo $0"]).output()?;
    /// assert_eq!(out.stdout, b"renamed\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn arg0(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.settings().arg0 = Some(arg.as_ref().to_owned());
        self
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
        let (env, key) = (&mut self.settings().env, key.as_ref());
        if env.clear {
            // Nothing is inherited to remove: forget the variable, so that
            // `get_envs` lists only what was set since, as std's does.
            env.vars.remove(key);
        } else {
            env.vars.insert(key.to_owned(), None);
        }
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
    /// let mut child = Exec::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
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
    /// assert!(Exec::new("echo").stdout(Stdio::null()).status()?.success());
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
    /// let out = Exec::new("sh").args(["-c", "echo oops >&2"]).stderr(Stdio::piped()).output()?;
    /// assert_eq!(out.stderr, b"oops\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn stderr(&mut self, stdio: impl Into<Stdio>) -> &mut Self {
        self.stdio[2] = Some(stdio.into());
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
    /// - `Conflict`: an option needs a namespace that was not asked for
    ///   ([`Rule::IdMapsWithoutNewuser`](crate::Rule::IdMapsWithoutNewuser),
    ///   [`Rule::HostnameWithoutNewuts`](crate::Rule::HostnameWithoutNewuts));
    ///   nothing was spawned;
    /// - `Exec { stage, errno }`: the child failed at `stage` (e.g. `Exec`
    ///   with `ENOENT`, `EACCES`, `ENOEXEC` or `E2BIG`; `Chdir`; `Fds`;
    ///   each option's own stage, such as `Credentials` or `Rlimit`), or
    ///   its uid/gid maps could not be written (`IdMaps`); it has been
    ///   reaped;
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
    /// assert!(matches!(err, Error::Exec { stage: ExecStage::Exec, errno: Errno::ENOENT, .. }));
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn spawn(&mut self) -> Result<ExecChild> {
        self.spawn_with([StdioDefault::Inherit; STDIO_SLOTS])
    }

    /// Whether the [`ExecChild`] of each later spawn, when dropped before
    /// the child was reaped, kills it with `SIGKILL` and reaps it (default
    /// `false`: dropping neither kills nor reaps, as with
    /// `std::process::Child`). The plan is unaffected.
    ///
    /// A child the signal cannot reach (it runs a set-user-ID program as
    /// another user: `EPERM`) is left running rather than waited for.
    ///
    /// # Examples
    ///
    /// ```
    /// let child = clonekit::Exec::new("sleep").arg("10").kill_on_drop(true).spawn()?;
    /// let pid = child.id();
    /// drop(child); // killed and reaped: no zombie
    /// assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn kill_on_drop(&mut self, on: bool) -> &mut Self {
        self.kill_on_drop = on;
        self
    }

    /// Runs the child to completion with stdio inherited (unless set) and
    /// returns its exit status.
    ///
    /// # Errors
    ///
    /// As for [`spawn`](Exec::spawn), and `Sys { call: "waitid" }` (`"wait4"` without a pidfd): with
    /// `errno: ECHILD` when the caller ignores `SIGCHLD` (`SIG_IGN` or
    /// `SA_NOCLDWAIT`) on a kernel before 6.15, since the kernel then reaps
    /// the child itself and its status is lost (as for
    /// `std::process::Command::status`); since 6.15 the status comes from
    /// the child's pidfd instead. See [`Child::wait`].
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
        self.check_options()?;
        let method = SpawnMethod {
            strategy: match self.needs_fork() {
                true => Strategy::Fork,
                false => self.strategy,
            },
            namespaces: self.namespaces,
            cgroup: self.cgroup.as_ref().map(AsRawFd::as_raw_fd),
            pidfd: self.pidfd,
            private_pidfd: true,
            lifetime: self.lifetime,
            nnp: self.settings.no_new_privs,
        };
        method.check()?;
        let plan = match &mut self.plan {
            Some(plan) => plan,
            empty => empty.insert(Plan::new(&self.settings)?),
        };
        let mut ends = StdioEnds::open(&self.stdio, defaults)?;
        let report = match method.strategy {
            Strategy::Fork => Some(raw::pipe2(libc::O_CLOEXEC).map_err(Error::sys("pipe2"))?),
            _ => None,
        };
        let maps = IdMaps {
            uid: self.settings.uid_map.as_deref(),
            gid: self.settings.gid_map.as_deref(),
            setgroups: Setgroups::Auto,
        };
        let map_sync = maps.any().then(MapSync::new).transpose()?;
        // What getppid() must say in the child; only a death signal asks.
        let parent = if plan.death_signal == 0 || method.namespaces.contains(CloneFlags::NEWPID) {
            Pid::from_raw(0)
        } else {
            raw::getpid()
        };
        let report_fd = report.as_ref().map_or(-1, |(_, write)| write.as_raw_fd());
        let extra = Extra {
            map_sync: map_sync.as_ref().map_or((-1, -1), MapSync::raw),
            // Only a fork-like child runs them (see `needs_fork`).
            hooks: match self.hooks.is_empty() {
                true => ptr::null_mut(),
                false => &mut self.hooks,
            },
        };
        plan.prepare(ends.child_sources(), parent, report_fd, extra);

        let launched = method.run(plan);
        // The child has its copies (or the launch failed): close ours.
        ends.child = [None, None, None];
        let (pid, pidfd) = launched?;
        // The child has exec'd or exited (vfork-like) or has its own memory
        // (fork), and holds no stack of ours.
        let mut child = Child::of_process(pid, CloneFlags::empty(), pidfd);
        if !self.pidfd {
            // Made for the handle's own use (see `SpawnMethod::takes_pidfd`).
            child = child.keep_pidfd_private();
        }
        if let Some(sync) = map_sync {
            // The child waits for its maps before anything else.
            if let Err(err) = sync.release(pid, &maps) {
                child.discard();
                let errno = err.errno().unwrap_or(Errno::EIO);
                let mut failed = self.exec_error(ExecStage::IdMaps, errno);
                // The file and the rule that refused it, with the child's pid.
                if let (
                    Error::Exec { detail, .. },
                    Error::Sys {
                        detail: Some(why), ..
                    },
                ) = (&mut failed, &err)
                {
                    *detail = Some(why.replace("<pid>", &pid.to_string()).into());
                }
                return Err(failed);
            }
        }
        let failure = match report {
            Some((read, write)) => {
                drop(write);
                read_report(&read)
            }
            None => plan
                .failure()
                .map_or(Report::Execd, |(stage, errno)| Report::Failed(stage, errno)),
        };
        let failed = match failure {
            Report::Execd => None,
            Report::Failed(stage, errno) => Some(self.exec_error(stage, errno)),
            Report::EndedInHook => Some(Error::Exec {
                program: self.settings.program.to_string_lossy().into(),
                stage: ExecStage::PreExec,
                errno: Errno::EINVAL,
                detail: Some(HOOK_ENDED.into()),
            }),
        };
        if let Some(failed) = failed {
            // The child's own error is the answer. The reap may find nothing
            // (ECHILD) when the kernel reaped it already (SIGCHLD ignored)
            // or a SIGCHLD handler did: glibc's posix_spawn ignores it too.
            let _ = child.wait();
            return Err(failed);
        }
        Ok(ExecChild::new(child, ends.parent, self.kill_on_drop))
    }

    /// The error for a child that failed at `stage`: the program, and what
    /// the stage acted on where the program does not say it.
    fn exec_error(&self, stage: ExecStage, errno: Errno) -> Error {
        let detail = match stage {
            ExecStage::Chdir => self.settings.cwd.as_ref().map(|dir| dir.to_string_lossy().into()),
            _ => None,
        };
        Error::Exec {
            program: self.settings.program.to_string_lossy().into(),
            stage,
            errno,
            detail,
        }
    }
}

/// The detail of a spawn whose `pre_exec` hook ended the child before it
/// could exec or report.
const HOOK_ENDED: &str =
    "a pre_exec hook ended the child (an abort, a panic under panic = \"abort\", an exit or a signal)";

// An `Exec` can be built on one thread and spawned on another, like `Command`.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Exec>();
    send_sync::<ExecChild>();
};
