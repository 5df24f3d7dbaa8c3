//! Redis's own tools against busbar: redis-benchmark (several load shapes) and redis-cli
//! (one-shot commands, --scan, --pipe, --stat). Counts are small: this is about
//! compatibility, not speed (PERF.md measures speed).
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `program args`, killed after `secs` seconds by coreutils `timeout`.
fn run(secs: u32, program: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new("timeout")
        .arg(secs.to_string())
        .arg(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Whether every one of `tools` is installed (see `have_tool`).
fn have_tools(tools: &[&str]) -> bool {
    tools.iter().all(|t| have_tool(t))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs redis-benchmark against `port` with `extra` arguments after the common ones, and
/// checks it completed every test without an error.
fn benchmark(port: u16, extra: &[&str]) {
    let port = port.to_string();
    let mut args = vec![
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "ping_inline,ping_mbulk,set,get,incr,mset",
        "-q",
    ];
    args.extend_from_slice(extra);
    let out = run(120, "redis-benchmark", &args, None);
    let all = text(&out);
    assert!(
        out.status.success(),
        "redis-benchmark {args:?} exited {:?}:\n{all}",
        out.status
    );
    assert!(
        !all.contains("Error") && !all.contains("ERR"),
        "redis-benchmark {args:?}:\n{all}"
    );
    for test in [
        "PING_INLINE:",
        "PING_MBULK:",
        "SET:",
        "GET:",
        "INCR:",
        "MSET (10 keys):",
    ] {
        assert!(all.contains(test), "no {test} result from {args:?}:\n{all}");
    }
}

#[test]
fn redis_benchmark_plain() {
    if !have_tools(&["redis-benchmark", "timeout"]) {
        return;
    }
    let srv = busbar(&[]);
    benchmark(srv.port, &["-n", "20000"]);
}

#[test]
fn redis_benchmark_pipelined() {
    if !have_tools(&["redis-benchmark", "timeout"]) {
        return;
    }
    let srv = busbar(&[]);
    benchmark(srv.port, &["-n", "20000", "-P", "16"]);
}

#[test]
fn redis_benchmark_random_keys() {
    if !have_tools(&["redis-benchmark", "timeout"]) {
        return;
    }
    let srv = busbar(&[]);
    benchmark(srv.port, &["-n", "20000", "-r", "1000000"]);
    let mut c = Raw::connect(srv.port).unwrap();
    let keys = c.cmd(&["DBSIZE"]);
    assert!(
        keys.starts_with(b":") && keys != b":0\r\n",
        "random keys were stored: {}",
        show(&keys)
    );
}

#[test]
fn redis_benchmark_many_clients() {
    if !have_tools(&["redis-benchmark", "timeout"]) {
        return;
    }
    let srv = busbar(&[]);
    benchmark(srv.port, &["-c", "500", "-n", "5000"]);
}

#[test]
fn redis_benchmark_without_keepalive() {
    if !have_tools(&["redis-benchmark", "timeout"]) {
        return;
    }
    let srv = busbar(&[]);
    benchmark(srv.port, &["-k", "0", "-n", "2000"]);
}

fn cli(port: u16, args: &[&str]) -> String {
    let port = port.to_string();
    let mut all = vec!["-h", "127.0.0.1", "-p", &port];
    all.extend_from_slice(args);
    let out = run(30, "redis-cli", &all, None);
    assert!(
        out.status.success(),
        "redis-cli {args:?} exited {:?}: {}",
        out.status,
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_cli_one_shot_commands() {
    if !have_tools(&["redis-cli", "timeout"]) {
        return;
    }
    let srv = busbar(&[]);
    let p = srv.port;
    assert_eq!(cli(p, &["set", "a", "b"]), "OK\n");
    assert_eq!(cli(p, &["get", "a"]), "b\n");
    assert_eq!(cli(p, &["get", "missing"]), "\n");
    assert_eq!(cli(p, &["--no-raw", "get", "missing"]), "(nil)\n");
    assert_eq!(cli(p, &["incrby", "n", "5"]), "5\n");
    assert_eq!(cli(p, &["mset", "k1", "1", "k2", "2", "b", "3"]), "OK\n");
    assert_eq!(cli(p, &["mget", "k1", "k2", "b", "missing"]), "1\n2\n3\n\n");
    assert_eq!(cli(p, &["-3", "get", "a"]), "b\n");
    assert_eq!(cli(p, &["-n", "2", "set", "a", "db2"]), "OK\n");
    assert_eq!(cli(p, &["-n", "2", "get", "a"]), "db2\n");
    assert_eq!(cli(p, &["get", "a"]), "b\n");
    // redis-cli prints an error reply followed by an empty line, as it does for Redis.
    assert_eq!(
        cli(p, &["nosuchcommand"]),
        "ERR unknown command 'nosuchcommand', with args beginning with: \n\n"
    );
    assert!(cli(p, &["info", "server"]).contains("redis_version:"));
    assert_eq!(cli(p, &["dbsize"]), "5\n");
}

#[test]
fn redis_cli_scan_lists_matching_keys() {
    if !have_tools(&["redis-cli", "timeout"]) {
        return;
    }
    let srv = busbar(&[]);
    let mut c = Raw::connect(srv.port).unwrap();
    let mut expected = HashSet::new();
    for i in 0..300 {
        let k = format!("k{i}");
        assert_eq!(c.cmd(&["SET", &k, "v"]), b"+OK\r\n");
        expected.insert(k);
        assert_eq!(c.cmd(&["SET", &format!("other{i}"), "v"]), b"+OK\r\n");
    }
    let out = cli(srv.port, &["--scan", "--pattern", "k*"]);
    let lines: Vec<&str> = out.lines().collect();
    let got: HashSet<String> = lines.iter().map(|s| s.to_string()).collect();
    assert_eq!(lines.len(), got.len(), "a key was listed twice");
    assert_eq!(got, expected);
    assert_eq!(cli(srv.port, &["--scan"]).lines().count(), 600);
}

#[test]
fn redis_cli_pipe_mode_loads_data() {
    if !have_tools(&["redis-cli", "timeout"]) {
        return;
    }
    let srv = busbar(&[]);
    let mut input = Vec::new();
    for i in 0..10_000 {
        input.extend(Raw::encode(&[
            b"SET",
            format!("pipe:{i}").as_bytes(),
            i.to_string().as_bytes(),
        ]));
    }
    let port = srv.port.to_string();
    let out = run(
        60,
        "redis-cli",
        &["-h", "127.0.0.1", "-p", &port, "--pipe"],
        Some(&input),
    );
    let all = text(&out);
    assert!(out.status.success(), "redis-cli --pipe: {all}");
    assert!(all.contains("errors: 0, replies: 10000"), "{all}");
    assert_eq!(cli(srv.port, &["dbsize"]), "10000\n");
}

#[test]
fn redis_cli_stat_prints_rows() {
    if !have_tools(&["redis-cli", "timeout", "stdbuf"]) {
        return;
    }
    let srv = busbar(&[]);
    let port = srv.port.to_string();
    // --stat runs until killed; timeout stops it after printing a few rows. Its stdout is a
    // pipe here, so stdbuf makes it line-buffered, or the rows die unflushed with it.
    let out = run(
        3,
        "stdbuf",
        &[
            "-oL",
            "redis-cli",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "--stat",
            "-i",
            "0.5",
        ],
        None,
    );
    let all = text(&out);
    assert!(!all.to_lowercase().contains("error"), "{all}");
    let header = all
        .lines()
        .find(|l| l.contains("keys") && l.contains("mem") && l.contains("clients"));
    assert!(header.is_some(), "no stats header in:\n{all}");
    // A row: the key count, a memory figure such as 1.05M, the client count, ...
    let row = all.lines().find(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 5
            && f[0].parse::<u64>().is_ok()
            && f[1].ends_with(['B', 'K', 'M', 'G'])
            && f[2].parse::<u64>().is_ok()
    });
    assert!(row.is_some(), "no stats row in:\n{all}");
}
