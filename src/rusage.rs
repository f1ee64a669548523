//! [`ResourceUsage`]: what a finished child used, as `wait4` reports it.

use std::time::Duration;

/// The resources a child used, as the kernel reported them when the child
/// was reaped (`wait4`'s `struct rusage`): the child's own, plus those of
/// its descendants that it waited for.
///
/// Got from [`Child::rusage`](crate::Child::rusage) or
/// [`ExecChild::rusage`](crate::ExecChild::rusage) once the child has been
/// reaped, or with [`ExecChild::wait_with_rusage`](crate::ExecChild::wait_with_rusage).
///
/// # Examples
///
/// ```
/// let mut child = clonekit::Exec::new("true").spawn()?;
/// let (status, usage) = child.wait_with_rusage()?;
/// assert!(status.success());
/// assert!(usage.max_rss_kib > 0); // every process has some memory
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [getrusage(2)](https://man7.org/linux/man-pages/man2/getrusage.2.html)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct ResourceUsage {
    /// CPU time spent in user mode (`ru_utime`).
    pub user_time: Duration,
    /// CPU time spent in the kernel (`ru_stime`).
    pub system_time: Duration,
    /// The largest resident set size, in KiB (`ru_maxrss`).
    pub max_rss_kib: u64,
    /// Page faults served without I/O (`ru_minflt`).
    pub minor_faults: u64,
    /// Page faults that needed I/O (`ru_majflt`).
    pub major_faults: u64,
    /// Times the child gave up the CPU before its time slice ended, mostly
    /// to wait for something (`ru_nvcsw`).
    pub voluntary_context_switches: u64,
    /// Times the child was preempted (`ru_nivcsw`).
    pub involuntary_context_switches: u64,
    /// Reads from the file system that went to storage (`ru_inblock`).
    pub block_reads: u64,
    /// Writes to the file system that went to storage (`ru_oublock`).
    pub block_writes: u64,
}

impl ResourceUsage {
    /// Takes the fields Linux fills in from the kernel's `struct rusage`.
    pub(crate) fn from_raw(usage: &libc::rusage) -> ResourceUsage {
        ResourceUsage {
            user_time: duration(usage.ru_utime),
            system_time: duration(usage.ru_stime),
            max_rss_kib: count(usage.ru_maxrss),
            minor_faults: count(usage.ru_minflt),
            major_faults: count(usage.ru_majflt),
            voluntary_context_switches: count(usage.ru_nvcsw),
            involuntary_context_switches: count(usage.ru_nivcsw),
            block_reads: count(usage.ru_inblock),
            block_writes: count(usage.ru_oublock),
        }
    }
}

/// A `timeval` from the kernel: never negative.
fn duration(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

/// A counter from the kernel (a `long`): never negative.
fn count(value: libc::c_long) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
