//! Running this test program again as a helper process, for checks that
//! change process-wide state (signal dispositions, rlimits, seccomp) or
//! need a process with nothing else in it; and what a program without the
//! harness (`harness = false`) needs to look like one test.

use std::fs::{self, File};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{poll_until, DEADLINE};

/// How long a helper process may take before it is killed: it may run many
/// children, each bounded by [`DEADLINE`].
pub const HELPER_DEADLINE: Duration = DEADLINE.saturating_mul(6);

/// Runs this program again with `args` and `envs`; returns what it printed
/// (stdout and stderr) and how it ended (`None`: killed past
/// [`HELPER_DEADLINE`]).
pub fn run_self(args: &[&str], envs: &[(&str, &str)]) -> (String, Option<ExitStatus>) {
    let mut helper = Command::new(std::env::current_exe().expect("current_exe"));
    helper.args(args).envs(envs.iter().copied());
    run_bounded(&mut helper, HELPER_DEADLINE)
}

/// Runs the test `name` of this program (a helper test marked ignored, with its reason) alone,
/// in a process of its own, as [`run_self`] does.
pub fn run_test(name: &str, envs: &[(&str, &str)]) -> (String, Option<ExitStatus>) {
    let args = [name, "--exact", "--ignored", "--nocapture", "--test-threads=1"];
    run_self(&args, envs)
}

/// Runs the helper test `name` as [`run_test`] does, and checks that it
/// succeeded and printed `marker` (its last step, so that a helper that
/// skipped or stopped early cannot pass); returns what it printed.
pub fn expect_helper(name: &str, envs: &[(&str, &str)], marker: &str) -> String {
    let (said, status) = run_test(name, envs);
    assert!(
        status.is_some_and(|s| s.success()) && said.contains(marker),
        "{status:?}\n{said}"
    );
    said
}

/// Runs `command` with no stdin; returns what it printed (stdout and
/// stderr) and how it ended (`None`: killed past `limit`). Its output goes
/// to a file, so that nothing it leaves behind can hold a pipe open.
pub fn run_bounded(command: &mut Command, limit: Duration) -> (String, Option<ExitStatus>) {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let log = std::env::temp_dir().join(format!("clonekit-helper-{}-{run}.log", std::process::id()));
    let out = File::create(&log).expect("create the helper's log");
    command
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup the log"))
        .stderr(out);
    let mut helper = command.spawn().expect("start a helper");
    let status = poll_until(limit, || helper.try_wait().expect("try_wait"));
    if status.is_none() {
        let _ = helper.kill();
        let _ = helper.wait();
    }
    let said = fs::read_to_string(&log).unwrap_or_default();
    let _ = fs::remove_file(&log);
    (said, status)
}

/// What follows `SKIP ` in a helper's output, if the helper skipped (with
/// `--nocapture` the line may start with the harness's `test name ... `).
pub fn skipped(said: &str) -> Option<&str> {
    said.lines()
        .find_map(|line| Some(&line[line.find("SKIP ")? + 5..]))
}

/// For a program without the harness, named `name`: whether this run only
/// lists the tests (as cargo nextest does first), and then lists it as one
/// test. Any other argument (a filter, `--exact`) runs it.
pub fn only_listing(name: &str) -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let listing = args.iter().any(|arg| arg == "--list");
    if listing && !args.iter().any(|arg| arg == "--ignored") {
        println!("{name}: test");
    }
    listing
}
