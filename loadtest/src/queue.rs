//! The `queue` scenario: producers push stamped jobs onto K lists, workers pop them with
//! BRPOP (or BLMOVE into a per-worker processing list, then LREM as the ack), and every job
//! must be popped exactly once.
//!
//! Workers block in the server, so each has its own connection and thread. Producers stay at
//! most `--window` jobs ahead of the workers, so the run measures throughput, not list growth.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::client::Client;
use crate::resp::Reply;
use crate::run::{self, Check, CommonArgs, Outcome, Progress, Run};
use crate::verify::{SeenSet, Stamp};
use crate::Error;

/// Server-side timeout of one blocking pop, in seconds: short, so a worker notices the stop
/// flag quickly, and a decimal, which Redis accepts since 6.0.
const BLOCK_TIMEOUT_SECS: &[u8] = b"0.1";

/// Which end producers push to; workers always pop from the right.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PushSide {
    /// LPUSH: with a right pop, first in first out.
    Lpush,
    /// RPUSH: with a right pop, last in first out.
    Rpush,
}

/// `busbar-load queue`: producers and blocking workers over K lists.
#[derive(Parser, Debug, Clone, Serialize)]
pub struct QueueArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub common: CommonArgs,
    /// Producer connections.
    #[arg(long, default_value_t = 1)]
    pub producers: usize,
    /// Worker connections (each blocks in the server, so each is a thread).
    #[arg(long, short = 'w', default_value_t = 8)]
    pub workers: usize,
    /// Lists; producers push round-robin over them.
    #[arg(long, short = 'k', default_value_t = 1)]
    pub queues: usize,
    /// Push command.
    #[arg(long, value_enum, default_value_t = PushSide::Lpush)]
    pub push: PushSide,
    /// Reliable queue: BLMOVE into a per-worker processing list, LREM to ack. Worker w serves
    /// list w % K (BLMOVE takes one source).
    #[arg(long)]
    pub reliable: bool,
    /// Bytes per job (at least the 40-byte stamp).
    #[arg(long, default_value_t = 64)]
    pub job_size: usize,
    /// Total push rate, jobs/s; absent = as fast as possible.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Most jobs pushed but not yet popped, over all lists.
    #[arg(long, default_value_t = 1000)]
    pub window: u64,
    /// Pushes per write on each producer connection.
    #[arg(long, short = 'P', default_value_t = 1)]
    pub pipeline: usize,
}

struct Shared {
    run: Arc<Run>,
    queues: Vec<Vec<u8>>,
    processing: Vec<Vec<u8>>,
    seen: SeenSet,
    pushed: AtomicU64,
    popped: AtomicU64,
    ack_failed: AtomicU64,
    unexpected: AtomicU64,
    /// Workers leave when this is set (everything popped, or the drain ran out).
    workers_stop: AtomicBool,
}

fn producer(
    shared: &Shared,
    index: usize,
    addr: SocketAddr,
    args: &QueueArgs,
) -> Result<(u64, u64), Error> {
    let mut client = Client::connect(addr)?;
    let run = &shared.run;
    let command: &[u8] = match args.push {
        PushSide::Lpush => b"LPUSH",
        PushSide::Rpush => b"RPUSH",
    };
    let pacer = run::Pacer::new(args.rate, args.producers);
    let mut lane_seq = vec![0u64; shared.queues.len()];
    let (mut seq, mut measured) = (0u64, 0u64);
    let mut payload = Vec::with_capacity(args.job_size);
    let mut stamps = Vec::with_capacity(args.pipeline);
    loop {
        let now = run::now_ns();
        if run.stopping(now) {
            break;
        }
        let mut batch = pacer.due(now, seq, args.pipeline as u64);
        if batch == 0 {
            continue;
        }
        let backlog = shared
            .pushed
            .load(Ordering::Relaxed)
            .saturating_sub(shared.popped.load(Ordering::Relaxed));
        if backlog >= args.window {
            std::thread::yield_now();
            continue;
        }
        batch = batch.min(args.window - backlog);
        stamps.clear();
        for _ in 0..batch {
            let lane = (seq % shared.queues.len() as u64) as usize;
            let stamp = Stamp {
                source: index as u32,
                lane: lane as u32,
                seq,
                lane_seq: lane_seq[lane],
                sent_ns: run::now_ns(),
            };
            payload.clear();
            stamp.encode_into(&mut payload, args.job_size);
            client.queue(&[command, &shared.queues[lane], &payload]);
            lane_seq[lane] += 1;
            seq += 1;
            stamps.push(stamp.sent_ns);
        }
        shared.pushed.fetch_add(batch, Ordering::Relaxed);
        client.flush()?;
        for &sent_ns in &stamps {
            match client.read_reply()? {
                Reply::Int(_) => {}
                Reply::Error(e) => {
                    return Err(format!("{} -> -{e}", String::from_utf8_lossy(command)).into())
                }
                other => return Err(format!("push answered {other:?}").into()),
            }
            if run.measured(sent_ns) {
                measured += 1;
            }
        }
    }
    Ok((seq, measured))
}

#[derive(Default)]
struct WorkerTotals {
    measured: u64,
}

fn worker(
    shared: &Shared,
    index: usize,
    addr: SocketAddr,
    reliable: bool,
) -> Result<(Histogram<u64>, WorkerTotals), Error> {
    let mut client = Client::connect(addr)?;
    let mut hist = run::new_histogram();
    let mut totals = WorkerTotals::default();
    let run = &shared.run;
    let source = &shared.queues[index % shared.queues.len()];
    let processing = &shared.processing[index];
    let mut brpop: Vec<&[u8]> = vec![b"BRPOP"];
    brpop.extend(shared.queues.iter().map(Vec::as_slice));
    brpop.push(BLOCK_TIMEOUT_SECS);
    while !shared.workers_stop.load(Ordering::Relaxed) && !run.aborted() {
        let job: Vec<u8> = if reliable {
            match client.call(&[
                b"BLMOVE",
                source,
                processing,
                b"RIGHT",
                b"LEFT",
                BLOCK_TIMEOUT_SECS,
            ])? {
                Reply::Nil => continue,
                Reply::Bulk(job) => job,
                Reply::Error(e) => return Err(format!("BLMOVE -> -{e}").into()),
                other => return Err(format!("BLMOVE answered {other:?}").into()),
            }
        } else {
            match client.call(&brpop)? {
                Reply::Nil => continue,
                Reply::Array(mut items) if items.len() == 2 => match items.pop() {
                    Some(Reply::Bulk(job)) => job,
                    other => return Err(format!("BRPOP answered a non-bulk job {other:?}").into()),
                },
                Reply::Error(e) => return Err(format!("BRPOP -> -{e}").into()),
                other => return Err(format!("BRPOP answered {other:?}").into()),
            }
        };
        let now = run::now_ns();
        shared.popped.fetch_add(1, Ordering::Relaxed);
        run.progress.fetch_add(1, Ordering::Relaxed);
        let Some(stamp) = Stamp::decode(&job) else {
            shared.unexpected.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        shared.seen.mark(stamp.source, stamp.seq);
        if run.measured(stamp.sent_ns) {
            totals.measured += 1;
            run::record(&mut hist, now.saturating_sub(stamp.sent_ns));
        }
        if reliable {
            match client.call(&[b"LREM", processing, b"1", &job])? {
                Reply::Int(1) => {}
                Reply::Error(e) => return Err(format!("LREM -> -{e}").into()),
                _ => {
                    shared.ack_failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    Ok((hist, totals))
}

/// Runs the scenario.
pub fn run(args: &QueueArgs) -> Result<Outcome, Error> {
    if args.producers == 0
        || args.workers == 0
        || args.queues == 0
        || args.pipeline == 0
        || args.window == 0
    {
        return Err(
            "--producers, --workers, --queues, --pipeline and --window must be at least 1".into(),
        );
    }
    if args.reliable && args.workers < args.queues {
        return Err(
            "--reliable: worker w serves list w % K alone, so --workers must be >= --queues".into(),
        );
    }
    if args.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        return Err("--rate must be positive".into());
    }
    let addr = args.common.addr()?;
    let token = run::run_token();
    let queues: Vec<Vec<u8>> = (0..args.queues)
        .map(|k| format!("bl:{token}:q:{k}").into_bytes())
        .collect();
    let processing: Vec<Vec<u8>> = (0..args.workers)
        .map(|w| format!("bl:{token}:proc:{w}").into_bytes())
        .collect();
    let mut control = Client::connect(addr)?;
    control.call_ok(&[b"PING"])?;

    let run = Run::new(&args.common);
    let shared = Arc::new(Shared {
        run: Arc::clone(&run),
        queues,
        processing,
        seen: SeenSet::new(args.producers),
        pushed: AtomicU64::new(0),
        popped: AtomicU64::new(0),
        ack_failed: AtomicU64::new(0),
        unexpected: AtomicU64::new(0),
        workers_stop: AtomicBool::new(false),
    });
    let progress = Progress::start(&args.common, &run, "job");
    let workers: Vec<_> = (0..args.workers)
        .map(|index| {
            let (shared, reliable) = (Arc::clone(&shared), args.reliable);
            std::thread::spawn(move || {
                let result = worker(&shared, index, addr, reliable);
                if let Err(e) = &result {
                    shared.run.fail(e.to_string());
                }
                result.ok()
            })
        })
        .collect();
    let producers: Vec<_> = (0..args.producers)
        .map(|index| {
            let (shared, args) = (Arc::clone(&shared), args.clone());
            std::thread::spawn(move || {
                let result = producer(&shared, index, addr, &args);
                if let Err(e) = &result {
                    shared.run.fail(e.to_string());
                }
                result.unwrap_or_default()
            })
        })
        .collect();
    let mut sent = Vec::new();
    let mut pushed_measured = 0;
    for handle in producers {
        let (count, measured) = handle.join().map_err(|_| "producer thread panicked")?;
        sent.push(count);
        pushed_measured += measured;
    }
    let total: u64 = sent.iter().sum();
    let deadline = run::now_ns() + args.common.drain.as_nanos() as u64;
    while shared.seen.unique() < total && run::now_ns() < deadline && !run.aborted() {
        std::thread::sleep(Duration::from_millis(2));
    }
    shared.workers_stop.store(true, Ordering::Relaxed);
    let mut hist = run::new_histogram();
    let mut measured = 0;
    for handle in workers {
        if let Some((h, t)) = handle.join().map_err(|_| "worker thread panicked")? {
            hist.add(&h)
                .map_err(|e| format!("merge histograms: {e:?}"))?;
            measured += t.measured;
        }
    }
    progress.finish();

    // Jobs still in a list (never popped) or in a processing list (popped, never acked).
    let mut left_in_queues = 0;
    let mut unacked = 0;
    let mut cleanup_error = None;
    for (keys, count) in [
        (&shared.queues, &mut left_in_queues),
        (&shared.processing, &mut unacked),
    ] {
        for key in keys.iter() {
            match control.call(&[b"LLEN", key]) {
                Ok(Reply::Int(n)) => *count += n as u64,
                Ok(other) => {
                    cleanup_error.get_or_insert(format!("LLEN answered {other:?}"));
                }
                Err(e) => {
                    cleanup_error.get_or_insert(e.to_string());
                }
            }
            let _ = control.call(&[b"DEL", key]);
        }
    }
    let seen = shared.seen.totals(&sent);
    let seconds = run.window_secs();
    let mut outcome = Outcome {
        scenario: "queue".into(),
        server: addr.to_string(),
        op: "job".into(),
        seconds,
        ops: measured,
        ops_per_sec: measured as f64 / seconds.max(1e-9),
        ops_all: shared.popped.load(Ordering::Relaxed),
        window_start_ns: run.measure_start_ns(),
        window_end_ns: run.measure_end_ns(),
        latency: run::LatencySummary::of(&hist),
        latency_of: "push to pop".into(),
        errors: u64::from(run.error().is_some()),
        first_error: run
            .error()
            .or(if args.reliable { cleanup_error } else { None }),
        checks: vec![
            Check::zero("lost", seen.missing),
            Check::zero("duplicated", seen.duplicates),
            Check::zero(
                "unexpected",
                seen.unexpected + shared.unexpected.load(Ordering::Relaxed),
            ),
            Check::zero("left_in_queues", left_in_queues),
        ],
        ..Default::default()
    };
    if args.reliable {
        outcome.checks.push(Check::zero(
            "ack_failed",
            shared.ack_failed.load(Ordering::Relaxed),
        ));
        outcome
            .checks
            .push(Check::zero("unacked_in_processing", unacked));
    }
    let f = &mut outcome.figures;
    f.insert(
        "push_per_sec".into(),
        pushed_measured as f64 / seconds.max(1e-9),
    );
    f.insert("jobs_pushed".into(), total as f64);
    f.insert("jobs_popped_unique".into(), seen.unique as f64);
    f.insert("workers".into(), args.workers as f64);
    f.insert("queues".into(), args.queues as f64);
    Ok(outcome.finish())
}
