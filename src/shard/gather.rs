//! Gathers: a command waiting for its parts from other shards. When the last part is in,
//! a step resumes its coordinator (`step.rs`) or the stateless merge builds the reply
//! (`cmd::merge`).

use crate::cmd;
use crate::conn::{Conn, Gather, Merge};
use crate::resp::Reply;

use super::msg::{self, ConnRef};
use super::Shard;

impl Shard {
    /// A part of `r`'s gather came in (`put` stores it): when it was the last, the gather
    /// finishes. A reply for a client that left is dropped, and what was popped for it
    /// (`rescue`) goes back.
    pub(super) fn part_arrived(
        &mut self,
        r: ConnRef,
        rescue: Option<msg::Rescue>,
        put: impl FnOnce(&mut Gather),
    ) {
        let alive = matches!(self.conns.get(r.slot), Some(Some(c)) if c.id == r.id);
        if !alive {
            // Its client left: elements popped for it go back where they were.
            if let Some(rescue) = rescue {
                self.requeue(rescue);
            }
            return;
        }
        let Some(Some(conn)) = self.conns.get_mut(r.slot) else {
            return;
        };
        let Some(g) = conn.gather.as_mut() else {
            return;
        };
        put(g);
        g.left -= 1;
        if g.left > 0 {
            if conn.chain.is_some() {
                let mut conn = self.conns[r.slot].take().expect("present");
                self.chain_step(r.slot, &mut conn);
                self.after_async_step(r.slot, &mut conn);
                self.conns[r.slot] = Some(conn);
            }
            return;
        }
        let mut conn = self.conns[r.slot].take().expect("present");
        let mut g = conn.gather.take().expect("present");
        if let Some(b) = g.blocked.take() {
            // Served: the client's other waiters go (before the reply is
            // finished, which may block the client again: a woken move). The
            // serving shard counted it as no longer blocked.
            self.release(&b);
        }
        self.finish_gather(r.slot, &mut conn, g);
        // The last piece of a paced reply is in: held messages follow it.
        conn.set_paced(None);
        if conn.tx().is_some() {
            self.settle_tx(&mut conn);
        }
        if !conn.queued {
            conn.queued = true;
            self.ready.push(r.slot);
        }
        self.conns[r.slot] = Some(conn);
    }

    /// Combines a completed gather into the connection's reply; a step's coordinator goes
    /// on.
    pub(crate) fn finish_gather(&mut self, slot: usize, conn: &mut Conn, g: Gather) {
        if let Merge::Step(_) = g.merge {
            self.resume_step(slot, conn, g);
            return;
        }
        let mut out = std::mem::take(&mut conn.out);
        let resp3 = conn.resp3;
        cmd::merge(g, &mut Reply::new(&mut out, resp3), self.id);
        conn.out = out;
    }
}
