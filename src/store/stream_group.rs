//! A stream's consumer groups: each group's last delivered ID and read counter, its
//! consumers, and its pending-entries list (PEL) — the entries delivered to a consumer and
//! not yet acknowledged.
//!
//! The group's PEL is an ordered map by entry ID (`store::chunked`: sorted chunks, which
//! stay full as IDs arrive in order), so XACK, XCLAIM and XPENDING's ranges find an entry
//! in O(log n) and walk ranges without touching the stream. Each consumer keeps the IDs it
//! owns in such a map of its own (a history read or XPENDING for one consumer walks
//! only those). A pending entry names its consumer by a small number, not by name; names
//! live once per consumer. Groups and consumers are ordered by name, as Redis's radix
//! trees order them (XINFO lists them in that order).
//!
//! The lag and read-counter arithmetic (Redis 7.0's `entries-read` / `lag`) needs the
//! stream's counters; [`Tally`] carries them so a group can be changed while they are read.

use std::collections::BTreeMap;

use super::chunked::Chunked;
use super::stream::StreamId;

/// A consumer's number within its group (an index into the group's consumer slots).
pub type ConsumerId = u32;

/// One pending entry: who has it, since when, how many times it was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// The consumer that owns it.
    pub owner: ConsumerId,
    /// Last delivery, Unix ms.
    pub delivery_time: u64,
    /// Times delivered.
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// Its name.
    pub name: Box<[u8]>,
    /// When it last read or claimed, Unix ms (XINFO's `seen-time` / `idle`).
    pub seen_time: u64,
    /// The IDs it owns, ascending.
    pel: Chunked<StreamId, ()>,
}

impl Consumer {
    /// Number of entries pending for it.
    pub fn pending_len(&self) -> usize {
        self.pel.len()
    }

    /// The IDs it owns from `from` on, ascending.
    pub fn pending_from(&self, from: StreamId) -> impl Iterator<Item = StreamId> + '_ {
        self.pel.range(from, StreamId::MAX).map(|(id, _)| *id)
    }
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// The last ID delivered to any consumer with `>`.
    pub last_id: StreamId,
    /// The logical number of entries read so far, `None` when unknown (Redis's -1).
    pub entries_read: Option<u64>,
    pel: Chunked<StreamId, Pending>,
    by_name: BTreeMap<Box<[u8]>, ConsumerId>,
    slots: Vec<Option<Consumer>>,
}

impl Group {
    /// A group whose last delivered ID is `last_id`.
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> Group {
        Group {
            last_id,
            entries_read,
            ..Group::default()
        }
    }

    /// The consumer called `name`, if any.
    pub fn consumer_id(&self, name: &[u8]) -> Option<ConsumerId> {
        self.by_name.get(name).copied()
    }

    /// The consumer `id`.
    ///
    /// # Panics
    /// If `id` is not a live consumer of this group (a caller's bug).
    pub fn consumer(&self, id: ConsumerId) -> &Consumer {
        self.slots[id as usize].as_ref().expect("a live consumer")
    }

    fn consumer_mut(&mut self, id: ConsumerId) -> &mut Consumer {
        self.slots[id as usize].as_mut().expect("a live consumer")
    }

    /// The consumer called `name`, created (seen now) if missing; true if created.
    pub fn create_consumer(&mut self, name: &[u8], now: u64) -> (ConsumerId, bool) {
        if let Some(id) = self.consumer_id(name) {
            return (id, false);
        }
        let c = Consumer {
            name: name.into(),
            seen_time: now,
            pel: Chunked::default(),
        };
        let id = match self.slots.iter().position(Option::is_none) {
            Some(free) => {
                self.slots[free] = Some(c);
                free as ConsumerId
            }
            None => {
                self.slots.push(Some(c));
                (self.slots.len() - 1) as ConsumerId
            }
        };
        self.by_name.insert(name.into(), id);
        (id, true)
    }

    /// Marks consumer `id` as seen at `now`.
    pub fn touch(&mut self, id: ConsumerId, now: u64) {
        self.consumer_mut(id).seen_time = now;
    }

    /// Deletes the consumer called `name` and its pending entries; how many it had, or
    /// `None` if there was no such consumer.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let id = self.by_name.remove(name)?;
        let c = self.slots[id as usize].take().expect("a live consumer");
        for (pid, _) in c.pel.iter() {
            self.pel.remove(pid);
        }
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
        }
        Some(c.pel.len())
    }

    /// Consumers in name order.
    pub fn consumers(&self) -> impl Iterator<Item = (ConsumerId, &Consumer)> + '_ {
        self.by_name.values().map(|&id| (id, self.consumer(id)))
    }

    /// Number of consumers.
    pub fn consumers_len(&self) -> usize {
        self.by_name.len()
    }

    /// Number of pending entries.
    pub fn pending_len(&self) -> usize {
        self.pel.len()
    }

    /// The pending entry `id`.
    pub fn pending(&self, id: StreamId) -> Option<&Pending> {
        self.pel.get(&id)
    }

    /// The pending entry `id`, to update its delivery time or count.
    pub fn pending_mut(&mut self, id: StreamId) -> Option<&mut Pending> {
        self.pel.get_mut(&id)
    }

    /// Pending entries with IDs in `lo..=hi`, ascending.
    pub fn pending_range(
        &self,
        lo: StreamId,
        hi: StreamId,
    ) -> impl DoubleEndedIterator<Item = (StreamId, &Pending)> + '_ {
        self.pel.range(lo, hi).map(|(&id, p)| (id, p))
    }

    /// The smallest and largest pending IDs.
    pub fn pending_bounds(&self) -> Option<(StreamId, StreamId)> {
        let first = self.pel.first()?.0;
        let last = self.pel.last()?.0;
        Some((*first, *last))
    }

    /// Entry `id` delivered to consumer `to` by a `>` read (or created by XCLAIM FORCE):
    /// it becomes pending for `to` with the given time and count, leaving the PEL of a
    /// consumer that had it.
    pub fn assign(&mut self, id: StreamId, to: ConsumerId, delivery_time: u64, count: u64) {
        let fresh = Pending {
            owner: to,
            delivery_time,
            delivery_count: count,
        };
        if let Some(old) = self.pel.insert(id, fresh) {
            if old.owner != to {
                self.consumer_mut(old.owner).pel.remove(&id);
            }
        }
        self.consumer_mut(to).pel.insert(id, ());
    }

    /// Moves pending entry `id` to consumer `to` (XCLAIM); false if it is not pending.
    pub fn transfer(&mut self, id: StreamId, to: ConsumerId) -> bool {
        let Some(p) = self.pel.get_mut(&id) else {
            return false;
        };
        let from = std::mem::replace(&mut p.owner, to);
        if from != to {
            self.consumer_mut(from).pel.remove(&id);
            self.consumer_mut(to).pel.insert(id, ());
        }
        true
    }

    /// Acknowledges (or drops) pending entry `id`; true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(p) = self.pel.remove(&id) else {
            return false;
        };
        self.consumer_mut(p.owner).pel.remove(&id);
        true
    }

    /// Serializes the group (without its name) for moving its stream between shards.
    pub fn dump(&self, out: &mut Vec<u8>) {
        let u64s = |out: &mut Vec<u8>, v: &[u64]| {
            for n in v {
                out.extend_from_slice(&n.to_le_bytes());
            }
        };
        let read = self.entries_read.map_or(u64::MAX, |n| n);
        u64s(out, &[self.last_id.ms, self.last_id.seq, read]);
        u64s(out, &[self.by_name.len() as u64]);
        for (_, c) in self.consumers() {
            u64s(out, &[c.name.len() as u64]);
            out.extend_from_slice(&c.name);
            u64s(out, &[c.seen_time, c.pel.len() as u64]);
            for id in c.pel.keys() {
                let p = self.pel.get(id).expect("a consumer's IDs are pending");
                u64s(out, &[id.ms, id.seq, p.delivery_time, p.delivery_count]);
            }
        }
    }

    /// Reads a group `dump` wrote from the front of `buf`; the group and the bytes left.
    pub fn restore(buf: &[u8]) -> Option<(Group, &[u8])> {
        fn u64_at(rest: &mut &[u8]) -> Option<u64> {
            let (n, tail) = rest.split_first_chunk::<8>()?;
            *rest = tail;
            Some(u64::from_le_bytes(*n))
        }
        fn id_at(rest: &mut &[u8]) -> Option<StreamId> {
            Some(StreamId {
                ms: u64_at(rest)?,
                seq: u64_at(rest)?,
            })
        }
        let mut rest = buf;
        let last_id = id_at(&mut rest)?;
        let read = u64_at(&mut rest)?;
        let mut g = Group::new(last_id, (read != u64::MAX).then_some(read));
        for _ in 0..u64_at(&mut rest)? {
            let len = usize::try_from(u64_at(&mut rest)?).ok()?;
            let name = rest.get(..len)?;
            rest = rest.get(len..)?;
            let (cid, _) = g.create_consumer(name, u64_at(&mut rest)?);
            for _ in 0..u64_at(&mut rest)? {
                let id = id_at(&mut rest)?;
                let (time, count) = (u64_at(&mut rest)?, u64_at(&mut rest)?);
                g.assign(id, cid, time, count);
            }
        }
        Some((g, rest))
    }
}

/// The stream counters the lag arithmetic reads (a copy, so a group can change while
/// they are read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Entries present.
    pub len: usize,
    /// Entries ever added.
    pub entries_added: u64,
    /// The greatest ID ever added.
    pub last_id: StreamId,
    /// The greatest ID deleted by XDEL.
    pub max_deleted: StreamId,
    /// The first entry's ID (`0-0` when empty).
    pub first_id: StreamId,
}

impl Tally {
    /// Whether an XDEL hole may lie at or after `from`: Redis's `streamRangeHasTombstones`
    /// with an open end.
    pub fn has_tombstones_from(&self, from: StreamId) -> bool {
        if self.len == 0 || self.max_deleted == StreamId::MIN {
            return false;
        }
        if self.first_id > self.max_deleted {
            return false;
        }
        from <= self.max_deleted
    }

    /// The logical position (entries added up to and including it) of `id`, when it can
    /// be known: Redis's `streamEstimateDistanceFromFirstEverEntry`.
    pub fn entries_read_at(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.len == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted == StreamId::MIN || self.max_deleted < self.first_id {
            let before_first = self.entries_added - self.len as u64;
            match id.cmp(&self.first_id) {
                std::cmp::Ordering::Less => return Some(before_first),
                std::cmp::Ordering::Equal => return Some(before_first + 1),
                std::cmp::Ordering::Greater => {}
            }
        }
        None
    }

    /// The group's lag (entries added and not yet read by it), when it can be known. It
    /// is negative when ENTRIESREAD put the read counter past the entries added, as
    /// Redis's signed subtraction reports it.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let behind = |read: u64| (i128::from(self.entries_added) - i128::from(read)) as i64;
        if let Some(read) = g.entries_read {
            if !self.has_tombstones_from(g.last_id) {
                return Some(behind(read));
            }
        }
        self.entries_read_at(g.last_id).map(behind)
    }

    /// `g` delivered entry `id` with `>`: its last ID and read counter advance.
    pub fn advance(&self, g: &mut Group, id: StreamId) {
        if id <= g.last_id {
            return;
        }
        match g.entries_read {
            Some(n) if !self.has_tombstones_from(id) => g.entries_read = Some(n + 1),
            _ if self.entries_added != 0 => g.entries_read = self.entries_read_at(id),
            _ => {}
        }
        g.last_id = id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64) -> StreamId {
        StreamId { ms, seq: 0 }
    }

    #[test]
    fn pending_entries_follow_their_owner() {
        let mut g = Group::new(StreamId::MIN, Some(0));
        let (a, created) = g.create_consumer(b"alice", 10);
        assert!(created);
        let (b, _) = g.create_consumer(b"bob", 11);
        assert_eq!(g.create_consumer(b"alice", 99), (a, false));
        for i in 1..=5 {
            g.assign(id(i), a, 100, 1);
        }
        g.assign(id(6), b, 100, 1);
        // A `>` read of an entry someone else has takes it over.
        g.assign(id(5), b, 200, 1);
        assert_eq!(g.consumer(a).pending_len(), 4);
        assert_eq!(g.consumer(b).pending_len(), 2);
        assert!(g.transfer(id(1), b));
        assert!(!g.transfer(id(9), b));
        assert!(g.ack(id(2)));
        assert!(!g.ack(id(2)));
        assert_eq!(
            g.consumer(a)
                .pending_from(StreamId::MIN)
                .collect::<Vec<_>>(),
            vec![id(3), id(4)]
        );
        assert_eq!(g.pending_bounds(), Some((id(1), id(6))));
        let owners: Vec<_> = g
            .pending_range(id(1), id(6))
            .map(|(i, p)| (i.ms, p.owner))
            .collect();
        assert_eq!(owners, vec![(1, b), (3, a), (4, a), (5, b), (6, b)]);
        assert_eq!(g.pending_range(id(6), id(1)).count(), 0);
        assert_eq!(g.delete_consumer(b"bob"), Some(3));
        assert_eq!(g.delete_consumer(b"bob"), None);
        assert_eq!(g.pending_len(), 2);
        // A freed slot is reused.
        let (c, _) = g.create_consumer(b"carol", 12);
        assert_eq!(c, b);
        let names: Vec<_> = g.consumers().map(|(_, c)| c.name.to_vec()).collect();
        assert_eq!(names, vec![b"alice".to_vec(), b"carol".to_vec()]);
    }

    #[test]
    fn groups_survive_dump_and_restore() {
        let mut g = Group::new(id(7), None);
        let (a, _) = g.create_consumer(b"a", 1);
        let (b, _) = g.create_consumer(b"bb", 2);
        g.assign(id(3), a, 30, 2);
        g.assign(id(4), b, 40, 1);
        g.create_consumer(b"idle", 5);
        let mut buf = Vec::new();
        g.dump(&mut buf);
        buf.extend_from_slice(b"tail");
        let (back, rest) = Group::restore(&buf).expect("restores");
        assert_eq!(rest, b"tail");
        assert_eq!(back.last_id, g.last_id);
        assert_eq!(back.entries_read, None);
        let pel = |g: &Group| -> Vec<(StreamId, Vec<u8>, u64, u64)> {
            g.pending_range(StreamId::MIN, StreamId::MAX)
                .map(|(i, p)| {
                    (
                        i,
                        g.consumer(p.owner).name.to_vec(),
                        p.delivery_time,
                        p.delivery_count,
                    )
                })
                .collect()
        };
        assert_eq!(pel(&back), pel(&g));
        assert_eq!(back.consumers_len(), 3);
        assert!(Group::restore(&buf[..buf.len() - 10]).is_none());
        let mut empty = Vec::new();
        Group::new(id(1), Some(4)).dump(&mut empty);
        let (e, rest) = Group::restore(&empty).expect("restores");
        assert_eq!((e.entries_read, rest.len()), (Some(4), 0));
    }

    #[test]
    fn lag_follows_redis_arithmetic() {
        // 10 entries 1..=10 added, none deleted.
        let mut t = Tally {
            len: 10,
            entries_added: 10,
            last_id: id(10),
            max_deleted: StreamId::MIN,
            first_id: id(1),
        };
        let mut g = Group::new(StreamId::MIN, None);
        assert_eq!(t.lag(&g), Some(10));
        t.advance(&mut g, id(1));
        assert_eq!((g.entries_read, t.lag(&g)), (Some(1), Some(9)));
        t.advance(&mut g, id(2));
        assert_eq!(g.entries_read, Some(2));
        // An XDEL after the group's position makes the count unknowable.
        t.max_deleted = id(5);
        t.len = 9;
        assert_eq!(t.lag(&g), None);
        t.advance(&mut g, id(3));
        assert_eq!(g.entries_read, None);
        t.advance(&mut g, id(10));
        assert_eq!((g.entries_read, t.lag(&g)), (Some(10), Some(0)));
        // ENTRIESREAD past the entries added: a negative lag.
        g.entries_read = Some(12);
        assert_eq!(t.lag(&g), Some(-2));
        g.entries_read = Some(10);
        // A group created at an arbitrary ID inside the stream is unknown.
        let h = Group::new(id(4), None);
        assert_eq!(t.lag(&h), None);
        // An empty stream that had entries: every ID up to the last is fully read.
        let empty = Tally {
            len: 0,
            entries_added: 3,
            last_id: id(3),
            max_deleted: id(3),
            first_id: StreamId::MIN,
        };
        assert_eq!(empty.lag(&Group::new(StreamId::MIN, None)), Some(0));
        assert_eq!(empty.entries_read_at(id(9)), None);
    }
}
