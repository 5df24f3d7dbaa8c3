//! Imports point one way, checked: every file under `src/` is read, the top-level modules
//! it names (`crate::x`, `use crate::{x, ...}`, `super::` resolved against the file's
//! module path) are collected, and each edge is held against `LAYERS`, the table that
//! src/lib.rs's "Imports point one way" states in prose. Comments (doc comments too),
//! string and character literals are blanked first, so only code counts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers of the crate, top first: a module may import the modules of any layer below
/// its own, and none above. `knot` marks a layer whose modules also import each other
/// (only the core, where a command's coordinator still takes the shard and the
/// connection); in any other layer siblings do not import each other. Every module
/// src/lib.rs declares appears here exactly once, and lib.rs's "Imports point one way"
/// names the same layers in the same order (`lib_rs_states_the_same_layers`).
const LAYERS: &[Layer] = &[
    Layer {
        name: "bootstrap",
        modules: &["server"],
        knot: false,
    },
    Layer {
        name: "core",
        modules: &["shard", "conn", "cmd"],
        knot: true,
    },
    Layer {
        name: "services",
        modules: &["config", "pubsub", "tx", "stats", "persist"],
        knot: false,
    },
    Layer {
        name: "data",
        modules: &["store", "error"],
        knot: false,
    },
    Layer {
        name: "wire",
        modules: &["resp", "log", "sync"],
        knot: false,
    },
    Layer {
        name: "leaves",
        modules: &["num", "clock", "hop"],
        knot: false,
    },
];

struct Layer {
    name: &'static str,
    modules: &'static [&'static str],
    knot: bool,
}

/// Where `module` sits: (layer index, the layer).
fn layer_of(module: &str) -> Option<(usize, &'static Layer)> {
    LAYERS
        .iter()
        .enumerate()
        .find(|(_, l)| l.modules.contains(&module))
}

/// Whether top-level module `from` may import top-level module `to`.
fn allowed(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    let (Some((a, la)), Some((b, _))) = (layer_of(from), layer_of(to)) else {
        return false;
    };
    a < b || (a == b && la.knot)
}

/// One reference from a file to a top-level module.
#[derive(Debug, PartialEq, Eq)]
struct Edge {
    line: usize,
    to: String,
    /// The text it was found in, for the failure message.
    path: String,
}

/// `src` with every comment and every string, byte-string, raw-string and character
/// literal replaced by spaces; line breaks stay, so line numbers still hold.
fn blank_non_code(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        let prev_ident = i > 0 && ident(b[i - 1]);
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let (mut j, mut depth) = (i + 2, 1);
                while j < b.len() && depth > 0 {
                    if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                        depth += 1;
                        j += 2;
                    } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                        depth -= 1;
                        j += 2;
                    } else {
                        j += 1;
                    }
                }
                blank(&mut out, i, j);
                i = j;
            }
            // A raw string: r"..", r#".."#, br#".."# (the `b` is an ident char before it).
            b'r' if (!prev_ident || (b[i - 1] == b'b' && (i < 2 || !ident(b[i - 2]))))
                && matches!(b.get(i + 1), Some(b'"' | b'#')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let body = i + 2 + hashes;
                let mut close = vec![b'"'];
                close.extend(std::iter::repeat_n(b'#', hashes));
                let end = b[body..]
                    .windows(close.len())
                    .position(|w| w == close.as_slice())
                    .map_or(b.len(), |n| body + n + close.len());
                blank(&mut out, i, end);
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let end = (j + 1).min(b.len());
                blank(&mut out, i, end);
                i = end;
            }
            b'\'' => {
                // A character literal ('x', '\n', '\'', '\u{1F600}', 'é'), or a lifetime.
                let end = if b.get(i + 1) == Some(&b'\\') {
                    b[i + 3..]
                        .iter()
                        .position(|&c| c == b'\'')
                        .map(|n| i + 3 + n + 1)
                } else {
                    let ch = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (b.get(i + 1 + ch) == Some(&b'\'')).then_some(i + 2 + ch)
                };
                match end {
                    Some(end) => {
                        blank(&mut out, i, end);
                        i = end;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).expect("only ASCII bytes were replaced")
}

/// A token of blanked code: an identifier or one punctuation character (`::` is one token).
#[derive(Debug, Clone, PartialEq)]
struct Tok<'a> {
    text: &'a str,
    line: usize,
}

fn tokens(code: &str) -> Vec<Tok<'_>> {
    let b = code.as_bytes();
    let (mut out, mut i, mut line) = (Vec::new(), 0, 1);
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                i += 1;
            }
            out.push(Tok {
                text: &code[start..i],
                line,
            });
        } else if c == b':' && b.get(i + 1) == Some(&b':') {
            out.push(Tok { text: "::", line });
            i += 2;
        } else {
            out.push(Tok {
                text: &code[i..i + 1],
                line,
            });
            i += 1;
        }
    }
    out
}

/// The top-level items a `use` group names: `{a, b::c, d::{e, f}}` starting at `open`
/// (the `{`) gives `a`, `b`, `d`.
fn group_heads<'a>(toks: &[Tok<'a>], open: usize) -> Vec<&'a str> {
    let (mut heads, mut depth, mut want_head) = (Vec::new(), 0, true);
    for t in &toks[open..] {
        match t.text {
            "{" => {
                depth += 1;
                want_head = depth == 1;
            }
            "}" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            "," if depth == 1 => want_head = true,
            _ if want_head && depth == 1 => {
                heads.push(t.text);
                want_head = false;
            }
            _ => {}
        }
    }
    heads
}

/// Every reference to a top-level module in the code of a file whose module path is
/// `module` (`["cmd", "zsets"]` for src/cmd/zsets.rs, `[]` for src/lib.rs).
fn references(src: &str, module: &[&str]) -> Vec<Edge> {
    let code = blank_non_code(src);
    let toks = tokens(&code);
    let text = |i: usize| toks.get(i).map_or("", |t| t.text);
    let mut edges = Vec::new();
    // Inline `mod name { ... }` blocks: (name, brace depth inside them).
    let mut inline: Vec<(&str, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < toks.len() {
        match text(i) {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                while inline.last().is_some_and(|&(_, d)| d > depth) {
                    inline.pop();
                }
            }
            "mod" if text(i + 2) == "{" => inline.push((text(i + 1), depth + 1)),
            _ => {}
        }
        let starts_path = text(i.wrapping_sub(1)) != "::" && text(i.wrapping_sub(1)) != "$";
        let (root_at, here) = match text(i) {
            "crate" if starts_path && text(i + 1) == "::" => (Some(i + 2), None),
            "super" if starts_path && text(i + 1) == "::" => {
                let mut path: Vec<&str> = module.to_vec();
                path.extend(inline.iter().map(|&(n, _)| n));
                let mut j = i;
                while text(j) == "super" && text(j + 1) == "::" {
                    path.pop();
                    j += 2;
                }
                match path.first() {
                    None => (Some(j), None),
                    Some(top) => (None, Some(top.to_string())),
                }
            }
            _ => (None, None),
        };
        let line = toks[i].line;
        let path = || {
            toks[i..toks.len().min(i + 8)]
                .iter()
                .map(|t| t.text)
                .collect::<String>()
        };
        if let Some(top) = here {
            edges.push(Edge {
                line,
                to: top,
                path: path(),
            });
        }
        if let Some(at) = root_at {
            let heads: Vec<&str> = if text(at) == "{" {
                group_heads(&toks, at)
            } else {
                vec![text(at)]
            };
            for h in heads.into_iter().filter(|&h| h != "self" && h != "*") {
                edges.push(Edge {
                    line,
                    to: h.to_string(),
                    path: path(),
                });
            }
        }
        i += 1;
    }
    edges
}

/// Top-level modules `src/lib.rs` declares (`pub mod x;`, `mod x;`).
fn declared_modules(lib: &str) -> Vec<String> {
    let code = blank_non_code(lib);
    let toks = tokens(&code);
    toks.windows(3)
        .filter(|w| w[0].text == "mod" && w[2].text == ";")
        .map(|w| w[1].text.to_string())
        .collect()
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable") {
        let p = e.expect("directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file relative to src/: `cmd/zsets.rs` is `cmd::zsets`,
/// `cmd/mod.rs` is `cmd`, `lib.rs` the crate root.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

#[test]
fn imports_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let declared = declared_modules(&lib);
    let mut problems = Vec::new();

    let mut listed = BTreeSet::new();
    for l in LAYERS {
        for m in l.modules {
            if !listed.insert(*m) {
                problems.push(format!("LAYERS lists `{m}` twice (layer {})", l.name));
            }
        }
    }
    for m in &declared {
        if layer_of(m).is_none() {
            problems.push(format!(
                "src/lib.rs declares module `{m}` but LAYERS gives it no layer: add it to \
                 tests/imports.rs and to lib.rs's \"Imports point one way\""
            ));
        }
    }
    for m in &listed {
        if !declared.iter().any(|d| d == m) {
            problems.push(format!(
                "LAYERS lists `{m}`, which src/lib.rs does not declare"
            ));
        }
    }

    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src/");
        // The binary is its own crate: it uses the library as a whole.
        if rel == Path::new("main.rs") {
            continue;
        }
        let module = module_path(rel);
        let Some(from) = module.first() else {
            continue; // src/lib.rs: the root declares every module.
        };
        if !declared.contains(from) {
            problems.push(format!(
                "src/{}: module `{from}` is not declared in src/lib.rs",
                rel.display()
            ));
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a source file");
        let module: Vec<&str> = module.iter().map(String::as_str).collect();
        for e in references(&text, &module) {
            if !allowed(from, &e.to) {
                problems.push(format!(
                    "src/{}:{}: `{from}` imports `{}` (`{}`), against the direction in \
                     src/lib.rs (tests/imports.rs LAYERS)",
                    rel.display(),
                    e.line,
                    e.to,
                    e.path
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn lib_rs_states_the_same_layers() {
    // src/lib.rs's doc says "Imports point one way: a → {b, c} → ... ." naming every layer
    // in order, top first; that sentence and LAYERS must agree.
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("src/lib.rs");
    let doc: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .collect::<Vec<_>>()
        .join(" ");
    let (_, rest) = doc
        .split_once("Imports point one way:")
        .expect("src/lib.rs states \"Imports point one way:\"");
    let sentence = rest.split('.').next().unwrap_or("");
    let words = |s: &str| -> Vec<String> {
        let mut w: Vec<String> = s
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        w.sort();
        w
    };
    let stated: Vec<Vec<String>> = sentence.split('→').map(words).collect();
    let table: Vec<Vec<String>> = LAYERS.iter().map(|l| words(&l.modules.join(" "))).collect();
    assert_eq!(
        stated, table,
        "src/lib.rs's \"Imports point one way\" and tests/imports.rs LAYERS disagree"
    );
}

#[test]
fn comments_and_literals_are_not_imports() {
    let src = r##"
//! Talks about `crate::shard` in a doc comment.
/// And `super::super::cmd` here.
/* a block comment with crate::server /* nested crate::conn */ still out */
const A: &str = "crate::cmd::x";
const B: &[u8] = b"use crate::shard;";
const C: &str = r#"crate::server "quoted" "#;
const D: char = '"';
fn f<'a>(x: &'a str) -> &'a str { let _q = '\''; x }
use crate::store::Keyspace;
"##;
    let edges = references(src, &["resp", "parse"]);
    let to: Vec<&str> = edges.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(to, ["store"]);
    assert_eq!(edges[0].line, 10);
}

#[test]
fn groups_and_super_resolve_to_top_level_modules() {
    let src = "
use crate::{cmd::{self, Args}, error::CmdError, self};
use super::Key;
mod tests {
    use super::super::glob;
}
pub(crate) fn f() { super::super::shard::run(); crate::num::parse_i64(b\"1\"); }
";
    let to: Vec<String> = references(src, &["store", "pin"])
        .into_iter()
        .map(|e| e.to)
        .collect();
    // `super::Key` from store::pin is store; `super::super::glob` inside `mod tests`
    // is store::glob; `super::super::shard` from store::pin is the top-level shard.
    assert_eq!(to, ["cmd", "error", "store", "store", "shard", "num"]);
}

#[test]
fn the_table_refuses_an_upward_import() {
    assert!(allowed("cmd", "store"));
    assert!(allowed("shard", "cmd"));
    assert!(!allowed("store", "cmd"));
    assert!(!allowed("num", "resp"));
    assert!(!allowed("resp", "store"));
    assert!(!allowed("tx", "pubsub"));
    assert!(!allowed("store", "newmodule"));
}
