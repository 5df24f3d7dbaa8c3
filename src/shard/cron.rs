//! Periodic and administrative work: reloading the hot-path settings after CONFIG SET,
//! the cron (active expiry, idle clients and buffers, memory back to the OS, published
//! gauges), and the CONFIG RESETSTAT and CLIENT KILL sides of a shard.

use std::sync::atomic::Ordering::Relaxed;

use crate::conn::Conn;

use super::{Settings, Shard};

/// How often (ms) a shard asks the allocator to return freed memory to the OS.
const ALLOCATOR_COLLECT_MS: u64 = 1000;

/// How long (ms) a connection runs no command before its spare buffer room is freed.
const IDLE_BUFFERS_MS: u64 = 2000;

/// Keys sampled by one active expiry step (bounds the time one step takes).
const EXPIRE_KEYS_PER_TURN_MAX: usize = 2000;

impl Shard {
    /// Reloads the hot-path settings if CONFIG SET changed them (one load per turn).
    pub(crate) fn refresh_settings(&mut self) {
        let epoch = self.shared.config_epoch.load(Relaxed);
        if epoch != self.config_epoch {
            self.config_epoch = epoch;
            self.settings = Settings::load(&self.shared);
        }
    }

    /// Periodic work: active expiry, settings refresh, idle clients, published gauges.
    pub(super) fn cron(&mut self) {
        self.next_cron_ms = self.now_ms + 1000 / self.settings.hz;
        self.aof_cron();
        self.save_points_cron();
        self.stats()
            .changes
            .store(self.ks.dirty(), std::sync::atomic::Ordering::Relaxed);
        self.refused.expire(self.poll.registry(), self.now_ms);
        if self.now_ms >= self.last_collect_ms + ALLOCATOR_COLLECT_MS {
            // Memory freed by this thread (old tables after a resize, deleted values)
            // goes back to the OS now rather than at the allocator's next busy moment,
            // as jemalloc's background purge does for Redis: RSS follows the data.
            self.last_collect_ms = self.now_ms;
            // Connections quiet for a while give back their buffers' spare room, as
            // Redis's clientsCron shrinks idle clients' buffers.
            let now = self.now_ms;
            let pool = &mut self.input_pool;
            for c in self.conns.iter_mut().flatten() {
                let idle = now.saturating_sub(c.last_cmd_ms) >= IDLE_BUFFERS_MS;
                if idle && !c.busy() {
                    c.release_idle_buffers();
                    // Nothing unparsed: the read buffer goes back to the pool.
                    pool.reclaim(c);
                }
                // A large command's read buffer does not outlive it (and no buffer is kept
                // by a client idle mid-command), whether or not more input follows.
                c.shrink_input(idle);
            }
            // SAFETY: `mi_collect` only walks this thread's own heap and mimalloc's
            // segment caches; it takes no pointers from us.
            unsafe { libmimalloc_sys::mi_collect(false) };
        }
        // Keys held by a transaction do not vanish under it: expiry waits for a quiet cron.
        if !self.locks.busy() {
            self.ks.active_expire(self.now_ms, EXPIRE_KEYS_PER_TURN_MAX);
        }
        // A blocked XREADGROUP whose stream expired wakes (`signal_group_readers`).
        self.signal_group_readers();
        self.serve_ready_keys();
        for db in 0..self.ks.databases() {
            self.stats().avg_ttl_ms[db].store(self.ks.avg_ttl_ms(db), Relaxed);
        }
        if self.id == 0 && self.now_ms >= self.ops_sample.0 + 1000 {
            // Shard 0 samples the server-wide command rate once a second.
            let total = self.shared.total(|s| &s.commands);
            let (at, last) = self.ops_sample;
            if at > 0 {
                let rate = total.saturating_sub(last) * 1000 / (self.now_ms - at).max(1);
                self.shared.instantaneous_ops.store(rate, Relaxed);
            }
            self.ops_sample = (self.now_ms, total);
        }
        if self.settings.idle_timeout_s > 0 {
            let limit = self.settings.idle_timeout_s * 1000;
            let now = self.now_ms;
            // Subscribers are exempt, as in Redis: they are idle by design.
            self.kill_where(|c| {
                c.gather.is_none()
                    && c.subscriptions() == 0
                    && now.saturating_sub(c.last_cmd_ms) > limit
            });
        }
    }

    /// Zeroes this shard's INFO counters (CONFIG RESETSTAT).
    pub fn reset_stats(&mut self) {
        self.stats().reset();
    }

    /// Marks connections of this shard for closing. Returns how many matched.
    pub fn kill_where(&mut self, mut pred: impl FnMut(&Conn) -> bool) -> usize {
        let mut n = 0;
        for (slot, c) in self.conns.iter_mut().enumerate() {
            if let Some(c) = c {
                if pred(c) {
                    c.kill = true;
                    n += 1;
                    if !c.queued {
                        c.queued = true;
                        self.ready.push(slot);
                    }
                }
            }
        }
        n
    }
}
