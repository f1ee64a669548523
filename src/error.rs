//! [`Error`], the crate's one error type, and [`ExecStage`], the step at
//! which a spawned child failed before it could exec.

use std::fmt;
use std::io;

use nix::errno::Errno;

use crate::rules::Conflict;

/// The result of every fallible operation in this crate.
///
/// # Examples
///
/// ```
/// use clonekit::Exec;
/// fn exit_code(program: &str) -> clonekit::Result<Option<i32>> {
///     Ok(Exec::new(program).status()?.code())
/// }
/// assert_eq!(exit_code("true")?, Some(0));
/// assert!(exit_code("/no/such/program").is_err());
/// # Ok::<(), clonekit::Error>(())
/// ```
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong. Every variant that comes from the kernel keeps its
/// [`Errno`] ([`Error::errno`]); `From<Error> for io::Error` keeps this
/// error inside the `io::Error` (see there).
///
/// # Examples
///
/// ```
/// use clonekit::{CloneBuilder, CloneFlags, Errno, Error, Exec, ExecStage, Rule};
/// // A broken rule: nothing was called.
/// let err = CloneBuilder::new().flags(CloneFlags::SIGHAND).check().unwrap_err();
/// assert!(matches!(err, Error::Conflict(c) if c.rule() == Rule::SighandWithoutVm));
/// // The child could not exec: its own errno, with the stage it failed at.
/// let err = Exec::new("/no/such/program").spawn().unwrap_err();
/// assert!(matches!(err, Error::Exec { stage: ExecStage::Exec, errno: Errno::ENOENT, .. }));
/// assert_eq!(
///     err.to_string(),
///     "spawning `/no/such/program`: execve: No such file or directory (os error 2)"
/// );
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An argument rule was broken; nothing was called.
    Conflict(Conflict),
    /// A system call failed.
    Sys {
        /// The system call, as its man page names it (`"clone3"`, `"wait4"`,
        /// `"write"`), and nothing else: code may match on it. Why or on
        /// what is in `detail`.
        call: &'static str,
        /// What the kernel answered.
        errno: Errno,
        /// Why or on what, where the call and errno alone do not say: the
        /// flag that needs a privilege (`"CLONE_NEWNET needs CAP_SYS_ADMIN
        /// ..."`), the file written (`"/proc/<pid>/uid_map"`).
        detail: Option<&'static str>,
    },
    /// The feature needs `clone3` or a newer kernel than this one, and cannot
    /// be done another way without changing what was asked for.
    Unsupported {
        /// What was asked for.
        feature: &'static str,
        /// Why it is not available (`ENOSYS`, or `EPERM` from a seccomp
        /// filter); for what [`Exec::exec`](crate::Exec::exec) refuses in
        /// the calling process, `EINVAL` (it needs a new process) or `EBUSY`
        /// (something else of this process is in the way: see
        /// [`FD_TARGET_OPEN`](crate::FD_TARGET_OPEN),
        /// [`NO_NEW_PRIVS_THREADS`](crate::NO_NEW_PRIVS_THREADS)).
        errno: Errno,
    },
    /// The spawned child failed at `stage`, before or at `execve`; it has been
    /// reaped. Match it with `..`: the fields that say on what may grow.
    Exec {
        /// The program, as given to [`Exec::new`](crate::Exec::new) (lossily
        /// made UTF-8).
        program: Box<str>,
        /// The step that failed.
        stage: ExecStage,
        /// What the kernel answered there.
        errno: Errno,
        /// What the step acted on, where that is one thing the program does
        /// not say: the working directory for [`ExecStage::Chdir`]; the map
        /// file written (and the rule that refused it) for [`ExecStage::IdMaps`];
        /// for [`ExecStage::PreExec`], that a hook ended the child's process
        /// itself (`errno` is then `EINVAL`: the child reported none).
        detail: Option<Box<str>>,
    },
    /// An interior NUL byte in a string `Exec` hands to the kernel as a C
    /// string: the program name, an argument, an environment entry, the
    /// working directory, the `chroot` directory or the host name. Nothing
    /// was spawned.
    Nul,
    /// `Exec::spawn_async` (feature `tokio`) was called outside a tokio
    /// runtime: it needs one, to register the child's pidfd with its reactor.
    ///
    /// ```
    /// use clonekit::Error;
    /// assert!(Error::NoRuntime.to_string().contains("needs a tokio runtime"));
    /// ```
    NoRuntime,
    /// The [`Stack`](crate::Stack) is too small for what must be placed on it.
    StackTooSmall {
        /// The stack's usable size.
        size: usize,
        /// What it would need at least.
        needed: usize,
    },
}

impl Error {
    /// The errno behind this error, if it has one (`EINVAL` for a
    /// [`Error::Conflict`], since that is what the kernel would have said).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Errno, Exec};
    /// let err = Exec::new("/no/such/program").spawn().unwrap_err();
    /// assert_eq!(err.errno(), Some(Errno::ENOENT));
    /// ```
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Conflict(_) => Some(Errno::EINVAL),
            Error::Sys { errno, .. } | Error::Unsupported { errno, .. } | Error::Exec { errno, .. } => {
                Some(*errno)
            }
            Error::Nul | Error::NoRuntime => Some(Errno::EINVAL),
            Error::StackTooSmall { .. } => Some(Errno::ENOMEM),
        }
    }

    /// The [`io::ErrorKind`] std gives this error's errno (`NotFound` for
    /// `ENOENT`, `PermissionDenied` for `EACCES` and `EPERM`,
    /// `InvalidInput` for a broken rule or an interior NUL, ...): what
    /// `io::Error::kind` says of the converted error, so that code written
    /// for `std::process::Command` matching on `e.kind()` keeps working.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use clonekit::Exec;
    /// let err = Exec::new("/no/such/program").spawn().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    /// let err = Exec::new("nul\0inside").spawn().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// ```
    pub fn kind(&self) -> io::ErrorKind {
        match self.errno() {
            Some(errno) => io::Error::from_raw_os_error(errno as i32).kind(),
            None => io::ErrorKind::Other,
        }
    }

    /// For `map_err`: `call` failed, and its errno says enough.
    pub(crate) fn sys(call: &'static str) -> impl FnOnce(Errno) -> Error {
        move |errno| Error::Sys {
            call,
            errno,
            detail: None,
        }
    }

    /// For `map_err`: `call` failed, and `detail` says why or on what.
    pub(crate) fn sys_detailed(call: &'static str, detail: &'static str) -> impl FnOnce(Errno) -> Error {
        move |errno| Error::Sys {
            call,
            errno,
            detail: Some(detail),
        }
    }
}

/// The errno of an I/O error (`EIO` if it has none).
pub(crate) fn errno_of(err: &io::Error) -> Errno {
    Errno::from_raw(err.raw_os_error().unwrap_or(libc::EIO))
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Conflict(conflict) => conflict.fmt(f),
            Error::Sys { call, errno, detail } => {
                write!(f, "{call} failed: {} ({errno:?})", errno.desc())?;
                match detail {
                    Some(detail) => write!(f, ": {detail}"),
                    None => Ok(()),
                }
            }
            Error::Unsupported { feature, errno } => {
                write!(f, "{feature} is not supported here: {} ({errno:?})", errno.desc())
            }
            Error::Exec {
                program,
                stage,
                errno,
                detail,
            } => {
                write!(f, "spawning `{program}`: {stage}")?;
                if let Some(detail) = detail {
                    write!(f, "{}{detail}", stage.joiner())?;
                }
                write!(f, ": {} (os error {})", errno.desc(), *errno as i32)
            }
            Error::Nul => f.write_str(
                "a program name, argument, environment entry, working directory, chroot directory or host name \
                 contains a NUL byte",
            ),
            Error::NoRuntime => f.write_str(
                "spawn_async needs a tokio runtime: call it within a runtime's context \
                 (in Runtime::block_on, in a task, or after Runtime::enter)",
            ),
            Error::StackTooSmall { size, needed } => {
                write!(f, "the stack has {size} usable bytes but needs at least {needed}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Conflict(conflict) => Some(conflict),
            _ => None,
        }
    }
}

impl From<Conflict> for Error {
    fn from(conflict: Conflict) -> Error {
        Error::Conflict(conflict)
    }
}

impl From<Error> for io::Error {
    /// An `io::Error` whose kind is the one std gives the errno
    /// (`NotFound` for `ENOENT`, `PermissionDenied` for `EACCES` and
    /// `EPERM`, `InvalidInput` for a broken rule, ...), whose message is this
    /// error's (the program and stage, the system call and why), and which
    /// carries this error itself.
    ///
    /// `raw_os_error()` is then `None` (an `io::Error` holds an errno or a
    /// payload, not both): the errno, the stage and every other field come
    /// back by downcasting the payload.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use clonekit::{Errno, Error, Exec, ExecStage};
    /// let err: io::Error = Exec::new("true").current_dir("/nonexistent").spawn().unwrap_err().into();
    /// assert_eq!(err.kind(), io::ErrorKind::NotFound);
    /// assert_eq!(
    ///     err.to_string(),
    ///     "spawning `true`: chdir to /nonexistent: No such file or directory (os error 2)"
    /// );
    /// let inner = err.get_ref().and_then(|e| e.downcast_ref::<Error>()).unwrap();
    /// assert_eq!(inner.errno(), Some(Errno::ENOENT));
    /// assert!(matches!(inner, Error::Exec { stage: ExecStage::Chdir, .. }));
    /// ```
    fn from(err: Error) -> io::Error {
        io::Error::new(err.kind(), err)
    }
}

/// The step at which a child spawned by [`Exec`](crate::Exec) failed.
///
/// # Examples
///
/// ```
/// use clonekit::{Error, Exec, ExecStage};
/// let err = Exec::new("true").current_dir("/nonexistent").spawn().unwrap_err();
/// let Error::Exec { stage, .. } = &err else { panic!("{err}") };
/// assert_eq!(*stage, ExecStage::Chdir);
/// assert!(err.to_string().contains("chdir to /nonexistent"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExecStage {
    /// Resetting signal handlers to their defaults.
    Signals,
    /// `setsid()`.
    Session,
    /// `setpgid()`.
    ProcessGroup,
    /// Placing, closing or un-CLOEXEC-ing file descriptors.
    Fds,
    /// `chdir()` to the working directory.
    Chdir,
    /// `prctl(PR_SET_PDEATHSIG)`, or the parent died before it was set.
    DeathSignal,
    /// Restoring the signal mask.
    SignalMask,
    /// `execve()` of every candidate path.
    Exec,
    /// Writing the uid/gid maps of the new user namespace
    /// ([`Exec::uid_map`](crate::Exec::uid_map)): done by the parent while
    /// the child waits; `errno` is what the write of `/proc/<pid>/uid_map`,
    /// `setgroups` or `gid_map` answered.
    IdMaps,
    /// `sethostname()` in the new UTS namespace ([`Exec::hostname`](crate::Exec::hostname)).
    Hostname,
    /// `prlimit()` of one resource ([`Exec::rlimit`](crate::Exec::rlimit)).
    Rlimit,
    /// `chroot()` to the new root, or `chdir("/")` inside it ([`Exec::chroot`](crate::Exec::chroot)).
    Root,
    /// `setgroups()` ([`Exec::groups`](crate::Exec::groups), or dropping the
    /// groups before [`Exec::gid`](crate::Exec::gid) /
    /// [`Exec::uid`](crate::Exec::uid)).
    Groups,
    /// `setgid()` or `setuid()` ([`Exec::gid`](crate::Exec::gid), [`Exec::uid`](crate::Exec::uid)).
    Credentials,
    /// `prctl(PR_SET_NO_NEW_PRIVS)` ([`Exec::no_new_privs`](crate::Exec::no_new_privs)).
    NoNewPrivs,
    /// A [`pre_exec`](crate::Exec::pre_exec) hook returned an error (its
    /// `raw_os_error()`, `EINVAL` if it has none) or panicked (`EINVAL`).
    PreExec,
    /// Setting a signal of the chosen set back to its default action
    /// (`rt_sigaction` with `SIG_DFL`).
    SignalDefaults,
    /// `capset()` of the effective, permitted and inheritable sets.
    Capabilities,
    /// `prctl(PR_CAPBSET_DROP)` of a capability of the bounding set.
    BoundingSet,
    /// `prctl(PR_CAP_AMBIENT)`: raising or clearing the ambient set.
    AmbientSet,
    /// `prctl(PR_SET_SECUREBITS)` or `prctl(PR_SET_KEEPCAPS)`.
    Securebits,
    /// Installing the seccomp filter (`seccomp(SECCOMP_SET_MODE_FILTER)`).
    Seccomp,
    /// `landlock_restrict_self()` with the prepared ruleset.
    Landlock,
    /// Making an fd the controlling terminal (`TIOCSCTTY`) or leaving the
    /// one inherited (`TIOCNOTTY`).
    ControllingTerminal,
    /// Putting the child's process group in the terminal's foreground (`TIOCSPGRP`).
    Foreground,
    /// `sched_setaffinity()`.
    Affinity,
    /// `sched_setattr()`: the scheduling policy and priority.
    Scheduler,
    /// `setpriority()`: the nice value.
    Nice,
    /// `ioprio_set()`.
    IoPriority,
    /// `personality()`.
    Personality,
    /// Writing `/proc/self/oom_score_adj`.
    OomScoreAdj,
    /// `ptrace(PTRACE_TRACEME)`.
    Ptrace,
    /// Opening a file at a chosen fd number in the child.
    OpenFile,
    /// Closing a chosen fd in the child.
    CloseFile,
    /// `fchdir()` to the working directory given as an fd.
    ChdirFd,
}

impl ExecStage {
    /// What joins the stage and what it acted on in a message ("chdir to
    /// /tmp").
    fn joiner(self) -> &'static str {
        match self {
            ExecStage::Chdir => " to ",
            ExecStage::IdMaps | ExecStage::PreExec => ": ",
            _ => " ",
        }
    }
}

/// The step, short: the system call where one call is the step (`chdir`,
/// `execve`, `setsid`, `setpgid`), else what it does.
impl fmt::Display for ExecStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExecStage::Signals => "resetting signal handlers",
            ExecStage::Session => "setsid",
            ExecStage::ProcessGroup => "setpgid",
            ExecStage::Fds => "placing file descriptors",
            ExecStage::Chdir => "chdir",
            ExecStage::DeathSignal => "setting the parent-death signal",
            ExecStage::SignalMask => "restoring the signal mask",
            ExecStage::Exec => "execve",
            ExecStage::IdMaps => "writing the uid/gid maps",
            ExecStage::Hostname => "sethostname",
            ExecStage::Rlimit => "prlimit",
            ExecStage::Root => "chroot",
            ExecStage::Groups => "setgroups",
            ExecStage::Credentials => "setuid/setgid",
            ExecStage::NoNewPrivs => "prctl(PR_SET_NO_NEW_PRIVS)",
            ExecStage::PreExec => "the pre_exec hook",
            ExecStage::SignalDefaults => "setting signals to their default action",
            ExecStage::Capabilities => "capset",
            ExecStage::BoundingSet => "dropping from the bounding set",
            ExecStage::AmbientSet => "setting the ambient capabilities",
            ExecStage::Securebits => "setting the securebits",
            ExecStage::Seccomp => "installing the seccomp filter",
            ExecStage::Landlock => "landlock_restrict_self",
            ExecStage::ControllingTerminal => "setting the controlling terminal",
            ExecStage::Foreground => "tcsetpgrp",
            ExecStage::Affinity => "sched_setaffinity",
            ExecStage::Scheduler => "sched_setattr",
            ExecStage::Nice => "setpriority",
            ExecStage::IoPriority => "ioprio_set",
            ExecStage::Personality => "personality",
            ExecStage::OomScoreAdj => "writing oom_score_adj",
            ExecStage::Ptrace => "ptrace(PTRACE_TRACEME)",
            ExecStage::OpenFile => "opening a file",
            ExecStage::CloseFile => "closing a file descriptor",
            ExecStage::ChdirFd => "fchdir",
        })
    }
}
