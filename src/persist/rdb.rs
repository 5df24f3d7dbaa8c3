//! Values in Redis's RDB encoding (RDB version 10, as Redis 7.0 writes it): the body of
//! a DUMP payload and of every key in an RDB file.
//!
//! Writing follows `rdbSaveObject`: strings as integers when they read as one (up to 32
//! bits), LZF-compressed over 20 bytes (`rdbcompression`), raw otherwise; lists as
//! quicklist nodes of listpacks filled as Redis fills them when appending (8 KiB, the
//! default `list-max-listpack-size -2`); sets as an intset or a member list; hashes and
//! sorted sets as a listpack or a pair list, in the encoding the value has; streams as
//! their nodes' listpacks (deleted entries included, as Redis's nodes keep them), the
//! counters, and each group with its PEL and consumers.
//!
//! Reading takes every type Redis 7.0 writes (and the older plain list, sorted set and
//! stream forms), checks every length, listpack and ID, and builds the value in the
//! encoding busbar's limits give its contents, as Redis converts after loading. Anything
//! malformed is `None` (RESTORE's "Bad data format"), never a panic.

use super::crc64::crc64;
use super::listpack::{self, Item};
use super::lzf;
use crate::store::stream::{NodeLimits, Stream, StreamId};
use crate::store::stream_group::Group;
use crate::store::{hash, list, set, zset, Str, Value};

/// The RDB version this writes (Redis 7.0's) and the newest it reads.
pub const RDB_VERSION: u16 = 10;

/// RDB value types.
#[allow(missing_docs)] // named as rdb.h names them
pub mod kind {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const SET_INTSET: u8 = 11;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
}

/// Stream entry flags inside a node's listpack.
const ENTRY_DELETED: i64 = 1;
const ENTRY_SAME_FIELDS: i64 = 2;

/// `list-max-listpack-size -2`: a quicklist node's listpack stays within 8 KiB.
const LIST_NODE_BYTES: usize = 8192;

/// Appends RDB-encoded items to a buffer.
#[derive(Debug)]
pub struct Writer<'a> {
    /// Where the bytes go.
    pub out: &'a mut Vec<u8>,
    /// `rdbcompression`: LZF for strings over 20 bytes.
    pub compress: bool,
}

impl Writer<'_> {
    /// A length (`rdbSaveLen`).
    pub fn length(&mut self, n: u64) {
        if n < 1 << 6 {
            self.out.push(n as u8);
        } else if n < 1 << 14 {
            self.out.push(((n >> 8) as u8) | 0x40);
            self.out.push(n as u8);
        } else if let Ok(n32) = u32::try_from(n) {
            self.out.push(0x80);
            self.out.extend_from_slice(&n32.to_be_bytes());
        } else {
            self.out.push(0x81);
            self.out.extend_from_slice(&n.to_be_bytes());
        }
    }

    /// An integer in the special encodings, if it fits 32 bits (`rdbEncodeInteger`).
    fn small_int(&mut self, v: i64) -> bool {
        if let Ok(b) = i8::try_from(v) {
            self.out.extend_from_slice(&[0xc0, b as u8]);
        } else if let Ok(h) = i16::try_from(v) {
            self.out.push(0xc1);
            self.out.extend_from_slice(&h.to_le_bytes());
        } else if let Ok(w) = i32::try_from(v) {
            self.out.push(0xc2);
            self.out.extend_from_slice(&w.to_le_bytes());
        } else {
            return false;
        }
        true
    }

    /// A string (`rdbSaveRawString`).
    pub fn string(&mut self, s: &[u8]) {
        if s.len() <= 11 {
            if let Some(n) = crate::num::parse_i64(s) {
                if self.small_int(n) {
                    return;
                }
            }
        }
        if self.compress && s.len() > 20 {
            if let Some(c) = lzf::compress(s, s.len() - 4) {
                self.out.push(0xc3);
                self.length(c.len() as u64);
                self.length(s.len() as u64);
                self.out.extend_from_slice(&c);
                return;
            }
        }
        self.length(s.len() as u64);
        self.out.extend_from_slice(s);
    }

    /// An integer-encoded string value (`rdbSaveLongLongAsStringObject`).
    pub fn int_string(&mut self, v: i64) {
        if !self.small_int(v) {
            let mut b = itoa::Buffer::new();
            let text = b.format(v).as_bytes();
            self.length(text.len() as u64);
            self.out.extend_from_slice(text);
        }
    }

    /// Unix milliseconds, 8 bytes little-endian.
    pub fn millis(&mut self, ms: u64) {
        self.out.extend_from_slice(&ms.to_le_bytes());
    }

    /// A stream ID as the 16 big-endian bytes Redis's radix trees key by.
    fn raw_id(&mut self, id: StreamId) {
        self.out.extend_from_slice(&id.ms.to_be_bytes());
        self.out.extend_from_slice(&id.seq.to_be_bytes());
    }
}

/// `v`'s RDB type (`rdbSaveObjectType`).
pub fn kind_of(v: &Value) -> u8 {
    match v {
        Value::Str(_) => kind::STRING,
        Value::List(_) => kind::LIST_QUICKLIST_2,
        Value::Set(s) if s.encoding() == "intset" => kind::SET_INTSET,
        Value::Set(_) => kind::SET,
        Value::Hash(h) if h.encoding() == "listpack" => kind::HASH_LISTPACK,
        Value::Hash(_) => kind::HASH,
        Value::Zset(z) if z.encoding() == "listpack" => kind::ZSET_LISTPACK,
        Value::Zset(_) => kind::ZSET_2,
        Value::Stream(_) => kind::STREAM_LISTPACKS_2,
    }
}

/// Writes `v`'s type byte and its encoding (`rdbSaveObjectType` + `rdbSaveObject`).
pub fn write_value(w: &mut Writer<'_>, v: &Value) {
    w.out.push(kind_of(v));
    write_body(w, v);
}

/// Writes `v`'s encoding without its type (`rdbSaveObject`): in an RDB file the key
/// sits between the two.
pub fn write_body(w: &mut Writer<'_>, v: &Value) {
    match v {
        Value::Str(Str::Int(n)) => {
            w.int_string(*n);
        }
        Value::Str(Str::Bytes { data, .. }) => {
            w.string(data);
        }
        Value::List(l) => {
            let mut nodes: Vec<Vec<u8>> = Vec::new();
            let mut lp = listpack::Builder::new();
            for e in l.iter() {
                // `_quicklistNodeAllowInsert` with fill -2: the node's bytes, the
                // element's length and 8 bytes of estimated overhead within 8 KiB.
                if !lp.is_empty() && lp.bytes() + e.len() + 8 > LIST_NODE_BYTES {
                    nodes.push(std::mem::take(&mut lp).finish_bytes());
                }
                lp.push(e);
            }
            if !lp.is_empty() {
                nodes.push(lp.finish_bytes());
            }
            w.length(nodes.len() as u64);
            for n in &nodes {
                w.length(2); // QUICKLIST_NODE_CONTAINER_PACKED
                w.string(n);
            }
        }
        Value::Set(s) => {
            if s.encoding() == "intset" {
                let ints: Vec<i64> = s
                    .members()
                    .iter()
                    .filter_map(|m| crate::num::parse_i64(m))
                    .collect();
                let width: usize = if ints.iter().all(|&n| i16::try_from(n).is_ok()) {
                    2
                } else if ints.iter().all(|&n| i32::try_from(n).is_ok()) {
                    4
                } else {
                    8
                };
                let mut blob = Vec::with_capacity(8 + width * ints.len());
                blob.extend_from_slice(&(width as u32).to_le_bytes());
                blob.extend_from_slice(&(ints.len() as u32).to_le_bytes());
                for n in &ints {
                    blob.extend_from_slice(&n.to_le_bytes()[..width]);
                }
                w.string(&blob);
            } else {
                let members = s.members();
                w.length(members.len() as u64);
                for m in &members {
                    w.string(m);
                }
            }
        }
        Value::Hash(h) => {
            if h.encoding() == "listpack" {
                let mut lp = listpack::Builder::new();
                for (f, v) in h.iter() {
                    lp.push(f);
                    lp.push(v);
                }
                w.string(&lp.finish_bytes());
            } else {
                w.length(h.len() as u64);
                for (f, v) in h.iter() {
                    w.string(f);
                    w.string(v);
                }
            }
        }
        Value::Zset(z) => {
            if z.encoding() == "listpack" {
                let mut lp = listpack::Builder::new();
                let mut buf = crate::num::DoubleBuf::default();
                for (score, m) in z.iter() {
                    lp.push(m);
                    lp.push(buf.format(score));
                }
                w.string(&lp.finish_bytes());
            } else {
                w.length(z.len() as u64);
                // Highest first, as Redis walks its skiplist from the tail.
                for (score, m) in z.iter().rev() {
                    w.string(m);
                    w.out.extend_from_slice(&score.to_le_bytes());
                }
            }
        }
        Value::Stream(s) => {
            write_stream(w, s);
        }
    }
}

/// A node's listpack as Redis's `streamAppendItem` builds it.
fn node_listpack(n: crate::store::stream::NodeView<'_>) -> Vec<u8> {
    let mut lp = listpack::Builder::new();
    let master = n.master_id();
    let fields: Vec<&[u8]> = n.master_fields().collect();
    lp.push_int(n.live() as i64);
    lp.push_int(n.deleted() as i64);
    lp.push_int(fields.len() as i64);
    for f in &fields {
        lp.push(f);
    }
    lp.push_int(0);
    for (deleted, e) in n.entries() {
        let same = e.same_fields();
        let mut flags = if same { ENTRY_SAME_FIELDS } else { 0 };
        if deleted {
            flags |= ENTRY_DELETED;
        }
        lp.push_int(flags);
        lp.push_int(e.id.ms.wrapping_sub(master.ms) as i64);
        lp.push_int(e.id.seq.wrapping_sub(master.seq) as i64);
        let pairs = e.pair_items() / 2;
        if same {
            for v in e.pairs().skip(1).step_by(2) {
                lp.push(v);
            }
            lp.push_int(pairs as i64 + 3);
        } else {
            lp.push_int(pairs as i64);
            for item in e.pairs() {
                lp.push(item);
            }
            lp.push_int(2 * pairs as i64 + 4);
        }
    }
    lp.finish_bytes()
}

fn write_stream(w: &mut Writer<'_>, s: &Stream) {
    let nodes: Vec<_> = s.nodes().collect();
    w.length(nodes.len() as u64);
    for n in nodes {
        let mut key = Vec::with_capacity(16);
        key.extend_from_slice(&n.master_id().ms.to_be_bytes());
        key.extend_from_slice(&n.master_id().seq.to_be_bytes());
        w.string(&key);
        w.string(&node_listpack(n));
    }
    let first = s.first_entry_id().unwrap_or(StreamId::MIN);
    w.length(s.len() as u64);
    for id in [s.last_id, first, s.max_deleted] {
        w.length(id.ms);
        w.length(id.seq);
    }
    w.length(s.entries_added);
    w.length(s.groups.len() as u64);
    for (name, g) in &s.groups {
        w.string(name);
        w.length(g.last_id.ms);
        w.length(g.last_id.seq);
        w.length(g.entries_read.unwrap_or(u64::MAX));
        w.length(g.pending_len() as u64);
        for (id, p) in g.pending_range(StreamId::MIN, StreamId::MAX) {
            w.raw_id(id);
            w.millis(p.delivery_time);
            w.length(p.delivery_count);
        }
        w.length(g.consumers_len() as u64);
        for (_, c) in g.consumers() {
            w.string(&c.name);
            w.millis(c.seen_time);
            w.length(c.pending_len() as u64);
            for id in c.pending_from(StreamId::MIN) {
                w.raw_id(id);
            }
        }
    }
}

/// `v` as DUMP's payload: the RDB encoding, the RDB version (2 bytes) and the CRC-64 of
/// all that (8 bytes, little-endian).
pub fn dump_payload(v: &Value, compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(
        &mut Writer {
            out: &mut out,
            compress,
        },
        v,
    );
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The RDB body of a DUMP payload, if its version is one this reads and its checksum
/// holds (`verifyDumpPayload`).
pub fn payload_body(p: &[u8]) -> Option<&[u8]> {
    if p.len() < 10 {
        return None;
    }
    let (body, tail) = p.split_at(p.len() - 10);
    let version = u16::from_le_bytes([tail[0], tail[1]]);
    if version > RDB_VERSION {
        return None;
    }
    let crc = u64::from_le_bytes(tail[2..].try_into().ok()?);
    (crc64(0, &p[..p.len() - 8]) == crc).then_some(body)
}

/// The encodings a loaded value is built in.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `hash-max-listpack-*`.
    pub hash: hash::PackLimits,
    /// `zset-max-listpack-*`.
    pub zset: zset::PackLimits,
    /// `set-max-intset-entries`.
    pub set_max_intset: usize,
    /// `stream-node-max-*`.
    pub stream: NodeLimits,
}

/// Reads RDB items from a byte slice.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `b`.
    pub fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { rest: b }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    /// One byte.
    pub fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    /// A length, or the special encoding it announces (`Err(n)` for `11xxxxxx`).
    fn len_or_special(&mut self) -> Option<Result<u64, u8>> {
        let b = self.byte()?;
        Some(match b >> 6 {
            0 => Ok(u64::from(b & 0x3f)),
            1 => Ok((u64::from(b & 0x3f) << 8) | u64::from(self.byte()?)),
            2 => match b {
                0x80 => Ok(u64::from(u32::from_be_bytes(
                    self.take(4)?.try_into().ok()?,
                ))),
                0x81 => Ok(u64::from_be_bytes(self.take(8)?.try_into().ok()?)),
                _ => return None,
            },
            _ => Err(b & 0x3f),
        })
    }

    /// A length.
    pub fn length(&mut self) -> Option<u64> {
        self.len_or_special()?.ok()
    }

    /// A length used to size a loop or a buffer: at most the bytes left (every counted
    /// item takes at least one byte), so a hostile count cannot make a huge allocation.
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.length()?).ok()?;
        (n <= self.rest.len()).then_some(n)
    }

    /// A string in any of its encodings.
    pub fn string(&mut self) -> Option<Vec<u8>> {
        match self.len_or_special()? {
            Ok(n) => Some(self.take(usize::try_from(n).ok()?)?.to_vec()),
            Err(0) => Some(int_text(i64::from(self.take(1)?[0] as i8))),
            Err(1) => Some(int_text(i64::from(i16::from_le_bytes(
                self.take(2)?.try_into().ok()?,
            )))),
            Err(2) => Some(int_text(i64::from(i32::from_le_bytes(
                self.take(4)?.try_into().ok()?,
            )))),
            Err(3) => {
                let clen = usize::try_from(self.length()?).ok()?;
                let len = usize::try_from(self.length()?).ok()?;
                let c = self.take(clen)?;
                // LZF expands at most ~100x; refuse claims beyond that before allocating.
                if len > clen.saturating_mul(128).saturating_add(64) {
                    return None;
                }
                lzf::decompress(c, len)
            }
            Err(_) => None,
        }
    }

    /// Unix milliseconds, 8 bytes little-endian.
    pub fn millis(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn raw_id(&mut self) -> Option<StreamId> {
        let b = self.take(16)?;
        Some(StreamId {
            ms: u64::from_be_bytes(b[..8].try_into().ok()?),
            seq: u64::from_be_bytes(b[8..].try_into().ok()?),
        })
    }

    /// A double as `rdbSaveDoubleValue` wrote it (length byte and text; 253-255 for
    /// nan, inf and -inf).
    fn text_double(&mut self) -> Option<f64> {
        match self.byte()? {
            253 => None, // NaN scores are refused
            254 => Some(f64::INFINITY),
            255 => Some(f64::NEG_INFINITY),
            n => {
                let t = self.take(usize::from(n))?;
                std::str::from_utf8(t).ok()?.parse().ok()
            }
        }
    }
}

fn int_text(n: i64) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

/// Reads one value of RDB type `t`; `None` if malformed or empty (Redis refuses empty
/// collections too).
pub fn read_value(r: &mut Reader<'_>, t: u8, lim: &Limits) -> Option<Value> {
    Some(match t {
        kind::STRING => Value::Str(Str::from_bytes(&r.string()?)),
        kind::LIST => {
            let n = r.count()?;
            let mut l = list::List::new();
            for _ in 0..n {
                l.push_back(&r.string()?);
            }
            non_empty_list(l)?
        }
        kind::LIST_QUICKLIST_2 => {
            let n = r.count()?;
            let mut l = list::List::new();
            for _ in 0..n {
                match r.length()? {
                    1 => l.push_back(&r.string()?),
                    2 => {
                        let lp = r.string()?;
                        for item in listpack::parse(&lp)? {
                            l.push_back(&item.to_bytes());
                        }
                    }
                    _ => return None,
                }
            }
            non_empty_list(l)?
        }
        kind::SET => {
            let n = r.count()?;
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                members.push(r.string()?);
            }
            build_set(members, lim)?
        }
        kind::SET_INTSET => {
            let blob = r.string()?;
            let width = u32::from_le_bytes(blob.get(..4)?.try_into().ok()?) as usize;
            let n = u32::from_le_bytes(blob.get(4..8)?.try_into().ok()?) as usize;
            if ![2, 4, 8].contains(&width) || blob.len() != 8 + width.checked_mul(n)? {
                return None;
            }
            let mut members = Vec::with_capacity(n);
            let mut prev: Option<i64> = None;
            for chunk in blob[8..].chunks_exact(width) {
                let v = match width {
                    2 => i64::from(i16::from_le_bytes(chunk.try_into().ok()?)),
                    4 => i64::from(i32::from_le_bytes(chunk.try_into().ok()?)),
                    _ => i64::from_le_bytes(chunk.try_into().ok()?),
                };
                // An intset is sorted and distinct.
                if prev.is_some_and(|p| p >= v) {
                    return None;
                }
                prev = Some(v);
                members.push(int_text(v));
            }
            build_set(members, lim)?
        }
        kind::HASH => {
            let n = r.count()?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                pairs.push((r.string()?, r.string()?));
            }
            build_hash(pairs, lim)?
        }
        kind::HASH_LISTPACK => {
            let lp = r.string()?;
            let items = listpack::parse(&lp)?;
            if items.len() % 2 != 0 {
                return None;
            }
            let pairs = items
                .chunks(2)
                .map(|p| (p[0].to_bytes(), p[1].to_bytes()))
                .collect();
            build_hash(pairs, lim)?
        }
        kind::ZSET | kind::ZSET_2 => {
            let n = r.count()?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let m = r.string()?;
                let score = if t == kind::ZSET {
                    r.text_double()?
                } else {
                    f64::from_le_bytes(r.take(8)?.try_into().ok()?)
                };
                pairs.push((score, m));
            }
            build_zset(pairs, lim)?
        }
        kind::ZSET_LISTPACK => {
            let lp = r.string()?;
            let items = listpack::parse(&lp)?;
            if items.len() % 2 != 0 {
                return None;
            }
            let mut pairs = Vec::with_capacity(items.len() / 2);
            for p in items.chunks(2) {
                let score = match p[1] {
                    Item::Int(n) => n as f64,
                    Item::Str(s) => crate::num::parse_float(s)?,
                };
                pairs.push((score, p[0].to_bytes()));
            }
            build_zset(pairs, lim)?
        }
        kind::STREAM_LISTPACKS | kind::STREAM_LISTPACKS_2 => Value::Stream(Box::new(read_stream(
            r,
            t == kind::STREAM_LISTPACKS_2,
            lim,
        )?)),
        _ => return None,
    })
}

fn non_empty_list(l: list::List) -> Option<Value> {
    (!l.is_empty()).then(|| Value::List(Box::new(l)))
}

fn build_set(members: Vec<Vec<u8>>, lim: &Limits) -> Option<Value> {
    if members.is_empty() {
        return None;
    }
    let ints = members.len() <= lim.set_max_intset
        && members
            .iter()
            .all(|m| crate::num::parse_i64(m).is_some() && m.len() <= 20);
    let n = members.len();
    let s = set::Set::from_members(members.iter().map(|m| &m[..]), ints)?;
    // Duplicate members are a malformed payload, as Redis finds them.
    (s.len() == n).then(|| Value::Set(Box::new(s)))
}

fn build_hash(pairs: Vec<(Vec<u8>, Vec<u8>)>, lim: &Limits) -> Option<Value> {
    if pairs.is_empty() {
        return None;
    }
    let mut seen = std::collections::HashSet::with_capacity(pairs.len());
    if !pairs.iter().all(|(f, _)| seen.insert(&f[..])) {
        return None;
    }
    let packed = pairs.len() <= lim.hash.max_entries
        && pairs
            .iter()
            .all(|(f, v)| f.len() <= lim.hash.max_value && v.len() <= lim.hash.max_value);
    Some(Value::Hash(hash::Hash::from_pairs(
        pairs.iter().map(|(f, v)| (&f[..], &v[..])),
        packed,
    )))
}

fn build_zset(mut pairs: Vec<(f64, Vec<u8>)>, lim: &Limits) -> Option<Value> {
    if pairs.is_empty() || pairs.iter().any(|(s, _)| s.is_nan()) {
        return None;
    }
    let mut seen = std::collections::HashSet::with_capacity(pairs.len());
    if !pairs.iter().all(|(_, m)| seen.insert(m.clone())) {
        return None;
    }
    // By score (-0 and 0 are one score to a sorted set), then member.
    pairs.sort_by(|a, b| {
        a.0.partial_cmp(&b.0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.1.cmp(&b.1))
    });
    let packed = pairs.len() <= lim.zset.max_entries
        && pairs.iter().all(|(_, m)| m.len() <= lim.zset.max_value);
    let pairs = pairs
        .into_iter()
        .map(|(s, m)| (s, m.into_boxed_slice()))
        .collect();
    Some(Value::Zset(Box::new(zset::Zset::from_sorted(
        pairs, packed,
    ))))
}

/// One node's listpack: its live entries appended to `s`, in order after `s`'s last.
fn read_node(s: &mut Stream, master: StreamId, lp: &[u8], lim: &Limits) -> Option<()> {
    let items = listpack::parse(lp)?;
    let mut it = items.into_iter();
    fn int(it: &mut std::vec::IntoIter<Item<'_>>) -> Option<i64> {
        match it.next()? {
            Item::Int(n) => Some(n),
            Item::Str(_) => None,
        }
    }
    let live = int(&mut it)?;
    let deleted = int(&mut it)?;
    let nfields = usize::try_from(int(&mut it)?).ok()?;
    let mut fields = Vec::with_capacity(nfields.min(lp.len()));
    for _ in 0..nfields {
        fields.push(it.next()?.to_bytes());
    }
    if int(&mut it)? != 0 {
        return None;
    }
    let (mut seen_live, mut seen_deleted) = (0i64, 0i64);
    while it.len() > 0 {
        let flags = int(&mut it)?;
        let ms = master.ms.wrapping_add(int(&mut it)? as u64);
        let seq = master.seq.wrapping_add(int(&mut it)? as u64);
        let id = StreamId { ms, seq };
        let mut pairs: Vec<Vec<u8>> = Vec::new();
        let elements = if flags & ENTRY_SAME_FIELDS != 0 {
            for f in &fields {
                pairs.push(f.clone());
                pairs.push(it.next()?.to_bytes());
            }
            nfields as i64 + 3
        } else {
            let n = usize::try_from(int(&mut it)?).ok()?;
            if n > lp.len() {
                return None;
            }
            for _ in 0..2 * n {
                pairs.push(it.next()?.to_bytes());
            }
            2 * n as i64 + 4
        };
        if int(&mut it)? != elements {
            return None;
        }
        if s.last_entry_id().is_some_and(|last| id <= last) || id < master {
            return None;
        }
        if flags & ENTRY_DELETED != 0 {
            seen_deleted += 1;
            continue;
        }
        seen_live += 1;
        s.append(id, pairs.iter().map(|p| &p[..]), lim.stream);
    }
    (seen_live == live && seen_deleted == deleted).then_some(())
}

fn read_stream(r: &mut Reader<'_>, v2: bool, lim: &Limits) -> Option<Stream> {
    let mut s = Stream::default();
    let nodes = r.count()?;
    for _ in 0..nodes {
        let key = r.string()?;
        if key.len() != 16 {
            return None;
        }
        let master = StreamId {
            ms: u64::from_be_bytes(key[..8].try_into().ok()?),
            seq: u64::from_be_bytes(key[8..].try_into().ok()?),
        };
        let lp = r.string()?;
        read_node(&mut s, master, &lp, lim)?;
    }
    let length = r.length()?;
    if length != s.len() as u64 {
        return None;
    }
    let last_id = StreamId {
        ms: r.length()?,
        seq: r.length()?,
    };
    if s.last_entry_id().is_some_and(|l| l > last_id) {
        return None;
    }
    if v2 {
        let _first = (r.length()?, r.length()?);
        s.max_deleted = StreamId {
            ms: r.length()?,
            seq: r.length()?,
        };
        s.entries_added = r.length()?;
    } else {
        s.entries_added = length;
    }
    s.last_id = last_id;
    let groups = r.count()?;
    for _ in 0..groups {
        let name = r.string()?;
        let last = StreamId {
            ms: r.length()?,
            seq: r.length()?,
        };
        let entries_read = if v2 {
            let n = r.length()?;
            (n != u64::MAX).then_some(n)
        } else {
            s.tally().entries_read_at(last)
        };
        let mut g = Group::new(last, entries_read);
        let pending = r.count()?;
        let mut pel = std::collections::BTreeMap::new();
        for _ in 0..pending {
            let id = r.raw_id()?;
            let time = r.millis()?;
            let count = r.length()?;
            if pel.insert(id, (time, count, false)).is_some() {
                return None;
            }
        }
        let consumers = r.count()?;
        for _ in 0..consumers {
            let cname = r.string()?;
            let seen = r.millis()?;
            let (cid, fresh) = g.create_consumer(&cname, seen);
            if !fresh {
                return None;
            }
            let owned = r.count()?;
            for _ in 0..owned {
                let id = r.raw_id()?;
                let entry = pel.get_mut(&id)?;
                if entry.2 {
                    return None;
                }
                entry.2 = true;
                g.assign(id, cid, entry.0, entry.1);
            }
        }
        // Every pending entry has an owner.
        if pel.values().any(|e| !e.2) {
            return None;
        }
        if s.groups.insert(name.into_boxed_slice(), g).is_some() {
            return None;
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits {
            hash: hash::PackLimits::default(),
            zset: zset::PackLimits::default(),
            set_max_intset: 512,
            stream: NodeLimits::default(),
        }
    }

    fn round_trip(v: &Value) -> Value {
        let p = dump_payload(v, true);
        let body = payload_body(&p).expect("checksum holds");
        let mut r = Reader::new(body);
        let t = r.byte().expect("type");
        read_value(&mut r, t, &lim()).expect("reads back")
    }

    #[test]
    fn strings_take_redis_encodings() {
        // Redis 7.0: DUMP of "hello" is 00 05 'hello' 0a 00 + crc.
        let p = dump_payload(&Value::Str(Str::from_bytes(b"hello")), true);
        assert_eq!(&p[..9], b"\x00\x05hello\x0a\x00");
        let p = dump_payload(&Value::Str(Str::from_bytes(b"1000")), true);
        assert_eq!(&p[..4], b"\x00\xc1\xe8\x03");
        let long = Value::Str(Str::from_bytes(&[b'a'; 100]));
        let p = dump_payload(&long, true);
        assert_eq!(p[1], 0xc3);
        assert_eq!(round_trip(&long), long);
        let big = Value::Str(Str::Int(1 << 40));
        assert_eq!(round_trip(&big), big);
    }

    #[test]
    fn a_bad_checksum_or_newer_version_is_refused() {
        let mut p = dump_payload(&Value::Str(Str::from_bytes(b"x")), true);
        assert!(payload_body(&p).is_some());
        let n = p.len();
        p[n - 1] ^= 1;
        assert!(payload_body(&p).is_none());
        assert!(payload_body(b"short").is_none());
    }

    #[test]
    fn truncated_payloads_never_panic() {
        let mut l = list::List::new();
        for i in 0..300 {
            l.push_back(format!("item-{i}").as_bytes());
        }
        let v = Value::List(Box::new(l));
        assert_eq!(round_trip(&v), v);
        let mut body = Vec::new();
        write_value(
            &mut Writer {
                out: &mut body,
                compress: true,
            },
            &v,
        );
        for cut in 0..body.len() {
            let mut r = Reader::new(&body[..cut]);
            if let Some(t) = r.byte() {
                assert!(read_value(&mut r, t, &lim()).is_none() || cut == body.len());
            }
        }
    }
}
