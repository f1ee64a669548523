//! How one spawn creates its child: the three [`Strategy`]s, with the
//! fallbacks each takes where the kernel or a seccomp filter refuses a call.

use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::in_child;
use super::plan::{self, Plan};
use super::stack_pool::{give_back, take_stack};
use crate::builder::{clone3_error, clone_error, take_pidfd};
use crate::child::Child;
use crate::error::{Error, ExecStage, Result};
use crate::flags::CloneFlags;
use crate::{probe, raw};

/// How [`Exec`](super::Exec) creates the child. All three run the same child program and
/// pass the same tests; they differ in cost and in what the kernel must offer.
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
    /// `clone3(CLONE_VM | CLONE_VFORK | CLONE_CLEAR_SIGHAND [| CLONE_PIDFD]
    /// [| CLONE_INTO_CGROUP] [| namespaces])` on a cached stack: no page
    /// tables are copied and the kernel resets the handlers. Falls back to
    /// legacy `clone` (resetting handlers by hand) where clone3 is absent or
    /// refused by a seccomp filter.
    #[default]
    CloneVfork,
    /// The `vfork` system call, the child moved to a cached stack at once.
    /// Takes no flags: namespaces and a cgroup are refused. With a pidfd, or
    /// where vfork is refused (a seccomp filter), the same child is made by
    /// `clone(CLONE_VM | CLONE_VFORK [| CLONE_PIDFD])`.
    Vfork,
    /// The `fork` system call (`clone` or `clone3` with namespaces, a cgroup
    /// or a pidfd): the child has a copy of memory, so it reports a failure over
    /// an `O_CLOEXEC` pipe. Slowest (page tables are copied), but needs
    /// nothing from the kernel that fork does not.
    Fork,
}

/// Reads the (stage, errno) pair a fork child writes before it exits; end
/// of file (the pipe closed by a successful exec) means success.
pub(super) fn read_report(read: &OwnedFd) -> Option<(ExecStage, Errno)> {
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
    if got < size {
        return None;
    }
    plan::stage_from_code(words[0]).map(|stage| (stage, Errno::from_raw(words[1])))
}

/// How one spawn creates its child.
#[derive(Debug, Clone, Copy)]
pub(super) struct Launch {
    pub(super) strategy: Strategy,
    pub(super) namespaces: CloneFlags,
    pub(super) cgroup: Option<RawFd>,
    pub(super) pidfd: bool,
}

/// Whether clone3 refused `CLONE_CLEAR_SIGHAND` (Linux 5.3 and 5.4): then
/// the child resets handlers itself.
pub(super) static NO_CLEAR_SIGHAND: AtomicBool = AtomicBool::new(false);

/// Whether the vfork system call was refused (a seccomp filter answering
/// ENOSYS or EPERM): then `Strategy::Vfork` uses `clone(CLONE_VM | CLONE_VFORK)`.
pub(super) static NO_VFORK: AtomicBool = AtomicBool::new(false);

impl Launch {
    /// What only clone3 can carry.
    fn clone3_feature(&self) -> Option<&'static str> {
        if self.cgroup.is_some() {
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
        if self.strategy == Strategy::Vfork && (!self.namespaces.is_empty() || self.cgroup.is_some()) {
            return Err(Error::Unsupported {
                feature: "namespaces or a cgroup with Strategy::Vfork (vfork takes no flags; \
                          use CloneVfork or Fork)",
                errno: Errno::EINVAL,
            });
        }
        if let (Some(feature), Err(errno)) = (self.clone3_feature(), probe::clone3_works()) {
            return Err(Error::Unsupported { feature, errno });
        }
        Ok(())
    }

    fn flags(&self) -> CloneFlags {
        let mut flags = self.namespaces;
        if self.cgroup.is_some() {
            flags |= CloneFlags::INTO_CGROUP;
        }
        flags
    }

    /// Blocks every signal, creates the child, restores the mask. The child
    /// has exec'd or failed when this returns (for `Fork`, the error pipe
    /// tells which).
    pub(super) fn run(&self, plan: &mut Plan) -> Result<(Pid, Option<OwnedFd>)> {
        let all = raw::full_sigset();
        // SAFETY: both pointers are live sigset_t's.
        unsafe { raw::rt_sigprocmask(libc::SIG_SETMASK, &all, &mut plan.spawn.old_mask) }
            .map_err(Error::sys("rt_sigprocmask"))?;
        let created = match self.strategy {
            Strategy::CloneVfork => self.clone_vfork(plan),
            Strategy::Vfork => self.vfork(plan),
            Strategy::Fork => self.fork(plan),
        };
        // SAFETY: as above.
        let restored =
            unsafe { raw::rt_sigprocmask(libc::SIG_SETMASK, &plan.spawn.old_mask, std::ptr::null_mut()) };
        let (pid, pidfd) = created?;
        let finished = restored.map_err(Error::sys("rt_sigprocmask")).and_then(|()| {
            // The pidfd is made with the child or not at all: one opened
            // afterwards could name a process that reused the pid of a child
            // the kernel reaped already (SIGCHLD ignored).
            match self.pidfd && pidfd.is_none() {
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
            // SAFETY: our own child, not yet reaped; no release word.
            unsafe { Child::new(pid, CloneFlags::empty(), pidfd, None, None) }.discard();
            return Err(err);
        }
        Ok((pid, pidfd))
    }

    /// `clone3(CLONE_VM | CLONE_VFORK | ...)` on a cached stack, or legacy
    /// `clone` where clone3 is absent.
    fn clone_vfork(&self, plan: &mut Plan) -> Result<(Pid, Option<OwnedFd>)> {
        let mut stack = take_stack()?;
        let (base, top) = (stack.base(), stack.top());
        let mut flags = CloneFlags::VM | CloneFlags::VFORK | self.flags();
        if self.pidfd {
            flags |= CloneFlags::PIDFD;
        }
        let mut pidfd: c_int = -1;
        let mut clone3 = probe::clone3_works().is_ok();
        let mut clear = !NO_CLEAR_SIGHAND.load(Ordering::Relaxed);
        let result = loop {
            if !clone3 {
                break legacy_clone_vfork(plan, flags, top, &mut pidfd);
            }
            plan.spawn.reset_handlers = !clear;
            let mut asked = flags;
            if clear {
                asked |= CloneFlags::CLEAR_SIGHAND;
            }
            let args = raw::CloneArgs {
                flags: asked.bits(),
                pidfd: &mut pidfd as *mut c_int as u64,
                exit_signal: libc::SIGCHLD as u64,
                stack: base as u64,
                stack_size: (top as usize - base as usize) as u64,
                cgroup: self.cgroup.map_or(0, |fd| fd as u64),
                ..raw::CloneArgs::default()
            };
            let arg = child_arg(plan);
            // SAFETY: as above; every pointer in `args` is a live local.
            match unsafe { raw::clone3_on_stack(&args, in_child::entry, arg) } {
                Err(Errno::EINVAL) if clear => clear = false,
                Err(errno @ (Errno::ENOSYS | Errno::EPERM)) => match probe::clone3_recheck() {
                    Err(absent) => match self.clone3_feature() {
                        Some(feature) => {
                            break Err(Error::Unsupported {
                                feature,
                                errno: absent,
                            })
                        }
                        None => clone3 = false,
                    },
                    // clone3 works: a real EPERM (a namespace needs privilege).
                    Ok(()) => break Err(clone3_error(errno, asked, false, None)),
                },
                Err(errno) => break Err(clone3_error(errno, asked, false, None)),
                Ok(pid) => {
                    if !clear {
                        NO_CLEAR_SIGHAND.store(true, Ordering::Relaxed);
                    }
                    break Ok(pid);
                }
            }
        };
        // The child has exec'd or exited: the stack is free again.
        give_back(stack);
        let pid = result?;
        // SAFETY: right after the successful clone with `flags`.
        Ok((pid, unsafe { take_pidfd(flags, pidfd) }))
    }

    /// `vfork`, the child moved to a cached stack before it runs any code.
    /// `clone(CLONE_VM | CLONE_VFORK)` does the same where a pidfd is asked
    /// for (vfork cannot carry `CLONE_PIDFD`) or where vfork is refused (a
    /// seccomp filter answering ENOSYS or EPERM; remembered).
    fn vfork(&self, plan: &mut Plan) -> Result<(Pid, Option<OwnedFd>)> {
        let mut stack = take_stack()?;
        let top = stack.top();
        let mut pidfd: c_int = -1;
        let flags = if self.pidfd {
            CloneFlags::PIDFD
        } else {
            CloneFlags::empty()
        };
        let vforked = if self.pidfd || NO_VFORK.load(Ordering::Relaxed) {
            None
        } else {
            plan.spawn.reset_handlers = true;
            let arg = child_arg(plan);
            // SAFETY: as in `clone_vfork`: the stack is ours until the child
            // execs or exits, which vfork waits for.
            match unsafe { raw::vfork_on_stack(top, in_child::entry, arg) } {
                Err(Errno::ENOSYS | Errno::EPERM) => {
                    NO_VFORK.store(true, Ordering::Relaxed);
                    None
                }
                other => Some(other.map_err(Error::sys("vfork"))),
            }
        };
        let created = match vforked {
            Some(created) => created,
            None => legacy_clone_vfork(plan, flags, top, &mut pidfd),
        };
        give_back(stack);
        // SAFETY: right after the successful clone with `flags` (or a vfork,
        // with no pidfd asked for).
        Ok((created?, unsafe { take_pidfd(flags, pidfd) }))
    }

    /// `fork`, or `clone`/`clone3` without a stack when there are flags; the
    /// child runs the plan on its copy of memory.
    fn fork(&self, plan: &mut Plan) -> Result<(Pid, Option<OwnedFd>)> {
        plan.spawn.reset_handlers = true;
        let mut flags = self.flags();
        let mut pidfd: c_int = -1;
        let created = if flags.is_empty() && !self.pidfd {
            // SAFETY: the child runs only the plan (raw system calls).
            unsafe { raw::fork() }.map_err(Error::sys("fork"))
        } else {
            // The pidfd comes from the clone itself (CLONE_PIDFD).
            if self.pidfd {
                flags |= CloneFlags::PIDFD;
            }
            if self.clone3_feature().is_some() {
                let args = raw::CloneArgs {
                    flags: flags.bits(),
                    pidfd: &mut pidfd as *mut c_int as u64,
                    exit_signal: libc::SIGCHLD as u64,
                    cgroup: self.cgroup.map_or(0, |fd| fd as u64),
                    ..raw::CloneArgs::default()
                };
                // SAFETY: as above; no CLONE_VM, pointers are live locals.
                unsafe { raw::clone3(&args) }.map_err(|errno| clone3_error(errno, flags, false, None))
            } else {
                // Legacy clone writes the pidfd where the parent TID would go.
                let parent_tid = if self.pidfd {
                    &mut pidfd as *mut c_int
                } else {
                    std::ptr::null_mut()
                };
                let (no_child_tid, no_tls) = (std::ptr::null_mut(), std::ptr::null_mut());
                // SAFETY: as above; no CLONE_VM.
                unsafe { raw::clone(flags, Some(Signal::SIGCHLD), parent_tid, no_child_tid, no_tls) }
                    .map_err(|errno| clone_error("clone", errno, flags, false))
            }
        };
        match created? {
            // SAFETY: a fresh fork-like child of ours, every signal blocked.
            None => unsafe { in_child::run(plan) },
            Some(pid) => {
                // SAFETY: right after the successful clone with `flags`.
                Ok((pid, unsafe { take_pidfd(flags, pidfd) }))
            }
        }
    }
}

/// Legacy `clone(CLONE_VM | CLONE_VFORK | flags)` with the child on the
/// stack whose top is `top`; with `CLONE_PIDFD` in `flags` the kernel
/// writes the pidfd to `pidfd` (legacy clone's parent TID pointer). The
/// child resets its handlers itself.
pub(super) fn legacy_clone_vfork(
    plan: &mut Plan,
    flags: CloneFlags,
    top: *mut u8,
    pidfd: &mut c_int,
) -> Result<Pid> {
    plan.spawn.reset_handlers = true;
    let flags = flags | CloneFlags::VM | CloneFlags::VFORK;
    let parent_tid = if flags.contains(CloneFlags::PIDFD) {
        pidfd as *mut c_int
    } else {
        std::ptr::null_mut()
    };
    let arg = child_arg(plan);
    // SAFETY: the stack is ours and unused until the child has exec'd or
    // exited (CLONE_VFORK suspends us until then); the entry runs only the
    // plan, which we do not touch meanwhile.
    let created = unsafe {
        raw::clone_on_stack(
            flags,
            Some(Signal::SIGCHLD),
            top,
            parent_tid,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            in_child::entry,
            arg,
        )
    };
    created.map_err(|errno| clone_error("clone", errno, flags, false))
}

/// The argument of [`in_child::entry`]: taken from `plan` right before the
/// clone, after the parent's last write, and not used once it returns.
pub(super) fn child_arg(plan: &mut Plan) -> *mut c_void {
    (plan as *mut Plan).cast::<c_void>()
}
