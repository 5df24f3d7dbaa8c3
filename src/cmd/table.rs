//! The one command table: every command busbar serves, with Redis's arity, flags, ACL
//! categories and key positions (as `COMMAND INFO` reports them), where it runs, and its
//! handler. COMMAND, COMMAND INFO and routing all read this table.

use crate::cmd::{
    flag, info, keys, lists, pubsub, server, shard_handled, strings, AllMerge, Handler, KeySpec,
    Route, Spec, SplitMerge, TxnCmd,
};
use crate::shard::block;

/// One command (a subcommand's name is `container|sub`).
fn c(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    keys: (i32, i32, i32),
    route: Route,
    handler: Handler,
) -> Entry {
    Entry::One(Spec {
        id: 0,
        name,
        arity,
        flags,
        acl,
        keys: KeySpec {
            first: keys.0,
            last: keys.1,
            step: keys.2,
            numkeys_at: 0,
        },
        route,
        handler,
        subs: Vec::new(),
    })
}

/// A command whose keys follow a `numkeys` argument at index `at` (LMPOP ...).
fn numkeys(entry: Entry, at: usize) -> Entry {
    match entry {
        Entry::One(mut s) => {
            s.keys.numkeys_at = at;
            Entry::One(s)
        }
        other => other,
    }
}

/// A container (CLIENT, CONFIG, ...) and its subcommands.
fn container(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    subs: Vec<Entry>,
) -> Entry {
    let handler: Handler = if name == "command" {
        server::command
    } else {
        unreachable_container
    };
    let spec = Spec {
        id: 0,
        name,
        arity,
        flags,
        acl,
        keys: KeySpec::default(),
        route: Route::Home,
        handler,
        subs: Vec::new(),
    };
    Entry::Container(
        spec,
        subs.into_iter()
            .map(|e| match e {
                Entry::One(s) => s,
                Entry::Container(..) => unreachable!("containers do not nest"),
            })
            .collect(),
    )
}

/// Containers resolve to a subcommand before running.
fn unreachable_container(_: &mut crate::cmd::Ctx, _: &crate::cmd::Args) -> crate::error::CmdResult {
    Err(crate::error::CmdError::Syntax)
}

enum Entry {
    One(Spec),
    Container(Spec, Vec<Spec>),
}

/// Builds the table, assigning ids in order.
pub fn build() -> Vec<Spec> {
    let entries = vec![
        c(
            "ping",
            -1,
            flag::FAST,
            &["@fast", "@connection"],
            (0, 0, 0),
            Route::Home,
            server::ping,
        ),
        c(
            "echo",
            2,
            flag::LOADING | flag::STALE | flag::FAST,
            &["@fast", "@connection"],
            (0, 0, 0),
            Route::Home,
            server::echo,
        ),
        c(
            "hello",
            -1,
            flag::NOSCRIPT
                | flag::LOADING
                | flag::STALE
                | flag::FAST
                | flag::NO_AUTH
                | flag::ALLOW_BUSY,
            &["@fast", "@connection"],
            (0, 0, 0),
            Route::Home,
            server::hello,
        ),
        c(
            "quit",
            -1,
            flag::NOSCRIPT
                | flag::LOADING
                | flag::STALE
                | flag::FAST
                | flag::NO_AUTH
                | flag::ALLOW_BUSY,
            &["@fast", "@connection"],
            (0, 0, 0),
            Route::Home,
            server::quit,
        ),
        c(
            "reset",
            1,
            flag::NOSCRIPT
                | flag::LOADING
                | flag::STALE
                | flag::FAST
                | flag::NO_AUTH
                | flag::ALLOW_BUSY,
            &["@fast", "@connection"],
            (0, 0, 0),
            Route::Home,
            server::reset,
        ),
        c(
            "select",
            2,
            flag::LOADING | flag::STALE | flag::FAST,
            &["@fast", "@connection"],
            (0, 0, 0),
            Route::Home,
            server::select,
        ),
        c(
            "auth",
            -2,
            flag::NOSCRIPT
                | flag::LOADING
                | flag::STALE
                | flag::FAST
                | flag::NO_AUTH
                | flag::ALLOW_BUSY,
            &["@fast", "@connection"],
            (0, 0, 0),
            Route::Home,
            server::auth,
        ),
        // CLIENT
        container(
            "client",
            -2,
            0,
            &["@slow"],
            vec![
                c(
                    "client|id",
                    2,
                    flag::NOSCRIPT | flag::LOADING | flag::STALE,
                    &["@slow", "@connection"],
                    (0, 0, 0),
                    Route::Home,
                    server::client_id,
                ),
                c(
                    "client|setname",
                    3,
                    flag::NOSCRIPT | flag::LOADING | flag::STALE,
                    &["@slow", "@connection"],
                    (0, 0, 0),
                    Route::Home,
                    server::client_setname,
                ),
                c(
                    "client|getname",
                    2,
                    flag::NOSCRIPT | flag::LOADING | flag::STALE,
                    &["@slow", "@connection"],
                    (0, 0, 0),
                    Route::Home,
                    server::client_getname,
                ),
                c(
                    "client|setinfo",
                    4,
                    flag::NOSCRIPT | flag::LOADING | flag::STALE,
                    &["@slow", "@connection"],
                    (0, 0, 0),
                    Route::Home,
                    server::client_setinfo,
                ),
                c(
                    "client|info",
                    2,
                    flag::NOSCRIPT | flag::LOADING | flag::STALE,
                    &["@slow", "@connection"],
                    (0, 0, 0),
                    Route::Home,
                    server::client_info,
                ),
                c(
                    "client|list",
                    -2,
                    flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE,
                    &["@admin", "@slow", "@dangerous", "@connection"],
                    (0, 0, 0),
                    Route::All(AllMerge::ConcatBulk),
                    server::client_list,
                ),
                c(
                    "client|kill",
                    -3,
                    flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE,
                    &["@admin", "@slow", "@dangerous", "@connection"],
                    (0, 0, 0),
                    Route::Coord(server::client_kill_coord),
                    server::client_kill,
                ),
                c(
                    "client|unblock",
                    -3,
                    flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE,
                    &["@admin", "@slow", "@dangerous", "@connection"],
                    (0, 0, 0),
                    Route::All(AllMerge::Sum),
                    server::client_unblock,
                ),
                c(
                    "client|help",
                    2,
                    flag::LOADING | flag::STALE,
                    &["@slow", "@connection"],
                    (0, 0, 0),
                    Route::Home,
                    server::client_help,
                ),
            ],
        ),
        c(
            "dbsize",
            1,
            flag::READONLY | flag::FAST,
            &["@keyspace", "@read", "@fast"],
            (0, 0, 0),
            Route::All(AllMerge::Sum),
            keys::dbsize,
        ),
        c(
            "flushdb",
            -1,
            flag::WRITE,
            &["@keyspace", "@write", "@slow", "@dangerous"],
            (0, 0, 0),
            Route::All(AllMerge::AllOk),
            keys::flushdb,
        ),
        c(
            "swapdb",
            3,
            flag::WRITE | flag::FAST,
            &["@keyspace", "@write", "@fast", "@dangerous"],
            (0, 0, 0),
            Route::All(AllMerge::AllOk),
            keys::swapdb,
        ),
        c(
            "flushall",
            -1,
            flag::WRITE,
            &["@keyspace", "@write", "@slow", "@dangerous"],
            (0, 0, 0),
            Route::All(AllMerge::AllOk),
            keys::flushall,
        ),
        c(
            "time",
            1,
            flag::LOADING | flag::STALE | flag::FAST,
            &["@fast"],
            (0, 0, 0),
            Route::Home,
            server::time,
        ),
        c(
            "info",
            -1,
            flag::LOADING | flag::STALE,
            &["@slow", "@dangerous"],
            (0, 0, 0),
            Route::Home,
            info::info,
        ),
        // CONFIG
        container(
            "config",
            -2,
            0,
            &["@slow"],
            vec![
                c(
                    "config|get",
                    -3,
                    flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE,
                    &["@admin", "@slow", "@dangerous"],
                    (0, 0, 0),
                    Route::Home,
                    server::config_get,
                ),
                c(
                    "config|set",
                    -4,
                    flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE,
                    &["@admin", "@slow", "@dangerous"],
                    (0, 0, 0),
                    Route::Home,
                    server::config_set,
                ),
                c(
                    "config|resetstat",
                    2,
                    flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE,
                    &["@admin", "@slow", "@dangerous"],
                    (0, 0, 0),
                    Route::All(AllMerge::AllOk),
                    server::config_resetstat,
                ),
                c(
                    "config|help",
                    2,
                    flag::LOADING | flag::STALE,
                    &["@slow"],
                    (0, 0, 0),
                    Route::Home,
                    server::config_help,
                ),
            ],
        ),
        // COMMAND
        container(
            "command",
            -1,
            flag::LOADING | flag::STALE,
            &["@slow", "@connection"],
            vec![
                c(
                    "command|count",
                    2,
                    flag::LOADING | flag::STALE,
                    &["@slow", "@connection"],
                    (0, 0, 0),
                    Route::Home,
                    server::command_count,
                ),
                c(
                    "command|info",
                    -2,
                    flag::LOADING | flag::STALE,
                    &["@slow", "@connection"],
                    (0, 0, 0),
                    Route::Home,
                    server::command_info,
                ),
                c(
                    "command|docs",
                    -2,
                    flag::LOADING | flag::STALE,
                    &["@slow", "@connection"],
                    (0, 0, 0),
                    Route::Home,
                    server::command_docs,
                ),
                c(
                    "command|list",
                    -2,
                    flag::LOADING | flag::STALE,
                    &["@slow", "@connection"],
                    (0, 0, 0),
                    Route::Home,
                    server::command_list,
                ),
                c(
                    "command|help",
                    2,
                    flag::LOADING | flag::STALE,
                    &["@slow", "@connection"],
                    (0, 0, 0),
                    Route::Home,
                    server::command_help,
                ),
            ],
        ),
        c(
            "shutdown",
            -1,
            flag::ADMIN
                | flag::NOSCRIPT
                | flag::LOADING
                | flag::STALE
                | flag::NO_MULTI
                | flag::ALLOW_BUSY,
            &["@admin", "@slow", "@dangerous"],
            (0, 0, 0),
            Route::Home,
            server::shutdown,
        ),
        // Pub/Sub
        c(
            "subscribe",
            -2,
            flag::PUBSUB | flag::NOSCRIPT | flag::LOADING | flag::STALE,
            &["@pubsub", "@slow"],
            (0, 0, 0),
            Route::Home,
            pubsub::subscribe,
        ),
        c(
            "unsubscribe",
            -1,
            flag::PUBSUB | flag::NOSCRIPT | flag::LOADING | flag::STALE,
            &["@pubsub", "@slow"],
            (0, 0, 0),
            Route::Home,
            pubsub::unsubscribe,
        ),
        c(
            "psubscribe",
            -2,
            flag::PUBSUB | flag::NOSCRIPT | flag::LOADING | flag::STALE,
            &["@pubsub", "@slow"],
            (0, 0, 0),
            Route::Home,
            pubsub::psubscribe,
        ),
        c(
            "punsubscribe",
            -1,
            flag::PUBSUB | flag::NOSCRIPT | flag::LOADING | flag::STALE,
            &["@pubsub", "@slow"],
            (0, 0, 0),
            Route::Home,
            pubsub::punsubscribe,
        ),
        c(
            "publish",
            3,
            flag::PUBSUB | flag::LOADING | flag::STALE | flag::FAST,
            &["@pubsub", "@fast"],
            (0, 0, 0),
            Route::Home,
            pubsub::publish,
        ),
        c(
            "spublish",
            3,
            flag::PUBSUB | flag::LOADING | flag::STALE | flag::FAST,
            &["@pubsub", "@fast"],
            (1, 1, 1),
            Route::Home,
            pubsub::spublish,
        ),
        c(
            "ssubscribe",
            -2,
            flag::PUBSUB | flag::NOSCRIPT | flag::LOADING | flag::STALE,
            &["@pubsub", "@slow"],
            (1, -1, 1),
            Route::Home,
            pubsub::ssubscribe,
        ),
        c(
            "sunsubscribe",
            -1,
            flag::PUBSUB | flag::NOSCRIPT | flag::LOADING | flag::STALE,
            &["@pubsub", "@slow"],
            (1, -1, 1),
            Route::Home,
            pubsub::sunsubscribe,
        ),
        container(
            "pubsub",
            -2,
            0,
            &["@slow"],
            vec![
                c(
                    "pubsub|channels",
                    -2,
                    flag::PUBSUB | flag::LOADING | flag::STALE,
                    &["@pubsub", "@slow"],
                    (0, 0, 0),
                    Route::Home,
                    pubsub::pubsub_channels,
                ),
                c(
                    "pubsub|numsub",
                    -2,
                    flag::PUBSUB | flag::LOADING | flag::STALE,
                    &["@pubsub", "@slow"],
                    (0, 0, 0),
                    Route::Home,
                    pubsub::pubsub_numsub,
                ),
                c(
                    "pubsub|numpat",
                    2,
                    flag::PUBSUB | flag::LOADING | flag::STALE,
                    &["@pubsub", "@slow"],
                    (0, 0, 0),
                    Route::Home,
                    pubsub::pubsub_numpat,
                ),
                c(
                    "pubsub|shardchannels",
                    -2,
                    flag::PUBSUB | flag::LOADING | flag::STALE,
                    &["@pubsub", "@slow"],
                    (0, 0, 0),
                    Route::Home,
                    pubsub::pubsub_shardchannels,
                ),
                c(
                    "pubsub|shardnumsub",
                    -2,
                    flag::PUBSUB | flag::LOADING | flag::STALE,
                    &["@pubsub", "@slow"],
                    (0, 0, 0),
                    Route::Home,
                    pubsub::pubsub_shardnumsub,
                ),
                c(
                    "pubsub|help",
                    2,
                    flag::LOADING | flag::STALE,
                    &["@slow"],
                    (0, 0, 0),
                    Route::Home,
                    pubsub::pubsub_help,
                ),
            ],
        ),
        // Blocking list pops
        c(
            "blpop",
            -3,
            flag::WRITE | flag::NOSCRIPT | flag::BLOCKING,
            &["@write", "@list", "@slow", "@blocking"],
            (1, -2, 1),
            Route::Coord(block::blpop),
            block::coordinated,
        ),
        c(
            "brpop",
            -3,
            flag::WRITE | flag::NOSCRIPT | flag::BLOCKING,
            &["@write", "@list", "@slow", "@blocking"],
            (1, -2, 1),
            Route::Coord(block::brpop),
            block::coordinated,
        ),
        c(
            "blmove",
            6,
            flag::WRITE | flag::DENYOOM | flag::NOSCRIPT | flag::BLOCKING,
            &["@write", "@list", "@slow", "@blocking"],
            (1, 2, 1),
            Route::Coord(block::blmove),
            block::coordinated,
        ),
        c(
            "brpoplpush",
            4,
            flag::WRITE | flag::DENYOOM | flag::NOSCRIPT | flag::BLOCKING,
            &["@write", "@list", "@slow", "@blocking"],
            (1, 2, 1),
            Route::Coord(block::brpoplpush),
            block::coordinated,
        ),
        numkeys(
            c(
                "blmpop",
                -5,
                flag::WRITE | flag::BLOCKING | flag::MOVABLEKEYS,
                &["@write", "@list", "@slow", "@blocking"],
                (0, 0, 0),
                Route::Coord(block::blmpop),
                block::coordinated,
            ),
            2,
        ),
        // Lists
        c(
            "lpush",
            -3,
            flag::WRITE | flag::DENYOOM | flag::FAST,
            &["@write", "@list", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            lists::lpush,
        ),
        c(
            "rpush",
            -3,
            flag::WRITE | flag::DENYOOM | flag::FAST,
            &["@write", "@list", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            lists::rpush,
        ),
        c(
            "lpushx",
            -3,
            flag::WRITE | flag::DENYOOM | flag::FAST,
            &["@write", "@list", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            lists::lpushx,
        ),
        c(
            "rpushx",
            -3,
            flag::WRITE | flag::DENYOOM | flag::FAST,
            &["@write", "@list", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            lists::rpushx,
        ),
        c(
            "lpop",
            -2,
            flag::WRITE | flag::FAST,
            &["@write", "@list", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            lists::lpop,
        ),
        c(
            "rpop",
            -2,
            flag::WRITE | flag::FAST,
            &["@write", "@list", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            lists::rpop,
        ),
        c(
            "llen",
            2,
            flag::READONLY | flag::FAST,
            &["@read", "@list", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            lists::llen,
        ),
        c(
            "lrange",
            4,
            flag::READONLY,
            &["@read", "@list", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            lists::lrange,
        ),
        c(
            "lindex",
            3,
            flag::READONLY,
            &["@read", "@list", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            lists::lindex,
        ),
        c(
            "lset",
            4,
            flag::WRITE | flag::DENYOOM,
            &["@write", "@list", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            lists::lset,
        ),
        c(
            "linsert",
            5,
            flag::WRITE | flag::DENYOOM,
            &["@write", "@list", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            lists::linsert,
        ),
        c(
            "lrem",
            4,
            flag::WRITE,
            &["@write", "@list", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            lists::lrem,
        ),
        c(
            "ltrim",
            4,
            flag::WRITE,
            &["@write", "@list", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            lists::ltrim,
        ),
        c(
            "lpos",
            -3,
            flag::READONLY,
            &["@read", "@list", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            lists::lpos,
        ),
        c(
            "lmove",
            5,
            flag::WRITE | flag::DENYOOM,
            &["@write", "@list", "@slow"],
            (1, 2, 1),
            Route::Coord(lists::lmove_coord),
            lists::lmove,
        ),
        c(
            "rpoplpush",
            3,
            flag::WRITE | flag::DENYOOM,
            &["@write", "@list", "@slow"],
            (1, 2, 1),
            Route::Coord(lists::rpoplpush_coord),
            lists::rpoplpush,
        ),
        numkeys(
            c(
                "lmpop",
                -4,
                flag::WRITE | flag::MOVABLEKEYS,
                &["@write", "@list", "@slow"],
                (0, 0, 0),
                Route::Coord(lists::lmpop_coord),
                lists::lmpop,
            ),
            1,
        ),
        c(
            "get",
            2,
            flag::READONLY | flag::FAST,
            &["@read", "@string", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            strings::get,
        ),
        c(
            "set",
            -3,
            flag::WRITE | flag::DENYOOM,
            &["@write", "@string", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            strings::set,
        ),
        c(
            "setnx",
            3,
            flag::WRITE | flag::DENYOOM | flag::FAST,
            &["@write", "@string", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            strings::setnx,
        ),
        c(
            "setex",
            4,
            flag::WRITE | flag::DENYOOM,
            &["@write", "@string", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            strings::setex,
        ),
        c(
            "psetex",
            4,
            flag::WRITE | flag::DENYOOM,
            &["@write", "@string", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            strings::psetex,
        ),
        c(
            "getset",
            3,
            flag::WRITE | flag::DENYOOM | flag::FAST,
            &["@write", "@string", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            strings::getset,
        ),
        c(
            "getdel",
            2,
            flag::WRITE | flag::FAST,
            &["@write", "@string", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            strings::getdel,
        ),
        c(
            "getex",
            -2,
            flag::WRITE | flag::FAST,
            &["@write", "@string", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            strings::getex,
        ),
        c(
            "mget",
            -2,
            flag::READONLY | flag::FAST,
            &["@read", "@string", "@fast"],
            (1, -1, 1),
            Route::Keys(Some(SplitMerge::Interleave)),
            strings::mget,
        ),
        c(
            "mset",
            -3,
            flag::WRITE | flag::DENYOOM,
            &["@write", "@string", "@slow"],
            (1, -1, 2),
            Route::Keys(Some(SplitMerge::AllOk)),
            strings::mset,
        ),
        c(
            "msetnx",
            -3,
            flag::WRITE | flag::DENYOOM,
            &["@write", "@string", "@slow"],
            (1, -1, 2),
            Route::Coord(keys::msetnx_coord),
            strings::msetnx,
        ),
        c(
            "append",
            3,
            flag::WRITE | flag::DENYOOM | flag::FAST,
            &["@write", "@string", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            strings::append,
        ),
        c(
            "strlen",
            2,
            flag::READONLY | flag::FAST,
            &["@read", "@string", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            strings::strlen,
        ),
        c(
            "incr",
            2,
            flag::WRITE | flag::DENYOOM | flag::FAST,
            &["@write", "@string", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            strings::incr,
        ),
        c(
            "decr",
            2,
            flag::WRITE | flag::DENYOOM | flag::FAST,
            &["@write", "@string", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            strings::decr,
        ),
        c(
            "incrby",
            3,
            flag::WRITE | flag::DENYOOM | flag::FAST,
            &["@write", "@string", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            strings::incrby,
        ),
        c(
            "decrby",
            3,
            flag::WRITE | flag::DENYOOM | flag::FAST,
            &["@write", "@string", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            strings::decrby,
        ),
        c(
            "incrbyfloat",
            3,
            flag::WRITE | flag::DENYOOM | flag::FAST,
            &["@write", "@string", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            strings::incrbyfloat,
        ),
        c(
            "getrange",
            4,
            flag::READONLY,
            &["@read", "@string", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            strings::getrange,
        ),
        c(
            "setrange",
            4,
            flag::WRITE | flag::DENYOOM,
            &["@write", "@string", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            strings::setrange,
        ),
        c(
            "substr",
            4,
            flag::READONLY,
            &["@read", "@string", "@slow"],
            (1, 1, 1),
            Route::Keys(None),
            strings::getrange,
        ),
        c(
            "del",
            -2,
            flag::WRITE,
            &["@keyspace", "@write", "@slow"],
            (1, -1, 1),
            Route::Keys(Some(SplitMerge::Sum)),
            keys::del,
        ),
        c(
            "unlink",
            -2,
            flag::WRITE | flag::FAST,
            &["@keyspace", "@write", "@fast"],
            (1, -1, 1),
            Route::Keys(Some(SplitMerge::Sum)),
            keys::del,
        ),
        c(
            "exists",
            -2,
            flag::READONLY | flag::FAST,
            &["@keyspace", "@read", "@fast"],
            (1, -1, 1),
            Route::Keys(Some(SplitMerge::Sum)),
            keys::exists,
        ),
        c(
            "touch",
            -2,
            flag::READONLY | flag::FAST,
            &["@keyspace", "@read", "@fast"],
            (1, -1, 1),
            Route::Keys(Some(SplitMerge::Sum)),
            keys::touch,
        ),
        c(
            "type",
            2,
            flag::READONLY | flag::FAST,
            &["@keyspace", "@read", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            keys::type_,
        ),
        c(
            "expire",
            -3,
            flag::WRITE | flag::FAST,
            &["@keyspace", "@write", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            keys::expire,
        ),
        c(
            "pexpire",
            -3,
            flag::WRITE | flag::FAST,
            &["@keyspace", "@write", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            keys::pexpire,
        ),
        c(
            "expireat",
            -3,
            flag::WRITE | flag::FAST,
            &["@keyspace", "@write", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            keys::expireat,
        ),
        c(
            "pexpireat",
            -3,
            flag::WRITE | flag::FAST,
            &["@keyspace", "@write", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            keys::pexpireat,
        ),
        c(
            "ttl",
            2,
            flag::READONLY | flag::FAST,
            &["@keyspace", "@read", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            keys::ttl,
        ),
        c(
            "pttl",
            2,
            flag::READONLY | flag::FAST,
            &["@keyspace", "@read", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            keys::pttl,
        ),
        c(
            "expiretime",
            2,
            flag::READONLY | flag::FAST,
            &["@keyspace", "@read", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            keys::expiretime,
        ),
        c(
            "pexpiretime",
            2,
            flag::READONLY | flag::FAST,
            &["@keyspace", "@read", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            keys::pexpiretime,
        ),
        c(
            "persist",
            2,
            flag::WRITE | flag::FAST,
            &["@keyspace", "@write", "@fast"],
            (1, 1, 1),
            Route::Keys(None),
            keys::persist,
        ),
        c(
            "keys",
            2,
            flag::READONLY,
            &["@keyspace", "@read", "@slow", "@dangerous"],
            (0, 0, 0),
            Route::All(AllMerge::Concat),
            keys::keys,
        ),
        c(
            "scan",
            -2,
            flag::READONLY,
            &["@keyspace", "@read", "@slow"],
            (0, 0, 0),
            Route::Coord(keys::scan_coord),
            keys::scan,
        ),
        c(
            "randomkey",
            1,
            flag::READONLY,
            &["@keyspace", "@read", "@slow"],
            (0, 0, 0),
            Route::All(AllMerge::AnyNonNull),
            keys::randomkey,
        ),
        c(
            "multi",
            1,
            flag::NOSCRIPT | flag::LOADING | flag::STALE | flag::FAST | flag::ALLOW_BUSY,
            &["@fast", "@transaction"],
            (0, 0, 0),
            Route::Txn(TxnCmd::Multi),
            shard_handled,
        ),
        c(
            "exec",
            1,
            flag::NOSCRIPT | flag::LOADING | flag::STALE | flag::SKIP_SLOWLOG,
            &["@slow", "@transaction"],
            (0, 0, 0),
            Route::Txn(TxnCmd::Exec),
            shard_handled,
        ),
        c(
            "discard",
            1,
            flag::NOSCRIPT | flag::LOADING | flag::STALE | flag::FAST | flag::ALLOW_BUSY,
            &["@fast", "@transaction"],
            (0, 0, 0),
            Route::Txn(TxnCmd::Discard),
            shard_handled,
        ),
        c(
            "watch",
            -2,
            flag::NOSCRIPT | flag::LOADING | flag::STALE | flag::FAST | flag::ALLOW_BUSY,
            &["@fast", "@transaction"],
            (1, -1, 1),
            Route::Txn(TxnCmd::Watch),
            shard_handled,
        ),
        c(
            "unwatch",
            1,
            flag::NOSCRIPT | flag::LOADING | flag::STALE | flag::FAST | flag::ALLOW_BUSY,
            &["@fast", "@transaction"],
            (0, 0, 0),
            Route::Txn(TxnCmd::Unwatch),
            shard_handled,
        ),
        c(
            "rename",
            3,
            flag::WRITE,
            &["@keyspace", "@write", "@slow"],
            (1, 2, 1),
            Route::Coord(keys::rename_coord),
            keys::rename,
        ),
        c(
            "renamenx",
            3,
            flag::WRITE | flag::FAST,
            &["@keyspace", "@write", "@fast"],
            (1, 2, 1),
            Route::Coord(keys::renamenx_coord),
            keys::renamenx,
        ),
        c(
            "copy",
            -3,
            flag::WRITE | flag::DENYOOM,
            &["@keyspace", "@write", "@slow"],
            (1, 2, 1),
            Route::Coord(keys::copy_coord),
            keys::copy,
        ),
        // OBJECT
        container(
            "object",
            -2,
            0,
            &["@slow"],
            vec![
                c(
                    "object|encoding",
                    3,
                    flag::READONLY,
                    &["@keyspace", "@read", "@slow"],
                    (2, 2, 1),
                    Route::Keys(None),
                    keys::object_encoding,
                ),
                c(
                    "object|help",
                    2,
                    flag::LOADING | flag::STALE,
                    &["@keyspace", "@slow"],
                    (0, 0, 0),
                    Route::Home,
                    keys::object_help,
                ),
            ],
        ),
    ];
    let mut specs = Vec::new();
    for e in entries {
        match e {
            Entry::One(mut s) => {
                s.id = specs.len() as u16;
                specs.push(s);
            }
            Entry::Container(mut parent, subs) => {
                let parent_id = specs.len();
                parent.id = parent_id as u16;
                specs.push(parent);
                for mut s in subs {
                    s.id = specs.len() as u16;
                    specs[parent_id].subs.push(s.id);
                    specs.push(s);
                }
            }
        }
    }
    specs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_indexes_and_names_unique() {
        let specs = build();
        let mut names = std::collections::HashSet::new();
        for (i, s) in specs.iter().enumerate() {
            assert_eq!(s.id as usize, i);
            assert!(names.insert(s.name), "duplicate {}", s.name);
        }
    }
}
