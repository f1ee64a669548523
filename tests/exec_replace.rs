//! `Exec::exec`: the program in place of the calling process, as std's
//! `CommandExt::exec`. Each exec runs in a helper process of its own (this
//! test program run again), since it replaces or changes that process.

#[macro_use]
mod support;

use clonekit::{CloneFlags, Errno, Error, Exec, ExecStage};

use support::procfs::{fd_count, status_mask};
use support::rerun::run_test;
use support::serial;

/// The variable that names the helper's case.
const CASE: &str = "CLONEKIT_EXEC_CASE";

fn helper(case: &str) -> (String, Option<std::process::ExitStatus>) {
    let _serial = serial();
    run_test("exec_helper", &[(CASE, case)])
}

#[test]
fn exec_replaces_the_process() {
    let (said, status) = helper("replace");
    assert_eq!(status.and_then(|s| s.code()), Some(7), "{said}");
    assert!(said.contains("replaced with X=y"), "{said}");
}

#[test]
fn a_failed_exec_returns_its_stage_and_changes_no_mask_or_fd() {
    let (said, status) = helper("fail");
    assert!(
        status.is_some_and(|s| s.success()) && said.contains("FAILED AS EXPECTED"),
        "{status:?}\n{said}"
    );
}

#[test]
fn exec_refuses_what_needs_a_new_process() {
    let err = Exec::new("true").namespaces(CloneFlags::NEWUTS).exec();
    assert!(
        matches!(
            err,
            Error::Unsupported {
                errno: Errno::EINVAL,
                ..
            }
        ),
        "{err:?}"
    );
    let err = Exec::new("true").pidfd(true).exec();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
}

#[test]
#[ignore = "helper process for the tests above"]
fn exec_helper() {
    let Some(case) = std::env::var_os(CASE) else {
        skip!("only meaningful as a helper process");
    };
    match case.to_str() {
        Some("replace") => {
            let err = Exec::new("sh")
                .args(["-c", "echo replaced with X=$X; exit 7"])
                .env("X", "y")
                .exec();
            panic!("exec returned: {err}");
        }
        Some("fail") => {
            let blocked = || {
                status_mask(
                    &std::fs::read_to_string("/proc/thread-self/status").unwrap(),
                    "SigBlk:",
                )
            };
            let (mask, fds) = (blocked(), fd_count());
            let err = Exec::new("/no/such/program").exec();
            assert!(
                matches!(
                    err,
                    Error::Exec {
                        stage: ExecStage::Exec,
                        errno: Errno::ENOENT,
                        ..
                    }
                ),
                "{err:?}"
            );
            let err = Exec::new("true").current_dir("/no/such/dir").exec();
            assert!(
                matches!(
                    err,
                    Error::Exec {
                        stage: ExecStage::Chdir,
                        errno: Errno::ENOENT,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert_eq!((blocked(), fd_count()), (mask, fds));
            println!("FAILED AS EXPECTED");
        }
        other => panic!("no case {other:?}"),
    }
}
