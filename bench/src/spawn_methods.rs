//! The spawn methods compared by `spawn_bench` and `benches/spawn.rs`: each
//! starts the target program once and waits for it (the `*_output` ones
//! also collect its stdout and stderr through pipes).

use std::ffi::{c_char, c_int, c_void, CString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use clonekit::{Exec, Strategy};

/// Every method, in the order they are run and printed.
pub const METHODS: [Method; 11] = [
    Method::ClonekitCloneVfork,
    Method::ClonekitAutoreap,
    Method::ClonekitVfork,
    Method::ClonekitFork,
    Method::StdCommand,
    Method::ClonekitOutput,
    Method::StdOutput,
    Method::PosixSpawn,
    Method::LibcForkExec,
    Method::Baseline,
    Method::BaselinePidfd,
];

/// One way to start a program and wait for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    ClonekitCloneVfork,
    /// `Exec` with `autoreap(true)` (Linux 7.1): the kernel reaps the child,
    /// the handle waits through its pidfd and reads the status from it (no
    /// `wait4`).
    ClonekitAutoreap,
    ClonekitVfork,
    ClonekitFork,
    StdCommand,
    /// `Exec::output` (the default strategy): stdout and stderr piped and read.
    ClonekitOutput,
    /// `Command::output`, the same for std.
    StdOutput,
    PosixSpawn,
    LibcForkExec,
    Baseline,
    /// The floor of a spawn that can be killed safely: the same clone with
    /// `CLONE_PIDFD`, waited for by pid, the pidfd closed.
    BaselinePidfd,
}

impl Method {
    /// Whether the method copies the parent's memory (fork), and so leaves
    /// the parent's pages write-protected behind it.
    pub fn forks_memory(self) -> bool {
        matches!(self, Method::ClonekitFork | Method::LibcForkExec)
    }

    /// Whether this kernel can run the method (`ClonekitAutoreap` needs
    /// Linux 7.1).
    pub fn available(self) -> bool {
        match self {
            Method::ClonekitAutoreap => clonekit::CloneBuilder::new()
                .flags(clonekit::CloneFlags::AUTOREAP)
                .exit_signal(None)
                .check()
                .is_ok(),
            _ => true,
        }
    }

    /// The name used in tables and CSV files.
    pub fn name(self) -> &'static str {
        match self {
            Method::ClonekitCloneVfork => "clonekit_clone_vfork",
            Method::ClonekitAutoreap => "clonekit_autoreap",
            Method::ClonekitVfork => "clonekit_vfork",
            Method::ClonekitFork => "clonekit_fork",
            Method::StdCommand => "std_command",
            Method::ClonekitOutput => "clonekit_output",
            Method::StdOutput => "std_output",
            Method::PosixSpawn => "posix_spawn",
            Method::LibcForkExec => "libc_fork_exec",
            Method::Baseline => "baseline",
            Method::BaselinePidfd => "baseline_pidfd",
        }
    }
}

extern "C" {
    static environ: *const *const c_char;
}

/// Everything prepared once, so that a measured spawn only spawns.
pub struct Spawner {
    target: PathBuf,
    path: CString,
    argv: [*const c_char; 2],
    execs: [Exec; 4],
    baseline_stack: Vec<u128>,
}

impl Spawner {
    /// Prepares every method to run `target` with no arguments.
    pub fn new(target: &Path) -> Spawner {
        let path = CString::new(target.as_os_str().as_bytes()).expect("target path without NUL");
        let exec = |strategy| {
            let mut exec = Exec::new(target);
            exec.strategy(strategy);
            exec
        };
        let mut spawner = Spawner {
            target: target.to_path_buf(),
            argv: [std::ptr::null(); 2],
            path,
            execs: [
                exec(Strategy::CloneVfork),
                exec(Strategy::Vfork),
                exec(Strategy::Fork),
                {
                    let mut exec = exec(Strategy::CloneVfork);
                    exec.autoreap(true);
                    exec
                },
            ],
            baseline_stack: vec![0; 64 * 1024 / 16],
        };
        spawner.argv[0] = spawner.path.as_ptr();
        spawner
    }

    /// Starts the target once with `method` and waits for it; fails if it
    /// did not exit with 0.
    pub fn run(&mut self, method: Method) -> io::Result<()> {
        let code = match method {
            Method::ClonekitCloneVfork => self.clonekit(0)?,
            Method::ClonekitAutoreap => self.clonekit(3)?,
            Method::ClonekitVfork => self.clonekit(1)?,
            Method::ClonekitFork => self.clonekit(2)?,
            Method::StdCommand => Command::new(&self.target).status()?.code().unwrap_or(-1),
            Method::ClonekitOutput => self.execs[0].output()?.status.code().unwrap_or(-1),
            Method::StdOutput => Command::new(&self.target).output()?.status.code().unwrap_or(-1),
            Method::PosixSpawn => self.posix_spawn()?,
            Method::LibcForkExec => self.fork_exec()?,
            Method::Baseline => self.baseline(false)?,
            Method::BaselinePidfd => self.baseline(true)?,
        };
        if code != 0 {
            return Err(io::Error::other(format!("{} exited with {code}", method.name())));
        }
        Ok(())
    }

    fn clonekit(&mut self, which: usize) -> io::Result<c_int> {
        let mut child = self.execs[which].spawn()?;
        Ok(child.wait()?.code().unwrap_or(-1))
    }

    fn posix_spawn(&self) -> io::Result<c_int> {
        let mut pid = 0;
        // SAFETY: path and argv are NUL-terminated and live; NULL file
        // actions and attributes are allowed; environ is the process's.
        let err = unsafe {
            libc::posix_spawn(
                &mut pid,
                self.path.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                self.argv.as_ptr() as *const *mut c_char,
                environ as *const *mut c_char,
            )
        };
        if err != 0 {
            return Err(io::Error::from_raw_os_error(err));
        }
        wait(pid)
    }

    fn fork_exec(&self) -> io::Result<c_int> {
        // SAFETY: the child only calls execve and _exit, both async-signal-safe.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: as above; pointers prepared before the fork.
            unsafe {
                libc::execve(self.path.as_ptr(), self.argv.as_ptr(), environ);
                libc::_exit(127);
            }
        }
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        wait(pid)
    }

    /// The floor: glibc's clone(CLONE_VM|CLONE_VFORK) on a preallocated stack,
    /// the child calling only execve and _exit — no error channel, no signal
    /// handling; with `pidfd`, `CLONE_PIDFD` too (legacy clone writes it
    /// through the parent TID pointer), closed after the wait.
    fn baseline(&mut self, pidfd: bool) -> io::Result<c_int> {
        extern "C" fn child(arg: *mut c_void) -> c_int {
            // SAFETY: arg is the Spawner, alive and unchanged while the parent
            // is suspended by CLONE_VFORK.
            unsafe {
                let spawner = &*(arg as *const Spawner);
                libc::execve(spawner.path.as_ptr(), spawner.argv.as_ptr(), environ);
                libc::_exit(127)
            }
        }
        let top = self.baseline_stack.as_mut_ptr_range().end as *mut c_void;
        let arg = self as *mut Spawner as *mut c_void;
        let mut fd: c_int = -1;
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
        let flags = if pidfd { flags | libc::CLONE_PIDFD } else { flags };
        // SAFETY: the stack is ours, 16-byte aligned at its top and unused
        // while the parent is suspended; the child only execs or exits; `fd`
        // is a live int for the pidfd.
        let pid = unsafe { libc::clone(child, top, flags, arg, &mut fd as *mut c_int) };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        let code = wait(pid);
        if fd >= 0 {
            // SAFETY: the pidfd the kernel just made for us.
            unsafe { libc::close(fd) };
        }
        code
    }
}

fn wait(pid: libc::pid_t) -> io::Result<c_int> {
    let mut status = 0;
    loop {
        // SAFETY: status is a live int; pid is our child.
        if unsafe { libc::waitpid(pid, &mut status, 0) } >= 0 {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    })
}

/// The machine code of the static target: `exit(0)`, and its ELF
/// `e_machine`.
#[cfg(target_arch = "x86_64")]
const EXIT_0: (u16, &[u8]) = (
    0x3e, // EM_X86_64
    &[
        0x31, 0xff, // xor edi, edi        ; status 0
        0xb8, 0x3c, 0, 0, 0, // mov eax, 60 ; SYS_exit
        0x0f, 0x05, // syscall
    ],
);
#[cfg(target_arch = "aarch64")]
const EXIT_0: (u16, &[u8]) = (
    0xb7, // EM_AARCH64
    &[
        0x00, 0x00, 0x80, 0xd2, // mov x0, #0   ; status 0
        0xa8, 0x0b, 0x80, 0xd2, // mov x8, #93  ; SYS_exit
        0x01, 0x00, 0x00, 0xd4, // svc #0
    ],
);

/// Writes a static ELF program of about 130 bytes that calls `exit(0)` and
/// nothing else, so that a spawn of it measures the spawn machinery, not the
/// dynamic loader and libc start-up.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub fn write_static_target(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    const BASE: u64 = 0x40_0000;
    // The headers are 120 bytes: the code after them is 4-byte aligned, as
    // aarch64 instructions must be.
    const HEADERS: u64 = 64 + 56;
    let (machine, code) = EXIT_0;
    let size = HEADERS + code.len() as u64;
    let mut elf = Vec::with_capacity(size as usize);
    // ELF header: 64-bit, little-endian, version 1, System V ABI.
    elf.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    elf.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    elf.extend_from_slice(&machine.to_le_bytes()); // e_machine
    elf.extend_from_slice(&1u32.to_le_bytes()); // e_version
    elf.extend_from_slice(&(BASE + HEADERS).to_le_bytes()); // e_entry: the code
    elf.extend_from_slice(&64u64.to_le_bytes()); // e_phoff: right after this header
    elf.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no sections
    elf.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    elf.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    elf.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    elf.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    elf.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx

    // Program header: one PT_LOAD of the whole file, readable and executable.
    elf.extend_from_slice(&1u32.to_le_bytes()); // p_type: PT_LOAD
    elf.extend_from_slice(&5u32.to_le_bytes()); // p_flags: R | X
    elf.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    elf.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    elf.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    elf.extend_from_slice(&size.to_le_bytes()); // p_filesz
    elf.extend_from_slice(&size.to_le_bytes()); // p_memsz
    elf.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    elf.extend_from_slice(code);
    debug_assert_eq!(elf.len() as u64, size);
    // Write to a fresh name and rename, so a running copy is never rewritten.
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, &elf)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&tmp, path)
}
