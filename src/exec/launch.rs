//! How one spawn creates its child: the three [`Strategy`]s, with the
//! fallbacks each takes where the kernel or a seccomp filter refuses a call.

// Unsafe is denied crate-wide; this file holds some: creating the child through the engine.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::in_child;
use super::plan::{self, Plan};
use super::stack_pool::{give_back, take_stack};
use crate::child::Child;
use crate::engine::{self, Call, Request, Start};
use crate::error::{Error, ExecStage, Result};
use crate::flags::CloneFlags;
use crate::raw;

/// How [`Exec`](super::Exec) creates the child. All three run the same child program and
/// pass the same tests; they differ in cost and in what the kernel must offer.
///
/// An `Exec` with a [`pre_exec`](super::Exec::pre_exec) hook, a
/// [`uid_map`](super::Exec::uid_map) / [`gid_map`](super::Exec::gid_map), or
/// new ids ([`uid`](super::Exec::uid), [`gid`](super::Exec::gid),
/// [`groups`](super::Exec::groups)) always creates its child as
/// [`Strategy::Fork`] does, whatever strategy was chosen: a hook is arbitrary
/// code, which may not run on the parent's memory; a child waiting for its
/// maps cannot be a `CLONE_VFORK` child, whose parent is suspended until it
/// execs; and a change of ids marks the memory not dumpable, which must not
/// be the parent's.
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Strategy};
/// for strategy in [Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork] {
///     assert!(Exec::new("true").strategy(strategy).status()?.success());
/// }
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html),
///   [vfork(2)](https://man7.org/linux/man-pages/man2/vfork.2.html),
///   [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// `clone3(CLONE_VM | CLONE_VFORK | CLONE_CLEAR_SIGHAND | CLONE_PIDFD
    /// [| CLONE_INTO_CGROUP] [| namespaces])` on a cached stack: no page
    /// tables are copied and the kernel resets the handlers. Falls back to
    /// legacy `clone` (resetting handlers by hand) where clone3 is absent or
    /// refused by a seccomp filter.
    #[default]
    CloneVfork,
    /// A vfork child, moved to a cached stack at once: `clone(CLONE_VM |
    /// CLONE_VFORK | CLONE_PIDFD)`, which is what the `vfork` system call
    /// makes, plus the pidfd the handle waits and kills through. The `vfork`
    /// system call itself is used where the handle goes without a pidfd (no
    /// fd free for it). Takes no other flags: namespaces and a cgroup are
    /// refused. Architectures without a `vfork` system call (aarch64,
    /// riscv64, ...) make the child the same way.
    Vfork,
    /// A fork child: `clone(SIGCHLD | CLONE_PIDFD)` (`clone3` for what only
    /// it can carry: a cgroup, a time namespace), which is what the `fork`
    /// system call makes plus the pidfd; `fork` itself where the handle
    /// goes without one. The child has a copy of memory, so it reports a
    /// failure over an `O_CLOEXEC` pipe. Slowest (page tables are copied),
    /// but needs nothing from the kernel that fork does not.
    Fork,
}

/// What a fork child reported before its pipe closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Report {
    /// End of file: the pipe was closed by a successful exec.
    Execd,
    /// A step failed with this errno.
    Failed(ExecStage, Errno),
    /// End of file while the `pre_exec` hooks ran: a hook ended the child
    /// (an abort, a panic under `panic = "abort"`, an exit, a signal).
    EndedInHook,
}

/// Reads a fork child's records until the pipe's end of file or a failure:
/// the marks around the hooks (see `HOOKS_STARTED`), then at most one
/// (stage, errno) pair.
pub(super) fn read_report(read: &OwnedFd) -> Report {
    let mut in_hooks = false;
    loop {
        match read_record(read) {
            None if in_hooks => return Report::EndedInHook,
            None => return Report::Execd,
            Some([plan::HOOKS_STARTED, _]) => in_hooks = true,
            Some([plan::HOOKS_DONE, _]) => in_hooks = false,
            Some([code, errno]) => {
                return match plan::stage_from_code(code) {
                    Some(stage) => Report::Failed(stage, Errno::from_raw(errno)),
                    // Not ours: the child wrote nothing else; take it as
                    // what the pipe said before it (a child that ran on).
                    None => Report::Execd,
                };
            }
        }
    }
}

/// One 8-byte record from the report pipe; `None` at end of file (or a
/// record cut short, which only a child that died mid-write leaves).
fn read_record(read: &OwnedFd) -> Option<[i32; 2]> {
    let mut words = [0i32; 2];
    let size = std::mem::size_of_val(&words);
    let mut got = 0;
    while got < size {
        // SAFETY: the buffer is live and has `size - got` bytes left at `got`.
        let n = unsafe {
            raw::read(
                read.as_raw_fd(),
                words.as_mut_ptr().cast::<u8>().add(got),
                size - got,
            )
        };
        match n {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    (got == size).then_some(words)
}

/// How one spawn creates its child.
#[derive(Debug, Clone, Copy)]
pub(super) struct SpawnMethod {
    pub(super) strategy: Strategy,
    pub(super) namespaces: CloneFlags,
    pub(super) cgroup: Option<RawFd>,
    /// A pidfd was asked for: the handle shows it, and spawn fails without.
    pub(super) pidfd: bool,
    /// Take a pidfd for the handle's own use where the call carries one
    /// at no cost (see `takes_pidfd`); dropped if there is no fd free for it.
    pub(super) private_pidfd: bool,
    /// How the child's life ends, beyond exiting: `CLONE_AUTOREAP`, with
    /// `CLONE_PIDFD_AUTOKILL` or not (Linux 7.1, clone3 only).
    pub(super) lifetime: CloneFlags,
    /// `no_new_privs` is asked for: set by the clone itself (`CLONE_NNP`)
    /// where clone3 carries it, else by the child.
    pub(super) nnp: bool,
}

/// Whether the vfork system call was refused (a seccomp filter answering
/// ENOSYS or EPERM): then `Strategy::Vfork` uses `clone(CLONE_VM | CLONE_VFORK)`.
pub(super) static NO_VFORK: AtomicBool = AtomicBool::new(false);

impl SpawnMethod {
    /// What only clone3 can carry.
    fn clone3_feature(&self) -> Option<&'static str> {
        if !self.lifetime.is_empty() {
            crate::flags::linux_7_1_feature(self.lifetime)
        } else if self.cgroup.is_some() {
            Some("a cgroup (CLONE_INTO_CGROUP)")
        } else if self.namespaces.contains(CloneFlags::NEWTIME) {
            Some("a time namespace (CLONE_NEWTIME)")
        } else {
            None
        }
    }

    /// Refuses what this strategy cannot do on this host, before anything
    /// is created.
    pub(super) fn check(&self) -> Result<()> {
        let vfork_like = matches!(self.strategy, Strategy::CloneVfork | Strategy::Vfork);
        if vfork_like && !raw::HAS_TRAMPOLINES {
            return Err(Error::Unsupported {
                feature: "a vfork-like spawn on this architecture (use Strategy::Fork)",
                errno: Errno::ENOSYS,
            });
        }
        let flagged = !self.namespaces.is_empty() || self.cgroup.is_some() || !self.lifetime.is_empty();
        if self.strategy == Strategy::Vfork && flagged {
            return Err(Error::Unsupported {
                feature: "namespaces, a cgroup, autoreap or autokill with Strategy::Vfork (vfork \
                          takes no flags; use CloneVfork or Fork)",
                errno: Errno::EINVAL,
            });
        }
        if let (Some(feature), Err(errno)) = (
            crate::flags::linux_7_1_feature(self.lifetime),
            engine::linux_7_1_flags_work(self.lifetime),
        ) {
            return Err(Error::Unsupported { feature, errno });
        }
        if let (Some(feature), Err(errno)) = (self.clone3_feature(), engine::clone3_works()) {
            return Err(Error::Unsupported { feature, errno });
        }
        Ok(())
    }

    /// The flags every strategy's clone carries besides its own: the
    /// namespaces, the cgroup and the pidfd.
    fn flags(&self) -> CloneFlags {
        let mut flags = self.namespaces | self.lifetime;
        flags.set(CloneFlags::INTO_CGROUP, self.cgroup.is_some());
        flags.set(CloneFlags::PIDFD, self.takes_pidfd());
        flags
    }

    /// Whether the clone makes a pidfd: when one is asked for, and else for
    /// the handle's own use, in every strategy: a wait, a kill and a drop
    /// through it can only ever reach this child, never another that reused
    /// its pid after the kernel reaped this one (`SIGCHLD` ignored). The
    /// `vfork` and `fork` system calls cannot carry `CLONE_PIDFD`, so the
    /// child is made by `clone` instead (the same child: `clone(CLONE_VM |
    /// CLONE_VFORK)`, `clone(SIGCHLD)`); they are used only where the
    /// handle goes without (see `run`'s `EMFILE` retry).
    fn takes_pidfd(&self) -> bool {
        self.needs_pidfd() || self.private_pidfd
    }

    /// Whether the spawn fails without a pidfd: one was asked for, or the
    /// child dies with it (`CLONE_PIDFD_AUTOKILL`).
    fn needs_pidfd(&self) -> bool {
        self.pidfd || self.lifetime.contains(CloneFlags::PIDFD_AUTOKILL)
    }

    /// The engine's request for `flags` through `call`, exit signal SIGCHLD.
    fn request(&self, flags: CloneFlags, call: Call) -> Request<'static> {
        let mut best_effort = CloneFlags::empty();
        best_effort.set(CloneFlags::NNP, self.nnp);
        Request {
            cgroup: self.cgroup,
            clone3_feature: self.clone3_feature(),
            best_effort,
            // An autoreaped child sends no exit signal (the kernel's rule).
            exit_signal: match flags.contains(CloneFlags::AUTOREAP) {
                true => None,
                false => Some(Signal::SIGCHLD),
            },
            ..Request::new(flags, call)
        }
    }

    /// Blocks every signal, creates the child, restores the mask. The child
    /// has exec'd or failed when this returns (for `Fork`, the error pipe
    /// tells which).
    pub(super) fn run(&self, plan: &mut Plan) -> Result<(Pid, Option<OwnedFd>)> {
        let all = raw::full_sigset();
        // SAFETY: both pointers are live sigset_t's.
        unsafe { raw::rt_sigprocmask(libc::SIG_SETMASK, &all, &mut plan.spawn.old_mask) }
            .map_err(Error::sys("rt_sigprocmask"))?;
        let created = match self.create(plan) {
            // No fd free for a pidfd nobody asked for: a spawn that needs no
            // fd (stdio inherited) must not fail for it. Go without.
            Err(Error::Sys {
                errno: Errno::EMFILE | Errno::ENFILE,
                ..
            }) if !self.needs_pidfd() && self.takes_pidfd() => SpawnMethod {
                private_pidfd: false,
                ..*self
            }
            .create(plan),
            other => other,
        };
        // SAFETY: as above.
        let restored =
            unsafe { raw::rt_sigprocmask(libc::SIG_SETMASK, &plan.spawn.old_mask, std::ptr::null_mut()) };
        let (pid, pidfd) = created?;
        let finished = restored.map_err(Error::sys("rt_sigprocmask")).and_then(|()| {
            // The pidfd is made with the child or not at all: one opened
            // afterwards could name a process that reused the pid of a child
            // the kernel reaped already (SIGCHLD ignored).
            match self.needs_pidfd() && pidfd.is_none() {
                true => Err(Error::Unsupported {
                    feature: "a pidfd (CLONE_PIDFD, Linux 5.2)",
                    errno: Errno::ENOSYS,
                }),
                false => Ok(()),
            }
        });
        if let Err(err) = finished {
            // The child runs, but spawn fails: it must not outlive the error
            // unseen, nor stay a zombie.
            Child::of_process(pid, CloneFlags::empty(), pidfd).discard();
            return Err(err);
        }
        Ok((pid, pidfd))
    }

    /// Creates the child with this strategy.
    fn create(&self, plan: &Plan) -> Result<(Pid, Option<OwnedFd>)> {
        match self.strategy {
            Strategy::CloneVfork => self.clone_vfork(plan),
            Strategy::Vfork => self.vfork(plan),
            Strategy::Fork => self.fork(plan),
        }
    }

    /// `clone3(CLONE_VM | CLONE_VFORK | CLONE_CLEAR_SIGHAND | ...)` on a
    /// pooled stack. The engine falls back to legacy clone where clone3 is
    /// absent or refused, and drops `CLONE_CLEAR_SIGHAND` where the call
    /// cannot do it: the child then resets its handlers itself.
    fn clone_vfork(&self, plan: &Plan) -> Result<(Pid, Option<OwnedFd>)> {
        let mut request = self.request(
            CloneFlags::VM | CloneFlags::VFORK | self.flags(),
            Call::PreferClone3,
        );
        request.best_effort |= CloneFlags::CLEAR_SIGHAND;
        on_pooled_stack(plan, &request)
    }

    /// The `vfork` system call, the child moved to a pooled stack before it
    /// runs any code. `clone(CLONE_VM | CLONE_VFORK)` does the same where a
    /// pidfd is asked for (vfork cannot carry `CLONE_PIDFD`) or where vfork
    /// is refused (a seccomp filter answering ENOSYS or EPERM; remembered).
    fn vfork(&self, plan: &Plan) -> Result<(Pid, Option<OwnedFd>)> {
        if !self.takes_pidfd() && !NO_VFORK.load(Ordering::Relaxed) {
            let mut stack = take_stack()?;
            plan.spawn.reset_handlers.store(true, Ordering::Relaxed);
            // SAFETY: the stack is ours until the child execs or exits,
            // which vfork waits for; the entry runs only the plan.
            let vforked = unsafe { raw::vfork_on_stack(stack.top(), in_child::entry, child_arg(plan)) };
            give_back(stack);
            match vforked {
                Err(Errno::ENOSYS | Errno::EPERM) => NO_VFORK.store(true, Ordering::Relaxed),
                other => return Ok((other.map_err(Error::sys("vfork"))?, None)),
            }
        }
        let request = self.request(CloneFlags::VM | CloneFlags::VFORK | self.flags(), Call::Clone);
        on_pooled_stack(plan, &request)
    }

    /// `fork`, or `clone`/`clone3` without a stack when there are flags; the
    /// child runs the plan on its copy of memory.
    fn fork(&self, plan: &Plan) -> Result<(Pid, Option<OwnedFd>)> {
        plan.spawn.reset_handlers.store(true, Ordering::Relaxed);
        let flags = self.flags();
        let created = if flags.is_empty() {
            // SAFETY: the child runs only the plan (raw system calls).
            unsafe { raw::fork() }
                .map(|pid| (pid, None))
                .map_err(Error::sys("fork"))
        } else {
            let call = match self.clone3_feature() {
                Some(_) => Call::Clone3,
                None => Call::Clone,
            };
            let nnp = &plan.spawn.nnp_at_clone;
            let mut before =
                |flags: CloneFlags| nnp.store(flags.contains(CloneFlags::NNP), Ordering::Relaxed);
            // SAFETY: no CLONE_VM; the request holds no pointer; the child
            // runs only the plan.
            unsafe { engine::clone_child(&self.request(flags, call), Start::Here, &mut before) }
                .map(|created| (created.pid, created.pidfd))
        };
        match created? {
            // SAFETY: a fresh fork-like child of ours, every signal blocked.
            (None, _) => unsafe { in_child::run(plan) },
            (Some(pid), pidfd) => Ok((pid, pidfd)),
        }
    }
}

/// Creates a vfork-like child through the engine on a pooled stack; it
/// runs the plan, told whether the kernel reset its handlers.
fn on_pooled_stack(plan: &Plan, request: &Request<'_>) -> Result<(Pid, Option<OwnedFd>)> {
    let mut stack = take_stack()?;
    let start = Start::OnStack {
        base: stack.base(),
        top: stack.top(),
        entry: in_child::entry,
        arg: child_arg(plan),
    };
    let (reset, nnp) = (&plan.spawn.reset_handlers, &plan.spawn.nnp_at_clone);
    let mut before = |flags: CloneFlags| {
        reset.store(!flags.contains(CloneFlags::CLEAR_SIGHAND), Ordering::Relaxed);
        nnp.store(flags.contains(CloneFlags::NNP), Ordering::Relaxed);
    };
    // SAFETY: the stack is ours and unused until the child has exec'd or
    // exited (CLONE_VFORK suspends us until then); the entry runs only the
    // plan, of which we write nothing meanwhile but this atomic, before
    // each attempt; the request holds no pointer.
    let created = unsafe { engine::clone_child(request, start, &mut before) };
    // The child has exec'd or exited: the stack is free again.
    give_back(stack);
    let created = created?;
    let pid = created.pid.expect("a child on its own stack never returns here");
    Ok((pid, created.pidfd))
}

/// The argument of [`in_child::entry`]: the plan, shared with the child,
/// which reads it and writes only its atomics.
fn child_arg(plan: &Plan) -> *mut c_void {
    (plan as *const Plan).cast_mut().cast::<c_void>()
}
