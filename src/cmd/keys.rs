//! Keyspace commands: DEL/EXISTS/TYPE, expiry, RENAME, OBJECT, and the server-wide ones
//! that run on every shard (KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL).

use crate::cmd::{Args, Ctx};
use crate::conn::{Conn, Gather, Merge};
use crate::error::{CmdError, CmdResult};
use crate::num::parse_i64;
use crate::resp::Reply;
use crate::shard::msg::OwnedCmds;
use crate::shard::{route, Shard};
use crate::store::{glob_match, Key, Keyspace};

/// Replies how many of the keys in `args[1..]` `op` reports as present (DEL, EXISTS,
/// TOUCH: each key counts as often as it is named, as in Redis).
fn count_keys(
    ctx: &mut Ctx,
    args: &Args,
    op: fn(&mut Keyspace, usize, &[u8], u64) -> bool,
) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    let n = args
        .cursor(1)
        .filter(|&key| op(ctx.ks(), db, key, now))
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

/// DEL key [key ...] (UNLINK shares it: values are freed inline either way, since a shard
/// frees only its own memory and never blocks another).
pub fn del(ctx: &mut Ctx, args: &Args) -> CmdResult {
    count_keys(ctx, args, |ks, db, k, now| ks.remove(db, k, now).is_some())
}

/// EXISTS key [key ...]
pub fn exists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    count_keys(ctx, args, |ks, db, k, now| ks.lookup(db, k, now).is_some())
}

/// TOUCH key [key ...]
pub fn touch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    count_keys(ctx, args, |ks, db, k, now| ks.peek(db, k, now).is_some())
}

/// TYPE key
pub fn type_(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    let t = ctx
        .ks()
        .peek(db, args.get(1), now)
        .map(|e| e.value.type_name())
        .unwrap_or("none");
    ctx.out.simple(t);
    Ok(())
}

fn expire_generic(
    ctx: &mut Ctx,
    args: &Args,
    seconds: bool,
    absolute: bool,
    name: &str,
) -> CmdResult {
    let db = ctx.db;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in args.cursor(3) {
        if a.eq_ignore_ascii_case(b"nx") {
            nx = true;
        } else if a.eq_ignore_ascii_case(b"xx") {
            xx = true;
        } else if a.eq_ignore_ascii_case(b"gt") {
            gt = true;
        } else if a.eq_ignore_ascii_case(b"lt") {
            lt = true;
        } else {
            // Redis formats the option with `%s` (so a NUL ends it) and trims trailing
            // CR/LF from the formatted text; CR/LF inside become blanks when written.
            let shown = &a[..memchr::memchr(0, a).unwrap_or(a.len())];
            let mut msg = b"ERR Unsupported option ".to_vec();
            msg.extend_from_slice(shown);
            while matches!(msg.last(), Some(b'\r' | b'\n')) {
                msg.pop();
            }
            return Err(CmdError::Bytes(msg));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let mut when = args.int(2)?;
    let invalid = || CmdError::owned(format!("ERR invalid expire time in '{name}' command"));
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(invalid());
        }
        when *= 1000;
    }
    let now = ctx.now_ms();
    if !absolute {
        if when > i64::MAX - now as i64 {
            return Err(invalid());
        }
        when += now as i64;
    }
    let key = args.get(1);
    let Some(e) = ctx.ks().peek(db, key, now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let current = if e.expire_at_ms == 0 {
        None
    } else {
        Some(e.expire_at_ms as i64)
    };
    let refuse = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c));
    if refuse {
        ctx.out.int(0);
        return Ok(());
    }
    if when <= now as i64 && !ctx.replaying() {
        ctx.ks().remove(db, key, now);
        ctx.log_effect(&[b"DEL", key]);
    } else {
        // A time in the past while replaying: kept as it is, expired once loading ends.
        let when = when.max(1) as u64;
        ctx.ks().set_expire(db, key, when, now);
        if ctx.aof_on() {
            let at = itoa::Buffer::new().format(when).as_bytes().to_vec();
            ctx.log_effect(&[b"PEXPIREAT", key, &at]);
        }
    }
    ctx.out.int(1);
    Ok(())
}

/// EXPIRE key seconds [NX | XX | GT | LT]
pub fn expire(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, true, false, "expire")
}

/// PEXPIRE key milliseconds [NX | XX | GT | LT]
pub fn pexpire(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, false, false, "pexpire")
}

/// EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
pub fn expireat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, true, true, "expireat")
}

/// PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
pub fn pexpireat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, false, true, "pexpireat")
}

/// Shared by TTL, PTTL, EXPIRETIME, PEXPIRETIME.
fn ttl_generic(ctx: &mut Ctx, args: &Args, ms: bool, absolute: bool) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    let Some(e) = ctx.ks().peek(db, args.get(1), now) else {
        ctx.out.int(-2);
        return Ok(());
    };
    if e.expire_at_ms == 0 {
        ctx.out.int(-1);
        return Ok(());
    }
    // Redis rounds seconds to the nearest one, also for EXPIRETIME. The sum is unsigned so
    // an expiry at i64::MAX ms cannot overflow it.
    let at = e.expire_at_ms;
    let v = if absolute { at } else { at.saturating_sub(now) };
    ctx.out.int(if ms {
        v as i64
    } else {
        ((v + 500) / 1000) as i64
    });
    Ok(())
}

/// TTL key
pub fn ttl(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

/// PTTL key
pub fn pttl(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

/// EXPIRETIME key
pub fn expiretime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

/// PEXPIRETIME key
pub fn pexpiretime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

/// PERSIST key
pub fn persist(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    let had = ctx
        .ks()
        .peek(db, args.get(1), now)
        .is_some_and(|e| e.expire_at_ms != 0);
    if had {
        ctx.ks().set_expire(db, args.get(1), 0, now);
    }
    ctx.out.int(had as i64);
    Ok(())
}

fn rename_generic(ctx: &mut Ctx, args: &Args, nx: bool) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    let (src, dst) = (args.get(1), args.get(2));
    let Some(e) = ctx.ks().peek(db, src, now) else {
        return Err(CmdError::NoSuchKey);
    };
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    let expire = e.expire_at_ms;
    if nx && ctx.ks().exists(db, dst, now) {
        ctx.out.int(0);
        return Ok(());
    }
    let value = ctx.ks().remove(db, src, now).expect("checked above");
    let ttl = if expire == 0 {
        crate::store::Ttl::Clear
    } else {
        crate::store::Ttl::At(expire)
    };
    ctx.ks().set(db, dst, value, ttl, now);
    ctx.signal_key(ctx.db, dst);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// RENAME key newkey
pub fn rename(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rename_generic(ctx, args, false)
}

/// RENAMENX key newkey
pub fn renamenx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rename_generic(ctx, args, true)
}

/// OBJECT ENCODING key
pub fn object_encoding(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    match ctx.ks().peek(db, args.get(2), now) {
        Some(e) => {
            let enc = e.value.encoding();
            ctx.out.bulk(enc.as_bytes());
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// Redis's count of shared small integers (0 to 9999), which report an "infinite"
/// reference count.
const SHARED_INTEGERS: i64 = 10_000;

/// The text Redis appends to the OBJECT FREQ / IDLETIME policy errors.
const POLICY_SWITCH_NOTE: &str = "Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// OBJECT FREQ / IDLETIME / REFCOUNT: the key's value, or a null reply (written) when
/// the key is missing. Like Redis, the lookup does not count as an access.
fn object_lookup<'a>(ctx: &'a mut Ctx, args: &Args) -> Option<&'a crate::store::Entry> {
    let db = ctx.db;
    let now = ctx.now_ms();
    let (ks, out) = ctx.ks_out();
    match ks.peek(db, args.get(2), now) {
        Some(e) => Some(e),
        None => {
            out.null();
            None
        }
    }
}

/// OBJECT REFCOUNT key: 1, or `i32::MAX` for the small integers Redis shares.
pub fn object_refcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let shared_ok = ctx.settings().shared_integers;
    let Some(e) = object_lookup(ctx, args) else {
        return Ok(());
    };
    let shared = shared_ok
        && matches!(e.value, crate::store::Value::Str(crate::store::Str::Int(n)) if (0..SHARED_INTEGERS).contains(&n));
    ctx.out.int(if shared { i32::MAX as i64 } else { 1 });
    Ok(())
}

/// OBJECT FREQ key: refused unless an LFU policy is set. busbar keeps no access
/// counters, so it answers Redis's starting counter (5), what Redis reports for a key
/// not read since it was created.
pub fn object_freq(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let lfu = ctx.settings().lfu_policy;
    if object_lookup(ctx, args).is_none() {
        return Ok(());
    }
    if !lfu {
        return Err(CmdError::owned(format!(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. {POLICY_SWITCH_NOTE}"
        )));
    }
    ctx.out.int(5);
    Ok(())
}

/// OBJECT IDLETIME key: refused under an LFU policy. busbar keeps no per-key access
/// clock (an entry has no spare bytes for one), so it answers 0 seconds.
pub fn object_idletime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let lfu = ctx.settings().lfu_policy;
    if object_lookup(ctx, args).is_none() {
        return Ok(());
    }
    if lfu {
        return Err(CmdError::owned(format!(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. {POLICY_SWITCH_NOTE}"
        )));
    }
    ctx.out.int(0);
    Ok(())
}

/// OBJECT HELP
pub fn object_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    help(
        &mut ctx.out,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}

/// Writes a `<CMD> <subcommand> [<arg> ...]` help reply like Redis's `addReplyHelp`.
pub fn help(out: &mut Reply, cmd: &str, lines: &[&str]) {
    out.array_len(lines.len() + 3);
    out.simple(&format!(
        "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

/// KEYS pattern (this shard's part; the parts are concatenated).
pub fn keys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.now_ms();
    // The keys go straight into the reply (no copies of them), and the array header in
    // front once they are counted.
    let db = ctx.db;
    let (ks, out) = ctx.ks_out();
    let start = out.buf.len();
    let n = ks.for_each_key(db, args.get(1), now, |k| out.bulk(k));
    let mut header = Vec::new();
    crate::resp::Reply::new(&mut header, out.resp3).array_len(n);
    out.buf.splice(start..start, header);
    Ok(())
}

/// DBSIZE (this shard's part; summed).
pub fn dbsize(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let db = ctx.db;
    let n = ctx.ks().len(db);
    ctx.out.int(n as i64);
    Ok(())
}

/// FLUSHDB's / FLUSHALL's optional mode from argument `from` on: nothing, or one of
/// ASYNC and SYNC (both flush inline here).
fn flush_mode(args: &Args, from: usize) -> CmdResult {
    let mut c = args.cursor(from);
    let _mode = c.next_is("async") || c.next_is("sync");
    if !c.is_done() {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

/// FLUSHDB [ASYNC | SYNC] (this shard's part).
pub fn flushdb(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    flush_mode(args, 1)?;
    ctx.ks().flush(db);
    ctx.out.ok();
    Ok(())
}

/// FLUSHALL [ASYNC | SYNC] (this shard's part).
pub fn flushall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    flush_mode(args, 1)?;
    for db in 0..ctx.ks().databases() {
        ctx.ks().flush(db);
    }
    ctx.out.ok();
    Ok(())
}

/// SWAPDB index1 index2 (this shard's part; every shard swaps under whole-shard locks,
/// so no transaction sees one shard swapped and another not).
pub fn swapdb(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // Redis reads each index as an int: past i32 it is as invalid as a non-number.
    let index = |raw: &[u8]| parse_i64(raw).filter(|&n| i32::try_from(n).is_ok());
    let a = index(args.get(1)).ok_or_else(|| CmdError::msg("ERR invalid first DB index"))?;
    let b = index(args.get(2)).ok_or_else(|| CmdError::msg("ERR invalid second DB index"))?;
    let n = ctx.ks().databases() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    if a != b {
        ctx.ks().swap(a as usize, b as usize);
        let mut home = ctx.home()?;
        home.rescan_blocked(a as usize);
        home.rescan_blocked(b as usize);
    }
    ctx.out.ok();
    Ok(())
}

/// RANDOMKEY (this shard's part; one non-null part is picked).
pub fn randomkey(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    match ctx.ks().random_key(db, now) {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
    Ok(())
}

/// The global SCAN cursor after shard `shard` returned `inner`: the inner cursor times the
/// shard count plus the shard, moving to the next shard (inner 0) when one is done.
pub fn scan_cursor_next(inner: u64, shard: usize, shards: usize) -> u64 {
    if inner != 0 {
        inner * shards as u64 + shard as u64
    } else if shard + 1 < shards {
        shard as u64 + 1
    } else {
        0
    }
}

/// SCAN-family options: COUNT, MATCH and (SCAN only) TYPE.
#[derive(Clone)]
pub(crate) struct ScanOpts {
    pub count: usize,
    pub pattern: Option<Vec<u8>>,
    pub type_name: Option<Vec<u8>>,
}

fn scan_opts(args: &Args) -> CmdResult<ScanOpts> {
    scan_opts_from(args, 2, true)
}

/// Parses SCAN-family options starting at argument `from`; TYPE only if `with_type`.
pub(crate) fn scan_opts_from(args: &Args, from: usize, with_type: bool) -> CmdResult<ScanOpts> {
    let mut o = ScanOpts {
        count: 10,
        pattern: None,
        type_name: None,
    };
    // Every option takes a value; a word without one is a syntax error.
    let mut c = args.cursor(from);
    while let Some(opt) = c.next() {
        let is = |word: &str| opt.eq_ignore_ascii_case(word.as_bytes()) && !c.is_done();
        if is("count") {
            let n = c.next_i64()?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            o.count = n as usize;
        } else if is("match") {
            let p = c.next_arg()?;
            o.pattern = (p != b"*").then(|| p.to_vec());
        } else if with_type && is("type") {
            o.type_name = Some(c.next_arg()?.to_ascii_lowercase());
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

/// One HSCAN / SSCAN / ZSCAN step over a collection's table of `len` slots: from
/// `cursor` (0 = the top) down, visiting `count` slots; returns the next cursor (0 when
/// done) and what `at` found there. Walking down, a member present for the whole scan is
/// returned at least once even while others are deleted (a removal moves the last slot,
/// already visited, into the hole) — the guarantee Redis's SCAN gives.
pub(crate) fn scan_table_down<T>(
    len: usize,
    cursor: u64,
    count: usize,
    mut at: impl FnMut(usize) -> Option<T>,
) -> (u64, Vec<T>) {
    let mut i = if cursor == 0 {
        len
    } else {
        (cursor as usize).min(len)
    };
    let mut out = Vec::new();
    let mut visited = 0;
    while i > 0 && visited < count {
        i -= 1;
        visited += 1;
        out.extend(at(i));
    }
    (i as u64, out)
}

/// Parses a SCAN cursor like Redis's `parseScanCursorOrReply`, which uses `strtoul`: an
/// optional sign (a negative cursor wraps around), and the empty string is cursor 0.
/// Redis reads the argument as a C string, so it ends at the first NUL: `"\0x"` is the
/// empty cursor 0 and `"1\0x"` is cursor 1.
pub(crate) fn parse_cursor(raw: &[u8]) -> CmdResult<u64> {
    let invalid = || CmdError::msg("ERR invalid cursor");
    let raw = raw.split(|&b| b == 0).next().unwrap_or(raw);
    let (neg, digits) = match raw.first() {
        Some(b'-') => (true, &raw[1..]),
        Some(b'+') => (false, &raw[1..]),
        _ => (false, raw),
    };
    if raw.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let v: u64 = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(invalid)?;
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] — on one shard, whose cursor is
/// the global one (across shards `scan_coord` steps through the shards with `scan_step`).
pub fn scan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(args.get(1))?;
    let o = scan_opts(args)?;
    let (next, keys) = scan_step(ctx, cursor, &o);
    ctx.out.array_len(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array_len(keys.len());
    for k in keys {
        ctx.out.bulk(&k);
    }
    Ok(())
}

/// One SCAN step over this shard's slice of the database, from its own cursor (0 = the
/// start), of at most COUNT slots: the shard's next cursor (0 when it is done) and the
/// keys kept by MATCH and TYPE.
fn scan_step(ctx: &mut Ctx, cursor: u64, o: &ScanOpts) -> (u64, Vec<Key>) {
    let db = ctx.db;
    let now = ctx.now_ms();
    ctx.ks().scan(
        db,
        cursor,
        o.count,
        |k, v| {
            o.pattern.as_deref().is_none_or(|p| glob_match(p, k, false))
                && o.type_name
                    .as_deref()
                    .is_none_or(|t| t == v.type_name().as_bytes())
        },
        now,
    )
}

/// SCAN coordinator: on one shard the command itself; across shards `scan_across`. The
/// cursor and options are checked here, before any shard takes a step.
pub fn scan_coord(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    let cursor = parse_cursor(args.get(1))?;
    let o = scan_opts(args)?;
    if shard.shards == 1 {
        shard.run_whole_on(0, slot, conn, args, out);
        return Ok(());
    }
    shard.start_step(slot, conn, move |cx| scan_across(cx, cursor, o));
    Ok(())
}

/// SCAN across shards: the global cursor names a shard (`cursor % shards`) and its own
/// cursor (`cursor / shards`); that shard takes one step. If it finishes the shard with
/// fewer than COUNT keys found so far, the next shard takes a step from its start, and so
/// on, so an empty or small keyspace answers in one call with cursor 0, as Redis does.
/// Every step starts at a cursor a SCAN could have been given, so the guarantees of a
/// single step hold for the chain. The steps read no key by name and take no locks, as
/// SCAN never has; each counts as a SCAN call of its shard in INFO commandstats.
async fn scan_across(cx: crate::cmd::step::Cx, cursor: u64, o: ScanOpts) -> CmdResult<Vec<u8>> {
    let spec = crate::cmd::lookup(b"scan").expect("scan in table");
    let want = o.count;
    let mut shard = (cursor % cx.shards as u64) as usize;
    let mut inner = cursor / cx.shards as u64;
    let mut found: Vec<Key> = Vec::new();
    let next = loop {
        let opts = o.clone();
        let step = move |ctx: &mut Ctx| {
            let start = std::time::Instant::now();
            let stepped = scan_step(ctx, inner, &opts);
            ctx.count_call(spec, start);
            stepped
        };
        let (done_to, keys) = cx.run_keyless_on(shard, step).await;
        found.extend(keys);
        let next = scan_cursor_next(done_to, shard, cx.shards);
        if done_to == 0 && next != 0 && found.len() < want {
            // This shard is done with fewer than COUNT keys: the next one steps too.
            shard = next as usize;
            inner = 0;
            continue;
        }
        break next;
    };
    Ok(cx.reply(|r| {
        r.array_len(2);
        r.bulk(next.to_string().as_bytes());
        r.array_len(found.len());
        for k in &found {
            r.bulk(k);
        }
    }))
}

fn shard_run(shard: &mut Shard, cmds: &OwnedCmds, conn: &Conn) -> Vec<u8> {
    shard.run_owned(cmds, conn.db, conn.resp3)
}

/// A key and its argument (a value, an ID), owned (for an op on another shard).
pub type Pair = (Box<[u8]>, Box<[u8]>);

/// MSETNX coordinator: on one shard the command itself; across shards (under the locks
/// of every key) `msetnx_across`.
pub fn msetnx_coord(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    if args.len() < 3 || args.len().is_multiple_of(2) {
        return Err(CmdError::Arity("msetnx".into()));
    }
    let shards = shard.shards;
    // Per owner shard, ascending: its key/value pairs.
    let mut groups: Vec<(usize, Vec<Pair>)> = Vec::new();
    for i in (1..args.len()).step_by(2) {
        let s = route::shard_of(args.get(i), shards);
        let at = match groups.binary_search_by_key(&s, |g| g.0) {
            Ok(at) => at,
            Err(at) => {
                groups.insert(at, (s, Vec::new()));
                at
            }
        };
        groups[at]
            .1
            .push((args.get(i).into(), args.get(i + 1).into()));
    }
    if let [(only, _)] = groups[..] {
        let spec = crate::cmd::lookup(b"msetnx").expect("msetnx in table");
        let mut cmds = OwnedCmds::default();
        cmds.push(spec.id, args.iter());
        if only == shard.id {
            let part = shard_run(shard, &cmds, conn);
            out.extend_from_slice(&part);
        } else {
            shard.send_run(only, slot, conn, 0, cmds);
            conn.gather = Some(Gather {
                left: 1,
                parts: vec![Vec::new()],
                merge: Merge::Forward,
                blocked: None,
            });
        }
        return Ok(());
    }
    shard.start_step(slot, conn, |cx| msetnx_across(cx, groups));
    Ok(())
}

/// MSETNX over several shards: count the keys that exist on every shard, then, only if
/// none does, set every pair.
async fn msetnx_across(
    cx: crate::cmd::step::Cx,
    groups: Vec<(usize, Vec<Pair>)>,
) -> CmdResult<Vec<u8>> {
    let checks = groups
        .iter()
        .map(|(s, pairs)| {
            let keys: Vec<Box<[u8]>> = pairs.iter().map(|(k, _)| k.clone()).collect();
            (*s, move |ctx: &mut Ctx| count_existing(ctx, &keys))
        })
        .collect();
    let existing: usize = cx.run_each(checks).await.into_iter().sum();
    if existing > 0 {
        return Ok(cx.int(0));
    }
    let sets = groups
        .into_iter()
        .map(|(s, pairs)| (s, move |ctx: &mut Ctx| set_strings(ctx, &pairs)))
        .collect();
    cx.run_each(sets).await;
    Ok(cx.int(1))
}

/// How many of `keys` exist (as EXISTS counts them: a hit or a miss each).
fn count_existing(ctx: &mut Ctx, keys: &[Box<[u8]>]) -> usize {
    let db = ctx.db;
    let now = ctx.now_ms();
    keys.iter()
        .filter(|k| ctx.ks().lookup(db, k, now).is_some())
        .count()
}

/// Sets each key to its string value, as MSET does.
fn set_strings(ctx: &mut Ctx, pairs: &[Pair]) {
    let db = ctx.db;
    let now = ctx.now_ms();
    for (k, v) in pairs {
        let value = crate::store::Value::Str(crate::store::Str::from_bytes(v));
        ctx.ks().set(db, k, value, crate::store::Ttl::Clear, now);
    }
}

/// Strictly parsed integer argument (shared helper for server commands).
pub fn int_arg(raw: &[u8]) -> CmdResult<i64> {
    parse_i64(raw).ok_or(CmdError::NotInteger)
}

/// COPY source destination [DB destination-db] [REPLACE]: the options, checked in Redis's
/// order. Returns (destination database, replace).
fn copy_options(args: &Args, db: usize, databases: usize) -> CmdResult<(usize, bool)> {
    let (mut dst_db, mut replace) = (db, false);
    let mut c = args.cursor(3);
    while let Some(opt) = c.next() {
        if opt.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if opt.eq_ignore_ascii_case(b"db") && !c.is_done() {
            let n = c.next_i64()?;
            // Redis reads the index as an int first (its range error), then the range.
            if i32::try_from(n).is_err() {
                return Err(CmdError::msg(
                    "ERR value is out of range, value must between -2147483648 and 2147483647",
                ));
            }
            if n < 0 || n as usize >= databases {
                return Err(CmdError::msg("ERR DB index is out of range"));
            }
            dst_db = n as usize;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if dst_db == db && args.get(1) == args.get(2) {
        return Err(CmdError::msg(
            "ERR source and destination objects are the same",
        ));
    }
    Ok((dst_db, replace))
}

/// COPY source destination \[DB destination-db\] \[REPLACE\] (both keys on this shard).
pub fn copy(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let (dst_db, replace) = copy_options(args, ctx.db, ctx.ks().databases())?;
    let now = ctx.now_ms();
    let Some(e) = ctx.ks().lookup(db, args.get(1), now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let (value, expire) = (e.value.clone(), e.expire_at_ms);
    if !replace && ctx.ks().exists(dst_db, args.get(2), now) {
        ctx.out.int(0);
        return Ok(());
    }
    let ttl = if expire == 0 {
        crate::store::Ttl::Clear
    } else {
        crate::store::Ttl::At(expire)
    };
    ctx.ks().set(dst_db, args.get(2), value, ttl, now);
    ctx.signal_key(dst_db, args.get(2));
    ctx.out.int(1);
    Ok(())
}

/// The value at `key` with its expiry, dumped (`Value::dump`); `None` when missing. The
/// first step of RENAME / COPY across shards, under the transaction's locks.
fn dump_key(ctx: &mut Ctx, key: &[u8]) -> Option<Vec<u8>> {
    let db = ctx.db;
    let now = ctx.now_ms();
    let e = ctx.ks().peek(db, key, now)?;
    let mut buf = Vec::new();
    e.value.dump(e.expire_at_ms, &mut buf);
    Some(buf)
}

/// Stores a dumped value (with its expiry) at `key` in `db`, unless `nx` and the key
/// exists. True if stored.
fn put_dump(ctx: &mut Ctx, db: usize, key: &[u8], dump: &[u8], nx: bool) -> CmdResult<bool> {
    let now = ctx.now_ms();
    let (value, expire) = crate::store::Value::restore(dump)
        .ok_or_else(|| CmdError::msg("ERR internal: bad dump"))?;
    if nx && ctx.ks().exists(db, key, now) {
        return Ok(false);
    }
    let ttl = if expire == 0 {
        crate::store::Ttl::Clear
    } else {
        crate::store::Ttl::At(expire)
    };
    ctx.ks().set(db, key, value, ttl, now);
    ctx.signal_key(db, key);
    Ok(true)
}

/// Stores a value computed on another shard at `key` (SUNIONSTORE, ZUNIONSTORE ...
/// across shards), without expiry, or deletes `key` for `None` (an empty result).
pub fn store_computed(ctx: &mut Ctx, key: &[u8], value: Option<crate::store::Value>) {
    let db = ctx.db;
    let now = ctx.now_ms();
    match value {
        Some(v) => {
            ctx.ks().set(db, key, v, crate::store::Ttl::Clear, now);
            ctx.signal_key(db, key);
        }
        None => {
            ctx.ks().remove(db, key, now);
        }
    }
}

/// Which command moves a key between shards.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relocation {
    /// RENAME: replaces the destination.
    Rename,
    /// RENAMENX: only if the destination does not exist.
    RenameNx,
    /// COPY: keeps the source; replaces the destination only with REPLACE.
    Copy { replace: bool },
}

/// RENAME / RENAMENX / COPY: on one shard the command itself; across shards (under the
/// locks of both keys, taken before this runs) `relocate_across`.
fn relocate_coord(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
    op: Relocation,
) -> CmdResult {
    let (src, dst) = (args.get(1), args.get(2));
    let (dst_db, op) = match op {
        Relocation::Copy { .. } => {
            let (dst_db, replace) = copy_options(args, conn.db, shard.ks.databases())?;
            (dst_db, Relocation::Copy { replace })
        }
        op => (conn.db, op),
    };
    let src_shard = route::shard_of(src, shard.shards);
    if src_shard == route::shard_of(dst, shard.shards) {
        shard.run_whole_on(src_shard, slot, conn, args, out);
        return Ok(());
    }
    let (src, dst) = (src.into(), dst.into());
    shard.start_step(slot, conn, move |cx| {
        relocate_across(cx, src, dst, dst_db, op)
    });
    Ok(())
}

/// RENAME / RENAMENX / COPY between two shards: take a dump of the source, put it at the
/// destination, and for a rename delete the source.
async fn relocate_across(
    cx: crate::cmd::step::Cx,
    src: Box<[u8]>,
    dst: Box<[u8]>,
    dst_db: usize,
    op: Relocation,
) -> CmdResult<Vec<u8>> {
    let (src_shard, dst_shard) = (cx.shard_of(&src), cx.shard_of(&dst));
    let key = src.clone();
    let Some(dump) = cx.run_on(src_shard, move |ctx| dump_key(ctx, &key)).await else {
        return match op {
            Relocation::Copy { .. } => Ok(cx.int(0)),
            _ => Err(CmdError::NoSuchKey),
        };
    };
    let nx = matches!(
        op,
        Relocation::Copy { replace: false } | Relocation::RenameNx
    );
    let put = move |ctx: &mut Ctx| put_dump(ctx, dst_db, &dst, &dump, nx);
    let stored = cx.run_on(dst_shard, put).await?;
    match op {
        Relocation::Copy { .. } => return Ok(cx.int(stored as i64)),
        Relocation::RenameNx if !stored => return Ok(cx.int(0)),
        _ => {}
    }
    cx.run_on(src_shard, move |ctx| {
        let db = ctx.db;
        let now = ctx.now_ms();
        ctx.ks().remove(db, &src, now);
    })
    .await;
    Ok(match op {
        Relocation::Rename => cx.reply(|r| r.ok()),
        _ => cx.int(1),
    })
}

/// RENAME coordinator.
pub fn rename_coord(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    relocate_coord(shard, slot, conn, args, out, Relocation::Rename)
}

/// RENAMENX coordinator.
pub fn renamenx_coord(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    relocate_coord(shard, slot, conn, args, out, Relocation::RenameNx)
}

/// COPY coordinator.
pub fn copy_coord(
    shard: &mut Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    out: &mut Vec<u8>,
) -> CmdResult {
    relocate_coord(
        shard,
        slot,
        conn,
        args,
        out,
        Relocation::Copy { replace: false },
    )
}

/// The encodings a restored value is built in: this shard's packing limits.
fn rdb_limits(ctx: &Ctx) -> crate::persist::rdb::Limits {
    let s = ctx.settings();
    crate::persist::rdb::Limits {
        hash: s.hash_limits,
        zset: s.zset_limits,
        set_max_intset: s.set_max_intset,
        stream: s.stream_limits,
    }
}

/// DUMP key: the value in Redis's RDB encoding with the RDB version and a CRC-64, or
/// null when the key is missing.
pub fn dump(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    let now = ctx.now_ms();
    let compress = ctx.settings().rdb_compression;
    let (ks, out) = ctx.ks_out();
    match ks.lookup(db, args.get(1), now) {
        Some(e) => out.bulk(&crate::persist::rdb::dump_payload(&e.value, compress)),
        None => out.null(),
    }
    Ok(())
}

/// RESTORE key ttl serialized-value \[REPLACE\] \[ABSTTL\] \[IDLETIME seconds\] \[FREQ
/// frequency\]: checks in Redis's order (options, an existing key, the TTL, the payload's
/// version and checksum, then its contents). busbar keeps no per-key access clock or
/// counter, so IDLETIME and FREQ are checked and have nothing to set.
pub fn restore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (false, false);
    let mut i = 4;
    while i < args.len() {
        let more = i + 1 < args.len();
        if args.is(i, "replace") {
            replace = true;
        } else if args.is(i, "absttl") {
            absttl = true;
        } else if args.is(i, "idletime") && more && !freq {
            if args.int(i + 1)? < 0 {
                return Err(CmdError::msg("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = true;
            i += 1;
        } else if args.is(i, "freq") && more && !idle {
            if !(0..=255).contains(&args.int(i + 1)?) {
                return Err(CmdError::msg(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let (db, key) = (ctx.db, args.get(1));
    let now = ctx.now_ms();
    if !replace && ctx.ks().exists(db, key, now) {
        return Err(CmdError::msg("BUSYKEY Target key name already exists."));
    }
    let ttl = args.int(2)?;
    if ttl < 0 {
        return Err(CmdError::msg("ERR Invalid TTL value, must be >= 0"));
    }
    let body = crate::persist::rdb::payload_body(args.get(3)).ok_or(CmdError::msg(
        "ERR DUMP payload version or checksum are wrong",
    ))?;
    let limits = rdb_limits(ctx);
    let mut r = crate::persist::rdb::Reader::new(body);
    let value = r
        .byte()
        .and_then(|t| crate::persist::rdb::read_value(&mut r, t, &limits))
        .ok_or(CmdError::msg("ERR Bad data format"))?;
    let expire_at = match (ttl, absttl) {
        (0, _) => 0,
        (t, true) => t as u64,
        (t, false) => now.saturating_add(t as u64),
    };
    if expire_at != 0 && expire_at <= now && !ctx.replaying() {
        // Already expired: the old key (REPLACE) goes, nothing is created.
        if replace {
            ctx.ks().remove(db, key, now);
            ctx.log_effect(&[b"DEL", key]);
        } else {
            ctx.log_effect(&[]);
        }
        ctx.out.ok();
        return Ok(());
    }
    let ttl = if expire_at == 0 {
        crate::store::Ttl::Clear
    } else {
        crate::store::Ttl::At(expire_at)
    };
    ctx.ks().set(db, key, value, ttl, now);
    if ctx.aof_on() {
        // A relative TTL is logged as the time it ends.
        let at = itoa::Buffer::new().format(expire_at).as_bytes().to_vec();
        ctx.log_effect(&[b"RESTORE", key, &at, args.get(3), b"REPLACE", b"ABSTTL"]);
    }
    ctx.signal_key(db, key);
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b""), Ok(0));
        assert_eq!(parse_cursor(b"+7"), Ok(7));
        assert_eq!(parse_cursor(b"\0"), Ok(0));
        assert_eq!(parse_cursor(b"\0abc"), Ok(0));
        assert_eq!(parse_cursor(b"12\0abc"), Ok(12));
        assert_eq!(
            parse_cursor(b" 1"),
            Err(CmdError::msg("ERR invalid cursor"))
        );
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [
            &b"-"[..],
            b"+",
            b" 1",
            b"1 ",
            b"0x10",
            b"1.5",
            b"18446744073709551616",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }
}
