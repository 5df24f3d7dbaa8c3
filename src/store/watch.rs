//! WATCHed keys of one shard: key -> the dirty flags of the connections watching it.
//!
//! The keyspace marks a flag when a watched key changes (written, deleted, expired,
//! flushed); EXEC reads the flag once its locks are held. Empty for almost every shard
//! almost always, so a write pays one `is_empty` test.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Release};
use std::sync::{Arc, OnceLock};

/// The 64-bit name of `key` in database `db`, the same on every shard: the unit of
/// locking (`tx`) and of watching.
pub fn key_hash(db: usize, key: &[u8]) -> u64 {
    static STATE: OnceLock<ahash::RandomState> = OnceLock::new();
    let state = STATE.get_or_init(|| {
        ahash::RandomState::with_seeds(
            0x243f_6a88_85a3_08d3,
            0x1319_8a2e_0370_7344,
            0xa409_3822_299f_31d0,
            0x082e_fa98_ec4e_6c89,
        )
    });
    state.hash_one((db as u16, key))
}

/// One watcher of one key.
#[derive(Debug)]
struct Watcher {
    db: usize,
    key: Box<[u8]>,
    dirty: Arc<AtomicBool>,
}

/// A shard's watched keys.
#[derive(Debug, Default)]
pub struct Watches {
    by_key: HashMap<u64, Vec<Watcher>, ahash::RandomState>,
}

impl Watches {
    /// True if nothing is watched here.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Registers `dirty` as a watcher of `key` in `db`.
    pub fn add(&mut self, db: usize, key: &[u8], dirty: &Arc<AtomicBool>) {
        let v = self.by_key.entry(key_hash(db, key)).or_default();
        if !v.iter().any(|w| Arc::ptr_eq(&w.dirty, dirty)) {
            v.push(Watcher {
                db,
                key: key.into(),
                dirty: Arc::clone(dirty),
            });
        }
    }

    /// Drops `dirty` from the watchers of the key named `hash`.
    pub fn remove(&mut self, hash: u64, dirty: &Arc<AtomicBool>) {
        if let Some(v) = self.by_key.get_mut(&hash) {
            v.retain(|w| !Arc::ptr_eq(&w.dirty, dirty));
            if v.is_empty() {
                self.by_key.remove(&hash);
            }
        }
    }

    /// The watched keys named `hash`: (database, key).
    pub fn keys_named(&self, hash: u64) -> Vec<(usize, Box<[u8]>)> {
        self.by_key
            .get(&hash)
            .map(|v| v.iter().map(|w| (w.db, w.key.clone())).collect())
            .unwrap_or_default()
    }

    /// Marks the watchers of `key` in `db` dirty.
    pub fn touch(&self, db: usize, key: &[u8]) {
        if let Some(v) = self.by_key.get(&key_hash(db, key)) {
            for w in v.iter().filter(|w| w.db == db && *w.key == *key) {
                w.dirty.store(true, Release);
            }
        }
    }

    /// Marks the watchers of every key of `db` for which `exists` says true.
    pub fn touch_db(&self, db: usize, mut exists: impl FnMut(&[u8]) -> bool) {
        for w in self.by_key.values().flatten() {
            if w.db == db && exists(&w.key) {
                w.dirty.store(true, Release);
            }
        }
    }
}
