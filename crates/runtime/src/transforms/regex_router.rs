//! `RegexRouter`: when the whole topic matches `regex`, the topic becomes `replacement`
//! with `$1`-style group references (Java's `Matcher.replaceFirst`).
//!
//! ```text
//!  topic "my-prefix-orders" ── regex=my-prefix-(.*), replacement=$1 ──▶ "orders"
//!  topic "other"            ── no whole-name match ───────────────────▶ "other"
//! ```

use std::collections::BTreeMap;

use regex::Regex;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance};
use crate::data::Record;

use super::predicates::topic_name_matches::{full_match_regex, non_empty_regex_validator};
use super::util::{invalid, parse};
use super::{TransformError, Transformation};

/// `org.apache.kafka.connect.transforms.RegexRouter`.
#[derive(Debug, Default, Clone)]
pub struct RegexRouter {
    regex: Option<Regex>,
    replacement: String,
}

impl RegexRouter {
    /// Kafka's class name.
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.RegexRouter";

    /// The keys: `regex` and `replacement`, both required.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::required(
                    "regex",
                    ConfigType::String,
                    Importance::High,
                    "Regular expression to use for matching.",
                )
                .validate(non_empty_regex_validator()),
            )
            .define(ConfigKey::required(
                "replacement",
                ConfigType::String,
                Importance::High,
                "Replacement string.",
            ))
    }
}

/// Java's replacement syntax (`$1`, `${name}`, `\$` for a dollar) in the regex crate's
/// (`${1}`, `${name}`, `$$`). Java reads as many digits after `$` as still name a group.
pub(crate) fn java_replacement(java: &str, groups: usize) -> String {
    let chars: Vec<char> = java.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                if chars[i + 1] == '$' {
                    out.push_str("$$");
                } else {
                    out.push(chars[i + 1]);
                }
                i += 2;
            }
            '$' if chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                let mut n = chars[i + 1].to_digit(10).unwrap_or(0) as usize;
                i += 2;
                while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                    let next = n * 10 + d as usize;
                    if next > groups {
                        break;
                    }
                    n = next;
                    i += 1;
                }
                out.push_str(&format!("${{{n}}}"));
            }
            '$' if chars.get(i + 1) == Some(&'{') => {
                let end = chars[i..].iter().position(|c| *c == '}').map(|p| p + i);
                match end {
                    Some(e) => {
                        out.extend(&chars[i..=e]);
                        i = e + 1;
                    }
                    None => {
                        out.push_str("$$");
                        i += 1;
                    }
                }
            }
            '$' => {
                out.push_str("$$");
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

impl<R: Record> Transformation<R> for RegexRouter {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        let pattern = p.string("regex").unwrap_or_default();
        let re = full_match_regex(pattern)
            .map_err(|e| invalid("regex", pattern, format!("Invalid regex: {e}")))?;
        self.replacement =
            java_replacement(p.string("replacement").unwrap_or_default(), re.captures_len() - 1);
        self.regex = Some(re);
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        if let Some(re) = &self.regex {
            let topic = &mut record.record_mut().topic;
            if re.is_match(topic) {
                *topic = re.replace(topic, self.replacement.as_str()).into_owned();
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SourceRecord, Value};
    use crate::transforms::test_support::{props, record};

    fn route(regex: &str, replacement: &str, topic: &str) -> String {
        let mut t = RegexRouter::default();
        Transformation::<SourceRecord>::configure(
            &mut t,
            &props(&[("regex", regex), ("replacement", replacement)]),
        )
        .unwrap();
        t.apply(record(topic, Value::Null)).unwrap().unwrap().record.topic
    }

    #[test]
    fn kafkas_examples() {
        // RegexRouterTest cases.
        assert_eq!(route("(.*)", "prefix-$1", "orig"), "prefix-orig");
        assert_eq!(route("(.*)", "$1-suffix", "orig"), "orig-suffix");
        assert_eq!(route("(.*)-(.*)", "$2-$1", "one-two"), "two-one");
        assert_eq!(route("(.*)-(.*)", "$1", "one-two"), "one");
        assert_eq!(route("ab.*", "ab", "abcd"), "ab");
        assert_eq!(route("(.*)-(\\d\\d)", "$1-$2-extra", "orig-05"), "orig-05-extra");
        assert_eq!(route("nope", "x", "orig"), "orig");
        assert_eq!(route("(.*)", "$1\\$", "a"), "a$");
        assert_eq!(route("(.*)", "$10", "a"), "a0");
    }

    #[test]
    fn bad_regex_is_a_config_error() {
        let mut t = RegexRouter::default();
        let e = Transformation::<SourceRecord>::configure(
            &mut t,
            &props(&[("regex", "("), ("replacement", "x")]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Invalid value ( for configuration regex: Invalid regex"),
            "{e}"
        );
    }
}
