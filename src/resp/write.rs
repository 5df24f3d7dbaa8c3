//! RESP2/RESP3 reply encoder: writes straight into a connection's (or a hop's) output buffer.
//!
//! Every reply shape that differs between the protocols is decided here, once, so command
//! code says what it means (`map_len`, `null`, `double`) and never checks the version.

/// Writes replies in one protocol version into a byte buffer.
pub struct Reply<'a> {
    /// The output buffer; replies are appended.
    pub buf: &'a mut Vec<u8>,
    /// True after `HELLO 3`.
    pub resp3: bool,
}

impl<'a> Reply<'a> {
    /// A writer appending to `buf` in RESP3 when `resp3`, else RESP2.
    pub fn new(buf: &'a mut Vec<u8>, resp3: bool) -> Self {
        Self { buf, resp3 }
    }

    fn header(&mut self, tag: u8, n: i64) {
        self.buf.push(tag);
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`.
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string; `s` must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error line; `msg` is the text after `-`, e.g. `ERR syntax error`. CR and LF are
    /// replaced by spaces, as Redis does, so a reply can never break the framing.
    pub fn error(&mut self, msg: &str) {
        self.error_bytes(msg.as_bytes());
    }

    /// An error line from raw bytes (quoting client input); CR and LF become spaces.
    pub fn error_bytes(&mut self, msg: &[u8]) {
        self.buf.push(b'-');
        for &b in msg {
            self.buf
                .push(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer.
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    /// A bulk string.
    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// The header of a bulk string of `len` bytes; the caller writes the bytes and the
    /// closing CRLF (a paced reply).
    pub fn bulk_header(&mut self, len: usize) {
        self.header(b'$', len as i64);
    }

    /// An integer rendered as a bulk string (GET of an integer-encoded value).
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(n);
        self.bulk(s.as_bytes());
    }

    /// The null bulk: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3 (blocking timeouts, EXEC abort).
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    /// An array header of `n` elements.
    pub fn array_len(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map header of `n` pairs: `%n` in RESP3, an array of `2n` in RESP2.
    pub fn map_len(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    /// A set header: `~n` in RESP3, an array in RESP2.
    pub fn set_len(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'~', n as i64);
        } else {
            self.header(b'*', n as i64);
        }
    }

    /// A push header: `>n` in RESP3, an array in RESP2 (pub/sub messages).
    pub fn push_len(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'>', n as i64);
        } else {
            self.header(b'*', n as i64);
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, v: bool) {
        if self.resp3 {
            self.buf
                .extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }

    /// A double: `,x` in RESP3, a bulk string in RESP2, formatted as Redis's `%.17g`.
    pub fn double(&mut self, v: f64) {
        let mut buf = DoubleBuf::default();
        let s = buf.format(v);
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(s);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    /// Verbatim text (INFO, CLIENT INFO): `=len\r\ntxt:...` in RESP3, a bulk in RESP2.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.header(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Raw, already-encoded reply bytes (a hop's reply).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

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

/// Skips one complete RESP value at the start of `buf` and returns its length, or `None` if
/// `buf` does not start with a complete value. Used to split gathered hop replies.
pub fn value_len(buf: &[u8]) -> Option<usize> {
    let nl = memchr::memchr(b'\n', buf)?;
    let head = &buf[1..nl.checked_sub(1)?];
    let after = nl + 1;
    match buf[0] {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(after),
        b'$' | b'=' | b'!' => {
            let n: i64 = std::str::from_utf8(head).ok()?.parse().ok()?;
            if n < 0 {
                Some(after)
            } else {
                let end = after + n as usize + 2;
                (end <= buf.len()).then_some(end)
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n: i64 = std::str::from_utf8(head).ok()?.parse().ok()?;
            let items = if buf[0] == b'%' || buf[0] == b'|' {
                n * 2
            } else {
                n
            };
            let mut pos = after;
            for _ in 0..items.max(0) {
                pos += value_len(&buf[pos..])?;
            }
            Some(pos)
        }
        _ => None,
    }
}

/// Reads an integer reply (`:n`) from the start of `buf`.
pub fn read_int(buf: &[u8]) -> Option<i64> {
    if buf.first() != Some(&b':') {
        return None;
    }
    let nl = memchr::memchr(b'\r', buf)?;
    std::str::from_utf8(&buf[1..nl]).ok()?.parse().ok()
}

/// Splits an aggregate reply into its header length and its element count, for merging.
pub fn aggregate_header(buf: &[u8]) -> Option<(usize, usize)> {
    let nl = memchr::memchr(b'\n', buf)?;
    let n: i64 = std::str::from_utf8(buf.get(1..nl.checked_sub(1)?)?)
        .ok()?
        .parse()
        .ok()?;
    Some((nl + 1, n.max(0) as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_differ_by_protocol() {
        let mut b = Vec::new();
        let mut r = Reply::new(&mut b, false);
        r.null();
        r.map_len(2);
        r.double(1.5);
        assert_eq!(b, b"$-1\r\n*4\r\n$3\r\n1.5\r\n");
        let mut b = Vec::new();
        let mut r = Reply::new(&mut b, true);
        r.null();
        r.map_len(2);
        r.double(1.5);
        r.verbatim(b"a");
        assert_eq!(b, b"_\r\n%2\r\n,1.5\r\n=5\r\ntxt:a\r\n");
    }

    #[test]
    fn errors_never_break_framing() {
        let mut b = Vec::new();
        Reply::new(&mut b, false).error("ERR a\r\nb");
        assert_eq!(b, b"-ERR a  b\r\n");
    }

    #[test]
    fn value_len_walks_nested_values() {
        let v = b"*3\r\n$1\r\na\r\n$-1\r\n*1\r\n:5\r\nrest";
        assert_eq!(value_len(v), Some(v.len() - 4));
        assert_eq!(value_len(b"$5\r\nab"), None);
        assert_eq!(read_int(b":42\r\n"), Some(42));
    }
}

#[cfg(test)]
mod double_tests {
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
