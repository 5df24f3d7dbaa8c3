//! busbar: a Redis-compatible server built thread-per-core, whose first job is to be a
//! fast, trustworthy message bus for the tools Redis users already have.
//!
//! # Layout
//!
//! - `main.rs` — the binary: mimalloc, the command line, [`server::run`].
//! - [`config`] — redis.conf / command-line directives, defaults, CONFIG GET/SET.
//! - [`server`] — bootstrap: shard threads, SO_REUSEPORT listeners, signals, graceful
//!   shutdown.
//! - [`shard`] — the per-core event loop: the turn, the mailbox and gathers
//!   (`shard/mod.rs`, whose doc lists a turn's phases and the file of each), connections
//!   and sockets (`io.rs`), from a parsed frame to a handler or a hop (`dispatch.rs`),
//!   hops (`hops.rs`), pub/sub delivery and its budgets (`fanout.rs`), periodic work
//!   (`cron.rs`), routing (`shard::route`), messages between shards (`shard::msg`), paced
//!   replies between shards (`shard::paced`), what every shard can read (`shard::Shared`).
//! - [`stats`] — the counters INFO reports, per shard and per command.
//! - [`sync`] — the mailbox: the one cross-thread queue and its waker (generic over the
//!   message type).
//! - [`conn`] — a client connection: buffers, protocol state, the gather it waits on.
//! - [`cmd`] — the command table (`cmd::table`), the handler context (`cmd::Ctx`: the
//!   owner side — keyspace, database, clock, settings, the blocked-client signal, shared
//!   state; `Ctx::home` adds the connection and the shard's services for commands not
//!   routed by their keys), one file per family (`strings`, `keys`, `lists`, `hashes`, `sets`, `zsets`, `streams`, `pubsub`,
//!   `server`, `info`, `docs`), the keys COMMAND GETKEYS reports (`cmd::getkeys`), how
//!   gathered replies merge, the walks that write long replies piece by piece
//!   (`cmd::paced`), and the step API multi-step commands across shards are written in
//!   (`cmd::step`; the shard side is `shard::step`).
//! - [`tx`] — multi-shard transactions: the per-shard lock table and a connection's
//!   MULTI / EXEC / WATCH state (the protocol itself is `shard::txn`).
//! - [`pubsub`] — the channel registry (counts per shard), pattern index, per-shard
//!   subscriptions, and the once-encoded message frames.
//! - [`resp`] — the zero-copy RESP parser and the RESP2/RESP3 reply writer.
//! - [`store`] — a shard's keyspace: databases, values (`list`, `hash`, `set`, `zset`,
//!   `stream`), expiry, SCAN, glob matching, WATCHed keys (`watch`), values pinned for
//!   paced replies (`pin`).
//! - [`error`] — command errors with Redis's texts, rendered once.
//! - [`log`] — Redis-style log lines.
//! - [`hop`] — what a hop carries as plain data: copied commands (`OwnedCmds`) and the
//!   connection they belong to (`ConnRef`).
//! - [`num`] — numbers read and printed as Redis does: `string2ll`, `string2ld`, the C
//!   library's readers (`num::cnum`), `%.17g`, the x87 long double (`num::ldouble`).
//! - [`clock`] — the wall clock.
//!
//! Imports point one way: server → {shard, conn, cmd} → {config, pubsub, tx, stats} →
//! {store, error} → {resp, log, sync} → {num, clock, hop}. A module imports only from the
//! layers to its right; within a layer only shard, conn and cmd know each other (a
//! coordinator still takes the shard and the connection). `tests/imports.rs` holds the
//! same table as data and fails on an import against it, or on a module without a layer.
//! `resp` and `store` know nothing of sockets or threads.
//!
//! # Words
//!
//! | word | meaning |
//! |---|---|
//! | shard | one core's thread, its mio Poll, and the slice of the keyspace it owns |
//! | home shard | the shard that accepted a connection: parses, coordinates, writes replies |
//! | owner shard | the shard whose slice holds a key (`shard::route::shard_of`) |
//! | hop | one request from a home shard to an owner shard and its reply |
//! | mailbox | a shard's inbound lock-free queue plus the mio Waker that wakes it |
//! | frame | one parsed RESP value, borrowed from a connection's read buffer |
//! | op | a function that runs on an owner shard against its keyspace, never a socket |
//! | turn | one pass of a shard's event loop |
//! | gather | the replies a home shard waits for before it answers one command |
//! | transaction | a command (or EXEC) whose keys span shards: it holds intent locks on its keys on every shard it touches (`tx`) |
//! | step | a multi-step command across shards: an `async fn` coordinator on the home shard that runs typed ops on owner shards (`cmd::step`) |
//! | chain | a one-step multi-key transaction run shard by shard in ascending order, locking as it goes (`tx::Chain`) |
//! | paced reply | a long reply written piece by piece as its client reads it, from a pinned value (`cmd::paced`) |
//! | pin | a paced reply's hold on a value: it reads the value as it was, whatever later commands do to the key (`store::pin`) |
//!
//! # Life of a command
//!
//! 1. The kernel hands a new connection to one shard's SO_REUSEPORT listener; that shard
//!    is its home shard for life.
//! 2. In a turn, the home shard reads what the socket has into the connection's buffer and
//!    parses complete frames in place (`resp::parse`): arguments are byte ranges of the
//!    buffer, never copies.
//! 3. The command is looked up in the one table (`cmd::table`), its arity and
//!    authentication checked, and its keys mapped to slots and owner shards.
//! 4. If every key is owned by the home shard (or it has none), its handler runs inline
//!    and writes the reply into the connection's output buffer.
//! 5. Otherwise its arguments are copied once into a hop message for the owner shard, queued
//!    in this turn's batch for that shard; the connection waits (program order: its next
//!    command starts only after this one took effect), though later pipelined commands for
//!    the same owner join the same hop. Multi-key commands split per owner and gather,
//!    as transactions: they hold locks on their keys on every shard until they replied
//!    (DESIGN.md "Multi-shard transactions"); a plain command whose keys are locked waits.
//! 6. At the end of the turn each destination gets one mailbox push and one wake.
//! 7. The owner runs the handler against its keyspace and batches the encoded replies back.
//! 8. The home shard appends the reply (merging parts if split), resumes the connection's
//!    pipeline, and writes each connection's output once per turn.
//!
//! A PUBLISH runs on the publisher's home shard: it answers the receiver count at once,
//! delivers to local subscribers, and sends one shared copy to each other shard with
//! subscribers, within fanout budgets (per turn, and in flight per shard pair, credited
//! back once the other shard wrote it); past a budget the publisher's connection stops
//! until there is room (DESIGN.md "Fanout budgets"). A blocking pop whose key gets data is
//! served after the command that pushed it, before the next one runs (`shard::block`).

pub mod clock;
pub mod cmd;
pub mod config;
pub mod conn;
pub mod error;
pub mod hop;
pub mod log;
pub mod num;
pub mod pubsub;
pub mod resp;
pub mod server;
pub mod shard;
pub mod stats;
pub mod store;
pub mod sync;
pub mod tx;
