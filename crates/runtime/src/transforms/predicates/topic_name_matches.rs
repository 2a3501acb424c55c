//! `TopicNameMatches`: true when the whole topic name matches the `pattern` regex (Java's
//! `Matcher.matches()`, so the pattern is anchored at both ends).
//!
//! ```text
//!  topic "my-prefix-orders" ── pattern=my-prefix-.* ──▶ true
//!  topic "other-my-prefix-x" ─────────────────────────▶ false (whole-name match)
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;

use crate::config::{ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance, Validator};
use crate::data::Record;
use crate::transforms::util::parse;
use crate::transforms::{Predicate, TransformError};

/// `org.apache.kafka.connect.transforms.predicates.TopicNameMatches`.
#[derive(Debug, Default, Clone)]
pub struct TopicNameMatches {
    pattern: Option<Regex>,
}

/// Compiles a Java regex as `Matcher.matches()` uses it: anchored at both ends.
pub(crate) fn full_match_regex(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{pattern})$"))
}

/// `CompositeValidator.of(NonEmptyString, RegexValidator)`: non-empty, and it must compile.
pub(crate) fn non_empty_regex_validator() -> Validator {
    Validator::Custom(Arc::new(|v: &ConfigValue| match v.as_str() {
        Some("") => Err("String may not be empty".to_owned()),
        Some(s) => full_match_regex(s)
            .map(|_| ())
            .map_err(|e| format!("Invalid regex: {e}")),
        None => Ok(()),
    }))
}

impl TopicNameMatches {
    /// Kafka's class name.
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.predicates.TopicNameMatches";

    /// The keys: `pattern` (required, a non-empty regex).
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(
            ConfigKey::required(
                "pattern",
                ConfigType::String,
                Importance::Medium,
                "A Java regular expression for matching against the name of a record's topic.",
            )
            .validate(non_empty_regex_validator()),
        )
    }
}

impl<R: Record> Predicate<R> for TopicNameMatches {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        let pattern = p.string("pattern").unwrap_or_default();
        self.pattern = Some(full_match_regex(pattern).map_err(|e| {
            crate::transforms::util::invalid("pattern", pattern, format!("Invalid regex: {e}"))
        })?);
        Ok(())
    }

    fn test(&self, record: &R) -> bool {
        self.pattern
            .as_ref()
            .is_some_and(|p| p.is_match(&record.record().topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SourceRecord, Value};
    use crate::transforms::predicates::test_support::{props, record};

    #[test]
    fn whole_topic_must_match() {
        let mut p = TopicNameMatches::default();
        Predicate::<SourceRecord>::configure(&mut p, &props(&[("pattern", "my-prefix-.*")])).unwrap();
        assert!(p.test(&record("my-prefix-orders", Value::Null)));
        assert!(!p.test(&record("other-my-prefix-x", Value::Null)));
        assert!(!p.test(&record("my-prefi", Value::Null)));
    }

    #[test]
    fn bad_patterns_are_config_errors() {
        let mut p = TopicNameMatches::default();
        let e = Predicate::<SourceRecord>::configure(&mut p, &props(&[("pattern", "[")])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Invalid value [ for configuration pattern: Invalid regex"),
            "{e}"
        );
        let e = Predicate::<SourceRecord>::configure(&mut p, &props(&[("pattern", "")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value  for configuration pattern: String may not be empty"
        );
        let e = Predicate::<SourceRecord>::configure(&mut p, &props(&[])).unwrap_err();
        assert!(e.to_string().contains("\"pattern\""), "{e}");
    }
}
