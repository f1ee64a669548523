//! The crate's main example: proves on this host what each clone flag
//! shares, and prints the table.
//!
//! Every row creates a child with and without one flag, through legacy
//! `clone` and through `clone3`, lets the child change something, and shows
//! what the caller then observes next to what clone(2) promises. Each check
//! runs in a forked helper with a deadline, so nothing here can hang or take
//! this process down. Exits 1 if any check fails.
//!
//! Run with `cargo run --release --example semantics`.

use std::process::ExitCode;

use clonekit::verify::{self, Check, Outcome};

fn verdict(check: &Check) -> String {
    match &check.outcome {
        Outcome::Pass => "pass".into(),
        Outcome::Fail => "FAIL".into(),
        Outcome::Skip(reason) => format!("skip: {reason}"),
    }
}

fn main() -> ExitCode {
    let checks = verify::run_all();
    let header = ["flag", "resource", "syscall", "expected", "observed", "result"];
    let rows: Vec<[String; 6]> = checks
        .iter()
        .map(|c| {
            // A passing row observed exactly what was expected: say so once.
            let observed = match c.outcome {
                Outcome::Pass => "as expected".to_string(),
                _ => c.observed.clone(),
            };
            [
                c.flag.to_string(),
                c.resource.to_string(),
                c.syscall.to_string(),
                c.expected.clone(),
                observed,
                verdict(c),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(&header.map(String::from));
    line(&widths.map(|w| "-".repeat(w)));
    let mut concern = "";
    for (check, row) in checks.iter().zip(&rows) {
        let this = check.id.split('/').next().unwrap_or("");
        if !concern.is_empty() && this != concern {
            println!();
        }
        concern = this;
        line(row);
    }

    let count = |f: fn(&Outcome) -> bool| checks.iter().filter(|c| f(&c.outcome)).count();
    let passed = count(|o| *o == Outcome::Pass);
    let failed = count(|o| *o == Outcome::Fail);
    let skipped = count(|o| matches!(o, Outcome::Skip(_)));
    println!();
    println!(
        "{} checks: {passed} passed, {failed} failed, {skipped} skipped (kernel {})",
        checks.len(),
        kernel()
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The running kernel's release, for the summary line.
fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}
