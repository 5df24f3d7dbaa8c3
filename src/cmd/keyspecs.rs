//! COMMAND INFO metadata beyond the command table: each command's key specs and tips,
//! as Redis 7 reports them (cluster clients read key specs to find keys).

/// One key spec: where the keys are and how the command uses them.
pub struct KeySpecDoc {
    /// Optional explanation.
    pub notes: Option<&'static str>,
    /// Access flags (`RO`, `RW`, `OW`, `RM`, `access`, `update`, ...).
    pub flags: &'static [&'static str],
    /// `begin_search` index.
    pub begin_index: i64,
    /// `find_keys` range: last key relative to the first (-1 = to the end).
    pub lastkey: i64,
    /// Distance between keys.
    pub keystep: i64,
    /// Limit divisor (0 = none).
    pub limit: i64,
}

/// The (tips, key specs) of `name`.
pub fn meta(name: &str) -> (&'static [&'static str], &'static [KeySpecDoc]) {
    META.iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, t, k)| (*t, *k))
        .unwrap_or((&[], &[]))
}

/// Key specs and tips as Redis 7 reports them in COMMAND INFO, by command name.
pub const META: &[(&str, &[&str], &[KeySpecDoc])] = &[
    (
        "ping",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
        &[],
    ),
    ("client|info", &["nondeterministic_output"], &[]),
    ("client|list", &["nondeterministic_output"], &[]),
    (
        "dbsize",
        &["request_policy:all_shards", "response_policy:agg_sum"],
        &[],
    ),
    (
        "flushdb",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
        &[],
    ),
    (
        "flushall",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
        &[],
    ),
    ("time", &["nondeterministic_output"], &[]),
    (
        "info",
        &[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ],
        &[],
    ),
    (
        "config|set",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
        &[],
    ),
    ("command", &["nondeterministic_output_order"], &[]),
    ("command|list", &["nondeterministic_output_order"], &[]),
    ("command|info", &["nondeterministic_output_order"], &[]),
    ("command|docs", &["nondeterministic_output_order"], &[]),
    (
        "get",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO", "access"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "set",
        &[],
        &[KeySpecDoc {
            notes: Some("RW and ACCESS due to the optional `GET` argument"),
            flags: &["RW", "access", "update", "variable_flags"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "setnx",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["OW", "insert"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "setex",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["OW", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "psetex",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["OW", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "getset",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "access", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "getdel",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "access", "delete"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "getex",
        &[],
        &[KeySpecDoc {
            notes: Some("RW and UPDATE because it changes the TTL"),
            flags: &["RW", "access", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "mget",
        &["request_policy:multi_shard"],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO", "access"],
            begin_index: 1,
            lastkey: -1,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "mset",
        &[
            "request_policy:multi_shard",
            "response_policy:all_succeeded",
        ],
        &[KeySpecDoc {
            notes: None,
            flags: &["OW", "update"],
            begin_index: 1,
            lastkey: -1,
            keystep: 2,
            limit: 0,
        }],
    ),
    (
        "msetnx",
        &["request_policy:multi_shard", "response_policy:agg_min"],
        &[KeySpecDoc {
            notes: None,
            flags: &["OW", "insert"],
            begin_index: 1,
            lastkey: -1,
            keystep: 2,
            limit: 0,
        }],
    ),
    (
        "append",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "insert"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "strlen",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "incr",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "access", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "decr",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "access", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "incrby",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "access", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "decrby",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "access", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "incrbyfloat",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "access", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "getrange",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO", "access"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "setrange",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "substr",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO", "access"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "del",
        &["request_policy:multi_shard", "response_policy:agg_sum"],
        &[KeySpecDoc {
            notes: None,
            flags: &["RM", "delete"],
            begin_index: 1,
            lastkey: -1,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "unlink",
        &["request_policy:multi_shard", "response_policy:agg_sum"],
        &[KeySpecDoc {
            notes: None,
            flags: &["RM", "delete"],
            begin_index: 1,
            lastkey: -1,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "exists",
        &["request_policy:multi_shard", "response_policy:agg_sum"],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO"],
            begin_index: 1,
            lastkey: -1,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "touch",
        &["request_policy:multi_shard", "response_policy:agg_sum"],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO"],
            begin_index: 1,
            lastkey: -1,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "type",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "expire",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "pexpire",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "expireat",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "pexpireat",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "ttl",
        &["nondeterministic_output"],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO", "access"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "pttl",
        &["nondeterministic_output"],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO", "access"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "expiretime",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO", "access"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "pexpiretime",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO", "access"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "persist",
        &[],
        &[KeySpecDoc {
            notes: None,
            flags: &["RW", "update"],
            begin_index: 1,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "keys",
        &["request_policy:all_shards", "nondeterministic_output_order"],
        &[],
    ),
    (
        "scan",
        &["nondeterministic_output", "request_policy:special"],
        &[],
    ),
    (
        "randomkey",
        &["request_policy:all_shards", "nondeterministic_output"],
        &[],
    ),
    (
        "rename",
        &[],
        &[
            KeySpecDoc {
                notes: None,
                flags: &["RW", "access", "delete"],
                begin_index: 1,
                lastkey: 0,
                keystep: 1,
                limit: 0,
            },
            KeySpecDoc {
                notes: None,
                flags: &["OW", "update"],
                begin_index: 2,
                lastkey: 0,
                keystep: 1,
                limit: 0,
            },
        ],
    ),
    (
        "renamenx",
        &[],
        &[
            KeySpecDoc {
                notes: None,
                flags: &["RW", "access", "delete"],
                begin_index: 1,
                lastkey: 0,
                keystep: 1,
                limit: 0,
            },
            KeySpecDoc {
                notes: None,
                flags: &["OW", "insert"],
                begin_index: 2,
                lastkey: 0,
                keystep: 1,
                limit: 0,
            },
        ],
    ),
    (
        "object|encoding",
        &["nondeterministic_output"],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO"],
            begin_index: 2,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "object|freq",
        &["nondeterministic_output"],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO"],
            begin_index: 2,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "object|idletime",
        &["nondeterministic_output"],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO"],
            begin_index: 2,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
    (
        "object|refcount",
        &["nondeterministic_output"],
        &[KeySpecDoc {
            notes: None,
            flags: &["RO"],
            begin_index: 2,
            lastkey: 0,
            keystep: 1,
            limit: 0,
        }],
    ),
];
