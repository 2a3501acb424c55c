//! Single Message Transforms and predicates (`org.apache.kafka.connect.transforms`), with
//! Kafka's class names, config keys, defaults and error wording.
//!
//! ```text
//!  connector config ──TransformChain::from_config──▶ [stage: transform (+ predicate, negate)]*
//!
//!  record ─▶ stage 1 ─▶ stage 2 ─▶ ... ─▶ Some(record)  (to the converter / the sink task)
//!              │ predicate (xor negate) false: record passes untouched
//!              └ apply() = None: record dropped, the rest of the chain is skipped
//! ```
//!
//! Every SMT is generic over the record type (`R: Record`), so one implementation serves
//! source records (transform before convert) and sink records (convert before transform), as
//! Kafka's `Transformation<R extends ConnectRecord<R>>` does. SMTs with `$Key` and `$Value`
//! variants take a [`Side`]. Schemaless records carry `Value::Map` with string keys (Java's
//! `Map<String, Object>`); schema'd records carry `Value::Struct`.
//!
//! Module map: [`chain`] (the `transforms=`/`predicates=` config and the lookup by class
//! name), [`util`] (Kafka's `Requirements`/`SchemaUtil` and map helpers), [`datefmt`] (the
//! `SimpleDateFormat` subset TimestampConverter and TimestampRouter use), one module per SMT,
//! and [`predicates`].

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigErrors};
use crate::data::{DataError, Record};

pub mod cast;
pub mod chain;
pub mod datefmt;
pub mod drop_headers;
pub mod extract_field;
pub mod field_path;
pub mod filter;
pub mod flatten;
pub mod header_from;
pub mod hoist_field;
pub mod insert_field;
pub mod insert_header;
pub mod mask_field;
pub mod predicates;
pub mod regex_router;
pub mod replace_field;
pub mod set_schema_metadata;
pub mod timestamp_converter;
pub mod timestamp_router;
pub mod util;
pub mod value_to_key;

#[cfg(test)]
pub(crate) use predicates::test_support;

pub use chain::{ChainError, TransformChain, TransformRegistry};
pub use util::Side;

/// Why a transform or predicate could not be configured or could not transform a record.
/// Messages are Kafka's (`ConfigException`, `DataException`, `Requirements`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// The transform's keys failed `ConfigDef` parsing (missing key, bad type, validator).
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// A `ConfigException` raised by the transform's own checks (the message names the key).
    #[error("{0}")]
    InvalidConfig(String),
    /// `Requirements.requireSchema`.
    #[error("Schema required for [{purpose}]")]
    SchemaRequired {
        /// What the transform was doing.
        purpose: &'static str,
    },
    /// `Requirements.requireMap`.
    #[error("Only Map objects supported in absence of schema for [{purpose}], found: {found}")]
    MapRequired {
        /// What the transform was doing.
        purpose: &'static str,
        /// The Java class name of what was found (`null` for none).
        found: &'static str,
    },
    /// `Requirements.requireStruct`.
    #[error("Only Struct objects supported for [{purpose}], found: {found}")]
    StructRequired {
        /// What the transform was doing.
        purpose: &'static str,
        /// The Java class name of what was found (`null` for none).
        found: &'static str,
    },
    /// `Requirements.requireSinkRecord`.
    #[error("Only SinkRecord supported for [{purpose}], found: {found}")]
    SinkRecordRequired {
        /// What the transform was doing.
        purpose: &'static str,
        /// The record type found.
        found: &'static str,
    },
    /// A field named in the config is not in the record's schema.
    #[error("Unknown field: {0}")]
    UnknownField(String),
    /// Any other `DataException`, worded as Kafka words it.
    #[error("{0}")]
    Data(String),
    /// A data-model error (a value that doesn't fit its new schema, ...).
    #[error(transparent)]
    Schema(#[from] DataError),
}

/// A Single Message Transform (`org.apache.kafka.connect.transforms.Transformation`).
///
/// Lifecycle: `configure` once with the transform's own keys (the `transforms.<alias>.`
/// prefix removed), then `apply` per record, then `close`.
pub trait Transformation<R: Record>: Send {
    /// The keys this transform reads (for validation and REST).
    fn config(&self) -> ConfigDef;
    /// Reads the keys; errors name the key and the problem.
    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError>;
    /// Transforms one record; `Ok(None)` drops it.
    fn apply(&mut self, record: R) -> Result<Option<R>, TransformError>;
    /// Releases what the transform holds.
    fn close(&mut self) {}
}

/// A predicate deciding whether a transform applies
/// (`org.apache.kafka.connect.transforms.predicates.Predicate`, KIP-585).
pub trait Predicate<R: Record>: Send {
    /// The keys this predicate reads.
    fn config(&self) -> ConfigDef;
    /// Reads the keys (the `predicates.<alias>.` prefix removed).
    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError>;
    /// True when the record matches.
    fn test(&self, record: &R) -> bool;
    /// Releases what the predicate holds.
    fn close(&mut self) {}
}
