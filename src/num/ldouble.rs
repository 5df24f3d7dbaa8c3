//! The x87 80-bit `long double` that Redis's INCRBYFLOAT and HINCRBYFLOAT compute in (on
//! x86-64), in software: parse as `strtold` does (decimal, hexadecimal, `inf`), add with
//! round-to-nearest-even, and print as Redis's `ld2string(..., LD_STR_HUMAN)` does
//! (`%.17Lf`, trailing zeros cut). A 64-bit significand keeps 19 digits where a double
//! keeps 17, so `SET k 10.1` then `INCRBYFLOAT k 3000` answers `3010.10000000000000009`,
//! as Redis does.
//!
//! Exact arithmetic on small unsigned big integers (`Big`) decides every rounding.

/// Smallest exponent of a significand's lowest bit (subnormals' `2^-16445`).
const EXP_MIN: i32 = -16445;
/// Largest exponent of a finite value's lowest bit (`(2^64 - 1) * 2^16320` is the max).
const EXP_MAX: i32 = 16320;
/// Longest string `string2ld` accepts (Redis's `MAX_LONG_DOUBLE_CHARS` buffer).
pub const TEXT_MAX: usize = 5 * 1024 - 1;

/// An 80-bit extended value.
#[allow(missing_docs)] // each variant's doc names its fields
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LongDouble {
    /// `(-1)^neg * mant * 2^exp`, `mant > 0` (a normal has bit 63 set).
    Finite { neg: bool, mant: u64, exp: i32 },
    /// A signed zero.
    Zero { neg: bool },
    /// A signed infinity.
    Inf { neg: bool },
    /// Not a number (inf + -inf).
    Nan,
}

/// A little-endian unsigned big integer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u32 {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() as u32 - 1) * 32 + (32 - top.leading_zeros()),
        }
    }

    fn bit(&self, i: u32) -> bool {
        self.0
            .get((i / 32) as usize)
            .is_some_and(|w| w >> (i % 32) & 1 == 1)
    }

    /// True if any bit below `i` is set.
    fn any_below(&self, i: u32) -> bool {
        let (word, bit) = ((i / 32) as usize, i % 32);
        self.0.iter().take(word).any(|&w| w != 0)
            || (bit > 0 && self.0.get(word).is_some_and(|w| w & ((1 << bit) - 1) != 0))
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for w in self.0.iter_mut() {
            let v = *w as u64 * m as u64 + carry;
            *w = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = a as u64;
        for w in self.0.iter_mut() {
            if carry == 0 {
                return;
            }
            let v = *w as u64 + carry;
            *w = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut n: u32) {
        while n >= 9 {
            self.mul_small(1_000_000_000);
            n -= 9;
        }
        if n > 0 {
            self.mul_small(10u32.pow(n));
        }
    }

    fn shl(&self, n: u32) -> Big {
        let (words, bits) = ((n / 32) as usize, n % 32);
        let mut out = vec![0u32; words];
        let mut carry = 0u32;
        for &w in &self.0 {
            if bits == 0 {
                out.push(w);
            } else {
                out.push((w << bits) | carry);
                carry = w >> (32 - bits);
            }
        }
        if carry > 0 {
            out.push(carry);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self >> n` (bits shifted out are dropped).
    fn shr(&self, n: u32) -> Big {
        let (words, bits) = ((n / 32) as usize, n % 32);
        if words >= self.0.len() {
            return Big(Vec::new());
        }
        let src = &self.0[words..];
        let mut out = Vec::with_capacity(src.len());
        for i in 0..src.len() {
            let lo = src[i] >> bits;
            let hi = if bits > 0 {
                src.get(i + 1).map_or(0, |&h| h << (32 - bits))
            } else {
                0
            };
            out.push(lo | hi);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn cmp(&self, o: &Big) -> std::cmp::Ordering {
        self.0
            .len()
            .cmp(&o.0.len())
            .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }

    /// `self - o` (`self >= o`).
    fn sub(&self, o: &Big) -> Big {
        let mut out = self.0.clone();
        let mut borrow = 0i64;
        for (i, w) in out.iter_mut().enumerate() {
            let v = *w as i64 - o.0.get(i).copied().unwrap_or(0) as i64 - borrow;
            borrow = (v < 0) as i64;
            *w = v.rem_euclid(1 << 32) as u32;
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn add(&self, o: &Big) -> Big {
        let n = self.0.len().max(o.0.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let v = self.0.get(i).copied().unwrap_or(0) as u64
                + o.0.get(i).copied().unwrap_or(0) as u64
                + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        if carry > 0 {
            out.push(carry as u32);
        }
        Big(out)
    }

    /// Divides by a small number; returns the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for w in self.0.iter_mut().rev() {
            let v = (rem << 32) | *w as u64;
            *w = (v / d as u64) as u32;
            rem = v % d as u64;
        }
        self.trim();
        rem as u32
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(1_000_000_000));
        }
        let mut s = chunks.pop().expect("non-zero").to_string();
        for c in chunks.iter().rev() {
            s += &format!("{c:09}");
        }
        s
    }
}

/// Rounds `m * 2^e` (exact) to the nearest 80-bit value, ties to even.
fn round(neg: bool, m: &Big, e: i64) -> LongDouble {
    if m.is_zero() {
        return LongDouble::Zero { neg };
    }
    let bits = m.bits() as i64;
    // Keep 64 bits, or fewer where the lowest bit would fall below the subnormal floor.
    let mut shift = bits - 64;
    if e + shift < EXP_MIN as i64 {
        shift = EXP_MIN as i64 - e;
    }
    let (mut mant, mut exp) = if shift <= 0 {
        let v = m.shl((-shift) as u32);
        (
            v.0.first().copied().unwrap_or(0) as u64
                | (v.0.get(1).copied().unwrap_or(0) as u64) << 32,
            e + shift,
        )
    } else {
        let s = shift as u32;
        let kept = m.shr(s);
        let mut mant = kept.0.first().copied().unwrap_or(0) as u64
            | (kept.0.get(1).copied().unwrap_or(0) as u64) << 32;
        let half = m.bit(s - 1);
        let sticky = m.any_below(s - 1);
        if half && (sticky || mant & 1 == 1) {
            let (v, carried) = mant.overflowing_add(1);
            mant = v;
            if carried {
                return finish(neg, 1 << 63, e + shift + 1);
            }
        }
        (mant, e + shift)
    };
    if mant == 0 {
        return LongDouble::Zero { neg };
    }
    // A subnormal that rounded up into the normal range keeps its exponent.
    if mant.leading_zeros() > 0 && exp > EXP_MIN as i64 {
        let lz = mant.leading_zeros() as i64;
        let down = lz.min(exp - EXP_MIN as i64);
        mant <<= down;
        exp -= down;
    }
    finish(neg, mant, exp)
}

fn finish(neg: bool, mant: u64, exp: i64) -> LongDouble {
    if exp > EXP_MAX as i64 {
        LongDouble::Inf { neg }
    } else {
        LongDouble::Finite {
            neg,
            mant,
            exp: exp as i32,
        }
    }
}

impl LongDouble {
    /// True for infinities and NaN.
    pub fn is_nan_or_inf(self) -> bool {
        matches!(self, LongDouble::Inf { .. } | LongDouble::Nan)
    }

    /// Parses like Redis's `string2ld`: `strtold` over the whole text, no surrounding
    /// spaces, no NaN, and out-of-range values (overflow, or underflow to zero) refused.
    pub fn parse(text: &[u8]) -> Option<LongDouble> {
        if text.is_empty() || text.len() > TEXT_MAX || text[0].is_ascii_whitespace() {
            return None;
        }
        let (neg, body) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let lower = body.to_ascii_lowercase();
        if lower == b"inf" || lower == b"infinity" {
            return Some(LongDouble::Inf { neg });
        }
        let v = if lower.starts_with(b"0x") {
            parse_hex(neg, &lower[2..])?
        } else {
            parse_decimal(neg, body)?
        };
        match v {
            // strtold's ERANGE: overflow, or underflow all the way to zero.
            LongDouble::Inf { .. } | LongDouble::Nan => None,
            v => Some(v),
        }
    }

    /// `self + o`, rounded to nearest even.
    pub fn sum(self, o: LongDouble) -> LongDouble {
        use LongDouble::*;
        match (self, o) {
            (Nan, _) | (_, Nan) => Nan,
            (Inf { neg: a }, Inf { neg: b }) if a != b => Nan,
            (Inf { neg }, _) | (_, Inf { neg }) => Inf { neg },
            (Zero { neg: a }, Zero { neg: b }) => Zero { neg: a && b },
            (Zero { .. }, v) | (v, Zero { .. }) => v,
            (
                Finite {
                    neg: na,
                    mant: ma,
                    exp: ea,
                },
                Finite {
                    neg: nb,
                    mant: mb,
                    exp: eb,
                },
            ) => {
                let e = ea.min(eb);
                let a = Big::from_u64(ma).shl((ea - e) as u32);
                let b = Big::from_u64(mb).shl((eb - e) as u32);
                if na == nb {
                    round(na, &a.add(&b), e as i64)
                } else {
                    match a.cmp(&b) {
                        std::cmp::Ordering::Equal => Zero { neg: false },
                        std::cmp::Ordering::Greater => round(na, &a.sub(&b), e as i64),
                        std::cmp::Ordering::Less => round(nb, &b.sub(&a), e as i64),
                    }
                }
            }
        }
    }

    /// `self * m` for a small integer `m`, rounded to nearest even (an x87 multiply).
    pub fn times(self, m: u32) -> LongDouble {
        use LongDouble::*;
        match self {
            Nan => Nan,
            Inf { .. } if m == 0 => Nan,
            Inf { neg } => Inf { neg },
            Zero { neg } => Zero { neg },
            Finite { neg, .. } if m == 0 => Zero { neg },
            Finite { neg, mant, exp } => {
                let mut big = Big::from_u64(mant);
                big.mul_small(m);
                round(neg, &big, exp as i64)
            }
        }
    }

    /// `(long long) ceill(self)` as x86-64 computes it: the ceiling, then the x87
    /// conversion, which yields `i64::MIN` for NaN, infinities and anything outside `i64`.
    pub fn ceil_to_i64(self) -> i64 {
        let (neg, mant, exp) = match self {
            LongDouble::Zero { .. } => return 0,
            LongDouble::Inf { .. } | LongDouble::Nan => return i64::MIN,
            LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
        };
        // The magnitude rounded toward zero, and whether a fraction was cut.
        let (int, cut): (u128, bool) = if exp >= 0 {
            if exp >= 64 {
                return i64::MIN;
            }
            ((mant as u128) << exp, false)
        } else if exp <= -64 {
            (0, true)
        } else {
            let s = (-exp) as u32;
            ((mant >> s) as u128, mant & ((1u64 << s) - 1) != 0)
        };
        if neg {
            // Toward zero is the ceiling of a negative value.
            if int > i64::MAX as u128 {
                i64::MIN
            } else {
                -(int as i64)
            }
        } else {
            let up = int + cut as u128;
            i64::try_from(up).unwrap_or(i64::MIN)
        }
    }

    /// Redis's `ld2string(..., LD_STR_HUMAN)`: `%.17Lf` with trailing zeros (and a bare
    /// point) cut, `-0` printed as `0`; infinities as `inf` / `-inf`.
    pub fn format_human(self) -> String {
        let (neg, mant, exp) = match self {
            LongDouble::Inf { neg } => return if neg { "-inf" } else { "inf" }.into(),
            LongDouble::Nan => return "nan".into(),
            LongDouble::Zero { .. } => return "0".into(),
            LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
        };
        // round(|v| * 10^17), ties to even, as an integer.
        let mut scaled = Big::from_u64(mant);
        scaled.mul_pow10(17);
        let r = if exp >= 0 {
            scaled.shl(exp as u32)
        } else {
            let s = (-exp) as u32;
            let mut q = scaled.shr(s);
            let half = scaled.bit(s - 1);
            let sticky = scaled.any_below(s - 1);
            if half && (sticky || q.bit(0)) {
                q.add_small(1);
            }
            q
        };
        let mut digits = r.to_decimal();
        if digits.len() < 18 {
            digits = format!("{digits:0>18}");
        }
        let (int, frac) = digits.split_at(digits.len() - 17);
        let frac = frac.trim_end_matches('0');
        let mut out = String::with_capacity(digits.len() + 2);
        if neg {
            out.push('-');
        }
        out += int;
        if !frac.is_empty() {
            out.push('.');
            out += frac;
        }
        if out == "-0" {
            out = "0".into();
        }
        out
    }
}

/// `[digits][.digits][(e|E)[+-]digits]` with at least one digit, as `strtold` reads it.
fn parse_decimal(neg: bool, body: &[u8]) -> Option<LongDouble> {
    let mut i = 0;
    let mut n = Big(Vec::new());
    let (mut digits, mut frac_digits, mut seen_point) = (0usize, 0i64, false);
    while i < body.len() {
        match body[i] {
            d @ b'0'..=b'9' => {
                n.mul_small(10);
                n.add_small((d - b'0') as u32);
                digits += 1;
                if seen_point {
                    frac_digits += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let exp10 = exponent(&body[i..], b'e')?;
    if n.is_zero() {
        return Some(LongDouble::Zero { neg });
    }
    let k = exp10 - frac_digits;
    // Far out of range either way: 10^4933 overflows, 10^-4952 underflows to zero.
    let magnitude = k + digits as i64;
    if magnitude > 4940 {
        return Some(LongDouble::Inf { neg });
    }
    if magnitude < -4960 {
        return None; // underflows to zero: strtold's ERANGE
    }
    let v = if k >= 0 {
        let mut m = n;
        m.mul_pow10(k as u32);
        round(neg, &m, 0)
    } else {
        // n / 10^-k: enough quotient bits to round right, the remainder as a sticky bit.
        let mut p = Big::from_u64(1);
        p.mul_pow10((-k) as u32);
        let s = (68 + p.bits() as i64 - n.bits() as i64).max(0) as u32;
        let a = n.shl(s);
        let (q, rem_nonzero) = divide(&a, &p);
        let m = q.shl(1).add(&Big::from_u64(rem_nonzero as u64));
        round(neg, &m, -(s as i64) - 1)
    };
    match v {
        LongDouble::Zero { .. } => None,
        v => Some(v),
    }
}

/// The rest of a number after its digits: nothing (exponent 0), or `marker` (either case)
/// and `[+-]digits` to the end (saturating far past any finite value).
fn exponent(rest: &[u8], marker: u8) -> Option<i64> {
    let Some((&m, rest)) = rest.split_first() else {
        return Some(0);
    };
    if !m.eq_ignore_ascii_case(&marker) {
        return None;
    }
    let (neg, digits) = match rest.split_first() {
        Some((b'-', d)) => (true, d),
        Some((b'+', d)) => (false, d),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let e = digits
        .iter()
        .fold(0i64, |e, d| (e * 10 + (d - b'0') as i64).min(1 << 40));
    Some(if neg { -e } else { e })
}

/// `a / b` by binary long division: the quotient, and whether a remainder is left.
fn divide(a: &Big, b: &Big) -> (Big, bool) {
    let (abits, bbits) = (a.bits(), b.bits());
    if abits < bbits {
        return (Big(Vec::new()), !a.is_zero());
    }
    let mut rem = a.clone();
    let mut q = Big(vec![0; ((abits - bbits) / 32 + 1) as usize]);
    let mut i = abits - bbits + 1;
    while i > 0 {
        i -= 1;
        let t = b.shl(i);
        if rem.cmp(&t) != std::cmp::Ordering::Less {
            rem = rem.sub(&t);
            q.0[(i / 32) as usize] |= 1 << (i % 32);
        }
    }
    q.trim();
    (q, !rem.is_zero())
}

/// `hexdigits[.hexdigits][p[+-]digits]` after `0x`.
fn parse_hex(neg: bool, body: &[u8]) -> Option<LongDouble> {
    let mut i = 0;
    let mut n = Big(Vec::new());
    let (mut digits, mut frac_digits, mut seen_point) = (0usize, 0i64, false);
    while i < body.len() {
        match body[i] {
            b'.' if !seen_point => seen_point = true,
            d if d.is_ascii_hexdigit() => {
                n.mul_small(16);
                n.add_small((d as char).to_digit(16).expect("hex"));
                digits += 1;
                if seen_point {
                    frac_digits += 1;
                }
            }
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let exp2 = exponent(&body[i..], b'p')?;
    if n.is_zero() {
        return Some(LongDouble::Zero { neg });
    }
    let e = exp2 - 4 * frac_digits;
    if e + n.bits() as i64 > 16400 {
        return Some(LongDouble::Inf { neg });
    }
    if e + (n.bits() as i64) < -16500 {
        return None;
    }
    match round(neg, &n, e) {
        LongDouble::Zero { .. } => None,
        v => Some(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(cur: &str, by: &str) -> String {
        let a = LongDouble::parse(cur.as_bytes()).unwrap();
        let b = LongDouble::parse(by.as_bytes()).unwrap();
        a.sum(b).format_human()
    }

    #[test]
    fn sums_print_as_redis_on_x86_64() {
        // Replies of redis-server 7.0 (x86-64) to SET k <a>, INCRBYFLOAT k <b>.
        assert_eq!(incr("10.1", "3000"), "3010.10000000000000009");
        assert_eq!(incr("0", "123456.789"), "123456.78900000000000148");
        assert_eq!(incr("0", "1.23456789012345678"), "1.23456789012345678");
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("9223372036854775807", "1.5"), "9223372036854775808");
        assert_eq!(incr("9223372036854775807", "-2"), "9223372036854775805");
        assert_eq!(incr("9223372036854775807", "1e2"), "9223372036854775907");
        assert_eq!(incr("5.0e3", "0"), "5000");
        assert_eq!(incr("-1.5", "0"), "-1.5");
        assert_eq!(incr("1e-20", "0"), "0");
        assert_eq!(incr("-1e-20", "0"), "0");
        assert_eq!(incr("3", "-3"), "0");
        assert_eq!(incr("0x10", "0x1p-1"), "16.5");
        assert_eq!(
            incr("1e308", "1e308"),
            "199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640893494450108026446304269499187921167194841628860392837535918200039206381557326219209014213335878306791577877829121087126122536729803237260434173178506889763247582601711514636284849020905456510092687857156096"
        );
        assert!(incr("0", "1e400").starts_with("10000000000000000000281880683947586514"));
    }

    #[test]
    fn parsing_refuses_what_string2ld_refuses() {
        for bad in [
            "", " 1", "1 ", "abc", "nan", "1e", "1e+", "--1", "1e5000", "1e-5000", "0x", "inf1",
            ".", "1.2.3",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(
            LongDouble::parse(b"inf"),
            Some(LongDouble::Inf { neg: false })
        );
        assert_eq!(
            LongDouble::parse(b"-Infinity"),
            Some(LongDouble::Inf { neg: true })
        );
        assert_eq!(
            LongDouble::parse(b"0e99999"),
            Some(LongDouble::Zero { neg: false })
        );
        assert!(LongDouble::parse(b".5").is_some());
        assert!(LongDouble::parse(b"5.").is_some());
        assert!(LongDouble::parse(b"1e-4940").is_some()); // subnormal: accepted
        assert!(LongDouble::parse(&vec![b'1'; TEXT_MAX + 1]).is_none());
    }

    #[test]
    fn infinities_and_nan_come_out_of_sums() {
        let inf = LongDouble::parse(b"inf").unwrap();
        let ninf = LongDouble::parse(b"-inf").unwrap();
        assert!(inf.sum(ninf).is_nan_or_inf());
        assert!(inf.sum(LongDouble::parse(b"1").unwrap()).is_nan_or_inf());
        let big = LongDouble::parse(b"1e4932").unwrap();
        assert!(big.sum(big).is_nan_or_inf());
    }

    #[test]
    fn seconds_to_ms_ceil_as_a_blocking_timeout() {
        let ms = |t: &str| {
            LongDouble::parse(t.as_bytes())
                .unwrap()
                .times(1000)
                .ceil_to_i64()
        };
        assert_eq!(ms("1"), 1000);
        assert_eq!(ms("0.0001"), 1);
        assert_eq!(ms("1e-400"), 1);
        assert_eq!(ms("-0.0001"), 0);
        // -0.001 as a long double is a hair above -0.001: its ceiling is 0.
        assert_eq!(ms("-0.001"), 0);
        assert_eq!(ms("-0.0015"), -1);
        assert_eq!(ms("9223372036854775.807"), i64::MAX);
        // The product is 2^63 - 0.5: up past i64 (refused), or toward zero when negative.
        assert_eq!(ms("9223372036854775.808"), i64::MIN);
        assert_eq!(ms("-9223372036854775.808"), -i64::MAX);
        assert_eq!(ms("-9223372036854775.809"), i64::MIN);
        assert_eq!(ms("1e400"), i64::MIN);
        assert_eq!(ms("inf"), i64::MIN);
        assert_eq!(ms("1e4932"), i64::MIN);
    }
}
