//! [`CloneBuilder`]: every argument of clone(2)/clone3(2), checked, then
//! issued through the system call that can carry it. This file holds the
//! type, its thread and process setters, `fork` and `spawn`;
//! `tid_args.rs` the TID slot setters; `namespace_args.rs` the namespace
//! and cgroup setters; `resolve.rs` what
//! the arguments resolve to before the call; `spawn_stack.rs` the child's
//! stack frame and entry.

// Unsafe is denied crate-wide; this file holds some: `fork`/`spawn`/`tls` are unsafe to call, and call the engine.
#![allow(unsafe_code)]

mod namespace_args;
mod resolve;
mod spawn_stack;
mod tid_args;

use std::ffi::c_void;
use std::fmt;
use std::os::fd::BorrowedFd;
use std::ptr::{self, NonNull};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use self::spawn_stack::{place_frame, run_closure, take_closure, ChildSignals};
use crate::caller::Caller;
use crate::child::{Child, Forked};
use crate::engine::{self, signals, Start};
use crate::error::{Error, Result};
use crate::flags::CloneFlags;
use crate::raw;
use crate::rules::{Conflict, Rule};
use crate::stack::Stack;
use crate::tid::TidSlot;
use crate::userns::{self, IdMaps, MapSync};

/// Which system call a [`CloneBuilder`] issues.
///
/// # Examples
///
/// ```
/// use clonekit::{CloneBuilder, CloneFlags, Error, Rule, Syscall};
/// // A new time namespace only fits in clone3: forcing legacy clone is refused
/// // before anything is called.
/// let err = CloneBuilder::new()
///     .flags(CloneFlags::NEWTIME)
///     .syscall(Syscall::Clone)
///     .check()
///     .unwrap_err();
/// assert!(matches!(err, Error::Conflict(c) if c.rule() == Rule::Clone3Only));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Syscall {
    /// Legacy `clone`, unless something only `clone3` can carry is asked for
    /// (CLEAR_SIGHAND, INTO_CGROUP, NEWTIME, set_tid, or a pidfd together with
    /// a parent TID slot); then `clone3`, or [`Error::Unsupported`] where this
    /// host has none.
    #[default]
    Auto,
    /// Legacy `clone` always; asking for a clone3-only feature is a
    /// [`Conflict`] ([`Rule::Clone3Only`]).
    Clone,
    /// `clone3` always; [`Error::Unsupported`] where this host has none.
    Clone3,
}

/// A builder for one `clone`/`clone3` call: flags, exit signal, pidfd, TID
/// slots, TLS, stack, cgroup and set_tid, checked against the rules of
/// clone(2) before anything is called.
///
/// [`fork`](CloneBuilder::fork) continues in the child like fork(2) does;
/// [`spawn`](CloneBuilder::spawn) runs a closure in the child on its own
/// [`Stack`]. Both are `unsafe`: after a raw clone the child may only do
/// async-signal-safe work, and the flags decide what it shares with the
/// caller (see each method's `# Safety`).
///
/// # Examples
///
/// A child in its own UTS namespace would be `flags(CloneFlags::NEWUTS)`;
/// here, a plain child that reports through its exit code:
///
/// ```
/// use clonekit::{CloneBuilder, CloneFlags};
/// // SAFETY: no CLONE_VM, and the closure only returns 7: no allocation, no locks, no panic.
/// let mut child = unsafe { CloneBuilder::new().pidfd(true).spawn(|| 7)? };
/// assert!(child.pidfd().is_some());
/// assert_eq!(child.wait()?.code(), Some(7));
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html) (clone3 is there too)
#[doc(alias = "clone")]
#[doc(alias = "clone3")]
pub struct CloneBuilder<'a> {
    flags: CloneFlags,
    exit_signal: Option<Signal>,
    pidfd: bool,
    parent_tid: Option<&'a TidSlot>,
    child_tid: Option<&'a TidSlot>,
    clear_child_tid: Option<&'a TidSlot>,
    tls: Option<*mut c_void>,
    stack: Option<Stack>,
    cgroup: Option<BorrowedFd<'a>>,
    set_tid: Option<&'a [Pid]>,
    /// The caller's context for the rules that depend on it, read by `new`
    /// (and again by `set_tid`), so that checking reads nothing.
    caller: Caller,
    id_maps: IdMaps<'a>,
    syscall: Syscall,
}

impl Default for CloneBuilder<'_> {
    fn default() -> Self {
        CloneBuilder::new()
    }
}

impl<'a> CloneBuilder<'a> {
    /// A builder with no flags, exit signal `SIGCHLD`, no pidfd, no TID
    /// slots, no TLS, no stack (spawn maps one of [`Stack::DEFAULT_SIZE`]) and
    /// [`Syscall::Auto`]: a plain fork-like child.
    ///
    /// It also reads, here and once, what the rules of the caller's context
    /// need (a few small /proc files, no allocation): the calling thread's
    /// PID namespace level and `pid_max`, whether it is PID 1 of its PID
    /// namespace ([`Rule::ParentFromInit`]), whether `unshare` changed its
    /// PID namespace for children ([`Rule::ThreadAfterPidUnshare`],
    /// [`Rule::NewpidAfterPidUnshare`], [`Rule::SetTidNoInitNotOne`]) or its
    /// time namespace for children ([`Rule::VmAfterTimeUnshare`]), and the
    /// kernel's version. [`check`](Self::check), [`fork`](Self::fork) and
    /// [`spawn`](Self::spawn) then read nothing. What was read goes stale
    /// when the thread changes its context afterwards: make the builder
    /// after an `unshare` or `setns`, on the thread that will call, or the
    /// kernel answers a bare EINVAL where a rule would have named it.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneBuilder;
    /// // The defaults make a plain fork-like child, reaped like any other.
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { CloneBuilder::new().spawn(|| 0)? };
    /// assert!(child.wait()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn new() -> Self {
        CloneBuilder {
            flags: CloneFlags::empty(),
            exit_signal: Some(Signal::SIGCHLD),
            pidfd: false,
            parent_tid: None,
            child_tid: None,
            clear_child_tid: None,
            tls: None,
            stack: None,
            cgroup: None,
            set_tid: None,
            caller: Caller::capture(),
            id_maps: IdMaps::default(),
            syscall: Syscall::Auto,
        }
    }

    /// Sets the `CLONE_*` flags (replacing earlier ones). The flags that take
    /// an argument are better set through their method ([`pidfd`](Self::pidfd),
    /// [`parent_tid`](Self::parent_tid), ...), which sets the flag too;
    /// `CloneFlags::PIDFD` here is the same as `pidfd(true)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{raw, CloneBuilder, CloneFlags};
    /// // CLONE_FS: the child shares the caller's umask, root and working directory.
    /// let before = raw::umask(0o022);
    /// // SAFETY: no CLONE_VM; the closure makes one system call and returns.
    /// let mut child = unsafe {
    ///     CloneBuilder::new().flags(CloneFlags::FS).spawn(|| {
    ///         raw::umask(0o077);
    ///         0
    ///     })?
    /// };
    /// child.wait()?;
    /// assert_eq!(raw::umask(before), 0o077); // what the child set is ours
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn flags(&mut self, flags: CloneFlags) -> &mut Self {
        self.flags = flags;
        self
    }

    /// The signal the parent gets when the child terminates (default
    /// `SIGCHLD`; `None` for none, as `CLONE_THREAD` and `CLONE_PARENT` need).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneBuilder;
    /// // No signal at all when the child ends: wait finds it all the same.
    /// // SAFETY: no CLONE_VM; the closure only returns 2.
    /// let mut child = unsafe { CloneBuilder::new().exit_signal(None).spawn(|| 2)? };
    /// assert_eq!(child.wait()?.code(), Some(2));
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn exit_signal(&mut self, sig: Option<Signal>) -> &mut Self {
        self.exit_signal = sig;
        self
    }

    /// `CLONE_PIDFD`: the child's [`Child::pidfd`] is `Some`, an `O_CLOEXEC`
    /// pidfd made atomically with the child.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use clonekit::CloneBuilder;
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { CloneBuilder::new().pidfd(true).spawn(|| 0)? };
    /// let pidfd = child.pidfd().expect("asked for");
    /// // The pidfd names this child and no other process.
    /// let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd()))?;
    /// assert!(info.contains(&format!("Pid:\t{}\n", child.pid())));
    /// child.wait()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pidfd(&mut self, on: bool) -> &mut Self {
        self.pidfd = on;
        self
    }

    /// `CLONE_SETTLS`: the child's thread pointer (`fs` base on x86_64,
    /// `TPIDR_EL0` on aarch64).
    ///
    /// # Safety
    ///
    /// `tls` must point to a thread control block that is valid for the
    /// child's whole life in the layout this platform's libc and Rust expect
    /// (on x86_64 its first word points to itself; on aarch64 it points to
    /// the 16-byte TCB before the static TLS block), or the child must never
    /// touch thread-local storage.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::CloneBuilder;
    /// # #[cfg(all(target_arch = "x86_64", target_env = "gnu"))] {
    /// // On x86_64 glibc, pthread_self() is this thread's control block, whose
    /// // first word points to itself: the thread pointer glibc and Rust expect.
    /// // SAFETY: pthread_self has no preconditions.
    /// let tcb = unsafe { libc::pthread_self() } as *mut std::ffi::c_void;
    /// let mut builder = CloneBuilder::new();
    /// // SAFETY: without CLONE_VM the child gets its own copy of that block,
    /// // valid for its whole life.
    /// unsafe { builder.tls(tcb) };
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { builder.spawn(|| 0)? };
    /// assert!(child.wait()?.success());
    /// # }
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub unsafe fn tls(&mut self, tls: *mut c_void) -> &mut Self {
        self.tls = Some(tls);
        self
    }

    /// The stack [`spawn`](Self::spawn) runs the child on (default: a new
    /// [`Stack`] of [`Stack::DEFAULT_SIZE`]). The child's [`Child`] owns it
    /// afterwards; [`Child::into_stack`] gives it back for reuse.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicI32, Ordering};
    /// use clonekit::{CloneBuilder, CloneFlags, Stack};
    /// let seen = AtomicI32::new(0);
    /// let mut builder = CloneBuilder::new();
    /// builder.flags(CloneFlags::VM).stack(Stack::new(32 * 1024)?);
    /// // SAFETY: the child shares our memory and only stores to an atomic it
    /// // borrows: no TLS, no allocation. Its handle keeps `seen` borrowed.
    /// let mut child = unsafe {
    ///     builder.spawn(|| {
    ///         seen.store(7, Ordering::Relaxed);
    ///         0
    ///     })?
    /// };
    /// child.wait()?;
    /// assert_eq!(seen.load(Ordering::Relaxed), 7);
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn stack(&mut self, stack: Stack) -> &mut Self {
        self.stack = Some(stack);
        self
    }

    /// Which system call to issue (default [`Syscall::Auto`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{raw, CloneBuilder, Errno, Syscall};
    /// // clone3 where this host has it, legacy clone elsewhere.
    /// let which = match raw::clone3_probe() {
    ///     Errno::EINVAL => Syscall::Clone3,
    ///     _ => Syscall::Clone,
    /// };
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { CloneBuilder::new().syscall(which).spawn(|| 0)? };
    /// assert!(child.wait()?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn syscall(&mut self, which: Syscall) -> &mut Self {
        self.syscall = which;
        self
    }

    /// Checks every argument rule that can be checked before the call, and
    /// whether the system call that can carry the arguments exists here.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] naming the broken [`Rule`]; [`Error::Unsupported`]
    /// when clone3 is needed and absent, or for `CLONE_PIDFD` with
    /// `CLONE_THREAD` before Linux 6.9 (which answers a bare EINVAL).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneBuilder, CloneFlags};
    /// let err = CloneBuilder::new().flags(CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM)
    ///     .check().unwrap_err();
    /// assert!(err.to_string().contains("exit signal"));
    /// ```
    pub fn check(&self) -> Result<()> {
        self.resolve().map(drop)
    }

    /// The handle the caller gets: a pidfd it did not ask for (one taken
    /// for a `CLONE_PARENT` child, see `takes_private_pidfd`) stays private.
    fn handle(&self, child: Child<'a>) -> Child<'a> {
        match self.pidfd || self.flags.contains(CloneFlags::PIDFD) {
            true => child,
            false => child.keep_pidfd_private(),
        }
    }

    /// Creates a child that continues from this call like fork(2): with a
    /// copy of the caller's stack and memory (no `CLONE_VM`: that needs
    /// [`spawn`](Self::spawn)).
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] for a broken rule, including [`Rule::ForkWithVm`]
    /// and [`Rule::ForkWithStack`]; [`Error::Unsupported`] when clone3 is
    /// needed and absent; [`Error::Sys`] when the kernel refuses.
    ///
    /// # Safety
    ///
    /// The child keeps [the child's contract](crate#the-childs-contract)
    /// (clauses 1, 2 and 4): in [`Forked::Child`], async-signal-safe work
    /// only, then `execve` or [`raw::exit_group`].
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneBuilder, CloneFlags, Forked, raw};
    /// let mut builder = CloneBuilder::new();
    /// builder.flags(CloneFlags::NEWUTS);
    /// # builder.flags(CloneFlags::empty()); // the doctest may run without privileges
    /// // SAFETY: no shared flags, no tls; the child only calls exit_group (async-signal-safe).
    /// match unsafe { builder.fork()? } {
    ///     // SAFETY: the forked child has its own memory: nothing left undropped is needed by anyone.
    ///     Forked::Child => unsafe { raw::exit_group(3) },
    ///     Forked::Parent(mut child) => assert_eq!(child.wait()?.code(), Some(3)),
    /// }
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub unsafe fn fork(&mut self) -> Result<Forked<'a>> {
        let mut resolved = self.resolve()?;
        if self.takes_private_pidfd(resolved) {
            resolved.flags |= CloneFlags::PIDFD;
        }
        let flags = resolved.flags;
        if flags.contains(CloneFlags::VM) {
            return Err(Conflict::new(Rule::ForkWithVm, flags).into());
        }
        if self.stack.is_some() {
            return Err(Conflict::new(Rule::ForkWithStack, flags).into());
        }
        let sync = self.id_maps.any().then(MapSync::new).transpose()?;
        let child_tid = self.child_tid_slot().map_or(ptr::null_mut(), TidSlot::as_ptr);
        let request = self.request(resolved, child_tid);
        // SAFETY: no CLONE_VM (checked above); every pointer in the request
        // is a live slot (for 'a); the caller keeps the child's contract.
        let created = unsafe { engine::clone_child(&request, Start::Here, &mut |_| {}) }?;
        match created.pid {
            None => {
                // Async-signal-safe: close and read on our own copies.
                if sync.is_some_and(|sync| !sync.child_wait()) {
                    // SAFETY: the parent could not write our maps; nothing
                    // of ours is borrowed by anyone.
                    unsafe { raw::exit_group(userns::MAPS_FAILED) }
                }
                Ok(Forked::Child)
            }
            Some(pid) => {
                let child = self.handle(Child::of_process(pid, flags, created.pidfd));
                write_maps_or_discard(sync, &self.id_maps, child).map(Forked::Parent)
            }
        }
    }

    /// Creates a child that runs `f` on its own [`Stack`] and exits with the
    /// value `f` returns (the `exit` system call: a `CLONE_THREAD` child ends
    /// alone, its thread group goes on).
    ///
    /// The closure is moved onto the top of the child's stack, so it lives as
    /// long as the stack, which the returned [`Child`] owns. With `CLONE_VM`
    /// the child consumes it there and the caller never touches it again;
    /// the builder also makes the kernel clear a word when the child exits
    /// or execs (`CLONE_CHILD_CLEARTID`: the `clear_child_tid` or `child_tid`
    /// slot, or one of its own on the stack), and the `Child` waits for that
    /// word before it lets go of the stack or of `'a`. Without `CLONE_VM` the
    /// child has a copy; the caller's copy of the closure is dropped after the
    /// call, unless `CLONE_FILES` shares the descriptors it may hold, in
    /// which case it is forgotten.
    ///
    /// # Signals
    ///
    /// Every signal is blocked in the caller across the clone (as glibc's
    /// `pthread_create` and `posix_spawn` do), so the child starts with all
    /// of them blocked and no handler of the program can run in it before
    /// it has settled them, before the closure runs:
    ///
    /// - without `CLONE_VM`, or with `CLONE_SETTLS` (its own TLS), or with
    ///   `CLONE_CLEAR_SIGHAND` (no handlers left): the caller's mask is
    ///   restored, and handlers run in the child as after fork(2);
    /// - with `CLONE_VM` (sharing the caller's TLS and `errno`) and its own
    ///   handler table (no `CLONE_SIGHAND`): every handled signal is reset
    ///   to `SIG_DFL` (ignored ones stay ignored), then the caller's mask is
    ///   restored: a signal can end the child, never run a handler in it;
    /// - with `CLONE_VM` and `CLONE_SIGHAND` (a shared handler table that it
    ///   cannot reset) and no `CLONE_SETTLS`: every signal stays blocked for
    ///   the child's whole life (only `SIGKILL` and `SIGSTOP` act on it; a
    ///   process-directed signal goes to another thread of a `CLONE_THREAD`
    ///   child's group).
    ///
    /// The caller's mask is restored in the caller when the call returns.
    ///
    /// A `CLONE_VM` child that dies by a signal whose default action dumps
    /// core (`SIGSEGV` from a stack overflow into the guard page, `SIGBUS`,
    /// `SIGABRT`, ...) dies alone from Linux 5.16 on. Before 5.16 the
    /// kernel's core-dump path first killed every process sharing the
    /// memory, the caller included, whatever `RLIMIT_CORE` said, unless the
    /// memory was not dumpable (fs/coredump.c `zap_threads`, until
    /// "coredump: Limit coredumps to a single thread group"). No setting of
    /// the child's can prevent it soundly there (dumpability belongs to the
    /// shared memory): give such a child a stack it cannot overflow.
    ///
    /// # Errors
    ///
    /// As for [`fork`](Self::fork) (without the fork-only rules), plus
    /// [`Error::StackTooSmall`] and the errors of [`Stack::new`].
    ///
    /// # Safety
    ///
    /// `f` keeps [the child's contract](crate#the-childs-contract), all of
    /// it: async-signal-safe work and no panic (a panic is caught and ends
    /// the child with 101, but the panic machinery itself is not
    /// async-signal-safe); with `CLONE_VM` no thread-local storage unless
    /// `CLONE_SETTLS`; captures that are trivially dropped; and with
    /// `CLONE_VM` the returned `Child` is not leaked.
    ///
    /// # Examples
    ///
    /// A thread-like child, joined through its TID slot:
    ///
    /// ```
    /// use clonekit::{CloneBuilder, CloneFlags, Stack, TidSlot};
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// let seen = AtomicU32::new(0);
    /// let slot = TidSlot::new();
    /// // SAFETY: the closure only stores to an atomic (no TLS, no allocation, no
    /// // panic), and `child` is dropped, not forgotten.
    /// let child = unsafe {
    ///     CloneBuilder::new()
    ///         .flags(CloneFlags::VM | CloneFlags::FS | CloneFlags::FILES | CloneFlags::SIGHAND
    ///             | CloneFlags::THREAD | CloneFlags::SYSVSEM)
    ///         .exit_signal(None)
    ///         .clear_child_tid(&slot)
    ///         .stack(Stack::new(64 * 1024)?)
    ///         .spawn(|| { seen.store(42, Ordering::SeqCst); 0 })?
    /// };
    /// assert!(slot.wait_cleared(None));
    /// assert_eq!(seen.load(Ordering::SeqCst), 42);
    /// drop(child);
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub unsafe fn spawn<F: FnOnce() -> i32 + Send + 'a>(&mut self, f: F) -> Result<Child<'a>> {
        let mut resolved = self.resolve()?;
        if !raw::HAS_TRAMPOLINES {
            return Err(Error::Unsupported {
                feature: "a child on its own stack on this architecture",
                errno: Errno::ENOSYS,
            });
        }
        let shares_memory = resolved.flags.contains(CloneFlags::VM);
        let mut stack = match self.stack.take() {
            Some(stack) => stack,
            None => Stack::new(Stack::DEFAULT_SIZE)?,
        };
        let sync = self.id_maps.any().then(MapSync::new).transpose()?;
        let maps_sync = sync.as_ref().map_or((-1, -1), MapSync::raw);
        let frame = place_frame(&mut stack, f, maps_sync, ChildSignals::for_flags(resolved.flags))?;
        // SAFETY: place_frame returned a pointer to an initialised SpawnFrame
        // inside `stack`, which is alive and not otherwise referenced.
        let own_slot: &TidSlot = unsafe { &(*frame.as_ptr()).done_word };
        let child_top = (frame.as_ptr() as usize & !15) as *mut u8;

        // The slot the kernel clears when a CLONE_VM child is done with us.
        let child_tid: Option<&TidSlot> = match self.child_tid_slot() {
            Some(slot) => Some(slot),
            None if shares_memory => Some(own_slot),
            None => None,
        };
        let done_word = child_tid.filter(|_| shares_memory);
        if let Some(slot) = done_word {
            if !slot.claim_pending() {
                // SAFETY: no child was created, so the closure is still ours.
                drop(unsafe { take_closure(frame) });
                return Err(Conflict::new(Rule::TidSlotInUse, resolved.flags).into());
            }
            resolved.flags |= CloneFlags::CHILD_CLEARTID;
        }
        let child_tid_ptr = child_tid.map_or(ptr::null_mut(), TidSlot::as_ptr);
        if self.takes_private_pidfd(resolved) {
            resolved.flags |= CloneFlags::PIDFD;
        }
        let flags = resolved.flags;
        let request = self.request(resolved, child_tid_ptr);
        let start = Start::OnStack {
            base: stack.base(),
            top: child_top,
            entry: run_closure::<F>,
            arg: frame.as_ptr().cast::<c_void>(),
        };
        // Every signal is blocked across the clone, so the child starts with
        // all of them blocked and settles them itself (see ChildSignals).
        let result = match signals::block_all() {
            Err(errno) => Err(Error::Sys {
                call: "rt_sigprocmask",
                errno,
                detail: None,
            }),
            Ok(old_mask) => {
                // SAFETY: the frame is ours until the clone; the child only
                // reads it after.
                unsafe { (*frame.as_ptr()).mask = old_mask };
                // SAFETY: the stack is ours, mapped and 16-byte aligned at
                // child_top, below the frame, which the entry consumes;
                // the request's pointers are live slots (for 'a) or lie in
                // the stack; the caller keeps the closure's contract.
                let created = unsafe { engine::clone_child(&request, start, &mut |_| {}) };
                let _ = signals::set_mask(&old_mask);
                created
            }
        };

        let created = match result {
            Ok(created) => created,
            Err(err) => {
                // No child will clear the slot: take the pending mark back,
                // or a later wait on it would never return.
                if let Some(slot) = done_word {
                    slot.clear();
                }
                // SAFETY: no child was created, so the closure is still ours.
                drop(unsafe { take_closure(frame) });
                return Err(err);
            }
        };
        if !shares_memory && !flags.contains(CloneFlags::FILES) {
            // SAFETY: the child has its own copy of memory and descriptors;
            // this copy of the closure is the parent's alone.
            drop(unsafe { take_closure(frame) });
        }
        let pid = created.pid.expect("a child on its own stack never returns here");
        let pidfd = created.pidfd;
        let done_word = done_word.map(NonNull::from);
        // SAFETY: `done_word` is a slot borrowed for 'a or lies in `stack`,
        // and the kernel clears it (CLONE_CHILD_CLEARTID with CLONE_VM).
        let child = self.handle(unsafe { Child::new(pid, flags, pidfd, Some(stack), done_word) });
        write_maps_or_discard(sync, &self.id_maps, child)
    }
}

/// After a successful clone: writes a `CLONE_NEWUSER` child's maps, or
/// kills and reaps it when they cannot be written.
fn write_maps_or_discard<'a>(
    sync: Option<MapSync>,
    maps: &IdMaps<'_>,
    child: Child<'a>,
) -> Result<Child<'a>> {
    let Some(sync) = sync else {
        return Ok(child);
    };
    match sync.release(child.pid(), maps) {
        Ok(()) => Ok(child),
        Err(err) => {
            child.discard();
            Err(err)
        }
    }
}

impl fmt::Debug for CloneBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloneBuilder")
            .field("flags", &self.effective_flags())
            .field("exit_signal", &self.exit_signal)
            .field("stack", &self.stack.as_ref().map(Stack::size))
            .field("set_tid", &self.set_tid)
            .field("id_maps", &self.id_maps)
            .field("syscall", &self.syscall)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A spawn the kernel refuses leaves the CLEARTID slot as it found it
    /// (0), not marked pending forever: waiting on it must not hang.
    #[test]
    fn a_refused_spawn_leaves_the_slot_clear() {
        let slot = TidSlot::new();
        // PID 1 is taken in this PID namespace (EEXIST), or set_tid is not
        // allowed here (EPERM); either way the kernel refuses.
        let taken = [Pid::from_raw(1)];
        // SAFETY: the child, if one were made, does nothing.
        let result = unsafe {
            CloneBuilder::new()
                .flags(CloneFlags::VM)
                .clear_child_tid(&slot)
                .set_tid(&taken)
                .spawn(|| 0)
        };
        match result {
            Err(Error::Unsupported { .. }) => println!("skipped: clone3 is not available here"),
            Err(_) => assert!(slot.wait_cleared(Some(Duration::from_millis(100)))),
            Ok(_) => panic!("the kernel accepted set_tid [1]"),
        }
    }
}
