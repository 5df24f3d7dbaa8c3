//! Multi-shard transactions: the per-shard lock table, and the state a connection keeps
//! while it acquires locks, holds them, queues a MULTI or replays an EXEC.
//!
//! The protocol that moves lock requests between shards, and MULTI / EXEC / WATCH on top
//! of it, live in `shard::txn`; the watched-key registry in `store::watch`. This module is
//! pure data: no sockets, no threads. DESIGN.md "Multi-shard transactions" is the
//! contract.
//!
//! Locks are exclusive intent locks on key hashes (`key_hash`): two keys that collide in
//! 64 bits merely share a lock, which costs a little concurrency and never correctness.
//! A request is granted only when none of its keys is held by another transaction and no
//! earlier waiter wants one of them (first come, first served: no starvation).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::hop::{ConnRef, OwnedCmds};

/// A transaction id, from one global counter (`Shared::tx_seq`). Never 0.
pub type TxId = u64;

pub use crate::store::key_hash;

/// What a transaction locks on one shard: some keys, or the whole shard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockSet {
    /// The whole shard (FLUSHALL, DBSIZE, KEYS, a MULTI that contains one of them).
    pub all: bool,
    /// Key hashes, sorted, without duplicates.
    pub keys: Vec<u64>,
}

impl LockSet {
    /// A set of keys (any order, duplicates allowed).
    pub fn of(mut keys: Vec<u64>) -> LockSet {
        keys.sort_unstable();
        keys.dedup();
        LockSet { all: false, keys }
    }

    /// The whole shard.
    pub fn whole() -> LockSet {
        LockSet {
            all: true,
            keys: Vec::new(),
        }
    }

    /// Adds keys (keeps the set sorted and unique).
    pub fn extend(&mut self, more: impl IntoIterator<Item = u64>) {
        self.keys.extend(more);
        self.keys.sort_unstable();
        self.keys.dedup();
    }

    /// Adds one key, keeping the keys sorted and unique.
    pub fn insert(&mut self, key: u64) {
        if let Err(at) = self.keys.binary_search(&key) {
            self.keys.insert(at, key);
        }
    }

    fn overlaps(&self, other: &LockSet) -> bool {
        if self.all || other.all {
            return true;
        }
        let (mut i, mut j) = (0, 0);
        while i < self.keys.len() && j < other.keys.len() {
            match self.keys[i].cmp(&other.keys[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }
}

/// Who waits for a lock on this shard, and what to do once it is granted. `M` is the
/// message a parked hop arrived in (`shard::msg::Msg`); this module only holds it.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug)]
pub enum Waiter<M> {
    /// A transaction coordinated by another shard: tell it (`Msg::Locked`).
    Remote { home: usize, conn: ConnRef },
    /// A transaction of one of this shard's connections: resume its acquisition.
    Local { conn: ConnRef },
    /// A hop to run once its locks are held: a plain command from another shard that
    /// touched locked keys (`release`: let go right after), or a step of a chained
    /// command (`release` only on its last step).
    Run { msg: Box<M>, release: bool },
}

/// A shard's lock table; `M` as in `Waiter`.
#[derive(Debug)]
pub struct Locks<M> {
    /// Key hash -> the transaction holding it.
    held: HashMap<u64, TxId, ahash::RandomState>,
    /// The transaction holding the whole shard.
    whole: Option<TxId>,
    /// What each holder holds.
    holders: HashMap<TxId, LockSet, ahash::RandomState>,
    /// Requests not yet granted, in arrival order.
    queue: VecDeque<(TxId, LockSet, Waiter<M>)>,
}

impl<M> Default for Locks<M> {
    fn default() -> Self {
        Self {
            held: HashMap::default(),
            whole: None,
            holders: HashMap::default(),
            queue: VecDeque::new(),
        }
    }
}

impl<M> Locks<M> {
    /// True if any lock is held or wanted: only then must a plain command check its keys.
    #[inline]
    pub fn busy(&self) -> bool {
        !self.holders.is_empty() || !self.queue.is_empty()
    }

    /// True if `set` cannot be granted to `tx` now: a key is held by another transaction,
    /// or wanted by a waiter that came first.
    pub fn conflicts(&self, tx: TxId, set: &LockSet) -> bool {
        self.held_by_other(tx, set) || self.queue.iter().any(|(_, s, _)| s.overlaps(set))
    }

    fn held_by_other(&self, tx: TxId, set: &LockSet) -> bool {
        if self.whole.is_some_and(|t| t != tx) {
            return true;
        }
        if set.all {
            return self.holders.keys().any(|&t| t != tx);
        }
        set.keys
            .iter()
            .any(|k| self.held.get(k).is_some_and(|&t| t != tx))
    }

    /// True if `key_hash` is held by some transaction.
    pub fn is_held(&self, key: u64) -> bool {
        self.whole.is_some() || self.held.contains_key(&key)
    }

    /// Grants `set` to `tx` if nothing conflicts. Never waits.
    pub fn try_lock(&mut self, tx: TxId, set: LockSet) -> bool {
        if self.conflicts(tx, &set) {
            return false;
        }
        self.grant(tx, set);
        true
    }

    /// Grants `set` to `tx` now (returning the waiter back) or queues it.
    pub fn lock_or_queue(
        &mut self,
        tx: TxId,
        set: LockSet,
        waiter: Waiter<M>,
    ) -> Option<Waiter<M>> {
        if self.conflicts(tx, &set) {
            self.queue.push_back((tx, set, waiter));
            None
        } else {
            self.grant(tx, set);
            Some(waiter)
        }
    }

    fn grant(&mut self, tx: TxId, set: LockSet) {
        if set.all {
            self.whole = Some(tx);
        }
        for &k in &set.keys {
            self.held.insert(k, tx);
        }
        match self.holders.get_mut(&tx) {
            Some(s) => {
                s.all |= set.all;
                s.extend(set.keys);
            }
            None => {
                self.holders.insert(tx, set);
            }
        }
    }

    /// Releases everything `tx` holds here (or its queued request, if it never got it) and
    /// grants what now can be granted, in queue order. Returns the granted waiters.
    pub fn release(&mut self, tx: TxId) -> Vec<(TxId, Waiter<M>)> {
        if let Some(set) = self.holders.remove(&tx) {
            if set.all && self.whole == Some(tx) {
                self.whole = None;
            }
            for k in &set.keys {
                if self.held.get(k) == Some(&tx) {
                    self.held.remove(k);
                }
            }
        }
        self.queue.retain(|(t, _, _)| *t != tx);
        self.grant_waiters()
    }

    /// Grants queued requests that no holder and no earlier waiter conflicts with.
    fn grant_waiters(&mut self) -> Vec<(TxId, Waiter<M>)> {
        let mut granted = Vec::new();
        let mut skipped: Vec<LockSet> = Vec::new();
        let mut i = 0;
        while i < self.queue.len() {
            let (tx, ref set, _) = self.queue[i];
            let blocked = self.held_by_other(tx, set) || skipped.iter().any(|s| s.overlaps(set));
            if blocked {
                skipped.push(set.clone());
                i += 1;
                continue;
            }
            let (tx, set, waiter) = self.queue.remove(i).expect("index in range");
            self.grant(tx, set);
            granted.push((tx, waiter));
        }
        granted
    }

    /// Queued requests (INFO, tests).
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// Transactions holding locks here (INFO, tests).
    pub fn holding(&self) -> usize {
        self.holders.len()
    }
}

/// When a connection's held locks are released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// When the command that took them has replied.
    Command,
    /// When the EXEC that took them has replayed every queued command.
    Exec,
}

/// Locks a connection holds on every shard of its transaction.
#[derive(Debug)]
pub struct Hold {
    /// The transaction.
    pub id: TxId,
    /// Shards holding its locks.
    pub shards: Vec<usize>,
    /// When they go.
    pub scope: Scope,
}

/// A lock acquisition in progress for one connection (see DESIGN.md for the protocol).
#[derive(Debug)]
pub struct Acquire {
    /// The transaction.
    pub id: TxId,
    /// Per shard, ascending by shard: what to lock there.
    pub sets: Vec<(usize, LockSet)>,
    /// Shards whose locks are held so far.
    pub taken: Vec<usize>,
    /// False while the transaction holds a lock taken out of shard order: it must then
    /// not wait anywhere (a refusal sends it back to the ordered way).
    pub wait: bool,
    /// When the locks go once held.
    pub scope: Scope,
}

impl Acquire {
    /// The next shard to ask, in ascending order, skipping those already held.
    pub fn next_shard(&self) -> Option<usize> {
        self.sets
            .iter()
            .map(|(s, _)| *s)
            .find(|s| !self.taken.contains(s))
    }

    /// The lock set for shard `s`.
    pub fn set_for(&self, s: usize) -> LockSet {
        self.sets
            .iter()
            .find(|(t, _)| *t == s)
            .map(|(_, set)| set.clone())
            .unwrap_or_default()
    }
}

/// A one-step multi-key command (MSET, MGET, DEL ...) run shard by shard in ascending
/// shard order: each step locks its keys there (waiting if it must), runs its part, and
/// keeps the locks until the command has replied; the last step lets go at once.
/// Later pipelined commands over the same shards may join it while its steps have not
/// left (`Shard::append_to_chain`): one round trip then serves a whole pipeline.
#[derive(Debug)]
pub struct Chain {
    /// The transaction.
    pub id: TxId,
    /// Steps not yet run or sent, ascending by shard.
    pub steps: VecDeque<Step>,
    /// The first step's locks here were granted after a wait: do not ask again.
    pub front_locked: bool,
    /// The first step waits in this shard's lock queue: its lock set is fixed.
    pub front_waiting: bool,
    /// The shard of each part, by part number.
    pub part_shards: Vec<usize>,
}

/// One shard's step of a chain.
#[derive(Debug)]
pub struct Step {
    /// Where it runs.
    pub shard: usize,
    /// Its part number in the gather.
    pub part: u32,
    /// What it locks there.
    pub set: LockSet,
    /// What it runs.
    pub cmds: OwnedCmds,
}

/// A connection between MULTI and EXEC.
#[derive(Debug, Default)]
pub struct Queued {
    /// The queued commands.
    pub cmds: OwnedCmds,
    /// A command was refused while queuing: EXEC replies EXECABORT.
    pub aborted: bool,
}

/// An EXEC replaying its queued commands.
#[derive(Debug, Default)]
pub struct Replay {
    /// The commands.
    pub cmds: OwnedCmds,
    /// The next one to run.
    pub next: usize,
}

/// Where a connection's EXEC that replays its queued commands one at a time stands. One
/// value, so "one of its commands is running" and "it waits between commands" exclude each
/// other.
#[derive(Debug, Default)]
pub enum Exec {
    /// No EXEC replays.
    #[default]
    Off,
    /// One of its queued commands runs now (the replay itself is on `Shard::replay`'s
    /// stack): blocking commands do not block, and replies are written whole.
    Running,
    /// Waiting for a queued command to finish on other shards (or for the keys it pushed
    /// to be served); the replay goes on from `Replay::next`.
    Paused(Replay),
}

impl Exec {
    /// One of the EXEC's commands runs now.
    pub fn running(&self) -> bool {
        matches!(self, Exec::Running)
    }

    /// The EXEC waits between two of its commands.
    pub fn paused(&self) -> bool {
        matches!(self, Exec::Paused(_))
    }
}

/// WATCHed keys of a connection.
#[derive(Debug)]
pub struct Watch {
    /// Set by an owner shard when a watched key changes.
    pub dirty: Arc<AtomicBool>,
    /// (owner shard, database, key) of every watched key.
    pub keys: Vec<(usize, usize, Box<[u8]>)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(id: u64) -> Waiter<()> {
        Waiter::Local {
            conn: ConnRef { slot: 0, id },
        }
    }

    #[test]
    fn disjoint_sets_do_not_wait() {
        let mut l = Locks::<()>::default();
        assert!(l.try_lock(1, LockSet::of(vec![1, 2])));
        assert!(l.try_lock(2, LockSet::of(vec![3])));
        assert!(!l.try_lock(3, LockSet::of(vec![2, 5])));
        assert_eq!(l.holding(), 2);
    }

    #[test]
    fn waiters_are_granted_in_order_on_release() {
        let mut l = Locks::<()>::default();
        assert!(l.try_lock(1, LockSet::of(vec![1])));
        assert!(l
            .lock_or_queue(2, LockSet::of(vec![1, 2]), local(2))
            .is_none());
        // 3 wants 2, which waiter 2 asked for first: it queues behind.
        assert!(l.lock_or_queue(3, LockSet::of(vec![2]), local(3)).is_none());
        // 4 is disjoint from everything: granted at once.
        assert!(l.lock_or_queue(4, LockSet::of(vec![9]), local(4)).is_some());
        assert_eq!(l.waiting(), 2);
        let g = l.release(1);
        assert_eq!(g.iter().map(|(t, _)| *t).collect::<Vec<_>>(), vec![2]);
        let g = l.release(2);
        assert_eq!(g.iter().map(|(t, _)| *t).collect::<Vec<_>>(), vec![3]);
        l.release(3);
        l.release(4);
        assert!(!l.busy());
    }

    #[test]
    fn whole_shard_excludes_everything() {
        let mut l = Locks::<()>::default();
        assert!(l.try_lock(1, LockSet::of(vec![1])));
        assert!(l.lock_or_queue(2, LockSet::whole(), local(2)).is_none());
        // Behind a whole-shard waiter, even disjoint keys wait.
        assert!(l.lock_or_queue(3, LockSet::of(vec![7]), local(3)).is_none());
        let g = l.release(1);
        assert_eq!(g.len(), 1);
        assert!(l.is_held(12345));
        let g = l.release(2);
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn releasing_a_queued_request_drops_it() {
        let mut l = Locks::<()>::default();
        assert!(l.try_lock(1, LockSet::of(vec![1])));
        assert!(l.lock_or_queue(2, LockSet::of(vec![1]), local(2)).is_none());
        assert!(l.release(2).is_empty());
        assert!(l.release(1).is_empty());
        assert!(!l.busy());
    }

    #[test]
    fn own_locks_do_not_conflict() {
        let mut l = Locks::<()>::default();
        assert!(l.try_lock(1, LockSet::of(vec![1, 2])));
        assert!(!l.conflicts(1, &LockSet::of(vec![2])));
        assert!(l.conflicts(5, &LockSet::of(vec![2])));
    }

    #[test]
    fn key_hash_separates_databases() {
        assert_ne!(key_hash(0, b"k"), key_hash(1, b"k"));
        assert_eq!(key_hash(3, b"k"), key_hash(3, b"k"));
    }
}
