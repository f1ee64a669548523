//! Landlock: a ruleset made in the parent, applied in the child with landlock_restrict_self.

use crate::error::Result;
use crate::exec::plan::Settings;
use crate::flags::CloneFlags;

use super::{Mode, StepResult};

/// What the user asked of this concern.
#[derive(Debug, Default)]
pub(crate) struct LandlockSettings {}

/// What the child runs, prepared in the parent.
#[derive(Debug, Default)]
pub(crate) struct LandlockPlan {}

impl LandlockSettings {
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
    pub(crate) fn prepare(&self) -> Result<LandlockPlan> {
        Ok(LandlockPlan::default())
    }
}

impl LandlockPlan {
    /// After `no_new_privs` and the hooks, before seccomp.
    pub(crate) fn run(&self, _mode: Mode) -> StepResult {
        Ok(())
    }
}
