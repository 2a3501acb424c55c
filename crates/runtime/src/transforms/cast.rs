//! `Cast$Key` / `Cast$Value`: casts fields (`spec=f1:int32,f2:string`) or the whole key or
//! value (`spec=int64`) to another primitive type, with Java's conversions: numbers narrow
//! as Java's `Number.byteValue()` etc., booleans become 1/0, strings are parsed, bytes become
//! Base64 strings, logical Date/Time/Timestamp become their ISO text or their INT32/INT64
//! representation.
//!
//! ```text
//!  {"int8": 8, "float": 1.5} ── spec=int8:string,float:int32 ──▶ {"int8": "8", "float": 1}
//!  Struct{int8: INT8}        ── spec=int8:string ──────────────▶ Struct{int8: STRING}
//!  INT64 42                  ── spec=int32 ─────────────────────▶ INT32 42
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance, Validator};
use crate::data::{logical, Record, Schema, SchemaBuilder, Struct, Type, Value};

use super::datefmt::DateFormat;
use super::util::{
    base64, copy_schema_basics, copy_struct_basics, field_value, java_class_name, java_double, java_float,
    map_get, map_put, parse, replace_null_with_default_key, require_map, require_struct, Side,
};
use super::{TransformError, Transformation};

const PURPOSE: &str = "cast types";

const INPUT_TYPES: [Type; 9] = [
    Type::Int8,
    Type::Int16,
    Type::Int32,
    Type::Int64,
    Type::Float32,
    Type::Float64,
    Type::Boolean,
    Type::String,
    Type::Bytes,
];
const OUTPUT_TYPES: [Type; 8] = [
    Type::Int8,
    Type::Int16,
    Type::Int32,
    Type::Int64,
    Type::Float32,
    Type::Float64,
    Type::Boolean,
    Type::String,
];

fn type_list(types: &[Type]) -> String {
    format!(
        "[{}]",
        types.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
    )
}

fn type_by_name(name: &str) -> Option<Type> {
    [
        Type::Int8,
        Type::Int16,
        Type::Int32,
        Type::Int64,
        Type::Float32,
        Type::Float64,
        Type::Boolean,
        Type::String,
        Type::Bytes,
        Type::Array,
        Type::Map,
        Type::Struct,
    ]
    .into_iter()
    .find(|t| t.name().eq_ignore_ascii_case(name.trim()))
}

/// The parsed spec: a whole-value type, or per-field types.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    Whole(Type),
    Fields(Vec<(String, Type)>),
}

fn output_type(name: &str, whole: bool) -> Result<Type, String> {
    let t = type_by_name(name).ok_or_else(|| {
        if whole {
            format!(
                "No enum constant org.apache.kafka.connect.data.Schema.Type.{}",
                name.trim().to_uppercase()
            )
        } else {
            format!("Invalid type found in casting spec: {}", name.trim())
        }
    })?;
    if !OUTPUT_TYPES.contains(&t) {
        return Err(format!(
            "Cast transformation does not support casting to {t}; supported types are {}",
            type_list(&OUTPUT_TYPES)
        ));
    }
    Ok(t)
}

/// `parseFieldTypes`: the error is Kafka's message.
fn parse_spec(items: &[String]) -> Result<Spec, String> {
    if items.is_empty() {
        return Err("Must specify at least one field to cast.".into());
    }
    let mut fields = Vec::new();
    let mut whole = None;
    for m in items {
        let parts: Vec<&str> = m.split(':').collect();
        match parts[..] {
            [t] => whole = Some(output_type(t, true)?),
            [f, t] => fields.push((f.trim().to_owned(), output_type(t, false)?)),
            _ => return Err(format!("Invalid rename mapping: {m}")),
        }
    }
    match whole {
        Some(_) if items.len() > 1 => Err(
            "Cast transformations that specify a type to cast the entire value to may ony specify a single cast in \
             their spec"
                .into(),
        ),
        Some(t) => Ok(Spec::Whole(t)),
        None => Ok(Spec::Fields(fields)),
    }
}

/// `org.apache.kafka.connect.transforms.Cast$Key` / `$Value`.
#[derive(Debug, Clone)]
pub struct Cast {
    side: Side,
    spec: Spec,
    replace_null_with_default: bool,
}

impl Cast {
    /// Kafka's class name prefix (`$Key`/`$Value` appended).
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.Cast";

    /// The transform for one side of the record.
    pub fn new(side: Side) -> Self {
        Cast {
            side,
            spec: Spec::Fields(Vec::new()),
            replace_null_with_default: true,
        }
    }

    /// The keys: `spec` (required: `field:type,...` or one `type`), `replace.null.with.default`.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::required(
                    "spec",
                    ConfigType::List,
                    Importance::High,
                    "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields \
                     of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, \
                     int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string.",
                )
                .validate(Validator::Custom(Arc::new(|v: &ConfigValue| match v {
                    ConfigValue::List(items) => parse_spec(items).map(|_| ()),
                    _ => Ok(()),
                }))),
            )
            .define(replace_null_with_default_key())
    }

    fn field_type(&self, name: &str) -> Option<Type> {
        match &self.spec {
            Spec::Fields(f) => f.iter().find(|(n, _)| n == name).map(|(_, t)| *t),
            Spec::Whole(_) => None,
        }
    }
}

fn builder_for(t: Type) -> SchemaBuilder {
    SchemaBuilder::new(t)
}

fn out_of_range(v: &Value) -> TransformError {
    let shown = match v {
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    };
    TransformError::Data(format!(
        "Value ({shown}) was out of range for requested data type"
    ))
}

fn unexpected(v: &Value) -> TransformError {
    TransformError::Data(format!(
        "Unexpected type in Cast transformation: class {}",
        java_class_name(v)
    ))
}

/// `Values.dateFormatFor(date)` then format: a time-of-day, a date at midnight, or a timestamp.
fn iso_text(ms: i64) -> String {
    let pattern = if (0..logical::MILLIS_PER_DAY).contains(&ms) {
        "HH:mm:ss.SSS'Z'"
    } else if ms % logical::MILLIS_PER_DAY == 0 {
        "yyyy-MM-dd"
    } else {
        "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    };
    DateFormat::new(pattern).expect("valid pattern").format(ms)
}

/// A Java `Number`'s value as (long, double) for narrowing.
enum Num {
    Int(i64),
    Float(f64),
}

fn as_number(v: &Value) -> Option<Num> {
    Some(match v {
        Value::Int8(x) => Num::Int(i64::from(*x)),
        Value::Int16(x) => Num::Int(i64::from(*x)),
        Value::Int32(x) => Num::Int(i64::from(*x)),
        Value::Int64(x) => Num::Int(*x),
        Value::Float32(x) => Num::Float(f64::from(*x)),
        Value::Float64(x) => Num::Float(*x),
        // BigDecimal.longValue(): the integer part, low 64 bits.
        Value::Decimal(d) => Num::Int(d.to_bigint_truncated().low_i64()),
        _ => return None,
    })
}

/// `castValueToType`: `schema` is the value's schema when known.
fn cast_value(schema: Option<&Schema>, value: Value, target: Type) -> Result<Value, TransformError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let inferred = match schema {
        Some(s) => s.type_(),
        None => value.schemaless_type().ok_or_else(|| {
            TransformError::Data(format!(
                "Cast transformation was passed a value of type class {} which is not supported by Connect's data API",
                java_class_name(&value)
            ))
        })?,
    };
    if !INPUT_TYPES.contains(&inferred) {
        return Err(TransformError::Data(format!(
            "Cast transformation does not support casting from {inferred}; supported types are {}",
            type_list(&INPUT_TYPES)
        )));
    }
    // Logical Date/Time/Timestamp: to text for STRING, else their physical number.
    let value = match (target, value) {
        (Type::String, Value::Date(d)) => {
            return Ok(Value::String(iso_text(i64::from(d) * logical::MILLIS_PER_DAY)))
        }
        (Type::String, Value::Time(t)) => return Ok(Value::String(iso_text(i64::from(t)))),
        (Type::String, Value::Timestamp(t)) => return Ok(Value::String(iso_text(t))),
        (_, Value::Date(d)) => Value::Int32(d),
        (_, Value::Time(t)) => Value::Int32(t),
        (_, Value::Timestamp(t)) => Value::Int64(t),
        (_, v) => v,
    };
    let long = |v: &Value| -> Result<i64, TransformError> {
        match as_number(v) {
            Some(Num::Int(i)) => Ok(i),
            // Java's (long) double: saturating, NaN → 0 (Rust's `as` does the same).
            Some(Num::Float(f)) => Ok(f as i64),
            None => match v {
                Value::Boolean(b) => Ok(i64::from(*b)),
                _ => Err(unexpected(v)),
            },
        }
    };
    // Java's byteValue()/shortValue()/intValue(): via int for floating values, then wrap.
    let int = |v: &Value| -> Result<i32, TransformError> {
        match as_number(v) {
            Some(Num::Float(f)) => Ok(f as i32),
            _ => long(v).map(|l| l as i32),
        }
    };
    let parse_err = |v: &Value| out_of_range(v);
    Ok(match target {
        Type::Int8 => match &value {
            Value::String(s) => Value::Int8(s.parse().map_err(|_| parse_err(&value))?),
            v => Value::Int8(int(v)? as i8),
        },
        Type::Int16 => match &value {
            Value::String(s) => Value::Int16(s.parse().map_err(|_| parse_err(&value))?),
            v => Value::Int16(int(v)? as i16),
        },
        Type::Int32 => match &value {
            Value::String(s) => Value::Int32(s.parse().map_err(|_| parse_err(&value))?),
            v => Value::Int32(int(v)?),
        },
        Type::Int64 => match &value {
            Value::String(s) => Value::Int64(s.parse().map_err(|_| parse_err(&value))?),
            v => Value::Int64(long(v)?),
        },
        Type::Float32 => match &value {
            Value::String(s) => Value::Float32(s.trim().parse().map_err(|_| parse_err(&value))?),
            Value::Boolean(b) => Value::Float32(if *b { 1.0 } else { 0.0 }),
            Value::Decimal(d) => Value::Float32(d.to_f32()),
            v => match as_number(v) {
                Some(Num::Int(i)) => Value::Float32(i as f32),
                Some(Num::Float(f)) => Value::Float32(f as f32),
                None => return Err(unexpected(v)),
            },
        },
        Type::Float64 => match &value {
            Value::String(s) => Value::Float64(s.trim().parse().map_err(|_| parse_err(&value))?),
            Value::Boolean(b) => Value::Float64(if *b { 1.0 } else { 0.0 }),
            Value::Float32(f) => Value::Float64(f64::from(*f)),
            Value::Decimal(d) => Value::Float64(d.to_f64()),
            v => match as_number(v) {
                Some(Num::Int(i)) => Value::Float64(i as f64),
                Some(Num::Float(f)) => Value::Float64(f),
                None => return Err(unexpected(v)),
            },
        },
        Type::Boolean => match &value {
            Value::Boolean(b) => Value::Boolean(*b),
            Value::String(s) => Value::Boolean(s.eq_ignore_ascii_case("true")),
            v => Value::Boolean(long(v)? != 0),
        },
        Type::String => Value::String(match &value {
            Value::String(s) => s.clone(),
            Value::Bytes(b) => base64(b),
            Value::Int8(x) => x.to_string(),
            Value::Int16(x) => x.to_string(),
            Value::Int32(x) => x.to_string(),
            Value::Int64(x) => x.to_string(),
            Value::Float32(x) => java_float(*x),
            Value::Float64(x) => java_double(*x),
            Value::Boolean(x) => x.to_string(),
            Value::Decimal(d) => d.to_string(),
            v => return Err(unexpected(v)),
        }),
        other => {
            return Err(TransformError::Data(format!(
                "{other} is not supported in the Cast transformation."
            )))
        }
    })
}

impl<R: Record> Transformation<R> for Cast {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.spec = parse_spec(p.list("spec")).map_err(TransformError::InvalidConfig)?;
        self.replace_null_with_default = p.boolean("replace.null.with.default");
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        if self.side.value(record.record()).is_null() {
            return Ok(Some(record));
        }
        let r = record.record_mut();
        let schema = self.side.schema(r).cloned();
        let value = self.side.take_value(r);
        match (schema, &self.spec) {
            (None, Spec::Whole(t)) => {
                let v = cast_value(None, value, *t)?;
                self.side.set(r, None, v);
            }
            (None, Spec::Fields(fields)) => {
                let mut map = require_map(value, PURPOSE)?;
                for (f, t) in fields {
                    let v = map_get(&map, f).cloned().unwrap_or(Value::Null);
                    let cast = cast_value(None, v, *t)?;
                    map_put(&mut map, f, cast);
                }
                self.side.set(r, None, Value::Map(map));
            }
            (Some(schema), Spec::Whole(t)) => {
                let mut b = copy_schema_basics(&schema, builder_for(*t));
                if schema.is_optional() {
                    b = b.optional();
                }
                if let Some(d) = schema.default_value() {
                    b = b.default_value(cast_value(Some(&schema), d.clone(), *t)?)?;
                }
                let v = cast_value(Some(&schema), value, *t)?;
                self.side.set(r, Some(b.build()), v);
            }
            (Some(schema), Spec::Fields(_)) => {
                let s = require_struct(value, PURPOSE)?;
                let mut b = copy_struct_basics(&schema);
                for f in schema.fields() {
                    let fs = f.schema();
                    match self.field_type(f.name()) {
                        Some(t) => {
                            let mut fb = builder_for(t);
                            if fs.is_optional() {
                                fb = fb.optional();
                            }
                            if let Some(d) = fs.default_value() {
                                fb = fb.default_value(cast_value(Some(fs), d.clone(), t)?)?;
                            }
                            b = b.field(f.name(), fb.build())?;
                        }
                        None => b = b.field(f.name(), fs.clone())?,
                    }
                }
                if schema.is_optional() {
                    b = b.optional();
                }
                let updated = b.build();
                let mut out = Struct::new(updated.clone())?;
                for f in schema.fields() {
                    let v = field_value(&s, f.index(), self.replace_null_with_default);
                    let v = match self.field_type(f.name()) {
                        Some(t) => cast_value(Some(f.schema()), v, t)?,
                        None => v,
                    };
                    out.put(f.name(), v)?;
                }
                self.side.set(r, Some(updated), Value::Struct(out));
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{BigDecimal, SinkRecord};
    use crate::transforms::test_support::{props, sink, smap};
    use bytes::Bytes;

    fn xform(side: Side, spec: &str) -> Cast {
        let mut t = Cast::new(side);
        Transformation::<SinkRecord>::configure(&mut t, &props(&[("spec", spec)])).unwrap();
        t
    }

    fn config_err(spec: &str) -> String {
        let mut t = Cast::new(Side::Value);
        Transformation::<SinkRecord>::configure(&mut t, &props(&[("spec", spec)]))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn config_errors() {
        assert_eq!(
            config_err(""),
            "Invalid value  for configuration spec: Must specify at least one field to cast."
        );
        assert_eq!(
            config_err("foo:faketype"),
            "Invalid value foo:faketype for configuration spec: Invalid type found in casting spec: faketype"
        );
        assert_eq!(
            config_err("int8,int32"),
            "Invalid value int8,int32 for configuration spec: Cast transformations that specify a type to cast \
             the entire value to may ony specify a single cast in their spec"
        );
        assert_eq!(
            config_err("foo:int64:extra"),
            "Invalid value foo:int64:extra for configuration spec: Invalid rename mapping: foo:int64:extra"
        );
        assert_eq!(
            config_err("foo:array"),
            "Invalid value foo:array for configuration spec: Cast transformation does not support casting to \
             ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"
        );
    }

    #[test]
    fn whole_value_casts() {
        let cases: Vec<(&str, Option<Schema>, Value, Value)> = vec![
            ("int8", Some(Schema::INT32()), Value::Int32(42), Value::Int8(42)),
            ("int16", None, Value::Int32(42), Value::Int16(42)),
            ("int32", None, Value::Float64(42.9), Value::Int32(42)),
            (
                "int64",
                Some(Schema::BOOLEAN()),
                Value::Boolean(true),
                Value::Int64(1),
            ),
            ("float32", None, Value::Int32(42), Value::Float32(42.0)),
            ("float64", None, Value::from("42.5"), Value::Float64(42.5)),
            ("boolean", None, Value::Int32(42), Value::Boolean(true)),
            ("boolean", None, Value::Int32(0), Value::Boolean(false)),
            ("boolean", None, Value::from("TRUE"), Value::Boolean(true)),
            ("string", None, Value::Int32(42), Value::from("42")),
            ("string", None, Value::Float64(42.0), Value::from("42.0")),
            (
                "string",
                Some(Schema::BYTES()),
                Value::Bytes(Bytes::from_static(b"hello")),
                Value::from("aGVsbG8="),
            ),
            ("int8", None, Value::Int32(300), Value::Int8(44)),
            (
                "int32",
                Some(logical::decimal_schema(2)),
                Value::Decimal(BigDecimal::from_i128(4299, 2)),
                Value::Int32(42),
            ),
            (
                "string",
                Some(logical::decimal_schema(2)),
                Value::Decimal(BigDecimal::from_i128(4299, 2)),
                Value::from("42.99"),
            ),
            (
                "int64",
                Some(logical::timestamp_schema()),
                Value::Timestamp(1_483_425_001_864),
                Value::Int64(1_483_425_001_864),
            ),
            (
                "string",
                Some(logical::timestamp_schema()),
                Value::Timestamp(1_483_425_001_864),
                Value::from("2017-01-03T06:30:01.864Z"),
            ),
            (
                "string",
                Some(logical::date_schema()),
                Value::Date(17_169),
                Value::from("2017-01-03"),
            ),
            (
                "string",
                Some(logical::time_schema()),
                Value::Time(3_723_004),
                Value::from("01:02:03.004Z"),
            ),
        ];
        for (spec, schema, input, expected) in cases {
            let mut t = xform(Side::Value, spec);
            let out = t
                .apply(sink(None, Value::Null, schema.clone(), input.clone()))
                .unwrap_or_else(|e| panic!("{spec} {input:?}: {e}"))
                .unwrap();
            assert_eq!(out.record.value, expected, "{spec} {input:?}");
            if schema.is_some() {
                assert_eq!(
                    out.record.value_schema.unwrap().type_(),
                    expected.schemaless_type().unwrap()
                );
            }
        }
    }

    #[test]
    fn whole_value_errors() {
        let mut t = xform(Side::Key, "int32");
        let e = t
            .apply(sink(None, Value::from("abc"), None, Value::Null))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Value (abc) was out of range for requested data type"
        );
        let e = t.apply(sink(None, smap(vec![]), None, Value::Null)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cast transformation does not support casting from MAP; supported types are [INT8, INT16, INT32, \
             INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"
        );
        let e = t
            .apply(sink(
                Some(Schema::BYTES()),
                Value::Bytes(Bytes::from_static(b"x")),
                None,
                Value::Null,
            ))
            .unwrap_err();
        assert_eq!(e.to_string(), "Unexpected type in Cast transformation: class [B");
    }

    #[test]
    fn schemaless_fields() {
        let mut t = xform(
            Side::Value,
            "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,string:int32,missing:int8",
        );
        let v = smap(vec![
            ("int8", Value::Int8(8)),
            ("int16", Value::Int16(16)),
            ("int32", Value::Int32(32)),
            ("int64", Value::Int64(64)),
            ("float32", Value::Float32(32.0)),
            ("string", Value::from("42")),
            ("other", Value::from("kept")),
        ]);
        let out = t.apply(sink(None, Value::Null, None, v)).unwrap().unwrap();
        assert_eq!(
            out.record.value,
            smap(vec![
                ("int8", Value::Int16(8)),
                ("int16", Value::Int32(16)),
                ("int32", Value::Int64(32)),
                ("int64", Value::Boolean(true)),
                ("float32", Value::Float64(32.0)),
                ("string", Value::Int32(42)),
                ("other", Value::from("kept")),
                ("missing", Value::Null),
            ])
        );
    }

    #[test]
    fn struct_fields_with_optional_and_defaults() {
        let vs = SchemaBuilder::struct_()
            .field("int8", Schema::INT8())
            .unwrap()
            .field("opt", SchemaBuilder::int32().optional().build())
            .unwrap()
            .field(
                "def",
                SchemaBuilder::int32()
                    .default_value(Value::Int32(7))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .field("keep", Schema::STRING())
            .unwrap()
            .build();
        let v = Struct::new(vs.clone())
            .unwrap()
            .with("int8", 8i8)
            .unwrap()
            .with("keep", "k")
            .unwrap();
        let mut t = xform(Side::Value, "int8:string,opt:string,def:int64");
        let out = t
            .apply(sink(None, Value::Null, Some(vs), v.into()))
            .unwrap()
            .unwrap();
        let s = out.record.value_schema.clone().unwrap();
        assert_eq!(s.field("int8").unwrap().schema(), &Schema::STRING());
        assert_eq!(s.field("opt").unwrap().schema(), &Schema::OPTIONAL_STRING());
        assert_eq!(
            s.field("def").unwrap().schema().default_value(),
            Some(&Value::Int64(7))
        );
        assert_eq!(s.field("keep").unwrap().schema(), &Schema::STRING());
        let v = out.record.value.as_struct().unwrap();
        assert_eq!(v.get("int8").unwrap(), &Value::from("8"));
        assert_eq!(v.get("opt").unwrap(), &Value::Null);
        assert_eq!(v.get("def").unwrap(), &Value::Int64(7));
        assert_eq!(v.get("keep").unwrap(), &Value::from("k"));
    }
}
