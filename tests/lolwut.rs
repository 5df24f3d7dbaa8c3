//! LOLWUT against redis-server 7 (the oracle), in RESP2 and RESP3: the version line and the
//! error replies byte for byte, and so are the pictures where Redis draws them without
//! chance (Schotter's first two rows of squares are never turned or moved; a skyline one row
//! tall is all sky). Where Redis draws at random, each line of the picture must have Redis's
//! length and be made of the same kind of cells, and the credits must be Redis's. COMMAND
//! INFO LOLWUT is Redis's too.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

/// Lines whose replies are the same on every run.
const EXACT: &[&str] = &[
    "LOLWUT",
    "LOLWUT VERSION",
    "LOLWUT VERSION 7",
    "LOLWUT foo bar",
    "LOLWUT VERSION -1",
    "LOLWUT VERSION 4294967296",
    "LOLWUT VERSION 5.0",
    "LOLWUT VERSION x",
    "LOLWUT VERSION 99999999999999999999",
    "LOLWUT VERSION 5 x",
    "LOLWUT VERSION 5 1 x",
    "LOLWUT VERSION 5 1 1 x",
    "LOLWUT VERSION 6 x",
    "LOLWUT VERSION 6 1 x",
    "LOLWUT VERSION 5 1 1 1",
    "LOLWUT VERSION 5 1 1 1 extra",
    "LOLWUT VERSION 5 20 4 2",
    "LOLWUT VERSION 5 66 8 2",
    "LOLWUT VERSION 5 3 1 1",
    "LOLWUT VERSION 5 2 1 1",
    "LOLWUT VERSION 5 1 200 1",
    "LOLWUT VERSION 5 1000 7 2",
    "LOLWUT VERSION 5 57 13 2",
    "LOLWUT VERSION 5 -5 0 0",
    "LOLWUT VERSION 4294967301 10 2 2",
    "LOLWUT version 5 9 3 1",
    "LOLWUT VERSION 6 30 1",
    "LOLWUT VERSION 6 1 1",
    "LOLWUT VERSION 6 0 0",
    "LOLWUT VERSION 6 -5 -5",
    "LOLWUT VERSION 6 1000 1",
    "LOLWUT VERSION 6 7 1 extra",
];

/// Lines whose pictures are random.
const RANDOM: &[&str] = &[
    "LOLWUT VERSION 5",
    "LOLWUT VERSION 5 10 3 7",
    "LOLWUT VERSION 5 200 20 30",
    "LOLWUT VERSION 5 33 5 200",
    "LOLWUT VERSION 6",
    "LOLWUT VERSION 6 40 10",
    "LOLWUT VERSION 6 300 200",
    "LOLWUT VERSION 6 3 3",
];

/// The `redis_version` a server reports in INFO.
fn version(c: &mut Raw) -> String {
    let info = Resp::from(&c.cmd(&["INFO", "server"]));
    let text = String::from_utf8(info.bytes().unwrap().to_vec()).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap()
        .to_string()
}

/// The text of a LOLWUT reply (a bulk string, or a RESP3 verbatim one without its `txt:`),
/// with `theirs` (the server's Redis version) swapped for `ours`; an error as it is.
fn text(reply: &[u8], theirs: &str, ours: &str) -> String {
    let r = Resp::from(reply);
    let raw = String::from_utf8(r.bytes().unwrap().to_vec()).unwrap();
    let raw = match r.tag() {
        b'=' => raw.strip_prefix("txt:").expect("verbatim text").to_string(),
        _ => raw,
    };
    raw.replace(
        &format!("Redis ver. {theirs}"),
        &format!("Redis ver. {ours}"),
    )
}

/// Every request line against both servers in both protocols: the (line, protocol, Redis's
/// reply, busbar's reply) of each, the versions swapped to busbar's.
fn both(lines: &[&str]) -> Vec<(String, u8, String, String)> {
    let Some(redis) = redis_server(&[]) else {
        return Vec::new();
    };
    let bb = busbar(&[]);
    let mut out = Vec::new();
    for proto in [2u8, 3] {
        let mut r = Raw::connect(redis.port).unwrap();
        let mut b = Raw::connect(bb.port).unwrap();
        if proto == 3 {
            r.cmd(&["HELLO", "3"]);
            b.cmd(&["HELLO", "3"]);
        }
        let (theirs, ours) = (version(&mut r), version(&mut b));
        for line in lines {
            let args: Vec<&str> = line.split(' ').collect();
            let (want, got) = (r.cmd(&args), b.cmd(&args));
            // The same kind of reply: an error, a bulk string, or RESP3's verbatim text.
            assert_eq!(want[0], got[0], "{line} (RESP{proto})");
            out.push((
                line.to_string(),
                proto,
                text(&want, &theirs, &ours),
                text(&got, &theirs, &ours),
            ));
        }
    }
    out
}

#[test]
fn lolwut_matches_redis_where_redis_draws_without_chance() {
    let mismatched: Vec<String> = both(EXACT)
        .into_iter()
        .filter(|(_, _, want, got)| want != got)
        .map(|(line, proto, want, got)| {
            format!("{line} (RESP{proto}):\n  redis:  {want:?}\n  busbar: {got:?}")
        })
        .collect();
    assert!(mismatched.is_empty(), "{}", mismatched.join("\n"));
}

/// The cells of one picture line: Braille characters, or terminal cells of one of the four
/// shades; `None` for any other line (the credits).
fn cells(line: &str) -> Option<usize> {
    const SHADES: [&str; 4] = [
        "\x1b[0;30;40m \x1b[0m",
        "\x1b[0;90;100m \x1b[0m",
        "\x1b[0;37;47m \x1b[0m",
        "\x1b[0;97;107m \x1b[0m",
    ];
    if !line.is_empty() && line.chars().all(|c| ('\u{2800}'..='\u{28ff}').contains(&c)) {
        return Some(line.chars().count());
    }
    let mut rest = line;
    let mut n = 0;
    while !rest.is_empty() {
        rest = SHADES.iter().find_map(|s| rest.strip_prefix(s))?;
        n += 1;
    }
    (n > 0).then_some(n)
}

/// A reply's lines as their cell counts, the other lines as they are.
fn shape(text: &str) -> Vec<Result<usize, String>> {
    text.split('\n')
        .map(|l| cells(l).ok_or_else(|| l.to_string()))
        .collect()
}

#[test]
fn lolwut_pictures_have_redis_shape_where_redis_draws_at_random() {
    let mismatched: Vec<String> = both(RANDOM)
        .into_iter()
        .filter(|(_, _, want, got)| shape(want) != shape(got))
        .map(|(line, proto, want, got)| {
            format!(
                "{line} (RESP{proto}):\n  redis:  {:?}\n  busbar: {:?}",
                shape(&want),
                shape(&got)
            )
        })
        .collect();
    assert!(mismatched.is_empty(), "{}", mismatched.join("\n"));
}

#[test]
fn lolwut_command_info_matches_redis() {
    let Some(redis) = redis_server(&[]) else {
        return;
    };
    let bb = busbar(&[]);
    for resp3 in [false, true] {
        let mut r = Raw::connect(redis.port).unwrap();
        let mut b = Raw::connect(bb.port).unwrap();
        if resp3 {
            r.cmd(&["HELLO", "3"]);
            b.cmd(&["HELLO", "3"]);
        }
        let line = ["COMMAND", "INFO", "lolwut"];
        assert_eq!(show(&b.cmd(&line)), show(&r.cmd(&line)), "RESP3: {resp3}");
    }
}
