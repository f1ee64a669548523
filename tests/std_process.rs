//! The Rust standard library's own process tests, ported to `Exec`: the
//! test names and what each checks are those of std's tests
//! (library/std/src/process/tests.rs, the unix ones under
//! library/std/src/sys/process/unix/, library/std/tests/process_spawning.rs
//! and pipe_subprocess.rs, two of tests/ui/process/, and the
//! `CommandExt::process_group` example),
//! ported from the Rust standard library's process tests, MIT/Apache-2.0.
//!
//! The port changes type names only (`Command` → `Exec`, `Stdio` →
//! `clonekit::Stdio`, `crate::` → `std::`): that code written for std compiles
//! and behaves the same after a rename is the point. Where a port needs more,
//! a comment starting `// differs from std:` says what and why.
//!
//! Left out, with why:
//! - `test_creation_flags`, `test_proc_thread_attributes`, `env_empty`,
//!   `run_bat_script`, `run_canonical_bat_script`: Windows only;
//! - `child_stdout_read_buf`: `Read::read_buf` is unstable, and `ChildStdout`
//!   is std's own type here, so its `read_buf` is std's;
//! - `exitstatus_display_tests`, `unix_exit_statuses`: they test std's
//!   `ExitStatus` itself (and the unstable `exit_ok`), which `Exec` returns
//!   unchanged; nothing to rename;
//! - `test_program_kind`: std's private `ProgramKind`;
//! - tests/ui/process/ beyond `try-wait.rs` and
//!   `process-spawn-nonexistent.rs`: not ported yet (most are programs that
//!   run themselves again, which a port must turn into helper tests).

use std::io::prelude::*;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::process::Output;
use std::{env, fs, str};

use clonekit::{raw, Exec, Pid, Signal, Stdio};

#[macro_use]
mod support;

use support::serial;

// differs from std: std's helpers build a `Command`; these an `Exec`.
fn known_command() -> Exec {
    Exec::new("echo")
}

fn shell_cmd() -> Exec {
    Exec::new("/bin/sh")
}

fn env_cmd() -> Exec {
    Exec::new("env")
}

#[test]
fn smoke() {
    let p = shell_cmd().arg("-c").arg("true").spawn();
    assert!(p.is_ok());
    let mut p = p.unwrap();
    assert!(p.wait().unwrap().success());
}

#[test]
#[allow(clippy::single_match)] // std's code, kept as written
fn smoke_failure() {
    match Exec::new("if-this-is-a-binary-then-the-world-has-ended").spawn() {
        Ok(..) => panic!(),
        Err(..) => {}
    }
}

#[test]
fn exit_reported_right() {
    let p = shell_cmd().arg("-c").arg("false").spawn();
    assert!(p.is_ok());
    let mut p = p.unwrap();
    assert!(p.wait().unwrap().code() == Some(1));
    drop(p.wait());
}

#[test]
fn signal_reported_right() {
    use std::os::unix::process::ExitStatusExt;

    let mut p = shell_cmd()
        .arg("-c")
        .arg("read a")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    p.kill().unwrap();
    match p.wait().unwrap().signal() {
        Some(9) => {}
        result => panic!("not terminated by signal 9 (instead, {result:?})"),
    }
}

fn run_output(mut cmd: Exec) -> String {
    let p = cmd.spawn();
    assert!(p.is_ok());
    let mut p = p.unwrap();
    assert!(p.stdout.is_some());
    let mut ret = String::new();
    p.stdout.as_mut().unwrap().read_to_string(&mut ret).unwrap();
    assert!(p.wait().unwrap().success());
    ret
}

#[test]
fn stdout_works() {
    let mut cmd = shell_cmd();
    cmd.arg("-c").arg("echo foobar").stdout(Stdio::piped());
    assert_eq!(run_output(cmd), "foobar\n");
}

#[test]
fn set_current_dir_works() {
    // The vfork-like path, as std's posix_spawn path.
    let mut cmd = shell_cmd();
    cmd.arg("-c").arg("pwd").current_dir("/").stdout(Stdio::piped());
    assert_eq!(run_output(cmd), "/\n");

    // Also the fork-like path, which a pre_exec hook forces.
    let mut cmd = shell_cmd();
    cmd.arg("-c").arg("pwd").current_dir("/").stdout(Stdio::piped());
    // SAFETY: the hook does nothing.
    unsafe {
        cmd.pre_exec(|| Ok(()));
    }
    assert_eq!(run_output(cmd), "/\n");
}

#[test]
fn stdin_works() {
    let mut p = shell_cmd()
        .arg("-c")
        .arg("read line; echo $line")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    p.stdin.as_mut().unwrap().write_all("foobar".as_bytes()).unwrap();
    drop(p.stdin.take());
    let mut out = String::new();
    p.stdout.as_mut().unwrap().read_to_string(&mut out).unwrap();
    assert!(p.wait().unwrap().success());
    assert_eq!(out, "foobar\n");
}

#[test]
fn test_process_status() {
    let mut status = shell_cmd().arg("-c").arg("false").status().unwrap();
    assert!(status.code() == Some(1));

    status = shell_cmd().arg("-c").arg("true").status().unwrap();
    assert!(status.success());
}

#[test]
fn test_process_output_fail_to_start() {
    match Exec::new("/no-binary-by-this-name-should-exist").output() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound),
        Ok(..) => panic!(),
    }
}

#[test]
fn test_process_output_output() {
    let Output {
        status,
        stdout,
        stderr,
    } = shell_cmd().arg("-c").arg("echo hello").output().unwrap();
    let output_str = str::from_utf8(&stdout).unwrap();

    assert!(status.success());
    assert_eq!(output_str.trim().to_string(), "hello");
    assert_eq!(stderr, Vec::new());
}

#[test]
fn test_process_output_error() {
    let Output {
        status,
        stdout,
        stderr,
    } = Exec::new("mkdir").arg("./").output().unwrap();

    assert!(status.code().is_some());
    assert!(status.code() != Some(0));
    assert_eq!(stdout, Vec::new());
    assert!(!stderr.is_empty());
}

#[test]
fn test_finish_once() {
    let mut prog = shell_cmd().arg("-c").arg("false").spawn().unwrap();
    assert!(prog.wait().unwrap().code() == Some(1));
}

#[test]
fn test_finish_twice() {
    let mut prog = shell_cmd().arg("-c").arg("false").spawn().unwrap();
    assert!(prog.wait().unwrap().code() == Some(1));
    assert!(prog.wait().unwrap().code() == Some(1));
}

#[test]
fn test_wait_with_output_once() {
    let prog = shell_cmd()
        .arg("-c")
        .arg("echo hello")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    let Output {
        status,
        stdout,
        stderr,
    } = prog.wait_with_output().unwrap();
    let output_str = str::from_utf8(&stdout).unwrap();

    assert!(status.success());
    assert_eq!(output_str.trim().to_string(), "hello");
    assert_eq!(stderr, Vec::new());
}

#[test]
fn test_override_env() {
    // In some build environments (such as chrooted Nix builds), `env` can
    // only be found in the explicitly-provided PATH, so pass it through.
    let mut cmd = env_cmd();
    cmd.env_clear().env("RUN_TEST_NEW_ENV", "123");
    if let Some(p) = env::var_os("PATH") {
        cmd.env("PATH", &p);
    }
    let result = cmd.output().unwrap();
    let output = String::from_utf8_lossy(&result.stdout).to_string();

    assert!(
        output.contains("RUN_TEST_NEW_ENV=123"),
        "didn't find RUN_TEST_NEW_ENV inside of:\n\n{output}",
    );
}

#[test]
fn test_add_to_env() {
    let result = env_cmd().env("RUN_TEST_NEW_ENV", "123").output().unwrap();
    let output = String::from_utf8_lossy(&result.stdout).to_string();

    assert!(
        output.contains("RUN_TEST_NEW_ENV=123"),
        "didn't find RUN_TEST_NEW_ENV inside of:\n\n{output}"
    );
}

/// The variable that tells [`capture_env_at_spawn_helper`] it runs as a helper.
const CAPTURE_ENV_HELPER_ENV: &str = "CLONEKIT_STD_CAPTURE_ENV_HELPER";

// differs from std: `env::set_var` changes the whole process's environment
// while other tests' threads spawn and read it, so the test runs alone in a
// helper process (this program run again).
#[test]
fn test_capture_env_at_spawn() {
    let _serial = serial();
    support::rerun::expect_helper(
        "capture_env_at_spawn_helper",
        &[(CAPTURE_ENV_HELPER_ENV, "1")],
        "CAPTURE ENV OK",
    );
}

#[test]
#[ignore = "helper process for test_capture_env_at_spawn"]
fn capture_env_at_spawn_helper() {
    if env::var_os(CAPTURE_ENV_HELPER_ENV).is_none() {
        skip!("only meaningful as a helper process");
    }
    let mut cmd = env_cmd();
    cmd.env("RUN_TEST_NEW_ENV1", "123");

    // This variable will not be present if the environment has already
    // been captured above.
    env::set_var("RUN_TEST_NEW_ENV2", "456");
    let result = cmd.output().unwrap();
    env::remove_var("RUN_TEST_NEW_ENV2");

    let output = String::from_utf8_lossy(&result.stdout).to_string();

    assert!(
        output.contains("RUN_TEST_NEW_ENV1=123"),
        "didn't find RUN_TEST_NEW_ENV1 inside of:\n\n{output}"
    );
    assert!(
        output.contains("RUN_TEST_NEW_ENV2=456"),
        "didn't find RUN_TEST_NEW_ENV2 inside of:\n\n{output}"
    );
    println!("CAPTURE ENV OK");
}

// Regression tests for rust-lang/rust#30858.
#[test]
fn test_interior_nul_in_progname_is_error() {
    match Exec::new("has-some-\0\0s-inside").spawn() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
        Ok(_) => panic!(),
    }
}

#[test]
fn test_interior_nul_in_arg_is_error() {
    match known_command().arg("has-some-\0\0s-inside").spawn() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
        Ok(_) => panic!(),
    }
}

#[test]
fn test_interior_nul_in_args_is_error() {
    match known_command().args(["has-some-\0\0s-inside"]).spawn() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
        Ok(_) => panic!(),
    }
}

#[test]
fn test_interior_nul_in_current_dir_is_error() {
    match known_command().current_dir("has-some-\0\0s-inside").spawn() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
        Ok(_) => panic!(),
    }
}

// Regression tests for rust-lang/rust#30862.
#[test]
fn test_interior_nul_in_env_key_is_error() {
    match env_cmd().env("has-some-\0\0s-inside", "value").spawn() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
        Ok(_) => panic!(),
    }
}

#[test]
fn test_interior_nul_in_env_value_is_error() {
    match env_cmd().env("key", "has-some-\0\0s-inside").spawn() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
        Ok(_) => panic!(),
    }
}

#[test]
fn test_command_implements_send_sync() {
    fn take_send_sync_type<T: Send + Sync>(_: T) {}
    take_send_sync_type(Exec::new(""))
}

// differs from std: only the `{:?}` half. `{:#?}` prints `Exec`'s own
// fields (its strategy, namespaces, ...), not std's `Command` struct.
#[test]
fn debug_print() {
    let mut command = Exec::new("some-boring-name");

    assert_eq!(format!("{command:?}"), r#""some-boring-name""#);

    command.args(["1", "2", "3"]);

    assert_eq!(format!("{command:?}"), r#""some-boring-name" "1" "2" "3""#);

    // differs from std: `arg0` is an inherent method, not `CommandExt`'s.
    command.arg0("exciting-name");

    assert_eq!(
        format!("{command:?}"),
        r#"["some-boring-name"] "exciting-name" "1" "2" "3""#
    );

    let mut command_with_env_and_cwd = Exec::new("boring-name");
    command_with_env_and_cwd
        .current_dir("/some/path")
        .env("FOO", "bar");
    assert_eq!(
        format!("{command_with_env_and_cwd:?}"),
        r#"cd "/some/path" && FOO="bar" "boring-name""#
    );

    let mut command_with_removed_env = Exec::new("boring-name");
    command_with_removed_env.env_remove("FOO").env_remove("BAR");
    assert_eq!(
        format!("{command_with_removed_env:?}"),
        r#"env -u BAR -u FOO "boring-name""#
    );

    let mut command_with_cleared_env = Exec::new("boring-name");
    command_with_cleared_env
        .env_clear()
        .env("BAR", "val")
        .env_remove("FOO");
    assert_eq!(
        format!("{command_with_cleared_env:?}"),
        r#"env -i BAR="val" "boring-name""#
    );
}

#[test]
fn terminate_exited_process() {
    let mut cmd = known_command();
    let mut p = cmd.stdout(Stdio::null()).spawn().unwrap();
    p.wait().unwrap();
    assert!(p.kill().is_ok());
    assert!(p.kill().is_ok());
}

// From std's unix tests (library/std/src/sys/process/unix/unix/tests.rs).

/// The variable that tells [`fork_no_unwind_helper`] it runs as a helper.
const FORK_NO_UNWIND_HELPER_ENV: &str = "CLONEKIT_STD_FORK_NO_UNWIND_HELPER";

// differs from std: it runs alone in a helper process (this program run
// again), bounded by the helper's deadline. The panic hook runs in the
// forked child before the panic is caught, and takes std's backtrace lock:
// had another thread of the parent held it at the fork, the child would
// wait for it forever, and so would the spawn (std's child aborts before the
// hook, with the unstable `panic::always_abort`, which clonekit cannot
// call). Among this program's other tests, that hung the spawn.
#[test]
fn test_command_fork_no_unwind() {
    let _serial = serial();
    support::rerun::expect_helper(
        "fork_no_unwind_helper",
        &[(FORK_NO_UNWIND_HELPER_ENV, "1")],
        "FORK NO UNWIND OK",
    );
}

// differs from std: a panicking pre_exec hook does not kill the child with
// an abort signal; the child reports it and exits, and the spawn fails with
// `Exec { stage: PreExec, errno: EINVAL }`. No panic reaches the caller in
// either.
#[test]
#[ignore = "helper process for test_command_fork_no_unwind"]
fn fork_no_unwind_helper() {
    if env::var_os(FORK_NO_UNWIND_HELPER_ENV).is_none() {
        skip!("only meaningful as a helper process");
    }
    let got = std::panic::catch_unwind(|| {
        let mut c = Exec::new("echo");
        c.arg("hi");
        // differs from std: should the child hang all the same, it dies
        // with the helper when the helper is killed past its deadline.
        c.death_signal(Signal::SIGKILL);
        // SAFETY: the hook only panics, which clonekit catches in the child;
        // no other thread of this helper can hold a lock the panic takes.
        unsafe {
            c.pre_exec(|| panic!("{}", "crash now!"));
        }
        c.status()
    });
    let result = got.expect("panic unexpectedly propagated");
    let err = result.expect_err("the hook panicked: the spawn fails");
    assert!(
        matches!(
            err,
            clonekit::Error::Exec {
                stage: clonekit::ExecStage::PreExec,
                errno: clonekit::Errno::EINVAL,
                ..
            }
        ),
        "{err:?}"
    );
    println!("FORK NO UNWIND OK");
}

// From std's unix tests (library/std/src/sys/process/unix/common/tests.rs),
// which drive std's private `Command`; here the public one, renamed.

#[test]
fn test_process_mask() {
    use nix::sys::signal::{SigSet, SigmaskHow};

    // Test to make sure that a signal mask *does* get inherited.
    fn test_inner(mut cmd: Exec) {
        let mut set = SigSet::empty();
        set.add(Signal::SIGINT);
        // differs from std: nix's wrapper rather than libc's sigset calls.
        let old_set = set.thread_swap_mask(SigmaskHow::SIG_SETMASK).unwrap();

        cmd.stdin(Stdio::piped());
        cmd.stdout(Stdio::piped());

        let spawned = cmd.spawn();
        old_set.thread_set_mask().unwrap();
        let mut cat = spawned.unwrap();
        let mut stdin_write = cat.stdin.take().unwrap();
        let mut stdout_read = cat.stdout.take().unwrap();

        raw::kill(Pid::from_raw(cat.id() as i32), Signal::SIGINT).unwrap();
        // We need to wait until SIGINT is definitely delivered. The easiest
        // way is to write something to cat, and try to read it back: if
        // SIGINT is unmasked, it'll get delivered when cat is next scheduled.
        let _ = stdin_write.write(b"Hello");
        drop(stdin_write);

        // Exactly 5 bytes should be read.
        let mut buf = [0; 5];
        let ret = stdout_read.read(&mut buf).unwrap();
        assert_eq!(ret, 5);
        assert_eq!(&buf, b"Hello");

        cat.wait().unwrap();
    }

    // A plain `Exec::new` uses the vfork-like path.
    let cmd = Exec::new("cat");
    test_inner(cmd);

    // Specifying `pre_exec` forces the fork-like path.
    let mut cmd = Exec::new("cat");
    // SAFETY: the hook does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) };
    test_inner(cmd);
}

#[test]
fn test_process_group_posix_spawn() {
    // Spawn a cat subprocess that's just going to hang since there is no I/O.
    let mut cmd = Exec::new("cat");
    // differs from std: `process_group` takes a `Pid`, not an `i32`.
    cmd.process_group(Pid::from_raw(0));
    cmd.stdin(Stdio::piped());
    cmd.stdout(Stdio::piped());
    let mut cat = cmd.spawn().unwrap();

    // Check that we can kill its process group, which means there *is* one.
    raw::kill(Pid::from_raw(-(cat.id() as i32)), Signal::SIGINT).unwrap();

    cat.wait().unwrap();
}

#[test]
fn test_process_group_no_posix_spawn() {
    // Same as above, create hang-y cat. This time, force the fork-like path.
    let mut cmd = Exec::new("cat");
    cmd.process_group(Pid::from_raw(0));
    // SAFETY: the hook does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) }; // pre_exec forces fork + exec
    cmd.stdin(Stdio::piped());
    cmd.stdout(Stdio::piped());
    let mut cat = cmd.spawn().unwrap();

    // Check that we can kill its process group, which means there *is* one.
    raw::kill(Pid::from_raw(-(cat.id() as i32)), Signal::SIGINT).unwrap();

    cat.wait().unwrap();
}

#[test]
fn test_setsid_posix_spawn() {
    // Spawn a cat subprocess that's just going to hang since there is no I/O.
    let mut cmd = Exec::new("cat");
    cmd.setsid(true);
    cmd.stdin(Stdio::piped());
    cmd.stdout(Stdio::piped());
    let mut cat = cmd.spawn().unwrap();

    // Setsid will create a new session and process group, so check that we
    // can kill the process group, which means there *is* one.
    raw::kill(Pid::from_raw(-(cat.id() as i32)), Signal::SIGINT).unwrap();

    cat.wait().unwrap();
}

#[test]
fn test_setsid_no_posix_spawn() {
    let mut cmd = Exec::new("cat");
    cmd.setsid(true);
    cmd.stdin(Stdio::piped());
    cmd.stdout(Stdio::piped());

    // Same as above, create hang-y cat. This time, force the fork-like path.
    // SAFETY: the hook does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) }; // pre_exec forces fork + exec
    let mut cat = cmd.spawn().unwrap();

    // Setsid will create a new session and process group, so check that we
    // can kill the process group, which means there *is* one.
    raw::kill(Pid::from_raw(-(cat.id() as i32)), Signal::SIGINT).unwrap();

    cat.wait().unwrap();
}

// From std's pidfd tests (library/std/src/sys/process/unix/pidfd/tests.rs).
// differs from std: std's pidfd API is unstable (`os::linux::process`);
// clonekit's is `Exec::pidfd(bool)` for `create_pidfd(bool)`, and
// `ExecChild::pidfd() -> Option<BorrowedFd>` for `pidfd() -> io::Result<&PidFd>`.

fn probe_pidfd_support() -> bool {
    raw::pidfd_open(raw::getpid(), 0).is_ok()
}

/// The pid a pidfd refers to, from its fdinfo (`None` before Linux 5.4).
fn pidfd_pid(fd: std::os::fd::BorrowedFd<'_>) -> Option<u32> {
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    let line = info.lines().find_map(|line| line.strip_prefix("Pid:"))?;
    Some(line.trim().parse().unwrap())
}

#[test]
fn test_command_pidfd() {
    let pidfd_open_available = probe_pidfd_support();

    // always exercise creation attempts
    let mut child = Exec::new("false").pidfd(true).spawn().unwrap();

    // but only check if we know that the kernel supports pidfds.
    if pidfd_open_available {
        assert!(child.pidfd().is_some());
    }
    if let Some(pidfd) = child.pidfd() {
        // SAFETY: F_GETFD on a valid fd reads its flags and changes nothing.
        let flags = unsafe { clonekit::libc::fcntl(pidfd.as_raw_fd(), clonekit::libc::F_GETFD) };
        assert!(flags >= 0 && flags & clonekit::libc::FD_CLOEXEC != 0);
    }
    assert!(child.id() > 0 && child.id() < -1i32 as u32);
    let status = child.wait().expect("error waiting on pidfd");
    assert_eq!(status.code(), Some(1));

    let mut child = Exec::new("sleep").arg("1000").pidfd(true).spawn().unwrap();
    assert!(matches!(child.try_wait(), Ok(None)));
    child.kill().expect("failed to kill child");
    let status = child.wait().expect("error waiting on pidfd");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(clonekit::libc::SIGKILL));

    // differs from std: the children are reaped, so the test leaves no zombie.
    let mut child = Exec::new("echo").pidfd(false).spawn().unwrap();
    assert!(
        child.pidfd().is_none(),
        "pidfd should not have been created when pidfd(false) is set"
    );
    child.wait().unwrap();

    let mut child = Exec::new("echo").spawn().unwrap();
    assert!(child.pidfd().is_none(), "pidfd should not have been created");
    child.wait().unwrap();

    // exercise the fork-like path too
    let mut cmd = Exec::new("false");
    // SAFETY: the hook does nothing.
    let mut child = unsafe { cmd.pre_exec(|| Ok(())) }.pidfd(true).spawn().unwrap();

    let id = child.id();

    assert!(
        id > 0 && id < -1i32 as u32,
        "spawning with pidfd still returns a sane pid"
    );

    if pidfd_open_available {
        assert!(child.pidfd().is_some())
    }

    if let Some(pidfd) = child.pidfd() {
        if let Some(pid) = pidfd_pid(pidfd) {
            assert_eq!(pid, id);
        }
    }

    child.wait().expect("error waiting on child");
}

// differs from std: std takes the pidfd out (`into_pidfd`) and waits and
// kills through its `PidFd`; clonekit has no such type, so the handle does
// it, through the pidfd it holds, and `take_pidfd` hands the fd over last.
#[test]
fn test_pidfd() {
    use std::os::unix::process::ExitStatusExt;

    if !probe_pidfd_support() {
        skip!("no pidfd_open (Linux 5.3)");
    }

    let mut child = Exec::new("sleep")
        .arg("1000")
        .pidfd(true)
        .spawn()
        .expect("executing 'sleep' failed");

    assert!(matches!(child.try_wait(), Ok(None)));
    child.kill().expect("kill failed");
    child.kill().expect("sending kill twice failed");
    let status = child.wait().expect("1st wait failed");
    assert_eq!(status.signal(), Some(clonekit::libc::SIGKILL));

    // differs from std: waiting again gives the remembered status on every
    // kernel, not ECHILD before 6.15.
    let status = child.wait().expect("2nd wait failed");
    assert_eq!(status.signal(), Some(clonekit::libc::SIGKILL));

    // differs from std: killing a reaped child is `Ok` (as
    // `std::process::Child::kill`), where std's `PidFd::kill` says ESRCH.
    assert!(child.kill().is_ok());
    assert!(child.take_pidfd().is_some());
}

// From library/std/tests/process_spawning.rs.

// differs from std: the copied test program is run with `--list` rather
// than the filter `child`, which here could match tests of this file.
#[test]
fn issue_15149() {
    // If we're the parent, copy our own binary to a new directory.
    let my_path = env::current_exe().unwrap();

    let temp = env::temp_dir().join(format!("clonekit-issue-15149-{}", std::process::id()));
    let child_dir = temp.join("issue-15140-child");
    fs::create_dir_all(&child_dir).unwrap();

    let child_path = child_dir.join(format!("mytest{}", env::consts::EXE_SUFFIX));
    fs::copy(&my_path, &child_path).unwrap();

    // Append the new directory to our own PATH.
    let path = {
        let mut paths: Vec<_> = env::split_paths(&env::var_os("PATH").unwrap()).collect();
        paths.push(child_dir.to_path_buf());
        env::join_paths(paths).unwrap()
    };

    // differs from std: a fork-like child of another test, made while the
    // copy was open for writing, holds that fd until it execs, and execve
    // of the copy meanwhile fails with ETXTBSY: try again a few times.
    let mut child_output = Exec::new("mytest").env("PATH", &path).arg("--list").output();
    for _ in 0..50 {
        match &child_output {
            Err(e) if e.errno() == Some(clonekit::Errno::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
                child_output = Exec::new("mytest").env("PATH", &path).arg("--list").output();
            }
            _ => break,
        }
    }
    fs::remove_dir_all(&temp).unwrap();
    let child_output = child_output.unwrap();

    assert!(
        child_output.status.success(),
        "child assertion failed\n child stdout:\n {}\n child stderr:\n {}",
        str::from_utf8(&child_output.stdout).unwrap(),
        str::from_utf8(&child_output.stderr).unwrap()
    );
}

// From library/std/tests/pipe_subprocess.rs.

// differs from std: `std::io::pipe` (Rust 1.87) is newer than this crate's
// MSRV, so the pipe is `raw::pipe2`'s pair of `OwnedFd`s; and the child is
// `echo` rather than this test program run again, which under the test
// harness would print the harness's own lines too.
#[test]
fn pipe_subprocess() {
    let (rx, tx) = raw::pipe2(clonekit::libc::O_CLOEXEC).unwrap();
    let rx = fs::File::from(rx);
    assert!(Exec::new("echo")
        .arg("Heloo,")
        .stdout(tx)
        .status()
        .unwrap()
        .success());

    let mut s = String::new();
    (&rx).read_to_string(&mut s).unwrap();
    drop(rx);
    assert_eq!(s, "Heloo,\n");
}

// The example of `std::os::unix::process::CommandExt::process_group`.
#[test]
fn process_group_example() -> Result<(), Box<dyn std::error::Error>> {
    // differs from std: `process_group` is an inherent method and takes a
    // `Pid`; `sleep 0` rather than 10, to keep the test short.
    Exec::new("sleep")
        .arg("0")
        .process_group(Pid::from_raw(0))
        .spawn()?
        .wait()?;
    Ok(())
}

// From std's tests/ui/process/try-wait.rs.

// differs from std: the children are `sleep 1000` and `true`, where std
// runs its own test program again with `sleep` or `return-quickly`.
#[test]
fn try_wait() {
    let mut me = Exec::new("sleep").arg("1000").spawn().unwrap();
    let maybe_status = me.try_wait().unwrap();
    assert!(maybe_status.is_none());
    let maybe_status = me.try_wait().unwrap();
    assert!(maybe_status.is_none());

    me.kill().unwrap();
    me.wait().unwrap();

    let status = me.try_wait().unwrap().unwrap();
    assert!(!status.success());
    let status = me.try_wait().unwrap().unwrap();
    assert!(!status.success());

    let mut me = Exec::new("true").spawn().unwrap();
    loop {
        match me.try_wait() {
            Ok(Some(res)) => {
                assert!(res.success());
                break;
            }
            Ok(None) => {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) => panic!("error in try_wait: {e}"),
        }
    }

    let status = me.try_wait().unwrap().unwrap();
    assert!(status.success());
}

// From std's tests/ui/process/process-spawn-nonexistent.rs.
#[test]
fn process_spawn_nonexistent() {
    let result = Exec::new("nonexistent").spawn().unwrap_err().kind();

    assert!(matches!(
        result,
        // Under WSL with appendWindowsPath=true, this fails with PermissionDenied
        ErrorKind::NotFound | ErrorKind::PermissionDenied
    ));
}

// Beyond std's tests: the same calls on a `Command` and an `Exec`, whose
// getters and `{:?}` must then agree, and each row of the README's table
// "Porting from std::process::Command" written as code for std would be.

/// Applies the same environment and directory changes to both.
fn both(change: impl Fn(&mut dyn EnvChange)) -> (std::process::Command, Exec) {
    let mut command = std::process::Command::new("prog");
    let mut exec = Exec::new("prog");
    change(&mut command);
    change(&mut exec);
    (command, exec)
}

/// What [`both`] calls, on either type.
trait EnvChange {
    fn set(&mut self, key: &str, value: &str);
    fn remove(&mut self, key: &str);
    fn clear(&mut self);
    fn dir(&mut self, dir: &str);
    fn push_arg(&mut self, arg: &str);
}

impl EnvChange for std::process::Command {
    fn set(&mut self, key: &str, value: &str) {
        self.env(key, value);
    }
    fn remove(&mut self, key: &str) {
        self.env_remove(key);
    }
    fn clear(&mut self) {
        self.env_clear();
    }
    fn dir(&mut self, dir: &str) {
        self.current_dir(dir);
    }
    fn push_arg(&mut self, arg: &str) {
        self.arg(arg);
    }
}

impl EnvChange for Exec {
    fn set(&mut self, key: &str, value: &str) {
        self.env(key, value);
    }
    fn remove(&mut self, key: &str) {
        self.env_remove(key);
    }
    fn clear(&mut self) {
        self.env_clear();
    }
    fn dir(&mut self, dir: &str) {
        self.current_dir(dir);
    }
    fn push_arg(&mut self, arg: &str) {
        self.arg(arg);
    }
}

#[test]
fn getters_and_debug_agree_with_std() {
    let cases: [fn(&mut dyn EnvChange); 7] = [
        |_| {},
        |c| c.push_arg("a b"),
        |c| {
            c.set("B", "1");
            c.remove("A");
            c.dir("/tmp");
        },
        |c| {
            c.set("A", "1");
            c.clear();
        },
        // Removing after a clear forgets the variable (it once listed it as removed).
        |c| {
            c.clear();
            c.set("BAR", "val");
            c.remove("FOO");
        },
        |c| {
            c.clear();
            c.set("FOO", "1");
            c.remove("FOO");
        },
        |c| {
            c.remove("FOO");
            c.set("FOO", "again");
            c.push_arg("é\"x");
        },
    ];
    for (case, change) in cases.into_iter().enumerate() {
        let (command, exec) = both(change);
        assert_eq!(command.get_program(), exec.get_program(), "case {case}");
        assert!(command.get_args().eq(exec.get_args()), "case {case}");
        assert!(
            command.get_envs().eq(exec.get_envs()),
            "case {case}: {command:?} / {exec:?}"
        );
        assert_eq!(command.get_current_dir(), exec.get_current_dir(), "case {case}");
        assert_eq!(format!("{command:?}"), format!("{exec:?}"), "case {case}");
    }
}

/// The README's table, row by row, as code for std would write it; each
/// `let` names the type std's method returns where it is the same type.
#[test]
fn porting_table_rows() -> Result<(), Box<dyn std::error::Error>> {
    use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
    use std::os::unix::process::ExitStatusExt;
    use std::process::{ChildStderr, ChildStdin, ChildStdout, ExitStatus};
    use std::time::Duration;

    // Command
    let mut cmd = Exec::new("sh");
    cmd.arg("-c")
        .args(["cat; echo err >&2", "sh"])
        .env("A", "1")
        .envs([("B", "2")])
        .env_remove("C")
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let _: &std::ffi::OsStr = cmd.get_program();
    let _: Vec<&std::ffi::OsStr> = cmd.get_args().collect();
    let _: Vec<(&std::ffi::OsStr, Option<&std::ffi::OsStr>)> = cmd.get_envs().collect();
    let _: Option<&std::path::Path> = cmd.get_current_dir();
    let _ = format!("{cmd:?}");
    // CommandExt: inherent methods here.
    // SAFETY: getuid and getgid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (clonekit::libc::getuid(), clonekit::libc::getgid()) };
    cmd.arg0("sh").uid(uid).gid(gid).process_group(Pid::from_raw(0));
    if uid == 0 {
        cmd.groups(&[gid]);
    }
    // SAFETY: the hook does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) };

    // Child, with std's pipe types.
    let mut child: clonekit::ExecChild = cmd.spawn()?;
    let _: u32 = child.id();
    let stdin: ChildStdin = child.stdin.take().unwrap();
    let stdout: &mut Option<ChildStdout> = &mut child.stdout;
    assert!(stdout.is_some());
    let _: &Option<ChildStderr> = &child.stderr;
    drop(stdin);
    let _: Option<ExitStatus> = child.try_wait()?;
    let output: Output = child.wait_with_output()?;
    assert!(output.status.success() && output.stderr == b"err\n");

    let mut child = Exec::new("sleep").arg("10").spawn()?;
    let () = child.kill()?;
    let status: ExitStatus = child.wait()?;
    assert_eq!(status.signal(), Some(9)); // ExitStatusExt: std's own type

    // Stdio
    assert!(Stdio::piped().makes_pipe() && !Stdio::inherit().makes_pipe());
    let _ = Stdio::null();
    let _ = Stdio::from(fs::File::open("/dev/null")?);
    let _ = Stdio::from(OwnedFd::from(fs::File::open("/dev/null")?));
    let _ = Stdio::from(std::io::stdout());
    let _ = Stdio::from(std::io::stderr());
    // SAFETY: the fd is open and this call owns it.
    let _ = unsafe { Stdio::from_raw_fd(fs::File::open("/dev/null")?.into_raw_fd()) };
    let mut first = Exec::new("echo").arg("x").stdout(Stdio::piped()).spawn()?;
    let piped = Exec::new("cat")
        .stdin(Stdio::from(first.stdout.take().unwrap()))
        .output()?;
    first.wait()?;
    assert_eq!(piped.stdout, b"x\n");

    // status, output, and what std lacks.
    assert!(Exec::new("true").status()?.success());
    let mut child = Exec::new("sleep").arg("10").kill_on_drop(true).spawn()?;
    assert_eq!(child.wait_timeout(Duration::from_millis(1))?, None);
    child.signal(Signal::SIGTERM)?;
    assert_eq!(child.wait()?.signal(), Some(15));
    assert!(child.rusage().is_some());

    // Errors convert where std's io::Error is expected.
    let err: std::io::Error = Exec::new("/no/such/program").spawn().unwrap_err().into();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    Ok(())
}
