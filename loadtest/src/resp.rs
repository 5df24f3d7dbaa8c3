//! RESP wire format for the client side: encode commands, find frame boundaries, parse replies.
//!
//! Two readers on purpose. `frame_len` only finds where a frame ends (no allocation); the kv
//! loop and the sink use it on the hot path. `parse` builds a `Value` borrowed from the read
//! buffer, for the control path and the scenarios that must look inside replies.

use std::fmt;

/// Deepest aggregate nesting accepted; a reply nested deeper is a protocol error, not a crash.
const NESTING_DEPTH_MAX: usize = 32;
/// Largest aggregate length or bulk length accepted, so a corrupt header cannot make us
/// wait for (or allocate) gigabytes.
const ELEMENTS_MAX: i64 = 1 << 32;

/// The peer sent bytes that are not RESP; the connection cannot be resynchronized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RESP protocol error: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// Appends `args` as one RESP array of bulk strings (the only request form servers must accept).
pub fn push_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.push(b'*');
    push_decimal(out, args.len() as u64);
    out.extend_from_slice(b"\r\n");
    for arg in args {
        push_bulk(out, arg);
    }
}

/// Appends one bulk string: `$len\r\nbytes\r\n`.
pub fn push_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'$');
    push_decimal(out, bytes.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal without going through `fmt` (this runs once per request).
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Finds the end of the header line that starts at `from`: returns the index of its `\r`.
fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    let newline = buf.get(from..)?.iter().position(|&b| b == b'\n')? + from;
    if newline == from || buf[newline - 1] != b'\r' {
        return None;
    }
    Some(newline - 1)
}

/// Parses a signed decimal header field such as the `16` of `$16`.
pub fn parse_int(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
    }
    Some(if negative { -n } else { n })
}

fn header_len(buf: &[u8], start: usize, end: usize) -> Result<i64, ProtocolError> {
    let n = parse_int(&buf[start + 1..end])
        .ok_or_else(|| ProtocolError(format!("bad length {:?}", show(&buf[start..end]))))?;
    if n > ELEMENTS_MAX {
        return Err(ProtocolError(format!(
            "length {n} over the {ELEMENTS_MAX} limit"
        )));
    }
    Ok(n)
}

/// Returns the length of the first complete frame in `buf`, `Ok(None)` if more bytes are
/// needed. Handles RESP2 and RESP3 types. Does not allocate: aggregates only add their
/// element count to the number of frames still owed.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
    let mut pos = 0;
    // Frames still to consume before the outer frame is complete.
    let mut owed: i64 = 1;
    while owed > 0 {
        let Some(&kind) = buf.get(pos) else {
            return Ok(None);
        };
        let Some(end) = line_end(buf, pos) else {
            if buf.len() - pos > 64 * 1024 {
                return Err(ProtocolError("header line without CRLF".into()));
            }
            return Ok(None);
        };
        match kind {
            b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => {
                pos = end + 2;
                owed -= 1;
            }
            b'$' | b'=' | b'!' => {
                let n = header_len(buf, pos, end)?;
                pos = end + 2;
                if n >= 0 {
                    pos += n as usize + 2;
                    if pos > buf.len() {
                        return Ok(None);
                    }
                }
                owed -= 1;
            }
            b'*' | b'~' | b'>' => {
                let n = header_len(buf, pos, end)?;
                pos = end + 2;
                owed += n.max(0) - 1;
            }
            b'%' => {
                let n = header_len(buf, pos, end)?;
                pos = end + 2;
                owed += 2 * n.max(0) - 1;
            }
            // An attribute precedes the value it describes and is not a frame by itself.
            b'|' => {
                let n = header_len(buf, pos, end)?;
                pos = end + 2;
                owed += 2 * n.max(0);
            }
            other => {
                return Err(ProtocolError(format!(
                    "unexpected type byte {:?}",
                    other as char
                )))
            }
        }
    }
    if pos > buf.len() {
        return Ok(None);
    }
    Ok(Some(pos))
}

/// One reply, borrowed from the read buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `+OK`
    Simple(&'a [u8]),
    /// `-ERR ...` and RESP3 blob errors.
    Error(&'a [u8]),
    /// `:42`
    Int(i64),
    /// `$3\r\nfoo` and RESP3 verbatim strings.
    Bulk(&'a [u8]),
    /// `$-1`, `*-1` and RESP3 `_`.
    Nil,
    /// RESP2 arrays; RESP3 arrays, sets, pushes, and maps flattened to key, value, ...
    Array(Vec<Value<'a>>),
    /// RESP3 booleans, doubles and big numbers, as their text.
    Other(&'a [u8]),
}

impl<'a> Value<'a> {
    /// The bytes of a bulk or simple string.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bulk(b) | Value::Simple(b) => Some(b),
            _ => None,
        }
    }

    /// Copies the value out of the read buffer.
    pub fn to_owned_reply(&self) -> Reply {
        match self {
            Value::Simple(s) => Reply::Simple(String::from_utf8_lossy(s).into_owned()),
            Value::Error(e) => Reply::Error(String::from_utf8_lossy(e).into_owned()),
            Value::Int(n) => Reply::Int(*n),
            Value::Bulk(b) => Reply::Bulk(b.to_vec()),
            Value::Nil => Reply::Nil,
            Value::Array(items) => Reply::Array(items.iter().map(Value::to_owned_reply).collect()),
            Value::Other(s) => Reply::Simple(String::from_utf8_lossy(s).into_owned()),
        }
    }
}

/// An owned reply, for the control path.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Simple string, or a RESP3 scalar as text.
    Simple(String),
    /// Error reply text, without the leading `-`.
    Error(String),
    /// Integer.
    Int(i64),
    /// Bulk string.
    Bulk(Vec<u8>),
    /// Null bulk, null array or RESP3 null.
    Nil,
    /// Any aggregate.
    Array(Vec<Reply>),
}

impl Reply {
    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Int(n) => Some(*n),
            _ => None,
        }
    }
}

/// Parses the first complete frame of `buf`: the value and the bytes it used, or `Ok(None)`.
pub fn parse(buf: &[u8]) -> Result<Option<(Value<'_>, usize)>, ProtocolError> {
    match parse_at(buf, 0, 0)? {
        Some((value, end)) => Ok(Some((value, end))),
        None => Ok(None),
    }
}

fn parse_at(
    buf: &[u8],
    pos: usize,
    depth: usize,
) -> Result<Option<(Value<'_>, usize)>, ProtocolError> {
    if depth > NESTING_DEPTH_MAX {
        return Err(ProtocolError(format!(
            "nesting deeper than {NESTING_DEPTH_MAX}"
        )));
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some(end) = line_end(buf, pos) else {
        return Ok(None);
    };
    let line = &buf[pos + 1..end];
    let next = end + 2;
    let value = match kind {
        b'+' => (Value::Simple(line), next),
        b'-' => (Value::Error(line), next),
        b':' => {
            let n = parse_int(line)
                .ok_or_else(|| ProtocolError(format!("bad integer {:?}", show(line))))?;
            (Value::Int(n), next)
        }
        b'_' => (Value::Nil, next),
        b'#' | b',' | b'(' => (Value::Other(line), next),
        b'$' | b'=' | b'!' => {
            let n = header_len(buf, pos, end)?;
            if n < 0 {
                (Value::Nil, next)
            } else {
                let stop = next + n as usize;
                if stop + 2 > buf.len() {
                    return Ok(None);
                }
                let body = &buf[next..stop];
                let value = if kind == b'!' {
                    Value::Error(body)
                } else {
                    Value::Bulk(body)
                };
                (value, stop + 2)
            }
        }
        b'*' | b'~' | b'>' | b'%' => {
            let n = header_len(buf, pos, end)?;
            if n < 0 {
                (Value::Nil, next)
            } else {
                let count = if kind == b'%' {
                    2 * n as usize
                } else {
                    n as usize
                };
                let mut items = Vec::with_capacity(count.min(1024));
                let mut at = next;
                for _ in 0..count {
                    let Some((item, after)) = parse_at(buf, at, depth + 1)? else {
                        return Ok(None);
                    };
                    items.push(item);
                    at = after;
                }
                (Value::Array(items), at)
            }
        }
        b'|' => {
            // Skip the attribute map, then return the value it annotates.
            let n = header_len(buf, pos, end)?;
            let mut at = next;
            for _ in 0..2 * n.max(0) {
                let Some((_, after)) = parse_at(buf, at, depth + 1)? else {
                    return Ok(None);
                };
                at = after;
            }
            return parse_at(buf, at, depth);
        }
        other => {
            return Err(ProtocolError(format!(
                "unexpected type byte {:?}",
                other as char
            )))
        }
    };
    Ok(Some(value))
}

/// Reads one bulk string at `pos`: its bytes and the index after its CRLF.
/// `Ok(None)` when incomplete; an error when `pos` does not hold a non-null bulk string.
pub fn bulk_at(buf: &[u8], pos: usize) -> Result<Option<(&[u8], usize)>, ProtocolError> {
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    if kind != b'$' {
        return Err(ProtocolError(format!(
            "expected a bulk string, got {:?}",
            kind as char
        )));
    }
    let Some(end) = line_end(buf, pos) else {
        return Ok(None);
    };
    let n = header_len(buf, pos, end)?;
    if n < 0 {
        return Err(ProtocolError("expected a bulk string, got null".into()));
    }
    let start = end + 2;
    let stop = start + n as usize;
    if stop + 2 > buf.len() {
        return Ok(None);
    }
    Ok(Some((&buf[start..stop], stop + 2)))
}

/// A short printable rendering of wire bytes for error messages.
pub fn show(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(80)];
    String::from_utf8_lossy(cut).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_encodes_as_array_of_bulk_strings() {
        let mut out = Vec::new();
        push_command(&mut out, &[b"SET", b"k", b"hello"]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
    }

    #[test]
    fn decimal_handles_zero_and_large() {
        let mut out = Vec::new();
        push_decimal(&mut out, 0);
        out.push(b' ');
        push_decimal(&mut out, u64::MAX);
        assert_eq!(out, b"0 18446744073709551615");
    }

    #[test]
    fn frame_len_finds_each_scalar_kind() {
        assert_eq!(frame_len(b"+OK\r\n").unwrap(), Some(5));
        assert_eq!(frame_len(b"-ERR x\r\n+OK\r\n").unwrap(), Some(8));
        assert_eq!(frame_len(b":12\r\n").unwrap(), Some(5));
        assert_eq!(frame_len(b"$-1\r\n").unwrap(), Some(5));
        assert_eq!(frame_len(b"$3\r\nfoo\r\n").unwrap(), Some(9));
        assert_eq!(frame_len(b"_\r\n").unwrap(), Some(3));
    }

    #[test]
    fn frame_len_waits_for_incomplete_frames() {
        let full = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n";
        for cut in 0..full.len() {
            assert_eq!(frame_len(&full[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert_eq!(frame_len(full).unwrap(), Some(full.len()));
    }

    #[test]
    fn frame_len_handles_nested_and_empty_aggregates() {
        let nested = b"*2\r\n*0\r\n*2\r\n:1\r\n$-1\r\n+after\r\n";
        assert_eq!(frame_len(nested).unwrap(), Some(nested.len() - 8));
        assert_eq!(frame_len(b"*-1\r\n").unwrap(), Some(5));
        assert_eq!(frame_len(b"%1\r\n+a\r\n:1\r\n").unwrap(), Some(12));
        assert_eq!(frame_len(b"|1\r\n+a\r\n:1\r\n+OK\r\n").unwrap(), Some(17));
    }

    #[test]
    fn frame_len_rejects_garbage() {
        assert!(frame_len(b"hello\r\n").is_err());
        assert!(frame_len(b"$abc\r\n").is_err());
    }

    #[test]
    fn parse_reads_a_pubsub_message() {
        let buf = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\nrest";
        let (value, used) = parse(buf).unwrap().unwrap();
        assert_eq!(used, buf.len() - 4);
        assert_eq!(
            value,
            Value::Array(vec![
                Value::Bulk(b"message"),
                Value::Bulk(b"ch"),
                Value::Bulk(b"hello")
            ])
        );
    }

    #[test]
    fn parse_returns_none_on_every_prefix() {
        let full = b"*2\r\n$1\r\na\r\n*1\r\n:5\r\n";
        for cut in 0..full.len() {
            assert!(parse(&full[..cut]).unwrap().is_none(), "cut at {cut}");
        }
        assert!(parse(full).unwrap().is_some());
    }

    #[test]
    fn bulk_at_reads_consecutive_bulks() {
        let buf = b"$2\r\nab\r\n$0\r\n\r\n";
        let (a, next) = bulk_at(buf, 0).unwrap().unwrap();
        assert_eq!(a, b"ab");
        let (b, end) = bulk_at(buf, next).unwrap().unwrap();
        assert_eq!(b, b"");
        assert_eq!(end, buf.len());
        assert!(bulk_at(&buf[..5], 0).unwrap().is_none());
    }
}
