//! End-to-end basics over TCP against the real binary with two shards.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

#[test]
fn ping_set_get_across_shards() {
    let srv = busbar(&[]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
    for i in 0..200 {
        let k = format!("key:{i}");
        assert_eq!(c.cmd(&["SET", &k, &i.to_string()]), b"+OK\r\n");
    }
    for i in 0..200 {
        let k = format!("key:{i}");
        assert_eq!(
            c.cmd(&["GET", &k]),
            format!("${}\r\n{}\r\n", i.to_string().len(), i).into_bytes()
        );
    }
    assert_eq!(c.cmd(&["DBSIZE"]), b":200\r\n");
}

#[test]
fn info_errorstats_counts_error_replies_by_code_across_shards() {
    let srv = busbar(&["--requirepass", "pw"]);
    let mut c = Raw::connect(srv.port).unwrap();
    assert!(c.cmd(&["GET", "a"]).starts_with(b"-NOAUTH"));
    assert_eq!(c.cmd(&["AUTH", "pw"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), b"+OK\r\n");
    // Keys on both shards, so some errors happen on the owner shard after a hop.
    for k in ["a", "b", "c", "d"] {
        assert_eq!(c.cmd(&["SET", k, "x"]), b"+OK\r\n");
        assert!(c
            .cmd(&["INCR", k])
            .starts_with(b"-ERR value is not an integer"));
    }
    assert!(c
        .cmd(&["NOSUCHCOMMAND"])
        .starts_with(b"-ERR unknown command"));
    assert!(c.cmd(&["GET"]).starts_with(b"-ERR wrong number"));
    let info = String::from_utf8(c.cmd(&["INFO", "errorstats"])).unwrap();
    assert!(
        info.contains("# Errorstats\r\nerrorstat_ERR:count=6\r\n"),
        "{info}"
    );
    let stats = String::from_utf8(c.cmd(&["INFO", "stats"])).unwrap();
    assert!(stats.contains("total_error_replies:6\r\n"), "{stats}");
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), b"+OK\r\n");
    let info = String::from_utf8(c.cmd(&["INFO", "errorstats"])).unwrap();
    assert!(!info.contains("errorstat_"), "{info}");
}
