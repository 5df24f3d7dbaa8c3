//! The append-only file: with `appendonly yes` every write survives kill -9 (with
//! `appendfsync always`, every acknowledged one), commands whose replay would differ are
//! logged as their effects, a torn tail is cut off and a damaged middle stops startup,
//! logs load at another shard count, CONFIG SET appendonly starts a log at run time,
//! BGREWRITEAOF starts a fresh base while writes go on (and a kill in the middle of it
//! loses nothing), and an AOF directory redis-server wrote loads.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A server logging to `dir` with `appendfsync` `fsync` (and more `args`).
fn start(dir: &Path, fsync: &str, args: &[&str]) -> Proc {
    let d = dir.to_str().unwrap();
    let mut all = vec!["--dir", d, "--appendonly", "yes", "--appendfsync", fsync];
    all.extend_from_slice(args);
    busbar(&all)
}

/// Kills the server with SIGKILL and waits for it.
fn kill9(mut p: Proc) {
    p.child.kill().unwrap();
    p.child.wait().unwrap();
}

/// Runs `cmds` pipelined; every reply must be a success.
fn run(c: &mut Raw, cmds: &[&[&str]]) -> Vec<Vec<u8>> {
    let owned: Vec<Vec<String>> = cmds
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    let replies = pipeline_raw(c, &owned);
    for (cmd, r) in cmds.iter().zip(&replies) {
        assert!(!r.starts_with(b"-"), "{cmd:?}: {}", show(r));
    }
    replies
}

/// Everything a client can see of databases `dbs`, idle times left out: each key's type,
/// its absolute expiry and its DUMP payload; for a stream its entries, its XINFO STREAM
/// header, and per group its XINFO line, its PEL (owner and delivery count) and its
/// consumers with their pending counts.
fn state(c: &mut Raw, dbs: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for db in dbs {
        c.cmd(&["SELECT", db]);
        let mut keys: Vec<String> = Resp::from(&c.cmd(&["KEYS", "*"]))
            .items()
            .iter()
            .map(|k| String::from_utf8(k.bytes().unwrap().to_vec()).unwrap())
            .collect();
        keys.sort();
        for k in keys {
            let ty = show(&c.cmd(&["TYPE", &k]));
            let at = show(&c.cmd(&["PEXPIRETIME", &k]));
            let body = if ty.contains("stream") {
                stream_state(c, &k)
            } else {
                show(&c.cmd(&["DUMP", &k]))
            };
            out.push(format!("{db}/{k} {ty} {at} {body}"));
        }
    }
    c.cmd(&["SELECT", "0"]);
    out
}

fn stream_state(c: &mut Raw, k: &str) -> String {
    let mut s = show(&c.cmd(&["XRANGE", k, "-", "+"]));
    let info = Resp::from(&c.cmd(&["XINFO", "STREAM", k]));
    // Field/value pairs; the entry fields repeat XRANGE, the rest is the header.
    for pair in info.items().chunks(2) {
        s.push_str(&format!(" {}", show(&pair[0].encode())));
        s.push_str(&show(&pair[1].encode()));
    }
    let groups = Resp::from(&c.cmd(&["XINFO", "GROUPS", k]));
    for g in groups.items() {
        s.push_str(&format!(" group {}", show(&g.encode())));
        let name = g.items()[1].bytes().unwrap().to_vec();
        let name = String::from_utf8(name).unwrap();
        let pel = Resp::from(&c.cmd(&["XPENDING", k, &name, "-", "+", "1000"]));
        for p in pel.items() {
            let it = p.items();
            // id, consumer, (idle), delivery count
            s.push_str(&format!(
                " pel {} {} {}",
                show(&it[0].encode()),
                show(&it[1].encode()),
                show(&it[3].encode())
            ));
        }
        let consumers = Resp::from(&c.cmd(&["XINFO", "CONSUMERS", k, &name]));
        for cons in consumers.items() {
            let it = cons.items();
            s.push_str(&format!(
                " consumer {} pending {}",
                show(&it[1].encode()),
                show(&it[3].encode())
            ));
        }
    }
    s
}

/// Keys on shard `shard` of 2, by prefix.
fn on(prefix: &str, shard: usize) -> String {
    key_on(prefix, shard, 2)
}

/// The incr files in the AOF directory under `dir`.
fn incr_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_kind_of_write_replays_to_the_same_data_after_kill_9() {
    let dir = scratch_dir();
    let p = start(&dir, "always", &[]);
    let mut c = Raw::connect(p.port).unwrap();
    let (l0, l1) = (on("list", 0), on("list", 1));
    let (s0, s1) = (on("set", 0), on("set", 1));
    let (r0, r1) = (on("ren", 0), on("ren", 1));
    let (x0, x1) = (on("cnt", 0), on("cnt", 1));
    run(
        &mut c,
        &[
            &["SET", "plain", "v"],
            &["SET", "ttl-ex", "v", "EX", "1000"],
            &["SET", "ttl-px", "v", "PX", "900000", "NX"],
            &["SETEX", "setex", "500", "v"],
            &["PSETEX", "psetex", "500000", "v"],
            &["SET", "f", "1.1"],
            &["INCRBYFLOAT", "f", "0.2"],
            &["INCRBYFLOAT", "f", "1e-3"],
            &["HSET", "h", "a", "1", "b", "x"],
            &["HINCRBYFLOAT", "h", "a", "2.5"],
            &["HDEL", "h", "b"],
            &["SET", "e", "v"],
            &["EXPIRE", "e", "700"],
            &["PEXPIRE", "e", "800000", "GT"],
            &["SET", "e2", "v"],
            &["EXPIREAT", "e2", "4000000000"],
            &["SET", "g", "v"],
            &["GETEX", "g", "EX", "600"],
            &["SET", "p", "v", "EX", "100"],
            &["GETEX", "p", "PERSIST"],
            &["SADD", "s", "a", "b", "c", "d", "e", "f", "g", "1", "2"],
            // Random picks the log does not see (its replay draws differently).
            &["RANDOMKEY"],
            &["SRANDMEMBER", "s", "-3"],
            &["SPOP", "s"],
            &["SPOP", "s", "3"],
            &["SADD", "small", "x"],
            &["SPOP", "small", "5"],
            &["RPUSH", &l0, "a", "b", "c", "d"],
            &["LMOVE", &l0, &l1, "LEFT", "RIGHT"],
            &["RPOPLPUSH", &l0, &l1],
            &["BLPOP", &l0, "0"],
            &["BLMOVE", &l1, &l0, "RIGHT", "LEFT", "0"],
            &["LPUSH", "q", "1", "2", "3"],
            &["LTRIM", "q", "0", "1"],
            &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            &["ZINCRBY", "z", "1.5", "a"],
            &["BZPOPMIN", "z", "0"],
            &["SADD", &s0, "m1", "m2"],
            &["SMOVE", &s0, &s1, "m1"],
            &["SET", &r0, "renamed"],
            &["RENAME", &r0, &r1],
            &["COPY", &r1, "copied"],
            &["MSET", &x0, "1", &x1, "1"],
            &["MULTI"],
            &["INCR", &x0],
            &["INCR", &x1],
            &["EXEC"],
            &["APPEND", "plain", "-more"],
            &["SETRANGE", "plain", "2", "XY"],
            &["SET", "gone", "v"],
            &["DEL", "gone"],
            &["SET", "short", "v", "PX", "1"],
            &["SELECT", "5"],
            &["SET", "in5", "five"],
            &["RPUSH", "list5", "x"],
            &["SELECT", "3"],
            &["SET", "flushed", "x"],
            &["FLUSHDB"],
            &["SET", "after-flush", "y"],
            &["SELECT", "0"],
        ],
    );
    // A key whose time ran out, then the same name as another type: its expiry must be
    // in the log before the new value.
    std::thread::sleep(Duration::from_millis(20));
    run(&mut c, &[&["RPUSH", "short", "now-a-list"]]);
    // Streams and consumer groups.
    run(
        &mut c,
        &[
            &["XADD", "st", "*", "n", "1"],
            &["XADD", "st", "*", "n", "2"],
            &["XGROUP", "CREATE", "st", "g", "0"],
            &["XGROUP", "CREATE", "st", "late", "$"],
            &["XADD", "st", "MAXLEN", "~", "100", "*", "n", "3"],
            &["XADD", "st", "*", "n", "4"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "alice",
                "COUNT",
                "2",
                "STREAMS",
                "st",
                ">",
            ],
            &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "st", ">"],
            &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "st", "0"],
            &[
                "XREADGROUP",
                "GROUP",
                "late",
                "carol",
                "NOACK",
                "STREAMS",
                "st",
                ">",
            ],
            &["XGROUP", "CREATECONSUMER", "st", "g", "dave"],
            &["XAUTOCLAIM", "st", "g", "dave", "0", "0", "COUNT", "1"],
            &["XTRIM", "st", "MAXLEN", "=", "3"],
            &["XADD", "big", "MAXLEN", "5", "1-1", "a", "1"],
        ],
    );
    let ids: Vec<String> = (2..30).map(|i| format!("{i}-1")).collect();
    for id in &ids {
        run(
            &mut c,
            &[&["XADD", "big", "MAXLEN", "~", "5", id, "a", "1"]],
        );
    }
    let pel = Resp::from(&c.cmd(&["XPENDING", "st", "g", "-", "+", "10", "bob"]));
    let bob_id = String::from_utf8(pel.items()[0].items()[0].bytes().unwrap().to_vec()).unwrap();
    run(
        &mut c,
        &[
            &[
                "XCLAIM",
                "st",
                "g",
                "alice",
                "0",
                &bob_id,
                "RETRYCOUNT",
                "7",
            ],
            &["XACK", "st", "g", &bob_id],
            &["XGROUP", "SETID", "st", "late", "$"],
        ],
    );
    // A payload restored with a relative TTL.
    let dump = Resp::from(&c.cmd(&["DUMP", "plain"]))
        .bytes()
        .unwrap()
        .to_vec();
    let mut raw = Raw::encode(&[b"RESTORE", b"restored", b"900000", &dump]);
    c.send(&raw);
    assert_eq!(c.read_reply(), b"+OK\r\n");
    raw.clear();
    // A blocked client served by a push from another connection (and one moved across
    // shards by a blocked BLMOVE).
    let mut w = Raw::connect(p.port).unwrap();
    w.send(&Raw::encode(&[b"BLPOP", b"wake", b"0"]));
    let mut m = Raw::connect(p.port).unwrap();
    let (bsrc, bdst) = (on("bsrc", 1), on("bdst", 0));
    m.send(&Raw::encode(&[
        b"BLMOVE",
        bsrc.as_bytes(),
        bdst.as_bytes(),
        b"LEFT",
        b"RIGHT",
        b"0",
    ]));
    wait_blocked(&mut c, 2);
    run(
        &mut c,
        &[
            &["RPUSH", "wake", "w1", "w2"],
            &["RPUSH", &bsrc, "f1", "f2"],
        ],
    );
    assert!(show(&w.read_reply()).contains("w1"));
    assert!(!m.read_reply().starts_with(b"-"));
    let before = state(&mut c, &["0", "3", "5"]);
    assert!(before
        .iter()
        .any(|l| l.starts_with("0/short") && l.contains("list")));
    kill9(p);
    let p = start(&dir, "always", &[]);
    let mut c = Raw::connect(p.port).unwrap();
    let after = state(&mut c, &["0", "3", "5"]);
    assert_eq!(after, before);
    drop(p);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_torn_last_command_is_cut_off_and_only_it_is_lost() {
    let dir = scratch_dir();
    let key = on("k", 0);
    let p = start(&dir, "always", &[]);
    let mut c = Raw::connect(p.port).unwrap();
    for i in 0..20 {
        run(&mut c, &[&["SET", &format!("{key}:{i}"), &i.to_string()]]);
    }
    kill9(p);
    // The file holding the last SET: its record is the file's last.
    let last = format!("{key}:19");
    let file = incr_files(&dir)
        .into_iter()
        .find(|f| {
            let d = std::fs::read(f).unwrap();
            d.windows(last.len()).any(|w| w == last.as_bytes())
        })
        .unwrap();
    let whole = std::fs::read(&file).unwrap();
    let start_of_last = whole
        .windows(last.len())
        .position(|w| w == last.as_bytes())
        .unwrap();
    // The record starts at its `*3` before the key.
    let record = whole[..start_of_last]
        .iter()
        .rposition(|&b| b == b'*')
        .unwrap();
    for cut in [record + 1, record + 4, start_of_last + 2, whole.len() - 1] {
        let trial = scratch_dir();
        copy_dir(&dir, &trial);
        let f = trial.join("appendonlydir").join(file.file_name().unwrap());
        std::fs::write(&f, &whole[..cut]).unwrap();
        let log = trial.join("server.log");
        let d = trial.to_str().unwrap();
        let p = busbar_logged(
            env!("CARGO_BIN_EXE_busbar"),
            &["--dir", d, "--appendonly", "yes"],
            Some(&log),
        );
        let mut c = Raw::connect(p.port).unwrap();
        for i in 0..19 {
            let got = c.cmd(&["GET", &format!("{key}:{i}")]);
            assert_eq!(
                got,
                format!("${}\r\n{i}\r\n", i.to_string().len()).into_bytes()
            );
        }
        assert_eq!(c.cmd(&["GET", &last]), b"$-1\r\n", "cut at {cut}");
        // The file was truncated to its last whole command: it logs on from there.
        assert_eq!(std::fs::metadata(&f).unwrap().len(), record as u64);
        run(&mut c, &[&["SET", &last, "again"]]);
        drop(c);
        kill9(p);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("short read"), "{text}");
        let p = busbar(&["--dir", d, "--appendonly", "yes"]);
        let mut c = Raw::connect(p.port).unwrap();
        assert_eq!(c.cmd(&["GET", &last]), b"$5\r\nagain\r\n");
        drop(p);
        let _ = std::fs::remove_dir_all(&trial);
    }
    // With aof-load-truncated off, the torn file stops startup instead.
    let trial = scratch_dir();
    copy_dir(&dir, &trial);
    let f = trial.join("appendonlydir").join(file.file_name().unwrap());
    std::fs::write(&f, &whole[..record + 3]).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_busbar"))
        .args(["--port", "0", "--dir", trial.to_str().unwrap()])
        .args(["--appendonly", "yes", "--aof-load-truncated", "no"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Unexpected end of file"), "{text}");
    assert!(
        text.contains(&*file.file_name().unwrap().to_string_lossy()),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&trial);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damage_before_the_end_stops_startup_naming_the_file_and_offset() {
    let dir = scratch_dir();
    let p = start(&dir, "always", &[]);
    let mut c = Raw::connect(p.port).unwrap();
    let key = on("d", 1);
    for i in 0..5 {
        run(&mut c, &[&["SET", &format!("{key}:{i}"), "v"]]);
    }
    kill9(p);
    let needle = format!("{key}:2");
    let file = incr_files(&dir)
        .into_iter()
        .find(|f| {
            let d = std::fs::read(f).unwrap();
            d.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .unwrap();
    let mut data = std::fs::read(&file).unwrap();
    let at = data
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap();
    let record = data[..at].iter().rposition(|&b| b == b'*').unwrap();
    data[record] = b'#';
    std::fs::write(&file, &data).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_busbar"))
        .args([
            "--port",
            "0",
            "--dir",
            dir.to_str().unwrap(),
            "--appendonly",
            "yes",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Bad file format"), "{text}");
    assert!(text.contains(&format!("at offset {record}")), "{text}");
    assert!(
        text.contains(&*file.file_name().unwrap().to_string_lossy()),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_set_appendonly_starts_a_log_that_holds_the_data_before_it() {
    let dir = scratch_dir();
    let d = dir.to_str().unwrap();
    let p = busbar(&["--dir", d]);
    let mut c = Raw::connect(p.port).unwrap();
    run(
        &mut c,
        &[&["SET", "before", "1"], &["RPUSH", "l", "a", "b"]],
    );
    run(&mut c, &[&["CONFIG", "SET", "appendonly", "yes"]]);
    // Every shard starts its log at its next cron.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !show(&c.cmd(&["INFO", "persistence"])).contains("aof_enabled:1") {
        assert!(Instant::now() < deadline, "the log did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    run(&mut c, &[&["SET", "after", "2"], &["LPOP", "l"]]);
    let before = state(&mut c, &["0"]);
    kill9(p);
    let p = busbar(&["--dir", d, "--appendonly", "yes"]);
    let mut c = Raw::connect(p.port).unwrap();
    assert_eq!(state(&mut c, &["0"]), before);
    assert_eq!(c.cmd(&["LRANGE", "l", "0", "-1"]), b"*1\r\n$1\r\nb\r\n");
    drop(p);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn logs_load_at_another_shard_count_and_bgrewriteaof_starts_fresh_bases() {
    let dir = scratch_dir();
    let d = dir.to_str().unwrap();
    let p = start(&dir, "everysec", &["--threads", "2"]);
    let mut c = Raw::connect(p.port).unwrap();
    for i in 0..200 {
        run(
            &mut c,
            &[
                &["SET", &format!("k{i}"), &i.to_string()],
                &["RPUSH", &format!("l{}", i % 7), &i.to_string()],
            ],
        );
    }
    let before = state(&mut c, &["0"]);
    assert_eq!(
        c.cmd(&["BGREWRITEAOF"]),
        b"+Background append only file rewriting started\r\n"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = show(&c.cmd(&["INFO", "persistence"]));
        if info.contains("aof_rewrites:1") && info.contains("aof_rewrite_scheduled:0") {
            break;
        }
        assert!(Instant::now() < deadline, "no rewrite: {info}");
        std::thread::sleep(Duration::from_millis(10));
    }
    run(&mut c, &[&["SET", "after-rewrite", "x"]]);
    let mut before_all = state(&mut c, &["0"]);
    drop(c);
    // A graceful stop (everysec fsyncs at exit).
    let mut p = p;
    c = Raw::connect(p.port).unwrap();
    c.send(&Raw::encode(&[b"SHUTDOWN", b"NOSAVE"]));
    let _ = p.child.wait();
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert!(manifest.contains("seq 2 type b shard 0"), "{manifest}");
    assert!(manifest.contains("seq 2 type i shard 1"), "{manifest}");
    for threads in ["1", "3"] {
        let p = busbar(&["--dir", d, "--appendonly", "yes", "--threads", threads]);
        let mut c = Raw::connect(p.port).unwrap();
        assert_eq!(state(&mut c, &["0"]), before_all, "at {threads} shards");
        run(&mut c, &[&["SET", &format!("at-{threads}"), "y"]]);
        before_all = state(&mut c, &["0"]);
        kill9(p);
    }
    let m = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert!(m.contains("shard 2") && !m.contains("shard 3"), "{m}");
    assert!(before.len() < before_all.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_aof_directory_written_by_redis_server_loads() {
    let dir = scratch_dir();
    let d = dir.to_str().unwrap();
    let Some(mut r) = redis_server(&["--dir", d, "--appendonly", "yes", "--appendfsync", "always"])
    else {
        return;
    };
    let mut c = Raw::connect(r.port).unwrap();
    run(
        &mut c,
        &[
            &["SET", "a", "1"],
            &["RPUSH", "l", "x", "y", "z"],
            &["HSET", "h", "f", "v"],
            &["ZADD", "z", "1", "m"],
            &["SADD", "s", "1", "2"],
            &["SET", "t", "v", "EX", "100000"],
            &["INCRBYFLOAT", "a", "0.5"],
            &["MULTI"],
            &["LPOP", "l"],
            &["SET", "b", "2"],
            &["EXEC"],
            &["SELECT", "2"],
            &["SET", "two", "2"],
            &["SELECT", "0"],
        ],
    );
    let before = state(&mut c, &["0", "2"]);
    drop(c);
    r.terminate();
    let p = busbar(&["--dir", d, "--appendonly", "yes"]);
    let mut c = Raw::connect(p.port).unwrap();
    assert_eq!(state(&mut c, &["0", "2"]), before);
    drop(p);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Copies the files of `from` (and its AOF directory) into `to`.
fn copy_dir(from: &Path, to: &Path) {
    let aof = to.join("appendonlydir");
    std::fs::create_dir_all(&aof).unwrap();
    for e in std::fs::read_dir(from.join("appendonlydir")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), aof.join(e.file_name())).unwrap();
    }
}

/// Kill -9 under load with `appendfsync always`, 20 times: every acknowledged write is
/// there after the restart — SETs, pushes, stream entries and acknowledgements — no
/// MULTI/EXEC across shards is half applied, and no element moved between shards is in
/// both lists or in neither.
#[test]
fn acknowledged_writes_survive_kill_9_under_load() {
    kill_9_trials("always", 20);
}

/// The same with `everysec`: a killed process loses nothing it acknowledged either,
/// since every turn's records are written (to the kernel) before its replies leave; the
/// second of fsync lag matters only when the machine itself goes down.
#[test]
fn acknowledged_writes_survive_kill_9_with_everysec() {
    kill_9_trials("everysec", 5);
}

fn kill_9_trials(fsync: &str, trials: usize) {
    let dir = scratch_dir();
    let (src, dst) = (on("src", 0), on("dst", 1));
    let (x, y) = (on("x", 0), on("y", 1));
    const ELEMENTS: usize = 2000;
    {
        let p = start(&dir, fsync, &[]);
        let mut c = Raw::connect(p.port).unwrap();
        let mut fill = vec!["RPUSH".to_string(), src.clone()];
        fill.extend((0..ELEMENTS).map(|i| format!("e{i}")));
        let a: Vec<&str> = fill.iter().map(String::as_str).collect();
        run(
            &mut c,
            &[&a, &["XGROUP", "CREATE", "st", "g", "$", "MKSTREAM"]],
        );
        kill9(p);
    }
    let mut acked_sets = 0usize;
    let mut acked_moves = 0usize;
    for trial in 0..trials {
        let p = start(&dir, fsync, &[]);
        let port = p.port;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut workers = Vec::new();
        // Writer: SET and RPUSH with increasing numbers; the last acknowledged one.
        {
            let stop = stop.clone();
            workers.push(std::thread::spawn(move || {
                let mut c = Raw::connect(port).unwrap();
                let mut last = None;
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let k = format!("t{trial}:{i}");
                    let set = Raw::encode(&[b"SET", k.as_bytes(), b"v"]);
                    let push =
                        Raw::encode(&[b"RPUSH", format!("q{trial}").as_bytes(), k.as_bytes()]);
                    c.send(&[set, push].concat());
                    match (c.try_read_reply(), c.try_read_reply()) {
                        (Ok(a), Ok(b)) if a == b"+OK\r\n" && b.starts_with(b":") => last = Some(i),
                        _ => break,
                    }
                }
                ("set", last)
            }));
        }
        // Mover: RPOPLPUSH across shards.
        {
            let stop = stop.clone();
            let (src, dst) = (src.clone(), dst.clone());
            workers.push(std::thread::spawn(move || {
                let mut c = Raw::connect(port).unwrap();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    c.send(&Raw::encode(&[
                        b"RPOPLPUSH",
                        src.as_bytes(),
                        dst.as_bytes(),
                    ]));
                    match c.try_read_reply() {
                        Ok(r) if r.starts_with(b"$") && r != b"$-1\r\n" => n += 1,
                        _ => break,
                    }
                }
                ("move", Some(n))
            }));
        }
        // Transactions over two shards; and stream entries read and acknowledged.
        let fsync = fsync.to_string();
        {
            let stop = stop.clone();
            let (x, y) = (x.clone(), y.clone());
            workers.push(std::thread::spawn(move || {
                let mut c = Raw::connect(port).unwrap();
                let mut n = None;
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let tx = [
                        Raw::encode(&[b"MULTI"]),
                        Raw::encode(&[b"INCR", x.as_bytes()]),
                        Raw::encode(&[b"INCR", y.as_bytes()]),
                        Raw::encode(&[b"EXEC"]),
                    ]
                    .concat();
                    c.send(&tx);
                    let replies: Vec<_> = (0..4).map(|_| c.try_read_reply()).collect();
                    if !replies
                        .iter()
                        .all(|r| r.as_ref().is_ok_and(|r| !r.starts_with(b"-")))
                    {
                        break;
                    }
                    n = Some(i);
                }
                ("tx", n)
            }));
        }
        {
            let stop = stop.clone();
            let fsync = fsync.clone();
            workers.push(std::thread::spawn(move || {
                let mut c = Raw::connect(port).unwrap();
                let mut acked = 0usize;
                let mut log = String::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    c.send(&Raw::encode(&[
                        b"XADD",
                        b"st",
                        b"*",
                        b"trial",
                        trial.to_string().as_bytes(),
                    ]));
                    let Ok(id) = c.try_read_reply() else { break };
                    let Some(id) =
                        Resp::parse(&id).and_then(|(r, _)| r.bytes().map(<[u8]>::to_vec))
                    else {
                        break;
                    };
                    c.send(&Raw::encode(&[
                        b"XREADGROUP",
                        b"GROUP",
                        b"g",
                        b"c",
                        b"COUNT",
                        b"1",
                        b"STREAMS",
                        b"st",
                        b">",
                    ]));
                    if c.try_read_reply().is_err() {
                        break;
                    }
                    c.send(&Raw::encode(&[b"XACK", b"st", b"g", &id]));
                    match c.try_read_reply() {
                        Ok(r) if r == b":1\r\n" => {
                            acked += 1;
                            log.push_str(&String::from_utf8_lossy(&id));
                            log.push(' ');
                        }
                        _ => break,
                    }
                }
                std::fs::write(
                    std::env::temp_dir().join(format!(
                        "busbar-acked-{}-{fsync}-{trial}",
                        std::process::id()
                    )),
                    log,
                )
                .unwrap();
                ("xack", Some(acked))
            }));
        }
        if trial % 3 == 1 {
            // Some trials rewrite the log meanwhile (the kill may land in the middle).
            std::thread::sleep(Duration::from_millis(50));
            let mut c = Raw::connect(port).unwrap();
            assert!(c
                .cmd(&["BGREWRITEAOF"])
                .starts_with(b"+Background append only file rewriting"));
        }
        std::thread::sleep(Duration::from_millis(150 + (trial as u64 * 37) % 300));
        kill9(p);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        let p = start(&dir, &fsync, &[]);
        let mut c = Raw::connect(p.port).unwrap();
        for (what, n) in results {
            match (what, n) {
                ("set", Some(last)) => {
                    acked_sets += last + 1;
                    for i in 0..=last {
                        let k = format!("t{trial}:{i}");
                        assert_eq!(c.cmd(&["EXISTS", &k]), b":1\r\n", "trial {trial}: {k} lost");
                    }
                    let q = Resp::from(&c.cmd(&["LRANGE", &format!("q{trial}"), "0", "-1"]));
                    assert!(q.items().len() > last, "trial {trial}: pushes lost");
                    for (i, item) in q.items().iter().take(last + 1).enumerate() {
                        assert_eq!(item.bytes().unwrap(), format!("t{trial}:{i}").as_bytes());
                    }
                }
                ("move", Some(n)) => acked_moves += n,
                ("tx", Some(_)) | ("xack", _) | (_, None) => {}
                other => panic!("{other:?}"),
            }
        }
        // Moves: every element in exactly one list, and at least the acknowledged
        // moves in the destination.
        let mut all: Vec<Vec<u8>> = Vec::new();
        for k in [&src, &dst] {
            for e in Resp::from(&c.cmd(&["LRANGE", k, "0", "-1"])).items() {
                all.push(e.bytes().unwrap().to_vec());
            }
        }
        let dst_len = Resp::from(&c.cmd(&["LRANGE", &dst, "0", "-1"]))
            .items()
            .len();
        assert!(
            dst_len >= acked_moves,
            "trial {trial}: {dst_len} moved, {acked_moves} acknowledged"
        );
        all.sort();
        let n = all.len();
        all.dedup();
        assert_eq!(
            (all.len(), n),
            (ELEMENTS, ELEMENTS),
            "trial {trial}: elements lost or doubled"
        );
        // Transactions: both counters moved together.
        let (vx, vy) = (c.cmd(&["GET", &x]), c.cmd(&["GET", &y]));
        assert_eq!(
            vx,
            vy,
            "trial {trial}: a transaction half applied ({})",
            dir.display()
        );
        // Acknowledged stream entries are no longer pending.
        let acked = std::fs::read_to_string(std::env::temp_dir().join(format!(
            "busbar-acked-{}-{fsync}-{trial}",
            std::process::id()
        )))
        .unwrap();
        let _ = std::fs::remove_file(std::env::temp_dir().join(format!(
            "busbar-acked-{}-{fsync}-{trial}",
            std::process::id()
        )));
        for id in acked.split_whitespace() {
            let pel = c.cmd(&["XPENDING", "st", "g", id, id, "1"]);
            assert_eq!(
                pel, b"*0\r\n",
                "trial {trial}: acknowledged {id} is pending again"
            );
            let e = c.cmd(&["XRANGE", "st", id, id]);
            assert_ne!(e, b"*0\r\n", "trial {trial}: acknowledged entry {id} lost");
        }
        kill9(p);
    }
    assert!(
        acked_sets > 0 && acked_moves > 0,
        "no load: {acked_sets} {acked_moves}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// While the shards load their logs, a client is answered `-LOADING` (and INFO says
/// `loading:1`); once they are loaded it gets the data.
#[test]
fn clients_get_loading_while_the_logs_load() {
    let dir = scratch_dir();
    let d = dir.to_str().unwrap();
    {
        let p = start(&dir, "no", &[]);
        let mut c = Raw::connect(p.port).unwrap();
        for chunk in 0..100 {
            let cmds: Vec<Vec<String>> = (0..4000)
                .map(|i| vec!["SET".into(), format!("k{chunk}:{i}"), "v".into()])
                .collect();
            pipeline_raw(&mut c, &cmds);
        }
        c.send(&Raw::encode(&[b"SHUTDOWN", b"NOSAVE"]));
        let mut p = p;
        let _ = p.child.wait();
    }
    let port = free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_busbar"))
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--dir", d, "--appendonly", "yes", "--threads", "2"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut saw_loading, mut saw_info) = (false, false);
    loop {
        assert!(Instant::now() < deadline, "never loaded");
        let Ok(mut c) = Raw::connect(port) else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let got = c.cmd(&["GET", "k99:3999"]);
        if got == b"-LOADING Redis is loading the dataset in memory\r\n" {
            saw_loading = true;
            let info = show(&c.cmd(&["INFO", "persistence"]));
            if info.contains("loading:1") {
                saw_info = true;
                for field in [
                    "loading_start_time:",
                    "loading_total_bytes:",
                    "loading_loaded_perc:",
                    "loading_eta_seconds:",
                ] {
                    assert!(info.contains(field), "{field} in {info}");
                }
            }
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        assert_eq!(got, b"$1\r\nv\r\n");
        assert_eq!(c.cmd(&["DBSIZE"]), b":400000\r\n");
        break;
    }
    assert!(saw_loading, "the load ended before a client could see it");
    assert!(saw_info, "INFO never said loading:1");
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
