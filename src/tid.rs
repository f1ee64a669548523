//! [`TidSlot`]: a word the kernel writes a thread ID into, and clears.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::unistd::Pid;

use crate::raw;

/// A 32-bit word for the kernel's TID pointers: `CLONE_PARENT_SETTID` (the
/// child's TID, stored in the parent's memory before clone returns),
/// `CLONE_CHILD_SETTID` (stored in the child's memory as it starts) and
/// `CLONE_CHILD_CLEARTID` (cleared to 0, with a futex wake-up, when the child
/// exits or execs — how threads are joined).
///
/// The kernel writes the slot in the memory of the task the flag names: for a
/// child without `CLONE_VM`, the CHILD_* writes land in the child's copy, and
/// the parent's slot does not change.
///
/// # Examples
///
/// ```
/// use clonekit::TidSlot;
/// let slot = TidSlot::new();
/// assert_eq!(slot.get(), None);
/// assert!(slot.wait_cleared(None)); // nothing to wait for: it is already 0
/// ```
///
/// # References
/// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html)
///   (`CLONE_PARENT_SETTID`, `CLONE_CHILD_SETTID`, `CLONE_CHILD_CLEARTID`),
///   [futex(2)](https://man7.org/linux/man-pages/man2/futex.2.html)
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct TidSlot {
    word: AtomicI32,
}

impl TidSlot {
    /// An empty slot (0).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::TidSlot;
    /// // `const`: a slot can be a static, shared by every thread.
    /// static LAST_CHILD: TidSlot = TidSlot::new();
    /// assert_eq!(LAST_CHILD.get(), None);
    /// ```
    pub const fn new() -> TidSlot {
        TidSlot {
            word: AtomicI32::new(0),
        }
    }

    /// The TID stored in the slot, or `None` while it is 0 (never written, or
    /// cleared) or holds the "pending" mark a builder stores before a
    /// `CLONE_CHILD_CLEARTID` clone.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneBuilder, TidSlot};
    /// let slot = TidSlot::new();
    /// assert_eq!(slot.get(), None);
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { CloneBuilder::new().parent_tid(&slot).spawn(|| 0)? };
    /// assert_eq!(slot.get(), Some(child.pid()));
    /// child.wait()?;
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn get(&self) -> Option<Pid> {
        let tid = self.word.load(Ordering::Acquire);
        (tid > 0).then(|| Pid::from_raw(tid))
    }

    /// Waits until the slot is 0, at most `timeout` (`None`: without limit).
    /// Returns whether it is 0.
    ///
    /// With `CLONE_CHILD_CLEARTID | CLONE_VM`, the kernel clears the slot and
    /// wakes this futex when the child exits or execs: this is how a
    /// thread-like child is joined.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use clonekit::{CloneBuilder, CloneFlags, TidSlot};
    /// let slot = TidSlot::new();
    /// let mut builder = CloneBuilder::new();
    /// builder.flags(CloneFlags::VM).clear_child_tid(&slot);
    /// // SAFETY: the closure only returns 0: it touches no TLS, allocates nothing.
    /// let mut child = unsafe { builder.spawn(|| 0)? };
    /// if !slot.wait_cleared(Some(Duration::from_secs(60))) {
    ///     panic!("the child still runs after a minute");
    /// }
    /// child.wait()?;
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    ///
    /// # References
    /// - [futex(2)](https://man7.org/linux/man-pages/man2/futex.2.html) (`FUTEX_WAIT`)
    #[doc(alias = "FUTEX_WAIT")]
    pub fn wait_cleared(&self, timeout: Option<Duration>) -> bool {
        // A timeout too far to represent is no limit at all.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut slept = false;
        loop {
            let seen = self.word.load(Ordering::Acquire);
            if seen == 0 {
                if slept {
                    // The kernel's CLEARTID wake-up wakes one waiter only:
                    // pass it on to any other thread waiting on this slot.
                    let _ = raw::futex_wake(&self.word, i32::MAX);
                }
                return true;
            }
            let left = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) => Some(left),
                    None => return false,
                },
                None => None,
            };
            match raw::futex_wait(&self.word, seen, left) {
                Ok(()) => slept = true,
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
                Err(Errno::ETIMEDOUT) => return self.word.load(Ordering::Acquire) == 0,
                // Any other answer means futexes do not work here; poll instead.
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }

    /// The address the kernel is given.
    pub(crate) fn as_ptr(&self) -> *mut i32 {
        self.word.as_ptr()
    }

    /// Claims the slot for one `CLONE_VM` child: marks it pending (non-zero,
    /// not a TID) so that a wait for CLEARTID cannot return before the child
    /// has even started. Fails if the slot is not 0, since it may then be the
    /// release word of another child that is still running: two children on
    /// one word would let the first one's `Child` believe it done when the
    /// second exits.
    pub(crate) fn claim_pending(&self) -> bool {
        self.word
            .compare_exchange(0, -1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Sets the slot back to 0 (after a clone that created no child).
    pub(crate) fn clear(&self) {
        self.word.store(0, Ordering::Release);
    }

    /// Whether the slot is 0.
    pub(crate) fn is_cleared(&self) -> bool {
        self.word.load(Ordering::Acquire) == 0
    }
}
