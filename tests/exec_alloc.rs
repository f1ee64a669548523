//! Spawning an unchanged `Exec` again allocates nothing: a counting global
//! allocator, in its own test binary, counts allocations around `spawn()`.

use std::fs::File;

use clonekit::{Exec, Pid, Signal, Stdio, Strategy};
use nix::sys::signal::SigSet;
use rstest::rstest;

#[macro_use]
mod support;

use support::alloc_count::{allocations_in, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[rstest]
#[case::plain(false)]
#[case::every_option(true)]
fn respawn_allocates_nothing(#[case] every_option: bool) {
    for strategy in [Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork] {
        let mut exec = Exec::new("true");
        exec.args(["a", "b"]).strategy(strategy);
        if every_option {
            let mut mask = SigSet::empty();
            mask.add(Signal::SIGUSR1);
            exec.env("CLONEKIT", "1")
                .current_dir("/")
                .stdin(Stdio::Null)
                .stdout(Stdio::Piped)
                .stderr(Stdio::Fd(File::open("/dev/null").unwrap().into()))
                .fd(7, File::open("/dev/null").unwrap().into())
                .process_group(Pid::from_raw(0))
                .sigmask(mask)
                .death_signal(Signal::SIGKILL)
                .close_other_fds(true)
                .pidfd(true);
        }
        // The first spawn builds the plan and warms the stack cache.
        exec.spawn().unwrap().wait().unwrap();
        let mut counts = Vec::with_capacity(20);
        // Control: the counter sees what this thread allocates.
        assert_eq!(allocations_in(|| drop(std::hint::black_box(vec![1u8]))).1, 1);
        for _ in 0..20 {
            let (child, allocations) = allocations_in(|| exec.spawn());
            counts.push(allocations);
            assert!(child.unwrap().wait().unwrap().success());
        }
        assert!(
            counts.iter().all(|&n| n == 0),
            "{strategy:?}: allocations per spawn {counts:?}"
        );
    }
}
