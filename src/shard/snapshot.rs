//! RDB snapshots across shards, without fork (SAVE, and the save a shutdown makes).
//!
//! Every shard writes its own keys into a segment file (`persist::file::write_segment`)
//! in its own thread; the shard that hands in the last segment of the round assembles
//! them into `dir/dbfilename` (`persist::file::assemble`). SAVE runs on every shard under
//! whole-shard locks held on all of them at once, so the file is one point in time; at
//! shutdown every shard hands in its part as it stops.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
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

/// The snapshot state every shard shares.
#[derive(Debug)]
pub struct Snapshots {
    /// Unix seconds of the last successful save (LASTSAVE); the start time before one.
    pub last_save: AtomicU64,
    /// `OnShutdown` as a number.
    on_shutdown: AtomicU8,
    /// This round's parts, by shard: a segment, or why the shard could not write one.
    parts: Mutex<Vec<Option<Result<Segment, String>>>>,
}

impl Snapshots {
    /// No snapshot yet, `shards` parts per round.
    pub fn new(shards: usize) -> Snapshots {
        Snapshots {
            last_save: AtomicU64::new(crate::clock::unix_ms() / 1000),
            on_shutdown: AtomicU8::new(OnShutdown::ByConfig as u8),
            parts: Mutex::new((0..shards).map(|_| None).collect()),
        }
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

/// Hands in shard `id`'s part of a snapshot round. The shard completing the round
/// assembles the file and returns its result; the others return `Ok(false)`.
pub fn hand_in(
    shared: &Shared,
    id: usize,
    ks: &Keyspace,
    now_ms: u64,
    compress: bool,
) -> Result<bool, String> {
    let path = target(shared);
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    shared.stats[id].changes.store(ks.dirty(), Relaxed);
    shared.stats[id].changes_at_save.store(ks.dirty(), Relaxed);
    let seg_path = dir.join(format!("temp-{}-shard-{id}.seg", std::process::id()));
    let part = file::write_segment(ks, &seg_path, now_ms, compress).map_err(|e| {
        format!(
            "Failed opening the temp RDB file {} (in server root dir {}) for saving: {e}",
            seg_path.display(),
            dir.display()
        )
    });
    if part.is_err() {
        let _ = std::fs::remove_file(&seg_path);
    }
    let round = {
        let mut parts = shared.snapshots.parts.lock().expect("snapshot parts");
        parts[id] = Some(part);
        if parts.iter().any(Option::is_none) {
            return Ok(false);
        }
        parts
            .iter_mut()
            .map(|p| p.take().expect("checked"))
            .collect::<Vec<_>>()
    };
    let mut segments = Vec::with_capacity(round.len());
    let mut failed = None;
    for part in round {
        match part {
            Ok(s) => segments.push(s),
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
    crate::log::notice("DB saved on disk");
    Ok(true)
}

impl super::Shard {
    /// At shutdown: hands in this shard's part of the snapshot the shutdown makes (if it
    /// makes one: SHUTDOWN SAVE, or save points configured and not NOSAVE).
    pub(super) fn save_on_exit(&mut self) {
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
        if let Err(e) = hand_in(&self.shared, self.id, &self.ks, now, compress) {
            crate::log::warning(&e);
            crate::log::warning("Error trying to save the DB, can't exit.");
        }
    }
}
