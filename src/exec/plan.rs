//! The plan: everything the child needs, prepared in the parent.
//!
//! The child of a vfork-like clone may not allocate, lock or touch TLS, so
//! every string, pointer array and fd number it uses is built here first:
//! argv and envp as NULL-terminated arrays of C strings, the list of paths
//! `execve` tries (the PATH search done ahead), the fd moves, the signal
//! mask. A [`Plan`] is cached in its [`Exec`](super::Exec) and rebuilt only
//! when a setter changed what it holds, so spawning an unchanged `Exec` again
//! allocates nothing: what changes per spawn (the stdio sources, the saved
//! mask, the parent's pid, the error word) lives in [`PerSpawn`] and is
//! overwritten in place.

// Unsafe is denied crate-wide; this file holds some: the raw pointers the child reads, and libc's environ.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, c_uint, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;

use super::steps::{StepPlan, StepSettings};
use crate::error::{Error, ExecStage, Result};
use crate::raw::Resource;
use crate::userns::IdMap;

extern "C" {
    /// The process's environment, as libc keeps it (`mut`: libc changes it).
    static mut environ: *const *const c_char;
}

/// The records a fork child with `pre_exec` hooks writes to its report
/// pipe around them (stage codes are 1-based: these are none).
pub(crate) const HOOKS_STARTED: i32 = -1;
pub(crate) const HOOKS_DONE: i32 = -2;

/// The PATH glibc's `execvp` searches when the variable is unset.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// How many stdio slots lead the fd moves (0, 1, 2).
pub(crate) const STDIO_SLOTS: usize = 3;

/// Environment changes, applied to the parent's environment at plan time.
#[derive(Debug, Default)]
pub(crate) struct Env {
    /// Start from an empty environment instead of the parent's.
    pub(crate) clear: bool,
    /// Set (`Some`) or removed (`None`) variables.
    pub(crate) vars: BTreeMap<OsString, Option<OsString>>,
}

/// What an [`Exec`](super::Exec) was told, except stdio, the clone flags
/// and the strategy (which take effect per spawn).
#[derive(Debug, Default)]
pub(crate) struct Settings {
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
    pub(crate) env: Env,
    pub(crate) cwd: Option<PathBuf>,
    /// Fds placed at numbers above 2, at most one per number.
    pub(crate) fds: Vec<(RawFd, OwnedFd)>,
    pub(crate) setsid: bool,
    pub(crate) process_group: Option<Pid>,
    pub(crate) sigmask: Option<SigSet>,
    /// `SIGPIPE` left as the parent has it (`reset_sigpipe(false)`).
    pub(crate) keep_sigpipe: bool,
    pub(crate) death_signal: Option<Signal>,
    pub(crate) close_other_fds: bool,
    /// `argv[0]`, when it is not the program.
    pub(crate) arg0: Option<OsString>,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
    /// The supplementary groups; `None` drops them when `uid` or `gid` is set.
    pub(crate) groups: Option<Vec<u32>>,
    pub(crate) umask: Option<u32>,
    /// (resource, soft, hard), at most one per resource.
    pub(crate) rlimits: Vec<(Resource, u64, u64)>,
    pub(crate) no_new_privs: bool,
    pub(crate) hostname: Option<OsString>,
    pub(crate) root: Option<PathBuf>,
    /// Written by the parent, not read by the child's plan.
    pub(crate) uid_map: Option<Vec<IdMap>>,
    pub(crate) gid_map: Option<Vec<IdMap>>,
    /// Each concern's own settings (`steps/`).
    pub(crate) steps: StepSettings,
}

/// A [`pre_exec`](super::Exec::pre_exec) hook.
pub(crate) type Hook = Box<dyn FnMut() -> io::Result<()> + Send + Sync>;

/// Who the child becomes, in std's order: groups, then gid, then uid.
#[derive(Debug)]
pub(crate) struct Identity {
    /// `Some`: the groups to set (an explicit list); `None`: with a uid or
    /// gid, the groups are dropped, as std does (an `EPERM` is ignored).
    pub(crate) groups: Option<Vec<u32>>,
    pub(crate) gid: Option<u32>,
    pub(crate) uid: Option<u32>,
}

/// The steps beyond std's: namespaces' contents, limits, root, privileges.
#[derive(Debug)]
pub(crate) struct Confinement {
    /// The host name of the new UTS namespace.
    pub(crate) hostname: Option<Vec<u8>>,
    pub(crate) rlimits: Vec<(Resource, u64, u64)>,
    pub(crate) umask: Option<u32>,
    /// The new root directory, or NULL.
    pub(crate) root: *const c_char,
    pub(crate) no_new_privs: bool,
}

/// One fd the child places: `src` (in the parent's table, which the child
/// copied) becomes `dst`. `src < 0` marks an unused stdio slot.
#[derive(Debug)]
pub(crate) struct FdMove {
    pub(crate) src: RawFd,
    pub(crate) dst: RawFd,
    /// Where the child put `src` out of the way (phase one), or `src`.
    pub(crate) tmp: AtomicI32,
    /// Whether the steps changed `dst` (for `Exec::exec` to undo on failure).
    pub(crate) placed: AtomicBool,
}

/// What changes from one spawn to the next, written by the parent before
/// each clone. The error words are written by the child (vfork-like
/// strategies share memory) and read by the parent once it resumes.
#[derive(Debug)]
pub(crate) struct PerSpawn {
    /// The mask the parent had before it blocked every signal.
    pub(crate) old_mask: libc::sigset_t,
    /// Whether the child must reset handlers itself (no `CLONE_CLEAR_SIGHAND`).
    pub(crate) reset_handlers: AtomicBool,
    /// Whether the clone set `no_new_privs` itself (`CLONE_NNP`), so that
    /// the child need not.
    pub(crate) nnp_at_clone: AtomicBool,
    /// The pid `getppid()` must return in the child (0 in a new PID namespace).
    pub(crate) parent: Pid,
    /// The write end of the error pipe (`Strategy::Fork`), or -1.
    pub(crate) report_fd: RawFd,
    /// The environment to pass when the plan has none of its own.
    pub(crate) environ: *const *const c_char,
    /// The lowest fd number above every source and target, for phase one.
    pub(crate) fd_floor: RawFd,
    /// The child's copies of the socket pair on which it waits until the
    /// parent has written its uid/gid maps (read, write), or -1s.
    pub(crate) map_sync: (RawFd, RawFd),
    /// The `pre_exec` hooks, or NULL; set only for a fork-like child, which
    /// runs them on its own copy of memory.
    pub(crate) hooks: *mut Vec<Hook>,
    /// The failed stage (`stage_code`), 0 for none.
    pub(crate) stage: AtomicI32,
    /// The errno of the failed stage.
    pub(crate) errno: AtomicI32,
}

/// Everything the child needs; see the module docs.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Owns every string the pointer arrays below point into.
    _strings: Vec<CString>,
    /// NULL-terminated.
    pub(crate) argv: Vec<*const c_char>,
    /// NULL-terminated, or `None` to pass the parent's environment as it is
    /// at spawn time.
    pub(crate) envp: Option<Vec<*const c_char>>,
    /// The paths `execve` tries, in order.
    pub(crate) paths: Vec<*const c_char>,
    /// The working directory, or NULL.
    pub(crate) cwd: *const c_char,
    /// Stdio slots first (targets 0, 1, 2), then the `fd()` placements.
    pub(crate) moves: Vec<FdMove>,
    /// With `close_other_fds`: the fds to keep, sorted (0, 1, 2 and every
    /// placed target); empty otherwise.
    pub(crate) keep: Vec<RawFd>,
    pub(crate) close_other_fds: bool,
    /// Where a `close_range`-less kernel's close loop stops.
    pub(crate) fd_limit: c_uint,
    pub(crate) setsid: bool,
    pub(crate) process_group: Option<Pid>,
    pub(crate) sigmask: Option<libc::sigset_t>,
    /// Whether the child sets `SIGPIPE` to `SIG_DFL`.
    pub(crate) reset_sigpipe: bool,
    /// 0 for none.
    pub(crate) death_signal: c_int,
    pub(crate) identity: Identity,
    pub(crate) confinement: Confinement,
    /// Each concern's prepared steps (`steps/`).
    pub(crate) steps: StepPlan,
    pub(crate) spawn: PerSpawn,
}

// SAFETY: the raw pointers point into `_strings` (owned, never mutated) or,
// for `environ`, into libc's environment; shared access only reads them, and
// the only words written through `&Plan` are atomics. `hooks` is followed
// only in a fork-like child, on its own copy of memory.
unsafe impl Send for Plan {}
// SAFETY: as above.
unsafe impl Sync for Plan {}

/// Stage numbers as stored in the error word (0 means none).
const STAGES: [ExecStage; 35] = [
    ExecStage::Signals,
    ExecStage::Session,
    ExecStage::ProcessGroup,
    ExecStage::Fds,
    ExecStage::Chdir,
    ExecStage::DeathSignal,
    ExecStage::SignalMask,
    ExecStage::Exec,
    ExecStage::IdMaps,
    ExecStage::Hostname,
    ExecStage::Rlimit,
    ExecStage::Root,
    ExecStage::Groups,
    ExecStage::Credentials,
    ExecStage::NoNewPrivs,
    ExecStage::PreExec,
    ExecStage::SignalDefaults,
    ExecStage::Capabilities,
    ExecStage::BoundingSet,
    ExecStage::AmbientSet,
    ExecStage::Securebits,
    ExecStage::Seccomp,
    ExecStage::Landlock,
    ExecStage::ControllingTerminal,
    ExecStage::Foreground,
    ExecStage::Affinity,
    ExecStage::Scheduler,
    ExecStage::Nice,
    ExecStage::IoPriority,
    ExecStage::Personality,
    ExecStage::OomScoreAdj,
    ExecStage::Ptrace,
    ExecStage::OpenFile,
    ExecStage::CloseFile,
    ExecStage::ChdirFd,
];

/// The error-word number of `stage` (1-based).
pub(crate) fn stage_code(stage: ExecStage) -> i32 {
    let mut code = 1;
    for known in STAGES {
        if known == stage {
            return code;
        }
        code += 1;
    }
    code
}

/// The stage an error-word number stands for.
pub(crate) fn stage_from_code(code: i32) -> Option<ExecStage> {
    usize::try_from(code)
        .ok()
        .and_then(|c| c.checked_sub(1))
        .and_then(|i| STAGES.get(i).copied())
}

/// Moves `s` into `strings` and returns where its bytes stay.
fn hold(s: CString, strings: &mut Vec<CString>) -> *const c_char {
    let at = s.as_ptr();
    strings.push(s);
    at
}

fn c_string(bytes: &[u8]) -> Result<CString> {
    CString::new(bytes).map_err(|_| Error::Nul)
}

impl Plan {
    /// Builds the plan for `settings`.
    ///
    /// # Errors
    ///
    /// `Error::Nul` for an interior NUL in the program, an argument, an
    /// environment entry or the working directory; `Sys { call: "dup3",
    /// errno: EBADF }` for a negative target fd.
    pub(crate) fn new(settings: &Settings) -> Result<Plan> {
        let mut strings = Vec::new();
        let program = settings.program.as_bytes();
        let mut argv = Vec::with_capacity(settings.args.len() + 2);
        let arg0 = settings.arg0.as_ref().map_or(program, |arg0| arg0.as_bytes());
        argv.push(hold(c_string(arg0)?, &mut strings));
        for arg in &settings.args {
            argv.push(hold(c_string(arg.as_bytes())?, &mut strings));
        }
        argv.push(ptr::null());

        let envp = match environment(&settings.env) {
            None => None,
            Some(entries) => {
                let mut envp = Vec::with_capacity(entries.len() + 1);
                for entry in entries {
                    envp.push(hold(c_string(&entry)?, &mut strings));
                }
                envp.push(ptr::null());
                Some(envp)
            }
        };

        let mut paths = Vec::new();
        for candidate in candidates(program, &settings.env) {
            paths.push(hold(c_string(&candidate)?, &mut strings));
        }

        let mut path = |dir: &Option<PathBuf>| match dir {
            Some(dir) => c_string(dir.as_os_str().as_bytes()).map(|dir| hold(dir, &mut strings)),
            None => Ok(ptr::null()),
        };
        let cwd = path(&settings.cwd)?;
        let root = path(&settings.root)?;

        let mut moves: Vec<FdMove> = (0..STDIO_SLOTS as RawFd)
            .map(|dst| FdMove::new(-1, dst))
            .collect();
        for (dst, fd) in &settings.fds {
            if *dst < 0 {
                return Err(Error::Sys {
                    call: "dup3",
                    errno: Errno::EBADF,
                    detail: None,
                });
            }
            moves.push(FdMove::new(fd.as_raw_fd(), *dst));
        }
        let keep_fds = if settings.close_other_fds {
            let mut keep: Vec<RawFd> = moves.iter().map(|m| m.dst).collect();
            keep.sort_unstable();
            keep.dedup();
            keep
        } else {
            Vec::new()
        };

        Ok(Plan {
            _strings: strings,
            argv,
            envp,
            paths,
            cwd,
            moves,
            keep: keep_fds,
            close_other_fds: settings.close_other_fds,
            fd_limit: fd_limit(),
            setsid: settings.setsid,
            process_group: settings.process_group,
            sigmask: settings.sigmask.as_ref().map(|set| *set.as_ref()),
            reset_sigpipe: !settings.keep_sigpipe,
            death_signal: settings.death_signal.map_or(0, |sig| sig as c_int),
            identity: Identity {
                groups: settings.groups.clone(),
                gid: settings.gid,
                uid: settings.uid,
            },
            confinement: Confinement {
                hostname: settings.hostname.as_ref().map(|name| name.as_bytes().to_vec()),
                rlimits: settings.rlimits.clone(),
                umask: settings.umask,
                root,
                no_new_privs: settings.no_new_privs,
            },
            steps: settings.steps.prepare()?,
            spawn: PerSpawn {
                old_mask: crate::raw::full_sigset(),
                reset_handlers: AtomicBool::new(true),
                nnp_at_clone: AtomicBool::new(false),
                parent: Pid::from_raw(0),
                report_fd: -1,
                environ: ptr::null(),
                fd_floor: 0,
                map_sync: (-1, -1),
                hooks: ptr::null_mut(),
                stage: AtomicI32::new(0),
                errno: AtomicI32::new(0),
            },
        })
    }

    /// Fills in what changes per spawn: the stdio sources (-1: inherit),
    /// the expected parent pid, the error pipe, the id-map sync socket and
    /// the hooks (see [`PerSpawn`]). Allocates nothing.
    pub(crate) fn prepare(
        &mut self,
        stdio: [RawFd; STDIO_SLOTS],
        parent: Pid,
        report_fd: RawFd,
        extra: Extra,
    ) {
        for (slot, src) in self.moves.iter_mut().zip(stdio) {
            slot.src = src;
        }
        let mut highest = report_fd;
        for m in self.moves.iter().filter(|m| m.src >= 0) {
            highest = highest.max(m.src).max(m.dst);
        }
        self.spawn.fd_floor = highest.saturating_add(1);
        self.spawn.parent = parent;
        self.spawn.report_fd = report_fd;
        self.spawn.map_sync = extra.map_sync;
        self.spawn.hooks = extra.hooks;
        // SAFETY: reading the pointer libc keeps; it stays valid until the
        // environment is changed, which Rust's `set_var` makes `unsafe`.
        self.spawn.environ = unsafe { ptr::addr_of!(environ).read() };
        self.spawn.stage.store(0, Ordering::Relaxed);
        self.spawn.errno.store(0, Ordering::Relaxed);
        self.spawn.nnp_at_clone.store(false, Ordering::Relaxed);
    }

    /// The failure the child stored in shared memory, if any.
    pub(crate) fn failure(&self) -> Option<(ExecStage, Errno)> {
        let stage = stage_from_code(self.spawn.stage.load(Ordering::Relaxed))?;
        Some((stage, Errno::from_raw(self.spawn.errno.load(Ordering::Relaxed))))
    }
}

/// What a fork-like child gets besides the rest of [`PerSpawn`].
#[derive(Debug)]
pub(crate) struct Extra {
    /// See [`PerSpawn::map_sync`].
    pub(crate) map_sync: (RawFd, RawFd),
    /// See [`PerSpawn::hooks`].
    pub(crate) hooks: *mut Vec<Hook>,
}

impl FdMove {
    fn new(src: RawFd, dst: RawFd) -> FdMove {
        FdMove {
            src,
            dst,
            tmp: AtomicI32::new(src),
            placed: AtomicBool::new(false),
        }
    }
}

/// The child's environment as `KEY=VALUE` entries, or `None` when it is the
/// parent's unchanged.
fn environment(env: &Env) -> Option<Vec<Vec<u8>>> {
    if !env.clear && env.vars.is_empty() {
        return None;
    }
    let mut all: BTreeMap<OsString, OsString> = if env.clear {
        BTreeMap::new()
    } else {
        std::env::vars_os().collect()
    };
    for (key, value) in &env.vars {
        match value {
            Some(value) => all.insert(key.clone(), value.clone()),
            None => all.remove(key),
        };
    }
    let entries = all
        .into_iter()
        .map(|(key, value)| {
            let mut entry = key.into_vec();
            entry.push(b'=');
            entry.extend_from_slice(value.as_bytes());
            entry
        })
        .collect();
    Some(entries)
}

/// The paths `execve` tries, as `execvpe` would: the program itself if it
/// holds a `/`, else each PATH directory joined with it (an empty entry is
/// the current directory). PATH is the child's, as std searches it (it
/// sets the child's environment before `execvp`): the one set for it, the
/// parent's when neither [`env_clear`](super::Exec::env_clear) nor
/// [`env_remove`](super::Exec::env_remove) took it away, and where the
/// child has none, `execvp`'s default, `/bin:/usr/bin`.
fn candidates(program: &[u8], env: &Env) -> Vec<Vec<u8>> {
    if program.contains(&b'/') || program.is_empty() {
        return vec![program.to_vec()];
    }
    let path = match env.vars.get(OsStr::new("PATH")) {
        Some(set_or_removed) => set_or_removed.clone(),
        None if env.clear => None,
        None => std::env::var_os("PATH"),
    };
    let path = path.as_ref().map_or(DEFAULT_PATH, |p| p.as_bytes());
    path.split(|&b| b == b':')
        .map(|dir| {
            if dir.is_empty() {
                return program.to_vec();
            }
            let mut full = dir.to_vec();
            if !full.ends_with(b"/") {
                full.push(b'/');
            }
            full.extend_from_slice(program);
            full
        })
        .collect()
}

/// One past the highest fd number this process can have (`RLIMIT_NOFILE`'s
/// hard limit, at most 2^20), for the close loop on kernels before
/// `close_range`.
fn fd_limit() -> c_uint {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a live rlimit.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    let max = if ok { limit.rlim_max } else { 1 << 20 };
    max.min(1 << 20) as c_uint
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_codes_round_trip() {
        for stage in STAGES {
            assert_eq!(stage_from_code(stage_code(stage)), Some(stage));
        }
        assert_eq!(stage_from_code(0), None);
        assert_eq!(stage_from_code(99), None);
    }

    #[test]
    fn candidates_follow_path() {
        let mut env = Env::default();
        env.vars.insert("PATH".into(), Some("/a::/b/".into()));
        assert_eq!(
            candidates(b"ls", &env),
            vec![b"/a/ls".to_vec(), b"ls".to_vec(), b"/b/ls".to_vec()]
        );
        assert_eq!(candidates(b"./ls", &env), vec![b"./ls".to_vec()]);
    }

    #[test]
    fn candidates_without_a_path_take_the_default() {
        let default = vec![b"/bin/ls".to_vec(), b"/usr/bin/ls".to_vec()];
        let mut removed = Env::default();
        removed.vars.insert("PATH".into(), None);
        assert_eq!(candidates(b"ls", &removed), default);
        let cleared = Env {
            clear: true,
            ..Env::default()
        };
        assert_eq!(candidates(b"ls", &cleared), default);
    }
}
