//! RDB files (`dump.rdb`, version 10 as Redis 7.0 writes them), without fork.
//!
//! Each shard writes its own keys into a *segment* file, database by database
//! (`write_segment`), in its own thread; `assemble` then writes the one file Redis would:
//! the `REDIS0010` header and AUX fields, per database a SELECTDB and a RESIZEDB with the
//! totals, every shard's keys of that database copied from its segment, the EOF opcode
//! and the CRC-64 of it all. It goes to a temporary name, is fsynced and renamed over the
//! target, so a crash leaves the old file or the new one, never half of one.
//!
//! `load` reads a whole file (busbar's or redis-server's): header, AUX, SELECTDB,
//! RESIZEDB, expiry (ms and s), LRU and LFU opcodes, every value type `rdb` reads, the
//! checksum. Keys already expired are left out, as a master does.

use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::crc64::crc64;
use super::rdb::{self, Limits, Reader, Writer, RDB_VERSION};
use crate::store::walk::Keeper as _;
use crate::store::{Keyspace, Value};

/// RDB opcodes.
mod op {
    pub const FUNCTION2: u8 = 0xf5;
    pub const MODULE_AUX: u8 = 0xf7;
    pub const IDLE: u8 = 0xf8;
    pub const FREQ: u8 = 0xf9;
    pub const AUX: u8 = 0xfa;
    pub const RESIZEDB: u8 = 0xfb;
    pub const EXPIRETIME_MS: u8 = 0xfc;
    pub const EXPIRETIME: u8 = 0xfd;
    pub const SELECTDB: u8 = 0xfe;
    pub const EOF: u8 = 0xff;
}

/// One database's keys within a segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbPart {
    /// The database.
    pub db: usize,
    /// Keys written.
    pub keys: u64,
    /// Of those, keys with an expiry.
    pub expires: u64,
    /// Byte range in the segment.
    pub start: u64,
    /// End of the range.
    pub end: u64,
}

/// A shard's keys, written (`write_segment`), waiting to be assembled.
#[derive(Debug, Clone)]
pub struct Segment {
    /// The segment file.
    pub path: PathBuf,
    /// Its databases that have keys.
    pub parts: Vec<DbPart>,
}

/// Writes every live key of `ks` as RDB key-value pairs (expiry, type, key, value) into
/// `path`, database by database.
pub fn write_segment(
    ks: &Keyspace,
    path: &Path,
    now_ms: u64,
    compress: bool,
) -> io::Result<Segment> {
    let mut sink = Sink::create(path, ks.databases(), compress)?;
    for db in 0..ks.databases() {
        for (key, e) in ks.entries(db) {
            if e.expire_at_ms == 0 || e.expire_at_ms > now_ms {
                sink.keep(db, key, e, true);
            }
        }
    }
    let mut segments = sink.finish()?;
    Ok(segments.remove(0))
}

/// One database's keys written so far into a file of a `Sink`.
#[derive(Debug)]
struct Open {
    file: BufWriter<std::fs::File>,
    path: PathBuf,
    /// Bytes written.
    pos: u64,
    /// The parts done, and the one being written.
    parts: Vec<DbPart>,
}

impl Open {
    fn create(path: PathBuf) -> io::Result<Open> {
        Ok(Open {
            file: BufWriter::with_capacity(1 << 16, std::fs::File::create(&path)?),
            path,
            pos: 0,
            parts: Vec::new(),
        })
    }

    /// Appends one encoded key to database `db`'s part (started if it is not the last).
    fn append(&mut self, db: usize, bytes: &[u8], expires: bool) -> io::Result<()> {
        if self.parts.last().is_none_or(|p| p.db != db) {
            self.parts.push(DbPart {
                db,
                keys: 0,
                expires: 0,
                start: self.pos,
                end: self.pos,
            });
        }
        self.file.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        let p = self.parts.last_mut().expect("pushed");
        p.keys += 1;
        p.expires += u64::from(expires);
        p.end = self.pos;
        Ok(())
    }

    fn close(mut self) -> io::Result<Segment> {
        self.file.flush()?;
        Ok(Segment {
            path: self.path,
            parts: self.parts,
        })
    }
}

/// Where a shard's snapshot goes, key by key (a `store::walk::Keeper`): the walk's keys
/// into the main segment, database after database; keys of a database the walk has not
/// reached, written ahead of it before a change, into a spill file of that database
/// (its keys must stay together in the RDB file). Each file becomes a `Segment`.
pub struct Sink {
    main: Open,
    spills: Vec<Option<Open>>,
    compress: bool,
    buf: Vec<u8>,
    /// The first write error; the snapshot fails with it.
    error: Option<io::Error>,
}

impl Sink {
    /// A sink writing to `path` (and spill files beside it) for `databases` databases.
    pub fn create(path: &Path, databases: usize, compress: bool) -> io::Result<Sink> {
        Ok(Sink {
            main: Open::create(path.to_path_buf())?,
            spills: (0..databases).map(|_| None).collect(),
            compress,
            buf: Vec::with_capacity(1 << 12),
            error: None,
        })
    }

    /// The segments written: the main one first, then the spills.
    pub fn finish(self) -> io::Result<Vec<Segment>> {
        let mut segments = vec![self.main.close()?];
        for s in self.spills.into_iter().flatten() {
            segments.push(s.close()?);
        }
        match self.error {
            Some(e) => {
                for s in &segments {
                    let _ = std::fs::remove_file(&s.path);
                }
                Err(e)
            }
            None => Ok(segments),
        }
    }

    /// Removes the files written (a snapshot given up).
    pub fn discard(self) {
        if let Ok(segments) = self.finish() {
            for s in segments {
                let _ = std::fs::remove_file(&s.path);
            }
        }
    }

    fn write(
        &mut self,
        db: usize,
        key: &[u8],
        e: &crate::store::Entry,
        walking: bool,
    ) -> io::Result<()> {
        self.buf.clear();
        let mut w = Writer {
            out: &mut self.buf,
            compress: self.compress,
        };
        if e.expire_at_ms != 0 {
            w.out.push(op::EXPIRETIME_MS);
            w.millis(e.expire_at_ms);
        }
        w.out.push(rdb::kind_of(&e.value));
        w.string(key);
        rdb::write_body(&mut w, &e.value);
        let expires = e.expire_at_ms != 0;
        if walking {
            return self.main.append(db, &self.buf, expires);
        }
        if self.spills[db].is_none() {
            let path = self.main.path.with_extension(format!("db{db}"));
            self.spills[db] = Some(Open::create(path)?);
        }
        self.spills[db]
            .as_mut()
            .expect("opened")
            .append(db, &self.buf, expires)
    }
}

impl crate::store::walk::Keeper for Sink {
    fn keep(&mut self, db: usize, key: &[u8], e: &crate::store::Entry, walking: bool) {
        if self.error.is_none() {
            if let Err(e) = self.write(db, key, e, walking) {
                self.error = Some(e);
            }
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// A writer that keeps the CRC-64 of what went through it.
struct Summed<W: Write> {
    inner: W,
    crc: u64,
}

impl<W: Write> Write for Summed<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(b)?;
        self.crc = crc64(self.crc, &b[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the RDB file at `path` from the shards' `segments`, with `aux` fields, and
/// removes the segments. Atomic: a temporary file renamed over `path` once fsynced.
pub fn assemble(path: &Path, segments: &[Segment], aux: &[(&str, String)]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    // Named after the target: shards writing their AOF bases at once do not collide.
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy());
    let tmp = dir.join(format!("temp-{}-{name}", std::process::id()));
    let result = assemble_into(&tmp, segments, aux).and_then(|file| {
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself reaches the disk with its directory.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    for s in segments {
        let _ = std::fs::remove_file(&s.path);
    }
    result
}

fn assemble_into(
    tmp: &Path,
    segments: &[Segment],
    aux: &[(&str, String)],
) -> io::Result<std::fs::File> {
    let file = std::fs::File::create(tmp)?;
    let mut out = Summed {
        inner: BufWriter::with_capacity(1 << 16, file),
        crc: 0,
    };
    let mut head = Vec::new();
    head.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
    {
        let mut w = Writer {
            out: &mut head,
            compress: false,
        };
        for (k, v) in aux {
            w.out.push(op::AUX);
            w.string(k.as_bytes());
            w.string(v.as_bytes());
        }
    }
    out.write_all(&head)?;
    let mut files: Vec<std::fs::File> = segments
        .iter()
        .map(|s| std::fs::File::open(&s.path))
        .collect::<io::Result<_>>()?;
    let mut dbs: Vec<usize> = segments
        .iter()
        .flat_map(|s| s.parts.iter().map(|p| p.db))
        .collect();
    dbs.sort_unstable();
    dbs.dedup();
    for db in dbs {
        let parts: Vec<(usize, DbPart)> = segments
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.parts.iter().filter(|p| p.db == db).map(move |p| (i, *p)))
            .collect();
        let keys = parts.iter().map(|(_, p)| p.keys).sum();
        let expires = parts.iter().map(|(_, p)| p.expires).sum();
        let mut sel = Vec::new();
        let mut w = Writer {
            out: &mut sel,
            compress: false,
        };
        w.out.push(op::SELECTDB);
        w.length(db as u64);
        w.out.push(op::RESIZEDB);
        w.length(keys);
        w.length(expires);
        out.write_all(&sel)?;
        for (i, p) in parts {
            let f = &mut files[i];
            f.seek(SeekFrom::Start(p.start))?;
            io::copy(&mut f.take(p.end - p.start), &mut out)?;
        }
    }
    out.write_all(&[op::EOF])?;
    let crc = out.crc;
    out.inner.write_all(&crc.to_le_bytes())?;
    out.inner.into_inner().map_err(|e| e.into_error())
}

/// What loading a file found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Keys loaded.
    pub keys: u64,
    /// Keys left out because they had expired.
    pub expired: u64,
}

/// Reads the RDB file `bytes`, handing each live key to `put` (database, key, value,
/// expiry in Unix ms or 0). `Err` names what is wrong, in Redis's words where it has
/// them.
pub fn load(
    bytes: &[u8],
    databases: usize,
    lim: &Limits,
    now_ms: u64,
    mut put: impl FnMut(usize, Vec<u8>, Value, u64),
) -> Result<Loaded, String> {
    if bytes.len() < 9 || &bytes[..5] != b"REDIS" {
        return Err("Wrong signature trying to load DB from file".into());
    }
    let version: u16 = std::str::from_utf8(&bytes[5..9])
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or("Wrong signature trying to load DB from file")?;
    if !(1..=RDB_VERSION).contains(&version) {
        return Err(format!("Can't handle RDB format version {version}"));
    }
    let short = || "Short read or OOM loading DB. Unrecoverable error, aborting now.".to_string();
    let mut r = Reader::new(&bytes[9..]);
    let mut db = 0usize;
    let mut expire = 0u64;
    let mut loaded = Loaded::default();
    loop {
        let t = r.byte().ok_or_else(short)?;
        match t {
            op::EOF => break,
            op::SELECTDB => {
                db = usize::try_from(r.length().ok_or_else(short)?).unwrap_or(usize::MAX);
                if db >= databases {
                    return Err(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {databases} databases. Exiting"
                    ));
                }
            }
            op::RESIZEDB => {
                r.length().ok_or_else(short)?;
                r.length().ok_or_else(short)?;
            }
            op::AUX => {
                r.string().ok_or_else(short)?;
                r.string().ok_or_else(short)?;
            }
            op::EXPIRETIME_MS => expire = r.millis().ok_or_else(short)?,
            op::EXPIRETIME => {
                let mut s = [0u8; 4];
                for b in &mut s {
                    *b = r.byte().ok_or_else(short)?;
                }
                expire = u64::from(u32::from_le_bytes(s)) * 1000;
            }
            op::IDLE => {
                r.length().ok_or_else(short)?;
            }
            op::FREQ => {
                r.byte().ok_or_else(short)?;
            }
            op::MODULE_AUX => {
                return Err("The RDB file contains module data, which busbar cannot load".into())
            }
            op::FUNCTION2 => {
                return Err("The RDB file contains functions, which busbar cannot load yet".into())
            }
            t => {
                let key = r.string().ok_or_else(short)?;
                let value = rdb::read_value(&mut r, t, lim).ok_or_else(|| {
                    format!(
                        "Bad data format loading key '{}' (RDB type {t})",
                        String::from_utf8_lossy(&key)
                    )
                })?;
                if expire != 0 && expire <= now_ms {
                    loaded.expired += 1;
                } else {
                    put(db, key, value, expire);
                    loaded.keys += 1;
                }
                expire = 0;
            }
        }
    }
    if version >= 5 {
        let tail = bytes.len() - r.remaining();
        let stored = bytes
            .get(tail..tail + 8)
            .ok_or_else(short)?
            .try_into()
            .map(u64::from_le_bytes)
            .map_err(|_| short())?;
        let computed = crc64(0, &bytes[..tail]);
        // A file written with `rdbchecksum no` carries 0.
        if stored != 0 && stored != computed {
            return Err(format!(
                "Wrong RDB checksum expected: ({stored:x}) got ({computed:x}). Aborting now."
            ));
        }
    }
    Ok(loaded)
}

/// Reads the file at `path` whole, if it exists.
pub fn read(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::File::open(path) {
        Ok(mut f) => {
            let mut v = Vec::new();
            f.read_to_end(&mut v)?;
            Ok(Some(v))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Str, Ttl};

    #[test]
    fn segments_assemble_into_a_file_that_loads_back() {
        let dir = std::env::temp_dir().join(format!("busbar-rdb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut a = Keyspace::new(16, 1);
        let mut b = Keyspace::new(16, 2);
        a.set(0, b"k1", Value::Str(Str::from_bytes(b"v1")), Ttl::Clear, 0);
        a.set(
            3,
            b"k2",
            Value::Str(Str::from_bytes(b"42")),
            Ttl::At(u64::MAX / 2),
            0,
        );
        b.set(0, b"k3", Value::Str(Str::from_bytes(b"v3")), Ttl::Clear, 0);
        b.set(0, b"gone", Value::Str(Str::from_bytes(b"x")), Ttl::At(5), 0);
        let sa = write_segment(&a, &dir.join("a.seg"), 10, true).unwrap();
        let sb = write_segment(&b, &dir.join("b.seg"), 10, true).unwrap();
        let path = dir.join("dump.rdb");
        assemble(&path, &[sa, sb], &[("redis-ver", "7.0.15".into())]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..9], b"REDIS0010");
        let lim = Limits {
            hash: Default::default(),
            zset: Default::default(),
            set_max_intset: 512,
            stream: Default::default(),
        };
        let mut got = Vec::new();
        let n = load(&bytes, 16, &lim, 10, |db, k, v, e| got.push((db, k, v, e))).unwrap();
        assert_eq!(
            n,
            Loaded {
                keys: 3,
                expired: 0
            }
        );
        got.sort_by(|x, y| x.1.cmp(&y.1));
        assert_eq!(got[0].1, b"k1");
        assert_eq!((got[1].0, got[1].3), (3, u64::MAX / 2));
        let mut bad = bytes.clone();
        let n = bad.len();
        bad[n - 12] ^= 0x40;
        assert!(load(&bad, 16, &lim, 10, |_, _, _, _| {}).is_err());
        for cut in 0..bytes.len() - 8 {
            assert!(load(&bytes[..cut], 16, &lim, 10, |_, _, _, _| {}).is_err());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
