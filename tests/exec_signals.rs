//! `Exec` and signal dispositions. Installing handlers and ignoring signals
//! changes process-wide state, so these tests live in their own binary and
//! take `serial()`.

use std::ffi::c_int;
use std::fs;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

use clonekit::{raw, Exec, Pid, Signal, Stdio, Strategy};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet};
use rstest::rstest;

#[macro_use]
mod support;

use support::procfs::status_mask;
use support::{serial, stress_count};

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
    let _serial = serial();
    handler_never_runs_in_child(strategy);
}

/// Spawns 200 children (fewer under [`support::STRESS_SCALE_ENV`]) into a
/// process group that another thread keeps sending a signal the parent
/// handles; none may run the handler.
fn handler_never_runs_in_child(strategy: Strategy) {
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
        let codes = (0..stress_count(200))
            .map(|_| exec.status().unwrap().code())
            .collect();
        stop.store(true, Ordering::Relaxed);
        codes
    });
    leader.kill().unwrap();
    leader.wait().unwrap();
    set_handler(Signal::SIGWINCH, SigHandler::SigDfl);

    assert!(
        IN_PARENT.load(Ordering::Relaxed) > 0,
        "the signal never reached the parent"
    );
    let bad: Vec<_> = codes.iter().filter(|c| **c != Some(0)).collect();
    assert!(
        bad.is_empty(),
        "{} of {} children ran the handler or failed: {bad:?}",
        bad.len(),
        codes.len()
    );
}

const FALLBACK_HELPER_ENV: &str = "CLONEKIT_FALLBACK_HELPER";

/// Runs the helper below in a process of its own, where a seccomp filter
/// makes clone3 answer ENOSYS: `Strategy::CloneVfork` must fall back to
/// legacy clone and reset the handlers itself.
#[test]
fn clone_vfork_falls_back_without_clone3() {
    let _serial = serial();
    support::rerun::expect_helper("fallback_helper", &[(FALLBACK_HELPER_ENV, "1")], "FALLBACK OK");
}

#[test]
#[ignore = "helper process for clone_vfork_falls_back_without_clone3"]
fn fallback_helper() {
    if std::env::var_os(FALLBACK_HELPER_ENV).is_none() {
        skip!("only meaningful as a helper process");
    }
    support::seccomp::refuse(libc::SYS_clone3, clonekit::Errno::ENOSYS).expect("install a seccomp filter");
    assert_eq!(raw::clone3_probe(), clonekit::Errno::ENOSYS);
    handler_never_runs_in_child(Strategy::CloneVfork);
    let mut child = Exec::new("sleep").arg("10").pidfd(true).spawn().unwrap();
    assert!(child.pidfd().is_some(), "legacy clone gives a pidfd too");
    child.kill().unwrap();
    child.wait().unwrap();
    // What only clone3 can do is refused, not silently dropped.
    let err = Exec::new("true")
        .namespaces(clonekit::CloneFlags::NEWTIME)
        .spawn()
        .unwrap_err();
    assert!(
        matches!(
            err,
            clonekit::Error::Unsupported {
                errno: clonekit::Errno::ENOSYS,
                ..
            }
        ),
        "{err:?}"
    );
    println!("FALLBACK OK");
}

#[rstest]
fn ignored_signals_stay_ignored(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    let _serial = serial();
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
    // SIGPIPE is the one exception, reset by default (see below).
    let changed = usr2 | SIGPIPE_BIT;
    assert_eq!(
        ignored & !changed,
        ours & !changed,
        "other ignored signals changed"
    );
    assert_eq!(status_mask(&status, "SigCgt:"), 0);
}

const SIGPIPE_BIT: u64 = 1 << (libc::SIGPIPE - 1);

/// The child's ignored signals, as its /proc/self/status says.
fn child_ignored(exec: &mut Exec) -> u64 {
    let out = exec.args(["SigIgn", "/proc/self/status"]).output().unwrap();
    status_mask(&String::from_utf8(out.stdout).unwrap(), "SigIgn:")
}

/// The Rust runtime ignores SIGPIPE; the child gets it back at `SIG_DFL`
/// (as `std::process::Command` does) unless told to keep it.
#[rstest]
fn sigpipe_is_reset_in_the_child(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    let _serial = serial();
    let ours = status_mask(&fs::read_to_string("/proc/self/status").unwrap(), "SigIgn:");
    assert_ne!(ours & SIGPIPE_BIT, 0, "the test runs with SIGPIPE ignored");

    // `yes` dies of SIGPIPE once `head` has exited; ignoring it, it would
    // see EPIPE and report it on stderr.
    let out = Exec::new("sh")
        .args(["-c", "yes | head -1"])
        .strategy(strategy)
        .output()
        .unwrap();
    assert_eq!(
        (
            out.stdout.as_slice(),
            String::from_utf8_lossy(&out.stderr).as_ref()
        ),
        (&b"y\n"[..], "")
    );
    assert!(out.status.success());

    let reset = child_ignored(Exec::new("grep").strategy(strategy));
    assert_eq!(reset & SIGPIPE_BIT, 0, "SIGPIPE is still ignored in the child");
    let kept = child_ignored(Exec::new("grep").strategy(strategy).reset_sigpipe(false));
    assert_ne!(
        kept & SIGPIPE_BIT,
        0,
        "reset_sigpipe(false) did not keep it ignored"
    );
}
