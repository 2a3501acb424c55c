//! Kafka Connect's data model (`org.apache.kafka.connect.data`, `...connect.header`,
//! `ConnectRecord`/`SourceRecord`/`SinkRecord`).
//!
//! ```text
//!   source task ──▶ SourceRecord ─┐                         ┌─▶ SinkRecord ──▶ sink task
//!                                 │  ConnectRecord {        │
//!                                 └▶   key/value: Value,   ─┘
//!                                      key/value_schema: Schema, headers: Headers }
//!                                            │ ▲
//!                                  convert:: │ │ (JsonConverter, StringConverter, ...)
//!                                            ▼ │
//!                                        bytes on Kafka
//! ```
//!
//! Module map: [`schema`] (Type, Schema, SchemaBuilder, Field, validation), [`value`] (Value,
//! Struct), [`decimal`] (BigDecimal for the Decimal logical type), [`logical`] (Decimal, Date,
//! Time, Timestamp), [`headers`], [`record`], [`values`] (`Values.convertToString` and
//! `Values.parseString`, used by SimpleHeaderConverter).

pub mod decimal;
pub mod headers;
pub mod logical;
pub mod record;
pub mod schema;
pub mod value;
pub mod values;

pub use decimal::{BigDecimal, BigInt};
pub use headers::{Header, Headers};
pub use record::{ConnectRecord, Record, SinkRecord, SourceMap, SourceRecord, TimestampType};
pub use schema::{Field, Schema, SchemaBuilder, Type};
pub use value::{Struct, Value};

/// A schema and a value (`SchemaAndValue`); both may be absent (`SchemaAndValue.NULL`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchemaAndValue {
    /// The schema, if known.
    pub schema: Option<Schema>,
    /// The value.
    pub value: Value,
}

impl SchemaAndValue {
    /// A schema and a value.
    pub fn new(schema: Option<Schema>, value: Value) -> Self {
        SchemaAndValue { schema, value }
    }
}

/// Connect's `DataException` and `SchemaBuilderException`: the message says what is wrong and
/// where (field name, expected type), worded as Kafka words it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A required value is null.
    #[error("Invalid value: null used for required {location}, schema type: {schema_type}")]
    NullForRequired {
        /// `field: "x"`, `value`, `element of array ...`.
        location: String,
        /// The schema's type.
        schema_type: Type,
    },
    /// A value of the wrong kind for its schema.
    #[error(
        "Invalid value for schema{} with type {schema_type}: {value_kind} for {location}",
        schema_name.as_ref().map(|n| format!(" \"{n}\"")).unwrap_or_default()
    )]
    InvalidValueForSchema {
        /// The schema's name, if it has one.
        schema_name: Option<String>,
        /// The schema's type.
        schema_type: Type,
        /// The value's variant.
        value_kind: &'static str,
        /// Where the value sits.
        location: String,
    },
    /// A struct value whose schema differs from the expected one.
    #[error("Struct schemas do not match.")]
    StructSchemaMismatch,
    /// An ARRAY/MAP schema without element schemas.
    #[error("No schema defined for {0}")]
    NoSchemaFor(String),
    /// A struct field that doesn't exist.
    #[error("{0} is not a valid field name")]
    NoSuchField(String),
    /// `new Struct(schema)` on a non-struct schema.
    #[error("Not a struct schema: {0}")]
    NotAStructSchema(String),
    /// A SchemaBuilder misuse.
    #[error("{0}")]
    Builder(String),
    /// A default value that doesn't fit its schema.
    #[error("Invalid default value: {0}")]
    InvalidDefault(Box<DataError>),
    /// A logical-type conversion failed.
    #[error("{0}")]
    Logical(String),
}
