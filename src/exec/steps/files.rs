//! Files and programs: open and close actions, the working directory as an fd, the program as an fd.

use std::ffi::c_char;

use nix::errno::Errno;

use crate::error::Result;
use crate::exec::plan::Settings;
use crate::flags::CloneFlags;

use super::{Mode, StepResult};

/// What the user asked of this concern.
#[derive(Debug, Default)]
pub(crate) struct FileSettings {}

/// What the child runs, prepared in the parent.
#[derive(Debug, Default)]
pub(crate) struct FilePlan {}

impl FileSettings {
    /// The rules checked before anything is created.
    pub(crate) fn check(&self, _all: &Settings, _namespaces: CloneFlags) -> Result<()> {
        Ok(())
    }

    /// Whether the child needs its own copy of memory for these steps.
    pub(crate) fn needs_fork(&self) -> bool {
        false
    }

    /// The `Unsupported` feature with which `Exec::exec` refuses these
    /// steps in a process with other threads, if they change one thread only.
    pub(crate) fn per_thread(&self) -> Option<&'static str> {
        None
    }

    /// Prepares, in the parent, what the child runs.
    pub(crate) fn prepare(&self) -> Result<FilePlan> {
        Ok(FilePlan::default())
    }
}

impl FilePlan {
    /// After the fds are placed and the others closed: the open and close actions.
    pub(crate) fn actions(&self, _mode: Mode) -> StepResult {
        Ok(())
    }

    /// Where the working directory is set: `fchdir` to an fd.
    pub(crate) fn chdir(&self, _mode: Mode) -> StepResult {
        Ok(())
    }

    /// Execs the program given as an fd (`execveat` with `AT_EMPTY_PATH`),
    /// returning what it answered; `None` when the program is a path.
    pub(crate) fn exec(&self, _argv: *const *const c_char, _envp: *const *const c_char) -> Option<Errno> {
        None
    }
}
