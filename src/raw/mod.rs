//! The raw layer: one function per system call, typed, with no policy.
//!
//! This is the only module that names system call numbers, holds `asm!`, or
//! casts pointers to kernel structures. Everything here does exactly one
//! system call (or, for the `*_on_stack` trampolines, one system call plus a
//! jump in the child) and reports the kernel's answer as `Result<_, Errno>`.
//! No argument is checked: that is what [`CloneFlags::check`](crate::CloneFlags::check) and
//! [`CloneBuilder`](crate::CloneBuilder) are for. A function is `unsafe`
//! where a wrong argument can break memory or I/O safety (it creates a
//! child, takes a pointer or an fd by number, installs a handler); the
//! calls that are safe in themselves (ids, `kill`, `wait4`, `pipe2`,
//! `futex_wait`, `unshare`, ...) are safe functions.
//!
//! Legacy `clone` takes its arguments in an order that differs by
//! architecture; build.rs sets `clonekit_clone_order` and [`clone`] follows it.
//!
//! # Safety
//!
//! The callers of this module promise what each function's `# Safety` says.
//! The common part: a child created here keeps
//! [the child's contract](crate#the-childs-contract).

//!
//! # Errno-free calls
//!
//! libc's wrappers (and `libc::syscall`) store `errno`, a thread-local, when
//! a call fails; in a `CLONE_VM` child that shares the caller's TLS that
//! would write the *parent thread's* `errno` behind its back. The calls
//! whose docs say "errno-free" issue the `syscall` instruction themselves
//! (on x86_64 and aarch64; see `arch/`) and touch no memory but their arguments: those
//! are the ones such a child may make (the child's contract, clause 3).
//!
//! The functions are grouped by domain: processes (in
//! `process.rs`), ids (`ids.rs`), file descriptors (`fd.rs`), signals (`signal.rs`), what a pidfd can be asked (`pidfd.rs`) and
//! futexes (`futex.rs`); all are re-exported here.

use core::ffi::{c_long, c_void};
use std::os::fd::RawFd;
use std::time::Duration;

use nix::errno::Errno;

mod clone_args;
pub use clone_args::{CloneArgs, CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1, CLONE_ARGS_SIZE_VER2};

mod caps;
mod confine;
mod exec;
mod fd;
mod futex;
mod ids;
mod pidfd;
mod process;
mod sched;
mod signal;
mod terminal;
mod wait;

pub use exec::{chdir, chroot, execve, setrlimit, umask, Resource};
pub use fd::{
    close, close_range, dup3, dup_above, fcntl_getfd, fcntl_setfd, pipe2, poll, read, set_nonblocking, write,
};
pub use futex::{futex_wait, futex_wake};
pub(crate) use ids::pid_ns_translate;
pub use ids::{
    getpid, getppid, gettid, parent_and_self, set_no_new_privs, set_pdeathsig, setgid, setgroups,
    sethostname, setpgid, setresgid, setresuid, setsid, setuid, unshare,
};
pub use pidfd::{
    pidfd_check_alive, pidfd_get_info, pidfd_get_namespace, pidfd_send_signal_flags, PidfdInfoRaw,
    PidfdNamespace, PIDFD_COREDUMPED, PIDFD_COREDUMP_ROOT, PIDFD_COREDUMP_SKIP, PIDFD_COREDUMP_USER,
    PIDFD_INFO_CGROUPID, PIDFD_INFO_COREDUMP, PIDFD_INFO_COREDUMP_CODE, PIDFD_INFO_COREDUMP_SIGNAL,
    PIDFD_INFO_CREDS, PIDFD_INFO_EXIT, PIDFD_INFO_PID, PIDFD_INFO_SIZE_VER0, PIDFD_INFO_SIZE_VER1,
    PIDFD_INFO_SIZE_VER2, PIDFD_INFO_SIZE_VER3, PIDFD_INFO_SUPPORTED_MASK, PIDFD_SIGNAL_PROCESS_GROUP,
    PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP,
};
pub use process::{
    clone, clone3, clone3_flags_probe, clone3_on_stack, clone3_probe, clone_on_stack, exit, exit_group, fork,
    pidfd_open, vfork_on_stack, PIDFD_THREAD,
};
pub use signal::{
    full_sigset, kill, pidfd_send_signal, rt_sigaction, rt_sigprocmask, tgkill, tkill, KernelSigaction, NSIG,
};
pub use wait::{wait4, wait4_rusage, waitid, waitid_pidfd, waitid_pidfd_rusage, WaitInfo};

// pub use caps::{...};

// pub use confine::{...};

// pub use sched::{...};

// pub use terminal::{...};

#[cfg_attr(target_arch = "x86_64", path = "arch/x86_64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "arch/aarch64.rs")]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    path = "arch/unsupported.rs"
)]
mod arch;

/// Whether this architecture has the new-stack trampolines
/// ([`clone_on_stack`], [`clone3_on_stack`]; [`vfork_on_stack`] also needs
/// the `vfork` system call, which x86_64 has and aarch64 does not).
///
/// # Examples
///
/// ```
/// use clonekit::raw;
/// if !raw::HAS_TRAMPOLINES {
///     println!("no child on a new stack here: CloneBuilder::spawn is unsupported");
/// }
/// ```
pub const HAS_TRAMPOLINES: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// The function a child created on a new stack jumps to. It receives the
/// `arg` given to the trampoline and must never return: it ends with
/// [`exit`], [`exit_group`] or `execve`.
///
/// # Examples
///
/// See [`clone_on_stack`] for a child that runs such an entry.
///
/// ```
/// use std::ffi::c_void;
/// use clonekit::raw::{self, ChildEntry};
///
/// /// The child's first and last Rust code: exits with `arg` as its code.
/// unsafe extern "C" fn child_main(arg: *mut c_void) -> ! {
///     // SAFETY: nothing on this stack is needed by anyone.
///     unsafe { raw::exit(arg as usize as i32) }
/// }
///
/// let entry: ChildEntry = child_main;
/// # let _ = entry;
/// ```
pub type ChildEntry = unsafe extern "C" fn(arg: *mut c_void) -> !;

/// Turns a `-errno` style return into a `Result`.
fn kernel_result(ret: isize) -> Result<isize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw(-ret as i32))
    } else {
        Ok(ret)
    }
}

/// Turns libc's `-1 and errno` style return into a `Result`.
fn libc_result(ret: c_long) -> Result<c_long, Errno> {
    Errno::result(ret)
}

/// `t` as the kernel's `timespec`, the seconds capped at what it can hold.
fn timespec(t: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    }
}

fn unit(ret: isize) -> Result<(), Errno> {
    kernel_result(ret).map(drop)
}

fn fd_result(ret: isize) -> Result<RawFd, Errno> {
    kernel_result(ret).map(|fd| fd as RawFd)
}
