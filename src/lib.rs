//! Typed, checked, fast wrappers over Linux's process-creation system calls:
//! `fork`, `vfork`, `clone` and `clone3`.
//!
//! # Quick start
//!
//! Running a program is safe: [`Exec`] is built like
//! `std::process::Command`, and its child runs only system calls prepared
//! in the parent before `execve`.
//!
//! ```
//! use clonekit::{CloneFlags, Exec, Stdio};
//!
//! // Run a program and capture what it prints.
//! let out = Exec::new("sh").args(["-c", "echo hi from $PWD"]).current_dir("/").output()?;
//! assert_eq!(out.stdout, b"hi from /\n");
//!
//! // Or spawn it, read its output through a pipe, and wait for it.
//! let child = Exec::new("echo").arg("piped").stdout(Stdio::piped()).spawn()?;
//! assert_eq!(child.wait_with_output()?.stdout, b"piped\n");
//!
//! // Put it in new namespaces: with a new user namespace among them, root is
//! // not needed where the host allows unprivileged user namespaces
//! // (`clonekit::probe()` tells).
//! let in_namespaces = Exec::new("true").namespaces(CloneFlags::NEWUSER | CloneFlags::NEWUTS).status();
//! match in_namespaces {
//!     Ok(status) => assert!(status.success()),
//!     Err(err) => println!("not allowed here: {err}"),
//! }
//! # Ok::<(), clonekit::Error>(())
//! ```
//!
//! For the child to run your own code instead of a program, with any of
//! clone's arguments, there is [`CloneBuilder`] (`unsafe`: the child must
//! keep [the child's contract](#the-childs-contract)):
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
//!
//! # What is in it
//!
//! - [`Exec`]: run a program, safely — a vfork-like clone whose child runs
//!   only raw system calls prepared in the parent, then `execve`; failures
//!   come back from `spawn` as [`Error::Exec`].
//! - [`ExecChild`]: `std::process::Child`'s methods under the same names,
//!   plus `signal`, `wait_timeout` and the child's [`ResourceUsage`].
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
//! - [`Child`]: wait, try_wait, wait_timeout, kill (through the pidfd when
//!   there is one).
//! - With the `tokio` feature, `Exec::spawn_async` and `AsyncExecChild`:
//!   the child awaited in tokio through its pidfd, with no `SIGCHLD`
//!   handler.
//! - [`raw`]: one typed function per system call (`unsafe` where the call
//!   can break memory or I/O safety), for those who
//!   need exactly the call and no policy.
//!
//! # What is safe and what is not
//!
//! [`Stack`], [`TidSlot`], [`Child`], [`Exec`] and [`CloneFlags::check`] are
//! safe. Creating a child that runs Rust code ([`fork()`],
//! [`CloneBuilder::fork`], [`CloneBuilder::spawn`], and the [`raw`] calls)
//! is `unsafe`: that code must keep [the child's contract](#the-childs-contract).
//!
//! What the types make impossible even in unsafe code: a child running on a
//! stack the parent frees (the [`Child`] owns its [`Stack`] and waits for a
//! `CLONE_VM` child to be done with it before letting go), a closure dropped
//! twice or under a child that uses it, a [`TidSlot`] that dies before the
//! kernel writes it (`'a`), and a child that returns into the parent's frames
//! (the trampolines jump to an entry that never returns).
//!
//! # The child's contract
//!
//! Written here once; every `# Safety` section that creates a child links
//! here and adds only what is its own. The code that runs in a child
//! created by this crate:
//!
//! 1. **does async-signal-safe work only**, then calls `execve` or
//!    [`raw::exit`]/[`raw::exit_group`]: no allocation, no locks, no
//!    `println!`, no panic. After a raw fork or clone the child has no
//!    working libc bookkeeping: no `pthread_atfork` handler ran, glibc's
//!    cached TID is the parent's (so `raise` and `pthread_kill` target the
//!    parent), and in a multi-threaded parent any lock, the allocator's
//!    among them, may be held forever by a thread that does not exist in the
//!    child. Returning from `main` in a forked child runs the parent's
//!    atexit handlers and flushes its buffers a second time.
//! 2. **shares what its flags share**: with `CLONE_FILES` a descriptor it
//!    closes is closed for the caller, with `CLONE_FS` a `chdir` moves both,
//!    with `CLONE_VM` every write lands in the caller's memory.
//! 3. **with `CLONE_VM` and without `CLONE_SETTLS`, touches no thread-local
//!    storage**: it runs on the caller's TLS and `errno`, so no
//!    `thread_local!`, no libc call that may set `errno` (use the
//!    [`raw`] calls whose docs say "errno-free"), no allocation.
//! 4. **with `CLONE_SETTLS`, runs on a valid thread pointer** for its whole
//!    life ([`CloneBuilder::tls`]).
//! 5. **captures by value only what is trivially dropped** (a spawned
//!    closure's captures are dropped in the child when it returns): a
//!    `String` or `Box` would be freed through the parent's allocator.
//!    Capture references, integers, atomics and raw descriptors.
//! 6. **is not outlived by a leaked handle**: with `CLONE_VM`, the [`Child`]
//!    must not be `mem::forget`-ten; its drop is what keeps `'a` alive until
//!    the child is done with it.
//!
//! The signals a spawned child starts with are described under
//! [`CloneBuilder::spawn`] ("Signals").

#![deny(
    unsafe_code,
    unsafe_op_in_unsafe_fn,
    missing_docs,
    missing_debug_implementations
)]
#![cfg(target_os = "linux")]

// The README's examples are tested with the crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod builder;
mod caller;
mod child;
mod engine;
mod error;
mod exec;
mod exit_info;
mod flags;
mod fork;
mod pidfd_info;
mod probe;
pub mod raw;
mod rules;
mod rusage;
mod stack;
mod tid;
mod userns;

pub use builder::{CloneBuilder, Syscall};
pub use child::{Child, Forked};
pub use error::{Error, ExecStage, Result};
#[cfg(feature = "tokio")]
pub use exec::AsyncExecChild;
pub use exec::{Exec, ExecChild, Stdio, Strategy, FD_TARGET_OPEN, NO_NEW_PRIVS_THREADS};
// pub use exec::steps::capabilities::*; (once it holds public items)

// pub use exec::steps::files::*; (once it holds public items)

// pub use exec::steps::landlock::*; (once it holds public items)

// pub use exec::steps::scheduling::*; (once it holds public items)

// pub use exec::steps::seccomp::*; (once it holds public items)

// pub use exec::steps::terminal::*; (once it holds public items)

pub use flags::CloneFlags;
pub use fork::fork;
pub use pidfd_info::{Coredump, Credentials, PidfdInfo};
pub use probe::{probe, Feature, HostSupport, SeccompMode};
pub use raw::PidfdNamespace;
pub use raw::Resource;
pub use rules::{Conflict, Rule};
pub use rusage::ResourceUsage;
pub use stack::Stack;
pub use tid::TidSlot;
pub use userns::{IdMap, Setgroups};

// The types of other crates that appear in this crate's signatures, so
// that a user needs no dependency of their own, of the same version, to
// name them (tests/public_api.rs uses only these paths).
/// The `bitflags` crate [`CloneFlags`] is made with: its `iter()` and
/// trait implementations name this crate's types.
pub use bitflags;
/// The `libc` crate this crate is built with: the [`raw`] layer takes and
/// returns its types (`pollfd`, `sigset_t`, `rusage`) and its constants.
pub use libc;
pub use nix::errno::Errno;
pub use nix::sys::signal::{SigSet, Signal};
pub use nix::unistd::Pid;
