//! The `stream` scenario: producers XADD stamped entries (MAXLEN ~), one consumer group of C
//! consumers reads with XREADGROUP BLOCK and acks with XACK; every entry must be processed
//! exactly once, every ack must count, and nothing may stay pending at the end.
//!
//! Consumers block in the server, so each has its own connection and thread. Producers stay
//! at most `--window` entries ahead of the acks, which must stay under `--maxlen`, or the
//! trimming would delete entries before anyone read them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::client::Client;
use crate::resp::{self, Reply, Value};
use crate::run::{self, Check, CommonArgs, Outcome, Progress, Run};
use crate::verify::{SeenSet, Stamp};
use crate::Error;

/// The consumer group every consumer joins.
const GROUP: &[u8] = b"busbar-load";
/// The one field each entry carries; its value is the stamped payload.
const FIELD: &[u8] = b"d";

/// `busbar-load stream`: XADD producers and an XREADGROUP + XACK consumer group.
#[derive(Parser, Debug, Clone, Serialize)]
pub struct StreamArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub common: CommonArgs,
    /// Producer connections.
    #[arg(long, default_value_t = 1)]
    pub producers: usize,
    /// Consumers in the group (each blocks in the server, so each is a thread).
    #[arg(long, short = 'c', default_value_t = 4)]
    pub consumers: usize,
    /// Streams; producers add round-robin, each consumer reads all of them.
    #[arg(long, default_value_t = 1)]
    pub streams: usize,
    /// XADD MAXLEN ~ bound per stream; 0 adds without trimming.
    #[arg(long, default_value_t = 100_000)]
    pub maxlen: u64,
    /// XREADGROUP COUNT: entries per read.
    #[arg(long, default_value_t = 16)]
    pub count: usize,
    /// XREADGROUP BLOCK, milliseconds.
    #[arg(long, default_value_t = 100)]
    pub block_ms: u64,
    /// Bytes per entry value (at least the 40-byte stamp).
    #[arg(long, default_value_t = 64)]
    pub entry_size: usize,
    /// Total add rate, entries/s; absent = as fast as possible.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Most entries added but not yet acked, over all streams.
    #[arg(long, default_value_t = 1000)]
    pub window: u64,
    /// XADDs per write on each producer connection.
    #[arg(long, short = 'P', default_value_t = 1)]
    pub pipeline: usize,
}

struct Shared {
    run: Arc<Run>,
    streams: Vec<Vec<u8>>,
    seen: SeenSet,
    added: AtomicU64,
    acked: AtomicU64,
    ack_lost: AtomicU64,
    unexpected: AtomicU64,
    consumers_stop: AtomicBool,
}

fn producer(
    shared: &Shared,
    index: usize,
    addr: SocketAddr,
    args: &StreamArgs,
) -> Result<(u64, u64), Error> {
    let mut client = Client::connect(addr)?;
    let run = &shared.run;
    let maxlen = args.maxlen.to_string().into_bytes();
    let pacer = run::Pacer::new(args.rate, args.producers);
    let mut lane_seq = vec![0u64; shared.streams.len()];
    let (mut seq, mut measured) = (0u64, 0u64);
    let mut payload = Vec::with_capacity(args.entry_size);
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
            .added
            .load(Ordering::Relaxed)
            .saturating_sub(shared.acked.load(Ordering::Relaxed));
        if backlog >= args.window {
            std::thread::yield_now();
            continue;
        }
        batch = batch.min(args.window - backlog);
        stamps.clear();
        for _ in 0..batch {
            let lane = (seq % shared.streams.len() as u64) as usize;
            let stamp = Stamp {
                source: index as u32,
                lane: lane as u32,
                seq,
                lane_seq: lane_seq[lane],
                sent_ns: run::now_ns(),
            };
            payload.clear();
            stamp.encode_into(&mut payload, args.entry_size);
            let key = &shared.streams[lane];
            if args.maxlen > 0 {
                client.queue(&[
                    b"XADD", key, b"MAXLEN", b"~", &maxlen, b"*", FIELD, &payload,
                ]);
            } else {
                client.queue(&[b"XADD", key, b"*", FIELD, &payload]);
            }
            lane_seq[lane] += 1;
            seq += 1;
            stamps.push(stamp.sent_ns);
        }
        shared.added.fetch_add(batch, Ordering::Relaxed);
        client.flush()?;
        for &sent_ns in &stamps {
            match client.read_reply()? {
                Reply::Bulk(_) => {}
                Reply::Error(e) => return Err(format!("XADD -> -{e}").into()),
                other => return Err(format!("XADD answered {other:?}").into()),
            }
            if run.measured(sent_ns) {
                measured += 1;
            }
        }
    }
    Ok((seq, measured))
}

/// Entries of one XREADGROUP reply: (stream, [(id, payload)]).
type ReadBatch = Vec<(Vec<u8>, Vec<(Vec<u8>, Option<Vec<u8>>)>)>;

/// Pulls the stream names, ids and payloads out of an XREADGROUP reply.
fn parse_read(value: &Value<'_>) -> Result<ReadBatch, Error> {
    let malformed = || -> Error { format!("XREADGROUP reply malformed: {value:?}").into() };
    let Value::Array(streams) = value else {
        return Err(malformed());
    };
    // RESP2 replies [[stream, entries], ...]; a RESP3 map arrives flattened as stream, entries.
    let pairs: Vec<(&Value<'_>, &Value<'_>)> = if streams
        .iter()
        .all(|s| matches!(s, Value::Array(p) if p.len() == 2))
    {
        streams
            .iter()
            .map(|s| match s {
                Value::Array(p) => (&p[0], &p[1]),
                _ => unreachable!("checked above"),
            })
            .collect()
    } else {
        streams
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (&c[0], &c[1]))
            .collect()
    };
    let mut batch = Vec::new();
    for (name, entries) in pairs {
        let name = name.as_bytes().ok_or_else(malformed)?.to_vec();
        let Value::Array(entries) = entries else {
            return Err(malformed());
        };
        let mut list = Vec::with_capacity(entries.len());
        for entry in entries {
            let Value::Array(parts) = entry else {
                return Err(malformed());
            };
            let id = parts
                .first()
                .and_then(Value::as_bytes)
                .ok_or_else(malformed)?
                .to_vec();
            // Fields are nil for an entry deleted while pending; that entry has no payload.
            let payload = match parts.get(1) {
                Some(Value::Array(fields)) => fields
                    .chunks(2)
                    .find(|kv| kv[0].as_bytes() == Some(FIELD))
                    .and_then(|kv| kv.get(1))
                    .and_then(Value::as_bytes)
                    .map(<[u8]>::to_vec),
                _ => None,
            };
            list.push((id, payload));
        }
        batch.push((name, list));
    }
    Ok(batch)
}

fn consumer(
    shared: &Shared,
    index: usize,
    addr: SocketAddr,
    args: &StreamArgs,
) -> Result<(Histogram<u64>, u64), Error> {
    let mut client = Client::connect(addr)?;
    let run = &shared.run;
    let mut hist = run::new_histogram();
    let mut measured = 0;
    let name = format!("c{index}").into_bytes();
    let count = args.count.to_string().into_bytes();
    let block = args.block_ms.to_string().into_bytes();
    let mut read: Vec<&[u8]> = vec![
        b"XREADGROUP",
        b"GROUP",
        GROUP,
        &name,
        b"COUNT",
        &count,
        b"BLOCK",
        &block,
        b"STREAMS",
    ];
    read.extend(shared.streams.iter().map(Vec::as_slice));
    read.extend(std::iter::repeat_n(b">".as_slice(), shared.streams.len()));
    let mut stamps = Vec::new();
    while !shared.consumers_stop.load(Ordering::Relaxed) && !run.aborted() {
        client.queue(&read);
        client.flush()?;
        let batch = match client.read_value()? {
            Value::Nil => continue,
            Value::Error(e) => return Err(format!("XREADGROUP -> -{}", resp::show(e)).into()),
            value => parse_read(&value)?,
        };
        for (stream, entries) in batch {
            stamps.clear();
            let mut ack: Vec<&[u8]> = vec![b"XACK", &stream, GROUP];
            for (id, payload) in &entries {
                ack.push(id);
                match payload.as_deref().and_then(Stamp::decode) {
                    Some(stamp) => {
                        shared.seen.mark(stamp.source, stamp.seq);
                        stamps.push(stamp.sent_ns);
                    }
                    None => {
                        shared.unexpected.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            let acked = match client.call(&ack)? {
                Reply::Int(n) => n as u64,
                Reply::Error(e) => return Err(format!("XACK -> -{e}").into()),
                other => return Err(format!("XACK answered {other:?}").into()),
            };
            let now = run::now_ns();
            let asked = entries.len() as u64;
            if acked < asked {
                shared.ack_lost.fetch_add(asked - acked, Ordering::Relaxed);
            }
            shared.acked.fetch_add(asked, Ordering::Relaxed);
            run.progress.fetch_add(asked, Ordering::Relaxed);
            for &sent_ns in &stamps {
                if run.measured(sent_ns) {
                    measured += 1;
                    run::record(&mut hist, now.saturating_sub(sent_ns));
                }
            }
        }
    }
    Ok((hist, measured))
}

/// Runs the scenario.
pub fn run(args: &StreamArgs) -> Result<Outcome, Error> {
    if args.producers == 0
        || args.consumers == 0
        || args.streams == 0
        || args.pipeline == 0
        || args.count == 0
        || args.window == 0
    {
        return Err("--producers, --consumers, --streams, --pipeline, --count and --window must be at least 1".into());
    }
    if args.maxlen > 0 && args.window * 2 > args.maxlen {
        return Err(format!(
            "--window {} must stay under half of --maxlen {}: trimming would delete unread entries",
            args.window, args.maxlen
        )
        .into());
    }
    if args.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        return Err("--rate must be positive".into());
    }
    let addr = args.common.addr()?;
    let token = run::run_token();
    let streams: Vec<Vec<u8>> = (0..args.streams)
        .map(|k| format!("bl:{token}:s:{k}").into_bytes())
        .collect();
    let mut control = Client::connect(addr)?;
    control.call_ok(&[b"PING"])?;
    for stream in &streams {
        control.call_ok(&[b"XGROUP", b"CREATE", stream, GROUP, b"$", b"MKSTREAM"])?;
    }

    let run = Run::new(&args.common);
    let shared = Arc::new(Shared {
        run: Arc::clone(&run),
        streams,
        seen: SeenSet::new(args.producers),
        added: AtomicU64::new(0),
        acked: AtomicU64::new(0),
        ack_lost: AtomicU64::new(0),
        unexpected: AtomicU64::new(0),
        consumers_stop: AtomicBool::new(false),
    });
    let progress = Progress::start(&args.common, &run, "entry");
    let consumers: Vec<_> = (0..args.consumers)
        .map(|index| {
            let (shared, args) = (Arc::clone(&shared), args.clone());
            std::thread::spawn(move || {
                let result = consumer(&shared, index, addr, &args);
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
    let mut added_measured = 0;
    for handle in producers {
        let (count, measured) = handle.join().map_err(|_| "producer thread panicked")?;
        sent.push(count);
        added_measured += measured;
    }
    let total: u64 = sent.iter().sum();
    let deadline = run::now_ns() + args.common.drain.as_nanos() as u64;
    while shared.acked.load(Ordering::Relaxed) < total && run::now_ns() < deadline && !run.aborted()
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    shared.consumers_stop.store(true, Ordering::Relaxed);
    let mut hist = run::new_histogram();
    let mut measured = 0;
    for handle in consumers {
        if let Some((h, m)) = handle.join().map_err(|_| "consumer thread panicked")? {
            hist.add(&h)
                .map_err(|e| format!("merge histograms: {e:?}"))?;
            measured += m;
        }
    }
    progress.finish();

    let mut pending_end = 0;
    let mut end_error = None;
    for stream in &shared.streams {
        match control.call(&[b"XPENDING", stream, GROUP]) {
            Ok(Reply::Array(summary)) => {
                pending_end += summary.first().and_then(Reply::as_int).unwrap_or(0) as u64
            }
            Ok(other) => {
                end_error.get_or_insert(format!("XPENDING answered {other:?}"));
            }
            Err(e) => {
                end_error.get_or_insert(e.to_string());
            }
        }
        let _ = control.call(&[b"DEL", stream]);
    }
    let seen = shared.seen.totals(&sent);
    let seconds = run.window_secs();
    let first_error = run.error().or(end_error);
    let mut outcome = Outcome {
        scenario: "stream".into(),
        server: addr.to_string(),
        op: "entry".into(),
        seconds,
        ops: measured,
        ops_per_sec: measured as f64 / seconds.max(1e-9),
        ops_all: shared.acked.load(Ordering::Relaxed),
        window_start_ns: run.measure_start_ns(),
        window_end_ns: run.measure_end_ns(),
        latency: run::LatencySummary::of(&hist),
        latency_of: "add to ack".into(),
        errors: u64::from(first_error.is_some()),
        first_error,
        checks: vec![
            Check::zero("lost", seen.missing),
            Check::zero("duplicated", seen.duplicates),
            Check::zero(
                "unexpected",
                seen.unexpected + shared.unexpected.load(Ordering::Relaxed),
            ),
            Check::zero("ack_lost", shared.ack_lost.load(Ordering::Relaxed)),
            Check::zero("pending_end", pending_end),
        ],
        ..Default::default()
    };
    let f = &mut outcome.figures;
    f.insert(
        "add_per_sec".into(),
        added_measured as f64 / seconds.max(1e-9),
    );
    f.insert("entries_added".into(), total as f64);
    f.insert("entries_processed_unique".into(), seen.unique as f64);
    f.insert("consumers".into(), args.consumers as f64);
    f.insert("streams".into(), args.streams as f64);
    f.insert("pending_end".into(), pending_end as f64);
    Ok(outcome.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xreadgroup_reply_yields_ids_and_payloads() {
        let wire = b"*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nd\r\n$3\r\nabc\r\n*2\r\n$3\r\n2-0\r\n*-1\r\n";
        let (value, _) = resp::parse(wire).unwrap().unwrap();
        let batch = parse_read(&value).unwrap();
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].0, b"s");
        assert_eq!(
            batch[0].1,
            vec![
                (b"1-0".to_vec(), Some(b"abc".to_vec())),
                (b"2-0".to_vec(), None)
            ]
        );
    }
}
