//! `Flatten$Key` / `Flatten$Value`: flattens nested structs (schema'd) or maps (schemaless)
//! into one level, joining names with `delimiter` (default `.`).
//!
//! ```text
//!  {"A": {"B": {"int16": 2}, "s": "x"}} ── delimiter=. ──▶ {"A.B.int16": 2, "A.s": "x"}
//!  Struct{A: Struct{B: Struct{int16}}}  ──────────────────▶ Struct{"A.B.int16"} (optional if a parent is)
//! ```
//! Arrays and maps inside schema'd records are kept whole, as in Kafka.

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance};
use crate::data::{Record, Schema, SchemaBuilder, Struct, Type, Value};

use super::util::{
    copy_schema_basics_same_type, copy_struct_basics, java_class_name, parse, require_map_or_null,
    require_struct_or_null, Side,
};
use super::{TransformError, Transformation};

const PURPOSE: &str = "flattening";

/// `org.apache.kafka.connect.transforms.Flatten$Key` / `$Value`.
#[derive(Debug, Clone)]
pub struct Flatten {
    side: Side,
    delimiter: String,
}

impl Flatten {
    /// Kafka's class name prefix (`$Key`/`$Value` appended).
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.Flatten";

    /// The transform for one side of the record.
    pub fn new(side: Side) -> Self {
        Flatten {
            side,
            delimiter: ".".into(),
        }
    }

    /// The keys: `delimiter` (`.`).
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(ConfigKey::new(
            "delimiter",
            ConfigType::String,
            Some("."),
            Importance::Medium,
            "Delimiter to insert between field names from the input record when generating field names for the \
             output record",
        ))
    }

    fn name(&self, prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}{}{name}", self.delimiter)
        }
    }

    fn flatten_map(
        &self,
        map: Vec<(Value, Value)>,
        prefix: &str,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<(), TransformError> {
        for (k, v) in map {
            let key = match &k {
                Value::String(s) => s.clone(),
                other => format!("{other:?}"),
            };
            let name = self.name(prefix, &key);
            match v {
                Value::Null => out.push((Value::String(name), Value::Null)),
                Value::Map(inner) => self.flatten_map(inner, &name, out)?,
                Value::Struct(_) => {
                    return Err(TransformError::Data(format!(
                        "Flatten transformation does not support class {} for record without schemas (for field {name}).",
                        java_class_name(&v)
                    )))
                }
                v if v.schemaless_type().is_none() => {
                    return Err(TransformError::Data(format!(
                        "Flatten transformation was passed a value of type class {} which is not supported by \
                         Connect's data API",
                        java_class_name(&v)
                    )))
                }
                v => out.push((Value::String(name), v)),
            }
        }
        Ok(())
    }

    fn flatten_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        mut b: SchemaBuilder,
        optional: bool,
        parent_default: Option<&Struct>,
    ) -> Result<SchemaBuilder, TransformError> {
        for f in schema.fields() {
            let name = self.name(prefix, f.name());
            let fs = f.schema();
            let field_optional = optional || fs.is_optional();
            let default = fs
                .default_value()
                .cloned()
                .or_else(|| parent_default.map(|d| d.get_by_index(f.index()).clone()))
                .filter(|d| !d.is_null());
            if fs.type_() == Type::Struct {
                let d = match &default {
                    Some(Value::Struct(s)) => Some(s),
                    _ => None,
                };
                b = self.flatten_schema(fs, &name, b, field_optional, d)?;
            } else {
                let mut fb = copy_schema_basics_same_type(fs);
                if field_optional {
                    fb = fb.optional();
                }
                if let Some(d) = default {
                    fb = fb.default_value(d)?;
                }
                b = b.field(name, fb.build())?;
            }
        }
        Ok(b)
    }

    fn flatten_struct(&self, s: &Struct, prefix: &str, out: &mut Struct) -> Result<(), TransformError> {
        for f in s.schema().fields() {
            let name = self.name(prefix, f.name());
            let v = &s.values()[f.index()];
            if f.schema().type_() == Type::Struct {
                if let Value::Struct(inner) = v {
                    self.flatten_struct(inner, &name, out)?;
                }
            } else {
                out.put(&name, v.clone())?;
            }
        }
        Ok(())
    }
}

impl<R: Record> Transformation<R> for Flatten {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.delimiter = p.string("delimiter").unwrap_or(".").to_owned();
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let r = record.record_mut();
        let schema = self.side.schema(r).cloned();
        let value = self.side.take_value(r);
        match schema {
            None => {
                let out = match require_map_or_null(value, PURPOSE)? {
                    None => Value::Null,
                    Some(map) => {
                        let mut out = Vec::new();
                        self.flatten_map(map, "", &mut out)?;
                        Value::Map(out)
                    }
                };
                self.side.set(r, None, out);
            }
            Some(schema) => {
                let s = require_struct_or_null(value, PURPOSE)?;
                let default = match schema.default_value() {
                    Some(Value::Struct(d)) => Some(d.clone()),
                    _ => None,
                };
                let mut b = self.flatten_schema(
                    &schema,
                    "",
                    copy_struct_basics(&schema),
                    schema.is_optional(),
                    default.as_ref(),
                )?;
                if schema.is_optional() {
                    b = b.optional();
                }
                let updated = b.build();
                let out = match s {
                    None => Value::Null,
                    Some(s) => {
                        let mut out = Struct::new(updated.clone())?;
                        self.flatten_struct(&s, "", &mut out)?;
                        Value::Struct(out)
                    }
                };
                self.side.set(r, Some(updated), out);
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SinkRecord;
    use crate::transforms::test_support::{props, sink, smap};

    fn xform(side: Side, kv: &[(&str, &str)]) -> Flatten {
        let mut t = Flatten::new(side);
        Transformation::<SinkRecord>::configure(&mut t, &props(kv)).unwrap();
        t
    }

    #[test]
    fn nested_maps() {
        let mut t = xform(Side::Value, &[]);
        let v = smap(vec![(
            "A",
            smap(vec![
                (
                    "B",
                    smap(vec![("int16", Value::Int16(2)), ("s", Value::from("x"))]),
                ),
                ("n", Value::Null),
                ("arr", Value::Array(vec![Value::Int32(1)])),
            ]),
        )]);
        let out = t.apply(sink(None, Value::Null, None, v)).unwrap().unwrap();
        assert_eq!(
            out.record.value,
            smap(vec![
                ("A.B.int16", Value::Int16(2)),
                ("A.B.s", Value::from("x")),
                ("A.n", Value::Null),
                ("A.arr", Value::Array(vec![Value::Int32(1)])),
            ])
        );
        let mut t = xform(Side::Key, &[("delimiter", "#")]);
        let k = smap(vec![("A", smap(vec![("B", Value::Int32(1))]))]);
        let out = t.apply(sink(None, k, None, Value::Null)).unwrap().unwrap();
        assert_eq!(out.record.key, smap(vec![("A#B", Value::Int32(1))]));
    }

    #[test]
    fn nested_structs_and_optionality() {
        let inner = SchemaBuilder::struct_()
            .field("int16", Schema::INT16())
            .unwrap()
            .field("s", Schema::STRING())
            .unwrap()
            .optional()
            .build();
        let outer = SchemaBuilder::struct_()
            .field("A", inner.clone())
            .unwrap()
            .field("top", Schema::INT32())
            .unwrap()
            .build();
        let v = Struct::new(outer.clone())
            .unwrap()
            .with(
                "A",
                Struct::new(inner)
                    .unwrap()
                    .with("int16", 2i16)
                    .unwrap()
                    .with("s", "x")
                    .unwrap(),
            )
            .unwrap()
            .with("top", 9i32)
            .unwrap();
        let mut t = xform(Side::Value, &[]);
        let out = t
            .apply(sink(None, Value::Null, Some(outer), v.into()))
            .unwrap()
            .unwrap();
        let s = out.record.value_schema.clone().unwrap();
        let names: Vec<_> = s.fields().iter().map(|f| f.name()).collect();
        assert_eq!(names, ["A.int16", "A.s", "top"]);
        // The parent struct is optional, so its flattened children are too.
        assert_eq!(s.field("A.int16").unwrap().schema(), &Schema::OPTIONAL_INT16());
        assert_eq!(s.field("top").unwrap().schema(), &Schema::INT32());
        let v = out.record.value.as_struct().unwrap();
        assert_eq!(v.get("A.int16").unwrap(), &Value::Int16(2));
        assert_eq!(v.get("A.s").unwrap(), &Value::from("x"));
        assert_eq!(v.get("top").unwrap(), &Value::Int32(9));
    }

    /// FlattenTest.testOptionalAndDefaultValuesNested: a default on a nested struct becomes
    /// the default of each flattened child; an optional parent makes its children optional.
    #[test]
    fn defaults_from_parent_structs() {
        let inner = SchemaBuilder::struct_()
            .field("req", Schema::STRING())
            .unwrap()
            .field("opt", Schema::OPTIONAL_STRING())
            .unwrap()
            .optional()
            .build();
        let default = Struct::new(inner.clone())
            .unwrap()
            .with("req", "req-default")
            .unwrap();
        let inner_with_default = inner
            .to_builder()
            .default_value(Value::Struct(default))
            .unwrap()
            .build();
        let outer = SchemaBuilder::struct_()
            .field("B", inner_with_default)
            .unwrap()
            .build();
        let v = Struct::new(outer.clone()).unwrap();
        let mut t = xform(Side::Value, &[]);
        let out = t
            .apply(sink(None, Value::Null, Some(outer), v.into()))
            .unwrap()
            .unwrap();
        let s = out.record.value_schema.clone().unwrap();
        let req = s.field("B.req").unwrap().schema();
        assert!(req.is_optional());
        assert_eq!(req.default_value(), Some(&Value::from("req-default")));
        assert_eq!(s.field("B.opt").unwrap().schema(), &Schema::OPTIONAL_STRING());
        // The nested struct was null: the flattened field reads as its default.
        assert_eq!(
            out.record.value.as_struct().unwrap().get("B.req").unwrap(),
            &Value::from("req-default")
        );
    }

    #[test]
    fn errors_and_nulls() {
        let mut t = xform(Side::Value, &[]);
        let e = t
            .apply(sink(None, Value::Null, None, Value::Int32(1)))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only Map objects supported in absence of schema for [flattening], found: java.lang.Integer"
        );
        let out = t
            .apply(sink(None, Value::Null, None, Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.value, Value::Null);
        let e = t
            .apply(sink(None, Value::Null, Some(Schema::INT32()), Value::Int32(1)))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only Struct objects supported for [flattening], found: java.lang.Integer"
        );
    }
}
