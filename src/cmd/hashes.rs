//! Hash commands. Each runs on the owner shard of its key; the representation
//! (packed pairs or a table) is `store::hash`.

use crate::cmd::keys::{parse_cursor, scan_opts_from, scan_table_down};
use crate::cmd::paced::{HashPart, Paced, Pick};
use crate::cmd::{Args, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::num::ldouble::LongDouble;
use crate::num::parse_i64;
use crate::store::hash::Hash;
use crate::store::{glob_match, Value};

/// The hash at `key`, or `None`; WRONGTYPE for another type.
fn read<'k>(ctx: &'k mut Ctx, key: &[u8]) -> CmdResult<Option<&'k Hash>> {
    crate::cmd::read_collection(ctx, key)
}

/// The hash at `key` for modification, created empty if missing.
fn write<'k>(ctx: &'k mut Ctx, key: &[u8]) -> CmdResult<&'k mut Hash> {
    crate::cmd::write_collection(ctx, key)
}

/// HSET key field value [field value ...] — replies with the number of new fields.
pub fn hset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Arity("hset".into()));
    }
    let added = set_pairs(ctx, args)?;
    ctx.out.int(added as i64);
    Ok(())
}

/// HMSET key field value [field value ...] — replies OK.
pub fn hmset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Arity("hmset".into()));
    }
    set_pairs(ctx, args)?;
    ctx.out.ok();
    Ok(())
}

fn set_pairs(ctx: &mut Ctx, args: &Args) -> CmdResult<usize> {
    let limits = ctx.settings().hash_limits;
    let h = write(ctx, args.get(1))?;
    let mut added = 0;
    let mut pairs = args.cursor(2);
    while let Some((field, value)) = pairs.next_pair() {
        added += h.set(field, value, limits) as usize;
    }
    Ok(added)
}

/// HSETNX key field value
pub fn hsetnx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if read(ctx, args.get(1))?.is_some_and(|h| h.get(args.get(2)).is_some()) {
        ctx.out.int(0);
        return Ok(());
    }
    let limits = ctx.settings().hash_limits;
    write(ctx, args.get(1))?.set(args.get(2), args.get(3), limits);
    ctx.out.int(1);
    Ok(())
}

/// HGET key field
pub fn hget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match read(ctx, args.get(1))?.and_then(|h| h.get(args.get(2))) {
        Some(v) => {
            let v = v.to_vec();
            ctx.out.bulk(&v);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// HMGET key field [field ...]
pub fn hmget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let values: Vec<Option<Vec<u8>>> = match read(ctx, args.get(1))? {
        Some(h) => args
            .cursor(2)
            .map(|field| h.get(field).map(<[u8]>::to_vec))
            .collect(),
        None => vec![None; args.cursor(2).remaining()],
    };
    ctx.out.array_len(values.len());
    for v in values {
        match v {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// Field/value pairs copied out of a hash.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// HGETALL key — a map in RESP3.
pub fn hgetall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    reply_pairs(ctx, args.get(1), HashPart::Both)
}

/// HKEYS key
pub fn hkeys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    reply_pairs(ctx, args.get(1), HashPart::Fields)
}

/// HVALS key
pub fn hvals(ctx: &mut Ctx, args: &Args) -> CmdResult {
    reply_pairs(ctx, args.get(1), HashPart::Values)
}

/// Replies with every pair of the hash at `key` (or part of each), as the client reads.
fn reply_pairs(ctx: &mut Ctx, key: &[u8], part: HashPart) -> CmdResult {
    let len = read(ctx, key)?.map_or(0, Hash::len);
    match part {
        HashPart::Both => ctx.out.map_len(len),
        HashPart::Fields | HashPart::Values => ctx.out.array_len(len),
    }
    if len == 0 {
        return Ok(());
    }
    ctx.pace(key, Paced::Hash { next: 0, part })
}

/// HDEL key field [field ...]
pub fn hdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    crate::cmd::remove_named::<Hash>(ctx, args)
}

/// HLEN key
pub fn hlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = read(ctx, args.get(1))?.map_or(0, Hash::len);
    ctx.out.int(n as i64);
    Ok(())
}

/// HEXISTS key field
pub fn hexists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let found = read(ctx, args.get(1))?.is_some_and(|h| h.get(args.get(2)).is_some());
    ctx.out.int(found as i64);
    Ok(())
}

/// HSTRLEN key field
pub fn hstrlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = read(ctx, args.get(1))?
        .and_then(|h| h.get(args.get(2)))
        .map_or(0, <[u8]>::len);
    ctx.out.int(n as i64);
    Ok(())
}

/// HINCRBY key field increment
pub fn hincrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let by = args.int(3)?;
    let cur = match read(ctx, args.get(1))?.and_then(|h| h.get(args.get(2))) {
        Some(v) => parse_i64(v).ok_or(CmdError::msg("ERR hash value is not an integer"))?,
        None => 0,
    };
    let new = cur
        .checked_add(by)
        .ok_or(CmdError::msg("ERR increment or decrement would overflow"))?;
    let limits = ctx.settings().hash_limits;
    let text = itoa::Buffer::new().format(new).as_bytes().to_vec();
    write(ctx, args.get(1))?.set(args.get(2), &text, limits);
    ctx.out.int(new);
    Ok(())
}

/// HINCRBYFLOAT key field increment
pub fn hincrbyfloat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // In long double, as Redis.
    let by = LongDouble::parse(args.get(3)).ok_or(CmdError::NotFloat)?;
    if by.is_nan_or_inf() {
        return Err(CmdError::msg("ERR value is NaN or Infinity"));
    }
    let cur = match read(ctx, args.get(1))?.and_then(|h| h.get(args.get(2))) {
        Some(v) => LongDouble::parse(v).ok_or(CmdError::msg("ERR hash value is not a float"))?,
        None => LongDouble::Zero { neg: false },
    };
    let new = cur.sum(by);
    if new.is_nan_or_inf() {
        return Err(CmdError::msg("ERR increment would produce NaN or Infinity"));
    }
    let text = new.format_human();
    let limits = ctx.settings().hash_limits;
    write(ctx, args.get(1))?.set(args.get(2), text.as_bytes(), limits);
    ctx.log_effect(&[b"HSET", args.get(1), args.get(2), text.as_bytes()]);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

/// HRANDFIELD key \[count \[WITHVALUES\]\]
pub fn hrandfield(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let (count, with_values) = crate::cmd::random_count(args, Some("withvalues"))?;
    let Some(len) = read(ctx, args.get(1))?.map(Hash::len) else {
        match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.array_len(0),
        }
        return Ok(());
    };
    if let Some(n) = count.filter(|&n| n < 0) {
        // Repeats allowed: the reply can be far larger than the hash, so it is written
        // as the client reads.
        let picks = n.unsigned_abs();
        ctx.check_picks(picks)?;
        let items = if with_values && !ctx.out.resp3 {
            picks.saturating_mul(2)
        } else {
            picks
        };
        ctx.out.array_len(items.min(i64::MAX as u64) as usize);
        let rng = ctx.pick_seed();
        return ctx.pace(
            args.get(1),
            Paced::Picks {
                left: picks,
                rng,
                pick: Pick::Field {
                    values: with_values,
                },
            },
        );
    }
    let mut rng = RandState::new(ctx.ks().next_rand());
    let picks: Vec<usize> = match count {
        None => vec![rng.below(len)],
        // Asking for at least every field: all of them, in the hash's own order.
        Some(n) if n >= 0 && n as usize >= len => (0..len).collect(),
        Some(n) if n >= 0 => {
            // Distinct fields: all of them, or a random subset in random order.
            let n = (n as usize).min(len);
            let mut idx: Vec<usize> = (0..len).collect();
            for i in 0..n {
                let j = i + rng.below(len - i);
                idx.swap(i, j);
            }
            idx.truncate(n);
            idx
        }
        // Negative counts were paced above.
        Some(_) => Vec::new(),
    };
    let now = ctx.now_ms();
    let Some(Value::Hash(h)) = ctx.ks().peek(db, args.get(1), now).map(|e| &e.value) else {
        unreachable!("read above");
    };
    let chosen: Pairs = picks
        .iter()
        .filter_map(|&i| h.at(i).map(|(f, v)| (f.to_vec(), v.to_vec())))
        .collect();
    if count.is_none() {
        ctx.out.bulk(&chosen[0].0);
        return Ok(());
    }
    let resp3 = ctx.out.resp3;
    if with_values && resp3 {
        ctx.out.array_len(chosen.len());
        for (f, v) in chosen {
            ctx.out.array_len(2);
            ctx.out.bulk(&f);
            ctx.out.bulk(&v);
        }
    } else if with_values {
        ctx.out.array_len(chosen.len() * 2);
        for (f, v) in chosen {
            ctx.out.bulk(&f);
            ctx.out.bulk(&v);
        }
    } else {
        ctx.out.array_len(chosen.len());
        for (f, _) in chosen {
            ctx.out.bulk(&f);
        }
    }
    Ok(())
}

/// A small xorshift generator for random picks.
struct RandState(u64);

impl RandState {
    fn new(seed: u64) -> RandState {
        RandState(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]. A packed hash comes back whole with
/// cursor 0 (as Redis); a table is walked from the top index down, so a field present for
/// the whole scan is returned at least once even while others are deleted.
pub fn hscan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(args.get(2))?;
    // As Redis: the cursor, then the key (a missing key is an empty scan whatever the
    // options say), then the options.
    if read(ctx, args.get(1))?.is_none() {
        ctx.out.array_len(2);
        ctx.out.bulk(b"0");
        ctx.out.array_len(0);
        return Ok(());
    }
    let o = scan_opts_from(args, 3, false)?;
    let keep = |f: &[u8]| o.pattern.as_deref().is_none_or(|p| glob_match(p, f, false));
    let (next, found): (u64, Pairs) = match read(ctx, args.get(1))? {
        None => (0, Vec::new()),
        Some(h @ Hash::Pack { .. }) => (
            0,
            h.iter()
                .filter(|(f, _)| keep(f))
                .map(|(f, v)| (f.to_vec(), v.to_vec()))
                .collect(),
        ),
        Some(h @ Hash::Table(_)) => scan_table_down(h.len(), cursor, o.count, |i| {
            h.at(i)
                .filter(|(f, _)| keep(f))
                .map(|(f, v)| (f.to_vec(), v.to_vec()))
        }),
    };
    ctx.out.array_len(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array_len(found.len() * 2);
    for (f, v) in found {
        ctx.out.bulk(&f);
        ctx.out.bulk(&v);
    }
    Ok(())
}
