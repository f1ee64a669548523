//! Futexes: the wait and wake a CLEARTID join needs.

// Unsafe is denied crate-wide; this file holds some: the futex system call.
#![allow(unsafe_code)]

use std::sync::atomic::AtomicI32;
use std::time::Duration;

use nix::errno::Errno;

use super::{libc_result, timespec};

/// `futex(FUTEX_WAIT)`—sleeps while `*word == expected`, at most `timeout`.
/// Not private: the kernel's CLEARTID wake-up is a shared futex wake.
///
/// Returns `Ok(())` when woken, `EAGAIN` when the word already differed,
/// `ETIMEDOUT`, or `EINTR`.
///
/// # References
/// - [futex(2)](https://man7.org/linux/man-pages/man2/futex.2.html)
pub fn futex_wait(word: &AtomicI32, expected: i32, timeout: Option<Duration>) -> Result<(), Errno> {
    let ts = timeout.map(timespec);
    let ts_ptr = ts.as_ref().map_or(core::ptr::null(), core::ptr::from_ref);
    // SAFETY: word is a live aligned i32; ts_ptr is NULL or a live timespec.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            ts_ptr,
            0usize,
            0u32,
        )
    };
    libc_result(ret).map(drop)
}

/// `futex(FUTEX_WAKE)`—wakes up to `count` waiters on `word`.
///
/// # References
/// - [futex(2)](https://man7.org/linux/man-pages/man2/futex.2.html)
pub fn futex_wake(word: &AtomicI32, count: i32) -> Result<usize, Errno> {
    // SAFETY: word is a live aligned i32.
    let ret = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, count) };
    libc_result(ret).map(|n| n as usize)
}
