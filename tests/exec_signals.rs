//! `Exec` and signal dispositions. Installing handlers and ignoring signals
//! changes process-wide state, so these tests live in their own binary and
//! take one lock.

use std::ffi::c_int;
use std::fs;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use clonekit::{raw, Exec, Pid, Signal, Stdio, Strategy};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet};
use rstest::rstest;

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// This process's pid, for the handler to tell whether it runs in a child.
static PARENT: AtomicI32 = AtomicI32::new(0);
/// How often the handler ran in this process.
static IN_PARENT: AtomicUsize = AtomicUsize::new(0);
/// What a child exits with if the parent's handler ever runs in it.
const RAN_IN_CHILD: c_int = 99;

extern "C" fn on_signal(_: c_int) {
    // SAFETY: getpid cannot fail; exit_group is async-signal-safe.
    unsafe {
        if raw::getpid().as_raw() != PARENT.load(Ordering::Relaxed) {
            raw::exit_group(RAN_IN_CHILD);
        }
    }
    IN_PARENT.fetch_add(1, Ordering::Relaxed);
}

fn set_handler(sig: Signal, handler: SigHandler) {
    let action = SigAction::new(handler, SaFlags::SA_RESTART, SigSet::empty());
    // SAFETY: the handler only makes async-signal-safe calls.
    unsafe { sigaction(sig, &action) }.unwrap();
}

#[rstest]
fn parent_handler_never_runs_in_child(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    let _guard = lock();
    PARENT.store(std::process::id() as i32, Ordering::Relaxed);
    IN_PARENT.store(0, Ordering::Relaxed);
    // SIGWINCH: ignored by default, so a child that got it with the default
    // disposition goes on; one that ran our handler exits with RAN_IN_CHILD.
    set_handler(Signal::SIGWINCH, SigHandler::Handler(on_signal));

    // The children join the group of a long sleep, so that a signal sent to
    // the group reaches each of them between setpgid and execve.
    let mut leader = Exec::new("sleep")
        .arg("30")
        .process_group(Pid::from_raw(0))
        .strategy(strategy)
        .spawn()
        .unwrap();
    let group = leader.pid();
    let stop = AtomicBool::new(false);
    let codes: Vec<Option<i32>> = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: plain system calls to our own group and ourselves.
                unsafe {
                    libc::kill(-group.as_raw(), libc::SIGWINCH);
                    libc::kill(libc::getpid(), libc::SIGWINCH);
                }
            }
        });
        let mut exec = Exec::new("true");
        exec.process_group(group).stdout(Stdio::Null).strategy(strategy);
        let codes = (0..200).map(|_| exec.status().unwrap().code()).collect();
        stop.store(true, Ordering::Relaxed);
        codes
    });
    leader.child.kill(Signal::SIGKILL).unwrap();
    leader.wait().unwrap();
    set_handler(Signal::SIGWINCH, SigHandler::SigDfl);

    assert!(
        IN_PARENT.load(Ordering::Relaxed) > 0,
        "the signal never reached the parent"
    );
    let bad: Vec<_> = codes.iter().filter(|c| **c != Some(0)).collect();
    assert!(
        bad.is_empty(),
        "{} of 200 children ran the handler or failed: {bad:?}",
        bad.len()
    );
}

fn status_mask(status: &str, field: &str) -> u64 {
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[rstest]
fn ignored_signals_stay_ignored(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    let _guard = lock();
    PARENT.store(std::process::id() as i32, Ordering::Relaxed);
    let ours = status_mask(&fs::read_to_string("/proc/self/status").unwrap(), "SigIgn:");
    set_handler(Signal::SIGUSR2, SigHandler::SigIgn);
    set_handler(Signal::SIGURG, SigHandler::Handler(on_signal));
    let output = Exec::new("cat")
        .arg("/proc/self/status")
        .strategy(strategy)
        .output();
    set_handler(Signal::SIGUSR2, SigHandler::SigDfl);
    set_handler(Signal::SIGURG, SigHandler::SigDfl);

    let status = String::from_utf8(output.unwrap().stdout).unwrap();
    let ignored = status_mask(&status, "SigIgn:");
    let usr2 = 1u64 << (libc::SIGUSR2 - 1);
    let urg = 1u64 << (libc::SIGURG - 1);
    assert_eq!(ignored & usr2, usr2, "SIGUSR2 is no longer ignored");
    assert_eq!(ignored & urg, 0, "a handled signal became ignored");
    assert_eq!(ignored & !usr2, ours & !usr2, "other ignored signals changed");
    assert_eq!(status_mask(&status, "SigCgt:"), 0);
}
