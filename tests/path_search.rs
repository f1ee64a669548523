//! The program search, side by side with std's `Command`: a program name
//! without a `/` is looked up in the child's PATH (the parent's when the
//! environment leaves PATH alone), or in `execvp`'s default
//! (`/bin:/usr/bin`) when the child has none: `env_remove("PATH")` and
//! `env_clear()` make a "clean environment" whose search is the default's.
//!
//! The helper runs with a PATH that starts with a directory of its own
//! holding a script found nowhere else.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use clonekit::Exec;

#[macro_use]
mod support;

const HELPER_ENV: &str = "CLONEKIT_PATH_SEARCH_HELPER";
const MARKER: &str = "PATH SEARCH OK";
/// The script's name, and its exit code once found.
const SCRIPT: &str = "clonekit-path-search-probe";
const FOUND: i32 = 7;

#[test]
fn the_search_follows_the_childs_path_as_std_does() {
    let dir = std::env::temp_dir().join(format!("clonekit-path-search-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("make the script's directory");
    let script = dir.join(SCRIPT);
    fs::write(&script, format!("#!/bin/sh\nexit {FOUND}\n")).expect("write the script");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod the script");
    let path = format!("{}:/usr/bin:/bin", dir.display());
    let dir_text = dir.display().to_string();
    let said = support::rerun::run_test("path_search_helper", &[(HELPER_ENV, &dir_text), ("PATH", &path)]);
    let _ = fs::remove_dir_all(&dir);
    let (said, status) = said;
    assert!(
        status.is_some_and(|s| s.success()) && said.contains(MARKER),
        "{status:?}\n{said}"
    );
}

#[test]
#[ignore = "helper process for the_search_follows_the_childs_path_as_std_does"]
fn path_search_helper() {
    let Ok(dir) = std::env::var(HELPER_ENV) else {
        skip!("only meaningful as a helper process");
    };
    let only_here: &'static str = Box::leak(dir.clone().into_boxed_str());
    let elsewhere = "/usr/bin:/bin";
    let cases: [(&str, Change); 6] = [
        ("PATH inherited", Change::None),
        ("PATH changed to a directory without it", Change::Set(elsewhere)),
        ("PATH changed to its directory alone", Change::Set(only_here)),
        ("PATH removed", Change::Remove),
        ("environment cleared", Change::Clear),
        (
            "environment cleared, PATH set to its directory",
            Change::ClearThenSet(only_here),
        ),
    ];
    let mut differ = Vec::new();
    for (case, change) in cases {
        let std_found = by_std(change);
        let exec_found = by_exec(change);
        println!("{case}: std {std_found:?}, Exec {exec_found:?}");
        if std_found != exec_found {
            differ.push(case);
        }
    }
    assert!(differ.is_empty(), "Exec and std differ: {differ:?}");
    // The cases must show both answers, or they prove nothing.
    assert_eq!(by_std(Change::None), Found::Ran(FOUND));
    assert_eq!(by_std(Change::Remove), Found::Missing);
    assert!(Path::new(&dir).join(SCRIPT).exists());
    println!("{MARKER}");
}

/// What a case does to the child's environment.
#[derive(Debug, Clone, Copy)]
enum Change {
    None,
    Set(&'static str),
    Remove,
    Clear,
    ClearThenSet(&'static str),
}

/// What running the script by name gave.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Ran(i32),
    Missing,
    Other(String),
}

fn by_std(change: Change) -> Found {
    let mut command = Command::new(SCRIPT);
    match change {
        Change::None => {}
        Change::Set(path) => {
            command.env("PATH", path);
        }
        Change::Remove => {
            command.env_remove("PATH");
        }
        Change::Clear => {
            command.env_clear();
        }
        Change::ClearThenSet(path) => {
            command.env_clear().env("PATH", path);
        }
    }
    match command.status() {
        Ok(status) => Found::Ran(status.code().unwrap_or(-1)),
        Err(err) if err.kind() == ErrorKind::NotFound => Found::Missing,
        Err(err) => Found::Other(err.to_string()),
    }
}

fn by_exec(change: Change) -> Found {
    let mut exec = Exec::new(SCRIPT);
    match change {
        Change::None => {}
        Change::Set(path) => {
            exec.env("PATH", path);
        }
        Change::Remove => {
            exec.env_remove("PATH");
        }
        Change::Clear => {
            exec.env_clear();
        }
        Change::ClearThenSet(path) => {
            exec.env_clear().env("PATH", path);
        }
    }
    match exec.status() {
        Ok(status) => Found::Ran(status.code().unwrap_or(-1)),
        Err(err) => {
            let err = std::io::Error::from(err);
            match err.kind() {
                ErrorKind::NotFound => Found::Missing,
                _ => Found::Other(err.to_string()),
            }
        }
    }
}
