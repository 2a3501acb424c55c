//! Records as connectors and transforms see them: [`SourceRecord`] (what a source task
//! returns) and [`SinkRecord`] (what a sink task receives), sharing [`ConnectRecord`].
//!
//! ```text
//!  SourceTask::poll ─▶ SourceRecord{ source_partition, source_offset, record }
//!                          │ transforms edit record ─▶ converters ─▶ producer
//!  consumer ─▶ converters ─▶ SinkRecord{ record, kafka_offset, timestamp_type } ─▶ SinkTask::put
//! ```
//!
//! Source partitions and offsets are the small JSON-like maps Connect stores in its offsets
//! topic/file (string keys; string, number, boolean or null values), kept as Connect
//! [`Value`]s so the JsonConverter writes them exactly as Kafka does.

use std::collections::BTreeMap;

use super::headers::Headers;
use super::schema::Schema;
use super::value::Value;

/// A source partition or offset map (`Map<String, ?>`).
pub type SourceMap = BTreeMap<String, Value>;

/// The fields every record has (`ConnectRecord`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnectRecord {
    /// Topic.
    pub topic: String,
    /// Kafka partition; `None` lets the producer's partitioner choose.
    pub kafka_partition: Option<i32>,
    /// Key schema.
    pub key_schema: Option<Schema>,
    /// Key.
    pub key: Value,
    /// Value schema.
    pub value_schema: Option<Schema>,
    /// Value (`Null` is a tombstone).
    pub value: Value,
    /// Timestamp in ms since the epoch.
    pub timestamp: Option<i64>,
    /// Headers.
    pub headers: Headers,
}

/// Access to the shared fields, so transforms work on both record kinds (Java's
/// `R extends ConnectRecord<R>`).
pub trait Record: Clone + std::fmt::Debug + Send + 'static {
    /// The shared fields.
    fn record(&self) -> &ConnectRecord;
    /// The shared fields, mutable.
    fn record_mut(&mut self) -> &mut ConnectRecord;
}

/// `SourceRecord`: a record plus where it came from in the source system.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceRecord {
    /// Source partition (e.g. `{"filename": "/tmp/in.txt"}`).
    pub source_partition: SourceMap,
    /// Source offset within that partition (e.g. `{"position": 42}`).
    pub source_offset: SourceMap,
    /// The record.
    pub record: ConnectRecord,
}

impl SourceRecord {
    /// A record with a value and schema, no key.
    pub fn new(
        source_partition: SourceMap,
        source_offset: SourceMap,
        topic: impl Into<String>,
        value_schema: Option<Schema>,
        value: Value,
    ) -> Self {
        SourceRecord {
            source_partition,
            source_offset,
            record: ConnectRecord {
                topic: topic.into(),
                value_schema,
                value,
                ..ConnectRecord::default()
            },
        }
    }
}

impl Record for SourceRecord {
    fn record(&self) -> &ConnectRecord {
        &self.record
    }
    fn record_mut(&mut self) -> &mut ConnectRecord {
        &mut self.record
    }
}

/// How a consumed record's timestamp was set (`org.apache.kafka.common.record.TimestampType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    /// No timestamp (`NO_TIMESTAMP_TYPE`).
    #[default]
    NoTimestampType,
    /// Set by the producer (`CREATE_TIME`).
    CreateTime,
    /// Set by the broker (`LOG_APPEND_TIME`).
    LogAppendTime,
}

impl TimestampType {
    /// Kafka's display name (`CreateTime`, `LogAppendTime`, `NoTimestampType`).
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::NoTimestampType => "NoTimestampType",
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

/// `SinkRecord`: a consumed record with its offset.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SinkRecord {
    /// The record (topic and partition are those it was consumed from).
    pub record: ConnectRecord,
    /// Offset in the partition.
    pub kafka_offset: i64,
    /// How `record.timestamp` was set.
    pub timestamp_type: TimestampType,
}

impl Record for SinkRecord {
    fn record(&self) -> &ConnectRecord {
        &self.record
    }
    fn record_mut(&mut self) -> &mut ConnectRecord {
        &mut self.record
    }
}
