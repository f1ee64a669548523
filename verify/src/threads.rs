//! Tasks and their relations: `CLONE_THREAD` (same thread group, joined
//! through CLEARTID), `CLONE_VFORK` (the parent resumes after the child) and
//! `CLONE_PARENT` (the child is the caller's sibling).

use clonekit::{raw, CloneFlags, Syscall, TidSlot};
use nix::unistd::Pid;

use super::helper::{in_helper, reap, reap_pid, step, yes_no, Abort, HoldPipe, DEADLINE, NOT_RUN};
use super::{clone_builder, observe, spec, Spec, Verdict};

#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    spec!("thread/clone/with", "THREAD", "thread group", Clone, true, thread),
    spec!("thread/clone/without", "-THREAD", "thread group", Clone, false, thread),
    spec!("thread/clone3/with", "THREAD", "thread group", Clone3, true, thread),
    spec!("thread/clone3/without", "-THREAD", "thread group", Clone3, false, thread),
    spec!("vfork/clone/with", "VM|VFORK", "parent suspension", Clone, true, vfork),
    spec!("vfork/clone/without", "VM, -VFORK", "parent suspension", Clone, false, vfork),
    spec!("vfork/clone3/with", "VM|VFORK", "parent suspension", Clone3, true, vfork),
    spec!("vfork/clone3/without", "VM, -VFORK", "parent suspension", Clone3, false, vfork),
    spec!("parent/clone/with", "PARENT", "child's parent", Clone, true, parent),
    spec!("parent/clone/without", "-PARENT", "child's parent", Clone, false, parent),
    spec!("parent/clone3/with", "PARENT", "child's parent", Clone3, true, parent),
    spec!("parent/clone3/without", "-PARENT", "child's parent", Clone3, false, parent),
];

/// Words of the report page.
const RAN: usize = 0;
const CHILD_TGID: usize = 1;
const CHILD_TID: usize = 2;
const HELPER_PID: usize = 3;
const JOINED: usize = 4;
const ALIVE: usize = 5;

/// What a thread-like child shares with every check here.
const THREADISH: CloneFlags = CloneFlags::VM
    .union(CloneFlags::FS)
    .union(CloneFlags::FILES)
    .union(CloneFlags::SIGHAND);

fn thread_words(same_tgid: bool, same_tid: bool, joined: bool, alive: bool) -> String {
    format!(
        "{} tgid, {} tid, {}, caller {}",
        if same_tgid { "same" } else { "other" },
        if same_tid { "same" } else { "other" },
        if joined {
            "joined through CLEARTID"
        } else {
            "not joined"
        },
        if alive { "lives on" } else { "ended" },
    )
}

fn thread(via: Syscall, with: bool) -> Verdict {
    observe(thread_words(with, false, true, true), || {
        let page = in_helper(|page| {
            let slot = TidSlot::new();
            let mut clone = clone_builder(via, THREADISH);
            if with {
                clone
                    .flags(THREADISH | CloneFlags::THREAD | CloneFlags::SYSVSEM)
                    .exit_signal(None);
            }
            let work = || {
                page.set(CHILD_TGID, i64::from(raw::getpid().as_raw()));
                page.set(CHILD_TID, i64::from(raw::gettid().as_raw()));
                page.set(RAN, 1);
                0
            };
            // SAFETY: raw getpid/gettid and stores to atomics only; the
            // child returns, which is the `exit` system call.
            let spawned = unsafe { clone.clear_child_tid(&slot).spawn(work) };
            let mut child = step("spawn", spawned)?;
            page.set(JOINED, i64::from(slot.wait_cleared(Some(DEADLINE))));
            if !with {
                step("wait", reap(&mut child))?;
            }
            drop(child);
            page.set(HELPER_PID, i64::from(raw::getpid().as_raw()));
            page.set(ALIVE, 1);
            Ok(())
        })?;
        if page.get(RAN) == 0 {
            return Ok(NOT_RUN.into());
        }
        let helper = page.get(HELPER_PID);
        Ok(thread_words(
            page.get(CHILD_TGID) == helper,
            page.get(CHILD_TID) == helper,
            page.get(JOINED) == 1,
            page.get(ALIVE) == 1,
        ))
    })
}

/// Words of the report page.for `vfork`: each holds 1 for no, 2 for yes.
const DONE: usize = 0;
const RESUMED: usize = 1;
const SAW_RESUMED: usize = 2;
const DONE_AT_RETURN: usize = 3;

fn vfork_words(done_at_return: bool, saw_resumed: bool) -> String {
    format!(
        "child {} when clone returned; child {}",
        if done_at_return {
            "had finished"
        } else {
            "had not finished"
        },
        if saw_resumed {
            "ran after the parent resumed"
        } else {
            "ran while the parent was suspended"
        },
    )
}

fn vfork(via: Syscall, with: bool) -> Verdict {
    observe(vfork_words(with, !with), || {
        let page = in_helper(|page| {
            let gate = HoldPipe::new()?;
            page.set(RESUMED, yes_no(false));
            page.set(DONE, yes_no(false));
            let mut flags = CloneFlags::VM;
            flags.set(CloneFlags::VFORK, with);
            let work = || {
                if !with {
                    // Without VFORK the parent goes on; hold the child
                    // back until it has looked.
                    gate.pass();
                }
                page.set(SAW_RESUMED, page.get(RESUMED));
                page.set(DONE, yes_no(true));
                0
            };
            // SAFETY: poll/read on a pipe and stores to atomics only.
            let spawned = unsafe { clone_builder(via, flags).spawn(work) };
            let mut child = step("spawn", spawned)?;
            page.set(DONE_AT_RETURN, page.get(DONE));
            page.set(RESUMED, yes_no(true));
            gate.open();
            step("wait", reap(&mut child))?;
            Ok(())
        })?;
        if page.get(SAW_RESUMED) == 0 {
            return Ok(NOT_RUN.into());
        }
        Ok(vfork_words(
            page.get(DONE_AT_RETURN) == 2,
            page.get(SAW_RESUMED) == 2,
        ))
    })
}

/// Words of the report page.for `parent`.
const CHILD_PPID: usize = 0;
const CHILD_PID: usize = 1;
const HELPER: usize = 2;
const HELPER_PPID: usize = 3;

fn parent_words(ppid: i64, caller: i64, callers_parent: i64) -> String {
    if ppid == caller {
        "child's parent is the caller".into()
    } else if ppid == callers_parent {
        "child's parent is the caller's parent".into()
    } else if ppid == 0 {
        NOT_RUN.into()
    } else {
        format!("child's parent is pid {ppid}, neither the caller nor its parent")
    }
}

fn parent(via: Syscall, with: bool) -> Verdict {
    observe(
        if with {
            "child's parent is the caller's parent"
        } else {
            "child's parent is the caller"
        },
        || {
            let page = in_helper(|page| {
                page.set(HELPER, i64::from(raw::getpid().as_raw()));
                page.set(HELPER_PPID, i64::from(raw::getppid().as_raw()));
                let mut clone = clone_builder(via, CloneFlags::empty());
                if with {
                    clone.flags(CloneFlags::PARENT).exit_signal(None);
                }
                let work = || {
                    page.set(CHILD_PPID, i64::from(raw::getppid().as_raw()));
                    0
                };
                // SAFETY: a raw getppid and a store to an atomic only.
                let spawned = unsafe { clone.spawn(work) };
                let mut child = step("spawn", spawned)?;
                page.set(CHILD_PID, i64::from(child.pid().as_raw()));
                if with {
                    // Our sibling now: the caller reaps it. Wait for its report.
                    if page.await_set(CHILD_PPID) == 0 {
                        return Err(Abort::Broken("the CLONE_PARENT child did not report"));
                    }
                } else {
                    step("wait", reap(&mut child))?;
                }
                Ok(())
            })?;
            if with && page.get(CHILD_PID) > 0 {
                // The kernel made the child ours: reap it, bounded.
                let pid = Pid::from_raw(page.get(CHILD_PID) as libc::pid_t);
                reap_pid(pid)
                    .map_err(|e| super::helper::NoVerdict::Fail(format!("reaping the sibling: {e}")))?;
            }
            Ok(parent_words(
                page.get(CHILD_PPID),
                page.get(HELPER),
                page.get(HELPER_PPID),
            ))
        },
    )
}
