//! A sandbox in safe code: runs `sh -c COMMAND` as root in new user, PID,
//! UTS and mount namespaces, with the caller's uid and gid mapped to 0 and
//! a host name of its own, and prints what it printed.
//!
//! ```text
//! cargo run --example sandbox                       # id; uname -n; echo $$; cat /proc/self/uid_map
//! cargo run --example sandbox -- 'ls -la /proc/self/ns'
//! ```
//!
//! Works as root and as an unprivileged user where the kernel allows user
//! namespaces without privilege; where it does not, says why and exits with 2.

use std::process::{ExitCode, Output};

use clonekit::{CloneFlags, Exec, IdMap};

/// What the sandbox runs when no command is given.
pub const DEFAULT_COMMAND: &str = "id; uname -n; echo $$; cat /proc/self/uid_map";

/// The sandbox's host name.
pub const HOSTNAME: &str = "sandbox";

/// The calling thread's effective uid and gid, from /proc (no unsafe).
pub fn caller_ids() -> std::io::Result<(u32, u32)> {
    let status = std::fs::read_to_string("/proc/thread-self/status")?;
    let effective = |field: &str| {
        let line = status.lines().find(|line| line.starts_with(field))?;
        line.split_whitespace().nth(2)?.parse::<u32>().ok()
    };
    match (effective("Uid:"), effective("Gid:")) {
        (Some(uid), Some(gid)) => Ok((uid, gid)),
        _ => Err(std::io::Error::other(
            "no Uid:/Gid: lines in /proc/thread-self/status",
        )),
    }
}

/// Runs `sh -c command` in the sandbox as the caller `uid`/`gid`, mapped to
/// root inside, and collects its output.
pub fn run_sandboxed(command: &str, uid: u32, gid: u32) -> clonekit::Result<Output> {
    let namespaces = CloneFlags::NEWUSER | CloneFlags::NEWPID | CloneFlags::NEWUTS | CloneFlags::NEWNS;
    Exec::new("sh")
        .args(["-c", command])
        .namespaces(namespaces)
        .uid_map(&[IdMap::single(0, uid)])
        .gid_map(&[IdMap::single(0, gid)])
        .hostname(HOSTNAME)
        .output()
}

fn main() -> ExitCode {
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_COMMAND.to_owned());
    let (uid, gid) = match caller_ids() {
        Ok(ids) => ids,
        Err(err) => {
            eprintln!("cannot tell who runs this: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("outside: uid {uid}, gid {gid}; inside: root, in new user, PID, UTS and mount namespaces");
    match run_sandboxed(&command, uid, gid) {
        Ok(output) => {
            print!("{}", String::from_utf8_lossy(&output.stdout));
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
            println!("the sandbox's shell ended with {}", output.status);
            match output.status.success() {
                true => ExitCode::SUCCESS,
                false => ExitCode::FAILURE,
            }
        }
        Err(err) => {
            eprintln!("no sandbox here: {err}");
            eprintln!("(user namespaces may be disabled: user.max_user_namespaces, or a security module)");
            ExitCode::from(2)
        }
    }
}
