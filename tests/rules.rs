//! Every rule of the rule table (`Rule`), checked twice: the library reports
//! it before any call (`CloneFlags::check` / `CloneBuilder::check`), and the
//! same arguments sent raw to the running kernel get the answer the rule
//! predicts (an errno, or the silent wrongness the builder protects from).
//! Where this kernel accepts what clone(2) says it refuses, the library
//! accepts it too, and `accepted_by_kernel` keeps that honest.
//!
//! Every raw call runs inside a forked helper (see `support::fork`), whose new
//! child, if the kernel unexpectedly accepts, ends at once on its own `Stack`.

use std::ffi::{c_void, CString};
use std::fmt::{self, Write as _};
use std::fs::File;
use std::mem;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::ptr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clonekit::raw::{self, CloneArgs};
use clonekit::{CloneBuilder, CloneFlags, Errno, Error, Forked, Pid, Rule, Signal, Stack, Syscall, TidSlot};
use rstest::rstest;

#[macro_use]
mod support;

use support::fork::{code_of, exit_at_once, in_helper, reap_bounded};
use support::serial;
use support::shared_page::SharedPage;

/// What (a) asks of the library.
enum Check {
    /// `CloneFlags::check` on these flags, and `CloneBuilder::check` with them.
    Flags(CloneFlags),
    /// A builder's `check()`.
    Builder(fn() -> clonekit::Result<()>),
    /// `CloneBuilder::fork` with these flags (and a `Stack` if `true`), in a
    /// helper: the rules of `fork` are checked by `fork` itself.
    Fork(CloneFlags, bool),
}

/// What (b) asks of the kernel.
enum Kernel {
    /// These arguments, sent through each call, get this errno.
    Refuses(CloneArgs, &'static [Syscall], Errno),
    /// A scenario of its own, for what is not a plain errno.
    Shows(fn()),
    /// The kernel cannot be asked; why.
    Cannot(&'static str),
}

/// The raw calls that carry the arguments (never `Syscall::Auto`, which is
/// the builder's choice, not a raw call).
const BOTH: &[Syscall] = &[Syscall::Clone, Syscall::Clone3];
const CLONE3: &[Syscall] = &[Syscall::Clone3];

/// What a raw call cannot be.
const NOT_RAW: &str = "Syscall::Auto is the builder's choice, not a raw call";

const SIGCHLD: u64 = libc::SIGCHLD as u64;

/// A raw call's arguments: flags and exit signal, nothing else.
fn args(flags: CloneFlags, exit_signal: u64) -> CloneArgs {
    CloneArgs {
        flags: flags.bits(),
        exit_signal,
        ..CloneArgs::default()
    }
}

static SET_TID_33: [libc::pid_t; 33] = [1; 33];
static SET_TID_ONE: [libc::pid_t; 1] = [1];
static SET_TID_32: [libc::pid_t; 32] = [1; 32];
static SET_TID_ZERO: [libc::pid_t; 1] = [0];
static SET_TID_TWO: [libc::pid_t; 1] = [2];
static ID_MAP: [clonekit::IdMap; 1] = [clonekit::IdMap::single(0, 0)];
static SLOT_A: TidSlot = TidSlot::new();
static SLOT_B: TidSlot = TidSlot::new();

fn set_tid_args(tids: &'static [libc::pid_t], size: u64) -> CloneArgs {
    CloneArgs {
        set_tid: tids.as_ptr() as usize as u64,
        set_tid_size: size,
        ..args(CloneFlags::empty(), SIGCHLD)
    }
}

fn newpid_set_tid_args(tids: &'static [libc::pid_t]) -> CloneArgs {
    CloneArgs {
        flags: CloneFlags::NEWPID.bits(),
        ..set_tid_args(tids, tids.len() as u64)
    }
}

use CloneFlags as F;

#[rstest]
#[case::sighand_without_vm(
    Rule::SighandWithoutVm,
    Check::Flags(F::SIGHAND),
    Kernel::Refuses(args(F::SIGHAND, SIGCHLD), BOTH, Errno::EINVAL)
)]
#[case::thread_without_sighand(
    Rule::ThreadWithoutSighand,
    Check::Flags(F::THREAD | F::VM),
    Kernel::Refuses(args(F::THREAD | F::VM, 0), BOTH, Errno::EINVAL)
)]
#[case::fs_with_newns(
    Rule::FsWithNewns,
    Check::Flags(F::FS | F::NEWNS),
    Kernel::Refuses(args(F::FS | F::NEWNS, SIGCHLD), BOTH, Errno::EINVAL)
)]
#[case::fs_with_newuser(
    Rule::FsWithNewuser,
    Check::Flags(F::FS | F::NEWUSER),
    Kernel::Refuses(args(F::FS | F::NEWUSER, SIGCHLD), BOTH, Errno::EINVAL)
)]
#[case::newipc_with_sysvsem(
    Rule::NewipcWithSysvsem,
    Check::Flags(F::NEWIPC | F::SYSVSEM),
    Kernel::Refuses(args(F::NEWIPC | F::SYSVSEM, SIGCHLD), BOTH, Errno::EINVAL)
)]
#[case::newpid_with_thread(
    Rule::NewpidWithThread,
    Check::Flags(F::NEWPID | F::THREAD | F::SIGHAND | F::VM),
    Kernel::Refuses(args(F::NEWPID | F::THREAD | F::SIGHAND | F::VM, 0), BOTH, Errno::EINVAL)
)]
#[case::newuser_with_thread(
    Rule::NewuserWithThread,
    Check::Flags(F::NEWUSER | F::THREAD | F::SIGHAND | F::VM),
    Kernel::Refuses(args(F::NEWUSER | F::THREAD | F::SIGHAND | F::VM, 0), BOTH, Errno::EINVAL)
)]
// Legacy clone cannot be asked: it drops bit 32 and sees a plain SIGHAND|VM child.
#[case::clear_sighand_with_sighand(
    Rule::ClearSighandWithSighand,
    Check::Flags(F::CLEAR_SIGHAND | F::SIGHAND | F::VM),
    Kernel::Refuses(args(F::CLEAR_SIGHAND | F::SIGHAND | F::VM, SIGCHLD), CLONE3, Errno::EINVAL)
)]
// Linux 7.1's flags. Before 7.1 the kernel refuses them as unknown bits:
// EINVAL too, so these rows hold on every kernel; on 7.1 and later they
// show each rule itself.
#[case::autoreap_with_thread(
    Rule::AutoreapWithThread,
    Check::Flags(F::AUTOREAP | F::THREAD | F::SIGHAND | F::VM),
    Kernel::Refuses(args(F::AUTOREAP | F::THREAD | F::SIGHAND | F::VM, 0), CLONE3, Errno::EINVAL)
)]
#[case::autoreap_with_parent(
    Rule::AutoreapWithParent,
    Check::Flags(F::AUTOREAP | F::PARENT),
    Kernel::Refuses(args(F::AUTOREAP | F::PARENT, 0), CLONE3, Errno::EINVAL)
)]
#[case::exit_signal_with_autoreap(
    Rule::ExitSignalWithAutoreap,
    Check::Builder(|| CloneBuilder::new().flags(F::AUTOREAP).check()),
    Kernel::Refuses(args(F::AUTOREAP, SIGCHLD), CLONE3, Errno::EINVAL)
)]
#[case::nnp_with_thread(
    Rule::NnpWithThread,
    Check::Flags(F::NNP | F::THREAD | F::SIGHAND | F::VM),
    Kernel::Refuses(args(F::NNP | F::THREAD | F::SIGHAND | F::VM, 0), CLONE3, Errno::EINVAL)
)]
#[case::autokill_without_pidfd(
    Rule::AutokillWithoutPidfd,
    Check::Flags(F::PIDFD_AUTOKILL | F::AUTOREAP | F::NNP),
    Kernel::Refuses(args(F::PIDFD_AUTOKILL | F::AUTOREAP | F::NNP, 0), CLONE3, Errno::EINVAL)
)]
#[case::autokill_without_autoreap(
    Rule::AutokillWithoutAutoreap,
    Check::Flags(F::PIDFD_AUTOKILL | F::PIDFD | F::NNP),
    Kernel::Refuses(args(F::PIDFD_AUTOKILL | F::PIDFD | F::NNP, 0), CLONE3, Errno::EINVAL)
)]
#[case::fs_with_empty_mntns(
    Rule::FsWithNewns,
    Check::Flags(F::FS | F::EMPTY_MNTNS),
    Kernel::Refuses(args(F::FS | F::EMPTY_MNTNS, SIGCHLD), CLONE3, Errno::EINVAL)
)]
#[case::clone3_only_linux_7_1(
    Rule::Clone3Only,
    Check::Builder(|| CloneBuilder::new().flags(F::NNP).syscall(Syscall::Clone).check()),
    Kernel::Cannot("legacy clone's flags are 32 bits: bit 35 cannot be sent")
)]
#[case::exit_signal_with_thread(
    Rule::ExitSignalWithThread,
    Check::Builder(|| CloneBuilder::new().flags(F::THREAD | F::SIGHAND | F::VM).check()),
    Kernel::Shows(exit_signal_with_thread)
)]
#[case::exit_signal_with_parent(
    Rule::ExitSignalWithParent,
    Check::Builder(|| CloneBuilder::new().flags(F::PARENT).check()),
    Kernel::Shows(exit_signal_with_parent)
)]
#[case::pidfd_with_parent_settid(
    Rule::PidfdWithParentSettid,
    Check::Builder(|| CloneBuilder::new().pidfd(true).parent_tid(&SLOT_A).syscall(Syscall::Clone).check()),
    Kernel::Shows(pidfd_with_parent_settid)
)]
#[case::clone3_only_clear_sighand(
    Rule::Clone3Only,
    Check::Builder(|| CloneBuilder::new().flags(F::CLEAR_SIGHAND).syscall(Syscall::Clone).check()),
    Kernel::Shows(clear_sighand_on_legacy_clone)
)]
#[case::clone3_only_into_cgroup(
    Rule::Clone3Only,
    Check::Builder(|| {
        let dir = File::open("/").expect("open /");
        CloneBuilder::new().cgroup(dir.as_fd()).syscall(Syscall::Clone).check()
    }),
    Kernel::Shows(into_cgroup_on_legacy_clone)
)]
#[case::clone3_only_newtime(
    Rule::Clone3Only,
    Check::Builder(|| CloneBuilder::new().flags(F::NEWTIME).syscall(Syscall::Clone).check()),
    Kernel::Shows(newtime_on_legacy_clone)
)]
#[case::clone3_only_set_tid(
    Rule::Clone3Only,
    Check::Builder(|| CloneBuilder::new().set_tid(&[Pid::from_raw(1)]).syscall(Syscall::Clone).check()),
    Kernel::Cannot("legacy clone has no set_tid argument: there is nothing to send")
)]
#[case::set_tid_too_long(
    Rule::SetTidTooLong,
    Check::Builder(|| CloneBuilder::new().set_tid(&[Pid::from_raw(1); 33]).check()),
    Kernel::Refuses(set_tid_args(&SET_TID_33, 33), CLONE3, Errno::EINVAL)
)]
#[case::set_tid_empty(
    Rule::SetTidEmpty,
    Check::Builder(|| CloneBuilder::new().set_tid(&[]).check()),
    // A set_tid pointer with size 0 is what an empty slice becomes.
    Kernel::Refuses(set_tid_args(&SET_TID_ONE, 0), CLONE3, Errno::EINVAL)
)]
#[case::parent_settid_without_slot(
    Rule::ParentSettidWithoutSlot,
    Check::Builder(|| CloneBuilder::new().flags(F::PARENT_SETTID).check()),
    Kernel::Cannot("the kernel writes the TID through a NULL parent_tid, ignores the fault and succeeds")
)]
#[case::child_settid_without_slot(
    Rule::ChildSettidWithoutSlot,
    Check::Builder(|| CloneBuilder::new().flags(F::CHILD_SETTID).check()),
    Kernel::Cannot("the child's write of its TID through a NULL child_tid faults silently; the call succeeds")
)]
#[case::child_cleartid_without_slot(
    Rule::ChildCleartidWithoutSlot,
    Check::Builder(|| CloneBuilder::new().flags(F::CHILD_CLEARTID).check()),
    Kernel::Cannot("a NULL clear_child_tid means none: nothing is cleared or woken, and a join waits forever")
)]
#[case::child_tid_slots_differ(
    Rule::ChildTidSlotsDiffer,
    Check::Builder(|| CloneBuilder::new().child_tid(&SLOT_A).clear_child_tid(&SLOT_B).check()),
    Kernel::Cannot("the kernel has one child_tid pointer: two slots cannot even be written down")
)]
#[case::settls_without_tls(
    Rule::SettlsWithoutTls,
    Check::Builder(|| CloneBuilder::new().flags(F::SETTLS).check()),
    Kernel::Cannot("the kernel loads a thread pointer of 0 and succeeds; the child faults at its first TLS access")
)]
#[case::into_cgroup_without_fd(
    Rule::IntoCgroupWithoutFd,
    Check::Builder(|| CloneBuilder::new().flags(F::INTO_CGROUP).check()),
    Kernel::Shows(into_cgroup_without_fd)
)]
#[case::fork_with_vm(
    Rule::ForkWithVm,
    Check::Fork(F::VM, false),
    Kernel::Cannot("the kernel accepts it: the child would run on the caller's own stack beside it")
)]
#[case::fork_with_stack(
    Rule::ForkWithStack,
    Check::Fork(F::empty(), true),
    Kernel::Cannot("not a kernel rule: a fork-like call has no stack to misuse")
)]
#[case::set_tid_too_deep(
    Rule::SetTidTooDeep,
    // 32 levels fit the size limit, but no caller here is 31 namespaces deep.
    Check::Builder(|| CloneBuilder::new().set_tid(&[Pid::from_raw(1); 32]).check()),
    Kernel::Refuses(set_tid_args(&SET_TID_32, 32), CLONE3, Errno::EINVAL)
)]
#[case::set_tid_not_positive(
    Rule::SetTidNotPositive,
    Check::Builder(|| CloneBuilder::new().set_tid(&[Pid::from_raw(0)]).check()),
    Kernel::Refuses(set_tid_args(&SET_TID_ZERO, 1), CLONE3, Errno::EINVAL)
)]
#[case::set_tid_newpid_not_one(
    Rule::SetTidNewpidNotOne,
    Check::Builder(|| CloneBuilder::new().flags(F::NEWPID).set_tid(&[Pid::from_raw(2)]).check()),
    Kernel::Refuses(newpid_set_tid_args(&SET_TID_TWO), CLONE3, Errno::EINVAL)
)]
#[case::id_maps_without_newuser(
    Rule::IdMapsWithoutNewuser,
    Check::Builder(|| CloneBuilder::new().uid_map(&ID_MAP).check()),
    Kernel::Cannot("not a kernel rule: the maps are files the parent writes after the call")
)]
#[case::id_maps_with_vm(
    Rule::IdMapsWithVm,
    Check::Builder(|| CloneBuilder::new().flags(F::NEWUSER | F::VM).uid_map(&ID_MAP).check()),
    Kernel::Cannot("not a kernel rule: the child waits for its maps with its own memory")
)]
#[case::id_maps_with_files(
    Rule::IdMapsWithFiles,
    Check::Builder(|| CloneBuilder::new().flags(F::NEWUSER | F::FILES).uid_map(&ID_MAP).check()),
    Kernel::Cannot("not a kernel rule: the child must close its own copy of the sync socket")
)]
#[case::id_maps_with_vfork(
    Rule::IdMapsWithVfork,
    Check::Builder(|| CloneBuilder::new().flags(F::NEWUSER | F::VFORK).uid_map(&ID_MAP).check()),
    Kernel::Cannot("not a kernel rule: the suspended parent could never write the maps")
)]
#[case::hostname_without_newuts(
    Rule::HostnameWithoutNewuts,
    // Refused at spawn, before anything is created.
    Check::Builder(|| clonekit::Exec::new("true").hostname("box").spawn().map(drop)),
    Kernel::Cannot("not a kernel rule: sethostname would rename the host's own UTS namespace")
)]
fn checked_and_sent(#[case] rule: Rule, #[case] check: Check, #[case] kernel: Kernel) {
    let _serial = serial();
    match check {
        Check::Flags(flags) => {
            let conflict = flags
                .check()
                .expect_err("CloneFlags::check accepts a broken rule");
            assert_eq!(conflict.rule(), rule);
            assert_eq!(conflict.flags(), flags);
            assert_eq!(conflict.to_string(), rule.describe());
            let mut builder = CloneBuilder::new();
            builder.flags(flags).exit_signal(None);
            assert_conflict(builder.check(), rule);
        }
        Check::Builder(check) => assert_conflict(check(), rule),
        Check::Fork(flags, with_stack) => fork_refused(flags, with_stack, rule),
    }
    match kernel {
        Kernel::Refuses(args, vias, errno) => {
            let namespaces = CloneFlags::from_bits_retain(args.flags).intersects(CloneFlags::NAMESPACES);
            for &via in vias {
                match send(args, via) {
                    // Without CAP_SYS_ADMIN, some namespace rules meet the
                    // privilege check first.
                    Err(Errno::EPERM) if namespaces && errno != Errno::EPERM => {
                        skip_part!(
                            format!("{rule:?} via {via:?}"),
                            "EPERM (no privilege for namespaces here)"
                        )
                    }
                    sent => assert_eq!(sent, Err(errno), "{via:?} with flags {:#x}", args.flags),
                }
            }
        }
        Kernel::Shows(scenario) => scenario(),
        Kernel::Cannot(why) => println!("{rule:?}: not sent to the kernel: {why}"),
    }
}

/// `result` is a `Conflict` naming `rule`, in its type and in its words.
fn assert_conflict(result: clonekit::Result<()>, rule: Rule) {
    let err = result.expect_err("check() accepts a broken rule");
    match &err {
        Error::Conflict(conflict) => assert_eq!(conflict.rule(), rule, "{err}"),
        other => panic!("expected a Conflict for {rule:?}, got {other:?}"),
    }
    assert!(err.to_string().starts_with(rule.describe()), "{err}");
    assert_eq!(err.errno(), Some(Errno::EINVAL));
}

/// Text written without allocating, for a helper forked from the harness.
struct Text {
    buf: [u8; 512],
    len: usize,
}

impl fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `CloneBuilder::fork` refuses `flags` (with a `Stack` if `with_stack`) by
/// `rule`, before any call: run in a helper, so that a fork that went ahead
/// anyway cannot harm the harness.
fn fork_refused(flags: CloneFlags, with_stack: bool, rule: Rule) {
    let stack = with_stack.then(|| Stack::new(64 * 1024).expect("map a stack"));
    // Exit codes of the helper.
    const REFUSED: i32 = 0;
    const OTHER_ERROR: i32 = 1;
    const WRONG_TEXT: i32 = 2;
    const FORKED: i32 = 3;
    let status = in_helper(move || {
        let mut builder = CloneBuilder::new();
        builder.flags(flags);
        if let Some(stack) = stack {
            builder.stack(stack);
        }
        // SAFETY (both blocks): the fork is expected to be refused; if it
        // is not, both sides only exit.
        match unsafe { builder.fork() } {
            Ok(Forked::Child) => unsafe { raw::exit_group(FORKED) },
            Ok(Forked::Parent(_)) => FORKED,
            Err(err @ Error::Conflict(conflict)) if conflict.rule() == rule => {
                let mut text = Text {
                    buf: [0; 512],
                    len: 0,
                };
                match write!(text, "{err}") {
                    Ok(()) if text.buf[..text.len].starts_with(rule.describe().as_bytes()) => REFUSED,
                    _ => WRONG_TEXT,
                }
            }
            Err(_) => OTHER_ERROR,
        }
    });
    assert_eq!(
        code_of(status),
        REFUSED,
        "fork() with {flags:?} (stack: {with_stack}) is not refused by {rule:?}"
    );
}

/// The new child's stack, as both raw calls want it.
#[derive(Clone, Copy)]
struct RawStack {
    base: *mut u8,
    top: *mut u8,
    size: usize,
}

fn raw_stack(stack: &mut Stack) -> RawStack {
    RawStack {
        base: stack.base(),
        top: stack.top(),
        size: stack.size(),
    }
}

/// Sends `args` through `via` with the child on `stack`, starting at `entry(arg)`.
///
/// # Safety
///
/// The stack is mapped and unused; the pointers in `args` are valid for what
/// the flags make the kernel write; `entry` is sound with `arg` in a task
/// that shares what the flags say.
unsafe fn spawn_raw(
    mut args: CloneArgs,
    via: Syscall,
    stack: RawStack,
    entry: raw::ChildEntry,
    arg: *mut c_void,
) -> Result<Pid, Errno> {
    match via {
        Syscall::Clone => {
            // Checked valid by `legacy_exit_signal` before the helper was forked.
            let exit_signal = Signal::try_from(args.exit_signal as i32).ok();
            // SAFETY: forwarded from the caller.
            unsafe {
                raw::clone_on_stack(
                    CloneFlags::from_bits_retain(args.flags),
                    exit_signal,
                    stack.top,
                    args.parent_tid as usize as *mut i32,
                    args.child_tid as usize as *mut i32,
                    args.tls as usize as *mut c_void,
                    entry,
                    arg,
                )
            }
        }
        Syscall::Clone3 => {
            args.stack = stack.base as usize as u64;
            args.stack_size = stack.size as u64;
            // SAFETY: forwarded from the caller.
            unsafe { raw::clone3_on_stack(&args, entry, arg) }
        }
        Syscall::Auto => unreachable!("{NOT_RAW}"),
    }
}

/// Panics (in the test, before any helper is forked) unless `args` holds an
/// exit signal legacy clone can be given: none, or a valid signal.
fn legacy_exit_signal(args: &CloneArgs) {
    if args.exit_signal != 0 {
        Signal::try_from(args.exit_signal as i32).expect("a valid exit signal");
    }
}

/// Sends `args` raw through `via` in a helper, whose child (if the kernel
/// accepts) exits at once and is reaped. `Ok(Some(pid))`: the child is a
/// `CLONE_PARENT` sibling of the helper, so ours to reap.
fn send(args: CloneArgs, via: Syscall) -> Result<Option<Pid>, Errno> {
    send_prepared(|| {}, args, via)
}

/// [`send`], after `prepare` has run in the helper.
fn send_prepared(prepare: fn(), args: CloneArgs, via: Syscall) -> Result<Option<Pid>, Errno> {
    legacy_exit_signal(&args);
    let mut stack = Stack::new(64 * 1024).expect("map a stack");
    let stack = raw_stack(&mut stack);
    let sibling = SharedPage::new();
    let flags = CloneFlags::from_bits_retain(args.flags);
    let status = in_helper(|| {
        prepare();
        // SAFETY: the stack is mapped in the helper; the pointers in args are
        // the caller's (statics or shared pages); the entry only exits.
        match unsafe { spawn_raw(args, via, stack, exit_at_once, ptr::null_mut()) } {
            Err(errno) => errno as i32,
            Ok(_) if flags.contains(CloneFlags::THREAD) => 0,
            Ok(pid) if flags.contains(CloneFlags::PARENT) => {
                sibling.word(0).store(pid.as_raw(), Ordering::SeqCst);
                0
            }
            Ok(pid) => {
                let _ = raw::wait4(pid, libc::__WALL);
                0
            }
        }
    });
    match code_of(status) {
        0 => {
            let pid = sibling.word(0).load(Ordering::SeqCst);
            Ok((pid != 0).then(|| Pid::from_raw(pid)))
        }
        errno => Err(Errno::from_raw(errno)),
    }
}

/// Sends `args` through `via` in a helper (after `prepare`), with the child
/// starting at `entry(arg)`; returns how the child ended.
fn observe(
    prepare: fn(),
    args: CloneArgs,
    via: Syscall,
    entry: raw::ChildEntry,
    arg: *mut c_void,
) -> Result<ExitStatus, Errno> {
    legacy_exit_signal(&args);
    let mut stack = Stack::new(64 * 1024).expect("map a stack");
    let stack = raw_stack(&mut stack);
    let page = SharedPage::new();
    let status = in_helper(|| {
        prepare();
        // SAFETY: as in `send_prepared`; the entries used here only read and exit.
        match unsafe { spawn_raw(args, via, stack, entry, arg) } {
            Err(errno) => errno as i32,
            Ok(pid) => match raw::wait4(pid, libc::__WALL) {
                Ok(Some(status)) => {
                    page.word(0).store(status, Ordering::SeqCst);
                    0
                }
                _ => 255,
            },
        }
    });
    match code_of(status) {
        0 => Ok(ExitStatus::from_raw(page.word(0).load(Ordering::SeqCst))),
        255 => panic!("the observed child could not be reaped"),
        errno => Err(Errno::from_raw(errno)),
    }
}

/// The child's exit code, for a child that must have exited.
fn child_code(result: Result<ExitStatus, Errno>, what: &str) -> i32 {
    match result {
        Ok(status) => status
            .code()
            .unwrap_or_else(|| panic!("{what}: child ended by {status:?}")),
        Err(errno) => panic!("{what}: refused with {errno}"),
    }
}

/// clone3 refuses an exit signal for a `CLONE_THREAD` child; legacy clone
/// takes one and silently ignores it: no SIGCHLD when the thread ends.
fn exit_signal_with_thread() {
    let thread = F::THREAD | F::SIGHAND | F::VM;
    assert_eq!(send(args(thread, SIGCHLD), Syscall::Clone3), Err(Errno::EINVAL));

    const IGNORED: i32 = 0;
    const SENT: i32 = 1;
    const NOT_JOINED: i32 = 2;
    const REFUSED: i32 = 3;
    let mut stack = Stack::new(64 * 1024).expect("map a stack");
    let stack = raw_stack(&mut stack);
    let page = SharedPage::new();
    let status = in_helper(|| {
        // SAFETY (whole block): plain system calls on the helper's own state;
        // the thread only exits, and its CLEARTID word is in the shared page.
        unsafe {
            let mut chld: libc::sigset_t = mem::zeroed();
            libc::sigemptyset(&mut chld);
            libc::sigaddset(&mut chld, libc::SIGCHLD);
            libc::sigprocmask(libc::SIG_BLOCK, &chld, ptr::null_mut());
            page.word(0).store(-1, Ordering::SeqCst);
            let args = CloneArgs {
                child_tid: page.addr(0),
                ..args(thread | F::CHILD_CLEARTID, SIGCHLD)
            };
            if let Err(errno) = spawn_raw(args, Syscall::Clone, stack, exit_at_once, ptr::null_mut()) {
                page.word(1).store(errno as i32, Ordering::SeqCst);
                return REFUSED;
            }
            for _ in 0..100 {
                if page.word(0).load(Ordering::SeqCst) == 0 {
                    break;
                }
                let _ = raw::futex_wait(page.word(0), -1, Some(Duration::from_millis(100)));
            }
            if page.word(0).load(Ordering::SeqCst) != 0 {
                return NOT_JOINED;
            }
            let mut pending: libc::sigset_t = mem::zeroed();
            libc::sigpending(&mut pending);
            if libc::sigismember(&pending, libc::SIGCHLD) == 1 {
                SENT
            } else {
                IGNORED
            }
        }
    });
    let errno = page.word(1).load(Ordering::SeqCst);
    assert_eq!(
        code_of(status),
        IGNORED,
        "legacy clone of a thread with SIGCHLD (refused with errno {errno})"
    );
}

/// clone3 refuses an exit signal for a `CLONE_PARENT` child; legacy clone
/// takes one and silently gives the child the caller's own exit signal
/// instead: the SIGUSR1 child below is reaped by a plain wait, which only
/// finds SIGCHLD children.
fn exit_signal_with_parent() {
    assert_eq!(
        send(args(F::PARENT, SIGCHLD), Syscall::Clone3),
        Err(Errno::EINVAL)
    );
    let sibling = send(args(F::PARENT, libc::SIGUSR1 as u64), Syscall::Clone)
        .expect("legacy clone with CLONE_PARENT and an exit signal")
        .expect("a CLONE_PARENT child is our sibling's sibling, so ours");
    match reap_bounded(sibling, 0) {
        Ok(status) => assert_eq!(status.code(), Some(0)),
        Err(errno) => {
            let _ = reap_bounded(sibling, libc::__WALL);
            panic!("the sibling kept its SIGUSR1 exit signal (a plain wait4 says {errno})");
        }
    }
}

/// Legacy clone writes the pidfd where PARENT_SETTID writes the TID, so it
/// refuses both; clone3 refuses them only when both point at one word.
fn pidfd_with_parent_settid() {
    let page = SharedPage::new();
    let both = F::PIDFD | F::PARENT_SETTID;
    let legacy = CloneArgs {
        parent_tid: page.addr(0),
        ..args(both, SIGCHLD)
    };
    assert_eq!(send(legacy, Syscall::Clone), Err(Errno::EINVAL));
    let same_word = CloneArgs {
        pidfd: page.addr(0),
        parent_tid: page.addr(0),
        ..args(both, SIGCHLD)
    };
    assert_eq!(send(same_word, Syscall::Clone3), Err(Errno::EINVAL));
    let two_words = CloneArgs {
        pidfd: page.addr(0),
        parent_tid: page.addr(1),
        ..args(both, SIGCHLD)
    };
    assert_eq!(send(two_words, Syscall::Clone3), Ok(None));
    assert!(page.word(1).load(Ordering::SeqCst) > 0, "clone3 stored the TID");
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Installs a SIGUSR1 handler (in a helper: the harness's handlers stay).
fn install_usr1_handler() {
    // SAFETY: a plain sigaction on the helper; the handler does nothing.
    unsafe {
        let mut action: libc::sigaction = mem::zeroed();
        action.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as usize;
        libc::sigaction(libc::SIGUSR1, &action, ptr::null_mut());
    }
}

/// Exits 1 if SIGUSR1 still has a handler, 0 if it is at its default.
extern "C" fn report_usr1_handler(_: *mut c_void) -> ! {
    // SAFETY: sigaction only reads; exit ends the child.
    unsafe {
        let mut old: libc::sigaction = mem::zeroed();
        let code = if libc::sigaction(libc::SIGUSR1, ptr::null(), &mut old) != 0 {
            2
        } else {
            i32::from(old.sa_sigaction != libc::SIG_DFL)
        };
        raw::exit(code)
    }
}

/// Legacy clone drops CLEAR_SIGHAND (bit 32): the child keeps the handler;
/// clone3 resets it.
fn clear_sighand_on_legacy_clone() {
    let entry = report_usr1_handler;
    let clear = args(F::CLEAR_SIGHAND, SIGCHLD);
    let legacy = observe(
        install_usr1_handler,
        clear,
        Syscall::Clone,
        entry,
        ptr::null_mut(),
    );
    assert_eq!(
        child_code(legacy, "legacy clone"),
        1,
        "legacy clone kept the handler"
    );
    let clone3 = observe(
        install_usr1_handler,
        clear,
        Syscall::Clone3,
        entry,
        ptr::null_mut(),
    );
    assert_eq!(child_code(clone3, "clone3"), 0, "clone3 reset the handler");
}

/// Exits 1 if /proc/self/cgroup names the cgroup `arg` (a C string), else 0.
extern "C" fn report_cgroup(arg: *mut c_void) -> ! {
    // SAFETY: `arg` is a C string in the child's copy of memory; open, read
    // and close are plain system calls on a stack buffer.
    unsafe {
        let name = std::ffi::CStr::from_ptr(arg.cast::<libc::c_char>()).to_bytes();
        let fd = libc::open(c"/proc/self/cgroup".as_ptr(), libc::O_RDONLY);
        let mut buf = [0u8; 4096];
        let len = if fd < 0 {
            -1
        } else {
            libc::read(fd, buf.as_mut_ptr().cast(), buf.len())
        };
        if len <= 0 {
            raw::exit(2);
        }
        let text = &buf[..len as usize];
        let found = text
            .windows(name.len() + 1)
            .any(|w| w[..name.len()] == *name && w[name.len()] == b'\n');
        raw::exit(i32::from(found))
    }
}

/// Legacy clone drops INTO_CGROUP (bit 33): the child starts in the caller's
/// cgroup; clone3 starts it in the one asked for.
fn into_cgroup_on_legacy_clone() {
    let Some(mount) = support::procfs::cgroup2_mount() else {
        skip!("no cgroup2 file system in /proc/self/mountinfo");
    };
    let name = format!("/clonekit-rules-{}", std::process::id());
    let path = format!("{}{name}", mount.display());
    if let Err(err) = std::fs::create_dir(&path) {
        skip!("cannot create a cgroup v2 directory at {path}: {err}");
    }
    let dir = File::open(&path).expect("open the cgroup");
    let cname = CString::new(name).expect("no NUL");
    let arg = cname.as_ptr().cast_mut().cast::<c_void>();
    let into = CloneArgs {
        cgroup: dir.as_raw_fd() as u64,
        ..args(F::INTO_CGROUP, SIGCHLD)
    };
    let legacy = observe(|| {}, into, Syscall::Clone, report_cgroup, arg);
    let clone3 = observe(|| {}, into, Syscall::Clone3, report_cgroup, arg);
    drop(dir);
    let _ = std::fs::remove_dir(&path);
    assert_eq!(
        child_code(legacy, "legacy clone"),
        0,
        "legacy clone left the child in our cgroup"
    );
    assert_eq!(
        child_code(clone3, "clone3"),
        1,
        "clone3 started the child in the new cgroup"
    );
}

/// Exits 0 if the child's time namespace has the inode `*arg`, else 1.
extern "C" fn report_time_ns(arg: *mut c_void) -> ! {
    // SAFETY: `arg` points to a u64 in the child's copy of memory; stat fills
    // a stack buffer.
    unsafe {
        let mut st: libc::stat = mem::zeroed();
        if libc::stat(c"/proc/self/ns/time".as_ptr(), &mut st) != 0 {
            raw::exit(2);
        }
        raw::exit(i32::from(st.st_ino != *arg.cast::<u64>()))
    }
}

/// Legacy clone reads NEWTIME (0x80) as part of the exit signal: the child
/// stays in the caller's time namespace. clone3 gives it a new one.
fn newtime_on_legacy_clone() {
    let ours = match std::fs::metadata("/proc/self/ns/time") {
        Ok(meta) => meta.ino(),
        Err(err) => skip!("no time namespaces here (/proc/self/ns/time: {err})"),
    };
    let arg = &ours as *const u64 as *mut c_void;
    // Exit signal "none": the low byte is 0x80, NEWTIME itself. Kernels
    // before 7.1 read it as exit signal 128 and ignore the namespace (the
    // child stays in ours); 7.1 and later refuse it (EINVAL). Either way
    // legacy clone cannot carry NEWTIME, which is what Rule::Clone3Only says.
    match observe(|| {}, args(F::NEWTIME, 0), Syscall::Clone, report_time_ns, arg) {
        Err(Errno::EINVAL) => println!("legacy clone with CLONE_NEWTIME: EINVAL (Linux 7.1 and later)"),
        legacy => assert_eq!(
            child_code(legacy, "legacy clone"),
            0,
            "legacy clone: same time namespace"
        ),
    }
    match observe(
        || {},
        args(F::NEWTIME, SIGCHLD),
        Syscall::Clone3,
        report_time_ns,
        arg,
    ) {
        Err(Errno::EPERM) => skip!("newtime via clone3: EPERM (no CAP_SYS_ADMIN)"),
        clone3 => assert_eq!(child_code(clone3, "clone3"), 1, "clone3: a new time namespace"),
    }
}

fn close_fd0() {
    // SAFETY: closes the helper's own stdin, nothing of the harness.
    unsafe { libc::close(0) };
}

/// With no cgroup given the field is 0, which the kernel takes for fd 0:
/// with fd 0 closed, EBADF (and if fd 0 were a cgroup, silently that one).
fn into_cgroup_without_fd() {
    let into = args(F::INTO_CGROUP, SIGCHLD);
    assert_eq!(send_prepared(close_fd0, into, Syscall::Clone3), Err(Errno::EBADF));
}

/// Where this kernel accepts what clone(2) says is EINVAL, the library
/// accepts it too, and the raw call succeeds.
#[rstest]
// clone(2): "CLONE_NEWPID and CLONE_PARENT" ... EINVAL (not so since Linux 3.13 or so).
#[case::newpid_with_parent(F::NEWPID | F::PARENT, 0, BOTH)]
// clone(2): "CLONE_NEWUSER and CLONE_PARENT" ... EINVAL (likewise).
#[case::newuser_with_parent(F::NEWUSER | F::PARENT, 0, BOTH)]
// clone(2): "CLONE_PIDFD together with CLONE_THREAD" ... EINVAL (thread pidfds since 6.9).
#[case::pidfd_with_thread(F::PIDFD | F::THREAD | F::SIGHAND | F::VM, 0, BOTH)]
// clone(2): "CLONE_NEWTIME ... with CLONE_VM and without CLONE_VFORK" ... EINVAL.
#[case::newtime_with_vm(F::NEWTIME | F::VM, SIGCHLD, CLONE3)]
fn accepted_by_kernel(#[case] flags: CloneFlags, #[case] exit_signal: u64, #[case] vias: &[Syscall]) {
    let _serial = serial();
    assert_eq!(flags.check(), Ok(()));
    let mut builder = CloneBuilder::new();
    let signal = (exit_signal != 0).then_some(Signal::SIGCHLD);
    builder.flags(flags).exit_signal(signal);
    match builder.check() {
        Ok(()) => {}
        Err(Error::Unsupported { feature, errno }) => {
            skip!("{flags:?}: {feature} unsupported here ({errno})")
        }
        Err(err) => panic!("check() refuses what the kernel accepts: {err}"),
    }
    let page = SharedPage::new();
    for &via in vias {
        let mut raw_args = args(flags, exit_signal);
        if flags.contains(F::PIDFD) {
            match via {
                Syscall::Clone => raw_args.parent_tid = page.addr(0),
                Syscall::Clone3 => raw_args.pidfd = page.addr(0),
                Syscall::Auto => unreachable!("{NOT_RAW}"),
            }
        }
        match send(raw_args, via) {
            Ok(Some(sibling)) => {
                let status = reap_bounded(sibling, libc::__WALL).expect("reap the sibling");
                assert_eq!(status.code(), Some(0));
            }
            Ok(None) => {}
            Err(Errno::EPERM) => skip_part!(format!("{flags:?} via {via:?}"), "EPERM (no privilege here)"),
            Err(errno) => panic!("{flags:?} via {via:?}: the kernel refused with {errno}"),
        }
    }
}

/// `CLONE_PIDFD | CLONE_THREAD`: the builder's answer is the kernel's. Where
/// `check()` says `Unsupported` (before Linux 6.9), the raw call is refused
/// with EINVAL; where it accepts, so does the kernel (`accepted_by_kernel`).
#[test]
fn thread_pidfd_is_unsupported_exactly_where_the_kernel_refuses_it() {
    let _serial = serial();
    let flags = F::PIDFD | F::THREAD | F::SIGHAND | F::VM;
    let mut builder = CloneBuilder::new();
    builder.flags(flags).exit_signal(None);
    let page = SharedPage::new();
    let mut raw_args = args(flags, 0);
    raw_args.parent_tid = page.addr(0);
    let kernel = send(raw_args, Syscall::Clone);
    match (builder.check(), kernel) {
        (Ok(()), Ok(_)) => {}
        (Err(Error::Unsupported { errno, .. }), Err(Errno::EINVAL)) => {
            println!("CLONE_PIDFD | CLONE_THREAD: Unsupported here ({errno}), as the kernel says")
        }
        (check, kernel) => panic!("check() said {check:?}, the kernel {kernel:?}"),
    }
}

/// Linux 7.1's clone3 flags: `check()` says `Unsupported`, naming the flag
/// and the release, exactly where the raw clone3 refuses them (EINVAL: unknown
/// bits), and accepts them where the kernel creates the child.
#[rstest]
#[case::autoreap(F::AUTOREAP, "CLONE_AUTOREAP (Linux 7.1)")]
#[case::nnp(F::NNP, "CLONE_NNP (Linux 7.1)")]
#[case::pidfd_autokill(F::PIDFD_AUTOKILL | F::AUTOREAP | F::PIDFD | F::NNP, "CLONE_PIDFD_AUTOKILL (Linux 7.1)")]
#[case::empty_mntns(F::EMPTY_MNTNS, "CLONE_EMPTY_MNTNS (Linux 7.1)")]
fn linux_7_1_flags_are_unsupported_exactly_where_the_kernel_refuses_them(
    #[case] flags: CloneFlags,
    #[case] named: &str,
) {
    let _serial = serial();
    let mut builder = CloneBuilder::new();
    builder.flags(flags).exit_signal(None);
    let page = SharedPage::new();
    let mut raw_args = args(flags, 0);
    if flags.contains(F::PIDFD) {
        raw_args.pidfd = page.addr(0);
    }
    let kernel = send(raw_args, Syscall::Clone3);
    match (builder.check(), kernel) {
        (Ok(()), Ok(_)) => println!("{flags:?}: accepted, as the kernel does"),
        (Ok(()), Err(Errno::EPERM)) if flags.contains(F::EMPTY_MNTNS) => {
            skip_part!(
                format!("{flags:?}"),
                "EPERM (no privilege for a mount namespace here)"
            )
        }
        (Err(Error::Unsupported { feature, errno }), Err(Errno::EINVAL)) => {
            assert_eq!(feature, named);
            assert_eq!(errno, Errno::EINVAL);
            println!("{flags:?}: Unsupported here, as the kernel refuses it");
        }
        (Err(Error::Unsupported { .. }), Err(Errno::ENOSYS | Errno::EPERM)) if !support::has_clone3() => {
            skip!("no clone3")
        }
        (check, kernel) => panic!("check() said {check:?}, the kernel {kernel:?}"),
    }
}

/// Bits outside the named flags: a C-style signal in the low byte (SIGSTOP,
/// SIGFPE, SIGUSR1 beside CLONE_VM), the retired CLONE_DETACHED, and bits
/// above 31. Each is a `Conflict` naming the bits, from `CloneFlags::check`,
/// `CloneBuilder::check`, `fork` and `spawn`, before any call: in a helper,
/// so that a clone that went ahead anyway (the low byte read as the exit
/// signal) could only stop or kill the helper.
#[rstest]
#[case::sigstop(0x02)]
#[case::sigfpe(0x08)]
#[case::sigusr1_beside_vm(F::VM.bits() | libc::SIGUSR1 as u64)]
#[case::clone_detached(0x0040_0000)]
#[case::bit_40(1 << 40)]
fn unknown_bits_are_refused(#[case] bits: u64) {
    let _serial = serial();
    let flags = CloneFlags::from_bits_retain(bits);
    let unknown = flags.unknown().bits();
    assert_ne!(unknown, 0);
    let conflict = flags.check().expect_err("CloneFlags::check accepts unknown bits");
    assert_eq!(conflict.rule(), Rule::UnknownBits);
    assert!(
        conflict.to_string().contains(&format!("{unknown:#x}")),
        "{conflict}"
    );
    assert_conflict(CloneBuilder::new().flags(flags).check(), Rule::UnknownBits);
    // The fork-like call needs a flag set without CLONE_VM.
    fork_refused(flags - F::VM, false, Rule::UnknownBits);
    for syscall in [Syscall::Clone, Syscall::Clone3, Syscall::Auto] {
        let status = in_helper(|| {
            let mut builder = CloneBuilder::new();
            builder.flags(flags).syscall(syscall);
            // SAFETY: the spawn is expected to be refused; if not, the child only returns.
            match unsafe { builder.spawn(|| 0) } {
                Err(Error::Conflict(conflict)) if conflict.rule() == Rule::UnknownBits => 0,
                Err(_) => 1,
                Ok(_) => 2,
            }
        });
        assert_eq!(code_of(status), 0, "spawn with {bits:#x} via {syscall:?}");
    }
}

/// Why: legacy clone reads a bit of the low byte as (part of) the exit
/// signal, so a child created with `SIGUSR2` among its flags and no exit
/// signal still sends SIGUSR2 to its parent when it ends; clone3 refuses an
/// unknown bit outright.
#[test]
fn unknown_bits_reach_the_kernel_as_an_exit_signal() {
    let _serial = serial();
    assert_eq!(
        send(
            args(CloneFlags::from_bits_retain(1 << 40), SIGCHLD),
            Syscall::Clone3
        ),
        Err(Errno::EINVAL)
    );
    const GOT_SIGUSR2: i32 = 0;
    let status = in_helper(|| {
        let mut usr2 = raw::full_sigset();
        // SAFETY: a live sigset_t.
        unsafe { libc::sigemptyset(&mut usr2) };
        // SAFETY: as above.
        unsafe { libc::sigaddset(&mut usr2, libc::SIGUSR2) };
        // SAFETY: live sigset_t's; SIGUSR2 stays pending instead of killing the helper.
        if unsafe { raw::rt_sigprocmask(libc::SIG_BLOCK, &usr2, ptr::null_mut()) }.is_err() {
            return 10;
        }
        let flags = CloneFlags::from_bits_retain(libc::SIGUSR2 as u64);
        // SAFETY: no CLONE_VM; the child only exits.
        match unsafe { raw::clone(flags, None, ptr::null_mut(), ptr::null_mut(), ptr::null_mut()) } {
            // SAFETY: the forked child has its own memory and only exits.
            Ok(None) => unsafe { raw::exit_group(0) },
            Ok(Some(pid)) => {
                let _ = raw::wait4(pid, libc::__WALL);
            }
            Err(_) => return 11,
        }
        let mut pending = raw::full_sigset();
        // SAFETY: a live sigset_t.
        unsafe { libc::sigpending(&mut pending) };
        // SAFETY: as above.
        match unsafe { libc::sigismember(&pending, libc::SIGUSR2) } {
            1 => GOT_SIGUSR2,
            _ => 12,
        }
    });
    assert_eq!(
        code_of(status),
        GOT_SIGUSR2,
        "legacy clone did not send the low byte as exit signal"
    );
}
