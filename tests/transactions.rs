//! Multi-shard transactions over TCP with several shards and concurrent clients: every
//! multi-key command and every MULTI/EXEC is atomic and isolated, whichever shards its
//! keys live on, and nothing deadlocks. Runs are bounded in operations, not in time.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

/// A tiny deterministic generator (xorshift) per client thread.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Sends `cmds` pipelined and returns their parsed replies.
fn pipeline(c: &mut Raw, cmds: &[Vec<String>]) -> Vec<Resp> {
    let mut bytes = Vec::new();
    for cmd in cmds {
        let a: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
        bytes.extend_from_slice(&Raw::encode(&a));
    }
    c.send(&bytes);
    (0..cmds.len())
        .map(|_| Resp::from(&c.read_reply()))
        .collect()
}

fn cmd(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn int_of(r: &Resp) -> i64 {
    std::str::from_utf8(r.bytes().expect("bulk"))
        .unwrap()
        .parse()
        .unwrap()
}

/// Runs `f(i)` on `n` threads and waits for all; a panic in one fails the test.
fn run_clients(n: usize, f: impl Fn(usize) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let f = Arc::clone(&f);
            thread::spawn(move || f(i))
        })
        .collect();
    for h in handles {
        h.join().expect("client thread");
    }
}

const ACCOUNTS: usize = 100;
const BALANCE: i64 = 1000;

#[test]
fn bank_transfers_keep_the_total_for_every_observer() {
    let srv = busbar(&["--threads", "3"]);
    let port = srv.port;
    let mut admin = Raw::connect(port).unwrap();
    let mut mset = vec!["MSET".to_string()];
    for i in 0..ACCOUNTS {
        mset.push(format!("acct:{i}"));
        mset.push(BALANCE.to_string());
    }
    assert_eq!(pipeline(&mut admin, &[mset])[0].encode(), b"+OK\r\n");
    let done = Arc::new(AtomicBool::new(false));

    // Auditors: MGET of every account, and the same inside MULTI/EXEC, always sum up.
    let auditors: Vec<_> = (0..2)
        .map(|kind| {
            let done = Arc::clone(&done);
            thread::spawn(move || {
                let mut c = Raw::connect(port).unwrap();
                let mut mget = vec!["MGET".to_string()];
                mget.extend((0..ACCOUNTS).map(|i| format!("acct:{i}")));
                let mut audits = 0;
                while !done.load(Ordering::Relaxed) || audits < 5 {
                    let total: i64 = if kind == 0 {
                        let r = pipeline(&mut c, std::slice::from_ref(&mget));
                        r[0].items().iter().map(int_of).sum()
                    } else {
                        let mut cmds = vec![cmd(&["MULTI"])];
                        cmds.extend((0..ACCOUNTS).map(|i| cmd(&["GET", &format!("acct:{i}")])));
                        cmds.push(cmd(&["EXEC"]));
                        let r = pipeline(&mut c, &cmds);
                        r.last().unwrap().items().iter().map(int_of).sum()
                    };
                    assert_eq!(
                        total,
                        ACCOUNTS as i64 * BALANCE,
                        "audit {audits} saw a torn transfer"
                    );
                    audits += 1;
                }
                audits
            })
        })
        .collect();

    run_clients(50, move |i| {
        let mut c = Raw::connect(port).unwrap();
        let mut rng = Rng::new(i as u64 + 1);
        for _ in 0..40 {
            let a = rng.below(ACCOUNTS as u64);
            let b = (a + 1 + rng.below(ACCOUNTS as u64 - 1)) % ACCOUNTS as u64;
            let (ka, kb) = (format!("acct:{a}"), format!("acct:{b}"));
            let amount = (1 + rng.below(50)).to_string();
            if i % 2 == 0 {
                // Plain MULTI/EXEC.
                let r = pipeline(
                    &mut c,
                    &[
                        cmd(&["MULTI"]),
                        cmd(&["DECRBY", &ka, &amount]),
                        cmd(&["INCRBY", &kb, &amount]),
                        cmd(&["EXEC"]),
                    ],
                );
                assert_eq!(r[3].items().len(), 2, "{:?}", show(&r[3].encode()));
            } else {
                // Optimistic: WATCH, read, then transfer only what is there; retry on abort.
                loop {
                    pipeline(&mut c, &[cmd(&["WATCH", &ka, &kb])]);
                    let have = int_of(&pipeline(&mut c, &[cmd(&["GET", &ka])])[0]);
                    let amount = amount.parse::<i64>().unwrap().min(have.max(0)).to_string();
                    let r = pipeline(
                        &mut c,
                        &[
                            cmd(&["MULTI"]),
                            cmd(&["DECRBY", &ka, &amount]),
                            cmd(&["INCRBY", &kb, &amount]),
                            cmd(&["EXEC"]),
                        ],
                    );
                    if !r[3].is_null() {
                        assert_eq!(r[3].items().len(), 2);
                        break;
                    }
                }
            }
        }
    });
    done.store(true, Ordering::Relaxed);
    for a in auditors {
        assert!(a.join().expect("auditor") >= 5);
    }
    let mut mget = vec!["MGET".to_string()];
    mget.extend((0..ACCOUNTS).map(|i| format!("acct:{i}")));
    let r = pipeline(&mut admin, &[mget]);
    let total: i64 = r[0].items().iter().map(int_of).sum();
    assert_eq!(total, ACCOUNTS as i64 * BALANCE);
}

#[test]
fn mset_is_seen_whole_or_not_at_all() {
    let srv = busbar(&["--threads", "2"]);
    let port = srv.port;
    let keys: Vec<String> = (1..=10).map(|i| format!("k{i}")).collect();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let done = Arc::clone(&done);
            let keys = keys.clone();
            thread::spawn(move || {
                let mut c = Raw::connect(port).unwrap();
                let mut mget = vec!["MGET".to_string()];
                mget.extend(keys.iter().cloned());
                let mut reads = 0;
                while !done.load(Ordering::Relaxed) || reads < 5 {
                    let r = pipeline(&mut c, std::slice::from_ref(&mget));
                    let vals: Vec<Option<Vec<u8>>> = r[0]
                        .items()
                        .iter()
                        .map(|v| v.bytes().map(|b| b.to_vec()))
                        .collect();
                    assert!(
                        vals.iter().all(|v| *v == vals[0]),
                        "MGET saw a mix: {vals:?}"
                    );
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let writer_keys = keys.clone();
    run_clients(4, move |w| {
        let mut c = Raw::connect(port).unwrap();
        for round in 0..300 {
            let mut args = vec!["MSET".to_string()];
            for k in &writer_keys {
                args.push(k.clone());
                args.push(format!("w{w}r{round}"));
            }
            // One writer in four deletes everything instead, now and then.
            let r = if w == 3 && round % 10 == 0 {
                let mut del = vec!["DEL".to_string()];
                del.extend(writer_keys.iter().cloned());
                pipeline(&mut c, &[del])
            } else {
                pipeline(&mut c, &[args])
            };
            assert_ne!(r[0].tag(), b'-');
        }
    });
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("reader") >= 5);
    }
}

#[test]
fn lmove_ring_keeps_every_element_somewhere() {
    const LISTS: usize = 6;
    const PER_LIST: usize = 10;
    let srv = busbar(&["--threads", "3"]);
    let port = srv.port;
    let mut admin = Raw::connect(port).unwrap();
    for l in 0..LISTS {
        let mut push = vec!["RPUSH".to_string(), format!("ring:{l}")];
        push.extend((0..PER_LIST).map(|e| format!("e{l}-{e}")));
        pipeline(&mut admin, &[push]);
    }
    let total = (LISTS * PER_LIST) as i64;
    let done = Arc::new(AtomicBool::new(false));
    let observer = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut c = Raw::connect(port).unwrap();
            let mut looks = 0;
            while !done.load(Ordering::Relaxed) || looks < 5 {
                let mut cmds = vec![cmd(&["MULTI"])];
                cmds.extend((0..LISTS).map(|l| cmd(&["LLEN", &format!("ring:{l}")])));
                cmds.push(cmd(&["EXEC"]));
                let r = pipeline(&mut c, &cmds);
                let seen: i64 = r
                    .last()
                    .unwrap()
                    .items()
                    .iter()
                    .map(|v| {
                        std::str::from_utf8(&v.encode()[1..])
                            .unwrap()
                            .trim()
                            .parse::<i64>()
                            .unwrap()
                    })
                    .sum();
                assert_eq!(seen, total, "an element was in neither list or in both");
                looks += 1;
            }
            looks
        })
    };
    run_clients(8, move |m| {
        let mut c = Raw::connect(port).unwrap();
        let mut rng = Rng::new(100 + m as u64);
        for _ in 0..300 {
            let from = rng.below(LISTS as u64) as usize;
            let to = (from + 1 + rng.below(LISTS as u64 - 1) as usize) % LISTS;
            let (src, dst) = (format!("ring:{from}"), format!("ring:{to}"));
            let r = if m % 2 == 0 {
                pipeline(&mut c, &[cmd(&["LMOVE", &src, &dst, "LEFT", "RIGHT"])])
            } else {
                pipeline(&mut c, &[cmd(&["RPOPLPUSH", &src, &dst])])
            };
            assert_ne!(r[0].tag(), b'-');
        }
    });
    done.store(true, Ordering::Relaxed);
    assert!(observer.join().expect("observer") >= 5);
    let mut cmds: Vec<Vec<String>> = (0..LISTS)
        .map(|l| cmd(&["LRANGE", &format!("ring:{l}"), "0", "-1"]))
        .collect();
    cmds.push(cmd(&["DBSIZE"]));
    let r = pipeline(&mut admin, &cmds);
    let mut all: Vec<Vec<u8>> = r[..LISTS]
        .iter()
        .flat_map(|l| l.items().iter().map(|e| e.bytes().unwrap().to_vec()))
        .collect();
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(before, all.len(), "an element was duplicated");
    assert_eq!(all.len() as i64, total, "an element was lost");
}

#[test]
fn overlapping_multi_key_commands_never_deadlock() {
    let srv = busbar(&["--threads", "3"]);
    let port = srv.port;
    let keys: Vec<String> = (0..12).map(|i| format!("dk{i}")).collect();
    run_clients(16, move |i| {
        let mut c = Raw::connect(port).unwrap();
        let mut rng = Rng::new(7 + i as u64);
        let pick = |rng: &mut Rng, n: u64| -> Vec<String> {
            (0..1 + rng.below(n))
                .map(|_| keys[rng.below(keys.len() as u64) as usize].clone())
                .collect()
        };
        for _ in 0..150 {
            let ks = pick(&mut rng, 5);
            let cmds: Vec<Vec<String>> = match rng.below(9) {
                0 => {
                    let mut a = vec!["MSET".to_string()];
                    for k in &ks {
                        a.push(k.clone());
                        a.push("1".into());
                    }
                    vec![a]
                }
                1 => vec![std::iter::once("MGET".to_string()).chain(ks).collect()],
                2 => vec![std::iter::once("DEL".to_string()).chain(ks).collect()],
                3 => vec![std::iter::once("EXISTS".to_string()).chain(ks).collect()],
                4 => {
                    let mut v = vec![cmd(&["MULTI"])];
                    v.extend(ks.iter().map(|k| cmd(&["SET", k, "2"])));
                    v.push(cmd(&["EXEC"]));
                    v
                }
                5 => {
                    let mut v = vec![std::iter::once("WATCH".to_string())
                        .chain(ks.clone())
                        .collect()];
                    v.push(cmd(&["MULTI"]));
                    v.extend(ks.iter().map(|k| cmd(&["GET", k])));
                    v.push(cmd(&["EXEC"]));
                    v
                }
                6 => vec![cmd(&["DBSIZE"])],
                7 => {
                    let mut a = vec!["MSETNX".to_string()];
                    for k in &ks {
                        a.push(k.clone());
                        a.push("3".into());
                    }
                    vec![a]
                }
                _ => vec![cmd(&["SET", &ks[0], "4"])],
            };
            // A deadlock shows as a read timeout (10 s) and fails the test.
            for r in pipeline(&mut c, &cmds) {
                assert!(
                    r.tag() != b'-' || r.encode().starts_with(b"-WRONGTYPE"),
                    "{}",
                    show(&r.encode())
                );
            }
        }
    });
    let mut admin = Raw::connect(port).unwrap();
    assert_eq!(admin.cmd(&["PING"]), b"+PONG\r\n");
    let info = String::from_utf8(admin.cmd(&["INFO", "stats"])).unwrap();
    assert!(info.contains("total_commands_processed"));
}

#[test]
fn single_shard_commands_do_not_wait_behind_unrelated_transactions() {
    // A transaction holds its locks only while it runs: a client whose keys are not
    // involved is never queued behind one. Here one client keeps cross-shard MULTIs going
    // while another hammers unrelated keys; both finish and the second sees its own writes.
    let srv = busbar(&["--threads", "2"]);
    let port = srv.port;
    let busy = thread::spawn(move || {
        let mut c = Raw::connect(port).unwrap();
        for i in 0..300 {
            let v = i.to_string();
            let r = pipeline(
                &mut c,
                &[
                    cmd(&["MULTI"]),
                    cmd(&["SET", "a", &v]),
                    cmd(&["SET", "b", &v]),
                    cmd(&["EXEC"]),
                ],
            );
            assert_eq!(r[3].items().len(), 2);
        }
    });
    let mut c = Raw::connect(port).unwrap();
    for i in 0..300 {
        let v = i.to_string();
        let r = pipeline(&mut c, &[cmd(&["SET", "k1", &v]), cmd(&["GET", "k1"])]);
        assert_eq!(r[1].bytes(), Some(v.as_bytes()));
    }
    busy.join().unwrap();
}

#[test]
fn a_client_that_leaves_mid_transaction_releases_its_locks() {
    let srv = busbar(&["--threads", "2"]);
    let port = srv.port;
    for _ in 0..20 {
        let mut c = Raw::connect(port).unwrap();
        // Pipelined and abandoned: the server may be anywhere in the protocol when it
        // sees the close.
        let mut bytes = Raw::encode(&[b"MULTI"]);
        bytes.extend(Raw::encode(&[b"SET", b"a", b"1"]));
        bytes.extend(Raw::encode(&[b"SET", b"b", b"1"]));
        bytes.extend(Raw::encode(&[b"EXEC"]));
        bytes.extend(Raw::encode(&[b"MSET", b"a", b"2", b"b", b"2"]));
        c.send(&bytes);
        drop(c);
    }
    // Their buffered commands may still be running; whatever ran, it ran whole, and no
    // lock was left behind (a leaked lock would stall these commands into a timeout).
    let mut c = Raw::connect(port).unwrap();
    for _ in 0..20 {
        assert_eq!(c.cmd(&["MSET", "a", "3", "b", "3"]), b"+OK\r\n");
        let r = Resp::from(&c.cmd(&["MGET", "a", "b"]));
        assert_eq!(r.items()[0].bytes(), r.items()[1].bytes());
    }
}

#[test]
fn pipelined_multi_key_commands_reply_like_redis() {
    // Pipelines of multi-key commands over both shards join one chain on busbar; every
    // command must still get its own reply, byte for byte as redis-server gives it.
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let srv = busbar(&["--threads", "2"]);
    let mut rng = Rng::new(42);
    let keys: Vec<String> = (0..8).map(|i| format!("k{i}")).collect();
    for round in 0..20 {
        let mut cmds: Vec<Vec<String>> = Vec::new();
        for i in 0..40 {
            let n = 1 + rng.below(5) as usize;
            let ks: Vec<String> = (0..n)
                .map(|_| keys[rng.below(keys.len() as u64) as usize].clone())
                .collect();
            let mut c = match rng.below(7) {
                0 | 1 => {
                    let mut a = vec!["MSET".to_string()];
                    for k in &ks {
                        a.push(k.clone());
                        a.push(format!("r{round}i{i}"));
                    }
                    a
                }
                2 | 3 => std::iter::once("MGET".to_string()).chain(ks).collect(),
                4 => std::iter::once("DEL".to_string()).chain(ks).collect(),
                5 => std::iter::once("EXISTS".to_string()).chain(ks).collect(),
                _ => vec!["GET".to_string(), ks[0].clone()],
            };
            if rng.below(20) == 0 {
                c = vec!["RPUSH".to_string(), keys[0].clone(), "x".to_string()];
            }
            cmds.push(c);
        }
        let mut b = Raw::connect(srv.port).unwrap();
        let mut r = Raw::connect(redis.port).unwrap();
        let got: Vec<Vec<u8>> = pipeline(&mut b, &cmds).iter().map(|x| x.encode()).collect();
        let want: Vec<Vec<u8>> = pipeline(&mut r, &cmds).iter().map(|x| x.encode()).collect();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(show(g), show(w), "round {round} command {i}: {:?}", cmds[i]);
        }
    }
}

#[test]
fn a_watched_key_that_expires_makes_exec_fail_on_any_shard() {
    // As Redis 7: the key's time running out after WATCH counts as a change, even when
    // nothing touched it since (the owner collects it before granting EXEC its lock).
    let srv = busbar(&["--threads", "2"]);
    let mut c = Raw::connect(srv.port).unwrap();
    for key in ["a", "b", "{t}x"] {
        assert_eq!(c.cmd(&["SET", key, "1", "PX", "50"]), b"+OK\r\n");
        assert_eq!(c.cmd(&["WATCH", key]), b"+OK\r\n");
        thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(c.cmd(&["MULTI"]), b"+OK\r\n");
        assert_eq!(c.cmd(&["EXEC"]), b"*-1\r\n", "{key}");
        // A key that had already expired at WATCH time does not count.
        assert_eq!(c.cmd(&["SET", key, "1", "PX", "20"]), b"+OK\r\n");
        thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(c.cmd(&["WATCH", key]), b"+OK\r\n");
        assert_eq!(c.cmd(&["MULTI"]), b"+OK\r\n");
        assert_eq!(c.cmd(&["EXEC"]), b"*0\r\n", "{key}");
    }
}

#[test]
fn blocked_moves_across_shards_never_show_an_element_in_neither_list() {
    // Few elements, many BLMOVE / BRPOPLPUSH clients going both ways between two keys on
    // different shards: most calls block and are woken. An observer reading both lengths
    // atomically always counts every element exactly once.
    const ELEMENTS: i64 = 3;
    let srv = busbar(&["--threads", "2"]);
    let port = srv.port;
    let (a, b) = ("a", "b"); // shard 1 and shard 0 with two shards
    let mut admin = Raw::connect(port).unwrap();
    for e in 0..ELEMENTS {
        assert!(admin.cmd(&["RPUSH", a, &format!("e{e}")]).starts_with(b":"));
    }
    let done = Arc::new(AtomicBool::new(false));
    let observer = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut c = Raw::connect(port).unwrap();
            let mut looks = 0;
            while !done.load(Ordering::Relaxed) || looks < 5 {
                let r = pipeline(
                    &mut c,
                    &[
                        cmd(&["MULTI"]),
                        cmd(&["LLEN", a]),
                        cmd(&["LLEN", b]),
                        cmd(&["EXEC"]),
                    ],
                );
                let lens = r[3].encode();
                let text = String::from_utf8_lossy(&lens).to_string();
                let sum: i64 = text
                    .split("\r\n")
                    .filter_map(|l| l.strip_prefix(':'))
                    .map(|n| n.parse::<i64>().unwrap())
                    .sum();
                assert_eq!(sum, ELEMENTS, "saw {text:?}");
                looks += 1;
            }
            looks
        })
    };
    run_clients(8, move |m| {
        let mut c = Raw::connect(port).unwrap();
        let (src, dst) = if m % 2 == 0 { (a, b) } else { (b, a) };
        for _ in 0..60 {
            let r = if m % 4 < 2 {
                c.cmd(&["BLMOVE", src, dst, "LEFT", "RIGHT", "0.05"])
            } else {
                c.cmd(&["BRPOPLPUSH", src, dst, "0.05"])
            };
            assert!(r.starts_with(b"$") || r == b"*-1\r\n", "{}", show(&r));
        }
    });
    done.store(true, Ordering::Relaxed);
    assert!(observer.join().expect("observer") >= 5);
    let r = pipeline(&mut admin, &[cmd(&["LLEN", a]), cmd(&["LLEN", b])]);
    let total: i64 = r
        .iter()
        .map(|x| {
            String::from_utf8_lossy(&x.encode()[1..])
                .trim()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(total, ELEMENTS);
}

#[test]
fn smove_between_shards_keeps_every_member_in_exactly_one_set() {
    const SETS: usize = 4;
    const MEMBERS: usize = 40;
    let srv = busbar(&["--threads", "3"]);
    let port = srv.port;
    let mut admin = Raw::connect(port).unwrap();
    for m in 0..MEMBERS {
        let set = format!("pool:{}", m % SETS);
        assert_eq!(admin.cmd(&["SADD", &set, &format!("m{m}")]), b":1\r\n");
    }
    let done = Arc::new(AtomicBool::new(false));
    let observer = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut c = Raw::connect(port).unwrap();
            let mut looks = 0;
            while !done.load(Ordering::Relaxed) || looks < 5 {
                let mut cmds = vec![cmd(&["MULTI"])];
                cmds.extend((0..SETS).map(|s| cmd(&["SCARD", &format!("pool:{s}")])));
                cmds.push(cmd(&["EXEC"]));
                let r = pipeline(&mut c, &cmds);
                let text = String::from_utf8_lossy(&r.last().unwrap().encode()).to_string();
                let sum: usize = text
                    .split("\r\n")
                    .filter_map(|l| l.strip_prefix(':'))
                    .map(|n| n.parse::<usize>().unwrap())
                    .sum();
                assert_eq!(sum, MEMBERS, "saw {text:?}");
                looks += 1;
            }
            looks
        })
    };
    run_clients(8, move |t| {
        let mut c = Raw::connect(port).unwrap();
        let mut rng = Rng::new(500 + t as u64);
        for _ in 0..200 {
            let from = rng.below(SETS as u64);
            let to = (from + 1 + rng.below(SETS as u64 - 1)) % SETS as u64;
            let member = format!("m{}", rng.below(MEMBERS as u64));
            let r = c.cmd(&[
                "SMOVE",
                &format!("pool:{from}"),
                &format!("pool:{to}"),
                &member,
            ]);
            assert!(r == b":0\r\n" || r == b":1\r\n", "{}", show(&r));
        }
    });
    done.store(true, Ordering::Relaxed);
    assert!(observer.join().expect("observer") >= 5);
    let mut all = Vec::new();
    for s in 0..SETS {
        let r = Resp::from(&admin.cmd(&["SMEMBERS", &format!("pool:{s}")]));
        all.extend(r.items().iter().map(|e| e.bytes().unwrap().to_vec()));
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (MEMBERS, MEMBERS));
}

#[test]
fn watch_is_broken_only_by_a_real_change_like_redis() {
    // As Redis 7: SMOVE of a member the destination already holds changes only the
    // source, and SADD of members all present changes nothing, so a WATCH on the
    // untouched key survives. Busbar with one shard, with two (the keys on different
    // shards, so SMOVE runs as steps), and redis-server give the same EXEC replies.
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let one = busbar(&["--threads", "1"]);
    let two = busbar(&["--threads", "2"]);
    let (src, dst) = keys_on_two_shards("sm", 2);
    let (src, dst) = (src.as_str(), dst.as_str());
    let cases: &[(&str, &[&str])] = &[
        (dst, &["SMOVE", src, dst, "a"]),
        (src, &["SMOVE", src, dst, "a"]),
        (dst, &["SMOVE", src, dst, "b"]),
        (dst, &["SMOVE", src, dst, "nosuch"]),
        (src, &["SMOVE", src, src, "a"]),
        (dst, &["SADD", dst, "a"]),
        (dst, &["SADD", dst, "a", "c"]),
        (dst, &["SREM", dst, "nosuch"]),
    ];
    let exec_after = |port: u16, watched: &str, change: &[&str]| {
        let mut w = Raw::connect(port).unwrap();
        let mut o = Raw::connect(port).unwrap();
        assert_eq!(o.cmd(&["FLUSHALL"]), b"+OK\r\n");
        assert_eq!(o.cmd(&["SADD", src, "a", "b"]), b":2\r\n");
        assert_eq!(o.cmd(&["SADD", dst, "a"]), b":1\r\n");
        assert_eq!(w.cmd(&["WATCH", watched]), b"+OK\r\n");
        let reply = o.cmd(change);
        assert_eq!(w.cmd(&["MULTI"]), b"+OK\r\n");
        assert_eq!(w.cmd(&["PING"]), b"+QUEUED\r\n");
        (reply, w.cmd(&["EXEC"]))
    };
    for (watched, change) in cases {
        let want = exec_after(redis.port, watched, change);
        for srv in [&one, &two] {
            let got = exec_after(srv.port, watched, change);
            assert_eq!(
                (show(&got.0), show(&got.1)),
                (show(&want.0), show(&want.1)),
                "WATCH {watched}, then {change:?}"
            );
        }
    }
}
