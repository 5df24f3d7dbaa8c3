//! The commands that report on a stream and set its counters: XINFO (STREAM, STREAM FULL,
//! GROUPS, CONSUMERS, HELP) and XSETID. Each is one key on its owner shard.
//!
//! XINFO's fields are Redis 7.0's, in its order: the stream's counters (`entries-added`,
//! `max-deleted-entry-id`, `recorded-first-entry-id`), each group's `entries-read` and
//! `lag` (null when they cannot be known, `store::stream_group::Tally`), and its
//! consumers' pending counts and idle times. `radix-tree-keys` and `radix-tree-nodes`
//! describe busbar's nodes as Redis's radix tree would hold them
//! ([`Stream::radix_tree_nodes`]).

use crate::cmd::stream_groups::no_group;
use crate::cmd::streams::{id_arg, lookup, reply_entries, reply_entry};
use crate::cmd::{Args, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::store::stream::{Stream, StreamId};
use crate::store::stream_group::{Group, Tally};
use crate::store::Value;

/// XINFO's and XSETID's error for a missing key.
const NO_SUCH_KEY: &str = "ERR no such key";

/// How many entries, and pending entries per group and per consumer, XINFO STREAM FULL
/// lists without COUNT.
const FULL_COUNT_DEFAULT: i64 = 10;

/// The stream at `key` for XINFO: `ERR no such key` when missing, WRONGTYPE for another
/// type.
fn stream<'k, 'a>(
    ctx: &'k mut Ctx<'a>,
    key: &[u8],
) -> CmdResult<(&'k Stream, &'k mut Reply<'a>, u64)> {
    let (db, now) = (ctx.db, ctx.now_ms());
    let (ks, out) = ctx.ks_out();
    let s = lookup(ks, db, key, now)?.ok_or(CmdError::msg(NO_SUCH_KEY))?;
    Ok((s, out, now))
}

/// Writes an optional counter: the number, or null when it is unknown.
fn maybe_int(out: &mut Reply, n: Option<i64>) {
    match n {
        Some(n) => out.int(n),
        None => out.null(),
    }
}

/// XINFO STREAM key `[FULL [COUNT count]]`
///
/// The key is looked up before the options are read, as Redis does.
pub fn xinfo_stream(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (s, out, _) = stream(ctx, args.get(2))?;
    let full = match args.len() {
        3 => None,
        4 if args.is(3, "full") => Some(FULL_COUNT_DEFAULT),
        6 if args.is(3, "full") && args.is(4, "count") => Some(args.int(5)?),
        _ => {
            return Err(CmdError::Bytes(
                [
                    &b"ERR unknown subcommand or wrong number of arguments for '"[..],
                    args.get(1),
                    b"'. Try XINFO HELP.",
                ]
                .concat(),
            ))
        }
    };
    out.map_len(if full.is_some() { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(s.radix_tree_nodes() as i64);
    out.bulk(b"last-generated-id");
    out.bulk(&s.last_id.to_bytes());
    out.bulk(b"max-deleted-entry-id");
    out.bulk(&s.max_deleted.to_bytes());
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    let tally = s.tally();
    out.bulk(b"recorded-first-entry-id");
    out.bulk(&tally.first_id.to_bytes());
    match full {
        None => {
            out.bulk(b"groups");
            out.int(s.groups.len() as i64);
            for (name, rev) in [(&b"first-entry"[..], false), (b"last-entry", true)] {
                out.bulk(name);
                match s.range(StreamId::MIN, StreamId::MAX, rev, 1).first() {
                    Some(e) => reply_entry(out, e),
                    None => out.null(),
                }
            }
        }
        Some(count) => {
            // A negative COUNT is 0, and 0 lists everything.
            let limit = match usize::try_from(count).unwrap_or(0) {
                0 => usize::MAX,
                n => n,
            };
            out.bulk(b"entries");
            let entries = s.range(StreamId::MIN, StreamId::MAX, false, limit);
            reply_entries(out, &entries);
            out.bulk(b"groups");
            out.array_len(s.groups.len());
            for (name, g) in &s.groups {
                group_full(out, &tally, name, g, limit);
            }
        }
    }
    Ok(())
}

/// One group of XINFO STREAM FULL: its counters, up to `limit` of its pending entries, and
/// its consumers each with up to `limit` of theirs.
fn group_full(out: &mut Reply, tally: &Tally, name: &[u8], g: &Group, limit: usize) {
    out.map_len(7);
    out.bulk(b"name");
    out.bulk(name);
    out.bulk(b"last-delivered-id");
    out.bulk(&g.last_id.to_bytes());
    out.bulk(b"entries-read");
    maybe_int(out, g.entries_read.map(|n| n as i64));
    out.bulk(b"lag");
    maybe_int(out, tally.lag(g));
    out.bulk(b"pel-count");
    out.int(g.pending_len() as i64);
    out.bulk(b"pending");
    out.array_len(g.pending_len().min(limit));
    for (id, p) in g.pending_range(StreamId::MIN, StreamId::MAX).take(limit) {
        out.array_len(4);
        out.bulk(&id.to_bytes());
        out.bulk(&g.consumer(p.owner).name);
        out.int(p.delivery_time as i64);
        out.int(p.delivery_count as i64);
    }
    out.bulk(b"consumers");
    out.array_len(g.consumers_len());
    for (_, c) in g.consumers() {
        out.map_len(4);
        out.bulk(b"name");
        out.bulk(&c.name);
        out.bulk(b"seen-time");
        out.int(c.seen_time as i64);
        out.bulk(b"pel-count");
        out.int(c.pending_len() as i64);
        out.bulk(b"pending");
        out.array_len(c.pending_len().min(limit));
        for id in c.pending_from(StreamId::MIN).take(limit) {
            let p = g.pending(id).expect("a consumer's IDs are pending");
            out.array_len(3);
            out.bulk(&id.to_bytes());
            out.int(p.delivery_time as i64);
            out.int(p.delivery_count as i64);
        }
    }
}

/// XINFO GROUPS key — each group with its consumers, pending count, last delivered ID,
/// entries read and lag.
pub fn xinfo_groups(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (s, out, _) = stream(ctx, args.get(2))?;
    let tally = s.tally();
    out.array_len(s.groups.len());
    for (name, g) in &s.groups {
        out.map_len(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(g.consumers_len() as i64);
        out.bulk(b"pending");
        out.int(g.pending_len() as i64);
        out.bulk(b"last-delivered-id");
        out.bulk(&g.last_id.to_bytes());
        out.bulk(b"entries-read");
        maybe_int(out, g.entries_read.map(|n| n as i64));
        out.bulk(b"lag");
        maybe_int(out, tally.lag(g));
    }
    Ok(())
}

/// XINFO CONSUMERS key group — each consumer with its pending count and the ms since it
/// last read or claimed.
pub fn xinfo_consumers(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name) = (args.get(2), args.get(3));
    let (s, out, now) = stream(ctx, key)?;
    let g = s.groups.get(name).ok_or_else(|| no_group(key, name))?;
    out.array_len(g.consumers_len());
    for (_, c) in g.consumers() {
        out.map_len(3);
        out.bulk(b"name");
        out.bulk(&c.name);
        out.bulk(b"pending");
        out.int(c.pending_len() as i64);
        out.bulk(b"idle");
        out.int(i64::try_from(now.saturating_sub(c.seen_time)).unwrap_or(i64::MAX));
    }
    Ok(())
}

/// XINFO HELP
pub fn xinfo_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    crate::cmd::keys::help(
        &mut ctx.out,
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
    Ok(())
}

/// XSETID key last-id `[ENTRIESADDED entries-added]` `[MAXDELETEDID max-deleted-id]`
///
/// Sets the stream's last generated ID and, if given, its entries-added counter and
/// greatest deleted ID (a `0-0` MAXDELETEDID leaves it as it is, as in Redis). The ID may
/// not be below the last entry present, nor below MAXDELETEDID; ENTRIESADDED may not be
/// below the length. The options are read, in Redis's order, before the key.
pub fn xsetid(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let id = id_arg(args.get(2), 0)?;
    let (mut entries_added, mut max_deleted) = (None, StreamId::MIN);
    let mut c = args.cursor(3);
    while let Some(opt) = c.next() {
        if opt.eq_ignore_ascii_case(b"entriesadded") && c.remaining() > 0 {
            let n = c.next_i64()?;
            entries_added = Some(
                u64::try_from(n)
                    .map_err(|_| CmdError::msg("ERR entries_added must be positive"))?,
            );
        } else if opt.eq_ignore_ascii_case(b"maxdeletedid") && c.remaining() > 0 {
            max_deleted = id_arg(c.next().unwrap_or_default(), 0)?;
            if id < max_deleted {
                return Err(CmdError::msg(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (db, now) = (ctx.db, ctx.now_ms());
    let ks = ctx.ks();
    let s = match ks
        .lookup_mut_unmarked(db, args.get(1), now)
        .map(|e| &mut e.value)
    {
        Some(Value::Stream(s)) => s,
        Some(_) => return Err(CmdError::WrongType),
        None => return Err(CmdError::msg(NO_SUCH_KEY)),
    };
    if s.last_entry_id().is_some_and(|top| id < top) {
        return Err(CmdError::msg(
            "ERR The ID specified in XSETID is smaller than the target stream top item",
        ));
    }
    if entries_added.is_some_and(|n| n < s.len() as u64) {
        return Err(CmdError::msg(
            "ERR The entries_added specified in XSETID is smaller than the target stream length",
        ));
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if max_deleted != StreamId::MIN {
        s.max_deleted = max_deleted;
    }
    ks.touch(db, args.get(1));
    ctx.out.ok();
    Ok(())
}
