//! The waiters of blocking commands across shards (the commands themselves are
//! `cmd::blocking` and XREAD in `cmd::streams`): queues of waiters per key, signalled keys,
//! timeouts, serving, the holds that make a chain of moves one step, and the serving of an
//! EXEC's keys in order.
//!
//! A blocked client registers one waiter on the owner shard of each of its keys; all its
//! waiters share one claim flag. Whoever first flips the claim (compare-and-swap) decides
//! the outcome: an owner shard that has an element for it (it pops and sends the reply
//! home as an ordinary hop reply), or the home shard when the timeout fires or the client
//! goes away. Losers simply drop their waiter. Waiters on one key are served in arrival
//! order. An element popped for a client that disconnected meanwhile is pushed back where
//! it came from, so nothing is lost or delivered twice.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering::AcqRel, Ordering::Acquire, Ordering::Relaxed};
use std::sync::Arc;

use super::msg::{ConnRef, Msg, Popped, Rescue};
use super::{route, Shard};
use crate::cmd::stream_groups::Wake;
use crate::conn::{Conn, Gather, Merge};
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::store::stream::StreamId;
use crate::store::{Ttl, Value};

/// What a served waiter does with the element(s).
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug, Clone)]
pub enum BlockOp {
    /// BLPOP / BRPOP: reply `[key, element]`.
    Pop { left: bool },
    /// BLMPOP: reply `[key, [elements]]` with up to `count` elements.
    MPop { left: bool, count: usize },
    /// A cross-shard BLMOVE's first step: reply with the bare element; the home shard
    /// then pushes it onto the destination's shard.
    PopValue { left: bool },
    /// A blocked BLMOVE / BRPOPLPUSH whose destination lives on shard `dst_shard`: the
    /// source's owner locks the source for the move (`Flight`), pops and sends the element
    /// to the destination's owner, which pushes it, replies to the client, and lets the
    /// source go. Nobody sees the element in neither list: the source stays locked while
    /// it is in flight, and the command that pushed it holds its reply until the move is
    /// done (`ChainHold`).
    MoveTo {
        dst: Box<[u8]>,
        dst_shard: usize,
        from_left: bool,
        to_left: bool,
    },
    /// BLMOVE / BRPOPLPUSH: move to `dst` (same shard) and reply with the element.
    Move {
        dst: Box<[u8]>,
        from_left: bool,
        to_left: bool,
    },
    /// BZPOPMIN / BZPOPMAX: reply `[key, member, score]`.
    ZPop { max: bool },
    /// BZMPOP: reply `[key, [[member, score] ...]]` with up to `count` members.
    ZMPop { max: bool, count: usize },
    /// XREAD BLOCK: reply with up to `count` entries (0 = all) after the key's ID.
    XRead {
        ids: Arc<[(Box<[u8]>, StreamId)]>,
        count: usize,
    },
    /// XREADGROUP BLOCK with `>`: deliver the group's new entries to the consumer
    /// (`cmd::stream_groups::serve_blocked`); a destroyed group or a deleted stream wakes
    /// it with an error.
    XReadGroup(Arc<crate::cmd::stream_groups::GroupRead>),
}

/// The type a waiter takes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wants {
    List,
    Zset,
    Stream,
}

impl BlockOp {
    fn wants(&self) -> Wants {
        match self {
            BlockOp::ZPop { .. } | BlockOp::ZMPop { .. } => Wants::Zset,
            BlockOp::XRead { .. } | BlockOp::XReadGroup(_) => Wants::Stream,
            _ => Wants::List,
        }
    }
}

/// The ID an XREAD waiter reads after on `key`.
fn stream_after(op: &BlockOp, key: &[u8]) -> StreamId {
    match op {
        BlockOp::XRead { ids, .. } => ids
            .iter()
            .find(|(k, _)| &k[..] == key)
            .map(|(_, id)| *id)
            .unwrap_or_default(),
        _ => StreamId::MIN,
    }
}

/// How an attempt to serve a waiter from a key went.
enum Serve {
    /// Served: the reply, and what to restore should its client be gone.
    Done(Vec<u8>, Option<Rescue>),
    /// Served by sending the element to another shard, which replies to the client.
    Forwarded,
    /// A cross-shard move cannot lock its source now: it keeps its place, and the key is
    /// tried again later.
    Locked,
    /// Someone else decided the waiter's outcome already.
    Claimed,
    /// The key has nothing for it (missing or empty).
    Empty,
    /// The key holds a type this waiter does not pop: it stays blocked, as in Redis.
    OtherType,
    /// Nothing for this waiter, though there may be for those behind it (an XREADGROUP
    /// of a group that has read everything, behind which another group's may wait).
    NotForIt,
}

/// What a blocking command asks for.
#[derive(Debug)]
pub struct BlockRequest {
    /// Its keys, in argument order.
    pub keys: Vec<Box<[u8]>>,
    /// Timeout in ms; 0 = forever.
    pub timeout_ms: u64,
    /// What a served waiter does.
    pub op: BlockOp,
    /// How the reply is finished on the home shard: `Forward`, or the step that waits in
    /// the block (`cmd::step::Cx::block`).
    pub merge: Merge,
    /// The command's arrival number (`Shard::arrival`).
    pub seq: u64,
}

/// One blocked client's interest in keys of one shard.
#[derive(Debug, Clone)]
pub struct Waiter {
    /// Shared by all of the client's waiters; true once someone decided its outcome.
    pub claim: Arc<AtomicBool>,
    /// The client's home shard.
    pub home: usize,
    /// The client.
    pub conn: ConnRef,
    /// Reply in RESP3.
    pub resp3: bool,
    /// Database of the keys.
    pub db: usize,
    /// What to do when served.
    pub op: BlockOp,
    /// Inside EXEC: an owner that cannot serve it at once says so (`DECLINED`).
    pub nowait: bool,
    /// The command's arrival number: a key's waiters are queued and served in this order,
    /// so one that arrived first is served first even if its registration came later.
    pub seq: u64,
    /// False while its place is only reserved (`Reserved`): it cannot be served yet, and
    /// nobody behind it is served from the key meanwhile.
    pub armed: bool,
}

/// The places a blocking pop over several shards takes in its keys' queues when it
/// arrives, before its attempt under the locks of every key: a waiter that arrives later
/// queues behind it even while the attempt takes its hops. Armed (`Msg::Arm`) when the
/// attempt found nothing, dropped when it found something.
#[derive(Debug)]
pub struct Reserved {
    claim: Arc<AtomicBool>,
    db: usize,
    parts: Vec<(usize, Vec<Box<[u8]>>)>,
}

/// The part number of a `Done` that says "nothing here" to a blocking command inside
/// EXEC (which must not block).
pub const DECLINED: u32 = u32::MAX;

/// The block a connection waits in (on its home shard).
#[derive(Debug)]
pub struct Blocked {
    /// The shared claim.
    pub claim: Arc<AtomicBool>,
    /// Absolute deadline in ms; 0 = forever.
    pub deadline_ms: u64,
    /// Shards holding its waiters, and the keys there.
    pub parts: Vec<(usize, Vec<Box<[u8]>>)>,
    /// Database.
    pub db: usize,
    /// Inside EXEC: owner shards yet to answer; when none is left, it times out at once.
    pub declines_left: usize,
    /// Time out with a null bulk rather than a null array (a move inside EXEC replies
    /// like LMOVE).
    pub null_bulk: bool,
    /// Counted in INFO `blocked_clients` (every block but one inside EXEC, which never
    /// really blocks: Redis does not count it).
    pub counted: bool,
}

/// Wins the claim: true exactly once per blocked client.
fn take(claim: &AtomicBool) -> bool {
    claim.compare_exchange(false, true, AcqRel, Acquire).is_ok()
}

/// A blocked stream read's reply when the new IDs it was woken for were deleted before
/// it was served: `[[key, []]]` (a one-key map in RESP3).
fn empty_stream_reply(r: &mut Reply, key: &[u8]) {
    if r.resp3 {
        r.map_len(1);
    } else {
        r.array_len(1);
        r.array_len(2);
    }
    r.bulk(key);
    r.array_len(0);
}

impl Shard {
    /// A fresh arrival number for a blocking command that starts now.
    pub(crate) fn arrival(&self) -> u64 {
        self.shared
            .block_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }

    /// The arrival number of the blocking command `conn` runs: the one it got when it
    /// first came up (`Shard::execute`), before any wait for its locks.
    pub(crate) fn arrival_of(&self, conn: &mut Conn) -> u64 {
        conn.block_arrival.take().unwrap_or_else(|| self.arrival())
    }

    /// Tries to serve `w` from `key` on this shard: wins the claim only if the key holds a
    /// non-empty value of the type the waiter pops. When the client first blocks
    /// (`blocking`), a key of another type fails the call (WRONGTYPE) instead.
    ///
    /// `wake` says why a stream reader is looked at (`Wake::Now` when it first blocks).
    fn serve_one(&mut self, w: &Waiter, key: &[u8], wake: Wake) -> Serve {
        if w.claim.load(Acquire) {
            return Serve::Claimed;
        }
        let blocking = wake == Wake::Now;
        let now = self.now_ms;
        if let BlockOp::XReadGroup(read) = &w.op {
            return self.serve_group_read(w, key, read, wake);
        }
        let wants = w.op.wants();
        let (nonempty, wrong_type) = match self.ks.peek(w.db, key, now).map(|e| &e.value) {
            Some(Value::List(l)) if wants == Wants::List => (!l.is_empty(), false),
            Some(Value::Zset(z)) if wants == Wants::Zset => (!z.is_empty(), false),
            Some(Value::Stream(s)) if wants == Wants::Stream => {
                if !wake.serves(s, stream_after(&w.op, key)) {
                    // Readers behind it (other positions, groups) may still be served.
                    return Serve::NotForIt;
                }
                (true, false)
            }
            Some(_) => (false, true),
            None => (false, false),
        };
        if wrong_type && !blocking {
            return Serve::OtherType;
        }
        if !(nonempty || wrong_type) {
            return Serve::Empty;
        }
        let flight_lock = match (&w.op, wrong_type) {
            (BlockOp::MoveTo { .. }, false) => {
                let set = crate::tx::LockSet::of(vec![crate::tx::key_hash(w.db, key)]);
                if self.locks.conflicts(0, &set) {
                    return Serve::Locked;
                }
                Some(set)
            }
            _ => None,
        };
        if !take(&w.claim) {
            return Serve::Claimed;
        }
        if let Some(set) = flight_lock {
            let tx = self.next_tx_id();
            let locked = self.locks.try_lock(tx, set);
            debug_assert!(locked, "checked above");
            let BlockOp::MoveTo {
                dst,
                dst_shard,
                from_left,
                to_left,
            } = &w.op
            else {
                unreachable!("only a move locks")
            };
            // Its records are the flight's transaction's: they apply at replay only
            // once the destination logged the landing (`aof_commit` in `move_push`).
            let outer = std::mem::replace(&mut self.running_tx, tx);
            let value = self
                .pop_list(w.db, key, *from_left, 1)
                .pop()
                .expect("non-empty");
            self.running_tx = outer;
            let token = self.hold_ctx.inspect(|h| {
                self.holds.entry(*h).or_default().pending += 1;
            });
            let flight = Flight {
                tx,
                src_shard: self.id,
                db: w.db,
                src: key.into(),
                from_left: *from_left,
                dst: dst.clone(),
                to_left: *to_left,
                value,
                home: w.home,
                conn: w.conn,
                resp3: w.resp3,
                token,
            };
            // Waiting for the destination's lock is safe only in shard order.
            let wait = *dst_shard > self.id;
            self.outbox[*dst_shard].push(Msg::MovePush {
                flight: Box::new(flight),
                wait,
            });
            // The claim is won here: the client is no longer blocked, though its reply
            // comes from the destination's shard.
            self.count_served(w);
            return Serve::Forwarded;
        }
        let mut out = Vec::new();
        let mut r = Reply::new(&mut out, w.resp3);
        if wrong_type {
            // Like Redis, a key of another type fails the call instead of blocking on it.
            r.error(&CmdError::WrongType.text());
            return Serve::Done(out, None);
        }
        // Pops reply with what they took and keep it for a rescue, should the client be
        // gone when the reply arrives; a move's element already lives in `dst`.
        let popped = match &w.op {
            BlockOp::MoveTo { .. } => unreachable!("forwarded above"),
            BlockOp::XReadGroup(_) => unreachable!("served by serve_group_read"),
            BlockOp::Pop { left } => {
                let v = self.pop_list(w.db, key, *left, 1);
                r.array_len(2);
                r.bulk(key);
                r.bulk(&v[0]);
                Popped::List {
                    values: v,
                    left: *left,
                }
            }
            BlockOp::PopValue { left } => {
                let v = self.pop_list(w.db, key, *left, 1);
                r.bulk(&v[0]);
                Popped::List {
                    values: v,
                    left: *left,
                }
            }
            BlockOp::MPop { left, count } => {
                let v = self.pop_list(w.db, key, *left, *count);
                r.array_len(2);
                r.bulk(key);
                r.array_len(v.len());
                for e in &v {
                    r.bulk(e);
                }
                Popped::List {
                    values: v,
                    left: *left,
                }
            }
            BlockOp::ZPop { max } => {
                let v = self.pop_zset(w.db, key, *max, 1);
                r.array_len(3);
                r.bulk(key);
                r.bulk(&v[0].1);
                r.double(v[0].0);
                Popped::Zset(v)
            }
            BlockOp::ZMPop { max, count } => {
                let v = self.pop_zset(w.db, key, *max, *count);
                crate::cmd::zsets::reply_mpop(&mut r, key, &v);
                Popped::Zset(v)
            }
            BlockOp::XRead { count, .. } => {
                // A read takes nothing: no rescue.
                let after = stream_after(&w.op, key);
                if let Some(Value::Stream(s)) = self.ks.peek(w.db, key, now).map(|e| &e.value) {
                    if crate::cmd::streams::xread_serve(&mut r, key, s, after, *count).is_none() {
                        // New IDs whose entries were deleted since: an empty list, as
                        // Redis replies.
                        empty_stream_reply(&mut r, key);
                    }
                }
                return Serve::Done(out, None);
            }
            BlockOp::Move {
                dst,
                from_left,
                to_left,
            } => {
                let dst_ok = !matches!(
                    self.ks.peek(w.db, dst, now).map(|e| &e.value),
                    Some(v) if !matches!(v, Value::List(_))
                );
                if dst_ok {
                    let v = self
                        .pop_list(w.db, key, *from_left, 1)
                        .pop()
                        .expect("non-empty");
                    self.push_list(w.db, dst, &v, *to_left);
                    r.bulk(&v);
                } else {
                    r.error(&CmdError::WrongType.text());
                }
                return Serve::Done(out, None);
            }
        };
        let rescue = Rescue {
            shard: self.id,
            db: w.db,
            key: key.into(),
            popped,
        };
        Serve::Done(out, Some(rescue))
    }

    /// Serves a blocked XREADGROUP from `key` if its group has new entries there, or
    /// wakes it with an error if the group or the stream is gone.
    fn serve_group_read(
        &mut self,
        w: &Waiter,
        key: &[u8],
        read: &crate::cmd::stream_groups::GroupRead,
        wake: Wake,
    ) -> Serve {
        use crate::cmd::stream_groups::{serve_blocked, waiting, Waiting};
        let now = self.now_ms;
        let state = waiting(self.ks.peek(w.db, key, now).map(|e| &e.value), read, wake);
        if matches!(state, Waiting::Nothing) {
            return Serve::NotForIt;
        }
        if !take(&w.claim) {
            return Serve::Claimed;
        }
        let mut out = Vec::new();
        let mut r = Reply::new(&mut out, w.resp3);
        match state {
            Waiting::Gone(text) => r.error(text),
            _ => {
                let s = match self
                    .ks
                    .lookup_mut_unmarked(w.db, key, now)
                    .map(|e| &mut e.value)
                {
                    Some(Value::Stream(s)) => s,
                    _ => unreachable!("waiting() saw a stream"),
                };
                let mut recs = Vec::new();
                let logging = self.aof.is_some();
                if !serve_blocked(&mut r, key, s, read, now, logging.then_some(&mut recs)) {
                    empty_stream_reply(&mut r, key);
                }
                self.aof_records(w.db, &recs, false);
            }
        }
        // Delivered entries are pending for the consumer: nothing to rescue.
        Serve::Done(out, None)
    }

    /// Pops up to `n` members from a non-empty sorted set, deleting it when emptied.
    fn pop_zset(&mut self, db: usize, key: &[u8], max: bool, n: usize) -> Vec<(f64, Box<[u8]>)> {
        let now = self.now_ms;
        let mut out = Vec::new();
        if let Some(Value::Zset(z)) = self.ks.lookup_mut(db, key, now).map(|e| &mut e.value) {
            out = z.pop(max, n);
            if z.is_empty() {
                self.ks.remove(db, key, now);
            }
        }
        if self.aof.is_some() && !out.is_empty() {
            let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            let n = itoa::Buffer::new().format(out.len()).as_bytes().to_vec();
            self.aof_effect(db, &[name, key, &n], false);
        }
        out
    }

    /// Pops up to `n` elements from a non-empty list, deleting it when emptied.
    fn pop_list(&mut self, db: usize, key: &[u8], left: bool, n: usize) -> Vec<Vec<u8>> {
        let now = self.now_ms;
        let mut out = Vec::new();
        if let Some(Value::List(l)) = self.ks.lookup_mut(db, key, now).map(|e| &mut e.value) {
            for _ in 0..n {
                match if left { l.pop_front() } else { l.pop_back() } {
                    Some(v) => out.push(v),
                    None => break,
                }
            }
            if l.is_empty() {
                self.ks.remove(db, key, now);
            }
        }
        if self.aof.is_some() && !out.is_empty() {
            let name: &[u8] = if left { b"LPOP" } else { b"RPOP" };
            let n = itoa::Buffer::new().format(out.len()).as_bytes().to_vec();
            self.aof_effect(db, &[name, key, &n], false);
        }
        out
    }

    /// Pushes `v` onto the list at `key` (created if missing) and signals its waiters.
    pub(crate) fn push_list(&mut self, db: usize, key: &[u8], v: &[u8], left: bool) {
        let now = self.now_ms;
        if self.ks.peek(db, key, now).is_none() {
            self.ks
                .set(db, key, Value::List(Box::default()), Ttl::Clear, now);
        }
        if let Some(Value::List(l)) = self.ks.lookup_mut(db, key, now).map(|e| &mut e.value) {
            if left {
                l.push_front(v);
            } else {
                l.push_back(v);
            }
        }
        let name: &[u8] = if left { b"LPUSH" } else { b"RPUSH" };
        self.aof_effect(db, &[name, key, v], false);
        self.signal_key(db, key);
    }

    /// Notes that `key` may have data for waiters; they are served after the current
    /// command (and turn step) completes.
    ///
    /// For stream readers this is the signal of an added entry (XADD, or XGROUP DESTROY,
    /// which Redis signals the same way): they are served by Redis's rule for it
    /// (`Wake::Fed`), where other writes only wake those whose stream or group went.
    pub fn signal_key(&mut self, db: usize, key: &[u8]) {
        if !self.blocked[db].is_empty() && self.blocked[db].contains_key(key) {
            self.stream_fed.insert((db, key.into()));
            self.mark_ready(db, key.into());
        }
    }

    /// After write command `spec` ran here: its keys a blocked XREADGROUP waits on are
    /// signalled, so that a stream deleted or replaced under it wakes it (as Redis 7.0
    /// wakes it) whatever command did it. Costs one check while nothing is blocked.
    pub(crate) fn signal_written(
        &mut self,
        spec: &crate::cmd::Spec,
        db: usize,
        args: &crate::cmd::Args,
    ) {
        if spec.flags & crate::cmd::flag::WRITE == 0 || self.blocked[db].is_empty() {
            return;
        }
        let mut keyed = false;
        for i in spec.key_positions(args) {
            keyed = true;
            let key = args.get(i);
            let group_waits = self.blocked[db]
                .get(key)
                .is_some_and(|q| q.iter().any(|w| matches!(w.op, BlockOp::XReadGroup(_))));
            if group_waits {
                self.mark_ready(db, key.into());
            }
        }
        if !keyed {
            // FLUSHALL, FLUSHDB, SWAPDB ...: any stream may be gone.
            self.signal_group_readers();
        }
    }

    /// Signals every key a blocked XREADGROUP waits on, so that one whose stream went
    /// away without a command naming its key (FLUSHALL, SWAPDB, expiry) wakes: after a
    /// keyless write, and from the cron (for expiry). A reader whose group still has
    /// nothing new keeps waiting.
    pub(crate) fn signal_group_readers(&mut self) {
        for db in 0..self.blocked.len() {
            if self.blocked[db].is_empty() {
                continue;
            }
            let keys: Vec<Box<[u8]>> = self.blocked[db]
                .iter()
                .filter(|(_, q)| q.iter().any(|w| matches!(w.op, BlockOp::XReadGroup(_))))
                .map(|(k, _)| k.clone())
                .collect();
            for key in keys {
                self.mark_ready(db, key);
            }
        }
    }

    /// Queues `key` to be served, unless it is queued already (as Redis, a key signalled
    /// twice before it is served is served once, in the place of its first signal).
    fn mark_ready(&mut self, db: usize, key: Box<[u8]>) {
        if self.ready_set.insert((db, key.clone())) {
            self.ready_keys.push_back((db, key));
        }
    }

    /// Serves waiters of keys that received data: keys in the order they were signalled,
    /// each key's waiters first come first served. Runs after every command (as Redis
    /// after each command it calls), so the next command sees the waiters served.
    pub(crate) fn serve_ready_keys(&mut self) {
        if self.ready_keys.is_empty() || self.serving_ready {
            return;
        }
        self.serving_ready = true;
        // A key a transaction holds is served after it lets go: its waiters must not see
        // the transaction half done.
        let mut held = VecDeque::new();
        if self.locks.busy() {
            let locks = &self.locks;
            self.ready_keys.retain(|(db, key)| {
                let h = crate::tx::key_hash(*db, key);
                if locks.is_held(h) {
                    held.push_back((*db, key.clone()));
                    false
                } else {
                    true
                }
            });
        }
        self.serve_ready_keys_unlocked();
        self.ready_keys.append(&mut held);
        self.serving_ready = false;
    }

    fn serve_ready_keys_unlocked(&mut self) {
        // Keys whose first waiter could not lock them for a move: tried again next time.
        let mut retry = VecDeque::new();
        while let Some((db, key)) = self.ready_keys.pop_front() {
            // Out of the set first: serving it may signal it again (a move onto itself).
            self.ready_set.remove(&(db, key.clone()));
            let fed = self.stream_fed.remove(&(db, key.clone()));
            let wake = if fed { Wake::Fed } else { Wake::Written };
            // Set when waiters are left that this pass did not look at: an entry added
            // must still count for them when the key is served again.
            let mut unseen = false;
            // Waiters that pop another type than the key now holds keep their places.
            let mut skipped = Vec::new();
            while let Some(w) = self.blocked[db].get_mut(&key).and_then(|q| q.pop_front()) {
                if !w.armed {
                    if w.claim.load(Acquire) {
                        continue; // its attempt found something: the place goes
                    }
                    // It arrived first and its attempt is still running: the key waits.
                    skipped.push(w);
                    unseen = true;
                    break;
                }
                match self.serve_one(&w, &key, wake) {
                    Serve::Done(out, rescue) => {
                        self.count_served(&w);
                        self.send_served(&w, out, rescue)
                    }
                    Serve::Forwarded => {}
                    Serve::Claimed => {} // claimed elsewhere: drop
                    Serve::Locked => {
                        skipped.push(w);
                        retry.push_back((db, key.clone()));
                        unseen = true;
                        break;
                    }
                    Serve::OtherType | Serve::NotForIt => skipped.push(w),
                    Serve::Empty => {
                        // The key ran dry before this waiter: it keeps its place.
                        skipped.push(w);
                        break;
                    }
                }
            }
            if fed && unseen {
                self.stream_fed.insert((db, key.clone()));
            }
            if !skipped.is_empty() {
                let q = self.blocked[db].entry(key.clone()).or_default();
                for w in skipped.into_iter().rev() {
                    q.push_front(w);
                }
            }
            if self.blocked[db].get(&key).is_some_and(|q| q.is_empty()) {
                self.blocked[db].remove(&key);
            }
        }
        for (db, key) in retry {
            self.mark_ready(db, key);
        }
    }

    /// Sends a served reply to the waiter's home (or completes it here).
    fn send_served(&mut self, w: &Waiter, out: Vec<u8>, rescue: Option<Rescue>) {
        let msg = Msg::Done {
            conn: w.conn,
            part: 0,
            out,
            rescue,
        };
        // Its connection may be the one being served right now (pushes are served after
        // each command): then the reply goes through the mailbox, next turn.
        let here = matches!(self.conns.get(w.conn.slot), Some(Some(c)) if c.id == w.conn.id);
        if w.home == self.id && here {
            self.handle(msg);
        } else {
            self.outbox[w.home].push(msg);
        }
    }

    /// Registers `w` for `keys` (this shard's keys of the call, in argument order) unless
    /// one of them can serve it now. Returns the reply when served at once.
    pub(crate) fn register_or_serve(
        &mut self,
        w: Waiter,
        keys: &[Box<[u8]>],
    ) -> Option<(Vec<u8>, Option<Rescue>)> {
        // A reserved place is only queued; its attempt decides elsewhere.
        for key in keys.iter().filter(|_| w.armed) {
            match self.serve_one(&w, key, Wake::Now) {
                Serve::Done(out, rescue) => return Some((out, rescue)),
                // The destination's shard replies; the client waits for it.
                Serve::Forwarded | Serve::Claimed => return None,
                Serve::Empty | Serve::OtherType | Serve::NotForIt => {}
                // Served once the lock goes (the key stays ready until then).
                Serve::Locked => self.mark_ready(w.db, key.clone()),
            }
        }
        if w.claim.load(Acquire) {
            return None;
        }
        for key in keys {
            let q = self.blocked[w.db].entry(key.clone()).or_default();
            // In arrival order: usually at the back, but a waiter whose registration took
            // longer (its keys span shards) goes before those that arrived after it.
            let at = q.iter().rposition(|x| x.seq < w.seq).map_or(0, |i| i + 1);
            q.insert(at, w.clone());
        }
        None
    }

    /// Drops the waiters of a finished block (served elsewhere, timed out, disconnected).
    pub(crate) fn unblock(&mut self, claim: &Arc<AtomicBool>, db: usize, keys: &[Box<[u8]>]) {
        for key in keys {
            if let Some(q) = self.blocked[db].get_mut(key) {
                let front = q.front().is_some_and(|w| Arc::ptr_eq(&w.claim, claim));
                q.retain(|w| !Arc::ptr_eq(&w.claim, claim));
                if q.is_empty() {
                    self.blocked[db].remove(key);
                } else if front {
                    // It may have held the others up (a reserved place): they go on.
                    self.mark_ready(db, key.clone());
                }
            }
        }
    }

    /// Tells every shard holding waiters of `b` to drop them.
    pub(crate) fn release(&mut self, b: &Blocked) {
        for (s, keys) in &b.parts {
            if *s == self.id {
                self.unblock(&b.claim, b.db, keys);
            } else {
                self.outbox[*s].push(Msg::Unblock {
                    claim: b.claim.clone(),
                    db: b.db,
                    keys: keys.clone(),
                });
            }
        }
    }

    /// Pushes back elements popped for a client that went away.
    pub(crate) fn requeue(&mut self, r: Rescue) {
        if r.shard != self.id {
            self.outbox[r.shard].push(Msg::Requeue(r));
            return;
        }
        match r.popped {
            // Restore them at the end they left from, in their original order.
            Popped::List { values, left } => {
                for v in values.iter().rev() {
                    self.push_list(r.db, &r.key, v, left);
                }
            }
            // Members come back with their scores unless re-added meanwhile.
            Popped::Zset(members) => {
                let now = self.now_ms;
                let limits = self.settings.zset_limits;
                if self.ks.peek(r.db, &r.key, now).is_none() {
                    self.ks
                        .set(r.db, &r.key, Value::Zset(Box::default()), Ttl::Clear, now);
                }
                if let Some(Value::Zset(z)) =
                    self.ks.lookup_mut(r.db, &r.key, now).map(|e| &mut e.value)
                {
                    for (s, m) in &members {
                        if z.score(m).is_none() {
                            z.insert(m, *s, limits);
                        }
                    }
                }
                for (s, m) in &members {
                    let score = crate::num::format_double(*s);
                    self.aof_effect(r.db, &[b"ZADD", &r.key, b"NX", score.as_bytes(), m], false);
                }
                self.signal_key(r.db, &r.key);
            }
        }
    }

    /// An owner shard had nothing for a blocking command inside EXEC: once all said so,
    /// it times out now.
    pub(crate) fn declined(&mut self, r: ConnRef) {
        let Some(Some(conn)) = self.conns.get_mut(r.slot) else {
            return;
        };
        if conn.id != r.id {
            return;
        }
        let Some(b) = conn.blocked_mut() else {
            return;
        };
        b.declines_left = b.declines_left.saturating_sub(1);
        if b.declines_left == 0 && b.deadline_ms == 0 {
            b.deadline_ms = self.now_ms.max(1);
            self.block_timers.insert((b.deadline_ms, r.slot, r.id));
        }
    }

    /// After SWAPDB: keys of `db` with waiters that now hold a list get served.
    pub(crate) fn rescan_blocked(&mut self, db: usize) {
        let now = self.now_ms;
        let keys: Vec<Box<[u8]>> = self.blocked[db].keys().cloned().collect();
        for k in keys {
            if matches!(
                self.ks.peek(db, &k, now).map(|e| &e.value),
                Some(Value::List(_) | Value::Zset(_) | Value::Stream(_))
            ) {
                self.mark_ready(db, k);
            }
        }
    }

    /// Fires timeouts of blocked clients on this shard.
    pub(crate) fn expire_blocks(&mut self) {
        let now = self.now_ms;
        while let Some(&(deadline, slot, id)) = self.block_timers.first() {
            if deadline > now {
                break;
            }
            self.block_timers.pop_first();
            let Some(Some(conn)) = self.conns.get_mut(slot) else {
                continue;
            };
            if conn.id != id || conn.blocked().is_none_or(|b| b.deadline_ms != deadline) {
                continue;
            }
            let b = conn.blocked().expect("checked");
            if !take(&b.claim) {
                continue; // an element is on its way
            }
            let g = conn.gather.take().expect("checked");
            let b = g.blocked.expect("checked");
            if b.null_bulk {
                Reply::new(&mut conn.out, conn.resp3).null();
            } else {
                Reply::new(&mut conn.out, conn.resp3).null_array();
            }
            if !conn.queued {
                conn.queued = true;
                self.ready.push(slot);
            }
            self.count_unblocked(&b);
            self.release(&b);
        }
    }

    /// CLIENT UNBLOCK on this shard: ends the block of client `id` if it lives here and
    /// no element is already on its way to it. Returns whether it did.
    pub(crate) fn unblock_client(&mut self, id: u64, as_error: bool) -> bool {
        let Some(slot) = self
            .conns
            .iter()
            .position(|c| c.as_ref().is_some_and(|c| c.id == id))
        else {
            return false;
        };
        let conn = self.conns[slot].as_mut().expect("found");
        let Some(b) = conn.blocked() else {
            return false;
        };
        if !take(&b.claim) {
            return false;
        }
        let g = conn.gather.take().expect("checked");
        let b = g.blocked.expect("checked");
        let mut r = Reply::new(&mut conn.out, conn.resp3);
        if as_error {
            r.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
        } else if b.null_bulk {
            r.null();
        } else {
            r.null_array();
        }
        if !conn.queued {
            conn.queued = true;
            self.ready.push(slot);
        }
        self.count_unblocked(&b);
        self.release(&b);
        true
    }

    /// The next block deadline, if any (bounds the poll timeout).
    pub(crate) fn next_block_deadline(&self) -> Option<u64> {
        self.block_timers.first().map(|t| t.0)
    }

    /// Starts a blocking pop for `conn`: serves it at once if any key has data, else
    /// registers waiters on the keys' owner shards and arms the timeout.
    pub(crate) fn block(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        req: BlockRequest,
        out: &mut Vec<u8>,
    ) {
        let BlockRequest {
            keys,
            timeout_ms,
            op,
            merge,
            seq,
        } = req;
        let null_bulk =
            conn.exec.running() && matches!(op, BlockOp::Move { .. } | BlockOp::PopValue { .. });
        if let Some(r) = conn.reserved.take() {
            // Its places are taken already: arm them (every key was empty under the locks).
            for (s, ks) in &r.parts {
                if *s == self.id {
                    self.arm(&r.claim, r.db, ks);
                } else {
                    self.outbox[*s].push(Msg::Arm {
                        claim: r.claim.clone(),
                        db: r.db,
                        keys: ks.clone(),
                    });
                }
            }
            let deadline_ms = match timeout_ms {
                0 => 0,
                t => self.now_ms.saturating_add(t),
            };
            self.wait_blocked(slot, conn, (r.claim, r.parts, deadline_ms), merge, false);
            return;
        }
        let claim = Arc::new(AtomicBool::new(false));
        let parts = by_shard(keys, self.shards);
        let waiter = Waiter {
            claim: claim.clone(),
            home: self.id,
            conn: ConnRef { slot, id: conn.id },
            resp3: conn.resp3,
            db: conn.db,
            op,
            nowait: conn.exec.running(),
            seq,
            armed: true,
        };
        // This shard's keys first: served at once here, the reply goes straight out.
        if let Some((_, local)) = parts.iter().find(|(s, _)| *s == self.id) {
            let local = local.clone();
            if let Some((reply, _)) = self.register_or_serve(waiter.clone(), &local) {
                match merge {
                    Merge::Forward => out.extend_from_slice(&reply),
                    // A step waiting in the block goes on from here.
                    merge => {
                        let g = Gather {
                            left: 0,
                            parts: vec![reply],
                            merge,
                            blocked: None,
                        };
                        self.finish_gather(slot, conn, g);
                    }
                }
                return;
            }
        }
        for (s, ks) in &parts {
            if *s != self.id {
                self.outbox[*s].push(Msg::Block {
                    waiter: waiter.clone(),
                    keys: ks.clone(),
                });
            }
        }
        // Inside EXEC a blocking command does not block: it times out at once, or once
        // every other owner shard said it has nothing.
        let remote = parts.iter().filter(|(s, _)| *s != self.id).count();
        let deadline_ms = if conn.exec.running() && remote > 0 {
            0
        } else if conn.exec.running() {
            self.now_ms.max(1)
        } else if timeout_ms == 0 {
            0
        } else {
            // A huge timeout (up to i64::MAX ms) waits forever rather than wrapping.
            self.now_ms.saturating_add(timeout_ms)
        };
        self.wait_blocked(slot, conn, (claim, parts, deadline_ms), merge, null_bulk);
        if conn.exec.running() {
            if let Some(b) = conn.blocked_mut() {
                b.declines_left = remote;
            }
        }
    }

    /// The connection waits in a block (`claim`, the keys per shard, the deadline).
    fn wait_blocked(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        (claim, parts, deadline_ms): (Arc<AtomicBool>, KeysByShard, u64),
        merge: Merge,
        null_bulk: bool,
    ) {
        if deadline_ms > 0 {
            self.block_timers.insert((deadline_ms, slot, conn.id));
        }
        let blocked = Blocked {
            claim,
            deadline_ms,
            parts,
            db: conn.db,
            declines_left: 0,
            null_bulk,
            counted: !conn.exec.running(),
        };
        conn.gather = Some(Gather {
            left: 1,
            parts: vec![Vec::new()],
            merge,
            blocked: Some(Box::new(blocked)),
        });
        if !conn.exec.running() {
            // Published after this turn's batches went out (`publish_blocked`): a client
            // that INFO counts as blocked has its waiters in the owners' mailboxes, so a
            // blocking command sent after seeing it queues behind it.
            self.blocked_unpublished += 1;
        }
    }

    /// Adds this turn's new blocks to INFO `blocked_clients` (called once the turn's
    /// batches were sent). A serve elsewhere may subtract first for a moment; INFO shows
    /// such a transient negative count as 0.
    pub(crate) fn publish_blocked(&mut self) {
        if self.blocked_unpublished > 0 {
            let n = std::mem::take(&mut self.blocked_unpublished);
            self.shared.blocked_clients.fetch_add(n, Relaxed);
        }
    }

    /// A waiter of a blocked client won its claim on this shard: the client no longer
    /// counts as blocked, even before its reply reaches its home shard.
    pub(crate) fn count_served(&self, w: &Waiter) {
        if !w.nowait {
            self.shared.blocked_clients.fetch_sub(1, Relaxed);
        }
    }

    /// The home shard won the claim of block `b` (timeout, CLIENT UNBLOCK, close).
    pub(crate) fn count_unblocked(&self, b: &Blocked) {
        if b.counted {
            self.shared.blocked_clients.fetch_sub(1, Relaxed);
        }
    }

    /// Takes the places of a blocking pop over several shards in its keys' queues, before
    /// its attempt (`Reserved`).
    pub(crate) fn reserve(&mut self, slot: usize, conn: &mut Conn, req: &BlockRequest) {
        let claim = Arc::new(AtomicBool::new(false));
        let parts = by_shard(req.keys.clone(), self.shards);
        let waiter = Waiter {
            claim: claim.clone(),
            home: self.id,
            conn: ConnRef { slot, id: conn.id },
            resp3: conn.resp3,
            db: conn.db,
            op: req.op.clone(),
            nowait: false,
            seq: req.seq,
            armed: false,
        };
        for (s, ks) in &parts {
            if *s == self.id {
                self.register_or_serve(waiter.clone(), ks);
            } else {
                self.outbox[*s].push(Msg::Block {
                    waiter: waiter.clone(),
                    keys: ks.clone(),
                });
            }
        }
        conn.reserved = Some(Reserved {
            claim,
            db: conn.db,
            parts,
        });
    }

    /// Gives up the connection's reserved places (its attempt replied, or it closed).
    pub(crate) fn drop_reservation(&mut self, conn: &mut Conn) {
        let Some(r) = conn.reserved.take() else {
            return;
        };
        take(&r.claim);
        for (s, keys) in &r.parts {
            if *s == self.id {
                self.unblock(&r.claim, r.db, keys);
            } else {
                self.outbox[*s].push(Msg::Unblock {
                    claim: r.claim.clone(),
                    db: r.db,
                    keys: keys.clone(),
                });
            }
        }
    }

    /// Arms the reserved waiters of `claim` on `keys`: they may be served from now on.
    pub(crate) fn arm(&mut self, claim: &Arc<AtomicBool>, db: usize, keys: &[Box<[u8]>]) {
        for key in keys {
            if let Some(q) = self.blocked[db].get_mut(key) {
                for w in q.iter_mut().filter(|w| Arc::ptr_eq(&w.claim, claim)) {
                    w.armed = true;
                }
                self.mark_ready(db, key.clone());
            }
        }
    }
}

/// Replies held until the blocking moves that a command set off on other shards are done:
/// a command that pushed an element a cross-shard BLMOVE waiter took answers only once the
/// element is in the destination (and the destination's waiters were served, and so on
/// down the chain). Each forwarded move counts in the hold of the command that caused it,
/// and the destination's shard acknowledges it (`Msg::ChainAck`) once its own hold for
/// the push is empty: acknowledgements flow back up the chain as in Dijkstra-Scholten
/// termination detection.
#[derive(Debug, Default)]
pub struct ChainHold {
    /// Forwarded moves not yet acknowledged.
    pending: u32,
    /// The reply to send (destination shard, message) once none is pending.
    reply: Option<(usize, Msg)>,
    /// The rest of the hop whose reply that is, to run first (its replies follow).
    rest: Option<Msg>,
    /// The hold on another shard (shard, id) to acknowledge once none is pending.
    parent: Option<(usize, u64)>,
}

impl Shard {
    /// Opens a hold for the command about to run: moves it forwards join it. Returns its
    /// id and the hold that was current, for `close_hold`.
    pub(crate) fn open_hold(&mut self) -> (u64, Option<u64>) {
        // The hold itself is made only when a move or a parent needs it (most commands
        // set off nothing).
        self.next_hold_id += 1;
        let id = self.next_hold_id;
        (id, self.hold_ctx.replace(id))
    }

    /// Ends the command's hold context. Returns true when moves are still pending: the
    /// caller then hands its reply to `hold_reply`. Otherwise the hold is done (and its
    /// parent acknowledged).
    pub(crate) fn close_hold(&mut self, (id, prev): (u64, Option<u64>)) -> bool {
        self.hold_ctx = prev;
        if self.holds.is_empty() {
            // The common case: the command set off no move and no one waits on it.
            return false;
        }
        if self.holds.get(&id).is_some_and(|h| h.pending > 0) {
            return true;
        }
        self.fire_hold(id);
        false
    }

    /// Keeps `msg` (for shard `dest`) until the hold's moves are done, and the hop `rest`
    /// that is to run after them.
    pub(crate) fn hold_reply(&mut self, id: u64, dest: usize, msg: Msg, rest: Option<Msg>) {
        match self.holds.get_mut(&id) {
            Some(h) => {
                h.reply = Some((dest, msg));
                h.rest = rest;
            }
            None => self.outbox[dest].push(msg),
        }
    }

    /// True when the command running now set off moves not yet done.
    pub(crate) fn hold_pending(&self) -> bool {
        self.hold_ctx
            .and_then(|h| self.holds.get(&h))
            .is_some_and(|h| h.pending > 0)
    }

    /// A forwarded move of hold `id` is done.
    pub(crate) fn chain_ack(&mut self, id: u64) {
        let Some(h) = self.holds.get_mut(&id) else {
            return;
        };
        h.pending = h.pending.saturating_sub(1);
        if h.pending == 0 && self.hold_ctx != Some(id) {
            self.fire_hold(id);
        }
    }

    /// Releases a finished hold's reply and acknowledges its parent.
    fn fire_hold(&mut self, id: u64) {
        let Some(h) = self.holds.remove(&id) else {
            return;
        };
        match (h.reply, h.rest) {
            // The hop goes on after the replies so far.
            (Some((_, Msg::Done { out, .. })), Some(mut rest)) => {
                if let Msg::Run { prefix, .. } = &mut rest {
                    *prefix = out;
                }
                // Through the lock check: a transaction may have locked its keys since.
                self.handle_msg(rest);
            }
            // Through the mailbox even when it is for this shard: the connection it
            // completes may be the one being served right now.
            (Some((dest, msg)), _) => self.outbox[dest].push(msg),
            (None, _) => {}
        }
        if let Some((shard, parent)) = h.parent {
            self.outbox[shard].push(Msg::ChainAck { id: parent });
        }
    }
}

impl Shard {
    /// A command of `conn` run here set off cross-shard moves (hold `id`): its reply,
    /// written from `reply_at` on, waits for them, and so does the connection.
    pub(crate) fn hold_local_reply(&mut self, slot: usize, conn: &mut Conn, id: u64, at: usize) {
        if conn.gather.is_some() || conn.tx().is_some() || conn.out.len() < at {
            // It waits on something else already, or holds locks (which must not wait for
            // a move that may wait for a lock): the moves finish on their own.
            self.hold_reply_none(id);
            return;
        }
        let out = conn.out.split_off(at);
        conn.gather = Some(Gather {
            left: 1,
            parts: vec![Vec::new()],
            merge: Merge::Forward,
            blocked: None,
        });
        let done = Msg::Done {
            conn: ConnRef { slot, id: conn.id },
            part: 0,
            out,
            rescue: None,
        };
        self.hold_reply(id, self.id, done, None);
    }

    /// Hold `id` has no reply to keep.
    fn hold_reply_none(&mut self, id: u64) {
        if let Some(h) = self.holds.get_mut(&id) {
            h.reply = None;
        }
    }
}

/// A blocked cross-shard move in flight: its element was popped from `src` (which stays
/// locked by `tx` on its shard) and goes to the destination's shard.
#[derive(Debug)]
pub struct Flight {
    /// The transaction id that locks `src` (and `dst` while it is pushed).
    tx: crate::tx::TxId,
    src_shard: usize,
    db: usize,
    src: Box<[u8]>,
    from_left: bool,
    dst: Box<[u8]>,
    to_left: bool,
    value: Vec<u8>,
    /// The client: its home shard, connection and protocol.
    home: usize,
    conn: ConnRef,
    resp3: bool,
    /// The chain hold on the source's shard that waits for this move.
    token: Option<u64>,
}

impl Shard {
    /// `Msg::MovePush` on the destination's shard: push unless a transaction holds the
    /// destination; then wait for it (in shard order) or refuse (out of order, so no
    /// wait can close into a cycle).
    pub(crate) fn on_move_push(&mut self, flight: Box<Flight>, wait: bool) {
        let set = crate::tx::LockSet::of(vec![crate::tx::key_hash(flight.db, &flight.dst)]);
        if self.locks.busy() && self.locks.conflicts(flight.tx, &set) {
            if wait {
                let tx = flight.tx;
                let waiter = crate::tx::Waiter::Run {
                    msg: Box::new(Msg::MovePush { flight, wait }),
                    release: true,
                };
                if let Some(crate::tx::Waiter::Run { msg, .. }) =
                    self.locks.lock_or_queue(tx, set, waiter)
                {
                    // Granted after all: push now (it lets the lock go itself).
                    self.handle_unlocked(*msg);
                }
            } else {
                let src_shard = flight.src_shard;
                self.outbox[src_shard].push(Msg::MoveLanded {
                    flight,
                    outcome: Landed::Refused,
                });
            }
            return;
        }
        self.move_push(flight);
    }

    /// Pushes a flight's element (WRONGTYPE sends it back instead), replies to its
    /// client, lets the source go, and serves the destination's own waiters.
    pub(crate) fn move_push(&mut self, flight: Box<Flight>) {
        let (db, now) = (flight.db, self.now_ms);
        let dst_ok = matches!(
            self.ks.peek(db, &flight.dst, now).map(|e| &e.value),
            None | Some(Value::List(_))
        );
        let mut out = Vec::new();
        let mut r = Reply::new(&mut out, flight.resp3);
        if dst_ok {
            r.bulk(&flight.value);
        } else {
            r.error(&CmdError::WrongType.text());
        }
        if dst_ok {
            let outer = std::mem::replace(&mut self.running_tx, flight.tx);
            self.push_list(db, &flight.dst, &flight.value, flight.to_left);
            self.running_tx = outer;
        }
        self.aof_commit(flight.tx);
        self.outbox[flight.home].push(Msg::Done {
            conn: flight.conn,
            part: 0,
            out,
            rescue: None,
        });
        let hold = self.open_hold();
        if let Some(t) = flight.token {
            self.holds.entry(hold.0).or_default().parent = Some((flight.src_shard, t));
        }
        let (src_shard, tx) = (flight.src_shard, flight.tx);
        let outcome = if dst_ok {
            Landed::Pushed
        } else {
            Landed::WrongType
        };
        // First the source goes free (a chain may come back to it), then the
        // destination's lock (if it waited for one), then its waiters are served, as part
        // of the command that set the move off.
        self.outbox[src_shard].push(Msg::MoveLanded { flight, outcome });
        self.release_local(tx);
        self.serve_ready_keys();
        self.close_hold(hold);
    }

    /// `Msg::MoveLanded` on the source's shard: restore the element if it was not pushed,
    /// let the source go (serving its waiters, as part of the command that set the move
    /// off), and after a refusal have the client retry under the locks of both keys.
    pub(crate) fn on_move_landed(&mut self, f: Flight, outcome: Landed) {
        let prev = std::mem::replace(&mut self.hold_ctx, f.token);
        if outcome != Landed::Pushed {
            // Part of the flight: a refused one has no commit, and its pop and this
            // push both stay out of a replay.
            let outer = std::mem::replace(&mut self.running_tx, f.tx);
            self.push_list(f.db, &f.src, &f.value, f.from_left);
            self.running_tx = outer;
        }
        self.release_local(f.tx);
        self.serve_ready_keys();
        self.hold_ctx = prev;
        if outcome == Landed::Refused {
            // Nothing was pushed: the client retries with both locks (`Woken::Refused`).
            self.outbox[f.home].push(Msg::Done {
                conn: f.conn,
                part: 0,
                out: Vec::new(),
                rescue: None,
            });
            if let Some(t) = f.token {
                self.chain_ack(t);
            }
        }
    }
}

/// How a flight ended on the destination's shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    /// The element is in the destination.
    Pushed,
    /// The destination holds another type: the client got WRONGTYPE, the element goes
    /// back.
    WrongType,
    /// A transaction held the destination and waiting was out of shard order.
    Refused,
}

/// Keys per owner shard: (shard, its keys).
type KeysByShard = Vec<(usize, Vec<Box<[u8]>>)>;

/// `keys` grouped by owner shard (in order of first appearance), each once.
fn by_shard(keys: Vec<Box<[u8]>>, shards: usize) -> KeysByShard {
    let mut parts: Vec<(usize, Vec<Box<[u8]>>)> = Vec::new();
    for k in keys {
        let s = route::shard_of(&k, shards);
        match parts.iter_mut().find(|(p, _)| *p == s) {
            Some((_, ks)) => {
                if !ks.contains(&k) {
                    ks.push(k)
                }
            }
            None => parts.push((s, vec![k])),
        }
    }
    parts
}

/// Runs of keys (database, key) of one shard each: (shard, keys), in serving order.
pub type HeldRuns = VecDeque<(usize, Vec<(usize, Box<[u8]>)>)>;

/// Serves an EXEC's runs of keys one after the other (each on its shard, the moves that
/// sets off included), then lets the EXEC's locks go. The EXEC has replied already.
async fn serve_runs(cx: crate::cmd::step::Cx, runs: HeldRuns) -> CmdResult<Vec<u8>> {
    for (shard, keys) in runs {
        cx.serve_held(shard, keys).await;
    }
    cx.release_locks().await;
    Ok(Vec::new())
}

/// Keys with waiters a transaction's commands signalled: (index of the command, database,
/// key).
pub type Signals = Vec<(u32, usize, Box<[u8]>)>;

/// A chained EXEC over several shards serves the keys it pushed to in the order its
/// commands signalled them, as Redis serves its ready keys after EXEC: one run of
/// same-shard keys at a time, while the EXEC still holds every lock (so nobody else sees
/// a key before its turn), then the locks go.
impl Shard {
    /// Starts serving the keys the connection's finished chained EXEC signalled, when
    /// they live on several shards. Returns false when there is nothing to order (the
    /// locks then go as usual).
    pub(crate) fn serve_exec_signals(&mut self, conn: &mut Conn) -> bool {
        let Some((order, part_shards)) = conn.exec_order.take() else {
            return false;
        };
        let signals = std::mem::take(&mut conn.exec_signals);
        if signals.is_empty() {
            return false;
        }
        // The k-th command of part p is command nth[p][k] of the transaction.
        let mut nth: Vec<Vec<usize>> = vec![Vec::new(); part_shards.len()];
        for (j, &p) in order.iter().enumerate() {
            if let Some(v) = nth.get_mut(p as usize) {
                v.push(j);
            }
        }
        let mut seq: Vec<(usize, usize, usize, Box<[u8]>)> = signals
            .into_iter()
            .filter_map(|(p, i, db, key)| {
                let at = *nth.get(p as usize)?.get(i as usize)?;
                Some((at, *part_shards.get(p as usize)?, db, key))
            })
            .collect();
        seq.sort_by_key(|x| x.0);
        let mut seen = std::collections::HashSet::new();
        seq.retain(|(_, _, db, key)| seen.insert((*db, key.clone())));
        let first = seq.first().map(|x| x.1);
        if seq.iter().all(|x| Some(x.1) == first) {
            return false;
        }
        let mut runs: HeldRuns = VecDeque::new();
        for (_, shard, db, key) in seq {
            match runs.back_mut() {
                Some((s, keys)) if *s == shard => keys.push((db, key)),
                _ => runs.push_back((shard, vec![(db, key)])),
            }
        }
        let slot = conn.slot;
        self.serve_held_runs(slot, conn, runs);
        true
    }

    /// Serves an EXEC's runs of keys in order (this shard's at once, another's by a hop
    /// the connection waits for); after the last, the EXEC's locks go.
    pub(crate) fn serve_held_runs(&mut self, slot: usize, conn: &mut Conn, runs: HeldRuns) {
        self.start_step(slot, conn, |cx| serve_runs(cx, runs));
    }

    /// `Msg::ServeHeld`: serves `keys` here for the EXEC that holds them, then answers.
    pub(crate) fn serve_held(&mut self, from: usize, conn: ConnRef, keys: Vec<(usize, Box<[u8]>)>) {
        let hold = self.open_hold();
        self.serve_held_here(keys);
        let done = Msg::Done {
            conn,
            part: 0,
            out: Vec::new(),
            rescue: None,
        };
        if self.close_hold(hold) {
            self.hold_reply(hold.0, from, done, None);
        } else {
            self.outbox[from].push(done);
        }
    }

    /// Serves `keys` (and what serving them signals) now, though the EXEC holds them.
    pub(crate) fn serve_held_here(&mut self, keys: Vec<(usize, Box<[u8]>)>) {
        let mut saved = std::mem::take(&mut self.ready_keys);
        saved.retain(|k| !keys.contains(k));
        for k in &keys {
            self.ready_set.remove(k);
        }
        self.ready_keys = keys.into();
        let was = std::mem::replace(&mut self.serving_ready, true);
        self.serve_ready_keys_unlocked();
        self.serving_ready = was;
        saved.append(&mut self.ready_keys);
        self.ready_keys = saved;
    }
}
