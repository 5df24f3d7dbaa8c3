//! The list value: a deque of packed byte chunks (Redis's quicklist of listpacks), so a list
//! of a million small items costs close to its payload, with O(1) pushes and pops at both ends.
//!
//! # Representation
//!
//! A [`List`] is a `VecDeque` of chunks (the spine) plus a cached length. A chunk is one
//! contiguous heap buffer holding entries back to back. An entry is
//!
//! ```text
//! [len: LEB128 varint] [value bytes] [len: the same varint bytes, mirrored]
//! ```
//!
//! so a 10-byte value costs 12 bytes, as in a Redis listpack. The leading length lets a scan
//! walk forward; the trailing mirrored copy lets it walk backward from a chunk's end, which is
//! what makes pops at the tail and index lookups from the nearer end cheap. Values are stored
//! byte for byte (integers are not re-encoded), so they round-trip exactly, empty strings and
//! binary data included.
//!
//! A chunk holds at most `CHUNK_BYTES_MAX` bytes of entries (8 KiB, Redis's default
//! `list-max-listpack-size -2`) and `CHUNK_ENTRIES_MAX` entries. One entry larger than the
//! byte cap gets a chunk of its own.
//!
//! # Pushing at the front
//!
//! A chunk's entries sit in `buf[start..end]`, with free space allowed at both ends of the
//! buffer. A push writes the entry into the free space beside the entries, so pushing at the
//! front is as cheap as pushing at the back: no entry moves. When that side is out of space,
//! the chunk is relaid out once: grown by doubling (up to the byte cap) with the spare space
//! placed where the pushes come. The head chunk of a list of several chunks only ever grows
//! at its front and the tail chunk only at its back, so each keeps all its spare space on that
//! side; a list's only chunk serves both ends and splits its spare space between them. A chunk
//! is relaid out only if that leaves room for about half its bytes again (otherwise a new chunk
//! is opened), so every byte pushed moves O(1) bytes, amortized.
//!
//! # Staying compact
//!
//! When a new end chunk opens, the old one becomes inner for good and gives back its spare
//! space if that is over an eighth of its buffer (it is sealed). Operations in the middle of the
//! list (LSET, LINSERT, LREM, LTRIM) end with a repair of the chunks they touched: empty chunks
//! are dropped, a chunk over a cap is split evenly, neighbours that fit together in one chunk
//! are merged, and sparse buffers are shrunk. Pops never merge (as Redis's quicklist): they
//! free a chunk when it empties. So every inner chunk wastes at most an eighth of its buffer.
//!
//! Knows nothing of commands: indexes and counts follow Redis's list commands (LRANGE, LTRIM,
//! LREM, LPOS, LINSERT, LINDEX, LSET) and each method says which one it serves; replies and
//! argument errors belong to the command family.

use std::collections::{vec_deque, VecDeque};
use std::fmt;
use std::ops::Range;

/// Most bytes of entries in one chunk: 8 KiB, Redis's default `list-max-listpack-size -2`.
/// Large enough that a chunk's fixed cost (its spine slot and one allocation) is under 1% of
/// its payload; small enough that a change in the middle of a list moves at most this much.
const CHUNK_BYTES_MAX: usize = 8 * 1024;

/// Most entries in one chunk, so that reaching an index inside a chunk decodes at most half
/// of this many entries even when the values are tiny (an empty value takes 2 bytes, so the
/// byte cap alone would allow 4096).
const CHUNK_ENTRIES_MAX: usize = 1024;

/// A list of binary-safe values; see the module docs for the representation.
#[derive(Clone, Default)]
pub struct List {
    /// The chunks, head first; none is ever empty.
    chunks: VecDeque<Chunk>,
    /// Total entries over all chunks.
    len: usize,
}

impl List {
    /// An empty list; allocates nothing until the first push.
    pub fn new() -> List {
        List::default()
    }

    /// The number of values (LLEN).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the list holds no values (the keyspace then deletes the key, as Redis).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes held: chunk buffers, spare space included, plus the spine. Not counted: the
    /// `List` itself and the allocator's rounding. O(chunks), for MEMORY USAGE and tests.
    pub fn bytes_used(&self) -> usize {
        let buffers: usize = self.chunks.iter().map(|c| c.buf.len()).sum();
        buffers + self.chunks.capacity() * std::mem::size_of::<Chunk>()
    }

    /// Adds `value` at the head (LPUSH, LPUSHX, and LMOVE's destination with LEFT).
    pub fn push_front(&mut self, value: &[u8]) {
        self.push(value, true);
    }

    /// Adds `value` at the tail (RPUSH, RPUSHX, and LMOVE's destination with RIGHT).
    pub fn push_back(&mut self, value: &[u8]) {
        self.push(value, false);
    }

    fn push(&mut self, value: &[u8], at_front: bool) {
        let n = entry_len(value.len());
        // The only chunk serves pushes at both ends.
        let shared = self.chunks.len() == 1;
        let end = if at_front {
            self.chunks.front_mut()
        } else {
            self.chunks.back_mut()
        };
        match end {
            Some(chunk) if chunk.can_push(n, at_front) => chunk.push(value, n, at_front, shared),
            _ => self.open_chunk(value, n, at_front),
        }
        self.len += 1;
    }

    /// Starts a new end chunk holding `value`, sealing the old end chunk.
    fn open_chunk(&mut self, value: &[u8], n: usize, at_front: bool) {
        let old_end = if at_front {
            self.chunks.front_mut()
        } else {
            self.chunks.back_mut()
        };
        let cap = match old_end {
            // A first chunk, or one beside a lone oversized entry: start exact and grow by
            // doubling, so a small list stays small.
            None => n,
            Some(old) if old.used() > CHUNK_BYTES_MAX => n,
            Some(old) => {
                old.shrink_if_sparse();
                if old.count >= CHUNK_ENTRIES_MAX {
                    // Full by count: tiny values; the next chunk will likely hold as many bytes.
                    n.max(old.used())
                } else {
                    // Full by bytes: a list that filled one chunk will likely fill the next,
                    // so allocate it once, at full size.
                    n.max(CHUNK_BYTES_MAX)
                }
            }
        };
        if self.chunks.capacity() == 0 {
            // Most lists are short: one spine slot, not the default four.
            self.chunks.reserve_exact(1);
        }
        let chunk = Chunk::with_entry(value, n, cap, at_front);
        if at_front {
            self.chunks.push_front(chunk);
        } else {
            self.chunks.push_back(chunk);
        }
    }

    /// Removes and returns the head value (LPOP, BLPOP, LMPOP LEFT, LMOVE's source with LEFT).
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        self.pop_front_with(<[u8]>::to_vec)
    }

    /// Removes and returns the tail value (RPOP, BRPOP, LMPOP RIGHT, LMOVE's source with RIGHT).
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        self.pop_back_with(<[u8]>::to_vec)
    }

    /// Removes the head value, handing it to `f` first: a reply can be encoded straight from
    /// the chunk, with no copy.
    pub fn pop_front_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let head = self.chunks.front_mut()?;
        let (value, next) = entry_after(&head.buf, head.start);
        let r = f(&head.buf[value]);
        head.start = next;
        head.count -= 1;
        if head.count == 0 {
            self.chunks.pop_front();
            self.shrink_spine();
        }
        self.len -= 1;
        Some(r)
    }

    /// Removes the tail value, handing it to `f` first (see [`List::pop_front_with`]).
    pub fn pop_back_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let tail = self.chunks.back_mut()?;
        let (start, value) = entry_before(&tail.buf, tail.end);
        let r = f(&tail.buf[value]);
        tail.end = start;
        tail.count -= 1;
        if tail.count == 0 {
            self.chunks.pop_back();
            self.shrink_spine();
        }
        self.len -= 1;
        Some(r)
    }

    /// The value at `index`, counting from 0 at the head, or from -1 at the tail when
    /// negative; `None` out of range (LINDEX). Walks from the nearer end of the list, then of
    /// the chunk.
    pub fn get(&self, index: i64) -> Option<&[u8]> {
        let i = self.index(index)?;
        let (c, k) = self.locate(i);
        Some(self.chunks[c].value(k))
    }

    /// Replaces the value at `index` (negative counts from the tail); false when out of range,
    /// which LSET replies as `ERR index out of range`.
    pub fn set(&mut self, index: i64, value: &[u8]) -> bool {
        let Some(i) = self.index(index) else {
            return false;
        };
        let (c, k) = self.locate(i);
        let chunk = &mut self.chunks[c];
        let at = chunk.offset_of(k);
        let old = entry_after(&chunk.buf, at).1 - at;
        let n = entry_len(value.len());
        if n == old {
            write_entry(&mut chunk.buf[at..at + n], value);
        } else {
            chunk.splice(at, old, Some(value));
            self.repair(c, c + 1);
        }
        true
    }

    /// All values, head to tail; double-ended, so `.rev()` walks tail to head.
    pub fn iter(&self) -> Iter<'_> {
        match self.len {
            0 => Iter::empty(&self.chunks),
            len => self.iter_between(0, len - 1),
        }
    }

    /// The values from `start` to `stop` inclusive, with LRANGE's index rules: negative
    /// indexes count from the tail; `start` below the head clamps to 0 and `stop` past the tail
    /// clamps to the last index; an empty range when `start` > `stop` or `start` is past the
    /// tail. Borrows the chunks: no allocation.
    pub fn range(&self, start: i64, stop: i64) -> Iter<'_> {
        match clamp_range(start, stop, self.len) {
            Some((first, last)) => self.iter_between(first, last),
            None => Iter::empty(&self.chunks),
        }
    }

    /// The inclusive positions LRANGE `start` `stop` denotes (see [`List::range`]), or
    /// `None` for an empty range.
    pub fn positions(&self, start: i64, stop: i64) -> Option<(usize, usize)> {
        clamp_range(start, stop, self.len)
    }

    /// Keeps only the values from `start` to `stop` inclusive, with the same index rules as
    /// [`List::range`] (LTRIM); an empty range empties the list.
    pub fn trim(&mut self, start: i64, stop: i64) {
        match clamp_range(start, stop, self.len) {
            Some((first, last)) => {
                self.drop_back(self.len - 1 - last);
                self.drop_front(first);
            }
            None => {
                self.chunks = VecDeque::new();
                self.len = 0;
            }
        }
    }

    /// Inserts `value` just before (or after) the first value equal to `pivot`, counting from
    /// the head; false when no value equals `pivot` (LINSERT, which then replies -1).
    pub fn insert(&mut self, pivot: &[u8], before: bool, value: &[u8]) -> bool {
        for c in 0..self.chunks.len() {
            let chunk = &mut self.chunks[c];
            let mut at = chunk.start;
            while at < chunk.end {
                let (v, next) = entry_after(&chunk.buf, at);
                if chunk.buf[v] == *pivot {
                    let pos = if before { at } else { next };
                    chunk.splice(pos, 0, Some(value));
                    chunk.count += 1;
                    self.len += 1;
                    self.repair(c, c + 1);
                    return true;
                }
                at = next;
            }
        }
        false
    }

    /// Removes values equal to `value` and returns how many (LREM): with `count` > 0 the first
    /// `count` from the head, with `count` < 0 the last `-count` from the tail, with 0 all.
    pub fn remove(&mut self, value: &[u8], count: i64) -> usize {
        if self.len == 0 {
            return 0;
        }
        // The matches to remove are always all matches at or after `from`, up to `limit` of
        // them, so one forward pass compacts the chunks whichever end LREM counts from.
        let (from, limit) = if count >= 0 {
            let limit = if count == 0 {
                usize::MAX
            } else {
                usize::try_from(count).unwrap_or(usize::MAX)
            };
            (0, limit)
        } else {
            // The `-count`-th match from the tail (or the first match, if there are fewer).
            let wanted = count.unsigned_abs();
            let mut found = 0u64;
            let mut from = None;
            for (r, v) in self.iter().rev().enumerate() {
                if v == value {
                    found += 1;
                    from = Some(self.len - 1 - r);
                    if found == wanted {
                        break;
                    }
                }
            }
            match from {
                Some(from) => (from, usize::MAX),
                None => return 0,
            }
        };
        let (mut c, mut skip) = self.locate(from);
        let mut removed = 0;
        let mut touched: Option<(usize, usize)> = None;
        while c < self.chunks.len() && removed < limit {
            let r = self.chunks[c].remove_matches(skip, value, limit - removed);
            if r > 0 {
                removed += r;
                touched = Some((touched.map_or(c, |t| t.0), c));
            }
            skip = 0;
            c += 1;
        }
        self.len -= removed;
        if let Some((lo, hi)) = touched {
            self.repair(lo, hi + 1);
        }
        removed
    }

    /// Indexes (counted from the head) of values equal to `value`, as LPOS finds them:
    /// scanning from the head when `rank` > 0 or from the tail when `rank` < 0, skipping the
    /// first `|rank| - 1` matches, returning at most `count` indexes (0 = all) in scan order,
    /// and looking at no more than `maxlen` values from the scan's start (0 = all). LPOS
    /// without COUNT passes `count` = 1 and replies the one index or nil. `rank` must not be
    /// 0: the command rejects it.
    pub fn position(&self, value: &[u8], rank: i64, count: usize, maxlen: usize) -> Vec<usize> {
        assert_ne!(rank, 0, "LPOS rejects RANK 0 before it reaches the list");
        let skip = rank.unsigned_abs() - 1;
        let scan_len = if maxlen == 0 {
            self.len
        } else {
            maxlen.min(self.len)
        };
        let mut skipped = 0u64;
        let mut found = Vec::new();
        let mut check = |i: usize, v: &[u8]| {
            if v == value {
                if skipped < skip {
                    skipped += 1;
                } else {
                    found.push(i);
                    if count != 0 && found.len() == count {
                        return true;
                    }
                }
            }
            false
        };
        if rank > 0 {
            for (i, v) in self.iter().take(scan_len).enumerate() {
                if check(i, v) {
                    break;
                }
            }
        } else {
            for (r, v) in self.iter().rev().take(scan_len).enumerate() {
                if check(self.len - 1 - r, v) {
                    break;
                }
            }
        }
        found
    }

    /// `index` as a position from the head, or `None` out of range; negative counts from
    /// the tail (LINDEX, LSET).
    fn index(&self, index: i64) -> Option<usize> {
        let i = if index < 0 {
            // No overflow: a list's length fits in i64.
            index + self.len as i64
        } else {
            index
        };
        usize::try_from(i).ok().filter(|&i| i < self.len)
    }

    /// The chunk holding the entry at position `i` and the entry's index in that chunk,
    /// walking the spine from the nearer end.
    fn locate(&self, i: usize) -> (usize, usize) {
        debug_assert!(i < self.len);
        if i < self.len / 2 {
            let mut i = i;
            for (c, chunk) in self.chunks.iter().enumerate() {
                if i < chunk.count {
                    return (c, i);
                }
                i -= chunk.count;
            }
        } else {
            let mut from_tail = self.len - 1 - i;
            for (c, chunk) in self.chunks.iter().enumerate().rev() {
                if from_tail < chunk.count {
                    return (c, chunk.count - 1 - from_tail);
                }
                from_tail -= chunk.count;
            }
        }
        unreachable!("chunk counts sum to the list's length")
    }

    /// An iterator over positions `first..=last`, both in range.
    fn iter_between(&self, first: usize, last: usize) -> Iter<'_> {
        debug_assert!(first <= last && last < self.len);
        let (cf, kf) = self.locate(first);
        let (cl, kl) = self.locate(last);
        let head = &self.chunks[cf];
        let tail = &self.chunks[cl];
        let middle = if cl > cf {
            self.chunks.range(cf + 1..cl)
        } else {
            self.chunks.range(0..0)
        };
        Iter {
            front: &head.buf[head.offset_of(kf)..head.end],
            middle,
            back: &tail.buf[tail.start..tail.offset_of(kl + 1)],
            remaining: last - first + 1,
        }
    }

    /// Removes `k` values at the head (LTRIM).
    fn drop_front(&mut self, mut k: usize) {
        if k == 0 {
            return;
        }
        self.len -= k;
        while k > 0 {
            let head = self.chunks.front_mut().expect("k <= len");
            if head.count <= k {
                k -= head.count;
                self.chunks.pop_front();
            } else {
                head.start = head.offset_of(k);
                head.count -= k;
                k = 0;
            }
        }
        if !self.chunks.is_empty() {
            self.repair(0, 1);
        }
        self.shrink_spine();
    }

    /// Removes `k` values at the tail (LTRIM).
    fn drop_back(&mut self, mut k: usize) {
        if k == 0 {
            return;
        }
        self.len -= k;
        while k > 0 {
            let tail = self.chunks.back_mut().expect("k <= len");
            if tail.count <= k {
                k -= tail.count;
                self.chunks.pop_back();
            } else {
                tail.end = tail.offset_of(tail.count - k);
                tail.count -= k;
                k = 0;
            }
        }
        let n = self.chunks.len();
        if n > 0 {
            self.repair(n - 1, n);
        }
        self.shrink_spine();
    }

    /// Restores the chunk invariants after a change to chunks `lo..hi`, looking one chunk
    /// further each way so that neighbours can merge: drops empty chunks, splits chunks over a
    /// cap evenly, merges neighbours that fit in one chunk, and shrinks sparse buffers.
    /// Costs the bytes of the window plus O(min(lo, chunks - hi)) spine moves.
    fn repair(&mut self, lo: usize, hi: usize) {
        let lo = lo.saturating_sub(1);
        let hi = (hi + 1).min(self.chunks.len());
        // Bring the window to the spine's back, rebuild it there, and rotate it home.
        self.chunks.rotate_left(hi);
        let window_start = self.chunks.len() - (hi - lo);
        let window: Vec<Chunk> = self.chunks.drain(window_start..).collect();
        let floor = self.chunks.len();
        for chunk in window {
            if chunk.count == 0 {
                continue;
            }
            if chunk.is_over_cap() {
                for piece in chunk.split() {
                    self.push_merged(piece, floor);
                }
            } else {
                self.push_merged(chunk, floor);
            }
        }
        for chunk in self.chunks.range_mut(floor..) {
            chunk.shrink_if_sparse();
        }
        let rebuilt = self.chunks.len() - floor;
        self.chunks.rotate_right(lo + rebuilt);
        self.shrink_spine();
    }

    /// Appends `chunk` to the spine, merged into the last chunk if that is at or past `floor`
    /// and both fit in one chunk.
    fn push_merged(&mut self, chunk: Chunk, floor: usize) {
        if self.chunks.len() > floor {
            let last = self.chunks.back_mut().expect("len > floor");
            if last.fits_with(&chunk) {
                last.append(&chunk);
                return;
            }
        }
        self.chunks.push_back(chunk);
    }

    /// Gives back spine capacity once most of it is unused (a drained queue), and all of it
    /// when the list is empty.
    fn shrink_spine(&mut self) {
        let n = self.chunks.len();
        if n == 0 {
            self.chunks = VecDeque::new();
        } else if self.chunks.capacity() > 4 * n.max(4) {
            self.chunks.shrink_to(2 * n);
        }
    }

    /// Panics unless every invariant of the representation holds.
    #[cfg(test)]
    fn check(&self) {
        let mut total = 0;
        for (c, chunk) in self.chunks.iter().enumerate() {
            assert!(chunk.count > 0, "chunk {c} is empty");
            assert!(chunk.start <= chunk.end && chunk.end <= chunk.buf.len());
            let mut at = chunk.start;
            let mut k = 0;
            while at < chunk.end {
                let (v, next) = entry_after(&chunk.buf, at);
                let (start, v_back) = entry_before(&chunk.buf, next);
                assert_eq!(
                    (start, v_back),
                    (at, v),
                    "chunk {c} entry {k} reads differently back"
                );
                at = next;
                k += 1;
            }
            assert_eq!(at, chunk.end, "chunk {c} entries overrun");
            assert_eq!(k, chunk.count, "chunk {c} count");
            assert!(
                chunk.count <= CHUNK_ENTRIES_MAX,
                "chunk {c} over the entry cap"
            );
            assert!(
                chunk.used() <= CHUNK_BYTES_MAX || chunk.count == 1,
                "chunk {c} over the byte cap"
            );
            assert!(chunk.buf.len() <= CHUNK_BYTES_MAX.max(chunk.used()));
            let inner = c > 0 && c + 1 < self.chunks.len();
            assert!(!inner || !chunk.is_sparse(), "inner chunk {c} is sparse");
            total += chunk.count;
        }
        assert_eq!(total, self.len, "chunk counts do not sum to len");
    }
}

impl PartialEq for List {
    /// Equal values in the same order, however they are laid out in chunks.
    fn eq(&self, other: &List) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for List {}

impl fmt::Debug for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(EscapedBytes))
            .finish()
    }
}

/// Bytes shown as an escaped byte string in Debug output.
struct EscapedBytes<'a>(&'a [u8]);

impl fmt::Debug for EscapedBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

impl<T: AsRef<[u8]>> Extend<T> for List {
    /// Pushes each value at the tail.
    fn extend<I: IntoIterator<Item = T>>(&mut self, values: I) {
        for v in values {
            self.push_back(v.as_ref());
        }
    }
}

impl<T: AsRef<[u8]>> FromIterator<T> for List {
    fn from_iter<I: IntoIterator<Item = T>>(values: I) -> List {
        let mut list = List::new();
        list.extend(values);
        list
    }
}

impl<'a> IntoIterator for &'a List {
    type Item = &'a [u8];
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// A borrowing iterator over a run of a list's values, from either end.
#[derive(Clone)]
pub struct Iter<'a> {
    /// Entries of the front chunk not yet yielded from the front.
    front: &'a [u8],
    /// The chunks strictly between the front and back chunks.
    middle: vec_deque::Iter<'a, Chunk>,
    /// Entries of the back chunk not yet yielded from the back.
    back: &'a [u8],
    /// Values left. When the front and back cursors reach the same chunk they overlap;
    /// this count is what stops them.
    remaining: usize,
}

impl<'a> Iter<'a> {
    fn empty(chunks: &'a VecDeque<Chunk>) -> Iter<'a> {
        Iter {
            front: &[],
            middle: chunks.range(0..0),
            back: &[],
            remaining: 0,
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        if self.front.is_empty() {
            self.front = match self.middle.next() {
                Some(chunk) => chunk.entries(),
                None => self.back,
            };
        }
        self.remaining -= 1;
        let (value, next) = entry_after(self.front, 0);
        let v = &self.front[value];
        self.front = &self.front[next..];
        Some(v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        if self.back.is_empty() {
            self.back = match self.middle.next_back() {
                Some(chunk) => chunk.entries(),
                None => self.front,
            };
        }
        self.remaining -= 1;
        let (start, value) = entry_before(self.back, self.back.len());
        let v = &self.back[value];
        self.back = &self.back[..start];
        Some(v)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl std::iter::FusedIterator for Iter<'_> {}

/// LRANGE's and LTRIM's index rules: the inclusive positions `start..=stop` denote, or `None`
/// for an empty range. Negative indexes count from the tail; `start` clamps up to 0 and
/// `stop` down to the last position; empty when `start` > `stop` or `start` >= `len`.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    // No overflow: a list's length fits in i64, and only negatives get it added.
    let len = len as i64;
    let start = if start < 0 {
        (start + len).max(0)
    } else {
        start
    };
    let stop = if stop < 0 { stop + len } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

/// One buffer of entries; see the module docs.
#[derive(Clone)]
struct Chunk {
    /// Entries live in `buf[start..end]`; `buf[..start]` and `buf[end..]` are free space.
    buf: Box<[u8]>,
    /// Offset of the first entry.
    start: usize,
    /// Offset just past the last entry.
    end: usize,
    /// Number of entries.
    count: usize,
}

impl Chunk {
    /// A chunk of `cap` bytes (at least `n`) holding one entry, `n` bytes long, at the end
    /// pushes will come from: its back end for the head chunk, its front end otherwise.
    fn with_entry(value: &[u8], n: usize, cap: usize, at_front: bool) -> Chunk {
        let mut buf = vec![0; cap.max(n)].into_boxed_slice();
        let start = if at_front { buf.len() - n } else { 0 };
        write_entry(&mut buf[start..start + n], value);
        Chunk {
            buf,
            start,
            end: start + n,
            count: 1,
        }
    }

    /// A chunk holding exactly the encoded `entries`.
    fn from_entries(entries: &[u8], count: usize) -> Chunk {
        Chunk {
            buf: entries.into(),
            start: 0,
            end: entries.len(),
            count,
        }
    }

    /// Bytes of entries.
    fn used(&self) -> usize {
        self.end - self.start
    }

    /// The encoded entries.
    fn entries(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// True when more than an eighth of the buffer is free space, or when a buffer over the
    /// byte cap (which only a lone oversized entry needs) has any free space at all.
    fn is_sparse(&self) -> bool {
        let free = self.buf.len() - self.used();
        free > self.buf.len() / 8 || (free > 0 && self.buf.len() > CHUNK_BYTES_MAX)
    }

    /// True when the chunk holds more than one entry and is over a cap.
    fn is_over_cap(&self) -> bool {
        self.count > 1 && (self.used() > CHUNK_BYTES_MAX || self.count > CHUNK_ENTRIES_MAX)
    }

    /// True when this chunk and `other` fit in one chunk.
    fn fits_with(&self, other: &Chunk) -> bool {
        self.used() + other.used() <= CHUNK_BYTES_MAX
            && self.count + other.count <= CHUNK_ENTRIES_MAX
    }

    /// True when an entry of `n` bytes should be pushed into this chunk at the given end,
    /// rather than into a new chunk.
    fn can_push(&self, n: usize, at_front: bool) -> bool {
        let used = self.used();
        if self.count >= CHUNK_ENTRIES_MAX || used + n > CHUNK_BYTES_MAX {
            return false;
        }
        let free = if at_front {
            self.start
        } else {
            self.buf.len() - self.end
        };
        // Making room moves `used` bytes. It is worth it only if it leaves room for about
        // half as many bytes again, which keeps pushes amortized O(1); near the cap a new
        // chunk is cheaper.
        free >= n || used + n + used / 2 <= CHUNK_BYTES_MAX
    }

    /// Writes the `n`-byte entry for `value` at one end; `shared` when this chunk also takes
    /// pushes at its other end (a list's only chunk). `can_push` must have said yes.
    fn push(&mut self, value: &[u8], n: usize, at_front: bool, shared: bool) {
        if at_front {
            if self.start < n {
                self.make_room(n, true, shared);
            }
            self.start -= n;
            write_entry(&mut self.buf[self.start..self.start + n], value);
        } else {
            if self.buf.len() - self.end < n {
                self.make_room(n, false, shared);
            }
            write_entry(&mut self.buf[self.end..self.end + n], value);
            self.end += n;
        }
        self.count += 1;
    }

    /// Relays the chunk out with at least `n` free bytes at one end: the buffer doubles
    /// (up to the byte cap) and the spare space goes where the pushes come from.
    fn make_room(&mut self, n: usize, at_front: bool, shared: bool) {
        let used = self.used();
        let needed = used + n;
        let cap = self
            .buf
            .len()
            .max((2 * needed).min(CHUNK_BYTES_MAX))
            .max(needed);
        let spare = cap - needed;
        // The far end keeps half the spare space only if pushes come there too.
        let far = if shared { spare / 2 } else { 0 };
        let start = if at_front { cap - used - far } else { far };
        self.relayout(cap, start);
    }

    /// Moves the entries to `start` in a buffer of `cap` bytes (reallocating if the size
    /// changes).
    fn relayout(&mut self, cap: usize, start: usize) {
        let used = self.used();
        debug_assert!(start + used <= cap);
        #[cfg(test)]
        tests::BYTES_MOVED.with(|m| m.set(m.get() + used));
        if cap == self.buf.len() {
            self.buf.copy_within(self.start..self.end, start);
        } else {
            let mut buf = vec![0; cap].into_boxed_slice();
            buf[start..start + used].copy_from_slice(self.entries());
            self.buf = buf;
        }
        self.start = start;
        self.end = start + used;
    }

    /// Gives back the free space if over an eighth of the buffer.
    fn shrink_if_sparse(&mut self) {
        if self.is_sparse() {
            self.relayout(self.used(), 0);
        }
    }

    /// Byte offset of entry `k` (`k` = `count` gives `end`), decoding from the nearer end.
    fn offset_of(&self, k: usize) -> usize {
        debug_assert!(k <= self.count);
        if k <= self.count / 2 {
            let mut at = self.start;
            for _ in 0..k {
                at = entry_after(&self.buf, at).1;
            }
            at
        } else {
            let mut at = self.end;
            for _ in k..self.count {
                at = entry_before(&self.buf, at).0;
            }
            at
        }
    }

    /// The value of entry `k`.
    fn value(&self, k: usize) -> &[u8] {
        let (value, _) = entry_after(&self.buf, self.offset_of(k));
        &self.buf[value]
    }

    /// Replaces the `remove` bytes of entries at offset `at` with the entry for `value` (if
    /// any), moving whichever side of `at` is shorter. The caller fixes `count` and repairs:
    /// the chunk may end up over a cap or sparse.
    fn splice(&mut self, at: usize, remove: usize, value: Option<&[u8]>) {
        debug_assert!(self.start <= at && at + remove <= self.end);
        let add = value.map_or(0, |v| entry_len(v.len()));
        let prefix = at - self.start;
        let suffix = self.end - (at + remove);
        let entry_at;
        if add <= remove {
            let shrink = remove - add;
            if prefix <= suffix {
                self.buf.copy_within(self.start..at, self.start + shrink);
                self.start += shrink;
                entry_at = at + shrink;
            } else {
                self.buf.copy_within(at + remove..self.end, at + add);
                self.end -= shrink;
                entry_at = at;
            }
        } else {
            let grow = add - remove;
            let room_front = self.start >= grow;
            let room_back = self.buf.len() - self.end >= grow;
            if room_front && (prefix <= suffix || !room_back) {
                self.buf.copy_within(self.start..at, self.start - grow);
                self.start -= grow;
                entry_at = at - grow;
            } else if room_back {
                self.buf.copy_within(at + remove..self.end, at + add);
                self.end += grow;
                entry_at = at;
            } else {
                let used = self.used() + grow;
                let mut buf = vec![0; used].into_boxed_slice();
                buf[..prefix].copy_from_slice(&self.buf[self.start..at]);
                buf[prefix + add..].copy_from_slice(&self.buf[at + remove..self.end]);
                self.buf = buf;
                self.start = 0;
                self.end = used;
                entry_at = prefix;
            }
        }
        if let Some(v) = value {
            write_entry(&mut self.buf[entry_at..entry_at + add], v);
        }
    }

    /// Removes up to `limit` entries equal to `value`, ignoring the first `skip` entries;
    /// returns how many it removed. Compacts toward the front in one pass.
    fn remove_matches(&mut self, skip: usize, value: &[u8], limit: usize) -> usize {
        let mut read = self.offset_of(skip);
        let mut write = read;
        let mut removed = 0;
        while read < self.end {
            if removed == limit {
                self.buf.copy_within(read..self.end, write);
                write += self.end - read;
                break;
            }
            let (v, next) = entry_after(&self.buf, read);
            if self.buf[v] == *value {
                removed += 1;
            } else {
                if write != read {
                    self.buf.copy_within(read..next, write);
                }
                write += next - read;
            }
            read = next;
        }
        self.end = write;
        self.count -= removed;
        removed
    }

    /// Appends the entries of `other`, reallocating to the exact size if there is no room.
    fn append(&mut self, other: &Chunk) {
        let n = other.used();
        if self.buf.len() - self.end < n {
            self.relayout(self.used() + n, 0);
        }
        self.buf[self.end..self.end + n].copy_from_slice(other.entries());
        self.end += n;
        self.count += other.count;
    }

    /// Splits a chunk that is over a cap into the fewest pieces of about equal size that are
    /// within the caps (a lone oversized entry is a piece of its own).
    fn split(&self) -> Vec<Chunk> {
        let used = self.used();
        let pieces = used
            .div_ceil(CHUNK_BYTES_MAX)
            .max(self.count.div_ceil(CHUNK_ENTRIES_MAX));
        let bytes_target = used.div_ceil(pieces);
        let count_target = self.count.div_ceil(pieces);
        let mut out = Vec::with_capacity(pieces + 1);
        let mut piece_start = self.start;
        let mut piece_count = 0;
        let mut at = self.start;
        while at < self.end {
            let next = entry_after(&self.buf, at).1;
            let piece_bytes = at - piece_start;
            let full = piece_bytes + (next - at) > CHUNK_BYTES_MAX
                || piece_bytes >= bytes_target
                || piece_count >= count_target;
            if piece_count > 0 && full {
                out.push(Chunk::from_entries(&self.buf[piece_start..at], piece_count));
                piece_start = at;
                piece_count = 0;
            }
            piece_count += 1;
            at = next;
        }
        out.push(Chunk::from_entries(&self.buf[piece_start..at], piece_count));
        out
    }
}

/// Bytes of the LEB128 varint for `n`: 7 bits a byte.
fn varint_len(n: usize) -> usize {
    let bits = usize::BITS - (n | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

/// Bytes of the entry for a value of `len` bytes: leading length, value, trailing length.
fn entry_len(len: usize) -> usize {
    len + 2 * varint_len(len)
}

/// Encodes the entry for `value` into `dst`, which is exactly `entry_len(value.len())` long.
fn write_entry(dst: &mut [u8], value: &[u8]) {
    let h = varint_len(value.len());
    let last = dst.len() - 1;
    debug_assert_eq!(dst.len(), value.len() + 2 * h);
    let mut n = value.len();
    for i in 0..h {
        let more = if i + 1 < h { 0x80 } else { 0 };
        let byte = (n & 0x7f) as u8 | more;
        // Low 7 bits first in the leading copy; the trailing copy mirrors it, so a backward
        // scan meets the low bits first too.
        dst[i] = byte;
        dst[last - i] = byte;
        n >>= 7;
    }
    dst[h..h + value.len()].copy_from_slice(value);
}

/// The entry starting at `at`: its value's byte range and the offset of the next entry.
#[inline]
fn entry_after(buf: &[u8], at: usize) -> (Range<usize>, usize) {
    let mut len = 0;
    let mut shift = 0;
    let mut i = at;
    loop {
        let byte = buf[i];
        len |= usize::from(byte & 0x7f) << shift;
        i += 1;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    let h = i - at;
    (i..i + len, i + len + h)
}

/// The entry ending at `end`: its start offset and its value's byte range.
#[inline]
fn entry_before(buf: &[u8], end: usize) -> (usize, Range<usize>) {
    let mut len = 0;
    let mut shift = 0;
    let mut i = end;
    loop {
        i -= 1;
        let byte = buf[i];
        len |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    let h = end - i;
    let value_start = i - len;
    (value_start - h, value_start..i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Bytes moved by chunk relayouts on this thread, to test that pushes are amortized
        /// O(1).
        pub(super) static BYTES_MOVED: Cell<usize> = const { Cell::new(0) };
    }

    fn list(values: &[&str]) -> List {
        let l: List = values.iter().collect();
        l.check();
        l
    }

    fn strings<'a>(it: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
        it.map(|v| String::from_utf8(v.to_vec()).unwrap()).collect()
    }

    fn all(l: &List) -> Vec<String> {
        strings(l.iter())
    }

    /// A distinct 10-byte value for each `i` below a billion.
    fn value(i: usize) -> Vec<u8> {
        format!("v{i:09}").into_bytes()
    }

    #[test]
    fn varint_lengths_at_their_boundaries() {
        for (n, bytes) in [
            (0, 1),
            (127, 1),
            (128, 2),
            (16383, 2),
            (16384, 3),
            (1 << 21, 4),
        ] {
            assert_eq!(varint_len(n), bytes, "{n}");
            assert_eq!(entry_len(n), n + 2 * bytes);
        }
    }

    #[test]
    fn values_round_trip_byte_for_byte() {
        let sizes = [0, 1, 2, 127, 128, 129, 16383, 16384, 20_000];
        let values: Vec<Vec<u8>> = sizes
            .iter()
            .map(|&n| (0..n).map(|i| (i * 7 + n) as u8).collect())
            .collect();
        let mut l = List::new();
        for v in &values {
            l.push_back(v);
            l.push_front(v);
            l.check();
        }
        let expected: Vec<&[u8]> = values
            .iter()
            .rev()
            .chain(values.iter())
            .map(Vec::as_slice)
            .collect();
        assert_eq!(l.iter().collect::<Vec<_>>(), expected);
        let reversed: Vec<&[u8]> = l.iter().rev().collect();
        assert_eq!(reversed, expected.iter().rev().copied().collect::<Vec<_>>());
        for (i, v) in expected.iter().enumerate() {
            assert_eq!(l.get(i as i64), Some(*v));
        }
        for v in values.iter().rev() {
            assert_eq!(l.pop_front().as_deref(), Some(v.as_slice()));
        }
        for v in values.iter().rev() {
            assert_eq!(l.pop_back().as_deref(), Some(v.as_slice()));
            l.check();
        }
        assert!(l.is_empty());
        assert_eq!(l.pop_front(), None);
        assert_eq!(l.pop_back(), None);
        assert_eq!(l.bytes_used(), 0);
    }

    #[test]
    fn pushes_and_pops_at_both_ends_keep_order_like_lpush_rpush() {
        let mut l = List::new();
        for i in 0..5000 {
            l.push_back(&value(i));
            l.push_front(&value(i + 100_000));
        }
        l.check();
        assert_eq!(l.len(), 10_000);
        assert!(l.chunks.len() > 10, "spans many chunks: {}", l.chunks.len());
        assert_eq!(l.get(0), Some(value(104_999).as_slice()));
        assert_eq!(l.get(-1), Some(value(4999).as_slice()));
        for i in (0..5000).rev() {
            assert_eq!(l.pop_back(), Some(value(i)));
            assert_eq!(l.pop_front(), Some(value(i + 100_000)));
        }
        l.check();
        assert!(l.is_empty());
    }

    #[test]
    fn pop_with_hands_over_the_value_without_a_copy() {
        let mut l = list(&["a", "bb", "ccc"]);
        assert_eq!(l.pop_front_with(|v| v.len()), Some(1));
        assert_eq!(l.pop_back_with(|v| v == b"ccc"), Some(true));
        assert_eq!(all(&l), ["bb"]);
        assert_eq!(l.pop_back_with(|v| v.to_vec()), Some(b"bb".to_vec()));
        assert_eq!(l.pop_back_with(|_| ()), None);
    }

    #[test]
    fn get_counts_negative_indexes_from_the_tail_like_lindex() {
        let l = list(&["a", "b", "c", "d", "e"]);
        let cases: [(i64, Option<&str>); 8] = [
            (0, Some("a")),
            (4, Some("e")),
            (5, None),
            (-1, Some("e")),
            (-5, Some("a")),
            (-6, None),
            (i64::MAX, None),
            (i64::MIN, None),
        ];
        for (i, want) in cases {
            assert_eq!(l.get(i), want.map(str::as_bytes), "LINDEX {i}");
        }
        assert_eq!(List::new().get(0), None);
        assert_eq!(List::new().get(-1), None);
    }

    #[test]
    fn get_reaches_every_index_of_a_long_list() {
        let l: List = (0..5000).map(value).collect();
        for i in 0..5000 {
            assert_eq!(l.get(i as i64), Some(value(i).as_slice()));
            assert_eq!(l.get(i as i64 - 5000), Some(value(i).as_slice()));
        }
    }

    #[test]
    fn set_replaces_in_range_and_refuses_out_of_range_like_lset() {
        let mut l = list(&["a", "b", "c"]);
        assert!(l.set(0, b"x"));
        assert!(l.set(-1, b"longer value"));
        assert!(l.set(1, b""));
        assert!(!l.set(3, b"no"));
        assert!(!l.set(-4, b"no"));
        l.check();
        assert_eq!(all(&l), ["x", "", "longer value"]);
        assert!(!List::new().set(0, b"no"));
    }

    #[test]
    fn set_that_outgrows_a_chunk_splits_it_and_shrinking_back_merges() {
        let mut l: List = (0..2000).map(value).collect();
        let chunks = l.chunks.len();
        let big = vec![b'x'; 20_000];
        assert!(l.set(1000, &big));
        l.check();
        assert_eq!(l.get(1000), Some(big.as_slice()));
        assert!(l
            .chunks
            .iter()
            .any(|c| c.count == 1 && c.used() > CHUNK_BYTES_MAX));
        assert!(l.set(1000, b"small"));
        l.check();
        assert_eq!(l.get(1000), Some(&b"small"[..]));
        assert!(
            l.chunks.len() <= chunks + 1,
            "{} vs {chunks}",
            l.chunks.len()
        );
        for i in 0..2000 {
            if i != 1000 {
                assert_eq!(l.get(i as i64), Some(value(i).as_slice()));
            }
        }
    }

    #[test]
    fn range_clamps_indexes_like_lrange() {
        // Checked against redis-server 7.0.15 with RPUSH l a b c d e.
        let l = list(&["a", "b", "c", "d", "e"]);
        let cases: [(i64, i64, &[&str]); 13] = [
            (0, -1, &["a", "b", "c", "d", "e"]),
            (-100, 100, &["a", "b", "c", "d", "e"]),
            (2, 1, &[]),
            (5, 10, &[]),
            (-1, -2, &[]),
            (-3, -1, &["c", "d", "e"]),
            (1, -10, &[]),
            (0, 0, &["a"]),
            (-6, 0, &["a"]),
            (4, 4, &["e"]),
            (3, 100, &["d", "e"]),
            (i64::MIN, i64::MAX, &["a", "b", "c", "d", "e"]),
            (i64::MAX, i64::MIN, &[]),
        ];
        for (start, stop, want) in cases {
            assert_eq!(strings(l.range(start, stop)), want, "LRANGE {start} {stop}");
            let mut back = strings(l.range(start, stop).rev());
            back.reverse();
            assert_eq!(back, want, "LRANGE {start} {stop} backwards");
            assert_eq!(l.range(start, stop).len(), want.len());
        }
        assert_eq!(List::new().range(0, -1).next(), None);
    }

    #[test]
    fn range_iterates_from_both_ends_across_chunks() {
        let l: List = (0..3000).map(value).collect();
        assert!(l.chunks.len() >= 3);
        let mut it = l.range(10, 2989);
        let mut front = 10;
        let mut back = 2989;
        // Alternate ends until the cursors meet somewhere in the middle.
        while let Some(v) = it.next() {
            assert_eq!(v, value(front));
            front += 1;
            match it.next_back() {
                Some(v) => assert_eq!(v, value(back)),
                None => break,
            }
            back -= 1;
        }
        assert_eq!(front, back + 1);
        assert_eq!(it.next(), None);
        assert_eq!(it.next_back(), None);
    }

    #[test]
    fn trim_keeps_a_range_like_ltrim() {
        // Checked against redis-server 7.0.15 with RPUSH t a b c d e; an empty result means
        // the key is deleted.
        let cases: [(i64, i64, &[&str]); 10] = [
            (0, -1, &["a", "b", "c", "d", "e"]),
            (1, -2, &["b", "c", "d"]),
            (-100, 100, &["a", "b", "c", "d", "e"]),
            (2, 1, &[]),
            (5, 10, &[]),
            (-1, -1, &["e"]),
            (-2, -100, &[]),
            (0, 0, &["a"]),
            (3, 100, &["d", "e"]),
            (-3, 1, &[]),
        ];
        for (start, stop, want) in cases {
            let mut l = list(&["a", "b", "c", "d", "e"]);
            l.trim(start, stop);
            l.check();
            assert_eq!(all(&l), want, "LTRIM {start} {stop}");
            assert_eq!(l.len(), want.len());
        }
    }

    #[test]
    fn trim_of_a_long_list_releases_its_memory() {
        let mut l: List = (0..100_000).map(value).collect();
        l.trim(50_000, 50_002);
        l.check();
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            [value(50_000), value(50_001), value(50_002)]
        );
        assert!(l.bytes_used() < 200, "{} bytes", l.bytes_used());
        l.trim(1, 0);
        assert!(l.is_empty());
        assert_eq!(l.bytes_used(), 0);
    }

    #[test]
    fn remove_counts_from_either_end_like_lrem() {
        // Checked against redis-server 7.0.15 with RPUSH r x a x b x c x.
        let cases: [(i64, usize, &[&str]); 7] = [
            (0, 4, &["a", "b", "c"]),
            (1, 1, &["a", "x", "b", "x", "c", "x"]),
            (2, 2, &["a", "b", "x", "c", "x"]),
            (-1, 1, &["x", "a", "x", "b", "x", "c"]),
            (-2, 2, &["x", "a", "x", "b", "c"]),
            (100, 4, &["a", "b", "c"]),
            (-100, 4, &["a", "b", "c"]),
        ];
        for (count, removed, want) in cases {
            let mut l = list(&["x", "a", "x", "b", "x", "c", "x"]);
            assert_eq!(l.remove(b"x", count), removed, "LREM {count}");
            l.check();
            assert_eq!(all(&l), want, "LREM {count}");
        }
        let mut l = list(&["a", "", "b", ""]);
        assert_eq!(l.remove(b"zz", 0), 0);
        assert_eq!(l.remove(b"", i64::MIN), 2);
        assert_eq!(all(&l), ["a", "b"]);
        assert_eq!(List::new().remove(b"a", 0), 0);
    }

    #[test]
    fn remove_of_most_values_merges_the_chunks_left() {
        let mut l = List::new();
        for i in 0..20_000 {
            l.push_back(if i % 10 == 0 { b"keep" } else { b"drop" });
        }
        let before = l.chunks.len();
        assert_eq!(l.remove(b"drop", 0), 18_000);
        l.check();
        assert_eq!(l.len(), 2000);
        assert!(l.iter().all(|v| v == b"keep"));
        // 2000 entries of 6 bytes fit in two chunks.
        assert!(
            l.chunks.len() <= 3,
            "{} chunks, {before} before",
            l.chunks.len()
        );
        assert!(l.bytes_used() < 2 * 2000 * 6, "{} bytes", l.bytes_used());
    }

    #[test]
    fn remove_from_the_tail_across_chunks() {
        let mut l: List = (0..5000)
            .map(|i| if i % 2 == 0 { "m" } else { "o" })
            .collect();
        assert_eq!(l.remove(b"m", -1000), 1000);
        l.check();
        let mut model: Vec<&str> = (0..5000)
            .map(|i| if i % 2 == 0 { "m" } else { "o" })
            .collect();
        let mut n = 0;
        for i in (0..model.len()).rev() {
            if model[i] == "m" && n < 1000 {
                model.remove(i);
                n += 1;
            }
        }
        assert_eq!(all(&l), model);
    }

    #[test]
    fn position_finds_matches_like_lpos() {
        // Checked against redis-server 7.0.15 with RPUSH p a b c 1 2 3 c c. LPOS without
        // COUNT is count 1 here; Redis replies its one index or nil.
        let l = list(&["a", "b", "c", "1", "2", "3", "c", "c"]);
        let cases: [(i64, usize, usize, &[usize]); 17] = [
            (1, 1, 0, &[2]),
            (2, 1, 0, &[6]),
            (-1, 1, 0, &[7]),
            (-2, 1, 0, &[6]),
            (4, 1, 0, &[]),
            (1, 0, 0, &[2, 6, 7]),
            (1, 2, 0, &[2, 6]),
            (2, 0, 0, &[6, 7]),
            (-1, 0, 0, &[7, 6, 2]),
            (-2, 2, 0, &[6, 2]),
            (1, 1, 2, &[]),
            (1, 0, 3, &[2]),
            (-1, 0, 2, &[7, 6]),
            (-1, 1, 1, &[7]),
            (-3, 0, 3, &[]),
            (i64::MAX, 1, 0, &[]),
            (-i64::MAX, 1, 0, &[]),
        ];
        for (rank, count, maxlen, want) in cases {
            assert_eq!(
                l.position(b"c", rank, count, maxlen),
                want,
                "LPOS c RANK {rank} COUNT {count} MAXLEN {maxlen}"
            );
        }
        assert_eq!(l.position(b"z", 1, 0, 0), []);
        assert_eq!(List::new().position(b"z", -1, 0, 0), []);
    }

    #[test]
    #[should_panic(expected = "RANK 0")]
    fn position_with_rank_zero_is_a_bug_in_the_caller() {
        List::new().position(b"a", 0, 1, 0);
    }

    #[test]
    fn insert_goes_beside_the_first_pivot_like_linsert() {
        // Checked against redis-server 7.0.15 with RPUSH i a b a c.
        let mut l = list(&["a", "b", "a", "c"]);
        assert!(l.insert(b"a", true, b"X"));
        assert_eq!(all(&l), ["X", "a", "b", "a", "c"]);
        assert!(l.insert(b"a", false, b"Y"));
        assert_eq!(all(&l), ["X", "a", "Y", "b", "a", "c"]);
        assert!(l.insert(b"c", false, b"Z"));
        assert_eq!(all(&l), ["X", "a", "Y", "b", "a", "c", "Z"]);
        assert!(!l.insert(b"zz", true, b"Z"));
        assert_eq!(l.len(), 7);
        l.check();
        assert!(!List::new().insert(b"a", true, b"b"));
    }

    #[test]
    fn inserts_into_a_full_chunk_split_it() {
        let mut l: List = (0..3000).map(value).collect();
        for i in 0..3000 {
            assert!(l.insert(&value(1500), i % 2 == 0, &value(10_000 + i)));
        }
        l.check();
        assert_eq!(l.len(), 6000);
        assert_eq!(l.position(&value(1500), 1, 1, 0), [3000]);
        let payload = 6000 * 12;
        assert!(l.bytes_used() < payload * 3 / 2, "{} bytes", l.bytes_used());
    }

    #[test]
    fn oversized_value_gets_a_chunk_of_its_own() {
        let big = vec![7u8; 20_000];
        let mut l = list(&["a", "b"]);
        l.push_back(&big);
        l.push_back(b"c");
        l.push_front(&big);
        l.push_front(b"z");
        l.check();
        assert_eq!(l.chunks.len(), 5);
        assert_eq!(
            l.chunks.iter().map(|c| c.count).collect::<Vec<_>>(),
            [1, 1, 2, 1, 1]
        );
        assert!(l.insert(b"a", false, &big));
        l.check();
        assert_eq!(l.get(3), Some(big.as_slice()));
        assert_eq!(l.get(4), Some(&b"b"[..]));
        // A small list beside an oversized value costs little more than its payload.
        let mut l = List::new();
        l.push_back(&big);
        l.push_back(b"x");
        assert!(l.bytes_used() < 20_000 + 200, "{}", l.bytes_used());
    }

    #[test]
    fn small_list_stays_small() {
        let l = list(&["hello"]);
        assert!(l.bytes_used() <= 7 + std::mem::size_of::<Chunk>());
        let l = list(&["a", "b", "c", "d", "e", "f", "g", "h"]);
        assert!(l.bytes_used() < 100, "{}", l.bytes_used());
    }

    #[test]
    fn chunks_fill_to_their_caps() {
        // 10-byte values: 12-byte entries, 682 to an 8 KiB chunk.
        let l: List = (0..100_000).map(value).collect();
        l.check();
        assert!(l.chunks.len() <= 100_000 / 682 + 2, "{}", l.chunks.len());
        // Empty values: 2-byte entries, capped by count.
        let l: List = (0..100_000).map(|_| b"").collect();
        l.check();
        assert!(
            l.chunks.len() <= 100_000 / CHUNK_ENTRIES_MAX + 2,
            "{}",
            l.chunks.len()
        );
    }

    #[test]
    fn million_small_values_cost_close_to_their_payload() {
        for at_front in [false, true] {
            let mut l = List::new();
            for i in 0..1_000_000 {
                if at_front {
                    l.push_front(&value(i));
                } else {
                    l.push_back(&value(i));
                }
            }
            let per_value = l.bytes_used() as f64 / 1e6;
            // 12 bytes of entry each, plus the spine and the two end chunks' spare space.
            assert!(
                per_value < 12.5,
                "{per_value} bytes per value (front: {at_front})"
            );
            assert!(per_value < 20.0);
        }
    }

    fn moved_while(f: impl FnOnce()) -> usize {
        BYTES_MOVED.with(|m| m.set(0));
        f();
        BYTES_MOVED.with(|m| m.get())
    }

    #[test]
    fn pushes_move_few_bytes_whichever_end_they_come_to() {
        let n = 200_000;
        let pushed = n * 12;
        let mut l = List::new();
        let moved = moved_while(|| (0..n).for_each(|i| l.push_front(&value(i))));
        assert!(moved < pushed / 4, "LPUSH moved {moved}");
        let mut l = List::new();
        let moved = moved_while(|| (0..n).for_each(|i| l.push_back(&value(i))));
        assert!(moved < pushed / 4, "RPUSH moved {moved}");
        let mut l = List::new();
        let moved = moved_while(|| {
            for i in 0..n {
                if i % 2 == 0 {
                    l.push_front(&value(i));
                } else {
                    l.push_back(&value(i));
                }
            }
        });
        assert!(moved < pushed / 4, "alternating moved {moved}");
    }

    #[test]
    fn queue_near_a_chunk_in_size_moves_few_bytes() {
        // A queue hovering around one chunk's worth: RPUSH at the tail, LPOP at the head.
        for backlog in [100, 600, 680, 700, 1400] {
            let mut l = List::new();
            (0..backlog).for_each(|i| l.push_back(&value(i)));
            let n = 100_000;
            let moved = moved_while(|| {
                for i in 0..n {
                    l.push_back(&value(i));
                    assert!(l.pop_front().is_some());
                }
            });
            l.check();
            assert_eq!(l.len(), backlog);
            assert!(moved < n * 12 * 3, "backlog {backlog}: moved {moved}");
        }
    }

    #[test]
    fn equality_ignores_the_chunk_layout() {
        let a: List = (0..3000).map(value).collect();
        let mut b = List::new();
        (0..3000).rev().for_each(|i| b.push_front(&value(i)));
        assert_eq!(a, b);
        assert_eq!(a.clone(), b);
        b.set(5, b"other");
        assert_ne!(a, b);
        assert_eq!(format!("{:?}", list(&["a\n", ""])), r#"[b"a\n", b""]"#);
    }

    /// xorshift64*: a few lines, seeded, the same on every platform.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// An index in `-len - 3 ..= len + 3`, edges and outliers included.
        fn index(&mut self, len: usize) -> i64 {
            let len = len as i64;
            match self.below(20) {
                0 => i64::MIN,
                1 => i64::MAX,
                _ => self.below(2 * len as u64 + 7) as i64 - len - 3,
            }
        }

        /// A value: often one of a few short ones (so that searches match), sometimes empty,
        /// one byte, mid-sized, near the chunk cap, or over it.
        fn value(&mut self) -> Vec<u8> {
            let len = match self.below(100) {
                0..=39 => return [&b"a"[..], b"bb", b"", b"ccc"][self.below(4) as usize].to_vec(),
                40..=49 => 0,
                50..=59 => 1,
                60..=89 => 2 + self.below(30),
                90..=96 => 100 + self.below(3000),
                97..=98 => CHUNK_BYTES_MAX as u64 - 40 + self.below(80),
                _ => 20_000,
            } as usize;
            let seed = self.next() as u8;
            (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
        }
    }

    /// Redis's LRANGE/LTRIM clamping, written out again as in t_list.c for the model.
    fn model_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
        let len = len as i64;
        let mut start = if start < 0 { len + start } else { start };
        let mut stop = if stop < 0 { len + stop } else { stop };
        if start < 0 {
            start = 0;
        }
        if start > stop || start >= len {
            return None;
        }
        if stop >= len {
            stop = len - 1;
        }
        Some((start as usize, stop as usize))
    }

    fn model_index(i: i64, len: usize) -> Option<usize> {
        let i = if i < 0 { i + len as i64 } else { i };
        (0..len as i64).contains(&i).then_some(i as usize)
    }

    /// Applies one random operation to both the list and the model and compares results.
    fn step(rng: &mut Rng, l: &mut List, model: &mut VecDeque<Vec<u8>>) {
        let len = model.len();
        // Bias toward shrinking ops once the list is long, so it stays a few thousand.
        let op = if len > 4000 {
            13 + rng.below(3)
        } else {
            rng.below(16)
        };
        match op {
            0 | 1 => {
                let v = rng.value();
                l.push_front(&v);
                model.push_front(v);
            }
            2 | 3 => {
                let v = rng.value();
                l.push_back(&v);
                model.push_back(v);
            }
            4 => {
                // A burst of small values, to cross chunk caps by count and by bytes.
                for _ in 0..rng.below(1500) {
                    let v = vec![b'q'; rng.below(12) as usize];
                    if rng.below(2) == 0 {
                        l.push_back(&v);
                        model.push_back(v);
                    } else {
                        l.push_front(&v);
                        model.push_front(v);
                    }
                }
            }
            5 => assert_eq!(l.pop_front(), model.pop_front()),
            6 => assert_eq!(l.pop_back(), model.pop_back()),
            7 => {
                let i = rng.index(len);
                assert_eq!(l.get(i), model_index(i, len).map(|i| model[i].as_slice()));
            }
            8 => {
                let i = rng.index(len);
                let v = rng.value();
                let want = model_index(i, len);
                assert_eq!(l.set(i, &v), want.is_some());
                if let Some(i) = want {
                    model[i] = v;
                }
            }
            9 => {
                let (start, stop) = (rng.index(len), rng.index(len));
                let want: Vec<&[u8]> = match model_range(start, stop, len) {
                    Some((a, b)) => model.range(a..=b).map(Vec::as_slice).collect(),
                    None => Vec::new(),
                };
                assert_eq!(l.range(start, stop).collect::<Vec<_>>(), want);
                let mut back: Vec<&[u8]> = l.range(start, stop).rev().collect();
                back.reverse();
                assert_eq!(back, want);
            }
            10 => {
                let pivot = rng.value();
                let before = rng.below(2) == 0;
                let v = rng.value();
                let found = model.iter().position(|m| *m == pivot);
                assert_eq!(l.insert(&pivot, before, &v), found.is_some());
                if let Some(p) = found {
                    model.insert(if before { p } else { p + 1 }, v);
                }
            }
            11 | 12 => {
                let v = rng.value();
                let count = match rng.below(6) {
                    0 => 0,
                    1 => i64::MIN,
                    2 => i64::MAX,
                    _ => rng.below(7) as i64 - 3,
                };
                let mut removed = 0;
                if count >= 0 {
                    let limit = if count == 0 {
                        usize::MAX
                    } else {
                        count as usize
                    };
                    let mut i = 0;
                    while i < model.len() {
                        if removed < limit && model[i] == v {
                            model.remove(i);
                            removed += 1;
                        } else {
                            i += 1;
                        }
                    }
                } else {
                    let limit = count.unsigned_abs() as usize;
                    let mut i = model.len();
                    while i > 0 && removed < limit {
                        i -= 1;
                        if model[i] == v {
                            model.remove(i);
                            removed += 1;
                        }
                    }
                }
                assert_eq!(l.remove(&v, count), removed);
            }
            13 => {
                let v = rng.value();
                let rank = match rng.below(5) {
                    0 => i64::MAX,
                    _ => [1, 2, 3, -1, -2, -3][rng.below(6) as usize],
                };
                let count = rng.below(4) as usize;
                let maxlen = [0, 1, 5, 100][rng.below(4) as usize];
                let scan = if maxlen == 0 { len } else { maxlen.min(len) };
                let order: Vec<usize> = if rank > 0 {
                    (0..scan).collect()
                } else {
                    (len - scan..len).rev().collect()
                };
                let mut want: Vec<usize> = order
                    .into_iter()
                    .filter(|&i| model[i] == v)
                    .skip((rank.unsigned_abs() - 1) as usize)
                    .collect();
                if count != 0 {
                    want.truncate(count);
                }
                assert_eq!(l.position(&v, rank, count, maxlen), want);
            }
            14 => {
                // Mostly small trims off the ends, sometimes a wild one.
                let (start, stop) = if rng.below(4) == 0 {
                    (rng.index(len), rng.index(len))
                } else {
                    (rng.below(50) as i64, -1 - rng.below(50) as i64)
                };
                match model_range(start, stop, len) {
                    Some((a, b)) => {
                        model.truncate(b + 1);
                        model.drain(..a);
                    }
                    None => model.clear(),
                }
                l.trim(start, stop);
            }
            _ => {
                for _ in 0..rng.below(200) {
                    if rng.below(2) == 0 {
                        assert_eq!(l.pop_front(), model.pop_front());
                    } else {
                        assert_eq!(l.pop_back(), model.pop_back());
                    }
                }
            }
        }
    }

    #[test]
    fn random_operations_agree_with_a_vecdeque_model() {
        // More seeds for a longer soak: BUSBAR_LIST_MODEL_SEEDS=300 cargo test --release.
        let seeds = std::env::var("BUSBAR_LIST_MODEL_SEEDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(6u64);
        for seed in 1..=seeds {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let mut l = List::new();
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for n in 0..3000 {
                step(&mut rng, &mut l, &mut model);
                l.check();
                assert_eq!(l.len(), model.len(), "seed {seed} step {n}");
                assert!(
                    l.iter().eq(model.iter().map(Vec::as_slice)),
                    "seed {seed} step {n}"
                );
                assert!(
                    l.iter().rev().eq(model.iter().rev().map(Vec::as_slice)),
                    "seed {seed} step {n}"
                );
            }
        }
    }
}
