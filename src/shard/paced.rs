//! Paced replies between shards: the owner shard keeps each unfinished walk
//! (`cmd::paced`) with its pin, and writes the next piece when the home shard asks for it,
//! which it does when its client's output has room (`Shard::pull_paced`).
//!
//! Protocol, per paced command:
//! 1. The owner runs the command in a hop (`Msg::Run` with `paced` set); its handler writes
//!    the first piece and leaves the walk here. The owner answers `Msg::Piece` with that
//!    piece and the walk's id, and keeps the hop's later commands (`rest`) for afterwards,
//!    so replies stay in order.
//! 2. The home shard appends the piece to the client's output; when less than a piece is
//!    left unsent it sends `Msg::PacedMore`. The owner answers with the next `Msg::Piece`.
//! 3. The last piece comes as the hop's ordinary `Msg::Done` — or, when the hop had later
//!    commands, as a `Msg::Piece` without an id, after which the owner runs those commands
//!    as a new hop whose `Done` ends the gather.
//! 4. A client that leaves mid-reply: its home sends `Msg::PacedCancel` (or answers a piece
//!    for a gone client with one); the owner drops the walk and its pin, and still runs the
//!    hop's later commands (their replies are dropped on arrival), as Redis runs every
//!    command a client sent before it left.
//!
//! A walk whose client is on this shard is the same record, pulled directly.

use crate::cmd::paced::{Paced, PIECE_BYTES};
use crate::conn::{Conn, Gather, Merge};
use crate::resp::Reply;
use crate::store::pin::PinId;

use super::msg::{ConnRef, Msg};
use super::Shard;

/// Pieces a local walk may write to one connection per turn before other connections get
/// a go (the socket permitting).
const PIECES_PER_TURN_MAX: usize = 8;

/// One unfinished long reply, kept on the shard that owns its key.
pub struct PacedReply {
    walk: Paced,
    pin: PinId,
    resp3: bool,
    /// Where the pieces go when the client lives on another shard: (home shard, client,
    /// gather part).
    to: Option<(usize, ConnRef, u32)>,
    /// The later commands of the hop that started this reply, run once it is finished.
    rest: Option<Box<Msg>>,
}

/// On the home shard: the walk a connection's reply continues with.
#[derive(Debug, Clone, Copy)]
pub struct PacedRef {
    /// The shard that keeps the walk.
    pub owner: usize,
    /// Its id there.
    pub id: u64,
    /// A `PacedMore` is in flight (remote walks only).
    pub asked: bool,
}

impl Shard {
    /// Keeps a walk the handler could not finish in its first piece; returns its id.
    pub fn paced_start(&mut self, walk: Paced, pin: PinId, resp3: bool) -> u64 {
        self.next_paced_id += 1;
        let id = self.next_paced_id;
        self.paced.insert(
            id,
            PacedReply {
                walk,
                pin,
                resp3,
                to: None,
                rest: None,
            },
        );
        id
    }

    /// Says where a remote walk's pieces go, and what runs after it.
    pub(crate) fn paced_route(&mut self, id: u64, to: (usize, ConnRef, u32), rest: Option<Msg>) {
        if let Some(r) = self.paced.get_mut(&id) {
            r.to = Some(to);
            r.rest = rest.map(Box::new);
        }
    }

    /// Writes the next piece of walk `id` to `out`; true when the walk is finished (its
    /// record is gone then). An unknown id is finished.
    fn paced_fill(&mut self, id: u64, out: &mut Vec<u8>) -> bool {
        let Some(r) = self.paced.get_mut(&id) else {
            return true;
        };
        let done = match self.ks.pinned(&r.pin) {
            Some(v) => r.walk.fill(v, &mut Reply::new(out, r.resp3), PIECE_BYTES),
            None => true,
        };
        done
    }

    /// Removes walk `id` and its pin; returns what was to run after it.
    fn paced_remove(&mut self, id: u64) -> Option<Box<Msg>> {
        let PacedReply { pin, rest, .. } = self.paced.remove(&id)?;
        self.ks.unpin(pin);
        rest
    }

    /// `Msg::PacedMore`: the next piece of a remote walk goes home.
    pub(crate) fn on_paced_more(&mut self, id: u64) {
        let mut out = Vec::new();
        let done = self.paced_fill(id, &mut out);
        let Some(&PacedReply {
            to: Some((home, conn, part)),
            ..
        }) = self.paced.get(&id)
        else {
            return;
        };
        if !done {
            self.outbox[home].push(Msg::Piece {
                conn,
                part,
                out,
                more: Some((self.id, id)),
            });
            return;
        }
        let rest = self.paced_remove(id);
        match rest {
            None => self.outbox[home].push(Msg::Done {
                conn,
                part,
                out,
                rescue: None,
            }),
            Some(rest) => {
                self.outbox[home].push(Msg::Piece {
                    conn,
                    part,
                    out,
                    more: None,
                });
                self.handle(*rest);
            }
        }
    }

    /// `Msg::PacedCancel`, or a local client gone: the walk goes; the hop's later commands
    /// still run, and their `Done` (or an empty one) ends the home's gather, so a client
    /// whose output died still runs what it sent next in order.
    pub(crate) fn paced_cancel(&mut self, id: u64) {
        let to = self.paced.get(&id).and_then(|r| r.to);
        let rest = self.paced_remove(id);
        match (rest, to) {
            (Some(rest), _) => self.handle(*rest),
            (None, Some((home, conn, part))) => self.outbox[home].push(Msg::Done {
                conn,
                part,
                out: Vec::new(),
                rescue: None,
            }),
            (None, None) => {}
        }
    }

    /// A piece of a remote walk arrived for connection `r`.
    pub(crate) fn on_piece(&mut self, r: ConnRef, out: Vec<u8>, more: Option<(usize, u64)>) {
        let live = match self.conns.get_mut(r.slot) {
            Some(Some(c)) if c.id == r.id && c.gather.is_some() => Some(c),
            _ => None,
        };
        let Some(conn) = live.filter(|c| !c.out_dead) else {
            // Its client is gone or reads no more: the owner can drop the walk.
            if let Some((owner, id)) = more {
                self.outbox[owner].push(Msg::PacedCancel { id });
            }
            return;
        };
        conn.compact_output();
        conn.out.extend_from_slice(&out);
        conn.set_paced(more.map(|(owner, id)| PacedRef {
            owner,
            id,
            asked: false,
        }));
        if !conn.dirty {
            conn.dirty = true;
            self.dirty.push(r.slot);
        }
    }

    /// A handler on this shard paced its reply to the local connection `conn`: the
    /// connection waits (no later command starts) until the walk is finished.
    pub(crate) fn paced_local(&mut self, conn: &mut Conn, id: u64) {
        if conn.out_dead {
            // Nobody reads it.
            self.paced_cancel(id);
            return;
        }
        conn.gather = Some(Gather {
            left: 1,
            parts: vec![Vec::new()],
            merge: Merge::Forward,
            blocked: None,
        });
        conn.paced = Some(PacedRef {
            owner: self.id,
            id,
            asked: false,
        });
    }

    /// After a write: if the connection's output has room for the next piece of its
    /// reply, get it (a local walk writes it now, up to a few pieces a turn; a remote one
    /// is asked for). Returns true if a local piece was added (write again).
    pub(crate) fn pull_paced(&mut self, conn: &mut Conn, pieces: &mut usize) -> bool {
        let pending = conn.pending_output();
        let Some(p) = conn.paced.as_mut() else {
            return false;
        };
        if p.asked || pending >= PIECE_BYTES {
            return false;
        }
        if p.owner != self.id {
            p.asked = true;
            let (owner, id) = (p.owner, p.id);
            self.outbox[owner].push(Msg::PacedMore { id });
            return false;
        }
        if *pieces >= PIECES_PER_TURN_MAX {
            return false;
        }
        *pieces += 1;
        let id = p.id;
        conn.compact_output();
        if self.paced_fill(id, &mut conn.out) {
            self.paced_remove(id);
            conn.set_paced(None);
            conn.gather = None;
        }
        true
    }

    /// The connection is closing, or its output died: its walk goes. A local walk's
    /// gather ends now; a remote one's ends when the owner answers the cancel.
    pub(crate) fn drop_paced(&mut self, conn: &mut Conn) {
        if let Some(p) = conn.paced {
            conn.set_paced(None);
            if p.owner == self.id {
                self.paced_cancel(p.id);
                conn.gather = None;
            } else {
                self.outbox[p.owner].push(Msg::PacedCancel { id: p.id });
            }
        }
    }

    /// True if a local walk of this connection stopped for the turn's piece budget and
    /// should go on next turn.
    pub(crate) fn paced_wants_turn(&self, conn: &Conn) -> bool {
        conn.paced
            .is_some_and(|p| p.owner == self.id && conn.pending_output() < PIECE_BYTES)
    }
}
