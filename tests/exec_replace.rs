//! `Exec::exec`: the program in place of the calling process, as std's
//! `CommandExt::exec`. Each exec runs in a helper process of its own (this
//! test program run again), since it replaces or changes that process.

#[macro_use]
mod support;

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;

use clonekit::{CloneFlags, Errno, Error, Exec, ExecStage, FD_TARGET_OPEN, NO_NEW_PRIVS_THREADS};

use support::procfs::{fd_count, status_mask};
use support::rerun::{expect_helper, run_test};
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

/// Runs the helper case `case` and checks it printed `marker` as its last
/// step; a skip (`SKIP` in its output) is reported as this test's.
fn expect_case(case: &str, marker: &str) -> String {
    let _serial = serial();
    expect_helper("exec_helper", &[(CASE, case)], marker)
}

#[test]
fn a_failed_exec_closes_no_fd_of_the_caller() {
    expect_case("close_others", "FDS KEPT");
}

#[test]
fn exec_refuses_to_place_onto_an_fd_the_caller_owns() {
    expect_case("foreign_target", "TARGET REFUSED");
}

#[test]
fn a_failed_exec_puts_crossed_placements_back_and_leaks_no_copy() {
    expect_case("crossed", "PLACEMENTS UNDONE");
}

#[test]
fn a_failed_exec_changes_the_ids_of_every_thread() {
    require_root!("setuid to 65534 needs root");
    expect_case("ids", "EVERY THREAD 65534");
}

#[test]
fn exec_refuses_no_new_privs_with_other_threads() {
    expect_case("no_new_privs", "NO THREAD CHANGED");
}

#[test]
fn a_failed_hook_in_exec_drops_its_error_and_panic_payload() {
    expect_case("hook_drop", "PAYLOADS DROPPED");
}

#[test]
fn close_other_fds_in_exec_still_closes_at_the_exec() {
    let (said, status) = helper("cloexec");
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{said}");
    assert!(said.contains("CLOSED AT EXEC"), "{said}");
}

#[test]
fn close_other_fds_in_exec_marks_fds_where_close_range_cannot() {
    let (said, status) = helper("cloexec_fallback");
    if let Some(why) = support::rerun::skipped(&said) {
        skip!("{why}");
    }
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{said}");
    assert!(
        said.contains("MARKED ONE BY ONE") && said.contains("CLOSED AT EXEC"),
        "{said}"
    );
}

/// A file opened for this test holding `text`, read back from its start.
fn file_with(text: &str) -> File {
    let mut file = tempfile_like();
    file.write_all(text.as_bytes()).unwrap();
    file
}

/// An anonymous file (O_TMPFILE would need a filesystem that has it).
fn tempfile_like() -> File {
    let path = std::env::temp_dir().join(format!(
        "clonekit-exec-replace-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    file
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// What `file` holds, read from its start.
fn contents(file: &mut File) -> String {
    file.rewind().expect("rewind (is the fd still open?)");
    let mut text = String::new();
    file.read_to_string(&mut text).expect("read");
    text
}

/// `Uid:`, `Gid:` and `Groups:` of the calling thread, as /proc shows them.
fn thread_ids() -> String {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    status
        .lines()
        .filter(|l| l.starts_with("Uid:") || l.starts_with("Gid:") || l.starts_with("Groups:"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `NoNewPrivs:` of the calling thread.
fn thread_no_new_privs() -> String {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with("NoNewPrivs:"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `ask` on a second thread that lives across `act` on this one: the
/// thread waits for `act` to be done, then answers. Bounded by the
/// receive's deadline.
fn on_other_thread<T: Send + 'static>(act: impl FnOnce(), ask: fn() -> T) -> T {
    let (go, wait) = mpsc::channel::<()>();
    let (tell, answer) = mpsc::channel();
    let other = thread::spawn(move || {
        let _ = wait.recv_timeout(support::DEADLINE);
        let _ = tell.send(ask());
    });
    act();
    go.send(()).unwrap();
    let got = answer
        .recv_timeout(support::DEADLINE)
        .expect("the other thread answers");
    other.join().unwrap();
    got
}

/// Set when a hook's error or panic payload is dropped.
static ERROR_DROPPED: AtomicBool = AtomicBool::new(false);
static PAYLOAD_DROPPED: AtomicBool = AtomicBool::new(false);

#[derive(Debug)]
struct DropsError;
impl Drop for DropsError {
    fn drop(&mut self) {
        ERROR_DROPPED.store(true, Ordering::SeqCst);
    }
}
impl std::fmt::Display for DropsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a hook's error")
    }
}
impl std::error::Error for DropsError {}

struct DropsPayload;
impl Drop for DropsPayload {
    fn drop(&mut self) {
        PAYLOAD_DROPPED.store(true, Ordering::SeqCst);
    }
}

fn is_exec_enoent(err: &Error) -> bool {
    matches!(
        err,
        Error::Exec {
            stage: ExecStage::Exec,
            errno: Errno::ENOENT,
            ..
        }
    )
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
        Some("close_others") => {
            let mut mine = file_with("still mine");
            assert!(mine.as_raw_fd() > 2);
            let fds = fd_count();
            let err = Exec::new("/no/such/program").close_other_fds(true).exec();
            assert!(is_exec_enoent(&err), "{err:?}");
            assert_eq!(contents(&mut mine), "still mine");
            assert_eq!(fd_count(), fds);
            // Dropping it closes an fd that is still its own (a debug build
            // aborts on an IO-safety violation otherwise).
            drop(mine);
            println!("FDS KEPT");
        }
        Some("foreign_target") => {
            let mut mine = file_with("mine");
            let number = mine.as_raw_fd();
            let fds = fd_count();
            let err = Exec::new("/no/such/program")
                .fd(number, OwnedFd::from(file_with("the Exec's")))
                .exec();
            assert!(
                matches!(
                    err,
                    Error::Unsupported {
                        feature: FD_TARGET_OPEN,
                        errno: Errno::EBUSY
                    }
                ),
                "{err:?}"
            );
            assert_eq!(contents(&mut mine), "mine");
            // The Exec's own fd is one more, dropped with the Exec above.
            assert_eq!(fd_count(), fds);
            drop(mine);
            println!("TARGET REFUSED");
        }
        Some("crossed") => {
            let mut a = file_with("a");
            let mut b = file_with("b");
            let (a_fd, b_fd) = (a.as_raw_fd(), b.as_raw_fd());
            // The Exec's own fds: each placed at the other's number, and one
            // at a free number.
            let mut exec = Exec::new("/no/such/program");
            let (own_a, own_b) = (a.try_clone().unwrap(), b.try_clone().unwrap());
            let (own_a_fd, own_b_fd) = (own_a.as_raw_fd(), own_b.as_raw_fd());
            exec.fd(own_b_fd, own_a.into())
                .fd(own_a_fd, own_b.into())
                .fd(200, file_with("c").into());
            let fds = fd_count();
            for _ in 0..2 {
                let err = exec.exec();
                assert!(is_exec_enoent(&err), "{err:?}");
                assert_eq!(fd_count(), fds, "a temporary copy or a placed fd was left open");
                assert!(
                    !std::path::Path::new("/proc/self/fd/200").exists(),
                    "fd 200 left open"
                );
            }
            // The Exec's fds are back at their numbers: each names the file
            // of the caller's it was cloned from.
            let link = |fd: i32| std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
            assert_eq!((link(own_a_fd), link(own_b_fd)), (link(a_fd), link(b_fd)));
            drop(exec);
            assert_eq!((contents(&mut a), contents(&mut b)), ("a".into(), "b".into()));
            println!("PLACEMENTS UNDONE");
        }
        Some("ids") => {
            let other = on_other_thread(
                || {
                    let err = Exec::new("/no/such/program").uid(65534).gid(65534).exec();
                    assert!(is_exec_enoent(&err), "{err:?}");
                },
                thread_ids,
            );
            let expected = "Uid: 65534 65534 65534 65534; Gid: 65534 65534 65534 65534; Groups:";
            assert_eq!(thread_ids(), expected);
            assert_eq!(other, expected, "the other thread");
            println!("EVERY THREAD 65534");
        }
        Some("no_new_privs") => {
            assert_eq!(thread_no_new_privs(), "NoNewPrivs: 0");
            let other = on_other_thread(
                || {
                    let err = Exec::new("/no/such/program").no_new_privs(true).exec();
                    assert!(
                        matches!(
                            err,
                            Error::Unsupported {
                                feature: NO_NEW_PRIVS_THREADS,
                                errno: Errno::EBUSY
                            }
                        ),
                        "{err:?}"
                    );
                },
                thread_no_new_privs,
            );
            assert_eq!(
                (thread_no_new_privs(), other.as_str()),
                ("NoNewPrivs: 0".into(), "NoNewPrivs: 0")
            );
            println!("NO THREAD CHANGED");
        }
        Some("hook_drop") => {
            let mut exec = Exec::new("/no/such/program");
            // SAFETY: the hook only returns an error.
            unsafe {
                exec.pre_exec(|| Err(std::io::Error::other(DropsError)));
            }
            let err = exec.exec();
            assert!(
                matches!(
                    err,
                    Error::Exec {
                        stage: ExecStage::PreExec,
                        errno: Errno::EINVAL,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(
                ERROR_DROPPED.load(Ordering::SeqCst),
                "the hook's error was leaked"
            );
            let mut exec = Exec::new("/no/such/program");
            // SAFETY: the hook only panics.
            unsafe {
                exec.pre_exec(|| std::panic::panic_any(DropsPayload));
            }
            let err = exec.exec();
            assert!(
                matches!(
                    err,
                    Error::Exec {
                        stage: ExecStage::PreExec,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(
                PAYLOAD_DROPPED.load(Ordering::SeqCst),
                "the panic's payload was leaked"
            );
            println!("PAYLOADS DROPPED");
        }
        Some("cloexec") => {
            let mine = file_with("x");
            let err = Exec::new("sh")
                .args([
                    "-c",
                    &format!(
                        "if [ -e /proc/self/fd/{} ]; then echo LEFT OPEN; exit 1; fi; echo CLOSED AT EXEC",
                        mine.as_raw_fd()
                    ),
                ])
                .close_other_fds(true)
                .exec();
            panic!("exec returned: {err}");
        }
        Some("cloexec_fallback") => {
            // As Linux 5.9 and 5.10 answer CLOSE_RANGE_CLOEXEC (5.8 and
            // older answer ENOSYS, which takes the same path).
            if let Err(errno) = support::seccomp::refuse(libc::SYS_close_range, Errno::EINVAL) {
                skip!("no seccomp filter: {errno}");
            }
            let mut mine = file_with("still mine");
            // Inherited by default: the fallback must mark it.
            let (inherited, _write) = clonekit::raw::pipe2(0).unwrap();
            let fds = fd_count();
            let err = Exec::new("/no/such/program").close_other_fds(true).exec();
            assert!(is_exec_enoent(&err), "{err:?}");
            assert_eq!((contents(&mut mine), fd_count()), ("still mine".into(), fds));
            assert_eq!(
                clonekit::raw::fcntl_getfd(inherited.as_raw_fd()),
                Ok(libc::FD_CLOEXEC)
            );
            println!("MARKED ONE BY ONE");
            // SAFETY: only clears FD_CLOEXEC on our own pipe end, for the
            // exec below to close it again.
            unsafe { clonekit::raw::fcntl_setfd(inherited.as_raw_fd(), 0) }.unwrap();
            let script = format!(
                "for fd in {} {}; do [ -e /proc/self/fd/$fd ] && {{ echo LEFT OPEN $fd; exit 1; }}; done; echo CLOSED AT EXEC",
                mine.as_raw_fd(),
                inherited.as_raw_fd()
            );
            let err = Exec::new("sh").args(["-c", &script]).close_other_fds(true).exec();
            panic!("exec returned: {err}");
        }
        other => panic!("no case {other:?}"),
    }
}
