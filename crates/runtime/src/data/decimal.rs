//! Arbitrary-precision decimals for Connect's `Decimal` logical type
//! (`org.apache.kafka.connect.data.Decimal`, a `BYTES` schema with a `scale` parameter).
//!
//! ```text
//!  BigDecimal { unscaled: BigInt, scale }  ──to_twos_complement──▶  BYTES on the wire
//!        ▲                                   (BigInteger.toByteArray: minimal, big-endian)
//!        └── parse("12.30") / Display (BigDecimal.toString: "1.23E+5", "0.00012")
//! ```
//!
//! Java's `BigDecimal` has no counterpart in the crates kaflow builds with, and Connect needs
//! only a few operations (two's-complement bytes, decimal text, equality by value *and* scale,
//! Java's narrowing conversions), so this module carries a small magnitude-and-sign integer.

use std::cmp::Ordering;
use std::fmt;

/// An arbitrary-precision signed integer: sign plus little-endian base-2^32 magnitude, no
/// trailing zero limbs (zero is an empty magnitude with `negative == false`).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct BigInt {
    negative: bool,
    mag: Vec<u32>,
}

impl fmt::Debug for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl BigInt {
    fn normalize(mut self) -> Self {
        while self.mag.last() == Some(&0) {
            self.mag.pop();
        }
        if self.mag.is_empty() {
            self.negative = false;
        }
        self
    }

    /// Zero.
    pub fn zero() -> Self {
        BigInt::default()
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.mag.is_empty()
    }

    /// True below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// From a 128-bit integer.
    pub fn from_i128(v: i128) -> Self {
        let negative = v < 0;
        let mut m = v.unsigned_abs();
        let mut mag = Vec::new();
        while m != 0 {
            mag.push(m as u32);
            m >>= 32;
        }
        BigInt { negative, mag }.normalize()
    }

    /// The value if it fits in an `i128`.
    pub fn to_i128(&self) -> Option<i128> {
        if self.mag.len() > 4 {
            return None;
        }
        let mut m: u128 = 0;
        for limb in self.mag.iter().rev() {
            m = (m << 32) | u128::from(*limb);
        }
        if self.negative {
            if m <= i128::MAX as u128 + 1 {
                Some((m as i128).wrapping_neg())
            } else {
                None
            }
        } else {
            i128::try_from(m).ok()
        }
    }

    /// The low 64 bits of the two's-complement form: Java's `BigInteger.longValue()` (and,
    /// cast further, `intValue()`/`shortValue()`/`byteValue()`).
    pub fn low_i64(&self) -> i64 {
        let lo = u64::from(self.mag.first().copied().unwrap_or(0))
            | (u64::from(self.mag.get(1).copied().unwrap_or(0)) << 32);
        if self.negative {
            (lo as i64).wrapping_neg()
        } else {
            lo as i64
        }
    }

    /// From big-endian two's-complement bytes (`new BigInteger(byte[])`). Empty input is an
    /// error in Java ("Zero length BigInteger"); here it is `None`.
    pub fn from_twos_complement(bytes: &[u8]) -> Option<Self> {
        let first = *bytes.first()?;
        let negative = first & 0x80 != 0;
        // Magnitude bytes: for a negative number, the two's complement of the input.
        let mut b: Vec<u8> = bytes.to_vec();
        if negative {
            for x in b.iter_mut() {
                *x = !*x;
            }
            for x in b.iter_mut().rev() {
                let (v, carry) = x.overflowing_add(1);
                *x = v;
                if !carry {
                    break;
                }
            }
        }
        let mut mag = Vec::with_capacity(b.len() / 4 + 1);
        for chunk in b.rchunks(4) {
            let mut limb = 0u32;
            for &x in chunk {
                limb = (limb << 8) | u32::from(x);
            }
            mag.push(limb);
        }
        // -2^(8n-1) complements to itself: the magnitude bytes are then 0x80 00.. which is right.
        Some(BigInt { negative, mag }.normalize())
    }

    /// Minimal big-endian two's-complement bytes (`BigInteger.toByteArray()`): zero is `[0]`,
    /// and the top bit is the sign.
    pub fn to_twos_complement(&self) -> Vec<u8> {
        let mut be: Vec<u8> = Vec::with_capacity(self.mag.len() * 4 + 1);
        for limb in self.mag.iter().rev() {
            be.extend_from_slice(&limb.to_be_bytes());
        }
        let first_nz = be.iter().position(|&x| x != 0).unwrap_or(be.len());
        let mut m: Vec<u8> = be[first_nz..].to_vec();
        if !self.negative {
            if m.first().is_none_or(|&x| x & 0x80 != 0) {
                m.insert(0, 0);
            }
            return m;
        }
        // Negate: invert and add one, then make sure the sign bit is set with no redundant 0xff.
        for x in m.iter_mut() {
            *x = !*x;
        }
        for x in m.iter_mut().rev() {
            let (v, carry) = x.overflowing_add(1);
            *x = v;
            if !carry {
                break;
            }
        }
        if m[0] & 0x80 == 0 {
            m.insert(0, 0xff);
        }
        while m.len() > 1 && m[0] == 0xff && m[1] & 0x80 != 0 {
            m.remove(0);
        }
        m
    }

    /// Parses optional sign and decimal digits.
    pub fn parse_decimal(s: &str) -> Option<Self> {
        let (negative, digits) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut mag: Vec<u32> = Vec::new();
        for chunk in digits.as_bytes().chunks(9) {
            let mut mul = 1u64;
            let mut add = 0u64;
            for &d in chunk {
                mul *= 10;
                add = add * 10 + u64::from(d - b'0');
            }
            mul_add(&mut mag, mul, add);
        }
        Some(BigInt { negative, mag }.normalize())
    }

    /// Decimal digits of the magnitude (no sign).
    fn magnitude_digits(&self) -> String {
        if self.mag.is_empty() {
            return "0".to_owned();
        }
        let mut m = self.mag.clone();
        let mut parts: Vec<u32> = Vec::new();
        while !m.is_empty() {
            let mut rem = 0u64;
            for limb in m.iter_mut().rev() {
                let cur = (rem << 32) | u64::from(*limb);
                *limb = (cur / 1_000_000_000) as u32;
                rem = cur % 1_000_000_000;
            }
            while m.last() == Some(&0) {
                m.pop();
            }
            parts.push(rem as u32);
        }
        let mut s = parts.pop().map(|p| p.to_string()).unwrap_or_default();
        for p in parts.iter().rev() {
            s.push_str(&format!("{p:09}"));
        }
        s
    }

    fn mul_small(&self, mul: u64) -> BigInt {
        let mut mag = self.mag.clone();
        mul_add(&mut mag, mul, 0);
        BigInt {
            negative: self.negative,
            mag,
        }
        .normalize()
    }

    fn cmp_mag(&self, other: &BigInt) -> Ordering {
        self.mag
            .len()
            .cmp(&other.mag.len())
            .then_with(|| self.mag.iter().rev().cmp(other.mag.iter().rev()))
    }
}

fn mul_add(mag: &mut Vec<u32>, mul: u64, add: u64) {
    let mut carry = add;
    for limb in mag.iter_mut() {
        let cur = u64::from(*limb) * mul + carry;
        *limb = cur as u32;
        carry = cur >> 32;
    }
    while carry != 0 {
        mag.push(carry as u32);
        carry >>= 32;
    }
}

impl fmt::Display for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        f.write_str(&self.magnitude_digits())
    }
}

impl Ord for BigInt {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_mag(other),
            (true, true) => other.cmp_mag(self),
        }
    }
}

impl PartialOrd for BigInt {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A decimal number `unscaled × 10^-scale`, like Java's `BigDecimal`. Equality is Java's:
/// value *and* scale (`2.0 != 2.00`), which is what Connect's `Struct.equals` uses.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BigDecimal {
    unscaled: BigInt,
    scale: i32,
}

impl fmt::Debug for BigDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// Text that is not a decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a decimal number: {0:?}")]
pub struct ParseDecimalError(pub String);

impl BigDecimal {
    /// `unscaled × 10^-scale`.
    pub fn new(unscaled: BigInt, scale: i32) -> Self {
        BigDecimal { unscaled, scale }
    }

    /// From an integer unscaled value.
    pub fn from_i128(unscaled: i128, scale: i32) -> Self {
        BigDecimal::new(BigInt::from_i128(unscaled), scale)
    }

    /// The unscaled value.
    pub fn unscaled(&self) -> &BigInt {
        &self.unscaled
    }

    /// The scale (digits after the point; negative for multiples of powers of ten).
    pub fn scale(&self) -> i32 {
        self.scale
    }

    /// Parses Java's `new BigDecimal(String)` syntax: sign, digits, optional fraction, optional
    /// exponent (`1.50`, `-3`, `1E+3`, `.5`). The scale is the number of fraction digits minus
    /// the exponent, so `1.50` keeps scale 2.
    pub fn parse(s: &str) -> Result<Self, ParseDecimalError> {
        let err = || ParseDecimalError(s.to_owned());
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => {
                let e = &s[i + 1..];
                let e = e.strip_prefix('+').unwrap_or(e);
                if e.is_empty() || e.starts_with(['+']) {
                    return Err(err());
                }
                (&s[..i], e.parse::<i64>().map_err(|_| err())?)
            }
            None => (s, 0),
        };
        let (sign, body) = match mantissa.as_bytes().first() {
            Some(b'-') => ("-", &mantissa[1..]),
            Some(b'+') => ("", &mantissa[1..]),
            _ => ("", mantissa),
        };
        let (int_part, frac_part) = match body.find('.') {
            Some(i) => (&body[..i], &body[i + 1..]),
            None => (body, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(err());
        }
        let all = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if !all(int_part) || !all(frac_part) {
            return Err(err());
        }
        let digits = format!("{sign}{int_part}{frac_part}");
        let unscaled = BigInt::parse_decimal(&digits).ok_or_else(err)?;
        let scale = frac_part.len() as i64 - exp;
        let scale = i32::try_from(scale).map_err(|_| err())?;
        Ok(BigDecimal { unscaled, scale })
    }

    /// Number of decimal digits in the unscaled value (`BigDecimal.precision()`; 1 for zero).
    pub fn precision(&self) -> usize {
        self.unscaled.magnitude_digits().len()
    }

    /// Java's `setScale(0, RoundingMode.DOWN)` as an integer: the integer part, truncated
    /// toward zero.
    pub fn to_bigint_truncated(&self) -> BigInt {
        if self.scale <= 0 {
            let mut v = self.unscaled.clone();
            for _ in 0..(-(self.scale as i64)).min(100_000) {
                v = v.mul_small(10);
            }
            return v;
        }
        let digits = self.unscaled.magnitude_digits();
        let keep = digits.len().saturating_sub(self.scale as usize);
        if keep == 0 {
            return BigInt::zero();
        }
        let sign = if self.unscaled.negative { "-" } else { "" };
        BigInt::parse_decimal(&format!("{sign}{}", &digits[..keep])).unwrap_or_default()
    }

    /// True when the value has no fractional part (`ceil == floor` in `Values.parseAsExactDecimal`).
    pub fn is_integral(&self) -> bool {
        if self.scale <= 0 || self.unscaled.is_zero() {
            return true;
        }
        let digits = self.unscaled.magnitude_digits();
        let s = self.scale as usize;
        digits.len() > s && digits[digits.len() - s..].bytes().all(|b| b == b'0')
            || digits.bytes().all(|b| b == b'0')
    }

    /// Nearest `f64` (`BigDecimal.doubleValue()`, correctly rounded).
    pub fn to_f64(&self) -> f64 {
        format!("{}e{}", self.unscaled, -(self.scale as i64))
            .parse()
            .unwrap_or(f64::NAN)
    }

    /// Nearest `f32` (`BigDecimal.floatValue()`).
    pub fn to_f32(&self) -> f32 {
        format!("{}e{}", self.unscaled, -(self.scale as i64))
            .parse()
            .unwrap_or(f32::NAN)
    }

    /// Compares numerically, ignoring scale (`compareTo`).
    pub fn cmp_value(&self, other: &BigDecimal) -> Ordering {
        let s = self.scale.max(other.scale);
        let up = |d: &BigDecimal| {
            let mut v = d.unscaled.clone();
            for _ in 0..(s - d.scale) {
                v = v.mul_small(10);
            }
            v
        };
        up(self).cmp(&up(other))
    }
}

impl fmt::Display for BigDecimal {
    /// Java's `BigDecimal.toString()`: plain notation when the scale is non-negative and the
    /// adjusted exponent is at least -6, scientific (`1.23E+5`, `1E-7`) otherwise. Jackson
    /// writes NUMERIC decimals with exactly this text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.unscaled.magnitude_digits();
        let sign = if self.unscaled.negative { "-" } else { "" };
        let n = digits.len() as i64;
        let scale = i64::from(self.scale);
        let adjusted = -scale + (n - 1);
        if scale >= 0 && adjusted >= -6 {
            if scale == 0 {
                return write!(f, "{sign}{digits}");
            }
            let s = scale as usize;
            if digits.len() > s {
                let (a, b) = digits.split_at(digits.len() - s);
                write!(f, "{sign}{a}.{b}")
            } else {
                write!(f, "{sign}0.{}{digits}", "0".repeat(s - digits.len()))
            }
        } else {
            let (a, b) = digits.split_at(1);
            let exp_sign = if adjusted >= 0 { "+" } else { "-" };
            if b.is_empty() {
                write!(f, "{sign}{a}E{exp_sign}{}", adjusted.abs())
            } else {
                write!(f, "{sign}{a}.{b}E{exp_sign}{}", adjusted.abs())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twos_complement_matches_java_biginteger_to_byte_array() {
        // Values from BigInteger.valueOf(x).toByteArray().
        let cases: &[(i128, &[u8])] = &[
            (0, &[0]),
            (1, &[1]),
            (127, &[0x7f]),
            (128, &[0, 0x80]),
            (255, &[0, 0xff]),
            (256, &[1, 0]),
            (-1, &[0xff]),
            (-128, &[0x80]),
            (-129, &[0xff, 0x7f]),
            (-256, &[0xff, 0x00]),
            (-32768, &[0x80, 0x00]),
            (12345, &[0x30, 0x39]),
            (i64::MIN as i128, &[0x80, 0, 0, 0, 0, 0, 0, 0]),
        ];
        for &(v, bytes) in cases {
            let b = BigInt::from_i128(v);
            assert_eq!(b.to_twos_complement(), bytes, "{v}");
            assert_eq!(BigInt::from_twos_complement(bytes).unwrap(), b, "{v}");
            assert_eq!(b.to_i128(), Some(v));
        }
        assert_eq!(BigInt::from_twos_complement(&[]), None);
        // Non-minimal input still decodes.
        assert_eq!(
            BigInt::from_twos_complement(&[0xff, 0xff, 0xff]).unwrap(),
            BigInt::from_i128(-1)
        );
    }

    #[test]
    fn big_values_round_trip_through_text_and_bytes() {
        let s = "-123456789012345678901234567890123456789";
        let b = BigInt::parse_decimal(s).unwrap();
        assert_eq!(b.to_string(), s);
        let bytes = b.to_twos_complement();
        assert_eq!(BigInt::from_twos_complement(&bytes).unwrap(), b);
        assert_eq!(b.to_i128(), Some(s.parse::<i128>().unwrap()));
        let huge = BigInt::parse_decimal("1000000000000000000000000000000000000000000").unwrap();
        assert_eq!(huge.to_i128(), None);
        assert_eq!(huge.to_string(), "1000000000000000000000000000000000000000000");
    }

    #[test]
    fn to_string_follows_java_bigdecimal() {
        let cases: &[(i128, i32, &str)] = &[
            (12345, 2, "123.45"),
            (-12345, 2, "-123.45"),
            (5, 3, "0.005"),
            (1, 6, "0.000001"),
            (1, 7, "1E-7"),
            (123, 10, "1.23E-8"),
            (1, -3, "1E+3"),
            (123, -2, "1.23E+4"),
            (0, 0, "0"),
            (0, 2, "0.00"),
            (150, 2, "1.50"),
        ];
        for &(u, s, text) in cases {
            let d = BigDecimal::from_i128(u, s);
            assert_eq!(d.to_string(), text);
            let back = BigDecimal::parse(text).unwrap();
            assert_eq!(back, d, "{text}");
        }
    }

    #[test]
    fn parse_keeps_scale_and_rejects_garbage() {
        assert_eq!(BigDecimal::parse("1.50").unwrap().scale(), 2);
        assert_eq!(BigDecimal::parse("1e-2").unwrap(), BigDecimal::from_i128(1, 2));
        assert_eq!(BigDecimal::parse(".5").unwrap(), BigDecimal::from_i128(5, 1));
        for bad in ["", "-", "1.2.3", "abc", "1e", "1e+", "--1", "1e++2"] {
            assert!(BigDecimal::parse(bad).is_err(), "{bad}");
        }
        assert_ne!(
            BigDecimal::parse("2.0").unwrap(),
            BigDecimal::parse("2.00").unwrap()
        );
        assert_eq!(
            BigDecimal::parse("2.0")
                .unwrap()
                .cmp_value(&BigDecimal::parse("2.00").unwrap()),
            Ordering::Equal
        );
    }

    #[test]
    fn truncation_and_integrality() {
        assert_eq!(
            BigDecimal::parse("-7.9").unwrap().to_bigint_truncated(),
            BigInt::from_i128(-7)
        );
        assert_eq!(
            BigDecimal::parse("0.9").unwrap().to_bigint_truncated(),
            BigInt::zero()
        );
        assert_eq!(
            BigDecimal::parse("12E+2").unwrap().to_bigint_truncated(),
            BigInt::from_i128(1200)
        );
        assert!(BigDecimal::parse("3.000").unwrap().is_integral());
        assert!(BigDecimal::parse("0.00").unwrap().is_integral());
        assert!(!BigDecimal::parse("3.010").unwrap().is_integral());
        assert_eq!(BigInt::from_i128(0x1_0000_0001).low_i64(), 0x1_0000_0001);
        assert_eq!(BigInt::from_i128(-5).low_i64(), -5);
        assert_eq!(BigDecimal::parse("0.1").unwrap().to_f64(), 0.1);
    }
}
