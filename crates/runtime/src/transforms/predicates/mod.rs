//! Predicates (`org.apache.kafka.connect.transforms.predicates`, KIP-585): a transform with
//! `transforms.<a>.predicate=<p>` runs only on records its predicate matches (or, with
//! `negate=true`, does not match).
//!
//! ```text
//!  record ──HasHeaderKey(name) / RecordIsTombstone / TopicNameMatches(pattern)──▶ bool
//!                                                        (xor negate) ──▶ apply or skip
//! ```

pub mod has_header_key;
pub mod record_is_tombstone;
pub mod topic_name_matches;

pub use has_header_key::HasHeaderKey;
pub use record_is_tombstone::RecordIsTombstone;
pub use topic_name_matches::TopicNameMatches;

#[cfg(test)]
pub(crate) mod test_support {
    use crate::data::{ConnectRecord, Schema, SinkRecord, SourceRecord, Value};
    use std::collections::BTreeMap;

    pub fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    pub fn sink(
        key_schema: Option<Schema>,
        key: Value,
        value_schema: Option<Schema>,
        value: Value,
    ) -> SinkRecord {
        SinkRecord {
            record: ConnectRecord {
                topic: "test".into(),
                kafka_partition: Some(0),
                key_schema,
                key,
                value_schema,
                value,
                timestamp: Some(1_483_425_001_864),
                ..ConnectRecord::default()
            },
            kafka_offset: 42,
            ..SinkRecord::default()
        }
    }

    pub fn smap(kv: Vec<(&str, Value)>) -> Value {
        Value::Map(kv.into_iter().map(|(k, v)| (Value::from(k), v)).collect())
    }

    pub fn record(topic: &str, value: Value) -> SourceRecord {
        SourceRecord {
            record: ConnectRecord {
                topic: topic.into(),
                value,
                ..ConnectRecord::default()
            },
            ..SourceRecord::default()
        }
    }
}
