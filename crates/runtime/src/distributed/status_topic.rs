//! The status topic's records, with Kafka Connect's keys and JSON values
//! (`KafkaStatusBackingStore`).
//!
//! ```text
//!  status-connector-<c>               {"state":"RUNNING","trace":null,"worker_id":"host:8083",
//!  status-task-<c>-<n>                 "generation":5,"version":null}
//!                                     tombstone when the connector / task is destroyed
//!  status-topic-<topic>:connector-<c> {"topic":{"name":..,"connector":..,"task":..,
//!                                      "discoverTimestamp":<ms>}}            (KIP-558)
//! ```
//! `trace` and `version` (the plugin version, KIP-891) are optional and written as `null`
//! when absent, as Connect's JsonConverter writes an unset optional field. `generation` is the
//! worker group generation the status was written in: a reader keeps the newer of two writes.

use super::protocol::TaskId;
use super::record_json::{Fields, Obj, ValueError};
use crate::herder::State;
use bytes::Bytes;

/// `status-connector-<name>`.
pub const CONNECTOR_STATUS_PREFIX: &str = "status-connector-";
/// `status-task-<connector>-<n>`.
pub const TASK_STATUS_PREFIX: &str = "status-task-";
/// `status-topic-<topic>:connector-<connector>`.
pub const TOPIC_STATUS_PREFIX: &str = "status-topic-";
/// Between the topic and the connector in a topic-status key.
pub const TOPIC_STATUS_SEPARATOR: &str = ":connector-";

/// A connector's or task's status as the status topic holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusValue {
    /// The state.
    pub state: State,
    /// The failure's stack trace (FAILED).
    pub trace: Option<String>,
    /// The worker that wrote it (its advertised `host:port`).
    pub worker_id: String,
    /// The group generation it was written in.
    pub generation: i32,
    /// The connector plugin's version (KIP-891).
    pub version: Option<String>,
}

/// A topic a connector's task used (KIP-558).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicStatus {
    /// The topic.
    pub topic: String,
    /// The connector.
    pub connector: String,
    /// The task that found it.
    pub task: i32,
    /// When (ms since the epoch).
    pub discover_timestamp_ms: i64,
}

/// One status-topic record. `None` values are tombstones (the connector or task is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusRecord {
    /// `status-connector-<name>`.
    Connector {
        /// The connector.
        name: String,
        /// Its status.
        status: Option<StatusValue>,
    },
    /// `status-task-<connector>-<n>`.
    Task {
        /// The task.
        id: TaskId,
        /// Its status.
        status: Option<StatusValue>,
    },
    /// `status-topic-<topic>:connector-<connector>`.
    Topic {
        /// The topic.
        topic: String,
        /// The connector.
        connector: String,
        /// The record (`None`: reset).
        status: Option<TopicStatus>,
    },
}

/// A status-topic record that can't be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusRecordError {
    /// The key is not one Connect writes.
    #[error("status topic: unrecognised key {0:?}")]
    Key(String),
    /// The key is not UTF-8 (or absent).
    #[error("status topic: record key is not a UTF-8 string")]
    KeyNotUtf8,
    /// The value is not what Connect writes.
    #[error("status topic: invalid value for {key}: {error}")]
    Value {
        /// The record key.
        key: String,
        /// What is wrong.
        error: ValueError,
    },
}

impl StatusValue {
    fn bytes(&self) -> Bytes {
        Obj::default()
            .str("state", self.state.name())
            .opt_str("trace", self.trace.as_deref())
            .str("worker_id", &self.worker_id)
            .num("generation", self.generation.into())
            .opt_str("version", self.version.as_deref())
            .bytes()
    }

    fn parse(f: &Fields) -> Result<Self, ValueError> {
        let state = f.str("state")?;
        Ok(Self {
            state: State::from_name(state).ok_or_else(|| ValueError::Invalid {
                field: "state",
                value: state.to_string(),
            })?,
            trace: f.opt_str("trace")?.map(str::to_string),
            worker_id: f.str("worker_id")?.to_string(),
            generation: f.int("generation")? as i32,
            version: f.opt_str("version")?.map(str::to_string),
        })
    }
}

impl StatusRecord {
    /// The record key.
    pub fn key(&self) -> String {
        match self {
            Self::Connector { name, .. } => format!("{CONNECTOR_STATUS_PREFIX}{name}"),
            Self::Task { id, .. } => format!("{TASK_STATUS_PREFIX}{}-{}", id.connector, id.task),
            Self::Topic { topic, connector, .. } => {
                format!("{TOPIC_STATUS_PREFIX}{topic}{TOPIC_STATUS_SEPARATOR}{connector}")
            }
        }
    }

    /// The record value as Connect writes it (`None`: a tombstone).
    pub fn value(&self) -> Option<Bytes> {
        match self {
            Self::Connector { status, .. } | Self::Task { status, .. } => {
                status.as_ref().map(StatusValue::bytes)
            }
            Self::Topic { status, .. } => status.as_ref().map(|t| {
                let inner = Obj::default()
                    .str("name", &t.topic)
                    .str("connector", &t.connector)
                    .num("task", t.task.into())
                    .num("discoverTimestamp", t.discover_timestamp_ms)
                    .into_node();
                Obj::default().node("topic", inner).bytes()
            }),
        }
    }

    /// Reads a record (`value` `None`: a tombstone).
    pub fn decode(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<Self, StatusRecordError> {
        let key_str = key
            .and_then(|k| std::str::from_utf8(k).ok())
            .ok_or(StatusRecordError::KeyNotUtf8)?;
        let bad_key = || StatusRecordError::Key(key_str.to_string());
        let verr = |error| StatusRecordError::Value {
            key: key_str.to_string(),
            error,
        };
        let fields = value.map(Fields::parse).transpose().map_err(verr)?;
        if let Some(name) = key_str.strip_prefix(CONNECTOR_STATUS_PREFIX) {
            let status = fields
                .as_ref()
                .map(StatusValue::parse)
                .transpose()
                .map_err(verr)?;
            return Ok(Self::Connector {
                name: name.to_string(),
                status,
            });
        }
        if let Some(rest) = key_str.strip_prefix(TASK_STATUS_PREFIX) {
            let (c, n) = rest.rsplit_once('-').ok_or_else(bad_key)?;
            let n: i32 = n.parse().ok().filter(|n| *n >= 0).ok_or_else(bad_key)?;
            let status = fields
                .as_ref()
                .map(StatusValue::parse)
                .transpose()
                .map_err(verr)?;
            return Ok(Self::Task {
                id: TaskId::new(c, n),
                status,
            });
        }
        if let Some(rest) = key_str.strip_prefix(TOPIC_STATUS_PREFIX) {
            let (topic, connector) = rest.split_once(TOPIC_STATUS_SEPARATOR).ok_or_else(bad_key)?;
            let status = fields
                .as_ref()
                .map(|f| -> Result<TopicStatus, ValueError> {
                    let t = f.object("topic")?;
                    Ok(TopicStatus {
                        topic: t.str("name")?.to_string(),
                        connector: t.str("connector")?.to_string(),
                        task: t.int("task")? as i32,
                        discover_timestamp_ms: t.int("discoverTimestamp")?,
                    })
                })
                .transpose()
                .map_err(verr)?;
            return Ok(Self::Topic {
                topic: topic.to_string(),
                connector: connector.to_string(),
                status,
            });
        }
        Err(bad_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn running(gen: i32) -> StatusValue {
        StatusValue {
            state: State::Running,
            trace: None,
            worker_id: "w1:8083".into(),
            generation: gen,
            version: None,
        }
    }

    #[test]
    fn connects_status_records() {
        let r = StatusRecord::Connector {
            name: "src".into(),
            status: Some(running(3)),
        };
        assert_eq!(r.key(), "status-connector-src");
        assert_eq!(
            r.value().unwrap(),
            &br#"{"state":"RUNNING","trace":null,"worker_id":"w1:8083","generation":3,"version":null}"#[..]
        );
        let t = StatusRecord::Task {
            id: TaskId::new("my-src", 2),
            status: Some(StatusValue {
                state: State::Failed,
                trace: Some("boom\n\tat X".into()),
                version: Some("4.3.1".into()),
                ..running(7)
            }),
        };
        assert_eq!(t.key(), "status-task-my-src-2");
        assert_eq!(
            t.value().unwrap(),
            &br#"{"state":"FAILED","trace":"boom\n\tat X","worker_id":"w1:8083","generation":7,"version":"4.3.1"}"#[..]
        );
        let topic = StatusRecord::Topic {
            topic: "t".into(),
            connector: "c".into(),
            status: Some(TopicStatus {
                topic: "t".into(),
                connector: "c".into(),
                task: 0,
                discover_timestamp_ms: 5,
            }),
        };
        assert_eq!(topic.key(), "status-topic-t:connector-c");
        assert_eq!(
            topic.value().unwrap(),
            &br#"{"topic":{"name":"t","connector":"c","task":0,"discoverTimestamp":5}}"#[..]
        );
        for rec in [r, t, topic] {
            let (k, v) = (rec.key(), rec.value());
            assert_eq!(StatusRecord::decode(Some(k.as_bytes()), v.as_deref()), Ok(rec));
        }
        // a destroyed task is a tombstone
        let gone = StatusRecord::Task {
            id: TaskId::new("c", 0),
            status: None,
        };
        assert_eq!(gone.value(), None);
        assert_eq!(StatusRecord::decode(Some(b"status-task-c-0"), None), Ok(gone));
    }

    #[test]
    fn garbage_is_a_typed_error() {
        let d = |k: &str, v: &str| StatusRecord::decode(Some(k.as_bytes()), Some(v.as_bytes()));
        assert_eq!(
            d("status-xyz", "{}"),
            Err(StatusRecordError::Key("status-xyz".into()))
        );
        assert!(matches!(
            d(
                "status-connector-c",
                r#"{"state":"DANCING","worker_id":"w","generation":1}"#
            ),
            Err(StatusRecordError::Value {
                error: ValueError::Invalid { field: "state", .. },
                ..
            })
        ));
        assert!(matches!(
            d("status-task-c-1", r#"{"state":"RUNNING","worker_id":"w"}"#),
            Err(StatusRecordError::Value {
                error: ValueError::Missing("generation"),
                ..
            })
        ));
        assert!(matches!(
            d("status-task-c-1", "[1]"),
            Err(StatusRecordError::Value {
                error: ValueError::NotAnObject("ARRAY"),
                ..
            })
        ));
        // written by an older worker: no version field at all
        assert_eq!(
            d(
                "status-connector-c",
                r#"{"state":"RUNNING","worker_id":"w1:8083","generation":3}"#
            ),
            Ok(StatusRecord::Connector {
                name: "c".into(),
                status: Some(running(3))
            })
        );
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panicking(k in "status-(connector|task|topic)-\\PC{0,10}",
                                              v in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..48))) {
            let _ = StatusRecord::decode(Some(k.as_bytes()), v.as_deref());
        }
    }
}
