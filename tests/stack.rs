//! `Stack`: sizes round up to whole pages, the guard page below is really
//! `PROT_NONE`, and a child that overflows its stack dies by SIGSEGV while
//! the parent goes on.

use std::hint::black_box;
use std::os::unix::process::ExitStatusExt;

use clonekit::{CloneBuilder, CloneFlags, Errno, Error, Stack, Syscall};
use rstest::rstest;

#[macro_use]
mod support;

use support::fork::{code_of, in_helper, wait_bounded};
use support::{procfs, serial};

fn page() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// Recurses with a 1 KiB frame until the stack runs out (the bound is only
/// there to keep the recursion conditional).
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 1024];
    frame[depth as usize % 1024] = depth as u8;
    black_box(&mut frame);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(depth + 1) + u64::from(frame[(depth as usize + 1) % 1024])
}

/// In a child: no core file for the crash we are about to cause.
fn no_core_dump() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a plain system call on the child's own limits.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
}

#[rstest]
#[case::clone(Syscall::Clone)]
#[case::clone3(Syscall::Clone3)]
fn overflow_kills_the_child_alone(#[case] syscall: Syscall) {
    let _serial = serial();
    let witness = black_box(0x5eed_u64);
    // SAFETY: the child has its own copy of memory; it only sets a limit and
    // recurses until it faults.
    let mut child = unsafe {
        CloneBuilder::new()
            .syscall(syscall)
            .stack(Stack::new(64 * 1024).expect("map a stack"))
            .spawn(|| {
                no_core_dump();
                recurse(0) as i32
            })
            .expect("spawn")
    };
    let status = wait_bounded(&mut child);
    assert_eq!(status.signal(), Some(libc::SIGSEGV), "{status:?}");
    assert_eq!(witness, 0x5eed);
}

/// A `CLONE_VM` child that overflows dies alone too: the helper that shares
/// its memory sees SIGSEGV, and its own memory is intact. Before Linux 5.16
/// the kernel's core-dump path killed every process sharing the memory
/// first, whatever RLIMIT_CORE said (fs/coredump.c `zap_threads`, until
/// "coredump: Limit coredumps to a single thread group"): there the helper
/// must die with the child, ended as the child is (the kernel gives every
/// sharer the dumping signal as its exit status: SIGSEGV), as the crate's
/// docs say. Seen under QEMU on Debian's 5.10.
#[rstest]
#[case::clone(Syscall::Clone)]
#[case::clone3(Syscall::Clone3)]
fn overflow_kills_a_vm_child_alone(#[case] syscall: Syscall) {
    let _serial = serial();
    const OK: i32 = 0;
    const NOT_SIGSEGV: i32 = 1;
    const SPAWN_FAILED: i32 = 2;
    const MEMORY_CHANGED: i32 = 3;
    let stack = Stack::new(64 * 1024).expect("map a stack");
    let status = in_helper(move || {
        let witness = black_box([0xa5u8; 64]);
        // SAFETY: the child touches nothing of the helper's: it sets a limit
        // (a system call) and recurses on its own stack until it faults.
        let spawned = unsafe {
            CloneBuilder::new()
                .flags(CloneFlags::VM)
                .syscall(syscall)
                .stack(stack)
                .spawn(|| {
                    no_core_dump();
                    recurse(0) as i32
                })
        };
        let Ok(mut child) = spawned else {
            return SPAWN_FAILED;
        };
        match child.wait() {
            Ok(status) if status.signal() == Some(libc::SIGSEGV) => {}
            _ => return NOT_SIGSEGV,
        }
        if witness.iter().any(|&b| b != 0xa5) {
            return MEMORY_CHANGED;
        }
        OK
    });
    if procfs::kernel_version() < (5, 16) {
        assert_eq!(
            status.signal(),
            Some(libc::SIGSEGV),
            "before 5.16 the sharer dies too: {status:?}"
        );
        return;
    }
    assert_eq!(code_of(status), OK);
}

#[rstest]
#[case::one_byte_clone(1, Syscall::Clone)]
#[case::one_byte_clone3(1, Syscall::Clone3)]
#[case::page_and_one_clone(4097, Syscall::Clone)]
#[case::page_and_one_clone3(4097, Syscall::Clone3)]
#[case::odd_clone(12345, Syscall::Clone)]
#[case::odd_clone3(12345, Syscall::Clone3)]
fn odd_sizes_round_up_and_run(#[case] asked: usize, #[case] syscall: Syscall) {
    let _serial = serial();
    let stack = Stack::new(asked).expect("map a stack");
    let size = stack.size();
    assert_eq!(size % page(), 0, "{size} is not whole pages");
    assert!(size >= asked && size < asked + page(), "{size} for {asked}");
    // SAFETY: the child has its own copy of memory and only returns.
    let mut child = unsafe {
        CloneBuilder::new()
            .syscall(syscall)
            .stack(stack)
            .spawn(|| 7)
            .expect("spawn on a small stack")
    };
    assert_eq!(wait_bounded(&mut child).code(), Some(7));
}

#[test]
fn zero_and_huge_sizes_are_errors() {
    for size in [0, usize::MAX, usize::MAX - page()] {
        match Stack::new(size) {
            Err(Error::Sys {
                call: "mmap", errno, ..
            }) => {
                assert!(matches!(errno, Errno::EINVAL | Errno::ENOMEM), "{size}: {errno}")
            }
            other => panic!("Stack::new({size}) gave {other:?}"),
        }
    }
}

/// /proc/self/maps shows `---p` over the page just below the usable part,
/// and `rw-p` over the usable part. (A neighbouring mapping with the same
/// protection may be merged into either line, so lines are matched by what
/// they contain, not by where they start.)
#[test]
fn guard_page_is_prot_none_in_maps() {
    let _serial = serial();
    let mut stack = Stack::new(16 * 1024).expect("map a stack");
    let base = stack.base() as usize;
    let top = stack.top() as usize;
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    let perms_over = |from: usize, to: usize| {
        maps.lines()
            .find_map(|line| {
                let (range, rest) = line.split_once(' ')?;
                let (start, end) = range.split_once('-')?;
                let start = usize::from_str_radix(start, 16).ok()?;
                let end = usize::from_str_radix(end, 16).ok()?;
                (start <= from && to <= end).then(|| rest.split(' ').next().unwrap_or("").to_owned())
            })
            .unwrap_or_else(|| panic!("no one mapping covers {from:#x}..{to:#x}"))
    };
    assert_eq!(perms_over(base - page(), base), "---p");
    assert_eq!(perms_over(base, top), "rw-p");
}

/// A child reading the byte below its stack's base dies by SIGSEGV; one
/// reading the base itself does not.
#[rstest]
#[case::below_base(1, Some(libc::SIGSEGV))]
#[case::at_base(0, None)]
fn guard_page_faults(#[case] below: usize, #[case] signal: Option<i32>) {
    let _serial = serial();
    let mut stack = Stack::new(64 * 1024).expect("map a stack");
    let target = stack.base() as usize - below;
    // SAFETY: the child has its own copy of memory; it reads one byte of its
    // stack mapping (or its guard page) and exits.
    let mut child = unsafe {
        CloneBuilder::new()
            .stack(stack)
            .spawn(move || {
                no_core_dump();
                i32::from(std::ptr::read_volatile(target as *const u8))
            })
            .expect("spawn")
    };
    let status = wait_bounded(&mut child);
    assert_eq!(status.signal(), signal, "{status:?}");
    if signal.is_none() {
        assert_eq!(status.code(), Some(0));
    }
}
