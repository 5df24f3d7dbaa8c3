//! Pins: the keys whose value a paced reply is still reading, and the values they keep.
//!
//! A paced reply (`cmd::paced`) writes a long reply piece by piece as its client reads, so
//! it reads its key's value over many turns. It must still answer with the value as it was
//! when the command ran, as Redis's materialised reply does. While a key is pinned the value
//! is read in place; the keyspace calls [`Pins::detach_clone`] or [`Pins::detach_move`]
//! before anything changes, replaces or removes it, and the pin keeps the old value to
//! itself from then on (copy on write, at the granularity of a whole value). A value that
//! nobody writes while it is read is never copied, so a reply costs memory in proportion to
//! what the client has not read yet, not to its size.
//!
//! Several replies reading the same key share one pin (one detached copy at most).

use ahash::AHashMap;

use super::{Key, Value};

/// A paced reply's hold on a value; give it back with [`super::Keyspace::unpin`].
#[derive(Debug, PartialEq, Eq)]
pub struct PinId(u32);

/// One pinned value: where it lives while attached, and its copy once detached.
#[derive(Debug)]
struct Slot {
    db: usize,
    key: Key,
    /// Replies holding this pin.
    holders: u32,
    /// The value as it was pinned, once the key changed; `None` while it is read in place.
    detached: Option<Value>,
}

/// Every pin of one shard's keyspace.
#[derive(Debug, Default)]
pub struct Pins {
    /// Attached pins by key: (database, pin) for each database the key is pinned in.
    attached: AHashMap<Key, Vec<(usize, u32)>>,
    /// Pins by id; `None` is a free slot.
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
}

impl Pins {
    /// True when no key is read in place: the keyspace's hooks cost one test.
    #[inline]
    pub fn no_attached(&self) -> bool {
        self.attached.is_empty()
    }

    /// Pins (`db`, `key`), sharing an attached pin of the same key if there is one.
    pub fn pin(&mut self, db: usize, key: &[u8]) -> PinId {
        if let Some(i) = self.find(db, key) {
            if let Some(s) = self.slots[i as usize].as_mut() {
                s.holders += 1;
            }
            return PinId(i);
        }
        let slot = Slot {
            db,
            key: key.into(),
            holders: 1,
            detached: None,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        };
        self.attached.entry(key.into()).or_default().push((db, i));
        PinId(i)
    }

    /// The attached pin of (`db`, `key`), if any.
    fn find(&self, db: usize, key: &[u8]) -> Option<u32> {
        let dbs = self.attached.get(key)?;
        dbs.iter().find(|(d, _)| *d == db).map(|&(_, i)| i)
    }

    /// Forgets the attached pin of (`db`, `key`) and returns it.
    fn take_attached(&mut self, db: usize, key: &[u8]) -> Option<u32> {
        let dbs = self.attached.get_mut(key)?;
        let at = dbs.iter().position(|(d, _)| *d == db)?;
        let (_, i) = dbs.swap_remove(at);
        if dbs.is_empty() {
            self.attached.remove(key);
        }
        Some(i)
    }

    /// Lets go of a pin; the last holder frees it (and its detached copy).
    pub fn unpin(&mut self, pin: PinId) {
        let i = pin.0 as usize;
        let Some(s) = self.slots.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        s.holders -= 1;
        if s.holders > 0 {
            return;
        }
        let s = self.slots[i].take().expect("checked above");
        if s.detached.is_none() {
            self.take_attached(s.db, &s.key);
        }
        self.free.push(pin.0);
    }

    /// Where the pinned value is: its detached copy, or (`db`, `key`) to read in place.
    pub(super) fn locate(&self, pin: &PinId) -> Option<Result<&Value, (usize, &[u8])>> {
        let s = self.slots.get(pin.0 as usize)?.as_ref()?;
        Some(match &s.detached {
            Some(v) => Ok(v),
            None => Err((s.db, &s.key)),
        })
    }

    /// The key's value is about to change in place: the pin takes a copy of it first.
    pub fn detach_clone(&mut self, db: usize, key: &[u8], value: &Value) {
        if let Some(i) = self.take_attached(db, key) {
            if let Some(s) = self.slots[i as usize].as_mut() {
                s.detached = Some(value.clone());
            }
        }
    }

    /// The key's value leaves the keyspace (expired, overwritten, flushed): if pinned, the
    /// pin keeps it; otherwise it is handed back to be dropped.
    pub fn detach_move(&mut self, db: usize, key: &[u8], value: Value) -> Option<Value> {
        match self.take_attached(db, key) {
            Some(i) => {
                if let Some(s) = self.slots[i as usize].as_mut() {
                    s.detached = Some(value);
                }
                None
            }
            None => Some(value),
        }
    }

    /// The keys of `db` read in place (FLUSHDB detaches them all).
    pub fn attached_in(&self, db: usize) -> Vec<Key> {
        self.attached
            .iter()
            .filter(|(_, dbs)| dbs.iter().any(|(d, _)| *d == db))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Databases `a` and `b` swapped places (SWAPDB): pins follow their values.
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        for dbs in self.attached.values_mut() {
            for (d, i) in dbs.iter_mut() {
                let to = if *d == a {
                    b
                } else if *d == b {
                    a
                } else {
                    continue;
                };
                *d = to;
                if let Some(s) = self.slots[*i as usize].as_mut() {
                    s.db = to;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Keyspace, Str, Ttl, Value};

    fn s(v: &str) -> Value {
        Value::Str(Str::from_bytes(v.as_bytes()))
    }

    #[test]
    fn a_pinned_value_survives_every_kind_of_change_of_its_key() {
        type Change = fn(&mut Keyspace);
        let changes: [(&str, Change); 7] = [
            ("write in place", |ks| {
                ks.lookup_mut(0, b"k", 0).unwrap().value = s("changed");
            }),
            ("overwrite", |ks| ks.set(0, b"k", s("new"), Ttl::Clear, 0)),
            ("remove", |ks| {
                ks.remove(0, b"k", 0);
            }),
            ("expiry", |ks| {
                ks.set_expire(0, b"k", 5, 0);
                ks.peek(0, b"k", 10);
            }),
            ("flush", |ks| {
                ks.flush(0);
            }),
            ("swap then write", |ks| {
                ks.swap(0, 1);
                ks.set(1, b"k", s("in 1"), Ttl::Clear, 0);
                ks.set(0, b"k", s("in 0"), Ttl::Clear, 0);
            }),
            ("remove and recreate", |ks| {
                ks.remove(0, b"k", 0);
                ks.set(0, b"k", s("again"), Ttl::Clear, 0);
            }),
        ];
        for (what, change) in changes {
            let mut ks = Keyspace::new(2, 1);
            ks.set(0, b"k", s("original"), Ttl::Clear, 0);
            let a = ks.pin(0, b"k");
            let b = ks.pin(0, b"k");
            change(&mut ks);
            assert_eq!(ks.pinned(&a), Some(&s("original")), "{what}");
            assert_eq!(ks.pinned(&b), Some(&s("original")), "{what}");
            ks.unpin(a);
            assert_eq!(ks.pinned(&b), Some(&s("original")), "{what}");
            ks.unpin(b);
            assert!(ks.pins.no_attached(), "{what}");
        }
    }

    #[test]
    fn an_unchanged_pinned_value_is_read_in_place_and_let_go() {
        let mut ks = Keyspace::new(1, 1);
        ks.set(0, b"k", s("v"), Ttl::Clear, 0);
        ks.set(0, b"other", s("o"), Ttl::Clear, 0);
        let p = ks.pin(0, b"k");
        // Changes of other keys detach nothing.
        ks.set(0, b"other", s("o2"), Ttl::Clear, 0);
        assert!(!ks.pins.no_attached());
        assert_eq!(ks.pinned(&p), Some(&s("v")));
        ks.unpin(p);
        assert!(ks.pins.no_attached());
        // A new pin after the last one went is fresh.
        let q = ks.pin(0, b"k");
        ks.set(0, b"k", s("w"), Ttl::Clear, 0);
        assert_eq!(ks.pinned(&q), Some(&s("v")));
        let r = ks.pin(0, b"k");
        assert_eq!(ks.pinned(&r), Some(&s("w")));
        ks.unpin(q);
        ks.unpin(r);
        assert!(ks.pins.slots.iter().all(Option::is_none));
    }
}
