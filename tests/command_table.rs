//! Pins what the command table answers (COMMAND, COMMAND INFO, DOCS, LIST, COUNT in RESP2
//! and RESP3) byte for byte against files under `tests/golden/command/`, so that
//! restructuring where the facts about commands live (issue 14) provably changes none of
//! these replies. After a deliberate change, `BUSBAR_BLESS=1 cargo test --test
//! command_table` rewrites the files; review their diff like code.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

mod common;
use common::*;

use std::path::PathBuf;

/// The requests pinned, each under a file stem.
fn requests(names: &[String]) -> Vec<(String, Vec<Vec<u8>>)> {
    let mut all_info = vec![b"COMMAND".to_vec(), b"INFO".to_vec()];
    all_info.extend(names.iter().map(|n| n.as_bytes().to_vec()));
    let words = |ws: &[&str]| ws.iter().map(|w| w.as_bytes().to_vec()).collect::<Vec<_>>();
    vec![
        ("command".into(), words(&["COMMAND"])),
        ("command-count".into(), words(&["COMMAND", "COUNT"])),
        ("command-list".into(), words(&["COMMAND", "LIST"])),
        (
            "command-list-aclcat-list".into(),
            words(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "list"]),
        ),
        (
            "command-list-pattern".into(),
            words(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "z*"]),
        ),
        ("command-info-all".into(), all_info),
        (
            "command-info-some".into(),
            words(&[
                "COMMAND",
                "INFO",
                "get",
                "xread",
                "client|list",
                "nosuch",
                "BLMPOP",
            ]),
        ),
        ("command-docs".into(), words(&["COMMAND", "DOCS"])),
        (
            "command-docs-some".into(),
            words(&["COMMAND", "DOCS", "set", "zadd", "client", "nosuch"]),
        ),
    ]
}

fn golden(stem: &str, resp3: bool) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/command")
        .join(format!("{stem}.resp{}", if resp3 { 3 } else { 2 }))
}

#[test]
fn command_table_replies_match_the_pinned_bytes() {
    let srv = busbar(&["--threads", "2"]);
    let bless = std::env::var_os("BUSBAR_BLESS").is_some();
    let mut c = Raw::connect(srv.port).unwrap();
    let list = Resp::from(&c.cmd(&["COMMAND", "LIST"]));
    let mut names: Vec<String> = list
        .items()
        .iter()
        .map(|n| String::from_utf8(n.bytes().unwrap().to_vec()).unwrap())
        .collect();
    names.sort();
    let mut mismatched = Vec::new();
    for resp3 in [false, true] {
        let mut c = Raw::connect(srv.port).unwrap();
        if resp3 {
            assert!(c.cmd(&["HELLO", "3"]).starts_with(b"%"));
        }
        for (stem, args) in requests(&names) {
            let got = c.cmd_owned(&args);
            let path = golden(&stem, resp3);
            if bless {
                std::fs::write(&path, &got).unwrap();
                continue;
            }
            let want = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (BUSBAR_BLESS=1 writes it)", path.display()));
            if got != want {
                let at = got.iter().zip(&want).position(|(a, b)| a != b);
                let at = at.unwrap_or(got.len().min(want.len()));
                let from = at.saturating_sub(80);
                mismatched.push(format!(
                    "{} differs at byte {at}: got …{}… want …{}…",
                    path.display(),
                    show(&got[from..(at + 80).min(got.len())]),
                    show(&want[from..(at + 80).min(want.len())]),
                ));
            }
        }
    }
    assert!(mismatched.is_empty(), "{}", mismatched.join("\n"));
}
