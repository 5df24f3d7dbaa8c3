//! An ordered map kept as a deque of sorted chunks: the pending-entries lists of consumer
//! groups (`store::stream_group`).
//!
//! Stream IDs reach a PEL mostly in ascending order and leave it mostly from the front, so
//! a B-tree, whose nodes split in half as they fill from the right, ends up about half
//! full. Here a chunk holds up to [`CHUNK`] pairs in key order: a key past the last one
//! appends (chunks fill completely), a key inside a full chunk splits it, and a chunk
//! that drains below a quarter merges into a neighbour with room. Lookups binary-search
//! the chunks by their last key, then the chunk: O(log n). Removing from the front or the
//! back costs no shifting of the chunk deque.

use std::collections::VecDeque;

/// Most pairs per chunk.
pub const CHUNK: usize = 64;

/// An ordered map from `K` to `V` in sorted chunks.
#[derive(Debug, Clone)]
pub struct Chunked<K, V> {
    /// Never an empty chunk; keys ascend within and across chunks.
    chunks: VecDeque<Vec<(K, V)>>,
    len: usize,
}

impl<K, V> Default for Chunked<K, V> {
    fn default() -> Self {
        Chunked {
            chunks: VecDeque::new(),
            len: 0,
        }
    }
}

impl<K: Ord + Copy, V: PartialEq> PartialEq for Chunked<K, V> {
    /// The same pairs, however they are chunked.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<K: Ord + Copy, V: Eq> Eq for Chunked<K, V> {}

fn chunk_with<K, V>(first: (K, V)) -> Vec<(K, V)> {
    let mut c = Vec::with_capacity(CHUNK);
    c.push(first);
    c
}

impl<K: Ord + Copy, V> Chunked<K, V> {
    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first chunk whose last key is not below `k` (the one `k` is in, or would go).
    fn chunk_of(&self, k: &K) -> usize {
        self.chunks
            .partition_point(|c| c.last().is_some_and(|(last, _)| last < k))
    }

    /// Where `k` is: (chunk, index).
    fn find(&self, k: &K) -> Option<(usize, usize)> {
        let ci = self.chunk_of(k);
        let i = self
            .chunks
            .get(ci)?
            .binary_search_by(|(x, _)| x.cmp(k))
            .ok()?;
        Some((ci, i))
    }

    /// The value of `k`.
    pub fn get(&self, k: &K) -> Option<&V> {
        let (ci, i) = self.find(k)?;
        Some(&self.chunks[ci][i].1)
    }

    /// The value of `k`, to change.
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let (ci, i) = self.find(k)?;
        Some(&mut self.chunks[ci][i].1)
    }

    /// True if `k` is there.
    pub fn contains_key(&self, k: &K) -> bool {
        self.find(k).is_some()
    }

    /// Sets `k` to `v`; the value it had, if any.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        if self.chunks.is_empty() {
            self.chunks.push_back(chunk_with((k, v)));
            self.len = 1;
            return None;
        }
        // Past every key: it goes at the end of the last chunk.
        let ci = self.chunk_of(&k).min(self.chunks.len() - 1);
        let last_chunk = ci + 1 == self.chunks.len();
        let chunk = &mut self.chunks[ci];
        let i = match chunk.binary_search_by(|(x, _)| x.cmp(&k)) {
            Ok(i) => return Some(std::mem::replace(&mut chunk[i].1, v)),
            Err(i) => i,
        };
        self.len += 1;
        if chunk.len() < CHUNK {
            chunk.insert(i, (k, v));
            return None;
        }
        if last_chunk && i == CHUNK {
            // Ascending keys fill chunks completely.
            self.chunks.push_back(chunk_with((k, v)));
        } else if i == 0 && ci > 0 && self.chunks[ci - 1].len() < CHUNK {
            // Between two chunks: the end of the previous one has room.
            self.chunks[ci - 1].push((k, v));
        } else {
            let chunk = &mut self.chunks[ci];
            let mut right = Vec::with_capacity(CHUNK);
            right.extend(chunk.drain(CHUNK / 2..));
            if i <= CHUNK / 2 {
                chunk.insert(i, (k, v));
            } else {
                right.insert(i - CHUNK / 2, (k, v));
            }
            self.chunks.insert(ci + 1, right);
        }
        None
    }

    /// Removes `k`; the value it had, if any.
    pub fn remove(&mut self, k: &K) -> Option<V> {
        let (ci, i) = self.find(k)?;
        let (_, v) = self.chunks[ci].remove(i);
        self.len -= 1;
        let n = self.chunks[ci].len();
        if n == 0 {
            self.chunks.remove(ci);
        } else if n < CHUNK / 4 {
            // Merge into a neighbour with room, so chunks stay at least a quarter full.
            if ci + 1 < self.chunks.len() && self.chunks[ci + 1].len() + n <= CHUNK {
                let next = self.chunks.remove(ci + 1).expect("a next chunk");
                self.chunks[ci].extend(next);
            } else if ci > 0 && self.chunks[ci - 1].len() + n <= CHUNK {
                let this = self.chunks.remove(ci).expect("this chunk");
                self.chunks[ci - 1].extend(this);
            }
        }
        Some(v)
    }

    /// The first pair.
    pub fn first(&self) -> Option<(&K, &V)> {
        self.chunks.front()?.first().map(|(k, v)| (k, v))
    }

    /// The last pair.
    pub fn last(&self) -> Option<(&K, &V)> {
        self.chunks.back()?.last().map(|(k, v)| (k, v))
    }

    /// The pairs with keys in `lo..=hi`, ascending.
    pub fn range(&self, lo: K, hi: K) -> impl DoubleEndedIterator<Item = (&K, &V)> + '_ {
        // From the first key >= lo (chunk c0, index i0) to before the first key > hi.
        let c0 = self.chunk_of(&lo);
        let i0 = self
            .chunks
            .get(c0)
            .map_or(0, |c| c.partition_point(|(k, _)| *k < lo));
        let c1 = self
            .chunks
            .partition_point(|c| c.last().is_some_and(|(last, _)| *last <= hi));
        let i1 = self
            .chunks
            .get(c1)
            .map_or(0, |c| c.partition_point(|(k, _)| *k <= hi));
        let chunks = if lo <= hi && c0 <= c1 {
            c0..c1 + 1
        } else {
            0..0
        };
        chunks
            .filter_map(move |j| {
                let c = self.chunks.get(j)?;
                let from = if j == c0 { i0 } else { 0 };
                let to = if j == c1 { i1 } else { c.len() };
                c.get(from..to)
            })
            .flatten()
            .map(|(k, v)| (k, v))
    }

    /// Every pair, ascending.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + '_ {
        self.chunks.iter().flatten().map(|(k, v)| (k, v))
    }

    /// The keys, ascending.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A small deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn check(c: &Chunked<u64, u64>, m: &BTreeMap<u64, u64>) {
        assert_eq!(c.len(), m.len());
        assert!(c
            .iter()
            .map(|(k, v)| (*k, *v))
            .eq(m.iter().map(|(k, v)| (*k, *v))));
        assert!(c
            .chunks
            .iter()
            .all(|ch| !ch.is_empty() && ch.len() <= CHUNK));
    }

    #[test]
    fn random_operations_agree_with_a_btreemap() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..4 {
            let (mut c, mut m) = (Chunked::default(), BTreeMap::new());
            let span = [50, 500, 5000, 100_000][round];
            let mut next = 0;
            for step in 0..20_000u64 {
                match rng.below(10) {
                    // Mostly ascending, as deliveries are.
                    0..=3 => {
                        next += 1 + rng.below(3);
                        assert_eq!(c.insert(next, step), m.insert(next, step));
                    }
                    4 | 5 => {
                        let k = rng.below(span);
                        assert_eq!(c.insert(k, step), m.insert(k, step));
                    }
                    6 | 7 => {
                        let k = if rng.below(2) == 0 {
                            m.keys().next().copied().unwrap_or(0)
                        } else {
                            rng.below(span.max(next + 1))
                        };
                        assert_eq!(c.remove(&k), m.remove(&k));
                    }
                    8 => {
                        let k = rng.below(span.max(next + 1));
                        assert_eq!(c.get(&k), m.get(&k));
                        if let Some(v) = c.get_mut(&k) {
                            *v += 1;
                            *m.get_mut(&k).unwrap() += 1;
                        }
                    }
                    _ => {
                        let lo = rng.below(span.max(next + 1));
                        let hi = lo + rng.below(300);
                        let got: Vec<_> = c.range(lo, hi).map(|(k, _)| *k).collect();
                        let want: Vec<_> = m.range(lo..=hi).map(|(k, _)| *k).collect();
                        assert_eq!(got, want, "range {lo}..={hi}");
                        let back: Vec<_> = c.range(lo, hi).rev().map(|(k, _)| *k).collect();
                        assert_eq!(back, want.iter().rev().copied().collect::<Vec<_>>());
                        assert_eq!(c.range(hi + 1, lo).count(), 0);
                    }
                }
            }
            check(&c, &m);
            assert_eq!(c.first().map(|(k, _)| *k), m.keys().next().copied());
            assert_eq!(c.last().map(|(k, _)| *k), m.keys().next_back().copied());
            while let Some((&k, _)) = m.iter().next() {
                assert_eq!(c.remove(&k), m.remove(&k));
            }
            assert!(c.is_empty() && c.chunks.is_empty());
        }
    }

    #[test]
    fn ascending_keys_fill_chunks_completely() {
        let mut c = Chunked::default();
        for k in 0..10 * CHUNK as u64 {
            c.insert(k, ());
        }
        assert_eq!(c.chunks.len(), 10);
        assert!(c.chunks.iter().all(|ch| ch.len() == CHUNK));
        // Draining from the front leaves no near-empty chunks behind.
        for k in 0..5 * CHUNK as u64 + 3 {
            c.remove(&k);
        }
        assert_eq!(c.chunks.len(), 5);
        assert!(c.chunks.iter().all(|ch| ch.len() >= CHUNK / 4));
    }
}
