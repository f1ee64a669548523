//! What each clone flag shares, proven on this host: one case per row of
//! `clonekit_verify` (the same checks the `clonekit-verify` binary prints).
//!
//! Each check runs in a forked helper process with a deadline, so the cases
//! may run concurrently in this harness's threads: the helper, not this
//! process, changes cwd, umask, handlers and the signal mask.

use clonekit_verify::{self as verify, Outcome};
use rstest::rstest;

// The main crate's test support (the skip macros), shared rather than copied.
#[macro_use]
#[path = "../../tests/support/mod.rs"]
mod support;

#[rstest]
#[case::vm_clone_with("vm/clone/with")]
#[case::vm_clone_without("vm/clone/without")]
#[case::vm_clone3_with("vm/clone3/with")]
#[case::vm_clone3_without("vm/clone3/without")]
#[case::cow_fork("cow/fork")]
#[case::cow_clone("cow/clone")]
#[case::cow_clone3("cow/clone3")]
#[case::stack_clone_misaligned("stack/clone/misaligned")]
#[case::stack_clone3_misaligned("stack/clone3/misaligned")]
#[case::files_clone_open_with("files/clone/open/with")]
#[case::files_clone_open_without("files/clone/open/without")]
#[case::files_clone3_open_with("files/clone3/open/with")]
#[case::files_clone3_open_without("files/clone3/open/without")]
#[case::files_clone_close_with("files/clone/close/with")]
#[case::files_clone_close_without("files/clone/close/without")]
#[case::files_clone3_close_with("files/clone3/close/with")]
#[case::files_clone3_close_without("files/clone3/close/without")]
#[case::offset_fork("offset/fork")]
#[case::offset_clone("offset/clone")]
#[case::offset_clone3("offset/clone3")]
#[case::fs_clone_cwd_with("fs/clone/cwd/with")]
#[case::fs_clone_cwd_without("fs/clone/cwd/without")]
#[case::fs_clone3_cwd_with("fs/clone3/cwd/with")]
#[case::fs_clone3_cwd_without("fs/clone3/cwd/without")]
#[case::fs_clone_umask_with("fs/clone/umask/with")]
#[case::fs_clone_umask_without("fs/clone/umask/without")]
#[case::fs_clone3_umask_with("fs/clone3/umask/with")]
#[case::fs_clone3_umask_without("fs/clone3/umask/without")]
#[case::sighand_clone_with("sighand/clone/with")]
#[case::sighand_clone_without("sighand/clone/without")]
#[case::sighand_clone3_with("sighand/clone3/with")]
#[case::sighand_clone3_without("sighand/clone3/without")]
#[case::clear_sighand_clone3_with("clear_sighand/clone3/with")]
#[case::clear_sighand_clone3_without("clear_sighand/clone3/without")]
#[case::clear_sighand_clone_refused("clear_sighand/clone/refused")]
#[case::exit_signal_clone_sigusr1("exit_signal/clone/sigusr1")]
#[case::exit_signal_clone_none("exit_signal/clone/none")]
#[case::exit_signal_clone3_sigusr1("exit_signal/clone3/sigusr1")]
#[case::exit_signal_clone3_none("exit_signal/clone3/none")]
#[case::thread_clone_with("thread/clone/with")]
#[case::thread_clone_without("thread/clone/without")]
#[case::thread_clone3_with("thread/clone3/with")]
#[case::thread_clone3_without("thread/clone3/without")]
#[case::vfork_clone_with("vfork/clone/with")]
#[case::vfork_clone_without("vfork/clone/without")]
#[case::vfork_clone3_with("vfork/clone3/with")]
#[case::vfork_clone3_without("vfork/clone3/without")]
#[case::parent_clone_with("parent/clone/with")]
#[case::parent_clone_without("parent/clone/without")]
#[case::parent_clone3_with("parent/clone3/with")]
#[case::parent_clone3_without("parent/clone3/without")]
#[case::parent_settid_clone_vm("parent_settid/clone/vm")]
#[case::parent_settid_clone_no_vm("parent_settid/clone/no_vm")]
#[case::parent_settid_clone_without("parent_settid/clone/without")]
#[case::parent_settid_clone3_vm("parent_settid/clone3/vm")]
#[case::parent_settid_clone3_no_vm("parent_settid/clone3/no_vm")]
#[case::parent_settid_clone3_without("parent_settid/clone3/without")]
#[case::child_settid_clone_vm("child_settid/clone/vm")]
#[case::child_settid_clone_no_vm("child_settid/clone/no_vm")]
#[case::child_settid_clone_without("child_settid/clone/without")]
#[case::child_settid_clone3_vm("child_settid/clone3/vm")]
#[case::child_settid_clone3_no_vm("child_settid/clone3/no_vm")]
#[case::child_settid_clone3_without("child_settid/clone3/without")]
#[case::child_cleartid_clone_vm("child_cleartid/clone/vm")]
#[case::child_cleartid_clone_no_vm("child_cleartid/clone/no_vm")]
#[case::child_cleartid_clone_without("child_cleartid/clone/without")]
#[case::child_cleartid_clone3_vm("child_cleartid/clone3/vm")]
#[case::child_cleartid_clone3_no_vm("child_cleartid/clone3/no_vm")]
#[case::child_cleartid_clone3_without("child_cleartid/clone3/without")]
#[case::pidfd_clone_exit("pidfd/clone/exit")]
#[case::pidfd_clone_kill("pidfd/clone/kill")]
#[case::pidfd_clone_without("pidfd/clone/without")]
#[case::pidfd_clone_raw_slot("pidfd/clone/raw_slot")]
#[case::pidfd_clone3_exit("pidfd/clone3/exit")]
#[case::pidfd_clone3_kill("pidfd/clone3/kill")]
#[case::pidfd_clone3_without("pidfd/clone3/without")]
#[case::pidfd_clone3_raw_field("pidfd/clone3/raw_field")]
#[case::newuts_clone_with("newuts/clone/with")]
#[case::newuts_clone_without("newuts/clone/without")]
#[case::newuts_clone3_with("newuts/clone3/with")]
#[case::newuts_clone3_without("newuts/clone3/without")]
#[case::newuts_clone_hostname("newuts/clone/hostname")]
#[case::newpid_clone_with("newpid/clone/with")]
#[case::newpid_clone_without("newpid/clone/without")]
#[case::newpid_clone3_with("newpid/clone3/with")]
#[case::newpid_clone3_without("newpid/clone3/without")]
#[case::newpid_clone_getpid("newpid/clone/getpid")]
#[case::newpid_clone_getpid_without("newpid/clone/getpid_without")]
#[case::newns_clone_with("newns/clone/with")]
#[case::newns_clone_without("newns/clone/without")]
#[case::newns_clone3_with("newns/clone3/with")]
#[case::newns_clone3_without("newns/clone3/without")]
#[case::newnet_clone_with("newnet/clone/with")]
#[case::newnet_clone_without("newnet/clone/without")]
#[case::newnet_clone3_with("newnet/clone3/with")]
#[case::newnet_clone3_without("newnet/clone3/without")]
#[case::newipc_clone_with("newipc/clone/with")]
#[case::newipc_clone_without("newipc/clone/without")]
#[case::newipc_clone3_with("newipc/clone3/with")]
#[case::newipc_clone3_without("newipc/clone3/without")]
#[case::newcgroup_clone_with("newcgroup/clone/with")]
#[case::newcgroup_clone_without("newcgroup/clone/without")]
#[case::newcgroup_clone3_with("newcgroup/clone3/with")]
#[case::newcgroup_clone3_without("newcgroup/clone3/without")]
#[case::newtime_clone3_with("newtime/clone3/with")]
#[case::newtime_clone3_without("newtime/clone3/without")]
#[case::newuser_clone_with("newuser/clone/with")]
#[case::newuser_clone_without("newuser/clone/without")]
#[case::newuser_clone3_with("newuser/clone3/with")]
#[case::newuser_clone3_without("newuser/clone3/without")]
#[case::newuser_clone_maps("newuser/clone/maps")]
#[case::newuser_clone3_maps("newuser/clone3/maps")]
#[case::into_cgroup_clone3_with("into_cgroup/clone3/with")]
#[case::into_cgroup_clone3_without("into_cgroup/clone3/without")]
#[case::set_tid_clone3_newpid_one("set_tid/clone3/newpid_one")]
#[case::set_tid_clone3_two_levels("set_tid/clone3/two_levels")]
#[case::set_tid_clone3_taken("set_tid/clone3/taken")]
#[case::autoreap_clone3_with("autoreap/clone3/with")]
#[case::autoreap_clone3_without("autoreap/clone3/without")]
#[case::nnp_clone3_with("nnp/clone3/with")]
#[case::nnp_clone3_without("nnp/clone3/without")]
#[case::pidfd_autokill_clone3_close("pidfd_autokill/clone3/close")]
#[case::pidfd_autokill_clone3_kept("pidfd_autokill/clone3/kept")]
#[case::pidfd_autokill_clone3_parent_death("pidfd_autokill/clone3/parent_death")]
#[case::empty_mntns_clone3_with("empty_mntns/clone3/with")]
#[case::empty_mntns_clone3_without("empty_mntns/clone3/without")]
fn flag_semantics(#[case] id: &str) {
    let spec = verify::find(id).unwrap_or_else(|| panic!("no check named {id}"));
    let check = spec.run();
    match check.outcome {
        Outcome::Pass => {}
        Outcome::Skip(reason) => skip!("{reason}"),
        Outcome::Fail => panic!(
            "{id} ({} via {}, {}):\n  expected: {}\n  observed: {}",
            check.flag, check.syscall, check.resource, check.expected, check.observed
        ),
    }
}

/// Every check of `verify::all()` has a case above, and every case names a
/// check: the list of cases is read from this file.
#[test]
fn every_check_has_a_case() {
    let source = include_str!("semantics.rs");
    let mut cases: Vec<&str> = source
        .lines()
        .filter_map(|line| line.strip_prefix("#[case::"))
        .filter_map(|rest| rest.split('"').nth(1))
        .collect();
    let mut ids: Vec<&str> = verify::all().iter().map(|spec| spec.id).collect();
    cases.sort_unstable();
    ids.sort_unstable();
    assert_eq!(cases, ids);
}

/// Ids are unique, so that `find` and the case names are unambiguous.
#[test]
fn ids_are_unique() {
    let mut ids: Vec<&str> = verify::all().iter().map(|spec| spec.id).collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count);
}
