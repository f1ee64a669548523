//! A child made by `CloneBuilder::fork` that talks to the test over two
//! pipes, with every wait bounded by [`DEADLINE`]; and the async-signal-safe
//! reads and id changes such a child makes.
//!
//! The child side ([`ChildIo`]) is async-signal-safe: raw `read`/`write` on
//! descriptors prepared before the fork, no allocation. Messages are length
//! prefixed and read by count, never to end-of-file: other tests' children,
//! forked concurrently, may hold copies of these pipes.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitStatus;
use std::time::Instant;

use clonekit::{raw, Child, CloneBuilder, Forked};

use super::fork::wait_bounded;
use super::DEADLINE;

/// An `O_CLOEXEC` pipe: (read, write).
pub fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [-1; 2];
    // SAFETY: fds is a live array of two ints.
    assert_eq!(
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) },
        0,
        "pipe2"
    );
    // SAFETY: two new descriptors, ours alone.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// The child's ends: `send` to the parent, `wait_go` for the parent's byte.
#[derive(Clone, Copy)]
pub struct ChildIo {
    to_parent: RawFd,
    from_parent: RawFd,
}

impl ChildIo {
    /// Sends one message (a 4-byte length, then the bytes). Async-signal-safe.
    pub fn send(&self, bytes: &[u8]) -> bool {
        let len = (bytes.len() as u32).to_ne_bytes();
        write_all(self.to_parent, &len) && write_all(self.to_parent, bytes)
    }

    /// Blocks until the parent says go. Async-signal-safe.
    pub fn wait_go(&self) -> bool {
        let mut byte = 0u8;
        // SAFETY: a live descriptor and a one-byte buffer.
        unsafe { libc::read(self.from_parent, (&mut byte as *mut u8).cast(), 1) == 1 }
    }
}

fn write_all(fd: RawFd, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: a live descriptor and buffer.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}

/// The parent's side of a running child.
pub struct Running<'a> {
    pub child: Child<'a>,
    from_child: OwnedFd,
    to_child: OwnedFd,
}

/// Forks with `builder`; the child runs `body` and exits with its value.
///
/// # Safety
///
/// `body` is async-signal-safe (it runs in a forked child of a
/// multi-threaded test harness).
pub unsafe fn fork_with<'a>(
    builder: &mut CloneBuilder<'a>,
    body: impl FnOnce(ChildIo) -> i32,
) -> clonekit::Result<Running<'a>> {
    let (from_child, to_parent) = pipe();
    let (from_parent, to_child) = pipe();
    let io = ChildIo {
        to_parent: to_parent.as_raw_fd(),
        from_parent: from_parent.as_raw_fd(),
    };
    // SAFETY: the child runs only `body` (async-signal-safe by contract).
    match unsafe { builder.fork()? } {
        Forked::Child => {
            let code = body(io);
            // SAFETY: the child ends here without unwinding into the harness.
            unsafe { raw::exit_group(code) }
        }
        Forked::Parent(child) => Ok(Running {
            child,
            from_child,
            to_child,
        }),
    }
}

impl Running<'_> {
    /// Receives one message, or `None` if the child sent none within [`DEADLINE`].
    pub fn recv(&mut self) -> Option<Vec<u8>> {
        let deadline = Instant::now() + DEADLINE;
        let len = read_exact(self.from_child.as_raw_fd(), 4, deadline)?;
        let len = u32::from_ne_bytes(len.try_into().unwrap()) as usize;
        read_exact(self.from_child.as_raw_fd(), len, deadline)
    }

    /// Lets the child go on past `wait_go`.
    pub fn go(&self) {
        assert!(write_all(self.to_child.as_raw_fd(), &[1]), "write go");
    }

    /// Waits for the child: [`wait_bounded`].
    pub fn finish(mut self) -> ExitStatus {
        wait_bounded(&mut self.child)
    }
}

fn read_exact(fd: RawFd, len: usize, deadline: Instant) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut got = 0;
    while got < len {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if ready <= 0 {
            return None;
        }
        // SAFETY: the buffer's unfilled tail is live and writable.
        let n = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), len - got) };
        if n <= 0 {
            return None;
        }
        got += n as usize;
    }
    Some(buf)
}

/// The first `len` bytes of a NUL-terminated buffer.
pub fn c_len(buf: &[u8]) -> usize {
    buf.iter().position(|&b| b == 0).unwrap_or(buf.len())
}

/// Reads a file into `buf` with raw open/read (async-signal-safe); the byte
/// count, or 0 on failure. `path` must be NUL-terminated.
pub fn read_raw(path: &[u8], buf: &mut [u8]) -> usize {
    if !path.ends_with(b"\0") {
        return 0;
    }
    // SAFETY: NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return 0;
    }
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: a live descriptor and the buffer's tail.
        let n = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), buf.len() - got) };
        if n <= 0 {
            break;
        }
        got += n as usize;
    }
    // SAFETY: our descriptor.
    unsafe { libc::close(fd) };
    got
}

/// The inode of a namespace link (`/proc/self/ns/<kind>`), by raw stat.
/// `path` must be NUL-terminated. 0 on failure. Async-signal-safe.
pub fn ns_inode(path: &[u8]) -> u64 {
    if !path.ends_with(b"\0") {
        return 0;
    }
    // SAFETY: stat is plain old data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: NUL-terminated path, live stat buffer.
    if unsafe { libc::stat(path.as_ptr().cast(), &mut st) } == 0 {
        st.st_ino
    } else {
        0
    }
}

/// The uid and gid of `nobody`.
pub const NOBODY: u32 = 65534;

/// Makes the calling (forked) process `nobody`, which clears its
/// capabilities; raw system calls only, so async-signal-safe.
pub fn become_nobody() -> bool {
    raw::setresgid(NOBODY, NOBODY, NOBODY).is_ok() && raw::setresuid(NOBODY, NOBODY, NOBODY).is_ok()
}
