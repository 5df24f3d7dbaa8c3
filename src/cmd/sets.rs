//! Set commands on one key. Each runs on the owner shard of its key; the representation
//! (sorted integers or a hash set) is `store::set`.

use crate::cmd::keys::{parse_cursor, scan_opts_from, scan_table_down};
use crate::cmd::{Args, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::store::set::Set;
use crate::store::{glob_match, Ttl, Value};

/// The set at `key`, or `None`; WRONGTYPE for another type.
fn read<'k>(ctx: &'k mut Ctx, key: &[u8]) -> CmdResult<Option<&'k Set>> {
    crate::cmd::read_collection(ctx, key)
}

/// The set at `key` for modification, created empty if missing.
fn write<'k>(ctx: &'k mut Ctx, key: &[u8]) -> CmdResult<&'k mut Set> {
    crate::cmd::write_collection(ctx, key)
}

/// Deletes `key` if it became empty.
fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) {
    crate::cmd::drop_if_empty::<Set>(ctx, key)
}

/// SADD key member [member ...]
pub fn sadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let max_ints = ctx.settings().set_max_intset;
    let s = crate::cmd::write_collection_unmarked::<Set>(ctx, args.get(1))?;
    let added = args
        .cursor(2)
        .filter(|&member| s.insert(member, max_ints))
        .count();
    if added > 0 {
        ctx.ks().touch(db, args.get(1));
    }
    ctx.out.int(added as i64);
    Ok(())
}

/// SREM key member [member ...]
pub fn srem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    crate::cmd::remove_named::<Set>(ctx, args)
}

/// SMEMBERS key — a set in RESP3.
pub fn smembers(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(len) = read(ctx, args.get(1))?.map(Set::len) else {
        ctx.out.set_len(0);
        return Ok(());
    };
    ctx.out.set_len(len);
    ctx.pace(args.get(1), crate::cmd::paced::Paced::Set { next: 0 })
}

/// SISMEMBER key member
pub fn sismember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let found = read(ctx, args.get(1))?.is_some_and(|s| s.contains(args.get(2)));
    ctx.out.int(found as i64);
    Ok(())
}

/// SMISMEMBER key member [member ...]
pub fn smismember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let found: Vec<bool> = match read(ctx, args.get(1))? {
        Some(s) => args.cursor(2).map(|member| s.contains(member)).collect(),
        None => vec![false; args.cursor(2).remaining()],
    };
    ctx.out.array_len(found.len());
    for f in found {
        ctx.out.int(f as i64);
    }
    Ok(())
}

/// SCARD key
pub fn scard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = read(ctx, args.get(1))?.map_or(0, Set::len);
    ctx.out.int(n as i64);
    Ok(())
}

/// The optional count of SPOP / SRANDMEMBER: must be an integer (SPOP: not negative).
fn count_arg(args: &Args, pop: bool) -> CmdResult<Option<i64>> {
    match args.len() {
        2 => Ok(None),
        3 if pop => {
            let n = crate::num::parse_i64(args.get(2)).filter(|&n| n >= 0);
            n.map(Some)
                .ok_or(CmdError::msg("ERR value is out of range, must be positive"))
        }
        3 => {
            let n = args.int(2)?;
            if n < 0 && pop {
                return Err(CmdError::msg("ERR value is out of range, must be positive"));
            }
            Ok(Some(n))
        }
        _ => Err(CmdError::Syntax),
    }
}

/// SPOP key \[count\] — with a count, a set in RESP3.
pub fn spop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let count = count_arg(args, true)?;
    let Some(len) = read(ctx, args.get(1))?.map(Set::len) else {
        match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.set_len(0),
        }
        return Ok(());
    };
    let n = count.map_or(1, |c| (c as usize).min(len));
    let mut popped = Vec::with_capacity(n);
    if count.is_some() && n == len {
        // All of it: the whole set in its own order, as SMEMBERS (Redis does the same).
        popped = write(ctx, args.get(1))?.members();
        *write(ctx, args.get(1))? = Set::default();
    }
    while popped.len() < n {
        let r = ctx.ks().next_rand();
        let s = write(ctx, args.get(1))?;
        let m = s.at((r % s.len() as u64) as usize).expect("non-empty");
        s.remove(&m);
        popped.push(m);
    }
    drop_if_empty(ctx, args.get(1));
    if ctx.aof_on() {
        // The members the random picks took, so a replay takes the same ones.
        if popped.len() == len {
            ctx.log_effect(&[b"DEL", args.get(1)]);
        } else {
            let mut srem: Vec<&[u8]> = vec![b"SREM", args.get(1)];
            srem.extend(popped.iter().map(|m| &m[..]));
            ctx.log_effect(&srem);
        }
    }
    match count {
        None => ctx.out.bulk(&popped[0]),
        Some(_) => {
            ctx.out.set_len(popped.len());
            for m in popped {
                ctx.out.bulk(&m);
            }
        }
    }
    Ok(())
}

/// SRANDMEMBER key \[count\] — distinct members for a positive count, repeats allowed for
/// a negative one.
pub fn srandmember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (count, _) = crate::cmd::random_count(args, None)?;
    let Some(len) = read(ctx, args.get(1))?.map(Set::len) else {
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
        ctx.out.array_len(picks.min(i64::MAX as u64) as usize);
        let rng = ctx.pick_seed();
        return ctx.pace(
            args.get(1),
            crate::cmd::paced::Paced::Picks {
                left: picks,
                rng,
                pick: crate::cmd::paced::Pick::Member,
            },
        );
    }
    let picks: Vec<usize> = match count {
        None => vec![(ctx.ks().next_rand() % len as u64) as usize],
        Some(n) if n >= 0 && n as usize >= len => (0..len).collect(),
        Some(n) if n >= 0 => {
            let mut idx: Vec<usize> = (0..len).collect();
            for i in 0..n as usize {
                let j = i + (ctx.ks().next_rand() % (len - i) as u64) as usize;
                idx.swap(i, j);
            }
            idx.truncate(n as usize);
            idx
        }
        // Negative counts were paced above.
        Some(_) => Vec::new(),
    };
    let s = read(ctx, args.get(1))?.expect("read above");
    let members: Vec<Vec<u8>> = picks.iter().filter_map(|&i| s.at(i)).collect();
    match count {
        None => ctx.out.bulk(&members[0]),
        Some(_) => {
            ctx.out.array_len(members.len());
            for m in members {
                ctx.out.bulk(&m);
            }
        }
    }
    Ok(())
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. An intset comes back whole with cursor
/// 0 (as Redis); a table is walked from the top index down.
pub fn sscan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(args.get(2))?;
    if read(ctx, args.get(1))?.is_none() {
        ctx.out.array_len(2);
        ctx.out.bulk(b"0");
        ctx.out.array_len(0);
        return Ok(());
    }
    let o = scan_opts_from(args, 3, false)?;
    let keep = |m: &[u8]| o.pattern.as_deref().is_none_or(|p| glob_match(p, m, false));
    let s = read(ctx, args.get(1))?.expect("read above");
    let (next, found) = match s {
        Set::Ints(_) => (0, s.members().into_iter().filter(|m| keep(m)).collect()),
        Set::Table(_) => scan_table_down(s.len(), cursor, o.count, |i| s.at(i).filter(|m| keep(m))),
    };
    ctx.out.array_len(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array_len(found.len());
    for m in found {
        ctx.out.bulk(&m);
    }
    Ok(())
}

/// SMOVE source destination member (both keys on this shard).
pub fn smove(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let (src, dst, member) = (args.get(1), args.get(2), args.get(3));
    if read(ctx, src)?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    read(ctx, dst)?;
    if src == dst {
        let found = read(ctx, src)?.is_some_and(|s| s.contains(member));
        ctx.out.int(found as i64);
        return Ok(());
    }
    if !write(ctx, src)?.remove(member) {
        ctx.out.int(0);
        return Ok(());
    }
    drop_if_empty(ctx, src);
    // As Redis, the destination counts as changed only if the member was new to it.
    let max_ints = ctx.settings().set_max_intset;
    if crate::cmd::write_collection_unmarked::<Set>(ctx, dst)?.insert(member, max_ints) {
        ctx.ks().touch(db, dst);
    }
    ctx.out.int(1);
    Ok(())
}

/// SMOVE coordinator: on one shard the command itself; across shards (under both keys'
/// locks) `smove_across`.
pub fn smove_coord(
    shard: &mut crate::shard::Shard,
    slot: usize,
    conn: &mut crate::conn::Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    use crate::shard::route::shard_of;
    let (src, dst) = (args.get(1), args.get(2));
    if shard_of(src, shard.shards) == shard_of(dst, shard.shards) {
        shard.run_whole_on(shard_of(src, shard.shards), slot, conn, args, out);
        return Ok(());
    }
    let (src, dst, member) = (src.into(), dst.into(), args.get(3).into());
    shard.start_step(slot, conn, |cx| smove_across(cx, src, dst, member));
    Ok(())
}

/// SMOVE between two shards, in Redis's order of checks: the source's type, the
/// destination's type, the removal, the insertion.
async fn smove_across(
    cx: crate::cmd::step::Cx,
    src: Box<[u8]>,
    dst: Box<[u8]>,
    member: Box<[u8]>,
) -> CmdResult<Vec<u8>> {
    let (src_shard, dst_shard) = (cx.shard_of(&src), cx.shard_of(&dst));
    let key = src.clone();
    match cx.run_on(src_shard, move |ctx| holds_set(ctx, &key)).await {
        None => return Ok(cx.int(0)),
        Some(false) => return Err(CmdError::WrongType),
        Some(true) => {}
    }
    let key = dst.clone();
    if cx.run_on(dst_shard, move |ctx| holds_set(ctx, &key)).await == Some(false) {
        return Err(CmdError::WrongType);
    }
    let m = member.clone();
    if !cx
        .run_on(src_shard, move |ctx| remove_member(ctx, &src, &m))
        .await?
    {
        return Ok(cx.int(0));
    }
    cx.run_on(dst_shard, move |ctx| add_member(ctx, &dst, &member))
        .await?;
    Ok(cx.int(1))
}

/// Whether `key` holds a set (`None`: no key), as TYPE looks (no hit or miss counted).
fn holds_set(ctx: &mut Ctx, key: &[u8]) -> Option<bool> {
    let db = ctx.db;
    let now = ctx.now_ms();
    let e = ctx.ks().peek(db, key, now)?;
    Some(matches!(e.value, Value::Set(_)))
}

/// SREM of one member: true if it was there (the set goes once empty).
fn remove_member(ctx: &mut Ctx, key: &[u8], member: &[u8]) -> CmdResult<bool> {
    let db = ctx.db;
    if read(ctx, key)?.is_none() {
        return Ok(false);
    }
    let removed = crate::store::Named::remove_named(
        crate::cmd::write_collection_unmarked::<Set>(ctx, key)?,
        member,
    );
    if removed {
        ctx.ks().touch(db, key);
    }
    drop_if_empty(ctx, key);
    Ok(removed)
}

/// SADD of one member: true if it was new.
fn add_member(ctx: &mut Ctx, key: &[u8], member: &[u8]) -> CmdResult<bool> {
    let db = ctx.db;
    let max_ints = ctx.settings().set_max_intset;
    let added = crate::cmd::write_collection_unmarked::<Set>(ctx, key)?.insert(member, max_ints);
    if added {
        ctx.ks().touch(db, key);
    }
    Ok(added)
}

/// Which set algebra a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// SINTER, SINTERSTORE, SINTERCARD.
    Inter,
    /// SUNION, SUNIONSTORE.
    Union,
    /// SDIFF, SDIFFSTORE.
    Diff,
}

/// The result of `op` over `sets` (members of each key in key order; a missing key is an
/// empty set), in the order Redis replies with: an intersection walks the smallest set,
/// a union or difference is built as a set (integers ascending while it is an intset).
pub fn combine(op: SetOp, sets: &[Vec<Vec<u8>>], max_ints: usize) -> Vec<Vec<u8>> {
    use std::collections::HashSet;
    match op {
        SetOp::Inter => {
            if sets.iter().any(Vec::is_empty) {
                return Vec::new();
            }
            let mut order: Vec<usize> = (0..sets.len()).collect();
            order.sort_by_key(|&i| sets[i].len());
            let others: Vec<HashSet<&[u8]>> = order[1..]
                .iter()
                .map(|&i| sets[i].iter().map(Vec::as_slice).collect())
                .collect();
            sets[order[0]]
                .iter()
                .filter(|m| others.iter().all(|o| o.contains(m.as_slice())))
                .cloned()
                .collect()
        }
        SetOp::Union => {
            let mut out = Set::default();
            for m in sets.iter().flatten() {
                out.insert(m, max_ints);
            }
            out.members()
        }
        SetOp::Diff => {
            let Some((first, rest)) = sets.split_first() else {
                return Vec::new();
            };
            let rest: Vec<HashSet<&[u8]>> = rest
                .iter()
                .map(|s| s.iter().map(Vec::as_slice).collect())
                .collect();
            let mut out = Set::default();
            for m in first {
                if !rest.iter().any(|r| r.contains(m.as_slice())) {
                    out.insert(m, max_ints);
                }
            }
            out.members()
        }
    }
}

/// What a set-algebra call asks: the op, where its source keys are, where it stores (if
/// it does), and SINTERCARD's limit.
pub struct Algebra {
    /// Intersection, union or difference.
    pub op: SetOp,
    /// The argument indexes of the source keys.
    pub keys: std::ops::Range<usize>,
    /// *STORE: the argument index of the destination.
    pub store: Option<usize>,
    /// SINTERCARD's LIMIT (`None`: not SINTERCARD).
    pub card_limit: Option<usize>,
}

/// Parses SINTER/SUNION/SDIFF key [key ...], *STORE destination key [key ...] and
/// SINTERCARD numkeys key [key ...] [LIMIT limit].
pub fn parse_algebra(args: &Args) -> CmdResult<Algebra> {
    let name = args.get(0).to_ascii_lowercase();
    let op = match &name[..] {
        b"sinter" | b"sinterstore" | b"sintercard" => SetOp::Inter,
        b"sunion" | b"sunionstore" => SetOp::Union,
        _ => SetOp::Diff,
    };
    if name == b"sintercard" {
        let mut c = args.cursor(1);
        let n = crate::num::parse_i64(c.next_arg()?)
            .filter(|&n| n > 0)
            .ok_or(CmdError::msg("ERR numkeys should be greater than 0"))? as usize;
        if n > c.remaining() {
            return Err(CmdError::msg(
                "ERR Number of keys can't be greater than number of args",
            ));
        }
        let keys = c.next_run(n)?;
        let mut limit = None;
        while let Some(opt) = c.next() {
            if !opt.eq_ignore_ascii_case(b"limit") || c.is_done() {
                return Err(CmdError::Syntax);
            }
            let l = crate::num::parse_i64(c.next_arg()?)
                .filter(|&l| l >= 0)
                .ok_or(CmdError::msg("ERR LIMIT can't be negative"))?;
            limit = (l > 0).then_some(l as usize);
        }
        return Ok(Algebra {
            op,
            keys,
            store: None,
            card_limit: Some(limit.unwrap_or(usize::MAX)),
        });
    }
    let store = name.ends_with(b"store").then_some(1);
    let first = if store.is_some() { 2 } else { 1 };
    Ok(Algebra {
        op,
        keys: first..args.len(),
        store,
        card_limit: None,
    })
}

/// Writes the reply of a set-algebra call whose result is `members` (not a store).
pub fn reply_algebra(out: &mut crate::resp::Reply, a: &Algebra, members: &[Vec<u8>]) {
    match a.card_limit {
        Some(limit) => out.int(members.len().min(limit) as i64),
        None => {
            out.set_len(members.len());
            for m in members {
                out.bulk(m);
            }
        }
    }
}

/// SINTER / SUNION / SDIFF / *STORE / SINTERCARD with every key on this shard.
pub fn algebra(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let a = parse_algebra(args)?;
    let mut sets = Vec::with_capacity(a.keys.len());
    for i in a.keys.clone() {
        sets.push(
            read(ctx, args.get(i))?
                .map(Set::members)
                .unwrap_or_default(),
        );
    }
    let max_ints = ctx.settings().set_max_intset;
    let members = combine(a.op, &sets, max_ints);
    let Some(dst) = a.store.map(|i| args.get(i)) else {
        reply_algebra(&mut ctx.out, &a, &members);
        return Ok(());
    };
    let now = ctx.now_ms();
    if members.is_empty() {
        ctx.ks().remove(db, dst, now);
    } else {
        let mut s = Set::default();
        for m in &members {
            s.insert(m, max_ints);
        }
        ctx.ks()
            .set(db, dst, Value::Set(Box::new(s)), Ttl::Clear, now);
    }
    ctx.out.int(members.len() as i64);
    Ok(())
}

/// Set-algebra coordinator: one shard runs the command itself; across shards (under the
/// locks of every key) each shard sends its keys' members, the home shard combines them,
/// and a store goes to the destination's shard.
pub fn algebra_coord(
    shard: &mut crate::shard::Shard,
    slot: usize,
    conn: &mut crate::conn::Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    use crate::shard::route::shard_of;
    let a = parse_algebra(args)?;
    let spec = crate::cmd::lookup(args.get(0)).expect("in table");
    let mut owners: Vec<usize> = spec
        .key_positions(args)
        .map(|i| shard_of(args.get(i), shard.shards))
        .collect();
    owners.dedup();
    if owners.windows(2).all(|w| w[0] == w[1]) {
        let dest = owners.first().copied().unwrap_or(shard.id);
        shard.run_whole_on(dest, slot, conn, args, out);
        return Ok(());
    }
    let keys = a.keys.clone().map(|i| (args.get(i).into(), ())).collect();
    let store = a.store.map(|i| args.get(i).into());
    let max_ints = shard.settings.set_max_intset;
    let (op, card_limit) = (a.op, a.card_limit);
    shard.start_step(slot, conn, move |cx| {
        algebra_across(cx, (op, card_limit), keys, store, max_ints)
    });
    Ok(())
}

/// SINTER / SUNION / SDIFF (*STORE, SINTERCARD) over keys on several shards: each key's
/// members come from its shard (a WRONGTYPE in key order wins), this shard combines
/// them, and a store goes to the destination's shard.
async fn algebra_across(
    cx: crate::cmd::step::Cx,
    (op, card_limit): (SetOp, Option<usize>),
    keys: Vec<(Box<[u8]>, ())>,
    store: Option<Box<[u8]>>,
    max_ints: usize,
) -> CmdResult<Vec<u8>> {
    let read_members = |ctx: &mut Ctx, key: &[u8], ()| -> CmdResult<Vec<Vec<u8>>> {
        Ok(read(ctx, key)?.map(Set::members).unwrap_or_default())
    };
    let sets = cx
        .run_per_key(keys, read_members)
        .await
        .into_iter()
        .collect::<CmdResult<Vec<_>>>()?;
    let members = combine(op, &sets, max_ints);
    let Some(dst) = store else {
        let algebra = Algebra {
            op,
            keys: 0..0,
            store: None,
            card_limit,
        };
        return Ok(cx.reply(|r| reply_algebra(r, &algebra, &members)));
    };
    let value = (!members.is_empty()).then(|| {
        let mut s = Set::default();
        for m in &members {
            s.insert(m, max_ints);
        }
        Value::Set(Box::new(s))
    });
    let dst_shard = cx.shard_of(&dst);
    cx.run_on(dst_shard, move |ctx| {
        crate::cmd::keys::store_computed(ctx, &dst, value)
    })
    .await;
    Ok(cx.int(members.len() as i64))
}
