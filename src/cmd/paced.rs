//! Paced replies: a long reply written piece by piece as its client reads it, so that the
//! memory it costs is bounded by a piece, not by the reply.
//!
//! A handler whose reply may be long (LRANGE, SMEMBERS, HGETALL, ZRANGE, XRANGE, GET, the
//! RANDMEMBER family with a count) writes its header and describes the rest as a
//! [`Paced`] walk over the key's value. [`Ctx::pace`] writes the first piece at once;
//! if the walk is not finished and the caller allows pacing, the key is pinned
//! (`store::pin`: the walk keeps reading the value as it was, whatever happens to the key)
//! and the shard keeps the walk until the client's output has room for the next piece
//! (`shard::paced`). Where pacing is not allowed (inside MULTI/EXEC, where the reply is
//! part of a larger one), the walk runs to the end at once, as Redis builds every reply.

use crate::cmd::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::store::stream::{EntryRef, StreamId};
use crate::store::{Str, Value};

/// Bytes written per piece (a walk stops at the first element boundary past it). Large
/// enough that a piece costs one hop and one write for many elements; small enough that a
/// client reading slowly holds little.
pub const PIECE_BYTES: usize = 256 * 1024;

/// Random picks (a negative RANDMEMBER count) at most in one reply that cannot be paced
/// (inside a transaction): such a reply is built whole, and a count that could take
/// gigabytes is refused rather than exhausting memory.
pub const PICKS_UNPACED_MAX: u64 = 1 << 24;

/// What a hash walk replies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashPart {
    /// Fields and values (HGETALL).
    Both,
    /// Fields (HKEYS).
    Fields,
    /// Values (HVALS).
    Values,
}

/// What a random pick replies with.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// A set member (SRANDMEMBER).
    Member,
    /// A hash field, with its value if `values` (HRANDFIELD).
    Field { values: bool },
    /// A sorted-set member, with its score if `scores` (ZRANDMEMBER).
    Scored { scores: bool },
}

/// The rest of a long reply: which elements of the pinned value are still to be written.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug, Clone)]
pub enum Paced {
    /// LRANGE: list positions `next..=last`.
    List { next: usize, last: usize },
    /// HGETALL / HKEYS / HVALS: pairs from position `next` on.
    Hash { next: usize, part: HashPart },
    /// SMEMBERS: members from position `next` on.
    Set { next: usize },
    /// The ZRANGE family: ranks `lo..hi`, ascending (`lo` advances) or descending (`hi`
    /// retreats), with scores if `scores`.
    Zset {
        lo: usize,
        hi: usize,
        rev: bool,
        scores: bool,
    },
    /// XRANGE / XREVRANGE: entries with IDs in `lo..=hi`, `left` more at most.
    Stream {
        lo: StreamId,
        hi: StreamId,
        rev: bool,
        left: usize,
    },
    /// GET / GETRANGE: the string's bytes `next..end`, then the bulk's CRLF.
    Str { next: usize, end: usize },
    /// A negative RANDMEMBER count: `left` more picks, repeats allowed, drawn with `rng`.
    Picks { left: u64, rng: u64, pick: Pick },
}

impl Paced {
    /// Writes the walk's next elements from `v` to `out` until about `budget` bytes were
    /// written; true when the walk is finished.
    pub fn fill(&mut self, v: &Value, out: &mut Reply, budget: usize) -> bool {
        let stop = out.buf.len().saturating_add(budget);
        match (self, v) {
            (Paced::List { next, last }, Value::List(l)) => {
                for item in l.range(*next as i64, *last as i64) {
                    out.bulk(item);
                    *next += 1;
                    if out.buf.len() >= stop {
                        break;
                    }
                }
                *next > *last
            }
            (Paced::Hash { next, part }, Value::Hash(h)) => {
                for (f, val) in h.iter_from(*next) {
                    match part {
                        HashPart::Both => {
                            out.bulk(f);
                            out.bulk(val);
                        }
                        HashPart::Fields => out.bulk(f),
                        HashPart::Values => out.bulk(val),
                    }
                    *next += 1;
                    if out.buf.len() >= stop {
                        break;
                    }
                }
                *next >= h.len()
            }
            (Paced::Set { next }, Value::Set(s)) => {
                while *next < s.len() {
                    s.write_member(*next, out);
                    *next += 1;
                    if out.buf.len() >= stop {
                        break;
                    }
                }
                *next >= s.len()
            }
            (
                Paced::Zset {
                    lo,
                    hi,
                    rev,
                    scores,
                },
                Value::Zset(z),
            ) => {
                let nested = out.resp3 && *scores;
                let walk = z.range(*lo, *hi);
                let walk: Box<dyn Iterator<Item = (f64, &[u8])>> =
                    if *rev { Box::new(walk.rev()) } else { walk };
                for (score, m) in walk {
                    if nested {
                        out.array_len(2);
                    }
                    out.bulk(m);
                    if *scores {
                        out.double(score);
                    }
                    if *rev {
                        *hi -= 1;
                    } else {
                        *lo += 1;
                    }
                    if out.buf.len() >= stop {
                        break;
                    }
                }
                *lo >= *hi
            }
            (Paced::Stream { lo, hi, rev, left }, Value::Stream(s)) => {
                // Entries come in batches; the walk resumes past the last one written.
                const BATCH: usize = 64;
                while *left > 0 && lo <= hi {
                    let batch = s.range(*lo, *hi, *rev, BATCH.min(*left));
                    if batch.is_empty() {
                        *left = 0;
                        break;
                    }
                    for e in &batch {
                        write_entry(out, e);
                    }
                    *left -= batch.len();
                    let edge = batch.last().expect("not empty").id;
                    let moved = if *rev {
                        edge.prev().map(|id| *hi = id)
                    } else {
                        edge.next().map(|id| *lo = id)
                    };
                    if moved.is_none() {
                        *left = 0;
                    }
                    if out.buf.len() >= stop {
                        break;
                    }
                }
                *left == 0 || lo > hi
            }
            (Paced::Str { next, end }, Value::Str(Str::Bytes { data, .. })) => {
                let to = (*next).saturating_add(budget).min(*end).min(data.len());
                out.raw(&data[(*next).min(to)..to]);
                *next = to;
                let done = *next >= *end || *next >= data.len();
                if done {
                    out.raw(b"\r\n");
                }
                done
            }
            (Paced::Picks { left, rng, pick }, v) => {
                while *left > 0 {
                    let Some(()) = write_pick(v, *pick, rng, out) else {
                        // The value is not what the walk was made for: nothing more.
                        *left = 0;
                        break;
                    };
                    *left -= 1;
                    if out.buf.len() >= stop {
                        break;
                    }
                }
                *left == 0
            }
            // A walk always meets the type it was made for: its value is pinned.
            _ => {
                debug_assert!(false, "paced walk over a value of another type");
                true
            }
        }
    }
}

/// One stream entry: `[id, [field, value, ...]]`.
pub fn write_entry(out: &mut Reply, e: &EntryRef<'_>) {
    out.array_len(2);
    // `ms-seq` on the stack: at most 20 + 1 + 20 bytes.
    let mut id = [0u8; 41];
    let (mut a, mut b) = (itoa::Buffer::new(), itoa::Buffer::new());
    let (ms, seq) = (a.format(e.id.ms).as_bytes(), b.format(e.id.seq).as_bytes());
    id[..ms.len()].copy_from_slice(ms);
    id[ms.len()] = b'-';
    id[ms.len() + 1..ms.len() + 1 + seq.len()].copy_from_slice(seq);
    out.bulk(&id[..ms.len() + 1 + seq.len()]);
    out.array_len(e.pair_items());
    for p in e.pairs() {
        out.bulk(p);
    }
}

/// A number in `0..n` from a xorshift state.
fn below(rng: &mut u64, n: usize) -> usize {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    (*rng % n.max(1) as u64) as usize
}

/// Writes one random element of `v`; `None` if `v` is empty or of another kind.
fn write_pick(v: &Value, pick: Pick, rng: &mut u64, out: &mut Reply) -> Option<()> {
    match (v, pick) {
        (Value::Set(s), Pick::Member) if !s.is_empty() => {
            s.write_member(below(rng, s.len()), out);
        }
        (Value::Hash(h), Pick::Field { values }) if !h.is_empty() => {
            let (f, val) = h.at(below(rng, h.len()))?;
            if values && out.resp3 {
                out.array_len(2);
            }
            out.bulk(f);
            if values {
                out.bulk(val);
            }
        }
        (Value::Zset(z), Pick::Scored { scores }) if !z.is_empty() => {
            let (score, m) = z.nth(below(rng, z.len()))?;
            if scores && out.resp3 {
                out.array_len(2);
            }
            out.bulk(m);
            if scores {
                out.double(score);
            }
        }
        _ => return None,
    }
    Some(())
}

impl Ctx<'_> {
    /// Writes the rest of a long reply from the value at `key` (which exists and is the
    /// walk's type): the first piece now, and if more remains and the caller allows it,
    /// the rest as the client reads (the key is pinned meanwhile). Where pacing is not
    /// allowed the whole reply is written now.
    pub fn pace(&mut self, key: &[u8], mut walk: Paced) -> CmdResult {
        let paced = matches!(self.pace, Pace::Allowed);
        let budget = if paced { PIECE_BYTES } else { usize::MAX };
        let db = self.db;
        let (ks, out) = self.ks_out();
        let Some(v) = ks.get(db, key).map(|e| &e.value) else {
            debug_assert!(false, "paced reply over a missing key");
            return Ok(());
        };
        if walk.fill(v, out, budget) {
            return Ok(());
        }
        let pin = self.ks().pin(db, key);
        let id = self.start_paced(walk, pin);
        self.pace = Pace::Started(id);
        Ok(())
    }
}

impl Ctx<'_> {
    /// Refuses `picks` random picks (a negative RANDMEMBER count) where the reply cannot
    /// be paced and so would be built whole: call before writing the reply's header.
    pub fn check_picks(&self, picks: u64) -> CmdResult {
        if !matches!(self.pace, Pace::Allowed) && picks > PICKS_UNPACED_MAX {
            return Err(CmdError::msg(
                "ERR count is too large to reply with inside a transaction",
            ));
        }
        Ok(())
    }

    /// A seed for a walk's random picks.
    pub fn pick_seed(&mut self) -> u64 {
        self.ks().next_rand().wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1
    }
}

/// Whether a handler may pace its reply, and whether it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// The reply must be written whole (it is part of a larger reply).
    Off,
    /// The reply may be paced.
    Allowed,
    /// The handler paced its reply: the walk `id` on this shard holds the rest.
    Started(u64),
}
