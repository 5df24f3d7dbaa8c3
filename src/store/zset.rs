//! A sorted set: members ordered by (score, member bytes), each member once.
//!
//! - `Pack`: a sorted vector of (score, member), for sets up to
//!   `zset-max-listpack-entries` members of up to `zset-max-listpack-value` bytes
//!   (Redis's listpack encoding; OBJECT ENCODING says so).
//! - `Tree`: the order as a list of sorted runs (each at most `RUN_MAX` entries) with a
//!   Fenwick tree over the run lengths, plus a member -> score table (OBJECT ENCODING
//!   `skiplist`). Finding a member's rank, the member at a rank, or where a score or name
//!   range starts is O(log n); an insert or removal moves at most one run's entries.
//!   The score table is insertion-ordered so ZSCAN can walk it by index.
//!
//! Everything positional is a *rank*: 0 is the lowest (score, member).

use std::cmp::Ordering;

use indexmap::IndexMap;

/// A score with the total order Redis uses (no NaN is ever stored).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(Ordering::Equal)
    }
}

/// The packed encoding's limits (CONFIG `zset-max-listpack-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackLimits {
    /// Most members a packed set holds.
    pub max_entries: usize,
    /// Longest member a packed set holds, in bytes.
    pub max_value: usize,
}

impl Default for PackLimits {
    fn default() -> Self {
        // Redis 7.0's defaults.
        PackLimits {
            max_entries: 128,
            max_value: 64,
        }
    }
}

/// One member in order.
type Entry = (Score, Box<[u8]>);

/// A sorted set.
#[derive(Debug, Clone)]
pub enum Zset {
    /// Sorted (score, member) pairs.
    Pack(Vec<Entry>),
    /// Sorted runs plus scores by member.
    Tree(Box<Tree>),
}

/// A run splits in two past this many entries.
const RUN_MAX: usize = 256;

/// A run this short merges into a neighbour.
const RUN_MIN: usize = 32;

/// The large encoding.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// Sorted runs; their concatenation is the order. None is empty.
    runs: Vec<Vec<Entry>>,
    /// Run lengths, for prefix sums.
    sizes: Fenwick,
    /// Each run's last score, searched before any run is touched (a cache-friendly first
    /// step: runs are only read where the score alone cannot decide).
    fences: Vec<Score>,
    /// Scores by member, in insertion order (swap-removed).
    scores: IndexMap<Box<[u8]>, Score, ahash::RandomState>,
}

/// A Fenwick (binary indexed) tree of run lengths: prefix sums and "which run holds
/// rank r" in O(log runs).
#[derive(Debug, Clone, Default)]
struct Fenwick(Vec<usize>);

impl Fenwick {
    fn build(lens: impl Iterator<Item = usize>) -> Fenwick {
        let mut t: Vec<usize> = lens.collect();
        for i in 0..t.len() {
            let parent = i | (i + 1);
            if parent < t.len() {
                t[parent] += t[i];
            }
        }
        Fenwick(t)
    }

    fn add(&mut self, mut i: usize, delta: isize) {
        while i < self.0.len() {
            self.0[i] = self.0[i].wrapping_add_signed(delta);
            i |= i + 1;
        }
    }

    /// Sum of the lengths of runs `0..i`.
    fn prefix(&self, mut i: usize) -> usize {
        let mut sum = 0;
        while i > 0 {
            sum += self.0[i - 1];
            i &= i - 1;
        }
        sum
    }

    /// The run holding rank `r` and the offset in it (`r` < total).
    fn find(&self, mut r: usize) -> (usize, usize) {
        let mut at = 0;
        let mut step = self.0.len().next_power_of_two();
        while step > 0 {
            let next = at + step;
            if next <= self.0.len() && self.0[next - 1] <= r {
                r -= self.0[next - 1];
                at = next;
            }
            step >>= 1;
        }
        (at, r)
    }
}

/// A run's fence: its last score (an empty run, only ever the sole run of an empty set,
/// sorts after everything).
fn fence_of(run: &[Entry]) -> Score {
    run.last().map_or(Score(f64::INFINITY), |e| e.0)
}

/// How an entry compares with the key (`score`, `member`).
fn cmp_key(e: &Entry, score: Score, member: &[u8]) -> Ordering {
    e.0.cmp(&score).then_with(|| e.1[..].cmp(member))
}

impl Tree {
    fn rebuild_index(&mut self) {
        self.sizes = Fenwick::build(self.runs.iter().map(Vec::len));
        self.fences = self.runs.iter().map(|r| fence_of(r)).collect();
    }

    /// The run the key (`score`, `member`) belongs in: the first whose last entry is not
    /// below it. Fences settle it by score; only runs ending on that very score are read.
    fn run_for(&self, score: Score, member: &[u8]) -> usize {
        let lo = self.fences.partition_point(|&f| f < score);
        let hi = lo + self.fences[lo..].partition_point(|&f| f <= score);
        let i = lo
            + self.runs[lo..hi].partition_point(|r| {
                r.last()
                    .is_some_and(|l| cmp_key(l, score, member) == Ordering::Less)
            });
        i.min(self.runs.len().saturating_sub(1))
    }

    fn insert(&mut self, key: Entry) {
        if self.runs.is_empty() {
            self.runs.push(Vec::with_capacity(RUN_MIN));
            self.rebuild_index();
        }
        let score = key.0;
        let ri = self.run_for(score, &key.1);
        let run = &mut self.runs[ri];
        let at = run.partition_point(|e| *e < key);
        if run.len() == run.capacity() {
            // Grow straight to the most a run holds (plus the one that makes it split),
            // not by doubling: a doubled run would keep 512 slots for the 128 entries
            // left after its split.
            run.reserve_exact((RUN_MAX + 1).saturating_sub(run.len()).max(1));
        }
        run.insert(at, key);
        if run.len() > RUN_MAX {
            let tail = run.split_off(run.len() / 2);
            self.runs.insert(ri + 1, tail);
            self.rebuild_index();
        } else {
            self.sizes.add(ri, 1);
            if at + 1 == run.len() {
                self.fences[ri] = score;
            }
        }
    }

    fn remove(&mut self, score: Score, member: &[u8]) {
        let ri = self.run_for(score, member);
        let run = &mut self.runs[ri];
        let Ok(at) = run.binary_search_by(|e| cmp_key(e, score, member)) else {
            return;
        };
        run.remove(at);
        let (left, fence) = (run.len(), fence_of(run));
        if left >= RUN_MIN || self.runs.len() == 1 {
            self.sizes.add(ri, -1);
            self.fences[ri] = fence;
            return;
        }
        // Fold a short run into a neighbour (splitting again if that overflows).
        let short = self.runs.remove(ri);
        let into = ri.saturating_sub(1).min(self.runs.len() - 1);
        let target = &mut self.runs[into];
        if into < ri {
            target.extend(short);
        } else {
            let mut merged = short;
            merged.append(target);
            *target = merged;
        }
        if target.len() > RUN_MAX {
            let tail = target.split_off(target.len() / 2);
            self.runs.insert(into + 1, tail);
        }
        self.rebuild_index();
    }

    /// The rank the key (`score`, `member`) has or would have.
    fn rank_of(&self, score: Score, member: &[u8]) -> usize {
        if self.runs.is_empty() {
            return 0;
        }
        let ri = self.run_for(score, member);
        self.sizes.prefix(ri)
            + self.runs[ri].partition_point(|e| cmp_key(e, score, member) == Ordering::Less)
    }

    /// The number of entries whose score satisfies `below` (it must hold for a prefix),
    /// found through the fences.
    fn score_partition(&self, below: impl Fn(Score) -> bool) -> usize {
        let ri = self.fences.partition_point(|&f| below(f));
        if ri == self.runs.len() {
            return self.scores.len();
        }
        self.sizes.prefix(ri) + self.runs[ri].partition_point(|e| below(e.0))
    }

    /// Ranks `lo..hi` (`lo < hi <= len`) as a double-ended walk.
    fn range(&self, lo: usize, hi: usize) -> impl DoubleEndedIterator<Item = &Entry> + '_ {
        let (ra, oa) = self.sizes.find(lo);
        let (rb, ob) = self.sizes.find(hi - 1);
        let (first, mid, last): (&[Entry], &[Vec<Entry>], &[Entry]) = if ra == rb {
            (&self.runs[ra][oa..=ob], &[], &[])
        } else {
            (
                &self.runs[ra][oa..],
                &self.runs[ra + 1..rb],
                &self.runs[rb][..=ob],
            )
        };
        first.iter().chain(mid.iter().flatten()).chain(last.iter())
    }

    /// The number of entries for which `below` holds (it must hold for a prefix).
    fn partition_point(&self, below: impl Fn(&Entry) -> bool) -> usize {
        let ri = self.runs.partition_point(|r| r.last().is_some_and(&below));
        if ri == self.runs.len() {
            return self.scores.len();
        }
        self.sizes.prefix(ri) + self.runs[ri].partition_point(&below)
    }
}

/// The score as `z`'s encoding keeps it: a listpack stores `-0` as the integer 0 (Redis
/// writes the score as text and `-0` parses as an integer), so a packed set has no `-0`;
/// the large encoding keeps the double as it is.
fn packed_score(z: &Zset, score: f64) -> f64 {
    match z {
        Zset::Pack(_) if score == 0.0 => 0.0,
        _ => score,
    }
}

impl PartialEq for Zset {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Default for Zset {
    fn default() -> Self {
        Zset::Pack(Vec::new())
    }
}

impl Zset {
    /// A set from pairs already in order and distinct (a dump's), packed if `packed`.
    pub fn from_sorted(pairs: Vec<(f64, Box<[u8]>)>, packed: bool) -> Zset {
        if packed {
            let pack = Zset::Pack(Vec::new());
            let entries = pairs
                .into_iter()
                .map(|(s, m)| (Score(packed_score(&pack, s)), m))
                .collect();
            return Zset::Pack(entries);
        }
        let entries: Vec<Entry> = pairs.into_iter().map(|(s, m)| (Score(s), m)).collect();
        let mut t = Tree::default();
        t.scores.reserve(entries.len());
        for (s, m) in &entries {
            t.scores.insert(m.clone(), *s);
        }
        let mut rest = entries.into_iter().peekable();
        while rest.peek().is_some() {
            t.runs.push(rest.by_ref().take(RUN_MAX / 2).collect());
        }
        t.rebuild_index();
        Zset::Tree(Box::new(t))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            Zset::Pack(v) => v.len(),
            Zset::Tree(t) => t.scores.len(),
        }
    }

    /// True when empty (such a set is deleted by its command).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        match self {
            Zset::Pack(_) => "listpack",
            Zset::Tree(_) => "skiplist",
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Zset::Pack(v) => v.iter().find(|(_, m)| &m[..] == member).map(|(s, _)| s.0),
            Zset::Tree(t) => t.scores.get(member).map(|s| s.0),
        }
    }

    /// Sets `member`'s score (inserting it if new). Returns true if it was new.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: PackLimits) -> bool {
        let old = self.score(member);
        if let Some(o) = old {
            if o == score {
                return false;
            }
            self.remove(member);
        }
        if let Zset::Pack(v) = self {
            if v.len() >= limits.max_entries || member.len() > limits.max_value {
                self.convert();
            }
        }
        let key = (Score(packed_score(self, score)), Box::<[u8]>::from(member));
        match self {
            Zset::Pack(v) => {
                let at = v.partition_point(|e| *e < key);
                v.insert(at, key);
            }
            Zset::Tree(t) => {
                t.scores.insert(key.1.clone(), key.0);
                t.insert(key);
            }
        }
        old.is_none()
    }

    /// Removes `member`; returns true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Zset::Pack(v) => match v.iter().position(|(_, m)| &m[..] == member) {
                Some(i) => {
                    v.remove(i);
                    true
                }
                None => false,
            },
            Zset::Tree(t) => match t.scores.swap_remove(member) {
                Some(s) => {
                    t.remove(s, member);
                    true
                }
                None => false,
            },
        }
    }

    fn convert(&mut self) {
        if let Zset::Pack(v) = self {
            let pairs = std::mem::take(v)
                .into_iter()
                .map(|(s, m)| (s.0, m))
                .collect();
            *self = Zset::from_sorted(pairs, false);
        }
    }

    /// Members in order (ascending score, then bytes), with their scores.
    pub fn iter(&self) -> Box<dyn DoubleEndedIterator<Item = (f64, &[u8])> + '_> {
        self.range(0, self.len())
    }

    /// Members of ranks `lo..hi` in order (clamped to the set).
    pub fn range(
        &self,
        lo: usize,
        hi: usize,
    ) -> Box<dyn DoubleEndedIterator<Item = (f64, &[u8])> + '_> {
        let hi = hi.min(self.len());
        let lo = lo.min(hi);
        match self {
            Zset::Pack(v) => Box::new(v[lo..hi].iter().map(|(s, m)| (s.0, &m[..]))),
            Zset::Tree(_) if lo == hi => Box::new(std::iter::empty()),
            Zset::Tree(t) => Box::new(t.range(lo, hi).map(|(s, m)| (s.0, &m[..]))),
        }
    }

    /// The member at rank `r`.
    pub fn nth(&self, r: usize) -> Option<(f64, &[u8])> {
        self.range(r, r + 1).next()
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = Score(self.score(member)?);
        Some(match self {
            Zset::Pack(v) => v.partition_point(|e| cmp_key(e, score, member) == Ordering::Less),
            Zset::Tree(t) => t.rank_of(score, member),
        })
    }

    /// The number of members for which `below(score, member)` holds; it must hold for a
    /// prefix of the order (then this is where that prefix ends).
    pub fn partition_point(&self, below: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            Zset::Pack(v) => v.partition_point(|(s, m)| below(s.0, m)),
            Zset::Tree(t) => t.partition_point(|(s, m)| below(s.0, m)),
        }
    }

    /// The ranks whose scores are within the bounds.
    pub fn score_ranks(&self, min: Bound, max: Bound) -> std::ops::Range<usize> {
        let (lo, hi) = match self {
            Zset::Pack(v) => (
                v.partition_point(|e| !min.below(e.0 .0)),
                v.partition_point(|e| max.above(e.0 .0)),
            ),
            Zset::Tree(t) => (
                t.score_partition(|s| !min.below(s.0)),
                t.score_partition(|s| max.above(s.0)),
            ),
        };
        lo..hi.max(lo)
    }

    /// Number of members whose score is within the bounds.
    pub fn count_in(&self, min: Bound, max: Bound) -> usize {
        self.score_ranks(min, max).len()
    }

    /// Removes and returns up to `n` members from the low end (or the high end if `max`),
    /// in that order.
    pub fn pop(&mut self, max: bool, n: usize) -> Vec<(f64, Box<[u8]>)> {
        let n = n.min(self.len());
        let picked: Vec<(f64, Box<[u8]>)> = if max {
            let len = self.len();
            self.range(len - n, len)
                .rev()
                .map(|(s, m)| (s, m.into()))
                .collect()
        } else {
            self.range(0, n).map(|(s, m)| (s, m.into())).collect()
        };
        for (_, m) in &picked {
            self.remove(m);
        }
        picked
    }

    /// ZSCAN's walk: the member at table index `i` of the large encoding (an index taken
    /// from the top down visits every member present throughout at least once).
    pub fn table_at(&self, i: usize) -> Option<(f64, &[u8])> {
        match self {
            Zset::Pack(_) => None,
            Zset::Tree(t) => t.scores.get_index(i).map(|(m, s)| (s.0, &m[..])),
        }
    }
}

/// One end of a score range: a value and whether it is excluded (`(1.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The score.
    pub value: f64,
    /// True for `(`: the score itself is outside the range.
    pub exclusive: bool,
}

impl Bound {
    /// Parses `1.5`, `(1.5`, `inf`, `-inf`, `+inf` as Redis's `zslParseRange` does: C
    /// `strtod` after the optional `(`, so `1e400` is inf, an empty rest (`(`, ``) is 0,
    /// leading blanks are skipped and a NUL ends the text; NaN and trailing junk are
    /// refused.
    pub fn parse(text: &[u8]) -> Option<Bound> {
        let (exclusive, rest) = match text.first() {
            Some(b'(') => (true, &text[1..]),
            _ => (false, text),
        };
        let value = crate::num::cnum::score_bound(rest)?;
        Some(Bound { value, exclusive })
    }

    /// True if `s` is at or above this lower bound.
    pub fn below(self, s: f64) -> bool {
        if self.exclusive {
            s > self.value
        } else {
            s >= self.value
        }
    }

    /// True if `s` is at or below this upper bound.
    pub fn above(self, s: f64) -> bool {
        if self.exclusive {
            s < self.value
        } else {
            s <= self.value
        }
    }
}

/// Formats a score as Redis does (`%.17g`; `num::format_double`).
pub fn format_score(v: f64) -> String {
    crate::num::format_double(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_print_like_percent_17g() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (3.0, "3"),
            (1e20, "1e+20"),
            (0.30000000000000004, "0.30000000000000004"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-2.5, "-2.5"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (12345678901234567.0, "12345678901234568"),
        ];
        for &(v, want) in cases {
            assert_eq!(format_score(v), want, "{v}");
        }
    }

    #[test]
    fn random_operations_agree_with_a_sorted_model() {
        let limits = PackLimits {
            max_entries: 8,
            max_value: 64,
        };
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _ in 0..10 {
            let mut z = Zset::default();
            let mut model: std::collections::BTreeMap<Vec<u8>, f64> = Default::default();
            for _ in 0..300 {
                let m = format!("m{}", next(30)).into_bytes();
                if next(4) == 0 {
                    assert_eq!(z.remove(&m), model.remove(&m).is_some());
                } else {
                    let s = next(10) as f64 - 5.0;
                    assert_eq!(
                        z.insert(&m, s, limits),
                        model.insert(m.clone(), s).is_none()
                    );
                }
                let mut want: Vec<(f64, Vec<u8>)> =
                    model.iter().map(|(m, s)| (*s, m.clone())).collect();
                want.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
                let got: Vec<(f64, Vec<u8>)> = z.iter().map(|(s, m)| (s, m.to_vec())).collect();
                assert_eq!(got, want);
                for (i, (_, m)) in want.iter().enumerate() {
                    assert_eq!(z.rank(m), Some(i));
                }
            }
        }
    }

    #[test]
    fn a_large_set_keeps_ranks_and_ranges_right_across_runs() {
        let limits = PackLimits::default();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut z = Zset::default();
        let mut model: std::collections::BTreeMap<Vec<u8>, f64> = Default::default();
        for round in 0..40_000 {
            let m = format!("member:{}", next(5000)).into_bytes();
            // Grow for a while, then shrink, so runs split and merge.
            let grow = (round / 10_000) % 2 == 0;
            if next(10) < if grow { 3 } else { 7 } {
                assert_eq!(z.remove(&m), model.remove(&m).is_some());
            } else {
                let s = next(200) as f64 / 4.0 - 10.0;
                assert_eq!(
                    z.insert(&m, s, limits),
                    model.insert(m.clone(), s).is_none()
                );
            }
            if round % 2000 != 1999 {
                continue;
            }
            let mut want: Vec<(f64, Vec<u8>)> =
                model.iter().map(|(m, s)| (*s, m.clone())).collect();
            want.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
            assert_eq!(z.len(), want.len());
            let got: Vec<(f64, Vec<u8>)> = z.iter().map(|(s, m)| (s, m.to_vec())).collect();
            assert_eq!(got, want);
            let back: Vec<(f64, Vec<u8>)> = z.iter().rev().map(|(s, m)| (s, m.to_vec())).collect();
            assert!(back.iter().rev().eq(want.iter()));
            for (i, (s, m)) in want.iter().enumerate().step_by(37) {
                assert_eq!(z.rank(m), Some(i));
                assert_eq!(z.nth(i), Some((*s, &m[..])));
                let lo = i.saturating_sub(300);
                let window: Vec<&[u8]> = z.range(lo, i + 1).map(|(_, m)| m).collect();
                let expect: Vec<&[u8]> = want[lo..=i].iter().map(|(_, m)| &m[..]).collect();
                assert_eq!(window, expect);
            }
            let (min, max) = (
                Bound {
                    value: -3.0,
                    exclusive: true,
                },
                Bound {
                    value: 20.5,
                    exclusive: false,
                },
            );
            let r = z.score_ranks(min, max);
            let expect = want.iter().filter(|(s, _)| *s > -3.0 && *s <= 20.5).count();
            assert_eq!(r.len(), expect);
            assert!(want[r.start..r.end]
                .iter()
                .all(|(s, _)| *s > -3.0 && *s <= 20.5));
        }
    }

    #[test]
    fn equal_scores_across_many_runs_order_by_member() {
        // A name-ordered set (every score 0) spans many runs whose fences are all equal:
        // the member decides where a key goes.
        let limits = PackLimits::default();
        let mut z = Zset::default();
        let mut model = std::collections::BTreeSet::new();
        let mut x: u64 = 0x0123_4567_89ab_cdef;
        for step in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = format!("name:{:05}", x % 4000).into_bytes();
            if step % 3 == 2 {
                assert_eq!(z.remove(&m), model.remove(&m));
            } else {
                z.insert(&m, 0.0, limits);
                model.insert(m);
            }
        }
        let got: Vec<&[u8]> = z.iter().map(|(_, m)| m).collect();
        let want: Vec<&[u8]> = model.iter().map(|m| &m[..]).collect();
        assert_eq!(got, want);
        for (i, m) in model.iter().enumerate().step_by(11) {
            assert_eq!(z.rank(m), Some(i));
        }
        let all = Bound {
            value: 0.0,
            exclusive: false,
        };
        assert_eq!(z.score_ranks(all, all), 0..model.len());
    }
}
