//! The `fanout` scenario: publishers PUBLISH stamped messages, subscribers on mio event loops
//! check every delivery (loss, duplication, reordering per publisher) and time it end to end.
//!
//! A subscription is one (connection, channel) or (connection, pattern) pair: Redis counts a
//! connection subscribed to a channel once however often it asks, so S subscribers over C
//! connections need at least ceil(S/C) channels. Subscriber i sits on connection i % C and
//! listens to channel (i % C + i / C) % K, which keeps the channels of one connection
//! distinct. Pattern subscriber j sits on connection j % C with pattern `PREFIX` followed by
//! (j / C + 1) stars: distinct strings that all match every channel.
//!
//! Full speed is windowed: a publisher does not run more than `--window` of its messages
//! ahead of the slowest subscription, so the run measures throughput, not queue growth.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clap::Parser;
use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};
use serde::Serialize;

use crate::client::{self, Client};
use crate::resp::{self, Reply, Value};
use crate::run::{self, Check, CommonArgs, Outcome, Progress, Run};
use crate::verify::{SeqTracker, Stamp, PAYLOAD_HEADER_BYTES};
use crate::Error;

/// Read buffer per subscriber connection at start; grows for a larger message.
const READ_BUFFER_BYTES: usize = 256 * 1024;
/// Longest wait in one poll, so flags are seen promptly.
const POLL_TIMEOUT: Duration = Duration::from_millis(2);
/// How often subscriber threads publish their slowest-subscription progress to publishers.
const PROGRESS_PUBLISH_INTERVAL_NS: u64 = 500_000;
/// How long subscriptions may take to be confirmed before the run fails.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(15);
/// Prefix of a plain message push, matched as bytes before any general parsing.
const MESSAGE_PREFIX: &[u8] = b"*3\r\n$7\r\nmessage\r\n";
/// Prefix of a pattern message push.
const PMESSAGE_PREFIX: &[u8] = b"*4\r\n$8\r\npmessage\r\n";

/// `busbar-load fanout`: pub/sub fanout with end-to-end delivery latency and verification.
#[derive(Parser, Debug, Clone, Serialize)]
pub struct FanoutArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub common: CommonArgs,
    /// Publisher connections.
    #[arg(long, default_value_t = 1)]
    pub publishers: usize,
    /// Channel subscriptions.
    #[arg(long, short = 's', default_value_t = 10)]
    pub subscribers: usize,
    /// Subscriber connections the subscriptions spread over (default: one per subscriber).
    #[arg(long, short = 'c')]
    pub connections: Option<usize>,
    /// Channels; 1 is one hot channel. Publishers send round-robin over them.
    #[arg(long, default_value_t = 1)]
    pub channels: usize,
    /// Pattern subscriptions (each matches every channel), spread over the same connections.
    #[arg(long, default_value_t = 0)]
    pub patterns: usize,
    /// Bytes per message (at least the 40-byte stamp).
    #[arg(long, default_value_t = 64)]
    pub message_size: usize,
    /// Total publish rate, messages/s, spread over publishers; absent = as fast as possible.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Most messages a publisher may be ahead of the slowest subscription.
    #[arg(long, default_value_t = 1000)]
    pub window: u64,
    /// PUBLISH commands per write on each publisher connection.
    #[arg(long, short = 'P', default_value_t = 1)]
    pub pipeline: usize,
}

/// Where each subscription lives; computed once, shared by setup, publishers and checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Channel subscriptions per connection: channel indexes.
    pub channels_of_conn: Vec<Vec<u32>>,
    /// Pattern subscriptions per connection: star counts (pattern = prefix + stars).
    pub patterns_of_conn: Vec<Vec<usize>>,
    /// Receivers a PUBLISH on each channel must report.
    pub receivers_of_channel: Vec<u64>,
}

impl Layout {
    /// Places `subscribers` channel and `patterns` pattern subscriptions over `conns`.
    pub fn new(
        subscribers: usize,
        patterns: usize,
        conns: usize,
        channels: usize,
    ) -> Result<Layout, Error> {
        if conns == 0 || channels == 0 {
            return Err("--connections and --channels must be at least 1".into());
        }
        if subscribers + patterns == 0 {
            return Err("need at least one subscriber or pattern subscriber".into());
        }
        if conns > subscribers + patterns {
            // A connection without a subscription would never be confirmed.
            return Err(format!(
                "--connections {conns} exceeds the {} subscriptions to spread over them",
                subscribers + patterns
            )
            .into());
        }
        let per_conn = subscribers.div_ceil(conns);
        if per_conn > channels {
            return Err(format!(
                "{subscribers} subscribers over {conns} connections puts {per_conn} on one connection, \
                 but a connection holds one subscription per channel and there are {channels} \
                 channels: raise --channels or --connections"
            )
            .into());
        }
        let mut channels_of_conn = vec![Vec::new(); conns];
        let mut receivers_of_channel = vec![patterns as u64; channels];
        for i in 0..subscribers {
            let conn = i % conns;
            let channel = (conn + i / conns) % channels;
            channels_of_conn[conn].push(channel as u32);
            receivers_of_channel[channel] += 1;
        }
        let mut patterns_of_conn = vec![Vec::new(); conns];
        for j in 0..patterns {
            patterns_of_conn[j % conns].push(j / conns + 1);
        }
        Ok(Layout {
            channels_of_conn,
            patterns_of_conn,
            receivers_of_channel,
        })
    }
}

/// Names shared by publishers and subscribers.
struct Names {
    channels: Vec<Vec<u8>>,
    pattern_prefix: Vec<u8>,
}

impl Names {
    fn pattern(&self, stars: usize) -> Vec<u8> {
        let mut p = self.pattern_prefix.clone();
        p.extend(std::iter::repeat_n(b'*', stars));
        p
    }
}

/// State shared between publishers, subscriber threads and the coordinator.
struct Shared {
    run: Arc<Run>,
    names: Names,
    layout: Layout,
    publishers: usize,
    window: u64,
    /// Per subscriber thread, per publisher: lowest count of that publisher's messages
    /// (by its all-lane sequence) seen by any subscription of the thread.
    progress: Vec<Vec<AtomicU64>>,
    /// Subscriber connections whose every subscription is confirmed.
    confirmed_conns: AtomicUsize,
    /// Per publisher, per channel: messages sent; set once every publisher has stopped.
    sent: OnceLock<Vec<Vec<u64>>>,
    /// Subscriber threads stop waiting for stragglers at this instant (set with `sent`).
    drain_deadline_ns: AtomicU64,
    /// Publishes whose receiver count was lower than the layout's.
    receivers_short: AtomicU64,
    /// Set when subscriber threads should leave now (setup failure).
    quit: AtomicBool,
}

/// One subscription's verification state.
struct Subscription {
    /// Channel index for a channel subscription; `None` for a pattern.
    channel: Option<u32>,
    /// One tracker per publisher (channel subscription) or per publisher and channel (pattern).
    trackers: Vec<SeqTracker>,
    /// Per publisher: highest all-lane sequence seen + 1.
    seen_seq: Vec<u64>,
}

struct SubConn {
    stream: mio::net::TcpStream,
    inb: Vec<u8>,
    in_start: usize,
    in_end: usize,
    routes: Routes,
}

/// Which subscription of a thread a push on one connection belongs to.
#[derive(Default)]
struct Routes {
    /// Channel index -> subscription index in the thread's list.
    by_channel: HashMap<u32, usize>,
    /// Pattern bytes -> subscription index.
    by_pattern: Vec<(Vec<u8>, usize)>,
    /// SUBSCRIBE / PSUBSCRIBE confirmations not yet received.
    confirmations_owed: usize,
}

#[derive(Default)]
struct SubTotals {
    measured: u64,
    all: u64,
    unique: u64,
    lost: u64,
    duplicates: u64,
    reordered: u64,
    misrouted: u64,
    unexpected: u64,
}

struct SubThread {
    index: usize,
    shared: Arc<Shared>,
    subs: Vec<Subscription>,
    hist: Histogram<u64>,
    totals: SubTotals,
}

impl SubThread {
    fn deliver(&mut self, sub: usize, channel_name: &[u8], payload: &[u8], now: u64) {
        let shared = &self.shared;
        let Some(stamp) = Stamp::decode(payload) else {
            self.totals.unexpected += 1;
            return;
        };
        let (source, lane) = (stamp.source as usize, stamp.lane as usize);
        let subscription = &mut self.subs[sub];
        let channels = shared.names.channels.len();
        if source >= shared.publishers || lane >= channels {
            self.totals.unexpected += 1;
            return;
        }
        if shared.names.channels[lane] != channel_name
            || subscription.channel.is_some_and(|c| c as usize != lane)
        {
            self.totals.misrouted += 1;
            return;
        }
        let tracker = match subscription.channel {
            Some(_) => &mut subscription.trackers[source],
            None => &mut subscription.trackers[source * channels + lane],
        };
        let before = tracker.unique;
        tracker.observe(stamp.lane_seq);
        self.totals.unique += tracker.unique - before;
        let seen = &mut subscription.seen_seq[source];
        *seen = (*seen).max(stamp.seq + 1);
        self.totals.all += 1;
        let run = &shared.run;
        if run.measured(stamp.sent_ns) {
            self.totals.measured += 1;
            run::record(&mut self.hist, now.saturating_sub(stamp.sent_ns));
        }
    }

    fn publish_progress(&self) {
        for (p, slot) in self.shared.progress[self.index].iter().enumerate() {
            let slowest = self
                .subs
                .iter()
                .map(|s| s.seen_seq[p])
                .min()
                .unwrap_or(u64::MAX);
            slot.store(slowest, Ordering::Relaxed);
        }
    }

    /// Handles every complete frame at the front of `wire`; returns (bytes used, frames).
    fn drain_frames(&mut self, wire: &[u8], routes: &mut Routes) -> Result<(usize, u64), Error> {
        let now = run::now_ns();
        let (mut used, mut frames) = (0, 0);
        loop {
            let buf = &wire[used..];
            if buf.is_empty() {
                break;
            }
            // Fast path: a message push, read field by field without building a Value.
            if buf.starts_with(MESSAGE_PREFIX) || buf.starts_with(PMESSAGE_PREFIX) {
                let pattern_push = buf.starts_with(PMESSAGE_PREFIX);
                let mut at = if pattern_push {
                    PMESSAGE_PREFIX.len()
                } else {
                    MESSAGE_PREFIX.len()
                };
                let mut pattern: &[u8] = &[];
                if pattern_push {
                    let Some((p, next)) = resp::bulk_at(buf, at)? else {
                        break;
                    };
                    pattern = p;
                    at = next;
                }
                let Some((channel, next)) = resp::bulk_at(buf, at)? else {
                    break;
                };
                let Some((payload, end)) = resp::bulk_at(buf, next)? else {
                    break;
                };
                let sub = if pattern_push {
                    routes
                        .by_pattern
                        .iter()
                        .find(|(p, _)| p.as_slice() == pattern)
                        .map(|&(_, s)| s)
                } else {
                    Stamp::decode(payload).and_then(|s| routes.by_channel.get(&s.lane).copied())
                };
                match sub {
                    Some(sub) => self.deliver(sub, channel, payload, now),
                    None => self.totals.unexpected += 1,
                }
                used += end;
                frames += 1;
                continue;
            }
            let Some(n) = resp::frame_len(buf)? else {
                break;
            };
            let (value, _) = resp::parse(&buf[..n])?.ok_or("frame_len and parse disagree")?;
            match value {
                Value::Array(items)
                    if matches!(
                        items.first(),
                        Some(Value::Bulk(b"subscribe" | b"psubscribe"))
                    ) =>
                {
                    routes.confirmations_owed = routes.confirmations_owed.saturating_sub(1);
                    if routes.confirmations_owed == 0 {
                        self.shared.confirmed_conns.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Value::Error(e) => {
                    return Err(format!("SUBSCRIBE -> -{}", String::from_utf8_lossy(e)).into());
                }
                _ => self.totals.unexpected += 1,
            }
            used += n;
        }
        Ok((used, frames))
    }

    fn read(&mut self, conn: &mut SubConn) -> Result<(), Error> {
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
            // A short read means the socket is empty (see kv.rs): no WouldBlock read needed.
            let drained = match conn.stream.read(&mut conn.inb[conn.in_end..]) {
                Ok(0) => return Err("server closed a subscriber connection".into()),
                Ok(n) => {
                    conn.in_end += n;
                    n < space
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            let (used, frames) =
                self.drain_frames(&conn.inb[conn.in_start..conn.in_end], &mut conn.routes)?;
            conn.in_start += used;
            if conn.in_start == conn.in_end {
                conn.in_start = 0;
                conn.in_end = 0;
            }
            self.shared
                .run
                .progress
                .fetch_add(frames, Ordering::Relaxed);
            if drained {
                return Ok(());
            }
        }
    }

    /// Unique deliveries this thread's subscriptions are owed, once publishers have stopped.
    fn owed(&self, sent: &[Vec<u64>]) -> u64 {
        self.subs
            .iter()
            .map(|s| match s.channel {
                Some(c) => sent.iter().map(|per| per[c as usize]).sum::<u64>(),
                None => sent.iter().flatten().sum(),
            })
            .sum()
    }

    fn event_loop(&mut self, mut conns: Vec<SubConn>) -> Result<(), Error> {
        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(1024);
        for (i, conn) in conns.iter_mut().enumerate() {
            poll.registry()
                .register(&mut conn.stream, Token(i), Interest::READABLE)?;
        }
        let mut last_progress = 0;
        let mut owed: Option<u64> = None;
        loop {
            let shared = Arc::clone(&self.shared);
            if shared.run.aborted() || shared.quit.load(Ordering::Relaxed) {
                return Ok(());
            }
            let now = run::now_ns();
            if now - last_progress > PROGRESS_PUBLISH_INTERVAL_NS {
                self.publish_progress();
                last_progress = now;
            }
            if let Some(sent) = shared.sent.get() {
                let owed = *owed.get_or_insert_with(|| self.owed(sent));
                if self.totals.unique >= owed
                    || now > shared.drain_deadline_ns.load(Ordering::Relaxed)
                {
                    return Ok(());
                }
            }
            match poll.poll(&mut events, Some(POLL_TIMEOUT)) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => other?,
            }
            for event in events.iter() {
                self.read(&mut conns[event.token().0])?;
            }
        }
    }

    /// Counts loss against what the publishers report sending.
    fn settle(&mut self) {
        let Some(sent) = self.shared.sent.get() else {
            return;
        };
        let channels = self.shared.names.channels.len();
        for sub in &self.subs {
            for (i, tracker) in sub.trackers.iter().enumerate() {
                let expected = match sub.channel {
                    Some(c) => sent[i][c as usize],
                    None => sent[i / channels][i % channels],
                };
                self.totals.lost += tracker.lost(expected);
                self.totals.duplicates += tracker.duplicates;
                self.totals.reordered += tracker.reordered;
            }
        }
    }
}

/// Opens one subscriber connection and sends its SUBSCRIBE / PSUBSCRIBE commands.
fn open_subscriber(
    addr: std::net::SocketAddr,
    names: &Names,
    channels: &[u32],
    patterns: &[usize],
    subs: &mut Vec<Subscription>,
    publishers: usize,
) -> Result<SubConn, Error> {
    let mut stream = client::connect_stream(addr)?;
    let mut out = Vec::new();
    let mut routes = Routes {
        confirmations_owed: channels.len() + patterns.len(),
        ..Default::default()
    };
    if !channels.is_empty() {
        let mut args: Vec<&[u8]> = vec![b"SUBSCRIBE"];
        args.extend(
            channels
                .iter()
                .map(|&c| names.channels[c as usize].as_slice()),
        );
        resp::push_command(&mut out, &args);
        for &c in channels {
            routes.by_channel.insert(c, subs.len());
            subs.push(Subscription {
                channel: Some(c),
                trackers: vec![SeqTracker::default(); publishers],
                seen_seq: vec![0; publishers],
            });
        }
    }
    if !patterns.is_empty() {
        let pattern_bytes: Vec<Vec<u8>> =
            patterns.iter().map(|&stars| names.pattern(stars)).collect();
        let mut args: Vec<&[u8]> = vec![b"PSUBSCRIBE"];
        args.extend(pattern_bytes.iter().map(Vec::as_slice));
        resp::push_command(&mut out, &args);
        for p in pattern_bytes {
            routes.by_pattern.push((p, subs.len()));
            subs.push(Subscription {
                channel: None,
                trackers: vec![SeqTracker::default(); publishers * names.channels.len()],
                seen_seq: vec![0; publishers],
            });
        }
    }
    stream.write_all(&out)?;
    stream.set_nonblocking(true)?;
    Ok(SubConn {
        stream: mio::net::TcpStream::from_std(stream),
        inb: vec![0; READ_BUFFER_BYTES],
        in_start: 0,
        in_end: 0,
        routes,
    })
}

#[derive(Default)]
struct PubTotals {
    measured: u64,
    all: u64,
    sent: Vec<u64>,
}

fn publisher(
    shared: &Shared,
    index: usize,
    addr: std::net::SocketAddr,
    args: &FanoutArgs,
) -> Result<PubTotals, Error> {
    let mut client = Client::connect(addr)?;
    let run = &shared.run;
    let channels = shared.names.channels.len();
    let mut totals = PubTotals {
        sent: vec![0; channels],
        ..Default::default()
    };
    let pacer = run::Pacer::new(args.rate, args.publishers);
    let mut seq: u64 = 0;
    let mut payload = Vec::with_capacity(args.message_size);
    let mut batch_lanes = Vec::with_capacity(args.pipeline);
    loop {
        let now = run::now_ns();
        if run.stopping(now) {
            break;
        }
        let mut batch = pacer.due(now, seq, args.pipeline as u64);
        if batch == 0 {
            continue;
        }
        let slowest = shared
            .progress
            .iter()
            .map(|t| t[index].load(Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        let ahead = seq.saturating_sub(slowest);
        if ahead >= shared.window {
            std::thread::yield_now();
            continue;
        }
        batch = batch.min(shared.window - ahead);
        batch_lanes.clear();
        for _ in 0..batch {
            let lane = (seq % channels as u64) as usize;
            let stamp = Stamp {
                source: index as u32,
                lane: lane as u32,
                seq,
                lane_seq: totals.sent[lane],
                sent_ns: run::now_ns(),
            };
            payload.clear();
            stamp.encode_into(&mut payload, args.message_size);
            client.queue(&[b"PUBLISH", &shared.names.channels[lane], &payload]);
            totals.sent[lane] += 1;
            seq += 1;
            batch_lanes.push((lane, stamp.sent_ns));
        }
        client.flush()?;
        for &(lane, sent_ns) in &batch_lanes {
            match client.read_reply()? {
                Reply::Int(n) => {
                    if (n as u64) < shared.layout.receivers_of_channel[lane] {
                        shared.receivers_short.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Reply::Error(e) => return Err(format!("PUBLISH -> -{e}").into()),
                other => return Err(format!("PUBLISH answered {other:?}").into()),
            }
            totals.all += 1;
            if run.measured(sent_ns) {
                totals.measured += 1;
            }
        }
    }
    Ok(totals)
}

/// Runs the scenario.
pub fn run(args: &FanoutArgs) -> Result<Outcome, Error> {
    if args.publishers == 0 || args.pipeline == 0 {
        return Err("--publishers and --pipeline must be at least 1".into());
    }
    if args.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        return Err("--rate must be positive".into());
    }
    let addr = args.common.addr()?;
    let conns = args.connections.unwrap_or(args.subscribers.max(1));
    let layout = Layout::new(args.subscribers, args.patterns, conns, args.channels)?;
    // A channel subscription sees a publisher's all-lane sequence only every K-th message,
    // so the window must span every channel (plus one pipeline) to let publishers move.
    let window = args
        .window
        .max(2 * args.channels as u64 + args.pipeline as u64);
    let token = run::run_token();
    let prefix = format!("bl:{token}:ch:");
    let names = Names {
        channels: (0..args.channels)
            .map(|k| format!("{prefix}{k}").into_bytes())
            .collect(),
        pattern_prefix: prefix.into_bytes(),
    };
    let mut control = Client::connect(addr)?;
    control.call_ok(&[b"PING"])?;

    let threads = args.common.thread_count(conns);
    // The clock restarts once every subscription is confirmed, before the first publish.
    let run = Run::new(&args.common);
    let shared = Shared {
        run: Arc::clone(&run),
        names,
        layout: layout.clone(),
        publishers: args.publishers,
        window,
        progress: (0..threads)
            .map(|_| (0..args.publishers).map(|_| AtomicU64::new(0)).collect())
            .collect(),
        confirmed_conns: AtomicUsize::new(0),
        sent: OnceLock::new(),
        drain_deadline_ns: AtomicU64::new(u64::MAX),
        receivers_short: AtomicU64::new(0),
        quit: AtomicBool::new(false),
    };
    let mut thread_conns: Vec<(Vec<SubConn>, Vec<Subscription>)> =
        (0..threads).map(|_| (Vec::new(), Vec::new())).collect();
    for c in 0..conns {
        let (list, subs) = &mut thread_conns[c % threads];
        let conn = open_subscriber(
            addr,
            &shared.names,
            &layout.channels_of_conn[c],
            &layout.patterns_of_conn[c],
            subs,
            args.publishers,
        )?;
        list.push(conn);
    }
    let shared = Arc::new(shared);
    let sub_handles: Vec<_> = thread_conns
        .into_iter()
        .enumerate()
        .map(|(index, (list, subs))| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let mut thread = SubThread {
                    index,
                    shared,
                    subs,
                    hist: run::new_histogram(),
                    totals: SubTotals::default(),
                };
                if let Err(e) = thread.event_loop(list) {
                    thread.shared.run.fail(e.to_string());
                }
                thread
            })
        })
        .collect();

    let wait_start = std::time::Instant::now();
    while shared.confirmed_conns.load(Ordering::Relaxed) < conns {
        if run.aborted() || wait_start.elapsed() > SUBSCRIBE_TIMEOUT {
            run.fail(format!(
                "subscriptions not confirmed within {SUBSCRIBE_TIMEOUT:?}: {} of {conns} connections",
                shared.confirmed_conns.load(Ordering::Relaxed)
            ));
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Warm-up starts with the first publish, now that every subscription listens.
    run.restart(&args.common);
    let progress = Progress::start(&args.common, &run, "delivery");
    let pub_handles: Vec<_> = (0..args.publishers)
        .map(|index| {
            let (shared, args) = (Arc::clone(&shared), args.clone());
            std::thread::spawn(move || {
                let result = publisher(&shared, index, addr, &args);
                if let Err(e) = &result {
                    shared.run.fail(e.to_string());
                }
                result.unwrap_or_default()
            })
        })
        .collect();
    let mut pub_totals = Vec::new();
    for handle in pub_handles {
        pub_totals.push(handle.join().map_err(|_| "publisher thread panicked")?);
    }
    let sent: Vec<Vec<u64>> = pub_totals
        .iter()
        .map(|t| {
            if t.sent.is_empty() {
                vec![0; args.channels]
            } else {
                t.sent.clone()
            }
        })
        .collect();
    shared.drain_deadline_ns.store(
        run::now_ns() + args.common.drain.as_nanos() as u64,
        Ordering::Relaxed,
    );
    let _ = shared.sent.set(sent);
    let mut hist = run::new_histogram();
    let mut totals = SubTotals::default();
    for handle in sub_handles {
        let mut thread = handle.join().map_err(|_| "subscriber thread panicked")?;
        thread.settle();
        hist.add(&thread.hist)
            .map_err(|e| format!("merge histograms: {e:?}"))?;
        let t = &thread.totals;
        totals.measured += t.measured;
        totals.all += t.all;
        totals.lost += t.lost;
        totals.duplicates += t.duplicates;
        totals.reordered += t.reordered;
        totals.misrouted += t.misrouted;
        totals.unexpected += t.unexpected;
    }
    progress.finish();

    let seconds = run.window_secs();
    let published: u64 = pub_totals.iter().map(|t| t.measured).sum();
    let mut outcome = Outcome {
        scenario: "fanout".into(),
        server: addr.to_string(),
        op: "delivery".into(),
        seconds,
        ops: totals.measured,
        ops_per_sec: totals.measured as f64 / seconds.max(1e-9),
        ops_all: totals.all,
        window_start_ns: run.measure_start_ns(),
        window_end_ns: run.measure_end_ns(),
        latency: run::LatencySummary::of(&hist),
        latency_of: "publish to delivery".into(),
        errors: u64::from(run.error().is_some()),
        first_error: run.error(),
        checks: vec![
            Check::zero("lost", totals.lost),
            Check::zero("duplicated", totals.duplicates),
            Check::zero("reordered", totals.reordered),
            Check::zero("misrouted", totals.misrouted),
            Check::zero("unexpected", totals.unexpected),
            Check::zero(
                "publish_receivers_short",
                shared.receivers_short.load(Ordering::Relaxed),
            ),
        ],
        ..Default::default()
    };
    let f = &mut outcome.figures;
    f.insert(
        "publish_per_sec".into(),
        published as f64 / seconds.max(1e-9),
    );
    f.insert("subscribers".into(), args.subscribers as f64);
    f.insert("pattern_subscribers".into(), args.patterns as f64);
    f.insert("subscriber_connections".into(), conns as f64);
    f.insert("channels".into(), args.channels as f64);
    f.insert("window".into(), window as f64);
    f.insert(
        "message_bytes".into(),
        args.message_size.max(PAYLOAD_HEADER_BYTES) as f64,
    );
    f.insert("client_threads".into(), threads as f64);
    if let Err(e) = cleanup(&mut control) {
        outcome.first_error.get_or_insert(e.to_string());
    }
    Ok(outcome.finish())
}

fn cleanup(control: &mut Client) -> Result<(), Error> {
    control.call_ok(&[b"PING"]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_keeps_channels_distinct_per_connection() {
        let layout = Layout::new(10, 0, 4, 3).unwrap();
        for channels in &layout.channels_of_conn {
            let mut sorted = channels.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), channels.len(), "{channels:?}");
        }
        assert_eq!(layout.receivers_of_channel.iter().sum::<u64>(), 10);
    }

    #[test]
    fn layout_rejects_more_subscriptions_per_connection_than_channels() {
        assert!(Layout::new(10, 0, 2, 1).is_err());
        assert!(Layout::new(10, 0, 10, 1).is_ok());
        assert!(
            Layout::new(2, 1, 4, 1).is_err(),
            "a connection would hold nothing"
        );
    }

    /// A subscriber thread with one channel subscription (channel 0) and one pattern
    /// subscription (`t:*`), both on one connection, fed raw wire bytes.
    fn thread_under_test(channels: usize) -> (SubThread, Routes) {
        let args =
            FanoutArgs::try_parse_from(["fanout", "--warmup", "0s", "--duration", "60s"]).unwrap();
        let shared = Arc::new(Shared {
            run: Run::new(&args.common),
            names: Names {
                channels: (0..channels)
                    .map(|k| format!("t:{k}").into_bytes())
                    .collect(),
                pattern_prefix: b"t:".to_vec(),
            },
            layout: Layout::new(1, 1, 1, channels).unwrap(),
            publishers: 1,
            window: 10,
            progress: vec![vec![AtomicU64::new(0)]],
            confirmed_conns: AtomicUsize::new(0),
            sent: OnceLock::new(),
            drain_deadline_ns: AtomicU64::new(u64::MAX),
            receivers_short: AtomicU64::new(0),
            quit: AtomicBool::new(false),
        });
        let subs = vec![
            Subscription {
                channel: Some(0),
                trackers: vec![SeqTracker::default()],
                seen_seq: vec![0],
            },
            Subscription {
                channel: None,
                trackers: vec![SeqTracker::default(); channels],
                seen_seq: vec![0],
            },
        ];
        let mut routes = Routes {
            confirmations_owed: 2,
            ..Default::default()
        };
        routes.by_channel.insert(0, 0);
        routes.by_pattern.push((b"t:*".to_vec(), 1));
        let thread = SubThread {
            index: 0,
            shared,
            subs,
            hist: run::new_histogram(),
            totals: SubTotals::default(),
        };
        (thread, routes)
    }

    fn push_message(
        wire: &mut Vec<u8>,
        pattern: Option<&[u8]>,
        channel: &[u8],
        lane: u32,
        lane_seq: u64,
    ) {
        let mut payload = Vec::new();
        Stamp {
            source: 0,
            lane,
            seq: lane_seq,
            lane_seq,
            sent_ns: run::now_ns(),
        }
        .encode_into(&mut payload, 64);
        match pattern {
            Some(p) => {
                wire.extend_from_slice(PMESSAGE_PREFIX);
                resp::push_bulk(wire, p);
            }
            None => wire.extend_from_slice(MESSAGE_PREFIX),
        }
        resp::push_bulk(wire, channel);
        resp::push_bulk(wire, &payload);
    }

    #[test]
    fn subscriber_catches_loss_duplication_and_reordering_on_the_wire() {
        let (mut thread, mut routes) = thread_under_test(1);
        let mut wire = b"*3\r\n$9\r\nsubscribe\r\n$3\r\nt:0\r\n:1\r\n".to_vec();
        wire.extend_from_slice(b"*3\r\n$10\r\npsubscribe\r\n$3\r\nt:*\r\n:2\r\n");
        // Channel subscription: 0 1 1 3 2 5 -> one duplicate, one late (2), 4 and 6 lost.
        for seq in [0, 1, 1, 3, 2, 5] {
            push_message(&mut wire, None, b"t:0", 0, seq);
        }
        // Pattern subscription: a clean 0..7.
        for seq in 0..7 {
            push_message(&mut wire, Some(b"t:*"), b"t:0", 0, seq);
        }
        // Cut mid-frame: the tail must wait for more bytes, not be misread.
        let cut = wire.len() - 10;
        let (used, frames) = thread.drain_frames(&wire[..cut], &mut routes).unwrap();
        assert_eq!(frames, 12);
        let (rest, more) = thread.drain_frames(&wire[used..], &mut routes).unwrap();
        assert_eq!((used + rest, more), (wire.len(), 1));
        assert_eq!(thread.shared.confirmed_conns.load(Ordering::Relaxed), 1);

        thread.shared.sent.set(vec![vec![7]]).unwrap();
        thread.settle();
        let t = &thread.totals;
        assert_eq!((t.lost, t.duplicates, t.reordered), (2, 1, 1));
        assert_eq!((t.misrouted, t.unexpected), (0, 0));
    }

    #[test]
    fn subscriber_catches_a_message_on_the_wrong_channel() {
        let (mut thread, mut routes) = thread_under_test(2);
        let mut wire = Vec::new();
        // Stamped for channel 1 but delivered as channel 0.
        push_message(&mut wire, Some(b"t:*"), b"t:0", 1, 0);
        // Not a stamp at all.
        wire.extend_from_slice(MESSAGE_PREFIX);
        resp::push_bulk(&mut wire, b"t:0");
        resp::push_bulk(&mut wire, b"hello");
        thread.drain_frames(&wire, &mut routes).unwrap();
        assert_eq!((thread.totals.misrouted, thread.totals.unexpected), (1, 1));
    }

    #[test]
    fn subscribe_error_fails_the_run() {
        let (mut thread, mut routes) = thread_under_test(1);
        let err = thread
            .drain_frames(b"-ERR unknown command 'SUBSCRIBE'\r\n", &mut routes)
            .unwrap_err();
        assert!(err.to_string().contains("unknown command"), "{err}");
    }

    #[test]
    fn pattern_subscribers_receive_every_channel() {
        let layout = Layout::new(2, 3, 2, 1).unwrap();
        assert_eq!(layout.receivers_of_channel, vec![5]);
        assert_eq!(layout.patterns_of_conn, vec![vec![1, 2], vec![1]]);
    }
}
