//! A tiny container: a child in new UTS, PID and mount namespaces (plus a
//! user namespace mapping root to the caller when not run as root) sets its
//! own hostname, mounts a fresh /proc, and runs
//! `/bin/sh -c 'hostname; echo $$'`, which prints that hostname and `1`.
//!
//! Everything the child needs (strings, argv, envp) is prepared before the
//! fork; the child then makes only async-signal-safe calls.

use std::ffi::{c_char, CString};
use std::process::ExitCode;
use std::ptr;

use clonekit::{raw, CloneBuilder, CloneFlags, Forked, IdMap};

const HOSTNAME: &[u8] = b"clonekit-box";

/// The steps the child takes, for its exit code when one fails.
#[repr(i32)]
enum Step {
    PrivateMounts = 10,
    Hostname = 11,
    MountProc = 12,
    Exec = 127,
}

fn main() -> ExitCode {
    let program = CString::new("/bin/sh").unwrap();
    let args = [c"sh", c"-c", c"hostname; echo $$"];
    let argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).chain([ptr::null()]).collect();
    let path = CString::new("PATH=/usr/sbin:/usr/bin:/sbin:/bin").unwrap();
    let envp = [path.as_ptr(), ptr::null()];

    // SAFETY: no arguments.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let uid_map = [IdMap::single(0, euid)];
    let gid_map = [IdMap::single(0, egid)];
    let mut builder = CloneBuilder::new();
    let mut flags = CloneFlags::NEWUTS | CloneFlags::NEWPID | CloneFlags::NEWNS;
    if euid != 0 {
        // Without privilege, a user namespace gives the child the
        // capabilities the other namespaces need.
        flags |= CloneFlags::NEWUSER;
        builder.uid_map(&uid_map).gid_map(&gid_map);
    }
    builder.flags(flags);

    // SAFETY: the child only calls mount, sethostname, execve and exit_group
    // on data prepared above.
    let forked = unsafe { builder.fork() };
    match forked {
        Ok(Forked::Child) => {
            // SAFETY: a fresh child; argv and envp are NULL-terminated.
            let step = unsafe { contain(&program, &argv, &envp) };
            // SAFETY: the child ends here.
            unsafe { raw::exit_group(step as i32) }
        }
        Ok(Forked::Parent(mut child)) => {
            println!("container pid outside: {}", child.pid());
            match child.wait() {
                Ok(status) if status.success() => ExitCode::SUCCESS,
                Ok(status) => {
                    eprintln!(
                        "the container failed: {status} (10 private mounts, 11 hostname, 12 /proc, 127 exec)"
                    );
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("wait: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("cannot create the container: {e}");
            let host = clonekit::probe();
            eprintln!("what this host allows:\n{host}");
            ExitCode::FAILURE
        }
    }
}

/// The child's work; returns only on failure, with the step that failed.
///
/// # Safety
///
/// Runs in a freshly forked child: `argv` and `envp` are NULL-terminated
/// arrays of live C strings.
unsafe fn contain(program: &CString, argv: &[*const c_char], envp: &[*const c_char]) -> Step {
    let none = ptr::null::<c_char>();
    // SAFETY: plain libc calls on static or prepared C strings.
    unsafe {
        // Keep our mounts (the new /proc) from propagating to the host.
        if libc::mount(
            none,
            c"/".as_ptr(),
            none,
            libc::MS_REC | libc::MS_PRIVATE,
            ptr::null(),
        ) != 0
        {
            return Step::PrivateMounts;
        }
        if libc::sethostname(HOSTNAME.as_ptr().cast(), HOSTNAME.len()) != 0 {
            return Step::Hostname;
        }
        // A /proc of the new PID namespace, where the shell sees itself as 1.
        let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        if libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            flags,
            ptr::null(),
        ) != 0
        {
            return Step::MountProc;
        }
        libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr());
    }
    Step::Exec
}
