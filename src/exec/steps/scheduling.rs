//! Scheduling and the process attributes: CPU affinity, policy and priority, nice, I/O priority, personality, oom_score_adj, PTRACE_TRACEME.

use crate::error::Result;
use crate::exec::plan::Settings;
use crate::flags::CloneFlags;

use super::{Mode, StepResult};

/// What the user asked of this concern.
#[derive(Debug, Default)]
pub(crate) struct SchedSettings {}

/// What the child runs, prepared in the parent.
#[derive(Debug, Default)]
pub(crate) struct SchedPlan {}

impl SchedSettings {
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
    pub(crate) fn prepare(&self) -> Result<SchedPlan> {
        Ok(SchedPlan::default())
    }
}

impl SchedPlan {
    /// Before the ids change (raising a priority needs a privilege the new ids may lack).
    pub(crate) fn run(&self, _mode: Mode) -> StepResult {
        Ok(())
    }

    /// Right before seccomp and `execve`: `PTRACE_TRACEME`.
    pub(crate) fn trace_me(&self, _mode: Mode) -> StepResult {
        Ok(())
    }
}
