//! `InsertHeader`: appends a header `header` whose value is `value.literal` parsed with
//! Connect's schema inference (`Values.parseString`, KIP-145).
//!
//! ```text
//!  value.literal "42"   ──▶ header (INT8 42)
//!  value.literal "true" ──▶ header (BOOLEAN true)
//!  value.literal "abc"  ──▶ header (STRING "abc")
//! ```

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use crate::data::{BigDecimal, Record, Schema, SchemaAndValue, Value};

use super::util::parse;
use super::{TransformError, Transformation};

/// `org.apache.kafka.connect.transforms.InsertHeader`.
#[derive(Debug, Default, Clone)]
pub struct InsertHeader {
    header: String,
    literal: SchemaAndValue,
}

impl InsertHeader {
    /// Kafka's class name.
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.InsertHeader";

    /// The keys: `header` and `value.literal`, both required.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::required(
                    "header",
                    ConfigType::String,
                    Importance::High,
                    "The name of the header.",
                )
                .validate(Validator::NonNull),
            )
            .define(
                ConfigKey::required(
                    "value.literal",
                    ConfigType::String,
                    Importance::High,
                    "The literal value that is to be set as the header value on all records.",
                )
                .validate(Validator::NonNull),
            )
    }
}

/// The scalar part of `Values.parseString`: booleans, then integers in the smallest of
/// INT8/INT16/INT32/INT64 that holds them, then decimals as FLOAT32 when a float holds
/// them and FLOAT64 otherwise; anything else (and arrays/maps/dates) stays a STRING.
pub(crate) fn infer_literal(s: &str) -> SchemaAndValue {
    let t = s.trim();
    match t {
        "true" => return SchemaAndValue::new(Some(Schema::BOOLEAN()), Value::Boolean(true)),
        "false" => return SchemaAndValue::new(Some(Schema::BOOLEAN()), Value::Boolean(false)),
        _ => {}
    }
    if let Ok(n) = t.parse::<i64>() {
        return if let Ok(v) = i8::try_from(n) {
            SchemaAndValue::new(Some(Schema::INT8()), Value::Int8(v))
        } else if let Ok(v) = i16::try_from(n) {
            SchemaAndValue::new(Some(Schema::INT16()), Value::Int16(v))
        } else if let Ok(v) = i32::try_from(n) {
            SchemaAndValue::new(Some(Schema::INT32()), Value::Int32(v))
        } else {
            SchemaAndValue::new(Some(Schema::INT64()), Value::Int64(n))
        };
    }
    if let Ok(d) = BigDecimal::parse(t) {
        if d.scale() != 0 {
            let f = d.to_f32();
            if f.is_finite() {
                return SchemaAndValue::new(Some(Schema::FLOAT32()), Value::Float32(f));
            }
            return SchemaAndValue::new(Some(Schema::FLOAT64()), Value::Float64(d.to_f64()));
        }
    }
    SchemaAndValue::new(Some(Schema::STRING()), Value::String(s.to_owned()))
}

impl<R: Record> Transformation<R> for InsertHeader {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.header = p.string("header").unwrap_or_default().to_owned();
        self.literal = infer_literal(p.string("value.literal").unwrap_or_default());
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        record.record_mut().headers.add(
            self.header.clone(),
            self.literal.schema.clone(),
            self.literal.value.clone(),
        );
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SourceRecord;
    use crate::transforms::test_support::{props, record};

    fn xform(literal: &str) -> InsertHeader {
        let mut t = InsertHeader::default();
        Transformation::<SourceRecord>::configure(
            &mut t,
            &props(&[("header", "inserted"), ("value.literal", literal)]),
        )
        .unwrap();
        t
    }

    #[test]
    fn appends_after_existing_headers_even_with_the_same_key() {
        let mut t = xform("inserted-value");
        let mut r = record("t", Value::Int32(1));
        r.record
            .headers
            .add_string("inserted", "existing")
            .add_string("other", "x");
        let out = t.apply(r).unwrap().unwrap();
        let h: Vec<_> = out
            .record
            .headers
            .iter()
            .map(|h| (h.key.clone(), h.value.clone()))
            .collect();
        assert_eq!(h.len(), 3);
        assert_eq!(h[2], ("inserted".into(), Value::from("inserted-value")));
        assert_eq!(
            out.record.headers.last_with_name("inserted").unwrap().schema,
            Some(Schema::STRING())
        );
    }

    #[test]
    fn literal_types_are_inferred() {
        let h = |lit: &str| {
            let mut t = xform(lit);
            t.apply(record("t", Value::Null))
                .unwrap()
                .unwrap()
                .record
                .headers
                .iter()
                .next()
                .cloned()
                .unwrap()
        };
        assert_eq!(h("42").value, Value::Int8(42));
        assert_eq!(h("40000").schema, Some(Schema::INT32()));
        assert_eq!(h("true").value, Value::Boolean(true));
        assert_eq!(h("1.5").value, Value::Float32(1.5));
        assert_eq!(h("hello world").value, Value::from("hello world"));
    }

    #[test]
    fn both_keys_are_required() {
        let mut t = InsertHeader::default();
        let e = Transformation::<SourceRecord>::configure(&mut t, &props(&[("header", "h")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Missing required configuration \"value.literal\" which has no default value."
        );
    }
}
