//! The step API: a command whose keys span shards and that needs more than one round of
//! hops (SMOVE, RENAME, MSETNX ...) is an `async fn` coordinator on its home shard. It
//! reads straight-line: `cx.run_on(shard, op).await` runs `op` on that owner shard against
//! its keyspace and gives back the op's own typed result, never an encoded reply.
//!
//! The home shard polls the coordinator with a no-op waker (`shard::step`): each time it
//! stops at an await, the ops it asked for run (here at once when this shard owns them,
//! otherwise as hops, `Msg::Op`), and once every answer is in (`Msg::OpDone`) it is polled
//! again. The coordinator holds no borrow of the shard or the connection across an await;
//! all it keeps is a `Cx`. Only multi-step cross-shard commands pay for this (a boxed
//! future, one box per op and per answer); single-shard commands and the one-step splits
//! (MGET, MSET, DEL ...) never reach it.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use crate::cmd::Ctx;
use crate::error::CmdResult;
use crate::resp::Reply;

/// An op's result on its way home, boxed; `Cx::run_on` hands it back as the op's type.
pub type Answer = Box<dyn Any + Send>;

/// What an op took out of the keyspace for its client (a popped element), to put back
/// should the client be gone when the answer reaches its home shard.
pub type Rescue = crate::shard::msg::Rescue;

/// What an op took out of its shard's keyspace for the client (`Cx::take_on`): the key and
/// what came out of it.
pub type Taken = Option<(Box<[u8]>, crate::shard::msg::Popped)>;

/// What an op's closure runs: its answer, and what it took (`Cx::take_on`).
pub type OpFn = Box<dyn FnOnce(&mut Ctx) -> (Answer, Option<Rescue>) + Send>;

/// An op for an owner shard: runs against that shard's keyspace in the coordinator's
/// database (`Ctx::db`), with no connection and no reply (`Ctx::out` goes nowhere).
pub struct Op {
    /// What it does.
    pub run: OpFn,
    /// The keys it reads, for an owner's lock check when the command holds no locks
    /// (XREAD); empty for ops under their command's locks.
    pub keys: Vec<Box<[u8]>>,
    /// It reads no key by name (a SCAN step): like a keyless command's hop, it runs with
    /// no lock check, under no locks of its own.
    pub keyless: bool,
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Op")
    }
}

/// A block to start once the coordinator returns (`Cx::block_after`).
#[derive(Debug)]
pub struct BlockAfter {
    /// The keys, in argument order.
    pub keys: Vec<Box<[u8]>>,
    /// Timeout in ms; 0 = forever.
    pub timeout_ms: u64,
    /// What a served waiter does.
    pub op: crate::shard::block::BlockOp,
    /// The command's arrival number when it was fixed as it started (a blocking pop);
    /// `None`: it takes one as it blocks.
    pub seq: Option<u64>,
}

/// What a coordinator waits for at an await, other than its ops' answers.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug)]
pub enum Wait {
    /// The command's locks on these keys (taken again after a blocked move was refused).
    Lock(Vec<Box<[u8]>>),
    /// The locks the connection holds go now (an EXEC that served its keys).
    Release,
    /// The command's locks go and the client blocks on `keys` until a waiter is served
    /// (its reply comes back to the coordinator) or `deadline_ms` (ms; 0 = never) passes;
    /// `op` is what serving it does, `seq` its arrival number (its place among the waiters).
    Block {
        keys: Vec<Box<[u8]>>,
        deadline_ms: u64,
        op: crate::shard::block::BlockOp,
        seq: u64,
    },
    /// Shard `.0` serves the keys (database, key) the connection's EXEC holds, in order
    /// (`Msg::ServeHeld`), the moves that sets off included.
    ServeHeld(usize, Vec<(usize, Box<[u8]>)>),
}

/// How a block the coordinator waited in ended (`Cx::block`).
#[derive(Debug)]
pub enum Woken {
    /// A waiter was served: the client's reply, from the shard that served it.
    Served(Vec<u8>),
    /// A blocked move could not take its destination's lock in shard order: nothing
    /// moved, try again under the locks of both keys.
    Refused,
    /// The deadline had passed before it could block.
    TimedOut,
}

/// What a coordinator and the home shard that polls it hand each other.
#[derive(Default)]
pub struct Io {
    /// The ops asked for at the await it stopped at: (owner shard, op).
    pub asks: Vec<(usize, Op)>,
    /// Their answers, in the order asked (filled in by the home shard).
    pub answers: Vec<Option<Answer>>,
    /// Set by `Cx::block_after`: block on these keys once the coordinator returns.
    pub block: Option<BlockAfter>,
    /// What it waits for instead of answers, if anything (filled in by the coordinator).
    pub wait: Option<Wait>,
    /// The reply part a `Wait::Block` or `Wait::ServeHeld` ended with (filled in by the
    /// home shard; `None` after a block whose deadline had passed).
    pub woken: Option<Vec<u8>>,
}

/// A coordinator's future: it ends with the command's encoded reply, or its error.
pub type Coordinator = Pin<Box<dyn Future<Output = CmdResult<Vec<u8>>> + Send>>;

/// A running coordinator, kept in its connection's gather while its ops are away.
pub struct Step {
    /// The coordinator.
    pub fut: Coordinator,
    /// Shared with its `Cx`.
    pub io: Arc<Mutex<Io>>,
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Step")
    }
}

/// A coordinator's view of its command: where it runs (database, protocol, shard count)
/// and the one way it reaches the keyspace, `run_on`.
pub struct Cx {
    io: Arc<Mutex<Io>>,
    /// The connection's database when the command started.
    pub db: usize,
    /// Reply in RESP3.
    pub resp3: bool,
    /// Number of shards.
    pub shards: usize,
}

impl Cx {
    /// A fresh context and the step state its home shard keeps (`shard::step`).
    pub fn new(db: usize, resp3: bool, shards: usize) -> (Cx, Arc<Mutex<Io>>) {
        let io = Arc::new(Mutex::new(Io::default()));
        let cx = Cx {
            io: Arc::clone(&io),
            db,
            resp3,
            shards,
        };
        (cx, io)
    }

    /// The owner shard of `key`.
    pub fn shard_of(&self, key: &[u8]) -> usize {
        crate::shard::route::shard_of(key, self.shards)
    }

    /// Runs `op` on `shard` and returns what it returned.
    pub async fn run_on<T, F>(&self, shard: usize, op: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx) -> T + Send + 'static,
    {
        let mut answers = self.run_each(vec![(shard, op)]).await;
        answers.pop().expect("one op, one answer")
    }

    /// Runs `op` on `shard`, where it reads and writes `keys`: when the command holds no
    /// locks (its keys are on one shard), the owner lets a transaction holding them
    /// finish first, as for a hop.
    pub async fn run_on_keys<T, F>(&self, shard: usize, keys: Vec<Box<[u8]>>, op: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx) -> T + Send + 'static,
    {
        {
            let mut io = self.io.lock().expect("step io");
            debug_assert!(io.asks.is_empty(), "one await at a time");
            let run = move |ctx: &mut Ctx| (Box::new(op(ctx)) as Answer, None);
            let op = Op {
                run: Box::new(run),
                keys,
                keyless: false,
            };
            io.asks.push((shard, op));
        }
        let mut answers = self.answers::<T>().await;
        answers.pop().expect("one op, one answer")
    }

    /// Runs `op`, which reads no key by name (a SCAN step), on `shard` and returns what it
    /// returned. As a keyless command's hop does, it runs there at once, whatever locks
    /// other transactions hold, and takes none.
    pub async fn run_keyless_on<T, F>(&self, shard: usize, op: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx) -> T + Send + 'static,
    {
        {
            let mut io = self.io.lock().expect("step io");
            debug_assert!(io.asks.is_empty(), "one await at a time");
            let run = move |ctx: &mut Ctx| (Box::new(op(ctx)) as Answer, None);
            let op = Op {
                run: Box::new(run),
                keys: Vec::new(),
                keyless: true,
            };
            io.asks.push((shard, op));
        }
        let mut answers = self.answers::<T>().await;
        answers.pop().expect("one op, one answer")
    }

    /// Runs `op` on `shard`, where it takes something out of the keyspace for the client
    /// (LMOVE's pop): the op returns its result and what it took. Should the client be gone
    /// by the time the answer comes home, what it took goes back where it was.
    pub async fn take_on<T, F>(&self, shard: usize, op: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx) -> (T, Taken) + Send + 'static,
    {
        let db = self.db;
        let run = move |ctx: &mut Ctx| {
            let (t, taken) = op(ctx);
            let rescue = taken.map(|(key, popped)| Rescue {
                shard,
                db,
                key,
                popped,
            });
            (Box::new(t) as Answer, rescue)
        };
        self.ask(vec![(shard, Box::new(run) as OpFn)]);
        let mut answers = self.answers::<T>().await;
        answers.pop().expect("one op, one answer")
    }

    /// Queues ops (under the command's locks) for the await that follows.
    fn ask(&self, ops: Vec<(usize, OpFn)>) {
        let mut io = self.io.lock().expect("step io");
        debug_assert!(io.asks.is_empty(), "one await at a time");
        io.asks.extend(ops.into_iter().map(|(shard, run)| {
            let op = Op {
                run,
                keys: Vec::new(),
                keyless: false,
            };
            (shard, op)
        }));
    }

    /// Runs each op on its shard, all at once (one round trip), and returns their results
    /// in the order given.
    pub async fn run_each<T, F>(&self, ops: Vec<(usize, F)>) -> Vec<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx) -> T + Send + 'static,
    {
        self.ask(
            ops.into_iter()
                .map(|(shard, op)| {
                    let run = move |ctx: &mut Ctx| (Box::new(op(ctx)) as Answer, None);
                    (shard, Box::new(run) as OpFn)
                })
                .collect(),
        );
        self.answers().await
    }

    /// Runs `op` on each key of `items` (with its argument) on the key's owner shard, one
    /// op per shard (keys grouped in order of first appearance, as one hop carries them),
    /// all at once, and returns the results in key order. The ops name their keys, so an
    /// owner checks its locks first when the command holds none.
    pub async fn run_per_key<A, T, F>(&self, items: Vec<(Box<[u8]>, A)>, op: F) -> Vec<T>
    where
        A: Send + 'static,
        T: Send + 'static,
        F: Fn(&mut Ctx, &[u8], A) -> T + Send + Clone + 'static,
    {
        let n = items.len();
        // Per shard: the keys it owns, with their places in `items`.
        type Placed<A> = Vec<(usize, Box<[u8]>, A)>;
        let mut groups: Vec<(usize, Placed<A>)> = Vec::new();
        for (at, (key, arg)) in items.into_iter().enumerate() {
            let s = self.shard_of(&key);
            match groups.iter_mut().find(|(g, _)| *g == s) {
                Some((_, placed)) => placed.push((at, key, arg)),
                None => groups.push((s, vec![(at, key, arg)])),
            }
        }
        {
            let mut io = self.io.lock().expect("step io");
            debug_assert!(io.asks.is_empty(), "one await at a time");
            for (s, placed) in groups {
                let keys = placed.iter().map(|(_, k, _)| k.clone()).collect();
                let op = op.clone();
                let run = move |ctx: &mut Ctx| {
                    let found: Vec<(usize, T)> = placed
                        .into_iter()
                        .map(|(at, k, arg)| (at, op(ctx, &k, arg)))
                        .collect();
                    (Box::new(found) as Answer, None)
                };
                let run = Box::new(run);
                let keyless = false;
                io.asks.push((s, Op { run, keys, keyless }));
            }
        }
        let mut found: Vec<Option<T>> = (0..n).map(|_| None).collect();
        for part in self.answers::<Vec<(usize, T)>>().await {
            for (at, t) in part {
                found[at] = Some(t);
            }
        }
        found
            .into_iter()
            .map(|t| t.expect("every key answered"))
            .collect()
    }

    /// Waits for the answers to the ops just asked for, as `T`s.
    async fn answers<T: 'static>(&self) -> Vec<T> {
        // Stop once: the home shard runs the ops, fills in the answers and polls again.
        let mut asked = false;
        std::future::poll_fn(|_| {
            if std::mem::replace(&mut asked, true) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        let answers = std::mem::take(&mut self.io.lock().expect("step io").answers);
        answers
            .into_iter()
            .map(|a| {
                *a.expect("every op answered")
                    .downcast::<T>()
                    .expect("an answer has its op's type")
            })
            .collect()
    }

    /// After the coordinator returns, block the client on `keys` (XREAD BLOCK with
    /// nothing to read), as `shard::block` does for blocking commands.
    pub fn block_after(
        &self,
        keys: Vec<Box<[u8]>>,
        timeout_ms: u64,
        op: crate::shard::block::BlockOp,
    ) {
        self.block_after_in(BlockAfter {
            keys,
            timeout_ms,
            op,
            seq: None,
        });
    }

    /// `block_after` in full: a blocking pop whose attempt found nothing blocks in the
    /// place it arrived in (and the places it reserved then).
    pub fn block_after_in(&self, b: BlockAfter) {
        self.io.lock().expect("step io").block = Some(b);
    }

    /// Takes the command's locks on `keys` (in ascending shard order, waiting as long as
    /// it takes).
    pub async fn lock(&self, keys: Vec<Box<[u8]>>) {
        self.wait(Wait::Lock(keys)).await;
    }

    /// Lets the locks the connection holds go now.
    pub async fn release_locks(&self) {
        self.wait(Wait::Release).await;
    }

    /// Lets the command's locks go and blocks the client on `keys` until a waiter is
    /// served (`op`), in the place of arrival number `seq`. A timeout or CLIENT UNBLOCK
    /// while blocked ends the command on the home shard (the coordinator is dropped).
    pub async fn block(
        &self,
        keys: Vec<Box<[u8]>>,
        deadline_ms: u64,
        op: crate::shard::block::BlockOp,
        seq: u64,
    ) -> Woken {
        let block = Wait::Block {
            keys,
            deadline_ms,
            op,
            seq,
        };
        match self.wait(block).await {
            None => Woken::TimedOut,
            Some(reply) if reply.is_empty() => Woken::Refused,
            Some(reply) => Woken::Served(reply),
        }
    }

    /// Has `shard` serve `keys` (database, key), which the connection's EXEC holds, as
    /// Redis serves the keys a transaction made ready, and waits until it did (the moves
    /// that set off included).
    pub async fn serve_held(&self, shard: usize, keys: Vec<(usize, Box<[u8]>)>) {
        self.wait(Wait::ServeHeld(shard, keys)).await;
    }

    /// Stops once at `w`; returns the reply part it ended with.
    async fn wait(&self, w: Wait) -> Option<Vec<u8>> {
        {
            let mut io = self.io.lock().expect("step io");
            debug_assert!(
                io.asks.is_empty() && io.wait.is_none(),
                "one await at a time"
            );
            io.woken = None;
            io.wait = Some(w);
        }
        let mut waited = false;
        std::future::poll_fn(|_| {
            if std::mem::replace(&mut waited, true) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        self.io.lock().expect("step io").woken.take()
    }

    /// An encoded reply, written by `f`.
    pub fn reply(&self, f: impl FnOnce(&mut Reply)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut Reply::new(&mut out, self.resp3));
        out
    }

    /// An integer reply.
    pub fn int(&self, n: i64) -> Vec<u8> {
        self.reply(|r| r.int(n))
    }
}
