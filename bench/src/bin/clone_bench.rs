//! Creating a process or a thread, side by side: `clonekit::fork` against
//! glibc's `fork`, and a thread-like `CloneBuilder::spawn` on a reused
//! `Stack` joined through a `TidSlot` against `std::thread::spawn` + `join`.
//! Pairs alternate in one run; the table gives medians, p10 and p90 in
//! microseconds and each median's ratio to its counterpart's.
//!
//! ```sh
//! cargo run --release -p clonekit-bench --bin clone_bench -- --iters 2000 [--csv clone.csv]
//! ```

use std::fmt::Write as _;
use std::io;
use std::time::Duration;

use clonekit_bench::clone_methods::{self, ClonekitThread};
use clonekit_bench::stats::{summarize, time, Args, Summary};

const USAGE: &str = "clone_bench [--iters N] [--csv FILE]";

fn main() {
    let args = Args::parse(&["iters", "csv"], USAGE);
    let iters = args.number("iters", 2000).max(1);
    let mut thread = ClonekitThread::new().unwrap_or_else(|e| fail(&e));

    let forks = pair(iters, clone_methods::clonekit_fork, clone_methods::libc_fork);
    let threads = pair(iters, || thread.run(), clone_methods::std_thread);
    let rows = [
        ("clonekit_fork", forks.0, forks.0.median_us / forks.1.median_us),
        ("libc_fork", forks.1, 1.0),
        (
            "clonekit_thread",
            threads.0,
            threads.0.median_us / threads.1.median_us,
        ),
        ("std_thread", threads.1, 1.0),
    ];

    println!("{iters} runs per method");
    println!(
        "{:<16} {:>11} {:>11} {:>11} {:>8}",
        "method", "median_us", "p10_us", "p90_us", "ratio"
    );
    let mut csv = String::from("method,median_us,p10_us,p90_us,ratio\n");
    for (name, s, ratio) in rows {
        println!(
            "{name:<16} {:>11.1} {:>11.1} {:>11.1} {ratio:>8.3}",
            s.median_us, s.p10_us, s.p90_us
        );
        let _ = writeln!(
            csv,
            "{name},{:.2},{:.2},{:.2},{ratio:.4}",
            s.median_us, s.p10_us, s.p90_us
        );
    }
    println!("ratio: clonekit_fork / libc_fork, clonekit_thread / std_thread");
    if let Some(path) = args.get("csv") {
        std::fs::write(path, csv).unwrap_or_else(|e| fail(&e));
    }
}

/// Runs `a` and `b` alternately `iters` times each (after a short warm-up).
fn pair(
    iters: usize,
    mut a: impl FnMut() -> io::Result<()>,
    mut b: impl FnMut() -> io::Result<()>,
) -> (Summary, Summary) {
    let mut samples: [Vec<Duration>; 2] = [Vec::with_capacity(iters), Vec::with_capacity(iters)];
    for i in 0..iters + 10 {
        let ta = time(&mut a).unwrap_or_else(|e| fail(&e));
        let tb = time(&mut b).unwrap_or_else(|e| fail(&e));
        if i >= 10 {
            samples[0].push(ta);
            samples[1].push(tb);
        }
    }
    let [mut sa, mut sb] = samples;
    (summarize(&mut sa), summarize(&mut sb))
}

fn fail(err: &dyn std::fmt::Display) -> ! {
    eprintln!("clone_bench: {err}");
    std::process::exit(1)
}
