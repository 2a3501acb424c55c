//! Helpers shared by the SMTs: Kafka's `Requirements` and `SchemaUtil`, the `$Key`/`$Value`
//! [`Side`], schemaless map access, and Java-compatible value printing.
//!
//! ```text
//!  record ──Side::schema/value──▶ (Option<Schema>, Value) ──SMT──▶ Side::set(record, ..)
//!                                   require_map / require_struct check the shape first
//! ```

use std::any::Any;
use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance, Parsed};
use crate::data::{ConnectRecord, Record, Schema, SchemaBuilder, SinkRecord, Struct, Value};

use super::TransformError;

/// Which half of the record a `$Key`/`$Value` transform works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `...$Key`: the record key and key schema.
    Key,
    /// `...$Value`: the record value and value schema.
    Value,
}

impl Side {
    /// `operatingSchema(record)`.
    pub fn schema(self, r: &ConnectRecord) -> Option<&Schema> {
        match self {
            Side::Key => r.key_schema.as_ref(),
            Side::Value => r.value_schema.as_ref(),
        }
    }

    /// `operatingValue(record)`.
    pub fn value(self, r: &ConnectRecord) -> &Value {
        match self {
            Side::Key => &r.key,
            Side::Value => &r.value,
        }
    }

    /// Takes the value out (leaving null), to transform it without a copy.
    pub fn take_value(self, r: &mut ConnectRecord) -> Value {
        match self {
            Side::Key => std::mem::take(&mut r.key),
            Side::Value => std::mem::take(&mut r.value),
        }
    }

    /// `newRecord(record, updatedSchema, updatedValue)`.
    pub fn set(self, r: &mut ConnectRecord, schema: Option<Schema>, value: Value) {
        match self {
            Side::Key => {
                r.key_schema = schema;
                r.key = value;
            }
            Side::Value => {
                r.value_schema = schema;
                r.value = value;
            }
        }
    }

    /// `Key` or `Value`, as Kafka's nested class names end.
    pub fn name(self) -> &'static str {
        match self {
            Side::Key => "Key",
            Side::Value => "Value",
        }
    }
}

/// The Java class name Kafka prints for a value (`Requirements.nullSafeClassName`).
pub fn java_class_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Int8(_) => "java.lang.Byte",
        Value::Int16(_) => "java.lang.Short",
        Value::Int32(_) => "java.lang.Integer",
        Value::Int64(_) => "java.lang.Long",
        Value::Float32(_) => "java.lang.Float",
        Value::Float64(_) => "java.lang.Double",
        Value::Boolean(_) => "java.lang.Boolean",
        Value::String(_) => "java.lang.String",
        Value::Bytes(_) => "[B",
        Value::Array(_) => "java.util.ArrayList",
        Value::Map(_) => "java.util.HashMap",
        Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
        Value::Decimal(_) => "java.math.BigDecimal",
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => "java.util.Date",
    }
}

/// `Requirements.requireSchema`.
pub fn require_schema<'a>(
    schema: Option<&'a Schema>,
    purpose: &'static str,
) -> Result<&'a Schema, TransformError> {
    schema.ok_or(TransformError::SchemaRequired { purpose })
}

/// `Requirements.requireMap`: a schemaless map.
pub fn require_map(v: Value, purpose: &'static str) -> Result<Vec<(Value, Value)>, TransformError> {
    match v {
        Value::Map(m) => Ok(m),
        other => Err(TransformError::MapRequired {
            purpose,
            found: java_class_name(&other),
        }),
    }
}

/// `Requirements.requireMapOrNull`.
pub fn require_map_or_null(
    v: Value,
    purpose: &'static str,
) -> Result<Option<Vec<(Value, Value)>>, TransformError> {
    match v {
        Value::Null => Ok(None),
        other => require_map(other, purpose).map(Some),
    }
}

/// `Requirements.requireStruct`.
pub fn require_struct(v: Value, purpose: &'static str) -> Result<Struct, TransformError> {
    match v {
        Value::Struct(s) => Ok(s),
        other => Err(TransformError::StructRequired {
            purpose,
            found: java_class_name(&other),
        }),
    }
}

/// `Requirements.requireStructOrNull`.
pub fn require_struct_or_null(v: Value, purpose: &'static str) -> Result<Option<Struct>, TransformError> {
    match v {
        Value::Null => Ok(None),
        other => require_struct(other, purpose).map(Some),
    }
}

/// The record as a `SinkRecord`, if it is one (`Requirements.requireSinkRecord` without the
/// error; offsets only exist on consumed records).
pub fn as_sink_record<R: Record>(record: &R) -> Option<&SinkRecord> {
    (record as &dyn Any).downcast_ref::<SinkRecord>()
}

/// A schemaless map entry by string key (`map.get(key)`); `None` when absent.
pub fn map_get<'a>(map: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    map.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
}

/// `map.put(key, value)`: replaces in place or appends.
pub fn map_put(map: &mut Vec<(Value, Value)>, key: &str, value: Value) {
    match map.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
        Some(slot) => slot.1 = value,
        None => map.push((Value::String(key.to_owned()), value)),
    }
}

/// `map.remove(key)`.
pub fn map_remove(map: &mut Vec<(Value, Value)>, key: &str) -> Option<Value> {
    let i = map.iter().position(|(k, _)| k.as_str() == Some(key))?;
    Some(map.remove(i).1)
}

/// A struct field's value with or without its schema default (`Struct.get` vs
/// `Struct.getWithoutDefault`), as `replace.null.with.default` (KIP-1040) chooses.
pub fn field_value(s: &Struct, index: usize, replace_null_with_default: bool) -> Value {
    if replace_null_with_default {
        s.get_by_index(index).clone()
    } else {
        s.values()[index].clone()
    }
}

/// `SchemaUtil.copySchemaBasics(source, builder)`: name, version, doc, parameters.
pub fn copy_schema_basics(source: &Schema, mut builder: SchemaBuilder) -> SchemaBuilder {
    if let Some(n) = source.name() {
        builder = builder.name(n);
    }
    if let Some(v) = source.version() {
        builder = builder.version(v);
    }
    if let Some(d) = source.doc() {
        builder = builder.doc(d);
    }
    if let Some(params) = source.parameters() {
        for (k, v) in params {
            builder = builder.parameter(k.clone(), v.clone());
        }
    }
    builder
}

/// `SchemaUtil.copySchemaBasics(source)` into a builder of the same type.
pub fn copy_struct_basics(source: &Schema) -> SchemaBuilder {
    copy_schema_basics(source, SchemaBuilder::struct_())
}

/// `SchemaUtil.copySchemaBasics(source)`: a builder of the same type (element schemas kept
/// for ARRAY and MAP) with the name, version, doc and parameters; not optionality or default.
pub fn copy_schema_basics_same_type(source: &Schema) -> SchemaBuilder {
    let b = match source.type_() {
        crate::data::Type::Array => match source.value_schema() {
            Some(v) => SchemaBuilder::array(v.clone()),
            None => SchemaBuilder::new(crate::data::Type::Array),
        },
        crate::data::Type::Map => match (source.key_schema(), source.value_schema()) {
            (Some(k), Some(v)) => SchemaBuilder::map(k.clone(), v.clone()),
            _ => SchemaBuilder::new(crate::data::Type::Map),
        },
        t => SchemaBuilder::new(t),
    };
    copy_schema_basics(source, b)
}

/// Standard Base64 with padding (`java.util.Base64.getEncoder()`).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// The `replace.null.with.default` key (KIP-1040), default true.
pub fn replace_null_with_default_key() -> ConfigKey {
    ConfigKey::new(
        "replace.null.with.default",
        ConfigType::Boolean,
        Some("true"),
        Importance::Medium,
        "Whether to replace fields that have a default value and that are null to the default value. \
         When set to true, the default value is used, otherwise null is used.",
    )
}

/// Parses `props` against `def`, turning the errors into a [`TransformError`].
pub fn parse(def: &ConfigDef, props: &BTreeMap<String, String>) -> Result<Parsed, TransformError> {
    Ok(def.parse(props)?)
}

/// A `ConfigException(name, value, message)`: `Invalid value V for configuration K: M`.
pub fn invalid(name: &str, value: &str, reason: impl std::fmt::Display) -> TransformError {
    TransformError::InvalidConfig(format!(
        "Invalid value {value} for configuration {name}: {reason}"
    ))
}

/// Java's `Double.toString` (Connect prints numbers this way when casting to string).
pub fn java_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let a = d.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{d}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // Scientific: mantissa with at least one fractional digit, `E` exponent.
        let s = format!("{d:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') {
            m.to_string()
        } else {
            format!("{m}.0")
        };
        format!("{m}E{e}")
    }
}

/// Java's `Float.toString`.
pub fn java_float(f: f32) -> String {
    if f.is_nan() || f.is_infinite() || f == 0.0 {
        return java_double(f64::from(f));
    }
    let a = f.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') {
            m.to_string()
        } else {
            format!("{m}.0")
        };
        format!("{m}E{e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_number_printing() {
        assert_eq!(java_double(42.0), "42.0");
        assert_eq!(java_double(42.5), "42.5");
        assert_eq!(java_double(1e10), "1.0E10");
        assert_eq!(java_double(1.5e-5), "1.5E-5");
        assert_eq!(java_float(3.25), "3.25");
        assert_eq!(java_float(-0.0), "-0.0");
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"hi!"), "aGkh");
        assert_eq!(base64(b"h"), "aA==");
    }

    #[test]
    fn requirements_use_kafkas_wording() {
        let e = require_map(Value::Int32(1), "field extraction").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only Map objects supported in absence of schema for [field extraction], found: java.lang.Integer"
        );
        let e = require_struct(Value::Null, "masking fields").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only Struct objects supported for [masking fields], found: null"
        );
        let mut m = Vec::new();
        map_put(&mut m, "a", Value::Int32(1));
        map_put(&mut m, "a", Value::Int32(2));
        assert_eq!(m.len(), 1);
        assert_eq!(map_get(&m, "a"), Some(&Value::Int32(2)));
        assert_eq!(map_remove(&mut m, "a"), Some(Value::Int32(2)));
        assert!(m.is_empty());
    }
}
