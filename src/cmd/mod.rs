//! Commands: the command table's types and lookup (its data is the registry,
//! `cmd::registry`), the handler context, argument access, call checks, and how replies
//! gathered from several shards are merged.
//!
//! Each family lives in its own file. A handler is a plain function that runs on the shard
//! that owns the command's keys (or on the home shard for connection commands) and writes
//! its reply; it never touches a socket.

pub mod blocking;
pub mod docs;
pub mod getkeys;
pub mod hashes;
pub mod info;
pub mod keys;
pub mod lists;
pub mod paced;
pub mod pubsub;
pub mod registry;
pub mod server;
pub mod sets;
pub mod step;
pub mod stream_groups;
pub mod stream_info;
pub mod stream_pending;
pub mod streams;
pub mod strings;
pub mod zsets;

use std::sync::OnceLock;

use ahash::AHashMap;

use crate::conn::{Conn, Gather, Merge};
use crate::error::{CmdError, CmdResult};
use crate::resp::write::{aggregate_header, read_int, value_len};
use crate::resp::{ArgRange, Reply};
use crate::shard::{Settings, Shard};
use crate::store::{Collection, Ttl};

/// A command's arguments (argument 0 is its name), borrowed from a read buffer or a hop.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    buf: &'a [u8],
    ranges: &'a [ArgRange],
}

impl<'a> Args<'a> {
    /// Arguments at `ranges` of `buf`.
    pub fn new(buf: &'a [u8], ranges: &'a [ArgRange]) -> Self {
        Self { buf, ranges }
    }

    /// Number of arguments, the name included.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True for an empty frame.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Argument `i`; past the end, an empty argument.
    ///
    /// Handlers read an argument by index in three cases only, none of which can pass the
    /// end: a fixed position the command's arity guarantees (`args.get(1)` of `GET key`,
    /// or one guarded by a check of `len()` just before); an index or range a parser took
    /// from an [`ArgCursor`] (`position`, `next_run`: the keys after a `numkeys`, which it
    /// checked against what is left); and the key positions of the table's key specs
    /// (`Spec::key_positions`, `getkeys`), which stop at the end. Option loops and lists
    /// of any length walk a [`cursor`](Self::cursor) instead, which turns a missing
    /// argument into Redis's error. Reading past the end anyway is a logic error, which
    /// debug builds catch; a release build must not let it panic every shard, hence the
    /// empty argument.
    pub fn get(&self, i: usize) -> &'a [u8] {
        debug_assert!(i < self.len(), "argument {i} of {}", self.len());
        self.ranges
            .get(i)
            .and_then(|&(s, e)| self.buf.get(s as usize..e as usize))
            .unwrap_or_default()
    }

    /// The arguments from index `at` on, as a command line of their own (COMMAND GETKEYS
    /// reads the command line it was given).
    pub fn tail(&self, at: usize) -> Args<'a> {
        Args {
            buf: self.buf,
            ranges: self.ranges.get(at..).unwrap_or_default(),
        }
    }

    /// A cursor over the arguments from index `at` on (for option walking).
    pub fn cursor(&self, at: usize) -> ArgCursor<'a> {
        ArgCursor { args: *self, at }
    }

    /// All arguments in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Argument `i` parsed as a strict integer (`ERR value is not an integer...`).
    pub fn int(&self, i: usize) -> CmdResult<i64> {
        crate::num::parse_i64(self.get(i)).ok_or(CmdError::NotInteger)
    }

    /// Argument `i` lower-cased (for option words; allocation-free compare is `is`).
    pub fn is(&self, i: usize, word: &str) -> bool {
        self.get(i).eq_ignore_ascii_case(word.as_bytes())
    }
}

/// Walks a command's arguments in order, turning a missing or malformed one into Redis's
/// error reply (`ERR syntax error`, `ERR value is not an integer or out of range` ...) so
/// option parsing reads as a sequence of `?`s and can never index past the end.
#[derive(Clone, Copy)]
pub struct ArgCursor<'a> {
    args: Args<'a>,
    at: usize,
}

impl<'a> ArgCursor<'a> {
    /// Index of the next argument.
    pub fn position(&self) -> usize {
        self.at
    }

    /// Arguments not yet taken.
    pub fn remaining(&self) -> usize {
        self.args.len().saturating_sub(self.at)
    }

    /// True once every argument was taken.
    pub fn is_done(&self) -> bool {
        self.remaining() == 0
    }

    /// The next argument without taking it.
    pub fn peek(&self) -> Option<&'a [u8]> {
        (self.at < self.args.len()).then(|| self.args.get(self.at))
    }

    /// Takes the next argument; a missing one is a syntax error (an option without its
    /// value, as Redis reports it).
    pub fn next_arg(&mut self) -> CmdResult<&'a [u8]> {
        let a = self.peek().ok_or(CmdError::Syntax)?;
        self.at += 1;
        Ok(a)
    }

    /// Takes the next argument if it is `word` (case-insensitively).
    pub fn next_is(&mut self, word: &str) -> bool {
        let hit = self
            .peek()
            .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()));
        self.at += usize::from(hit);
        hit
    }

    /// Takes the next argument as a strict integer.
    pub fn next_i64(&mut self) -> CmdResult<i64> {
        crate::num::parse_i64(self.next_arg()?).ok_or(CmdError::NotInteger)
    }

    /// Takes the next argument as an integer in `min..=max`, with Redis's range error
    /// (its text says "value must between", as Redis 7.0 prints it).
    pub fn next_i64_in(&mut self, min: i64, max: i64) -> CmdResult<i64> {
        let n = self.next_i64()?;
        if !(min..=max).contains(&n) {
            return Err(CmdError::owned(format!(
                "ERR value is out of range, value must between {min} and {max}"
            )));
        }
        Ok(n)
    }

    /// Takes the next argument as a float, read as Redis's `strtold` does
    /// (`ERR value is not a valid float`).
    pub fn next_f64(&mut self) -> CmdResult<f64> {
        crate::num::parse_float(self.next_arg()?).ok_or(CmdError::NotFloat)
    }

    /// Takes the next argument as a key (a missing one is a syntax error; the table's
    /// arity usually rules that out).
    pub fn next_key(&mut self) -> CmdResult<&'a [u8]> {
        self.next_arg()
    }

    /// Takes the next argument as an integer of `0..=max` (`max` at most `i64::MAX`),
    /// or fails with `err` (Redis words the range error per command).
    pub fn next_usize_or(&mut self, max: usize, err: CmdError) -> CmdResult<usize> {
        let n = crate::num::parse_i64(self.next_arg()?).ok_or(err.clone())?;
        usize::try_from(n).ok().filter(|&n| n <= max).ok_or(err)
    }

    /// Takes the next two arguments (a field and its value, a key and its value), if
    /// two are left.
    pub fn next_pair(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        if self.remaining() < 2 {
            return None;
        }
        let pair = (self.args.get(self.at), self.args.get(self.at + 1));
        self.at += 2;
        Some(pair)
    }

    /// Takes the next `n` arguments (the keys after a `numkeys`) and returns their indexes;
    /// fewer than `n` left is a syntax error, as Redis reports a `numkeys` larger than the
    /// keys given, and nothing is taken then.
    pub fn next_run(&mut self, n: usize) -> CmdResult<std::ops::Range<usize>> {
        if self.remaining() < n {
            return Err(CmdError::Syntax);
        }
        let run = self.at..self.at + n;
        self.at += n;
        Ok(run)
    }

    /// True if the next argument is `word` (case-insensitively); takes nothing.
    pub fn peek_is(&self, word: &str) -> bool {
        self.peek()
            .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
    }
}

/// The arguments not yet taken, in order (`for key in args.cursor(1)`).
impl<'a> Iterator for ArgCursor<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let a = self.peek()?;
        self.at += 1;
        Some(a)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining(), Some(self.remaining()))
    }
}

/// Copies owned arguments into one buffer with ranges (inline commands with quotes).
pub fn flatten(owned: &[Vec<u8>]) -> (Vec<u8>, Vec<ArgRange>) {
    let mut buf = Vec::new();
    let mut ranges = Vec::with_capacity(owned.len());
    for a in owned {
        let s = buf.len() as u32;
        buf.extend_from_slice(a);
        ranges.push((s, buf.len() as u32));
    }
    (buf, ranges)
}

pub use context::{Ctx, Home};

/// AOF records a command builds as its effect (`Ctx::log_records`): each a command's
/// arguments, the name first.
pub type Records = Vec<Vec<Vec<u8>>>;

/// The context handlers run with, in a module of its own so that its shard stays private:
/// a handler reaches the shard only through the narrow methods here, never as `&mut Shard`.
mod context {
    use std::sync::Arc;

    use super::{paced, Route, Spec};
    use crate::conn::Conn;
    use crate::error::{CmdError, CmdResult};
    use crate::resp::Reply;
    use crate::shard::{Settings, Shard, Shared};
    use crate::store::pin::PinId;
    use crate::store::Keyspace;

    /// Why `Ctx::home` or `Home::conn` refused: a command asked for what its route does not
    /// give it. Our logic error, never the client's; a reply rather than a panic.
    const NOT_AT_HOME: CmdError =
        CmdError::msg("ERR internal error: the command ran where its connection is not");

    /// What a handler runs with. Every handler sees the owner side: the keyspace, the
    /// selected database, the turn's clock, the cached settings, the signal that wakes
    /// blocked clients, and the read-only state all shards share. Commands that run on
    /// their connection's home shard or on every shard (any route but `Route::Keys`) also
    /// reach the connection and the shard-level services through `home`.
    pub struct Ctx<'a> {
        /// The shard it runs on; private, so a handler cannot reach past the methods below.
        shard: &'a mut Shard,
        /// The calling connection, when the command runs on its home shard.
        conn: Option<&'a mut Conn>,
        /// Whether the route gives `home` (decided once, from the spec).
        home: bool,
        /// The selected database.
        pub db: usize,
        /// Where the reply goes.
        pub out: Reply<'a>,
        /// Whether the reply may be paced, and whether it was (`cmd::paced`).
        pub pace: paced::Pace,
    }

    impl<'a> Ctx<'a> {
        /// The context for running `spec` on `shard` (with `conn` on its home shard).
        pub fn new(
            shard: &'a mut Shard,
            spec: &Spec,
            conn: Option<&'a mut Conn>,
            db: usize,
            out: Reply<'a>,
            pace: paced::Pace,
        ) -> Self {
            Ctx {
                shard,
                conn,
                home: !matches!(spec.route, Route::Keys(_)),
                db,
                out,
                pace,
            }
        }

        /// The context of an op another shard's coordinator sent (`cmd::step`): no
        /// connection, no home services, and a reply that goes nowhere.
        pub fn for_op(shard: &'a mut Shard, db: usize, out: Reply<'a>) -> Self {
            Ctx {
                shard,
                conn: None,
                home: false,
                db,
                out,
                pace: paced::Pace::Off,
            }
        }

        /// This shard's keyspace.
        #[inline]
        pub fn ks(&mut self) -> &mut Keyspace {
            &mut self.shard.ks
        }

        /// The keyspace and the reply at once, for a reply written straight from stored
        /// values (no copies).
        #[inline]
        pub fn ks_out(&mut self) -> (&mut Keyspace, &mut Reply<'a>) {
            (&mut self.shard.ks, &mut self.out)
        }

        /// The shard's clock, read once per turn.
        #[inline]
        pub fn now_ms(&self) -> u64 {
            self.shard.now_ms
        }

        /// This shard's index.
        #[inline]
        pub fn shard_id(&self) -> usize {
            self.shard.id
        }

        /// The settings this shard caches from the configuration.
        #[inline]
        pub fn settings(&self) -> &Settings {
            &self.shard.settings
        }

        /// What every shard can read (configuration, registries, counters).
        #[inline]
        pub fn shared(&self) -> &Arc<Shared> {
            &self.shard.shared
        }

        /// Counts a call of `spec` that started at `start` in INFO commandstats, as this
        /// shard counts the commands it runs: for an op that is a step of its command (SCAN).
        pub fn count_call(&self, spec: &'static Spec, start: std::time::Instant) {
            self.shard.count_call(spec, start);
        }

        /// True when this shard logs its writes to the AOF: a handler whose replay
        /// would differ from its run builds its effect (`log_effect`) only then.
        #[inline]
        pub fn aof_on(&self) -> bool {
            self.shard.aof_on()
        }

        /// Logs `args` in the AOF, in this context's database, as the running command's
        /// effect, instead of the command as sent; `&[]` logs nothing for it. A handler
        /// may log several effects. No-op while the AOF is off.
        #[inline]
        pub fn log_effect(&mut self, args: &[&[u8]]) {
            if self.shard.aof_on() {
                self.shard.aof_effect(self.db, args, true);
            }
        }

        /// Logs owned records (`log_effect` for each; nothing at all for none).
        pub fn log_records(&mut self, records: &[Vec<Vec<u8>>]) {
            self.shard.aof_records(self.db, records, true);
        }

        /// Starts this shard's part of a BGSAVE (`shard::snapshot`).
        pub fn bgsave_start(&mut self) -> CmdResult {
            self.shard.bgsave_start().map_err(CmdError::owned)
        }

        /// True while a log is replayed: a time in the past is not yet "expired" (a
        /// later logged command may still use the key, as it did when first run).
        #[inline]
        pub fn replaying(&self) -> bool {
            self.shard.replaying
        }

        /// Notes that `key` of database `db` may have data for blocked clients; they are
        /// served after this command.
        #[inline]
        pub fn signal_key(&mut self, db: usize, key: &[u8]) {
            self.shard.signal_key(db, key);
        }

        /// Starts a paced reply (`cmd::paced`) that walks pinned value `pin`.
        pub(super) fn start_paced(&mut self, walk: paced::Paced, pin: PinId) -> u64 {
            self.shard.paced_start(walk, pin, self.out.resp3)
        }

        /// The calling connection (`home()?.conn()`): only on its home shard, for a
        /// command not routed by its keys.
        pub fn conn(&mut self) -> CmdResult<&mut Conn> {
            if !self.home {
                return Err(NOT_AT_HOME);
            }
            self.conn.as_deref_mut().ok_or(NOT_AT_HOME)
        }

        /// The connection and the shard-level services, for a command on its home shard
        /// or on every shard; an internal error for an op routed by its keys.
        pub fn home(&mut self) -> CmdResult<Home<'_, 'a>> {
            if !self.home {
                return Err(NOT_AT_HOME);
            }
            Ok(Home {
                shard: &mut *self.shard,
                conn: self.conn.as_deref_mut(),
                out: &mut self.out,
            })
        }
    }

    /// What a command on its home shard, or on every shard, reaches beyond the owner
    /// side: its connection (on the home shard) and the services of the shard.
    pub struct Home<'c, 'a> {
        shard: &'c mut Shard,
        /// The calling connection; `None` on the other shards of a command that runs on
        /// every shard.
        pub conn: Option<&'c mut Conn>,
        /// Where the reply goes.
        pub out: &'c mut Reply<'a>,
    }

    impl Home<'_, '_> {
        /// The calling connection; an internal error away from its home shard.
        pub fn conn(&mut self) -> CmdResult<&mut Conn> {
            self.conn.as_deref_mut().ok_or(NOT_AT_HOME)
        }

        /// Number of shards.
        pub fn shards(&self) -> usize {
            self.shard.shards
        }

        /// The connections of this shard other than the caller.
        pub fn conns(&self) -> impl Iterator<Item = &Conn> {
            self.shard.conns.iter().flatten().map(|c| &**c)
        }

        /// Subscribes the caller to `name`.
        pub fn subscribe(&mut self, kind: crate::pubsub::Kind, name: &[u8]) -> CmdResult {
            let conn = self.conn.as_deref_mut().ok_or(NOT_AT_HOME)?;
            self.shard.subscribe(conn, kind, name);
            Ok(())
        }

        /// Unsubscribes the caller from `name`.
        pub fn unsubscribe(&mut self, kind: crate::pubsub::Kind, name: &[u8]) -> CmdResult {
            let conn = self.conn.as_deref_mut().ok_or(NOT_AT_HOME)?;
            self.shard.unsubscribe(conn, kind, name);
            Ok(())
        }

        /// Drops every subscription and every WATCH of the caller (RESET).
        pub fn unsubscribe_and_unwatch_all(&mut self) -> CmdResult {
            let conn = self.conn.as_deref_mut().ok_or(NOT_AT_HOME)?;
            self.shard.unsubscribe_all(conn);
            conn.multi = None;
            self.shard.unwatch_all(conn);
            Ok(())
        }

        /// Publishes `payload` on `channel` (`Shard::publish`); returns the receivers.
        pub fn publish(
            &mut self,
            kind: crate::pubsub::Kind,
            channel: &[u8],
            payload: &[u8],
        ) -> i64 {
            self.shard
                .publish(kind, channel, payload, self.conn.as_deref_mut(), self.out)
        }

        /// Closes this shard's connections (not the caller) that `pred` picks; returns
        /// how many.
        pub fn kill_where(&mut self, pred: impl FnMut(&Conn) -> bool) -> usize {
            self.shard.kill_where(pred)
        }

        /// Unblocks client `id` if it is blocked here (CLIENT UNBLOCK).
        pub fn unblock_client(&mut self, id: u64, as_error: bool) -> bool {
            self.shard.unblock_client(id, as_error)
        }

        /// Looks again at every blocked key of database `db` (after SWAPDB).
        pub fn rescan_blocked(&mut self, db: usize) {
            self.shard.rescan_blocked(db);
        }

        /// Zeroes this shard's counters (CONFIG RESETSTAT).
        pub fn reset_stats(&mut self) {
            self.shard.reset_stats();
        }

        /// Reloads this shard's cached settings from the configuration (CONFIG SET).
        pub fn reload_settings(&mut self) {
            self.shard.settings = Settings::load(&self.shard.shared);
        }
    }
}

/// The collection of type `T` at `key` (a read: counts a keyspace hit or miss), or `None`
/// if missing; WRONGTYPE for another type.
pub fn read_collection<'k, T: Collection>(
    ctx: &'k mut Ctx,
    key: &[u8],
) -> CmdResult<Option<&'k T>> {
    let db = ctx.db;
    let now = ctx.now_ms();
    match ctx.ks().lookup(db, key, now) {
        None => Ok(None),
        Some(e) => T::of(&e.value).map(Some).ok_or(CmdError::WrongType),
    }
}

/// The collection of type `T` at `key` for modification, created empty if missing;
/// WRONGTYPE for another type. The caller deletes it again if it ends empty
/// (`drop_if_empty`).
pub fn write_collection<'k, T: Collection>(ctx: &'k mut Ctx, key: &[u8]) -> CmdResult<&'k mut T> {
    let db = ctx.db;
    let now = ensure_collection::<T>(ctx, key)?;
    let e = ctx.ks().lookup_mut(db, key, now).expect("present");
    Ok(T::of_mut(&mut e.value).expect("checked above"))
}

/// As `write_collection`, but an existing key's watchers are not marked: for a command
/// that may change nothing (Redis signals SADD, SREM, SMOVE's destination only when a
/// member was added or removed), which calls `ctx.ks().touch` once it did. A key
/// created here counts as changed at once.
pub fn write_collection_unmarked<'k, T: Collection>(
    ctx: &'k mut Ctx,
    key: &[u8],
) -> CmdResult<&'k mut T> {
    let db = ctx.db;
    let now = ensure_collection::<T>(ctx, key)?;
    let e = ctx.ks().lookup_mut_unmarked(db, key, now).expect("present");
    Ok(T::of_mut(&mut e.value).expect("checked above"))
}

/// Creates an empty collection of type `T` at `key` if it is missing (WRONGTYPE if
/// another type is there); returns the time it looked at.
fn ensure_collection<T: Collection>(ctx: &mut Ctx, key: &[u8]) -> CmdResult<u64> {
    let now = ctx.now_ms();
    let db = ctx.db;
    match ctx.ks().peek(db, key, now) {
        None => ctx
            .ks()
            .set(db, key, T::default().into_value(), Ttl::Clear, now),
        Some(e) if T::of(&e.value).is_none() => return Err(CmdError::WrongType),
        Some(_) => {}
    }
    Ok(now)
}

/// The `[count [WITH...]]` of HRANDFIELD / ZRANDMEMBER (`with`: "withvalues" /
/// "withscores") or SRANDMEMBER (`with`: `None`), checked as Redis does before it looks at
/// the key: SRANDMEMBER refuses extra arguments first; the count is an integer of
/// -(2^63 - 1) ..= 2^63 - 1 (so negating it cannot overflow); with the paired option it
/// must stay within half that, because the reply holds two entries per pick. Returns the
/// count (`None` without one) and whether the option was given.
pub fn random_count(args: &Args, with: Option<&str>) -> CmdResult<(Option<i64>, bool)> {
    if with.is_none() && args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let mut a = args.cursor(2);
    if a.is_done() {
        return Ok((None, false));
    }
    let n = a.next_i64_in(-i64::MAX, i64::MAX)?;
    let paired = with.is_some_and(|w| a.next_is(w));
    if !a.is_done() {
        return Err(CmdError::Syntax);
    }
    if paired && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    Ok((Some(n), paired))
}

/// HDEL / SREM / ZREM `key name [name ...]`: removes the named entries of the collection
/// of type `T` at `key` (deleting it once empty) and replies how many went.
pub fn remove_named<T: crate::store::Named>(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.db;
    if read_collection::<T>(ctx, args.get(1))?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let c = write_collection_unmarked::<T>(ctx, args.get(1))?;
    let removed = args.cursor(2).filter(|&name| c.remove_named(name)).count();
    if removed > 0 {
        ctx.ks().touch(db, args.get(1));
    }
    drop_if_empty::<T>(ctx, args.get(1));
    ctx.out.int(removed as i64);
    Ok(())
}

/// Deletes `key` if its collection of type `T` became empty (Redis keeps no empty ones).
pub fn drop_if_empty<T: Collection>(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db;
    let now = ctx.now_ms();
    let empty = ctx
        .ks()
        .peek(db, key, now)
        .and_then(|e| T::of(&e.value))
        .is_some_and(T::is_empty);
    if empty {
        ctx.ks().remove(db, key, now);
    }
}

/// The reply to a command whose keys must share a shard but do not (for the few commands
/// not yet able to run across shards).
pub const CROSS_SHARD: &str = "CROSSSLOT Keys in request don't hash to the same slot (cross-shard execution of this command arrives with multi-shard transactions)";

/// A command handler.
pub type Handler = fn(&mut Ctx, &Args) -> CmdResult;

/// A coordinator: decides on the home shard how a command is spread over shards.
pub type Coord = fn(&mut Shard, usize, &mut Conn, &Args, &mut Vec<u8>) -> CmdResult;

/// How a command whose keys span shards is split, and its parts merged.
#[derive(Debug, Clone, Copy)]
pub enum SplitMerge {
    /// Array replies interleaved back into key order (MGET).
    Interleave,
    /// Integer replies summed (DEL, EXISTS, UNLINK, TOUCH).
    Sum,
    /// `+OK` replies (MSET).
    AllOk,
}

/// How the parts of a command that runs on every shard are merged.
#[derive(Debug, Clone, Copy)]
pub enum AllMerge {
    /// Integers summed (DBSIZE).
    Sum,
    /// `+OK` (FLUSHDB, FLUSHALL).
    AllOk,
    /// Arrays concatenated (KEYS).
    Concat,
    /// The first error, else the home shard's reply (every shard answers alike: BGSAVE).
    Same,
    /// A random non-null bulk (RANDOMKEY).
    AnyNonNull,
    /// Bulk strings concatenated (CLIENT LIST).
    ConcatBulk,
}

/// Where a command runs.
#[derive(Clone, Copy)]
pub enum Route {
    /// On the home shard, with the connection; touches no keys.
    Home,
    /// Where its keys live. `Some` says how to split it when they span shards; `None`
    /// means it must be single-shard until multi-shard transactions exist.
    Keys(Option<SplitMerge>),
    /// On every shard, parts merged.
    All(AllMerge),
    /// A coordinator on the home shard decides (SCAN, MSETNX).
    Coord(Coord),
    /// MULTI / EXEC / DISCARD / WATCH / UNWATCH: connection state the shard handles itself
    /// (`shard::txn`).
    Txn(TxnCmd),
}

/// The transaction commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnCmd {
    /// MULTI
    Multi,
    /// EXEC
    Exec,
    /// DISCARD
    Discard,
    /// WATCH key [key ...]
    Watch,
    /// UNWATCH
    Unwatch,
}

/// What a command locks when it runs as a transaction (inside EXEC, or when its keys span
/// shards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockScope {
    /// Its keys (none for a command without keys).
    Keys,
    /// Whole shards: it reads or changes every key of a database (FLUSHALL, DBSIZE ...).
    Whole,
    /// Its keys while they live on one shard; spread over several it takes no locks, as it
    /// only reads each shard's part on its own (XREAD).
    PerShard,
    /// No keys, but the commands after it in an EXEC lock keys in the database it selects
    /// (SELECT).
    SelectsDb,
}

/// True for commands that read or change every key of a database (FLUSHALL, DBSIZE,
/// KEYS ...): as transactions they lock whole shards.
pub fn whole_keyspace(spec: &Spec) -> bool {
    spec.lock == LockScope::Whole
}

/// The handler of commands the shard runs itself (`Route::Txn`, blocking pops); never
/// called.
pub fn shard_handled(_: &mut Ctx, _: &Args) -> CmdResult {
    Err(CmdError::msg("ERR internal: command handled by the shard"))
}

/// Key positions for routing: Redis's legacy (first, last, step), which the registry
/// derives from the key specs as Redis does; `last` < 0 counts from the end.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeySpec {
    /// First key index (0 = no keys).
    pub first: i32,
    /// Last key index; -1 = last argument.
    pub last: i32,
    /// Distance between keys.
    pub step: i32,
    /// For commands with movable keys (LMPOP ...): the index of the `numkeys` argument;
    /// the keys follow it. 0 = keys are at fixed positions.
    pub numkeys_at: usize,
    /// The command's own way of finding its keys, which COMMAND GETKEYS uses where the
    /// key specs cannot answer (`cmd::getkeys`).
    pub native: NativeKeys,
}

/// A command's own key finder, beyond its key specs (Redis's `getkeys_proc`). Commands with
/// a `numkeys` share one, so they need none here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NativeKeys {
    /// The key specs say everything.
    #[default]
    None,
    /// SET: the key's flags depend on whether `GET` is given.
    Set,
    /// XREAD: the keys are half of what follows the `STREAMS` option.
    XRead,
}

/// Command flags (COMMAND INFO), as bits.
pub mod flag {
    /// Modifies data.
    pub const WRITE: u32 = 1;
    /// Only reads.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory.
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Allowed in pub/sub context.
    pub const PUBSUB: u32 = 1 << 4;
    /// Not allowed in scripts.
    pub const NOSCRIPT: u32 = 1 << 5;
    /// Allowed while loading.
    pub const LOADING: u32 = 1 << 6;
    /// Allowed on a stale replica.
    pub const STALE: u32 = 1 << 7;
    /// O(1) or O(log n).
    pub const FAST: u32 = 1 << 8;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 9;
    /// May block.
    pub const BLOCKING: u32 = 1 << 10;
    /// Allowed in a busy-script context.
    pub const ALLOW_BUSY: u32 = 1 << 11;
    /// Refused inside MULTI (SHUTDOWN).
    pub const NO_MULTI: u32 = 1 << 12;
    /// Skips MONITOR.
    pub const SKIP_MONITOR: u32 = 1 << 14;
    /// Skips SLOWLOG.
    pub const SKIP_SLOWLOG: u32 = 1 << 15;
    /// No mandatory keys.
    pub const NO_MANDATORY_KEYS: u32 = 1 << 16;
    /// Key positions depend on the arguments (`numkeys`).
    pub const MOVABLEKEYS: u32 = 1 << 17;
    /// Refused while a replica loads asynchronously (SAVE).
    pub const NO_ASYNC_LOADING: u32 = 1 << 18;

    // busbar's own flags: facts about a command that Redis keeps in code rather than in
    // its table. COMMAND INFO does not show them (they are not in `NAMES`); a registry
    // entry sets them with `queued = false` and `subscribed = true`.

    /// Acts at once inside MULTI instead of being queued (EXEC, DISCARD, MULTI, WATCH,
    /// QUIT, RESET).
    pub const NOT_QUEUED: u32 = 1 << 24;
    /// Allowed on a RESP2 connection that has subscriptions.
    pub const SUBSCRIBED_OK: u32 = 1 << 25;
    /// May join a pipeline batch (`shard::batch`): derived by build.rs from the entry (a
    /// keyed, non-blocking command that wakes no blocked client; a read only if `@fast`).
    pub const BATCHABLE: u32 = 1 << 26;

    /// Flag names in COMMAND INFO order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        (MOVABLEKEYS, "movablekeys"),
    ];
}

/// One command or subcommand.
pub struct Spec {
    /// Index in the table (commandstats, hops carry it instead of the name).
    pub id: u16,
    /// Lower-case name; subcommands as `client|list`.
    pub name: &'static str,
    /// Redis arity: N = exactly N arguments, -N = at least N (name included).
    pub arity: i32,
    /// `flag::*` bits.
    pub flags: u32,
    /// ACL categories for COMMAND INFO, e.g. `&["@read", "@string", "@fast"]`.
    pub acl: &'static [&'static str],
    /// Key positions for routing.
    pub keys: KeySpec,
    /// Redis's key specs (COMMAND INFO, COMMAND GETKEYS).
    pub key_specs: &'static [registry::KeySpecDoc],
    /// Redis's command tips (COMMAND INFO).
    pub tips: &'static [&'static str],
    /// Where it runs.
    pub route: Route,
    /// What it locks as a transaction.
    pub lock: LockScope,
    /// The handler.
    pub handler: Handler,
    /// Subcommand ids, for containers (CLIENT, CONFIG, ...).
    pub subs: &'static [u16],
    /// Its COMMAND DOCS entry; `None` for the few commands busbar does not document yet.
    pub doc: Option<&'static docs::CmdDoc>,
}

impl Spec {
    /// Argument indexes holding keys in this call.
    pub fn key_positions(&self, args: &Args) -> impl Iterator<Item = usize> {
        let argc = args.len();
        let k = self.keys;
        let (first, last, step) = if k.numkeys_at > 0 {
            let keys = lists::numkeys_positions(args, k.numkeys_at);
            (keys.start.max(1), keys.end.saturating_sub(1), 1)
        } else if k.first <= 0 {
            (1usize, 0usize, 1usize)
        } else {
            let last = if k.last < 0 {
                argc as i64 + k.last as i64
            } else {
                k.last as i64
            };
            let last = last.min(argc as i64 - 1);
            (
                k.first as usize,
                last.max(0) as usize,
                k.step.max(1) as usize,
            )
        };
        // A store's destination comes before its `numkeys` (ZUNIONSTORE dst numkeys ...).
        let dst = (k.numkeys_at > 0 && k.first > 0 && (k.first as usize) < argc)
            .then_some(k.first as usize);
        dst.into_iter().chain(
            (first..=last)
                .step_by(step)
                .filter(move |&i| i < argc && first <= last),
        )
    }

    /// True if the command is a container of subcommands.
    pub fn is_container(&self) -> bool {
        !self.subs.is_empty()
    }
}

/// The command table and its name index.
pub struct Table {
    /// Every command and subcommand; `id` is the index.
    pub specs: [Spec; registry::COUNT],
    /// Full name (`get`, `client|list`) to id, built on first use.
    by_name: OnceLock<AHashMap<&'static str, u16>>,
}

impl Table {
    fn by_name(&self) -> &AHashMap<&'static str, u16> {
        self.by_name
            .get_or_init(|| self.specs.iter().map(|s| (s.name, s.id)).collect())
    }
}

/// The command table.
pub fn table() -> &'static Table {
    &registry::TABLE
}

/// The spec with index `id`.
pub fn spec_by_id(id: u16) -> &'static Spec {
    &table().specs[id as usize]
}

/// Finds a top-level command by name, case-insensitively, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static Spec> {
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let key = std::str::from_utf8(&lower[..name.len()]).ok()?;
    if key.contains('|') {
        return None;
    }
    let t = table();
    t.by_name().get(key).map(|&id| &t.specs[id as usize])
}

/// Finds a command by its full name (`get`, `client|list`).
pub fn lookup_full(name: &str) -> Option<&'static Spec> {
    let t = table();
    t.by_name()
        .get(name.to_ascii_lowercase().as_str())
        .map(|&id| &t.specs[id as usize])
}

/// Resolves a container's subcommand (CLIENT LIST -> `client|list`).
pub fn resolve(spec: &'static Spec, args: &Args) -> CmdResult<&'static Spec> {
    if !spec.is_container() {
        return Ok(spec);
    }
    if args.len() < 2 {
        // COMMAND alone is a command of its own; other containers need a subcommand.
        return if spec.arity == -1 {
            Ok(spec)
        } else {
            Err(CmdError::Arity(spec.name.to_string()))
        };
    }
    let sub = args.get(1);
    for &id in spec.subs {
        let s = spec_by_id(id);
        let short = &s.name[spec.name.len() + 1..];
        if short.as_bytes().eq_ignore_ascii_case(sub) {
            return Ok(s);
        }
    }
    let mut msg = b"ERR unknown subcommand '".to_vec();
    msg.extend_from_slice(c_str(sub, 128));
    msg.extend_from_slice(format!("'. Try {} HELP.", spec.name.to_ascii_uppercase()).as_bytes());
    Err(CmdError::Bytes(msg))
}

/// `s` as C's `%.Ns` prints it: up to the first NUL, at most `n` bytes.
fn c_str(s: &[u8], n: usize) -> &[u8] {
    let end = memchr::memchr(0, s).unwrap_or(s.len()).min(n);
    &s[..end]
}

/// Redis's reply for an unknown command, byte for byte (arguments are quoted up to 128
/// bytes in all, each cut at a NUL, as Redis's `%.*s` formatting does).
pub fn unknown_command_error(args: &Args) -> Vec<u8> {
    let mut list = Vec::new();
    for a in args.iter().skip(1) {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push(b'\'');
        list.extend_from_slice(c_str(a, room));
        list.extend_from_slice(b"' ");
    }
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(c_str(args.get(0), 128));
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&list);
    msg
}

/// Commands a RESP2 connection may run while it has subscriptions.
pub fn allowed_when_subscribed(spec: &Spec) -> bool {
    spec.flags & flag::SUBSCRIBED_OK != 0
}

/// True if `spec` is queued between MULTI and EXEC (all but EXEC, DISCARD, MULTI, WATCH,
/// QUIT and RESET, which act at once).
pub fn queued_in_multi(spec: &Spec) -> bool {
    spec.flags & flag::NOT_QUEUED == 0
}

/// Checks arity, whole key/value groups and authentication before a command runs.
pub fn check_call(
    spec: &'static Spec,
    args: &Args,
    conn: &Conn,
    _settings: &Settings,
) -> CmdResult {
    check_queued(spec, args, conn)?;
    // Key/value lists (MSET k v [k v ...]) must come in whole groups; checked here, before
    // routing splits the arguments by owner shard. In Redis the command itself says so,
    // so inside MULTI it queues and fails when EXEC runs it.
    let (argc, k) = (args.len() as i32, spec.keys);
    if k.first > 0 && k.last < 0 && k.step > 1 && (argc - k.first) % k.step != 0 {
        return Err(CmdError::Arity(spec.name.to_string()));
    }
    Ok(())
}

/// What MULTI checks before it queues a command: arity, authentication and the
/// `no-multi` flag.
pub fn check_queued(spec: &'static Spec, args: &Args, conn: &Conn) -> CmdResult {
    let argc = args.len() as i32;
    if (spec.arity > 0 && argc != spec.arity) || argc < -spec.arity {
        return Err(CmdError::Arity(spec.name.to_string()));
    }
    if !conn.authenticated && spec.flags & flag::NO_AUTH == 0 {
        return Err(CmdError::msg("NOAUTH Authentication required."));
    }
    // SHUTDOWN (and the other `no-multi` commands) would act at once however the
    // transaction ends, so MULTI refuses to queue them, and the EXEC then aborts.
    if conn.multi.is_some() && spec.flags & flag::NO_MULTI != 0 {
        return Err(CmdError::msg(
            "ERR Command not allowed inside a transaction",
        ));
    }
    Ok(())
}

/// Writes the replies held in `parts` in command order: command `i`'s is the next reply
/// of part `order[i]`.
fn in_command_order(parts: &[Vec<u8>], order: &[u32], out: &mut Reply) {
    let mut at = vec![0usize; parts.len()];
    for &p in order {
        let (part, at) = (&parts[p as usize], &mut at[p as usize]);
        let n = value_len(&part[*at..]).unwrap_or(part.len() - *at);
        out.raw(&part[*at..*at + n]);
        *at += n;
    }
}

/// Merges a completed gather into `out`.
pub fn merge(g: Gather, out: &mut Reply, _home: usize) {
    // An error part wins, as the command would have failed on one shard.
    let first_error = g.parts.iter().find(|p| p.first() == Some(&b'-'));
    match g.merge {
        Merge::Forward => {
            for p in &g.parts {
                out.raw(p);
            }
        }
        Merge::Exec { order } => {
            out.array_len(order.len());
            in_command_order(&g.parts, &order, out);
        }
        Merge::Pipeline { order } => in_command_order(&g.parts, &order, out),
        Merge::Batch(items) => {
            // Each part holds one reply per command, in command order.
            let mut at = vec![0usize; g.parts.len()];
            for item in items {
                let parts = g
                    .parts
                    .iter()
                    .zip(at.iter_mut())
                    .map(|(p, at)| {
                        let n = value_len(&p[*at..]).unwrap_or(p.len() - *at);
                        let reply = p[*at..*at + n].to_vec();
                        *at += n;
                        reply
                    })
                    .collect();
                let sub = Gather {
                    left: 0,
                    parts,
                    merge: item,
                    blocked: None,
                };
                merge(sub, out, _home);
            }
        }
        Merge::Sum => {
            if let Some(e) = first_error {
                out.raw(e);
            } else {
                out.int(g.parts.iter().map(|p| read_int(p).unwrap_or(0)).sum());
            }
        }
        Merge::AllOk => {
            if let Some(e) = first_error {
                out.raw(e);
            } else {
                out.ok();
            }
        }
        Merge::Same(home) => match first_error {
            Some(e) => out.raw(e),
            None => out.raw(&g.parts[home]),
        },
        Merge::Interleave { order } => {
            if let Some(e) = first_error {
                out.raw(e);
                return;
            }
            let elems: Vec<Vec<&[u8]>> = g.parts.iter().map(|p| split_array(p)).collect();
            out.array_len(order.len());
            for (part, idx) in order {
                out.raw(elems[part as usize][idx as usize]);
            }
        }
        Merge::Concat => {
            if let Some(e) = first_error {
                out.raw(e);
                return;
            }
            // Each part is one array: the reply is their elements, without listing them.
            let heads: Vec<Option<(usize, usize)>> =
                g.parts.iter().map(|p| aggregate_header(p)).collect();
            out.array_len(heads.iter().flatten().map(|&(_, n)| n).sum());
            for (p, head) in g.parts.iter().zip(heads) {
                if let Some((at, _)) = head {
                    out.raw(&p[at..]);
                }
            }
        }
        Merge::ConcatBulk => {
            if let Some(e) = first_error {
                out.raw(e);
                return;
            }
            let mut all = Vec::new();
            for p in &g.parts {
                if let Some((h, n)) = aggregate_header(p) {
                    all.extend_from_slice(&p[h..h + n]);
                }
            }
            out.verbatim(&all);
        }
        Merge::AnyNonNull => {
            let candidates: Vec<&Vec<u8>> = g
                .parts
                .iter()
                .filter(|p| p.first() == Some(&b'$') && !p.starts_with(b"$-1"))
                .collect();
            if candidates.is_empty() {
                out.null();
            } else {
                let pick = (crate::clock::unix_ms() as usize) % candidates.len();
                out.raw(candidates[pick]);
            }
        }
        Merge::KillOld => {
            if let Some(e) = first_error {
                out.raw(e);
            } else if g
                .parts
                .iter()
                .map(|p| read_int(p).unwrap_or(0))
                .sum::<i64>()
                == 0
            {
                out.error("ERR No such client");
            } else {
                out.ok();
            }
        }
        Merge::Step(_) => unreachable!("the shard drives a step itself"),
    }
}

/// The elements of an encoded array reply.
pub fn split_array(p: &[u8]) -> Vec<&[u8]> {
    let Some((mut pos, n)) = aggregate_header(p) else {
        return Vec::new();
    };
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let Some(len) = value_len(&p[pos..]) else {
            break;
        };
        v.push(&p[pos..pos + len]);
        pos += len;
    }
    v
}
