//! The child's steps, one concern per file. Each file holds what the user
//! asks of its concern (the `Exec` setters and their settings), the rules
//! checked before the spawn, what the parent prepares at plan time, and the
//! raw steps the child runs; [`in_child`](super::in_child) only lists the
//! steps in their order.
//!
//! A concern's settings live in [`StepSettings`] (part of the `Exec`'s
//! settings, so that a setter invalidates the cached plan), and what it
//! prepared in [`StepPlan`] (part of the plan the child reads). The child
//! side of each file obeys [`in_child`](super::in_child)'s contract: raw
//! calls only, no allocation, no lock, no TLS, no panic.

pub(crate) mod capabilities;
pub(crate) mod files;
pub(crate) mod landlock;
pub(crate) mod scheduling;
pub(crate) mod seccomp;
pub(crate) mod terminal;

use nix::errno::Errno;

use crate::error::{ExecStage, Result};
use crate::flags::CloneFlags;

use super::plan::Settings;

/// What a failed step reports.
pub(crate) type Failed = (ExecStage, Errno);

/// What a step returns: nothing, or its stage and errno.
pub(crate) type StepResult = std::result::Result<(), Failed>;

/// Where the steps run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// In a child of a clone, which either execs or exits: what it changes
    /// dies with it.
    Child,
    /// In the calling process ([`Exec::exec`](crate::Exec::exec)), which goes
    /// on after a failure.
    Here,
}

/// What the user asked of each concern.
#[derive(Debug, Default)]
pub(crate) struct StepSettings {
    pub(crate) capabilities: capabilities::CapsSettings,
    pub(crate) files: files::FileSettings,
    pub(crate) landlock: landlock::LandlockSettings,
    pub(crate) scheduling: scheduling::SchedSettings,
    pub(crate) seccomp: seccomp::SeccompSettings,
    pub(crate) terminal: terminal::TerminalSettings,
}

/// What each concern prepared in the parent for the child.
#[derive(Debug)]
pub(crate) struct StepPlan {
    pub(crate) capabilities: capabilities::CapsPlan,
    pub(crate) files: files::FilePlan,
    pub(crate) landlock: landlock::LandlockPlan,
    pub(crate) scheduling: scheduling::SchedPlan,
    pub(crate) seccomp: seccomp::SeccompPlan,
    pub(crate) terminal: terminal::TerminalPlan,
}

impl StepSettings {
    /// Every concern's rules, before anything is created: the first broken one.
    pub(crate) fn check(all: &Settings, namespaces: CloneFlags) -> Result<()> {
        let steps = &all.steps;
        steps.capabilities.check(all, namespaces)?;
        steps.files.check(all, namespaces)?;
        steps.landlock.check(all, namespaces)?;
        steps.scheduling.check(all, namespaces)?;
        steps.seccomp.check(all, namespaces)?;
        steps.terminal.check(all, namespaces)
    }

    /// Whether a step needs a child with its own copy of memory.
    pub(crate) fn needs_fork(&self) -> bool {
        self.capabilities.needs_fork()
            || self.files.needs_fork()
            || self.landlock.needs_fork()
            || self.scheduling.needs_fork()
            || self.seccomp.needs_fork()
            || self.terminal.needs_fork()
    }

    /// The first step that [`Exec::exec`](crate::Exec::exec) cannot run in
    /// a process with other threads (it would change the calling thread
    /// alone), as the `feature` of its `Unsupported`.
    pub(crate) fn per_thread(&self) -> Option<&'static str> {
        self.capabilities
            .per_thread()
            .or_else(|| self.files.per_thread())
            .or_else(|| self.landlock.per_thread())
            .or_else(|| self.scheduling.per_thread())
            .or_else(|| self.seccomp.per_thread())
            .or_else(|| self.terminal.per_thread())
    }

    /// Prepares every concern's part of the plan.
    pub(crate) fn prepare(&self) -> Result<StepPlan> {
        Ok(StepPlan {
            capabilities: self.capabilities.prepare()?,
            files: self.files.prepare()?,
            landlock: self.landlock.prepare()?,
            scheduling: self.scheduling.prepare()?,
            seccomp: self.seccomp.prepare()?,
            terminal: self.terminal.prepare()?,
        })
    }
}
