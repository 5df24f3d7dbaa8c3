//! CONFIG SET against redis-server 7 as the oracle: for every parameter busbar's
//! `CONFIG GET *` lists, valid values, both boundaries and one past each, and malformed
//! text go to both servers, and the reply and the `CONFIG GET` that follows must match
//! byte for byte. Each case restores the value it changed, so cases are independent.
//! Also pinned: the values that used to lock every client out or stop busbar parsing
//! ordinary commands are refused, and ordinary clients keep working after the refusal.
//!
//! Set `BUSBAR_CONFIG_PARAM=<substring>` to run only the parameters whose name contains
//! it.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

/// Parameters left out of the sweep over every value, and why. Each still gets the
/// narrower checks in `SPECIAL`.
const SKIP: &[(&str, &str)] = &[
    (
        "threads",
        "busbar's own (shard threads); redis-server has no such parameter",
    ),
    (
        "port",
        "a valid new port makes redis-server listen elsewhere, and each server's port differs; only refused values are compared",
    ),
    (
        "bind",
        "a valid new list makes redis-server rebind (busbar binds only at startup and refuses); only values that fail on both or keep the list are compared",
    ),
    (
        "appendonly",
        "`yes` makes redis-server fork an AOF rewrite and write files; the other values are compared",
    ),
    (
        "dir",
        "protected on both, so every SET is refused; CONFIG GET differs (each server's working directory)",
    ),
];

/// Values left out for one parameter, and why.
const SKIP_VALUES: &[(&str, &[&str], &str)] = &[(
    "maxclients",
    &["2147483647", "2147483648"],
    "redis-server lowers its open-file request from maxclients+32 by 16 per refused \
     setrlimit, about 134 million calls here: it stalls far past the read timeout \
     (busbar reaches the same answer in a few calls)",
)];

/// Values every parameter is tried with: malformed text, units, and the boundaries (and
/// one past them) of every numeric range busbar's parameters have.
const VALUES: &[&str] = &[
    "",
    " ",
    "abc",
    "1.5",
    "01",
    "+1",
    " 1",
    "1 ",
    "1 2",
    "0x10",
    "-0",
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-2",
    "5",
    "10",
    "127",
    "128",
    "129",
    "256",
    "257",
    "500",
    "501",
    "65535",
    "65536",
    "1k",
    "1kb",
    "1K",
    "1KB",
    "1m",
    "1mb",
    "1MB",
    "1g",
    "1gb",
    "1b",
    "1B",
    "b",
    "kb",
    "1kib",
    "-1kb",
    "1048575",
    "1048576",
    "1048577",
    "1023kb",
    "1024kb",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "18446744073709551615gb",
    "100000",
    "yes",
    "no",
    "YES",
    "No",
    "yes ",
    "true",
    "debug",
    "VERBOSE",
    "notice",
    "warning",
    "nothing",
    "everysec",
    "ALWAYS",
    "allkeys-lru",
    "volatile-ttl",
    "noeviction ",
    "systemd",
];

/// Extra values for parameters with their own syntax.
const SPECIAL: &[(&str, &[&str])] = &[
    (
        "save",
        &[
            "3600",
            "3600 1",
            "3600  1",
            "3600 1 ",
            " 3600 1",
            "0 1",
            "1 -1",
            "-1 1",
            "+5 +6",
            "abc 1",
            "99999999999999999999 1",
            "3600 99999999999",
            "3600 4294967297",
            "3600 2147483648",
            "9223372036854775807 1",
            "100 1 200 2 100 1",
            "\t500 1",
            "500 1\t",
            "3600 -0",
            "07 08",
            "3600 +",
            "- 1",
        ],
    ),
    (
        "client-output-buffer-limit",
        &[
            "normal 1 2 3",
            "NORMAL 1mb 2kb 3",
            "replica 1 2 3",
            "slave 1 2 3",
            "master 1 2 3",
            "pubsub 1 2 3 normal 4 5 6",
            "pubsub 1 2 3 pubsub 4 5 6",
            "normal 1 2",
            "foo 1 2 3",
            "normal -1 2 3",
            "normal 1 2 -3",
            "normal 1 2 1kb",
            "normal 1 2 99999999999",
            "normal 1 2 4294967296",
            "normal 18446744073709551615 2 3",
            "normal 18446744073709551616gb 2 3",
            "normal 1 2 3 ",
            "normal  1 2 3",
            "normal  1 2",
            "normal abc 2 3",
            "normal 1.5 2 3",
            "normal 1 2 9223372036854775807",
            "normal 1 2 0x5",
            "normal 1 2 \t+7",
            "normal 1 2 3 pubsub",
            "normal abc 2 3 foo 1 2 3",
            "foo 1 2 3 normal x 1 1",
        ],
    ),
    (
        "notify-keyspace-events",
        &[
            "A",
            "KEA",
            "An",
            "Am",
            "AKEmn",
            "g$lshzxetdn",
            "g$lshzxetd",
            "g$lshzxe",
            "xyz",
            "K",
            "E",
            "d",
            "t",
            "nm",
            "nd",
            "mK",
            "AAA",
            "a",
            "K\tE",
        ],
    ),
    ("requirepass", &["pw", "a b", "  ", "p\u{e9}"]),
];

/// Extra raw CONFIG SET commands (and the parameters whose values are compared after
/// each): several parameters at once, duplicates, unknown and immutable names, the
/// argument count, and bytes Redis's C string routines stop at.
const MULTI: &[(&[&[u8]], &[&str])] = &[
    (&[b"hz", b"5", b"maxmemory", b"abc"], &["hz", "maxmemory"]),
    (&[b"hz", b"7", b"maxmemory", b"1mb", b"timeout", b"5"], &["hz", "maxmemory", "timeout"]),
    (&[b"hz", b"5", b"hz", b"6"], &["hz"]),
    (&[b"Hz", b"5", b"hz", b"6"], &["hz"]),
    (&[b"hz", b"abc", b"nosuch", b"1"], &["hz"]),
    (&[b"nosuch", b"1", b"hz", b"2"], &["hz"]),
    (&[b"daemonize", b"yes", b"nosuch", b"1"], &["daemonize"]),
    (&[b"hz", b"1", b"hz", b"2", b"nosuch", b"1"], &["hz"]),
    (&[b"hz", b"1", b"hz", b"2", b"daemonize", b"yes"], &["hz"]),
    (&[b"hz", b"12", b"maxmemory", b"abc", b"hz2", b"1"], &["hz"]),
    (&[b"hz", b"5", b"hash-max-ziplist-entries", b"10"], &["hz", "hash-max-listpack-entries"]),
    (
        &[b"hash-max-ziplist-entries", b"2", b"hash-max-listpack-entries", b"3"],
        &["hash-max-listpack-entries"],
    ),
    (&[b"HASH-MAX-ZIPLIST-VALUE", b"x"], &["hash-max-listpack-value"]),
    (&[b"list-compress-depth", b"1", b"LIST-COMPRESS-DEPTH", b"2"], &["list-compress-depth"]),
    (
        &[b"list-compress-depth", b"3", b"list-max-ziplist-size", b"5"],
        &["list-compress-depth", "list-max-listpack-size"],
    ),
    (
        &[b"stream-node-max-bytes", b"4kb", b"zset-max-listpack-value", b"b"],
        &["stream-node-max-bytes", "zset-max-listpack-value"],
    ),
    (&[b"stream-node-max-entries", b"-0", b"hz", b"5"], &["stream-node-max-entries", "hz"]),
    (&[b"HZ", b"abc"], &["hz"]),
    (&[b"dbfilename", b"x"], &["dbfilename"]),
    (&[b"dir", b"/nonexistent"], &[]),
    (&[b"rdbchecksum", b"no"], &["rdbchecksum"]),
    (&[b"disable-thp", b"no"], &["disable-thp"]),
    (&[b"hz"], &["hz"]),
    (&[b"hz", b"1", b"2"], &["hz"]),
    (&[], &[]),
    (&[b"a", b"b", b"c", b"d", b"e"], &[]),
    (&[b"HZ\x00x", b"5"], &["hz"]),
    (&[b"h\r\nz", b"5"], &[]),
    (&[b"protected-mode", b"yes\x00x"], &["protected-mode"]),
    (&[b"protected-mode", b"no\x00x"], &["protected-mode"]),
    (&[b"maxmemory", b"5\x00xyz"], &["maxmemory"]),
    (&[b"hz", b"5\x00x"], &["hz"]),
    (&[b"save", b"100\x00x 5\x00y"], &["save"]),
    (&[b"save", b"\x00ab"], &["save"]),
    (&[b"loglevel", b"debug\x00x"], &["loglevel"]),
    (&[b"notify-keyspace-events", b"K\x00x"], &["notify-keyspace-events"]),
    (
        &[b"client-output-buffer-limit", b"normal\x00x 1\x00y 2 3"],
        &["client-output-buffer-limit"],
    ),
    (&[b"port", b"abc"], &[]),
    (&[b"port", b"-1"], &[]),
    (&[b"port", b"65536"], &[]),
    (&[b"port", b"01"], &[]),
    (&[b"bind", b"999.1.1.1"], &["bind"]),
    (
        &[b"bind", b"127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1"],
        &["bind"],
    ),
    (&[b"bind", b"127.0.0.1"], &["bind"]),
    (&[b"bind", b"127.0.0.1  "], &["bind"]),
    (&[b"appendonly", b"no"], &["appendonly"]),
    (&[b"appendonly", b"x"], &["appendonly"]),
    (&[b"requirepass", b"p\xffw\x00d"], &["requirepass"]),
];

/// One connection to each server.
struct Pair {
    busbar: Raw,
    redis: Raw,
}

impl Pair {
    /// Sends `args` to both; returns (busbar, redis) replies.
    fn both(&mut self, args: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
        (self.busbar.cmd_bytes(args), self.redis.cmd_bytes(args))
    }

    /// CONFIG GET `name` on both.
    fn get(&mut self, name: &str) -> (Vec<u8>, Vec<u8>) {
        self.both(&[b"CONFIG", b"GET", name.as_bytes()])
    }
}

/// A parameter's value from a CONFIG GET reply (RESP2 flat array of name, value); None
/// when the server has no such parameter.
fn value_of(reply: &[u8]) -> Option<Vec<u8>> {
    let r = Resp::from(reply);
    r.items().get(1).and_then(|v| v.bytes()).map(<[u8]>::to_vec)
}

/// A parameter's value (name, busbar's, redis-server's) before any case ran.
type Before = [(String, Option<Vec<u8>>, Option<Vec<u8>>)];

fn esc(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

/// Runs one CONFIG SET on both servers, compares the reply and then CONFIG GET of each of
/// `names`, and sets every one of `names` back to its value from `before`.
fn case(
    pair: &mut Pair,
    args: &[&[u8]],
    names: &[&str],
    before: &Before,
    failures: &mut Vec<String>,
) {
    let mut cmd: Vec<&[u8]> = vec![b"CONFIG", b"SET"];
    cmd.extend_from_slice(args);
    let shown: Vec<String> = args.iter().map(|a| format!("'{}'", esc(a))).collect();
    let shown = format!("CONFIG SET {}", shown.join(" "));
    if std::env::var_os("BUSBAR_CONFIG_TRACE").is_some() {
        eprintln!("{shown}");
    }
    let (b, r) = pair.both(&cmd);
    if b != r {
        failures.push(format!(
            "{shown}\n      busbar: {}\n      redis:  {}",
            show(&b),
            show(&r)
        ));
    }
    for name in names {
        let (b, r) = pair.get(name);
        if b != r {
            failures.push(format!(
                "{shown} then CONFIG GET {name}\n      busbar: {}\n      redis:  {}",
                show(&b),
                show(&r)
            ));
        }
        let (_, b_old, r_old) = before
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("{name} is not listed by CONFIG GET *"));
        for (conn, now, old, server) in [
            (&mut pair.busbar, b, b_old, "busbar"),
            (&mut pair.redis, r, r_old, "redis-server"),
        ] {
            if let Some(old) = old
                .as_deref()
                .filter(|old| value_of(&now).as_deref() != Some(old))
            {
                let reply = conn.cmd_bytes(&[b"CONFIG", b"SET", name.as_bytes(), old]);
                assert_eq!(
                    reply, b"+OK\r\n",
                    "restoring {name} on {server} after {shown}"
                );
            }
        }
    }
}

#[test]
fn config_set_validates_every_parameter_like_redis() {
    // Whatever redis-server saves while a `save` case is in force lands here.
    let dir = std::env::temp_dir().join(format!("busbar-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(redis) = redis_server(&["--dir", dir.to_str().unwrap()]) else {
        return;
    };
    let bb = busbar(&[]);
    let mut pair = Pair {
        busbar: Raw::connect(bb.port).unwrap(),
        redis: Raw::connect(redis.port).unwrap(),
    };
    let filter = std::env::var("BUSBAR_CONFIG_PARAM").unwrap_or_default();

    // Every parameter busbar lists, with each server's value to put back.
    let all = Resp::from(&pair.busbar.cmd(&["CONFIG", "GET", "*"]));
    let mut names: Vec<String> = all
        .items()
        .chunks(2)
        .map(|kv| String::from_utf8(kv[0].bytes().unwrap().to_vec()).unwrap())
        .collect();
    names.sort();
    let mut before = Vec::new();
    for name in &names {
        let (b, r) = pair.get(name);
        before.push((name.clone(), value_of(&b), value_of(&r)));
    }

    let mut failures = Vec::new();
    let mut cases = 0;
    for name in names.iter().filter(|n| n.contains(filter.as_str())) {
        if SKIP.iter().any(|(skip, _)| skip == name) {
            continue;
        }
        let extra = SPECIAL
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[][..], |(_, v)| v);
        let skipped = SKIP_VALUES
            .iter()
            .find(|(n, _, _)| n == name)
            .map_or(&[][..], |(_, v, _)| v);
        for value in VALUES.iter().chain(extra).filter(|v| !skipped.contains(v)) {
            cases += 1;
            let args: [&[u8]; 2] = [name.as_bytes(), value.as_bytes()];
            case(&mut pair, &args, &[name.as_str()], &before, &mut failures);
        }
    }
    if filter.is_empty() {
        for (args, names) in MULTI {
            cases += 1;
            case(&mut pair, args, names, &before, &mut failures);
        }
    }
    // Each server accepts the port it reports: nothing moves.
    let (_, Some(b_port), Some(r_port)) = before.iter().find(|(n, _, _)| n == "port").unwrap()
    else {
        panic!("no port");
    };
    let replies = (
        pair.busbar.cmd_bytes(&[b"CONFIG", b"SET", b"port", b_port]),
        pair.redis.cmd_bytes(&[b"CONFIG", b"SET", b"port", r_port]),
    );
    assert_eq!(replies, (b"+OK\r\n".to_vec(), b"+OK\r\n".to_vec()));
    // And a server that changed nothing still reports what it started with.
    for (name, b_old, r_old) in &before {
        let (b, r) = pair.get(name);
        assert_eq!(value_of(&b), *b_old, "busbar's {name} changed");
        assert_eq!(value_of(&r), *r_old, "redis-server's {name} changed");
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("config: {cases} CONFIG SET cases");
    assert!(
        failures.is_empty(),
        "{} mismatches with redis-server:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// An ordinary client still works: a fresh connection runs a command with an argument
/// well over a few bytes.
fn ordinary_client_works(port: u16) {
    let mut c = Raw::connect(port).unwrap();
    let value = "v".repeat(4096);
    assert_eq!(c.cmd(&["SET", "some-key", &value]), b"+OK\r\n");
    let mut want = b"$4096\r\n".to_vec();
    want.extend_from_slice(value.as_bytes());
    want.extend_from_slice(b"\r\n");
    assert_eq!(c.cmd(&["GET", "some-key"]), want);
}

#[test]
fn config_set_refuses_a_query_buffer_limit_below_one_megabyte() {
    let srv = busbar(&[]);
    let mut c = Raw::connect(srv.port).unwrap();
    for tiny in ["1", "2", "1kb", "1048575"] {
        assert_eq!(
            show(&c.cmd(&["CONFIG", "SET", "client-query-buffer-limit", tiny])),
            "-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be between 1048576 and 9223372036854775807 inclusive\\r\\n"
        );
    }
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "client-query-buffer-limit"]),
        b"*2\r\n$25\r\nclient-query-buffer-limit\r\n$10\r\n1073741824\r\n"
    );
    ordinary_client_works(srv.port);
}

#[test]
fn config_set_refuses_a_bulk_length_limit_below_one_megabyte() {
    let srv = busbar(&[]);
    let mut c = Raw::connect(srv.port).unwrap();
    for tiny in ["3", "0", "1k", "1023kb"] {
        assert_eq!(
            show(&c.cmd(&["CONFIG", "SET", "proto-max-bulk-len", tiny])),
            "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive\\r\\n"
        );
    }
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "proto-max-bulk-len"]),
        b"*2\r\n$18\r\nproto-max-bulk-len\r\n$9\r\n536870912\r\n"
    );
    ordinary_client_works(srv.port);
}

#[test]
fn config_set_hz_out_of_range_is_clamped_like_redis() {
    let srv = busbar(&[]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(c.cmd(&["CONFIG", "SET", "hz", "0"]), b"+OK\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "hz"]),
        b"*2\r\n$2\r\nhz\r\n$1\r\n1\r\n"
    );
    assert_eq!(c.cmd(&["CONFIG", "SET", "hz", "100000"]), b"+OK\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "hz"]),
        b"*2\r\n$2\r\nhz\r\n$3\r\n500\r\n"
    );
    assert_eq!(
        show(&c.cmd(&["CONFIG", "SET", "hz", "-1"])),
        "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive\\r\\n"
    );
    ordinary_client_works(srv.port);
}
