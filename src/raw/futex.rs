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
/// # Examples
///
/// ```
/// use std::sync::atomic::AtomicI32;
/// use std::time::Duration;
/// use clonekit::{raw, Errno};
/// let word = AtomicI32::new(0);
/// // The word is not 1: no sleep at all.
/// assert_eq!(raw::futex_wait(&word, 1, None), Err(Errno::EAGAIN));
/// // The word is 0 and nobody wakes us: the time runs out.
/// let nap = Some(Duration::from_millis(1));
/// assert!(matches!(raw::futex_wait(&word, 0, nap), Err(Errno::ETIMEDOUT | Errno::EINTR)));
/// ```
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
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicI32, Ordering};
/// use std::time::Duration;
/// use clonekit::raw;
/// let ready = AtomicI32::new(0);
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         while ready.load(Ordering::Acquire) == 0 {
///             // A timeout, so that a wake-up sent before we slept is not waited for forever.
///             let _ = raw::futex_wait(&ready, 0, Some(Duration::from_millis(100)));
///         }
///     });
///     ready.store(1, Ordering::Release);
///     raw::futex_wake(&ready, i32::MAX).expect("a live word");
/// });
/// ```
///
/// # References
/// - [futex(2)](https://man7.org/linux/man-pages/man2/futex.2.html)
pub fn futex_wake(word: &AtomicI32, count: i32) -> Result<usize, Errno> {
    // SAFETY: word is a live aligned i32.
    let ret = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, count) };
    libc_result(ret).map(|n| n as usize)
}
