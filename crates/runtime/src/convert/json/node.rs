//! A small JSON tree that behaves like the Jackson `JsonNode`s Kafka's JsonConverter uses.
//!
//! ```text
//!  bytes ──parse──▶ Node (numbers kept as their text, object keys in order) ──write──▶ bytes
//! ```
//!
//! Why not serde_json: Kafka's output must be matched byte for byte, and that needs Jackson's
//! number text (Java's `Double.toString`, `BigDecimal.toString`), Jackson's string escapes
//! (`\u001F`, upper-case hex) and object keys in insertion order; on input it needs numbers
//! at full precision with their scale (`USE_BIG_DECIMAL_FOR_FLOATS`: `1.50` stays `1.50`).
//! serde_json offers those only through crate-wide features that would change it for every
//! other user in the workspace.

use std::fmt::Write as _;

use crate::data::{BigDecimal, BigInt};

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true`/`false`.
    Bool(bool),
    /// A number, as its JSON text (`12`, `-1.50`, `1.0E20`).
    Number(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Node>),
    /// An object, keys in order. Parsing keeps the last value of a repeated key at the first
    /// key's position, as Jackson's `ObjectNode` (a `LinkedHashMap`) does.
    Object(Vec<(String, Node)>),
}

/// Why some bytes are not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {offset}: {reason}")]
pub struct ParseError {
    /// Where.
    pub offset: usize,
    /// What.
    pub reason: &'static str,
}

impl Node {
    /// Object member by key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Jackson's `getNodeType()` name: NULL, BOOLEAN, NUMBER, STRING, ARRAY, OBJECT.
    pub fn node_type(&self) -> &'static str {
        match self {
            Node::Null => "NULL",
            Node::Bool(_) => "BOOLEAN",
            Node::Number(_) => "NUMBER",
            Node::String(_) => "STRING",
            Node::Array(_) => "ARRAY",
            Node::Object(_) => "OBJECT",
        }
    }

    /// True for a number without fraction or exponent (Jackson's `isIntegralNumber`).
    pub fn is_integral(&self) -> bool {
        matches!(self, Node::Number(t) if !t.contains(['.', 'e', 'E']))
    }

    /// True for an integral number that fits an `int` (Jackson's `isInt`).
    pub fn is_int(&self) -> bool {
        match self {
            Node::Number(t) if self.is_integral() => t.parse::<i32>().is_ok(),
            _ => false,
        }
    }

    /// The number as a decimal (`decimalValue()`); `None` for non-numbers.
    pub fn decimal(&self) -> Option<BigDecimal> {
        match self {
            Node::Number(t) => BigDecimal::parse(t).ok(),
            _ => None,
        }
    }

    /// `longValue()`: Java's narrowing (fraction truncated, high bits dropped); 0 for
    /// non-numbers, as Jackson returns for them.
    pub fn long_value(&self) -> i64 {
        match self {
            Node::Number(t) => {
                if let Ok(v) = t.parse::<i64>() {
                    return v;
                }
                if !self.is_integral() {
                    // Floating text is a Jackson DecimalNode here: BigDecimal.longValue().
                    return self
                        .decimal()
                        .map(|d| d.to_bigint_truncated().low_i64())
                        .unwrap_or(0);
                }
                BigInt::parse_decimal(t).map(|b| b.low_i64()).unwrap_or(0)
            }
            _ => 0,
        }
    }

    /// `intValue()`.
    pub fn int_value(&self) -> i32 {
        self.long_value() as i32
    }

    /// `doubleValue()` (0.0 for non-numbers). A number with a fraction or exponent is a
    /// `BigDecimal` in Kafka's reader (`USE_BIG_DECIMAL_FOR_FLOATS`), which has no negative
    /// zero: `-0.0` reads as `0.0`, as it does in Kafka.
    pub fn double_value(&self) -> f64 {
        match self {
            Node::Number(t) if self.is_integral() => t.parse().unwrap_or(0.0),
            Node::Number(_) => self.decimal().map_or(0.0, |d| d.to_f64()),
            _ => 0.0,
        }
    }

    /// `floatValue()`: a float number node is a BigDecimal here, so `BigDecimal.floatValue()`
    /// (correctly rounded from the text); an integral one converts its `int`/`long`.
    pub fn float_value(&self) -> f32 {
        match self {
            Node::Number(t) if self.is_integral() => match t.parse::<i64>() {
                Ok(v) => v as f32,
                Err(_) => t.parse().unwrap_or(0.0),
            },
            Node::Number(_) => self.decimal().map_or(0.0, |d| d.to_f32()),
            _ => 0.0,
        }
    }

    /// Serialises compactly, as Jackson's `ObjectMapper.writeValueAsBytes`.
    pub fn write(&self, out: &mut String) {
        match self {
            Node::Null => out.push_str("null"),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Number(t) => out.push_str(t),
            Node::String(s) => write_string(s, out),
            Node::Array(items) => {
                out.push('[');
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    it.write(out);
                }
                out.push(']');
            }
            Node::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// The compact JSON text.
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }

    /// Parses one JSON document (surrounding whitespace allowed).
    pub fn parse(input: &[u8]) -> Result<Node, ParseError> {
        let mut p = Parser {
            s: input,
            i: 0,
            depth: 0,
        };
        p.ws();
        let n = p.value()?;
        p.ws();
        if p.i != input.len() {
            return Err(p.err("trailing data after the JSON value"));
        }
        Ok(n)
    }
}

/// Jackson's string escaping: `"` and `\` escaped, control characters as `\b \t \n \f \r`
/// or `\u00XX` with upper-case hex, characters beyond U+FFFF as an escaped surrogate pair,
/// everything else (including other non-ASCII) as UTF-8.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            // Jackson's UTF-8 generator escapes characters outside the BMP as a surrogate pair
            // (`COMBINE_UNICODE_SURROGATES_IN_UTF8` is off by default).
            c if (c as u32) > 0xFFFF => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{:04X}", u);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Java's `Double.toString`: shortest digits that round-trip; plain between 10^-3 and 10^7
/// (`100.0`, `0.001`), otherwise `d.dddE±n` (`1.0E7`, `1.0E-4`); `NaN`, `Infinity`.
pub fn java_double(v: f64) -> String {
    java_float_text(
        v.is_nan(),
        v.is_infinite(),
        v.is_sign_negative(),
        v == 0.0,
        &format!("{v:e}"),
    )
}

/// Java's `Float.toString` (same shape as [`java_double`], with `f32`'s shortest digits).
pub fn java_float(v: f32) -> String {
    java_float_text(
        v.is_nan(),
        v.is_infinite(),
        v.is_sign_negative(),
        v == 0.0,
        &format!("{v:e}"),
    )
}

fn java_float_text(nan: bool, inf: bool, neg: bool, zero: bool, sci: &str) -> String {
    if nan {
        return "NaN".to_owned();
    }
    let sign = if neg { "-" } else { "" };
    if inf {
        return format!("{sign}Infinity");
    }
    if zero {
        return format!("{sign}0.0");
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7", "1e20".
    let sci = sci.trim_start_matches('-');
    let (mant, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    if (-3..7).contains(&exp) {
        let mut s = String::from(sign);
        if exp < 0 {
            s.push_str("0.");
            for _ in 0..(-exp - 1) {
                s.push('0');
            }
            s.push_str(&digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                s.push_str(&digits);
                for _ in digits.len()..int_len {
                    s.push('0');
                }
                s.push_str(".0");
            } else {
                s.push_str(&digits[..int_len]);
                s.push('.');
                s.push_str(&digits[int_len..]);
            }
        }
        s
    } else {
        let (a, b) = digits.split_at(1);
        let b = if b.is_empty() { "0" } else { b };
        format!("{sign}{a}.{b}E{exp}")
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, no line feeds (Jackson's default `MIME_NO_LINEFEEDS`, and
/// `java.util.Base64.getEncoder()`).
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Decodes standard base64; padding is required when the length isn't a multiple of 4
/// (Jackson's default variant requires it too).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let t = text.as_bytes();
    if t.len() % 4 != 0 {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(t.len() / 4 * 3);
    for (ci, chunk) in t.chunks(4).enumerate() {
        let last = ci == t.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
    }
    Some(out)
}

/// Nesting limit: hostile input must not overflow the stack (Jackson 2.15+ limits depth to
/// 1000 by default too).
const MAX_DEPTH: usize = 1000;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> ParseError {
        ParseError {
            offset: self.i,
            reason,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn lit(&mut self, word: &'static [u8], node: Node) -> Result<Node, ParseError> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(node)
        } else {
            Err(self.err("unexpected token"))
        }
    }

    fn value(&mut self) -> Result<Node, ParseError> {
        match self.s.get(self.i) {
            None => Err(self.err("unexpected end of input")),
            Some(b'n') => self.lit(b"null", Node::Null),
            Some(b't') => self.lit(b"true", Node::Bool(true)),
            Some(b'f') => self.lit(b"false", Node::Bool(false)),
            Some(b'"') => Ok(Node::String(self.string()?)),
            Some(b'[') => {
                self.enter()?;
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(Node::Array(items));
                }
                loop {
                    self.ws();
                    items.push(self.value()?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
                self.depth -= 1;
                Ok(Node::Array(items))
            }
            Some(b'{') => {
                self.enter()?;
                self.i += 1;
                let mut members: Vec<(String, Node)> = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(Node::Object(members));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.err("expected a string key"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return Err(self.err("expected ':'"));
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value()?;
                    match members.iter_mut().find(|(mk, _)| *mk == k) {
                        Some(slot) => slot.1 = v,
                        None => members.push((k, v)),
                    }
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
                self.depth -= 1;
                Ok(Node::Object(members))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nesting deeper than 1000"));
        }
        Ok(())
    }

    fn number(&mut self) -> Result<Node, ParseError> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - s
        };
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        let n = digits(self);
        if n == 0 {
            return Err(self.err("expected digits"));
        }
        if n > 1 && self.s[int_start] == b'0' {
            return Err(self.err("leading zeroes are not allowed"));
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.err("expected digits after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("expected exponent digits"));
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("invalid number"))?;
        Ok(Node::Number(text.to_owned()))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let h = std::str::from_utf8(h).map_err(|_| self.err("bad \\u escape"))?;
        let v = u32::from_str_radix(h, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&c) = self.s.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("invalid UTF-8"))?);
            match self.s.get(self.i) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let e = *self
                        .s
                        .get(self.i)
                        .ok_or_else(|| self.err("unterminated escape"))?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{08}'),
                        b'f' => out.push('\u{0C}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) && self.s[self.i..].starts_with(b"\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("invalid surrogate pair"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(c).ok_or_else(|| self.err("invalid \\u escape"))?);
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_number_text() {
        let d = [
            (1.0, "1.0"),
            (100.0, "100.0"),
            (1.5, "1.5"),
            (-0.25, "-0.25"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (1.0e7, "1.0E7"),
            (1.2345e20, "1.2345E20"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
        ];
        for (v, s) in d {
            assert_eq!(java_double(v), s, "{v:e}");
        }
        assert_eq!(java_double(f64::NAN), "NaN");
        assert_eq!(java_double(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(java_float(1.1), "1.1");
        assert_eq!(java_float(3.4028235e38), "3.4028235E38");
        assert_eq!(java_float(1.0e-5), "1.0E-5");
        assert_eq!(java_float(12.5), "12.5");
    }

    #[test]
    fn base64_round_trips_and_rejects_bad_input() {
        for data in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"fooba",
            b"foobar",
            &[0xff, 0xfe, 0x00],
        ] {
            let e = base64_encode(data);
            assert_eq!(base64_decode(&e).unwrap(), data);
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("Zm8"), None);
        assert_eq!(base64_decode("Zm=8"), None);
        assert_eq!(base64_decode("Z!8="), None);
    }

    #[test]
    fn parse_and_write_like_jackson() {
        let n = Node::parse(br#" {"b":1.50,"a":[true,null,"x\u001f\u00e9\ud83d\ude00"],"b":-2} "#).unwrap();
        assert_eq!(
            n.to_json(),
            "{\"b\":-2,\"a\":[true,null,\"x\\u001F\u{e9}\\uD83D\\uDE00\"]}"
        );
        assert_eq!(Node::parse(b"1.50").unwrap(), Node::Number("1.50".into()));
        for bad in [
            &b"{"[..],
            b"[1,]",
            b"01",
            b"1.",
            b"\"abc",
            b"{\"a\" 1}",
            b"nul",
            b"1 2",
            b"",
            b"-",
        ] {
            assert!(Node::parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "[".repeat(5000);
        assert!(Node::parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn numeric_accessors_narrow_like_java() {
        let n = |t: &str| Node::Number(t.to_owned());
        assert_eq!(n("300").int_value() as i8, 44);
        assert_eq!(n("-7.9").long_value(), -7);
        assert_eq!(n("4294967297").int_value(), 1);
        assert_eq!(n("18446744073709551617").long_value(), 1);
        assert!(n("2147483647").is_int());
        assert!(!n("2147483648").is_int());
        assert!(!n("1.0").is_int());
        assert_eq!(Node::String("5".into()).long_value(), 0);
        assert_eq!(n("0.1").float_value(), 0.1f32);
        assert_eq!(n("1.5e3").double_value(), 1500.0);
        assert!(
            n("-0.0").double_value().is_sign_positive(),
            "BigDecimal has no -0"
        );
    }
}
