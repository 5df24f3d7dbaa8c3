//! COMMAND GETKEYS and COMMAND GETKEYSANDFLAGS against redis-server 7 (the oracle): for a
//! representative command line of every command busbar serves, and for the edge cases of
//! key specs (`numkeys` that does not parse, keywords, limits), the replies must match byte
//! for byte in RESP2 and RESP3.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

use busbar::resp::parse::split_inline;

/// One or more command lines per command busbar lists in COMMAND LIST (the first word, or
/// the first two for a subcommand, names it). A command without key specs needs none: its
/// name alone is its line (`every_line`). `every_command_has_a_line` keeps this complete.
const LINES: &[&str] = &[
    // Connection and server (no keys).
    "ping",
    "ping hello",
    "echo hi",
    "hello 3",
    "quit",
    "reset",
    "select 1",
    "auth pass",
    "client",
    "client list",
    "client id",
    "client setname n",
    "client getname",
    "client info",
    "client kill 1.2.3.4:5",
    "client unblock 7",
    "client help",
    "client nosuchsub x",
    "dbsize",
    "flushdb",
    "swapdb 0 1",
    "flushall",
    "time",
    "info",
    "config",
    "config get maxmemory",
    "config set maxmemory 0",
    "config resetstat",
    "config help",
    "command",
    "command count",
    "command info get",
    "command docs get",
    "command list",
    "command getkeys get k",
    "command getkeysandflags get k",
    "command help",
    "shutdown",
    "multi",
    "exec",
    "discard",
    "watch a b",
    "unwatch",
    "keys *",
    "scan 0",
    "randomkey",
    "object",
    "object encoding k",
    "object freq k",
    "object idletime k",
    "object refcount k",
    "object help",
    "object encoding",
    // Pub/Sub: channels are not keys.
    "subscribe a b",
    "unsubscribe a",
    "psubscribe p*",
    "punsubscribe p*",
    "publish ch msg",
    "spublish ch msg",
    "ssubscribe ch",
    "sunsubscribe ch",
    "pubsub",
    "pubsub channels",
    "pubsub numsub a",
    "pubsub numpat",
    "pubsub shardchannels",
    "pubsub shardnumsub a",
    "pubsub help",
    // Strings.
    "get k",
    "get",
    "get a b",
    "set k v",
    "set k v GET",
    "set k v ex 10 get",
    "set k v gEt",
    "set k get",
    "set k",
    "setnx k v",
    "setex k 10 v",
    "psetex k 10 v",
    "getset k v",
    "getdel k",
    "getex k ex 10",
    "mget a b c",
    "mset a 1 b 2",
    "mset a 1 b",
    "mset a",
    "msetnx a 1 b 2",
    "append k v",
    "strlen k",
    "incr k",
    "decr k",
    "incrby k 2",
    "decrby k 2",
    "incrbyfloat k 1.5",
    "getrange k 0 1",
    "setrange k 0 v",
    "substr k 0 1",
    // Keys.
    "del a b c",
    "unlink a b",
    "exists a b",
    "touch a b",
    "type k",
    "expire k 10",
    "pexpire k 10 nx",
    "expireat k 10",
    "pexpireat k 10",
    "ttl k",
    "pttl k",
    "expiretime k",
    "pexpiretime k",
    "persist k",
    "rename a b",
    "renamenx a b",
    "copy a b",
    "copy a b db 1 replace",
    "dump a",
    "restore a 0 payload",
    "restore a 0 payload replace absttl idletime 5",
    // Lists.
    "lpush k a b",
    "rpush k a",
    "lpushx k a",
    "rpushx k a",
    "lpop k",
    "rpop k 2",
    "llen k",
    "lrange k 0 -1",
    "lindex k 0",
    "lset k 0 v",
    "linsert k before p v",
    "lrem k 0 v",
    "ltrim k 0 1",
    "lpos k v rank 1",
    "lmove a b left right",
    "rpoplpush a b",
    "blpop a b 0",
    "brpop a 0",
    "blmove a b left right 0",
    "brpoplpush a b 0",
    "lmpop 2 a b LEFT COUNT 3",
    "lmpop 1 a RIGHT",
    "lmpop 3 a b LEFT",
    "lmpop 0 a LEFT",
    "lmpop -1 a LEFT",
    "lmpop 1x a LEFT",
    "lmpop ' 1' a LEFT",
    "lmpop +1 a LEFT",
    "lmpop 01 a LEFT",
    "lmpop -0 a LEFT",
    "lmpop 4294967297 a LEFT",
    "lmpop 2147483648 a LEFT",
    "lmpop x a LEFT",
    "lmpop 2 a",
    "blmpop 0 2 a b LEFT COUNT 3",
    "blmpop 1.5 1 a RIGHT",
    "blmpop 0 1x a RIGHT",
    "blmpop 0 3 a b RIGHT",
    // Hashes.
    "hset k f v",
    "hsetnx k f v",
    "hget k f",
    "hmset k f v",
    "hmget k f g",
    "hgetall k",
    "hdel k f",
    "hlen k",
    "hexists k f",
    "hkeys k",
    "hvals k",
    "hincrby k f 1",
    "hincrbyfloat k f 1.5",
    "hstrlen k f",
    "hrandfield k 2",
    "hscan k 0",
    // Sets.
    "sadd k a",
    "srem k a",
    "smembers k",
    "sismember k a",
    "smismember k a b",
    "scard k",
    "spop k",
    "srandmember k 2",
    "sscan k 0",
    "smove a b m",
    "sinter a b",
    "sintercard 2 a b LIMIT 1",
    "sintercard 1x a b",
    "sintercard 5 a b",
    "sinterstore d a b",
    "sunion a b",
    "sunionstore d a b",
    "sdiff a b",
    "sdiffstore d a b",
    // Sorted sets.
    "zadd k 1 m",
    "zincrby k 1 m",
    "zcard k",
    "zscore k m",
    "zmscore k m n",
    "zrem k m",
    "zrank k m",
    "zrevrank k m",
    "zpopmin k",
    "zpopmax k 2",
    "zrange k 0 -1",
    "zrevrange k 0 -1",
    "zrangebyscore k 0 1",
    "zrevrangebyscore k 1 0",
    "zrangebylex k - +",
    "zrevrangebylex k + -",
    "zcount k 0 1",
    "zlexcount k - +",
    "zremrangebyrank k 0 1",
    "zremrangebyscore k 0 1",
    "zremrangebylex k - +",
    "zrandmember k 2",
    "zunion 2 a b WEIGHTS 1 2",
    "zunion 2x a b",
    "zinter 2 a b",
    "zdiff 2 a b",
    "zdiff 3 a b",
    "zunionstore d 2 a b",
    "zunionstore d 2x a b",
    "zunionstore d 3 a b",
    "zinterstore d 2 a b AGGREGATE MAX",
    "zdiffstore d 1 a",
    "zintercard 2 a b LIMIT 3",
    "zintercard ' 2' a b",
    "zrangestore d s 0 -1",
    "zmpop 2 a b MIN COUNT 3",
    "zmpop 1 a MAX",
    "zmpop 1z a MAX",
    "bzpopmin a b 0",
    "bzpopmax a 0",
    "bzmpop 0 2 a b MIN COUNT 3",
    "bzmpop 1.5 1 a MAX",
    "bzmpop 0 2 a b",
    "bzmpop 0 +2 a b MIN",
    "bzmpop 0 9 a b MIN",
    "zscan k 0",
    // Streams.
    "xadd s * f v",
    "xlen s",
    "xrange s - +",
    "xrevrange s + -",
    "xdel s 1-1",
    "xtrim s MAXLEN 10",
    "xread STREAMS a b 0 0",
    "xread COUNT 1 BLOCK 0 STREAMS a 0",
    "xread streams a b c",
    "xread streams streams a b",
    "xread count 1 streams a",
    "xread count 1 a streams",
    "xread count 1 a streams b c",
    "xread block 0 count 5 streams a b",
    "xread count streams a b",
    "xread streams a b streams",
    "xgroup create s g $ MKSTREAM",
    "xgroup setid s g 0",
    "xgroup destroy s g",
    "xgroup createconsumer s g c",
    "xgroup delconsumer s g c",
    "xgroup help",
    "xreadgroup GROUP g c STREAMS a b > >",
    "xreadgroup GROUP g c COUNT 1 BLOCK 0 NOACK STREAMS a 0",
    "xreadgroup GROUP g c streams a",
    "xreadgroup group g streams a b >",
    "xack s g 1-1 2-2",
    "xpending s g",
    "xpending s g IDLE 10 - + 5 c",
    "xclaim s g c 0 1-1 2-2 JUSTID",
    "xautoclaim s g c 0 0-0 COUNT 5",
    "xinfo stream s FULL COUNT 5",
    "xinfo groups s",
    "xinfo consumers s g",
    "xinfo help",
    "xsetid s 5-0 ENTRIESADDED 9 MAXDELETEDID 1-0",
    // Unknown commands.
    "nosuchcommand a b",
    "client|list",
    "get|x k",
];

/// Lines for commands newer than Redis 7.0 (which answers `Invalid command specified`):
/// busbar's own answer is checked instead.
const NEWER_THAN_7_0: &[(&str, &str)] = &[(
    "client setinfo lib-name x",
    "-ERR The command has no key arguments\r\n",
)];

fn words(line: &str) -> Vec<Vec<u8>> {
    split_inline(line.as_bytes()).expect("balanced quotes")
}

/// The (command, subcommand) name a line is for, lower case.
fn names_of(line: &str) -> (String, Option<String>) {
    let w = words(line);
    let name = String::from_utf8_lossy(&w[0]).to_ascii_lowercase();
    let sub = w
        .get(1)
        .map(|s| format!("{name}|{}", String::from_utf8_lossy(s).to_ascii_lowercase()));
    (name, sub)
}

/// `LINES`, plus the bare name of every listed command without a line whose COMMAND INFO
/// shows no key specs and no `movablekeys` (GETKEYS must then answer as Redis does: no key
/// arguments, or the arity error for a line that short); and the listed commands that may
/// take keys but have no line.
fn every_line(port: u16) -> (Vec<String>, Vec<String>) {
    let mut lines: Vec<String> = LINES.iter().map(|l| l.to_string()).collect();
    let mut missing = Vec::new();
    let mut c = Raw::connect(port).unwrap();
    for name in command_list(port) {
        let mut known = LINES.iter().chain(NEWER_THAN_7_0.iter().map(|(l, _)| l));
        let covered = known.any(|l| {
            let (cmd, sub) = names_of(l);
            cmd == name || sub.as_deref() == Some(name.as_str())
        });
        if covered {
            continue;
        }
        let info = Resp::from(&c.cmd(&["COMMAND", "INFO", &name]));
        let fields = info.items()[0].items();
        let movable = fields[2]
            .items()
            .iter()
            .any(|f| f.bytes() == Some(b"movablekeys"));
        if fields[8].items().is_empty() && !movable {
            lines.push(name.replace('|', " "));
        } else {
            missing.push(name);
        }
    }
    (lines, missing)
}

fn command_list(port: u16) -> Vec<String> {
    let mut c = Raw::connect(port).unwrap();
    let reply = Resp::from(&c.cmd(&["COMMAND", "LIST"]));
    reply
        .items()
        .iter()
        .map(|r| String::from_utf8(r.bytes().unwrap().to_vec()).unwrap())
        .collect()
}

#[test]
fn every_command_has_a_line() {
    let bb = busbar(&[]);
    let (_, missing) = every_line(bb.port);
    assert!(missing.is_empty(), "no GETKEYS line for {missing:?}");
    let mut c = Raw::connect(bb.port).unwrap();
    for (line, want) in NEWER_THAN_7_0 {
        let mut args: Vec<Vec<u8>> = vec![b"COMMAND".to_vec(), b"GETKEYS".to_vec()];
        args.extend(words(line));
        assert_eq!(show(&c.cmd_owned(&args)), show(want.as_bytes()), "{line}");
    }
}

/// Both subcommands, both protocols, every line; returns each mismatch.
fn compare_all(bport: u16, rport: u16, lines: &[Vec<Vec<u8>>]) -> Vec<String> {
    let mut problems = Vec::new();
    for resp3 in [false, true] {
        let mut b = Raw::connect(bport).unwrap();
        let mut r = Raw::connect(rport).unwrap();
        if resp3 {
            b.cmd(&["HELLO", "3"]);
            r.cmd(&["HELLO", "3"]);
        }
        for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
            for line in lines {
                let mut args: Vec<&[u8]> = vec![b"COMMAND", sub.as_bytes()];
                args.extend(line.iter().map(|a| a.as_slice()));
                let (bv, rv) = (b.cmd_bytes(&args), r.cmd_bytes(&args));
                if bv != rv {
                    let shown: Vec<String> = args
                        .iter()
                        .map(|a| String::from_utf8_lossy(a).into())
                        .collect();
                    problems.push(format!(
                        "[{}] {}\n      busbar: {}\n      redis:  {}",
                        if resp3 { "RESP3" } else { "RESP2" },
                        shown.join(" "),
                        show(&bv),
                        show(&rv)
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn getkeys_and_flags_match_redis_for_every_command() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let bb = busbar(&[]);
    let lines: Vec<Vec<Vec<u8>>> = every_line(bb.port).0.iter().map(|l| words(l)).collect();
    let problems = compare_all(bb.port, redis.port, &lines);
    assert!(
        problems.is_empty(),
        "{} mismatches with redis-server:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn getkeys_arity_and_lookup_errors_match_redis() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let bb = busbar(&[]);
    let lines: &[&[&str]] = &[
        &["COMMAND", "GETKEYS"],
        &["COMMAND", "GETKEYS", "get"],
        &["COMMAND", "GETKEYSANDFLAGS", "ping"],
        &["COMMAND", "GETKEYS", "GET", "k"],
        &["COMMAND", "GETKEYS", "CLIENT", "LIST"],
        &["COMMAND", "GETKEYS", "OBJECT", "ENCODING"],
        &["COMMAND", "GETKEYS", "OBJECT", "nosuch", "k"],
        &["command", "getkeys", "command", "getkeys", "get", "k"],
        &["COMMAND", "HELP", "x"],
    ];
    let mut problems = Vec::new();
    for resp3 in [false, true] {
        let mut b = Raw::connect(bb.port).unwrap();
        let mut r = Raw::connect(redis.port).unwrap();
        if resp3 {
            b.cmd(&["HELLO", "3"]);
            r.cmd(&["HELLO", "3"]);
        }
        for line in lines {
            let (bv, rv) = (b.cmd(line), r.cmd(line));
            if bv != rv {
                problems.push(format!(
                    "{line:?}\n      busbar: {}\n      redis:  {}",
                    show(&bv),
                    show(&rv)
                ));
            }
        }
        // A line with a NUL after a keyword: Redis compares keywords as C strings.
        let args: &[&[u8]] = &[b"COMMAND", b"GETKEYS", b"set", b"k", b"v", b"get\0x"];
        let (bv, rv) = (b.cmd_bytes(args), r.cmd_bytes(args));
        if bv != rv {
            problems.push(format!("set with get\\0x: {} vs {}", show(&bv), show(&rv)));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n  "));
}

#[test]
fn command_info_and_docs_list_the_getkeys_subcommands() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let bb = busbar(&[]);
    let mut b = Raw::connect(bb.port).unwrap();
    let mut r = Raw::connect(redis.port).unwrap();
    for name in ["command|getkeys", "command|getkeysandflags"] {
        let (bv, rv) = (
            b.cmd(&["COMMAND", "INFO", name]),
            r.cmd(&["COMMAND", "INFO", name]),
        );
        assert_eq!(show(&bv), show(&rv), "COMMAND INFO {name}");
        // DOCS entries carry busbar's own sentences (summary, complexity, history notes); the
        // facts must be Redis's.
        let docs = Resp::from(&b.cmd(&["COMMAND", "DOCS", name]));
        let want = Resp::from(&r.cmd(&["COMMAND", "DOCS", name]));
        let fields = |d: &Resp| -> Vec<Vec<u8>> {
            let entry = &d.items()[1];
            entry
                .items()
                .chunks(2)
                .filter(|kv| {
                    !matches!(
                        kv[0].bytes(),
                        Some(b"summary" | b"complexity" | b"history" | b"replaced_by")
                    )
                })
                .flat_map(|kv| [kv[0].encode(), kv[1].encode()])
                .collect()
        };
        assert_eq!(fields(&docs), fields(&want), "COMMAND DOCS {name}");
    }
    let subs = |c: &mut Raw| -> Vec<String> {
        let mut v: Vec<String> =
            Resp::from(&c.cmd(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "command|*"]))
                .items()
                .iter()
                .map(|r| String::from_utf8_lossy(r.bytes().unwrap()).into_owned())
                .collect();
        v.sort();
        v
    };
    assert_eq!(subs(&mut b), subs(&mut r));
}
