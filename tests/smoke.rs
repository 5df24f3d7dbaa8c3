//! End-to-end basics over TCP against the real binary with two shards.

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
