//! `HasHeaderKey`: true when the record has at least one header with the configured `name`.
//!
//! ```text
//!  headers [(a,..), (b,..)] ── name=b ──▶ true
//! ```

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use crate::data::Record;
use crate::transforms::util::parse;
use crate::transforms::{Predicate, TransformError};

/// `org.apache.kafka.connect.transforms.predicates.HasHeaderKey`.
#[derive(Debug, Default, Clone)]
pub struct HasHeaderKey {
    name: String,
}

impl HasHeaderKey {
    /// Kafka's class name.
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.predicates.HasHeaderKey";

    /// The keys: `name` (required, non-empty).
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(
            ConfigKey::required("name", ConfigType::String, Importance::Medium, "The header name.")
                .validate(Validator::NonEmptyString),
        )
    }
}

impl<R: Record> Predicate<R> for HasHeaderKey {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.name = p.string("name").unwrap_or_default().to_owned();
        Ok(())
    }

    fn test(&self, record: &R) -> bool {
        record.record().headers.all_with_name(&self.name).next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SourceRecord, Value};
    use crate::transforms::predicates::test_support::{props, record};

    #[test]
    fn matches_any_header_with_the_name() {
        let mut p = HasHeaderKey::default();
        Predicate::<SourceRecord>::configure(&mut p, &props(&[("name", "foo")])).unwrap();
        let mut r = record("t", Value::Null);
        assert!(!p.test(&r));
        r.record.headers.add_string("bar", "x");
        assert!(!p.test(&r));
        r.record.headers.add("foo", None, Value::Null);
        assert!(p.test(&r));
    }

    #[test]
    fn name_is_required_and_non_empty() {
        let mut p = HasHeaderKey::default();
        let e = Predicate::<SourceRecord>::configure(&mut p, &props(&[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Missing required configuration \"name\" which has no default value."
        );
        let e = Predicate::<SourceRecord>::configure(&mut p, &props(&[("name", "")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value  for configuration name: String may not be empty"
        );
    }
}
