//! The append-only file's formats, without any I/O policy: commands encoded as RESP arrays
//! (what every incr file holds), the reader that replays them back and tells a torn tail
//! from a corrupt middle, and the manifest that names each shard's base and incr files
//! (Redis 7's multi-part AOF manifest, one `shard` field added per line).
//!
//! Layout under `dir/appenddirname`, for `appendfilename` = `appendonly.aof`:
//!
//! - `appendonly.aof.manifest`: one line per file, `file <name> seq <n> type b|i shard <s>`.
//! - `appendonly.aof.s<s>.<n>.base.rdb`: shard `s`'s keys when its log was last started or
//!   rewritten, in the RDB format (Redis's `aof-use-rdb-preamble yes` base).
//! - `appendonly.aof.s<s>.<n>.incr.aof`: every write shard `s` executed since, as RESP
//!   commands, with `SELECT` where the database changes.

use std::fmt::Write as _;

/// Appends the `n` arguments `args` as one RESP array (`*n`, then `$len` bulk strings).
pub fn push_command<'a>(buf: &mut Vec<u8>, n: usize, args: impl Iterator<Item = &'a [u8]>) {
    push_header(buf, b'*', n);
    for a in args {
        push_header(buf, b'$', a.len());
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
}

/// `<kind><n>\r\n`.
fn push_header(buf: &mut Vec<u8>, kind: u8, n: usize) {
    buf.push(kind);
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    buf.extend_from_slice(b"\r\n");
}

/// Why a log could not be read to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The file ends inside a command that starts at `offset`: a write cut short by a
    /// crash (the torn tail `aof-load-truncated` truncates).
    Truncated {
        /// Where the unfinished command starts.
        offset: u64,
    },
    /// Bytes at `offset` are not a RESP command: the file is damaged there.
    Corrupt {
        /// Where the bad command starts.
        offset: u64,
    },
}

/// Reads the commands of one incr file from its bytes, front to back.
pub struct Commands<'a> {
    data: &'a [u8],
    pos: usize,
}

/// The longest a `*` or `$` header line may be.
const HEADER_MAX: usize = 32;

impl<'a> Commands<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Commands<'a> {
        Commands { data, pos: 0 }
    }

    /// Where the next command starts (the end of the last whole one).
    pub fn offset(&self) -> u64 {
        self.pos as u64
    }

    /// The next command's arguments, `None` at a clean end of the file.
    pub fn next_command(&mut self) -> Result<Option<Vec<&'a [u8]>>, ReadError> {
        if self.pos == self.data.len() {
            return Ok(None);
        }
        let start = self.pos;
        let truncated = ReadError::Truncated {
            offset: start as u64,
        };
        let corrupt = ReadError::Corrupt {
            offset: start as u64,
        };
        let mut at = start;
        let n = match header(self.data, &mut at, b'*') {
            Header::Value(n) if n > 0 => n,
            Header::Short => return Err(truncated),
            _ => return Err(corrupt),
        };
        let mut args = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let len = match header(self.data, &mut at, b'$') {
                Header::Value(len) => len,
                Header::Short => return Err(truncated),
                Header::Bad => return Err(corrupt),
            };
            let end = at.checked_add(len).ok_or(corrupt.clone())?;
            if end.checked_add(2).is_none_or(|e| e > self.data.len()) {
                return Err(truncated);
            }
            if &self.data[end..end + 2] != b"\r\n" {
                return Err(corrupt);
            }
            args.push(&self.data[at..end]);
            at = end + 2;
        }
        self.pos = at;
        Ok(Some(args))
    }
}

/// A header line as read.
enum Header {
    Value(usize),
    /// The data ends before the line does.
    Short,
    Bad,
}

/// Reads `<kind><digits>\r\n` at `*at`, moving past it.
fn header(data: &[u8], at: &mut usize, kind: u8) -> Header {
    let rest = &data[*at..];
    if rest.is_empty() {
        return Header::Short;
    }
    if rest[0] != kind {
        return Header::Bad;
    }
    let Some(cr) = memchr::memchr(b'\r', &rest[..rest.len().min(HEADER_MAX)]) else {
        return if rest.len() < HEADER_MAX {
            Header::Short
        } else {
            Header::Bad
        };
    };
    if cr + 1 >= rest.len() {
        return Header::Short;
    }
    if rest[cr + 1] != b'\n' || cr < 2 {
        return Header::Bad;
    }
    let digits = &rest[1..cr];
    if !digits.iter().all(u8::is_ascii_digit) {
        return Header::Bad;
    }
    match std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(n) => {
            *at += cr + 2;
            Header::Value(n)
        }
        None => Header::Bad,
    }
}

/// What a manifest line's file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A base (RDB).
    Base,
    /// An incr log (RESP commands).
    Incr,
}

/// One file the manifest lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// The file name inside the AOF directory.
    pub name: String,
    /// Its sequence number (per shard and kind, growing with each rewrite).
    pub seq: u64,
    /// Base or incr.
    pub kind: FileKind,
    /// The shard whose keys it holds.
    pub shard: usize,
}

/// The manifest: every shard's base and incr files, in replay order per shard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The files, each shard's base before its incr files.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// Reads a manifest's text. A line it cannot read is an error naming the line.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut files = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            if !words.len().is_multiple_of(2) {
                return Err(format!("Invalid AOF manifest file format (line {})", i + 1));
            }
            let (mut name, mut seq, mut kind, mut shard) = (None, None, None, 0);
            for kv in words.chunks(2) {
                match kv[0] {
                    "file" => name = Some(kv[1].to_string()),
                    "seq" => seq = kv[1].parse().ok(),
                    "type" => {
                        kind = match kv[1] {
                            "b" => Some(FileKind::Base),
                            "i" => Some(FileKind::Incr),
                            // A history file is one a rewrite replaced: nothing to load.
                            "h" => None,
                            _ => return Err(format!("Unknown AOF file type (line {})", i + 1)),
                        }
                    }
                    "shard" => {
                        shard = kv[1]
                            .parse()
                            .map_err(|_| format!("Invalid AOF shard (line {})", i + 1))?
                    }
                    _ => {}
                }
            }
            let (Some(name), Some(seq)) = (name, seq) else {
                return Err(format!("Invalid AOF manifest file format (line {})", i + 1));
            };
            if name.contains('/') {
                return Err(format!("Invalid AOF file name (line {})", i + 1));
            }
            if let Some(kind) = kind {
                files.push(FileEntry {
                    name,
                    seq,
                    kind,
                    shard,
                });
            }
        }
        Ok(Manifest { files })
    }

    /// The manifest's text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in &self.files {
            let kind = match f.kind {
                FileKind::Base => 'b',
                FileKind::Incr => 'i',
            };
            let _ = writeln!(
                s,
                "file {} seq {} type {} shard {}",
                f.name, f.seq, kind, f.shard
            );
        }
        s
    }

    /// The number of shards the files were written by (one more than the highest).
    pub fn shards(&self) -> usize {
        self.files.iter().map(|f| f.shard + 1).max().unwrap_or(0)
    }

    /// Shard `shard`'s files in replay order: its base, then its incr files by seq.
    pub fn of_shard(&self, shard: usize) -> Vec<&FileEntry> {
        let mut v: Vec<&FileEntry> = self.files.iter().filter(|f| f.shard == shard).collect();
        v.sort_by_key(|f| (f.kind == FileKind::Incr, f.seq));
        v
    }

    /// Replaces shard `shard`'s files by `files`.
    pub fn set_shard(&mut self, shard: usize, files: Vec<FileEntry>) {
        self.files.retain(|f| f.shard != shard);
        self.files.extend(files);
        self.files
            .sort_by_key(|f| (f.shard, f.kind == FileKind::Incr, f.seq));
    }

    /// The highest seq any of shard `shard`'s files has.
    pub fn last_seq(&self, shard: usize) -> u64 {
        self.files
            .iter()
            .filter(|f| f.shard == shard)
            .map(|f| f.seq)
            .max()
            .unwrap_or(0)
    }
}

/// Shard `shard`'s manifest lines for its base and incr files at `seq`.
pub fn shard_files(prefix: &str, shard: usize, seq: u64) -> Vec<FileEntry> {
    vec![
        FileEntry {
            name: base_name(prefix, shard, seq),
            seq,
            kind: FileKind::Base,
            shard,
        },
        FileEntry {
            name: incr_name(prefix, shard, seq),
            seq,
            kind: FileKind::Incr,
            shard,
        },
    ]
}

/// The base file name of shard `shard` at `seq`.
pub fn base_name(prefix: &str, shard: usize, seq: u64) -> String {
    format!("{prefix}.s{shard}.{seq}.base.rdb")
}

/// The incr file name of shard `shard` at `seq`.
pub fn incr_name(prefix: &str, shard: usize, seq: u64) -> String {
    format!("{prefix}.s{shard}.{seq}.incr.aof")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(cmds: &[&[&[u8]]]) -> Vec<u8> {
        let mut buf = Vec::new();
        for c in cmds {
            push_command(&mut buf, c.len(), c.iter().copied());
        }
        buf
    }

    #[test]
    fn commands_read_back_as_written() {
        let buf = encoded(&[&[b"SET", b"k", b"v\r\n"], &[b"DEL", b""]]);
        assert_eq!(&buf[..12], b"*3\r\n$3\r\nSET\r");
        let mut r = Commands::new(&buf);
        assert_eq!(
            r.next_command().unwrap().unwrap(),
            vec![&b"SET"[..], b"k", b"v\r\n"]
        );
        assert_eq!(r.next_command().unwrap().unwrap(), vec![&b"DEL"[..], b""]);
        assert_eq!(r.next_command().unwrap(), None);
        assert_eq!(r.offset(), buf.len() as u64);
    }

    #[test]
    fn every_cut_is_a_torn_tail_at_the_last_whole_command() {
        let buf = encoded(&[&[b"SET", b"key", b"value"], &[b"LPUSH", b"q", b"a", b"b"]]);
        let first = encoded(&[&[b"SET", b"key", b"value"]]).len();
        for cut in 0..buf.len() {
            let mut r = Commands::new(&buf[..cut]);
            let mut whole = 0;
            let end = loop {
                match r.next_command() {
                    Ok(Some(_)) => whole += 1,
                    Ok(None) => break None,
                    Err(e) => break Some(e),
                }
            };
            let expect_whole = usize::from(cut >= first);
            assert_eq!(whole, expect_whole, "cut at {cut}");
            match end {
                None => assert!(cut == 0 || cut == first, "cut at {cut}"),
                Some(e) => assert_eq!(
                    e,
                    ReadError::Truncated {
                        offset: if cut >= first { first as u64 } else { 0 }
                    },
                    "cut at {cut}"
                ),
            }
        }
    }

    #[test]
    fn damage_in_the_middle_is_corrupt_at_its_command() {
        let mut buf = encoded(&[
            &[b"SET", b"a", b"1"],
            &[b"SET", b"b", b"2"],
            &[b"SET", b"c", b"3"],
        ]);
        let second = encoded(&[&[b"SET", b"a", b"1"]]).len();
        buf[second + 5] = b'x'; // the `$3` of SET
        let mut r = Commands::new(&buf);
        assert!(r.next_command().unwrap().is_some());
        assert_eq!(
            r.next_command(),
            Err(ReadError::Corrupt {
                offset: second as u64
            })
        );
        let mut junk = encoded(&[&[b"PING"]]);
        junk.extend_from_slice(b"hello world\r\n");
        let mut r = Commands::new(&junk);
        r.next_command().unwrap();
        assert!(matches!(r.next_command(), Err(ReadError::Corrupt { .. })));
    }

    #[test]
    fn manifest_round_trips_and_orders_each_shard() {
        let mut m = Manifest::default();
        m.set_shard(
            1,
            vec![
                FileEntry {
                    name: incr_name("appendonly.aof", 1, 2),
                    seq: 2,
                    kind: FileKind::Incr,
                    shard: 1,
                },
                FileEntry {
                    name: base_name("appendonly.aof", 1, 2),
                    seq: 2,
                    kind: FileKind::Base,
                    shard: 1,
                },
            ],
        );
        m.set_shard(
            0,
            vec![FileEntry {
                name: incr_name("appendonly.aof", 0, 1),
                seq: 1,
                kind: FileKind::Incr,
                shard: 0,
            }],
        );
        let text = m.render();
        assert!(text.starts_with("file appendonly.aof.s0.1.incr.aof seq 1 type i shard 0\n"));
        let back = Manifest::parse(&text).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.shards(), 2);
        let s1 = back.of_shard(1);
        assert_eq!(s1[0].kind, FileKind::Base);
        assert_eq!(back.last_seq(1), 2);
        // Redis's own lines (no shard) read as shard 0; history lines are skipped.
        let redis = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile old seq 0 type h\n";
        let m = Manifest::parse(redis).unwrap();
        assert_eq!(m.files.len(), 2);
        assert_eq!(m.shards(), 1);
        assert!(Manifest::parse("file x seq").is_err());
        assert!(Manifest::parse("file ../x seq 1 type i").is_err());
    }
}
