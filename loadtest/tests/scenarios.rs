//! End to end: each scenario runs briefly against a redis-server on a free port and its
//! verification passes (the stream scenario against busbar too); kv runs against the built-in
//! sink; compare reports a missing busbar; scripts/scaling.py passes its self-test.
//!
//! No timing assertions: only exit codes, verification counts and files. Without
//! redis-server the redis tests print why and pass, unless BUSBAR_REQUIRE_TOOLS=1.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_busbar-load");
/// How long redis-server may take to accept connections.
const SERVER_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A redis-server on a free loopback port, killed by pid on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// Says why a test did nothing, past libtest's output capture (which only takes the
/// print macros), so a skip is visible in a plain `cargo test`.
fn skip(reason: &str) {
    let _ = writeln!(std::io::stderr(), "skipping: {reason}");
}

/// Starts redis-server, or returns `None` (after saying why) when it is not installed.
fn redis() -> Option<Redis> {
    let Some(bin) = find_on_path("redis-server") else {
        if std::env::var("BUSBAR_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("redis-server not found on PATH and BUSBAR_REQUIRE_TOOLS=1");
        }
        skip("redis-server not found on PATH (apt-get install redis-server)");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no", "--daemonize", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    let redis = Redis { child, port };
    let deadline = Instant::now() + SERVER_READY_TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "redis-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(redis)
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("busbar-load-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs one scenario briefly; asserts it exits 0 and its JSON says it passed.
fn run_scenario(port: u16, name: &str, scenario: &str, extra: &[&str]) -> serde_json::Value {
    let json = temp_path(&format!("{name}.json"));
    let output = Command::new(BIN)
        .arg(scenario)
        .args([
            "--port",
            &port.to_string(),
            "--duration",
            "1s",
            "--warmup",
            "200ms",
        ])
        .args(["--drain", "5s", "--json", json.to_str().unwrap()])
        .args(extra)
        .output()
        .expect("run busbar-load");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} failed ({:?}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("result       PASS"), "{name}: {stdout}");
    // Piped stderr: no progress line.
    assert!(
        !stderr.contains('\r') && !stderr.contains("\x1b["),
        "{name}: {stderr:?}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["outcome"]["passed"], true, "{name}: {doc}");
    assert!(
        doc["outcome"]["ops"].as_u64().unwrap() > 0,
        "{name}: no operations measured"
    );
    assert_eq!(doc["config"]["port"], port, "{name}: config is recorded");
    doc
}

#[test]
fn kv_runs_against_redis_with_pipelining_and_zipfian_keys() {
    let Some(redis) = redis() else { return };
    run_scenario(
        redis.port,
        "kv",
        "kv",
        &["-c", "4", "-P", "16", "--keys", "1000"],
    );
    run_scenario(
        redis.port,
        "kv-zipf",
        "kv",
        &["-c", "2", "--distribution", "zipfian"],
    );
    let doc = run_scenario(
        redis.port,
        "kv-count",
        "kv",
        &["-c", "2", "-n", "500", "--keys", "10"],
    );
    assert_eq!(doc["outcome"]["ops"], 500);
}

#[test]
fn fanout_verifies_every_delivery_from_redis() {
    let Some(redis) = redis() else { return };
    let doc = run_scenario(
        redis.port,
        "fanout",
        "fanout",
        &["--subscribers", "20", "-P", "4"],
    );
    for check in doc["outcome"]["checks"].as_array().unwrap() {
        assert_eq!(check["value"], 0, "{check}");
    }
    // Many channels, several subscriptions per connection, pattern subscribers, two publishers.
    run_scenario(
        redis.port,
        "fanout-patterns",
        "fanout",
        &[
            "--subscribers",
            "12",
            "--connections",
            "3",
            "--channels",
            "4",
            "--patterns",
            "2",
        ],
    );
    run_scenario(
        redis.port,
        "fanout-paced",
        "fanout",
        &["--publishers", "2", "--rate", "2000"],
    );
}

#[test]
fn queue_pops_every_job_exactly_once_from_redis() {
    let Some(redis) = redis() else { return };
    run_scenario(
        redis.port,
        "queue",
        "queue",
        &["--workers", "4", "--queues", "2"],
    );
    run_scenario(
        redis.port,
        "queue-reliable",
        "queue",
        &["--workers", "2", "--reliable"],
    );
}

#[test]
fn stream_group_processes_every_entry_exactly_once_on_redis() {
    let Some(redis) = redis() else { return };
    let doc = run_scenario(
        redis.port,
        "stream",
        "stream",
        &["--consumers", "3", "--streams", "2"],
    );
    assert_eq!(doc["outcome"]["figures"]["pending_end"], 0.0);
}

/// busbar itself, from the same target directory as busbar-load (`cargo test --workspace`
/// builds both), at its default configuration (a shard per core); `None` (after saying
/// why) when it was not built.
fn busbar() -> Option<Redis> {
    let bin = Path::new(BIN).with_file_name("busbar");
    if !bin.is_file() {
        if std::env::var("BUSBAR_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{} not built (run cargo test --workspace)", bin.display());
        }
        skip("busbar not built beside busbar-load (cargo test --workspace builds it)");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Its own empty `dir`: it must not load a dump.rdb left in the working directory.
    let dir = std::env::temp_dir().join(format!("busbar-load-test-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start busbar");
    let server = Redis { child, port };
    let deadline = Instant::now() + SERVER_READY_TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "busbar did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(server)
}

#[test]
fn stream_group_processes_every_entry_exactly_once_on_busbar() {
    let Some(busbar) = busbar() else { return };
    let doc = run_scenario(
        busbar.port,
        "stream-busbar",
        "stream",
        &["--consumers", "4", "--streams", "2", "--producers", "2"],
    );
    assert_eq!(doc["outcome"]["figures"]["pending_end"], 0.0);
}

#[test]
fn kv_runs_against_the_sink() {
    let mut sink = Command::new(BIN)
        .args(["sink", "--port", "0", "--duration", "30s"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start sink");
    let mut line = String::new();
    BufReader::new(sink.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .expect(&line);
    let result = std::panic::catch_unwind(|| {
        run_scenario(
            port,
            "kv-sink",
            "kv",
            &["-c", "2", "-P", "16", "--threads", "1"],
        )
    });
    let _ = sink.kill();
    let _ = sink.wait();
    result.unwrap();
}

#[test]
fn compare_reports_a_missing_busbar_and_runs_redis_alone() {
    let out = temp_path("compare");
    let output = Command::new(BIN)
        .args([
            "compare",
            "--scenario",
            "kv",
            "--pipeline",
            "1,4",
            "--rounds",
            "1",
        ])
        .args([
            "--duration",
            "300ms",
            "--warmup",
            "100ms",
            "--targets",
            "redis,busbar",
        ])
        .args([
            "--busbar-bin",
            "/nonexistent/busbar",
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--", "-c", "2", "--keys", "100"])
        .output()
        .expect("run compare");
    if find_on_path("redis-server").is_none()
        && std::env::var("BUSBAR_REQUIRE_TOOLS").as_deref() != Ok("1")
    {
        skip("redis-server not found on PATH");
        return;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "compare failed: {stderr}");
    let table = std::fs::read_to_string(out.join("kv.md")).unwrap();
    assert!(
        table.contains("| 1 | busbar | unsupported: busbar binary not found"),
        "{table}"
    );
    assert!(table.contains("| 4 | redis |"), "{table}");
    let svg = std::fs::read_to_string(out.join("kv.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("kv.json")).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 2);
}

#[test]
fn scaling_script_passes_its_self_test() {
    let Some(python) = find_on_path("python3") else {
        if std::env::var("BUSBAR_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("python3 not found on PATH and BUSBAR_REQUIRE_TOOLS=1");
        }
        skip("python3 not found on PATH");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/scaling.py");
    // The self-test parses synthetic /proc lines, fits synthetic costs and draws an SVG;
    // it starts no server.
    let output = Command::new(python)
        .arg(&script)
        .arg("--self-test")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run scaling.py");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "scaling.py --self-test failed: {stderr}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("self-test passed"));
}
