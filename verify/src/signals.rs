//! Signals: `CLONE_SIGHAND` (handler table shared or copied),
//! `CLONE_CLEAR_SIGHAND` (handlers reset in the child), and the exit signal
//! the parent gets (`SIGUSR1`, or none).

use std::mem::MaybeUninit;

use clonekit::{CloneFlags, Error, Rule, Syscall};
use nix::errno::Errno;
use nix::sys::signal::Signal;

use super::helper::{in_helper, spawn_and_reap, sys, Abort, DEADLINE, NOT_RUN};
use super::{clone_builder, observe, spec, Spec, Verdict};

#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    spec!("sighand/clone/with", "VM|SIGHAND", "signal handlers", Clone, true, sighand),
    spec!("sighand/clone/without", "VM, -SIGHAND", "signal handlers", Clone, false, sighand),
    spec!("sighand/clone3/with", "VM|SIGHAND", "signal handlers", Clone3, true, sighand),
    spec!("sighand/clone3/without", "VM, -SIGHAND", "signal handlers", Clone3, false, sighand),
    spec!("clear_sighand/clone3/with", "CLEAR_SIGHAND", "child's handlers", Clone3, true, clear_sighand),
    spec!("clear_sighand/clone3/without", "-CLEAR_SIGHAND", "child's handlers", Clone3, false, clear_sighand),
    spec!("clear_sighand/clone/refused", "CLEAR_SIGHAND", "child's handlers", Clone, true, clear_sighand_legacy),
    spec!("exit_signal/clone/sigusr1", "exit_signal=SIGUSR1", "signal at child exit", Clone, true, exit_signal),
    spec!("exit_signal/clone/none", "exit_signal=None", "signal at child exit", Clone, false, exit_signal),
    spec!("exit_signal/clone3/sigusr1", "exit_signal=SIGUSR1", "signal at child exit", Clone3, true, exit_signal),
    spec!("exit_signal/clone3/none", "exit_signal=None", "signal at child exit", Clone3, false, exit_signal),
];

/// Words of the report page.
const RAN: usize = 0;
const FIRST: usize = 1;
const SECOND: usize = 2;
const THIRD: usize = 3;

/// The handler the checks install (never called: nobody sends the signal).
extern "C" fn on_signal(_: libc::c_int) {}

/// `on_signal`'s address, taken once: the same function cast in two places
/// may yield two addresses (function pointers are not unique in Rust), so
/// installing and recognising it both go through this value.
static HANDLER: extern "C" fn(libc::c_int) = on_signal;

fn handler() -> libc::sighandler_t {
    HANDLER as *const () as libc::sighandler_t
}

/// Sets `sig`'s disposition to `handler` (`SIG_DFL`, `SIG_IGN` or a function).
fn set_disposition(sig: Signal, handler: libc::sighandler_t) -> libc::c_int {
    let mut action = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: zeroed is a valid sigaction (empty mask, no flags).
    let mut action = unsafe { action.assume_init_mut() }.to_owned();
    action.sa_sigaction = handler;
    // SAFETY: a live sigaction; the old one is not asked for.
    unsafe { libc::sigaction(sig as libc::c_int, &action, std::ptr::null_mut()) }
}

/// `sig`'s disposition: 0 default, 1 ignored, 2 our handler, 3 something else.
fn disposition(sig: Signal) -> i64 {
    let mut old = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a NULL new action only reads the current one into `old`.
    if unsafe { libc::sigaction(sig as libc::c_int, std::ptr::null(), old.as_mut_ptr()) } != 0 {
        return -1;
    }
    // SAFETY: sigaction filled it (and it was zeroed before).
    match unsafe { old.assume_init() }.sa_sigaction {
        libc::SIG_DFL => 0,
        libc::SIG_IGN => 1,
        h if h == handler() => 2,
        _ => 3,
    }
}

fn describe(disposition: i64) -> &'static str {
    match disposition {
        0 => "SIG_DFL",
        1 => "SIG_IGN",
        2 => "the handler",
        _ => "something else",
    }
}

fn sighand(via: Syscall, with: bool) -> Verdict {
    let words = |d: i64| format!("parent's SIGUSR2: {}", describe(d));
    observe(words(if with { 2 } else { 0 }), || {
        let page = in_helper(|page| {
            sys(
                "sigaction",
                Errno::result(set_disposition(Signal::SIGUSR2, libc::SIG_DFL)),
            )?;
            let mut flags = CloneFlags::VM;
            flags.set(CloneFlags::SIGHAND, with);
            let work = || {
                let ok = set_disposition(Signal::SIGUSR2, handler()) == 0;
                page.set(RAN, if ok { 1 } else { -1 });
                0
            };
            // SAFETY: the child only calls sigaction and stores to atomics.
            unsafe { spawn_and_reap(&mut clone_builder(via, flags), work) }?;
            page.set(FIRST, disposition(Signal::SIGUSR2));
            Ok(())
        })?;
        Ok(match page.get(RAN) {
            1 => words(page.get(FIRST)),
            0 => NOT_RUN.into(),
            _ => "the child's sigaction failed".into(),
        })
    })
}

fn child_handlers(usr1: i64, usr2: i64) -> String {
    format!("child's SIGUSR1: {}, SIGUSR2: {}", describe(usr1), describe(usr2))
}

fn clear_sighand(via: Syscall, with: bool) -> Verdict {
    observe(child_handlers(if with { 0 } else { 2 }, 1), || {
        let page = in_helper(|page| {
            let handler = handler();
            sys(
                "sigaction",
                Errno::result(set_disposition(Signal::SIGUSR1, handler)),
            )?;
            sys(
                "sigaction",
                Errno::result(set_disposition(Signal::SIGUSR2, libc::SIG_IGN)),
            )?;
            let flags = if with {
                CloneFlags::CLEAR_SIGHAND
            } else {
                CloneFlags::empty()
            };
            let work = || {
                page.set(FIRST, disposition(Signal::SIGUSR1));
                page.set(SECOND, disposition(Signal::SIGUSR2));
                page.set(RAN, 1);
                0
            };
            // SAFETY: the child only reads dispositions and stores to atomics.
            unsafe { spawn_and_reap(&mut clone_builder(via, flags), work) }?;
            Ok(())
        })?;
        Ok(match page.get(RAN) {
            0 => NOT_RUN.into(),
            _ => child_handlers(page.get(FIRST), page.get(SECOND)),
        })
    })
}

/// Legacy clone cannot carry CLEAR_SIGHAND: the builder refuses it before
/// the call rather than let the kernel ignore the bit.
fn clear_sighand_legacy(_: Syscall, _: bool) -> Verdict {
    let refused = |rule: Rule| format!("refused before the call: Rule::{rule:?}");
    observe(refused(Rule::Clone3Only), || {
        let result = clone_builder(Syscall::Clone, CloneFlags::CLEAR_SIGHAND).check();
        Ok(match result {
            Err(Error::Conflict(conflict)) => refused(conflict.rule()),
            Err(other) => format!("refused: {other}"),
            Ok(()) => "accepted".into(),
        })
    })
}

fn exit_signal_words(usr1: bool, chld: bool, reaped: bool) -> String {
    let got = match (usr1, chld) {
        (true, true) => "SIGUSR1 and SIGCHLD",
        (true, false) => "SIGUSR1 only",
        (false, true) => "SIGCHLD only",
        (false, false) => "no signal",
    };
    let reaped = if reaped {
        "child reaped"
    } else {
        "child not reaped"
    };
    format!("parent got {got}; {reaped}")
}

/// Whether `sig` is pending; with `wait`, waits for it up to [`DEADLINE`]
/// (and takes it).
fn pending(sig: Signal, wait: bool) -> Result<bool, Abort> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset/sigaddset initialise and fill a live sigset_t.
    let set = unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), sig as libc::c_int);
        set.assume_init()
    };
    if wait {
        let timeout = libc::timespec {
            tv_sec: DEADLINE.as_secs() as libc::time_t,
            tv_nsec: 0,
        };
        // SAFETY: live set and timespec; no siginfo wanted.
        let got = unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &timeout) };
        return Ok(got == sig as libc::c_int);
    }
    let mut now = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: fills a live sigset_t.
    sys(
        "sigpending",
        Errno::result(unsafe { libc::sigpending(now.as_mut_ptr()) }),
    )?;
    // SAFETY: sigpending filled it.
    Ok(unsafe { libc::sigismember(now.as_ptr(), sig as libc::c_int) } == 1)
}

fn exit_signal(via: Syscall, with: bool) -> Verdict {
    observe(exit_signal_words(with, false, true), || {
        let page = in_helper(|page| {
            // Block both, so that they stay pending for us to look at.
            let mut set = MaybeUninit::<libc::sigset_t>::uninit();
            // SAFETY: initialises a live sigset_t and blocks what it holds.
            let ret = unsafe {
                libc::sigemptyset(set.as_mut_ptr());
                libc::sigaddset(set.as_mut_ptr(), libc::SIGUSR1);
                libc::sigaddset(set.as_mut_ptr(), libc::SIGCHLD);
                libc::sigprocmask(libc::SIG_BLOCK, set.as_ptr(), std::ptr::null_mut())
            };
            sys("sigprocmask", Errno::result(ret))?;
            let signal = if with { Some(Signal::SIGUSR1) } else { None };
            // SAFETY: the child does nothing.
            let status =
                unsafe { spawn_and_reap(clone_builder(via, CloneFlags::empty()).exit_signal(signal), || 0) }?;
            page.set(THIRD, i64::from(status.code() == Some(0)));
            page.set(FIRST, i64::from(pending(Signal::SIGUSR1, with)?));
            page.set(SECOND, i64::from(pending(Signal::SIGCHLD, false)?));
            Ok(())
        })?;
        Ok(exit_signal_words(
            page.get(FIRST) == 1,
            page.get(SECOND) == 1,
            page.get(THIRD) == 1,
        ))
    })
}
