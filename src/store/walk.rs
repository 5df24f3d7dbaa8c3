//! A snapshot walk: a point-in-time copy of a shard's keyspace written while the shard
//! goes on serving, without fork and without a second copy of the data.
//!
//! The walk visits every database's keys in index order, a budget of keys per turn
//! (`Keyspace::walk_step`), handing each to its `Keeper` (which writes it out). The keys
//! it has not reached yet are kept as they were when it started by copy-on-write per
//! key: before a change to an unvisited key, the keyspace hands that key's current entry
//! to the keeper first and notes it as done (`Keyspace::cow`). Keys created after the
//! start are noted as done too, so the walk skips them; a removal that moves the last
//! entry into a visited slot (IndexMap's `swap_remove`) keeps that entry first. What the
//! walk holds beyond the keyspace is the set of keys done early: the keys written since
//! it started, never their values.

use std::collections::HashSet;

use super::{Entry, Key};

/// Where a walk's entries go.
pub trait Keeper: Send {
    /// Writes `key`'s entry of database `db`. `walking` is true when the walk is in `db`
    /// now (its own visits, and changes ahead of it there), false for a change in a
    /// database the walk has not reached.
    fn keep(&mut self, db: usize, key: &[u8], e: &Entry, walking: bool);

    /// The keeper itself, to take back its concrete type once the walk is over.
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
}

/// A walk in progress.
pub(super) struct Walk {
    /// The start (ms): a key expired by then is not in the snapshot.
    pub at_ms: u64,
    /// The database being walked (`databases` once done).
    pub db: usize,
    /// The next index in it.
    pub index: usize,
    /// Per database, the keys written ahead of the walk or created since its start.
    pub done: Vec<HashSet<Key, ahash::RandomState>>,
    /// Where entries go.
    pub keeper: Box<dyn Keeper>,
}

impl Walk {
    /// A walk of `databases` databases from `at_ms`.
    pub fn new(databases: usize, at_ms: u64, keeper: Box<dyn Keeper>) -> Walk {
        Walk {
            at_ms,
            db: 0,
            index: 0,
            done: (0..databases).map(|_| HashSet::default()).collect(),
            keeper,
        }
    }

    /// True if the walk already wrote (or will never write) the key at `index` of `db`.
    pub fn visited(&self, db: usize, index: usize) -> bool {
        db < self.db || (db == self.db && index < self.index)
    }

    /// True if an entry is not part of the snapshot (its time ran out before the start).
    pub fn expired(&self, e: &Entry) -> bool {
        e.expire_at_ms != 0 && e.expire_at_ms <= self.at_ms
    }
}
