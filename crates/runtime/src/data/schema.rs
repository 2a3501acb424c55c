//! Connect schemas: `Schema`, `SchemaBuilder`, `Field` (Kafka's `org.apache.kafka.connect.data`).
//!
//! ```text
//!  SchemaBuilder::struct_().name("Person").field("age", Schema::INT32)...build()
//!        │                         (checks as SchemaBuilder does: a field twice, a bad default)
//!        ▼
//!  Schema (cheap to clone: Arc) ──validate_value(value)──▶ Ok | DataError naming the field
//! ```
//!
//! Equality is `ConnectSchema.equals`: type, optional, name, version, doc, default, fields,
//! key/value schemas and parameters (as a map: order-insensitive). The parameter *order* is
//! kept anyway, because JsonConverter writes parameters in insertion order.

use std::fmt;
use std::sync::Arc;

use super::value::Value;
use super::DataError;

/// The Connect types (`Schema.Type`). The `Display` form is Kafka's enum name (`INT32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl Type {
    /// Kafka's enum constant name.
    pub fn name(self) -> &'static str {
        match self {
            Type::Int8 => "INT8",
            Type::Int16 => "INT16",
            Type::Int32 => "INT32",
            Type::Int64 => "INT64",
            Type::Float32 => "FLOAT32",
            Type::Float64 => "FLOAT64",
            Type::Boolean => "BOOLEAN",
            Type::String => "STRING",
            Type::Bytes => "BYTES",
            Type::Array => "ARRAY",
            Type::Map => "MAP",
            Type::Struct => "STRUCT",
        }
    }

    /// True for everything but ARRAY, MAP and STRUCT.
    pub fn is_primitive(self) -> bool {
        !matches!(self, Type::Array | Type::Map | Type::Struct)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One field of a struct schema: name, position and schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    name: String,
    index: usize,
    schema: Schema,
}

impl Field {
    /// A field; `index` is its position in the struct.
    pub fn new(name: impl Into<String>, index: usize, schema: Schema) -> Self {
        Field {
            name: name.into(),
            index,
            schema,
        }
    }

    /// The field name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The field's position.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The field's schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

#[derive(Debug)]
struct Inner {
    ty: Type,
    optional: bool,
    default: Option<Value>,
    name: Option<String>,
    version: Option<i32>,
    doc: Option<String>,
    parameters: Option<Vec<(String, String)>>,
    fields: Vec<Field>,
    key_schema: Option<Schema>,
    value_schema: Option<Schema>,
}

/// An immutable Connect schema (`ConnectSchema`). Cloning shares it.
#[derive(Clone)]
pub struct Schema(Arc<Inner>);

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.0;
        let mut d = f.debug_struct("Schema");
        d.field("type", &i.ty).field("optional", &i.optional);
        if let Some(n) = &i.name {
            d.field("name", n);
        }
        if let Some(v) = i.version {
            d.field("version", &v);
        }
        if let Some(v) = &i.default {
            d.field("default", v);
        }
        if let Some(p) = &i.parameters {
            d.field("parameters", p);
        }
        if i.ty == Type::Struct {
            d.field("fields", &i.fields);
        }
        if let Some(k) = &i.key_schema {
            d.field("keys", k);
        }
        if let Some(v) = &i.value_schema {
            d.field("values", v);
        }
        d.finish()
    }
}

impl fmt::Display for Schema {
    /// `ConnectSchema.toString()`: `Schema{name:TYPE}` or `Schema{TYPE}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.name {
            Some(n) => write!(f, "Schema{{{n}:{}}}", self.0.ty),
            None => write!(f, "Schema{{{}}}", self.0.ty),
        }
    }
}

fn params_eq(a: &Option<Vec<(String, String)>>, b: &Option<Vec<(String, String)>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.len() == b.len() && a.iter().all(|kv| b.contains(kv)),
        _ => false,
    }
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        if Arc::ptr_eq(&self.0, &other.0) {
            return true;
        }
        let (a, b) = (&*self.0, &*other.0);
        a.ty == b.ty
            && a.optional == b.optional
            && a.version == b.version
            && a.name == b.name
            && a.doc == b.doc
            && a.default == b.default
            && a.fields == b.fields
            && a.key_schema == b.key_schema
            && a.value_schema == b.value_schema
            && params_eq(&a.parameters, &b.parameters)
    }
}

macro_rules! primitive_schemas {
    ($($(#[$doc:meta])* $name:ident = $ty:ident, $opt:expr;)*) => {
        impl Schema {
            $(
                $(#[$doc])*
                #[allow(non_snake_case)]
                pub fn $name() -> Schema {
                    static S: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
                    S.get_or_init(|| Schema::primitive(Type::$ty, $opt)).clone()
                }
            )*
        }
    };
}

primitive_schemas! {
    /// `Schema.INT8_SCHEMA`.
    INT8 = Int8, false;
    /// `Schema.INT16_SCHEMA`.
    INT16 = Int16, false;
    /// `Schema.INT32_SCHEMA`.
    INT32 = Int32, false;
    /// `Schema.INT64_SCHEMA`.
    INT64 = Int64, false;
    /// `Schema.FLOAT32_SCHEMA`.
    FLOAT32 = Float32, false;
    /// `Schema.FLOAT64_SCHEMA`.
    FLOAT64 = Float64, false;
    /// `Schema.BOOLEAN_SCHEMA`.
    BOOLEAN = Boolean, false;
    /// `Schema.STRING_SCHEMA`.
    STRING = String, false;
    /// `Schema.BYTES_SCHEMA`.
    BYTES = Bytes, false;
    /// `Schema.OPTIONAL_INT8_SCHEMA`.
    OPTIONAL_INT8 = Int8, true;
    /// `Schema.OPTIONAL_INT16_SCHEMA`.
    OPTIONAL_INT16 = Int16, true;
    /// `Schema.OPTIONAL_INT32_SCHEMA`.
    OPTIONAL_INT32 = Int32, true;
    /// `Schema.OPTIONAL_INT64_SCHEMA`.
    OPTIONAL_INT64 = Int64, true;
    /// `Schema.OPTIONAL_FLOAT32_SCHEMA`.
    OPTIONAL_FLOAT32 = Float32, true;
    /// `Schema.OPTIONAL_FLOAT64_SCHEMA`.
    OPTIONAL_FLOAT64 = Float64, true;
    /// `Schema.OPTIONAL_BOOLEAN_SCHEMA`.
    OPTIONAL_BOOLEAN = Boolean, true;
    /// `Schema.OPTIONAL_STRING_SCHEMA`.
    OPTIONAL_STRING = String, true;
    /// `Schema.OPTIONAL_BYTES_SCHEMA`.
    OPTIONAL_BYTES = Bytes, true;
}

impl Schema {
    fn primitive(ty: Type, optional: bool) -> Schema {
        Schema(Arc::new(Inner {
            ty,
            optional,
            default: None,
            name: None,
            version: None,
            doc: None,
            parameters: None,
            fields: Vec::new(),
            key_schema: None,
            value_schema: None,
        }))
    }

    /// The type.
    pub fn type_(&self) -> Type {
        self.0.ty
    }

    /// Whether null is allowed.
    pub fn is_optional(&self) -> bool {
        self.0.optional
    }

    /// The default value, if any.
    pub fn default_value(&self) -> Option<&Value> {
        self.0.default.as_ref()
    }

    /// The name (logical types use theirs: `org.apache.kafka.connect.data.Decimal`, ...).
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// The version.
    pub fn version(&self) -> Option<i32> {
        self.0.version
    }

    /// The documentation.
    pub fn doc(&self) -> Option<&str> {
        self.0.doc.as_deref()
    }

    /// Parameters in insertion order (`None` when never set, as in Java).
    pub fn parameters(&self) -> Option<&[(String, String)]> {
        self.0.parameters.as_deref()
    }

    /// One parameter.
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.0
            .parameters
            .as_ref()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The fields of a STRUCT schema (empty for other types).
    pub fn fields(&self) -> &[Field] {
        &self.0.fields
    }

    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.0.fields.iter().find(|f| f.name == name)
    }

    /// The key schema of a MAP.
    pub fn key_schema(&self) -> Option<&Schema> {
        self.0.key_schema.as_ref()
    }

    /// The element schema of an ARRAY, the value schema of a MAP.
    pub fn value_schema(&self) -> Option<&Schema> {
        self.0.value_schema.as_ref()
    }

    /// A builder initialised from this schema (all attributes copied), for changes such as
    /// making a copy optional.
    pub fn to_builder(&self) -> SchemaBuilder {
        let i = &*self.0;
        SchemaBuilder {
            ty: i.ty,
            optional: Some(i.optional),
            default: i.default.clone(),
            name: i.name.clone(),
            version: i.version,
            doc: i.doc.clone(),
            parameters: i.parameters.clone(),
            fields: i.fields.clone(),
            key_schema: i.key_schema.clone(),
            value_schema: i.value_schema.clone(),
        }
    }

    /// `ConnectSchema.validateValue(schema, value)`.
    pub fn validate_value(&self, value: &Value) -> Result<(), DataError> {
        validate(self, value, &Location::Value)
    }

    /// `ConnectSchema.validateValue(field, schema, value)`: errors name the field.
    pub fn validate_field_value(&self, field: &str, value: &Value) -> Result<(), DataError> {
        validate(self, value, &Location::Field(field.to_owned()))
    }
}

/// Where a value sits, for error messages (`field: "age"`, `element of array value`, ...).
#[derive(Debug, Clone)]
enum Location {
    Value,
    Field(String),
    Nested(&'static str, Box<Location>),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Value => f.write_str("value"),
            Location::Field(n) => write!(f, "field: \"{n}\""),
            Location::Nested(what, inner) => write!(f, "{what} {inner}"),
        }
    }
}

fn validate(schema: &Schema, value: &Value, location: &Location) -> Result<(), DataError> {
    if value.is_null() {
        if !schema.is_optional() {
            return Err(DataError::NullForRequired {
                location: location.to_string(),
                schema_type: schema.type_(),
            });
        }
        return Ok(());
    }
    if !super::value::value_matches_schema_class(schema, value) {
        return Err(DataError::InvalidValueForSchema {
            schema_name: schema.name().map(str::to_owned),
            schema_type: schema.type_(),
            value_kind: value.kind(),
            location: location.to_string(),
        });
    }
    match value {
        Value::Struct(s) => {
            if s.schema() != schema {
                return Err(DataError::StructSchemaMismatch);
            }
            s.validate()?;
        }
        Value::Array(items) => {
            let loc = Location::Nested("element of array", Box::new(location.clone()));
            let elem = schema
                .value_schema()
                .ok_or_else(|| DataError::NoSchemaFor(loc.to_string()))?;
            for item in items {
                validate(elem, item, &loc)?;
            }
        }
        Value::Map(entries) => {
            let kloc = Location::Nested("key of map", Box::new(location.clone()));
            let vloc = Location::Nested("value of map", Box::new(location.clone()));
            let ks = schema
                .key_schema()
                .ok_or_else(|| DataError::NoSchemaFor(kloc.to_string()))?;
            let vs = schema
                .value_schema()
                .ok_or_else(|| DataError::NoSchemaFor(vloc.to_string()))?;
            for (k, v) in entries {
                validate(ks, k, &kloc)?;
                validate(vs, v, &vloc)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Builds a [`Schema`] (`SchemaBuilder`). Setting an attribute twice to different values is
/// an error, as in Kafka; errors surface from [`SchemaBuilder::build`] or the setter that
/// returns `Result`.
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    ty: Type,
    optional: Option<bool>,
    default: Option<Value>,
    name: Option<String>,
    version: Option<i32>,
    doc: Option<String>,
    parameters: Option<Vec<(String, String)>>,
    fields: Vec<Field>,
    key_schema: Option<Schema>,
    value_schema: Option<Schema>,
}

impl SchemaBuilder {
    /// A builder for any type. ARRAY/MAP builders made this way have no element schemas
    /// (`Values` uses such schemas for all-null collections); prefer [`SchemaBuilder::array`]
    /// and [`SchemaBuilder::map`].
    pub fn new(ty: Type) -> Self {
        SchemaBuilder {
            ty,
            optional: None,
            default: None,
            name: None,
            version: None,
            doc: None,
            parameters: None,
            fields: Vec::new(),
            key_schema: None,
            value_schema: None,
        }
    }

    /// `SchemaBuilder.int8()`.
    pub fn int8() -> Self {
        Self::new(Type::Int8)
    }
    /// `SchemaBuilder.int16()`.
    pub fn int16() -> Self {
        Self::new(Type::Int16)
    }
    /// `SchemaBuilder.int32()`.
    pub fn int32() -> Self {
        Self::new(Type::Int32)
    }
    /// `SchemaBuilder.int64()`.
    pub fn int64() -> Self {
        Self::new(Type::Int64)
    }
    /// `SchemaBuilder.float32()`.
    pub fn float32() -> Self {
        Self::new(Type::Float32)
    }
    /// `SchemaBuilder.float64()`.
    pub fn float64() -> Self {
        Self::new(Type::Float64)
    }
    /// `SchemaBuilder.bool()`.
    pub fn boolean() -> Self {
        Self::new(Type::Boolean)
    }
    /// `SchemaBuilder.string()`.
    pub fn string() -> Self {
        Self::new(Type::String)
    }
    /// `SchemaBuilder.bytes()`.
    pub fn bytes() -> Self {
        Self::new(Type::Bytes)
    }
    /// `SchemaBuilder.struct()`.
    pub fn struct_() -> Self {
        Self::new(Type::Struct)
    }
    /// `SchemaBuilder.array(valueSchema)`.
    pub fn array(value_schema: Schema) -> Self {
        let mut b = Self::new(Type::Array);
        b.value_schema = Some(value_schema);
        b
    }
    /// `SchemaBuilder.map(keySchema, valueSchema)`.
    pub fn map(key_schema: Schema, value_schema: Schema) -> Self {
        let mut b = Self::new(Type::Map);
        b.key_schema = Some(key_schema);
        b.value_schema = Some(value_schema);
        b
    }
    /// A MAP with only a key schema (`Values` infers these for maps whose values are all null).
    pub(crate) fn map_with_null_values(key_schema: Schema) -> Self {
        let mut b = Self::new(Type::Map);
        b.key_schema = Some(key_schema);
        b
    }

    /// The type being built.
    pub fn type_(&self) -> Type {
        self.ty
    }

    /// Whether `optional()` was called.
    pub fn is_optional(&self) -> bool {
        self.optional == Some(true)
    }

    /// The name set so far.
    pub fn get_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Parameters set so far.
    pub fn get_parameters(&self) -> Option<&[(String, String)]> {
        self.parameters.as_deref()
    }

    fn check_can_set<T: PartialEq>(field: &'static str, cur: &Option<T>, new: &T) -> Result<(), DataError> {
        match cur {
            Some(c) if c != new => Err(DataError::Builder(format!(
                "Invalid SchemaBuilder call: {field} has already been set."
            ))),
            _ => Ok(()),
        }
    }

    /// Allows null.
    pub fn optional(mut self) -> Self {
        self.optional = Some(true);
        self
    }

    /// Forbids null (the default).
    pub fn required(mut self) -> Self {
        self.optional = Some(false);
        self
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the name, failing if a different one is already set (Kafka's check).
    pub fn try_name(self, name: impl Into<String>) -> Result<Self, DataError> {
        let name = name.into();
        Self::check_can_set("name", &self.name, &name)?;
        Ok(self.name(name))
    }

    /// Sets the version.
    pub fn version(mut self, version: i32) -> Self {
        self.version = Some(version);
        self
    }

    /// Sets the documentation.
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.doc = Some(doc.into());
        self
    }

    /// Adds (or replaces) a parameter, keeping insertion order.
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        let params = self.parameters.get_or_insert_with(Vec::new);
        match params.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => params.push((key, value)),
        }
        self
    }

    /// Sets the default value; it must be valid for the schema built so far
    /// ("Invalid default value" otherwise, as SchemaBuilder.defaultValue).
    pub fn default_value(mut self, value: Value) -> Result<Self, DataError> {
        if self.default.is_some() && self.default.as_ref() != Some(&value) {
            return Err(DataError::Builder(
                "Invalid SchemaBuilder call: default has already been set.".to_owned(),
            ));
        }
        let probe = self.clone().build_unchecked();
        probe
            .validate_value(&value)
            .map_err(|e| DataError::InvalidDefault(Box::new(e)))?;
        self.default = if value.is_null() { None } else { Some(value) };
        Ok(self)
    }

    /// Adds a struct field. Errors: not a struct, empty name, a name used twice.
    pub fn field(mut self, name: impl Into<String>, schema: Schema) -> Result<Self, DataError> {
        let name = name.into();
        if self.ty != Type::Struct {
            return Err(DataError::Builder(format!(
                "Cannot create fields on type {}",
                self.ty
            )));
        }
        if name.is_empty() {
            return Err(DataError::Builder("fieldName cannot be null.".to_owned()));
        }
        if self.fields.iter().any(|f| f.name == name) {
            return Err(DataError::Builder(format!(
                "Cannot create field because of field name duplication {name}"
            )));
        }
        let index = self.fields.len();
        self.fields.push(Field::new(name, index, schema));
        Ok(self)
    }

    fn build_unchecked(self) -> Schema {
        Schema(Arc::new(Inner {
            ty: self.ty,
            optional: self.optional == Some(true),
            default: self.default,
            name: self.name,
            version: self.version,
            doc: self.doc,
            parameters: self.parameters,
            fields: self.fields,
            key_schema: self.key_schema,
            value_schema: self.value_schema,
        }))
    }

    /// The schema.
    pub fn build(self) -> Schema {
        self.build_unchecked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_is_structural_and_parameters_are_a_map() {
        let a = SchemaBuilder::bytes()
            .parameter("a", "1")
            .parameter("b", "2")
            .build();
        let b = SchemaBuilder::bytes()
            .parameter("b", "2")
            .parameter("a", "1")
            .build();
        assert_eq!(a, b);
        assert_eq!(a.parameters().unwrap()[0].0, "a", "insertion order kept");
        assert_ne!(a, SchemaBuilder::bytes().parameter("a", "1").build());
        assert_ne!(Schema::INT32(), Schema::OPTIONAL_INT32());
        assert_eq!(Schema::INT32(), SchemaBuilder::int32().build());
        assert_ne!(Schema::INT32(), SchemaBuilder::int32().version(1).build());
    }

    #[test]
    fn builder_rejects_duplicate_fields_and_bad_defaults() {
        let err = SchemaBuilder::struct_()
            .field("a", Schema::INT32())
            .unwrap()
            .field("a", Schema::STRING())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot create field because of field name duplication a"
        );
        let err = SchemaBuilder::int32().field("a", Schema::INT32()).unwrap_err();
        assert_eq!(err.to_string(), "Cannot create fields on type INT32");
        let err = SchemaBuilder::int32()
            .default_value(Value::String("x".into()))
            .unwrap_err();
        assert!(err.to_string().starts_with("Invalid default value"), "{err}");
        assert!(SchemaBuilder::int32().default_value(Value::Int32(3)).is_ok());
        let err = SchemaBuilder::int32().name("a").try_name("b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid SchemaBuilder call: name has already been set."
        );
    }

    #[test]
    fn validate_names_field_and_type() {
        let e = Schema::INT32()
            .validate_field_value("age", &Value::Null)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value: null used for required field: \"age\", schema type: INT32"
        );
        let e = Schema::INT32()
            .validate_field_value("age", &Value::String("x".into()))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value for schema with type INT32: String for field: \"age\""
        );
        let arr = SchemaBuilder::array(Schema::STRING()).build();
        let e = arr
            .validate_field_value(
                "tags",
                &Value::Array(vec![Value::String("a".into()), Value::Null]),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value: null used for required element of array field: \"tags\", schema type: STRING"
        );
        let m = SchemaBuilder::map(Schema::STRING(), Schema::INT64()).build();
        let e = m
            .validate_value(&Value::Map(vec![(Value::String("k".into()), Value::Int32(1))]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value for schema with type INT64: Int32 for value of map value"
        );
        assert!(Schema::OPTIONAL_STRING().validate_value(&Value::Null).is_ok());
    }
}
