//! Terminals: the controlling terminal (TIOCSCTTY, TIOCNOTTY) and the foreground process group (TIOCSPGRP).

use crate::error::Result;
use crate::exec::plan::Settings;
use crate::flags::CloneFlags;

use super::{Mode, StepResult};

/// What the user asked of this concern.
#[derive(Debug, Default)]
pub(crate) struct TerminalSettings {}

/// What the child runs, prepared in the parent.
#[derive(Debug, Default)]
pub(crate) struct TerminalPlan {}

impl TerminalSettings {
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
    pub(crate) fn prepare(&self) -> Result<TerminalPlan> {
        Ok(TerminalPlan::default())
    }
}

impl TerminalPlan {
    /// After `setsid` and `setpgid`, before the fds are placed.
    pub(crate) fn after_session(&self, _mode: Mode) -> StepResult {
        Ok(())
    }

    /// After the fds are placed (the terminal named by its number in the child).
    pub(crate) fn after_fds(&self, _mode: Mode) -> StepResult {
        Ok(())
    }
}
