//! The shards' side of the step API (`cmd::step`): the home shard polls a coordinator and
//! runs the ops it asks for (here at once, or as hops to their owner shards); an owner
//! shard runs an op that came in a hop and sends its typed answer home.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use super::msg::{ConnRef, Msg, Rescue};
use super::{block, Shard};
use crate::cmd::step::{Answer, Cx, Op, Step, Wait};
use crate::cmd::Ctx;
use crate::conn::{Conn, Gather, Merge};
use crate::error::CmdResult;
use crate::resp::Reply;
use crate::stats::bump;

impl Shard {
    /// Starts the coordinator `make` builds for the command `conn` runs, and runs it as
    /// far as it goes now (to its reply, when every op it asks for is this shard's).
    pub fn start_step<F, Fut>(&mut self, slot: usize, conn: &mut Conn, make: F)
    where
        F: FnOnce(Cx) -> Fut,
        Fut: Future<Output = CmdResult<Vec<u8>>> + Send + 'static,
    {
        let (cx, io) = Cx::new(conn.db, conn.resp3, self.shards);
        let step = Box::new(Step {
            fut: Box::pin(make(cx)),
            io,
        });
        self.drive_step(slot, conn, step);
    }

    /// Polls the coordinator until it replies or waits on other shards: for its ops'
    /// answers, for locks, in a block, or for an EXEC's keys served elsewhere (the
    /// connection then waits in a gather holding it, or, for locks, in its acquisition).
    pub(crate) fn drive_step(&mut self, slot: usize, conn: &mut Conn, mut step: Box<Step>) {
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(res) = step.fut.as_mut().poll(&mut cx) {
                match res {
                    Ok(reply) => conn.out.extend_from_slice(&reply),
                    Err(e) => e.write(&mut Reply::new(&mut conn.out, conn.resp3)),
                }
                let block = step.io.lock().expect("step io").block.take();
                if let Some(b) = block {
                    // A command never blocks holding its locks (waiters hold none).
                    self.release_command_locks(conn);
                    let req = block::BlockRequest {
                        keys: b.keys,
                        timeout_ms: b.timeout_ms,
                        op: b.op,
                        merge: Merge::Forward,
                        seq: b.seq.unwrap_or_else(|| self.arrival_of(conn)),
                    };
                    self.block_keeping_order(slot, conn, req);
                    return;
                }
                // A blocking pop's attempt replied: the places it reserved go.
                self.drop_reservation(conn);
                return;
            }
            let wait = step.io.lock().expect("step io").wait.take();
            if let Some(wait) = wait {
                match wait {
                    Wait::Lock(keys) => {
                        if !self.lock_for_step(conn, &keys) {
                            // Resumed once every lock is held (`Shard::run_frames`).
                            conn.wait_for_locks(step);
                            return;
                        }
                    }
                    Wait::Release => {
                        conn.chain = None;
                        self.release_hold(conn);
                    }
                    Wait::Block {
                        keys,
                        deadline_ms,
                        op,
                        seq,
                    } => {
                        self.release_command_locks(conn);
                        let timeout_ms = match deadline_ms {
                            0 => 0,
                            d if d <= self.now_ms => continue, // timed out: `woken` is None
                            d => d - self.now_ms,
                        };
                        let req = block::BlockRequest {
                            keys,
                            timeout_ms,
                            op,
                            merge: Merge::Step(step),
                            seq,
                        };
                        self.block_keeping_order(slot, conn, req);
                        return;
                    }
                    Wait::ServeHeld(shard, keys) => {
                        if shard == self.id {
                            self.serve_held_here(keys);
                            continue;
                        }
                        self.outbox[shard].push(Msg::ServeHeld {
                            from: self.id,
                            conn: ConnRef { slot, id: conn.id },
                            keys,
                        });
                        conn.gather = Some(Gather {
                            left: 1,
                            parts: vec![Vec::new()],
                            merge: Merge::Step(step),
                            blocked: None,
                        });
                        return;
                    }
                }
                continue;
            }
            let asks = std::mem::take(&mut step.io.lock().expect("step io").asks);
            if asks.is_empty() {
                debug_assert!(false, "a coordinator waits without asking for an op");
                Reply::new(&mut conn.out, conn.resp3)
                    .error("ERR internal: a step waits on nothing");
                return;
            }
            let mut answers: Vec<Option<Answer>> = (0..asks.len()).map(|_| None).collect();
            let mut left = 0;
            for (part, (shard, op)) in asks.into_iter().enumerate() {
                if shard == self.id {
                    // Its client is here and waiting: nothing it takes needs a rescue.
                    self.running_tx = conn.tx().map_or(0, |h| h.id);
                    answers[part] = Some(self.run_op(conn.db, op).0);
                    self.running_tx = 0;
                } else {
                    self.send_op(shard, slot, conn, part as u32, op);
                    left += 1;
                }
            }
            step.io.lock().expect("step io").answers = answers;
            if left > 0 {
                conn.gather = Some(Gather {
                    left,
                    parts: Vec::new(),
                    merge: Merge::Step(step),
                    blocked: None,
                });
                return;
            }
        }
    }

    /// A step's gather completed: its parts (a block's reply, or an EXEC's keys served
    /// elsewhere) go to the coordinator, which goes on.
    pub(crate) fn resume_step(&mut self, slot: usize, conn: &mut Conn, g: Gather) {
        let Merge::Step(step) = g.merge else {
            debug_assert!(false, "resume_step without a step");
            return;
        };
        if let Some(part) = g.parts.into_iter().next() {
            step.io.lock().expect("step io").woken = Some(part);
        }
        self.drive_step(slot, conn, step);
    }

    /// Blocks `conn` with `req`, its reply (should it be served at once) after the output
    /// written so far.
    fn block_keeping_order(&mut self, slot: usize, conn: &mut Conn, req: block::BlockRequest) {
        let mut out = std::mem::take(&mut conn.out);
        self.block(slot, conn, req, &mut out);
        out.append(&mut conn.out);
        conn.out = out;
    }

    /// Lets the locks of the command `conn` runs go (not an EXEC's).
    fn release_command_locks(&mut self, conn: &mut Conn) {
        if conn
            .tx()
            .is_some_and(|h| h.scope == crate::tx::Scope::Command)
        {
            self.release_hold(conn);
        }
    }

    /// Asks for the command's locks on `keys`, in ascending shard order. True when every
    /// one is held now; otherwise the acquisition goes on and the connection waits in it.
    fn lock_for_step(&mut self, conn: &mut Conn, keys: &[Box<[u8]>]) -> bool {
        let mut sets: Vec<(usize, Vec<u64>)> = Vec::new();
        for key in keys {
            let s = super::route::shard_of(key, self.shards);
            let h = crate::tx::key_hash(conn.db, key);
            match sets.iter_mut().find(|(g, _)| *g == s) {
                Some((_, hs)) => hs.push(h),
                None => sets.push((s, vec![h])),
            }
        }
        sets.sort_by_key(|(s, _)| *s);
        let sets = sets
            .into_iter()
            .map(|(s, hs)| (s, crate::tx::LockSet::of(hs)))
            .collect();
        self.acquire(conn, sets, crate::tx::Scope::Command)
    }

    /// Queues `op` for shard `dest` in this turn's batch, as part `part` of the step.
    fn send_op(&mut self, dest: usize, slot: usize, conn: &Conn, part: u32, op: Op) {
        debug_assert_ne!(dest, self.id);
        bump(&self.stats().hops, 1);
        self.outbox[dest].push(Msg::Op {
            from: self.id,
            conn: ConnRef { slot, id: conn.id },
            part,
            db: conn.db as u16,
            tx: conn.tx().map_or(0, |h| h.id),
            op,
        });
    }

    /// Runs `op` against this shard's keyspace in `db`.
    fn run_op(&mut self, db: usize, op: Op) -> (Answer, Option<Rescue>) {
        let logging = self.aof_on();
        if logging {
            self.ks.track_touched();
        }
        let mut nowhere = Vec::new();
        let mut ctx = Ctx::for_op(self, db, Reply::new(&mut nowhere, false));
        let r = (op.run)(&mut ctx);
        if logging {
            self.aof_op_done();
        }
        r
    }

    /// `Msg::Op` on the owner shard (past the lock check: under its transaction's locks,
    /// or, without a transaction, once no one holds its keys): runs the op, reports the
    /// keys with waiters it signalled ahead of the answer (an EXEC replaying serves them in
    /// order, as for a hop's commands), serves the others, and sends the answer home.
    pub(crate) fn run_op_hop(
        &mut self,
        from: usize,
        conn: ConnRef,
        part: u32,
        db: usize,
        tx: crate::tx::TxId,
        op: Op,
    ) {
        debug_assert!(
            tx != 0 || !op.keys.is_empty() || op.keyless,
            "an op without locks names its keys, or reads none by name"
        );
        // A command holding locks never waits for the moves it sets off.
        let hold = self.hold_ctx.take();
        let ready_before = self.ready_keys.len();
        self.running_tx = tx;
        let (answer, rescue) = self.run_op(db, op);
        self.running_tx = 0;
        let signals: Vec<_> = self
            .ready_keys
            .iter()
            .skip(ready_before)
            .filter(|_| tx != 0)
            .map(|(kdb, key)| (0, *kdb, key.clone()))
            .collect();
        if !signals.is_empty() {
            self.outbox[from].push(Msg::TxSignals {
                conn,
                part,
                signals,
            });
        }
        self.serve_ready_keys();
        self.hold_ctx = hold;
        self.outbox[from].push(Msg::OpDone {
            conn,
            part,
            answer,
            rescue,
        });
    }
}

/// Stores an op's answer in the step the gather `g` holds.
pub(crate) fn answer(g: &mut Gather, part: u32, answer: Answer) {
    let Merge::Step(step) = &g.merge else {
        debug_assert!(false, "an op's answer for a gather without a step");
        return;
    };
    if let Some(slot) = step
        .io
        .lock()
        .expect("step io")
        .answers
        .get_mut(part as usize)
    {
        *slot = Some(answer);
    }
}
