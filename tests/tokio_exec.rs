//! `Exec::spawn_async` and `AsyncExecChild` (feature `tokio`): children
//! awaited through their pidfds on both runtimes, many at once, killed
//! while awaited, dropped unawaited, and beside `tokio::process`.
//!
//! Every test takes `serial()`: they count this process's children and fds.
//! What changes process-wide state (the fd limit, `SIGCHLD` ignored,
//! `tokio::process`'s own reaping) runs in a helper process.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use clonekit::{Errno, Error, Exec, Signal, Stdio, Strategy};
use rstest::rstest;
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinSet;

#[macro_use]
mod support;

use support::procfs::{children, fd_count};
use support::{serial, stress_count, DEADLINE};

/// The variable that tells a helper test it runs as a helper, and on which
/// runtime: `current_thread` or `multi_thread`.
const HELPER_ENV: &str = "CLONEKIT_TOKIO_HELPER";

fn runtime(flavor: &str) -> Runtime {
    let mut builder = match flavor {
        "current_thread" => Builder::new_current_thread(),
        "multi_thread" => Builder::new_multi_thread(),
        other => panic!("no runtime flavor {other:?}"),
    };
    builder.enable_all().build().expect("build a runtime")
}

/// Runs `test` on a fresh runtime of `flavor`, held to twice the deadline
/// (a test may itself wait for one event up to the deadline).
fn run<F: std::future::Future<Output = ()>>(flavor: &str, test: F) {
    runtime(flavor).block_on(async {
        tokio::time::timeout(DEADLINE * 2, test)
            .await
            .expect("the test outlived the deadline");
    });
}

/// Whether `pid` is still a child of ours, running or a zombie: checked
/// until it is not, for at most the deadline.
async fn gone_within_deadline(pid: u32) -> bool {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while children().contains(&(pid as libc::pid_t)) {
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    true
}

#[rstest]
fn status_and_output(
    #[values("current_thread", "multi_thread")] flavor: &str,
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    let _serial = serial();
    run(flavor, async {
        let status = Exec::new("sh")
            .args(["-c", "exit 3"])
            .strategy(strategy)
            .status_async()
            .await
            .unwrap();
        assert_eq!(status.code(), Some(3));
        let out = Exec::new("sh")
            .args(["-c", "echo out; echo err >&2"])
            .strategy(strategy)
            .output_async()
            .await
            .unwrap();
        assert_eq!((&out.stdout[..], &out.stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
        assert!(out.status.success());
    });
}

#[test]
fn spawn_failure_is_reported() {
    let _serial = serial();
    run("current_thread", async {
        let err = Exec::new("/no/such/program").spawn_async().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Exec {
                    stage: clonekit::ExecStage::Exec,
                    errno: Errno::ENOENT,
                    ..
                }
            ),
            "{err:?}"
        );
    });
}

/// tokio's `process_spawned_outside_runtime` (tokio panics; this returns
/// an error that says what is missing).
#[test]
fn outside_a_runtime_is_an_error() {
    let err = Exec::new("true").spawn_async().unwrap_err();
    assert_eq!(err, Error::NoRuntime);
    let message = err.to_string();
    assert!(message.contains("needs a tokio runtime"), "{message}");
    assert!(!message.contains("not supported"), "{message}");
}

/// tokio's `process_spawned_and_wait_in_different_runtime`: spawned in one
/// runtime, dropped with it unawaited, awaited in another. `true` has
/// mostly ended by then; `sleep` has not, so its wait needs the reactor of
/// a runtime that is gone.
#[rstest]
fn spawned_and_awaited_in_different_runtimes(
    #[values("current_thread", "multi_thread")] flavor: &str,
    #[values(&["true"][..], &["sleep", "0.2"][..])] command: &[&str],
) {
    let _serial = serial();
    let mut child = runtime(flavor).block_on(async {
        Exec::new(command[0])
            .args(&command[1..])
            .stdin(Stdio::Piped)
            .stdout(Stdio::Null)
            .spawn_async()
            .unwrap()
            .kill_on_drop(true)
    });
    run(flavor, async {
        assert!(child.wait().await.unwrap().success());
        assert_eq!(child.id(), None);
    });
}

/// A handle dropped in another runtime than the one it was spawned in,
/// that one gone: the reaper task runs on the current runtime, and the
/// child leaves no zombie.
#[rstest]
fn dropped_in_another_runtime_leaves_no_zombie(#[values("current_thread", "multi_thread")] flavor: &str) {
    let _serial = serial();
    let child = runtime(flavor).block_on(async { Exec::new("sleep").arg("0.1").spawn_async().unwrap() });
    let pid = child.id().unwrap();
    run(flavor, async move {
        drop(child);
        assert!(
            gone_within_deadline(pid).await,
            "{pid} stayed a child: {:?}",
            children()
        );
    });
}

/// Awaited in a second runtime, then (the wait given up on) in a third
/// after the second is dropped too: the pidfd moves each time.
#[test]
fn awaited_across_two_dropped_runtimes() {
    let _serial = serial();
    let mut child = runtime("current_thread").block_on(async {
        Exec::new("sleep")
            .arg("100")
            .spawn_async()
            .unwrap()
            .kill_on_drop(true)
    });
    run("multi_thread", async {
        let gave_up = tokio::time::timeout(Duration::from_millis(20), child.wait()).await;
        assert!(gave_up.is_err(), "sleep 100 ended: {gave_up:?}");
    });
    run("current_thread", async {
        child.start_kill().unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    });
}

/// tokio panics when an fd is registered in a runtime without I/O: the
/// panic comes through, and the child spawned before it is not left behind.
#[test]
fn runtime_without_io_leaves_no_child() {
    let _serial = serial();
    let runtime = Builder::new_current_thread().build().unwrap();
    let spawned = runtime.block_on(async {
        let spawn = || Exec::new("sleep").arg("100").spawn_async();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(spawn))
    });
    assert!(spawned.is_err(), "spawn_async without I/O did not panic");
    assert!(children().is_empty(), "{:?}", children());
}

const BIG: usize = 256 * 1024;

/// 256 KiB on each stream, stderr first: reading one stream to its end
/// before the other would never end (`timeout` kills the child after a
/// minute, so such a reader fails rather than hangs).
#[rstest]
fn both_streams_larger_than_a_pipe(#[values("current_thread", "multi_thread")] flavor: &str) {
    let _serial = serial();
    let script = format!("head -c {BIG} /dev/zero >&2; head -c {BIG} /dev/zero | tr '\\0' x");
    run(flavor, async {
        let out = Exec::new("timeout")
            .args(["60", "sh", "-c", &script])
            .output_async()
            .await
            .unwrap();
        assert!(out.status.success(), "{:?}", out.status);
        assert_eq!(out.stderr.len(), BIG);
        assert!(out.stderr.iter().all(|&b| b == 0));
        assert_eq!(out.stdout.len(), BIG);
        assert!(out.stdout.iter().all(|&b| b == b'x'));
    });
}

#[test]
fn stdin_piped_through() {
    use tokio::io::AsyncWriteExt;
    let _serial = serial();
    run("current_thread", async {
        let mut child = Exec::new("cat")
            .stdin(Stdio::Piped)
            .stdout(Stdio::Piped)
            .spawn_async()
            .unwrap()
            .kill_on_drop(true);
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"through").await.unwrap();
        drop(stdin);
        let out = child.wait_with_output().await.unwrap();
        assert_eq!(out.stdout, b"through");
    });
}

/// Another process kills the child while a task awaits it.
#[rstest]
fn killed_while_awaited(#[values("current_thread", "multi_thread")] flavor: &str) {
    let _serial = serial();
    run(flavor, async {
        let mut child = Exec::new("sleep")
            .arg("100")
            .spawn_async()
            .unwrap()
            .kill_on_drop(true);
        let pid = child.id().unwrap();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            // SAFETY: a plain system call. Our child, unreaped until the
            // wait below returns (it cannot end before): its pid is ours.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }
        });
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(killer.join().unwrap(), 0);
        assert!(gone_within_deadline(pid).await);
    });
}

/// A wait given up on (its future dropped) loses nothing: the child is
/// still ours, can be signalled, and a new wait finds its status.
#[rstest]
fn wait_is_cancel_safe(#[values("current_thread", "multi_thread")] flavor: &str) {
    let _serial = serial();
    run(flavor, async {
        let mut child = Exec::new("sleep")
            .arg("100")
            .spawn_async()
            .unwrap()
            .kill_on_drop(true);
        for _ in 0..3 {
            let gave_up = tokio::time::timeout(Duration::from_millis(5), child.wait()).await;
            assert!(gave_up.is_err(), "sleep 100 ended: {gave_up:?}");
        }
        assert_eq!(child.try_wait().unwrap(), None);
        child.signal(Signal::SIGTERM).unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        // Remembered; nothing is signalled any more.
        assert_eq!(child.wait().await.unwrap(), status);
        assert_eq!(child.try_wait().unwrap(), Some(status));
        assert_eq!(child.id(), None);
        child.kill().await.unwrap();
    });
}

/// A dropped handle leaves no zombie: a child that ends by itself, and one
/// killed on drop, are reaped by the reaper task.
#[rstest]
fn dropped_handle_leaves_no_zombie(#[values("current_thread", "multi_thread")] flavor: &str) {
    let _serial = serial();
    run(flavor, async {
        let fds = fd_count();
        let ends = Exec::new("sh").args(["-c", "sleep 0.1"]).spawn_async().unwrap();
        let killed = Exec::new("sleep")
            .arg("100")
            .spawn_async()
            .unwrap()
            .kill_on_drop(true);
        let pids = [ends.id().unwrap(), killed.id().unwrap()];
        drop((ends, killed));
        for pid in pids {
            assert!(
                gone_within_deadline(pid).await,
                "{pid} stayed a child: {:?}",
                children()
            );
        }
        // The reaper task closes the pidfd once it has reaped.
        let closed = async {
            while fd_count() != fds {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        assert!(
            tokio::time::timeout(DEADLINE, closed).await.is_ok(),
            "a pidfd was leaked"
        );
    });
}

#[rstest]
fn thousand_children_at_once(#[values("current_thread", "multi_thread")] flavor: &str) {
    let _serial = serial();
    let (said, status) = support::rerun::run_test("thousand_helper", &[(HELPER_ENV, flavor)]);
    if let Some(reason) = support::rerun::skipped(&said) {
        skip!("{reason}");
    }
    assert!(
        status.is_some_and(|s| s.success()) && said.contains("THOUSAND OK"),
        "{status:?}\n{said}"
    );
}

/// Raises the soft fd limit to `needed` if it is lower (within the hard
/// limit); `Err` if the hard limit is too low.
fn raise_fd_limit(needed: u64) -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a live rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0);
    if limit.rlim_cur >= needed {
        return Ok(());
    }
    if limit.rlim_max < needed {
        return Err(format!("RLIMIT_NOFILE hard limit {} < {needed}", limit.rlim_max));
    }
    limit.rlim_cur = needed;
    // SAFETY: as above.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    Ok(())
}

/// Whether this process catches `SIGCHLD` (its `SigCgt` bit).
fn catches_sigchld() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    support::procfs::status_mask(&status, "SigCgt:") & (1 << (libc::SIGCHLD - 1)) != 0
}

/// 1000 children (fewer under the stress scale), all spawned, then all
/// awaited at once, each by its own task: every status right, no zombie,
/// no fd left, and no `SIGCHLD` handler installed.
#[test]
#[ignore = "helper process for thousand_children_at_once"]
fn thousand_helper() {
    let Ok(flavor) = std::env::var(HELPER_ENV) else {
        skip!("only meaningful as a helper process");
    };
    let count = stress_count(1000);
    skip_on_err!(raise_fd_limit(count as u64 + 256));
    // Counted with the runtime up: its own fds (epoll, a waker) are not ours.
    let runtime = runtime(&flavor);
    let fds = fd_count();
    runtime.block_on(async {
        let mut waits = JoinSet::new();
        for i in 0..count {
            let program = if i % 2 == 0 { "true" } else { "false" };
            let mut child = Exec::new(program).spawn_async().unwrap().kill_on_drop(true);
            waits.spawn(async move { (i, child.wait().await) });
        }
        let mut seen = 0;
        let all = async {
            while let Some(joined) = waits.join_next().await {
                let (i, status) = joined.unwrap();
                assert_eq!(status.unwrap().success(), i % 2 == 0, "child {i}");
                seen += 1;
            }
        };
        tokio::time::timeout(DEADLINE * 3, all)
            .await
            .expect("1000 waits within the deadline");
        assert_eq!(seen, count);
    });
    let zombies = children();
    let leaked = fd_count() as i64 - fds as i64;
    println!("{count} children: {} zombies, {leaked} fds leaked", zombies.len());
    assert!(zombies.is_empty(), "{zombies:?}");
    assert_eq!(leaked, 0);
    assert!(!catches_sigchld(), "a SIGCHLD handler was installed");
    println!("THOUSAND OK");
}

#[test]
fn sigchld_ignored() {
    let _serial = serial();
    support::rerun::expect_helper(
        "sigchld_ignored_helper",
        &[(HELPER_ENV, "current_thread")],
        "IGNORED OK",
    );
}

/// With `SIGCHLD` ignored the kernel reaps each child as it exits: the wait
/// still returns when it ends, with the exit the kernel kept on the pidfd
/// (Linux 6.15) or `ECHILD` before, and nothing is signalled.
#[test]
#[ignore = "helper process for sigchld_ignored"]
fn sigchld_ignored_helper() {
    let Ok(flavor) = std::env::var(HELPER_ENV) else {
        skip!("only meaningful as a helper process");
    };
    // SAFETY: SIG_IGN is not a handler; this helper process is ours alone.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let lost = Error::Sys {
        call: "waitid",
        errno: Errno::ECHILD,
        detail: None,
    };
    let kept = support::procfs::kernel_version() >= (6, 15);
    runtime(&flavor).block_on(async {
        let mut child = Exec::new("true").spawn_async().unwrap();
        let first = child.wait().await;
        match kept {
            true => assert!(first.as_ref().is_ok_and(ExitStatus::success), "{first:?}"),
            false => assert_eq!(first, Err(lost.clone())),
        }
        assert_eq!(child.wait().await, first, "asked again");
        assert_eq!(child.id(), None);
        let signalled = child.signal(Signal::SIGTERM);
        match kept {
            // Reaped through this handle: nothing to signal, as after a wait.
            true => assert_eq!(signalled, Ok(())),
            false => assert!(matches!(
                signalled,
                Err(Error::Sys {
                    errno: Errno::ESRCH,
                    ..
                })
            )),
        }

        let mut killed = Exec::new("sleep")
            .arg("100")
            .spawn_async()
            .unwrap()
            .kill_on_drop(true);
        killed.start_kill().unwrap();
        let waited = tokio::time::timeout(DEADLINE, killed.wait())
            .await
            .expect("the wait ends");
        match kept {
            true => assert_eq!(waited.map(|status| status.signal()), Ok(Some(libc::SIGKILL))),
            false => assert_eq!(waited, Err(lost.clone())),
        }
    });
    assert!(children().is_empty(), "{:?}", children());
    println!("IGNORED OK");
}

#[rstest]
fn beside_tokio_process(#[values("current_thread", "multi_thread")] flavor: &str) {
    let _serial = serial();
    support::rerun::expect_helper(
        "beside_tokio_process_helper",
        &[(HELPER_ENV, flavor)],
        "BESIDE OK",
    );
}

/// Children of `tokio::process` and of `spawn_async`, awaited at once in
/// one runtime: each side reaps only its own, every status is right.
#[test]
#[ignore = "helper process for beside_tokio_process"]
fn beside_tokio_process_helper() {
    let Ok(flavor) = std::env::var(HELPER_ENV) else {
        skip!("only meaningful as a helper process");
    };
    let count = stress_count(100);
    runtime(&flavor).block_on(async {
        let mut waits: JoinSet<(bool, ExitStatus)> = JoinSet::new();
        for i in 0..count {
            let code = (i % 3).to_string();
            let script = format!("exit {code}");
            let mut ours = Exec::new("sh").args(["-c", &script]).spawn_async().unwrap();
            let mut theirs = tokio::process::Command::new("sh")
                .args(["-c", &script])
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            waits.spawn(async move { (true, ours.wait().await.unwrap()) });
            waits.spawn(async move { (false, theirs.wait().await.unwrap()) });
        }
        let mut by_code = [0usize; 3];
        let all = async {
            while let Some(joined) = waits.join_next().await {
                let (_, status) = joined.unwrap();
                by_code[status.code().expect("exited") as usize] += 1;
            }
        };
        tokio::time::timeout(DEADLINE * 3, all)
            .await
            .expect("all waits within the deadline");
        assert_eq!(by_code.iter().sum::<usize>(), 2 * count);
        for (code, seen) in by_code.iter().enumerate() {
            let expected = 2 * (0..count).filter(|i| i % 3 == code).count();
            assert_eq!(*seen, expected, "exit code {code}");
        }
    });
    assert!(children().is_empty(), "{:?}", children());
    println!("BESIDE OK");
}

/// The pidfd's info, group signal and namespaces through an async handle,
/// until it is reaped.
#[test]
fn pidfd_powers_until_the_reap() {
    runtime("current_thread").block_on(async {
        let mut child = Exec::new("sleep")
            .arg("100")
            .process_group(clonekit::Pid::from_raw(0))
            .spawn_async()
            .unwrap();
        let pid = child.id().expect("running") as i32;
        match child.info() {
            Ok(info) => assert_eq!(info.pid.map(|p| p.as_raw()), Some(pid)),
            Err(err) => assert!(
                support::procfs::kernel_version() < (6, 13) && matches!(err, Error::Unsupported { .. }),
                "{err:?}"
            ),
        }
        let net = std::fs::File::from(
            child
                .namespace(clonekit::PidfdNamespace::Net)
                .expect("its net namespace"),
        );
        let ours = std::fs::metadata("/proc/self/ns/net").expect("stat ours");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(net.metadata().expect("fstat").ino(), ours.ino());
        match child.signal_group(Signal::SIGKILL) {
            Ok(()) => {}
            Err(Error::Unsupported { .. }) if support::procfs::kernel_version() < (6, 9) => {
                child.start_kill().unwrap()
            }
            Err(err) => panic!("signal_group: {err:?}"),
        }
        let status = tokio::time::timeout(DEADLINE, child.wait())
            .await
            .expect("ends")
            .unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        for got in [child.info().map(drop), child.signal_group(Signal::SIGKILL)] {
            assert!(
                matches!(
                    got,
                    Err(Error::Sys {
                        errno: Errno::ESRCH,
                        ..
                    })
                ),
                "{got:?}"
            );
        }
    });
}
