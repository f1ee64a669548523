//! An `Exec` handle whose child the kernel reaped behind its back (the
//! caller ignores `SIGCHLD`) while another child of ours took over its pid.
//! Every call on the first handle must answer for the first child only:
//! `kill` and `Drop` (with `kill_on_drop`) must not signal the second, and
//! `try_wait`, `wait_timeout` and `wait` must answer at once with the first
//! child's own exit, which the kernel keeps on its pidfd (Linux 6.15), or
//! `ECHILD` before, never "still running", nor block on and reap the second
//! child.
//!
//! The second child is made with the first one's pid on purpose
//! (`clone3`'s `set_tid`, root, Linux 5.5), so that the reuse is certain.
//! Each case runs in a helper process of its own, which ignores `SIGCHLD`.

use std::process::ExitStatus;
use std::time::Duration;

use clonekit::{CloneBuilder, Errno, Error, Exec, ExecChild, Pid, Strategy};
use rstest::rstest;

#[macro_use]
mod support;

use support::{poll_until, DEADLINE};

const HELPER_ENV: &str = "CLONEKIT_PID_REUSE_HELPER";
const MARKER: &str = "PID REUSE OK";

/// How the first child is made: each way once took its handle's pidfd away.
const WAYS: [&str; 4] = ["default", "forced-fork", "vfork", "fork"];
/// What is done with the first handle once its pid names the second child.
const CALLS: [&str; 5] = ["kill", "try_wait", "wait_timeout", "wait", "drop"];

#[rstest]
fn a_reused_pid_is_never_reached_through_the_old_handle(
    #[values("default", "forced-fork", "vfork", "fork")] way: &str,
) {
    require_root!("making a child with a chosen pid (set_tid) needs CAP_SYS_ADMIN");
    require_clone3!();
    assert!(WAYS.contains(&way));
    support::rerun::expect_helper("reused_pid_helper", &[(HELPER_ENV, way)], MARKER);
}

#[test]
#[ignore = "helper process for a_reused_pid_is_never_reached_through_the_old_handle"]
fn reused_pid_helper() {
    let Ok(way) = std::env::var(HELPER_ENV) else {
        skip!("only meaningful as a helper process");
    };
    // SAFETY: SIG_IGN is no handler; this process is ours alone.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    for call in CALLS {
        let (first, second) = reused(&way);
        let (pid, mut second) = (first.pid(), second);
        let answered = act(first, call);
        // The second child must still run: nothing signalled or reaped it.
        assert_eq!(
            second.try_wait().map_err(|e| e.to_string()),
            Ok(None),
            "{way}, {call}: the child that took pid {pid} was reached through the old handle"
        );
        if let Err(why) = answered {
            panic!("{way}, {call}: {why}");
        }
        second
            .kill(clonekit::Signal::SIGKILL)
            .expect("kill the second child");
        gone(second.pid());
        println!("{way}, {call}: the old handle answered for its own child only");
    }
    println!("{MARKER}");
}

/// A first child made the `way` named, already ended and reaped by the
/// kernel, and a second child of ours that took its pid (it waits for a
/// signal, through its own pidfd).
fn reused(way: &str) -> (ExecChild, clonekit::Child<'static>) {
    for _ in 0..5 {
        let first = first_child(way);
        let pid = first.pid();
        gone(pid);
        let tids = Box::leak(Box::new([pid]));
        // SAFETY: no CLONE_VM; the closure only waits for a signal.
        let second = unsafe {
            CloneBuilder::new().set_tid(tids).pidfd(true).spawn(|| loop {
                libc::pause();
            })
        };
        match second {
            Ok(second) => {
                assert_eq!(second.pid(), pid);
                return (first, second);
            }
            // Another process took the pid first: try again.
            Err(err) if err.errno() == Some(Errno::EEXIST) => continue,
            Err(err) => panic!("a child with pid {pid}: {err:?}"),
        }
    }
    panic!("five pids in a row were taken before a child could reuse them");
}

fn first_child(way: &str) -> ExecChild {
    let mut exec = Exec::new("true");
    exec.kill_on_drop(true);
    match way {
        "default" => {}
        // An id change needs a fork-like child, whatever the strategy.
        "forced-fork" => {
            // SAFETY: getuid cannot fail.
            exec.uid(unsafe { libc::getuid() });
        }
        "vfork" => {
            exec.strategy(Strategy::Vfork);
        }
        "fork" => {
            exec.strategy(Strategy::Fork);
        }
        other => panic!("unknown way {other:?}"),
    }
    let child = exec.spawn().expect("spawn true");
    assert!(
        child.pidfd().is_none(),
        "a pidfd taken for the handle's own use is not shown"
    );
    child
}

/// Does `call` on the handle of the first child: an `Err` says how the
/// answer was wrong.
fn act(mut first: ExecChild, call: &str) -> Result<(), String> {
    let kept = support::procfs::kernel_version() >= (6, 15);
    // `true`'s own exit, or ECHILD where the kernel keeps none.
    let want = if kept {
        "the first child's exit, 0"
    } else {
        "ECHILD"
    };
    let answered_for_first = |got: &clonekit::Result<ExitStatus>| match got {
        Ok(status) => kept && status.code() == Some(0),
        Err(Error::Sys {
            errno: Errno::ECHILD, ..
        }) => !kept,
        Err(_) => false,
    };
    // A wait that may also say "not yet": that is never the right answer.
    let ended = |got: clonekit::Result<Option<ExitStatus>>| match got {
        Ok(None) => Err(format!("still running, want {want}")),
        Ok(Some(status)) if answered_for_first(&Ok(status)) => Ok(()),
        Err(err) if answered_for_first(&Err(err.clone())) => Ok(()),
        other => Err(format!("{other:?}, want {want}")),
    };
    match call {
        "kill" => match first.kill() {
            Err(err) if err.errno() == Some(Errno::ESRCH) => Ok(()),
            other => Err(format!("kill gave {other:?}, want ESRCH")),
        },
        "try_wait" => ended(first.try_wait()).map_err(|why| format!("try_wait gave {why}")),
        "wait_timeout" => ended(first.wait_timeout(Duration::from_millis(300)))
            .map_err(|why| format!("wait_timeout gave {why}")),
        // Would block on the second child if it waited by pid: the helper's
        // deadline bounds that.
        "wait" => match first.wait() {
            got if answered_for_first(&got) => Ok(()),
            other => Err(format!("wait gave {other:?}, want {want}")),
        },
        "drop" => {
            drop(first);
            Ok(())
        }
        other => panic!("unknown call {other:?}"),
    }
}

/// Waits until `pid` names no process (the kernel reaped it).
fn gone(pid: Pid) {
    let reaped = poll_until(DEADLINE, || {
        // SAFETY: signal 0 only checks that the pid exists.
        let alive = unsafe { libc::kill(pid.as_raw(), 0) } == 0;
        (!alive).then_some(())
    });
    assert!(reaped.is_some(), "pid {pid} still exists after {DEADLINE:?}");
}
