//! The clone engine: the one path by which [`CloneBuilder`](crate::CloneBuilder)
//! and [`Exec`](crate::Exec) create a child. Given a checked [`Request`] and
//! where the child starts ([`Start`]), [`clone_child`] marshals the
//! arguments for `clone3` or legacy `clone`, applies the fallback policy
//! (clone3 where it works, legacy clone where it is absent or refused and
//! nothing needs it; `CLONE_CLEAR_SIGHAND` only where the call can do it),
//! takes the pidfd the kernel stored, and turns a refusal into an error that
//! says why.
//!
//! Layers: `raw` (one system call each) → `engine` → the builder and
//! `Exec` → `probe`. Nothing here checks argument rules: that is
//! `rules.rs`, called by the builder before a request is made.

// Unsafe is denied crate-wide; this file holds some: issuing the clone itself.
#![allow(unsafe_code)]

mod errors;
mod features;
pub(crate) mod signals;

use std::ffi::c_void;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use self::errors::{clone3_error, clone_error};
pub(crate) use self::features::{clone3_recheck, clone3_works, linux_7_1_flags_work, thread_pidfd_works};
use crate::error::{Error, Result};
use crate::flags::CloneFlags;
use crate::raw::{self, CloneArgs};

/// Which system call a [`Request`] goes through: the public
/// [`Syscall`](crate::Syscall) once settled. The builder resolves
/// [`Syscall::Auto`](crate::Syscall::Auto) to `Clone` or `Clone3` before it
/// calls the engine; `PreferClone3` is [`Exec`](crate::Exec)'s policy, which
/// no builder setting asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// Legacy `clone`.
    Clone,
    /// `clone3`; [`Error::Unsupported`] where it is absent.
    Clone3,
    /// `clone3` where it works, else legacy `clone`, unless the request
    /// needs clone3 (`clone3_feature`): then [`Error::Unsupported`].
    PreferClone3,
}

/// One child to create: every argument of the call, already checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    /// The flags the child must be created with.
    pub(crate) flags: CloneFlags,
    /// Flags wanted only where the chosen call can carry them
    /// (`CLONE_CLEAR_SIGHAND`: clone3 from Linux 5.5; `CLONE_NNP`: clone3
    /// from Linux 7.1).
    pub(crate) best_effort: CloneFlags,
    pub(crate) exit_signal: Option<Signal>,
    /// Where `CLONE_PARENT_SETTID` stores the TID, or NULL.
    pub(crate) parent_tid: *mut i32,
    /// Where `CLONE_CHILD_SETTID`/`CLONE_CHILD_CLEARTID` act, or NULL.
    pub(crate) child_tid: *mut i32,
    /// The `CLONE_SETTLS` thread pointer, or NULL.
    pub(crate) tls: *mut c_void,
    pub(crate) set_tid: Option<&'a [Pid]>,
    /// The `CLONE_INTO_CGROUP` directory.
    pub(crate) cgroup: Option<RawFd>,
    pub(crate) call: Call,
    /// What in the request only clone3 can carry, named for errors.
    pub(crate) clone3_feature: Option<&'static str>,
}

impl Request<'_> {
    /// A request with `flags`, exit signal `SIGCHLD` and nothing else.
    pub(crate) fn new(flags: CloneFlags, call: Call) -> Request<'static> {
        Request {
            flags,
            best_effort: CloneFlags::empty(),
            exit_signal: Some(Signal::SIGCHLD),
            parent_tid: ptr::null_mut(),
            child_tid: ptr::null_mut(),
            tls: ptr::null_mut(),
            set_tid: None,
            cgroup: None,
            call,
            clone3_feature: None,
        }
    }
}

/// Where the child starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start {
    /// Right after the call, on a copy of the caller's stack, like fork.
    Here,
    /// In `entry(arg)` on the stack from `base` to `top` (16-byte aligned).
    OnStack {
        base: *mut u8,
        top: *mut u8,
        entry: raw::ChildEntry,
        arg: *mut c_void,
    },
}

/// What [`clone_child`] created.
#[derive(Debug)]
pub(crate) struct Created {
    /// The child's pid in the caller; `None` in a [`Start::Here`] child.
    pub(crate) pid: Option<Pid>,
    /// The pidfd, with `CLONE_PIDFD` (`None` on a kernel that ignored it).
    pub(crate) pidfd: Option<OwnedFd>,
}

/// Whether clone3 refused `CLONE_CLEAR_SIGHAND` (Linux 5.3 and 5.4: EINVAL)
/// and took the same request without it: then it is no longer asked for.
static NO_CLEAR_SIGHAND: AtomicBool = AtomicBool::new(false);

/// Creates the child `request` describes, starting at `start`. Before each
/// attempt, `before(flags)` is told the flags that attempt uses, so that a
/// caller can tell its child what the kernel did for it (e.g. whether
/// `CLONE_CLEAR_SIGHAND` reset the handlers).
///
/// # Safety
///
/// - every pointer in `request` is valid for what its flag makes the kernel
///   read or write, until the call returns (and for the child's life where
///   the flags say so);
/// - with [`Start::Here`], no `CLONE_VM`; with [`Start::OnStack`], the
///   stack is mapped and used by nobody else until the child exits or
///   execs, and `entry` is sound there with `arg` in a task that shares
///   what the flags say;
/// - the child keeps the crate's contract: async-signal-safe work only
///   (see [`CloneBuilder::fork`](crate::CloneBuilder::fork)).
pub(crate) unsafe fn clone_child(
    request: &Request<'_>,
    start: Start,
    before: &mut dyn FnMut(CloneFlags),
) -> Result<Created> {
    let mut clone3 = match request.call {
        Call::Clone => false,
        Call::Clone3 => true,
        Call::PreferClone3 => match (clone3_works(), request.clone3_feature) {
            (Ok(()), _) => true,
            (Err(errno), Some(feature)) => return Err(Error::Unsupported { feature, errno }),
            (Err(_), None) => false,
        },
    };
    // Set when clone3 refused CLONE_CLEAR_SIGHAND (EINVAL): without it, the
    // next attempt tells whether that was the reason.
    let mut dropped_clear_sighand = false;
    loop {
        let mut flags = request.flags;
        if clone3 && !dropped_clear_sighand && !NO_CLEAR_SIGHAND.load(Ordering::Relaxed) {
            flags |= request.best_effort & CloneFlags::CLEAR_SIGHAND;
        }
        // CLONE_NNP where clone3 knows it (Linux 7.1); else the caller's
        // child sets no_new_privs itself (`before` tells it which).
        if clone3
            && request.best_effort.contains(CloneFlags::NNP)
            && linux_7_1_flags_work(CloneFlags::NNP).is_ok()
        {
            flags |= CloneFlags::NNP;
        }
        before(flags);
        let mut pidfd: libc::c_int = -1;
        let attempt = if clone3 {
            // SAFETY: forwarded from the caller.
            unsafe { issue_clone3(request, flags, start, &mut pidfd) }
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { issue_clone(request, flags, start, &mut pidfd) }
        };
        match attempt {
            Ok(pid) => {
                // The pidfd is the parent's: the child's copy of memory and
                // descriptors was made before the kernel stored it.
                // SAFETY: right after the successful call with `flags`.
                let pidfd = pid.and_then(|_| unsafe { take_pidfd(flags, pidfd) });
                if dropped_clear_sighand {
                    NO_CLEAR_SIGHAND.store(true, Ordering::Relaxed);
                }
                return Ok(Created { pid, pidfd });
            }
            Err(Errno::EINVAL)
                if flags.contains(CloneFlags::CLEAR_SIGHAND)
                    && !request.flags.contains(CloneFlags::CLEAR_SIGHAND) =>
            {
                dropped_clear_sighand = true;
            }
            Err(errno) if clone3 => {
                let absent = matches!(errno, Errno::ENOSYS | Errno::EPERM) && clone3_recheck().is_err();
                match (absent, request.call, request.clone3_feature) {
                    (true, Call::PreferClone3, None) => clone3 = false,
                    _ => {
                        return Err(clone3_error(
                            errno,
                            flags,
                            request.set_tid.is_some(),
                            request.clone3_feature,
                        ))
                    }
                }
            }
            Err(errno) => return Err(clone_error("clone", errno, flags, request.set_tid.is_some())),
        }
    }
}

/// clone3 with `request`'s arguments and `flags`.
///
/// # Safety
///
/// As for [`clone_child`].
unsafe fn issue_clone3(
    request: &Request<'_>,
    flags: CloneFlags,
    start: Start,
    pidfd: &mut libc::c_int,
) -> std::result::Result<Option<Pid>, Errno> {
    let address = |p: *mut i32| p as usize as u64;
    let mut args = CloneArgs {
        flags: flags.bits(),
        pidfd: if flags.contains(CloneFlags::PIDFD) {
            address(pidfd)
        } else {
            0
        },
        child_tid: address(request.child_tid),
        parent_tid: address(request.parent_tid),
        exit_signal: request.exit_signal.map_or(0, |sig| sig as i32 as u64),
        tls: request.tls as usize as u64,
        set_tid: request.set_tid.map_or(0, |tids| tids.as_ptr() as usize as u64),
        set_tid_size: request.set_tid.map_or(0, |tids| tids.len() as u64),
        cgroup: request.cgroup.map_or(0, |fd| fd as u64),
        ..CloneArgs::default()
    };
    match start {
        // SAFETY: forwarded from the caller; every pointer in args is theirs or `pidfd`.
        Start::Here => unsafe { raw::clone3(&args) },
        Start::OnStack {
            base,
            top,
            entry,
            arg,
        } => {
            args.stack = base as usize as u64;
            args.stack_size = (top as usize - base as usize) as u64;
            // SAFETY: as above, with the caller's stack and entry.
            unsafe { raw::clone3_on_stack(&args, entry, arg) }.map(Some)
        }
    }
}

/// Legacy clone with `request`'s arguments and `flags`: the pidfd goes
/// where the parent TID would (the builder's rules refuse both at once).
///
/// # Safety
///
/// As for [`clone_child`].
unsafe fn issue_clone(
    request: &Request<'_>,
    flags: CloneFlags,
    start: Start,
    pidfd: &mut libc::c_int,
) -> std::result::Result<Option<Pid>, Errno> {
    let parent_tid = if flags.contains(CloneFlags::PIDFD) {
        pidfd as *mut libc::c_int
    } else {
        request.parent_tid
    };
    let (child_tid, tls, signal) = (request.child_tid, request.tls, request.exit_signal);
    match start {
        // SAFETY: forwarded from the caller.
        Start::Here => unsafe { raw::clone(flags, signal, parent_tid, child_tid, tls) },
        Start::OnStack { top, entry, arg, .. } => {
            // SAFETY: forwarded from the caller.
            unsafe { raw::clone_on_stack(flags, signal, top, parent_tid, child_tid, tls, entry, arg) }
                .map(Some)
        }
    }
}

/// The pidfd a clone stored, if `flags` asked for one and the kernel wrote
/// it (a kernel before 5.2 ignores `CLONE_PIDFD` on legacy clone, leaving -1).
///
/// # Safety
///
/// Called once, right after a successful clone with `flags`, with the int the
/// kernel was told to store the pidfd in (initialised to -1).
unsafe fn take_pidfd(flags: CloneFlags, pidfd: libc::c_int) -> Option<OwnedFd> {
    // SAFETY: with CLONE_PIDFD and a successful call, the kernel stored a new
    // descriptor that nobody else owns (the caller's promise).
    (flags.contains(CloneFlags::PIDFD) && pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) })
}
