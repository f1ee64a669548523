//! Reading a child's stdout and stderr to their ends, on the calling thread.
//!
//! Both must be read at once: a child that fills the pipe we are not reading
//! blocks, and never closes the one we are. Where std's `read2` does it, so
//! does this: both read ends non-blocking, `poll` says which has something,
//! read that until it would block, again until both are at end of file.
//! No second thread: creating one can fail (`RLIMIT_NPROC`, a seccomp
//! filter refusing clone3) where creating the child did not, and costs more
//! than the few system calls it would save.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};

use nix::errno::Errno;

use crate::error::{errno_of, Error, Result};
use crate::raw;

/// Reads `stdout` and `stderr` (either may be absent) to their ends and
/// returns what each held.
///
/// # Errors
///
/// `Sys { call: "read" | "poll" | "ioctl" }`. The files are closed either way.
pub(super) fn read_both(stdout: Option<File>, stderr: Option<File>) -> Result<(Vec<u8>, Vec<u8>)> {
    match (stdout, stderr) {
        (None, None) => Ok((Vec::new(), Vec::new())),
        (Some(out), None) => Ok((read_to_end(out)?, Vec::new())),
        (None, Some(err)) => Ok((Vec::new(), read_to_end(err)?)),
        (Some(out), Some(err)) => read_two(out, err),
    }
}

/// One stream alone: plain blocking reads, nothing to wait on besides it.
fn read_to_end(mut file: File) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).map_err(read_error)?;
    Ok(buf)
}

/// Both streams, polled.
fn read_two(out: File, err: File) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut streams = [Stream::new(out)?, Stream::new(err)?];
    while streams.iter().any(|s| s.open) {
        let mut fds = streams.each_ref().map(Stream::pollfd);
        match raw::poll(&mut fds, None) {
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(Error::sys("poll")(errno)),
            Ok(_) => {}
        }
        for (stream, fd) in streams.iter_mut().zip(fds) {
            // POLLIN, POLLHUP, POLLERR or POLLNVAL: a read tells which.
            if fd.revents != 0 {
                stream.read_available()?;
            }
        }
    }
    let [out, err] = streams.map(|s| s.buf);
    Ok((out, err))
}

/// A read end and what came out of it.
struct Stream {
    file: File,
    buf: Vec<u8>,
    /// Not yet at end of file.
    open: bool,
}

impl Stream {
    /// Takes `file` and makes its reads non-blocking. The file is ours to
    /// close when done, so the flag is not put back.
    fn new(file: File) -> Result<Stream> {
        raw::set_nonblocking(file.as_fd(), true).map_err(Error::sys("ioctl"))?;
        Ok(Stream {
            file,
            buf: Vec::new(),
            open: true,
        })
    }

    /// What `poll` is asked about this stream; a negative fd once it is at
    /// end of file, which poll skips.
    fn pollfd(&self) -> libc::pollfd {
        libc::pollfd {
            fd: if self.open { self.file.as_raw_fd() } else { -1 },
            events: libc::POLLIN,
            revents: 0,
        }
    }

    /// Reads until the pipe is empty (it would block) or at end of file.
    /// `read_to_end` keeps what it read before it stops, and retries EINTR.
    fn read_available(&mut self) -> Result<()> {
        match self.file.read_to_end(&mut self.buf) {
            Ok(_) => self.open = false,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(read_error(e)),
        }
        Ok(())
    }
}

fn read_error(e: io::Error) -> Error {
    Error::Sys {
        call: "read",
        errno: errno_of(&e),
        detail: None,
    }
}
