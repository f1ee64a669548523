//! `struct clone_args`, the argument block of clone3(2), laid out as in the
//! kernel's `include/uapi/linux/sched.h`.
//!
//! The kernel accepts any size from [`CLONE_ARGS_SIZE_VER0`] on and requires the
//! bytes it does not know to be zero, so a newer struct works on an older kernel
//! as long as the newer fields are unused; we pass the smallest size that holds
//! the fields in use.

/// Size of the first version of `struct clone_args` (Linux 5.3).
///
/// # Examples
///
/// ```
/// use clonekit::raw::{CloneArgs, CLONE_ARGS_SIZE_VER0};
/// // Every field before set_tid: what Linux 5.3 reads.
/// assert_eq!(CLONE_ARGS_SIZE_VER0, std::mem::offset_of!(CloneArgs, set_tid));
/// ```
pub const CLONE_ARGS_SIZE_VER0: usize = 64;
/// Size with `set_tid` and `set_tid_size` (Linux 5.5).
///
/// # Examples
///
/// ```
/// use clonekit::raw::{CloneArgs, CLONE_ARGS_SIZE_VER1};
/// // Every field before cgroup: what Linux 5.5 reads.
/// assert_eq!(CLONE_ARGS_SIZE_VER1, std::mem::offset_of!(CloneArgs, cgroup));
/// ```
pub const CLONE_ARGS_SIZE_VER1: usize = 80;
/// Size with `cgroup` (Linux 5.7).
///
/// # Examples
///
/// ```
/// use clonekit::raw::{CloneArgs, CLONE_ARGS_SIZE_VER2};
/// // The whole struct: what Linux 5.7 reads.
/// assert_eq!(CLONE_ARGS_SIZE_VER2, std::mem::size_of::<CloneArgs>());
/// ```
pub const CLONE_ARGS_SIZE_VER2: usize = 88;

/// `struct clone_args` from clone(2): every field is a `u64`, pointers included.
///
/// # Examples
///
/// ```
/// use clonekit::raw::{CloneArgs, CLONE_ARGS_SIZE_VER0};
/// use clonekit::CloneFlags;
/// // A child in new PID and mount namespaces, SIGCHLD when it ends.
/// let args = CloneArgs {
///     flags: (CloneFlags::NEWPID | CloneFlags::NEWNS).bits(),
///     exit_signal: libc::SIGCHLD as u64,
///     ..CloneArgs::default()
/// };
/// assert_eq!(args.size(), CLONE_ARGS_SIZE_VER0); // any clone3 kernel reads it
/// ```
///
/// # References
/// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html), "The clone3() system call"
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CloneArgs {
    /// Flags bit mask (`CLONE_*`), without the exit signal.
    pub flags: u64,
    /// Where to store the child's pidfd (`int *`), with `CLONE_PIDFD`.
    pub pidfd: u64,
    /// Where to store the child's TID in the child's memory (`pid_t *`), with
    /// `CLONE_CHILD_SETTID` / `CLONE_CHILD_CLEARTID`.
    pub child_tid: u64,
    /// Where to store the child's TID in the parent's memory (`pid_t *`), with
    /// `CLONE_PARENT_SETTID`.
    pub parent_tid: u64,
    /// Signal sent to the parent when the child terminates (0: none).
    pub exit_signal: u64,
    /// Lowest byte of the child's stack (not its top, unlike legacy clone).
    pub stack: u64,
    /// Size of the child's stack in bytes.
    pub stack_size: u64,
    /// Thread pointer of the child, with `CLONE_SETTLS`.
    pub tls: u64,
    /// Pointer to an array of `pid_t`: the child's PID in each nested PID namespace.
    pub set_tid: u64,
    /// Number of elements in `set_tid`.
    pub set_tid_size: u64,
    /// File descriptor of the target cgroup, with `CLONE_INTO_CGROUP`.
    pub cgroup: u64,
}

impl CloneArgs {
    /// The smallest size the kernel must be told about for the fields in use.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::raw::{CloneArgs, CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1, CLONE_ARGS_SIZE_VER2};
    /// use clonekit::CloneFlags;
    /// let mut args = CloneArgs::default();
    /// assert_eq!(args.size(), CLONE_ARGS_SIZE_VER0);
    /// let tids: [libc::pid_t; 1] = [1];
    /// args.set_tid = tids.as_ptr() as u64;
    /// args.set_tid_size = 1;
    /// assert_eq!(args.size(), CLONE_ARGS_SIZE_VER1); // set_tid needs Linux 5.5
    /// args.flags |= CloneFlags::INTO_CGROUP.bits();
    /// assert_eq!(args.size(), CLONE_ARGS_SIZE_VER2); // a cgroup needs Linux 5.7
    /// ```
    pub fn size(&self) -> usize {
        // fd 0 is a valid cgroup fd, so the flag, not the field, says it is used.
        if self.flags & crate::CloneFlags::INTO_CGROUP.bits() != 0 {
            CLONE_ARGS_SIZE_VER2
        } else if self.set_tid != 0 || self.set_tid_size != 0 {
            CLONE_ARGS_SIZE_VER1
        } else {
            CLONE_ARGS_SIZE_VER0
        }
    }
}

const _: () = assert!(std::mem::size_of::<CloneArgs>() == CLONE_ARGS_SIZE_VER2);
