//! Hostile input: client values that once crashed busbar, locked a client out or sized a
//! huge allocation, each replayed against busbar and redis-server (the oracle) with the
//! replies compared, and the server checked to still answer afterwards.
//!
//! A script is one command per line, split like redis-cli's inline commands (double
//! quotes take `\x00`-style escapes). A line starting with `~len` compares only the reply's
//! type and element count (random members); every other line compares raw bytes. Each
//! case runs on a fresh connection after FLUSHALL, in RESP2 and again after `HELLO 3`.

mod common;
use common::*;

use busbar::resp::parse::split_inline;

/// How a reply line is compared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Byte for byte.
    Exact,
    /// The type byte and the element count (random picks).
    Len,
}

fn parse_script(script: &str) -> Vec<(Check, Vec<Vec<u8>>, String)> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|raw| {
            let (check, cmd) = match raw.strip_prefix("~len ") {
                Some(rest) => (Check::Len, rest),
                None => (Check::Exact, raw),
            };
            let args = split_inline(cmd.as_bytes()).expect("script line quoting");
            assert!(!args.is_empty(), "empty script line {raw}");
            (check, args, raw.to_string())
        })
        .collect()
}

fn same(check: Check, b: &[u8], r: &[u8]) -> bool {
    match check {
        Check::Exact => b == r,
        Check::Len => {
            let (bv, rv) = (Resp::from(b), Resp::from(r));
            bv.tag() == rv.tag()
                && bv.items().len() == rv.items().len()
                && (bv.tag() != b'-' || b == r)
        }
    }
}

/// True when a fresh connection gets PONG.
fn answers_ping(port: u16) -> bool {
    let Ok(mut c) = Raw::connect(port) else {
        return false;
    };
    c.send(&Raw::encode(&[b"PING"]));
    c.try_read_reply().as_deref() == Ok(b"+PONG\r\n")
}

/// Runs every case against a fresh busbar and redis-server, in RESP2 and RESP3, and fails
/// listing every mismatch (and any case after which busbar stopped answering).
fn run_cases(cases: &[(&str, &str)]) {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let bb = busbar(&[]);
    let mut failures = Vec::new();
    'all: for resp3 in [false, true] {
        for (name, script) in cases {
            for port in [bb.port, redis.port] {
                let mut c = Raw::connect(port).unwrap();
                assert_eq!(c.cmd(&["FLUSHALL"]), b"+OK\r\n");
            }
            let mut b = Raw::connect(bb.port).unwrap();
            let mut r = Raw::connect(redis.port).unwrap();
            if resp3 {
                b.cmd(&["HELLO", "3"]);
                r.cmd(&["HELLO", "3"]);
            }
            for (check, args, text) in parse_script(script) {
                let a: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                b.send(&Raw::encode(&a));
                r.send(&Raw::encode(&a));
                match (b.try_read_reply(), r.try_read_reply()) {
                    (Ok(bv), Ok(rv)) if same(check, &bv, &rv) => {}
                    (bv, rv) => {
                        failures.push(format!(
                            "[resp3={resp3} {name}] {text}\n      busbar: {:?}\n      redis:  {:?}",
                            bv.map(|v| show(&v)),
                            rv.map(|v| show(&v))
                        ));
                        break;
                    }
                }
            }
            if !answers_ping(bb.port) {
                failures.push(format!("[resp3={resp3} {name}] busbar stopped answering"));
                break 'all;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches with redis-server:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// Commands with the `no-multi` flag inside MULTI.
const NO_MULTI: &[(&str, &str)] = &[(
    "shutdown_inside_multi_is_refused_and_aborts_the_exec",
    r#"
    MULTI
    SHUTDOWN
    SHUTDOWN NOSAVE
    SHUTDOWN NOW NOSAVE FORCE ABORT
    PING
    EXEC
    PING
    MULTI
    SHUTDOWN
    DISCARD
    MULTI
    WATCH x
    MULTI
    PING
    EXEC
    "#,
)];

#[test]
fn no_multi_commands_are_refused_inside_multi_like_redis() {
    run_cases(NO_MULTI);
}

#[test]
fn every_no_multi_command_inside_multi_leaves_the_server_running() {
    let bb = busbar(&[]);
    let no_multi: Vec<&str> = busbar::cmd::table()
        .specs
        .iter()
        .filter(|s| s.flags & busbar::cmd::flag::NO_MULTI != 0)
        .map(|s| s.name)
        .collect();
    assert!(no_multi.contains(&"shutdown"), "{no_multi:?}");
    for name in no_multi {
        let mut c = Raw::connect(bb.port).unwrap();
        assert_eq!(c.cmd(&["MULTI"]), b"+OK\r\n");
        assert_eq!(
            show(&c.cmd(&[name])),
            "-ERR Command not allowed inside a transaction\\r\\n",
            "{name}"
        );
        assert_eq!(
            show(&c.cmd(&["EXEC"])),
            "-EXECABORT Transaction discarded because of previous errors.\\r\\n",
            "{name}"
        );
        assert!(
            answers_ping(bb.port),
            "busbar stopped after MULTI / {name} / EXEC"
        );
    }
}

/// RANDMEMBER-family counts at and past the edges Redis checks, before and after the key.
const RANDOM_COUNTS: &[(&str, &str)] = &[(
    "random_member_counts_are_range_checked_before_the_key",
    r#"
    HSET h f v g w
    SADD s a b
    ZADD z 1 a 2 b
    HRANDFIELD h -9223372036854775808
    HRANDFIELD h -9223372036854775807 WITHVALUES
    HRANDFIELD h -4611686018427387904 WITHVALUES
    HRANDFIELD h 4611686018427387904 WITHVALUES
    HRANDFIELD nokey -9223372036854775808
    HRANDFIELD nokey -4611686018427387904 WITHVALUES
    HRANDFIELD h 1 WITHVALUES extra
    HRANDFIELD h 1 WITHSCORES
    HRANDFIELD h notanumber
    ~len HRANDFIELD h -7 WITHVALUES
    ~len HRANDFIELD h 9223372036854775807 WITHVALUES
    ~len HRANDFIELD h 4611686018427387903 WITHVALUES
    SRANDMEMBER s -9223372036854775808
    SRANDMEMBER s 1 2
    SRANDMEMBER nokey -9223372036854775808
    ~len SRANDMEMBER s -5
    ~len SRANDMEMBER s 9223372036854775807
    ZRANDMEMBER z -9223372036854775808
    ZRANDMEMBER z -9223372036854775808 WITHSCORES
    ZRANDMEMBER z -4611686018427387904 WITHSCORES
    ZRANDMEMBER z 4611686018427387904 WITHSCORES
    ZRANDMEMBER nokey 4611686018427387904 WITHSCORES
    ~len ZRANDMEMBER z -9 WITHSCORES
    ~len ZRANDMEMBER z 3 WITHSCORES
    SET str x
    HRANDFIELD str -9223372036854775808
    HRANDFIELD str -3
    SRANDMEMBER str -3
    ZRANDMEMBER str -3 WITHSCORES
    "#,
)];

#[test]
fn random_member_counts_get_redis_replies() {
    run_cases(RANDOM_COUNTS);
}
