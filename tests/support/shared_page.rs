//! One page of memory shared with forked children: what a helper (or its
//! child) writes there, the test sees.

use std::ffi::c_void;
use std::sync::atomic::AtomicI32;

/// One page of `MAP_SHARED` anonymous memory: what a helper (or its child)
/// writes there, the test sees.
#[derive(Debug)]
pub struct SharedPage {
    words: *mut AtomicI32,
}

/// How many words a [`SharedPage`] holds.
const WORDS: usize = 1024;

impl SharedPage {
    /// Maps a zeroed page.
    pub fn new() -> SharedPage {
        // SAFETY: a fresh anonymous mapping; no memory of ours is touched.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                WORDS * 4,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED, "mmap a shared page");
        SharedPage { words: ptr.cast() }
    }

    /// Word `i` of the page.
    pub fn word(&self, i: usize) -> &AtomicI32 {
        assert!(i < WORDS);
        // SAFETY: the page is mapped for our life, zeroed (a valid AtomicI32)
        // and only ever accessed atomically.
        unsafe { &*self.words.add(i) }
    }

    /// Word `i` as the kernel wants a `pid_t *` or `int *`, in a `u64` field.
    pub fn addr(&self, i: usize) -> u64 {
        self.word(i).as_ptr() as usize as u64
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and nothing borrows it past `self`.
        unsafe { libc::munmap(self.words.cast::<c_void>(), WORDS * 4) };
    }
}
