//! What the kernel-facing tests share: a forked helper process with a bounded
//! wait, a page of memory shared with it, bounded reaping of a sibling, and
//! the lock that serialises the tests of one binary (they fork and create
//! descriptors).
//!
//! A helper is forked from the multi-threaded test harness, so the closure it
//! runs may only do async-signal-safe work: raw system calls, no allocation,
//! no locks, no assertions. It reports through its exit code and the shared
//! page only.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::ffi::c_void;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::AtomicI32;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use clonekit::{raw, Child, Errno, Forked, Pid, Signal};

/// How long any child of a test may take before it is killed.
pub const DEADLINE: Duration = Duration::from_secs(20);

static SERIAL: Mutex<()> = Mutex::new(());

/// Serialises the tests of one binary: each forks, and most create
/// descriptors, which a concurrent fork would copy.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f` in a forked helper process, which exits with what `f` returns;
/// waits for it at most [`DEADLINE`], then kills it.
///
/// `f` runs in a child of a multi-threaded process: async-signal-safe work only.
pub fn in_helper(f: impl FnOnce() -> i32) -> ExitStatus {
    // SAFETY: the child only runs `f`, which the caller keeps async-signal-safe,
    // then exits without returning into the harness.
    match unsafe { clonekit::fork() }.expect("fork a helper") {
        Forked::Child => {
            let code = f();
            // SAFETY: the helper ends here; nothing of it is needed afterwards.
            unsafe { raw::exit_group(code) }
        }
        Forked::Parent(mut child) => wait_bounded(&mut child),
    }
}

/// The exit code of a helper that must have exited normally.
pub fn code_of(status: ExitStatus) -> i32 {
    match status.code() {
        Some(code) => code,
        None => panic!("the helper did not exit normally: {status:?}"),
    }
}

/// Waits for `child` at most [`DEADLINE`]; kills it with SIGKILL if it is not
/// done by then.
pub fn wait_bounded(child: &mut Child<'_>) -> ExitStatus {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            child
                .kill(Signal::SIGKILL)
                .expect("kill a child past its deadline");
            let status = child.wait().expect("wait for a killed child");
            panic!("child {} did not finish in {DEADLINE:?}: {status:?}", child.pid());
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Reaps `pid`, a child of this process created by someone else (a helper's
/// `CLONE_PARENT` sibling), at most [`DEADLINE`]; `options` are wait4's
/// (`__WALL` finds it whatever its exit signal). `Err(ECHILD)` if `options`
/// do not match it.
pub fn reap_bounded(pid: Pid, options: libc::c_int) -> Result<ExitStatus, Errno> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        // SAFETY: `pid` is our child and nobody else waits for it.
        match unsafe { raw::wait4(pid, options | libc::WNOHANG) } {
            Ok(Some(status)) => return Ok(ExitStatus::from_raw(status)),
            Ok(None) => {}
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(errno),
        }
        if Instant::now() > deadline {
            // SAFETY: plain system calls on our own unreaped child.
            unsafe {
                let _ = raw::kill(pid, Signal::SIGKILL);
                let _ = raw::wait4(pid, libc::__WALL);
            }
            panic!("child {pid} did not finish in {DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// One page of `MAP_SHARED` anonymous memory: what a helper (or its child)
/// writes there, the test sees.
#[derive(Debug)]
pub struct SharedPage {
    words: *mut AtomicI32,
}

/// How many words a [`SharedPage`] holds.
const WORDS: usize = 1024;

impl SharedPage {
    /// Maps a zeroed page.
    pub fn new() -> SharedPage {
        // SAFETY: a fresh anonymous mapping; no memory of ours is touched.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                WORDS * 4,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED, "mmap a shared page");
        SharedPage { words: ptr.cast() }
    }

    /// Word `i` of the page.
    pub fn word(&self, i: usize) -> &AtomicI32 {
        assert!(i < WORDS);
        // SAFETY: the page is mapped for our life, zeroed (a valid AtomicI32)
        // and only ever accessed atomically.
        unsafe { &*self.words.add(i) }
    }

    /// Word `i` as the kernel wants a `pid_t *` or `int *`, in a `u64` field.
    pub fn addr(&self, i: usize) -> u64 {
        self.word(i).as_ptr() as usize as u64
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and nothing borrows it past `self`.
        unsafe { libc::munmap(self.words.cast::<c_void>(), WORDS * 4) };
    }
}

/// A child entry that ends the new task at once (`exit`, not `exit_group`:
/// a `CLONE_THREAD` child must not take its helper down with it).
pub extern "C" fn exit_at_once(_: *mut c_void) -> ! {
    // SAFETY: the new task holds nothing anyone borrows.
    unsafe { raw::exit(0) }
}
