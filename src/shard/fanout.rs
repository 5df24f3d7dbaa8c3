//! Pub/sub delivery and its budgets: subscribing, publishing (here at once, one shared
//! copy to each other shard with receivers), writing messages into local subscribers'
//! output, and the fanout budgets that stop a publisher, per turn and per shard pair,
//! until the written output makes room.

use std::sync::Arc;

use crate::conn::Conn;
use crate::resp::Reply;

use super::io::over_output_limit;
use super::msg::{ConnRef, Msg};
use super::{Shard, READ_BYTES_PER_TURN_MAX};

/// Published bytes (each message's encoded channel and payload plus
/// `FANOUT_MESSAGE_OVERHEAD_BYTES`) a shard's publishers may always send in one turn.
/// Past it, a publisher whose messages made this turn's fanout output (published bytes ×
/// receivers) reach `FANOUT_TURN_OUTPUT_BYTES_MAX` stops until the next turn, after this
/// turn's output was written. Redis reads 16 KB of a client per event, so its fanout work
/// per event is bounded by what it read; here a wide fanout of large messages is bounded
/// the same way, while a narrow one may go on (to `FANOUT_TURN_BYTES_MAX`) so that each
/// write to a subscriber still carries many messages.
const FANOUT_TURN_BYTES_MIN: usize = 16 * 1024;

/// Fanout output (frames for every receiver, on any shard) one turn's publishing may
/// cause once `FANOUT_TURN_BYTES_MIN` was published: a few MB of subscriber buffers per
/// turn, written before more is published.
const FANOUT_TURN_OUTPUT_BYTES_MAX: usize = 2 * 1024 * 1024;

/// Published bytes per turn at most, whatever the fanout (the per-connection read
/// budget's size).
const FANOUT_TURN_BYTES_MAX: usize = READ_BYTES_PER_TURN_MAX;

/// Published bytes one shard may have on their way to another (sent, not yet delivered
/// and written there). A publisher whose message leaves a pair at or past it stops, and
/// its socket is not read, until the other shard's credit comes back: the mailbox between
/// two shards never queues more than this (plus one message per publisher).
const FANOUT_INFLIGHT_BYTES_MAX: usize = 32 * 1024;

/// What a message counts for in the fanout budgets beyond its channel and payload, so
/// that tiny messages are not free.
const FANOUT_MESSAGE_OVERHEAD_BYTES: usize = 64;

impl Shard {
    /// Subscribes `conn` to `name`; no-op if it already is.
    pub fn subscribe(&mut self, conn: &mut Conn, kind: crate::pubsub::Kind, name: &[u8]) {
        if conn.subscriptions_of(kind).insert(name.into()) {
            self.subs.add(kind, name, conn.slot);
            self.shared.pubsub.add(kind, name, self.id);
        }
    }

    /// Unsubscribes `conn` from `name`; no-op if it was not subscribed.
    pub fn unsubscribe(&mut self, conn: &mut Conn, kind: crate::pubsub::Kind, name: &[u8]) {
        if conn.subscriptions_of(kind).shift_remove(name) {
            self.subs.remove(kind, name, conn.slot);
            self.shared.pubsub.remove(kind, name, self.id);
        }
    }

    /// Drops every subscription of `conn` (close, RESET).
    pub fn unsubscribe_all(&mut self, conn: &mut Conn) {
        use crate::pubsub::Kind;
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in std::mem::take(conn.subscriptions_of(kind)) {
                self.subs.remove(kind, &name, conn.slot);
                self.shared.pubsub.remove(kind, &name, self.id);
            }
        }
    }

    /// PUBLISH / SPUBLISH from a connection of this shard: counts receivers, delivers
    /// here at once (to the publisher itself through `out`, ahead of its reply, as Redis),
    /// and queues one shared copy per other shard with receivers for this turn's batch.
    /// Returns the receiver count.
    pub fn publish(
        &mut self,
        kind: crate::pubsub::Kind,
        channel: &[u8],
        payload: &[u8],
        current: Option<&mut Conn>,
        out: &mut Reply,
    ) -> i64 {
        let route = self.shared.pubsub.route(kind, channel);
        if route.receivers == 0 {
            return 0;
        }
        let msg = Arc::new(crate::pubsub::Message::new(
            kind,
            channel,
            payload,
            route.patterns.clone(),
        ));
        let weight = msg.tail.len() + FANOUT_MESSAGE_OVERHEAD_BYTES;
        self.fanout_turn_bytes += weight;
        self.fanout_turn_output += weight * route.receivers as usize;
        for &s in &route.shards {
            if s == self.id {
                self.deliver(
                    &msg,
                    current
                        .as_deref()
                        .map(|c| c.slot)
                        .map(|slot| (slot, &mut *out)),
                );
            } else {
                self.fanout_inflight[s] += weight;
                self.outbox[s].push(Msg::Publish {
                    msg: Arc::clone(&msg),
                    from: self.id,
                    credit: weight,
                });
            }
        }
        if let Some(c) = current {
            if !c.fanout_paused && self.fanout_over_budget() {
                c.fanout_paused = true;
                self.fanout_waiters.push(ConnRef {
                    slot: c.slot,
                    id: c.id,
                });
            }
        }
        route.receivers
    }

    /// True while this turn's fanout budget is spent or a shard pair has as much in
    /// flight as it may.
    fn fanout_over_budget(&self) -> bool {
        let turn_spent = self.fanout_turn_bytes >= FANOUT_TURN_BYTES_MAX
            || (self.fanout_turn_bytes >= FANOUT_TURN_BYTES_MIN
                && self.fanout_turn_output >= FANOUT_TURN_OUTPUT_BYTES_MAX);
        turn_spent
            || self
                .fanout_inflight
                .iter()
                .any(|&n| n >= FANOUT_INFLIGHT_BYTES_MAX)
    }

    /// True if stopped publishers wait only for the next turn (no pair is full).
    pub(super) fn fanout_resumable(&self) -> bool {
        !self.fanout_waiters.is_empty()
            && self
                .fanout_inflight
                .iter()
                .all(|&n| n < FANOUT_INFLIGHT_BYTES_MAX)
    }

    /// A new turn: the per-turn budget starts again, and publishers stopped by a budget
    /// that has room go on.
    pub(super) fn resume_fanout(&mut self) {
        self.fanout_turn_bytes = 0;
        self.fanout_turn_output = 0;
        if self.fanout_waiters.is_empty() || self.fanout_over_budget() {
            return;
        }
        for r in std::mem::take(&mut self.fanout_waiters) {
            if let Some(Some(c)) = self.conns.get_mut(r.slot) {
                if c.id == r.id {
                    c.fanout_paused = false;
                    if !c.queued {
                        c.queued = true;
                        self.ready.push(r.slot);
                    }
                }
            }
        }
    }

    /// Gives back to each shard the fanout credit for what this turn delivered from it
    /// (and has written, as far as the sockets took it).
    pub(super) fn return_fanout_credit(&mut self) {
        for from in 0..self.shards {
            let bytes = std::mem::take(&mut self.fanout_credit[from]);
            if bytes > 0 {
                self.outbox[from].push(Msg::Credit {
                    from: self.id,
                    bytes,
                });
            }
        }
    }

    /// Writes `msg` into the output of every local subscriber (and matching pattern
    /// subscriber). `current` is the publishing connection, taken out of the slab while it
    /// runs: its frames go to its reply writer.
    pub(super) fn deliver(
        &mut self,
        msg: &crate::pubsub::Message,
        mut current: Option<(usize, &mut Reply)>,
    ) {
        let Shard {
            subs,
            conns,
            dirty,
            ready,
            settings,
            now_ms,
            ..
        } = self;
        let limit = settings.pubsub_limit;
        let now = *now_ms;
        let mut write = |slot: usize, pattern: Option<&[u8]>| {
            if let Some((cur, out)) = current.as_mut() {
                if *cur == slot {
                    let resp3 = out.resp3;
                    match pattern {
                        Some(p) => msg.write_pmessage(out.buf, resp3, p),
                        None => msg.write_message(out.buf, resp3),
                    }
                    return;
                }
            }
            let Some(Some(c)) = conns.get_mut(slot) else {
                return;
            };
            if c.kill {
                return;
            }
            let resp3 = c.resp3;
            let want = msg.tail.len() + 32 + pattern.map_or(0, <[u8]>::len);
            match pattern {
                Some(p) => msg.write_pmessage(c.push_buffer(want), resp3, p),
                None => msg.write_message(c.push_buffer(want), resp3),
            }
            if !c.dirty {
                c.dirty = true;
                dirty.push(slot);
            }
            if over_output_limit(c, limit, now) {
                crate::log::warning(&format!(
                    "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                    c.info_line(now)
                ));
                c.kill = true;
                if !c.queued {
                    c.queued = true;
                    ready.push(slot);
                }
            }
        };
        if let Some(set) = subs.subscribers(msg.kind, &msg.channel) {
            for &slot in set {
                write(slot, None);
            }
        }
        for p in msg.patterns.iter() {
            if let Some(set) = subs.pattern_subscribers(p) {
                for &slot in set {
                    write(slot, Some(p));
                }
            }
        }
    }
}
