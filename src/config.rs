//! Server settings: the redis.conf / command-line directives busbar understands, their
//! defaults, their validation exactly as Redis 7.0 validates them, and the CONFIG GET/SET
//! view of them.
//!
//! One table (`PARAMS`) is the source of truth: startup parsing, CONFIG GET (with globs)
//! and CONFIG SET all go through it. Values are kept as bytes in their canonical form, as
//! CONFIG GET prints them; shards read typed copies (`Settings`) when the epoch changes.
//!
//! Redis parses each kind of value with one particular C routine, and that routine's
//! quirks are what clients see, so each is reproduced here on purpose:
//!
//! - plain integers go through `string2ll`: no `+`, no leading zero, no spaces;
//! - byte counts go through `memtoull`: digits then an optional unit (b, k, kb, m, mb, g,
//!   gb, any case); an empty digit run is 0, an overlong one saturates, and the unit
//!   multiplies with wrap-around;
//! - a number is then read back in the C type Redis stores it in (`-1` in an unsigned
//!   field is 2^64-1, so it fails the upper bound), and the bounds are printed in that
//!   type's sign;
//! - words (yes/no, enums, event classes, client classes) and `save` / buffer-limit
//!   numbers are read as C strings, so anything after a NUL byte is ignored.

use crate::store::glob_match;

/// A numeric parameter: how its text is parsed and the range Redis accepts.
#[derive(Debug, Clone, Copy)]
struct Num {
    /// Inclusive bounds, in the domain of the C type Redis stores the value in.
    min: i128,
    max: i128,
    /// Redis stores it in an unsigned type: a parsed value is read as unsigned before
    /// the bounds are checked.
    unsigned: bool,
    /// A byte count with units (`memtoull`) rather than a strict integer (`string2ll`).
    bytes: bool,
}

/// What a parameter's value must look like.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// An integer or byte count within bounds.
    Num(Num),
    /// `yes` or `no`, any case.
    Bool,
    /// One of a fixed set of words, any case; the error lists them in this order.
    Enum(&'static [&'static str]),
    /// Any bytes, one argument.
    Str,
    /// A file name without a directory (`dbfilename`, `appendfilename`).
    FileName { empty_ok: bool },
    /// `save`: pairs of seconds (>= 1) and changes (>= 0), or nothing.
    Save,
    /// `client-output-buffer-limit`: class, hard bytes, soft bytes, soft seconds, repeated.
    ClientOutputBufferLimit,
    /// `bind`: up to 16 addresses.
    Bind,
    /// `notify-keyspace-events`: event class letters.
    KeyspaceEvents,
}

impl Kind {
    /// Redis splits a CONFIG SET value of these kinds at single spaces into several
    /// arguments; every other kind takes the value whole.
    fn multi_arg(self) -> bool {
        matches!(
            self,
            Kind::Save | Kind::ClientOutputBufferLimit | Kind::Bind
        )
    }
}

/// Whether CONFIG SET may change a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// At any time.
    Live,
    /// Only at startup: `can't set immutable config`.
    Immutable,
    /// Only with `enable-protected-configs`, which busbar (like Redis by default) does
    /// not allow: `can't set protected config`.
    Protected,
}

/// What follows once a parameter's new value parsed: an adjustment, or (CONFIG SET only)
/// a step that can still refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hook {
    None,
    /// `hz`: a value in range is then brought within these bounds (Redis treats `hz` as
    /// a hint: it accepts 0..INT_MAX and runs at the nearest of 1..500).
    Clamp(i128, i128),
    /// `maxclients`: the open-file limit must fit that many clients (`fit_open_files`).
    OpenFiles,
    /// `port` and `bind`: busbar binds its per-shard listeners once, at startup, so a new
    /// value is refused with the error Redis gives when it cannot listen.
    Listener(&'static str),
}

/// One directive.
struct Param {
    name: &'static str,
    kind: Kind,
    default: &'static str,
    change: Change,
    hook: Hook,
    /// busbar's own, not a Redis parameter: CONFIG GET does not report it, so a client
    /// comparing CONFIG GET * with Redis's sees only Redis's names.
    own: bool,
}

const fn p(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param {
        name,
        kind,
        default,
        change: Change::Live,
        hook: Hook::None,
        own: false,
    }
}

impl Param {
    /// Settable only at startup.
    const fn immutable(self) -> Param {
        Param {
            change: Change::Immutable,
            ..self
        }
    }

    /// Settable only at startup (a protected config in Redis).
    const fn protected(self) -> Param {
        Param {
            change: Change::Protected,
            ..self
        }
    }

    const fn hook(self, hook: Hook) -> Param {
        Param { hook, ..self }
    }

    /// busbar's own (not reported by CONFIG GET).
    const fn own(self) -> Param {
        Param { own: true, ..self }
    }
}

const INT_MIN: i128 = i32::MIN as i128;
const INT_MAX: i128 = i32::MAX as i128;
const UINT_MAX: i128 = u32::MAX as i128;
const LLONG_MAX: i128 = i64::MAX as i128;
const ULLONG_MAX: i128 = u64::MAX as i128;

/// An integer stored in a signed C type (`int`, `long long`).
const fn signed(min: i128, max: i128) -> Kind {
    Kind::Num(Num {
        min,
        max,
        unsigned: false,
        bytes: false,
    })
}

/// An integer stored in an unsigned C type (`unsigned int`, `size_t`).
const fn unsigned(min: i128, max: i128) -> Kind {
    Kind::Num(Num {
        min,
        max,
        unsigned: true,
        bytes: false,
    })
}

/// A byte count stored in a signed C type.
const fn bytes_signed(min: i128, max: i128) -> Kind {
    Kind::Num(Num {
        min,
        max,
        unsigned: false,
        bytes: true,
    })
}

/// A byte count stored in an unsigned C type.
const fn bytes_unsigned(min: i128, max: i128) -> Kind {
    Kind::Num(Num {
        min,
        max,
        unsigned: true,
        bytes: true,
    })
}

/// Addresses `bind` takes at most (Redis's CONFIG_BINDADDR_MAX).
const BIND_ADDRS_MAX: usize = 16;

const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];
const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// Every directive busbar accepts, with Redis 7.0's types, bounds and mutability.
/// Persistence-related ones are accepted and reported (benchmarks set them) before
/// persistence exists.
const PARAMS: &[Param] = &[
    p("port", signed(0, 65535), "6379").hook(Hook::Listener(
        "Unable to listen on this port. Check server logs.",
    )),
    p("bind", Kind::Bind, "* -::*").hook(Hook::Listener("Failed to bind to specified addresses.")),
    // busbar's own: shard threads (0 = one per core).
    p("threads", signed(1, 256), "0").immutable().own(),
    // busbar's own: a connection whose commands keep going to one other shard moves there
    // (`shard::place`); `no` keeps every connection on the shard that accepted it, for A/B
    // measurements.
    p("placement", Kind::Bool, "yes").immutable().own(),
    p("requirepass", Kind::Str, ""),
    p("maxclients", unsigned(1, UINT_MAX), "10000").hook(Hook::OpenFiles),
    p("databases", signed(1, INT_MAX), "16").immutable(),
    p("loglevel", Kind::Enum(LOGLEVELS), "notice"),
    p("logfile", Kind::Str, "").immutable(),
    p("daemonize", Kind::Bool, "no").immutable(),
    p("pidfile", Kind::Str, "").immutable(),
    p("dir", Kind::Str, "").protected(),
    p("dbfilename", Kind::FileName { empty_ok: true }, "dump.rdb").protected(),
    p("save", Kind::Save, "3600 1 300 100 60 10000"),
    p("appendonly", Kind::Bool, "no"),
    p(
        "appendfilename",
        Kind::FileName { empty_ok: false },
        "appendonly.aof",
    )
    .immutable(),
    p(
        "appenddirname",
        Kind::FileName { empty_ok: false },
        "appendonlydir",
    )
    .immutable(),
    p("auto-aof-rewrite-percentage", signed(0, INT_MAX), "100"),
    p(
        "auto-aof-rewrite-min-size",
        bytes_signed(0, LLONG_MAX),
        "67108864",
    ),
    p(
        "appendfsync",
        Kind::Enum(&["everysec", "always", "no"]),
        "everysec",
    ),
    p(
        "proto-max-bulk-len",
        bytes_signed(1 << 20, LLONG_MAX),
        "536870912",
    ),
    p(
        "client-query-buffer-limit",
        bytes_unsigned(1 << 20, LLONG_MAX),
        "1073741824",
    ),
    p(
        "client-output-buffer-limit",
        Kind::ClientOutputBufferLimit,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    p("hz", signed(0, INT_MAX), "10").hook(Hook::Clamp(1, 500)),
    p("timeout", signed(0, INT_MAX), "0"),
    p("tcp-keepalive", signed(0, INT_MAX), "300"),
    p("tcp-backlog", signed(0, INT_MAX), "511").immutable(),
    p("maxmemory", bytes_unsigned(0, ULLONG_MAX), "0"),
    p("maxmemory-policy", Kind::Enum(POLICIES), "noeviction"),
    p("maxmemory-samples", signed(1, INT_MAX), "5"),
    p("protected-mode", Kind::Bool, "yes"),
    p("io-threads", signed(1, 128), "1").immutable(),
    p("notify-keyspace-events", Kind::KeyspaceEvents, ""),
    p("slowlog-log-slower-than", signed(-1, LLONG_MAX), "10000"),
    p("slowlog-max-len", signed(0, LLONG_MAX), "128"),
    p("latency-tracking", Kind::Bool, "yes"),
    p("lazyfree-lazy-user-flush", Kind::Bool, "no"),
    p(
        "supervised",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
    )
    .immutable(),
    p("unixsocket", Kind::Str, "").immutable(),
    p("aof-load-truncated", Kind::Bool, "yes"),
    p("hash-max-listpack-entries", unsigned(0, LLONG_MAX), "512"),
    p(
        "hash-max-listpack-value",
        bytes_unsigned(0, LLONG_MAX),
        "64",
    ),
    p("list-max-listpack-size", signed(INT_MIN, INT_MAX), "-2"),
    // Kept for CONFIG GET/SET as Redis has it; busbar's lists are never compressed.
    p("list-compress-depth", signed(0, INT_MAX), "0"),
    p("set-max-intset-entries", unsigned(0, LLONG_MAX), "512"),
    p("zset-max-listpack-entries", unsigned(0, LLONG_MAX), "128"),
    p(
        "zset-max-listpack-value",
        bytes_unsigned(0, LLONG_MAX),
        "64",
    ),
    p("stream-node-max-entries", signed(0, LLONG_MAX), "100"),
    p(
        "stream-node-max-bytes",
        bytes_unsigned(0, LLONG_MAX),
        "4096",
    ),
    p("activerehashing", Kind::Bool, "yes"),
    p("syslog-enabled", Kind::Bool, "no").immutable(),
    p("always-show-logo", Kind::Bool, "no").immutable(),
    p("stop-writes-on-bgsave-error", Kind::Bool, "yes"),
    p("rdbcompression", Kind::Bool, "yes"),
    p("rdbchecksum", Kind::Bool, "yes").immutable(),
    p("disable-thp", Kind::Bool, "yes").immutable(),
];

/// Old names Redis still accepts, each its own entry: CONFIG SET names the alias in its
/// errors, and setting a parameter under both names in one call is not a duplicate.
const ALIASES: &[(&str, &str)] = &[
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("server-threads", "threads"),
    ("shards", "threads"),
];

/// The parameter `name` (any case) names, and the entry's own spelling (the alias, when
/// an alias was used).
fn lookup(name: &[u8]) -> Option<(usize, &'static str)> {
    let index = |n: &str| PARAMS.iter().position(|p| p.name == n);
    if let Some(p) = PARAMS
        .iter()
        .find(|p| name.eq_ignore_ascii_case(p.name.as_bytes()))
    {
        return Some((index(p.name)?, p.name));
    }
    let (alias, target) = ALIASES
        .iter()
        .find(|(alias, _)| name.eq_ignore_ascii_case(alias.as_bytes()))?;
    Some((index(target)?, alias))
}

/// The bytes a C routine sees: everything before the first NUL.
fn c_str(s: &[u8]) -> &[u8] {
    s.iter().position(|&b| b == 0).map_or(s, |n| &s[..n])
}

/// Redis's `string2ll`: an optional `-`, then digits without a leading zero (or a lone
/// `0`), fitting an i64.
fn string2ll(s: &[u8]) -> Option<i64> {
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        let d = i64::from(d - b'0');
        v = v.checked_mul(10)?;
        v = if negative {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

/// Redis's `memtoull`: digits (possibly none, read as 0; too many saturate) and an
/// optional unit; the multiplication wraps as C's does. `None` is Redis's error.
pub fn memtoull(s: &[u8]) -> Option<u64> {
    let s = c_str(s);
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let unit = s[digits..].to_ascii_lowercase();
    let mul: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // Redis copies the digits into a 128-byte buffer first and gives up when they do
    // not fit.
    if digits >= 128 {
        return None;
    }
    let mut v: u64 = 0;
    for &d in &s[..digits] {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .unwrap_or(u64::MAX);
    }
    Some(v.wrapping_mul(mul))
}

/// C's `strtoll(s, &end, 10)` on the C string of `s`: the value (saturated) and whether
/// the whole string was consumed. With no digits nothing is consumed, so only an empty
/// string counts as consumed (as 0).
fn strtoll(s: &[u8]) -> (i64, bool) {
    let s = c_str(s);
    let mut i = s
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return (0, s.is_empty());
    }
    let mut v: i64 = 0;
    for &d in &s[i..i + digits] {
        let d = i64::from(d - b'0');
        v = if negative {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
    }
    (v, i + digits == s.len())
}

/// Splits a CONFIG SET value at every single space, as Redis's `sdssplitlen`: empty words
/// are kept, and an empty value is no words at all.
fn split_spaces(value: &[u8]) -> Vec<&[u8]> {
    if value.is_empty() {
        return Vec::new();
    }
    value.split(|&b| b == b' ').collect()
}

/// Parses a number as Redis does for `num`, reads it back in its storage type, and
/// checks the bounds.
fn parse_num(num: Num, text: &[u8]) -> Result<i128, String> {
    let v = if num.bytes {
        let v = memtoull(text).ok_or("argument must be a memory value")?;
        if num.unsigned {
            i128::from(v)
        } else {
            i128::from(v as i64)
        }
    } else {
        let v = string2ll(text).ok_or("argument couldn't be parsed into an integer")?;
        if num.unsigned {
            i128::from(v as u64)
        } else {
            i128::from(v)
        }
    };
    if v < num.min || v > num.max {
        return Err(format!(
            "argument must be between {} and {} inclusive",
            num.min, num.max
        ));
    }
    Ok(v)
}

/// `save`'s arguments as (seconds, changes) pairs; `changes` is a C `int`, so a larger
/// count wraps as it does in Redis.
fn parse_save(args: &[&[u8]]) -> Result<Vec<(i64, i32)>, String> {
    // One argument holding the pairs (`--save "60 1"`, `save "60 1"`) is split at its
    // spaces, as Redis does.
    let split: Vec<&[u8]>;
    let args: &[&[u8]] = if args.len() == 1 && c_str(args[0]).is_empty() {
        &[]
    } else if args.len() == 1 {
        split = args[0]
            .split(|&b| b == b' ')
            .filter(|w| !w.is_empty())
            .collect();
        &split
    } else {
        args
    };
    let bad = || "Invalid save parameters".to_string();
    if !args.len().is_multiple_of(2) {
        return Err(bad());
    }
    let mut pairs = Vec::with_capacity(args.len() / 2);
    for pair in args.chunks(2) {
        let (seconds, whole_s) = strtoll(pair[0]);
        let (changes, whole_c) = strtoll(pair[1]);
        if !whole_s || !whole_c || seconds < 1 || changes < 0 {
            return Err(bad());
        }
        pairs.push((seconds, changes as i32));
    }
    Ok(pairs)
}

/// Client classes of `client-output-buffer-limit`, in the order CONFIG GET prints them.
const CLIENT_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Applies `client-output-buffer-limit` arguments to `current` (the canonical value):
/// only the classes named change. Every group is checked before any is applied.
fn parse_output_limits(args: &[&[u8]], current: &[u8]) -> Result<Vec<u8>, String> {
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut limits = output_limits(current);
    let mut updates = Vec::with_capacity(args.len() / 4);
    for group in args.chunks(4) {
        let class = match c_str(group[0]).to_ascii_lowercase().as_slice() {
            b"normal" => 0,
            b"slave" | b"replica" => 1,
            b"pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let hard = memtoull(group[1]);
        let soft = memtoull(group[2]);
        // Redis keeps the seconds in a C `int`.
        let (seconds, whole) = strtoll(group[3]);
        let seconds = seconds as i32;
        let (Some(hard), Some(soft), true, true) = (hard, soft, whole, seconds >= 0) else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        };
        updates.push((class, (hard, soft, seconds as u64)));
    }
    for (class, limit) in updates {
        limits[class] = limit;
    }
    let text: Vec<String> = CLIENT_CLASSES
        .iter()
        .zip(limits)
        .map(|(class, (hard, soft, secs))| format!("{class} {hard} {soft} {secs}"))
        .collect();
    Ok(text.join(" ").into_bytes())
}

/// The three classes' (hard bytes, soft bytes, soft seconds) from a canonical
/// `client-output-buffer-limit` value.
fn output_limits(value: &[u8]) -> [(u64, u64, u64); 3] {
    let text = String::from_utf8_lossy(value);
    let words: Vec<&str> = text.split(' ').collect();
    let mut out = [(0, 0, 0); 3];
    for (i, class) in CLIENT_CLASSES.iter().enumerate() {
        if let Some(at) = words.iter().position(|w| w == class) {
            let n = |k: usize| words.get(at + k).and_then(|w| w.parse().ok()).unwrap_or(0);
            out[i] = (n(1), n(2), n(3));
        }
    }
    out
}

/// Keyspace event classes: (letter, bit). `A` is every class from `g` to `d`; `n`, `m`,
/// `K` and `E` stand apart from it.
const EVENT_CLASSES: &[(u8, u16)] = &[
    (b'g', 1 << 2),
    (b'$', 1 << 3),
    (b'l', 1 << 4),
    (b's', 1 << 5),
    (b'h', 1 << 6),
    (b'z', 1 << 7),
    (b'x', 1 << 8),
    (b'e', 1 << 9),
    (b't', 1 << 10),
    (b'd', 1 << 12),
    (b'n', 1 << 13),
];
const EVENTS_KEYSPACE: u16 = 1 << 0;
const EVENTS_KEYEVENT: u16 = 1 << 1;
const EVENTS_KEY_MISS: u16 = 1 << 11;
const EVENTS_ALL: u16 = 0b1_0111_1111_1100;

/// `notify-keyspace-events` in Redis's canonical spelling (`KEA` reads back as `AKE`).
fn parse_keyspace_events(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut flags = 0u16;
    for &c in c_str(text) {
        flags |= match c {
            b'A' => EVENTS_ALL,
            b'K' => EVENTS_KEYSPACE,
            b'E' => EVENTS_KEYEVENT,
            b'm' => EVENTS_KEY_MISS,
            _ => EVENT_CLASSES
                .iter()
                .find(|(letter, _)| *letter == c)
                .map(|(_, bit)| *bit)
                .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?,
        };
    }
    let mut out = Vec::new();
    if flags & EVENTS_ALL == EVENTS_ALL {
        out.push(b'A');
    } else {
        out.extend(
            EVENT_CLASSES
                .iter()
                .filter(|(_, bit)| flags & bit != 0)
                .map(|(letter, _)| *letter),
        );
    }
    for (bit, letter) in [
        (EVENTS_KEYSPACE, b'K'),
        (EVENTS_KEYEVENT, b'E'),
        (EVENTS_KEY_MISS, b'm'),
    ] {
        if flags & bit != 0 {
            out.push(letter);
        }
    }
    Ok(out)
}

/// Parses one parameter's arguments into its canonical value. `current` is the value it
/// has now (buffer limits change only the classes named).
fn parse_value(param: &Param, args: &[&[u8]], current: &[u8]) -> Result<Vec<u8>, String> {
    let one = || args.first().copied().unwrap_or_default();
    let value = match param.kind {
        Kind::Num(num) => {
            let mut v = parse_num(num, one())?;
            if let Hook::Clamp(lo, hi) = param.hook {
                v = v.clamp(lo, hi);
            }
            v.to_string().into_bytes()
        }
        Kind::Bool => match c_str(one()).to_ascii_lowercase().as_slice() {
            b"yes" => b"yes".to_vec(),
            b"no" => b"no".to_vec(),
            _ => return Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Enum(words) => {
            let given = c_str(one());
            let word = words
                .iter()
                .find(|w| given.eq_ignore_ascii_case(w.as_bytes()))
                .ok_or_else(|| {
                    "argument(s) must be one of the following: ".to_string() + &words.join(", ")
                })?;
            word.as_bytes().to_vec()
        }
        Kind::Str => one().to_vec(),
        Kind::FileName { empty_ok } => {
            let name = one();
            if !empty_ok && c_str(name).is_empty() {
                return Err(format!("{} can't be empty", param.name));
            }
            if c_str(name).iter().any(|&b| b == b'/' || b == b'\\') {
                return Err(format!("{} can't be a path, just a filename", param.name));
            }
            name.to_vec()
        }
        Kind::Save => {
            let pairs: Vec<String> = parse_save(args)?
                .iter()
                .map(|(s, c)| format!("{s} {c}"))
                .collect();
            pairs.join(" ").into_bytes()
        }
        Kind::ClientOutputBufferLimit => parse_output_limits(args, current)?,
        Kind::Bind => {
            if args.len() > BIND_ADDRS_MAX {
                return Err("Too many bind addresses specified.".into());
            }
            args.join(&b' ')
        }
        Kind::KeyspaceEvents => parse_keyspace_events(one())?,
    };
    Ok(value)
}

/// File descriptors Redis keeps for itself beyond one per client (CONFIG_MIN_RESERVED_FDS).
const RESERVED_FDS: u32 = 32;

/// How far Redis lowers its open-file limit target per failed attempt.
const FILES_STEP: u64 = 16;

/// Raises the process's open-file limit so `maxclients` clients fit, as Redis's
/// `adjustOpenFilesLimit` does, and returns how many clients the limit allows
/// (`maxclients` itself when they fit).
///
/// Redis asks for `maxclients + 32` descriptors (summed in a C `unsigned int`, so it can
/// wrap), setting soft and hard limit alike, and on refusal retries 16 lower each time
/// until it reaches the current soft limit. Every request above what the kernel grants
/// fails the same way, so this jumps straight to the largest candidate under the hard
/// limit (or under `fs.nr_open`, reachable with CAP_SYS_RESOURCE): the same outcome in at
/// most three calls instead of up to 2^28.
pub fn fit_open_files(maxclients: u32) -> u32 {
    let need = u64::from(maxclients.wrapping_add(RESERVED_FDS));
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given, which lives on this stack.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024 - RESERVED_FDS;
    }
    let current: u64 = limit.rlim_cur;
    if current >= need {
        return maxclients;
    }
    let hard: u64 = limit.rlim_max;
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(1 << 20);
    let try_limit = |n: u64| {
        let want = libc::rlimit {
            rlim_cur: n,
            rlim_max: n,
        };
        // SAFETY: setrlimit only reads the struct it is given.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 }
    };
    // The largest of need, need - 16, need - 32, ... that is at most `cap`.
    let candidate = |cap: u64| {
        if cap >= need {
            Some(need)
        } else {
            need.checked_sub((need - cap).div_ceil(FILES_STEP) * FILES_STEP)
        }
    };
    let mut granted = current;
    for cap in [need, nr_open.max(hard), hard] {
        match candidate(cap) {
            Some(n) if n > current && try_limit(n) => {
                granted = n;
                break;
            }
            _ => {}
        }
    }
    if granted >= need {
        maxclients
    } else {
        u32::try_from(granted.saturating_sub(u64::from(RESERVED_FDS))).unwrap_or(u32::MAX)
    }
}

/// The full configuration, as canonical values indexed like `PARAMS`.
#[derive(Clone, Debug)]
pub struct Config {
    values: Vec<Vec<u8>>,
    /// A `save` line was read from the file or command line: further ones add save
    /// points instead of replacing the defaults.
    save_loaded: bool,
    /// Absolute path of the config file, if one was given (INFO `config_file`).
    pub config_file: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            values: PARAMS
                .iter()
                .map(|p| p.default.as_bytes().to_vec())
                .collect(),
            save_loaded: false,
            config_file: String::new(),
        }
    }
}

impl Config {
    fn index(name: &str) -> Option<usize> {
        lookup(name.as_bytes()).map(|(i, _)| i)
    }

    fn value(&self, name: &str) -> &[u8] {
        &self.values[Self::index(name).unwrap_or_else(|| panic!("unknown config {name}"))]
    }

    /// The canonical value of `name` as text (panics on an unknown name: a bug, not user
    /// input). Only `requirepass` can hold bytes that are not UTF-8; it reads as empty
    /// here, so read it with [`Config::bytes`].
    pub fn get(&self, name: &str) -> &str {
        std::str::from_utf8(self.value(name)).unwrap_or("")
    }

    /// The canonical value of `name`, byte for byte.
    pub fn bytes(&self, name: &str) -> &[u8] {
        self.value(name)
    }

    /// An integer-valued setting (0 if it does not fit an i64; see [`Config::uint`]).
    pub fn int(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    /// An unsigned setting (`maxmemory` goes up to 2^64-1).
    pub fn uint(&self, name: &str) -> u64 {
        self.get(name).parse().unwrap_or(0)
    }

    /// A yes/no setting.
    pub fn bool(&self, name: &str) -> bool {
        self.get(name) == "yes"
    }

    /// Validates and stores one directive from the config file or the command line; `args`
    /// are its arguments as written there. Errors are Redis's reasons.
    pub fn apply<A: AsRef<[u8]>>(&mut self, name: &str, args: &[A]) -> Result<(), String> {
        let Some((i, _)) = lookup(name.as_bytes()) else {
            return Err("Bad directive or wrong number of arguments".into());
        };
        let param = &PARAMS[i];
        let args: Vec<&[u8]> = args.iter().map(AsRef::as_ref).collect();
        if !param.kind.multi_arg() && args.len() != 1 {
            return Err("wrong number of arguments".into());
        }
        let mut value = parse_value(param, &args, &self.values[i])?;
        if matches!(param.kind, Kind::Save) {
            // The first `save` line replaces the default save points; later ones add to
            // them, except `save ""`, which clears them.
            let clears = args.len() == 1 && c_str(args[0]).is_empty();
            if self.save_loaded && !clears && !self.values[i].is_empty() && !value.is_empty() {
                let mut joined = self.values[i].clone();
                joined.push(b' ');
                joined.extend_from_slice(&value);
                value = joined;
            }
            self.save_loaded = true;
        }
        self.values[i] = value;
        Ok(())
    }

    /// CONFIG SET with `pairs` of (parameter, value), all or nothing, exactly as Redis 7.0:
    /// the names are checked first in order (unknown, immutable, protected, duplicate:
    /// the first problem is the error), then the values in order, then what a new value
    /// needs from the system. On error nothing changes and the whole error text (after
    /// `-`) is returned, quoting the client's bytes.
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<(), Vec<u8>> {
        // Redis formats names with `%s`: a NUL ends them.
        let failed = |name: &[u8], reason: &str| {
            let mut e = b"ERR CONFIG SET failed (possibly related to argument '".to_vec();
            e.extend_from_slice(c_str(name));
            e.extend_from_slice(b"') - ");
            e.extend_from_slice(reason.as_bytes());
            e
        };
        let mut entries: Vec<(usize, &'static str)> = Vec::with_capacity(pairs.len());
        for &(name, _) in pairs {
            let Some((i, entry)) = lookup(name) else {
                let mut e =
                    b"ERR Unknown option or number of arguments for CONFIG SET - '".to_vec();
                e.extend_from_slice(c_str(name));
                e.push(b'\'');
                return Err(e);
            };
            match PARAMS[i].change {
                Change::Immutable => return Err(failed(name, "can't set immutable config")),
                Change::Protected => return Err(failed(name, "can't set protected config")),
                Change::Live => {}
            }
            if entries.iter().any(|&(_, seen)| seen == entry) {
                return Err(failed(name, "duplicate parameter"));
            }
            entries.push((i, entry));
        }
        let mut next = self.clone();
        // The hooks a changed value calls for, each once, in order of first appearance,
        // with the entry that called it first (named in its error).
        let mut hooks: Vec<(Hook, usize, &'static str)> = Vec::new();
        for (&(i, entry), &(_, value)) in entries.iter().zip(pairs) {
            let param = &PARAMS[i];
            let args = if param.kind.multi_arg() {
                split_spaces(value)
            } else {
                vec![value]
            };
            let parsed = parse_value(param, &args, &next.values[i])
                .map_err(|reason| failed(entry.as_bytes(), &reason))?;
            // Redis always re-applies a bind list, changed or not; busbar accepts the
            // list it is already bound to.
            let hooked = matches!(param.hook, Hook::OpenFiles | Hook::Listener(_));
            if hooked && parsed != next.values[i] && !hooks.iter().any(|(h, ..)| *h == param.hook) {
                hooks.push((param.hook, i, entry));
            }
            next.values[i] = parsed;
        }
        for (hook, i, entry) in hooks {
            match hook {
                Hook::None | Hook::Clamp(..) => {}
                Hook::OpenFiles => {
                    let want = next.int(PARAMS[i].name) as u32;
                    let fits = fit_open_files(want);
                    if fits != want {
                        // Redis puts the old limit back the same way, which changes
                        // nothing once the limit has been raised for it.
                        fit_open_files(self.int(PARAMS[i].name) as u32);
                        let reason = format!(
                            "The operating system is not able to handle the specified number of clients, try with {}",
                            fits as i32
                        );
                        return Err(failed(entry.as_bytes(), &reason));
                    }
                }
                Hook::Listener(reason) => {
                    crate::log::warning(&format!(
                        "CONFIG SET {entry} refused: busbar binds its listeners only at startup"
                    ));
                    return Err(failed(entry.as_bytes(), reason));
                }
            }
        }
        *self = next;
        Ok(())
    }

    /// `(name, value)` for every parameter matching `patterns`, as Redis's CONFIG GET: a
    /// plain name (an alias too) comes back spelled as the client wrote it, a glob yields
    /// canonical names, and no name is reported twice (compared case-insensitively).
    pub fn matching(&self, patterns: &[&[u8]]) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        let seen = |out: &[(String, Vec<u8>)], name: &str| {
            out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        for pat in patterns {
            if !pat.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
                let name = String::from_utf8_lossy(pat).into_owned();
                if let Some((i, _)) = lookup(pat) {
                    if !PARAMS[i].own && !seen(&out, &name) {
                        out.push((name, self.values[i].clone()));
                    }
                }
                continue;
            }
            for (i, param) in PARAMS.iter().enumerate() {
                // busbar's own parameters are not Redis's: CONFIG GET leaves them out.
                if !param.own
                    && !seen(&out, param.name)
                    && glob_match(pat, param.name.as_bytes(), true)
                {
                    out.push((param.name.to_string(), self.values[i].clone()));
                }
            }
        }
        out
    }

    /// Reads a redis.conf-style text, then `overrides` (the command line) on top.
    /// Errors carry Redis's fatal-config message (line number, line, reason).
    pub fn load(text: &str, overrides: &[(String, Vec<String>)]) -> Result<Config, String> {
        let mut cfg = Config::default();
        for (lineno, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fail = |reason: &str| {
                format!(
                    "\n*** FATAL CONFIG FILE ERROR (busbar {}) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}",
                    env!("CARGO_PKG_VERSION"),
                    lineno + 1,
                    trimmed,
                    reason
                )
            };
            let Some(parts) = crate::resp::parse::split_inline(trimmed.as_bytes()) else {
                return Err(fail("Unbalanced quotes in configuration line"));
            };
            if parts.is_empty() {
                continue;
            }
            let name = String::from_utf8_lossy(&parts[0]).into_owned();
            if name.eq_ignore_ascii_case("include") {
                if parts.len() != 2 {
                    return Err(fail("Bad directive or wrong number of arguments"));
                }
                let path = String::from_utf8_lossy(&parts[1]).into_owned();
                let inc = std::fs::read_to_string(&path)
                    .map_err(|e| fail(&format!("Can't open include file: {e}")))?;
                let sub = Config::load(&inc, &[])?;
                cfg.values = sub.values;
                continue;
            }
            cfg.apply(&name, &parts[1..]).map_err(|e| fail(&e))?;
        }
        for (name, args) in overrides {
            cfg.apply(name, args).map_err(|e| {
                format!(
                    "\n*** FATAL CONFIG FILE ERROR (busbar {}) ***\nReading the configuration file, at line 2\n>>> '{} {}'\n{}",
                    env!("CARGO_PKG_VERSION"),
                    name,
                    args.join(" "),
                    e
                )
            })?;
        }
        Ok(cfg)
    }

    /// Protected mode applies: `protected-mode yes`, no `requirepass`, and `bind` left at
    /// its default (every interface). Then only loopback clients are accepted, as Redis.
    pub fn loopback_only(&self) -> bool {
        self.bool("protected-mode")
            && self.bytes("requirepass").is_empty()
            && self.get("bind") == "* -::*"
    }

    /// `client-output-buffer-limit` for one class as (hard, soft, soft_seconds).
    pub fn output_limit(&self, class: &str) -> (u64, u64, u64) {
        let at = CLIENT_CLASSES.iter().position(|c| *c == class).unwrap_or(0);
        output_limits(self.bytes("client-output-buffer-limit"))[at]
    }
}

/// What `busbar` was asked to do by its command line.
pub enum Cli {
    /// Run the server with this configuration.
    Run(Config),
    /// Print the version and exit.
    Version,
    /// Print usage and exit.
    Help,
}

/// Parses `busbar [config-file] [--directive value ...]` like redis-server.
pub fn parse_cli(args: &[String]) -> Result<Cli, String> {
    let mut i = 0;
    let mut text = String::new();
    let mut file = String::new();
    if let Some(first) = args.first() {
        match first.as_str() {
            "-v" | "--version" => return Ok(Cli::Version),
            "-h" | "--help" => return Ok(Cli::Help),
            "-" => {
                use std::io::Read;
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| e.to_string())?;
                i = 1;
            }
            f if !f.starts_with("--") => {
                text = std::fs::read_to_string(f)
                    .map_err(|e| format!("Fatal error, can't open config file '{f}': {e}"))?;
                file = std::fs::canonicalize(f)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| f.to_string());
                i = 1;
            }
            _ => {}
        }
    }
    let mut overrides: Vec<(String, Vec<String>)> = Vec::new();
    while i < args.len() {
        let a = &args[i];
        let Some(name) = a.strip_prefix("--") else {
            match overrides.last_mut() {
                Some((_, vals)) => vals.push(a.clone()),
                None => return Err(format!("Invalid argument '{a}'")),
            }
            i += 1;
            continue;
        };
        overrides.push((name.to_string(), Vec::new()));
        i += 1;
    }
    // `--save` with no value (or `--save ''`) clears the save points, as Redis.
    for (name, vals) in &mut overrides {
        if vals.len() == 1 && vals[0].is_empty() && name != "save" {
            continue;
        }
        if vals.iter().all(|v| v.is_empty()) && name == "save" {
            vals.clear();
        }
    }
    let mut cfg = Config::load(&text, &overrides)?;
    cfg.config_file = file;
    if cfg.get("dir").is_empty() {
        // Like Redis, `dir` reports the working directory unless set.
        if let Ok(cwd) = std::env::current_dir() {
            let _ = cfg.apply("dir", &[cwd.display().to_string()]);
        }
    }
    Ok(Cli::Run(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn command_line_overrides_file_and_clears_save() {
        let Cli::Run(cfg) =
            parse_cli(&s(&["--port", "7000", "--save", "", "--appendonly", "no"])).unwrap()
        else {
            panic!()
        };
        assert_eq!(cfg.get("port"), "7000");
        assert_eq!(cfg.get("save"), "");
        assert_eq!(cfg.get("appendonly"), "no");
    }

    #[test]
    fn unknown_directive_names_its_line() {
        let err = Config::load("port 1\nfrobnicate yes\n", &[]).unwrap_err();
        assert!(err.contains("at line 2"), "{err}");
        assert!(err.contains("Bad directive"), "{err}");
    }

    #[test]
    fn protected_mode_applies_only_with_default_bind_and_no_password() {
        let mut cfg = Config::default();
        assert!(cfg.loopback_only());
        cfg.apply("bind", &s(&["127.0.0.1"])).unwrap();
        assert!(!cfg.loopback_only());
        let mut cfg = Config::default();
        cfg.apply("requirepass", &s(&["pw"])).unwrap();
        assert!(!cfg.loopback_only());
        let mut cfg = Config::default();
        cfg.apply("protected-mode", &s(&["no"])).unwrap();
        assert!(!cfg.loopback_only());
    }

    #[test]
    fn memory_units_like_redis() {
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b"1kb"), Some(1024));
        assert_eq!(memtoull(b"2GB"), Some(2 << 30));
        assert_eq!(memtoull(b"1B"), Some(1));
        // No digits is 0; too many saturate; the unit wraps.
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"kb"), Some(0));
        assert_eq!(memtoull(b"99999999999999999999999"), Some(u64::MAX));
        assert_eq!(
            memtoull(b"18446744073709551615gb"),
            Some(u64::MAX.wrapping_mul(1 << 30))
        );
        assert_eq!(memtoull(&[b'1'; 128]), None);
        // A NUL ends the C string Redis reads.
        assert_eq!(memtoull(b"5\0junk"), Some(5));
        for bad in [
            &b"x"[..],
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"1.5",
            b"0x10",
            b"1kib",
        ] {
            assert_eq!(memtoull(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn integers_parse_like_string2ll() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"9223372036854775808",
            b"1\0",
        ] {
            assert_eq!(string2ll(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn strtoll_skips_space_takes_a_sign_and_saturates() {
        assert_eq!(strtoll(b"\t+5"), (5, true));
        assert_eq!(strtoll(b"-0"), (0, true));
        assert_eq!(strtoll(b""), (0, true));
        assert_eq!(strtoll(b"+"), (0, false));
        assert_eq!(strtoll(b"5\t"), (5, false));
        assert_eq!(strtoll(b"99999999999999999999"), (i64::MAX, true));
        assert_eq!(strtoll(b"7\0x"), (7, true));
    }

    fn set(cfg: &mut Config, pairs: &[(&str, &str)]) -> Result<(), String> {
        let pairs: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect();
        cfg.set(&pairs).map_err(|e| String::from_utf8(e).unwrap())
    }

    fn failed(name: &str, reason: &str) -> Result<(), String> {
        Err(format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
        ))
    }

    #[test]
    fn config_set_refuses_limits_that_would_lock_clients_out() {
        let mut cfg = Config::default();
        let range = "argument must be between 1048576 and 9223372036854775807 inclusive";
        for v in ["1", "2", "1kb", "1m", "", "9223372036854775808"] {
            assert_eq!(
                set(&mut cfg, &[("client-query-buffer-limit", v)]),
                failed("client-query-buffer-limit", range)
            );
            assert_eq!(
                set(&mut cfg, &[("proto-max-bulk-len", v)]),
                failed("proto-max-bulk-len", range)
            );
        }
        assert_eq!(cfg.get("client-query-buffer-limit"), "1073741824");
        assert_eq!(cfg.get("proto-max-bulk-len"), "536870912");
        set(
            &mut cfg,
            &[
                ("proto-max-bulk-len", "1mb"),
                ("client-query-buffer-limit", "1MB"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.get("proto-max-bulk-len"), "1048576");
        assert_eq!(cfg.get("client-query-buffer-limit"), "1048576");
    }

    #[test]
    fn config_set_clamps_hz_like_redis() {
        let mut cfg = Config::default();
        set(&mut cfg, &[("hz", "0")]).unwrap();
        assert_eq!(cfg.get("hz"), "1");
        set(&mut cfg, &[("hz", "100000")]).unwrap();
        assert_eq!(cfg.get("hz"), "500");
        assert_eq!(
            set(&mut cfg, &[("hz", "-1")]),
            failed("hz", "argument must be between 0 and 2147483647 inclusive")
        );
    }

    #[test]
    fn config_set_reads_numbers_in_their_storage_type() {
        let mut cfg = Config::default();
        // -1 in an unsigned field is 2^64-1: over the top, and the bounds print unsigned.
        assert_eq!(
            set(&mut cfg, &[("hash-max-listpack-entries", "-1")]),
            failed(
                "hash-max-listpack-entries",
                "argument must be between 0 and 9223372036854775807 inclusive"
            )
        );
        set(&mut cfg, &[("maxmemory", "18446744073709551616")]).unwrap();
        assert_eq!(cfg.get("maxmemory"), "18446744073709551615");
        assert_eq!(cfg.uint("maxmemory"), u64::MAX);
        set(&mut cfg, &[("maxmemory", "")]).unwrap();
        assert_eq!(cfg.get("maxmemory"), "0");
        assert_eq!(
            set(&mut cfg, &[("maxclients", "0")]),
            failed(
                "maxclients",
                "argument must be between 1 and 4294967295 inclusive"
            )
        );
        assert_eq!(
            set(&mut cfg, &[("maxclients", "01")]),
            failed("maxclients", "argument couldn't be parsed into an integer")
        );
    }

    #[test]
    fn config_set_is_all_or_nothing_and_names_the_first_problem() {
        let mut cfg = Config::default();
        assert_eq!(
            set(&mut cfg, &[("hz", "abc"), ("nosuch", "1")]),
            Err("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'".into())
        );
        assert_eq!(
            set(&mut cfg, &[("hz", "1"), ("HZ", "2"), ("daemonize", "yes")]),
            failed("HZ", "duplicate parameter")
        );
        assert_eq!(
            set(&mut cfg, &[("Daemonize", "yes"), ("nosuch", "1")]),
            failed("Daemonize", "can't set immutable config")
        );
        assert_eq!(
            set(&mut cfg, &[("dir", "/tmp")]),
            failed("dir", "can't set protected config")
        );
        // A value error names the entry as Redis spells it, lower case.
        assert_eq!(
            set(&mut cfg, &[("hz", "5"), ("HASH-MAX-ZIPLIST-VALUE", "x")]),
            failed("hash-max-ziplist-value", "argument must be a memory value")
        );
        assert_eq!(cfg.get("hz"), "10");
        // An alias and its parameter are different entries: the last one wins.
        set(
            &mut cfg,
            &[
                ("hash-max-ziplist-entries", "2"),
                ("hash-max-listpack-entries", "3"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.get("hash-max-listpack-entries"), "3");
    }

    #[test]
    fn config_set_words_and_lists_like_redis() {
        let mut cfg = Config::default();
        set(
            &mut cfg,
            &[
                ("maxmemory-policy", "ALLKEYS-LRU"),
                ("protected-mode", "No"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.get("maxmemory-policy"), "allkeys-lru");
        assert_eq!(cfg.get("protected-mode"), "no");
        assert_eq!(
            set(&mut cfg, &[("loglevel", "nothing")]),
            failed(
                "loglevel",
                "argument(s) must be one of the following: debug, verbose, notice, warning"
            )
        );
        set(&mut cfg, &[("notify-keyspace-events", "KEAmn")]).unwrap();
        assert_eq!(cfg.get("notify-keyspace-events"), "AKEm");
        set(&mut cfg, &[("save", "+5 07 1 99999999999")]).unwrap();
        assert_eq!(cfg.get("save"), "5 7 1 1215752191");
        assert_eq!(
            set(&mut cfg, &[("save", "5  7")]),
            failed("save", "Invalid save parameters")
        );
        set(&mut cfg, &[("save", "")]).unwrap();
        assert_eq!(cfg.get("save"), "");
        set(
            &mut cfg,
            &[(
                "client-output-buffer-limit",
                "replica 1kb 2mb 3 pubsub 1 2 0",
            )],
        )
        .unwrap();
        assert_eq!(
            cfg.get("client-output-buffer-limit"),
            "normal 0 0 0 slave 1024 2097152 3 pubsub 1 2 0"
        );
        assert_eq!(cfg.output_limit("pubsub"), (1, 2, 0));
        assert_eq!(
            set(&mut cfg, &[("client-output-buffer-limit", "master 1 2 3")]),
            failed(
                "client-output-buffer-limit",
                "Invalid client class specified in buffer limit configuration."
            )
        );
        // busbar cannot move its listeners: only the current bind list and port pass.
        set(&mut cfg, &[("bind", "* -::*"), ("port", "6379")]).unwrap();
        assert_eq!(
            set(&mut cfg, &[("bind", "127.0.0.1")]),
            failed("bind", "Failed to bind to specified addresses.")
        );
    }

    #[test]
    fn config_set_keeps_a_binary_password_byte_for_byte() {
        let mut cfg = Config::default();
        cfg.set(&[(&b"requirepass"[..], &b"p\xffw \0d"[..])])
            .unwrap();
        assert_eq!(cfg.bytes("requirepass"), b"p\xffw \0d");
        assert!(!cfg.loopback_only());
    }

    #[test]
    fn config_file_save_lines_add_up_and_hz_clamps() {
        let cfg = Config::load("save 900 1\nsave 300 10\nhz 0\n", &[]).unwrap();
        assert_eq!(cfg.get("save"), "900 1 300 10");
        assert_eq!(cfg.get("hz"), "1");
        let cfg = Config::load("save 900 1\nsave \"\"\nsave 60 5\n", &[]).unwrap();
        assert_eq!(cfg.get("save"), "60 5");
        let err = Config::load("hz 1 2\n", &[]).unwrap_err();
        assert!(err.ends_with("wrong number of arguments"), "{err}");
    }

    #[test]
    fn config_get_echoes_plain_names_and_reports_each_once() {
        let cfg = Config::default();
        let got = cfg.matching(&[b"SAVE", b"sav*", b"save", b"hash-max-ziplist-entries"]);
        let names: Vec<_> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["SAVE", "hash-max-ziplist-entries"]);
        assert_eq!(got[1].1, b"512");
        assert!(cfg.matching(&[b"nosuchparam"]).is_empty());
    }

    #[test]
    fn config_get_globs() {
        let cfg = Config::default();
        let names: Vec<_> = cfg
            .matching(&[b"max*"])
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert!(names.iter().any(|n| n == "maxclients") && names.iter().any(|n| n == "maxmemory"));
    }
}
