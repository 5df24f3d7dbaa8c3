//! Pipeline batches (`shard::batch`): a pipeline whose single-key commands span shards
//! runs as one chain. Replies stay Redis's, in order; another client never sees a later
//! command of a pipeline without an earlier one; a push that wakes a blocked client still
//! serves it before the next command; and a pipeline over two shards costs about one hop.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// A pipeline over both shards mixing batchable commands, errors, and commands that may
/// not join a batch (list pushes, multi-key commands, unknown commands).
fn mixed_pipeline() -> Vec<Vec<String>> {
    let mut cmds = Vec::new();
    for i in 0..60 {
        let a = key_on(&format!("a{i}:"), i % 2, 2);
        let b = key_on(&format!("b{i}:"), (i + 1) % 2, 2);
        cmds.push(words(&format!("SET {a} {i}")));
        cmds.push(words(&format!("GET {b}")));
        cmds.push(words(&format!("INCR {a}")));
        cmds.push(words(&format!("SADD {b} x y")));
        cmds.push(words(&format!("INCR {b}"))); // WRONGTYPE
        cmds.push(words(&format!("HSET h{i} f {i}")));
        cmds.push(words(&format!("GET {a}")));
        if i % 7 == 0 {
            cmds.push(words(&format!("LPUSH l{i} e")));
            cmds.push(words(&format!("MSET {a} 1 {b} 2")));
            cmds.push(words("NOSUCHCOMMAND x"));
            cmds.push(words(&format!("EXISTS {a} {b}")));
        }
        cmds.push(words(&format!("SETNX {b} z")));
        cmds.push(words(&format!("STRLEN {a}")));
    }
    cmds
}

#[test]
fn a_pipeline_over_both_shards_replies_like_redis() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let bb = busbar(&["--threads", "2"]);
    for resp3 in [false, true] {
        let mut r = Raw::connect(redis.port).unwrap();
        let mut b = Raw::connect(bb.port).unwrap();
        for c in [&mut r, &mut b] {
            c.cmd(&["FLUSHALL"]);
            if resp3 {
                c.cmd(&["HELLO", "3"]);
            }
        }
        let cmds = mixed_pipeline();
        let want = pipeline_raw(&mut r, &cmds);
        let got = pipeline_raw(&mut b, &cmds);
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            assert_eq!(
                show(g),
                show(w),
                "RESP{} command {i}: {:?}",
                if resp3 { 3 } else { 2 },
                cmds[i]
            );
        }
    }
}

#[test]
fn a_pipeline_over_two_shards_costs_about_one_hop() {
    let bb = busbar(&["--threads", "2"]);
    let mut c = Raw::connect(bb.port).unwrap();
    let mut cmds = Vec::new();
    for i in 0..100 {
        let k = key_on(&format!("k{i}:"), i % 2, 2);
        cmds.push(words(&format!("SET {k} {i}")));
        cmds.push(words(&format!("GET {k}")));
    }
    let before = info_stat(&mut c, "hops_total");
    let replies = pipeline_raw(&mut c, &cmds);
    for (i, r) in replies.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(r, b"+OK\r\n");
        } else {
            let v = (i / 2).to_string();
            assert_eq!(r, format!("${}\r\n{v}\r\n", v.len()).as_bytes());
        }
    }
    let hops = info_stat(&mut c, "hops_total") - before;
    // 200 commands alternating between shards: one hop per change of shard (100) without
    // batches; one per batch (one per read of the pipeline) with them.
    assert!(hops <= 10, "{hops} hops for one pipeline");
}

#[test]
fn an_observer_never_sees_a_later_write_of_a_pipeline_without_an_earlier_one() {
    // The writer's program: SET first i, then SET second i, for rising i, pipelined. A
    // reader that reads `second` before `first` must find first >= second, whichever
    // shards the keys live on and however the pipelines are cut into batches.
    let bb = busbar(&["--threads", "2"]);
    let port = bb.port;
    for (first_shard, second_shard) in [(0, 1), (1, 0)] {
        let first = key_on("first:", first_shard, 2);
        let second = key_on("second:", second_shard, 2);
        let mut c = Raw::connect(port).unwrap();
        c.cmd(&["MSET", &first, "0", &second, "0"]);
        let done = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (first, second, done) = (first.clone(), second.clone(), Arc::clone(&done));
                thread::spawn(move || {
                    let mut c = Raw::connect(port).unwrap();
                    let mut reads = 0;
                    while !done.load(Ordering::Relaxed) || reads < 20 {
                        let mut cmds = Vec::new();
                        for _ in 0..8 {
                            cmds.push(words(&format!("GET {second}")));
                            cmds.push(words(&format!("GET {first}")));
                        }
                        let r = pipeline_raw(&mut c, &cmds);
                        for pair in r.chunks(2) {
                            let n = |b: &[u8]| -> u64 {
                                let s = std::str::from_utf8(b).unwrap();
                                s.lines().nth(1).unwrap().parse().unwrap()
                            };
                            let (s, f) = (n(&pair[0]), n(&pair[1]));
                            assert!(f >= s, "read second={s} before first={f}");
                        }
                        reads += 1;
                    }
                })
            })
            .collect();
        let mut w = Raw::connect(port).unwrap();
        for round in 0..300u64 {
            let mut cmds = Vec::new();
            for j in 0..4 {
                let i = (round * 4 + j + 1).to_string();
                cmds.push(words(&format!("SET {first} {i}")));
                cmds.push(words(&format!("SET {second} {i}")));
            }
            for r in pipeline_raw(&mut w, &cmds) {
                assert_eq!(r, b"+OK\r\n");
            }
        }
        done.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().expect("reader");
        }
    }
}

#[test]
fn a_push_in_a_pipeline_serves_a_blocked_client_before_the_next_command() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let bb = busbar(&["--threads", "2"]);
    for port in [redis.port, bb.port] {
        for (q_shard, other_shard) in [(0, 1), (1, 0)] {
            let q = key_on("queue:", q_shard, 2);
            let other = key_on("other:", other_shard, 2);
            let mut waiter = Raw::connect(port).unwrap();
            waiter.send(&Raw::encode(&[b"BLPOP", q.as_bytes(), b"5"]));
            let mut c = Raw::connect(port).unwrap();
            // Let the BLPOP register first.
            for _ in 0..100 {
                let clients = String::from_utf8(c.cmd(&["INFO", "clients"])).unwrap();
                if clients.contains("blocked_clients:1") {
                    break;
                }
                thread::sleep(std::time::Duration::from_millis(10));
            }
            let cmds = vec![
                words(&format!("SET {other} 1")),
                words(&format!("RPUSH {q} a")),
                words(&format!("GET {other}")),
                words(&format!("LLEN {q}")),
            ];
            let r = pipeline_raw(&mut c, &cmds);
            assert_eq!(
                show(&r[3]),
                show(b":0\r\n"),
                "port {port}: the waiter was served first"
            );
            let w = waiter.read_reply();
            assert_eq!(
                show(&w),
                show(format!("*2\r\n${}\r\n{q}\r\n$1\r\na\r\n", q.len()).as_bytes())
            );
        }
    }
}

#[test]
fn a_mass_insertion_over_both_shards_keeps_every_key_and_reply() {
    // Far more commands than one batch takes, sent in one go: every reply comes back, in
    // order, and every key is there.
    let bb = busbar(&["--threads", "2"]);
    let mut c = Raw::connect(bb.port).unwrap();
    let n = 5000;
    let mut bytes = Vec::new();
    for i in 0..n {
        let k = format!("mass:{i}");
        let v = i.to_string();
        bytes.extend_from_slice(&Raw::encode(&[b"SET", k.as_bytes(), v.as_bytes()]));
        bytes.extend_from_slice(&Raw::encode(&[b"GET", k.as_bytes()]));
    }
    c.send(&bytes);
    for i in 0..n {
        assert_eq!(c.read_reply(), b"+OK\r\n");
        let v = i.to_string();
        assert_eq!(
            c.read_reply(),
            format!("${}\r\n{v}\r\n", v.len()).as_bytes()
        );
    }
    assert_eq!(c.cmd(&["DBSIZE"]), format!(":{n}\r\n").as_bytes());
}
