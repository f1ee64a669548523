//! What a handle asks of its child through the pidfd: its info
//! (`PIDFD_GET_INFO`, Linux 6.13; the exit kept after the reap, 6.15), a
//! signal to the process group it leads (`PIDFD_SIGNAL_PROCESS_GROUP`, 6.9),
//! its namespaces as fds (the ioctls of 6.11, `/proc` checked by the pidfd
//! before). Each works where the kernel has it, and says `Unsupported` with
//! the version where it does not.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;

use clonekit::{CloneBuilder, Errno, Error, Exec, ExecChild, Pid, PidfdNamespace, Signal, Stdio};

#[macro_use]
mod support;

use support::procfs::kernel_version;
use support::{poll_until, DEADLINE};

fn sleeper() -> Exec {
    let mut exec = Exec::new("sleep");
    exec.arg("100");
    exec
}

fn end(mut child: ExecChild) {
    child.kill().expect("kill");
    child.wait().expect("wait");
}

fn unsupported(err: &Error, feature: &str) -> bool {
    matches!(err, Error::Unsupported { feature: f, .. } if *f == feature)
}

/// Whether `pid` has ended: gone, or a zombie no one reaped yet.
fn ended(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn info_describes_the_child_and_keeps_its_exit() {
    let kernel = kernel_version();
    let mut child = sleeper().pidfd(true).spawn().expect("spawn sleep");
    let info = match child.info() {
        Err(err) if kernel < (6, 13) => {
            assert!(unsupported(&err, "PIDFD_GET_INFO (Linux 6.13)"), "{err:?}");
            skip!("PIDFD_GET_INFO came in Linux 6.13: Unsupported here, as it must be");
        }
        other => other.expect("info of a running child"),
    };
    assert_eq!(info.pid, Some(child.pid()));
    assert_eq!(info.tgid, Some(child.pid()));
    assert_eq!(info.ppid, Some(Pid::from_raw(std::process::id() as i32)));
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(info.credentials.map(|c| c.euid), Some(euid));
    assert_eq!(info.exit, None, "it still runs");
    if let Some(dir) = own_cgroup_dir() {
        let ino = std::fs::metadata(&dir).expect("stat the cgroup").ino();
        assert_eq!(info.cgroup_id, Some(ino), "the cgroup id is {dir}'s inode");
    }

    child.kill().expect("kill");
    assert_eq!(child.wait().expect("wait").signal(), Some(libc::SIGKILL));
    match child.info() {
        Ok(info) => {
            assert!(kernel >= (6, 15), "{info:?}");
            assert_eq!(info.exit.map(|s| s.signal()), Some(Some(libc::SIGKILL)));
            assert_eq!(info.pid, None, "a reaped child has no pid");
        }
        Err(Error::Sys {
            errno: Errno::ESRCH, ..
        }) => assert!(kernel < (6, 15), "6.15 keeps the exit"),
        Err(err) => panic!("info after the reap: {err:?}"),
    }
}

#[test]
fn info_shows_the_credentials_the_child_runs_with() {
    require_root!("changing the child's ids needs root");
    if kernel_version() < (6, 13) {
        skip!("PIDFD_GET_INFO came in Linux 6.13");
    }
    let child = sleeper()
        .uid(65534)
        .gid(65534)
        .spawn()
        .expect("spawn sleep as nobody");
    // The ids change after the fork, before the exec: wait for the exec.
    let creds = poll_until(DEADLINE, || {
        let creds = child.info().expect("info").credentials?;
        (creds.euid == 65534).then_some(creds)
    })
    .expect("the child's ids changed");
    assert_eq!((creds.ruid, creds.suid, creds.fsuid), (65534, 65534, 65534));
    assert_eq!((creds.rgid, creds.egid), (65534, 65534));
    end(child);
}

#[test]
fn a_handle_without_a_pidfd_says_so() {
    // SAFETY: no CLONE_VM; the closure only returns 0.
    let mut child = unsafe { CloneBuilder::new().spawn(|| 0) }.expect("spawn");
    for got in [
        child.info().map(drop),
        child.signal_group(Signal::SIGTERM),
        child.namespace(PidfdNamespace::Net).map(drop),
    ] {
        assert!(
            matches!(
                got,
                Err(Error::Sys {
                    errno: Errno::EBADF,
                    detail: Some(_),
                    ..
                })
            ),
            "{got:?}"
        );
    }
    child.wait().expect("wait");
}

#[test]
fn signal_group_reaches_every_process_of_the_group_the_child_leads() {
    let mut child = Exec::new("sh")
        .args(["-c", "sleep 100 & echo $!; wait"])
        .process_group(Pid::from_raw(0))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sh");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("read the grandchild's pid");
    let grandchild: i32 = line.trim().parse().expect("a pid");
    match child.signal_group(Signal::SIGKILL) {
        Err(err) if kernel_version() < (6, 9) => {
            assert!(
                unsupported(&err, "PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9)"),
                "{err:?}"
            );
            // SAFETY: the group is the one the child leads, made for this test.
            unsafe { libc::kill(-child.pid().as_raw(), libc::SIGKILL) };
            child.wait().expect("wait");
            skip!("PIDFD_SIGNAL_PROCESS_GROUP came in Linux 6.9: Unsupported here, as it must be");
        }
        other => other.expect("signal the group"),
    }
    assert_eq!(child.wait().expect("wait").signal(), Some(libc::SIGKILL));
    assert!(
        poll_until(DEADLINE, || ended(grandchild).then_some(())).is_some(),
        "the grandchild in the group was not signalled"
    );
}

#[test]
fn signal_group_without_a_group_of_its_own_signals_nothing() {
    if kernel_version() < (6, 9) {
        skip!("PIDFD_SIGNAL_PROCESS_GROUP came in Linux 6.9");
    }
    // In our group: no group has the child's pid as its id.
    let mut child = sleeper().spawn().expect("spawn sleep");
    let got = child.signal_group(Signal::SIGKILL);
    assert!(
        matches!(
            got,
            Err(Error::Sys {
                call: "pidfd_send_signal",
                errno: Errno::ESRCH,
                ..
            })
        ),
        "{got:?}"
    );
    assert_eq!(
        child.try_wait().expect("try_wait"),
        None,
        "the child was signalled"
    );
    end(child);
}

#[test]
fn namespace_opens_the_childs_own_namespace() {
    require_root!("a new UTS namespace needs CAP_SYS_ADMIN");
    let child = sleeper()
        .namespaces(clonekit::CloneFlags::NEWUTS)
        .spawn()
        .expect("spawn sleep in a new UTS namespace");
    let uts = std::fs::File::from(child.namespace(PidfdNamespace::Uts).expect("its uts namespace"));
    let got = uts.metadata().expect("fstat").ino();
    let theirs = std::fs::metadata(format!("/proc/{}/ns/uts", child.pid()))
        .expect("stat its link")
        .ino();
    let ours = std::fs::metadata("/proc/self/ns/uts").expect("stat ours").ino();
    assert_eq!(got, theirs, "the fd is the child's namespace");
    assert_ne!(got, ours, "the child's is a new one");
    let net = std::fs::File::from(child.namespace(PidfdNamespace::Net).expect("its net namespace"));
    let ours = std::fs::metadata("/proc/self/ns/net").expect("stat ours").ino();
    assert_eq!(
        net.metadata().expect("fstat").ino(),
        ours,
        "shared, not asked for"
    );
    end(child);
}

#[test]
fn namespace_of_an_ended_child_is_an_error() {
    let mut child = sleeper().pidfd(true).spawn().expect("spawn sleep");
    child.kill().expect("kill");
    // Ended, not yet reaped: a zombie has no namespaces left.
    assert!(poll_until(DEADLINE, || ended(child.pid().as_raw()).then_some(())).is_some());
    let got = child.namespace(PidfdNamespace::Uts);
    assert!(
        matches!(got, Err(Error::Sys { errno, .. }) if matches!(errno, Errno::ESRCH | Errno::ENOENT | Errno::EACCES)),
        "{got:?}"
    );
    child.wait().expect("wait");
}

/// This process's cgroup v2 directory, where cgroup v2 is mounted.
fn own_cgroup_dir() -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = text.lines().find_map(|line| line.strip_prefix("0::"))?;
    let dir = format!("{}{path}", support::procfs::cgroup2_mount()?.display());
    std::path::Path::new(&dir).is_dir().then_some(dir)
}
