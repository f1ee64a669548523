//! Running this test program again as a helper process, for checks that
//! change process-wide state (signal dispositions, rlimits, seccomp) or
//! need a process with nothing else in it.

use std::fs::{self, File};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Runs this program again with `envs` set; returns what it printed
/// (stdout and stderr) and how it ended (`None`: killed past `deadline`).
/// Its output goes to a file, so that nothing it leaves behind can hold a
/// pipe open.
pub fn run_self(envs: &[(&str, &str)], deadline: Duration) -> (String, Option<ExitStatus>) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = std::env::temp_dir().join(format!("clonekit-helper-{}-{run}.log", std::process::id()));
    let out = File::create(&log).expect("create the helper's log");
    let mut helper = Command::new(std::env::current_exe().expect("current_exe"));
    helper
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup the log"))
        .stderr(out);
    let mut helper = helper.spawn().expect("start a helper");
    let deadline = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = helper.try_wait().expect("try_wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = helper.kill();
            let _ = helper.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let said = fs::read_to_string(&log).unwrap_or_default();
    let _ = fs::remove_file(&log);
    (said, status)
}
