//! Medians and percentiles for the benchmark programs, and their small
//! command-line parser. Shared by `spawn_bench` and `clone_bench`.

use std::time::{Duration, Instant};

/// The summary of one method's samples, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub median_us: f64,
    pub p10_us: f64,
    pub p90_us: f64,
}

/// Median, 10th and 90th percentile (nearest rank) of `samples`.
pub fn summarize(samples: &mut [Duration]) -> Summary {
    assert!(!samples.is_empty(), "no samples");
    samples.sort_unstable();
    let at = |q: f64| {
        let rank = ((samples.len() - 1) as f64 * q).round() as usize;
        samples[rank].as_secs_f64() * 1e6
    };
    Summary {
        median_us: at(0.5),
        p10_us: at(0.1),
        p90_us: at(0.9),
    }
}

/// Times one call of `f`.
pub fn time<E>(f: impl FnOnce() -> Result<(), E>) -> Result<Duration, E> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

/// `--name value` options from the command line; anything unknown is an error.
pub struct Args {
    pairs: Vec<(String, String)>,
}

impl Args {
    /// Parses `--name value` pairs, accepting only the names in `known`.
    pub fn parse(known: &[&str], usage: &str) -> Args {
        let mut pairs = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(name) = args.next() {
            let key = name.trim_start_matches("--");
            if !name.starts_with("--") || !known.contains(&key) {
                eprintln!("unknown argument {name}\nusage: {usage}");
                std::process::exit(2);
            }
            let Some(value) = args.next() else {
                eprintln!("{name} needs a value\nusage: {usage}");
                std::process::exit(2);
            };
            pairs.push((key.to_string(), value));
        }
        Args { pairs }
    }

    /// The value of `--name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `--name` parsed as a number, or `default`.
    pub fn number(&self, name: &str, default: usize) -> usize {
        self.get(name).map_or(default, |v| {
            v.parse().unwrap_or_else(|_| {
                eprintln!("--{name} takes a whole number, not {v}");
                std::process::exit(2)
            })
        })
    }
}
