//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the schema's name and/or
//! version; a struct value is rebuilt on the renamed schema.
//!
//! ```text
//!  Schema{STRUCT}  ── schema.name=foo, schema.version=42 ──▶ Schema{foo:STRUCT} version 42
//!  schemaless record ──▶ error "Schema required for [updating schema metadata]"
//! ```

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance};
use crate::data::{Record, Struct, Value};

use super::util::{field_value, parse, replace_null_with_default_key, require_schema, Side};
use super::{TransformError, Transformation};

/// `org.apache.kafka.connect.transforms.SetSchemaMetadata$Key` / `$Value`.
#[derive(Debug, Clone)]
pub struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
}

impl SetSchemaMetadata {
    /// Kafka's class name prefix (`$Key`/`$Value` appended).
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.SetSchemaMetadata";

    /// The transform for one side of the record.
    pub fn new(side: Side) -> Self {
        SetSchemaMetadata {
            side,
            name: None,
            version: None,
            replace_null_with_default: true,
        }
    }

    /// The keys: `schema.name`, `schema.version` (both null by default; one is needed),
    /// `replace.null.with.default`.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new(
                "schema.name",
                ConfigType::String,
                None,
                Importance::High,
                "Schema name to set.",
            ))
            .define(ConfigKey::new(
                "schema.version",
                ConfigType::Int,
                None,
                Importance::High,
                "Schema version to set.",
            ))
            .define(replace_null_with_default_key())
    }
}

impl<R: Record> Transformation<R> for SetSchemaMetadata {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.name = p.string("schema.name").map(str::to_owned);
        self.version = p.long("schema.version").map(|v| v as i32);
        if self.name.is_none() && self.version.is_none() {
            return Err(TransformError::InvalidConfig(
                "Neither schema name nor version configured".into(),
            ));
        }
        self.replace_null_with_default = p.boolean("replace.null.with.default");
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let r = record.record_mut();
        let schema = require_schema(self.side.schema(r), "updating schema metadata")?.clone();
        let mut b = schema.to_builder();
        if let Some(n) = &self.name {
            b = b.name(n.clone());
        }
        if let Some(v) = self.version {
            b = b.version(v);
        }
        let updated = b.build();
        let value = match self.side.take_value(r) {
            // `updateSchemaIn`: a struct is rebuilt on the new schema, anything else is kept.
            Value::Struct(s) => {
                let mut out = Struct::new(updated.clone())?;
                for f in s.schema().fields() {
                    out.put(
                        f.name(),
                        field_value(&s, f.index(), self.replace_null_with_default),
                    )?;
                }
                Value::Struct(out)
            }
            other => other,
        };
        self.side.set(r, Some(updated), value);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, SchemaBuilder, SinkRecord};
    use crate::transforms::test_support::{props, sink};

    #[test]
    fn sets_name_and_version_and_rebuilds_structs() {
        let mut t = SetSchemaMetadata::new(Side::Value);
        Transformation::<SinkRecord>::configure(
            &mut t,
            &props(&[("schema.name", "foo"), ("schema.version", "42")]),
        )
        .unwrap();
        let vs = SchemaBuilder::struct_()
            .field("f1", Schema::INT32())
            .unwrap()
            .build();
        let v = Struct::new(vs.clone()).unwrap().with("f1", 7i32).unwrap();
        let out = t
            .apply(sink(None, Value::Null, Some(vs), v.into()))
            .unwrap()
            .unwrap();
        let s = out.record.value_schema.clone().unwrap();
        assert_eq!((s.name(), s.version()), (Some("foo"), Some(42)));
        let v = out.record.value.as_struct().unwrap();
        assert_eq!(v.schema(), &s);
        assert_eq!(v.get("f1").unwrap(), &Value::Int32(7));
        let out = t
            .apply(sink(None, Value::Null, Some(Schema::INT32()), Value::Int32(1)))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.value_schema.unwrap().name(), Some("foo"));
    }

    #[test]
    fn errors() {
        let mut t = SetSchemaMetadata::new(Side::Key);
        let e = Transformation::<SinkRecord>::configure(&mut t, &props(&[])).unwrap_err();
        assert_eq!(e.to_string(), "Neither schema name nor version configured");
        Transformation::<SinkRecord>::configure(&mut t, &props(&[("schema.name", "foo")])).unwrap();
        let e = t
            .apply(sink(None, Value::Int32(1), None, Value::Null))
            .unwrap_err();
        assert_eq!(e.to_string(), "Schema required for [updating schema metadata]");
    }
}
