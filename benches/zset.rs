//! The large sorted-set encoding (sorted runs + a Fenwick tree over their lengths): rank,
//! member at rank, score-range start and insert/remove at 1 k, 100 k and 1 M members. Rank
//! and range starts should grow with log n, not n.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items

use busbar::store::zset::{Bound, PackLimits, Zset};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};

fn build(n: usize) -> (Zset, Vec<Vec<u8>>) {
    let limits = PackLimits::default();
    let mut z = Zset::default();
    let members: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("member:{i:07}").into_bytes())
        .collect();
    for (i, m) in members.iter().enumerate() {
        // Scores a permutation of 0..n, out of insertion order.
        z.insert(m, ((i * 7919) % n) as f64, limits);
    }
    (z, members)
}

fn bench_zset(c: &mut Criterion) {
    let mut g = c.benchmark_group("zset");
    for n in [1_000usize, 100_000, 1_000_000] {
        let (mut z, members) = build(n);
        let mut i = 0;
        g.bench_with_input(BenchmarkId::new("rank", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 7919) % members.len();
                black_box(z.rank(black_box(&members[i])))
            })
        });
        g.bench_with_input(BenchmarkId::new("nth", n), &n, |b, &n| {
            b.iter(|| {
                i = (i + 7919) % n;
                black_box(z.nth(black_box(i)))
            })
        });
        g.bench_with_input(BenchmarkId::new("score_range_start", n), &n, |b, &n| {
            b.iter(|| {
                i = (i + 7919) % n;
                let lo = Bound {
                    value: i as f64,
                    exclusive: false,
                };
                let hi = Bound {
                    value: i as f64 + 10.0,
                    exclusive: false,
                };
                black_box(z.score_ranks(lo, hi))
            })
        });
        let limits = PackLimits::default();
        g.bench_with_input(BenchmarkId::new("remove_insert", n), &n, |b, &n| {
            b.iter(|| {
                i = (i + 7919) % n;
                let m = &members[i];
                z.remove(black_box(m));
                z.insert(m, ((i * 7919) % n) as f64, limits);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_zset);
criterion_main!(benches);
