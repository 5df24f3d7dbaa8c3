//! A stream: entries of field-value pairs under strictly increasing IDs (`ms-seq`).
//!
//! Laid out like Redis's radix tree of listpacks: a deque of *nodes*, each holding up to
//! `stream-node-max-entries` entries (and roughly `stream-node-max-bytes` bytes) in ID
//! order. An entry appends to the last node or starts a new one; XDEL removes an entry
//! from its node (the node keeps counting it, as a listpack keeps a deleted entry, and
//! goes away once empty); trimming drops whole nodes from the head, and only an exact
//! trim (`MAXLEN =`) also removes single entries. So `MAXLEN ~` trims exactly where
//! Redis's does as long as nodes fill by count. Ranges binary-search the nodes, then the
//! entries.

use std::collections::{BTreeMap, VecDeque};

use super::stream_group::{Group, Tally};

/// A stream entry ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// The milliseconds part.
    pub ms: u64,
    /// The sequence number within that millisecond.
    pub seq: u64,
}

impl StreamId {
    /// `0-0`.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The last possible ID.
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// The next ID, or `None` past the last one.
    pub fn next(self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self.ms.checked_add(1).map(|ms| StreamId { ms, seq: 0 }),
        }
    }

    /// The previous ID, or `None` before `0-0`.
    pub fn prev(self) -> Option<StreamId> {
        match self.seq.checked_sub(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self
                .ms
                .checked_sub(1)
                .map(|ms| StreamId { ms, seq: u64::MAX }),
        }
    }

    /// `ms-seq`.
    pub fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(itoa::Buffer::new().format(self.ms).as_bytes());
        out.push(b'-');
        out.extend_from_slice(itoa::Buffer::new().format(self.seq).as_bytes());
    }

    /// `ms-seq` as bytes.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut v = Vec::with_capacity(24);
        self.write(&mut v);
        v
    }

    /// Parses `ms` or `ms-seq` (decimal, no sign); a missing sequence is `missing_seq`.
    pub fn parse(text: &[u8], missing_seq: u64) -> Option<StreamId> {
        let num = |t: &[u8]| -> Option<u64> {
            if t.is_empty() || !t.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(t).ok()?.parse().ok()
        };
        match memchr::memchr(b'-', text) {
            None => Some(StreamId {
                ms: num(text)?,
                seq: missing_seq,
            }),
            Some(i) => Some(StreamId {
                ms: num(&text[..i])?,
                seq: num(&text[i + 1..])?,
            }),
        }
    }
}

/// One entry: its ID and its field-value pairs, packed as `[varint len][bytes]...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The entry's ID.
    pub id: StreamId,
    fields: Box<[u8]>,
}

impl Entry {
    /// An entry of `pairs` (field, value, field, value, ...).
    pub fn new<'a>(id: StreamId, pairs: impl Iterator<Item = &'a [u8]>) -> Entry {
        let mut buf = Vec::new();
        for p in pairs {
            let mut n = p.len() as u64;
            loop {
                let b = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    buf.push(b);
                    break;
                }
                buf.push(b | 0x80);
            }
            buf.extend_from_slice(p);
        }
        Entry {
            id,
            fields: buf.into_boxed_slice(),
        }
    }

    /// The fields and values, alternating.
    pub fn pairs(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut rest = &self.fields[..];
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let (mut n, mut shift, mut i) = (0usize, 0, 0);
            loop {
                let b = rest[i];
                n |= ((b & 0x7f) as usize) << shift;
                i += 1;
                if b & 0x80 == 0 {
                    break;
                }
                shift += 7;
            }
            let (item, tail) = rest[i..].split_at(n);
            rest = tail;
            Some(item)
        })
    }

    /// Number of fields and values together.
    pub fn pair_items(&self) -> usize {
        self.pairs().count()
    }

    /// About what the entry costs in a listpack node (for the node byte limit).
    fn node_bytes(&self) -> usize {
        self.fields.len() + 2 * self.pair_items() + 12
    }
}

/// One node: entries in ID order.
#[derive(Debug, Clone, PartialEq, Default)]
struct Node {
    entries: Vec<Entry>,
    /// Entries ever appended, deleted ones included (a listpack keeps them).
    appended: usize,
    /// Approximate listpack bytes.
    bytes: usize,
}

/// Node size limits (CONFIG `stream-node-max-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    /// Most entries per node (0 = no limit).
    pub max_entries: usize,
    /// Most bytes per node (0 = no limit).
    pub max_bytes: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_entries: 100,
            max_bytes: 4096,
        }
    }
}

/// How to trim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries below this ID.
    MinId(StreamId),
}

/// A stream.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    nodes: VecDeque<Node>,
    len: usize,
    /// The greatest ID ever added (the next auto ID is above it).
    pub last_id: StreamId,
    /// The greatest ID XDEL removed.
    pub max_deleted: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Its consumer groups by name (`store::stream_group`).
    pub groups: BTreeMap<Box<[u8]>, Group>,
}

impl Stream {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty (a stream may exist empty).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The ID of the last entry present, if any.
    pub fn last_entry_id(&self) -> Option<StreamId> {
        self.nodes
            .back()
            .and_then(|n| n.entries.last())
            .map(|e| e.id)
    }

    /// The ID of the first entry present, if any.
    pub fn first_entry_id(&self) -> Option<StreamId> {
        self.nodes
            .front()
            .and_then(|n| n.entries.first())
            .map(|e| e.id)
    }

    /// The counters consumer-group lag is computed from.
    pub fn tally(&self) -> Tally {
        Tally {
            len: self.len,
            entries_added: self.entries_added,
            last_id: self.last_id,
            max_deleted: self.max_deleted,
            first_id: self.first_entry_id().unwrap_or(StreamId::MIN),
        }
    }

    /// Appends an entry whose ID is above `last_id` (the caller checked).
    pub fn append(&mut self, entry: Entry, limits: NodeLimits) {
        debug_assert!(entry.id > self.last_id || self.entries_added == 0);
        let bytes = entry.node_bytes();
        let fits = self.nodes.back().is_some_and(|n| {
            (limits.max_bytes == 0 || n.bytes + bytes < limits.max_bytes)
                && (limits.max_entries == 0 || n.appended < limits.max_entries)
        });
        if !fits {
            self.nodes.push_back(Node::default());
        }
        let node = self.nodes.back_mut().expect("a node");
        node.bytes += bytes;
        node.appended += 1;
        self.last_id = entry.id;
        node.entries.push(entry);
        self.len += 1;
        self.entries_added += 1;
    }

    /// The entries with IDs in `lo..=hi`, ascending (or descending if `rev`), at most
    /// `count` (0 = all).
    pub fn range(&self, lo: StreamId, hi: StreamId, rev: bool, count: usize) -> Vec<&Entry> {
        if lo > hi {
            return Vec::new();
        }
        let limit = if count == 0 { usize::MAX } else { count };
        let mut out = Vec::new();
        // The first node whose last entry reaches `lo`, and the last whose first is not
        // past `hi`.
        let start = self
            .nodes
            .partition_point(|n| n.entries.last().is_some_and(|e| e.id < lo));
        let end = self
            .nodes
            .partition_point(|n| n.entries.first().is_some_and(|e| e.id <= hi));
        if start >= end {
            return out;
        }
        let in_range = |e: &&Entry| e.id >= lo && e.id <= hi;
        if rev {
            for n in self.nodes.range(start..end).rev() {
                for e in n.entries.iter().rev().filter(in_range) {
                    if out.len() == limit {
                        return out;
                    }
                    out.push(e);
                }
            }
        } else {
            for n in self.nodes.range(start..end) {
                let from = n.entries.partition_point(|e| e.id < lo);
                for e in n.entries[from..].iter().take_while(|e| e.id <= hi) {
                    if out.len() == limit {
                        return out;
                    }
                    out.push(e);
                }
            }
        }
        out
    }

    /// How many entries `range(lo, hi, _, count)` would return, without collecting them
    /// (a paced XRANGE writes its array length first).
    pub fn count_range(&self, lo: StreamId, hi: StreamId, count: usize) -> usize {
        if lo > hi {
            return 0;
        }
        let limit = if count == 0 { usize::MAX } else { count };
        let start = self
            .nodes
            .partition_point(|n| n.entries.last().is_some_and(|e| e.id < lo));
        let end = self
            .nodes
            .partition_point(|n| n.entries.first().is_some_and(|e| e.id <= hi));
        let mut n = 0;
        for node in self.nodes.range(start..end.max(start)) {
            let from = node.entries.partition_point(|e| e.id < lo);
            let to = node.entries.partition_point(|e| e.id <= hi);
            n += to.saturating_sub(from);
            if n >= limit {
                return limit;
            }
        }
        n
    }

    /// Deletes the entry `id`; true if it was there.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let ni = self
            .nodes
            .partition_point(|n| n.entries.last().is_some_and(|e| e.id < id));
        let Some(node) = self.nodes.get_mut(ni) else {
            return false;
        };
        let Ok(at) = node.entries.binary_search_by(|e| e.id.cmp(&id)) else {
            return false;
        };
        node.entries.remove(at);
        if node.entries.is_empty() {
            self.nodes.remove(ni);
        }
        self.len -= 1;
        if id > self.max_deleted {
            self.max_deleted = id;
        }
        true
    }

    /// Trims as Redis's `streamTrim`: whole nodes from the head while the rule allows;
    /// then, unless `approx`, single entries of the first node. `limit` (0 = none) caps
    /// the entries removed (whole nodes only). Returns how many were removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: usize) -> usize {
        let mut removed = 0;
        while let Some(first) = self.nodes.front() {
            if let Trim::MaxLen(max) = how {
                if self.len as u64 <= max {
                    break;
                }
            }
            let live = first.entries.len();
            if limit != 0 && removed + live > limit {
                break;
            }
            let whole = match how {
                Trim::MaxLen(max) => (self.len - live) as u64 >= max,
                Trim::MinId(min) => first.entries.last().is_some_and(|e| e.id < min),
            };
            if whole {
                self.nodes.pop_front();
                self.len -= live;
                removed += live;
                continue;
            }
            if approx {
                break;
            }
            let node = self.nodes.front_mut().expect("first");
            let n = match how {
                Trim::MaxLen(max) => self.len - max as usize,
                Trim::MinId(min) => node.entries.partition_point(|e| e.id < min),
            };
            node.entries.drain(..n);
            self.len -= n;
            removed += n;
            break;
        }
        removed
    }

    /// Every entry in order (for dumps).
    pub fn entries(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.nodes.iter().flat_map(|n| n.entries.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    fn entry(i: u64) -> Entry {
        let v = i.to_string();
        Entry::new(id(i, 0), [&b"f"[..], v.as_bytes()].into_iter())
    }

    #[test]
    fn ids_parse_print_and_step() {
        assert_eq!(StreamId::parse(b"5", 0), Some(id(5, 0)));
        assert_eq!(StreamId::parse(b"5", u64::MAX), Some(id(5, u64::MAX)));
        assert_eq!(StreamId::parse(b"5-3", 0), Some(id(5, 3)));
        assert_eq!(StreamId::parse(b"-3", 0), None);
        assert_eq!(StreamId::parse(b"5-", 0), None);
        assert_eq!(StreamId::parse(b"5-x", 0), None);
        assert_eq!(StreamId::parse(b"+5", 0), None);
        assert_eq!(StreamId::parse(b"18446744073709551616", 0), None);
        assert_eq!(id(1, u64::MAX).next(), Some(id(2, 0)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(id(2, 0).prev(), Some(id(1, u64::MAX)));
        assert_eq!(StreamId::MIN.prev(), None);
        assert_eq!(id(12, 7).to_bytes(), b"12-7");
    }

    #[test]
    fn entries_keep_their_pairs() {
        let e = Entry::new(
            id(1, 1),
            [&b"a"[..], b"", &[7u8; 300][..], b"x"].into_iter(),
        );
        let pairs: Vec<&[u8]> = e.pairs().collect();
        assert_eq!(pairs, vec![&b"a"[..], b"", &[7u8; 300][..], b"x"]);
    }

    #[test]
    fn ranges_deletes_and_trims_agree_with_a_model() {
        let limits = NodeLimits {
            max_entries: 10,
            max_bytes: 0,
        };
        let mut s = Stream::default();
        let mut model: Vec<u64> = Vec::new();
        for i in 1..=95 {
            s.append(entry(i), limits);
            model.push(i);
        }
        for d in [3, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 50] {
            assert!(s.delete(id(d, 0)));
            model.retain(|&m| m != d);
        }
        assert!(!s.delete(id(3, 0)));
        assert_eq!(s.len(), model.len());
        let ids = |v: Vec<&Entry>| v.iter().map(|e| e.id.ms).collect::<Vec<_>>();
        for (lo, hi) in [(0, 200), (5, 25), (11, 20), (49, 51), (95, 95), (96, 99)] {
            let want: Vec<u64> = model
                .iter()
                .copied()
                .filter(|&m| m >= lo && m <= hi)
                .collect();
            assert_eq!(ids(s.range(id(lo, 0), id(hi, 0), false, 0)), want);
            let mut rev = want.clone();
            rev.reverse();
            assert_eq!(ids(s.range(id(lo, 0), id(hi, 0), true, 0)), rev);
            assert_eq!(
                ids(s.range(id(lo, 0), id(hi, 0), false, 3)),
                want.iter().copied().take(3).collect::<Vec<_>>()
            );
        }
        // Approximate: only whole nodes (the first holds 1..=9 minus 3: 8 entries).
        let before = s.len();
        assert_eq!(s.trim(Trim::MaxLen(before as u64 - 5), true, 0), 0);
        assert_eq!(s.trim(Trim::MaxLen(before as u64 - 8), true, 0), 8);
        model.drain(..8);
        // Exact: single entries too.
        assert_eq!(s.trim(Trim::MaxLen(60), false, 0), model.len() - 60);
        let n = model.len() - 60;
        model.drain(..n);
        assert_eq!(s.first_entry_id().map(|i| i.ms), model.first().copied());
        assert_eq!(s.trim(Trim::MinId(id(70, 0)), false, 0), {
            let n = model.iter().filter(|&&m| m < 70).count();
            model.retain(|&m| m >= 70);
            n
        });
        assert_eq!(ids(s.range(StreamId::MIN, StreamId::MAX, false, 0)), model);
    }
}
