//! Architectures without a tested trampoline: the new-stack paths report
//! `ENOSYS`, which the layers above turn into `Error::Unsupported`. Writing
//! this asm blind would be worse than not having it.

use core::ffi::c_void;

use super::ChildEntry;

const ENOSYS: isize = -(libc::ENOSYS as isize);

/// Not available on this architecture: returns `-ENOSYS`.
///
/// # Safety
///
/// Always safe to call; `unsafe` only to match the supported architectures.
pub(crate) unsafe fn clone_on_stack(
    _flags: u64,
    _stack_top: *mut u8,
    _parent_tid: *mut i32,
    _child_tid: *mut i32,
    _tls: u64,
    _entry: ChildEntry,
    _arg: *mut c_void,
) -> isize {
    ENOSYS
}

/// Not available on this architecture: returns `-ENOSYS`.
///
/// # Safety
///
/// Always safe to call.
pub(crate) unsafe fn clone3_on_stack(
    _args: *const c_void,
    _size: usize,
    _entry: ChildEntry,
    _arg: *mut c_void,
) -> isize {
    ENOSYS
}

/// Not available on this architecture: returns `-ENOSYS`.
///
/// # Safety
///
/// Always safe to call.
pub(crate) unsafe fn vfork_on_stack(_stack_top: *mut u8, _entry: ChildEntry, _arg: *mut c_void) -> isize {
    ENOSYS
}
