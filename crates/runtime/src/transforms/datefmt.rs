//! The part of Java's `SimpleDateFormat` that Connect users put in `format` /
//! `timestamp.format` (TimestampConverter, TimestampRouter), always in UTC as those SMTs set it.
//!
//! ```text
//!  "yyyy-MM-dd'T'HH:mm:ss.SSSZ" ──compile──▶ [Year(4) Lit("-") Month(2) ... Zone]
//!      format(epoch ms) ──▶ "2017-01-03T06:30:01.864+0000"
//!      parse("2017-01-03T06:30:01.864+0000") ──▶ epoch ms
//! ```
//!
//! Letters: G y M d H k K h m s S E a D Z X z, quoted text (`'T'`, `''` for a quote).
//! Any other ASCII letter is rejected, as `SimpleDateFormat` rejects it ("Illegal pattern
//! character"). Parsing follows SimpleDateFormat's abutting-field rule: a number directly
//! followed by another numeric field takes exactly its pattern width (`yyyyMMdd`).

use crate::data::logical::{civil_from_days, days_from_civil, MILLIS_PER_DAY};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(String),
    Field(char, usize),
}

/// A text that doesn't match the pattern (`java.text.ParseException`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Unparseable date")]
pub struct Unparseable;

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct DateFormat {
    pattern: String,
    toks: Vec<Tok>,
}

fn is_numeric(c: char, n: usize) -> bool {
    match c {
        'M' => n <= 2,
        'E' | 'a' | 'G' | 'Z' | 'X' | 'z' => false,
        _ => true,
    }
}

impl DateFormat {
    /// Compiles `pattern`; the error is SimpleDateFormat's message.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                // '' is a quote; 'text' is literal text (with '' inside for a quote).
                if chars.get(i + 1) == Some(&'\'') {
                    toks.push(Tok::Lit("'".into()));
                    i += 2;
                    continue;
                }
                let mut lit = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("Unterminated quote in pattern {pattern}")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            lit.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            lit.push(ch);
                            i += 1;
                        }
                    }
                }
                toks.push(Tok::Lit(lit));
            } else if c.is_ascii_alphabetic() {
                if !"GyMdHkKhmsSEaDZXz".contains(c) {
                    return Err(format!("Illegal pattern character '{c}'"));
                }
                let mut n = 1;
                while chars.get(i + n) == Some(&c) {
                    n += 1;
                }
                toks.push(Tok::Field(c, n));
                i += n;
            } else {
                toks.push(Tok::Lit(c.to_string()));
                i += 1;
            }
        }
        Ok(DateFormat {
            pattern: pattern.to_owned(),
            toks,
        })
    }

    /// The pattern as given (`toPattern()`).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats an instant (ms since the epoch) in UTC.
    pub fn format(&self, epoch_ms: i64) -> String {
        let days = epoch_ms.div_euclid(MILLIS_PER_DAY);
        let ms_of_day = epoch_ms.rem_euclid(MILLIS_PER_DAY);
        let (y, mo, d) = civil_from_days(days);
        let (h, mi, s, ms) = (
            ms_of_day / 3_600_000,
            ms_of_day / 60_000 % 60,
            ms_of_day / 1000 % 60,
            ms_of_day % 1000,
        );
        let num = |v: i64, n: usize| format!("{v:0n$}");
        let mut out = String::new();
        for t in &self.toks {
            match t {
                Tok::Lit(l) => out.push_str(l),
                Tok::Field(c, n) => {
                    let n = *n;
                    let piece = match c {
                        'G' => if y > 0 { "AD" } else { "BC" }.to_string(),
                        'y' if n == 2 => num(y.rem_euclid(100), 2),
                        'y' => num(y, n),
                        'M' if n >= 4 => MONTHS[mo as usize - 1].to_string(),
                        'M' if n == 3 => MONTHS[mo as usize - 1][..3].to_string(),
                        'M' => num(i64::from(mo), n),
                        'd' => num(i64::from(d), n),
                        'D' => num(days - days_from_civil(y, 1, 1) + 1, n),
                        'H' => num(h, n),
                        'k' => num(if h == 0 { 24 } else { h }, n),
                        'K' => num(h % 12, n),
                        'h' => num(if h % 12 == 0 { 12 } else { h % 12 }, n),
                        'm' => num(mi, n),
                        's' => num(s, n),
                        'S' => num(ms, n),
                        'E' => {
                            let name = DAYS[days.rem_euclid(7) as usize];
                            if n >= 4 {
                                name.to_string()
                            } else {
                                name[..3].to_string()
                            }
                        }
                        'a' => if h < 12 { "AM" } else { "PM" }.to_string(),
                        'Z' => "+0000".to_string(),
                        'X' => "Z".to_string(),
                        _ => "UTC".to_string(),
                    };
                    out.push_str(&piece);
                }
            }
        }
        out
    }

    /// Parses a string into an instant (ms since the epoch, UTC). Fields the pattern lacks
    /// default as in SimpleDateFormat (1970-01-01T00:00:00.000).
    pub fn parse(&self, text: &str) -> Result<i64, Unparseable> {
        let b: Vec<char> = text.chars().collect();
        let mut pos = 0;
        let (mut y, mut mo, mut d) = (1970i64, 1i64, 1i64);
        let (mut h, mut mi, mut s, mut ms) = (0i64, 0i64, 0i64, 0i64);
        let mut pm: Option<bool> = None;
        let mut offset_ms = 0i64;
        for (ti, t) in self.toks.iter().enumerate() {
            match t {
                Tok::Lit(l) => {
                    for lc in l.chars() {
                        if b.get(pos) != Some(&lc) {
                            return Err(Unparseable);
                        }
                        pos += 1;
                    }
                }
                Tok::Field(c, n) => {
                    let (c, n) = (*c, *n);
                    if is_numeric(c, n) {
                        let abutting =
                            matches!(self.toks.get(ti + 1), Some(Tok::Field(c2, n2)) if is_numeric(*c2, *n2));
                        let start = pos;
                        if b.get(pos) == Some(&'-') && c == 'y' {
                            pos += 1;
                        }
                        while pos < b.len() && b[pos].is_ascii_digit() && (!abutting || pos - start < n) {
                            pos += 1;
                        }
                        let digits: String = b[start..pos].iter().collect();
                        let v: i64 = digits.parse().map_err(|_| Unparseable)?;
                        match c {
                            'y' if n <= 2 && digits.len() == 2 => y = 2000 + v - if v > 69 { 100 } else { 0 },
                            'y' => y = v,
                            'M' => mo = v,
                            'd' => d = v,
                            'H' | 'k' => h = if c == 'k' && v == 24 { 0 } else { v },
                            'K' | 'h' => h = if c == 'h' && v == 12 { 0 } else { v },
                            'm' => mi = v,
                            's' => s = v,
                            'S' => ms = v,
                            'D' => {
                                mo = 1;
                                d = v;
                            }
                            _ => {}
                        }
                    } else {
                        let rest: String = b[pos..].iter().collect();
                        let take = |cands: &[&str]| -> Option<(usize, usize)> {
                            cands.iter().enumerate().find_map(|(i, cand)| {
                                let cl = cand.chars().count();
                                (rest.len() >= cand.len()
                                    && rest
                                        .chars()
                                        .take(cl)
                                        .collect::<String>()
                                        .eq_ignore_ascii_case(cand))
                                .then_some((i, cl))
                            })
                        };
                        match c {
                            'M' => {
                                let shorts: Vec<&str> = MONTHS.iter().map(|m| &m[..3]).collect();
                                let (i, l) = take(&MONTHS).or_else(|| take(&shorts)).ok_or(Unparseable)?;
                                mo = i as i64 + 1;
                                pos += l;
                            }
                            'E' => {
                                let shorts: Vec<&str> = DAYS.iter().map(|m| &m[..3]).collect();
                                let (_, l) = take(&DAYS).or_else(|| take(&shorts)).ok_or(Unparseable)?;
                                pos += l;
                            }
                            'a' => {
                                let (i, l) = take(&["AM", "PM"]).ok_or(Unparseable)?;
                                pm = Some(i == 1);
                                pos += l;
                            }
                            'G' => {
                                let (_, l) = take(&["AD", "BC"]).ok_or(Unparseable)?;
                                pos += l;
                            }
                            _ => {
                                // Z / X / z: "Z", "UTC", "GMT", or +HHMM / +HH:MM / +HH.
                                if let Some((_, l)) = take(&["UTC", "GMT", "Z"]) {
                                    pos += l;
                                } else {
                                    let sign = match b.get(pos) {
                                        Some('+') => 1,
                                        Some('-') => -1,
                                        _ => return Err(Unparseable),
                                    };
                                    pos += 1;
                                    let mut digits = String::new();
                                    while pos < b.len() && (b[pos].is_ascii_digit() || b[pos] == ':') {
                                        if b[pos] != ':' {
                                            digits.push(b[pos]);
                                        }
                                        pos += 1;
                                    }
                                    let (hh, mm) = match digits.len() {
                                        2 => (digits.parse::<i64>().map_err(|_| Unparseable)?, 0),
                                        4 => (
                                            digits[..2].parse::<i64>().map_err(|_| Unparseable)?,
                                            digits[2..].parse::<i64>().map_err(|_| Unparseable)?,
                                        ),
                                        _ => return Err(Unparseable),
                                    };
                                    offset_ms = sign * (hh * 3_600_000 + mm * 60_000);
                                }
                            }
                        }
                    }
                }
            }
        }
        if pm == Some(true) {
            h += 12;
        }
        // Lenient month overflow, as the default lenient Calendar does.
        let (y, mo) = (y + (mo - 1).div_euclid(12), (mo - 1).rem_euclid(12) + 1);
        let days = days_from_civil(y, mo as u32, 1) + d - 1;
        Ok(days * MILLIS_PER_DAY + h * 3_600_000 + mi * 60_000 + s * 1000 + ms - offset_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_kafkas_examples() {
        // TimestampConverterTest: 2017-01-03T00:00:00 + 1h2m3s4ms... its STRING_DATE_FMT.
        let f = DateFormat::new("yyyy MM dd HH:mm:ss SSS z").unwrap();
        let ms = 1_483_405_323_004; // 2017-01-03T01:02:03.004Z
        assert_eq!(f.format(ms), "2017 01 03 01:02:03 004 UTC");
        assert_eq!(f.parse("2017 01 03 01:02:03 004 UTC"), Ok(ms));
        let r = DateFormat::new("yyyyMMdd").unwrap();
        assert_eq!(r.format(1_483_425_001_864), "20170103");
        assert_eq!(r.parse("20170103"), Ok(1_483_401_600_000));
        let iso = DateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSSZ").unwrap();
        assert_eq!(iso.format(0), "1970-01-01T00:00:00.000+0000");
        assert_eq!(iso.parse("1970-01-01T01:00:00.000+0100"), Ok(0));
        let e = DateFormat::new("EEE, d MMM yyyy hh:mm a").unwrap();
        assert_eq!(e.format(1_483_405_323_004), "Tue, 3 Jan 2017 01:02 AM");
        assert_eq!(e.parse("Tue, 3 Jan 2017 01:02 PM"), Ok(1_483_448_520_000));
        assert!(iso.parse("not a date").is_err());
        assert_eq!(
            DateFormat::new("yyyy-bb").unwrap_err(),
            "Illegal pattern character 'b'"
        );
    }
}
