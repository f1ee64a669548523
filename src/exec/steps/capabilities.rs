//! Capabilities: the effective, permitted and inheritable sets, the bounding and ambient sets, the securebits.

use crate::error::Result;
use crate::exec::plan::Settings;
use crate::flags::CloneFlags;

use super::{Mode, StepResult};

/// What the user asked of this concern.
#[derive(Debug, Default)]
pub(crate) struct CapsSettings {}

/// What the child runs, prepared in the parent.
#[derive(Debug, Default)]
pub(crate) struct CapsPlan {}

impl CapsSettings {
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
    pub(crate) fn prepare(&self) -> Result<CapsPlan> {
        Ok(CapsPlan::default())
    }
}

impl CapsPlan {
    /// Before the ids change: what keeps capabilities across the uid change
    /// (`PR_SET_KEEPCAPS`, securebits).
    pub(crate) fn before_ids(&self, _mode: Mode) -> StepResult {
        Ok(())
    }

    /// After the ids change: the bounding set, `capset`, the ambient set.
    pub(crate) fn after_ids(&self, _mode: Mode) -> StepResult {
        Ok(())
    }
}
