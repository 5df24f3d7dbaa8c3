//! Prints `commands/*.toml` from the tables this module replaces (`table::build()`,
//! `keyspecs::META`, `docs::DOCS`), so the first version of the registry data is produced
//! by a program rather than typed. Re-run with
//! `cargo test --lib gen_registry -- --ignored`; it overwrites the files.
//!
//! Handler and coordinator paths are function pointers at run time, so they are read from
//! the source text of `cmd/table.rs`; everything else comes from the built values.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::cmd::docs::{self, ArgDoc, ArgKind, CmdDoc};
use crate::cmd::keyspecs::{self, KeySpecDoc};
use crate::cmd::{flag, table, AllMerge, NativeKeys, Route, Spec, SplitMerge, TxnCmd};

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04X}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: &[&str]) -> String {
    let parts: Vec<String> = items.iter().map(|s| q(s)).collect();
    format!("[{}]", parts.join(", "))
}

/// The top-level `c(...)` / `container(...)` calls of table.rs: name -> (route text,
/// handler text), subcommands included.
fn source_paths() -> BTreeMap<String, (String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/cmd/table.rs");
    let src = std::fs::read_to_string(path).unwrap();
    let body = &src[src.find("let entries = vec![").unwrap()..];
    let bytes = body.as_bytes();
    let mut found = BTreeMap::new();
    let mut i = 0;
    while i < bytes.len() {
        // Every `c(` call: its arguments split at top-level commas.
        let is_call = body[i..].starts_with("c(")
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
        if !is_call {
            i += 1;
            continue;
        }
        let start = i + 2;
        let (mut depth, mut j, mut args, mut arg_start) = (1, start, Vec::new(), start);
        while depth > 0 {
            match bytes[j] {
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth -= 1,
                b',' if depth == 1 => {
                    args.push(body[arg_start..j].trim().to_string());
                    arg_start = j + 1;
                }
                _ => {}
            }
            j += 1;
        }
        let last = body[arg_start..j - 1].trim();
        if !last.is_empty() {
            args.push(last.to_string());
        }
        assert_eq!(args.len(), 7, "c() call at {i}: {args:?}");
        let name = args[0].trim_matches('"').to_string();
        found.insert(name, (args[5].clone(), args[6].clone()));
        i = j;
    }
    found
}

/// A handler or coordinator path as the registry writes it: under `crate::cmd` unless it
/// starts with `crate::`.
fn rust_path(text: &str) -> String {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("block::") {
        format!("crate::shard::block::{rest}")
    } else {
        text.to_string()
    }
}

/// Redis's legacy (first, last, step) from the key specs, as COMMAND INFO shows it
/// (the rule of Redis 7.0's populateCommandLegacyRangeSpec).
fn legacy_range(specs: &[KeySpecDoc]) -> (i64, i64, i64) {
    let is_range = |k: &KeySpecDoc| k.begin_keyword.is_none() && k.keynum.is_none();
    if specs.is_empty() {
        return (0, 0, 0);
    }
    if specs.len() == 1 && is_range(&specs[0]) {
        let k = &specs[0];
        let last = if k.lastkey >= 0 {
            k.lastkey + k.begin_index
        } else {
            k.lastkey
        };
        return (k.begin_index, last, k.keystep);
    }
    let (mut first, mut last) = (i64::from(i32::MAX), 0i32);
    for k in specs.iter().filter(|k| is_range(k)) {
        if k.keystep != 1 {
            return (0, 0, 0);
        }
        first = first.min(k.begin_index);
        let abs = if k.lastkey >= 0 {
            k.lastkey + k.begin_index
        } else {
            k.lastkey
        } as i32;
        last = (last as u32).max(abs as u32) as i32;
    }
    if first == i64::from(i32::MAX) {
        return (0, 0, 0);
    }
    (first, i64::from(last), 1)
}

fn flag_names(bits: u32) -> Vec<&'static str> {
    flag::NAMES
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect()
}

fn merge_name_split(m: SplitMerge) -> &'static str {
    match m {
        SplitMerge::Interleave => "interleave",
        SplitMerge::Sum => "sum",
        SplitMerge::AllOk => "all_ok",
    }
}

fn merge_name_all(m: AllMerge) -> &'static str {
    match m {
        AllMerge::Sum => "sum",
        AllMerge::AllOk => "all_ok",
        AllMerge::Concat => "concat",
        AllMerge::AnyNonNull => "any_non_null",
        AllMerge::ConcatBulk => "concat_bulk",
    }
}

fn txn_name(t: TxnCmd) -> &'static str {
    match t {
        TxnCmd::Multi => "multi",
        TxnCmd::Exec => "exec",
        TxnCmd::Discard => "discard",
        TxnCmd::Watch => "watch",
        TxnCmd::Unwatch => "unwatch",
    }
}

fn kind_name(k: ArgKind) -> &'static str {
    k.as_str()
}

struct Gen<'a> {
    specs: &'a [Spec],
    paths: BTreeMap<String, (String, String)>,
    docs_order: Vec<&'static str>,
    mismatches: Vec<String>,
}

impl Gen<'_> {
    fn write_command(&mut self, out: &mut String, s: &Spec, prefix: &str, parent: Option<&Spec>) {
        writeln!(out, "[[{prefix}]]").unwrap();
        writeln!(out, "name = {}", q(s.name)).unwrap();
        let doc = docs::doc(s.name);
        match parent {
            None => {
                let t = self.specs.iter().filter(|x| !x.name.contains('|'));
                let table_pos = t.clone().position(|x| x.name == s.name).unwrap();
                writeln!(out, "table_order = {table_pos}").unwrap();
                match self.docs_order.iter().position(|n| *n == s.name) {
                    Some(i) => writeln!(out, "docs_order = {i}").unwrap(),
                    None => {
                        assert!(doc.is_none());
                        writeln!(out, "undocumented = true").unwrap()
                    }
                }
            }
            Some(p) => {
                let pdoc = docs::doc(p.name).unwrap();
                match pdoc.subcommands.iter().position(|n| *n == s.name) {
                    Some(i) => writeln!(out, "docs_order = {i}").unwrap(),
                    None => {
                        assert!(doc.is_none(), "{} documented but not listed", s.name);
                        writeln!(out, "undocumented = true").unwrap()
                    }
                }
            }
        }
        writeln!(out, "arity = {}", s.arity).unwrap();
        writeln!(out, "flags = {}", list(&flag_names(s.flags))).unwrap();
        writeln!(out, "acl = {}", list(s.acl)).unwrap();
        let (tips, key_specs) = keyspecs::meta(s.name);
        if !tips.is_empty() {
            writeln!(out, "tips = {}", list(tips)).unwrap();
        }
        // Where it runs.
        let (route_text, handler_text) = self
            .paths
            .get(s.name)
            .cloned()
            .unwrap_or_else(|| ("Route::Home".into(), String::new()));
        match s.route {
            Route::Home => writeln!(out, "route = \"home\"").unwrap(),
            Route::Keys(None) => writeln!(out, "route = \"keys\"").unwrap(),
            Route::Keys(Some(m)) => {
                writeln!(out, "route = \"keys\"\nmerge = {}", q(merge_name_split(m))).unwrap()
            }
            Route::All(m) => {
                writeln!(out, "route = \"all\"\nmerge = {}", q(merge_name_all(m))).unwrap()
            }
            Route::Coord(_) => {
                let inner = route_text
                    .strip_prefix("Route::Coord(")
                    .and_then(|r| r.strip_suffix(')'))
                    .unwrap_or_else(|| panic!("{}: {route_text}", s.name));
                writeln!(out, "route = \"coord\"\ncoord = {}", q(&rust_path(inner))).unwrap()
            }
            Route::Txn(t) => writeln!(out, "route = \"txn\"\ntxn = {}", q(txn_name(t))).unwrap(),
        }
        let handler = if s.is_container() {
            if s.name == "command" {
                "server::command".to_string()
            } else {
                "registry::container".to_string()
            }
        } else {
            rust_path(&handler_text)
        };
        writeln!(out, "handler = {}", q(&handler)).unwrap();
        if s.flags & flag::WHOLE_KEYSPACE != 0 {
            writeln!(out, "lock = \"whole\"").unwrap();
        } else if s.name == "xread" {
            writeln!(out, "lock = \"per_shard\"").unwrap();
        } else if s.name == "select" {
            writeln!(out, "lock = \"selects_db\"").unwrap();
        }
        if s.flags & flag::SUBSCRIBED_OK != 0 {
            writeln!(out, "subscribed = true").unwrap();
        }
        if s.flags & flag::NOT_QUEUED != 0 {
            writeln!(out, "queued = false").unwrap();
        }
        if s.keys.numkeys_at > 0 {
            writeln!(out, "numkeys_at = {}", s.keys.numkeys_at).unwrap();
        }
        match s.keys.native {
            NativeKeys::None => {}
            NativeKeys::Set => writeln!(out, "native_keys = \"set\"").unwrap(),
            NativeKeys::XRead => writeln!(out, "native_keys = \"xread\"").unwrap(),
        }
        // The legacy range must follow from the key specs.
        let derived = legacy_range(key_specs);
        let shown = if s.keys.first > 0 {
            (
                i64::from(s.keys.first),
                i64::from(s.keys.last),
                i64::from(s.keys.step),
            )
        } else {
            (0, 0, 0)
        };
        if derived != shown {
            self.mismatches.push(format!(
                "{}: table {:?}, derived {:?}",
                s.name, shown, derived
            ));
        }
        if let Some(d) = doc {
            self.write_doc_fields(out, d, parent.is_some());
        }
        for k in key_specs {
            writeln!(out, "\n[[{prefix}.key_spec]]").unwrap();
            if let Some(n) = k.notes {
                writeln!(out, "notes = {}", q(n)).unwrap();
            }
            writeln!(out, "flags = {}", list(k.flags)).unwrap();
            match k.begin_keyword {
                None => writeln!(out, "begin_search = {{ index = {} }}", k.begin_index).unwrap(),
                Some((w, from)) => writeln!(
                    out,
                    "begin_search = {{ keyword = {}, startfrom = {from} }}",
                    q(w)
                )
                .unwrap(),
            }
            match k.keynum {
                None => writeln!(
                    out,
                    "find_keys = {{ lastkey = {}, step = {}, limit = {} }}",
                    k.lastkey, k.keystep, k.limit
                )
                .unwrap(),
                Some((idx, first, step)) => writeln!(
                    out,
                    "find_keys = {{ keynumidx = {idx}, firstkey = {first}, step = {step} }}"
                )
                .unwrap(),
            }
        }
        if let Some(d) = doc {
            write_args(out, d.args, &format!("{prefix}.arg"));
        }
        if parent.is_none() {
            for &id in &s.subs {
                out.push('\n');
                let sub = &self.specs[id as usize];
                self.write_command(out, sub, &format!("{prefix}.sub"), Some(s));
            }
        }
    }

    fn write_doc_fields(&self, out: &mut String, d: &CmdDoc, is_sub: bool) {
        let _ = is_sub;
        writeln!(out, "summary = {}", q(d.summary)).unwrap();
        writeln!(out, "since = {}", q(d.since)).unwrap();
        writeln!(out, "complexity = {}", q(d.complexity)).unwrap();
        if !d.doc_flags.is_empty() {
            writeln!(out, "doc_flags = {}", list(d.doc_flags)).unwrap();
        }
        if let Some(v) = d.deprecated_since {
            writeln!(out, "deprecated_since = {}", q(v)).unwrap();
        }
        if let Some(v) = d.replaced_by {
            writeln!(out, "replaced_by = {}", q(v)).unwrap();
        }
        if !d.history.is_empty() {
            writeln!(out, "history = [").unwrap();
            for (v, note) in d.history {
                writeln!(out, "    [{}, {}],", q(v), q(note)).unwrap();
            }
            writeln!(out, "]").unwrap();
        }
    }
}

fn write_args(out: &mut String, args: &[ArgDoc], prefix: &str) {
    for a in args {
        writeln!(out, "\n[[{prefix}]]").unwrap();
        writeln!(out, "name = {}", q(a.name)).unwrap();
        writeln!(out, "type = {}", q(kind_name(a.kind))).unwrap();
        if let Some(i) = a.key_spec_index {
            writeln!(out, "key_spec_index = {i}").unwrap();
        }
        if let Some(t) = a.token {
            writeln!(out, "token = {}", q(t)).unwrap();
        }
        if let Some(v) = a.since {
            writeln!(out, "since = {}", q(v)).unwrap();
        }
        if let Some(v) = a.deprecated_since {
            writeln!(out, "deprecated_since = {}", q(v)).unwrap();
        }
        assert!(a.display.is_none());
        if a.optional {
            writeln!(out, "optional = true").unwrap();
        }
        if a.multiple {
            writeln!(out, "multiple = true").unwrap();
        }
        if a.multiple_token {
            writeln!(out, "multiple_token = true").unwrap();
        }
        write_args(out, a.args, &format!("{prefix}.arg"));
    }
}

/// The file of each Redis group, with the sentence that opens it.
const FILES: &[(&str, &str)] = &[
    ("connection", "Connection commands"),
    ("server", "Server commands"),
    ("generic", "Generic (keyspace) commands"),
    ("string", "String commands"),
    ("list", "List commands"),
    ("hash", "Hash commands"),
    ("set", "Set commands"),
    ("sorted-set", "Sorted set commands"),
    ("stream", "Stream commands"),
    ("pubsub", "Pub/Sub commands"),
    ("transactions", "Transaction commands"),
];

#[test]
#[ignore = "writes commands/*.toml; run by hand to regenerate"]
fn gen_registry() {
    let specs = table::build();
    let mut g = Gen {
        specs: &specs,
        paths: source_paths(),
        docs_order: docs::all().map(|d| d.name).collect(),
        mismatches: Vec::new(),
    };
    // Every doc belongs to a command of the table.
    let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
    for d in docs::all() {
        assert!(names.contains(&d.name), "doc {} has no command", d.name);
        for sub in d.subcommands {
            assert!(names.contains(sub), "doc {sub} has no command");
        }
    }
    for (n, _, _) in keyspecs::META {
        assert!(names.contains(n), "key specs of {n}, which has no command");
    }
    let mut files: BTreeMap<&str, String> = BTreeMap::new();
    for s in specs.iter().filter(|s| !s.name.contains('|')) {
        // Redis's list commands have no COMMAND DOCS entry in busbar yet.
        let group = docs::doc(s.name).map_or_else(
            || {
                assert!(
                    s.flags & flag::BLOCKING != 0 || s.acl.contains(&"@list"),
                    "{}",
                    s.name
                );
                "list"
            },
            |d| d.group,
        );
        assert!(FILES.iter().any(|(f, _)| *f == group), "group {group}");
        let out = files.entry(group).or_default();
        out.push('\n');
        g.write_command(out, s, "command", None);
    }
    assert!(
        g.mismatches.is_empty(),
        "legacy ranges: {:#?}",
        g.mismatches
    );
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/commands");
    std::fs::create_dir_all(dir).unwrap();
    for (group, head) in FILES {
        let body = files.remove(group).unwrap_or_default();
        let text = format!(
            "# {head}: Redis's `{group}` group (COMMAND DOCS reports it from this file's \
             name).\n# The fields are described in commands/README.md.\n{body}"
        );
        std::fs::write(format!("{dir}/{group}.toml"), text).unwrap();
    }
}
