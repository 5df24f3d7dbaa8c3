//! COMMAND DOCS: Redis 7.0's metadata for each command busbar serves, and its reply encoding.
//!
//! `redis-cli` builds its interactive hints from `COMMAND DOCS`, so the facts here mirror what
//! redis-server 7.0.15 replies, byte for byte: names, groups, argument trees, tokens, flags,
//! `key_spec_index`, `since` and deprecation versions, and the versions in `history`. The
//! sentences (each `summary`, `complexity`, history note and `replaced_by`) are busbar's own.
//! The one exception is `CLIENT SETINFO`, which 7.0 lacks; its entry follows Redis 7.2.
//! The entries live in the command registry (each command's entry in `commands/*.toml`,
//! built into `cmd::registry`'s static table), so a lookup never allocates; this file holds
//! their types and writes them as COMMAND DOCS replies.

use crate::resp::Reply;

/// One argument of a command, as in Redis's src/commands/*.json.
pub struct ArgDoc {
    /// Identifies the argument (`"key"`, `"condition"`); redis-cli shows it for value arguments.
    pub name: &'static str,
    /// What kind of value the argument takes.
    pub kind: ArgKind,
    /// The literal word that introduces the argument (`EX`), if any.
    pub token: Option<&'static str>,
    /// Redis 7.2's `display_text`. Redis 7.0 neither stores nor sends it, so `write_doc` never
    /// writes it and every entry leaves it `None`.
    pub display: Option<&'static str>,
    /// Index into the command's key specs, for key arguments.
    pub key_spec_index: Option<u32>,
    /// The argument may be left out.
    pub optional: bool,
    /// The argument may repeat.
    pub multiple: bool,
    /// Each repetition repeats the token too (`GET pattern [GET pattern ...]`).
    pub multiple_token: bool,
    /// The Redis version that added the argument, when later than the command's.
    pub since: Option<&'static str>,
    /// The Redis version that deprecated the argument.
    pub deprecated_since: Option<&'static str>,
    /// The alternatives of a `OneOf`, or the parts of a `Block`; empty for other kinds.
    pub args: &'static [ArgDoc],
}

/// The `type` of an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// A key name.
    Key,
    /// Any string.
    String,
    /// A 64-bit integer.
    Integer,
    /// A floating point number.
    Double,
    /// A glob-style pattern.
    Pattern,
    /// A Unix timestamp.
    UnixTime,
    /// Only the token, no value (`NX`).
    PureToken,
    /// Exactly one of the nested arguments.
    OneOf,
    /// All of the nested arguments, in order.
    Block,
}

impl ArgKind {
    /// The name Redis sends in the `type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            ArgKind::Key => "key",
            ArgKind::String => "string",
            ArgKind::Integer => "integer",
            ArgKind::Double => "double",
            ArgKind::Pattern => "pattern",
            ArgKind::UnixTime => "unix-time",
            ArgKind::PureToken => "pure-token",
            ArgKind::OneOf => "oneof",
            ArgKind::Block => "block",
        }
    }
}

/// The documentation of one command or subcommand.
pub struct CmdDoc {
    /// Lower case; subcommands as `"client|list"`.
    pub name: &'static str,
    /// One line in busbar's own words.
    pub summary: &'static str,
    /// The Redis version that added the command.
    pub since: &'static str,
    /// Redis's command group (`"string"`, `"generic"`, `"connection"`, `"server"`).
    pub group: &'static str,
    /// The time complexity, in busbar's words: `O(...)` first, then what N (and M ...) count.
    /// Redis gives none for a few commands (LOLWUT), and COMMAND DOCS then leaves it out.
    pub complexity: Option<&'static str>,
    /// Redis's `doc_flags` (`"deprecated"`); sent only when non-empty.
    pub doc_flags: &'static [&'static str],
    /// The Redis version that deprecated the command.
    pub deprecated_since: Option<&'static str>,
    /// What replaces a deprecated command (markdown, busbar's words).
    pub replaced_by: Option<&'static str>,
    /// Change notes: (Redis version, what changed in busbar's words), oldest first.
    pub history: &'static [(&'static str, &'static str)],
    /// The command's arguments, in order; sent only when non-empty.
    pub args: &'static [ArgDoc],
    /// Full names of subcommands, e.g. `"client|list"`; sent only when non-empty.
    pub subcommands: &'static [&'static str],
}

/// The doc of `name` (lower case, "client|list" form for subcommands), if busbar documents it.
pub fn doc(name: &str) -> Option<&'static CmdDoc> {
    crate::cmd::lookup_full(name).and_then(|s| s.doc)
}

/// Every documented command (top-level only, not subcommands), in the registry's
/// `docs_order`.
pub fn all() -> impl Iterator<Item = &'static CmdDoc> {
    crate::cmd::registry::DOCS_ORDER
        .iter()
        .filter_map(|&id| crate::cmd::spec_by_id(id).doc)
}

/// Writes the value part of one COMMAND DOCS entry (the map of
/// summary/since/group/complexity/\[doc_flags\]/\[arguments\]/\[subcommands\]) exactly as Redis 7.0
/// does: every string is a bulk string except the flag names, which are simple strings in a
/// set, and optional fields are left out rather than sent empty.
pub fn write_doc(doc: &CmdDoc, r: &mut Reply) {
    let fields = 3
        + usize::from(doc.complexity.is_some())
        + usize::from(!doc.doc_flags.is_empty())
        + usize::from(doc.deprecated_since.is_some())
        + usize::from(doc.replaced_by.is_some())
        + usize::from(!doc.history.is_empty())
        + usize::from(!doc.args.is_empty())
        + usize::from(!doc.subcommands.is_empty());
    r.map_len(fields);
    field(r, "summary", doc.summary);
    field(r, "since", doc.since);
    field(r, "group", doc.group);
    if let Some(v) = doc.complexity {
        field(r, "complexity", v);
    }
    if !doc.doc_flags.is_empty() {
        r.bulk(b"doc_flags");
        r.set_len(doc.doc_flags.len());
        for flag in doc.doc_flags {
            r.simple(flag);
        }
    }
    if let Some(v) = doc.deprecated_since {
        field(r, "deprecated_since", v);
    }
    if let Some(v) = doc.replaced_by {
        field(r, "replaced_by", v);
    }
    if !doc.history.is_empty() {
        // A set of pairs in RESP3, though the order is meaningful: Redis sends it that way.
        r.bulk(b"history");
        r.set_len(doc.history.len());
        for (version, note) in doc.history {
            r.array_len(2);
            r.bulk(version.as_bytes());
            r.bulk(note.as_bytes());
        }
    }
    if !doc.args.is_empty() {
        r.bulk(b"arguments");
        write_args(doc.args, r);
    }
    if !doc.subcommands.is_empty() {
        // Redis walks a hash table here, so its order is arbitrary; ours is the table's.
        r.bulk(b"subcommands");
        r.map_len(doc.subcommands.len());
        for name in doc.subcommands {
            let sub = self::doc(name).expect("every listed subcommand has a doc entry");
            r.bulk(name.as_bytes());
            write_doc(sub, r);
        }
    }
}

fn field(r: &mut Reply, key: &str, value: &str) {
    r.bulk(key.as_bytes());
    r.bulk(value.as_bytes());
}

fn write_args(args: &[ArgDoc], r: &mut Reply) {
    r.array_len(args.len());
    for arg in args {
        let nested = matches!(arg.kind, ArgKind::OneOf | ArgKind::Block);
        let has_flags = arg.optional || arg.multiple || arg.multiple_token;
        let fields = 2
            + usize::from(arg.key_spec_index.is_some())
            + usize::from(arg.token.is_some())
            + usize::from(arg.since.is_some())
            + usize::from(arg.deprecated_since.is_some())
            + usize::from(has_flags)
            + usize::from(nested);
        r.map_len(fields);
        field(r, "name", arg.name);
        field(r, "type", arg.kind.as_str());
        if let Some(i) = arg.key_spec_index {
            r.bulk(b"key_spec_index");
            r.int(i64::from(i));
        }
        if let Some(t) = arg.token {
            field(r, "token", t);
        }
        if let Some(v) = arg.since {
            field(r, "since", v);
        }
        if let Some(v) = arg.deprecated_since {
            field(r, "deprecated_since", v);
        }
        if has_flags {
            let flags = [
                (arg.optional, "optional"),
                (arg.multiple, "multiple"),
                (arg.multiple_token, "multiple_token"),
            ];
            r.bulk(b"flags");
            r.set_len(flags.iter().filter(|(on, _)| *on).count());
            for (_, flag) in flags.iter().filter(|(on, _)| *on) {
                r.simple(flag);
            }
        }
        if nested {
            // Redis sends the field even when a block is empty; none of ours are.
            r.bulk(b"arguments");
            write_args(arg.args, r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole `COMMAND DOCS <name>` reply, framed as redis-server frames it.
    fn docs_reply(name: &str, resp3: bool) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut r = Reply::new(&mut buf, resp3);
        r.map_len(1);
        r.bulk(name.as_bytes());
        write_doc(doc(name).unwrap(), &mut r);
        buf
    }

    // The expected replies below were captured from redis-server 7.0.15 with
    // `COMMAND DOCS <name>`, then had Redis's texts (summary, complexity, history and
    // replaced_by) swapped for busbar's own words, length prefixes included.

    #[test]
    fn get_matches_redis_in_resp2() {
        let want = concat!(
            "*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n",
            "$33\r\nReads the string stored at a key.\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n",
            "$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
            "$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n",
            "$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
        );
        assert_eq!(String::from_utf8(docs_reply("get", false)).unwrap(), want);
    }

    #[test]
    fn get_matches_redis_in_resp3() {
        let want = concat!(
            "%1\r\n$3\r\nget\r\n%5\r\n$7\r\nsummary\r\n",
            "$33\r\nReads the string stored at a key.\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n",
            "$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
            "$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n",
            "$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
        );
        assert_eq!(String::from_utf8(docs_reply("get", true)).unwrap(), want);
    }

    #[test]
    fn set_with_nested_oneofs_matches_redis_in_resp2() {
        let want = concat!(
            "*2\r\n$3\r\nset\r\n*12\r\n$7\r\nsummary\r\n",
            "$62\r\nStores a string at a key, with optional expiry and conditions.\r\n",
            "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n",
            "$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n*4\r\n*2\r\n$6\r\n2.6.12\r\n",
            "$36\r\nNow takes `EX`, `PX`, `NX` and `XX`.\r\n*2\r\n$5\r\n6.0.0\r\n",
            "$20\r\nNow takes `KEEPTTL`.\r\n*2\r\n$5\r\n6.2.0\r\n",
            "$35\r\nNow takes `GET`, `EXAT` and `PXAT`.\r\n*2\r\n$5\r\n7.0.0\r\n",
            "$35\r\n`NX` and `GET` may now be combined.\r\n",
            "$9\r\narguments\r\n*5\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n",
            "$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n*4\r\n$4\r\nname\r\n$5\r\nvalue\r\n",
            "$4\r\ntype\r\n$6\r\nstring\r\n*10\r\n$4\r\nname\r\n$9\r\ncondition\r\n",
            "$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n$5\r\nflags\r\n*1\r\n",
            "+optional\r\n$9\r\narguments\r\n*2\r\n*6\r\n$4\r\nname\r\n$2\r\nnx\r\n",
            "$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n*6\r\n",
            "$4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n",
            "$2\r\nXX\r\n*10\r\n$4\r\nname\r\n$3\r\nget\r\n$4\r\ntype\r\n$10\r\npure-token\r\n",
            "$5\r\ntoken\r\n$3\r\nGET\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n*1\r\n",
            "+optional\r\n*8\r\n$4\r\nname\r\n$10\r\nexpiration\r\n$4\r\ntype\r\n",
            "$5\r\noneof\r\n$5\r\nflags\r\n*1\r\n+optional\r\n$9\r\narguments\r\n*5\r\n*8\r\n",
            "$4\r\nname\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n",
            "$2\r\nEX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n*8\r\n$4\r\nname\r\n",
            "$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\nPX\r\n",
            "$5\r\nsince\r\n$6\r\n2.6.12\r\n*8\r\n$4\r\nname\r\n$17\r\nunix-time-seconds\r\n",
            "$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nEXAT\r\n$5\r\nsince\r\n",
            "$5\r\n6.2.0\r\n*8\r\n$4\r\nname\r\n$22\r\nunix-time-milliseconds\r\n",
            "$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nPXAT\r\n$5\r\nsince\r\n",
            "$5\r\n6.2.0\r\n*8\r\n$4\r\nname\r\n$7\r\nkeepttl\r\n$4\r\ntype\r\n",
            "$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nKEEPTTL\r\n$5\r\nsince\r\n",
            "$5\r\n6.0.0\r\n",
        );
        assert_eq!(String::from_utf8(docs_reply("set", false)).unwrap(), want);
    }

    #[test]
    fn set_with_nested_oneofs_matches_redis_in_resp3() {
        let want = concat!(
            "%1\r\n$3\r\nset\r\n%6\r\n$7\r\nsummary\r\n",
            "$62\r\nStores a string at a key, with optional expiry and conditions.\r\n",
            "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n",
            "$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~4\r\n*2\r\n$6\r\n2.6.12\r\n",
            "$36\r\nNow takes `EX`, `PX`, `NX` and `XX`.\r\n*2\r\n$5\r\n6.0.0\r\n",
            "$20\r\nNow takes `KEEPTTL`.\r\n*2\r\n$5\r\n6.2.0\r\n",
            "$35\r\nNow takes `GET`, `EXAT` and `PXAT`.\r\n*2\r\n$5\r\n7.0.0\r\n",
            "$35\r\n`NX` and `GET` may now be combined.\r\n",
            "$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n",
            "$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n",
            "$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\nname\r\n$9\r\ncondition\r\n",
            "$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n$5\r\nflags\r\n~1\r\n",
            "+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$2\r\nnx\r\n",
            "$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n%3\r\n",
            "$4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n",
            "$2\r\nXX\r\n%5\r\n$4\r\nname\r\n$3\r\nget\r\n$4\r\ntype\r\n$10\r\npure-token\r\n",
            "$5\r\ntoken\r\n$3\r\nGET\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n",
            "+optional\r\n%4\r\n$4\r\nname\r\n$10\r\nexpiration\r\n$4\r\ntype\r\n",
            "$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*5\r\n%4\r\n",
            "$4\r\nname\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n",
            "$2\r\nEX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n%4\r\n$4\r\nname\r\n",
            "$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\nPX\r\n",
            "$5\r\nsince\r\n$6\r\n2.6.12\r\n%4\r\n$4\r\nname\r\n$17\r\nunix-time-seconds\r\n",
            "$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nEXAT\r\n$5\r\nsince\r\n",
            "$5\r\n6.2.0\r\n%4\r\n$4\r\nname\r\n$22\r\nunix-time-milliseconds\r\n",
            "$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nPXAT\r\n$5\r\nsince\r\n",
            "$5\r\n6.2.0\r\n%4\r\n$4\r\nname\r\n$7\r\nkeepttl\r\n$4\r\ntype\r\n",
            "$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nKEEPTTL\r\n$5\r\nsince\r\n",
            "$5\r\n6.0.0\r\n",
        );
        assert_eq!(String::from_utf8(docs_reply("set", true)).unwrap(), want);
    }

    #[test]
    fn deprecated_getset_matches_redis_in_resp3() {
        let want = concat!(
            "%1\r\n$6\r\ngetset\r\n%8\r\n$7\r\nsummary\r\n",
            "$54\r\nStores a string at a key and returns the previous one.\r\n$5\r\nsince\r\n",
            "$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
            "$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n",
            "$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$13\r\n`SET ... GET`\r\n",
            "$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n",
            "$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n",
            "$4\r\ntype\r\n$6\r\nstring\r\n",
        );
        assert_eq!(String::from_utf8(docs_reply("getset", true)).unwrap(), want);
    }

    #[test]
    fn publish_matches_redis_in_resp2() {
        let want = concat!(
            "*2\r\n$7\r\npublish\r\n*10\r\n$7\r\nsummary\r\n",
            "$70\r\nSends a message to a channel's subscribers and counts who received it.\r\n",
            "$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n",
            "$10\r\ncomplexity\r\n$93\r\nO(N+M), where N counts the channel's subscribers and M the patterns ",
            "subscribed by any client.\r\n$9\r\narguments\r\n*2\r\n*4\r\n$4\r\nname\r\n$7\r\nchannel\r\n",
            "$4\r\ntype\r\n$6\r\nstring\r\n*4\r\n$4\r\nname\r\n$7\r\nmessage\r\n$4\r\ntype\r\n",
            "$6\r\nstring\r\n",
        );
        assert_eq!(
            String::from_utf8(docs_reply("publish", false)).unwrap(),
            want
        );
    }

    #[test]
    fn publish_matches_redis_in_resp3() {
        let want = concat!(
            "%1\r\n$7\r\npublish\r\n%5\r\n$7\r\nsummary\r\n",
            "$70\r\nSends a message to a channel's subscribers and counts who received it.\r\n",
            "$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n",
            "$10\r\ncomplexity\r\n$93\r\nO(N+M), where N counts the channel's subscribers and M the patterns ",
            "subscribed by any client.\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$7\r\nchannel\r\n",
            "$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$7\r\nmessage\r\n$4\r\ntype\r\n",
            "$6\r\nstring\r\n",
        );
        assert_eq!(
            String::from_utf8(docs_reply("publish", true)).unwrap(),
            want
        );
    }

    #[test]
    fn psubscribe_pattern_block_matches_redis_in_resp3() {
        let want = concat!(
            "%1\r\n$10\r\npsubscribe\r\n%5\r\n$7\r\nsummary\r\n",
            "$84\r\nSubscribes this connection to messages on every channel matching the given ",
            "patterns.\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n",
            "$10\r\ncomplexity\r\n$68\r\nO(N), where N counts the patterns this client ",
            "subscribes to already.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n",
            "$7\r\npattern\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
            "$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n",
            "$7\r\npattern\r\n",
        );
        assert_eq!(
            String::from_utf8(docs_reply("psubscribe", true)).unwrap(),
            want
        );
    }

    #[test]
    fn table_is_consistent() {
        let docs: Vec<&CmdDoc> = crate::cmd::table()
            .specs
            .iter()
            .filter_map(|s| s.doc)
            .collect();
        for (i, d) in docs.iter().enumerate() {
            assert!(
                docs[..i].iter().all(|e| e.name != d.name),
                "{} twice",
                d.name
            );
            assert_eq!(d.name, d.name.to_ascii_lowercase());
            assert!(!d.summary.is_empty() && !d.summary.contains(['\r', '\n']));
            for sub in d.subcommands {
                assert!(sub.starts_with(d.name) && sub.as_bytes()[d.name.len()] == b'|');
                assert!(doc(sub).unwrap().subcommands.is_empty());
            }
        }
        fn check(args: &[ArgDoc]) {
            for a in args {
                let nested = matches!(a.kind, ArgKind::OneOf | ArgKind::Block);
                assert_eq!(nested, !a.args.is_empty(), "{}", a.name);
                assert_eq!(
                    a.kind == ArgKind::Key,
                    a.key_spec_index.is_some(),
                    "{}",
                    a.name
                );
                assert!(
                    a.kind != ArgKind::PureToken || a.token.is_some(),
                    "{}",
                    a.name
                );
                assert!(a.display.is_none(), "Redis 7.0 sends no display text");
                check(a.args);
            }
        }
        docs.iter().for_each(|d| check(d.args));
    }
}
