//! Connection placement over TCP with two shards: a connection whose commands keep going
//! to the other shard moves there (INFO `moved_connections`), its replies stay right and
//! in order, and what it set up before (name, database, WATCH, id) keeps working after;
//! a connection spread over both shards, and every connection under `placement no`, stays.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

const SHARDS: usize = 2;

fn server() -> Proc {
    busbar(&["--threads", "2"])
}

/// The shard `c` lives on now: a GET of a key on shard 0 hops from shard 1 only. Nothing
/// else may run commands on the server meanwhile.
fn home_of(c: &mut Raw) -> usize {
    let before = info_stat(c, "hops_total");
    c.cmd(&["GET", &key_on("probe", 0, SHARDS)]);
    usize::from(info_stat(c, "hops_total") > before)
}

fn incr(key: &str) -> Vec<String> {
    vec!["INCR".into(), key.into()]
}

/// Moves `c` to the shard it is not on with pipelines of INCR on `prefix`'s key there;
/// returns that key and how often it was incremented. Panics if it never moves.
fn move_away(c: &mut Raw, watcher: &mut Raw, prefix: &str) -> (String, u64) {
    let home = home_of(c);
    let key = key_on(prefix, 1 - home, SHARDS);
    let moved = info_stat(watcher, "moved_connections");
    let mut n = 0;
    for _ in 0..40 {
        let cmds: Vec<_> = (0..16).map(|_| incr(&key)).collect();
        for r in pipeline_raw(c, &cmds) {
            n += 1;
            assert_eq!(show(&r), format!(":{n}\\r\\n"));
        }
        if info_stat(watcher, "moved_connections") > moved {
            assert_eq!(home_of(c), 1 - home, "moved to the key's shard");
            return (key, n);
        }
    }
    panic!("the connection never moved");
}

#[test]
fn one_key_pipeline_moves_and_replies_in_order() {
    let srv = server();
    let mut c = Raw::connect(srv.port).unwrap();
    let home = home_of(&mut c);
    let key = key_on("one", 1 - home, SHARDS);
    let cmds: Vec<_> = (0..500).map(|_| incr(&key)).collect();
    for (i, r) in pipeline_raw(&mut c, &cmds).iter().enumerate() {
        assert_eq!(show(r), format!(":{}\\r\\n", i + 1));
    }
    // The pipeline may have joined one hop whole; its next command for the key's shard
    // moves it at the latest.
    assert_eq!(show(&c.cmd(&["INCR", &key])), ":501\\r\\n");
    assert_eq!(info_stat(&mut c, "moved_connections"), 1);
    assert_eq!(home_of(&mut c), 1 - home);
    // On its new shard the key's commands are not hops any more.
    let hops = info_stat(&mut c, "hops_total");
    let cmds: Vec<_> = (0..100).map(|_| incr(&key)).collect();
    let replies = pipeline_raw(&mut c, &cmds);
    assert_eq!(show(replies.last().unwrap()), ":601\\r\\n");
    assert_eq!(info_stat(&mut c, "hops_total"), hops);
    assert_eq!(show(&c.cmd(&["GET", &key])), "$3\\r\\n601\\r\\n");
}

#[test]
fn keys_alternating_between_shards_never_move() {
    let srv = server();
    let mut c = Raw::connect(srv.port).unwrap();
    let (a, b) = (key_on("alt", 0, SHARDS), key_on("alt", 1, SHARDS));
    for round in 0..20u64 {
        let cmds: Vec<_> = (0..64)
            .map(|i| incr(if i % 2 == 0 { &a } else { &b }))
            .collect();
        for (i, r) in pipeline_raw(&mut c, &cmds).iter().enumerate() {
            assert_eq!(show(r), format!(":{}\\r\\n", round * 32 + i as u64 / 2 + 1));
        }
    }
    for i in 0..200u64 {
        let key = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            show(&c.cmd(&["INCR", key])),
            format!(":{}\\r\\n", 640 + i / 2 + 1)
        );
    }
    assert_eq!(info_stat(&mut c, "moved_connections"), 0);
}

#[test]
fn moved_mid_pipeline_with_unparsed_input_keeps_replies_in_order() {
    let srv = server();
    let mut c = Raw::connect(srv.port).unwrap();
    let home = home_of(&mut c);
    let (far, near) = (key_on("mid", 1 - home, SHARDS), key_on("mid", home, SHARDS));
    // Runs of 100 on the far key, each followed by one on the near key: the first run's
    // hop decides the move, the near key's command waits for it, and the second run's
    // first command moves the connection with the rest of the pipeline unparsed. Then the
    // same the other way round, which moves it back.
    let mut cmds = Vec::new();
    for _ in 0..4 {
        cmds.extend((0..100).map(|_| incr(&far)));
        cmds.push(incr(&near));
    }
    for _ in 0..4 {
        cmds.extend((0..100).map(|_| incr(&near)));
        cmds.push(incr(&far));
    }
    cmds.push(vec!["CLIENT".into(), "ID".into()]);
    let (mut nf, mut nn) = (0, 0);
    let replies = pipeline_raw(&mut c, &cmds);
    for (cmd, r) in cmds.iter().zip(&replies).take(cmds.len() - 1) {
        let n = if cmd[1] == far {
            nf += 1;
            nf
        } else {
            nn += 1;
            nn
        };
        assert_eq!(show(r), format!(":{n}\\r\\n"), "reply to {cmd:?}");
    }
    assert!(info_stat(&mut c, "moved_connections") >= 1);
    assert_eq!(home_of(&mut c), home, "moved there and back");
    assert_eq!(show(&c.cmd(&["GET", &far])), "$3\\r\\n404\\r\\n");
}

#[test]
fn name_database_and_id_travel_with_the_connection() {
    let srv = server();
    let mut watcher = Raw::connect(srv.port).unwrap();
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(
        show(&c.cmd(&["CLIENT", "SETNAME", "traveller"])),
        "+OK\\r\\n"
    );
    let id = c.cmd(&["CLIENT", "ID"]);
    let line = client_line_named(&mut watcher, "traveller");
    let before = line_field(&line, "id");
    // INCRs in database 0 move it; then SELECT 3 and write there.
    let (key, n) = move_away(&mut c, &mut watcher, "nm");
    assert_eq!(show(&c.cmd(&["SELECT", "3"])), "+OK\\r\\n");
    assert_eq!(show(&c.cmd(&["SET", &key, "in3"])), "+OK\\r\\n");
    assert_eq!(c.cmd(&["CLIENT", "ID"]), id);
    assert_eq!(
        show(&c.cmd(&["CLIENT", "GETNAME"])),
        "$9\\r\\ntraveller\\r\\n"
    );
    let info = String::from_utf8(
        Resp::from(&c.cmd(&["CLIENT", "INFO"]))
            .bytes()
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert_eq!(line_field(&info, "id"), before);
    assert_eq!(line_field(&info, "db"), 3);
    // CLIENT LIST from another connection: one line for it, with its id.
    let list = Resp::from(&watcher.cmd(&["CLIENT", "LIST"]));
    let text = String::from_utf8(list.bytes().unwrap().to_vec()).unwrap();
    let lines: Vec<_> = text
        .lines()
        .filter(|l| l.contains(" name=traveller "))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(line_field(lines[0], "id"), before);
    assert_eq!(text.lines().count(), 2, "{text}");
    let clients = String::from_utf8(
        Resp::from(&watcher.cmd(&["INFO", "clients"]))
            .bytes()
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(clients.contains("connected_clients:2\r\n"), "{clients}");
    // Database 3 has the new value and database 0 the counter.
    assert_eq!(
        show(&watcher.cmd(&["GET", &key])),
        format!("${}\\r\\n{n}\\r\\n", n.to_string().len())
    );
    watcher.cmd(&["SELECT", "3"]);
    assert_eq!(show(&watcher.cmd(&["GET", &key])), "$3\\r\\nin3\\r\\n");
}

#[test]
fn client_kill_id_finds_a_moved_connection() {
    let srv = server();
    let mut watcher = Raw::connect(srv.port).unwrap();
    let mut c = Raw::connect(srv.port).unwrap();
    let id = String::from_utf8(c.cmd(&["CLIENT", "ID"])).unwrap();
    let id = id.trim_start_matches(':').trim_end().to_string();
    move_away(&mut c, &mut watcher, "kill");
    assert_eq!(
        show(&watcher.cmd(&["CLIENT", "KILL", "ID", &id])),
        ":1\\r\\n"
    );
    assert!(c.closed());
    let clients = String::from_utf8(
        Resp::from(&watcher.cmd(&["INFO", "clients"]))
            .bytes()
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(clients.contains("connected_clients:1\r\n"), "{clients}");
}

#[test]
fn multi_exec_and_watch_work_across_a_move() {
    let srv = server();
    let mut other = Raw::connect(srv.port).unwrap();
    let mut c = Raw::connect(srv.port).unwrap();
    // WATCH on both shards' keys, then move, then another client changes one: EXEC fails.
    let (w0, w1) = (key_on("w", 0, SHARDS), key_on("w", 1, SHARDS));
    assert_eq!(show(&c.cmd(&["WATCH", &w0, &w1])), "+OK\\r\\n");
    let (key, n) = move_away(&mut c, &mut other, "tx");
    for w in [&w0, &w1] {
        other.cmd(&["SET", w, "changed"]);
        assert_eq!(show(&c.cmd(&["MULTI"])), "+OK\\r\\n");
        assert_eq!(show(&c.cmd(&["INCR", &key])), "+QUEUED\\r\\n");
        assert_eq!(show(&c.cmd(&["EXEC"])), "*-1\\r\\n", "watched {w} changed");
        assert_eq!(show(&c.cmd(&["WATCH", &w0, &w1])), "+OK\\r\\n");
    }
    // Unchanged: EXEC runs, over both shards.
    assert_eq!(show(&c.cmd(&["MULTI"])), "+OK\\r\\n");
    c.cmd(&["INCR", &key]);
    c.cmd(&["SET", &w0, "a"]);
    c.cmd(&["SET", &w1, "b"]);
    assert_eq!(
        show(&c.cmd(&["EXEC"])),
        format!("*3\\r\\n:{}\\r\\n+OK\\r\\n+OK\\r\\n", n + 1)
    );
    assert_eq!(
        show(&other.cmd(&["MGET", &w0, &w1])),
        "*2\\r\\n$1\\r\\na\\r\\n$1\\r\\nb\\r\\n"
    );
}

#[test]
fn subscribe_and_blpop_work_after_a_move() {
    let srv = server();
    let mut other = Raw::connect(srv.port).unwrap();
    let mut c = Raw::connect(srv.port).unwrap();
    let (key, _) = move_away(&mut c, &mut other, "sub");
    assert_eq!(
        show(&c.cmd(&["SUBSCRIBE", "news"])),
        "*3\\r\\n$9\\r\\nsubscribe\\r\\n$4\\r\\nnews\\r\\n:1\\r\\n"
    );
    assert_eq!(show(&other.cmd(&["PUBLISH", "news", "hi"])), ":1\\r\\n");
    assert_eq!(
        show(&c.read_reply()),
        "*3\\r\\n$7\\r\\nmessage\\r\\n$4\\r\\nnews\\r\\n$2\\r\\nhi\\r\\n"
    );
    c.cmd(&["UNSUBSCRIBE", "news"]);
    // A subscribed connection does not move (its registrations are its shard's); once
    // unsubscribed it runs commands again, and blocks.
    let list = format!("{key}:list");
    c.send(&Raw::encode(&[b"BLPOP", list.as_bytes(), b"0"]));
    wait_blocked(&mut other, 1);
    other.cmd(&["RPUSH", &list, "x"]);
    assert_eq!(
        show(&c.read_reply()),
        format!("*2\\r\\n${}\\r\\n{list}\\r\\n$1\\r\\nx\\r\\n", list.len())
    );
    assert_eq!(show(&c.cmd(&["PING"])), "+PONG\\r\\n");
}

#[test]
fn placement_no_never_moves_and_is_not_in_config_get() {
    let srv = busbar(&["--threads", "2", "--placement", "no"]);
    let mut c = Raw::connect(srv.port).unwrap();
    let home = home_of(&mut c);
    let key = key_on("no", 1 - home, SHARDS);
    for round in 0..20u64 {
        let cmds: Vec<_> = (0..16).map(|_| incr(&key)).collect();
        for (i, r) in pipeline_raw(&mut c, &cmds).iter().enumerate() {
            assert_eq!(show(r), format!(":{}\\r\\n", round * 16 + i as u64 + 1));
        }
    }
    assert_eq!(info_stat(&mut c, "moved_connections"), 0);
    assert_eq!(home_of(&mut c), home);
    assert_eq!(show(&c.cmd(&["CONFIG", "GET", "placement"])), "*0\\r\\n");
    let all = String::from_utf8_lossy(&c.cmd(&["CONFIG", "GET", "*"])).into_owned();
    assert!(!all.contains("placement"));
    assert!(show(&c.cmd(&["CONFIG", "SET", "placement", "yes"])).starts_with("-ERR"));
}

#[test]
fn resp3_and_authentication_travel_with_the_connection() {
    let srv = busbar(&["--threads", "2", "--requirepass", "pw"]);
    let mut watcher = Raw::connect(srv.port).unwrap();
    assert_eq!(show(&watcher.cmd(&["AUTH", "pw"])), "+OK\\r\\n");
    let mut c = Raw::connect(srv.port).unwrap();
    assert_eq!(show(&c.cmd(&["AUTH", "pw"])), "+OK\\r\\n");
    assert!(c.cmd(&["HELLO", "3"]).starts_with(b"%"));
    let (key, _) = move_away(&mut c, &mut watcher, "r3");
    let hash = format!("{key}:h");
    assert_eq!(show(&c.cmd(&["HSET", &hash, "f", "v"])), ":1\\r\\n");
    assert_eq!(
        show(&c.cmd(&["HGETALL", &hash])),
        "%1\\r\\n$1\\r\\nf\\r\\n$1\\r\\nv\\r\\n"
    );
    assert_eq!(show(&c.cmd(&["GET", "nothing"])), "_\\r\\n");
}
