//! File descriptors: pipes, dup, fcntl, close, read, write, poll.

// Unsafe is denied crate-wide; this file holds some: system calls on raw fds and buffers.
#![allow(unsafe_code)]

use core::ffi::{c_int, c_uint};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::errno::Errno;

use super::arch::{syscall1, syscall2, syscall3};
use super::{fd_result, kernel_result, libc_result, timespec, unit};

/// `poll(fds, timeout)`—waits until at least one of `fds` is ready, or
/// `timeout` has passed (`None`: no limit), and returns how many entries
/// have `revents` set (0 on timeout). An entry whose `fd` is negative is
/// skipped. Issued as `ppoll` with no signal mask, the form every
/// architecture has.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use clonekit::raw;
/// let (read, write) = raw::pipe2(libc::O_CLOEXEC)?;
/// drop(write); // no writer left: the read end reports a hang-up
/// let mut fds = [libc::pollfd { fd: read.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
/// assert_eq!(raw::poll(&mut fds, None)?, 1);
/// assert_ne!(fds[0].revents & libc::POLLHUP, 0);
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
pub fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> Result<usize, Errno> {
    let ts = timeout.map(timespec);
    let ts_ptr = ts.as_ref().map_or(core::ptr::null(), core::ptr::from_ref);
    // SAFETY: fds is a live slice of pollfd, its length given with it;
    // ts_ptr is NULL or a live timespec; no signal mask (so no size).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_ppoll,
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            ts_ptr,
            core::ptr::null::<libc::sigset_t>(),
            0usize,
        )
    };
    libc_result(ret).map(|ready| ready as usize)
}

/// `ioctl(fd, FIONBIO, &on)`—sets or clears `O_NONBLOCK` on the open file
/// description `fd` refers to, leaving its other status flags as they are
/// (one call, where `fcntl` needs `F_GETFL` then `F_SETFL`).
///
/// # Caution
///
/// The flag belongs to the
/// open file description: every fd duplicated from it, in this process or
/// another, sees the change.
///
/// # Examples
///
/// ```
/// use std::os::fd::{AsFd, AsRawFd};
/// use clonekit::{raw, Errno};
/// let (read, _write) = raw::pipe2(libc::O_CLOEXEC)?;
/// raw::set_nonblocking(read.as_fd(), true)?;
/// let mut buf = [0u8; 1];
/// // An empty pipe with a writer: no data yet, and no waiting for it.
/// // SAFETY: `buf` is valid for 1 byte of writes; the fd is ours and open.
/// assert_eq!(unsafe { raw::read(read.as_raw_fd(), buf.as_mut_ptr(), 1) }, Err(Errno::EAGAIN));
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [ioctl(2)](https://man7.org/linux/man-pages/man2/ioctl.2.html),
///   [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html) (`O_NONBLOCK`)
pub fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> Result<(), Errno> {
    let on = c_int::from(on);
    // SAFETY: FIONBIO reads one int through the pointer, a live local.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_ioctl,
            fd.as_raw_fd(),
            libc::FIONBIO,
            &on as *const c_int,
        )
    };
    libc_result(ret).map(drop)
}

/// `dup3(old, new, flags)`—makes `new` a copy of `old` (closing what `new` was),
/// with `O_CLOEXEC` in `flags` or not. `old == new` is `EINVAL`.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// `new` must not be an fd that something else owns and still uses.
///
/// # Examples
///
/// ```
/// use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
/// use clonekit::raw;
/// let (read, _write) = raw::pipe2(libc::O_CLOEXEC)?;
/// // SAFETY: only duplicates our `read`; the new fd is ours and owned just below.
/// let high = unsafe { raw::dup_above(read.as_raw_fd(), 100)? };
/// // SAFETY: `high` is a fresh open fd that nothing else owns.
/// let _high = unsafe { OwnedFd::from_raw_fd(high) };
/// // Replace the copy with another copy of `read`, this time without O_CLOEXEC.
/// // SAFETY: `high` is ours (held by `_high`), so replacing it breaks nobody's fd.
/// assert_eq!(unsafe { raw::dup3(read.as_raw_fd(), high, 0)? }, high);
/// assert_eq!(raw::fcntl_getfd(high)? & libc::FD_CLOEXEC, 0);
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [dup3(2)](https://man7.org/linux/man-pages/man2/dup3.2.html)
pub unsafe fn dup3(old: RawFd, new: RawFd, flags: c_int) -> Result<RawFd, Errno> {
    // SAFETY: plain integers; the caller answers for `new`.
    fd_result(unsafe { syscall3(libc::SYS_dup3, old as usize, new as usize, flags as usize) })
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, min)`—a close-on-exec copy of `fd` at the
/// lowest free number not below `min`.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// `fd` is a descriptor the caller may use (it is taken by number, so no
/// type says so); the new fd is the caller's to close.
///
/// # Examples
///
/// ```
/// use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
/// use clonekit::raw;
/// let (read, _write) = raw::pipe2(0)?;
/// // SAFETY: only duplicates our `read`; the copy is ours and closed below.
/// let copy = unsafe { raw::dup_above(read.as_raw_fd(), 100)? };
/// assert!(copy >= 100);
/// // SAFETY: `copy` is a fresh open fd that nothing else owns.
/// drop(unsafe { OwnedFd::from_raw_fd(copy) });
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html)
pub unsafe fn dup_above(fd: RawFd, min: RawFd) -> Result<RawFd, Errno> {
    // SAFETY: plain integers.
    fd_result(unsafe {
        syscall3(
            libc::SYS_fcntl,
            fd as usize,
            libc::F_DUPFD_CLOEXEC as usize,
            min as usize,
        )
    })
}

/// `fcntl(fd, F_GETFD)`—the fd's flags (`FD_CLOEXEC`).
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use clonekit::raw;
/// let (read, _write) = raw::pipe2(libc::O_CLOEXEC)?;
/// assert_eq!(raw::fcntl_getfd(read.as_raw_fd())?, libc::FD_CLOEXEC);
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html)
pub fn fcntl_getfd(fd: RawFd) -> Result<c_int, Errno> {
    // SAFETY: plain integers.
    kernel_result(unsafe { syscall2(libc::SYS_fcntl, fd as usize, libc::F_GETFD as usize) })
        .map(|f| f as c_int)
}

/// `fcntl(fd, F_SETFD, flags)`—sets the fd's flags; `0` clears `FD_CLOEXEC`.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// `fd` is a descriptor the caller may change (taken by number, so no type
/// says so: changing an fd an `OwnedFd` elsewhere holds breaks I/O safety).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use clonekit::raw;
/// let (read, _write) = raw::pipe2(libc::O_CLOEXEC)?;
/// // SAFETY: only clears FD_CLOEXEC on our own open fd.
/// unsafe { raw::fcntl_setfd(read.as_raw_fd(), 0)? };
/// assert_eq!(raw::fcntl_getfd(read.as_raw_fd())?, 0);
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html)
pub unsafe fn fcntl_setfd(fd: RawFd, flags: c_int) -> Result<(), Errno> {
    // SAFETY: plain integers.
    unit(unsafe {
        syscall3(
            libc::SYS_fcntl,
            fd as usize,
            libc::F_SETFD as usize,
            flags as usize,
        )
    })
}

/// `close(fd)`.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// `fd` must not be owned by anything that still uses it.
///
/// # Examples
///
/// ```
/// use std::os::fd::IntoRawFd;
/// use clonekit::{raw, Errno};
/// let (read, _write) = raw::pipe2(0)?;
/// let fd = read.into_raw_fd();
/// // SAFETY: `fd` was released by into_raw_fd, so nothing else owns it.
/// unsafe { raw::close(fd)? };
/// // SAFETY: no other thread here can have reopened `fd`: this closes nothing of anyone's.
/// assert_eq!(unsafe { raw::close(fd) }, Err(Errno::EBADF));
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [close(2)](https://man7.org/linux/man-pages/man2/close.2.html)
pub unsafe fn close(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: the caller answers for the fd.
    unit(unsafe { syscall1(libc::SYS_close, fd as usize) })
}

/// `close_range(first, last, flags)`—closes (or with `CLOSE_RANGE_CLOEXEC`,
/// marks) every fd from `first` to `last` inclusive. `ENOSYS` before Linux 5.9.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// None of the fds in the range may be owned by anything that still uses it.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use clonekit::raw;
/// let (read, _write) = raw::pipe2(0)?;
/// let fd = read.as_raw_fd() as u32;
/// // Mark it close-on-exec rather than closing it (Linux 5.11).
/// // SAFETY: only marks our own `read` close-on-exec; nothing is closed.
/// match unsafe { raw::close_range(fd, fd, libc::CLOSE_RANGE_CLOEXEC) } {
///     Ok(()) => assert_eq!(raw::fcntl_getfd(fd as i32)?, libc::FD_CLOEXEC),
///     Err(errno) => println!("close_range: {errno} on this kernel"),
/// }
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [close_range(2)](https://man7.org/linux/man-pages/man2/close_range.2.html)
pub unsafe fn close_range(first: c_uint, last: c_uint, flags: c_uint) -> Result<(), Errno> {
    // SAFETY: the caller answers for the fds.
    unit(unsafe {
        syscall3(
            libc::SYS_close_range,
            first as usize,
            last as usize,
            flags as usize,
        )
    })
}

/// `read(fd, buf, len)`—returns how many bytes were read (0 at end of file).
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// `buf` is valid for `len` bytes of writes.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use clonekit::raw;
/// let (read, write) = raw::pipe2(0)?;
/// // SAFETY: the literal is valid for 2 bytes of reads; the fd is ours and open.
/// assert_eq!(unsafe { raw::write(write.as_raw_fd(), b"hi".as_ptr(), 2)? }, 2);
/// let mut buf = [0u8; 8];
/// // SAFETY: `buf` is valid for `buf.len()` bytes of writes; the fd is ours and open.
/// assert_eq!(unsafe { raw::read(read.as_raw_fd(), buf.as_mut_ptr(), buf.len())? }, 2);
/// assert_eq!(&buf[..2], b"hi");
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [read(2)](https://man7.org/linux/man-pages/man2/read.2.html)
pub unsafe fn read(fd: RawFd, buf: *mut u8, len: usize) -> Result<usize, Errno> {
    // SAFETY: the caller guarantees the buffer.
    kernel_result(unsafe { syscall3(libc::SYS_read, fd as usize, buf as usize, len) }).map(|n| n as usize)
}

/// `write(fd, buf, len)`—returns how many bytes were written.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Safety
///
/// `buf` is valid for `len` bytes of reads.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use clonekit::{raw, Errno};
/// let (read, write) = raw::pipe2(0)?;
/// drop(read);
/// // No reader left: EPIPE (SIGPIPE is ignored by Rust programs).
/// // SAFETY: the literal is valid for 1 byte of reads; the fd is ours and open.
/// assert_eq!(unsafe { raw::write(write.as_raw_fd(), b"x".as_ptr(), 1) }, Err(Errno::EPIPE));
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [write(2)](https://man7.org/linux/man-pages/man2/write.2.html)
pub unsafe fn write(fd: RawFd, buf: *const u8, len: usize) -> Result<usize, Errno> {
    // SAFETY: the caller guarantees the buffer.
    kernel_result(unsafe { syscall3(libc::SYS_write, fd as usize, buf as usize, len) }).map(|n| n as usize)
}

/// `pipe2(flags)`—a new pipe: `(read end, write end)`.
///
/// Errno-free: a `CLONE_VM` child that shares the caller's TLS may make
/// this call (see [the raw layer](crate::raw)).
///
/// # Examples
///
/// ```
/// let (read, write) = clonekit::raw::pipe2(libc::O_CLOEXEC)?;
/// # let _ = (read, write);
/// # Ok::<(), clonekit::Errno>(())
/// ```
///
/// # References
/// - [pipe2(2)](https://man7.org/linux/man-pages/man2/pipe2.2.html)
pub fn pipe2(flags: c_int) -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds: [c_int; 2] = [-1, -1];
    // SAFETY: fds is a live array of two ints.
    kernel_result(unsafe { syscall2(libc::SYS_pipe2, fds.as_mut_ptr() as usize, flags as usize) })?;
    // SAFETY: the kernel just opened both; nobody else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
