//! Zero-copy RESP request parser: multibulk and inline frames, resumable across reads.
//!
//! The parser never copies argument bytes: it records each argument as a byte range of the
//! connection's read buffer, relative to the start of the frame being parsed. A frame split
//! over many reads is resumed where it stopped (`ParseState`), so a frame of a million
//! arguments arriving in small pieces costs linear time, not quadratic.
//!
//! Error texts and limits follow Redis 7 `networking.c` byte for byte, because clients and
//! tests match on them.

use memchr::memchr2;

use crate::num::parse_i64;

/// Longest inline request, and longest `*<count>` / `$<len>` header line (Redis's
/// PROTO_INLINE_MAX_SIZE): a peer that sends more without a newline is not speaking RESP.
pub const INLINE_BYTES_MAX: usize = 64 * 1024;

/// Largest multibulk count accepted (Redis: INT_MAX).
pub const MULTIBULK_COUNT_MAX: i64 = i32::MAX as i64;

/// An argument: `start..end` relative to the frame start in the read buffer.
pub type ArgRange = (u32, u32);

/// Why a connection must be closed: the client broke the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    /// The text after `-ERR ` in the reply sent before closing.
    pub reply: &'static str,
    /// Optional suffix (the offending byte for "expected '$', got 'x'").
    pub got: Option<u8>,
}

impl ProtocolError {
    const fn new(reply: &'static str) -> Self {
        Self { reply, got: None }
    }

    /// The full error line Redis sends, without the leading `-` and trailing CRLF.
    pub fn message(&self) -> String {
        match self.got {
            Some(b) => format!("{}'{}'", self.reply, b as char),
            None => self.reply.to_string(),
        }
    }
}

/// Limits the parser enforces; copied from config once per turn.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// `proto-max-bulk-len`: largest single argument.
    pub bulk_bytes_max: i64,
    /// Whether the client still has to authenticate (tighter limits apply, as Redis).
    pub unauthenticated: bool,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            bulk_bytes_max: 512 * 1024 * 1024,
            unauthenticated: false,
        }
    }
}

/// Progress through the current frame, kept across reads.
#[derive(Debug, Default, Clone)]
pub struct ParseState {
    /// Arguments still to read in the current multibulk (0 = between frames).
    multibulk_left: usize,
    /// Bytes of the current frame consumed so far (headers and complete arguments).
    pos: usize,
    /// Declared length of the bulk being read, once its header was parsed.
    bulk_len: Option<usize>,
}

/// Outcome of one parse attempt.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A complete frame of `consumed` bytes; its arguments are in `args` (may be empty:
    /// an empty inline line or `*0`, which Redis silently skips).
    Frame { consumed: usize },
    /// Need more bytes. `want` is the total frame length needed when known, so the caller
    /// can reserve once for a large bulk.
    Incomplete { want: Option<usize> },
    /// A complete inline frame whose quoted arguments had to be unescaped into owned bytes.
    Owned { consumed: usize, args: Vec<Vec<u8>> },
}

impl ParseState {
    /// True when no frame is partially parsed.
    pub fn is_idle(&self) -> bool {
        self.multibulk_left == 0 && self.pos == 0
    }

    /// Parses one frame from `buf` (which starts at the frame start). On `Frame`, `args`
    /// holds the argument ranges and the state is reset for the next frame.
    pub fn parse(
        &mut self,
        buf: &[u8],
        args: &mut Vec<ArgRange>,
        limits: &ParseLimits,
    ) -> Result<Parsed, ProtocolError> {
        if buf.is_empty() {
            return Ok(Parsed::Incomplete { want: None });
        }
        if self.multibulk_left == 0 && self.pos == 0 {
            args.clear();
            if buf[0] != b'*' {
                return parse_inline(buf, args);
            }
            // Multibulk header.
            let Some(nl) = line_end(b'\r', buf) else {
                if buf.len() > INLINE_BYTES_MAX {
                    return Err(ProtocolError::new(
                        "Protocol error: too big mbulk count string",
                    ));
                }
                return Ok(Parsed::Incomplete { want: None });
            };
            // Past the limit the line is refused whether or not its end came in this read,
            // so the outcome does not depend on how the bytes were split.
            if nl > INLINE_BYTES_MAX {
                return Err(ProtocolError::new(
                    "Protocol error: too big mbulk count string",
                ));
            }
            if nl + 1 >= buf.len() {
                return Ok(Parsed::Incomplete { want: None });
            }
            let count = match parse_i64(&buf[1..nl]) {
                Some(n) if n <= MULTIBULK_COUNT_MAX => n,
                _ => {
                    return Err(ProtocolError::new(
                        "Protocol error: invalid multibulk length",
                    ))
                }
            };
            if count > 10 && limits.unauthenticated {
                return Err(ProtocolError::new(
                    "Protocol error: unauthenticated multibulk length",
                ));
            }
            if count <= 0 {
                return Ok(Parsed::Frame { consumed: nl + 2 });
            }
            self.multibulk_left = count as usize;
            self.pos = nl + 2;
            // Do not trust the declared count for a reservation: a peer can declare 2^31
            // arguments and send none.
            args.reserve((count as usize).min(1024));
        }
        while self.multibulk_left > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let rest = &buf[self.pos..];
                    let Some(nl) = line_end(b'\r', rest) else {
                        if rest.len() > INLINE_BYTES_MAX {
                            return Err(ProtocolError::new(
                                "Protocol error: too big bulk count string",
                            ));
                        }
                        return Ok(Parsed::Incomplete { want: None });
                    };
                    if nl > INLINE_BYTES_MAX {
                        return Err(ProtocolError::new(
                            "Protocol error: too big bulk count string",
                        ));
                    }
                    if nl + 1 >= rest.len() {
                        return Ok(Parsed::Incomplete { want: None });
                    }
                    if rest[0] != b'$' {
                        return Err(ProtocolError {
                            reply: "Protocol error: expected '$', got ",
                            got: Some(rest[0]),
                        });
                    }
                    let len = match parse_i64(&rest[1..nl]) {
                        Some(n) if n >= 0 && n <= limits.bulk_bytes_max => n as usize,
                        _ => return Err(ProtocolError::new("Protocol error: invalid bulk length")),
                    };
                    if len > 16384 && limits.unauthenticated {
                        return Err(ProtocolError::new(
                            "Protocol error: unauthenticated bulk length",
                        ));
                    }
                    self.pos += nl + 2;
                    self.bulk_len = Some(len);
                    len
                }
            };
            // Like Redis, the two bytes after the payload are skipped, not checked.
            if buf.len() - self.pos < len + 2 {
                return Ok(Parsed::Incomplete {
                    want: Some(self.pos + len + 2),
                });
            }
            args.push((self.pos as u32, (self.pos + len) as u32));
            self.pos += len + 2;
            self.bulk_len = None;
            self.multibulk_left -= 1;
        }
        let consumed = self.pos;
        self.pos = 0;
        Ok(Parsed::Frame { consumed })
    }
}

/// Inline request: one line, split on spaces like Redis's `sdssplitargs`. A line with
/// quotes needs unescaping, so its arguments come back owned (`Parsed::Owned`): a rare path
/// (telnet users), never taken by client libraries or redis-benchmark.
fn parse_inline(buf: &[u8], args: &mut Vec<ArgRange>) -> Result<Parsed, ProtocolError> {
    let Some(nl) = line_end(b'\n', buf) else {
        if buf.len() > INLINE_BYTES_MAX {
            return Err(ProtocolError::new("Protocol error: too big inline request"));
        }
        return Ok(Parsed::Incomplete { want: None });
    };
    // As for headers: a line over the limit is refused even when it arrived whole.
    if nl > INLINE_BYTES_MAX {
        return Err(ProtocolError::new("Protocol error: too big inline request"));
    }
    let mut end = nl;
    if end > 0 && buf[end - 1] == b'\r' {
        end -= 1;
    }
    let line = &buf[..end];
    if line.iter().any(|&b| b == b'"' || b == b'\'') {
        return match split_inline(line) {
            Some(owned) => Ok(Parsed::Owned {
                consumed: nl + 1,
                args: owned,
            }),
            None => Err(ProtocolError::new(
                "Protocol error: unbalanced quotes in request",
            )),
        };
    }
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i == line.len() {
            break;
        }
        let start = i;
        while i < line.len() && !is_space(line[i]) {
            i += 1;
        }
        args.push((start as u32, i as u32));
    }
    Ok(Parsed::Frame { consumed: nl + 1 })
}

/// Where a header or inline line ends (its first `end` byte), found as Redis finds it:
/// with `strchr` on the NUL-terminated query buffer, so a NUL before the end hides it.
/// Such a line is never complete; past [`INLINE_BYTES_MAX`] bytes it is refused as too
/// big, like any other line with no end.
fn line_end(end: u8, buf: &[u8]) -> Option<usize> {
    memchr2(end, 0, buf).filter(|&i| buf[i] == end)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits a line into arguments exactly like Redis's `sdssplitargs`: double quotes with
/// `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` escapes; single quotes with `\'`. A closing quote
/// must be followed by a space or the end of the line. Returns `None` on unbalanced quotes.
pub fn split_inline(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= line.len() {
                    return None;
                }
                let c = line[i];
                let hex = (c == b'\\' && i + 3 < line.len() && line[i + 1] == b'x')
                    .then(|| hex_val(line[i + 2]).zip(hex_val(line[i + 3])))
                    .flatten();
                if let Some((hi, lo)) = hex {
                    cur.push(hi * 16 + lo);
                    i += 3;
                } else if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if i >= line.len() {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < line.len() && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                if i >= line.len() {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut st = ParseState::default();
        let mut args = Vec::new();
        let mut pos = 0;
        let mut frames = Vec::new();
        while pos < input.len() {
            match st.parse(&input[pos..], &mut args, &ParseLimits::default())? {
                Parsed::Frame { consumed } => {
                    let base = &input[pos..];
                    frames.push(
                        args.iter()
                            .map(|&(s, e)| base[s as usize..e as usize].to_vec())
                            .collect(),
                    );
                    pos += consumed;
                }
                Parsed::Owned { consumed, args } => {
                    frames.push(args);
                    pos += consumed;
                }
                Parsed::Incomplete { .. } => break,
            }
        }
        Ok(frames)
    }

    #[test]
    fn multibulk_frames_pipelined() {
        let f = parse_all(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n").unwrap();
        assert_eq!(
            f,
            vec![vec![b"PING".to_vec()], vec![b"GET".to_vec(), b"a".to_vec()]]
        );
    }

    #[test]
    fn binary_safe_bulk_with_crlf_inside() {
        let f = parse_all(b"*2\r\n$3\r\nSET\r\n$4\r\na\r\nb\r\n").unwrap();
        assert_eq!(f[0][1], b"a\r\nb".to_vec());
    }

    #[test]
    fn frame_split_over_every_byte_boundary_resumes() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let mut st = ParseState::default();
        let mut args = Vec::new();
        for cut in 1..input.len() {
            let r = st
                .parse(&input[..cut], &mut args, &ParseLimits::default())
                .unwrap();
            assert!(matches!(r, Parsed::Incomplete { .. }), "cut {cut}");
        }
        let r = st.parse(input, &mut args, &ParseLimits::default()).unwrap();
        assert_eq!(
            r,
            Parsed::Frame {
                consumed: input.len()
            }
        );
        assert_eq!(args.len(), 3);
        assert!(st.is_idle());
    }

    #[test]
    fn inline_commands_split_on_spaces_and_accept_bare_newline() {
        let f = parse_all(b"PING\r\nSET  a  b\n\r\n").unwrap();
        assert_eq!(f[0], vec![b"PING".to_vec()]);
        assert_eq!(f[1], vec![b"SET".to_vec(), b"a".to_vec(), b"b".to_vec()]);
        assert!(f[2].is_empty());
    }

    #[test]
    fn a_nul_before_a_line_end_leaves_the_frame_incomplete() {
        for input in [
            &b"\0\r\nPING\r\n"[..],
            b"x\0y\nPING\r\n",
            b"*1\0\r\n$4\r\nPING\r\n",
            b"*1\r\n$4\0\r\nPING\r\n",
        ] {
            let mut st = ParseState::default();
            let mut args = Vec::new();
            let mut r = st.parse(input, &mut args, &ParseLimits::default());
            // A multibulk count line parses, then the bulk header stalls.
            if let Ok(Parsed::Frame { .. }) = r {
                panic!("{input:?} completed");
            }
            if !st.is_idle() {
                r = st.parse(input, &mut args, &ParseLimits::default());
            }
            assert_eq!(r, Ok(Parsed::Incomplete { want: None }), "{input:?}");
        }
        let mut long = b"x\0".to_vec();
        long.resize(INLINE_BYTES_MAX + 1, b'a');
        long.extend(b"\r\n");
        let refused = parse_all(&long).unwrap_err().message();
        assert_eq!(refused, "Protocol error: too big inline request");
    }

    #[test]
    fn inline_quotes_and_escapes() {
        assert_eq!(
            split_inline(br#"set a "b c\x41\n" 'd\'e'"#).unwrap(),
            vec![
                b"set".to_vec(),
                b"a".to_vec(),
                b"b cA\n".to_vec(),
                b"d'e".to_vec()
            ]
        );
        assert!(split_inline(br#"set a "b"#).is_none());
        assert!(split_inline(br#"set a "b"c"#).is_none());
    }

    #[test]
    fn protocol_errors_match_redis() {
        let e = |i: &[u8]| parse_all(i).unwrap_err().message();
        assert_eq!(e(b"*abc\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(e(b"*1\r\n$-1\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(e(b"*1\r\nx\r\n"), "Protocol error: expected '$', got 'x'");
        assert_eq!(e(b"*1\r\n$abc\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(
            e(b"*1\r\n$536870913\r\n"),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(
            e(b"*9999999999\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(
            e(b"set a \"b\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        let long = vec![b'a'; INLINE_BYTES_MAX + 1];
        assert_eq!(e(&long), "Protocol error: too big inline request");
    }

    #[test]
    fn empty_and_negative_multibulk_are_skipped() {
        assert_eq!(
            parse_all(b"*0\r\n*-5\r\n").unwrap(),
            vec![Vec::<Vec<u8>>::new(), vec![]]
        );
    }

    #[test]
    fn large_bulk_reports_wanted_length() {
        let mut st = ParseState::default();
        let mut args = Vec::new();
        let r = st
            .parse(b"*1\r\n$100\r\nab", &mut args, &ParseLimits::default())
            .unwrap();
        assert_eq!(
            r,
            Parsed::Incomplete {
                want: Some(4 + 6 + 102)
            }
        );
    }
}
