//! Every signature that takes or gives a type of another crate, used with
//! `clonekit::` paths only: a user needs no `nix`, `libc` or `bitflags`
//! dependency of their own (of the same version) to call them. This file
//! names no other crate; that it compiles is most of the test.

use std::time::Duration;

use clonekit::{
    bitflags, libc, raw, CloneBuilder, CloneFlags, Errno, Error, Exec, ExecChild, Pid, ResourceUsage, SigSet,
    Signal, Stdio, TidSlot,
};

#[test]
fn exec_setters_take_reexported_types() {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGUSR1);
    let mut exec = Exec::new("true");
    exec.sigmask(mask)
        .death_signal(Signal::SIGKILL)
        .process_group(Pid::from_raw(0))
        .stdout(Stdio::null());
    let mut child: ExecChild = exec.spawn().unwrap();
    let _: Pid = child.pid();
    child.signal(Signal::SIGCONT).unwrap();
    let (status, usage): (_, ResourceUsage) = child.wait_with_rusage().unwrap();
    assert!(status.success());
    let _: Duration = usage.user_time;
}

#[test]
fn errors_give_a_reexported_errno() {
    let err: Error = Exec::new("/no/such/program").spawn().unwrap_err();
    assert_eq!(err.errno(), Some(Errno::ENOENT));
}

#[test]
fn builder_takes_reexported_types() {
    let slot = TidSlot::new();
    let tids: [Pid; 0] = [];
    let mut builder = CloneBuilder::new();
    builder
        .exit_signal(Some(Signal::SIGCHLD))
        .set_tid(&tids)
        .child_tid(&slot);
    let _: Option<Pid> = slot.get();
    // Only the types matter here; whether these arguments go together is
    // the rules tests' concern.
    let _checked: clonekit::Result<()> = builder.check();
}

#[test]
fn flags_iterate_with_the_reexported_bitflags() {
    let flags = CloneFlags::VM | CloneFlags::FS;
    let iter: bitflags::iter::Iter<CloneFlags> = flags.iter();
    assert_eq!(iter.count(), 2);
}

#[test]
fn raw_calls_take_reexported_libc_types() {
    let set: libc::sigset_t = raw::full_sigset();
    let _ = set;
    let (read, write) = raw::pipe2(libc::O_CLOEXEC).unwrap();
    drop(write);
    let mut fds = [libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(&read),
        events: libc::POLLIN,
        revents: 0,
    }];
    assert_eq!(raw::poll(&mut fds, Some(Duration::from_secs(5))).unwrap(), 1);
}
