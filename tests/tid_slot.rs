//! `TidSlot` as the join word of `CLONE_VM` children: one slot serves one
//! running child, every waiter is woken, and any timeout is accepted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use clonekit::{CloneBuilder, Error, Rule, Stack, TidSlot};

#[macro_use]
mod support;

use support::{DEADLINE, THREAD};

/// Spins until `go` is set (at most about [`DEADLINE`]), then returns 0. Touches
/// no thread-locals and allocates nothing, as a CLONE_VM child must.
fn wait_for(go: &AtomicBool) -> i32 {
    let mut spins: u64 = 0;
    while !go.load(Ordering::Acquire) && spins < 20_000_000_000 {
        std::hint::spin_loop();
        spins += 1;
    }
    0
}

#[test]
fn a_slot_serves_one_running_child_at_a_time() {
    let slot = TidSlot::new();
    let go = AtomicBool::new(false);
    // SAFETY: the closure only reads an atomic; the Child is dropped, not forgotten.
    let first = unsafe {
        CloneBuilder::new()
            .flags(THREAD)
            .exit_signal(None)
            .clear_child_tid(&slot)
            .stack(Stack::new(64 * 1024).unwrap())
            .spawn(|| wait_for(&go))
    }
    .expect("the first child");
    // SAFETY: as above; this child is never created.
    let second = unsafe {
        CloneBuilder::new()
            .flags(THREAD)
            .exit_signal(None)
            .clear_child_tid(&slot)
            .spawn(|| 0)
    };
    go.store(true, Ordering::Release);
    assert!(slot.wait_cleared(Some(DEADLINE)), "the first child did not exit");
    drop(first);
    match second {
        Err(Error::Conflict(conflict)) => assert_eq!(conflict.rule(), Rule::TidSlotInUse),
        other => panic!("a slot in use must be refused, got {other:?}"),
    }
    // Once the first child is done, the slot serves another.
    // SAFETY: as above.
    let third = unsafe {
        CloneBuilder::new()
            .flags(THREAD)
            .exit_signal(None)
            .clear_child_tid(&slot)
            .spawn(|| 0)
    }
    .expect("a free slot is accepted again");
    assert!(slot.wait_cleared(Some(DEADLINE)));
    drop(third);
}

/// Waiters with no timeout: one the kernel's single wake-up missed would
/// sleep forever, so they report through a channel the test waits on with
/// a limit (a stuck waiter is left behind, the test fails).
#[test]
fn every_waiter_is_woken_when_the_child_exits() {
    static SLOT: TidSlot = TidSlot::new();
    static GO: AtomicBool = AtomicBool::new(false);
    // SAFETY: the closure only reads an atomic; the Child is dropped, not forgotten.
    let child = unsafe {
        CloneBuilder::new()
            .flags(THREAD)
            .exit_signal(None)
            .clear_child_tid(&SLOT)
            .spawn(|| wait_for(&GO))
    }
    .expect("a thread-like child");
    let (done, woken) = mpsc::channel();
    for _ in 0..3 {
        let done = done.clone();
        thread::spawn(move || done.send(SLOT.wait_cleared(None)));
    }
    // Let the waiters go to sleep on the futex before the child exits.
    thread::sleep(Duration::from_millis(50));
    GO.store(true, Ordering::Release);
    for waiter in 0..3 {
        let cleared = woken.recv_timeout(DEADLINE);
        assert_eq!(cleared, Ok(true), "waiter {waiter} was not woken");
    }
    drop(child);
}

#[test]
fn any_timeout_is_accepted() {
    let slot = TidSlot::new();
    assert!(slot.wait_cleared(Some(Duration::MAX)));
    assert!(slot.wait_cleared(Some(Duration::ZERO)));
}
