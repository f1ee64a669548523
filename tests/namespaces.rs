//! Each `CLONE_NEW*` flag, observed: what the child sees inside its new
//! namespace, and that the parent does not see it. Also: user namespaces
//! with uid/gid maps (privileged and unprivileged), EPERM without
//! `CAP_SYS_ADMIN` naming the flag, and that `probe()` agrees.
//!
//! Children run only async-signal-safe code and report through pipes and
//! exit codes; every wait is bounded.

use std::ffi::CStr;

use clonekit::{raw, CloneBuilder, CloneFlags, Errno, Error, IdMap, Rule, Syscall};
use rstest::rstest;

#[macro_use]
mod support;

use support::fork::wait_bounded;
use support::pipe_child::{become_nobody, c_len, fork_with, ns_inode, read_raw, NOBODY};

fn hostname() -> Vec<u8> {
    let mut buf = [0u8; 256];
    // SAFETY: a live buffer of that size.
    assert_eq!(
        unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) },
        0
    );
    buf[..c_len(&buf)].to_vec()
}

/// Each kind gets its own namespace: the child's `/proc/self/ns/<kind>`
/// differs from the parent's, and the parent's is unchanged.
#[rstest]
#[case::uts(CloneFlags::NEWUTS, "uts")]
#[case::pid(CloneFlags::NEWPID, "pid")]
#[case::mnt(CloneFlags::NEWNS, "mnt")]
#[case::net(CloneFlags::NEWNET, "net")]
#[case::ipc(CloneFlags::NEWIPC, "ipc")]
#[case::cgroup(CloneFlags::NEWCGROUP, "cgroup")]
#[case::time(CloneFlags::NEWTIME, "time")]
#[case::user(CloneFlags::NEWUSER, "user")]
fn child_gets_its_own_namespace(#[case] flag: CloneFlags, #[case] kind: &str) {
    require_root!();
    let path = format!("/proc/self/ns/{kind}\0");
    let outside = ns_inode(path.as_bytes());
    assert_ne!(outside, 0, "{path} is missing");
    let mut builder = CloneBuilder::new();
    builder.flags(flag);
    // SAFETY: the child only stats a prepared path and writes to a pipe.
    let mut run = unsafe {
        fork_with(&mut builder, |io| {
            let ino = ns_inode(path.as_bytes());
            if io.send(&ino.to_ne_bytes()) {
                0
            } else {
                1
            }
        })
    }
    .unwrap_or_else(|e| panic!("{flag:?}: {e}"));
    let inside = u64::from_ne_bytes(run.recv().expect("child's inode").try_into().unwrap());
    assert!(run.finish().success());
    assert_ne!(inside, 0);
    assert_ne!(inside, outside, "{kind}: the child is in the parent's namespace");
    assert_eq!(
        ns_inode(path.as_bytes()),
        outside,
        "{kind}: the parent's namespace changed"
    );
}

#[test]
fn uts_hostname_set_inside_is_not_seen_outside() {
    require_root!();
    let before = hostname();
    let name = b"clonekit-uts-test";
    // SAFETY: sethostname/gethostname and a pipe write: async-signal-safe.
    let mut run = unsafe {
        fork_with(CloneBuilder::new().flags(CloneFlags::NEWUTS), |io| {
            if libc::sethostname(name.as_ptr().cast(), name.len()) != 0 {
                return 2;
            }
            let mut buf = [0u8; 64];
            if libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) != 0 {
                return 3;
            }
            if !io.send(&buf[..c_len(&buf)]) || !io.wait_go() {
                return 4;
            }
            0
        })
    }
    .unwrap();
    let inside = run.recv().expect("hostname from the child");
    // Checked while the child is alive and still holds its hostname.
    assert_eq!(hostname(), before);
    run.go();
    assert!(run.finish().success());
    assert_eq!(inside, name);
    assert_eq!(hostname(), before);
}

#[test]
fn pid_child_is_one_inside_and_real_outside() {
    require_root!();
    // SAFETY: raw getpid/getppid and a pipe write.
    let mut run = unsafe {
        fork_with(CloneBuilder::new().flags(CloneFlags::NEWPID), |io| {
            let ids = [raw::getpid().as_raw(), raw::getppid().as_raw()];
            let mut bytes = [0u8; 8];
            bytes[..4].copy_from_slice(&ids[0].to_ne_bytes());
            bytes[4..].copy_from_slice(&ids[1].to_ne_bytes());
            i32::from(!io.send(&bytes))
        })
    }
    .unwrap();
    let ids = run.recv().expect("pids");
    let outside = run.child.pid().as_raw();
    assert!(run.finish().success());
    assert_eq!(
        i32::from_ne_bytes(ids[..4].try_into().unwrap()),
        1,
        "getpid() inside"
    );
    assert_eq!(
        i32::from_ne_bytes(ids[4..].try_into().unwrap()),
        0,
        "the parent is outside the namespace"
    );
    assert!(outside > 1, "the parent sees the real pid, got {outside}");
}

/// A scratch directory removed on drop, even when the test fails.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("clonekit-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn mount_tmpfs_inside_is_invisible_outside() {
    require_root!();
    let dir = TempDir::new("mnt");
    let target = format!("{}\0", dir.0.display());
    let file = format!("{}/inside\0", dir.0.display());
    // SAFETY: mount, open, close and pipe I/O on prepared strings.
    let mut run = unsafe {
        fork_with(CloneBuilder::new().flags(CloneFlags::NEWNS), |io| {
            let none = std::ptr::null::<libc::c_char>();
            // Without this, a shared / would propagate the tmpfs back out.
            if libc::mount(
                none,
                c"/".as_ptr(),
                none,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return 2;
            }
            if libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr().cast(),
                c"tmpfs".as_ptr(),
                0,
                std::ptr::null(),
            ) != 0
            {
                return 3;
            }
            let fd = libc::open(
                file.as_ptr().cast(),
                libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                0o600,
            );
            if fd < 0 {
                return 4;
            }
            libc::close(fd);
            if !io.send(b"mounted") || !io.wait_go() {
                return 5;
            }
            0
        })
    }
    .unwrap();
    assert_eq!(run.recv().as_deref(), Some(&b"mounted"[..]));
    // While the child keeps its mount: nothing of it shows here.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let visible = mountinfo.lines().any(|l| l.contains(dir.0.to_str().unwrap()));
    let file_here = dir.0.join("inside").exists();
    run.go();
    assert!(run.finish().success());
    assert!(!visible, "the child's tmpfs shows in the parent's mountinfo");
    assert!(!file_here, "a file made on the child's tmpfs is visible outside");
}

#[test]
fn net_only_loopback_inside() {
    require_root!();
    // SAFETY: raw open/read of a /proc file and a pipe write.
    let mut run = unsafe {
        fork_with(CloneBuilder::new().flags(CloneFlags::NEWNET), |io| {
            let mut buf = [0u8; 4096];
            let n = read_raw(b"/proc/self/net/dev\0", &mut buf);
            i32::from(n == 0 || !io.send(&buf[..n]))
        })
    }
    .unwrap();
    let dev = String::from_utf8(run.recv().expect("/proc/self/net/dev")).unwrap();
    assert!(run.finish().success());
    let names: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(names, ["lo"], "interfaces inside a new network namespace");
}

#[test]
fn ipc_queue_made_inside_is_not_visible_outside() {
    require_root!();
    let key: libc::key_t = 0x434b_0000 | (std::process::id() as libc::key_t & 0xffff);
    // SAFETY: msgget and pipe I/O.
    let mut run = unsafe {
        fork_with(CloneBuilder::new().flags(CloneFlags::NEWIPC), |io| {
            let id = libc::msgget(key, libc::IPC_CREAT | libc::IPC_EXCL | 0o600);
            if id < 0 || !io.send(&id.to_ne_bytes()) || !io.wait_go() {
                return 2;
            }
            0
        })
    }
    .unwrap();
    let id = run.recv().expect("queue id");
    // SAFETY: msgget without IPC_CREAT only looks the key up.
    let outside = unsafe { libc::msgget(key, 0) };
    let errno = Errno::last();
    let listed = std::fs::read_to_string("/proc/sysvipc/msg").unwrap_or_default();
    run.go();
    assert!(run.finish().success(), "the child could not make a queue");
    assert_eq!(id.len(), 4);
    assert_eq!(
        (outside, errno),
        (-1, Errno::ENOENT),
        "the child's queue is visible outside"
    );
    let key_text = key.to_string();
    assert!(
        !listed
            .lines()
            .any(|l| l.split_whitespace().next() == Some(key_text.as_str())),
        "the child's queue is listed in /proc/sysvipc/msg outside"
    );
}

/// NEWTIME through clone3: the kernel puts the child itself in the new time
/// namespace (`timens_on_fork`), not only the child's children as
/// `unshare(CLONE_NEWTIME)` does for the caller. Its `time_for_children`
/// is the same new namespace.
#[test]
fn time_child_is_in_the_new_namespace_itself() {
    require_root!();
    let outside = ns_inode(b"/proc/self/ns/time\0");
    let mut builder = CloneBuilder::new();
    builder.flags(CloneFlags::NEWTIME).syscall(Syscall::Clone3);
    // SAFETY: raw stat and a pipe write.
    let run = unsafe {
        fork_with(&mut builder, |io| {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&ns_inode(b"/proc/self/ns/time\0").to_ne_bytes());
            bytes[8..].copy_from_slice(&ns_inode(b"/proc/self/ns/time_for_children\0").to_ne_bytes());
            i32::from(!io.send(&bytes))
        })
    };
    let mut run = match run {
        Err(Error::Unsupported { .. }) => skip!("no clone3"),
        other => other.unwrap(),
    };
    let bytes = run.recv().expect("inodes");
    assert!(run.finish().success());
    let time = u64::from_ne_bytes(bytes[..8].try_into().unwrap());
    let for_children = u64::from_ne_bytes(bytes[8..].try_into().unwrap());
    assert_ne!(time, outside, "the child is in the parent's time namespace");
    assert_eq!(time, for_children);
}

#[test]
fn newtime_without_clone3_is_refused() {
    let err = CloneBuilder::new()
        .flags(CloneFlags::NEWTIME)
        .syscall(Syscall::Clone)
        .check()
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(c) if c.rule() == Rule::Clone3Only));
}

/// Reads `Uid:`/`Gid:` (real ids) of `pid` from /proc.
fn proc_ids(pid: i32) -> (u32, u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u32 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (field("Uid:"), field("Gid:"))
}

/// A map does not change the child's credentials: it still has the
/// creator's ids (here root, unmapped, so `nobody` inside). With the full
/// capabilities it has in its new namespace it then becomes root there,
/// which is uid 12345 / gid 23456 outside — a container's id shift.
#[test]
fn user_maps_make_root_inside_and_mapped_ids_outside() {
    require_root!("needs root to map other ids");
    let uid = [IdMap::single(0, 12345)];
    let gid = [IdMap::single(0, 23456)];
    let mut builder = CloneBuilder::new();
    builder.flags(CloneFlags::NEWUSER).uid_map(&uid).gid_map(&gid);
    // SAFETY: raw setres*id, getuid/getgid (no caching in glibc), pipe I/O.
    let mut run = unsafe {
        fork_with(&mut builder, |io| {
            if raw::setresgid(0, 0, 0).is_err() || raw::setresuid(0, 0, 0).is_err() {
                return 3;
            }
            let ids = [libc::getuid(), libc::getgid()];
            let mut bytes = [0u8; 8];
            bytes[..4].copy_from_slice(&ids[0].to_ne_bytes());
            bytes[4..].copy_from_slice(&ids[1].to_ne_bytes());
            if !io.send(&bytes) || !io.wait_go() {
                return 2;
            }
            0
        })
    }
    .unwrap();
    let bytes = run.recv().expect("ids");
    let outside = proc_ids(run.child.pid().as_raw());
    let map = std::fs::read_to_string(format!("/proc/{}/uid_map", run.child.pid())).unwrap();
    run.go();
    assert!(run.finish().success());
    assert_eq!(
        u32::from_ne_bytes(bytes[..4].try_into().unwrap()),
        0,
        "uid inside"
    );
    assert_eq!(
        u32::from_ne_bytes(bytes[4..].try_into().unwrap()),
        0,
        "gid inside"
    );
    assert_eq!(outside, (12345, 23456), "ids outside");
    assert_eq!(map.split_whitespace().collect::<Vec<_>>(), ["0", "12345", "1"]);
}

/// The unprivileged path: a helper becomes `nobody` (dropping every
/// capability), then creates a user namespace mapping root to itself; the
/// gid map needs `setgroups` denied, which `Setgroups::Auto` does.
#[test]
fn user_maps_work_unprivileged() {
    require_root!("needs root to become nobody first");
    if !clonekit::probe().unprivileged_user_namespaces {
        skip!("this host forbids unprivileged user namespaces");
    }
    let uid = [IdMap::single(0, NOBODY)];
    let gid = [IdMap::single(0, NOBODY)];
    let mut helper_builder = CloneBuilder::new();
    // SAFETY: the helper makes raw setres*id calls, then CloneBuilder::fork
    // with maps (whose parent side allocates nothing), and waits.
    let run = unsafe {
        fork_with(&mut helper_builder, |_| {
            if !become_nobody() {
                return 10;
            }
            // Changing ids made this process non-dumpable, and its
            // children's /proc files root's: the maps could not be written.
            if libc::prctl(libc::PR_SET_DUMPABLE, 1) != 0 {
                return 11;
            }
            let mut builder = CloneBuilder::new();
            builder.flags(CloneFlags::NEWUSER).uid_map(&uid).gid_map(&gid);
            match builder.fork() {
                Ok(clonekit::Forked::Child) => {
                    let root = libc::getuid() == 0 && libc::getgid() == 0;
                    raw::exit_group(if root { 0 } else { 1 })
                }
                Ok(clonekit::Forked::Parent(mut child)) => match child.wait() {
                    Ok(status) => status.code().unwrap_or(20),
                    Err(_) => 21,
                },
                Err(Error::Sys { errno, .. }) => 30 + (errno as i32).min(90),
                Err(_) => 29,
            }
        })
    }
    .unwrap();
    let status = run.finish();
    assert_eq!(
        status.code(),
        Some(0),
        "helper status {status} (10: setres*id, 1: not root inside, 30+errno: fork)"
    );
}

/// A refused map write names the file and the rule that refused it: an
/// unprivileged helper (`nobody`) maps root's uid (EPERM: only its own),
/// or its own uid and root's gid (EPERM: only its own, after setgroups
/// deny), or stays non-dumpable, as changing its ids left it, so that its
/// child's /proc files are root's (EACCES).
#[rstest]
#[case::uid_not_its_own(0, NOBODY, true, Errno::EPERM, "/proc/<pid>/uid_map: ", "CAP_SETUID")]
#[case::gid_not_its_own(NOBODY, 0, true, Errno::EPERM, "/proc/<pid>/gid_map: ", "CAP_SETGID")]
#[case::not_dumpable(
    NOBODY,
    NOBODY,
    false,
    Errno::EACCES,
    "/proc/<pid>/uid_map: ",
    "PR_SET_DUMPABLE"
)]
fn refused_map_write_names_the_file_and_the_rule(
    #[case] uid_outside: u32,
    #[case] gid_outside: u32,
    #[case] dumpable: bool,
    #[case] expected: Errno,
    #[case] file: &'static str,
    #[case] rule: &'static str,
) {
    require_root!("needs root to become nobody first");
    if !clonekit::probe().unprivileged_user_namespaces {
        skip!("this host forbids unprivileged user namespaces");
    }
    let uid = [IdMap::single(0, uid_outside)];
    let gid = [IdMap::single(0, gid_outside)];
    // SAFETY: the helper makes raw setres*id and prctl calls, then
    // CloneBuilder::fork with maps (whose parent side allocates nothing);
    // the error is inspected without allocating.
    let run = unsafe {
        fork_with(&mut CloneBuilder::new(), |_| {
            if !become_nobody() {
                return 10;
            }
            if dumpable && libc::prctl(libc::PR_SET_DUMPABLE, 1) != 0 {
                return 11;
            }
            let mut builder = CloneBuilder::new();
            builder.flags(CloneFlags::NEWUSER).uid_map(&uid).gid_map(&gid);
            match builder.fork() {
                Ok(clonekit::Forked::Child) => raw::exit_group(0),
                Ok(clonekit::Forked::Parent(mut child)) => {
                    let _ = child.wait();
                    1
                }
                Err(Error::Sys {
                    call: "write",
                    errno,
                    detail: Some(detail),
                }) if errno == expected && detail.starts_with(file) && detail.contains(rule) => 0,
                Err(Error::Sys { errno, .. }) if errno == expected => 2,
                Err(Error::Sys { errno, .. }) => 30 + (errno as i32).min(90),
                Err(_) => 3,
            }
        })
    }
    .unwrap();
    let status = run.finish();
    assert_eq!(
        status.code(),
        Some(0),
        "{file}{rule}: 1 written anyway, 2 {expected} without the file or rule, 3 another error, \
         30+errno another errno, 10 setres*id, 11 prctl"
    );
}

/// The variable that tells a helper test it runs as a helper.
const HELPER_ENV: &str = "CLONEKIT_NAMESPACES_HELPER";

#[test]
fn exec_refused_map_write_names_the_file_and_the_rule() {
    require_root!("needs root to become nobody first");
    if !clonekit::probe().unprivileged_user_namespaces {
        skip!("this host forbids unprivileged user namespaces");
    }
    let _serial = support::serial();
    support::rerun::expect_helper("exec_refused_map_helper", &[(HELPER_ENV, "1")], "EXEC MAP OK");
}

/// `Exec` with a uid map of root's uid, spawned by `nobody` (this helper
/// process's test thread): `Error::Exec` at `IdMaps`, whose detail names
/// the child's own map file and the rule.
#[test]
#[ignore = "helper process for exec_refused_map_write_names_the_file_and_the_rule"]
fn exec_refused_map_helper() {
    if std::env::var(HELPER_ENV).is_err() {
        skip!("only meaningful as a helper process");
    }
    assert!(become_nobody(), "setres*id");
    // Changing ids made this process non-dumpable; EPERM is the case here.
    // SAFETY: a plain prctl.
    assert_eq!(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1) }, 0);
    let err = clonekit::Exec::new("true")
        .namespaces(CloneFlags::NEWUSER)
        .uid_map(&[IdMap::single(0, 0)])
        .spawn()
        .unwrap_err();
    let Error::Exec {
        stage: clonekit::ExecStage::IdMaps,
        errno: Errno::EPERM,
        detail: Some(detail),
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(
        detail.starts_with("/proc/") && detail.contains("/uid_map: "),
        "{detail}"
    );
    assert!(
        !detail.contains("<pid>") && detail.contains("CAP_SETUID"),
        "{detail}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("spawning `true`: writing the uid/gid maps: /proc/"),
        "{message}"
    );
    println!("{message}");
    println!("EXEC MAP OK");
}

/// Without CAP_SYS_ADMIN, each NEW* flag but NEWUSER is EPERM, and the
/// error names the flag.
#[rstest]
#[case::uts(CloneFlags::NEWUTS, "CLONE_NEWUTS")]
#[case::pid(CloneFlags::NEWPID, "CLONE_NEWPID")]
#[case::mnt(CloneFlags::NEWNS, "CLONE_NEWNS")]
#[case::net(CloneFlags::NEWNET, "CLONE_NEWNET")]
#[case::ipc(CloneFlags::NEWIPC, "CLONE_NEWIPC")]
#[case::cgroup(CloneFlags::NEWCGROUP, "CLONE_NEWCGROUP")]
#[case::time(CloneFlags::NEWTIME, "CLONE_NEWTIME")]
fn without_cap_sys_admin_each_namespace_is_eperm_named(#[case] flag: CloneFlags, #[case] name: &'static str) {
    require_root!("needs root to drop privileges in a helper");
    // SAFETY: the helper makes raw setres*id calls and one fork whose child
    // exits at once; the error is inspected without allocating.
    let run = unsafe {
        fork_with(&mut CloneBuilder::new(), |_| {
            if !become_nobody() {
                return 10;
            }
            match CloneBuilder::new().flags(flag).fork() {
                Ok(clonekit::Forked::Child) => raw::exit_group(0),
                Ok(clonekit::Forked::Parent(mut child)) => {
                    let _ = child.wait();
                    1
                }
                Err(Error::Sys {
                    call: "clone" | "clone3",
                    errno: Errno::EPERM,
                    detail: Some(detail),
                }) if detail.contains(name) => 0,
                Err(Error::Sys {
                    errno: Errno::EPERM, ..
                }) => 2,
                Err(Error::Unsupported { .. }) => 3,
                Err(_) => 4,
            }
        })
    }
    .unwrap();
    let status = run.finish();
    assert_eq!(
        status.code(),
        Some(0),
        "{name}: 1 created anyway, 2 EPERM without the flag's name, 3 unsupported, 4 other error, 10 setres*id"
    );
}

#[test]
fn eperm_message_names_the_flag() {
    // The message a user sees, checked in the parent on a made-up failure:
    // Display of the error the helper above matched.
    let err = Error::Sys {
        call: "clone",
        errno: Errno::EPERM,
        detail: Some("CLONE_NEWNET needs CAP_SYS_ADMIN in the caller's user namespace"),
    };
    assert_eq!(
        err.to_string(),
        "clone failed: Operation not permitted (EPERM): \
         CLONE_NEWNET needs CAP_SYS_ADMIN in the caller's user namespace"
    );
}

#[test]
fn id_maps_need_newuser_and_own_memory() {
    let uid = [IdMap::single(0, 0)];
    let rule = |flags| match CloneBuilder::new().flags(flags).uid_map(&uid).check() {
        Err(Error::Conflict(c)) => Some(c.rule()),
        _ => None,
    };
    assert_eq!(rule(CloneFlags::empty()), Some(Rule::IdMapsWithoutNewuser));
    assert_eq!(
        rule(CloneFlags::NEWUSER | CloneFlags::VM),
        Some(Rule::IdMapsWithVm)
    );
    assert_eq!(
        rule(CloneFlags::NEWUSER | CloneFlags::FILES),
        Some(Rule::IdMapsWithFiles)
    );
    assert_eq!(rule(CloneFlags::NEWUSER), None);
}

#[test]
fn map_write_failure_kills_the_child_and_says_which_file() {
    require_root!();
    // Two lines mapping the same inside ids overlap: the kernel says EINVAL.
    let uid = [IdMap::single(0, 1000), IdMap::single(0, 2000)];
    let mut builder = CloneBuilder::new();
    builder.flags(CloneFlags::NEWUSER).uid_map(&uid);
    // SAFETY: the child would only exit.
    let err = unsafe { fork_with(&mut builder, |_| 0) }
        .err()
        .expect("overlapping maps must fail");
    assert_eq!(
        err,
        Error::Sys {
            call: "write",
            errno: Errno::EINVAL,
            detail: Some("/proc/<pid>/uid_map"),
        }
    );
}

#[test]
fn spawn_waits_for_maps_before_the_closure() {
    require_root!();
    // SAFETY: no arguments.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let uid = [IdMap::single(0, euid)];
    let gid = [IdMap::single(0, egid)];
    let mut builder = CloneBuilder::new();
    builder.flags(CloneFlags::NEWUSER).uid_map(&uid).gid_map(&gid);
    // SAFETY: the closure calls getuid/getgid only; no CLONE_VM.
    let mut child = unsafe {
        builder.spawn(|| {
            if libc::getuid() == 0 && libc::getgid() == 0 {
                0
            } else {
                1
            }
        })
    }
    .unwrap();
    assert_eq!(wait_bounded(&mut child).code(), Some(0));
}

/// `probe()` says yes exactly for the flags a child can be created with.
#[test]
fn probe_agrees_with_what_children_see() {
    let host = clonekit::probe();
    let cases = [
        (CloneFlags::NEWUSER, host.user_namespaces),
        (CloneFlags::NEWPID, host.pid_namespaces),
        (CloneFlags::NEWNS, host.mount_namespaces),
        (CloneFlags::NEWUTS, host.uts_namespaces),
        (CloneFlags::NEWIPC, host.ipc_namespaces),
        (CloneFlags::NEWNET, host.net_namespaces),
        (CloneFlags::NEWCGROUP, host.cgroup_namespaces),
        (CloneFlags::NEWTIME, host.time_namespaces),
    ];
    for (flag, said) in cases {
        // SAFETY: the child exits at once.
        let created = match unsafe { fork_with(CloneBuilder::new().flags(flag), |_| 0) } {
            Ok(run) => run.finish().success(),
            Err(_) => false,
        };
        assert_eq!(created, said, "{flag:?}: probe said {said}");
    }
    assert_eq!(host.clone3, support::has_clone3());
    let kernel = {
        // SAFETY: utsname is plain old data.
        let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: a live utsname.
        assert_eq!(unsafe { libc::uname(&mut uts) }, 0);
        // SAFETY: NUL-terminated by uname.
        unsafe { CStr::from_ptr(uts.release.as_ptr()) }
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(host.kernel, kernel);
    let table = host.to_string();
    for name in [
        "clone3",
        "CLONE_NEWUSER",
        "CLONE_INTO_CGROUP",
        "seccomp",
        "kernel",
    ] {
        assert!(table.contains(name), "the table lacks {name}:\n{table}");
    }
}
