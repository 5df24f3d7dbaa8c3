//! INFO numbers that clients poll (`blocked_clients`, `keyspace_hits`, `expired_keys`, the
//! keyspace section's `keys=` / `expires=`) are exact whenever they are asked, from any
//! shard: a served client is no longer counted once its pusher has its reply, and every
//! change a client has seen the reply of is in INFO.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

/// The value of `field` in an INFO reply.
fn info_field(c: &mut Raw, section: &str, field: &str) -> String {
    let info = String::from_utf8(c.cmd(&["INFO", section])).unwrap();
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
        .trim()
        .to_string()
}

fn info_u64(c: &mut Raw, section: &str, field: &str) -> u64 {
    info_field(c, section, field).parse().unwrap()
}

#[test]
fn a_served_client_is_not_counted_once_its_pusher_has_the_reply() {
    let shards = 4;
    let srv = busbar(&["--threads", "4"]);
    // Several connections of each role, so that blocked client, pusher, owner shard and
    // the shard answering INFO differ in most rounds (the kernel spreads connections over
    // the shards' listeners).
    let mut waiters: Vec<Raw> = (0..4).map(|_| Raw::connect(srv.port).unwrap()).collect();
    let mut pushers: Vec<Raw> = (0..4).map(|_| Raw::connect(srv.port).unwrap()).collect();
    let mut admin = Raw::connect(srv.port).unwrap();
    for round in 0..120 {
        let key = key_on("q", round % shards, shards);
        let w = &mut waiters[round % 4];
        w.send(&Raw::encode(&[b"BLPOP", key.as_bytes(), b"0"]));
        wait_blocked(&mut admin, 1);
        let p = &mut pushers[(round / 4) % 4];
        assert_eq!(p.cmd(&["LPUSH", &key, "v"]), b":1\r\n");
        let after = info_u64(p, "clients", "blocked_clients");
        assert_eq!(after, 0, "round {round}: a served client still counted");
        let want = format!("*2\r\n${}\r\n{key}\r\n$1\r\nv\r\n", key.len());
        assert_eq!(show(&w.read_reply()), show(want.as_bytes()));
    }
}

#[test]
fn timeouts_unblock_and_disconnects_uncount_blocked_clients() {
    let srv = busbar(&["--threads", "2"]);
    let (a, b) = keys_on_two_shards("t", 2);
    let mut admin = Raw::connect(srv.port).unwrap();
    // A timeout.
    let mut w = Raw::connect(srv.port).unwrap();
    assert_eq!(w.cmd(&["BLPOP", &a, &b, "0.05"]), b"*-1\r\n");
    assert_eq!(info_u64(&mut w, "clients", "blocked_clients"), 0);
    // CLIENT UNBLOCK.
    let id = String::from_utf8(w.cmd(&["CLIENT", "ID"])).unwrap();
    let id = id.trim_start_matches(':').trim().to_string();
    w.send(&Raw::encode(&[b"BRPOP", a.as_bytes(), b.as_bytes(), b"0"]));
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), b":1\r\n");
    assert_eq!(info_u64(&mut admin, "clients", "blocked_clients"), 0);
    assert_eq!(w.read_reply(), b"*-1\r\n");
    // A client that leaves while blocked.
    w.send(&Raw::encode(&[b"BLPOP", a.as_bytes(), b.as_bytes(), b"0"]));
    wait_blocked(&mut admin, 1);
    drop(w);
    wait_blocked(&mut admin, 0);
    // Nothing is left over: one more block and serve counts 1 then 0.
    let mut w = Raw::connect(srv.port).unwrap();
    w.send(&Raw::encode(&[b"BLPOP", b.as_bytes(), b"0"]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["RPUSH", &b, "x"]);
    assert_eq!(info_u64(&mut admin, "clients", "blocked_clients"), 0);
}

#[test]
fn a_blocking_pop_inside_exec_is_never_counted_as_blocked() {
    let srv = busbar(&["--threads", "2"]);
    let (a, b) = keys_on_two_shards("e", 2);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        let port = srv.port;
        std::thread::spawn(move || {
            let mut c = Raw::connect(port).unwrap();
            let mut seen = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                seen = seen.max(info_u64(&mut c, "clients", "blocked_clients"));
            }
            seen
        })
    };
    let mut c = Raw::connect(srv.port).unwrap();
    for _ in 0..200 {
        c.cmd(&["MULTI"]);
        c.cmd(&["BLPOP", &a, &b, "0"]);
        assert_eq!(c.cmd(&["EXEC"]), b"*1\r\n*-1\r\n");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(watcher.join().unwrap(), 0, "INFO counted a pop inside EXEC");
}

/// `db0:keys=..,expires=..` of INFO keyspace, or None when db0 is empty.
fn db0(c: &mut Raw) -> Option<(u64, u64)> {
    let info = String::from_utf8(c.cmd(&["INFO", "keyspace"])).unwrap();
    let line = info.lines().find_map(|l| l.strip_prefix("db0:"))?;
    let num = |name: &str| -> u64 {
        line.split(',')
            .find_map(|kv| kv.strip_prefix(name))
            .unwrap()
            .parse()
            .unwrap()
    };
    Some((num("keys="), num("expires=")))
}

#[test]
fn keyspace_numbers_follow_every_change_at_once() {
    let shards = 2;
    let srv = busbar(&["--threads", "2"]);
    let mut c = Raw::connect(srv.port).unwrap();
    let mut other = Raw::connect(srv.port).unwrap();
    let keys: Vec<String> = (0..10)
        .map(|i| key_on(&format!("k{i}_"), i % shards, shards))
        .collect();
    for (i, k) in keys.iter().enumerate() {
        if i % 2 == 0 {
            c.cmd(&["SET", k, "v"]);
        } else {
            c.cmd(&["SET", k, "v", "EX", "1000"]);
        }
        // Asked right after each reply, by whichever connection.
        assert_eq!(
            db0(&mut other),
            Some((i as u64 + 1, (i as u64).div_ceil(2)))
        );
    }
    c.cmd(&["PERSIST", &keys[1]]);
    assert_eq!(db0(&mut other), Some((10, 4)));
    c.cmd(&["DEL", &keys[0], &keys[3]]);
    assert_eq!(db0(&mut other), Some((8, 3)));

    let hits = info_u64(&mut other, "stats", "keyspace_hits");
    let misses = info_u64(&mut other, "stats", "keyspace_misses");
    for k in &keys {
        c.cmd(&["GET", k]);
    }
    assert_eq!(info_u64(&mut other, "stats", "keyspace_hits"), hits + 8);
    assert_eq!(info_u64(&mut other, "stats", "keyspace_misses"), misses + 2);

    // Keys that expire while nobody looks are counted once something finds them gone.
    let expired = info_u64(&mut other, "stats", "expired_keys");
    for k in &keys[4..8] {
        c.cmd(&["PEXPIRE", k, "1"]);
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    for k in &keys[4..8] {
        assert_eq!(c.cmd(&["EXISTS", k]), b":0\r\n");
    }
    assert_eq!(info_u64(&mut other, "stats", "expired_keys"), expired + 4);
    assert_eq!(db0(&mut other), Some((4, 1)));

    // RESETSTAT zeroes the counters, not the sizes.
    assert_eq!(other.cmd(&["CONFIG", "RESETSTAT"]), b"+OK\r\n");
    assert_eq!(info_u64(&mut other, "stats", "keyspace_hits"), 0);
    assert_eq!(info_u64(&mut other, "stats", "expired_keys"), 0);
    assert_eq!(db0(&mut other), Some((4, 1)));
    c.cmd(&["SWAPDB", "0", "1"]);
    assert_eq!(db0(&mut other), None);
    c.cmd(&["FLUSHALL"]);
    let info = String::from_utf8(other.cmd(&["INFO", "keyspace"])).unwrap();
    assert!(!info.contains("db1:"), "{info}");
}
