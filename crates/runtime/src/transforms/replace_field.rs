//! `ReplaceField$Key` / `ReplaceField$Value`: keeps (`include`), drops (`exclude`) and
//! renames (`renames=old:new,...`) top-level fields. `exclude` wins over `include`; an empty
//! `include` keeps everything not excluded.
//!
//! ```text
//!  {"dont": 1, "abc": 2, "foo": 3, "etc": 4}
//!     ── exclude=dont, renames=abc:xyz,foo:bar ──▶ {"xyz": 2, "bar": 3, "etc": 4}
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance, Validator};
use crate::data::{Record, Struct, Value};

use super::util::{
    copy_struct_basics, field_value, parse, replace_null_with_default_key, require_map, require_struct, Side,
};
use super::{TransformError, Transformation};

const PURPOSE: &str = "field replacement";

/// `org.apache.kafka.connect.transforms.ReplaceField$Key` / `$Value`.
#[derive(Debug, Clone)]
pub struct ReplaceField {
    side: Side,
    exclude: Vec<String>,
    include: Vec<String>,
    renames: Vec<(String, String)>,
    replace_null_with_default: bool,
}

fn parse_renames(items: &[String]) -> Result<Vec<(String, String)>, String> {
    items
        .iter()
        .map(|m| match m.split(':').collect::<Vec<_>>()[..] {
            [from, to] => Ok((from.to_owned(), to.to_owned())),
            _ => Err(format!("Invalid rename mapping: {m}")),
        })
        .collect()
}

impl ReplaceField {
    /// Kafka's class name prefix (`$Key`/`$Value` appended).
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.ReplaceField";

    /// The transform for one side of the record.
    pub fn new(side: Side) -> Self {
        ReplaceField {
            side,
            exclude: Vec::new(),
            include: Vec::new(),
            renames: Vec::new(),
            replace_null_with_default: true,
        }
    }

    /// The keys: `exclude`, `include`, `renames` (all empty lists by default),
    /// `replace.null.with.default`.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new(
                "exclude",
                ConfigType::List,
                Some(""),
                Importance::Medium,
                "Fields to exclude. This takes precedence over the fields to include.",
            ))
            .define(ConfigKey::new(
                "include",
                ConfigType::List,
                Some(""),
                Importance::Medium,
                "Fields to include. If specified, only these fields will be used.",
            ))
            .define(
                ConfigKey::new(
                    "renames",
                    ConfigType::List,
                    Some(""),
                    Importance::Medium,
                    "Field rename mappings.",
                )
                .validate(Validator::Custom(Arc::new(|v: &ConfigValue| match v {
                    ConfigValue::List(items) => parse_renames(items).map(|_| ()),
                    _ => Ok(()),
                }))),
            )
            .define(replace_null_with_default_key())
    }

    fn keep(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name)
            && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames
            .iter()
            .find(|(from, _)| from == name)
            .map_or(name, |(_, to)| to.as_str())
    }
}

impl<R: Record> Transformation<R> for ReplaceField {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.exclude = p.list("exclude").to_vec();
        self.include = p.list("include").to_vec();
        self.renames = parse_renames(p.list("renames")).map_err(TransformError::InvalidConfig)?;
        self.replace_null_with_default = p.boolean("replace.null.with.default");
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        if self.side.value(record.record()).is_null() {
            return Ok(Some(record));
        }
        let r = record.record_mut();
        let schema = self.side.schema(r).cloned();
        let value = self.side.take_value(r);
        match schema {
            None => {
                let map = require_map(value, PURPOSE)?;
                let out = map
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let name = k.as_str()?.to_owned();
                        self.keep(&name)
                            .then(|| (Value::String(self.renamed(&name).to_owned()), v))
                    })
                    .collect();
                self.side.set(r, None, Value::Map(out));
            }
            Some(schema) => {
                let s = require_struct(value, PURPOSE)?;
                let mut b = copy_struct_basics(&schema);
                for f in schema.fields().iter().filter(|f| self.keep(f.name())) {
                    b = b.field(self.renamed(f.name()), f.schema().clone())?;
                }
                let updated = b.build();
                let mut out = Struct::new(updated.clone())?;
                for f in schema.fields().iter().filter(|f| self.keep(f.name())) {
                    out.put(
                        self.renamed(f.name()),
                        field_value(&s, f.index(), self.replace_null_with_default),
                    )?;
                }
                self.side.set(r, Some(updated), Value::Struct(out));
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

    fn xform(kv: &[(&str, &str)]) -> ReplaceField {
        let mut t = ReplaceField::new(Side::Value);
        Transformation::<SinkRecord>::configure(&mut t, &props(kv)).unwrap();
        t
    }

    #[test]
    fn schemaless() {
        let mut t = xform(&[("exclude", "dont"), ("renames", "abc:xyz,foo:bar")]);
        let v = smap(vec![
            ("dont", Value::from("whatever")),
            ("abc", Value::Int32(42)),
            ("foo", Value::Boolean(true)),
            ("etc", Value::from("etc")),
        ]);
        let out = t.apply(sink(None, Value::Null, None, v)).unwrap().unwrap();
        assert_eq!(
            out.record.value,
            smap(vec![
                ("xyz", Value::Int32(42)),
                ("bar", Value::Boolean(true)),
                ("etc", Value::from("etc"))
            ])
        );
    }

    #[test]
    fn with_schema_include_and_rename() {
        let mut t = xform(&[("include", "abc,foo"), ("renames", "abc:xyz,foo:bar")]);
        let vs = SchemaBuilder::struct_()
            .field("dont", Schema::STRING())
            .unwrap()
            .field("abc", Schema::INT32())
            .unwrap()
            .field("foo", Schema::BOOLEAN())
            .unwrap()
            .field("etc", Schema::STRING())
            .unwrap()
            .build();
        let v = Struct::new(vs.clone())
            .unwrap()
            .with("dont", "whatever")
            .unwrap()
            .with("abc", 42i32)
            .unwrap()
            .with("foo", true)
            .unwrap()
            .with("etc", "etc")
            .unwrap();
        let out = t
            .apply(sink(None, Value::Null, Some(vs), v.into()))
            .unwrap()
            .unwrap();
        let s = out.record.value_schema.clone().unwrap();
        let names: Vec<_> = s.fields().iter().map(|f| f.name()).collect();
        assert_eq!(names, ["xyz", "bar"]);
        let v = out.record.value.as_struct().unwrap();
        assert_eq!(v.get("xyz").unwrap(), &Value::Int32(42));
        assert_eq!(v.get("bar").unwrap(), &Value::Boolean(true));
    }

    #[test]
    fn bad_rename_and_tombstone() {
        let mut t = ReplaceField::new(Side::Value);
        let e = Transformation::<SinkRecord>::configure(&mut t, &props(&[("renames", "abc:xyz,foo")]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value abc:xyz,foo for configuration renames: Invalid rename mapping: foo"
        );
        let mut t = xform(&[("exclude", "a")]);
        let out = t
            .apply(sink(None, Value::Null, None, Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.value, Value::Null);
    }
}
