//! DUMP and RESTORE: payloads in Redis's RDB encoding. Where Redis's encoding is
//! deterministic (strings, lists built by RPUSH, intsets, listpacks, skiplist sorted
//! sets, streams without delivery times) busbar's DUMP is redis-server's byte for byte;
//! every type restores across the two servers both ways with the same contents and
//! encoding; RESTORE's options and errors answer as Redis's; and corrupted payloads
//! (with a correct checksum, so they reach the decoder) are refused, never a crash.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn cmds(list: &[&[&str]]) -> Vec<Vec<String>> {
    list.iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect()
}

/// Builds one key of every type and encoding; the keys whose DUMP Redis makes the same
/// way every time are listed in `DETERMINISTIC`.
fn build(c: &mut Raw) {
    c.cmd(&["FLUSHALL"]);
    let mut setup = cmds(&[
        &["SET", "s:short", "hello"],
        &["SET", "s:int", "1000"],
        &["SET", "s:bigint", "12345678901"],
        &["SET", "s:neg", "-7"],
        &[
            "SET",
            "s:text",
            "the quick brown fox jumps over the lazy dog, twice: the quick brown fox",
        ],
        &["SET", "s:zero-padded", "007"],
        &[
            "RPUSH",
            "l:small",
            "a",
            "b",
            "1",
            "300",
            "-5",
            "70000",
            "5000000000",
        ],
        &["SADD", "set:ints", "1", "2", "3", "-100", "70000"],
        &["SADD", "set:wide", "1", "99999999999"],
        &["SADD", "set:table", "a", "b", "c"],
        &[
            "HSET",
            "h:small",
            "f1",
            "v1",
            "f2",
            "2",
            "f3",
            "a longer value than twenty bytes",
        ],
        &[
            "ZADD", "z:small", "1", "a", "2.5", "b", "-3", "c", "1e20", "d", "-0", "e",
        ],
        &[
            "XADD",
            "x:plain",
            "1-1",
            "type",
            "order_created",
            "order_id",
            "1",
        ],
        &[
            "XADD",
            "x:plain",
            "2-1",
            "type",
            "order_created",
            "order_id",
            "2",
        ],
        &["XADD", "x:plain", "3-1", "other", "fields"],
        &["XDEL", "x:plain", "2-1"],
        &[
            "XGROUP",
            "CREATE",
            "x:plain",
            "g",
            "1-1",
            "ENTRIESREAD",
            "1",
        ],
        &["XGROUP", "CREATE", "x:plain", "h", "$"],
        &["XADD", "x:gone", "5-5", "a", "1"],
        &["XDEL", "x:gone", "5-5"],
        &["XADD", "x:pel", "1-1", "a", "1"],
        &["XADD", "x:pel", "2-1", "a", "2"],
        &["XGROUP", "CREATE", "x:pel", "g", "0"],
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "x:pel", ">"],
        &["XCLAIM", "x:pel", "g", "bob", "0", "2-1"],
        &["SET", "s:ttl", "v", "PX", "100000"],
    ]);
    let mut big = |cmd: &str, key: &str, n: usize, item: &dyn Fn(usize) -> Vec<String>| {
        let mut c = vec![cmd.to_string(), key.to_string()];
        for i in 0..n {
            c.extend(item(i));
        }
        setup.push(c);
    };
    big("RPUSH", "l:big", 3000, &|i| {
        vec![format!("element-{i}-{}", "x".repeat(i % 50))]
    });
    big("RPUSH", "l:ints", 400, &|i| {
        vec![(i as i64 - 200).to_string()]
    });
    big("ZADD", "z:big", 300, &|i| {
        vec![(i as f64 * 0.37).to_string(), format!("m{i}")]
    });
    big("HSET", "h:big", 200, &|i| {
        vec![format!("f{i}"), format!("v{i}")]
    });
    big("HSET", "h:long", 1, &|_| vec!["f".into(), "x".repeat(100)]);
    big("SADD", "set:big", 300, &|i| vec![format!("m{i}")]);
    big("XADD", "x:big", 1, &|_| {
        vec!["1-1".into(), "f".into(), "v".repeat(300)]
    });
    for i in 2..250 {
        setup.push(vec![
            "XADD".into(),
            "x:big".into(),
            format!("{i}-1"),
            "type".into(),
            "order_created".into(),
            "order_id".into(),
            i.to_string(),
        ]);
    }
    setup.extend(cmds(&[
        &["XDEL", "x:big", "5-1", "100-1"],
        &["XTRIM", "x:big", "MAXLEN", "~", "120"],
    ]));
    for r in pipeline_raw(c, &setup) {
        assert!(!r.starts_with(b"-"), "{}", show(&r));
    }
}

const DETERMINISTIC: &[&str] = &[
    "s:short",
    "s:int",
    "s:bigint",
    "s:neg",
    "s:text",
    "s:zero-padded",
    "l:small",
    "set:ints",
    "set:wide",
    "h:small",
    "z:small",
    "x:plain",
    "x:gone",
    "l:big",
    "l:ints",
    "z:big",
    "h:long",
    "x:big",
];

const ALL: &[&str] = &[
    "s:short",
    "s:int",
    "s:bigint",
    "s:neg",
    "s:text",
    "s:zero-padded",
    "l:small",
    "set:ints",
    "set:wide",
    "set:table",
    "h:small",
    "z:small",
    "x:plain",
    "x:gone",
    "x:pel",
    "l:big",
    "l:ints",
    "z:big",
    "h:big",
    "h:long",
    "set:big",
    "x:big",
    "s:ttl",
];

/// What a key holds, read back in a form that does not depend on hash order or time.
fn contents(c: &mut Raw, key: &str) -> Vec<String> {
    let t = c.cmd(&["TYPE", key]);
    let mut out = vec![show(&t), show(&c.cmd(&["OBJECT", "ENCODING", key]))];
    let sorted = |r: Vec<u8>| {
        let mut items: Vec<String> = Resp::from(&r)
            .items()
            .chunks(1)
            .map(|x| show(&x[0].encode()))
            .collect();
        items.sort();
        items.join(",")
    };
    match &t[..] {
        b"+string\r\n" => out.push(show(&c.cmd(&["GET", key]))),
        b"+list\r\n" => out.push(show(&c.cmd(&["LRANGE", key, "0", "-1"]))),
        b"+set\r\n" => out.push(sorted(c.cmd(&["SMEMBERS", key]))),
        b"+hash\r\n" => {
            let r = Resp::from(&c.cmd(&["HGETALL", key]));
            let mut pairs: Vec<String> = r
                .items()
                .chunks(2)
                .map(|p| format!("{}={}", show(&p[0].encode()), show(&p[1].encode())))
                .collect();
            pairs.sort();
            out.push(pairs.join(","));
        }
        b"+zset\r\n" => out.push(show(&c.cmd(&["ZRANGE", key, "0", "-1", "WITHSCORES"]))),
        b"+stream\r\n" => {
            out.push(show(&c.cmd(&["XRANGE", key, "-", "+"])));
            out.push(show(&c.cmd(&["XINFO", "GROUPS", key])));
            for g in ["g", "h"] {
                let r = Resp::from(&c.cmd(&["XPENDING", key, g, "-", "+", "100"]));
                // Idle times vary: keep ID, consumer and delivery count.
                let rows: Vec<String> = r
                    .items()
                    .iter()
                    .map(|row| {
                        let v = row.items();
                        if v.len() == 4 {
                            format!(
                                "{}/{}/{}",
                                show(&v[0].encode()),
                                show(&v[1].encode()),
                                show(&v[3].encode())
                            )
                        } else {
                            show(&row.encode())
                        }
                    })
                    .collect();
                out.push(rows.join(","));
            }
            let info = Resp::from(&c.cmd(&["XINFO", "STREAM", key]));
            let v = info.items();
            for i in (0..v.len()).step_by(2) {
                let name = v[i].bytes().unwrap_or_default().to_vec();
                if name != b"first-entry" && name != b"last-entry" {
                    out.push(format!("{}={}", show(&name), show(&v[i + 1].encode())));
                }
            }
        }
        _ => {}
    }
    let ttl = Resp::from(&c.cmd(&["PTTL", key]));
    out.push(
        if ttl.bytes() == Some(b"-1") {
            "no ttl"
        } else {
            "ttl"
        }
        .into(),
    );
    out
}

fn dump(c: &mut Raw, key: &str) -> Vec<u8> {
    let r = Resp::from(&c.cmd(&["DUMP", key]));
    r.bytes()
        .unwrap_or_else(|| panic!("DUMP {key}: {}", show(&r.encode())))
        .to_vec()
}

#[test]
fn every_value_restores_on_busbar_with_its_contents() {
    let srv = busbar(&["--threads", "2"]);
    let mut c = Raw::connect(srv.port).unwrap();
    build(&mut c);
    for key in ALL {
        let payload = dump(&mut c, key);
        let want = contents(&mut c, key);
        let copy = format!("{key}:copy");
        let ttl = if *key == "s:ttl" { "100000" } else { "0" };
        let reply = c.cmd_bytes(&[b"RESTORE", copy.as_bytes(), ttl.as_bytes(), &payload]);
        assert_eq!(show(&reply), "+OK\\r\\n", "{key}");
        assert_eq!(contents(&mut c, &copy), want, "{key}");
        // A restored stream keeps its entries present, not the deleted ones its nodes
        // held; every other value dumps again to the same size.
        if !key.starts_with("x:") {
            assert_eq!(dump(&mut c, &copy).len(), payload.len(), "{key}");
        }
    }
    // A string DUMP is Redis's: type 0, length 5, the bytes, RDB version 10, CRC-64.
    let p = dump(&mut c, "s:short");
    assert_eq!(&p[..9], b"\x00\x05hello\x0a\x00");
    assert_eq!(c.cmd(&["DUMP", "nosuchkey"]), b"$-1\r\n");
}

#[test]
fn dumps_match_redis_and_restore_across_both_servers() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let srv = busbar(&["--threads", "2"]);
    let mut b = Raw::connect(srv.port).unwrap();
    let mut r = Raw::connect(redis.port).unwrap();
    build(&mut b);
    build(&mut r);
    for key in DETERMINISTIC {
        assert_eq!(
            show(&dump(&mut b, key)),
            show(&dump(&mut r, key)),
            "DUMP {key} differs from redis-server's"
        );
    }
    for key in ALL {
        cross(&mut r, &mut b, key, "redis → busbar");
        cross(&mut b, &mut r, key, "busbar → redis");
    }
}

/// DUMPs `key` on `from`, RESTOREs it on `to` and compares what both hold.
fn cross(from: &mut Raw, to: &mut Raw, key: &str, way: &str) {
    let payload = dump(from, key);
    let copy = format!("{key}:copy");
    let ttl = if key == "s:ttl" { "100000" } else { "0" };
    let reply = to.cmd_bytes(&[
        b"RESTORE",
        copy.as_bytes(),
        ttl.as_bytes(),
        &payload,
        b"REPLACE",
    ]);
    assert_eq!(show(&reply), "+OK\\r\\n", "{way} {key}");
    assert_eq!(contents(to, &copy), contents(from, key), "{way} {key}");
}

/// RESTORE's options and errors, in Redis's order of checks.
fn restore_replies(c: &mut Raw) -> Vec<String> {
    c.cmd(&["FLUSHALL"]);
    c.cmd(&["SET", "src", "value"]);
    c.cmd(&["RPUSH", "list", "a", "b"]);
    let p = dump(c, "src");
    let mut bad_crc = p.clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    let mut newer = p.clone();
    let n = newer.len();
    newer[n - 10] = 11;
    let mut out = Vec::new();
    let mut run = |c: &mut Raw, args: &[&[u8]]| out.push(show(&c.cmd_bytes(args)));
    run(c, &[b"RESTORE", b"src", b"0", &p]);
    run(c, &[b"RESTORE", b"k", b"-1", &p]);
    run(c, &[b"RESTORE", b"k", b"abc", &p]);
    run(c, &[b"RESTORE", b"k", b"0", &bad_crc]);
    run(c, &[b"RESTORE", b"k", b"0", &newer]);
    run(c, &[b"RESTORE", b"k", b"0", b"short"]);
    run(c, &[b"RESTORE", b"k", b"0", &p, b"BOGUS"]);
    run(c, &[b"RESTORE", b"k", b"0", &p, b"IDLETIME", b"-1"]);
    run(c, &[b"RESTORE", b"k", b"0", &p, b"IDLETIME", b"x"]);
    run(c, &[b"RESTORE", b"k", b"0", &p, b"FREQ", b"256"]);
    run(
        c,
        &[b"RESTORE", b"k", b"0", &p, b"FREQ", b"5", b"IDLETIME", b"5"],
    );
    run(c, &[b"RESTORE", b"k", b"0", &p, b"IDLETIME"]);
    run(c, &[b"RESTORE", b"src", b"-1", &p, b"BOGUS"]);
    run(c, &[b"RESTORE", b"k", b"0", &p, b"IDLETIME", b"100"]);
    run(c, &[b"GET", b"k"]);
    run(
        c,
        &[b"RESTORE", b"list", b"0", &p, b"REPLACE", b"FREQ", b"10"],
    );
    run(c, &[b"TYPE", b"list"]);
    run(c, &[b"RESTORE", b"k2", b"5000", &p]);
    run(c, &[b"EXISTS", b"k2"]);
    // An absolute TTL in the past: nothing made, and REPLACE still drops the old key.
    run(c, &[b"RESTORE", b"k3", b"1000", &p, b"ABSTTL"]);
    run(c, &[b"EXISTS", b"k3"]);
    run(
        c,
        &[b"RESTORE", b"list", b"1000", &p, b"ABSTTL", b"REPLACE"],
    );
    run(c, &[b"EXISTS", b"list"]);
    run(c, &[b"RESTORE", b"k4", b"99999999999999", &p, b"ABSTTL"]);
    run(c, &[b"PEXPIRETIME", b"k4"]);
    // A valid checksum over bytes that are not a value.
    let mut junk = vec![0x0e, 0xff, 0xff];
    junk.extend_from_slice(&10u16.to_le_bytes());
    let crc = busbar::persist::crc64::crc64(0, &junk);
    junk.extend_from_slice(&crc.to_le_bytes());
    run(c, &[b"RESTORE", b"k5", b"0", &junk]);
    out
}

#[test]
fn restore_options_and_errors_match_redis() {
    let srv = busbar(&[]);
    let got = restore_replies(&mut Raw::connect(srv.port).unwrap());
    assert_eq!(got[0], "-BUSYKEY Target key name already exists.\\r\\n");
    assert_eq!(
        got[3],
        "-ERR DUMP payload version or checksum are wrong\\r\\n"
    );
    if let Some(redis) = redis_server(&[]) {
        let want = restore_replies(&mut Raw::connect(redis.port).unwrap());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "reply {i}");
        }
    }
}

/// Flips, cuts and inserts bytes of valid payloads, fixing the checksum so the decoder
/// sees them: every RESTORE answers and the server stays up.
#[test]
fn corrupted_payloads_are_refused_without_harm() {
    let srv = busbar(&["--threads", "2"]);
    let mut c = Raw::connect(srv.port).unwrap();
    build(&mut c);
    let payloads: Vec<Vec<u8>> = ALL.iter().map(|k| dump(&mut c, k)).collect();
    let mut rng = StdRng::seed_from_u64(16);
    for round in 0..3000 {
        let mut p = payloads[round % payloads.len()].clone();
        let body_len = p.len() - 10;
        let mut body = p[..body_len].to_vec();
        for _ in 0..rng.gen_range(1..4) {
            match rng.gen_range(0..3) {
                0 if !body.is_empty() => {
                    let i = rng.gen_range(0..body.len());
                    body[i] = rng.gen();
                }
                1 if !body.is_empty() => body.truncate(rng.gen_range(0..body.len())),
                _ => {
                    let i = rng.gen_range(0..=body.len());
                    body.insert(i, rng.gen());
                }
            }
        }
        body.extend_from_slice(&10u16.to_le_bytes());
        let crc = busbar::persist::crc64::crc64(0, &body);
        body.extend_from_slice(&crc.to_le_bytes());
        p = body;
        let reply = c.cmd_bytes(&[b"RESTORE", b"fuzz", b"0", &p, b"REPLACE"]);
        assert!(
            reply == b"+OK\r\n" || reply == b"-ERR Bad data format\r\n",
            "{}",
            show(&reply)
        );
    }
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
}
