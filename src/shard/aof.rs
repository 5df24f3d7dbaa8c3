//! The append-only file, shard side: every shard logs the writes it executes to its own
//! incr file (`persist::aof` has the formats), loads its own files at start, and rewrites
//! its base.
//!
//! - Recording: after each command on an owner shard (`aof_record`), its effect goes to
//!   the turn's buffer: the command as sent when it changed something (the keyspace's
//!   change counter moved), or what the handler logged instead (`Ctx::log_effect`) for
//!   commands whose replay would differ (relative TTLs, random picks, XADD `*`,
//!   consumer-group deliveries, blocking pops). Keys expiry removed are logged as `DEL`
//!   first, so replay never meets a value the original run no longer had.
//! - Group commit (`aof_flush`): the buffer is written once per turn, before the turn's
//!   replies go out (to other shards and to clients); with `appendfsync always` it is
//!   fsynced first, so no reply is released before its write is on disk. With `everysec`
//!   a background thread fsyncs each shard's file once a second (`Fsyncer`); with `no`
//!   the kernel decides.
//! - Files: the shared manifest lists every shard's base (RDB) and incr files; a shard
//!   starting its log, or rewriting it (BGREWRITEAOF, the automatic rewrite), writes a new
//!   base of its keys, opens a new incr file and swaps its lines in the manifest under
//!   the manifest lock, atomically (temporary file, fsync, rename). Each shard's base and
//!   incr hold exactly its keys, so shards switch independently.
//! - Loading (`aof_load`, at the start of the shard's thread, all shards in parallel):
//!   its base, then its incr files in order, replayed as commands with expiry off. A torn
//!   last command is cut off when `aof-load-truncated` is on; damage before the end
//!   stops the server, naming the file and the offset. When the files were written by a
//!   different number of shards, every shard replays them all, keeps its own keys, and
//!   starts a fresh base.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{mpsc, Arc, Mutex};

use crate::cmd::{self, Args, Spec};
use crate::hop::OwnedCmds;
use crate::persist::aof::{self, Commands, FileEntry, FileKind, Manifest, ReadError};
use crate::persist::{file, rdb};
use crate::tx::TxId;

use super::Shard;

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// Before the turn's replies go out.
    Always,
    /// Once a second, from the background thread.
    EverySec,
    /// Never by busbar.
    No,
}

impl Fsync {
    /// The policy `appendfsync` names.
    pub fn parse(s: &str) -> Fsync {
        match s {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// What the shards share about the AOF: the manifest and the fsync thread.
pub struct AofShared {
    /// The manifest as on disk; `None` until a log starts or one is found at start.
    pub manifest: Mutex<Option<Manifest>>,
    /// The manifest found at start: what every shard loads.
    found: Option<Manifest>,
    /// Files for the background thread to fsync (`everysec`).
    fsyncer: Mutex<Option<mpsc::Sender<Arc<File>>>>,
    /// Shards still loading their files (INFO `loading`).
    pub loading: std::sync::atomic::AtomicUsize,
    /// Shards that have a log open (INFO `aof_enabled` once it equals the shard count).
    pub open: std::sync::atomic::AtomicUsize,
    /// Rewrites asked for (BGREWRITEAOF) and not yet done, per shard.
    pub rewrite_asked: Vec<std::sync::atomic::AtomicBool>,
    /// Seconds the last rewrite took (-1 before one).
    pub last_rewrite_secs: std::sync::atomic::AtomicI64,
    /// Rewrites done (shard 0's, which every BGREWRITEAOF includes).
    pub rewrites: std::sync::atomic::AtomicU64,
    /// Shards rewriting now (INFO `aof_rewrite_in_progress`).
    pub rewriting: std::sync::atomic::AtomicUsize,
    /// The last rewrite failed (INFO `aof_last_bgrewrite_status`).
    pub rewrite_failed: std::sync::atomic::AtomicBool,
    /// The last write or fsync failed.
    pub write_failed: std::sync::atomic::AtomicBool,
    /// Bytes of every shard's incr files (INFO `aof_current_size`).
    pub sizes: Vec<std::sync::atomic::AtomicU64>,
    /// Bytes of every shard's base when its log started (INFO `aof_base_size`).
    pub base_sizes: Vec<std::sync::atomic::AtomicU64>,
    /// This run's start (Unix ms), in every transaction tag.
    pub boot_ms: u64,
    /// The tags of the transactions committed in the logs being loaded.
    committed: Mutex<std::collections::HashSet<Vec<u8>>>,
    /// Shards that have put their logs' commits in `committed`.
    commits_scanned: std::sync::atomic::AtomicUsize,
    /// Shards done replaying logs another shard count wrote (none rewrites before all).
    replayed: std::sync::atomic::AtomicUsize,
    /// When loading started (Unix s), for INFO `loading_start_time`.
    pub load_started_s: std::sync::atomic::AtomicU64,
    /// Bytes of every file the shards load (INFO `loading_total_bytes`).
    pub load_total: std::sync::atomic::AtomicU64,
    /// Bytes loaded so far (INFO `loading_loaded_bytes`).
    pub load_done: std::sync::atomic::AtomicU64,
}

impl AofShared {
    /// The shared state of `shards` shards, with the manifest found at start (if any).
    pub fn new(shards: usize, manifest: Option<Manifest>) -> AofShared {
        AofShared {
            found: manifest.clone(),
            manifest: Mutex::new(manifest),
            fsyncer: Mutex::new(None),
            loading: Default::default(),
            open: Default::default(),
            rewrite_asked: (0..shards).map(|_| Default::default()).collect(),
            last_rewrite_secs: std::sync::atomic::AtomicI64::new(-1),
            rewriting: Default::default(),
            rewrites: Default::default(),
            rewrite_failed: Default::default(),
            write_failed: Default::default(),
            sizes: (0..shards).map(|_| Default::default()).collect(),
            base_sizes: (0..shards).map(|_| Default::default()).collect(),
            boot_ms: crate::clock::unix_ms(),
            committed: Default::default(),
            commits_scanned: Default::default(),
            replayed: Default::default(),
            load_started_s: std::sync::atomic::AtomicU64::new(crate::clock::unix_ms() / 1000),
            load_total: Default::default(),
            load_done: Default::default(),
        }
    }

    /// Hands `file` to the fsync thread, starting it on first use.
    fn fsync_later(&self, file: Arc<File>) {
        let mut tx = self.fsyncer.lock().expect("fsyncer lock");
        let sender = tx.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel::<Arc<File>>();
            std::thread::Builder::new()
                .name("aof-fsync".into())
                .spawn(move || {
                    for f in rx {
                        if let Err(e) = f.sync_data() {
                            crate::log::warning(&format!(
                                "Asynchronous AOF fsync is taking too long or failed: {e}"
                            ));
                        }
                    }
                })
                .expect("spawn the AOF fsync thread");
            tx
        });
        let _ = sender.send(file);
    }
}

/// A rewrite in progress on a shard (`Shard::aof_rewrite_begin`).
pub struct Rewrite {
    /// The seq of its base and of the incr file taking the writes meanwhile.
    seq: u64,
    /// When it started.
    started: std::time::Instant,
}

/// Writes a rewrite's base at `path` from the walk's segments; its size.
fn build_base(sink: file::Sink, path: &Path) -> Result<u64, String> {
    let failed = |e: std::io::Error| format!("Can't write the AOF base {}: {e}", path.display());
    let segments = sink.finish().map_err(failed)?;
    file::assemble(path, &segments, &base_aux()).map_err(failed)?;
    std::fs::metadata(path).map(|m| m.len()).map_err(failed)
}

/// The AUX fields of a base: an RDB file that says it is an AOF base.
fn base_aux() -> [(&'static str, String); 5] {
    let now_s = crate::clock::unix_ms() / 1000;
    [
        ("redis-ver", crate::cmd::server::REDIS_VERSION.to_string()),
        ("redis-bits", "64".to_string()),
        ("ctime", now_s.to_string()),
        ("used-mem", "0".to_string()),
        ("aof-base", "1".to_string()),
    ]
}

/// Where the AOF files go: `dir/appenddirname`, and the `appendfilename` prefix.
pub fn location(shared: &super::Shared) -> (PathBuf, String) {
    let cfg = shared.config.read().expect("config lock poisoned");
    (
        PathBuf::from(cfg.get("dir")).join(cfg.get("appenddirname")),
        cfg.get("appendfilename").to_string(),
    )
}

/// The manifest's path.
fn manifest_path(dir: &Path, prefix: &str) -> PathBuf {
    dir.join(format!("{prefix}.manifest"))
}

/// Reads the manifest at start: `None` when there is none yet.
pub fn read_manifest(dir: &Path, prefix: &str) -> Result<Option<Manifest>, String> {
    let path = manifest_path(dir, prefix);
    match std::fs::read_to_string(&path) {
        Ok(text) => Manifest::parse(&text)
            .map(Some)
            .map_err(|e| format!("{e} in {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "Can't open the AOF manifest {}: {e}",
            path.display()
        )),
    }
}

/// Writes `m` over the manifest atomically (temporary file, fsync, rename, fsync of the
/// directory).
fn write_manifest(dir: &Path, prefix: &str, m: &Manifest) -> std::io::Result<()> {
    let path = manifest_path(dir, prefix);
    let tmp = dir.join(format!("temp-{prefix}.manifest"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(m.render().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    sync_dir(dir)
}

/// Fsyncs a directory, so the names just created or renamed in it survive a crash.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// One shard's open log.
pub struct Log {
    /// The incr file, appended to.
    file: Arc<File>,
    /// This turn's records, written once by `aof_flush`.
    buf: Vec<u8>,
    /// The database the file's last `SELECT` chose (`None` at the start of a file).
    db: Option<usize>,
    /// `appendfsync`.
    pub fsync: Fsync,
    /// Written since the last fsync.
    unsynced: bool,
    /// When the last fsync was asked for (ms).
    last_fsync_ms: u64,
    /// The command running now logged its own effect (`Ctx::log_effect`).
    pub replaced: bool,
    /// Bytes in the incr file.
    size: u64,
    /// Bytes of the base.
    base_size: u64,
    /// This run's start (Unix ms): with a transaction id, its tag.
    boot: u64,
    /// Transactions with tagged records in this log and no commit in it yet: each gets
    /// one when it lets go of this shard's locks, so every log holds the commits its own
    /// records need (a rewrite elsewhere may drop the home shard's copy).
    tagged: std::collections::HashSet<TxId, ahash::RandomState>,
    /// Commits this shard logged as the transactions' home in the last seconds, logged
    /// again at the start of a rewrite's new incr file (a participant may not have
    /// logged its own copy yet): (ms, transaction).
    recent: std::collections::VecDeque<(u64, TxId)>,
}

/// How long a home shard's commits are carried into a rewrite's new incr file.
const RECENT_COMMITS_MS: u64 = 5000;

/// The record before a transaction's part of a command: `BUSBAR.TX <tag>`.
const TX_TAG: &[u8] = b"BUSBAR.TX";
/// A transaction's end: `BUSBAR.COMMIT <tag>`. A tagged record applies at replay only if
/// some shard's log holds its transaction's commit: one cut short by a crash is applied
/// on no shard.
const TX_COMMIT: &[u8] = b"BUSBAR.COMMIT";

impl Log {
    /// Adds a `SELECT` when `db` is not the file's current database.
    fn select(&mut self, db: usize) {
        if self.db != Some(db) {
            let n = itoa::Buffer::new().format(db).as_bytes().to_vec();
            aof::push_command(&mut self.buf, 2, [&b"SELECT"[..], &n].into_iter());
            self.db = Some(db);
        }
    }

    /// Records one command in `db`, as part of transaction `tx` (0: of none).
    pub fn push<'a>(
        &mut self,
        db: usize,
        tx: TxId,
        n: usize,
        args: impl Iterator<Item = &'a [u8]>,
    ) {
        self.select(db);
        if tx != 0 {
            self.tagged.insert(tx);
            let tag = self.tag(tx);
            aof::push_command(&mut self.buf, 2, [TX_TAG, &tag].into_iter());
        }
        aof::push_command(&mut self.buf, n, args);
    }

    /// Records that transaction `tx` ran all it will: its tagged records apply.
    fn push_commit(&mut self, tx: TxId) {
        let tag = self.tag(tx);
        aof::push_command(&mut self.buf, 2, [TX_COMMIT, &tag].into_iter());
    }

    /// A transaction's tag: unique across restarts (the ids start again at each).
    fn tag(&self, tx: TxId) -> Vec<u8> {
        format!("{}-{tx}", self.boot).into_bytes()
    }

    /// Records the deletion of the keys expiry removed from `ks` since last asked
    /// (whatever transaction noticed it): before the record of what noticed it.
    fn push_expired(&mut self, ks: &mut crate::store::Keyspace) {
        for (db, key) in ks.take_expired().into_iter().flatten() {
            self.push(db, 0, 2, [&b"DEL"[..], &key].into_iter());
        }
    }
}

impl Shard {
    /// True when this shard logs its writes.
    #[inline]
    pub(crate) fn aof_on(&self) -> bool {
        self.aof.is_some()
    }

    /// After a command ran here (handler or replay): records its effect, given the
    /// keyspace's change counter before it ran.
    #[inline]
    pub(crate) fn aof_record(&mut self, spec: &Spec, db: usize, args: &Args, dirty_before: u64) {
        let Some(log) = self.aof.as_deref_mut() else {
            return;
        };
        log.push_expired(&mut self.ks);
        if log.replaced {
            log.replaced = false;
        } else if spec.flags & cmd::flag::WRITE != 0 && self.ks.dirty() != dirty_before {
            log.push(db, self.running_tx, args.len(), args.iter());
        }
    }

    /// Records `args` as an effect: of the running command, whose own record it then
    /// replaces (`replace`), or of the shard's own work (serving a blocked client).
    pub(crate) fn aof_effect(&mut self, db: usize, args: &[&[u8]], replace: bool) {
        let Some(log) = self.aof.as_deref_mut() else {
            return;
        };
        log.push_expired(&mut self.ks);
        log.replaced |= replace;
        if !args.is_empty() {
            log.push(db, self.running_tx, args.len(), args.iter().copied());
        }
    }

    /// Records that transaction `tx` is over (its connection let its locks go, or its
    /// move landed): its tagged records, on every shard, apply at replay.
    pub(crate) fn aof_commit(&mut self, tx: TxId) {
        let now = self.now_ms;
        if let Some(log) = self.aof.as_deref_mut() {
            log.push_commit(tx);
            log.tagged.remove(&tx);
            while log
                .recent
                .front()
                .is_some_and(|&(at, _)| at + RECENT_COMMITS_MS < now)
            {
                log.recent.pop_front();
            }
            log.recent.push_back((now, tx));
        }
    }

    /// Transaction `tx` let go of this shard's locks: this log's records of it get their
    /// own commit.
    pub(crate) fn aof_released(&mut self, tx: TxId) {
        if let Some(log) = self.aof.as_deref_mut() {
            if log.tagged.remove(&tx) {
                log.push_commit(tx);
            }
        }
    }

    /// Records owned effects: of the running command, replacing its own record
    /// (`replace`, `Ctx::log_records`), or of the shard's own work (serving a waiter).
    pub(crate) fn aof_records(&mut self, db: usize, records: &[Vec<Vec<u8>>], replace: bool) {
        let Some(log) = self.aof.as_deref_mut() else {
            return;
        };
        log.push_expired(&mut self.ks);
        log.replaced |= replace;
        for r in records {
            log.push(db, self.running_tx, r.len(), r.iter().map(|a| &a[..]));
        }
    }

    /// After an op of a step ran here (with `Keyspace::track_touched` on): unless it
    /// logged its own effects, each key it changed is logged as what it holds now, a
    /// `RESTORE` of its value (or a `DEL`), since no command line describes an op.
    pub(crate) fn aof_op_done(&mut self) {
        let touched = self.ks.take_touched();
        let Some(log) = self.aof.as_deref_mut() else {
            return;
        };
        if std::mem::take(&mut log.replaced) {
            return;
        }
        log.push_expired(&mut self.ks);
        let compress = self.settings.rdb_compression;
        for (db, key) in touched {
            match self.ks.get(db, &key) {
                Some(e) => {
                    let payload = rdb::dump_payload(&e.value, compress);
                    let at = itoa::Buffer::new()
                        .format(e.expire_at_ms)
                        .as_bytes()
                        .to_vec();
                    let args: [&[u8]; 6] = [b"RESTORE", &key, &at, &payload, b"REPLACE", b"ABSTTL"];
                    log.push(db, self.running_tx, 6, args.into_iter());
                }
                None => log.push(db, self.running_tx, 2, [&b"DEL"[..], &key].into_iter()),
            }
        }
    }

    /// Writes the turn's records, and with `always` fsyncs them: called before the
    /// turn's replies are released.
    pub(super) fn aof_flush(&mut self) {
        let Some(log) = self.aof.as_deref_mut() else {
            return;
        };
        log.push_expired(&mut self.ks);
        if log.buf.is_empty() {
            return;
        }
        let mut f: &File = &log.file;
        if let Err(e) = f.write_all(&log.buf) {
            self.shared.aof.write_failed.store(true, Relaxed);
            crate::log::warning(&format!(
                "Error writing to the AOF file: {e}. Exiting to keep acknowledged writes safe."
            ));
            std::process::exit(1);
        }
        log.size += log.buf.len() as u64;
        self.shared.aof.sizes[self.id].store(log.size, Relaxed);
        if log.buf.capacity() > 1 << 20 {
            log.buf = Vec::with_capacity(1 << 16);
        } else {
            log.buf.clear();
        }
        match log.fsync {
            Fsync::Always => {
                if let Err(e) = log.file.sync_data() {
                    crate::log::warning(&format!(
                        "Can't recover from AOF fsync error when the AOF fsync policy is 'always' ({e}). Exiting..."
                    ));
                    std::process::exit(1);
                }
            }
            Fsync::EverySec | Fsync::No => log.unsynced = true,
        }
    }

    /// From the cron: the `everysec` fsync, settings changes (`appendonly`,
    /// `appendfsync`), asked-for and automatic rewrites.
    pub(super) fn aof_cron(&mut self) {
        let want = self.settings.appendonly;
        if want && self.aof.is_none() && self.shared.aof.loading.load(Relaxed) == 0 {
            if let Err(e) = self.aof_start() {
                crate::log::warning(&e);
            }
            return;
        }
        if !want && self.aof.is_some() {
            self.aof_stop();
            return;
        }
        let Some(log) = self.aof.as_deref_mut() else {
            // BGREWRITEAOF with the log off: a base and manifest to start from, as Redis.
            if self.shared.aof.rewrite_asked[self.id].swap(false, Relaxed) {
                self.shared.aof.rewriting.fetch_add(1, Relaxed);
                let r = self.aof_start();
                self.shared.aof.rewriting.fetch_sub(1, Relaxed);
                self.shared.aof.rewrite_failed.store(r.is_err(), Relaxed);
                match r {
                    Ok(()) => self.aof_stop(),
                    Err(e) => crate::log::warning(&e),
                }
            }
            return;
        };
        log.fsync = self.settings.appendfsync;
        if log.unsynced && log.fsync == Fsync::EverySec && self.now_ms >= log.last_fsync_ms + 1000 {
            log.unsynced = false;
            log.last_fsync_ms = self.now_ms;
            self.shared.aof.fsync_later(log.file.clone());
        }
        // One walk at a time: a rewrite asked for during a BGSAVE waits for it.
        if self.ks.walking() || self.aof_rewrite.is_some() || self.walk_queued {
            return;
        }
        let (pct, min) = self.settings.aof_auto_rewrite;
        let grown = pct > 0
            && log.size >= min
            && log.size.saturating_mul(100) >= log.base_size.max(1).saturating_mul(pct);
        if self.shared.aof.rewrite_asked[self.id].swap(false, Relaxed) || grown {
            self.walk_when_quiet(true);
        }
    }

    /// Starts a rewrite's (`rewrite`) or a save point's walk at a point where no
    /// transaction is half done on this shard, so every tagged record before it is
    /// committed: at once when no transaction holds its keys, else once a whole-shard
    /// lock queued now is granted — the transactions ahead finish, the ones after wait
    /// the moment the walk takes to start.
    pub(super) fn walk_when_quiet(&mut self, rewrite: bool) {
        if !self.locks.busy() {
            self.start_walk_now(rewrite);
            return;
        }
        let tx = self.next_tx_id();
        let waiter = crate::tx::Waiter::Run {
            msg: Box::new(super::msg::Msg::StartWalk { rewrite }),
            release: true,
        };
        match self
            .locks
            .lock_or_queue(tx, crate::tx::LockSet::whole(), waiter)
        {
            Some(_) => {
                self.start_walk_now(rewrite);
                self.release_local(tx);
            }
            None => self.walk_queued = true,
        }
    }

    /// Starts the walk (`walk_when_quiet` found the moment).
    pub(super) fn start_walk_now(&mut self, rewrite: bool) {
        self.walk_queued = false;
        if self.ks.walking() {
            return;
        }
        if rewrite {
            if self.aof.is_some() && self.aof_rewrite.is_none() {
                if let Err(e) = self.aof_rewrite_begin() {
                    self.shared.aof.rewrite_failed.store(true, Relaxed);
                    crate::log::warning(&e);
                }
            }
        } else if self.shared.snapshots.join_round() {
            let _ = self.bgsave_begin();
        }
    }

    /// Starts rewriting this shard's log without stopping it: a new incr file takes the
    /// writes from now on (listed in the manifest after the old ones at once), and a walk
    /// writes the new base (`store::walk`), a budget of keys per turn, as the keys were at
    /// this point. `aof_rewrite_step` switches the manifest once the base is complete; a
    /// crash before that replays the old base, the old incr and the new incr.
    fn aof_rewrite_begin(&mut self) -> Result<(), String> {
        self.aof_flush();
        let (dir, prefix) = location(&self.shared);
        let mut guard = self.shared.aof.manifest.lock().expect("manifest lock");
        let manifest = guard.get_or_insert_with(Manifest::default);
        let seq = manifest.last_seq(self.id) + 1;
        let incr = aof::incr_name(&prefix, self.id, seq);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(dir.join(&incr))
            .map_err(|e| format!("Can't open the append-only file {incr}: {e}"))?;
        let base_tmp = dir.join(format!(
            "temp-rewrite-{}",
            aof::base_name(&prefix, self.id, seq)
        ));
        let sink = file::Sink::create(
            &base_tmp,
            self.ks.databases(),
            self.settings.rdb_compression,
        )
        .map_err(|e| format!("Can't open the AOF base {}: {e}", base_tmp.display()))?;
        let mut next = manifest.clone();
        let mut files: Vec<FileEntry> = next.of_shard(self.id).into_iter().cloned().collect();
        files.push(FileEntry {
            name: incr,
            seq,
            kind: FileKind::Incr,
            shard: self.id,
        });
        next.set_shard(self.id, files);
        write_manifest(&dir, &prefix, &next)
            .map_err(|e| format!("Can't write the AOF manifest: {e}"))?;
        *manifest = next;
        drop(guard);
        let log = self.aof.as_deref_mut().expect("a log to rewrite");
        // What the old file holds is on disk before the manifest stops needing it alone.
        let _ = log.file.sync_data();
        log.file = Arc::new(file);
        log.db = None;
        log.size = 0;
        // The new file stands on its own with the new base: the commits its shard owes
        // others go in again.
        let recent: Vec<TxId> = log.recent.iter().map(|&(_, t)| t).collect();
        for t in recent {
            log.push_commit(t);
        }
        self.shared.aof.sizes[self.id].store(0, Relaxed);
        self.shared.aof.rewriting.fetch_add(1, Relaxed);
        self.aof_rewrite = Some(Rewrite {
            seq,
            started: std::time::Instant::now(),
        });
        self.ks.start_walk(Box::new(sink), self.now_ms);
        Ok(())
    }

    /// A turn's share of the rewrite's walk; at its end the base is assembled and the
    /// manifest switched to the new base and incr, the old files removed.
    pub(super) fn aof_rewrite_step(&mut self, idle: bool) {
        let Some(sink) = self.walk_turn(idle) else {
            return;
        };
        // The base is assembled (a copy of the segments and an fsync) off the shard's
        // thread; `aof_rewrite_poll` switches the manifest once it is on disk.
        let (dir, prefix) = location(&self.shared);
        let base = aof::base_name(
            &prefix,
            self.id,
            self.aof_rewrite.as_ref().expect("a rewrite walks").seq,
        );
        let job = std::thread::Builder::new()
            .name(format!("aof-base-{}", self.id))
            .spawn(move || build_base(*sink, &dir.join(&base)));
        match job {
            Ok(h) => self.aof_rewrite_job = Some(h),
            Err(e) => {
                let rw = self.aof_rewrite.take().expect("a rewrite walks");
                self.aof_rewrite_end(rw, Err(format!("Can't rewrite the AOF: {e}")));
            }
        }
    }

    /// Each turn while a rewrite's base is being written out: once it is, the manifest
    /// switches to it.
    pub(super) fn aof_rewrite_poll(&mut self) {
        if !self
            .aof_rewrite_job
            .as_ref()
            .is_some_and(|h| h.is_finished())
        {
            return;
        }
        let job = self.aof_rewrite_job.take().expect("checked");
        let rw = self.aof_rewrite.take().expect("a rewrite writes its base");
        let result = match job.join() {
            Ok(Ok(size)) => self.aof_rewrite_finish(rw.seq, size),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the AOF base writer failed".to_string()),
        };
        self.aof_rewrite_end(rw, result);
    }

    /// Counts a rewrite that ended.
    fn aof_rewrite_end(&mut self, rw: Rewrite, result: Result<(), String>) {
        let aof = &self.shared.aof;
        aof.rewriting.fetch_sub(1, Relaxed);
        aof.last_rewrite_secs
            .store(rw.started.elapsed().as_secs() as i64, Relaxed);
        match result {
            Ok(()) => {
                aof.rewrite_failed.store(false, Relaxed);
                if self.id == 0 {
                    aof.rewrites.fetch_add(1, Relaxed);
                }
            }
            Err(e) => {
                aof.rewrite_failed.store(true, Relaxed);
                crate::log::warning(&e);
            }
        }
    }

    /// Switches the manifest to the rewrite's base (on disk, `base_size` bytes) and incr.
    fn aof_rewrite_finish(&mut self, seq: u64, base_size: u64) -> Result<(), String> {
        let (dir, prefix) = location(&self.shared);
        let mut guard = self.shared.aof.manifest.lock().expect("manifest lock");
        let manifest = guard.get_or_insert_with(Manifest::default);
        let old: Vec<String> = manifest
            .of_shard(self.id)
            .iter()
            .filter(|f| f.seq < seq)
            .map(|f| f.name.clone())
            .collect();
        let mut next = manifest.clone();
        next.set_shard(self.id, aof::shard_files(&prefix, self.id, seq));
        write_manifest(&dir, &prefix, &next)
            .map_err(|e| format!("Can't write the AOF manifest: {e}"))?;
        *manifest = next;
        drop(guard);
        for name in old {
            let _ = std::fs::remove_file(dir.join(name));
        }
        if let Some(log) = self.aof.as_deref_mut() {
            log.base_size = base_size;
        }
        self.shared.aof.base_sizes[self.id].store(base_size, Relaxed);
        crate::log::notice(&format!(
            "Shard {}: background AOF rewrite finished successfully",
            self.id
        ));
        Ok(())
    }

    /// Gives up a rewrite under way (the log stops, or the server does).
    pub(super) fn aof_rewrite_abandon(&mut self) {
        if self.aof_rewrite.take().is_some() {
            // A base being written out is left to its thread; the manifest never names it.
            self.aof_rewrite_job = None;
            if let Some(k) = self.ks.abandon_walk() {
                if let Ok(sink) = k.into_any().downcast::<file::Sink>() {
                    sink.discard();
                }
            }
            self.shared.aof.rewriting.fetch_sub(1, Relaxed);
        }
    }

    /// Stops logging (`appendonly no`): what was written is fsynced and kept.
    fn aof_stop(&mut self) {
        self.aof_rewrite_abandon();
        self.aof_flush();
        if let Some(log) = self.aof.take() {
            let _ = log.file.sync_data();
            self.shared.aof.open.fetch_sub(1, Relaxed);
        }
        self.ks.keep_expired(false);
    }

    /// At exit: the last records written and fsynced.
    pub(super) fn aof_close(&mut self) {
        self.aof_rewrite_abandon();
        self.aof_flush();
        if let Some(log) = &self.aof {
            let _ = log.file.sync_data();
        }
    }

    /// Starts this shard's log afresh (or rewrites it): a base of its keys now, a new
    /// empty incr file, and its lines of the manifest swapped to them. Blocks the shard
    /// while the base is written.
    pub(crate) fn aof_start(&mut self) -> Result<(), String> {
        self.aof_flush();
        let started = std::time::Instant::now();
        let (dir, prefix) = location(&self.shared);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("Can't create the AOF directory {}: {e}", dir.display()))?;
        let mut guard = self.shared.aof.manifest.lock().expect("manifest lock");
        let manifest = guard.get_or_insert_with(Manifest::default);
        let seq = manifest.last_seq(self.id) + 1;
        let base = aof::base_name(&prefix, self.id, seq);
        let incr = aof::incr_name(&prefix, self.id, seq);
        let base_size = self
            .write_base(&dir.join(&base))
            .map_err(|e| format!("Can't write the AOF base {base}: {e}"))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(dir.join(&incr))
            .map_err(|e| format!("Can't open the append-only file {incr}: {e}"))?;
        let old: Vec<String> = manifest
            .of_shard(self.id)
            .iter()
            .map(|f| f.name.clone())
            .collect();
        let mut next = manifest.clone();
        next.set_shard(self.id, aof::shard_files(&prefix, self.id, seq));
        // Files of shards this server does not have (a different shard count before) go.
        let shards = self.shards;
        let stale: Vec<String> = next
            .files
            .iter()
            .filter(|f| f.shard >= shards)
            .map(|f| f.name.clone())
            .collect();
        if self.id == 0 {
            next.files.retain(|f| f.shard < shards);
        }
        write_manifest(&dir, &prefix, &next)
            .map_err(|e| format!("Can't write the AOF manifest: {e}"))?;
        *manifest = next;
        drop(guard);
        for name in old
            .iter()
            .chain(if self.id == 0 { &stale[..] } else { &[] })
        {
            let _ = std::fs::remove_file(dir.join(name));
        }
        let was_open = self.aof.is_some();
        let fsync = self.settings.appendfsync;
        self.aof = Some(Box::new(Log {
            file: Arc::new(file),
            buf: Vec::with_capacity(1 << 16),
            db: None,
            fsync,
            unsynced: false,
            last_fsync_ms: self.now_ms,
            replaced: false,
            size: 0,
            base_size,
            boot: self.shared.aof.boot_ms,
            tagged: Default::default(),
            recent: Default::default(),
        }));
        self.ks.keep_expired(true);
        if !was_open {
            self.shared.aof.open.fetch_add(1, Relaxed);
        }
        self.shared.aof.sizes[self.id].store(0, Relaxed);
        self.shared.aof.base_sizes[self.id].store(base_size, Relaxed);
        self.shared
            .aof
            .last_rewrite_secs
            .store(started.elapsed().as_secs() as i64, Relaxed);
        Ok(())
    }

    /// Writes this shard's keys as an RDB file at `path`; its size.
    fn write_base(&self, path: &Path) -> std::io::Result<u64> {
        let seg_path = path.with_extension("seg");
        let seg = file::write_segment(
            &self.ks,
            &seg_path,
            self.now_ms,
            self.settings.rdb_compression,
        )?;
        let aux = base_aux();
        let r = file::assemble(path, std::slice::from_ref(&seg), &aux);
        let _ = std::fs::remove_file(&seg_path);
        r?;
        Ok(std::fs::metadata(path)?.len())
    }

    /// At the start of the shard's thread, with `appendonly yes`: loads this shard's
    /// files, or every file when another shard count wrote them, then logs on. An error
    /// stops the server.
    pub(super) fn aof_load(&mut self) -> Result<(), String> {
        let Some(manifest) = self.shared.aof.found.clone() else {
            // No log yet: one starts from the keys loaded (dump.rdb, if there was one).
            return self.aof_start();
        };
        let (dir, _) = location(&self.shared);
        let same_shards = manifest.shards() == self.shards;
        let started = std::time::Instant::now();
        self.replaying = true;
        self.ks.set_loading(true);
        let mut result = Ok(());
        let shards: Vec<usize> = if same_shards {
            vec![self.id]
        } else {
            (0..manifest.shards()).collect()
        };
        // Every file first, to learn which transactions committed: a transaction's
        // commit may be in another shard's log than its records.
        let mut loaded = Vec::new();
        for s in shards {
            let files = manifest.of_shard(s);
            for (i, f) in files.iter().enumerate() {
                let last = same_shards && i + 1 == files.len();
                let path = dir.join(&f.name);
                let data = match std::fs::read(&path) {
                    Ok(d) => d,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        return Err(format!("Can't read the AOF file {}: {e}", path.display()))
                    }
                };
                let base = f.kind == FileKind::Base && f.name.ends_with(".rdb");
                self.shared
                    .aof
                    .load_total
                    .fetch_add(data.len() as u64, Relaxed);
                loaded.push((path, base, last, data));
            }
        }
        // Transactions whose records in this shard's files applied on a commit logged
        // only elsewhere: this log gets its own copy once it is open again.
        let mut owed = Owed::default();
        let committed = {
            let mut set = self.shared.aof.committed.lock().expect("commits lock");
            for (_, base, _, data) in &loaded {
                if !base {
                    commits_in(data, &mut set);
                }
            }
            drop(set);
            self.shared.aof.commits_scanned.fetch_add(1, Relaxed);
            while self.shared.aof.commits_scanned.load(Relaxed) < self.shards {
                self.loading_turn();
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            self.shared
                .aof
                .committed
                .lock()
                .expect("commits lock")
                .clone()
        };
        for (path, base, last, data) in loaded {
            let r = if base {
                let r = self.load_base(&path, &data);
                self.shared
                    .aof
                    .load_done
                    .fetch_add(data.len() as u64, Relaxed);
                r
            } else {
                self.replay_file(&path, &data, last, &committed, &mut owed)
            };
            if let Err(e) = r {
                result = Err(e);
                break;
            }
        }
        self.ks.set_loading(false);
        self.replaying = false;
        result?;
        if !same_shards {
            let (id, n) = (self.id, self.shards);
            self.ks
                .retain_keys(|key| super::route::shard_of(key, n) == id);
        }
        crate::log::notice(&format!(
            "Shard {}: DB loaded from append only file: {:.3} seconds",
            self.id,
            started.elapsed().as_secs_f64()
        ));
        if !same_shards {
            // Every shard reads the old files: none is replaced before all have.
            self.shared.aof.replayed.fetch_add(1, Relaxed);
            while self.shared.aof.replayed.load(Relaxed) < self.shards {
                self.loading_turn();
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            return self.aof_start();
        }
        // Logging goes on in the last incr file.
        let files = manifest.of_shard(self.id);
        let Some(last) = files.iter().rev().find(|f| f.kind == FileKind::Incr) else {
            return self.aof_start();
        };
        let path = dir.join(&last.name);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| format!("Can't open the append-only file {}: {e}", path.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let base_size = files
            .iter()
            .find(|f| f.kind == FileKind::Base)
            .and_then(|f| std::fs::metadata(dir.join(&f.name)).ok())
            .map_or(0, |m| m.len());
        self.aof = Some(Box::new(Log {
            file: Arc::new(file),
            buf: Vec::with_capacity(1 << 16),
            db: None,
            fsync: self.settings.appendfsync,
            unsynced: false,
            last_fsync_ms: self.now_ms,
            replaced: false,
            size,
            base_size,
            boot: self.shared.aof.boot_ms,
            tagged: Default::default(),
            recent: Default::default(),
        }));
        self.ks.keep_expired(true);
        if let Some(log) = self.aof.as_deref_mut() {
            // Its own commits for what applied on another log's: a rewrite there may
            // drop that copy.
            for tag in owed.applied.difference(&owed.own) {
                aof::push_command(&mut log.buf, 2, [TX_COMMIT, &tag[..]].into_iter());
            }
        }
        self.shared.aof.open.fetch_add(1, Relaxed);
        self.shared.aof.sizes[self.id].store(size, Relaxed);
        self.shared.aof.base_sizes[self.id].store(base_size, Relaxed);
        Ok(())
    }

    /// Loads a base RDB file into this shard's keyspace, keys with a past expiry
    /// included (the incr file may still use them; they expire once loading ends).
    fn load_base(&mut self, path: &Path, bytes: &[u8]) -> Result<(), String> {
        let limits = rdb::Limits {
            hash: self.settings.hash_limits,
            zset: self.settings.zset_limits,
            set_max_intset: self.settings.set_max_intset,
            stream: self.settings.stream_limits,
        };
        let databases = self.ks.databases();
        let ks = &mut self.ks;
        file::load(bytes, databases, &limits, 0, |db, key, value, expire| {
            let ttl = if expire == 0 {
                crate::store::Ttl::Clear
            } else {
                crate::store::Ttl::At(expire)
            };
            ks.set(db, &key, value, ttl, 0);
        })
        .map(|_| ())
        .map_err(|e| format!("{e} (loading the AOF base {})", path.display()))
    }

    /// Replays an incr file's commands. A torn last command is cut off (the file is
    /// truncated there when it is the one logging goes on in, `truncate`), given
    /// `aof-load-truncated`; anything else unreadable is an error naming file and offset.
    fn replay_file(
        &mut self,
        path: &Path,
        data: &[u8],
        truncate: bool,
        committed: &std::collections::HashSet<Vec<u8>>,
        owed: &mut Owed,
    ) -> Result<(), String> {
        let mut r = Commands::new(data);
        let mut db = 0usize;
        let mut multi: Option<(OwnedCmds, u64)> = None;
        // After a transaction's tag: whether the record it stands before applies.
        let mut applies: Option<bool> = None;
        // Clients are answered (`-LOADING`) every few milliseconds of replay.
        let mut last_turn = std::time::Instant::now();
        let mut since_check = 0u32;
        // Bytes of this file already counted in INFO's loading progress.
        let mut counted = 0u64;
        loop {
            let args = match r.next_command() {
                Ok(Some(a)) => a,
                Ok(None) => break,
                Err(ReadError::Truncated { offset }) => {
                    return self.torn_tail(
                        path,
                        offset,
                        data.len() as u64,
                        truncate,
                        multi.map(|m| m.1),
                    );
                }
                Err(ReadError::Corrupt { offset }) => {
                    return Err(format!(
                        "Bad file format reading the append only file {} at offset {offset}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>",
                        path.display()
                    ));
                }
            };
            let at = r.offset();
            since_check += 1;
            if since_check == 1024 {
                since_check = 0;
                self.shared.aof.load_done.fetch_add(at - counted, Relaxed);
                counted = at;
                if last_turn.elapsed() >= std::time::Duration::from_millis(10) {
                    self.loading_turn();
                    last_turn = std::time::Instant::now();
                }
            }
            let name = args[0].to_ascii_uppercase();
            if name == TX_TAG {
                let tag = args.get(1).copied().unwrap_or_default();
                let yes = committed.contains(tag);
                if yes {
                    owed.applied.insert(tag.to_vec());
                }
                applies = Some(yes);
                continue;
            }
            if name == TX_COMMIT {
                if let Some(t) = args.get(1) {
                    owed.own.insert(t.to_vec());
                }
                continue;
            }
            if applies.take() == Some(false) {
                continue;
            }
            match &name[..] {
                b"SELECT" => {
                    db = std::str::from_utf8(args.get(1).copied().unwrap_or_default())
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .filter(|&d| d < self.ks.databases())
                        .ok_or_else(|| bad_command(path, at, "SELECT"))?;
                    continue;
                }
                b"MULTI" => {
                    multi = Some((OwnedCmds::default(), at));
                    continue;
                }
                b"EXEC" => {
                    if let Some((cmds, _)) = multi.take() {
                        self.run_owned(&cmds, db, false);
                    }
                    continue;
                }
                _ => {}
            }
            let spec = resolve(&args)
                .ok_or_else(|| bad_command(path, at, &String::from_utf8_lossy(args[0])))?;
            match &mut multi {
                Some((cmds, _)) => cmds.push(spec.id, args.iter().copied()),
                None => {
                    let mut cmds = OwnedCmds::default();
                    cmds.push(spec.id, args.iter().copied());
                    self.run_owned(&cmds, db, false);
                }
            }
        }
        self.shared
            .aof
            .load_done
            .fetch_add((data.len() as u64).saturating_sub(counted), Relaxed);
        if let Some((_, at)) = multi {
            // A transaction the crash cut short: none of it is applied.
            return self.torn_tail(path, at, data.len() as u64, truncate, None);
        }
        Ok(())
    }

    /// A log that ends inside a command (or an unfinished MULTI): cut off at `offset`
    /// when `aof-load-truncated` allows.
    fn torn_tail(
        &mut self,
        path: &Path,
        offset: u64,
        len: u64,
        truncate: bool,
        multi_at: Option<u64>,
    ) -> Result<(), String> {
        let offset = multi_at.unwrap_or(offset);
        let allowed = self
            .shared
            .config
            .read()
            .expect("config lock poisoned")
            .bool("aof-load-truncated");
        if !allowed {
            return Err(format!(
                "Unexpected end of file reading the append only file {} at offset {offset}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
                path.display()
            ));
        }
        crate::log::warning(&format!(
            "!!! Warning: short read while loading the AOF file {}!!! (the last {} bytes are an unfinished command)",
            path.display(),
            len - offset
        ));
        if truncate {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| f.set_len(offset).and_then(|_| f.sync_all()));
            if let Err(e) = f {
                return Err(format!(
                    "Error truncating the AOF file {}: {e}",
                    path.display()
                ));
            }
            crate::log::warning(&format!(
                "AOF {} loaded anyway because aof-load-truncated is enabled (truncated at offset {offset})",
                path.display()
            ));
        }
        Ok(())
    }
}

/// A shard's transactions at load: the tags whose records in its files applied, and the
/// tags its files hold a commit of.
#[derive(Default)]
struct Owed {
    applied: std::collections::HashSet<Vec<u8>>,
    own: std::collections::HashSet<Vec<u8>>,
}

/// Adds the tags of the commits in an incr file's bytes to `set`.
fn commits_in(data: &[u8], set: &mut std::collections::HashSet<Vec<u8>>) {
    let needle = [TX_COMMIT, b"\r\n$"].concat();
    for at in memchr::memmem::find_iter(data, &needle) {
        let rest = &data[at + needle.len()..];
        let Some(cr) = memchr::memchr(b'\r', &rest[..rest.len().min(24)]) else {
            continue;
        };
        let Some(n) = std::str::from_utf8(&rest[..cr])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            continue;
        };
        if let Some(tag) = rest.get(cr + 2..cr + 2 + n) {
            set.insert(tag.to_vec());
        }
    }
}

/// The table entry of a logged command (its subcommand's for a container).
fn resolve(args: &[&[u8]]) -> Option<&'static Spec> {
    let top = cmd::lookup(args[0])?;
    if !top.is_container() {
        return Some(top);
    }
    let owned: Vec<Vec<u8>> = args.iter().take(2).map(|a| a.to_vec()).collect();
    let (data, ranges) = cmd::flatten(&owned);
    cmd::resolve(top, &Args::new(&data, &ranges)).ok()
}

/// The error for a command the log names that busbar does not know.
fn bad_command(path: &Path, offset: u64, name: &str) -> String {
    format!(
        "Unknown command '{name}' reading the append only file {} (before offset {offset})",
        path.display()
    )
}
