//! `MaskField$Key` / `MaskField$Value`: replaces the listed fields with their type's
//! null-equivalent (0, false, "", empty list/map, epoch) or with `replacement` converted to
//! the field's type.
//!
//! ```text
//!  {"magic": 42, "s": "secret"} ── fields=magic,s ──────────────────▶ {"magic": 0, "s": ""}
//!  {"magic": 42, "s": "secret"} ── fields=s, replacement=****** ────▶ {"magic": 42, "s": "******"}
//! ```

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance, Validator};
use crate::data::{BigDecimal, Record, Struct, Value};

use super::drop_headers::non_empty_list;
use super::util::{
    field_value, java_class_name, map_get, map_put, parse, replace_null_with_default_key, require_map,
    require_struct, Side,
};
use super::{TransformError, Transformation};

const PURPOSE: &str = "mask fields";

/// `org.apache.kafka.connect.transforms.MaskField$Key` / `$Value`.
#[derive(Debug, Clone)]
pub struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

impl MaskField {
    /// Kafka's class name prefix (`$Key`/`$Value` appended).
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.MaskField";

    /// The transform for one side of the record.
    pub fn new(side: Side) -> Self {
        MaskField {
            side,
            fields: Vec::new(),
            replacement: None,
            replace_null_with_default: true,
        }
    }

    /// The keys: `fields` (required, non-empty), `replacement` (null: the type's
    /// null-equivalent), `replace.null.with.default`.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::required(
                    "fields",
                    ConfigType::List,
                    Importance::High,
                    "Names of fields to mask.",
                )
                .validate(non_empty_list()),
            )
            .define(
                ConfigKey::new(
                    "replacement",
                    ConfigType::String,
                    None,
                    Importance::Low,
                    "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty \
                     string values only).",
                )
                // Kafka's NonEmptyString accepts null (the default) and rejects only "".
                .validate(Validator::Custom(std::sync::Arc::new(|v: &ConfigValue| match v.as_str() {
                    Some("") => Err("String may not be empty".to_owned()),
                    _ => Ok(()),
                }))),
            )
            .define(replace_null_with_default_key())
    }

    fn masked(&self, v: Value) -> Result<Value, TransformError> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        match &self.replacement {
            None => null_equivalent(&v),
            Some(rep) => with_replacement(&v, rep),
        }
    }
}

fn null_equivalent(v: &Value) -> Result<Value, TransformError> {
    Ok(match v {
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::Decimal(d) => Value::Decimal(BigDecimal::from_i128(0, d.scale())),
        Value::Date(_) => Value::Date(0),
        Value::Time(_) => Value::Time(0),
        Value::Timestamp(_) => Value::Timestamp(0),
        Value::String(_) => Value::String(String::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        other => {
            return Err(TransformError::Data(format!(
                "Cannot mask value of type: class {}",
                java_class_name(other)
            )))
        }
    })
}

fn with_replacement(v: &Value, rep: &str) -> Result<Value, TransformError> {
    let bad_number = || {
        TransformError::Data(format!(
            "Unable to convert {rep} (class java.lang.String) to number"
        ))
    };
    Ok(match v {
        Value::String(_) => Value::String(rep.to_owned()),
        Value::Int8(_) => Value::Int8(rep.parse().map_err(|_| bad_number())?),
        Value::Int16(_) => Value::Int16(rep.parse().map_err(|_| bad_number())?),
        Value::Int32(_) => Value::Int32(rep.parse().map_err(|_| bad_number())?),
        Value::Int64(_) => Value::Int64(rep.parse().map_err(|_| bad_number())?),
        Value::Float32(_) => Value::Float32(rep.parse().map_err(|_| bad_number())?),
        Value::Float64(_) => Value::Float64(rep.parse().map_err(|_| bad_number())?),
        Value::Decimal(_) => Value::Decimal(BigDecimal::parse(rep).map_err(|_| bad_number())?),
        other => {
            return Err(TransformError::Data(format!(
                "Cannot mask value of type class {} with custom replacement.",
                java_class_name(other)
            )))
        }
    })
}

impl<R: Record> Transformation<R> for MaskField {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.fields = p.list("fields").to_vec();
        self.replacement = p.string("replacement").map(str::to_owned);
        self.replace_null_with_default = p.boolean("replace.null.with.default");
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let r = record.record_mut();
        let schema = self.side.schema(r).cloned();
        let value = self.side.take_value(r);
        match schema {
            None => {
                let mut map = require_map(value, PURPOSE)?;
                for f in &self.fields {
                    let v = map_get(&map, f).cloned().unwrap_or(Value::Null);
                    map_put(&mut map, f, self.masked(v)?);
                }
                self.side.set(r, None, Value::Map(map));
            }
            Some(schema) => {
                let s = require_struct(value, PURPOSE)?;
                let mut out = Struct::new(s.schema().clone())?;
                for f in s.schema().fields() {
                    let v = field_value(&s, f.index(), self.replace_null_with_default);
                    let v = if self.fields.iter().any(|m| m == f.name()) {
                        self.masked(v)?
                    } else {
                        v
                    };
                    out.put(f.name(), v)?;
                }
                self.side.set(r, Some(schema), Value::Struct(out));
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, SchemaBuilder, SinkRecord};
    use crate::transforms::test_support::{props, sink, smap};

    fn xform(kv: &[(&str, &str)]) -> MaskField {
        let mut t = MaskField::new(Side::Value);
        Transformation::<SinkRecord>::configure(&mut t, &props(kv)).unwrap();
        t
    }

    #[test]
    fn schemaless_null_equivalents() {
        let mut t = xform(&[("fields", "int,str,bool,arr,map,missing")]);
        let v = smap(vec![
            ("int", Value::Int32(42)),
            ("str", Value::from("secret")),
            ("bool", Value::Boolean(true)),
            ("arr", Value::Array(vec![Value::Int32(1)])),
            ("map", smap(vec![("k", Value::Int32(1))])),
            ("keep", Value::from("visible")),
        ]);
        let out = t.apply(sink(None, Value::Null, None, v)).unwrap().unwrap();
        assert_eq!(
            out.record.value,
            smap(vec![
                ("int", Value::Int32(0)),
                ("str", Value::from("")),
                ("bool", Value::Boolean(false)),
                ("arr", Value::Array(vec![])),
                ("map", Value::Map(vec![])),
                ("keep", Value::from("visible")),
                ("missing", Value::Null),
            ])
        );
    }

    #[test]
    fn with_schema_and_replacement() {
        let mut t = xform(&[("fields", "s,n"), ("replacement", "123")]);
        let vs = SchemaBuilder::struct_()
            .field("s", Schema::STRING())
            .unwrap()
            .field("n", Schema::INT64())
            .unwrap()
            .field("keep", Schema::INT32())
            .unwrap()
            .build();
        let v = Struct::new(vs.clone())
            .unwrap()
            .with("s", "secret")
            .unwrap()
            .with("n", 7i64)
            .unwrap()
            .with("keep", 1i32)
            .unwrap();
        let out = t
            .apply(sink(None, Value::Null, Some(vs), v.into()))
            .unwrap()
            .unwrap();
        let v = out.record.value.as_struct().unwrap();
        assert_eq!(v.get("s").unwrap(), &Value::from("123"));
        assert_eq!(v.get("n").unwrap(), &Value::Int64(123));
        assert_eq!(v.get("keep").unwrap(), &Value::Int32(1));
    }

    #[test]
    fn replacement_errors() {
        let mut t = xform(&[("fields", "n"), ("replacement", "***")]);
        let e = t
            .apply(sink(None, Value::Null, None, smap(vec![("n", Value::Int32(1))])))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unable to convert *** (class java.lang.String) to number"
        );
        let mut t = xform(&[("fields", "b"), ("replacement", "x")]);
        let e = t
            .apply(sink(
                None,
                Value::Null,
                None,
                smap(vec![("b", Value::Boolean(true))]),
            ))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot mask value of type class java.lang.Boolean with custom replacement."
        );
        let e = t.apply(sink(None, Value::Null, None, Value::Null)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only Map objects supported in absence of schema for [mask fields], found: null"
        );
        let mut m = MaskField::new(Side::Value);
        let e =
            Transformation::<SinkRecord>::configure(&mut m, &props(&[("fields", "a"), ("replacement", "")]))
                .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value  for configuration replacement: String may not be empty"
        );
    }
}
