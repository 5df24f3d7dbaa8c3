//! Real client libraries against busbar: the Rust `redis` crate (sync API, default
//! settings, RESP2 and RESP3) and redis-py with its defaults (RESP3 via HELLO 3); from
//! Python, unchanged: RQ (lists as job queues), redis-py's consumer-group API and
//! FastStream's stream subscribers (scripts in tests/clients/).
//!
//! With two shards, keys `a` and `b` live on different shards, so MGET/MSET/DEL over both
//! exercise the split-and-gather path.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redis::{Commands, Connection, ExistenceCheck, SetExpiry, SetOptions, Value};

fn connect(url: &str) -> Connection {
    let client = redis::Client::open(url).expect("client");
    client
        .get_connection_with_timeout(Duration::from_secs(10))
        .expect("connect")
}

#[test]
fn redis_crate_runs_string_commands_across_shards() {
    let srv = busbar(&[]);
    let mut con = connect(&srv.url());
    assert_eq!(
        redis::cmd("PING").query::<String>(&mut con).unwrap(),
        "PONG"
    );
    let _: () = con.set("a", "1").unwrap();
    assert_eq!(con.get::<_, String>("a").unwrap(), "1");
    assert_eq!(con.get::<_, Option<String>>("missing").unwrap(), None);
    assert_eq!(con.incr::<_, _, i64>("a", 41).unwrap(), 42);
    assert_eq!(con.decr::<_, _, i64>("a", 2).unwrap(), 40);
    assert_eq!(con.incr::<_, _, f64>("f", 1.5f64).unwrap(), 1.5);
    assert_eq!(con.append::<_, _, i64>("s", "hello").unwrap(), 5);
    assert_eq!(con.append::<_, _, i64>("s", " world").unwrap(), 11);
    assert_eq!(con.strlen::<_, i64>("s").unwrap(), 11);
    assert_eq!(con.getrange::<_, String>("s", 0, 4).unwrap(), "hello");
    assert_eq!(con.setrange::<_, _, i64>("s", 6, "Redis").unwrap(), 11);
    assert_eq!(con.get::<_, String>("s").unwrap(), "hello Redis");
    assert_eq!(
        con.getset::<_, _, String>("s", "new").unwrap(),
        "hello Redis"
    );
    assert_eq!(con.get_del::<_, String>("s").unwrap(), "new");
    assert!(!con.exists::<_, bool>("s").unwrap());

    let opts = SetOptions::default()
        .conditional_set(ExistenceCheck::NX)
        .with_expiration(SetExpiry::EX(100));
    assert!(con.set_options::<_, _, bool>("opt", "v", opts).unwrap());
    assert!(!con.set_options::<_, _, bool>("opt", "w", opts).unwrap());
    let ttl: i64 = con.ttl("opt").unwrap();
    assert!((99..=100).contains(&ttl), "{ttl}");
    assert!(con.persist::<_, bool>("opt").unwrap());
    assert_eq!(con.ttl::<_, i64>("opt").unwrap(), -1);
    assert!(con.expire_at::<_, bool>("opt", 4_102_444_800).unwrap());
    assert_eq!(
        redis::cmd("EXPIRETIME")
            .arg("opt")
            .query::<i64>(&mut con)
            .unwrap(),
        4_102_444_800
    );
    assert!(con.pexpire::<_, bool>("opt", 100_000).unwrap());
    let pttl: i64 = con.pttl("opt").unwrap();
    assert!((90_000..=100_000).contains(&pttl), "{pttl}");

    // Binary-safe values and keys.
    let bin: Vec<u8> = (0..=255u8).collect();
    let _: () = con.set(&b"k\x00\r\n"[..], &bin[..]).unwrap();
    assert_eq!(con.get::<_, Vec<u8>>(&b"k\x00\r\n"[..]).unwrap(), bin);

    // An error reply comes back as an error, and the connection stays usable.
    let _: () = con.set("text", "abc").unwrap();
    let err = con.incr::<_, _, i64>("text", 1).unwrap_err();
    assert!(err.to_string().contains("not an integer"), "{err}");
    assert_eq!(
        redis::cmd("PING").query::<String>(&mut con).unwrap(),
        "PONG"
    );
}

#[test]
fn redis_crate_mset_and_mget_span_shards() {
    let srv = busbar(&[]);
    let mut con = connect(&srv.url());
    let pairs: Vec<(String, String)> = (0..200)
        .map(|i| (format!("key:{i}"), format!("value:{i}")))
        .collect();
    let _: () = con.mset(&pairs).unwrap();
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    let values: Vec<String> = con.mget(&keys).unwrap();
    assert_eq!(
        values,
        pairs.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>()
    );
    let mixed: Vec<Option<String>> = con.mget(&["key:1", "missing", "key:0", "key:1"]).unwrap();
    assert_eq!(
        mixed,
        [
            Some("value:1".into()),
            None,
            Some("value:0".into()),
            Some("value:1".into())
        ]
    );

    let _: () = con.mset(&[("a", "1"), ("b", "2")]).unwrap();
    assert_eq!(con.mget::<_, Vec<String>>(&["b", "a"]).unwrap(), ["2", "1"]);
    assert!(!con
        .mset_nx::<_, _, bool>(&[("a", "x"), ("c", "3")])
        .unwrap());
    assert!(!con.exists::<_, bool>("c").unwrap());
    assert!(con
        .mset_nx::<_, _, bool>(&[("c", "3"), ("d", "4")])
        .unwrap());
    assert_eq!(
        con.exists::<_, i64>(&["a", "b", "c", "d", "missing"])
            .unwrap(),
        4
    );
    assert_eq!(
        con.del::<_, i64>(&["a", "b", "c", "d", "missing"]).unwrap(),
        4
    );
    assert_eq!(con.unlink::<_, i64>(&keys).unwrap(), 200);
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut con).unwrap(), 0);
}

#[test]
fn redis_crate_scan_iterates_every_key_once() {
    let srv = busbar(&[]);
    let mut con = connect(&srv.url());
    let keys: Vec<String> = (0..1000).map(|i| format!("scan:{i}")).collect();
    let pairs: Vec<(&str, i32)> = keys.iter().map(|k| (k.as_str(), 1)).collect();
    let _: () = con.mset(&pairs).unwrap();
    let _: () = con.set("other", 1).unwrap();

    let seen: Vec<String> = con.scan().unwrap().collect();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "SCAN returned a key twice");
    assert_eq!(seen.len(), 1001);

    let matched: HashSet<String> = con.scan_match("scan:1*").unwrap().collect();
    let expected: HashSet<String> = keys
        .iter()
        .filter(|k| k.starts_with("scan:1"))
        .cloned()
        .collect();
    assert_eq!(matched, expected);

    // Manual iteration with a small COUNT, as clients without an iterator do it.
    let mut cursor = 0u64;
    let mut manual = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(3)
            .query(&mut con)
            .unwrap();
        manual.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(manual.len(), 1001);
    assert_eq!(manual.iter().collect::<HashSet<_>>().len(), 1001);

    let mut all_keys: Vec<String> = con.keys("scan:*").unwrap();
    all_keys.sort();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(all_keys, sorted);
    let random: String = redis::cmd("RANDOMKEY").query(&mut con).unwrap();
    assert!(random == "other" || keys.contains(&random), "{random}");
}

#[test]
fn redis_crate_pipelines_across_shards_in_order() {
    let srv = busbar(&[]);
    let mut con = connect(&srv.url());
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.set(format!("p:{i}"), i).ignore();
        pipe.incr(format!("p:{i}"), 1);
        pipe.get(format!("p:{i}"));
    }
    let out: Vec<(i64, i64)> = pipe.query(&mut con).unwrap();
    for (i, (incr, get)) in out.into_iter().enumerate() {
        assert_eq!((incr, get), (i as i64 + 1, i as i64 + 1));
    }
}

#[test]
fn redis_crate_server_and_connection_commands() {
    let srv = busbar(&[]);
    let mut con = connect(&format!("{}3", srv.url()));
    // The database in the URL was selected.
    let _: () = con.set("in-db3", 1).unwrap();
    let mut db0 = connect(&srv.url());
    assert!(!db0.exists::<_, bool>("in-db3").unwrap());

    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("tester")
        .query(&mut con)
        .unwrap();
    let name: String = redis::cmd("CLIENT").arg("GETNAME").query(&mut con).unwrap();
    assert_eq!(name, "tester");
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut con).unwrap();
    assert!(id > 0);
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    assert!(list.contains("name=tester"), "{list}");

    let cfg: HashMap<String, String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .arg("databases")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        cfg.get("maxmemory-policy").map(String::as_str),
        Some("noeviction")
    );
    assert_eq!(cfg.get("databases").map(String::as_str), Some("16"));

    let info: redis::InfoDict = redis::cmd("INFO").query(&mut con).unwrap();
    assert!(info.get::<String>("redis_version").is_some());
    assert!(info.get::<i64>("connected_clients").unwrap() >= 2);
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query(&mut con).unwrap();
    assert!(secs > 1_600_000_000 && micros < 1_000_000);

    let _: () = con.set("{t}a", "v").unwrap();
    let _: () = con.rename("{t}a", "{t}b").unwrap();
    assert_eq!(con.get::<_, String>("{t}b").unwrap(), "v");
    assert_eq!(
        redis::cmd("TYPE")
            .arg("{t}b")
            .query::<String>(&mut con)
            .unwrap(),
        "string"
    );
    assert_eq!(
        redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg("in-db3")
            .query::<String>(&mut con)
            .unwrap(),
        "int"
    );
    let _: () = redis::cmd("FLUSHDB").query(&mut con).unwrap();
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut con).unwrap(), 0);
}

#[test]
fn redis_crate_speaks_resp3() {
    let srv = busbar(&[]);
    let mut con = connect(&format!("{}?protocol=resp3", srv.url()));
    let _: () = con.mset(&[("a", "1"), ("b", "2")]).unwrap();
    assert_eq!(
        con.mget::<_, Vec<Option<String>>>(&["a", "b", "c"])
            .unwrap(),
        [Some("1".into()), Some("2".into()), None]
    );
    // Maps come back as RESP3 maps.
    let cfg = redis::cmd("CONFIG")
        .arg("GET")
        .arg("databases")
        .query::<Value>(&mut con)
        .unwrap();
    assert!(matches!(cfg, Value::Map(ref m) if m.len() == 1), "{cfg:?}");
    let hello = redis::cmd("HELLO").arg(3).query::<Value>(&mut con).unwrap();
    let Value::Map(fields) = hello else {
        panic!("HELLO 3 is a map: {hello:?}")
    };
    let proto = fields
        .iter()
        .find(|(k, _)| *k == Value::BulkString(b"proto".to_vec()));
    assert_eq!(proto.map(|(_, v)| v.clone()), Some(Value::Int(3)));
    assert_eq!(con.get::<_, Option<String>>("missing").unwrap(), None);
    let seen: HashSet<String> = con.scan().unwrap().collect();
    assert_eq!(seen, HashSet::from(["a".to_string(), "b".to_string()]));
}

#[test]
fn redis_crate_authenticates_with_requirepass() {
    let srv = busbar(&["--requirepass", "secret"]);
    let url = format!("redis://:secret@127.0.0.1:{}/", srv.port);
    let mut con = connect(&url);
    let _: () = con.set("a", 1).unwrap();
    assert_eq!(con.get::<_, i64>("a").unwrap(), 1);
    let mut resp3 = connect(&format!("{url}?protocol=resp3"));
    assert_eq!(resp3.get::<_, i64>("a").unwrap(), 1);

    let wrong = redis::Client::open(format!("redis://:wrong@127.0.0.1:{}/", srv.port)).unwrap();
    let err = wrong
        .get_connection()
        .err()
        .expect("a wrong password is refused");
    assert_eq!(err.kind(), redis::ErrorKind::AuthenticationFailed, "{err}");
    let none = redis::Client::open(srv.url()).unwrap();
    let mut anon = none.get_connection().unwrap();
    let err = anon.get::<_, i64>("a").unwrap_err();
    assert!(
        err.to_string().contains("NOAUTH") || err.code() == Some("NOAUTH"),
        "{err}"
    );
}

/// Whether python3 can import `module`; without it the test is skipped (or fails in CI).
fn have_python_module(module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        if tools_required() {
            panic!(
                "python3 with {module} is required (BUSBAR_REQUIRE_TOOLS=1): pip install {module}"
            );
        }
        eprintln!("SKIPPED: python3 with {module} is not installed (pip install {module})");
    }
    ok
}

#[test]
fn redis_py_with_default_settings_works() {
    if !have_python_module("redis") {
        return;
    }
    let srv = busbar(&[]);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/redis_py_smoke.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .arg(srv.port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK"),
        "redis-py smoke failed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn rq_worker_processes_a_thousand_jobs() {
    // A real job queue library, unchanged: RQ keeps jobs in lists and hashes, its
    // registries in sorted sets, and results in streams; the worker blocks on its queues.
    if !have_python_module("rq") {
        return;
    }
    let srv = busbar(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/rq_smoke.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(srv.port.to_string())
        .arg("1000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    // Drain both pipes while it runs, so a chatty worker never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(300);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = child.wait().unwrap();
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    assert!(
        status.success() && stdout.contains("OK 1000 jobs"),
        "RQ smoke failed:\n{stdout}\n{}",
        tail.join("\n")
    );
}

/// Runs `tests/clients/<script>` with `args`, killing it after `limit`; returns whether it
/// exited 0, its stdout, and the last lines of its stderr. Both pipes are drained while
/// it runs, so a chatty script never blocks on a full pipe.
fn run_python(script: &str, args: &[String], limit: Duration) -> (bool, String, String) {
    let path = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("python3")
        .arg(path)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = child.wait().unwrap();
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    (status.success(), stdout, tail.join("\n"))
}

/// The script's arguments: busbar's port and two hash tags whose keys live on different
/// shards of two (with one shard they share it, which the scripts do not mind).
fn stream_script_args(srv: &Proc) -> Vec<String> {
    let (a, b) = keys_on_two_shards("t", 2);
    vec![srv.port.to_string(), a, b]
}

#[test]
fn redis_py_stream_consumer_groups_work() {
    // redis-py's consumer-group API, sync and asyncio over RESP3 and RESP2, then four
    // consumers over 2000 entries where one dies holding a batch and XAUTOCLAIM takes it
    // over: every entry is acknowledged exactly once. Two shards, then one.
    if !have_python_module("redis") {
        return;
    }
    for args in [&[][..], &["--threads", "1"][..]] {
        let srv = busbar(args);
        let (ok, stdout, stderr) = run_python(
            "redis_py_streams.py",
            &stream_script_args(&srv),
            Duration::from_secs(120),
        );
        assert!(
            ok && stdout.contains("OK"),
            "redis-py streams failed (busbar {args:?}):\n{stdout}\n{stderr}"
        );
    }
}

#[test]
fn faststream_consumer_groups_process_a_thousand_messages() {
    // FastStream, unchanged: stream subscribers in consumer groups (two consumers sharing
    // a group, one batch subscriber on a stream of another shard) handle 1000 published
    // messages each, and a `min_idle_time` subscriber claims (XAUTOCLAIM) 200 entries a
    // dead consumer left pending: none lost or repeated, nothing left pending.
    if !have_python_module("faststream") {
        return;
    }
    for args in [&[][..], &["--threads", "1"][..]] {
        let srv = busbar(args);
        let (ok, stdout, stderr) = run_python(
            "faststream_streams.py",
            &stream_script_args(&srv),
            Duration::from_secs(120),
        );
        assert!(
            ok && stdout.contains("OK 1000 messages"),
            "FastStream streams failed (busbar {args:?}):\n{stdout}\n{stderr}"
        );
    }
}
