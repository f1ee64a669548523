//! [`Exec::exec`]: the program run in place of the calling process, as
//! std's `CommandExt::exec`.

use std::ptr;

use nix::errno::Errno;
use nix::unistd::Pid;

use super::in_child;
use super::plan::{Extra, Plan, STDIO_SLOTS};
use super::stdio::{StdioDefault, StdioEnds};
use super::Exec;
use crate::engine::signals::{block_all, set_mask};
use crate::error::{Error, Result};
use crate::raw;

impl Exec {
    /// Replaces the calling process with the program, as std's
    /// `CommandExt::exec`: every step of the child's setup (stdio and fds,
    /// session, ids, working directory, signal mask, `pre_exec` hooks, ...)
    /// runs in this process, then `execve`. It returns only on failure.
    ///
    /// What a step changed stays changed when a later one fails (this
    /// process's fds, ids, working directory, `SIGPIPE` back at its default
    /// action), as with std. A piped stream has no reader: its other end is
    /// closed by the `execve`. Namespaces, a cgroup, uid/gid maps and a pidfd
    /// need a new process: with them this returns `Error::Unsupported` and
    /// changes nothing. Signal handlers are not reset here; `execve` resets
    /// every handled signal itself.
    ///
    /// # Errors
    ///
    /// `Error::Exec` with the stage that failed; `Error::Unsupported` as
    /// above; the errors of [`spawn`](Exec::spawn) before the child's steps
    /// (a NUL byte, an option's rule).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Errno, Error, Exec, ExecStage};
    /// // A program that cannot be found: this process goes on, with the error.
    /// let err = Exec::new("/no/such/program").exec();
    /// assert!(matches!(err, Error::Exec { stage: ExecStage::Exec, errno: Errno::ENOENT, .. }));
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
        let (stage, errno) = run_blocked(plan)?;
        drop(ends);
        Err(self.exec_error(stage, errno))
    }
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
