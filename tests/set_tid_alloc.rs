//! With `set_tid`, the builder reads the PID namespace depth when
//! `set_tid` is called; `check`, `fork` and `spawn` then read nothing from
//! /proc and allocate nothing, so a raw-forked child of a multi-threaded
//! process (where another thread may hold the allocator's lock) can use
//! them. A counting global allocator, in its own test binary, counts.

use clonekit::{raw, CloneBuilder, CloneFlags, Error, Forked, Pid, Rule};

#[macro_use]
mod support;

use support::alloc_count::{allocations_in, Counting};
use support::fork::wait_bounded;
use support::procfs::pid_ns_depth;

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn check_after_set_tid_allocates_nothing() {
    let Some(depth) = pid_ns_depth() else {
        skip!("no NSpid in /proc/self/status");
    };
    // Control: the counter sees what this thread allocates.
    assert_eq!(allocations_in(|| drop(std::hint::black_box(vec![1u8]))).1, 1);

    let one = [Pid::from_raw(1)];
    let mut builder = CloneBuilder::new();
    builder.flags(CloneFlags::NEWPID).set_tid(&one);
    let (checked, allocations) = allocations_in(|| builder.check());
    assert!(
        matches!(checked, Ok(()) | Err(Error::Unsupported { .. })),
        "{checked:?}"
    );
    assert_eq!(allocations, 0, "check() after set_tid([1]) with NEWPID");

    // The depth rule is still enforced: one PID more than there are levels.
    let too_many = vec![Pid::from_raw(1); depth + 1];
    let mut builder = CloneBuilder::new();
    builder.set_tid(&too_many);
    let (checked, allocations) = allocations_in(|| builder.check());
    assert!(
        matches!(&checked, Err(Error::Conflict(c)) if c.rule() == Rule::SetTidTooDeep),
        "{checked:?}"
    );
    assert_eq!(allocations, 0, "check() of a set_tid too deep");
}

#[test]
fn fork_and_spawn_with_set_tid_allocate_nothing() {
    require_root!("needs CAP_SYS_ADMIN");
    let one = [Pid::from_raw(1)];
    let mut builder = CloneBuilder::new();
    builder.flags(CloneFlags::NEWPID).set_tid(&one);

    // SAFETY: the child only calls exit_group.
    let (forked, allocations) = allocations_in(|| unsafe { builder.fork() });
    let mut child = match forked {
        // SAFETY: nothing of this copy of the process is needed.
        Ok(Forked::Child) => unsafe { raw::exit_group(0) },
        Ok(Forked::Parent(child)) => child,
        Err(Error::Unsupported { .. }) => skip!("no clone3"),
        Err(err) => panic!("fork with set_tid [1] and NEWPID: {err}"),
    };
    assert!(wait_bounded(&mut child).success());
    assert_eq!(allocations, 0, "fork() with set_tid");

    // SAFETY: the closure only returns a number.
    let (spawned, allocations) = allocations_in(|| unsafe { builder.spawn(|| 0) });
    let mut child = spawned.expect("spawn with set_tid [1] and NEWPID");
    assert!(wait_bounded(&mut child).success());
    assert_eq!(allocations, 0, "spawn() with set_tid");
}
