//! What every shard can read: the mailboxes, the configuration, the id counters, the
//! per-shard counters and the pub/sub registry. Built once by `server`, then shared.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::RwLock;
use std::time::Instant;

use crate::config::Config;
use crate::stats::ShardStats;
use crate::sync::Mailbox;

/// What every shard can read. Read-mostly; the hot path touches only its own
/// `stats[shard]` and, for hops, the destination's mailbox.
pub struct Shared {
    /// Number of shards.
    pub shards: usize,
    /// Each shard's mailbox, indexed by shard.
    pub mailboxes: Vec<Mailbox<super::msg::Msg>>,
    /// The configuration (CONFIG GET/SET); shards cache typed copies.
    pub config: RwLock<Config>,
    /// Bumped by CONFIG SET so shards reload their cached settings.
    pub config_epoch: AtomicU64,
    /// Next CLIENT ID.
    pub next_client_id: AtomicU64,
    /// The last transaction id handed out (`tx::TxId`).
    pub tx_seq: AtomicU64,
    /// The last arrival number handed to a blocking command (`shard::block`): waiters on
    /// a key are served in this order, whichever shard they registered from first.
    pub block_seq: AtomicU64,
    /// Connected clients, all shards (maxclients).
    pub clients: AtomicUsize,
    /// Clients waiting in a blocking command, all shards (INFO `blocked_clients`). Added
    /// on a block's home shard once the turn that started it sent its batches; subtracted
    /// where its claim is won (the shard that serves it, or its home on a timeout, CLIENT
    /// UNBLOCK or close). So INFO never counts a served client, and a client it counts has
    /// its waiters on their way; a serve that subtracts before the add shows as 0.
    pub blocked_clients: std::sync::atomic::AtomicI64,
    /// Set when shutdown begins.
    pub shutdown: AtomicBool,
    /// Shards that have not finished draining.
    pub shards_draining: AtomicUsize,
    /// Per-shard counters.
    pub stats: Vec<ShardStats>,
    /// Process start.
    pub started: Instant,
    /// INFO `run_id`.
    pub run_id: String,
    /// The port actually bound (port 0 resolves here).
    pub port: u16,
    /// Operations per second over the last second, sampled by shard 0's cron.
    pub instantaneous_ops: AtomicU64,
    /// Which shards have subscribers of which channels and patterns.
    pub pubsub: crate::pubsub::Registry,
    /// RDB snapshots: the last save, what the shutdown does, the parts of a round.
    pub snapshots: super::snapshot::Snapshots,
    /// The append-only files: the manifest, the fsync thread, INFO's numbers.
    pub aof: super::aof::AofShared,
}

impl Shared {
    /// Starts a graceful shutdown: every shard stops accepting, finishes in-flight
    /// replies, and exits.
    pub fn begin_shutdown(&self) {
        self.shutdown.store(true, Relaxed);
        for m in &self.mailboxes {
            m.wake();
        }
    }

    /// Changes since the last snapshot, all shards (INFO `rdb_changes_since_last_save`,
    /// and what the save points count).
    pub fn changes_since_save(&self) -> u64 {
        self.stats
            .iter()
            .map(|s| {
                s.changes
                    .load(Relaxed)
                    .saturating_sub(s.changes_at_save.load(Relaxed))
            })
            .sum()
    }

    /// Sum of one counter over all shards.
    pub fn total(&self, f: impl Fn(&ShardStats) -> &AtomicU64) -> u64 {
        self.stats.iter().map(|s| f(s).load(Relaxed)).sum()
    }
}
