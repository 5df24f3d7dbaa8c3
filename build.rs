//! Turns the command registry, `commands/*.toml` (one file per Redis command group), into
//! `$OUT_DIR/commands.rs`: the `static` command table that `cmd::registry` includes.
//!
//! Every fact about a command lives in its entry: what Redis reports for it (arity, flags,
//! ACL categories, key specs, tips, COMMAND DOCS), and what busbar needs to run it (route,
//! merge, handler, lock scope, ...). `commands/README.md` describes the fields. An entry
//! that lacks a field, or has one this file does not know, stops the build with a message
//! naming the command; a handler that does not exist stops it when rustc compiles the
//! generated table.

// A build script that panics stops the build with its message, which is what a bad entry
// should do; writing to a String cannot fail.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

/// One file: its commands, in any order (`table_order` / `docs_order` decide).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    command: Vec<Command>,
}

/// One command or subcommand. Fields every entry must have are `Option`s here so that a
/// missing one is reported with the command's name (`need`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Command {
    name: String,
    table_order: Option<usize>,
    docs_order: Option<usize>,
    #[serde(default)]
    undocumented: bool,
    arity: Option<i32>,
    flags: Option<Vec<String>>,
    acl: Option<Vec<String>>,
    #[serde(default)]
    tips: Vec<String>,
    route: Option<String>,
    merge: Option<String>,
    coord: Option<String>,
    txn: Option<String>,
    handler: Option<String>,
    lock: Option<String>,
    #[serde(default)]
    subscribed: bool,
    queued: Option<bool>,
    numkeys_at: Option<usize>,
    native_keys: Option<String>,
    summary: Option<String>,
    since: Option<String>,
    complexity: Option<String>,
    #[serde(default)]
    doc_flags: Vec<String>,
    deprecated_since: Option<String>,
    replaced_by: Option<String>,
    #[serde(default)]
    history: Vec<(String, String)>,
    #[serde(default)]
    key_spec: Vec<KeySpec>,
    #[serde(default)]
    arg: Vec<Arg>,
    #[serde(default)]
    sub: Vec<Command>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySpec {
    notes: Option<String>,
    flags: Vec<String>,
    begin_search: BeginSearch,
    find_keys: FindKeys,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BeginSearch {
    Index { index: i64 },
    Keyword { keyword: String, startfrom: i64 },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FindKeys {
    Range {
        lastkey: i64,
        step: i64,
        limit: i64,
    },
    Keynum {
        keynumidx: i64,
        firstkey: i64,
        step: i64,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Arg {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    key_spec_index: Option<u32>,
    token: Option<String>,
    since: Option<String>,
    deprecated_since: Option<String>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    multiple: bool,
    #[serde(default)]
    multiple_token: bool,
    #[serde(default)]
    arg: Vec<Arg>,
}

/// Redis's command flags, as COMMAND INFO names them; each is `flag::<NAME in upper case>`.
const FLAGS: &[&str] = &[
    "write",
    "readonly",
    "denyoom",
    "admin",
    "pubsub",
    "noscript",
    "blocking",
    "loading",
    "stale",
    "skip_monitor",
    "skip_slowlog",
    "fast",
    "no_auth",
    "no_mandatory_keys",
    "no_async_loading",
    "no_multi",
    "allow_busy",
    "movablekeys",
];

/// Argument types: the name COMMAND DOCS sends, and the `ArgKind` variant.
const ARG_KINDS: &[(&str, &str)] = &[
    ("key", "Key"),
    ("string", "String"),
    ("integer", "Integer"),
    ("double", "Double"),
    ("pattern", "Pattern"),
    ("unix-time", "UnixTime"),
    ("pure-token", "PureToken"),
    ("oneof", "OneOf"),
    ("block", "Block"),
];

/// Stops the build: `what` is wrong with command `name` in file `file`.
fn fail(file: &str, name: &str, what: &str) -> ! {
    panic!("commands/{file}.toml: command `{name}`: {what}")
}

/// The required field `field` of `c`.
fn need<'a, T>(file: &str, c: &Command, field: &str, v: &'a Option<T>) -> &'a T {
    v.as_ref()
        .unwrap_or_else(|| fail(file, &c.name, &format!("missing field `{field}`")))
}

/// A Rust string literal.
fn lit(s: &str) -> String {
    format!("{s:?}")
}

fn opt_lit(s: &Option<String>) -> String {
    s.as_ref()
        .map_or_else(|| "None".to_string(), |s| format!("Some({})", lit(s)))
}

fn str_slice(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| lit(s)).collect();
    format!("&[{}]", parts.join(", "))
}

/// A handler or coordinator path: under `crate::cmd` unless it is a `crate::` path.
fn rust_path(p: &str) -> String {
    if p.starts_with("crate::") {
        p.to_string()
    } else {
        format!("crate::cmd::{p}")
    }
}

/// Redis's legacy (first, last, step) from the key specs, the rule Redis 7.0 applies at
/// start-up: one index/range spec gives its own; several give the span of their
/// index/range specs when all step by one (a negative, from-the-end last key wins, as
/// Redis compares them unsigned); anything else gives none.
fn legacy_range(specs: &[KeySpec]) -> (i64, i64, i64) {
    let range = |k: &KeySpec| match (&k.begin_search, &k.find_keys) {
        (BeginSearch::Index { index }, FindKeys::Range { lastkey, step, .. }) => {
            Some((*index, *lastkey, *step))
        }
        _ => None,
    };
    // The last key as an argument index, or negative from the end.
    let absolute = |index: i64, lastkey: i64| {
        if lastkey >= 0 {
            index + lastkey
        } else {
            lastkey
        }
    };
    if let [only] = specs {
        if let Some((index, lastkey, step)) = range(only) {
            return (index, absolute(index, lastkey), step);
        }
    }
    let mut span: Option<(i64, i64)> = None;
    for (index, lastkey, step) in specs.iter().filter_map(range) {
        if step != 1 {
            return (0, 0, 0);
        }
        let last = absolute(index, lastkey);
        span = Some(match span {
            None => (index, last),
            Some((first, prev)) => (first.min(index), unsigned_max(prev, last)),
        });
    }
    span.map_or((0, 0, 0), |(first, last)| (first, last, 1))
}

/// The larger of two C ints compared as unsigned (so -1 beats any index).
fn unsigned_max(a: i64, b: i64) -> i64 {
    if (a as i32 as u32) >= (b as i32 as u32) {
        a
    } else {
        b
    }
}

fn check_args(file: &str, c: &Command, args: &[Arg]) {
    for a in args {
        let bad =
            |what: &str| -> ! { fail(file, &c.name, &format!("argument `{}`: {what}", a.name)) };
        if !ARG_KINDS.iter().any(|(k, _)| *k == a.kind) {
            bad(&format!("unknown type `{}`", a.kind));
        }
        let nested = a.kind == "oneof" || a.kind == "block";
        if nested == a.arg.is_empty() {
            bad("a `oneof` or `block` has nested arguments, and only they do");
        }
        if (a.kind == "key") != a.key_spec_index.is_some() {
            bad("a `key` has a `key_spec_index`, and only keys do");
        }
        if let Some(i) = a.key_spec_index {
            if i as usize >= c.key_spec.len() {
                bad(&format!(
                    "key_spec_index {i} but {} key specs",
                    c.key_spec.len()
                ));
            }
        }
        if a.kind == "pure-token" && a.token.is_none() {
            bad("a `pure-token` needs its `token`");
        }
        check_args(file, c, &a.arg);
    }
}

fn write_args(out: &mut String, args: &[Arg]) {
    out.push_str("&[");
    for a in args {
        let kind = ARG_KINDS
            .iter()
            .find(|(k, _)| *k == a.kind)
            .expect("checked")
            .1;
        write!(
            out,
            "ArgDoc {{ name: {}, kind: ArgKind::{kind}, token: {}, display: None, \
             key_spec_index: {}, optional: {}, multiple: {}, multiple_token: {}, since: {}, \
             deprecated_since: {}, args: ",
            lit(&a.name),
            opt_lit(&a.token),
            a.key_spec_index
                .map_or_else(|| "None".to_string(), |i| format!("Some({i})")),
            a.optional,
            a.multiple,
            a.multiple_token,
            opt_lit(&a.since),
            opt_lit(&a.deprecated_since),
        )
        .unwrap();
        write_args(out, &a.arg);
        out.push_str(" }, ");
    }
    out.push(']');
}

/// Writes one `Spec` (`subs`: its subcommands' ids; `doc_subs`: their names in COMMAND DOCS
/// order).
/// May this command join a pipeline batch (`flag::BATCHABLE`, `shard::batch`)? A keyed,
/// non-blocking command that wakes no blocked client (list, sorted set and stream writes
/// may, as may the generic key moves, which name no type) and, when it only reads, is
/// `@fast` (the walks of whole collections pace their replies outside a batch).
fn batchable(c: &Command, acl: &[String]) -> bool {
    let flags = c.flags.as_deref().unwrap_or(&[]);
    let has = |f: &str| flags.iter().any(|x| x == f);
    let cat = |a: &str| acl.iter().any(|x| x == a);
    if c.route.as_deref() != Some("keys") || has("blocking") {
        return false;
    }
    if has("readonly") {
        return cat("@fast");
    }
    let wakes = ["@list", "@sortedset", "@stream", "@geo"]
        .iter()
        .any(|a| cat(a));
    let typed = ["@string", "@hash", "@set", "@bitmap", "@hyperloglog"]
        .iter()
        .any(|a| cat(a));
    has("write") && typed && !wakes
}

fn write_spec(
    out: &mut String,
    file: &str,
    c: &Command,
    id: usize,
    subs: &[usize],
    doc_subs: &[&str],
) {
    macro_rules! bad {
        ($($t:tt)*) => {
            fail(file, &c.name, &format!($($t)*))
        };
    }
    let arity = *need(file, c, "arity", &c.arity);
    // Flags: Redis's, then busbar's own.
    let mut bits: Vec<String> = Vec::new();
    for f in need(file, c, "flags", &c.flags) {
        if !FLAGS.contains(&f.as_str()) {
            bad!("unknown flag `{f}`");
        }
        bits.push(format!("flag::{}", f.to_ascii_uppercase()));
    }
    if c.subscribed {
        bits.push("flag::SUBSCRIBED_OK".into());
    }
    if c.queued == Some(false) {
        bits.push("flag::NOT_QUEUED".into());
    }
    let acl = need(file, c, "acl", &c.acl);
    if batchable(c, acl) {
        bits.push("flag::BATCHABLE".into());
    }
    let flags = if bits.is_empty() {
        "0".to_string()
    } else {
        bits.join(" | ")
    };
    if let Some(a) = acl.iter().find(|a| !a.starts_with('@')) {
        bad!("ACL category `{a}` does not start with `@`");
    }
    // Where it runs, and how parts merge.
    let merge = |kinds: &[(&str, &str)], enum_name: &str| -> Option<String> {
        c.merge.as_ref().map(|m| {
            let v = kinds
                .iter()
                .find(|(k, _)| k == m)
                .unwrap_or_else(|| bad!("unknown merge `{m}` for this route"))
                .1;
            format!("{enum_name}::{v}")
        })
    };
    let split = [
        ("interleave", "Interleave"),
        ("sum", "Sum"),
        ("all_ok", "AllOk"),
    ];
    let all = [
        ("sum", "Sum"),
        ("all_ok", "AllOk"),
        ("concat", "Concat"),
        ("any_non_null", "AnyNonNull"),
        ("concat_bulk", "ConcatBulk"),
        ("same", "Same"),
    ];
    let route_name = need(file, c, "route", &c.route).as_str();
    let only = |field: &str, set: bool, allowed: bool| {
        if set && !allowed {
            bad!("`{field}` does not apply to route `{route_name}`");
        }
    };
    only(
        "merge",
        c.merge.is_some(),
        matches!(route_name, "keys" | "all"),
    );
    only("coord", c.coord.is_some(), route_name == "coord");
    only("txn", c.txn.is_some(), route_name == "txn");
    let route = match route_name {
        "home" => "Route::Home".to_string(),
        "keys" => match merge(&split, "SplitMerge") {
            None => "Route::Keys(None)".to_string(),
            Some(m) => format!("Route::Keys(Some({m}))"),
        },
        "all" => format!(
            "Route::All({})",
            merge(&all, "AllMerge").unwrap_or_else(|| bad!("route `all` needs a `merge`"))
        ),
        "coord" => format!(
            "Route::Coord({})",
            rust_path(need::<String>(file, c, "coord", &c.coord))
        ),
        "txn" => {
            let t = need(file, c, "txn", &c.txn);
            let v = [
                ("multi", "Multi"),
                ("exec", "Exec"),
                ("discard", "Discard"),
                ("watch", "Watch"),
                ("unwatch", "Unwatch"),
            ]
            .iter()
            .find(|(k, _)| k == t)
            .unwrap_or_else(|| bad!("unknown txn `{t}`"))
            .1;
            format!("Route::Txn(TxnCmd::{v})")
        }
        other => bad!("unknown route `{other}`"),
    };
    let lock = match c.lock.as_deref().unwrap_or("keys") {
        "keys" => "Keys",
        "whole" => "Whole",
        "per_shard" => "PerShard",
        "selects_db" => "SelectsDb",
        other => bad!("unknown lock `{other}`"),
    };
    let handler = rust_path(need::<String>(file, c, "handler", &c.handler));
    // Key positions for routing: Redis's legacy range, the `numkeys` argument, and the
    // command's own key finder.
    let (first, last, step) = legacy_range(&c.key_spec);
    let native = match c.native_keys.as_deref() {
        None => "None",
        Some("set") => "Set",
        Some("xread") => "XRead",
        Some(other) => bad!("unknown native_keys `{other}`"),
    };
    let mut key_specs = String::from("&[");
    for k in &c.key_spec {
        if let Some(f) = k.flags.iter().find(|f| f.is_empty()) {
            bad!("empty key spec flag {f:?}");
        }
        let (begin_index, begin_keyword) = match &k.begin_search {
            BeginSearch::Index { index } => (*index, "None".to_string()),
            BeginSearch::Keyword { keyword, startfrom } => {
                (0, format!("Some(({}, {startfrom}))", lit(keyword)))
            }
        };
        let (lastkey, keystep, limit, keynum) = match &k.find_keys {
            FindKeys::Range {
                lastkey,
                step,
                limit,
            } => (*lastkey, *step, *limit, "None".to_string()),
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                step,
            } => (0, 0, 0, format!("Some(({keynumidx}, {firstkey}, {step}))")),
        };
        write!(
            key_specs,
            "KeySpecDoc {{ notes: {}, flags: {}, begin_index: {begin_index}, begin_keyword: \
             {begin_keyword}, lastkey: {lastkey}, keystep: {keystep}, limit: {limit}, keynum: \
             {keynum} }}, ",
            opt_lit(&k.notes),
            str_slice(&k.flags),
        )
        .unwrap();
    }
    key_specs.push(']');
    // COMMAND DOCS.
    let doc_fields = [
        c.summary.is_some(),
        c.since.is_some(),
        c.complexity.is_some(),
        !c.arg.is_empty(),
        !c.history.is_empty(),
        !c.doc_flags.is_empty(),
    ];
    let doc = if c.undocumented {
        if doc_fields.iter().any(|&f| f) || c.docs_order.is_some() {
            bad!("an `undocumented` command has no COMMAND DOCS fields");
        }
        "None".to_string()
    } else {
        let summary = need(file, c, "summary", &c.summary);
        if summary.is_empty() || summary.contains(['\r', '\n']) {
            bad!("`summary` is one non-empty line");
        }
        check_args(file, c, &c.arg);
        let mut args = String::new();
        write_args(&mut args, &c.arg);
        let history: Vec<String> = c
            .history
            .iter()
            .map(|(v, n)| format!("({}, {})", lit(v), lit(n)))
            .collect();
        let subcommands: Vec<String> = doc_subs.iter().map(|s| s.to_string()).collect();
        format!(
            "Some(&CmdDoc {{ name: {}, summary: {}, since: {}, group: {}, complexity: {}, \
             doc_flags: {}, deprecated_since: {}, replaced_by: {}, history: &[{}], args: \
             {args}, subcommands: {} }})",
            lit(&c.name),
            lit(summary),
            lit(need::<String>(file, c, "since", &c.since)),
            lit(file),
            opt_lit(&c.complexity),
            str_slice(&c.doc_flags),
            opt_lit(&c.deprecated_since),
            opt_lit(&c.replaced_by),
            history.join(", "),
            str_slice(&subcommands),
        )
    };
    let subs: Vec<String> = subs.iter().map(|s| s.to_string()).collect();
    writeln!(
        out,
        "    Spec {{\n        id: {id},\n        name: {},\n        arity: {arity},\n        \
         flags: {flags},\n        acl: {},\n        keys: KeySpec {{ first: {first}, last: \
         {last}, step: {step}, numkeys_at: {}, native: NativeKeys::{native} }},\n        \
         key_specs: {key_specs},\n        tips: {},\n        route: {route},\n        lock: \
         LockScope::{lock},\n        handler: {handler},\n        subs: &[{}],\n        doc: \
         {doc},\n    }},",
        lit(&c.name),
        str_slice(acl),
        c.numkeys_at.unwrap_or(0),
        str_slice(&c.tips),
        subs.join(", "),
    )
    .unwrap();
}

/// Checks that `orders` (position, what) are exactly 0..n, each once.
fn check_order(what: &str, mut orders: Vec<(usize, String)>) {
    orders.sort();
    for (i, (pos, name)) in orders.iter().enumerate() {
        if *pos != i {
            panic!(
                "commands/*.toml: {what}: `{name}` has {pos}, expected {i} (the positions \
                 must be 0, 1, 2 ... with none twice or missing)"
            );
        }
    }
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("commands");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", dir.display());
    // (group, command) for every top-level command of every file.
    let mut files: Vec<(String, File)> = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("commands/ holds the command registry")
        .map(|e| e.expect("commands/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        println!("cargo:rerun-if-changed={}", path.display());
        let group = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let file: File =
            toml::from_str(&text).unwrap_or_else(|e| panic!("commands/{group}.toml: {e}"));
        files.push((group, file));
    }
    let mut top: Vec<(&str, &Command)> = Vec::new();
    for (group, file) in &files {
        for c in &file.command {
            top.push((group, c));
        }
    }
    // Names: lower case, unique; subcommands as `container|sub`, one level deep.
    let mut seen = BTreeMap::new();
    for &(file, c) in &top {
        let mut check = |c: &Command, parent: Option<&Command>| {
            if c.name != c.name.to_ascii_lowercase() || c.name.is_empty() {
                fail(file, &c.name, "names are lower case");
            }
            if let Some(p) = parent {
                let ok = c
                    .name
                    .strip_prefix(p.name.as_str())
                    .and_then(|r| r.strip_prefix('|'));
                if ok.is_none_or(|r| r.is_empty() || r.contains('|')) {
                    fail(
                        file,
                        &c.name,
                        &format!("a subcommand of `{}` is named `{}|...`", p.name, p.name),
                    );
                }
                if !c.sub.is_empty() {
                    fail(file, &c.name, "containers do not nest");
                }
                if c.table_order.is_some() {
                    fail(
                        file,
                        &c.name,
                        "a subcommand's table position is its place in the file",
                    );
                }
            } else if c.name.contains('|') {
                fail(file, &c.name, "`|` only in subcommand names");
            }
            if let Some(other) = seen.insert(c.name.clone(), file) {
                fail(file, &c.name, &format!("also in commands/{other}.toml"));
            }
        };
        check(c, None);
        for s in &c.sub {
            check(s, Some(c));
        }
    }
    check_order(
        "table_order",
        top.iter()
            .map(|(f, c)| (*need(f, c, "table_order", &c.table_order), c.name.clone()))
            .collect(),
    );
    let documented = |c: &Command, file: &str| -> Option<(usize, String)> {
        if c.undocumented {
            return None;
        }
        Some((*need(file, c, "docs_order", &c.docs_order), c.name.clone()))
    };
    check_order(
        "docs_order",
        top.iter().filter_map(|(f, c)| documented(c, f)).collect(),
    );
    top.sort_by_key(|(_, c)| c.table_order);
    // The table: each top-level command, then its subcommands in file order.
    let mut out = String::new();
    out.push_str("// Generated by build.rs from commands/*.toml; edit those instead.\n\n");
    let mut specs = String::new();
    let mut id = 0usize;
    let mut docs_ids: Vec<(usize, usize)> = Vec::new();
    for &(file, c) in &top {
        let parent_id = id;
        let sub_ids: Vec<usize> = (parent_id + 1..parent_id + 1 + c.sub.len()).collect();
        let mut doc_subs: Vec<(usize, &str)> = Vec::new();
        for s in &c.sub {
            if let Some((pos, _)) = documented(s, file) {
                doc_subs.push((pos, &s.name));
            }
        }
        check_order(
            &format!("docs_order of `{}`'s subcommands", c.name),
            doc_subs.iter().map(|(p, n)| (*p, n.to_string())).collect(),
        );
        doc_subs.sort();
        let doc_subs: Vec<&str> = doc_subs.into_iter().map(|(_, n)| n).collect();
        if let Some(pos) = c.docs_order.filter(|_| !c.undocumented) {
            docs_ids.push((pos, parent_id));
        }
        write_spec(&mut specs, file, c, parent_id, &sub_ids, &doc_subs);
        for (s, &sid) in c.sub.iter().zip(&sub_ids) {
            write_spec(&mut specs, file, s, sid, &[], &[]);
        }
        id += 1 + c.sub.len();
    }
    docs_ids.sort();
    writeln!(
        out,
        "/// Commands and subcommands in the table.\npub const COUNT: usize = {id};\n"
    )
    .unwrap();
    writeln!(
        out,
        "/// Every command and subcommand; a container's subcommands follow it.\n\
         pub(super) static TABLE: Table = Table {{\n    specs: [\n{specs}    ],\n    by_name: \
         OnceLock::new(),\n}};\n"
    )
    .unwrap();
    let ids: Vec<String> = docs_ids.iter().map(|(_, id)| id.to_string()).collect();
    writeln!(
        out,
        "/// The documented top-level commands' ids, in COMMAND DOCS order.\n\
         pub(super) static DOCS_ORDER: [u16; {}] = [{}];",
        ids.len(),
        ids.join(", ")
    )
    .unwrap();
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("commands.rs");
    std::fs::write(dest, out).unwrap();
}
