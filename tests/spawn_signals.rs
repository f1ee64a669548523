//! The signal state of a spawned child: no handler of the program ever runs
//! in a `CLONE_VM` child that shares the caller's TLS, and a child with its
//! own memory gets the caller's mask back, as after fork.
//!
//! The tests install process-wide handlers, so they hold one lock.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};

use clonekit::{raw, CloneBuilder, CloneFlags, Signal, Stack};
use nix::sys::signal::{pthread_sigmask, sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow};

#[macro_use]
mod support;

use support::fork::wait_bounded;
use support::serial;

/// The TID the handler last ran on (0: never).
static HANDLED_ON: AtomicI32 = AtomicI32::new(0);

extern "C" fn record_tid(_: libc::c_int) {
    let (_, tid) = raw::parent_and_self();
    HANDLED_ON.store(tid.as_raw(), Ordering::SeqCst);
}

/// Sets `sig`'s disposition; returns the old one.
fn set_handler(sig: Signal, handler: SigHandler) -> SigAction {
    let action = SigAction::new(handler, SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler only makes a system call and stores to an atomic.
    unsafe { sigaction(sig, &action) }.expect("sigaction")
}

/// The child signals itself with `SIGUSR1`, then returns 0 (or the code).
fn raise_usr1() -> i32 {
    // Errno-free calls only: the child shares the caller's TLS.
    let (_, me) = raw::parent_and_self();
    match raw::tkill(me, libc::SIGUSR1) {
        Ok(()) => 0,
        Err(_) => 3,
    }
}

/// Spawns a child with `flags` that sends itself SIGUSR1 while the caller
/// has a handler for it; returns how the child ended, after checking that
/// the handler never ran in it.
fn raise_usr1_in_child(flags: CloneFlags) -> ExitStatus {
    let _serial = serial();
    let old = set_handler(Signal::SIGUSR1, SigHandler::Handler(record_tid));
    HANDLED_ON.store(0, Ordering::SeqCst);
    // SAFETY: the closure makes errno-free system calls only; the handle is
    // dropped, not forgotten.
    let mut child = unsafe {
        CloneBuilder::new()
            .flags(flags)
            .stack(Stack::new(64 * 1024).unwrap())
            .spawn(raise_usr1)
    }
    .expect("spawn");
    let status = wait_bounded(&mut child);
    let child_tid = child.pid().as_raw();
    drop(child);
    // SAFETY: puts back what was there.
    unsafe { sigaction(Signal::SIGUSR1, &old) }.unwrap();
    assert_ne!(
        HANDLED_ON.load(Ordering::SeqCst),
        child_tid,
        "the handler ran in the child"
    );
    status
}

/// A `CLONE_VM` child with its own handler table: a signal acts by its
/// default action (here: SIGUSR1 ends it), the handler never runs in it.
#[test]
fn a_clone_vm_child_never_runs_a_handler() {
    let status = raise_usr1_in_child(CloneFlags::VM);
    assert_eq!(status.signal(), Some(libc::SIGUSR1), "{status:?}");
}

/// A `CLONE_VM | CLONE_SIGHAND` child shares the handler table, so it
/// cannot reset it: every signal stays blocked in it, and one it sends
/// itself stays pending until it exits.
#[test]
fn a_clone_sighand_child_keeps_signals_blocked() {
    let status = raise_usr1_in_child(CloneFlags::VM | CloneFlags::SIGHAND);
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// Exits with 0 when its mask holds SIGUSR2 and not SIGUSR1.
fn reports_own_mask() -> i32 {
    let mut mask = raw::full_sigset();
    // SAFETY: NULL set: only reads into a live sigset_t.
    if unsafe { raw::rt_sigprocmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask) }.is_err() {
        return 3;
    }
    // SAFETY: a live sigset_t.
    let (usr1, usr2) = unsafe {
        (
            libc::sigismember(&mask, libc::SIGUSR1),
            libc::sigismember(&mask, libc::SIGUSR2),
        )
    };
    match (usr1, usr2) {
        (0, 1) => 0,
        _ => 4,
    }
}

/// The caller's mask is blocked only across the call: afterwards it is what
/// it was. A child with its own memory gets that mask back too.
#[test]
fn masks_are_restored() {
    let _serial = serial();
    let mut usr2 = SigSet::empty();
    usr2.add(Signal::SIGUSR2);
    let before =
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&usr2), None).map(|()| SigSet::thread_get_mask());
    let before = before.expect("block SIGUSR2").expect("read the mask");
    // SAFETY: the child reads its mask with one system call.
    let mut child = unsafe { CloneBuilder::new().spawn(reports_own_mask) }.expect("spawn");
    let status = wait_bounded(&mut child);
    let after = SigSet::thread_get_mask().expect("read the mask");
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&usr2), None).unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "the child's mask is not the caller's: {status:?}"
    );
    assert_eq!(after, before, "the caller's mask changed");
}
