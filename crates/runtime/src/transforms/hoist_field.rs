//! `HoistField$Key` / `HoistField$Value`: wraps the key or value in a one-field struct (with a
//! schema) or map (schemaless) under `field`.
//!
//! ```text
//!  schemaless  42                 ── field=magic ──▶ {"magic": 42}
//!  schema'd    INT32 42           ── field=magic ──▶ Struct{magic: INT32} {magic=42}
//! ```

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance};
use crate::data::{Record, SchemaBuilder, Struct, Value};

use super::util::{parse, Side};
use super::{TransformError, Transformation};

/// `org.apache.kafka.connect.transforms.HoistField$Key` / `$Value`.
#[derive(Debug, Clone)]
pub struct HoistField {
    side: Side,
    field: String,
}

impl HoistField {
    /// Kafka's class name prefix (`$Key`/`$Value` appended).
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.HoistField";

    /// The transform for one side of the record.
    pub fn new(side: Side) -> Self {
        HoistField {
            side,
            field: String::new(),
        }
    }

    /// The keys: `field` (required).
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(ConfigKey::required(
            "field",
            ConfigType::String,
            Importance::Medium,
            "Field name for the single field that will be created in the resulting Struct or Map.",
        ))
    }
}

impl<R: Record> Transformation<R> for HoistField {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        self.field = parse(&Self::config_def(), props)?
            .string("field")
            .unwrap_or_default()
            .to_owned();
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let r = record.record_mut();
        let schema = self.side.schema(r).cloned();
        let value = self.side.take_value(r);
        match schema {
            None => {
                let map = Value::Map(vec![(Value::String(self.field.clone()), value)]);
                self.side.set(r, None, map);
            }
            Some(schema) => {
                let updated = SchemaBuilder::struct_()
                    .field(self.field.clone(), schema)?
                    .build();
                let s = Struct::new(updated.clone())?.with(&self.field, value)?;
                self.side.set(r, Some(updated), Value::Struct(s));
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, SinkRecord};
    use crate::transforms::test_support::{props, sink, smap};

    fn xform(side: Side) -> HoistField {
        let mut t = HoistField::new(side);
        Transformation::<SinkRecord>::configure(&mut t, &props(&[("field", "magic")])).unwrap();
        t
    }

    #[test]
    fn schemaless() {
        let out = xform(Side::Key)
            .apply(sink(None, Value::Int32(42), None, Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.key_schema, None);
        assert_eq!(out.record.key, smap(vec![("magic", Value::Int32(42))]));
    }

    #[test]
    fn with_schema() {
        let out = xform(Side::Key)
            .apply(sink(Some(Schema::INT32()), Value::Int32(42), None, Value::Null))
            .unwrap()
            .unwrap();
        let ks = out.record.key_schema.clone().unwrap();
        assert_eq!(ks.field("magic").unwrap().schema(), &Schema::INT32());
        assert_eq!(
            out.record.key.as_struct().unwrap().get("magic").unwrap(),
            &Value::Int32(42)
        );
        let out = xform(Side::Value)
            .apply(sink(None, Value::Null, Some(Schema::STRING()), Value::from("x")))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.record.value.as_struct().unwrap().get("magic").unwrap(),
            &Value::from("x")
        );
    }
}
