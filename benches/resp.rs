//! RESP parse and encode, per frame shape: what every request pays before and after its op.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

use busbar::resp::{ParseLimits, ParseState, Parsed, Reply};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn parse_frames(buf: &[u8]) -> usize {
    let mut st = ParseState::default();
    let mut args = Vec::with_capacity(8);
    let limits = ParseLimits::default();
    let mut pos = 0;
    let mut n = 0;
    while pos < buf.len() {
        match st.parse(&buf[pos..], &mut args, &limits).unwrap() {
            Parsed::Frame { consumed } | Parsed::Owned { consumed, .. } => {
                pos += consumed;
                n += args.len();
            }
            Parsed::Incomplete { .. } => break,
        }
    }
    n
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let set = encode(&[b"SET", b"key:000000012345", b"xxx"]);
    g.throughput(Throughput::Elements(1));
    g.bench_function("multibulk_set_3b", |b| {
        b.iter(|| parse_frames(black_box(&set)))
    });
    let inline = b"PING\r\n".to_vec();
    g.bench_function("inline_ping", |b| {
        b.iter(|| parse_frames(black_box(&inline)))
    });
    let mset: Vec<&[u8]> = std::iter::once(&b"MSET"[..])
        .chain(std::iter::repeat_n([&b"key:000000012345"[..], &b"xxx"[..]], 10).flatten())
        .collect();
    let mset = encode(&mset);
    g.bench_function("multibulk_mset_10", |b| {
        b.iter(|| parse_frames(black_box(&mset)))
    });
    let pipeline: Vec<u8> = (0..16)
        .flat_map(|_| encode(&[b"GET", b"key:000000012345"]))
        .collect();
    g.throughput(Throughput::Elements(16));
    g.bench_function("pipeline_16_get", |b| {
        b.iter(|| parse_frames(black_box(&pipeline)))
    });
    g.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(1));
    let mut buf = Vec::with_capacity(1 << 16);
    g.bench_function("bulk_3b", |b| {
        b.iter(|| {
            buf.clear();
            Reply::new(&mut buf, false).bulk(black_box(b"xxx"));
        })
    });
    g.bench_function("int", |b| {
        b.iter(|| {
            buf.clear();
            Reply::new(&mut buf, false).int(black_box(123_456));
        })
    });
    g.bench_function("array_10_bulks_resp3_null", |b| {
        b.iter(|| {
            buf.clear();
            let mut r = Reply::new(&mut buf, true);
            r.array_len(10);
            for i in 0..10 {
                if i % 3 == 0 {
                    r.null();
                } else {
                    r.bulk(black_box(b"value-bytes"));
                }
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse, bench_encode);
criterion_main!(benches);
