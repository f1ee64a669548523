//! One clone request, asked twice in a sacrificial helper made in a caller
//! context: `CloneBuilder::check` (the crate's rules) and the raw system call
//! with the same arguments (what the kernel answers). The child the raw call
//! may create ends at once and is reaped (or, a `CLONE_PARENT` sibling, left
//! for the test to reap). For `tests/rules_differential.rs` and
//! `tests/rules_context.rs`.

use std::ffi::c_void;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

use clonekit::raw::{self, CloneArgs};
use clonekit::{CloneBuilder, CloneFlags, Errno, Error, Pid, Rule, Signal, Stack, Syscall, TidSlot};

use super::fork::{code_of, exit_at_once, in_helper, reap_bounded};
use super::shared_page::SharedPage;

/// Where the helper stands when it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Nothing changed.
    Plain,
    /// PID 1 of a new PID namespace (the helper's child after its
    /// `unshare(CLONE_NEWPID)`).
    PidNsInit,
    /// After `unshare(CLONE_NEWPID)`: children go to a namespace without init.
    AfterPidUnshare,
    /// After `unshare(CLONE_NEWTIME)`: children go to another time namespace.
    AfterTimeUnshare,
}

pub const CONTEXTS: [Context; 4] = [
    Context::Plain,
    Context::PidNsInit,
    Context::AfterPidUnshare,
    Context::AfterTimeUnshare,
];

/// The exit signal asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitSig {
    /// `exit_signal(None)`, 0 for the kernel.
    None,
    Valid(Signal),
    /// No signal: the builder can only be given it as the flags' low byte
    /// (unknown bits); clone3 gets it in `exit_signal`, legacy clone in the
    /// low byte.
    Invalid(u64),
}

/// Which TID slot an argument names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    None,
    A,
    B,
}

/// Where the pidfd is written (with `pidfd(true)`; the raw call only: the
/// builder's pidfd lives in the engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidfdSlot {
    None,
    Own,
    /// The parent TID's word: clone3 writes both there; legacy clone has one
    /// argument for both.
    SameAsParentTid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupFd {
    None,
    /// A cgroup v2 directory the test may move a child into.
    Valid,
    /// A directory that is not a cgroup.
    NotCgroup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackSize {
    None,
    Small,
    Normal,
}

/// One request.
#[derive(Debug, Clone)]
pub struct Case {
    /// The flags given to `CloneBuilder::flags` (named ones, and maybe
    /// unknown bits).
    pub flags: CloneFlags,
    pub exit_signal: ExitSig,
    pub parent_tid: bool,
    pub child_tid: Slot,
    pub clear_child_tid: Slot,
    pub pidfd: PidfdSlot,
    pub tls: bool,
    pub set_tid: Option<Vec<i32>>,
    pub cgroup: CgroupFd,
    pub stack: StackSize,
    pub syscall: Syscall,
}

impl Case {
    /// A request with these flags and nothing else (no exit signal).
    pub fn flags(flags: CloneFlags) -> Case {
        Case {
            flags,
            exit_signal: ExitSig::None,
            parent_tid: false,
            child_tid: Slot::None,
            clear_child_tid: Slot::None,
            pidfd: PidfdSlot::None,
            tls: false,
            set_tid: None,
            cgroup: CgroupFd::None,
            stack: StackSize::Normal,
            syscall: Syscall::Auto,
        }
    }

    /// The flags the kernel gets: the ones given, the low byte of an invalid
    /// exit signal excluded, plus those the arguments imply (as the builder
    /// adds them).
    pub fn effective_flags(&self) -> CloneFlags {
        let mut flags = self.flags;
        let implied = [
            (self.parent_tid, CloneFlags::PARENT_SETTID),
            (self.child_tid != Slot::None, CloneFlags::CHILD_SETTID),
            (self.clear_child_tid != Slot::None, CloneFlags::CHILD_CLEARTID),
            (self.tls, CloneFlags::SETTLS),
            (self.cgroup != CgroupFd::None, CloneFlags::INTO_CGROUP),
            (self.pidfd != PidfdSlot::None, CloneFlags::PIDFD),
        ];
        for (given, flag) in implied {
            if given {
                flags |= flag;
            }
        }
        flags
    }

    /// The call the raw side makes: the forced one, or for `Auto` the one
    /// the builder documents (clone3 exactly when only clone3 can carry the
    /// request).
    /// Whether it asks for something only clone3 carries.
    pub fn clone3_only(&self) -> bool {
        self.effective_flags().intersects(CloneFlags::CLONE3_ONLY) || self.set_tid.is_some()
    }

    pub fn raw_call(&self) -> Syscall {
        let flags = self.effective_flags();
        match self.syscall {
            Syscall::Auto => {
                let clone3 = flags.intersects(CloneFlags::CLONE3_ONLY)
                    || self.set_tid.is_some()
                    || flags.contains(CloneFlags::PIDFD | CloneFlags::PARENT_SETTID);
                if clone3 {
                    Syscall::Clone3
                } else {
                    Syscall::Clone
                }
            }
            other => other,
        }
    }
}

/// What `check()` answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Ok,
    Refused(Rule),
    Unsupported(Errno),
    /// Another error (its errno, if any).
    Other(i32),
}

/// What the two sides answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub checked: Checked,
    /// The raw call that was made.
    pub via: Syscall,
    /// `Ok` if the kernel made the child.
    pub kernel: Result<(), Errno>,
    /// The helper was killed by this signal: nothing else is known.
    pub helper_killed: Option<i32>,
}

/// Every rule, so that a helper can report one as a number.
pub const RULES: &[Rule] = &[
    Rule::UnknownBits,
    Rule::SighandWithoutVm,
    Rule::ThreadWithoutSighand,
    Rule::FsWithNewns,
    Rule::FsWithNewuser,
    Rule::NewipcWithSysvsem,
    Rule::NewpidWithThread,
    Rule::NewuserWithThread,
    Rule::ClearSighandWithSighand,
    Rule::ExitSignalWithThread,
    Rule::ExitSignalWithParent,
    Rule::PidfdWithParentSettid,
    Rule::Clone3Only,
    Rule::SetTidTooLong,
    Rule::SetTidEmpty,
    Rule::ParentSettidWithoutSlot,
    Rule::ChildSettidWithoutSlot,
    Rule::ChildCleartidWithoutSlot,
    Rule::ChildTidSlotsDiffer,
    Rule::SettlsWithoutTls,
    Rule::IntoCgroupWithoutFd,
    Rule::ForkWithVm,
    Rule::ForkWithStack,
    Rule::IdMapsWithoutNewuser,
    Rule::IdMapsWithVm,
    Rule::IdMapsWithFiles,
    Rule::IdMapsWithVfork,
    Rule::SetTidTooDeep,
    Rule::SetTidNotPositive,
    Rule::SetTidNewpidNotOne,
    Rule::HostnameWithoutNewuts,
    Rule::SetTidAbovePidMax,
    Rule::SetTidNoInitNotOne,
    Rule::ParentFromInit,
    Rule::ThreadAfterPidUnshare,
    Rule::NewpidAfterPidUnshare,
    Rule::VmAfterTimeUnshare,
    Rule::NotANamespace,
    Rule::HostnameTooLong,
    Rule::RlimitSoftAboveHard,
    Rule::TidSlotInUse,
    Rule::AutoreapWithThread,
    Rule::AutoreapWithParent,
    Rule::ExitSignalWithAutoreap,
    Rule::NnpWithThread,
    Rule::AutokillWithoutPidfd,
    Rule::AutokillWithoutAutoreap,
];

/// The descriptors the cases use, opened once by the test.
pub struct Fds {
    /// The test's own cgroup v2 directory, if there is one.
    pub cgroup: Option<OwnedFd>,
    /// `/`: a directory that is not a cgroup.
    pub not_cgroup: OwnedFd,
}

impl Fds {
    pub fn open() -> Fds {
        let open_dir = |path: &std::path::Path| std::fs::File::open(path).map(OwnedFd::from).ok();
        let cgroup = super::procfs::cgroup2_mount().and_then(|mount| {
            let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
            let own = text.lines().find_map(|line| line.strip_prefix("0::"))?;
            open_dir(&mount.join(own.trim_start_matches('/')))
        });
        Fds {
            cgroup,
            not_cgroup: open_dir(std::path::Path::new("/")).expect("open /"),
        }
    }
}

/// Makes `context` in a new helper, then asks `check()` and the kernel
/// about `case` there. `Err(why)` if the context could not be made.
pub fn ask(case: &Case, context: Context, fds: &Fds) -> Result<Answer, String> {
    let via = case.raw_call();
    // Prepared before the fork: the helper allocates nothing.
    let mut stack = match case.stack {
        StackSize::None => None,
        StackSize::Small => Some(Stack::new(16 * 1024).expect("map a stack")),
        StackSize::Normal => Some(Stack::new(256 * 1024).expect("map a stack")),
    };
    // A child that shares our memory (or must start clean of our TLS) runs
    // on a stack of its own even when the case has none: without one it
    // would run on the helper's stack beside it. The builder is still told
    // there is none (check() does not look at stacks).
    let needs_stack = case.effective_flags().contains(CloneFlags::VM) || case.tls;
    let mut spare = (stack.is_none() && needs_stack).then(|| Stack::new(64 * 1024).expect("map a stack"));
    let raw_stack = stack
        .as_mut()
        .or(spare.as_mut())
        .map(|s| (s.base(), s.top(), s.size()));
    let pids: Option<Vec<Pid>> = case
        .set_tid
        .as_ref()
        .map(|tids| tids.iter().map(|&t| Pid::from_raw(t)).collect());
    let cgroup_fd: Option<BorrowedFd<'_>> = match case.cgroup {
        CgroupFd::None => None,
        CgroupFd::Valid => Some(
            fds.cgroup
                .as_ref()
                .ok_or("no cgroup v2 directory")?
                .as_fd_borrowed(),
        ),
        CgroupFd::NotCgroup => Some(fds.not_cgroup.as_fd_borrowed()),
    };
    let page = SharedPage::new();
    let status = in_helper(|| {
        let mut run = || -> i32 {
            // SAFETY: sigaction on a signal the children may send; no handler.
            unsafe { libc::signal(libc::SIGUSR1, libc::SIG_IGN) };
            let answer = ask_here(
                case,
                via,
                pids.as_deref(),
                cgroup_fd,
                stack.take(),
                raw_stack,
                &page,
            );
            page.word(0).store(answer.0, Ordering::SeqCst);
            page.word(1).store(answer.1, Ordering::SeqCst);
            page.word(2).store(answer.2, Ordering::SeqCst);
            page.word(3).store(1, Ordering::SeqCst);
            0
        };
        match context {
            Context::Plain => run(),
            Context::AfterPidUnshare => match raw::unshare(CloneFlags::NEWPID) {
                Ok(()) => run(),
                Err(errno) => 200 + (errno as i32).min(50),
            },
            Context::AfterTimeUnshare => match raw::unshare(CloneFlags::NEWTIME) {
                Ok(()) => run(),
                Err(errno) => 200 + (errno as i32).min(50),
            },
            Context::PidNsInit => {
                if let Err(errno) = raw::unshare(CloneFlags::NEWPID) {
                    return 200 + (errno as i32).min(50);
                }
                // SAFETY: the child only runs `run` (raw calls, no allocation)
                // and exits.
                match unsafe { raw::fork() } {
                    Ok(None) => {
                        let code = run();
                        // SAFETY: the init ends here; nothing of it is needed.
                        unsafe { raw::exit_group(code) }
                    }
                    Ok(Some(pid)) => match raw::wait4(pid, libc::__WALL) {
                        Ok(Some(status)) if libc::WIFEXITED(status) => libc::WEXITSTATUS(status),
                        _ => 254,
                    },
                    Err(_) => 253,
                }
            }
        }
    });
    if let Some(signal) = status.signal() {
        return Ok(Answer {
            checked: Checked::Other(0),
            via,
            kernel: Ok(()),
            helper_killed: Some(signal),
        });
    }
    let code = code_of(status);
    if code >= 200 {
        return Err(format!(
            "{context:?}: the helper could not make its context ({code})"
        ));
    }
    assert_eq!(code, 0, "{context:?} {case:?}: the helper failed ({code})");
    assert_eq!(
        page.word(3).load(Ordering::SeqCst),
        1,
        "the helper did not report"
    );
    let sibling = page.word(4).load(Ordering::SeqCst);
    if sibling > 0 {
        let _ = reap_bounded(Pid::from_raw(sibling), libc::__WALL);
    }
    let checked = match page.word(0).load(Ordering::SeqCst) {
        0 => Checked::Ok,
        n if n > 0 && (n as usize) <= RULES.len() => Checked::Refused(RULES[n as usize - 1]),
        n if n <= -1000 => Checked::Unsupported(Errno::from_raw(-(n + 1000))),
        n => Checked::Other(-n),
    };
    let kernel = match page.word(1).load(Ordering::SeqCst) {
        0 => Ok(()),
        errno => Err(Errno::from_raw(errno)),
    };
    Ok(Answer {
        checked,
        via,
        kernel,
        helper_killed: None,
    })
}

trait Borrow {
    fn as_fd_borrowed(&self) -> BorrowedFd<'_>;
}

impl Borrow for OwnedFd {
    fn as_fd_borrowed(&self) -> BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(self)
    }
}

/// The parent TID, child TID and pidfd words of the raw call.
static RAW_WORDS: [AtomicI32; 3] = [AtomicI32::new(0), AtomicI32::new(0), AtomicI32::new(0)];

/// A buffer for `CLONE_SETTLS`: the children that get it never read it.
static mut TLS_AREA: [u64; 64] = [0; 64];

/// In the helper: the builder's `check()` (made here, so that it captures
/// this context), then the raw call. Returns (checked, errno, 0) as words;
/// a `CLONE_PARENT` sibling's pid goes to word 4 of `page`.
fn ask_here(
    case: &Case,
    via: Syscall,
    pids: Option<&[Pid]>,
    cgroup: Option<BorrowedFd<'_>>,
    stack: Option<Stack>,
    raw_stack: Option<(*mut u8, *mut u8, usize)>,
    page: &SharedPage,
) -> (i32, i32, i32) {
    let slot_a = TidSlot::new();
    let slot_b = TidSlot::new();
    let slot = |which: Slot| match which {
        Slot::None => None,
        Slot::A => Some(&slot_a),
        Slot::B => Some(&slot_b),
    };
    let tls = ptr::addr_of_mut!(TLS_AREA).cast::<c_void>();
    let mut builder = CloneBuilder::new();
    let mut flags = case.flags;
    let exit_signal = match case.exit_signal {
        ExitSig::None => None,
        ExitSig::Valid(sig) => Some(sig),
        ExitSig::Invalid(bits) => {
            flags |= CloneFlags::from_bits_retain(bits & 0xff);
            None
        }
    };
    builder
        .flags(flags)
        .exit_signal(exit_signal)
        .syscall(case.syscall);
    if case.parent_tid {
        builder.parent_tid(&slot_a);
    }
    if let Some(s) = slot(case.child_tid) {
        builder.child_tid(s);
    }
    if let Some(s) = slot(case.clear_child_tid) {
        builder.clear_child_tid(s);
    }
    if case.pidfd != PidfdSlot::None {
        builder.pidfd(true);
    }
    if case.tls {
        // SAFETY: only checked here, never spawned.
        unsafe { builder.tls(tls) };
    }
    if let Some(pids) = pids {
        builder.set_tid(pids);
    }
    if let Some(fd) = cgroup {
        builder.cgroup(fd);
    }
    if let Some(stack) = stack {
        builder.stack(stack);
    }
    let checked = match builder.check() {
        Ok(()) => 0,
        Err(Error::Conflict(conflict)) => match RULES.iter().position(|&r| r == conflict.rule()) {
            Some(i) => i as i32 + 1,
            None => -999,
        },
        Err(Error::Unsupported { errno, .. }) => -1000 - errno as i32,
        Err(Error::Sys { errno, .. }) => -(errno as i32),
        Err(_) => -998,
    };

    // The builder holds the case's stack, on which a CLONE_THREAD child may
    // still run after this returns: it is never unmapped (the helper's
    // exit_group ends the thread and the mapping at once).
    std::mem::forget(builder);

    // The raw call, with the same arguments. The words the kernel writes
    // are statics, not locals: a CLONE_THREAD child clears its child TID
    // when it ends, which may be after this returns.
    let parent_word = RAW_WORDS[0].as_ptr();
    let child_word = RAW_WORDS[1].as_ptr();
    let pidfd_word = RAW_WORDS[2].as_ptr();
    let eff = case.effective_flags();
    // NULL where the builder was given no slot for a flag.
    let parent_tid = if case.parent_tid {
        parent_word
    } else {
        ptr::null_mut()
    };
    let child_tid = if case.child_tid != Slot::None || case.clear_child_tid != Slot::None {
        child_word
    } else {
        ptr::null_mut()
    };
    // The engine keeps a pidfd word of its own whenever CLONE_PIDFD is set.
    let pidfd = match case.pidfd {
        PidfdSlot::None if eff.contains(CloneFlags::PIDFD) => pidfd_word,
        PidfdSlot::None => ptr::null_mut(),
        PidfdSlot::Own => pidfd_word,
        PidfdSlot::SameAsParentTid => parent_word,
    };
    let tls_ptr = if case.tls { tls } else { ptr::null_mut() };
    let sig_bits = match case.exit_signal {
        ExitSig::None => 0,
        ExitSig::Valid(sig) => sig as i32 as u64,
        ExitSig::Invalid(bits) => bits,
    };
    let result: Result<Option<Pid>, Errno> = match via {
        Syscall::Clone => {
            // Legacy clone: the exit signal is the low byte; one pointer for
            // the pidfd and the parent TID (the pidfd's, when asked).
            let bits = CloneFlags::from_bits_retain(eff.bits() | (sig_bits & 0xff));
            let ptid = if eff.contains(CloneFlags::PIDFD) && !case.parent_tid {
                pidfd_word
            } else {
                parent_tid
            };
            match raw_stack {
                // SAFETY: the stack is mapped and unused; the pointers are
                // the helper's live words; the entry only exits.
                Some((_, top, _)) => unsafe {
                    raw::clone_on_stack(
                        bits,
                        None,
                        top,
                        ptid,
                        child_tid,
                        tls_ptr,
                        exit_at_once,
                        ptr::null_mut(),
                    )
                }
                .map(Some),
                // SAFETY: no CLONE_VM, no tls (checked by `needs_stack`): a
                // fork-like child with its own copy, which exits at once.
                None => match unsafe { raw::clone(bits, None, ptid, child_tid, ptr::null_mut()) } {
                    // SAFETY: the child ends here.
                    Ok(None) => unsafe { raw::exit_group(0) },
                    other => other,
                },
            }
        }
        _ => {
            let mut args = CloneArgs {
                flags: eff.bits(),
                pidfd: pidfd as usize as u64,
                child_tid: child_tid as usize as u64,
                parent_tid: parent_tid as usize as u64,
                exit_signal: sig_bits,
                tls: tls_ptr as usize as u64,
                set_tid: pids.map_or(0, |p| p.as_ptr() as usize as u64),
                set_tid_size: pids.map_or(0, |p| p.len() as u64),
                cgroup: cgroup.map_or(0, |fd| fd.as_raw_fd() as u64),
                ..CloneArgs::default()
            };
            match raw_stack {
                Some((base, _, size)) => {
                    args.stack = base as usize as u64;
                    args.stack_size = size as u64;
                    // SAFETY: as for legacy clone above.
                    unsafe { raw::clone3_on_stack(&args, exit_at_once, ptr::null_mut()) }.map(Some)
                }
                // SAFETY: as for legacy clone above.
                None => match unsafe { raw::clone3(&args) } {
                    // SAFETY: the child ends here.
                    Ok(None) => unsafe { raw::exit_group(0) },
                    other => other,
                },
            }
        }
    };
    let errno = match result {
        Err(errno) => errno as i32,
        Ok(None) => 0,
        Ok(Some(pid)) => {
            if eff.contains(CloneFlags::THREAD) {
                // A thread of the helper: it ends itself.
            } else if eff.contains(CloneFlags::PARENT) {
                page.word(4).store(pid.as_raw(), Ordering::SeqCst);
            } else {
                let _ = raw::wait4(pid, libc::__WALL);
            }
            0
        }
    };
    (checked, errno, 0)
}
