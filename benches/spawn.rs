//! Criterion benches for spawning `/bin/true`, one per method; the
//! side-by-side ratios across parent sizes are
//! `cargo run --release --example spawn_bench`.

#[path = "../examples/common/spawn_methods.rs"]
mod spawn_methods;

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use spawn_methods::{Spawner, METHODS};

fn spawn(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_bin_true");
    let mut spawner = Spawner::new(Path::new("/bin/true"));
    for method in METHODS {
        group.bench_function(method.name(), |b| b.iter(|| spawner.run(method).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, spawn);
criterion_main!(benches);
