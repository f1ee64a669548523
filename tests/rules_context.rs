//! The rules of the caller's context, each asked of the kernel: a helper
//! makes the context (PID 1 of a new PID namespace, after
//! `unshare(CLONE_NEWPID)`, after `unshare(CLONE_NEWTIME)`), `check()` must
//! refuse with the rule there, and the same request sent raw must get EINVAL
//! there (see `support::clone_case`), so that a wrong rule fails here.

use clonekit::{CloneFlags, Errno, Rule, Signal, Syscall};

#[macro_use]
mod support;

use support::clone_case::{ask, Case, Checked, Context, ExitSig, Fds};
use support::procfs::kernel_version;
use support::serial;

/// The calls a case is sent through: legacy clone where it can carry the
/// request, and clone3 where this process may call it.
fn calls(legacy: bool) -> Vec<Syscall> {
    let mut calls = Vec::new();
    if legacy {
        calls.push(Syscall::Clone);
    }
    if support::has_clone3() {
        calls.push(Syscall::Clone3);
    }
    calls
}

/// Asks `case` in `context` through each of `vias`: `check()` must answer
/// `expected` (None: accept), and the kernel EINVAL (or, with None, make the
/// child). `Err(why)`: the context cannot be made here.
fn expect(case: Case, context: Context, vias: &[Syscall], expected: Option<Rule>) -> Result<(), String> {
    assert!(!vias.is_empty(), "no call to send the case through");
    let _serial = serial();
    let fds = Fds::open();
    for &via in vias {
        let case = Case {
            syscall: via,
            ..case.clone()
        };
        let answer = ask(&case, context, &fds)?;
        assert_eq!(
            answer.helper_killed, None,
            "{case:?} in {context:?}: the helper was killed"
        );
        match expected {
            Some(rule) => {
                assert_eq!(answer.checked, Checked::Refused(rule), "{case:?} in {context:?}");
                assert_eq!(
                    answer.kernel,
                    Err(Errno::EINVAL),
                    "{case:?} in {context:?} via {via:?}"
                );
            }
            None => {
                assert_eq!(answer.checked, Checked::Ok, "{case:?} in {context:?}");
                assert_eq!(answer.kernel, Ok(()), "{case:?} in {context:?} via {via:?}");
            }
        }
    }
    Ok(())
}

fn pid_max() -> i32 {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .expect("read pid_max")
        .trim()
        .parse()
        .expect("pid_max is a number")
}

fn with_sigchld(flags: CloneFlags) -> Case {
    Case {
        exit_signal: ExitSig::Valid(Signal::SIGCHLD),
        ..Case::flags(flags)
    }
}

#[test]
fn set_tid_above_pid_max() {
    require_root!("set_tid needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE");
    require_clone3!();
    let case = Case {
        set_tid: Some(vec![pid_max()]),
        ..with_sigchld(CloneFlags::empty())
    };
    skip_on_err!(expect(
        case,
        Context::Plain,
        &[Syscall::Clone3],
        Some(Rule::SetTidAbovePidMax)
    ));
}

#[test]
fn set_tid_no_init_not_one() {
    require_root!("unshare(CLONE_NEWPID) and set_tid need root");
    require_clone3!();
    let case = Case {
        set_tid: Some(vec![2]),
        ..with_sigchld(CloneFlags::empty())
    };
    skip_on_err!(expect(
        case,
        Context::AfterPidUnshare,
        &[Syscall::Clone3],
        Some(Rule::SetTidNoInitNotOne)
    ));
}

#[test]
fn parent_from_init() {
    require_root!("unshare(CLONE_NEWPID) needs root");
    skip_on_err!(expect(
        Case::flags(CloneFlags::PARENT),
        Context::PidNsInit,
        &calls(true),
        Some(Rule::ParentFromInit)
    ));
}

#[test]
fn thread_after_pid_unshare() {
    require_root!("unshare(CLONE_NEWPID) needs root");
    skip_on_err!(expect(
        Case::flags(CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM),
        Context::AfterPidUnshare,
        &calls(true),
        Some(Rule::ThreadAfterPidUnshare)
    ));
}

#[test]
fn newpid_after_pid_unshare() {
    require_root!("unshare(CLONE_NEWPID) needs root");
    skip_on_err!(expect(
        with_sigchld(CloneFlags::NEWPID),
        Context::AfterPidUnshare,
        &calls(true),
        Some(Rule::NewpidAfterPidUnshare)
    ));
}

/// Before Linux 6.2 the kernel refuses `CLONE_VM` after
/// `unshare(CLONE_NEWTIME)`, `CLONE_VFORK` or not; since, it accepts both, and
/// so must `check()`.
#[test]
fn vm_after_time_unshare() {
    require_root!("unshare(CLONE_NEWTIME) needs root");
    if !std::path::Path::new("/proc/self/ns/time").exists() {
        skip!("this kernel has no time namespaces (Linux 5.6)");
    }
    let expected = (kernel_version() < (6, 2)).then_some(Rule::VmAfterTimeUnshare);
    for flags in [CloneFlags::VM, CloneFlags::VM | CloneFlags::VFORK] {
        skip_on_err!(expect(
            with_sigchld(flags),
            Context::AfterTimeUnshare,
            &calls(true),
            expected
        ));
    }
}
