//! User namespace ID maps: [`IdMap`], [`Setgroups`], and the socket pair through
//! which a `CLONE_NEWUSER` child waits until its parent has written
//! `/proc/<pid>/uid_map`, `setgroups` and `gid_map`.
//!
//! The child side ([`wait_for_maps`]) runs right after a raw clone, so it
//! makes only async-signal-safe calls on raw descriptors: `close`, `read`.
//! The child never shares memory or the descriptor table with the parent
//! on this path ([`Rule::IdMapsWithVm`](crate::Rule::IdMapsWithVm),
//! [`Rule::IdMapsWithFiles`](crate::Rule::IdMapsWithFiles)), so `errno` is
//! its own.

// Unsafe is denied crate-wide; this file holds some: the child-side wait for its maps, with raw system calls.
#![allow(unsafe_code)]

use std::fmt::{self, Write as _};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// One line of a user namespace's `uid_map` or `gid_map`: IDs
/// `inside..inside+count` in the new namespace are IDs
/// `outside..outside+count` in the parent's.
///
/// # Examples
///
/// ```
/// use clonekit::IdMap;
/// // root inside is the caller's own uid outside
/// // SAFETY: getuid has no preconditions and cannot fail.
/// let map = IdMap::single(0, unsafe { libc::getuid() });
/// assert_eq!(map.count, 1);
/// ```
///
/// # References
/// - [user_namespaces(7)](https://man7.org/linux/man-pages/man7/user_namespaces.7.html)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdMap {
    /// The first ID inside the new namespace.
    pub inside: u32,
    /// The ID it stands for in the parent's namespace.
    pub outside: u32,
    /// How many consecutive IDs the line maps (at least 1).
    pub count: u32,
}

impl IdMap {
    /// Maps the single ID `inside` to `outside`.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::IdMap;
    /// // `const`: a map can be written down once.
    /// const ROOT_IS_NOBODY: IdMap = IdMap::single(0, 65534);
    /// assert_eq!(ROOT_IS_NOBODY, IdMap { inside: 0, outside: 65534, count: 1 });
    /// ```
    pub const fn single(inside: u32, outside: u32) -> IdMap {
        IdMap {
            inside,
            outside,
            count: 1,
        }
    }
}

/// What the parent writes to `/proc/<pid>/setgroups` before the `gid_map`
/// (user_namespaces(7): a process without `CAP_SETGID` in the parent
/// namespace may only write a `gid_map` once `setgroups` is `deny`).
///
/// # Examples
///
/// ```
/// use clonekit::{CloneBuilder, CloneFlags, Setgroups};
/// assert_eq!(Setgroups::default(), Setgroups::Auto); // `deny` only where needed
/// let mut builder = CloneBuilder::new();
/// builder.flags(CloneFlags::NEWUSER).setgroups(Setgroups::Deny);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Setgroups {
    /// Leave `setgroups` alone, unless the kernel refuses the `gid_map`
    /// with `EPERM` (the caller lacks `CAP_SETGID`): then write `deny` and
    /// write the `gid_map` again.
    #[default]
    Auto,
    /// Leave `setgroups` alone (`allow`, the kernel's default).
    Allow,
    /// Write `deny`: `setgroups(2)` is refused in the new namespace.
    Deny,
}

/// The maps a `CLONE_NEWUSER` child gets from its parent.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IdMaps<'a> {
    pub(crate) uid: Option<&'a [IdMap]>,
    pub(crate) gid: Option<&'a [IdMap]>,
    pub(crate) setgroups: Setgroups,
}

impl IdMaps<'_> {
    /// Whether anything must be written before the child goes on.
    pub(crate) fn any(&self) -> bool {
        self.uid.is_some() || self.gid.is_some() || self.setgroups == Setgroups::Deny
    }

    /// Writes the maps for the child `pid`, in the order the kernel needs:
    /// uid_map, setgroups, gid_map.
    ///
    /// Async-signal-safe (no allocation, no locks: the text is formatted on
    /// the stack and written with open/write/close), so a forked child of a
    /// multi-threaded program may create a mapped user namespace too.
    pub(crate) fn write(&self, pid: Pid) -> Result<()> {
        if let Some(maps) = self.uid {
            write_maps(pid, "uid_map", maps).map_err(|errno| refused(MapFile::Uid, errno))?;
        }
        if self.setgroups == Setgroups::Deny {
            deny_setgroups(pid)?;
        }
        if let Some(maps) = self.gid {
            let mut written = write_maps(pid, "gid_map", maps);
            // Without CAP_SETGID the kernel takes a gid_map only once
            // setgroups is denied; a refused write leaves the map unset, so
            // deny and try once more.
            if written == Err(Errno::EPERM) && self.setgroups == Setgroups::Auto {
                deny_setgroups(pid)?;
                written = write_maps(pid, "gid_map", maps);
            }
            written.map_err(|errno| refused(MapFile::Gid, errno))?;
        }
        Ok(())
    }
}

fn deny_setgroups(pid: Pid) -> Result<()> {
    match write_proc(pid, "setgroups", b"deny") {
        // Before Linux 3.19 there is no such file, and nothing to deny.
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(errno) => Err(refused(MapFile::Setgroups, errno)),
    }
}

/// The files the parent writes for a `CLONE_NEWUSER` child.
#[derive(Clone, Copy)]
enum MapFile {
    Uid,
    Gid,
    Setgroups,
}

/// The error for a refused write of `file`: the file, and for the errnos
/// that come from a rule of user_namespaces(7) rather than from the map's
/// text, the rule (a bare `EPERM` does not say what the caller may map).
fn refused(file: MapFile, errno: Errno) -> Error {
    Error::sys_detailed("write", refusal_detail(file, errno))(errno)
}

fn refusal_detail(file: MapFile, errno: Errno) -> &'static str {
    match (file, errno) {
        // A non-dumpable caller's children are non-dumpable too: their
        // /proc/<pid> files belong to root, and open(2) refuses them.
        (MapFile::Uid, Errno::EACCES) => {
            "/proc/<pid>/uid_map: the caller is not dumpable (prctl(PR_SET_DUMPABLE, 0), or it changed \
             its ids), so its child's /proc/<pid> files belong to root (proc(5))"
        }
        (MapFile::Gid, Errno::EACCES) => {
            "/proc/<pid>/gid_map: the caller is not dumpable (prctl(PR_SET_DUMPABLE, 0), or it changed \
             its ids), so its child's /proc/<pid> files belong to root (proc(5))"
        }
        (MapFile::Setgroups, Errno::EACCES) => {
            "/proc/<pid>/setgroups: the caller is not dumpable (prctl(PR_SET_DUMPABLE, 0), or it \
             changed its ids), so its child's /proc/<pid> files belong to root (proc(5))"
        }
        (MapFile::Uid, Errno::EPERM) => {
            "/proc/<pid>/uid_map: a process without CAP_SETUID over the parent user namespace may map \
             only its own uid, as one line (user_namespaces(7))"
        }
        (MapFile::Gid, Errno::EPERM) => {
            "/proc/<pid>/gid_map: a process without CAP_SETGID over the parent user namespace may map \
             only its own gid, as one line, and only once setgroups is \"deny\" (user_namespaces(7))"
        }
        (MapFile::Setgroups, Errno::EPERM) => {
            "/proc/<pid>/setgroups: it may be set only before the gid_map is written (user_namespaces(7))"
        }
        (MapFile::Uid, _) => "/proc/<pid>/uid_map",
        (MapFile::Gid, _) => "/proc/<pid>/gid_map",
        (MapFile::Setgroups, _) => "/proc/<pid>/setgroups",
    }
}

/// A fixed buffer on the stack that `write!` fills without allocating.
struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    fn new() -> Self {
        StackText { buf: [0; N], len: 0 }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self
            .len
            .checked_add(s.len())
            .filter(|&end| end <= N)
            .ok_or(fmt::Error)?;
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The most bytes a map file takes: 340 lines (the kernel's limit since
/// Linux 4.15) of three 10-digit numbers.
const MAP_TEXT_MAX: usize = 340 * 33;

/// Writes `maps` as one `inside outside count` line each.
fn write_maps(pid: Pid, file: &str, maps: &[IdMap]) -> std::result::Result<(), Errno> {
    let mut text = StackText::<MAP_TEXT_MAX>::new();
    for map in maps {
        // More lines than the kernel takes: it would answer EINVAL.
        writeln!(text, "{} {} {}", map.inside, map.outside, map.count).map_err(|_| Errno::EINVAL)?;
    }
    write_proc(pid, file, text.as_bytes())
}

/// Writes `text` to `/proc/<pid>/<file>` in one `write` (the kernel takes a
/// map file only whole, and only once).
fn write_proc(pid: Pid, file: &str, text: &[u8]) -> std::result::Result<(), Errno> {
    let mut path = StackText::<64>::new();
    write!(path, "/proc/{pid}/{file}\0").map_err(|_| Errno::ENAMETOOLONG)?;
    // SAFETY: `path` is NUL-terminated.
    let fd = unsafe { libc::open(path.as_bytes().as_ptr().cast(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: open returned a new descriptor that nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: a live descriptor and buffer.
    let n = unsafe { libc::write(fd.as_raw_fd(), text.as_ptr().cast(), text.len()) };
    match usize::try_from(n) {
        Ok(n) if n == text.len() => Ok(()),
        Ok(_) => Err(Errno::EIO),
        Err(_) => Err(Errno::last()),
    }
}

/// The socket pair a `CLONE_NEWUSER` child blocks on until its maps are
/// written; only the parent-to-child direction is used.
/// The parent writes one byte when they are; if the parent fails or dies,
/// the child sees end-of-file instead and exits with [`MAPS_FAILED`].
#[derive(Debug)]
pub(crate) struct MapSync {
    read: OwnedFd,
    write: OwnedFd,
}

/// The exit code of a child whose parent could not write its maps.
pub(crate) const MAPS_FAILED: i32 = 125;

impl MapSync {
    /// A new `O_CLOEXEC` stream socket pair (not a pipe: the parent sends
    /// with `MSG_NOSIGNAL`, so a child that died early is `EPIPE`, never a
    /// `SIGPIPE` that would kill the caller).
    pub(crate) fn new() -> Result<MapSync> {
        let mut fds = [-1; 2];
        let kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
        // SAFETY: fds is a live array of two ints.
        if unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) } != 0 {
            return Err(Error::Sys {
                call: "socketpair",
                errno: Errno::last(),
                detail: None,
            });
        }
        // SAFETY: socketpair returned two new descriptors that nobody else owns.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(MapSync { read, write })
    }

    /// The raw (read, write) ends, for a child that gets them by copy.
    pub(crate) fn raw(&self) -> (RawFd, RawFd) {
        (self.read.as_raw_fd(), self.write.as_raw_fd())
    }

    /// In the child: waits on its own copy of the socket pair (see [`wait_for_maps`]).
    pub(crate) fn child_wait(self) -> bool {
        let read = self.read.into_raw_fd();
        let write = self.write.into_raw_fd();
        // SAFETY: both are this process's own copies, owned by nobody else.
        unsafe { wait_for_maps(read, write) }
    }

    /// In the parent: writes the maps for `pid`, then lets the child go on
    /// (one byte) or, on failure, closes the socket so that it gives up.
    pub(crate) fn release(self, pid: Pid, maps: &IdMaps<'_>) -> Result<()> {
        let MapSync { read, write } = self;
        drop(read);
        maps.write(pid)?;
        let go = [1u8];
        // SAFETY: a live socket and a one-byte buffer.
        let n = unsafe { libc::send(write.as_raw_fd(), go.as_ptr().cast(), 1, libc::MSG_NOSIGNAL) };
        if n != 1 {
            return Err(Error::Sys {
                call: "send",
                errno: Errno::last(),
                detail: Some("the user namespace sync socket"),
            });
        }
        Ok(())
    }
}

/// In the child: closes `write` (so that the parent's death is seen as
/// end-of-file), blocks until the parent's byte arrives, then closes `read`.
/// Returns whether the parent wrote the maps. Async-signal-safe.
///
/// # Safety
///
/// `read` and `write` are the child's own copies of the [`MapSync`] sockets,
/// owned by nobody else in this process.
pub(crate) unsafe fn wait_for_maps(read: RawFd, write: RawFd) -> bool {
    // SAFETY: the caller gives us both descriptors.
    unsafe { libc::close(write) };
    let mut byte = 0u8;
    let got = loop {
        // SAFETY: a live descriptor and a one-byte stack buffer.
        let n = unsafe { libc::read(read, (&mut byte as *mut u8).cast(), 1) };
        if n >= 0 || Errno::last_raw() != libc::EINTR {
            break n;
        }
    };
    // SAFETY: as above.
    unsafe { libc::close(read) };
    got == 1
}
