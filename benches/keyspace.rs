//! Keyspace ops: the work an owner shard does per string command, without any socket.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items

use busbar::store::{Keyspace, Str, Ttl, Value};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn bench_keyspace(c: &mut Criterion) {
    let mut g = c.benchmark_group("keyspace");
    g.throughput(Throughput::Elements(1));
    let mut ks = Keyspace::new(16, 1);
    let keys: Vec<Vec<u8>> = (0..100_000)
        .map(|i| format!("key:{i:012}").into_bytes())
        .collect();
    for k in &keys {
        ks.set(0, k, Value::Str(Str::from_bytes(b"xxx")), Ttl::Clear, 0);
    }
    let mut i = 0;
    g.bench_function("set_existing_3b", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            ks.set(
                0,
                black_box(&keys[i]),
                Value::Str(Str::from_bytes(b"xxx")),
                Ttl::Clear,
                0,
            );
        })
    });
    g.bench_function("get_hit", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            black_box(ks.lookup(0, black_box(&keys[i]), 0).is_some())
        })
    });
    g.bench_function("get_miss", |b| {
        b.iter(|| black_box(ks.lookup(0, black_box(b"nokey"), 0).is_some()))
    });
    g.bench_function("slot_of_key", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            black_box(busbar::shard::route::slot_of(black_box(&keys[i])))
        })
    });
    g.finish();
}

criterion_group!(benches, bench_keyspace);
criterion_main!(benches);
