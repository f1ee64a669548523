//! Memory: `CLONE_VM` (shared or copied), fork's copy-on-write, and
//! children on stacks whose size is not a whole number of pages.

use std::sync::atomic::{AtomicI64, Ordering};

use clonekit::{raw, CloneFlags, Forked, Stack, Syscall};

use super::helper::{in_helper, reap, spawn_and_reap, step, Abort, ReportPage, NOT_RUN};
use super::{clone_builder, fork_via, observe, spec, Spec, Verdict};

#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    spec!("vm/clone/with", "VM", "memory", Clone, true, vm),
    spec!("vm/clone/without", "-VM", "memory", Clone, false, vm),
    spec!("vm/clone3/with", "VM", "memory", Clone3, true, vm),
    spec!("vm/clone3/without", "-VM", "memory", Clone3, false, vm),
    spec!("cow/fork", "fork()", "memory (copy-on-write)", Fork, false, copy_on_write_fork),
    spec!("cow/clone", "(no flags)", "memory (copy-on-write)", Clone, false, copy_on_write),
    spec!("cow/clone3", "(no flags)", "memory (copy-on-write)", Clone3, false, copy_on_write),
    spec!("stack/clone/misaligned", "Stack::new(4097..)", "child stack", Clone, true, misaligned_stacks),
    spec!("stack/clone3/misaligned", "Stack::new(4097..)", "child stack", Clone3, true, misaligned_stacks),
];

/// Words of the report page.
const SEEN: usize = 0;
const RAN: usize = 1;

fn written(with: bool) -> &'static str {
    if with {
        "parent sees the child's write"
    } else {
        "parent keeps its own value"
    }
}

fn vm(via: Syscall, with: bool) -> Verdict {
    observe(written(with), || {
        let page = in_helper(|page| {
            let value = AtomicI64::new(0);
            let flags = if with { CloneFlags::VM } else { CloneFlags::empty() };
            let work = || {
                value.store(1, Ordering::SeqCst);
                page.set(RAN, 1);
                0
            };
            // SAFETY: the closure only stores to atomics: async-signal-safe,
            // no TLS; the child is reaped before `value` goes away.
            unsafe { spawn_and_reap(&mut clone_builder(via, flags), work) }?;
            page.set(SEEN, value.load(Ordering::SeqCst));
            Ok(())
        })?;
        Ok(seen_write(&page))
    })
}

fn seen_write(page: &ReportPage) -> String {
    match (page.get(RAN), page.get(SEEN)) {
        (0, _) => NOT_RUN.into(),
        (_, 1) => written(true).into(),
        _ => written(false).into(),
    }
}

fn copy_on_write(via: Syscall, _: bool) -> Verdict {
    copy_on_write_via(Some(via))
}

fn copy_on_write_fork() -> Verdict {
    copy_on_write_via(None)
}

/// A child from [`fork_via`] writes a word; the parent must not see it.
fn copy_on_write_via(via: Option<Syscall>) -> Verdict {
    observe(written(false), || {
        let page = in_helper(|page| {
            let value = AtomicI64::new(0);
            // SAFETY: the child only stores to atomics, then exits.
            let forked = unsafe { fork_via(via) };
            match step("fork", forked)? {
                Forked::Child => {
                    value.store(1, Ordering::SeqCst);
                    page.set(RAN, 1);
                    // SAFETY: the child's work is done.
                    unsafe { raw::exit_group(0) }
                }
                Forked::Parent(mut child) => {
                    step("wait", reap(&mut child))?;
                }
            }
            page.set(SEEN, value.load(Ordering::SeqCst));
            Ok(())
        })?;
        Ok(seen_write(&page))
    })
}

/// Sizes that are not multiples of the page size.
const ODD_SIZES: [usize; 3] = [4097, 8191, 65537];

fn misaligned_stacks(via: Syscall, _: bool) -> Verdict {
    let sizes = ODD_SIZES.map(|s| s.to_string()).join(", ");
    let expected = format!("children ran and exited 7 on stacks of {sizes} bytes");
    let observed_expected = expected.clone();
    observe(expected, || {
        let stacks = ODD_SIZES.map(Stack::new);
        let page = in_helper(|page| {
            for (i, stack) in stacks.into_iter().enumerate() {
                let stack = step("Stack::new", stack)?;
                let work = || {
                    page.set(i, 1);
                    7
                };
                // SAFETY: the closure only stores to an atomic.
                let status =
                    unsafe { spawn_and_reap(clone_builder(via, CloneFlags::VM).stack(stack), work) }?;
                if status.code() != Some(7) {
                    return Err(Abort::Broken("a child on an odd-sized stack did not exit 7"));
                }
            }
            Ok(())
        })?;
        let ran = (0..ODD_SIZES.len()).all(|i| page.get(i) == 1);
        Ok(if ran {
            observed_expected
        } else {
            "a child did not run".into()
        })
    })
}
