//! Sorted-set commands: adds, scores, ranks, pops (ZMPOP; the blocking pops are
//! `shard::block`), ranges and their stores, counts, ZSCAN, and the algebra (ZUNION,
//! ZINTER, ZDIFF, their STORE forms, ZINTERCARD). Single-key commands run on the owner
//! shard of their key; the read-many ones (algebra, ZRANGESTORE) compute over their
//! sources' values, gathered from their shards under locks when they span shards
//! (`compute_coord`). The representation is `store::zset`.

use crate::cmd::{Args, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::num::cnum::string2d;
use crate::num::parse_i64;
use crate::resp::Reply;
use crate::store::zset::{Bound, PackLimits, Zset};
use crate::store::{Ttl, Value};

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

/// A score argument, read as Redis's `string2d` (C `strtod` over the whole text; no
/// NaN, no leading blank, no overflow or underflow): "ERR value is not a valid float"
/// otherwise.
fn score_arg(a: &[u8]) -> CmdResult<f64> {
    string2d(a).ok_or(CmdError::NotFloat)
}

/// ZADD key \[NX | XX\] \[GT | LT\] \[CH\] \[INCR\] score member \[score member ...\]
pub fn zadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    // The flags run up to the first argument that is not one: the first score.
    let mut c = args.cursor(2);
    while let Some(flag) = c.peek() {
        match flag.to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            b"ch" => ch = true,
            b"incr" => incr = true,
            _ => break,
        }
        c.next_arg()?;
    }
    let pairs = c.remaining();
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
    // Every score is read (the first bad one is the error) before the key is looked at.
    let mut scored = Vec::with_capacity(pairs / 2);
    while let Some((score, member)) = c.next_pair() {
        scored.push((score_arg(score)?, member));
    }
    if let (true, Some(&(increment, member))) = (incr, scored.first()) {
        let old = read(ctx, args.get(1))?.and_then(|z| z.score(member));
        if old.is_some_and(|o| (o + increment).is_nan()) {
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
    let limits = ctx.settings().zset_limits;
    let z = write(ctx, args.get(1))?;
    let (mut added, mut changed) = (0, 0);
    let mut incr_result = None;
    for &(mut score, member) in &scored {
        let old = z.score(member);
        if incr {
            // A new member takes the increment itself (so `-0` stays `-0`).
            if let Some(o) = old {
                score += o;
            }
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
    if added > 0 {
        ctx.signal_key(ctx.db, args.get(1));
    }
    if incr {
        match incr_result {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.int(if ch { added + changed } else { added });
    }
    Ok(())
}

/// ZINCRBY key increment member
pub fn zincrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // Redis runs ZINCRBY through ZADD's parser, which takes a ZADD flag word in the score's
    // place as a flag and then finds one argument left: a syntax error.
    if ["nx", "xx", "gt", "lt", "ch", "incr"]
        .iter()
        .any(|w| args.is(2, w))
    {
        return Err(CmdError::Syntax);
    }
    let by = score_arg(args.get(2))?;
    let old = read(ctx, args.get(1))?.and_then(|z| z.score(args.get(3)));
    // A new member takes the increment itself (so `-0` stays `-0`).
    let score = old.map_or(by, |o| o + by);
    if score.is_nan() {
        return Err(CmdError::msg("ERR resulting score is not a number (NaN)"));
    }
    let limits = ctx.settings().zset_limits;
    write(ctx, args.get(1))?.insert(args.get(3), score, limits);
    if old.is_none() {
        ctx.signal_key(ctx.db, args.get(1));
    }
    ctx.out.double(score);
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
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...]
pub fn zmscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let scores: Vec<Option<f64>> = match read(ctx, args.get(1))? {
        Some(z) => args.cursor(2).map(|member| z.score(member)).collect(),
        None => vec![None; args.cursor(2).remaining()],
    };
    ctx.out.array_len(scores.len());
    for s in scores {
        match s {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// ZREM key member [member ...]
pub fn zrem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    crate::cmd::remove_named::<Zset>(ctx, args)
}

fn rank_generic(ctx: &mut Ctx, args: &Args, rev: bool) -> CmdResult {
    let with_score = match args.len() {
        3 => false,
        4 if args.is(3, "withscore") => true,
        _ => return Err(CmdError::Syntax),
    };
    let found = read(ctx, args.get(1))?.and_then(|z| {
        let r = z.rank(args.get(2))?;
        let score = z.score(args.get(2))?;
        Some((if rev { z.len() - 1 - r } else { r }, score))
    });
    match found {
        Some((r, s)) if with_score => {
            ctx.out.array_len(2);
            ctx.out.int(r as i64);
            ctx.out.double(s);
        }
        Some((r, _)) => ctx.out.int(r as i64),
        None if with_score => ctx.out.null_array(),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZRANK key member \[WITHSCORE\] (WITHSCORE: Redis 7.2)
pub fn zrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rank_generic(ctx, args, false)
}

/// ZREVRANK key member \[WITHSCORE\]
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
    let picked = pop_members(ctx, args.get(1), max, count.unwrap_or(1))?;
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
        ctx.out.double(s);
    }
    Ok(())
}

/// Pops up to `n` members of the sorted set at `key` (highest first if `max`), deleting
/// it when emptied.
fn pop_members(ctx: &mut Ctx, key: &[u8], max: bool, n: usize) -> CmdResult<Vec<(f64, Box<[u8]>)>> {
    if read(ctx, key)?.is_none() {
        return Ok(Vec::new());
    }
    let picked = write(ctx, key)?.pop(max, n);
    drop_if_empty(ctx, key);
    Ok(picked)
}

/// The reply of ZMPOP and BZMPOP: `[key, [[member, score] ...]]`.
pub(crate) fn reply_mpop(out: &mut Reply, key: &[u8], popped: &[(f64, Box<[u8]>)]) {
    out.array_len(2);
    out.bulk(key);
    out.array_len(popped.len());
    for (s, m) in popped {
        out.array_len(2);
        out.bulk(m);
        out.double(*s);
    }
}

/// Members with their scores, as a pop takes them.
pub(crate) type Members = Vec<(f64, Box<[u8]>)>;

/// ZMPOP's work on one shard: pops up to `count` members (the highest scores if `max`)
/// of the first non-empty sorted set of `keys`, and says which key that was; WRONGTYPE for
/// a key of another type met first.
pub(crate) fn mpop_here(
    ctx: &mut Ctx,
    keys: &[Box<[u8]>],
    max: bool,
    count: usize,
) -> CmdResult<Option<(usize, Members)>> {
    for (at, key) in keys.iter().enumerate() {
        if read(ctx, key)?.is_some() {
            return Ok(Some((at, pop_members(ctx, key, max, count)?)));
        }
    }
    Ok(None)
}

/// ZMPOP numkeys key [key ...] <MIN | MAX> [COUNT count] with its keys on this shard.
pub fn zmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let crate::cmd::lists::MPopArgs { keys, left, count } = crate::cmd::lists::parse_mpop(args, 1)?;
    for i in keys {
        let key = args.get(i);
        if read(ctx, key)?.is_some() {
            let popped = pop_members(ctx, key, !left, count)?;
            reply_mpop(&mut ctx.out, key, &popped);
            return Ok(());
        }
    }
    ctx.out.null_array();
    Ok(())
}

/// ZPOPMIN key \[count\]
pub fn zpopmin(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop_generic(ctx, args, false)
}

/// ZPOPMAX key \[count\]
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

impl Lex {
    /// True when no name can be in `min..max` (Redis's empty-range check).
    fn empty_range(min: &Lex, max: &Lex) -> bool {
        match (min, max) {
            (Lex::Max, _) | (_, Lex::Min) => true,
            (Lex::Incl(a) | Lex::Excl(a), Lex::Incl(b) | Lex::Excl(b)) => {
                a > b || (a == b && (matches!(min, Lex::Excl(_)) || matches!(max, Lex::Excl(_))))
            }
            _ => false,
        }
    }
}

/// The ranks a name range selects, as Redis finds them. Names are only ordered when all
/// scores are equal; otherwise the answer is Redis's walk: for a packed set, the first
/// member from the low end (the last from the high end, for REV) that is at or past the
/// near end of the range, then on while members stay within the far end. The large
/// encoding binary-searches (Redis's skiplist search is as good as random there).
fn lex_ranks(z: &Zset, min: &Lex, max: &Lex, rev: bool) -> std::ops::Range<usize> {
    let len = z.len();
    if len == 0 || Lex::empty_range(min, max) {
        return 0..0;
    }
    let name = |i: usize| z.nth(i).map(|(_, m)| m).unwrap_or_default();
    // Redis's `zzlIsInLexRange`: the last member reaches min, the first is within max.
    if !min.above_min(name(len - 1)) || !max.below_max(name(0)) {
        return 0..0;
    }
    if let Zset::Tree(_) = z {
        let lo = z.partition_point(|_, m| !min.above_min(m));
        let hi = z.partition_point(|_, m| max.below_max(m)).max(lo);
        return lo..hi;
    }
    if rev {
        let Some(last) = (0..len).rev().find(|&i| max.below_max(name(i))) else {
            return 0..0;
        };
        if !min.above_min(name(last)) {
            return 0..0;
        }
        let lo = (0..last)
            .rev()
            .find(|&i| !min.above_min(name(i)))
            .map_or(0, |i| i + 1);
        lo..last + 1
    } else {
        let Some(first) = (0..len).find(|&i| min.above_min(name(i))) else {
            return 0..0;
        };
        if !max.below_max(name(first)) {
            return 0..0;
        }
        let hi = (first..len)
            .find(|&i| !max.below_max(name(i)))
            .unwrap_or(len);
        first..hi
    }
}

/// How a range command selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
            Sel::Lex(min, max) => lex_ranks(z, min, max, rev),
        }
    }

    /// The ranks selected from `z` after skipping `offset` (from the top if `rev`) and
    /// taking at most `count` (negative: all).
    fn window(&self, z: &Zset, rev: bool, (offset, count): (usize, i64)) -> (usize, usize) {
        let r = self.ranks(z, rev);
        let skip = offset.min(r.len());
        let n = r.len() - skip;
        let n = if count < 0 { n } else { n.min(count as usize) };
        if rev {
            (r.end - skip - n, r.end - skip)
        } else {
            (r.start + skip, r.start + skip + n)
        }
    }

    /// The (score, member) pairs selected from `z`, walking it backwards if `rev`, after
    /// skipping `offset` and taking at most `count` (negative: all).
    fn select(&self, z: &Zset, rev: bool, limit: (usize, i64)) -> Vec<(f64, Vec<u8>)> {
        let (lo, hi) = self.window(z, rev, limit);
        let owned = |(s, m): (f64, &[u8])| (s, m.to_vec());
        if rev {
            z.range(lo, hi).rev().map(owned).collect()
        } else {
            z.range(lo, hi).map(owned).collect()
        }
    }
}

/// A parsed range request of ZRANGE, its older forms and ZRANGESTORE.
struct RangeReq {
    sel: Sel,
    rev: bool,
    limit: Option<(i64, i64)>,
    with_scores: bool,
}

impl RangeReq {
    /// `start`/`stop` are the raw range ends in the order the command took them (REV
    /// forms take max first). Positions are taken as given; score and name ranges are put
    /// in ascending order.
    fn new(
        start: &[u8],
        stop: &[u8],
        by: By,
        rev: bool,
        limit: Option<(i64, i64)>,
        with_scores: bool,
    ) -> CmdResult<RangeReq> {
        let (lo, hi) = match by {
            By::Index => (start, stop),
            _ if rev => (stop, start),
            _ => (start, stop),
        };
        Ok(RangeReq {
            sel: Sel::parse(by, lo, hi)?,
            rev,
            limit,
            with_scores,
        })
    }

    /// The options after `start stop` (from argument `at` on), as Redis's
    /// `zrangeGenericCommand` reads them for every range command: `by` and `rev` are what
    /// the command fixes (ZRANGEBYSCORE: `Some(Score)`, `Some(false)`; ZRANGE and
    /// ZRANGESTORE: neither), and an option not fixed may be given once (BYSCORE or BYLEX,
    /// REV); a repeat is a syntax error. WITHSCORES may repeat (a store takes none), and
    /// LIMIT's numbers are read where they stand. LIMIT with a count other than -1 needs
    /// BYSCORE or BYLEX; on a rank range a count of -1 leaves it ignored, as in Redis.
    fn parse(
        args: &Args,
        at: usize,
        store: bool,
        by: Option<By>,
        rev: Option<bool>,
    ) -> CmdResult<RangeReq> {
        let (mut by, mut rev) = (by, rev);
        let (mut limit, mut with_scores) = (None, false);
        let mut c = args.cursor(at);
        // The range ends are read here, parsed only once the options are (their errors
        // come first, as in Redis).
        let (start, stop) = (c.next_arg()?, c.next_arg()?);
        while let Some(opt) = c.next() {
            let is = |word: &str| opt.eq_ignore_ascii_case(word.as_bytes());
            if !store && is("withscores") {
                with_scores = true;
            } else if is("limit") && c.remaining() >= 2 {
                limit = Some((c.next_i64()?, c.next_i64()?));
            } else if rev.is_none() && is("rev") {
                rev = Some(true);
            } else if by.is_none() && is("bylex") {
                by = Some(By::Lex);
            } else if by.is_none() && is("byscore") {
                by = Some(By::Score);
            } else {
                return Err(CmdError::Syntax);
            }
        }
        let (by, rev) = (by.unwrap_or(By::Index), rev.unwrap_or(false));
        if by == By::Index {
            match limit {
                Some((_, -1)) => limit = None,
                Some(_) => {
                    return Err(CmdError::msg(
                        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
                    ))
                }
                None => {}
            }
        }
        if with_scores && by == By::Lex {
            return Err(CmdError::msg(
                "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
            ));
        }
        RangeReq::new(start, stop, by, rev, limit, with_scores)
    }

    /// The (score, member) pairs it selects from `z`, in reply order.
    fn pick(&self, z: &Zset) -> Vec<(f64, Vec<u8>)> {
        match self.limit {
            Some((offset, _)) if offset < 0 => Vec::new(),
            Some((offset, count)) => self.sel.select(z, self.rev, (offset as usize, count)),
            None => self.sel.select(z, self.rev, (0, -1)),
        }
    }

    /// The ranks `lo..hi` it selects from `z` (walked from `hi` down when `rev`).
    fn window(&self, z: &Zset) -> (usize, usize) {
        match self.limit {
            Some((offset, _)) if offset < 0 => (0, 0),
            Some((offset, count)) => self.sel.window(z, self.rev, (offset as usize, count)),
            None => self.sel.window(z, self.rev, (0, -1)),
        }
    }
}

/// Replies with members (and their scores: flat in RESP2, pairs in RESP3).
fn reply_members<M: AsRef<[u8]>>(out: &mut Reply, picked: &[(f64, M)], with_scores: bool) {
    let walk = picked.iter().map(|(s, m)| (*s, m.as_ref()));
    reply_members_from(out, picked.len(), walk, with_scores);
}

/// Replies with `n` members from `walk`, as `reply_members`.
fn reply_members_from<'m>(
    out: &mut Reply,
    n: usize,
    walk: impl Iterator<Item = (f64, &'m [u8])>,
    with_scores: bool,
) {
    let nested = out.resp3 && with_scores;
    out.array_len(if with_scores && !nested { n * 2 } else { n });
    for (s, m) in walk {
        if nested {
            out.array_len(2);
        }
        out.bulk(m);
        if with_scores {
            out.double(s);
        }
    }
}

/// The shared range walk of ZRANGE and its older forms: the ends are parsed (in `req`)
/// before the key is looked up, as in Redis.
fn range_generic(ctx: &mut Ctx, key: &[u8], req: CmdResult<RangeReq>) -> CmdResult {
    let db = ctx.db;
    let req = req?;
    let now = ctx.now_ms();
    let (lo, hi) = match ctx.ks().lookup(db, key, now).map(|e| &e.value) {
        None => (0, 0),
        Some(Value::Zset(z)) => req.window(z),
        Some(_) => return Err(CmdError::WrongType),
    };
    let n = hi.saturating_sub(lo);
    let nested = ctx.out.resp3 && req.with_scores;
    ctx.out
        .array_len(if req.with_scores && !nested { n * 2 } else { n });
    if n == 0 {
        return Ok(());
    }
    // Members are written straight from the set, as the client reads.
    ctx.pace(
        key,
        crate::cmd::paced::Paced::Zset {
            lo,
            hi,
            rev: req.rev,
            scores: req.with_scores,
        },
    )
}

/// ZRANGE key start stop \[BYSCORE | BYLEX\] \[REV\] \[LIMIT offset count\] \[WITHSCORES\]
pub fn zrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range_generic(
        ctx,
        args.get(1),
        RangeReq::parse(args, 2, false, None, None),
    )
}

/// ZRANGESTORE dst src min max \[BYSCORE | BYLEX\] \[REV\] \[LIMIT offset count\], with both
/// keys on this shard.
pub fn zrangestore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    run_compute(ctx, args, &[2], Some(1), zrangestore_eval)
}

/// ZRANGESTORE over its source (`sources[0]`): replies with the count and returns what
/// to store (`None`: delete the destination).
pub fn zrangestore_eval(
    args: &Args,
    sources: &[Option<&Value>],
    limits: PackLimits,
    out: &mut Reply,
) -> CmdResult<Option<Option<Value>>> {
    let req = RangeReq::parse(args, 3, true, None, None)?;
    let picked = match sources[0] {
        None => Vec::new(),
        Some(Value::Zset(z)) => req.pick(z),
        Some(_) => return Err(CmdError::WrongType),
    };
    out.int(picked.len() as i64);
    let mut pairs: Vec<(f64, Box<[u8]>)> = picked.into_iter().map(|(s, m)| (s, m.into())).collect();
    if req.rev {
        pairs.reverse();
    }
    Ok(Some(stored_zset(pairs, limits)))
}

/// A result set to store: `None` when empty (the destination is deleted), packed when it
/// fits the packed limits (as Redis's `zsetConvertToListpackIfNeeded`).
fn stored_zset(pairs: Vec<(f64, Box<[u8]>)>, limits: PackLimits) -> Option<Value> {
    if pairs.is_empty() {
        return None;
    }
    let packed =
        pairs.len() <= limits.max_entries && pairs.iter().all(|(_, m)| m.len() <= limits.max_value);
    Some(Value::Zset(Box::new(Zset::from_sorted(pairs, packed))))
}

/// Computes a read-many command over the values of its source keys (argument indexes
/// `sources`), all on this shard, and stores the result at argument `store` if it has
/// one. The cross-shard form gathers the same values from their shards
/// (`compute_coord`) and runs the same `eval`.
fn run_compute(
    ctx: &mut Ctx,
    args: &Args,
    sources: &[usize],
    store: Option<usize>,
    eval: ComputeFn,
) -> CmdResult {
    let now = ctx.now_ms();
    let db = ctx.db;
    for &i in sources {
        ctx.ks().lookup(db, args.get(i), now);
    }
    let limits = ctx.settings().zset_limits;
    let (ks, out) = ctx.ks_out();
    let values: Vec<Option<&Value>> = sources
        .iter()
        .map(|&i| ks.get(db, args.get(i)).map(|e| &e.value))
        .collect();
    let result = eval(args, &values, limits, out)?;
    if let (Some(value), Some(dst)) = (result, store) {
        let dst = args.get(dst);
        match value {
            Some(v) => {
                ctx.ks().set(db, dst, v, Ttl::Clear, now);
                ctx.signal_key(db, dst);
            }
            None => {
                ctx.ks().remove(db, dst, now);
            }
        }
    }
    Ok(())
}

/// A read-many command's computation: its arguments and its source values (in order;
/// `None` for a missing key) -> the reply (written to `out`) and, for a store, the value
/// to store (`Some(None)`: delete the destination).
pub type ComputeFn =
    fn(&Args, &[Option<&Value>], PackLimits, &mut Reply) -> CmdResult<Option<Option<Value>>>;

/// Runs a read-many command whose keys span shards: under the locks of all its keys, the
/// source values are copied from their shards, this shard computes with `eval`, and a
/// result to store is put on the destination's shard (`compute_across`).
pub fn compute_coord(
    shard: &mut crate::shard::Shard,
    slot: usize,
    conn: &mut crate::conn::Conn,
    args: &Args,
    out: &mut Vec<u8>,
    (sources, store, eval): (&[usize], Option<usize>, ComputeFn),
) {
    use crate::shard::route::shard_of;
    let mut owners: Vec<usize> = sources
        .iter()
        .chain(store.iter())
        .map(|&i| shard_of(args.get(i), shard.shards))
        .collect();
    owners.sort_unstable();
    owners.dedup();
    if owners.len() <= 1 {
        let dest = owners.first().copied().unwrap_or(shard.id);
        shard.run_whole_on(dest, slot, conn, args, out);
        return;
    }
    let keys = sources.iter().map(|&i| (args.get(i).into(), ())).collect();
    let mut own = crate::shard::msg::OwnedCmds::default();
    own.push(0, args.iter());
    let store = store.map(|i| args.get(i).into());
    let limits = shard.settings.zset_limits;
    shard.start_step(slot, conn, move |cx| {
        compute_across(cx, own, keys, store, (limits, eval))
    });
}

/// A read-many command over several shards: copies of the source values (as the keys
/// are when the command runs, read without counting hits, as a dump would), the
/// computation here, and a store on the destination's shard.
async fn compute_across(
    cx: crate::cmd::step::Cx,
    own: crate::shard::msg::OwnedCmds,
    keys: Vec<(Box<[u8]>, ())>,
    store: Option<Box<[u8]>>,
    (limits, eval): (PackLimits, ComputeFn),
) -> CmdResult<Vec<u8>> {
    let copy = |ctx: &mut Ctx, key: &[u8], ()| -> Option<Value> {
        let db = ctx.db;
        let now = ctx.now_ms();
        ctx.ks().peek(db, key, now).map(|e| e.value.clone())
    };
    let values = cx.run_per_key(keys, copy).await;
    let sources: Vec<Option<&Value>> = values.iter().map(Option::as_ref).collect();
    let args = Args::new(&own.data, &own.args);
    let mut reply = Vec::new();
    let stored = eval(
        &args,
        &sources,
        limits,
        &mut Reply::new(&mut reply, cx.resp3),
    )?;
    let (Some(value), Some(dst)) = (stored, store) else {
        return Ok(reply);
    };
    let dst_shard = cx.shard_of(&dst);
    cx.run_on(dst_shard, move |ctx| {
        crate::cmd::keys::store_computed(ctx, &dst, value)
    })
    .await;
    Ok(reply)
}

/// ZRANGESTORE coordinator.
pub fn zrangestore_coord(
    shard: &mut crate::shard::Shard,
    slot: usize,
    conn: &mut crate::conn::Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    compute_coord(
        shard,
        slot,
        conn,
        args,
        out,
        (&[2], Some(1), zrangestore_eval),
    );
    Ok(())
}

/// ZREVRANGE key start stop \[WITHSCORES\]
pub fn zrevrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    by_generic(ctx, args, By::Index, true)
}

/// ZREVRANGE / ZRANGEBYSCORE / ZREVRANGEBYSCORE / ZRANGEBYLEX / ZREVRANGEBYLEX: the ZRANGE
/// walk with the kind and direction fixed.
fn by_generic(ctx: &mut Ctx, args: &Args, by: By, rev: bool) -> CmdResult {
    let req = RangeReq::parse(args, 2, false, Some(by), Some(rev));
    range_generic(ctx, args.get(1), req)
}

/// ZRANGEBYSCORE key min max \[WITHSCORES\] \[LIMIT offset count\]
pub fn zrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    by_generic(ctx, args, By::Score, false)
}

/// ZREVRANGEBYSCORE key max min \[WITHSCORES\] \[LIMIT offset count\]
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

/// ZRANDMEMBER key \[count \[WITHSCORES\]\] — distinct members for a positive count (all of
/// them, in the order Redis gives a packed set: highest first, when the count reaches the
/// size), repeats allowed for a negative one.
pub fn zrandmember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (count, with_scores) = crate::cmd::random_count(args, Some("withscores"))?;
    let Some(len) = read(ctx, args.get(1))?.map(Zset::len) else {
        match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.array_len(0),
        }
        return Ok(());
    };
    if let Some(n) = count.filter(|&n| n < 0) {
        // Repeats allowed: the reply can be far larger than the set, so it is written as
        // the client reads.
        let picks = n.unsigned_abs();
        ctx.check_picks(picks)?;
        let items = if with_scores && !ctx.out.resp3 {
            picks.saturating_mul(2)
        } else {
            picks
        };
        ctx.out.array_len(items.min(i64::MAX as u64) as usize);
        let rng = ctx.pick_seed();
        return ctx.pace(
            args.get(1),
            crate::cmd::paced::Paced::Picks {
                left: picks,
                rng,
                pick: crate::cmd::paced::Pick::Scored {
                    scores: with_scores,
                },
            },
        );
    }
    let mut rand = |n: usize| (ctx.ks().next_rand() % n.max(1) as u64) as usize;
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
        // Negative counts were paced above.
        Some(_) => Vec::new(),
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
            ctx.out.double(s);
        }
    }
    Ok(())
}

/// Which algebra a ZUNION-family command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZOp {
    Union,
    Inter,
    Diff,
}

/// The parts of a ZUNION / ZINTER / ZDIFF / *STORE / ZINTERCARD call Redis checks before
/// it looks at the keys.
struct ZKeys {
    op: ZOp,
    /// ZINTERCARD.
    card: bool,
    /// A store's destination argument.
    dst: Option<usize>,
    /// The source keys' arguments.
    keys: std::ops::Range<usize>,
}

impl ZKeys {
    fn parse(args: &Args) -> CmdResult<ZKeys> {
        let name = args.get(0).to_ascii_lowercase();
        let op = match &name[..] {
            b"zunion" | b"zunionstore" => ZOp::Union,
            b"zinter" | b"zinterstore" | b"zintercard" => ZOp::Inter,
            _ => ZOp::Diff,
        };
        let dst = name.ends_with(b"store").then_some(1);
        let at = if dst.is_some() { 2 } else { 1 };
        let mut c = args.cursor(at);
        let n = c.next_i64()?;
        if n < 1 {
            return Err(CmdError::Msg(
                format!(
                    "ERR at least 1 input key is needed for '{}' command",
                    String::from_utf8_lossy(&name)
                )
                .into(),
            ));
        }
        // More keys named than arguments left is a syntax error.
        let keys = c.next_run(usize::try_from(n).unwrap_or(usize::MAX))?;
        Ok(ZKeys {
            op,
            card: name == b"zintercard",
            dst,
            keys,
        })
    }
}

/// A source of the algebra: a sorted set, or a plain set whose members score 1.
enum Src<'a> {
    Missing,
    Set(&'a crate::store::set::Set),
    Zset(&'a Zset),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Set(s) => s.len(),
            Src::Zset(z) => z.len(),
        }
    }

    fn members(&self) -> Vec<(f64, Box<[u8]>)> {
        match self {
            Src::Missing => Vec::new(),
            Src::Set(s) => s.members().into_iter().map(|m| (1.0, m.into())).collect(),
            Src::Zset(z) => z.iter().map(|(s, m)| (s, m.into())).collect(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Set(s) => s.contains(member).then_some(1.0),
            Src::Zset(z) => z.score(member),
        }
    }
}

/// How scores of one member in several inputs combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, acc: &mut f64, v: f64) {
        match self {
            // inf + -inf is NaN, which Redis turns into 0.
            Aggregate::Sum => {
                *acc += v;
                if acc.is_nan() {
                    *acc = 0.0;
                }
            }
            Aggregate::Min => *acc = acc.min(v),
            Aggregate::Max => *acc = acc.max(v),
        }
    }
}

/// ZUNION / ZINTER / ZDIFF / ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE / ZINTERCARD over their
/// sources, with Redis's order of checks: keys' types, then options. Sets count as sorted
/// sets with every score 1. Union and intersection take their inputs smallest first, as
/// Redis does (it decides where infinities meet in a sum).
pub fn zalgebra_eval(
    args: &Args,
    sources: &[Option<&Value>],
    limits: PackLimits,
    out: &mut Reply,
) -> CmdResult<Option<Option<Value>>> {
    let k = ZKeys::parse(args)?;
    let srcs = sources
        .iter()
        .map(|v| match v {
            None => Ok(Src::Missing),
            Some(Value::Set(s)) => Ok(Src::Set(s)),
            Some(Value::Zset(z)) => Ok(Src::Zset(z)),
            Some(_) => Err(CmdError::WrongType),
        })
        .collect::<CmdResult<Vec<Src>>>()?;
    let n = srcs.len();
    let (mut weights, mut aggregate, mut with_scores, mut limit) =
        (vec![1.0; n], Aggregate::Sum, false, 0usize);
    let algebra_opts = k.op != ZOp::Diff && !k.card;
    let mut c = args.cursor(k.keys.end);
    while let Some(opt) = c.next() {
        let is = |word: &str| opt.eq_ignore_ascii_case(word.as_bytes());
        // An option without all its values is a syntax error before any value is read.
        let values = c.remaining();
        if algebra_opts && values >= n && is("weights") {
            for w in weights.iter_mut() {
                *w = string2d(c.next_arg()?)
                    .ok_or(CmdError::msg("ERR weight value is not a float"))?;
            }
        } else if algebra_opts && values >= 1 && is("aggregate") {
            aggregate = match c.next_arg()?.to_ascii_lowercase().as_slice() {
                b"sum" => Aggregate::Sum,
                b"min" => Aggregate::Min,
                b"max" => Aggregate::Max,
                _ => return Err(CmdError::Syntax),
            };
        } else if k.dst.is_none() && !k.card && is("withscores") {
            with_scores = true;
        } else if k.card && values >= 1 && is("limit") {
            limit = parse_i64(c.next_arg()?)
                .filter(|&l| l >= 0)
                .ok_or(CmdError::msg("ERR LIMIT can't be negative"))? as usize;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let weighted = |w: f64, s: f64| {
        let v = w * s;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| srcs[i].len());
    let mut result: Vec<(f64, Box<[u8]>)> = match k.op {
        ZOp::Inter => {
            let mut found = Vec::new();
            if srcs[order[0]].len() > 0 {
                'members: for (s, m) in srcs[order[0]].members() {
                    if k.card && limit > 0 && found.len() >= limit {
                        break;
                    }
                    let mut score = weighted(weights[order[0]], s);
                    for &o in &order[1..] {
                        match srcs[o].score(&m) {
                            Some(v) => aggregate.apply(&mut score, weighted(weights[o], v)),
                            None => continue 'members,
                        }
                    }
                    found.push((score, m));
                }
            }
            found
        }
        ZOp::Union => {
            let mut acc: indexmap::IndexMap<Box<[u8]>, f64, ahash::RandomState> =
                Default::default();
            for &o in &order {
                for (s, m) in srcs[o].members() {
                    let v = weighted(weights[o], s);
                    match acc.entry(m) {
                        indexmap::map::Entry::Occupied(mut e) => aggregate.apply(e.get_mut(), v),
                        indexmap::map::Entry::Vacant(e) => {
                            e.insert(v);
                        }
                    }
                }
            }
            acc.into_iter().map(|(m, s)| (s, m)).collect()
        }
        ZOp::Diff => srcs[0]
            .members()
            .into_iter()
            .filter(|(_, m)| srcs[1..].iter().all(|o| o.score(m).is_none()))
            .collect(),
    };
    if k.card {
        out.int(result.len() as i64);
        return Ok(None);
    }
    result.sort_by(|a, b| {
        crate::store::zset::Score(a.0)
            .cmp(&crate::store::zset::Score(b.0))
            .then_with(|| a.1.cmp(&b.1))
    });
    if k.dst.is_some() {
        out.int(result.len() as i64);
        return Ok(Some(stored_zset(result, limits)));
    }
    reply_members(out, &result, with_scores);
    Ok(None)
}

/// ZUNION-family command with every key on this shard.
pub fn zalgebra(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let k = ZKeys::parse(args)?;
    let sources: Vec<usize> = k.keys.collect();
    run_compute(ctx, args, &sources, k.dst, zalgebra_eval)
}

/// ZUNION-family coordinator: its numkeys checked first (as Redis), then run on one shard
/// or across shards (`compute_coord`).
pub fn zalgebra_coord(
    shard: &mut crate::shard::Shard,
    slot: usize,
    conn: &mut crate::conn::Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    let k = ZKeys::parse(args)?;
    let sources: Vec<usize> = k.keys.collect();
    compute_coord(
        shard,
        slot,
        conn,
        args,
        out,
        (&sources, k.dst, zalgebra_eval),
    );
    Ok(())
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]. A packed set comes back whole with
/// cursor 0 (as Redis); the large encoding is walked by its member table from the top
/// index down (`keys::scan_table_down`).
pub fn zscan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    use crate::cmd::keys::{parse_cursor, scan_opts_from, scan_table_down};
    let cursor = parse_cursor(args.get(2))?;
    let Some(z) = read(ctx, args.get(1))? else {
        ctx.out.array_len(2);
        ctx.out.bulk(b"0");
        ctx.out.array_len(0);
        return Ok(());
    };
    let len = z.len();
    let o = scan_opts_from(args, 3, false)?;
    let keep = |m: &[u8]| {
        o.pattern
            .as_deref()
            .is_none_or(|p| crate::store::glob_match(p, m, false))
    };
    let z = read(ctx, args.get(1))?.expect("read above");
    let owned = |(s, m): (f64, &[u8])| (s, m.to_vec());
    let (next, found): (u64, Vec<(f64, Vec<u8>)>) = match z {
        Zset::Pack(_) => (0, z.iter().filter(|(_, m)| keep(m)).map(owned).collect()),
        Zset::Tree(_) => scan_table_down(len, cursor, o.count, |i| {
            z.table_at(i).filter(|(_, m)| keep(m)).map(owned)
        }),
    };
    ctx.out.array_len(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array_len(found.len() * 2);
    for (s, m) in found {
        ctx.out.bulk(&m);
        let mut buf = crate::num::DoubleBuf::default();
        ctx.out.bulk(buf.format(s));
    }
    Ok(())
}
