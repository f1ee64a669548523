//! A seccomp filter that refuses one system call with a chosen errno, as an
//! old kernel (ENOSYS) or a container runtime's profile (EPERM) would.

use clonekit::Errno;

/// The `AUDIT_ARCH_*` value seccomp reports for this architecture's system
/// calls (linux/audit.h): a filter checks it, since system call numbers
/// differ by architecture.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64

/// Installs, for the calling thread and the tasks it creates afterwards, a
/// filter under which system call `nr` fails with `errno` and every other
/// call is allowed. Sets `PR_SET_NO_NEW_PRIVS` first, so it works without
/// privilege. A filter cannot be removed: call this in a helper process.
pub fn refuse(nr: libc::c_long, errno: Errno) -> Result<(), Errno> {
    const ARCH: u32 = 4; // offsetof(struct seccomp_data, arch)
    const NR: u32 = 0; // offsetof(struct seccomp_data, nr)
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump_if = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    let mut filter = [
        stmt(load, ARCH),
        jump_if(AUDIT_ARCH, 1, 0),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
        stmt(load, NR),
        jump_if(nr as u32, 0, 1),
        stmt(
            ret,
            libc::SECCOMP_RET_ERRNO | (errno as u32 & libc::SECCOMP_RET_DATA),
        ),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: prctl on this thread only; `program` points to a live filter.
    unsafe {
        Errno::result(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
        Errno::result(libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &program as *const libc::sock_fprog,
        ))?;
    }
    Ok(())
}
