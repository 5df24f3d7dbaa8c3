//! One shard's keyspace: sixteen logical databases of key -> value with expiry.
//!
//! Plain single-threaded data structures: a shard owns its `Keyspace` outright and other
//! shards reach it only through the mailbox. Knows nothing of sockets or threads; the one
//! exception is its INFO numbers (`KeyspaceStats`), atomics that only the owner writes so
//! that INFO on any shard reads them as they are.

pub mod chunked;
pub mod glob;
pub mod hash;
pub mod list;
pub mod pin;
pub mod set;
pub mod stream;
pub mod stream_group;
pub mod walk;
pub mod watch;
pub mod zset;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use ahash::RandomState;
use indexmap::{IndexMap, IndexSet};

pub use glob::glob_match;
pub use watch::key_hash;

/// A stored key. Boxed slice: two words, no spare capacity.
pub type Key = Box<[u8]>;

/// Largest string value (Redis's `proto-max-bulk-len` default), for SETRANGE and APPEND.
pub const STRING_BYTES_MAX: usize = 512 * 1024 * 1024;

/// A value of any type. New types arrive with their issues (lists, hashes, ...).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string, with Redis's encodings.
    Str(Str),
    /// A list: packed chunks of entries (`list::List`), boxed to keep `Value` small.
    List(Box<list::List>),
    /// A hash: packed pairs or a table (`hash::Hash`), inline: a small hash is one
    /// allocation.
    Hash(hash::Hash),
    /// A set: sorted integers or a hash set (`set::Set`).
    Set(Box<set::Set>),
    /// A sorted set (`zset::Zset`).
    Zset(Box<zset::Zset>),
    /// A stream (`stream::Stream`).
    Stream(Box<stream::Stream>),
}

/// A string value. Integers that round-trip are stored as `i64`, as Redis's `int` encoding.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug, Clone, PartialEq)]
pub enum Str {
    /// `OBJECT ENCODING int`.
    Int(i64),
    /// Bytes; `raw` is true once modified in place (APPEND, SETRANGE), for OBJECT ENCODING.
    Bytes { data: Vec<u8>, raw: bool },
}

/// Longest string Redis stores as `embstr` (OBJECT ENCODING).
const EMBSTR_BYTES_MAX: usize = 44;

impl Str {
    /// A string from client bytes, integer-encoded when it round-trips like Redis's
    /// `tryObjectEncoding`.
    pub fn from_bytes(data: &[u8]) -> Str {
        if data.len() <= 20 {
            if let Some(n) = crate::num::parse_i64(data) {
                return Str::Int(n);
            }
        }
        Str::Bytes {
            data: data.to_vec(),
            raw: false,
        }
    }

    /// The byte length of the string form.
    pub fn len(&self) -> usize {
        match self {
            Str::Int(n) => itoa::Buffer::new().format(*n).len(),
            Str::Bytes { data, .. } => data.len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with the string's bytes (integers are formatted on the stack).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Str::Int(n) => f(itoa::Buffer::new().format(*n).as_bytes()),
            Str::Bytes { data, .. } => f(data),
        }
    }

    /// The bytes, owned.
    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// Turns the value into mutable raw bytes (APPEND, SETRANGE).
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if let Str::Int(n) = *self {
            *self = Str::Bytes {
                data: itoa::Buffer::new().format(n).as_bytes().to_vec(),
                raw: true,
            };
        }
        match self {
            Str::Bytes { data, raw } => {
                *raw = true;
                data
            }
            Str::Int(_) => unreachable!(),
        }
    }

    /// Redis's OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Str::Int(_) => "int",
            Str::Bytes { data, raw } if !raw && data.len() <= EMBSTR_BYTES_MAX => "embstr",
            Str::Bytes { .. } => "raw",
        }
    }
}

/// A collection type stored in a `Value` (hash, set, sorted set): how to find it in a
/// value, wrap a new one, and tell when it is empty (commands delete empty ones).
pub trait Collection: Default + Sized {
    /// This type inside `v`, if `v` holds one.
    fn of(v: &Value) -> Option<&Self>;
    /// The same, for modification.
    fn of_mut(v: &mut Value) -> Option<&mut Self>;
    /// A value holding `self`.
    fn into_value(self) -> Value;
    /// True when it holds nothing.
    fn is_empty(&self) -> bool;
}

/// A collection whose entries go by name (a hash's fields, a set's or sorted set's
/// members): HDEL, SREM and ZREM are one command over it.
pub trait Named: Collection {
    /// Removes the entry `name`; true if it was there.
    fn remove_named(&mut self, name: &[u8]) -> bool;
}

impl Named for hash::Hash {
    fn remove_named(&mut self, name: &[u8]) -> bool {
        self.remove(name)
    }
}

impl Named for set::Set {
    fn remove_named(&mut self, name: &[u8]) -> bool {
        self.remove(name)
    }
}

impl Named for zset::Zset {
    fn remove_named(&mut self, name: &[u8]) -> bool {
        self.remove(name)
    }
}

impl Collection for hash::Hash {
    fn of(v: &Value) -> Option<&Self> {
        match v {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }
    fn of_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Hash(self)
    }
    fn is_empty(&self) -> bool {
        hash::Hash::is_empty(self)
    }
}

impl Collection for set::Set {
    fn of(v: &Value) -> Option<&Self> {
        match v {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }
    fn of_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Set(Box::new(self))
    }
    fn is_empty(&self) -> bool {
        set::Set::is_empty(self)
    }
}

impl Collection for zset::Zset {
    fn of(v: &Value) -> Option<&Self> {
        match v {
            Value::Zset(z) => Some(z),
            _ => None,
        }
    }
    fn of_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::Zset(z) => Some(z),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Zset(Box::new(self))
    }
    fn is_empty(&self) -> bool {
        zset::Zset::is_empty(self)
    }
}

impl Collection for stream::Stream {
    fn of(v: &Value) -> Option<&Self> {
        match v {
            Value::Stream(s) => Some(s),
            _ => None,
        }
    }
    fn of_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::Stream(s) => Some(s),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Stream(Box::new(self))
    }
    fn is_empty(&self) -> bool {
        // An empty stream stays (Redis deletes no stream for being empty).
        false
    }
}

impl Value {
    /// The TYPE name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::Zset(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            // Redis 7.0's name for its chunked list; busbar's lists are chunked likewise.
            Value::List(_) => "quicklist",
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::Zset(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }
}

impl Value {
    /// Serializes the value and its expiry (0 = none) into `out`, for moving a key between
    /// shards (RENAME, COPY across shards). `restore` reads it back.
    pub fn dump(&self, expire_at_ms: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&expire_at_ms.to_le_bytes());
        match self {
            Value::Str(Str::Int(n)) => {
                out.push(0);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Value::Str(Str::Bytes { data, raw }) => {
                out.push(if *raw { 2 } else { 1 });
                out.extend_from_slice(data);
            }
            Value::List(l) => {
                out.push(3);
                for e in l.iter() {
                    out.extend_from_slice(&(e.len() as u32).to_le_bytes());
                    out.extend_from_slice(e);
                }
            }
            Value::Zset(z) => {
                out.push(if z.encoding() == "listpack" { 8 } else { 9 });
                for (score, m) in z.iter() {
                    out.extend_from_slice(&score.to_le_bytes());
                    out.extend_from_slice(&(m.len() as u32).to_le_bytes());
                    out.extend_from_slice(m);
                }
            }
            Value::Set(set) => {
                out.push(if set.encoding() == "intset" { 6 } else { 7 });
                for m in set.members() {
                    out.extend_from_slice(&(m.len() as u32).to_le_bytes());
                    out.extend_from_slice(&m);
                }
            }
            Value::Stream(st) => {
                out.push(10);
                for id in [st.last_id, st.max_deleted] {
                    out.extend_from_slice(&id.ms.to_le_bytes());
                    out.extend_from_slice(&id.seq.to_le_bytes());
                }
                out.extend_from_slice(&st.entries_added.to_le_bytes());
                out.extend_from_slice(&(st.groups.len() as u64).to_le_bytes());
                for (name, g) in &st.groups {
                    out.extend_from_slice(&(name.len() as u64).to_le_bytes());
                    out.extend_from_slice(name);
                    g.dump(out);
                }
                for e in st.entries() {
                    out.extend_from_slice(&e.id.ms.to_le_bytes());
                    out.extend_from_slice(&e.id.seq.to_le_bytes());
                    let pairs: Vec<&[u8]> = e.pairs().collect();
                    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
                    for p in pairs {
                        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
                        out.extend_from_slice(p);
                    }
                }
            }
            Value::Hash(h) => {
                out.push(if h.encoding() == "listpack" { 4 } else { 5 });
                for (f, v) in h.iter() {
                    for part in [f, v] {
                        out.extend_from_slice(&(part.len() as u32).to_le_bytes());
                        out.extend_from_slice(part);
                    }
                }
            }
        }
    }

    /// Reads what `dump` wrote: the value and its expiry. `None` if malformed.
    pub fn restore(buf: &[u8]) -> Option<(Value, u64)> {
        let expire = u64::from_le_bytes(buf.get(..8)?.try_into().ok()?);
        let (&kind, body) = buf.get(8..)?.split_first()?;
        let value = match kind {
            0 => Value::Str(Str::Int(i64::from_le_bytes(body.try_into().ok()?))),
            1 | 2 => Value::Str(Str::Bytes {
                data: body.to_vec(),
                raw: kind == 2,
            }),
            3 => {
                let mut l = list::List::new();
                let mut rest = body;
                while !rest.is_empty() {
                    let n = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
                    l.push_back(rest.get(4..4 + n)?);
                    rest = &rest[4 + n..];
                }
                Value::List(Box::new(l))
            }
            4 | 5 => {
                let mut parts = Vec::new();
                let mut rest = body;
                while !rest.is_empty() {
                    let n = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
                    parts.push(rest.get(4..4 + n)?);
                    rest = &rest[4 + n..];
                }
                if parts.len() % 2 != 0 {
                    return None;
                }
                let pairs = parts.chunks(2).map(|p| (p[0], p[1]));
                Value::Hash(hash::Hash::from_pairs(pairs, kind == 4))
            }
            6 | 7 => {
                let mut members = Vec::new();
                let mut rest = body;
                while !rest.is_empty() {
                    let n = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
                    members.push(rest.get(4..4 + n)?);
                    rest = &rest[4 + n..];
                }
                Value::Set(Box::new(set::Set::from_members(
                    members.into_iter(),
                    kind == 6,
                )?))
            }
            8 | 9 => {
                let mut pairs = Vec::new();
                let mut rest = body;
                while !rest.is_empty() {
                    let score = f64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
                    let n = u32::from_le_bytes(rest.get(8..12)?.try_into().ok()?) as usize;
                    pairs.push((score, Box::<[u8]>::from(rest.get(12..12 + n)?)));
                    rest = &rest[12 + n..];
                }
                let z = zset::Zset::from_sorted(pairs, kind == 8);
                Value::Zset(Box::new(z))
            }
            10 => {
                let u64_at = |b: &[u8], at: usize| -> Option<u64> {
                    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
                };
                let id_at = |b: &[u8], at: usize| -> Option<stream::StreamId> {
                    Some(stream::StreamId {
                        ms: u64_at(b, at)?,
                        seq: u64_at(b, at + 8)?,
                    })
                };
                let mut st = stream::Stream::default();
                let (last_id, max_deleted) = (id_at(body, 0)?, id_at(body, 16)?);
                let added = u64_at(body, 32)?;
                let groups = u64_at(body, 40)?;
                let mut rest = body.get(48..)?;
                for _ in 0..groups {
                    let len = usize::try_from(u64_at(rest, 0)?).ok()?;
                    let name = rest.get(8..8 + len)?;
                    let (g, tail) = stream_group::Group::restore(rest.get(8 + len..)?)?;
                    st.groups.insert(name.into(), g);
                    rest = tail;
                }
                while !rest.is_empty() {
                    let id = id_at(rest, 0)?;
                    // Entries come in ID order; a payload that says otherwise is refused
                    // (the packed nodes store IDs as deltas from the entry before).
                    if st.last_entry_id().is_some_and(|last| id <= last) {
                        return None;
                    }
                    let n = u32::from_le_bytes(rest.get(16..20)?.try_into().ok()?) as usize;
                    rest = &rest[20..];
                    let mut pairs = Vec::with_capacity(n);
                    for _ in 0..n {
                        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
                        pairs.push(rest.get(4..4 + len)?);
                        rest = &rest[4 + len..];
                    }
                    st.append(id, pairs, stream::NodeLimits::default());
                }
                st.last_id = last_id;
                st.max_deleted = max_deleted;
                st.entries_added = added;
                Value::Stream(Box::new(st))
            }
            _ => return None,
        };
        Some((value, expire))
    }
}

/// A value and its absolute expiry time.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Unix time in ms after which the key is gone; 0 = no expiry.
    pub expire_at_ms: u64,
}

/// One logical database on one shard.
#[derive(Default)]
pub struct Db {
    /// The keys. Insertion-indexed so that SCAN can walk by index and sampling is O(1).
    map: IndexMap<Key, Entry, RandomState>,
    /// The keys that have an expiry, for the active expiry cycle's sampling.
    expires: IndexSet<Key, RandomState>,
    /// Running estimate of the remaining TTL (ms) of keys with an expiry, from the
    /// active expiry cycle's samples (INFO keyspace `avg_ttl`), as Redis computes it.
    avg_ttl_ms: u64,
}

/// The numbers the keyspace keeps for INFO, updated as the keyspace changes so that INFO
/// on any shard reads them exact (a client polling `expired_keys` or `keys=` sees every
/// change made before it asked). Written only by the owner shard, with a plain load and
/// store (one writer needs no locked read-modify-write), so the hot path pays what it
/// paid for plain integers; read by any shard.
pub struct KeyspaceStats {
    /// Lookups that found a key (`keyspace_hits`).
    pub hits: AtomicU64,
    /// Lookups that did not (`keyspace_misses`).
    pub misses: AtomicU64,
    /// Keys removed because their time ran out (`expired_keys`).
    pub expired: AtomicU64,
    /// Keys per database (INFO keyspace `keys=`).
    pub keys: Box<[AtomicU64]>,
    /// Keys with an expiry per database (INFO keyspace `expires=`).
    pub expires: Box<[AtomicU64]>,
}

impl KeyspaceStats {
    /// Zeroed numbers for `databases` databases.
    pub fn new(databases: usize) -> Self {
        let zeros = || (0..databases).map(|_| AtomicU64::new(0)).collect();
        Self {
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            expired: AtomicU64::new(0),
            keys: zeros(),
            expires: zeros(),
        }
    }

    /// Zeroes the counters, not the sizes (CONFIG RESETSTAT). Owner shard only.
    pub fn reset_counters(&self) {
        for c in [&self.hits, &self.misses, &self.expired] {
            c.store(0, Relaxed);
        }
    }

    /// Owner shard only: see the type's note.
    #[inline]
    fn bump(counter: &AtomicU64) {
        counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
    }
}

/// All databases of one shard.
pub struct Keyspace {
    dbs: Vec<Db>,
    /// INFO numbers, shared with readers on other shards.
    stats: Arc<KeyspaceStats>,
    /// Where the next active expiry cycle resumes (db index).
    expire_cursor_db: usize,
    /// Small xorshift state for sampling; seeded per shard.
    rng: u64,
    /// WATCHed keys; every change of one marks its watchers.
    pub watches: watch::Watches,
    /// Values paced replies are reading; every change of one detaches it first.
    pins: pin::Pins,
    /// Changes made so far (each `touch`, removal, flush): INFO
    /// `rdb_changes_since_last_save`, and how the AOF tells a write that changed
    /// something from one that did not.
    dirty: std::cell::Cell<u64>,
    /// While the AOF is on, the keys expiry removed since the log last took them: the log
    /// records their deletion before the command that noticed it (`take_expired`).
    expired_log: Option<Vec<(usize, Key)>>,
    /// While set (`track_touched`), every key changed is noted here: the AOF logs the
    /// state of each after a step's op, whose changes no command line describes.
    touched: Option<std::cell::RefCell<Vec<(usize, Key)>>>,
    /// A snapshot walk in progress (`walk`): changes keep unvisited keys first.
    walk: Option<std::cell::RefCell<walk::Walk>>,
    /// Loading a log: nothing expires, so commands replay on the values they first saw
    /// (Redis does not expire keys while loading either).
    loading: bool,
}

/// How a write treats an existing expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// Remove any expiry.
    Clear,
    /// Keep the existing expiry (SET KEEPTTL, SETRANGE, APPEND, INCR ...).
    Keep,
    /// Set this absolute expiry (ms).
    At(u64),
}

impl Keyspace {
    /// An empty keyspace of `databases` databases.
    pub fn new(databases: usize, seed: u64) -> Self {
        Self::with_stats(seed, Arc::new(KeyspaceStats::new(databases)))
    }

    /// An empty keyspace with as many databases as `stats` counts, which it keeps up to
    /// date for INFO readers elsewhere.
    pub fn with_stats(seed: u64, stats: Arc<KeyspaceStats>) -> Self {
        Self {
            dbs: (0..stats.keys.len()).map(|_| Db::default()).collect(),
            stats,
            expire_cursor_db: 0,
            rng: seed | 1,
            watches: watch::Watches::default(),
            pins: pin::Pins::default(),
            dirty: std::cell::Cell::new(0),
            expired_log: None,
            touched: None,
            walk: None,
            loading: false,
        }
    }

    /// Changes made so far (a counter that only grows).
    #[inline]
    pub fn dirty(&self) -> u64 {
        self.dirty.get()
    }

    /// Counts one change of `key` (about to happen).
    #[inline]
    fn changed(&self, db: usize, key: &[u8]) {
        self.dirty.set(self.dirty.get() + 1);
        if self.walk.is_some() {
            self.cow(db, key);
        }
        if let Some(t) = &self.touched {
            t.borrow_mut().push((db, key.into()));
        }
    }

    /// Before `key` of `db` changes while a snapshot walk runs: an unvisited key goes
    /// to the snapshot as it is now, once.
    fn cow(&self, db: usize, key: &[u8]) {
        let Some(cell) = &self.walk else {
            return;
        };
        let mut w = cell.borrow_mut();
        let Some((i, k, e)) = self.dbs[db].map.get_full(key) else {
            return;
        };
        if w.visited(db, i) || w.done[db].contains(key) {
            return;
        }
        if !w.expired(e) {
            let walking = db == w.db;
            w.keeper.keep(db, k, e, walking);
        }
        w.done[db].insert(k.clone());
    }

    /// Before `key` of `db` is removed (a `swap_remove`): it is kept if unvisited, and
    /// so is the last entry, which moves into its slot, when that slot is behind the
    /// walk and the last entry is not.
    fn before_remove(&self, db: usize, key: &[u8]) {
        if self.walk.is_none() {
            return;
        }
        self.cow(db, key);
        let d = &self.dbs[db].map;
        let Some(i) = d.get_index_of(key) else {
            return;
        };
        let last = d.len() - 1;
        let moves_behind = {
            let w = self.walk.as_ref().expect("checked").borrow();
            w.visited(db, i) && !w.visited(db, last)
        };
        if moves_behind {
            let (k, _) = d.get_index(last).expect("below len");
            self.cow(db, k);
        }
    }

    /// A key created while a walk runs is not in its snapshot.
    fn created(&self, db: usize, key: &[u8]) {
        if let Some(cell) = &self.walk {
            let mut w = cell.borrow_mut();
            if db >= w.db {
                w.done[db].insert(key.into());
            }
        }
    }

    /// Starts a snapshot walk of this keyspace as it is at `now_ms`, into `keeper`.
    pub fn start_walk(&mut self, keeper: Box<dyn walk::Keeper>, now_ms: u64) {
        self.walk = Some(std::cell::RefCell::new(walk::Walk::new(
            self.dbs.len(),
            now_ms,
            keeper,
        )));
    }

    /// True while a snapshot walk runs.
    pub fn walking(&self) -> bool {
        self.walk.is_some()
    }

    /// Walks up to `keys` more keys; the keeper back once every database was walked.
    pub fn walk_step(&mut self, keys: usize) -> Option<Box<dyn walk::Keeper>> {
        let cell = self.walk.as_ref()?;
        {
            let w = &mut *cell.borrow_mut();
            let mut n = 0;
            while w.db < self.dbs.len() && n < keys {
                let d = &self.dbs[w.db].map;
                let Some((k, e)) = d.get_index(w.index) else {
                    w.db += 1;
                    w.index = 0;
                    continue;
                };
                w.index += 1;
                n += 1;
                if w.done[w.db].contains(k) || w.expired(e) {
                    continue;
                }
                w.keeper.keep(w.db, k, e, true);
            }
            if w.db < self.dbs.len() {
                return None;
            }
        }
        self.walk.take().map(|c| c.into_inner().keeper)
    }

    /// Ends a walk now, its snapshot abandoned.
    pub fn abandon_walk(&mut self) -> Option<Box<dyn walk::Keeper>> {
        self.walk.take().map(|c| c.into_inner().keeper)
    }

    /// Walks every key left (before a change to a whole database, FLUSHDB or SWAPDB).
    fn walk_to_end(&mut self) {
        if let Some(cell) = &self.walk {
            let databases = self.dbs.len();
            // The walk stays, done, for the shard's next step to take it back.
            let w = &mut *cell.borrow_mut();
            while w.db < databases {
                let d = &self.dbs[w.db].map;
                match d.get_index(w.index) {
                    None => {
                        w.db += 1;
                        w.index = 0;
                    }
                    Some((k, e)) => {
                        w.index += 1;
                        if !w.done[w.db].contains(k) && !w.expired(e) {
                            w.keeper.keep(w.db, k, e, true);
                        }
                    }
                }
            }
        }
    }

    /// Starts noting the keys changed (`touched`).
    pub fn track_touched(&mut self) {
        self.touched = Some(Default::default());
    }

    /// Stops noting the keys changed; the ones changed since `track_touched`, each once.
    pub fn take_touched(&mut self) -> Vec<(usize, Key)> {
        let mut v = self
            .touched
            .take()
            .map(|t| t.into_inner())
            .unwrap_or_default();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Starts or stops keeping the keys expiry removes, for the AOF.
    pub fn keep_expired(&mut self, on: bool) {
        self.expired_log = on.then(Vec::new);
    }

    /// The keys expiry removed since the last call: (database, key).
    #[inline]
    pub fn take_expired(&mut self) -> Option<Vec<(usize, Key)>> {
        match &mut self.expired_log {
            Some(v) if !v.is_empty() => Some(std::mem::take(v)),
            _ => None,
        }
    }

    /// Turns expiry off while a log is replayed into this keyspace, and back on.
    pub fn set_loading(&mut self, on: bool) {
        self.loading = on;
    }

    /// The INFO numbers.
    pub fn stats(&self) -> &KeyspaceStats {
        &self.stats
    }

    /// Publishes the key and expiry counts of `db` after a change to them.
    #[inline]
    fn sizes_changed(&self, db: usize) {
        let d = &self.dbs[db];
        self.stats.keys[db].store(d.map.len() as u64, Relaxed);
        self.stats.expires[db].store(d.expires.len() as u64, Relaxed);
    }

    /// Number of databases.
    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    /// A pseudo-random number (xorshift, seeded per shard), for sampling and random picks.
    pub fn next_rand(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// Removes `key` if its time ran out. Returns true if it was removed.
    fn expire_if_needed(&mut self, db: usize, key: &[u8], now_ms: u64) -> bool {
        if self.loading {
            return false;
        }
        let d = &mut self.dbs[db];
        let expired = match d.map.get(key) {
            Some(e) => e.expire_at_ms != 0 && now_ms > e.expire_at_ms,
            None => false,
        };
        if expired {
            self.before_remove(db, key);
            let d = &mut self.dbs[db];
            let e = d.map.swap_remove(key).expect("present");
            d.expires.swap_remove(key);
            if !self.pins.no_attached() {
                self.pins.detach_move(db, key, e.value);
            }
            KeyspaceStats::bump(&self.stats.expired);
            self.sizes_changed(db);
            self.touch(db, key);
            if let Some(log) = &mut self.expired_log {
                log.push((db, key.into()));
            }
        }
        expired
    }

    /// Looks up a live entry without touching hit/miss counters (internal reads).
    pub fn peek(&mut self, db: usize, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.expire_if_needed(db, key, now_ms);
        self.dbs[db].map.get(key)
    }

    /// Looks up a live entry for a read command, counting a hit or a miss.
    pub fn lookup(&mut self, db: usize, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.expire_if_needed(db, key, now_ms);
        let found = self.dbs[db].map.get(key);
        if found.is_some() {
            KeyspaceStats::bump(&self.stats.hits);
        } else {
            KeyspaceStats::bump(&self.stats.misses);
        }
        found
    }

    /// Marks the watchers of `key` (a write is about to change it).
    #[inline]
    pub fn touch(&self, db: usize, key: &[u8]) {
        self.changed(db, key);
        if !self.watches.is_empty() {
            self.watches.touch(db, key);
        }
    }

    /// Looks up a live entry for modification (which marks its watchers).
    pub fn lookup_mut(&mut self, db: usize, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        self.expire_if_needed(db, key, now_ms);
        self.touch(db, key);
        self.lookup_mut_unmarked(db, key, now_ms)
    }

    /// Looks up a live entry for a modification that may turn out to change nothing (SADD
    /// of members already there): its watchers are not marked, the caller `touch`es the
    /// key once it did change it.
    pub fn lookup_mut_unmarked(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: u64,
    ) -> Option<&mut Entry> {
        self.expire_if_needed(db, key, now_ms);
        let i = self.dbs[db].map.get_index_of(key)?;
        // Counted as a change whether or not one follows (XACK, consumer groups), so
        // a log never misses a write; a write that changed nothing replays as nothing.
        self.changed(db, key);
        let (_, e) = self.dbs[db].map.get_index_mut(i)?;
        if !self.pins.no_attached() {
            self.pins.detach_clone(db, key, &e.value);
        }
        Some(e)
    }

    /// The entry at `key` as it is, without expiring it or counting a hit (for a command
    /// that looked its keys up already and now needs several of them at once).
    pub fn get(&self, db: usize, key: &[u8]) -> Option<&Entry> {
        self.dbs[db].map.get(key)
    }

    /// True if `key` exists (and is not expired).
    pub fn exists(&mut self, db: usize, key: &[u8], now_ms: u64) -> bool {
        self.peek(db, key, now_ms).is_some()
    }

    /// Stores `value` under `key`, treating an existing expiry as `ttl` says.
    pub fn set(&mut self, db: usize, key: &[u8], value: Value, ttl: Ttl, now_ms: u64) {
        self.expire_if_needed(db, key, now_ms);
        self.touch(db, key);
        if self.walk.is_some() && !self.dbs[db].map.contains_key(key) {
            self.created(db, key);
        }
        let d = &mut self.dbs[db];
        let old_expire = d.map.get(key).map(|e| e.expire_at_ms).unwrap_or(0);
        let expire_at_ms = match ttl {
            Ttl::Clear => 0,
            Ttl::Keep => old_expire,
            Ttl::At(t) => t,
        };
        match d.map.get_mut(key) {
            Some(e) => {
                let old = std::mem::replace(&mut e.value, value);
                e.expire_at_ms = expire_at_ms;
                if !self.pins.no_attached() {
                    self.pins.detach_move(db, key, old);
                }
            }
            None => {
                d.map.insert(
                    key.into(),
                    Entry {
                        value,
                        expire_at_ms,
                    },
                );
            }
        }
        if expire_at_ms != 0 && old_expire == 0 {
            d.expires.insert(key.into());
        } else if expire_at_ms == 0 && old_expire != 0 {
            d.expires.swap_remove(key);
        }
        self.sizes_changed(db);
    }

    /// Removes `key`, returning its value if it was live.
    pub fn remove(&mut self, db: usize, key: &[u8], now_ms: u64) -> Option<Value> {
        self.expire_if_needed(db, key, now_ms);
        if !self.dbs[db].map.contains_key(key) {
            return None;
        }
        self.before_remove(db, key);
        self.changed(db, key);
        let d = &mut self.dbs[db];
        let e = d.map.swap_remove(key)?;
        if !self.watches.is_empty() {
            self.watches.touch(db, key);
        }
        if !self.pins.no_attached() {
            self.pins.detach_clone(db, key, &e.value);
        }
        let d = &mut self.dbs[db];
        if e.expire_at_ms != 0 {
            d.expires.swap_remove(key);
        }
        self.sizes_changed(db);
        Some(e.value)
    }

    /// Sets or clears the expiry of an existing key. Returns false if the key is missing.
    pub fn set_expire(&mut self, db: usize, key: &[u8], at_ms: u64, now_ms: u64) -> bool {
        self.expire_if_needed(db, key, now_ms);
        if self.dbs[db].map.contains_key(key) {
            self.touch(db, key);
        }
        let d = &mut self.dbs[db];
        let Some(e) = d.map.get_mut(key) else {
            return false;
        };
        let old = e.expire_at_ms;
        e.expire_at_ms = at_ms;
        if at_ms != 0 && old == 0 {
            d.expires.insert(key.into());
        } else if at_ms == 0 && old != 0 {
            d.expires.swap_remove(key);
        }
        self.sizes_changed(db);
        true
    }

    /// Number of keys in `db` (expired-but-not-yet-collected keys included, as Redis).
    pub fn len(&self, db: usize) -> usize {
        self.dbs[db].map.len()
    }

    /// True when `db` holds no keys.
    pub fn is_empty(&self, db: usize) -> bool {
        self.dbs[db].map.is_empty()
    }

    /// The running average TTL (ms) of `db`'s keys with an expiry (0 = unknown).
    pub fn avg_ttl_ms(&self, db: usize) -> u64 {
        self.dbs[db].avg_ttl_ms
    }

    /// Number of keys with an expiry in `db`.
    pub fn expires_len(&self, db: usize) -> usize {
        self.dbs[db].expires.len()
    }

    /// Removes every key of `db`; returns how many there were.
    pub fn flush(&mut self, db: usize) -> usize {
        self.walk_to_end();
        let n = self.dbs[db].map.len();
        self.dirty.set(self.dirty.get() + n as u64);
        if !self.watches.is_empty() {
            let map = &self.dbs[db].map;
            self.watches.touch_db(db, |k| map.contains_key(k));
        }
        if !self.pins.no_attached() {
            for key in self.pins.attached_in(db) {
                if let Some(e) = self.dbs[db].map.swap_remove(&key) {
                    self.pins.detach_move(db, &key, e.value);
                }
            }
        }
        self.dbs[db] = Db::default();
        self.sizes_changed(db);
        n
    }

    /// Swaps databases `a` and `b` (SWAPDB). Watchers of keys that exist in either are
    /// marked, as Redis does.
    pub fn swap(&mut self, a: usize, b: usize) {
        self.walk_to_end();
        self.dirty.set(self.dirty.get() + 1);
        if !self.watches.is_empty() {
            let (ma, mb) = (&self.dbs[a].map, &self.dbs[b].map);
            let exists = |k: &[u8]| ma.contains_key(k) || mb.contains_key(k);
            self.watches.touch_db(a, exists);
            self.watches.touch_db(b, exists);
        }
        self.dbs.swap(a, b);
        self.pins.swap_dbs(a, b);
        self.sizes_changed(a);
        self.sizes_changed(b);
    }

    /// Keeps only the keys `keep` says yes to, in every database (a log replayed whole
    /// on a shard that owns part of it).
    pub fn retain_keys(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        for db in 0..self.dbs.len() {
            let d = &mut self.dbs[db];
            d.map.retain(|k, _| keep(k));
            d.expires.retain(|k| keep(k));
            self.sizes_changed(db);
        }
    }

    /// Pins the value at `key` (which must exist) for a paced reply: from now on it reads
    /// the value as it is now, whatever later commands do to the key (`pin`).
    pub fn pin(&mut self, db: usize, key: &[u8]) -> pin::PinId {
        debug_assert!(self.dbs[db].map.contains_key(key));
        self.pins.pin(db, key)
    }

    /// Gives a pin back.
    pub fn unpin(&mut self, pin: pin::PinId) {
        self.pins.unpin(pin);
    }

    /// The value a pin holds: the key's own value while nothing changed it, else the copy
    /// taken before the change.
    pub fn pinned(&self, pin: &pin::PinId) -> Option<&Value> {
        match self.pins.locate(pin)? {
            Ok(v) => Some(v),
            Err((db, key)) => self.dbs[db].map.get(key).map(|e| &e.value),
        }
    }

    /// Every key of `db` with its entry, logically expired ones included (a snapshot
    /// leaves those out itself).
    pub fn entries(&self, db: usize) -> impl Iterator<Item = (&[u8], &Entry)> + '_ {
        self.dbs[db].map.iter().map(|(k, e)| (&k[..], e))
    }

    /// Calls `f` with every live key of `db` matching `pattern`; returns how many.
    pub fn for_each_key(
        &self,
        db: usize,
        pattern: &[u8],
        now_ms: u64,
        mut f: impl FnMut(&[u8]),
    ) -> usize {
        let all = pattern == b"*";
        let mut n = 0;
        for (k, e) in &self.dbs[db].map {
            if (e.expire_at_ms == 0 || now_ms <= e.expire_at_ms)
                && (all || glob_match(pattern, k, false))
            {
                f(k);
                n += 1;
            }
        }
        n
    }

    /// One SCAN step over `db`. The cursor counts down from the top index, so a key moved
    /// by a `swap_remove` (always from the end, which was already visited) can be returned
    /// twice but a key present for the whole scan is never missed; keys added during the
    /// scan are appended above the cursor and may be skipped, both as Redis allows.
    /// `cursor` 0 starts a scan; the returned cursor is 0 when it is complete.
    pub fn scan(
        &mut self,
        db: usize,
        cursor: u64,
        count: usize,
        mut keep: impl FnMut(&[u8], &Value) -> bool,
        now_ms: u64,
    ) -> (u64, Vec<Key>) {
        let d = &self.dbs[db];
        let mut next = if cursor == 0 {
            d.map.len()
        } else {
            (cursor as usize).min(d.map.len())
        };
        let mut out = Vec::new();
        let mut visited = 0;
        while next > 0 && visited < count.max(1) {
            next -= 1;
            visited += 1;
            let (k, e) = d.map.get_index(next).expect("index below len");
            if e.expire_at_ms != 0 && now_ms > e.expire_at_ms {
                continue;
            }
            if keep(k, &e.value) {
                out.push(k.clone());
            }
        }
        (next as u64, out)
    }

    /// A random live key of `db`, if any.
    pub fn random_key(&mut self, db: usize, now_ms: u64) -> Option<Key> {
        // Bounded tries, like Redis, in case most keys are logically expired.
        for _ in 0..100 {
            let n = self.dbs[db].map.len();
            if n == 0 {
                return None;
            }
            let i = (self.next_rand() % n as u64) as usize;
            let (k, e) = self.dbs[db].map.get_index(i).expect("index below len");
            if e.expire_at_ms != 0 && now_ms > e.expire_at_ms {
                let k = k.clone();
                self.expire_if_needed(db, &k, now_ms);
                continue;
            }
            return Some(k.clone());
        }
        None
    }

    /// One slice of the active expiry cycle (Redis's `activeExpireCycle`, slow mode):
    /// sample up to 20 keys with an expiry per database, delete the expired ones, and repeat
    /// on a database while more than a quarter of a sample was expired. Stops after
    /// `keys_max` samples so one turn stays short. Returns the number of keys removed.
    pub fn active_expire(&mut self, now_ms: u64, keys_max: usize) -> usize {
        const SAMPLE: usize = 20;
        let mut sampled = 0;
        let mut removed = 0;
        let ndb = self.dbs.len();
        for _ in 0..ndb {
            let db = self.expire_cursor_db;
            self.expire_cursor_db = (self.expire_cursor_db + 1) % ndb;
            loop {
                let n = self.dbs[db].expires.len();
                if n == 0 {
                    break;
                }
                let mut expired_here = 0;
                let (mut ttl_sum, mut ttl_count) = (0u64, 0u64);
                let take = SAMPLE.min(n);
                for _ in 0..take {
                    let n = self.dbs[db].expires.len();
                    if n == 0 {
                        break;
                    }
                    let i = (self.next_rand() % n as u64) as usize;
                    let key = self.dbs[db]
                        .expires
                        .get_index(i)
                        .expect("index below len")
                        .clone();
                    if self.expire_if_needed(db, &key, now_ms) {
                        expired_here += 1;
                    } else if let Some(e) = self.dbs[db].map.get(&key) {
                        ttl_sum += e.expire_at_ms.saturating_sub(now_ms);
                        ttl_count += 1;
                    }
                }
                if let Some(avg) = ttl_sum.checked_div(ttl_count) {
                    let d = &mut self.dbs[db];
                    d.avg_ttl_ms = if d.avg_ttl_ms == 0 {
                        avg
                    } else {
                        d.avg_ttl_ms / 50 * 49 + avg / 50
                    };
                }
                sampled += take;
                removed += expired_here;
                if sampled >= keys_max {
                    return removed;
                }
                if expired_here * 4 <= take {
                    break;
                }
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_small() {
        // An entry per key: keeping `Value` at 32 bytes keeps every key's slot small.
        assert!(
            std::mem::size_of::<Value>() <= 32,
            "{}",
            std::mem::size_of::<Value>()
        );
    }

    #[test]
    fn dump_restores_every_kind_of_value() {
        let mut l = list::List::new();
        for e in [&b"a"[..], b"", b"\x00\xffbinary"] {
            l.push_back(e);
        }
        let mut st = stream::Stream::default();
        let id = |ms| stream::StreamId { ms, seq: 1 };
        for ms in 1..=3 {
            st.append(id(ms), [&b"f"[..], b"v"], stream::NodeLimits::default());
        }
        st.max_deleted = id(1);
        let mut g = stream_group::Group::new(id(2), Some(2));
        let (c, _) = g.create_consumer(b"worker", 5);
        g.assign(id(2), c, 7, 3);
        st.groups.insert(b"jobs"[..].into(), g);
        st.groups
            .insert(b"empty"[..].into(), stream_group::Group::default());
        let values = [
            Value::Str(Str::Int(-42)),
            Value::Str(Str::from_bytes(b"hello")),
            Value::Str(Str::Bytes {
                data: b"x".to_vec(),
                raw: true,
            }),
            Value::List(Box::new(l)),
            Value::Stream(Box::new(st)),
        ];
        for (i, v) in values.into_iter().enumerate() {
            let mut buf = Vec::new();
            v.dump(i as u64 * 1000, &mut buf);
            assert_eq!(Value::restore(&buf), Some((v, i as u64 * 1000)));
        }
        assert_eq!(Value::restore(b"short"), None);
    }

    #[test]
    fn dump_restores_a_stream_and_refuses_ids_out_of_order() {
        use stream::{NodeLimits, Stream, StreamId};
        let mut st = Stream::default();
        for i in 1..=250u64 {
            let v = i.to_string();
            let pairs = if i % 7 == 0 {
                vec![&b"other"[..], v.as_bytes()]
            } else {
                vec![&b"type"[..], b"t", b"n", v.as_bytes()]
            };
            st.append(StreamId { ms: i, seq: 0 }, pairs, NodeLimits::default());
        }
        assert!(st.delete(StreamId { ms: 5, seq: 0 }));
        let flat = |st: &Stream| -> Vec<(StreamId, Vec<Vec<u8>>)> {
            st.entries()
                .map(|e| (e.id, e.pairs().map(<[u8]>::to_vec).collect()))
                .collect()
        };
        let mut buf = Vec::new();
        Value::Stream(Box::new(st.clone())).dump(0, &mut buf);
        let Some((Value::Stream(back), 0)) = Value::restore(&buf) else {
            panic!("a stream");
        };
        assert_eq!(flat(&back), flat(&st));
        assert_eq!(
            (back.last_id, back.max_deleted, back.entries_added),
            (st.last_id, st.max_deleted, st.entries_added)
        );
        // Two entries swapped: refused, not appended out of order.
        let mut two = Stream::default();
        two.append(
            StreamId { ms: 1, seq: 0 },
            [&b"f"[..], b"a"],
            NodeLimits::default(),
        );
        two.append(
            StreamId { ms: 2, seq: 0 },
            [&b"f"[..], b"b"],
            NodeLimits::default(),
        );
        let mut buf = Vec::new();
        Value::Stream(Box::new(two)).dump(0, &mut buf);
        // expire 8, kind 1, last/max-deleted IDs 32, added 8, groups 8; entry 1: ID 16,
        // count 4, two items of 4 + 1: the second entry's ms is at 87.
        assert_eq!(buf[87..95], 2u64.to_le_bytes());
        buf[87..95].copy_from_slice(&1u64.to_le_bytes());
        assert_eq!(Value::restore(&buf).map(|_| ()), None);
    }

    fn s(v: &str) -> Value {
        Value::Str(Str::from_bytes(v.as_bytes()))
    }

    #[test]
    fn integers_are_int_encoded_and_others_embstr() {
        assert_eq!(Str::from_bytes(b"123").encoding(), "int");
        assert_eq!(Str::from_bytes(b"0123").encoding(), "embstr");
        assert_eq!(Str::from_bytes(&[b'a'; 45]).encoding(), "raw");
    }

    #[test]
    fn expired_keys_vanish_on_access() {
        let mut ks = Keyspace::new(16, 1);
        ks.set(0, b"k", s("v"), Ttl::At(1000), 0);
        assert!(ks.exists(0, b"k", 1000));
        assert!(!ks.exists(0, b"k", 1001));
        assert_eq!(ks.len(0), 0);
        assert_eq!(ks.expires_len(0), 0);
        assert_eq!(ks.stats().expired.load(Relaxed), 1);
    }

    #[test]
    fn active_expiry_removes_expired_keys_in_bounded_steps() {
        let mut ks = Keyspace::new(1, 7);
        for i in 0..1000 {
            let ttl = if i % 2 == 0 { Ttl::At(10) } else { Ttl::Clear };
            ks.set(0, format!("k{i}").as_bytes(), s("v"), ttl, 0);
        }
        let mut total = 0;
        for _ in 0..100 {
            total += ks.active_expire(11, 200);
        }
        assert_eq!(total, 500);
        assert_eq!(ks.len(0), 500);
    }

    /// What a test keeper collected: (database, key, value).
    type Kept = std::sync::Arc<std::sync::Mutex<Vec<(usize, Vec<u8>, Vec<u8>)>>>;

    /// A keeper that collects what it is given, shared with the test.
    struct Collect(Kept);

    impl walk::Keeper for Collect {
        fn keep(&mut self, db: usize, key: &[u8], e: &Entry, _walking: bool) {
            let Value::Str(s) = &e.value else {
                panic!("strings only")
            };
            self.0.lock().unwrap().push((db, key.to_vec(), s.to_vec()));
        }

        fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
            self
        }
    }

    fn str_of(v: &str) -> Value {
        Value::Str(Str::from_bytes(v.as_bytes()))
    }

    #[test]
    fn a_walk_keeps_the_keyspace_as_it_was_at_its_start_whatever_changes_meanwhile() {
        for seed in 1..200u64 {
            let mut ks = Keyspace::new(3, seed);
            let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut next = move |n: u64| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % n
            };
            for i in 0..(next(300) + 1) {
                let db = next(3) as usize;
                ks.set(
                    db,
                    format!("k{i}").as_bytes(),
                    str_of(&format!("v{i}")),
                    Ttl::Clear,
                    0,
                );
            }
            let mut want: Vec<(usize, Vec<u8>, Vec<u8>)> = (0..3)
                .flat_map(|db| {
                    ks.entries(db)
                        .map(|(k, e)| match &e.value {
                            Value::Str(s) => (db, k.to_vec(), s.to_vec()),
                            _ => unreachable!(),
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            want.sort();
            let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            ks.start_walk(Box::new(Collect(got.clone())), 0);
            let mut fresh = 300;
            loop {
                // A few changes between two steps of the walk.
                for _ in 0..next(8) {
                    let db = next(3) as usize;
                    let key = format!("k{}", next(400));
                    match next(10) {
                        0..=3 => ks.set(db, key.as_bytes(), str_of("changed"), Ttl::Clear, 0),
                        4..=6 => {
                            ks.remove(db, key.as_bytes(), 0);
                        }
                        7 | 8 => {
                            fresh += 1;
                            ks.set(
                                db,
                                format!("k{fresh}").as_bytes(),
                                str_of("new"),
                                Ttl::Clear,
                                0,
                            );
                        }
                        _ if next(20) == 0 => {
                            ks.flush(db);
                        }
                        _ => {}
                    }
                }
                if ks.walk_step(1 + next(5) as usize).is_some() {
                    break;
                }
            }
            let mut got = got.lock().unwrap().clone();
            got.sort();
            assert_eq!(got, want, "seed {seed}");
        }
    }

    #[test]
    fn a_removal_behind_the_walk_does_not_hide_the_key_moved_into_its_place() {
        let mut ks = Keyspace::new(1, 1);
        for k in ["a", "b", "c"] {
            ks.set(0, k.as_bytes(), str_of(k), Ttl::Clear, 0);
        }
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        ks.start_walk(Box::new(Collect(got.clone())), 0);
        assert!(ks.walk_step(1).is_none());
        // `a` was walked; removing it moves `c` (not walked yet) into its slot.
        ks.remove(0, b"a", 0);
        while ks.walk_step(1).is_none() {}
        let mut keys: Vec<Vec<u8>> = got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, k, _)| k.clone())
            .collect();
        keys.sort();
        assert_eq!(keys, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn scan_returns_every_key_once_when_nothing_changes() {
        let mut ks = Keyspace::new(1, 3);
        for i in 0..1000 {
            ks.set(0, format!("k{i}").as_bytes(), s("v"), Ttl::Clear, 0);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            let (next, keys) = ks.scan(0, cursor, 7, |_, _| true, 0);
            for k in keys {
                assert!(seen.insert(k));
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn scan_never_misses_a_key_present_throughout_while_others_are_deleted() {
        let mut ks = Keyspace::new(1, 3);
        for i in 0..100 {
            ks.set(0, format!("k{i}").as_bytes(), s("v"), Ttl::Clear, 0);
        }
        let mut seen = std::collections::HashSet::new();
        let (mut cursor, keys) = ks.scan(0, 0, 10, |_, _| true, 0);
        seen.extend(keys);
        // Delete keys below the cursor; keys from the end move into their slots.
        for i in 0..50 {
            if i % 3 == 0 {
                ks.remove(0, format!("k{i}").as_bytes(), 0);
            }
        }
        while cursor != 0 {
            let (next, keys) = ks.scan(0, cursor, 10, |_, _| true, 0);
            seen.extend(keys);
            cursor = next;
        }
        for i in 0..100 {
            if !(i < 50 && i % 3 == 0) {
                assert!(seen.contains(format!("k{i}").as_bytes()), "missed k{i}");
            }
        }
    }
}
