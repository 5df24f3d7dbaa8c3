//! Blocking pops of lists and sorted sets (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH,
//! BZPOPMIN, BZPOPMAX, BZMPOP), and the multi-pops LMPOP / ZMPOP across shards.
//!
//! Keys on one shard: the command blocks at once (`Shard::block`), and the owner checks
//! its keys in argument order. Keys on several shards: under the locks of every key, a
//! step tries each run of same-shard keys in argument order, so the first non-empty key
//! wins as in Redis, and only when every key is empty does the client block, in the places
//! it reserved as its locks were taken. A cross-shard BLMOVE tries the move under the
//! locks of both keys and, on an empty source, blocks with a waiter the source's owner
//! serves by sending the element on (`BlockOp::MoveTo`). The waiters themselves (queues,
//! signalled keys, timeouts, serving) are `shard::block`.

use crate::cmd::lists::{self, Move};
use crate::cmd::step::{BlockAfter, Cx, Woken};
use crate::cmd::{Args, Ctx};
use crate::conn::{Conn, Merge};
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::shard::block::{BlockOp, BlockRequest};
use crate::shard::msg::Popped;
use crate::shard::{route, Shard};

/// Parses a blocking timeout (seconds) like Redis 7.0's `getTimeoutFromObjectOrReply`:
/// returns milliseconds, 0 = forever. Redis reads the seconds as a `long double`,
/// multiplies by 1000 in that precision and converts `ceill` of it to a `long long`; the
/// x87 conversion turns anything past `i64` (and infinities) into `i64::MIN`, which is then
/// refused as negative. So `0.0001` waits 1 ms, `-0.0001` (ceiling -0) waits forever,
/// `9223372036854775.807` waits practically forever and `1e16` is "negative".
pub fn parse_timeout(raw: &[u8]) -> CmdResult<u64> {
    let secs = crate::num::ldouble::LongDouble::parse(raw)
        .ok_or(CmdError::msg("ERR timeout is not a float or out of range"))?;
    let ms = secs.times(1000).ceil_to_i64();
    u64::try_from(ms).map_err(|_| CmdError::msg("ERR timeout is negative"))
}

/// Which type a pop takes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Lists.
    List,
    /// Sorted sets.
    Zset,
}

/// A multi-pop over keys of several shards: what it takes and how it replies.
#[derive(Debug, Clone, Copy)]
pub struct Pop {
    /// Lists or sorted sets.
    pub family: Family,
    /// From the left end (sorted sets: the lowest scores).
    pub first_end: bool,
    /// Elements to take at most.
    pub count: usize,
    /// BLPOP / BRPOP / BZPOPMIN / BZPOPMAX: the reply is flat, `[key, element]` or
    /// `[key, member, score]`; otherwise LMPOP's `[key, [elements]]` / ZMPOP's
    /// `[key, [[member, score] ...]]`.
    pub single: bool,
}

impl Pop {
    /// On an owner shard: pops from the first non-empty key of `keys` (this shard's run of
    /// the command's keys), as LMPOP / ZMPOP would; WRONGTYPE for a key of another type met
    /// first.
    fn first_here(
        self,
        ctx: &mut Ctx,
        keys: &[Box<[u8]>],
    ) -> CmdResult<Option<(Box<[u8]>, Popped)>> {
        let found = match self.family {
            Family::List => {
                lists::mpop_here(ctx, keys, self.first_end, self.count)?.map(|(at, values)| {
                    let left = self.first_end;
                    (at, Popped::List { values, left })
                })
            }
            Family::Zset => crate::cmd::zsets::mpop_here(ctx, keys, !self.first_end, self.count)?
                .map(|(at, members)| (at, Popped::Zset(members))),
        };
        Ok(found.map(|(at, popped)| (keys[at].clone(), popped)))
    }

    /// The command's reply for what it popped from `key`.
    fn write(self, r: &mut Reply, key: &[u8], popped: &Popped) {
        // A pop takes at least one element (`first_here` skips empty keys); should one
        // ever come back empty, the single shape falls back to the full one, never a panic.
        match popped {
            Popped::List { values, .. } if self.single && !values.is_empty() => {
                r.array_len(2);
                r.bulk(key);
                r.bulk(&values[0]);
            }
            Popped::List { values, .. } => {
                r.array_len(2);
                r.bulk(key);
                r.array_len(values.len());
                for v in values {
                    r.bulk(v);
                }
            }
            Popped::Zset(members) if self.single && !members.is_empty() => {
                r.array_len(3);
                r.bulk(key);
                r.bulk(&members[0].1);
                r.double(members[0].0);
            }
            Popped::Zset(members) => crate::cmd::zsets::reply_mpop(r, key, members),
        }
    }
}

/// `keys` in runs of consecutive keys of one shard: (shard, keys), in argument order.
pub fn runs(shards: usize, keys: Vec<Box<[u8]>>) -> Vec<(usize, Vec<Box<[u8]>>)> {
    let mut runs: Vec<(usize, Vec<Box<[u8]>>)> = Vec::new();
    for key in keys {
        let s = route::shard_of(&key, shards);
        match runs.last_mut() {
            Some((last, keys)) if *last == s => keys.push(key),
            _ => runs.push((s, vec![key])),
        }
    }
    runs
}

/// A multi-pop across shards, under the locks of every key: each run of same-shard keys in
/// argument order pops from its first non-empty key, until one does. When none did, a
/// blocking pop blocks (`block`); otherwise the reply is a null array.
pub async fn pop_across(
    cx: Cx,
    runs: Vec<(usize, Vec<Box<[u8]>>)>,
    pop: Pop,
    block: Option<BlockAfter>,
) -> CmdResult<Vec<u8>> {
    for (shard, keys) in runs {
        let found = cx
            .run_on(shard, move |ctx| pop.first_here(ctx, &keys))
            .await?;
        if let Some((key, popped)) = found {
            return Ok(cx.reply(|r| pop.write(r, &key, &popped)));
        }
    }
    match block {
        Some(b) => {
            cx.block_after_in(b);
            Ok(Vec::new())
        }
        None => Ok(cx.reply(|r| r.null_array())),
    }
}

/// Starts a blocking pop. Keys on one shard: straight to `Shard::block`. Keys on several
/// shards (whose locks the command holds): reserve the places, then `pop_across`.
fn pop_or_block(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    out: &mut Vec<u8>,
    req: BlockRequest,
    pop: Pop,
) {
    let first = route::shard_of(&req.keys[0], shard.shards);
    if req
        .keys
        .iter()
        .all(|k| route::shard_of(k, shard.shards) == first)
    {
        shard.block(slot, conn, req, out);
        return;
    }
    let runs = runs(shard.shards, req.keys.clone());
    // Inside EXEC nothing blocks: the attempt's null is the reply.
    let block = (!conn.exec.running()).then(|| {
        shard.reserve(slot, conn, &req);
        BlockAfter {
            keys: req.keys,
            timeout_ms: req.timeout_ms,
            op: req.op,
            seq: Some(req.seq),
        }
    });
    shard.start_step(slot, conn, move |cx| pop_across(cx, runs, pop, block));
}

/// BLPOP / BRPOP / BZPOPMIN / BZPOPMAX key [key ...] timeout; `first_end` is LEFT / MIN.
fn pop_one(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
    (family, first_end): (Family, bool),
) -> CmdResult {
    let timeout = parse_timeout(args.get(args.len() - 1))?;
    let keys = (1..args.len() - 1)
        .map(|i| Box::from(args.get(i)))
        .collect();
    let op = match family {
        Family::List => BlockOp::Pop { left: first_end },
        Family::Zset => BlockOp::ZPop { max: !first_end },
    };
    let req = BlockRequest {
        keys,
        timeout_ms: timeout,
        op,
        merge: Merge::Forward,
        seq: shard.arrival_of(conn),
    };
    let pop = Pop {
        family,
        first_end,
        count: 1,
        single: true,
    };
    pop_or_block(shard, slot, conn, out, req, pop);
    Ok(())
}

/// BLMPOP / BZMPOP timeout numkeys key [key ...] <LEFT | RIGHT | MIN | MAX> [COUNT count]
fn pop_many(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
    family: Family,
) -> CmdResult {
    // Redis reads the timeout after every other argument.
    let lists::MPopArgs { keys, left, count } = lists::parse_mpop(args, 2)?;
    let timeout = parse_timeout(args.get(1))?;
    let keys = keys.map(|i| Box::from(args.get(i))).collect();
    let op = match family {
        Family::List => BlockOp::MPop { left, count },
        Family::Zset => BlockOp::ZMPop { max: !left, count },
    };
    let req = BlockRequest {
        keys,
        timeout_ms: timeout,
        op,
        merge: Merge::Forward,
        seq: shard.arrival_of(conn),
    };
    let pop = Pop {
        family,
        first_end: left,
        count,
        single: false,
    };
    pop_or_block(shard, slot, conn, out, req, pop);
    Ok(())
}

/// BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]
pub fn blmpop(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    pop_many(shard, slot, conn, args, out, Family::List)
}

/// BZMPOP timeout numkeys key [key ...] <MIN | MAX> [COUNT count]
pub fn bzmpop(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    pop_many(shard, slot, conn, args, out, Family::Zset)
}

/// BLPOP key [key ...] timeout
pub fn blpop(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    pop_one(shard, slot, conn, args, out, (Family::List, true))
}

/// BRPOP key [key ...] timeout
pub fn brpop(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    pop_one(shard, slot, conn, args, out, (Family::List, false))
}

/// BZPOPMIN key [key ...] timeout
pub fn bzpopmin(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    pop_one(shard, slot, conn, args, out, (Family::Zset, true))
}

/// BZPOPMAX key [key ...] timeout
pub fn bzpopmax(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    pop_one(shard, slot, conn, args, out, (Family::Zset, false))
}

/// LEFT (true) or RIGHT (false).
fn end(raw: &[u8]) -> CmdResult<bool> {
    Ok(lists::parse_end(raw)? == lists::End::Left)
}

/// Blocks for a move from `src` to `dst`. On one shard the owner moves the element when
/// it serves the waiter. Across shards a step (`blmove_across`); inside EXEC, where
/// nothing blocks, the plain move under the EXEC's locks (null when the source is empty).
fn block_move(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
    (from_left, to_left): (bool, bool),
    timeout: u64,
) {
    let m = Move {
        src: args.get(1).into(),
        dst: args.get(2).into(),
        from_left,
        to_left,
    };
    let seq = shard.arrival_of(conn);
    let (src_shard, dst_shard) = (
        route::shard_of(&m.src, shard.shards),
        route::shard_of(&m.dst, shard.shards),
    );
    if src_shard == dst_shard {
        let req = BlockRequest {
            keys: vec![m.src],
            timeout_ms: timeout,
            op: BlockOp::Move {
                dst: m.dst,
                from_left,
                to_left,
            },
            merge: Merge::Forward,
            seq,
        };
        shard.block(slot, conn, req, out);
    } else if conn.exec.running() {
        shard.start_step(slot, conn, |cx| async move {
            let moved = lists::move_across(&cx, &m).await?;
            Ok(moved.unwrap_or_else(|| cx.reply(|r| r.null())))
        });
    } else {
        let deadline_ms = match timeout {
            0 => 0,
            t => shard.now_ms.saturating_add(t),
        };
        shard.start_step(slot, conn, move |cx| blmove_across(cx, m, deadline_ms, seq));
    }
}

/// BLMOVE / BRPOPLPUSH between two shards. Under the locks of both keys (taken before the
/// command started) it tries the move; on an empty source the locks go and the client
/// blocks on it, and the source's owner serves the waiter itself (`BlockOp::MoveTo`): the
/// destination's owner replies. If the destination was locked against shard order the
/// move is refused (nothing moved): take both locks again and start over.
async fn blmove_across(cx: Cx, m: Move, deadline_ms: u64, seq: u64) -> CmdResult<Vec<u8>> {
    loop {
        if let Some(reply) = lists::move_across(&cx, &m).await? {
            return Ok(reply);
        }
        let op = BlockOp::MoveTo {
            dst: m.dst.clone(),
            dst_shard: cx.shard_of(&m.dst),
            from_left: m.from_left,
            to_left: m.to_left,
        };
        match cx.block(vec![m.src.clone()], deadline_ms, op, seq).await {
            Woken::Served(reply) => return Ok(reply),
            Woken::TimedOut => return Ok(cx.reply(|r| r.null_array())),
            Woken::Refused => cx.lock(vec![m.src.clone(), m.dst.clone()]).await,
        }
    }
}

/// BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout
pub fn blmove(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    let ends = (end(args.get(3))?, end(args.get(4))?);
    let timeout = parse_timeout(args.get(5))?;
    block_move(shard, slot, conn, args, out, ends, timeout);
    Ok(())
}

/// BRPOPLPUSH source destination timeout
pub fn brpoplpush(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    let timeout = parse_timeout(args.get(3))?;
    block_move(shard, slot, conn, args, out, (false, true), timeout);
    Ok(())
}

/// The table's handler for blocking commands. They always run through their coordinator
/// on the home shard and never travel in a hop, so this is unreachable; it answers an
/// error rather than panicking should that ever change.
pub fn coordinated(_: &mut Ctx, _: &Args) -> CmdResult {
    Err(CmdError::Syntax)
}
