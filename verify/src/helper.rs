//! The sandbox every check runs in: a forked helper process, a page of
//! shared memory it reports through, and deadlines on everything that waits.
//!
//! The caller may be a multi-threaded program (a test harness), so the helper
//! only does async-signal-safe work: raw system calls, atomics, no allocation,
//! no locks, no printing. Its report is a [`ReportPage`] of words plus a short
//! message, in a `MAP_SHARED` mapping that the helper and its own children
//! share with the caller whatever the clone flags say.

use std::fmt::{self, Write as _};
use std::fs::File;
use std::os::fd::FromRawFd;
use std::os::unix::process::ExitStatusExt;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clonekit::{raw, Child, CloneBuilder, Error, Forked};
use memmap2::{MmapMut, MmapOptions};
use nix::errno::Errno;
use nix::sys::signal::Signal;

/// How long anything in a check may take before it is killed: far longer
/// than any check needs, short enough that a hang is reported, not suffered.
pub(crate) const DEADLINE: Duration = Duration::from_secs(10);

/// How long a helper may take: its own waits are bounded by [`DEADLINE`]
/// each, and it must have the time to report that one ran out.
const HELPER_DEADLINE: Duration = Duration::from_secs(30);

/// What an observation says when the child never reported.
pub(crate) const NOT_RUN: &str = "the child did not run";

/// A page value for a yes/no fact: 1 no, 2 yes (0 stays "not reached").
pub(crate) fn yes_no(yes: bool) -> i64 {
    if yes {
        2
    } else {
        1
    }
}

/// Number of report words on a [`ReportPage`].
const WORDS: usize = 32;
/// Longest message a helper can leave.
const MESSAGE: usize = 160;

/// Helper exit codes: done, stopped for a reason that is a skip, failed,
/// panicked.
const DONE: i32 = 0;
const SKIPPED: i32 = 2;
const FAILED: i32 = 3;
const PANICKED: i32 = 4;

#[repr(C)]
struct Page {
    words: [AtomicI64; WORDS],
    len: AtomicUsize,
    text: [AtomicU8; MESSAGE],
}

/// Shared memory for reports: `MAP_SHARED` over a memfd, so writes from the
/// helper and from any of its children reach the caller, with or without
/// `CLONE_VM`.
pub(crate) struct ReportPage {
    map: MmapMut,
}

impl ReportPage {
    fn new() -> Result<ReportPage, NoVerdict> {
        // SAFETY: a NUL-terminated name and valid flags.
        let fd = unsafe { libc::memfd_create(c"clonekit-verify".as_ptr(), libc::MFD_CLOEXEC) };
        let fd = Errno::result(fd).map_err(|e| NoVerdict::Fail(format!("memfd_create: {e}")))?;
        // SAFETY: a new descriptor nobody else owns.
        let file = unsafe { File::from_raw_fd(fd) };
        let len = std::mem::size_of::<Page>() as u64;
        file.set_len(len)
            .map_err(|e| NoVerdict::Fail(format!("ftruncate: {e}")))?;
        // SAFETY: the memfd is ours alone and never resized while mapped.
        let map = unsafe { MmapOptions::new().len(len as usize).map_mut(&file) }
            .map_err(|e| NoVerdict::Fail(format!("mmap: {e}")))?;
        Ok(ReportPage { map })
    }

    fn page(&self) -> &Page {
        // SAFETY: the mapping is page aligned, as long as a Page, zero-filled
        // (a valid Page: atomics of 0) and only ever accessed atomically.
        unsafe { &*self.map.as_ptr().cast::<Page>() }
    }

    /// Word `i`.
    pub(crate) fn get(&self, i: usize) -> i64 {
        self.page().words[i].load(Ordering::SeqCst)
    }

    /// Sets word `i`.
    pub(crate) fn set(&self, i: usize, value: i64) {
        self.page().words[i].store(value, Ordering::SeqCst);
    }

    /// Waits (sleeping 1 ms at a time) until word `i` is not 0, at most
    /// [`DEADLINE`]; returns its value, or 0 on timeout.
    pub(crate) fn await_set(&self, i: usize) -> i64 {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let value = self.get(i);
            if value != 0 || Instant::now() > deadline {
                return value;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn message(&self) -> String {
        let page = self.page();
        let len = page.len.load(Ordering::SeqCst).min(MESSAGE);
        let bytes: Vec<u8> = page.text[..len]
            .iter()
            .map(|b| b.load(Ordering::SeqCst))
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Writes a message into the page without allocating.
impl fmt::Write for &ReportPage {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let page = self.page();
        for &byte in s.as_bytes() {
            let at = page.len.load(Ordering::SeqCst);
            if at >= MESSAGE {
                break;
            }
            page.text[at].store(byte, Ordering::SeqCst);
            page.len.store(at + 1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// Why a check has no observation to compare.
#[derive(Debug)]
pub(crate) enum NoVerdict {
    /// The host lacks something the check needs.
    Skip(String),
    /// Something went wrong that should not have.
    Fail(String),
}

/// Why the helper stopped early, written to the report page as text.
pub(crate) enum Abort {
    /// A crate call failed: `Unsupported` is a skip, anything else a failure.
    Error(&'static str, Error),
    /// A fact the helper needed did not hold.
    Broken(&'static str),
}

/// Attaches a step name to a crate error, for `?` in helper bodies.
pub(crate) fn step<T>(what: &'static str, result: clonekit::Result<T>) -> Result<T, Abort> {
    result.map_err(|err| Abort::Error(what, err))
}

/// Attaches a step name to a raw call's errno. `ENOSYS` from a raw call
/// where this architecture has no trampoline is `Unsupported` (a skip): the
/// call could not be made, so there is nothing to check.
pub(crate) fn sys<T>(what: &'static str, result: Result<T, Errno>) -> Result<T, Abort> {
    result.map_err(|errno| {
        let err = if errno == Errno::ENOSYS && !raw::HAS_TRAMPOLINES {
            Error::Unsupported {
                feature: "a child on a new stack (no trampoline for this architecture)",
                errno,
            }
        } else {
            Error::Sys {
                call: what,
                errno,
                detail: None,
            }
        };
        Abort::Error(what, err)
    })
}

/// Runs `body` in a forked helper process and returns its page once the
/// helper has exited, killing it if it outlives [`HELPER_DEADLINE`].
///
/// `body` runs in the child of a fork of a possibly multi-threaded process:
/// it must only do async-signal-safe work (see the module docs).
pub(crate) fn in_helper(
    body: impl FnOnce(&ReportPage) -> Result<(), Abort>,
) -> Result<ReportPage, NoVerdict> {
    let page = ReportPage::new()?;
    // SAFETY: the child runs `body`, which is async-signal-safe by this
    // function's contract, then ends with exit_group without returning.
    let forked = unsafe { clonekit::fork() }.map_err(|e| NoVerdict::Fail(format!("fork: {e}")))?;
    let mut helper = match forked {
        Forked::Child => {
            // A panic must not unwind into the caller's frames, which this
            // copy of the process would then go on running.
            let code = match panic::catch_unwind(AssertUnwindSafe(|| body(&page))) {
                Ok(Ok(())) => DONE,
                Ok(Err(stop)) => leave_message(&page, stop),
                Err(_) => PANICKED,
            };
            // SAFETY: the helper's work is done; nothing needs dropping.
            unsafe { raw::exit_group(code) }
        }
        Forked::Parent(helper) => helper,
    };
    let status =
        reap_within(&mut helper, HELPER_DEADLINE).map_err(|e| NoVerdict::Fail(format!("helper: {e}")))?;
    match (status.code(), status.signal()) {
        (Some(DONE), _) => Ok(page),
        (Some(SKIPPED), _) => Err(NoVerdict::Skip(page.message())),
        (Some(FAILED), _) => Err(NoVerdict::Fail(page.message())),
        (Some(PANICKED), _) => Err(NoVerdict::Fail("the helper panicked".into())),
        (Some(code), _) => Err(NoVerdict::Fail(format!("helper exited with {code}"))),
        (_, Some(sig)) => Err(NoVerdict::Fail(format!("helper killed by signal {sig}"))),
        _ => Err(NoVerdict::Fail(format!("helper ended with {status:?}"))),
    }
}

fn leave_message(mut page: &ReportPage, stop: Abort) -> i32 {
    match stop {
        Abort::Error(what, err @ Error::Unsupported { .. }) => {
            let _ = write!(page, "{what}: {err}");
            SKIPPED
        }
        Abort::Error(what, err) => {
            let _ = write!(page, "{what}: {err}");
            FAILED
        }
        Abort::Broken(what) => {
            let _ = page.write_str(what);
            FAILED
        }
    }
}

/// Creates a child that runs `work`, and reaps it within [`DEADLINE`].
///
/// # Safety
///
/// As for [`CloneBuilder::spawn`].
pub(crate) unsafe fn spawn_and_reap<'a, F>(clone: &mut CloneBuilder<'a>, work: F) -> Result<ExitStatus, Abort>
where
    F: FnOnce() -> i32 + Send + 'a,
{
    // SAFETY: forwarded from the caller.
    let mut child = step("spawn", unsafe { clone.spawn(work) })?;
    step("wait", reap(&mut child))
}

/// Reaps `child` within [`DEADLINE`] (see [`reap_within`]).
pub(crate) fn reap(child: &mut Child<'_>) -> clonekit::Result<ExitStatus> {
    reap_within(child, DEADLINE)
}

/// Reaps `child`, polling `try_wait` every millisecond; after `limit` it is
/// killed with `SIGKILL` and reaped, and the result is `ETIMEDOUT`.
fn reap_within(child: &mut Child<'_>, limit: Duration) -> clonekit::Result<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            child.kill(Signal::SIGKILL)?;
            child.wait()?;
            return Err(Error::Sys {
                call: "wait4",
                errno: Errno::ETIMEDOUT,
                detail: Some("the child outlived its deadline and was killed"),
            });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Reaps a pid that is ours but has no [`Child`] handle (e.g. a
/// `CLONE_PARENT` grandchild that the kernel made our child), bounded like
/// [`reap`]. Returns the raw wait status.
pub(crate) fn reap_pid(pid: nix::unistd::Pid) -> Result<i32, Errno> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match raw::wait4(pid, libc::__WALL | libc::WNOHANG) {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() > deadline => {
                raw::kill(pid, Signal::SIGKILL)?;
                raw::wait4(pid, libc::__WALL)?;
                return Err(Errno::ETIMEDOUT);
            }
            Ok(None) | Err(Errno::EINTR) => std::thread::sleep(Duration::from_millis(1)),
            Err(errno) => return Err(errno),
        }
    }
}

/// A pipe whose read end a child can block on until the helper lets it go
/// (or dies: the child then reads EOF). Both ends are `O_CLOEXEC`.
pub(crate) struct HoldPipe {
    read: libc::c_int,
    write: libc::c_int,
}

impl HoldPipe {
    /// Opens the pipe.
    pub(crate) fn new() -> Result<HoldPipe, Abort> {
        let mut fds = [0; 2];
        // SAFETY: fds is a live array of two ints.
        sys(
            "pipe2",
            Errno::result(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }),
        )?;
        Ok(HoldPipe {
            read: fds[0],
            write: fds[1],
        })
    }

    /// In the child: blocks until the helper opens the gate, at most
    /// [`DEADLINE`] (the child may hold a copy of the write end, so the
    /// helper's death alone would not end the wait).
    pub(crate) fn pass(&self) {
        let mut pollfd = libc::pollfd {
            fd: self.read,
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = DEADLINE.as_millis() as libc::c_int;
        // SAFETY: one live pollfd.
        if unsafe { libc::poll(&mut pollfd, 1, millis) } == 1 {
            let mut byte = 0u8;
            // SAFETY: a live one-byte buffer.
            unsafe { libc::read(self.read, (&mut byte as *mut u8).cast(), 1) };
        }
    }

    /// In the helper: lets the child through.
    pub(crate) fn open(&self) {
        let byte = 1u8;
        // SAFETY: a live one-byte buffer.
        unsafe { libc::write(self.write, (&byte as *const u8).cast(), 1) };
    }
}
