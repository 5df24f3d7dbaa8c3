//! The lock table: what a multi-shard transaction adds per shard it touches (compute the
//! key names, take the locks, release them), and what a plain command pays to check it.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items

use busbar::tx::{key_hash, LockSet, Locks};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn bench_locks(c: &mut Criterion) {
    let mut g = c.benchmark_group("tx");
    g.throughput(Throughput::Elements(1));
    let keys: Vec<Vec<u8>> = (0..10)
        .map(|i| format!("key:{i:012}").into_bytes())
        .collect();
    let mut locks = Locks::<busbar::shard::msg::Msg>::default();
    let mut id = 0u64;
    g.bench_function("lockset_of_5_keys", |b| {
        b.iter(|| {
            black_box(LockSet::of(
                keys[..5]
                    .iter()
                    .map(|k| key_hash(0, black_box(k)))
                    .collect(),
            ))
        })
    });
    let set = LockSet::of(keys[..5].iter().map(|k| key_hash(0, k)).collect());
    g.bench_function("lock_release_5_keys", |b| {
        b.iter(|| {
            id += 1;
            assert!(locks.try_lock(id, black_box(set.clone())));
            black_box(locks.release(id));
        })
    });
    // A plain command's check while another transaction holds unrelated keys.
    let other = LockSet::of(vec![1, 2, 3]);
    assert!(locks.try_lock(u64::MAX, other));
    let probe = LockSet::of(vec![key_hash(0, b"key:000000000042")]);
    g.bench_function("conflict_check_busy_table", |b| {
        b.iter(|| black_box(locks.conflicts(0, black_box(&probe))))
    });
    g.finish();
}

criterion_group!(benches, bench_locks);
criterion_main!(benches);
