//! `Child::kill` never signals a process or thread that reused the child's
//! pid or TID. Reuse is forced with clone3's `set_tid` (root only): the
//! stranger gets exactly the number the old child had.
//!
//! A program of its own (`harness = false`): it is single-threaded, so it
//! may block signals and fork helpers that allocate. It prints one line per
//! scenario (`ok`, `FAILED`, or `SKIP` with the reason), then the counts,
//! and fails if any failed.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use clonekit::{raw, CloneBuilder, CloneFlags, Errno, Error, Forked, Pid, Signal, Stack, TidSlot};
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};

#[macro_use]
mod support;

use support::fork::{reap_bounded, wait_bounded};
use support::rerun::only_listing;
use support::shared_page::SharedPage;
use support::{report_skip, wait_until, DEADLINE, THREAD};

/// A scenario's name and body.
type Scenario = (&'static str, fn() -> Outcome);

/// How a scenario ended.
enum Outcome {
    Ok,
    Failed(String),
    Skip(String),
}

fn main() {
    if only_listing("kill") {
        return;
    }
    let scenarios: [Scenario; 2] = [
        ("an exited CLONE_THREAD child's reused TID", thread_tid_reused),
        ("a reaped CLONE_PARENT child's reused pid", parent_pid_reused),
    ];
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, scenario) in scenarios {
        match scenario() {
            Outcome::Ok => {
                println!("kill: {name} ... ok");
                passed += 1;
            }
            Outcome::Skip(why) => {
                report_skip(&format!("kill: {name}"), why);
                skipped += 1;
            }
            Outcome::Failed(why) => {
                println!("kill: {name} ... FAILED: {why}");
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        std::process::exit(1);
    }
}

static GO: AtomicBool = AtomicBool::new(false);

/// Spins until [`GO`]: no TLS, no allocation.
fn spin_until_go() -> i32 {
    while !GO.load(Ordering::SeqCst) {
        std::hint::spin_loop();
    }
    0
}

/// Whether `SIGUSR1` is pending for thread `tid` of this process.
fn usr1_pending(tid: Pid) -> bool {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).unwrap_or_default();
    let mask = status
        .lines()
        .find_map(|line| line.strip_prefix("SigPnd:"))
        .and_then(|bits| u64::from_str_radix(bits.trim(), 16).ok())
        .unwrap_or(0);
    mask & (1 << (libc::SIGUSR1 - 1)) != 0
}

/// Thread A exits; thread B is created with A's TID; `A.kill` must not
/// reach B (it would with `tgkill` on the bare TID).
fn thread_tid_reused() -> Outcome {
    let mut usr1 = SigSet::empty();
    usr1.add(Signal::SIGUSR1);
    // Blocked here, so B (which starts with this mask on the old code) keeps
    // a stray SIGUSR1 pending where the test can see it.
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&usr1), None).expect("block SIGUSR1");
    let outcome = thread_tid_reused_blocked();
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&usr1), None).expect("unblock SIGUSR1");
    outcome
}

fn thread_tid_reused_blocked() -> Outcome {
    let slot_a = TidSlot::new();
    // SAFETY: the closure only returns; the handle is dropped, not forgotten.
    let mut a = unsafe {
        CloneBuilder::new()
            .flags(THREAD)
            .exit_signal(None)
            .clear_child_tid(&slot_a)
            .stack(Stack::new(64 * 1024).unwrap())
            .spawn(|| 0)
    }
    .expect("spawn thread A");
    let tid = a.pid();
    let freed = slot_a.wait_cleared(Some(DEADLINE))
        && wait_until(DEADLINE, || {
            !Path::new(&format!("/proc/self/task/{tid}")).exists()
        });
    if !freed {
        return Outcome::Failed("thread A did not exit".into());
    }
    GO.store(false, Ordering::SeqCst);
    let slot_b = TidSlot::new();
    let tids = [tid];
    // SAFETY: the closure spins on an atomic; the handle is dropped after it is joined.
    let b = unsafe {
        CloneBuilder::new()
            .flags(THREAD)
            .exit_signal(None)
            .clear_child_tid(&slot_b)
            .set_tid(&tids)
            .stack(Stack::new(64 * 1024).unwrap())
            .spawn(spin_until_go)
    };
    let b = match b {
        Ok(b) => b,
        Err(err) => return Outcome::Skip(format!("a thread with a chosen TID cannot be made here: {err}")),
    };
    let killed = a.kill(Signal::SIGUSR1);
    let stray = usr1_pending(tid);
    GO.store(true, Ordering::SeqCst);
    let joined = slot_b.wait_cleared(Some(DEADLINE));
    drop(b);
    match (killed, stray, joined) {
        (_, _, false) => Outcome::Failed("thread B did not finish".into()),
        (_, true, _) => Outcome::Failed("SIGUSR1 reached thread B, which reused A's TID".into()),
        (
            Err(Error::Sys {
                errno: Errno::ESRCH, ..
            }),
            false,
            true,
        ) => Outcome::Ok,
        (other, false, true) => {
            Outcome::Failed(format!("kill of an exited thread gave {other:?}, not ESRCH"))
        }
    }
}

/// Helper G creates a `CLONE_PARENT` child S (so S is this program's
/// child), which exits; this program reaps S and creates T with S's pid;
/// then G's `kill` on S must not reach T.
fn parent_pid_reused() -> Outcome {
    const PID: usize = 0;
    const READY: usize = 1;
    let page = SharedPage::new();
    // SAFETY: this program is single-threaded: the helper may allocate.
    let mut helper = match unsafe { clonekit::fork() }.expect("fork helper G") {
        Forked::Child => {
            let code = kill_reaped_sibling(&page, PID, READY);
            // SAFETY: the helper ends here.
            unsafe { raw::exit_group(code) }
        }
        Forked::Parent(helper) => helper,
    };
    if !wait_until(DEADLINE, || page.word(PID).load(Ordering::SeqCst) != 0) {
        wait_bounded(&mut helper);
        return Outcome::Failed("the helper made no CLONE_PARENT child".into());
    }
    let pid = Pid::from_raw(page.word(PID).load(Ordering::SeqCst));
    if let Err(errno) = reap_bounded(pid, libc::__WALL) {
        return Outcome::Failed(format!("reaping the CLONE_PARENT child: {errno}"));
    }
    let tids = [pid];
    // SAFETY: the child only pauses until it is killed.
    let stranger = match unsafe { CloneBuilder::new().set_tid(&tids).fork() } {
        Ok(Forked::Child) => loop {
            // SAFETY: pause has no preconditions.
            unsafe { libc::pause() };
        },
        Ok(Forked::Parent(stranger)) => Ok(stranger),
        Err(err) => Err(err),
    };
    page.word(READY).store(1, Ordering::SeqCst);
    let code = wait_bounded(&mut helper).code();
    let mut stranger = match stranger {
        Ok(stranger) => stranger,
        Err(err) => return Outcome::Skip(format!("a process with a chosen pid cannot be made here: {err}")),
    };
    let alive = matches!(stranger.try_wait(), Ok(None));
    stranger.kill(Signal::SIGKILL).expect("kill the stranger");
    stranger.wait().expect("reap the stranger");
    match (code, alive) {
        (_, false) => Outcome::Failed("the process that reused the pid was signalled".into()),
        (Some(0), true) => Outcome::Ok,
        (code, true) => Outcome::Failed(format!("the helper's kill did not answer ESRCH (exit {code:?})")),
    }
}

/// In helper G: makes the `CLONE_PARENT` child, publishes its pid, waits
/// until its pid was reused, then kills through its handle. Exits 0 when
/// `kill` answered `ESRCH`.
fn kill_reaped_sibling(page: &SharedPage, pid_word: usize, ready_word: usize) -> i32 {
    // SAFETY: the child only exits.
    let mut sibling = match unsafe {
        CloneBuilder::new()
            .flags(CloneFlags::PARENT)
            .exit_signal(None)
            .fork()
    } {
        // SAFETY: the forked child has its own memory and only exits.
        Ok(Forked::Child) => unsafe { raw::exit_group(0) },
        Ok(Forked::Parent(sibling)) => sibling,
        Err(_) => return 10,
    };
    page.word(pid_word)
        .store(sibling.pid().as_raw(), Ordering::SeqCst);
    if !wait_until(DEADLINE, || page.word(ready_word).load(Ordering::SeqCst) != 0) {
        return 11;
    }
    match sibling.kill(Signal::SIGTERM) {
        Err(Error::Sys {
            errno: Errno::ESRCH, ..
        }) => 0,
        Ok(()) => 12,
        Err(_) => 13,
    }
}
