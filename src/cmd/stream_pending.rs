//! The commands that read and move a consumer group's pending entries: XPENDING (the
//! summary and the ranged form), XCLAIM and XAUTOCLAIM. Each is one key on its owner shard
//! and walks the group's pending-entries list (`store::stream_group`) by ID, never the
//! stream; the stream is only asked whether a pending entry still exists and, for a
//! reply with entries, for its fields.
//!
//! As in Redis 7.0 a claim drops pending entries whose stream entry was deleted (XCLAIM
//! silently, XAUTOCLAIM reporting their IDs), creates the claiming consumer only when it
//! takes something, and marks no WATCHed key.

use crate::cmd::streams::{id_arg, interval_end, lookup, reply_entry};
use crate::cmd::{Args, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::store::stream::{Stream, StreamId};
use crate::store::stream_group::{ConsumerId, Group};
use crate::store::Value;

/// `NOGROUP No such key '<key>' or consumer group '<group>'` (XPENDING, XCLAIM,
/// XAUTOCLAIM).
fn no_key_or_group(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::Bytes(
        [
            &b"NOGROUP No such key '"[..],
            key,
            b"' or consumer group '",
            group,
            b"'",
        ]
        .concat(),
    )
}

/// Runs `f` on the stream at `key` and its group `name`, with the reply: the group is
/// taken out of the stream while `f` reads the stream's entries and changes the group.
/// WRONGTYPE for another type, NOGROUP when the key or the group is missing.
fn with_group(
    ctx: &mut Ctx,
    key: &[u8],
    name: &[u8],
    f: impl FnOnce(&Stream, &mut Group, &mut Reply, u64, bool) -> crate::cmd::Records,
) -> CmdResult {
    let (db, now) = (ctx.db, ctx.now_ms());
    let logging = ctx.aof_on();
    let (ks, out) = ctx.ks_out();
    let s = match ks.lookup_mut_unmarked(db, key, now).map(|e| &mut e.value) {
        Some(Value::Stream(s)) => s,
        Some(_) => return Err(CmdError::WrongType),
        None => return Err(no_key_or_group(key, name)),
    };
    let (name, mut g) = s
        .groups
        .remove_entry(name)
        .ok_or_else(|| no_key_or_group(key, name))?;
    let records = f(s, &mut g, out, now, logging);
    s.groups.insert(name, g);
    ctx.log_records(&records);
    Ok(())
}

/// Milliseconds since `since`, never negative.
fn elapsed(now: u64, since: u64) -> i64 {
    i64::try_from(now.saturating_sub(since)).unwrap_or(i64::MAX)
}

/// True if the entry last delivered at `delivery_time` has been idle for at least
/// `min_idle` ms (0 or less: always).
fn idle_enough(now: u64, delivery_time: u64, min_idle: i64) -> bool {
    min_idle <= 0 || now as i128 - delivery_time as i128 >= i128::from(min_idle)
}

/// XPENDING key group `[[IDLE min-idle-time] start end count [consumer]]`
///
/// The summary (no range): how many are pending, the smallest and largest pending IDs,
/// and each consumer with entries pending with its count (a bulk string, as Redis
/// writes it). With a range: up to `count` entries of the group (or of one consumer) as
/// `[id, consumer, idle ms, deliveries]`.
pub fn xpending(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let summary = args.len() == 3;
    if !summary && !(6..=9).contains(&args.len()) {
        return Err(CmdError::Syntax);
    }
    // The range is read before the key, so its errors come first, as Redis's.
    let mut range = None;
    if !summary {
        let mut at = 3;
        let mut min_idle = 0;
        if args.is(3, "idle") {
            min_idle = args.int(4)?;
            if args.len() < 8 {
                return Err(CmdError::Syntax);
            }
            at = 5;
        }
        let count = args.int(at + 2)?.max(0) as usize;
        let lo = interval_end(args.get(at), true)?;
        let hi = interval_end(args.get(at + 1), false)?;
        // Arguments past the consumer are not looked at, as in Redis.
        let consumer = (at + 3 < args.len()).then(|| args.get(at + 3));
        range = Some((min_idle, lo, hi, count, consumer));
    }
    let (key, name) = (args.get(1), args.get(2));
    let (db, now) = (ctx.db, ctx.now_ms());
    let (ks, out) = ctx.ks_out();
    let g = lookup(ks, db, key, now)?
        .and_then(|s| s.groups.get(name))
        .ok_or_else(|| no_key_or_group(key, name))?;
    match range {
        None => pending_summary(out, g),
        Some((min_idle, lo, hi, count, consumer)) => {
            let owner = match consumer {
                None => None,
                Some(c) => match g.consumer_id(c) {
                    Some(id) => Some(id),
                    None => {
                        out.array_len(0);
                        return Ok(());
                    }
                },
            };
            pending_entries(out, g, owner, (lo, hi), count, min_idle, now);
        }
    }
    Ok(())
}

/// XPENDING's summary of group `g`.
fn pending_summary(out: &mut Reply, g: &Group) {
    out.array_len(4);
    out.int(g.pending_len() as i64);
    let Some((first, last)) = g.pending_bounds() else {
        out.null();
        out.null();
        out.null_array();
        return;
    };
    out.bulk(&first.to_bytes());
    out.bulk(&last.to_bytes());
    let owners = g.consumers().filter(|(_, c)| c.pending_len() > 0).count();
    out.array_len(owners);
    for (_, c) in g.consumers().filter(|(_, c)| c.pending_len() > 0) {
        out.array_len(2);
        out.bulk(&c.name);
        out.bulk_int(c.pending_len() as i64);
    }
}

/// XPENDING's ranged form: up to `count` entries in `lo..=hi` of the group (or of the
/// consumer `owner`) idle for at least `min_idle` ms.
fn pending_entries(
    out: &mut Reply,
    g: &Group,
    owner: Option<ConsumerId>,
    (lo, hi): (StreamId, StreamId),
    count: usize,
    min_idle: i64,
    now: u64,
) {
    let ids: Box<dyn Iterator<Item = StreamId> + '_> = match owner {
        Some(c) => Box::new(
            g.consumer(c)
                .pending_from(lo)
                .take_while(move |&id| id <= hi),
        ),
        None => Box::new(g.pending_range(lo, hi).map(|(id, _)| id)),
    };
    let mut rows = Vec::new();
    for id in ids {
        if rows.len() == count {
            break;
        }
        let Some(p) = g.pending(id) else { continue };
        if idle_enough(now, p.delivery_time, min_idle) {
            rows.push((id, *p));
        }
    }
    out.array_len(rows.len());
    for (id, p) in rows {
        out.array_len(4);
        out.bulk(&id.to_bytes());
        out.bulk(&g.consumer(p.owner).name);
        out.int(elapsed(now, p.delivery_time));
        out.int(p.delivery_count as i64);
    }
}

/// What XCLAIM asks besides its IDs.
#[derive(Default)]
struct ClaimOpts {
    /// IDLE (as `now - idle`) or TIME: the delivery time to record, before its sanity
    /// check.
    delivery_time: Option<i64>,
    /// RETRYCOUNT; a negative one counts as not given, as in Redis.
    retry_count: Option<i64>,
    force: bool,
    justid: bool,
    /// LASTID: the group's last delivered ID moves up to it.
    last_id: Option<StreamId>,
}

/// An integer option of XCLAIM / XAUTOCLAIM, with the command's own error text.
fn int_or(raw: &[u8], err: &'static str) -> CmdResult<i64> {
    crate::num::parse_i64(raw).ok_or(CmdError::msg(err))
}

/// XCLAIM's options, from where its IDs end.
fn parse_claim_opts(args: &Args, from: usize, now: u64) -> CmdResult<ClaimOpts> {
    let mut o = ClaimOpts::default();
    let mut c = args.cursor(from);
    while let Some(opt) = c.next() {
        let more = !c.is_done();
        let is = |w: &str| opt.eq_ignore_ascii_case(w.as_bytes());
        if is("force") {
            o.force = true;
        } else if is("justid") {
            o.justid = true;
        } else if is("idle") && more {
            let idle = int_or(c.next_arg()?, "ERR Invalid IDLE option argument for XCLAIM")?;
            o.delivery_time = Some((now as i64).wrapping_sub(idle));
        } else if is("time") && more {
            let at = int_or(c.next_arg()?, "ERR Invalid TIME option argument for XCLAIM")?;
            o.delivery_time = Some(at);
        } else if is("retrycount") && more {
            let n = int_or(
                c.next_arg()?,
                "ERR Invalid RETRYCOUNT option argument for XCLAIM",
            )?;
            o.retry_count = Some(n);
        } else if is("lastid") && more {
            o.last_id = Some(id_arg(c.next_arg()?, 0)?);
        } else {
            return Err(CmdError::Bytes(
                [&b"ERR Unrecognized XCLAIM option '"[..], opt, b"'"].concat(),
            ));
        }
    }
    Ok(o)
}

/// Whether entry `id` is still in the stream.
fn exists(s: &Stream, id: StreamId) -> bool {
    s.count_range(id, id, 1) > 0
}

/// Writes one claimed entry: its ID (JUSTID) or the entry itself.
fn reply_claimed(out: &mut Reply, s: &Stream, id: StreamId, justid: bool) {
    if justid {
        out.bulk(&id.to_bytes());
        return;
    }
    match s.range(id, id, false, 1).first() {
        Some(e) => reply_entry(out, e),
        None => out.null(),
    }
}

/// The claiming consumer, created (or seen) when it first takes an entry.
fn claimer(g: &mut Group, slot: &mut Option<ConsumerId>, name: &[u8], now: u64) -> ConsumerId {
    *slot.get_or_insert_with(|| {
        let (id, _) = g.create_consumer(name, now);
        g.touch(id, now);
        id
    })
}

/// XCLAIM key group consumer min-idle-time id [id ...] `[IDLE ms]` `[TIME unix-ms]`
/// `[RETRYCOUNT count]` `[FORCE]` `[JUSTID]` `[LASTID id]`
///
/// Each listed ID pending for at least min-idle-time ms (FORCE: or not pending at all,
/// if the stream has it) becomes the consumer's, delivered again; the reply lists them.
/// Every argument is checked before anything is claimed.
pub fn xclaim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name, consumer) = (args.get(1), args.get(2), args.get(3));
    let (db, now) = (ctx.db, ctx.now_ms());
    let has_group = lookup(ctx.ks(), db, key, now)?.is_some_and(|s| s.groups.contains_key(name));
    if !has_group {
        return Err(no_key_or_group(key, name));
    }
    let min_idle = int_or(args.get(4), "ERR Invalid min-idle-time argument for XCLAIM")?;
    // The IDs run up to the first argument that is not one; the options follow.
    let mut ids = Vec::new();
    let mut at = 5;
    while at < args.len() {
        let Ok(id) = id_arg(args.get(at), 0) else {
            break;
        };
        ids.push(id);
        at += 1;
    }
    let o = parse_claim_opts(args, at, now)?;
    with_group(ctx, key, name, |s, g, out, now, logging| {
        let mut moved_last = false;
        if let Some(last) = o.last_id.filter(|&l| l > g.last_id) {
            g.last_id = last;
            moved_last = true;
        }
        let mut dropped = Vec::new();
        // A bogus time (negative, or in the future) is taken as now, not refused.
        let time = o
            .delivery_time
            .and_then(|t| u64::try_from(t).ok())
            .filter(|&t| t <= now)
            .unwrap_or(now);
        let mut to = None;
        let mut claimed = Vec::new();
        for id in ids {
            if !exists(s, id) {
                // Pending for an entry the stream no longer has: dropped.
                if g.pending(id).is_some() {
                    dropped.push(id);
                }
                g.ack(id);
                continue;
            }
            let count = match g.pending(id) {
                Some(p) if !idle_enough(now, p.delivery_time, min_idle) => continue,
                Some(p) => p.delivery_count,
                // FORCE makes it pending as if delivered once, whatever its idle time.
                None if o.force => 1,
                None => continue,
            };
            let count = match o.retry_count.and_then(|n| u64::try_from(n).ok()) {
                Some(n) => n,
                None if o.justid => count,
                None => count + 1,
            };
            let owner = claimer(g, &mut to, consumer, now);
            g.assign(id, owner, time, count);
            claimed.push(id);
        }
        out.array_len(claimed.len());
        for &id in &claimed {
            reply_claimed(out, s, id, o.justid);
        }
        if !logging {
            return Vec::new();
        }
        claimed.extend(dropped);
        crate::cmd::stream_groups::pel_records(
            key,
            name,
            g,
            consumer,
            &claimed,
            (moved_last, false),
        )
    })
}

/// XAUTOCLAIM's largest COUNT: Redis's bound (its transient ID array must stay
/// addressable).
const AUTOCLAIM_COUNT_MAX: i64 = i64::MAX / 16;

/// The COUNT above which Redis fails to allocate its array of deleted IDs (`count` × 16
/// bytes beyond a 47-bit address space); busbar keeps no such array but gives the same
/// answer.
const AUTOCLAIM_COUNT_ALLOCATABLE: i64 = 1 << 43;

/// Entries XAUTOCLAIM looks at per entry it may return.
const AUTOCLAIM_ATTEMPTS_PER_ENTRY: u64 = 10;

/// XAUTOCLAIM key group consumer min-idle-time start `[COUNT count]` `[JUSTID]`
///
/// Walks the group's pending list from `start`, looking at no more than COUNT × 10
/// entries: each idle for at least min-idle-time ms becomes the consumer's (at most COUNT
/// of them, default 100), and each whose stream entry was deleted is dropped from the
/// list (counting towards COUNT). The reply: the ID to resume from (0-0 at the end), the
/// claimed entries (or IDs with JUSTID), and the dropped IDs.
pub fn xautoclaim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name, consumer) = (args.get(1), args.get(2), args.get(3));
    let min_idle = int_or(
        args.get(4),
        "ERR Invalid min-idle-time argument for XAUTOCLAIM",
    )?;
    let start = interval_end(args.get(5), true)?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut c = args.cursor(6);
    while let Some(opt) = c.next() {
        if opt.eq_ignore_ascii_case(b"count") && !c.is_done() {
            count = crate::num::parse_i64(c.next_arg()?)
                .filter(|n| (1..=AUTOCLAIM_COUNT_MAX).contains(n))
                .ok_or(CmdError::msg("ERR COUNT must be > 0"))?;
        } else if opt.eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (db, now) = (ctx.db, ctx.now_ms());
    let has_group = lookup(ctx.ks(), db, key, now)?.is_some_and(|s| s.groups.contains_key(name));
    if !has_group {
        return Err(no_key_or_group(key, name));
    }
    if count > AUTOCLAIM_COUNT_ALLOCATABLE {
        return Err(CmdError::msg(
            "ERR Insufficient memory, failed allocating transient memory, COUNT too high.",
        ));
    }
    let mut left = count as u64;
    let mut attempts = left * AUTOCLAIM_ATTEMPTS_PER_ENTRY;
    with_group(ctx, key, name, |s, g, out, now, logging| {
        let mut to = None;
        let (mut claimed, mut deleted) = (Vec::new(), Vec::new());
        let mut cursor = Some(start);
        while let Some(from) = cursor.filter(|_| attempts > 0 && left > 0) {
            attempts -= 1;
            let Some((id, p)) = g.pending_range(from, StreamId::MAX).next() else {
                cursor = None;
                break;
            };
            let p = *p;
            cursor = id.next();
            if !exists(s, id) {
                g.ack(id);
                deleted.push(id);
                left -= 1;
                continue;
            }
            if !idle_enough(now, p.delivery_time, min_idle) {
                continue;
            }
            let owner = claimer(g, &mut to, consumer, now);
            let times = if justid {
                p.delivery_count
            } else {
                p.delivery_count + 1
            };
            g.assign(id, owner, now, times);
            claimed.push(id);
            left -= 1;
        }
        let next = cursor
            .and_then(|from| g.pending_range(from, StreamId::MAX).next())
            .map_or(StreamId::MIN, |(id, _)| id);
        out.array_len(3);
        out.bulk(&next.to_bytes());
        out.array_len(claimed.len());
        for &id in &claimed {
            reply_claimed(out, s, id, justid);
        }
        out.array_len(deleted.len());
        for id in &deleted {
            out.bulk(&id.to_bytes());
        }
        if !logging {
            return Vec::new();
        }
        claimed.extend(deleted);
        crate::cmd::stream_groups::pel_records(key, name, g, consumer, &claimed, (false, false))
    })
}
