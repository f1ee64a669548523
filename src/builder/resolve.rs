//! What a builder resolves to before the call: the flags the kernel gets,
//! the rules they keep, the system call that can carry them, and the
//! engine's request.

use std::os::fd::AsRawFd;
use std::ptr;

use super::{CloneBuilder, Syscall};
use crate::engine::{self, Call, Request};
use crate::error::{Error, Result};
use crate::flags::CloneFlags;
use crate::rules::{self, Arguments, Conflict, Rule};
use crate::tid::TidSlot;

/// What a checked builder resolves to: the flags the kernel will get and
/// whether clone3 carries them.
#[derive(Clone, Copy)]
pub(super) struct Resolved {
    pub(super) flags: CloneFlags,
    pub(super) clone3: bool,
}

impl<'a> CloneBuilder<'a> {
    /// The flags the kernel gets: the ones given plus the ones the argument
    /// methods imply.
    pub(super) fn effective_flags(&self) -> CloneFlags {
        let mut flags = self.flags;
        flags.set(
            CloneFlags::PIDFD,
            self.pidfd || self.flags.contains(CloneFlags::PIDFD),
        );
        flags |= implied(self.parent_tid.is_some(), CloneFlags::PARENT_SETTID)
            | implied(self.child_tid.is_some(), CloneFlags::CHILD_SETTID)
            | implied(self.clear_child_tid.is_some(), CloneFlags::CHILD_CLEARTID)
            | implied(self.tls.is_some(), CloneFlags::SETTLS)
            | implied(self.cgroup.is_some(), CloneFlags::INTO_CGROUP);
        flags
    }

    pub(super) fn resolve(&self) -> Result<Resolved> {
        let flags = self.effective_flags();
        flags.check()?;
        self.check_arguments(flags)?;
        if flags.contains(CloneFlags::PIDFD | CloneFlags::THREAD) {
            if let Err(errno) = engine::thread_pidfd_works() {
                return Err(Error::Unsupported {
                    feature: "CLONE_PIDFD with CLONE_THREAD (Linux 6.9)",
                    errno,
                });
            }
        }
        let clone3_feature = self.clone3_feature(flags);
        let clone3 = match (self.syscall, clone3_feature) {
            (Syscall::Clone3, _) => true,
            (Syscall::Auto, None) => false,
            (Syscall::Clone, None) => false,
            (Syscall::Clone, Some(_)) => {
                let rule = if self.set_tid.is_none() && !flags.intersects(CloneFlags::CLONE3_ONLY) {
                    Rule::PidfdWithParentSettid
                } else {
                    Rule::Clone3Only
                };
                return Err(Conflict::new(rule, flags).into());
            }
            (Syscall::Auto, Some(feature)) => {
                if let Err(errno) = engine::clone3_works() {
                    return Err(Error::Unsupported { feature, errno });
                }
                true
            }
        };
        if let Some(feature) = crate::flags::linux_7_1_feature(flags) {
            if let Err(errno) = engine::linux_7_1_flags_work(flags) {
                return Err(Error::Unsupported { feature, errno });
            }
        }
        Ok(Resolved { flags, clone3 })
    }

    /// The rules between flags and the arguments that go with them.
    pub(super) fn check_arguments(&self, flags: CloneFlags) -> std::result::Result<(), Conflict> {
        let given = Arguments {
            parent_tid: self.parent_tid.is_some(),
            child_tid: self.child_tid,
            clear_child_tid: self.clear_child_tid,
            tls: self.tls.is_some(),
            cgroup: self.cgroup.is_some(),
            exit_signal: self.exit_signal.is_some(),
            id_maps: self.id_maps.any(),
            set_tid: self.set_tid,
            caller: &self.caller,
        };
        rules::check_arguments(flags, &given)
    }

    /// The first thing asked for that only clone3 can carry, if any.
    pub(super) fn clone3_feature(&self, flags: CloneFlags) -> Option<&'static str> {
        let features = [
            (flags.contains(CloneFlags::CLEAR_SIGHAND), "CLONE_CLEAR_SIGHAND"),
            (flags.contains(CloneFlags::INTO_CGROUP), "CLONE_INTO_CGROUP"),
            (flags.contains(CloneFlags::NEWTIME), "CLONE_NEWTIME"),
            (
                flags.intersects(CloneFlags::LINUX_7_1),
                "Linux 7.1's clone3 flags",
            ),
            (self.set_tid.is_some(), "set_tid"),
            (
                flags.contains(CloneFlags::PIDFD | CloneFlags::PARENT_SETTID),
                "CLONE_PIDFD with CLONE_PARENT_SETTID",
            ),
        ];
        features.iter().find(|(asked, _)| *asked).map(|&(_, name)| name)
    }

    /// The engine's request for these arguments, with the flags and call
    /// `resolved` settled on and the child_tid word `child_tid` (or NULL).
    pub(super) fn request(&self, resolved: Resolved, child_tid: *mut i32) -> Request<'a> {
        Request {
            flags: resolved.flags,
            best_effort: CloneFlags::empty(),
            exit_signal: self.exit_signal,
            parent_tid: self.parent_tid.map_or(ptr::null_mut(), TidSlot::as_ptr),
            child_tid,
            tls: self.tls.unwrap_or(ptr::null_mut()),
            set_tid: self.set_tid,
            cgroup: self.cgroup.map(|fd| fd.as_raw_fd()),
            call: if resolved.clone3 {
                Call::Clone3
            } else {
                Call::Clone
            },
            clone3_feature: self.clone3_feature(resolved.flags),
        }
    }

    /// Whether to take a pidfd the caller did not ask for, for the
    /// [`Child`](crate::Child)'s own use: a `CLONE_PARENT` child is reaped by our parent,
    /// so its pid may be reused at any time, and only a pidfd lets
    /// [`Child::kill`](crate::Child::kill) reach it safely. Taken where the call can carry one
    /// (not with `CLONE_THREAD`, nor beside a parent TID slot on legacy clone).
    pub(super) fn takes_private_pidfd(&self, resolved: Resolved) -> bool {
        let flags = resolved.flags;
        flags.contains(CloneFlags::PARENT)
            && !flags.intersects(CloneFlags::PIDFD | CloneFlags::THREAD)
            && (resolved.clone3 || !flags.contains(CloneFlags::PARENT_SETTID))
    }

    /// The child_tid pointer: one slot serves CHILD_SETTID and CHILD_CLEARTID.
    pub(super) fn child_tid_slot(&self) -> Option<&'a TidSlot> {
        self.clear_child_tid.or(self.child_tid)
    }
}

fn implied(asked: bool, flag: CloneFlags) -> CloneFlags {
    if asked {
        flag
    } else {
        CloneFlags::empty()
    }
}
