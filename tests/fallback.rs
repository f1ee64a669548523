//! What the builder does where clone3 is absent: children of this (single
//! threaded) program install a seccomp filter that makes clone3 fail with
//! ENOSYS (as on a pre-5.3 kernel) or EPERM (as under older container
//! runtimes), then check that `Syscall::Auto` falls back to legacy clone for
//! everything it can carry and answers `Error::Unsupported` for the rest. A
//! third child, without a filter but without privileges, checks that a real
//! EPERM from clone3 is not misread as "clone3 is absent".
//!
//! The probe result is cached per process and a fork inherits it: the
//! program warms it first, so the children must find out again from a failed
//! clone3. Each child records each check in a shared page; this program
//! prints one line per check and `N passed, N failed, N skipped`, and fails
//! if any failed.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::Ordering;

use clonekit::{raw, CloneBuilder, CloneFlags, Errno, Error, Forked, Pid, Syscall, TidSlot};

#[macro_use]
mod support;

use support::fork::wait_bounded;
use support::pipe_child::NOBODY;
use support::rerun::only_listing;
use support::seccomp::refuse;
use support::shared_page::SharedPage;
use support::{report_skip, DEADLINE, THREAD};

/// A check's result in the shared page.
const NOT_RUN: i32 = 0;
const PASSED: i32 = 1;
const FAILED: i32 = 2;

/// Where a check's details go: `DETAIL + index`.
const DETAIL: usize = 512;

/// The checks a child without clone3 runs, in order.
const ABSENT_CHECKS: &[&str] = &[
    "seccomp filter installed",
    "Auto: plain spawn works (legacy clone)",
    "fork() works",
    "Auto: builder fork works",
    "Auto: spawn with a pidfd works",
    "Auto: thread-like spawn works and joins",
    "Auto: CLONE_CLEAR_SIGHAND is Unsupported with the filter's errno",
    "Auto: CLONE_INTO_CGROUP is Unsupported with the filter's errno",
    "Auto: set_tid is Unsupported with the filter's errno",
    "Clone3: plain spawn is Unsupported with the filter's errno",
    "Clone3: builder fork is Unsupported with the filter's errno",
    "check() now knows clone3 is absent (cached)",
    "Auto: plain spawn still works afterwards",
];

/// The checks of the unprivileged child, in order.
const EPERM_CHECKS: &[&str] = &[
    "running as an unprivileged user",
    "clone3 EPERM for CLONE_NEWUTS is Sys, not Unsupported",
    "check() still finds clone3 (the probe was not fooled)",
    "Auto: CLONE_CLEAR_SIGHAND still works",
];

fn main() {
    if only_listing("fallback") {
        return;
    }
    // Warm the cached probe: this spawn needs clone3, so Auto probes it.
    // SAFETY: the child only returns 0.
    let warm = unsafe { CloneBuilder::new().flags(CloneFlags::CLEAR_SIGHAND).spawn(|| 0) };
    match warm {
        Ok(mut child) => {
            let status = wait_bounded(&mut child);
            assert_eq!(status.code(), Some(0), "the warm-up child");
        }
        Err(err) => {
            let why = format!("clone3 is not available even without a filter: {err}");
            report_skip("fallback", why);
            println!("0 passed, 0 failed, 1 skipped");
            return;
        }
    }

    let mut passed = 0;
    let mut failed = 0;
    let mut tally = |what: &str, checks: &[&str], page: &SharedPage| {
        for (i, name) in checks.iter().enumerate() {
            let detail = page.word(DETAIL + i).load(Ordering::SeqCst);
            let (verdict, ok) = match page.word(i).load(Ordering::SeqCst) {
                PASSED => ("ok", true),
                FAILED => ("FAILED", false),
                NOT_RUN => ("NOT RUN", false),
                _ => ("garbled", false),
            };
            println!(
                "{what}: {name} ... {verdict}{}",
                if ok {
                    String::new()
                } else {
                    format!(" (detail {detail})")
                }
            );
            if ok {
                passed += 1;
            } else {
                failed += 1;
            }
        }
    };
    for errno in [Errno::ENOSYS, Errno::EPERM] {
        let page = run_child(|page| without_clone3(errno, page));
        tally(&format!("clone3 -> {errno:?}"), ABSENT_CHECKS, &page);
    }
    let page = run_child(unprivileged_eperm);
    tally("unprivileged", EPERM_CHECKS, &page);

    println!("{passed} passed, {failed} failed, 0 skipped");
    if failed > 0 {
        std::process::exit(1);
    }
}

/// Runs `checks` in a forked child with a shared page, bounded in time.
fn run_child(checks: impl FnOnce(&SharedPage)) -> SharedPage {
    let page = SharedPage::new();
    // SAFETY: this program is single-threaded, so the child may allocate; it
    // ends with exit_group and never returns into main.
    match unsafe { clonekit::fork() }.expect("fork") {
        Forked::Child => {
            checks(&page);
            // SAFETY: the child is done.
            unsafe { raw::exit_group(0) }
        }
        Forked::Parent(mut child) => {
            let status = wait_bounded(&mut child);
            if status.code() != Some(0) {
                println!(
                    "a checking child ended with {status:?} (signal {:?})",
                    status.signal()
                );
            }
        }
    }
    page
}

/// Records check `i`.
fn record(page: &SharedPage, i: usize, ok: bool, detail: i32) {
    page.word(i)
        .store(if ok { PASSED } else { FAILED }, Ordering::SeqCst);
    page.word(DETAIL + i).store(detail, Ordering::SeqCst);
}

/// The detail for an error: its errno, or -1.
fn detail_of(err: &Error) -> i32 {
    err.errno().map_or(-1, |e| e as i32)
}

/// Spawns `builder`'s child running `|| 7` and says whether it exited with 7.
fn spawn_gives_7(builder: &mut CloneBuilder<'_>) -> Result<bool, Error> {
    // SAFETY: single-threaded program; the child only returns 7.
    let mut child = unsafe { builder.spawn(|| 7) }?;
    Ok(wait_bounded(&mut child).code() == Some(7))
}

/// Records whether `result` is `Unsupported` with `errno`.
fn record_unsupported<T>(page: &SharedPage, i: usize, result: Result<T, Error>, errno: Errno) {
    match result {
        Err(Error::Unsupported { errno: got, .. }) => record(page, i, got == errno, got as i32),
        Err(err) => record(page, i, false, detail_of(&err)),
        Ok(_) => record(page, i, false, 0),
    }
}

/// Records whether a spawn worked.
fn record_spawn(page: &SharedPage, i: usize, result: Result<bool, Error>) {
    match result {
        Ok(ok) => record(page, i, ok, 0),
        Err(err) => record(page, i, false, detail_of(&err)),
    }
}

/// The checks under a filter that makes clone3 fail with `errno`.
fn without_clone3(errno: Errno, page: &SharedPage) {
    if let Err(err) = refuse(libc::SYS_clone3, errno) {
        record(page, 0, false, err as i32);
        return;
    }
    // The filter works: clone3 itself now fails with `errno`.
    record(page, 0, raw::clone3_probe() == errno, 0);

    record_spawn(page, 1, spawn_gives_7(&mut CloneBuilder::new()));

    // SAFETY (both blocks): the child only exits.
    let forked = match unsafe { clonekit::fork() } {
        Ok(Forked::Child) => unsafe { raw::exit_group(5) },
        Ok(Forked::Parent(mut child)) => Ok(wait_bounded(&mut child).code() == Some(5)),
        Err(err) => Err(err),
    };
    record_spawn(page, 2, forked);

    // SAFETY (both blocks): the child only exits.
    let forked = match unsafe { CloneBuilder::new().fork() } {
        Ok(Forked::Child) => unsafe { raw::exit_group(6) },
        Ok(Forked::Parent(mut child)) => Ok(wait_bounded(&mut child).code() == Some(6)),
        Err(err) => Err(err),
    };
    record_spawn(page, 3, forked);

    // SAFETY: the child only returns 7.
    let with_pidfd = unsafe { CloneBuilder::new().pidfd(true).spawn(|| 7) }.map(|mut child| {
        let has_pidfd = child.pidfd().is_some();
        has_pidfd && wait_bounded(&mut child).code() == Some(7)
    });
    record_spawn(page, 4, with_pidfd);

    record_spawn(page, 5, thread_like_spawn());

    let mut builder = CloneBuilder::new();
    builder.flags(CloneFlags::CLEAR_SIGHAND);
    record_unsupported(page, 6, spawn_gives_7(&mut builder), errno);

    let dir = File::open("/").expect("open /");
    let mut builder = CloneBuilder::new();
    builder.cgroup(dir.as_fd());
    record_unsupported(page, 7, spawn_gives_7(&mut builder), errno);

    let tids = [Pid::from_raw(1)];
    let mut builder = CloneBuilder::new();
    builder.set_tid(&tids);
    record_unsupported(page, 8, spawn_gives_7(&mut builder), errno);

    let mut builder = CloneBuilder::new();
    builder.syscall(Syscall::Clone3);
    record_unsupported(page, 9, spawn_gives_7(&mut builder), errno);

    // SAFETY (both blocks): the fork is refused; if not, the child only exits.
    let forked = match unsafe { CloneBuilder::new().syscall(Syscall::Clone3).fork() } {
        Ok(Forked::Child) => unsafe { raw::exit_group(0) },
        Ok(Forked::Parent(mut child)) => {
            wait_bounded(&mut child);
            Ok(())
        }
        Err(err) => Err(err),
    };
    record_unsupported(page, 10, forked, errno);

    let checked = CloneBuilder::new().flags(CloneFlags::CLEAR_SIGHAND).check();
    record_unsupported(page, 11, checked, errno);

    record_spawn(page, 12, spawn_gives_7(&mut CloneBuilder::new()));
}

/// A thread-like child (legacy clone can carry every flag of it), joined
/// through its clear_child_tid slot.
fn thread_like_spawn() -> Result<bool, Error> {
    let slot = TidSlot::new();
    let seen = std::sync::atomic::AtomicI32::new(0);
    // SAFETY: the child only stores to an atomic it borrows; the handle is
    // dropped (and so joined) before `seen` and `slot` go.
    let child = unsafe {
        CloneBuilder::new()
            .flags(THREAD)
            .exit_signal(None)
            .clear_child_tid(&slot)
            .spawn(|| {
                seen.store(42, Ordering::SeqCst);
                0
            })
    }?;
    let joined = slot.wait_cleared(Some(DEADLINE));
    drop(child);
    Ok(joined && seen.load(Ordering::SeqCst) == 42)
}

/// Without privileges, clone3 with a namespace flag fails with EPERM though
/// clone3 exists: that must stay a `Sys` error, and the probe must not
/// conclude clone3 is absent.
fn unprivileged_eperm(page: &SharedPage) {
    // SAFETY: plain system calls on this process.
    let dropped = !support::is_root() || unsafe { libc::setgid(NOBODY) == 0 && libc::setuid(NOBODY) == 0 };
    record(page, 0, dropped, if dropped { 0 } else { Errno::last() as i32 });
    if !dropped {
        return;
    }
    let mut builder = CloneBuilder::new();
    builder.flags(CloneFlags::NEWUTS).syscall(Syscall::Clone3);
    match spawn_gives_7(&mut builder) {
        // The detail names the flag that needs the privilege.
        Err(Error::Sys {
            call: "clone3",
            errno: Errno::EPERM,
            detail: Some(detail),
        }) if detail.starts_with("CLONE_NEWUTS") => record(page, 1, true, 0),
        Err(err) => record(page, 1, false, detail_of(&err)),
        Ok(_) => record(page, 1, false, 0),
    }
    let checked = CloneBuilder::new().flags(CloneFlags::CLEAR_SIGHAND).check();
    record(
        page,
        2,
        checked.is_ok(),
        checked.err().as_ref().map_or(0, detail_of),
    );
    let mut builder = CloneBuilder::new();
    builder.flags(CloneFlags::CLEAR_SIGHAND);
    record_spawn(page, 3, spawn_gives_7(&mut builder));
}
