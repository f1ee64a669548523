//! The process and thread creation methods compared by `clone_bench` and
//! `benches/clone.rs`: each creates one child or thread and waits for it.

use std::io;

use clonekit::{raw, CloneBuilder, CloneFlags, Forked, Stack, TidSlot};

/// The flags of a thread-like child: what `pthread_create` shares.
pub const THREAD_FLAGS: CloneFlags = CloneFlags::VM
    .union(CloneFlags::FS)
    .union(CloneFlags::FILES)
    .union(CloneFlags::SIGHAND)
    .union(CloneFlags::THREAD)
    .union(CloneFlags::SYSVSEM);

/// `clonekit::fork` + wait; the child exits at once.
pub fn clonekit_fork() -> io::Result<()> {
    // SAFETY: the child only calls exit_group.
    match unsafe { clonekit::fork()? } {
        Forked::Child => unsafe { raw::exit_group(0) },
        Forked::Parent(mut child) => check(child.wait()?.code() == Some(0), "clonekit_fork"),
    }
}

/// glibc's `fork` + `waitpid`; the child exits at once.
pub fn libc_fork() -> io::Result<()> {
    // SAFETY: the child only calls _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: async-signal-safe.
        unsafe { libc::_exit(0) };
    }
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut status = 0;
    // SAFETY: status is a live int; pid is our child.
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    check(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "libc_fork",
    )
}

/// A thread-like clone on a reused stack, joined through a TidSlot.
pub struct ClonekitThread {
    stack: Option<Stack>,
}

impl ClonekitThread {
    pub fn new() -> io::Result<ClonekitThread> {
        Ok(ClonekitThread {
            stack: Some(Stack::new(64 * 1024)?),
        })
    }

    /// Starts a thread that returns at once, and joins it.
    pub fn run(&mut self) -> io::Result<()> {
        let slot = TidSlot::new();
        let stack = self.stack.take().expect("the stack is back after every run");
        // SAFETY: the closure touches nothing (no TLS, no allocation); the
        // child is joined before the slot goes out of scope.
        let child = unsafe {
            CloneBuilder::new()
                .flags(THREAD_FLAGS)
                .exit_signal(None)
                .clear_child_tid(&slot)
                .stack(stack)
                .spawn(|| 0)?
        };
        slot.wait_cleared(None);
        self.stack = child.into_stack();
        check(self.stack.is_some(), "clonekit_thread")
    }
}

/// `std::thread::spawn` + `join`.
pub fn std_thread() -> io::Result<()> {
    let value = std::thread::spawn(|| 0)
        .join()
        .map_err(|_| io::Error::other("the thread panicked"))?;
    check(value == 0, "std_thread")
}

fn check(ok: bool, what: &str) -> io::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(io::Error::other(format!("{what}: the child did not exit with 0")))
    }
}
