//! The mailbox: what other shards sent this shard, drained once per turn. A hop or an op
//! runs here unless its keys are locked (then it parks behind the transaction, `txn.rs`);
//! a reply fills a gather (`gather.rs`); published messages are delivered (`fanout.rs`);
//! lock requests, blocking waiters and paced pieces go to `txn.rs`, `block.rs` and
//! `paced.rs`; a connection moving here goes to `place.rs`.

use std::sync::Arc;

use super::msg::Msg;
use super::Shard;
use super::{block, route, step};

impl Shard {
    /// Handles every batch waiting in the mailbox.
    pub(super) fn drain_mailbox(&mut self) {
        let shared = Arc::clone(&self.shared);
        let mailbox = &shared.mailboxes[self.id];
        let mut batches = 0;
        while let Some(batch) = mailbox.recv() {
            // A CONFIG SET made before this batch was sent applies to its commands.
            self.refresh_settings();
            for msg in batch {
                self.handle(msg);
            }
            batches += 1;
            if batches >= 4096 {
                break;
            }
        }
    }

    pub(super) fn handle(&mut self, msg: Msg) {
        self.handle_msg(msg);
        // What it pushed (a requeue, a move's restore, a released lock) is served now.
        self.serve_ready_keys();
    }

    pub(crate) fn handle_msg(&mut self, mut msg: Msg) {
        if let Msg::MovePush { flight, wait } = msg {
            self.on_move_push(flight, wait);
            return;
        }
        if let Msg::Run {
            lock: lock @ Some(_),
            tx,
            hold,
            ..
        } = &mut msg
        {
            // A step of a chained command: lock, run, keep or let go. When nothing
            // conflicts (the common case) it runs at once, taking the locks only if it keeps
            // them; otherwise it waits in the queue.
            let (set, tx, hold) = (lock.take().expect("matched"), *tx, *hold);
            if !self.locks.conflicts(tx, &set) {
                if hold {
                    self.locks.try_lock(tx, set);
                }
                self.handle_unlocked(msg);
                return;
            }
            let waiter = crate::tx::Waiter::Run {
                msg: Box::new(msg),
                release: !hold,
            };
            self.locks.lock_or_queue(tx, set, waiter);
            return;
        }
        if let Msg::Run { tx: 0, .. } | Msg::Op { tx: 0, .. } = msg {
            if self.locks.busy() {
                if let Some(msg) = self.park_if_locked(msg) {
                    self.handle_unlocked(msg);
                }
                return;
            }
        }
        self.handle_unlocked(msg);
    }

    /// Handles a message whose keys are not locked by anyone else.
    pub(crate) fn handle_unlocked(&mut self, msg: Msg) {
        match msg {
            run @ Msg::Run { .. } => self.run_hop(run),
            Msg::ChainAck { id } => self.chain_ack(id),
            Msg::StartWalk { rewrite } => self.start_walk_now(rewrite),
            // Granted the destination's lock it waited for.
            Msg::MovePush { flight, .. } => self.move_push(flight),
            Msg::MoveLanded { flight, outcome } => self.on_move_landed(*flight, outcome),
            Msg::Done {
                conn: r,
                part,
                out,
                rescue,
            } => {
                if part == block::DECLINED {
                    self.declined(r);
                    return;
                }
                self.part_arrived(r, rescue, |g| g.parts[part as usize] = out);
            }
            Msg::Op {
                from,
                conn,
                part,
                db,
                tx,
                op,
            } => self.run_op_hop(from, conn, part, db as usize, tx, op),
            Msg::OpDone {
                conn,
                part,
                answer,
                rescue,
            } => self.part_arrived(conn, rescue, |g| step::answer(g, part, answer)),
            Msg::Publish { msg, from, credit } => {
                self.deliver(&msg, None);
                self.fanout_credit[from] += credit;
            }
            Msg::Credit { from, bytes } => {
                self.fanout_inflight[from] = self.fanout_inflight[from].saturating_sub(bytes);
            }
            Msg::Piece {
                conn, out, more, ..
            } => self.on_piece(conn, out, more),
            Msg::PacedMore { id } => self.on_paced_more(id),
            Msg::PacedCancel { id } => self.paced_cancel(id),
            Msg::Block { waiter, keys } => {
                if let Some((out, rescue)) = self.register_or_serve(waiter.clone(), &keys) {
                    self.count_served(&waiter);
                    self.outbox[waiter.home].push(Msg::Done {
                        conn: waiter.conn,
                        part: 0,
                        out,
                        rescue,
                    });
                } else if waiter.nowait {
                    self.outbox[waiter.home].push(Msg::Done {
                        conn: waiter.conn,
                        part: block::DECLINED,
                        out: Vec::new(),
                        rescue: None,
                    });
                }
            }
            Msg::Unblock { claim, db, keys } => self.unblock(&claim, db, &keys),
            Msg::Arm { claim, db, keys } => self.arm(&claim, db, &keys),
            Msg::TxSignals {
                conn: r,
                part,
                signals,
            } => {
                if let Some(Some(c)) = self.conns.get_mut(r.slot) {
                    if c.id == r.id && c.exec_order.is_some() {
                        c.exec_signals
                            .extend(signals.into_iter().map(|(i, db, k)| (part, i, db, k)));
                    } else if c.id == r.id && c.exec.paused() {
                        // A replayed EXEC waits on this hop: its signals come in order.
                        let shards = self.shards;
                        c.replay_signals.extend(
                            signals
                                .into_iter()
                                .map(|(_, db, k)| (route::shard_of(&k, shards), db, k)),
                        );
                    }
                }
            }
            Msg::ServeHeld { from, conn, keys } => self.serve_held(from, conn, keys),
            Msg::Requeue(r) => self.requeue(r),
            Msg::Lock {
                home,
                conn,
                tx,
                set,
                wait,
            } => self.on_lock(home, conn, tx, set, wait),
            Msg::Locked {
                shard,
                conn,
                tx,
                granted,
            } => self.on_locked(shard, conn, tx, granted),
            Msg::Release { tx } => self.release_local(tx),
            Msg::Watch {
                home,
                conn,
                part,
                db,
                keys,
                dirty,
            } => {
                self.watch_here(db, &keys, &dirty);
                self.outbox[home].push(Msg::Done {
                    conn,
                    part,
                    out: b"+OK\r\n".to_vec(),
                    rescue: None,
                });
            }
            Msg::Arrive(moving) => self.arrive(moving),
            Msg::Unwatch { keys, dirty } => {
                for k in keys {
                    self.ks.watches.remove(k, &dirty);
                }
            }
        }
    }
}
