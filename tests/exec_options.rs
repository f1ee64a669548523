//! The `Exec` options of std's `CommandExt` (arg0, uid, gid, groups,
//! pre_exec), its getters and Debug, and the options beyond std (uid/gid
//! maps, hostname, rlimit, umask, chroot, no_new_privs): the child observes
//! each, under every `Strategy` where it applies, and each failure returns
//! its stage, with no zombie and no leaked fd.
//!
//! Every test takes `serial()`: they create fds and children, and the leak
//! checks count them. Children report only through their exit status and
//! pipes. What changes this process's ids runs in a helper process.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use clonekit::{raw, CloneFlags, Errno, Error, Exec, ExecStage, IdMap, Resource, Rule, Strategy};
use rstest::rstest;

#[macro_use]
mod support;

use support::exec::{out, sh, text};

#[allow(dead_code)]
#[path = "../examples/sandbox.rs"]
mod sandbox_example;

use support::procfs::{children, fd_count};
use support::rerun::{run_test, skipped};
use support::serial;

const STRATEGIES: [Strategy; 3] = [Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork];

/// An uid and gid no account uses, for the unprivileged helper.
const UNUSED_ID: u32 = 54321;

/// The variable that tells the helper tests they run as helpers.
const HELPER_ENV: &str = "CLONEKIT_OPTIONS_HELPER";

/// The error of spawning `exec`, checked to leave no child and no fd behind.
fn spawn_fails(exec: &mut Exec) -> Error {
    let (fds, kids) = (fd_count(), children());
    let err = match exec.spawn() {
        Ok(mut child) => {
            let _ = child.wait();
            panic!("{exec:?} spawned")
        }
        Err(err) => err,
    };
    assert_eq!(fd_count(), fds, "{exec:?}: an fd leaked");
    assert_eq!(children(), kids, "{exec:?}: a child is left");
    err
}

fn stage_of(err: &Error) -> Option<(ExecStage, Errno)> {
    match err {
        Error::Exec { stage, errno, .. } => Some((*stage, *errno)),
        _ => None,
    }
}

#[rstest]
fn arg0_is_what_the_child_sees(#[values(STRATEGIES[0], STRATEGIES[1], STRATEGIES[2])] strategy: Strategy) {
    let _serial = serial();
    let mut exec = sh("echo $0", strategy);
    exec.arg0("renamed");
    assert_eq!(out(&mut exec), "renamed\n");
    let mut exec = Exec::new("cat");
    exec.arg0("kitty").arg("/proc/self/cmdline").strategy(strategy);
    assert_eq!(out(&mut exec), "kitty\0/proc/self/cmdline\0");
}

#[rstest]
fn ids_are_what_the_child_runs_as(#[values(STRATEGIES[0], STRATEGIES[1], STRATEGIES[2])] strategy: Strategy) {
    let _serial = serial();
    require_root!();
    let mut exec = Exec::new("id");
    exec.arg("-u").uid(UNUSED_ID).strategy(strategy);
    assert_eq!(out(&mut exec), format!("{UNUSED_ID}\n"));
    let mut exec = Exec::new("id");
    exec.arg("-g").gid(UNUSED_ID + 1).strategy(strategy);
    assert_eq!(out(&mut exec), format!("{}\n", UNUSED_ID + 1));
    // An explicit list is set; without one, root's groups are dropped.
    let mut exec = Exec::new("id");
    exec.arg("-G")
        .gid(UNUSED_ID)
        .groups(&[7, 8])
        .uid(UNUSED_ID)
        .strategy(strategy);
    assert_eq!(out(&mut exec), format!("{UNUSED_ID} 7 8\n"));
    let mut exec = Exec::new("id");
    exec.arg("-G").gid(UNUSED_ID).uid(UNUSED_ID).strategy(strategy);
    assert_eq!(out(&mut exec), format!("{UNUSED_ID}\n"));
}

#[rstest]
fn umask_rlimit_and_no_new_privs_are_what_the_child_has(
    #[values(STRATEGIES[0], STRATEGIES[1], STRATEGIES[2])] strategy: Strategy,
) {
    let _serial = serial();
    let mut exec = sh("umask", strategy);
    exec.umask(0o027);
    assert_eq!(out(&mut exec), "0027\n");

    let mut exec = sh("ulimit -Sn; ulimit -Hn; ulimit -c", strategy);
    exec.rlimit(Resource::NoFile, 100, 200)
        .rlimit(Resource::NoFile, 77, 88) // replaces the first
        .rlimit(Resource::Core, 0, 0);
    assert_eq!(out(&mut exec), "77\n88\n0\n");

    let mut exec = Exec::new("grep");
    exec.args(["NoNewPrivs", "/proc/self/status"]).strategy(strategy);
    let ours = out(&mut exec);
    exec.no_new_privs(true);
    assert_eq!(out(&mut exec), "NoNewPrivs:\t1\n");
    assert_eq!(
        ours, "NoNewPrivs:\t0\n",
        "the default leaves it as this process has it"
    );
}

#[rstest]
fn hostname_is_the_new_namespaces(#[values(STRATEGIES[0], STRATEGIES[1], STRATEGIES[2])] strategy: Strategy) {
    let _serial = serial();
    require_root!();
    let ours = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let mut exec = Exec::new("cat");
    exec.arg("/proc/sys/kernel/hostname")
        .namespaces(CloneFlags::NEWUTS)
        .hostname("clonekit-box")
        .strategy(strategy);
    if strategy == Strategy::Vfork {
        // vfork takes no flags: refused, as for any namespace.
        assert!(matches!(spawn_fails(&mut exec), Error::Unsupported { .. }));
        return;
    }
    assert_eq!(out(&mut exec), "clonekit-box\n");
    assert_eq!(fs::read_to_string("/proc/sys/kernel/hostname").unwrap(), ours);
}

/// A directory holding `/bin/sh` and the libraries it loads, and a marker
/// file, for a chroot; removed on drop.
struct Jail(PathBuf);

impl Jail {
    fn new() -> io::Result<Jail> {
        let dir = std::env::temp_dir().join(format!("clonekit-jail-{}", std::process::id()));
        let jail = Jail(dir);
        let ldd = Command::new("ldd")
            .arg("/bin/sh")
            .output()
            .map_err(|err| io::Error::new(err.kind(), format!("running ldd to build a chroot: {err}")))?;
        let libs = text(&ldd.stdout);
        let files = libs
            .split_whitespace()
            .filter(|word| word.starts_with('/'))
            .chain(["/bin/sh"]);
        for file in files {
            let inside = jail.0.join(file.trim_start_matches('/'));
            fs::create_dir_all(inside.parent().unwrap())?;
            fs::copy(file, &inside)?;
        }
        fs::create_dir_all(jail.0.join("home"))?;
        fs::write(jail.0.join("marker"), "inside\n")?;
        Ok(jail)
    }
}

impl Drop for Jail {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[rstest]
fn chroot_is_the_childs_root(#[values(STRATEGIES[0], STRATEGIES[1], STRATEGIES[2])] strategy: Strategy) {
    let _serial = serial();
    require_root!();
    let jail = skip_on_err!(Jail::new());
    let mut exec = sh("read line < /marker; echo $line; pwd", strategy);
    exec.chroot(&jail.0);
    assert_eq!(out(&mut exec), "inside\n/\n");
    // The working directory is looked up inside the new root.
    exec.current_dir("/home");
    assert_eq!(out(&mut exec), "inside\n/home\n");
    // The program too: outside programs are gone.
    let mut exec = Exec::new("/usr/bin/env");
    exec.chroot(&jail.0).strategy(strategy);
    assert_eq!(
        stage_of(&spawn_fails(&mut exec)),
        Some((ExecStage::Exec, Errno::ENOENT))
    );
}

/// Set by a `pre_exec` hook: in the child's copy of memory, never ours.
static HOOK_RAN_HERE: AtomicBool = AtomicBool::new(false);

#[rstest]
fn pre_exec_runs_last_in_a_forked_child(
    #[values(STRATEGIES[0], STRATEGIES[1], STRATEGIES[2])] strategy: Strategy,
) {
    let _serial = serial();
    HOOK_RAN_HERE.store(false, Ordering::Relaxed);
    let mut exec = sh("umask", strategy);
    exec.umask(0o077);
    // SAFETY: the hook makes raw system calls and writes an atomic: async-signal-safe.
    unsafe {
        exec.pre_exec(|| {
            HOOK_RAN_HERE.store(true, Ordering::Relaxed);
            // After the crate's umask: it sees 077, and leaves 022.
            match raw::umask(0o022) {
                0o077 => Ok(()),
                _ => Err(io::Error::from_raw_os_error(libc::EDOM)),
            }
        })
    };
    assert_eq!(out(&mut exec), "0022\n");
    assert!(
        !HOOK_RAN_HERE.load(Ordering::Relaxed),
        "the hook ran on our memory: the child was not fork-like"
    );
}

#[rstest]
#[case::errno(io::Error::from_raw_os_error(libc::EACCES), Errno::EACCES)]
#[case::no_errno(io::Error::other("no errno"), Errno::EINVAL)]
fn pre_exec_errors_return_their_stage(
    #[case] error: io::Error,
    #[case] errno: Errno,
    #[values(STRATEGIES[0], STRATEGIES[1], STRATEGIES[2])] strategy: Strategy,
) {
    let _serial = serial();
    let mut exec = Exec::new("true");
    exec.strategy(strategy);
    let mut error = Some(error);
    // SAFETY: the hook moves a value out of its own state: no allocation.
    unsafe { exec.pre_exec(move || error.take().map_or(Ok(()), Err)) };
    assert_eq!(
        stage_of(&spawn_fails(&mut exec)),
        Some((ExecStage::PreExec, errno))
    );
}

#[test]
fn pre_exec_panic_is_caught_in_the_child() {
    let _serial = serial();
    let mut exec = Exec::new("true");
    // SAFETY: the panic happens in the forked child; the message goes to
    // stderr, which is the harness's (this test accepts its cost).
    unsafe { exec.pre_exec(|| panic!("a hook that panics (expected)")) };
    assert_eq!(
        stage_of(&spawn_fails(&mut exec)),
        Some((ExecStage::PreExec, Errno::EINVAL))
    );
}

/// A hook that ends the child's process itself (as a panic does under
/// `panic = "abort"`) never lets `spawn` return `Ok` for a child that did not
/// reach `execve`: the spawn fails at the hook's stage, saying so, and
/// leaves no zombie (`spawn_fails` counts the children).
#[rstest]
#[case::abort("abort")]
#[case::exit("exit")]
#[case::signal("signal")]
fn a_hook_that_ends_the_child_fails_the_spawn(
    #[case] end: &str,
    #[values(STRATEGIES[0], STRATEGIES[1], STRATEGIES[2])] strategy: Strategy,
) {
    let _serial = serial();
    let mut exec = Exec::new("true");
    exec.strategy(strategy);
    let ender: fn() = match end {
        "abort" => || {
            // No core file: an abort is all this stands for.
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: a live rlimit; the forked child's own limits.
            unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
            std::process::abort()
        },
        // SAFETY: _exit ends the forked child at once.
        "exit" => || unsafe { libc::_exit(0) },
        // SAFETY: the forked child kills itself.
        _ => || unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        },
    };
    // SAFETY: the hook only ends the forked child, with async-signal-safe calls.
    unsafe {
        exec.pre_exec(move || {
            ender();
            Ok(())
        })
    };
    let err = spawn_fails(&mut exec);
    assert_eq!(
        stage_of(&err),
        Some((ExecStage::PreExec, Errno::EINVAL)),
        "{err:?}"
    );
    assert!(err.to_string().contains("hook ended the child"), "{err}");
}

#[rstest]
fn failures_return_their_stage(#[values(STRATEGIES[0], STRATEGIES[1], STRATEGIES[2])] strategy: Strategy) {
    let _serial = serial();
    // Refused before anything is created, by a named rule.
    let mut exec = Exec::new("true");
    exec.rlimit(Resource::NoFile, 2, 1).strategy(strategy);
    let err = spawn_fails(&mut exec);
    assert!(
        matches!(&err, Error::Conflict(c) if c.rule() == Rule::RlimitSoftAboveHard),
        "{err:?}"
    );
    // An unlimited hard limit allows any soft one.
    let mut exec = Exec::new("true");
    exec.rlimit(Resource::NoFile, 16, u64::MAX).strategy(strategy);
    assert!(!matches!(
        exec.spawn().map(|mut c| c.wait()),
        Err(Error::Conflict(_))
    ));

    let mut exec = Exec::new("true");
    exec.chroot("/nonexistent/jail").strategy(strategy);
    let (stage, errno) = stage_of(&spawn_fails(&mut exec)).unwrap();
    assert_eq!(stage, ExecStage::Root);
    assert!(matches!(errno, Errno::ENOENT | Errno::EPERM), "{errno}");

    // Refused before anything is created.
    let mut exec = Exec::new("true");
    exec.hostname("box").strategy(strategy);
    let err = spawn_fails(&mut exec);
    assert!(
        matches!(&err, Error::Conflict(c) if c.rule() == Rule::HostnameWithoutNewuts),
        "{err:?}"
    );
    let mut exec = Exec::new("true");
    exec.uid_map(&[IdMap::single(0, 0)]).strategy(strategy);
    let err = spawn_fails(&mut exec);
    assert!(
        matches!(&err, Error::Conflict(c) if c.rule() == Rule::IdMapsWithoutNewuser),
        "{err:?}"
    );

    let mut exec = Exec::new("true");
    exec.namespaces(CloneFlags::NEWUTS)
        .hostname([b'x'; 65].map(char::from).iter().collect::<String>());
    exec.strategy(strategy);
    let err = spawn_fails(&mut exec);
    assert!(
        matches!(&err, Error::Conflict(c) if c.rule() == Rule::HostnameTooLong),
        "{err:?}"
    );
    // A NUL would cut the name short in the kernel.
    let mut exec = Exec::new("true");
    exec.namespaces(CloneFlags::NEWUTS)
        .hostname("ab\0cd")
        .strategy(strategy);
    let err = spawn_fails(&mut exec);
    assert!(matches!(err, Error::Nul), "{err:?}");
    // A sharing flag is not a namespace: it belongs to CloneBuilder.
    let mut exec = Exec::new("true");
    exec.namespaces(CloneFlags::SIGHAND).strategy(strategy);
    let err = spawn_fails(&mut exec);
    assert!(
        matches!(&err, Error::Conflict(c) if c.rule() == Rule::NotANamespace),
        "{err:?}"
    );
    assert!(err.to_string().contains("0x800"), "{err}");
}

/// `id -u; id -g; cat /proc/self/uid_map` in a new user namespace mapping 0
/// to `uid`/`gid`, or why it could not run.
fn mapped_ids(strategy: Strategy, uid: u32, gid: u32) -> Result<String, Error> {
    let mut exec = sh("id -u; id -g; cat /proc/self/uid_map", strategy);
    exec.namespaces(CloneFlags::NEWUSER)
        .uid_map(&[IdMap::single(0, uid)])
        .gid_map(&[IdMap::single(0, gid)]);
    let output = exec.output()?;
    assert!(output.status.success(), "{exec:?}: {}", text(&output.stderr));
    Ok(text(&output.stdout))
}

#[rstest]
fn id_maps_make_the_child_root_inside(
    #[values(STRATEGIES[0], STRATEGIES[1], STRATEGIES[2])] strategy: Strategy,
) {
    let _serial = serial();
    let (uid, gid) = sandbox_example::caller_ids().unwrap();
    let (fds, kids) = (fd_count(), children());
    let said = match mapped_ids(strategy, uid, gid) {
        Ok(said) => said,
        Err(err) if err.errno() == Some(Errno::EPERM) => skip!("user namespaces are refused here: {err}"),
        Err(err) => panic!("{err}"),
    };
    let map: Vec<String> = said
        .lines()
        .nth(2)
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(said.lines().take(2).collect::<Vec<_>>(), ["0", "0"], "{said}");
    assert_eq!(map, ["0", &uid.to_string(), "1"], "{said}");
    assert_eq!((fd_count(), children()), (fds, kids), "a leak");
}

#[rstest]
fn refused_id_maps_return_their_stage(
    #[values(STRATEGIES[0], STRATEGIES[1], STRATEGIES[2])] strategy: Strategy,
) {
    let _serial = serial();
    let (map, errno) = match support::is_root() {
        // Two lines that overlap inside: refused whoever writes them.
        true => (vec![IdMap::single(0, 0), IdMap::single(0, 1)], Errno::EINVAL),
        // Another user's id: refused without privilege.
        false => (vec![IdMap::single(0, 0)], Errno::EPERM),
    };
    let mut exec = Exec::new("true");
    exec.namespaces(CloneFlags::NEWUSER)
        .uid_map(&map)
        .strategy(strategy);
    match spawn_fails(&mut exec) {
        Error::Sys {
            errno: Errno::EPERM, ..
        } => skip!("user namespaces are refused here"),
        err => assert_eq!(stage_of(&err), Some((ExecStage::IdMaps, errno)), "{err:?}"),
    }
}

#[test]
fn sandbox_example_as_root_and_unprivileged() {
    let _serial = serial();
    if !support::is_root() {
        // Unprivileged already: that part runs here.
        skip_part!("as root", "not root");
        check_sandbox();
        return;
    }
    check_sandbox();
    let (said, status) = run_test("unprivileged_helper", &[(HELPER_ENV, "sandbox")]);
    match skipped(&said) {
        Some(why) => skip!("unprivileged: {why}"),
        None => assert!(status.is_some_and(|s| s.success()), "{status:?}\n{said}"),
    }
}

#[test]
fn credentials_fail_without_privilege() {
    let _serial = serial();
    require_root!("dropping to an unused uid needs root");
    let (said, status) = run_test("unprivileged_helper", &[(HELPER_ENV, "credentials")]);
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{said}");
}

/// The example's sandbox: root inside, its own PID 1 and host name.
fn check_sandbox() {
    let (uid, gid) = sandbox_example::caller_ids().unwrap();
    let (fds, kids) = (fd_count(), children());
    let output = match sandbox_example::run_sandboxed("id -u; uname -n; echo $$", uid, gid) {
        Ok(output) => output,
        Err(err) if err.errno() == Some(Errno::EPERM) => skip!("user namespaces are refused here: {err}"),
        Err(err) => panic!("{err}"),
    };
    assert!(output.status.success(), "{}", text(&output.stderr));
    let expected = format!("0\n{}\n1\n", sandbox_example::HOSTNAME);
    assert_eq!(text(&output.stdout), expected, "as uid {uid}");
    assert_eq!((fd_count(), children()), (fds, kids), "a leak");
}

/// Drops this thread to [`UNUSED_ID`] (the helper's children are made by
/// this thread), and makes the process dumpable again so that the maps of
/// its children may be written.
fn become_unprivileged() {
    raw::setresgid(UNUSED_ID, UNUSED_ID, UNUSED_ID).expect("setresgid");
    raw::setgroups(&[]).expect("setgroups");
    raw::setresuid(UNUSED_ID, UNUSED_ID, UNUSED_ID).expect("setresuid");
    // SAFETY: plain integers.
    assert_eq!(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) }, 0);
}

#[test]
#[ignore = "helper process for sandbox_example_as_root_and_unprivileged and credentials_fail_without_privilege"]
fn unprivileged_helper() {
    let Some(part) = std::env::var_os(HELPER_ENV) else {
        skip!("only meaningful as a helper process");
    };
    become_unprivileged();
    if part == "sandbox" {
        check_sandbox();
        return;
    }
    for strategy in STRATEGIES {
        let mut exec = Exec::new("true");
        exec.uid(0).strategy(strategy);
        assert_eq!(
            stage_of(&spawn_fails(&mut exec)),
            Some((ExecStage::Credentials, Errno::EPERM))
        );
        let mut exec = Exec::new("true");
        exec.groups(&[0]).strategy(strategy);
        assert_eq!(
            stage_of(&spawn_fails(&mut exec)),
            Some((ExecStage::Groups, Errno::EPERM))
        );
        // Becoming who we are is allowed without privilege.
        let mut exec = Exec::new("id");
        exec.arg("-u").uid(UNUSED_ID).gid(UNUSED_ID).strategy(strategy);
        assert_eq!(out(&mut exec), format!("{UNUSED_ID}\n"));
    }
}

#[test]
fn new_ids_leave_the_parent_dumpable() {
    let _serial = serial();
    require_root!();
    let (said, status) = run_test("dumpable_helper", &[(HELPER_ENV, "dumpable")]);
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{said}");
}

#[test]
#[ignore = "helper process for new_ids_leave_the_parent_dumpable"]
fn dumpable_helper() {
    if std::env::var_os(HELPER_ENV).is_none() {
        skip!("only meaningful as a helper process");
    }
    let dumpable = || {
        // SAFETY: no pointers.
        unsafe { libc::prctl(libc::PR_GET_DUMPABLE) }
    };
    assert_eq!(dumpable(), 1);
    for strategy in STRATEGIES {
        let mut exec = Exec::new("true");
        exec.uid(UNUSED_ID).strategy(strategy);
        assert!(exec.status().unwrap().success());
        // A child sharing our memory would have marked it not dumpable.
        assert_eq!(dumpable(), 1, "{strategy:?}");
    }
}

#[test]
fn getters_return_what_was_set() {
    let mut exec = Exec::new("prog");
    exec.arg0("zero")
        .args(["a", "b"])
        .env("SET", "1")
        .env_remove("GONE");
    assert_eq!(exec.get_program(), "prog");
    assert_eq!(exec.get_args().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(exec.get_args().len(), 2);
    let envs: Vec<_> = exec.get_envs().collect();
    assert_eq!(
        envs,
        [
            (OsStr::new("GONE"), None),
            (OsStr::new("SET"), Some(OsStr::new("1")))
        ]
    );
    assert_eq!(exec.get_current_dir(), None);
    exec.current_dir("/tmp");
    assert_eq!(exec.get_current_dir(), Some(Path::new("/tmp")));
    // The same answers as std's getters for the same command.
    let mut cmd = Command::new("prog");
    cmd.arg0("zero")
        .args(["a", "b"])
        .env("SET", "1")
        .env_remove("GONE")
        .current_dir("/tmp");
    assert!(cmd.get_args().eq(exec.get_args()));
    assert!(cmd.get_envs().eq(exec.get_envs()));
    assert_eq!(cmd.get_current_dir(), exec.get_current_dir());
}

/// Builds the same command with std and with clonekit.
fn both(build: impl Fn(&mut dyn CommandLike)) -> (String, String) {
    let mut cmd = StdCommand(Command::new("prog"));
    let mut exec = Ours(Exec::new("prog"));
    build(&mut cmd);
    build(&mut exec);
    (format!("{:?}", cmd.0), format!("{:?}", exec.0))
}

/// What the Debug tests set, on either type.
trait CommandLike {
    fn arg(&mut self, arg: &str);
    fn arg0(&mut self, arg: &str);
    fn env(&mut self, key: &str, value: &str);
    fn env_remove(&mut self, key: &str);
    fn env_clear(&mut self);
    fn current_dir(&mut self, dir: &str);
}

struct StdCommand(Command);
struct Ours(Exec);

/// The same calls on std's `Command` and on `Exec`: the same source
/// compiles against both, which is the point.
macro_rules! command_like {
    ($type:ty) => {
        impl CommandLike for $type {
            fn arg(&mut self, arg: &str) {
                self.0.arg(arg);
            }
            fn arg0(&mut self, arg: &str) {
                self.0.arg0(arg);
            }
            fn env(&mut self, key: &str, value: &str) {
                self.0.env(key, value);
            }
            fn env_remove(&mut self, key: &str) {
                self.0.env_remove(key);
            }
            fn env_clear(&mut self) {
                self.0.env_clear();
            }
            fn current_dir(&mut self, dir: &str) {
                self.0.current_dir(dir);
            }
        }
    };
}

command_like!(StdCommand);
command_like!(Ours);

#[rstest]
#[case::bare(|_: &mut dyn CommandLike| {})]
#[case::args(|c: &mut dyn CommandLike| { c.arg("-c"); c.arg("echo \"hi\" é\x01"); c.arg(""); })]
#[case::env(|c: &mut dyn CommandLike| { c.env("B", "2"); c.env("A", "x y"); c.env_remove("HOME"); })]
#[case::cwd(|c: &mut dyn CommandLike| { c.current_dir("/tmp dir"); c.arg("x"); })]
#[case::clear(|c: &mut dyn CommandLike| { c.env_clear(); c.env("Z", "1"); c.env_remove("Q"); })]
#[case::arg0(|c: &mut dyn CommandLike| { c.arg0("zero"); c.arg("a"); })]
#[case::all(|c: &mut dyn CommandLike| {
    c.current_dir("/"); c.env_remove("X"); c.env("Y", "\"q\""); c.arg0("p"); c.arg("a b");
})]
fn debug_prints_the_command_line_as_std(#[case] build: fn(&mut dyn CommandLike)) {
    let (std, ours) = both(build);
    assert_eq!(ours, std);
}

#[test]
fn alternate_debug_prints_the_fields() {
    let mut exec = Exec::new("prog");
    exec.uid(5).hostname("h");
    let fields = format!("{exec:#?}");
    assert!(fields.starts_with("Exec {"), "{fields}");
    assert!(
        fields.contains("uid: Some(\n") && fields.contains("hostname: Some("),
        "{fields}"
    );
}
