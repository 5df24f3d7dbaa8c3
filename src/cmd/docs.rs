//! COMMAND DOCS: Redis 7.0's metadata for each command busbar serves, and its reply encoding.
//!
//! `redis-cli` builds its interactive hints from `COMMAND DOCS`, so the facts here mirror what
//! redis-server 7.0.15 replies, byte for byte: names, groups, argument trees, tokens, flags,
//! `key_spec_index`, `since` and deprecation versions, and the versions in `history`. The
//! sentences (each `summary`, `complexity`, history note and `replaced_by`) are busbar's own.
//! The one exception is `CLIENT SETINFO`, which 7.0 lacks; its entry follows Redis 7.2.
//! Entries are plain `static` data, so a lookup never allocates.

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
    pub complexity: &'static str,
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
    DOCS.iter().find(|d| d.name == name)
}

/// Every documented command (top-level only, not subcommands), in a stable order.
pub fn all() -> impl Iterator<Item = &'static CmdDoc> {
    DOCS.iter().filter(|d| !d.name.contains('|'))
}

/// Writes the value part of one COMMAND DOCS entry (the map of
/// summary/since/group/complexity/[doc_flags]/[arguments]/[subcommands]) exactly as Redis 7.0
/// does: every string is a bulk string except the flag names, which are simple strings in a
/// set, and optional fields are left out rather than sent empty.
pub fn write_doc(doc: &CmdDoc, r: &mut Reply) {
    let fields = 4
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
    field(r, "complexity", doc.complexity);
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

// Builders, so the table below reads like the command's syntax line. They are `const` so the
// whole table is evaluated at compile time.

const fn cmd(
    name: &'static str,
    group: &'static str,
    since: &'static str,
    complexity: &'static str,
    summary: &'static str,
) -> CmdDoc {
    CmdDoc {
        name,
        summary,
        since,
        group,
        complexity,
        doc_flags: &[],
        deprecated_since: None,
        replaced_by: None,
        history: &[],
        args: &[],
        subcommands: &[],
    }
}

impl CmdDoc {
    const fn args(mut self, args: &'static [ArgDoc]) -> Self {
        self.args = args;
        self
    }

    const fn history(mut self, history: &'static [(&'static str, &'static str)]) -> Self {
        self.history = history;
        self
    }

    const fn subcommands(mut self, names: &'static [&'static str]) -> Self {
        self.subcommands = names;
        self
    }

    const fn deprecated(mut self, since: &'static str, replaced_by: &'static str) -> Self {
        self.doc_flags = &["deprecated"];
        self.deprecated_since = Some(since);
        self.replaced_by = Some(replaced_by);
        self
    }
}

const fn arg(name: &'static str, kind: ArgKind) -> ArgDoc {
    ArgDoc {
        name,
        kind,
        token: None,
        display: None,
        key_spec_index: None,
        optional: false,
        multiple: false,
        multiple_token: false,
        since: None,
        deprecated_since: None,
        args: &[],
    }
}

const fn key(name: &'static str, key_spec_index: u32) -> ArgDoc {
    let mut a = arg(name, ArgKind::Key);
    a.key_spec_index = Some(key_spec_index);
    a
}

const fn string(name: &'static str) -> ArgDoc {
    arg(name, ArgKind::String)
}

const fn integer(name: &'static str) -> ArgDoc {
    arg(name, ArgKind::Integer)
}

const fn double(name: &'static str) -> ArgDoc {
    arg(name, ArgKind::Double)
}

const fn pattern(name: &'static str) -> ArgDoc {
    arg(name, ArgKind::Pattern)
}

const fn unix_time(name: &'static str) -> ArgDoc {
    arg(name, ArgKind::UnixTime)
}

const fn pure(name: &'static str, token: &'static str) -> ArgDoc {
    arg(name, ArgKind::PureToken).token(token)
}

const fn one_of(name: &'static str, args: &'static [ArgDoc]) -> ArgDoc {
    let mut a = arg(name, ArgKind::OneOf);
    a.args = args;
    a
}

const fn block(name: &'static str, args: &'static [ArgDoc]) -> ArgDoc {
    let mut a = arg(name, ArgKind::Block);
    a.args = args;
    a
}

impl ArgDoc {
    const fn token(mut self, token: &'static str) -> Self {
        self.token = Some(token);
        self
    }

    const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    const fn multiple(mut self) -> Self {
        self.multiple = true;
        self
    }

    const fn since(mut self, version: &'static str) -> Self {
        self.since = Some(version);
        self
    }

    const fn deprecated_since(mut self, version: &'static str) -> Self {
        self.deprecated_since = Some(version);
        self
    }
}

/// Top-level commands in the order `all()` yields them, each followed by its subcommands.
static DOCS: &[CmdDoc] = &[
    cmd(
        "ping",
        "connection",
        "1.0.0",
        "O(1)",
        "Checks that the server is alive, optionally echoing a message.",
    )
    .args(&[string("message").optional()]),
    cmd(
        "echo",
        "connection",
        "1.0.0",
        "O(1)",
        "Replies with the given message.",
    )
    .args(&[string("message")]),
    cmd(
        "hello",
        "connection",
        "6.0.0",
        "O(1)",
        "Negotiates the protocol version and optionally authenticates and names \
            the connection.",
    )
    .history(&[(
        "6.2.0",
        "`protover` may now be left out; with no arguments the reply describes the connection.",
    )])
    .args(&[block(
        "arguments",
        &[
            integer("protover"),
            block(
                "username_password",
                &[string("username"), string("password")],
            )
            .token("AUTH")
            .optional(),
            string("clientname").token("SETNAME").optional(),
        ],
    )
    .optional()]),
    cmd(
        "quit",
        "connection",
        "1.0.0",
        "O(1)",
        "Asks the server to close this connection.",
    ),
    cmd(
        "reset",
        "connection",
        "6.2.0",
        "O(1)",
        "Returns the connection to its initial state.",
    ),
    cmd(
        "select",
        "connection",
        "1.0.0",
        "O(1)",
        "Switches the connection to another logical database.",
    )
    .args(&[integer("index")]),
    cmd(
        "auth",
        "connection",
        "1.0.0",
        "O(N), where N counts the passwords the user has.",
        "Logs the connection in with a password, or a username and password.",
    )
    .history(&[("6.0.0", "Now takes a username before the password (ACL users).")])
    .args(&[
        string("username").since("6.0.0").optional(),
        string("password"),
    ]),
    cmd(
        "multi",
        "transactions",
        "1.2.0",
        "O(1)",
        "Opens a transaction; the commands that follow are queued until EXEC.",
    ),
    cmd(
        "exec",
        "transactions",
        "1.2.0",
        "The sum of what the queued commands cost.",
        "Runs the queued commands of a transaction, atomically.",
    ),
    cmd(
        "discard",
        "transactions",
        "2.0.0",
        "O(N), where N counts the queued commands.",
        "Drops the queued commands of a transaction.",
    ),
    cmd(
        "watch",
        "transactions",
        "2.2.0",
        "O(1) per key.",
        "Makes the next EXEC fail if any of these keys changes first.",
    )
    .args(&[key("key", 0).multiple()]),
    cmd(
        "unwatch",
        "transactions",
        "2.2.0",
        "O(1)",
        "Drops every key this connection watches.",
    ),
    cmd(
        "dbsize",
        "server",
        "1.0.0",
        "O(1)",
        "Counts the keys in the current database.",
    ),
    cmd(
        "swapdb",
        "server",
        "4.0.0",
        "O(N), where N counts the clients that watch or block on keys of either database.",
        "Exchanges the contents of two databases.",
    )
    .args(&[integer("index1"), integer("index2")]),
    cmd(
        "flushdb",
        "server",
        "1.0.0",
        "O(N), where N counts the keys in the selected database.",
        "Empties the current database.",
    )
    .history(&[
        ("4.0.0", "Now takes `ASYNC`, to flush in the background."),
        ("6.2.0", "Now takes `SYNC`, to flush before replying."),
    ])
    .args(&[one_of(
        "async",
        &[
            pure("async", "ASYNC").since("4.0.0"),
            pure("sync", "SYNC").since("6.2.0"),
        ],
    )
    .optional()]),
    cmd(
        "flushall",
        "server",
        "1.0.0",
        "O(N), where N counts the keys in all databases.",
        "Empties every database.",
    )
    .history(&[
        ("4.0.0", "Now takes `ASYNC`, to flush in the background."),
        ("6.2.0", "Now takes `SYNC`, to flush before replying."),
    ])
    .args(&[one_of(
        "async",
        &[
            pure("async", "ASYNC").since("4.0.0"),
            pure("sync", "SYNC").since("6.2.0"),
        ],
    )
    .optional()]),
    cmd(
        "time",
        "server",
        "2.6.0",
        "O(1)",
        "Reports the server clock as seconds and microseconds.",
    ),
    cmd(
        "info",
        "server",
        "1.0.0",
        "O(1)",
        "Reports server state and statistics, by section.",
    )
    .history(&[(
        "7.0.0",
        "Now takes several sections.",
    )])
    .args(&[string("section").optional().multiple()]),
    cmd(
        "shutdown",
        "server",
        "1.0.0",
        "O(1), or O(N) when it saves, where N counts the keys in all databases.",
        "Stops the server.",
    )
    .history(&[("7.0.0", "Now takes `NOW`, `FORCE` and `ABORT`.")])
    .args(&[
        one_of(
            "nosave_save",
            &[pure("nosave", "NOSAVE"), pure("save", "SAVE")],
        )
        .optional(),
        pure("now", "NOW").since("7.0.0").optional(),
        pure("force", "FORCE").since("7.0.0").optional(),
        pure("abort", "ABORT").since("7.0.0").optional(),
    ]),
    cmd(
        "client",
        "connection",
        "2.4.0",
        "Varies by subcommand.",
        "Groups the commands that inspect and manage client connections.",
    )
    .subcommands(&[
        "client|id",
        "client|setname",
        "client|getname",
        "client|setinfo",
        "client|info",
        "client|list",
        "client|kill",
        "client|help",
    ]),
    cmd(
        "client|id",
        "connection",
        "5.0.0",
        "O(1)",
        "Reports this connection's unique id.",
    ),
    cmd(
        "client|setname",
        "connection",
        "2.6.9",
        "O(1)",
        "Names this connection.",
    )
    .args(&[string("connection-name")]),
    cmd(
        "client|getname",
        "connection",
        "2.6.9",
        "O(1)",
        "Reports this connection's name.",
    ),
    // Redis 7.0 has no CLIENT SETINFO; this entry follows 7.2, which added it with these two
    // attributes.
    cmd(
        "client|setinfo",
        "connection",
        "7.2.0",
        "O(1)",
        "Records the client library's name or version for this connection.",
    )
    .args(&[one_of(
        "attr",
        &[
            string("libname").token("lib-name"),
            string("libver").token("lib-ver"),
        ],
    )]),
    cmd(
        "client|info",
        "connection",
        "6.2.0",
        "O(1)",
        "Describes this connection in CLIENT LIST format.",
    ),
    cmd(
        "client|list",
        "connection",
        "2.4.0",
        "O(N), where N counts the client connections.",
        "Describes every open client connection.",
    )
    .history(&[
        ("2.8.12", "Now shows an `id` unique to each client."),
        ("5.0.0", "Now takes a `TYPE` filter."),
        ("6.0.0", "Now shows `user`."),
        (
            "6.2.0",
            "Now shows `argv-mem`, `tot-mem`, `laddr` and `redir`, and takes an `ID` filter.",
        ),
        (
            "7.0.0",
            "Now shows `resp`, `multi-mem`, `rbs` and `rbp`.",
        ),
        ("7.0.3", "Now shows `ssub`."),
    ])
    .args(&[
        one_of(
            "normal_master_replica_pubsub",
            &[
                pure("normal", "NORMAL"),
                pure("master", "MASTER"),
                pure("replica", "REPLICA"),
                pure("pubsub", "PUBSUB"),
            ],
        )
        .token("TYPE")
        .since("5.0.0")
        .optional(),
        block("id", &[integer("client-id").multiple()])
            .token("ID")
            .since("6.2.0")
            .optional(),
    ]),
    cmd(
        "client|kill",
        "connection",
        "2.4.0",
        "O(N), where N counts the client connections.",
        "Closes one or more client connections.",
    )
    .history(&[
        ("2.8.12", "Now takes filters as option-value pairs."),
        ("2.8.12", "Now takes an `ID` filter."),
        ("3.2.0", "`TYPE` now takes `master`."),
        (
            "5.0.0",
            "`TYPE` now takes `replica`; `slave` still works as an alias.",
        ),
        ("6.2.0", "Now takes an `LADDR` filter."),
    ])
    .args(&[one_of(
        "filter",
        &[
            string("ip:port").deprecated_since("2.8.12"),
            one_of(
                "new-format",
                &[
                    integer("client-id").token("ID").since("2.8.12").optional(),
                    one_of(
                        "normal_master_slave_pubsub",
                        &[
                            pure("normal", "NORMAL"),
                            pure("master", "MASTER").since("3.2.0"),
                            pure("slave", "SLAVE"),
                            pure("replica", "REPLICA").since("5.0.0"),
                            pure("pubsub", "PUBSUB"),
                        ],
                    )
                    .token("TYPE")
                    .since("2.8.12")
                    .optional(),
                    string("username").token("USER").optional(),
                    string("ip:port").token("ADDR").optional(),
                    string("ip:port").token("LADDR").since("6.2.0").optional(),
                    string("yes/no").token("SKIPME").optional(),
                ],
            )
            .multiple(),
        ],
    )]),
    cmd(
        "client|help",
        "connection",
        "5.0.0",
        "O(1)",
        "Lists the CLIENT subcommands.",
    ),
    cmd(
        "config",
        "server",
        "2.0.0",
        "Varies by subcommand.",
        "Groups the commands that read and change server configuration.",
    )
    .subcommands(&[
        "config|get",
        "config|set",
        "config|resetstat",
        "config|help",
    ]),
    cmd(
        "config|get",
        "server",
        "2.0.0",
        "O(N), where N counts the parameters asked for.",
        "Reads configuration parameters matching the given patterns.",
    )
    .history(&[(
        "7.0.0",
        "Now takes several patterns.",
    )])
    .args(&[block("parameter", &[string("parameter")]).multiple()]),
    cmd(
        "config|set",
        "server",
        "2.0.0",
        "O(N), where N counts the parameters given.",
        "Changes configuration parameters at runtime.",
    )
    .history(&[(
        "7.0.0",
        "Now sets several parameters in one call.",
    )])
    .args(&[block("parameter_value", &[string("parameter"), string("value")]).multiple()]),
    cmd(
        "config|resetstat",
        "server",
        "2.0.0",
        "O(1)",
        "Zeroes the statistics reported by INFO.",
    ),
    cmd(
        "config|help",
        "server",
        "5.0.0",
        "O(1)",
        "Lists the CONFIG subcommands.",
    ),
    cmd(
        "command",
        "server",
        "2.8.13",
        "O(N), where N counts every command the server has.",
        "Describes the commands the server supports.",
    )
    .subcommands(&[
        "command|count",
        "command|info",
        "command|docs",
        "command|list",
        "command|getkeys",
        "command|getkeysandflags",
        "command|help",
    ]),
    cmd(
        "command|count",
        "server",
        "2.8.13",
        "O(1)",
        "Counts the commands the server supports.",
    ),
    cmd(
        "command|info",
        "server",
        "2.8.13",
        "O(N), where N counts the commands named.",
        "Describes the named commands, or all of them.",
    )
    .history(&[(
        "7.0.0",
        "The names may now be left out, to describe every command.",
    )])
    .args(&[string("command-name").optional().multiple()]),
    cmd(
        "command|docs",
        "server",
        "7.0.0",
        "O(N), where N counts the commands named.",
        "Gives the documentation of the named commands, or of every command.",
    )
    .args(&[string("command-name").optional().multiple()]),
    cmd(
        "command|list",
        "server",
        "7.0.0",
        "O(N), where N counts every command the server has.",
        "Lists the names of the commands the server supports.",
    )
    .args(&[one_of(
        "filterby",
        &[
            string("module-name").token("MODULE"),
            string("category").token("ACLCAT"),
            pattern("pattern").token("PATTERN"),
        ],
    )
    .token("FILTERBY")
    .optional()]),
    cmd(
        "command|getkeys",
        "server",
        "2.8.13",
        "O(N), where N counts the arguments of the command line.",
        "Lists the key arguments of a full command line.",
    ),
    cmd(
        "command|getkeysandflags",
        "server",
        "7.0.0",
        "O(N), where N counts the arguments of the command line.",
        "Lists the key arguments of a full command line, each with how the command uses it.",
    ),
    cmd(
        "command|help",
        "server",
        "5.0.0",
        "O(1)",
        "Lists the COMMAND subcommands.",
    ),
    cmd(
        "object",
        "generic",
        "2.2.3",
        "Varies by subcommand.",
        "Groups the commands that inspect how a value is stored.",
    )
    .subcommands(&[
        "object|encoding",
        "object|freq",
        "object|help",
        "object|idletime",
        "object|refcount",
    ]),
    cmd(
        "object|encoding",
        "generic",
        "2.2.3",
        "O(1)",
        "Names the representation a key's value is stored in.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "object|freq",
        "generic",
        "4.0.0",
        "O(1)",
        "Reports the LFU access counter of a key's value.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "object|help",
        "generic",
        "6.2.0",
        "O(1)",
        "Lists the OBJECT subcommands.",
    ),
    cmd(
        "object|idletime",
        "generic",
        "2.2.3",
        "O(1)",
        "Reports the seconds since a key was last accessed.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "object|refcount",
        "generic",
        "2.2.3",
        "O(1)",
        "Reports how many references a key's value has.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "get",
        "string",
        "1.0.0",
        "O(1)",
        "Reads the string stored at a key.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "set",
        "string",
        "1.0.0",
        "O(1)",
        "Stores a string at a key, with optional expiry and conditions.",
    )
    .history(&[
        ("2.6.12", "Now takes `EX`, `PX`, `NX` and `XX`."),
        ("6.0.0", "Now takes `KEEPTTL`."),
        ("6.2.0", "Now takes `GET`, `EXAT` and `PXAT`."),
        (
            "7.0.0",
            "`NX` and `GET` may now be combined.",
        ),
    ])
    .args(&[
        key("key", 0),
        string("value"),
        one_of("condition", &[pure("nx", "NX"), pure("xx", "XX")])
            .since("2.6.12")
            .optional(),
        pure("get", "GET").since("6.2.0").optional(),
        one_of(
            "expiration",
            &[
                integer("seconds").token("EX").since("2.6.12"),
                integer("milliseconds").token("PX").since("2.6.12"),
                unix_time("unix-time-seconds").token("EXAT").since("6.2.0"),
                unix_time("unix-time-milliseconds")
                    .token("PXAT")
                    .since("6.2.0"),
                pure("keepttl", "KEEPTTL").since("6.0.0"),
            ],
        )
        .optional(),
    ]),
    cmd(
        "setnx",
        "string",
        "1.0.0",
        "O(1)",
        "Stores a string at a key unless the key already exists.",
    )
    .args(&[key("key", 0), string("value")]),
    cmd(
        "setex",
        "string",
        "2.0.0",
        "O(1)",
        "Stores a string at a key with a lifetime in seconds.",
    )
    .args(&[key("key", 0), integer("seconds"), string("value")]),
    cmd(
        "psetex",
        "string",
        "2.6.0",
        "O(1)",
        "Stores a string at a key with a lifetime in milliseconds.",
    )
    .args(&[key("key", 0), integer("milliseconds"), string("value")]),
    cmd(
        "getset",
        "string",
        "1.0.0",
        "O(1)",
        "Stores a string at a key and returns the previous one.",
    )
    .deprecated("6.2.0", "`SET ... GET`")
    .args(&[key("key", 0), string("value")]),
    cmd(
        "getdel",
        "string",
        "6.2.0",
        "O(1)",
        "Reads the string at a key, then deletes the key.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "getex",
        "string",
        "6.2.0",
        "O(1)",
        "Reads the string at a key and changes its expiry.",
    )
    .args(&[
        key("key", 0),
        one_of(
            "expiration",
            &[
                integer("seconds").token("EX"),
                integer("milliseconds").token("PX"),
                unix_time("unix-time-seconds").token("EXAT"),
                unix_time("unix-time-milliseconds").token("PXAT"),
                pure("persist", "PERSIST"),
            ],
        )
        .optional(),
    ]),
    cmd(
        "mget",
        "string",
        "1.0.0",
        "O(N), where N counts the keys read.",
        "Reads the strings stored at several keys.",
    )
    .args(&[key("key", 0).multiple()]),
    cmd(
        "mset",
        "string",
        "1.0.1",
        "O(N), where N counts the keys written.",
        "Stores strings at several keys at once.",
    )
    .args(&[block("key_value", &[key("key", 0), string("value")]).multiple()]),
    cmd(
        "msetnx",
        "string",
        "1.0.1",
        "O(N), where N counts the keys written.",
        "Stores strings at several keys, only if none of them exists.",
    )
    .args(&[block("key_value", &[key("key", 0), string("value")]).multiple()]),
    cmd(
        "append",
        "string",
        "2.0.0",
        "O(1) amortized for a small appended value, whatever the string's length, since the spare \
            capacity doubles as the string grows.",
        "Appends bytes to the string at a key.",
    )
    .args(&[key("key", 0), string("value")]),
    cmd(
        "strlen",
        "string",
        "2.2.0",
        "O(1)",
        "Reports the length of the string at a key.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "incr",
        "string",
        "1.0.0",
        "O(1)",
        "Adds one to the integer at a key.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "decr",
        "string",
        "1.0.0",
        "O(1)",
        "Subtracts one from the integer at a key.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "incrby",
        "string",
        "1.0.0",
        "O(1)",
        "Adds an integer to the integer at a key.",
    )
    .args(&[key("key", 0), integer("increment")]),
    cmd(
        "decrby",
        "string",
        "1.0.0",
        "O(1)",
        "Subtracts an integer from the integer at a key.",
    )
    .args(&[key("key", 0), integer("decrement")]),
    cmd(
        "incrbyfloat",
        "string",
        "2.6.0",
        "O(1)",
        "Adds a floating point number to the number at a key.",
    )
    .args(&[key("key", 0), double("increment")]),
    cmd(
        "getrange",
        "string",
        "2.4.0",
        "O(N), where N is the length of the range returned; effectively O(1) for short ranges.",
        "Reads a byte range of the string at a key.",
    )
    .args(&[key("key", 0), integer("start"), integer("end")]),
    cmd(
        "setrange",
        "string",
        "2.2.0",
        "O(1) plus copying the new bytes, so O(M) for a long value, where M is its length.",
        "Overwrites the string at a key from a byte offset.",
    )
    .args(&[key("key", 0), integer("offset"), string("value")]),
    cmd(
        "substr",
        "string",
        "1.0.0",
        "O(N), where N is the length of the range returned; effectively O(1) for short ranges.",
        "Reads a byte range of the string at a key (old name of GETRANGE).",
    )
    .deprecated("2.0.0", "`GETRANGE`")
    .args(&[key("key", 0), integer("start"), integer("end")]),
    cmd(
        "del",
        "generic",
        "1.0.0",
        "O(N), where N counts the keys deleted; a key holding a list, set, sorted set or hash \
            costs O(M), where M counts its elements, a string key O(1).",
        "Removes the given keys and their values.",
    )
    .args(&[key("key", 0).multiple()]),
    cmd(
        "unlink",
        "generic",
        "4.0.0",
        "O(1) per key whatever its size; the memory is then freed in another thread in O(N), where \
            N counts the allocations the values were made of.",
        "Deletes keys, freeing their memory in the background.",
    )
    .args(&[key("key", 0).multiple()]),
    cmd(
        "exists",
        "generic",
        "1.0.0",
        "O(N), where N counts the keys given.",
        "Counts how many of the given keys exist.",
    )
    .history(&[("3.0.3", "Now takes several keys.")])
    .args(&[key("key", 0).multiple()]),
    cmd(
        "touch",
        "generic",
        "3.2.1",
        "O(N), where N counts the keys given.",
        "Marks keys as recently used and counts those that exist.",
    )
    .args(&[key("key", 0).multiple()]),
    cmd(
        "type",
        "generic",
        "1.0.0",
        "O(1)",
        "Reports the type of the value at a key.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "expire",
        "generic",
        "1.0.0",
        "O(1)",
        "Gives a key a lifetime in seconds.",
    )
    .history(&[("7.0.0", "Now takes `NX`, `XX`, `GT` and `LT`.")])
    .args(&[
        key("key", 0),
        integer("seconds"),
        one_of(
            "condition",
            &[
                pure("nx", "NX"),
                pure("xx", "XX"),
                pure("gt", "GT"),
                pure("lt", "LT"),
            ],
        )
        .since("7.0.0")
        .optional(),
    ]),
    cmd(
        "pexpire",
        "generic",
        "2.6.0",
        "O(1)",
        "Gives a key a lifetime in milliseconds.",
    )
    .history(&[("7.0.0", "Now takes `NX`, `XX`, `GT` and `LT`.")])
    .args(&[
        key("key", 0),
        integer("milliseconds"),
        one_of(
            "condition",
            &[
                pure("nx", "NX"),
                pure("xx", "XX"),
                pure("gt", "GT"),
                pure("lt", "LT"),
            ],
        )
        .since("7.0.0")
        .optional(),
    ]),
    cmd(
        "expireat",
        "generic",
        "1.2.0",
        "O(1)",
        "Makes a key expire at a Unix time in seconds.",
    )
    .history(&[("7.0.0", "Now takes `NX`, `XX`, `GT` and `LT`.")])
    .args(&[
        key("key", 0),
        unix_time("unix-time-seconds"),
        one_of(
            "condition",
            &[
                pure("nx", "NX"),
                pure("xx", "XX"),
                pure("gt", "GT"),
                pure("lt", "LT"),
            ],
        )
        .since("7.0.0")
        .optional(),
    ]),
    cmd(
        "pexpireat",
        "generic",
        "2.6.0",
        "O(1)",
        "Makes a key expire at a Unix time in milliseconds.",
    )
    .history(&[("7.0.0", "Now takes `NX`, `XX`, `GT` and `LT`.")])
    .args(&[
        key("key", 0),
        unix_time("unix-time-milliseconds"),
        one_of(
            "condition",
            &[
                pure("nx", "NX"),
                pure("xx", "XX"),
                pure("gt", "GT"),
                pure("lt", "LT"),
            ],
        )
        .since("7.0.0")
        .optional(),
    ]),
    cmd(
        "ttl",
        "generic",
        "1.0.0",
        "O(1)",
        "Reports a key's remaining lifetime in seconds.",
    )
    .history(&[("2.8.0", "Replies -2 for a missing key (was -1).")])
    .args(&[key("key", 0)]),
    cmd(
        "pttl",
        "generic",
        "2.6.0",
        "O(1)",
        "Reports a key's remaining lifetime in milliseconds.",
    )
    .history(&[("2.8.0", "Replies -2 for a missing key (was -1).")])
    .args(&[key("key", 0)]),
    cmd(
        "expiretime",
        "generic",
        "7.0.0",
        "O(1)",
        "Reports the Unix time in seconds at which a key expires.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "pexpiretime",
        "generic",
        "7.0.0",
        "O(1)",
        "Reports the Unix time in milliseconds at which a key expires.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "persist",
        "generic",
        "2.2.0",
        "O(1)",
        "Makes a key permanent again, dropping its expiry.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "keys",
        "generic",
        "1.0.0",
        "O(N), where N counts the keys in the database, taking key names and the pattern to be \
            short.",
        "Lists the keys matching a glob pattern.",
    )
    .args(&[pattern("pattern")]),
    cmd(
        "scan",
        "generic",
        "2.8.0",
        "O(1) per call; O(N) over a whole iteration (until the cursor comes back to 0), where N \
            counts the keys in the database.",
        "Walks the keyspace a batch at a time with a cursor.",
    )
    .history(&[("6.0.0", "Now takes a `TYPE` filter.")])
    .args(&[
        integer("cursor"),
        pattern("pattern").token("MATCH").optional(),
        integer("count").token("COUNT").optional(),
        string("type").token("TYPE").since("6.0.0").optional(),
    ]),
    cmd(
        "randomkey",
        "generic",
        "1.0.0",
        "O(1)",
        "Returns a key chosen at random.",
    ),
    cmd(
        "rename",
        "generic",
        "1.0.0",
        "O(1)",
        "Renames a key, replacing any key with the new name.",
    )
    .args(&[key("key", 0), key("newkey", 1)]),
    cmd(
        "renamenx",
        "generic",
        "1.0.0",
        "O(1)",
        "Renames a key unless the new name is taken.",
    )
    .history(&[(
        "3.2.0",
        "Equal source and destination names no longer give an error.",
    )])
    .args(&[key("key", 0), key("newkey", 1)]),
    cmd(
        "copy",
        "generic",
        "6.2.0",
        "O(N) at worst for a collection, where N counts its nested items; O(1) for a string.",
        "Duplicates a key's value, with its expiry, under another name.",
    )
    .args(&[
        key("source", 0),
        key("destination", 1),
        integer("destination-db").token("DB").optional(),
        pure("replace", "REPLACE").optional(),
    ]),
    cmd(
        "hset",
        "hash",
        "2.0.0",
        "O(1) per field-value pair, so O(N) for N pairs.",
        "Sets fields of a hash, creating it if needed.",
    )
    .history(&[("4.0.0", "Now takes several field-value pairs.")])
    .args(&[key("key", 0), block("field_value", &[string("field"), string("value")]).multiple()]),
    cmd(
        "hsetnx",
        "hash",
        "2.0.0",
        "O(1)",
        "Sets a hash field only if it does not exist yet.",
    )
    .args(&[key("key", 0), string("field"), string("value")]),
    cmd(
        "hget",
        "hash",
        "2.0.0",
        "O(1)",
        "Reads the value of one hash field.",
    )
    .args(&[key("key", 0), string("field")]),
    cmd(
        "hmset",
        "hash",
        "2.0.0",
        "O(N), where N counts the fields set.",
        "Sets fields of a hash (old form of HSET).",
    )
    .deprecated("4.0.0", "`HSET`, which takes several field-value pairs")
    .args(&[key("key", 0), block("field_value", &[string("field"), string("value")]).multiple()]),
    cmd(
        "hmget",
        "hash",
        "2.0.0",
        "O(N), where N counts the fields asked for.",
        "Reads the values of several hash fields.",
    )
    .args(&[key("key", 0), string("field").multiple()]),
    cmd(
        "hgetall",
        "hash",
        "2.0.0",
        "O(N), where N is the hash's size.",
        "Lists every field of a hash together with its value.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "hdel",
        "hash",
        "2.0.0",
        "O(N), where N counts the fields removed.",
        "Removes fields from a hash.",
    )
    .history(&[("2.4.0", "Now takes several fields.")])
    .args(&[key("key", 0), string("field").multiple()]),
    cmd(
        "hlen",
        "hash",
        "2.0.0",
        "O(1)",
        "Counts the fields of a hash.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "hexists",
        "hash",
        "2.0.0",
        "O(1)",
        "Tells whether a hash has a field.",
    )
    .args(&[key("key", 0), string("field")]),
    cmd(
        "hkeys",
        "hash",
        "2.0.0",
        "O(N), where N is the hash's size.",
        "Lists the fields of a hash.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "hvals",
        "hash",
        "2.0.0",
        "O(N), where N is the hash's size.",
        "Lists the values of a hash.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "hincrby",
        "hash",
        "2.0.0",
        "O(1)",
        "Adds an integer to a hash field's value.",
    )
    .args(&[key("key", 0), string("field"), integer("increment")]),
    cmd(
        "hincrbyfloat",
        "hash",
        "2.6.0",
        "O(1)",
        "Adds a floating point number to a hash field's value.",
    )
    .args(&[key("key", 0), string("field"), double("increment")]),
    cmd(
        "hstrlen",
        "hash",
        "3.2.0",
        "O(1)",
        "Reports the length of a hash field's value.",
    )
    .args(&[key("key", 0), string("field")]),
    cmd(
        "hrandfield",
        "hash",
        "6.2.0",
        "O(N), where N counts the fields returned.",
        "Picks random fields of a hash.",
    )
    .args(&[key("key", 0), block("options", &[integer("count"), pure("withvalues", "WITHVALUES").optional()]).optional()]),
    cmd(
        "hscan",
        "hash",
        "2.8.0",
        "O(1) per call; O(N) over a whole iteration (until the cursor comes back to 0), where N \
            counts the fields of the hash.",
        "Walks a hash's fields and values a batch at a time with a cursor.",
    )
    .args(&[key("key", 0), integer("cursor"), pattern("pattern").token("MATCH").optional(), integer("count").token("COUNT").optional()]),
    cmd(
        "sadd",
        "set",
        "1.0.0",
        "O(1) per member, so O(N) for N members.",
        "Adds members to a set, creating it if needed.",
    )
    .history(&[("2.4.0", "Now takes several members.")])
    .args(&[key("key", 0), string("member").multiple()]),
    cmd(
        "srem",
        "set",
        "1.0.0",
        "O(N), where N counts the members removed.",
        "Takes members out of a set.",
    )
    .history(&[("2.4.0", "Now takes several members.")])
    .args(&[key("key", 0), string("member").multiple()]),
    cmd(
        "smembers",
        "set",
        "1.0.0",
        "O(N), where N is the set's cardinality.",
        "Lists every member of a set.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "sismember",
        "set",
        "1.0.0",
        "O(1)",
        "Tells whether a set contains a value.",
    )
    .args(&[key("key", 0), string("member")]),
    cmd(
        "smismember",
        "set",
        "6.2.0",
        "O(N), where N counts the members checked.",
        "Tells, for each value, whether a set contains it.",
    )
    .args(&[key("key", 0), string("member").multiple()]),
    cmd(
        "scard",
        "set",
        "1.0.0",
        "O(1)",
        "Counts the members of a set.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "spop",
        "set",
        "1.0.0",
        "O(1) without `count`; otherwise O(N), where N is `count`.",
        "Pops random members from a set.",
    )
    .history(&[("3.2.0", "Now takes a `count`.")])
    .args(&[key("key", 0), integer("count").optional().since("3.2.0")]),
    cmd(
        "srandmember",
        "set",
        "1.0.0",
        "O(1) without `count`; otherwise O(N), where N is the absolute value of `count`.",
        "Picks random members of a set, leaving them in place.",
    )
    .history(&[("2.6.0", "Now takes a `count`.")])
    .args(&[key("key", 0), integer("count").optional().since("2.6.0")]),
    cmd(
        "sscan",
        "set",
        "2.8.0",
        "O(1) per call; O(N) over a whole iteration (until the cursor comes back to 0), where N \
            counts the members of the set.",
        "Walks a set's members a batch at a time with a cursor.",
    )
    .args(&[key("key", 0), integer("cursor"), pattern("pattern").token("MATCH").optional(), integer("count").token("COUNT").optional()]),
    cmd(
        "smove",
        "set",
        "1.0.0",
        "O(1)",
        "Takes a member out of one set and adds it to another.",
    )
    .args(&[key("source", 0), key("destination", 1), string("member")]),
    cmd(
        "sinter",
        "set",
        "1.0.0",
        "O(N*M) at worst, where N is the smallest set's cardinality and M counts the sets.",
        "Lists the members common to all the given sets.",
    )
    .args(&[key("key", 0).multiple()]),
    cmd(
        "sintercard",
        "set",
        "7.0.0",
        "O(N*M) at worst, where N is the smallest set's cardinality and M counts the sets.",
        "Counts the members common to all the given sets.",
    )
    .args(&[integer("numkeys"), key("key", 0).multiple(), integer("limit").token("LIMIT").optional()]),
    cmd(
        "sinterstore",
        "set",
        "1.0.0",
        "O(N*M) at worst, where N is the smallest set's cardinality and M counts the sets.",
        "Writes the members common to all the given sets to a key.",
    )
    .args(&[key("destination", 0), key("key", 1).multiple()]),
    cmd(
        "sunion",
        "set",
        "1.0.0",
        "O(N), where N counts the elements of all the sets given.",
        "Lists the members found in any of the given sets.",
    )
    .args(&[key("key", 0).multiple()]),
    cmd(
        "sunionstore",
        "set",
        "1.0.0",
        "O(N), where N counts the elements of all the sets given.",
        "Writes the members found in any of the given sets to a key.",
    )
    .args(&[key("destination", 0), key("key", 1).multiple()]),
    cmd(
        "sdiff",
        "set",
        "1.0.0",
        "O(N), where N counts the elements of all the sets given.",
        "Lists the members of the first set that no other given set has.",
    )
    .args(&[key("key", 0).multiple()]),
    cmd(
        "sdiffstore",
        "set",
        "1.0.0",
        "O(N), where N counts the elements of all the sets given.",
        "Writes the members of the first set that no other given set has to a key.",
    )
    .args(&[key("destination", 0), key("key", 1).multiple()]),
    cmd(
        "zadd",
        "sorted-set",
        "1.2.0",
        "O(log(N)) per member added, where N is the sorted set's size.",
        "Inserts members into a sorted set or changes their scores.",
    )
    .history(&[("2.4.0", "Now takes several score-member pairs."), ("3.0.2", "Now takes `XX`, `NX`, `CH` and \
        `INCR`."), ("6.2.0", "Now \
        takes `GT` and `LT`.")])
    .args(&[key("key", 0), one_of("condition", &[pure("nx", "NX"), pure("xx", "XX")]).optional().since("3.0.2"), one_of("comparison", &[pure("gt", "GT"), pure("lt", "LT")]).optional().since("6.2.0"), pure("change", "CH").optional().since("3.0.2"), pure("increment", "INCR").optional().since("3.0.2"), block("score_member", &[double("score"), string("member")]).multiple()]),
    cmd(
        "zincrby",
        "sorted-set",
        "1.2.0",
        "O(log(N)), where N is the sorted set's size.",
        "Adds to the score of a sorted set member.",
    )
    .args(&[key("key", 0), integer("increment"), string("member")]),
    cmd(
        "zcard",
        "sorted-set",
        "1.2.0",
        "O(1)",
        "Counts the members of a sorted set.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "zscore",
        "sorted-set",
        "1.2.0",
        "O(1)",
        "Reads the score of a sorted set member.",
    )
    .args(&[key("key", 0), string("member")]),
    cmd(
        "zmscore",
        "sorted-set",
        "6.2.0",
        "O(N), where N counts the members asked for.",
        "Reads the scores of several sorted set members.",
    )
    .args(&[key("key", 0), string("member").multiple()]),
    cmd(
        "zrem",
        "sorted-set",
        "1.2.0",
        "O(M*log(N)), where N is the sorted set's size and M counts the members removed.",
        "Takes members out of a sorted set.",
    )
    .history(&[("2.4.0", "Now takes several members.")])
    .args(&[key("key", 0), string("member").multiple()]),
    cmd(
        "zrank",
        "sorted-set",
        "2.0.0",
        "O(log(N))",
        "Reports a member's position in a sorted set, counting from the lowest score.",
    )
    .history(&[("7.2.0", "Now takes `WITHSCORE`.")])
    .args(&[key("key", 0), string("member"), pure("withscore", "WITHSCORE").optional().since("7.2.0")]),
    cmd(
        "zrevrank",
        "sorted-set",
        "2.0.0",
        "O(log(N))",
        "Reports a member's position in a sorted set, counting from the highest score.",
    )
    .history(&[("7.2.0", "Now takes `WITHSCORE`.")])
    .args(&[key("key", 0), string("member"), pure("withscore", "WITHSCORE").optional().since("7.2.0")]),
    cmd(
        "zpopmin",
        "sorted-set",
        "5.0.0",
        "O(log(N)*M), where N is the sorted set's size and M counts the members popped.",
        "Pops the lowest scoring members of a sorted set.",
    )
    .args(&[key("key", 0), integer("count").optional()]),
    cmd(
        "zpopmax",
        "sorted-set",
        "5.0.0",
        "O(log(N)*M), where N is the sorted set's size and M counts the members popped.",
        "Pops the highest scoring members of a sorted set.",
    )
    .args(&[key("key", 0), integer("count").optional()]),
    cmd(
        "zrange",
        "sorted-set",
        "1.2.0",
        "O(log(N)+M), where N is the sorted set's size and M counts the members returned.",
        "Lists sorted set members by a range of positions, scores or names.",
    )
    .history(&[("6.2.0", "Now takes `REV`, `BYSCORE`, `BYLEX` and `LIMIT`.")])
    .args(&[key("key", 0), string("start"), string("stop"), one_of("sortby", &[pure("byscore", "BYSCORE"), pure("bylex", "BYLEX")]).optional().since("6.2.0"), pure("rev", "REV").optional().since("6.2.0"), block("offset_count", &[integer("offset"), integer("count")]).token("LIMIT").optional().since("6.2.0"), pure("withscores", "WITHSCORES").optional()]),
    cmd(
        "zrevrange",
        "sorted-set",
        "1.2.0",
        "O(log(N)+M), where N is the sorted set's size and M counts the members returned.",
        "Lists sorted set members by a range of positions, highest score first.",
    )
    .deprecated("6.2.0", "`ZRANGE ... REV`")
    .args(&[key("key", 0), integer("start"), integer("stop"), pure("withscores", "WITHSCORES").optional()]),
    cmd(
        "zrangebyscore",
        "sorted-set",
        "1.0.5",
        "O(log(N)+M), where N is the sorted set's size and M counts the members returned; \
            O(log(N)) when M is bounded, as with a fixed LIMIT.",
        "Lists the sorted set members whose scores fall in a range.",
    )
    .deprecated("6.2.0", "`ZRANGE ... BYSCORE`")
    .history(&[("2.0.0", "Now takes `WITHSCORES`.")])
    .args(&[key("key", 0), double("min"), double("max"), pure("withscores", "WITHSCORES").optional().since("2.0.0"), block("offset_count", &[integer("offset"), integer("count")]).token("LIMIT").optional()]),
    cmd(
        "zrevrangebyscore",
        "sorted-set",
        "2.2.0",
        "O(log(N)+M), where N is the sorted set's size and M counts the members returned; \
            O(log(N)) when M is bounded, as with a fixed LIMIT.",
        "Lists the sorted set members whose scores fall in a range, highest first.",
    )
    .deprecated("6.2.0", "`ZRANGE ... BYSCORE REV`")
    .history(&[("2.1.6", "A bound written with a leading `(` now excludes its value.")])
    .args(&[key("key", 0), double("max"), double("min"), pure("withscores", "WITHSCORES").optional(), block("offset_count", &[integer("offset"), integer("count")]).token("LIMIT").optional()]),
    cmd(
        "zrangebylex",
        "sorted-set",
        "2.8.9",
        "O(log(N)+M), where N is the sorted set's size and M counts the members returned; \
            O(log(N)) when M is bounded, as with a fixed LIMIT.",
        "Lists the sorted set members whose names fall in a range.",
    )
    .deprecated("6.2.0", "`ZRANGE ... BYLEX`")
    .args(&[key("key", 0), string("min"), string("max"), block("offset_count", &[integer("offset"), integer("count")]).token("LIMIT").optional()]),
    cmd(
        "zrevrangebylex",
        "sorted-set",
        "2.8.9",
        "O(log(N)+M), where N is the sorted set's size and M counts the members returned; \
            O(log(N)) when M is bounded, as with a fixed LIMIT.",
        "Lists the sorted set members whose names fall in a range, in reverse order.",
    )
    .deprecated("6.2.0", "`ZRANGE ... BYLEX REV`")
    .args(&[key("key", 0), string("max"), string("min"), block("offset_count", &[integer("offset"), integer("count")]).token("LIMIT").optional()]),
    cmd(
        "zcount",
        "sorted-set",
        "2.0.0",
        "O(log(N)), where N is the sorted set's size.",
        "Counts the sorted set members whose scores fall in a range.",
    )
    .args(&[key("key", 0), double("min"), double("max")]),
    cmd(
        "zlexcount",
        "sorted-set",
        "2.8.9",
        "O(log(N)), where N is the sorted set's size.",
        "Counts the sorted set members whose names fall in a range.",
    )
    .args(&[key("key", 0), string("min"), string("max")]),
    cmd(
        "zremrangebyrank",
        "sorted-set",
        "2.0.0",
        "O(log(N)+M), where N is the sorted set's size and M counts the members removed.",
        "Deletes the sorted set members at a range of positions.",
    )
    .args(&[key("key", 0), integer("start"), integer("stop")]),
    cmd(
        "zremrangebyscore",
        "sorted-set",
        "1.2.0",
        "O(log(N)+M), where N is the sorted set's size and M counts the members removed.",
        "Deletes the sorted set members whose scores fall in a range.",
    )
    .args(&[key("key", 0), double("min"), double("max")]),
    cmd(
        "zremrangebylex",
        "sorted-set",
        "2.8.9",
        "O(log(N)+M), where N is the sorted set's size and M counts the members removed.",
        "Deletes the sorted set members whose names fall in a range.",
    )
    .args(&[key("key", 0), string("min"), string("max")]),
    cmd(
        "zrandmember",
        "sorted-set",
        "6.2.0",
        "O(N), where N counts the members returned.",
        "Picks random members of a sorted set.",
    )
    .args(&[key("key", 0), block("options", &[integer("count"), pure("withscores", "WITHSCORES").optional()]).optional()]),
    cmd(
        "zunion",
        "sorted-set",
        "6.2.0",
        "O(N)+O(M*log(M)), where N sums the sizes of the input sorted sets and M is the result's \
            size.",
        "Lists the members found in any of the given sorted sets, with combined scores.",
    )
    .args(&[integer("numkeys"), key("key", 0).multiple(), integer("weight").token("WEIGHTS").optional().multiple(), one_of("aggregate", &[pure("sum", "SUM"), pure("min", "MIN"), pure("max", "MAX")]).token("AGGREGATE").optional(), pure("withscores", "WITHSCORES").optional()]),
    cmd(
        "zinter",
        "sorted-set",
        "6.2.0",
        "O(N*K)+O(M*log(M)) at worst, where N is the smallest input's size, K counts the inputs \
            and M is the result's size.",
        "Lists the members common to all the given sorted sets, with combined scores.",
    )
    .args(&[integer("numkeys"), key("key", 0).multiple(), integer("weight").token("WEIGHTS").optional().multiple(), one_of("aggregate", &[pure("sum", "SUM"), pure("min", "MIN"), pure("max", "MAX")]).token("AGGREGATE").optional(), pure("withscores", "WITHSCORES").optional()]),
    cmd(
        "zdiff",
        "sorted-set",
        "6.2.0",
        "O(L + (N-K)log(N)) at worst, where L counts the elements of all the sets, N is the first \
            set's size and K the result's size.",
        "Lists the members of the first sorted set that no other given one has.",
    )
    .args(&[integer("numkeys"), key("key", 0).multiple(), pure("withscores", "WITHSCORES").optional()]),
    cmd(
        "zunionstore",
        "sorted-set",
        "2.0.0",
        "O(N)+O(M log(M)), where N sums the sizes of the input sorted sets and M is the result's \
            size.",
        "Writes the members found in any of the given sorted sets, with combined scores, to a key.",
    )
    .args(&[key("destination", 0), integer("numkeys"), key("key", 1).multiple(), integer("weight").token("WEIGHTS").optional().multiple(), one_of("aggregate", &[pure("sum", "SUM"), pure("min", "MIN"), pure("max", "MAX")]).token("AGGREGATE").optional()]),
    cmd(
        "zinterstore",
        "sorted-set",
        "2.0.0",
        "O(N*K)+O(M*log(M)) at worst, where N is the smallest input's size, K counts the inputs \
            and M is the result's size.",
        "Writes the members common to all the given sorted sets, with combined scores, to a key.",
    )
    .args(&[key("destination", 0), integer("numkeys"), key("key", 1).multiple(), integer("weight").token("WEIGHTS").optional().multiple(), one_of("aggregate", &[pure("sum", "SUM"), pure("min", "MIN"), pure("max", "MAX")]).token("AGGREGATE").optional()]),
    cmd(
        "zdiffstore",
        "sorted-set",
        "6.2.0",
        "O(L + (N-K)log(N)) at worst, where L counts the elements of all the sets, N is the first \
            set's size and K the result's size.",
        "Writes the members of the first sorted set that no other given one has to a key.",
    )
    .args(&[key("destination", 0), integer("numkeys"), key("key", 1).multiple()]),
    cmd(
        "zintercard",
        "sorted-set",
        "7.0.0",
        "O(N*K) at worst, where N is the smallest input's size and K counts the inputs.",
        "Counts the members common to all the given sorted sets.",
    )
    .args(&[integer("numkeys"), key("key", 0).multiple(), integer("limit").token("LIMIT").optional()]),
    cmd(
        "zrangestore",
        "sorted-set",
        "6.2.0",
        "O(log(N)+M), where N is the source's size and M counts the members stored.",
        "Writes a range of a sorted set's members to a key.",
    )
    .args(&[key("dst", 0), key("src", 1), string("min"), string("max"), one_of("sortby", &[pure("byscore", "BYSCORE"), pure("bylex", "BYLEX")]).optional(), pure("rev", "REV").optional(), block("offset_count", &[integer("offset"), integer("count")]).token("LIMIT").optional()]),
    cmd(
        "zmpop",
        "sorted-set",
        "7.0.0",
        "O(K) + O(M*log(N)), where K counts the keys given, N is the sorted set's size and M \
            counts the members popped.",
        "Pops the lowest or highest scoring members from the first non-empty sorted set given.",
    )
    .args(&[integer("numkeys"), key("key", 0).multiple(), one_of("where", &[pure("min", "MIN"), pure("max", "MAX")]), integer("count").token("COUNT").optional()]),
    cmd(
        "bzpopmin",
        "sorted-set",
        "5.0.0",
        "O(log(N)), where N is the sorted set's size.",
        "Pops the lowest scoring member from the first non-empty sorted set given, waiting while \
            all are empty.",
    )
    .history(&[("6.0.0", "`timeout` now takes fractional seconds (a double, no longer an integer).")])
    .args(&[key("key", 0).multiple(), double("timeout")]),
    cmd(
        "bzpopmax",
        "sorted-set",
        "5.0.0",
        "O(log(N)), where N is the sorted set's size.",
        "Pops the highest scoring member from the first non-empty sorted set given, waiting while \
            all are empty.",
    )
    .history(&[("6.0.0", "`timeout` now takes fractional seconds (a double, no longer an integer).")])
    .args(&[key("key", 0).multiple(), double("timeout")]),
    cmd(
        "bzmpop",
        "sorted-set",
        "7.0.0",
        "O(K) + O(M*log(N)), where K counts the keys given, N is the sorted set's size and M \
            counts the members popped.",
        "ZMPOP that waits while all the given sorted sets are empty.",
    )
    .args(&[double("timeout"), integer("numkeys"), key("key", 0).multiple(), one_of("where", &[pure("min", "MIN"), pure("max", "MAX")]), integer("count").token("COUNT").optional()]),
    cmd(
        "zscan",
        "sorted-set",
        "2.8.0",
        "O(1) per call; O(N) over a whole iteration (until the cursor comes back to 0), where N \
            counts the members of the sorted set.",
        "Walks a sorted set's members and scores a batch at a time with a cursor.",
    )
    .args(&[key("key", 0), integer("cursor"), pattern("pattern").token("MATCH").optional(), integer("count").token("COUNT").optional()]),
    cmd(
        "xadd",
        "stream",
        "5.0.0",
        "O(1) to add an entry; O(N) when it trims, where N counts the entries evicted.",
        "Adds an entry to a stream, creating the stream unless told not to.",
    )
    .history(&[("6.2.0", "Now takes `NOMKSTREAM`, `LIMIT`, and `MINID` as a way to trim."), ("7.0.0", "Now \
        takes IDs of the form `<ms>-*`.")])
    .args(&[key("key", 0), pure("nomkstream", "NOMKSTREAM").optional().since("6.2.0"), block("trim", &[one_of("strategy", &[pure("maxlen", "MAXLEN"), pure("minid", "MINID").since("6.2.0")]), one_of("operator", &[pure("equal", "="), pure("approximately", "~")]).optional(), string("threshold"), integer("count").token("LIMIT").optional().since("6.2.0")]).optional(), one_of("id_or_auto", &[pure("auto_id", "*"), string("id")]), block("field_value", &[string("field"), string("value")]).multiple()]),
    cmd(
        "xlen",
        "stream",
        "5.0.0",
        "O(1)",
        "Counts the entries of a stream.",
    )
    .args(&[key("key", 0)]),
    cmd(
        "xrange",
        "stream",
        "5.0.0",
        "O(N), where N counts the entries returned; O(1) when N is bounded, as with a fixed COUNT.",
        "Lists the stream entries whose IDs fall in a range.",
    )
    .history(&[("6.2.0", "An end written with a leading `(` now excludes its ID.")])
    .args(&[key("key", 0), string("start"), string("end"), integer("count").token("COUNT").optional()]),
    cmd(
        "xrevrange",
        "stream",
        "5.0.0",
        "O(N), where N counts the entries returned; O(1) when N is bounded, as with a fixed COUNT.",
        "Lists the stream entries whose IDs fall in a range, newest first.",
    )
    .history(&[("6.2.0", "An end written with a leading `(` now excludes its ID.")])
    .args(&[key("key", 0), string("end"), string("start"), integer("count").token("COUNT").optional()]),
    cmd(
        "xdel",
        "stream",
        "5.0.0",
        "O(1) per entry deleted, whatever the stream's size.",
        "Deletes stream entries by ID and counts those it found.",
    )
    .args(&[key("key", 0), string("id").multiple()]),
    cmd(
        "xtrim",
        "stream",
        "5.0.0",
        "O(N), where N counts the entries evicted; cheap per entry, since entries sit in nodes \
            that are freed whole.",
        "Cuts a stream down by dropping its oldest entries.",
    )
    .history(&[("6.2.0", "Now trims by `MINID` too, and takes `LIMIT`.")])
    .args(&[key("key", 0), block("trim", &[one_of("strategy", &[pure("maxlen", "MAXLEN"), pure("minid", "MINID").since("6.2.0")]), one_of("operator", &[pure("equal", "="), pure("approximately", "~")]).optional(), string("threshold"), integer("count").token("LIMIT").optional().since("6.2.0")])]),
    cmd(
        "xread",
        "stream",
        "5.0.0",
        "O(N) per stream, where N counts the entries returned, so O(1) with a fixed COUNT; with \
            BLOCK, XADD pays O(M), where M counts the clients blocked on the stream.",
        "Reads the entries after the given IDs from one or more streams, optionally waiting for \
            some.",
    )
    .args(&[integer("count").token("COUNT").optional(), integer("milliseconds").token("BLOCK").optional(), block("streams", &[key("key", 0).multiple(), string("id").multiple()]).token("STREAMS")]),
    cmd(
        "subscribe",
        "pubsub",
        "2.0.0",
        "O(N), where N counts the channels given.",
        "Subscribes this connection to messages published on the given channels.",
    )
    .args(&[string("channel").multiple()]),
    cmd(
        "unsubscribe",
        "pubsub",
        "2.0.0",
        "O(N), where N counts a channel's existing subscribers.",
        "Unsubscribes this connection from the given channels, or from all of them.",
    )
    .args(&[string("channel").optional().multiple()]),
    // Redis 7.0 really does wrap PSUBSCRIBE's patterns in a repeated one-member block, unlike
    // PUNSUBSCRIBE's plain pattern argument.
    cmd(
        "psubscribe",
        "pubsub",
        "2.0.0",
        "O(N), where N counts the patterns this client subscribes to already.",
        "Subscribes this connection to messages on every channel matching the given patterns.",
    )
    .args(&[block("pattern", &[pattern("pattern")]).multiple()]),
    cmd(
        "punsubscribe",
        "pubsub",
        "2.0.0",
        "O(N+M), where N counts this client's patterns and M the patterns subscribed by any \
            client.",
        "Unsubscribes this connection from the given patterns, or from all of them.",
    )
    .args(&[pattern("pattern").optional().multiple()]),
    cmd(
        "publish",
        "pubsub",
        "2.0.0",
        "O(N+M), where N counts the channel's subscribers and M the patterns subscribed by any \
            client.",
        "Sends a message to a channel's subscribers and counts who received it.",
    )
    .args(&[string("channel"), string("message")]),
    cmd(
        "spublish",
        "pubsub",
        "7.0.0",
        "O(N), where N counts the shard channel's subscribers.",
        "Sends a message to a shard channel's subscribers and counts who received it.",
    )
    .args(&[string("shardchannel"), string("message")]),
    cmd(
        "ssubscribe",
        "pubsub",
        "7.0.0",
        "O(N), where N counts the shard channels given.",
        "Subscribes this connection to messages published on the given shard channels.",
    )
    .args(&[string("shardchannel").multiple()]),
    cmd(
        "sunsubscribe",
        "pubsub",
        "7.0.0",
        "O(N), where N counts a shard channel's existing subscribers.",
        "Unsubscribes this connection from the given shard channels, or from all of them.",
    )
    .args(&[string("shardchannel").optional().multiple()]),
    cmd(
        "pubsub",
        "pubsub",
        "2.8.0",
        "Varies by subcommand.",
        "Groups the commands that inspect the pub/sub channels and subscriptions.",
    )
    .subcommands(&[
        "pubsub|channels",
        "pubsub|numsub",
        "pubsub|numpat",
        "pubsub|shardchannels",
        "pubsub|shardnumsub",
        "pubsub|help",
    ]),
    cmd(
        "pubsub|channels",
        "pubsub",
        "2.8.0",
        "O(N), where N counts the active channels, taking pattern matching as constant time for \
            short names and patterns.",
        "Lists the channels that have subscribers, optionally only those matching a pattern.",
    )
    .args(&[pattern("pattern").optional()]),
    cmd(
        "pubsub|numsub",
        "pubsub",
        "2.8.0",
        "O(N), where N counts the channels given.",
        "Counts the subscribers of each given channel.",
    )
    .args(&[string("channel").optional().multiple()]),
    cmd(
        "pubsub|numpat",
        "pubsub",
        "2.8.0",
        "O(1)",
        "Counts the distinct patterns subscribed to across all connections.",
    ),
    cmd(
        "pubsub|shardchannels",
        "pubsub",
        "7.0.0",
        "O(N), where N counts the active shard channels, taking pattern matching as constant time \
            for short names.",
        "Lists the shard channels that have subscribers, optionally only those matching a \
            pattern.",
    )
    .args(&[pattern("pattern").optional()]),
    cmd(
        "pubsub|shardnumsub",
        "pubsub",
        "7.0.0",
        "O(N), where N counts the shard channels given.",
        "Counts the subscribers of each given shard channel.",
    )
    .args(&[string("shardchannel").optional().multiple()]),
    cmd(
        "pubsub|help",
        "pubsub",
        "6.2.0",
        "O(1)",
        "Lists the PUBSUB subcommands.",
    ),
];

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
    fn every_served_command_has_a_doc() {
        let top = "ping echo hello quit reset select auth multi exec discard watch unwatch dbsize swapdb flushdb flushall time info \
                   shutdown client config command object get set setnx setex psetex getset \
                   getdel getex mget mset msetnx append strlen incr decr incrby decrby \
                   incrbyfloat getrange setrange substr del unlink exists touch type expire \
                   pexpire expireat pexpireat ttl pttl expiretime pexpiretime persist keys scan \
                   randomkey rename renamenx copy hset hsetnx hget hmset hmget hgetall hdel hlen hexists hkeys hvals hincrby hincrbyfloat hstrlen hrandfield hscan sadd srem smembers sismember smismember scard spop srandmember sscan smove sinter sintercard sinterstore sunion sunionstore sdiff sdiffstore zadd zincrby zcard zscore zmscore zrem zrank zrevrank zpopmin zpopmax zrange zrevrange zrangebyscore zrevrangebyscore zrangebylex zrevrangebylex zcount zlexcount zremrangebyrank zremrangebyscore zremrangebylex zrandmember zunion zinter zdiff zunionstore zinterstore zdiffstore zintercard zrangestore zmpop bzpopmin bzpopmax bzmpop zscan xadd xlen xrange xrevrange xdel xtrim xread subscribe unsubscribe psubscribe punsubscribe \
                   publish spublish ssubscribe sunsubscribe pubsub";
        let subs = "client|id client|setname client|getname client|setinfo client|info \
                    client|list client|kill client|help config|get config|set config|resetstat \
                    config|help command|count command|info command|docs command|list \
                    command|getkeys command|getkeysandflags command|help object|encoding object|freq object|help object|idletime object|refcount pubsub|channels pubsub|numsub \
                    pubsub|numpat pubsub|shardchannels pubsub|shardnumsub pubsub|help";
        for name in top.split_whitespace().chain(subs.split_whitespace()) {
            assert!(doc(name).is_some(), "{name} has no doc");
        }
        let listed: Vec<&str> = all().map(|d| d.name).collect();
        assert_eq!(listed, top.split_whitespace().collect::<Vec<_>>());
        let nested: Vec<&str> = all().flat_map(|d| d.subcommands.iter().copied()).collect();
        assert_eq!(nested, subs.split_whitespace().collect::<Vec<_>>());
    }

    #[test]
    fn table_is_consistent() {
        for (i, d) in DOCS.iter().enumerate() {
            assert!(
                DOCS[..i].iter().all(|e| e.name != d.name),
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
        DOCS.iter().for_each(|d| check(d.args));
    }
}
