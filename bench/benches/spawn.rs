//! Criterion benches for spawning `/bin/true` and a tiny static program, one
//! per method; the side-by-side ratios across parent sizes are
//! `cargo run --release -p clonekit-bench --bin spawn_bench`.

use std::path::Path;

use clonekit_bench::spawn_methods::{self, Spawner, METHODS};
use criterion::{criterion_group, criterion_main, Criterion};

fn spawn_each_method(c: &mut Criterion, group: &str, target: &Path) {
    let mut group = c.benchmark_group(group);
    let mut spawner = Spawner::new(target);
    // The forking methods last: they leave the parent's pages copy-on-write,
    // which whatever runs next would pay for.
    let (forking, flat): (Vec<_>, Vec<_>) = METHODS.into_iter().partition(|m| m.forks_memory());
    for method in flat.into_iter().chain(forking) {
        group.bench_function(method.name(), |b| b.iter(|| spawner.run(method).unwrap()));
    }
    group.finish();
}

fn spawn(c: &mut Criterion) {
    spawn_each_method(c, "spawn_bin_true", Path::new("/bin/true"));
    let static_target = std::env::temp_dir().join(format!("clonekit-bench-exit-{}", std::process::id()));
    spawn_methods::write_static_target(&static_target).expect("write the static target");
    spawn_each_method(c, "spawn_static", &static_target);
    let _ = std::fs::remove_file(&static_target);
}

criterion_group!(benches, spawn);
criterion_main!(benches);
