//! Criterion benches for process and thread creation; the side-by-side
//! ratios are `cargo run --release -p clonekit-bench --bin clone_bench`.

use clonekit_bench::clone_methods;
use criterion::{criterion_group, criterion_main, Criterion};

fn fork(c: &mut Criterion) {
    let mut group = c.benchmark_group("fork");
    group.bench_function("clonekit_fork", |b| {
        b.iter(|| clone_methods::clonekit_fork().unwrap())
    });
    group.bench_function("libc_fork", |b| b.iter(|| clone_methods::libc_fork().unwrap()));
    group.finish();
}

fn thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("thread");
    let mut thread = clone_methods::ClonekitThread::new().unwrap();
    group.bench_function("clonekit_thread", |b| b.iter(|| thread.run().unwrap()));
    group.bench_function("std_thread", |b| b.iter(|| clone_methods::std_thread().unwrap()));
    group.finish();
}

criterion_group!(benches, fork, thread);
criterion_main!(benches);
