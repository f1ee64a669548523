//! The builder's TID slot arguments: `CLONE_PARENT_SETTID`,
//! `CLONE_CHILD_SETTID` and `CLONE_CHILD_CLEARTID`.

use super::CloneBuilder;
use crate::tid::TidSlot;

impl<'a> CloneBuilder<'a> {
    /// `CLONE_PARENT_SETTID`: the kernel stores the child's TID in `slot`
    /// before the call returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{CloneBuilder, TidSlot};
    /// let slot = TidSlot::new();
    /// // SAFETY: no CLONE_VM; the closure only returns 0.
    /// let mut child = unsafe { CloneBuilder::new().parent_tid(&slot).spawn(|| 0)? };
    /// assert_eq!(slot.get(), Some(child.pid())); // written before spawn returned
    /// child.wait()?;
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn parent_tid(&mut self, slot: &'a TidSlot) -> &mut Self {
        self.parent_tid = Some(slot);
        self
    }

    /// `CLONE_CHILD_SETTID`: the kernel stores the child's TID in `slot`, in
    /// the child's memory, as the child starts.
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{raw, CloneBuilder, TidSlot};
    /// let slot = TidSlot::new();
    /// // SAFETY: no CLONE_VM; the closure reads an atomic and makes one system call.
    /// let mut child = unsafe {
    ///     CloneBuilder::new()
    ///         .child_tid(&slot)
    ///         .spawn(|| i32::from(slot.get() == Some(raw::gettid())))?
    /// };
    /// assert_eq!(child.wait()?.code(), Some(1)); // the child found its TID in its copy
    /// assert_eq!(slot.get(), None); // ours is untouched
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn child_tid(&mut self, slot: &'a TidSlot) -> &mut Self {
        self.child_tid = Some(slot);
        self
    }

    /// `CLONE_CHILD_CLEARTID`: the kernel clears `slot` in the child's memory
    /// and wakes its futex when the child exits or execs. With `CLONE_VM` the
    /// parent sees it: [`TidSlot::wait_cleared`] joins the child. The builder
    /// marks the slot pending (non-zero) before the call, so a wait cannot
    /// return before the child has run; with `CLONE_VM` a slot serves one
    /// running child at a time ([`Rule::TidSlotInUse`](crate::Rule::TidSlotInUse) otherwise).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use clonekit::{CloneBuilder, CloneFlags, TidSlot};
    /// let slot = TidSlot::new();
    /// let mut builder = CloneBuilder::new();
    /// builder.flags(CloneFlags::VM).clear_child_tid(&slot);
    /// // SAFETY: the closure only returns 0: it touches no TLS, allocates nothing.
    /// let mut child = unsafe { builder.spawn(|| 0)? };
    /// // Joined like a thread: the kernel clears the slot when the child is done.
    /// assert!(slot.wait_cleared(Some(Duration::from_secs(60))));
    /// child.wait()?;
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    pub fn clear_child_tid(&mut self, slot: &'a TidSlot) -> &mut Self {
        self.clear_child_tid = Some(slot);
        self
    }
}
