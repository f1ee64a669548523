//! `ExecChild` as `std::process::Child`: id, kill, signal, try_wait,
//! wait_timeout (on the pidfd, and polling without one), rusage, the pipe
//! ends as std's types, `Stdio` pipelines, kill_on_drop, and errors as
//! `io::Error`.
//!
//! Every test takes `serial()` and checks that it leaves no child (zombie
//! or running) and no fd behind. Children are `sleep 30` at most, and each
//! is killed or waited for with a bound.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::time::Duration;

use clonekit::{Errno, Error, Exec, ExecChild, ExecStage, Signal, Stdio, Strategy};
use rstest::rstest;

#[macro_use]
mod support;

use support::procfs::{children, fd_count};
use support::rerun::run_test;
use support::{serial, wait_until, DEADLINE};

/// Runs `body` and checks that it left no child and no fd behind.
fn leaves_nothing(body: impl FnOnce()) {
    let _serial = serial();
    let fds_before = fd_count();
    body();
    assert_eq!(children(), Vec::<libc::pid_t>::new(), "a child was left behind");
    assert_eq!(fd_count(), fds_before, "an fd leaked");
}

fn sleeper(strategy: Strategy) -> ExecChild {
    Exec::new("sleep")
        .arg("30")
        .strategy(strategy)
        .spawn()
        .expect("spawn sleep")
}

/// The state letter of `pid` in /proc (`Z` for a zombie), if it exists.
fn proc_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// The pids that this process's pidfds refer to, from /proc/self/fdinfo.
fn pidfd_targets() -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let is_pidfd =
            fs::read_link(entry.path()).is_ok_and(|target| target.to_string_lossy().contains("pidfd"));
        let info = fs::read_to_string(format!(
            "/proc/self/fdinfo/{}",
            entry.file_name().to_string_lossy()
        ));
        if let (true, Ok(info)) = (is_pidfd, info) {
            pids.extend(
                info.lines()
                    .find_map(|l| l.strip_prefix("Pid:\t")?.parse::<u32>().ok()),
            );
        }
    }
    pids
}

#[rstest]
fn id_is_the_pid(#[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy) {
    leaves_nothing(|| {
        let mut child = Exec::new("true").strategy(strategy).spawn().unwrap();
        assert_eq!(child.id(), child.pid().as_raw() as u32);
        assert!(child.wait().unwrap().success());
    });
}

/// As std: `kill` on a child that exited but was not reaped succeeds (the
/// zombie takes the signal, which changes nothing), and after the reap it
/// succeeds without sending anything.
#[rstest]
fn kill_after_exit_is_ok(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    leaves_nothing(|| {
        let mut child = Exec::new("true").strategy(strategy).spawn().unwrap();
        let pid = child.id();
        assert!(
            wait_until(DEADLINE, || proc_state(pid) == Some('Z')),
            "never exited"
        );
        child.kill().expect("kill a zombie");
        let status = child.wait().unwrap();
        assert_eq!(
            (status.code(), status.signal()),
            (Some(0), None),
            "the exit stands"
        );
        child.kill().expect("kill after the reap");
        child.signal(Signal::SIGTERM).expect("a signal after the reap");
    });
}

#[rstest]
fn kill_sends_sigkill(#[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy) {
    leaves_nothing(|| {
        let mut child = sleeper(strategy);
        child.kill().unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    });
}

#[rstest]
fn signal_sends_any_signal(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    leaves_nothing(|| {
        let mut child = sleeper(strategy);
        child.signal(Signal::SIGTERM).unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGTERM));
    });
}

#[rstest]
fn try_wait_sees_running_then_ended(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    leaves_nothing(|| {
        let mut child = sleeper(strategy);
        assert_eq!(child.try_wait().unwrap(), None);
        child.kill().unwrap();
        let mut status = None;
        assert!(wait_until(DEADLINE, || {
            status = child.try_wait().unwrap();
            status.is_some()
        }));
        assert_eq!(status.unwrap().signal(), Some(libc::SIGKILL));
        assert_eq!(child.try_wait().unwrap(), status, "remembered");
    });
}

/// Times out on a running child, then returns once it is killed, and
/// returns for a child that exits by itself: on the pidfd, which every
/// strategy takes (a private one unless `pidfd(true)` asked for it).
#[rstest]
fn wait_timeout_times_out_then_returns(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
    #[values(false, true)] asked_pidfd: bool,
) {
    leaves_nothing(|| {
        let mut child = Exec::new("sleep")
            .arg("30")
            .strategy(strategy)
            .pidfd(asked_pidfd)
            .spawn()
            .unwrap();
        assert!(pidfd_targets().contains(&child.id()), "the handle holds a pidfd");
        assert_eq!(child.pidfd().is_some(), asked_pidfd, "shown only when asked for");
        assert_eq!(child.wait_timeout(Duration::from_millis(30)).unwrap(), None);
        assert_eq!(child.wait_timeout(Duration::ZERO).unwrap(), None);
        child.kill().unwrap();
        let status = child.wait_timeout(DEADLINE).unwrap().expect("killed, so ended");
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(
            child.wait_timeout(Duration::ZERO).unwrap(),
            Some(status),
            "remembered"
        );

        let mut quick = Exec::new("sh")
            .args(["-c", "exit 3"])
            .strategy(strategy)
            .spawn()
            .unwrap();
        let status = quick.wait_timeout(DEADLINE).unwrap().expect("exits by itself");
        assert_eq!(status.code(), Some(3));
    });
}

/// A pidfd taken for the handle's own use is not shown, and is closed once
/// the child is reaped.
#[test]
fn private_pidfd_is_hidden_and_closed_at_reap() {
    leaves_nothing(|| {
        let mut child = sleeper(Strategy::CloneVfork);
        assert!(child.pidfd().is_none());
        assert!(child.take_pidfd().is_none());
        assert!(pidfd_targets().contains(&child.id()));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!pidfd_targets().contains(&child.id()), "closed at the reap");
    });
}

/// A child that burns CPU shows CPU time and memory; nothing before the reap.
#[rstest]
fn rusage_after_the_wait(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    leaves_nothing(|| {
        let mut child = Exec::new("sh")
            .args(["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"])
            .strategy(strategy)
            .spawn()
            .unwrap();
        assert_eq!(child.rusage(), None);
        let (status, usage) = child.wait_with_rusage().unwrap();
        assert!(status.success());
        assert_eq!(child.rusage(), Some(usage));
        assert!(usage.max_rss_kib > 0, "{usage:?}");
        assert!(usage.minor_faults > 0, "{usage:?}");
        // The kernel scales its tick samples to the precise run time, so a
        // child that ran has some CPU time, however it is split.
        assert!(!(usage.user_time + usage.system_time).is_zero(), "{usage:?}");
    });
}

fn takes_std_stdin(mut stdin: ChildStdin) -> io::Result<()> {
    stdin.write_all(b"typed")
}

fn takes_std_stdout(mut stdout: ChildStdout) -> io::Result<String> {
    let mut text = String::new();
    stdout.read_to_string(&mut text)?;
    Ok(text)
}

fn takes_std_stderr(mut stderr: ChildStderr) -> io::Result<String> {
    let mut text = String::new();
    stderr.read_to_string(&mut text)?;
    Ok(text)
}

#[test]
fn pipes_are_std_types() {
    leaves_nothing(|| {
        let mut child = Exec::new("sh")
            .args(["-c", "cat; echo to-err >&2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        takes_std_stdin(child.stdin.take().unwrap()).unwrap();
        assert_eq!(takes_std_stdout(child.stdout.take().unwrap()).unwrap(), "typed");
        assert_eq!(
            takes_std_stderr(child.stderr.take().unwrap()).unwrap(),
            "to-err\n"
        );
        assert!(child.wait().unwrap().success());
    });
}

#[rstest]
fn stdout_pipes_into_the_next_child(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    leaves_nothing(|| {
        let mut echo = Exec::new("echo")
            .arg("hi")
            .strategy(strategy)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut upper = Exec::new("tr")
            .args(["a-z", "A-Z"])
            .strategy(strategy)
            .stdin(Stdio::from(echo.stdout.take().unwrap()))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = Exec::new("cat")
            .strategy(strategy)
            .stdin(Stdio::from(upper.stdout.take().unwrap()))
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"HI\n");
        assert!(echo.wait().unwrap().success());
        assert!(upper.wait().unwrap().success());
    });
}

#[test]
fn stdin_and_stderr_ends_feed_other_children() {
    leaves_nothing(|| {
        let mut cat = Exec::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut noisy = Exec::new("sh")
            .args(["-c", "echo oops >&2"])
            .stderr(Stdio::from(cat.stdin.take().unwrap()))
            .spawn()
            .unwrap();
        assert!(noisy.wait().unwrap().success());
        let mut loud = Exec::new("sh")
            .args(["-c", "echo loud >&2"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let relayed = Exec::new("cat")
            .stdin(Stdio::from(loud.stderr.take().unwrap()))
            .output()
            .unwrap();
        assert!(loud.wait().unwrap().success());
        assert_eq!(relayed.stdout, b"loud\n");
        assert_eq!(cat.wait_with_output().unwrap().stdout, b"oops\n");
    });
}

#[test]
fn stdio_constructors_are_the_variants() {
    leaves_nothing(|| {
        assert!(matches!(Stdio::piped(), Stdio::Piped));
        assert!(matches!(Stdio::null(), Stdio::Null));
        assert!(matches!(Stdio::inherit(), Stdio::Inherit));
        let out = Exec::new("cat")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success() && out.stdout.is_empty());
        let null = File::open("/dev/null").unwrap();
        assert!(Exec::new("cat").stdin(null).status().unwrap().success());
    });
}

#[rstest]
fn kill_on_drop_kills_and_reaps(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    leaves_nothing(|| {
        let child = Exec::new("sleep")
            .arg("30")
            .strategy(strategy)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id();
        drop(child);
        assert_eq!(proc_state(pid), None, "neither running nor a zombie");

        // Reaped before the drop: nothing more to do.
        let mut waited = Exec::new("true").kill_on_drop(true).spawn().unwrap();
        assert!(waited.wait().unwrap().success());
    });
}

/// As std: without the flag, dropping the handle leaves the child running.
#[rstest]
fn drop_without_kill_on_drop_leaves_the_child(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    leaves_nothing(|| {
        let child = sleeper(strategy);
        let pid = child.id() as libc::pid_t;
        drop(child);
        assert_eq!(children(), vec![pid], "still ours, still there");
        // SAFETY: plain system calls on our own unreaped child.
        unsafe {
            assert_eq!(libc::kill(pid, libc::SIGKILL), 0);
            assert_eq!(libc::waitpid(pid, std::ptr::null_mut(), 0), pid);
        }
    });
}

/// The io::Error keeps the kind std gives the errno, says the program and
/// stage, and carries the clonekit::Error with its errno.
#[test]
fn errors_become_io_errors_that_keep_everything() {
    leaves_nothing(|| {
        let err = Exec::new("true").current_dir("/nonexistent").spawn().unwrap_err();
        assert_eq!(
            err.to_string(),
            "spawning `true`: chdir to /nonexistent: No such file or directory (os error 2)"
        );
        let io_err = io::Error::from(err.clone());
        assert_eq!(io_err.kind(), io::ErrorKind::NotFound);
        assert_eq!(io_err.to_string(), err.to_string());
        let inner = io_err.get_ref().and_then(|e| e.downcast_ref::<Error>()).unwrap();
        assert_eq!(inner, &err);
        assert_eq!(inner.errno(), Some(Errno::ENOENT));
        assert!(
            matches!(inner, Error::Exec { stage: ExecStage::Chdir, detail: Some(dir), .. } if &**dir == "/nonexistent")
        );

        let dir = std::env::temp_dir();
        let denied: io::Error = Exec::new(&dir).spawn().unwrap_err().into();
        assert_eq!(denied.kind(), io::ErrorKind::PermissionDenied, "{denied}");
        let said = format!(
            "spawning `{}`: execve: Permission denied (os error 13)",
            dir.display()
        );
        assert_eq!(denied.to_string(), said);
    });
}

/// `?` turns every error into an io::Error, as in code written for std.
#[test]
fn question_mark_gives_io_errors() {
    fn run() -> io::Result<String> {
        let child = Exec::new("echo").arg("std").stdout(Stdio::piped()).spawn()?;
        let out = child.wait_with_output()?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
    leaves_nothing(|| assert_eq!(run().unwrap(), "std\n"));
}

const EMFILE_HELPER_ENV: &str = "CLONEKIT_EXEC_CHILD_EMFILE";

/// Run by `full_fd_table_spawns_without_a_private_pidfd` as its own process:
/// with no fd left to open (Fork keeps two for its report pipe), spawns
/// `true` with stdio inherited, which needs no fd, and prints how it went.
/// Without the retry, the clone fails with EMFILE.
#[test]
#[ignore = "helper process for full_fd_table_spawns_without_a_private_pidfd"]
fn emfile_helper() {
    let Ok(strategy) = std::env::var(EMFILE_HELPER_ENV) else {
        skip!("only meaningful as a helper process");
    };
    let strategy = match strategy.as_str() {
        "Fork" => Strategy::Fork,
        _ => Strategy::CloneVfork,
    };
    let mut exec = Exec::new("/bin/true");
    exec.strategy(strategy);
    // Closed by the exec, so that the loader of /bin/true has an fd.
    let _for_the_loader = File::open("/dev/null").unwrap();
    let next = File::open("/dev/null").unwrap().as_raw_fd() as libc::rlim_t;
    let spare = if strategy == Strategy::Fork { 2 } else { 0 };
    let mut saved = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `saved` is a live rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut saved) }, 0);
    let limit = libc::rlimit {
        rlim_cur: next + spare,
        rlim_max: saved.rlim_max,
    };
    // SAFETY: a live rlimit; only this helper process is limited.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let status = exec.spawn().and_then(|mut child| child.wait_timeout(DEADLINE));
    // SAFETY: as above.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &saved) }, 0);
    println!("RESULT={:?}", status.map(|s| s.and_then(|s| s.code())));
}

/// A spawn that needs no fd does not fail for want of one for the pidfd it
/// takes for its own use (CloneVfork): it goes without, and `wait_timeout`
/// polls. Fork, which takes none, is the control.
#[rstest]
fn full_fd_table_spawns_without_a_private_pidfd(
    #[values(Strategy::CloneVfork, Strategy::Fork)] strategy: Strategy,
) {
    // The helper is a child too: the other tests count theirs.
    let _serial = serial();
    let (said, _) = run_test("emfile_helper", &[(EMFILE_HELPER_ENV, &format!("{strategy:?}"))]);
    assert!(said.contains("RESULT=Ok(Some(0))"), "helper said: {said}");
}

/// The variable that tells `parent_stdio_helper` it runs as a helper.
const PARENT_STDIO_HELPER: &str = "CLONEKIT_PARENT_STDIO_HELPER";

/// `From<io::Stdout>` and `From<io::Stderr>` for `Stdio`, as std's: the
/// child writes to the parent's own fd 1 or 2. A helper process whose
/// stdout and stderr are two files shows where each line went.
#[test]
fn parent_stdout_and_stderr_as_stdio() {
    // The helper is a child of this process: other tests count children.
    let _serial = serial();
    let dir = std::env::temp_dir();
    let paths = ["out", "err"].map(|name| dir.join(format!("clonekit-parent-{name}-{}", std::process::id())));
    let [out, err] = paths.clone().map(|path| File::create(path).unwrap());
    let mut helper = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "parent_stdio_helper",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PARENT_STDIO_HELPER, "1")
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap();
    let status = support::poll_until(support::rerun::HELPER_DEADLINE, || helper.try_wait().unwrap());
    if status.is_none() {
        let _ = helper.kill();
        let _ = helper.wait();
    }
    let [said_out, said_err] = paths.clone().map(|path| fs::read_to_string(path).unwrap());
    for path in paths {
        let _ = fs::remove_file(path);
    }
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{said_out}\n{said_err}"
    );
    assert!(said_out.contains("stderr-to-parent-stdout") && said_out.contains("stdout-to-parent-stdout"));
    assert!(said_err.contains("stdout-to-parent-stderr") && said_err.contains("stderr-to-parent-stderr"));
    assert!(!said_out.contains("to-parent-stderr") && !said_err.contains("to-parent-stdout"));
}

#[test]
#[ignore = "helper process for parent_stdout_and_stderr_as_stdio"]
fn parent_stdio_helper() {
    if std::env::var_os(PARENT_STDIO_HELPER).is_none() {
        skip!("only meaningful as a helper process");
    }
    let run = |script: &str, stdout: Stdio, stderr: Stdio| {
        let status = Exec::new("sh")
            .args(["-c", script])
            .stdout(stdout)
            .stderr(stderr)
            .status();
        assert!(status.unwrap().success());
    };
    // Each stream to the other fd, then each to its own (nothing to move).
    run(
        "echo stdout-to-parent-stderr",
        io::stderr().into(),
        Stdio::Inherit,
    );
    run(
        "echo stderr-to-parent-stdout >&2",
        Stdio::Inherit,
        io::stdout().into(),
    );
    run(
        "echo stdout-to-parent-stdout",
        io::stdout().into(),
        Stdio::Inherit,
    );
    run(
        "echo stderr-to-parent-stderr >&2",
        Stdio::Inherit,
        io::stderr().into(),
    );
}
