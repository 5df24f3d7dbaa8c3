//! Command dispatch: name lookup (case-insensitive, allocation-free), subcommand
//! resolution and key routing — what the home shard pays per command before any op runs.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

use busbar::cmd::{self, Args};
use busbar::shard::route;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn bench_dispatch(c: &mut Criterion) {
    let mut g = c.benchmark_group("dispatch");
    g.throughput(Throughput::Elements(1));
    cmd::table();
    g.bench_function("lookup_get_lowercase", |b| {
        b.iter(|| black_box(cmd::lookup(black_box(b"get")).is_some()))
    });
    g.bench_function("lookup_set_uppercase", |b| {
        b.iter(|| black_box(cmd::lookup(black_box(b"SET")).is_some()))
    });
    let buf = b"CLIENTSETNAME";
    let ranges = [(0u32, 6u32), (6, 13)];
    g.bench_function("resolve_client_setname", |b| {
        b.iter(|| {
            let args = Args::new(black_box(buf), &ranges);
            let top = cmd::lookup(args.get(0)).unwrap();
            black_box(cmd::resolve(top, &args).is_ok())
        })
    });
    let mset: Vec<Vec<u8>> = (0..10)
        .map(|i| format!("key:{:012}", i * 7919).into_bytes())
        .collect();
    g.bench_function("route_mset_10_keys_4_shards", |b| {
        b.iter(|| {
            let mut owners = [false; 4];
            for k in &mset {
                owners[route::shard_of(black_box(k), 4)] = true;
            }
            black_box(owners)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_dispatch);
criterion_main!(benches);
