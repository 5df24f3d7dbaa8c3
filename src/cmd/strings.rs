//! String commands: GET/SET and options, counters, ranges, multi-key MGET/MSET/MSETNX.
//!
//! Handlers run on the owner shard of their key(s); multi-key calls whose keys span
//! shards are split by the shard loop and each part runs the same handler.

use crate::cmd::paced::{Paced, PIECE_BYTES};
use crate::cmd::{Args, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::num::ldouble::LongDouble;
use crate::num::parse_i64;
use crate::store::{Str, Ttl, Value, STRING_BYTES_MAX};

/// The string at `key`, or `None`; WRONGTYPE for another type.
fn lookup_str<'k>(ctx: &'k mut Ctx, key: &[u8]) -> CmdResult<Option<&'k Str>> {
    let db = ctx.db;
    let now = ctx.now_ms();
    match ctx.ks().lookup(db, key, now) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Str(s) => Ok(Some(s)),
            _ => Err(CmdError::WrongType),
        },
    }
}

fn reply_str(ctx: &mut Ctx, s: Option<&Str>) {
    match s {
        None => ctx.out.null(),
        Some(Str::Int(n)) => ctx.out.bulk_int(*n),
        Some(Str::Bytes { data, .. }) => ctx.out.bulk(data),
    }
}

/// GET key
pub fn get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.now_ms();
    let db = ctx.db;
    let (ks, out) = ctx.ks_out();
    let entry = ks.lookup(db, args.get(1), now);
    match entry.map(|e| &e.value) {
        None => out.null(),
        Some(Value::Str(Str::Int(n))) => out.bulk_int(*n),
        Some(Value::Str(Str::Bytes { data, .. })) if data.len() <= PIECE_BYTES => out.bulk(data),
        Some(Value::Str(Str::Bytes { data, .. })) => {
            // A long string goes out as the client reads it.
            let end = data.len();
            return pace_bytes(ctx, args.get(1), 0, end);
        }
        Some(_) => return Err(CmdError::WrongType),
    }
    Ok(())
}

/// Replies with bytes `start..end` of the string at `key` (which holds raw bytes) as a
/// bulk string, as the client reads.
fn pace_bytes(ctx: &mut Ctx, key: &[u8], start: usize, end: usize) -> CmdResult {
    ctx.out.bulk_header(end - start);
    ctx.pace(key, Paced::Str { next: start, end })
}

/// Expiry options shared by SET, GETEX.
#[derive(Default, Clone, Copy)]
struct SetOpts {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// The EX/PX/EXAT/PXAT given last: (in seconds, absolute, index of its argument).
    /// Validated by `expire_at`, which SET calls before anything and GETEX only once the
    /// key is found, as Redis.
    expire: Option<(bool, bool, usize)>,
}

impl SetOpts {
    /// The absolute expiry in ms the options ask for, if any.
    fn expire_at(&self, args: &Args, now: u64, cmd: &str) -> CmdResult<Option<u64>> {
        match self.expire {
            Some((seconds, absolute, at)) => {
                Ok(Some(expire_ms(args.get(at), seconds, absolute, now, cmd)?))
            }
            None => Ok(None),
        }
    }
}

/// Parses an expire argument into absolute ms like Redis's `getExpireMillisecondsOrReply`.
fn expire_ms(raw: &[u8], seconds: bool, absolute: bool, now: u64, cmd: &str) -> CmdResult<u64> {
    let v = parse_i64(raw).ok_or(CmdError::NotInteger)?;
    let invalid = || CmdError::owned(format!("ERR invalid expire time in '{cmd}' command"));
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(invalid());
    }
    let mut ms = if seconds { v * 1000 } else { v };
    if !absolute {
        if ms > i64::MAX - now as i64 {
            return Err(invalid());
        }
        ms += now as i64;
    }
    Ok(ms as u64)
}

/// Parses SET's or GETEX's options starting at argument `from` (syntax only).
fn parse_opts(args: &Args, from: usize, is_set: bool) -> CmdResult<SetOpts> {
    let mut o = SetOpts::default();
    let mut c = args.cursor(from);
    while let Some(a) = c.next() {
        let has_next = !c.is_done();
        let any_unit = o.expire.is_some();
        if is_set && a.eq_ignore_ascii_case(b"nx") && !o.xx {
            o.nx = true;
        } else if is_set && a.eq_ignore_ascii_case(b"xx") && !o.nx {
            o.xx = true;
        } else if is_set && a.eq_ignore_ascii_case(b"get") {
            o.get = true;
        } else if is_set && a.eq_ignore_ascii_case(b"keepttl") && !any_unit {
            o.keepttl = true;
        } else if !is_set && a.eq_ignore_ascii_case(b"persist") && !any_unit {
            o.persist = true;
        } else if has_next && !o.keepttl && !o.persist && a.len() <= 4 {
            let unit = match a.to_ascii_lowercase().as_slice() {
                b"ex" => Some((true, false)),
                b"px" => Some((false, false)),
                b"exat" => Some((true, true)),
                b"pxat" => Some((false, true)),
                _ => None,
            };
            let Some((seconds, absolute)) = unit else {
                return Err(CmdError::Syntax);
            };
            // Redis refuses mixing different units but lets the same one repeat.
            if let Some((s, a2, _)) = o.expire {
                if (s, a2) != (seconds, absolute) {
                    return Err(CmdError::Syntax);
                }
            }
            // The value is read (and checked) by `expire_at`; here it is only skipped.
            o.expire = Some((seconds, absolute, c.position()));
            c.next_arg()?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

/// SET key value \[NX | XX\] \[GET\] \[EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]
pub fn set(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    let key = args.get(1);
    if args.len() == 3 {
        // Plain SET: the redis-benchmark hot path.
        ctx.ks().set(
            db,
            key,
            Value::Str(Str::from_bytes(args.get(2))),
            Ttl::Clear,
            now,
        );
        ctx.out.ok();
        return Ok(());
    }
    let o = parse_opts(args, 3, true)?;
    let expire_at = o.expire_at(args, now, "set")?;
    if o.get {
        let old = lookup_str(ctx, key)?.cloned();
        reply_str(ctx, old.as_ref());
    }
    let found = ctx.ks().exists(db, key, now);
    if (o.nx && found) || (o.xx && !found) {
        if !o.get {
            ctx.out.null();
        }
        return Ok(());
    }
    let ttl = match (expire_at, o.keepttl) {
        (Some(at), _) => Ttl::At(at),
        (None, true) => Ttl::Keep,
        (None, false) => Ttl::Clear,
    };
    ctx.ks()
        .set(db, key, Value::Str(Str::from_bytes(args.get(2))), ttl, now);
    if let (Some(at), true) = (expire_at, ctx.aof_on()) {
        // A relative TTL is logged as the time it ends.
        let at = itoa::Buffer::new().format(at).as_bytes().to_vec();
        ctx.log_effect(&[b"SET", key, args.get(2), b"PXAT", &at]);
    }
    if !o.get {
        ctx.out.ok();
    }
    Ok(())
}

/// SETNX key value
pub fn setnx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    if ctx.ks().exists(db, args.get(1), now) {
        ctx.out.int(0);
    } else {
        ctx.ks().set(
            db,
            args.get(1),
            Value::Str(Str::from_bytes(args.get(2))),
            Ttl::Clear,
            now,
        );
        ctx.out.int(1);
    }
    Ok(())
}

fn setex_generic(ctx: &mut Ctx, args: &Args, seconds: bool, name: &str) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    let at = expire_ms(args.get(2), seconds, false, now, name)?;
    ctx.ks().set(
        db,
        args.get(1),
        Value::Str(Str::from_bytes(args.get(3))),
        Ttl::At(at),
        now,
    );
    if ctx.aof_on() {
        let at = itoa::Buffer::new().format(at).as_bytes().to_vec();
        ctx.log_effect(&[b"SET", args.get(1), args.get(3), b"PXAT", &at]);
    }
    ctx.out.ok();
    Ok(())
}

/// SETEX key seconds value
pub fn setex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    setex_generic(ctx, args, true, "setex")
}

/// PSETEX key milliseconds value
pub fn psetex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    setex_generic(ctx, args, false, "psetex")
}

/// GETSET key value
pub fn getset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    let old = lookup_str(ctx, args.get(1))?.cloned();
    reply_str(ctx, old.as_ref());
    ctx.ks().set(
        db,
        args.get(1),
        Value::Str(Str::from_bytes(args.get(2))),
        Ttl::Clear,
        now,
    );
    Ok(())
}

/// GETDEL key
pub fn getdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    let old = lookup_str(ctx, args.get(1))?.cloned();
    reply_str(ctx, old.as_ref());
    if old.is_some() {
        ctx.ks().remove(db, args.get(1), now);
    }
    Ok(())
}

/// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST]
pub fn getex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    let o = parse_opts(args, 2, false)?;
    let key = args.get(1);
    let Some(val) = lookup_str(ctx, key)?.cloned() else {
        ctx.out.null();
        return Ok(());
    };
    let expire_at = o.expire_at(args, now, "getex")?;
    reply_str(ctx, Some(&val));
    if let Some(at) = expire_at {
        if at <= now && !ctx.replaying() {
            ctx.ks().remove(db, key, now);
            ctx.log_effect(&[b"DEL", key]);
        } else {
            ctx.ks().set_expire(db, key, at.max(1), now);
            if ctx.aof_on() {
                let at = itoa::Buffer::new().format(at.max(1)).as_bytes().to_vec();
                ctx.log_effect(&[b"PEXPIREAT", key, &at]);
            }
        }
    } else if o.persist {
        ctx.ks().set_expire(db, key, 0, now);
        ctx.log_effect(&[b"PERSIST", key]);
    } else {
        ctx.log_effect(&[]);
    }
    Ok(())
}

/// MGET key [key ...]
pub fn mget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    ctx.out.array_len(args.len() - 1);
    let now = ctx.now_ms();
    let (ks, out) = ctx.ks_out();
    for key in args.cursor(1) {
        match ks.lookup(db, key, now).map(|e| &e.value) {
            Some(Value::Str(Str::Int(n))) => out.bulk_int(*n),
            Some(Value::Str(Str::Bytes { data, .. })) => out.bulk(data),
            // MGET answers nil for keys of other types, as Redis.
            _ => out.null(),
        }
    }
    Ok(())
}

/// MSET key value [key value ...]
pub fn mset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    if args.len().is_multiple_of(2) {
        return Err(CmdError::Arity("mset".into()));
    }
    let now = ctx.now_ms();
    let mut pairs = args.cursor(1);
    while let Some((key, value)) = pairs.next_pair() {
        ctx.ks()
            .set(db, key, Value::Str(Str::from_bytes(value)), Ttl::Clear, now);
    }
    ctx.out.ok();
    Ok(())
}

/// MSETNX key value [key value ...] (the single-shard case; the cross-shard case is
/// coordinated by `keys::msetnx_coord`).
pub fn msetnx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    if args.len().is_multiple_of(2) {
        return Err(CmdError::Arity("msetnx".into()));
    }
    let now = ctx.now_ms();
    let mut pairs = args.cursor(1);
    while let Some((key, _)) = pairs.next_pair() {
        if ctx.ks().exists(db, key, now) {
            ctx.out.int(0);
            return Ok(());
        }
    }
    let mut pairs = args.cursor(1);
    while let Some((key, value)) = pairs.next_pair() {
        ctx.ks()
            .set(db, key, Value::Str(Str::from_bytes(value)), Ttl::Clear, now);
    }
    ctx.out.int(1);
    Ok(())
}

/// APPEND key value
pub fn append(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    let (key, add) = (args.get(1), args.get(2));
    match ctx.ks().lookup_mut(db, key, now) {
        None => {
            ctx.ks()
                .set(db, key, Value::Str(Str::from_bytes(add)), Ttl::Clear, now);
            ctx.out.int(add.len() as i64);
        }
        Some(e) => {
            let Value::Str(s) = &mut e.value else {
                return Err(CmdError::WrongType);
            };
            if s.len() + add.len() > STRING_BYTES_MAX {
                return Err(CmdError::msg(
                    "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
                ));
            }
            let data = s.make_raw();
            data.extend_from_slice(add);
            let n = data.len();
            ctx.out.int(n as i64);
        }
    }
    Ok(())
}

/// STRLEN key
pub fn strlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = lookup_str(ctx, args.get(1))?.map(|s| s.len()).unwrap_or(0);
    ctx.out.int(n as i64);
    Ok(())
}

fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    let now = ctx.now_ms();
    let db = ctx.db;
    match ctx.ks().lookup_mut(db, key, now) {
        None => {
            ctx.ks()
                .set(db, key, Value::Str(Str::Int(by)), Ttl::Clear, now);
            ctx.out.int(by);
        }
        Some(e) => {
            let Value::Str(s) = &mut e.value else {
                return Err(CmdError::WrongType);
            };
            let cur = match s {
                Str::Int(n) => *n,
                Str::Bytes { data, .. } => parse_i64(data).ok_or(CmdError::NotInteger)?,
            };
            let new = cur
                .checked_add(by)
                .ok_or(CmdError::msg("ERR increment or decrement would overflow"))?;
            *s = Str::Int(new);
            ctx.out.int(new);
        }
    }
    Ok(())
}

/// INCR key
pub fn incr(ctx: &mut Ctx, args: &Args) -> CmdResult {
    incr_by(ctx, args.get(1), 1)
}

/// DECR key
pub fn decr(ctx: &mut Ctx, args: &Args) -> CmdResult {
    incr_by(ctx, args.get(1), -1)
}

/// INCRBY key increment
pub fn incrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let by = args.int(2)?;
    incr_by(ctx, args.get(1), by)
}

/// DECRBY key decrement
pub fn decrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let by = args.int(2)?;
    if by == i64::MIN {
        return Err(CmdError::msg("ERR decrement would overflow"));
    }
    incr_by(ctx, args.get(1), -by)
}

/// INCRBYFLOAT key increment
pub fn incrbyfloat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.now_ms();
    let db = ctx.db;
    let key = args.get(1);
    // As Redis: the key's type, then its value, then the increment; all in long double.
    let (cur, ttl) = match ctx.ks().lookup_mut(db, key, now) {
        None => (LongDouble::Zero { neg: false }, Ttl::Clear),
        Some(e) => {
            let Value::Str(s) = &e.value else {
                return Err(CmdError::WrongType);
            };
            (
                s.with_bytes(LongDouble::parse).ok_or(CmdError::NotFloat)?,
                Ttl::Keep,
            )
        }
    };
    let incr = LongDouble::parse(args.get(2)).ok_or(CmdError::NotFloat)?;
    let new = cur.sum(incr);
    if new.is_nan_or_inf() {
        return Err(CmdError::msg("ERR increment would produce NaN or Infinity"));
    }
    let text = new.format_human();
    ctx.ks().set(
        db,
        key,
        Value::Str(Str::Bytes {
            data: text.clone().into_bytes(),
            raw: false,
        }),
        ttl,
        now,
    );
    // Replayed, the sum could round differently: the result is logged.
    ctx.log_effect(&[b"SET", key, text.as_bytes(), b"KEEPTTL"]);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

/// GETRANGE key start end
pub fn getrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let start = args.int(2)?;
    let end = args.int(3)?;
    let Some(s) = lookup_str(ctx, args.get(1))? else {
        ctx.out.bulk(b"");
        return Ok(());
    };
    let raw = matches!(s, Str::Bytes { .. });
    let Some((start, end)) = s.with_bytes(|data| substring(data.len(), start, end)) else {
        ctx.out.bulk(b"");
        return Ok(());
    };
    if end - start > PIECE_BYTES && raw {
        return pace_bytes(ctx, args.get(1), start, end);
    }
    let db = ctx.db;
    let (ks, out) = ctx.ks_out();
    if let Some(Value::Str(s)) = ks.get(db, args.get(1)).map(|e| &e.value) {
        s.with_bytes(|data| out.bulk(&data[start..end]));
    }
    Ok(())
}

/// GETRANGE's index rules over a string of `len` bytes: the byte range `start..end` that
/// `start` and `end` (inclusive, negative from the end) denote, or `None` when empty.
fn substring(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    // No overflow: only negative values get the (non-negative) length added.
    let start = if start < 0 { start + len } else { start }.max(0);
    let end = if end < 0 { end + len } else { end }.max(0).min(len - 1);
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize + 1))
}

/// SETRANGE key offset value
pub fn setrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.now_ms();
    let db = ctx.db;
    let key = args.get(1);
    let offset = args.int(2)?;
    let value = args.get(3);
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let offset = offset as usize;
    let too_big = || CmdError::msg("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    match ctx.ks().lookup_mut(db, key, now) {
        None => {
            if value.is_empty() {
                ctx.out.int(0);
                return Ok(());
            }
            if offset + value.len() > STRING_BYTES_MAX {
                return Err(too_big());
            }
            let mut data = vec![0u8; offset + value.len()];
            data[offset..].copy_from_slice(value);
            let n = data.len();
            ctx.ks().set(
                db,
                key,
                Value::Str(Str::Bytes { data, raw: true }),
                Ttl::Clear,
                now,
            );
            ctx.out.int(n as i64);
        }
        Some(e) => {
            let Value::Str(s) = &mut e.value else {
                return Err(CmdError::WrongType);
            };
            if value.is_empty() {
                let n = s.len();
                ctx.out.int(n as i64);
                return Ok(());
            }
            if offset + value.len() > STRING_BYTES_MAX {
                return Err(too_big());
            }
            let data = s.make_raw();
            if data.len() < offset + value.len() {
                data.resize(offset + value.len(), 0);
            }
            data[offset..offset + value.len()].copy_from_slice(value);
            let n = data.len();
            ctx.out.int(n as i64);
        }
    }
    Ok(())
}
