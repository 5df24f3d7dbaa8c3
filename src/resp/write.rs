//! RESP2/RESP3 reply encoder: writes straight into a connection's (or a hop's) output buffer.
//!
//! Every reply shape that differs between the protocols is decided here, once, so command
//! code says what it means (`map_len`, `null`, `double`) and never checks the version.

use crate::num::DoubleBuf;

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
