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

/// An op for an owner shard: runs against that shard's keyspace in the coordinator's
/// database (`Ctx::db`), with no connection and no reply (`Ctx::out` goes nowhere).
pub struct Op {
    /// What it does.
    pub run: Box<dyn FnOnce(&mut Ctx) -> Answer + Send>,
    /// The keys it reads, for an owner's lock check when the command holds no locks
    /// (XREAD); empty for ops under their command's locks.
    pub keys: Vec<Box<[u8]>>,
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Op")
    }
}

/// A block to start once the coordinator returns: keys, timeout (ms, 0 = forever), op.
pub type BlockAfter = (Vec<Box<[u8]>>, u64, crate::shard::block::BlockOp);

/// What a coordinator and the home shard that polls it hand each other.
#[derive(Default)]
pub struct Io {
    /// The ops asked for at the await it stopped at: (owner shard, op).
    pub asks: Vec<(usize, Op)>,
    /// Their answers, in the order asked (filled in by the home shard).
    pub answers: Vec<Option<Answer>>,
    /// Set by `Cx::block_after`: block on these keys once the coordinator returns.
    pub block: Option<BlockAfter>,
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

    /// Runs each op on its shard, all at once (one round trip), and returns their results
    /// in the order given.
    pub async fn run_each<T, F>(&self, ops: Vec<(usize, F)>) -> Vec<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx) -> T + Send + 'static,
    {
        {
            let mut io = self.io.lock().expect("step io");
            debug_assert!(io.asks.is_empty(), "one await at a time");
            io.asks.extend(ops.into_iter().map(|(shard, op)| {
                let run = move |ctx: &mut Ctx| -> Answer { Box::new(op(ctx)) };
                let op = Op {
                    run: Box::new(run),
                    keys: Vec::new(),
                };
                (shard, op)
            }));
        }
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
                let run = move |ctx: &mut Ctx| -> Answer {
                    let found: Vec<(usize, T)> = placed
                        .into_iter()
                        .map(|(at, k, arg)| (at, op(ctx, &k, arg)))
                        .collect();
                    Box::new(found)
                };
                let run = Box::new(run);
                io.asks.push((s, Op { run, keys }));
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
        self.io.lock().expect("step io").block = Some((keys, timeout_ms, op));
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
