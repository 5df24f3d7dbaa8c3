//! Sorted sets over TCP with several shards: blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP)
//! served first come first served and exactly once across shards, stores that wake
//! blocked clients, set algebra across shards under concurrent writers, and ZSCAN of the
//! large encoding.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use busbar::shard::route::shard_of;
use common::*;
use std::collections::HashSet;

fn bulk(v: &str) -> String {
    format!("${}\r\n{}\r\n", v.len(), v)
}

#[test]
fn bzpopmin_waiters_are_served_first_come_first_served() {
    let srv = busbar(&["--threads", "3"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    let mut clients = Vec::new();
    for i in 0..20 {
        let mut c = Raw::connect(srv.port).unwrap();
        c.send(&Raw::encode(&[b"BZPOPMIN", b"board", b"0"]));
        wait_blocked(&mut admin, i + 1);
        clients.push(c);
    }
    // One ZADD of three members serves three waiters, lowest score first.
    assert_eq!(
        admin.cmd(&["ZADD", "board", "3", "c", "1", "a", "2", "b"]),
        b":3\r\n"
    );
    for i in 3..20 {
        assert_eq!(
            admin.cmd(&["ZADD", "board", &i.to_string(), &format!("m{i}")]),
            b":1\r\n"
        );
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let (member, score) = match i {
            0 => ("a".to_string(), "1".to_string()),
            1 => ("b".into(), "2".into()),
            2 => ("c".into(), "3".into()),
            _ => (format!("m{i}"), i.to_string()),
        };
        let want = format!("*3\r\n{}{}{}", bulk("board"), bulk(&member), bulk(&score));
        assert_eq!(show(&c.read_reply()), show(want.as_bytes()));
    }
    assert_eq!(blocked_clients(&mut admin), 0);
    assert_eq!(admin.cmd(&["EXISTS", "board"]), b":0\r\n");
}

#[test]
fn multi_key_bzpop_across_shards_under_concurrent_adds_loses_and_duplicates_nothing() {
    let srv = busbar(&["--threads", "3"]);
    let port = srv.port;
    let keys: Vec<String> = (0..4).map(|i| format!("rank:{i}")).collect();
    let shards: HashSet<usize> = keys.iter().map(|k| shard_of(k.as_bytes(), 3)).collect();
    assert!(shards.len() > 1, "the keys must span shards");
    let per_producer = 300;
    let workers: Vec<_> = (0..10)
        .map(|w| {
            let keys = keys.clone();
            std::thread::spawn(move || {
                let mut c = Raw::connect(port).unwrap();
                let mut got = Vec::new();
                loop {
                    let name: &[u8] = if w % 2 == 0 { b"BZPOPMIN" } else { b"BZPOPMAX" };
                    let mut args: Vec<&[u8]> = vec![name];
                    args.extend(keys.iter().map(|k| k.as_bytes()));
                    args.push(b"2");
                    let r = Resp::from(&c.cmd_bytes(&args));
                    if r.is_null() {
                        return got; // drained and quiet for 2 s
                    }
                    got.push(r.items()[1].bytes().unwrap().to_vec());
                }
            })
        })
        .collect();
    let producers: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(p, k)| {
            let k = k.clone();
            std::thread::spawn(move || {
                let mut c = Raw::connect(port).unwrap();
                for i in 0..per_producer {
                    let r = c.cmd(&["ZADD", &k, &i.to_string(), &format!("p{p}-{i}")]);
                    assert_eq!(r, b":1\r\n");
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.join().unwrap());
    }
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(unique.len(), all.len(), "a member was popped twice");
    assert_eq!(all.len(), keys.len() * per_producer, "members were lost");
}

#[test]
fn bzmpop_takes_up_to_count_from_the_first_key_that_gets_members() {
    let srv = busbar(&["--threads", "2"]);
    let (a, b) = keys_on_two_shards("q", 2);
    let mut admin = Raw::connect(srv.port).unwrap();
    let mut c = Raw::connect(srv.port).unwrap();
    c.send(&Raw::encode(&[
        b"BZMPOP",
        b"0",
        b"2",
        a.as_bytes(),
        b.as_bytes(),
        b"MAX",
        b"COUNT",
        b"2",
    ]));
    wait_blocked(&mut admin, 1);
    assert_eq!(
        admin.cmd(&["ZADD", &b, "1", "x", "2", "y", "3", "z"]),
        b":3\r\n"
    );
    let want = format!(
        "*2\r\n{}*2\r\n*2\r\n{}{}*2\r\n{}{}",
        bulk(&b),
        bulk("z"),
        bulk("3"),
        bulk("y"),
        bulk("2")
    );
    assert_eq!(show(&c.read_reply()), show(want.as_bytes()));
    assert_eq!(admin.cmd(&["ZCARD", &b]), b":1\r\n");
    // RESP3: the score is a double.
    assert_eq!(c.cmd(&["HELLO", "3"]).first(), Some(&b'%'));
    assert_eq!(
        show(&c.cmd(&["BZPOPMIN", &a, &b, "0"])),
        show(format!("*3\r\n{}{},1\r\n", bulk(&b), bulk("x")).as_bytes())
    );
    assert_eq!(c.cmd(&["BZMPOP", "0.01", "1", &a, "MIN"]), b"_\r\n");
}

#[test]
fn a_waiter_for_another_type_stays_blocked_while_the_key_serves_others() {
    // As Redis 7.0: a BLPOP client on a key that becomes a sorted set keeps waiting, and a
    // BZPOPMIN client behind it on the same key is served.
    let srv = busbar(&["--threads", "2"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    let mut list_waiter = Raw::connect(srv.port).unwrap();
    list_waiter.send(&Raw::encode(&[b"BLPOP", b"k", b"0"]));
    wait_blocked(&mut admin, 1);
    let mut zset_waiter = Raw::connect(srv.port).unwrap();
    zset_waiter.send(&Raw::encode(&[b"BZPOPMIN", b"k", b"0"]));
    wait_blocked(&mut admin, 2);
    assert_eq!(admin.cmd(&["ZADD", "k", "1", "m"]), b":1\r\n");
    let want = format!("*3\r\n{}{}{}", bulk("k"), bulk("m"), bulk("1"));
    assert_eq!(show(&zset_waiter.read_reply()), show(want.as_bytes()));
    assert_eq!(blocked_clients(&mut admin), 1);
    assert_eq!(admin.cmd(&["RPUSH", "k", "job"]), b":1\r\n");
    let want = format!("*2\r\n{}{}", bulk("k"), bulk("job"));
    assert_eq!(show(&list_waiter.read_reply()), show(want.as_bytes()));
    // A key that already holds another type fails the call at once.
    assert_eq!(admin.cmd(&["SET", "s", "x"]), b"+OK\r\n");
    assert_eq!(
        show(&admin.cmd(&["BZPOPMIN", "nokey", "s", "0"])),
        show(b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
    );
}

#[test]
fn stores_and_renames_wake_clients_blocked_on_the_destination() {
    let srv = busbar(&["--threads", "2"]);
    let (dst, src) = keys_on_two_shards("d", 2);
    let mut admin = Raw::connect(srv.port).unwrap();
    admin.cmd(&["ZADD", &src, "5", "five", "6", "six"]);
    // ZUNIONSTORE across shards puts the result on the destination's shard.
    let mut c = Raw::connect(srv.port).unwrap();
    c.send(&Raw::encode(&[b"BZPOPMAX", dst.as_bytes(), b"0"]));
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["ZUNIONSTORE", &dst, "1", &src]), b":2\r\n");
    let want = format!("*3\r\n{}{}{}", bulk(&dst), bulk("six"), bulk("6"));
    assert_eq!(show(&c.read_reply()), show(want.as_bytes()));
    assert_eq!(admin.cmd(&["ZCARD", &dst]), b":1\r\n");
    admin.cmd(&["DEL", &dst]);
    // ZRANGESTORE on one shard.
    c.send(&Raw::encode(&[b"BZPOPMIN", b"{t}b", b"0"]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["ZADD", "{t}a", "1", "one", "2", "two"]);
    assert_eq!(
        admin.cmd(&["ZRANGESTORE", "{t}b", "{t}a", "1", "-1"]),
        b":1\r\n"
    );
    let want = format!("*3\r\n{}{}{}", bulk("{t}b"), bulk("two"), bulk("2"));
    assert_eq!(show(&c.read_reply()), show(want.as_bytes()));
    // RENAME of a list onto a key a BLPOP client waits on (one shard, then two).
    for (from, to) in [("{t}l", "{t}w"), (src.as_str(), dst.as_str())] {
        admin.cmd(&["DEL", from, to]);
        c.send(&Raw::encode(&[b"BLPOP", to.as_bytes(), b"0"]));
        wait_blocked(&mut admin, 1);
        admin.cmd(&["RPUSH", from, "job"]);
        assert_eq!(admin.cmd(&["RENAME", from, to]), b"+OK\r\n");
        let want = format!("*2\r\n{}{}", bulk(to), bulk("job"));
        assert_eq!(show(&c.read_reply()), show(want.as_bytes()));
    }
}

#[test]
fn zunionstore_across_shards_is_atomic_against_concurrent_writers() {
    // Writers move one member between two sorted sets on different shards in MULTI; a
    // concurrent ZUNIONSTORE of both always sees exactly one copy.
    let srv = busbar(&["--threads", "2"]);
    let port = srv.port;
    let (a, b) = keys_on_two_shards("side", 2);
    let (dst, _) = keys_on_two_shards("sum", 2);
    let mut admin = Raw::connect(port).unwrap();
    admin.cmd(&["ZADD", &a, "1", "token"]);
    let writer = {
        let (a, b) = (a.clone(), b.clone());
        std::thread::spawn(move || {
            let mut c = Raw::connect(port).unwrap();
            for i in 0..300 {
                let (from, to) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
                c.send(&Raw::encode(&[b"MULTI"]));
                c.send(&Raw::encode(&[b"ZREM", from.as_bytes(), b"token"]));
                c.send(&Raw::encode(&[b"ZADD", to.as_bytes(), b"1", b"token"]));
                c.send(&Raw::encode(&[b"EXEC"]));
                c.read_replies(4);
            }
        })
    };
    let mut c = Raw::connect(port).unwrap();
    for _ in 0..300 {
        assert_eq!(
            c.cmd(&["ZUNIONSTORE", &dst, "2", &a, &b, "AGGREGATE", "SUM"]),
            b":1\r\n"
        );
        assert_eq!(
            show(&c.cmd(&["ZSCORE", &dst, "token"])),
            show(bulk("1").as_bytes())
        );
    }
    writer.join().unwrap();
}

#[test]
fn zscan_of_a_large_set_returns_every_member_and_survives_deletions() {
    let srv = busbar(&["--threads", "2"]);
    let mut c = Raw::connect(srv.port).unwrap();
    let n = 1000;
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut args = vec!["ZADD".to_string(), "big".into()];
        for i in chunk {
            args.push(i.to_string());
            args.push(format!("m{i}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        c.cmd(&args);
    }
    assert_eq!(
        show(&c.cmd(&["OBJECT", "ENCODING", "big"])),
        show(bulk("skiplist").as_bytes())
    );
    let scan = |c: &mut Raw, delete_odd: bool| -> Vec<String> {
        let mut cursor = "0".to_string();
        let mut seen = Vec::new();
        loop {
            let r = Resp::from(&c.cmd(&["ZSCAN", "big", &cursor, "COUNT", "37"]));
            cursor = String::from_utf8(r.items()[0].bytes().unwrap().to_vec()).unwrap();
            let items = r.items()[1].items();
            for pair in items.chunks(2) {
                let m = String::from_utf8(pair[0].bytes().unwrap().to_vec()).unwrap();
                let s = std::str::from_utf8(pair[1].bytes().unwrap()).unwrap();
                assert_eq!(format!("m{s}"), m, "a member comes with its score");
                seen.push(m);
            }
            if delete_odd {
                // Delete a few members not seen yet, to move others around.
                for i in (1..n).step_by(2).take(5) {
                    c.cmd(&["ZREM", "big", &format!("m{}", (i * 7919) % n)]);
                }
            }
            if cursor == "0" {
                return seen;
            }
        }
    };
    let all = scan(&mut c, false);
    assert_eq!(all.len(), n, "a quiet scan returns each member once");
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), n);
    let seen: HashSet<String> = scan(&mut c, true).into_iter().collect();
    let left = Resp::from(&c.cmd(&["ZRANGE", "big", "0", "-1"]));
    assert!(!left.items().is_empty());
    for m in left.items() {
        let m = String::from_utf8(m.bytes().unwrap().to_vec()).unwrap();
        assert!(
            seen.contains(&m),
            "{m} was there throughout but never returned"
        );
    }
}

#[test]
fn zrank_withscore_replies_like_redis_7_2() {
    // The oracle here is Redis 7.0, which has no WITHSCORE: these are 7.2's documented
    // replies.
    let srv = busbar(&[]);
    let mut c = Raw::connect(srv.port).unwrap();
    c.cmd(&["ZADD", "z", "1", "a", "2.5", "b"]);
    assert_eq!(
        show(&c.cmd(&["ZRANK", "z", "b", "WITHSCORE"])),
        show(b"*2\r\n:1\r\n$3\r\n2.5\r\n")
    );
    assert_eq!(
        show(&c.cmd(&["ZREVRANK", "z", "b", "withscore"])),
        show(b"*2\r\n:0\r\n$3\r\n2.5\r\n")
    );
    assert_eq!(c.cmd(&["ZRANK", "z", "x", "WITHSCORE"]), b"*-1\r\n");
    assert_eq!(c.cmd(&["ZRANK", "nokey", "x", "WITHSCORE"]), b"*-1\r\n");
    assert_eq!(c.cmd(&["ZRANK", "z", "x"]), b"$-1\r\n");
    assert_eq!(c.cmd(&["ZRANK", "z", "a", "foo"]), b"-ERR syntax error\r\n");
    assert_eq!(c.cmd(&["HELLO", "3"]).first(), Some(&b'%'));
    assert_eq!(
        show(&c.cmd(&["ZRANK", "z", "b", "WITHSCORE"])),
        show(b"*2\r\n:1\r\n,2.5\r\n")
    );
    assert_eq!(c.cmd(&["ZREVRANK", "z", "x", "WITHSCORE"]), b"_\r\n");
}
