//! What [`spawn`](super::CloneBuilder::spawn) places at the top of the
//! child's [`Stack`]: the closure, the word the kernel clears when a
//! `CLONE_VM` child is done with our memory, and the child's signal plan;
//! and the entry the child starts in there.

// Unsafe is denied crate-wide; this file holds some: the frame on the child's stack and the child's entry.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::mem::{self, ManuallyDrop};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

use nix::errno::Errno;

use crate::engine::signals;
use crate::error::{Error, Result};
use crate::flags::CloneFlags;
use crate::raw;
use crate::stack::Stack;
use crate::tid::TidSlot;
use crate::userns;

/// What `spawn` places at the top of the child's stack: the closure, and the
/// word the kernel clears when a `CLONE_VM` child is done with our memory.
#[repr(C)]
pub(super) struct SpawnFrame<F> {
    pub(super) done_word: TidSlot,
    /// The child's copies of the [`MapSync`] sockets (read, write), or -1.
    maps_sync: (libc::c_int, libc::c_int),
    /// What the child does with its signals before the closure runs.
    signals: ChildSignals,
    /// The caller's signal mask before `spawn` blocked every signal.
    pub(super) mask: libc::sigset_t,
    f: ManuallyDrop<F>,
}

/// What a spawned child does with its signals before the closure runs. The
/// caller blocks every signal across the clone, so the child starts with
/// all of them blocked: no handler of the program can run in it before this
/// is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChildSignals {
    /// Restore the caller's mask: the child has its own memory (a handler
    /// runs on its copy, as after fork), its own TLS (`CLONE_SETTLS`), or
    /// no handlers left (`CLONE_CLEAR_SIGHAND`).
    Restore,
    /// Reset every handled signal to `SIG_DFL` in the child's own copy of
    /// the handler table, then restore the caller's mask: the child shares
    /// our memory and TLS, so a signal may end it but never run a handler.
    ResetThenRestore,
    /// Keep every signal blocked for the child's whole life: it shares the
    /// handler table (`CLONE_SIGHAND`) and our TLS, so it can neither run
    /// a handler nor reset one. `SIGKILL` and `SIGSTOP` still act.
    KeepBlocked,
}

impl ChildSignals {
    pub(super) fn for_flags(flags: CloneFlags) -> ChildSignals {
        let shares_tls = flags.contains(CloneFlags::VM) && !flags.contains(CloneFlags::SETTLS);
        if !shares_tls || flags.contains(CloneFlags::CLEAR_SIGHAND) {
            ChildSignals::Restore
        } else if flags.contains(CloneFlags::SIGHAND) {
            ChildSignals::KeepBlocked
        } else {
            ChildSignals::ResetThenRestore
        }
    }
}

/// The least stack a spawned closure gets below its frame: small enough that
/// the smallest [`Stack`] (one page) still runs a small closure; a child that
/// needs more hits the guard page and dies by SIGSEGV, it corrupts nothing.
pub(super) const MIN_CHILD_STACK: usize = 2048;

/// Moves `f` into a [`SpawnFrame`] at the top of `stack`, leaving at least
/// [`MIN_CHILD_STACK`] bytes below it.
pub(super) fn place_frame<F>(
    stack: &mut Stack,
    f: F,
    maps_sync: (libc::c_int, libc::c_int),
    signals: ChildSignals,
) -> Result<NonNull<SpawnFrame<F>>> {
    let size = mem::size_of::<SpawnFrame<F>>();
    let align = mem::align_of::<SpawnFrame<F>>().max(16);
    let base = stack.base() as usize;
    let top = stack.top() as usize;
    let at = top.checked_sub(size).map(|a| a & !(align - 1));
    let at = match at {
        Some(at) if at >= base + MIN_CHILD_STACK => at,
        _ => {
            return Err(Error::StackTooSmall {
                size: stack.size(),
                needed: size + align + MIN_CHILD_STACK,
            })
        }
    };
    let frame = at as *mut SpawnFrame<F>;
    // SAFETY: `at` is aligned for SpawnFrame<F> and the whole frame lies inside
    // the usable part of the stack mapping, which nothing else references.
    unsafe {
        frame.write(SpawnFrame {
            done_word: TidSlot::new(),
            maps_sync,
            signals,
            mask: raw::full_sigset(),
            f: ManuallyDrop::new(f),
        })
    };
    // SAFETY: `at` is above `base`, so not null.
    Ok(unsafe { NonNull::new_unchecked(frame) })
}

/// Moves the closure out of its frame.
///
/// # Safety
///
/// The frame was written by `place_frame`, and nobody else takes the
/// closure out (in this address space).
pub(super) unsafe fn take_closure<F>(frame: NonNull<SpawnFrame<F>>) -> F {
    // SAFETY: the caller guarantees the closure is there and taken once.
    unsafe { ManuallyDrop::take(&mut (*frame.as_ptr()).f) }
}

/// The entry a spawned child jumps to on its new stack: runs the closure
/// from the frame and exits with its value.
///
/// # Safety
///
/// `arg` is the frame `spawn` placed, and the parent does not take the
/// closure out of it in the child's address space.
pub(super) unsafe extern "C" fn run_closure<F: FnOnce() -> i32>(arg: *mut c_void) -> ! {
    let frame = arg.cast::<SpawnFrame<F>>();
    // SAFETY: `arg` is the frame spawn placed (guaranteed by the caller);
    // the parent wrote it before the clone and only reads it afterwards.
    let (read, write, signals, mask) = unsafe {
        (
            (*frame).maps_sync.0,
            (*frame).maps_sync.1,
            (*frame).signals,
            &(*frame).mask,
        )
    };
    let settled = match signals {
        ChildSignals::Restore => Ok(()),
        ChildSignals::ResetThenRestore => signals::reset_handlers(),
        ChildSignals::KeepBlocked => Err(Errno::EPERM),
    };
    // A failed reset keeps every signal blocked: never a handler here.
    if settled.is_ok() {
        let _ = signals::set_mask(mask);
    }
    // SAFETY: with maps there is no CLONE_VM or CLONE_FILES (rules checked
    // by spawn), so these are this child's own copies of the pipe.
    if read >= 0 && !unsafe { userns::wait_for_maps(read, write) } {
        // SAFETY: nothing on this stack is borrowed by anyone; the closure
        // (a copy) is leaked, as the parent could not set up the child.
        unsafe { raw::exit(userns::MAPS_FAILED) }
    }
    // SAFETY: guaranteed by the caller (spawn).
    let f = unsafe { take_closure(NonNull::new_unchecked(frame)) };
    // Unwinding past this frame would run off the top of the stack.
    let code = panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or(101);
    // SAFETY: this task's stack holds nothing anyone else borrows.
    unsafe { raw::exit(code) }
}
