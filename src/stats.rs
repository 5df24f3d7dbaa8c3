//! Counters INFO reports, written where they change: one shard writes each of its own
//! with a plain load and store (`bump`), and INFO on any shard reads them all.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::store::KeyspaceStats;

/// Adds `n` to a counter that only one thread writes. A plain load and store, not a
/// locked read-modify-write: the owner shard is the only writer, readers (INFO) tolerate
/// a value one turn old.
#[inline]
pub fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Per-command counters (INFO commandstats).
#[derive(Default)]
pub struct CmdStats {
    /// Calls that ran.
    pub calls: AtomicU64,
    /// Microseconds spent.
    pub usec: AtomicU64,
    /// Calls that replied with an error.
    pub failed: AtomicU64,
    /// Calls refused before running (arity, auth).
    pub rejected: AtomicU64,
}

/// One shard's counters. Written only by that shard; read by INFO on any shard.
pub struct ShardStats {
    /// Commands run.
    pub commands: AtomicU64,
    /// The keyspace's change counter, published by the cron (`Keyspace::dirty`).
    pub changes: AtomicU64,
    /// The change counter when the last snapshot took this shard's keys.
    pub changes_at_save: AtomicU64,
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected_connections: AtomicU64,
    /// Commands refused (unknown, arity, auth).
    pub rejected_calls: AtomicU64,
    /// Bytes read from clients.
    pub net_input_bytes: AtomicU64,
    /// Bytes written to clients.
    pub net_output_bytes: AtomicU64,
    /// Hops sent to other shards.
    pub hops: AtomicU64,
    /// Connections that moved from this shard to another (`shard::place`).
    pub moved_connections: AtomicU64,
    /// The shard's keyspace numbers (hits, misses, expired keys, keys and expiries per
    /// database), kept current by the keyspace itself as it changes.
    pub keyspace: Arc<KeyspaceStats>,
    /// Average TTL estimate (ms) per database, published by cron.
    pub avg_ttl_ms: Vec<AtomicU64>,
    /// Per-command counters, indexed by command id.
    pub cmd: Vec<CmdStats>,
    /// Error replies by code (`ERR`, `WRONGTYPE`, ...) for INFO errorstats. Errors are
    /// rare, so a lock (uncontended: one writer) is fine here.
    pub errors: std::sync::Mutex<ahash::AHashMap<String, u64>>,
}

impl ShardStats {
    /// Zeroed counters for `databases` databases and `commands` command ids.
    pub fn new(databases: usize, commands: usize) -> Self {
        let z = || AtomicU64::new(0);
        Self {
            commands: z(),
            changes: z(),
            changes_at_save: z(),
            connections_received: z(),
            rejected_connections: z(),
            rejected_calls: z(),
            net_input_bytes: z(),
            net_output_bytes: z(),
            hops: z(),
            moved_connections: z(),
            keyspace: Arc::new(KeyspaceStats::new(databases)),
            avg_ttl_ms: (0..databases).map(|_| z()).collect(),
            cmd: (0..commands).map(|_| CmdStats::default()).collect(),
            errors: Default::default(),
        }
    }

    /// Zeroes the counters (not the gauges). Called by the owner shard.
    pub fn reset(&self) {
        for a in [
            &self.commands,
            &self.connections_received,
            &self.rejected_connections,
            &self.rejected_calls,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.hops,
            &self.moved_connections,
        ] {
            a.store(0, Relaxed);
        }
        self.keyspace.reset_counters();
        self.errors.lock().expect("errorstats lock").clear();
        for c in &self.cmd {
            c.calls.store(0, Relaxed);
            c.usec.store(0, Relaxed);
            c.failed.store(0, Relaxed);
            c.rejected.store(0, Relaxed);
        }
    }
}
