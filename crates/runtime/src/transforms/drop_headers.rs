//! `DropHeaders`: removes every header whose key is in `headers` (KIP-145).
//!
//! ```text
//!  headers [(a,1), (b,2), (a,3)] ── headers=a ──▶ [(b,2)]
//! ```

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance, Validator};
use crate::data::Record;

use super::util::parse;
use super::{TransformError, Transformation};

/// `org.apache.kafka.connect.transforms.DropHeaders`.
#[derive(Debug, Default, Clone)]
pub struct DropHeaders {
    headers: Vec<String>,
}

impl DropHeaders {
    /// Kafka's class name.
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.DropHeaders";

    /// The keys: `headers` (required, a non-empty list).
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(
            ConfigKey::required(
                "headers",
                ConfigType::List,
                Importance::High,
                "The name of the headers to be removed.",
            )
            .validate(non_empty_list()),
        )
    }
}

/// Kafka's `NonEmptyListValidator` ("Empty list"), plus `ValidList.anyNonDuplicateValues`'s
/// refusal of a value listed twice.
pub(crate) fn non_empty_list() -> Validator {
    Validator::Custom(std::sync::Arc::new(|v: &ConfigValue| match v {
        ConfigValue::List(items) if items.is_empty() => Err("Empty list".to_owned()),
        ConfigValue::List(items) => {
            for (i, item) in items.iter().enumerate() {
                if items[..i].contains(item) {
                    return Err(format!("Values must not be duplicated: {item}"));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }))
}

impl<R: Record> Transformation<R> for DropHeaders {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        self.headers = parse(&Self::config_def(), props)?.list("headers").to_vec();
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let headers = &mut record.record_mut().headers;
        for h in &self.headers {
            headers.remove(h);
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SourceRecord, Value};
    use crate::transforms::test_support::{props, record};

    #[test]
    fn drops_every_header_with_a_listed_name() {
        let mut t = DropHeaders::default();
        Transformation::<SourceRecord>::configure(&mut t, &props(&[("headers", "a, c")])).unwrap();
        let mut r = record("t", Value::Int32(1));
        r.record
            .headers
            .add_string("a", "1")
            .add_string("b", "2")
            .add_string("a", "3");
        let out = t.apply(r).unwrap().unwrap();
        let keys: Vec<_> = out.record.headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, ["b"]);
        assert_eq!(out.record.value, Value::Int32(1));
    }

    #[test]
    fn headers_must_be_given() {
        let mut t = DropHeaders::default();
        let e = Transformation::<SourceRecord>::configure(&mut t, &props(&[("headers", "")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value  for configuration headers: Empty list"
        );
        let e = Transformation::<SourceRecord>::configure(&mut t, &props(&[])).unwrap_err();
        assert!(e.to_string().contains("\"headers\""), "{e}");
    }
}
