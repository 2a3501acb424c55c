//! `org.apache.kafka.connect.data.Values`: the text form of Connect values
//! (`convertToString`) and schema inference from text (`parseString`), which
//! SimpleHeaderConverter uses for every header; plus Java's `toString()` of a value, which
//! StringConverter writes for non-string values.
//!
//! ```text
//!  Value ──convert_to_string──▶ "1000" | "true" | "[1,2]" | "{\"a\":1}" | "2024-01-31" | base64
//!  "1000" ──parse_string──▶ (INT16, 1000)     "1.5" ─▶ (FLOAT32, 1.5)     "x y" ─▶ (STRING, "x y")
//!  "[1,1000]" ─▶ (ARRAY<INT16>, [1,1000])     "12:30:00.000Z" ─▶ (Time, 45000000)
//! ```
//!
//! The parser reproduces Kafka's tokenizer rather than a grammar: tokens split at
//! `: , { } [ ] "` (a backslash escapes one), an array or map that fails to parse falls back
//! to the whole text as a STRING, a top-level literal followed by more text is a string. Dates
//! are formatted and parsed in UTC (Kafka uses the JVM's default time zone, which is UTC on
//! Connect's usual deployments).

use super::decimal::BigDecimal;
use super::logical::{self, civil_from_days, days_from_civil, MILLIS_PER_DAY};
use super::schema::{Schema, SchemaBuilder, Type};
use super::value::Value;
use super::{DataError, SchemaAndValue};
use crate::convert::json::node::{base64_encode, java_double, java_float};

/// `Values.convertToString(schema, value)`; `"null"` text is never produced for a top-level
/// null by the header converter, which writes no bytes instead.
pub fn convert_to_string(_schema: Option<&Schema>, value: &Value) -> String {
    let mut s = String::new();
    append(&mut s, value, false);
    s
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn append(sb: &mut String, value: &Value, embedded: bool) {
    match value {
        Value::Null => sb.push_str("null"),
        Value::Int8(v) => sb.push_str(&v.to_string()),
        Value::Int16(v) => sb.push_str(&v.to_string()),
        Value::Int32(v) => sb.push_str(&v.to_string()),
        Value::Int64(v) => sb.push_str(&v.to_string()),
        Value::Float32(v) => sb.push_str(&java_float(*v)),
        Value::Float64(v) => sb.push_str(&java_double(*v)),
        Value::Decimal(d) => sb.push_str(&d.to_string()),
        Value::Boolean(b) => sb.push_str(if *b { "true" } else { "false" }),
        Value::String(s) => {
            if embedded {
                sb.push('"');
                sb.push_str(&escape(s));
                sb.push('"');
            } else {
                sb.push_str(s);
            }
        }
        Value::Bytes(b) => {
            let e = base64_encode(b);
            if embedded {
                sb.push('"');
                sb.push_str(&e);
                sb.push('"');
            } else {
                sb.push_str(&e);
            }
        }
        Value::Array(items) => {
            sb.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    sb.push(',');
                }
                append(sb, it, true);
            }
            sb.push(']');
        }
        Value::Map(entries) => {
            sb.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    sb.push(',');
                }
                append(sb, k, true);
                sb.push(':');
                append(sb, v, true);
            }
            sb.push('}');
        }
        Value::Struct(st) => {
            sb.push('{');
            for (i, f) in st.schema().fields().iter().enumerate() {
                if i > 0 {
                    sb.push(',');
                }
                append(sb, &Value::String(f.name().to_owned()), true);
                sb.push(':');
                append(sb, st.get_by_index(i), true);
            }
            sb.push('}');
        }
        Value::Date(days) => sb.push_str(&format_date_millis(i64::from(*days) * MILLIS_PER_DAY)),
        Value::Time(ms) => sb.push_str(&format_date_millis(i64::from(*ms))),
        Value::Timestamp(ms) => sb.push_str(&format_date_millis(*ms)),
    }
}

/// `Values.dateFormatFor(date).format(date)`: a time before one day's worth of millis, a date
/// at midnight, otherwise a full timestamp (so the Date 1970-01-01 prints as `00:00:00.000Z`,
/// as in Kafka).
fn format_date_millis(ms: i64) -> String {
    let days = ms.div_euclid(MILLIS_PER_DAY);
    let in_day = ms.rem_euclid(MILLIS_PER_DAY);
    let (y, mo, d) = civil_from_days(days);
    let time = format!(
        "{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    );
    if ms < MILLIS_PER_DAY {
        time
    } else if ms % MILLIS_PER_DAY == 0 {
        format!("{y:04}-{mo:02}-{d:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{time}")
    }
}

/// Java's `Object.toString()` of a Connect value (what StringConverter writes for a value
/// that isn't a string). BYTES, which Java prints as an object id, are written as their UTF-8
/// text instead.
pub fn java_to_string(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(java_to_string).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}={}", java_to_string(k), java_to_string(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Struct(st) => {
            let parts: Vec<String> = st
                .schema()
                .fields()
                .iter()
                .zip(st.values())
                .filter(|(_, v)| !v.is_null())
                .map(|(f, v)| format!("{}={}", f.name(), java_to_string(v)))
                .collect();
            format!("Struct{{{}}}", parts.join(","))
        }
        Value::Date(days) => java_date_to_string(i64::from(*days) * MILLIS_PER_DAY),
        Value::Time(ms) => java_date_to_string(i64::from(*ms)),
        Value::Timestamp(ms) => java_date_to_string(*ms),
        other => convert_to_string(None, other),
    }
}

/// `java.util.Date.toString()` in UTC: `Thu Jan 01 00:00:00 UTC 1970`.
fn java_date_to_string(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = ms.div_euclid(MILLIS_PER_DAY);
    let s = ms.rem_euclid(MILLIS_PER_DAY) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        s / 3600,
        s / 60 % 60,
        s % 60,
        y
    )
}

/// `Values.parseString(text)`: the value and its inferred schema. The empty string is an empty
/// STRING; `"null"` is no schema and no value.
pub fn parse_string(text: &str) -> Result<SchemaAndValue, DataError> {
    if text.is_empty() {
        return Ok(SchemaAndValue::new(
            Some(Schema::STRING()),
            Value::String(String::new()),
        ));
    }
    let mut p = ValueParser {
        p: Tokenizer::new(text),
    };
    Ok(p.parse(false)?.unwrap_or_default())
}

/// Java's `String.trim()`: strips chars up to U+0020 at both ends.
fn jtrim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

fn is_blank(s: &str) -> bool {
    jtrim(s).is_empty()
}

/// `Values.Parser`: a tokenizer with one token of look-ahead, a mark and rewind.
struct Tokenizer {
    chars: Vec<char>,
    pos: usize,
    next_token: Option<String>,
    previous: Option<String>,
}

impl Tokenizer {
    fn new(s: &str) -> Self {
        Tokenizer {
            chars: s.chars().collect(),
            pos: 0,
            next_token: None,
            previous: None,
        }
    }

    fn original(&self) -> String {
        self.chars.iter().collect()
    }

    fn mark(&self) -> usize {
        self.pos - self.next_token.as_ref().map_or(0, |t| t.chars().count())
    }

    fn rewind_to(&mut self, pos: usize) {
        self.pos = pos;
        self.next_token = None;
        self.previous = None;
    }

    fn can_consume_next(&self) -> bool {
        self.pos < self.chars.len()
    }

    fn has_next(&self) -> bool {
        self.next_token.is_some() || self.can_consume_next()
    }

    fn next(&mut self) -> String {
        let t = match self.next_token.take() {
            Some(t) => t,
            None => self.consume_next_token(),
        };
        self.previous = Some(t.clone());
        t
    }

    fn next_n(&mut self, n: usize) -> Option<String> {
        let start = self.mark();
        for _ in 0..n {
            if !self.has_next() {
                self.rewind_to(start);
                return None;
            }
            self.next();
        }
        Some(self.chars[start..self.pos].iter().collect())
    }

    fn consume_next_token(&mut self) -> String {
        let mut escaped = false;
        let start = self.pos;
        while self.can_consume_next() {
            let c = self.chars[self.pos];
            match c {
                '\\' => escaped = !escaped,
                ':' | ',' | '{' | '}' | '[' | ']' | '"' => {
                    if !escaped {
                        if start < self.pos {
                            return self.chars[start..self.pos].iter().collect();
                        }
                        self.pos += 1;
                        return c.to_string();
                    }
                    escaped = false;
                }
                _ => escaped = false,
            }
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn can_consume(&mut self, expected: &str) -> bool {
        if self.is_next(expected) {
            self.next_token = None;
            return true;
        }
        false
    }

    fn is_next(&mut self, expected: &str) -> bool {
        if self.next_token.is_none() {
            if !self.has_next() {
                return false;
            }
            self.next_token = Some(self.consume_next_token());
        }
        while self.next_token.as_deref().is_some_and(is_blank) && self.can_consume_next() {
            self.next_token = Some(self.consume_next_token());
        }
        self.next_token.as_deref().map(jtrim) == Some(expected)
    }
}

struct ValueParser {
    p: Tokenizer,
}

type Parsed = Result<Option<SchemaAndValue>, DataError>;

fn sv(schema: Schema, value: Value) -> Option<SchemaAndValue> {
    Some(SchemaAndValue::new(Some(schema), value))
}

impl ValueParser {
    fn single_token_literal(&mut self, embedded: bool, lit: &str) -> bool {
        let start = self.p.mark();
        if self.p.can_consume(lit) && (embedded || !self.p.has_next()) {
            return true;
        }
        self.p.rewind_to(start);
        false
    }

    fn parse(&mut self, embedded: bool) -> Parsed {
        if !self.p.has_next() {
            return Ok(None);
        }
        if embedded && self.p.can_consume("\"") {
            return Ok(Some(self.parse_quoted_string()));
        }
        if self.single_token_literal(embedded, "null") {
            return Ok(None);
        }
        if self.single_token_literal(embedded, "true") {
            return Ok(sv(Schema::BOOLEAN(), Value::Boolean(true)));
        }
        if self.single_token_literal(embedded, "false") {
            return Ok(sv(Schema::BOOLEAN(), Value::Boolean(false)));
        }
        let start = self.p.mark();
        let attempt = if self.p.can_consume("[") {
            Some(self.parse_array())
        } else if self.p.can_consume("{") {
            Some(self.parse_map())
        } else {
            None
        };
        match attempt {
            Some(Ok(v)) => return Ok(v),
            // Kafka: "Unable to parse the value as a map or an array; reverting to string".
            Some(Err(_)) => self.p.rewind_to(start),
            None => {}
        }
        let token = self.p.next();
        if is_blank(&token) {
            return Ok(sv(Schema::STRING(), Value::String(token)));
        }
        self.parse_next_token(embedded, jtrim(&token).to_owned())
    }

    fn parse_next_token(&mut self, embedded: bool, token: String) -> Parsed {
        let first = token.chars().next().unwrap_or(' ');
        let digit = first.is_ascii_digit();
        if digit {
            if let Some(t) = self.parse_multiple_tokens_as_temporal(&token) {
                return Ok(Some(t));
            }
        }
        if digit || first == '+' || first == '-' {
            if let Some(n) = parse_as_number(&token) {
                return Ok(Some(n));
            }
        }
        if embedded {
            return Err(DataError::Logical("Failed to parse embedded value".to_owned()));
        }
        Ok(sv(Schema::STRING(), Value::String(self.p.original())))
    }

    fn parse_multiple_tokens_as_temporal(&mut self, token: &str) -> Option<SchemaAndValue> {
        let position = self.p.mark();
        if let Some(rest) = self.p.next_n(4) {
            if let Some(t) = parse_as_temporal(&format!("{token}{rest}")) {
                return Some(t);
            }
        }
        self.p.rewind_to(position);
        parse_as_temporal(token)
    }

    fn parse_quoted_string(&mut self) -> SchemaAndValue {
        let mut content = String::new();
        while self.p.has_next() {
            if self.p.can_consume("\"") {
                break;
            }
            content.push_str(&self.p.next());
        }
        parse_as_temporal(&content)
            .unwrap_or_else(|| SchemaAndValue::new(Some(Schema::STRING()), Value::String(content)))
    }

    fn parse_array(&mut self) -> Parsed {
        let mut result: Vec<Value> = Vec::new();
        let mut merger = SchemaMerger::default();
        while self.p.has_next() {
            if self.p.can_consume("]") {
                let schema = match merger.common {
                    Some(common) => {
                        let aligned = result
                            .into_iter()
                            .map(|v| convert_to(&common, v))
                            .collect::<Result<Vec<_>, _>>()?;
                        return Ok(sv(SchemaBuilder::array(common).build(), Value::Array(aligned)));
                    }
                    None => SchemaBuilder::new(Type::Array).build(),
                };
                return Ok(sv(schema, Value::Array(result)));
            }
            if self.p.can_consume(",") {
                return Err(DataError::Logical(format!(
                    "Unable to parse an empty array element: {}",
                    self.p.original()
                )));
            }
            let element = self.parse(true)?;
            merger.merge(element.as_ref());
            result.push(element.map(|e| e.value).unwrap_or_default());
            let current = self.p.mark();
            if self.p.can_consume("]") {
                self.p.rewind_to(current);
            } else if !self.p.can_consume(",") {
                return Err(DataError::Logical(
                    "Array elements missing ',' delimiter".to_owned(),
                ));
            }
        }
        if self.p.previous.as_deref() == Some(",") {
            return Err(DataError::Logical(format!(
                "Array is missing element after ',': {}",
                self.p.original()
            )));
        }
        Err(DataError::Logical(format!(
            "Array is missing terminating ']': {}",
            self.p.original()
        )))
    }

    fn parse_map(&mut self) -> Parsed {
        let mut result: Vec<(Value, Value)> = Vec::new();
        let mut keys = SchemaMerger::default();
        let mut values = SchemaMerger::default();
        while self.p.has_next() {
            if self.p.can_consume("}") {
                return Ok(Some(match (keys.common, values.common) {
                    (Some(k), Some(v)) => {
                        let aligned = result
                            .into_iter()
                            .map(|(a, b)| Ok((convert_to(&k, a)?, convert_to(&v, b)?)))
                            .collect::<Result<Vec<_>, DataError>>()?;
                        SchemaAndValue::new(Some(SchemaBuilder::map(k, v).build()), Value::Map(aligned))
                    }
                    (Some(k), None) => {
                        let aligned = result
                            .into_iter()
                            .map(|(a, b)| Ok((convert_to(&k, a)?, b)))
                            .collect::<Result<Vec<_>, DataError>>()?;
                        SchemaAndValue::new(
                            Some(SchemaBuilder::map_with_null_values(k).build()),
                            Value::Map(aligned),
                        )
                    }
                    _ => SchemaAndValue::new(Some(SchemaBuilder::new(Type::Map).build()), Value::Map(result)),
                }));
            }
            if self.p.can_consume(",") {
                return Err(DataError::Logical(format!(
                    "Unable to parse a map entry with no key or value: {}",
                    self.p.original()
                )));
            }
            let key = self.parse(true)?;
            let Some(key) = key.filter(|k| !k.value.is_null()) else {
                return Err(DataError::Logical(format!(
                    "Map entry may not have a null key: {}",
                    self.p.original()
                )));
            };
            if !self.p.can_consume(":") {
                return Err(DataError::Logical(format!(
                    "Map entry is missing ':' at {} in {}",
                    self.p.pos,
                    self.p.original()
                )));
            }
            let value = self.parse(true)?;
            let entry_value = value.as_ref().map(|v| v.value.clone()).unwrap_or_default();
            match result.iter_mut().find(|(k, _)| *k == key.value) {
                Some(slot) => slot.1 = entry_value,
                None => result.push((key.value.clone(), entry_value)),
            }
            self.p.can_consume(",");
            keys.merge(Some(&key));
            values.merge(value.as_ref());
        }
        if self.p.previous.as_deref() == Some(",") {
            return Err(DataError::Logical(format!(
                "Map is missing element after ',': {}",
                self.p.original()
            )));
        }
        Err(DataError::Logical(format!(
            "Map is missing terminating '}}': {}",
            self.p.original()
        )))
    }
}

/// `Values.SchemaMerger`: the common schema of the elements seen, numeric types widening.
#[derive(Default)]
struct SchemaMerger {
    common: Option<Schema>,
    incompatible: bool,
}

impl SchemaMerger {
    fn merge(&mut self, latest: Option<&SchemaAndValue>) {
        let Some(schema) = latest.and_then(|l| l.schema.as_ref()) else {
            return;
        };
        if self.incompatible {
            return;
        }
        self.common = match self.common.take() {
            None => Some(schema.clone()),
            Some(prev) => {
                let merged = merge_schemas(&prev, schema);
                self.incompatible = merged.is_none();
                merged
            }
        };
    }
}

fn numeric_rank(t: Type) -> Option<u8> {
    Some(match t {
        Type::Int8 => 0,
        Type::Int16 => 1,
        Type::Int32 => 2,
        Type::Int64 => 3,
        Type::Float32 => 4,
        Type::Float64 => 5,
        _ => return None,
    })
}

/// `Values.mergeSchemas`: numeric types widen to the wider one; equal types keep the optional
/// one; anything else has no common schema.
fn merge_schemas(prev: &Schema, new: &Schema) -> Option<Schema> {
    if prev.type_() != new.type_() {
        let (a, b) = (numeric_rank(prev.type_())?, numeric_rank(new.type_())?);
        return Some(if b > a { new.clone() } else { prev.clone() });
    }
    if prev.is_optional() == new.is_optional() {
        return Some(if prev.is_optional() {
            prev.clone()
        } else {
            new.clone()
        });
    }
    (prev == new).then(|| prev.clone())
}

/// `Values.convertTo` for the cases parsing needs: numbers to the common numeric type,
/// everything else unchanged when it already fits.
fn convert_to(to: &Schema, value: Value) -> Result<Value, DataError> {
    if value.is_null() {
        if to.is_optional() {
            return Ok(Value::Null);
        }
        return Err(DataError::Logical(
            "Unable to convert a null value to a schema that requires a value".to_owned(),
        ));
    }
    if to.name().is_some() {
        return if crate::data::value::value_matches_schema_class(to, &value) {
            Ok(value)
        } else {
            Err(DataError::Logical(format!(
                "Unable to convert {} to {}",
                value.kind(),
                to
            )))
        };
    }
    let as_long = |v: &Value| -> Option<i64> {
        Some(match v {
            Value::Int8(x) => i64::from(*x),
            Value::Int16(x) => i64::from(*x),
            Value::Int32(x) => i64::from(*x),
            Value::Int64(x) => *x,
            Value::Float32(x) => *x as i64,
            Value::Float64(x) => *x as i64,
            _ => return None,
        })
    };
    let as_double = |v: &Value| -> Option<f64> {
        Some(match v {
            Value::Float32(x) => f64::from(*x),
            Value::Float64(x) => *x,
            other => as_long(other)? as f64,
        })
    };
    let err = |v: &Value| DataError::Logical(format!("Unable to convert {} to {}", v.kind(), to.type_()));
    Ok(match to.type_() {
        Type::Int8 => Value::Int8(as_long(&value).ok_or_else(|| err(&value))? as i8),
        Type::Int16 => Value::Int16(as_long(&value).ok_or_else(|| err(&value))? as i16),
        Type::Int32 => Value::Int32(as_long(&value).ok_or_else(|| err(&value))? as i32),
        Type::Int64 => Value::Int64(as_long(&value).ok_or_else(|| err(&value))?),
        Type::Float32 => Value::Float32(as_double(&value).ok_or_else(|| err(&value))? as f32),
        Type::Float64 => Value::Float64(as_double(&value).ok_or_else(|| err(&value))?),
        _ if crate::data::value::value_matches_schema_class(to, &value) => value,
        _ => return Err(err(&value)),
    })
}

/// `ValueParser.parseAsNumber`: the smallest integer type that holds an integral value, else
/// FLOAT32 if finite, else FLOAT64, else a Decimal.
fn parse_as_number(token: &str) -> Option<SchemaAndValue> {
    let d = BigDecimal::parse(token).ok()?;
    if d.is_integral() {
        let n = d.to_bigint_truncated();
        if let Some(v) = n.to_i128().and_then(|v| i64::try_from(v).ok()) {
            return Some(if let Ok(x) = i8::try_from(v) {
                SchemaAndValue::new(Some(Schema::INT8()), Value::Int8(x))
            } else if let Ok(x) = i16::try_from(v) {
                SchemaAndValue::new(Some(Schema::INT16()), Value::Int16(x))
            } else if let Ok(x) = i32::try_from(v) {
                SchemaAndValue::new(Some(Schema::INT32()), Value::Int32(x))
            } else {
                SchemaAndValue::new(Some(Schema::INT64()), Value::Int64(v))
            });
        }
    }
    let (f, dv) = (d.to_f32(), d.to_f64());
    if f.is_finite() && d.scale() != 0 {
        return Some(SchemaAndValue::new(Some(Schema::FLOAT32()), Value::Float32(f)));
    }
    if dv.is_finite() && d.scale() != 0 {
        return Some(SchemaAndValue::new(Some(Schema::FLOAT64()), Value::Float64(dv)));
    }
    let scale = d.scale();
    Some(SchemaAndValue::new(
        Some(logical::decimal_schema(scale)),
        Value::Decimal(d),
    ))
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let (y, m, d) = (digits(it.next()?)?, digits(it.next()?)?, digits(it.next()?)?);
    // SimpleDateFormat is lenient: month 13 is January next year, day 32 rolls over.
    let months = y * 12 + (m - 1);
    let (y2, m2) = (months.div_euclid(12), months.rem_euclid(12) + 1);
    Some(days_from_civil(y2, m2 as u32, 1) + d - 1)
}

fn parse_time(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let mut it = s.splitn(3, ':');
    let (h, m, rest) = (digits(it.next()?)?, digits(it.next()?)?, it.next()?);
    let (sec, ms) = rest.split_once('.')?;
    Some(((h * 60 + m) * 60 + digits(sec)?) * 1000 + digits(ms)?)
}

/// `ValueParser.parseAsTemporal`: by length, `HH:mm:ss.SSSZ` (13), `yyyy-MM-ddTHH:mm:ss.SSSZ`
/// (24) or `yyyy-MM-dd` (10); escaped colons (`\:`) allowed.
fn parse_as_temporal(token: &str) -> Option<SchemaAndValue> {
    let token = token.replace("\\:", ":");
    match token.chars().count() {
        13 => {
            let ms = parse_time(&token)?;
            let ms = logical::check_time_millis(ms).ok()?;
            Some(SchemaAndValue::new(Some(logical::time_schema()), Value::Time(ms)))
        }
        24 => {
            let (date, time) = token.split_once('T')?;
            let ms = parse_date(date)? * MILLIS_PER_DAY + parse_time(time)?;
            Some(SchemaAndValue::new(
                Some(logical::timestamp_schema()),
                Value::Timestamp(ms),
            ))
        }
        10 => {
            let days = i32::try_from(parse_date(&token)?).ok()?;
            Some(SchemaAndValue::new(
                Some(logical::date_schema()),
                Value::Date(days),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Struct;

    fn parse(s: &str) -> (Option<Schema>, Value) {
        let r = parse_string(s).unwrap();
        (r.schema, r.value)
    }

    #[test]
    fn numbers_infer_the_smallest_type() {
        assert_eq!(parse("42"), (Some(Schema::INT8()), Value::Int8(42)));
        assert_eq!(parse("1000"), (Some(Schema::INT16()), Value::Int16(1000)));
        assert_eq!(parse("-100000"), (Some(Schema::INT32()), Value::Int32(-100000)));
        assert_eq!(
            parse("10000000000"),
            (Some(Schema::INT64()), Value::Int64(10_000_000_000))
        );
        assert_eq!(parse("1.5"), (Some(Schema::FLOAT32()), Value::Float32(1.5)));
        assert_eq!(
            parse("1e39"),
            (Some(Schema::FLOAT64()), Value::Float64(1e39)),
            "beyond long and float"
        );
        assert_eq!(parse("1.5e39"), (Some(Schema::FLOAT64()), Value::Float64(1.5e39)));
        let (s, _) = parse("123456789012345678901234567890");
        assert_eq!(s, Some(logical::decimal_schema(0)));
    }

    #[test]
    fn literals_strings_and_fallbacks() {
        assert_eq!(parse("true"), (Some(Schema::BOOLEAN()), Value::Boolean(true)));
        assert_eq!(parse("null"), (None, Value::Null));
        assert_eq!(parse("true}"), (Some(Schema::STRING()), Value::from("true}")));
        assert_eq!(
            parse("hello world"),
            (Some(Schema::STRING()), Value::from("hello world"))
        );
        assert_eq!(parse(""), (Some(Schema::STRING()), Value::from("")));
        assert_eq!(
            parse("[1,"),
            (Some(Schema::STRING()), Value::from("[1,")),
            "bad array reverts to string"
        );
        assert_eq!(
            parse("[1, null]"),
            (Some(Schema::STRING()), Value::from("[1, null]"))
        );
    }

    #[test]
    fn arrays_and_maps_merge_element_schemas() {
        let (s, v) = parse("[1, 1000]");
        assert_eq!(s, Some(SchemaBuilder::array(Schema::INT16()).build()));
        assert_eq!(v, Value::Array(vec![Value::Int16(1), Value::Int16(1000)]));
        let (s, v) = parse("{\"a\":1,\"b\":2.5}");
        assert_eq!(
            s,
            Some(SchemaBuilder::map(Schema::STRING(), Schema::FLOAT32()).build())
        );
        assert_eq!(
            v,
            Value::Map(vec![
                (Value::from("a"), Value::Float32(1.0)),
                (Value::from("b"), Value::Float32(2.5))
            ])
        );
        let (s, _) = parse("[\"a\", 1]");
        assert_eq!(
            s,
            Some(SchemaBuilder::new(Type::Array).build()),
            "no common schema"
        );
    }

    #[test]
    fn temporals_round_trip() {
        for (text, value) in [
            ("2024-01-31", Value::Date(19_753)),
            ("12:30:00.000Z", Value::Time(45_000_000)),
            (
                "2024-01-31T12:30:00.001Z",
                Value::Timestamp(19_753 * 86_400_000 + 45_000_001),
            ),
        ] {
            assert_eq!(parse(text).1, value, "{text}");
            assert_eq!(convert_to_string(None, &value), text);
        }
    }

    #[test]
    fn to_string_of_composites() {
        let schema = SchemaBuilder::struct_()
            .field("a", Schema::STRING())
            .unwrap()
            .field("b", Schema::OPTIONAL_INT32())
            .unwrap()
            .build();
        let st = Struct::new(schema).unwrap().with("a", "x\"y").unwrap();
        assert_eq!(
            convert_to_string(None, &Value::Struct(st.clone())),
            "{\"a\":\"x\\\"y\",\"b\":null}"
        );
        assert_eq!(java_to_string(&Value::Struct(st)), "Struct{a=x\"y}");
        let arr = Value::Array(vec![
            Value::Int32(1),
            Value::from("s"),
            Value::Bytes(bytes::Bytes::from_static(b"hi")),
        ]);
        assert_eq!(convert_to_string(None, &arr), "[1,\"s\",\"aGk=\"]");
        assert_eq!(
            java_to_string(&Value::Timestamp(0)),
            "Thu Jan 01 00:00:00 UTC 1970"
        );
        assert_eq!(java_to_string(&Value::Float64(1e10)), "1.0E10");
    }
}
