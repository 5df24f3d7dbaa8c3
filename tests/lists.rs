//! Lists as job queues over TCP with several shards: blocking pops served FIFO, exactly
//! once, across shards, with timeouts and disconnects.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn bulk(v: &str) -> String {
    format!("${}\r\n{}\r\n", v.len(), v)
}

#[test]
fn blocked_clients_are_served_first_come_first_served() {
    let srv = busbar(&["--threads", "3"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    let mut clients = Vec::new();
    for i in 0..30 {
        let mut c = Raw::connect(srv.port).unwrap();
        c.send(&Raw::encode(&[b"BLPOP", b"jobs", b"0"]));
        wait_blocked(&mut admin, i + 1);
        clients.push(c);
    }
    for i in 0..30 {
        // Each push is served at once; RPUSH still replies with the length after it.
        assert_eq!(admin.cmd(&["RPUSH", "jobs", &format!("j{i}")]), b":1\r\n");
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let want = format!("*2\r\n{}{}", bulk("jobs"), bulk(&format!("j{i}")));
        assert_eq!(show(&c.read_reply()), show(want.as_bytes()));
    }
    assert_eq!(blocked_clients(&mut admin), 0);
    assert_eq!(admin.cmd(&["EXISTS", "jobs"]), b":0\r\n");
}

#[test]
fn a_thousand_blocked_clients_over_all_shards_are_each_woken_exactly_once() {
    let srv = busbar(&["--threads", "4"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    let n = 1000;
    let mut clients = Vec::new();
    for i in 0..n {
        let mut c = Raw::connect(srv.port).unwrap();
        let key = format!("q{}", i % 50);
        c.send(&Raw::encode(&[b"BRPOP", key.as_bytes(), b"0"]));
        clients.push(c);
    }
    wait_blocked(&mut admin, n);
    let mut batch = Vec::new();
    for i in 0..n {
        batch.extend(Raw::encode(&[
            b"LPUSH",
            format!("q{}", i % 50).as_bytes(),
            format!("v{i}").as_bytes(),
        ]));
    }
    admin.send(&batch);
    for _ in 0..n {
        let r = admin.read_reply();
        assert!(r.starts_with(b":"), "{}", show(&r));
    }
    let mut seen = HashSet::new();
    for c in clients.iter_mut() {
        let r = Resp::from(&c.read_reply());
        let v = r.items()[1].bytes().unwrap().to_vec();
        assert!(seen.insert(v), "an element was delivered twice");
    }
    assert_eq!(seen.len(), n);
    assert_eq!(blocked_clients(&mut admin), 0);
    for k in 0..50 {
        assert_eq!(admin.cmd(&["LLEN", &format!("q{k}")]), b":0\r\n");
    }
}

#[test]
fn multi_key_brpop_across_shards_under_concurrent_pushes_loses_and_duplicates_nothing() {
    let srv = busbar(&["--threads", "3"]);
    let port = srv.port;
    let keys = [
        "celery",
        "celery\x06\x163",
        "celery\x06\x166",
        "celery\x06\x169",
    ];
    let per_producer = 300;
    let workers: Vec<_> = (0..12)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port).unwrap();
                let mut got = Vec::new();
                loop {
                    let mut args: Vec<&[u8]> = vec![b"BRPOP"];
                    args.extend(keys.iter().map(|k| k.as_bytes()));
                    args.push(b"2");
                    let r = Resp::from(&c.cmd_bytes(&args));
                    if r.is_null() {
                        return got; // queues drained and quiet for 2 s
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
            let k = k.to_string();
            std::thread::spawn(move || {
                let mut c = Raw::connect(port).unwrap();
                for i in 0..per_producer {
                    let r = c.cmd_bytes(&[b"LPUSH", k.as_bytes(), format!("p{p}-{i}").as_bytes()]);
                    assert!(r.starts_with(b":"));
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
    assert_eq!(unique.len(), all.len(), "an element was popped twice");
    assert_eq!(all.len(), keys.len() * per_producer, "elements were lost");
}

#[test]
fn fractional_timeouts_expire_with_a_null_array() {
    let srv = busbar(&[]);
    let mut c = Raw::connect(srv.port).unwrap();
    let t = Instant::now();
    assert_eq!(c.cmd(&["BLPOP", "nothing", "other", "0.05"]), b"*-1\r\n");
    assert!(t.elapsed() >= Duration::from_millis(45));
    assert_eq!(c.cmd(&["HELLO", "3"]).first(), Some(&b'%'));
    assert_eq!(c.cmd(&["BRPOP", "nothing", "0.01"]), b"_\r\n");
    assert_eq!(
        c.cmd(&["BLMOVE", "{t}a", "{t}b", "LEFT", "LEFT", "0.01"]),
        b"_\r\n"
    );
    assert_eq!(c.cmd(&["BLMPOP", "0.01", "2", "x", "y", "LEFT"]), b"_\r\n");
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn a_client_that_disconnects_while_blocked_leaves_no_waiter_behind() {
    let srv = busbar(&["--threads", "2"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    {
        let mut gone = Raw::connect(srv.port).unwrap();
        gone.send(&Raw::encode(&[b"BLPOP", b"a", b"b", b"0"]));
        wait_blocked(&mut admin, 1);
    }
    wait_blocked(&mut admin, 0);
    assert_eq!(admin.cmd(&["RPUSH", "a", "x"]), b":1\r\n");
    assert_eq!(admin.cmd(&["RPUSH", "b", "y"]), b":1\r\n");
    assert_eq!(admin.cmd(&["LLEN", "a"]), b":1\r\n");
    assert_eq!(admin.cmd(&["LLEN", "b"]), b":1\r\n");
}

#[test]
fn blocking_errors_match_redis() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let srv = busbar(&[]);
    let mut ours = Raw::connect(srv.port).unwrap();
    let mut theirs = Raw::connect(redis.port).unwrap();
    for cmd in [
        &["BLPOP", "x", "-1"][..],
        &["BLPOP", "x", "abc"],
        &["BLPOP", "x", "inf"],
        &["BLPOP", "x"],
        &["BRPOP", "x", "0.01"],
        &["BLMPOP", "0.01", "0", "x", "LEFT"],
        &["BLMPOP", "0.01", "1", "x", "UP"],
        &["BLMPOP", "0.01", "1", "x", "LEFT", "COUNT", "0"],
        &["BLMOVE", "{t}x", "{t}y", "UP", "LEFT", "0"],
        &["BRPOPLPUSH", "{t}x", "{t}y", "0.01"],
        &["RPUSH", "{t}x", "1", "2"],
        &["BLMPOP", "0", "1", "{t}x", "RIGHT", "COUNT", "5"],
        &["SET", "s", "v"],
        &["BLPOP", "s", "0"],
    ] {
        assert_eq!(show(&ours.cmd(cmd)), show(&theirs.cmd(cmd)), "{cmd:?}");
    }
}

#[test]
fn client_unblock_ends_a_block_with_a_timeout_or_an_error() {
    let srv = busbar(&["--threads", "3"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    let mut c = Raw::connect(srv.port).unwrap();
    let id = String::from_utf8(c.cmd(&["CLIENT", "ID"])).unwrap();
    let id = id.trim_start_matches(':').trim().to_string();
    c.send(&Raw::encode(&[b"BLPOP", b"a", b"b", b"0"]));
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), b":1\r\n");
    assert_eq!(c.read_reply(), b"*-1\r\n");
    c.send(&Raw::encode(&[b"BRPOP", b"a", b"0"]));
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]), b":1\r\n");
    assert_eq!(
        c.read_reply(),
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), b":0\r\n");
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", "99999"]), b":0\r\n");
    assert_eq!(
        admin.cmd(&["CLIENT", "UNBLOCK", &id, "FOO"]),
        b"-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
    assert_eq!(
        admin.cmd(&["CLIENT", "UNBLOCK", "abc"]),
        b"-ERR value is not an integer or out of range\r\n"
    );
    // The unblocked client's waiters are gone: a push stays in the list.
    assert_eq!(admin.cmd(&["RPUSH", "a", "x"]), b":1\r\n");
    assert_eq!(admin.cmd(&["LLEN", "a"]), b":1\r\n");
}

#[test]
fn lmove_ring_across_shards_under_load_never_loses_or_duplicates_an_element() {
    let srv = busbar(&["--threads", "3"]);
    let port = srv.port;
    let lists = ["ring:a", "ring:b", "ring:c", "ring:d", "ring:e", "ring:f"];
    let mut admin = Raw::connect(port).unwrap();
    for (i, l) in lists.iter().enumerate() {
        for j in 0..20 {
            assert!(admin
                .cmd(&["RPUSH", l, &format!("e{i}-{j}")])
                .starts_with(b":"));
        }
    }
    let movers: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port).unwrap();
                for i in 0..300 {
                    let src = lists[(t + i) % lists.len()];
                    let dst = lists[(t + 2 * i + 1) % lists.len()];
                    let cmd = if i % 2 == 0 { "LMOVE" } else { "BLMOVE" };
                    let mut args = vec![cmd, src, dst, "LEFT", "RIGHT"];
                    if cmd == "BLMOVE" {
                        args.push("0.01");
                    }
                    let r = c.cmd(&args);
                    assert!(r.starts_with(b"$") || r == b"*-1\r\n", "{}", show(&r));
                }
            })
        })
        .collect();
    for m in movers {
        m.join().unwrap();
    }
    let mut all = Vec::new();
    for l in lists {
        let r = Resp::from(&admin.cmd(&["LRANGE", l, "0", "-1"]));
        all.extend(r.items().iter().map(|e| e.bytes().unwrap().to_vec()));
    }
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), lists.len() * 20, "elements lost or duplicated");
    assert_eq!(unique.len(), all.len());
}

#[test]
fn blmove_across_shards_moves_the_element_when_it_arrives() {
    let srv = busbar(&["--threads", "2"]);
    let mut admin = Raw::connect(srv.port).unwrap();
    let mut c = Raw::connect(srv.port).unwrap();
    // `a` and `b` live on different shards of a two-shard server.
    c.send(&Raw::encode(&[
        b"BLMOVE", b"a", b"b", b"LEFT", b"RIGHT", b"0",
    ]));
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["RPUSH", "a", "job"]), b":1\r\n");
    assert_eq!(c.read_reply(), b"$3\r\njob\r\n");
    assert_eq!(
        admin.cmd(&["LRANGE", "b", "0", "-1"]),
        b"*1\r\n$3\r\njob\r\n"
    );
    assert_eq!(admin.cmd(&["EXISTS", "a"]), b":0\r\n");
}

#[test]
fn swapdb_serves_clients_blocked_on_keys_that_now_hold_a_list() {
    let srv = busbar(&["--threads", "2"]);
    let mut waiter = Raw::connect(srv.port).unwrap();
    let mut admin = Raw::connect(srv.port).unwrap();
    waiter.send(&Raw::encode(&[b"BLPOP", b"swapq", b"0"]));
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["SELECT", "1"]), b"+OK\r\n");
    assert_eq!(admin.cmd(&["RPUSH", "swapq", "job"]), b":1\r\n");
    assert_eq!(admin.cmd(&["SWAPDB", "0", "1"]), b"+OK\r\n");
    assert_eq!(
        waiter.read_reply(),
        format!("*2\r\n{}{}", bulk("swapq"), bulk("job")).into_bytes()
    );
}

#[test]
fn a_blocking_pop_over_shards_serves_the_first_non_empty_key_in_argument_order() {
    // Keys on different shards, all non-empty when the call arrives: the first in
    // argument order wins, as in Redis, whichever shard would answer first.
    use busbar::shard::route::shard_of;
    let srv = busbar(&["--threads", "3"]);
    let keys: Vec<String> = {
        let mut ks: Vec<String> = Vec::new();
        for i in 0.. {
            let k = format!("ord{i}");
            if ks
                .iter()
                .all(|o| shard_of(o.as_bytes(), 3) != shard_of(k.as_bytes(), 3))
            {
                ks.push(k);
            }
            if ks.len() == 3 {
                break;
            }
        }
        ks
    };
    for round in 0..30 {
        // Each round a fresh connection (its home shard varies) and a rotated key order.
        let mut c = Raw::connect(srv.port).unwrap();
        let order: Vec<&str> = (0..3).map(|j| keys[(round + j) % 3].as_str()).collect();
        for k in &order {
            c.cmd(&["RPUSH", k, &format!("{k}-v")]);
        }
        let mut args = vec!["BLPOP"];
        args.extend(order.iter().copied());
        args.push("0");
        let want = format!(
            "*2\r\n{}{}",
            bulk(order[0]),
            bulk(&format!("{}-v", order[0]))
        );
        assert_eq!(show(&c.cmd(&args)), show(want.as_bytes()), "round {round}");
        // BLMPOP likewise, from what is left: the second key now comes first.
        let args = vec!["BLMPOP", "0", "2", order[1], order[2], "LEFT", "COUNT", "5"];
        let want = format!(
            "*2\r\n{}*1\r\n{}",
            bulk(order[1]),
            bulk(&format!("{}-v", order[1]))
        );
        assert_eq!(show(&c.cmd(&args)), show(want.as_bytes()), "round {round}");
        c.cmd(&["DEL", order[2]]);
        // Nothing left anywhere: it blocks, and a push to the last key serves it.
        let mut args = vec!["BRPOP"];
        args.extend(order.iter().copied());
        args.push("0");
        let cmd: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        c.send(&Raw::encode(&cmd));
        let mut admin = Raw::connect(srv.port).unwrap();
        wait_blocked(&mut admin, 1);
        admin.cmd(&["LPUSH", order[2], "late"]);
        let want = format!("*2\r\n{}{}", bulk(order[2]), bulk("late"));
        assert_eq!(
            show(&c.read_reply()),
            show(want.as_bytes()),
            "round {round}"
        );
    }
}

/// Blocking pops as several clients see them, compared with redis-server: after `setup`,
/// clients block
/// in order (each one blocked before the next sends), one client sends `push` as a single
/// pipeline (so each later command of it runs right after the one before), then a fresh
/// client reads `look`, and finally every blocker still blocked is ended with CLIENT
/// UNBLOCK. The transcript — the pipeline's and the look's replies, each CLIENT UNBLOCK's
/// answer and each blocker's reply — must be Redis's byte for byte.
struct Scene<'a> {
    setup: &'a [&'a [&'a str]],
    blockers: &'a [&'a [&'a str]],
    push: &'a [&'a [&'a str]],
    look: &'a [&'a [&'a str]],
}

impl Scene<'_> {
    fn transcript(&self, port: u16) -> Vec<String> {
        let mut admin = Raw::connect(port).unwrap();
        assert_eq!(admin.cmd(&["FLUSHALL"]), b"+OK\r\n");
        let mut log = Vec::new();
        for cmd in self.setup {
            log.push(format!("setup {cmd:?} -> {}", show(&admin.cmd(cmd))));
        }
        let mut blockers = Vec::new();
        for (i, cmd) in self.blockers.iter().enumerate() {
            let mut c = Raw::connect(port).unwrap();
            let id = String::from_utf8(c.cmd(&["CLIENT", "ID"])).unwrap();
            let id = id.trim_start_matches(':').trim().to_string();
            let a: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
            c.send(&Raw::encode(&a));
            wait_blocked(&mut admin, i + 1);
            blockers.push((id, c));
        }
        let mut pusher = Raw::connect(port).unwrap();
        let mut pipeline = Vec::new();
        for cmd in self.push {
            let a: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
            pipeline.extend(Raw::encode(&a));
        }
        pusher.send(&pipeline);
        for cmd in self.push {
            log.push(format!("{cmd:?} -> {}", show(&pusher.read_reply())));
        }
        let mut looker = Raw::connect(port).unwrap();
        for cmd in self.look {
            log.push(format!("look {cmd:?} -> {}", show(&looker.cmd(cmd))));
        }
        for (i, (id, c)) in blockers.iter_mut().enumerate() {
            let unblocked = admin.cmd(&["CLIENT", "UNBLOCK", id]);
            log.push(format!(
                "blocker {i} {:?}: unblock {} reply {}",
                self.blockers[i],
                show(&unblocked),
                show(&c.read_reply())
            ));
        }
        log
    }

    /// Runs the scene `rounds` times on busbar (fresh connections each round, so their
    /// home shards vary) and once on redis-server; fails on the first difference.
    fn matches_redis(&self, busbar_port: u16, redis_port: u16, rounds: usize) {
        let want = self.transcript(redis_port);
        for round in 0..rounds {
            let got = self.transcript(busbar_port);
            assert_eq!(
                got.join("\n"),
                want.join("\n"),
                "round {round}: busbar (left) differs from redis-server (right)"
            );
        }
    }
}

#[test]
fn exec_serves_the_keys_it_pushed_in_the_order_it_pushed_them_on_one_shard() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    for threads in ["1", "2"] {
        let srv = busbar(&["--threads", threads]);
        let multi: &[&str] = &["MULTI"];
        let exec: &[&str] = &["EXEC"];
        // Redis serves keys in the order they were signalled: k2 first, so the client
        // blocked on both takes k2's element and the one blocked on k1 alone takes y.
        Scene {
            setup: &[],
            blockers: &[&["BLPOP", "{t}k1", "{t}k2", "0"], &["BLPOP", "{t}k1", "0"]],
            push: &[
                multi,
                &["RPUSH", "{t}k2", "x"],
                &["RPUSH", "{t}k1", "y"],
                exec,
            ],
            look: &[
                &["LRANGE", "{t}k1", "0", "-1"],
                &["LRANGE", "{t}k2", "0", "-1"],
            ],
        }
        .matches_redis(srv.port, redis.port, 3);
        Scene {
            setup: &[],
            blockers: &[&["BLMPOP", "0", "3", "{t}k1", "{t}k2", "{t}k3", "LEFT"]],
            push: &[
                multi,
                &["RPUSH", "{t}k3", "z"],
                &["RPUSH", "{t}k2", "x"],
                &["RPUSH", "{t}k1", "y"],
                exec,
            ],
            look: &[&["LRANGE", "{t}k3", "0", "-1"]],
        }
        .matches_redis(srv.port, redis.port, 3);
        // A key pushed twice is served once, in the place of its first push.
        Scene {
            setup: &[],
            blockers: &[
                &["BZMPOP", "0", "2", "{t}k1", "{t}k2", "MIN"],
                &["BZPOPMIN", "{t}k1", "{t}k2", "0"],
            ],
            push: &[
                multi,
                &["ZADD", "{t}k2", "1", "x"],
                &["ZADD", "{t}k1", "1", "y"],
                &["ZADD", "{t}k2", "2", "z"],
                exec,
            ],
            look: &[&["ZRANGE", "{t}k1", "0", "-1"]],
        }
        .matches_redis(srv.port, redis.port, 3);
    }
}

#[test]
fn a_blocking_move_chain_on_one_shard_is_done_before_the_pushers_next_command() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    for threads in ["1", "2"] {
        let srv = busbar(&["--threads", threads]);
        let lr = |k: &'static str| -> [&'static str; 4] { ["LRANGE", k, "0", "-1"] };
        let (a, b, c) = (lr("{t}a"), lr("{t}b"), lr("{t}c"));
        Scene {
            setup: &[],
            blockers: &[
                &["BRPOPLPUSH", "{t}a", "{t}b", "0"],
                &["BLMOVE", "{t}b", "{t}c", "LEFT", "RIGHT", "0"],
            ],
            push: &[&["LPUSH", "{t}a", "x"], &a, &b, &c],
            look: &[&a, &b, &c],
        }
        .matches_redis(srv.port, redis.port, 3);
        Scene {
            setup: &[],
            blockers: &[
                &["BRPOPLPUSH", "{t}a", "{t}b", "0"],
                &["BRPOPLPUSH", "{t}b", "{t}a", "0"],
            ],
            push: &[&["LPUSH", "{t}a", "x"], &a, &b],
            look: &[&a, &b],
        }
        .matches_redis(srv.port, redis.port, 3);
        Scene {
            setup: &[],
            blockers: &[
                &["BRPOPLPUSH", "{t}a", "{t}a", "0"],
                &["BLPOP", "{t}a", "0"],
            ],
            push: &[&["RPUSH", "{t}a", "x", "y"], &a],
            look: &[&a],
        }
        .matches_redis(srv.port, redis.port, 3);
    }
}

#[test]
fn a_blocking_move_chain_across_shards_is_done_before_the_pusher_hears_back() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    for threads in [2, 3] {
        let srv = busbar(&["--threads", &threads.to_string()]);
        // a and c on one shard, b on another: every hop of the chain crosses shards.
        let (a, b, c) = (
            key_on("ca", 0, threads),
            key_on("cb", 1, threads),
            key_on("cc", 0, threads),
        );
        let (a, b, c) = (a.as_str(), b.as_str(), c.as_str());
        let (la, lb, lc) = (
            ["LRANGE", a, "0", "-1"],
            ["LRANGE", b, "0", "-1"],
            ["LRANGE", c, "0", "-1"],
        );
        let scenes = [
            // a -> b -> c: the element ends in c, both movers get it.
            Scene {
                setup: &[],
                blockers: &[
                    &["BRPOPLPUSH", a, b, "0"],
                    &["BLMOVE", b, c, "LEFT", "RIGHT", "0"],
                ],
                push: &[&["LPUSH", a, "x"], &la, &lb, &lc],
                look: &[&la, &lb, &lc],
            },
            // a -> b, then a BLPOP on b takes it.
            Scene {
                setup: &[],
                blockers: &[&["BRPOPLPUSH", a, b, "0"], &["BLPOP", b, "0"]],
                push: &[&["LPUSH", a, "x"], &la, &lb],
                look: &[&la, &lb],
            },
            // a -> b -> a: the element comes back to a.
            Scene {
                setup: &[],
                blockers: &[&["BRPOPLPUSH", a, b, "0"], &["BRPOPLPUSH", b, a, "0"]],
                push: &[&["LPUSH", a, "x"], &la, &lb],
                look: &[&la, &lb],
            },
            // The mover blocked first takes the first element, the BLPOP the second.
            Scene {
                setup: &[],
                blockers: &[&["BLMOVE", a, b, "LEFT", "RIGHT", "0"], &["BLPOP", a, "0"]],
                push: &[&["RPUSH", a, "x", "y"], &la, &lb],
                look: &[&la, &lb],
            },
            // A destination of another type: the mover gets WRONGTYPE, the element stays
            // in a for the next waiter.
            Scene {
                setup: &[&["SET", b, "s"]],
                blockers: &[&["BRPOPLPUSH", a, b, "0"], &["BLPOP", a, "0"]],
                push: &[&["LPUSH", a, "x"], &la],
                look: &[&la, &["GET", b]],
            },
            // A move onto its own source.
            Scene {
                setup: &[],
                blockers: &[&["BRPOPLPUSH", a, a, "0"], &["BRPOPLPUSH", a, b, "0"]],
                push: &[&["RPUSH", a, "x"], &la, &lb],
                look: &[&la, &lb],
            },
        ];
        for scene in &scenes {
            scene.matches_redis(srv.port, redis.port, 6);
        }
    }
}

/// Polls CLIENT LIST until client `id` shows `cmd`: its command arrived (it may still be
/// on its way to blocking).
fn wait_arrived(admin: &mut Raw, id: &str, cmd: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let (who, what) = (format!("id={id} "), format!(" cmd={cmd} "));
    loop {
        let list = String::from_utf8(admin.cmd(&["CLIENT", "LIST"])).unwrap();
        if list.lines().any(|l| l.contains(&who) && l.contains(&what)) {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never ran {cmd}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_waiter_over_several_shards_that_arrived_first_is_served_first() {
    // The first client's keys span every shard, so before it blocks it takes each key's
    // lock and tries each shard in turn; the second arrives meanwhile, on one key, and
    // blocks at once. The first still comes first, as in Redis.
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let srv = busbar(&["--threads", "3"]);
    let keys: Vec<String> = (0..3).map(|s| key_on("fifo", s, 3)).collect();
    for port in [redis.port, srv.port] {
        for round in 0..40 {
            let mut admin = Raw::connect(port).unwrap();
            admin.cmd(&["FLUSHALL"]);
            // Rotate which shard's key is the contended one (and so the shards involved).
            let hot = keys[round % 3].as_str();
            let mut first = Raw::connect(port).unwrap();
            let id = String::from_utf8(first.cmd(&["CLIENT", "ID"])).unwrap();
            let id = id.trim_start_matches(':').trim().to_string();
            let mut args: Vec<&[u8]> = vec![b"BRPOP"];
            args.extend(keys.iter().map(|k| k.as_bytes()));
            args.push(b"0");
            first.send(&Raw::encode(&args));
            wait_arrived(&mut admin, &id, "brpop");
            let mut second = Raw::connect(port).unwrap();
            second.send(&Raw::encode(&[b"BRPOP", hot.as_bytes(), b"0"]));
            wait_blocked(&mut admin, 2);
            admin.cmd(&["RPUSH", hot, "x"]);
            let want = format!("*2\r\n{}{}", bulk(hot), bulk("x"));
            assert_eq!(
                show(&first.read_reply()),
                show(want.as_bytes()),
                "port {port} round {round}"
            );
            admin.cmd(&["RPUSH", hot, "y"]);
            let want = format!("*2\r\n{}{}", bulk(hot), bulk("y"));
            assert_eq!(show(&second.read_reply()), show(want.as_bytes()));
        }
    }
}

#[test]
fn blocked_move_chains_across_shards_with_timeouts_and_hangups_keep_every_element_once() {
    // Blocked BRPOPLPUSH / BLMOVE clients between lists on three shards (so moves chain,
    // and some go around in circles), with short timeouts, some hanging up while blocked,
    // while one client pushes numbered elements: at the end each element is in exactly
    // one list.
    let srv = busbar(&["--threads", "3"]);
    let port = srv.port;
    let lists: Vec<String> = (0..6)
        .map(|i| key_on(&format!("chain{i}-"), i % 3, 3))
        .collect();
    let movers: Vec<_> = (0..8)
        .map(|t| {
            let lists = lists.clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    let mut c = Raw::connect(port).unwrap();
                    let src = &lists[(t + i) % lists.len()];
                    let dst = &lists[(t * 3 + i * 5 + 1) % lists.len()];
                    let args: Vec<&str> = if i % 2 == 0 {
                        vec!["BRPOPLPUSH", src, dst, "0.02"]
                    } else {
                        vec!["BLMOVE", src, dst, "LEFT", "RIGHT", "0.02"]
                    };
                    if i % 7 == 3 {
                        // Hang up while (probably) blocked.
                        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
                        c.send(&Raw::encode(&a));
                        continue;
                    }
                    let r = c.cmd(&args);
                    assert!(r.starts_with(b"$") || r == b"*-1\r\n", "{}", show(&r));
                }
            })
        })
        .collect();
    let mut pusher = Raw::connect(port).unwrap();
    let pushed = 200;
    for e in 0..pushed {
        let list = &lists[e % lists.len()];
        assert!(pusher
            .cmd(&["LPUSH", list, &format!("e{e}")])
            .starts_with(b":"));
        // Slow enough that most movers find their source empty and block.
        std::thread::sleep(Duration::from_millis(2));
    }
    for m in movers {
        m.join().unwrap();
    }
    let mut admin = Raw::connect(port).unwrap();
    wait_blocked(&mut admin, 0);
    let mut all = Vec::new();
    for l in &lists {
        let r = Resp::from(&admin.cmd(&["LRANGE", l, "0", "-1"]));
        all.extend(r.items().iter().map(|e| e.bytes().unwrap().to_vec()));
    }
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), pushed, "elements lost or duplicated");
    assert_eq!(unique.len(), all.len());
}

#[test]
fn exec_serves_the_keys_it_pushed_in_the_order_it_pushed_them_across_shards() {
    // As on one shard (above), with every key on a different shard than the one before:
    // Redis serves k2 (pushed first) before k1, whichever shard each lives on.
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    for threads in [2, 3] {
        let srv = busbar(&["--threads", &threads.to_string()]);
        let k1 = key_on("ek1-", threads - 1, threads);
        let k2 = key_on("ek2-", 0, threads);
        let k3 = key_on("ek3-", threads - 1, threads);
        let (k1, k2, k3) = (k1.as_str(), k2.as_str(), k3.as_str());
        let multi: &[&str] = &["MULTI"];
        let exec: &[&str] = &["EXEC"];
        let scenes = [
            Scene {
                setup: &[],
                blockers: &[&["BLPOP", k1, k2, "0"], &["BLPOP", k1, "0"]],
                push: &[multi, &["RPUSH", k2, "x"], &["RPUSH", k1, "y"], exec],
                look: &[&["LRANGE", k1, "0", "-1"], &["LRANGE", k2, "0", "-1"]],
            },
            Scene {
                setup: &[],
                blockers: &[&["BLMPOP", "0", "3", k1, k2, k3, "LEFT"]],
                push: &[
                    multi,
                    &["RPUSH", k3, "z"],
                    &["RPUSH", k2, "x"],
                    &["RPUSH", k1, "y"],
                    exec,
                ],
                look: &[&["LRANGE", k3, "0", "-1"]],
            },
            // Interleaved: k1 (last shard), k2 (first), k3 (last again).
            Scene {
                setup: &[],
                blockers: &[
                    &["BLPOP", k3, k2, "0"],
                    &["BLPOP", k2, k1, "0"],
                    &["BLPOP", k1, k3, "0"],
                ],
                push: &[
                    multi,
                    &["RPUSH", k1, "a"],
                    &["RPUSH", k2, "b"],
                    &["RPUSH", k3, "c"],
                    exec,
                ],
                look: &[
                    &["LRANGE", k1, "0", "-1"],
                    &["LRANGE", k2, "0", "-1"],
                    &["LRANGE", k3, "0", "-1"],
                ],
            },
            // A WATCH makes EXEC replay its commands one by one: the same order.
            Scene {
                setup: &[],
                blockers: &[&["BLPOP", k1, k2, "0"], &["BLPOP", k1, "0"]],
                push: &[
                    &["WATCH", k3],
                    multi,
                    &["RPUSH", k2, "x"],
                    &["RPUSH", k1, "y"],
                    exec,
                ],
                look: &[&["LRANGE", k1, "0", "-1"], &["LRANGE", k2, "0", "-1"]],
            },
            Scene {
                setup: &[],
                blockers: &[
                    &["BLPOP", k3, k2, "0"],
                    &["BLPOP", k2, k1, "0"],
                    &["BLPOP", k1, k3, "0"],
                ],
                push: &[
                    &["WATCH", k2],
                    multi,
                    &["RPUSH", k1, "a"],
                    &["RPUSH", k2, "b"],
                    &["RPUSH", k3, "c"],
                    exec,
                ],
                look: &[
                    &["LRANGE", k1, "0", "-1"],
                    &["LRANGE", k2, "0", "-1"],
                    &["LRANGE", k3, "0", "-1"],
                ],
            },
            // A key pushed twice is served once, in the place of its first push.
            Scene {
                setup: &[],
                blockers: &[
                    &["BZMPOP", "0", "2", k1, k2, "MIN"],
                    &["BZPOPMIN", k1, k2, "0"],
                ],
                push: &[
                    multi,
                    &["ZADD", k2, "1", "x"],
                    &["ZADD", k1, "1", "y"],
                    &["ZADD", k2, "2", "z"],
                    exec,
                ],
                look: &[&["ZRANGE", k1, "0", "-1"]],
            },
        ];
        for scene in &scenes {
            scene.matches_redis(srv.port, redis.port, 4);
        }
    }
}
