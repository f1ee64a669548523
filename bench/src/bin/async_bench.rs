//! Spawning and awaiting children in tokio, side by side: clonekit's
//! `Exec::spawn_async` + `wait` against `tokio::process::Command::spawn` +
//! `wait`, `--count` children per method at each `--concurrency` (that many
//! tasks, each spawning and awaiting one child after another).
//!
//! The machine this runs on may be shared: so the two methods alternate in
//! slices of `--slice` children (A B, then B A), each slice's pair runs back
//! to back under the same load, and the ratio clonekit / tokio is taken per
//! pair. The table gives the total time of each method, its time per child,
//! and the pairs' ratio: median, p10 and p90.
//!
//! ```sh
//! cargo run --release -p clonekit-bench --bin async_bench -- \
//!     [--count 1000] [--concurrency 1,64] [--slice 100] [--target /bin/true|static]
//! ```
//!
//! `--target static` runs a 129-byte static program that only exits (written
//! by the bench), so that the spawn and wait machinery is what is measured
//! rather than the dynamic loader.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clonekit_bench::spawn_methods;
use tokio::task::JoinSet;

const USAGE: &str = "async_bench [--count N] [--concurrency 1,64] [--slice N] [--target PROGRAM|static]";

/// The name of the static program, in the temporary directory.
const STATIC_TARGET: &str = "clonekit-static-exit";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Method {
    Clonekit,
    Tokio,
}

/// What to run, how often, how many at once.
struct Config {
    count: usize,
    concurrencies: Vec<usize>,
    /// Children per slice; at least twice the concurrency.
    slice: usize,
    target: String,
}

fn main() {
    let config = parse_args();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    println!(
        "{} children of {} per method and concurrency",
        config.count, config.target
    );
    println!(
        "{:>11}  {:>11}  {:>9}  {:>8}  {:>8}  {:>18}",
        "concurrency", "clonekit ms", "tokio ms", "ck µs/ch", "tk µs/ch", "ratio (p10-p90)"
    );
    for &concurrency in &config.concurrencies {
        let slice = config.slice.max(2 * concurrency);
        let pairs = config.count.div_ceil(slice);
        // Warm-up, not counted: each method's first spawns set things up once
        // (clonekit's plan and stack pool, tokio's orphan queue and signal setup).
        for method in [Method::Clonekit, Method::Tokio] {
            runtime.block_on(batch(method, &config.target, slice, concurrency));
        }
        let (mut ours, mut theirs, mut ratios) = (Duration::ZERO, Duration::ZERO, Vec::new());
        for pair in 0..pairs {
            let order = match pair % 2 {
                0 => [Method::Clonekit, Method::Tokio],
                _ => [Method::Tokio, Method::Clonekit],
            };
            let [first, second] =
                order.map(|method| runtime.block_on(batch(method, &config.target, slice, concurrency)));
            let (a, b) = match order[0] {
                Method::Clonekit => (first, second),
                Method::Tokio => (second, first),
            };
            ours += a;
            theirs += b;
            ratios.push(a.as_secs_f64() / b.as_secs_f64());
        }
        ratios.sort_by(f64::total_cmp);
        let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
        let per_child = |total: Duration| total.as_secs_f64() * 1e6 / (pairs * slice) as f64;
        println!(
            "{concurrency:>11}  {:>11.1}  {:>9.1}  {:>8.1}  {:>8.1}  {:>6.2} ({:.2}-{:.2})",
            ours.as_secs_f64() * 1e3,
            theirs.as_secs_f64() * 1e3,
            per_child(ours),
            per_child(theirs),
            at(0.5),
            at(0.1),
            at(0.9)
        );
    }
    if config.target.contains(STATIC_TARGET) {
        let _ = std::fs::remove_file(&config.target);
    }
}

/// Spawns and awaits `count` children of `target` with `method`, from
/// `concurrency` tasks at once; how long it took.
async fn batch(method: Method, target: &str, count: usize, concurrency: usize) -> Duration {
    let started = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let (started, target) = (started.clone(), target.to_owned());
        tasks.spawn(async move {
            match method {
                Method::Clonekit => clonekit_worker(&target, &started, count).await,
                Method::Tokio => tokio_worker(&target, &started, count).await,
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a worker task panicked");
    }
    start.elapsed()
}

/// One task's share: children one after another until `count` have started.
async fn clonekit_worker(target: &str, started: &AtomicUsize, count: usize) {
    let mut exec = clonekit::Exec::new(target);
    while started.fetch_add(1, Ordering::Relaxed) < count {
        let status = exec.spawn_async().expect("spawn_async").wait().await;
        assert!(status.expect("wait").success());
    }
}

/// The same with `tokio::process`.
async fn tokio_worker(target: &str, started: &AtomicUsize, count: usize) {
    let mut command = tokio::process::Command::new(target);
    while started.fetch_add(1, Ordering::Relaxed) < count {
        let status = command.spawn().expect("spawn").wait().await;
        assert!(status.expect("wait").success());
    }
}

fn parse_args() -> Config {
    let mut config = Config {
        count: 1000,
        concurrencies: vec![1, 64],
        slice: 100,
        target: ["/bin/true", "/usr/bin/true"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .unwrap_or("true")
            .to_owned(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let [name, value] = pair else {
            fail("an option without a value")
        };
        let number = || {
            value
                .parse::<usize>()
                .unwrap_or_else(|_| fail(&format!("bad {name} {value:?}")))
        };
        match name.as_str() {
            "--count" => config.count = number().max(1),
            "--slice" => config.slice = number().max(1),
            "--target" => config.target = target_program(value),
            "--concurrency" => {
                config.concurrencies = value
                    .split(',')
                    .map(|c| {
                        c.trim()
                            .parse::<usize>()
                            .unwrap_or_else(|_| fail(&format!("bad concurrency {c:?}")))
                    })
                    .map(|c| c.max(1))
                    .collect();
            }
            other => fail(&format!("unknown option {other}")),
        }
    }
    config
}

/// `target`, or for `static` the path of the static program, written now.
fn target_program(target: &str) -> String {
    if target != "static" {
        return target.to_owned();
    }
    let path = std::env::temp_dir().join(format!("{STATIC_TARGET}-{}", std::process::id()));
    #[cfg(target_arch = "x86_64")]
    spawn_methods::write_static_target(&path)
        .unwrap_or_else(|e| fail(&format!("writing {}: {e}", path.display())));
    #[cfg(not(target_arch = "x86_64"))]
    fail("--target static is only built for x86_64");
    path.to_string_lossy().into_owned()
}

fn fail(why: &str) -> ! {
    eprintln!("{why}\nusage: {USAGE}");
    std::process::exit(2)
}
