//! The `kv` scenario: a GET/SET mix over a key space, pipelined, on mio event loops.
//!
//! Each client thread owns a share of the connections and one `mio::Poll`. A connection sends
//! `--pipeline` requests in one write and sends the next batch when the whole batch has been
//! answered (redis-benchmark's `-P` semantics, so the two tools' numbers compare directly).
//! A request is measured if it was sent inside the measured window; its latency runs from
//! the batch write to the parse of its reply.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::client::{self, Client};
use crate::resp;
use crate::run::{self, CommonArgs, Outcome, Progress, Run};
use crate::Error;

/// Read buffer per connection at start; grows when one batch of replies is larger.
const READ_BUFFER_BYTES: usize = 256 * 1024;
/// Longest wait in one poll, so stop and abort flags are seen promptly.
const POLL_TIMEOUT: Duration = Duration::from_millis(5);
/// SETs sent per round trip while prefilling the key space.
const PREFILL_BATCH_REQUESTS: u64 = 1000;
/// Digits in a key's index, fixed so every key (and every request) has the same length.
const KEY_INDEX_DIGITS: usize = 12;

/// How keys are drawn from the key space.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyDistribution {
    /// Every key equally likely.
    Uniform,
    /// YCSB's zipfian: a few hot keys take most requests (`--zipf-theta`).
    Zipfian,
}

/// `busbar-load kv`: GET/SET load with a key distribution, value size and pipelining.
#[derive(Parser, Debug, Clone, Serialize)]
pub struct KvArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub common: CommonArgs,
    /// SET:GET ratio, e.g. 1:10 (memtier's convention), 1:0 for SET only, 0:1 for GET only.
    #[arg(long, default_value = "1:10")]
    pub ratio: String,
    /// Number of distinct keys.
    #[arg(long, default_value_t = 100_000)]
    pub keys: u64,
    /// Key distribution.
    #[arg(long, value_enum, default_value_t = KeyDistribution::Uniform)]
    pub distribution: KeyDistribution,
    /// Skew of the zipfian distribution (0 < theta < 1; YCSB uses 0.99).
    #[arg(long, default_value_t = 0.99)]
    pub zipf_theta: f64,
    /// Bytes per SET value.
    #[arg(long, default_value_t = 64)]
    pub value_size: usize,
    /// Client connections.
    #[arg(long, short = 'c', default_value_t = 50)]
    pub connections: usize,
    /// Requests per batch on each connection.
    #[arg(long, short = 'P', default_value_t = 1)]
    pub pipeline: usize,
    /// Stop after this many measured requests (the --duration still caps the run).
    #[arg(long, short = 'n')]
    pub requests: Option<u64>,
    /// Skip SETting every key before the run (GETs then mostly miss).
    #[arg(long)]
    pub no_prefill: bool,
    /// Key name prefix; keys are PREFIX + a 12-digit index.
    #[arg(long, default_value = "key:")]
    pub key_prefix: String,
    /// Send transactions instead of GET/SET: each request is MULTI, this many INCRs of
    /// random keys (on different shards of a sharded server), EXEC. 0 = off.
    #[arg(long, default_value_t = 0)]
    pub tx_incrs: usize,
}

/// Parses `SET:GET`; the weights of each command.
fn parse_ratio(text: &str) -> Result<(u32, u32), Error> {
    let (set, get) = text.split_once(':').ok_or("--ratio must look like 1:10")?;
    let set: u32 = set.trim().parse().map_err(|_| "--ratio: bad SET weight")?;
    let get: u32 = get.trim().parse().map_err(|_| "--ratio: bad GET weight")?;
    if set + get == 0 {
        return Err("--ratio: both weights are zero".into());
    }
    Ok((set, get))
}

/// YCSB's zipfian generator (Gray et al., "Quickly generating billion-record synthetic
/// databases"), with ranks scattered over the key space by a hash so hot keys are not
/// neighbours.
#[derive(Debug, Clone)]
pub struct Zipf {
    n: u64,
    theta: f64,
    alpha: f64,
    zeta_n: f64,
    eta: f64,
}

impl Zipf {
    /// Precomputes zeta(n); O(n) once per run.
    pub fn new(n: u64, theta: f64) -> Result<Zipf, Error> {
        if !(theta > 0.0 && theta < 1.0) {
            return Err("--zipf-theta must be strictly between 0 and 1".into());
        }
        let zeta = |count: u64| {
            (1..=count)
                .map(|i| 1.0 / (i as f64).powf(theta))
                .sum::<f64>()
        };
        let zeta_n = zeta(n);
        let zeta_2 = zeta(2.min(n));
        let eta = (1.0 - (2.0 / n as f64).powf(1.0 - theta)) / (1.0 - zeta_2 / zeta_n);
        Ok(Zipf {
            n,
            theta,
            alpha: 1.0 / (1.0 - theta),
            zeta_n,
            eta,
        })
    }

    /// Draws a rank in 0..n, 0 the most popular.
    pub fn rank(&self, rng: &mut SmallRng) -> u64 {
        let u: f64 = rng.gen();
        let uz = u * self.zeta_n;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return 1.min(self.n - 1);
        }
        let rank = (self.n as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        rank.min(self.n - 1)
    }

    /// Draws a key index: a rank scattered by FNV-1a.
    pub fn key(&self, rng: &mut SmallRng) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.rank(rng).to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash % self.n
    }
}

/// What a client thread needs to generate requests.
struct Workload {
    set_weight: u32,
    get_weight: u32,
    keys: u64,
    zipf: Option<Zipf>,
    value: Vec<u8>,
    prefix: Vec<u8>,
    pipeline: usize,
    /// INCRs per MULTI/EXEC request (0 = GET/SET requests).
    tx_incrs: usize,
}

impl Workload {
    /// Reply frames one request gets back.
    fn frames_per_request(&self) -> u32 {
        if self.tx_incrs > 0 {
            self.tx_incrs as u32 + 2
        } else {
            1
        }
    }

    fn push_key(&self, key: &mut Vec<u8>, index: u64) {
        key.clear();
        key.extend_from_slice(&self.prefix);
        let start = key.len();
        resp::push_decimal(key, index);
        let digits = key.len() - start;
        if digits < KEY_INDEX_DIGITS {
            key.splice(
                start..start,
                std::iter::repeat_n(b'0', KEY_INDEX_DIGITS - digits),
            );
        }
    }

    /// Appends one request; returns true for a GET.
    fn push_request(&self, out: &mut Vec<u8>, key: &mut Vec<u8>, rng: &mut SmallRng) -> bool {
        if self.tx_incrs > 0 {
            resp::push_command(out, &[b"MULTI"]);
            for _ in 0..self.tx_incrs {
                let index = match &self.zipf {
                    Some(z) => z.key(rng),
                    None => rng.gen_range(0..self.keys),
                };
                self.push_key(key, index);
                resp::push_command(out, &[b"INCR", key]);
            }
            resp::push_command(out, &[b"EXEC"]);
            return false;
        }
        let is_get = rng.gen_range(0..self.set_weight + self.get_weight) >= self.set_weight;
        let index = match &self.zipf {
            Some(z) => z.key(rng),
            None => rng.gen_range(0..self.keys),
        };
        self.push_key(key, index);
        if is_get {
            resp::push_command(out, &[b"GET", key]);
        } else {
            resp::push_command(out, &[b"SET", key, &self.value]);
        }
        is_get
    }
}

struct Conn {
    stream: mio::net::TcpStream,
    out: Vec<u8>,
    out_pos: usize,
    inb: Vec<u8>,
    in_start: usize,
    in_end: usize,
    /// Send time, kind (true = GET) and reply frames still due of each request awaiting
    /// its reply, in order.
    inflight: VecDeque<(u64, bool, u32)>,
    /// Measured requests this connection may still send, when `--requests` is set.
    quota: Option<u64>,
}

#[derive(Default)]
struct ThreadTotals {
    measured: u64,
    gets: u64,
    sets: u64,
    all: u64,
    unanswered: u64,
    last_reply_ns: u64,
}

fn flush(conn: &mut Conn) -> io::Result<()> {
    while conn.out_pos < conn.out.len() {
        match conn.stream.write(&conn.out[conn.out_pos..]) {
            Ok(n) => conn.out_pos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    conn.out.clear();
    conn.out_pos = 0;
    Ok(())
}

fn send_batch(
    conn: &mut Conn,
    work: &Workload,
    run: &Run,
    key: &mut Vec<u8>,
    rng: &mut SmallRng,
) -> io::Result<()> {
    let now = run::now_ns();
    let measured = now >= run.measure_start_ns();
    let mut count = work.pipeline as u64;
    if let (true, Some(quota)) = (measured, conn.quota) {
        count = count.min(quota);
        conn.quota = Some(quota - count);
    }
    for _ in 0..count {
        let is_get = work.push_request(&mut conn.out, key, rng);
        conn.inflight
            .push_back((now, is_get, work.frames_per_request()));
    }
    flush(conn)
}

/// Reads what is available and accounts for every complete reply.
fn read_replies(
    conn: &mut Conn,
    run: &Run,
    hist: &mut Histogram<u64>,
    totals: &mut ThreadTotals,
) -> Result<(), Error> {
    loop {
        if conn.in_end == conn.inb.len() {
            if conn.in_start > 0 {
                conn.inb.copy_within(conn.in_start..conn.in_end, 0);
                conn.in_end -= conn.in_start;
                conn.in_start = 0;
            } else {
                let grown = conn.inb.len() * 2;
                conn.inb.resize(grown, 0);
            }
        }
        let space = conn.inb.len() - conn.in_end;
        // A short read means the socket is empty: skip the read that would only say
        // WouldBlock. Safe with edge-triggered epoll on Linux, which signals every arrival.
        let drained = match conn.stream.read(&mut conn.inb[conn.in_end..]) {
            Ok(0) => return Err("server closed the connection".into()),
            Ok(n) => {
                conn.in_end += n;
                n < space
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let now = run::now_ns();
        let (window_start, window_end) = (run.measure_start_ns(), run.measure_end_ns());
        let mut answered = 0;
        while let Some(n) = resp::frame_len(&conn.inb[conn.in_start..conn.in_end])? {
            let frame = &conn.inb[conn.in_start..conn.in_start + n];
            let front = conn.inflight.front_mut().ok_or("reply without a request")?;
            if frame[0] == b'-' {
                let text = resp::show(&frame[1..frame.len() - 2]);
                let command = if front.1 { "GET" } else { "SET" };
                return Err(format!("{command} -> -{text}").into());
            }
            conn.in_start += n;
            front.2 -= 1;
            if front.2 > 0 {
                continue;
            }
            let (sent_ns, is_get, _) = conn.inflight.pop_front().expect("front exists");
            answered += 1;
            if sent_ns >= window_start && sent_ns < window_end {
                totals.measured += 1;
                if is_get {
                    totals.gets += 1;
                } else {
                    totals.sets += 1;
                }
                totals.last_reply_ns = now;
                run::record(hist, now - sent_ns);
            }
        }
        if conn.in_start == conn.in_end {
            conn.in_start = 0;
            conn.in_end = 0;
        }
        totals.all += answered;
        run.progress.fetch_add(answered, Ordering::Relaxed);
        if drained {
            return Ok(());
        }
    }
}

fn client_thread(
    run: Arc<Run>,
    work: Arc<Workload>,
    streams: Vec<(std::net::TcpStream, Option<u64>)>,
    seed: u64,
    drain: Duration,
) -> Result<(Histogram<u64>, ThreadTotals), Error> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut conns = Vec::with_capacity(streams.len());
    for (i, (stream, quota)) in streams.into_iter().enumerate() {
        stream.set_nonblocking(true)?;
        let mut stream = mio::net::TcpStream::from_std(stream);
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        conns.push(Conn {
            stream,
            out: Vec::with_capacity(work.pipeline * (64 + work.value.len())),
            out_pos: 0,
            inb: vec![0; READ_BUFFER_BYTES],
            in_start: 0,
            in_end: 0,
            inflight: VecDeque::with_capacity(work.pipeline),
            quota,
        });
    }
    let mut hist = run::new_histogram();
    let mut totals = ThreadTotals::default();
    let mut key = Vec::with_capacity(work.prefix.len() + KEY_INDEX_DIGITS);
    for conn in &mut conns {
        send_batch(conn, &work, &run, &mut key, &mut rng)?;
    }
    let drain_deadline = run.measure_end_ns() + drain.as_nanos() as u64;
    loop {
        let now = run::now_ns();
        if run.aborted() {
            break;
        }
        let stopping = run.stopping(now);
        let idle = conns.iter().all(|c| c.inflight.is_empty());
        if idle && (stopping || conns.iter().all(|c| c.quota == Some(0))) {
            break;
        }
        if stopping && now > drain_deadline {
            totals.unanswered = conns.iter().map(|c| c.inflight.len() as u64).sum();
            break;
        }
        match poll.poll(&mut events, Some(POLL_TIMEOUT)) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        }
        for event in events.iter() {
            let conn = &mut conns[event.token().0];
            if event.is_writable() {
                flush(conn)?;
            }
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                read_replies(conn, &run, &mut hist, &mut totals)?;
                let now = run::now_ns();
                if conn.inflight.is_empty() && !run.stopping(now) && conn.quota != Some(0) {
                    send_batch(conn, &work, &run, &mut key, &mut rng)?;
                }
            }
        }
    }
    Ok((hist, totals))
}

/// SETs every key once, pipelined, so GETs hit.
fn prefill(addr: std::net::SocketAddr, work: &Workload) -> Result<(), Error> {
    let mut client = Client::connect(addr)?;
    let mut key = Vec::new();
    let mut index = 0;
    while index < work.keys {
        let batch = PREFILL_BATCH_REQUESTS.min(work.keys - index);
        for i in index..index + batch {
            work.push_key(&mut key, i);
            resp::push_command(client.write_buf(), &[b"SET", &key, &work.value]);
        }
        client.flush()?;
        for _ in 0..batch {
            if let resp::Reply::Error(e) = client.read_reply()? {
                return Err(format!("prefill SET -> -{e}").into());
            }
        }
        index += batch;
    }
    Ok(())
}

/// Runs the scenario.
pub fn run(args: &KvArgs) -> Result<Outcome, Error> {
    let (set_weight, get_weight) = parse_ratio(&args.ratio)?;
    if args.connections == 0 || args.pipeline == 0 || args.keys == 0 {
        return Err("--connections, --pipeline and --keys must be at least 1".into());
    }
    let addr = args.common.addr()?;
    let zipf = match args.distribution {
        KeyDistribution::Uniform => None,
        KeyDistribution::Zipfian => Some(Zipf::new(args.keys, args.zipf_theta)?),
    };
    let mut value_rng = SmallRng::seed_from_u64(args.common.seed ^ 0x5eed_f7a1);
    let value = (0..args.value_size)
        .map(|_| value_rng.gen_range(b'a'..=b'z'))
        .collect();
    let work = Arc::new(Workload {
        set_weight,
        get_weight,
        keys: args.keys,
        zipf,
        value,
        prefix: args.key_prefix.as_bytes().to_vec(),
        pipeline: args.pipeline,
        tx_incrs: args.tx_incrs,
    });
    if !args.no_prefill && get_weight > 0 && args.tx_incrs == 0 {
        prefill(addr, &work)?;
    }

    let threads = args.common.thread_count(args.connections);
    let mut per_thread: Vec<Vec<(std::net::TcpStream, Option<u64>)>> =
        (0..threads).map(|_| Vec::new()).collect();
    for i in 0..args.connections {
        let quota = args.requests.map(|n| {
            let c = args.connections as u64;
            n / c + u64::from((i as u64) < n % c)
        });
        per_thread[i % threads].push((client::connect_stream(addr)?, quota));
    }

    let run = Run::new(&args.common);
    let progress = Progress::start(&args.common, &run, "request");
    let handles: Vec<_> = per_thread
        .into_iter()
        .enumerate()
        .map(|(t, streams)| {
            let (run, work) = (Arc::clone(&run), Arc::clone(&work));
            let seed = args.common.seed.wrapping_add(t as u64 * 0x9e37_79b9);
            let drain = args.common.drain;
            std::thread::spawn(move || {
                let result = client_thread(Arc::clone(&run), work, streams, seed, drain);
                if let Err(e) = &result {
                    run.fail(e.to_string());
                }
                result
            })
        })
        .collect();
    let mut hist = run::new_histogram();
    let mut totals = ThreadTotals::default();
    for handle in handles {
        if let Ok((h, t)) = handle.join().map_err(|_| "kv client thread panicked")? {
            hist.add(&h)
                .map_err(|e| format!("merge histograms: {e:?}"))?;
            totals.measured += t.measured;
            totals.gets += t.gets;
            totals.sets += t.sets;
            totals.all += t.all;
            totals.unanswered += t.unanswered;
            totals.last_reply_ns = totals.last_reply_ns.max(t.last_reply_ns);
        }
    }
    progress.finish();

    let (window_start, window_end) = (run.measure_start_ns(), run.measure_end_ns());
    let window_ns = if args.requests.is_some() && totals.last_reply_ns > window_start {
        (totals.last_reply_ns - window_start).min(window_end - window_start)
    } else {
        window_end - window_start
    };
    let seconds = window_ns as f64 / 1e9;
    let mut outcome = Outcome {
        scenario: "kv".into(),
        server: addr.to_string(),
        op: "request".into(),
        seconds,
        ops: totals.measured,
        ops_per_sec: totals.measured as f64 / seconds.max(1e-9),
        ops_all: totals.all,
        window_start_ns: run.measure_start_ns(),
        window_end_ns: run.measure_end_ns(),
        latency: run::LatencySummary::of(&hist),
        latency_of: "batch write to reply".into(),
        errors: totals.unanswered + u64::from(run.error().is_some()),
        first_error: run.error(),
        ..Default::default()
    };
    if totals.unanswered > 0 && outcome.first_error.is_none() {
        outcome.first_error = Some(format!(
            "{} requests unanswered after the drain",
            totals.unanswered
        ));
    }
    outcome
        .figures
        .insert("get_per_sec".into(), totals.gets as f64 / seconds.max(1e-9));
    outcome
        .figures
        .insert("set_per_sec".into(), totals.sets as f64 / seconds.max(1e-9));
    outcome
        .figures
        .insert("pipeline".into(), args.pipeline as f64);
    outcome
        .figures
        .insert("connections".into(), args.connections as f64);
    outcome
        .figures
        .insert("client_threads".into(), threads as f64);
    Ok(outcome.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_parses() {
        assert_eq!(parse_ratio("1:10").unwrap(), (1, 10));
        assert_eq!(parse_ratio("0:1").unwrap(), (0, 1));
        assert!(parse_ratio("0:0").is_err());
        assert!(parse_ratio("3").is_err());
    }

    #[test]
    fn zipf_stays_in_range_and_is_skewed() {
        let zipf = Zipf::new(1000, 0.99).unwrap();
        let mut rng = SmallRng::seed_from_u64(7);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            counts[zipf.rank(&mut rng) as usize] += 1;
            assert!(zipf.key(&mut rng) < 1000);
        }
        // Rank 0 is the most frequent, far above the uniform share of 100.
        assert!(counts[0] > 5_000, "rank 0 drawn {} times", counts[0]);
        assert!(counts[0] > counts[10] && counts[10] > counts[500]);
    }

    #[test]
    fn keys_have_a_fixed_width() {
        let work = Workload {
            set_weight: 1,
            get_weight: 1,
            keys: 10,
            zipf: None,
            value: b"v".to_vec(),
            prefix: b"key:".to_vec(),
            pipeline: 1,
            tx_incrs: 0,
        };
        let mut key = Vec::new();
        work.push_key(&mut key, 42);
        assert_eq!(key, b"key:000000000042");
    }

    #[test]
    fn same_seed_same_requests() {
        let work = Workload {
            set_weight: 1,
            get_weight: 3,
            keys: 1000,
            zipf: None,
            value: b"value".to_vec(),
            prefix: b"k:".to_vec(),
            pipeline: 1,
            tx_incrs: 0,
        };
        let mut streams = Vec::new();
        for _ in 0..2 {
            let (mut out, mut key, mut rng) = (Vec::new(), Vec::new(), SmallRng::seed_from_u64(9));
            for _ in 0..100 {
                work.push_request(&mut out, &mut key, &mut rng);
            }
            streams.push(out);
        }
        assert_eq!(streams[0], streams[1]);
    }
}
