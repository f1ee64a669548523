//! A caller that traces its own child. The kernel reports a ptrace stop to
//! the tracer from every wait, whatever the options (kernel/exit.c
//! `wait_task_stopped`): `Child` must never take that stop for the child's
//! end — not cache it as the status, not let go of a `CLONE_VM` child's
//! stack, not turn `kill` into a silent `Ok`.

use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, Ordering};

use clonekit::{CloneBuilder, CloneFlags, Forked, Pid, Signal, Stack};

#[macro_use]
mod support;

use support::{serial, wait_until, DEADLINE};

/// Seizes `pid` and stops it (`PTRACE_SEIZE` + `PTRACE_INTERRUPT`), then
/// waits until /proc shows it in a tracing stop. `Err` says why this host
/// forbids ptrace (Yama, a seccomp filter): the caller skips.
fn seize_and_stop(pid: Pid) -> Result<(), String> {
    let pid = pid.as_raw();
    // SAFETY: plain ptrace requests on our own child; no memory is passed.
    let seized = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0usize, 0usize) };
    if seized != 0 {
        return Err(format!(
            "ptrace is refused here: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: as above.
    assert_eq!(
        unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, pid, 0usize, 0usize) },
        0
    );
    assert!(
        wait_until(DEADLINE, || state_of(pid) == Some('t')),
        "the child never entered a tracing stop"
    );
    Ok(())
}

/// The state letter of `/proc/<pid>/stat` (`t`: tracing stop).
fn state_of(pid: libc::pid_t) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// The stop is still there for the tracer: `waitid` (`WNOWAIT`) sees it.
fn stop_still_reported(pid: Pid) -> bool {
    let options = libc::WEXITED | libc::WSTOPPED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL;
    // SAFETY: siginfo_t is plain old data; all-zero is valid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: our own child, a live siginfo_t; WNOWAIT changes nothing.
    let found = unsafe { libc::waitid(libc::P_PID, pid.as_raw() as libc::id_t, &mut info, options) };
    found == 0 && info.si_code == libc::CLD_TRAPPED
}

#[test]
fn a_ptrace_stop_is_not_the_end_of_a_forked_child() {
    let _serial = serial();
    // SAFETY: the child only pauses until it is killed (raw system calls).
    let mut child = match unsafe { CloneBuilder::new().fork() }.expect("fork") {
        Forked::Child => loop {
            // SAFETY: pause has no preconditions.
            unsafe { libc::pause() };
        },
        Forked::Parent(child) => child,
    };
    if let Err(why) = seize_and_stop(child.pid()) {
        child.kill(Signal::SIGKILL).unwrap();
        child.wait().unwrap();
        skip!("{why}");
    }
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "a ptrace stop was taken for the end"
    );
    assert!(
        stop_still_reported(child.pid()),
        "try_wait consumed the tracer's stop"
    );
    child.kill(Signal::SIGKILL).expect("kill a stopped child");
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
}

static GO: AtomicBool = AtomicBool::new(false);

#[test]
fn a_ptrace_stop_keeps_a_clone_vm_child_on_its_stack() {
    let _serial = serial();
    GO.store(false, Ordering::SeqCst);
    // SAFETY: the closure only spins on an atomic: no TLS, no allocation.
    let mut child = unsafe {
        CloneBuilder::new()
            .flags(CloneFlags::VM)
            .stack(Stack::new(64 * 1024).unwrap())
            .spawn(|| {
                while !GO.load(Ordering::SeqCst) {
                    std::hint::spin_loop();
                }
                5
            })
    }
    .expect("spawn");
    if let Err(why) = seize_and_stop(child.pid()) {
        GO.store(true, Ordering::SeqCst);
        child.wait().unwrap();
        skip!("{why}");
    }
    let seen = child.try_wait().unwrap();
    // Let it go before anything can fail (a failing test must not leave a
    // stopped child that the handle's drop would wait for): detach, which
    // resumes it, then release the spin.
    // SAFETY: a plain ptrace request on our tracee.
    let detached = unsafe { libc::ptrace(libc::PTRACE_DETACH, child.pid().as_raw(), 0usize, 0usize) };
    GO.store(true, Ordering::SeqCst);
    assert_eq!(detached, 0, "detach");
    assert_eq!(seen, None, "a ptrace stop was taken for the end");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(5), "{status:?}");
    assert!(child.into_stack().is_some());
}

/// The CPU time the calling thread has used.
fn thread_cpu() -> std::time::Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a live timespec.
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) },
        0
    );
    std::time::Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// A child that ended while another process traces it is a zombie only its
/// tracer may reap: its pidfd polls readable, yet `try_wait` finds nothing
/// to reap. `wait_timeout` must say "still running" at its deadline without
/// spinning on the readable pidfd meanwhile (it sleeps: less CPU than half
/// the wait, where spinning takes all of it), and `wait` must return the
/// status once the tracer is gone.
#[test]
fn wait_timeout_does_not_spin_on_a_zombie_another_process_traces() {
    let _serial = serial();
    let mut target = clonekit::Exec::new("sleep")
        .arg("100")
        .spawn()
        .expect("spawn sleep");
    let pid = target.pid();
    let (read, write) = nix::unistd::pipe().expect("pipe");
    // SAFETY: the tracer runs only raw calls (ptrace, write, pause).
    let mut tracer = match unsafe { clonekit::fork() }.expect("fork the tracer") {
        Forked::Child => {
            use std::os::fd::AsRawFd;
            // SAFETY: plain ptrace request; no memory is passed.
            let seized = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid.as_raw(), 0usize, 0usize) };
            let byte = [u8::from(seized == 0)];
            // SAFETY: a live 1-byte buffer; then wait to be killed.
            unsafe {
                libc::write(write.as_raw_fd(), byte.as_ptr().cast(), 1);
                loop {
                    libc::pause();
                }
            }
        }
        Forked::Parent(tracer) => tracer,
    };
    drop(write);
    let mut byte = [0u8];
    let got = nix::unistd::read(&read, &mut byte);
    let end = |tracer: &mut clonekit::Child<'_>| {
        tracer.kill(Signal::SIGKILL).expect("kill the tracer");
        tracer.wait().expect("reap the tracer");
    };
    if got != Ok(1) || byte[0] != 1 {
        end(&mut tracer);
        target.kill().expect("kill sleep");
        target.wait().expect("reap sleep");
        skip!("ptrace is refused here (the tracer could not seize its sibling)");
    }
    target.kill().expect("kill the traced child");
    let zombie = wait_until(DEADLINE, || state_of(pid.as_raw()) == Some('Z'));
    let before = thread_cpu();
    let waited = target.wait_timeout(std::time::Duration::from_millis(400));
    let used = thread_cpu() - before;
    end(&mut tracer);
    let status = target.wait();
    assert!(zombie, "the killed child never became a zombie");
    assert!(
        matches!(waited, Ok(None)),
        "wait_timeout gave {waited:?}, want Ok(None)"
    );
    assert!(
        used < std::time::Duration::from_millis(200),
        "wait_timeout spun: {used:?} of CPU in a 400 ms wait"
    );
    let status = status.expect("wait once the tracer is gone");
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}
