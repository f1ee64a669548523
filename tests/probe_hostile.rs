//! `probe()` gives the same answers whatever the caller does with SIGCHLD:
//! ignored, `SA_NOCLDWAIT`, or a handler that reaps every child it can
//! (`waitpid(-1, WNOHANG)` in a loop, as daemons do). Each disposition is
//! set in a helper process of its own (this test binary, run again), so the
//! other tests never see it.

use clonekit::{Feature, Signal};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet};
use rstest::rstest;

#[macro_use]
mod support;

use support::rerun::{run_test, skipped};

/// Names the disposition the helper sets; unset outside the helper.
const HELPER_ENV: &str = "CLONEKIT_PROBE_HOSTILE";

/// How many probes run under the disposition: the reaping handler races
/// with the probe's own wait, so one lucky probe proves little.
const PROBES: usize = 5;

#[rstest]
#[case::ignored("ignored")]
#[case::nocldwait("nocldwait")]
#[case::reaping_handler("reaping_handler")]
fn probe_answers_the_same_under(#[case] disposition: &str) {
    let (said, status) = run_test("hostile_helper", &[(HELPER_ENV, disposition)]);
    let Some(status) = status else {
        panic!("the helper did not finish in time and was killed:\n{said}");
    };
    if let Some(why) = skipped(&said) {
        skip!("{why}");
    }
    assert!(
        status.success() && said.contains("HOSTILE OK"),
        "{disposition}: {status}\n{said}"
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
        skip!("only meaningful as a helper process");
    };
    let baseline = clonekit::probe();
    println!("without a SIGCHLD disposition:\n{baseline}");
    if !baseline.clone_pidfd {
        // Nothing a child could show: the comparison would prove nothing.
        skip!("no probe child can be created here");
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
