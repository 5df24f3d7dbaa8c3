//! The `flood` scenario: publishers that do not wait for subscribers, and a count of what
//! every single subscriber received.
//!
//! `fanout` keeps publishers within a window of the slowest subscription, so it measures
//! throughput without queues. `flood` removes the window: each publisher writes batches of
//! `--batch` PUBLISH commands and waits only for their replies, as a real producer does,
//! for `--duration` (optionally paced by `--rate`). It then reports, per subscriber, the
//! messages received and whether the server closed it, how much was still on its way two
//! seconds after publishing stopped, how long the rest took, end-to-end latency, delivered
//! messages per second over the publishing window, and (with `--server-pid`) the server's
//! peak RSS and CPU time. This is the starvation check: every subscriber must get every
//! message and none may be disconnected while it reads as fast as it can.
//!
//! Every message has the same size, so a subscriber finds frame boundaries by counting
//! bytes; each frame's payload starts with the publisher's send time (8 bytes, little
//! endian nanoseconds of the process clock), which gives the latency. `--slow-subscriber`
//! makes subscriber 0 read at that fraction of the paced publish rate (a lagging consumer).

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};
use serde::Serialize;

use crate::client::{self, Client};
use crate::resp::{self, Reply};
use crate::run::{self, parse_duration};
use crate::Error;

/// Socket read size per call.
const READ_CHUNK_BYTES: usize = 256 * 1024;
/// How often RSS and CPU of the server are sampled.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(50);
/// When, after publishing stops, the "still queued" snapshot is taken.
const QUEUED_SNAPSHOT_AFTER: Duration = Duration::from_secs(2);

/// `busbar-load flood`: unwindowed publishers, per-subscriber received counts.
#[derive(Parser, Debug, Clone, Serialize)]
pub struct FloodArgs {
    /// Server host.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Server port.
    #[arg(long, short = 'p', default_value_t = 6379)]
    pub port: u16,
    /// Subscriber connections, all on one channel.
    #[arg(long, short = 's', default_value_t = 20)]
    pub subscribers: usize,
    /// Publisher connections.
    #[arg(long, default_value_t = 1)]
    pub publishers: usize,
    /// PUBLISH commands written per batch; a publisher waits for a batch's replies before
    /// the next (64 = 64 outstanding PUBLISHes).
    #[arg(long, short = 'b', default_value_t = 100)]
    pub batch: usize,
    /// Payload bytes per message (at least 8).
    #[arg(long, default_value_t = 1024)]
    pub message_size: usize,
    /// How long publishers publish.
    #[arg(long, short = 'd', default_value = "5s", value_parser = parse_duration)]
    #[serde(serialize_with = "ser_secs")]
    pub duration: Duration,
    /// Total publish rate in messages/s (absent: as fast as the server answers).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Subscriber 0 reads at most this fraction of the paced publish rate (needs --rate).
    #[arg(long)]
    pub slow_subscriber: Option<f64>,
    /// Longest wait for deliveries after publishing stops.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    #[serde(serialize_with = "ser_secs")]
    pub drain: Duration,
    /// Subscriber threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// The server's pid: sample its RSS and CPU time.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Write the figures to this JSON file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// What a flood run measured.
#[derive(Debug, Serialize, Default)]
pub struct FloodOutcome {
    pub published: u64,
    pub subscribers: usize,
    /// Messages each subscriber received, in subscriber order.
    pub received: Vec<u64>,
    /// Subscribers the server closed.
    pub disconnected: usize,
    /// Subscribers that received every message.
    pub complete: usize,
    /// Deliveries still owed two seconds after publishing stopped.
    pub queued_after_2s: u64,
    /// Seconds from the end of publishing to the last delivery (or the drain limit).
    pub drain_secs: f64,
    /// Deliveries per second over the publishing window plus drain.
    pub delivered_per_sec: f64,
    /// Messages published per second.
    pub published_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub server_peak_rss_mb: Option<f64>,
    pub server_cpu_secs: Option<f64>,
    /// Server CPU microseconds per delivery.
    pub server_cpu_us_per_delivery: Option<f64>,
}

/// One subscriber connection as its thread sees it.
struct Sub {
    index: usize,
    stream: mio::net::TcpStream,
    /// Bytes of the current, incomplete frame (frames are all `frame_len` long).
    partial: usize,
    /// The 8 timestamp bytes of the current frame, as far as read.
    stamp: [u8; 8],
    received: u64,
    closed: bool,
    /// A slow subscriber's read rate, bytes per second.
    slow: Option<f64>,
    /// Bytes read so far.
    read_total: u64,
    /// When a slow subscriber first read.
    started: Option<Instant>,
}

/// State shared between publishers, subscriber threads and the coordinator.
struct Shared {
    received: Vec<AtomicU64>,
    closed: Vec<AtomicBool>,
    /// Nanoseconds (process clock) of the last delivery anywhere.
    last_delivery_ns: AtomicU64,
    stop_subscribers: AtomicBool,
    hist: Mutex<Histogram<u64>>,
}

pub fn run(args: &FloodArgs) -> Result<i32, Error> {
    if args.message_size < 8 {
        return Err("--message-size must be at least 8".into());
    }
    if args.slow_subscriber.is_some() && args.rate.is_none() {
        return Err("--slow-subscriber needs --rate".into());
    }
    let addr = client::resolve(&args.host, args.port)?;
    let channel = format!("flood:{}", run::run_token());
    let prefix_len = frame_prefix(&channel, args.message_size).len();
    let frame_len = prefix_len + args.message_size + 2;
    let shared = Arc::new(Shared {
        received: (0..args.subscribers).map(|_| AtomicU64::new(0)).collect(),
        closed: (0..args.subscribers)
            .map(|_| AtomicBool::new(false))
            .collect(),
        last_delivery_ns: AtomicU64::new(0),
        stop_subscribers: AtomicBool::new(false),
        hist: Mutex::new(run::new_histogram()),
    });

    // Subscribe every connection and wait for the confirmations.
    let mut per_thread: Vec<Vec<Sub>> = (0..args.threads.max(1)).map(|_| Vec::new()).collect();
    for i in 0..args.subscribers {
        let mut c = client::connect_stream(addr)?;
        c.set_read_timeout(Some(client::REPLY_TIMEOUT))?;
        let mut req = Vec::new();
        resp::push_command(&mut req, &[b"SUBSCRIBE", channel.as_bytes()]);
        c.write_all(&req)?;
        let want = subscribe_confirmation(&channel);
        let mut got = vec![0u8; want.len()];
        c.read_exact(&mut got)?;
        if got != want {
            return Err(format!(
                "unexpected SUBSCRIBE reply {:?}",
                String::from_utf8_lossy(&got)
            )
            .into());
        }
        c.set_nonblocking(true)?;
        let slow = match (i, args.slow_subscriber, args.rate) {
            (0, Some(f), Some(rate)) => Some(f * rate * frame_len as f64),
            _ => None,
        };
        let thread = i % per_thread.len();
        per_thread[thread].push(Sub {
            index: i,
            stream: mio::net::TcpStream::from_std(c),
            partial: 0,
            stamp: [0; 8],
            received: 0,
            closed: false,
            slow,
            read_total: 0,
            started: None,
        });
    }
    let mut control = Client::connect(addr)?;
    let numsub = control.call_ok(&[b"PUBSUB", b"NUMSUB", channel.as_bytes()])?;
    if let Reply::Array(items) = &numsub {
        if items.get(1) != Some(&Reply::Int(args.subscribers as i64)) {
            return Err(format!("PUBSUB NUMSUB says {numsub:?}").into());
        }
    }

    let threads: Vec<_> = per_thread
        .into_iter()
        .map(|subs| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || subscriber_loop(subs, (frame_len, prefix_len), &shared))
        })
        .collect();
    let sampler = args.server_pid.map(Sampler::start);

    // Publish.
    let start_ns = run::now_ns();
    let end_ns = start_ns + args.duration.as_nanos() as u64;
    let publishers: Vec<_> = (0..args.publishers)
        .map(|_| {
            let channel = channel.clone();
            let args = args.clone();
            std::thread::spawn(move || publisher(addr, &channel, &args, start_ns, end_ns))
        })
        .collect();
    let mut published = 0;
    for p in publishers {
        published += p.join().map_err(|_| "publisher panicked")??;
    }
    let stopped_ns = run::now_ns();
    let owed = |shared: &Shared| -> u64 {
        (0..args.subscribers)
            .filter(|&i| !shared.closed[i].load(Ordering::Relaxed))
            .map(|i| published.saturating_sub(shared.received[i].load(Ordering::Relaxed)))
            .sum()
    };
    let snapshot_at = stopped_ns + QUEUED_SNAPSHOT_AFTER.as_nanos() as u64;
    let drain_until = stopped_ns + args.drain.as_nanos() as u64;
    let mut queued_after_2s = None;
    loop {
        let now = run::now_ns();
        if queued_after_2s.is_none() && now >= snapshot_at {
            queued_after_2s = Some(owed(&shared));
        }
        if (owed(&shared) == 0 && queued_after_2s.is_some()) || now >= drain_until {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let queued_after_2s = queued_after_2s.unwrap_or(0);
    shared.stop_subscribers.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().map_err(|_| "subscriber thread panicked")??;
    }
    let samples = sampler.map(Sampler::finish);

    let received: Vec<u64> = shared
        .received
        .iter()
        .map(|r| r.load(Ordering::Relaxed))
        .collect();
    let delivered: u64 = received.iter().sum();
    let last = shared
        .last_delivery_ns
        .load(Ordering::Relaxed)
        .max(stopped_ns);
    let hist = shared.hist.lock().expect("histogram lock");
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1e6;
    let mut out = FloodOutcome {
        published,
        subscribers: args.subscribers,
        disconnected: shared
            .closed
            .iter()
            .filter(|c| c.load(Ordering::Relaxed))
            .count(),
        complete: received.iter().filter(|&&r| r == published).count(),
        received,
        queued_after_2s,
        drain_secs: (last - stopped_ns) as f64 / 1e9,
        delivered_per_sec: delivered as f64 / ((last - start_ns) as f64 / 1e9),
        published_per_sec: published as f64 / ((stopped_ns - start_ns) as f64 / 1e9),
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        max_ms: hist.max() as f64 / 1e6,
        ..Default::default()
    };
    if let Some((peak_kb, cpu)) = samples {
        out.server_peak_rss_mb = Some(peak_kb as f64 / 1024.0);
        out.server_cpu_secs = cpu;
        out.server_cpu_us_per_delivery = cpu.map(|c| c * 1e6 / delivered.max(1) as f64);
    }
    print_summary(&out);
    if let Some(path) = &args.json {
        let doc = serde_json::json!({ "config": args, "outcome": &out });
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)?;
    }
    Ok(if out.complete == out.subscribers {
        0
    } else {
        1
    })
}

/// The bytes of a `message` push before its payload.
fn frame_prefix(channel: &str, payload_len: usize) -> Vec<u8> {
    format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{}\r\n${}\r\n",
        channel.len(),
        channel,
        payload_len
    )
    .into_bytes()
}

fn subscribe_confirmation(channel: &str) -> Vec<u8> {
    format!(
        "*3\r\n$9\r\nsubscribe\r\n${}\r\n{}\r\n:1\r\n",
        channel.len(),
        channel
    )
    .into_bytes()
}

/// One publisher: batches of PUBLISH until `end_ns`, each stamped with its send time.
/// Returns how many it published.
fn publisher(
    addr: std::net::SocketAddr,
    channel: &str,
    args: &FloodArgs,
    start_ns: u64,
    end_ns: u64,
) -> Result<u64, Error> {
    let mut c = Client::connect(addr)?;
    let mut payload = vec![b'x'; args.message_size];
    let per_publisher_rate = args.rate.map(|r| r / args.publishers as f64);
    let mut sent = 0u64;
    loop {
        let now = run::now_ns();
        if now >= end_ns {
            break;
        }
        if let Some(rate) = per_publisher_rate {
            let due = ((now - start_ns) as f64 / 1e9 * rate) as u64;
            if sent >= due {
                std::thread::sleep(Duration::from_micros(200));
                continue;
            }
        }
        for _ in 0..args.batch {
            payload[..8].copy_from_slice(&run::now_ns().to_le_bytes());
            c.queue(&[b"PUBLISH", channel.as_bytes(), &payload]);
        }
        c.flush()?;
        for _ in 0..args.batch {
            match c.read_value()? {
                resp::Value::Int(_) => {}
                other => {
                    return Err(format!("PUBLISH answered {:?}", other.to_owned_reply()).into())
                }
            }
        }
        sent += args.batch as u64;
    }
    Ok(sent)
}

/// Reads every subscriber of one thread until told to stop.
fn subscriber_loop(
    mut subs: Vec<Sub>,
    frame: (usize, usize),
    shared: &Shared,
) -> Result<(), Error> {
    let mut poll = Poll::new()?;
    for (i, s) in subs.iter_mut().enumerate() {
        poll.registry()
            .register(&mut s.stream, Token(i), Interest::READABLE)?;
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    let mut hist = run::new_histogram();
    while !shared.stop_subscribers.load(Ordering::Relaxed) {
        poll.poll(&mut events, Some(Duration::from_millis(2)))?;
        // Slow subscribers are polled on a timer, not only on readiness.
        for s in subs.iter_mut() {
            if s.closed {
                continue;
            }
            let mut budget = usize::MAX;
            if let Some(rate) = s.slow {
                let t0 = *s.started.get_or_insert_with(Instant::now);
                let allowed = (t0.elapsed().as_secs_f64() * rate) as u64;
                budget = allowed.saturating_sub(s.read_total) as usize;
                if budget == 0 {
                    continue;
                }
            }
            loop {
                let want = buf.len().min(budget);
                if want == 0 {
                    break;
                }
                match s.stream.read(&mut buf[..want]) {
                    Ok(0) => {
                        s.closed = true;
                        shared.closed[s.index].store(true, Ordering::Relaxed);
                        break;
                    }
                    Ok(n) => {
                        budget -= n;
                        s.read_total += n as u64;
                        let now = run::now_ns();
                        consume(s, &buf[..n], frame, now, &mut hist);
                        shared.received[s.index].store(s.received, Ordering::Relaxed);
                        shared.last_delivery_ns.fetch_max(now, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        s.closed = true;
                        shared.closed[s.index].store(true, Ordering::Relaxed);
                        break;
                    }
                }
            }
        }
    }
    shared
        .hist
        .lock()
        .expect("histogram lock")
        .add(&hist)
        .map_err(|e| format!("histogram: {e}"))?;
    Ok(())
}

/// Counts whole frames in `bytes` and records the latency of each from its stamp.
/// `prefix` is the frame's length before its payload, where the stamp starts.
fn consume(
    s: &mut Sub,
    bytes: &[u8],
    (frame_len, prefix): (usize, usize),
    now: u64,
    hist: &mut Histogram<u64>,
) {
    let mut pos = 0;
    while pos < bytes.len() {
        let take = (frame_len - s.partial).min(bytes.len() - pos);
        // The stamp occupies frame bytes [prefix, prefix + 8).
        let (lo, hi) = (s.partial, s.partial + take);
        if hi > prefix && lo < prefix + 8 {
            for k in lo.max(prefix)..hi.min(prefix + 8) {
                s.stamp[k - prefix] = bytes[pos + (k - lo)];
            }
        }
        s.partial += take;
        pos += take;
        if s.partial == frame_len {
            s.partial = 0;
            s.received += 1;
            run::record(hist, now.saturating_sub(u64::from_le_bytes(s.stamp)));
        }
    }
}

/// Samples the server's RSS (peak, KB) and CPU seconds while the run lasts.
struct Sampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<(u64, Option<f64>)>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let pid = pid.to_string();
            let cpu0 = crate::compare::cpu_seconds(&pid);
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(rss_kb(&pid).unwrap_or(0));
                std::thread::sleep(SAMPLE_INTERVAL);
            }
            let cpu = crate::compare::cpu_seconds(&pid)
                .zip(cpu0)
                .map(|(a, b)| a - b);
            (peak, cpu)
        });
        Sampler { stop, handle }
    }

    fn finish(self) -> (u64, Option<f64>) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or((0, None))
    }
}

fn rss_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn print_summary(o: &FloodOutcome) {
    let mut sorted = o.received.clone();
    sorted.sort_unstable();
    let (min, med, max) = (
        sorted.first().copied().unwrap_or(0),
        sorted.get(sorted.len() / 2).copied().unwrap_or(0),
        sorted.last().copied().unwrap_or(0),
    );
    println!(
        "published {} ({:.0}/s); {} subscribers: {} complete, {} disconnected; received min {} median {} max {}",
        o.published, o.published_per_sec, o.subscribers, o.complete, o.disconnected, min, med, max
    );
    println!(
        "still queued 2 s after publishing stopped: {}; last delivery {:.2} s after; delivered {:.0}/s",
        o.queued_after_2s, o.drain_secs, o.delivered_per_sec
    );
    println!(
        "latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        o.p50_ms, o.p99_ms, o.max_ms
    );
    if let Some(rss) = o.server_peak_rss_mb {
        println!(
            "server peak RSS {:.1} MB, CPU {:.2} s ({:.3} µs per delivery)",
            rss,
            o.server_cpu_secs.unwrap_or(0.0),
            o.server_cpu_us_per_delivery.unwrap_or(0.0)
        );
    }
    let _ = io::stdout().flush();
}
