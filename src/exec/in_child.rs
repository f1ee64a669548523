//! The child's program: from the clone to `execve`, raw system calls only.
//!
//! What may NOT happen here. With `Strategy::CloneVfork` and
//! `Strategy::Vfork` this code runs on the parent's memory and the parent
//! thread's TLS (the parent thread is suspended, the others are not):
//!
//! - no allocation and no lock (another thread of the parent may hold the
//!   allocator's lock, and with `Fork` that thread does not exist here);
//! - no TLS, and so no libc wrapper that could set `errno`: every call goes
//!   through [`raw`]'s errno-free functions;
//! - no panic (no unwrap, no slice indexing, no overflowing arithmetic):
//!   unwinding would run into the parent's frames.
//!
//! The only memory written is the plan's atomics (the temporary fds of phase
//! one and the error word) and this stack.
//!
//! [`Exec::exec`](crate::Exec::exec) runs the same steps in the calling
//! process ([`Mode::Here`]), which goes on living when a step or the
//! `execve` fails, and whose other threads and owners of fds are still
//! there. There, and only there, a few steps take another form: fds that
//! would be closed are marked close-on-exec instead, a placement onto a
//! number above 2 takes only a free one (or one of the plan's own sources),
//! the ids change through libc's wrappers (which change every thread), a
//! hook's error is dropped, and on failure [`undo_fds`] puts the plan's fds
//! back. These forms allocate, lock or set `errno` (glibc's setxid
//! broadcast), which the vfork-like child must not.
//!
//! The order: the wait for the uid/gid maps (fork-like children only) →
//! signal handlers to `SIG_DFL` (unless `CLONE_CLEAR_SIGHAND` did it) →
//! `SIGPIPE` to `SIG_DFL` (unless kept) → the host name → `setsid` /
//! `setpgid` → fds (two phases) → `close_other_fds` → resource limits →
//! umask → `chroot` and `chdir("/")` → `setgroups`, `setgid`, `setuid` (std's
//! order, after every step that needs a privilege) → `chdir` (as the new
//! user, as std does) → death signal (after the ids: changing them clears
//! it), then the parent check → `no_new_privs` → the signal mask → the
//! `pre_exec` hooks (fork-like children only) → `execve` each candidate → on
//! failure, the error word and `exit_group(127)`.

// Unsafe is denied crate-wide; this file holds some: the program that runs in the child.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::os::fd::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use nix::errno::Errno;
use nix::unistd::Pid;

use super::plan::{stage_code, Confinement, Identity, Plan, HOOKS_DONE, HOOKS_STARTED};
use super::steps::{Failed, Mode};
use crate::engine::signals::reset_handlers;
use crate::error::ExecStage;
use crate::raw;

/// The entry a vfork-like child jumps to on its own stack.
///
/// # Safety
///
/// `arg` points to a [`Plan`] prepared by the parent, which stays untouched
/// until the child execs or exits; the caller is a fresh child of a clone
/// whose parent blocked every signal.
pub(crate) unsafe extern "C" fn entry(arg: *mut c_void) -> ! {
    // SAFETY: guaranteed by the caller.
    unsafe { run(&*arg.cast::<Plan>()) }
}

/// Runs the plan and execs, or reports the failure and exits with 127.
///
/// # Safety
///
/// As for [`entry`]: only a fresh child of `Exec` may call this.
pub(crate) unsafe fn run(plan: &Plan) -> ! {
    let mut report_fd = plan.spawn.report_fd;
    let (stage, errno) = match prepare(plan, &mut report_fd, Mode::Child) {
        Err(failed) => failed,
        Ok(()) => (ExecStage::Exec, exec(plan)),
    };
    report(plan, report_fd, stage, errno);
    // SAFETY: this child holds nothing anyone else borrows.
    unsafe { raw::exit_group(127) }
}

/// Runs the plan in the calling process and execs ([`Exec::exec`](crate::Exec::exec)):
/// returns only the failure, which nobody else needs to be told, once the
/// plan's fds are back as they were ([`undo_fds`]) and `SIGPIPE` has its
/// disposition back.
pub(crate) fn run_here(plan: &Plan) -> Failed {
    let mut report_fd = -1;
    let mut sigpipe = raw::KernelSigaction::default();
    // SAFETY: a live pointer to write the old action to; nothing is set.
    let saved = plan.reset_sigpipe
        && unsafe { raw::rt_sigaction(libc::SIGPIPE, std::ptr::null(), &mut sigpipe) }.is_ok();
    let failed = match prepare(plan, &mut report_fd, Mode::Here) {
        Err(failed) => failed,
        Ok(()) => (ExecStage::Exec, exec(plan)),
    };
    undo_fds(plan);
    if saved {
        // SAFETY: the action read above, put back as it was.
        let _ = unsafe { raw::rt_sigaction(libc::SIGPIPE, &sigpipe, std::ptr::null_mut()) };
    }
    failed
}

/// Every step before `execve`.
fn prepare(plan: &Plan, report_fd: &mut RawFd, mode: Mode) -> Result<(), Failed> {
    let at = |stage| move |errno| (stage, errno);
    if plan.spawn.map_sync.0 >= 0 {
        wait_for_maps(plan.spawn.map_sync).map_err(at(ExecStage::IdMaps))?;
    }
    if plan.spawn.reset_handlers.load(Ordering::Relaxed) {
        reset_handlers().map_err(at(ExecStage::Signals))?;
    }
    if plan.reset_sigpipe {
        reset_sigpipe().map_err(at(ExecStage::Signals))?;
    }
    if let Some(name) = &plan.confinement.hostname {
        raw::sethostname(name).map_err(at(ExecStage::Hostname))?;
    }
    if plan.setsid {
        raw::setsid().map_err(at(ExecStage::Session))?;
    }
    if let Some(group) = plan.process_group {
        raw::setpgid(Pid::from_raw(0), group).map_err(at(ExecStage::ProcessGroup))?;
    }
    let steps = &plan.steps;
    steps.terminal.after_session(mode)?;
    place_fds(plan, report_fd, mode).map_err(at(ExecStage::Fds))?;
    if plan.close_other_fds {
        close_others(plan, *report_fd, mode).map_err(at(ExecStage::Fds))?;
    }
    steps.terminal.after_fds(mode)?;
    steps.files.actions(mode)?;
    confine(&plan.confinement)?;
    steps.scheduling.run(mode)?;
    steps.capabilities.before_ids(mode)?;
    become_identity(&plan.identity, mode)?;
    steps.capabilities.after_ids(mode)?;
    if !plan.cwd.is_null() {
        // SAFETY: the plan's string is alive and NUL-terminated.
        unsafe { raw::chdir(plan.cwd) }.map_err(at(ExecStage::Chdir))?;
    }
    steps.files.chdir(mode)?;
    if plan.death_signal != 0 {
        death_signal(plan).map_err(at(ExecStage::DeathSignal))?;
    }
    if plan.confinement.no_new_privs && !plan.spawn.nnp_at_clone.load(Ordering::Relaxed) {
        raw::set_no_new_privs().map_err(at(ExecStage::NoNewPrivs))?;
    }
    let mask = plan.sigmask.as_ref().unwrap_or(&plan.spawn.old_mask);
    // SAFETY: `mask` is a live sigset_t.
    unsafe { raw::rt_sigprocmask(libc::SIG_SETMASK, mask, std::ptr::null_mut()) }
        .map_err(at(ExecStage::SignalMask))?;
    if !plan.spawn.hooks.is_null() {
        // A hook may end this process itself (an abort, a panic under
        // `panic = "abort"`, an exit): the parent must not take the pipe's
        // end of file for a successful exec. It is told the hooks ran.
        note(*report_fd, HOOKS_STARTED);
        run_hooks(plan, mode).map_err(at(ExecStage::PreExec))?;
        note(*report_fd, HOOKS_DONE);
    }
    steps.landlock.run(mode)?;
    steps.scheduling.trace_me(mode)?;
    // Last: a filter may refuse any call the steps before make.
    steps.seccomp.run(mode)
}

/// Tells a fork child's parent how far the hooks got (`HOOKS_STARTED`,
/// `HOOKS_DONE`); nothing where there is no report pipe (`Exec::exec`).
fn note(report_fd: RawFd, mark: i32) {
    if report_fd >= 0 {
        write_record(report_fd, [mark, 0]);
    }
}

/// Writes one record to the report pipe, in one `write` (8 bytes, below
/// `PIPE_BUF`: never split). A short or failed write leaves the parent
/// seeing a plain exit with 127, which is all it can be.
fn write_record(report_fd: RawFd, words: [i32; 2]) {
    // SAFETY: `words` is 8 live bytes.
    let _ = unsafe { raw::write(report_fd, words.as_ptr().cast(), std::mem::size_of_val(&words)) };
}

/// Closes the write end of the id-map socket pair (so that a parent that
/// died is end-of-file), then blocks until the parent's byte says the maps
/// are written. End-of-file: the parent gave up (`ECANCELED`); it kills us.
fn wait_for_maps((read, write): (RawFd, RawFd)) -> Result<(), Errno> {
    // SAFETY: this child's own copy of the parent's end; nothing uses it.
    let _ = unsafe { raw::close(write) };
    let mut byte = 0u8;
    let got = loop {
        // SAFETY: a live one-byte buffer on this stack.
        match unsafe { raw::read(read, &mut byte, 1) } {
            Err(Errno::EINTR) => continue,
            other => break other,
        }
    };
    // SAFETY: as above; closed before anything is placed at its number.
    let _ = unsafe { raw::close(read) };
    match got? {
        1 => Ok(()),
        _ => Err(Errno::ECANCELED),
    }
}

/// The resource limits, the umask and the new root, before the ids change
/// (raising a hard limit or `chroot` need a privilege the new ids may lack).
fn confine(confinement: &Confinement) -> Result<(), Failed> {
    for &(resource, soft, hard) in confinement.rlimits.iter() {
        raw::setrlimit(resource, soft, hard).map_err(|errno| (ExecStage::Rlimit, errno))?;
    }
    if let Some(mask) = confinement.umask {
        raw::umask(mask);
    }
    if !confinement.root.is_null() {
        // SAFETY: the plan's string and a literal, both alive and
        // NUL-terminated. The child has its own root and working directory
        // (no CLONE_FS); going to the new "/" at once leaves no way out.
        unsafe { raw::chroot(confinement.root).and_then(|()| raw::chdir(c"/".as_ptr())) }
            .map_err(|errno| (ExecStage::Root, errno))?;
    }
    Ok(())
}

/// `setgroups`, `setgid`, `setuid`, in std's order. Without an explicit
/// list, the groups are dropped before a new gid or uid (so that the child
/// keeps none of root's), an `EPERM` ignored as std does (the caller may
/// change its own gid or uid back without `CAP_SETGID`).
///
/// The system calls change only the calling thread. A child has one thread,
/// so `Mode::Child` makes them raw. `Mode::Here` goes through libc's
/// wrappers, which signal every other thread of the process to make the same
/// call (glibc's setxid broadcast, as POSIX asks): a failed exec must not
/// leave one thread unprivileged and the others root.
fn become_identity(identity: &Identity, mode: Mode) -> Result<(), Failed> {
    let groups = |errno| (ExecStage::Groups, errno);
    let credentials = |errno| (ExecStage::Credentials, errno);
    let set_groups = |list: &[u32]| match mode {
        Mode::Child => raw::setgroups(list),
        // SAFETY: a live array of `list.len()` gid_t's (u32, as gid_t is).
        Mode::Here => Errno::result(unsafe { libc::setgroups(list.len(), list.as_ptr()) }).map(drop),
    };
    let set_gid = |gid| match mode {
        Mode::Child => raw::setgid(gid),
        // SAFETY: one integer.
        Mode::Here => Errno::result(unsafe { libc::setgid(gid) }).map(drop),
    };
    let set_uid = |uid| match mode {
        Mode::Child => raw::setuid(uid),
        // SAFETY: one integer.
        Mode::Here => Errno::result(unsafe { libc::setuid(uid) }).map(drop),
    };
    let drop_groups = || match set_groups(&[]) {
        Err(Errno::EPERM) => Ok(()),
        other => other.map_err(groups),
    };
    if let Some(list) = &identity.groups {
        set_groups(list).map_err(groups)?;
    }
    if let Some(gid) = identity.gid {
        if identity.groups.is_none() {
            drop_groups()?;
        }
        set_gid(gid).map_err(credentials)?;
    }
    if let Some(uid) = identity.uid {
        if identity.groups.is_none() {
            drop_groups()?;
        }
        set_uid(uid).map_err(credentials)?;
    }
    Ok(())
}

/// Runs the `pre_exec` hooks in order, the first failure stopping them: its
/// errno (`EINVAL` when the error has none, or the hook panicked).
///
/// In a fork-like child (`Mode::Child`) the error or the panic's payload is
/// leaked, not dropped: freeing may need a lock (the allocator's) that
/// another thread of the parent held when it forked us, and that thread does
/// not exist here to release it; the leak dies with the child a moment
/// later. In the calling process (`Mode::Here`), which goes on after the
/// failure, they are dropped as any value is.
fn run_hooks(plan: &Plan, mode: Mode) -> Result<(), Errno> {
    if plan.spawn.hooks.is_null() {
        return Ok(());
    }
    // SAFETY: set only for a fork-like child, which runs its own copy of the
    // Exec's hooks, or for `Exec::exec` in the calling process, which holds
    // `&mut Exec` for the whole call: either way nothing else uses them.
    let hooks = unsafe { &mut *plan.spawn.hooks };
    for hook in hooks.iter_mut() {
        match catch_unwind(AssertUnwindSafe(&mut **hook)) {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                let errno = err.raw_os_error().unwrap_or(libc::EINVAL);
                discard(err, mode);
                return Err(Errno::from_raw(errno));
            }
            Err(payload) => {
                discard(payload, mode);
                return Err(Errno::EINVAL);
            }
        }
    }
    Ok(())
}

/// Drops `value` (`Mode::Here`) or leaks it (`Mode::Child`; see
/// [`run_hooks`]). A drop that panics is caught, so that no unwinding leaves
/// [`Exec::exec`](crate::Exec::exec) with every signal still blocked; that
/// second payload is leaked, as std's runtime does with a payload whose drop
/// panics.
fn discard<T>(value: T, mode: Mode) {
    match mode {
        Mode::Child => std::mem::forget(value),
        Mode::Here => {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(value))) {
                std::mem::forget(payload);
            }
        }
    }
}

/// Sets `SIGPIPE` to `SIG_DFL`, as `std::process::Command` does: the Rust
/// runtime ignores it, and neither `reset_handlers` nor
/// `CLONE_CLEAR_SIGHAND` touches an ignored signal.
fn reset_sigpipe() -> Result<(), Errno> {
    let default = raw::KernelSigaction::default();
    // SAFETY: a live pointer; SIG_DFL needs no restorer. The child has its
    // own handler table (no CLONE_SIGHAND): the parent's is untouched.
    unsafe { raw::rt_sigaction(libc::SIGPIPE, &default, std::ptr::null_mut()) }
}

/// Places every fd in two phases, so that a source which is also another
/// move's target (3->4 with 4->3) is copied out of the way first. Placed fds
/// lose `FD_CLOEXEC`; the copies of phase one keep it and vanish at exec.
///
/// In `Mode::Here` a target above 2 that is not one of the plan's sources
/// must be free (`Exec::exec` refused an open one before any step): it is
/// taken with `F_DUPFD` from that very number, which fails rather than
/// replace an fd another thread opened there since. Each move records
/// whether it changed its target, for [`undo_fds`].
fn place_fds(plan: &Plan, report_fd: &mut RawFd, mode: Mode) -> Result<(), Errno> {
    let floor = plan.spawn.fd_floor;
    let moves = plan.moves.as_slice();
    let is_target = |fd: RawFd| moves.iter().any(|m| m.src >= 0 && m.dst == fd);
    let is_source = |fd: RawFd| moves.iter().any(|m| m.src == fd);
    for m in moves.iter() {
        m.tmp.store(m.src, Ordering::Relaxed);
        m.placed.store(false, Ordering::Relaxed);
    }
    if *report_fd >= 0 && is_target(*report_fd) {
        // SAFETY: plain integers; the copy is closed at exec.
        *report_fd = unsafe { raw::dup_above(*report_fd, floor) }?;
    }
    for m in moves.iter().filter(|m| m.src >= 0) {
        if m.src != m.dst && is_target(m.src) {
            // SAFETY: plain integers; the copy is closed at exec (or by
            // `undo_fds` in `Mode::Here`).
            let tmp = unsafe { raw::dup_above(m.src, floor) }?;
            m.tmp.store(tmp, Ordering::Relaxed);
        }
    }
    for m in moves.iter().filter(|m| m.src >= 0) {
        let src = m.tmp.load(Ordering::Relaxed);
        if src == m.dst {
            if mode == Mode::Here && raw::fcntl_getfd(src)? & libc::FD_CLOEXEC == 0 {
                continue; // nothing to change, nothing to put back
            }
            // SAFETY: the plan's own source (a child's copy of it, or in
            // `Mode::Here` the `Exec`'s, its flag put back on failure).
            unsafe { raw::fcntl_setfd(src, 0) }?;
        } else if mode == Mode::Here && m.dst > 2 && !is_source(m.dst) {
            // SAFETY: only a new fd is made, at the lowest free number
            // from `dst`; a copy that lands elsewhere is ours to close.
            let got = unsafe { raw::dup_above(src, m.dst) }?;
            if got != m.dst {
                // SAFETY: `got` was made just above and nothing has it.
                let _ = unsafe { raw::close(got) };
                return Err(Errno::EBUSY);
            }
            m.placed.store(true, Ordering::Relaxed);
            // SAFETY: the fd made just above.
            unsafe { raw::fcntl_setfd(got, 0) }?;
        } else {
            // SAFETY: the child's own copy of the fd table, the target what
            // the plan asks to replace; in `Mode::Here` a number 0 to 2 (std
            // replaces those too) or another move's source, which the plan
            // owns and `undo_fds` puts back from its copy.
            unsafe { raw::dup3(src, m.dst, 0) }?;
        }
        m.placed.store(true, Ordering::Relaxed);
    }
    Ok(())
}

/// After a failure in `Mode::Here`: puts every source that phase one copied
/// back at its number from the copy and closes the copy, closes each target
/// above 2 made from a free number, and gives `FD_CLOEXEC` back to a source
/// placed at its own number. Targets 0 to 2 stay replaced, as with std.
fn undo_fds(plan: &Plan) {
    let moves = plan.moves.as_slice();
    let is_source = |fd: RawFd| moves.iter().any(|m| m.src == fd);
    for m in moves.iter().filter(|m| m.src >= 0) {
        let placed = m.placed.load(Ordering::Relaxed);
        if m.dst > 2 && placed && m.src != m.dst && !is_source(m.dst) {
            // SAFETY: made by `place_fds` at a number that was free; the
            // plan's alone.
            let _ = unsafe { raw::close(m.dst) };
        } else if m.dst > 2 && placed && m.src == m.dst {
            // SAFETY: the plan's own source, given its flag back.
            let _ = unsafe { raw::fcntl_setfd(m.src, libc::FD_CLOEXEC) };
        }
    }
    for m in moves.iter().filter(|m| m.src >= 0) {
        let tmp = m.tmp.load(Ordering::Relaxed);
        if tmp != m.src {
            // SAFETY: `src` is the plan's own source (another move may have
            // been placed on it) and `tmp` the copy phase one made of it.
            let _ = unsafe { raw::dup3(tmp, m.src, libc::O_CLOEXEC) };
            // SAFETY: the copy, no longer used.
            let _ = unsafe { raw::close(tmp) };
            m.tmp.store(m.src, Ordering::Relaxed);
        }
    }
}

/// Closes every fd except 0, 1, 2, the placed targets and the error pipe;
/// in `Mode::Here` marks them close-on-exec instead: they belong to the
/// process, which may go on using them if the exec fails.
fn close_others(plan: &Plan, report_fd: RawFd, mode: Mode) -> Result<(), Errno> {
    let mut next: u32 = 0;
    for &kept in plan.keep.iter() {
        let kept = kept as u32;
        if kept > next {
            close_span(plan, next, kept - 1, report_fd, mode)?;
        }
        next = kept.saturating_add(1);
    }
    close_span(plan, next, u32::MAX, report_fd, mode)
}

/// Closes (or in `Mode::Here` marks close-on-exec) `first..=last`, except `skip`.
fn close_span(plan: &Plan, first: u32, last: u32, skip: RawFd, mode: Mode) -> Result<(), Errno> {
    if first > last {
        return Ok(());
    }
    if skip >= 0 && (first..=last).contains(&(skip as u32)) {
        let skip = skip as u32;
        if skip > first {
            close_span(plan, first, skip - 1, -1, mode)?;
        }
        if skip < last {
            close_span(plan, skip + 1, last, -1, mode)?;
        }
        return Ok(());
    }
    let flags = match mode {
        Mode::Child => 0,
        Mode::Here => libc::CLOSE_RANGE_CLOEXEC,
    };
    // SAFETY: the child's own fd table, nothing in it used before exec
    // except the kept fds, which are outside the range; in `Mode::Here`
    // nothing is closed, only marked.
    match unsafe { raw::close_range(first, last, flags) } {
        // Before Linux 5.9 (ENOSYS), or 5.11 for the flag (EINVAL): one
        // call per possible fd.
        Err(Errno::ENOSYS) | Err(Errno::EINVAL) => {
            let end = last.min(plan.fd_limit.saturating_sub(1));
            let mut fd = first;
            while fd <= end {
                // SAFETY: as above; EBADF (not open) is what most answer.
                let _ = unsafe {
                    match mode {
                        Mode::Child => raw::close(fd as RawFd),
                        // FD_CLOEXEC is the only fd flag: setting it alone loses nothing.
                        Mode::Here => raw::fcntl_setfd(fd as RawFd, libc::FD_CLOEXEC),
                    }
                };
                fd += 1;
            }
            Ok(())
        }
        other => other,
    }
}

/// Sets the parent-death signal, then checks the parent is still the one
/// that spawned us: if it died before the `prctl`, the signal was never
/// sent, so the child sends it to itself (it arrives once the mask is
/// restored, as it would have).
fn death_signal(plan: &Plan) -> Result<(), Errno> {
    raw::set_pdeathsig(plan.death_signal)?;
    let (parent, me) = raw::parent_and_self();
    if parent != plan.spawn.parent {
        raw::tkill(me, plan.death_signal)?;
    }
    Ok(())
}

/// Tries each candidate path with the rules of `execvpe`: ENOENT, ENOTDIR
/// (and the network-filesystem answers ESTALE, ENODEV, ETIMEDOUT) go on to
/// the next; EACCES goes on too but is what is reported if nothing else
/// worked; anything else (ENOEXEC, E2BIG, ...) stops the search. There is no
/// `/bin/sh` fallback for ENOEXEC.
fn exec(plan: &Plan) -> Errno {
    let argv = plan.argv.as_ptr();
    let envp = plan
        .envp
        .as_ref()
        .map_or(plan.spawn.environ, |envp| envp.as_ptr());
    if let Some(errno) = plan.steps.files.exec(argv, envp) {
        return errno;
    }
    let mut denied = false;
    let mut last = Errno::ENOENT;
    for &path in plan.paths.iter() {
        // SAFETY: the plan's strings and arrays are alive and terminated;
        // `environ` is libc's, valid at spawn time.
        match unsafe { raw::execve(path, argv, envp) } {
            Errno::EACCES => denied = true,
            errno @ (Errno::ENOENT | Errno::ENOTDIR | Errno::ESTALE | Errno::ENODEV | Errno::ETIMEDOUT) => {
                last = errno
            }
            errno => return errno,
        }
    }
    if denied {
        Errno::EACCES
    } else {
        last
    }
}

/// Tells the parent what failed: through the error pipe (`Fork`, whose
/// memory is a copy) or the plan's error word (shared memory).
fn report(plan: &Plan, report_fd: RawFd, stage: ExecStage, errno: Errno) {
    let words = [stage_code(stage), errno as i32];
    if report_fd >= 0 {
        write_record(report_fd, words);
    } else {
        plan.spawn.errno.store(words[1], Ordering::Relaxed);
        plan.spawn.stage.store(words[0], Ordering::Relaxed);
    }
}
