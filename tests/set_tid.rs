//! `CloneBuilder::set_tid`: the child's PID chosen in each PID namespace,
//! and the depth rule checked before the call (agreeing with the kernel's
//! `alloc_pid`, which is also sent the broken argument raw).

use clonekit::{raw, CloneBuilder, CloneFlags, Errno, Error, Pid, Rule};
use rstest::rstest;

#[macro_use]
mod support;

use support::pipe_child::fork_with;

/// How many PID namespaces this process is in (`NSpid` entries).
fn depth() -> usize {
    support::procfs::pid_ns_depth().expect("NSpid in /proc/self/status")
}

/// A pid that is free right now: high, below pid_max, not in /proc.
fn free_pid() -> i32 {
    let max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let start = max - 1 - (std::process::id() as i32 % 1000);
    (300..start)
        .rev()
        .find(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
        .unwrap()
}

fn rule(builder: &CloneBuilder<'_>) -> Option<Rule> {
    match builder.check() {
        Err(Error::Conflict(c)) => Some(c.rule()),
        _ => None,
    }
}

#[test]
fn one_with_newpid_is_pid_one() {
    require_root!("needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE");
    let tids = [Pid::from_raw(1)];
    let mut builder = CloneBuilder::new();
    builder.flags(CloneFlags::NEWPID).set_tid(&tids);
    // SAFETY: raw getpid only.
    let run = match unsafe { fork_with(&mut builder, |_| i32::from(raw::getpid().as_raw() != 1)) } {
        Err(Error::Unsupported { .. }) => skip!("no clone3"),
        other => other.unwrap(),
    };
    assert!(run.finish().success(), "getpid() inside was not 1");
}

#[test]
fn second_entry_is_the_pid_outside() {
    if !support::is_root() || depth() != 1 {
        skip!("needs root in the initial PID namespace");
    }
    let x = free_pid();
    let tids = [Pid::from_raw(1), Pid::from_raw(x)];
    let mut builder = CloneBuilder::new();
    builder.flags(CloneFlags::NEWPID).set_tid(&tids);
    // SAFETY: raw getpid only.
    let run = match unsafe { fork_with(&mut builder, |_| i32::from(raw::getpid().as_raw() != 1)) } {
        Err(Error::Unsupported { .. }) => skip!("no clone3"),
        Err(Error::Sys {
            errno: Errno::EEXIST, ..
        }) => skip!("the free pid was taken meanwhile"),
        other => other.unwrap(),
    };
    let outside = run.child.pid().as_raw();
    assert!(run.finish().success(), "getpid() inside was not 1");
    assert_eq!(outside, x);
}

#[test]
fn pid_one_in_the_current_namespace_is_eexist() {
    require_root!("needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE");
    let tids = [Pid::from_raw(1)];
    let mut builder = CloneBuilder::new();
    builder.set_tid(&tids);
    // SAFETY: the child would only exit.
    let result = unsafe { fork_with(&mut builder, |_| 0) };
    match result {
        Err(Error::Sys { errno, .. }) => assert_eq!(errno, Errno::EEXIST),
        Err(Error::Unsupported { .. }) => skip!("no clone3"),
        Err(other) => panic!("expected EEXIST, got {other}"),
        Ok(run) => {
            run.finish();
            panic!("a second pid 1 was created");
        }
    };
}

#[test]
fn deeper_than_the_nesting_is_refused_before_the_call() {
    let d = depth();
    let ones = vec![Pid::from_raw(1); d + 2];
    let mut builder = CloneBuilder::new();
    builder.set_tid(&ones[..d + 1]);
    assert_eq!(rule(&builder), Some(Rule::SetTidTooDeep));
    builder.flags(CloneFlags::NEWPID);
    assert_eq!(rule(&builder), None, "one more level with CLONE_NEWPID");
    builder.set_tid(&ones[..d + 2]);
    assert_eq!(rule(&builder), Some(Rule::SetTidTooDeep));
    let err = builder.check().unwrap_err().to_string();
    assert!(err.contains("depth"), "{err}");

    let many = [Pid::from_raw(1); 33];
    assert_eq!(
        rule(CloneBuilder::new().set_tid(&many)),
        Some(Rule::SetTidTooLong)
    );
    assert_eq!(rule(CloneBuilder::new().set_tid(&[])), Some(Rule::SetTidEmpty));
    let zero = [Pid::from_raw(0)];
    assert_eq!(
        rule(CloneBuilder::new().set_tid(&zero)),
        Some(Rule::SetTidNotPositive)
    );
    let two = [Pid::from_raw(2)];
    assert_eq!(
        rule(CloneBuilder::new().flags(CloneFlags::NEWPID).set_tid(&two)),
        Some(Rule::SetTidNewpidNotOne)
    );
}

/// The kernel agrees: each rule the builder reports, sent raw, is EINVAL.
#[rstest]
#[case::too_deep(0, 1, Rule::SetTidTooDeep)]
#[case::too_deep_with_newpid(libc::CLONE_NEWPID as u64, 2, Rule::SetTidTooDeep)]
#[case::not_positive(0, 0, Rule::SetTidNotPositive)]
#[case::newpid_not_one(libc::CLONE_NEWPID as u64, -1, Rule::SetTidNewpidNotOne)]
fn the_kernel_says_einval_for_the_same_rules(#[case] flags: u64, #[case] shape: i32, #[case] expected: Rule) {
    require_root!("needs root (EPERM would come first)");
    require_clone3!();
    // shape > 0: that many PIDs beyond the depth; 0: one PID of 0; -1: [2].
    let tids: Vec<libc::pid_t> = match shape {
        0 => vec![0],
        -1 => vec![2],
        extra => vec![1; depth() + extra as usize],
    };
    let pids: Vec<Pid> = tids.iter().map(|&t| Pid::from_raw(t)).collect();
    let clone_flags = CloneFlags::from_bits(flags).unwrap();
    assert_eq!(
        rule(CloneBuilder::new().flags(clone_flags).set_tid(&pids)),
        Some(expected)
    );
    let args = raw::CloneArgs {
        flags,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: tids.as_ptr() as u64,
        set_tid_size: tids.len() as u64,
        cgroup: 0,
    };
    // SAFETY: alloc_pid refuses these before any process is made; if it
    // did not, the child exits at once.
    match unsafe { raw::clone3(&args) } {
        Err(errno) => assert_eq!(errno, Errno::EINVAL, "{tids:?}"),
        // SAFETY: the unexpected child ends at once.
        Ok(None) => unsafe { raw::exit_group(0) },
        Ok(Some(pid)) => {
            let _ = raw::wait4(pid, libc::__WALL);
            panic!("the kernel took set_tid {tids:?}");
        }
    }
}
