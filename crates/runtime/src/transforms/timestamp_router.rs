//! `TimestampRouter`: the topic becomes `topic.format` with `${topic}` and `${timestamp}`
//! replaced, the timestamp printed with `timestamp.format` (a SimpleDateFormat pattern, UTC).
//!
//! ```text
//!  topic "test", timestamp 1483425001864 ── ${topic}-${timestamp}, yyyyMMdd ──▶ "test-20170103"
//! ```

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance};
use crate::data::Record;

use super::datefmt::DateFormat;
use super::util::{invalid, parse};
use super::{TransformError, Transformation};

/// `org.apache.kafka.connect.transforms.TimestampRouter`.
#[derive(Debug, Clone)]
pub struct TimestampRouter {
    topic_format: String,
    timestamp_format: DateFormat,
}

impl Default for TimestampRouter {
    fn default() -> Self {
        TimestampRouter {
            topic_format: "${topic}-${timestamp}".into(),
            timestamp_format: DateFormat::new("yyyyMMdd").expect("valid pattern"),
        }
    }
}

impl TimestampRouter {
    /// Kafka's class name.
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.TimestampRouter";

    /// The keys: `topic.format` (`${topic}-${timestamp}`), `timestamp.format` (`yyyyMMdd`).
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new(
                "topic.format",
                ConfigType::String,
                Some("${topic}-${timestamp}"),
                Importance::High,
                "Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as placeholders \
                 for the topic and timestamp, respectively.",
            ))
            .define(ConfigKey::new(
                "timestamp.format",
                ConfigType::String,
                Some("yyyyMMdd"),
                Importance::High,
                "Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>.",
            ))
    }
}

impl<R: Record> Transformation<R> for TimestampRouter {
    fn config(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        let p = parse(&Self::config_def(), props)?;
        self.topic_format = p.string("topic.format").unwrap_or_default().to_owned();
        let pattern = p.string("timestamp.format").unwrap_or_default();
        self.timestamp_format =
            DateFormat::new(pattern).map_err(|e| invalid("timestamp.format", pattern, e))?;
        Ok(())
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let r = record.record_mut();
        let ts = r
            .timestamp
            .ok_or_else(|| TransformError::Data(format!("Timestamp missing on record: {r:?}")))?;
        let formatted = self.timestamp_format.format(ts);
        r.topic = self
            .topic_format
            .replace("${topic}", &r.topic)
            .replace("${timestamp}", &formatted);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SourceRecord, Value};
    use crate::transforms::test_support::{props, record};

    #[test]
    fn default_configuration() {
        let mut t = TimestampRouter::default();
        Transformation::<SourceRecord>::configure(&mut t, &props(&[])).unwrap();
        let mut r = record("test", Value::Null);
        r.record.timestamp = Some(1_483_425_001_864);
        assert_eq!(t.apply(r).unwrap().unwrap().record.topic, "test-20170103");
    }

    #[test]
    fn custom_formats_and_missing_timestamp() {
        let mut t = TimestampRouter::default();
        Transformation::<SourceRecord>::configure(
            &mut t,
            &props(&[
                ("topic.format", "${timestamp}_${topic}"),
                ("timestamp.format", "yyyy-MM"),
            ]),
        )
        .unwrap();
        let mut r = record("orders", Value::Null);
        r.record.timestamp = Some(1_483_425_001_864);
        assert_eq!(t.apply(r).unwrap().unwrap().record.topic, "2017-01_orders");
        let e = t.apply(record("orders", Value::Null)).unwrap_err();
        assert!(e.to_string().starts_with("Timestamp missing on record: "), "{e}");
    }
}
