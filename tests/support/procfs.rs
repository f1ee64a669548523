//! What /proc says about this process: its signal masks, fds, children
//! and PID namespace depth.

use std::fs;

/// A mask line (`SigBlk:`, `SigIgn:`, `SigCgt:`, ...) of a /proc
/// `status` text, as a bit mask (signal n is bit n - 1).
pub fn status_mask(status: &str, field: &str) -> u64 {
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

/// How many fds this process has open.
pub fn fd_count() -> usize {
    fs::read_dir("/proc/self/fd").expect("read /proc/self/fd").count()
}

/// Every child of every thread of this process, zombies included.
pub fn children() -> Vec<libc::pid_t> {
    let mut all = Vec::new();
    for task in fs::read_dir("/proc/self/task").expect("read /proc/self/task") {
        let Ok(task) = task else { continue };
        let text = fs::read_to_string(task.path().join("children")).unwrap_or_default();
        all.extend(
            text.split_whitespace()
                .filter_map(|pid| pid.parse::<libc::pid_t>().ok()),
        );
    }
    all
}

/// How many PID namespaces this process is in (its `NSpid` entries), if
/// /proc says.
pub fn pid_ns_depth() -> Option<usize> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let nspid = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    Some(nspid.split_whitespace().count())
}
