//! [`Exec::exec`]: the program run in place of the calling process, as
//! std's `CommandExt::exec`.

use std::ptr;

use nix::errno::Errno;
use nix::unistd::Pid;

use super::in_child;
use super::plan::{Extra, Plan, STDIO_SLOTS};
use super::stdio::{StdioDefault, StdioEnds};
use super::steps::StepSettings;
use super::Exec;
use crate::engine::signals::{block_all, set_mask};
use crate::error::{Error, Result};
use crate::raw;

/// The `feature` of the `Error::Unsupported` (`EBUSY`) with which
/// [`Exec::exec`] refuses an [`fd`](Exec::fd) placement onto a number this
/// process has open and that is not one of the `Exec`'s own fds: replacing
/// it would break whatever owns it, should the exec fail.
///
/// # Examples
///
/// ```
/// use clonekit::{Error, Exec, FD_TARGET_OPEN};
/// let mine = std::fs::File::open("/dev/null")?;
/// let number = std::os::fd::AsRawFd::as_raw_fd(&mine);
/// let err = Exec::new("false").fd(number, std::fs::File::open("/dev/null")?.into()).exec();
/// assert!(matches!(err, Error::Unsupported { feature: FD_TARGET_OPEN, .. }));
/// # Ok::<(), std::io::Error>(())
/// ```
pub const FD_TARGET_OPEN: &str =
    "Exec::exec with fd() onto a number this process has open (it is not the Exec's to replace)";

/// The `feature` of the `Error::Unsupported` (`EBUSY`) with which
/// [`Exec::exec`] refuses [`no_new_privs`](Exec::no_new_privs) in a process
/// with more than one thread (or whose thread count /proc does not give):
/// `prctl(PR_SET_NO_NEW_PRIVS)` sets it for the calling thread only, and a
/// failed exec would leave the threads differing.
///
/// # Examples
///
/// ```
/// use clonekit::{Error, Exec, NO_NEW_PRIVS_THREADS};
/// // A second thread, alive across the call.
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// let other = std::thread::spawn(move || rx.recv());
/// let err = Exec::new("false").no_new_privs(true).exec();
/// assert!(matches!(err, Error::Unsupported { feature: NO_NEW_PRIVS_THREADS, .. }));
/// drop(tx);
/// let _ = other.join();
/// ```
pub const NO_NEW_PRIVS_THREADS: &str =
    "Exec::exec with no_new_privs in a process with other threads (prctl sets it for one thread)";

impl Exec {
    /// Replaces the calling process with the program, as std's
    /// `CommandExt::exec`: every step of the child's setup (stdio and fds,
    /// session, ids, working directory, signal mask, `pre_exec` hooks, ...)
    /// runs in this process, then `execve`. It returns only on failure.
    ///
    /// Nothing this process owns is closed or replaced before the `execve`,
    /// except fds 0, 1 and 2 (as with std). `close_other_fds` marks the other
    /// fds close-on-exec instead of closing them (`close_range` with
    /// `CLOSE_RANGE_CLOEXEC`, Linux 5.11; one `fcntl` per possible fd before
    /// that). An [`fd`](Exec::fd) placement above 2 takes only a free number
    /// or one of this `Exec`'s own fds: onto any other open fd it is refused
    /// before any step. The ids change for every thread of the process
    /// (libc's `setgroups`, `setgid`, `setuid`), not only the calling one.
    /// `no_new_privs` can be set only for the calling thread, and so is
    /// refused while this process has other threads (or /proc cannot say
    /// how many it has).
    ///
    /// After a failure, these are put back: this `Exec`'s fds at their
    /// numbers (the ones a placement replaced are restored from their
    /// copies), every fd a placement made above 2 closed, every temporary
    /// copy closed, the signal mask, `SIGPIPE`'s disposition. These stay as
    /// the steps left them (what each step changed before the failing one):
    ///
    /// - fds 0, 1 and 2 replaced by the stdio given;
    /// - with `close_other_fds`, every other fd marked close-on-exec;
    /// - the session and process group (`setsid`, `process_group`);
    /// - the resource limits and the umask;
    /// - the root directory (`chroot`) and the working directory;
    /// - the groups, gid and uid, of every thread;
    /// - the parent-death signal of the calling thread;
    /// - `no_new_privs` (only ever set in a single-threaded process);
    /// - whatever a `pre_exec` hook did.
    ///
    /// A piped stream has no reader: its other end is closed by the
    /// `execve`. Namespaces, a cgroup, uid/gid maps and a pidfd need a new
    /// process: with them this returns `Error::Unsupported` and changes
    /// nothing. Signal handlers are not reset here; `execve` resets every
    /// handled signal itself.
    ///
    /// # Errors
    ///
    /// `Error::Exec` with the stage that failed (`ExecStage::Fds` with
    /// `EBUSY` if another thread opened a placement's free target number
    /// after the check); `Error::Unsupported` as above, changing nothing:
    /// `errno` `EINVAL` for what needs a new process, `EBUSY` for a placement
    /// onto an open fd that is not this `Exec`'s ([`FD_TARGET_OPEN`]) and for
    /// `no_new_privs` in a process with other threads
    /// ([`NO_NEW_PRIVS_THREADS`]); the errors of [`spawn`](Exec::spawn)
    /// before the child's steps (a NUL byte, an option's rule).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Errno, Error, Exec, ExecStage};
    /// // A program that cannot be found: this process goes on, with the error.
    /// let err = Exec::new("/no/such/program").exec();
    /// assert!(matches!(err, Error::Exec { stage: ExecStage::Exec, errno: Errno::ENOENT, .. }));
    ///
    /// // An fd this process holds is not the Exec's to replace.
    /// let mine = std::fs::File::open("/dev/null")?;
    /// let number = std::os::fd::AsRawFd::as_raw_fd(&mine);
    /// let err = Exec::new("false").fd(number, std::fs::File::open("/dev/zero")?.into()).exec();
    /// assert!(matches!(err, Error::Unsupported { feature: clonekit::FD_TARGET_OPEN, errno: Errno::EBUSY }));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # References
    /// - [execve(2)](https://man7.org/linux/man-pages/man2/execve.2.html)
    pub fn exec(&mut self) -> Error {
        match self.exec_here() {
            Ok(never) => match never {},
            Err(err) => err,
        }
    }

    fn exec_here(&mut self) -> Result<std::convert::Infallible> {
        self.check_options()?;
        let maps = self.settings.uid_map.is_some() || self.settings.gid_map.is_some();
        if !self.namespaces.is_empty() || self.cgroup.is_some() || maps || self.pidfd {
            return Err(Error::Unsupported {
                feature: "namespaces, a cgroup, id maps or a pidfd with exec (they need a new process)",
                errno: Errno::EINVAL,
            });
        }
        let plan = match &mut self.plan {
            Some(plan) => plan,
            empty => empty.insert(Plan::new(&self.settings)?),
        };
        // Alive until the execve, which closes the parent's ends of pipes.
        let ends = StdioEnds::open(&self.stdio, [StdioDefault::Inherit; STDIO_SLOTS])?;
        // The death signal's check compares getppid() with this.
        let parent = match plan.death_signal {
            0 => Pid::from_raw(0),
            _ => raw::getppid(),
        };
        let extra = Extra {
            map_sync: (-1, -1),
            hooks: match self.hooks.is_empty() {
                true => ptr::null_mut(),
                false => &mut self.hooks,
            },
        };
        plan.prepare(ends.child_sources(), parent, -1, extra);
        refuse_here(plan, &self.settings.steps)?;
        let (stage, errno) = run_blocked(plan)?;
        drop(ends);
        Err(self.exec_error(stage, errno))
    }
}

/// What [`Exec::exec`] refuses before any step, in a process that goes on
/// after a failure: a placement onto an open fd above 2 that is not one of
/// the plan's own sources (it belongs to someone else in this process), and
/// `no_new_privs` with other threads (`prctl` sets it for the calling
/// thread alone, and no call sets it for all).
fn refuse_here(plan: &Plan, steps: &StepSettings) -> Result<()> {
    let is_source = |fd| plan.moves.iter().any(|m| m.src == fd);
    let foreign = plan.moves.iter().any(|m| {
        m.src >= 0 && m.dst > 2 && m.src != m.dst && !is_source(m.dst) && raw::fcntl_getfd(m.dst).is_ok()
    });
    if foreign {
        return Err(Error::Unsupported {
            feature: FD_TARGET_OPEN,
            errno: Errno::EBUSY,
        });
    }
    let per_thread = match plan.confinement.no_new_privs {
        true => Some(NO_NEW_PRIVS_THREADS),
        false => steps.per_thread(),
    };
    if let Some(feature) = per_thread.filter(|_| threads() != Some(1)) {
        return Err(Error::Unsupported {
            feature,
            errno: Errno::EBUSY,
        });
    }
    Ok(())
}

/// How many threads this process has (`Threads:` in /proc/self/status).
fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix("Threads:"))?;
    line.trim().parse().ok()
}

/// Runs the plan in this process with every signal blocked until the
/// `execve` (the plan's mask is set just before it), as a spawned child
/// does; back on failure, the caller's mask is restored.
fn run_blocked(plan: &mut Plan) -> Result<(crate::ExecStage, Errno)> {
    plan.spawn.old_mask = block_all().map_err(Error::sys("rt_sigprocmask"))?;
    // Handlers stay: execve resets them, and a failure must leave them.
    plan.spawn
        .reset_handlers
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let failed = in_child::run_here(plan);
    set_mask(&plan.spawn.old_mask).map_err(Error::sys("rt_sigprocmask"))?;
    Ok(failed)
}
