//! Long replies written as the client reads them (`cmd::paced`): the same bytes as
//! redis-server, the value as it was when the command ran whatever happens to the key
//! meanwhile, memory bounded by a few pieces for a client that does not read, and the
//! commands pipelined after a long reply run after it, in order.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;
use std::time::{Duration, Instant};

/// Hash tags of two keys that live on different shards of a two-shard busbar.
fn two_shard_tags() -> [String; 2] {
    let (a, b) = keys_on_two_shards("t", 2);
    [format!("{{{a}}}"), format!("{{{b}}}")]
}

/// Runs a pipeline of commands and returns the raw replies, one per command.
fn pipeline(c: &mut Raw, cmds: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    let mut batch = Vec::new();
    for cmd in cmds {
        let a: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
        batch.extend(Raw::encode(&a));
    }
    c.send(&batch);
    cmds.iter().map(|_| c.read_reply()).collect()
}

fn args(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// Loads values of every type and encoding under `tag`, each large enough that its full
/// reply takes several pieces (the small encodings stay small, as Redis's).
fn load(c: &mut Raw, tag: &str) {
    let mut cmds = Vec::new();
    let list: Vec<String> = (0..30_000)
        .map(|i| format!("e{i:06}{}", "x".repeat(40)))
        .collect();
    for chunk in list.chunks(1000) {
        let mut a = args(&["RPUSH", &format!("{tag}L")]);
        a.extend(chunk.iter().map(|s| s.as_bytes().to_vec()));
        cmds.push(a);
    }
    cmds.push(args(&[
        "HSET",
        &format!("{tag}HP"),
        "a",
        "1",
        "b",
        "2",
        "c",
        "3",
    ]));
    for chunk in (0..20_000).collect::<Vec<_>>().chunks(1000) {
        let mut a = args(&["HSET", &format!("{tag}HT")]);
        for i in chunk {
            a.push(format!("field:{i}").into_bytes());
            a.push(format!("{}{i}", "v".repeat(30)).into_bytes());
        }
        cmds.push(a);
    }
    let mut a = args(&["SADD", &format!("{tag}SI")]);
    a.extend((0..400).map(|i| (i * 7 - 1000).to_string().into_bytes()));
    cmds.push(a);
    for chunk in (0..20_000).collect::<Vec<_>>().chunks(1000) {
        let mut a = args(&["SADD", &format!("{tag}ST")]);
        a.extend(
            chunk
                .iter()
                .map(|i| format!("member:{i}:{}", "m".repeat(20)).into_bytes()),
        );
        cmds.push(a);
    }
    cmds.push(args(&[
        "ZADD",
        &format!("{tag}ZP"),
        "1",
        "a",
        "2.5",
        "b",
        "-inf",
        "c",
    ]));
    for chunk in (0..20_000).collect::<Vec<_>>().chunks(1000) {
        let mut a = args(&["ZADD", &format!("{tag}ZT")]);
        for i in chunk {
            a.push(format!("{}", *i as f64 * 0.5 - 77.25).into_bytes());
            a.push(format!("zm:{i}:{}", "z".repeat(20)).into_bytes());
        }
        cmds.push(a);
    }
    for i in 1..=8000 {
        let id = format!("{}-{}", 1000 + i / 3, i % 3);
        let v = format!("value {i} {}", "s".repeat(40));
        cmds.push(args(&["XADD", &format!("{tag}X"), &id, "f", &v, "g", "h"]));
    }
    let big = "q".repeat(2_000_000);
    cmds.push(args(&["SET", &format!("{tag}S"), &big]));
    for r in pipeline(c, &cmds) {
        assert!(!r.starts_with(b"-"), "{}", show(&r));
    }
}

/// The read commands whose replies are paced, over the keys `load` made.
fn reads(tag: &str) -> Vec<Vec<Vec<u8>>> {
    let k = |s: &str| format!("{tag}{s}");
    let mut out = vec![
        args(&["LRANGE", &k("L"), "0", "-1"]),
        args(&["LRANGE", &k("L"), "17", "-23"]),
        args(&["LRANGE", &k("L"), "-29000", "28000"]),
        args(&["HGETALL", &k("HP")]),
        args(&["HGETALL", &k("HT")]),
        args(&["HKEYS", &k("HT")]),
        args(&["HVALS", &k("HT")]),
        args(&["SMEMBERS", &k("SI")]),
        args(&["SMEMBERS", &k("ST")]),
        args(&["ZRANGE", &k("ZP"), "0", "-1", "WITHSCORES"]),
        args(&["ZRANGE", &k("ZT"), "0", "-1", "WITHSCORES"]),
        args(&["ZRANGE", &k("ZT"), "5", "-5", "REV"]),
        args(&[
            "ZRANGE",
            &k("ZT"),
            "-10",
            "5000",
            "BYSCORE",
            "LIMIT",
            "3",
            "15000",
        ]),
        args(&["ZREVRANGEBYSCORE", &k("ZT"), "+inf", "(100", "WITHSCORES"]),
        args(&["ZRANGEBYLEX", &k("ZP"), "-", "+"]),
        args(&["XRANGE", &k("X"), "-", "+"]),
        args(&["XRANGE", &k("X"), "1200", "2000-1", "COUNT", "1500"]),
        args(&["XREVRANGE", &k("X"), "+", "-", "COUNT", "7000"]),
        args(&["GET", &k("S")]),
        args(&["GETRANGE", &k("S"), "3", "-4"]),
        args(&["GETRANGE", &k("S"), "-1500000", "1999990"]),
    ];
    // Interleaved with short replies, as a pipeline would have them.
    out.insert(5, args(&["LLEN", &k("L")]));
    out.push(args(&["PING"]));
    out
}

/// Hash tables and set tables come back in each server's own order: compare them sorted.
fn normalized(cmd: &[Vec<u8>], reply: &[u8]) -> Vec<u8> {
    let name = String::from_utf8_lossy(&cmd[0]).to_ascii_uppercase();
    let table = cmd
        .get(1)
        .is_some_and(|k| k.ends_with(b"HT") || k.ends_with(b"ST"));
    if !table || !matches!(&name[..], "HGETALL" | "HKEYS" | "HVALS" | "SMEMBERS") {
        return reply.to_vec();
    }
    let Resp::Agg(tag, Some(items)) = Resp::from(reply) else {
        return reply.to_vec();
    };
    let items = if name == "HGETALL" {
        let mut pairs: Vec<Vec<Resp>> = items.chunks(2).map(|p| p.to_vec()).collect();
        pairs.sort();
        pairs.concat()
    } else {
        let mut v = items;
        v.sort();
        v
    };
    Resp::Agg(tag, Some(items)).encode()
}

#[test]
fn long_replies_match_redis_byte_for_byte_on_every_shard() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let srv = busbar(&["--threads", "2"]);
    let tags = two_shard_tags();
    for resp3 in [false, true] {
        let mut ours = Raw::connect(srv.port).unwrap();
        let mut theirs = Raw::connect(redis.port).unwrap();
        if resp3 {
            ours.cmd(&["HELLO", "3"]);
            theirs.cmd(&["HELLO", "3"]);
        }
        for tag in &tags {
            if !resp3 {
                load(&mut ours, tag);
                load(&mut theirs, tag);
            }
            let cmds = reads(tag);
            let a = pipeline(&mut ours, &cmds);
            let b = pipeline(&mut theirs, &cmds);
            for ((cmd, a), b) in cmds.iter().zip(&a).zip(&b) {
                let (a, b) = (normalized(cmd, a), normalized(cmd, b));
                assert!(
                    a == b,
                    "{} (resp3 {resp3}): {} bytes vs redis {} bytes; starts {} vs {}",
                    show(&cmd.concat()),
                    a.len(),
                    b.len(),
                    show(&a[..a.len().min(200)]),
                    show(&b[..b.len().min(200)])
                );
            }
        }
    }
}

/// A client that reads nothing of what it asked for: a small receive window, so the
/// server cannot push the reply into the kernel.
fn stalled_reader(port: u16, name: &str) -> Raw {
    let c = Raw::connect(port).unwrap();
    let sock = socket2::SockRef::from(&c.s);
    sock.set_recv_buffer_size(64 * 1024).unwrap();
    let mut c = c;
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", name]), b"+OK\r\n");
    c
}

/// The `omem=` of the client called `name` in CLIENT LIST.
fn omem(admin: &mut Raw, name: &str) -> Option<u64> {
    let list = Resp::from(&admin.cmd(&["CLIENT", "LIST"]));
    let text = String::from_utf8_lossy(list.bytes().unwrap_or_default()).to_string();
    let line = text
        .lines()
        .find(|l| l.contains(&format!(" name={name} ")))?;
    let field = line.split(' ').find_map(|f| f.strip_prefix("omem="))?;
    field.parse().ok()
}

/// Waits until the reply of the client called `name` has started (its output holds
/// unsent bytes): its command ran.
fn wait_reply_started(admin: &mut Raw, name: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(n) = omem(admin, name).filter(|&n| n > 0) {
            return n;
        }
        assert!(Instant::now() < deadline, "{name}'s reply never started");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reads a reply of exactly `len` bytes (the stalled reader now reads), then one more
/// reply.
fn read_exact_then_reply(c: &mut Raw, len: usize) -> (Vec<u8>, Vec<u8>) {
    use std::io::Read;
    c.s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = vec![0u8; len];
    c.s.read_exact(&mut buf).expect("the whole long reply");
    (buf, c.read_reply())
}

#[test]
fn a_long_reply_shows_the_value_as_it_was_whatever_happens_to_the_key_meanwhile() {
    let srv = busbar(&["--threads", "2"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    let mut round = 0;
    for tag in two_shard_tags() {
        let list: Vec<Vec<u8>> = (0..60_000)
            .map(|i| format!("element-{i:06}-{}", "p".repeat(100)).into_bytes())
            .collect();
        let hash_fields = 40_000;
        let string = vec![b's'; 6_000_000];
        // (the read, how to make the key, what to do to it while the reader stalls)
        type Case = (&'static str, Vec<Vec<u8>>, Vec<Vec<Vec<u8>>>);
        let k = |s: &str| format!("{tag}{s}").into_bytes();
        let cases: Vec<Case> = vec![
            (
                "LRANGE",
                vec![b"0".to_vec(), b"-1".to_vec()],
                vec![
                    vec![
                        b"LSET".to_vec(),
                        k("key"),
                        b"7".to_vec(),
                        b"changed".to_vec(),
                    ],
                    vec![b"LPUSH".to_vec(), k("key"), b"new".to_vec()],
                    vec![b"RPOP".to_vec(), k("key"), b"100".to_vec()],
                ],
            ),
            (
                "LRANGE",
                vec![b"0".to_vec(), b"-1".to_vec()],
                vec![
                    vec![b"DEL".to_vec(), k("key")],
                    vec![b"RPUSH".to_vec(), k("key"), b"other".to_vec()],
                ],
            ),
            (
                "LRANGE",
                vec![b"0".to_vec(), b"-1".to_vec()],
                vec![vec![b"FLUSHALL".to_vec()]],
            ),
            (
                "LRANGE",
                vec![b"0".to_vec(), b"-1".to_vec()],
                vec![
                    vec![b"SWAPDB".to_vec(), b"0".to_vec(), b"1".to_vec()],
                    vec![b"RPUSH".to_vec(), k("key"), b"in-db-0".to_vec()],
                    vec![b"SELECT".to_vec(), b"1".to_vec()],
                    vec![
                        b"LSET".to_vec(),
                        k("key"),
                        b"0".to_vec(),
                        b"in-db-1".to_vec(),
                    ],
                    vec![b"SELECT".to_vec(), b"0".to_vec()],
                ],
            ),
            (
                "HGETALL",
                vec![],
                vec![
                    vec![
                        b"HSET".to_vec(),
                        k("key"),
                        b"f1".to_vec(),
                        b"changed".to_vec(),
                    ],
                    vec![b"HDEL".to_vec(), k("key"), b"f2".to_vec()],
                    vec![b"PEXPIRE".to_vec(), k("key"), b"1".to_vec()],
                ],
            ),
            (
                "GET",
                vec![],
                vec![
                    vec![
                        b"SETRANGE".to_vec(),
                        k("key"),
                        b"0".to_vec(),
                        b"XYZ".to_vec(),
                    ],
                    vec![b"APPEND".to_vec(), k("key"), b"tail".to_vec()],
                    vec![b"RENAME".to_vec(), k("key"), k("moved")],
                ],
            ),
        ];
        for (cmd, extra, changes) in cases {
            round += 1;
            assert_eq!(admin.cmd(&["FLUSHALL"]), b"+OK\r\n");
            let key = k("key");
            match cmd {
                "LRANGE" => {
                    for chunk in list.chunks(2000) {
                        let mut a: Vec<&[u8]> = vec![b"RPUSH", &key];
                        a.extend(chunk.iter().map(|v| v.as_slice()));
                        admin.cmd_bytes(&a);
                    }
                }
                "HGETALL" => {
                    for i in (0..hash_fields).step_by(1000) {
                        let mut a = vec![b"HSET".to_vec(), key.clone()];
                        for j in i..i + 1000 {
                            a.push(format!("f{j}").into_bytes());
                            a.push(format!("{}{j}", "h".repeat(100)).into_bytes());
                        }
                        admin.cmd_owned(&a);
                    }
                }
                _ => {
                    admin.cmd_bytes(&[b"SET", &key, &string]);
                }
            }
            let mut read = vec![cmd.as_bytes().to_vec(), key.clone()];
            read.extend(extra);
            // The reply as it is now, read in full by a client that keeps up.
            let want = admin.cmd_owned(&read);
            let name = format!("reader{round}");
            let mut reader = stalled_reader(srv.port, &name);
            let mut sent = Raw::encode(&read.iter().map(|a| a.as_slice()).collect::<Vec<_>>());
            sent.extend(Raw::encode(&[b"PING"]));
            reader.send(&sent);
            wait_reply_started(&mut admin, &name);
            for change in &changes {
                let r = admin.cmd_owned(change);
                assert!(!r.starts_with(b"-"), "{}", show(&r));
            }
            let (got, pong) = read_exact_then_reply(&mut reader, want.len());
            assert!(got == want, "{cmd} after {changes:?}: the reply changed");
            assert_eq!(pong, b"+PONG\r\n");
        }
    }
}

#[test]
fn a_client_that_does_not_read_a_long_reply_holds_a_few_pieces_of_it() {
    let srv = busbar(&["--threads", "2"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    for (n, tag) in two_shard_tags().iter().enumerate() {
        // 64 MB of list, read by a client that reads nothing.
        let key = format!("{tag}big");
        let value = vec![b'v'; 64 * 1024];
        for _ in 0..16 {
            let mut a: Vec<&[u8]> = vec![b"RPUSH", key.as_bytes()];
            a.extend(std::iter::repeat_n(value.as_slice(), 64));
            admin.cmd_bytes(&a);
        }
        let name = format!("stalled{n}");
        let mut reader = stalled_reader(srv.port, &name);
        reader.send(&Raw::encode(&[b"LRANGE", key.as_bytes(), b"0", b"-1"]));
        wait_reply_started(&mut admin, &name);
        // However long it waits, it holds what it was handed and at most a piece more
        // (a piece ends at the first element past 256 KB).
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(10));
            let held = omem(&mut admin, &name).unwrap();
            assert!(
                held <= 2 * (256 + 64) * 1024,
                "holds {held} bytes of output"
            );
        }
        drop(reader);
        // The server goes on serving, and the list is intact.
        assert_eq!(admin.cmd(&["LLEN", &key]), b":1024\r\n");
    }
}

#[test]
fn commands_pipelined_after_long_replies_run_after_them_in_order() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let srv = busbar(&["--threads", "2"]);
    let tags = two_shard_tags();
    let mut ours = Raw::connect(srv.port).unwrap();
    let mut theirs = Raw::connect(redis.port).unwrap();
    for tag in &tags {
        load(&mut ours, tag);
        load(&mut theirs, tag);
    }
    let (a, b) = (&tags[0], &tags[1]);
    let mut cmds = Vec::new();
    for round in 0..3 {
        for (t, u) in [(a, b), (b, a)] {
            cmds.push(args(&["LRANGE", &format!("{t}L"), "0", "-1"]));
            cmds.push(args(&["INCR", &format!("{t}n")]));
            cmds.push(args(&["GET", &format!("{t}S")]));
            cmds.push(args(&[
                "RPUSH",
                &format!("{t}L"),
                &format!("pushed{round}"),
            ]));
            cmds.push(args(&["LRANGE", &format!("{t}L"), "-3", "-1"]));
            cmds.push(args(&[
                "ZRANGE",
                &format!("{u}ZT"),
                "0",
                "-1",
                "WITHSCORES",
            ]));
            cmds.push(args(&["GET", &format!("{u}n")]));
            cmds.push(args(&["XRANGE", &format!("{t}X"), "-", "+"]));
            cmds.push(args(&["LLEN", &format!("{t}L")]));
        }
    }
    let x = pipeline(&mut ours, &cmds);
    let y = pipeline(&mut theirs, &cmds);
    for ((cmd, x), y) in cmds.iter().zip(&x).zip(&y) {
        assert!(
            x == y,
            "{}: {} vs {}",
            show(&cmd.concat()),
            x.len(),
            y.len()
        );
    }
}

#[test]
fn a_client_that_leaves_mid_reply_still_has_its_later_commands_run() {
    let srv = busbar(&["--threads", "2"]);
    leave_mid_reply(srv.port);
    // redis-server does the same: it runs every command it read.
    if let Some(redis) = redis_server(&[]) {
        leave_mid_reply(redis.port);
    }
}

fn leave_mid_reply(port: u16) {
    let mut admin = Raw::connect(port).unwrap();
    for tag in two_shard_tags() {
        let key = format!("{tag}big");
        let value = vec![b'v'; 64 * 1024];
        for _ in 0..8 {
            let mut a: Vec<&[u8]> = vec![b"RPUSH", key.as_bytes()];
            a.extend(std::iter::repeat_n(value.as_slice(), 64));
            admin.cmd_bytes(&a);
        }
        for other in two_shard_tags() {
            let after = format!("{other}after-{tag}");
            let mut c = Raw::connect(port).unwrap();
            let mut sent = Raw::encode(&[b"LRANGE", key.as_bytes(), b"0", b"-1"]);
            sent.extend(Raw::encode(&[b"RPUSH", after.as_bytes(), b"job"]));
            c.send(&sent);
            // Once the reply has started (so the server has read both commands), leave
            // with a reset: the server's next write or read fails.
            let mut first = [0u8; 1];
            std::io::Read::read_exact(&mut c.s, &mut first).unwrap();
            let sock = socket2::SockRef::from(&c.s);
            sock.set_linger(Some(Duration::ZERO)).unwrap();
            drop(c);
            let deadline = Instant::now() + Duration::from_secs(20);
            while admin.cmd(&["LLEN", &after]) != b":1\r\n" {
                assert!(
                    Instant::now() < deadline,
                    "the RPUSH sent after LRANGE never ran"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        assert_eq!(admin.cmd(&["LLEN", &key]), b":512\r\n");
    }
}

#[test]
fn an_idle_connection_holds_no_buffers() {
    let srv = busbar(&["--threads", "2"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    let mut idle = Raw::connect(srv.port).unwrap();
    assert_eq!(idle.cmd(&["CLIENT", "SETNAME", "idle"]), b"+OK\r\n");
    // A long reply once, then nothing: its buffers go within a few seconds.
    let value = "x".repeat(100_000);
    assert_eq!(idle.cmd(&["SET", "k", &value]).len(), 5);
    assert_eq!(idle.cmd(&["GET", "k"]).len(), 100_000 + 11);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = Resp::from(&admin.cmd(&["CLIENT", "LIST"]));
        let text = String::from_utf8_lossy(list.bytes().unwrap()).to_string();
        let line = text
            .lines()
            .find(|l| l.contains(" name=idle "))
            .unwrap()
            .to_string();
        if line.contains(" qbuf=0 qbuf-free=0 ") && line.contains(" tot-mem=0 ") {
            break;
        }
        assert!(Instant::now() < deadline, "still holds buffers: {line}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // And it still works.
    assert_eq!(idle.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn pub_sub_messages_wait_behind_a_half_written_long_reply() {
    let srv = busbar(&["--threads", "2"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    for (n, tag) in two_shard_tags().iter().enumerate() {
        let key = format!("{tag}big");
        let value = vec![b'v'; 64 * 1024];
        for _ in 0..8 {
            let mut a: Vec<&[u8]> = vec![b"RPUSH", key.as_bytes()];
            a.extend(std::iter::repeat_n(value.as_slice(), 64));
            admin.cmd_bytes(&a);
        }
        let want = admin.cmd(&["LRANGE", &key, "0", "-1"]);
        let name = format!("sub{n}");
        let mut sub = stalled_reader(srv.port, &name);
        sub.cmd(&["HELLO", "3"]);
        sub.cmd(&["SUBSCRIBE", "news"]);
        sub.send(&Raw::encode(&[b"LRANGE", key.as_bytes(), b"0", b"-1"]));
        wait_reply_started(&mut admin, &name);
        for i in 0..10 {
            assert_eq!(admin.cmd(&["PUBLISH", "news", &format!("m{i}")]), b":1\r\n");
        }
        let (got, first) = read_exact_then_reply(&mut sub, want.len());
        assert!(got == want, "the long reply was cut by a message");
        let mut pushes = vec![first];
        pushes.extend((1..10).map(|_| sub.read_reply()));
        for (i, p) in pushes.iter().enumerate() {
            let m = format!("m{i}");
            let want = format!(
                ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n${}\r\n{m}\r\n",
                m.len()
            );
            assert_eq!(show(p), show(want.as_bytes()));
        }
    }
}

#[test]
fn a_huge_negative_randmember_count_is_written_at_the_readers_pace() {
    let srv = busbar(&["--threads", "2"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    let tags = two_shard_tags();
    for (n, tag) in tags.iter().enumerate() {
        let (h, s, z) = (format!("{tag}h"), format!("{tag}s"), format!("{tag}z"));
        admin.cmd(&["HSET", &h, "f", "v", "g", "w"]);
        admin.cmd(&["SADD", &s, "a", "b", "c"]);
        admin.cmd(&["ZADD", &z, "1", "a", "2.5", "b"]);
        for (i, cmd) in [
            vec!["HRANDFIELD", &h, "-2147483648", "WITHVALUES"],
            vec!["SRANDMEMBER", &s, "-9223372036854775807"],
            vec!["ZRANDMEMBER", &z, "-1099511627776", "WITHSCORES"],
        ]
        .iter()
        .enumerate()
        {
            let name = format!("picker{n}x{i}");
            let mut reader = stalled_reader(srv.port, &name);
            let a: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
            reader.send(&Raw::encode(&a));
            wait_reply_started(&mut admin, &name);
            for _ in 0..10 {
                std::thread::sleep(Duration::from_millis(10));
                let held = omem(&mut admin, &name).unwrap();
                assert!(held <= 2 * 300 * 1024, "{cmd:?} holds {held} bytes");
            }
            // What it does read is well formed: the header, then picks of the value.
            use std::io::Read;
            let mut head = vec![0u8; 1 << 20];
            reader.s.read_exact(&mut head).unwrap();
            let text = String::from_utf8_lossy(&head);
            let mut lines = text.split("\r\n");
            let header = lines.next().unwrap();
            let want_header = match i {
                0 => "*4294967296",
                1 => "*9223372036854775807",
                _ => "*2199023255552",
            };
            assert_eq!(header, want_header);
            let allowed: &[&str] = match i {
                0 => &["f", "v", "g", "w"],
                1 => &["a", "b", "c"],
                _ => &["a", "1", "b", "2.5"],
            };
            let items: Vec<&str> = lines.collect();
            for pair in items.chunks(2).take(items.len() / 2 - 1) {
                assert!(pair[0].starts_with('$'), "{pair:?}");
                assert!(allowed.contains(&pair[1]), "{pair:?}");
            }
            drop(reader);
        }
    }
    // Inside a transaction the reply is built whole: a count that could take gigabytes
    // is refused there, a small one is answered.
    let mut c = Raw::connect(srv.port).unwrap();
    let s = format!("{}s", tags[0]);
    c.cmd(&["MULTI"]);
    c.cmd(&["SRANDMEMBER", &s, "-100000000"]);
    c.cmd(&["SRANDMEMBER", &s, "-3"]);
    let exec = Resp::from(&c.cmd(&["EXEC"]));
    let items = exec.items();
    assert_eq!(
        items[0],
        Resp::Line(
            b'-',
            b"ERR count is too large to reply with inside a transaction".to_vec()
        )
    );
    assert_eq!(items[1].items().len(), 3);
    assert_eq!(admin.cmd(&["PING"]), b"+PONG\r\n");
}
