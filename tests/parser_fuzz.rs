//! Parser fuzz: random and mutated RESP input through `resp::parse::ParseState`, delivered
//! whole and split at every byte boundary (and at random sets of boundaries), must never
//! panic, must give the same frames and the same error however it is split, must never
//! report consuming more than it was given, and must hold its limits.
//!
//! `BUSBAR_PARSER_FUZZ_SECS` (default 10) bounds the random phase, `BUSBAR_PARSER_FUZZ_SEED`
//! sets its seed (printed; default 1, `random` for one from the clock). The generator is our own (seeded `rand`), on the stable toolchain.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage

use busbar::resp::parse::{
    ArgRange, ParseLimits, ParseState, Parsed, INLINE_BYTES_MAX, MULTIBULK_COUNT_MAX,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

/// What a connection sees: each frame's arguments, then how the input ended.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    frames: Vec<Vec<Vec<u8>>>,
    /// The protocol error that closed the connection, or None.
    error: Option<String>,
    /// Bytes left unparsed when the input ran out (a frame still incomplete).
    pending: usize,
}

/// Feeds `input` to a parser the way a connection does: the bytes arrive in pieces ending
/// at each of `cuts` (then at the end), and after each arrival every complete frame is
/// parsed from the current frame start. Checks the invariants of every single call.
fn feed(input: &[u8], cuts: &[usize], limits: &ParseLimits) -> Outcome {
    let mut st = ParseState::default();
    let mut args: Vec<ArgRange> = Vec::new();
    let mut out = Outcome {
        frames: Vec::new(),
        error: None,
        pending: 0,
    };
    let mut start = 0;
    let ends = cuts.iter().copied().chain([input.len()]);
    for avail in ends {
        loop {
            let buf = &input[start..avail];
            if buf.is_empty() {
                break;
            }
            match st.parse(buf, &mut args, limits) {
                Ok(Parsed::Frame { consumed }) => {
                    assert!(consumed >= 1, "a frame of no bytes would never advance");
                    assert!(
                        consumed <= buf.len(),
                        "consumed {consumed} of {}",
                        buf.len()
                    );
                    let frame: Vec<Vec<u8>> = args
                        .iter()
                        .map(|&(s, e)| {
                            let (s, e) = (s as usize, e as usize);
                            assert!(s <= e && e <= consumed, "argument {s}..{e} of {consumed}");
                            buf[s..e].to_vec()
                        })
                        .collect();
                    check_frame_limits(&frame, limits, buf[0] == b'*');
                    assert!(st.is_idle(), "state reset after a frame");
                    out.frames.push(frame);
                    start += consumed;
                }
                Ok(Parsed::Owned { consumed, args }) => {
                    assert!(consumed >= 1 && consumed <= buf.len());
                    check_frame_limits(&args, limits, false);
                    out.frames.push(args);
                    start += consumed;
                }
                Ok(Parsed::Incomplete { want }) => {
                    if let Some(want) = want {
                        assert!(want > buf.len(), "wants {want} but has {}", buf.len());
                        // A declared length sizes the wait, bounded by the bulk limit.
                        assert!(
                            want <= buf.len() + limits.bulk_bytes_max as usize + 2 + 64,
                            "wants {want} with {} buffered",
                            buf.len()
                        );
                    }
                    break;
                }
                Err(e) => {
                    out.error = Some(e.message());
                    out.pending = 0;
                    return out;
                }
            }
        }
    }
    out.pending = input.len() - start;
    out
}

fn check_frame_limits(frame: &[Vec<u8>], limits: &ParseLimits, multibulk: bool) {
    assert!(frame.len() as i64 <= MULTIBULK_COUNT_MAX);
    // A bulk is bounded by proto-max-bulk-len, an inline argument by the line limit.
    let arg_max = if multibulk {
        limits.bulk_bytes_max as usize
    } else {
        INLINE_BYTES_MAX
    };
    for a in frame {
        assert!(a.len() <= arg_max, "argument of {} bytes", a.len());
    }
    // The unauthenticated cap is on multibulk counts, as Redis; inline lines are short anyway.
    if limits.unauthenticated && multibulk {
        assert!(
            frame.len() <= 10,
            "unauthenticated frame of {} arguments",
            frame.len()
        );
    }
}

/// The split-invariance check of one input: every single cut for short inputs, random cut
/// sets always.
fn check(input: &[u8], rng: &mut StdRng, limits: &ParseLimits) {
    let whole = feed(input, &[], limits);
    let fail = |cuts: &[usize], got: &Outcome| {
        panic!(
            "split at {cuts:?} differs from the whole\ninput ({} bytes): {:?}\nwhole: {whole:?}\nsplit: {got:?}",
            input.len(),
            String::from_utf8_lossy(&input[..input.len().min(400)]),
        )
    };
    if input.len() <= 600 {
        for cut in 0..=input.len() {
            let got = feed(input, &[cut], limits);
            if got != whole {
                fail(&[cut], &got);
            }
        }
    }
    for _ in 0..8 {
        let n = rng.gen_range(1..12);
        let mut cuts: Vec<usize> = (0..n).map(|_| rng.gen_range(0..=input.len())).collect();
        cuts.sort_unstable();
        let got = feed(input, &cuts, limits);
        if got != whole {
            fail(&cuts, &got);
        }
    }
}

fn bulk(out: &mut Vec<u8>, a: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
    out.extend_from_slice(a);
    out.extend_from_slice(b"\r\n");
}

fn random_arg(rng: &mut StdRng) -> Vec<u8> {
    match rng.gen_range(0..10) {
        0 => Vec::new(),
        1 => b"\r\n".to_vec(),
        2 => vec![0; rng.gen_range(1..5)],
        3 => vec![b'x'; rng.gen_range(100..3000)],
        4 => b"*1\r\n$4\r\nPING\r\n".to_vec(),
        _ => (0..rng.gen_range(1..12)).map(|_| rng.gen()).collect(),
    }
}

fn multibulk(rng: &mut StdRng) -> Vec<u8> {
    let n = rng.gen_range(0..8);
    let mut out = format!("*{n}\r\n").into_bytes();
    for _ in 0..n {
        let a = random_arg(rng);
        bulk(&mut out, &a);
    }
    out
}

fn inline(rng: &mut StdRng) -> Vec<u8> {
    const WORDS: &[&[u8]] = &[
        b"PING",
        b"SET",
        b"a",
        b"\"b c\"",
        b"'d e'",
        b"\"\\x41\\n\"",
        b"\"unbalanced",
        b"'it\\'s'",
        b"\"q\"x",
        b"",
        b"\x00",
        b"\t",
        b"$3",
        b":1",
        b"+OK",
        b"-ERR",
    ];
    let mut out = Vec::new();
    for i in 0..rng.gen_range(0..6) {
        if i > 0 {
            out.extend_from_slice([&b" "[..], b"  ", b"\t"].choose(rng).unwrap());
        }
        out.extend_from_slice(WORDS.choose(rng).unwrap());
    }
    // Inline input never starts with '*' (that is a multibulk).
    if out.first() == Some(&b'*') {
        out.insert(0, b'x');
    }
    out.extend_from_slice([&b"\r\n"[..], b"\n"].choose(rng).unwrap());
    out
}

/// Frames a client must not send, each on its own.
fn hostile(rng: &mut StdRng) -> Vec<u8> {
    let fixed: &[&[u8]] = &[
        b"*2147483647\r\n",
        b"*2147483648\r\n",
        b"*9223372036854775807\r\n",
        b"*-1\r\n",
        b"*-9223372036854775808\r\n",
        b"*abc\r\n",
        b"*\r\n",
        b"*01\r\n$1\r\na\r\n",
        b"*+1\r\n$1\r\na\r\n",
        b"*1\r\n$-1\r\n",
        b"*1\r\n$536870912\r\n",
        b"*1\r\n$536870913\r\n",
        b"*1\r\n$9999999999999999999999\r\n",
        b"*1\r\n$3\r\nab",
        b"*1\r\n$3\r\nabcXY*1\r\n$4\r\nPING\r\n",
        b"*1\r3\r\n$1\r\na\r\n",
        b"*1\r\n$1\ra\r\n",
        b"*1\r\n*1\r\n$1\r\na\r\n",
        b"*1\r\n:1\r\n",
        b"*1\r\n+OK\r\n",
        b"*2\r\n$1\r\na\r\n",
        b":1\r\n",
        b"+OK\r\n",
        b"\r\n",
        b"\n",
        b"\0\0\0\r\n",
        b"*1\r\n$0\r\n\r\n",
        b"*3\r\n$3\r\nSET\r\n$1\r\n\0\r\n$1\r\n\r\r\n",
        b"*11\r\n",
        b"*1\r\n$16385\r\n",
    ];
    let mut v = fixed.choose(rng).unwrap().to_vec();
    if rng.gen_bool(0.3) {
        v.extend(multibulk(rng));
    }
    v
}

/// Long lines: inline requests and header lines near and past INLINE_BYTES_MAX, with and
/// without their newline.
fn long_line(rng: &mut StdRng) -> Vec<u8> {
    let n = *[
        INLINE_BYTES_MAX - 10,
        INLINE_BYTES_MAX,
        INLINE_BYTES_MAX + 1,
        INLINE_BYTES_MAX + 5000,
    ]
    .choose(rng)
    .unwrap();
    let mut v = match rng.gen_range(0..3) {
        0 => vec![b'a'; n],
        1 => [&b"*"[..], &vec![b'1'; n]].concat(),
        _ => [&b"*1\r\n$"[..], &vec![b'1'; n]].concat(),
    };
    if rng.gen_bool(0.5) {
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn mutate(rng: &mut StdRng, v: &mut Vec<u8>) {
    const BYTES: &[u8] = b"*$\r\n-+:0123456789\"'\\ \0x";
    for _ in 0..rng.gen_range(1..4) {
        if v.is_empty() {
            v.push(*BYTES.choose(rng).unwrap());
            continue;
        }
        let i = rng.gen_range(0..v.len());
        match rng.gen_range(0..6) {
            0 => v[i] = *BYTES.choose(rng).unwrap(),
            1 => v[i] = rng.gen(),
            2 => {
                v.remove(i);
            }
            3 => v.insert(i, *BYTES.choose(rng).unwrap()),
            4 => {
                let j = rng.gen_range(i..v.len().min(i + 16) + 1).min(v.len());
                let span = v[i..j].to_vec();
                v.splice(i..i, span);
            }
            _ => v.truncate(i),
        }
    }
}

fn input(rng: &mut StdRng) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..rng.gen_range(1..5) {
        match rng.gen_range(0..10) {
            0..=3 => v.extend(multibulk(rng)),
            4..=5 => v.extend(inline(rng)),
            6..=7 => v.extend(hostile(rng)),
            8 => v.extend((0..rng.gen_range(1..40)).map(|_| rng.gen::<u8>())),
            _ => v.extend(long_line(rng)),
        }
    }
    if rng.gen_bool(0.4) {
        mutate(rng, &mut v);
    }
    v
}

fn limits_variants() -> [ParseLimits; 3] {
    [
        ParseLimits::default(),
        ParseLimits {
            unauthenticated: true,
            ..ParseLimits::default()
        },
        ParseLimits {
            bulk_bytes_max: 100,
            unauthenticated: false,
        },
    ]
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn random_and_mutated_frames_parse_the_same_however_they_are_split() {
    let secs = env_u64("BUSBAR_PARSER_FUZZ_SECS").unwrap_or(10);
    // A fixed default keeps CI repeatable; `random` draws a seed from the clock.
    let seed = match std::env::var("BUSBAR_PARSER_FUZZ_SEED").as_deref() {
        Ok("random") => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                % 1_000_000_007
        }
        _ => env_u64("BUSBAR_PARSER_FUZZ_SEED").unwrap_or(1),
    };
    eprintln!("parser fuzz: seed {seed}, {secs} s (BUSBAR_PARSER_FUZZ_SEED / _SECS)");
    let mut rng = StdRng::seed_from_u64(seed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut cases = 0u64;
    while Instant::now() < deadline {
        let v = input(&mut rng);
        let limits = *limits_variants().choose(&mut rng).unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut inner = StdRng::seed_from_u64(rng.gen());
            check(&v, &mut inner, &limits)
        }));
        if let Err(e) = r {
            eprintln!("parser fuzz: failed on case {cases} of seed {seed}, limits {limits:?}");
            std::panic::resume_unwind(e);
        }
        cases += 1;
    }
    eprintln!("parser fuzz: {cases} inputs, each whole and split");
}

#[test]
fn a_line_longer_than_the_inline_limit_is_refused_however_it_arrives() {
    let limits = ParseLimits::default();
    for line in [
        [vec![b'a'; INLINE_BYTES_MAX + 1], b"\r\n".to_vec()].concat(),
        [&b"*"[..], &vec![b'1'; INLINE_BYTES_MAX + 1], b"\r\n"].concat(),
        [&b"*1\r\n$"[..], &vec![b'1'; INLINE_BYTES_MAX + 1], b"\r\n"].concat(),
    ] {
        let whole = feed(&line, &[], &limits);
        assert!(
            whole
                .error
                .as_deref()
                .is_some_and(|e| e.contains("too big")),
            "{:?}",
            whole.error
        );
        let split = feed(&line, &[INLINE_BYTES_MAX / 2], &limits);
        assert_eq!(split, whole);
    }
}

#[test]
fn declared_lengths_are_bounded_by_the_limits_not_trusted() {
    let limits = ParseLimits::default();
    let got = feed(b"*2147483647\r\n$536870912\r\n", &[], &limits);
    assert_eq!(got.error, None);
    assert_eq!(got.frames.len(), 0);
    let got = feed(b"*2147483648\r\n", &[], &limits);
    assert_eq!(
        got.error.as_deref(),
        Some("Protocol error: invalid multibulk length")
    );
    let got = feed(b"*1\r\n$536870913\r\n", &[], &limits);
    assert_eq!(
        got.error.as_deref(),
        Some("Protocol error: invalid bulk length")
    );
    let unauth = ParseLimits {
        unauthenticated: true,
        ..limits
    };
    let got = feed(b"*11\r\n", &[], &unauth);
    assert_eq!(
        got.error.as_deref(),
        Some("Protocol error: unauthenticated multibulk length")
    );
    let got = feed(b"*1\r\n$16385\r\n", &[], &unauth);
    assert_eq!(
        got.error.as_deref(),
        Some("Protocol error: unauthenticated bulk length")
    );
}
