//! Stream commands without consumer groups: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM
//! and XREAD (its blocking form through `shard::block`). Single-key commands run on the
//! owner shard of their key; XREAD reads each shard's keys there and merges in key order on
//! the client's home shard (a step coordinator, `cmd::step`). The representation is
//! `store::stream`.

use crate::cmd::{Args, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::num::cnum::{c_str, string2ull};
use crate::num::parse_i64;
use crate::resp::Reply;
use crate::store::stream::{EntryRef, Stream, StreamId, Trim};

/// The stream at `key`, or `None`; WRONGTYPE for another type.
fn read<'k>(ctx: &'k mut Ctx, key: &[u8]) -> CmdResult<Option<&'k Stream>> {
    crate::cmd::read_collection(ctx, key)
}

/// The stream at `key` in `ks`, borrowed apart from the reply (so entries can be written
/// straight from it); WRONGTYPE for another type.
pub(crate) fn lookup<'k>(
    ks: &'k mut crate::store::Keyspace,
    db: usize,
    key: &[u8],
    now: u64,
) -> CmdResult<Option<&'k Stream>> {
    match ks.lookup(db, key, now).map(|e| &e.value) {
        None => Ok(None),
        Some(crate::store::Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// `ERR Invalid stream ID specified as stream command argument`.
pub(crate) fn invalid_id() -> CmdError {
    CmdError::msg("ERR Invalid stream ID specified as stream command argument")
}

/// The longest ID argument Redis reads (its 128-byte buffer, NUL included).
const ID_ARG_BYTES_MAX: usize = 127;

/// An ID argument as Redis's `streamGenericParseIDOrReply` reads it: `ms` or `ms-seq`
/// (`missing_seq` fills a bare `ms`), the text taken up to a NUL and split at its first
/// `-`, each part read with `string2ull` (so `+1`, ` 1` and `007` are taken). `-` and `+`
/// alone are the smallest and largest IDs unless `strict`; with `seq_star`, `ms-*` is
/// taken and the flag returned is false (no sequence given).
pub(crate) fn parse_id(
    a: &[u8],
    missing_seq: u64,
    strict: bool,
    seq_star: bool,
) -> CmdResult<(StreamId, bool)> {
    if a.len() > ID_ARG_BYTES_MAX {
        return Err(invalid_id());
    }
    let text = c_str(a);
    match text {
        b"-" | b"+" if strict => return Err(invalid_id()),
        b"-" => return Ok((StreamId::MIN, true)),
        b"+" => return Ok((StreamId::MAX, true)),
        _ => {}
    }
    let (ms_part, seq_part) = match memchr::memchr(b'-', text) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let ms = string2ull(ms_part).ok_or_else(invalid_id)?;
    let (seq, seq_given) = match seq_part {
        None => (missing_seq, true),
        Some(b"*") if seq_star => (0, false),
        Some(p) => (string2ull(p).ok_or_else(invalid_id)?, true),
    };
    Ok((StreamId { ms, seq }, seq_given))
}

/// A strict ID argument (Redis's `streamParseStrictIDOrReply`: `-` and `+` refused).
pub(crate) fn id_arg(a: &[u8], missing_seq: u64) -> CmdResult<StreamId> {
    parse_id(a, missing_seq, true, false).map(|(id, _)| id)
}

/// Writes one entry: `[id, [field, value, ...]]`.
pub(crate) fn reply_entry(out: &mut Reply, e: &EntryRef<'_>) {
    out.array_len(2);
    out.bulk(&e.id.to_bytes());
    out.array_len(e.pair_items());
    for p in e.pairs() {
        out.bulk(p);
    }
}

/// Writes entries as an array.
pub(crate) fn reply_entries(out: &mut Reply, entries: &[EntryRef<'_>]) {
    out.array_len(entries.len());
    for e in entries {
        reply_entry(out, e);
    }
}

/// The trimming part of XADD and XTRIM.
struct TrimArgs {
    how: Trim,
    approx: bool,
    /// Entries removed at most (0 = no limit).
    limit: usize,
}

/// What XADD asks besides its pairs.
struct AddArgs {
    no_mkstream: bool,
    trim: Option<TrimArgs>,
    /// `None` for `*`; else the ID and whether its sequence was given (`ms-*` is not).
    id: Option<(StreamId, bool)>,
    /// Index of the first field.
    fields_at: usize,
}

/// Parses XADD's options and ID, or XTRIM's options (`xadd` false), with Redis's errors
/// in Redis's order (`streamParseAddOrTrimArgsOrReply`).
fn parse_add_or_trim(args: &Args, xadd: bool, node_entries: usize) -> CmdResult<AddArgs> {
    let mut a = AddArgs {
        no_mkstream: false,
        trim: None,
        id: None,
        fields_at: args.len(),
    };
    let (mut strategy, mut approx, mut limit) = (None::<Trim>, false, None::<i64>);
    // XADD's fields follow its ID; without one (the options ran to the end) there are
    // none, which XADD reports as an arity error.
    let mut c = args.cursor(2);
    while let Some(opt) = c.next() {
        let more = c.remaining();
        if xadd && opt == b"*" {
            a.fields_at = c.position();
            break;
        } else if (opt.eq_ignore_ascii_case(b"maxlen") || opt.eq_ignore_ascii_case(b"minid"))
            && more > 0
        {
            let maxlen = opt.eq_ignore_ascii_case(b"maxlen");
            let mut next = c.next_arg()?;
            if more >= 2 && (next == b"~" || next == b"=") {
                approx = next == b"~";
                next = c.next_arg()?;
            }
            strategy = Some(if maxlen {
                let n = parse_i64(next).ok_or(CmdError::NotInteger)?;
                if n < 0 {
                    return Err(CmdError::msg("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(id_arg(next, 0)?)
            });
        } else if opt.eq_ignore_ascii_case(b"limit") && more > 0 {
            let n = c.next_i64()?;
            if n < 0 {
                return Err(CmdError::msg("ERR The LIMIT argument must be >= 0."));
            }
            limit = Some(n);
        } else if xadd && opt.eq_ignore_ascii_case(b"nomkstream") {
            a.no_mkstream = true;
        } else if xadd {
            // Anything else is the ID (or a bad one).
            a.id = Some(parse_id(opt, 0, true, true)?);
            a.fields_at = c.position();
            break;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if limit.is_some() && strategy.is_none() {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && strategy.is_none() {
        return Err(CmdError::Syntax);
    }
    if limit.is_some() && !approx {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT cannot be used without the special ~ option",
        ));
    }
    a.trim = strategy.map(|how| TrimArgs {
        how,
        approx,
        limit: match limit {
            Some(l) => l as usize,
            None if approx => 100 * if node_entries == 0 { 100 } else { node_entries },
            None => 0,
        },
    });
    Ok(a)
}

/// XADD key \[NOMKSTREAM\] \[MAXLEN | MINID \[= | ~\] threshold \[LIMIT count\]\] &lt;* | id&gt;
/// field value [field value ...]
pub fn xadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let limits = ctx.settings().stream_limits;
    let a = parse_add_or_trim(args, true, limits.max_entries)?;
    let pairs = args.cursor(a.fields_at).remaining();
    if pairs == 0 || pairs % 2 == 1 {
        return Err(CmdError::Arity("xadd".into()));
    }
    if let Some((id, true)) = a.id {
        if id == StreamId::MIN {
            return Err(CmdError::msg(
                "ERR The ID specified in XADD must be greater than 0-0",
            ));
        }
    }
    let key = args.get(1);
    if read(ctx, key)?.is_none() && a.no_mkstream {
        ctx.out.null();
        return Ok(());
    }
    let now = ctx.now_ms();
    let s = crate::cmd::write_collection::<Stream>(ctx, key)?;
    if s.last_id == StreamId::MAX {
        return Err(CmdError::msg(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let top = || {
        CmdError::msg(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        )
    };
    let last = s.last_id;
    let id = match a.id {
        None => {
            if now > last.ms {
                StreamId { ms: now, seq: 0 }
            } else {
                last.next().expect("below the last possible ID")
            }
        }
        Some((id, true)) if id <= last => return Err(top()),
        Some((id, true)) => id,
        Some((id, false)) if id.ms == last.ms => {
            if last.seq == u64::MAX {
                return Err(top());
            }
            StreamId {
                ms: id.ms,
                seq: last.seq + 1,
            }
        }
        Some((id, false)) if id.ms > last.ms => StreamId { ms: id.ms, seq: 0 },
        Some(_) => return Err(top()),
    };
    s.append(id, args.cursor(a.fields_at), limits);
    let trimmed = a.trim.map_or(0, |t| s.trim(t.how, t.approx, t.limit));
    let len = s.len();
    if ctx.aof_on() {
        // The ID it got and the exact length a trim left: `*` and `~` replay the same.
        let id_text = id.to_bytes();
        let mut add: Vec<&[u8]> = vec![b"XADD", key, &id_text];
        add.extend(args.cursor(a.fields_at));
        ctx.log_effect(&add);
        if trimmed > 0 {
            log_trim(ctx, key, len);
        }
    }
    ctx.out.bulk(&id.to_bytes());
    ctx.signal_key(ctx.db, key);
    Ok(())
}

/// XLEN key
pub fn xlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = read(ctx, args.get(1))?.map_or(0, Stream::len);
    ctx.out.int(n as i64);
    Ok(())
}

/// One end of an XRANGE interval: `-`, `+`, `id`, or `(id` (exclusive, read strictly;
/// a lone `(` is read as an ID and refused).
pub(crate) fn interval_end(a: &[u8], start: bool) -> CmdResult<StreamId> {
    let missing_seq = if start { 0 } else { u64::MAX };
    if let Some(rest) = a.strip_prefix(b"(").filter(|r| !r.is_empty()) {
        let id = id_arg(rest, missing_seq)?;
        return if start {
            id.next()
                .ok_or(CmdError::msg("ERR invalid start ID for the interval"))
        } else {
            id.prev()
                .ok_or(CmdError::msg("ERR invalid end ID for the interval"))
        };
    }
    parse_id(a, missing_seq, false, false).map(|(id, _)| id)
}

fn range_generic(ctx: &mut Ctx, args: &Args, rev: bool) -> CmdResult {
    let db = ctx.db;
    let (start, end) = if rev { (3, 2) } else { (2, 3) };
    let lo = interval_end(args.get(start), true)?;
    let hi = interval_end(args.get(end), false)?;
    let mut count = None;
    let mut c = args.cursor(4);
    while let Some(opt) = c.next() {
        if !opt.eq_ignore_ascii_case(b"count") || c.is_done() {
            return Err(CmdError::Syntax);
        }
        count = Some(c.next_i64()?.max(0) as usize);
    }
    let now = ctx.now_ms();
    let Some(s) = lookup(ctx.ks(), db, args.get(1), now)? else {
        ctx.out.array_len(0);
        return Ok(());
    };
    if count == Some(0) {
        ctx.out.null_array();
        return Ok(());
    }
    let count = count.unwrap_or(0);
    let n = s.count_range(lo, hi, count);
    ctx.out.array_len(n);
    if n == 0 {
        return Ok(());
    }
    // Entries are written straight from the stream, as the client reads.
    ctx.pace(
        args.get(1),
        crate::cmd::paced::Paced::Stream {
            lo,
            hi,
            rev,
            left: n,
        },
    )
}

/// XRANGE key start end [COUNT count]
pub fn xrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range_generic(ctx, args, false)
}

/// XREVRANGE key end start [COUNT count]
pub fn xrevrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range_generic(ctx, args, true)
}

/// XDEL key id [id ...] — the key is looked up before the IDs are read, as in Redis (a
/// missing key is 0 and another type WRONGTYPE, whatever the IDs).
pub fn xdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if read(ctx, args.get(1))?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let ids = args
        .cursor(2)
        .map(|raw| id_arg(raw, 0))
        .collect::<CmdResult<Vec<StreamId>>>()?;
    let s = crate::cmd::write_collection::<Stream>(ctx, args.get(1))?;
    let deleted = ids.into_iter().filter(|&id| s.delete(id)).count();
    ctx.out.int(deleted as i64);
    Ok(())
}

/// XTRIM key <MAXLEN | MINID> [= | ~] threshold [LIMIT count]
pub fn xtrim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let limits = ctx.settings().stream_limits;
    let a = parse_add_or_trim(args, false, limits.max_entries)?;
    if read(ctx, args.get(1))?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let t = a.trim.expect("XTRIM has a strategy");
    let s = crate::cmd::write_collection::<Stream>(ctx, args.get(1))?;
    let removed = s.trim(t.how, t.approx, t.limit);
    let len = s.len();
    if removed > 0 {
        log_trim(ctx, args.get(1), len);
    } else {
        ctx.log_effect(&[]);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// Logs a trim as the exact length it left (an approximate one depends on the nodes).
fn log_trim(ctx: &mut Ctx, key: &[u8], len: usize) {
    let len = itoa::Buffer::new().format(len).as_bytes().to_vec();
    ctx.log_effect(&[b"XTRIM", key, b"MAXLEN", b"=", &len]);
}

/// XREAD's options, or XREADGROUP's.
pub struct XReadArgs {
    /// Entries per stream at most (0 = all).
    pub count: usize,
    /// BLOCK in ms (0 = forever), if given.
    pub block: Option<u64>,
    /// Argument index of the first key; the IDs follow the keys.
    pub keys: std::ops::Range<usize>,
    /// XREADGROUP: the argument index of the group's name (the consumer's follows).
    pub group_at: Option<usize>,
    /// XREADGROUP NOACK.
    pub noack: bool,
}

/// Parses XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...], or
/// with `group` `XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK]
/// STREAMS ...`, with Redis's errors in Redis's order.
pub fn parse_xread(args: &Args, group: bool) -> CmdResult<XReadArgs> {
    let (mut count, mut block, mut streams) = (0usize, None, None);
    let (mut group_at, mut noack) = (None, false);
    let mut c = args.cursor(1);
    while let Some(opt) = c.next() {
        let is = |word: &str| opt.eq_ignore_ascii_case(word.as_bytes());
        let more = c.remaining();
        if is("block") && more > 0 {
            let ms = parse_i64(c.next_arg()?).ok_or(CmdError::msg(
                "ERR timeout is not an integer or out of range",
            ))?;
            if ms < 0 {
                return Err(CmdError::msg("ERR timeout is negative"));
            }
            block = Some(ms as u64);
        } else if is("count") && more > 0 {
            count = c.next_i64()?.max(0) as usize;
        } else if is("streams") && more > 0 {
            // The rest is the keys, then as many IDs.
            if !more.is_multiple_of(2) {
                return Err(CmdError::msg(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            streams = Some(c.next_run(more / 2)?);
            break;
        } else if is("group") && more >= 2 {
            if !group {
                return Err(CmdError::msg(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group_at = Some(c.position());
            c.next_run(2)?;
        } else if is("noack") {
            if !group {
                return Err(CmdError::msg(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys = streams.ok_or(CmdError::Syntax)?;
    if group && group_at.is_none() {
        return Err(CmdError::msg("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(XReadArgs {
        count,
        block,
        keys,
        group_at,
        noack,
    })
}

/// One key's part of an XREAD, on its owner shard: the ID it reads after (`$` resolves
/// to the stream's last ID, `0-0` for a missing key) and its entries after that, encoded
/// for the reply (`None`: there are none); or an error (WRONGTYPE, a bad ID).
fn xread_key(
    ctx: &mut Ctx,
    key: &[u8],
    raw: &[u8],
    count: usize,
    resp3: bool,
) -> CmdResult<(StreamId, Option<Vec<u8>>)> {
    let db = ctx.db;
    let now = ctx.now_ms();
    let s = lookup(ctx.ks(), db, key, now)?;
    let after = if raw == b"$" {
        s.map_or(StreamId::MIN, |s| s.last_id)
    } else if raw == b">" {
        return Err(CmdError::msg(
            "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
        ));
    } else {
        id_arg(raw, 0)?
    };
    let entries = match (s, after.next()) {
        (Some(s), Some(from)) => s.range(from, StreamId::MAX, false, count),
        _ => Vec::new(),
    };
    if entries.is_empty() {
        return Ok((after, None));
    }
    let mut buf = Vec::new();
    reply_entries(&mut Reply::new(&mut buf, resp3), &entries);
    Ok((after, Some(buf)))
}

/// Entries of `s` after `after` (at most `count`), as XREAD's reply for one key:
/// `[[key, entries]]` in RESP2, `{key: entries}` in RESP3. `None` if there are none.
pub fn xread_serve(
    out: &mut Reply,
    key: &[u8],
    s: &Stream,
    after: StreamId,
    count: usize,
) -> Option<()> {
    let from = after.next()?;
    let entries = s.range(from, StreamId::MAX, false, count);
    if entries.is_empty() {
        return None;
    }
    if out.resp3 {
        out.map_len(1);
    } else {
        out.array_len(1);
        out.array_len(2);
    }
    out.bulk(key);
    reply_entries(out, &entries);
    Some(())
}

/// XREAD coordinator (`xread_across`).
pub fn xread_coord(
    shard: &mut crate::shard::Shard,
    slot: usize,
    conn: &mut crate::conn::Conn,
    args: &Args,
    _out: &mut Vec<u8>,
) -> CmdResult {
    let x = parse_xread(args, false)?;
    let n = x.keys.len();
    let pairs = x
        .keys
        .clone()
        .map(|i| (args.get(i).into(), Box::<[u8]>::from(args.get(i + n))))
        .collect();
    // Inside EXEC it does not block: Redis replies as if it timed out.
    let block = x.block.filter(|_| !conn.exec.running());
    let count = x.count;
    shard.start_step(slot, conn, move |cx| xread_across(cx, pairs, count, block));
    Ok(())
}

/// XREAD: each owner shard reads its keys (it holds no locks, so an owner whose keys a
/// transaction holds waits for it); the reply holds the keys with entries, in key order
/// (errors come in key order too, as Redis checks them). When none had any and BLOCK was
/// given, the client blocks on every key after the ID it resolved (`BlockOp::XRead`).
async fn xread_across(
    cx: crate::cmd::step::Cx,
    pairs: Vec<crate::cmd::keys::Pair>,
    count: usize,
    block: Option<u64>,
) -> CmdResult<Vec<u8>> {
    let keys: Vec<Box<[u8]>> = pairs.iter().map(|(k, _)| k.clone()).collect();
    let resp3 = cx.resp3;
    let read =
        move |ctx: &mut Ctx, key: &[u8], id: Box<[u8]>| xread_key(ctx, key, &id, count, resp3);
    let results = cx
        .run_per_key(pairs, read)
        .await
        .into_iter()
        .collect::<CmdResult<Vec<_>>>()?;
    let found: Vec<(&[u8], &[u8])> = keys
        .iter()
        .zip(&results)
        .filter_map(|(k, (_, entries))| Some((&k[..], entries.as_deref()?)))
        .collect();
    if !found.is_empty() {
        return Ok(cx.reply(|out| {
            if out.resp3 {
                out.map_len(found.len());
            } else {
                out.array_len(found.len());
            }
            for (key, entries) in &found {
                if !out.resp3 {
                    out.array_len(2);
                }
                out.bulk(key);
                out.raw(entries);
            }
        }));
    }
    let Some(timeout_ms) = block else {
        return Ok(cx.reply(|r| r.null_array()));
    };
    let ids: Vec<(Box<[u8]>, StreamId)> = keys
        .iter()
        .zip(&results)
        .map(|(k, (after, _))| (k.clone(), *after))
        .collect();
    let op = crate::shard::block::BlockOp::XRead {
        ids: ids.into(),
        count,
    };
    cx.block_after(keys, timeout_ms, op);
    Ok(Vec::new())
}
