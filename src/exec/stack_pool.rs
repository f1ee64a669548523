//! The pool of idle child stacks: a vfork-like child is done with its stack
//! when the clone returns, so a spawn borrows one for the call and gives it
//! back, and no spawn maps one after the first.

use std::sync::Mutex;

use crate::error::Result;
use crate::stack::Stack;

/// The child's stack size: the child program needs a few KiB.
pub(super) const CHILD_STACK_SIZE: usize = 64 * 1024;
/// How many idle stacks are kept for later spawns.
pub(super) const STACKS_KEPT: usize = 16;
/// Idle stacks, so that a spawn maps none. A vfork-like child is done with
/// its stack when the clone returns, so a stack is only out of the cache
/// during one clone.
pub(super) static STACKS: Mutex<Vec<Stack>> = Mutex::new(Vec::new());

pub(super) fn take_stack() -> Result<Stack> {
    let cached = STACKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .pop();
    match cached {
        Some(stack) => Ok(stack),
        None => Stack::new(CHILD_STACK_SIZE),
    }
}

pub(super) fn give_back(stack: Stack) {
    let mut stacks = STACKS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Reserved once, so that later spawns never grow it (they allocate nothing).
    let missing = STACKS_KEPT.saturating_sub(stacks.len());
    stacks.reserve_exact(missing);
    if stacks.len() < STACKS_KEPT {
        stacks.push(stack);
    }
}
