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

/// The running kernel's version as (major, minor), from `uname -r`
/// (`/proc/sys/kernel/osrelease`); (0, 0) if it cannot be read.
pub fn kernel_version() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut numbers = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|part| part.parse::<u32>().unwrap_or(0));
    (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0))
}

/// Where cgroup v2 is mounted: the first `cgroup2` line of
/// `/proc/self/mountinfo` (`/sys/fs/cgroup` on most systems,
/// `/sys/fs/cgroup/unified` on hybrid ones), if any.
pub fn cgroup2_mount() -> Option<std::path::PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let is_cgroup2 = right.split_whitespace().next()? == "cgroup2";
        let mount_point = left.split_whitespace().nth(4)?;
        is_cgroup2.then(|| std::path::PathBuf::from(mount_point))
    })
}
