//! The `CLONE_NEW*` flags, `CLONE_INTO_CGROUP` and `set_tid`: whether the
//! child really is in a namespace of its own (its `/proc/self/ns/<kind>`
//! differs from the caller's), what that namespace changes (pid 1 inside,
//! a hostname the caller does not see, uid 0 through a map), which cgroup
//! the child starts in, and which PIDs set_tid gives it.
//!
//! Namespaces need `CAP_SYS_ADMIN` (except a user namespace, where the host
//! allows it): without it the row is a skip that names the flag. The cgroup
//! rows need root to make a cgroup under the cgroup2 mount; the caller makes
//! it before the helper runs and removes it afterwards, whatever happened.

use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use clonekit::{raw, Child, CloneBuilder, CloneFlags, Error, IdMap, Syscall};
use nix::errno::Errno;
use nix::unistd::Pid;

use super::helper::{in_helper, reap, step, yes_no, Abort, HoldPipe, NoVerdict, NOT_RUN};
use super::{clone_builder, observe, spec, Spec, Verdict};

#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    spec!("newuts/clone/with", "NEWUTS", "UTS namespace", Clone, true, uts),
    spec!("newuts/clone/without", "-NEWUTS", "UTS namespace", Clone, false, uts),
    spec!("newuts/clone3/with", "NEWUTS", "UTS namespace", Clone3, true, uts),
    spec!("newuts/clone3/without", "-NEWUTS", "UTS namespace", Clone3, false, uts),
    spec!("newuts/clone/hostname", "NEWUTS", "hostname (set by the child)", Clone, true, hostname),
    spec!("newpid/clone/with", "NEWPID", "PID namespace", Clone, true, pid),
    spec!("newpid/clone/without", "-NEWPID", "PID namespace", Clone, false, pid),
    spec!("newpid/clone3/with", "NEWPID", "PID namespace", Clone3, true, pid),
    spec!("newpid/clone3/without", "-NEWPID", "PID namespace", Clone3, false, pid),
    spec!("newpid/clone/getpid", "NEWPID", "getpid() inside and outside", Clone, true, getpid),
    spec!("newpid/clone/getpid_without", "-NEWPID", "getpid() inside and outside", Clone, false, getpid),
    spec!("newns/clone/with", "NEWNS", "mount namespace", Clone, true, mnt),
    spec!("newns/clone/without", "-NEWNS", "mount namespace", Clone, false, mnt),
    spec!("newns/clone3/with", "NEWNS", "mount namespace", Clone3, true, mnt),
    spec!("newns/clone3/without", "-NEWNS", "mount namespace", Clone3, false, mnt),
    spec!("newnet/clone/with", "NEWNET", "network namespace", Clone, true, net),
    spec!("newnet/clone/without", "-NEWNET", "network namespace", Clone, false, net),
    spec!("newnet/clone3/with", "NEWNET", "network namespace", Clone3, true, net),
    spec!("newnet/clone3/without", "-NEWNET", "network namespace", Clone3, false, net),
    spec!("newipc/clone/with", "NEWIPC", "IPC namespace", Clone, true, ipc),
    spec!("newipc/clone/without", "-NEWIPC", "IPC namespace", Clone, false, ipc),
    spec!("newipc/clone3/with", "NEWIPC", "IPC namespace", Clone3, true, ipc),
    spec!("newipc/clone3/without", "-NEWIPC", "IPC namespace", Clone3, false, ipc),
    spec!("newcgroup/clone/with", "NEWCGROUP", "cgroup namespace", Clone, true, cgroup_ns),
    spec!("newcgroup/clone/without", "-NEWCGROUP", "cgroup namespace", Clone, false, cgroup_ns),
    spec!("newcgroup/clone3/with", "NEWCGROUP", "cgroup namespace", Clone3, true, cgroup_ns),
    spec!("newcgroup/clone3/without", "-NEWCGROUP", "cgroup namespace", Clone3, false, cgroup_ns),
    spec!("newtime/clone3/with", "NEWTIME", "time namespace (the child's own)", Clone3, true, time),
    spec!("newtime/clone3/without", "-NEWTIME", "time namespace (the child's own)", Clone3, false, time),
    spec!("newuser/clone/with", "NEWUSER", "user namespace", Clone, true, user),
    spec!("newuser/clone/without", "-NEWUSER", "user namespace", Clone, false, user),
    spec!("newuser/clone3/with", "NEWUSER", "user namespace", Clone3, true, user),
    spec!("newuser/clone3/without", "-NEWUSER", "user namespace", Clone3, false, user),
    spec!("newuser/clone/maps", "NEWUSER + maps", "uid/gid inside (0 mapped to the caller's)", Clone, true, user_maps),
    spec!("newuser/clone3/maps", "NEWUSER + maps", "uid/gid inside (0 mapped to the caller's)", Clone3, true, user_maps),
    spec!("into_cgroup/clone3/with", "INTO_CGROUP", "the child's cgroup", Clone3, true, into_cgroup),
    spec!("into_cgroup/clone3/without", "-INTO_CGROUP", "the child's cgroup", Clone3, false, into_cgroup),
    spec!("set_tid/clone3/newpid_one", "set_tid [1] + NEWPID", "the child's pid inside", Clone3, true, set_tid_one),
    spec!("set_tid/clone3/two_levels", "set_tid [1, X] + NEWPID", "the child's pid outside", Clone3, true, set_tid_two),
    spec!("set_tid/clone3/taken", "set_tid [1]", "pid 1 of the caller's namespace", Clone3, true, set_tid_taken),
];

/// Words of the report page.
const OWN: usize = 0;
const CHILD: usize = 1;
const RAN: usize = 2;
const OUTSIDE: usize = 3;
const ERRNO: usize = 4;

/// The flag itself when `with`, else none.
fn flag_if(flag: CloneFlags, with: bool) -> CloneFlags {
    if with {
        flag
    } else {
        CloneFlags::empty()
    }
}

/// The inode of a namespace link; 0 when it cannot be read. Async-signal-safe.
fn ns_inode(path: &CStr) -> i64 {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a NUL-terminated path and a buffer for one stat.
    if unsafe { libc::stat(path.as_ptr(), st.as_mut_ptr()) } != 0 {
        return 0;
    }
    // SAFETY: stat succeeded, so it filled the buffer.
    unsafe { st.assume_init() }.st_ino as i64
}

/// Spawns with `builder`. `EPERM` for a namespace flag means the caller
/// lacks the privilege: a skip whose reason names the flag.
///
/// # Safety
///
/// As for [`CloneBuilder::spawn`].
pub(crate) unsafe fn spawn_privileged<'a, F>(
    builder: &mut CloneBuilder<'a>,
    work: F,
) -> Result<Child<'a>, Abort>
where
    F: FnOnce() -> i32 + Send + 'a,
{
    // SAFETY: forwarded from the caller.
    match unsafe { builder.spawn(work) } {
        Err(Error::Sys {
            call,
            errno: Errno::EPERM,
            detail,
        }) => Err(Abort::Error(
            "spawn",
            Error::Unsupported {
                feature: detail.unwrap_or(call),
                errno: Errno::EPERM,
            },
        )),
        other => step("spawn", other),
    }
}

/// [`spawn_privileged`], then reaps the child.
///
/// # Safety
///
/// As for [`CloneBuilder::spawn`].
unsafe fn spawn_ns<'a, F>(builder: &mut CloneBuilder<'a>, work: F) -> Result<(), Abort>
where
    F: FnOnce() -> i32 + Send + 'a,
{
    // SAFETY: forwarded from the caller.
    let mut child = unsafe { spawn_privileged(builder, work) }?;
    step("wait", reap(&mut child)).map(drop)
}

fn ns_words(kind: &str, own: bool) -> String {
    if own {
        format!("the child is in a new {kind} namespace")
    } else {
        format!("the child is in the caller's {kind} namespace")
    }
}

/// The row every kind shares: `/proc/self/ns/<kind>` in the child, against
/// the helper's.
fn namespace(via: Syscall, with: bool, flag: CloneFlags, link: &'static CStr, kind: &'static str) -> Verdict {
    observe(ns_words(kind, with), || {
        let page = in_helper(|page| {
            page.set(OWN, ns_inode(link));
            let work = || {
                page.set(CHILD, ns_inode(link));
                page.set(RAN, 1);
                0
            };
            // SAFETY: the child makes one stat and stores to atomics.
            unsafe { spawn_ns(&mut clone_builder(via, flag_if(flag, with)), work) }
        })?;
        match (page.get(RAN), page.get(OWN), page.get(CHILD)) {
            (0, _, _) => Ok(NOT_RUN.into()),
            (_, 0, _) | (_, _, 0) => Err(NoVerdict::Fail(format!(
                "{} cannot be read",
                link.to_string_lossy()
            ))),
            (_, own, child) => Ok(ns_words(kind, own != child)),
        }
    })
}

fn uts(via: Syscall, with: bool) -> Verdict {
    namespace(via, with, CloneFlags::NEWUTS, c"/proc/self/ns/uts", "UTS")
}

fn pid(via: Syscall, with: bool) -> Verdict {
    namespace(via, with, CloneFlags::NEWPID, c"/proc/self/ns/pid", "PID")
}

fn mnt(via: Syscall, with: bool) -> Verdict {
    namespace(via, with, CloneFlags::NEWNS, c"/proc/self/ns/mnt", "mount")
}

fn net(via: Syscall, with: bool) -> Verdict {
    namespace(via, with, CloneFlags::NEWNET, c"/proc/self/ns/net", "network")
}

fn ipc(via: Syscall, with: bool) -> Verdict {
    namespace(via, with, CloneFlags::NEWIPC, c"/proc/self/ns/ipc", "IPC")
}

fn cgroup_ns(via: Syscall, with: bool) -> Verdict {
    namespace(
        via,
        with,
        CloneFlags::NEWCGROUP,
        c"/proc/self/ns/cgroup",
        "cgroup",
    )
}

/// NEWTIME through clone3 puts the child itself in the new namespace (the
/// kernel's `timens_on_fork`), not only its children.
fn time(via: Syscall, with: bool) -> Verdict {
    namespace(via, with, CloneFlags::NEWTIME, c"/proc/self/ns/time", "time")
}

fn user(via: Syscall, with: bool) -> Verdict {
    namespace(via, with, CloneFlags::NEWUSER, c"/proc/self/ns/user", "user")
}

/// The name the child sets in its UTS namespace.
const CHILD_HOSTNAME: &[u8] = b"clonekit-verify";

fn hostname_words(seen: bool) -> &'static str {
    if seen {
        "the caller's hostname changed too"
    } else {
        "the caller's hostname is unchanged"
    }
}

/// Only with NEWUTS: without it the child would rename the host.
fn hostname(via: Syscall, _: bool) -> Verdict {
    observe(hostname_words(false), || {
        let page = in_helper(|page| {
            let work = || {
                // SAFETY: a live buffer of that length.
                let set = unsafe { libc::sethostname(CHILD_HOSTNAME.as_ptr().cast(), CHILD_HOSTNAME.len()) };
                page.set(RAN, if set == 0 { 1 } else { -1 });
                0
            };
            // SAFETY: the child makes one system call and stores to atomics.
            unsafe { spawn_ns(&mut clone_builder(via, CloneFlags::NEWUTS), work) }?;
            let mut name = [0u8; 65];
            // SAFETY: a live buffer, one byte longer than we let it fill.
            unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len() - 1) };
            let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            page.set(OUTSIDE, yes_no(&name[..len] == CHILD_HOSTNAME));
            Ok(())
        })?;
        Ok(match page.get(RAN) {
            0 => NOT_RUN.into(),
            -1 => "the child's sethostname failed".into(),
            _ => hostname_words(page.get(OUTSIDE) == 2).into(),
        })
    })
}

fn getpid_words(inside: i64, outside_real: bool) -> String {
    let outside = if outside_real {
        "its real pid"
    } else {
        "another pid"
    };
    if inside == 1 {
        format!("pid 1 inside; the caller sees {outside}")
    } else {
        let same = if outside_real { "the pid" } else { "not the pid" };
        format!("the child's getpid() is {same} the caller sees")
    }
}

fn getpid(via: Syscall, with: bool) -> Verdict {
    let expected = if with {
        getpid_words(1, true)
    } else {
        getpid_words(0, true)
    };
    observe(expected, || {
        let page = in_helper(|page| {
            let work = || {
                page.set(CHILD, i64::from(raw::getpid().as_raw()));
                page.set(RAN, 1);
                0
            };
            let mut builder = clone_builder(via, flag_if(CloneFlags::NEWPID, with));
            // SAFETY: the child makes one system call and stores to atomics.
            let mut child = unsafe { spawn_privileged(&mut builder, work) }?;
            page.set(OUTSIDE, i64::from(child.pid().as_raw()));
            step("wait", reap(&mut child))?;
            Ok(())
        })?;
        let (inside, outside) = (page.get(CHILD), page.get(OUTSIDE));
        Ok(match page.get(RAN) {
            0 => NOT_RUN.into(),
            _ if inside == 1 => getpid_words(1, outside > 1),
            _ => getpid_words(0, inside == outside),
        })
    })
}

fn user_maps_words(uid: i64, gid: i64) -> String {
    format!("uid {uid}, gid {gid} inside")
}

/// A user namespace whose root is the caller: the child is uid and gid 0
/// inside, through maps the parent writes before the child goes on.
fn user_maps(via: Syscall, _: bool) -> Verdict {
    // SAFETY: no arguments.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    observe(user_maps_words(0, 0), || {
        let uid = [IdMap::single(0, euid)];
        let gid = [IdMap::single(0, egid)];
        let page = in_helper(|page| {
            let work = || {
                // SAFETY: no arguments; glibc does not cache these.
                let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
                page.set(CHILD, i64::from(uid));
                page.set(OUTSIDE, i64::from(gid));
                page.set(RAN, 1);
                0
            };
            let mut builder = clone_builder(via, CloneFlags::NEWUSER);
            builder.uid_map(&uid).gid_map(&gid);
            // SAFETY: the child makes two system calls and stores to
            // atomics; writing the maps allocates nothing.
            unsafe { spawn_ns(&mut builder, work) }
        })?;
        Ok(match page.get(RAN) {
            0 => NOT_RUN.into(),
            _ => user_maps_words(page.get(CHILD), page.get(OUTSIDE)),
        })
    })
}

/// A cgroup made for one check under the cgroup2 mount, removed on drop
/// (retried while the kernel finishes the exit of its last process).
struct TestCgroup {
    dir: PathBuf,
    path: CString,
    procs: CString,
}

impl TestCgroup {
    fn new() -> Result<TestCgroup, NoVerdict> {
        let mount = super::host()
            .cgroup2
            .clone()
            .ok_or_else(|| NoVerdict::Skip("no cgroup2 mount".into()))?;
        let dir = mount.join(format!("clonekit-verify-{}-{}", std::process::id(), unique()));
        std::fs::create_dir(&dir).map_err(|e| NoVerdict::Skip(format!("cannot make a cgroup here: {e}")))?;
        let text = dir.to_string_lossy().into_owned();
        let path =
            CString::new(text.clone()).map_err(|_| NoVerdict::Fail("NUL in the cgroup path".into()))?;
        let procs = CString::new(format!("{text}/cgroup.procs"))
            .map_err(|_| NoVerdict::Fail("NUL in the path".into()))?;
        Ok(TestCgroup { dir, path, procs })
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for _ in 0..200 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn unique() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Whether the decimal `pid` is a line of `text`. Allocates nothing.
fn lists_pid(text: &[u8], pid: i64) -> bool {
    let mut digits = [0u8; 20];
    let mut n = pid;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    text.split(|&b| b == b'\n').any(|line| line == &digits[at..])
}

fn cgroup_words(inside: bool) -> &'static str {
    if inside {
        "the child starts in the given cgroup"
    } else {
        "the child starts in the caller's cgroup"
    }
}

fn into_cgroup(via: Syscall, with: bool) -> Verdict {
    observe(cgroup_words(with), || {
        let cgroup = TestCgroup::new()?;
        let page = in_helper(|page| {
            // SAFETY: a NUL-terminated path.
            let dir = unsafe {
                libc::open(
                    cgroup.path.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            };
            if dir < 0 {
                return Err(Abort::Broken("cannot open the test cgroup"));
            }
            // SAFETY: open returned a new descriptor, ours alone.
            let dir = unsafe { OwnedFd::from_raw_fd(dir) };
            let gate = HoldPipe::new()?;
            let work = || {
                gate.pass();
                0
            };
            let mut builder = clone_builder(via, CloneFlags::empty());
            if with {
                builder.cgroup(dir.as_fd());
            }
            // SAFETY: the child polls and reads a pipe, then exits.
            let mut child = step("spawn", unsafe { builder.spawn(work) })?;
            let mut text = [0u8; 4096];
            let len = read_file(&cgroup.procs, &mut text);
            page.set(RAN, 1);
            page.set(
                CHILD,
                yes_no(lists_pid(&text[..len], i64::from(child.pid().as_raw()))),
            );
            gate.open();
            step("wait", reap(&mut child))?;
            Ok(())
        })?;
        Ok(match page.get(RAN) {
            0 => NOT_RUN.into(),
            _ => cgroup_words(page.get(CHILD) == 2).into(),
        })
    })
}

/// Reads a file into `buf` with raw calls; the byte count (0 on failure).
fn read_file(path: &CStr, buf: &mut [u8]) -> usize {
    // SAFETY: a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return 0;
    }
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: a live descriptor and the buffer's unfilled tail.
        let n = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), buf.len() - got) };
        if n <= 0 {
            break;
        }
        got += n as usize;
    }
    // SAFETY: our descriptor.
    unsafe { libc::close(fd) };
    got
}

/// set_tid needs `CAP_SYS_ADMIN` or `CAP_CHECKPOINT_RESTORE` in every PID
/// namespace it names; root is taken as the sign of having them.
fn set_tid_privileged() -> Result<(), NoVerdict> {
    // SAFETY: no arguments.
    if unsafe { libc::geteuid() } == 0 {
        Ok(())
    } else {
        Err(NoVerdict::Skip(
            "set_tid needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE".into(),
        ))
    }
}

/// A builder with `flags` and `set_tid(tids)`, made before the helper is
/// forked: `set_tid` reads the PID namespace depth from /proc (it
/// allocates), which the helper of a multi-threaded caller must not do.
fn set_tid_builder(via: Syscall, flags: CloneFlags, tids: &[Pid]) -> CloneBuilder<'_> {
    let mut builder = clone_builder(via, flags);
    builder.set_tid(tids);
    builder
}

/// set_tid [1] with NEWPID: the child is pid 1 of its new namespace.
fn set_tid_one(via: Syscall, _: bool) -> Verdict {
    observe("pid 1", || {
        set_tid_privileged()?;
        let tids = [Pid::from_raw(1)];
        let builder = set_tid_builder(via, CloneFlags::NEWPID, &tids);
        let page = in_helper(|page| {
            let work = || {
                page.set(CHILD, i64::from(raw::getpid().as_raw()));
                0
            };
            // Moved in by value, so that its lifetime can shrink to that of
            // `work`, which borrows the page.
            let mut builder = builder;
            // SAFETY: one system call and a store.
            unsafe { spawn_ns(&mut builder, work) }
        })?;
        Ok(match page.get(CHILD) {
            0 => NOT_RUN.into(),
            pid => format!("pid {pid}"),
        })
    })
}

/// A pid free right now: high, below pid_max, not in /proc.
fn free_pid() -> Option<i32> {
    let max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let start = max - 1 - (std::process::id() as i32 % 1000);
    (300..start)
        .rev()
        .find(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
}

/// set_tid [1, X] with NEWPID: the caller sees the child as X.
fn set_tid_two(via: Syscall, _: bool) -> Verdict {
    observe("the caller sees the chosen pid", || {
        set_tid_privileged()?;
        let level = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .map(|l| l.split_whitespace().count())
        });
        if level != Some(1) {
            return Err(NoVerdict::Skip("needs the initial PID namespace".into()));
        }
        let x = free_pid().ok_or_else(|| NoVerdict::Skip("no free pid found".into()))?;
        let tids = [Pid::from_raw(1), Pid::from_raw(x)];
        let mut builder = set_tid_builder(via, CloneFlags::NEWPID, &tids);
        let page = in_helper(|page| {
            // SAFETY: the child only exits.
            let mut child = unsafe { spawn_privileged(&mut builder, || 0) }?;
            page.set(OUTSIDE, yes_no(child.pid().as_raw() == x));
            step("wait", reap(&mut child))?;
            Ok(())
        })?;
        Ok(match page.get(OUTSIDE) {
            0 => NOT_RUN.into(),
            2 => "the caller sees the chosen pid".into(),
            _ => "the caller sees another pid".into(),
        })
    })
}

/// set_tid [1] without NEWPID: pid 1 is taken, EEXIST.
fn set_tid_taken(via: Syscall, _: bool) -> Verdict {
    observe("EEXIST", || {
        set_tid_privileged()?;
        let tids = [Pid::from_raw(1)];
        let mut builder = set_tid_builder(via, CloneFlags::empty(), &tids);
        let page = in_helper(|page| {
            // SAFETY: the child, if created, only exits.
            match unsafe { spawn_privileged(&mut builder, || 0) } {
                Ok(mut child) => {
                    page.set(ERRNO, -1);
                    step("wait", reap(&mut child))?;
                }
                Err(Abort::Error(_, Error::Sys { errno, .. })) => page.set(ERRNO, errno as i64),
                Err(stop) => return Err(stop),
            }
            Ok(())
        })?;
        Ok(match page.get(ERRNO) {
            0 => NOT_RUN.into(),
            -1 => "a second pid 1 was created".into(),
            errno => format!("{:?}", Errno::from_raw(errno as i32)),
        })
    })
}
