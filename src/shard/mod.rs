//! Per-core event loop: owns one keyspace shard and the connections accepted on this core.
//!
//! This file holds the `Shard` itself, its settings, and the turn (`Shard::run`). The
//! shard's work is split by concern, one `impl Shard` block per file: `io.rs`
//! (connections and sockets), `dispatch.rs` (from a parsed frame to a handler or a hop),
//! `hops.rs` (hops, home and owner side), `batch.rs` (a pipeline's commands over several
//! shards run as one chain), `mailbox.rs` (what other shards sent),
//! `gather.rs` (commands waiting for parts from other shards), `fanout.rs` (pub/sub
//! delivery and its budgets), `cron.rs` (periodic work), `block.rs` (the waiters of
//! blocking commands), `txn.rs` (multi-shard transactions), `step.rs` (the step API's
//! shard side), `paced.rs` (paced replies between shards), `refused.rs` (refused
//! connections), `place.rs` (connections moving to the shard their commands go to).
//!
//! A turn, in order (the file that implements each phase in brackets):
//!
//! 1. Poll for readiness. The shard sleeps only when no connection is queued, no
//!    publisher waits just for the next turn (`fanout.rs`), and the mailbox agreed to
//!    sleep; it wakes by the next block timeout (`block.rs`) or cron tick at the latest.
//! 2. Read the clock once (`now_ms`) and reload the hot-path settings if CONFIG SET
//!    changed them (`cron.rs`).
//! 3. Take the readiness events: accept new connections (`io.rs`), read what refused ones
//!    sent (`refused.rs`), queue the ready connections (this file).
//! 4. Drain the mailbox (`mailbox.rs`): run other shards' hops and ops (`hops.rs` `run_hop`,
//!    `step.rs`), fill our gathers with their replies (`gather.rs`), deliver their published
//!    messages (`fanout.rs`), and take lock requests, blocking waiters and paced pieces
//!    (`txn.rs`, `block.rs`, `paced.rs`), and take in connections moving here
//!    (`place.rs`).
//! 5. Start the turn's fanout budget again and resume the publishers it stopped
//!    (`fanout.rs`).
//! 6. Resume connections whose transaction locks were granted (`txn.rs`).
//! 7. Serve the queued connections: read each one's input (`io.rs`), parse and run every
//!    complete frame (`dispatch.rs`), here or as hops to the owner shards (`hops.rs`), or,
//!    when a pipeline's commands span shards, as one batch (`batch.rs`); a connection
//!    whose commands keep going to one other shard leaves for it instead, its frame
//!    unparsed, in this turn's batch (`place.rs`).
//! 8. Resume connections granted their locks meanwhile (`txn.rs`), serve the waiters of
//!    keys that got data, and time out expired blocks (`block.rs`).
//! 9. Send this turn's batches, one push and one wake per destination shard (`hops.rs`,
//!    `send_outbox`), then count the turn's new blocks in INFO (`block.rs`).
//! 10. Write each dirty connection's output once, with the paced pieces that fit
//!     (`io.rs`, `flush_dirty`; `paced.rs`).
//! 11. Give other shards the fanout credit for what was delivered (`fanout.rs`), and send
//!     the batches again: that credit, and requests for the next paced pieces (`hops.rs`).
//! 12. Run the cron when it is due (`cron.rs`).
//! 13. At shutdown: stop accepting (`io.rs`, `start_draining`), let the connections finish
//!     what they started, and keep serving other shards' hops until every shard is idle
//!     (this file).

pub mod aof;
mod batch;
pub mod block;
mod cron;
mod dispatch;
mod fanout;
mod gather;
mod hops;
mod io;
mod mailbox;
pub mod msg;
pub mod paced;
pub mod place;
pub mod refused;
pub mod route;
pub mod shared;
pub mod snapshot;
pub mod step;
pub mod txn;

pub use shared::Shared;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use crate::clock::unix_ms;
use crate::conn::Conn;
use crate::resp::ParseLimits;
use crate::store::Keyspace;
use msg::{ConnRef, Msg, OwnedCmds};

/// The listener's token.
const LISTENER: Token = Token(0);
/// The mailbox waker's token.
pub const WAKER: Token = Token(1);
/// Connection tokens start here (slab index + this).
const CONN_TOKEN_BASE: usize = 2;

/// Bytes read from one connection per turn before others get a go.
const READ_BYTES_PER_TURN_MAX: usize = 1024 * 1024;

/// Typed copies of the settings a shard reads on the hot path, refreshed when
/// `Shared::config_epoch` changes.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `requirepass` (None = no password).
    pub requirepass: Option<Vec<u8>>,
    /// Parser limits.
    pub limits: ParseLimits,
    /// `client-query-buffer-limit`.
    pub query_buffer_max: usize,
    /// `maxclients`.
    pub clients_max: usize,
    /// Protected mode is in force: `protected-mode yes`, no password, and the default
    /// `bind` (every interface). Only loopback clients are then accepted, as Redis.
    pub loopback_only: bool,
    /// `hz`: cron ticks per second.
    pub hz: u64,
    /// `timeout`: idle seconds before a client is closed (0 = never).
    pub idle_timeout_s: u64,
    /// `client-output-buffer-limit pubsub`: (hard bytes, soft bytes, soft seconds).
    pub pubsub_limit: (u64, u64, u64),
    /// `hash-max-listpack-entries` / `hash-max-listpack-value`.
    pub hash_limits: crate::store::hash::PackLimits,
    /// `set-max-intset-entries`.
    pub set_max_intset: usize,
    /// `zset-max-listpack-entries` / `zset-max-listpack-value`.
    pub zset_limits: crate::store::zset::PackLimits,
    /// `stream-node-max-entries` / `stream-node-max-bytes`.
    pub stream_limits: crate::store::stream::NodeLimits,
    /// `maxmemory-policy` is an LFU one (OBJECT FREQ answers, OBJECT IDLETIME refuses).
    pub lfu_policy: bool,
    /// Small integer strings are Redis's shared objects (OBJECT REFCOUNT): `maxmemory` is
    /// 0 or the policy is neither LRU nor LFU.
    pub shared_integers: bool,
    /// `rdbcompression`: DUMP (and RDB files) LZF-compress strings over 20 bytes.
    pub rdb_compression: bool,
    /// `appendonly`.
    pub appendonly: bool,
    /// `appendfsync`.
    pub appendfsync: aof::Fsync,
    /// `auto-aof-rewrite-percentage` and `auto-aof-rewrite-min-size`.
    pub aof_auto_rewrite: (u64, u64),
    /// `placement`: connections may move to the shard their commands go to
    /// (`shard::place`). Startup-only.
    pub placement: bool,
}

impl Settings {
    /// Reads the typed settings from the shared config.
    pub fn load(shared: &Shared) -> Settings {
        let cfg = shared.config.read().expect("config lock poisoned");
        let pass = cfg.bytes("requirepass");
        Settings {
            requirepass: (!pass.is_empty()).then(|| pass.to_vec()),
            limits: ParseLimits {
                bulk_bytes_max: cfg.int("proto-max-bulk-len"),
                unauthenticated: false,
            },
            query_buffer_max: cfg.int("client-query-buffer-limit") as usize,
            clients_max: cfg.int("maxclients") as usize,
            loopback_only: cfg.bool("protected-mode")
                && pass.is_empty()
                && cfg.get("bind") == "* -::*",
            hz: cfg.int("hz").max(1) as u64,
            idle_timeout_s: cfg.int("timeout") as u64,
            pubsub_limit: cfg.output_limit("pubsub"),
            hash_limits: crate::store::hash::PackLimits {
                max_entries: cfg.int("hash-max-listpack-entries").max(0) as usize,
                max_value: cfg.int("hash-max-listpack-value").max(0) as usize,
            },
            set_max_intset: cfg.int("set-max-intset-entries").max(0) as usize,
            zset_limits: crate::store::zset::PackLimits {
                max_entries: cfg.int("zset-max-listpack-entries").max(0) as usize,
                max_value: cfg.int("zset-max-listpack-value").max(0) as usize,
            },
            stream_limits: crate::store::stream::NodeLimits {
                max_entries: cfg.int("stream-node-max-entries").max(0) as usize,
                max_bytes: cfg.int("stream-node-max-bytes").max(0) as usize,
            },
            lfu_policy: cfg.get("maxmemory-policy").ends_with("-lfu"),
            shared_integers: cfg.int("maxmemory") == 0
                || !(cfg.get("maxmemory-policy").ends_with("-lfu")
                    || cfg.get("maxmemory-policy").ends_with("-lru")),
            rdb_compression: cfg.bool("rdbcompression"),
            appendonly: cfg.bool("appendonly"),
            appendfsync: aof::Fsync::parse(cfg.get("appendfsync")),
            aof_auto_rewrite: (
                cfg.int("auto-aof-rewrite-percentage").max(0) as u64,
                cfg.int("auto-aof-rewrite-min-size").max(0) as u64,
            ),
            placement: cfg.bool("placement"),
        }
    }
}

/// One shard: an event loop, its connections and its slice of the keyspace.
pub struct Shard {
    /// This shard's index.
    pub id: usize,
    /// Number of shards.
    pub shards: usize,
    /// What all shards share.
    pub shared: Arc<Shared>,
    poll: Poll,
    listener: Option<TcpListener>,
    /// Connections by slab index; `None` while one is being served (taken out) or free.
    /// Boxed so that taking one out to serve it moves a pointer, not the whole `Conn`.
    pub conns: Vec<Option<Box<Conn>>>,
    free: Vec<usize>,
    /// The keys this shard owns.
    pub ks: Keyspace,
    /// Subscriptions of this shard's connections.
    pub subs: crate::pubsub::Local,
    /// Blocked clients' waiters on this shard's keys, per database by key, in arrival
    /// order. Per database so a push asks "does anyone wait?" without building a key.
    blocked: Vec<HashMap<Box<[u8]>, VecDeque<block::Waiter>, ahash::RandomState>>,
    /// Keys that got data and have waiters, in the order they were signalled (each
    /// once: `ready_set` holds what is queued), served after the command that signalled.
    ready_keys: VecDeque<(usize, Box<[u8]>)>,
    /// Replies held until the cross-shard blocking moves their command set off are done,
    /// by hold id (`block::ChainHold`).
    holds: HashMap<u64, block::ChainHold, ahash::RandomState>,
    /// The hold of the command running now, which moves it forwards join.
    hold_ctx: Option<u64>,
    /// The last hold id handed out on this shard.
    next_hold_id: u64,
    /// The keys queued in `ready_keys`.
    ready_set: std::collections::HashSet<(usize, Box<[u8]>), ahash::RandomState>,
    /// The queued keys signalled by `signal_key` (data added) rather than only written:
    /// stream readers are served by a different rule for each (`stream_groups::Wake`).
    stream_fed: std::collections::HashSet<(usize, Box<[u8]>), ahash::RandomState>,
    /// True while `serve_ready_keys` runs: serving a waiter may run code that would
    /// serve again; the outer pass serves whatever that signals.
    serving_ready: bool,
    /// Timeouts of this shard's blocked connections: (deadline ms, slot, client id).
    block_timers: BTreeSet<(u64, usize, u64)>,
    /// Messages to send at the end of the turn, per destination shard.
    outbox: Vec<Vec<Msg>>,
    /// Intent locks of multi-shard transactions on this shard's keys.
    pub locks: crate::tx::Locks<Msg>,
    /// Local connections whose lock requests here were granted, to resume.
    granted: Vec<(ConnRef, crate::tx::TxId)>,
    /// Connections to serve this turn (slab indexes).
    ready: Vec<usize>,
    /// Connections with output to write this turn.
    dirty: Vec<usize>,
    /// Wall-clock ms, read once per turn.
    pub now_ms: u64,
    /// Hot-path settings.
    pub settings: Settings,
    config_epoch: u64,
    next_cron_ms: u64,
    /// When this shard last asked the allocator to hand freed memory back (ms).
    last_collect_ms: u64,
    /// Set once shutdown started: no new connections or commands.
    draining: bool,
    /// (ms, total commands) at the last instantaneous_ops_per_sec sample (shard 0 only).
    ops_sample: (u64, u64),
    /// Unfinished paced replies over this shard's keys, by id (`paced`).
    paced: ahash::AHashMap<u64, paced::PacedReply>,
    /// The last paced reply id handed out.
    next_paced_id: u64,
    /// Read buffers lent to connections while they have input.
    input_pool: crate::conn::InputPool,
    /// Refused connections kept until their error line is read (`refused`).
    refused: refused::Refused,
    /// Blocks started this turn, added to INFO `blocked_clients` after the turn's batches
    /// went out (`publish_blocked`).
    blocked_unpublished: i64,
    /// Fanout bytes sent to each shard and not yet credited back by it.
    fanout_inflight: Vec<usize>,
    /// Fanout bytes delivered this turn from each shard, to credit back after the flush.
    fanout_credit: Vec<usize>,
    /// Fanout bytes published by this shard's connections this turn.
    fanout_turn_bytes: usize,
    /// This turn's published bytes times their receivers.
    fanout_turn_output: usize,
    /// Publishers stopped by a fanout budget, resumed when it has room again.
    fanout_waiters: Vec<ConnRef>,
    /// This shard's append-only log, while `appendonly` is on (`aof`).
    aof: Option<Box<aof::Log>>,
    /// The AOF rewrite whose base the keyspace's walk writes now, if it is one (else a
    /// walk is a BGSAVE's).
    aof_rewrite: Option<aof::Rewrite>,
    /// The thread writing out the rewrite's base once its walk is done.
    aof_rewrite_job: Option<std::thread::JoinHandle<Result<u64, String>>>,
    /// When this turn's work started (after the poll): a walk's share is measured by it.
    turn_started: Instant,
    /// A walk waits for its whole-shard lock (`walk_when_quiet`).
    walk_queued: bool,
    /// Replaying a log: commands may name keys of other shards (`aof_load`).
    pub(crate) replaying: bool,
    /// The transaction whose part runs now (0: none): its records are tagged with it, and
    /// replay applies them only if the log holds its commit (`aof`).
    pub(crate) running_tx: crate::tx::TxId,
}

impl Shard {
    /// A shard with its own poll and listener (already bound with SO_REUSEPORT).
    pub fn new(
        id: usize,
        shared: Arc<Shared>,
        poll: Poll,
        mut listener: TcpListener,
    ) -> std::io::Result<Shard> {
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let shards = shared.shards;
        let databases = shared.config.read().expect("config lock").int("databases") as usize;
        let settings = Settings::load(&shared);
        Ok(Shard {
            id,
            shards,
            poll,
            listener: Some(listener),
            conns: Vec::new(),
            free: Vec::new(),
            ks: Keyspace::with_stats(
                0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1),
                shared.stats[id].keyspace.clone(),
            ),
            subs: Default::default(),
            blocked: (0..databases).map(|_| HashMap::default()).collect(),
            ready_keys: VecDeque::new(),
            ready_set: Default::default(),
            stream_fed: Default::default(),
            holds: Default::default(),
            hold_ctx: None,
            next_hold_id: 0,
            serving_ready: false,
            block_timers: BTreeSet::new(),
            outbox: (0..shards).map(|_| Vec::new()).collect(),
            locks: Default::default(),
            granted: Vec::new(),
            ready: Vec::new(),
            dirty: Vec::new(),
            now_ms: unix_ms(),
            settings,
            config_epoch: shared.config_epoch.load(Relaxed),
            next_cron_ms: 0,
            last_collect_ms: 0,
            draining: false,
            ops_sample: (0, 0),
            paced: Default::default(),
            next_paced_id: 0,
            input_pool: Default::default(),
            refused: Default::default(),
            blocked_unpublished: 0,
            fanout_inflight: vec![0; shards],
            fanout_credit: vec![0; shards],
            fanout_turn_bytes: 0,
            fanout_turn_output: 0,
            fanout_waiters: Vec::new(),
            aof: None,
            aof_rewrite: None,
            aof_rewrite_job: None,
            turn_started: Instant::now(),
            walk_queued: false,
            replaying: false,
            running_tx: 0,
            shared,
        })
    }

    fn stats(&self) -> &crate::stats::ShardStats {
        &self.shared.stats[self.id]
    }

    /// Runs the event loop until shutdown: one turn per pass, in the order the module
    /// documentation lists.
    pub fn run(mut self) {
        if self.settings.appendonly {
            let loaded = self.aof_load();
            self.shared.aof.loading.fetch_sub(1, Relaxed);
            if let Err(e) = loaded {
                crate::log::warning(&e);
                std::process::exit(1);
            }
        }
        let mut events = Events::with_capacity(1024);
        let mut drain_deadline: Option<Instant> = None;
        loop {
            let mailbox = &self.shared.mailboxes[self.id];
            // A publisher stopped only for the turn's fanout budget goes on next turn.
            let idle = self.ready.is_empty()
                && !self.fanout_resumable()
                && !self.ks.walking()
                && mailbox.prepare_sleep();
            let timeout = if idle {
                let wake_at = self
                    .next_block_deadline()
                    .map_or(self.next_cron_ms, |d| d.min(self.next_cron_ms));
                Duration::from_millis(wake_at.saturating_sub(unix_ms()).clamp(1, 100))
            } else {
                Duration::ZERO
            };
            let polled = self.poll.poll(&mut events, Some(timeout));
            self.shared.mailboxes[self.id].awake();
            if let Err(e) = polled {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    crate::log::warning(&format!("shard {} poll failed: {e}", self.id));
                }
                continue;
            }
            self.now_ms = unix_ms();
            self.turn_started = Instant::now();
            self.refresh_settings();
            self.take_events(&events);
            self.drain_mailbox();
            self.resume_fanout();
            self.resume_granted();
            self.serve_ready();
            self.resume_granted();
            self.serve_ready_keys();
            self.expire_blocks();
            if self.aof_rewrite_job.is_some() {
                self.aof_rewrite_poll();
            }
            if self.ks.walking() {
                // A background save's or rewrite's share of this turn (more when no
                // client is connected).
                let idle = self.shared.clients.load(Relaxed) == 0;
                if self.aof_rewrite.is_some() {
                    self.aof_rewrite_step(idle);
                } else {
                    self.bgsave_step(idle);
                }
            }
            // Group commit: the turn's writes reach the log (and the disk, with
            // `appendfsync always`) before any of their replies leave.
            self.aof_flush();
            self.send_outbox();
            // After the batches went: a client counted as blocked has its waiters in the
            // owners' mailboxes already (so a later blocking command queues behind it).
            self.publish_blocked();
            self.flush_dirty();
            self.return_fanout_credit();
            self.aof_flush();
            // Asks for the next pieces of paced replies, made while flushing, and the
            // fanout credit for what was just written.
            self.send_outbox();
            if self.now_ms >= self.next_cron_ms {
                self.cron();
            }
            if self.shared.shutdown.load(Relaxed) {
                if !self.draining {
                    self.start_draining();
                    drain_deadline = Some(Instant::now() + Duration::from_secs(2));
                }
                let waiting = self
                    .conns
                    .iter()
                    .flatten()
                    .any(|c| c.busy() || c.pending_output() > 0);
                let expired = drain_deadline.is_some_and(|d| Instant::now() >= d);
                if !waiting || expired {
                    // Keep serving other shards' hops until every shard is idle.
                    self.shared.shards_draining.fetch_sub(1, Relaxed);
                    while self.shared.shards_draining.load(Relaxed) > 0
                        && Instant::now() < drain_deadline.unwrap_or_else(Instant::now)
                    {
                        self.drain_mailbox();
                        self.aof_flush();
                        self.send_outbox();
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    self.aof_close();
                    self.save_on_exit();
                    return;
                }
            }
        }
    }
}

impl Shard {
    /// Step 3 of a turn: accepts new connections, reads what refused ones sent, and
    /// queues the connections that are ready.
    fn take_events(&mut self, events: &Events) {
        for ev in events.iter() {
            match ev.token() {
                LISTENER => self.accept(),
                WAKER => {}
                t if refused::Refused::owns(t) => {
                    self.refused.readable(self.poll.registry(), t);
                }
                Token(t) => {
                    let slot = t - CONN_TOKEN_BASE;
                    if let Some(Some(c)) = self.conns.get_mut(slot) {
                        let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                        if readable {
                            c.read_ready = true;
                        }
                        if ev.is_read_closed() || ev.is_error() {
                            c.read_closed = true;
                        }
                        // Edge-triggered EPOLLOUT fires whenever an ACK frees send
                        // space; it matters only to a connection with output waiting.
                        let wants_write = ev.is_writable() && c.pending_output() > 0;
                        if (readable || wants_write) && !c.queued {
                            c.queued = true;
                            self.ready.push(slot);
                        }
                    }
                }
            }
        }
    }

    /// A short turn between stretches of loading the AOF: the clients are served (a
    /// command without the `loading` flag gets `-LOADING`), the mailbox drained, the
    /// replies written.
    pub(super) fn loading_turn(&mut self) {
        let mut events = Events::with_capacity(128);
        if self.poll.poll(&mut events, Some(Duration::ZERO)).is_err() {
            return;
        }
        self.shared.mailboxes[self.id].awake();
        let now = unix_ms();
        self.take_events(&events);
        self.drain_mailbox();
        // Commands here run with the clock of the turn, not of the records replayed.
        let replay_clock = std::mem::replace(&mut self.now_ms, now);
        self.serve_ready();
        self.send_outbox();
        self.flush_dirty();
        self.send_outbox();
        self.now_ms = replay_clock;
    }
}

/// The parts of a command split by shard, ascending: (shard, part number, commands).
pub(crate) type Parts = Vec<(usize, u32, OwnedCmds)>;

/// Where a command's keys live.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Owners {
    /// No keys.
    None,
    /// All on one shard.
    One(usize),
    /// On several shards.
    Many,
}
