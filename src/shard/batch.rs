//! Pipeline batches: the pipelined single-key commands of one connection that span shards,
//! run as one chain (`txn.rs`) instead of one hop per run of same-shard commands.
//!
//! A pipeline over random keys alternates between shards; program order makes each change
//! of shard wait for the hop before it, so a 16-command pipeline over two shards costs about
//! four round trips and four partial writes. When a command cannot join the connection's
//! open hop because its keys live elsewhere (`hop_to_batch`), the hop — still in this
//! turn's outbox — and the command become a chain: each shard's part locks its keys, runs,
//! and keeps them until the whole batch has replied, the parts taken in ascending shard
//! order (so no deadlock), and the replies go back in command order (`Merge::Pipeline`).
//! Later pipelined commands join it while its steps have not left this turn
//! (`append_to_batch`). The batch then takes one place in the global order of every key it
//! touches: no client sees a later command of it without an earlier one, which is what
//! program order promises, and commands on different shards touch different keys, so
//! running each shard's part at once changes no reply.
//!
//! Only commands marked `flag::BATCHABLE` join (a keyed, non-blocking command that wakes
//! no blocked client, and reads only if `@fast`): a push that would serve a waiter must
//! serve it before the next command, as Redis does, which a held lock would delay. Like
//! a MULTI's, a batch's replies are built whole rather than paced.

use std::sync::atomic::Ordering::Relaxed;

use crate::cmd::{self, Args, Spec};
use crate::conn::{Conn, Merge};
use crate::tx::{key_hash, LockSet};

use super::msg::{Msg, OwnedCmds};
use super::{Owners, Shard};

/// The most commands one batch takes. A batch holds the locks of all its keys until it
/// has replied, and each key joins its part's sorted lock set; bounding it keeps both
/// small while a mass insertion (`redis-cli --pipe`) still costs one round trip per this
/// many commands.
const BATCH_MAX_CMDS: usize = 256;

impl Shard {
    /// Can `spec` join a batch of this connection, and on which shard does it run?
    fn batch_member(&self, conn: &Conn, spec: &'static Spec, args: &Args) -> Option<usize> {
        if spec.flags & cmd::flag::BATCHABLE == 0
            || (!conn.resp3 && conn.subscriptions() > 0)
            || cmd::check_call(spec, args, conn, &self.settings).is_err()
        {
            return None;
        }
        match self.owner_of_keys(spec, args) {
            Owners::One(s) => Some(s),
            _ => None,
        }
    }

    /// A pipelined command whose keys live on another shard than the connection's open hop
    /// (this turn's, unsent): the hop and the command become one batch, if every command
    /// of both may join one. Returns false if not (the command waits for the hop).
    pub(super) fn hop_to_batch(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        spec: &'static Spec,
        args: &Args,
    ) -> bool {
        if self.shards < 2
            || conn.tx().is_some()
            || conn.multi.is_some()
            || conn.blocked().is_some()
            || conn.exec.running()
            || !conn.gather.as_ref().is_some_and(|g| {
                matches!(g.merge, Merge::Forward) && g.left == 1 && g.parts.len() == 1
            })
        {
            return false;
        }
        let Some(owner) = self.batch_member(conn, spec, args) else {
            return false;
        };
        // The open hop: this turn's last message to its shard, a plain run of this
        // connection.
        let me = conn.id;
        let Some(dest) = (0..self.shards).find(|&s| {
            s != self.id
                && matches!(self.outbox[s].last(),
                    Some(Msg::Run { conn: r, tx: 0, lock: None, .. }) if r.id == me)
        }) else {
            return false;
        };
        if owner == dest {
            return false;
        }
        let Some(Msg::Run { cmds, .. }) = self.outbox[dest].last() else {
            return false;
        };
        if !cmds
            .cmds
            .iter()
            .all(|&(id, _, _)| cmd::spec_by_id(id).flags & cmd::flag::BATCHABLE != 0)
        {
            return false;
        }
        let Some(Msg::Run { cmds, .. }) = self.outbox[dest].pop() else {
            return false;
        };
        // The chain counts its own hop.
        let hops = &self.stats().hops;
        hops.store(hops.load(Relaxed).saturating_sub(1), Relaxed);
        let mut order = vec![0u32; cmds.cmds.len()];
        order.push(1);
        let mut mine = OwnedCmds::default();
        mine.push(spec.id, args.iter());
        let mut parts = vec![(dest, 0, cmds), (owner, 1, mine)];
        parts.sort_by_key(|p| p.0);
        self.count_placement(conn, owner);
        conn.last_cmd = spec.name;
        self.run_chain(slot, conn, parts, Merge::Pipeline { order });
        true
    }

    /// Lets a pipelined command join the connection's batch in progress: into its step on
    /// the command's shard while that step has not run or is still in this turn's outbox,
    /// or, when this shard's step already ran, at once under the batch's locks (taken
    /// without waiting). Returns false if it cannot join (it waits for the batch).
    pub(super) fn append_to_batch(
        &mut self,
        conn: &mut Conn,
        spec: &'static Spec,
        args: &Args,
    ) -> bool {
        let full = conn.gather.as_ref().is_none_or(|g| match &g.merge {
            Merge::Pipeline { order } => order.len() >= BATCH_MAX_CMDS,
            _ => true,
        });
        if full {
            return false;
        }
        let Some(owner) = self.batch_member(conn, spec, args) else {
            return false;
        };
        let (db, me, resp3) = (conn.db, conn.id, conn.resp3);
        let Some(ch) = conn.chain.as_mut() else {
            return false;
        };
        let id = ch.id;
        let Some(part) = ch.part_shards.iter().position(|&s| s == owner) else {
            return false;
        };
        let keys = || spec.key_positions(args).map(|i| key_hash(db, args.get(i)));
        if let Some(at) = ch.steps.iter().position(|st| st.shard == owner) {
            if at == 0 && ch.front_waiting {
                return false; // its lock request is queued as it is
            }
            let step = &mut ch.steps[at];
            keys().for_each(|k| step.set.insert(k));
            step.cmds.push(spec.id, args.iter());
        } else if owner != self.id {
            match self.outbox[owner].last_mut() {
                Some(Msg::Run {
                    conn: r,
                    tx,
                    lock: Some(set),
                    cmds,
                    ..
                }) if r.id == me && *tx == id => {
                    keys().for_each(|k| set.insert(k));
                    cmds.push(spec.id, args.iter());
                }
                _ => return false,
            }
        } else {
            // This shard's step ran and holds its locks until the batch replies.
            if !self.locks.try_lock(id, LockSet::of(keys().collect())) {
                return false;
            }
            let mut cmds = OwnedCmds::default();
            cmds.push(spec.id, args.iter());
            self.running_tx = id;
            let out = self.run_owned(&cmds, db, resp3);
            self.running_tx = 0;
            if let Some(g) = conn.gather.as_mut() {
                g.parts[part].extend_from_slice(&out);
            }
        }
        if let Some(g) = conn.gather.as_mut() {
            if let Merge::Pipeline { order } = &mut g.merge {
                order.push(part as u32);
            }
        }
        self.count_placement(conn, owner);
        conn.last_cmd = spec.name;
        true
    }
}
