//! RDB snapshots: SAVE writes one `dump.rdb` from every shard that redis-check-rdb accepts
//! and redis-server 7.0 loads with the same data; busbar loads a file redis-server wrote;
//! SHUTDOWN saves when save points are configured (or SAVE is given) and not with
//! NOSAVE; a restart loads what was saved; a corrupt file stops startup.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

use std::path::Path;

/// Keys of every type, in two databases, spread over the shards.
fn fill(c: &mut Raw) {
    let mut cmds: Vec<Vec<String>> = Vec::new();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    for i in 0..50 {
        let k = |p: &str| format!("{p}:{i}");
        cmds.push(s(&[
            "SET",
            &k("str"),
            &format!("value-{i}-{}", "x".repeat(i)),
        ]));
        cmds.push(s(&["SET", &k("int"), &(i * 1000).to_string()]));
        cmds.push(s(&["RPUSH", &k("list"), "a", "b", &i.to_string()]));
        cmds.push(s(&["HSET", &k("hash"), "f", "v", "n", &i.to_string()]));
        cmds.push(s(&["SADD", &k("ints"), "1", "2", &i.to_string()]));
        cmds.push(s(&["ZADD", &k("zset"), "1.5", "a", &i.to_string(), "b"]));
        cmds.push(s(&["XADD", &k("stream"), "1-1", "f", &i.to_string()]));
    }
    cmds.push(s(&["SET", "with-ttl", "v", "EX", "100000"]));
    cmds.push(s(&["SELECT", "5"]));
    cmds.push(s(&["SET", "in-db-5", "yes"]));
    cmds.push(s(&["SELECT", "0"]));
    for r in pipeline_raw(c, &cmds) {
        assert!(!r.starts_with(b"-"), "{}", show(&r));
    }
}

/// Every key of databases 0 and 5 with its DUMP payload and whether it has a TTL, sorted.
fn snapshot_of(c: &mut Raw) -> Vec<(String, Vec<u8>, bool)> {
    let mut out = Vec::new();
    for db in ["0", "5"] {
        c.cmd(&["SELECT", db]);
        let keys = Resp::from(&c.cmd(&["KEYS", "*"]));
        for k in keys.items() {
            let k = String::from_utf8(k.bytes().unwrap().to_vec()).unwrap();
            let dump = Resp::from(&c.cmd(&["DUMP", &k])).bytes().unwrap().to_vec();
            let ttl = c.cmd(&["PTTL", &k]) != b":-1\r\n";
            out.push((format!("{db}/{k}"), dump, ttl));
        }
    }
    c.cmd(&["SELECT", "0"]);
    out.sort();
    out
}

fn wait_exit(p: &mut Proc) -> Option<i32> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(st)) = p.child.try_wait() {
            return st.code();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

#[test]
fn save_writes_one_file_that_a_restart_loads() {
    let dir = scratch_dir();
    let d = dir.to_str().unwrap();
    let srv = busbar(&["--threads", "2", "--dir", d]);
    let mut c = Raw::connect(srv.port).unwrap();
    fill(&mut c);
    let before = snapshot_of(&mut c);
    assert_eq!(c.cmd(&["SAVE"]), b"+OK\r\n");
    let lastsave = Resp::from(&c.cmd(&["LASTSAVE"]));
    assert!(lastsave.bytes().unwrap() > &b"1700000000"[..]);
    assert_eq!(c.cmd(&["MULTI"]), b"+OK\r\n");
    assert_eq!(
        c.cmd(&["SAVE"]),
        b"-ERR Command not allowed inside a transaction\r\n"
    );
    c.cmd(&["DISCARD"]);
    c.cmd(&["SET", "after", "not saved"]);
    drop(c);
    drop(srv);
    assert!(dir.join("dump.rdb").is_file());
    if have_tool("redis-check-rdb") {
        let out = std::process::Command::new("redis-check-rdb")
            .arg(dir.join("dump.rdb"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("RDB looks OK"), "{text}");
    }
    let srv = busbar(&["--threads", "2", "--dir", d]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(snapshot_of(&mut c), before);
    assert!(
        srv.startup_log
            .iter()
            .any(|l| l.contains("keys loaded: 352")),
        "{:?}",
        srv.startup_log
    );
    let info = show(&c.cmd(&["INFO", "persistence"]));
    assert!(info.contains("rdb_last_load_keys_loaded:352"), "{info}");
    assert!(info.contains("rdb_last_load_keys_expired:0"), "{info}");
    drop(srv);
    // One shard reads what two wrote.
    let srv = busbar(&["--threads", "1", "--dir", d]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(snapshot_of(&mut c), before);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_server_and_busbar_load_each_others_files() {
    let Some(_probe) = redis_server(&[]) else {
        return;
    };
    // busbar → redis-server.
    let dir = scratch_dir();
    let d = dir.to_str().unwrap();
    let srv = busbar(&["--threads", "2", "--dir", d]);
    let mut c = Raw::connect(srv.port).unwrap();
    fill(&mut c);
    let want = snapshot_of(&mut c);
    assert_eq!(c.cmd(&["SAVE"]), b"+OK\r\n");
    drop(srv);
    let redis = redis_server(&["--dir", d]).unwrap();
    let mut r = Raw::connect(redis.port).unwrap();
    assert_eq!(
        snapshot_of(&mut r),
        want,
        "redis-server loading busbar's file"
    );
    // redis-server → busbar: its own file, over busbar's.
    std::fs::remove_file(dir.join("dump.rdb")).unwrap();
    assert_eq!(r.cmd(&["SAVE"]), b"+OK\r\n");
    drop(redis);
    let srv = busbar(&["--threads", "2", "--dir", d]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(
        snapshot_of(&mut c),
        want,
        "busbar loading redis-server's file"
    );
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_saves_by_its_options_and_the_save_points() {
    let dir = scratch_dir();
    let d = dir.to_str().unwrap();
    let file = dir.join("dump.rdb");
    // Save points configured: SHUTDOWN saves; NOSAVE does not.
    let mut srv = busbar(&["--dir", d, "--save", "3600", "1"]);
    Raw::connect(srv.port).unwrap().cmd(&["SET", "k", "first"]);
    Raw::connect(srv.port)
        .unwrap()
        .send(&Raw::encode(&[b"SHUTDOWN"]));
    assert_eq!(wait_exit(&mut srv), Some(0));
    assert!(file.is_file());
    let mut srv = busbar(&["--dir", d, "--save", "3600", "1"]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(c.cmd(&["GET", "k"]), b"$5\r\nfirst\r\n");
    c.cmd(&["SET", "k", "second"]);
    c.send(&Raw::encode(&[b"SHUTDOWN", b"NOSAVE"]));
    assert_eq!(wait_exit(&mut srv), Some(0));
    // No save points: SIGTERM does not save, SHUTDOWN SAVE does.
    let mut srv = busbar(&["--dir", d]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(c.cmd(&["GET", "k"]), b"$5\r\nfirst\r\n");
    c.cmd(&["SET", "k", "third"]);
    assert_eq!(srv.terminate(), Some(0));
    let mut srv = busbar(&["--dir", d]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(c.cmd(&["GET", "k"]), b"$5\r\nfirst\r\n");
    c.cmd(&["SET", "k", "fourth"]);
    c.send(&Raw::encode(&[b"SHUTDOWN", b"SAVE"]));
    assert_eq!(wait_exit(&mut srv), Some(0));
    let srv = busbar(&["--dir", d]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(c.cmd(&["GET", "k"]), b"$6\r\nfourth\r\n");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_file_stops_startup_with_a_message() {
    let dir = scratch_dir();
    let srv = busbar(&["--dir", dir.to_str().unwrap()]);
    let mut c = Raw::connect(srv.port).unwrap();
    c.cmd(&["SET", "k", "v"]);
    c.cmd(&["SAVE"]);
    drop(srv);
    let path = dir.join("dump.rdb");
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_busbar"))
        .args(["--port", "0", "--bind", "127.0.0.1", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("Wrong RDB checksum"), "{log}");
    assert!(Path::new(&path).is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

/// RSS of process `pid` in kB.
fn rss_kb(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// BGSAVE while 50 clients write: the file is the keyspace as it was when BGSAVE
/// replied — keys changed or deleted after it have their old values, keys created after
/// it are missing, a counter pair moved by MULTI/EXEC across shards is never half moved —
/// the server's memory stays within 1.2× of what it was, and redis-server loads the file.
#[test]
fn bgsave_under_writes_is_one_point_in_time() {
    const KEYS: usize = 60_000;
    let dir = scratch_dir();
    let d = dir.to_str().unwrap();
    let srv = busbar(&["--threads", "2", "--dir", d]);
    let mut c = Raw::connect(srv.port).unwrap();
    let (x, y) = keys_on_two_shards("pair", 2);
    let value = "v".repeat(200);
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(1000) {
        let mut cmd = vec!["MSET".to_string()];
        for i in chunk {
            cmd.push(format!("k{i}"));
            cmd.push(format!("{value}{i}"));
        }
        pipeline_raw(&mut c, &[cmd]);
    }
    let rss_before = rss_kb(srv.pid());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..50 {
        let (stop, started) = (stop.clone(), started.clone());
        let (x, y, port) = (x.clone(), y.clone(), srv.port);
        writers.push(std::thread::spawn(move || {
            let mut c = Raw::connect(port).unwrap();
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if w < 10 {
                    // Transactions across shards, before and during the save.
                    let tx = [
                        Raw::encode(&[b"MULTI"]),
                        Raw::encode(&[b"INCR", x.as_bytes()]),
                        Raw::encode(&[b"INCR", y.as_bytes()]),
                        Raw::encode(&[b"EXEC"]),
                    ]
                    .concat();
                    c.send(&tx);
                    c.read_replies(4);
                } else if started.load(std::sync::atomic::Ordering::Acquire) {
                    // After BGSAVE replied: change, delete and create keys.
                    let i = (w * 7919 + n * 104_729) % KEYS;
                    let k = format!("k{i}");
                    let cmds = [
                        Raw::encode(&[b"SET", k.as_bytes(), b"changed"]),
                        Raw::encode(&[b"DEL", format!("k{}", (i + 1) % KEYS).as_bytes()]),
                        Raw::encode(&[b"SET", format!("new:{w}:{n}").as_bytes(), b"x"]),
                    ]
                    .concat();
                    c.send(&cmds);
                    c.read_replies(3);
                } else {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                n += 1;
            }
        }));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(c.cmd(&["BGSAVE"]), b"+Background saving started\r\n");
    started.store(true, std::sync::atomic::Ordering::Release);
    let mut peak = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        peak = peak.max(rss_kb(srv.pid()));
        let info = show(&c.cmd(&["INFO", "persistence"]));
        if info.contains("rdb_bgsave_in_progress:0") {
            assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "BGSAVE never ended");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert!(
        peak as f64 <= rss_before as f64 * 1.2,
        "RSS {peak} kB during the save, {rss_before} kB before"
    );
    // The file holds the keyspace at BGSAVE's reply.
    drop(c);
    drop(srv);
    let Some(redis) = redis_server(&["--dir", d]) else {
        return;
    };
    let mut r = Raw::connect(redis.port).unwrap();
    assert_eq!(
        r.cmd(&["DBSIZE"]),
        format!(":{}\r\n", KEYS + 2).into_bytes(),
        "keys created after the start are not in it"
    );
    for i in (0..KEYS).step_by(97) {
        let want = format!("{value}{i}");
        assert_eq!(
            r.cmd(&["GET", &format!("k{i}")]),
            format!("${}\r\n{want}\r\n", want.len()).into_bytes()
        );
    }
    assert_eq!(
        r.cmd(&["GET", &x]),
        r.cmd(&["GET", &y]),
        "a transaction half in it"
    );
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}
