//! A connection's read buffer shrinks after a large command as Redis's query buffer does
//! (clientsCron), even while more input is pending, and CLIENT LIST reports it as Redis
//! does: `qbuf` / `qbuf-free` for the query buffer, `rbs` / `rbp` for the reply buffer.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::line_field as field;
use common::*;

use std::time::{Duration, Instant};

fn client_line(admin: &mut Raw, id: &str) -> String {
    let reply = admin.cmd(&["CLIENT", "LIST", "ID", id]);
    let text = String::from_utf8(reply).unwrap();
    text.lines().nth(1).expect("one client").to_string()
}

#[test]
fn a_large_command_does_not_keep_its_read_buffer_while_more_input_waits() {
    let srv = busbar(&["--threads", "2"]);
    let mut c = Raw::connect(srv.port).unwrap();
    let mut admin = Raw::connect(srv.port).unwrap();
    let id = String::from_utf8(c.cmd(&["CLIENT", "ID"])).unwrap();
    let id = id.trim().trim_start_matches(':').to_string();

    // A 1 MB SET, then the start of another command in the same write.
    let big = vec![b'x'; 1 << 20];
    let mut bytes = Raw::encode(&[b"SET", b"big", &big]);
    let partial = b"*2\r\n$4\r\nECHO\r\n$3\r\nab";
    bytes.extend_from_slice(partial);
    c.send(&bytes);
    assert_eq!(c.read_reply(), b"+OK\r\n");

    let line = client_line(&mut admin, &id);
    assert_eq!(field(&line, "qbuf"), partial.len(), "{line}");
    // rbs is the reply buffer, as in Redis: not the megabytes the SET was read into.
    assert!(field(&line, "rbs") < 64 * 1024, "{line}");

    // Within a few cron passes the read buffer is down to what the pending input needs.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line = client_line(&mut admin, &id);
        let held = field(&line, "qbuf") + field(&line, "qbuf-free");
        if held < 64 * 1024 {
            assert_eq!(field(&line, "qbuf"), partial.len(), "{line}");
            assert!(field(&line, "tot-mem") < 64 * 1024, "{line}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "read buffer never shrank: {line}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The half-read command survives the shrink.
    c.send(b"c\r\n");
    assert_eq!(c.read_reply(), b"$3\r\nabc\r\n");
    let line = client_line(&mut admin, &id);
    assert_eq!(field(&line, "qbuf"), 0, "{line}");
    assert!(field(&line, "qbuf-free") < 64 * 1024, "{line}");
    assert_eq!(c.cmd(&["STRLEN", "big"]), b":1048576\r\n");
}

/// qbuf + qbuf-free and idle seconds of the client named `name`, on a server at `port`.
fn query_buffer_of(port: u16, name: &str) -> (usize, usize) {
    let line = client_line_named(&mut Raw::connect(port).unwrap(), name);
    (
        field(&line, "qbuf") + field(&line, "qbuf-free"),
        field(&line, "idle"),
    )
}

#[test]
fn a_client_keeps_its_query_buffer_until_idle_for_two_seconds_as_redis_7_0() {
    // Redis 7.0 keeps a client's 16 KB query buffer after a command (its querybuf test
    // wants 16384 <= qbuf + qbuf-free < 32 KB) and frees it once the client has been idle
    // for 2 s (then 0).
    let redis = redis_server(&[]);
    let srv = busbar(&["--threads", "2"]);
    let mut ports = vec![("busbar", srv.port)];
    if let Some(r) = redis.as_ref() {
        ports.push(("redis-server", r.port));
    }
    for (who, port) in ports {
        let mut c = Raw::connect(port).unwrap();
        assert_eq!(c.cmd(&["CLIENT", "SETNAME", "test_client"]), b"+OK\r\n");
        let (held, _) = query_buffer_of(port, "test_client");
        assert!(
            (16384..32768).contains(&held),
            "{who}: qbuf + qbuf-free {held} right after a command"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (held, idle) = query_buffer_of(port, "test_client");
            if idle >= 3 && held == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{who}: still {held} bytes after {idle} s idle"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // And it still works.
        assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
    }
}

#[test]
fn a_client_idle_in_the_middle_of_a_command_keeps_only_its_bytes() {
    let srv = busbar(&["--threads", "2"]);
    let mut c = Raw::connect(srv.port).unwrap();
    let mut admin = Raw::connect(srv.port).unwrap();
    let id = String::from_utf8(c.cmd(&["CLIENT", "ID"])).unwrap();
    let id = id.trim().trim_start_matches(':').to_string();
    // Half of a command, then silence: Redis trims such a query buffer after 2 s idle.
    let partial = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel";
    c.send(partial);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line = client_line(&mut admin, &id);
        // First the bytes arrive (into a 16 KB buffer), then the spare room goes.
        if field(&line, "qbuf") == partial.len() && field(&line, "qbuf-free") == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "never trimmed: {line}");
        std::thread::sleep(Duration::from_millis(100));
    }
    c.send(b"lo\r\n");
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(c.cmd(&["GET", "k"]), b"$5\r\nhello\r\n");
}
