//! What a child's stdin, stdout and stderr are connected to: [`Stdio`] as
//! users set it, and the fds one spawn opens for it.

// Unsafe is denied crate-wide; this file holds some: `FromRawFd`, whose
// caller promises the fd is theirs to give.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout};

use super::plan::STDIO_SLOTS;
use crate::error::{errno_of, Error, Result};
use crate::raw;

/// What a child's stdin, stdout or stderr is connected to, made as
/// `std::process::Stdio` is ([`piped`](Stdio::piped), [`null`](Stdio::null),
/// [`inherit`](Stdio::inherit), and `From` a file, an fd, or another
/// child's pipe end), or named by its variant.
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Stdio};
/// let out = Exec::new("echo").arg("hi").stdout(Stdio::piped()).output()?;
/// assert_eq!(out.stdout, b"hi\n");
/// # Ok::<(), clonekit::Error>(())
/// ```
#[derive(Debug)]
pub enum Stdio {
    /// The parent's own fd of that number (the default for
    /// [`spawn`](super::Exec::spawn) and [`status`](super::Exec::status)).
    Inherit,
    /// `/dev/null`, opened for each spawn (read-only for stdin, write-only
    /// for stdout and stderr).
    Null,
    /// A new pipe for each spawn; the parent's end is in [`ExecChild`](super::ExecChild).
    Piped,
    /// This fd (kept by the `Exec`, so usable for every spawn).
    Fd(OwnedFd),
    /// The parent's stdout (fd 1) as it is at each spawn: what
    /// `From<io::Stdout>` makes, as std's does.
    ParentStdout,
    /// The parent's stderr (fd 2) as it is at each spawn: what
    /// `From<io::Stderr>` makes.
    ParentStderr,
}

impl Stdio {
    /// A new pipe for each spawn ([`Stdio::Piped`]); the parent's end is in
    /// [`ExecChild`](super::ExecChild)'s `stdin`, `stdout` or `stderr`.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Stdio};
    /// let child = Exec::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    /// assert_eq!(child.wait_with_output()?.stdout, b"hi\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn piped() -> Stdio {
        Stdio::Piped
    }

    /// `/dev/null` ([`Stdio::Null`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Stdio};
    /// let out = Exec::new("cat").stdin(Stdio::null()).output()?;
    /// assert!(out.stdout.is_empty());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn null() -> Stdio {
        Stdio::Null
    }

    /// The parent's own fd ([`Stdio::Inherit`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Stdio};
    /// assert!(Exec::new("true").stdout(Stdio::inherit()).status()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn inherit() -> Stdio {
        Stdio::Inherit
    }

    /// Whether this makes a new pipe for the child ([`Stdio::Piped`]), as
    /// `std::process::Stdio::makes_pipe`.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::Stdio;
    /// assert!(Stdio::piped().makes_pipe());
    /// assert!(!Stdio::null().makes_pipe());
    /// ```
    pub fn makes_pipe(&self) -> bool {
        matches!(self, Stdio::Piped)
    }
}

/// An fd taken over as [`From<OwnedFd>`](#impl-From<OwnedFd>-for-Stdio)
/// does, as std's `FromRawFd for Stdio`.
///
/// # Examples
///
/// ```
/// use std::os::fd::{FromRawFd, IntoRawFd};
/// use clonekit::{Exec, Stdio};
/// let null = std::fs::File::open("/dev/null")?.into_raw_fd();
/// // SAFETY: `null` is an open fd that nothing else owns.
/// let stdin = unsafe { Stdio::from_raw_fd(null) };
/// assert!(Exec::new("cat").stdin(stdin).status()?.success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl FromRawFd for Stdio {
    /// # Safety
    ///
    /// `fd` must be open and owned by the caller, who gives it up: the
    /// `Stdio` closes it (as [`OwnedFd::from_raw_fd`]).
    unsafe fn from_raw_fd(fd: RawFd) -> Stdio {
        // SAFETY: the caller gives us `fd`, open and owned (see above).
        Stdio::Fd(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

/// An fd: the child gets a copy of it ([`Stdio::Fd`]).
///
/// # Examples
///
/// ```
/// use std::os::fd::OwnedFd;
/// use clonekit::{Exec, Stdio};
/// let null: OwnedFd = std::fs::File::open("/dev/null")?.into();
/// assert!(Exec::new("cat").stdin(Stdio::from(null)).status()?.success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl From<OwnedFd> for Stdio {
    fn from(fd: OwnedFd) -> Stdio {
        Stdio::Fd(fd)
    }
}

/// An open file: the child gets a copy of its fd ([`Stdio::Fd`]).
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Stdio};
/// let sink = std::fs::File::create("/dev/null")?;
/// assert!(Exec::new("echo").arg("unseen").stdout(sink).status()?.success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl From<File> for Stdio {
    fn from(file: File) -> Stdio {
        Stdio::Fd(file.into())
    }
}

/// Another child's stdin: what this child writes goes to that one.
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Stdio};
/// let mut cat = Exec::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
/// let mut echo = Exec::new("echo").arg("hi").stdout(Stdio::from(cat.stdin.take().unwrap())).spawn()?;
/// echo.wait()?;
/// assert_eq!(cat.wait_with_output()?.stdout, b"hi\n");
/// # Ok::<(), clonekit::Error>(())
/// ```
impl From<ChildStdin> for Stdio {
    fn from(stdin: ChildStdin) -> Stdio {
        Stdio::Fd(stdin.into())
    }
}

/// Another child's stdout: this child reads what that one writes.
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Stdio};
/// let mut echo = Exec::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
/// let out = Exec::new("cat").stdin(Stdio::from(echo.stdout.take().unwrap())).output()?;
/// echo.wait()?;
/// assert_eq!(out.stdout, b"hi\n");
/// # Ok::<(), clonekit::Error>(())
/// ```
impl From<ChildStdout> for Stdio {
    fn from(stdout: ChildStdout) -> Stdio {
        Stdio::Fd(stdout.into())
    }
}

/// Another child's stderr: this child reads what that one writes there.
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Stdio};
/// let mut noisy = Exec::new("sh").args(["-c", "echo oops >&2"]).stderr(Stdio::piped()).spawn()?;
/// let out = Exec::new("cat").stdin(Stdio::from(noisy.stderr.take().unwrap())).output()?;
/// noisy.wait()?;
/// assert_eq!(out.stdout, b"oops\n");
/// # Ok::<(), clonekit::Error>(())
/// ```
impl From<ChildStderr> for Stdio {
    fn from(stderr: ChildStderr) -> Stdio {
        Stdio::Fd(stderr.into())
    }
}

/// The parent's stdout: the child writes where the parent's fd 1 goes at
/// spawn time, as std's `From<io::Stdout> for Stdio`.
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Stdio};
/// // The child's stderr goes to the parent's stdout.
/// let status = Exec::new("sh").args(["-c", "echo to-stdout >&2"]).stderr(std::io::stdout()).status()?;
/// assert!(status.success());
/// # Ok::<(), clonekit::Error>(())
/// ```
impl From<io::Stdout> for Stdio {
    fn from(_: io::Stdout) -> Stdio {
        Stdio::ParentStdout
    }
}

/// The parent's stderr, as std's `From<io::Stderr> for Stdio`.
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Stdio};
/// // The child's stdout goes to the parent's stderr.
/// let status = Exec::new("echo").arg("to-stderr").stdout(std::io::stderr()).status()?;
/// assert!(status.success());
/// # Ok::<(), clonekit::Error>(())
/// ```
impl From<io::Stderr> for Stdio {
    fn from(_: io::Stderr) -> Stdio {
        Stdio::ParentStderr
    }
}

/// The fd a slot gets from the parent's own `fd`: none to move (-1) when
/// it is that slot's own number.
fn parent_fd(slot: usize, fd: RawFd) -> RawFd {
    match slot == fd as usize {
        true => -1,
        false => fd,
    }
}

/// What a stdio slot that was not set becomes.
#[derive(Debug, Clone, Copy)]
pub(super) enum StdioDefault {
    Inherit,
    Null,
    Piped,
}

/// The fds of one spawn's stdio: the parent's ends of pipes, and what the
/// child gets (closed in the parent once the child has its copies).
pub(super) struct StdioEnds {
    pub(super) parent: [Option<File>; STDIO_SLOTS],
    pub(super) child: [Option<OwnedFd>; STDIO_SLOTS],
    pub(super) sources: [RawFd; STDIO_SLOTS],
}

impl StdioEnds {
    pub(super) fn open(
        stdio: &[Option<Stdio>; STDIO_SLOTS],
        defaults: [StdioDefault; STDIO_SLOTS],
    ) -> Result<StdioEnds> {
        let mut ends = StdioEnds {
            parent: [None, None, None],
            child: [None, None, None],
            sources: [-1; STDIO_SLOTS],
        };
        for (slot, (set, default)) in stdio.iter().zip(defaults).enumerate() {
            let reading = slot == 0;
            let source = match (set, default) {
                (Some(Stdio::Fd(fd)), _) => fd.as_raw_fd(),
                (Some(Stdio::Inherit), _) | (None, StdioDefault::Inherit) => -1,
                (Some(Stdio::ParentStdout), _) => parent_fd(slot, 1),
                (Some(Stdio::ParentStderr), _) => parent_fd(slot, 2),
                (Some(Stdio::Null), _) | (None, StdioDefault::Null) => {
                    let null = OpenOptions::new()
                        .read(reading)
                        .write(!reading)
                        .open("/dev/null")
                        .map_err(|e| Error::Sys {
                            call: "open",
                            errno: errno_of(&e),
                            detail: None,
                        })?;
                    ends.keep_child(slot, null.into())
                }
                (Some(Stdio::Piped), _) | (None, StdioDefault::Piped) => {
                    let (read, write) = raw::pipe2(libc::O_CLOEXEC).map_err(Error::sys("pipe2"))?;
                    let (ours, theirs) = if reading { (write, read) } else { (read, write) };
                    ends.parent[slot] = Some(ours.into());
                    ends.keep_child(slot, theirs)
                }
            };
            ends.sources[slot] = source;
        }
        Ok(ends)
    }

    fn keep_child(&mut self, slot: usize, fd: OwnedFd) -> RawFd {
        let raw = fd.as_raw_fd();
        self.child[slot] = Some(fd);
        raw
    }

    pub(super) fn child_sources(&self) -> [RawFd; STDIO_SLOTS] {
        self.sources
    }
}
