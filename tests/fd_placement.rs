//! `Exec::fd` placement as a randomised property, with a fixed seed.
//!
//! Each iteration makes 1 to 6 pipes and places their write ends at random
//! distinct child fds in `0..=HIGHEST_TARGET`; the child shell writes each
//! fd's number to it (`echo 5 >&5`), and each pipe must get exactly its own
//! number, once per spawn (the same `Exec` is spawned twice). Pipes take the
//! lowest free numbers, so mappings cross: the source of one is often the
//! target of another, and a source sits at its own target now and then.
//!
//! The iterations run in helper processes (this program started again with
//! `CLONEKIT_FD_PLACEMENT_HELPER=<strategy>,<stdio>`, killed after
//! `support::rerun::HELPER_DEADLINE`), one per strategy with the parent's
//! fds 0, 1 and 2 open, and one with them closed, so that sources may be 0,
//! 1 or 2 and an unplaced stdio slot is closed in the child. A helper reports through a
//! copy of its stdout far above the range.
//!
//! On failure the seed, the iteration and the case are printed; set
//! `CLONEKIT_FD_PLACEMENT_SEED` to run with another seed.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitStatus;

use clonekit::{raw, Exec, Strategy};

#[macro_use]
mod support;

use support::procfs::fd_count;
use support::rerun::{only_listing, run_self};
use support::stress_count;

const HELPER_ENV: &str = "CLONEKIT_FD_PLACEMENT_HELPER";
const SEED_ENV: &str = "CLONEKIT_FD_PLACEMENT_SEED";
const DEFAULT_SEED: u64 = 0x5eed_0ffd_9a1c;
/// Per helper: two helpers (stdio open, closed) per strategy.
const ITERATIONS: usize = 100;
const MAX_PIPES: u64 = 6;
/// The highest child fd placed. dash only takes one digit after `>&`, so
/// without bash the targets stop at 9.
const HIGHEST_TARGET: RawFd = 12;
/// Where a helper keeps its report fd, far above every pipe.
const REPORT_FD_MIN: RawFd = 100;
const STRATEGIES: [Strategy; 3] = [Strategy::CloneVfork, Strategy::Vfork, Strategy::Fork];

fn main() {
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(DEFAULT_SEED);
    if let Ok(which) = std::env::var(HELPER_ENV) {
        std::process::exit(helper(&which, seed));
    }
    if only_listing("fd_placement") {
        return;
    }
    let (shell, highest) = shell();
    let iterations = stress_count(ITERATIONS);
    println!("seed {seed:#x} ({SEED_ENV}), {iterations} iterations per helper, {shell} writes to fds 0..={highest}");
    let mut bad = Vec::new();
    let mut passed = 0;
    for strategy in STRATEGIES {
        for stdio in ["open", "closed"] {
            let which = format!("{strategy:?},{stdio}");
            let (said, status) = run_helper(&which, seed);
            print!("{said}");
            if status.is_some_and(|s| s.success()) {
                passed += 1;
            } else {
                bad.push(format!("{which}: {status:?}"));
            }
        }
    }
    // Every helper runs wherever Exec runs: none skips.
    println!("{passed} passed, {} failed, 0 skipped", bad.len());
    if !bad.is_empty() {
        println!("failed: {bad:#?}");
        std::process::exit(1);
    }
}

/// Runs this program as the helper `which`, bounded; returns its output and
/// how it ended (`None`: killed past its deadline).
fn run_helper(which: &str, seed: u64) -> (String, Option<ExitStatus>) {
    let seed = format!("{seed:#x}");
    run_self(&[], &[(HELPER_ENV, which), (SEED_ENV, &seed)])
}

/// The shell that writes to the placed fds, and the highest fd it can name.
fn shell() -> (&'static str, RawFd) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|dir| dir.join("bash").exists()) {
        ("bash", HIGHEST_TARGET)
    } else {
        ("sh", 9)
    }
}

/// A helper: `ITERATIONS` random placements (fewer under
/// `CLONEKIT_STRESS_SCALE`) with `strategy`, the parent's stdio open or
/// closed. Exits with 0 if every one was right.
fn helper(which: &str, seed: u64) -> i32 {
    let (strategy, stdio) = which.split_once(',').expect("strategy,stdio");
    let (index, strategy) = STRATEGIES
        .into_iter()
        .enumerate()
        .find(|(_, s)| format!("{s:?}") == strategy)
        .expect("a known strategy");
    let close_stdio = stdio == "closed";
    let mut report = report_file();
    if close_stdio {
        for fd in 0..=2 {
            // SAFETY: this helper does not use its stdio any more.
            unsafe { libc::close(fd) };
        }
    }
    // Each helper its own stream, reproducible from the seed and its name.
    let mut rng = XorShift::new(seed ^ ((index as u64 * 2 + u64::from(close_stdio) + 1) << 56));
    let (shell, highest) = shell();
    let fds_before = fd_count();
    let iterations = stress_count(ITERATIONS);
    for iteration in 0..iterations {
        let case = Placement::random(&mut rng, highest);
        let described = format!("{case:?}");
        if let Err(why) = case.check(shell, strategy) {
            let _ = writeln!(
                report,
                "FAIL {which}: seed {seed:#x}, iteration {iteration}: {described}: {why}"
            );
            return 1;
        }
    }
    let fds_after = fd_count();
    if fds_after != fds_before {
        let _ = writeln!(report, "FAIL {which}: {fds_before} fds before, {fds_after} after");
        return 1;
    }
    let _ = writeln!(report, "PASS {which}: {iterations} placements");
    0
}

/// A close-on-exec copy of stdout at [`REPORT_FD_MIN`] or above.
fn report_file() -> File {
    // SAFETY: fcntl on our own stdout; the new fd is owned right away.
    let fd = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, REPORT_FD_MIN) };
    assert!(fd >= 0, "dup stdout");
    // SAFETY: just created, owned by nothing else.
    File::from(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// xorshift64: enough randomness for choosing fds, and no dependency.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One iteration: pipes whose write ends go to `targets` in the child.
struct Placement {
    /// (read end, write end) of each pipe.
    pipes: Vec<(File, OwnedFd)>,
    /// The child fd each pipe's write end is placed at.
    targets: Vec<RawFd>,
}

impl std::fmt::Debug for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let moves: Vec<String> = (self.pipes.iter().zip(&self.targets))
            .map(|((_, write), target)| format!("{}->{target}", write.as_raw_fd()))
            .collect();
        write!(f, "moves [{}]", moves.join(", "))
    }
}

impl Placement {
    /// 1 to [`MAX_PIPES`] pipes, each at a distinct random target; one in
    /// four is placed at its own number when that is free and in range.
    fn random(rng: &mut XorShift, highest: RawFd) -> Placement {
        let count = 1 + rng.below(MAX_PIPES) as usize;
        let mut pipes = Vec::with_capacity(count);
        let mut targets: Vec<RawFd> = Vec::with_capacity(count);
        for _ in 0..count {
            let (read, write) = raw::pipe2(libc::O_CLOEXEC).expect("pipe2");
            let own = write.as_raw_fd();
            let target = if own <= highest && !targets.contains(&own) && rng.below(4) == 0 {
                own
            } else {
                loop {
                    let target = rng.below(highest as u64 + 1) as RawFd;
                    if !targets.contains(&target) {
                        break target;
                    }
                }
            };
            pipes.push((File::from(read), write));
            targets.push(target);
        }
        Placement { pipes, targets }
    }

    /// Spawns the writer twice; each pipe must hold its target's number twice.
    fn check(self, shell: &str, strategy: Strategy) -> Result<(), String> {
        let script: String = self
            .targets
            .iter()
            .map(|target| format!("echo {target} >&{target}; "))
            .collect();
        let mut exec = Exec::new(shell);
        exec.args(["-c", &script]).strategy(strategy);
        let mut readers = Vec::with_capacity(self.pipes.len());
        for ((read, write), &target) in self.pipes.into_iter().zip(&self.targets) {
            exec.fd(target, write);
            readers.push(read);
        }
        let mut statuses = Vec::new();
        for _ in 0..2 {
            let mut child = exec.spawn().map_err(|err| format!("spawn: {err:?}"))?;
            statuses.push(child.wait().map_err(|err| format!("wait: {err:?}"))?);
        }
        // The Exec holds the write ends: without it, reads end.
        drop(exec);
        let mut wrong = Vec::new();
        for (mut read, target) in readers.into_iter().zip(&self.targets) {
            let mut got = String::new();
            let _ = read.read_to_string(&mut got);
            if got != format!("{target}\n{target}\n") {
                wrong.push(format!("fd {target} got {got:?}"));
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!("{} (shell exits {statuses:?})", wrong.join(", ")))
        }
    }
}
