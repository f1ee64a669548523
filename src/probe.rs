//! [`probe`] and [`HostSupport`]: what this kernel and sandbox allow, found
//! out without risk; and the cached clone3 check the builder uses.

// Unsafe is denied crate-wide; this file holds some: throwaway children, created with the unsafe builder calls.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::fmt;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::builder::{CloneBuilder, Syscall};
use crate::child::{Child, Forked};
use crate::flags::CloneFlags;
use crate::raw;

/// What this kernel and sandbox allow, as found by [`probe`]: one flag per
/// feature, the kernel release, the cgroup v2 mount, the seccomp mode, and
/// for every feature a line saying how it was found or why it is missing
/// ([`features`](HostSupport::features)).
///
/// `Display` prints a table.
///
/// # Examples
///
/// ```
/// let host = clonekit::probe();
/// println!("{host}");
/// if !host.user_namespaces {
///     println!("no user namespaces: {}", host.reason("CLONE_NEWUSER").unwrap_or("?"));
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostSupport {
    /// `clone3` exists and is not refused by a seccomp filter (Linux 5.3).
    pub clone3: bool,
    /// `CLONE_PIDFD` works (Linux 5.2).
    pub clone_pidfd: bool,
    /// `CLONE_PIDFD` together with `CLONE_THREAD` works (Linux 6.9).
    pub thread_pidfd: bool,
    /// `CLONE_CLEAR_SIGHAND` works (clone3, Linux 5.5).
    pub clear_sighand: bool,
    /// `CLONE_INTO_CGROUP` works into the caller's own cgroup v2 directory
    /// (clone3, Linux 5.7).
    pub into_cgroup: bool,
    /// clone3 knows `CLONE_AUTOREAP` (Linux 7.1).
    pub autoreap: bool,
    /// clone3 knows `CLONE_NNP` (Linux 7.1).
    pub nnp: bool,
    /// clone3 knows `CLONE_PIDFD_AUTOKILL` (Linux 7.1).
    pub pidfd_autokill: bool,
    /// clone3 knows `CLONE_EMPTY_MNTNS` (Linux 7.1); making one needs
    /// `CAP_SYS_ADMIN`, as `CLONE_NEWNS` does.
    pub empty_mntns: bool,
    /// The caller can create a user namespace (`CLONE_NEWUSER`).
    pub user_namespaces: bool,
    /// The caller can create a PID namespace (`CLONE_NEWPID`).
    pub pid_namespaces: bool,
    /// The caller can create a time namespace (`CLONE_NEWTIME`, clone3,
    /// Linux 5.6).
    pub time_namespaces: bool,
    /// The caller can create a mount namespace (`CLONE_NEWNS`).
    pub mount_namespaces: bool,
    /// The caller can create a UTS namespace (`CLONE_NEWUTS`).
    pub uts_namespaces: bool,
    /// The caller can create an IPC namespace (`CLONE_NEWIPC`).
    pub ipc_namespaces: bool,
    /// The caller can create a network namespace (`CLONE_NEWNET`).
    pub net_namespaces: bool,
    /// The caller can create a cgroup namespace (`CLONE_NEWCGROUP`).
    pub cgroup_namespaces: bool,
    /// A process without privilege (uid and gid `nobody`, no capabilities)
    /// can create a user namespace: what rootless containers need.
    pub unprivileged_user_namespaces: bool,
    /// Where cgroup v2 is mounted (from `/proc/self/mountinfo`), if it is.
    pub cgroup2: Option<PathBuf>,
    /// The caller's seccomp mode (`Seccomp:` in `/proc/self/status`).
    pub seccomp: SeccompMode,
    /// The kernel release (`uname -r`).
    pub kernel: String,
    /// Every feature probed, in table order, with how it was found.
    pub features: Vec<Feature>,
}

/// One probed feature: its name, whether it is available, and the detail
/// (what was tried and what the kernel said, or why it was not tried).
///
/// # Examples
///
/// ```
/// let host = clonekit::probe();
/// for feature in host.features.iter().filter(|f| !f.available) {
///     println!("no {}: {}", feature.name, feature.detail);
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// What was probed, e.g. `"clone3"`, `"CLONE_NEWPID"`.
    pub name: &'static str,
    /// Whether it works for the caller.
    pub available: bool,
    /// How that was found, or why it does not work.
    pub detail: String,
}

/// A process's seccomp mode, as `/proc/<pid>/status` reports it.
///
/// # Examples
///
/// ```
/// use clonekit::{probe, SeccompMode};
/// if probe().seccomp == SeccompMode::Filter {
///     println!("a seccomp filter may refuse clone3 or namespaces here");
/// }
/// ```
///
/// # References
/// - [seccomp(2)](https://man7.org/linux/man-pages/man2/seccomp.2.html)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeccompMode {
    /// No filter (`0`).
    Disabled,
    /// Strict mode (`1`): only read, write, exit and sigreturn.
    Strict,
    /// One or more BPF filters (`2`): some calls may be refused (often
    /// clone3 with `EPERM` or `ENOSYS`, or namespace flags).
    Filter,
    /// The kernel does not say (no `CONFIG_SECCOMP`, or no /proc).
    Unknown,
}

impl HostSupport {
    /// The detail line of the feature called `name` (see
    /// [`features`](Self::features)), if it was probed.
    ///
    /// # Examples
    ///
    /// ```
    /// let host = clonekit::probe();
    /// if !host.clone3 {
    ///     println!("no clone3: {}", host.reason("clone3").unwrap_or("?"));
    /// }
    /// assert!(host.reason("clone3").is_some());
    /// assert_eq!(host.reason("no such feature"), None);
    /// ```
    pub fn reason(&self, name: &str) -> Option<&str> {
        self.features
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.detail.as_str())
    }
}

impl fmt::Display for HostSupport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.features.iter().map(|f| f.name.len()).max().unwrap_or(0);
        writeln!(f, "{:width$}  {:3}  detail", "feature", "ok")?;
        writeln!(f, "{:-<width$}  ---  {:-<40}", "", "")?;
        for feature in &self.features {
            let ok = if feature.available { "yes" } else { "no" };
            writeln!(f, "{:width$}  {ok:3}  {}", feature.name, feature.detail)?;
        }
        Ok(())
    }
}

/// Finds out what this kernel and sandbox allow, without risk to the
/// caller: clone3 is asked with arguments that cannot create a process, and
/// everything else is tried in throwaway children that exit at once (each
/// waited for at most a few seconds, then killed). A child created in new
/// namespaces does nothing there but exit.
///
/// Takes a few milliseconds (about twenty short-lived children); call it
/// once and keep the answer.
///
/// Works under any `SIGCHLD` disposition of the caller: ignored,
/// `SA_NOCLDWAIT`, or a handler that reaps with `waitpid(-1, ..)`, as
/// daemons often have. The throwaway children are created with no exit
/// signal ([`exit_signal(None)`](CloneBuilder::exit_signal)): the kernel
/// reaps on its own only children whose exit signal is `SIGCHLD`, and
/// `waitpid` without `__WALL` or `__WCLONE` finds only those, so neither can
/// take a probe child away before `probe` waits for it (with `__WALL`). The
/// caller's `SIGCHLD` handler is not run for them either.
///
/// # Examples
///
/// ```
/// let host = clonekit::probe();
/// assert!(!host.kernel.is_empty());
/// if host.clone3 {
///     println!("clone3 is here; INTO_CGROUP: {}", host.into_cgroup);
/// }
/// ```
///
/// # References
/// - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html),
///   [namespaces(7)](https://man7.org/linux/man-pages/man7/namespaces.7.html),
///   [user_namespaces(7)](https://man7.org/linux/man-pages/man7/user_namespaces.7.html),
///   [cgroups(7)](https://man7.org/linux/man-pages/man7/cgroups.7.html)
pub fn probe() -> HostSupport {
    let mut features = Vec::new();
    let mut push = |name: &'static str, answer: std::result::Result<String, String>| {
        let available = answer.is_ok();
        let detail = answer.unwrap_or_else(|why| why);
        features.push(Feature {
            name,
            available,
            detail,
        });
        available
    };

    let kernel = kernel_release();
    let clone3 = push(
        "clone3",
        match crate::engine::clone3_recheck() {
            Ok(()) => Ok("clone3 with an empty argument block answers EINVAL: it exists".into()),
            Err(errno) => Err(format!("{errno:?}: {}", clone3_absent_reason(errno))),
        },
    );
    let clone_pidfd = push("CLONE_PIDFD", try_child(CloneBuilder::new().pidfd(true)));
    let thread_pidfd = push(
        "CLONE_PIDFD with CLONE_THREAD",
        match crate::engine::thread_pidfd_works() {
            Ok(()) => Ok("pidfd_open(PIDFD_THREAD) works (Linux 6.9)".into()),
            Err(errno) => Err(format!("{errno:?}: thread pidfds came in Linux 6.9")),
        },
    );
    let clear_sighand = push(
        "CLONE_CLEAR_SIGHAND",
        needs_clone3(clone3).and_then(|()| {
            try_child(
                CloneBuilder::new()
                    .flags(CloneFlags::CLEAR_SIGHAND)
                    .syscall(Syscall::Clone3),
            )
        }),
    );
    let cgroup2 = cgroup2_mount();
    let cgroup_dir = cgroup2.as_deref().and_then(own_cgroup_dir);
    let into_cgroup = push(
        "CLONE_INTO_CGROUP",
        needs_clone3(clone3).and_then(|()| try_into_cgroup(cgroup2.as_deref(), cgroup_dir.as_deref())),
    );
    push(
        "cgroup2 mount",
        match (&cgroup2, &cgroup_dir) {
            (Some(mount), Some(dir)) => Ok(format!("{} (this process: {})", mount.display(), dir.display())),
            (Some(mount), None) => Err(format!(
                "{} is mounted but this process's cgroup is not under it",
                mount.display()
            )),
            (None, _) => Err("no cgroup2 file system in /proc/self/mountinfo".into()),
        },
    );

    let mut linux_7_1 = |name, flag| {
        let answer = needs_clone3(clone3).and_then(|()| match crate::engine::linux_7_1_flags_work(flag) {
            Ok(()) => Ok("clone3 knows it: a probe that creates no process got past the flag check".into()),
            Err(errno) => Err(format!(
                "{errno:?}: clone3 refuses it as an unknown bit (it came in Linux 7.1)"
            )),
        });
        push(name, answer)
    };
    let autoreap = linux_7_1("CLONE_AUTOREAP", CloneFlags::AUTOREAP);
    let nnp = linux_7_1("CLONE_NNP", CloneFlags::NNP);
    let pidfd_autokill = linux_7_1("CLONE_PIDFD_AUTOKILL", CloneFlags::PIDFD_AUTOKILL);
    let empty_mntns = linux_7_1("CLONE_EMPTY_MNTNS", CloneFlags::EMPTY_MNTNS);

    let mut namespace = |name, flag| {
        let answer = if flag == CloneFlags::NEWTIME {
            needs_clone3(clone3)
                .and_then(|()| try_child(CloneBuilder::new().flags(flag).syscall(Syscall::Clone3)))
        } else {
            try_child(CloneBuilder::new().flags(flag))
        };
        push(name, answer.map_err(|why| namespace_reason(flag, &why)))
    };
    let user_namespaces = namespace("CLONE_NEWUSER", CloneFlags::NEWUSER);
    let pid_namespaces = namespace("CLONE_NEWPID", CloneFlags::NEWPID);
    let mount_namespaces = namespace("CLONE_NEWNS", CloneFlags::NEWNS);
    let uts_namespaces = namespace("CLONE_NEWUTS", CloneFlags::NEWUTS);
    let ipc_namespaces = namespace("CLONE_NEWIPC", CloneFlags::NEWIPC);
    let net_namespaces = namespace("CLONE_NEWNET", CloneFlags::NEWNET);
    let cgroup_namespaces = namespace("CLONE_NEWCGROUP", CloneFlags::NEWCGROUP);
    let time_namespaces = namespace("CLONE_NEWTIME", CloneFlags::NEWTIME);
    let unprivileged_user_namespaces = push("unprivileged CLONE_NEWUSER", try_unprivileged_userns());

    let seccomp = seccomp_mode();
    push(
        "seccomp",
        match seccomp {
            SeccompMode::Disabled => Ok("no filter".into()),
            SeccompMode::Strict => Err("strict mode: almost every system call kills".into()),
            SeccompMode::Filter => {
                Err("a filter is installed: calls it refuses show up above as EPERM or ENOSYS".into())
            }
            SeccompMode::Unknown => Err("not reported by /proc/self/status".into()),
        },
    );
    push("kernel", Ok(kernel.clone()));

    HostSupport {
        clone3,
        clone_pidfd,
        thread_pidfd,
        clear_sighand,
        into_cgroup,
        autoreap,
        nnp,
        pidfd_autokill,
        empty_mntns,
        user_namespaces,
        pid_namespaces,
        time_namespaces,
        mount_namespaces,
        uts_namespaces,
        ipc_namespaces,
        net_namespaces,
        cgroup_namespaces,
        unprivileged_user_namespaces,
        cgroup2,
        seccomp,
        kernel,
        features,
    }
}

/// How long a throwaway child may take to exit before it is killed.
const CHILD_TIMEOUT: Duration = Duration::from_secs(5);

fn needs_clone3(clone3: bool) -> std::result::Result<(), String> {
    if clone3 {
        Ok(())
    } else {
        Err("needs clone3, which is not available".into())
    }
}

fn clone3_absent_reason(errno: Errno) -> &'static str {
    match errno {
        Errno::ENOSYS => "the kernel is older than 5.3, or a seccomp filter answers ENOSYS",
        Errno::EPERM => "refused, most likely by a seccomp filter (e.g. an old container profile)",
        _ => "refused",
    }
}

/// Creates a child with `builder` that exits at once, and reaps it.
///
/// The child gets no exit signal, so that only `probe` can reap it, whatever
/// the caller does with `SIGCHLD`:
/// - The kernel reaps an exiting child on its own (and `wait4` then fails
///   with `ECHILD`) only when its exit signal is `SIGCHLD` and the parent
///   ignores `SIGCHLD` or set `SA_NOCLDWAIT` (`do_notify_parent` in
///   kernel/signal.c: `sig == SIGCHLD && (SIG_IGN || SA_NOCLDWAIT)`).
/// - A wait without `__WALL` takes only the children whose exit signal is
///   `SIGCHLD`, unless it passes `__WCLONE` (`eligible_child` in
///   kernel/exit.c: `(exit_signal != SIGCHLD) ^ __WCLONE`, unless `__WALL`),
///   so a handler's `waitpid(-1, ..)` leaves the child alone, while
///   [`Child::try_wait`] (`__WALL`) finds it.
/// - With an exit signal of 0 no signal is sent: the caller's `SIGCHLD`
///   handler does not even run.
fn try_child(builder: &mut CloneBuilder<'_>) -> std::result::Result<String, String> {
    builder.exit_signal(None);
    // SAFETY: the child only calls exit_group, which is async-signal-safe.
    match unsafe { builder.fork() } {
        Ok(Forked::Child) => unsafe { raw::exit_group(0) },
        Ok(Forked::Parent(child)) => reap_bounded(child).map(|()| "a child was created".into()),
        Err(err) => Err(err.to_string()),
    }
}

/// Waits at most [`CHILD_TIMEOUT`] for `child`, then kills and reaps it.
/// `Ok` when it exited with 0; otherwise the errno it exited with, as text.
fn reap_bounded(mut child: Child<'_>) -> std::result::Result<(), String> {
    let deadline = Instant::now() + CHILD_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return match status.code() {
                    Some(0) => Ok(()),
                    Some(code) => {
                        let errno = Errno::from_raw(code);
                        Err(format!("{errno:?}: {}", errno.desc()))
                    }
                    None => Err(format!("the probe child died: {status}")),
                }
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            Ok(None) => {
                let _ = child.kill(nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait();
                return Err("the probe child did not exit in time and was killed".into());
            }
            Err(err) => return Err(err.to_string()),
        }
    }
}

fn try_into_cgroup(mount: Option<&Path>, dir: Option<&Path>) -> std::result::Result<String, String> {
    let (Some(_), Some(dir)) = (mount, dir) else {
        return Err("no cgroup2 directory of this process to try".into());
    };
    let file = std::fs::File::open(dir).map_err(|e| format!("open {}: {e}", dir.display()))?;
    try_child(CloneBuilder::new().cgroup(file.as_fd()))
        .map(|_| format!("a child was placed in {}", dir.display()))
}

/// The reason a namespace flag failed, with what the errno usually means.
fn namespace_reason(flag: CloneFlags, why: &str) -> String {
    let hint = if why.contains("EINVAL") {
        " (this kernel was built without that namespace kind)"
    } else if why.contains("EPERM") && flag == CloneFlags::NEWUSER {
        " (see the unprivileged CLONE_NEWUSER row)"
    } else if why.contains("EPERM") {
        " (with CLONE_NEWUSER in the same call, the new user namespace gives the child that capability)"
    } else if why.contains("ENOSPC") {
        " (a /proc/sys/user/max_*_namespaces limit is reached)"
    } else {
        ""
    };
    format!("{why}{hint}")
}

/// Forks a helper that becomes `nobody` (uid and gid 65534, which clears
/// every capability) and tries `unshare(CLONE_NEWUSER)`.
fn try_unprivileged_userns() -> std::result::Result<String, String> {
    let sysctls = userns_sysctls();
    // No exit signal, for the reasons given at try_child.
    // SAFETY: the child makes only raw system calls, then exits.
    match unsafe { CloneBuilder::new().exit_signal(None).fork() } {
        Ok(Forked::Child) => {
            let code = match raw::setresgid(NOBODY, NOBODY, NOBODY)
                .and_then(|()| raw::setresuid(NOBODY, NOBODY, NOBODY))
                .and_then(|()| raw::unshare(CloneFlags::NEWUSER))
            {
                Ok(()) => 0,
                Err(errno) => errno as i32,
            };
            // SAFETY: nothing of this copy of the process is needed.
            unsafe { raw::exit_group(code) }
        }
        Ok(Forked::Parent(child)) => reap_bounded(child)
            .map(|()| format!("uid {NOBODY} could create one; {sysctls}"))
            .map_err(|why| format!("uid {NOBODY}: {why}; {sysctls}")),
        Err(err) => Err(err.to_string()),
    }
}

/// The uid and gid the unprivileged probe runs as.
const NOBODY: u32 = 65534;

/// The sysctls that restrict user namespaces, where this kernel has them.
fn userns_sysctls() -> String {
    let files = [
        ("user.max_user_namespaces", "/proc/sys/user/max_user_namespaces"),
        (
            "kernel.unprivileged_userns_clone",
            "/proc/sys/kernel/unprivileged_userns_clone",
        ),
        (
            "kernel.apparmor_restrict_unprivileged_userns",
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        ),
    ];
    let found: Vec<String> = files
        .iter()
        .filter_map(|(name, path)| {
            std::fs::read_to_string(path)
                .ok()
                .map(|v| format!("{name}={}", v.trim()))
        })
        .collect();
    if found.is_empty() {
        "no user namespace sysctls found".into()
    } else {
        found.join(", ")
    }
}

fn seccomp_mode() -> SeccompMode {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    match status
        .lines()
        .find_map(|line| line.strip_prefix("Seccomp:"))
        .map(str::trim)
    {
        Some("0") => SeccompMode::Disabled,
        Some("1") => SeccompMode::Strict,
        Some("2") => SeccompMode::Filter,
        _ => SeccompMode::Unknown,
    }
}

fn kernel_release() -> String {
    // SAFETY: utsname is plain old data; all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uts is a live utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return String::from("unknown");
    }
    // SAFETY: uname NUL-terminates release.
    unsafe { CStr::from_ptr(uts.release.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The first cgroup2 mount point in `/proc/self/mountinfo`.
pub(crate) fn cgroup2_mount() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let is_cgroup2 = right.split_whitespace().next()? == "cgroup2";
        let mount_point = left.split_whitespace().nth(4)?;
        is_cgroup2.then(|| PathBuf::from(mount_point))
    })
}

/// This process's cgroup v2 directory under `mount` (the `0::` line of
/// `/proc/self/cgroup`), if it exists there.
pub(crate) fn own_cgroup_dir(mount: &Path) -> Option<PathBuf> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|line| line.strip_prefix("0::"))?;
    let relative = path.trim_start_matches('/');
    let dir = if relative.is_empty() {
        mount.to_path_buf()
    } else {
        mount.join(relative)
    };
    dir.is_dir().then_some(dir)
}
