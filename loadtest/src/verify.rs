//! Delivery verification: what each message carries, and the trackers that catch loss,
//! duplication and reordering (pub/sub) or anything but exactly-once (queues, streams).

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Marks a payload as ours, so a stray message on a shared server is reported, not misread.
const PAYLOAD_MAGIC: [u8; 4] = *b"BBL1";
/// Bytes of the header; messages are padded from here up to the requested size.
pub const PAYLOAD_HEADER_BYTES: usize = 40;
/// Gap ranges one sequence tracker remembers; past this the oldest gap is written off as lost
/// (a late arrival from it then counts as a duplicate), so a badly lossy run stays bounded.
const MISSING_RANGES_MAX: usize = 65_536;

/// The header every message, job and stream entry carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Publisher / producer index.
    pub source: u32,
    /// Channel / queue / stream index the source sent it to.
    pub lane: u32,
    /// The source's sequence over all lanes (0, 1, 2, ...).
    pub seq: u64,
    /// The source's sequence on this lane alone (0, 1, 2, ...): what ordering is checked on.
    pub lane_seq: u64,
    /// Send time on the process clock (`run::now_ns`).
    pub sent_ns: u64,
}

impl Stamp {
    /// Writes the header and pads with `.` to `size` bytes (at least the header).
    pub fn encode_into(&self, out: &mut Vec<u8>, size: usize) {
        let start = out.len();
        out.extend_from_slice(&PAYLOAD_MAGIC);
        out.extend_from_slice(&self.source.to_le_bytes());
        out.extend_from_slice(&self.lane.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.lane_seq.to_le_bytes());
        out.extend_from_slice(&self.sent_ns.to_le_bytes());
        let used = out.len() - start;
        out.resize(out.len() + size.saturating_sub(used), b'.');
    }

    /// Reads a header; `None` if the bytes are not one of ours.
    pub fn decode(bytes: &[u8]) -> Option<Stamp> {
        if bytes.len() < PAYLOAD_HEADER_BYTES || bytes[..4] != PAYLOAD_MAGIC {
            return None;
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        Some(Stamp {
            source: u32_at(4),
            lane: u32_at(8),
            seq: u64_at(16),
            lane_seq: u64_at(24),
            sent_ns: u64_at(32),
        })
    }
}

/// What one arrival was, relative to those before it on the same stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The next expected sequence number.
    InOrder,
    /// Ahead of the next expected: this many numbers were skipped (lost unless they come later).
    Gap(u64),
    /// A number skipped earlier arrived late.
    Late,
    /// A number already seen.
    Duplicate,
}

/// Checks one ordered stream (one publisher on one channel, as one subscription sees it):
/// sequence numbers must arrive 0, 1, 2, ... each exactly once.
#[derive(Debug, Default, Clone)]
pub struct SeqTracker {
    /// The sequence number expected next: everything below it arrived or is in `missing`.
    next: u64,
    /// Skipped numbers not yet seen, as `start -> end` (exclusive) ranges.
    missing: BTreeMap<u64, u64>,
    /// Numbers in `missing` ranges dropped to respect `MISSING_RANGES_MAX`.
    written_off: u64,
    /// Distinct numbers received.
    pub unique: u64,
    /// Numbers received again.
    pub duplicates: u64,
    /// Numbers received after a higher one (late fills of a gap).
    pub reordered: u64,
}

impl SeqTracker {
    /// Accounts for one arrival.
    pub fn observe(&mut self, seq: u64) -> Arrival {
        if seq == self.next {
            self.next += 1;
            self.unique += 1;
            return Arrival::InOrder;
        }
        if seq > self.next {
            let skipped = seq - self.next;
            self.missing.insert(self.next, seq);
            if self.missing.len() > MISSING_RANGES_MAX {
                if let Some((start, end)) = self.missing.pop_first() {
                    self.written_off += end - start;
                }
            }
            self.next = seq + 1;
            self.unique += 1;
            return Arrival::Gap(skipped);
        }
        let hole = self
            .missing
            .range(..=seq)
            .next_back()
            .map(|(&s, &e)| (s, e));
        match hole {
            Some((start, end)) if seq < end => {
                self.missing.remove(&start);
                if start < seq {
                    self.missing.insert(start, seq);
                }
                if seq + 1 < end {
                    self.missing.insert(seq + 1, end);
                }
                self.unique += 1;
                self.reordered += 1;
                Arrival::Late
            }
            _ => {
                self.duplicates += 1;
                Arrival::Duplicate
            }
        }
    }

    /// Numbers never received, given that the source sent `sent` of them (0..sent).
    pub fn lost(&self, sent: u64) -> u64 {
        let holes: u64 = self.missing.iter().map(|(s, e)| e - s).sum();
        holes + self.written_off + sent.saturating_sub(self.next)
    }

    /// True once everything below `sent` has arrived.
    #[cfg(test)]
    pub fn complete(&self, sent: u64) -> bool {
        self.next >= sent && self.missing.is_empty() && self.written_off == 0
    }
}

/// Exactly-once bookkeeping for jobs and stream entries: one bit per (source, seq), shared
/// by every consumer thread. A lock per source is cheap next to the round trip of each pop.
pub struct SeenSet {
    sources: Vec<Mutex<SeenBits>>,
}

#[derive(Default)]
struct SeenBits {
    words: Vec<u64>,
    unique: u64,
    duplicates: u64,
}

/// Totals of a `SeenSet` against what the sources sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeenTotals {
    /// Distinct items consumed.
    pub unique: u64,
    /// Items consumed more than once (each extra time counts).
    pub duplicates: u64,
    /// Items sent but never consumed.
    pub missing: u64,
    /// Items consumed that no source reports sending (sequence beyond its count).
    pub unexpected: u64,
}

impl SeenSet {
    /// A set for `sources` sources.
    pub fn new(sources: usize) -> SeenSet {
        SeenSet {
            sources: (0..sources)
                .map(|_| Mutex::new(SeenBits::default()))
                .collect(),
        }
    }

    /// Marks one consumption; false if this (source, seq) was already consumed or unknown.
    pub fn mark(&self, source: u32, seq: u64) -> bool {
        let Some(slot) = self.sources.get(source as usize) else {
            return false;
        };
        let mut bits = slot.lock().unwrap();
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= bits.words.len() {
            let grown = (word + 1).max(bits.words.len() * 2);
            bits.words.resize(grown, 0);
        }
        let mask = 1u64 << bit;
        if bits.words[word] & mask != 0 {
            bits.duplicates += 1;
            return false;
        }
        bits.words[word] |= mask;
        bits.unique += 1;
        true
    }

    /// Distinct items consumed so far.
    pub fn unique(&self) -> u64 {
        self.sources.iter().map(|s| s.lock().unwrap().unique).sum()
    }

    /// Compares what was consumed with what each source sent (`sent[source]` items, 0..n).
    pub fn totals(&self, sent: &[u64]) -> SeenTotals {
        let mut totals = SeenTotals::default();
        for (source, slot) in self.sources.iter().enumerate() {
            let bits = slot.lock().unwrap();
            let n = sent.get(source).copied().unwrap_or(0);
            let mut within = 0u64;
            for (i, word) in bits.words.iter().enumerate() {
                let base = i as u64 * 64;
                if base >= n {
                    break;
                }
                let valid = if n - base >= 64 {
                    u64::MAX
                } else {
                    (1u64 << (n - base)) - 1
                };
                within += u64::from((word & valid).count_ones());
            }
            totals.unique += bits.unique;
            totals.duplicates += bits.duplicates;
            totals.missing += n - within;
            totals.unexpected += bits.unique - within;
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trips_and_pads() {
        let stamp = Stamp {
            source: 3,
            lane: 7,
            seq: 1 << 40,
            lane_seq: 99,
            sent_ns: 123_456,
        };
        let mut buf = Vec::new();
        stamp.encode_into(&mut buf, 100);
        assert_eq!(buf.len(), 100);
        assert_eq!(Stamp::decode(&buf), Some(stamp));
        let mut small = Vec::new();
        stamp.encode_into(&mut small, 1);
        assert_eq!(small.len(), PAYLOAD_HEADER_BYTES);
        assert_eq!(
            Stamp::decode(b"hello world, not a stamp at all, no no no"),
            None
        );
    }

    #[test]
    fn in_order_sequence_passes() {
        let mut t = SeqTracker::default();
        for seq in 0..1000 {
            assert_eq!(t.observe(seq), Arrival::InOrder);
        }
        assert_eq!((t.lost(1000), t.duplicates, t.reordered), (0, 0, 0));
        assert!(t.complete(1000));
    }

    #[test]
    fn lossy_sequence_is_caught() {
        let mut t = SeqTracker::default();
        for seq in [0, 1, 2, 5, 6, 9] {
            t.observe(seq);
        }
        // 3, 4, 7, 8 skipped; the source sent 12, so 10 and 11 never came either.
        assert_eq!(t.lost(12), 6);
        assert_eq!((t.duplicates, t.reordered), (0, 0));
        assert!(!t.complete(12));
    }

    #[test]
    fn tail_loss_is_caught_without_any_gap() {
        let mut t = SeqTracker::default();
        for seq in 0..10 {
            t.observe(seq);
        }
        assert_eq!(t.lost(15), 5);
    }

    #[test]
    fn duplicated_sequence_is_caught() {
        let mut t = SeqTracker::default();
        for seq in [0, 1, 1, 2, 0, 3] {
            t.observe(seq);
        }
        assert_eq!(t.duplicates, 2);
        assert_eq!((t.lost(4), t.reordered), (0, 0));
    }

    #[test]
    fn reordered_sequence_is_caught_and_not_counted_lost() {
        let mut t = SeqTracker::default();
        let arrivals: Vec<Arrival> = [0, 2, 1, 3, 6, 4, 5]
            .iter()
            .map(|&s| t.observe(s))
            .collect();
        assert_eq!(
            arrivals,
            [
                Arrival::InOrder,
                Arrival::Gap(1),
                Arrival::Late,
                Arrival::InOrder,
                Arrival::Gap(2),
                Arrival::Late,
                Arrival::Late
            ]
        );
        assert_eq!(t.reordered, 3);
        assert_eq!((t.lost(7), t.duplicates), (0, 0));
        assert!(t.complete(7));
    }

    #[test]
    fn late_duplicate_of_a_filled_gap_is_a_duplicate() {
        let mut t = SeqTracker::default();
        for seq in [0, 3, 1, 1, 2, 2] {
            t.observe(seq);
        }
        assert_eq!((t.reordered, t.duplicates, t.lost(4)), (2, 2, 0));
    }

    #[test]
    fn gap_bookkeeping_stays_bounded() {
        let mut t = SeqTracker::default();
        let gaps = MISSING_RANGES_MAX as u64 + 10;
        for i in 0..gaps {
            t.observe(2 * i + 1);
        }
        assert!(t.missing.len() <= MISSING_RANGES_MAX);
        assert_eq!(t.lost(2 * gaps), gaps);
    }

    #[test]
    fn seen_set_counts_exactly_once() {
        let seen = SeenSet::new(2);
        for seq in 0..100 {
            assert!(seen.mark(0, seq));
        }
        for seq in 0..50 {
            assert!(seen.mark(1, seq));
        }
        let totals = seen.totals(&[100, 50]);
        assert_eq!(
            totals,
            SeenTotals {
                unique: 150,
                duplicates: 0,
                missing: 0,
                unexpected: 0
            }
        );
    }

    #[test]
    fn seen_set_catches_duplicates_and_missing_jobs() {
        let seen = SeenSet::new(2);
        for seq in [0, 1, 2, 2, 4, 70, 70, 70] {
            seen.mark(0, seq);
        }
        assert!(!seen.mark(5, 0), "an unknown source is rejected");
        let totals = seen.totals(&[71, 0]);
        assert_eq!(totals.duplicates, 3);
        assert_eq!(totals.missing, 71 - 5);
        assert_eq!(totals.unique, 5);
        assert_eq!(totals.unexpected, 0);
        // A consumed job beyond what the source says it sent.
        seen.mark(1, 3);
        assert_eq!(seen.totals(&[71, 0]).unexpected, 1);
    }
}
