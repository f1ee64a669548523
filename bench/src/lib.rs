//! What the benchmark programs of clonekit share: the methods they compare
//! and their statistics.
//!
//! - [`spawn_methods`]: starting a program, one way each (clonekit's `Exec`
//!   with each strategy, `std::process::Command`, `posix_spawn`, ...);
//! - [`clone_methods`]: creating a process or a thread;
//! - [`stats`]: medians, percentiles, and the programs' argument parser.
//!
//! The programs: `cargo run --release -p clonekit-bench --bin spawn_bench`
//! and `--bin clone_bench` print the methods side by side; `cargo bench -p
//! clonekit-bench` runs them under criterion.

pub mod clone_methods;
pub mod spawn_methods;
pub mod stats;
