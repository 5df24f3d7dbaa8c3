//! A stream: entries of field-value pairs under strictly increasing IDs (`ms-seq`).
//!
//! Laid out like Redis's radix tree of listpacks: a deque of *nodes*, each holding up to
//! `stream-node-max-entries` entries (and under `stream-node-max-bytes` bytes of them) in
//! ID order, packed in one byte buffer. A node opens with a master entry: the first ID
//! appended to it and that entry's field names. Each entry then costs a flags byte, its ID
//! as varint deltas from the entry before it, and — when its fields are the master's, as
//! in most streams — its values only (else its fields and values). An entry appends to
//! the last node or starts a new one; XDEL sets the entry's deleted flag in place (the
//! node keeps counting it, as a listpack keeps a deleted entry, and goes away once all
//! its entries are deleted); trimming drops whole nodes from the head, and only an exact
//! trim (`MAXLEN =`) also deletes single entries of the first node, the same way. A node
//! counts the bytes Redis's listpack would take for its entries, and splits where that
//! reaches the byte limit, so nodes end where Redis's do and `MAXLEN ~` trims exactly
//! where Redis's does. Each node keeps its first and last present IDs and its count
//! beside the bytes, so ranges binary-search the nodes, then decode the few they touch
//! front to back.

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

/// Entry flag: removed (XDEL or an exact trim). The entry stays in its node's bytes and
/// in `Node::appended`; every reader skips it.
const DELETED: u8 = 1;
/// Entry flag: the entry's fields are its node's master fields, so only its values are
/// stored.
const SAME_FIELDS: u8 = 2;

/// Cap on a new node's first buffer reservation: a node without limits must not reserve
/// much on a guess (it grows by a quarter at a time past what was reserved).
const NODE_RESERVE_BYTES_MAX: usize = 64 * 1024;

/// Bytes `n` takes as a varint (7 bits a byte, low bits first).
fn varint_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// The largest listpack Redis lets a stream node grow to (`stream-node-max-bytes` 0 or
/// above this means this).
const LISTPACK_BYTES_MAX: usize = 1 << 30;

/// Bytes Redis's listpack takes for the integer `v` (encoding and back-length byte).
fn lp_int_len(v: i64) -> usize {
    1 + match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    }
}

/// Bytes Redis's listpack takes for the element `s`: as an integer when it reads as one
/// (`string2ll`), else header, bytes and back-length.
fn lp_str_len(s: &[u8]) -> usize {
    if let Some(v) = crate::num::parse_i64(s) {
        return lp_int_len(v);
    }
    let header = match s.len() {
        0..=63 => 1,
        64..=4095 => 2,
        _ => 5,
    };
    let l = header + s.len();
    let back = match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    l + back
}

fn put_varint(buf: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        buf.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// Reads the varint at `*at` of a node's own bytes (always well formed: only
/// `Stream::append` writes them), moving `*at` past it.
fn get_varint(buf: &[u8], at: &mut usize) -> u64 {
    let (mut n, mut shift) = (0u64, 0);
    loop {
        let b = buf[*at];
        *at += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return n;
        }
        shift += 7;
    }
}

/// Bytes an item takes packed: its length as a varint, then itself.
fn packed_len(item: &[u8]) -> usize {
    varint_len(item.len() as u64) + item.len()
}

fn put_packed(buf: &mut Vec<u8>, item: &[u8]) {
    put_varint(buf, item.len() as u64);
    buf.extend_from_slice(item);
}

/// Items packed as `[varint len][bytes]...`, read front to back.
#[derive(Debug, Clone, Copy)]
struct Packed<'a>(&'a [u8]);

impl<'a> Iterator for Packed<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.0.is_empty() {
            return None;
        }
        let mut at = 0;
        let n = get_varint(self.0, &mut at) as usize;
        let (item, rest) = self.0[at..].split_at(n);
        self.0 = rest;
        Some(item)
    }
}

/// One entry as it sits in its node: its ID and a view of its field-value pairs. Borrowed
/// from the stream, so it lives as long as the stream is not changed.
#[derive(Debug, Clone, Copy)]
pub struct EntryRef<'a> {
    /// The entry's ID.
    pub id: StreamId,
    /// The node's master fields (packed) when the entry stores its values only.
    fields: &'a [u8],
    /// The entry's values (`SAME_FIELDS`), or its fields and values, packed.
    body: &'a [u8],
    /// Fields and values together.
    items: usize,
    /// `SAME_FIELDS` was set: fields come from `fields`, values from `body`.
    same: bool,
}

impl<'a> EntryRef<'a> {
    /// The fields and values, alternating.
    pub fn pairs(self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let (mut fields, mut body) = (Packed(self.fields), Packed(self.body));
        let same = self.same;
        let mut field_next = true;
        std::iter::from_fn(move || {
            if !same {
                return body.next();
            }
            let item = if field_next {
                fields.next()
            } else {
                body.next()
            };
            field_next = !field_next;
            item
        })
    }

    /// Number of fields and values together.
    pub fn pair_items(self) -> usize {
        self.items
    }

    /// True when the entry's fields are its node's master fields (Redis's `SAMEFIELDS`:
    /// a listpack then keeps its values only).
    pub fn same_fields(self) -> bool {
        self.same
    }
}

/// One node as Redis's listpack lays it out (for RDB and DUMP): the master entry and
/// every entry appended, deleted ones included.
#[derive(Debug, Clone, Copy)]
pub struct NodeView<'a> {
    node: &'a Node,
}

impl<'a> NodeView<'a> {
    /// The master ID (the radix-tree key Redis files the node under).
    pub fn master_id(self) -> StreamId {
        self.node.master_id
    }

    /// Entries present.
    pub fn live(self) -> usize {
        self.node.live
    }

    /// Entries deleted but still held.
    pub fn deleted(self) -> usize {
        self.node.appended - self.node.live
    }

    /// The master entry's field names.
    pub fn master_fields(self) -> impl Iterator<Item = &'a [u8]> + 'a {
        Packed(&self.node.buf[self.node.fields_at..self.node.entries_at])
    }

    /// Every entry appended, in order, with whether it is deleted.
    pub fn entries(self) -> impl Iterator<Item = (bool, EntryRef<'a>)> + 'a {
        let node = self.node;
        let mut c = node.cursor();
        std::iter::from_fn(move || {
            let s = node.step(&mut c)?;
            Some((s.deleted(), node.entry(&s)))
        })
    }
}

/// One node: a master entry (its ID and field names, taken from the first entry
/// appended) and the packed bytes of every entry appended to it, deleted ones included.
///
/// `buf` holds `[varint n][field]*n` (the master fields), then per entry:
/// `flags` (one byte: `DELETED`, `SAME_FIELDS`), the ms delta and the seq delta (varints;
/// from the entry before it, the master ID for the first: with an equal ms the seq delta is
/// the seq difference, else the seq itself), then with `SAME_FIELDS` the values only (one
/// per master field), else `[varint item count]` and the fields and values. Every item is
/// `[varint len][bytes]`.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    /// The first ID appended: the first entry's deltas count from it.
    master_id: StreamId,
    /// The last ID appended, deleted or not: the next entry's deltas count from it.
    tail_id: StreamId,
    /// The first entry present (a node without one is dropped).
    first: StreamId,
    /// The last entry present.
    last: StreamId,
    /// Entries present.
    live: usize,
    /// Entries ever appended, deleted ones included (as a listpack keeps them).
    appended: usize,
    /// The bytes Redis's listpack for this node would hold, but for its two counters
    /// (entries present, entries deleted): the byte limit splits nodes where Redis's
    /// does, whatever busbar's own bytes are.
    lp_rest: usize,
    /// Number of master fields.
    master_fields: usize,
    /// Where the master fields' items start in `buf` (after their count).
    fields_at: usize,
    /// Where the entries start in `buf`.
    entries_at: usize,
    /// The master fields, then the entries.
    buf: Vec<u8>,
}

/// Where a walk over a node's entries stands.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    at: usize,
    prev: StreamId,
}

/// One entry decoded: where its bytes are, by offset (so no borrow outlives the step).
#[derive(Debug, Clone)]
struct Slot {
    /// Offset of its flags byte.
    flags_at: usize,
    flags: u8,
    id: StreamId,
    /// Its values (`SAME_FIELDS`) or fields and values.
    body: std::ops::Range<usize>,
    items: usize,
}

impl Slot {
    fn deleted(&self) -> bool {
        self.flags & DELETED != 0
    }
}

impl Node {
    /// A node whose master entry is `id` with the fields of `items` (the even ones; none
    /// if `items` has an odd count, which only an odd `append` could give).
    fn new<'p>(
        id: StreamId,
        items: impl Iterator<Item = &'p [u8]> + Clone,
        reserve: usize,
    ) -> Node {
        let count = items.clone().count();
        let fields = if count.is_multiple_of(2) {
            count / 2
        } else {
            0
        };
        let mut buf = Vec::with_capacity(reserve);
        put_varint(&mut buf, fields as u64);
        let fields_at = buf.len();
        // The listpack's header and end byte, the field count, the fields and the master
        // entry's terminating 0.
        let mut lp_rest = 7 + lp_int_len(fields as i64) + lp_int_len(0);
        for f in items.step_by(2).take(fields) {
            put_packed(&mut buf, f);
            lp_rest += lp_str_len(f);
        }
        Node {
            master_id: id,
            tail_id: id,
            first: id,
            last: id,
            live: 0,
            appended: 0,
            lp_rest,
            master_fields: fields,
            fields_at,
            entries_at: buf.len(),
            buf,
        }
    }

    /// The bytes of Redis's listpack for this node.
    fn lp_bytes(&self) -> usize {
        self.lp_rest + lp_int_len(self.live as i64) + lp_int_len((self.appended - self.live) as i64)
    }

    /// The listpack bytes of an entry `id` of `items` (`lp_items`: their listpack bytes),
    /// `same` when only its values are kept: flags, the ID as differences from the master
    /// ID, the field count and fields unless `same`, the values, and the element count.
    fn lp_entry_len(
        &self,
        id: StreamId,
        items: usize,
        lp_items: usize,
        lp_values: usize,
        same: bool,
    ) -> usize {
        let ms = lp_int_len(id.ms.wrapping_sub(self.master_id.ms) as i64);
        let seq = lp_int_len(id.seq.wrapping_sub(self.master_id.seq) as i64);
        let (body, elements) = if same {
            (lp_values, items / 2 + 3)
        } else {
            (lp_int_len((items / 2) as i64) + lp_items, items + 4)
        };
        lp_int_len(0) + ms + seq + body + lp_int_len(elements as i64)
    }

    fn cursor(&self) -> Cursor {
        Cursor {
            at: self.entries_at,
            prev: self.master_id,
        }
    }

    /// Decodes the entry at `c` (deleted or not) and moves `c` past it.
    fn step(&self, c: &mut Cursor) -> Option<Slot> {
        let buf = &self.buf[..];
        if c.at >= buf.len() {
            return None;
        }
        let flags_at = c.at;
        let flags = buf[c.at];
        c.at += 1;
        let ms_delta = get_varint(buf, &mut c.at);
        let seq_delta = get_varint(buf, &mut c.at);
        let id = if ms_delta == 0 {
            StreamId {
                ms: c.prev.ms,
                seq: c.prev.seq + seq_delta,
            }
        } else {
            StreamId {
                ms: c.prev.ms + ms_delta,
                seq: seq_delta,
            }
        };
        c.prev = id;
        let (stored, items) = if flags & SAME_FIELDS != 0 {
            (self.master_fields, 2 * self.master_fields)
        } else {
            let n = get_varint(buf, &mut c.at) as usize;
            (n, n)
        };
        let body_at = c.at;
        for _ in 0..stored {
            let len = get_varint(buf, &mut c.at) as usize;
            c.at += len;
        }
        Some(Slot {
            flags_at,
            flags,
            id,
            body: body_at..c.at,
            items,
        })
    }

    fn entry(&self, s: &Slot) -> EntryRef<'_> {
        let same = s.flags & SAME_FIELDS != 0;
        EntryRef {
            id: s.id,
            fields: if same {
                &self.buf[self.fields_at..self.entries_at]
            } else {
                &[]
            },
            body: &self.buf[s.body.clone()],
            items: s.items,
            same,
        }
    }

    /// The entries present, in order.
    fn live(&self) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        let mut c = self.cursor();
        std::iter::from_fn(move || loop {
            let s = self.step(&mut c)?;
            if !s.deleted() {
                return Some(self.entry(&s));
            }
        })
    }

    /// Marks the first `n` entries present deleted (fewer than `live`).
    fn delete_front(&mut self, n: usize) {
        debug_assert!(n < self.live);
        let mut c = self.cursor();
        let mut marked = 0;
        while let Some(s) = self.step(&mut c) {
            if s.deleted() {
                continue;
            }
            if marked == n {
                self.first = s.id;
                break;
            }
            self.buf[s.flags_at] |= DELETED;
            marked += 1;
        }
        self.live -= marked;
    }

    /// Gives back most of the buffer's spare room once no more entries will come.
    fn seal(&mut self) {
        if self.buf.capacity() - self.buf.len() > self.buf.len() / 8 {
            self.buf.shrink_to_fit();
        }
    }
}

/// Node size limits (CONFIG `stream-node-max-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    /// Most entries per node, deleted ones included (0 = no limit).
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
        self.nodes.back().map(|n| n.last)
    }

    /// The ID of the first entry present, if any.
    pub fn first_entry_id(&self) -> Option<StreamId> {
        self.nodes.front().map(|n| n.first)
    }

    /// Number of nodes (XINFO's `radix-tree-keys`: Redis keys one listpack per node by
    /// the node's first ID).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// How many nodes a radix tree keyed by the nodes' first IDs (16 bytes, big-endian)
    /// holds in its compressed form: XINFO's `radix-tree-nodes`, which Redis counts in the
    /// tree it keeps the nodes in. A run of bytes shared by every key below a point is one
    /// node, a point where keys part is one node, each key ends in one more.
    pub fn radix_tree_nodes(&self) -> usize {
        fn count(keys: &[[u8; 16]], depth: usize) -> usize {
            let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
                return 1; // the empty root
            };
            if depth == 16 {
                return 1;
            }
            // Sorted keys share what the first and the last share.
            let shared = (depth..16).take_while(|&i| first[i] == last[i]).count();
            if shared > 0 {
                return 1 + count(keys, depth + shared);
            }
            let mut n = 1;
            let mut rest = keys;
            while let Some(k) = rest.first() {
                let run = rest.partition_point(|x| x[depth] == k[depth]);
                n += count(&rest[..run], depth + 1);
                rest = &rest[run..];
            }
            n
        }
        let keys: Vec<[u8; 16]> = self
            .nodes
            .iter()
            .map(|n| {
                let mut k = [0u8; 16];
                k[..8].copy_from_slice(&n.master_id.ms.to_be_bytes());
                k[8..].copy_from_slice(&n.master_id.seq.to_be_bytes());
                k
            })
            .collect();
        count(&keys, 0)
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

    /// Appends an entry of `pairs` (field, value, field, value, ...) under `id`, which is
    /// above `last_id` (the caller checked).
    pub fn append<'p, I>(&mut self, id: StreamId, pairs: I, limits: NodeLimits)
    where
        I: IntoIterator<Item = &'p [u8]>,
        I::IntoIter: Clone,
    {
        debug_assert!(id > self.last_id || self.entries_added == 0);
        let items = pairs.into_iter();
        // The entry's size in both forms, and whether its fields are the last node's
        // master fields.
        let (mut count, mut full, mut values) = (0usize, 0usize, 0usize);
        // The same in Redis's terms: raw bytes, listpack bytes of all and of the values.
        let (mut raw, mut lp_items, mut lp_values) = (0usize, 0usize, 0usize);
        let mut master = self
            .nodes
            .back()
            .map(|n| Packed(&n.buf[n.fields_at..n.entries_at]));
        let mut same = master.is_some();
        for (i, item) in items.clone().enumerate() {
            let size = packed_len(item);
            full += size;
            count += 1;
            raw += item.len();
            let lp = lp_str_len(item);
            lp_items += lp;
            if i % 2 == 1 {
                values += size;
                lp_values += lp;
            } else if same {
                same = master.as_mut().and_then(|m| m.next()) == Some(item);
            }
        }
        let full = varint_len(count as u64) + full;
        // Redis's rule: a new node once the listpack's bytes and the entry's raw bytes
        // reach the byte limit, or the node holds the most entries.
        let max_bytes = match limits.max_bytes {
            0 => LISTPACK_BYTES_MAX,
            n => n.min(LISTPACK_BYTES_MAX),
        };
        let node = self.nodes.back().filter(|n| {
            n.lp_bytes() + raw < max_bytes
                && (limits.max_entries == 0 || n.appended < limits.max_entries)
        });
        let same = match node {
            Some(n) => same && count.is_multiple_of(2) && count / 2 == n.master_fields,
            None => {
                if let Some(n) = self.nodes.back_mut() {
                    n.seal();
                }
                // Room for a node full of entries like this one, as far as the limits
                // tell (most entries of a stream look alike).
                let size = 3 + if count.is_multiple_of(2) {
                    values
                } else {
                    full
                };
                let mut reserve = match limits.max_entries {
                    0 => usize::MAX,
                    n => full.saturating_add(size.saturating_mul(n)),
                };
                if limits.max_bytes != 0 {
                    reserve = reserve.min(limits.max_bytes);
                }
                let reserve = reserve.min(NODE_RESERVE_BYTES_MAX).max(full + size);
                let node = Node::new(id, items.clone(), reserve);
                self.nodes.push_back(node);
                count.is_multiple_of(2)
            }
        };
        let node = self.nodes.back_mut().expect("a node");
        let size = 1 + deltas_len(node.tail_id, id) + if same { values } else { full };
        let spare = node.buf.capacity() - node.buf.len();
        if spare < size {
            node.buf.reserve_exact(size.max(node.buf.len() / 4));
        }
        node.buf.push(if same { SAME_FIELDS } else { 0 });
        let (ms_delta, seq_delta) = deltas(node.tail_id, id);
        put_varint(&mut node.buf, ms_delta);
        put_varint(&mut node.buf, seq_delta);
        if same {
            for v in items.skip(1).step_by(2) {
                put_packed(&mut node.buf, v);
            }
        } else {
            put_varint(&mut node.buf, count as u64);
            for item in items {
                put_packed(&mut node.buf, item);
            }
        }
        node.lp_rest += node.lp_entry_len(id, count, lp_items, lp_values, same);
        if node.live == 0 {
            node.first = id;
        }
        node.live += 1;
        node.appended += 1;
        node.last = id;
        node.tail_id = id;
        self.last_id = id;
        self.len += 1;
        self.entries_added += 1;
    }

    /// The nodes that may hold entries in `lo..=hi`: from the first whose last entry
    /// reaches `lo` to the last whose first is not past `hi`.
    fn nodes_between(&self, lo: StreamId, hi: StreamId) -> std::ops::Range<usize> {
        let start = self.nodes.partition_point(|n| n.last < lo);
        let end = self.nodes.partition_point(|n| n.first <= hi);
        start..end.max(start)
    }

    /// The entries with IDs in `lo..=hi`, ascending (or descending if `rev`), at most
    /// `count` (0 = all).
    pub fn range(&self, lo: StreamId, hi: StreamId, rev: bool, count: usize) -> Vec<EntryRef<'_>> {
        let mut out = Vec::new();
        if lo > hi {
            return out;
        }
        let limit = if count == 0 { usize::MAX } else { count };
        let nodes = self.nodes.range(self.nodes_between(lo, hi));
        if rev {
            // A node decodes front to back only: its entries in range, then reversed.
            let mut one = Vec::new();
            for n in nodes.rev() {
                one.clear();
                one.extend(
                    n.live()
                        .skip_while(|e| e.id < lo)
                        .take_while(|e| e.id <= hi),
                );
                for e in one.iter().rev() {
                    if out.len() == limit {
                        return out;
                    }
                    out.push(*e);
                }
            }
        } else {
            for n in nodes {
                for e in n
                    .live()
                    .skip_while(|e| e.id < lo)
                    .take_while(|e| e.id <= hi)
                {
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
        let mut n = 0;
        for node in self.nodes.range(self.nodes_between(lo, hi)) {
            n += if node.first >= lo && node.last <= hi {
                node.live
            } else {
                let mut c = node.cursor();
                let mut k = 0;
                while let Some(s) = node.step(&mut c) {
                    if s.id > hi {
                        break;
                    }
                    k += usize::from(s.id >= lo && !s.deleted());
                }
                k
            };
            if n >= limit {
                return limit;
            }
        }
        n
    }

    /// Deletes the entry `id`; true if it was there.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let ni = self.nodes.partition_point(|n| n.last < id);
        let Some(node) = self.nodes.get_mut(ni) else {
            return false;
        };
        if id < node.first {
            return false;
        }
        // The entry's flags byte, and its neighbours present (the node's new ends).
        let (mut before, mut at, mut after) = (None, None, None);
        let mut c = node.cursor();
        while let Some(s) = node.step(&mut c) {
            if s.id < id {
                if !s.deleted() {
                    before = Some(s.id);
                }
            } else if s.id == id && !s.deleted() {
                at = Some(s.flags_at);
            } else if at.is_none() {
                return false;
            } else if !s.deleted() {
                after = Some(s.id);
                break;
            }
        }
        let Some(at) = at else {
            return false;
        };
        node.buf[at] |= DELETED;
        node.live -= 1;
        if node.live == 0 {
            self.nodes.remove(ni);
        } else {
            if id == node.first {
                node.first = after.unwrap_or(node.first);
            }
            if id == node.last {
                node.last = before.unwrap_or(node.last);
            }
        }
        self.len -= 1;
        if id > self.max_deleted {
            self.max_deleted = id;
        }
        true
    }

    /// Trims as Redis's `streamTrim`: whole nodes from the head while the rule allows;
    /// then, unless `approx`, single entries of the first node (marked deleted in place).
    /// `limit` (0 = none) caps the entries removed (whole nodes only). Returns how many
    /// were removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: usize) -> usize {
        let mut removed = 0;
        while let Some(first) = self.nodes.front() {
            if let Trim::MaxLen(max) = how {
                if self.len as u64 <= max {
                    break;
                }
            }
            let live = first.live;
            if limit != 0 && removed + live > limit {
                break;
            }
            let whole = match how {
                Trim::MaxLen(max) => (self.len - live) as u64 >= max,
                Trim::MinId(min) => first.last < min,
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
            let n = match how {
                Trim::MaxLen(max) => self.len - max as usize,
                Trim::MinId(min) => first.live().take_while(|e| e.id < min).count(),
            };
            if n > 0 {
                self.nodes.front_mut().expect("first").delete_front(n);
            }
            self.len -= n;
            removed += n;
            break;
        }
        removed
    }

    /// Every entry in order (for dumps).
    pub fn entries(&self) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        self.nodes.iter().flat_map(|n| n.live())
    }

    /// The nodes as Redis's listpacks hold them (RDB and DUMP write these).
    pub fn nodes(&self) -> impl Iterator<Item = NodeView<'_>> + '_ {
        self.nodes.iter().map(|node| NodeView { node })
    }
}

/// The ms and seq deltas of `id` after `prev` (see `Node`).
fn deltas(prev: StreamId, id: StreamId) -> (u64, u64) {
    if id.ms == prev.ms {
        (0, id.seq - prev.seq)
    } else {
        (id.ms - prev.ms, id.seq)
    }
}

fn deltas_len(prev: StreamId, id: StreamId) -> usize {
    let (ms, seq) = deltas(prev, id);
    varint_len(ms) + varint_len(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    fn push(s: &mut Stream, i: u64, limits: NodeLimits) {
        let v = i.to_string();
        s.append(id(i, 0), [&b"f"[..], v.as_bytes()], limits);
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
        let mut s = Stream::default();
        let limits = NodeLimits::default();
        s.append(id(1, 1), [&b"a"[..], b"", &[7u8; 300][..], b"x"], limits);
        s.append(id(1, 2), [&b"a"[..], b"1", &[7u8; 300][..], b"y"], limits);
        s.append(id(1, 3), [&b"b"[..], b"2"], limits);
        s.append(id(1, 4), [&b"odd"[..]], limits);
        let all: Vec<Vec<&[u8]>> = s.entries().map(|e| e.pairs().collect()).collect();
        assert_eq!(
            all,
            vec![
                vec![&b"a"[..], b"", &[7u8; 300][..], b"x"],
                vec![&b"a"[..], b"1", &[7u8; 300][..], b"y"],
                vec![&b"b"[..], b"2"],
                vec![&b"odd"[..]],
            ]
        );
        assert_eq!(
            s.entries().map(|e| e.pair_items()).collect::<Vec<_>>(),
            [4, 4, 2, 1]
        );
    }

    #[test]
    fn radix_tree_nodes_count_as_redis_does() {
        // Values Redis 7.0 reports for 1-0, 2-0 ... n-0 at 100 entries per node.
        let limits = NodeLimits::default();
        let mut s = Stream::default();
        assert_eq!((s.node_count(), s.radix_tree_nodes()), (0, 1));
        let mut n = 0;
        for (len, keys, nodes) in [
            (1, 1, 2),
            (100, 1, 2),
            (101, 2, 6),
            (250, 3, 8),
            (1000, 10, 26),
        ] {
            while n < len {
                n += 1;
                push(&mut s, n, limits);
            }
            assert_eq!(
                (s.node_count(), s.radix_tree_nodes()),
                (keys, nodes),
                "{len}"
            );
        }
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
            push(&mut s, i, limits);
            model.push(i);
        }
        for d in [3, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 50] {
            assert!(s.delete(id(d, 0)));
            model.retain(|&m| m != d);
        }
        assert!(!s.delete(id(3, 0)));
        assert_eq!(s.len(), model.len());
        let ids = |v: Vec<EntryRef>| v.iter().map(|e| e.id.ms).collect::<Vec<_>>();
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

    /// Checks each node's header against its bytes.
    fn check(s: &Stream) {
        let mut len = 0;
        for n in &s.nodes {
            let live: Vec<StreamId> = n.live().map(|e| e.id).collect();
            assert!(!live.is_empty(), "an empty node stayed");
            assert_eq!(live.len(), n.live);
            assert_eq!(live.first(), Some(&n.first));
            assert_eq!(live.last(), Some(&n.last));
            len += n.live;
        }
        assert_eq!(len, s.len());
    }

    #[test]
    fn random_operations_agree_with_a_vec_model() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        for round in 0..40 {
            let limits = NodeLimits {
                max_entries: [0, 1, 2, 5, 100][round % 5],
                max_bytes: [0, 30, 100, 4096][round % 4],
            };
            let mut s = Stream::default();
            let mut model: Vec<(StreamId, Vec<Vec<u8>>)> = Vec::new();
            let mut last = id(0, 0);
            for _ in 0..600 {
                match next(10) {
                    0..=4 => {
                        last = match next(3) {
                            0 => id(last.ms, last.seq + 1 + next(300)),
                            1 => id(last.ms + 1 + next(2000), next(3)),
                            _ => id(last.ms + next(1 << 40) + 1, (1 << 62) - next(2)),
                        };
                        let pairs: Vec<Vec<u8>> = match next(4) {
                            0 | 1 => vec![
                                b"type".to_vec(),
                                next(50).to_string().into(),
                                b"n".to_vec(),
                                vec![b'x'; next(200) as usize],
                            ],
                            2 => (0..next(6))
                                .map(|i| format!("{i}:{}", next(3)).into_bytes())
                                .collect(),
                            _ => vec![b"type".to_vec(), b"".to_vec()],
                        };
                        s.append(last, pairs.iter().map(|p| &p[..]), limits);
                        model.push((last, pairs));
                    }
                    5 | 6 => {
                        let victim = if !model.is_empty() && next(3) > 0 {
                            model[next(model.len() as u64) as usize].0
                        } else {
                            id(next(last.ms + 2), next(3))
                        };
                        let had = model.iter().position(|m| m.0 == victim);
                        assert_eq!(s.delete(victim), had.is_some());
                        if let Some(at) = had {
                            model.remove(at);
                        }
                    }
                    7 => {
                        let approx = next(2) == 0;
                        let how = if next(2) == 0 {
                            Trim::MaxLen(next(model.len() as u64 + 3))
                        } else {
                            let m = model.get(next(model.len() as u64 + 1) as usize);
                            Trim::MinId(m.map_or(id(last.ms + 1, 0), |m| m.0))
                        };
                        let limit = if approx { next(3) as usize * 7 } else { 0 };
                        let exact = match how {
                            Trim::MaxLen(max) => model.len().saturating_sub(max as usize),
                            Trim::MinId(min) => model.iter().take_while(|m| m.0 < min).count(),
                        };
                        let removed = s.trim(how, approx, limit);
                        if approx {
                            assert!(removed <= exact);
                        } else {
                            assert_eq!(removed, exact);
                        }
                        model.drain(..removed);
                    }
                    _ => {
                        let pick = |r: u64| -> StreamId {
                            match model.get(r as usize) {
                                Some(m) if !r.is_multiple_of(3) => m.0,
                                _ => id(r * 997, 0),
                            }
                        };
                        let (a, b) = (
                            pick(next(model.len() as u64 + 2)),
                            pick(next(model.len() as u64 + 2)),
                        );
                        let (lo, hi) = if next(4) == 0 {
                            (b, a)
                        } else {
                            (a.min(b), a.max(b))
                        };
                        let count = next(4) as usize * next(9) as usize;
                        let want: Vec<&(StreamId, Vec<Vec<u8>>)> =
                            model.iter().filter(|m| m.0 >= lo && m.0 <= hi).collect();
                        let take = if count == 0 {
                            want.len()
                        } else {
                            count.min(want.len())
                        };
                        let got = |rev| -> Vec<(StreamId, Vec<Vec<u8>>)> {
                            s.range(lo, hi, rev, count)
                                .iter()
                                .map(|e| (e.id, e.pairs().map(<[u8]>::to_vec).collect()))
                                .collect()
                        };
                        let fwd: Vec<_> = want.iter().take(take).map(|m| (*m).clone()).collect();
                        let rev: Vec<_> =
                            want.iter().rev().take(take).map(|m| (*m).clone()).collect();
                        assert_eq!(got(false), fwd);
                        assert_eq!(got(true), rev);
                        assert_eq!(s.count_range(lo, hi, count), take);
                    }
                }
                assert_eq!(s.len(), model.len());
                assert_eq!(s.first_entry_id(), model.first().map(|m| m.0));
                assert_eq!(s.last_entry_id(), model.last().map(|m| m.0));
            }
            check(&s);
            let all: Vec<(StreamId, Vec<Vec<u8>>)> = s
                .entries()
                .map(|e| (e.id, e.pairs().map(<[u8]>::to_vec).collect()))
                .collect();
            assert_eq!(all, model);
            assert_eq!(
                s.entries().map(|e| e.pair_items()).collect::<Vec<_>>(),
                model.iter().map(|m| m.1.len()).collect::<Vec<_>>()
            );
        }
    }
}
