//! LZF, the compression RDB files and DUMP payloads use for strings over 20 bytes.
//!
//! `compress` follows liblzf 3.6 as Redis builds it (a 2^16-slot hash of the next three
//! bytes, `VERY_FAST`: after a match the two positions before its end are hashed too), so
//! its output is Redis's byte for byte; Redis leaves its hash table uninitialised, where
//! this one starts empty, which can only make Redis find a match this one does not.
//! `decompress` checks every reference and length, so hostile input is an error.

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

fn first(data: &[u8], at: usize) -> u32 {
    (u32::from(data[at]) << 8) | u32::from(data[at + 1])
}

fn next(v: u32, data: &[u8], at: usize) -> u32 {
    (v << 8) | u32::from(data[at + 2])
}

fn slot(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// Appends one literal byte to the current run; a full run (32 bytes) is closed and a
/// new one started, as liblzf does.
fn literal(out: &mut Vec<u8>, lit: &mut usize, run: &mut usize, byte: u8) {
    *lit += 1;
    out.push(byte);
    if *lit == MAX_LIT {
        out[*run] = (*lit - 1) as u8;
        *lit = 0;
        *run = out.len();
        out.push(0);
    }
}

/// The hash table of input positions (0 is also "empty", which loses nothing: liblzf
/// never matches a reference at position 0 either, it requires `ref > in_data`). One per
/// thread, kept empty between calls by clearing only the slots a call set: zeroing all
/// 2^16 slots for every string made a snapshot of small values spend most of its time in
/// memset.
struct Table {
    slots: Vec<u32>,
    set: Vec<u32>,
}

impl Table {
    #[inline]
    fn get(&self, h: usize) -> u32 {
        self.slots[h]
    }

    #[inline]
    fn put(&mut self, h: usize, pos: u32) {
        if self.slots[h] == 0 {
            self.set.push(h as u32);
        }
        self.slots[h] = pos;
    }

    fn clear(&mut self) {
        for h in self.set.drain(..) {
            self.slots[h as usize] = 0;
        }
    }
}

thread_local! {
    static TABLE: std::cell::RefCell<Table> = std::cell::RefCell::new(Table {
        slots: vec![0; HSIZE],
        set: Vec::new(),
    });
}

/// Compresses `input` into at most `out_max` bytes; `None` if it does not fit (then the
/// caller stores the string as it is, as Redis does).
pub fn compress(input: &[u8], out_max: usize) -> Option<Vec<u8>> {
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let out = compress_with(&mut t, input, out_max);
        t.clear();
        out
    })
}

fn compress_with(htab: &mut Table, input: &[u8], out_max: usize) -> Option<Vec<u8>> {
    let in_len = input.len();
    if in_len == 0 || out_max == 0 {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(out_max);
    // `run` is where the current literal run's length byte sits.
    let mut lit: usize = 0;
    out.push(0);
    let mut run = 0;
    let mut ip = 0usize;
    let mut hval = if in_len >= 2 { first(input, 0) } else { 0 };
    while in_len >= 3 && ip < in_len - 2 {
        hval = next(hval, input, ip);
        let h = slot(hval);
        let reference = htab.get(h) as usize;
        htab.put(h, ip as u32);
        let found = reference > 0 && reference < ip && {
            let off = ip - reference - 1;
            off < MAX_OFF
                && input[reference + 2] == input[ip + 2]
                && input[reference] == input[ip]
                && input[reference + 1] == input[ip + 1]
        };
        if found {
            let off = ip - reference - 1;
            let mut len = 2usize;
            let maxlen = (in_len - ip - len).min(MAX_REF);
            // liblzf's exact bound checks against its output buffer.
            if out.len() + 3 + 1 >= out_max && out.len() - usize::from(lit == 0) + 3 + 1 >= out_max
            {
                return None;
            }
            out[run] = (lit as u8).wrapping_sub(1);
            if lit == 0 {
                out.pop();
            }
            // The match length: liblzf's unrolled loop checks 16 bytes without the
            // bound when more than 16 remain, then steps with it.
            let mut done = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[reference + len] != input[ip + len] {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                loop {
                    len += 1;
                    if !(len < maxlen && input[reference + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out.push(((off >> 8) + (len << 5)) as u8);
            } else {
                out.push(((off >> 8) + (7 << 5)) as u8);
                out.push((len - 7) as u8);
            }
            out.push(off as u8);
            lit = 0;
            run = out.len();
            out.push(0);
            ip += len + 1;
            if ip >= in_len - 2 {
                break;
            }
            ip -= 2;
            hval = first(input, ip);
            hval = next(hval, input, ip);
            htab.put(slot(hval), ip as u32);
            ip += 1;
            hval = next(hval, input, ip);
            htab.put(slot(hval), ip as u32);
            ip += 1;
        } else {
            if out.len() >= out_max {
                return None;
            }
            literal(&mut out, &mut lit, &mut run, input[ip]);
            ip += 1;
        }
    }
    if out.len() + 3 > out_max {
        return None;
    }
    while ip < in_len {
        literal(&mut out, &mut lit, &mut run, input[ip]);
        ip += 1;
    }
    out[run] = (lit as u8).wrapping_sub(1);
    if lit == 0 {
        out.pop();
    }
    (out.len() <= out_max).then_some(out)
}

/// Decompresses `input` into exactly `out_len` bytes; `None` if it is malformed or does
/// not come out at that length.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(out_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            let lits = input.get(ip..ip + n)?;
            if out.len() + n > out_len {
                return None;
            }
            out.extend_from_slice(lits);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip)?);
                ip += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + usize::from(*input.get(ip)?) + 1;
            ip += 1;
            let from = out.len().checked_sub(back)?;
            if out.len() + len + 2 > out_len {
                return None;
            }
            for i in 0..len + 2 {
                let b = out[from + i];
                out.push(b);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn round_trips_and_refuses_what_does_not_fit() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            let len = rng.gen_range(1..600);
            let alphabet = rng.gen_range(1..=256u32);
            let data: Vec<u8> = (0..len).map(|_| rng.gen_range(0..alphabet) as u8).collect();
            if let Some(c) = compress(&data, len + 64) {
                assert_eq!(decompress(&c, len).as_deref(), Some(&data[..]));
                assert!(decompress(&c, len + 1).is_none());
            }
            if let Some(c) = compress(&data, len.saturating_sub(4).max(1)) {
                assert!(c.len() <= len - 4);
                assert_eq!(decompress(&c, len).as_deref(), Some(&data[..]));
            }
        }
        let zeros = vec![0u8; 1000];
        let c = compress(&zeros, 996).expect("compresses");
        assert!(c.len() < 40);
        assert_eq!(decompress(&c, 1000).as_deref(), Some(&zeros[..]));
    }

    #[test]
    fn hostile_input_is_refused() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        for _ in 0..5000 {
            let len = rng.gen_range(0..40);
            let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let _ = decompress(&data, rng.gen_range(0..100));
        }
        // A back reference before the start.
        assert!(decompress(&[0x20, 0x05], 3).is_none());
    }
}
