//! `probe()` gives the same answers whatever the caller does with SIGCHLD:
//! ignored, `SA_NOCLDWAIT`, or a handler that reaps every child it can
//! (`waitpid(-1, WNOHANG)` in a loop, as daemons do). Each disposition is
//! set in a helper process of its own (this test binary, run again), so the
//! other tests never see it.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clonekit::{Feature, Signal};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet};
use rstest::rstest;

/// Names the disposition the helper sets; unset outside the helper.
const HELPER_ENV: &str = "CLONEKIT_PROBE_HOSTILE";

/// How long the helper may take before it is killed.
const HELPER_DEADLINE: Duration = Duration::from_secs(120);

/// How many probes run under the disposition: the reaping handler races
/// with the probe's own wait, so one lucky probe proves little.
const PROBES: usize = 5;

#[rstest]
#[case::ignored("ignored")]
#[case::nocldwait("nocldwait")]
#[case::reaping_handler("reaping_handler")]
fn probe_answers_the_same_under(#[case] disposition: &str) {
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "hostile_helper",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, disposition)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + HELPER_DEADLINE;
    let status = loop {
        if let Some(status) = helper.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            helper.kill().unwrap();
            helper.wait().unwrap();
            panic!("the helper did not finish in {HELPER_DEADLINE:?} and was killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    helper.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    helper.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    if let Some(skip) = stdout.lines().find(|line| line.starts_with("SKIP:")) {
        println!("{skip}");
        return;
    }
    assert!(
        status.success() && stdout.contains("HOSTILE OK"),
        "{disposition}: {status}\n{stdout}\n{stderr}"
    );
}

/// A SIGCHLD handler that does nothing: with `SA_NOCLDWAIT`, the kernel
/// reaps on its own.
extern "C" fn note_only(_: libc::c_int) {}

/// A SIGCHLD handler as daemons write it: reaps every child that has exited.
extern "C" fn reap_all(_: libc::c_int) {
    // SAFETY: waitpid is async-signal-safe; errno is saved and restored so
    // the interrupted code does not see it change.
    unsafe {
        let errno = *libc::__errno_location();
        while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
        *libc::__errno_location() = errno;
    }
}

fn set_sigchld(handler: SigHandler, flags: SaFlags) {
    let action = SigAction::new(handler, flags, SigSet::empty());
    // SAFETY: the handlers installed here are SIG_IGN, SIG_DFL, note_only
    // and reap_all, which are async-signal-safe.
    unsafe { sigaction(Signal::SIGCHLD, &action) }.unwrap();
}

/// `(name, available)` of every feature row.
fn answers(features: &[Feature]) -> Vec<(&'static str, bool)> {
    features.iter().map(|f| (f.name, f.available)).collect()
}

#[test]
#[ignore = "helper process for probe_answers_the_same_under"]
fn hostile_helper() {
    let Some(disposition) = std::env::var_os(HELPER_ENV) else {
        println!("only meaningful as a helper process");
        return;
    };
    let baseline = clonekit::probe();
    println!("without a SIGCHLD disposition:\n{baseline}");
    if !baseline.clone_pidfd {
        // Nothing a child could show: the comparison would prove nothing.
        println!("SKIP: no probe child can be created here");
        return;
    }
    match disposition.to_str().unwrap() {
        "ignored" => set_sigchld(SigHandler::SigIgn, SaFlags::empty()),
        "nocldwait" => set_sigchld(SigHandler::Handler(note_only), SaFlags::SA_NOCLDWAIT),
        "reaping_handler" => set_sigchld(SigHandler::Handler(reap_all), SaFlags::SA_RESTART),
        other => panic!("unknown disposition {other}"),
    }
    for _ in 0..PROBES {
        let host = clonekit::probe();
        assert_eq!(
            answers(&host.features),
            answers(&baseline.features),
            "under {disposition:?}:\n{host}"
        );
    }
    set_sigchld(SigHandler::SigDfl, SaFlags::empty());
    println!("HOSTILE OK");
}
