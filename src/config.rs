//! Server settings: the redis.conf / command-line directives busbar understands, their
//! defaults, validation, and the CONFIG GET/SET view of them.
//!
//! One table (`PARAMS`) is the source of truth: startup parsing, CONFIG GET (with globs)
//! and CONFIG SET all go through it. Values are kept in their canonical string form, as
//! CONFIG GET prints them; shards read typed copies (`Settings`) when the epoch changes.

use crate::store::glob_match;

/// What a parameter's value must look like.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A signed integer within bounds.
    Int { min: i64, max: i64 },
    /// A byte count with Redis's units (1k = 1000, 1kb = 1024, m, mb, g, gb).
    Memory,
    /// `yes` or `no`.
    Bool,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// Free text.
    Str,
    /// `save`: pairs of integers, or empty.
    Save,
    /// `client-output-buffer-limit`: class hard soft seconds, repeated.
    ClientOutputBufferLimit,
    /// `bind`: one or more addresses.
    List,
}

/// One directive.
struct Param {
    name: &'static str,
    kind: Kind,
    default: &'static str,
    /// False for settings that only take effect at startup (CONFIG SET refuses them).
    mutable: bool,
}

const fn p(name: &'static str, kind: Kind, default: &'static str, mutable: bool) -> Param {
    Param {
        name,
        kind,
        default,
        mutable,
    }
}

const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning", "nothing"];
const POLICIES: &[&str] = &[
    "volatile-lru",
    "allkeys-lru",
    "volatile-lfu",
    "allkeys-lfu",
    "volatile-random",
    "allkeys-random",
    "volatile-ttl",
    "noeviction",
];

/// Every directive busbar accepts. Persistence-related ones are accepted and reported
/// (benchmarks set them) before persistence exists.
const PARAMS: &[Param] = &[
    p("port", Kind::Int { min: 0, max: 65535 }, "6379", false),
    p("bind", Kind::List, "* -::*", false),
    p("threads", Kind::Int { min: 1, max: 256 }, "0", false),
    p("requirepass", Kind::Str, "", true),
    p(
        "maxclients",
        Kind::Int {
            min: 1,
            max: 1_000_000,
        },
        "10000",
        true,
    ),
    p("databases", Kind::Int { min: 1, max: 1024 }, "16", false),
    p("loglevel", Kind::Enum(LOGLEVELS), "notice", true),
    p("logfile", Kind::Str, "", false),
    p("daemonize", Kind::Bool, "no", false),
    p("pidfile", Kind::Str, "", false),
    p("dir", Kind::Str, "", true),
    p("dbfilename", Kind::Str, "dump.rdb", true),
    p("save", Kind::Save, "3600 1 300 100 60 10000", true),
    p("appendonly", Kind::Bool, "no", true),
    p("appendfilename", Kind::Str, "appendonly.aof", false),
    p(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        "everysec",
        true,
    ),
    p("proto-max-bulk-len", Kind::Memory, "536870912", true),
    p(
        "client-query-buffer-limit",
        Kind::Memory,
        "1073741824",
        true,
    ),
    p(
        "client-output-buffer-limit",
        Kind::ClientOutputBufferLimit,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        true,
    ),
    p("hz", Kind::Int { min: 1, max: 500 }, "10", true),
    p(
        "timeout",
        Kind::Int {
            min: 0,
            max: i32::MAX as i64,
        },
        "0",
        true,
    ),
    p(
        "tcp-keepalive",
        Kind::Int {
            min: 0,
            max: i32::MAX as i64,
        },
        "300",
        true,
    ),
    p(
        "tcp-backlog",
        Kind::Int { min: 0, max: 65535 },
        "511",
        false,
    ),
    p("maxmemory", Kind::Memory, "0", true),
    p("maxmemory-policy", Kind::Enum(POLICIES), "noeviction", true),
    p(
        "maxmemory-samples",
        Kind::Int { min: 1, max: 64 },
        "5",
        true,
    ),
    p("protected-mode", Kind::Bool, "yes", true),
    p("io-threads", Kind::Int { min: 1, max: 128 }, "1", false),
    p("notify-keyspace-events", Kind::Str, "", true),
    p(
        "slowlog-log-slower-than",
        Kind::Int {
            min: -1,
            max: i64::MAX,
        },
        "10000",
        true,
    ),
    p(
        "slowlog-max-len",
        Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        "128",
        true,
    ),
    p("latency-tracking", Kind::Bool, "yes", true),
    p("lazyfree-lazy-user-flush", Kind::Bool, "no", true),
    p(
        "supervised",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
        false,
    ),
    p("unixsocket", Kind::Str, "", false),
    p("aof-load-truncated", Kind::Bool, "yes", true),
    p(
        "hash-max-listpack-entries",
        Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        "512",
        true,
    ),
    p(
        "hash-max-listpack-value",
        Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        "64",
        true,
    ),
    p(
        "list-max-listpack-size",
        Kind::Int {
            min: i32::MIN as i64,
            max: i32::MAX as i64,
        },
        "-2",
        true,
    ),
    p(
        "set-max-intset-entries",
        Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        "512",
        true,
    ),
    p(
        "zset-max-listpack-entries",
        Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        "128",
        true,
    ),
    p(
        "zset-max-listpack-value",
        Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        "64",
        true,
    ),
    p(
        "stream-node-max-entries",
        Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        "100",
        true,
    ),
    p(
        "stream-node-max-bytes",
        Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        "4096",
        true,
    ),
    p("activerehashing", Kind::Bool, "yes", true),
    p("syslog-enabled", Kind::Bool, "no", false),
    p("always-show-logo", Kind::Bool, "no", false),
    p("stop-writes-on-bgsave-error", Kind::Bool, "yes", true),
    p("rdbcompression", Kind::Bool, "yes", true),
    p("rdbchecksum", Kind::Bool, "yes", true),
];

/// Aliases Redis accepts for old names.
fn canonical(name: &str) -> &str {
    match name {
        "hash-max-ziplist-entries" => "hash-max-listpack-entries",
        "hash-max-ziplist-value" => "hash-max-listpack-value",
        "list-max-ziplist-size" => "list-max-listpack-size",
        "zset-max-ziplist-entries" => "zset-max-listpack-entries",
        "zset-max-ziplist-value" => "zset-max-listpack-value",
        "server-threads" | "shards" => "threads",
        other => other,
    }
}

/// Parses a byte count with Redis's units (`memtoull`).
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let (num, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, mul)| lower.strip_suffix(suf).map(|n| (n.to_string(), *mul)))
    .unwrap_or((lower.clone(), 1));
    let n: u64 = num.parse().ok()?;
    n.checked_mul(mul)
}

fn yes_no(s: &str) -> Option<&'static str> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Some("yes"),
        "no" => Some("no"),
        _ => None,
    }
}

/// The full configuration, as strings in canonical form, indexed like `PARAMS`.
#[derive(Clone, Debug)]
pub struct Config {
    values: Vec<String>,
    /// Absolute path of the config file, if one was given (INFO `config_file`).
    pub config_file: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            values: PARAMS.iter().map(|p| p.default.to_string()).collect(),
            config_file: String::new(),
        }
    }
}

impl Config {
    fn index(name: &str) -> Option<usize> {
        let name = canonical(name);
        PARAMS.iter().position(|p| p.name == name)
    }

    /// The canonical value of `name` (panics on an unknown name: a bug, not user input).
    pub fn get(&self, name: &str) -> &str {
        &self.values[Self::index(name).unwrap_or_else(|| panic!("unknown config {name}"))]
    }

    /// An integer-valued setting.
    pub fn int(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    /// A yes/no setting.
    pub fn bool(&self, name: &str) -> bool {
        self.get(name) == "yes"
    }

    /// Validates and stores one directive (from the file, the command line or CONFIG SET).
    /// `args` are the directive's arguments. Errors are Redis's CONFIG SET reasons.
    pub fn apply(
        &mut self,
        name: &str,
        args: &[String],
        from_config_set: bool,
    ) -> Result<(), String> {
        let lname = name.to_ascii_lowercase();
        let Some(i) = Self::index(&lname) else {
            return Err("Bad directive or wrong number of arguments".into());
        };
        let param = &PARAMS[i];
        if from_config_set && !param.mutable {
            return Err("can't set immutable config".into());
        }
        let joined = args.join(" ");
        let value = match param.kind {
            Kind::Int { min, max } => {
                if args.len() != 1 {
                    return Err("wrong number of arguments".into());
                }
                let v: i64 = args[0]
                    .parse()
                    .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
                if v < min || v > max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                v.to_string()
            }
            Kind::Memory => {
                if args.len() != 1 {
                    return Err("wrong number of arguments".into());
                }
                parse_memory(&args[0])
                    .ok_or_else(|| "argument must be a memory value".to_string())?
                    .to_string()
            }
            Kind::Bool => {
                if args.len() != 1 {
                    return Err("wrong number of arguments".into());
                }
                yes_no(&args[0])
                    .ok_or_else(|| "argument must be 'yes' or 'no'".to_string())?
                    .to_string()
            }
            Kind::Enum(words) => {
                let w = joined.to_ascii_lowercase();
                if !words.contains(&w.as_str()) {
                    return Err("argument(s) must be one of the following: ".to_string()
                        + &words.join(", "));
                }
                w
            }
            Kind::Str => {
                if args.len() > 1 {
                    return Err("wrong number of arguments".into());
                }
                joined
            }
            Kind::List => joined,
            Kind::Save => {
                let parts: Vec<&str> = joined.split_whitespace().collect();
                if !parts.len().is_multiple_of(2) || parts.iter().any(|x| x.parse::<u64>().is_err())
                {
                    return Err("Invalid save parameters".into());
                }
                parts.join(" ")
            }
            Kind::ClientOutputBufferLimit => {
                let parts: Vec<&str> = joined.split_whitespace().collect();
                if parts.is_empty() || !parts.len().is_multiple_of(4) {
                    return Err("Wrong number of arguments in buffer limit configuration.".into());
                }
                let mut cur: Vec<String> = self.values[i]
                    .split_whitespace()
                    .map(|s| s.to_string())
                    .collect();
                for chunk in parts.chunks(4) {
                    let class = match chunk[0].to_ascii_lowercase().as_str() {
                        "normal" => "normal",
                        "slave" | "replica" => "slave",
                        "pubsub" => "pubsub",
                        _ => {
                            return Err(
                                "Invalid client class specified in buffer limit configuration."
                                    .into(),
                            )
                        }
                    };
                    let hard = parse_memory(chunk[1]);
                    let soft = parse_memory(chunk[2]);
                    let secs = chunk[3].parse::<u64>().ok();
                    let (Some(hard), Some(soft), Some(secs)) = (hard, soft, secs) else {
                        return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into());
                    };
                    let pos = cur
                        .iter()
                        .position(|c| c == class)
                        .expect("all classes present");
                    cur[pos + 1] = hard.to_string();
                    cur[pos + 2] = soft.to_string();
                    cur[pos + 3] = secs.to_string();
                }
                cur.join(" ")
            }
        };
        self.values[i] = value;
        Ok(())
    }

    /// `(name, value)` for every parameter matching `patterns`, as Redis's CONFIG GET: a
    /// plain name (an alias too) comes back spelled as the client wrote it, a glob yields
    /// canonical names, and no name is reported twice (compared case-insensitively).
    pub fn matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let seen = |out: &[(String, String)], name: &str| {
            out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        for pat in patterns {
            if !pat.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
                let name = String::from_utf8_lossy(pat).into_owned();
                if let Some(i) = Self::index(&name.to_ascii_lowercase()) {
                    if PARAMS[i].name != "threads" && !seen(&out, &name) {
                        out.push((name, self.values[i].clone()));
                    }
                }
                continue;
            }
            for (i, param) in PARAMS.iter().enumerate() {
                // `threads` is reported by CONFIG GET under its own name, not a Redis one.
                if param.name != "threads"
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
            let parts: Vec<String> = parts
                .into_iter()
                .map(|p| String::from_utf8_lossy(&p).into_owned())
                .collect();
            if parts.is_empty() {
                continue;
            }
            if parts[0].eq_ignore_ascii_case("include") {
                if parts.len() != 2 {
                    return Err(fail("Bad directive or wrong number of arguments"));
                }
                let inc = std::fs::read_to_string(&parts[1])
                    .map_err(|e| fail(&format!("Can't open include file: {e}")))?;
                let sub = Config::load(&inc, &[])?;
                cfg.values = sub.values;
                continue;
            }
            cfg.apply(&parts[0], &parts[1..], false)
                .map_err(|e| fail(&e))?;
        }
        for (name, args) in overrides {
            cfg.apply(name, args, false).map_err(|e| {
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
            && self.get("requirepass").is_empty()
            && self.get("bind") == "* -::*"
    }

    /// `client-output-buffer-limit` for one class as (hard, soft, soft_seconds).
    pub fn output_limit(&self, class: &str) -> (u64, u64, u64) {
        let v: Vec<&str> = self
            .get("client-output-buffer-limit")
            .split_whitespace()
            .collect();
        let pos = v.iter().position(|c| *c == class).unwrap_or(0);
        let n = |i: usize| v.get(pos + i).and_then(|s| s.parse().ok()).unwrap_or(0);
        (n(1), n(2), n(3))
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
            let _ = cfg.apply("dir", &[cwd.display().to_string()], false);
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
        cfg.apply("bind", &s(&["127.0.0.1"]), false).unwrap();
        assert!(!cfg.loopback_only());
        let mut cfg = Config::default();
        cfg.apply("requirepass", &s(&["pw"]), false).unwrap();
        assert!(!cfg.loopback_only());
        let mut cfg = Config::default();
        cfg.apply("protected-mode", &s(&["no"]), false).unwrap();
        assert!(!cfg.loopback_only());
    }

    #[test]
    fn memory_units_like_redis() {
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1kb"), Some(1024));
        assert_eq!(parse_memory("2GB"), Some(2 << 30));
        assert_eq!(parse_memory("x"), None);
    }

    #[test]
    fn config_get_echoes_plain_names_and_reports_each_once() {
        let cfg = Config::default();
        let got = cfg.matching(&[b"SAVE", b"sav*", b"save", b"hash-max-ziplist-entries"]);
        let names: Vec<_> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["SAVE", "hash-max-ziplist-entries"]);
        assert_eq!(got[1].1, "512");
        assert!(cfg.matching(&[b"nosuchparam"]).is_empty());
    }

    #[test]
    fn config_get_globs_and_output_limits() {
        let mut cfg = Config::default();
        let names: Vec<_> = cfg
            .matching(&[b"max*"])
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert!(names.iter().any(|n| n == "maxclients") && names.iter().any(|n| n == "maxmemory"));
        cfg.apply(
            "client-output-buffer-limit",
            &s(&["pubsub", "1mb", "0", "0"]),
            true,
        )
        .unwrap();
        assert_eq!(cfg.output_limit("pubsub"), (1 << 20, 0, 0));
    }
}
