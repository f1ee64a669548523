//! What the calling thread is, as the kernel's context rules see it: its
//! PID namespace level and `pid_max`, whether it is the init of its PID
//! namespace, whether an `unshare` changed its PID or time namespace for
//! children, and the kernel's version. Captured by the builder (see
//! `CloneBuilder::new`), so that `check()` reads nothing.
//!
//! The capture reads a few small /proc files into stack buffers and stats a
//! few namespace links (and, for a PID namespace for children that is not
//! the thread's own, asks it for its init with an nsfs ioctl): no allocation (std opens a short path through a
//! stack buffer), so a builder may be made in the forked child of a
//! multi-threaded process.

use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::raw;

/// The PID namespace the calling thread's children are made in, against its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PidForChildren {
    /// Its own: nothing changed it.
    Own,
    /// A new one from `unshare(CLONE_NEWPID)` that has no init yet: the next
    /// child becomes its PID 1 (/proc cannot name it until then: ENOENT).
    Unshared,
    /// Another one, with an init: an earlier `unshare` or a `setns`.
    Other,
    /// /proc cannot tell.
    Unknown,
}

/// What the context rules need to know of the caller, captured at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller {
    /// How many PID namespaces the thread is in (`NSpid` entries).
    pub(crate) pid_levels: Option<usize>,
    /// `/proc/sys/kernel/pid_max`: the limit of the caller's PID namespace
    /// (per namespace since Linux 6.14, global before).
    pub(crate) pid_max: Option<i32>,
    /// The thread is PID 1 of its PID namespace (the global init or a
    /// namespace's init, both `SIGNAL_UNKILLABLE` in the kernel).
    pub(crate) pid_ns_init: bool,
    pub(crate) pid_for_children: PidForChildren,
    /// `unshare(CLONE_NEWTIME)` made the time namespace for children differ
    /// from the thread's own.
    pub(crate) time_for_children_differs: bool,
    /// The running kernel's (major, minor), if its release can be read.
    pub(crate) kernel: Option<(u32, u32)>,
}

impl Caller {
    /// Reads what the calling thread is now. Cheap: about eight small
    /// system calls, the kernel version once per process.
    pub(crate) fn capture() -> Caller {
        Caller {
            pid_levels: pid_levels(),
            pid_max: read_small("/proc/sys/kernel/pid_max").and_then(|(buf, len)| parse_int(&buf[..len])),
            pid_ns_init: raw::getpid().as_raw() == 1,
            pid_for_children: pid_for_children(),
            time_for_children_differs: differs(
                "/proc/thread-self/ns/time",
                "/proc/thread-self/ns/time_for_children",
            ),
            kernel: kernel_version(),
        }
    }

    /// How many PIDs a child made without `CLONE_NEWPID` has (one per PID
    /// namespace level), if it can be known.
    pub(crate) fn child_pid_levels(&self) -> Option<usize> {
        match self.pid_for_children {
            PidForChildren::Own => self.pid_levels,
            // unshare makes the new namespace a child of the thread's own.
            PidForChildren::Unshared => self.pid_levels.map(|levels| levels + 1),
            PidForChildren::Other | PidForChildren::Unknown => None,
        }
    }

    /// The PID namespace for children is not the thread's own.
    pub(crate) fn pid_for_children_differs(&self) -> bool {
        matches!(
            self.pid_for_children,
            PidForChildren::Unshared | PidForChildren::Other
        )
    }

    /// Whether this kernel is older than `major.minor` (unknown: no).
    pub(crate) fn kernel_before(&self, major: u32, minor: u32) -> bool {
        self.kernel.is_some_and(|version| version < (major, minor))
    }
}

/// Up to 64 bytes of a small /proc file, read into a stack buffer.
fn read_small(path: &str) -> Option<([u8; 64], usize)> {
    let mut buf = [0; 64];
    let len = File::open(path).ok()?.read(&mut buf).ok()?;
    Some((buf, len))
}

fn parse_int(text: &[u8]) -> Option<i32> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

/// The `NSpid` entries of `/proc/thread-self/status`, read into a stack
/// buffer (the file is about 1.5 KiB; NSpid is in its first half).
fn pid_levels() -> Option<usize> {
    let mut buf = [0u8; 4096];
    let mut file = File::open("/proc/thread-self/status").ok()?;
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let text = std::str::from_utf8(&buf[..len]).ok()?;
    let nspid = text.lines().find_map(|line| line.strip_prefix("NSpid:"))?;
    Some(nspid.split_whitespace().count())
}

/// The namespace inode a link names (`stat` follows it to nsfs).
fn ns_inode(path: &str) -> Result<(u64, u64), ErrorKind> {
    fs::metadata(path)
        .map(|meta| (meta.dev(), meta.ino()))
        .map_err(|err| err.kind())
}

fn differs(own: &str, for_children: &str) -> bool {
    matches!((ns_inode(own), ns_inode(for_children)), (Ok(a), Ok(b)) if a != b)
}

fn pid_for_children() -> PidForChildren {
    match (
        ns_inode("/proc/thread-self/ns/pid"),
        ns_inode("/proc/thread-self/ns/pid_for_children"),
    ) {
        (Ok(own), Ok(children)) if own == children => PidForChildren::Own,
        // Linux 7.3 (unlike 5.10 and 6.18) names the namespace before it has
        // an init: ask it for its PID 1 (ESRCH: none yet).
        (Ok(_), Ok(_)) if !has_init("/proc/thread-self/ns/pid_for_children") => PidForChildren::Unshared,
        (Ok(_), Ok(_)) => PidForChildren::Other,
        // The kernel names no PID namespace for children without an init yet.
        (Ok(_), Err(ErrorKind::NotFound)) => PidForChildren::Unshared,
        _ => PidForChildren::Unknown,
    }
}

/// Whether the PID namespace the link names has an init, as far as the
/// kernel can tell (`NS_GET_TGID_FROM_PIDNS` of PID 1, Linux 6.10; an older
/// kernel cannot: yes).
fn has_init(link: &str) -> bool {
    use std::os::fd::AsFd;
    match File::open(link) {
        Ok(ns) => raw::pid_ns_translate(ns.as_fd(), 1) != Err(nix::errno::Errno::ESRCH),
        Err(_) => true,
    }
}

/// The kernel's (major, minor), read once from /proc and kept: 0 is
/// "not read yet", `u32::MAX` "unreadable".
pub(crate) fn kernel_version() -> Option<(u32, u32)> {
    static VERSION: AtomicU32 = AtomicU32::new(0);
    let mut packed = VERSION.load(Ordering::Relaxed);
    if packed == 0 {
        packed = read_small("/proc/sys/kernel/osrelease")
            .and_then(|(buf, len)| parse_release(&buf[..len]))
            .map_or(u32::MAX, |(major, minor)| (major << 16) | (minor & 0xffff));
        VERSION.store(packed, Ordering::Relaxed);
    }
    (packed != u32::MAX).then_some((packed >> 16, packed & 0xffff))
}

/// "6.18.44-fc" → (6, 18).
fn parse_release(text: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(text).ok()?;
    let mut parts = text.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_parse() {
        assert_eq!(parse_release(b"6.18.44-fc-v1252\n"), Some((6, 18)));
        assert_eq!(parse_release(b"5.10.0-30-amd64"), Some((5, 10)));
        assert_eq!(parse_release(b"7.3"), Some((7, 3)));
        assert_eq!(parse_release(b"junk"), None);
    }
}
