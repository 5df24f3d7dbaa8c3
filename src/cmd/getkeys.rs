//! Which arguments of a command line are keys, and how the command uses each, as
//! `COMMAND GETKEYS` and `COMMAND GETKEYSANDFLAGS` report them: read from the command's key
//! specs (its registry entry's `key_specs`), with Redis 7.0's per-command fallbacks where the
//! specs cannot say (a `numkeys` that does not parse, SET's flags that depend on `GET`,
//! XREAD's options).
//!
//! Routing does not use this: it reads the table's `KeySpec`, which is cheaper. This module
//! answers what Redis answers, quirks included, so cluster clients that ask the server where
//! a command's keys are get Redis's positions.

use crate::cmd::registry::KeySpecDoc;
use crate::cmd::{flag, Args, NativeKeys, Spec};
use crate::num::cnum::{atoi, c_str};
use crate::num::parse_i64;

/// One key of a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    /// Index of the key in the command line (the command name is 0).
    pub pos: usize,
    /// Key spec flags in COMMAND INFO order (`RW`, `access`, ...); empty when a fallback
    /// found the key, as Redis's fallbacks set none.
    pub flags: &'static [&'static str],
}

/// Why a command line has no keys to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoKeys {
    /// The command never takes keys (`ERR The command has no key arguments`).
    NoKeyArguments,
    /// The line's length does not fit the command's arity
    /// (`ERR Invalid number of arguments specified for command`).
    Arity,
    /// The keys cannot be found in this line (`ERR Invalid arguments specified for
    /// command`), and the command has mandatory keys.
    Invalid,
}

impl NoKeys {
    /// Redis's error text.
    pub fn text(self) -> &'static str {
        match self {
            NoKeys::NoKeyArguments => "ERR The command has no key arguments",
            NoKeys::Arity => "ERR Invalid number of arguments specified for command",
            NoKeys::Invalid => "ERR Invalid arguments specified for command",
        }
    }
}

/// True if `spec` ever takes keys: it has a key spec for real keys (SPUBLISH's channel is
/// marked `not_key`) or a fallback of its own.
pub fn has_keys(spec: &Spec) -> bool {
    let specs = spec.key_specs;
    specs.iter().any(|k| !is(k, "not_key"))
        || spec.keys.numkeys_at > 0
        || spec.keys.native != NativeKeys::None
}

/// The keys of `line` (a whole command line, its name at 0) for the command `spec`, in
/// Redis's order, after Redis's checks: keys at all, then arity. An empty `Ok` only for a
/// command whose keys are optional.
pub fn keys_of(spec: &Spec, line: &Args) -> Result<Vec<KeyRef>, NoKeys> {
    if !has_keys(spec) {
        return Err(NoKeys::NoKeyArguments);
    }
    let argc = line.len() as i64;
    let arity = spec.arity as i64;
    if (arity > 0 && argc != arity) || argc < -arity {
        return Err(NoKeys::Arity);
    }
    let specs = spec.key_specs;
    // The specs are Redis's first choice, unless one of them says its flags depend on the
    // arguments; a spec that fails (a bad `numkeys`, keys past the end) hands over to the
    // command's own finder.
    let real = specs.iter().any(|k| !is(k, "not_key"));
    let variable = specs.iter().any(|k| is(k, "variable_flags"));
    let keys = match (real && !variable)
        .then(|| from_specs(specs, line))
        .flatten()
    {
        Some(keys) => keys,
        None => fallback(spec, line),
    };
    if keys.is_empty() && spec.flags & flag::NO_MANDATORY_KEYS == 0 {
        return Err(NoKeys::Invalid);
    }
    Ok(keys)
}

fn is(k: &KeySpecDoc, name: &str) -> bool {
    k.flags.contains(&name)
}

/// The keys every spec finds, in spec order; `None` when a spec is malformed for this line
/// (Redis's `invalid_spec`) or incomplete.
fn from_specs(specs: &[KeySpecDoc], line: &Args) -> Option<Vec<KeyRef>> {
    // Redis does this arithmetic in C ints; arguments are far fewer than 2^31, and the
    // one value a client controls (`numkeys`) is cut to an int as Redis cuts it.
    let argc = line.len() as i32;
    let mut keys = Vec::new();
    for k in specs {
        if is(k, "not_key") {
            continue;
        }
        let first = match k.begin_keyword {
            None => k.begin_index as i32,
            Some((word, startfrom)) => match keyword_position(line, word, startfrom as i32) {
                Some(at) => at + 1,
                // No keyword, no keys from this spec, and that is not an error.
                None => continue,
            },
        };
        let (first, last, step) = match k.keynum {
            None => {
                let last = if k.lastkey >= 0 {
                    first + k.lastkey as i32
                } else if k.limit == 0 {
                    argc + k.lastkey as i32
                } else {
                    // A limit divides what follows `first` (XREAD: keys, then as many IDs).
                    first + ((argc - first) / k.limit as i32 + k.lastkey as i32)
                };
                (first, last, k.keystep as i32)
            }
            Some((keynumidx, firstkey, keystep)) => {
                let at = first.checked_add(keynumidx as i32)?;
                if keynumidx as i32 >= argc || at >= argc {
                    return None;
                }
                let numkeys = parse_i64(line.get(at as usize)).filter(|&n| n >= 0)?;
                let first = first + firstkey as i32;
                // `(int)numkeys`, as Redis casts it.
                let last = first.wrapping_add(numkeys as i32).wrapping_sub(1);
                (first, last, keystep as i32)
            }
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        // In bounds: `last < argc` was just checked.
        for i in (first..=last).step_by(step.max(1) as usize) {
            keys.push(KeyRef {
                pos: i as usize,
                flags: k.flags,
            });
        }
        if is(k, "incomplete") {
            return None;
        }
    }
    Some(keys)
}

/// Where `word` first appears, searching from `startfrom` towards the end (or, negative,
/// from that far before the end towards the start); the last argument never counts, since
/// no key could follow it.
fn keyword_position(line: &Args, word: &str, startfrom: i32) -> Option<i32> {
    let argc = line.len() as i32;
    let (start, end) = if startfrom > 0 {
        (startfrom, argc - 1)
    } else {
        (argc + startfrom, 1)
    };
    let up = start <= end;
    let mut i = start;
    while i != end {
        if i >= argc || i < 1 {
            break;
        }
        if c_str(line.get(i as usize)).eq_ignore_ascii_case(word.as_bytes()) {
            return Some(i);
        }
        i += if up { 1 } else { -1 };
    }
    None
}

/// The command's own key finder, which Redis runs when its specs cannot answer; it reports
/// no flags, except SET's.
fn fallback(spec: &Spec, line: &Args) -> Vec<KeyRef> {
    if spec.keys.numkeys_at > 0 {
        return numkeys_fallback(spec, line);
    }
    match spec.keys.native {
        NativeKeys::None => Vec::new(),
        NativeKeys::Set => set_keys(line),
        NativeKeys::XRead => xread_keys(line),
    }
}

/// `[destination] numkeys key [key ...]` read leniently: `numkeys` as C's `atoi` reads it,
/// the keys first and the destination (ZUNIONSTORE's) last.
fn numkeys_fallback(spec: &Spec, line: &Args) -> Vec<KeyRef> {
    let at = spec.keys.numkeys_at;
    let argc = line.len() as i64;
    if at >= line.len() {
        return Vec::new();
    }
    let num = i64::from(atoi(line.get(at)));
    let firstkey = at as i64 + 1;
    if num < 1 || num > argc - firstkey {
        return Vec::new();
    }
    let mut keys: Vec<KeyRef> = (firstkey..firstkey + num)
        .map(|pos| KeyRef {
            pos: pos as usize,
            flags: &[],
        })
        .collect();
    if spec.keys.first > 0 {
        keys.push(KeyRef {
            pos: spec.keys.first as usize,
            flags: &[],
        });
    }
    keys
}

/// SET's key: read and written when a `GET` follows the value, otherwise only overwritten.
fn set_keys(line: &Args) -> Vec<KeyRef> {
    let get = (3..line.len()).any(|i| c_str(line.get(i)).eq_ignore_ascii_case(b"get"));
    let flags: &'static [&'static str] = if get {
        &["RW", "access", "update"]
    } else {
        &["OW", "update"]
    };
    vec![KeyRef { pos: 1, flags }]
}

/// XREAD's keys found by walking its options up to `STREAMS`: half of what follows it.
fn xread_keys(line: &Args) -> Vec<KeyRef> {
    let argc = line.len();
    let mut streams = None;
    let mut i = 1;
    while i < argc {
        let arg = c_str(line.get(i)).to_ascii_lowercase();
        match arg.as_slice() {
            b"block" | b"count" => i += 1,
            b"group" => i += 2,
            b"noack" => {}
            b"streams" => {
                streams = Some(i);
                break;
            }
            _ => break,
        }
        i += 1;
    }
    let Some(at) = streams else {
        return Vec::new();
    };
    let after = argc - at - 1;
    if after == 0 || !after.is_multiple_of(2) {
        return Vec::new();
    }
    (at + 1..at + 1 + after / 2)
        .map(|pos| KeyRef { pos, flags: &[] })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::lookup;

    fn line(words: &[&str]) -> (Vec<u8>, Vec<crate::cmd::ArgRange>) {
        let mut buf = Vec::new();
        let mut ranges = Vec::new();
        for w in words {
            let s = buf.len();
            buf.extend_from_slice(w.as_bytes());
            ranges.push((s as _, buf.len() as _));
        }
        (buf, ranges)
    }

    fn keys(words: &[&str]) -> Result<Vec<(String, Vec<&'static str>)>, NoKeys> {
        let (buf, ranges) = line(words);
        let args = Args::new(&buf, &ranges);
        let spec = lookup(words[0].as_bytes()).unwrap();
        keys_of(spec, &args).map(|ks| {
            ks.iter()
                .map(|k| (words[k.pos].to_string(), k.flags.to_vec()))
                .collect()
        })
    }

    fn names(words: &[&str]) -> Vec<String> {
        keys(words).unwrap().into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn bzmpop_reports_only_its_keys() {
        assert_eq!(
            names(&["bzmpop", "0", "2", "a", "b", "MIN", "COUNT", "3"]),
            ["a", "b"]
        );
    }

    #[test]
    fn a_numkeys_that_is_not_strict_falls_back_to_atoi_without_flags() {
        let got = keys(&["lmpop", " 1", "a", "LEFT"]).unwrap();
        assert_eq!(got, [("a".to_string(), vec![])]);
        assert_eq!(keys(&["lmpop", "5", "a", "LEFT"]), Err(NoKeys::Invalid));
        assert_eq!(keys(&["lmpop", "-0", "a", "LEFT"]), Err(NoKeys::Invalid));
    }

    #[test]
    fn store_destination_comes_first_from_specs_and_last_from_the_fallback() {
        assert_eq!(names(&["zunionstore", "d", "2", "a", "b"]), ["d", "a", "b"]);
        assert_eq!(
            names(&["zunionstore", "d", "2x", "a", "b"]),
            ["a", "b", "d"]
        );
    }

    #[test]
    fn xread_takes_half_of_what_follows_streams() {
        assert_eq!(names(&["xread", "streams", "a", "b", "c"]), ["a"]);
        assert_eq!(
            names(&["xread", "streams", "streams", "a", "b"]),
            ["streams"]
        );
        assert_eq!(
            keys(&["xread", "count", "1", "a", "streams"]),
            Err(NoKeys::Invalid)
        );
    }

    #[test]
    fn set_flags_depend_on_get() {
        assert_eq!(
            keys(&["set", "k", "v", "GET"]).unwrap()[0].1,
            ["RW", "access", "update"]
        );
        assert_eq!(keys(&["set", "k", "v"]).unwrap()[0].1, ["OW", "update"]);
    }

    #[test]
    fn errors_come_in_redis_order() {
        assert_eq!(keys(&["ping", "x"]), Err(NoKeys::NoKeyArguments));
        assert_eq!(keys(&["spublish", "c", "m"]), Err(NoKeys::NoKeyArguments));
        assert_eq!(keys(&["get", "a", "b"]), Err(NoKeys::Arity));
        assert_eq!(names(&["mset", "a", "b", "c"]), ["a", "c"]);
    }
}
