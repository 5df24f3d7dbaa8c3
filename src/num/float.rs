//! Doubles read from a client as Redis's `string2ld` reads them (`strtold` over the whole
//! argument).

/// Parses a float like Redis's `string2ld` (`strtold` over the whole argument): decimal or
/// C99 hexadecimal (`0x1p4`), `inf`; no leading space, no trailing junk, no NaN, and no
/// overflow (strtold's ERANGE).
pub fn parse_float(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 5000 || s[0].is_ascii_whitespace() {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let v = parse_hex_float(text).or_else(|| text.parse().ok())?;
    let spelled_infinity = text.trim_start_matches(['+', '-']).starts_with(['i', 'I']);
    if v.is_nan() || (v.is_infinite() && !spelled_infinity) {
        return None;
    }
    Some(v)
}

/// `[+-]0x<hex>[.<hex>][p[+-]<exponent>]`, the hexadecimal form strtold accepts.
fn parse_hex_float(text: &str) -> Option<f64> {
    let (neg, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let rest = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let (mantissa, exp) = match rest.split_once(['p', 'P']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    v *= 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_parse_like_string2ld() {
        assert_eq!(parse_float(b"1.5"), Some(1.5));
        assert_eq!(parse_float(b"+1"), Some(1.0));
        assert_eq!(parse_float(b"5.0e3"), Some(5000.0));
        assert_eq!(parse_float(b" 1"), None);
        assert_eq!(parse_float(b"1 "), None);
        assert_eq!(parse_float(b"nan"), None);
        assert_eq!(parse_float(b"abc"), None);
        assert_eq!(parse_float(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_float(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float(b"1e5000"), None);
    }

    #[test]
    fn floats_parse_hexadecimal_like_strtold() {
        assert_eq!(parse_float(b"0x10"), Some(16.0));
        assert_eq!(parse_float(b"-0X1.8p1"), Some(-3.0));
        assert_eq!(parse_float(b"0x.8"), Some(0.5));
        assert_eq!(parse_float(b"0x1p-2"), Some(0.25));
        assert_eq!(parse_float(b"0x"), None);
        assert_eq!(parse_float(b"0x1p"), None);
        assert_eq!(parse_float(b"0xg"), None);
    }
}
