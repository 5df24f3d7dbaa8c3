//! Connections and sockets: accepting (and refusing) clients, reading a connection's input
//! within the turn's budget, writing each dirty connection's output once per turn, and
//! closing. What the bytes read mean is `dispatch.rs`'s business.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;

use mio::net::TcpStream;
use mio::{Interest, Token};

use crate::conn::{Conn, INPUT_PAUSE_BYTES, OUTPUT_PAUSE_BYTES};
use crate::stats::bump;

use super::{Shard, CONN_TOKEN_BASE, READ_BYTES_PER_TURN_MAX};

/// Redis's refusal of a non-loopback client in protected mode.
const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Replies held back while a connection waits on a hop, at most (then they are written).
const WRITE_HOLD_BYTES_MAX: usize = 64 * 1024;

impl Shard {
    pub(super) fn start_draining(&mut self) {
        self.draining = true;
        if let Some(mut l) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut l);
        }
    }

    pub(super) fn accept(&mut self) {
        loop {
            let Some(listener) = self.listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((stream, addr)) => self.add_conn(stream, addr),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    crate::log::warning(&format!("Accepting client connection: {e}"));
                    return;
                }
            }
        }
    }

    fn add_conn(&mut self, mut stream: TcpStream, addr: SocketAddr) {
        let clients = self.shared.clients.fetch_add(1, Relaxed) + 1;
        bump(&self.stats().connections_received, 1);
        let refusal: Option<&[u8]> = if clients > self.settings.clients_max {
            Some(b"-ERR max number of clients reached\r\n")
        } else if self.settings.loopback_only && !addr.ip().is_loopback() {
            Some(PROTECTED_MODE_DENIED)
        } else {
            None
        };
        if let Some(line) = refusal {
            self.shared.clients.fetch_sub(1, Relaxed);
            bump(&self.stats().rejected_connections, 1);
            self.refused
                .refuse(self.poll.registry(), stream, line, self.now_ms);
            return;
        }
        let _ = stream.set_nodelay(true);
        let laddr = stream.local_addr().unwrap_or(addr);
        let slot = self.take_slot();
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(slot + CONN_TOKEN_BASE),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            crate::log::warning(&format!("Registering client connection: {e}"));
            self.shared.clients.fetch_sub(1, Relaxed);
            self.free.push(slot);
            return;
        }
        let id = self.shared.next_client_id.fetch_add(1, Relaxed);
        let authenticated = self.settings.requirepass.is_none();
        let mut conn = Conn::new(id, slot, stream, addr, laddr, self.now_ms, authenticated);
        conn.queued = true;
        self.conns[slot] = Some(Box::new(conn));
        self.ready.push(slot);
    }

    /// A free slot of the connection slab (empty until a connection is put in it).
    pub(super) fn take_slot(&mut self) -> usize {
        match self.free.pop() {
            Some(s) => s,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        }
    }

    pub(super) fn close(&mut self, slot: usize, mut conn: Box<Conn>) {
        self.drop_paced(&mut conn);
        self.unsubscribe_all(&mut conn);
        self.abandon_acquire(&mut conn);
        self.abandon_chain(&mut conn);
        self.release_hold(&mut conn);
        self.unwatch_all(&mut conn);
        self.drop_reservation(&mut conn);
        if let Some(b) = conn.gather.take().and_then(|g| g.blocked) {
            // If an owner already won the claim, its element comes back as a rescue (and
            // it counted the client as no longer blocked).
            if b.claim
                .compare_exchange(
                    false,
                    true,
                    std::sync::atomic::Ordering::AcqRel,
                    std::sync::atomic::Ordering::Acquire,
                )
                .is_ok()
            {
                self.count_unblocked(&b);
                self.release(&b);
            }
        }
        let _ = self.poll.registry().deregister(&mut conn.stream);
        self.shared.clients.fetch_sub(1, Relaxed);
        self.free.push(slot);
        // Replies still in flight for this connection are dropped on arrival: the slot's
        // client id will not match.
    }

    /// Serves every connection queued this turn.
    pub(super) fn serve_ready(&mut self) {
        let ready = std::mem::take(&mut self.ready);
        for &slot in &ready {
            let Some(mut conn) = self.conns.get_mut(slot).and_then(|c| c.take()) else {
                continue;
            };
            conn.queued = false;
            let keep = self.serve(slot, &mut conn);
            if keep && conn.place.leaving() {
                // It moves to another shard (`place.rs`): the slot is no longer its own.
                match self.depart(slot, conn) {
                    Ok(()) => continue,
                    Err(stayed) => conn = stayed,
                }
            }
            if keep {
                if (conn.pending_output() > 0 || conn.paced.is_some()) && !conn.dirty {
                    conn.dirty = true;
                    self.dirty.push(slot);
                }
                self.conns[slot] = Some(conn);
            } else {
                self.close(slot, conn);
            }
        }
        // Reuse the allocation when nothing was queued meanwhile.
        if self.ready.is_empty() {
            let mut ready = ready;
            ready.clear();
            self.ready = ready;
        }
    }

    /// Reads what the socket has and runs complete frames. Returns false to close.
    fn serve(&mut self, slot: usize, conn: &mut Conn) -> bool {
        if conn.kill {
            return false;
        }
        let paused_in = conn.busy() && conn.pending_input() > INPUT_PAUSE_BYTES;
        let paused_out = conn.pending_output() > OUTPUT_PAUSE_BYTES;
        if conn.read_ready
            && !paused_in
            && !paused_out
            && !conn.fanout_paused
            && !conn.close_after_reply
            && !conn.out_dead
        {
            match self.read_input(conn) {
                Ok(()) => {}
                // Over the query buffer limit: closed, as Redis.
                Err(e) if e.kind() == io::ErrorKind::InvalidData => return false,
                Err(_) if conn.pending_input() > 0 || conn.busy() => {
                    // The peer reset, but what it sent before still runs (as Redis runs
                    // every command it read); its replies have nowhere to go.
                    self.output_died(conn);
                }
                Err(_) => return false,
            }
            if conn.read_ready && !conn.queued {
                // More to read next turn; keep the loop spinning.
                conn.queued = true;
                self.ready.push(slot);
            }
        }
        self.run_frames(slot, conn);
        if conn.out_dead {
            conn.discard_output();
        }
        // The read buffer stays until the connection has been idle for a while (the cron
        // gives it back to the pool), as Redis keeps a client's query buffer: a busy
        // connection does not take and return one per read.
        if conn.eof && conn.blocked().is_some() {
            // A blocked client that hung up: close now (close() settles its claim).
            return false;
        }
        if conn.eof && !conn.busy() && !conn.fanout_paused {
            // The client is gone after its last bytes: they ran; flush, then close.
            conn.close_after_reply = true;
        }
        // Nothing left to say to a closing client: close now (else the flush closes it).
        !(conn.close_after_reply && !conn.busy() && conn.pending_output() == 0)
    }

    /// Reads until the socket is drained or the per-turn budget is spent. Sets `eof` when
    /// the client closed its side; errors mean the connection is dead.
    fn read_input(&mut self, conn: &mut Conn) -> io::Result<()> {
        let mut total = 0;
        self.input_pool.lend(conn);
        loop {
            conn.reserve_input(4096);
            let space = conn.inbuf.len() - conn.in_end;
            match conn.stream.read(&mut conn.inbuf[conn.in_end..]) {
                Ok(0) => {
                    conn.eof = true;
                    conn.read_ready = false;
                    break;
                }
                Ok(n) => {
                    conn.in_end += n;
                    conn.in_peak = conn.in_peak.max(conn.pending_input());
                    total += n;
                    if conn.pending_input() > self.settings.query_buffer_max {
                        crate::log::warning(&format!(
                            "Closing client that reached max query buffer length: id={} addr={}",
                            conn.id, conn.addr
                        ));
                        return Err(io::ErrorKind::InvalidData.into());
                    }
                    if n < space && !conn.read_closed {
                        // A short read drained the socket (edge-triggered readiness). If the
                        // peer also closed, read on: the next read returns EOF.
                        conn.read_ready = false;
                        break;
                    }
                    if total >= READ_BYTES_PER_TURN_MAX {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.read_ready = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        bump(&self.stats().net_input_bytes, total as u64);
        Ok(())
    }

    /// Writes each connection's pending output once (and, for a paced reply, the pieces
    /// that fit while the socket takes them).
    pub(super) fn flush_dirty(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        let mut written = 0u64;
        for &slot in &dirty {
            let Some(mut conn) = self.conns.get_mut(slot).and_then(|c| c.take()) else {
                continue;
            };
            conn.dirty = false;
            if conn.gather.is_some()
                && conn.paced.is_none()
                && conn.pending_output() < WRITE_HOLD_BYTES_MAX
            {
                // The rest of this pipeline waits on a hop: hold its replies so that the
                // whole pipeline leaves in one write, as it would from a single shard. The
                // connection is marked dirty again when the hop's reply arrives.
                self.conns[slot] = Some(conn);
                continue;
            }
            let mut dead = false;
            let mut pieces = 0;
            if conn.out_dead {
                conn.discard_output();
            }
            loop {
                while conn.pending_output() > 0 {
                    match conn.write_unsent() {
                        Ok(0) => {
                            dead = true;
                            break;
                        }
                        Ok(n) => {
                            conn.advance_output(n);
                            written += n as u64;
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(_) => {
                            dead = true;
                            break;
                        }
                    }
                }
                if dead || !self.pull_paced(&mut conn, &mut pieces) {
                    break;
                }
            }
            let drained = conn.pending_output() == 0;
            if drained {
                conn.out.clear();
                conn.out_pos = 0;
                if conn.out.capacity() > crate::conn::OUT_KEEP_BYTES {
                    conn.out = Vec::new();
                }
            }
            if dead && !conn.kill && (conn.pending_input() > 0 || conn.busy()) {
                // The client reads no more, but it sent commands that have not run yet:
                // they still run (replies dropped), then the connection closes.
                self.output_died(&mut conn);
                if !conn.queued {
                    conn.queued = true;
                    self.ready.push(slot);
                }
                self.conns[slot] = Some(conn);
                continue;
            }
            if dead || (drained && conn.close_after_reply) {
                self.close(slot, conn);
                continue;
            }
            if self.paced_wants_turn(&conn) && !conn.queued {
                // A long reply stopped for the turn's budget with the socket still
                // taking bytes: go on next turn.
                conn.queued = true;
                self.ready.push(slot);
            }
            if drained
                && (conn.in_start < conn.in_end || conn.read_ready)
                && !conn.queued
                && conn.gather.is_none()
                && !conn.fanout_paused
            {
                // Output was paused; resume parsing.
                conn.queued = true;
                self.ready.push(slot);
            }
            self.conns[slot] = Some(conn);
        }
        bump(&self.stats().net_output_bytes, written);
        if self.dirty.is_empty() {
            let mut d = dirty;
            d.clear();
            self.dirty = d;
        }
    }

    /// A write to `conn` failed while it still has commands to run: from now on its
    /// replies are dropped, its paced reply goes, and it reads nothing more.
    fn output_died(&mut self, conn: &mut Conn) {
        conn.out_dead = true;
        self.drop_paced(conn);
        conn.discard_output();
        conn.eof = true;
        conn.read_ready = false;
    }
}

/// Applies `client-output-buffer-limit pubsub` to a subscriber: true when it must be
/// disconnected (past the hard limit, or past the soft limit for longer than allowed).
pub(super) fn over_output_limit(
    c: &mut Conn,
    (hard, soft, secs): (u64, u64, u64),
    now_ms: u64,
) -> bool {
    let pending = c.output_held() as u64;
    if hard > 0 && pending > hard {
        return true;
    }
    if soft > 0 && pending > soft {
        if c.soft_limit_since_ms == 0 {
            c.soft_limit_since_ms = now_ms;
        }
        return now_ms - c.soft_limit_since_ms > secs * 1000;
    }
    c.soft_limit_since_ms = 0;
    false
}
