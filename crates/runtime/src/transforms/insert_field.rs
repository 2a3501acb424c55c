//! `InsertField$Key` / `InsertField$Value`: adds fields holding the record's topic,
//! partition, offset (sink records only), timestamp, or a static string. A field name ending
//! in `!` makes the field required, `?` (or nothing) optional.
//!
//! ```text
//!  {"magic": 42} ── topic.field=topic_field!, static.field=instance_id, static.value=my-instance-id
//!                ──▶ {"magic": 42, "topic_field": "test", "instance_id": "my-instance-id"}
//!  null (tombstone) ──▶ passed through unchanged
//! ```

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance};
use crate::data::{logical, Record, Schema, Struct, Value};

use super::util::{
    as_sink_record, copy_struct_basics, field_value, map_put, parse, replace_null_with_default_key,
    require_map, require_struct, Side,
};
use super::{TransformError, Transformation};

const PURPOSE: &str = "field insertion";

/// A field to insert: name and whether it is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    name: String,
    optional: bool,
}

impl Spec {
    fn parse(spec: Option<&str>) -> Option<Spec> {
        let spec = spec?;
        Some(if let Some(n) = spec.strip_suffix('?') {
            Spec {
                name: n.to_owned(),
                optional: true,
            }
        } else if let Some(n) = spec.strip_suffix('!') {
            Spec {
                name: n.to_owned(),
                optional: false,
            }
        } else {
            Spec {
                name: spec.to_owned(),
                optional: true,
            }
        })
    }
}

/// `org.apache.kafka.connect.transforms.InsertField$Key` / `$Value`.
#[derive(Debug, Clone)]
pub struct InsertField {
    side: Side,
    topic: Option<Spec>,
    partition: Option<Spec>,
    offset: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<Spec>,
    static_value: Option<String>,
    replace_null_with_default: bool,
}

const OPTIONALITY_DOC: &str =
    "Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it \
                               optional (the default).";

impl InsertField {
    /// Kafka's class name prefix (`$Key`/`$Value` appended).
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.InsertField";

    /// The transform for one side of the record.
    pub fn new(side: Side) -> Self {
        InsertField {
            side,
            topic: None,
            partition: None,
            offset: None,
            timestamp: None,
            static_field: None,
            static_value: None,
            replace_null_with_default: true,
        }
    }

    /// The keys: `topic.field`, `partition.field`, `offset.field`, `timestamp.field`,
    /// `static.field`, `static.value` (all null by default), `replace.null.with.default`.
    pub fn config_def() -> ConfigDef {
        let k = |name: &str, doc: &str| {
            ConfigKey::new(
                name,
                ConfigType::String,
                None,
                Importance::Medium,
                &format!("{doc}\n{OPTIONALITY_DOC}"),
            )
        };
        ConfigDef::new()
            .define(k("topic.field", "Field name for Kafka topic."))
            .define(k("partition.field", "Field name for Kafka partition."))
            .define(k(
                "offset.field",
                "Field name for Kafka offset - only applicable to sink connectors.",
            ))
            .define(k("timestamp.field", "Field name for record timestamp."))
            .define(k("static.field", "Field name for static data field."))
            .define(ConfigKey::new(
                "static.value",
                ConfigType::String,
                None,
                Importance::Medium,
                "Static field value, if field name configured.",
            ))
            .define(replace_null_with_default_key())
    }

    fn schema_with_insertions(&self, schema: &Schema) -> Result<Schema, TransformError> {
        let mut b = copy_struct_basics(schema);
        for f in schema.fields() {
            b = b.field(f.name(), f.schema().clone())?;
        }
        let opt = |s: &Spec, req: Schema, opt: Schema| if s.optional { opt } else { req };
        if let Some(s) = &self.topic {
            b = b.field(
                s.name.clone(),
                opt(s, Schema::STRING(), Schema::OPTIONAL_STRING()),
            )?;
        }
        if let Some(s) = &self.partition {
            b = b.field(s.name.clone(), opt(s, Schema::INT32(), Schema::OPTIONAL_INT32()))?;
        }
        if let Some(s) = &self.offset {
            b = b.field(s.name.clone(), opt(s, Schema::INT64(), Schema::OPTIONAL_INT64()))?;
        }
        if let Some(s) = &self.timestamp {
            let ts = logical::timestamp_schema();
            let ots = logical::timestamp_builder().optional().build();
            b = b.field(s.name.clone(), opt(s, ts, ots))?;
        }
        if let Some(s) = &self.static_field {
            b = b.field(
                s.name.clone(),
                opt(s, Schema::STRING(), Schema::OPTIONAL_STRING()),
            )?;
        }
        Ok(b.build())
    }

    /// The (name, value) pairs to insert; `schema_d` picks the Timestamp logical value over
    /// the raw Long, as Kafka inserts `new Date(ts)` into structs.
    fn insertions<R: Record>(
        &self,
        record: &R,
        schemad: bool,
    ) -> Result<Vec<(String, Value)>, TransformError> {
        let r = record.record();
        let mut out = Vec::new();
        if let Some(s) = &self.topic {
            out.push((s.name.clone(), Value::String(r.topic.clone())));
        }
        if let (Some(s), Some(p)) = (&self.partition, r.kafka_partition) {
            out.push((s.name.clone(), Value::Int32(p)));
        }
        if let Some(s) = &self.offset {
            let sink = as_sink_record(record).ok_or(TransformError::SinkRecordRequired {
                purpose: PURPOSE,
                found: "org.apache.kafka.connect.source.SourceRecord",
            })?;
            out.push((s.name.clone(), Value::Int64(sink.kafka_offset)));
        }
        if let (Some(s), Some(ts)) = (&self.timestamp, r.timestamp) {
            out.push((
                s.name.clone(),
                if schemad {
                    Value::Timestamp(ts)
                } else {
                    Value::Int64(ts)
                },
            ));
        }
        if let (Some(s), Some(v)) = (&self.static_field, &self.static_value) {
            out.push((s.name.clone(), Value::String(v.clone())));
        }
        Ok(out)
    }
}

impl<R: Record> Transformation<R> for InsertField {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.topic = Spec::parse(p.string("topic.field"));
        self.partition = Spec::parse(p.string("partition.field"));
        self.offset = Spec::parse(p.string("offset.field"));
        self.timestamp = Spec::parse(p.string("timestamp.field"));
        self.static_field = Spec::parse(p.string("static.field"));
        self.static_value = p.string("static.value").map(str::to_owned);
        self.replace_null_with_default = p.boolean("replace.null.with.default");
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        // A tombstone passes through unchanged (KAFKA-8523).
        if self.side.value(record.record()).is_null() {
            return Ok(Some(record));
        }
        let schema = self.side.schema(record.record()).cloned();
        let insertions = self.insertions(&record, schema.is_some())?;
        let r = record.record_mut();
        let value = self.side.take_value(r);
        match schema {
            None => {
                let mut map = require_map(value, PURPOSE)?;
                for (k, v) in insertions {
                    map_put(&mut map, &k, v);
                }
                self.side.set(r, None, Value::Map(map));
            }
            Some(schema) => {
                let s = require_struct(value, PURPOSE)?;
                let updated = self.schema_with_insertions(&schema)?;
                let mut out = Struct::new(updated.clone())?;
                for f in s.schema().fields() {
                    out.put(
                        f.name(),
                        field_value(&s, f.index(), self.replace_null_with_default),
                    )?;
                }
                for (k, v) in insertions {
                    out.put(&k, v)?;
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
    use crate::data::{SchemaBuilder, SinkRecord, SourceRecord};
    use crate::transforms::test_support::{props, record, sink, smap};

    fn xform(side: Side) -> InsertField {
        let mut t = InsertField::new(side);
        Transformation::<SinkRecord>::configure(
            &mut t,
            &props(&[
                ("topic.field", "topic_field!"),
                ("partition.field", "partition_field"),
                ("timestamp.field", "timestamp_field?"),
                ("static.field", "instance_id"),
                ("static.value", "my-instance-id"),
            ]),
        )
        .unwrap();
        t
    }

    #[test]
    fn schemaless_insert_configured_fields() {
        let mut t = xform(Side::Value);
        let v = smap(vec![("magic", Value::Int64(42))]);
        let out = t.apply(sink(None, Value::Null, None, v)).unwrap().unwrap();
        let expected = smap(vec![
            ("magic", Value::Int64(42)),
            ("topic_field", Value::from("test")),
            ("partition_field", Value::Int32(0)),
            ("timestamp_field", Value::Int64(1_483_425_001_864)),
            ("instance_id", Value::from("my-instance-id")),
        ]);
        assert_eq!(out.record.value, expected);
        assert_eq!(out.record.value_schema, None);
    }

    #[test]
    fn copy_schema_and_insert_configured_fields() {
        let mut t = xform(Side::Value);
        let vs = SchemaBuilder::struct_()
            .name("name")
            .version(1)
            .doc("doc")
            .field("magic", Schema::OPTIONAL_INT64())
            .unwrap()
            .build();
        let v = Struct::new(vs.clone()).unwrap().with("magic", 42i64).unwrap();
        let out = t
            .apply(sink(None, Value::Null, Some(vs), v.into()))
            .unwrap()
            .unwrap();
        let s = out.record.value_schema.clone().unwrap();
        assert_eq!(
            (s.name(), s.version(), s.doc()),
            (Some("name"), Some(1), Some("doc"))
        );
        assert_eq!(s.field("topic_field").unwrap().schema(), &Schema::STRING());
        assert_eq!(
            s.field("partition_field").unwrap().schema(),
            &Schema::OPTIONAL_INT32()
        );
        assert_eq!(
            s.field("timestamp_field").unwrap().schema(),
            &logical::timestamp_builder().optional().build()
        );
        assert_eq!(
            s.field("instance_id").unwrap().schema(),
            &Schema::OPTIONAL_STRING()
        );
        let v = out.record.value.as_struct().unwrap();
        assert_eq!(v.get("magic").unwrap(), &Value::Int64(42));
        assert_eq!(v.get("topic_field").unwrap(), &Value::from("test"));
        assert_eq!(v.get("partition_field").unwrap(), &Value::Int32(0));
        assert_eq!(
            v.get("timestamp_field").unwrap(),
            &Value::Timestamp(1_483_425_001_864)
        );
        assert_eq!(v.get("instance_id").unwrap(), &Value::from("my-instance-id"));
    }

    #[test]
    fn tombstones_pass_and_bad_shapes_fail() {
        let mut t = xform(Side::Value);
        let out = t
            .apply(sink(None, Value::Null, None, Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.value, Value::Null);
        let e = t
            .apply(sink(None, Value::Null, None, Value::Int32(1)))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only Map objects supported in absence of schema for [field insertion], found: java.lang.Integer"
        );
        let e = t
            .apply(sink(None, Value::Null, Some(Schema::INT32()), Value::Int32(1)))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only Struct objects supported for [field insertion], found: java.lang.Integer"
        );
    }

    #[test]
    fn offsets_only_on_sink_records() {
        let mut t = InsertField::new(Side::Value);
        Transformation::<SinkRecord>::configure(&mut t, &props(&[("offset.field", "off")])).unwrap();
        let out = t
            .apply(sink(None, Value::Null, None, smap(vec![])))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.value, smap(vec![("off", Value::Int64(42))]));
        let e = Transformation::<SourceRecord>::apply(&mut t, record("t", smap(vec![]))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord"
        );
    }

    #[test]
    fn static_field_only_and_missing_metadata() {
        let mut t = InsertField::new(Side::Value);
        Transformation::<SourceRecord>::configure(
            &mut t,
            &props(&[
                ("static.field", "instance_id"),
                ("static.value", "my-instance-id"),
                ("partition.field", "p"),
                ("timestamp.field", "ts"),
            ]),
        )
        .unwrap();
        // A source record without partition or timestamp: those fields are not inserted.
        let out = t
            .apply(record("t", smap(vec![("a", Value::Int32(1))])))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.record.value,
            smap(vec![
                ("a", Value::Int32(1)),
                ("instance_id", Value::from("my-instance-id"))
            ])
        );
    }

    #[test]
    fn key_side() {
        let mut t = xform(Side::Key);
        let out = t
            .apply(sink(None, smap(vec![]), None, Value::from("v")))
            .unwrap()
            .unwrap();
        assert_eq!(out.record.value, Value::from("v"));
        assert_eq!(
            crate::transforms::util::map_get(
                match &out.record.key {
                    Value::Map(m) => m,
                    _ => unreachable!(),
                },
                "topic_field"
            ),
            Some(&Value::from("test"))
        );
    }
}
