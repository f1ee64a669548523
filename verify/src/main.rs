//! `clonekit-verify`: proves on this host what each clone flag shares, and
//! prints the table.
//!
//! Every row creates a child with and without one flag, through legacy
//! `clone` and through `clone3`, lets the child change something, and shows
//! what the caller then observes next to what clone(2) promises. Each check
//! runs in a forked helper with a deadline, so nothing here can hang or take
//! this process down. Exits 1 if any check fails.
//!
//! Run with `cargo run --release -p clonekit-verify`.

use std::process::ExitCode;

use clonekit_verify::{self as verify, Check, Outcome};

/// The table's columns, in order.
const HEADER: [&str; 6] = [
    "result",
    "syscall",
    "flag",
    "resource",
    "expected (what clone(2) promises)",
    "observed",
];

fn cells(check: &Check) -> [String; 6] {
    let result = match check.outcome {
        Outcome::Pass => "pass",
        Outcome::Fail => "FAIL",
        Outcome::Skip(_) => "skip",
    };
    [
        result.into(),
        check.syscall.into(),
        check.flag.into(),
        check.resource.into(),
        check.expected.clone(),
        match check.outcome {
            Outcome::Pass => "= expected".into(),
            Outcome::Fail => check.observed.clone(),
            Outcome::Skip(_) => "-".into(),
        },
    ]
}

/// Under a skipped row: why.
fn detail(check: &Check) -> Option<String> {
    match &check.outcome {
        Outcome::Skip(reason) => Some(format!("skipped: {reason}")),
        _ => None,
    }
}

fn main() -> ExitCode {
    let checks = verify::run_all();
    let rows: Vec<[String; 6]> = checks.iter().map(cells).collect();
    let mut widths = HEADER.map(str::len);
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
    line(&HEADER.map(String::from));
    line(&widths.map(|w| "-".repeat(w)));
    let mut concern = "";
    for (check, row) in checks.iter().zip(&rows) {
        // A blank line between concerns (the first part of the id).
        let this = check.id.split('/').next().unwrap_or("");
        if !concern.is_empty() && this != concern {
            println!();
        }
        concern = this;
        line(row);
        if let Some(detail) = detail(check) {
            println!("{:indent$}{detail}", "", indent = widths[0] + 2);
        }
    }

    let count = |f: fn(&Outcome) -> bool| checks.iter().filter(|c| f(&c.outcome)).count();
    let passed = count(|o| *o == Outcome::Pass);
    let failed = count(|o| *o == Outcome::Fail);
    let skipped = count(|o| matches!(o, Outcome::Skip(_)));
    println!();
    println!(
        "{} checks on Linux {}: {passed} passed, {failed} failed, {skipped} skipped",
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
