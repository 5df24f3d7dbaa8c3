//! Consumer-group commands that create, move and feed groups: XGROUP (CREATE, SETID,
//! DESTROY, CREATECONSUMER, DELCONSUMER, HELP), XACK and XREADGROUP. XREADGROUP is a step
//! coordinator (`cmd::step`) on the client's home shard: the owner of each key checks it,
//! then delivers; with BLOCK and nothing new it blocks through `shard::block`
//! (`BlockOp::XReadGroup`), whose owner serves it with [`serve_blocked`]. The groups are
//! `store::stream_group`; XPENDING, XCLAIM and XAUTOCLAIM are `stream_pending`, XINFO and
//! XSETID `stream_info`.
//!
//! As in Redis 7.0, none of these marks a WATCHed key (only MKSTREAM's new stream does).

use std::sync::Arc;

use crate::cmd::streams::{id_arg, parse_id, parse_xread, reply_entry};
use crate::cmd::{Args, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::store::stream::{Stream, StreamId};
use crate::store::stream_group::Group;
use crate::store::Value;

/// XGROUP's error for a subcommand other than CREATE ... MKSTREAM on a missing key.
const KEY_REQUIRED: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";

/// An error quoting client bytes (names) as they are.
fn quoting(parts: &[&[u8]]) -> CmdError {
    CmdError::Bytes(parts.concat())
}

/// `NOGROUP No such consumer group '<group>' for key name '<key>'`.
pub fn no_group(key: &[u8], group: &[u8]) -> CmdError {
    quoting(&[
        b"NOGROUP No such consumer group '",
        group,
        b"' for key name '",
        key,
        b"'",
    ])
}

/// The stream at `key`, to change without marking its watchers; WRONGTYPE for another
/// type.
pub fn stream_mut<'k>(ctx: &'k mut Ctx, key: &[u8]) -> CmdResult<Option<&'k mut Stream>> {
    let db = ctx.db;
    let now = ctx.now_ms();
    match ctx
        .ks()
        .lookup_mut_unmarked(db, key, now)
        .map(|e| &mut e.value)
    {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try XGROUP HELP.`
fn sub_syntax(args: &Args) -> CmdError {
    quoting(&[
        b"ERR unknown subcommand or wrong number of arguments for '",
        args.get(1),
        b"'. Try XGROUP HELP.",
    ])
}

/// Which XGROUP subcommand runs (for the checks they share).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sub {
    Create,
    SetId,
    Destroy,
    CreateConsumer,
    DelConsumer,
}

/// XGROUP CREATE's and SETID's options.
struct GroupOpts {
    mkstream: bool,
    /// ENTRIESREAD; `None` for -1 (unknown), the default.
    entries_read: Option<u64>,
}

/// What every XGROUP subcommand but HELP checks, in Redis's order: the options after the
/// ID (CREATE and SETID), the key's type, that the key exists (unless MKSTREAM), and that
/// the group exists (SETID, CREATECONSUMER, DELCONSUMER).
fn xgroup_checks(ctx: &mut Ctx, args: &Args, sub: Sub) -> CmdResult<GroupOpts> {
    let mut o = GroupOpts {
        mkstream: false,
        entries_read: None,
    };
    let mut c = args.cursor(5);
    while let Some(opt) = c.next() {
        if sub == Sub::Create && opt.eq_ignore_ascii_case(b"mkstream") {
            o.mkstream = true;
        } else if matches!(sub, Sub::Create | Sub::SetId)
            && opt.eq_ignore_ascii_case(b"entriesread")
            && c.remaining() > 0
        {
            let n = c.next_i64()?;
            if n < -1 {
                return Err(CmdError::msg(
                    "ERR value for ENTRIESREAD must be positive or -1",
                ));
            }
            o.entries_read = u64::try_from(n).ok();
        } else {
            return Err(sub_syntax(args));
        }
    }
    let (key, group) = (args.get(2), args.get(3));
    let s = stream_mut(ctx, key)?;
    if !o.mkstream {
        let s = s.ok_or(CmdError::msg(KEY_REQUIRED))?;
        let needs_group = matches!(sub, Sub::SetId | Sub::CreateConsumer | Sub::DelConsumer);
        if needs_group && !s.groups.contains_key(group) {
            return Err(no_group(key, group));
        }
    }
    Ok(o)
}

/// XGROUP CREATE key group `<id | $>` `[MKSTREAM]` `[ENTRIESREAD entries-read]`
pub fn xgroup_create(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let o = xgroup_checks(ctx, args, Sub::Create)?;
    if args.len() > 8 {
        return Err(sub_syntax(args));
    }
    let (key, name) = (args.get(2), args.get(3));
    let last = stream_mut(ctx, key)?.map(|s| s.last_id);
    let id = match args.get(4) {
        b"$" => last.unwrap_or(StreamId::MIN),
        raw => id_arg(raw, 0)?,
    };
    let s = match last {
        Some(_) => stream_mut(ctx, key)?.expect("present"),
        // MKSTREAM: the new stream marks its watchers, as any new key does.
        None => crate::cmd::write_collection::<Stream>(ctx, key)?,
    };
    if s.groups.contains_key(name) {
        return Err(CmdError::msg(
            "BUSYGROUP Consumer Group name already exists",
        ));
    }
    s.groups.insert(name.into(), Group::new(id, o.entries_read));
    if ctx.aof_on() {
        // `$` is logged as the ID it stood for.
        let id = id.to_bytes();
        let read = entries_read_arg(o.entries_read);
        ctx.log_effect(&[
            b"XGROUP",
            b"CREATE",
            key,
            name,
            &id,
            b"MKSTREAM",
            b"ENTRIESREAD",
            read.as_bytes(),
        ]);
    }
    ctx.out.ok();
    Ok(())
}

/// XGROUP SETID key group `<id | $>` `[ENTRIESREAD entries-read]`
pub fn xgroup_setid(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let o = xgroup_checks(ctx, args, Sub::SetId)?;
    if args.len() != 5 && args.len() != 7 {
        return Err(sub_syntax(args));
    }
    let (key, name) = (args.get(2), args.get(3));
    let s = stream_mut(ctx, key)?.expect("checked");
    let id = match args.get(4) {
        b"$" => s.last_id,
        raw => parse_id(raw, 0, false, false)?.0,
    };
    let g = s.groups.get_mut(name).expect("checked");
    g.last_id = id;
    g.entries_read = o.entries_read;
    if ctx.aof_on() {
        let id = id.to_bytes();
        let read = entries_read_arg(o.entries_read);
        ctx.log_effect(&[
            b"XGROUP",
            b"SETID",
            key,
            name,
            &id,
            b"ENTRIESREAD",
            read.as_bytes(),
        ]);
    }
    ctx.out.ok();
    Ok(())
}

/// XGROUP DESTROY key group — 1 if it was there. Clients blocked reading for it wake
/// with NOGROUP.
pub fn xgroup_destroy(ctx: &mut Ctx, args: &Args) -> CmdResult {
    xgroup_checks(ctx, args, Sub::Destroy)?;
    let (key, name) = (args.get(2), args.get(3));
    let s = stream_mut(ctx, key)?.expect("checked");
    let gone = s.groups.remove(name).is_some();
    if gone {
        ctx.signal_key(ctx.db, key);
    }
    ctx.out.int(i64::from(gone));
    Ok(())
}

/// XGROUP CREATECONSUMER key group consumer — 1 if it was created.
pub fn xgroup_createconsumer(ctx: &mut Ctx, args: &Args) -> CmdResult {
    xgroup_checks(ctx, args, Sub::CreateConsumer)?;
    let now = ctx.now_ms();
    let s = stream_mut(ctx, args.get(2))?.expect("checked");
    let g = s.groups.get_mut(args.get(3)).expect("checked");
    let (_, created) = g.create_consumer(args.get(4), now);
    ctx.out.int(i64::from(created));
    Ok(())
}

/// XGROUP DELCONSUMER key group consumer — the number of entries it still had pending
/// (now dropped).
pub fn xgroup_delconsumer(ctx: &mut Ctx, args: &Args) -> CmdResult {
    xgroup_checks(ctx, args, Sub::DelConsumer)?;
    let s = stream_mut(ctx, args.get(2))?.expect("checked");
    let g = s.groups.get_mut(args.get(3)).expect("checked");
    let pending = g.delete_consumer(args.get(4)).unwrap_or(0);
    ctx.out.int(pending as i64);
    Ok(())
}

/// XGROUP HELP
pub fn xgroup_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    crate::cmd::keys::help(
        &mut ctx.out,
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
    Ok(())
}

/// XACK key group id [id ...] — how many of the IDs were pending. A missing key or group
/// acknowledges nothing; the IDs are all read before any is acknowledged.
pub fn xack(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name) = (args.get(1), args.get(2));
    let db = ctx.db;
    let now = ctx.now_ms();
    let has_group = match ctx.ks().lookup(db, key, now).map(|e| &e.value) {
        None => false,
        Some(Value::Stream(s)) => s.groups.contains_key(name),
        Some(_) => return Err(CmdError::WrongType),
    };
    if !has_group {
        ctx.out.int(0);
        return Ok(());
    }
    let ids = args
        .cursor(3)
        .map(|raw| id_arg(raw, 0))
        .collect::<CmdResult<Vec<StreamId>>>()?;
    let s = stream_mut(ctx, key)?.expect("checked");
    let g = s.groups.get_mut(name).expect("checked");
    let acked = ids.into_iter().filter(|&id| g.ack(id)).count();
    ctx.out.int(acked as i64);
    Ok(())
}

/// What an XREADGROUP reads for, the same for each of its keys.
#[derive(Debug)]
pub struct GroupRead {
    /// The group's name.
    pub group: Box<[u8]>,
    /// The consumer's name.
    pub consumer: Box<[u8]>,
    /// Entries per stream at most (0 = all).
    pub count: usize,
    /// NOACK: delivered entries are not made pending.
    pub noack: bool,
}

/// An entries-read count as ENTRIESREAD takes it: -1 when unknown.
fn entries_read_arg(n: Option<u64>) -> String {
    n.map_or_else(|| "-1".to_string(), |n| n.to_string())
}

/// The AOF records that leave group `group` of the stream at `key` as `g` is now: with
/// `position`, its last delivered ID and entries-read; with `make_consumer`, the consumer
/// made; each of `ids` pending for `consumer` with its delivery time and count, or no
/// longer pending. Replayed, they give the same PEL whatever the clock says then.
pub fn pel_records(
    key: &[u8],
    group: &[u8],
    g: &Group,
    consumer: &[u8],
    ids: &[StreamId],
    (position, make_consumer): (bool, bool),
) -> crate::cmd::Records {
    let mut recs = Vec::new();
    if position {
        let read = entries_read_arg(g.entries_read);
        recs.push(vec![
            b"XGROUP".to_vec(),
            b"SETID".to_vec(),
            key.to_vec(),
            group.to_vec(),
            g.last_id.to_bytes(),
            b"ENTRIESREAD".to_vec(),
            read.into_bytes(),
        ]);
    }
    if make_consumer {
        recs.push(vec![
            b"XGROUP".to_vec(),
            b"CREATECONSUMER".to_vec(),
            key.to_vec(),
            group.to_vec(),
            consumer.to_vec(),
        ]);
    }
    let mut acked = vec![b"XACK".to_vec(), key.to_vec(), group.to_vec()];
    for &id in ids {
        match g.pending(id) {
            Some(p) => recs.push(vec![
                b"XCLAIM".to_vec(),
                key.to_vec(),
                group.to_vec(),
                consumer.to_vec(),
                b"0".to_vec(),
                id.to_bytes(),
                b"TIME".to_vec(),
                p.delivery_time.to_string().into_bytes(),
                b"RETRYCOUNT".to_vec(),
                p.delivery_count.to_string().into_bytes(),
                b"FORCE".to_vec(),
                b"JUSTID".to_vec(),
            ]),
            None => acked.push(id.to_bytes()),
        }
    }
    if acked.len() > 3 {
        recs.push(acked);
    }
    recs
}

/// One key's ID argument: `None` for `>` (entries never delivered to the group), else the
/// ID after which the consumer's pending entries are read again.
fn read_id(raw: &[u8]) -> CmdResult<Option<StreamId>> {
    match raw {
        b">" => Ok(None),
        b"$" => Err(CmdError::msg(
            "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
        )),
        _ => id_arg(raw, 0).map(Some),
    }
}

/// One key's checks on its owner shard: its type, and that it holds the group.
fn check_key(ctx: &mut Ctx, key: &[u8], group: &[u8]) -> CmdResult<()> {
    let db = ctx.db;
    let now = ctx.now_ms();
    let ok = match ctx.ks().lookup(db, key, now).map(|e| &e.value) {
        None => false,
        Some(Value::Stream(s)) => s.groups.contains_key(group),
        Some(_) => return Err(CmdError::WrongType),
    };
    if ok {
        return Ok(());
    }
    Err(quoting(&[
        b"NOGROUP No such key '",
        key,
        b"' or consumer group '",
        group,
        b"' in XREADGROUP with GROUP option",
    ]))
}

/// Delivers from `s` for `read` and writes the entries as an array: after the group's
/// last delivered ID (`from` = `None`) or the consumer's pending entries after `from`
/// again. False, with nothing written, when a `>` read found nothing new.
///
/// With `records`, the AOF records of what it changed are added (`pel_records`).
pub fn deliver(
    out: &mut Reply,
    s: &mut Stream,
    read: &GroupRead,
    from: Option<StreamId>,
    now: u64,
    records: Option<(&[u8], &mut crate::cmd::Records)>,
) -> bool {
    // The group leaves the map while the stream's entries are read.
    let Some((name, mut g)) = s.groups.remove_entry(&read.group[..]) else {
        return false;
    };
    let mut ids = Vec::new();
    let wrote = match from {
        None => deliver_new(out, s, &mut g, read, now, &mut ids),
        Some(after) => deliver_pending(out, s, &mut g, read, after, now, &mut ids),
    };
    if let Some((key, recs)) = records {
        let position = from.is_none() && wrote;
        let made = wrote || from.is_some();
        recs.extend(pel_records(
            key,
            &name,
            &g,
            &read.consumer,
            &ids,
            (position, made),
        ));
    }
    s.groups.insert(name, g);
    wrote
}

/// `>`: entries after the group's last ID go to the consumer (pending for it unless
/// NOACK), and the group's position advances past them.
fn deliver_new(
    out: &mut Reply,
    s: &Stream,
    g: &mut Group,
    read: &GroupRead,
    now: u64,
    ids: &mut Vec<StreamId>,
) -> bool {
    let Some(from) = g.last_id.next() else {
        return false;
    };
    let entries = s.range(from, StreamId::MAX, false, read.count);
    if entries.is_empty() {
        return false;
    }
    let (cid, _) = g.create_consumer(&read.consumer, now);
    g.touch(cid, now);
    let tally = s.tally();
    out.array_len(entries.len());
    for e in entries {
        tally.advance(g, e.id);
        if !read.noack {
            g.assign(e.id, cid, now, 1);
            ids.push(e.id);
        }
        reply_entry(out, &e);
    }
    true
}

/// A history read: the consumer's pending entries after `after`, each delivered once
/// more; one no longer in the stream comes as `[id, nil]`.
fn deliver_pending(
    out: &mut Reply,
    s: &Stream,
    g: &mut Group,
    read: &GroupRead,
    after: StreamId,
    now: u64,
    delivered: &mut Vec<StreamId>,
) -> bool {
    let (cid, _) = g.create_consumer(&read.consumer, now);
    g.touch(cid, now);
    let limit = if read.count == 0 {
        usize::MAX
    } else {
        read.count
    };
    let ids: Vec<StreamId> = match after.next() {
        Some(start) => g.consumer(cid).pending_from(start).take(limit).collect(),
        None => Vec::new(),
    };
    out.array_len(ids.len());
    for id in ids {
        match s.range(id, id, false, 1).first() {
            Some(e) => {
                reply_entry(out, e);
                if let Some(p) = g.pending_mut(id) {
                    p.delivery_time = now;
                    p.delivery_count += 1;
                    delivered.push(id);
                }
            }
            None => {
                out.array_len(2);
                out.bulk(&id.to_bytes());
                out.null_array();
            }
        }
    }
    true
}

/// One key's delivery on its owner shard (after its checks passed): its entries array,
/// or `None` when a `>` read found nothing new.
fn serve_key(
    ctx: &mut Ctx,
    key: &[u8],
    read: &GroupRead,
    from: Option<StreamId>,
    resp3: bool,
) -> Option<Vec<u8>> {
    let now = ctx.now_ms();
    let logging = ctx.aof_on();
    let s = stream_mut(ctx, key).ok().flatten()?;
    let mut buf = Vec::new();
    let mut recs = Vec::new();
    let records = logging.then_some((key, &mut recs));
    let wrote = deliver(
        &mut Reply::new(&mut buf, resp3),
        s,
        read,
        from,
        now,
        records,
    );
    if logging {
        ctx.log_records(&recs);
    }
    wrote.then_some(buf)
}

/// How a blocked XREADGROUP stands with a key it waits on (`shard::block`).
pub enum Waiting {
    /// Nothing new for its group yet.
    Nothing,
    /// New entries: serve it.
    Entries,
    /// It must wake with this error (the group or the stream is gone).
    Gone(&'static str),
}

/// Why a blocked stream reader (XREAD or XREADGROUP) is looked at: the rule for serving
/// it differs, as in Redis 7.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// It is about to block: served if an entry present lies past its position (the
    /// check a call makes before blocking).
    Now,
    /// An entry was added to its key (or a group destroyed): served once the stream's
    /// last generated ID is past its position, even if the entries after it were deleted
    /// since (then with an empty list).
    Fed,
    /// Another write named its key: it wakes only if the stream or its group is gone.
    Written,
}

impl Wake {
    /// Whether a reader at `position` is served from `s`.
    pub fn serves(self, s: &Stream, position: StreamId) -> bool {
        match self {
            Wake::Now => s.last_entry_id().is_some_and(|last| last > position),
            Wake::Fed => s.last_id > position,
            Wake::Written => false,
        }
    }
}

/// Where a blocked XREADGROUP stands with the value now at its key.
pub fn waiting(value: Option<&Value>, read: &GroupRead, wake: Wake) -> Waiting {
    let Some(Value::Stream(s)) = value else {
        return Waiting::Gone("UNBLOCKED the stream key no longer exists");
    };
    match s.groups.get(&read.group[..]) {
        None => {
            Waiting::Gone("NOGROUP the consumer group this client was blocked on no longer exists")
        }
        Some(g) if wake.serves(s, g.last_id) => Waiting::Entries,
        Some(_) => Waiting::Nothing,
    }
}

/// Serves a blocked XREADGROUP from the stream at `key` (`waiting` said `Entries`): its
/// whole reply, `[[key, entries]]` (a one-key map in RESP3), the list empty when the new
/// entries were deleted before it was served; false if the group is missing.
pub fn serve_blocked(
    out: &mut Reply,
    key: &[u8],
    s: &mut Stream,
    read: &GroupRead,
    now: u64,
    mut records: Option<&mut crate::cmd::Records>,
) -> bool {
    let mut entries = Vec::new();
    let mut recs = Vec::new();
    let wrote = deliver(
        &mut Reply::new(&mut entries, out.resp3),
        s,
        read,
        None,
        now,
        records.is_some().then_some((key, &mut recs)),
    );
    if let Some(r) = records.as_deref_mut() {
        r.extend(recs);
    }
    if !wrote {
        // New IDs whose entries were deleted since: the consumer is still seen (and
        // made), as Redis does, and gets an empty list.
        let Some(g) = s.groups.get_mut(&read.group[..]) else {
            return false;
        };
        let (cid, _) = g.create_consumer(&read.consumer, now);
        g.touch(cid, now);
        if let Some(r) = records {
            r.extend(pel_records(
                key,
                &read.group,
                g,
                &read.consumer,
                &[],
                (false, true),
            ));
        }
        Reply::new(&mut entries, out.resp3).array_len(0);
    }
    if out.resp3 {
        out.map_len(1);
    } else {
        out.array_len(1);
        out.array_len(2);
    }
    out.bulk(key);
    out.raw(&entries);
    true
}

/// XREADGROUP's coordinator (`xreadgroup_across`).
pub fn xreadgroup_coord(
    shard: &mut crate::shard::Shard,
    slot: usize,
    conn: &mut crate::conn::Conn,
    args: &Args,
    _out: &mut Vec<u8>,
) -> CmdResult {
    let x = parse_xread(args, true)?;
    let at = x.group_at.expect("XREADGROUP has a group");
    let read = Arc::new(GroupRead {
        group: args.get(at).into(),
        consumer: args.get(at + 1).into(),
        count: x.count,
        noack: x.noack,
    });
    let n = x.keys.len();
    let pairs = x
        .keys
        .clone()
        .map(|i| (args.get(i).into(), Box::<[u8]>::from(args.get(i + n))))
        .collect();
    // Inside EXEC it does not block: Redis replies as if it timed out.
    let block = x.block.filter(|_| !conn.exec.running());
    shard.start_step(slot, conn, move |cx| {
        xreadgroup_across(cx, pairs, read, block)
    });
    Ok(())
}

/// XREADGROUP: every key is checked (type, group, then its ID, in key order, as Redis
/// checks them all before it delivers anything), then each owner delivers; keys on
/// several shards hold the command's locks throughout. The reply holds the keys that
/// delivered (a history read always does), in key order. When none did and BLOCK was
/// given, the client blocks on every key (`BlockOp::XReadGroup`).
async fn xreadgroup_across(
    cx: crate::cmd::step::Cx,
    pairs: Vec<crate::cmd::keys::Pair>,
    read: Arc<GroupRead>,
    block: Option<u64>,
) -> CmdResult<Vec<u8>> {
    let keys: Vec<Box<[u8]>> = pairs.iter().map(|(k, _)| k.clone()).collect();
    let ids: Vec<CmdResult<Option<StreamId>>> = pairs.iter().map(|(_, raw)| read_id(raw)).collect();
    let resp3 = cx.resp3;
    let first = cx.shard_of(&keys[0]);
    let results: Vec<Option<Vec<u8>>> = if keys.iter().all(|k| cx.shard_of(k) == first) {
        // One shard: checks and deliveries in one op.
        let (named, read) = (keys.clone(), read.clone());
        let keys = keys.clone();
        cx.run_on_keys(
            first,
            named,
            move |ctx| -> CmdResult<Vec<Option<Vec<u8>>>> {
                let mut from = Vec::with_capacity(keys.len());
                for (key, id) in keys.iter().zip(ids) {
                    check_key(ctx, key, &read.group)?;
                    from.push(id?);
                }
                Ok(keys
                    .iter()
                    .zip(from)
                    .map(|(key, id)| serve_key(ctx, key, &read, id, resp3))
                    .collect())
            },
        )
        .await?
    } else {
        let group = read.group.clone();
        let checks = cx
            .run_per_key(
                keys.iter().map(|k| (k.clone(), ())).collect(),
                move |ctx: &mut Ctx, key: &[u8], ()| check_key(ctx, key, &group),
            )
            .await;
        let mut from = Vec::with_capacity(keys.len());
        for (check, id) in checks.into_iter().zip(ids) {
            check?;
            from.push(id?);
        }
        let items = keys.iter().cloned().zip(from).collect();
        let read = read.clone();
        cx.run_per_key(items, move |ctx: &mut Ctx, key: &[u8], id| {
            serve_key(ctx, key, &read, id, resp3)
        })
        .await
    };
    let found: Vec<(&[u8], &[u8])> = keys
        .iter()
        .zip(&results)
        .filter_map(|(k, entries)| Some((&k[..], entries.as_deref()?)))
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
    cx.block_after(
        keys,
        timeout_ms,
        crate::shard::block::BlockOp::XReadGroup(read),
    );
    Ok(Vec::new())
}
