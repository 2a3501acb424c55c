//! `HeaderFrom$Key` / `HeaderFrom$Value`: copies or moves fields into headers; `fields[i]`
//! goes to header `headers[i]` (KIP-145). `operation=move` also removes the field.
//!
//! ```text
//!  value {"id": 7, "name": "x"} ── fields=id, headers=ID, operation=move
//!        ──▶ value {"name": "x"}, headers += (ID, INT32 7)
//! ```

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use crate::data::{Record, Struct, Value};

use super::drop_headers::non_empty_list;
use super::util::{
    copy_struct_basics, field_value, map_get, map_remove, parse, replace_null_with_default_key, require_map,
    require_struct, Side,
};
use super::{TransformError, Transformation};

/// `org.apache.kafka.connect.transforms.HeaderFrom$Key` / `$Value`.
#[derive(Debug, Clone)]
pub struct HeaderFrom {
    side: Side,
    fields: Vec<String>,
    headers: Vec<String>,
    is_move: bool,
    replace_null_with_default: bool,
}

impl HeaderFrom {
    /// Kafka's class name prefix (`$Key`/`$Value` appended).
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.HeaderFrom";

    /// The transform for one side of the record.
    pub fn new(side: Side) -> Self {
        HeaderFrom {
            side,
            fields: Vec::new(),
            headers: Vec::new(),
            is_move: false,
            replace_null_with_default: true,
        }
    }

    /// The keys: `fields`, `headers` (required lists of equal length), `operation`
    /// (`move`|`copy`, required), `replace.null.with.default`.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::required(
                    "fields",
                    ConfigType::List,
                    Importance::High,
                    "Field names in the record whose values are to be copied or moved to headers.",
                )
                .validate(non_empty_list()),
            )
            .define(
                ConfigKey::required(
                    "headers",
                    ConfigType::List,
                    Importance::High,
                    "Header names, in the same order as the field names listed in the fields configuration property.",
                )
                .validate(non_empty_list()),
            )
            .define(
                ConfigKey::required(
                    "operation",
                    ConfigType::String,
                    Importance::High,
                    "Either <code>move</code> if the fields are to be moved to the headers (removed from the key/value), \
                     or <code>copy</code> if the fields are to be copied to the headers (retained in the key/value).",
                )
                .validate(Validator::OneOf(&["move", "copy"])),
            )
            .define(replace_null_with_default_key())
    }

    fn purpose(&self) -> &'static str {
        if self.is_move {
            "header move"
        } else {
            "header copy"
        }
    }
}

impl<R: Record> Transformation<R> for HeaderFrom {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.fields = p.list("fields").to_vec();
        self.headers = p.list("headers").to_vec();
        if self.fields.len() != self.headers.len() {
            return Err(TransformError::InvalidConfig(
                "'fields' config must have the same number of elements as 'headers' config.".into(),
            ));
        }
        self.is_move = p.string("operation") == Some("move");
        self.replace_null_with_default = p.boolean("replace.null.with.default");
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let purpose = self.purpose();
        let r = record.record_mut();
        let schema = self.side.schema(r).cloned();
        let value = self.side.take_value(r);
        match schema {
            None => {
                let mut map = require_map(value, purpose)?;
                for (f, h) in self.fields.iter().zip(&self.headers) {
                    let v = map_get(&map, f).cloned().unwrap_or(Value::Null);
                    r.headers.add(h.clone(), None, v);
                }
                if self.is_move {
                    for f in &self.fields {
                        map_remove(&mut map, f);
                    }
                }
                self.side.set(r, None, Value::Map(map));
            }
            Some(schema) => {
                let s = require_struct(value, purpose)?;
                for (f, h) in self.fields.iter().zip(&self.headers) {
                    let field = schema
                        .field(f)
                        .ok_or_else(|| TransformError::UnknownField(f.clone()))?;
                    let v = field_value(&s, field.index(), self.replace_null_with_default);
                    r.headers.add(h.clone(), Some(field.schema().clone()), v);
                }
                if self.is_move {
                    let kept: Vec<_> = schema
                        .fields()
                        .iter()
                        .filter(|f| !self.fields.iter().any(|m| m == f.name()))
                        .collect();
                    let mut b = copy_struct_basics(&schema);
                    for f in &kept {
                        b = b.field(f.name(), f.schema().clone())?;
                    }
                    let updated = b.build();
                    let mut out = Struct::new(updated.clone())?;
                    for f in kept {
                        out.put(
                            f.name(),
                            field_value(&s, f.index(), self.replace_null_with_default),
                        )?;
                    }
                    self.side.set(r, Some(updated), Value::Struct(out));
                } else {
                    self.side.set(r, Some(schema), Value::Struct(s));
                }
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

    fn xform(side: Side, op: &str) -> HeaderFrom {
        let mut t = HeaderFrom::new(side);
        Transformation::<SinkRecord>::configure(
            &mut t,
            &props(&[
                ("fields", "field1,field2"),
                ("headers", "inserted1,inserted2"),
                ("operation", op),
            ]),
        )
        .unwrap();
        t
    }

    #[test]
    fn schemaless_copy_and_move() {
        let v = smap(vec![
            ("field1", Value::from("field1-value")),
            ("field2", Value::from("field2-value")),
        ]);
        let out = xform(Side::Value, "copy")
            .apply(sink(None, Value::Null, None, v.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.value, v);
        let hs: Vec<_> = out
            .record
            .headers
            .iter()
            .map(|h| (h.key.clone(), h.value.clone(), h.schema.clone()))
            .collect();
        assert_eq!(
            hs,
            [
                ("inserted1".to_string(), Value::from("field1-value"), None),
                ("inserted2".to_string(), Value::from("field2-value"), None)
            ]
        );
        let out = xform(Side::Value, "move")
            .apply(sink(None, Value::Null, None, v))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.value, Value::Map(vec![]));
        assert_eq!(out.record.headers.len(), 2);
    }

    #[test]
    fn with_schema_move() {
        let ks = SchemaBuilder::struct_()
            .field("field1", Schema::STRING())
            .unwrap()
            .field("field2", Schema::INT32())
            .unwrap()
            .field("field3", Schema::BOOLEAN())
            .unwrap()
            .build();
        let k = Struct::new(ks.clone())
            .unwrap()
            .with("field1", "a")
            .unwrap()
            .with("field2", 2i32)
            .unwrap()
            .with("field3", true)
            .unwrap();
        let out = xform(Side::Key, "move")
            .apply(sink(Some(ks), k.into(), None, Value::Null))
            .unwrap()
            .unwrap();
        let s = out.record.key_schema.clone().unwrap();
        assert_eq!(s.fields().len(), 1);
        assert_eq!(
            out.record.key.as_struct().unwrap().get("field3").unwrap(),
            &Value::Boolean(true)
        );
        let h = out.record.headers.last_with_name("inserted2").unwrap();
        assert_eq!(
            (h.value.clone(), h.schema.clone()),
            (Value::Int32(2), Some(Schema::INT32()))
        );
    }

    #[test]
    fn config_errors() {
        let mut t = HeaderFrom::new(Side::Value);
        let e = Transformation::<SinkRecord>::configure(
            &mut t,
            &props(&[("fields", "a,b"), ("headers", "h"), ("operation", "copy")]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "'fields' config must have the same number of elements as 'headers' config."
        );
        let e = Transformation::<SinkRecord>::configure(
            &mut t,
            &props(&[("fields", "a"), ("headers", "h"), ("operation", "swap")]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value swap for configuration operation: String must be one of: move, copy"
        );
    }
}
