//! A hash value: field -> value, in one of two encodings, as Redis.
//!
//! - `Pack`: one buffer of `[varint len][field][varint len][value]` pairs in insertion
//!   order (Redis's listpack idea: no per-entry allocation, a few bytes of overhead per
//!   pair); lookups scan it, which is fast while it is small.
//! - `Table`: an insertion-indexed hash set of `Pair`s (O(1) lookups, O(1) random picks
//!   for HRANDFIELD, a plain index for HSCAN's cursor). A pair is one allocation holding
//!   the field and its value, hashed and compared by the field alone.
//!
//! A hash starts packed and converts for good once it has more than `max_entries` pairs
//! or a field or value longer than `max_value` bytes (`hash-max-listpack-entries` /
//! `hash-max-listpack-value`).

use ahash::RandomState;
use indexmap::{Equivalent, IndexSet};

/// The packed encoding's limits (CONFIG `hash-max-listpack-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackLimits {
    /// Most pairs a packed hash holds.
    pub max_entries: usize,
    /// Longest field or value a packed hash holds, in bytes.
    pub max_value: usize,
}

impl Default for PackLimits {
    fn default() -> Self {
        // Redis 7.0's defaults.
        PackLimits {
            max_entries: 512,
            max_value: 64,
        }
    }
}

/// A hash. Small enough (24 bytes) to live inline in a `Value`: a packed hash is then
/// one allocation, its exact-size buffer.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug, Clone)]
pub enum Hash {
    /// Packed pairs in insertion order, in a buffer of exactly their size (resized on
    /// every change, as a listpack is).
    Pack { buf: Box<[u8]>, len: u32 },
    /// A hash table.
    Table(Box<Table>),
}

/// The table encoding: field -> value pairs, insertion-indexed.
pub type Table = IndexSet<Pair, RandomState>;

/// A field and its value in one allocation, `[varint field length][field][value]`; hashed
/// and compared by the field alone (a table is a set of pairs keyed by field).
#[derive(Debug, Clone)]
pub struct Pair(Box<[u8]>);

impl Pair {
    fn new(field: &[u8], value: &[u8]) -> Pair {
        let mut buf = Vec::with_capacity(5 + field.len() + value.len());
        put_len(&mut buf, field.len());
        buf.extend_from_slice(field);
        buf.extend_from_slice(value);
        Pair(buf.into_boxed_slice())
    }

    fn split(&self) -> (&[u8], &[u8]) {
        let mut at = 0;
        let flen = get_len(&self.0, &mut at);
        self.0[at..].split_at(flen)
    }

    /// The field.
    pub fn field(&self) -> &[u8] {
        self.split().0
    }

    /// The value.
    pub fn value(&self) -> &[u8] {
        self.split().1
    }
}

impl std::hash::Hash for Pair {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.field().hash(state);
    }
}

impl PartialEq for Pair {
    fn eq(&self, other: &Self) -> bool {
        self.field() == other.field()
    }
}

impl Eq for Pair {}

/// A field looked up in a table: hashes as its pair does.
#[derive(Hash)]
struct Field<'a>(&'a [u8]);

impl Equivalent<Pair> for Field<'_> {
    fn equivalent(&self, pair: &Pair) -> bool {
        self.0 == pair.field()
    }
}

impl PartialEq for Hash {
    /// Same pairs (a table's order aside).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

fn put_len(buf: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            buf.push(b);
            return;
        }
        buf.push(b | 0x80);
    }
}

fn get_len(buf: &[u8], at: &mut usize) -> usize {
    let (mut n, mut shift) = (0usize, 0);
    loop {
        let b = buf[*at];
        *at += 1;
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return n;
        }
        shift += 7;
    }
}

/// One packed pair: where it starts and ends, and its field and value ranges.
struct Slot {
    start: usize,
    end: usize,
    field: (usize, usize),
    value: (usize, usize),
}

fn read_slot(buf: &[u8], start: usize) -> Slot {
    let mut at = start;
    let flen = get_len(buf, &mut at);
    let field = (at, at + flen);
    at += flen;
    let vlen = get_len(buf, &mut at);
    let value = (at, at + vlen);
    Slot {
        start,
        end: at + vlen,
        field,
        value,
    }
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Pack {
            buf: Box::default(),
            len: 0,
        }
    }
}

impl Hash {
    /// An empty (packed) hash.
    pub fn new() -> Hash {
        Hash::default()
    }

    /// A hash of `pairs` in the given encoding, exactly (RENAME across shards keeps the
    /// encoding the value had, as Redis moves the object itself).
    pub fn from_pairs<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>, packed: bool) -> Hash {
        if packed {
            let (mut buf, mut len) = (Vec::new(), 0);
            for (f, v) in pairs {
                put_len(&mut buf, f.len());
                buf.extend_from_slice(f);
                put_len(&mut buf, v.len());
                buf.extend_from_slice(v);
                len += 1;
            }
            Hash::Pack {
                buf: buf.into_boxed_slice(),
                len,
            }
        } else {
            Hash::Table(Box::new(pairs.map(|(f, v)| Pair::new(f, v)).collect()))
        }
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        match self {
            Hash::Pack { len, .. } => *len as usize,
            Hash::Table(t) => t.len(),
        }
    }

    /// True when it holds no pair (such a hash is deleted by its command).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Pack { .. } => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    fn find(buf: &[u8], field: &[u8]) -> Option<Slot> {
        let mut at = 0;
        while at < buf.len() {
            let s = read_slot(buf, at);
            if &buf[s.field.0..s.field.1] == field {
                return Some(s);
            }
            at = s.end;
        }
        None
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Pack { buf, .. } => Self::find(buf, field).map(|s| &buf[s.value.0..s.value.1]),
            Hash::Table(t) => t.get(&Field(field)).map(Pair::value),
        }
    }

    /// Sets `field` to `value`; returns true if the field is new. Converts to a table when
    /// the packed limits are passed.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: PackLimits) -> bool {
        if let Hash::Pack { len, .. } = self {
            let too_long = field.len() > limits.max_value || value.len() > limits.max_value;
            if too_long || (*len as usize >= limits.max_entries && self.get(field).is_none()) {
                self.convert();
            }
        }
        match self {
            Hash::Pack { buf, len } => {
                let mut pair = Vec::with_capacity(field.len() + value.len() + 10);
                put_len(&mut pair, field.len());
                pair.extend_from_slice(field);
                put_len(&mut pair, value.len());
                pair.extend_from_slice(value);
                let mut v = std::mem::take(buf).into_vec();
                let new = match Self::find(&v, field) {
                    Some(s) => {
                        v.splice(s.start..s.end, pair);
                        false
                    }
                    None => {
                        v.extend_from_slice(&pair);
                        *len += 1;
                        true
                    }
                };
                // Exact size, as a listpack: small hashes are many, and amortized growth
                // would waste up to half of each buffer.
                *buf = v.into_boxed_slice();
                new
            }
            Hash::Table(t) => t.replace_full(Pair::new(field, value)).1.is_none(),
        }
    }

    /// Removes `field`; returns true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Pack { buf, len } => match Self::find(buf, field) {
                Some(s) => {
                    let mut v = std::mem::take(buf).into_vec();
                    v.drain(s.start..s.end);
                    *buf = v.into_boxed_slice();
                    *len -= 1;
                    true
                }
                None => false,
            },
            Hash::Table(t) => t.swap_remove(&Field(field)),
        }
    }

    /// Turns a packed hash into a table (for good).
    fn convert(&mut self) {
        if let Hash::Pack { .. } = self {
            let mut t = IndexSet::with_capacity_and_hasher(self.len() + 1, RandomState::new());
            for (f, v) in self.iter() {
                t.insert(Pair::new(f, v));
            }
            *self = Hash::Table(Box::new(t));
        }
    }

    /// Every (field, value), packed ones in insertion order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Pack { buf, .. } => {
                let mut at = 0;
                Box::new(std::iter::from_fn(move || {
                    if at >= buf.len() {
                        return None;
                    }
                    let s = read_slot(buf, at);
                    at = s.end;
                    Some((&buf[s.field.0..s.field.1], &buf[s.value.0..s.value.1]))
                }))
            }
            Hash::Table(t) => Box::new(t.iter().map(Pair::split)),
        }
    }

    /// Every (field, value) from position `i` on, in `iter`'s order (a paced HGETALL
    /// resumes here).
    pub fn iter_from(&self, i: usize) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Pack { .. } => Box::new(self.iter().skip(i)),
            Hash::Table(t) => match t.get_range(i.min(t.len())..) {
                Some(rest) => Box::new(rest.iter().map(Pair::split)),
                None => Box::new(std::iter::empty()),
            },
        }
    }

    /// The pair at position `i` (0 <= i < len), for random picks and SCAN.
    pub fn at(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Pack { .. } => self.iter().nth(i),
            Hash::Table(t) => t.get_index(i).map(Pair::split),
        }
    }

    /// Heap bytes used (MEMORY-style accounting for PERF.md).
    pub fn bytes_used(&self) -> usize {
        match self {
            Hash::Pack { buf, .. } => buf.len(),
            Hash::Table(t) => {
                t.capacity() * (std::mem::size_of::<Pair>() + 16)
                    + t.iter().map(|p| p.0.len()).sum::<usize>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_and_table_agree_and_convert_past_the_limits() {
        let limits = PackLimits {
            max_entries: 4,
            max_value: 8,
        };
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1", limits));
        assert!(h.set(b"b", b"2", limits));
        assert!(!h.set(b"a", b"10", limits));
        assert_eq!(h.get(b"a"), Some(&b"10"[..]));
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            vec![(&b"a"[..], &b"10"[..]), (&b"b"[..], &b"2"[..])]
        );
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        assert_eq!(h.len(), 1);
        for i in 0..4 {
            h.set(format!("f{i}").as_bytes(), b"v", limits);
        }
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(h.get(b"b"), Some(&b"2"[..]));
        let mut h2 = Hash::new();
        h2.set(b"long", b"123456789", limits);
        assert_eq!(h2.encoding(), "hashtable");
    }

    #[test]
    fn random_operations_agree_with_a_model() {
        // Seeded random sets and removes against a std HashMap, with limits small enough
        // that hashes convert midway; after every step the two agree.
        let limits = PackLimits {
            max_entries: 16,
            max_value: 12,
        };
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _round in 0..20 {
            let mut h = Hash::new();
            let mut model = std::collections::HashMap::new();
            for _ in 0..400 {
                let field = format!("f{}", next(40)).into_bytes();
                if next(3) == 0 {
                    assert_eq!(h.remove(&field), model.remove(&field).is_some());
                } else {
                    let value = vec![b'v'; next(14) as usize];
                    assert_eq!(
                        h.set(&field, &value, limits),
                        model.insert(field.clone(), value).is_none()
                    );
                }
                assert_eq!(h.len(), model.len());
                let mut got: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
                let mut want: Vec<_> = model.iter().map(|(f, v)| (f.clone(), v.clone())).collect();
                got.sort();
                want.sort();
                assert_eq!(got, want);
                for (f, v) in &model {
                    assert_eq!(h.get(f), Some(&v[..]));
                }
                for i in 0..h.len() {
                    assert!(h.at(i).is_some());
                }
            }
        }
    }

    #[test]
    fn long_lengths_use_multi_byte_varints() {
        let limits = PackLimits {
            max_entries: 128,
            max_value: 100_000,
        };
        let mut h = Hash::new();
        let big = vec![b'x'; 300];
        h.set(&big, &big, limits);
        h.set(b"k", b"v", limits);
        assert_eq!(h.get(&big), Some(&big[..]));
        assert_eq!(h.get(b"k"), Some(&b"v"[..]));
    }
}
