//! From a parsed frame to a handler or a hop: parsing a connection's complete frames,
//! looking the command up and checking it (arity, authentication, MULTI, subscribed
//! mode), then running it here or routing it to its owner shards (`hops.rs`), and
//! counting the call in commandstats and errorstats.

use std::time::Instant;

use crate::cmd::paced::Pace;
use crate::cmd::{self, Args, Ctx, Route, Spec};
use crate::conn::{Conn, OUTPUT_PAUSE_BYTES};
use crate::error::CmdError;
use crate::resp::{Parsed, Reply};
use crate::stats::bump;

use super::{Owners, Shard};

/// Largest single read-buffer reservation made on the word of a declared bulk length.
const RESERVE_STEP_BYTES_MAX: usize = 4 * 1024 * 1024;

impl Shard {
    /// Parses and runs frames until input runs out or the connection must wait.
    pub(super) fn run_frames(&mut self, slot: usize, conn: &mut Conn) -> bool {
        let mut limits = self.settings.limits;
        if conn.exec.paused() && conn.gather.is_none() {
            self.replay(slot, conn);
        }
        if conn.tx().is_some() && conn.gather.is_none() {
            if let Some(step) = conn.take_locked_step() {
                // A step waiting for its locks (a blocking move sent back to retry) got
                // them: it goes on.
                self.drive_step(slot, conn, step);
                self.settle_tx(conn);
            }
        }
        loop {
            if conn.close_after_reply || conn.pending_output() > OUTPUT_PAUSE_BYTES || self.draining
            {
                break;
            }
            if conn.acquiring().is_some() || conn.exec.paused() || conn.fanout_paused {
                break;
            }
            if conn.in_start == conn.in_end {
                break;
            }
            limits.unauthenticated = !conn.authenticated;
            let inbuf = std::mem::take(&mut conn.inbuf);
            let mut args = std::mem::take(&mut conn.args);
            let frame = &inbuf[conn.in_start..conn.in_end];
            let parsed = conn.parse.parse(frame, &mut args, &limits);
            let reply_at = conn.out.len();
            let hold = self.open_hold();
            let outcome = match parsed {
                Ok(Parsed::Frame { consumed }) => {
                    let a = Args::new(frame, &args);
                    let ran = a.is_empty() || self.execute(slot, conn, &a);
                    Ok(ran.then_some(consumed))
                }
                Ok(Parsed::Owned {
                    consumed,
                    args: owned,
                }) => {
                    let (buf, ranges) = cmd::flatten(&owned);
                    let a = Args::new(&buf, &ranges);
                    let ran = a.is_empty() || self.execute(slot, conn, &a);
                    Ok(ran.then_some(consumed))
                }
                Ok(Parsed::Incomplete { want }) => Err(want),
                Err(e) => {
                    self.count_error(b"-ERR");
                    let mut r = Reply::new(&mut conn.out, conn.resp3);
                    r.error(&format!("ERR {}", e.message()));
                    crate::log::verbose(&format!(
                        "Protocol error ({}) from client: id={} addr={}",
                        e.message(),
                        conn.id,
                        conn.addr
                    ));
                    conn.close_after_reply = true;
                    Ok(None)
                }
            };
            conn.inbuf = inbuf;
            conn.args = args;
            if !matches!(outcome, Ok(Some(_))) && self.close_hold(hold) {
                self.hold_local_reply(slot, conn, hold.0, reply_at);
            }
            match outcome {
                Ok(Some(consumed)) => {
                    conn.in_start += consumed;
                    conn.block_arrival = None;
                    if conn.tx().is_some() {
                        self.settle_tx(conn);
                    }
                    // Waiters on what it pushed here are served before the next command
                    // (keys its transaction still holds wait for the release).
                    self.serve_ready_keys();
                    if self.close_hold(hold) {
                        self.hold_local_reply(slot, conn, hold.0, reply_at);
                    }
                }
                Ok(None) => {
                    // Not run: it waits behind a hop (re-parsed later) or the conn closes.
                    conn.parse = Default::default();
                    break;
                }
                Err(want) => {
                    if let Some(want) = want {
                        // Reserve for a large bulk once rather than doubling through it,
                        // but never trust a declared length for more than a step: a peer
                        // can declare 512 MB and send nothing.
                        let have = conn.in_end - conn.in_start;
                        if want > have {
                            conn.reserve_input((want - have).min(RESERVE_STEP_BYTES_MAX));
                        }
                    }
                    break;
                }
            }
        }
        if conn.in_start == conn.in_end {
            conn.in_start = 0;
            conn.in_end = 0;
        }
        true
    }

    /// Runs or routes one command. Returns false if it cannot start yet (the connection
    /// waits on a hop that this command cannot join, or on locks).
    pub(super) fn execute(&mut self, slot: usize, conn: &mut Conn, args: &Args) -> bool {
        let Some(top) = cmd::lookup(args.get(0)) else {
            if conn.gather.is_some() {
                return false;
            }
            bump(&self.stats().rejected_calls, 1);
            self.count_error(b"-ERR");
            let mut r = Reply::new(&mut conn.out, conn.resp3);
            r.error_bytes(&cmd::unknown_command_error(args));
            flag_multi(conn);
            return true;
        };
        let spec = match cmd::resolve(top, args) {
            Ok(spec) => spec,
            Err(e) => {
                if conn.gather.is_some() {
                    return false;
                }
                bump(&self.stats().rejected_calls, 1);
                let at = conn.out.len();
                e.write(&mut Reply::new(&mut conn.out, conn.resp3));
                self.count_error(&conn.out[at..]);
                flag_multi(conn);
                return true;
            }
        };
        // While a chain is open this turn, a multi-key command over the same shards joins
        // it, or a batchable command its pipeline batch (`batch.rs`).
        if conn.chain.is_some() {
            let batch = conn
                .gather
                .as_ref()
                .is_some_and(|g| matches!(g.merge, crate::conn::Merge::Pipeline { .. }));
            let joined = if batch {
                self.append_to_batch(conn, spec, args)
            } else {
                self.append_to_chain(conn, spec, args)
            };
            if joined {
                conn.last_cmd = spec.name;
                return true;
            }
            return false;
        }
        // While a hop is open this turn, a command for the same owner joins it; one for
        // another shard may turn the hop into a pipeline batch (`batch.rs`).
        if let Some(g) = &conn.gather {
            let Some(dest) = self.appendable_hop(conn, g, spec, args) else {
                return self.hop_to_batch(slot, conn, spec, args);
            };
            self.append_to_hop(dest, conn, spec, args);
            conn.last_cmd = spec.name;
            return true;
        }
        conn.last_cmd_ms = self.now_ms;
        conn.last_cmd = spec.name;
        let queuing = conn.multi.is_some() && cmd::queued_in_multi(spec);
        let checked = if queuing {
            cmd::check_queued(spec, args, conn)
        } else {
            cmd::check_call(spec, args, conn, &self.settings)
        };
        let refused = checked.err().or_else(|| {
            (!conn.resp3 && conn.subscriptions() > 0 && !cmd::allowed_when_subscribed(spec))
                .then(|| CmdError::Msg(std::borrow::Cow::Owned(format!(
                    "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                    spec.name
                ))))
        });
        if let Some(e) = refused {
            bump(&self.stats().rejected_calls, 1);
            bump(&self.stats().cmd[spec.id as usize].rejected, 1);
            let at = conn.out.len();
            if matches!(spec.route, Route::Txn(cmd::TxnCmd::Exec)) {
                // EXEC itself refused: as Redis, the transaction (if any) and every watched
                // key go, saying why, even outside MULTI.
                self.discard_multi(conn);
                let mut body = Vec::new();
                e.write(&mut Reply::new(&mut body, false));
                let why = body[1..body.len() - 2]
                    .strip_prefix(b"ERR ")
                    .unwrap_or(&body[1..body.len() - 2]);
                let mut r = Reply::new(&mut conn.out, conn.resp3);
                r.error_bytes(&[b"EXECABORT Transaction discarded because of: ", why].concat());
            } else {
                e.write(&mut Reply::new(&mut conn.out, conn.resp3));
                flag_multi(conn);
            }
            self.count_error(&conn.out[at..]);
            return true;
        }
        if spec.flags & cmd::flag::LOADING == 0
            && self
                .shared
                .aof
                .loading
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        {
            bump(&self.stats().rejected_calls, 1);
            let at = conn.out.len();
            Reply::new(&mut conn.out, conn.resp3)
                .error("LOADING Redis is loading the dataset in memory");
            flag_multi(conn);
            self.count_error(&conn.out[at..]);
            return true;
        }
        if let Some(q) = conn.multi.as_mut().filter(|_| cmd::queued_in_multi(spec)) {
            q.cmds.push(spec.id, args.iter());
            Reply::new(&mut conn.out, conn.resp3).simple("QUEUED");
            return true;
        }
        let owners = match spec.route {
            Route::Keys(_) | Route::Coord(_) => self.owner_of_keys(spec, args),
            Route::Txn(t) => return self.txn_command(slot, conn, t, spec, args),
            _ => Owners::None,
        };
        if spec.flags & cmd::flag::BLOCKING != 0 && conn.block_arrival.is_none() {
            // Its place among waiters is fixed now, whatever its locks make it wait.
            conn.block_arrival = Some(self.arrival());
        }
        if let Some(sets) = self.lock_plan(spec, args, conn, owners) {
            if !self.acquire(conn, sets, crate::tx::Scope::Command) {
                return false;
            }
        }
        match spec.route {
            Route::Home | Route::Txn(_) => self.run_local(spec, Some(conn), args),
            Route::Keys(split) => match owners {
                Owners::None => self.run_local(spec, Some(conn), args),
                // The connection moves to its keys' shard instead (`place.rs`).
                Owners::One(s) if self.moves_to(conn, s) => return false,
                Owners::One(s) if s == self.id => self.run_local(spec, Some(conn), args),
                Owners::One(s) => self.start_hop(slot, conn, s, spec, args),
                Owners::Many => match split {
                    Some(merge) if conn.tx().is_none() => {
                        self.start_chain(slot, conn, spec, args, merge)
                    }
                    Some(merge) => self.split_keys(slot, conn, spec, args, merge),
                    None => Reply::new(&mut conn.out, conn.resp3).error(cmd::CROSS_SHARD),
                },
            },
            Route::All(merge) => self.broadcast(slot, conn, spec, args, merge),
            Route::Coord(f) => {
                let mut out = std::mem::take(&mut conn.out);
                if let Err(e) = f(self, slot, conn, args, &mut out) {
                    e.write(&mut Reply::new(&mut out, conn.resp3));
                }
                // A coordinator may have queued output too; keep ordering.
                out.append(&mut conn.out);
                conn.out = out;
            }
        }
        true
    }

    /// Runs a command here, with the connection when it is a home command.
    fn run_local(&mut self, spec: &'static Spec, conn: Option<&mut Conn>, args: &Args) {
        let conn = conn.expect("local commands run for a connection");
        let mut out = std::mem::take(&mut conn.out);
        let db = conn.db;
        let resp3 = conn.resp3;
        let start = Instant::now();
        let reply_at = out.len();
        // A reply that is part of a transaction's is written whole: its locks must not wait
        // for the client's reading.
        let pace = if conn.tx().is_none() && !conn.exec.running() && !conn.exec.paused() {
            Pace::Allowed
        } else {
            Pace::Off
        };
        let dirty = self.ks.dirty();
        self.running_tx = conn.tx().map_or(0, |h| h.id);
        let (res, pace) = {
            let mut ctx = Ctx::new(
                self,
                spec,
                Some(&mut *conn),
                db,
                Reply::new(&mut out, resp3),
                pace,
            );
            let res = (spec.handler)(&mut ctx, args);
            (res, ctx.pace)
        };
        self.aof_record(spec, db, args, dirty);
        self.running_tx = 0;
        self.signal_written(spec, db, args);
        self.finish_call(spec, start, res, &mut out, reply_at, conn.resp3);
        if let Pace::Started(id) = pace {
            self.paced_local(conn, id);
        }
        // A handler may have written to conn.out through ctx.conn (e.g. RESET); keep order.
        out.append(&mut conn.out);
        conn.out = out;
    }

    /// After a handler ran: writes its error (if it returned one) and counts the call in
    /// commandstats, and an error reply (returned or written) in errorstats.
    pub(super) fn finish_call(
        &self,
        spec: &'static Spec,
        start: Instant,
        res: crate::error::CmdResult,
        out: &mut Vec<u8>,
        reply_at: usize,
        resp3: bool,
    ) {
        if let Err(e) = res {
            e.write(&mut Reply::new(out, resp3));
        }
        let Some(c) = self.count_call(spec, start) else {
            return; // not a command of the table
        };
        if out.get(reply_at) == Some(&b'-') {
            bump(&c.failed, 1);
            self.count_error(&out[reply_at..]);
        }
    }

    /// Counts a call of `spec` that started at `start` in INFO commandstats (and in the
    /// commands processed); its counters, or `None` for a command not in the table.
    pub(crate) fn count_call(
        &self,
        spec: &'static Spec,
        start: Instant,
    ) -> Option<&crate::stats::CmdStats> {
        let st = self.stats();
        let c = st.cmd.get(spec.id as usize)?;
        bump(&st.commands, 1);
        bump(&c.calls, 1);
        bump(&c.usec, start.elapsed().as_micros() as u64);
        Some(c)
    }

    /// Counts an error reply (`-CODE message\r\n`) under its code for INFO errorstats.
    fn count_error(&self, reply: &[u8]) {
        let body = &reply[1..];
        let end = body
            .iter()
            .position(|&b| b == b' ' || b == b'\r')
            .unwrap_or(body.len());
        let code = String::from_utf8_lossy(&body[..end]).into_owned();
        *self
            .stats()
            .errors
            .lock()
            .expect("errorstats lock")
            .entry(code)
            .or_insert(0) += 1;
    }
}

/// Marks the connection's MULTI (if any) as failed: its EXEC will reply EXECABORT.
fn flag_multi(conn: &mut Conn) {
    if let Some(q) = conn.multi.as_mut() {
        q.aborted = true;
    }
}
