//! Doubles printed as Redis prints them (`%.17g`), without allocating.

/// Formats a double as Redis does (`%.17g`): 17 significant digits with trailing zeros
/// cut, exponent form below 1e-4 or from 1e17, `inf` / `-inf` (RESP3 doubles, sorted-set
/// scores).
pub fn format_double(v: f64) -> String {
    let mut buf = DoubleBuf::default();
    String::from_utf8_lossy(buf.format(v)).into_owned()
}

/// A stack buffer for one formatted double (`%.17g` needs at most 24 bytes).
#[derive(Default)]
pub struct DoubleBuf {
    bytes: [u8; 32],
    len: usize,
}

impl std::fmt::Write for DoubleBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl DoubleBuf {
    fn push(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    fn extend(&mut self, bs: &[u8]) {
        self.bytes[self.len..self.len + bs.len()].copy_from_slice(bs);
        self.len += bs.len();
    }

    /// `v` as `%.17g` prints it, without allocating.
    pub fn format(&mut self, v: f64) -> &[u8] {
        use std::fmt::Write;
        self.len = 0;
        if v.is_infinite() {
            self.extend(if v > 0.0 { b"inf" } else { b"-inf" });
        } else if v.is_nan() {
            self.extend(b"nan");
        } else if v == 0.0 {
            self.extend(if v.is_sign_negative() { b"-0" } else { b"0" });
        } else if v.fract() == 0.0 && v.abs() < 1e17 {
            // An integer below 1e17 has at most 17 digits: printed exactly, no point.
            self.extend(itoa::Buffer::new().format(v as i64).as_bytes());
        } else {
            // 17 significant digits in exponent form, then laid out as %g does.
            let mut sci = DoubleBuf::default();
            write!(sci, "{v:.16e}").expect("fits");
            let sci = &sci.bytes[..sci.len];
            let (negative, sci) = match sci.split_first() {
                Some((b'-', rest)) => (true, rest),
                _ => (false, sci),
            };
            let e = sci.iter().position(|&b| b == b'e').expect("exponent form");
            let mut digits = [0u8; 17];
            digits[0] = sci[0];
            digits[1..].copy_from_slice(&sci[2..e]);
            let exp: i32 = std::str::from_utf8(&sci[e + 1..])
                .ok()
                .and_then(|x| x.parse().ok())
                .expect("integer exponent");
            if negative {
                self.push(b'-');
            }
            let significant = digits.iter().rposition(|&d| d != b'0').map_or(1, |i| i + 1);
            if (-4..17).contains(&exp) {
                if exp >= 0 {
                    let int = exp as usize + 1;
                    self.extend(&digits[..int]);
                    if significant > int {
                        self.push(b'.');
                        self.extend(&digits[int..significant]);
                    }
                } else {
                    self.extend(b"0.");
                    for _ in 0..(-exp - 1) {
                        self.push(b'0');
                    }
                    self.extend(&digits[..significant]);
                }
            } else {
                self.push(digits[0]);
                if significant > 1 {
                    self.push(b'.');
                    self.extend(&digits[1..significant]);
                }
                self.push(b'e');
                self.push(if exp < 0 { b'-' } else { b'+' });
                if exp.abs() < 10 {
                    self.push(b'0');
                }
                self.extend(itoa::Buffer::new().format(exp.abs()).as_bytes());
            }
        }
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::DoubleBuf;

    /// What C's `snprintf("%.17g")` (Redis's formatting) prints.
    fn c_format(v: f64) -> String {
        let mut buf = [0u8; 64];
        // SAFETY: the buffer is large enough for any %.17g output and NUL-terminated by
        // snprintf; the format takes exactly one double.
        let n = unsafe {
            libc::snprintf(
                buf.as_mut_ptr() as *mut libc::c_char,
                buf.len(),
                c"%.17g".as_ptr(),
                v,
            )
        };
        String::from_utf8(buf[..n as usize].to_vec()).unwrap()
    }

    #[test]
    fn doubles_print_exactly_like_c_percent_17g() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut cases: Vec<f64> = vec![
            1.5,
            0.1,
            3.0,
            1e20,
            1e16,
            1e17,
            99999999999999999.0,
            0.0001,
            0.00001,
            -2.5,
            123456789012345678.0,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            -1e-5,
            1e-4,
            0.3,
        ];
        for _ in 0..20_000 {
            let bits = next();
            let v = f64::from_bits(bits);
            if v.is_finite() {
                cases.push(v);
            }
            // Also ordinary magnitudes, integers and halves.
            let small = (next() % 2_000_000) as f64 / 8.0 - 100_000.0;
            cases.push(small);
            cases.push((next() % 1_000_000_000_000) as f64 * 1e-9);
        }
        let mut buf = DoubleBuf::default();
        for v in cases {
            let mine = String::from_utf8(buf.format(v).to_vec()).unwrap();
            assert_eq!(mine, c_format(v), "{v:e}");
        }
    }
}
