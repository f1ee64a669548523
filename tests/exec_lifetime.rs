//! How an `Exec` child's life may end beyond exiting, with Linux 7.1's
//! clone3 flags: `autoreap` (the kernel reaps it: no zombie, whatever the
//! handle does) and `autokill` (the kernel kills it when its handle's pidfd
//! closes: the handle dropped, or this process dead however it died). On a
//! kernel without them both are `Unsupported`, naming Linux 7.1.

use std::fs;
use std::process::Command;
use std::time::Duration;

use clonekit::{CloneBuilder, CloneFlags, Error, Exec, Pid, Strategy};

#[macro_use]
mod support;

use support::rerun::HELPER_DEADLINE;
use support::{poll_until, wait_until, DEADLINE};

/// Whether this kernel takes Linux 7.1's clone3 flags (the builder asks it
/// with a probe that creates no process).
fn linux_7_1() -> bool {
    CloneBuilder::new()
        .flags(CloneFlags::AUTOREAP)
        .exit_signal(None)
        .check()
        .is_ok()
}

/// Skips the test on a kernel without Linux 7.1's flags.
macro_rules! require_linux_7_1 {
    () => {
        if !linux_7_1() {
            skip!("CLONE_AUTOREAP and CLONE_PIDFD_AUTOKILL came in Linux 7.1");
        }
    };
}

/// Whether `pid` names a process now.
fn alive(pid: Pid) -> bool {
    // SAFETY: signal 0 only checks that the pid exists.
    unsafe { libc::kill(pid.as_raw(), 0) == 0 }
}

fn gone_in_time(pid: Pid) -> bool {
    wait_until(DEADLINE, || !alive(pid))
}

fn sleeper() -> Exec {
    let mut exec = Exec::new("sleep");
    exec.arg("100");
    exec
}

#[test]
fn autoreap_and_autokill_are_unsupported_exactly_before_linux_7_1() {
    let supported = linux_7_1();
    let mut autoreap = Exec::new("true");
    autoreap.autoreap(true);
    let mut autokill = Exec::new("true");
    autokill.autokill(true).no_new_privs(true);
    for (exec, flag) in [
        (&mut autoreap, "CLONE_AUTOREAP"),
        (&mut autokill, "CLONE_PIDFD_AUTOKILL"),
    ] {
        match (exec.spawn(), supported) {
            (Ok(child), true) => drop(child),
            (Err(Error::Unsupported { feature, .. }), false) => {
                assert_eq!(feature, format!("{flag} (Linux 7.1)"));
            }
            (other, _) => panic!("{flag}: {other:?} where the kernel {supported:?} takes it"),
        }
    }
    // The vfork call takes no flags, on any kernel.
    let err = Exec::new("true")
        .autoreap(true)
        .strategy(Strategy::Vfork)
        .spawn()
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
}

#[test]
fn an_autoreaped_child_leaves_no_zombie_and_its_handle_gets_its_status() {
    require_linux_7_1!();
    let child = Exec::new("true").autoreap(true).spawn().expect("spawn");
    let pid = child.pid();
    drop(child);
    assert!(
        gone_in_time(pid),
        "the autoreaped child is still there (a zombie?)"
    );
    let mut child = Exec::new("sh")
        .args(["-c", "exit 3"])
        .autoreap(true)
        .spawn()
        .expect("spawn");
    let status = child.wait().expect("the exit status, through the pidfd");
    assert_eq!(status.code(), Some(3));
    assert!(!alive(child.pid()));
}

#[test]
fn dropping_an_autokill_handle_kills_the_child() {
    require_linux_7_1!();
    for nnp in [true, false] {
        if !nnp && !support::is_root() {
            skip_part!("without no_new_privs", "needs CAP_SYS_ADMIN");
            continue;
        }
        let child = sleeper().autokill(true).no_new_privs(nnp).spawn().expect("spawn");
        let pid = child.pid();
        assert!(alive(pid));
        drop(child);
        assert!(
            gone_in_time(pid),
            "the child outlived its handle (no_new_privs {nnp})"
        );
    }
}

/// `death_signal` would kill this child when the thread ends; `autokill`
/// ties it to the handle, whichever thread made it.
#[test]
fn an_autokill_child_outlives_the_thread_that_spawned_it() {
    require_linux_7_1!();
    let child = std::thread::spawn(|| sleeper().autokill(true).no_new_privs(true).spawn())
        .join()
        .expect("the spawning thread")
        .expect("spawn");
    let pid = child.pid();
    // Give a thread-bound kill every chance to happen first.
    std::thread::sleep(Duration::from_millis(100));
    assert!(alive(pid), "the child died with the thread that spawned it");
    drop(child);
    assert!(gone_in_time(pid));
}

const PARENT_HELPER_ENV: &str = "CLONEKIT_AUTOKILL_PARENT_HELPER";

/// A helper process spawns an autokill child, says its pid, and is then
/// killed with SIGKILL (no destructor runs): the kernel kills the child.
#[test]
fn an_autokill_child_dies_with_its_parent_process() {
    require_linux_7_1!();
    let said = std::env::temp_dir().join(format!("clonekit-autokill-{}", std::process::id()));
    let _ = fs::remove_file(&said);
    let mut helper = Command::new(std::env::current_exe().expect("current_exe"))
        .args(["autokill_parent_helper", "--exact", "--ignored", "--nocapture"])
        .env(PARENT_HELPER_ENV, &said)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the helper");
    let pid = poll_until(HELPER_DEADLINE, || {
        fs::read_to_string(&said).ok()?.trim().parse::<i32>().ok()
    });
    let _ = helper.kill();
    let _ = helper.wait();
    let _ = fs::remove_file(&said);
    let pid = Pid::from_raw(pid.expect("the helper never said its child's pid"));
    assert!(gone_in_time(pid), "the child outlived its parent process");
}

#[test]
#[ignore = "helper process for an_autokill_child_dies_with_its_parent_process"]
fn autokill_parent_helper() {
    let Ok(said) = std::env::var(PARENT_HELPER_ENV) else {
        skip!("only meaningful as a helper process");
    };
    let child = sleeper()
        .autokill(true)
        .no_new_privs(true)
        .spawn()
        .expect("spawn");
    fs::write(format!("{said}.tmp"), child.pid().to_string()).expect("write the pid");
    fs::rename(format!("{said}.tmp"), &said).expect("publish the pid");
    // Killed by the driver long before this ends.
    std::thread::sleep(HELPER_DEADLINE);
}
