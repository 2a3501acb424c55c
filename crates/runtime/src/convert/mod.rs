//! Converters: Connect data ⇄ the bytes of a Kafka record's key, value and headers
//! (`org.apache.kafka.connect.storage.Converter` / `HeaderConverter`), with Kafka's class
//! names and config keys.
//!
//! ```text
//!  SourceRecord{key/value: Value + Schema} ──Converter::from_connect──▶ Option<Bytes> ──▶ producer
//!  consumer ──▶ Option<Bytes> ──Converter::to_connect──▶ SchemaAndValue ──▶ SinkRecord
//!  Headers[(key, schema, Value)] ◀──HeaderConverter──▶ (key, Option<Bytes>)   (one per header)
//!
//!  lookup("org.apache.kafka.connect.json.JsonConverter" | "JsonConverter") ─▶ Box<dyn Converter>
//! ```
//!
//! Built in: [`JsonConverter`] (also a header converter), [`StringConverter`],
//! [`ByteArrayConverter`], the number converters ([`ShortConverter`] ... [`DoubleConverter`]),
//! [`BooleanConverter`], and the default header converter [`SimpleHeaderConverter`].
//! Each is configured with the properties under its prefix (`value.converter.schemas.enable`
//! reaches the value converter as `schemas.enable`), plus `converter.type` as Kafka's
//! `ConverterConfig` sets it.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::config::{ConfigDef, ConfigErrors};
use crate::data::{DataError, Schema, SchemaAndValue, Value};

pub mod json;
mod registry;
mod simple;

pub use json::{DecimalFormat, JsonConverter};
pub use kaflow_client::records::Header as RawHeader;
pub use registry::{
    header_converter, lookup, lookup_header_converter, KNOWN_CONVERTERS, KNOWN_HEADER_CONVERTERS,
};
pub use simple::{
    BooleanConverter, ByteArrayConverter, DoubleConverter, FloatConverter, IntegerConverter, LongConverter,
    ShortConverter, SimpleHeaderConverter, StringConverter,
};

/// `converter.type` (`ConverterConfig.TYPE_CONFIG`): key, value or header.
pub const CONVERTER_TYPE_CONFIG: &str = "converter.type";

/// Why a conversion or a converter's configuration failed. Messages are Kafka's
/// (`DataException` texts) so operators and tests recognise them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// A converter property is invalid (`ConfigException`).
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// A value doesn't fit its schema (`DataException` from the data API).
    #[error(transparent)]
    Data(#[from] DataError),
    /// The bytes could not be parsed (e.g. not JSON).
    #[error("Converting byte[] to Kafka Connect data failed due to serialization error: {0}")]
    Deserialize(String),
    /// A value or schema the converter can't represent; the text is Kafka's.
    #[error("{0}")]
    Conversion(String),
    /// JsonConverter with `schemas.enable=true` got something other than the envelope.
    #[error(
        "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain \
         additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in \
         your converter configuration."
    )]
    MissingEnvelope,
    /// A converter class name or alias nobody knows.
    #[error("Unknown converter class {name}; known converters: {}", known.join(", "))]
    Unknown {
        /// What was asked for.
        name: String,
        /// Every name that would have worked.
        known: Vec<&'static str>,
    },
}

/// Which side of a record a converter serves (`ConverterType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConverterType {
    /// Record keys.
    Key,
    /// Record values.
    Value,
    /// Record headers.
    Header,
}

impl ConverterType {
    /// `key`, `value` or `header`.
    pub fn name(self) -> &'static str {
        match self {
            ConverterType::Key => "key",
            ConverterType::Value => "value",
            ConverterType::Header => "header",
        }
    }
}

/// Converts record keys or values (`org.apache.kafka.connect.storage.Converter`).
pub trait Converter: Send + Sync + std::fmt::Debug {
    /// Kafka's class name (`org.apache.kafka.connect.json.JsonConverter`).
    fn class_name(&self) -> &'static str;

    /// The config keys this converter accepts (drives validation and docs).
    fn config_def(&self) -> ConfigDef;

    /// Configures from the properties under the converter's prefix; `is_key` says which side.
    fn configure(&mut self, props: &BTreeMap<String, String>, is_key: bool) -> Result<(), ConvertError>;

    /// Connect data to bytes (`fromConnectData(topic, headers, schema, value)`); `None` is a
    /// null key/value. `headers` are the raw record headers, which a converter may extend.
    // Named after Kafka's method, not a constructor.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect(
        &self,
        topic: &str,
        headers: &mut Vec<RawHeader>,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Bytes>, ConvertError>;

    /// Bytes to Connect data (`toConnectData(topic, headers, value)`).
    fn to_connect(
        &self,
        topic: &str,
        headers: &[RawHeader],
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError>;
}

/// Converts header values (`org.apache.kafka.connect.storage.HeaderConverter`).
pub trait HeaderConverter: Send + Sync + std::fmt::Debug {
    /// Kafka's class name.
    fn class_name(&self) -> &'static str;

    /// Configures from the properties under `header.converter.`.
    fn configure_header(&mut self, props: &BTreeMap<String, String>) -> Result<(), ConvertError>;

    /// One header value to bytes.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Bytes>, ConvertError>;

    /// Bytes of one header to Connect data.
    fn to_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError>;
}

/// `props` plus `converter.type`, as Kafka's `configure(configs, isKey)` adds it.
pub(crate) fn with_type(props: &BTreeMap<String, String>, ty: ConverterType) -> BTreeMap<String, String> {
    let mut p = props.clone();
    p.insert(CONVERTER_TYPE_CONFIG.to_owned(), ty.name().to_owned());
    p
}

/// `ConverterConfig.newConfigDef()`: just `converter.type`.
pub(crate) fn converter_config_def() -> ConfigDef {
    use crate::config::{ConfigKey, ConfigType, Importance, Validator};
    ConfigDef::new().define(
        ConfigKey::required(
            CONVERTER_TYPE_CONFIG,
            ConfigType::String,
            Importance::Low,
            "How this converter will be used.",
        )
        .validate(Validator::OneOfIgnoreCase(&["key", "value", "header"])),
    )
}
