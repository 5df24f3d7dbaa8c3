//! Streams over TCP with several shards: XREAD BLOCK woken by XADD on the key's shard or
//! another, every blocked reader gets the entry (a read takes nothing), `$` means "only
//! new entries", timeouts and disconnects, and streams moved between shards by RENAME.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

fn bulk(v: &str) -> String {
    format!("${}\r\n{}\r\n", v.len(), v)
}

/// XREAD's RESP2 reply for one key and one entry of one field.
fn one_entry(key: &str, id: &str, f: &str, v: &str) -> String {
    format!(
        "*1\r\n*2\r\n{}*1\r\n*2\r\n{}*2\r\n{}{}",
        bulk(key),
        bulk(id),
        bulk(f),
        bulk(v)
    )
}

#[test]
fn blocked_readers_all_get_a_new_entry_on_any_shard() {
    let srv = busbar(&["--threads", "3"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    let mut readers = Vec::new();
    for i in 0..12 {
        let mut c = Raw::connect(srv.port).unwrap();
        c.send(&Raw::encode(&[
            b"XREAD", b"BLOCK", b"0", b"STREAMS", b"events", b"$",
        ]));
        wait_blocked(&mut admin, i + 1);
        readers.push(c);
    }
    assert_eq!(
        show(&admin.cmd(&["XADD", "events", "7-1", "kind", "signup"])),
        show(bulk("7-1").as_bytes())
    );
    let want = one_entry("events", "7-1", "kind", "signup");
    for c in readers.iter_mut() {
        assert_eq!(show(&c.read_reply()), show(want.as_bytes()));
    }
    assert_eq!(blocked_clients(&mut admin), 0);
    assert_eq!(admin.cmd(&["XLEN", "events"]), b":1\r\n");
}

#[test]
fn dollar_waits_for_entries_after_the_call_and_keys_span_shards() {
    let srv = busbar(&["--threads", "2"]);
    let (a, b) = keys_on_two_shards("feed", 2);
    let mut admin = Raw::connect(srv.port).unwrap();
    admin.cmd(&["XADD", &a, "1-1", "old", "x"]);
    admin.cmd(&["XADD", &b, "1-1", "old", "y"]);
    let mut c = Raw::connect(srv.port).unwrap();
    c.send(&Raw::encode(&[
        b"XREAD",
        b"COUNT",
        b"10",
        b"BLOCK",
        b"0",
        b"STREAMS",
        a.as_bytes(),
        b.as_bytes(),
        b"$",
        b"$",
    ]));
    wait_blocked(&mut admin, 1);
    // Only the key that got the entry is in the reply.
    admin.cmd(&["XADD", &b, "2-0", "new", "z"]);
    assert_eq!(
        show(&c.read_reply()),
        show(one_entry(&b, "2-0", "new", "z").as_bytes())
    );
    // Given IDs: both keys have entries after them, both come back, in key order.
    let r = Resp::from(&c.cmd(&["XREAD", "STREAMS", &a, &b, "0", "1-1"]));
    let keys: Vec<&[u8]> = r
        .items()
        .iter()
        .map(|kv| kv.items()[0].bytes().unwrap())
        .collect();
    assert_eq!(keys, vec![a.as_bytes(), b.as_bytes()]);
    // RESP3: a map, and a timeout is a null.
    assert_eq!(c.cmd(&["HELLO", "3"]).first(), Some(&b'%'));
    assert_eq!(
        c.cmd(&["XREAD", "BLOCK", "20", "STREAMS", &a, "$"]),
        b"_\r\n"
    );
    c.send(&Raw::encode(&[
        b"XREAD",
        b"BLOCK",
        b"0",
        b"STREAMS",
        a.as_bytes(),
        b"$",
    ]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["XADD", &a, "3-0", "k", "v"]);
    let want = format!(
        "%1\r\n{}*1\r\n*2\r\n{}*2\r\n{}{}",
        bulk(&a),
        bulk("3-0"),
        bulk("k"),
        bulk("v")
    );
    assert_eq!(show(&c.read_reply()), show(want.as_bytes()));
}

#[test]
fn timeouts_and_disconnects_leave_no_waiter() {
    let srv = busbar(&["--threads", "2"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    let mut c = Raw::connect(srv.port).unwrap();
    let t = std::time::Instant::now();
    assert_eq!(
        c.cmd(&["XREAD", "BLOCK", "50", "STREAMS", "s", "0"]),
        b"*-1\r\n"
    );
    assert!(t.elapsed() >= std::time::Duration::from_millis(45));
    {
        let mut gone = Raw::connect(srv.port).unwrap();
        gone.send(&Raw::encode(&[
            b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$",
        ]));
        wait_blocked(&mut admin, 1);
    }
    wait_blocked(&mut admin, 0);
    admin.cmd(&["XADD", "s", "1-0", "f", "v"]);
    // A blocked reader of another type's key stays blocked (as Redis 7.0).
    let id = String::from_utf8(c.cmd(&["CLIENT", "ID"])).unwrap();
    let id = id.trim_start_matches(':').trim_end().to_string();
    c.send(&Raw::encode(&[b"BLPOP", b"s2", b"0"]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["XADD", "s2", "1-0", "f", "v"]);
    assert_eq!(blocked_clients(&mut admin), 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), b":1\r\n");
    assert_eq!(c.read_reply(), b"*-1\r\n");
}

#[test]
fn a_stream_renamed_across_shards_keeps_its_entries_and_ids() {
    let srv = busbar(&["--threads", "2"]);
    let (a, b) = keys_on_two_shards("st", 2);
    let mut c = Raw::connect(srv.port).unwrap();
    for i in 1..=250 {
        c.cmd(&["XADD", &a, &format!("{i}-0"), "n", &i.to_string()]);
    }
    c.cmd(&["XDEL", &a, "250-0"]);
    let before = c.cmd(&["XRANGE", &a, "-", "+"]);
    assert_eq!(c.cmd(&["RENAME", &a, &b]), b"+OK\r\n");
    assert_eq!(c.cmd(&["XRANGE", &b, "-", "+"]), before);
    assert_eq!(show(&c.cmd(&["TYPE", &b])), "+stream\\r\\n");
    // The last ID moved too: the next explicit ID must still be above 250-0.
    assert_eq!(
        show(&c.cmd(&["XADD", &b, "250-0", "n", "x"])),
        show(b"-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n")
    );
    assert_eq!(c.cmd(&["XLEN", &b]), b":249\r\n");
}

/// Consumers of two groups blocked in XREADGROUP on two streams of different shards;
/// each XADD goes to exactly one consumer of each group, the first blocked. Returns what
/// each consumer received, group by group, for comparing servers.
fn group_readers_share_entries(port: u16, shards: usize) -> Vec<Vec<u8>> {
    let (a, b) = keys_on_two_shards("jobs", shards.max(2));
    let mut admin = Raw::connect(port).unwrap();
    for key in [&a, &b] {
        for g in ["g1", "g2"] {
            assert_eq!(
                admin.cmd(&["XGROUP", "CREATE", key, g, "$", "MKSTREAM"]),
                b"+OK\r\n"
            );
        }
    }
    let mut readers = Vec::new();
    for i in 0..4 {
        for g in ["g1", "g2"] {
            let mut c = Raw::connect(port).unwrap();
            let name = format!("c{i}");
            // Half list the keys one way, half the other.
            let (k1, k2) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
            c.send(&Raw::encode(&[
                b"XREADGROUP",
                b"GROUP",
                g.as_bytes(),
                name.as_bytes(),
                b"BLOCK",
                b"0",
                b"STREAMS",
                k1.as_bytes(),
                k2.as_bytes(),
                b">",
                b">",
            ]));
            wait_blocked(&mut admin, readers.len() + 1);
            readers.push(c);
        }
    }
    for n in 1..=4 {
        let key = if n % 2 == 1 { &a } else { &b };
        admin.cmd(&["XADD", key, &format!("{n}-1"), "n", &n.to_string()]);
    }
    let got: Vec<Vec<u8>> = readers.iter_mut().map(|c| c.read_reply()).collect();
    assert_eq!(blocked_clients(&mut admin), 0);
    // Nothing is pending twice: each group's consumers hold the four entries between them.
    for g in ["g1", "g2"] {
        let mut held = 0;
        for i in 0..4 {
            let r = Resp::from(&admin.cmd(&[
                "XREADGROUP",
                "GROUP",
                g,
                &format!("c{i}"),
                "STREAMS",
                &a,
                &b,
                "0",
                "0",
            ]));
            held += r
                .items()
                .iter()
                .map(|kv| kv.items()[1].items().len())
                .sum::<usize>();
        }
        assert_eq!(held, 4, "group {g}");
    }
    got
}

#[test]
fn blocked_group_readers_get_each_entry_once_per_group_across_shards() {
    let srv = busbar(&["--threads", "3"]);
    let got = group_readers_share_entries(srv.port, 3);
    if let Some(redis) = redis_server(&[]) {
        // Same keys for both: the key names depend only on the shard count.
        assert_eq!(
            got.iter().map(|r| show(r)).collect::<Vec<_>>(),
            group_readers_share_entries(redis.port, 3)
                .iter()
                .map(|r| show(r))
                .collect::<Vec<_>>()
        );
    }
}

/// A consumer blocked in XREADGROUP wakes with an error when its group or stream goes,
/// whatever removed it; returns each wake's reply.
fn group_reader_wakes(port: u16) -> Vec<Vec<u8>> {
    let mut admin = Raw::connect(port).unwrap();
    let removals: [&[&str]; 6] = [
        &["XGROUP", "DESTROY", "s", "g"],
        &["DEL", "s"],
        &["SET", "s", "now a string"],
        &["FLUSHALL"],
        &["RENAME", "s", "elsewhere"],
        &["PEXPIRE", "s", "50"],
    ];
    let mut out = Vec::new();
    for removal in removals {
        admin.cmd(&["FLUSHALL"]);
        admin.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
        let mut c = Raw::connect(port).unwrap();
        c.send(&Raw::encode(&[
            b"XREADGROUP",
            b"GROUP",
            b"g",
            b"c",
            b"BLOCK",
            b"0",
            b"STREAMS",
            b"s",
            b">",
        ]));
        wait_blocked(&mut admin, 1);
        admin.cmd(removal);
        out.push(c.read_reply());
        assert_eq!(blocked_clients(&mut admin), 0);
    }
    out
}

#[test]
fn a_blocked_group_reader_wakes_when_its_group_or_stream_goes() {
    let srv = busbar(&["--threads", "2"]);
    let got = group_reader_wakes(srv.port);
    let nogroup = "-NOGROUP the consumer group this client was blocked on no longer exists\r\n";
    let unblocked = "-UNBLOCKED the stream key no longer exists\r\n";
    let want = [
        nogroup, unblocked, unblocked, unblocked, unblocked, unblocked,
    ];
    assert_eq!(
        got.iter().map(|r| show(r)).collect::<Vec<_>>(),
        want.iter().map(|w| show(w.as_bytes())).collect::<Vec<_>>()
    );
    if let Some(redis) = redis_server(&[]) {
        assert_eq!(group_reader_wakes(redis.port), got);
    }
}

/// Why a blocked reader's key was signalled decides whether it wakes, as in Redis 7.0:
/// a write that adds no entry (XGROUP SETID, XDEL) leaves it blocked, an added entry
/// wakes it even when MULTI deletes that entry before it is served (then with an empty
/// list, and the consumer is still made). Returns every observed reply.
fn group_reader_wake_reasons(port: u16) -> Vec<Vec<u8>> {
    let mut admin = Raw::connect(port).unwrap();
    let mut out = Vec::new();
    let block = |ms: &[u8]| {
        Raw::encode(&[
            b"XREADGROUP",
            b"GROUP",
            b"g",
            b"c",
            b"BLOCK",
            ms,
            b"STREAMS",
            b"s",
            b">",
        ])
    };
    admin.cmd(&["FLUSHALL"]);
    admin.cmd(&["XADD", "s", "1-1", "f", "v"]);
    admin.cmd(&["XGROUP", "CREATE", "s", "g", "$"]);

    // SETID moves the group back, but only an added entry wakes a reader.
    let mut c = Raw::connect(port).unwrap();
    c.send(&block(b"300"));
    wait_blocked(&mut admin, 1);
    out.push(admin.cmd(&["XGROUP", "SETID", "s", "g", "0"]));
    out.push(admin.cmd(&["XDEL", "s", "9-9"]));
    out.push(c.read_reply());
    assert_eq!(blocked_clients(&mut admin), 0);

    // An entry added and deleted in one transaction: woken, served nothing.
    admin.cmd(&["XGROUP", "SETID", "s", "g", "$"]);
    let mut c = Raw::connect(port).unwrap();
    c.send(&block(b"0"));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["MULTI"]);
    admin.cmd(&["XADD", "s", "2-1", "f", "v"]);
    admin.cmd(&["XDEL", "s", "2-1"]);
    out.push(admin.cmd(&["EXEC"]));
    out.push(c.read_reply());
    assert_eq!(blocked_clients(&mut admin), 0);
    out.push(admin.cmd(&["XINFO", "CONSUMERS", "s", "g"]));
    out.push(admin.cmd(&["XPENDING", "s", "g"]));

    // Plain XREAD obeys the same rule.
    let mut c = Raw::connect(port).unwrap();
    c.send(&Raw::encode(&[
        b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$",
    ]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["XDEL", "s", "1-1"]);
    admin.cmd(&["MULTI"]);
    admin.cmd(&["XADD", "s", "3-1", "f", "v"]);
    admin.cmd(&["XDEL", "s", "3-1"]);
    out.push(admin.cmd(&["EXEC"]));
    out.push(c.read_reply());
    out
}

/// XINFO CONSUMERS' idle and inactive fields, which depend on the clock: masked.
fn mask_idle(reply: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(reply).into_owned();
    let mut out = String::new();
    let mut mask_next = false;
    for line in text.split_inclusive("\r\n") {
        if mask_next && line.starts_with(':') {
            out.push_str(":<ms>\r\n");
        } else {
            out.push_str(line);
        }
        mask_next = line == "idle\r\n" || line == "inactive\r\n";
    }
    out.into_bytes()
}

#[test]
fn blocked_stream_readers_wake_only_for_added_entries() {
    let srv = busbar(&["--threads", "2"]);
    let got: Vec<Vec<u8>> = group_reader_wake_reasons(srv.port)
        .iter()
        .map(|r| mask_idle(r))
        .collect();
    let shown: Vec<String> = got.iter().map(|r| show(r)).collect();
    assert_eq!(shown[0], show(b"+OK\r\n"));
    assert_eq!(shown[1], show(b":0\r\n"));
    assert_eq!(
        shown[2],
        show(b"*-1\r\n"),
        "SETID and XDEL must not wake it"
    );
    assert_eq!(shown[4], show(b"*1\r\n*2\r\n$1\r\ns\r\n*0\r\n"));
    assert!(shown[5].starts_with(&show(b"*1\r\n*6\r\n$4\r\nname\r\n$1\r\nc\r\n")));
    assert_eq!(shown[6], show(b"*4\r\n:0\r\n$-1\r\n$-1\r\n*-1\r\n"));
    assert_eq!(shown[8], show(b"*1\r\n*2\r\n$1\r\ns\r\n*0\r\n"));
    if let Some(redis) = redis_server(&[]) {
        let want: Vec<Vec<u8>> = group_reader_wake_reasons(redis.port)
            .iter()
            .map(|r| mask_idle(r))
            .collect();
        assert_eq!(shown, want.iter().map(|r| show(r)).collect::<Vec<_>>());
    }
}
