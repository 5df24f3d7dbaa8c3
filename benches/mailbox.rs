//! Mailbox hop cost: push a batch to another thread's queue, wake its Poll, and drain it
//! there — the fixed cost every cross-shard command pays once per turn.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented items
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use busbar::shard::msg::{ConnRef, Msg, OwnedCmds};
use busbar::sync::Mailbox;
use criterion::{criterion_group, criterion_main, Criterion};
use mio::{Events, Poll, Token, Waker};

fn bench_hop(c: &mut Criterion) {
    let mut g = c.benchmark_group("mailbox");
    for batch in [1usize, 16] {
        g.bench_function(format!("round_trip_batch_{batch}"), |b| {
            b.iter_custom(|iters| {
                // Two threads, each with its own poll and mailbox, ping-ponging batches.
                let poll_a = Poll::new().unwrap();
                let poll_b = Poll::new().unwrap();
                let a = Arc::new(Mailbox::new(
                    Waker::new(poll_a.registry(), Token(1)).unwrap(),
                ));
                let bx = Arc::new(Mailbox::new(
                    Waker::new(poll_b.registry(), Token(1)).unwrap(),
                ));
                let stop = Arc::new(AtomicBool::new(false));
                let served = Arc::new(AtomicU64::new(0));
                let (a2, b2, stop2, served2) =
                    (a.clone(), bx.clone(), stop.clone(), served.clone());
                let echo = std::thread::spawn(move || {
                    let mut poll_b = poll_b;
                    let mut events = Events::with_capacity(16);
                    while !stop2.load(Ordering::Relaxed) {
                        // The shard loop's sleep protocol: announce, re-check, block.
                        if b2.prepare_sleep() {
                            let _ = poll_b.poll(&mut events, Some(Duration::from_millis(10)));
                        }
                        b2.awake();
                        while let Some(batch) = b2.recv() {
                            served2.fetch_add(1, Ordering::Relaxed);
                            a2.send(batch);
                        }
                    }
                });
                let mut poll_a = poll_a;
                let mut events = Events::with_capacity(16);
                let start = Instant::now();
                for _ in 0..iters {
                    let msgs: Vec<Msg> = (0..batch)
                        .map(|_| Msg::Done {
                            conn: ConnRef { slot: 0, id: 1 },
                            part: 0,
                            out: Vec::new(),
                            rescue: None,
                        })
                        .collect();
                    bx.send(msgs);
                    loop {
                        if let Some(back) = a.recv() {
                            drop(back);
                            break;
                        }
                        if a.prepare_sleep() {
                            let _ = poll_a.poll(&mut events, Some(Duration::from_millis(10)));
                        }
                        a.awake();
                    }
                }
                let elapsed = start.elapsed();
                stop.store(true, Ordering::Relaxed);
                bx.wake();
                echo.join().unwrap();
                let _ = OwnedCmds::default();
                elapsed
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_hop);
criterion_main!(benches);
