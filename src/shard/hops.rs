//! Hops, both sides: on the home shard, finding a command's owner shards, starting a hop
//! (or joining the connection's open one), splitting a multi-key command by owner and
//! broadcasting to every shard, and sending the turn's batches; on the owner shard,
//! running a hop's commands (`run_hop`, `run_owned`) and sending the replies home.

use std::time::Instant;

use crate::cmd::paced::Pace;
use crate::cmd::{self, Args, Ctx, Route, Spec};
use crate::conn::{Conn, Gather, Merge};
use crate::resp::Reply;
use crate::stats::bump;

use super::msg::{ConnRef, Msg, OwnedCmds};
use super::{block, route, Owners, Parts, Shard};

impl Shard {
    /// Which shards own the keys of `args`.
    pub(crate) fn owner_of_keys(&self, spec: &Spec, args: &Args) -> Owners {
        let mut owner = Owners::None;
        for i in spec.key_positions(args) {
            let s = route::shard_of(args.get(i), self.shards);
            owner = match owner {
                Owners::None => Owners::One(s),
                Owners::One(o) if o == s => Owners::One(o),
                _ => return Owners::Many,
            };
        }
        owner
    }

    /// The destination of the connection's open (unsent) hop if `spec` can join it.
    pub(super) fn appendable_hop(
        &self,
        conn: &Conn,
        g: &Gather,
        spec: &'static Spec,
        args: &Args,
    ) -> Option<usize> {
        // Only a plain hop can take more commands; a blocked client waits for its pop; a
        // command holding locks takes no passengers (unless they are its EXEC's own).
        if !matches!(g.merge, Merge::Forward)
            || g.left != 1
            || conn.blocked().is_some()
            || (conn.tx().is_some() && !conn.exec.running())
        {
            return None;
        }
        let Route::Keys(_) = spec.route else {
            return None;
        };
        if cmd::check_call(spec, args, conn, &self.settings).is_err() {
            return None;
        }
        let Owners::One(dest) = self.owner_of_keys(spec, args) else {
            return None;
        };
        if dest == self.id {
            return None;
        }
        match self.outbox[dest].last() {
            Some(Msg::Run { conn: r, .. }) if r.id == conn.id => Some(dest),
            _ => None,
        }
    }

    pub(super) fn append_to_hop(
        &mut self,
        dest: usize,
        conn: &mut Conn,
        spec: &'static Spec,
        args: &Args,
    ) {
        self.count_placement(conn, dest);
        if let Some(Msg::Run { cmds, conn: r, .. }) = self.outbox[dest].last_mut() {
            debug_assert_eq!(r.id, conn.id);
            cmds.push(spec.id, args.iter());
        }
    }

    /// Sends a whole command to its owner shard; the connection waits for the reply.
    pub(super) fn start_hop(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        dest: usize,
        spec: &'static Spec,
        args: &Args,
    ) {
        debug_assert_ne!(dest, self.id);
        let mut cmds = OwnedCmds::default();
        cmds.push(spec.id, args.iter());
        self.start_hop_cmds(slot, conn, dest, cmds);
    }

    /// Sends `cmds` to `dest` as one hop; the connection waits for the reply.
    fn start_hop_cmds(&mut self, slot: usize, conn: &mut Conn, dest: usize, cmds: OwnedCmds) {
        // Its reply is forwarded as it is, so it may come in pieces — unless it is part
        // of a transaction, whose locks must not wait for a client's reading.
        let paced = conn.tx().is_none() && !conn.exec.running();
        self.send_run_with(dest, slot, conn, 0, cmds, paced);
        conn.gather = Some(Gather {
            left: 1,
            parts: vec![Vec::new()],
            merge: Merge::Forward,
            blocked: None,
        });
    }

    /// Runs the whole command `args` on shard `dest`: here at once (its reply appended to
    /// `out`), or as a hop the connection waits on. For coordinators whose keys turned out
    /// to share one shard.
    pub fn run_whole_on(
        &mut self,
        dest: usize,
        slot: usize,
        conn: &mut Conn,
        args: &Args,
        out: &mut Vec<u8>,
    ) {
        let spec = cmd::lookup(args.get(0)).expect("a command in the table");
        let mut cmds = OwnedCmds::default();
        cmds.push(spec.id, args.iter());
        if dest == self.id {
            self.running_tx = conn.tx().map_or(0, |h| h.id);
            out.extend_from_slice(&self.run_owned(&cmds, conn.db, conn.resp3));
            self.running_tx = 0;
        } else {
            self.start_hop_cmds(slot, conn, dest, cmds);
        }
    }

    /// Queues a Run message for this turn's batch to `dest`.
    pub fn send_run(&mut self, dest: usize, slot: usize, conn: &Conn, part: u32, cmds: OwnedCmds) {
        self.send_run_with(dest, slot, conn, part, cmds, false);
    }

    /// Queues a Run message; `paced`: its reply may come in pieces (`shard::paced`).
    fn send_run_with(
        &mut self,
        dest: usize,
        slot: usize,
        conn: &Conn,
        part: u32,
        cmds: OwnedCmds,
        paced: bool,
    ) {
        bump(&self.stats().hops, 1);
        self.outbox[dest].push(Msg::Run {
            from: self.id,
            conn: ConnRef { slot, id: conn.id },
            part,
            db: conn.db as u16,
            resp3: conn.resp3,
            cmds,
            tx: conn.tx().map_or(0, |h| h.id),
            lock: None,
            hold: false,
            paced,
            prefix: Vec::new(),
        });
    }

    /// Splits a multi-key command by owner shard: per shard (ascending) its part number
    /// and the same command on its subset of keys; and the merge that combines the parts.
    pub(crate) fn split_parts(
        &self,
        spec: &'static Spec,
        args: &Args,
        merge: cmd::SplitMerge,
    ) -> (Parts, Merge) {
        let step = spec.keys.step.max(1) as usize;
        let positions: Vec<usize> = spec.key_positions(args).collect();
        // Per shard: the argument groups (key plus its `step - 1` values) it owns.
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); self.shards];
        for &p in &positions {
            groups[route::shard_of(args.get(p), self.shards)].push(p);
        }
        let mut part_of_shard = vec![u32::MAX; self.shards];
        let mut nparts = 0u32;
        let mut order = Vec::with_capacity(positions.len());
        for &p in &positions {
            let s = route::shard_of(args.get(p), self.shards);
            if part_of_shard[s] == u32::MAX {
                part_of_shard[s] = nparts;
                nparts += 1;
            }
            let idx = groups[s].iter().position(|&q| q == p).expect("grouped") as u32;
            order.push((part_of_shard[s], idx));
        }
        let merge = match merge {
            cmd::SplitMerge::Interleave => Merge::Interleave { order },
            cmd::SplitMerge::Sum => Merge::Sum,
            cmd::SplitMerge::AllOk => Merge::AllOk,
        };
        let mut parts = Vec::with_capacity(nparts as usize);
        for s in 0..self.shards {
            let part = part_of_shard[s];
            if part == u32::MAX {
                continue;
            }
            let mut cmds = OwnedCmds::default();
            let sub = std::iter::once(args.get(0)).chain(
                groups[s]
                    .iter()
                    .flat_map(|&p| (p..p + step).map(|i| args.get(i))),
            );
            cmds.push(spec.id, sub);
            parts.push((s, part, cmds));
        }
        (parts, merge)
    }

    /// Splits a multi-key command by owner shard (the caller holds the locks of every
    /// part); each part runs the same command on its subset of keys and the merge
    /// combines the replies.
    pub(super) fn split_keys(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        spec: &'static Spec,
        args: &Args,
        merge: cmd::SplitMerge,
    ) {
        let (parts, merge) = self.split_parts(spec, args, merge);
        let mut gather = Gather {
            left: parts.len() as u32,
            parts: vec![Vec::new(); parts.len()],
            merge,
            blocked: None,
        };
        let mut local: Option<(u32, OwnedCmds)> = None;
        for (s, part, cmds) in parts {
            if s == self.id {
                local = Some((part, cmds));
            } else {
                self.send_run(s, slot, conn, part, cmds);
            }
        }
        if let Some((part, cmds)) = local {
            self.running_tx = conn.tx().map_or(0, |h| h.id);
            gather.parts[part as usize] = self.run_owned(&cmds, conn.db, conn.resp3);
            self.running_tx = 0;
            gather.left -= 1;
        }
        conn.gather = Some(gather);
    }

    /// Runs a command on every shard and merges the parts.
    pub(super) fn broadcast(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        spec: &'static Spec,
        args: &Args,
        merge: cmd::AllMerge,
    ) {
        let merge = match merge {
            cmd::AllMerge::Sum => Merge::Sum,
            cmd::AllMerge::AllOk => Merge::AllOk,
            cmd::AllMerge::Concat => Merge::Concat,
            cmd::AllMerge::AnyNonNull => Merge::AnyNonNull,
            cmd::AllMerge::ConcatBulk => Merge::ConcatBulk,
            cmd::AllMerge::Same => Merge::Same(self.id),
        };
        self.broadcast_merge(slot, conn, spec, args, merge);
    }

    /// Runs `spec` with `args` on every shard (the local part with the connection) and
    /// merges the parts with `merge`.
    pub fn broadcast_merge(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        spec: &'static Spec,
        args: &Args,
        merge: Merge,
    ) {
        let mut gather = Gather {
            left: self.shards as u32,
            parts: vec![Vec::new(); self.shards],
            merge,
            blocked: None,
        };
        for s in 0..self.shards {
            if s == self.id {
                continue;
            }
            let mut cmds = OwnedCmds::default();
            cmds.push(spec.id, args.iter());
            self.send_run(s, slot, conn, s as u32, cmds);
        }
        // The local part runs with the connection, so commands that list connections
        // (CLIENT LIST) see the caller too.
        let mut out = Vec::new();
        let start = Instant::now();
        let dirty = self.ks.dirty();
        self.running_tx = conn.tx().map_or(0, |h| h.id);
        let res = {
            let db = conn.db;
            let resp3 = conn.resp3;
            let mut ctx = Ctx::new(
                self,
                spec,
                Some(&mut *conn),
                db,
                Reply::new(&mut out, resp3),
                Pace::Off,
            );
            (spec.handler)(&mut ctx, args)
        };
        self.aof_record(spec, conn.db, args, dirty);
        self.running_tx = 0;
        self.signal_written(spec, conn.db, args);
        self.finish_call(spec, start, res, &mut out, 0, conn.resp3);
        gather.parts[self.id] = out;
        gather.left -= 1;
        if gather.left == 0 {
            self.finish_gather(slot, conn, gather);
        } else {
            conn.gather = Some(gather);
        }
    }

    /// Runs commands copied from another shard (or a local part) and returns the replies.
    pub fn run_owned(&mut self, cmds: &OwnedCmds, db: usize, resp3: bool) -> Vec<u8> {
        self.run_owned_paced(cmds, db, resp3, false, false, None).0
    }

    /// Runs a transaction's commands (`run_owned`) and notes which keys with waiters each
    /// one signalled: (index of the command, database, key).
    pub(crate) fn run_owned_signals(
        &mut self,
        cmds: &OwnedCmds,
        db: usize,
        resp3: bool,
        signals: &mut block::Signals,
    ) -> Vec<u8> {
        self.run_owned_paced(cmds, db, resp3, false, false, Some(signals))
            .0
    }

    /// Like `run_owned`; with `paced`, a command may pace its reply (`shard::paced`): the
    /// run then stops after it and returns the walk's id and the index of the next command.
    /// With `serve_each` (commands of no transaction), the waiters on what a command
    /// pushed are served before the next command runs, as Redis does after each command;
    /// a command whose pushes set off moves to other shards (`block::ChainHold`) also
    /// stops the run (the index of the next command is the third value): the rest runs
    /// once the moves are done.
    fn run_owned_paced(
        &mut self,
        cmds: &OwnedCmds,
        db: usize,
        resp3: bool,
        paced: bool,
        serve_each: bool,
        mut signals: Option<&mut block::Signals>,
    ) -> (Vec<u8>, Option<(u64, usize)>, Option<usize>) {
        let mut out = Vec::new();
        for (i, &(spec_id, first, n)) in cmds.cmds.iter().enumerate() {
            let spec = cmd::spec_by_id(spec_id);
            let ranges = &cmds.args[first as usize..(first + n) as usize];
            let args = Args::new(&cmds.data, ranges);
            #[cfg(debug_assertions)]
            if let (Route::Keys(_), false) = (spec.route, self.replaying) {
                for i in spec.key_positions(&args) {
                    debug_assert_eq!(
                        route::shard_of(args.get(i), self.shards),
                        self.id,
                        "key routed to the wrong shard"
                    );
                }
            }
            let start = Instant::now();
            let reply_at = out.len();
            let ready_before = self.ready_keys.len();
            let dirty = self.ks.dirty();
            let (res, pace) = {
                let mut ctx = Ctx::new(
                    self,
                    spec,
                    None,
                    db,
                    Reply::new(&mut out, resp3),
                    if paced { Pace::Allowed } else { Pace::Off },
                );
                let res = (spec.handler)(&mut ctx, &args);
                (res, ctx.pace)
            };
            self.aof_record(spec, db, &args, dirty);
            self.signal_written(spec, db, &args);
            self.finish_call(spec, start, res, &mut out, reply_at, resp3);
            if let Some(sig) = signals.as_deref_mut() {
                for (kdb, key) in self.ready_keys.iter().skip(ready_before) {
                    sig.push((i as u32, *kdb, key.clone()));
                }
            }
            if serve_each {
                self.serve_ready_keys();
            }
            if let Pace::Started(id) = pace {
                return (out, Some((id, i + 1)), None);
            }
            if serve_each && i + 1 < cmds.cmds.len() && self.hold_pending() {
                return (out, None, Some(i + 1));
            }
        }
        (out, None, None)
    }

    /// Runs a hop's commands (`Msg::Run`) and sends their replies home (after its
    /// `prefix`).
    pub(super) fn run_hop(&mut self, msg: Msg) {
        let Msg::Run {
            from,
            conn,
            part,
            db,
            resp3,
            cmds,
            paced,
            tx,
            prefix,
            ..
        } = msg
        else {
            unreachable!("only hops run")
        };
        // A plain command's reply may wait for the moves it sets off; one holding
        // locks never waits (a move may itself wait for a lock: no cycles).
        let hold = if tx == 0 {
            self.open_hold()
        } else {
            (0, self.hold_ctx.take())
        };
        // The hop's commands from the `next`-th on, to run after a paced reply or the
        // moves its pushes set off.
        let rest_of_hop = |next: usize, paced: bool| Msg::Run {
            from,
            conn,
            part,
            db,
            resp3,
            cmds: cmds.tail(next),
            tx: 0,
            lock: None,
            hold: false,
            paced,
            prefix: Vec::new(),
        };
        let mut signals = Vec::new();
        self.running_tx = tx;
        let (ran, started, stopped) = self.run_owned_paced(
            &cmds,
            db as usize,
            resp3,
            paced,
            tx == 0,
            (tx != 0).then_some(&mut signals),
        );
        self.running_tx = 0;
        if !signals.is_empty() {
            // Ahead of the reply: its EXEC serves them in order (`TxSignals`).
            self.outbox[from].push(Msg::TxSignals {
                conn,
                part,
                signals,
            });
        }
        let mut out = prefix;
        out.extend_from_slice(&ran);
        self.serve_ready_keys();
        let held = hold.0 != 0 && self.close_hold(hold);
        if hold.0 == 0 {
            self.hold_ctx = hold.1;
        }
        if let Some((id, next)) = started {
            // The reply goes home in pieces; the hop's later commands wait for it.
            let rest = (next < cmds.cmds.len()).then(|| rest_of_hop(next, true));
            self.paced_route(id, (from, conn, part), rest);
            self.outbox[from].push(Msg::Piece {
                conn,
                part,
                out,
                more: Some((self.id, id)),
            });
            return;
        }
        let done = Msg::Done {
            conn,
            part,
            out,
            rescue: None,
        };
        if held {
            // Its pushes set off moves to other shards: the reply (and the rest of
            // the hop) waits for them.
            let rest = stopped.map(|next| rest_of_hop(next, paced));
            self.hold_reply(hold.0, from, done, rest);
        } else {
            self.outbox[from].push(done);
        }
    }

    /// Sends this turn's batches: one push and one wake per destination.
    pub(super) fn send_outbox(&mut self) {
        for dest in 0..self.shards {
            if self.outbox[dest].is_empty() {
                continue;
            }
            let batch = std::mem::take(&mut self.outbox[dest]);
            self.shared.mailboxes[dest].send(batch);
        }
    }
}
