//! `TimestampConverter$Key` / `TimestampConverter$Value`: converts a timestamp (the whole
//! key/value, or the field `field`) between `string` (a SimpleDateFormat `format`, UTC),
//! `unix` (a Long in `unix.precision`), and Connect's `Date`, `Time` and `Timestamp`.
//!
//! ```text
//!  source ──toRaw──▶ epoch ms ──toType──▶ target.type
//!  "2017-01-03" (format=yyyy-MM-dd) ─▶ 1483401600000 ─▶ Timestamp / unix 1483401600 (seconds) / Date / Time
//! ```
//! The source type comes from the schema (logical name, STRING, INT64) or, schemaless, from
//! the value (Date-like, Long, String).

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use crate::data::{logical, Record, Schema, Struct, Type, Value};

use super::datefmt::DateFormat;
use super::util::{
    copy_struct_basics, field_value, java_class_name, map_get, map_put, parse, replace_null_with_default_key,
    require_map, require_struct_or_null, Side,
};
use super::{TransformError, Transformation};

const PURPOSE: &str = "converting timestamp formats";

/// A timestamp representation (`target.type` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            "Timestamp" => Kind::Timestamp,
            _ => return None,
        })
    }

    fn schema(self, optional: bool) -> Schema {
        let b = match self {
            Kind::String => {
                return if optional {
                    Schema::OPTIONAL_STRING()
                } else {
                    Schema::STRING()
                }
            }
            Kind::Unix => {
                return if optional {
                    Schema::OPTIONAL_INT64()
                } else {
                    Schema::INT64()
                }
            }
            Kind::Date => logical::date_builder(),
            Kind::Time => logical::time_builder(),
            Kind::Timestamp => logical::timestamp_builder(),
        };
        if optional {
            b.optional().build()
        } else {
            b.build()
        }
    }
}

/// `unix.precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

/// `org.apache.kafka.connect.transforms.TimestampConverter$Key` / `$Value`.
#[derive(Debug, Clone)]
pub struct TimestampConverter {
    side: Side,
    field: String,
    target: Kind,
    format: Option<DateFormat>,
    precision: Precision,
    replace_null_with_default: bool,
}

impl TimestampConverter {
    /// Kafka's class name prefix (`$Key`/`$Value` appended).
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.TimestampConverter";

    /// The transform for one side of the record.
    pub fn new(side: Side) -> Self {
        TimestampConverter {
            side,
            field: String::new(),
            target: Kind::Timestamp,
            format: None,
            precision: Precision::Millis,
            replace_null_with_default: true,
        }
    }

    /// The keys: `field` (""), `target.type` (required), `format` (""), `unix.precision`
    /// (`milliseconds`), `replace.null.with.default`.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new(
                "field",
                ConfigType::String,
                Some(""),
                Importance::High,
                "The field containing the timestamp, or empty if the entire value is a timestamp",
            ))
            .define(
                ConfigKey::required(
                    "target.type",
                    ConfigType::String,
                    Importance::High,
                    "The desired timestamp representation: string, unix, Date, Time, or Timestamp",
                )
                .validate(Validator::OneOf(&["string", "unix", "Date", "Time", "Timestamp"])),
            )
            .define(ConfigKey::new(
                "format",
                ConfigType::String,
                Some(""),
                Importance::Medium,
                "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string \
                 or used to parse the input if the input is a string.",
            ))
            .define(
                ConfigKey::new(
                    "unix.precision",
                    ConfigType::String,
                    Some("milliseconds"),
                    Importance::Low,
                    "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or \
                     nanoseconds. Used to generate the output when type=unix or used to parse the input if the input \
                     is a Long.Note: This SMT will cause precision loss during conversions from, and to, values with \
                     sub-millisecond components.",
                )
                .validate(Validator::OneOf(&["nanoseconds", "microseconds", "milliseconds", "seconds"])),
            )
            .define(replace_null_with_default_key())
    }

    /// `toRaw`: the instant, in ms since the epoch.
    fn to_raw(&self, kind: Kind, v: &Value) -> Result<i64, TransformError> {
        let found = || format!("class {}", java_class_name(v));
        match kind {
            Kind::String => {
                let Value::String(s) = v else {
                    return Err(TransformError::Data(format!(
                        "Expected string timestamp to be a String, but found {}",
                        found()
                    )));
                };
                let f = self.format.as_ref().ok_or_else(|| {
                    TransformError::InvalidConfig(
                        "TimestampConverter requires format option to be specified when using string timestamps"
                            .into(),
                    )
                })?;
                f.parse(s).map_err(|_| {
                    TransformError::Data(format!(
                        "Could not parse timestamp: value ({s}) does not match pattern ({})",
                        f.pattern()
                    ))
                })
            }
            Kind::Unix => {
                let Value::Int64(t) = v else {
                    return Err(TransformError::Data(format!(
                        "Expected Unix timestamp to be a Long, but found {}",
                        found()
                    )));
                };
                // TimeUnit.X.toMillis truncates toward zero (and saturates).
                Ok(match self.precision {
                    Precision::Seconds => t.saturating_mul(1000),
                    Precision::Millis => *t,
                    Precision::Micros => t / 1000,
                    Precision::Nanos => t / 1_000_000,
                })
            }
            Kind::Date | Kind::Time | Kind::Timestamp => match v {
                Value::Date(d) => Ok(i64::from(*d) * logical::MILLIS_PER_DAY),
                Value::Time(t) => Ok(i64::from(*t)),
                Value::Timestamp(t) => Ok(*t),
                _ => Err(TransformError::Data(format!(
                    "Expected {} to be a java.util.Date, but found {}",
                    match kind {
                        Kind::Date => "Date",
                        Kind::Time => "Time",
                        _ => "Timestamp",
                    },
                    found()
                ))),
            },
        }
    }

    /// `toType`.
    fn to_type(&self, ms: i64) -> Result<Value, TransformError> {
        Ok(match self.target {
            Kind::String => Value::String(
                self.format
                    .as_ref()
                    .expect("configure requires a format for string targets")
                    .format(ms),
            ),
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => ms / 1000,
                Precision::Millis => ms,
                Precision::Micros => ms.saturating_mul(1000),
                Precision::Nanos => ms.saturating_mul(1_000_000),
            }),
            Kind::Date => Value::Date(ms.div_euclid(logical::MILLIS_PER_DAY) as i32),
            Kind::Time => Value::Time(ms.rem_euclid(logical::MILLIS_PER_DAY) as i32),
            Kind::Timestamp => Value::Timestamp(ms),
        })
    }

    fn convert(&self, v: Value, source: Option<Kind>) -> Result<Value, TransformError> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        let source = match source {
            Some(k) => k,
            None => match &v {
                Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => Kind::Timestamp,
                Value::Int64(_) => Kind::Unix,
                Value::String(_) => Kind::String,
                other => {
                    return Err(TransformError::Data(format!(
                        "TimestampConverter does not support class {} objects as timestamps",
                        java_class_name(other)
                    )))
                }
            },
        };
        let raw = self.to_raw(source, &v)?;
        self.to_type(raw)
    }
}

/// `timestampTypeFromSchema`.
fn kind_from_schema(s: &Schema) -> Result<Kind, TransformError> {
    Ok(match (s.name(), s.type_()) {
        (Some(logical::TIMESTAMP_NAME), _) => Kind::Timestamp,
        (Some(logical::DATE_NAME), _) => Kind::Date,
        (Some(logical::TIME_NAME), _) => Kind::Time,
        (_, Type::String) => Kind::String,
        (_, Type::Int64) => Kind::Unix,
        _ => {
            return Err(TransformError::Data(format!(
                "Schema {s} does not correspond to a known timestamp type format"
            )))
        }
    })
}

impl<R: Record> Transformation<R> for TimestampConverter {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.field = p.string("field").unwrap_or_default().to_owned();
        self.target = Kind::parse(p.string("target.type").unwrap_or_default()).unwrap_or(Kind::Timestamp);
        let pattern = p.string("format").unwrap_or_default();
        if self.target == Kind::String && pattern.trim().is_empty() {
            return Err(TransformError::InvalidConfig(
                "TimestampConverter requires format option to be specified when using string timestamps"
                    .into(),
            ));
        }
        self.format = if pattern.trim().is_empty() {
            None
        } else {
            Some(DateFormat::new(pattern).map_err(|_| {
                TransformError::InvalidConfig(format!(
                    "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {pattern}"
                ))
            })?)
        };
        self.precision = match p.string("unix.precision") {
            Some("seconds") => Precision::Seconds,
            Some("microseconds") => Precision::Micros,
            Some("nanoseconds") => Precision::Nanos,
            _ => Precision::Millis,
        };
        self.replace_null_with_default = p.boolean("replace.null.with.default");
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let r = record.record_mut();
        let schema = self.side.schema(r).cloned();
        let value = self.side.take_value(r);
        match schema {
            None if self.field.is_empty() || value.is_null() => {
                let v = self.convert(value, None)?;
                self.side.set(r, None, v);
            }
            None => {
                let mut map = require_map(value, PURPOSE)?;
                let v = map_get(&map, &self.field).cloned().unwrap_or(Value::Null);
                let converted = self.convert(v, None)?;
                map_put(&mut map, &self.field, converted);
                self.side.set(r, None, Value::Map(map));
            }
            Some(schema) if self.field.is_empty() => {
                let v = self.convert(value, Some(kind_from_schema(&schema)?))?;
                self.side
                    .set(r, Some(self.target.schema(schema.is_optional())), v);
            }
            Some(schema) => {
                let s = require_struct_or_null(value, PURPOSE)?;
                let mut b = copy_struct_basics(&schema);
                for f in schema.fields() {
                    let fs = if f.name() == self.field {
                        self.target.schema(f.schema().is_optional())
                    } else {
                        f.schema().clone()
                    };
                    b = b.field(f.name(), fs)?;
                }
                if schema.is_optional() {
                    b = b.optional();
                }
                let updated = b.build();
                let out = match s {
                    None => Value::Null,
                    Some(s) => {
                        let mut out = Struct::new(updated.clone())?;
                        for f in schema.fields() {
                            let v = field_value(&s, f.index(), self.replace_null_with_default);
                            let v = if f.name() == self.field {
                                self.convert(v, Some(kind_from_schema(f.schema())?))?
                            } else {
                                v
                            };
                            out.put(f.name(), v)?;
                        }
                        Value::Struct(out)
                    }
                };
                self.side.set(r, Some(updated), out);
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SchemaBuilder, SinkRecord};
    use crate::transforms::test_support::{props, sink, smap};

    // TimestampConverterTest's instant: 2017-01-03T01:02:03.004Z.
    const DATE_PLUS_TIME: i64 = 1_483_405_323_004;
    const DATE: i64 = 1_483_401_600_000;
    const TIME: i32 = 3_723_004;
    const FMT: &str = "yyyy MM dd HH:mm:ss SSS z";
    const STRING: &str = "2017 01 03 01:02:03 004 UTC";

    fn xform(side: Side, kv: &[(&str, &str)]) -> TimestampConverter {
        let mut t = TimestampConverter::new(side);
        Transformation::<SinkRecord>::configure(&mut t, &props(kv)).unwrap();
        t
    }

    fn value_of(t: &mut TimestampConverter, schema: Option<Schema>, v: Value) -> (Option<Schema>, Value) {
        let out = t.apply(sink(None, Value::Null, schema, v)).unwrap().unwrap();
        (out.record.value_schema, out.record.value)
    }

    #[test]
    fn schemaless_conversions() {
        let mut t = xform(Side::Value, &[("target.type", "Timestamp"), ("format", FMT)]);
        assert_eq!(
            value_of(&mut t, None, Value::from(STRING)).1,
            Value::Timestamp(DATE_PLUS_TIME)
        );
        assert_eq!(
            value_of(&mut t, None, Value::Int64(DATE_PLUS_TIME)).1,
            Value::Timestamp(DATE_PLUS_TIME)
        );
        let mut t = xform(Side::Value, &[("target.type", "Date")]);
        assert_eq!(
            value_of(&mut t, None, Value::Timestamp(DATE_PLUS_TIME)).1,
            Value::Date(17_169)
        );
        let mut t = xform(Side::Value, &[("target.type", "Time")]);
        assert_eq!(
            value_of(&mut t, None, Value::Timestamp(DATE_PLUS_TIME)).1,
            Value::Time(TIME)
        );
        let mut t = xform(Side::Value, &[("target.type", "unix")]);
        assert_eq!(
            value_of(&mut t, None, Value::Timestamp(DATE_PLUS_TIME)).1,
            Value::Int64(DATE_PLUS_TIME)
        );
        let mut t = xform(Side::Value, &[("target.type", "string"), ("format", FMT)]);
        assert_eq!(
            value_of(&mut t, None, Value::Timestamp(DATE_PLUS_TIME)).1,
            Value::from(STRING)
        );
        assert_eq!(value_of(&mut t, None, Value::Null).1, Value::Null);
    }

    #[test]
    fn unix_precisions() {
        let mut t = xform(
            Side::Value,
            &[("target.type", "unix"), ("unix.precision", "seconds")],
        );
        assert_eq!(
            value_of(&mut t, None, Value::Timestamp(DATE_PLUS_TIME)).1,
            Value::Int64(1_483_405_323)
        );
        let mut t = xform(
            Side::Value,
            &[("target.type", "unix"), ("unix.precision", "microseconds")],
        );
        assert_eq!(
            value_of(&mut t, None, Value::Timestamp(DATE_PLUS_TIME)).1,
            Value::Int64(DATE_PLUS_TIME * 1000)
        );
        let mut t = xform(
            Side::Value,
            &[("target.type", "Timestamp"), ("unix.precision", "nanoseconds")],
        );
        assert_eq!(
            value_of(&mut t, None, Value::Int64(DATE_PLUS_TIME * 1_000_000 + 999)).1,
            Value::Timestamp(DATE_PLUS_TIME)
        );
        let mut t = xform(
            Side::Value,
            &[("target.type", "Timestamp"), ("unix.precision", "seconds")],
        );
        assert_eq!(
            value_of(&mut t, None, Value::Int64(1_483_405_323)).1,
            Value::Timestamp(DATE_PLUS_TIME - 4)
        );
    }

    #[test]
    fn with_schema_whole_value() {
        let mut t = xform(Side::Value, &[("target.type", "Date")]);
        let (s, v) = value_of(
            &mut t,
            Some(logical::timestamp_schema()),
            Value::Timestamp(DATE_PLUS_TIME),
        );
        assert_eq!(s, Some(logical::date_schema()));
        assert_eq!(v, Value::Date((DATE / logical::MILLIS_PER_DAY) as i32));
        let mut t = xform(Side::Value, &[("target.type", "string"), ("format", FMT)]);
        let (s, v) = value_of(
            &mut t,
            Some(logical::timestamp_builder().optional().build()),
            Value::Timestamp(DATE_PLUS_TIME),
        );
        assert_eq!((s, v), (Some(Schema::OPTIONAL_STRING()), Value::from(STRING)));
        let mut t = xform(Side::Value, &[("target.type", "Timestamp")]);
        let e = t
            .apply(sink(None, Value::Null, Some(Schema::INT32()), Value::Int32(1)))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Schema Schema{INT32} does not correspond to a known timestamp type format"
        );
    }

    #[test]
    fn with_schema_field() {
        let vs = SchemaBuilder::struct_()
            .field("ts", Schema::INT64())
            .unwrap()
            .field("other", Schema::STRING())
            .unwrap()
            .build();
        let v = Struct::new(vs.clone())
            .unwrap()
            .with("ts", DATE_PLUS_TIME)
            .unwrap()
            .with("other", "x")
            .unwrap();
        let mut t = xform(Side::Value, &[("target.type", "Timestamp"), ("field", "ts")]);
        let (s, v) = value_of(&mut t, Some(vs), v.into());
        let s = s.unwrap();
        assert_eq!(s.field("ts").unwrap().schema(), &logical::timestamp_schema());
        let v = v.as_struct().unwrap().clone();
        assert_eq!(v.get("ts").unwrap(), &Value::Timestamp(DATE_PLUS_TIME));
        assert_eq!(v.get("other").unwrap(), &Value::from("x"));
        // Schemaless field.
        let mut t = xform(Side::Value, &[("target.type", "Date"), ("field", "ts")]);
        let (_, v) = value_of(&mut t, None, smap(vec![("ts", Value::Timestamp(DATE_PLUS_TIME))]));
        assert_eq!(v, smap(vec![("ts", Value::Date(17_169))]));
    }

    #[test]
    fn key_side_leaves_the_value_alone() {
        let mut t = xform(Side::Key, &[("target.type", "Timestamp")]);
        let out = t
            .apply(sink(
                Some(Schema::INT64()),
                Value::Int64(DATE_PLUS_TIME),
                None,
                Value::from("v"),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.key_schema, Some(logical::timestamp_schema()));
        assert_eq!(out.record.key, Value::Timestamp(DATE_PLUS_TIME));
        assert_eq!(
            (out.record.value_schema, out.record.value),
            (None, Value::from("v"))
        );
    }

    #[test]
    fn errors() {
        let mut t = TimestampConverter::new(Side::Value);
        let e = Transformation::<SinkRecord>::configure(&mut t, &props(&[("target.type", "string")]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "TimestampConverter requires format option to be specified when using string timestamps"
        );
        let e = Transformation::<SinkRecord>::configure(&mut t, &props(&[("target.type", "invalid")]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value invalid for configuration target.type: String must be one of: string, unix, Date, Time, Timestamp"
        );
        let e = Transformation::<SinkRecord>::configure(
            &mut t,
            &props(&[("target.type", "unix"), ("format", "bad-format-b")]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: bad-format-b"
        );
        let mut t = xform(
            Side::Value,
            &[("target.type", "Timestamp"), ("format", "yyyy-MM-dd")],
        );
        let e = t
            .apply(sink(None, Value::Null, None, Value::from("nope")))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Could not parse timestamp: value (nope) does not match pattern (yyyy-MM-dd)"
        );
        let e = t
            .apply(sink(None, Value::Null, None, Value::Int32(1)))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "TimestampConverter does not support class java.lang.Integer objects as timestamps"
        );
    }
}
