//! Connect values: [`Value`] (every Connect type plus the four logical types) and [`Struct`].
//!
//! ```text
//!  Value::Int32(7) ─┐
//!  Value::Struct ───┼──▶ Schema::validate_value ──▶ ok / DataError("... for field: \"x\"")
//!  Value::Decimal ──┘    (a Decimal-named BYTES schema wants Value::Decimal, as Connect's
//!                         LOGICAL_TYPE_CLASSES want a BigDecimal)
//! ```
//!
//! Java carries values as `Object`; here one enum does. Logical types get their own variants
//! (Connect's Java values are `BigDecimal` and `java.util.Date`, not the physical Integer/Long),
//! and BYTES values are `bytes::Bytes` so a record's payload is never copied to be wrapped.
//! Equality follows Java's `equals` as Connect uses it: floats compare by bits (`NaN == NaN`,
//! `0.0 != -0.0`), decimals by value and scale, maps ignore entry order.

use bytes::Bytes;

use super::decimal::BigDecimal;
use super::logical;
use super::schema::{Schema, Type};
use super::DataError;

/// A Connect value. `Null` stands for Java's `null` wherever Connect allows it (an optional
/// field, an array element, a tombstone's value).
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// INT8 (`Byte`).
    Int8(i8),
    /// INT16 (`Short`).
    Int16(i16),
    /// INT32 (`Integer`).
    Int32(i32),
    /// INT64 (`Long`).
    Int64(i64),
    /// FLOAT32 (`Float`).
    Float32(f32),
    /// FLOAT64 (`Double`).
    Float64(f64),
    /// BOOLEAN.
    Boolean(bool),
    /// STRING.
    String(String),
    /// BYTES (`byte[]`/`ByteBuffer`).
    Bytes(Bytes),
    /// ARRAY (`List`).
    Array(Vec<Value>),
    /// MAP (`Map`), entries in insertion order.
    Map(Vec<(Value, Value)>),
    /// STRUCT.
    Struct(Struct),
    /// Logical `Decimal` (BYTES underneath).
    Decimal(BigDecimal),
    /// Logical `Date`: days since the Unix epoch (INT32 underneath).
    Date(i32),
    /// Logical `Time`: milliseconds since midnight, 0..=86_400_000 (INT32 underneath).
    Time(i32),
    /// Logical `Timestamp`: milliseconds since the Unix epoch (INT64 underneath).
    Timestamp(i64),
}

impl Value {
    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The variant's name, used in error messages where Java prints a class name.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int8(_) => "Int8",
            Value::Int16(_) => "Int16",
            Value::Int32(_) => "Int32",
            Value::Int64(_) => "Int64",
            Value::Float32(_) => "Float32",
            Value::Float64(_) => "Float64",
            Value::Boolean(_) => "Boolean",
            Value::String(_) => "String",
            Value::Bytes(_) => "Bytes",
            Value::Array(_) => "Array",
            Value::Map(_) => "Map",
            Value::Struct(_) => "Struct",
            Value::Decimal(_) => "Decimal",
            Value::Date(_) => "Date",
            Value::Time(_) => "Time",
            Value::Timestamp(_) => "Timestamp",
        }
    }

    /// The Connect type a schemaless value has (`ConnectSchema.schemaType(value.getClass())`);
    /// `None` for null and the logical variants, which Connect never infers.
    pub fn schemaless_type(&self) -> Option<Type> {
        Some(match self {
            Value::Int8(_) => Type::Int8,
            Value::Int16(_) => Type::Int16,
            Value::Int32(_) => Type::Int32,
            Value::Int64(_) => Type::Int64,
            Value::Float32(_) => Type::Float32,
            Value::Float64(_) => Type::Float64,
            Value::Boolean(_) => Type::Boolean,
            Value::String(_) => Type::String,
            Value::Bytes(_) => Type::Bytes,
            Value::Array(_) => Type::Array,
            Value::Map(_) => Type::Map,
            Value::Struct(_) => Type::Struct,
            Value::Null | Value::Decimal(_) | Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
                return None
            }
        })
    }

    /// The string, if this is a STRING.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The struct, if this is a STRUCT.
    pub fn as_struct(&self) -> Option<&Struct> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A bytes value.
    pub fn bytes(b: impl Into<Bytes>) -> Value {
        Value::Bytes(b.into())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i8> for Value {
    fn from(v: i8) -> Self {
        Value::Int8(v)
    }
}
impl From<i16> for Value {
    fn from(v: i16) -> Self {
        Value::Int16(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int32(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int64(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float32(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float64(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}
impl From<Bytes> for Value {
    fn from(v: Bytes) -> Self {
        Value::Bytes(v)
    }
}
impl From<Struct> for Value {
    fn from(v: Struct) -> Self {
        Value::Struct(v)
    }
}
impl From<BigDecimal> for Value {
    fn from(v: BigDecimal) -> Self {
        Value::Decimal(v)
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Int8(a), Int8(b)) => a == b,
            (Int16(a), Int16(b)) => a == b,
            (Int32(a), Int32(b)) => a == b,
            (Int64(a), Int64(b)) => a == b,
            // Float.equals / Double.equals compare bit patterns (canonical NaN).
            (Float32(a), Float32(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (Float64(a), Float64(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (Boolean(a), Boolean(b)) => a == b,
            (String(a), String(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Array(a), Array(b)) => a == b,
            (Map(a), Map(b)) => map_eq(a, b),
            (Struct(a), Struct(b)) => a == b,
            (Decimal(a), Decimal(b)) => a == b,
            (Date(a), Date(b)) => a == b,
            (Time(a), Time(b)) => a == b,
            (Timestamp(a), Timestamp(b)) => a == b,
            _ => false,
        }
    }
}

/// `AbstractMap.equals`: same size and every entry of one found in the other. Maps are
/// usually small and usually in the same order, so try positional first.
fn map_eq(a: &[(Value, Value)], b: &[(Value, Value)]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a == b {
        return true;
    }
    a.iter().all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v == v2))
}

/// Does `value` have the representation `schema` asks for (`ConnectSchema.expectedClassesFor`):
/// logical names first, then the physical type.
pub(crate) fn value_matches_schema_class(schema: &Schema, value: &Value) -> bool {
    match schema.name() {
        Some(logical::DECIMAL_NAME) => return matches!(value, Value::Decimal(_)),
        Some(logical::DATE_NAME) => return matches!(value, Value::Date(_)),
        Some(logical::TIME_NAME) => return matches!(value, Value::Time(_)),
        Some(logical::TIMESTAMP_NAME) => return matches!(value, Value::Timestamp(_)),
        _ => {}
    }
    matches!(
        (schema.type_(), value),
        (Type::Int8, Value::Int8(_))
            | (Type::Int16, Value::Int16(_))
            | (Type::Int32, Value::Int32(_))
            | (Type::Int64, Value::Int64(_))
            | (Type::Float32, Value::Float32(_))
            | (Type::Float64, Value::Float64(_))
            | (Type::Boolean, Value::Boolean(_))
            | (Type::String, Value::String(_))
            | (Type::Bytes, Value::Bytes(_))
            | (Type::Array, Value::Array(_))
            | (Type::Map, Value::Map(_))
            | (Type::Struct, Value::Struct(_))
    )
}

/// A STRUCT value: a schema and one value per field (`org.apache.kafka.connect.data.Struct`).
/// `put` validates each value against its field; `validate` checks required fields are set.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    schema: Schema,
    values: Vec<Value>,
}

impl Struct {
    /// An empty struct for a STRUCT schema ("Not a struct schema" otherwise).
    pub fn new(schema: Schema) -> Result<Self, DataError> {
        if schema.type_() != Type::Struct {
            return Err(DataError::NotAStructSchema(schema.to_string()));
        }
        let values = vec![Value::Null; schema.fields().len()];
        Ok(Struct { schema, values })
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    fn index_of(&self, field: &str) -> Result<usize, DataError> {
        self.schema
            .field(field)
            .map(|f| f.index())
            .ok_or_else(|| DataError::NoSuchField(field.to_owned()))
    }

    /// Sets a field after validating the value against the field's schema.
    pub fn put(&mut self, field: &str, value: impl Into<Value>) -> Result<&mut Self, DataError> {
        let value = value.into();
        let i = self.index_of(field)?;
        self.schema.fields()[i]
            .schema()
            .validate_field_value(field, &value)?;
        self.values[i] = value;
        Ok(self)
    }

    /// Builder-style [`Struct::put`].
    pub fn with(mut self, field: &str, value: impl Into<Value>) -> Result<Self, DataError> {
        self.put(field, value)?;
        Ok(self)
    }

    /// A field's value, or its schema's default when unset/null (`Struct.get`).
    pub fn get(&self, field: &str) -> Result<&Value, DataError> {
        let i = self.index_of(field)?;
        Ok(self.get_by_index(i))
    }

    /// A field's value by position, default applied.
    pub fn get_by_index(&self, i: usize) -> &Value {
        let v = &self.values[i];
        if v.is_null() {
            if let Some(d) = self.schema.fields()[i].schema().default_value() {
                return d;
            }
        }
        v
    }

    /// A field's value as stored, without the default (`Struct.getWithoutDefault`).
    pub fn get_without_default(&self, field: &str) -> Result<&Value, DataError> {
        let i = self.index_of(field)?;
        Ok(&self.values[i])
    }

    /// The stored values in field order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// `Struct.validate()`: every field's value fits, null allowed where optional or defaulted.
    pub fn validate(&self) -> Result<(), DataError> {
        for (field, value) in self.schema.fields().iter().zip(&self.values) {
            let fs = field.schema();
            if value.is_null() && (fs.is_optional() || fs.default_value().is_some()) {
                continue;
            }
            fs.validate_field_value(field.name(), value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SchemaBuilder;

    fn person() -> Schema {
        SchemaBuilder::struct_()
            .name("Person")
            .field("name", Schema::STRING())
            .unwrap()
            .field(
                "age",
                SchemaBuilder::int32()
                    .optional()
                    .default_value(Value::Int32(18))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build()
    }

    #[test]
    fn struct_put_validates_and_get_applies_default() {
        let mut s = Struct::new(person()).unwrap();
        let e = s.put("name", 3i32).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value for schema with type STRING: Int32 for field: \"name\""
        );
        assert_eq!(
            s.put("nope", 1i32).unwrap_err().to_string(),
            "nope is not a valid field name"
        );
        let e = s.validate().unwrap_err();
        assert!(e.to_string().contains("field: \"name\""), "{e}");
        s.put("name", "ann").unwrap();
        s.validate().unwrap();
        assert_eq!(s.get("age").unwrap(), &Value::Int32(18));
        assert_eq!(s.get_without_default("age").unwrap(), &Value::Null);
        assert!(Struct::new(Schema::INT32()).is_err());
    }

    #[test]
    fn equality_follows_java() {
        assert_eq!(Value::Float64(f64::NAN), Value::Float64(f64::NAN));
        assert_ne!(Value::Float64(0.0), Value::Float64(-0.0));
        assert_ne!(Value::Int32(1), Value::Int64(1));
        let a = Value::Map(vec![(1i32.into(), "a".into()), (2i32.into(), "b".into())]);
        let b = Value::Map(vec![(2i32.into(), "b".into()), (1i32.into(), "a".into())]);
        assert_eq!(a, b);
        let c = Value::Map(vec![(2i32.into(), "b".into()), (1i32.into(), "c".into())]);
        assert_ne!(a, c);
        let s1 = Struct::new(person()).unwrap().with("name", "x").unwrap();
        let s2 = Struct::new(person()).unwrap().with("name", "x").unwrap();
        assert_eq!(s1, s2);
        assert_ne!(s1, Struct::new(person()).unwrap().with("name", "y").unwrap());
    }

    #[test]
    fn logical_schemas_want_logical_values() {
        let d = crate::data::logical::decimal_schema(2);
        assert!(d
            .validate_value(&Value::Bytes(Bytes::from_static(b"\x01")))
            .is_err());
        assert!(d
            .validate_value(&Value::Decimal(BigDecimal::from_i128(1, 2)))
            .is_ok());
        let e = crate::data::logical::date_schema()
            .validate_value(&Value::Int32(1))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value for schema \"org.apache.kafka.connect.data.Date\" with type INT32: Int32 for value"
        );
        assert!(crate::data::logical::timestamp_schema()
            .validate_value(&Value::Timestamp(5))
            .is_ok());
    }
}
