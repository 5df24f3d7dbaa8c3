//! A random model test of a consumer group's pending-entries list: seeded random runs of
//! XADD, XDEL, XREADGROUP (`>` and history), XACK, XCLAIM (JUSTID, FORCE), XAUTOCLAIM,
//! XPENDING (summary and extended, per consumer), XGROUP CREATECONSUMER / DELCONSUMER and
//! XINFO CONSUMERS, each reply checked against a small reference model of the PEL kept
//! here. When redis-server is present the same runs go to it too and its replies must be
//! busbar's, byte for byte (idle times masked).
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CONSUMERS: [&str; 4] = ["alice", "bob", "carol", "dave"];

fn bulk(s: &str) -> Resp {
    Resp::Bulk(b'$', Some(s.as_bytes().to_vec()))
}

fn int(n: usize) -> Resp {
    Resp::Line(b':', n.to_string().into_bytes())
}

fn arr(v: Vec<Resp>) -> Resp {
    Resp::Agg(b'*', Some(v))
}

fn id(n: u64) -> String {
    format!("{n}-1")
}

/// One pending entry in the model: its owner and delivery count.
#[derive(Debug, Clone)]
struct Pend {
    owner: &'static str,
    count: usize,
}

/// The reference: which entries exist, the group's last delivered entry, its PEL and its
/// consumers. IDs are `n-1` for n = 1, 2, ...
#[derive(Default)]
struct Model {
    entries: BTreeSet<u64>,
    next: u64,
    last_delivered: u64,
    pel: BTreeMap<u64, Pend>,
    consumers: BTreeSet<&'static str>,
}

impl Model {
    fn entry(&self, n: u64) -> Resp {
        if self.entries.contains(&n) {
            arr(vec![
                bulk(&id(n)),
                arr(vec![bulk("f"), bulk(&format!("v{n}"))]),
            ])
        } else {
            arr(vec![bulk(&id(n)), Resp::Agg(b'*', None)])
        }
    }

    fn owned_by(&self, c: &str) -> Vec<u64> {
        self.pel
            .iter()
            .filter(|(_, p)| p.owner == c)
            .map(|(n, _)| *n)
            .collect()
    }
}

/// One random command and the reply the model predicts (`None`: checked elsewhere).
fn step(rng: &mut StdRng, m: &mut Model) -> (Vec<String>, Resp) {
    let c = CONSUMERS[rng.gen_range(0..CONSUMERS.len())];
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // An ID that may or may not be pending or present.
    let any_id = |rng: &mut StdRng, m: &Model| rng.gen_range(1..=m.next.max(1) + 1);
    match rng.gen_range(0..100) {
        0..=24 => {
            m.next += 1;
            m.entries.insert(m.next);
            let n = m.next;
            (
                s(&["XADD", "s", &id(n), "f", &format!("v{n}")]),
                bulk(&id(n)),
            )
        }
        25..=31 => {
            let n = any_id(rng, m);
            let gone = m.entries.remove(&n);
            (s(&["XDEL", "s", &id(n)]), int(usize::from(gone)))
        }
        32..=46 => {
            let k = rng.gen_range(1..=4);
            let fresh: Vec<u64> = m
                .entries
                .range(m.last_delivered + 1..)
                .take(k)
                .copied()
                .collect();
            let cmd = s(&[
                "XREADGROUP",
                "GROUP",
                "g",
                c,
                "COUNT",
                &k.to_string(),
                "STREAMS",
                "s",
                ">",
            ]);
            if fresh.is_empty() {
                return (cmd, Resp::Agg(b'*', None));
            }
            // Only a `>` read that delivers makes the consumer (a history read always does).
            m.consumers.insert(c);
            for &n in &fresh {
                m.pel.insert(n, Pend { owner: c, count: 1 });
                m.last_delivered = n;
            }
            let list = fresh.iter().map(|&n| m.entry(n)).collect();
            (cmd, arr(vec![arr(vec![bulk("s"), arr(list)])]))
        }
        47..=52 => {
            let k = rng.gen_range(1..=4);
            let from = rng.gen_range(0..=m.next);
            m.consumers.insert(c);
            let hist: Vec<u64> = m
                .owned_by(c)
                .into_iter()
                .filter(|&n| n > from)
                .take(k)
                .collect();
            // A history read counts a delivery, except of an entry deleted since (sent
            // as its ID and a null).
            for n in hist.iter().filter(|n| m.entries.contains(n)) {
                m.pel.get_mut(n).unwrap().count += 1;
            }
            let list = hist.iter().map(|&n| m.entry(n)).collect();
            (
                s(&[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    c,
                    "COUNT",
                    &k.to_string(),
                    "STREAMS",
                    "s",
                    &id(from),
                ]),
                arr(vec![arr(vec![bulk("s"), arr(list)])]),
            )
        }
        53..=62 => {
            let ids: Vec<u64> = (0..rng.gen_range(1..=4)).map(|_| any_id(rng, m)).collect();
            let acked = ids.iter().filter(|n| m.pel.remove(n).is_some()).count();
            let mut cmd = s(&["XACK", "s", "g"]);
            cmd.extend(ids.iter().map(|&n| id(n)));
            (cmd, int(acked))
        }
        63..=72 => {
            let ids: Vec<u64> = (0..rng.gen_range(1..=4)).map(|_| any_id(rng, m)).collect();
            let justid = rng.gen_bool(0.5);
            let force = rng.gen_bool(0.2);
            let mut cmd = s(&["XCLAIM", "s", "g", c, "0"]);
            cmd.extend(ids.iter().map(|&n| id(n)));
            if force {
                cmd.push("FORCE".into());
            }
            if justid {
                cmd.push("JUSTID".into());
            }
            let mut out = Vec::new();
            for &n in &ids {
                if force && !m.pel.contains_key(&n) && m.entries.contains(&n) {
                    m.pel.insert(n, Pend { owner: c, count: 1 });
                }
                if !m.pel.contains_key(&n) {
                    continue;
                }
                if !m.entries.contains(&n) {
                    // Deleted from the stream since: it leaves the PEL.
                    m.pel.remove(&n);
                    continue;
                }
                // A claim makes the consumer; a call that claims nothing does not.
                m.consumers.insert(c);
                let p = m.pel.get_mut(&n).unwrap();
                p.owner = c;
                if justid {
                    out.push(bulk(&id(n)));
                } else {
                    p.count += 1;
                    out.push(m.entry(n));
                }
            }
            (cmd, arr(out))
        }
        73..=80 => {
            let k = rng.gen_range(1..=3);
            let start = rng.gen_range(0..=m.next);
            let justid = rng.gen_bool(0.5);
            let mut cmd = s(&["XAUTOCLAIM", "s", "g", c, "0", &id(start)]);
            cmd.extend(["COUNT".to_string(), k.to_string()]);
            if justid {
                cmd.push("JUSTID".into());
            }
            let seen: Vec<u64> = m.pel.range(start..).take(k).map(|(n, _)| *n).collect();
            let cursor = seen
                .last()
                .and_then(|last| m.pel.range(last + 1..).next().map(|(n, _)| *n));
            let (mut claimed, mut deleted) = (Vec::new(), Vec::new());
            for n in seen {
                if !m.entries.contains(&n) {
                    m.pel.remove(&n);
                    deleted.push(bulk(&id(n)));
                    continue;
                }
                // A claim makes the consumer; a call that claims nothing does not.
                m.consumers.insert(c);
                let p = m.pel.get_mut(&n).unwrap();
                p.owner = c;
                if justid {
                    claimed.push(bulk(&id(n)));
                } else {
                    p.count += 1;
                    claimed.push(m.entry(n));
                }
            }
            let cursor = cursor.map_or("0-0".to_string(), id);
            (cmd, arr(vec![bulk(&cursor), arr(claimed), arr(deleted)]))
        }
        81..=86 => {
            let cmd = s(&["XPENDING", "s", "g"]);
            if m.pel.is_empty() {
                let nil = Resp::Bulk(b'$', None);
                return (
                    cmd,
                    arr(vec![int(0), nil.clone(), nil, Resp::Agg(b'*', None)]),
                );
            }
            let mut per: BTreeMap<&str, usize> = BTreeMap::new();
            for p in m.pel.values() {
                *per.entry(p.owner).or_default() += 1;
            }
            let first = *m.pel.keys().next().unwrap();
            let last = *m.pel.keys().next_back().unwrap();
            let owners = per
                .iter()
                .map(|(o, n)| arr(vec![bulk(o), bulk(&n.to_string())]))
                .collect();
            (
                cmd,
                arr(vec![
                    int(m.pel.len()),
                    bulk(&id(first)),
                    bulk(&id(last)),
                    arr(owners),
                ]),
            )
        }
        87..=92 => {
            let k = rng.gen_range(1..=5);
            let one = rng.gen_bool(0.5);
            let mut cmd = s(&["XPENDING", "s", "g", "-", "+", &k.to_string()]);
            if one {
                cmd.push(c.to_string());
            }
            let rows = m
                .pel
                .iter()
                .filter(|(_, p)| !one || p.owner == c)
                .take(k)
                .map(|(n, p)| arr(vec![bulk(&id(*n)), bulk(p.owner), int(0), int(p.count)]))
                .collect();
            (cmd, arr(rows))
        }
        93..=95 => {
            let had = m.consumers.remove(c);
            let owned = m.owned_by(c);
            for n in &owned {
                m.pel.remove(n);
            }
            let n = if had { owned.len() } else { 0 };
            (s(&["XGROUP", "DELCONSUMER", "s", "g", c]), int(n))
        }
        96..=97 => {
            let made = m.consumers.insert(c);
            (
                s(&["XGROUP", "CREATECONSUMER", "s", "g", c]),
                int(usize::from(made)),
            )
        }
        _ => {
            let rows = m
                .consumers
                .iter()
                .map(|name| {
                    arr(vec![
                        bulk("name"),
                        bulk(name),
                        bulk("pending"),
                        int(m.owned_by(name).len()),
                        bulk("idle"),
                        int(0),
                    ])
                })
                .collect();
            (s(&["XINFO", "CONSUMERS", "s", "g"]), arr(rows))
        }
    }
}

/// Replaces the clock-dependent integers (XPENDING's idle column, XINFO's idle) by 0.
fn mask(cmd: &[String], r: Resp) -> Resp {
    let zero = || int(0);
    match (cmd[0].as_str(), r) {
        ("XPENDING", Resp::Agg(t, Some(rows))) if cmd.len() > 3 => Resp::Agg(
            t,
            Some(
                rows.into_iter()
                    .map(|row| match row {
                        Resp::Agg(rt, Some(mut v)) if v.len() == 4 => {
                            v[2] = zero();
                            Resp::Agg(rt, Some(v))
                        }
                        other => other,
                    })
                    .collect(),
            ),
        ),
        ("XINFO", Resp::Agg(t, Some(rows))) => Resp::Agg(
            t,
            Some(
                rows.into_iter()
                    .map(|row| match row {
                        Resp::Agg(rt, Some(mut v)) => {
                            for i in (0..v.len().saturating_sub(1)).step_by(2) {
                                if v[i].bytes() == Some(b"idle") {
                                    v[i + 1] = zero();
                                }
                            }
                            Resp::Agg(rt, Some(v))
                        }
                        other => other,
                    })
                    .collect(),
            ),
        ),
        (_, r) => r,
    }
}

/// Runs `ops` random steps from `seed` against the server on `port`, checking each
/// reply against the model; returns the masked replies.
fn run(port: u16, seed: u64, ops: usize) -> Vec<Resp> {
    let mut c = Raw::connect(port).unwrap();
    c.cmd(&["FLUSHALL"]);
    assert_eq!(
        c.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]),
        b"+OK\r\n"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut m = Model::default();
    let mut replies = Vec::with_capacity(ops);
    for i in 0..ops {
        let (cmd, want) = step(&mut rng, &mut m);
        let got = mask(&cmd, Resp::from(&c.cmd_owned(&as_bytes(&cmd))));
        if std::env::var("PEL_TRACE").is_ok_and(|s| s == seed.to_string()) {
            eprintln!("{i}: {} -> {}", cmd.join(" "), show(&got.encode()));
        }
        assert_eq!(
            got,
            want,
            "seed {seed} step {i}: {}\n got {}\nwant {}",
            cmd.join(" "),
            show(&got.encode()),
            show(&want.encode())
        );
        replies.push(got);
    }
    replies
}

fn as_bytes(cmd: &[String]) -> Vec<Vec<u8>> {
    cmd.iter().map(|a| a.clone().into_bytes()).collect()
}

#[test]
fn the_pending_entries_list_follows_a_reference_model() {
    let srv = busbar(&["--threads", "2"]);
    let redis = redis_server(&[]);
    for seed in 0..24 {
        let got = run(srv.port, seed, 600);
        if let Some(redis) = &redis {
            assert_eq!(run(redis.port, seed, 600), got, "seed {seed}");
        }
    }
}
