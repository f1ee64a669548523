//! `CloneBuilder::cgroup`: `CLONE_INTO_CGROUP` places the child in a cgroup
//! v2 directory made for the test (removed afterwards by a guard, even when
//! the test fails), and every refusal says why.

use std::fs::{self, File};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use clonekit::{raw, CloneBuilder, CloneFlags, Errno, Error, Exec, Strategy};

#[macro_use]
mod support;

use support::pipe_child::{become_nobody, c_len, fork_with, read_raw};
use support::wait_until;

/// A cgroup made for one test, removed on drop (after its children have
/// been reaped; retried briefly while the kernel finishes their exit).
struct Cgroup(PathBuf);

impl Cgroup {
    fn new(parent: &Path) -> Cgroup {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!("clonekit-test-{}-{n}", std::process::id()));
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        Cgroup(dir)
    }

    fn child(&self, name: &str) -> Cgroup {
        let dir = self.0.join(name);
        fs::create_dir(&dir).unwrap();
        Cgroup(dir)
    }

    fn open(&self) -> File {
        File::open(&self.0).unwrap()
    }

    /// The path as `/proc/<pid>/cgroup` shows it.
    fn relative(&self, mount: &Path) -> String {
        format!("/{}", self.0.strip_prefix(mount).unwrap().display())
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let gone = || fs::remove_dir(&self.0).is_ok() || !self.0.exists();
        wait_until(Duration::from_secs(2), gone);
    }
}

/// The cgroup v2 mount, or why this host cannot run these tests.
fn cgroup2() -> Result<PathBuf, String> {
    if !support::is_root() {
        return Err("needs root to make cgroups".into());
    }
    let host = clonekit::probe();
    if !host.into_cgroup {
        return Err(format!(
            "no CLONE_INTO_CGROUP: {}",
            host.reason("CLONE_INTO_CGROUP").unwrap_or("")
        ));
    }
    host.cgroup2.ok_or_else(|| "no cgroup v2 mount".into())
}

#[test]
fn child_starts_in_the_cgroup_and_the_cgroup_is_removed() {
    let mount = skip_on_err!(cgroup2());
    let path;
    {
        let cg = Cgroup::new(&mount);
        path = cg.0.clone();
        let dir = cg.open();
        let mut builder = CloneBuilder::new();
        builder.cgroup(dir.as_fd());
        // SAFETY: the child only waits on a pipe.
        let mut run =
            unsafe { fork_with(&mut builder, |io| i32::from(!io.send(b"in") || !io.wait_go())) }.unwrap();
        assert_eq!(run.recv().as_deref(), Some(&b"in"[..]));
        let procs = fs::read_to_string(cg.0.join("cgroup.procs")).unwrap();
        let pid = run.child.pid().as_raw().to_string();
        run.go();
        assert!(run.finish().success());
        assert!(
            procs.lines().any(|l| l == pid),
            "cgroup.procs {procs:?} lacks the child {pid}"
        );
    }
    assert!(!path.exists(), "the test cgroup was not removed");
}

/// With NEWCGROUP too, the child's cgroup is the root of its cgroup
/// namespace: `/` inside, the test cgroup's path outside.
#[test]
fn newcgroup_child_sees_its_cgroup_as_root() {
    let mount = skip_on_err!(cgroup2());
    let cg = Cgroup::new(&mount);
    let dir = cg.open();
    let mut builder = CloneBuilder::new();
    builder.cgroup(dir.as_fd()).flags(CloneFlags::NEWCGROUP);
    // SAFETY: raw open/read and pipe I/O.
    let mut run = unsafe {
        fork_with(&mut builder, |io| {
            let mut buf = [0u8; 4096];
            let n = read_raw(b"/proc/self/cgroup\0", &mut buf);
            i32::from(n == 0 || !io.send(&buf[..c_len(&buf[..n])]) || !io.wait_go())
        })
    }
    .unwrap();
    let inside = String::from_utf8(run.recv().expect("/proc/self/cgroup")).unwrap();
    let outside = fs::read_to_string(format!("/proc/{}/cgroup", run.child.pid())).unwrap();
    run.go();
    assert!(run.finish().success());
    let v2 = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("0::"))
            .map(str::to_owned)
    };
    assert_eq!(v2(&inside).as_deref(), Some("/"), "inside: {inside}");
    assert_eq!(v2(&outside), Some(cg.relative(&mount)), "outside: {outside}");
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    fs::write(path, text)
}

/// Enables a controller in the root's subtree_control for the test, and
/// restores it on drop if it was not enabled before.
struct Controller {
    file: PathBuf,
    name: &'static str,
    added: bool,
}

impl Controller {
    fn enable(mount: &Path, name: &'static str) -> Option<Controller> {
        let file = mount.join("cgroup.subtree_control");
        let on = fs::read_to_string(&file).ok()?;
        let available = fs::read_to_string(mount.join("cgroup.controllers")).ok()?;
        if !available.split_whitespace().any(|c| c == name) {
            return None;
        }
        let added = !on.split_whitespace().any(|c| c == name);
        if added {
            write(&file, &format!("+{name}")).ok()?;
        }
        Some(Controller { file, name, added })
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if self.added {
            let _ = write(&self.file, &format!("-{}", self.name));
        }
    }
}

#[test]
fn ebusy_when_the_cgroup_has_domain_controllers_enabled() {
    let mount = skip_on_err!(cgroup2());
    let Some(_hugetlb) = Controller::enable(&mount, "hugetlb") else {
        skip!("no domain controller can be enabled on the cgroup2 root");
    };
    let cg = Cgroup::new(&mount);
    let _leaf = cg.child("leaf");
    if write(&cg.0.join("cgroup.subtree_control"), "+hugetlb").is_err() {
        skip!("cannot enable hugetlb below the root");
    }
    let dir = cg.open();
    let mut builder = CloneBuilder::new();
    builder.cgroup(dir.as_fd());
    // SAFETY: the child would only exit.
    let err = unsafe { fork_with(&mut builder, |_| 0) }
        .err()
        .expect("EBUSY expected");
    assert_eq!(err.errno(), Some(Errno::EBUSY));
    assert!(err.to_string().contains("subtree_control"), "{err}");
    drop(dir);
    write(&cg.0.join("cgroup.subtree_control"), "-hugetlb").unwrap();
}

#[test]
fn eopnotsupp_for_a_domain_invalid_cgroup() {
    let mount = skip_on_err!(cgroup2());
    let cg = Cgroup::new(&mount);
    let threaded = cg.child("threaded");
    let invalid = cg.child("invalid");
    write(&threaded.0.join("cgroup.type"), "threaded").unwrap();
    assert_eq!(
        fs::read_to_string(invalid.0.join("cgroup.type")).unwrap().trim(),
        "domain invalid"
    );
    let dir = invalid.open();
    let mut builder = CloneBuilder::new();
    builder.cgroup(dir.as_fd());
    // SAFETY: the child would only exit.
    let err = unsafe { fork_with(&mut builder, |_| 0) }
        .err()
        .expect("EOPNOTSUPP expected");
    assert_eq!(err.errno(), Some(Errno::EOPNOTSUPP));
    assert!(err.to_string().contains("domain invalid"), "{err}");
    drop((dir, invalid, threaded));
}

#[test]
fn a_directory_that_is_not_a_cgroup_is_refused_with_a_reason() {
    skip_on_err!(cgroup2());
    let dir = File::open(std::env::temp_dir()).unwrap();
    let mut builder = CloneBuilder::new();
    builder.cgroup(dir.as_fd());
    // SAFETY: the child would only exit.
    let err = unsafe { fork_with(&mut builder, |_| 0) }
        .err()
        .expect("a plain directory must be refused");
    assert_eq!(err.errno(), Some(Errno::EBADF), "{err}");
    assert!(err.to_string().contains("not a cgroup v2 directory"), "{err}");
}

/// `Exec::cgroup` reports a refusal with the same reason, under each
/// strategy that can carry it.
#[test]
fn exec_refuses_a_directory_that_is_not_a_cgroup_with_a_reason() {
    skip_on_err!(cgroup2());
    for strategy in [Strategy::CloneVfork, Strategy::Fork] {
        let dir = File::open(std::env::temp_dir()).unwrap();
        let err = Exec::new("/bin/true")
            .cgroup(dir.into())
            .strategy(strategy)
            .spawn()
            .expect_err("a plain directory must be refused");
        assert_eq!(err.errno(), Some(Errno::EBADF), "{strategy:?}: {err}");
        assert!(
            err.to_string().contains("not a cgroup v2 directory"),
            "{strategy:?}: {err}"
        );
    }
}

/// An unprivileged helper may not move a process into root's cgroup.
#[test]
fn eacces_for_a_caller_who_may_not_write_the_cgroup() {
    let mount = skip_on_err!(cgroup2());
    let cg = Cgroup::new(&mount);
    let dir = cg.open();
    // SAFETY: raw setres*id, then one fork whose child exits; the error is
    // inspected without allocating.
    let run = unsafe {
        fork_with(&mut CloneBuilder::new(), |_| {
            if !become_nobody() {
                return 10;
            }
            match CloneBuilder::new().cgroup(dir.as_fd()).fork() {
                Ok(clonekit::Forked::Child) => raw::exit_group(0),
                Ok(clonekit::Forked::Parent(mut child)) => {
                    let _ = child.wait();
                    1
                }
                Err(Error::Sys {
                    call: "clone3",
                    errno: Errno::EACCES,
                    detail: Some(detail),
                }) if detail.contains("may not move") => 0,
                Err(e) => 20 + e.errno().map_or(0, |e| (e as i32).min(100)),
            }
        })
    }
    .unwrap();
    assert_eq!(
        run.finish().code(),
        Some(0),
        "1: placed anyway; 20+errno: another error"
    );
}

#[test]
fn cgroup_needs_clone3_not_legacy_clone() {
    let dir = File::open("/").unwrap();
    let err = CloneBuilder::new()
        .cgroup(dir.as_fd())
        .syscall(clonekit::Syscall::Clone)
        .check()
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(c) if c.rule() == clonekit::Rule::Clone3Only));
}
