//! Process lifecycle: startup log lines, config files and their errors, --version,
//! graceful shutdown on SIGTERM and on SHUTDOWN.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;
use std::process::Command;

#[test]
fn startup_logs_ready_line_like_redis() {
    let srv = busbar(&[]);
    assert!(
        srv.startup_log
            .iter()
            .any(|l| l.contains("* Ready to accept connections tcp")),
        "{:?}",
        srv.startup_log
    );
    // `<pid>:M <dd Mon yyyy HH:MM:SS.mmm> * <msg>`
    let line = srv.startup_log.last().unwrap();
    assert!(line.starts_with(&format!("{}:M ", srv.pid())), "{line}");
}

#[test]
fn sigterm_finishes_in_flight_replies_and_exits_zero() {
    let mut srv = busbar(&[]);
    let mut c = Raw::connect(srv.port).unwrap();
    // A pipeline in flight when the signal arrives still gets every reply.
    let mut batch = Vec::new();
    for i in 0..1000 {
        batch.extend(Raw::encode(&[b"SET", format!("k{i}").as_bytes(), b"v"]));
    }
    c.send(&batch);
    for _ in 0..1000 {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
    assert_eq!(srv.terminate(), Some(0));
}

#[test]
fn shutdown_command_closes_without_reply_and_exits_zero() {
    let mut srv = busbar(&[]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(c.cmd(&["SET", "a", "1"]), b"+OK\r\n");
    c.send(&Raw::encode(&[b"SHUTDOWN", b"NOSAVE"]));
    assert_eq!(c.read_to_close(), b"");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = srv.child.try_wait() {
            assert_eq!(status.code(), Some(0));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "server did not exit");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn shutdown_abort_without_shutdown_in_progress_errors() {
    let srv = busbar(&[]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(
        c.cmd(&["SHUTDOWN", "ABORT"]),
        b"-ERR No shutdown in progress.\r\n"
    );
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn config_file_is_read_and_command_line_overrides_it() {
    let dir = std::env::temp_dir().join(format!("busbar-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("redis.conf");
    std::fs::write(
        &path,
        "# comment\nmaxclients 123\ndatabases 4\nrequirepass \"se cret\"\n",
    )
    .unwrap();
    let srv = busbar(&[path.to_str().unwrap(), "--maxclients", "77"]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(c.cmd(&["AUTH", "se cret"]), b"+OK\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxclients"]),
        b"*2\r\n$10\r\nmaxclients\r\n$2\r\n77\r\n"
    );
    assert_eq!(
        c.cmd(&["SELECT", "4"]),
        b"-ERR DB index is out of range\r\n"
    );
    assert_eq!(c.cmd(&["SELECT", "3"]), b"+OK\r\n");
}

#[test]
fn unknown_directive_stops_startup_with_its_line_number() {
    let dir = std::env::temp_dir().join(format!("busbar-badconf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.conf");
    std::fs::write(&path, "port 0\n\nfrobnicate yes\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_busbar"))
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at line 3"), "{err}");
    assert!(err.contains(">>> 'frobnicate yes'"), "{err}");
    assert!(
        err.contains("Bad directive or wrong number of arguments"),
        "{err}"
    );
}

#[test]
fn bad_value_on_command_line_stops_startup() {
    let out = Command::new(env!("CARGO_BIN_EXE_busbar"))
        .args(["--port", "0", "--maxclients", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("maxclients"));
}

#[test]
fn version_flag_prints_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_busbar"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("v=") && text.contains("redis_version=7.2.4"),
        "{text}"
    );
}

#[test]
fn port_in_use_fails_with_redis_message() {
    let srv = busbar(&[]);
    let mut second = Command::new(env!("CARGO_BIN_EXE_busbar"))
        .args(["--port", &srv.port.to_string(), "--bind", "127.0.0.1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It must refuse (exit 1) rather than share the port through SO_REUSEPORT.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(st) = second.try_wait().unwrap() {
            break st;
        }
        if std::time::Instant::now() > deadline {
            let _ = second.kill();
            panic!("second server did not refuse the busy port");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1));
    let mut log = String::new();
    std::io::Read::read_to_string(&mut second.stdout.take().unwrap(), &mut log).unwrap();
    assert!(
        log.contains("Could not create server TCP listening socket"),
        "{log}"
    );
    assert!(log.contains("Address already in use"), "{log}");
}
