//! The rules against the kernel, by random requests (issue 17): flags, exit
//! signals, TID and pidfd slots, set_tid arrays, cgroup fds, stacks and
//! calls, drawn with a fixed seed, each asked of `CloneBuilder::check` and of
//! the raw system call in its own sacrificial helper, in each caller context
//! (see `support::clone_case`). Every disagreement is reported at once,
//! grouped, with one example.
//!
//! How the kernel's answers count:
//! - EINVAL is a rule answer: `check()` must refuse (with any rule, or
//!   `Unsupported`).
//! - Any other errno (EPERM, ENOSPC, EAGAIN, ENOMEM, EUSERS: privilege and
//!   resource limits; EEXIST: a set_tid PID in use; EBADF: a cgroup fd that
//!   is none; ENOSYS: no clone3) is no rule answer: whatever `check()` said,
//!   there is no disagreement. They are counted and printed.
//! - Acceptance: `check()` must accept, unless its refusal is one of the
//!   crate's documented choices (`documented_choice`).
//!
//! Stacks: a `CLONE_VM` (or `CLONE_SETTLS`) request is sent raw with a stack
//! of its own even when the case has none (the builder is told none: check()
//! does not look at stacks): without one the child would run on the helper's
//! stack beside it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clonekit::{CloneFlags, Errno, Rule, Signal, Syscall};

#[macro_use]
mod support;

use support::clone_case::{
    ask, Answer, Case, CgroupFd, Checked, ExitSig, Fds, PidfdSlot, Slot, StackSize, CONTEXTS,
};
use support::{serial, stress_count};

/// splitmix64: a fixed seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True once in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The named flags and how often each is drawn (once in n). The namespace
/// flags that are slow to make and tear down are drawn rarely.
const FLAG_ODDS: &[(CloneFlags, u64)] = &[
    (CloneFlags::VM, 3),
    (CloneFlags::FS, 4),
    (CloneFlags::FILES, 4),
    (CloneFlags::SIGHAND, 3),
    (CloneFlags::PIDFD, 6),
    (CloneFlags::PTRACE, 8),
    (CloneFlags::VFORK, 5),
    (CloneFlags::PARENT, 6),
    (CloneFlags::THREAD, 4),
    (CloneFlags::NEWNS, 10),
    (CloneFlags::SYSVSEM, 6),
    (CloneFlags::SETTLS, 10),
    (CloneFlags::PARENT_SETTID, 8),
    (CloneFlags::CHILD_CLEARTID, 8),
    (CloneFlags::UNTRACED, 8),
    (CloneFlags::CHILD_SETTID, 8),
    (CloneFlags::NEWCGROUP, 12),
    (CloneFlags::NEWUTS, 10),
    (CloneFlags::NEWIPC, 10),
    (CloneFlags::NEWUSER, 10),
    (CloneFlags::NEWPID, 8),
    (CloneFlags::NEWNET, 40),
    (CloneFlags::IO, 8),
    (CloneFlags::CLEAR_SIGHAND, 8),
    (CloneFlags::INTO_CGROUP, 12),
    (CloneFlags::NEWTIME, 8),
    (CloneFlags::AUTOREAP, 8),
    (CloneFlags::NNP, 10),
    (CloneFlags::PIDFD_AUTOKILL, 10),
    (CloneFlags::EMPTY_MNTNS, 12),
];

/// Bits that are none of the named flags: CLONE_DETACHED and two the kernel
/// has not used.
const UNKNOWN_BITS: &[u64] = &[0x0040_0000, 1 << 38, 1 << 40];

fn draw(rng: &mut Rng, pid_max: i32) -> Case {
    let mut flags = CloneFlags::empty();
    for &(flag, odds) in FLAG_ODDS {
        if rng.one_in(odds) {
            flags |= flag;
        }
    }
    // Thread-like requests often enough to reach the rules past the flag rules.
    if rng.one_in(4) {
        flags |= CloneFlags::VM | CloneFlags::SIGHAND;
    }
    if rng.one_in(12) {
        flags |= CloneFlags::from_bits_retain(rng.pick(UNKNOWN_BITS));
    }
    let exit_signal = match rng.below(8) {
        0..=2 => ExitSig::None,
        3..=5 => ExitSig::Valid(Signal::SIGCHLD),
        6 => ExitSig::Valid(Signal::SIGUSR1),
        _ => ExitSig::Invalid(rng.pick(&[65, 0x91, 0xff])),
    };
    let slot = |rng: &mut Rng| match rng.below(6) {
        0 => Slot::A,
        1 => Slot::B,
        _ => Slot::None,
    };
    let set_tid = rng.one_in(4).then(|| {
        let len = match rng.below(4) {
            0 => rng.below(34) as usize,
            _ => rng.below(3) as usize,
        };
        let values = [0, 1, 1, -1, 2, pid_max - 1, pid_max, pid_max + 1, 1 << 30];
        let mut tids: Vec<i32> = (0..len)
            .map(|_| match rng.below(3) {
                0 => rng.pick(&values),
                _ => 300 + rng.below(20_000) as i32,
            })
            .collect();
        if len >= 2 && rng.one_in(3) {
            tids[1] = tids[0];
        }
        tids
    });
    Case {
        flags,
        exit_signal,
        parent_tid: rng.one_in(6),
        child_tid: slot(rng),
        clear_child_tid: slot(rng),
        pidfd: match rng.below(8) {
            0 => PidfdSlot::Own,
            1 => PidfdSlot::SameAsParentTid,
            _ => PidfdSlot::None,
        },
        tls: rng.one_in(12),
        set_tid,
        cgroup: match rng.below(10) {
            0 => CgroupFd::Valid,
            1 => CgroupFd::NotCgroup,
            _ => CgroupFd::None,
        },
        stack: rng.pick(&[StackSize::None, StackSize::Small, StackSize::Normal]),
        syscall: rng.pick(&[Syscall::Auto, Syscall::Auto, Syscall::Clone, Syscall::Clone3]),
    }
}

/// Why `check()` may refuse what the kernel accepts: the crate's documented
/// choices (each is a `Rule`'s documentation), and the differences known to
/// belong to other issues. `None`: no reason, a disagreement.
fn documented_choice(rule: Rule, case: &Case, via: Syscall) -> Option<&'static str> {
    let legacy = via == Syscall::Clone;
    let unknown = case.flags.unknown().bits();
    match rule {
        Rule::UnknownBits if legacy => {
            Some("legacy clone reads the low byte as the exit signal and drops bits above 31")
        }
        Rule::UnknownBits if matches!(case.exit_signal, ExitSig::Invalid(_)) && unknown == 0 => {
            // The builder can only be given an invalid exit signal as bits.
            Some("an invalid exit signal reaches the builder only as unknown low bits")
        }
        Rule::Clone3Only if legacy => Some("legacy clone ignores or misreads what only clone3 carries"),
        // The builder checks the arguments before it settles the call: a
        // set_tid or CLEAR_SIGHAND rule is found before Clone3Only, about
        // what legacy clone would not even be given.
        Rule::ClearSighandWithSighand
        | Rule::SetTidEmpty
        | Rule::SetTidTooLong
        | Rule::SetTidTooDeep
        | Rule::SetTidNotPositive
        | Rule::SetTidAbovePidMax
        | Rule::SetTidNewpidNotOne
        | Rule::SetTidNoInitNotOne
        | Rule::AutoreapWithThread
        | Rule::AutoreapWithParent
        | Rule::ExitSignalWithAutoreap
        | Rule::NnpWithThread
        | Rule::AutokillWithoutPidfd
        | Rule::AutokillWithoutAutoreap
            if legacy && case.clone3_only() =>
        {
            Some("legacy clone is not given what this rule is about (only clone3 carries it)")
        }
        // CLONE_EMPTY_MNTNS is bit 37: legacy clone never sees it.
        Rule::FsWithNewns if legacy && !case.flags.contains(CloneFlags::NEWNS) => {
            Some("legacy clone is not given CLONE_EMPTY_MNTNS (only clone3 carries it)")
        }
        Rule::ExitSignalWithThread | Rule::ExitSignalWithParent if legacy => {
            Some("legacy clone ignores the exit signal it is given")
        }
        Rule::ParentSettidWithoutSlot
        | Rule::ChildSettidWithoutSlot
        | Rule::ChildCleartidWithoutSlot
        | Rule::SettlsWithoutTls
        | Rule::IntoCgroupWithoutFd => Some("a flag without its argument: the kernel gets NULL (or fd 0)"),
        Rule::ChildTidSlotsDiffer => Some("the kernel has one child_tid pointer for both slots"),
        _ => None,
    }
}

/// One group of disagreements: how many, and the first.
struct Group {
    count: usize,
    example: String,
}

#[test]
fn check_agrees_with_the_kernel() {
    require_root!("the contexts and namespaces need root");
    let _serial = serial();
    let pid_max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(32768);
    let fds = Fds::open();
    let clone3 = support::has_clone3();
    let per_context = stress_count(3000) / CONTEXTS.len();
    // A bound on the wall time whatever the machine: the count is the aim.
    let budget = Duration::from_secs(if std::env::var_os(support::STRESS_SCALE_ENV).is_some() {
        90
    } else {
        45
    });
    let start = Instant::now();
    let mut rng = Rng(0x5eed_0017);
    let mut disagreements: BTreeMap<String, Group> = BTreeMap::new();
    let mut non_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut agreed = 0usize;
    // What check() said against what the kernel did, counted.
    let mut coverage: BTreeMap<String, usize> = BTreeMap::new();
    // The documented choices that explained a refusal, counted.
    let mut documented: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut asked = 0usize;
    let mut accepted_raw = 0usize;
    'contexts: for context in CONTEXTS {
        // Can the host make this context?
        if let Err(why) = ask(&Case::flags(CloneFlags::empty()), context, &fds) {
            skip_part!(format!("{context:?}"), "{why}");
            continue;
        }
        for _ in 0..per_context {
            if start.elapsed() > budget {
                println!("the time budget ({budget:?}) ran out after {asked} cases");
                break 'contexts;
            }
            let mut case = draw(&mut rng, pid_max);
            if case.cgroup == CgroupFd::Valid && fds.cgroup.is_none() {
                case.cgroup = CgroupFd::NotCgroup;
            }
            if !clone3 && case.raw_call() == Syscall::Clone3 {
                continue;
            }
            let answer = ask(&case, context, &fds).expect("the context was made before");
            asked += 1;
            let seen = match answer.checked {
                Checked::Refused(rule) => format!("{rule:?}"),
                other => format!("{other:?}"),
            };
            let kernel_said = answer
                .kernel
                .map_or_else(|errno| format!("{errno:?}"), |()| "made".to_owned());
            *coverage.entry(format!("{seen}/{kernel_said}")).or_default() += 1;
            if answer.kernel.is_ok() {
                accepted_raw += 1;
            }
            match judge(&case, &answer) {
                Verdict::Agree => agreed += 1,
                Verdict::Documented(reason) => {
                    agreed += 1;
                    *documented.entry(reason).or_default() += 1;
                }
                Verdict::NotARule(errno) => {
                    *non_rule.entry(format!("{errno}")).or_default() += 1;
                }
                Verdict::Disagree(key) => {
                    let example = format!(
                        "flags {:#x} ({:?}), exit signal {:?}, via {:?} (asked {:?}), parent_tid {}, child_tid {:?}, \
                         clear_child_tid {:?}, pidfd {:?}, tls {}, set_tid {:?}, cgroup {:?}, stack {:?}, \
                         context {context:?}: check {:?}, kernel {:?}",
                        case.effective_flags().bits(),
                        case.effective_flags(),
                        case.exit_signal,
                        answer.via,
                        case.syscall,
                        case.parent_tid,
                        case.child_tid,
                        case.clear_child_tid,
                        case.pidfd,
                        case.tls,
                        case.set_tid,
                        case.cgroup,
                        case.stack,
                        answer.checked,
                        answer.kernel,
                    );
                    let group = disagreements
                        .entry(format!("{key} in {context:?}"))
                        .or_insert(Group { count: 0, example });
                    group.count += 1;
                }
            }
        }
    }
    println!(
        "{asked} cases in {:.1} s: {agreed} agreed ({accepted_raw} made a child), non-rule kernel answers {non_rule:?}",
        start.elapsed().as_secs_f64()
    );
    println!("check/kernel: {coverage:?}");
    println!("documented choices (check refuses, the kernel accepts): {documented:#?}");
    assert!(asked > 0, "no case was asked");
    if !disagreements.is_empty() {
        let mut report = format!("{} kinds of disagreement:\n", disagreements.len());
        for (key, group) in &disagreements {
            report += &format!("- {key}: {} cases, e.g. {}\n", group.count, group.example);
        }
        panic!("{report}");
    }
}

enum Verdict {
    Agree,
    /// check() refuses what the kernel accepts, for this documented reason.
    Documented(&'static str),
    NotARule(Errno),
    Disagree(String),
}

fn judge(case: &Case, answer: &Answer) -> Verdict {
    if let Some(signal) = answer.helper_killed {
        return Verdict::Disagree(format!("the helper was killed by signal {signal}"));
    }
    match (answer.checked, answer.kernel) {
        (Checked::Ok, Ok(())) => Verdict::Agree,
        // kernel_clone (kernel/fork.c, since clone3 in Linux 5.3): clone3
        // refuses a pidfd and a parent TID at one address. The builder
        // cannot ask for it: its pidfd word is the engine's own.
        (Checked::Ok, Err(Errno::EINVAL))
            if case.pidfd == PidfdSlot::SameAsParentTid
                && case.parent_tid
                && answer.via == Syscall::Clone3 =>
        {
            Verdict::Agree
        }
        (Checked::Ok, Err(Errno::EINVAL)) => {
            Verdict::Disagree(format!("check Ok, kernel EINVAL via {:?}", answer.via))
        }
        (Checked::Refused(_) | Checked::Unsupported(_), Err(Errno::EINVAL)) => Verdict::Agree,
        (_, Err(errno)) => Verdict::NotARule(errno),
        (Checked::Refused(rule), Ok(())) => match documented_choice(rule, case, answer.via) {
            Some(reason) => Verdict::Documented(reason),
            None => Verdict::Disagree(format!(
                "check refuses ({rule:?}), kernel accepts via {:?}",
                answer.via
            )),
        },
        (other, Ok(())) => Verdict::Disagree(format!("check {other:?}, kernel accepts via {:?}", answer.via)),
    }
}
