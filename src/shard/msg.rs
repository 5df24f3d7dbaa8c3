//! What shards send each other: commands to run on an owner shard and their replies.

pub use crate::hop::{ConnRef, OwnedCmds};

/// What a served blocking pop took, to restore if its client is gone.
#[derive(Debug)]
pub struct Rescue {
    /// The shard that owns `key`.
    pub shard: usize,
    /// Database.
    pub db: usize,
    /// The list or sorted set they came from.
    pub key: Box<[u8]>,
    /// What was taken.
    pub popped: Popped,
}

/// Elements taken by a pop, in pop order.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug)]
pub enum Popped {
    /// List elements, and whether they left from the left end.
    List { values: Vec<Vec<u8>>, left: bool },
    /// Sorted-set members with their scores.
    Zset(Vec<(f64, Box<[u8]>)>),
}

/// A message between shards.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug)]
pub enum Msg {
    /// Run `cmds` in order on this (the owner) shard for a connection of shard `from`, in
    /// database `db`, and send back their encoded replies as part `part` of its gather.
    Run {
        from: usize,
        conn: ConnRef,
        part: u32,
        db: u16,
        resp3: bool,
        cmds: OwnedCmds,
        /// The transaction whose locks cover these commands (0 = none: the owner checks
        /// its lock table first and parks the message while its keys are locked).
        tx: crate::tx::TxId,
        /// A step of a chained command (`tx::Chain`): lock these first (waiting if need
        /// be), then run; keep them afterwards if `hold`, else let go at once.
        lock: Option<crate::tx::LockSet>,
        hold: bool,
        /// A command may pace its reply (`shard::paced`): set for a plain hop whose
        /// reply is forwarded as it is.
        paced: bool,
        /// The replies of the hop's earlier commands, when it goes on after waiting for
        /// the moves one of them set off (`block::ChainHold`); they lead its reply.
        prefix: Vec<u8>,
    },
    /// A piece of a paced reply for `conn`'s gather part `part`; `more` names the walk
    /// (owner shard, id) to ask for the next piece, or is `None` when the rest comes
    /// unasked (the hop's later commands run next).
    Piece {
        conn: ConnRef,
        part: u32,
        out: Vec<u8>,
        more: Option<(usize, u64)>,
    },
    /// Send the next piece of paced reply `id`.
    PacedMore { id: u64 },
    /// The client of paced reply `id` is gone: drop it.
    PacedCancel { id: u64 },
    /// The encoded replies of a `Run` (or of a served blocking pop, with what to push back
    /// if the client is gone by the time it arrives).
    Done {
        conn: ConnRef,
        part: u32,
        out: Vec<u8>,
        rescue: Option<Rescue>,
    },
    /// Run a coordinator's op (`cmd::step`) for connection `conn` of shard `from`, in
    /// database `db`, under the locks of transaction `tx` (multi-step commands always
    /// hold their keys' locks), and send back its answer as part `part` (`OpDone`).
    Op {
        from: usize,
        conn: ConnRef,
        part: u32,
        db: u16,
        tx: crate::tx::TxId,
        op: crate::cmd::step::Op,
    },
    /// The typed answer of an `Op`, with what the op took for its client (`rescue`: put
    /// back if the client is gone by the time it arrives).
    OpDone {
        conn: ConnRef,
        part: u32,
        answer: crate::cmd::step::Answer,
        rescue: Option<Rescue>,
    },
    /// Deliver a published message to this shard's subscribers, then give `credit` back
    /// to shard `from` (`Credit`) once this turn's output was written.
    Publish {
        msg: std::sync::Arc<crate::pubsub::Message>,
        from: usize,
        credit: usize,
    },
    /// Fanout credit coming back: shard `from` delivered `bytes` of what this shard sent it.
    Credit { from: usize, bytes: usize },
    /// Register a blocked client's waiter on this shard's `keys` (or serve it now).
    Block {
        waiter: crate::shard::block::Waiter,
        keys: Vec<Box<[u8]>>,
    },
    /// The waiters of `claim` reserved on `keys` may be served now (its attempt found
    /// nothing).
    Arm {
        claim: std::sync::Arc<std::sync::atomic::AtomicBool>,
        db: usize,
        keys: Vec<Box<[u8]>>,
    },
    /// Keys with waiters that commands of transaction `tx`'s part `part` signalled here:
    /// (index of the command in the part, database, key), first signal first.
    TxSignals {
        conn: ConnRef,
        part: u32,
        signals: Vec<(u32, usize, Box<[u8]>)>,
    },
    /// Serve these keys now, for the transaction that holds them (a chained EXEC
    /// serving what it pushed in order); answered with an empty `Done`.
    ServeHeld {
        from: usize,
        conn: ConnRef,
        keys: Vec<(usize, Box<[u8]>)>,
    },
    /// Drop the waiters of a block that finished elsewhere.
    Unblock {
        claim: std::sync::Arc<std::sync::atomic::AtomicBool>,
        db: usize,
        keys: Vec<Box<[u8]>>,
    },
    /// Push back elements popped for a client that went away.
    Requeue(Rescue),
    /// A move forwarded on behalf of hold `id` of this shard is done (`block::ChainHold`).
    ChainAck { id: u64 },
    /// This shard's own whole-shard lock was granted: no transaction holds its keys, the
    /// walk of a rewrite or a save point starts (`Shard::walk_when_quiet`).
    StartWalk { rewrite: bool },
    /// A blocked cross-shard move's element, for the destination's shard to push
    /// (`wait`: it may wait for the destination's lock).
    MovePush {
        flight: Box<crate::shard::block::Flight>,
        wait: bool,
    },
    /// The answer to `MovePush`, on the source's shard.
    MoveLanded {
        flight: Box<crate::shard::block::Flight>,
        outcome: crate::shard::block::Landed,
    },
    /// Lock `set` for transaction `tx` of connection `conn` on shard `home`; answer with
    /// `Locked`. Without `wait` the answer is a refusal rather than a wait.
    Lock {
        home: usize,
        conn: ConnRef,
        tx: crate::tx::TxId,
        set: crate::tx::LockSet,
        wait: bool,
    },
    /// The answer to `Lock` from shard `shard`.
    Locked {
        shard: usize,
        conn: ConnRef,
        tx: crate::tx::TxId,
        granted: bool,
    },
    /// Release what `tx` holds (or waits for) on this shard.
    Release { tx: crate::tx::TxId },
    /// WATCH `keys` (database `db`) for `conn` of shard `home`: the owner marks `dirty`
    /// when one changes. Answered with a `Done` carrying `+OK`.
    Watch {
        home: usize,
        conn: ConnRef,
        part: u32,
        db: usize,
        keys: Vec<Box<[u8]>>,
        dirty: std::sync::Arc<std::sync::atomic::AtomicBool>,
    },
    /// A connection moving to this shard (`shard::place`): take it in and serve it.
    Arrive(crate::shard::place::Moving),
    /// Forget the watchers `dirty` of these key hashes.
    Unwatch {
        keys: Vec<u64>,
        dirty: std::sync::Arc<std::sync::atomic::AtomicBool>,
    },
}
