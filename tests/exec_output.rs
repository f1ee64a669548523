//! `Exec::output` and `ExecChild::wait_with_output`: both pipes read on the
//! calling thread, complete, and no child left behind on any path.

use std::fs::{self, File};

use clonekit::{raw, Errno, Error, Exec, ExecChild, Pid, Stdio, Strategy};
use rstest::rstest;

#[macro_use]
mod support;

/// Whether `pid` is a child of ours that has not been reaped (running, or a
/// zombie): `waitid` with `WNOWAIT` looks without reaping.
fn unreaped(pid: Pid) -> bool {
    // SAFETY: an all-zero siginfo_t is a valid value to be overwritten.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: `info` is a live siginfo_t; WNOWAIT leaves the child as it is.
    unsafe { libc::waitid(libc::P_PID, pid.as_raw() as libc::id_t, &mut info, options) == 0 }
}

/// Kills and reaps `pid` if it is still ours, so that a failing test leaves
/// nothing running; returns whether it had to.
fn clean_up(pid: Pid) -> bool {
    if !unreaped(pid) {
        return false;
    }
    // SAFETY: plain system calls on our own unreaped child.
    unsafe {
        libc::kill(pid.as_raw(), libc::SIGKILL);
        libc::waitpid(pid.as_raw(), std::ptr::null_mut(), 0);
    }
    true
}

/// A file whose reads fail with EBADF (opened for writing only), and which
/// `poll` reports ready at once, as /dev/null always is.
fn unreadable() -> File {
    File::create("/dev/null").unwrap()
}

const BIG: usize = 256 * 1024;

/// 256 KiB on each stream, stderr first: a reader that waited for the end
/// of stdout before reading stderr would never see it (the child blocks on
/// the full stderr pipe). `timeout` kills the whole group after a minute,
/// so that such a reader would fail, not hang.
#[rstest]
fn both_streams_larger_than_a_pipe(
    #[values(Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork)] strategy: Strategy,
) {
    let script = format!("head -c {BIG} /dev/zero >&2; head -c {BIG} /dev/zero | tr '\\0' x");
    let out = Exec::new("timeout")
        .args(["60", "sh", "-c", &script])
        .strategy(strategy)
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(out.stderr.len(), BIG);
    assert!(out.stderr.iter().all(|&b| b == 0));
    assert_eq!(out.stdout.len(), BIG);
    assert!(out.stdout.iter().all(|&b| b == b'x'));
}

#[test]
fn only_stderr_piped() {
    let child = Exec::new("sh")
        .args(["-c", "echo out; echo err >&2"])
        .stdout(Stdio::Null)
        .stderr(Stdio::Piped)
        .spawn()
        .unwrap();
    let pid = child.pid();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice()),
        (&b""[..], &b"err\n"[..])
    );
    assert!(out.status.success());
    assert!(!clean_up(pid), "the child was not reaped");
}

/// Gives `child` an unreadable stdout: `wait_with_output` must fail with
/// the read's EBADF, and leave the child neither running nor a zombie.
fn fails_to_read_and_reaps(mut child: ExecChild) {
    let pid = child.pid();
    child.stdout = Some(std::os::fd::OwnedFd::from(unreadable()).into());
    let result = child.wait_with_output();
    let left_behind = clean_up(pid);
    assert_eq!(
        result.unwrap_err(),
        Error::Sys {
            call: "read",
            errno: Errno::EBADF,
            detail: None,
        }
    );
    assert!(!left_behind, "the child was left running or a zombie");
}

/// A read that fails on the only stream: the error comes back, and the
/// child (which would sleep on) has been killed and reaped.
#[test]
fn read_error_on_one_stream_reaps_the_child() {
    let child = Exec::new("sleep").arg("30").stdout(Stdio::Piped).spawn().unwrap();
    fails_to_read_and_reaps(child);
}

/// The same with both streams, one of them failing: the poll loop's error
/// path. The child closes its own stderr, so that it reaches end of file
/// at once whatever the reader does.
#[test]
fn read_error_on_two_streams_reaps_the_child() {
    let child = Exec::new("sh")
        .args(["-c", "exec 2>&-; exec sleep 30"])
        .stdout(Stdio::Piped)
        .stderr(Stdio::Piped)
        .spawn()
        .unwrap();
    fails_to_read_and_reaps(child);
}

const NPROC_HELPER_ENV: &str = "CLONEKIT_NPROC_HELPER";

/// Runs `nproc_helper` in a process of its own: it takes an unprivileged
/// uid and an `RLIMIT_NPROC` that allows exactly one more task, where
/// `output()` must still work (no thread may be needed besides the child).
#[test]
fn output_needs_no_thread_under_rlimit_nproc() {
    require_root!("changing uid needs root");
    let (said, status) = support::rerun::run_test("nproc_helper", &[(NPROC_HELPER_ENV, "1")]);
    if let Some(why) = support::rerun::skipped(&said) {
        skip!("{why}");
    }
    assert!(
        status.is_some_and(|s| s.success()) && said.contains("NPROC OK"),
        "{status:?}\n{said}"
    );
}

/// A uid no visible process uses, so that the tasks counted against its
/// `RLIMIT_NPROC` are ours alone.
const HELPER_UID: u32 = 65533;

/// The real uid of each task in /proc (every process's threads).
fn task_real_uids() -> Vec<u32> {
    let mut uids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        // Numbers only: /proc/self and /proc/thread-self would count us twice.
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let Ok(tasks) = fs::read_dir(entry.path().join("task")) else {
            continue; // gone
        };
        for task in tasks.flatten() {
            let Ok(status) = fs::read_to_string(task.path().join("status")) else {
                continue;
            };
            let uid: Option<u32> = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next()?.parse().ok());
            uids.extend(uid);
        }
    }
    uids
}

/// Whether this process has any child not yet reaped.
fn any_child_left() -> bool {
    // SAFETY: as in `unreaped`.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: as in `unreaped`.
    unsafe { libc::waitid(libc::P_ALL, 0, &mut info, options) == 0 }
}

#[test]
#[ignore = "helper process for output_needs_no_thread_under_rlimit_nproc"]
fn nproc_helper() {
    if std::env::var_os(NPROC_HELPER_ENV).is_none() {
        skip!("only meaningful as a helper process");
    }
    if task_real_uids().contains(&HELPER_UID) {
        skip!("uid {HELPER_UID} is in use here");
    }
    // Root is exempt from RLIMIT_NPROC, and so is any task with
    // CAP_SYS_RESOURCE or CAP_SYS_ADMIN: leaving uid 0 drops every
    // capability. The raw calls change this thread only, which is all
    // that creates tasks here.
    raw::setresgid(HELPER_UID, HELPER_UID, HELPER_UID).unwrap();
    raw::setresuid(HELPER_UID, HELPER_UID, HELPER_UID).unwrap();
    let caps = fs::read_to_string("/proc/thread-self/status").unwrap();
    assert!(caps.contains("CapEff:\t0000000000000000"), "{caps}");
    // The limit is checked against the tasks of the real uid in the
    // kernel's count, the new one included: those we are (this thread),
    // plus one, lets exactly one more task be created.
    let ours = task_real_uids().iter().filter(|&&uid| uid == HELPER_UID).count();
    let limit = ours as libc::rlim_t + 1;
    let rlimit = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: `rlimit` is live; lowering a limit needs no privilege.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &rlimit) }, 0);

    // The limit holds: one child, and then not even a thread.
    let mut sleeper = match Exec::new("sleep").arg("10").spawn() {
        Ok(child) => child,
        Err(err) => skip!("not even one child under RLIMIT_NPROC {limit}: {err}"),
    };
    let thread = std::thread::Builder::new().spawn(|| ());
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    assert!(thread.is_err(), "RLIMIT_NPROC {limit} allowed a second task");

    for strategy in [Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork] {
        let out = Exec::new("echo").arg("hi").strategy(strategy).output().unwrap();
        assert_eq!(out.stdout, b"hi\n", "{strategy:?}");
        assert!(out.status.success());
        // One stream piped, the other not; then both.
        let out = Exec::new("sh")
            .args(["-c", "echo out; echo err >&2"])
            .stdout(Stdio::Null)
            .strategy(strategy)
            .output()
            .unwrap();
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice()),
            (&b""[..], &b"err\n"[..])
        );
        let out = Exec::new("sh")
            .args(["-c", "echo out; echo err >&2"])
            .strategy(strategy)
            .output()
            .unwrap();
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice()),
            (&b"out\n"[..], &b"err\n"[..])
        );
        assert!(!any_child_left(), "{strategy:?} left a child unreaped");
    }
    println!("NPROC OK");
}
