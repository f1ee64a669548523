//! Typed, checked, fast wrappers over Linux's process-creation system calls:
//! `fork`, `vfork`, `clone` and `clone3`.
//!
//! - [`CloneBuilder`]: every argument of clone(2)/clone3(2) — flags, exit
//!   signal, pidfd, TID slots, TLS, a child [`Stack`], cgroup, set_tid —
//!   checked against the kernel's rules before the call ([`Rule`]), and
//!   issued through legacy `clone` or `clone3` as the arguments need
//!   ([`Syscall`]).
//! - [`fork()`]: the raw `fork` system call.
//! - Namespaces and cgroups through [`CloneBuilder`]: `CLONE_NEW*` flags,
//!   user namespace [`IdMap`]s written by the parent while the child waits
//!   ([`CloneBuilder::uid_map`]), `CLONE_INTO_CGROUP`
//!   ([`CloneBuilder::cgroup`]) with a reason for every refusal, and
//!   [`CloneBuilder::set_tid`] checked against the PID namespace depth.
//! - [`probe()`]: what this kernel and sandbox allow ([`HostSupport`]), and
//!   why not where they do not.
//! - [`Exec`]: run a program, safely — a vfork-like clone whose child runs
//!   only raw system calls prepared in the parent, then `execve`; failures
//!   come back from `spawn` as [`Error::Exec`].
//! - [`Child`]: wait, try_wait, kill (through the pidfd when there is one).
//! - [`raw`]: one `unsafe` typed function per system call, for those who
//!   need exactly the call and no policy.
//!
//! # What is safe and what is not
//!
//! [`Stack`], [`TidSlot`], [`Child`] and [`CloneFlags::check`] are safe.
//! Creating a child that runs Rust code is `unsafe`: after a raw fork or
//! clone the child has no working libc bookkeeping (no atfork handlers ran;
//! in a multi-threaded parent any lock may be held forever), so it may only
//! do async-signal-safe work. With `CLONE_VM` the child also shares the
//! caller's memory and, without `CLONE_SETTLS`, its thread-local storage.
//!
//! What the types make impossible even in unsafe code: a child running on a
//! stack the parent frees (the [`Child`] owns its [`Stack`] and waits for a
//! `CLONE_VM` child to be done with it before letting go), a closure dropped
//! twice or under a child that uses it, a [`TidSlot`] that dies before the
//! kernel writes it (`'a`), and a child that returns into the parent's frames
//! (the trampolines jump to an entry that never returns).
//!
//! # Quick start
//!
//! ```
//! use clonekit::{CloneBuilder, CloneFlags};
//! // A child with its own copy of memory, that reports through its exit code.
//! // SAFETY: no CLONE_VM, and the closure only returns 3: no allocation, no locks, no panic.
//! let mut child = unsafe { CloneBuilder::new().pidfd(true).spawn(|| 3)? };
//! assert_eq!(child.wait()?.code(), Some(3));
//!
//! // Rules are checked before anything is called.
//! let err = CloneBuilder::new().flags(CloneFlags::SIGHAND).check().unwrap_err();
//! assert_eq!(err.to_string(), "CLONE_SIGHAND requires CLONE_VM (clone(2): EINVAL)");
//! # Ok::<(), clonekit::Error>(())
//! ```

#![deny(unsafe_op_in_unsafe_fn, missing_docs, missing_debug_implementations)]
#![cfg(target_os = "linux")]

mod builder;
mod child;
mod error;
mod exec;
mod flags;
mod fork;
mod probe;
pub mod raw;
mod signals;
mod stack;
mod tid;
mod userns;

pub use builder::{CloneBuilder, Syscall};
pub use child::{Child, Forked};
pub use error::{Error, ExecStage, Result};
pub use exec::{Exec, ExecChild, Stdio, Strategy};
pub use flags::{CloneFlags, Conflict, Rule};
pub use fork::fork;
pub use probe::{probe, Feature, HostSupport, SeccompMode};
pub use stack::Stack;
pub use tid::TidSlot;
pub use userns::{IdMap, Setgroups};

pub use nix::errno::Errno;
pub use nix::sys::signal::Signal;
pub use nix::unistd::Pid;
