//! A sorted set: members ordered by (score, member bytes), each member once.
//!
//! - `Pack`: a sorted vector of (score, member), for sets up to
//!   `zset-max-listpack-entries` members of up to `zset-max-listpack-value` bytes
//!   (Redis's listpack encoding; OBJECT ENCODING says so).
//! - `Tree`: an ordered tree of (score, member) plus a member -> score table
//!   (OBJECT ENCODING `skiplist`). Rank queries walk the tree: O(rank), not yet the
//!   O(log n) of an order-statistic structure (see the issue notes).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

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

/// A sorted set.
#[derive(Debug, Clone, PartialEq)]
pub enum Zset {
    /// Sorted (score, member) pairs.
    Pack(Vec<(Score, Box<[u8]>)>),
    /// Ordered pairs plus scores by member.
    Tree(Box<Tree>),
}

/// The large encoding.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tree {
    order: BTreeSet<(Score, Box<[u8]>)>,
    scores: HashMap<Box<[u8]>, Score, ahash::RandomState>,
}

impl Default for Zset {
    fn default() -> Self {
        Zset::Pack(Vec::new())
    }
}

impl Zset {
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
        if old.is_some() {
            self.remove(member);
        }
        if let Zset::Pack(v) = self {
            if v.len() >= limits.max_entries || member.len() > limits.max_value {
                self.convert();
            }
        }
        let key = (Score(score), Box::<[u8]>::from(member));
        match self {
            Zset::Pack(v) => {
                let at = v.partition_point(|e| *e < key);
                v.insert(at, key);
            }
            Zset::Tree(t) => {
                t.scores.insert(key.1.clone(), key.0);
                t.order.insert(key);
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
            Zset::Tree(t) => match t.scores.remove(member) {
                Some(s) => {
                    t.order.remove(&(s, Box::from(member)));
                    true
                }
                None => false,
            },
        }
    }

    fn convert(&mut self) {
        if let Zset::Pack(v) = self {
            let mut t = Tree::default();
            for (s, m) in v.drain(..) {
                t.scores.insert(m.clone(), s);
                t.order.insert((s, m));
            }
            *self = Zset::Tree(Box::new(t));
        }
    }

    /// Members in order (ascending score, then bytes), with their scores.
    pub fn iter(&self) -> Box<dyn DoubleEndedIterator<Item = (f64, &[u8])> + '_> {
        match self {
            Zset::Pack(v) => Box::new(v.iter().map(|(s, m)| (s.0, &m[..]))),
            Zset::Tree(t) => Box::new(t.order.iter().map(|(s, m)| (s.0, &m[..]))),
        }
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let key = (Score(score), Box::<[u8]>::from(member));
        Some(match self {
            Zset::Pack(v) => v.partition_point(|e| *e < key),
            Zset::Tree(t) => t.order.range(..key).count(),
        })
    }

    /// Number of members whose score is within the bounds.
    pub fn count_in(&self, min: Bound, max: Bound) -> usize {
        self.iter()
            .filter(|(s, _)| min.below(*s) && max.above(*s))
            .count()
    }
}

/// One end of a score range: a value and whether it is excluded (`(1.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    pub value: f64,
    pub exclusive: bool,
}

impl Bound {
    /// Parses `1.5`, `(1.5`, `inf`, `-inf`, `+inf` as Redis's `zslParseRange` does.
    pub fn parse(text: &[u8]) -> Option<Bound> {
        let (exclusive, rest) = match text.first() {
            Some(b'(') => (true, &text[1..]),
            _ => (false, text),
        };
        let value = crate::cmd::strings::parse_float(rest)?;
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

/// Formats a score as Redis does (`%.17g`; `resp::write::format_double`).
pub fn format_score(v: f64) -> String {
    crate::resp::write::format_double(v)
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
}
