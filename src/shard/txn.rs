//! The lock protocol of multi-shard transactions (DESIGN.md "Multi-shard transactions"),
//! and MULTI / EXEC / DISCARD / WATCH / UNWATCH on top of it.
//!
//! Three ways a transaction runs:
//! - **chain** (`start_chain`, `run_chain`): a one-step multi-key command (MSET, MGET,
//!   DEL ...) or a simple EXEC runs shard by shard in ascending order, each step locking
//!   its keys there, running and holding them until the reply; pipelined multi-key
//!   commands join an open chain (`append_to_chain`).
//! - **acquire** (`acquire`): every lock first, in ascending shard order — except the
//!   home shard's own set, which may be try-locked out of order; a transaction holding a
//!   lock out of order never waits: a refusal makes it release everything and start
//!   again in order — then the command runs through the ordinary hop machinery with its
//!   hops tagged by the transaction id (tagged hops skip the owners' lock checks).
//! - **plain**: a command on one shard takes no lock; it checks the lock table only when
//!   the table is busy, and waits only if its own keys are locked (a local connection
//!   through the same queue, a hop from another shard parked in it).
//!
//! Every wait is for a lock on a shard above every shard whose locks the waiter holds, so
//! waiting cannot close into a cycle.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use super::msg::{ConnRef, Msg, OwnedCmds};
use super::{route, Shard};
use crate::cmd::{self, Args, LockScope, Route, Spec, TxnCmd};
use crate::conn::{Conn, Gather, Locks, Merge};
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::tx::{
    key_hash, Acquire, Chain, Exec, Hold, LockSet, Queued, Replay, Scope, Step, TxId, Waiter, Watch,
};

impl Shard {
    /// A fresh transaction id.
    pub(crate) fn next_tx_id(&self) -> TxId {
        self.shared.tx_seq.fetch_add(1, Relaxed) + 1
    }

    /// The lock sets, per shard in ascending order, of one command in database `db`.
    pub(crate) fn lock_sets(&self, spec: &Spec, args: &Args, db: usize) -> Vec<(usize, LockSet)> {
        let mut per: Vec<Option<LockSet>> = vec![None; self.shards];
        self.add_locks(&mut per, spec, args, db);
        per.into_iter()
            .enumerate()
            .filter_map(|(s, set)| set.map(|set| (s, set)))
            .collect()
    }

    /// Adds what one command locks to `per` (indexed by shard).
    pub(crate) fn add_locks(
        &self,
        per: &mut [Option<LockSet>],
        spec: &Spec,
        args: &Args,
        db: usize,
    ) {
        if cmd::whole_keyspace(spec) {
            for set in per.iter_mut() {
                *set = Some(LockSet::whole());
            }
            return;
        }
        for i in spec.key_positions(args) {
            let key = args.get(i);
            let s = route::shard_of(key, self.shards);
            let set = per[s].get_or_insert_with(LockSet::default);
            if !set.all {
                set.extend([key_hash(db, key)]);
            }
        }
    }

    /// True if a plain command (`spec` with `args` in `db`) touches keys locked here.
    pub(crate) fn locked_for(&self, spec: &Spec, args: &Args, db: usize) -> bool {
        let set = if cmd::whole_keyspace(spec) {
            LockSet::whole()
        } else {
            LockSet::of(
                spec.key_positions(args)
                    .map(|i| key_hash(db, args.get(i)))
                    .collect(),
            )
        };
        (set.all || !set.keys.is_empty()) && self.locks.conflicts(0, &set)
    }

    /// The lock set of a hop's commands on this shard.
    fn lock_set_of(&self, cmds: &OwnedCmds, db: usize) -> LockSet {
        let mut set = LockSet::default();
        for &(spec_id, first, n) in &cmds.cmds {
            let spec = cmd::spec_by_id(spec_id);
            let ranges = &cmds.args[first as usize..(first + n) as usize];
            let args = Args::new(&cmds.data, ranges);
            if cmd::whole_keyspace(spec) {
                return LockSet::whole();
            }
            set.extend(spec.key_positions(&args).map(|i| key_hash(db, args.get(i))));
        }
        set
    }

    /// Does `spec` need locks before it runs for this connection? Returns the lock sets
    /// when it does: keys on several shards, the whole keyspace with several shards, or
    /// keys of this shard that another transaction holds.
    pub(crate) fn lock_plan(
        &self,
        spec: &'static Spec,
        args: &Args,
        conn: &Conn,
        owners: super::Owners,
    ) -> Option<Vec<(usize, LockSet)>> {
        if conn.tx().is_some() {
            return None;
        }
        let need = match (spec.route, owners) {
            (Route::All(_), _) => {
                cmd::whole_keyspace(spec) && (self.shards > 1 || self.locks.busy())
            }
            // One-step multi-key commands chain instead (`start_chain`).
            (Route::Keys(Some(_)), super::Owners::Many) => false,
            // Blocking pops over several shards take their locks for the first attempt
            // (`shard::block::pop_or_block`); XREAD only reads (`LockScope::PerShard`).
            (_, super::Owners::Many) => spec.lock != LockScope::PerShard,
            (_, super::Owners::One(s)) => {
                s == self.id && self.locks.busy() && self.locked_for(spec, args, conn.db)
            }
            _ => false,
        };
        need.then(|| self.lock_sets(spec, args, conn.db))
    }

    /// Starts taking `sets` (ascending by shard) for the connection. Returns true if all
    /// were granted at once (the caller goes on now); otherwise the connection waits and is
    /// queued to run again once they are held.
    pub(crate) fn acquire(
        &mut self,
        conn: &mut Conn,
        sets: Vec<(usize, LockSet)>,
        scope: Scope,
    ) -> bool {
        debug_assert!(
            matches!(conn.locks, Locks::None),
            "one set of locks at a time"
        );
        let id = self.next_tx_id();
        let mut acq = Acquire {
            id,
            sets,
            taken: Vec::new(),
            wait: true,
            scope,
        };
        // The home shard's own set first, out of order, when that costs no waiting: a
        // transaction over two shards then needs one round trip, not two.
        let first = acq.sets.first().map(|(s, _)| *s);
        if acq.sets.len() > 1 && first != Some(self.id) {
            let set = acq.set_for(self.id);
            if (set.all || !set.keys.is_empty()) && self.locks.try_lock(id, set) {
                acq.taken.push(self.id);
                acq.wait = false;
            }
        }
        conn.locks = Locks::Acquiring { acq, then: None };
        self.acquire_step(conn)
    }

    /// Asks the next shard. Returns true once every lock is held (`Locks::Held`).
    fn acquire_step(&mut self, conn: &mut Conn) -> bool {
        let me = ConnRef {
            slot: conn.slot,
            id: conn.id,
        };
        loop {
            let acq = conn.acquiring_mut().expect("acquiring");
            let Some(s) = acq.next_shard() else {
                let Locks::Acquiring { acq, then } = std::mem::take(&mut conn.locks) else {
                    unreachable!("acquiring, matched above")
                };
                let hold = Hold {
                    id: acq.id,
                    shards: acq.taken,
                    scope: acq.scope,
                };
                conn.locks = Locks::Held { hold, then };
                return true;
            };
            let set = acq.set_for(s);
            if s == self.id {
                if self
                    .locks
                    .lock_or_queue(acq.id, set, Waiter::Local { conn: me })
                    .is_none()
                {
                    return false;
                }
                acq.taken.push(s);
                continue;
            }
            crate::stats::bump(&self.stats().hops, 1);
            let msg = Msg::Lock {
                home: self.id,
                conn: me,
                tx: acq.id,
                set,
                wait: acq.wait,
            };
            self.outbox[s].push(msg);
            return false;
        }
    }

    /// A lock of `shard` was granted (or refused) for a connection of this shard.
    pub(crate) fn on_locked(&mut self, shard: usize, r: ConnRef, tx: TxId, granted: bool) {
        let alive = matches!(
            self.conns.get(r.slot),
            Some(Some(c)) if c.id == r.id && c.acquiring().is_some_and(|a| a.id == tx)
        );
        if !alive {
            // Its client left (close() released the rest): give this one back too.
            if granted {
                self.release_on(shard, tx);
            }
            return;
        }
        let mut conn = self.conns[r.slot].take().expect("present");
        if granted {
            conn.acquiring_mut().expect("acquiring").taken.push(shard);
        } else {
            // Refused while holding a lock out of order: let everything go and take the
            // locks again in shard order, waiting where needed.
            let acq = conn.acquiring_mut().expect("acquiring");
            let taken = std::mem::take(&mut acq.taken);
            acq.wait = true;
            let tx = acq.id;
            for s in taken {
                self.release_on(s, tx);
            }
        }
        if self.acquire_step(&mut conn) && !conn.queued {
            conn.queued = true;
            self.ready.push(r.slot);
        }
        self.conns[r.slot] = Some(conn);
    }

    /// Resumes connections whose locks on this shard were granted meanwhile.
    pub(crate) fn resume_granted(&mut self) {
        while let Some((r, tx)) = self.granted.pop() {
            let (acquiring, chaining) = match self.conns.get(r.slot) {
                Some(Some(c)) if c.id == r.id => (
                    c.acquiring().is_some_and(|a| a.id == tx),
                    c.chain.as_ref().is_some_and(|ch| ch.id == tx),
                ),
                _ => (false, false),
            };
            if acquiring {
                self.on_locked(self.id, r, tx, true);
            } else if chaining {
                let mut conn = self.conns[r.slot].take().expect("present");
                conn.chain.as_mut().expect("chaining").front_locked = true;
                self.chain_step(r.slot, &mut conn);
                self.after_async_step(r.slot, &mut conn);
                self.conns[r.slot] = Some(conn);
            } else {
                self.release_local(tx);
            }
        }
    }

    /// Starts a one-step multi-key command whose keys span shards as a chain (`tx::Chain`):
    /// one round trip per other shard, in ascending shard order, no separate lock phase.
    pub(crate) fn start_chain(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        spec: &'static Spec,
        args: &Args,
        merge: cmd::SplitMerge,
    ) {
        let (parts, merge) = self.split_parts(spec, args, merge);
        self.run_chain(slot, conn, parts, merge);
    }

    /// Runs `parts` (ascending by shard: shard, part number, commands) as a chain whose
    /// gather merges with `merge`.
    pub(super) fn run_chain(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        parts: super::Parts,
        merge: Merge,
    ) {
        let id = self.next_tx_id();
        let n = parts.len();
        let db = conn.db;
        let mut part_shards = vec![0; n];
        let steps = parts
            .into_iter()
            .map(|(shard, part, cmds)| {
                part_shards[part as usize] = shard;
                Step {
                    shard,
                    part,
                    set: self.lock_set_of(&cmds, db),
                    cmds,
                }
            })
            .collect();
        conn.gather = Some(Gather {
            left: n as u32,
            parts: vec![Vec::new(); n],
            merge,
            blocked: None,
        });
        conn.set_tx(Hold {
            id,
            shards: Vec::new(),
            scope: Scope::Command,
        });
        conn.chain = Some(Chain {
            id,
            steps,
            front_locked: false,
            front_waiting: false,
            part_shards,
        });
        self.chain_step(slot, conn);
    }

    /// Runs the chain's next steps: a step here locks (or waits), runs and goes on; a step
    /// elsewhere is sent, and the chain goes on when its reply arrives. When the last part
    /// is in, the reply is merged.
    pub(crate) fn chain_step(&mut self, slot: usize, conn: &mut Conn) {
        let me = ConnRef { slot, id: conn.id };
        loop {
            let Some(ch) = conn.chain.as_mut() else {
                return;
            };
            let Some(step) = ch.steps.pop_front() else {
                return;
            };
            let (id, last) = (ch.id, ch.steps.is_empty());
            // A chained EXEC keeps every lock, the last one too: the keys it pushed to are
            // served in order before they go (`serve_exec_signals`).
            let keep = !last || conn.exec_order.is_some();
            // (The field itself, not `tx_mut`: the chain stays borrowed beside it.)
            let Locks::Held { hold, .. } = &mut conn.locks else {
                unreachable!("a chain holds locks")
            };
            if step.shard != self.id {
                if keep {
                    hold.shards.push(step.shard);
                }
                crate::stats::bump(&self.stats().hops, 1);
                self.outbox[step.shard].push(Msg::Run {
                    from: self.id,
                    conn: me,
                    part: step.part,
                    db: conn.db as u16,
                    resp3: conn.resp3,
                    cmds: step.cmds,
                    tx: id,
                    lock: Some(step.set),
                    hold: keep,
                    paced: false,
                    prefix: Vec::new(),
                });
                return;
            }
            if !std::mem::take(&mut ch.front_locked)
                && self
                    .locks
                    .lock_or_queue(id, step.set.clone(), Waiter::Local { conn: me })
                    .is_none()
            {
                ch.front_waiting = true;
                ch.steps.push_front(step);
                return;
            }
            ch.front_waiting = false;
            hold.shards.push(step.shard);
            let mut signals = Vec::new();
            self.running_tx = id;
            let out = self.run_owned_signals(&step.cmds, conn.db, conn.resp3, &mut signals);
            self.running_tx = 0;
            conn.exec_signals.extend(
                signals
                    .into_iter()
                    .map(|(i, db, key)| (step.part, i, db, key)),
            );
            let g = conn.gather.as_mut().expect("a chain gathers");
            g.parts[step.part as usize] = out;
            g.left -= 1;
            if g.left == 0 {
                conn.chain = None;
                let g = conn.gather.take().expect("present");
                self.finish_gather(slot, conn, g);
                return;
            }
        }
    }

    /// Lets a pipelined multi-key command join the connection's chain in progress, when
    /// it spans the same shards and none of the chain's steps has left this turn: its
    /// parts join the steps not yet run or still in this turn's outbox; its part on this
    /// shard, when the chain already ran here, runs now under the chain's locks (taken
    /// without waiting, or it does not join). Returns false if it cannot join.
    pub(crate) fn append_to_chain(
        &mut self,
        conn: &mut Conn,
        spec: &'static Spec,
        args: &Args,
    ) -> bool {
        let Route::Keys(Some(split)) = spec.route else {
            return false;
        };
        let Some(ch) = conn.chain.as_ref() else {
            return false;
        };
        let exec = conn
            .gather
            .as_ref()
            .is_some_and(|g| matches!(g.merge, Merge::Exec { .. }));
        if exec
            || ch.front_waiting
            || conn.exec.running()
            || (!conn.resp3 && conn.subscriptions() > 0)
            || cmd::check_call(spec, args, conn, &self.settings).is_err()
            || !matches!(self.owner_of_keys(spec, args), super::Owners::Many)
        {
            return false;
        }
        let (parts, merge) = self.split_parts(spec, args, split);
        let mut mine: Vec<usize> = parts.iter().map(|p| p.0).collect();
        let mut theirs = ch.part_shards.clone();
        mine.sort_unstable();
        theirs.sort_unstable();
        if mine != theirs {
            return false;
        }
        let (id, db, me) = (ch.id, conn.db, conn.id);
        let sets: Vec<LockSet> = parts.iter().map(|p| self.lock_set_of(&p.2, db)).collect();
        // Can every part join?
        for ((s, _, _), set) in parts.iter().zip(&sets) {
            let pending = ch.steps.iter().any(|st| st.shard == *s);
            let ok = if pending {
                true
            } else if *s != self.id {
                matches!(
                    self.outbox[*s].last(),
                    Some(Msg::Run { conn: r, tx, lock: Some(_), .. }) if r.id == me && *tx == id
                )
            } else {
                !self.locks.conflicts(id, set)
            };
            if !ok {
                return false;
            }
        }
        // Join. Part numbers follow the chain's.
        let chain_part = |s: usize| {
            ch.part_shards
                .iter()
                .position(|&p| p == s)
                .expect("same shards") as u32
        };
        let renumber: Vec<u32> = {
            let mut r = vec![0; parts.len()];
            for (s, part, _) in &parts {
                r[*part as usize] = chain_part(*s);
            }
            r
        };
        let merge = match merge {
            Merge::Interleave { order } => Merge::Interleave {
                order: order
                    .into_iter()
                    .map(|(p, i)| (renumber[p as usize], i))
                    .collect(),
            },
            m => m,
        };
        let ch = conn.chain.as_mut().expect("checked");
        let mut local_out = None;
        for ((s, _, cmds), set) in parts.into_iter().zip(sets) {
            if let Some(st) = ch.steps.iter_mut().find(|st| st.shard == s) {
                st.set.extend(set.keys);
                st.cmds.extend_from(&cmds);
            } else if s != self.id {
                if let Some(Msg::Run {
                    lock: Some(l),
                    cmds: c,
                    ..
                }) = self.outbox[s].last_mut()
                {
                    l.extend(set.keys);
                    c.extend_from(&cmds);
                }
            } else {
                let granted = self.locks.try_lock(id, set);
                debug_assert!(granted, "checked for conflicts above");
                local_out = Some((s, cmds));
            }
        }
        if let Some((s, cmds)) = local_out {
            self.running_tx = id;
            let out = self.run_owned(&cmds, db, conn.resp3);
            self.running_tx = 0;
            let part = conn.chain.as_ref().map_or(0, |ch| {
                ch.part_shards.iter().position(|&p| p == s).unwrap_or(0)
            });
            let g = conn.gather.as_mut().expect("a chain gathers");
            g.parts[part].extend_from_slice(&out);
        }
        let g = conn.gather.as_mut().expect("a chain gathers");
        let first = std::mem::replace(&mut g.merge, Merge::Forward);
        g.merge = match first {
            Merge::Batch(mut items) => {
                items.push(merge);
                Merge::Batch(items)
            }
            first => Merge::Batch(vec![first, merge]),
        };
        true
    }

    /// After a chain step completed outside the connection's own turn: settle its locks
    /// and let its pipeline go on once the command replied.
    pub(crate) fn after_async_step(&mut self, slot: usize, conn: &mut Conn) {
        if conn.gather.is_none() {
            self.settle_tx(conn);
            if !conn.queued {
                conn.queued = true;
                self.ready.push(slot);
            }
        }
    }

    /// Gives up a connection's chain in progress (it closed): every shard lets go of it,
    /// including one whose step is still on its way (the release arrives after it).
    pub(crate) fn abandon_chain(&mut self, conn: &mut Conn) {
        if let Some(ch) = conn.chain.take() {
            // What its steps ran stays, in memory and so in the log.
            self.aof_commit(ch.id);
            for s in 0..self.shards {
                self.release_on(s, ch.id);
            }
            conn.take_tx();
        }
    }

    /// Releases `tx` on shard `s` (here at once, elsewhere by message).
    fn release_on(&mut self, s: usize, tx: TxId) {
        if s == self.id {
            self.release_local(tx);
        } else {
            self.outbox[s].push(Msg::Release { tx });
        }
    }

    /// Releases what `tx` holds or waits for here, and hands the freed locks on: to
    /// remote transactions (by message), local ones (resumed next), parked hops (run now).
    pub(crate) fn release_local(&mut self, tx: TxId) {
        self.aof_released(tx);
        let mut work = vec![tx];
        while let Some(t) = work.pop() {
            for (granted, waiter) in self.locks.release(t) {
                match waiter {
                    Waiter::Remote { home, conn } => self.outbox[home].push(Msg::Locked {
                        shard: self.id,
                        conn,
                        tx: granted,
                        granted: true,
                    }),
                    Waiter::Local { conn } => self.granted.push((conn, granted)),
                    Waiter::Run { msg, release } => {
                        self.handle_unlocked(*msg);
                        if release {
                            work.push(granted);
                        }
                    }
                }
            }
        }
        // Keys the transaction pushed to are served as soon as it lets go.
        self.serve_ready_keys();
    }

    /// Releases the connection's locks on every shard that holds them.
    pub(crate) fn release_hold(&mut self, conn: &mut Conn) {
        if let Some(h) = conn.take_tx() {
            self.aof_commit(h.id);
            for s in h.shards {
                self.release_on(s, h.id);
            }
        }
    }

    /// Gives up a connection's acquisition in progress (it closed).
    pub(crate) fn abandon_acquire(&mut self, conn: &mut Conn) {
        if let Some(acq) = conn.take_acquire() {
            for (s, _) in &acq.sets {
                self.release_on(*s, acq.id);
            }
        }
    }

    /// After a command of the connection ran (or its gather completed): a command's own
    /// locks go once it has replied, or once it blocks (waiters hold no locks).
    pub(crate) fn settle_tx(&mut self, conn: &mut Conn) {
        let done = conn.gather.as_ref().is_none_or(|g| g.blocked.is_some());
        if done && conn.exec_order.is_some() && self.serve_exec_signals(conn) {
            return; // the locks go once its keys were served
        }
        if done && conn.tx().is_some_and(|h| h.scope == Scope::Command) {
            conn.chain = None;
            self.release_hold(conn);
        }
    }

    /// Before a lock on watched keys is granted: a watched key whose time ran out since
    /// WATCH is collected now, which marks its watchers (an EXEC must fail, as in Redis,
    /// even if nothing touched the key).
    fn expire_watched(&mut self, set: &LockSet) {
        if self.ks.watches.is_empty() || set.all {
            return;
        }
        let now = self.now_ms;
        for &h in &set.keys {
            for (db, key) in self.ks.watches.keys_named(h) {
                self.ks.peek(db, &key, now);
            }
        }
    }

    /// A `Lock` request from another shard.
    pub(crate) fn on_lock(
        &mut self,
        home: usize,
        conn: ConnRef,
        tx: TxId,
        set: LockSet,
        wait: bool,
    ) {
        self.expire_watched(&set);
        let granted = if wait {
            self.locks
                .lock_or_queue(tx, set, Waiter::Remote { home, conn })
                .is_some()
        } else {
            self.locks.try_lock(tx, set)
        };
        if granted || !wait {
            self.outbox[home].push(Msg::Locked {
                shard: self.id,
                conn,
                tx,
                granted,
            });
        }
    }

    /// A plain hop whose keys may be locked: parks it if so (it runs when they are
    /// released). Returns the message back if it may run now.
    pub(crate) fn park_if_locked(&mut self, msg: Msg) -> Option<Msg> {
        let set = match &msg {
            Msg::Run { cmds, db, .. } => self.lock_set_of(cmds, *db as usize),
            Msg::Op { op, db, .. } => {
                let mut set = LockSet::default();
                set.extend(op.keys.iter().map(|k| key_hash(*db as usize, k)));
                set
            }
            _ => return Some(msg),
        };
        if (!set.all && set.keys.is_empty()) || !self.locks.conflicts(0, &set) {
            return Some(msg);
        }
        let id = self.next_tx_id();
        let waiter = Waiter::Run {
            msg: Box::new(msg),
            release: true,
        };
        match self.locks.lock_or_queue(id, set, waiter) {
            // Cannot happen (it conflicted), but if it does: run it and let go.
            Some(Waiter::Run { msg, .. }) => {
                self.handle_unlocked(*msg);
                self.release_local(id);
                None
            }
            _ => None,
        }
    }
}

/// MULTI / EXEC / DISCARD / WATCH / UNWATCH.
impl Shard {
    /// Runs a transaction command. Returns false if EXEC must wait for its locks.
    pub(crate) fn txn_command(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        t: TxnCmd,
        spec: &'static Spec,
        args: &Args,
    ) -> bool {
        let start = Instant::now();
        let mut out = std::mem::take(&mut conn.out);
        let reply_at = out.len();
        let res: CmdResult = match t {
            TxnCmd::Multi if conn.multi.is_some() => {
                Err(CmdError::msg("ERR MULTI calls can not be nested"))
            }
            TxnCmd::Multi => {
                conn.multi = Some(Queued::default());
                Reply::new(&mut out, conn.resp3).ok();
                Ok(())
            }
            TxnCmd::Discard if conn.multi.is_none() => {
                Err(CmdError::msg("ERR DISCARD without MULTI"))
            }
            TxnCmd::Discard => {
                self.discard_multi(conn);
                Reply::new(&mut out, conn.resp3).ok();
                Ok(())
            }
            TxnCmd::Unwatch => {
                self.unwatch_all(conn);
                Reply::new(&mut out, conn.resp3).ok();
                Ok(())
            }
            TxnCmd::Watch if conn.multi.is_some() => {
                Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"))
            }
            TxnCmd::Watch => {
                self.watch(slot, conn, args, &mut out);
                Ok(())
            }
            TxnCmd::Exec => {
                conn.out = out;
                return self.exec(slot, conn, spec, start);
            }
        };
        self.finish_call(spec, start, res, &mut out, reply_at, conn.resp3);
        out.append(&mut conn.out);
        conn.out = out;
        true
    }

    /// Leaves MULTI without running anything.
    pub(crate) fn discard_multi(&mut self, conn: &mut Conn) {
        conn.multi = None;
        self.unwatch_all(conn);
    }

    /// EXEC: takes the locks of every queued command and watched key, checks the watched
    /// keys, then replays the queue. Returns false while the locks are being acquired.
    fn exec(&mut self, slot: usize, conn: &mut Conn, spec: &'static Spec, start: Instant) -> bool {
        let Some(q) = conn.multi.as_ref() else {
            let at = conn.out.len();
            let res = Err(CmdError::msg("ERR EXEC without MULTI"));
            let mut out = std::mem::take(&mut conn.out);
            self.finish_call(spec, start, res, &mut out, at, conn.resp3);
            conn.out = out;
            return true;
        };
        if q.aborted {
            self.discard_multi(conn);
            let at = conn.out.len();
            let res = Err(CmdError::msg(
                "EXECABORT Transaction discarded because of previous errors.",
            ));
            let mut out = std::mem::take(&mut conn.out);
            self.finish_call(spec, start, res, &mut out, at, conn.resp3);
            conn.out = out;
            return true;
        }
        if conn.tx().is_none() && conn.watch.is_none() {
            if let Some((parts, order)) = self.exec_chain_plan(conn) {
                // Every queued command is a keyed command on one shard: the EXEC runs as a
                // chain, one round trip per other shard, no separate lock phase.
                conn.multi = None;
                let at = conn.out.len();
                let mut out = std::mem::take(&mut conn.out);
                self.finish_call(spec, start, Ok(()), &mut out, at, conn.resp3);
                conn.out = out;
                let mut part_shards = vec![0; parts.len()];
                for (s, p, _) in &parts {
                    part_shards[*p as usize] = *s;
                }
                conn.exec_order = Some((order.clone(), part_shards));
                conn.exec_signals.clear();
                self.run_chain(slot, conn, parts, Merge::Exec { order });
                return true;
            }
        }
        if conn.tx().is_none() {
            let sets = self.exec_lock_sets(conn);
            // Watched keys here that expired since WATCH count as changed; remote owners
            // check theirs when they grant (`on_lock`).
            if let Some((_, set)) = sets.iter().find(|(s, _)| *s == self.id) {
                let set = set.clone();
                self.expire_watched(&set);
            }
            if !self.acquire(conn, sets, Scope::Exec) {
                return false;
            }
        }
        // Every lock is held: no watched key can change any more, and every change made
        // before has marked the flag (it happened before its shard granted the lock).
        let dirty = conn
            .watch
            .as_ref()
            .is_some_and(|w| w.dirty.load(std::sync::atomic::Ordering::Acquire));
        let q = conn.multi.take().expect("in MULTI");
        self.unwatch_all(conn);
        let at = conn.out.len();
        let mut out = std::mem::take(&mut conn.out);
        let mut r = Reply::new(&mut out, conn.resp3);
        if dirty {
            r.null_array();
            self.finish_call(spec, start, Ok(()), &mut out, at, conn.resp3);
            conn.out = out;
            self.release_hold(conn);
            return true;
        }
        r.array_len(q.cmds.cmds.len());
        self.finish_call(spec, start, Ok(()), &mut out, at, conn.resp3);
        conn.out = out;
        conn.exec = Exec::Paused(Replay {
            cmds: q.cmds,
            next: 0,
        });
        conn.replay_signals.clear();
        self.replay(slot, conn);
        true
    }

    /// An EXEC whose queued commands are all keyed commands on one shard each (no WATCH,
    /// no blocking command, no SELECT): its commands per shard (ascending, numbered as
    /// parts) and the part of each command in order. `None` when it must replay.
    fn exec_chain_plan(&self, conn: &Conn) -> Option<(super::Parts, Vec<u32>)> {
        let q = conn.multi.as_ref()?;
        if q.cmds.cmds.is_empty() {
            return None;
        }
        let mut per: Vec<Option<OwnedCmds>> = (0..self.shards).map(|_| None).collect();
        let mut shard_of_cmd = Vec::with_capacity(q.cmds.cmds.len());
        for &(spec_id, first, n) in &q.cmds.cmds {
            let spec = cmd::spec_by_id(spec_id);
            let args = Args::new(
                &q.cmds.data,
                &q.cmds.args[first as usize..(first + n) as usize],
            );
            if !matches!(spec.route, Route::Keys(_)) || spec.flags & cmd::flag::BLOCKING != 0 {
                return None;
            }
            let super::Owners::One(s) = self.owner_of_keys(spec, &args) else {
                return None;
            };
            per[s]
                .get_or_insert_with(OwnedCmds::default)
                .push(spec_id, args.iter());
            shard_of_cmd.push(s);
        }
        let mut part_of = vec![u32::MAX; self.shards];
        let mut parts = Vec::new();
        for (s, cmds) in per.into_iter().enumerate() {
            if let Some(cmds) = cmds {
                part_of[s] = parts.len() as u32;
                parts.push((s, part_of[s], cmds));
            }
        }
        let order = shard_of_cmd.iter().map(|&s| part_of[s]).collect();
        Some((parts, order))
    }

    /// What an EXEC locks: the keys of its queued commands (in the database each runs
    /// in: SELECT inside the transaction counts) and its watched keys.
    fn exec_lock_sets(&self, conn: &Conn) -> Vec<(usize, LockSet)> {
        let mut per: Vec<Option<LockSet>> = vec![None; self.shards];
        let q = conn.multi.as_ref().expect("in MULTI");
        let mut db = conn.db;
        for &(spec_id, first, n) in &q.cmds.cmds {
            let spec = cmd::spec_by_id(spec_id);
            let args = Args::new(
                &q.cmds.data,
                &q.cmds.args[first as usize..(first + n) as usize],
            );
            if spec.lock == LockScope::SelectsDb {
                if let Some(d) = crate::num::parse_i64(args.get(1)) {
                    if d >= 0 && (d as usize) < self.ks.databases() {
                        db = d as usize;
                    }
                }
                continue;
            }
            self.add_locks(&mut per, spec, &args, db);
        }
        if let Some(w) = &conn.watch {
            for (s, wdb, key) in &w.keys {
                let set = per[*s].get_or_insert_with(LockSet::default);
                if !set.all {
                    set.extend([key_hash(*wdb, key)]);
                }
            }
        }
        per.into_iter()
            .enumerate()
            .filter_map(|(s, set)| set.map(|set| (s, set)))
            .collect()
    }

    /// Runs an EXEC's queued commands in order, as far as they go without waiting; picks
    /// up again when the connection's hop completes. Releases the locks at the end.
    pub(crate) fn replay(&mut self, slot: usize, conn: &mut Conn) {
        let mut rp = match std::mem::replace(&mut conn.exec, Exec::Running) {
            Exec::Paused(rp) => rp,
            other => {
                conn.exec = other;
                return;
            }
        };
        while rp.next < rp.cmds.cmds.len() {
            let (_, first, n) = rp.cmds.cmds[rp.next];
            let ranges = &rp.cmds.args[first as usize..(first + n) as usize];
            let args = Args::new(&rp.cmds.data, ranges);
            // Keys with waiters it signals here (its locks keep them from being served
            // yet); a hop's owner reports its own in `Msg::TxSignals`.
            let ready_before = self.ready_keys.len();
            if !self.execute(slot, conn, &args) {
                break;
            }
            let id = self.id;
            conn.replay_signals.extend(
                self.ready_keys
                    .iter()
                    .skip(ready_before)
                    .map(|(db, key)| (id, *db, key.clone())),
            );
            conn.block_arrival = None;
            rp.next += 1;
        }
        conn.exec = Exec::Off;
        if rp.next == rp.cmds.cmds.len() && conn.gather.is_none() {
            // Keys it pushed on several shards are served in the order it pushed them,
            // under its locks, and then the locks go (`serve_held_runs`).
            match self.replay_runs(conn) {
                Some(runs) => self.serve_held_runs(slot, conn, runs),
                None => self.release_hold(conn),
            }
        } else {
            conn.exec = Exec::Paused(rp);
        }
    }

    /// The keys a replayed EXEC signalled, each once in the place of its first signal, as
    /// runs of same-shard keys; `None` when they are all on one shard (released in order
    /// there).
    fn replay_runs(&mut self, conn: &mut Conn) -> Option<crate::shard::block::HeldRuns> {
        let signals = std::mem::take(&mut conn.replay_signals);
        let first = signals.first()?.0;
        if signals.iter().all(|s| s.0 == first) {
            return None;
        }
        let mut seen = std::collections::HashSet::new();
        let mut runs: crate::shard::block::HeldRuns = Default::default();
        for (shard, db, key) in signals {
            if !seen.insert((db, key.clone())) {
                continue;
            }
            match runs.back_mut() {
                Some((s, keys)) if *s == shard => keys.push((db, key)),
                _ => runs.push_back((shard, vec![(db, key)])),
            }
        }
        Some(runs)
    }

    /// WATCH key [key ...]: registers the connection's dirty flag with each key's owner.
    fn watch(&mut self, slot: usize, conn: &mut Conn, args: &Args, out: &mut Vec<u8>) {
        let db = conn.db;
        let w = conn.watch.get_or_insert_with(|| Watch {
            dirty: Arc::new(AtomicBool::new(false)),
            keys: Vec::new(),
        });
        let dirty = Arc::clone(&w.dirty);
        let mut remote: Vec<(usize, Vec<Box<[u8]>>)> = Vec::new();
        for key in args.iter().skip(1) {
            let s = route::shard_of(key, self.shards);
            if !w
                .keys
                .iter()
                .any(|(ws, wdb, k)| *ws == s && *wdb == db && **k == *key)
            {
                w.keys.push((s, db, key.into()));
            }
            if s == self.id {
                continue;
            }
            match remote.iter_mut().find(|(r, _)| *r == s) {
                Some((_, ks)) => ks.push(key.into()),
                None => remote.push((s, vec![key.into()])),
            }
        }
        let local: Vec<Box<[u8]>> = args
            .iter()
            .skip(1)
            .filter(|k| route::shard_of(k, self.shards) == self.id)
            .map(Box::from)
            .collect();
        self.watch_here(db, &local, &dirty);
        if remote.is_empty() {
            Reply::new(out, conn.resp3).ok();
            return;
        }
        // The reply waits until every owner has registered the watch.
        let me = ConnRef { slot, id: conn.id };
        let n = remote.len();
        for (part, (s, keys)) in remote.into_iter().enumerate() {
            crate::stats::bump(&self.stats().hops, 1);
            self.outbox[s].push(Msg::Watch {
                home: self.id,
                conn: me,
                part: part as u32,
                db,
                keys,
                dirty: Arc::clone(&dirty),
            });
        }
        conn.gather = Some(Gather {
            left: n as u32,
            parts: vec![Vec::new(); n],
            merge: Merge::AllOk,
            blocked: None,
        });
    }

    /// Registers watchers of keys this shard owns. A key whose time already ran out is
    /// collected first, so its late removal does not count as a change.
    pub(crate) fn watch_here(&mut self, db: usize, keys: &[Box<[u8]>], dirty: &Arc<AtomicBool>) {
        let now = self.now_ms;
        for k in keys {
            self.ks.peek(db, k, now);
            self.ks.watches.add(db, k, dirty);
        }
    }

    /// Forgets every key the connection watches (UNWATCH, EXEC, DISCARD, close).
    pub fn unwatch_all(&mut self, conn: &mut Conn) {
        let Some(w) = conn.watch.take() else {
            return;
        };
        let mut remote: Vec<(usize, Vec<u64>)> = Vec::new();
        for (s, db, key) in &w.keys {
            let h = key_hash(*db, key);
            if *s == self.id {
                self.ks.watches.remove(h, &w.dirty);
                continue;
            }
            match remote.iter_mut().find(|(r, _)| r == s) {
                Some((_, ks)) => ks.push(h),
                None => remote.push((*s, vec![h])),
            }
        }
        for (s, keys) in remote {
            self.outbox[s].push(Msg::Unwatch {
                keys,
                dirty: Arc::clone(&w.dirty),
            });
        }
    }
}
