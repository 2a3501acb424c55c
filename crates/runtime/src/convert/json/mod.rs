//! `org.apache.kafka.connect.json.JsonConverter`: Connect data ⇄ JSON, byte-compatible with
//! Kafka's (Jackson's compact output, field order included).
//!
//! ```text
//!  schemas.enable=true (default):
//!    (schema, value) ─▶ {"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],
//!                                  "optional":false,"name":"Person"},
//!                        "payload":{"id":7}}
//!  schemas.enable=false:
//!    (schema, value) ─▶ {"id":7}            read back schemaless: integers INT64, decimals
//!                                           FLOAT64, objects MAP, arrays ARRAY, no schema
//! ```
//!
//! Schema JSON field order is Kafka's (`JsonConverter.asJsonSchema`): `type`, then `items` |
//! `keys`,`values` | `fields`, then `optional`, `name`, `version`, `doc`, `parameters`,
//! `default`; a struct field's object ends with `field`. Logical types travel as their
//! physical form: Decimal as base64 of the unscaled two's complement (`decimal.format=BASE64`,
//! the default) or a JSON number (`NUMERIC`), Date/Time as int32, Timestamp as int64.
//! `schema.content` (Kafka 4.2+) fixes one schema for every message a sink reads: with
//! schemas enabled, each message is then a bare payload, no envelope.
//! Reading follows Jackson's lenient accessors (an INT8 field narrows `300` to `44`, a string
//! where a number is expected reads as 0) because Kafka does; see the tests.

pub mod node;

use std::collections::BTreeMap;

use bytes::Bytes;

use self::node::{base64_decode, base64_encode, java_double, java_float, Node};
use super::{
    converter_config_def, with_type, ConvertError, Converter, ConverterType, HeaderConverter, RawHeader,
};
use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator, Width};
use crate::data::logical::{self, DATE_NAME, DECIMAL_NAME, TIMESTAMP_NAME, TIME_NAME};
use crate::data::{Schema, SchemaAndValue, SchemaBuilder, Struct, Type, Value};

/// `schemas.enable`.
pub const SCHEMAS_ENABLE_CONFIG: &str = "schemas.enable";
/// `schemas.cache.size` (accepted; kaflow converts schemas without a cache).
pub const SCHEMAS_CACHE_SIZE_CONFIG: &str = "schemas.cache.size";
/// `decimal.format`.
pub const DECIMAL_FORMAT_CONFIG: &str = "decimal.format";
/// `replace.null.with.default`.
pub const REPLACE_NULL_WITH_DEFAULT_CONFIG: &str = "replace.null.with.default";
/// `schema.content` (Kafka 4.2+, KAFKA-16913): one schema for every message a sink reads.
pub const SCHEMA_CONTENT_CONFIG: &str = "schema.content";

/// How Decimal values are written (`org.apache.kafka.connect.json.DecimalFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecimalFormat {
    /// Base64 of the unscaled value's two's-complement bytes (Kafka's default).
    #[default]
    Base64,
    /// A JSON number (`BigDecimal.toString()`).
    Numeric,
}

/// Kafka's JsonConverter. Configure before use; the defaults are Kafka's
/// (`schemas.enable=true`, `decimal.format=BASE64`, `replace.null.with.default=true`).
#[derive(Debug, Clone)]
pub struct JsonConverter {
    schemas_enabled: bool,
    decimal_format: DecimalFormat,
    replace_null_with_default: bool,
    /// The schema from `schema.content`: with schemas enabled, every message is a bare payload
    /// read with this schema (no envelope expected).
    fixed_schema: Option<Schema>,
}

impl Default for JsonConverter {
    fn default() -> Self {
        JsonConverter {
            schemas_enabled: true,
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: true,
            fixed_schema: None,
        }
    }
}

/// `JsonConverterConfig.configDef()`.
pub fn json_config_def() -> ConfigDef {
    converter_config_def()
        .define(
            ConfigKey::new(
                SCHEMAS_ENABLE_CONFIG,
                ConfigType::Boolean,
                Some("true"),
                Importance::High,
                "Include schemas within each of the serialized values and keys.",
            )
            .group("Schemas", 0, Width::Medium, "Enable Schemas"),
        )
        .define(
            ConfigKey::new(
                SCHEMAS_CACHE_SIZE_CONFIG,
                ConfigType::Int,
                Some("1000"),
                Importance::High,
                "The maximum number of schemas that can be cached in this converter instance.",
            )
            .group("Schemas", 1, Width::Medium, "Schema Cache Size"),
        )
        .define(
            ConfigKey::new(
                SCHEMA_CONTENT_CONFIG,
                ConfigType::String,
                None,
                Importance::High,
                "When set, this is used as the schema for all messages, and the schemas within each of the \
                 message will be ignored.Otherwise, the schema will be included in the content of each message. \
                 This configuration applies only 'schemas.enable' is true, and it exclusively affects the sink \
                 connector.",
            )
            .group("Schemas", 2, Width::Medium, "Schema Content"),
        )
        .define(
            ConfigKey::new(
                DECIMAL_FORMAT_CONFIG,
                ConfigType::String,
                Some("BASE64"),
                Importance::Low,
                "Controls which format this converter will serialize decimals in. This value is case \
                 insensitive and can be either 'BASE64' (default) or 'NUMERIC'",
            )
            .validate(Validator::OneOfIgnoreCase(&["BASE64", "NUMERIC"]))
            .group("Serialization", 0, Width::Medium, "Decimal Format"),
        )
        .define(
            ConfigKey::new(
                REPLACE_NULL_WITH_DEFAULT_CONFIG,
                ConfigType::Boolean,
                Some("true"),
                Importance::Low,
                "Whether to replace fields that have a default value and that are null to the default \
                 value. When set to true, the default value is used, otherwise null is used.",
            )
            .group("Serialization", 1, Width::Medium, "Replace null with default"),
        )
}

fn conv(msg: impl Into<String>) -> ConvertError {
    ConvertError::Conversion(msg.into())
}

impl JsonConverter {
    /// A converter with Kafka's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `props` (which must include `converter.type`, as `configure(props)` in Kafka).
    pub fn configure_props(&mut self, props: &BTreeMap<String, String>) -> Result<(), ConvertError> {
        let parsed = json_config_def().parse(props)?;
        self.schemas_enabled = parsed.boolean(SCHEMAS_ENABLE_CONFIG);
        self.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG);
        self.decimal_format = match parsed
            .string(DECIMAL_FORMAT_CONFIG)
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("NUMERIC") => DecimalFormat::Numeric,
            _ => DecimalFormat::Base64,
        };
        self.fixed_schema = None;
        if let Some(content) = parsed.string(SCHEMA_CONTENT_CONFIG).filter(|c| !c.is_empty()) {
            let bad = |e: String| {
                conv(format!(
                    "Failed to parse schema in converter config due to serialization error: {e}"
                ))
            };
            let node = Node::parse(content.as_bytes()).map_err(|e| bad(e.to_string()))?;
            self.fixed_schema = self.as_connect_schema(&node)?;
        }
        Ok(())
    }

    /// Whether the envelope is written and expected.
    pub fn schemas_enabled(&self) -> bool {
        self.schemas_enabled
    }

    /// Serialises to JSON text (`fromConnectData`); `None` when both schema and value are
    /// absent (a tombstone).
    pub fn serialize(&self, schema: Option<&Schema>, value: &Value) -> Result<Option<Bytes>, ConvertError> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        let node = if self.schemas_enabled {
            let s = match schema {
                Some(s) => self.as_json_schema(s)?,
                None => Node::Null,
            };
            Node::Object(vec![
                ("schema".to_owned(), s),
                ("payload".to_owned(), self.to_json(schema, value)?),
            ])
        } else {
            self.to_json(schema, value)?
        };
        Ok(Some(Bytes::from(node.to_json())))
    }

    /// Parses JSON bytes (`toConnectData`).
    pub fn deserialize(&self, bytes: Option<&[u8]>) -> Result<SchemaAndValue, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::default());
        };
        // Jackson's readTree gives a MissingNode for empty input: no envelope, or a null value.
        let node = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            None
        } else {
            Some(Node::parse(bytes).map_err(|e| ConvertError::Deserialize(e.to_string()))?)
        };
        if let (true, Some(schema)) = (self.schemas_enabled, &self.fixed_schema) {
            let value = self.to_connect_value(Some(schema), node.as_ref())?;
            return Ok(SchemaAndValue::new(Some(schema.clone()), value));
        }
        if self.schemas_enabled {
            let ok = matches!(&node, Some(Node::Object(m))
                if m.len() == 2 && m.iter().any(|(k, _)| k == "schema") && m.iter().any(|(k, _)| k == "payload"));
            if !ok {
                return Err(ConvertError::MissingEnvelope);
            }
            let node = node.unwrap_or(Node::Null);
            let schema = self.as_connect_schema(node.get("schema").unwrap_or(&Node::Null))?;
            let value = self.to_connect_value(schema.as_ref(), node.get("payload"))?;
            Ok(SchemaAndValue::new(schema, value))
        } else {
            let value = self.to_connect_value(None, node.as_ref())?;
            Ok(SchemaAndValue::new(None, value))
        }
    }

    /// The JSON form of a schema (`asJsonSchema`).
    pub fn as_json_schema(&self, schema: &Schema) -> Result<Node, ConvertError> {
        let type_name = match schema.type_() {
            Type::Boolean => "boolean",
            Type::Bytes => "bytes",
            Type::Float64 => "double",
            Type::Float32 => "float",
            Type::Int8 => "int8",
            Type::Int16 => "int16",
            Type::Int32 => "int32",
            Type::Int64 => "int64",
            Type::String => "string",
            Type::Array => "array",
            Type::Map => "map",
            Type::Struct => "struct",
        };
        let mut m: Vec<(String, Node)> = vec![("type".to_owned(), Node::String(type_name.to_owned()))];
        match schema.type_() {
            Type::Array => {
                let items = schema
                    .value_schema()
                    .ok_or_else(|| conv("Array schema did not specify the element type"))?;
                m.push(("items".to_owned(), self.as_json_schema(items)?));
            }
            Type::Map => {
                let (k, v) = schema
                    .key_schema()
                    .zip(schema.value_schema())
                    .ok_or_else(|| conv("Map schema did not specify the key and value types"))?;
                m.push(("keys".to_owned(), self.as_json_schema(k)?));
                m.push(("values".to_owned(), self.as_json_schema(v)?));
            }
            Type::Struct => {
                let mut fields = Vec::with_capacity(schema.fields().len());
                for f in schema.fields() {
                    let mut fj = self.as_json_schema(f.schema())?;
                    if let Node::Object(members) = &mut fj {
                        members.retain(|(k, _)| k != "field");
                        members.push(("field".to_owned(), Node::String(f.name().to_owned())));
                    }
                    fields.push(fj);
                }
                m.push(("fields".to_owned(), Node::Array(fields)));
            }
            _ => {}
        }
        m.push(("optional".to_owned(), Node::Bool(schema.is_optional())));
        if let Some(n) = schema.name() {
            m.push(("name".to_owned(), Node::String(n.to_owned())));
        }
        if let Some(v) = schema.version() {
            m.push(("version".to_owned(), Node::Number(v.to_string())));
        }
        if let Some(d) = schema.doc() {
            m.push(("doc".to_owned(), Node::String(d.to_owned())));
        }
        if let Some(p) = schema.parameters() {
            let params = p
                .iter()
                .map(|(k, v)| (k.clone(), Node::String(v.clone())))
                .collect();
            m.push(("parameters".to_owned(), Node::Object(params)));
        }
        if let Some(d) = schema.default_value() {
            m.push(("default".to_owned(), self.to_json(Some(schema), d)?));
        }
        Ok(Node::Object(m))
    }

    /// A schema from its JSON form (`asConnectSchema`); `None` for JSON null.
    pub fn as_connect_schema(&self, node: &Node) -> Result<Option<Schema>, ConvertError> {
        if matches!(node, Node::Null) {
            return Ok(None);
        }
        let Some(Node::String(ty)) = node.get("type") else {
            return Err(conv("Schema must contain 'type' field"));
        };
        let mut b = match ty.as_str() {
            "boolean" => SchemaBuilder::boolean(),
            "int8" => SchemaBuilder::int8(),
            "int16" => SchemaBuilder::int16(),
            "int32" => SchemaBuilder::int32(),
            "int64" => SchemaBuilder::int64(),
            "float" => SchemaBuilder::float32(),
            "double" => SchemaBuilder::float64(),
            "bytes" => SchemaBuilder::bytes(),
            "string" => SchemaBuilder::string(),
            "array" => {
                let items = match node.get("items") {
                    None | Some(Node::Null) => {
                        return Err(conv("Array schema did not specify the element type"))
                    }
                    Some(i) => i,
                };
                let items = self
                    .as_connect_schema(items)?
                    .ok_or_else(|| conv("valueSchema cannot be null."))?;
                SchemaBuilder::array(items)
            }
            "map" => {
                let k = node
                    .get("keys")
                    .ok_or_else(|| conv("Map schema did not specify the key type"))?;
                let v = node
                    .get("values")
                    .ok_or_else(|| conv("Map schema did not specify the value type"))?;
                let k = self
                    .as_connect_schema(k)?
                    .ok_or_else(|| conv("keySchema cannot be null."))?;
                let v = self
                    .as_connect_schema(v)?
                    .ok_or_else(|| conv("valueSchema cannot be null."))?;
                SchemaBuilder::map(k, v)
            }
            "struct" => {
                let Some(Node::Array(fields)) = node.get("fields") else {
                    return Err(conv("Struct schema's \"fields\" argument is not an array."));
                };
                let mut b = SchemaBuilder::struct_();
                for f in fields {
                    let Some(Node::String(name)) = f.get("field") else {
                        return Err(conv("Struct schema's field name not specified properly"));
                    };
                    let fs = self
                        .as_connect_schema(f)?
                        .ok_or_else(|| conv(format!("fieldSchema for field {name} cannot be null.")))?;
                    b = b.field(name.clone(), fs)?;
                }
                b
            }
            other => return Err(conv(format!("Unknown schema type: {other}"))),
        };
        b = match node.get("optional") {
            Some(Node::Bool(true)) => b.optional(),
            _ => b.required(),
        };
        if let Some(Node::String(n)) = node.get("name") {
            b = b.name(n.clone());
        }
        if let Some(v @ Node::Number(_)) = node.get("version") {
            if v.is_integral() {
                b = b.version(v.int_value());
            }
        }
        if let Some(Node::String(d)) = node.get("doc") {
            b = b.doc(d.clone());
        }
        if let Some(Node::Object(params)) = node.get("parameters") {
            for (k, v) in params {
                let Node::String(v) = v else {
                    return Err(conv("Schema parameters must have string values."));
                };
                b = b.parameter(k.clone(), v.clone());
            }
        }
        if let Some(d) = node.get("default") {
            let partial = b.clone().build();
            let dv = self.to_connect_value(Some(&partial), Some(d))?;
            b = b.default_value(dv)?;
        }
        Ok(Some(b.build()))
    }

    /// A value to JSON (`convertToJson`).
    fn to_json(&self, schema: Option<&Schema>, value: &Value) -> Result<Node, ConvertError> {
        if value.is_null() {
            let Some(s) = schema else { return Ok(Node::Null) };
            if let (Some(d), true) = (s.default_value(), self.replace_null_with_default) {
                return self.to_json(Some(s), d);
            }
            if s.is_optional() {
                return Ok(Node::Null);
            }
            return Err(conv(
                "Conversion error: null value for field that is required and has no default value",
            ));
        }
        if let Some(s) = schema {
            match s.name() {
                Some(DECIMAL_NAME) => {
                    let Value::Decimal(d) = value else {
                        return Err(conv(format!(
                            "Invalid type for Decimal, expected BigDecimal but was {}",
                            value.kind()
                        )));
                    };
                    return Ok(match self.decimal_format {
                        DecimalFormat::Numeric => Node::Number(d.to_string()),
                        DecimalFormat::Base64 => {
                            Node::String(base64_encode(&logical::decimal_to_bytes(s, d)?))
                        }
                    });
                }
                Some(DATE_NAME) => {
                    let Value::Date(days) = value else {
                        return Err(conv(format!(
                            "Invalid type for Date, expected Date but was {}",
                            value.kind()
                        )));
                    };
                    return Ok(Node::Number(days.to_string()));
                }
                Some(TIME_NAME) => {
                    let Value::Time(ms) = value else {
                        return Err(conv(format!(
                            "Invalid type for Time, expected Date but was {}",
                            value.kind()
                        )));
                    };
                    return Ok(Node::Number(ms.to_string()));
                }
                Some(TIMESTAMP_NAME) => {
                    let Value::Timestamp(ms) = value else {
                        return Err(conv(format!(
                            "Invalid type for Timestamp, expected Date but was {}",
                            value.kind()
                        )));
                    };
                    return Ok(Node::Number(ms.to_string()));
                }
                _ => {}
            }
        }
        let ty = match schema {
            Some(s) => s.type_(),
            None => value.schemaless_type().ok_or_else(|| {
                conv(format!(
                    "Java class {} does not have corresponding schema type.",
                    value.kind()
                ))
            })?,
        };
        let mismatch = || {
            conv(format!(
                "Invalid type for {}: {}",
                schema.map_or("unknown schema".to_owned(), |s| s.type_().to_string()),
                value.kind()
            ))
        };
        let num = |t: String| Node::Number(t);
        // Jackson writes non-finite floats as quoted strings ("NaN", "Infinity").
        let float = |t: String, finite: bool| if finite { Node::Number(t) } else { Node::String(t) };
        Ok(match (ty, value) {
            (Type::Int8, Value::Int8(v)) => num(v.to_string()),
            (Type::Int16, Value::Int16(v)) => num(v.to_string()),
            (Type::Int32, Value::Int32(v)) => num(v.to_string()),
            (Type::Int64, Value::Int64(v)) => num(v.to_string()),
            (Type::Float32, Value::Float32(v)) => float(java_float(*v), v.is_finite()),
            (Type::Float64, Value::Float64(v)) => float(java_double(*v), v.is_finite()),
            (Type::Boolean, Value::Boolean(v)) => Node::Bool(*v),
            (Type::String, Value::String(v)) => Node::String(v.clone()),
            (Type::Bytes, Value::Bytes(v)) => Node::String(base64_encode(v)),
            (Type::Array, Value::Array(items)) => {
                let es = schema.and_then(Schema::value_schema);
                Node::Array(
                    items
                        .iter()
                        .map(|i| self.to_json(es, i))
                        .collect::<Result<_, _>>()?,
                )
            }
            (Type::Map, Value::Map(entries)) => {
                let object_mode = match schema {
                    Some(s) => s.key_schema().is_some_and(|k| k.type_() == Type::String),
                    None => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
                };
                let ks = schema.and_then(Schema::key_schema);
                let vs = schema.and_then(Schema::value_schema);
                if object_mode {
                    let mut members: Vec<(String, Node)> = Vec::with_capacity(entries.len());
                    for (k, v) in entries {
                        let key = match self.to_json(ks, k)? {
                            Node::String(s) => s,
                            Node::Number(t) => t,
                            Node::Bool(b) => b.to_string(),
                            Node::Null => "null".to_owned(),
                            _ => String::new(),
                        };
                        let v = self.to_json(vs, v)?;
                        match members.iter_mut().find(|(mk, _)| *mk == key) {
                            Some(slot) => slot.1 = v,
                            None => members.push((key, v)),
                        }
                    }
                    Node::Object(members)
                } else {
                    let mut pairs = Vec::with_capacity(entries.len());
                    for (k, v) in entries {
                        pairs.push(Node::Array(vec![self.to_json(ks, k)?, self.to_json(vs, v)?]));
                    }
                    Node::Array(pairs)
                }
            }
            (Type::Struct, Value::Struct(st)) => {
                let Some(s) = schema.filter(|s| *s == st.schema()) else {
                    return Err(conv("Mismatching schema."));
                };
                let mut members = Vec::with_capacity(s.fields().len());
                for (f, v) in s.fields().iter().zip(st.values()) {
                    members.push((f.name().to_owned(), self.to_json(Some(f.schema()), v)?));
                }
                Node::Object(members)
            }
            _ => return Err(mismatch()),
        })
    }

    /// JSON to a value (`convertToConnect`); `node == None` is a missing member.
    fn to_connect_value(&self, schema: Option<&Schema>, node: Option<&Node>) -> Result<Value, ConvertError> {
        let ty = match schema {
            Some(s) => {
                if matches!(node, None | Some(Node::Null)) {
                    if let (Some(d), true) = (s.default_value(), self.replace_null_with_default) {
                        return Ok(d.clone());
                    }
                    if s.is_optional() {
                        return Ok(Value::Null);
                    }
                    return Err(conv(format!(
                        "Invalid null value for required {} field",
                        s.type_()
                    )));
                }
                s.type_()
            }
            None => match node {
                None | Some(Node::Null) => return Ok(Value::Null),
                Some(Node::Bool(_)) => Type::Boolean,
                Some(n @ Node::Number(_)) => {
                    if n.is_integral() {
                        Type::Int64
                    } else {
                        Type::Float64
                    }
                }
                Some(Node::Array(_)) => Type::Array,
                Some(Node::Object(_)) => Type::Map,
                Some(Node::String(_)) => Type::String,
            },
        };
        let node = node.unwrap_or(&Node::Null);
        if let Some(s) = schema {
            match s.name() {
                Some(DECIMAL_NAME) => {
                    return match node {
                        Node::Number(_) => node
                            .decimal()
                            .map(Value::Decimal)
                            .ok_or_else(|| conv("Invalid bytes for Decimal field")),
                        Node::String(t) => {
                            let bytes = base64_decode(t).ok_or_else(|| conv("Invalid bytes for Decimal field"))?;
                            Ok(Value::Decimal(
                                logical::decimal_from_bytes(s, &bytes)
                                    .map_err(|e| conv(format!("Invalid bytes for Decimal field: {e}")))?,
                            ))
                        }
                        other => Err(conv(format!(
                            "Invalid type for Decimal, underlying representation should be numeric or bytes but was {}",
                            other.node_type()
                        ))),
                    };
                }
                Some(DATE_NAME) => {
                    if !node.is_int() {
                        return Err(conv(format!(
                            "Invalid type for Date, underlying representation should be integer but was {}",
                            node.node_type()
                        )));
                    }
                    return Ok(Value::Date(node.int_value()));
                }
                Some(TIME_NAME) => {
                    if !node.is_int() {
                        return Err(conv(format!(
                            "Invalid type for Time, underlying representation should be integer but was {}",
                            node.node_type()
                        )));
                    }
                    return Ok(Value::Time(logical::check_time_millis(i64::from(
                        node.int_value(),
                    ))?));
                }
                Some(TIMESTAMP_NAME) => {
                    if !node.is_integral() {
                        return Err(conv(format!(
                            "Invalid type for Timestamp, underlying representation should be integral but was {}",
                            node.node_type()
                        )));
                    }
                    return Ok(Value::Timestamp(node.long_value()));
                }
                _ => {}
            }
        }
        Ok(match ty {
            Type::Boolean => Value::Boolean(matches!(node, Node::Bool(true))),
            Type::Int8 => Value::Int8(node.int_value() as i8),
            Type::Int16 => Value::Int16(node.int_value() as i16),
            Type::Int32 => Value::Int32(node.int_value()),
            Type::Int64 => Value::Int64(node.long_value()),
            Type::Float32 => Value::Float32(node.float_value()),
            Type::Float64 => Value::Float64(node.double_value()),
            // binaryValue()/textValue() are null for other node types.
            Type::Bytes => match node {
                Node::String(t) => Value::Bytes(Bytes::from(
                    base64_decode(t).ok_or_else(|| conv("Invalid bytes field"))?,
                )),
                _ => Value::Null,
            },
            Type::String => match node {
                Node::String(t) => Value::String(t.clone()),
                _ => Value::Null,
            },
            Type::Array => {
                let es = schema.and_then(Schema::value_schema);
                // Jackson iterates an object's values and nothing for a scalar.
                let items: Vec<&Node> = match node {
                    Node::Array(a) => a.iter().collect(),
                    Node::Object(m) => m.iter().map(|(_, v)| v).collect(),
                    _ => Vec::new(),
                };
                Value::Array(
                    items
                        .into_iter()
                        .map(|n| self.to_connect_value(es, Some(n)))
                        .collect::<Result<_, _>>()?,
                )
            }
            Type::Map => {
                let ks = schema.and_then(Schema::key_schema);
                let vs = schema.and_then(Schema::value_schema);
                let mut entries: Vec<(Value, Value)> = Vec::new();
                if schema.is_none() || ks.is_some_and(|k| k.type_() == Type::String) {
                    let Node::Object(m) = node else {
                        return Err(conv(format!(
                            "Maps with string fields should be encoded as JSON objects, but found {}",
                            node.node_type()
                        )));
                    };
                    for (k, v) in m {
                        entries.push((Value::String(k.clone()), self.to_connect_value(vs, Some(v))?));
                    }
                } else {
                    let Node::Array(a) = node else {
                        return Err(conv(format!(
                            "Maps with non-string fields should be encoded as JSON array of tuples, but found {}",
                            node.node_type()
                        )));
                    };
                    for e in a {
                        let Node::Array(pair) = e else {
                            return Err(conv(format!(
                                "Found invalid map entry instead of array tuple: {}",
                                e.node_type()
                            )));
                        };
                        if pair.len() != 2 {
                            return Err(conv(format!(
                                "Found invalid map entry, expected length 2 but found :{}",
                                pair.len()
                            )));
                        }
                        let k = self.to_connect_value(ks, Some(&pair[0]))?;
                        let v = self.to_connect_value(vs, Some(&pair[1]))?;
                        match entries.iter_mut().find(|(ek, _)| *ek == k) {
                            Some(slot) => slot.1 = v,
                            None => entries.push((k, v)),
                        }
                    }
                }
                Value::Map(entries)
            }
            Type::Struct => {
                let Node::Object(_) = node else {
                    return Err(conv(format!(
                        "Structs should be encoded as JSON objects, but found {}",
                        node.node_type()
                    )));
                };
                let s = schema.cloned().ok_or_else(|| conv("Struct without a schema"))?;
                let mut st = Struct::new(s.clone())?;
                for f in s.fields() {
                    let v = self.to_connect_value(Some(f.schema()), node.get(f.name()))?;
                    st.put(f.name(), v)?;
                }
                Value::Struct(st)
            }
        })
    }
}

impl Converter for JsonConverter {
    fn class_name(&self) -> &'static str {
        "org.apache.kafka.connect.json.JsonConverter"
    }

    fn config_def(&self) -> ConfigDef {
        json_config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>, is_key: bool) -> Result<(), ConvertError> {
        let ty = if is_key {
            ConverterType::Key
        } else {
            ConverterType::Value
        };
        self.configure_props(&with_type(props, ty))
    }

    fn from_connect(
        &self,
        _topic: &str,
        _headers: &mut Vec<RawHeader>,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Bytes>, ConvertError> {
        self.serialize(schema, value)
    }

    fn to_connect(
        &self,
        _topic: &str,
        _headers: &[RawHeader],
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        self.deserialize(bytes.map(|b| &b[..]))
    }
}

impl HeaderConverter for JsonConverter {
    fn class_name(&self) -> &'static str {
        "org.apache.kafka.connect.json.JsonConverter"
    }

    fn configure_header(&mut self, props: &BTreeMap<String, String>) -> Result<(), ConvertError> {
        self.configure_props(&with_type(props, ConverterType::Header))
    }

    fn from_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Bytes>, ConvertError> {
        self.serialize(schema, value)
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        self.deserialize(bytes.map(|b| &b[..]))
    }
}

#[cfg(test)]
mod tests;
