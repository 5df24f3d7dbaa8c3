//! Numbers read the way the C library reads them, for the arguments Redis hands straight to
//! `strtod` or `strtoull`: score bounds (`zslParseRange`), scores and weights (`string2d`)
//! and stream ID parts (`string2ull`). Each keeps C's quirks, since clients see them:
//! leading blanks and a `+` are taken, a NUL ends the text, overflow is ±inf, and
//! `strtoull` wraps a negative number around.

/// What `strtod` made of a prefix of its input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strtod {
    /// The value (0 when nothing was converted).
    pub value: f64,
    /// Bytes consumed, leading blanks included; 0 when nothing was converted (C's
    /// `endptr == nptr`).
    pub end: usize,
    /// C's `ERANGE` with a result of ±HUGE_VAL or zero: a finite number too large for a
    /// double, or a nonzero one so small it became 0. (A result that stays subnormal is
    /// not flagged: Redis takes those.)
    pub range_error: bool,
}

/// Skips an optional `+` or `-` at `*i`, as C's number readers do; true for `-`.
fn take_sign(s: &[u8], i: &mut usize) -> bool {
    match s.get(*i) {
        Some(&c @ (b'-' | b'+')) => {
            *i += 1;
            c == b'-'
        }
        _ => false,
    }
}

/// The blanks C's `isspace` knows in the C locale.
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The text up to its first NUL: what C sees of a Redis string.
pub fn c_str(s: &[u8]) -> &[u8] {
    memchr::memchr(0, s).map_or(s, |i| &s[..i])
}

/// The largest decimal exponent (of a value's leading digit) worth computing: past it a
/// double is infinite, below its negation it is 0.
const DECIMAL_EXP_LIMIT: i64 = 400;

/// C `strtod` over `s`: skips blanks, then reads the longest prefix that is a decimal or
/// hexadecimal floating constant, `inf`/`infinity` or `nan`/`nan(chars)` (any case, with
/// an optional sign). A NUL byte is never part of a number.
pub fn strtod(s: &[u8]) -> Strtod {
    let none = Strtod {
        value: 0.0,
        end: 0,
        range_error: false,
    };
    let mut i = s.iter().take_while(|&&b| is_c_space(b)).count();
    let neg = take_sign(s, &mut i);
    let sign = |v: f64| if neg { -v } else { v };
    let rest = &s[i..];
    if let Some(n) = word(rest, b"infinity").or_else(|| word(rest, b"inf")) {
        return Strtod {
            value: sign(f64::INFINITY),
            end: i + n,
            range_error: false,
        };
    }
    if let Some(n) = word(rest, b"nan") {
        // `nan(n-char-sequence)` takes the parenthesised part only when it is closed.
        let tail = &rest[n..];
        let inner = tail.get(1..).map_or(0, |t| {
            t.iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count()
        });
        let paren = if tail.first() == Some(&b'(') && tail.get(1 + inner) == Some(&b')') {
            inner + 2
        } else {
            0
        };
        return Strtod {
            value: f64::NAN,
            end: i + n + paren,
            range_error: false,
        };
    }
    let hex = rest.len() > 2
        && rest[0] == b'0'
        && (rest[1] | 0x20) == b'x'
        && (rest[2].is_ascii_hexdigit()
            || (rest[2] == b'.' && rest.get(3).is_some_and(u8::is_ascii_hexdigit)));
    let (value, used, range_error) = if hex {
        hexadecimal(&rest[2..]).map(|(v, n, e)| (v, n + 2, e))
    } else {
        decimal(rest)
    }
    .unwrap_or((0.0, 0, false));
    if used == 0 {
        return none;
    }
    Strtod {
        value: sign(value),
        end: i + used,
        range_error,
    }
}

/// The length of `w` at the start of `s`, compared without case.
fn word(s: &[u8], w: &[u8]) -> Option<usize> {
    (s.len() >= w.len() && s[..w.len()].eq_ignore_ascii_case(w)).then_some(w.len())
}

/// Digits, an optional `.` and digits (at least one digit in all), then an optional
/// exponent `e[+-]digits` (taken only with a digit). Returns (|value|, bytes, range error).
fn decimal(s: &[u8]) -> Option<(f64, usize, bool)> {
    let digits = |from: usize| s[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let int_len = digits(0);
    let mut end = int_len;
    let mut frac = &s[0..0];
    if s.get(end) == Some(&b'.') {
        let n = digits(end + 1);
        frac = &s[end + 1..end + 1 + n];
        end += 1 + n;
    }
    if int_len == 0 && frac.is_empty() {
        return None;
    }
    let int = &s[..int_len];
    let mut exp: i64 = 0;
    if matches!(s.get(end), Some(b'e' | b'E')) {
        let mut j = end + 1;
        let exp_neg = take_sign(s, &mut j);
        let n = digits(j);
        if n > 0 {
            for &d in &s[j..j + n] {
                exp = exp.saturating_mul(10).saturating_add(i64::from(d - b'0'));
            }
            if exp_neg {
                exp = -exp;
            }
            end = j + n;
        }
    }
    // The significant digits and the decimal exponent of the first of them.
    let int_sig = &int[int.iter().take_while(|&&d| d == b'0').count()..];
    let (sig_int, sig_frac, lead) = if int_sig.is_empty() {
        let zeros = frac.iter().take_while(|&&d| d == b'0').count();
        (&int[0..0], &frac[zeros..], -(zeros as i64) - 1)
    } else {
        (int_sig, frac, int_sig.len() as i64 - 1)
    };
    if !sig_int.iter().chain(sig_frac).any(|&d| d != b'0') {
        return Some((0.0, end, false));
    }
    let top = lead.saturating_add(exp);
    if top > DECIMAL_EXP_LIMIT {
        return Some((f64::INFINITY, end, true));
    }
    if top < -DECIMAL_EXP_LIMIT {
        return Some((0.0, end, true));
    }
    // Small exponent: the standard library rounds the digits correctly.
    let mut text = Vec::with_capacity(sig_int.len() + sig_frac.len() + 24);
    text.extend_from_slice(b"0.");
    text.extend_from_slice(sig_int);
    text.extend_from_slice(sig_frac);
    text.extend_from_slice(format!("e{}", top + 1).as_bytes());
    let v: f64 = std::str::from_utf8(&text).ok()?.parse().ok()?;
    Some((v, end, v.is_infinite() || v == 0.0))
}

/// After `0x`: hex digits, an optional `.` and hex digits (at least one digit), then an
/// optional binary exponent `p[+-]digits`. Returns (|value|, bytes, range error), rounded
/// to nearest even as glibc does.
fn hexadecimal(s: &[u8]) -> Option<(f64, usize, bool)> {
    let hex_digits = |from: usize| {
        s[from..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count()
    };
    let int_len = hex_digits(0);
    let mut end = int_len;
    let mut frac_len = 0;
    if s.get(end) == Some(&b'.') {
        frac_len = hex_digits(end + 1);
        end += 1 + frac_len;
    }
    if int_len == 0 && frac_len == 0 {
        return None;
    }
    let frac = if frac_len > 0 {
        &s[int_len + 1..int_len + 1 + frac_len]
    } else {
        &s[0..0]
    };
    let all: Vec<u8> = s[..int_len].iter().chain(frac).copied().collect();
    let mut exp2: i64 = 0;
    if matches!(s.get(end), Some(b'p' | b'P')) {
        let mut j = end + 1;
        let exp_neg = take_sign(s, &mut j);
        let n = s[j..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n > 0 {
            for &d in &s[j..j + n] {
                exp2 = exp2.saturating_mul(10).saturating_add(i64::from(d - b'0'));
            }
            if exp_neg {
                exp2 = -exp2;
            }
            end = j + n;
        }
    }
    let sig = &all[all.iter().take_while(|&&d| d == b'0').count()..];
    if sig.is_empty() {
        return Some((0.0, end, false));
    }
    // The first 28 significant digits (112 bits) exactly, the rest as a sticky bit.
    let kept = sig.len().min(28);
    let mut mant: u128 = 0;
    for &d in &sig[..kept] {
        mant = (mant << 4) | u128::from((d as char).to_digit(16)?);
    }
    let sticky = sig[kept..].iter().any(|&d| d != b'0');
    // value = mant * 2^low (+ sticky), low the exponent of mant's lowest bit.
    let dropped = (sig.len() - kept) as i64;
    let low = exp2
        .saturating_add(dropped.saturating_mul(4))
        .saturating_sub((frac_len as i64).saturating_mul(4));
    Some(round_binary(mant, sticky, low, end))
}

/// Rounds `mant * 2^low` (plus a sticky bit below it) to a double, to nearest even.
fn round_binary(mant: u128, sticky: bool, low: i64, end: usize) -> (f64, usize, bool) {
    let bits = 128 - i64::from(mant.leading_zeros());
    let top = low.saturating_add(bits - 1);
    if top > 1023 {
        return (f64::INFINITY, end, true);
    }
    if top < -1075 {
        return (0.0, end, true);
    }
    // Bits a double keeps of this value: 53 for a normal, fewer for a subnormal.
    let keep = if top >= -1022 { 53 } else { top + 1075 };
    let shift = bits - keep;
    let (mut m, mut lsb) = if shift <= 0 {
        (mant << (-shift) as u32, low + shift)
    } else {
        let s = shift as u32;
        let q = mant >> s;
        let rem = mant & ((1u128 << s) - 1);
        let half = 1u128 << (s - 1);
        let up = rem > half || (rem == half && (sticky || q & 1 == 1));
        (q + u128::from(up), low + shift)
    };
    if m == 0 {
        return (0.0, end, true);
    }
    if m >> 53 != 0 {
        m >>= 1;
        lsb += 1;
    }
    // A normal: the lowest bit's exponent is top - 52.
    let v = if m >> 52 != 0 {
        let exp_field = lsb + 52 + 1023;
        if exp_field >= 2047 {
            return (f64::INFINITY, end, true);
        }
        f64::from_bits(((exp_field as u64) << 52) | (m as u64 & ((1 << 52) - 1)))
    } else {
        // A subnormal: its lowest bit is 2^-1074.
        f64::from_bits(m as u64)
    };
    (v, end, false)
}

/// Redis's `string2d` (scores, increments, weights): the whole text is one `strtod`
/// number with no leading blank, not NaN, and neither overflowing nor underflowing.
pub fn string2d(s: &[u8]) -> Option<f64> {
    if s.is_empty() || is_c_space(s[0]) {
        return None;
    }
    let r = strtod(s);
    if r.end != s.len() || r.range_error || r.value.is_nan() {
        return None;
    }
    Some(r.value)
}

/// A score-range bound after its optional `(`, as Redis's `zslParseRange` reads it: C
/// `strtod` over the text up to a NUL with nothing after the number. So leading blanks are
/// skipped, an empty text is 0 and overflow is ±inf; only NaN is refused beyond that.
pub fn score_bound(s: &[u8]) -> Option<f64> {
    let s = c_str(s);
    let r = strtod(s);
    if r.end != s.len() || r.value.is_nan() {
        return None;
    }
    Some(r.value)
}

/// Redis's `string2ull` over a C string (stream ID parts): a strict integer if it is one
/// (refused if negative), else C `strtoull` in base 10 over the whole text, which takes
/// leading blanks, a `+`, leading zeros, and a `-` that wraps the value around.
pub fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = super::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = s.iter().take_while(|&&b| is_c_space(b)).count();
    let neg = take_sign(s, &mut i);
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// C's `atoi` as glibc has it (`(int)strtol(s, NULL, 10)`): leading blanks, a sign, then
/// as many digits as there are (none reads as 0); the long saturates, and the cast to int
/// keeps its low 32 bits. Redis reads a `numkeys` this way where it is lenient.
pub fn atoi(s: &[u8]) -> i32 {
    let s = c_str(s);
    let mut i = s.iter().take_while(|&&b| is_c_space(b)).count();
    let neg = take_sign(s, &mut i);
    let mut v: i64 = 0;
    for &d in s[i..].iter().take_while(|b| b.is_ascii_digit()) {
        let d = i64::from(d - b'0');
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
    }
    v as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_reads_a_prefix_saturates_then_truncates() {
        assert_eq!(atoi(b" +12x"), 12);
        assert_eq!(atoi(b"-7"), -7);
        assert_eq!(atoi(b"x1"), 0);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"4294967297"), 1);
        assert_eq!(atoi(b"99999999999999999999"), -1);
        assert_eq!(atoi(b"1\x002"), 1);
    }

    fn full(s: &str) -> Option<f64> {
        let r = strtod(s.as_bytes());
        (r.end == s.len() && !r.range_error).then_some(r.value)
    }

    #[test]
    fn strtod_reads_decimal_hex_and_words() {
        assert_eq!(full("1.5"), Some(1.5));
        assert_eq!(full("  +1.5e3"), Some(1500.0));
        assert_eq!(full(".5"), Some(0.5));
        assert_eq!(full("5."), Some(5.0));
        assert_eq!(full("-0"), Some(-0.0));
        assert!(full("-0").unwrap().is_sign_negative());
        assert_eq!(full("0x10"), Some(16.0));
        assert_eq!(full("0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(full("0x1.8p1"), Some(3.0));
        assert_eq!(full("0x.8"), Some(0.5));
        assert_eq!(full("-INF"), Some(f64::NEG_INFINITY));
        assert_eq!(full("Infinity"), Some(f64::INFINITY));
        assert!(full("nan").unwrap().is_nan());
        assert!(full("nan(0x1f)").unwrap().is_nan());
        assert_eq!(full("4.9e-324"), Some(f64::from_bits(1)));
        assert_eq!(full("1.7976931348623157e308"), Some(f64::MAX));
        assert_eq!(full("0e99999999999999999999"), Some(0.0));
        let long = format!("0.{}1e200001", "0".repeat(200_000));
        assert_eq!(full(&long), Some(1.0));
    }

    #[test]
    fn strtod_stops_where_c_stops() {
        let end = |s: &str| strtod(s.as_bytes()).end;
        assert_eq!(end("1e"), 1);
        assert_eq!(end("1e+"), 1);
        assert_eq!(end("1.5x"), 3);
        assert_eq!(end("0x"), 1);
        assert_eq!(end("0xg"), 1);
        assert_eq!(end("0x1p"), 3);
        assert_eq!(end("infinit"), 3);
        assert_eq!(end("nan("), 3);
        assert_eq!(end("1\0 2"), 1);
        assert_eq!(end(""), 0);
        assert_eq!(end("   "), 0);
        assert_eq!(end("."), 0);
        assert_eq!(end("+"), 0);
        assert_eq!(end("(1"), 0);
    }

    #[test]
    fn strtod_flags_overflow_and_underflow_to_zero() {
        for s in [
            "1e400",
            "-1e400",
            "1e-400",
            "0x1p-1080",
            "0x1p1024",
            "1e99999999999999999999",
        ] {
            assert!(strtod(s.as_bytes()).range_error, "{s}");
        }
        for s in ["inf", "0", "0e-999", "4.9e-324", "1e308"] {
            assert!(!strtod(s.as_bytes()).range_error, "{s}");
        }
        assert_eq!(strtod(b"1e400").value, f64::INFINITY);
        assert_eq!(strtod(b"-1e-400").value, 0.0);
    }

    #[test]
    fn string2d_and_score_bounds_differ_as_in_redis() {
        assert_eq!(string2d(b"1e-400"), None);
        assert_eq!(string2d(b"1e400"), None);
        assert_eq!(string2d(b" 1"), None);
        assert_eq!(string2d(b""), None);
        assert_eq!(string2d(b"1\0"), None);
        assert_eq!(string2d(b"+1"), Some(1.0));
        assert_eq!(score_bound(b"1e400"), Some(f64::INFINITY));
        assert_eq!(score_bound(b"1e-400"), Some(0.0));
        assert_eq!(score_bound(b""), Some(0.0));
        assert_eq!(score_bound(b" \t1"), Some(1.0));
        assert_eq!(score_bound(b"\0junk"), Some(0.0));
        assert_eq!(score_bound(b"1 "), None);
        assert_eq!(score_bound(b" "), None);
        assert_eq!(score_bound(b"nan"), None);
    }

    #[test]
    fn string2ull_is_strtoull_after_a_strict_try() {
        assert_eq!(string2ull(b"5"), Some(5));
        assert_eq!(string2ull(b"-5"), None);
        assert_eq!(string2ull(b"+5"), Some(5));
        assert_eq!(string2ull(b" 5"), Some(5));
        assert_eq!(string2ull(b"007"), Some(7));
        assert_eq!(string2ull(b"-05"), Some(5u64.wrapping_neg()));
        assert_eq!(string2ull(b"-0"), Some(0));
        assert_eq!(string2ull(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(string2ull(b"18446744073709551616"), None);
        assert_eq!(string2ull(b"-18446744073709551615"), Some(1));
        assert_eq!(string2ull(b""), None);
        assert_eq!(string2ull(b" "), None);
        assert_eq!(string2ull(b"5 "), None);
        assert_eq!(string2ull(b"+"), None);
    }
}
