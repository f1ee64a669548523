//! [`Stack`]: an mmap'd stack for a child, with a guard page below it.

// Unsafe is denied crate-wide; this file holds some: mapping the stack and its guard page.
#![allow(unsafe_code)]

use memmap2::{MmapMut, MmapOptions};
use nix::errno::Errno;

use crate::error::{Error, Result};

/// The page size: 4 KiB on x86_64, 4, 16 or 64 KiB on aarch64 (read at
/// run time).
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).ok().filter(|&s| s > 0).unwrap_or(4096)
}

/// A child's stack: one anonymous `MAP_STACK` mapping whose lowest page is a
/// `PROT_NONE` guard, so that a child that overflows it dies by `SIGSEGV`
/// instead of writing whatever lies below. The usable part is a whole number
/// of pages, so its top is page aligned (and so 16-byte aligned, as the
/// x86_64 and aarch64 ABIs and clone3 want).
///
/// The mapping is unmapped when the `Stack` is dropped. A [`Child`](crate::Child)
/// that runs on a stack owns it, and never drops it while the child may still
/// be running on it.
///
/// # Examples
///
/// ```
/// use clonekit::Stack;
/// let stack = Stack::new(100_000)?;
/// assert!(stack.size() >= 100_000);
/// assert_eq!(stack.size() % 4096, 0);
/// # Ok::<(), clonekit::Error>(())
/// ```
///
/// # References
/// - [mmap(2)](https://man7.org/linux/man-pages/man2/mmap.2.html) (`MAP_STACK`),
///   [mprotect(2)](https://man7.org/linux/man-pages/man2/mprotect.2.html)
#[derive(Debug)]
pub struct Stack {
    map: MmapMut,
    guard: usize,
}

impl Stack {
    /// The size [`CloneBuilder::spawn`](crate::CloneBuilder::spawn) uses when
    /// it is given no stack: 256 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::Stack;
    /// // A child that recurses deeply may need more than the default.
    /// let stack = Stack::new(4 * Stack::DEFAULT_SIZE)?;
    /// assert!(stack.size() > Stack::DEFAULT_SIZE);
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub const DEFAULT_SIZE: usize = 256 * 1024;

    /// Maps a stack of at least `size` usable bytes (rounded up to whole
    /// pages), plus one guard page below it.
    ///
    /// # Errors
    ///
    /// `Error::Sys { call: "mmap", errno: EINVAL }` for a size of 0 or one that
    /// overflows; `mmap` or `mprotect` failures as they come.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneBuilder, Stack};
    /// let mut builder = CloneBuilder::new();
    /// builder.stack(Stack::new(64 * 1024)?);
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { builder.spawn(|| 0)? };
    /// assert!(child.wait()?.success());
    /// assert!(Stack::new(0).is_err()); // no stack of nothing
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn new(size: usize) -> Result<Stack> {
        let page = page_size();
        let usable = size
            .checked_next_multiple_of(page)
            .filter(|&s| s > 0)
            .ok_or(Error::Sys {
                call: "mmap",
                errno: Errno::EINVAL,
                detail: None,
            })?;
        let total = usable.checked_add(page).ok_or(Error::Sys {
            call: "mmap",
            errno: Errno::EINVAL,
            detail: None,
        })?;
        let mut map = MmapOptions::new()
            .len(total)
            .stack()
            .map_anon()
            .map_err(|e| Error::Sys {
                call: "mmap",
                errno: io_errno(&e),
                detail: None,
            })?;
        // SAFETY: the first page lies inside the mapping we own; making it
        // inaccessible changes no memory that Rust holds references to.
        let ret = unsafe { libc::mprotect(map.as_mut_ptr().cast(), page, libc::PROT_NONE) };
        Errno::result(ret).map_err(Error::sys("mprotect"))?;
        Ok(Stack { map, guard: page })
    }

    /// The usable size in bytes (without the guard page).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::Stack;
    /// // SAFETY: sysconf has no preconditions.
    /// let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    /// assert_eq!(Stack::new(1)?.size(), page); // rounded up to a whole page
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn size(&self) -> usize {
        self.map.len() - self.guard
    }

    /// The lowest usable byte, as clone3 wants it in `clone_args.stack`
    /// (for [`raw::clone3_on_stack`](crate::raw::clone3_on_stack)). The
    /// guard page lies just below it.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{raw::CloneArgs, Stack};
    /// let mut stack = Stack::new(64 * 1024)?;
    /// let args = CloneArgs {
    ///     stack: stack.base() as u64,
    ///     stack_size: stack.size() as u64,
    ///     ..CloneArgs::default()
    /// };
    /// assert_eq!(args.stack + args.stack_size, stack.top() as u64);
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn base(&mut self) -> *mut u8 {
        // SAFETY: guard < len, so the result stays inside the mapping.
        unsafe { self.map.as_mut_ptr().add(self.guard) }
    }

    /// One past the highest usable byte, as legacy clone wants it (for
    /// [`raw::clone_on_stack`](crate::raw::clone_on_stack)); page aligned.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::Stack;
    /// let mut stack = Stack::new(64 * 1024)?;
    /// assert_eq!(stack.top() as usize % 16, 0); // aligned, as clone wants it
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn top(&mut self) -> *mut u8 {
        // SAFETY: one past the end of the mapping is a valid pointer.
        unsafe { self.map.as_mut_ptr().add(self.map.len()) }
    }
}

fn io_errno(err: &std::io::Error) -> Errno {
    Errno::from_raw(err.raw_os_error().unwrap_or(libc::ENOMEM))
}
