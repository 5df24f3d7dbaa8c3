//! Redis's listpack, the packed layout RDB and DUMP carry small hashes, sorted sets, list
//! nodes and stream nodes in: a 6-byte header (total bytes, element count), elements,
//! and an end byte 0xFF. An element is its encoding (an integer in 7 to 64 bits, or a
//! string with a 6-, 12- or 32-bit length) and then its own length backwards, so the
//! layout can be walked from either end. Strings that read as integers are stored as
//! integers, as `lpAppend` does.

/// One element read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// An integer element.
    Int(i64),
    /// A string element.
    Str(&'a [u8]),
}

impl Item<'_> {
    /// The element as bytes (an integer printed in decimal).
    pub fn to_bytes(self) -> Vec<u8> {
        match self {
            Item::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
            Item::Str(s) => s.to_vec(),
        }
    }

    /// The element as an integer, when it is one.
    pub fn as_int(self) -> Option<i64> {
        match self {
            Item::Int(n) => Some(n),
            Item::Str(s) => as_int(s),
        }
    }
}

/// `s` as the integer a listpack would store it as (Redis's `lpStringToInt64`: the strict
/// decimal form only, at most 20 bytes).
pub fn as_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    crate::num::parse_i64(s)
}

/// Builds a listpack element by element.
#[derive(Debug, Clone)]
pub struct Builder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// An empty listpack.
    pub fn new() -> Builder {
        Builder {
            buf: vec![0; 6],
            count: 0,
        }
    }

    /// Bytes the listpack takes so far, end byte included.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Elements so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no element was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends a string, stored as an integer when it reads as one.
    pub fn push(&mut self, s: &[u8]) {
        match as_int(s) {
            Some(n) => self.push_int(n),
            None => self.push_str(s),
        }
    }

    /// Appends a string as a string.
    fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xe0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xf0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.finish(start);
    }

    /// Appends an integer in the smallest encoding that holds it.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = if v < 0 { (1 << 13) + v } else { v } as u16;
            self.buf.push(0xc0 | (u >> 8) as u8);
            self.buf.push(u as u8);
        } else if (-32768..=32767).contains(&v) {
            self.buf.push(0xf1);
            self.buf.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            self.buf.push(0xf2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if i32::try_from(v).is_ok() {
            self.buf.push(0xf3);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            self.buf.push(0xf4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.finish(start);
    }

    /// Writes the element's back-length after it.
    fn finish(&mut self, start: usize) {
        let l = self.buf.len() - start;
        if l <= 127 {
            self.buf.push(l as u8);
        } else if l < 16383 {
            self.buf.push((l >> 7) as u8);
            self.buf.push((l & 127) as u8 | 128);
        } else if l < 2_097_151 {
            self.buf.push((l >> 14) as u8);
            self.buf.push(((l >> 7) & 127) as u8 | 128);
            self.buf.push((l & 127) as u8 | 128);
        } else if l < 268_435_455 {
            self.buf.push((l >> 21) as u8);
            self.buf.push(((l >> 14) & 127) as u8 | 128);
            self.buf.push(((l >> 7) & 127) as u8 | 128);
            self.buf.push((l & 127) as u8 | 128);
        } else {
            self.buf.push((l >> 28) as u8);
            self.buf.push(((l >> 21) & 127) as u8 | 128);
            self.buf.push(((l >> 14) & 127) as u8 | 128);
            self.buf.push(((l >> 7) & 127) as u8 | 128);
            self.buf.push((l & 127) as u8 | 128);
        }
        self.count += 1;
    }

    /// The finished listpack.
    pub fn finish_bytes(mut self) -> Vec<u8> {
        self.buf.push(0xff);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(65535) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// The bytes `lpEncodeBacklen` takes for an element of `l` bytes.
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// Reads every element of the listpack `lp`, checking its header, each element's
/// encoding and back-length, and the end byte; `None` if anything is off.
pub fn parse(lp: &[u8]) -> Option<Vec<Item<'_>>> {
    let total = u32::from_le_bytes(lp.get(..4)?.try_into().ok()?) as usize;
    if total != lp.len() || total < 7 {
        return None;
    }
    let count = usize::from(u16::from_le_bytes(lp[4..6].try_into().ok()?));
    let mut items = Vec::new();
    let mut at = 6;
    loop {
        let b = *lp.get(at)?;
        if b == 0xff {
            break;
        }
        let (item, len) = element(lp.get(at..lp.len() - 1)?)?;
        let back = backlen_size(len);
        // The back-length must say `len`.
        let stored = lp.get(at + len..at + len + back)?;
        let v = stored
            .iter()
            .fold(0usize, |v, &byte| (v << 7) | usize::from(byte & 127));
        if v != len || stored[0] & 128 != 0 {
            return None;
        }
        items.push(item);
        at += len + back;
    }
    if at != lp.len() - 1 || (count != 65535 && count != items.len()) {
        return None;
    }
    Some(items)
}

/// The element at the start of `b` and its length without the back-length.
fn element(b: &[u8]) -> Option<(Item<'_>, usize)> {
    let e = *b.first()?;
    let le = |n: usize| -> Option<u64> {
        let bytes = b.get(1..1 + n)?;
        Some(
            bytes
                .iter()
                .rev()
                .fold(0u64, |v, &x| (v << 8) | u64::from(x)),
        )
    };
    let sign = |v: u64, bits: u32| -> i64 { ((v << (64 - bits)) as i64) >> (64 - bits) };
    Some(match e {
        0x00..=0x7f => (Item::Int(i64::from(e)), 1),
        0x80..=0xbf => {
            let n = usize::from(e & 0x3f);
            (Item::Str(b.get(1..1 + n)?), 1 + n)
        }
        0xc0..=0xdf => {
            let v = (u64::from(e & 0x1f) << 8) | u64::from(*b.get(1)?);
            (Item::Int(sign(v, 13)), 2)
        }
        0xe0..=0xef => {
            let n = (usize::from(e & 0x0f) << 8) | usize::from(*b.get(1)?);
            (Item::Str(b.get(2..2 + n)?), 2 + n)
        }
        0xf0 => {
            let n = usize::try_from(le(4)?).ok()?;
            (Item::Str(b.get(5..5usize.checked_add(n)?)?), 5 + n)
        }
        0xf1 => (Item::Int(sign(le(2)?, 16)), 3),
        0xf2 => (Item::Int(sign(le(3)?, 24)), 4),
        0xf3 => (Item::Int(sign(le(4)?, 32)), 5),
        0xf4 => (Item::Int(le(8)? as i64), 9),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_what_redis_builds_and_reads_it_back() {
        let mut b = Builder::new();
        for s in [
            &b"a"[..],
            b"1",
            b"-1",
            b"128",
            b"-4096",
            b"4096",
            b"70000",
            b"-0",
            b"01",
        ] {
            b.push(s);
        }
        b.push_int(1 << 40);
        b.push(&[b'x'; 100]);
        b.push(&[b'y'; 5000]);
        let lp = b.finish_bytes();
        // Redis: "a" is 0x81 'a' 0x02; "1" is 0x01 0x01; "-1" a 13-bit int.
        assert_eq!(&lp[6..9], &[0x81, b'a', 2]);
        assert_eq!(&lp[9..11], &[1, 1]);
        assert_eq!(&lp[11..14], &[0xdf, 0xff, 2]);
        let items = parse(&lp).expect("parses");
        let want: Vec<Vec<u8>> = [
            &b"a"[..],
            b"1",
            b"-1",
            b"128",
            b"-4096",
            b"4096",
            b"70000",
            b"-0",
            b"01",
            b"1099511627776",
        ]
        .iter()
        .map(|s| s.to_vec())
        .chain([vec![b'x'; 100], vec![b'y'; 5000]])
        .collect();
        assert_eq!(items.iter().map(|i| i.to_bytes()).collect::<Vec<_>>(), want);
        assert_eq!(items[7], Item::Str(b"-0"));
        for cut in 0..lp.len() {
            assert!(parse(&lp[..cut]).is_none());
        }
    }
}
