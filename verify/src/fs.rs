//! Filesystem attributes: `CLONE_FS` (cwd and umask shared or copied).

use std::ffi::CStr;
use std::mem::MaybeUninit;

use clonekit::{CloneFlags, Syscall};
use nix::errno::Errno;

use super::helper::{in_helper, spawn_and_reap, sys, Abort, NOT_RUN};
use super::{clone_builder, observe, spec, Spec, Verdict};

#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    spec!("fs/clone/cwd/with", "FS", "cwd (chdir in the child)", Clone, true, cwd),
    spec!("fs/clone/cwd/without", "-FS", "cwd (chdir in the child)", Clone, false, cwd),
    spec!("fs/clone3/cwd/with", "FS", "cwd (chdir in the child)", Clone3, true, cwd),
    spec!("fs/clone3/cwd/without", "-FS", "cwd (chdir in the child)", Clone3, false, cwd),
    spec!("fs/clone/umask/with", "FS", "umask (set by the child)", Clone, true, umask),
    spec!("fs/clone/umask/without", "-FS", "umask (set by the child)", Clone, false, umask),
    spec!("fs/clone3/umask/with", "FS", "umask (set by the child)", Clone3, true, umask),
    spec!("fs/clone3/umask/without", "-FS", "umask (set by the child)", Clone3, false, umask),
];

/// Words of the report page.
const RESULT: usize = 0;
const RAN: usize = 1;

fn fs_flags(with: bool) -> CloneFlags {
    if with {
        CloneFlags::FS
    } else {
        CloneFlags::empty()
    }
}

/// The directory the child moves to; the helper starts in `/`.
const CHILD_DIR: &CStr = c"/dev";

/// (device, inode) of `path`.
fn identity(path: &CStr) -> Result<(u64, u64), Abort> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a NUL-terminated path and a buffer for one stat.
    sys(
        "stat",
        Errno::result(unsafe { libc::stat(path.as_ptr(), st.as_mut_ptr()) }),
    )?;
    // SAFETY: stat succeeded, so it filled the buffer.
    let st = unsafe { st.assume_init() };
    Ok((st.st_dev, st.st_ino))
}

fn cwd_words(moved: bool) -> &'static str {
    if moved {
        "parent's cwd is /dev too"
    } else {
        "parent's cwd stays /"
    }
}

fn cwd(via: Syscall, with: bool) -> Verdict {
    observe(cwd_words(with), || {
        let page = in_helper(|page| {
            // SAFETY: a NUL-terminated path.
            sys("chdir", Errno::result(unsafe { libc::chdir(c"/".as_ptr()) }))?;
            let work = || {
                // SAFETY: a NUL-terminated path.
                let ok = unsafe { libc::chdir(CHILD_DIR.as_ptr()) } == 0;
                page.set(RAN, if ok { 1 } else { -1 });
                0
            };
            // SAFETY: the child makes raw calls and stores to atomics only.
            unsafe { spawn_and_reap(&mut clone_builder(via, fs_flags(with)), work) }?;
            let moved = identity(c".")? == identity(CHILD_DIR)?;
            page.set(RESULT, i64::from(moved));
            Ok(())
        })?;
        Ok(match page.get(RAN) {
            1 => cwd_words(page.get(RESULT) == 1).into(),
            0 => NOT_RUN.into(),
            _ => "the child's chdir failed".into(),
        })
    })
}

const PARENT_UMASK: libc::mode_t = 0o022;
const CHILD_UMASK: libc::mode_t = 0o077;

fn umask_words(mask: i64) -> String {
    format!("parent's umask is {mask:03o}")
}

fn umask(via: Syscall, with: bool) -> Verdict {
    let expected = if with { CHILD_UMASK } else { PARENT_UMASK };
    observe(umask_words(i64::from(expected)), || {
        let page = in_helper(|page| {
            // SAFETY: umask cannot fail.
            unsafe { libc::umask(PARENT_UMASK) };
            let work = || {
                // SAFETY: umask cannot fail.
                unsafe { libc::umask(CHILD_UMASK) };
                page.set(RAN, 1);
                0
            };
            // SAFETY: as in `cwd`.
            unsafe { spawn_and_reap(&mut clone_builder(via, fs_flags(with)), work) }?;
            // SAFETY: umask cannot fail; it returns the mask it replaces.
            let now = unsafe { libc::umask(PARENT_UMASK) };
            page.set(RESULT, i64::from(now));
            Ok(())
        })?;
        Ok(match page.get(RAN) {
            0 => NOT_RUN.into(),
            _ => umask_words(page.get(RESULT)),
        })
    })
}
