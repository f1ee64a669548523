//! A child the kernel reaped itself (the caller ignores `SIGCHLD`) still
//! gives its handle its exit status where the kernel keeps it on the pidfd
//! (`PIDFD_INFO_EXIT`, Linux 6.15): `wait`, `try_wait` and `wait_timeout`
//! return it, with no resource usage. Before 6.15 they say `ECHILD`, and
//! the status is lost. Each case runs in a helper process that ignores
//! `SIGCHLD`.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use clonekit::{CloneBuilder, Errno, Error, Exec, Strategy};

#[macro_use]
mod support;

use support::{poll_until, DEADLINE};

const HELPER_ENV: &str = "CLONEKIT_EXIT_KEPT_HELPER";
const MARKER: &str = "EXIT KEPT OK";

#[test]
fn a_child_the_kernel_reaped_gives_its_status_through_its_pidfd() {
    support::rerun::expect_helper("exit_kept_helper", &[(HELPER_ENV, "1")], MARKER);
}

#[test]
#[ignore = "helper process for a_child_the_kernel_reaped_gives_its_status_through_its_pidfd"]
fn exit_kept_helper() {
    if std::env::var_os(HELPER_ENV).is_none() {
        skip!("only meaningful as a helper process");
    }
    // SAFETY: SIG_IGN is no handler; this process is ours alone.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let kept = support::procfs::kernel_version() >= (6, 15);
    for strategy in [Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork] {
        // wait: blocks until the child ends, then reads the kept exit.
        let mut child = Exec::new("sh")
            .args(["-c", "sleep 0.1; exit 7"])
            .strategy(strategy)
            .spawn()
            .expect("spawn sh");
        let got = child.wait();
        expect(kept, &got, |s| s.code() == Some(7), &format!("{strategy:?} wait"));
        if kept {
            assert_eq!(child.rusage(), None, "no rusage comes with a kept exit");
            assert_eq!(child.wait(), got, "{strategy:?}: the status is remembered");
            assert!(
                child.kill().is_ok(),
                "{strategy:?}: a reaped child is not signalled"
            );
        }

        // try_wait: `None` while it runs, then the kept exit.
        let mut child = Exec::new("sh")
            .args(["-c", "sleep 0.1; exit 4"])
            .strategy(strategy)
            .spawn()
            .expect("spawn sh");
        assert!(
            matches!(child.try_wait(), Ok(None)),
            "{strategy:?}: it still runs"
        );
        let got = poll_until(DEADLINE, || match child.try_wait() {
            Ok(None) => None,
            other => Some(other.map(|status| status.expect("not None"))),
        })
        .expect("try_wait answers within the deadline");
        expect(
            kept,
            &got,
            |s| s.code() == Some(4),
            &format!("{strategy:?} try_wait"),
        );

        // wait_timeout on a killed child: the signal is kept too.
        let mut child = Exec::new("sleep")
            .arg("100")
            .strategy(strategy)
            .spawn()
            .expect("spawn sleep");
        assert_eq!(child.wait_timeout(Duration::from_millis(20)).ok(), Some(None));
        child.kill().expect("kill");
        let got = child
            .wait_timeout(DEADLINE)
            .map(|status| status.expect("ended within the deadline"));
        expect(
            kept,
            &got,
            |s| s.signal() == Some(libc::SIGKILL),
            &format!("{strategy:?} wait_timeout"),
        );
    }
    // A CloneBuilder child with a pidfd asked for.
    // SAFETY: no CLONE_VM; the closure only returns 5.
    let mut child = unsafe { CloneBuilder::new().pidfd(true).spawn(|| 5) }.expect("spawn");
    let got = child.wait();
    expect(kept, &got, |s| s.code() == Some(5), "CloneBuilder wait");
    // A handle without a pidfd cannot read a kept exit: ECHILD on every kernel.
    // SAFETY: as above.
    let mut child = unsafe { CloneBuilder::new().spawn(|| 5) }.expect("spawn");
    assert!(child.pidfd().is_none());
    let got = child.wait();
    expect(false, &got, |_| false, "CloneBuilder without a pidfd");
    println!("{MARKER}");
}

/// `got` must be a status `right` accepts where the kernel keeps exits,
/// else `ECHILD`.
fn expect(kept: bool, got: &clonekit::Result<ExitStatus>, right: impl Fn(&ExitStatus) -> bool, what: &str) {
    match (kept, got) {
        (true, Ok(status)) if right(status) => {}
        (
            false,
            Err(Error::Sys {
                errno: Errno::ECHILD, ..
            }),
        ) => {}
        _ => panic!(
            "{what}: got {got:?}, want {}",
            if kept { "the kept exit" } else { "ECHILD" }
        ),
    }
}
