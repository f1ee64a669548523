//! `Exec` under hostile conditions: SIGCHLD ignored, auto-reaped or reaped
//! by a handler, no process or no fd left, clone3 or vfork refused by a
//! seccomp filter. Whatever the condition, a spawn gives the right typed
//! error or succeeds, never panics, and leaves no child and no fd behind.
//!
//! Every condition changes process-wide state, so each (condition,
//! strategy) pair runs in a helper process of its own: this program started
//! again with `CLONEKIT_HOSTILE_CASE=<case>:<strategy>`, killed after
//! `support::rerun::HELPER_DEADLINE`. The helper is single-threaded (this
//! test has no harness), which the RLIMIT_NPROC and seccomp cases rely on. It prints one
//! line per check (`PASS name`, `FAIL name: why`, `SKIP name: reason`) and
//! exits with 1 if any check failed; this program prints what each helper
//! said and fails if a helper failed, crashed or said nothing.
//!
//! After every check the helper also checks that it has no child left (no
//! zombie, nothing running) and as many fds as before; whatever is left is
//! then killed and reaped, so that the next check starts clean.
//!
//! The expected answers, where the kernel may reap a child before `Exec`
//! looks for it (SIGCHLD ignored, `SA_NOCLDWAIT`, a reaping handler):
//! - a failing program is `Error::Exec` with its stage and errno, never a
//!   wait error;
//! - `wait`, `status` and `output` of a succeeding program give its
//!   status (and output), or `Sys { call: "waitid" or "wait4", errno: ECHILD }`;
//! - once `wait` said ECHILD, `kill` fails with ESRCH: the pid may already
//!   be a stranger's (once `wait` returned a status, `kill` is the
//!   documented no-op);
//! - with `pidfd(true)` the child has a pidfd, made with the child.
//!
//! An argument that is not an option runs only the cases whose
//! `case/strategy` name contains it.

use std::fmt::Debug;
use std::fs::{self, File};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::{ExitStatus, Output};
use std::time::{Duration, Instant};

use clonekit::{raw, Errno, Error, Exec, ExecChild, ExecStage, Signal, Stdio, Strategy};

#[macro_use]
mod support;

use support::procfs::children;
use support::report_skip;
use support::rerun::{only_listing, run_self};

/// Set in a helper process: which case and strategy it runs.
const CASE_ENV: &str = "CLONEKIT_HOSTILE_CASE";
/// How long a check's last child may take to disappear once the check is
/// done (a dying child, or a handler about to reap it).
const GRACE: Duration = Duration::from_secs(2);
/// How often a racy check is repeated: whether a child is reaped before
/// the parent looks for it depends on scheduling.
const REPEAT: usize = 50;
const STRATEGIES: [Strategy; 3] = [Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork];

/// A hostile condition: its name, and what a helper sets up and checks.
struct Case {
    name: &'static str,
    run: fn(&mut Checks),
}

const CASES: &[Case] = &[
    Case {
        name: "sigchld-ignored",
        run: sigchld_ignored,
    },
    Case {
        name: "sigchld-nocldwait",
        run: sigchld_nocldwait,
    },
    Case {
        name: "sigchld-reaping-handler",
        run: sigchld_reaping_handler,
    },
    Case {
        name: "nproc-no-child",
        run: nproc_no_child,
    },
    Case {
        name: "nproc-one-child",
        run: nproc_one_child,
    },
    Case {
        name: "nofile",
        run: nofile,
    },
    Case {
        name: "seccomp-clone3-enosys",
        run: |checks| refused_syscall(checks, "clone3", Errno::ENOSYS),
    },
    Case {
        name: "seccomp-clone3-eperm",
        run: |checks| refused_syscall(checks, "clone3", Errno::EPERM),
    },
    Case {
        name: "seccomp-vfork-enosys",
        run: |checks| refused_syscall(checks, "vfork", Errno::ENOSYS),
    },
];

fn main() {
    if let Ok(which) = std::env::var(CASE_ENV) {
        std::process::exit(helper(&which));
    }
    if only_listing("hostile") {
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filter = args.iter().find(|arg| !arg.starts_with('-'));
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut bad = Vec::new();
    for case in CASES {
        for strategy in STRATEGIES {
            let which = format!("{}:{strategy:?}", case.name);
            if filter.is_some_and(|f| !which.replace(':', "/").contains(f.as_str())) {
                continue;
            }
            let (said, status) = run_helper(&which);
            print!("{said}");
            let count = |tag: &str| said.lines().filter(|l| l.starts_with(tag)).count();
            passed += count("PASS ");
            skipped += count("SKIP ");
            failed += count("FAIL ");
            if !status.is_some_and(|s| s.success()) || count("PASS ") + count("SKIP ") == 0 {
                bad.push(format!("{which}: {status:?}"));
            }
        }
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 || !bad.is_empty() {
        println!("helpers that failed or ended badly: {bad:#?}");
        std::process::exit(1);
    }
}

/// Runs this program as the helper for `which`; returns what it printed
/// and how it ended (`None`: killed past its deadline).
fn run_helper(which: &str) -> (String, Option<ExitStatus>) {
    run_self(&[], &[(CASE_ENV, which)])
}

/// The helper: sets up `case` and runs its checks with `strategy`.
fn helper(which: &str) -> i32 {
    let (name, strategy) = which.split_once(':').expect("case:strategy");
    let case = CASES.iter().find(|c| c.name == name).expect("a known case");
    let strategy = STRATEGIES
        .into_iter()
        .find(|s| format!("{s:?}") == strategy)
        .expect("a known strategy");
    // One line per panic (the check reports the message), not a backtrace.
    panic::set_hook(Box::new(|info| {
        let at = info.location().map(ToString::to_string).unwrap_or_default();
        eprintln!("  (a panic at {at})");
    }));
    let mut checks = Checks {
        prefix: format!("{name}/{strategy:?}"),
        strategy,
        failed: false,
    };
    (case.run)(&mut checks);
    i32::from(checks.failed)
}

/// What a check found wrong, if anything.
type Outcome = Result<(), String>;

/// Runs the checks of one helper and prints their verdicts.
struct Checks {
    prefix: String,
    strategy: Strategy,
    failed: bool,
}

impl Checks {
    /// Runs `body` with this helper's strategy, then looks for children and
    /// fds it left; prints the verdict. A panic is a failure.
    fn check(&mut self, what: &str, body: impl FnOnce(Strategy) -> Outcome) {
        let fds_before = open_fds();
        let strategy = self.strategy;
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| body(strategy)))
            .unwrap_or_else(|payload| Err(format!("panicked: {}", panic_message(&*payload))));
        let mut wrong: Vec<String> = outcome.err().into_iter().collect();
        wrong.extend(children_left());
        kill_and_reap_children();
        wrong.extend(fds_changed(&fds_before, &open_fds()));
        if wrong.is_empty() {
            println!("PASS {}/{what}", self.prefix);
        } else {
            self.failed = true;
            println!("FAIL {}/{what}: {}", self.prefix, wrong.join("; "));
        }
    }

    fn skip(&self, reason: &str) {
        report_skip(&self.prefix, reason);
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "(no message)".to_owned(),
    }
}

// ---------------------------------------------------------------------------
// The leak checks.

/// This process's open fds and what they point to (without the one that
/// reads the directory).
fn open_fds() -> Vec<(RawFd, String)> {
    let reading = format!("/proc/{}/fd", std::process::id());
    let mut fds: Vec<(RawFd, String)> = fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let fd = entry.file_name().to_str()?.parse().ok()?;
            let target = fs::read_link(entry.path()).ok()?.display().to_string();
            (target != reading).then_some((fd, target))
        })
        .collect();
    fds.sort();
    fds
}

fn fds_changed(before: &[(RawFd, String)], after: &[(RawFd, String)]) -> Option<String> {
    let leaked: Vec<_> = after.iter().filter(|fd| !before.contains(fd)).collect();
    let lost: Vec<_> = before.iter().filter(|fd| !after.contains(fd)).collect();
    (!leaked.is_empty() || !lost.is_empty()).then(|| format!("fds leaked {leaked:?}, closed {lost:?}"))
}

/// What `waitid(P_ALL, WNOHANG | WNOWAIT | __WALL)` says is left: `None`
/// once there is no child at all (ECHILD), after at most [`GRACE`].
fn children_left() -> Option<String> {
    let deadline = Instant::now() + GRACE;
    loop {
        // SAFETY: an all-zero siginfo_t is valid; waitid only writes it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL;
        // SAFETY: `info` is live; WNOWAIT leaves any child as it is.
        let answer = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, options) };
        let left = match (answer, Errno::last()) {
            (-1, Errno::ECHILD) => return None,
            (-1, Errno::EINTR) => continue,
            (-1, errno) => return Some(format!("waitid failed: {errno:?}")),
            // SAFETY: waitid filled `info` in.
            _ => match unsafe { info.si_pid() } {
                0 => format!("children still running: {:?}", children()),
                zombie => format!("zombie {zombie} (children {:?})", children()),
            },
        };
        if Instant::now() > deadline {
            return Some(left);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills and reaps whatever a check left, so that the next starts clean.
fn kill_and_reap_children() {
    for pid in children() {
        // SAFETY: plain system calls on our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), libc::__WALL);
        }
    }
}

// ---------------------------------------------------------------------------
// What the checks run.

fn exec(program: &str, strategy: Strategy, pidfd: bool) -> Exec {
    let mut exec = Exec::new(program);
    exec.strategy(strategy).pidfd(pidfd);
    exec
}

fn echo_hi(strategy: Strategy, pidfd: bool) -> Exec {
    let mut exec = exec("echo", strategy, pidfd);
    exec.arg("hi");
    exec
}

/// Whether `err` is what `wait` answers when the kernel (or a handler)
/// reaped the child first: `ECHILD` from `waitid` through the handle's
/// pidfd, or from `wait4` for a handle without one.
fn reaped_elsewhere(err: &Error) -> bool {
    matches!(
        err,
        Error::Sys {
            call: "waitid" | "wait4",
            errno: Errno::ECHILD,
            detail: None
        }
    )
}

/// Waits for a child that should not have been spawned, so that it leaves
/// nothing behind; the result shows up in the failure message.
fn reap(mut child: ExecChild) -> clonekit::Result<ExitStatus> {
    child.wait()
}

/// `result` must be exactly `want`.
fn fails_with<T: Debug>(result: clonekit::Result<T>, want: &Error) -> Outcome {
    match result {
        Err(err) if err == *want => Ok(()),
        other => Err(format!("got {other:?}, want Err({want:?})")),
    }
}

/// `result` must be `Error::Sys` with `want`, whatever the call.
fn sys_fails_with<T: Debug>(result: clonekit::Result<T>, want: Errno) -> Outcome {
    match result {
        Err(Error::Sys { errno, .. }) if errno == want => Ok(()),
        other => Err(format!("got {other:?}, want Err(Sys {{ errno: {want:?}, .. }})")),
    }
}

fn exec_error(program: &str, errno: Errno) -> Error {
    Error::Exec {
        program: program.into(),
        stage: ExecStage::Exec,
        errno,
        detail: None,
    }
}

/// Spawns `true` and waits: the pidfd must be there if asked for, and the
/// program must succeed, or the wait say the child was reaped elsewhere.
/// After that, signalling the child must not claim to have reached it.
fn spawn_wait_kill(strategy: Strategy, pidfd: bool) -> Outcome {
    let mut child = exec("true", strategy, pidfd)
        .spawn()
        .map_err(|err| format!("spawn: {err:?}"))?;
    let has_pidfd = child.pidfd().is_some();
    let waited = child.wait();
    if pidfd && !has_pidfd {
        return Err("pidfd(true) but no pidfd".into());
    }
    // SIGWINCH rather than SIGTERM: if the library wrongly sent it to a
    // recycled pid, a stranger would at worst redraw its window.
    let killed = child.signal(Signal::SIGWINCH);
    let killed_errno = killed.as_ref().err().and_then(Error::errno);
    match (&waited, killed_errno) {
        (Ok(status), _) if !status.success() => Err(format!("true ended with {status:?}")),
        // Once reaped by `wait`, `kill` is documented to do nothing.
        (Ok(_), None | Some(Errno::ESRCH)) => Ok(()),
        (Err(err), Some(Errno::ESRCH)) if reaped_elsewhere(err) => Ok(()),
        (Err(err), _) if !reaped_elsewhere(err) => Err(format!("wait: {err:?}")),
        _ => Err(format!(
            "after wait gave {waited:?}, kill gave {killed:?}, want an error with ESRCH"
        )),
    }
}

/// `status()` of `true`: success, or (when `reaped_ok`) reaped elsewhere.
fn status_succeeds(strategy: Strategy, pidfd: bool, reaped_ok: bool) -> Outcome {
    match exec("true", strategy, pidfd).status() {
        Ok(status) if status.success() => Ok(()),
        Err(err) if reaped_ok && reaped_elsewhere(&err) => Ok(()),
        other => Err(format!("status: {other:?}")),
    }
}

/// `output()` of `echo hi`: its output, or (when `reaped_ok`) reaped elsewhere.
fn output_says_hi(strategy: Strategy, pidfd: bool, reaped_ok: bool) -> Outcome {
    let result = echo_hi(strategy, pidfd).output();
    match result {
        Ok(Output { status, stdout, .. }) if status.success() && stdout == b"hi\n" => Ok(()),
        Err(err) if reaped_ok && reaped_elsewhere(&err) => Ok(()),
        other => Err(format!("output: {other:?}")),
    }
}

fn tag(pidfd: bool) -> &'static str {
    if pidfd {
        "+pidfd"
    } else {
        ""
    }
}

/// What must hold whatever SIGCHLD's disposition: a failure is reported as
/// such, a success is a success or "reaped elsewhere", and a child the
/// kernel reaped is never signalled as if it were still there.
fn under_sigchld_disposition(checks: &mut Checks) {
    let not_executable = NotExecutable::new();
    for pidfd in [false, true] {
        let tag = tag(pidfd);
        checks.check(&format!("enoent{tag}"), |s| {
            let mut exec = exec("/no/such/program", s, pidfd);
            (0..REPEAT).try_for_each(|_| {
                fails_with(
                    exec.spawn().map(reap),
                    &exec_error("/no/such/program", Errno::ENOENT),
                )
            })
        });
        checks.check(&format!("eacces{tag}"), |s| {
            let mut exec = exec(not_executable.path(), s, pidfd);
            (0..REPEAT).try_for_each(|_| {
                fails_with(
                    exec.spawn().map(reap),
                    &exec_error(not_executable.path(), Errno::EACCES),
                )
            })
        });
        checks.check(&format!("spawn-wait-kill{tag}"), |s| {
            (0..REPEAT).try_for_each(|_| spawn_wait_kill(s, pidfd))
        });
        checks.check(&format!("status{tag}"), |s| status_succeeds(s, pidfd, true));
        checks.check(&format!("output{tag}"), |s| output_says_hi(s, pidfd, true));
    }
}

/// What must simply work: a failure reported, `true` spawned and waited
/// (with its pidfd if asked for), `status()` and `output()`.
fn everything_works(checks: &mut Checks) {
    checks.check("enoent", |s| {
        fails_with(
            exec("/no/such/program", s, false).spawn().map(reap),
            &exec_error("/no/such/program", Errno::ENOENT),
        )
    });
    for pidfd in [false, true] {
        let tag = tag(pidfd);
        checks.check(&format!("spawn-wait{tag}"), |s| {
            let mut child = exec("true", s, pidfd)
                .spawn()
                .map_err(|e| format!("spawn: {e:?}"))?;
            let has_pidfd = child.pidfd().is_some();
            match child.wait() {
                Ok(status) if status.success() && has_pidfd == pidfd => Ok(()),
                other => Err(format!("wait: {other:?}, pidfd: {has_pidfd}")),
            }
        });
        checks.check(&format!("status{tag}"), |s| status_succeeds(s, pidfd, false));
        checks.check(&format!("output{tag}"), |s| output_says_hi(s, pidfd, false));
    }
}

/// A file without execute permission (EACCES even for root), removed on drop.
struct NotExecutable {
    path: PathBuf,
}

impl NotExecutable {
    fn new() -> NotExecutable {
        let path = std::env::temp_dir().join(format!("clonekit-hostile-{}-plain", std::process::id()));
        fs::write(&path, "#!/bin/sh\nexit 0\n").expect("write a fixture");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod a fixture");
        NotExecutable { path }
    }

    fn path(&self) -> &str {
        self.path.to_str().expect("a UTF-8 temp dir")
    }
}

impl Drop for NotExecutable {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

// ---------------------------------------------------------------------------
// Cases 1 and 2: SIGCHLD.

fn set_sigchld(handler: libc::sighandler_t, flags: libc::c_int) {
    // SAFETY: an all-zero sigaction is valid; the fields are then set.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler;
    action.sa_flags = flags;
    // SAFETY: `action` is live; the handlers below are async-signal-safe.
    let set = unsafe {
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGCHLD, &action, std::ptr::null_mut())
    };
    assert_eq!(set, 0, "sigaction(SIGCHLD)");
}

/// A handler as `sigaction` takes it.
fn handler(f: extern "C" fn(libc::c_int)) -> libc::sighandler_t {
    f as libc::sighandler_t
}

extern "C" fn do_nothing(_: libc::c_int) {}

/// Reaps every child that has exited, as many programs' handlers do. It
/// keeps errno, but is installed without SA_RESTART: calls it interrupts
/// fail with EINTR.
extern "C" fn reap_children(_: libc::c_int) {
    // SAFETY: errno is this thread's; waitpid is async-signal-safe.
    unsafe {
        let saved = *libc::__errno_location();
        while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
        *libc::__errno_location() = saved;
    }
}

/// SIGCHLD ignored: the kernel reaps every child as it exits.
fn sigchld_ignored(checks: &mut Checks) {
    set_sigchld(libc::SIG_IGN, 0);
    under_sigchld_disposition(checks);
}

/// A SIGCHLD handler with SA_NOCLDWAIT: the kernel reaps every child too.
fn sigchld_nocldwait(checks: &mut Checks) {
    set_sigchld(handler(do_nothing), libc::SA_NOCLDWAIT);
    under_sigchld_disposition(checks);
}

/// A handler that reaps every exited child as soon as SIGCHLD arrives.
fn sigchld_reaping_handler(checks: &mut Checks) {
    set_sigchld(handler(reap_children), 0);
    under_sigchld_disposition(checks);
}

// ---------------------------------------------------------------------------
// Case 3: RLIMIT_NPROC.

/// A uid and gid that no other process uses, so that RLIMIT_NPROC counts
/// only this helper.
const LONELY_ID: u32 = 65533;

/// How many tasks (threads included) run with real uid `uid`.
fn tasks_of(uid: u32) -> usize {
    let Ok(procs) = fs::read_dir("/proc") else {
        return 0;
    };
    let field = |status: &str, name: &str| -> Option<usize> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    // Numbered entries only: "self" and "thread-self" would count us again.
    procs
        .filter_map(|p| p.ok())
        .filter(|p| {
            p.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|p| fs::read_to_string(p.path().join("status")).ok())
        .filter(|status| field(status, "Uid:") == Some(uid as usize))
        .filter_map(|status| field(&status, "Threads:"))
        .sum()
}

/// Makes this helper run as [`LONELY_ID`] and limits RLIMIT_NPROC so that
/// `children` more tasks can be created; `Err` says why that cannot be done.
///
/// The kernel (copy_process) counts the tasks (threads too) of the new
/// task's real uid, the new one included, and refuses with EAGAIN when that
/// count exceeds the soft limit, unless the caller has CAP_SYS_RESOURCE or
/// CAP_SYS_ADMIN, or is root: hence the unprivileged uid that nothing else
/// uses. This helper is then that uid's only task (it has no harness, so
/// no other thread): a limit of 1 + `children` leaves room for exactly
/// `children` tasks, which the NPROC cases check first with raw `fork`.
fn lonely_user_with_room_for(children: usize) -> Result<(), String> {
    if !support::is_root() {
        return Err("needs root, to switch to a uid no other process uses".into());
    }
    let others = tasks_of(LONELY_ID);
    if others > 0 {
        return Err(format!("{others} tasks already run as uid {LONELY_ID}"));
    }
    // SAFETY: plain system calls on this (single-threaded) process. Dumpable
    // again, so that /proc/self/fd stays readable after the uid change.
    let dropped = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setresgid(LONELY_ID, LONELY_ID, LONELY_ID) == 0
            && libc::setresuid(LONELY_ID, LONELY_ID, LONELY_ID) == 0
            && libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) == 0
    };
    if !dropped {
        return Err(format!(
            "could not switch to uid {LONELY_ID}: {:?}",
            Errno::last()
        ));
    }
    let ours = tasks_of(LONELY_ID);
    if ours != 1 {
        return Err(format!("expected 1 task of uid {LONELY_ID}, found {ours}"));
    }
    set_soft_limit(libc::RLIMIT_NPROC, (ours + children) as libc::rlim_t)
        .map(drop)
        .map_err(|errno| format!("setrlimit(RLIMIT_NPROC): {errno:?}"))
}

fn set_soft_limit(resource: libc::__rlimit_resource_t, soft: libc::rlim_t) -> Result<libc::rlimit, Errno> {
    let mut saved = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `saved` is a live rlimit.
    Errno::result(unsafe { libc::getrlimit(resource, &mut saved) })?;
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: saved.rlim_max,
    };
    // SAFETY: a live rlimit; only this helper process is limited.
    Errno::result(unsafe { libc::setrlimit(resource, &limit) })?;
    Ok(saved)
}

/// Whether a raw fork (its child exits at once) is refused with EAGAIN.
fn fork_refused() -> bool {
    // SAFETY: the child only exits.
    match unsafe { raw::fork() } {
        Ok(None) => unsafe { raw::exit_group(0) },
        Ok(Some(pid)) => {
            // SAFETY: our own child, just created.
            unsafe { libc::waitpid(pid.as_raw(), std::ptr::null_mut(), 0) };
            false
        }
        Err(errno) => errno == Errno::EAGAIN,
    }
}

/// No task may be created: every spawn is refused with EAGAIN.
fn nproc_no_child(checks: &mut Checks) {
    if let Err(reason) = lonely_user_with_room_for(0) {
        return checks.skip(&reason);
    }
    if !fork_refused() {
        return checks.skip("RLIMIT_NPROC is not enforced here: a raw fork was not refused");
    }
    for pidfd in [false, true] {
        let tag = tag(pidfd);
        checks.check(&format!("spawn{tag}"), |s| {
            sys_fails_with(exec("true", s, pidfd).spawn().map(reap), Errno::EAGAIN)
        });
        checks.check(&format!("status{tag}"), |s| {
            sys_fails_with(exec("true", s, pidfd).status(), Errno::EAGAIN)
        });
        checks.check(&format!("output{tag}"), |s| {
            sys_fails_with(echo_hi(s, pidfd).output(), Errno::EAGAIN)
        });
    }
}

/// Exactly one task may be created: the child, and nothing more (no thread
/// for `output()` to read stderr with).
fn nproc_one_child(checks: &mut Checks) {
    if let Err(reason) = lonely_user_with_room_for(1) {
        return checks.skip(&reason);
    }
    if fork_refused() {
        return checks.skip("RLIMIT_NPROC counts differently here: a raw fork was refused");
    }
    everything_works(checks);
}

// ---------------------------------------------------------------------------
// Case 4: RLIMIT_NOFILE.

/// Lowers RLIMIT_NOFILE so that only `spare` more fds can be opened (new
/// fds take the lowest free number, which must be below the limit); puts
/// the limit back on drop.
struct SpareFds {
    saved: libc::rlimit,
}

impl SpareFds {
    fn new(spare: usize) -> SpareFds {
        let lowest_free = File::open("/dev/null").expect("open /dev/null").as_raw_fd();
        let soft = (lowest_free as usize + spare) as libc::rlim_t;
        let saved = set_soft_limit(libc::RLIMIT_NOFILE, soft).expect("setrlimit(RLIMIT_NOFILE)");
        SpareFds { saved }
    }
}

impl Drop for SpareFds {
    fn drop(&mut self) {
        // SAFETY: a live rlimit, the one this process had.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &self.saved) };
    }
}

/// `output()` with 0, 1, ... spare fds: refused with EMFILE until there are
/// enough, then the right output; never a panic, never a leaked fd.
fn output_with_few_fds(strategy: Strategy, pidfd: bool) -> Outcome {
    // Enough for /dev/null, two pipes, Fork's error pipe and a pidfd.
    const ENOUGH: usize = 10;
    let before = open_fds();
    for spare in 0..=ENOUGH {
        let result = {
            let _limit = SpareFds::new(spare);
            echo_hi(strategy, pidfd).output()
        };
        match result {
            Ok(out) if out.status.success() && out.stdout == b"hi\n" => {}
            Err(Error::Sys {
                errno: Errno::EMFILE, ..
            }) if spare < ENOUGH => {}
            other => return Err(format!("with {spare} spare fds: {other:?}")),
        }
        if let Some(changed) = fds_changed(&before, &open_fds()) {
            return Err(format!("with {spare} spare fds: {changed}"));
        }
    }
    Ok(())
}

fn nofile(checks: &mut Checks) {
    for pidfd in [false, true] {
        let tag = tag(pidfd);
        checks.check(&format!("exhausted-output{tag}"), |s| {
            let _limit = SpareFds::new(0);
            sys_fails_with(echo_hi(s, pidfd).output(), Errno::EMFILE)
        });
        checks.check(&format!("exhausted-piped-spawn{tag}"), |s| {
            let _limit = SpareFds::new(0);
            let result = exec("true", s, pidfd).stdout(Stdio::Piped).spawn().map(reap);
            sys_fails_with(result, Errno::EMFILE)
        });
        checks.check(&format!("few-fds-output{tag}"), |s| output_with_few_fds(s, pidfd));
    }
    checks.check("exhausted-pidfd-spawn", |s| {
        let _limit = SpareFds::new(0);
        sys_fails_with(exec("true", s, true).spawn().map(reap), Errno::EMFILE)
    });
}

// ---------------------------------------------------------------------------
// Cases 5 and 6: seccomp.

/// `syscall` ("clone3" or "vfork") refused with `errno`: every strategy
/// must still work, falling back to what remains.
fn refused_syscall(checks: &mut Checks, syscall: &str, errno: Errno) {
    let nr = match syscall {
        "clone3" => libc::SYS_clone3,
        _ => match vfork_syscall() {
            Some(nr) => nr,
            None => return checks.skip("this architecture has no vfork system call (it is clone there)"),
        },
    };
    if let Err(err) = support::seccomp::refuse(nr, errno) {
        return checks.skip(&format!("cannot install a seccomp filter: {err:?}"));
    }
    everything_works(checks);
}

/// The `vfork` system call's number, where the architecture has one.
fn vfork_syscall() -> Option<libc::c_long> {
    #[cfg(clonekit_sys_vfork)]
    return Some(libc::SYS_vfork);
    #[cfg(not(clonekit_sys_vfork))]
    return None;
}
