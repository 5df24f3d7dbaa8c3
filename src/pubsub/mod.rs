//! Pub/Sub: the global channel registry (which shards have subscribers), each shard's
//! local subscriptions, and message fanout.
//!
//! A subscription lives on its connection's home shard. The registry (a dashmap per
//! channel, and a read-mostly pattern index) records only *counts per shard*, so
//! SUBSCRIBE/UNSUBSCRIBE cost O(1) whatever the number of subscribers. PUBLISH on any
//! shard reads the registry once, answers the receiver count at once, encodes the message
//! once, and sends one shared copy to each shard that has receivers; each shard copies it
//! into its local subscribers' output buffers, which are written once per turn. How much
//! may be published per turn and be on its way between two shards is bounded by the fanout
//! budgets in `shard` (`Shard::publish`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use ahash::RandomState;
use dashmap::DashMap;
use indexmap::IndexSet;

use crate::store::glob_match;

/// Which namespace a subscription is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE / PUBLISH.
    Channel,
    /// PSUBSCRIBE.
    Pattern,
    /// SSUBSCRIBE / SPUBLISH (sharded pub/sub).
    Shard,
}

/// Subscriber counts per shard, for one channel or pattern.
type Counts = Box<[u32]>;

/// A channel or pattern name.
type Name = Box<[u8]>;

/// Connection slots of one shard subscribed to a name.
type Slots = IndexSet<usize, RandomState>;

/// The pattern index: patterns grouped by their literal prefix (the bytes before the
/// first glob character), so PUBLISH checks only patterns whose prefix the channel starts
/// with instead of every pattern.
#[derive(Default)]
struct Patterns {
    /// pattern -> subscriber counts per shard.
    counts: HashMap<Name, Counts, RandomState>,
    /// literal prefix -> patterns with that prefix.
    by_prefix: HashMap<Name, Vec<Name>, RandomState>,
    /// Distinct prefix lengths present in `by_prefix`, ascending.
    prefix_lens: Vec<usize>,
}

/// The bytes of `pattern` before its first glob metacharacter.
pub fn literal_prefix(pattern: &[u8]) -> &[u8] {
    let end = pattern
        .iter()
        .position(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
        .unwrap_or(pattern.len());
    &pattern[..end]
}

impl Patterns {
    fn add(&mut self, pattern: &[u8], shard: usize, shards: usize) {
        if let Some(c) = self.counts.get_mut(pattern) {
            c[shard] += 1;
            return;
        }
        let mut c = vec![0u32; shards].into_boxed_slice();
        c[shard] = 1;
        self.counts.insert(pattern.into(), c);
        let prefix = literal_prefix(pattern);
        self.by_prefix
            .entry(prefix.into())
            .or_default()
            .push(pattern.into());
        if let Err(i) = self.prefix_lens.binary_search(&prefix.len()) {
            self.prefix_lens.insert(i, prefix.len());
        }
    }

    fn remove(&mut self, pattern: &[u8], shard: usize) {
        let Some(c) = self.counts.get_mut(pattern) else {
            return;
        };
        c[shard] = c[shard].saturating_sub(1);
        if c.iter().any(|&n| n > 0) {
            return;
        }
        self.counts.remove(pattern);
        let prefix = literal_prefix(pattern);
        if let Some(v) = self.by_prefix.get_mut(prefix) {
            v.retain(|p| &**p != pattern);
            if v.is_empty() {
                self.by_prefix.remove(prefix);
                if !self.by_prefix.keys().any(|k| k.len() == prefix.len()) {
                    self.prefix_lens.retain(|&l| l != prefix.len());
                }
            }
        }
    }
}

/// Where a published message must go: receiver count and per-shard targets.
#[derive(Debug, Default)]
pub struct Route {
    /// Total receivers (PUBLISH's reply): channel subscribers plus pattern matches.
    pub receivers: i64,
    /// Shards that have at least one receiver.
    pub shards: Vec<usize>,
    /// Patterns that match the channel (shared with every target shard).
    pub patterns: Arc<[Box<[u8]>]>,
}

/// The global registry. Read on every PUBLISH, written on (un)subscribe.
pub struct Registry {
    shards: usize,
    channels: DashMap<Box<[u8]>, Counts, RandomState>,
    shard_channels: DashMap<Box<[u8]>, Counts, RandomState>,
    patterns: RwLock<Patterns>,
}

impl Registry {
    /// An empty registry for `shards` shards.
    pub fn new(shards: usize) -> Self {
        Self {
            shards,
            channels: DashMap::with_hasher(RandomState::new()),
            shard_channels: DashMap::with_hasher(RandomState::new()),
            patterns: RwLock::new(Patterns::default()),
        }
    }

    fn map(&self, kind: Kind) -> &DashMap<Box<[u8]>, Counts, RandomState> {
        match kind {
            Kind::Shard => &self.shard_channels,
            _ => &self.channels,
        }
    }

    /// Counts one more subscriber of `name` on `shard`.
    pub fn add(&self, kind: Kind, name: &[u8], shard: usize) {
        if kind == Kind::Pattern {
            self.patterns
                .write()
                .expect("pattern lock")
                .add(name, shard, self.shards);
            return;
        }
        let map = self.map(kind);
        if let Some(mut c) = map.get_mut(name) {
            c[shard] += 1;
            return;
        }
        map.entry(name.into())
            .or_insert_with(|| vec![0; self.shards].into_boxed_slice())[shard] += 1;
    }

    /// Counts one subscriber of `name` on `shard` fewer.
    pub fn remove(&self, kind: Kind, name: &[u8], shard: usize) {
        if kind == Kind::Pattern {
            self.patterns
                .write()
                .expect("pattern lock")
                .remove(name, shard);
            return;
        }
        let map = self.map(kind);
        if let Some(mut c) = map.get_mut(name) {
            c[shard] = c[shard].saturating_sub(1);
        }
        map.remove_if(name, |_, c| c.iter().all(|&n| n == 0));
    }

    /// Receivers and target shards of a message on `channel` (`Kind::Channel` also
    /// matches patterns; `Kind::Shard` does not, as in Redis).
    pub fn route(&self, kind: Kind, channel: &[u8]) -> Route {
        let mut per_shard = vec![0u32; self.shards];
        if let Some(c) = self.map(kind).get(channel) {
            for (d, s) in per_shard.iter_mut().zip(c.iter()) {
                *d += s;
            }
        }
        let mut matched: Vec<Box<[u8]>> = Vec::new();
        if kind == Kind::Channel {
            let p = self.patterns.read().expect("pattern lock");
            if !p.counts.is_empty() {
                for &len in &p.prefix_lens {
                    if len > channel.len() {
                        break;
                    }
                    let Some(candidates) = p.by_prefix.get(&channel[..len]) else {
                        continue;
                    };
                    for pat in candidates {
                        if glob_match(pat, channel, false) {
                            if let Some(c) = p.counts.get(pat) {
                                for (d, s) in per_shard.iter_mut().zip(c.iter()) {
                                    *d += s;
                                }
                            }
                            matched.push(pat.clone());
                        }
                    }
                }
            }
        }
        Route {
            receivers: per_shard.iter().map(|&n| n as i64).sum(),
            shards: (0..self.shards).filter(|&s| per_shard[s] > 0).collect(),
            patterns: matched.into(),
        }
    }

    /// Subscribers of `name` (PUBSUB NUMSUB / SHARDNUMSUB).
    pub fn count(&self, kind: Kind, name: &[u8]) -> i64 {
        self.map(kind)
            .get(name)
            .map(|c| c.iter().map(|&n| n as i64).sum())
            .unwrap_or(0)
    }

    /// Channels with subscribers matching `pattern` (PUBSUB CHANNELS / SHARDCHANNELS).
    pub fn channels(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Box<[u8]>> {
        self.map(kind)
            .iter()
            .filter(|e| pattern.is_none_or(|p| glob_match(p, e.key(), false)))
            .map(|e| e.key().clone())
            .collect()
    }

    /// Distinct patterns subscribed anywhere (PUBSUB NUMPAT, INFO pubsub_patterns).
    pub fn pattern_count(&self) -> usize {
        self.patterns.read().expect("pattern lock").counts.len()
    }

    /// Distinct channels with subscribers (INFO pubsub_channels).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }
}

/// A message to deliver, encoded once and shared by every shard that delivers it.
#[derive(Debug)]
pub struct Message {
    /// Which namespace (message / smessage frames).
    pub kind: Kind,
    /// The channel, raw (for local lookups).
    pub channel: Box<[u8]>,
    /// `$len\r\nchannel\r\n$len\r\npayload\r\n`: the tail every frame ends with.
    pub tail: Box<[u8]>,
    /// Matching patterns (each subscriber of one gets a pmessage).
    pub patterns: Arc<[Box<[u8]>]>,
}

impl Message {
    /// Encodes a message once.
    pub fn new(kind: Kind, channel: &[u8], payload: &[u8], patterns: Arc<[Box<[u8]>]>) -> Message {
        let mut tail = Vec::with_capacity(channel.len() + payload.len() + 32);
        for part in [channel, payload] {
            tail.push(b'$');
            tail.extend_from_slice(itoa::Buffer::new().format(part.len()).as_bytes());
            tail.extend_from_slice(b"\r\n");
            tail.extend_from_slice(part);
            tail.extend_from_slice(b"\r\n");
        }
        Message {
            kind,
            channel: channel.into(),
            tail: tail.into(),
            patterns,
        }
    }

    /// Appends the `message` (or `smessage`) frame for a subscriber in RESP2 or RESP3.
    pub fn write_message(&self, out: &mut Vec<u8>, resp3: bool) {
        out.extend_from_slice(if resp3 { b">3\r\n" } else { b"*3\r\n" });
        out.extend_from_slice(if self.kind == Kind::Shard {
            b"$8\r\nsmessage\r\n"
        } else {
            b"$7\r\nmessage\r\n"
        });
        out.extend_from_slice(&self.tail);
    }

    /// Appends the `pmessage` frame for a subscriber of `pattern`.
    pub fn write_pmessage(&self, out: &mut Vec<u8>, resp3: bool, pattern: &[u8]) {
        out.extend_from_slice(if resp3 { b">4\r\n" } else { b"*4\r\n" });
        out.extend_from_slice(b"$8\r\npmessage\r\n$");
        out.extend_from_slice(itoa::Buffer::new().format(pattern.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(pattern);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.tail);
    }
}

/// One shard's subscriptions: name -> connection slots, per namespace. Touched only by
/// the owning shard.
#[derive(Default)]
pub struct Local {
    channels: HashMap<Name, Slots, RandomState>,
    patterns: HashMap<Name, Slots, RandomState>,
    shard_channels: HashMap<Name, Slots, RandomState>,
}

impl Local {
    fn map(
        &mut self,
        kind: Kind,
    ) -> &mut HashMap<Box<[u8]>, IndexSet<usize, RandomState>, RandomState> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    /// Adds connection `slot` as a subscriber of `name`.
    pub fn add(&mut self, kind: Kind, name: &[u8], slot: usize) {
        self.map(kind).entry(name.into()).or_default().insert(slot);
    }

    /// Removes connection `slot` from `name`'s subscribers.
    pub fn remove(&mut self, kind: Kind, name: &[u8], slot: usize) {
        let map = self.map(kind);
        if let Some(set) = map.get_mut(name) {
            set.swap_remove(&slot);
            if set.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Connection slots subscribed to `channel` (channel or shard-channel namespace).
    pub fn subscribers(&self, kind: Kind, channel: &[u8]) -> Option<&Slots> {
        match kind {
            Kind::Shard => self.shard_channels.get(channel),
            _ => self.channels.get(channel),
        }
    }

    /// Connection slots subscribed to `pattern`.
    pub fn pattern_subscribers(&self, pattern: &[u8]) -> Option<&Slots> {
        self.patterns.get(pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_counts_channel_and_pattern_receivers_per_shard() {
        let r = Registry::new(3);
        r.add(Kind::Channel, b"news", 0);
        r.add(Kind::Channel, b"news", 2);
        r.add(Kind::Pattern, b"ne*", 1);
        r.add(Kind::Pattern, b"x*", 1);
        let route = r.route(Kind::Channel, b"news");
        assert_eq!(route.receivers, 3);
        assert_eq!(route.shards, vec![0, 1, 2]);
        assert_eq!(&*route.patterns, &[Box::from(&b"ne*"[..])]);
        r.remove(Kind::Channel, b"news", 0);
        r.remove(Kind::Pattern, b"ne*", 1);
        let route = r.route(Kind::Channel, b"news");
        assert_eq!((route.receivers, route.shards), (1, vec![2]));
        assert_eq!(r.pattern_count(), 1);
        // Sharded channels do not see patterns.
        r.add(Kind::Shard, b"xs", 0);
        assert_eq!(r.route(Kind::Shard, b"xs").receivers, 1);
        assert_eq!(r.route(Kind::Channel, b"xs").receivers, 1); // the x* pattern
    }

    #[test]
    fn pattern_index_checks_patterns_with_an_empty_prefix_too() {
        let r = Registry::new(1);
        for p in ["*", "a?c", "ab*", "abc", "[a]bc", "zz*"] {
            r.add(Kind::Pattern, p.as_bytes(), 0);
        }
        let route = r.route(Kind::Channel, b"abc");
        let mut got: Vec<_> = route
            .patterns
            .iter()
            .map(|p| String::from_utf8_lossy(p).to_string())
            .collect();
        got.sort();
        assert_eq!(got, vec!["*", "[a]bc", "a?c", "ab*", "abc"]);
    }

    #[test]
    fn frames_are_byte_exact() {
        let m = Message::new(Kind::Channel, b"ch", b"hi", Arc::from(vec![]));
        let mut out = Vec::new();
        m.write_message(&mut out, false);
        m.write_pmessage(&mut out, true, b"c*");
        assert_eq!(out, b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n>4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n");
    }
}
