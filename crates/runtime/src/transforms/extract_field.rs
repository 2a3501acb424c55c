//! `ExtractField$Key` / `ExtractField$Value`: replaces the key or value with one of its
//! fields. With `field.syntax.version=V2` the field may be a nested path (KIP-821).
//!
//! ```text
//!  schemaless  {"magic": 42, "x": 1}      ── field=magic ──▶ 42            (missing → null)
//!  schema'd    Struct{magic: INT32} {42}  ── field=magic ──▶ INT32 42      (missing → error)
//!  V2          {"a": {"b": 7}}            ── field=a.b ────▶ 7
//! ```

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance};
use crate::data::{Record, Value};

use super::field_path::{field_syntax_version_key, SingleFieldPath, FIELD_SYNTAX_VERSION};
use super::util::{parse, replace_null_with_default_key, require_map_or_null, require_struct_or_null, Side};
use super::{TransformError, Transformation};

const PURPOSE: &str = "field extraction";

/// `org.apache.kafka.connect.transforms.ExtractField$Key` / `$Value`.
#[derive(Debug, Clone)]
pub struct ExtractField {
    side: Side,
    original: String,
    path: SingleFieldPath,
    replace_null_with_default: bool,
}

impl ExtractField {
    /// Kafka's class name prefix (`$Key`/`$Value` appended).
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.ExtractField";

    /// The transform for one side of the record.
    pub fn new(side: Side) -> Self {
        ExtractField {
            side,
            original: String::new(),
            path: SingleFieldPath::new("", "V1").expect("V1 paths always parse"),
            replace_null_with_default: true,
        }
    }

    /// The keys: `field` (required), `field.syntax.version` (V1), `replace.null.with.default`.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::required(
                "field",
                ConfigType::String,
                Importance::Medium,
                "Field name to extract.",
            ))
            .define(field_syntax_version_key())
            .define(replace_null_with_default_key())
    }
}

impl<R: Record> Transformation<R> for ExtractField {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.original = p.string("field").unwrap_or_default().to_owned();
        self.path = SingleFieldPath::new(&self.original, p.string(FIELD_SYNTAX_VERSION).unwrap_or("V1"))?;
        self.replace_null_with_default = p.boolean("replace.null.with.default");
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let r = record.record_mut();
        let schema = self.side.schema(r).cloned();
        let value = self.side.take_value(r);
        match schema {
            None => {
                let extracted = match require_map_or_null(value, PURPOSE)? {
                    None => Value::Null,
                    Some(map) => self.path.value_from_map(&map)?,
                };
                self.side.set(r, None, extracted);
            }
            Some(schema) => {
                let s = require_struct_or_null(value, PURPOSE)?;
                let field = self
                    .path
                    .field_from(&schema)
                    .ok_or_else(|| TransformError::UnknownField(self.original.clone()))?;
                let extracted = match s {
                    None => Value::Null,
                    Some(s) => self.path.value_from_struct(&s, self.replace_null_with_default)?,
                };
                self.side.set(r, Some(field.schema().clone()), extracted);
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, SchemaBuilder, SinkRecord, Struct};
    use crate::transforms::test_support::{props, sink, smap};

    fn xform(side: Side, kv: &[(&str, &str)]) -> ExtractField {
        let mut t = ExtractField::new(side);
        Transformation::<SinkRecord>::configure(&mut t, &props(kv)).unwrap();
        t
    }

    #[test]
    fn schemaless() {
        let mut t = xform(Side::Key, &[("field", "magic")]);
        let key = smap(vec![("magic", Value::Int32(42))]);
        let out = t.apply(sink(None, key, None, Value::Null)).unwrap().unwrap();
        assert_eq!(out.record.key, Value::Int32(42));
        assert_eq!(out.record.key_schema, None);
        // A missing field gives null; a null key stays null.
        let out = t
            .apply(sink(None, smap(vec![]), None, Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.key, Value::Null);
        let out = t
            .apply(sink(None, Value::Null, None, Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.key, Value::Null);
        let e = t
            .apply(sink(None, Value::Int32(1), None, Value::Null))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only Map objects supported in absence of schema for [field extraction], found: java.lang.Integer"
        );
    }

    #[test]
    fn with_schema() {
        let mut t = xform(Side::Key, &[("field", "magic")]);
        let ks = SchemaBuilder::struct_()
            .field("magic", Schema::INT32())
            .unwrap()
            .build();
        let key = Struct::new(ks.clone()).unwrap().with("magic", 42i32).unwrap();
        let out = t
            .apply(sink(Some(ks.clone()), key.into(), None, Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.key_schema, Some(Schema::INT32()));
        assert_eq!(out.record.key, Value::Int32(42));
        let out = t
            .apply(sink(Some(ks.clone()), Value::Null, None, Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(
            (out.record.key_schema, out.record.key),
            (Some(Schema::INT32()), Value::Null)
        );
        let mut t = xform(Side::Key, &[("field", "nonexistent")]);
        let key = Struct::new(ks.clone()).unwrap().with("magic", 42i32).unwrap();
        let e = t
            .apply(sink(Some(ks), key.into(), None, Value::Null))
            .unwrap_err();
        assert_eq!(e.to_string(), "Unknown field: nonexistent");
    }

    #[test]
    fn replace_null_with_default() {
        let ks = SchemaBuilder::struct_()
            .field(
                "magic",
                SchemaBuilder::int32()
                    .optional()
                    .default_value(Value::Int32(42))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build();
        let key: Value = Struct::new(ks.clone()).unwrap().into();
        let mut t = xform(Side::Key, &[("field", "magic")]);
        let out = t
            .apply(sink(Some(ks.clone()), key.clone(), None, Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.key, Value::Int32(42));
        let mut t = xform(
            Side::Key,
            &[("field", "magic"), ("replace.null.with.default", "false")],
        );
        let out = t.apply(sink(Some(ks), key, None, Value::Null)).unwrap().unwrap();
        assert_eq!(out.record.key, Value::Null);
    }

    #[test]
    fn nested_paths_with_v2() {
        let mut t = xform(
            Side::Value,
            &[("field", "magic.foo"), ("field.syntax.version", "V2")],
        );
        let v = smap(vec![("magic", smap(vec![("foo", Value::Int32(42))]))]);
        let out = t
            .apply(sink(None, Value::Null, None, v.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.value, Value::Int32(42));
        // V1 reads "magic.foo" as one top-level name.
        let mut t1 = xform(Side::Value, &[("field", "magic.foo")]);
        let out = t1.apply(sink(None, Value::Null, None, v)).unwrap().unwrap();
        assert_eq!(out.record.value, Value::Null);

        let inner = SchemaBuilder::struct_()
            .field("foo", Schema::INT32())
            .unwrap()
            .build();
        let outer = SchemaBuilder::struct_()
            .field("magic", inner.clone())
            .unwrap()
            .build();
        let s = Struct::new(outer.clone())
            .unwrap()
            .with("magic", Struct::new(inner).unwrap().with("foo", 42i32).unwrap())
            .unwrap();
        let out = t
            .apply(sink(None, Value::Null, Some(outer.clone()), s.clone().into()))
            .unwrap()
            .unwrap();
        assert_eq!(
            (out.record.value_schema, out.record.value),
            (Some(Schema::INT32()), Value::Int32(42))
        );
        let mut bad = xform(
            Side::Value,
            &[("field", "magic.bar"), ("field.syntax.version", "V2")],
        );
        let e = bad
            .apply(sink(None, Value::Null, Some(outer), s.into()))
            .unwrap_err();
        assert_eq!(e.to_string(), "Unknown field: magic.bar");
        let mut t = ExtractField::new(Side::Value);
        let e = Transformation::<SinkRecord>::configure(
            &mut t,
            &props(&[("field", "a"), ("field.syntax.version", "V3")]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value V3 for configuration field.syntax.version: String must be one of (case insensitive): V1, V2"
        );
    }
}
