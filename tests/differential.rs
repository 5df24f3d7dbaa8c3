//! Differential test: the same command sequences go to busbar and to redis-server 7 (the
//! oracle), and the replies must match byte for byte, in RESP2 and in RESP3.
//!
//! # Adding a case
//!
//! The cases live in data files under `tests/differential/`, one file per command family
//! (`strings.redis`, `keys.redis`, `server.redis`, `lists.redis`, `hashes.redis`,
//! `sets.redis`, `zsets.redis`, `streams.redis`, `stream_groups.redis`,
//! `persistence.redis`, `transactions.redis`) and a few small files that each have a test of their own. The files are built into the test binary with
//! `include_str!`; a new file is listed in `ALL_FILES` and given to a test.
//!
//! A case is a header line `### name` (the behaviour, in a-z, 0-9 and `_`, unique over all
//! files) followed by its script, up to the next header. A script is one command per line,
//! split like redis-cli / Redis inline commands (`sdssplitargs`): double quotes take
//! `\x00`, `\r`, `\n` escapes, single quotes are literal. `<<text*N>>` expands to `text`
//! repeated N times. Blank lines and lines starting with `#` (but not `###`) are ignored;
//! before the first header they describe the file, and nothing else may stand there. Every
//! case runs on a fresh connection after `FLUSHALL`, once in RESP2 and once after `HELLO 3`,
//! in file order.
//!
//! A line may start with a check, for replies that legitimately differ:
//!
//! | check | compares |
//! |---|---|
//! | (none) | the raw reply bytes |
//! | `~sorted` | an array's elements as a multiset (KEYS) |
//! | `~pairs` | a map's (or flat array's) key/value pairs as a set (CONFIG GET) |
//! | `~near:N` | integers within N of each other (TTL, PTTL) |
//! | `~hello` | HELLO's map with `version` and `id` masked |
//! | `~shape` | the type, element count and element types (TIME, CLIENT ID, INFO) |
//! | `~scan` | a full SCAN iteration from the given cursor: the same set of keys, and busbar returns each key exactly once |
//! | `~member` | RANDOMKEY: both nil, or busbar's key exists |
//! | `~skip` | nothing (setup whose reply is checked elsewhere) |
//!
//! With two shards, keys `a d e k1 k4 k5 foo x y key src dst {t}*` live on shard 1 and
//! `b c f k2 k3 bar baz z n` on shard 0; `corpus_spans_both_shards` keeps it that way.
//!
//! A known divergence lives in a file of its own, run by an `#[ignore]`d test whose reason
//! names the bug; when the bug is fixed, move its cases into its family's file and delete
//! the file and the test. Run the ignored ones with `cargo test --test differential --
//! --ignored` (none is ignored today: `mset_odd_arguments.redis`,
//! `unknown_command_bytes.redis` and `client_list.redis` run in tests of their own).
//!
//! Set `BUSBAR_DIFF_CASE=<substring>` to run only matching cases.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

use busbar::resp::parse::split_inline;
use busbar::shard::route::shard_of;

/// A corpus file: its name under `tests/differential/` (for messages) and its text, built
/// into the test binary so that the tests do not depend on the working directory.
type File = (&'static str, &'static str);

macro_rules! corpus_file {
    ($name:literal) => {
        ($name, include_str!(concat!("differential/", $name)))
    };
}

const STRINGS: File = corpus_file!("strings.redis");
const KEYS: File = corpus_file!("keys.redis");
const SERVER: File = corpus_file!("server.redis");
const LISTS: File = corpus_file!("lists.redis");
const HASHES: File = corpus_file!("hashes.redis");
const SETS: File = corpus_file!("sets.redis");
const ZSETS: File = corpus_file!("zsets.redis");
const STREAMS: File = corpus_file!("streams.redis");
const STREAM_GROUPS: File = corpus_file!("stream_groups.redis");
const PERSISTENCE: File = corpus_file!("persistence.redis");
const TRANSACTIONS: File = corpus_file!("transactions.redis");
const MSET_ODD_ARGUMENTS: File = corpus_file!("mset_odd_arguments.redis");
const UNKNOWN_COMMAND_BYTES: File = corpus_file!("unknown_command_bytes.redis");
const CLIENT_LIST: File = corpus_file!("client_list.redis");

/// The files run once in each protocol by `corpus_replies_match_redis_in_resp2` and
/// `..._resp3`; every other file has a test of its own that runs it in both.
const CORPUS: &[File] = &[STRINGS, KEYS, SERVER];

/// Every file under `tests/differential/`; `corpus_names_are_unique_and_scripts_parse`
/// checks that none is left out.
const ALL_FILES: &[File] = &[
    STRINGS,
    KEYS,
    SERVER,
    LISTS,
    HASHES,
    SETS,
    ZSETS,
    STREAMS,
    STREAM_GROUPS,
    PERSISTENCE,
    TRANSACTIONS,
    MSET_ODD_ARGUMENTS,
    UNKNOWN_COMMAND_BYTES,
    CLIENT_LIST,
];

/// One case of a corpus file: a `### name` header and the script under it.
struct Case {
    file: &'static str,
    /// The line of the header in `file`, counting from 1.
    line: usize,
    name: &'static str,
    /// The lines up to the next header, without the blank lines that end them.
    script: String,
}

/// Splits a corpus file into its cases, in file order. Before the first header only blank
/// lines and `#` comments (the file's description) may stand; Err names the file and line
/// of anything else, of a malformed header, and of a name used twice in the file.
fn parse_file((file, text): File) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if let Some(rest) = raw.strip_prefix("###") {
            let name = rest.strip_prefix(' ').unwrap_or_default();
            let well_formed = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !well_formed {
                return Err(format!(
                    "{file}:{line}: a case header is `### name`, the name in a-z, 0-9 and _"
                ));
            }
            if let Some(first) = cases.iter().find(|c| c.name == name) {
                return Err(format!(
                    "{file}:{line}: duplicate case {name} (first at line {})",
                    first.line
                ));
            }
            cases.push(Case {
                file,
                line,
                name,
                script: String::new(),
            });
        } else if let Some(case) = cases.last_mut() {
            case.script.push_str(raw);
            case.script.push('\n');
        } else if !raw.trim().is_empty() && !raw.starts_with('#') {
            return Err(format!(
                "{file}:{line}: a script line before any `### name` header"
            ));
        }
    }
    for case in &mut cases {
        while case.script.ends_with("\n\n") {
            case.script.pop();
        }
    }
    Ok(cases)
}

/// The cases of `files`, in order; panics with the file and line of a malformed one.
fn cases_of(files: &[File]) -> Vec<Case> {
    files
        .iter()
        .flat_map(|&f| parse_file(f).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// How two replies are compared (the `~check` prefix of a script line).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    Exact,
    Sorted,
    Pairs,
    Near(i64),
    Hello,
    Shape,
    Scan,
    Member,
    Skip,
}

/// One command of a script.
struct Line {
    check: Check,
    args: Vec<Vec<u8>>,
    text: String,
}

/// Expands `<<text*N>>` to `text` repeated N times.
fn expand(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find("<<") {
        let close = open + rest[open..].find(">>").expect("unclosed <<");
        let (text, n) = rest[open + 2..close].rsplit_once('*').expect("<<text*N>>");
        out.push_str(&rest[..open]);
        out.push_str(&text.repeat(n.parse().expect("repeat count")));
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    out
}

fn parse_script(script: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    for raw in script.lines() {
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let (check, cmd) = match raw.strip_prefix('~') {
            Some(rest) => {
                let (word, cmd) = rest.split_once(' ').expect("check then command");
                let check = match word {
                    "sorted" => Check::Sorted,
                    "pairs" => Check::Pairs,
                    "hello" => Check::Hello,
                    "shape" => Check::Shape,
                    "scan" => Check::Scan,
                    "member" => Check::Member,
                    "skip" => Check::Skip,
                    w if w.starts_with("near:") => Check::Near(w[5..].parse().expect("near:N")),
                    w => panic!("unknown check ~{w}"),
                };
                (check, cmd)
            }
            None => (Check::Exact, raw),
        };
        let args = split_inline(expand(cmd).as_bytes())
            .unwrap_or_else(|| panic!("bad quoting in script line: {raw}"));
        assert!(!args.is_empty(), "empty command in script line: {raw}");
        let mut text = raw.to_string();
        if text.len() > 120 {
            text = format!("{}...", text.chars().take(120).collect::<String>());
        }
        lines.push(Line { check, args, text });
    }
    lines
}

/// Compares two replies under `check`; Err describes the difference.
fn compare(check: Check, b: &[u8], r: &[u8]) -> Result<(), String> {
    let same = match check {
        Check::Exact => b == r,
        Check::Skip => true,
        Check::Sorted | Check::Pairs => {
            let (mut bv, mut rv) = (Resp::from(b), Resp::from(r));
            if bv.tag() != rv.tag() {
                false
            } else if let (Resp::Agg(_, Some(bi)), Resp::Agg(_, Some(ri))) = (&mut bv, &mut rv) {
                if check == Check::Pairs {
                    let mut bp: Vec<_> = bi.chunks(2).map(<[Resp]>::to_vec).collect();
                    let mut rp: Vec<_> = ri.chunks(2).map(<[Resp]>::to_vec).collect();
                    bp.sort();
                    rp.sort();
                    bp == rp
                } else {
                    bi.sort();
                    ri.sort();
                    bi == ri
                }
            } else {
                b == r
            }
        }
        Check::Near(n) => {
            match (
                busbar::resp::write::read_int(b),
                busbar::resp::write::read_int(r),
            ) {
                (Some(x), Some(y)) => (x - y).abs() <= n && (x >= 0) == (y >= 0),
                _ => b == r,
            }
        }
        Check::Hello => mask_hello(b) == mask_hello(r),
        Check::Shape => {
            let (bv, rv) = (Resp::from(b), Resp::from(r));
            bv.tag() == rv.tag()
                && bv.items().len() == rv.items().len()
                && bv
                    .items()
                    .iter()
                    .zip(rv.items())
                    .all(|(x, y)| x.tag() == y.tag())
                && (bv.tag() != b'-' || b == r)
        }
        Check::Scan | Check::Member => unreachable!("handled by the runner"),
    };
    if same {
        Ok(())
    } else {
        Err(format!("busbar: {}\n      redis:  {}", esc(b), esc(r)))
    }
}

/// Runs a full SCAN iteration starting from `args[1]`; the keys in the order returned, or
/// the first error reply.
fn scan_all(c: &mut Raw, args: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, Vec<u8>> {
    let mut args = args.to_vec();
    let mut keys = Vec::new();
    for _ in 0..100_000 {
        let reply = c.cmd_owned(&args);
        if reply.starts_with(b"-") {
            return Err(reply);
        }
        let v = Resp::from(&reply);
        let [cursor, batch] = v.items() else {
            panic!("bad SCAN reply {}", show(&reply))
        };
        keys.extend(
            batch
                .items()
                .iter()
                .map(|k| k.bytes().expect("key").to_vec()),
        );
        let cursor = cursor.bytes().expect("cursor").to_vec();
        if cursor == b"0" {
            return Ok(keys);
        }
        args[1] = cursor;
    }
    panic!("SCAN did not terminate");
}

fn compare_scan(b: &mut Raw, r: &mut Raw, args: &[Vec<u8>]) -> Result<(), String> {
    match (scan_all(b, args), scan_all(r, args)) {
        (Err(be), Err(re)) if be == re => Ok(()),
        (Ok(bk), Ok(rk)) => {
            let mut sorted = bk.clone();
            sorted.sort();
            let before = sorted.len();
            sorted.dedup();
            if sorted.len() != before {
                return Err(format!("busbar returned a key twice: {:?}", show_keys(&bk)));
            }
            let mut rk = rk;
            rk.sort();
            rk.dedup();
            if sorted != rk {
                return Err(format!(
                    "busbar: {:?}\n      redis:  {:?}",
                    show_keys(&sorted),
                    show_keys(&rk)
                ));
            }
            Ok(())
        }
        (b, r) => {
            let side = |x: Result<Vec<Vec<u8>>, Vec<u8>>| match x {
                Ok(keys) => format!("{:?}", show_keys(&keys)),
                Err(e) => esc(&e),
            };
            Err(format!("busbar: {}\n      redis:  {}", side(b), side(r)))
        }
    }
}

fn show_keys(keys: &[Vec<u8>]) -> Vec<String> {
    keys.iter().map(|k| esc(k)).collect()
}

/// Reply bytes for a failure message: printable ASCII as is, everything else escaped.
fn esc(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

fn compare_member(b: &mut Raw, r: &mut Raw, args: &[Vec<u8>]) -> Result<(), String> {
    let (bv, rv) = (b.cmd_owned(args), r.cmd_owned(args));
    let (bp, rp) = (Resp::from(&bv), Resp::from(&rv));
    if rp.is_null() || bv.starts_with(b"-") || rv.starts_with(b"-") {
        return compare(Check::Exact, &bv, &rv);
    }
    let key = match &bp {
        Resp::Bulk(b'$', Some(k)) => k.clone(),
        _ => return Err(format!("busbar: {}\n      redis:  {}", esc(&bv), esc(&rv))),
    };
    let exists = b.cmd_bytes(&[b"EXISTS", &key]);
    if exists != b":1\r\n" {
        return Err(format!(
            "busbar returned {} which does not exist",
            esc(&key)
        ));
    }
    Ok(())
}

/// A connection to each server.
struct Pair {
    b: Raw,
    r: Raw,
}

impl Pair {
    fn open(bport: u16, rport: u16, resp3: bool) -> (Pair, Vec<String>) {
        let mut p = Pair {
            b: Raw::connect(bport).unwrap(),
            r: Raw::connect(rport).unwrap(),
        };
        let mut problems = Vec::new();
        if resp3 {
            let (bv, rv) = (p.b.cmd(&["HELLO", "3"]), p.r.cmd(&["HELLO", "3"]));
            if let Err(e) = compare(Check::Hello, &bv, &rv) {
                problems.push(format!("HELLO 3\n      {e}"));
            }
        }
        (p, problems)
    }
}

/// Runs one case; returns a description of every mismatch.
fn run_case(script: &str, bport: u16, rport: u16, resp3: bool) -> Vec<String> {
    let lines = parse_script(script);
    for port in [bport, rport] {
        let mut setup = Raw::connect(port).unwrap();
        setup.send(&Raw::encode(&[b"FLUSHALL"]));
        if setup.try_read_reply().as_deref() != Ok(b"+OK\r\n") {
            return vec![format!("FLUSHALL before the case failed on port {port}")];
        }
    }
    let (mut p, mut problems) = Pair::open(bport, rport, resp3);
    for line in &lines {
        let result = match line.check {
            Check::Scan => compare_scan(&mut p.b, &mut p.r, &line.args),
            Check::Member => compare_member(&mut p.b, &mut p.r, &line.args),
            check => {
                let a: Vec<&[u8]> = line.args.iter().map(|a| a.as_slice()).collect();
                p.b.send(&Raw::encode(&a));
                p.r.send(&Raw::encode(&a));
                match (p.b.try_read_reply(), p.r.try_read_reply()) {
                    (Ok(bv), Ok(rv)) => compare(check, &bv, &rv),
                    (bv, rv) => {
                        problems.push(format!(
                            "{}\n      busbar: {:?}\n      redis:  {:?}",
                            line.text,
                            bv.map(|v| esc(&v)),
                            rv.map(|v| esc(&v))
                        ));
                        // The connections are in an unknown state: stop this case.
                        return problems;
                    }
                }
            }
        };
        if let Err(e) = result {
            problems.push(format!("{}\n      {e}", line.text));
        }
        if line.args[0].eq_ignore_ascii_case(b"quit") {
            if !p.b.closed() {
                problems.push(format!(
                    "{}\n      busbar kept the connection open",
                    line.text
                ));
            }
            assert!(p.r.closed(), "redis closes after QUIT");
            let (np, more) = Pair::open(bport, rport, resp3);
            p = np;
            problems.extend(more);
        }
    }
    problems
}

/// True when a fresh connection gets PONG.
fn answers_ping(port: u16) -> bool {
    let Ok(mut c) = Raw::connect(port) else {
        return false;
    };
    c.send(&Raw::encode(&[b"PING"]));
    c.try_read_reply().as_deref() == Ok(b"+PONG\r\n")
}

/// Runs every case of `files` in each protocol of `protocols` (RESP3 when true) against a
/// fresh busbar and redis-server, and fails listing every mismatch.
fn run_corpus(files: &[File], protocols: &[bool]) {
    let corpus = cases_of(files);
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let bb = busbar(&[]);
    let filter = std::env::var("BUSBAR_DIFF_CASE").unwrap_or_default();
    let mut failures = Vec::new();
    'protocols: for &resp3 in protocols {
        let proto = if resp3 { "RESP3" } else { "RESP2" };
        let (mut cases, mut commands) = (0, 0);
        for case in &corpus {
            if !case.name.contains(filter.as_str()) {
                continue;
            }
            let at = format!("{proto} {}:{} {}", case.file, case.line, case.name);
            cases += 1;
            commands += parse_script(&case.script).len();
            for p in run_case(&case.script, bb.port, redis.port, resp3) {
                failures.push(format!("[{at}] {p}"));
            }
            if !answers_ping(bb.port) {
                failures.push(format!(
                    "[{at}] busbar stopped answering; later cases not run"
                ));
                break 'protocols;
            }
        }
        eprintln!("differential {proto}: {cases} sequences, {commands} commands");
    }
    assert!(
        failures.is_empty(),
        "{} mismatches with redis-server:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn corpus_replies_match_redis_in_resp2() {
    run_corpus(CORPUS, &[false]);
}

#[test]
fn corpus_replies_match_redis_in_resp3() {
    run_corpus(CORPUS, &[true]);
}

#[test]
fn mset_with_a_missing_value_across_shards_is_an_arity_error() {
    run_corpus(&[MSET_ODD_ARGUMENTS], &[false, true]);
}

#[test]
fn unknown_command_error_quotes_bytes_like_redis() {
    run_corpus(&[UNKNOWN_COMMAND_BYTES], &[false, true]);
}

#[test]
fn client_list_is_verbatim_text_and_rejects_bad_filters() {
    run_corpus(&[CLIENT_LIST], &[false, true]);
}

#[test]
fn transactions_match_redis() {
    run_corpus(&[TRANSACTIONS], &[false, true]);
}

#[test]
fn hash_commands_match_redis() {
    run_corpus(&[HASHES], &[false, true]);
}

#[test]
fn set_commands_match_redis() {
    run_corpus(&[SETS], &[false, true]);
}

#[test]
fn sorted_set_commands_match_redis() {
    run_corpus(&[ZSETS], &[false, true]);
}

#[test]
fn stream_commands_match_redis() {
    run_corpus(&[STREAMS], &[false, true]);
}

#[test]
fn stream_group_commands_match_redis() {
    run_corpus(&[STREAM_GROUPS], &[false, true]);
}

#[test]
fn persistence_commands_and_settings_match_redis() {
    run_corpus(&[PERSISTENCE], &[false, true]);
}

#[test]
fn list_commands_match_redis() {
    run_corpus(&[LISTS], &[false, true]);
}

#[test]
fn corpus_spans_both_shards() {
    // Every multi-key case depends on keys of both shards being present; check the map of
    // keys named in the module docs still holds for two shards.
    for k in [
        "a", "d", "e", "k1", "k4", "k5", "foo", "x", "y", "key", "src", "dst", "{t}a",
    ] {
        assert_eq!(shard_of(k.as_bytes(), 2), 1, "{k}");
    }
    for k in ["b", "c", "f", "k2", "k3", "bar", "baz", "z", "n"] {
        assert_eq!(shard_of(k.as_bytes(), 2), 0, "{k}");
    }
}

#[test]
fn corpus_names_are_unique_and_scripts_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("tests/differential")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = ALL_FILES.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "ALL_FILES lists every file under tests/differential"
    );

    let mut names = std::collections::HashMap::new();
    for case in cases_of(ALL_FILES) {
        let at = format!("{}:{}", case.file, case.line);
        if let Some(first) = names.insert(case.name, at.clone()) {
            panic!("{at}: duplicate case {} (first at {first})", case.name);
        }
        let lines = std::panic::catch_unwind(|| parse_script(&case.script))
            .unwrap_or_else(|_| panic!("{at}: case {} does not parse", case.name));
        assert!(!lines.is_empty(), "{at}: empty case {}", case.name);
    }
}

#[test]
fn a_corpus_file_splits_into_cases_at_their_headers() {
    let text = "# about\n\n### one\nPING\n# note\nGET a\n\n### two_2\n~sorted KEYS *\n\n\n";
    let cases = parse_file(("t.redis", text)).unwrap();
    let got: Vec<_> = cases
        .iter()
        .map(|c| (c.name, c.line, c.script.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("one", 3, "PING\n# note\nGET a\n"),
            ("two_2", 8, "~sorted KEYS *\n")
        ]
    );
}

#[test]
fn a_malformed_corpus_file_is_refused_with_its_line() {
    for (text, error) in [
        (
            "# about\nPING\n### one\nPING\n",
            "t.redis:2: a script line before any `### name` header",
        ),
        (
            "### one\nPING\n### two\nPING\n### one\nPING\n",
            "t.redis:5: duplicate case one (first at line 1)",
        ),
        (
            "### \nPING\n",
            "t.redis:1: a case header is `### name`, the name in a-z, 0-9 and _",
        ),
        (
            "###one\nPING\n",
            "t.redis:1: a case header is `### name`, the name in a-z, 0-9 and _",
        ),
        (
            "### one two\nPING\n",
            "t.redis:1: a case header is `### name`, the name in a-z, 0-9 and _",
        ),
    ] {
        assert_eq!(
            parse_file(("t.redis", text)).err().as_deref(),
            Some(error),
            "{text:?}"
        );
    }
}

/// A seeded xorshift for the random sequences (same sequence every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A random sorted-set command over keys of both shards (and a plain set), its scores and
/// ranges drawn from small pools so that they collide, tie and hit infinities.
fn random_zset_command(r: &mut Rng, lex: bool) -> String {
    const KEYS: &[&str] = &["z", "a", "b", "d"];
    const SCORES: &[&str] = &["0", "1", "2", "2.5", "-1", "inf", "-inf", "1e3", "0.1", "3"];
    const BOUNDS: &[&str] = &["0", "1", "(1", "2.5", "(2.5", "-inf", "+inf", "(3", "-1"];
    const LEX: &[&str] = &["-", "+", "[m1", "(m1", "[m3", "(m5", "[m", "(m9"];
    const IDX: &[&str] = &["0", "1", "-1", "2", "-2", "5", "-10", "100"];
    let key = r.pick(KEYS);
    let other = r.pick(KEYS);
    let member = format!("m{}", r.below(8));
    match r.below(31) {
        0..=4 => {
            let mut c = format!("ZADD {key}");
            for flag in ["NX", "XX", "GT", "LT", "CH"] {
                if r.below(6) == 0 {
                    c += &format!(" {flag}");
                }
            }
            for _ in 0..1 + r.below(3) {
                c += &format!(" {} m{}", r.pick(SCORES), r.below(8));
            }
            c
        }
        5 => format!("ZINCRBY {key} {} {member}", r.pick(SCORES)),
        6 => format!("ZREM {key} {member} m{}", r.below(8)),
        7 => format!("ZRANK {key} {member}"),
        8 => format!("ZREVRANK {key} {member}"),
        9 => format!("ZSCORE {key} {member}"),
        10 => {
            let ws = if r.below(2) == 0 { " WITHSCORES" } else { "" };
            format!("ZRANGE {key} {} {}{ws}", r.pick(IDX), r.pick(IDX))
        }
        11 => {
            let (rev, (lo, hi)) = if r.below(2) == 0 {
                ("", (r.pick(BOUNDS), r.pick(BOUNDS)))
            } else {
                (" REV", (r.pick(BOUNDS), r.pick(BOUNDS)))
            };
            let limit = if r.below(2) == 0 {
                format!(" LIMIT {} {}", r.below(3), r.pick(&["1", "2", "-1", "0"]))
            } else {
                String::new()
            };
            format!("ZRANGE {key} {lo} {hi} BYSCORE{rev}{limit} WITHSCORES")
        }
        12 if lex => format!("ZRANGEBYLEX {key} {} {}", r.pick(LEX), r.pick(LEX)),
        13 => format!("ZCOUNT {key} {} {}", r.pick(BOUNDS), r.pick(BOUNDS)),
        14 => format!("ZPOPMIN {key} {}", r.below(3)),
        15 => format!("ZPOPMAX {key}"),
        16 => {
            let op = r.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);
            let agg = if op != "ZDIFFSTORE" && r.below(2) == 0 {
                format!(
                    " WEIGHTS {} {} AGGREGATE {}",
                    r.pick(SCORES),
                    r.pick(SCORES),
                    r.pick(&["SUM", "MIN", "MAX"])
                )
            } else {
                String::new()
            };
            format!("{op} {} 2 {key} {other}{agg}", r.pick(KEYS))
        }
        17 => {
            let op = r.pick(&["ZUNION", "ZINTER", "ZDIFF"]);
            format!("{op} 3 {key} {other} n WITHSCORES")
        }
        18 => format!(
            "ZRANGESTORE {} {key} {} {}",
            r.pick(KEYS),
            r.pick(IDX),
            r.pick(IDX)
        ),
        19 => format!("ZMPOP 2 {key} {other} {} COUNT 2", r.pick(&["MIN", "MAX"])),
        20 => format!(
            "ZREMRANGEBYSCORE {key} {} {}",
            r.pick(BOUNDS),
            r.pick(BOUNDS)
        ),
        21 => format!("ZREMRANGEBYRANK {key} {} {}", r.pick(IDX), r.pick(IDX)),
        22 if lex => format!("ZREMRANGEBYLEX {key} {} {}", r.pick(LEX), r.pick(LEX)),
        23 if lex => format!("ZLEXCOUNT {key} {} {}", r.pick(LEX), r.pick(LEX)),
        24 if lex => format!(
            "ZRANGE {key} {} {} BYLEX REV LIMIT {} {}",
            r.pick(LEX),
            r.pick(LEX),
            r.below(3),
            r.pick(&["1", "2", "-1"])
        ),
        25 => format!("ZMSCORE {key} {member} m{} nomember", r.below(8)),
        26 => {
            let flag = r.pick(&["", " NX", " XX", " GT", " LT", " CH"]);
            format!("ZADD {key}{flag} INCR {} {member}", r.pick(SCORES))
        }
        27 => format!("ZINTERCARD 2 {key} {other} LIMIT {}", r.below(3)),
        28 => format!(
            "ZRANGESTORE {} {key} {} {} BYSCORE{} LIMIT {} {}",
            r.pick(KEYS),
            r.pick(BOUNDS),
            r.pick(BOUNDS),
            r.pick(&["", " REV"]),
            r.below(3),
            r.pick(&["1", "-1"])
        ),
        29 => format!(
            "ZREVRANGEBYSCORE {key} {} {} WITHSCORES",
            r.pick(BOUNDS),
            r.pick(BOUNDS)
        ),
        _ => format!("ZCARD {key}"),
    }
}

/// A random stream command over keys of both shards, with explicit IDs drawn so that they
/// collide, go backwards and leave gaps.
fn random_stream_command(r: &mut Rng) -> String {
    const KEYS: &[&str] = &["x", "c", "y"];
    const IDS: &[&str] = &[
        "1", "1-1", "2", "2-5", "3-0", "5", "7-7", "9", "10-*", "0-1",
    ];
    const ENDS: &[&str] = &["-", "+", "1", "2-5", "(2-5", "5", "(1", "9-0", "3"];
    let key = r.pick(KEYS);
    match r.below(10) {
        0..=3 => {
            let trim = match r.below(5) {
                0 => format!(" MAXLEN {}", r.below(6)),
                1 => format!(" MINID {}", r.pick(IDS).trim_end_matches("-*")),
                _ => String::new(),
            };
            format!("XADD {key}{trim} {} f v{}", r.pick(IDS), r.below(9))
        }
        4 => format!("XRANGE {key} {} {}", r.pick(ENDS), r.pick(ENDS)),
        5 => format!(
            "XREVRANGE {key} {} {} COUNT {}",
            r.pick(ENDS),
            r.pick(ENDS),
            r.below(4)
        ),
        6 => format!(
            "XDEL {key} {} {}",
            r.pick(IDS).trim_end_matches("-*"),
            r.pick(IDS).trim_end_matches("-*")
        ),
        7 => format!("XTRIM {key} MAXLEN {}", r.below(5)),
        8 => format!("XLEN {key}"),
        _ => format!(
            "XREAD COUNT {} STREAMS {key} {} {} {}",
            r.below(3),
            r.pick(KEYS),
            r.pick(&["0", "1-1", "$", "5"]),
            r.pick(&["0", "2", "$"])
        ),
    }
}

/// Runs each (label, script, RESP3) against a fresh busbar and redis-server pair and fails
/// listing the first mismatches. `BUSBAR_DIFF_DUMP=<dir>` writes the scripts there too.
fn run_random_scripts(scripts: Vec<(String, String, bool)>) {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let bb = busbar(&[]);
    let mut failures = Vec::new();
    for (label, script, resp3) in scripts {
        if let Ok(dir) = std::env::var("BUSBAR_DIFF_DUMP") {
            std::fs::write(format!("{dir}/{label}.txt"), &script).unwrap();
        }
        for p in run_case(&script, bb.port, redis.port, resp3) {
            failures.push(format!("[{label} resp3={resp3}] {p}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches with redis-server:\n  {}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// Seeded random sequences of sorted-set and stream commands, replies compared with
/// redis-server's byte for byte (in RESP2 and RESP3).
#[test]
fn random_sorted_set_and_stream_sequences_match_redis() {
    let mut scripts = Vec::new();
    // The last seed runs with the large encoding from 5 members up; name ranges over
    // mixed scores follow Redis's skiplist search there, which depends on its random
    // levels, so that seed leaves them out.
    let seeds = [
        (0x5eed_0001u64, false, 128),
        (0x5eed_0002, true, 128),
        (0x5eed_0003, false, 128),
        (0x5eed_0004, true, 128),
        (0x5eed_0005, false, 4),
    ];
    for (seed, resp3, pack) in seeds {
        let mut r = Rng(seed);
        let mut script = format!("CONFIG SET zset-max-listpack-entries {pack}\nSADD n m1 m2 m9\n");
        for i in 0..2500 {
            script += &if i % 3 == 2 {
                random_stream_command(&mut r)
            } else {
                random_zset_command(&mut r, pack > 8)
            };
            script.push('\n');
        }
        script += "CONFIG SET zset-max-listpack-entries 128\n";
        scripts.push((format!("{seed:x}"), script, resp3));
    }
    run_random_scripts(scripts);
}

/// A random hash, set or list command over keys of both shards.
fn random_collection_command(r: &mut Rng) -> String {
    const HKEYS: &[&str] = &["h", "a", "b"];
    const SKEYS: &[&str] = &["s", "d", "c", "e"];
    const LKEYS: &[&str] = &["l", "x", "z"];
    const VALS: &[&str] = &[
        "1",
        "22",
        "-3",
        "x",
        "1.5",
        "",
        "9223372036854775807",
        "abc",
    ];
    let field = format!("f{}", r.below(6));
    let member = r.pick(&["1", "2", "3", "m1", "m2", "100", "-5", "m3"]);
    let (h, s, l) = (r.pick(HKEYS), r.pick(SKEYS), r.pick(LKEYS));
    let (s2, l2) = (r.pick(SKEYS), r.pick(LKEYS));
    match r.below(41) {
        0..=2 => format!(
            "HSET {h} {field} {} f{} {}",
            r.pick(VALS),
            r.below(6),
            r.pick(VALS)
        ),
        3 => format!("HSETNX {h} {field} {}", r.pick(VALS)),
        4 => format!("HDEL {h} {field} f{}", r.below(6)),
        5 => format!(
            "HINCRBY {h} {field} {}",
            r.pick(&["1", "-2", "x", "9223372036854775807"])
        ),
        6 => format!(
            "HINCRBYFLOAT {h} {field} {}",
            r.pick(&["1.5", "-2", "x", "1e3", "0.1"])
        ),
        // A hash table's order is its own (Redis's depends on its hash seed).
        7 => format!("~pairs HGETALL {h}"),
        8 => format!("HMGET {h} {field} f{} nofield", r.below(6)),
        9 => format!("HLEN {h}"),
        10 => format!("HSTRLEN {h} {field}"),
        11..=13 => format!("SADD {s} {member} {}", r.pick(&["1", "m1", "7", "m9"])),
        14 => format!("SREM {s} {member}"),
        15 => format!("~sorted SMEMBERS {s}"),
        16 => format!("SISMEMBER {s} {member}"),
        17 => format!(
            "~sorted {} {s} {s2}",
            r.pick(&["SINTER", "SUNION", "SDIFF"])
        ),
        18 => format!(
            "{} {} {s} {s2}",
            r.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]),
            r.pick(SKEYS)
        ),
        19 => format!("SMOVE {s} {s2} {member}"),
        20 => format!("SCARD {s}"),
        21..=23 => format!(
            "{} {l} {} {}",
            r.pick(&["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]),
            r.pick(VALS),
            r.pick(VALS)
        ),
        24 => format!("{} {l} {}", r.pick(&["LPOP", "RPOP"]), r.below(3)),
        25 => format!(
            "LRANGE {l} {} {}",
            r.pick(&["0", "1", "-1", "-3"]),
            r.pick(&["-1", "2", "0", "10"])
        ),
        26 => format!(
            "LMOVE {l} {l2} {} {}",
            r.pick(&["LEFT", "RIGHT"]),
            r.pick(&["LEFT", "RIGHT"])
        ),
        27 => format!("LREM {l} {} {}", r.pick(&["0", "1", "-1"]), r.pick(VALS)),
        28 => format!(
            "LINSERT {l} {} {} {}",
            r.pick(&["BEFORE", "AFTER"]),
            r.pick(VALS),
            r.pick(VALS)
        ),
        29 => format!(
            "LPOS {l} {} RANK {}",
            r.pick(VALS),
            r.pick(&["1", "-1", "2"])
        ),
        30 => format!(
            "LPOS {l} {} COUNT {} MAXLEN {}",
            r.pick(VALS),
            r.below(3),
            r.below(4)
        ),
        31 => format!(
            "LSET {l} {} {}",
            r.pick(&["0", "-1", "2", "9"]),
            r.pick(VALS)
        ),
        32 => format!(
            "LTRIM {l} {} {}",
            r.pick(&["0", "1", "-2"]),
            r.pick(&["-1", "3", "0"])
        ),
        33 => format!("LINDEX {l} {}", r.pick(&["0", "-1", "1", "5"])),
        34 => format!("LMPOP 2 {l} {l2} {} COUNT 2", r.pick(&["LEFT", "RIGHT"])),
        35 => format!("SMISMEMBER {s} {member} m1 7"),
        36 => format!("SINTERCARD 2 {s} {s2} LIMIT {}", r.below(3)),
        37 => format!("HEXISTS {h} {field}"),
        38 => format!("~sorted HKEYS {h}"),
        39 => format!("~sorted HVALS {h}"),
        _ => format!("LLEN {l}"),
    }
}

/// Seeded random sequences of hash, set and list commands (small encodings and, in the
/// last seed, the large ones from a few entries up), compared with redis-server's.
#[test]
fn random_hash_set_and_list_sequences_match_redis() {
    let mut scripts = Vec::new();
    let seeds = [
        (0xc011_0001u64, false, false),
        (0xc011_0002, true, false),
        (0xc011_0003, false, true),
    ];
    for (seed, resp3, large) in seeds {
        let mut r = Rng(seed);
        let limits = if large { ("2", "2") } else { ("128", "512") };
        let mut script = format!(
            "CONFIG SET hash-max-listpack-entries {}\nCONFIG SET set-max-intset-entries {}\n",
            limits.0, limits.1
        );
        for _ in 0..3000 {
            script += &random_collection_command(&mut r);
            script.push('\n');
        }
        script +=
            "CONFIG SET hash-max-listpack-entries 128\nCONFIG SET set-max-intset-entries 512\n";
        scripts.push((format!("{seed:x}"), script, resp3));
    }
    run_random_scripts(scripts);
}

/// A random string or key command over keys of both shards (expiry checked within a
/// margin: both servers share the clock).
fn random_key_command(r: &mut Rng) -> String {
    const KEYS: &[&str] = &["k1", "k2", "k3", "k4", "foo", "bar", "{t}a", "{t}b"];
    const VALS: &[&str] = &[
        "1",
        "-7",
        "abc",
        "",
        "10.5",
        "9223372036854775807",
        "0",
        "hello",
    ];
    let (k, k2, v) = (r.pick(KEYS), r.pick(KEYS), r.pick(VALS));
    match r.below(32) {
        0..=3 => format!("SET {k} {v}"),
        4 => format!(
            "SET {k} {v} {}",
            r.pick(&["NX", "XX", "GET", "NX GET", "XX GET"])
        ),
        5..=6 => format!("GET {k}"),
        7 => format!("APPEND {k} {v}"),
        8 => format!("INCR {k}"),
        9 => format!(
            "INCRBY {k} {}",
            r.pick(&["5", "-3", "9223372036854775807", "x"])
        ),
        10 => format!("DECRBY {k} {}", r.pick(&["5", "-3", "x"])),
        11 => format!(
            "INCRBYFLOAT {k} {}",
            r.pick(&["1.5", "-2", "x", "1e2", "0.1"])
        ),
        12 => format!(
            "GETRANGE {k} {} {}",
            r.pick(&["0", "1", "-1", "-3"]),
            r.pick(&["-1", "2", "0", "100"])
        ),
        13 => format!("SETRANGE {k} {} {v}", r.pick(&["0", "3", "10"])),
        14 => format!("STRLEN {k}"),
        15 => format!("DEL {k} {k2}"),
        16 => format!("EXISTS {k} {k2} {k}"),
        17 => format!("MSET {k} {v} {k2} {}", r.pick(VALS)),
        18 => format!("MGET {k} {k2} nokey"),
        19 => format!("MSETNX {k} {v} {k2} {}", r.pick(VALS)),
        20 => format!("{} {k} {k2}", r.pick(&["RENAME", "RENAMENX"])),
        21 => format!("COPY {k} {k2}{}", r.pick(&["", " REPLACE"])),
        22 => format!("TYPE {k}"),
        23 => format!("GETDEL {k}"),
        24 => format!(
            "EXPIRE {k} {}{}",
            r.pick(&["100", "1000", "0", "-1", "x"]),
            r.pick(&["", " NX", " XX", " GT", " LT"])
        ),
        25 => format!("PEXPIRE {k} {}", r.pick(&["100000", "500000"])),
        26 => format!("~near:1 TTL {k}"),
        27 => format!("~near:50 PTTL {k}"),
        28 => format!("PERSIST {k}"),
        29 => format!("SET {k} {v} EX {}", r.pick(&["100", "0", "-5"])),
        30 => format!(
            "GETEX {k} {}",
            r.pick(&["PERSIST", "EX 50", "PX 90000", ""])
        ),
        _ => format!("~near:1 EXPIRETIME {k}"),
    }
}

/// Seeded random sequences of string and key commands over keys of both shards (multi-key
/// ones span them), compared with redis-server's.
#[test]
fn random_string_and_key_sequences_match_redis() {
    let mut scripts = Vec::new();
    for (seed, resp3) in [(0x7e57_0001u64, false), (0x7e57_0002, true)] {
        let mut r = Rng(seed);
        let mut script = String::new();
        for _ in 0..3000 {
            script += &random_key_command(&mut r);
            script.push('\n');
        }
        scripts.push((format!("{seed:x}"), script, resp3));
    }
    run_random_scripts(scripts);
}

/// Seeded random transactions: MULTI blocks of random commands from the generators above
/// (keys on both shards), with WATCH before some (touched or not before MULTI), DISCARD
/// instead of EXEC now and then, and queue-time errors (bad arity, unknown commands) that
/// make EXEC abort — compared with redis-server's replies.
#[test]
fn random_transactions_match_redis() {
    let mut scripts = Vec::new();
    for (seed, resp3) in [(0x7a11_0001u64, false), (0x7a11_0002, true)] {
        let mut r = Rng(seed);
        let mut script = String::from("SADD n m1 m2 m9\n");
        for _ in 0..300 {
            let watched = r.pick(&["k1", "k2", "z", "a", "x", "l"]);
            if r.below(3) == 0 {
                script += &format!("WATCH {watched}\n");
                if r.below(2) == 0 {
                    script += &format!("DEL {watched}\n");
                }
            }
            script += "MULTI\n";
            for _ in 0..1 + r.below(5) {
                // Replies compared loosely (a hash table's order) cannot sit inside EXEC's
                // array, which is compared byte for byte: draw again.
                let command = loop {
                    let c = match r.below(12) {
                        0..=3 => random_key_command(&mut r),
                        4..=6 => random_zset_command(&mut r, true),
                        7..=9 => random_collection_command(&mut r),
                        10 => random_stream_command(&mut r),
                        _ => r
                            .pick(&["GET", "NOSUCHCOMMAND x", "SET onlykey", "PING"])
                            .to_string(),
                    };
                    if !c.starts_with('~') {
                        break c;
                    }
                };
                script += &command;
                script.push('\n');
            }
            script += if r.below(8) == 0 {
                "DISCARD\n"
            } else {
                "EXEC\n"
            };
        }
        scripts.push((format!("{seed:x}"), script, resp3));
    }
    run_random_scripts(scripts);
}
