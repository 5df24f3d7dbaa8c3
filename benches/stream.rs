//! The packed stream nodes: XADD's append (field names equal to the node's master entry,
//! so values only) and XRANGE's walk of 10 entries from a random start, in a 100 k entry
//! stream with the default node limits.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items

use busbar::store::stream::{NodeLimits, Stream, StreamId};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn bench_stream(c: &mut Criterion) {
    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Elements(1));
    let limits = NodeLimits::default();
    let n = 100_000u64;
    let mut s = Stream::default();
    for i in 0..n {
        let v = i.to_string();
        let pairs = [&b"type"[..], b"order_created", b"order_id", v.as_bytes()];
        s.append(
            StreamId {
                ms: i / 8,
                seq: i % 8,
            },
            pairs,
            limits,
        );
    }
    let mut appended = s.clone();
    let mut next = StreamId { ms: n, seq: 0 };
    g.bench_function("xadd_same_fields", |b| {
        b.iter(|| {
            next.seq += 1;
            let pairs = [&b"type"[..], b"order_created", b"order_id", b"123456"];
            appended.append(black_box(next), pairs, limits);
        })
    });
    let mut i = 0u64;
    g.bench_function("xrange_count_10", |b| {
        b.iter(|| {
            i = (i + 7919) % n;
            let lo = StreamId {
                ms: i / 8,
                seq: i % 8,
            };
            let got = s.range(black_box(lo), StreamId::MAX, false, 10);
            black_box(got.iter().map(|e| e.pairs().count()).sum::<usize>())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_stream);
criterion_main!(benches);
