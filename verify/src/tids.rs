//! The TID slots: where the kernel stores the child's TID
//! (`CLONE_PARENT_SETTID`, `CLONE_CHILD_SETTID`) and clears it at exit
//! (`CLONE_CHILD_CLEARTID`), with and without `CLONE_VM`.
//!
//! Rows without a flag use [`raw`] directly: they hand the kernel a pointer
//! without the flag that makes it write there, which the checked builder
//! never does. Those rows keep their TID in a [`RawSlot`], whose address
//! they can give the kernel ([`TidSlot`] does not hand its address out).

use std::ffi::c_void;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use clonekit::raw::{self, CloneArgs};
use clonekit::{CloneFlags, Stack, Syscall, TidSlot};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::helper::{
    in_helper, reap, reap_pid, spawn_and_reap, step, sys, HoldPipe, ReportPage, DEADLINE, NOT_RUN,
};
use super::{clone_builder, observe, spec, Spec, Verdict};

#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    spec!("parent_settid/clone/vm", "PARENT_SETTID (VM)", "parent's TID slot", Clone, true, parent_settid_vm),
    spec!("parent_settid/clone/no_vm", "PARENT_SETTID", "parent's TID slot", Clone, true, parent_settid),
    spec!("parent_settid/clone/without", "-PARENT_SETTID", "parent's TID slot", Clone, false, parent_settid),
    spec!("parent_settid/clone3/vm", "PARENT_SETTID (VM)", "parent's TID slot", Clone3, true, parent_settid_vm),
    spec!("parent_settid/clone3/no_vm", "PARENT_SETTID", "parent's TID slot", Clone3, true, parent_settid),
    spec!("parent_settid/clone3/without", "-PARENT_SETTID", "parent's TID slot", Clone3, false, parent_settid),
    spec!("child_settid/clone/vm", "CHILD_SETTID (VM)", "child's TID slot", Clone, true, child_settid_vm),
    spec!("child_settid/clone/no_vm", "CHILD_SETTID", "child's TID slot", Clone, true, child_settid),
    spec!("child_settid/clone/without", "-CHILD_SETTID", "child's TID slot", Clone, false, child_settid),
    spec!("child_settid/clone3/vm", "CHILD_SETTID (VM)", "child's TID slot", Clone3, true, child_settid_vm),
    spec!("child_settid/clone3/no_vm", "CHILD_SETTID", "child's TID slot", Clone3, true, child_settid),
    spec!("child_settid/clone3/without", "-CHILD_SETTID", "child's TID slot", Clone3, false, child_settid),
    spec!("child_cleartid/clone/vm", "CHILD_CLEARTID (VM)", "TID slot at exit", Clone, true, cleartid_vm),
    spec!("child_cleartid/clone/no_vm", "CHILD_CLEARTID", "TID slot at exit", Clone, true, cleartid_no_vm),
    spec!("child_cleartid/clone/without", "VM, -CHILD_CLEARTID", "TID slot at exit", Clone, false, cleartid_vm),
    spec!("child_cleartid/clone3/vm", "CHILD_CLEARTID (VM)", "TID slot at exit", Clone3, true, cleartid_vm),
    spec!("child_cleartid/clone3/no_vm", "CHILD_CLEARTID", "TID slot at exit", Clone3, true, cleartid_no_vm),
    spec!("child_cleartid/clone3/without", "VM, -CHILD_CLEARTID", "TID slot at exit", Clone3, false, cleartid_vm),
];

/// Words of the report page.
const CHILD: usize = 0;
const PARENT_VIEW: usize = 1;
const CHILD_VIEW: usize = 2;
const RAN: usize = 3;

/// A TID word for the rows that call [`raw`] directly, read as
/// [`TidSlot::get`] reads a slot.
struct RawSlot(AtomicI32);

impl RawSlot {
    /// An empty slot (0).
    fn new() -> RawSlot {
        RawSlot(AtomicI32::new(0))
    }

    /// The TID stored, or `None` while the word is 0 (or not a TID).
    fn get(&self) -> Option<Pid> {
        let tid = self.0.load(Ordering::Acquire);
        (tid > 0).then(|| Pid::from_raw(tid))
    }

    /// The address the kernel is given.
    fn as_ptr(&self) -> *mut i32 {
        self.0.as_ptr()
    }

    /// Whether the word is 0.
    fn is_cleared(&self) -> bool {
        self.0.load(Ordering::Acquire) == 0
    }
}

/// A fork-like child through `via`'s raw call, exit signal `SIGCHLD`, with
/// the given pointers whatever the flags say (with `CLONE_PIDFD`, clone3
/// too writes the pidfd to `parent_tid`, as legacy clone does). `Ok(None)`
/// in the child.
///
/// # Safety
///
/// As for [`raw::clone`]: no `CLONE_VM`; each pointer valid for what its
/// flag makes the kernel write; the child only does async-signal-safe work.
pub(crate) unsafe fn raw_fork(
    via: Syscall,
    flags: CloneFlags,
    parent_tid: *mut i32,
    child_tid: *mut i32,
) -> Result<Option<Pid>, Errno> {
    match via {
        Syscall::Clone3 => {
            // With CLONE_PIDFD the pidfd goes where legacy clone puts it.
            let args = CloneArgs {
                flags: flags.bits(),
                pidfd: parent_tid as usize as u64,
                parent_tid: parent_tid as usize as u64,
                child_tid: child_tid as usize as u64,
                exit_signal: libc::SIGCHLD as u64,
                ..CloneArgs::default()
            };
            // SAFETY: forwarded from the caller.
            unsafe { raw::clone3(&args) }
        }
        // SAFETY: forwarded from the caller.
        _ => unsafe {
            raw::clone(
                flags,
                Some(Signal::SIGCHLD),
                parent_tid,
                child_tid,
                std::ptr::null_mut(),
            )
        },
    }
}

/// Where a slot's value stands relative to the child's TID.
fn holds(value: i64, tid: i64) -> &'static str {
    match value {
        0 => "empty",
        v if v == tid => "the child's tid",
        _ => "another value",
    }
}

fn parent_slot(value: i64, tid: i64) -> String {
    format!("parent's slot: {} when clone returns", holds(value, tid))
}

fn parent_settid(via: Syscall, with: bool) -> Verdict {
    parent_settid_in(via, with, CloneFlags::empty())
}

fn parent_settid_vm(via: Syscall, with: bool) -> Verdict {
    parent_settid_in(via, with, CloneFlags::VM)
}

fn parent_settid_in(via: Syscall, with: bool, flags: CloneFlags) -> Verdict {
    observe(parent_slot(if with { 1 } else { 0 }, 1), || {
        let page = in_helper(|page| {
            if with {
                let slot = TidSlot::new();
                let work = || 0;
                // SAFETY: the child does nothing.
                let spawned = unsafe { clone_builder(via, flags).parent_tid(&slot).spawn(work) };
                let mut child = step("spawn", spawned)?;
                page.set(PARENT_VIEW, slot.get().map_or(0, |p| i64::from(p.as_raw())));
                page.set(CHILD, i64::from(child.pid().as_raw()));
                step("wait", reap(&mut child))?;
                return Ok(());
            }
            let slot = RawSlot::new();
            // SAFETY: no VM; the pointer is a live slot; the child exits at once.
            match sys("clone", unsafe {
                raw_fork(via, flags, slot.as_ptr(), std::ptr::null_mut())
            })? {
                // SAFETY: the child exits at once.
                None => unsafe { raw::exit_group(0) },
                Some(pid) => {
                    page.set(PARENT_VIEW, slot.get().map_or(0, |p| i64::from(p.as_raw())));
                    page.set(CHILD, i64::from(pid.as_raw()));
                    sys("wait4", reap_pid(pid))?;
                }
            }
            Ok(())
        })?;
        let tid = page.get(CHILD);
        // Normalise to the words of the promise: the TID is 1 there.
        let value = match page.get(PARENT_VIEW) {
            v if v == tid => 1,
            0 => 0,
            _ => -1,
        };
        Ok(parent_slot(value, 1))
    })
}

fn both_slots(parent: &str, child: &str) -> String {
    format!("parent's slot: {parent}; child's slot: {child}")
}

fn child_report(page: &ReportPage) -> String {
    if page.get(RAN) == 0 {
        return NOT_RUN.into();
    }
    let tid = page.get(CHILD);
    both_slots(
        holds(page.get(PARENT_VIEW), tid),
        holds(page.get(CHILD_VIEW), tid),
    )
}

/// Records what the child sees in its slot (`seen`, read in the child), and
/// its TID.
fn report_child_view(page: &ReportPage, seen: Option<Pid>) {
    page.set(CHILD_VIEW, seen.map_or(0, |p| i64::from(p.as_raw())));
    page.set(CHILD, i64::from(raw::gettid().as_raw()));
    page.set(RAN, 1);
}

fn child_settid_vm(via: Syscall, _: bool) -> Verdict {
    observe(both_slots("the child's tid", "the child's tid"), || {
        let page = in_helper(|page| {
            let slot = TidSlot::new();
            let gate = HoldPipe::new()?;
            // With VM the builder also clears this slot at exit, so the
            // parent looks while the child is held at the gate.
            let work = || {
                report_child_view(page, slot.get());
                gate.pass();
                0
            };
            // SAFETY: the child reads an atomic, makes raw calls and stores to atomics.
            let spawned = unsafe { clone_builder(via, CloneFlags::VM).child_tid(&slot).spawn(work) };
            let mut child = step("spawn", spawned)?;
            page.await_set(RAN);
            page.set(PARENT_VIEW, slot.get().map_or(0, |p| i64::from(p.as_raw())));
            gate.open();
            step("wait", reap(&mut child))?;
            Ok(())
        })?;
        Ok(child_report(&page))
    })
}

fn child_settid(via: Syscall, with: bool) -> Verdict {
    let child = if with { "the child's tid" } else { "empty" };
    observe(both_slots("empty", child), || {
        let page = in_helper(|page| {
            let parent_view = if with {
                let slot = TidSlot::new();
                let work = || {
                    report_child_view(page, slot.get());
                    0
                };
                // SAFETY: as in `child_settid_vm`.
                unsafe { spawn_and_reap(clone_builder(via, CloneFlags::empty()).child_tid(&slot), work) }?;
                slot.get()
            } else {
                let slot = RawSlot::new();
                // SAFETY: no VM; the pointer is a live slot; the child reports and exits.
                match sys("clone", unsafe {
                    raw_fork(via, CloneFlags::empty(), std::ptr::null_mut(), slot.as_ptr())
                })? {
                    None => {
                        report_child_view(page, slot.get());
                        // SAFETY: the child's work is done.
                        unsafe { raw::exit_group(0) }
                    }
                    Some(pid) => drop(sys("wait4", reap_pid(pid))?),
                }
                slot.get()
            };
            page.set(PARENT_VIEW, parent_view.map_or(0, |p| i64::from(p.as_raw())));
            Ok(())
        })?;
        Ok(child_report(&page))
    })
}

/// What a child on a raw stack does: nothing.
unsafe extern "C" fn exit_at_once(_: *mut c_void) -> ! {
    // SAFETY: nothing on this stack is borrowed by anyone.
    unsafe { raw::exit(0) }
}

/// Slot states after exit, as page values.
const CLEARED: i64 = 1;
const STILL_TID: i64 = 2;

fn cleared_words(state: i64) -> &'static str {
    match state {
        CLEARED => "parent's slot cleared at exit, futex woken",
        STILL_TID => "parent's slot still holds the child's tid after exit",
        _ => "parent's slot holds neither 0 nor the child's tid",
    }
}

/// With the flag: the builder's join. Without it: a raw `CLONE_VM |
/// CLONE_CHILD_SETTID` child, whose slot nobody clears.
fn cleartid_vm(via: Syscall, with: bool) -> Verdict {
    observe(cleared_words(if with { CLEARED } else { STILL_TID }), || {
        let stack = Stack::new(64 * 1024).map_err(|e| super::helper::NoVerdict::Fail(e.to_string()))?;
        let page = in_helper(|page| {
            if with {
                let slot = TidSlot::new();
                let work = || 0;
                // SAFETY: the child does nothing.
                let spawned = unsafe {
                    clone_builder(via, CloneFlags::VM)
                        .clear_child_tid(&slot)
                        .stack(stack)
                        .spawn(work)
                };
                let mut child = step("spawn", spawned)?;
                let joined = slot.wait_cleared(Some(DEADLINE));
                // A wait that does not wait: whether the slot is still 0.
                let cleared = slot.wait_cleared(Some(Duration::ZERO));
                page.set(PARENT_VIEW, if joined && cleared { CLEARED } else { 0 });
                step("wait", reap(&mut child))?;
                return Ok(());
            }
            let slot = RawSlot::new();
            let pid = sys("clone", raw_vm_child(via, stack, &slot))?;
            sys("wait4", reap_pid(pid))?;
            let state = match slot.get() {
                Some(tid) if tid == pid => STILL_TID,
                None if slot.is_cleared() => CLEARED,
                _ => 0,
            };
            page.set(PARENT_VIEW, state);
            Ok(())
        })?;
        Ok(cleared_words(page.get(PARENT_VIEW)).into())
    })
}

/// A raw `CLONE_VM | CLONE_CHILD_SETTID` child on `stack` that exits at once.
fn raw_vm_child(via: Syscall, mut stack: Stack, slot: &RawSlot) -> Result<Pid, Errno> {
    let flags = CloneFlags::VM | CloneFlags::CHILD_SETTID;
    let entry: raw::ChildEntry = exit_at_once;
    let result = match via {
        Syscall::Clone3 => {
            let args = CloneArgs {
                flags: flags.bits(),
                child_tid: slot.as_ptr() as usize as u64,
                exit_signal: libc::SIGCHLD as u64,
                stack: stack.base() as usize as u64,
                stack_size: stack.size() as u64,
                ..CloneArgs::default()
            };
            // SAFETY: the stack is mapped, ours, and is leaked below so it
            // outlives the child; the entry touches nothing; the slot lives
            // in the helper until after the child is reaped.
            unsafe { raw::clone3_on_stack(&args, entry, std::ptr::null_mut()) }
        }
        _ => {
            let top = stack.top();
            // SAFETY: as above.
            unsafe {
                raw::clone_on_stack(
                    flags,
                    Some(Signal::SIGCHLD),
                    top,
                    std::ptr::null_mut(),
                    slot.as_ptr(),
                    std::ptr::null_mut(),
                    entry,
                    std::ptr::null_mut(),
                )
            }
        }
    };
    // The helper exits soon; the mapping goes with it.
    std::mem::forget(stack);
    result
}

fn kept_words(kept: bool) -> &'static str {
    if kept {
        "parent's slot keeps its value (only the child's copy is cleared)"
    } else {
        "parent's slot changed"
    }
}

/// A value the parent's slot holds before the clone.
const MARK: i32 = 12345;

fn cleartid_no_vm(via: Syscall, _: bool) -> Verdict {
    observe(kept_words(true), || {
        let page = in_helper(|page| {
            let word = AtomicI32::new(MARK);
            // SAFETY: no VM; the pointer is a live word; the child exits at once.
            match sys("clone", unsafe {
                raw_fork(
                    via,
                    CloneFlags::CHILD_CLEARTID,
                    std::ptr::null_mut(),
                    word.as_ptr(),
                )
            })? {
                // SAFETY: the child exits at once.
                None => unsafe { raw::exit_group(0) },
                Some(pid) => drop(sys("wait4", reap_pid(pid))?),
            }
            page.set(PARENT_VIEW, i64::from(word.load(Ordering::SeqCst) == MARK));
            Ok(())
        })?;
        Ok(kept_words(page.get(PARENT_VIEW) == 1).into())
    })
}
