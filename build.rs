//! Per-target facts the raw layer needs, as cfgs:
//!
//! - `clonekit_clone_order="..."`: the argument order of the legacy `clone`
//!   system call, which differs by architecture (clone(2), "C library/kernel
//!   differences"):
//!   - `tls_last`: flags, stack, parent_tid, child_tid, tls (x86_64, sparc, m68k)
//!   - `tls_before_child_tid`: flags, stack, parent_tid, tls, child_tid
//!     (i386, arm, aarch64, powerpc, mips, riscv, loongarch, ...)
//!   - `stack_first`: stack, flags, parent_tid, child_tid, tls (s390, cris)
//! - `clonekit_sys_fork` / `clonekit_sys_vfork`: the architecture still has
//!   the `fork`/`vfork` system calls (newer ports only have `clone`).

use std::env;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(clonekit_clone_order, values(\"tls_last\", \"tls_before_child_tid\", \"stack_first\"))");
    println!("cargo::rustc-check-cfg=cfg(clonekit_sys_fork)");
    println!("cargo::rustc-check-cfg=cfg(clonekit_sys_vfork)");
    println!("cargo::rerun-if-changed=build.rs");

    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let order = match arch.as_str() {
        "x86_64" | "sparc" | "sparc64" | "m68k" => "tls_last",
        "s390x" => "stack_first",
        _ => "tls_before_child_tid",
    };
    println!("cargo::rustc-cfg=clonekit_clone_order=\"{order}\"");

    // Ports added after 2012 (aarch64, riscv, loongarch, ...) dropped fork and
    // vfork from their system call tables; they are clone with SIGCHLD there.
    let old_tables = [
        "x86_64",
        "x86",
        "arm",
        "powerpc",
        "powerpc64",
        "s390x",
        "mips",
        "mips64",
        "sparc",
        "sparc64",
        "m68k",
    ];
    if old_tables.contains(&arch.as_str()) {
        println!("cargo::rustc-cfg=clonekit_sys_fork");
        println!("cargo::rustc-cfg=clonekit_sys_vfork");
    }
}
