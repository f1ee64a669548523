//! Spawning a program, side by side: clonekit's `Exec` (each strategy),
//! `std::process::Command`, `posix_spawn`, `fork`+`execve`, and the least a
//! spawn can cost, at several parent memory sizes; and `Exec::output` beside
//! `Command::output` (`clonekit_output`, `std_output`: both streams piped
//! and read to their ends). The methods alternate (A B C A B C ...) in one
//! run, so noise hits them alike; the table gives medians, p10 and p90 in
//! microseconds and each median's ratio to posix_spawn's at the same size.
//!
//! ```sh
//! cargo run --release -p clonekit-bench --bin spawn_bench -- --rss-mib 0,1024,4096 \
//!     --iters 200 [--target /bin/true|static] [--methods posix_spawn,clonekit_clone_vfork,...] \
//!     [--csv spawn.csv] [--svg spawn.svg]
//! ```
//!
//! The methods that fork the parent's memory (`clonekit_fork`,
//! `libc_fork_exec`) alternate in a phase of their own after the others: a
//! fork leaves the parent's pages write-protected, and at 4 GiB the method
//! that ran next paid ~100 µs of page faults that were not its own.
//! `--methods` measures a subset.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clonekit_bench::spawn_methods::{self, Method, Spawner, METHODS};
use clonekit_bench::stats::{summarize, time, Args, Summary};

const USAGE: &str = "spawn_bench [--rss-mib 0,1024,4096] [--iters N] [--target /bin/true|static] \
                     [--methods NAME,...] [--csv FILE] [--svg FILE]";

/// One row of the result: a method at one parent size.
struct Row {
    method: Method,
    rss_mib: usize,
    summary: Summary,
    ratio: f64,
}

fn main() {
    let args = Args::parse(&["rss-mib", "iters", "target", "methods", "csv", "svg"], USAGE);
    let methods = chosen_methods(args.get("methods"));
    let sizes: Vec<usize> = args
        .get("rss-mib")
        .unwrap_or("0,1024,4096")
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .unwrap_or_else(|_| fail(&format!("bad --rss-mib entry {s:?}")))
        })
        .collect();
    let iters = args.number("iters", 200).max(1);
    let target = target_program(args.get("target").unwrap_or("/bin/true"));

    let mut spawner = Spawner::new(&target);
    let mut ballast = Vec::new();
    let mut rows = Vec::new();
    println!("target {}; {iters} spawns per method and size", target.display());
    for &rss_mib in &sizes {
        grow(&mut ballast, rss_mib);
        rows.extend(measure(&mut spawner, &methods, rss_mib, iters));
    }
    print_table(&rows);
    print_floor_ratios(&rows);
    if let Some(path) = args.get("csv") {
        std::fs::write(path, csv(&rows)).unwrap_or_else(|e| fail(&format!("writing {path}: {e}")));
    }
    if let Some(path) = args.get("svg") {
        std::fs::write(path, svg(&rows, &methods, &sizes))
            .unwrap_or_else(|e| fail(&format!("writing {path}: {e}")));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("spawn_bench: {message}");
    std::process::exit(1)
}

/// `static` means the tiny static program this bench writes; anything else
/// is a path.
fn target_program(target: &str) -> PathBuf {
    if target != "static" {
        return PathBuf::from(target);
    }
    let path = std::env::temp_dir().join(format!("clonekit-static-exit-{}", std::process::id()));
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    spawn_methods::write_static_target(&path)
        .unwrap_or_else(|e| fail(&format!("writing {}: {e}", path.display())));
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    fail(&format!(
        "--target static is not built for this architecture ({})",
        path.display()
    ));
    path
}

/// Grows the parent's resident memory to `mib` MiB by touching every page.
fn grow(ballast: &mut Vec<u8>, mib: usize) {
    let bytes = mib << 20;
    if ballast.len() < bytes {
        ballast.resize(bytes, 0);
        for page in ballast.chunks_mut(4096) {
            page[0] = 1;
        }
    }
}

/// The methods named by `--methods` (all by default), in the table's order;
/// posix_spawn is always among them, as the ratios are to it.
fn chosen_methods(names: Option<&str>) -> Vec<Method> {
    let Some(names) = names else {
        return METHODS.into_iter().filter(|m| available(*m)).collect();
    };
    let names: Vec<&str> = names.split(',').map(str::trim).collect();
    if let Some(unknown) = names.iter().find(|n| !METHODS.iter().any(|m| m.name() == **n)) {
        let known: Vec<&str> = METHODS.iter().map(|m| m.name()).collect();
        fail(&format!(
            "unknown method {unknown:?}; the methods are {}",
            known.join(",")
        ));
    }
    METHODS
        .into_iter()
        .filter(|m| *m == Method::PosixSpawn || names.contains(&m.name()))
        .filter(|m| available(*m))
        .collect()
}

/// Whether `method` runs here; says so when it does not.
fn available(method: Method) -> bool {
    let yes = method.available();
    if !yes {
        eprintln!("{}: not available on this kernel, skipped", method.name());
    }
    yes
}

/// Measures `methods` at the current size. The methods that fork the
/// parent's memory run in a phase of their own, after the others: a fork
/// leaves every page of the parent write-protected (copy-on-write), and the
/// method that runs next would pay those page faults as its own.
fn measure(spawner: &mut Spawner, methods: &[Method], rss_mib: usize, iters: usize) -> Vec<Row> {
    let (forking, flat): (Vec<Method>, Vec<Method>) = methods.iter().partition(|m| m.forks_memory());
    let mut measured: Vec<(Method, Summary)> = Vec::new();
    for phase in [flat, forking] {
        measured.extend(phase.iter().copied().zip(alternate(spawner, &phase, iters)));
    }
    measured.sort_by_key(|(method, _)| methods.iter().position(|m| m == method));
    let posix = measured
        .iter()
        .find(|(m, _)| *m == Method::PosixSpawn)
        .map_or(f64::NAN, |(_, s)| s.median_us);
    measured
        .into_iter()
        .map(|(method, summary)| Row {
            method,
            rss_mib,
            summary,
            ratio: summary.median_us / posix,
        })
        .collect()
}

/// Runs `methods` in turn (A B C A B C ...) `iters` times after a warm-up
/// (stack caches, page cache, plans), and summarises each.
fn alternate(spawner: &mut Spawner, methods: &[Method], iters: usize) -> Vec<Summary> {
    for &method in methods {
        for _ in 0..3 {
            spawner.run(method).unwrap_or_else(|e| fail(&e.to_string()));
        }
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(iters); methods.len()];
    for _ in 0..iters {
        for (method, samples) in methods.iter().zip(&mut samples) {
            let took = time(|| spawner.run(*method)).unwrap_or_else(|e| fail(&e.to_string()));
            samples.push(took);
        }
    }
    samples.iter_mut().map(|s| summarize(s)).collect()
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<22} {:>8} {:>11} {:>11} {:>11} {:>16}",
        "method", "rss_mib", "median_us", "p10_us", "p90_us", "vs_posix_spawn"
    );
    for row in rows {
        let s = row.summary;
        println!(
            "{:<22} {:>8} {:>11.1} {:>11.1} {:>11.1} {:>16.3}",
            row.method.name(),
            row.rss_mib,
            s.median_us,
            s.p10_us,
            s.p90_us,
            row.ratio
        );
    }
}

/// Exec's default and autoreap spawns against `baseline_pidfd`, the least
/// a spawn that can be killed safely costs (BENCHMARKS.md's target).
fn print_floor_ratios(rows: &[Row]) {
    let median = |method: Method, rss_mib: usize| {
        rows.iter()
            .find(|r| r.method == method && r.rss_mib == rss_mib)
            .map(|r| r.summary.median_us)
    };
    for floor_row in rows.iter().filter(|r| r.method == Method::BaselinePidfd) {
        for method in [Method::ClonekitCloneVfork, Method::ClonekitAutoreap] {
            if let Some(us) = median(method, floor_row.rss_mib) {
                println!(
                    "{} / baseline_pidfd at {} MiB: {:.3}",
                    method.name(),
                    floor_row.rss_mib,
                    us / floor_row.summary.median_us
                );
            }
        }
    }
}

fn csv(rows: &[Row]) -> String {
    let mut out = String::from("method,rss_mib,median_us,p10_us,p90_us,ratio_vs_posix_spawn\n");
    for row in rows {
        let s = row.summary;
        let _ = writeln!(
            out,
            "{},{},{:.2},{:.2},{:.2},{:.4}",
            row.method.name(),
            row.rss_mib,
            s.median_us,
            s.p10_us,
            s.p90_us,
            row.ratio
        );
    }
    out
}

/// Latency against parent RSS, one line per method, log-scale latency axis.
fn svg(rows: &[Row], methods: &[Method], sizes: &[usize]) -> String {
    const W: f64 = 760.0;
    const H: f64 = 440.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 190.0;
    const TOP: f64 = 30.0;
    const BOTTOM: f64 = 50.0;
    const COLORS: [&str; 11] = [
        "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#a6761d", "#1f78b4", "#66a61e", "#e6ab02", "#666666",
        "#b15928", "#6a3d9a",
    ];
    let (lo, hi) = rows.iter().fold((f64::MAX, f64::MIN), |(lo, hi), r| {
        (lo.min(r.summary.median_us), hi.max(r.summary.median_us))
    });
    let (lo, hi) = (
        lo.max(0.01).log10().floor(),
        hi.max(0.01).log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let x = |i: usize| LEFT + (W - LEFT - RIGHT) * (i as f64 + 0.5) / sizes.len() as f64;
    let y = |us: f64| TOP + (H - TOP - BOTTOM) * (hi - us.max(0.01).log10()) / (hi - lo);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" \
         font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"18\" font-size=\"14\">spawn + wait latency (median, µs, log scale) against parent RSS</text>\n"
    );
    for decade in lo as i32..=hi as i32 {
        let yy = y(10f64.powi(decade));
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            10f64.powi(decade)
        );
    }
    for (i, size) in sizes.iter().enumerate() {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{size} MiB</text>",
            x(i),
            H - BOTTOM + 20.0
        );
    }
    for (m, method) in methods.iter().enumerate() {
        let color = COLORS[m % COLORS.len()];
        let points: Vec<String> = sizes
            .iter()
            .enumerate()
            .filter_map(|(i, size)| {
                let row = rows.iter().find(|r| r.method == *method && r.rss_mib == *size)?;
                Some(format!("{:.1},{:.1}", x(i), y(row.summary.median_us)))
            })
            .collect();
        let _ = writeln!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"{color}\">{}</text>",
            points.join(" "),
            W - RIGHT + 10.0,
            TOP + 18.0 * m as f64 + 10.0,
            method.name()
        );
    }
    out.push_str("</svg>\n");
    out
}
