//! One client connection: its socket, read and write buffers, protocol state, and the
//! gather it waits on while a command runs on other shards.
//!
//! Touched only by its home shard's thread.

use std::net::SocketAddr;

use ahash::RandomState;
use indexmap::IndexSet;
use mio::net::TcpStream;

use crate::pubsub::Kind;

use crate::resp::{ArgRange, ParseState};

/// Read buffer size; grows for large frames. A connection borrows one from its shard's
/// pool (`InputPool`) when it reads and gives it back once idle for 2 s with nothing
/// unparsed (as Redis frees an idle client's query buffer), so an idle connection costs
/// no buffer at all.
pub const READ_BUF_BYTES: usize = 16 * 1024;

/// Output buffer capacity a connection keeps after its output drained (larger ones are
/// freed, so one long reply does not cost memory for the life of the connection).
pub const OUT_KEEP_BYTES: usize = 16 * 1024;

/// Size of one output chunk for push messages. A subscriber's output that keeps growing
/// is a queue of chunks of about this size (`Conn::spill`), each freed as soon as it is
/// written, so the memory it holds is what is unsent, as Redis's reply list of 16 KB
/// blocks; one growing buffer would be copied at every doubling and hold what was sent.
pub const OUT_CHUNK_BYTES: usize = 64 * 1024;

/// Output chunks handed to one vectored write, at most (a few MB of backlog per call).
const WRITE_SLICES_MAX: usize = 64;

/// A read buffer past this size shrinks once its recent peak used less than half of it
/// (Redis's `PROTO_RESIZE_THRESHOLD`): one large command does not hold its memory for as
/// long as the client keeps pipelining.
pub const INPUT_SHRINK_BYTES_MIN: usize = 32 * 1024;

/// Spare read-buffer room worth giving back (Redis resizes a query buffer only when it
/// wastes more than this).
pub const INPUT_SPARE_BYTES_MAX: usize = 4 * 1024;

/// Read buffers of `READ_BUF_BYTES` that connections of one shard borrow while active.
#[derive(Default)]
pub struct InputPool {
    free: Vec<Vec<u8>>,
}

impl InputPool {
    /// Buffers kept for reuse at most; beyond, returned ones are freed. Connections keep
    /// theirs while active, so the pool only bridges idle spells (512 KB per shard).
    const KEPT_MAX: usize = 32;

    /// Lends `conn` a read buffer if it has none.
    pub fn lend(&mut self, conn: &mut Conn) {
        if conn.inbuf.is_empty() {
            conn.inbuf = self.free.pop().unwrap_or_else(|| vec![0; READ_BUF_BYTES]);
            conn.in_start = 0;
            conn.in_end = 0;
            conn.in_cap = conn.inbuf.len();
        }
    }

    /// Takes `conn`'s read buffer back once everything in it was parsed.
    pub fn reclaim(&mut self, conn: &mut Conn) {
        if conn.inbuf.is_empty() || conn.in_start != conn.in_end {
            return;
        }
        let buf = std::mem::take(&mut conn.inbuf);
        conn.in_start = 0;
        conn.in_end = 0;
        conn.in_cap = 0;
        if buf.len() == READ_BUF_BYTES && self.free.len() < Self::KEPT_MAX {
            self.free.push(buf);
        }
    }
}

/// Output past which we stop executing a connection's pipelined commands until the
/// client reads (so a client that never reads cannot grow our memory without bound).
pub const OUTPUT_PAUSE_BYTES: usize = 16 * 1024 * 1024;

/// Unparsed input past which we stop reading from a connection that waits on a hop:
/// its later commands cannot run yet anyway.
pub const INPUT_PAUSE_BYTES: usize = 4 * 1024 * 1024;

/// How replies from other shards are combined into one reply.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug)]
pub enum Merge {
    /// One part; its bytes are the reply (one or more whole replies, in order).
    Forward,
    /// Integer parts, summed (DEL, EXISTS, DBSIZE ...).
    Sum,
    /// `+OK` parts; the reply is `+OK` or the first error (MSET, FLUSHDB ...).
    AllOk,
    /// The first error, else the reply of the part at this index (the home shard's).
    Same(usize),
    /// Array parts; element `i` of the reply is element `order[i].1` of part `order[i].0`
    /// (MGET).
    Interleave { order: Vec<(u32, u32)> },
    /// Array parts concatenated (KEYS).
    Concat,
    /// A multi-step command's coordinator (`cmd::step`), waiting for the answers of the
    /// ops it asked other shards for (they go into the step, not into `parts`), or for
    /// the one part a block it waits in, or an EXEC's keys served elsewhere, ends with.
    Step(Box<crate::cmd::step::Step>),
    /// Bulk parts; reply with a random non-null one (RANDOMKEY).
    AnyNonNull,
    /// Bulk string parts concatenated into one bulk (CLIENT LIST).
    ConcatBulk,
    /// An EXEC run as a chain: part `order[i]` holds the reply of queued command `i`
    /// (each part's replies in command order); the reply is the array of them all.
    Exec { order: Vec<u32> },
    /// A pipeline batch (`shard::batch`): single-key commands of one pipeline over several
    /// shards run as one chain; part `order[i]` holds the reply of command `i` (each part's
    /// replies in command order), and the reply is them all in command order.
    Pipeline { order: Vec<u32> },
    /// Several pipelined multi-key commands run as one chain: every part holds one reply
    /// per command, in order; each command's replies merge by its own merge.
    Batch(Vec<Merge>),
    /// CLIENT KILL ip:port: integer parts; `+OK` if any matched, else `ERR No such client`.
    KillOld,
}

/// The locks of the command (or EXEC) a connection runs. One value, so a connection never
/// takes and holds locks at once, and a step that waits for locks always has them on the
/// way.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug, Default)]
pub enum Locks {
    /// None taken or asked for.
    #[default]
    None,
    /// Being taken (`acq`), shard by shard in ascending order. `then`: the step that asked for
    /// them (a cross-shard BLMOVE sent back to retry), which goes on once they are held;
    /// without one, the command at the head of the input runs (again) then.
    Acquiring {
        acq: crate::tx::Acquire,
        then: Option<Box<crate::cmd::step::Step>>,
    },
    /// Held (`hold`) on every shard of the command or EXEC. `then`: a step that just got them,
    /// which goes on at the connection's next run (`Shard::run_frames`).
    Held {
        hold: crate::tx::Hold,
        then: Option<Box<crate::cmd::step::Step>>,
    },
}

/// A command waiting on replies from other shards.
#[derive(Debug)]
pub struct Gather {
    /// Parts not yet received.
    pub left: u32,
    /// Received parts, indexed by part number.
    pub parts: Vec<Vec<u8>>,
    /// How to combine them.
    pub merge: Merge,
    /// The blocking pop the command waits in, if it blocked: its one part is the served
    /// reply (a block is always a gather, so it cannot be represented without one).
    pub blocked: Option<Box<crate::shard::block::Blocked>>,
}

/// A client connection.
///
/// What a command in progress holds is a few values, each legal with any of the others
/// (so one enum of their products would only repeat them): `gather`, what it waits for
/// from other shards (a block, `Gather::blocked`, is one kind of it); `locks`, its locks
/// (none, being taken, held), which it may hold with or without a gather; `exec`, an EXEC
/// replaying (a command of it running, or paused), which holds locks and may wait in a
/// gather; `chain`, the steps left of a chained command, always with a gather and held
/// locks, but reset before the gather finishes; `exec_order` / `exec_signals`, a chained
/// EXEC's serving order, which outlives its chain until its keys were served; `reserved`,
/// the places a blocking pop over several shards took while its attempt runs; and
/// `block_arrival`, the arrival number of the blocking command at the head of the input,
/// kept while it waits for its locks. `multi` and `watch` are modes the client set, not
/// work in flight.
pub struct Conn {
    /// CLIENT ID: unique for the server's lifetime.
    pub id: u64,
    /// Index in the home shard's connection slab.
    pub slot: usize,
    /// The socket.
    pub stream: TcpStream,
    /// Peer address (`addr=` in CLIENT LIST).
    pub addr: SocketAddr,
    /// Local address (`laddr=`).
    pub laddr: SocketAddr,
    /// Read buffer, lent by the shard's pool until the connection idles (empty then); bytes
    /// `in_start..in_end` are unparsed. Always fully initialized.
    pub inbuf: Vec<u8>,
    /// Start of unparsed input in `inbuf`.
    pub in_start: usize,
    /// End of received input in `inbuf`.
    pub in_end: usize,
    /// `inbuf.len()`, kept apart because the buffer is lent out while a frame runs.
    pub in_cap: usize,
    /// Most unparsed input held since the last `shrink_input` (Redis's `querybuf_peak`).
    pub in_peak: usize,
    /// Parser progress through the frame at `in_start`.
    pub parse: ParseState,
    /// Argument ranges of the frame being parsed (reused across frames).
    pub args: Vec<ArgRange>,
    /// Encoded replies waiting to be written; `out[out_pos..]` is unsent. It is the newest
    /// output: everything in `spill` goes before it.
    pub out: Vec<u8>,
    /// Bytes of `out` already written (0 while `spill` holds anything).
    pub out_pos: usize,
    /// Older output chunks, oldest first, moved out of `out` when push messages filled it
    /// (`push_buffer`); the first `spill_pos` bytes of the front chunk are written.
    pub spill: std::collections::VecDeque<Vec<u8>>,
    /// Bytes of the front chunk of `spill` already written.
    pub spill_pos: usize,
    /// Unsent bytes in `spill`.
    pub spill_bytes: usize,
    /// Stopped after a PUBLISH that went over the fanout budget (`Shard::publish`): its
    /// later commands wait, and its socket is not read, until deliveries catch up.
    pub fanout_paused: bool,
    /// True after `HELLO 3`.
    pub resp3: bool,
    /// Selected database.
    pub db: usize,
    /// CLIENT SETNAME.
    pub name: Vec<u8>,
    /// CLIENT SETINFO LIB-NAME.
    pub lib_name: Vec<u8>,
    /// CLIENT SETINFO LIB-VER.
    pub lib_ver: Vec<u8>,
    /// False until AUTH succeeds when `requirepass` is set.
    pub authenticated: bool,
    /// The command waiting on other shards; no later command starts until it completes.
    pub gather: Option<Gather>,
    /// Close once the output is flushed (QUIT, protocol error, CLIENT KILL).
    pub close_after_reply: bool,
    /// Close now, without flushing (killed by another client).
    pub kill: bool,
    /// The socket may hold more bytes (edge-triggered readiness not yet drained).
    pub read_ready: bool,
    /// The peer shut down its side (epoll said so): read on to EOF, past short reads.
    pub read_closed: bool,
    /// EOF was read: run what is buffered, flush, then close.
    pub eof: bool,
    /// In the shard's work list for this turn.
    pub queued: bool,
    /// In the shard's flush list for this turn.
    pub dirty: bool,
    /// Creation time, ms since the Unix epoch (`age=`).
    pub created_ms: u64,
    /// Last command time, ms (`idle=`).
    pub last_cmd_ms: u64,
    /// Name of the last command run (`cmd=`).
    pub last_cmd: &'static str,
    /// SUBSCRIBE channels, in subscription order.
    pub subs: IndexSet<Box<[u8]>, RandomState>,
    /// PSUBSCRIBE patterns.
    pub psubs: IndexSet<Box<[u8]>, RandomState>,
    /// SSUBSCRIBE shard channels.
    pub ssubs: IndexSet<Box<[u8]>, RandomState>,
    /// When output first went past the pubsub soft limit (0 = under it), ms.
    pub soft_limit_since_ms: u64,
    /// The locks of the running command or EXEC: none, being taken, or held.
    pub locks: Locks,
    /// The steps left of a chained multi-key command (its gather is open meanwhile).
    pub chain: Option<crate::tx::Chain>,
    /// Between MULTI and EXEC: the queued commands.
    pub multi: Option<crate::tx::Queued>,
    /// An EXEC replaying its commands: one of them running, or waiting between two.
    pub exec: crate::tx::Exec,
    /// WATCHed keys.
    pub watch: Option<crate::tx::Watch>,
    /// A blocking pop over several shards, while its first attempt runs: the places it
    /// took in its keys' queues on arrival (`shard::block::Reserved`).
    pub reserved: Option<crate::shard::block::Reserved>,
    /// The arrival number of the blocking command it is starting (`Shard::arrival_of`).
    pub block_arrival: Option<u64>,
    /// A chained EXEC in progress: for each queued command the part it runs in, and the
    /// shard of each part.
    pub exec_order: Option<(Vec<u32>, Vec<usize>)>,
    /// Keys with waiters that the chained EXEC's commands signalled: (part, index of the
    /// command in its part, database, key), as each part reported them.
    pub exec_signals: Vec<(u32, u32, usize, Box<[u8]>)>,
    /// Keys with waiters that a replayed EXEC's commands signalled, in program order:
    /// (owner shard, database, key). Served in that order before its locks go.
    pub replay_signals: Vec<(usize, usize, Box<[u8]>)>,
    /// A write failed (the peer stopped reading or reset): replies are dropped from now on,
    /// but what the client sent before still runs, as Redis runs every command it read,
    /// and then the connection closes.
    pub out_dead: bool,
    /// The walk the reply being written continues with (`shard::paced`); its gather
    /// stays open until the walk is finished.
    pub paced: Option<crate::shard::paced::PacedRef>,
    /// Push messages (pub/sub) that arrived while a paced reply was half written: they
    /// follow it, so they never land inside it.
    pub pushes_held: Vec<u8>,
    /// Where its commands have been going, and whether it moves (`shard::place`).
    pub place: crate::shard::place::Placement,
}

impl Conn {
    /// A fresh connection.
    pub fn new(
        id: u64,
        slot: usize,
        stream: TcpStream,
        addr: SocketAddr,
        laddr: SocketAddr,
        now_ms: u64,
        authenticated: bool,
    ) -> Self {
        Self {
            id,
            slot,
            stream,
            addr,
            laddr,
            inbuf: Vec::new(),
            in_start: 0,
            in_end: 0,
            in_cap: 0,
            in_peak: 0,
            parse: ParseState::default(),
            args: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            spill: Default::default(),
            spill_pos: 0,
            spill_bytes: 0,
            fanout_paused: false,
            resp3: false,
            db: 0,
            name: Vec::new(),
            lib_name: Vec::new(),
            lib_ver: Vec::new(),
            authenticated,
            gather: None,
            close_after_reply: false,
            kill: false,
            read_ready: true,
            read_closed: false,
            eof: false,
            queued: false,
            dirty: false,
            created_ms: now_ms,
            last_cmd_ms: now_ms,
            last_cmd: "NULL",
            subs: IndexSet::default(),
            psubs: IndexSet::default(),
            ssubs: IndexSet::default(),
            soft_limit_since_ms: 0,
            locks: Locks::None,
            chain: None,
            multi: None,
            exec: crate::tx::Exec::Off,
            watch: None,
            reserved: None,
            block_arrival: None,
            exec_order: None,
            exec_signals: Vec::new(),
            replay_signals: Vec::new(),
            out_dead: false,
            paced: None,
            pushes_held: Vec::new(),
            place: Default::default(),
        }
    }

    /// The connection's subscriptions in one namespace.
    pub fn subscriptions_of(&mut self, kind: Kind) -> &mut IndexSet<Box<[u8]>, RandomState> {
        match kind {
            Kind::Channel => &mut self.subs,
            Kind::Pattern => &mut self.psubs,
            Kind::Shard => &mut self.ssubs,
        }
    }

    /// All subscriptions; non-zero puts a RESP2 connection in subscribed mode.
    pub fn subscriptions(&self) -> usize {
        self.subs.len() + self.psubs.len() + self.ssubs.len()
    }

    /// The blocking pop this connection waits in, if any.
    pub fn blocked(&self) -> Option<&crate::shard::block::Blocked> {
        self.gather.as_ref()?.blocked.as_deref()
    }

    /// The blocking pop this connection waits in, to change it.
    pub fn blocked_mut(&mut self) -> Option<&mut crate::shard::block::Blocked> {
        self.gather.as_mut()?.blocked.as_deref_mut()
    }

    /// The locks held, if they are.
    pub fn tx(&self) -> Option<&crate::tx::Hold> {
        match &self.locks {
            Locks::Held { hold, .. } => Some(hold),
            _ => None,
        }
    }

    /// The locks held, to change which shards they cover.
    pub fn tx_mut(&mut self) -> Option<&mut crate::tx::Hold> {
        match &mut self.locks {
            Locks::Held { hold, .. } => Some(hold),
            _ => None,
        }
    }

    /// Takes the locks held out (the connection then holds none).
    pub fn take_tx(&mut self) -> Option<crate::tx::Hold> {
        match std::mem::take(&mut self.locks) {
            Locks::Held { hold, .. } => Some(hold),
            other => {
                self.locks = other;
                None
            }
        }
    }

    /// Holds `hold` (taken without an acquisition: a chain's locks).
    pub fn set_tx(&mut self, hold: crate::tx::Hold) {
        self.locks = Locks::Held { hold, then: None };
    }

    /// `step` goes on once the acquisition under way holds every lock.
    pub fn wait_for_locks(&mut self, step: Box<crate::cmd::step::Step>) {
        match &mut self.locks {
            Locks::Acquiring { then, .. } => *then = Some(step),
            _ => debug_assert!(false, "a step waits for locks nobody is taking"),
        }
    }

    /// The step that waited for the locks now held, if any (it goes on now).
    pub fn take_locked_step(&mut self) -> Option<Box<crate::cmd::step::Step>> {
        match &mut self.locks {
            Locks::Held { then, .. } => then.take(),
            _ => None,
        }
    }

    /// The acquisition under way, if any.
    pub fn acquiring(&self) -> Option<&crate::tx::Acquire> {
        match &self.locks {
            Locks::Acquiring { acq, .. } => Some(acq),
            _ => None,
        }
    }

    /// The acquisition under way, to record a grant or a refusal.
    pub fn acquiring_mut(&mut self) -> Option<&mut crate::tx::Acquire> {
        match &mut self.locks {
            Locks::Acquiring { acq, .. } => Some(acq),
            _ => None,
        }
    }

    /// Takes the acquisition under way out (and the step waiting on it, which goes).
    pub fn take_acquire(&mut self) -> Option<crate::tx::Acquire> {
        match std::mem::take(&mut self.locks) {
            Locks::Acquiring { acq, .. } => Some(acq),
            other => {
                self.locks = other;
                None
            }
        }
    }

    /// True while a command of this connection is in progress (waiting on other shards,
    /// on locks, or replaying an EXEC): no later command may start.
    pub fn busy(&self) -> bool {
        self.gather.is_some() || self.acquiring().is_some() || self.exec.paused()
    }

    /// Unparsed input bytes.
    pub fn pending_input(&self) -> usize {
        self.in_end - self.in_start
    }

    /// Unsent output bytes.
    pub fn pending_output(&self) -> usize {
        self.spill_bytes + self.out.len() - self.out_pos
    }

    /// The buffer a push message (pub/sub) of `want` bytes goes to now: the output, or
    /// behind a paced reply that is half written. An output buffer holding half a chunk
    /// or more that `want` would make grow becomes a chunk of `spill` first, so a
    /// subscriber's backlog grows by whole chunks and never by copying what it holds.
    pub fn push_buffer(&mut self, want: usize) -> &mut Vec<u8> {
        if self.paced.is_some() {
            return &mut self.pushes_held;
        }
        if self.out.len() + want > self.out.capacity() && self.out.len() >= OUT_CHUNK_BYTES / 2 {
            self.spill_out(want);
        }
        &mut self.out
    }

    /// Moves `out` behind the spilled chunks and starts a fresh chunk with room for
    /// `want` bytes.
    fn spill_out(&mut self, want: usize) {
        if self.spill.is_empty() && self.out_pos == self.out.len() {
            // Everything in it was written: reuse it rather than queue an empty chunk.
            self.out.clear();
            self.out_pos = 0;
            return;
        }
        let fresh = Vec::with_capacity(OUT_CHUNK_BYTES.max(want));
        let full = std::mem::replace(&mut self.out, fresh);
        if self.spill.is_empty() {
            self.spill_pos = self.out_pos;
        }
        debug_assert!(self.spill.is_empty() || self.out_pos == 0);
        self.spill_bytes += full.len() - self.out_pos;
        self.out_pos = 0;
        self.spill.push_back(full);
    }

    /// Writes what the socket takes of the unsent output, oldest first (one vectored write
    /// over up to `WRITE_SLICES_MAX` chunks while chunks are spilled). Does not advance.
    pub fn write_unsent(&mut self) -> std::io::Result<usize> {
        use std::io::{IoSlice, Write};
        if self.spill.is_empty() {
            return self.stream.write(&self.out[self.out_pos..]);
        }
        let mut slices = [IoSlice::new(&[]); WRITE_SLICES_MAX];
        let mut n = 0;
        for (i, chunk) in self.spill.iter().take(WRITE_SLICES_MAX).enumerate() {
            let from = if i == 0 { self.spill_pos } else { 0 };
            slices[n] = IoSlice::new(&chunk[from..]);
            n += 1;
        }
        if n < WRITE_SLICES_MAX && self.out_pos < self.out.len() {
            slices[n] = IoSlice::new(&self.out[self.out_pos..]);
            n += 1;
        }
        self.stream.write_vectored(&slices[..n])
    }

    /// Records that `n` bytes of the unsent output were written, freeing chunks that are
    /// now wholly sent.
    pub fn advance_output(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.spill.front() else {
                self.out_pos += n;
                debug_assert!(self.out_pos <= self.out.len());
                return;
            };
            let left = front.len() - self.spill_pos;
            if n < left {
                self.spill_pos += n;
                self.spill_bytes -= n;
                return;
            }
            n -= left;
            self.spill_bytes -= left;
            self.spill_pos = 0;
            self.spill.pop_front();
        }
    }

    /// Drops every unsent byte (the client reads no more).
    pub fn discard_output(&mut self) {
        self.out.clear();
        self.out_pos = 0;
        self.spill.clear();
        self.spill_pos = 0;
        self.spill_bytes = 0;
    }

    /// Memory the output holds (its buffers' capacity), for CLIENT LIST's tot-mem.
    pub fn output_capacity(&self) -> usize {
        self.out.capacity()
            + self.spill.iter().map(Vec::capacity).sum::<usize>()
            + self.pushes_held.capacity()
    }

    /// Sets (or ends, with `None`) the walk the reply continues with; push messages held
    /// behind a finished one follow it now.
    pub fn set_paced(&mut self, paced: Option<crate::shard::paced::PacedRef>) {
        self.paced = paced;
        if paced.is_none() && !self.pushes_held.is_empty() {
            let held = std::mem::take(&mut self.pushes_held);
            self.out.extend_from_slice(&held);
        }
    }

    /// Output bytes waiting to be written, the ones held behind a paced reply included
    /// (what output-buffer limits count).
    pub fn output_held(&self) -> usize {
        self.pending_output() + self.pushes_held.len()
    }

    /// Drops the written part of the output buffer, so that appending does not grow it
    /// past what is unsent. (With chunks spilled `out_pos` is 0: nothing to do.)
    pub fn compact_output(&mut self) {
        if self.out_pos > 0 {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
    }

    /// Makes room for at least `want` more bytes after `in_end`, compacting first.
    pub fn reserve_input(&mut self, want: usize) {
        if self.in_start == self.in_end {
            self.in_start = 0;
            self.in_end = 0;
        }
        if self.inbuf.len() - self.in_end >= want {
            return;
        }
        if self.in_start > 0 {
            self.inbuf.copy_within(self.in_start..self.in_end, 0);
            self.in_end -= self.in_start;
            self.in_start = 0;
        }
        if self.inbuf.len() - self.in_end < want {
            let new_len = (self.in_end + want).max(self.inbuf.len() * 2);
            self.inbuf.resize(new_len, 0);
        }
        self.in_cap = self.inbuf.len();
    }

    /// Gives back read-buffer room the connection is not using, as Redis's clientsCron
    /// resizes a query buffer: after `idle` (no command for a while) down to the unparsed
    /// input (none: the buffer goes), otherwise, for a large buffer whose peak since the last
    /// call used less than half of it, down to that peak (the next read grows it again).
    /// Unparsed bytes move to the front, as `reserve_input` moves them, so the parser's
    /// progress (relative to `in_start`) stays valid. Called between turns' frames only.
    pub fn shrink_input(&mut self, idle: bool) {
        let pending = self.pending_input();
        let peak = std::mem::replace(&mut self.in_peak, pending).max(pending);
        let size = self.inbuf.len();
        if size - pending <= INPUT_SPARE_BYTES_MAX {
            return;
        }
        let target = if idle {
            pending
        } else if size > INPUT_SHRINK_BYTES_MIN && size / 2 > peak {
            peak
        } else {
            return;
        };
        if target == 0 {
            self.inbuf = Vec::new();
            self.in_start = 0;
            self.in_end = 0;
            self.in_cap = 0;
            return;
        }
        if self.in_start > 0 {
            self.inbuf.copy_within(self.in_start..self.in_end, 0);
            self.in_end -= self.in_start;
            self.in_start = 0;
        }
        self.inbuf.truncate(target);
        self.inbuf.shrink_to_fit();
        self.in_cap = self.inbuf.len();
    }

    /// Frees what an idle connection holds beyond its state: spare output capacity and
    /// argument slots (the caller gives its read buffer back to the pool).
    pub fn release_idle_buffers(&mut self) {
        if self.pending_output() == 0 && self.out.capacity() > 0 {
            self.out = Vec::new();
            self.out_pos = 0;
        }
        if self.in_start == self.in_end && self.args.capacity() > 0 {
            self.args = Vec::new();
        }
    }

    /// The `flags=` field of CLIENT LIST.
    pub fn flags(&self) -> &'static str {
        if self.blocked().is_some() {
            "b"
        } else if self.multi.is_some() {
            "x"
        } else if self.subscriptions() > 0 {
            "P"
        } else {
            "N"
        }
    }

    /// One CLIENT LIST / CLIENT INFO line (without the trailing newline), fields as Redis 7.2.
    pub fn info_line(&self, now_ms: u64) -> String {
        let age = now_ms.saturating_sub(self.created_ms) / 1000;
        let idle = now_ms.saturating_sub(self.last_cmd_ms) / 1000;
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            raw_fd(&self.stream),
            String::from_utf8_lossy(&self.name),
            age,
            idle,
            self.flags(),
            self.db,
            self.subs.len(),
            self.psubs.len(),
            self.ssubs.len(),
            self.multi.as_ref().map_or(-1, |q| q.cmds.cmds.len() as i64),
            self.pending_input(),
            self.in_cap.saturating_sub(self.in_end),
            // Redis's rbs / rbp describe the reply buffer: its size, and what it holds.
            self.out.capacity(),
            self.pending_output(),
            if self.spill.is_empty() { self.out.len() - self.out_pos } else { 0 },
            self.spill.len(),
            self.output_held(),
            self.in_cap + self.output_capacity(),
            self.last_cmd,
            if self.resp3 { 3 } else { 2 },
            String::from_utf8_lossy(&self.lib_name),
            String::from_utf8_lossy(&self.lib_ver),
        )
    }
}

fn raw_fd(s: &TcpStream) -> i32 {
    use std::os::fd::AsRawFd;
    s.as_raw_fd()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A connection over a loopback socket pair, and the peer's end.
    fn pair() -> (Conn, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (server, peer) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let conn = Conn::new(1, 0, TcpStream::from_std(server), peer, addr, 0, true);
        (conn, client)
    }

    /// Writes what the socket takes, as the shard's flush does.
    fn flush(c: &mut Conn) {
        while c.pending_output() > 0 {
            match c.write_unsent() {
                Ok(n) => c.advance_output(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn spilled_output_leaves_in_order_and_is_freed_as_written() {
        let (mut c, mut peer) = pair();
        peer.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut want = Vec::new();
        // A reply first, then push frames of varying sizes, with partial flushes between.
        c.out.extend_from_slice(b"+OK\r\n");
        want.extend_from_slice(b"+OK\r\n");
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut most_chunks = 0;
        for i in 0..4000usize {
            let frame: Vec<u8> =
                std::iter::repeat_n((i % 251) as u8, 100 + (i * 37) % 3000).collect();
            c.push_buffer(frame.len()).extend_from_slice(&frame);
            want.extend_from_slice(&frame);
            if i % 97 == 0 {
                flush(&mut c);
                // Read a little, so the socket takes part of the backlog next time.
                let n = peer.read(&mut buf[..8 * 1024]).unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            most_chunks = most_chunks.max(c.spill.len());
            // What busbar holds is what is unsent plus at most two chunks' slack.
            assert!(c.output_capacity() <= c.pending_output() + 3 * OUT_CHUNK_BYTES);
        }
        while got.len() < want.len() {
            flush(&mut c);
            let n = peer.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert!(
            most_chunks > 4,
            "the backlog spilled ({most_chunks} chunks at most)"
        );
        assert_eq!(got.len(), want.len());
        assert!(got == want, "bytes left in another order than queued");
        assert_eq!(c.pending_output(), 0);
        assert!(c.spill.is_empty());
    }
}
