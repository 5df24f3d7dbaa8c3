//! Sorted-set commands on one key (the first part of the family: adds, scores, ranks,
//! pops, ranges, counts). Each runs on the owner shard of its key; the representation is
//! `store::zset`.

use crate::cmd::strings::parse_float;
use crate::cmd::{Args, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::{parse_i64, Reply};
use crate::store::zset::{format_score, Bound, Zset};

/// The sorted set at `key`, or `None`; WRONGTYPE for another type.
fn read<'k>(ctx: &'k mut Ctx, key: &[u8]) -> CmdResult<Option<&'k Zset>> {
    crate::cmd::read_collection(ctx, key)
}

/// The sorted set at `key` for modification, created empty if missing.
fn write<'k>(ctx: &'k mut Ctx, key: &[u8]) -> CmdResult<&'k mut Zset> {
    crate::cmd::write_collection(ctx, key)
}

/// Deletes `key` if it became empty.
fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) {
    crate::cmd::drop_if_empty::<Zset>(ctx, key)
}

/// A score as a reply: a double in RESP3, a bulk string in RESP2.
fn score_reply(out: &mut Reply, s: f64) {
    if out.resp3 {
        out.double(s);
    } else {
        out.bulk(format_score(s).as_bytes());
    }
}

/// A score argument ("ERR value is not a valid float" otherwise; no NaN).
fn score_arg(a: &[u8]) -> CmdResult<f64> {
    parse_float(a).ok_or(CmdError::NotFloat)
}

/// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
pub fn zadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < args.len() {
        match args.get(i).to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            b"ch" => ch = true,
            b"incr" => incr = true,
            _ => break,
        }
        i += 1;
    }
    let pairs = args.len() - i;
    if pairs == 0 || !pairs.is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if nx && xx {
        return Err(CmdError::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(CmdError::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && pairs != 2 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut scores = Vec::with_capacity(pairs / 2);
    for j in (i..args.len()).step_by(2) {
        scores.push(score_arg(args.get(j))?);
    }
    if incr {
        let old = read(ctx, args.get(1))?.and_then(|z| z.score(args.get(i + 1)));
        if (old.unwrap_or(0.0) + scores[0]).is_nan() {
            return Err(CmdError::msg("ERR resulting score is not a number (NaN)"));
        }
    }
    if read(ctx, args.get(1))?.is_none() && xx {
        // Nothing to update: no key is created.
        if incr {
            ctx.out.null();
        } else {
            ctx.out.int(0);
        }
        return Ok(());
    }
    let limits = ctx.shard.settings.zset_limits;
    let z = write(ctx, args.get(1))?;
    let (mut added, mut changed) = (0, 0);
    let mut incr_result = None;
    for (k, j) in (i..args.len()).step_by(2).enumerate() {
        let member = args.get(j + 1);
        let old = z.score(member);
        let mut score = scores[k];
        if incr {
            score += old.unwrap_or(0.0);
        }
        let skip = match old {
            Some(_) if nx => true,
            None if xx => true,
            Some(o) if gt && score <= o => true,
            Some(o) if lt && score >= o => true,
            _ => false,
        };
        if skip {
            continue;
        }
        if old != Some(score) {
            z.insert(member, score, limits);
            if old.is_none() {
                added += 1;
            } else {
                changed += 1;
            }
        }
        incr_result = Some(score);
    }
    drop_if_empty(ctx, args.get(1));
    if incr {
        match incr_result {
            Some(s) => score_reply(&mut ctx.out, s),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.int(if ch { added + changed } else { added });
    }
    Ok(())
}

/// ZINCRBY key increment member
pub fn zincrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let by = score_arg(args.get(2))?;
    let old = read(ctx, args.get(1))?.and_then(|z| z.score(args.get(3)));
    let score = old.unwrap_or(0.0) + by;
    if score.is_nan() {
        return Err(CmdError::msg("ERR resulting score is not a number (NaN)"));
    }
    let limits = ctx.shard.settings.zset_limits;
    write(ctx, args.get(1))?.insert(args.get(3), score, limits);
    score_reply(&mut ctx.out, score);
    Ok(())
}

/// ZCARD key
pub fn zcard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = read(ctx, args.get(1))?.map_or(0, Zset::len);
    ctx.out.int(n as i64);
    Ok(())
}

/// ZSCORE key member
pub fn zscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match read(ctx, args.get(1))?.and_then(|z| z.score(args.get(2))) {
        Some(s) => score_reply(&mut ctx.out, s),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...]
pub fn zmscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let scores: Vec<Option<f64>> = match read(ctx, args.get(1))? {
        Some(z) => (2..args.len()).map(|i| z.score(args.get(i))).collect(),
        None => vec![None; args.len() - 2],
    };
    ctx.out.array_len(scores.len());
    for s in scores {
        match s {
            Some(s) => score_reply(&mut ctx.out, s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// ZREM key member [member ...]
pub fn zrem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if read(ctx, args.get(1))?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let z = write(ctx, args.get(1))?;
    let removed = (2..args.len()).filter(|&i| z.remove(args.get(i))).count();
    drop_if_empty(ctx, args.get(1));
    ctx.out.int(removed as i64);
    Ok(())
}

fn rank_generic(ctx: &mut Ctx, args: &Args, rev: bool) -> CmdResult {
    let r = read(ctx, args.get(1))?.and_then(|z| {
        z.rank(args.get(2))
            .map(|r| if rev { z.len() - 1 - r } else { r })
    });
    match r {
        Some(r) => ctx.out.int(r as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZRANK key member
pub fn zrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rank_generic(ctx, args, false)
}

/// ZREVRANK key member
pub fn zrevrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rank_generic(ctx, args, true)
}

fn pop_generic(ctx: &mut Ctx, args: &Args, max: bool) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => Some(
            parse_i64(args.get(2))
                .filter(|&n| n >= 0)
                .ok_or(CmdError::msg("ERR value is out of range, must be positive"))?
                as usize,
        ),
        _ => return Err(CmdError::Syntax),
    };
    if read(ctx, args.get(1))?.is_none() {
        ctx.out.array_len(0);
        return Ok(());
    }
    let z = write(ctx, args.get(1))?;
    let n = count.unwrap_or(1).min(z.len());
    let picked: Vec<(f64, Vec<u8>)> = if max {
        z.iter()
            .rev()
            .take(n)
            .map(|(s, m)| (s, m.to_vec()))
            .collect()
    } else {
        z.iter().take(n).map(|(s, m)| (s, m.to_vec())).collect()
    };
    for (_, m) in &picked {
        z.remove(m);
    }
    drop_if_empty(ctx, args.get(1));
    let nested = ctx.out.resp3 && count.is_some();
    ctx.out.array_len(if nested {
        picked.len()
    } else {
        picked.len() * 2
    });
    for (s, m) in picked {
        if nested {
            ctx.out.array_len(2);
        }
        ctx.out.bulk(&m);
        score_reply(&mut ctx.out, s);
    }
    Ok(())
}

/// ZPOPMIN key [count]
pub fn zpopmin(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop_generic(ctx, args, false)
}

/// ZPOPMAX key [count]
pub fn zpopmax(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop_generic(ctx, args, true)
}

/// A lex range end: `-`, `+`, `[member`, `(member`.
#[derive(Debug, Clone)]
enum Lex {
    Min,
    Max,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

impl Lex {
    fn parse(t: &[u8]) -> CmdResult<Lex> {
        let bad = || CmdError::msg("ERR min or max not valid string range item");
        match t.first() {
            Some(b'-') if t.len() == 1 => Ok(Lex::Min),
            Some(b'+') if t.len() == 1 => Ok(Lex::Max),
            Some(b'[') => Ok(Lex::Incl(t[1..].to_vec())),
            Some(b'(') => Ok(Lex::Excl(t[1..].to_vec())),
            _ => Err(bad()),
        }
    }
    fn above_min(&self, m: &[u8]) -> bool {
        match self {
            Lex::Min => true,
            Lex::Max => false,
            Lex::Incl(v) => m >= &v[..],
            Lex::Excl(v) => m > &v[..],
        }
    }
    fn below_max(&self, m: &[u8]) -> bool {
        match self {
            Lex::Min => false,
            Lex::Max => true,
            Lex::Incl(v) => m <= &v[..],
            Lex::Excl(v) => m < &v[..],
        }
    }
}

/// How a range command selects.
enum By {
    Index,
    Score,
    Lex,
}

/// What a range selects: positions, a score range or a name range.
enum Sel {
    Index(i64, i64),
    Score(Bound, Bound),
    Lex(Lex, Lex),
}

impl Sel {
    /// Parses the range ends `lo`, `hi` (already in ascending order for scores and
    /// names), with Redis's error for each kind.
    fn parse(by: By, lo: &[u8], hi: &[u8]) -> CmdResult<Sel> {
        Ok(match by {
            By::Index => Sel::Index(
                parse_i64(lo).ok_or(CmdError::NotInteger)?,
                parse_i64(hi).ok_or(CmdError::NotInteger)?,
            ),
            By::Score => {
                let bad = || CmdError::msg("ERR min or max is not a float");
                Sel::Score(
                    Bound::parse(lo).ok_or_else(bad)?,
                    Bound::parse(hi).ok_or_else(bad)?,
                )
            }
            By::Lex => Sel::Lex(Lex::parse(lo)?, Lex::parse(hi)?),
        })
    }

    /// The ranks selected in `z` (ascending); `rev` counts positions from the top.
    fn ranks(&self, z: &Zset, rev: bool) -> std::ops::Range<usize> {
        match self {
            Sel::Index(s, e) => {
                let len = z.len() as i64;
                let start = if *s < 0 { (len + s).max(0) } else { *s };
                let end = (if *e < 0 { len + e } else { *e }).min(len - 1);
                if start > end || start >= len {
                    return 0..0;
                }
                let (start, end) = (start as usize, end as usize);
                if rev {
                    z.len() - 1 - end..z.len() - start
                } else {
                    start..end + 1
                }
            }
            Sel::Score(min, max) => z.score_ranks(*min, *max),
            Sel::Lex(min, max) => {
                let lo = z.partition_point(|_, m| !min.above_min(m));
                let hi = z.partition_point(|_, m| max.below_max(m)).max(lo);
                lo..hi
            }
        }
    }

    /// The (score, member) pairs selected from `z`, walking it backwards if `rev`, after
    /// skipping `offset` and taking at most `count` (negative: all).
    fn select(&self, z: &Zset, rev: bool, (offset, count): (usize, i64)) -> Vec<(f64, Vec<u8>)> {
        let r = self.ranks(z, rev);
        let n = r.len().saturating_sub(offset);
        let n = if count < 0 { n } else { n.min(count as usize) };
        let (lo, hi) = if rev {
            (r.end - offset.min(r.len()) - n, r.end - offset.min(r.len()))
        } else {
            (
                r.start + offset.min(r.len()),
                r.start + offset.min(r.len()) + n,
            )
        };
        let owned = |(s, m): (f64, &[u8])| (s, m.to_vec());
        if rev {
            z.range(lo, hi).rev().map(owned).collect()
        } else {
            z.range(lo, hi).map(owned).collect()
        }
    }
}

/// The shared range walk of ZRANGE and its older forms. `start`/`stop` are the raw
/// range ends in the order the command took them (REV forms take max first).
#[allow(clippy::too_many_arguments)]
fn range_generic(
    ctx: &mut Ctx,
    key: &[u8],
    start: &[u8],
    stop: &[u8],
    by: By,
    rev: bool,
    limit: Option<(i64, i64)>,
    with_scores: bool,
) -> CmdResult {
    // The ends are parsed before the key is looked up, as in Redis. Positions are taken
    // as given; score and name ranges are put in ascending order.
    let (lo, hi) = match by {
        By::Index => (start, stop),
        _ if rev => (stop, start),
        _ => (start, stop),
    };
    let sel = Sel::parse(by, lo, hi)?;
    let Some(z) = read(ctx, key)? else {
        ctx.out.array_len(0);
        return Ok(());
    };
    let picked = match limit {
        Some((offset, _)) if offset < 0 => Vec::new(),
        Some((offset, count)) => sel.select(z, rev, (offset as usize, count)),
        None => sel.select(z, rev, (0, -1)),
    };
    let nested = ctx.out.resp3 && with_scores;
    ctx.out.array_len(if with_scores && !nested {
        picked.len() * 2
    } else {
        picked.len()
    });
    for (s, m) in picked {
        if nested {
            ctx.out.array_len(2);
        }
        ctx.out.bulk(&m);
        if with_scores {
            score_reply(&mut ctx.out, s);
        }
    }
    Ok(())
}

/// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
pub fn zrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut by, mut rev, mut limit, mut with_scores) = (By::Index, false, None, false);
    let (mut byscore, mut bylex) = (false, false);
    let mut i = 4;
    while i < args.len() {
        if args.is(i, "byscore") {
            byscore = true;
            by = By::Score;
        } else if args.is(i, "bylex") {
            bylex = true;
            by = By::Lex;
        } else if args.is(i, "rev") {
            rev = true;
        } else if args.is(i, "withscores") {
            with_scores = true;
        } else if args.is(i, "limit") && i + 2 < args.len() {
            limit = Some((args.int(i + 1)?, args.int(i + 2)?));
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if byscore && bylex {
        return Err(CmdError::Syntax);
    }
    if limit.is_some() && !(byscore || bylex) {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && bylex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    range_generic(
        ctx,
        args.get(1),
        args.get(2),
        args.get(3),
        by,
        rev,
        limit,
        with_scores,
    )
}

/// ZREVRANGE key start stop [WITHSCORES]
pub fn zrevrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let with_scores = match args.len() {
        4 => false,
        5 if args.is(4, "withscores") => true,
        _ => return Err(CmdError::Syntax),
    };
    range_generic(
        ctx,
        args.get(1),
        args.get(2),
        args.get(3),
        By::Index,
        true,
        None,
        with_scores,
    )
}

/// ZRANGEBYSCORE / ZREVRANGEBYSCORE / ZRANGEBYLEX / ZREVRANGEBYLEX options.
fn by_generic(ctx: &mut Ctx, args: &Args, by: By, rev: bool) -> CmdResult {
    let lex = matches!(by, By::Lex);
    let (mut limit, mut with_scores) = (None, false);
    let mut i = 4;
    while i < args.len() {
        if !lex && args.is(i, "withscores") {
            with_scores = true;
        } else if args.is(i, "limit") && i + 2 < args.len() {
            limit = Some((args.int(i + 1)?, args.int(i + 2)?));
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    range_generic(
        ctx,
        args.get(1),
        args.get(2),
        args.get(3),
        by,
        rev,
        limit,
        with_scores,
    )
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
pub fn zrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    by_generic(ctx, args, By::Score, false)
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
pub fn zrevrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    by_generic(ctx, args, By::Score, true)
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
pub fn zrangebylex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    by_generic(ctx, args, By::Lex, false)
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
pub fn zrevrangebylex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    by_generic(ctx, args, By::Lex, true)
}

/// ZCOUNT key min max
pub fn zcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let bad = || CmdError::msg("ERR min or max is not a float");
    let min = Bound::parse(args.get(2)).ok_or_else(bad)?;
    let max = Bound::parse(args.get(3)).ok_or_else(bad)?;
    let n = read(ctx, args.get(1))?.map_or(0, |z| z.count_in(min, max));
    ctx.out.int(n as i64);
    Ok(())
}

/// ZLEXCOUNT key min max
pub fn zlexcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let min = Lex::parse(args.get(2))?;
    let max = Lex::parse(args.get(3))?;
    let n = read(ctx, args.get(1))?.map_or(0, |z| Sel::Lex(min, max).ranks(z, false).len());
    ctx.out.int(n as i64);
    Ok(())
}

/// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX: the members a range selects,
/// removed; replies how many.
fn remrange(ctx: &mut Ctx, args: &Args, by: By) -> CmdResult {
    let sel = Sel::parse(by, args.get(2), args.get(3))?;
    let Some(z) = read(ctx, args.get(1))? else {
        ctx.out.int(0);
        return Ok(());
    };
    let doomed = sel.select(z, false, (0, -1));
    if !doomed.is_empty() {
        let z = write(ctx, args.get(1))?;
        for (_, m) in &doomed {
            z.remove(m);
        }
        drop_if_empty(ctx, args.get(1));
    }
    ctx.out.int(doomed.len() as i64);
    Ok(())
}

/// ZREMRANGEBYRANK key start stop
pub fn zremrangebyrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    remrange(ctx, args, By::Index)
}

/// ZREMRANGEBYSCORE key min max
pub fn zremrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    remrange(ctx, args, By::Score)
}

/// ZREMRANGEBYLEX key min max
pub fn zremrangebylex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    remrange(ctx, args, By::Lex)
}

/// ZRANDMEMBER key [count [WITHSCORES]] — distinct members for a positive count (all of
/// them, in the order Redis gives a packed set: highest first, when the count reaches the
/// size), repeats allowed for a negative one.
pub fn zrandmember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (count, with_scores) = match args.len() {
        2 => (None, false),
        3 => (Some(args.int(2)?), false),
        4 if args.is(3, "withscores") => (Some(args.int(2)?), true),
        _ => return Err(CmdError::Syntax),
    };
    let Some(len) = read(ctx, args.get(1))?.map(Zset::len) else {
        match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.array_len(0),
        }
        return Ok(());
    };
    let mut rand = |n: usize| (ctx.shard.ks.next_rand() % n.max(1) as u64) as usize;
    let picks: Vec<usize> = match count {
        None => vec![rand(len)],
        Some(n) if n >= 0 && n as usize >= len => (0..len).rev().collect(),
        Some(n) if n >= 0 => {
            let mut idx: Vec<usize> = (0..len).collect();
            for i in 0..n as usize {
                let j = i + rand(len - i);
                idx.swap(i, j);
            }
            idx.truncate(n as usize);
            idx
        }
        Some(n) => (0..n.unsigned_abs()).map(|_| rand(len)).collect(),
    };
    let z = read(ctx, args.get(1))?.expect("read above");
    let chosen: Vec<(f64, Vec<u8>)> = picks
        .iter()
        .filter_map(|&i| z.nth(i).map(|(s, m)| (s, m.to_vec())))
        .collect();
    if count.is_none() {
        ctx.out.bulk(&chosen[0].1);
        return Ok(());
    }
    let nested = ctx.out.resp3 && with_scores;
    ctx.out.array_len(if with_scores && !nested {
        chosen.len() * 2
    } else {
        chosen.len()
    });
    for (s, m) in chosen {
        if nested {
            ctx.out.array_len(2);
        }
        ctx.out.bulk(&m);
        if with_scores {
            score_reply(&mut ctx.out, s);
        }
    }
    Ok(())
}
