//! List commands (non-blocking): pushes and pops at both ends, ranges, LINDEX/LSET,
//! LINSERT, LREM, LTRIM, LPOS, LMOVE/RPOPLPUSH and LMPOP. They run on the owner shard of
//! their key(s); a move between keys on two shards runs as pop, push (and restore on
//! failure) steps coordinated by the client's home shard.

use crate::cmd::step::{Cx, Taken};
use crate::cmd::{Args, Ctx};
use crate::conn::Conn;
use crate::error::{CmdError, CmdResult};
use crate::shard::msg::Popped;
use crate::shard::{route, Shard};
use crate::store::list::List;
use crate::store::{Ttl, Value};

/// The list at `key`, or `None`; WRONGTYPE for another type.
fn read<'k>(ctx: &'k mut Ctx, key: &[u8]) -> CmdResult<Option<&'k List>> {
    let db = ctx.db;
    let now = ctx.now_ms();
    match ctx.ks().lookup(db, key, now).map(|e| &e.value) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The list at `key` for modification, or `None`; WRONGTYPE for another type.
fn write<'k>(ctx: &'k mut Ctx, key: &[u8]) -> CmdResult<Option<&'k mut List>> {
    let db = ctx.db;
    let now = ctx.now_ms();
    match ctx.ks().lookup_mut(db, key, now).map(|e| &mut e.value) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Removes `key` if its list became empty (Redis never keeps empty lists).
fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db;
    let now = ctx.now_ms();
    if let Some(e) = ctx.ks().peek(db, key, now) {
        if matches!(&e.value, Value::List(l) if l.is_empty()) {
            ctx.ks().remove(db, key, now);
        }
    }
}

/// Which end of a list.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head.
    Left,
    /// The tail.
    Right,
}

/// LEFT or RIGHT, case-insensitively (`ERR syntax error` otherwise).
pub fn parse_end(raw: &[u8]) -> CmdResult<End> {
    if raw.eq_ignore_ascii_case(b"left") {
        Ok(End::Left)
    } else if raw.eq_ignore_ascii_case(b"right") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

fn push(ctx: &mut Ctx, args: &Args, end: End, only_existing: bool) -> CmdResult {
    let db = ctx.db;
    let key = args.get(1);
    let now = ctx.now_ms();
    if write(ctx, key)?.is_none() {
        if only_existing {
            ctx.out.int(0);
            return Ok(());
        }
        ctx.ks()
            .set(db, key, Value::List(Box::default()), Ttl::Clear, now);
    }
    let list = write(ctx, key)?.expect("just created");
    for element in args.cursor(2) {
        match end {
            End::Left => list.push_front(element),
            End::Right => list.push_back(element),
        }
    }
    let n = list.len();
    ctx.out.int(n as i64);
    ctx.signal_key(ctx.db, key);
    Ok(())
}

/// LPUSH key element [element ...]
pub fn lpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push(ctx, args, End::Left, false)
}

/// RPUSH key element [element ...]
pub fn rpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push(ctx, args, End::Right, false)
}

/// LPUSHX key element [element ...]
pub fn lpushx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push(ctx, args, End::Left, true)
}

/// RPUSHX key element [element ...]
pub fn rpushx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push(ctx, args, End::Right, true)
}

/// Pops up to `count` elements from `end` of `key` (the list must exist and be a list).
fn pop_n(ctx: &mut Ctx, key: &[u8], end: End, count: usize) -> CmdResult<Vec<Vec<u8>>> {
    let Some(list) = write(ctx, key)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(count.min(list.len()));
    for _ in 0..count {
        let v = match end {
            End::Left => list.pop_front(),
            End::Right => list.pop_back(),
        };
        match v {
            Some(v) => out.push(v),
            None => break,
        }
    }
    drop_if_empty(ctx, key);
    Ok(out)
}

fn pop(ctx: &mut Ctx, args: &Args, end: End) -> CmdResult {
    if args.len() > 3 {
        let name = if end == End::Left { "lpop" } else { "rpop" };
        return Err(CmdError::Arity(name.into()));
    }
    let key = args.get(1);
    if args.len() == 2 {
        let v = pop_n(ctx, key, end, 1)?;
        match v.first() {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let count = crate::num::parse_i64(args.get(2))
        .filter(|n| *n >= 0)
        .ok_or(CmdError::msg("ERR value is out of range, must be positive"))?;
    if read(ctx, key)?.is_none() {
        ctx.out.null_array();
        return Ok(());
    }
    let v = pop_n(ctx, key, end, count as usize)?;
    ctx.out.array_len(v.len());
    for e in &v {
        ctx.out.bulk(e);
    }
    Ok(())
}

/// LPOP key \[count\]
pub fn lpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop(ctx, args, End::Left)
}

/// RPOP key \[count\]
pub fn rpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop(ctx, args, End::Right)
}

/// LLEN key
pub fn llen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = read(ctx, args.get(1))?.map(|l| l.len()).unwrap_or(0);
    ctx.out.int(n as i64);
    Ok(())
}

/// LRANGE key start stop
pub fn lrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let (start, stop) = (args.int(2)?, args.int(3)?);
    let now = ctx.now_ms();
    let range = match ctx.ks().lookup(db, args.get(1), now).map(|e| &e.value) {
        None => None,
        Some(Value::List(list)) => list.positions(start, stop),
        Some(_) => return Err(CmdError::WrongType),
    };
    let Some((first, last)) = range else {
        ctx.out.array_len(0);
        return Ok(());
    };
    // Elements are encoded straight from the list's chunks, as the client reads.
    ctx.out.array_len(last - first + 1);
    ctx.pace(
        args.get(1),
        crate::cmd::paced::Paced::List { next: first, last },
    )
}

/// LINDEX key index
pub fn lindex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // Redis looks the key up first: a missing key is nil and another type WRONGTYPE,
    // whatever the index says.
    let Some(list) = read(ctx, args.get(1))? else {
        ctx.out.null();
        return Ok(());
    };
    let v = list.get(args.int(2)?).map(|v| v.to_vec());
    match v {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// LSET key index element
pub fn lset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // As LINDEX: the key (no such key, WRONGTYPE) before the index.
    if read(ctx, args.get(1))?.is_none() {
        return Err(CmdError::NoSuchKey);
    }
    let index = args.int(2)?;
    let Some(list) = write(ctx, args.get(1))? else {
        return Err(CmdError::NoSuchKey);
    };
    if !list.set(index, args.get(3)) {
        return Err(CmdError::msg("ERR index out of range"));
    }
    ctx.out.ok();
    Ok(())
}

/// LINSERT key <BEFORE | AFTER> pivot element
pub fn linsert(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let before = if args.is(2, "before") {
        true
    } else if args.is(2, "after") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let Some(list) = write(ctx, args.get(1))? else {
        ctx.out.int(0);
        return Ok(());
    };
    let n = if list.insert(args.get(3), before, args.get(4)) {
        list.len() as i64
    } else {
        -1
    };
    ctx.out.int(n);
    Ok(())
}

/// LREM key count element
pub fn lrem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let count = args.int(2)?;
    let key = args.get(1);
    let Some(list) = write(ctx, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let n = list.remove(args.get(3), count);
    drop_if_empty(ctx, key);
    ctx.out.int(n as i64);
    Ok(())
}

/// LTRIM key start stop
pub fn ltrim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (start, stop) = (args.int(2)?, args.int(3)?);
    let key = args.get(1);
    if let Some(list) = write(ctx, key)? {
        list.trim(start, stop);
        drop_if_empty(ctx, key);
    }
    ctx.out.ok();
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
pub fn lpos(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<i64>, 0i64);
    let mut c = args.cursor(3);
    while let Some(opt) = c.next() {
        let is = |word: &str| opt.eq_ignore_ascii_case(word.as_bytes());
        // As Redis: an unknown option (or one without its value) is a syntax error before
        // any value is read.
        let known = is("rank") || is("count") || is("maxlen");
        if !known || c.is_done() {
            return Err(CmdError::Syntax);
        }
        // Redis reads COUNT and MAXLEN with their range message, so a non-integer gets the
        // "can't be negative" text too; RANK gets the plain integer error.
        let v = if is("rank") {
            c.next_i64()?
        } else {
            crate::num::parse_i64(c.next_arg()?).unwrap_or(-1)
        };
        if is("rank") {
            if v == 0 {
                return Err(CmdError::msg("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
            // Redis 7.0 negates a negative rank to search from the tail; i64::MIN stays
            // itself there, so every match is at least that rank (it answers as -1) and
            // its count check overflows (COUNT n answers every match, as COUNT 0).
            rank = v;
        } else if is("count") {
            if v < 0 {
                return Err(CmdError::msg("ERR COUNT can't be negative"));
            }
            count = Some(v);
        } else {
            if v < 0 {
                return Err(CmdError::msg("ERR MAXLEN can't be negative"));
            }
            maxlen = v;
        }
    }
    let want = match count {
        None => 1,
        Some(_) if rank == i64::MIN => usize::MAX,
        Some(0) => usize::MAX,
        Some(n) => n as usize,
    };
    let rank = if rank == i64::MIN { -1 } else { rank };
    let found = match read(ctx, args.get(1))? {
        Some(list) => list.position(args.get(2), rank, want, maxlen as usize),
        _ => Vec::new(),
    };
    match count {
        None => match found.first() {
            Some(&p) => ctx.out.int(p as i64),
            None => ctx.out.null(),
        },
        Some(_) => {
            ctx.out.array_len(found.len());
            for p in found {
                ctx.out.int(p as i64);
            }
        }
    }
    Ok(())
}

/// Moves one element from `src`'s `from` end to `dst`'s `to` end; replies with it (or
/// null). Same shard only: the shard loop routes both keys together.
fn lmove_generic(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    let db = ctx.db;
    if read(ctx, src)?.is_none() {
        ctx.out.null();
        return Ok(());
    }
    // Like Redis, a destination of the wrong type fails before anything moves.
    read(ctx, dst)?;
    let v = pop_n(ctx, src, from, 1)?
        .pop()
        .expect("source is a non-empty list");
    let now = ctx.now_ms();
    if write(ctx, dst)?.is_none() {
        ctx.ks()
            .set(db, dst, Value::List(Box::default()), Ttl::Clear, now);
    }
    let list = write(ctx, dst)?.expect("destination exists");
    match to {
        End::Left => list.push_front(&v),
        End::Right => list.push_back(&v),
    }
    ctx.out.bulk(&v);
    ctx.signal_key(ctx.db, dst);
    Ok(())
}

/// Starts a move between keys that may live on different shards: on one shard it is the
/// plain (atomic) LMOVE there; across shards a step (`move_across`) under the locks of both
/// keys.
fn move_coord(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
    ends: (bool, bool),
) -> CmdResult {
    let (src, dst) = (args.get(1), args.get(2));
    let m = Move {
        src: src.into(),
        dst: dst.into(),
        from_left: ends.0,
        to_left: ends.1,
    };
    let (src_shard, dst_shard) = (
        route::shard_of(src, shard.shards),
        route::shard_of(dst, shard.shards),
    );
    if src_shard == dst_shard {
        shard.run_whole_on(src_shard, slot, conn, args, out);
        return Ok(());
    }
    shard.start_step(slot, conn, |cx| async move {
        let moved = move_across(&cx, &m).await?;
        Ok(moved.unwrap_or_else(|| cx.reply(|r| r.null())))
    });
    Ok(())
}

/// A move of one element between two lists.
#[derive(Debug, Clone)]
pub struct Move {
    /// The source list.
    pub src: Box<[u8]>,
    /// The destination list.
    pub dst: Box<[u8]>,
    /// Pop from the source's left end.
    pub from_left: bool,
    /// Push onto the destination's left end.
    pub to_left: bool,
}

/// A move between two shards, under the locks of both keys (so nobody sees the element in
/// neither list): pop on the source's shard, push on the destination's, and on a failed
/// push (WRONGTYPE) put the element back at the end it came from. The reply is the
/// element, or `None` when the source is empty.
pub async fn move_across(cx: &Cx, m: &Move) -> CmdResult<Option<Vec<u8>>> {
    let (src_shard, dst_shard) = (cx.shard_of(&m.src), cx.shard_of(&m.dst));
    let (src, from) = (m.src.clone(), end_of(m.from_left));
    let popped = cx
        .take_on(src_shard, move |ctx| pop_one_rescued(ctx, &src, from))
        .await?;
    let Some(v) = popped else {
        return Ok(None);
    };
    let (dst, to, value) = (m.dst.clone(), end_of(m.to_left), v.clone());
    let pushed = cx
        .run_on(dst_shard, move |ctx| push_one(ctx, &dst, &value, to))
        .await;
    if let Err(e) = pushed {
        let (src, value) = (m.src.clone(), v);
        // The destination holds another type: the element goes back where it was.
        cx.run_on(src_shard, move |ctx| push_one(ctx, &src, &value, from))
            .await?;
        return Err(e);
    }
    Ok(Some(cx.reply(|r| r.bulk(&v))))
}

/// LEFT for true, RIGHT for false.
fn end_of(left: bool) -> End {
    if left {
        End::Left
    } else {
        End::Right
    }
}

/// LPOP / RPOP of one element (as those commands, WRONGTYPE for another type), with what
/// it took, to put back should its client be gone.
fn pop_one_rescued(ctx: &mut Ctx, key: &[u8], end: End) -> (CmdResult<Option<Vec<u8>>>, Taken) {
    match pop_n(ctx, key, end, 1) {
        Err(e) => (Err(e), None),
        Ok(mut v) => {
            let Some(value) = v.pop() else {
                return (Ok(None), None);
            };
            let name: &[u8] = if end == End::Left { b"LPOP" } else { b"RPOP" };
            ctx.log_effect(&[name, key]);
            let popped = Popped::List {
                values: vec![value.clone()],
                left: end == End::Left,
            };
            (Ok(Some(value)), Some((key.into(), popped)))
        }
    }
}

/// LPUSH / RPUSH of one element (as those commands: the list is created if missing, its
/// waiters are signalled; WRONGTYPE for another type).
fn push_one(ctx: &mut Ctx, key: &[u8], v: &[u8], end: End) -> CmdResult<()> {
    let now = ctx.now_ms();
    if write(ctx, key)?.is_none() {
        let db = ctx.db;
        ctx.ks()
            .set(db, key, Value::List(Box::default()), Ttl::Clear, now);
    }
    let list = write(ctx, key)?.expect("just created");
    match end {
        End::Left => list.push_front(v),
        End::Right => list.push_back(v),
    }
    let name: &[u8] = if end == End::Left { b"LPUSH" } else { b"RPUSH" };
    ctx.log_effect(&[name, key, v]);
    ctx.signal_key(ctx.db, key);
    Ok(())
}

/// LMOVE coordinator (keys on one shard or two).
pub fn lmove_coord(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    let ends = (
        parse_end(args.get(3))? == End::Left,
        parse_end(args.get(4))? == End::Left,
    );
    move_coord(shard, slot, conn, args, out, ends)
}

/// RPOPLPUSH coordinator (keys on one shard or two).
pub fn rpoplpush_coord(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    move_coord(shard, slot, conn, args, out, (false, true))
}

/// LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>
pub fn lmove(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (from, to) = (parse_end(args.get(3))?, parse_end(args.get(4))?);
    lmove_generic(ctx, args.get(1), args.get(2), from, to)
}

/// RPOPLPUSH source destination
pub fn rpoplpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    lmove_generic(ctx, args.get(1), args.get(2), End::Right, End::Left)
}

/// The key positions of LMPOP-style commands: `numkeys` at `at`, keys after it.
pub fn numkeys_positions(args: &Args, at: usize) -> std::ops::Range<usize> {
    match args
        .len()
        .checked_sub(at + 1)
        .and_then(|_| crate::num::parse_i64(args.get(at)))
    {
        Some(n) if n > 0 && (n as usize) < args.len() - at => at + 1..at + 1 + n as usize,
        _ => 0..0,
    }
}

/// The parsed tail of LMPOP / BLMPOP: `numkeys key [key ...] <LEFT | RIGHT> [COUNT n]`
/// (ZMPOP / BZMPOP: `<MIN | MAX>`), with `numkeys` at argument `at`.
pub struct MPopArgs {
    /// Argument indexes of the keys.
    pub keys: std::ops::Range<usize>,
    /// Pop from the left end (sorted sets: the lowest scores).
    pub left: bool,
    /// Elements to pop at most.
    pub count: usize,
}

/// Parses LMPOP's (or, with `at` = 2, BLMPOP's) arguments with Redis's errors.
pub fn parse_mpop(args: &Args, at: usize) -> CmdResult<MPopArgs> {
    let mut c = args.cursor(at);
    let numkeys = crate::num::parse_i64(c.next_arg()?)
        .filter(|&n| n > 0)
        .ok_or(CmdError::msg("ERR numkeys should be greater than 0"))? as usize;
    // Too few arguments for the keys and the direction after them: Redis calls it a
    // syntax error.
    let keys = c.next_run(numkeys)?;
    let end = c.next_arg()?;
    let left = if args.get(0).to_ascii_lowercase().ends_with(b"zmpop") {
        match end.to_ascii_lowercase().as_slice() {
            b"min" => true,
            b"max" => false,
            _ => return Err(CmdError::Syntax),
        }
    } else {
        parse_end(end)? == End::Left
    };
    // Options are read in order, so a bad COUNT value is reported before what follows it.
    let mut count = None;
    while let Some(opt) = c.next() {
        if count.is_some() || !opt.eq_ignore_ascii_case(b"count") || c.is_done() {
            return Err(CmdError::Syntax);
        }
        let n = crate::num::parse_i64(c.next_arg()?)
            .filter(|&n| n > 0)
            .ok_or(CmdError::msg("ERR count should be greater than 0"))?;
        count = Some(n as usize);
    }
    let count = count.unwrap_or(1);
    Ok(MPopArgs { keys, left, count })
}

/// LMPOP / ZMPOP coordinator: keys on one shard run there as they are; keys on several
/// shards (whose locks the command holds) run as a step that tries each run of
/// consecutive same-shard keys in order until one pops, so the first non-empty key in
/// argument order wins (`blocking::pop_across`).
pub fn mpop_coord(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    let m = parse_mpop(args, 1)?;
    let keys: Vec<Box<[u8]>> = m.keys.map(|i| args.get(i).into()).collect();
    let runs = crate::cmd::blocking::runs(shard.shards, keys);
    if let [(only, _)] = runs[..] {
        shard.run_whole_on(only, slot, conn, args, out);
        return Ok(());
    }
    let zset = args.get(0).to_ascii_lowercase().ends_with(b"zmpop");
    let pop = crate::cmd::blocking::Pop {
        family: if zset {
            crate::cmd::blocking::Family::Zset
        } else {
            crate::cmd::blocking::Family::List
        },
        first_end: m.left,
        count: m.count,
        single: false,
    };
    shard.start_step(slot, conn, move |cx| {
        crate::cmd::blocking::pop_across(cx, runs, pop, None)
    });
    Ok(())
}

/// LMPOP's work on one shard: pops up to `count` elements from `left` (or the right end)
/// of the first non-empty list of `keys`, and says which key that was; WRONGTYPE for a
/// key of another type met first.
pub(crate) fn mpop_here(
    ctx: &mut Ctx,
    keys: &[Box<[u8]>],
    left: bool,
    count: usize,
) -> CmdResult<Option<(usize, Vec<Vec<u8>>)>> {
    let end = end_of(left);
    for (at, key) in keys.iter().enumerate() {
        if read(ctx, key)?.is_some_and(|l| !l.is_empty()) {
            return Ok(Some((at, pop_n(ctx, key, end, count)?)));
        }
    }
    Ok(None)
}

/// LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count]
pub fn lmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let MPopArgs { keys, left, count } = parse_mpop(args, 1)?;
    let end = if left { End::Left } else { End::Right };
    for i in keys {
        let key = args.get(i);
        if read(ctx, key)?.is_some_and(|l| !l.is_empty()) {
            let v = pop_n(ctx, key, end, count)?;
            ctx.out.array_len(2);
            ctx.out.bulk(key);
            ctx.out.array_len(v.len());
            for e in &v {
                ctx.out.bulk(e);
            }
            return Ok(());
        }
    }
    ctx.out.null_array();
    Ok(())
}
