//! `ValueToKey`: replaces the key with a struct (or map) of the listed value fields.
//!
//! ```text
//!  value {"a": 1, "b": 2, "c": 3} ── fields=a,b ──▶ key {"a": 1, "b": 2}
//!  value Struct{a,b,c}            ── fields=a,b ──▶ key Struct{a,b} (schemas copied)
//! ```

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance};
use crate::data::{Record, SchemaBuilder, Struct, Value};

use super::drop_headers::non_empty_list;
use super::util::{field_value, map_get, parse, replace_null_with_default_key, require_map, require_struct};
use super::{TransformError, Transformation};

const PURPOSE: &str = "copying fields from value to key";

/// `org.apache.kafka.connect.transforms.ValueToKey`.
#[derive(Debug, Clone)]
pub struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
}

impl Default for ValueToKey {
    fn default() -> Self {
        ValueToKey {
            fields: Vec::new(),
            replace_null_with_default: true,
        }
    }
}

impl ValueToKey {
    /// Kafka's class name.
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.ValueToKey";

    /// The keys: `fields` (required, non-empty), `replace.null.with.default`.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::required(
                    "fields",
                    ConfigType::List,
                    Importance::High,
                    "Field names on the record value to extract as the record key.",
                )
                .validate(non_empty_list()),
            )
            .define(replace_null_with_default_key())
    }
}

impl<R: Record> Transformation<R> for ValueToKey {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.fields = p.list("fields").to_vec();
        self.replace_null_with_default = p.boolean("replace.null.with.default");
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let r = record.record_mut();
        match r.value_schema.clone() {
            None => {
                let map = require_map(r.value.clone(), PURPOSE)?;
                let key = self
                    .fields
                    .iter()
                    .map(|f| {
                        (
                            Value::String(f.clone()),
                            map_get(&map, f).cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect();
                r.key_schema = None;
                r.key = Value::Map(key);
            }
            Some(vs) => {
                let value = require_struct(r.value.clone(), PURPOSE)?;
                let mut b = SchemaBuilder::struct_();
                for f in &self.fields {
                    let field = vs
                        .field(f)
                        .ok_or_else(|| TransformError::Data(format!("Field does not exist: {f}")))?;
                    b = b.field(f.clone(), field.schema().clone())?;
                }
                let ks = b.build();
                let mut key = Struct::new(ks.clone())?;
                for f in &self.fields {
                    let i = vs.field(f).map(|x| x.index()).unwrap_or_default();
                    key.put(f, field_value(&value, i, self.replace_null_with_default))?;
                }
                r.key_schema = Some(ks);
                r.key = Value::Struct(key);
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

    fn xform() -> ValueToKey {
        let mut t = ValueToKey::default();
        Transformation::<SinkRecord>::configure(&mut t, &props(&[("fields", "a,b")])).unwrap();
        t
    }

    #[test]
    fn schemaless() {
        let v = smap(vec![("a", 1i32.into()), ("b", 2i32.into()), ("c", 3i32.into())]);
        let out = xform()
            .apply(sink(None, Value::Null, None, v.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.key, smap(vec![("a", 1i32.into()), ("b", 2i32.into())]));
        assert_eq!(out.record.value, v);
    }

    #[test]
    fn with_schema() {
        let vs = SchemaBuilder::struct_()
            .field("a", Schema::INT32())
            .unwrap()
            .field("b", Schema::INT32())
            .unwrap()
            .field("c", Schema::INT32())
            .unwrap()
            .build();
        let v = Struct::new(vs.clone())
            .unwrap()
            .with("a", 1i32)
            .unwrap()
            .with("b", 2i32)
            .unwrap()
            .with("c", 3i32)
            .unwrap();
        let out = xform()
            .apply(sink(None, Value::Null, Some(vs.clone()), v.into()))
            .unwrap()
            .unwrap();
        let ks = SchemaBuilder::struct_()
            .field("a", Schema::INT32())
            .unwrap()
            .field("b", Schema::INT32())
            .unwrap()
            .build();
        assert_eq!(out.record.key_schema, Some(ks.clone()));
        let expected = Struct::new(ks)
            .unwrap()
            .with("a", 1i32)
            .unwrap()
            .with("b", 2i32)
            .unwrap();
        assert_eq!(out.record.key, Value::Struct(expected));

        let mut t = ValueToKey::default();
        Transformation::<SinkRecord>::configure(&mut t, &props(&[("fields", "not_exist")])).unwrap();
        let v = Struct::new(vs.clone())
            .unwrap()
            .with("a", 1i32)
            .unwrap()
            .with("b", 2i32)
            .unwrap()
            .with("c", 3i32)
            .unwrap();
        let e = t.apply(sink(None, Value::Null, Some(vs), v.into())).unwrap_err();
        assert_eq!(e.to_string(), "Field does not exist: not_exist");
    }

    #[test]
    fn non_map_schemaless_fails() {
        let e = xform()
            .apply(sink(None, Value::Null, None, Value::from("x")))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only Map objects supported in absence of schema for [copying fields from value to key], found: java.lang.String"
        );
    }
}
