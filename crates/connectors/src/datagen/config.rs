//! DatagenSource's keys. The doc strings are the user documentation (REST
//! `/connector-plugins/DatagenSource/config` shows them).

use kaflow_runtime::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use kaflow_runtime::connector::{ConnectError, Props};

/// `topic`.
pub const TOPIC: &str = "topic";
/// `tasks.max`.
pub const TASKS_MAX: &str = "tasks.max";
/// `max.messages`.
pub const MAX_MESSAGES: &str = "max.messages";
/// `messages.per.second`.
pub const MESSAGES_PER_SECOND: &str = "messages.per.second";
/// `record.shape`.
pub const RECORD_SHAPE: &str = "record.shape";
/// `record.size`.
pub const RECORD_SIZE: &str = "record.size";
/// `key.shape`.
pub const KEY_SHAPE: &str = "key.shape";
/// `batch.size`.
pub const BATCH_SIZE: &str = "batch.size";
/// The task number the connector adds to each task's configuration (as Confluent's datagen).
pub const TASK_ID: &str = "task.id";

/// The largest payload a record may carry: far above any sane benchmark, far below what would
/// let a typo allocate gigabytes per record.
const MAX_RECORD_SIZE: i64 = 16 * 1024 * 1024;

/// What a record's value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordShape {
    /// A struct `{task: INT32, seq: INT64, payload: STRING}`; with the JsonConverter
    /// (schemas off) it is written as `{"task":T,"seq":N,"payload":"..."}`.
    Json,
    /// `record.size` raw bytes (BYTES schema; the ByteArrayConverter writes them as they are).
    Bytes,
    /// A STRING of `record.size` printable ASCII characters.
    String,
}

/// What a record's key looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyShape {
    /// No key (null): the producer spreads records over partitions.
    None,
    /// The record's sequence number (INT64).
    Seq,
}

/// A task's typed configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct DatagenConfig {
    /// Destination topic.
    pub topic: String,
    /// Records per task; `None` = unbounded.
    pub max_messages: Option<u64>,
    /// Records per second per task; `None` = as fast as the producer takes them.
    pub messages_per_second: Option<f64>,
    /// Value shape.
    pub record_shape: RecordShape,
    /// Payload bytes per record.
    pub record_size: usize,
    /// Key shape.
    pub key_shape: KeyShape,
    /// Records per `poll`.
    pub batch_size: usize,
    /// This task's number (0 for the connector itself).
    pub task: u32,
}

/// The key definitions.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::required(
                TOPIC,
                ConfigType::String,
                Importance::High,
                "The topic the generated records are written to",
            )
            .validate(Validator::NonEmptyString),
        )
        .define(
            ConfigKey::new(
                TASKS_MAX,
                ConfigType::Int,
                Some("1"),
                Importance::High,
                "Number of tasks; each generates its own sequence (source partition {\"task\": T}), so the total is tasks.max × max.messages",
            )
            .validate(Validator::at_least(1)),
        )
        .define(
            ConfigKey::new(
                MAX_MESSAGES,
                ConfigType::Long,
                Some("-1"),
                Importance::High,
                "Records each task generates before it idles; -1 for no limit. A restarted task resumes after its last committed sequence number and never re-sends below it",
            )
            .validate(Validator::at_least(-1)),
        )
        .define(
            ConfigKey::new(
                MESSAGES_PER_SECOND,
                ConfigType::Double,
                Some("-1"),
                Importance::Medium,
                "Records per second each task generates (a token bucket with one second of burst); -1 for as fast as Kafka takes them",
            )
            .validate(Validator::Custom(std::sync::Arc::new(|v| match v {
                kaflow_runtime::config::ConfigValue::Double(d) if *d == -1.0 || *d > 0.0 => Ok(()),
                _ => Err("must be -1 (unlimited) or a positive rate".to_string()),
            }))),
        )
        .define(
            ConfigKey::new(
                RECORD_SHAPE,
                ConfigType::String,
                Some("json"),
                Importance::High,
                "The value's shape: json (a struct {task, seq, payload}; use the JsonConverter), bytes (raw bytes; use the ByteArrayConverter) or string (printable ASCII; use the StringConverter)",
            )
            .validate(Validator::OneOfIgnoreCase(&["json", "bytes", "string"])),
        )
        .define(
            ConfigKey::new(
                RECORD_SIZE,
                ConfigType::Int,
                Some("100"),
                Importance::High,
                "Payload bytes per record (the payload field for json, the whole value for bytes and string). The payload is a pure function of task and sequence number, so a re-sent record is identical",
            )
            .validate(Validator::between(0, MAX_RECORD_SIZE)),
        )
        .define(
            ConfigKey::new(
                KEY_SHAPE,
                ConfigType::String,
                Some("none"),
                Importance::Medium,
                "The key's shape: none (null key) or seq (the sequence number, INT64)",
            )
            .validate(Validator::OneOfIgnoreCase(&["none", "seq"])),
        )
        .define(
            ConfigKey::new(
                BATCH_SIZE,
                ConfigType::Int,
                Some("1000"),
                Importance::Low,
                "The maximum number of records a task returns from one poll",
            )
            .validate(Validator::at_least(1)),
        )
        .define(
            ConfigKey::new(
                TASK_ID,
                ConfigType::Int,
                Some("0"),
                Importance::Low,
                "Set by the connector for each task (0..tasks.max); not meant to be set by users",
            )
            .validate(Validator::at_least(0)),
        )
}

impl DatagenConfig {
    /// Parses and validates `props`; every bad key is named in the error.
    pub fn parse(props: &Props) -> Result<Self, ConnectError> {
        let p = config_def()
            .parse(props)
            .map_err(|e| ConnectError::Config(e.to_string()))?;
        let long = |k: &str| p.long(k).unwrap_or_default();
        let lower = |k: &str| p.string(k).unwrap_or_default().to_ascii_lowercase();
        let rate = match p.get(MESSAGES_PER_SECOND) {
            kaflow_runtime::config::ConfigValue::Double(d) if *d > 0.0 => Some(*d),
            _ => None,
        };
        Ok(DatagenConfig {
            topic: p.string(TOPIC).unwrap_or_default().to_string(),
            max_messages: u64::try_from(long(MAX_MESSAGES)).ok(),
            messages_per_second: rate,
            record_shape: match lower(RECORD_SHAPE).as_str() {
                "bytes" => RecordShape::Bytes,
                "string" => RecordShape::String,
                _ => RecordShape::Json,
            },
            record_size: usize::try_from(long(RECORD_SIZE)).unwrap_or_default(),
            key_shape: if lower(KEY_SHAPE) == "seq" {
                KeyShape::Seq
            } else {
                KeyShape::None
            },
            batch_size: usize::try_from(long(BATCH_SIZE)).unwrap_or(1).max(1),
            task: u32::try_from(long(TASK_ID)).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::props;

    #[test]
    fn defaults_are_unbounded_json_with_no_key() {
        let c = DatagenConfig::parse(&props(&[("topic", "t")])).unwrap();
        assert_eq!(
            c,
            DatagenConfig {
                topic: "t".into(),
                max_messages: None,
                messages_per_second: None,
                record_shape: RecordShape::Json,
                record_size: 100,
                key_shape: KeyShape::None,
                batch_size: 1000,
                task: 0,
            }
        );
    }

    #[test]
    fn typed_values_are_read_case_insensitively() {
        let c = DatagenConfig::parse(&props(&[
            ("topic", "t"),
            ("max.messages", "500"),
            ("messages.per.second", "250.5"),
            ("record.shape", "BYTES"),
            ("record.size", "0"),
            ("key.shape", "Seq"),
            ("batch.size", "7"),
            ("task.id", "3"),
        ]))
        .unwrap();
        assert_eq!(c.max_messages, Some(500));
        assert_eq!(c.messages_per_second, Some(250.5));
        assert_eq!(c.record_shape, RecordShape::Bytes);
        assert_eq!(c.record_size, 0);
        assert_eq!(c.key_shape, KeyShape::Seq);
        assert_eq!(c.batch_size, 7);
        assert_eq!(c.task, 3);
    }

    #[test]
    fn every_bad_key_is_named() {
        let e = DatagenConfig::parse(&props(&[
            ("max.messages", "-2"),
            ("messages.per.second", "0"),
            ("record.shape", "avro"),
            ("record.size", "-1"),
            ("key.shape", "uuid"),
            ("batch.size", "0"),
        ]))
        .unwrap_err()
        .to_string();
        for key in [
            "\"topic\"",
            "max.messages",
            "messages.per.second",
            "record.shape",
            "record.size",
            "key.shape",
            "batch.size",
        ] {
            assert!(e.contains(key), "{key} not named in: {e}");
        }
        let e = DatagenConfig::parse(&props(&[("topic", "t"), ("record.size", "x")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("record.size"), "{e}");
    }
}
