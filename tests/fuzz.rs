//! Command fuzzer: seeded random commands, drawn from busbar's own command table and argument
//! docs, must never crash, hang or balloon busbar, and (with redis-server as the oracle) must
//! fail exactly where Redis fails. FUZZ.md says how to run it, replay a failure and read it.
//!
//! One run: start busbar (3 shards) and redis-server, read `COMMAND` and `COMMAND DOCS` from
//! busbar, build a pool of keys of every type and encoding on every shard, then until the time
//! is up: generate a command, send it to both, and check that busbar is alive, answers PING,
//! stays under the memory ceiling, and that its reply kind (error or not, and the error's first
//! word) is Redis's. A kind mismatch is replayed on a fresh pool to tell a reproducible
//! divergence from one that followed a random choice (SPOP, XADD `*`) made differently.
//!
//! Environment:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `BUSBAR_FUZZ_SECS` | wall time of the random phase | 60 |
//! | `BUSBAR_FUZZ_SEED` | seed of the generator (printed at start), or `random` | 1 |
//! | `BUSBAR_FUZZ_REPLAY` | a file of commands to run instead of random ones | |
//! | `BUSBAR_FUZZ_HUGE` | `0`: leave out the huge random counts and offsets (busbar only) | on |
//! | `BUSBAR_FUZZ_BIN` | the busbar binary (e.g. `target/release/busbar`) | the test build |
//! | `BUSBAR_FUZZ_RSS_MB` | busbar's resident-memory ceiling | 2048 |
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

use busbar::num::parse_i64;
use busbar::resp::write::value_len;
use busbar::shard::route::shard_of;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Args = Vec<Vec<u8>>;

/// Shards busbar runs with: three, so a random pair of keys is usually cross-shard and the
/// pool's hash tags still give same-shard pairs.
const SHARDS: usize = 3;

/// How long a reply may take before the command counts as hung (blocking commands get
/// timeouts of 10 ms, so nothing legitimate comes near this).
const REPLY_WAIT: Duration = Duration::from_secs(5);

/// How long the PING after every command may take.
const PING_WAIT: Duration = Duration::from_secs(5);

/// Largest reply read from the main connections; the pool keeps replies far smaller.
const REPLY_BYTES_MAX: usize = 256 << 20;

/// Largest reply read back from a huge-category command before the connection is dropped:
/// the point of those is that busbar's memory stays bounded, not the reply's content.
const HUGE_REPLY_BYTES_MAX: usize = 64 << 20;

/// Commands between two rebuilds of the key pool (commands delete and retype keys).
const POOL_REBUILD_EVERY: usize = 100;

/// Commands kept for the failure dump.
const LOG_LINES_MAX: usize = 400;

/// Counts for SRANDMEMBER / ZRANDMEMBER / HRANDFIELD below this are huge: Redis answers a
/// negative count with that many picks, so it builds a reply of |count| elements.
const RANDOM_COUNT_MIN: i64 = -100_000;

/// SETRANGE reaching past this offset is huge: both servers must allocate the whole string.
const SETRANGE_END_MAX: i64 = 1 << 20;

/// Commands never generated, with why. A name is `command` or `container|subcommand`.
const EXCLUDED: &[(&str, &str)] = &[
    (
        "shutdown",
        "stops the server on purpose: an exit we asked for is not a crash",
    ),
    (
        "debug",
        "DEBUG SEGFAULT / SLEEP / RELOAD crash or stall a server on purpose",
    ),
    (
        "monitor",
        "turns the connection into a feed of every later command",
    ),
    ("client|kill", "kills the harness's own connections"),
    (
        "client|pause",
        "stalls every client, the health check's PING included",
    ),
    (
        "client|reply",
        "OFF and SKIP suppress replies; the harness reads one per command",
    ),
    (
        "client|no-evict",
        "redis-only connection flag, nothing to compare",
    ),
    (
        "client|tracking",
        "turns on invalidation pushes the harness does not read",
    ),
    ("replicaof", "reconfigures replication"),
    ("slaveof", "reconfigures replication"),
    ("failover", "reconfigures replication"),
    ("sync", "starts a replication stream on the connection"),
    ("psync", "starts a replication stream on the connection"),
    ("wait", "waits for replicas that do not exist"),
    ("waitaof", "waits for replicas that do not exist"),
    (
        "save",
        "writes dump files into the test's working directory",
    ),
    (
        "bgsave",
        "writes dump files into the test's working directory",
    ),
    (
        "bgrewriteaof",
        "writes append-only files into the test's working directory",
    ),
    ("acl", "ACL SETUSER / DELUSER can lock the harness out"),
    ("module", "loads code into the server"),
];

/// Commands run on a connection of their own, opened for them and dropped after the first
/// reply: the subscribe family leaves the connection in subscribed mode and answers once per
/// channel, QUIT closes it.
const FRESH_CONNECTION: &[&str] = &[
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
    "quit",
];

/// The only parameters CONFIG SET may touch: the encoding thresholds, which change how the
/// pool's values are stored. Anything else (port, bind, requirepass, timeout, maxmemory,
/// dir, proto-max-bulk-len, client-query-buffer-limit ...) could lock the harness out, write
/// files or make the servers' memory accounting differ. The pool rebuild restores them.
const CONFIG_SET_ALLOWED: &[&str] = &[
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "hash-max-ziplist-entries",
    "hash-max-ziplist-value",
    "set-max-intset-entries",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "zset-max-ziplist-entries",
    "zset-max-ziplist-value",
    "list-max-listpack-size",
    "list-max-ziplist-size",
    "list-compress-depth",
    "stream-node-max-bytes",
    "stream-node-max-entries",
];

/// Whether a mismatch (the command's arguments, busbar's reply, redis's reply) is a known one.
type Matcher = fn(args: &[Vec<u8>], busbar: &[u8], redis: &[u8]) -> bool;

/// A reply-kind mismatch busbar is known to have, waiting for its fix: the command, the
/// argument shape it needs, and the bug. Remove a row once its fix lands.
struct Known {
    command: &'static str,
    shape: &'static str,
    why: &'static str,
    matches: Matcher,
}

/// Known reply-kind mismatches (FUZZ.md lists them with their findings): Redis 7.2
/// behaviour busbar has on purpose, against a 7.0 oracle.
const KNOWN_MISMATCHES: &[Known] = &[
    Known {
        command: "client|setinfo",
        shape: "CLIENT SETINFO <attr> <value>",
        why: "7.2's CLIENT SETINFO, which client libraries send on connect; 7.0 lacks it",
        matches: |_, _, r| r.starts_with(b"-ERR unknown subcommand 'SETINFO'"),
    },
    Known {
        command: "zrank",
        shape: "ZRANK key member <more arguments> (WITHSCORE)",
        why: "7.2's WITHSCORE makes ZRANK's arity -3; 7.0's is 3",
        matches: |a, _, r| a.len() > 3 && r.starts_with(b"-ERR wrong number of arguments"),
    },
    Known {
        command: "zrevrank",
        shape: "ZREVRANK key member <more arguments> (WITHSCORE)",
        why: "7.2's WITHSCORE makes ZREVRANK's arity -3; 7.0's is 3",
        matches: |a, _, r| a.len() > 3 && r.starts_with(b"-ERR wrong number of arguments"),
    },
];

/// The known mismatch (index into KNOWN_MISMATCHES) this one is, if any.
fn known_for(name: &str, args: &[Vec<u8>], busbar: &[u8], redis: &[u8]) -> Option<usize> {
    KNOWN_MISMATCHES
        .iter()
        .position(|k| k.command == name && (k.matches)(args, busbar, redis))
}

// ---------------------------------------------------------------------------------------------
// Settings

struct Settings {
    secs: u64,
    seed: u64,
    replay: Option<String>,
    huge: bool,
    rss_bytes_max: u64,
    bin: String,
}

impl Settings {
    fn from_env() -> Settings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let num = |name: &str, default: u64| {
            var(name).map_or(default, |v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
            })
        };
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Settings {
            secs: num("BUSBAR_FUZZ_SECS", 60),
            // A fixed default keeps CI repeatable; `random` draws one from the clock.
            seed: match var("BUSBAR_FUZZ_SEED").as_deref() {
                Some("random") => clock % 1_000_000_007,
                _ => num("BUSBAR_FUZZ_SEED", 1),
            },
            replay: var("BUSBAR_FUZZ_REPLAY"),
            huge: var("BUSBAR_FUZZ_HUGE").as_deref() != Some("0"),
            rss_bytes_max: num("BUSBAR_FUZZ_RSS_MB", 2048) << 20,
            bin: var("BUSBAR_FUZZ_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_busbar").into()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Connections

enum ReadErr {
    /// No complete reply within the wait; what was buffered.
    Timeout(Vec<u8>),
    /// The peer closed the connection.
    Closed,
    /// The reply grew past the cap.
    TooBig,
    /// The bytes do not start a RESP value.
    Garbage(Vec<u8>),
}

impl ReadErr {
    fn describe(&self) -> String {
        match self {
            ReadErr::Timeout(b) => format!("no reply (buffered: {})", clip(b)),
            ReadErr::Closed => "connection closed".into(),
            ReadErr::TooBig => "reply larger than the cap".into(),
            ReadErr::Garbage(b) => format!("not RESP: {}", clip(b)),
        }
    }
}

/// A raw RESP connection that never panics: every failure is a value to report.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(port: u16) -> Option<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_nodelay(true).ok()?;
        s.set_write_timeout(Some(REPLY_WAIT)).ok()?;
        Some(Conn { s, buf: Vec::new() })
    }

    fn send(&mut self, bytes: &[u8]) -> bool {
        self.s.write_all(bytes).is_ok()
    }

    /// Reads one whole reply within `wait`, up to `cap` bytes.
    fn reply(&mut self, wait: Duration, cap: usize) -> Result<Vec<u8>, ReadErr> {
        let deadline = Instant::now() + wait;
        let mut chunk = vec![0u8; 1 << 16];
        // Re-walking a large reply after every read would be quadratic: walk it again only
        // after a short read (the burst probably ended) or once the buffer doubled.
        let mut walked = 0usize;
        let mut short = true;
        loop {
            if !self.buf.is_empty() && (short || self.buf.len() >= 2 * walked) {
                if !b"+-:_,#($=!*~>%|".contains(&self.buf[0]) {
                    return Err(ReadErr::Garbage(std::mem::take(&mut self.buf)));
                }
                if let Some(n) = value_len(&self.buf) {
                    return Ok(self.buf.drain(..n).collect());
                }
                walked = self.buf.len();
            }
            if self.buf.len() > cap {
                return Err(ReadErr::TooBig);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ReadErr::Timeout(self.buf.clone()));
            }
            let _ = self.s.set_read_timeout(Some(left));
            match self.s.read(&mut chunk) {
                Ok(0) => return Err(ReadErr::Closed),
                Ok(n) => {
                    short = n < chunk.len();
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(ReadErr::Timeout(self.buf.clone()))
                }
                Err(_) => return Err(ReadErr::Closed),
            }
        }
    }

    fn call(&mut self, args: &Args, wait: Duration, cap: usize) -> Result<Vec<u8>, ReadErr> {
        if !self.send(&encode(args)) {
            return Err(ReadErr::Closed);
        }
        self.reply(wait, cap)
    }
}

fn encode(args: &Args) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// A reply shortened for a report.
fn clip(b: &[u8]) -> String {
    let s = show(&b[..b.len().min(160)]);
    if b.len() > 160 {
        format!("{s}... ({} bytes)", b.len())
    } else {
        s
    }
}

/// The text of an error reply (`-ERR ...` or RESP3 `!<len>`), or None for anything else.
fn error_text(reply: &[u8]) -> Option<String> {
    match reply.first() {
        Some(b'-') => {
            let end = reply
                .iter()
                .position(|&b| b == b'\r')
                .unwrap_or(reply.len());
            Some(String::from_utf8_lossy(&reply[1..end]).into_owned())
        }
        Some(b'!') => Resp::parse(reply)
            .and_then(|(r, _)| r.bytes().map(|b| String::from_utf8_lossy(b).into_owned())),
        _ => None,
    }
}

/// What is compared with the oracle: `ok`, or an error's first word (`ERR`, `WRONGTYPE` ...).
/// EXEC's reply is compared element by element, and its null (an aborted WATCH) apart.
fn kind(reply: &[u8], exec: bool) -> String {
    if let Some(text) = error_text(reply) {
        return text.split(' ').next().unwrap_or("").to_string();
    }
    if !exec {
        return "ok".into();
    }
    match Resp::parse(reply) {
        Some((r, _)) if r.is_null() => "nil".into(),
        Some((Resp::Agg(_, Some(items)), _)) => {
            let inner: Vec<String> = items.iter().map(|i| kind(&i.encode(), false)).collect();
            format!("ok[{}]", inner.join(","))
        }
        _ => "ok".into(),
    }
}

fn lower(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_lowercase()
}

/// `command` or `container|subcommand`, as COMMAND names them (a container with a
/// subcommand busbar does not have is the container).
fn command_name(args: &[Vec<u8>], names: &[String]) -> String {
    let top = args.first().map(|a| lower(a)).unwrap_or_default();
    match args.get(1) {
        Some(sub) if names.contains(&format!("{top}|{}", lower(sub))) => {
            format!("{top}|{}", lower(sub))
        }
        _ => top,
    }
}

fn rss_bytes(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Polls busbar's RSS every 20 ms and kills it (SIGKILL) past the ceiling, so one command
/// that allocates without bound fails the run instead of exhausting the machine before its
/// reply. The check after every command alone would come too late.
struct Watchdog {
    /// The RSS that tripped it, or 0.
    tripped: Arc<AtomicU64>,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Watchdog {
    fn start(pid: i32, ceiling: u64) -> Watchdog {
        let w = Watchdog {
            tripped: Arc::new(AtomicU64::new(0)),
            peak: Arc::new(AtomicU64::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (tripped, peak, stop) = (w.tripped.clone(), w.peak.clone(), w.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Some(rss) = rss_bytes(pid) else { return };
                peak.fetch_max(rss, Ordering::Relaxed);
                if rss > ceiling {
                    tripped.store(rss, Ordering::Relaxed);
                    let _ = std::process::Command::new("kill")
                        .args(["-9", &pid.to_string()])
                        .status();
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        w
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// The replay format: one command per line, each argument a double-quoted string with `\"`,
// `\\` and `\xHH` escapes, optionally followed by `*N` (repeated N times). `!pool` rebuilds
// the key pool, `!reconnect` reopens the main connections; `#` starts a comment line.

fn quote(a: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in a {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

fn encode_arg(a: &[u8]) -> String {
    if a.len() > 64 {
        for unit in 1..=8 {
            if a.len().is_multiple_of(unit) && a.chunks(unit).all(|c| c == &a[..unit]) {
                return format!("{}*{}", quote(&a[..unit]), a.len() / unit);
            }
        }
    }
    quote(a)
}

fn encode_line(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| encode_arg(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn decode_line(line: &str) -> Result<Args, String> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' {
            i += 1;
            continue;
        }
        if b[i] != b'"' {
            return Err(format!("expected '\"' at byte {i}"));
        }
        i += 1;
        let mut arg = Vec::new();
        loop {
            match b.get(i) {
                None => return Err("unterminated quote".into()),
                Some(b'"') => {
                    i += 1;
                    break;
                }
                Some(b'\\') => match b.get(i + 1) {
                    Some(b'x') => {
                        let hex = line.get(i + 2..i + 4).ok_or("short \\x escape")?;
                        arg.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
                        i += 4;
                    }
                    Some(&c) => {
                        arg.push(c);
                        i += 2;
                    }
                    None => return Err("dangling backslash".into()),
                },
                Some(&c) => {
                    arg.push(c);
                    i += 1;
                }
            }
        }
        if b.get(i) == Some(&b'*') {
            let end = b[i + 1..]
                .iter()
                .position(|&c| c == b' ')
                .map_or(b.len(), |p| i + 1 + p);
            let n: usize = line[i + 1..end].parse().map_err(|_| "bad repeat count")?;
            arg = arg.repeat(n);
            i = end;
        }
        out.push(arg);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The command table, as busbar reports it

/// One argument of COMMAND DOCS.
#[derive(Debug, Clone, Default)]
struct ArgDoc {
    name: String,
    kind: String,
    token: Option<Vec<u8>>,
    optional: bool,
    multiple: bool,
    multiple_token: bool,
    children: Vec<ArgDoc>,
}

/// One command or subcommand of busbar's table.
#[derive(Debug, Clone)]
struct Spec {
    /// `get`, or `config|get` for a subcommand.
    name: String,
    /// The words that name it on the wire: `GET`, or `CONFIG GET`.
    words: Args,
    /// Redis's convention, counting the name words: negative means "at least".
    arity: i64,
    first: i64,
    last: i64,
    step: i64,
    flags: Vec<String>,
    /// COMMAND DOCS `group` (`string`, `list`, `sorted-set` ...): which keys suit it.
    group: String,
    args: Vec<ArgDoc>,
    /// A container (CONFIG, CLIENT ...): generated with a random subcommand word.
    container: bool,
}

fn field<'a>(kv: &'a [Resp], key: &str) -> Option<&'a Resp> {
    kv.chunks(2)
        .find(|p| p[0].bytes() == Some(key.as_bytes()))
        .and_then(|p| p.get(1))
}

fn text(r: &Resp) -> String {
    String::from_utf8_lossy(r.bytes().unwrap_or_default()).into_owned()
}

fn int(r: &Resp) -> i64 {
    text(r).parse().unwrap_or(0)
}

fn arg_doc(kv: &[Resp]) -> ArgDoc {
    let flags: Vec<String> = field(kv, "flags")
        .map(|f| f.items().iter().map(text).collect())
        .unwrap_or_default();
    ArgDoc {
        name: field(kv, "name").map(text).unwrap_or_default(),
        kind: field(kv, "type").map(text).unwrap_or_default(),
        token: field(kv, "token")
            .and_then(|t| t.bytes())
            .map(|t| t.to_vec()),
        optional: flags.iter().any(|f| f == "optional"),
        multiple: flags.iter().any(|f| f == "multiple"),
        multiple_token: flags.iter().any(|f| f == "multiple_token"),
        children: field(kv, "arguments")
            .map(|a| a.items().iter().map(|c| arg_doc(c.items())).collect())
            .unwrap_or_default(),
    }
}

/// COMMAND DOCS of the server at `port`, by command (and `container|subcommand`) name.
fn load_docs(port: u16) -> BTreeMap<String, Vec<Resp>> {
    let mut c = Conn::open(port).expect("connect for COMMAND DOCS");
    let docs = Resp::from(
        &c.call(
            &words(&[b"COMMAND", b"DOCS"]),
            Duration::from_secs(30),
            REPLY_BYTES_MAX,
        )
        .unwrap_or_else(|e| panic!("COMMAND DOCS: {}", e.describe())),
    );
    let mut doc_of = BTreeMap::new();
    for pair in docs.items().chunks(2) {
        let kv = pair[1].items().to_vec();
        if let Some(subs) = field(&kv, "subcommands") {
            for sub in subs.items().chunks(2) {
                doc_of.insert(text(&sub[0]), sub[1].items().to_vec());
            }
        }
        doc_of.insert(text(&pair[0]), kv);
    }
    doc_of
}

/// Reads busbar's table: COMMAND for names, arity, flags and key positions; COMMAND DOCS
/// for the argument grammar and group. Where busbar has no docs for a command, the
/// oracle's (at `oracle`) stand in.
fn load_table(port: u16, oracle: Option<u16>) -> Vec<Spec> {
    let mut c = Conn::open(port).expect("connect for COMMAND");
    let table = Resp::from(
        &c.call(
            &words(&[b"COMMAND"]),
            Duration::from_secs(30),
            REPLY_BYTES_MAX,
        )
        .unwrap_or_else(|e| panic!("COMMAND: {}", e.describe())),
    );
    let mut doc_of = load_docs(port);
    doc_of.retain(|_, kv| field(kv, "arguments").is_some() || field(kv, "group").is_some());
    if let Some(oracle) = oracle {
        for (name, kv) in load_docs(oracle) {
            doc_of.entry(name).or_insert(kv);
        }
    }
    let mut specs = Vec::new();
    for entry in table.items() {
        let e = entry.items();
        let spec = |e: &[Resp], container: bool| {
            let name = text(&e[0]).to_ascii_lowercase();
            let doc = doc_of.get(&name).cloned().unwrap_or_default();
            Spec {
                words: name
                    .split('|')
                    .map(|w| w.to_ascii_uppercase().into_bytes())
                    .collect(),
                arity: int(&e[1]),
                flags: e[2].items().iter().map(text).collect(),
                first: int(&e[3]),
                last: int(&e[4]),
                step: int(&e[5]),
                group: field(&doc, "group").map(text).unwrap_or_default(),
                args: field(&doc, "arguments")
                    .map(|a| a.items().iter().map(|c| arg_doc(c.items())).collect())
                    .unwrap_or_default(),
                container,
                name,
            }
        };
        let subs = e.get(9).map(|s| s.items()).unwrap_or_default();
        specs.push(spec(e, !subs.is_empty()));
        for sub in subs {
            specs.push(spec(sub.items(), false));
        }
    }
    specs.retain(|s| !EXCLUDED.iter().any(|(n, _)| *n == s.name));
    specs
}

// ---------------------------------------------------------------------------------------------
// The key pool

/// Keys of every type and encoding, under three hash tags that live on three different
/// shards, plus a missing key per tag.
struct Pool {
    /// (type, key): `string`, `list`, `hash`, `set`, `zset`, `stream`, or `none`.
    keys: Vec<(&'static str, Vec<u8>)>,
    /// The commands that create it (after FLUSHALL).
    setup: Vec<Args>,
    tags: Vec<String>,
}

fn words(parts: &[&[u8]]) -> Args {
    parts.iter().map(|p| p.to_vec()).collect()
}

impl Pool {
    fn new() -> Pool {
        // Three tags on three different shards.
        let mut tags: Vec<String> = Vec::new();
        let mut taken = Vec::new();
        for t in (b'a'..=b'z').map(|c| format!("{{{}}}", c as char)) {
            let s = shard_of(t.as_bytes(), SHARDS);
            if !taken.contains(&s) {
                taken.push(s);
                tags.push(t);
            }
            if tags.len() == SHARDS {
                break;
            }
        }
        let mut keys = Vec::new();
        let mut setup = Vec::new();
        for tag in &tags {
            let k = |suffix: &str| format!("{tag}{suffix}").into_bytes();
            let mut add = |ty: &'static str, key: Vec<u8>, cmds: Vec<Args>| {
                keys.push((ty, key));
                setup.extend(cmds);
            };
            let numbers = |n: usize, prefix: &str| -> Args {
                (0..n)
                    .map(|i| format!("{prefix}{i}").into_bytes())
                    .collect()
            };
            let with = |head: &[&[u8]], tail: Args| -> Args {
                let mut v = words(head);
                v.extend(tail);
                v
            };
            let key = k("str:int");
            add(
                "string",
                key.clone(),
                vec![words(&[b"SET", &key, b"12345"])],
            );
            let key = k("str:emb");
            add(
                "string",
                key.clone(),
                vec![words(&[b"SET", &key, b"hello"])],
            );
            let key = k("str:raw");
            add(
                "string",
                key.clone(),
                vec![words(&[b"SET", &key, &[b'r'; 60]])],
            );
            let key = k("str:float");
            add("string", key.clone(), vec![words(&[b"SET", &key, b"3.5"])]);
            let key = k("str:max");
            add(
                "string",
                key.clone(),
                vec![words(&[b"SET", &key, b"9223372036854775807"])],
            );
            let key = k("str:ttl");
            add(
                "string",
                key.clone(),
                vec![words(&[b"SET", &key, b"v", b"PX", b"100000000"])],
            );
            // A long key name, for glob matching (KEYS, SCAN MATCH) against long input.
            let key = [tag.as_bytes(), &[b'a'; 2000]].concat();
            add("string", key.clone(), vec![words(&[b"SET", &key, b"long"])]);
            let key = k("list:small");
            add(
                "list",
                key.clone(),
                vec![words(&[b"RPUSH", &key, b"1", b"2", b"3", b"a", b"b"])],
            );
            let key = k("list:large");
            add(
                "list",
                key.clone(),
                vec![with(&[b"RPUSH", &key], numbers(300, ""))],
            );
            let key = k("hash:small");
            add(
                "hash",
                key.clone(),
                vec![words(&[
                    b"HSET", &key, b"f1", b"1", b"f2", b"2.5", b"f3", b"v",
                ])],
            );
            let key = k("hash:large");
            let mut fv = Vec::new();
            for i in 0..600 {
                fv.push(format!("f{i}").into_bytes());
                fv.push(i.to_string().into_bytes());
            }
            add("hash", key.clone(), vec![with(&[b"HSET", &key], fv)]);
            let key = k("set:int");
            add(
                "set",
                key.clone(),
                vec![words(&[b"SADD", &key, b"1", b"2", b"3"])],
            );
            let key = k("set:str");
            add(
                "set",
                key.clone(),
                vec![words(&[b"SADD", &key, b"a", b"b", b"c"])],
            );
            let key = k("set:large");
            add(
                "set",
                key.clone(),
                vec![with(&[b"SADD", &key], numbers(600, ""))],
            );
            let key = k("zset:small");
            add(
                "zset",
                key.clone(),
                vec![words(&[b"ZADD", &key, b"1", b"a", b"2", b"b", b"3", b"c"])],
            );
            let key = k("zset:large");
            let mut sm = Vec::new();
            for i in 0..200 {
                sm.push(i.to_string().into_bytes());
                sm.push(format!("m{i}").into_bytes());
            }
            add("zset", key.clone(), vec![with(&[b"ZADD", &key], sm)]);
            let key = k("zset:lex");
            add(
                "zset",
                key.clone(),
                vec![words(&[
                    b"ZADD", &key, b"0", b"a", b"0", b"b", b"0", b"c", b"0", b"d",
                ])],
            );
            let key = k("stream");
            add(
                "stream",
                key.clone(),
                vec![
                    words(&[b"XADD", &key, b"1-1", b"f", b"v"]),
                    words(&[b"XADD", &key, b"2-1", b"f", b"v", b"g", b"w"]),
                    words(&[b"XADD", &key, b"3-5", b"a", b"1"]),
                ],
            );
            add("none", k("missing"), vec![]);
        }
        Pool { keys, setup, tags }
    }
}

// ---------------------------------------------------------------------------------------------
// Values

/// The hostile value lists, built once.
struct Values {
    ints: Args,
    floats: Args,
    tokens: Args,
    strings: Args,
}

fn strs(v: &[&str]) -> Args {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

impl Values {
    fn new() -> Values {
        let mut ints = strs(&[
            "0",
            "-0",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999",
            "2147483647",
            "-2147483648",
            "4294967295",
            "007",
            "+1",
            " 1",
            "1 ",
        ]);
        for k in 0..=64u32 {
            let p = 1i128 << k;
            for v in [p, p - 1, p + 1] {
                ints.push(v.to_string().into_bytes());
                ints.push((-v).to_string().into_bytes());
            }
        }
        let floats = strs(&[
            "inf",
            "-inf",
            "+inf",
            "Infinity",
            "-Infinity",
            "nan",
            "-nan",
            "NaN",
            "1e400",
            "-1e400",
            "1e-400",
            "-1e-400",
            "1e308",
            "-1e308",
            "1.7976931348623157e308",
            "4.9e-324",
            "-0",
            "-0.0",
            "0.0",
            "1.5",
            "-2.5",
            "0x10",
            "0x1p-3",
            "1.",
            ".5",
            "1e",
            "e1",
            "1e+",
            "3.14159265358979323846264338327950288",
            "(1.5",
            "(inf",
            "(-inf",
            "[1",
        ]);
        let tokens = strs(&[
            "WITHSCORES",
            "WITHVALUES",
            "LIMIT",
            "COUNT",
            "BY",
            "REV",
            "BYSCORE",
            "BYLEX",
            "MAXLEN",
            "MINID",
            "~",
            "=",
            "*",
            "$",
            ">",
            "+",
            "-",
            "(",
            "[",
            "NX",
            "XX",
            "GT",
            "LT",
            "CH",
            "INCR",
            "KEEPTTL",
            "EX",
            "PX",
            "EXAT",
            "PXAT",
            "PERSIST",
            "GET",
            "LEFT",
            "RIGHT",
            "BEFORE",
            "AFTER",
            "MATCH",
            "TYPE",
            "WEIGHTS",
            "AGGREGATE",
            "SUM",
            "MIN",
            "MAX",
            "STREAMS",
            "BLOCK",
            "NOACK",
            "NOMKSTREAM",
            "RANK",
            "ASYNC",
            "SYNC",
            "ID",
            "LEN",
            "IDX",
            "MINMATCHLEN",
            "WITHMATCHLEN",
            "AUTH",
            "SETNAME",
            "REPLACE",
            "DB",
            "ABSTTL",
            "IDLETIME",
            "FREQ",
            "HELP",
            "string",
            "list",
            "hash",
            "set",
            "zset",
            "stream",
            "none",
            "withscores",
        ]);
        let mut strings = strs(&[
            "",
            " ",
            "\0",
            "a\r\nb",
            "\r\n",
            "\r",
            "\n",
            "*1\r\n$4\r\nPING\r\n",
            "\u{e4}",
            "\u{1F600}",
            "{",
            "}",
            "{}",
            "{a}",
            "\\",
            "\"",
            "'",
            "%s%n",
        ]);
        strings.push(vec![0xff, 0xfe, 0x00, 0x80]);
        strings.push(vec![b'x'; 100 * 1024]);
        strings.push(vec![0u8; 100 * 1024]);
        strings.push(vec![b'1'; 100 * 1024]);
        let mut stars = b"a*".repeat(60);
        stars.push(b'b');
        strings.push(stars);
        strings.push(vec![b'*'; 1000]);
        Values {
            ints,
            floats,
            tokens,
            strings,
        }
    }
}

/// Plain values that make a command do its real work rather than fail its syntax.
const MEMBERS: &[&str] = &[
    "a", "b", "c", "d", "1", "2", "3", "m1", "m7", "f1", "f2", "f3", "v", "x", "hello", "-1", "0",
];
const RANGES: &[&str] = &[
    "-inf", "+inf", "(1", "(2.5", "[a", "(a", "[c", "-", "+", "0", "1", "2", "-1", "10", "-10",
    "3.5",
];
const STREAM_IDS: &[&str] = &[
    "*",
    "$",
    ">",
    "+",
    "-",
    "0",
    "0-0",
    "0-1",
    "1-1",
    "2-1",
    "3-5",
    "3-6",
    "4",
    "1-*",
    "5-*",
    "(1-1",
    "(3-5",
    "18446744073709551615-18446744073709551615",
    "18446744073709551615-*",
    "18446744073709551615",
    "1-18446744073709551615",
    "-1",
    "1-",
    "-1-1",
];
const PATTERNS: &[&str] = &[
    "*", "?", "*a*", "*:*", "[a-c]*", "[^a]*", "\\*", "[", "[a-", "*str*", "{a}*", "h?llo", "*[",
    "[]", "[\\]]",
];
const TYPES: &[&str] = &[
    "string", "list", "hash", "set", "zset", "stream", "none", "STRING",
];

// ---------------------------------------------------------------------------------------------
// The generator

struct Gen {
    rng: StdRng,
    v: Values,
    pool_keys: Vec<(&'static str, Vec<u8>)>,
    tags: Vec<String>,
    config_params: Vec<String>,
    huge: bool,
    /// Per command: the tag its keys prefer (same-shard combinations) and the key type its
    /// group works on.
    tag: usize,
    key_type: &'static str,
}

fn s(v: &str) -> Vec<u8> {
    v.as_bytes().to_vec()
}

impl Gen {
    fn pick(&mut self, v: &[&str]) -> Vec<u8> {
        s(v.choose(&mut self.rng).unwrap())
    }

    fn pick_owned(&mut self, which: fn(&Values) -> &Args) -> Vec<u8> {
        which(&self.v).choose(&mut self.rng).unwrap().clone()
    }

    fn key(&mut self) -> Vec<u8> {
        let r = self.rng.gen_range(0..100);
        if r < 7 {
            return self.hostile();
        }
        if r < 15 {
            let tag = self.tags.choose(&mut self.rng).unwrap().clone();
            return format!("{tag}missing").into_bytes();
        }
        let tag = if self.rng.gen_bool(0.5) {
            self.tags[self.tag].clone()
        } else {
            self.tags.choose(&mut self.rng).unwrap().clone()
        };
        let want = self.key_type;
        let typed = self.rng.gen_bool(0.6);
        let candidates: Vec<&Vec<u8>> = self
            .pool_keys
            .iter()
            .filter(|(ty, k)| k.starts_with(tag.as_bytes()) && (!typed || *ty == want))
            .map(|(_, k)| k)
            .collect();
        match candidates.choose(&mut self.rng) {
            Some(k) => (*k).clone(),
            None => self.pool_keys.choose(&mut self.rng).unwrap().1.clone(),
        }
    }

    fn random_bytes(&mut self) -> Vec<u8> {
        let n = self.rng.gen_range(0..40);
        (0..n).map(|_| self.rng.gen()).collect()
    }

    /// Anything at all.
    fn hostile(&mut self) -> Vec<u8> {
        match self.rng.gen_range(0..100) {
            0..=29 => self.pick_owned(|v| &v.ints),
            30..=44 => self.pick_owned(|v| &v.floats),
            45..=64 => self.pick_owned(|v| &v.tokens),
            65..=79 => self.pick_owned(|v| &v.strings),
            80..=89 => self.random_bytes(),
            _ => self.pool_keys.choose(&mut self.rng).unwrap().1.clone(),
        }
    }

    fn small_int(&mut self) -> Vec<u8> {
        let v = match self.rng.gen_range(0..10) {
            0 => *[100, 300, 1000, 600, 128, 129, 512, 513]
                .choose(&mut self.rng)
                .unwrap(),
            _ => self.rng.gen_range(-3..=10),
        };
        v.to_string().into_bytes()
    }

    /// A value for a documented argument of type `kind` named `name`.
    fn value(&mut self, kind: &str, name: &str, group: &str) -> Vec<u8> {
        if self.rng.gen_bool(0.2) {
            return self.hostile();
        }
        match kind {
            "integer" => {
                if self.rng.gen_bool(0.7) {
                    self.small_int()
                } else {
                    self.pick_owned(|v| &v.ints)
                }
            }
            "double" => match self.rng.gen_range(0..3) {
                0 => self.small_int(),
                1 => self.pick(&["1.5", "-2.5", "0", "inf", "-inf", "+inf", "3.5", "1e3"]),
                _ => self.pick_owned(|v| &v.floats),
            },
            "pattern" => self.pick(PATTERNS),
            "unix-time" => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64;
                match self.rng.gen_range(0..4) {
                    0 => (now + self.rng.gen_range(-5..100_000))
                        .to_string()
                        .into_bytes(),
                    1 => ((now + 100) * 1000).to_string().into_bytes(),
                    2 => self.small_int(),
                    _ => self.pick_owned(|v| &v.ints),
                }
            }
            _ => {
                let n = name.to_ascii_lowercase();
                if group == "stream" && (n.contains("id") || n == "start" || n == "end") {
                    self.pick(STREAM_IDS)
                } else if ["min", "max", "start", "stop", "end"].contains(&n.as_str()) {
                    self.pick(RANGES)
                } else if n == "type" {
                    self.pick(TYPES)
                } else if n == "parameter" && !self.config_params.is_empty() {
                    s(self.config_params.choose(&mut self.rng).unwrap())
                } else if n == "pattern" {
                    self.pick(PATTERNS)
                } else {
                    self.pick(MEMBERS)
                }
            }
        }
    }

    /// Generates one documented argument (and its token); returns how many times it repeated.
    fn walk(
        &mut self,
        spec: &Spec,
        a: &ArgDoc,
        out: &mut Args,
        forced: bool,
        reps: Option<usize>,
    ) -> usize {
        if a.optional && !forced && self.rng.gen_bool(0.5) {
            return 0;
        }
        let reps = match (a.multiple, reps) {
            (false, _) => 1,
            (true, Some(n)) if self.rng.gen_bool(0.8) => n,
            (true, _) => self.rng.gen_range(1..=3),
        };
        for i in 0..reps {
            if let Some(t) = &a.token {
                if i == 0 || a.multiple_token {
                    out.push(t.clone());
                }
            }
            match a.kind.as_str() {
                "pure-token" => {}
                "oneof" => {
                    if let Some(c) = a.children.choose(&mut self.rng) {
                        self.walk(spec, c, out, true, None);
                    }
                }
                "block" => self.walk_all(spec, &a.children, out),
                "key" => out.push(self.key()),
                kind => out.push(self.value(kind, &a.name, &spec.group)),
            }
        }
        reps
    }

    /// Generates a sequence of documented arguments. A `numkeys` is, mostly, the number of
    /// keys that follow it, and a repeated argument after a repeated one (XREAD's IDs after
    /// its keys) repeats as often.
    fn walk_all(&mut self, spec: &Spec, args: &[ArgDoc], out: &mut Args) {
        let mut numkeys_at = None;
        let mut last_reps = None;
        for a in args {
            let before = out.len();
            let reps = self.walk(spec, a, out, false, last_reps);
            if a.multiple && reps > 0 {
                last_reps = Some(reps);
            }
            if a.name == "numkeys" && out.len() > before {
                numkeys_at = Some(out.len() - 1);
            } else if a.kind == "key" && a.multiple {
                if let Some(at) = numkeys_at.take() {
                    if self.rng.gen_bool(0.8) {
                        out[at] = reps.to_string().into_bytes();
                    }
                }
            }
        }
    }

    /// A command shaped by its docs, sometimes mutated.
    fn by_docs(&mut self, spec: &Spec) -> Args {
        let mut out = spec.words.clone();
        self.walk_all(spec, &spec.args, &mut out);
        if self.rng.gen_bool(0.3) {
            self.mutate(&mut out, spec.words.len());
        }
        out
    }

    /// A command shaped only by its arity and key positions.
    fn by_arity(&mut self, spec: &Spec) -> Args {
        let min = spec.arity.unsigned_abs() as usize;
        let argc = match self.rng.gen_range(0..20) {
            0 => min.saturating_sub(1).max(spec.words.len()),
            _ if spec.arity > 0 && self.rng.gen_bool(0.6) => min,
            _ => min + self.rng.gen_range(0..=4),
        };
        let mut out = spec.words.clone();
        let last = if spec.last < 0 {
            argc as i64 + spec.last
        } else {
            spec.last
        };
        for pos in out.len()..argc {
            let p = pos as i64;
            let is_key = spec.first > 0
                && p >= spec.first
                && p <= last
                && (p - spec.first) % spec.step.max(1) == 0;
            let v = if is_key {
                self.key()
            } else if self.rng.gen_bool(0.35) {
                let group = spec.group.clone();
                self.value("string", "", &group)
            } else {
                self.hostile()
            };
            out.push(v);
        }
        out
    }

    fn mutate(&mut self, args: &mut Args, fixed: usize) {
        for _ in 0..self.rng.gen_range(1..=2) {
            if args.len() <= fixed {
                let v = self.hostile();
                args.push(v);
                continue;
            }
            let i = self.rng.gen_range(fixed..args.len());
            match self.rng.gen_range(0..5) {
                0 | 1 => args[i] = self.hostile(),
                2 => {
                    args.remove(i);
                }
                3 => {
                    let v = args[i].clone();
                    args.insert(i, v);
                }
                _ => {
                    let t = self.pick_owned(|v| &v.tokens);
                    args.insert(i, t);
                }
            }
        }
    }

    /// A huge-category command: a count or offset that makes a server build something huge.
    fn huge_command(&mut self) -> Args {
        let count = || {
            [
                -(1i64 << 31),
                -(1i64 << 40),
                -(1i64 << 62),
                -((1i64 << 62) + 1),
                -i64::MAX,
                i64::MIN,
                -1_000_000,
                RANDOM_COUNT_MIN - 1,
            ]
        };
        let n = count()
            .choose(&mut self.rng)
            .unwrap()
            .to_string()
            .into_bytes();
        self.key_type = *["hash", "set", "zset", "string"]
            .choose(&mut self.rng)
            .unwrap();
        let key = self.key();
        match self.rng.gen_range(0..4) {
            0 => {
                let mut v = words(&[b"HRANDFIELD", &key, &n]);
                if self.rng.gen_bool(0.5) {
                    v.push(s("WITHVALUES"));
                }
                v
            }
            1 => words(&[b"SRANDMEMBER", &key, &n]),
            2 => {
                let mut v = words(&[b"ZRANDMEMBER", &key, &n]);
                if self.rng.gen_bool(0.5) {
                    v.push(s("WITHSCORES"));
                }
                v
            }
            _ => {
                let off = self.rng.gen_range(SETRANGE_END_MAX..512 << 20);
                words(&[b"SETRANGE", &key, off.to_string().as_bytes(), b"x"])
            }
        }
    }

    /// The next command to send, already made safe to send (see `sanitize`).
    fn command(&mut self, specs: &[Spec]) -> Args {
        loop {
            if self.huge && self.rng.gen_bool(0.02) {
                return self.huge_command();
            }
            let spec = specs.choose(&mut self.rng).unwrap();
            self.tag = self.rng.gen_range(0..self.tags.len());
            self.key_type = match spec.group.as_str() {
                "string" => "string",
                "list" => "list",
                "hash" => "hash",
                "set" => "set",
                "sorted-set" => "zset",
                "stream" => "stream",
                _ => *["string", "list", "hash", "set", "zset", "stream"]
                    .choose(&mut self.rng)
                    .unwrap(),
            };
            let mut args = if spec.container {
                let mut v = spec.words.clone();
                v.push(self.hostile());
                for _ in 0..self.rng.gen_range(0..3) {
                    let x = self.hostile();
                    v.push(x);
                }
                v
            } else if !spec.args.is_empty() && self.rng.gen_bool(0.6) {
                self.by_docs(spec)
            } else {
                self.by_arity(spec)
            };
            if self.sanitize(spec, &mut args) {
                return args;
            }
        }
    }

    /// Makes a command safe for the harness; false drops it.
    fn sanitize(&mut self, spec: &Spec, args: &mut Args) -> bool {
        if spec.container && args.len() > 1 {
            let name = format!("{}|{}", spec.name, lower(&args[1]));
            if EXCLUDED.iter().any(|(n, _)| *n == name) {
                return false;
            }
        }
        if spec.name == "config|set" {
            for i in (2..args.len()).step_by(2) {
                if !CONFIG_SET_ALLOWED.contains(&lower(&args[i]).as_str()) {
                    args[i] = s(CONFIG_SET_ALLOWED.choose(&mut self.rng).unwrap());
                }
            }
        }
        if spec.flags.iter().any(|f| f == "blocking") {
            tame_timeouts(spec, args);
        }
        self.huge || huge_input(args).is_none()
    }
}

/// A blocking command's timeout that would make it wait (any non-negative seconds value, or
/// non-negative milliseconds after BLOCK) becomes 10 ms; values Redis refuses stay, so the
/// parsing of timeouts is fuzzed too. A busbar that accepts one of those and blocks shows as
/// a command without a reply.
fn tame_timeouts(spec: &Spec, args: &mut Args) {
    let first = spec.words.len();
    let at = match (spec.args.first(), spec.args.last()) {
        _ if args.len() <= first => None,
        (Some(a), _) if a.name == "timeout" => Some(first),
        (_, Some(a)) if a.name == "timeout" => Some(args.len() - 1),
        // Without docs: BLMPOP and BZMPOP lead with the timeout, the others end with it.
        (None, _) if spec.name.ends_with("mpop") => Some(first),
        (None, _) if spec.name != "xread" => Some(args.len() - 1),
        _ => None,
    };
    if let Some(i) = at {
        if waits_seconds(&args[i]) {
            args[i] = s("0.01");
        }
    }
    for i in first..args.len().saturating_sub(1) {
        if lower(&args[i]) == "block" && parse_i64(&args[i + 1]).is_some_and(|ms| ms >= 0) {
            args[i + 1] = s("10");
        }
    }
}

/// Whether Redis would take `v` as a timeout in seconds that blocks (strtold semantics: hex
/// floats count; zero, negative zero and underflow mean "forever").
fn waits_seconds(v: &[u8]) -> bool {
    let t = lower(v);
    let unsigned = t.trim_start_matches(['+', '-']);
    if unsigned.starts_with("0x") {
        return true;
    }
    match t.parse::<f64>() {
        // Past ~9.2e15 s, Redis's millisecond conversion overflows and it says "negative".
        Ok(x) => (0.0..9.2e15).contains(&x),
        Err(_) => false,
    }
}

/// Why Redis itself must not get this command (it would build a reply or a string of
/// gigabytes), or None. These are the huge category, sent to busbar only.
fn huge_input(args: &[Vec<u8>]) -> Option<&'static str> {
    let name = lower(args.first()?);
    match name.as_str() {
        "hrandfield" | "srandmember" | "zrandmember" => {
            let n = parse_i64(args.get(2)?)?;
            (n < RANDOM_COUNT_MIN).then_some("a huge negative count: that many random picks")
        }
        "setrange" if args.len() == 4 => {
            let off = parse_i64(&args[2])?;
            let end = off.checked_add(args[3].len() as i64)?;
            (!args[3].is_empty() && off >= 0 && end > SETRANGE_END_MAX && off < 512 << 20)
                .then_some("an offset that makes the string that long")
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The runner

/// Busbar's and redis's replies to one command.
type Replies = (Vec<u8>, Vec<u8>);

/// Why the run stops at once.
struct Failure(String);

/// One command's outcome on both servers.
struct Outcome {
    busbar: Result<Vec<u8>, String>,
    redis: Option<Result<Vec<u8>, String>>,
}

impl Outcome {
    fn kinds(&self, exec: bool) -> (String, Option<String>) {
        let k = |r: &Result<Vec<u8>, String>| match r {
            Ok(b) => kind(b, exec),
            Err(e) => format!("<{e}>"),
        };
        (k(&self.busbar), self.redis.as_ref().map(k))
    }
}

/// A reply-kind mismatch, reduced to what reproduces it.
#[derive(Clone)]
struct Mismatch {
    /// The commands after a fresh pool that end in the mismatching one.
    commands: Vec<Args>,
    busbar: Vec<u8>,
    redis: Vec<u8>,
    /// `known`, `reproducible` (the last command alone on a fresh pool), `sequence`,
    /// `flaky` (did not come back), or `unanswered`.
    how: &'static str,
    known: Option<usize>,
}

#[derive(Default)]
struct Stats {
    commands: u64,
    per_command: BTreeMap<String, (u64, u64)>,
    /// Fingerprint (command, busbar kind, redis kind) -> count and the first examples.
    mismatches: BTreeMap<(String, String, String), (u64, Vec<Mismatch>)>,
    /// (command, busbar's error, redis's error) -> count: both failed, with other words.
    texts: BTreeMap<(String, String, String), (u64, Args)>,
    busbar_blocked: u64,
    huge_sent: u64,
    huge_dropped: u64,
    oracle_restarts: u64,
    oracle_skipped: u64,
    rss_max: u64,
}

struct Runner {
    settings: Settings,
    /// Every command and subcommand name of the table.
    names: Vec<String>,
    busbar: Proc,
    redis: Option<Proc>,
    bb: Conn,
    rs: Option<Conn>,
    health: Conn,
    watchdog: Watchdog,
    pool: Pool,
    /// CONFIG SET commands restoring each server's encoding thresholds.
    config_reset: (Vec<Args>, Vec<Args>),
    log: VecDeque<String>,
    /// Commands since the last pool rebuild.
    segment: Vec<Args>,
    /// While the main connections are in MULTI: the commands both servers queued.
    queued: Option<Vec<Args>>,
    stats: Stats,
}

fn connect(p: &Proc) -> Conn {
    Conn::open(p.port).unwrap_or_else(|| panic!("connect to port {}", p.port))
}

impl Runner {
    fn start(settings: Settings) -> Runner {
        let log = std::path::PathBuf::from(format!(
            "{}/fuzz-{}-busbar.log",
            env!("CARGO_TARGET_TMPDIR"),
            settings.seed
        ));
        let busbar = busbar_logged(
            &settings.bin,
            &["--threads", &SHARDS.to_string()],
            Some(&log),
        );
        let redis = redis_server(&[]);
        let bb = connect(&busbar);
        let health = connect(&busbar);
        let rs = redis.as_ref().map(connect);
        let watchdog = Watchdog::start(busbar.pid(), settings.rss_bytes_max);
        let mut r = Runner {
            settings,
            names: Vec::new(),
            busbar,
            redis,
            bb,
            rs,
            health,
            watchdog,
            pool: Pool::new(),
            config_reset: (Vec::new(), Vec::new()),
            log: VecDeque::new(),
            segment: Vec::new(),
            queued: None,
            stats: Stats::default(),
        };
        r.config_reset = r.read_config();
        r
    }

    /// The encoding thresholds both servers have, as CONFIG SET commands that restore them.
    fn read_config(&mut self) -> (Vec<Args>, Vec<Args>) {
        let get = |c: &mut Conn, p: &str| -> Option<Vec<u8>> {
            let reply = c
                .call(
                    &words(&[b"CONFIG", b"GET", p.as_bytes()]),
                    REPLY_WAIT,
                    1 << 20,
                )
                .ok()?;
            Resp::from(&reply)
                .items()
                .get(1)?
                .bytes()
                .map(|b| b.to_vec())
        };
        let (mut bb, mut rs) = (Vec::new(), Vec::new());
        for p in CONFIG_SET_ALLOWED {
            let b = get(&mut self.bb, p);
            let r = match self.rs.as_mut() {
                Some(c) => get(c, p),
                None => b.clone(),
            };
            if let (Some(b), Some(r)) = (b, r) {
                bb.push(words(&[b"CONFIG", b"SET", p.as_bytes(), &b]));
                rs.push(words(&[b"CONFIG", b"SET", p.as_bytes(), &r]));
            }
        }
        (bb, rs)
    }

    fn note(&mut self, line: String) {
        if self.log.len() == LOG_LINES_MAX {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// Writes the log as a replay file and returns its path.
    fn dump(&self, what: &str) -> String {
        let path = format!(
            "{}/fuzz-{}-{what}.replay",
            env!("CARGO_TARGET_TMPDIR"),
            self.settings.seed
        );
        let mut text = format!(
            "# busbar fuzz, seed {}: the last {} commands\n",
            self.settings.seed,
            self.log.len()
        );
        for l in &self.log {
            text.push_str(l);
            text.push('\n');
        }
        let _ = std::fs::write(&path, text);
        path
    }

    /// Crash, hang and memory checks after a command.
    fn health(&mut self) -> Result<(), Failure> {
        let tripped = self.watchdog.tripped.load(Ordering::Relaxed);
        if tripped > 0 {
            return Err(Failure(format!(
                "busbar's RSS reached {} MiB, over the {} MiB ceiling (killed)",
                tripped >> 20,
                self.settings.rss_bytes_max >> 20
            )));
        }
        if let Ok(Some(status)) = self.busbar.child.try_wait() {
            return Err(self.exited(status));
        }
        match self.health.call(&vec![s("PING")], PING_WAIT, 1 << 20) {
            Ok(r) if r == b"+PONG\r\n" => {}
            Ok(r) => return Err(Failure(format!("PING answered {}", clip(&r)))),
            Err(e) => {
                std::thread::sleep(Duration::from_millis(200));
                if self.watchdog.tripped.load(Ordering::Relaxed) > 0 {
                    return self.health();
                }
                if let Ok(Some(status)) = self.busbar.child.try_wait() {
                    return Err(self.exited(status));
                }
                return Err(Failure(format!(
                    "busbar did not answer PING within {PING_WAIT:?}: {}",
                    e.describe()
                )));
            }
        }
        let rss = rss_bytes(self.busbar.pid()).unwrap_or(0);
        self.stats.rss_max = self.stats.rss_max.max(rss);
        if rss > self.settings.rss_bytes_max {
            return Err(Failure(format!(
                "busbar's RSS is {} MiB, over the {} MiB ceiling",
                rss >> 20,
                self.settings.rss_bytes_max >> 20
            )));
        }
        Ok(())
    }

    /// Busbar is gone: its exit and the end of its log (a clean exit 0 is a shutdown, by
    /// SHUTDOWN or a signal from outside; a panic shows as SIGABRT).
    fn exited(&self, status: std::process::ExitStatus) -> Failure {
        let path = format!(
            "{}/fuzz-{}-busbar.log",
            env!("CARGO_TARGET_TMPDIR"),
            self.settings.seed
        );
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(8).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Failure(format!(
            "busbar exited: {status}; the end of its log ({path}):\n  {}",
            tail.join("\n  ")
        ))
    }

    /// Reopens the main connections (after a close or an unanswered command): their state
    /// (MULTI, SELECT, HELLO) is gone on both sides alike.
    fn reconnect(&mut self) -> Result<(), Failure> {
        self.note("!reconnect".into());
        self.queued = None;
        self.bb = Conn::open(self.busbar.port)
            .ok_or_else(|| Failure("busbar refuses connections".into()))?;
        self.reconnect_redis();
        Ok(())
    }

    fn reconnect_redis(&mut self) {
        if let Some(p) = self.redis.as_mut() {
            let alive = matches!(p.child.try_wait(), Ok(None));
            match (alive, Conn::open(p.port)) {
                (true, Some(c)) => self.rs = Some(c),
                _ => {
                    // The oracle itself fell over: an input that belongs on the huge list.
                    eprintln!("fuzz: redis-server died or stopped answering; restarting it");
                    self.stats.oracle_restarts += 1;
                    drop(self.redis.take());
                    self.redis = redis_server(&[]);
                    self.rs = self.redis.as_ref().map(connect);
                }
            }
        }
    }

    /// FLUSHALL, restore the encoding thresholds and recreate the key pool, on both.
    fn rebuild(&mut self) -> Result<(), Failure> {
        self.note("!pool".into());
        self.segment.clear();
        self.queued = None;
        let mut script = vec![vec![s("RESET")], vec![s("FLUSHALL")]];
        let setup = self.pool.setup.clone();
        let (bb_cfg, rs_cfg) = self.config_reset.clone();
        for (conn, cfg, who) in [
            (Some(&mut self.bb), bb_cfg, "busbar"),
            (self.rs.as_mut(), rs_cfg, "redis"),
        ] {
            let Some(conn) = conn else { continue };
            script.truncate(2);
            script.extend(cfg);
            script.extend(setup.iter().cloned());
            let mut bytes = Vec::new();
            for c in &script {
                bytes.extend(encode(c));
            }
            if !conn.send(&bytes) {
                return Err(Failure(format!(
                    "{who}: the pool rebuild could not be sent"
                )));
            }
            for c in &script {
                match conn.reply(REPLY_WAIT, REPLY_BYTES_MAX) {
                    Ok(r) if error_text(&r).is_none() => {}
                    Ok(r) => {
                        return Err(Failure(format!(
                            "{who}: pool command {} failed: {}",
                            clip(encode_line(c).as_bytes()),
                            clip(&r)
                        )))
                    }
                    Err(e) => {
                        return Err(Failure(format!(
                            "{who}: pool command {}: {}",
                            clip(encode_line(c).as_bytes()),
                            e.describe()
                        )))
                    }
                }
            }
        }
        self.health()
    }

    /// Sends one command to busbar (and the oracle), then checks busbar's health.
    fn step(&mut self, args: &Args) -> Result<Outcome, Failure> {
        self.note(encode_line(args));
        self.segment.push(args.clone());
        self.stats.commands += 1;
        let name = lower(&args[0]);
        let huge = huge_input(args).is_some();
        let fresh = huge || FRESH_CONNECTION.contains(&name.as_str());
        let cap = if huge {
            HUGE_REPLY_BYTES_MAX
        } else {
            REPLY_BYTES_MAX
        };
        let wait = if huge {
            Duration::from_secs(10)
        } else {
            REPLY_WAIT
        };
        let mut lost_main = false;
        let busbar = if fresh {
            let mut c = Conn::open(self.busbar.port)
                .ok_or_else(|| Failure("busbar refuses connections".into()))?;
            c.call(args, wait, cap)
        } else {
            let r = self.bb.call(args, wait, cap);
            lost_main = r.is_err();
            r
        };
        let busbar = busbar.map_err(|e| {
            match e {
                ReadErr::TooBig if huge => self.stats.huge_dropped += 1,
                ReadErr::Timeout(_) => self.stats.busbar_blocked += 1,
                _ => {}
            }
            e.describe()
        });
        if huge {
            self.stats.huge_sent += 1;
        }
        self.health()?;
        let redis = if huge {
            self.stats.oracle_skipped += 1;
            None
        } else if let Some(rs) = self.rs.as_mut() {
            let r = if fresh {
                Conn::open(self.redis.as_ref().unwrap().port)
                    .ok_or(ReadErr::Closed)
                    .and_then(|mut c| c.call(args, REPLY_WAIT, REPLY_BYTES_MAX))
            } else {
                rs.call(args, REPLY_WAIT, REPLY_BYTES_MAX)
            };
            if r.is_err() {
                lost_main |= !fresh;
                if matches!(r, Err(ReadErr::Timeout(_))) {
                    eprintln!(
                        "fuzz: redis-server gave no reply to {}",
                        clip(encode_line(args).as_bytes())
                    );
                }
            }
            Some(r.map_err(|e| e.describe()))
        } else {
            None
        };
        if huge && name == "setrange" {
            // The oracle never saw it: drop the key on both so they agree again, and so a few
            // of these do not add up to the memory ceiling.
            let del = words(&[b"DEL", &args[1]]);
            for port in [Some(self.busbar.port), self.redis.as_ref().map(|p| p.port)]
                .into_iter()
                .flatten()
            {
                if let Some(mut c) = Conn::open(port) {
                    let _ = c.call(&del, REPLY_WAIT, 1 << 20);
                }
            }
        }
        if lost_main {
            self.reconnect()?;
            self.rebuild()?;
        }
        Ok(Outcome { busbar, redis })
    }

    /// Runs a command and handles a mismatch with the oracle. `investigate` is off while a
    /// mismatch is being reproduced.
    fn run(&mut self, args: &Args) -> Result<(), Failure> {
        let name = command_name(args, &self.names);
        let out = self.step(args)?;
        let exec = name == "exec";
        let (bk, rk) = out.kinds(exec);
        let e = self.stats.per_command.entry(name.clone()).or_default();
        if bk == "ok" || bk.starts_with("ok[") {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
        let Some(rk) = rk else {
            self.track_multi(&name, &out);
            return Ok(());
        };
        let (Ok(b), Some(Ok(r))) = (&out.busbar, &out.redis) else {
            if bk != rk {
                self.record_unanswered(&name, args, &out);
            }
            self.track_multi(&name, &out);
            return Ok(());
        };
        if bk == rk {
            self.track_multi(&name, &out);
            if let (Some(bt), Some(rt)) = (error_text(b), error_text(r)) {
                if bt != rt {
                    // One row per pair of texts, whatever argument they quote.
                    let cut = |t: String| t.split('\'').next().unwrap_or("").to_string();
                    let (bt, rt) = (cut(bt), cut(rt));
                    let e = self
                        .stats
                        .texts
                        .entry((name, bt, rt))
                        .or_insert_with(|| (0, args.clone()));
                    e.0 += 1;
                }
            }
            return Ok(());
        }
        let (b, r) = (b.clone(), r.clone());
        let known = known_for(&name, args, &b, &r)
            .or_else(|| exec.then(|| self.known_in_exec(&b, &r)).flatten());
        self.track_multi(&name, &out);
        let key = (name, bk, rk);
        let seen = self.stats.mismatches.get(&key).map_or(0, |e| e.1.len());
        let m = if let Some(k) = known {
            // Expected: keep a few examples, and resynchronise (the two may now differ).
            self.rebuild()?;
            (seen < 3).then(|| Mismatch {
                commands: vec![args.clone()],
                busbar: b,
                redis: r,
                how: "known",
                known: Some(k),
            })
        } else if seen >= 3 {
            // Enough examples of this one: count it, resynchronise, move on.
            self.rebuild()?;
            None
        } else {
            Some(self.investigate(args, b, r)?)
        };
        let e = self.stats.mismatches.entry(key).or_default();
        e.0 += 1;
        if let Some(m) = m {
            e.1.push(m);
        }
        Ok(())
    }

    /// Follows MULTI on the main connections: the commands both servers queued, so that a
    /// mismatch inside EXEC's reply can be traced to the command that caused it.
    fn track_multi(&mut self, name: &str, out: &Outcome) {
        let both = |want: &[u8]| {
            out.busbar.as_deref().ok() == Some(want)
                && out
                    .redis
                    .as_ref()
                    .is_none_or(|r| r.as_deref().ok() == Some(want))
        };
        match name {
            "multi" if self.queued.is_none() && both(b"+OK\r\n") => self.queued = Some(Vec::new()),
            "exec" | "discard" | "reset" => self.queued = None,
            _ => {
                if both(b"+QUEUED\r\n") {
                    if let Some(q) = self.queued.as_mut() {
                        q.push(self.segment.last().cloned().unwrap_or_default());
                    }
                }
            }
        }
    }

    /// The known mismatch behind an EXEC whose elements differ: every differing element
    /// must be a known mismatch of the command queued at that place.
    fn known_in_exec(&self, b: &[u8], r: &[u8]) -> Option<usize> {
        let queued = self.queued.as_ref()?;
        let (Resp::Agg(_, Some(bi)), _) = Resp::parse(b)? else {
            return None;
        };
        let (Resp::Agg(_, Some(ri)), _) = Resp::parse(r)? else {
            return None;
        };
        if bi.len() != ri.len() || bi.len() != queued.len() {
            return None;
        }
        let mut first = None;
        for ((eb, er), cmd) in bi.iter().zip(ri).zip(queued) {
            let (eb, er) = (eb.encode(), er.encode());
            if kind(&eb, false) != kind(&er, false) {
                let k = known_for(&command_name(cmd, &self.names), cmd, &eb, &er)?;
                first.get_or_insert(k);
            }
        }
        first
    }

    /// A command one server did not answer (or closed on) while the other did.
    fn record_unanswered(&mut self, name: &str, args: &Args, out: &Outcome) {
        let (bk, rk) = out.kinds(false);
        let show = |r: &Result<Vec<u8>, String>| match r {
            Ok(b) => b.clone(),
            Err(e) => format!("<{e}>").into_bytes(),
        };
        let m = Mismatch {
            commands: vec![args.clone()],
            busbar: show(&out.busbar),
            redis: out.redis.as_ref().map(show).unwrap_or_default(),
            how: "unanswered",
            known: None,
        };
        let e = self
            .stats
            .mismatches
            .entry((name.to_string(), bk, rk.unwrap_or_default()))
            .or_default();
        e.0 += 1;
        if e.1.len() < 3 {
            e.1.push(m);
        }
    }

    /// Replays commands on a fresh pool; returns both replies to the last one.
    fn replay_segment(&mut self, cmds: &[Args]) -> Result<Option<Replies>, Failure> {
        self.rebuild()?;
        let mut last = None;
        for c in cmds {
            let out = self.step(c)?;
            last = match (out.busbar, out.redis) {
                (Ok(b), Some(Ok(r))) => Some((b, r)),
                _ => None,
            };
        }
        Ok(last)
    }

    /// Tells a reproducible mismatch from one that needs the commands before it, and from one
    /// that does not come back (a random choice made differently by the two servers).
    fn investigate(&mut self, args: &Args, b: Vec<u8>, r: Vec<u8>) -> Result<Mismatch, Failure> {
        let exec = lower(&args[0]) == "exec";
        let want = (kind(&b, exec), kind(&r, exec));
        // The same mismatch again, not merely another one.
        let differs = |x: &Option<Replies>| {
            x.as_ref()
                .is_some_and(|(b, r)| (kind(b, exec), kind(r, exec)) == want)
        };
        let segment = std::mem::take(&mut self.segment);
        let mut m = Mismatch {
            commands: vec![args.clone()],
            busbar: b,
            redis: r,
            how: "flaky",
            known: None,
        };
        let alone = self.replay_segment(std::slice::from_ref(args))?;
        if differs(&alone) {
            m.how = "reproducible";
            (m.busbar, m.redis) = alone.unwrap();
        } else if differs(&self.replay_segment(&segment)?) {
            m.how = "sequence";
            m.commands = self.shrink(segment, &want)?;
        }
        self.rebuild()?;
        Ok(m)
    }

    /// Drops commands from a mismatching sequence while it still mismatches (greedy, bounded).
    fn shrink(
        &mut self,
        mut cmds: Vec<Args>,
        want: &(String, String),
    ) -> Result<Vec<Args>, Failure> {
        let exec = cmds.last().is_some_and(|c| lower(&c[0]) == "exec");
        let budget = Instant::now() + Duration::from_secs(20);
        let mut i = cmds.len().saturating_sub(1);
        while i > 0 && Instant::now() < budget {
            i -= 1;
            let mut fewer = cmds.clone();
            fewer.remove(i);
            let again = self.replay_segment(&fewer)?;
            if again.is_some_and(|(b, r)| (kind(&b, exec), kind(&r, exec)) == *want) {
                cmds = fewer;
            }
        }
        Ok(cmds)
    }

    fn summary(&self) -> (String, Vec<String>) {
        let st = &self.stats;
        let mut out = format!(
            "fuzz summary: seed {}, {} commands, {} command names, busbar peak RSS {} MiB, \
             {} huge commands sent to busbar only ({} replies dropped at the cap), \
             {} unanswered on busbar, oracle restarts {}\n",
            self.settings.seed,
            st.commands,
            st.per_command.len(),
            st.rss_max.max(self.watchdog.peak.load(Ordering::Relaxed)) >> 20,
            st.huge_sent,
            st.huge_dropped,
            st.busbar_blocked,
            st.oracle_restarts,
        );
        let mut unknown = std::collections::BTreeSet::new();
        out.push_str("reply-kind mismatches (command, busbar, redis: count, how):\n");
        for ((name, bk, rk), (n, examples)) in &st.mismatches {
            let how: Vec<&str> = examples.iter().map(|m| m.how).collect();
            out.push_str(&format!(
                "  {name}: busbar {bk} / redis {rk}: {n}x {how:?}\n"
            ));
            for m in examples {
                let tag = match m.known {
                    Some(k) => format!("known: {}", KNOWN_MISMATCHES[k].shape),
                    None if m.how == "flaky" => "not reproducible".into(),
                    None => "NEW".into(),
                };
                out.push_str(&format!("    [{tag}]\n"));
                for c in &m.commands {
                    out.push_str(&format!("      {}\n", clip(encode_line(c).as_bytes())));
                }
                out.push_str(&format!(
                    "      busbar: {}\n      redis:  {}\n",
                    clip(&m.busbar),
                    clip(&m.redis)
                ));
                if m.known.is_none() && m.how != "flaky" {
                    unknown.insert(format!("{name} ({bk} vs {rk})"));
                }
            }
        }
        out.push_str("known mismatches (KNOWN_MISMATCHES):\n");
        for k in KNOWN_MISMATCHES {
            out.push_str(&format!("  {} {}: {}\n", k.command, k.shape, k.why));
        }
        out.push_str("error-text differences (both failed; informational):\n");
        for ((name, bt, rt), (n, args)) in &st.texts {
            out.push_str(&format!(
                "  {name} {n}x: busbar {bt:?} / redis {rt:?}\n      {}\n",
                clip(encode_line(args).as_bytes())
            ));
        }
        let never_ok: Vec<&String> = st
            .per_command
            .iter()
            .filter(|(_, (ok, _))| *ok == 0)
            .map(|(n, _)| n)
            .collect();
        out.push_str(&format!("commands that never succeeded: {never_ok:?}\n"));
        (out, unknown.into_iter().collect())
    }
}

fn fuzz(settings: Settings) {
    let secs = settings.secs;
    let seed = settings.seed;
    let huge = settings.huge;
    let replay = settings.replay.clone();
    let mut runner = Runner::start(settings);
    let specs = load_table(runner.busbar.port, runner.redis.as_ref().map(|p| p.port));
    runner.names = specs.iter().map(|s| s.name.clone()).collect();
    let config_params = runner.config_reset.0.iter().map(|c| lower(&c[2])).collect();
    eprintln!(
        "fuzz: seed {seed} ({} s, {} commands and subcommands, oracle {}, huge category {})",
        secs,
        specs.len(),
        if runner.redis.is_some() {
            "redis-server"
        } else {
            "none"
        },
        if huge { "on" } else { "off" }
    );
    let mut gen = Gen {
        rng: StdRng::seed_from_u64(seed),
        v: Values::new(),
        pool_keys: runner.pool.keys.clone(),
        tags: runner.pool.tags.clone(),
        config_params,
        huge,
        tag: 0,
        key_type: "string",
    };
    let result = (|| -> Result<(), Failure> {
        runner.rebuild()?;
        if let Some(path) = &replay {
            let text = std::fs::read_to_string(path).expect("read the replay file");
            for line in text.lines().map(str::trim) {
                match line {
                    "" => {}
                    l if l.starts_with('#') => {}
                    "!pool" => runner.rebuild()?,
                    "!reconnect" => runner.reconnect()?,
                    l => {
                        let args = decode_line(l).unwrap_or_else(|e| panic!("{e}: {l}"));
                        let out = runner.step(&args)?;
                        let show = |r: &Result<Vec<u8>, String>| match r {
                            Ok(b) => clip(b),
                            Err(e) => format!("<{e}>"),
                        };
                        eprintln!("> {}", clip(l.as_bytes()));
                        eprintln!("  busbar: {}", show(&out.busbar));
                        if let Some(r) = &out.redis {
                            eprintln!("  redis:  {}", show(r));
                        }
                    }
                }
            }
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if runner.segment.len() >= POOL_REBUILD_EVERY {
                runner.rebuild()?;
            }
            let args = gen.command(&specs);
            runner.run(&args)?;
        }
        Ok(())
    })();
    let (summary, unknown) = runner.summary();
    eprintln!("{summary}");
    let path = format!("{}/fuzz-{seed}-summary.txt", env!("CARGO_TARGET_TMPDIR"));
    let _ = std::fs::write(&path, &summary);
    eprintln!("fuzz: summary written to {path}");
    if let Err(Failure(why)) = result {
        let dump = runner.dump("failure");
        let tail: Vec<&String> = runner.log.iter().rev().take(20).collect();
        eprintln!("fuzz: the last commands, newest first:");
        for l in tail {
            eprintln!("  {}", clip(l.as_bytes()));
        }
        panic!("{why}\nseed {seed}; replay with: BUSBAR_FUZZ_REPLAY={dump} cargo test --test fuzz");
    }
    assert!(
        unknown.is_empty() || replay.is_some(),
        "reply kinds differ from redis-server's in cases not on KNOWN_MISMATCHES (seed {seed}): {unknown:?}"
    );
}

#[test]
fn random_commands_never_crash_hang_or_balloon_busbar_and_fail_where_redis_fails() {
    fuzz(Settings::from_env());
}

#[test]
fn replay_lines_round_trip_every_byte() {
    let args: Args = vec![
        s("SET"),
        (0..=255u8).collect(),
        vec![b'x'; 100 * 1024],
        s("a\"b\\c"),
        Vec::new(),
        b"ab".repeat(100),
    ];
    let line = encode_line(&args);
    assert!(line.len() < 2000, "long repeats are written compactly");
    assert_eq!(decode_line(&line).unwrap(), args);
}

#[test]
fn blocking_timeouts_that_would_wait_become_ten_milliseconds() {
    for v in ["0", "-0", "1", "1e-400", "-1e-400", "0x10", "+5", "1e15"] {
        assert!(waits_seconds(v.as_bytes()), "{v}");
    }
    for v in ["-1", "inf", "nan", "1e400", "1e300", "abc", " 1", ""] {
        assert!(!waits_seconds(v.as_bytes()), "{v}");
    }
}
