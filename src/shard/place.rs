//! Connection placement: a connection whose commands keep going to one other shard moves
//! there, so they run inline instead of as hops. This file owns the policy (`Placement`,
//! counted per connection in windows of commands), the test of when a connection may
//! leave (`may_leave`: between commands, with nothing of it registered on this shard),
//! and both ends of the move: `depart` (off this shard's poll and slab, into the
//! turn's batch for the destination, behind whatever this shard already sent there) and
//! `arrive` (a slot and a registration on the destination's poll, then served at once, so
//! the frame that decided the move is parsed and runs there).
//!
//! What stays right across a move: the connection keeps its `Conn` whole (id, addresses,
//! name, database, protocol, authentication, unparsed input, unsent output), so CLIENT
//! ID / INFO / SETNAME / GETNAME and SELECT see no change; CLIENT LIST and CLIENT KILL ask
//! every shard, and the `clients` count (INFO `connected_clients`, maxclients) is global.
//! WATCH travels: the owners of the watched keys hold the connection's dirty flag, not its
//! slot. A connection is in no shard's slab while its move is in a mailbox (one mailbox
//! trip): a CLIENT LIST or KILL from another shard's connection in that instant does not
//! see it.

use std::sync::atomic::Ordering::Relaxed;

use mio::{Interest, Token};

use crate::conn::{Conn, Locks};
use crate::stats::bump;

use super::msg::Msg;
use super::{Shard, CONN_TOKEN_BASE};

/// Keyed single-owner commands in one window of the policy. Long enough that a connection
/// over random keys shows its spread, short enough that a connection on one key (every
/// redis-benchmark row without `-r`) moves after its first window.
const WINDOW_COMMANDS: u8 = 64;

/// Commands of one window that must go to the same other shard for the connection to
/// move there. Random keys over two shards send about 32 of 64 to the other one (56 or
/// more has odds below one in a billion), and over more shards fewer; a connection on one
/// key or one `{hash tag}` sends 64, and one that mostly does tolerates a few strays.
const MOVE_HITS_MIN: u8 = 56;

/// Where a connection's commands have been going, per window of `WINDOW_COMMANDS`.
/// Touched only by the connection's home shard; reset when the connection moves, so a
/// move is always decided by a whole window counted on the new shard (no ping-pong).
#[derive(Debug, Default, Clone, Copy)]
pub struct Placement {
    /// Commands counted in this window.
    seen: u8,
    /// The shard of the first command of this window that went elsewhere.
    candidate: Option<usize>,
    /// Commands of this window that went to `candidate`.
    hits: u8,
    /// The last whole window chose this shard: the connection moves at its next command
    /// for it (when it may leave then).
    target: Option<usize>,
    /// Set by the command that decided to move, not run here: the serving loop hands the
    /// connection to `depart` instead of putting it back in its slot.
    leaving: Option<usize>,
}

impl Placement {
    /// Counts one command whose keys all live on `owner`, for a connection at `home`.
    fn count(&mut self, home: usize, owner: usize) {
        if owner != home {
            let candidate = *self.candidate.get_or_insert(owner);
            if candidate == owner {
                self.hits += 1;
            }
        }
        self.seen += 1;
        if self.seen == WINDOW_COMMANDS {
            self.target = self.candidate.filter(|_| self.hits >= MOVE_HITS_MIN);
            self.seen = 0;
            self.hits = 0;
            self.candidate = None;
        }
    }

    /// True once a command decided to move the connection (it waits for `depart`).
    pub fn leaving(&self) -> bool {
        self.leaving.is_some()
    }
}

/// A connection on its way to another shard (`Msg::Arrive`).
pub struct Moving(Box<Conn>);

impl std::fmt::Debug for Moving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Moving(id={} addr={})", self.0.id, self.0.addr)
    }
}

impl Shard {
    /// Counts a command whose keys all live on `owner` in the connection's placement.
    /// Returns false when placement is off (or there is nowhere to go, with one shard).
    pub(super) fn count_placement(&self, conn: &mut Conn, owner: usize) -> bool {
        let on = self.settings.placement && self.shards > 1;
        if on {
            conn.place.count(self.id, owner);
        }
        on
    }

    /// For a command whose keys all live on `owner`, about to run here or as a hop:
    /// counts it, and returns true when the connection moves to `owner` instead (the
    /// command is not run here; it runs once the connection arrived).
    pub(super) fn moves_to(&mut self, conn: &mut Conn, owner: usize) -> bool {
        if !self.count_placement(conn, owner) {
            return false;
        }
        if conn.place.target != Some(owner) || owner == self.id || !self.may_leave(conn, owner) {
            return false;
        }
        conn.place.leaving = Some(owner);
        true
    }

    /// True when nothing of the connection is in flight or registered on this shard: no
    /// command in progress (gather, chain, locks, EXEC), not in MULTI, no subscriptions
    /// (their registrations are this shard's), no paced reply or held pushes, no blocking
    /// pop or its reservation, no fanout pause or grant waiting for it, and not closing.
    /// Also not while this shard or the server shuts down, nor while messages published
    /// here are on their way to a third shard: the connection's next PUBLISH, sent from
    /// `dest`, could reach that shard's subscribers first. (To `dest` itself they go ahead
    /// of the connection in the same mailbox.)
    fn may_leave(&self, conn: &Conn, dest: usize) -> bool {
        let quiet = conn.gather.is_none()
            && matches!(conn.locks, Locks::None)
            && conn.chain.is_none()
            && conn.multi.is_none()
            && matches!(conn.exec, crate::tx::Exec::Off)
            && conn.exec_order.is_none()
            && conn.exec_signals.is_empty()
            && conn.replay_signals.is_empty()
            && conn.reserved.is_none()
            && conn.block_arrival.is_none()
            && conn.subscriptions() == 0
            && conn.paced.is_none()
            && conn.pushes_held.is_empty();
        let open = !conn.fanout_paused
            && !conn.close_after_reply
            && !conn.kill
            && !conn.eof
            && !conn.read_closed
            && !conn.out_dead;
        quiet
            && open
            && !self.draining
            && !self.shared.shutdown.load(Relaxed)
            && !self.granted.iter().any(|(r, _)| r.id == conn.id)
            && !self.fanout_waiters.iter().any(|r| r.id == conn.id)
            && (0..self.shards).all(|s| s == dest || self.fanout_inflight[s] == 0)
    }

    /// Sends the connection in `slot` (taken out of it by the serving loop) to the shard
    /// its last command chose. Its slot, readiness and flush entries here go; its socket
    /// leaves this shard's poll. If the socket cannot leave, it stays: given back, queued
    /// to run the frame again here.
    pub(super) fn depart(&mut self, slot: usize, mut conn: Box<Conn>) -> Result<(), Box<Conn>> {
        let dest = conn.place.leaving.take().expect("a connection leaving");
        debug_assert_ne!(dest, self.id);
        if let Err(e) = self.poll.registry().deregister(&mut conn.stream) {
            crate::log::warning(&format!("Moving client id={}: {e}", conn.id));
            conn.place = Placement::default();
            if !conn.queued {
                conn.queued = true;
                self.ready.push(slot);
            }
            return Err(conn);
        }
        if conn.queued {
            self.ready.retain(|&s| s != slot);
            conn.queued = false;
        }
        if conn.dirty {
            self.dirty.retain(|&s| s != slot);
            conn.dirty = false;
        }
        conn.place = Placement::default();
        self.free.push(slot);
        bump(&self.stats().moved_connections, 1);
        self.outbox[dest].push(Msg::Arrive(Moving(conn)));
        Ok(())
    }

    /// Takes in a connection another shard sent: a slot, its socket on this poll, and a
    /// place in this turn's work, where it parses its unparsed input again.
    pub(super) fn arrive(&mut self, Moving(mut conn): Moving) {
        let slot = self.take_slot();
        conn.slot = slot;
        if let Err(e) = self.poll.registry().register(
            &mut conn.stream,
            Token(slot + CONN_TOKEN_BASE),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            crate::log::warning(&format!("Registering moved client id={}: {e}", conn.id));
            self.close(slot, conn);
            return;
        }
        // Readiness seen by the old shard is not repeated here: read again to be sure.
        conn.read_ready = true;
        conn.queued = true;
        self.ready.push(slot);
        self.conns[slot] = Some(conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts `owners` for a connection at shard 0; the target after them.
    fn after(owners: impl IntoIterator<Item = usize>) -> Option<usize> {
        let mut p = Placement::default();
        for o in owners {
            p.count(0, o);
        }
        p.target
    }

    #[test]
    fn one_remote_key_chooses_its_shard_in_the_first_window() {
        assert_eq!(after(std::iter::repeat_n(1, 63)), None);
        assert_eq!(after(std::iter::repeat_n(1, 64)), Some(1));
    }

    #[test]
    fn the_threshold_counts_only_the_first_remote_shard() {
        let mostly = |hits: usize, stray: usize| {
            let mut owners = vec![1; hits];
            owners.extend(std::iter::repeat_n(stray, 64 - hits));
            after(owners)
        };
        assert_eq!(mostly(56, 0), Some(1));
        assert_eq!(mostly(55, 0), None);
        assert_eq!(mostly(56, 2), Some(1));
        assert_eq!(mostly(55, 2), None);
    }

    #[test]
    fn random_keys_over_two_shards_never_choose() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut p = Placement::default();
        for _ in 0..64 * 10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p.count(0, (x >> 32) as usize % 2);
            assert_eq!(p.target, None);
        }
    }

    #[test]
    fn a_window_that_does_not_choose_clears_the_target() {
        let mut owners = vec![1; 64];
        owners.extend(std::iter::repeat_n(0, 64));
        assert_eq!(after(owners), None);
    }
}
