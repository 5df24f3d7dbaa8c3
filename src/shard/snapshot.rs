//! RDB snapshots across shards, without fork: SAVE, BGSAVE, the save points, and the
//! save a shutdown makes.
//!
//! Every shard writes its own keys into segment files in its own thread; the shard that
//! hands in the last part of the round assembles them into `dir/dbfilename`
//! (`persist::file::assemble`). SAVE writes its segment at once (`write_segment`), under
//! whole-shard locks held on every shard, so the file is one point in time. BGSAVE starts
//! on every shard under the same locks but only starts a walk there
//! (`store::walk`): each shard writes a budget of keys per turn and goes on serving, the
//! keys it has not reached kept by copy-on-write; it hands in its part when its walk is
//! done. The save points start the walks from each shard's cron, at a moment no
//! transaction holds that shard's keys (each shard is one point in time; a transaction
//! across shards may fall between them, which BGSAVE's start under locks rules out). At
//! shutdown every shard hands in its part as it stops, in a round of its own.

use std::path::PathBuf;
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering::Relaxed,
};
use std::sync::Mutex;

use crate::persist::file::{self, Segment};
use crate::store::Keyspace;

use super::Shared;

/// What the shutdown does about a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnShutdown {
    /// Save if the configuration has save points (`save` not empty), as Redis does.
    ByConfig = 0,
    /// SHUTDOWN SAVE.
    Save = 1,
    /// SHUTDOWN NOSAVE.
    NoSave = 2,
}

/// A shard's part of a round: its segments, or why it could not write them.
type Part = Result<Vec<Segment>, String>;

/// The snapshot state every shard shares.
#[derive(Debug)]
pub struct Snapshots {
    /// Unix seconds of the last successful save (LASTSAVE); the start time before one.
    pub last_save: AtomicU64,
    /// `OnShutdown` as a number.
    on_shutdown: AtomicU8,
    /// This round's parts, by shard: its segments, or why the shard could not write them.
    parts: Mutex<Vec<Option<Part>>>,
    /// The shutdown's round, kept apart from a BGSAVE that may be half handed in.
    exit_parts: Mutex<Vec<Option<Part>>>,
    /// Shards walking for a BGSAVE now (INFO `rdb_bgsave_in_progress`).
    pub walking: AtomicUsize,
    /// The background save round: (under way, shards that joined it).
    round: Mutex<(bool, usize)>,
    /// A save point asked each shard to start its walk.
    pub start_asked: Vec<AtomicBool>,
    /// The last background save failed (INFO `rdb_last_bgsave_status`).
    pub bgsave_failed: AtomicBool,
    /// Seconds the last background save took (-1 before one).
    pub bgsave_secs: AtomicI64,
    /// When the current background save started (Unix ms, 0 when none).
    pub bgsave_started_ms: AtomicU64,
    /// Snapshots written since start (INFO `rdb_saves`).
    pub saves: AtomicU64,
    /// When a save point last tried (Unix s): a failed try waits 5 s, as in Redis.
    pub last_try: AtomicU64,
    /// Keys the last RDB load took in, and left out as expired (INFO
    /// `rdb_last_load_keys_loaded` / `_expired`).
    pub last_load: (AtomicU64, AtomicU64),
}

impl Snapshots {
    /// No snapshot yet, `shards` parts per round.
    pub fn new(shards: usize) -> Snapshots {
        Snapshots {
            last_save: AtomicU64::new(crate::clock::unix_ms() / 1000),
            on_shutdown: AtomicU8::new(OnShutdown::ByConfig as u8),
            parts: Mutex::new((0..shards).map(|_| None).collect()),
            exit_parts: Mutex::new((0..shards).map(|_| None).collect()),
            walking: AtomicUsize::new(0),
            round: Mutex::new((false, 0)),
            start_asked: (0..shards).map(|_| AtomicBool::new(false)).collect(),
            bgsave_failed: AtomicBool::new(false),
            bgsave_secs: AtomicI64::new(-1),
            bgsave_started_ms: AtomicU64::new(0),
            saves: AtomicU64::new(0),
            last_try: AtomicU64::new(0),
            last_load: (AtomicU64::new(0), AtomicU64::new(0)),
        }
    }

    /// Joins the background save starting now, or starts one: false when one is under
    /// way that every shard joined already (BGSAVE runs on all shards under whole locks,
    /// so the shards of one command join the same round, and a later one finds it full).
    pub fn join_round(&self) -> bool {
        let mut r = self.round.lock().expect("round lock");
        if r.0 && r.1 >= self.start_asked.len() {
            return false;
        }
        if !r.0 {
            self.bgsave_started_ms
                .store(crate::clock::unix_ms(), Relaxed);
            crate::log::notice("Background saving started");
        }
        *r = (true, r.1 + 1);
        true
    }

    /// True while a background save is under way (walking, or being written out).
    pub fn round_busy(&self) -> bool {
        self.round.lock().expect("round lock").0
    }

    /// The round's file is written (or failed): the next BGSAVE may start.
    fn round_done(&self) {
        *self.round.lock().expect("round lock") = (false, 0);
    }

    /// Sets what the coming shutdown does.
    pub fn set_on_shutdown(&self, what: OnShutdown) {
        self.on_shutdown.store(what as u8, Relaxed);
    }

    /// True if the shutdown under way saves, given the `save` directive.
    pub fn shutdown_saves(&self, save_points: &str) -> bool {
        match self.on_shutdown.load(Relaxed) {
            1 => true,
            2 => false,
            _ => !save_points.trim().is_empty(),
        }
    }
}

/// Where the snapshot goes: `dir/dbfilename`.
pub fn target(shared: &Shared) -> PathBuf {
    let cfg = shared.config.read().expect("config lock poisoned");
    PathBuf::from(cfg.get("dir")).join(cfg.get("dbfilename"))
}

/// The path of shard `id`'s segment file beside the snapshot.
fn segment_path(shared: &Shared, id: usize) -> (PathBuf, PathBuf) {
    let path = target(shared);
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    let seg = dir.join(format!("temp-{}-shard-{id}.seg", std::process::id()));
    (seg, dir)
}

/// Why a segment could not be written, as Redis says it.
fn open_failed(seg: &std::path::Path, dir: &std::path::Path, e: std::io::Error) -> String {
    format!(
        "Failed opening the temp RDB file {} (in server root dir {}) for saving: {e}",
        seg.display(),
        dir.display()
    )
}

/// Writes shard `id`'s keys now and hands them in (`hand_in_part`); `exit` for the
/// shutdown's round.
pub fn hand_in(
    shared: &Shared,
    id: usize,
    ks: &Keyspace,
    now_ms: u64,
    compress: bool,
    exit: bool,
) -> Result<bool, String> {
    shared.stats[id].changes.store(ks.dirty(), Relaxed);
    shared.stats[id].changes_at_save.store(ks.dirty(), Relaxed);
    let (seg_path, dir) = segment_path(shared, id);
    let part = file::write_segment(ks, &seg_path, now_ms, compress)
        .map(|s| vec![s])
        .map_err(|e| open_failed(&seg_path, &dir, e));
    if part.is_err() {
        let _ = std::fs::remove_file(&seg_path);
    }
    hand_in_part(shared, id, part, exit)
}

/// Hands in shard `id`'s part of a snapshot round. The shard completing the round
/// assembles the file and returns its result; the others return `Ok(false)`.
pub fn hand_in_part(
    shared: &Shared,
    id: usize,
    part: Result<Vec<Segment>, String>,
    exit: bool,
) -> Result<bool, String> {
    let round = {
        let slots = if exit {
            &shared.snapshots.exit_parts
        } else {
            &shared.snapshots.parts
        };
        let mut parts = slots.lock().expect("snapshot parts");
        parts[id] = Some(part);
        if parts.iter().any(Option::is_none) {
            return Ok(false);
        }
        parts
            .iter_mut()
            .map(|p| p.take().expect("checked"))
            .collect::<Vec<_>>()
    };
    let path = target(shared);
    let mut segments = Vec::with_capacity(round.len());
    let mut failed = None;
    for part in round {
        match part {
            Ok(s) => segments.extend(s),
            Err(e) => failed = Some(e),
        }
    }
    if let Some(e) = failed {
        for s in &segments {
            let _ = std::fs::remove_file(&s.path);
        }
        return Err(e);
    }
    let now_s = crate::clock::unix_ms() / 1000;
    let aux = [
        ("redis-ver", crate::cmd::server::REDIS_VERSION.to_string()),
        ("redis-bits", "64".to_string()),
        ("ctime", now_s.to_string()),
        ("used-mem", crate::cmd::info::rss_bytes().to_string()),
        ("aof-base", "0".to_string()),
    ];
    file::assemble(&path, &segments, &aux)
        .map_err(|e| format!("Write error saving DB on disk: {e}"))?;
    shared.snapshots.last_save.store(now_s, Relaxed);
    shared.snapshots.saves.fetch_add(1, Relaxed);
    crate::log::notice("DB saved on disk");
    Ok(true)
}

impl super::Shard {
    /// Starts this shard's part of a background save: a walk of its keys as they are
    /// now. Refused while this shard's part of one is still under way.
    pub(crate) fn bgsave_start(&mut self) -> Result<(), String> {
        if self.aof_rewrite.is_some() {
            return Err("ERR An AOF log rewriting in progress: can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.".into());
        }
        if !self.shared.snapshots.join_round() {
            return Err("ERR Background save already in progress".into());
        }
        self.bgsave_begin()
    }

    /// Starts the walk (the checks done).
    pub(super) fn bgsave_begin(&mut self) -> Result<(), String> {
        let (seg_path, dir) = segment_path(&self.shared, self.id);
        let sink = match file::Sink::create(
            &seg_path,
            self.ks.databases(),
            self.settings.rdb_compression,
        ) {
            Ok(s) => s,
            Err(e) => {
                let msg = open_failed(&seg_path, &dir, e);
                crate::log::warning(&msg);
                self.shared.snapshots.bgsave_failed.store(true, Relaxed);
                // The round ends (failed) once the other shards hand in.
                if hand_in_part(&self.shared, self.id, Err(msg), false).is_err() {
                    self.shared.snapshots.round_done();
                }
                return Err("ERR".to_string());
            }
        };
        self.shared.snapshots.walking.fetch_add(1, Relaxed);
        let dirty = self.ks.dirty();
        self.shared.stats[self.id]
            .changes_at_save
            .store(dirty, Relaxed);
        self.ks.start_walk(Box::new(sink), self.now_ms);
        Ok(())
    }

    /// How long this turn's share of a walk may take: as long as the turn spent on its
    /// clients (so a walk takes at most half the shard, as a fork's child takes another
    /// core's time), between 0.1 and 1 ms; 20 ms with no client connected.
    pub(super) fn walk_budget(&self, idle: bool) -> std::time::Duration {
        if idle {
            return std::time::Duration::from_millis(20);
        }
        self.turn_started.elapsed().clamp(
            std::time::Duration::from_micros(100),
            std::time::Duration::from_millis(1),
        )
    }

    /// Walks for this turn's share (`walk_budget`), 32 keys at a time; the walk's files
    /// once every key was walked.
    pub(super) fn walk_turn(&mut self, idle: bool) -> Option<Box<file::Sink>> {
        let budget = self.walk_budget(idle);
        let start = std::time::Instant::now();
        let keeper = loop {
            if let Some(k) = self.ks.walk_step(32) {
                break k;
            }
            if start.elapsed() >= budget {
                return None;
            }
        };
        let sink = keeper
            .into_any()
            .downcast::<file::Sink>()
            .expect("the walk's keeper is a Sink");
        Some(sink)
    }

    /// A turn's share of the walk (`walk_turn`); at its end the part is handed in.
    pub(super) fn bgsave_step(&mut self, idle: bool) {
        let Some(sink) = self.walk_turn(idle) else {
            return;
        };
        let shared = std::sync::Arc::clone(&self.shared);
        let id = self.id;
        // The files are closed, and the last part assembled (a copy of every segment
        // and an fsync), off the shard's thread.
        let spawned = std::thread::Builder::new()
            .name(format!("bgsave-{id}"))
            .spawn(move || finish_bgsave_part(&shared, id, *sink));
        if let Err(e) = spawned {
            crate::log::warning(&format!("Can't save in background: {e}"));
        }
    }
}

/// Closes shard `id`'s files of a background save and hands them in; the shard that
/// completes the round writes the file.
fn finish_bgsave_part(shared: &Shared, id: usize, sink: file::Sink) {
    {
        let part = sink
            .finish()
            .map_err(|e| format!("Write error saving DB on disk: {e}"));
        let snaps = &shared.snapshots;
        let result = hand_in_part(shared, id, part, false);
        if snaps.walking.fetch_sub(1, Relaxed) == 1 || result.is_err() {
            let started = snaps.bgsave_started_ms.load(Relaxed);
            let secs = crate::clock::unix_ms().saturating_sub(started) / 1000;
            snaps.bgsave_secs.store(secs as i64, Relaxed);
        }
        match result {
            Ok(true) => {
                snaps.bgsave_failed.store(false, Relaxed);
                crate::log::notice("Background saving terminated with success");
                snaps.round_done();
            }
            Ok(false) => {}
            Err(e) => {
                snaps.bgsave_failed.store(true, Relaxed);
                crate::log::warning(&e);
                crate::log::warning("Background saving error");
                snaps.round_done();
            }
        }
    }
}

impl super::Shard {
    /// From the cron: shard 0 starts the save points' background saves when one is due
    /// (`save <seconds> <changes>`), and every shard starts its walk when asked and no
    /// transaction holds its keys.
    pub(super) fn save_points_cron(&mut self) {
        let snaps = &self.shared.snapshots;
        if self.id == 0 && !snaps.round_busy() && !snaps.start_asked.iter().any(|a| a.load(Relaxed))
        {
            let points = {
                let cfg = self.shared.config.read().expect("config lock poisoned");
                cfg.get("save").to_string()
            };
            let now_s = self.now_ms / 1000;
            let since = now_s.saturating_sub(snaps.last_save.load(Relaxed));
            let changes = self.shared.changes_since_save();
            let nums: Vec<u64> = points
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            let due = nums
                .chunks(2)
                .any(|p| p.len() == 2 && changes >= p[1] && since >= p[0]);
            let failed_recently =
                snaps.bgsave_failed.load(Relaxed) && now_s < snaps.last_try.load(Relaxed) + 5;
            if due && !failed_recently {
                crate::log::notice(&format!("{changes} changes in {since} seconds. Saving..."));
                snaps.last_try.store(now_s, Relaxed);
                for a in &snaps.start_asked {
                    a.store(true, Relaxed);
                }
            }
        }
        if self.ks.walking() || self.walk_queued || self.aof_rewrite.is_some() {
            return;
        }
        if self.shared.snapshots.start_asked[self.id].swap(false, Relaxed) {
            self.walk_when_quiet(false);
        }
    }
}

impl super::Shard {
    /// At shutdown: hands in this shard's part of the snapshot the shutdown makes (if it
    /// makes one: SHUTDOWN SAVE, or save points configured and not NOSAVE).
    pub(super) fn save_on_exit(&mut self) {
        // A background save under way is given up: the shutdown writes its own.
        if self.aof_rewrite.is_none() && self.ks.walking() {
            let k = self.ks.abandon_walk().expect("walking");
            if let Ok(sink) = k.into_any().downcast::<file::Sink>() {
                sink.discard();
            }
            self.shared.snapshots.walking.fetch_sub(1, Relaxed);
        }
        let save_points = {
            let cfg = self.shared.config.read().expect("config lock poisoned");
            cfg.get("save").to_string()
        };
        if !self.shared.snapshots.shutdown_saves(&save_points) {
            return;
        }
        if self.id == 0 {
            crate::log::notice("Saving the final RDB snapshot before exiting.");
        }
        let now = crate::clock::unix_ms();
        let compress = self.settings.rdb_compression;
        if let Err(e) = hand_in(&self.shared, self.id, &self.ks, now, compress, true) {
            crate::log::warning(&e);
            crate::log::warning("Error trying to save the DB, can't exit.");
        }
    }
}
